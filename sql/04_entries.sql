-- Multi-leg entries and batches.
\set SHOW_CONTEXT never
-- a withdrawal with a fee: user pays 50 + 1 fee; 50 leaves custody
SELECT tpwallet.transfer('bank:USD', 'world:USD', 500, reference => 'bank funding');
SELECT tpwallet.post_entry('ops', '[
  {"account": "bob:USD",   "side": "debit",  "amount": "51.00"},
  {"account": "bank:USD",  "side": "credit", "amount": "50"},
  {"account": "fees:USD",  "side": "credit", "amount": 1}
]', 'wd-1', 'withdrawal 1', '2026-02-01 08:00+00', '{"chain": "wire"}') AS wd;
SELECT leg, account, side, amount FROM tpwallet.entry_postings
 WHERE entry_id = (SELECT max(id) FROM tpwallet.journal) ORDER BY leg;
-- repeat: same id
SELECT tpwallet.post_entry('ops', '[
  {"account": "bob:USD",   "side": "debit",  "amount": "51"},
  {"account": "bank:USD",  "side": "credit", "amount": "50.0"},
  {"account": "fees:USD",  "side": "credit", "amount": 1}
]', 'wd-1', 'withdrawal 1', '2026-02-01 08:00+00', '{"chain": "wire"}') = (SELECT max(id) FROM tpwallet.journal) AS same;
-- multi-asset entry balanced per asset (a swap through conversion accounts)
SELECT tpwallet.create_account('fx:USD', 'ops', 'USD', 'debit', true);
SELECT tpwallet.create_account('fx:ETH', 'ops', 'ETH', 'debit', true);
SELECT tpwallet.create_account('bob:ETH', 'ops', 'ETH', 'credit');
SELECT tpwallet.post_entry('ops', '[
  {"account": "bob:USD", "side": "debit",  "amount": "30"},
  {"account": "fx:USD",  "side": "credit", "amount": "30"},
  {"account": "fx:ETH",  "side": "debit",  "amount": "0.01"},
  {"account": "bob:ETH", "side": "credit", "amount": "0.01"}
]') > 0 AS swapped;
SELECT tpwallet.balance('bob:ETH');

-- bad entries: nothing written
SELECT test.rows() AS before \gset
SELECT test.err($$SELECT tpwallet.post_entry('ops', '[{"account": "bob:USD", "side": "debit", "amount": "1"}, {"account": "fees:USD", "side": "credit", "amount": "2"}]')$$);
SELECT test.err($$SELECT tpwallet.post_entry('ops', '[{"account": "bob:USD", "side": "debit", "amount": "1"}, {"account": "fx:ETH", "side": "credit", "amount": "1"}]')$$);
SELECT test.err($$SELECT tpwallet.post_entry('ops', '[{"account": "bob:USD", "side": "debit", "amount": "1"}]')$$);
SELECT test.err($$SELECT tpwallet.post_entry('ops', '[]')$$);
SELECT test.err($$SELECT tpwallet.post_entry('ops', '{}')$$);
SELECT test.err($$SELECT tpwallet.post_entry('gl', '[{"account": "bob:USD", "side": "debit", "amount": "1"}, {"account": "fees:USD", "side": "credit", "amount": "1"}]')$$);
SELECT test.err($$SELECT tpwallet.post_entry('cash', '[]')$$);
SELECT test.err($$SELECT tpwallet.post_entry('ops', '[{"account": "bob:USD", "side": "left", "amount": "1"}, {"account": "fees:USD", "side": "credit", "amount": "1"}]')$$);
SELECT test.err($$SELECT tpwallet.post_entry('ops', '[{"account": "bob:USD", "side": "debit", "ammount": "1"}, {"account": "fees:USD", "side": "credit", "amount": "1"}]')$$);
SELECT test.err($$SELECT tpwallet.post_entry('ops', '[{"account": "bob:USD", "side": "debit", "amount": "1e3"}, {"account": "fees:USD", "side": "credit", "amount": "1000"}]')$$);
SELECT test.err($$SELECT tpwallet.post_entry('ops', '[{"account": "bob:USD", "side": "debit", "amount": true}, {"account": "fees:USD", "side": "credit", "amount": "1"}]')$$);
SELECT test.err($$SELECT tpwallet.post_entry('ops', '[{"account": "bob:USD", "side": "debit"}, {"account": "fees:USD", "side": "credit", "amount": "1"}]')$$);
SELECT test.err($$SELECT tpwallet.post_entry('ops', '[{"account": 7, "side": "debit", "amount": "1"}, {"account": "fees:USD", "side": "credit", "amount": "1"}]')$$);
SELECT test.err($$SELECT tpwallet.post_entry('ops', '[1, 2]')$$);
SELECT test.err($$SELECT tpwallet.post_entry('ops', '[{"account": "bob:USD", "side": "debit", "amount": "0.001"}, {"account": "fees:USD", "side": "credit", "amount": "0.001"}]')$$);
SELECT test.err($$SELECT tpwallet.post_entry('ops', '[{"account": "bob:USD", "side": "debit", "amount": "-1"}, {"account": "fees:USD", "side": "credit", "amount": "-1"}]')$$);
SELECT test.err($$SELECT tpwallet.post_entry('ops', '[{"account": "bob:USD", "side": "debit", "amount": "1000000"}, {"account": "fees:USD", "side": "credit", "amount": "1000000"}]')$$);
SELECT test.rows() = :'before' AS nothing_written;

