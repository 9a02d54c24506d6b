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

-- A busy account takes deltas instead of waiting: another session holds erin's row.
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('locker', format('dbname=%s port=%s host=%s', current_database(),
       current_setting('port'), split_part(current_setting('unix_socket_directories'), ',', 1)));
SELECT dblink_exec('locker', 'BEGIN');
SELECT * FROM dblink('locker', $$SELECT code FROM tpwallet.accounts WHERE code = 'erin:USD' FOR NO KEY UPDATE$$) AS t(code text);
SELECT tpwallet.transfer('world:USD', 'erin:USD', 7) > 0 AS credited_while_busy;
SELECT tpwallet.transfer('world:USD', 'erin:USD', 8) > 0 AS credited_while_busy;
SELECT count(*) AS deltas FROM tpwallet.account_deltas d JOIN tpwallet.accounts a ON a.id = d.account_id WHERE a.code = 'erin:USD';
SELECT tpwallet.balance('erin:USD') AS erin_with_deltas;
-- balance_at from the totals less the tail counts the deltas too, and
-- agrees with the sum of the postings up to each time
SELECT tpwallet.balance_at('erin:USD', now() + interval '1 day') = tpwallet.balance('erin:USD') AS at_tomorrow_is_now;
SELECT tpwallet.balance_at('erin:USD', t) = (SELECT -coalesce(sum(p.amount), 0) FROM tpwallet.postings p
                                                  JOIN tpwallet.accounts a ON a.id = p.account_id
                                                 WHERE a.code = 'erin:USD' AND p.occurred_at <= t) AS as_summed
  FROM unnest(ARRAY['2026-04-30', '2026-05-01 12:00+00', '2026-05-02 23:00+00', now() - interval '1 second']::timestamptz[]) t;
SELECT dblink_exec('locker', 'COMMIT');
SELECT dblink_disconnect('locker');
-- debiting erin folds her deltas into the row under its lock
SELECT tpwallet.transfer('erin:USD', 'world:USD', 1) > 0 AS debited;
SELECT count(*) AS deltas_after_debit FROM tpwallet.account_deltas d JOIN tpwallet.accounts a ON a.id = d.account_id WHERE a.code = 'erin:USD';
SELECT tpwallet.balance('erin:USD') AS erin_after;

-- the worker's fold moves remaining deltas into the rows without changing any balance
SELECT dblink_connect('locker', format('dbname=%s port=%s host=%s', current_database(),
       current_setting('port'), split_part(current_setting('unix_socket_directories'), ',', 1)));
SELECT dblink_exec('locker', 'BEGIN');
SELECT * FROM dblink('locker', $$SELECT code FROM tpwallet.accounts WHERE code = 'fees:USD' FOR NO KEY UPDATE$$) AS t(code text);
SELECT tpwallet.transfer('erin:USD', 'fees:USD', 2) > 0 AS fee_while_busy;
SELECT dblink_exec('locker', 'COMMIT');
SELECT dblink_disconnect('locker');
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

-- account_statement: postings in business-time order with the balance after
-- each; the last row's balance is the balance; a window starts from the
-- balance before it
SELECT occurred_at, side, amount, balance, kind, more FROM tpwallet.account_statement('erin:USD', NULL, '2026-05-04');
SELECT (SELECT balance FROM tpwallet.account_statement('erin:USD') ORDER BY occurred_at DESC, entry_id DESC, leg DESC LIMIT 1)
       = tpwallet.balance('erin:USD') AS last_is_balance;
SELECT occurred_at, side, amount, balance FROM tpwallet.account_statement('erin:USD', '2026-05-01 11:00+00', '2026-05-03');
-- pages of two: the first says there is more; the next continues after its
-- last row (same time, after its entry) and its balances carry on
SELECT occurred_at, entry_id AS last_entry, balance, more FROM tpwallet.account_statement('erin:USD', NULL, NULL, 2)
 ORDER BY occurred_at DESC, entry_id DESC LIMIT 1 \gset p1_
SELECT :'p1_more' AS first_page_has_more;
SELECT a.balance = b.balance AS pages_agree, a.more AS more
  FROM (SELECT * FROM tpwallet.account_statement('erin:USD', :'p1_occurred_at', NULL, 2, :p1_last_entry)) a
  JOIN (SELECT * FROM tpwallet.account_statement('erin:USD')) b USING (entry_id, leg)
 ORDER BY a.occurred_at, a.entry_id, a.leg;
SELECT test.err($$SELECT * FROM tpwallet.account_statement('erin:USD', NULL, NULL, 0)$$);
SELECT test.err($$SELECT * FROM tpwallet.account_statement('erin:USD', '2026-05-03', '2026-05-01')$$);
SELECT test.err($$SELECT * FROM tpwallet.account_statement('nobody')$$);
