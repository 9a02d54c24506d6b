-- Randomized malformed input for the C parsers of the ledger: post_batch,
-- post_entry and verify_proof receive thousands of mutated documents.
-- Every rejection must be a clean, documented SQLSTATE (never an internal
-- error or a crash), and nothing may be written by a rejected call.
\set ON_ERROR_STOP 1
\set QUIET 1
BEGIN;
SELECT plan(7);
\o /dev/null
SELECT setseed(0.7);
SELECT tpwallet.create_asset('USD', 2, 'fiat');
SELECT tpwallet.create_account('world', 'ops', 'USD', 'debit', true);
SELECT tpwallet.create_account('a', 'ops', 'USD', 'credit');
SELECT tpwallet.create_account('b', 'ops', 'USD', 'credit');
SELECT tpwallet.transfer('world', 'a', 100);
SELECT tpwallet.seal();

-- random JSON values: scalars of every type, odd numbers and strings, nesting
CREATE FUNCTION pg_temp.rand_value(depth int) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r float := random();
BEGIN
	IF depth > 2 OR r < 0.55 THEN
		RETURN (ARRAY['null', 'true', 'false', '0', '-1', '1e400', '0.001', '12345678901234567890.123',
		               '"a"', '"b"', '"world"', '""', '"10.00"', '"-5"', '"1,5"', '" 7"', '"NaN"', '"Infinity"',
		               '"debit"', '"credit"', '"ops"', '"gl"', '"2026-01-01"', '"yesterday"', '"\\u0000x"',
		               '"ünïcödé"', '"0x00"', '{}', '[]'])[1 + floor(random() * 29)::int]::jsonb;
	ELSIF r < 0.8 THEN
		RETURN (SELECT coalesce(jsonb_agg(pg_temp.rand_value(depth + 1)), '[]') FROM generate_series(1, floor(random() * 4)::int));
	ELSE
		RETURN (SELECT coalesce(jsonb_object_agg(k, pg_temp.rand_value(depth + 1)), '{}')
		          FROM (SELECT (ARRAY['account', 'side', 'amount', 'book', 'postings', 'debit_account', 'credit_account',
		                              'idempotency_key', 'reference', 'occurred_at', 'metadata', 'x'])[1 + floor(random() * 12)::int] AS k
		                  FROM generate_series(1, floor(random() * 5)::int)) keys);
	END IF;
END $$;

-- a valid document with one random path replaced, removed or added
CREATE FUNCTION pg_temp.mutate(doc jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE paths text[]; p text[]; r float := random();
BEGIN
	SELECT array_agg(array_to_string(path, '/')) INTO paths FROM (
		WITH RECURSIVE walk(path, v) AS (
			SELECT ARRAY[]::text[], doc
			UNION ALL
			SELECT w.path || e.k, e.v FROM walk w,
			  LATERAL (SELECT key AS k, value AS v FROM jsonb_each(CASE WHEN jsonb_typeof(w.v) = 'object' THEN w.v ELSE '{}' END)
			           UNION ALL
			           SELECT (ord - 1)::text, value FROM jsonb_array_elements(CASE WHEN jsonb_typeof(w.v) = 'array' THEN w.v ELSE '[]' END) WITH ORDINALITY AS t(value, ord)) e)
		SELECT path FROM walk WHERE cardinality(path) > 0) s;
	SELECT string_to_array(x, '/') INTO p FROM unnest(paths) AS t(x) ORDER BY random() LIMIT 1;
	IF p IS NULL THEN RETURN pg_temp.rand_value(0); END IF;
	IF r < 0.6 THEN RETURN jsonb_set(doc, p, pg_temp.rand_value(0)); END IF;
	IF r < 0.85 THEN RETURN doc #- p; END IF;
	RETURN jsonb_set(doc, p, pg_temp.rand_value(0), true) || CASE WHEN jsonb_typeof(doc) = 'object' THEN jsonb_build_object('x', 1) ELSE '{}' END;
END $$;

CREATE TEMP TABLE outcomes (fn text, sqlstate text, message text);
DO $$
DECLARE
	batch jsonb := '[{"debit_account": "a", "credit_account": "b", "amount": "1.00", "idempotency_key": "k", "reference": "r",
	                  "occurred_at": "2026-01-01T00:00:00Z", "metadata": {"m": [1, {"n": null}]}},
	                 {"book": "ops", "postings": [{"account": "a", "side": "debit", "amount": "2"},
	                                              {"account": "b", "side": "credit", "amount": 2}]}]';
	proof jsonb := tpwallet.prove_entry((SELECT min(id) FROM tpwallet.journal));
	doc jsonb; st text; msg text; before text;
