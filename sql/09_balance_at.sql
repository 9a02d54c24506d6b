-- Point-in-time balances, deltas, invariants.
\set SHOW_CONTEXT never
SELECT tpwallet.create_account('erin:USD', 'ops', 'USD', 'credit');
SELECT tpwallet.transfer('world:USD', 'erin:USD', 10, occurred_at => '2026-05-01 10:00+00');
SELECT tpwallet.transfer('world:USD', 'erin:USD', 5, occurred_at => '2026-05-02 10:00+00');
SELECT tpwallet.transfer('erin:USD', 'world:USD', 3, occurred_at => '2026-05-03 10:00+00');
-- a late, backdated entry changes the past in business time
SELECT tpwallet.transfer('world:USD', 'erin:USD', 100, occurred_at => '2026-05-01 12:00+00');
SELECT t, tpwallet.balance_at('erin:USD', t)
  FROM unnest(ARRAY['2026-04-30', '2026-05-01 10:00+00', '2026-05-01 23:00+00',
                    '2026-05-02 23:00+00', '2026-05-04']::timestamptz[]) t;
SELECT tpwallet.balance_at('erin:USD', now(), 'system') = tpwallet.balance('erin:USD') AS system_time_now;
SELECT tpwallet.balance_at('erin:USD', '2000-01-01', 'system') AS before_anything;
SELECT test.err($$SELECT tpwallet.balance_at('erin:USD', now(), 'wall')$$);
SELECT test.err($$SELECT tpwallet.balance_at('nobody', now())$$);

-- deltas fold into the account rows without changing any balance
SELECT string_agg(account || '=' || balance, ',' ORDER BY account) AS balances_before FROM tpwallet.account_balances \gset
SELECT count(*) > 0 AS has_deltas FROM tpwallet.account_deltas;
SELECT tpwallet.fold_deltas() > 0 AS folded;
SELECT count(*) AS deltas_left FROM tpwallet.account_deltas;
SELECT string_agg(account || '=' || balance, ',' ORDER BY account) = :'balances_before' AS unchanged FROM tpwallet.account_balances;
SELECT * FROM tpwallet.check_balances();
SELECT * FROM tpwallet.check_pending();
-- double entry: per asset and book, debits equal credits
SELECT book, asset, sum(debits_posted) = sum(credits_posted) AS balanced
  FROM tpwallet.account_balances GROUP BY 1, 2 ORDER BY 1, 2;
SELECT tpwallet.seal() >= 0, bool_and(ok) FROM tpwallet.verify_ledger();
