-- tpwallet demo: one small day of a digital-asset wallet, in both books.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset footer off
\o /dev/null

-- Assets: a fiat currency, a chain's native coin (18 decimals), a stablecoin.
SELECT tpwallet.create_asset('USD', 2, 'fiat', 'US dollar');
SELECT tpwallet.create_asset('ETH', 18, 'crypto', 'Ether');
SELECT tpwallet.create_asset('USDC', 6, 'stablecoin', 'USD Coin');

-- Operational book: the outside world, our custody wallets and bank account,
-- customer wallets (what we owe them), fee income.
SELECT tpwallet.create_account('world:' || a, 'ops', a, 'debit', true) FROM unnest('{USD,ETH,USDC}'::text[]) a;
SELECT tpwallet.create_account('custody:ETH', 'ops', 'ETH', 'debit', false, '{"address": "0x7a25...hot"}');
SELECT tpwallet.create_account('custody:USDC', 'ops', 'USDC', 'debit');
SELECT tpwallet.create_account('bank:USD', 'ops', 'USD', 'debit', false, '{"iban": "FI21 1234 5600 0007 85"}');
SELECT tpwallet.create_account(u || ':' || a, 'ops', a, 'credit', false, jsonb_build_object('owner', u, 'kyc', 'verified'))
  FROM unnest('{alice,bob,carol}'::text[]) u, unnest('{USD,ETH,USDC}'::text[]) a;
SELECT tpwallet.create_account('fees:' || a, 'ops', a, 'credit') FROM unnest('{USD,ETH,USDC}'::text[]) a;

-- Accounting book: the general ledger view of the same money.
SELECT tpwallet.create_account('gl:1000:bank:USD', 'gl', 'USD', 'debit');
SELECT tpwallet.create_account('gl:1100:custody:ETH', 'gl', 'ETH', 'debit');
SELECT tpwallet.create_account('gl:2000:customers:USD', 'gl', 'USD', 'credit');
SELECT tpwallet.create_account('gl:2000:customers:ETH', 'gl', 'ETH', 'credit');
SELECT tpwallet.create_account('gl:4000:fee_income:USD', 'gl', 'USD', 'credit');
SELECT tpwallet.create_account('gl:4000:fee_income:ETH', 'gl', 'ETH', 'credit');

-- 09:00 Alice deposits 1.5 ETH on chain (custody wallet receives it).
SELECT tpwallet.post_batch('[
 {"book": "ops", "postings": [{"account": "custody:ETH", "side": "debit", "amount": "1.5"},
                              {"account": "alice:ETH", "side": "credit", "amount": "1.5"}],
  "idempotency_key": "chain:0x9f1c...01:0", "reference": "0x9f1c...01", "occurred_at": "2026-11-24 09:00+00",
  "metadata": {"event": "deposit", "chain": "ethereum", "confirmations": 12}},
 {"book": "gl", "postings": [{"account": "gl:1100:custody:ETH", "side": "debit", "amount": "1.5"},
                             {"account": "gl:2000:customers:ETH", "side": "credit", "amount": "1.5"}],
  "idempotency_key": "gl:chain:0x9f1c...01:0", "reference": "0x9f1c...01", "occurred_at": "2026-11-24 09:00+00"}
]');
-- 09:30 Bob wires 2,500.00 USD to our bank account.
SELECT tpwallet.post_batch('[
 {"book": "ops", "postings": [{"account": "bank:USD", "side": "debit", "amount": "2500.00"},
                              {"account": "bob:USD", "side": "credit", "amount": "2500.00"}],
  "idempotency_key": "bank:stmt-2026-11-24:17", "reference": "RF18539007547034", "occurred_at": "2026-11-24 09:30+00",
  "metadata": {"event": "deposit", "rail": "SEPA"}},
 {"book": "gl", "postings": [{"account": "gl:1000:bank:USD", "side": "debit", "amount": "2500.00"},
                             {"account": "gl:2000:customers:USD", "side": "credit", "amount": "2500.00"}],
  "reference": "RF18539007547034", "occurred_at": "2026-11-24 09:30+00"}
]');
-- 10:15 A deposit is credited to Carol by mistake ...
SELECT tpwallet.transfer('bank:USD', 'carol:USD', 300.00, 'bank:stmt-2026-11-24:18', 'RF71000000000002',
                         '2026-11-24 10:15+00', '{"event": "deposit"}') AS wrong \gset