-- batches: transfers and entries mixed, ids in input order
SELECT array_agg(id) AS ids, count(*) FROM tpwallet.post_batch('[
  {"debit_account": "world:USD", "credit_account": "alice:USD", "amount": "10", "idempotency_key": "b-1", "reference": "r1"},
  {"book": "ops", "postings": [{"account": "alice:USD", "side": "debit", "amount": "4"},
                               {"account": "bob:USD", "side": "credit", "amount": "3.5"},
                               {"account": "fees:USD", "side": "credit", "amount": "0.5"}],
   "idempotency_key": "b-2", "occurred_at": "2026-03-01T00:00:00Z", "metadata": {"k": [1, 2]}},
  {"debit_account": "alice:USD", "credit_account": "bob:USD", "amount": 6, "idempotency_key": "b-3"}
]') AS t(id) \gset
SELECT :'count' AS posted, tpwallet.balance('alice:USD') AS alice_after;
-- the whole batch again: same ids, in order, nothing new
SELECT test.rows() AS before \gset
SELECT array_agg(id) = :'ids'::bigint[] AS same_ids FROM tpwallet.post_batch('[
  {"debit_account": "world:USD", "credit_account": "alice:USD", "amount": "10", "idempotency_key": "b-1", "reference": "r1"},
  {"book": "ops", "postings": [{"account": "alice:USD", "side": "debit", "amount": "4"},
                               {"account": "bob:USD", "side": "credit", "amount": "3.5"},
                               {"account": "fees:USD", "side": "credit", "amount": "0.5"}],
   "idempotency_key": "b-2", "occurred_at": "2026-03-01T00:00:00Z", "metadata": {"k": [1, 2]}},
  {"debit_account": "alice:USD", "credit_account": "bob:USD", "amount": 6, "idempotency_key": "b-3"}
]') AS t(id);
SELECT test.rows() = :'before' AS nothing_written;
-- a key repeated inside one batch: the second is a replay of the first
SELECT array_agg(id) AS ids FROM tpwallet.post_batch('[
  {"debit_account": "world:USD", "credit_account": "alice:USD", "amount": "1", "idempotency_key": "dup"},
  {"debit_account": "world:USD", "credit_account": "alice:USD", "amount": "1", "idempotency_key": "dup"}
]') AS t(id) \gset
SELECT (:'ids'::bigint[])[1] = (:'ids'::bigint[])[2] AS replayed;
-- overdraft inside a batch depends on order: alice has 1.00 now
SELECT tpwallet.balance('alice:USD');
SELECT count(*) FROM tpwallet.post_batch('[
  {"debit_account": "world:USD", "credit_account": "alice:USD", "amount": "5"},
  {"debit_account": "alice:USD", "credit_account": "bob:USD", "amount": "6"}
]');
-- one bad element rejects the whole batch, naming it
SELECT test.rows() AS before \gset
SELECT test.err($$SELECT * FROM tpwallet.post_batch('[{"debit_account": "world:USD", "credit_account": "alice:USD", "amount": "5"}, {"debit_account": "alice:USD", "credit_account": "bob:USD", "amount": "6"}]')$$);
SELECT test.err($$SELECT * FROM tpwallet.post_batch('[{"debit_account": "world:USD", "credit_account": "alice:USD", "amount": "5"}, {"debit_account": "world:USD", "credit_account": "nobody", "amount": "6"}]')$$);
SELECT test.err($$SELECT * FROM tpwallet.post_batch('[{"debit_account": "world:USD", "credit_account": "alice:USD", "amount": "5"}, "oops"]')$$);
SELECT test.err($$SELECT * FROM tpwallet.post_batch('[{"debit_account": "world:USD", "credit_account": "alice:USD", "amount": "5"}, {"debit_account": "world:USD", "credit_account": "alice:USD", "amount": "5", "extra": 1}]')$$);
SELECT test.err($$SELECT * FROM tpwallet.post_batch('[{"debit_account": "world:USD", "credit_account": "alice:USD", "amount": "5"}, {"debit_account": "world:USD", "credit_account": "alice:USD", "amount": "5", "occurred_at": "yesterday-ish"}]')$$);
SELECT test.err($$SELECT * FROM tpwallet.post_batch('[{"debit_account": "world:USD", "credit_account": "alice:USD", "amount": "5", "idempotency_key": "b-1"}]')$$);
SELECT test.err($$SELECT * FROM tpwallet.post_batch('[{"debit_account": "world:USD", "credit_account": "alice:USD", "amount": "1", "idempotency_key": "d2"}, {"debit_account": "world:USD", "credit_account": "alice:USD", "amount": "2", "idempotency_key": "d2"}]')$$);
SELECT test.err($$SELECT * FROM tpwallet.post_batch('{"not": "an array"}')$$);
SELECT test.err($$SELECT * FROM tpwallet.post_batch(NULL)$$);
SELECT test.rows() = :'before' AS nothing_written;
SELECT count(*) AS empty_batch FROM tpwallet.post_batch('[]');
