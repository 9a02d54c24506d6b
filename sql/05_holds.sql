-- Two-phase transfers.
\set SHOW_CONTEXT never
SELECT tpwallet.transfer('world:USD', 'alice:USD', 100, reference => 'top-up');
SELECT tpwallet.balance('alice:USD') AS alice;
SELECT tpwallet.hold('alice:USD', 'bob:USD', 60, reference => 'order-1') AS h1 \gset
SELECT account, balance, pending_out, pending_in, available FROM tpwallet.account_details
 WHERE account IN ('alice:USD', 'bob:USD') ORDER BY 1;
-- pending amounts count against the overdraft rule
SELECT test.err($$SELECT tpwallet.transfer('alice:USD', 'bob:USD', available + 0.01) FROM tpwallet.account_details WHERE account = 'alice:USD'$$);
SELECT test.err($$SELECT tpwallet.hold('alice:USD', 'bob:USD', available + 0.01) FROM tpwallet.account_details WHERE account = 'alice:USD'$$);
-- partial post: 45 of 60; the rest is released
SELECT tpwallet.post_hold(:h1, 45) > 0 AS posted;
SELECT account, balance, pending_out, pending_in, available FROM tpwallet.account_details
 WHERE account IN ('alice:USD', 'bob:USD') ORDER BY 1;
-- a hold resolves exactly once
SELECT test.err(format('SELECT tpwallet.post_hold(%s, 1)', :h1));
SELECT test.err(format('SELECT tpwallet.void_hold(%s)', :h1));
-- void
SELECT tpwallet.hold('alice:USD', 'bob:USD', 10) AS h2 \gset
SELECT tpwallet.void_hold(:h2);
SELECT test.err(format('SELECT tpwallet.post_hold(%s)', :h2));
-- full post (amount omitted)
SELECT tpwallet.hold('alice:USD', 'bob:USD', 5, '2030-01-01 00:00+00', 'hold-key-1') AS h3 \gset
SELECT tpwallet.hold('alice:USD', 'bob:USD', 5, '2030-01-01 00:00+00', 'hold-key-1') = :h3 AS idempotent;
SELECT test.err($$SELECT tpwallet.hold('alice:USD', 'bob:USD', 6, NULL, 'hold-key-1')$$);
SELECT test.err($$SELECT tpwallet.hold('bob:USD', 'alice:USD', 5, '2030-01-01 00:00+00', 'hold-key-1')$$);
SELECT tpwallet.post_hold(:h3) > 0 AS posted_full;
SELECT hold_id = :h3 AS mine, status, posted_amount FROM tpwallet.hold_status WHERE hold_id = :h3;
-- bad holds
SELECT test.err(format('SELECT tpwallet.post_hold(%s, 1)', :h3 + 1000));
SELECT test.err($$SELECT tpwallet.hold('alice:USD', 'bob:USD', 0)$$);
SELECT test.err($$SELECT tpwallet.hold('alice:USD', 'alice:ETH', 1)$$);
SELECT test.err($$SELECT tpwallet.hold('alice:USD', 'bob:USD', 1, now() - interval '1 second')$$);
SELECT tpwallet.hold('alice:USD', 'bob:USD', 7) AS h4 \gset
SELECT test.err(format('SELECT tpwallet.post_hold(%s, 8)', :h4));
SELECT test.err(format('SELECT tpwallet.post_hold(%s, 0.001)', :h4));
SELECT tpwallet.void_hold(:h4);
-- expiry: a hold that has expired cannot be posted, and expire_holds releases it
SELECT tpwallet.hold('alice:USD', 'bob:USD', 3, clock_timestamp() + interval '10 milliseconds') AS h5 \gset
SELECT pg_sleep(0.05);
-- (new transaction: now() has moved past the expiry)
SELECT test.err(format('SELECT tpwallet.post_hold(%s)', :h5));
SELECT tpwallet.expire_holds() >= 1 AS expired;
SELECT status FROM tpwallet.hold_status WHERE hold_id = :h5;
SELECT account, pending_out, pending_in FROM tpwallet.account_details WHERE account IN ('alice:USD', 'bob:USD') ORDER BY 1;
SELECT * FROM tpwallet.check_pending();
