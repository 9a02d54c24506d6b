-- Assets and accounts.
\set SHOW_CONTEXT never
SELECT tpwallet.create_asset('USD', 2, 'fiat', 'US dollar');
SELECT tpwallet.create_asset('ETH', 18);
SELECT tpwallet.create_asset('BTC', 8, 'crypto');
SELECT code, decimals, kind, name FROM tpwallet.assets ORDER BY code;

-- bad assets
SELECT test.err($$SELECT tpwallet.create_asset('USD', 2, 'fiat')$$);
SELECT test.err($$SELECT tpwallet.create_asset('', 2)$$);
SELECT test.err($$SELECT tpwallet.create_asset('a b', 2)$$);
SELECT test.err($$SELECT tpwallet.create_asset('X', -1)$$);
SELECT test.err($$SELECT tpwallet.create_asset('X', 37)$$);
SELECT test.err($$SELECT tpwallet.create_asset('X', 2, 'shares')$$);
SELECT test.err($$SELECT tpwallet.create_asset('X', 2, 'fiat', NULL, '[1]')$$);

-- The operational book: the outside world (may go negative), custody, users, fees.
SELECT tpwallet.create_account('world:USD', 'ops', 'USD', 'debit', true);
SELECT tpwallet.create_account('bank:USD', 'ops', 'USD', 'debit');
SELECT tpwallet.create_account('alice:USD', 'ops', 'USD', 'credit', false, '{"owner": "alice"}');
SELECT tpwallet.create_account('bob:USD', 'ops', 'USD', 'credit', metadata => '{"owner": "bob"}');
SELECT tpwallet.create_account('fees:USD', 'ops', 'USD', 'credit');
SELECT tpwallet.create_account('world:ETH', 'ops', 'ETH', 'debit', true);
SELECT tpwallet.create_account('alice:ETH', 'ops', 'ETH', 'credit');
-- The accounting book.
SELECT tpwallet.create_account('gl:cash:USD', 'gl', 'USD', 'debit');
SELECT tpwallet.create_account('gl:customer_liab:USD', 'gl', 'USD', 'credit');
SELECT tpwallet.create_account('gl:equity:USD', 'gl', 'USD', 'credit', true);

SELECT * FROM tpwallet.account_balances ORDER BY account;

-- bad accounts
SELECT test.err($$SELECT tpwallet.create_account('alice:USD', 'ops', 'USD', 'credit')$$);
SELECT test.err($$SELECT tpwallet.create_account('x', 'ledger', 'USD', 'credit')$$);
SELECT test.err($$SELECT tpwallet.create_account('x', 'ops', 'EUR', 'credit')$$);
SELECT test.err($$SELECT tpwallet.create_account('x', 'ops', 'USD', 'left')$$);
SELECT test.err($$SELECT tpwallet.create_account('', 'ops', 'USD', 'credit')$$);
SELECT test.err($$SELECT tpwallet.create_account(repeat('x', 201), 'ops', 'USD', 'credit')$$);
SELECT test.err($$SELECT tpwallet.create_account('x', 'ops', 'USD', 'credit', NULL)$$);
SELECT test.err($$SELECT tpwallet.create_account('x', 'ops', 'USD', 'credit', false, '"s"')$$);
SELECT count(*) AS accounts FROM tpwallet.accounts;

-- every administrative action is audited
SELECT action, object, actor = session_user AS by_me FROM tpwallet.audit_log ORDER BY id;
