-- Single transfers: balances, idempotency, every bad input.
\set SHOW_CONTEXT never
-- deposits (outside world -> user)
SELECT tpwallet.transfer('world:USD', 'alice:USD', 1000.00, 'dep-1', 'bank-ref-1',
                         '2026-01-10 10:00+00', '{"channel": "wire"}');
SELECT tpwallet.transfer('world:USD', 'bob:USD', 250, 'dep-2', 'bank-ref-2', '2026-01-11 09:00+00');
-- a payment between users and a fee
SELECT tpwallet.transfer('alice:USD', 'bob:USD', 100.25, reference => 'inv-7', occurred_at => '2026-01-12 12:00+00');
SELECT tpwallet.transfer('alice:USD', 'fees:USD', 0.75, occurred_at => '2026-01-12 12:00+00');
SELECT account, balance FROM tpwallet.account_balances WHERE book = 'ops' ORDER BY account;
SELECT tpwallet.balance('alice:USD'), tpwallet.balance('bob:USD'), tpwallet.balance('world:USD');

-- idempotency: same key, same content -> the original id, nothing new written
SELECT test.rows();
SELECT tpwallet.transfer('world:USD', 'alice:USD', 1000.00, 'dep-1', 'bank-ref-1',
                         '2026-01-10 10:00+00', '{"channel": "wire"}') AS same_id;
SELECT tpwallet.transfer('world:USD', 'alice:USD', 1000, 'dep-1', 'bank-ref-1',
                         '2026-01-10 10:00+00', '{"channel": "wire"}') AS same_value_other_scale;
SELECT test.rows();
-- same key, other content -> error
SELECT test.err($$SELECT tpwallet.transfer('world:USD', 'alice:USD', 999, 'dep-1', 'bank-ref-1', '2026-01-10 10:00+00', '{"channel": "wire"}')$$);
SELECT test.err($$SELECT tpwallet.transfer('world:USD', 'bob:USD', 1000, 'dep-1', 'bank-ref-1', '2026-01-10 10:00+00', '{"channel": "wire"}')$$);
SELECT test.err($$SELECT tpwallet.transfer('world:USD', 'alice:USD', 1000, 'dep-1', 'other-ref', '2026-01-10 10:00+00', '{"channel": "wire"}')$$);
SELECT test.err($$SELECT tpwallet.transfer('world:USD', 'alice:USD', 1000, 'dep-1', 'bank-ref-1', '2026-01-10 10:00+00', '{"channel": "card"}')$$);
-- a key without explicit time repeats fine (the default time is not part of the request)
SELECT tpwallet.transfer('world:USD', 'bob:USD', 5, 'dep-3') = tpwallet.transfer('world:USD', 'bob:USD', 5, 'dep-3') AS repeat_ok;

-- bad input: clear SQLSTATE, nothing written
SELECT test.rows() AS before \gset
SELECT test.err($$SELECT tpwallet.transfer('nobody', 'bob:USD', 1)$$);
SELECT test.err($$SELECT tpwallet.transfer('alice:USD', 'nobody', 1)$$);
SELECT test.err($$SELECT tpwallet.transfer('alice:USD', 'alice:ETH', 1)$$);
SELECT test.err($$SELECT tpwallet.transfer('alice:USD', 'gl:customer_liab:USD', 1)$$);
SELECT test.err($$SELECT tpwallet.transfer('alice:USD', 'alice:USD', 1)$$);
SELECT test.err($$SELECT tpwallet.transfer('alice:USD', 'bob:USD', 0)$$);
SELECT test.err($$SELECT tpwallet.transfer('alice:USD', 'bob:USD', -5)$$);
SELECT test.err($$SELECT tpwallet.transfer('alice:USD', 'bob:USD', 'NaN')$$);
SELECT test.err($$SELECT tpwallet.transfer('alice:USD', 'bob:USD', 'Infinity')$$);
SELECT test.err($$SELECT tpwallet.transfer('alice:USD', 'bob:USD', 1.001)$$);
SELECT test.err($$SELECT tpwallet.transfer('alice:USD', 'bob:USD', NULL)$$);
SELECT test.err($$SELECT tpwallet.transfer(NULL, 'bob:USD', 1)$$);
SELECT test.err($$SELECT tpwallet.transfer('alice:USD', 'bob:USD', 1, metadata => '[]')$$);
SELECT test.err($$SELECT tpwallet.transfer('alice:USD', 'bob:USD', 1, '')$$);
SELECT test.err($$SELECT tpwallet.transfer('alice:USD', 'bob:USD', 1, occurred_at => 'infinity')$$);
-- overdraft: alice has 899.00
SELECT test.err($$SELECT tpwallet.transfer('alice:USD', 'bob:USD', 899.01)$$);
-- custody account without allow_negative cannot go below zero either
SELECT test.err($$SELECT tpwallet.transfer('world:USD', 'bank:USD', 20)$$);
SELECT test.rows() = :'before' AS nothing_written;

-- trailing zeros beyond the asset's decimals are fine (the value has 2 places)
SELECT tpwallet.transfer('alice:USD', 'bob:USD', 1.1000) > 0 AS ok;
-- exactly draining the account is allowed
SELECT tpwallet.transfer('alice:USD', 'bob:USD', tpwallet.balance('alice:USD')) > 0 AS drained;
SELECT tpwallet.balance('alice:USD');
SELECT test.err($$SELECT tpwallet.transfer('alice:USD', 'bob:USD', 0.01)$$);

-- 18 decimals, exact
SELECT tpwallet.transfer('world:ETH', 'alice:ETH', 1.123456789012345678) > 0 AS ok;
SELECT tpwallet.balance('alice:ETH');
SELECT test.err($$SELECT tpwallet.transfer('world:ETH', 'alice:ETH', 0.0000000000000000001)$$);

-- balance of an unknown account
SELECT test.err($$SELECT tpwallet.balance('nobody')$$);

-- postings are signed (debit > 0), stored once per leg
SELECT entry_id, leg, account, side, amount FROM tpwallet.entry_postings WHERE entry_id <= 4 ORDER BY 1, 2;
SELECT entry_id, kind, book, reference, idempotency_key, metadata FROM tpwallet.entries WHERE entry_id <= 4 ORDER BY 1;