BEGIN
	SELECT format('%s/%s/%s', (SELECT count(*) FROM tpwallet.journal), (SELECT count(*) FROM tpwallet.postings),
	              (SELECT count(*) FROM tpwallet.idempotency)) INTO before;
	FOR i IN 1..1500 LOOP
		doc := pg_temp.mutate(batch);
		BEGIN
			PERFORM * FROM tpwallet.post_batch(doc);
			INSERT INTO outcomes VALUES ('post_batch', 'ok', NULL);
			RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'undo';   -- keep the ledger unchanged
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
			IF st <> 'P0001' THEN INSERT INTO outcomes VALUES ('post_batch', st, msg); END IF;
		END;
		doc := pg_temp.mutate(batch -> 1 -> 'postings');
		BEGIN
			PERFORM tpwallet.post_entry('ops', doc);
			RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'undo';
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
			INSERT INTO outcomes VALUES ('post_entry', CASE st WHEN 'P0001' THEN 'ok' ELSE st END, msg);
		END;
		doc := pg_temp.mutate(proof);
		BEGIN
			INSERT INTO outcomes VALUES ('verify_proof', CASE WHEN tpwallet.verify_proof(doc) THEN 'true' ELSE 'false' END, doc::text);
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
			INSERT INTO outcomes VALUES ('verify_proof', st, msg);
		END;
	END LOOP;
	-- subtle forgeries: one hex digit of one hash, or one integer off by one
	FOR i IN 1..300 LOOP
		DECLARE
			f text[] := string_to_array((ARRAY['entry_hash', 'block.merkle_root', 'block.prev_hash', 'block.block_hash',
			                   'entry_id', 'leaf_index', 'tree_size', 'block.height', 'block.block_id', 'block.first_entry',
			                   'block.seq_mark', 'block.xid_mark', 'block.sealed_at_us', 'block.floor_entry',
			                   'block.entry_count'])[1 + (i % 15)], '.');
			v jsonb := proof #> f;
			pos int := 1 + floor(random() * 64)::int;
			h text;
		BEGIN
			IF jsonb_typeof(v) = 'string' THEN
				h := v #>> '{}';
				h := overlay(h PLACING (CASE substr(h, pos, 1) WHEN 'a' THEN 'b' ELSE 'a' END) FROM pos FOR 1);
				doc := jsonb_set(proof, f, to_jsonb(h));
			ELSE
				doc := jsonb_set(proof, f, to_jsonb((v #>> '{}')::bigint + CASE WHEN random() < 0.5 THEN 1 ELSE -1 END));
			END IF;
			INSERT INTO outcomes VALUES ('forged_proof',
				CASE WHEN tpwallet.verify_proof(doc) THEN 'true' ELSE 'false' END, array_to_string(f, '.'));
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
			INSERT INTO outcomes VALUES ('forged_proof', st, msg);
		END;
	END LOOP;
	IF before <> format('%s/%s/%s', (SELECT count(*) FROM tpwallet.journal), (SELECT count(*) FROM tpwallet.postings),
	                    (SELECT count(*) FROM tpwallet.idempotency)) THEN
		RAISE EXCEPTION 'rejected calls changed the ledger';
	END IF;
END $$;
\o

SELECT cmp_ok((SELECT count(DISTINCT sqlstate) FROM outcomes WHERE fn = 'post_batch')::int, '>=', 4,
              'the mutations reach many different rejections');
SELECT is_empty($$SELECT DISTINCT fn, sqlstate, message FROM outcomes
                  WHERE sqlstate NOT IN ('ok', 'true', 'false', '22023', '22004', '22007', '22008',
                                         '42704', 'TW001', 'TW002', 'TW004', 'TW005', 'TW006')$$,
                'every rejection carries a documented SQLSTATE');
SELECT is_empty($$SELECT message FROM outcomes WHERE sqlstate = 'XX000' OR message ILIKE '%unexpected%'$$,
                'no internal errors');
-- only the human-readable sealed_at and unknown extra keys may change without effect
CREATE FUNCTION pg_temp.core(p jsonb) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_object('v', p -> 'version', 'e', p -> 'entry_id', 'h', p -> 'entry_hash', 'i', p -> 'leaf_index',
	                          'n', p -> 'tree_size', 'p', p -> 'path', 'b', (p -> 'block') - 'sealed_at')
$$;
SELECT is_empty($$SELECT message FROM outcomes WHERE fn = 'verify_proof' AND sqlstate = 'true'
                    AND pg_temp.core(message::jsonb) <> pg_temp.core(tpwallet.prove_entry((SELECT min(id) FROM tpwallet.journal)))$$,
                'no proof verifies once its cryptographic content is changed');
SELECT is((SELECT count(*) FILTER (WHERE sqlstate = 'false') FROM outcomes WHERE fn = 'forged_proof')::int, 300,
          'every subtle forgery (one hex digit, or one integer off by one) is rejected as false');
SELECT ok((SELECT bool_and(ok) FROM tpwallet.verify_ledger()), 'the ledger still verifies');
SELECT is_empty($$SELECT * FROM tpwallet.check_balances()$$, 'balances still agree with postings');
SELECT * FROM finish();
ROLLBACK;