-- ... and reversed: corrections are reversals, never edits.
SELECT tpwallet.reverse_entry(:wrong, 'credited to the wrong customer; belongs to an unidentified sender');
-- 11:00 Bob pays Carol 120.50 USD: authorised first (a hold), captured at 100.00.
SELECT tpwallet.hold('bob:USD', 'carol:USD', 120.50, '2026-12-31 00:00+00', 'order-5531-auth', 'order-5531') AS h \gset
SELECT tpwallet.post_hold(:h, 100.00);
-- 12:00 Alice withdraws 0.5 ETH; the network fee she pays is 0.0021 ETH.
SELECT tpwallet.post_entry('ops', '[
  {"account": "alice:ETH", "side": "debit", "amount": "0.5021"},
  {"account": "custody:ETH", "side": "credit", "amount": "0.5"},
  {"account": "fees:ETH", "side": "credit", "amount": "0.0021"}]',
  'withdrawal-88', '0x1be0...77', '2026-11-24 12:00+00', '{"event": "withdrawal", "to": "0xab5801a7d398351b8be11c439e05c5b3259aec9b"}');
SELECT tpwallet.post_entry('gl', '[
  {"account": "gl:2000:customers:ETH", "side": "debit", "amount": "0.5021"},
  {"account": "gl:1100:custody:ETH", "side": "credit", "amount": "0.5"},
  {"account": "gl:4000:fee_income:ETH", "side": "credit", "amount": "0.0021"}]',
  'gl:withdrawal-88', '0x1be0...77', '2026-11-24 12:00+00');
-- 12:05 A client retries the withdrawal after a timeout: same key, same content, same entry.
SELECT tpwallet.post_entry('ops', '[
  {"account": "alice:ETH", "side": "debit", "amount": "0.5021"},
  {"account": "custody:ETH", "side": "credit", "amount": "0.5"},
  {"account": "fees:ETH", "side": "credit", "amount": "0.0021"}]',
  'withdrawal-88', '0x1be0...77', '2026-11-24 12:00+00', '{"event": "withdrawal", "to": "0xab5801a7d398351b8be11c439e05c5b3259aec9b"}');
-- 13:00 Bob tries to withdraw more than he has: refused, nothing written.
DO $$ BEGIN
	PERFORM tpwallet.transfer('bob:USD', 'bank:USD', 5000);
EXCEPTION WHEN SQLSTATE 'TW001' THEN RAISE NOTICE 'refused as expected: %', SQLERRM;
END $$;
-- 14:00 A 1.00 USD account fee.
SELECT tpwallet.post_batch('[
 {"debit_account": "bob:USD", "credit_account": "fees:USD", "amount": "1.00",
  "idempotency_key": "fee-2026-11-bob", "reference": "monthly fee", "occurred_at": "2026-11-24 14:00+00"},
 {"debit_account": "gl:2000:customers:USD", "credit_account": "gl:4000:fee_income:USD", "amount": "1.00",
  "idempotency_key": "gl:fee-2026-11-bob", "reference": "monthly fee", "occurred_at": "2026-11-24 14:00+00"}
]');

SELECT tpwallet.fold_deltas();
\o
\echo
\echo '== Sealed into hash-chained Merkle blocks'
SELECT tpwallet.seal() AS entries_sealed;
SELECT book, height, entry_count, first_entry, last_entry, left(merkle_root, 16) || '...' AS merkle_root,
       left(prev_hash, 16) || '...' AS prev_hash FROM tpwallet.blocks ORDER BY book, height;
\echo '== Verification (recomputes every hash, root and link)'
SELECT * FROM tpwallet.verify_ledger();
\echo '== Stored totals vs. postings (no rows = all agree)'
SELECT * FROM tpwallet.check_balances();
\echo '== Balances, operational book'
SELECT account, asset, balance, pending_out, available FROM tpwallet.account_details
 WHERE book = 'ops' AND (balance <> 0 OR pending_out <> 0) ORDER BY asset, account;
