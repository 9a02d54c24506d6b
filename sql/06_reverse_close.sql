-- Reversals (the only correction) and closing accounts.
\set SHOW_CONTEXT never
SELECT tpwallet.transfer('world:USD', 'bob:USD', 20, reference => 'wrong deposit') AS e1 \gset
SELECT tpwallet.balance('bob:USD') AS bob_before \gset
SELECT tpwallet.reverse_entry(:e1, 'deposit credited to the wrong customer') AS r1 \gset
SELECT tpwallet.balance('bob:USD') = :bob_before - 20 AS reversed;
SELECT kind, reverses = :e1 AS points_back, reference, metadata FROM tpwallet.journal WHERE id = :r1;
SELECT leg, account, side, amount FROM tpwallet.entry_postings WHERE entry_id = :r1 ORDER BY leg;
SELECT reversed_by = :r1 AS linked FROM tpwallet.entries WHERE entry_id = :e1;
-- at most once
SELECT test.err(format('SELECT tpwallet.reverse_entry(%s, %L)', :e1, 'again'));
-- a reason is required; unknown entries are reported
SELECT test.err(format('SELECT tpwallet.reverse_entry(%s, %L)', :r1, '  '));
SELECT test.err($$SELECT tpwallet.reverse_entry(999999, 'x')$$);
-- a reversal obeys the overdraft rules: bob cannot give back more than he has
SELECT tpwallet.transfer('world:USD', 'bob:USD', 5) AS e2 \gset
SELECT tpwallet.transfer('bob:USD', 'world:USD', tpwallet.balance('bob:USD')) > 0 AS emptied;
SELECT test.err(format('SELECT tpwallet.reverse_entry(%s, %L)', :e2, 'chargeback'));
-- a reversal of a reversal re-posts the original
SELECT tpwallet.reverse_entry(:r1, 'it was the right customer after all') > 0 AS ok;
SELECT tpwallet.balance('bob:USD');
SELECT action, object FROM tpwallet.audit_log WHERE action = 'reverse_entry' ORDER BY id;

-- closing: no new postings, history stays
SELECT tpwallet.create_account('carol:USD', 'ops', 'USD', 'credit');
SELECT tpwallet.transfer('world:USD', 'carol:USD', 3) AS c1 \gset
SELECT tpwallet.transfer('carol:USD', 'world:USD', 3) AS c2 \gset
SELECT tpwallet.close_account('carol:USD');
SELECT tpwallet.close_account('carol:USD');
SELECT status FROM tpwallet.account_details WHERE account = 'carol:USD';
SELECT test.err($$SELECT tpwallet.transfer('world:USD', 'carol:USD', 1)$$);
SELECT test.err($$SELECT tpwallet.transfer('carol:USD', 'world:USD', 1)$$);
SELECT test.err($$SELECT tpwallet.hold('world:USD', 'carol:USD', 1)$$);
SELECT test.err($$SELECT * FROM tpwallet.post_batch('[{"debit_account": "world:USD", "credit_account": "carol:USD", "amount": "1"}]')$$);
SELECT test.err(format('SELECT tpwallet.reverse_entry(%s, %L)', :c2, 'x'));
SELECT count(*) AS history FROM tpwallet.entry_postings WHERE account = 'carol:USD';
SELECT test.err($$SELECT tpwallet.close_account('nobody')$$);
-- a hold on an account closed later can still be voided (but not posted)
SELECT tpwallet.create_account('frank:USD', 'ops', 'USD', 'credit');
SELECT tpwallet.transfer('world:USD', 'frank:USD', 10) > 0 AS funded;
SELECT tpwallet.hold('frank:USD', 'world:USD', 4) AS fh \gset
SELECT tpwallet.close_account('frank:USD');
SELECT test.err(format('SELECT tpwallet.post_hold(%s)', :fh));
SELECT tpwallet.void_hold(:fh);
SELECT account, balance, pending_out FROM tpwallet.account_details WHERE account = 'frank:USD';
