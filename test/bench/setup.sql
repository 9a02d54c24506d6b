-- Benchmark fixture, run by scripts/bench.sh in a freshly created database.
--   psql -v accounts=1000 -f test/bench/setup.sql
--
-- One fiat asset with 2 decimals; :accounts credit-normal customer accounts
-- u_0 .. u_{accounts-1} (no overdraft), each funded with 1,000,000.00 from
-- the debit-normal, allow_negative account "bank"; one credit-normal hot
-- account "merchant".  Baseline tables have the shape of tpwallet.postings
-- and no index at all (bench.indexed_postings: with the postings' indexes).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE EXTENSION tpwallet;

SELECT tpwallet.create_asset('USD', 2, 'fiat', 'bench dollar');
SELECT tpwallet.create_account('bank', 'ops', 'USD', 'debit', true);
SELECT tpwallet.create_account('merchant', 'ops', 'USD', 'credit');
SELECT count(tpwallet.create_account('u_' || i, 'ops', 'USD', 'credit'))
  FROM generate_series(0, :accounts - 1) AS i;

-- Funding: one batch, no row locks needed (both sides increase normally).
SELECT count(*) FROM tpwallet.post_batch(
	(SELECT jsonb_agg(jsonb_build_object('debit_account', 'bank', 'credit_account', 'u_' || i,
	                                     'amount', '1000000.00', 'reference', 'bench funding'))
	   FROM generate_series(0, :accounts - 1) AS i));
SELECT tpwallet.fold_deltas();

CREATE SCHEMA bench;

-- Storage baselines: same columns as tpwallet.postings, no indexes.
CREATE TABLE bench.bare_postings (
	entry_id     bigint NOT NULL,
	leg          smallint NOT NULL,
	account_id   bigint NOT NULL,
	amount       numeric NOT NULL,
	occurred_at  timestamptz NOT NULL
);
CREATE TABLE bench.bare_insert (LIKE bench.bare_postings);
-- Informational: the same shape with whatever indexes tpwallet.postings has.
CREATE TABLE bench.indexed_postings (LIKE tpwallet.postings INCLUDING INDEXES);

-- Pre-built post_batch arguments (building them is not timed).
CREATE TABLE bench.batches (
	n    int PRIMARY KEY,
	doc  jsonb NOT NULL
);

-- Fill bench.batches with nbatches arrays of size transfers each: from a
-- random customer to a different random customer, 0.01 to 1.00, each with
-- a unique idempotency key (tag makes keys unique across rounds) unless
-- with_keys is false.
CREATE FUNCTION bench.build_batches(nbatches int, size int, naccounts int, tag text, with_keys boolean)
RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE bench.batches;
	INSERT INTO bench.batches (n, doc)
	SELECT s.n, jsonb_agg(
	         jsonb_build_object('debit_account', 'u_' || s.a,
	                            'credit_account', 'u_' || ((s.a + s.d) % naccounts),
	                            'amount', to_char(s.c * 0.01, 'FM0.00'))
	         || CASE WHEN with_keys THEN jsonb_build_object('idempotency_key', tag || '-' || s.k)
	                 ELSE '{}'::jsonb END
	         ORDER BY s.k)
	  FROM (SELECT k / size AS n, k,
	               floor(random() * naccounts)::int AS a,
	               1 + floor(random() * (naccounts - 1))::int AS d,
	               1 + floor(random() * 100)::int AS c
	          FROM generate_series(0, nbatches::bigint * size - 1) AS k) s
	 GROUP BY s.n;
	ANALYZE bench.batches;
	RETURN (SELECT sum(jsonb_array_length(doc)) FROM bench.batches);
END
$$;

-- Post every pre-built batch, one transaction (COMMIT) per batch, the way
-- an application posting batches would.
CREATE PROCEDURE bench.post_batches()
LANGUAGE plpgsql AS $$
DECLARE
	d jsonb;
	i int;
	last int;
BEGIN
	SELECT max(n) INTO last FROM bench.batches;
	FOR i IN 0 .. last LOOP
		SELECT b.doc INTO d FROM bench.batches b WHERE b.n = i;
		PERFORM count(*) FROM tpwallet.post_batch(d);
		COMMIT;
	END LOOP;
END
$$;

-- Storage the ledger uses: what a transfer writes (journal, postings,
-- idempotency, account_deltas, with their indexes and TOAST), what sealing
-- adds, and the account rows.
CREATE FUNCTION bench.ledger_size(OUT core bigint, OUT sealing bigint, OUT accounts bigint,
                                  OUT entries bigint)
LANGUAGE sql AS $$
	SELECT pg_total_relation_size('tpwallet.journal') + pg_total_relation_size('tpwallet.postings')
	       + pg_total_relation_size('tpwallet.idempotency')
	       + pg_total_relation_size('tpwallet.account_deltas'),
	       pg_total_relation_size('tpwallet.block_members') + pg_total_relation_size('tpwallet.seals'),
	       pg_total_relation_size('tpwallet.accounts'),
	       (SELECT count(*) FROM tpwallet.journal)
$$;

ANALYZE;