\echo '== Trial balance, accounting book (debits = credits per asset)'
SELECT asset, account, debits_posted, credits_posted, balance FROM tpwallet.account_balances
 WHERE book = 'gl' ORDER BY asset, account;
SELECT asset, sum(debits_posted) AS total_debits, sum(credits_posted) AS total_credits,
       sum(debits_posted) = sum(credits_posted) AS balanced
  FROM tpwallet.account_balances WHERE book = 'gl' GROUP BY asset ORDER BY asset;
\echo '== Journal'
SELECT e.entry_id, e.book, e.kind, to_char(e.occurred_at, 'HH24:MI') AS at, e.reference,
       e.reverses, e.reversed_by, e.sealed_in_block AS block
  FROM tpwallet.entries e ORDER BY e.entry_id;

\echo '== The withdrawal, signed for the chain by the hot wallet key in the HSM (SoftHSM2)'
\o /dev/null
SELECT tpwallet.create_key('hot-wallet:ETH', 'pkcs11');
\o
SELECT label, backend, address, status FROM tpwallet.keys;
-- 0.5 ETH in wei, exactly, from the ledger's own posting (credits are stored negative)
SELECT ('{"chainId": 1, "nonce": 0, "maxPriorityFeePerGas": "1500000000", "maxFeePerGas": "30000000000",
          "gas": 21000, "to": "' || (j.metadata ->> 'to') || '", "value": "'
        || (-p.amount * 10 ^ a.decimals)::numeric(78, 0) || '"}')::jsonb AS tx
  FROM tpwallet.journal j JOIN tpwallet.postings p ON p.entry_id = j.id
  JOIN tpwallet.accounts c ON c.id = p.account_id JOIN tpwallet.assets a ON a.code = c.asset
 WHERE j.idempotency_key = 'withdrawal-88' AND c.code = 'custody:ETH' \gset
SELECT tpwallet.eth_sign_transaction('hot-wallet:ETH', :'tx') AS raw \gset
SELECT octet_length(:'raw'::bytea) AS raw_bytes, left(encode(:'raw'::bytea, 'hex'), 24) || '...' AS raw_hex;
SELECT d ->> 'type' AS type, d ->> 'to' AS to, d ->> 'value' AS value_wei, d ->> 'from' AS signed_by,
       d ->> 'from' = (SELECT address FROM tpwallet.keys WHERE label = 'hot-wallet:ETH') AS sender_is_hot_wallet
  FROM tpwallet.eth_decode_transaction(:'raw'::bytea) AS d;
\echo '== Every signature is in the audit log (never the key)'
SELECT log_id, key_label, purpose, left(encode(digest, 'hex'), 16) || '...' AS digest, signed_by FROM tpwallet.signatures;

\echo '== Valuation: three exchanges quote ETH in USD, one of them ten-fold wrong; two quote USDC'
\o /dev/null
SELECT tpwallet.add_price_source(s || ':ETH', 'manual', 'ETH', 'USD', NULL) FROM unnest('{cex-a,cex-b,cex-c}'::text[]) s;
SELECT tpwallet.add_price_source(s || ':USDC', 'manual', 'USDC', 'USD', NULL) FROM unnest('{cex-a,cex-b}'::text[]) s;
SELECT tpwallet.record_tick('cex-a:ETH', 3012.40, clock_timestamp()), tpwallet.record_tick('cex-b:ETH', 3011.95, clock_timestamp()),
       tpwallet.record_tick('cex-c:ETH', 30119.50, clock_timestamp()),   -- an outlier: rejected
       tpwallet.record_tick('cex-a:USDC', 0.9998, clock_timestamp()), tpwallet.record_tick('cex-b:USDC', 1.0001, clock_timestamp());
\o
SELECT base, quote, price, sources_used, status FROM tpwallet.latest_prices ORDER BY base;
SELECT owner, reporting_currency, round(total_value, 2) AS total_value, accounts, worst_status
  FROM tpwallet.portfolios ORDER BY owner;
