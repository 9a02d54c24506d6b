-- ===================================================================
-- Reconciliation test data with known truth (not part of the extension).
--
--   \i test/recon/generator.sql          -- in a database with tpwallet
--   SELECT * FROM recon_gen.generate(2000, 0.42, NULL, 'g');
--   SELECT tpwallet.reconcile('g:bank', 'g:ledger', window_from, window_to)
--     FROM recon_gen.sets WHERE prefix = 'g';
--   SELECT * FROM recon_gen.score(<run id>);
--
-- generate(n, seed, mix, prefix) makes n cases of the kinds in mix (about
-- n items per side), posts the ledger side through the ledger (post_batch,
-- reverse_entry, recon_sync_ledger) and imports the statement side through
-- import_statement (CSV, and camt.053 for reversal lines), and records in
-- recon_gen.truth_items what every item is and how a correct run treats
-- it ('matched', or the exception class), and in recon_gen.truth_pairs
-- the pairs of items a correct run puts in one match.  score(run) compares
-- a run with that truth.  Everything is a function of the seed (hashes,
-- not random()): the same call gives the same items, amounts and times.
-- generate_labelled(n, seed, prefix, label_noise) makes a set whose
-- exceptions are labelled problems or not (for the anomaly score);
-- labels(run) lists them.  The benchmark's million cases per side:
--   SELECT * FROM recon_gen.generate(1000000, 0.42,
--     '{"exact": 0.90, "fuzzy": 0.07, "split": 0.005, "merged": 0.005, "noise": 0.02}', 'bench');
-- docs/reconciliation.md, "Test data generator", is the manual.
--
-- Loading this file again replaces the functions and keeps the data.
-- ===================================================================

-- The tables, once (no notices when the file is loaded again).
DO $ddl$
BEGIN
	IF to_regnamespace('recon_gen') IS NULL THEN
		CREATE SCHEMA recon_gen;
	END IF;
	IF to_regclass('recon_gen.sets') IS NOT NULL THEN
		RETURN;
	END IF;
	-- One row per generated set.
	CREATE TABLE recon_gen.sets (
		set_id           int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		prefix           text NOT NULL UNIQUE,
		n                int NOT NULL,
		seed             float8 NOT NULL,
		mix              jsonb NOT NULL,        -- kinds (normalized shares) and options, as used
		ledger_source    text NOT NULL,
		statement_source text NOT NULL,
		window_from      timestamptz NOT NULL,  -- a run over [window_from, window_to) sees every item
		window_to        timestamptz NOT NULL,
		counts           jsonb,                 -- cases and items per kind
		timings          jsonb,                 -- seconds per step
		created_at       timestamptz NOT NULL DEFAULT clock_timestamp()
	);

	-- One row per generated item: what it is, and what a correct run does
	-- with it.  item_id is the recon_items row it became.
	CREATE TABLE recon_gen.truth_items (
		set_id       int NOT NULL,
		item_no      bigint NOT NULL,       -- case_id * 8 + slot
		case_id      int NOT NULL,
		kind         text NOT NULL,         -- the case's kind (exact, fuzzy, split, ...)
		side         text NOT NULL CHECK (side IN ('ledger', 'statement')),
		role         text NOT NULL,         -- main, part, reversal, duplicate, burst
		fmt          text NOT NULL,         -- transfer, reversal (ledger); csv, camt053 (statement)
		amount       numeric NOT NULL,
		occurred_at  timestamptz NOT NULL,
		txid         text,
		order_id     text,
		ext_id       text,
		counterparty text,
		is_reversal  boolean NOT NULL DEFAULT false,
		expected     text NOT NULL,         -- 'matched', or the exception class a correct run gives
		problem      boolean,               -- labelled sets: the exception's recorded label (with label noise)
		holdout      boolean,               -- labelled sets: in the held-out part
		item_id      bigint,
		entry_id     bigint,
		PRIMARY KEY (set_id, item_no)
	);
	CREATE INDEX truth_items_item ON recon_gen.truth_items (item_id);

	-- The true pairs, expanded the way score() expands a run's matches: a
	-- match with items on both sides gives every (ledger item, statement
	-- item) pair; a match on one side (a reversal) gives every pair of its
	-- items.  item_a < item_b.
	CREATE TABLE recon_gen.truth_pairs (
		set_id   int NOT NULL,
		case_id  int NOT NULL,
		"case"   text NOT NULL,
		item_a   bigint NOT NULL,
		item_b   bigint NOT NULL,
		side_a   text NOT NULL,
		side_b   text NOT NULL,
		entry_a  bigint,                    -- ledger items: the journal entry
		ext_a    text,                      -- statement items: the ext_id (NULL for duplicate lines)
		entry_b  bigint,
		ext_b    text,
		PRIMARY KEY (set_id, item_a, item_b)
	);
END
$ddl$;

-- The functions are replaced as a whole (a signature may have changed).
DO $fns$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid::regprocedure FROM pg_proc p WHERE p.pronamespace = 'recon_gen'::regnamespace LOOP
		EXECUTE format('DROP FUNCTION %s', f);
	END LOOP;
END
$fns$;

-- ---------------------------------------------------------------- randomness

-- A uniform number in [0, 1) from (seed, id, k): a hash, so the same
-- arguments give the same number in any order, any plan, any session.
CREATE FUNCTION recon_gen.u(seed bigint, id bigint, k int)
RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT (hashint8extended(id * 1000 + k, seed) & 4503599627370495)::float8 / 4503599627370496.0
$$;

-- A standard normal number (Box-Muller on two of the above).
CREATE FUNCTION recon_gen.z(seed bigint, id bigint, k int)
RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT sqrt(-2 * ln(greatest(recon_gen.u(seed, id, k), 1e-12))) * cos(2 * pi() * recon_gen.u(seed, id, k + 1))
$$;

-- ---------------------------------------------------------------- mix

CREATE FUNCTION recon_gen.kinds()
RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$
	SELECT ARRAY['exact', 'fuzzy', 'split', 'merged', 'fee', 'delayed', 'mismatch', 'reversed_ledger',
	             'reversed_statement', 'reversal_orphan', 'duplicate', 'missing_ledger', 'missing_statement', 'noise']
$$;

-- The mix with defaults: kinds as shares summing to 1, options filled in.
CREATE FUNCTION recon_gen.normalize_mix(mix jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
	defaults CONSTANT jsonb := '{"exact": 0.86, "fuzzy": 0.07, "split": 0.005, "merged": 0.005, "fee": 0.01,
	                             "delayed": 0.01, "mismatch": 0.005, "reversed_ledger": 0.005,
	                             "reversed_statement": 0.005, "reversal_orphan": 0.0025, "duplicate": 0.005,
	                             "missing_ledger": 0.005, "missing_statement": 0.005, "noise": 0.0075}';
	options CONSTANT jsonb := '{"order_share": 0.1, "labelled": false, "label_noise": 0.05, "holdout": 0.3,
	                            "span_days": null, "counterparties": null}';
	kinds jsonb := '{}';
	opts jsonb := options;
	total float8 := 0;
	k text;
	v jsonb;
BEGIN
	IF mix IS NOT NULL AND jsonb_typeof(mix) <> 'object' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'mix must be a JSON object',
			HINT = 'For example {"exact": 0.9, "fuzzy": 0.07, "split": 0.005, "merged": 0.005, "noise": 0.02}.';
	END IF;
	FOR k, v IN SELECT e.key, e.value FROM jsonb_each(coalesce(mix, '{}')) e LOOP
		IF k = ANY (recon_gen.kinds()) THEN
			IF jsonb_typeof(v) <> 'number' OR v::text::float8 < 0 THEN
				RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('mix: "%s" must be a number >= 0, not %s', k, v);
			END IF;
			kinds := kinds || jsonb_build_object(k, v);
		ELSIF options ? k THEN
			IF k = 'labelled' AND jsonb_typeof(v) <> 'boolean' THEN
				RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('mix: "labelled" must be true or false, not %s', v);
			ELSIF k <> 'labelled' AND jsonb_typeof(v) <> 'number' THEN
				RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('mix: "%s" must be a number, not %s', k, v);
			END IF;
			opts := opts || jsonb_build_object(k, v);
		ELSE
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('mix: unknown key "%s"', k),
				HINT = 'Kinds: ' || array_to_string(recon_gen.kinds(), ', ')
				       || '; options: order_share, labelled, label_noise, holdout, span_days, counterparties.';
		END IF;
	END LOOP;
	IF kinds = '{}' THEN
		kinds := defaults;
	END IF;
	SELECT sum(e.value::text::float8) INTO total FROM jsonb_each(kinds) e;
	IF total <= 0 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'mix: the shares of the kinds add up to 0';
	END IF;
	SELECT jsonb_object_agg(e.key, e.value::text::float8 / total) INTO kinds FROM jsonb_each(kinds) e;
	RETURN jsonb_build_object('kinds', kinds) || opts;
END
$$;

-- ---------------------------------------------------------------- amounts

-- A case's amount before its sign, for an attempt (the repair step draws
-- again with the next attempt): around the counterparty's typical amount
-- (log-normal, sigma 0.25); unusual ones 8 to 32 times larger or smaller;
-- at least min_abs (20 for split and merged cases, 10 for fee cases: the
-- fee stays within the fee tolerance; 1 otherwise).
CREATE FUNCTION recon_gen._base_amount(s bigint, case_id int, attempt int, mu float8, unusual boolean, min_abs numeric)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT greatest(min_abs, round((exp(mu + 0.25 * recon_gen.z(s, case_id, 100 + 4 * attempt))
	                                * CASE WHEN NOT unusual THEN 1
	                                       WHEN recon_gen.u(s, case_id, 102 + 4 * attempt) < 0.5
	                                       THEN exp(ln(8) + ln(4) * recon_gen.u(s, case_id, 103 + 4 * attempt))
	                                       ELSE 1 / exp(ln(8) + ln(4) * recon_gen.u(s, case_id, 103 + 4 * attempt)) END
	                               )::numeric, 2))
$$;

-- Round amounts: a multiple of 100 at or up to 3 steps above the amount
-- (from 3000 on, half of them a multiple of 1000); u (in [0, 1)) picks.
CREATE FUNCTION recon_gen._round_amount(a numeric, round_amount boolean, u float8)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN NOT round_amount THEN a
	            WHEN a >= 3000 AND u < 0.5 THEN 1000 * (round(a / 1000) + floor(6 * u)::int)
	            ELSE 100 * (greatest(1, round(a / 100)) + floor(3 * u)::int) END
$$;

-- The log of a case's typical amount: its counterparty's; split and merged
-- cases are batches, 20 times larger (so that their parts are not crowded
-- among the small amounts, where equal amounts are common).
CREATE FUNCTION recon_gen._case_mu(mu float8, kind text)
RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT mu + CASE WHEN kind IN ('split', 'merged') THEN ln(20) ELSE 0 END
$$;

CREATE FUNCTION recon_gen._min_amount(kind text)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN kind IN ('split', 'merged') THEN 20 WHEN kind = 'fee' THEN 10 ELSE 1 END::numeric
$$;

-- The repair step: the cases in _gen_redo get their next attempt's amount.
CREATE FUNCTION recon_gen._redraw_amounts(s bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	UPDATE _gen_cases c SET attempt = c.attempt + 1 WHERE c.case_id IN (SELECT rd.case_id FROM _gen_redo rd);
	UPDATE _gen_cases c SET a = c.sgn * recon_gen._round_amount(x.b, c.sig_round, recon_gen.u(s, c.case_id, 104 + 4 * c.attempt))
	  FROM (SELECT c2.case_id, recon_gen._base_amount(s, c2.case_id, c2.attempt, recon_gen._case_mu(c2.mu, c2.kind), c2.sig_unusual,
	                                                  recon_gen._min_amount(c2.kind)) AS b
	          FROM _gen_cases c2 WHERE c2.case_id IN (SELECT rd.case_id FROM _gen_redo rd)) x
	 WHERE x.case_id = c.case_id;
END
$$;

-- ---------------------------------------------------------------- items

-- The items of the cases in _gen_redo (rows of _gen_cases), into
-- _gen_items.  A case's items are a function of the case row alone.
CREATE FUNCTION recon_gen._make_items(s bigint, prefix text)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
	n bigint;
BEGIN
	WITH c AS (
		SELECT c.*, prefix || '-T' || c.case_id AS tx, prefix || '-O' || c.case_id AS ord,
		       'invoice ' || c.case_id AS memo
		  FROM _gen_cases c JOIN _gen_redo rd USING (case_id)),
	-- the parts of split and merged cases: shares 0.5 to 1.5, the last part takes the rounding
	p1 AS (SELECT c.case_id, g.i, c.k, c.a, 0.5 + recon_gen.u(s, c.case_id, 30 + g.i) AS w
	         FROM c CROSS JOIN LATERAL generate_series(1, c.k) g (i) WHERE c.kind IN ('split', 'merged')),
	p2 AS (SELECT p1.*, CASE WHEN p1.i < p1.k THEN round(p1.a * (p1.w / sum(p1.w) OVER (PARTITION BY p1.case_id))::numeric, 2) END AS part
	         FROM p1),
	parts AS (SELECT p2.case_id, p2.i, coalesce(p2.part, p2.a - sum(p2.part) OVER (PARTITION BY p2.case_id)) AS amount,
	                 make_interval(secs => (p2.i - 1) * (30 + floor(270 * recon_gen.u(s, p2.case_id, 40 + p2.i)))) AS offs
	            FROM p2),
	it AS (
		-- the ledger's main posting
		SELECT c.case_id, c.case_id::bigint * 8 AS item_no, c.kind, 'ledger' AS side,
		       CASE WHEN c.burst_of IS NOT NULL THEN 'burst' ELSE 'main' END AS role, 'transfer' AS fmt,
		       c.a AS amount, c.t AS occurred_at,
		       CASE WHEN c.kind = 'noise' THEN NULL ELSE c.tx END AS txid,
		       CASE WHEN c.kind = 'noise' THEN NULL WHEN c.by_order THEN c.ord ELSE c.tx END AS order_id,
		       NULL::text AS ext_id, c.cp AS counterparty, c.memo, false AS is_reversal,
		       CASE c.kind WHEN 'fee' THEN 'fee_difference' WHEN 'delayed' THEN 'timing'
		                   WHEN 'mismatch' THEN 'amount_mismatch' WHEN 'missing_statement' THEN 'missing_in_statement'
		                   WHEN 'noise' THEN 'missing_in_statement' ELSE 'matched' END AS expected
		  FROM c
		 WHERE c.kind IN ('exact', 'fuzzy', 'fee', 'delayed', 'mismatch', 'reversed_ledger', 'duplicate',
		                  'missing_statement', 'merged')
		    OR (c.kind = 'noise' AND c.noise_side = 'ledger')
		UNION ALL
		-- its reversal (reverse_entry books it now)
		SELECT c.case_id, c.case_id::bigint * 8 + 1, c.kind, 'ledger', 'reversal', 'reversal', -c.a, now(), c.tx, c.tx,
		       NULL, NULL, NULL, true, 'matched'
		  FROM c WHERE c.kind = 'reversed_ledger'
		UNION ALL
		-- the postings of a split case (one statement line pays for them all)
		SELECT c.case_id, c.case_id::bigint * 8 + (p.i - 1), c.kind, 'ledger', 'part', 'transfer', p.amount, c.t + p.offs,
		       c.tx || '-' || p.i, c.tx || '-' || p.i, NULL, c.cp, c.memo, false, 'matched'
		  FROM c JOIN parts p ON p.case_id = c.case_id WHERE c.kind = 'split'
		UNION ALL
		-- the statement's main line
		SELECT c.case_id, c.case_id::bigint * 8 + 4, c.kind, 'statement',
		       CASE WHEN c.burst_of IS NOT NULL THEN 'burst' ELSE 'main' END,
		       CASE WHEN c.kind IN ('reversed_statement', 'reversal_orphan') THEN 'camt053' ELSE 'csv' END,
		       CASE c.kind WHEN 'fee' THEN c.a - greatest(0.01, round((abs(c.a) * (0.001 + 0.003 * recon_gen.u(s, c.case_id, 50)))::numeric, 2))
		                   WHEN 'mismatch' THEN round(c.a * (1 + CASE WHEN recon_gen.u(s, c.case_id, 51) < 0.5 THEN -1 ELSE 1 END
		                                                          * (0.03 + 0.27 * recon_gen.u(s, c.case_id, 52)))::numeric, 2)
		                   ELSE c.a END,
		       c.t + make_interval(secs => CASE c.kind
		                 WHEN 'fuzzy' THEN (CASE WHEN recon_gen.u(s, c.case_id, 53) < 0.5 THEN -1 ELSE 1 END)
		                                   * (300 + floor(2700 * recon_gen.u(s, c.case_id, 54)))
		                 WHEN 'delayed' THEN 7200 + floor(259200 * recon_gen.u(s, c.case_id, 54))
		                 WHEN 'missing_ledger' THEN 0 WHEN 'noise' THEN 0 WHEN 'reversed_statement' THEN 0 WHEN 'reversal_orphan' THEN 0
		                 ELSE floor(600 * recon_gen.u(s, c.case_id, 54)) - 300 END),
		       CASE WHEN c.kind IN ('fee', 'delayed', 'mismatch', 'duplicate') OR (c.kind = 'exact' AND NOT c.by_order) THEN c.tx
		            WHEN c.kind = 'missing_ledger' AND recon_gen.u(s, c.case_id, 55) < 0.5 THEN prefix || '-M' || c.case_id END,
		       CASE WHEN c.kind = 'exact' AND c.by_order THEN c.ord END,
		       CASE WHEN c.kind = 'duplicate' THEN NULL ELSE prefix || '-S' || (c.case_id::bigint * 8 + 4) END,
		       c.cp, c.memo, c.kind = 'reversal_orphan',
		       CASE c.kind WHEN 'fee' THEN 'fee_difference' WHEN 'delayed' THEN 'timing' WHEN 'mismatch' THEN 'amount_mismatch'
		                   WHEN 'missing_ledger' THEN 'missing_in_ledger' WHEN 'noise' THEN 'missing_in_ledger'
		                   WHEN 'reversal_orphan' THEN 'reversal' ELSE 'matched' END
		  FROM c
		 WHERE c.kind IN ('exact', 'fuzzy', 'fee', 'delayed', 'mismatch', 'duplicate', 'missing_ledger', 'split',
		                  'reversed_statement', 'reversal_orphan')
		    OR (c.kind = 'noise' AND c.noise_side = 'statement')
		UNION ALL
		-- a duplicated line: the same content again (no ext_id, so the import keeps both)
		SELECT c.case_id, c.case_id::bigint * 8 + 5, c.kind, 'statement', 'duplicate', 'csv', c.a,
		       c.t + make_interval(secs => floor(600 * recon_gen.u(s, c.case_id, 54)) - 300),
		       c.tx, NULL, NULL, c.cp, c.memo, false, 'duplicate'
		  FROM c WHERE c.kind = 'duplicate'
		UNION ALL
		-- the bank's reversal of a line (camt.053 RvslInd)
		SELECT c.case_id, c.case_id::bigint * 8 + 5, c.kind, 'statement', 'reversal', 'camt053', -c.a,
		       c.t + make_interval(secs => 3600 + floor(169200 * recon_gen.u(s, c.case_id, 56))),
		       NULL, NULL, prefix || '-S' || (c.case_id::bigint * 8 + 5), c.cp, c.memo, true, 'matched'
		  FROM c WHERE c.kind = 'reversed_statement'
		UNION ALL
		-- the lines of a merged case (one posting covers them all)
		SELECT c.case_id, c.case_id::bigint * 8 + 4 + (p.i - 1), c.kind, 'statement', 'part', 'csv', p.amount,
		       c.t + make_interval(secs => floor(600 * recon_gen.u(s, c.case_id, 54)) - 300) + p.offs,
		       NULL, NULL, prefix || '-S' || (c.case_id::bigint * 8 + 4 + (p.i - 1)), c.cp, c.memo, false, 'matched'
		  FROM c JOIN parts p ON p.case_id = c.case_id WHERE c.kind = 'merged')
	INSERT INTO _gen_items (case_id, item_no, kind, side, role, fmt, amount, occurred_at, txid, order_id, ext_id,
	                        counterparty, memo, is_reversal, expected, problem, holdout)
	SELECT it.case_id, it.item_no, it.kind, it.side, it.role, it.fmt, it.amount,
	       CASE WHEN it.fmt = 'reversal' THEN it.occurred_at ELSE date_trunc('second', it.occurred_at) END,
	       it.txid, it.order_id, it.ext_id, it.counterparty, it.memo,
	       it.is_reversal, it.expected,
	       CASE WHEN it.expected <> 'matched' THEN c.label END, CASE WHEN it.expected <> 'matched' THEN c.holdout END
	  FROM it JOIN c ON c.case_id = it.case_id;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

-- Items a run could confuse with each other, across cases, returned as
-- the later case of every such pair (with redo: only pairs with an item
-- of the cases in _gen_redo, and those cases):
--   * the same absolute amount less than 3 hours apart (a fuzzy partner);
--   * the same absolute amount anywhere, both left over after the fuzzy
--     pass, on different sides or one of them a reversal (a timing
--     counterpart, a reversal partner) -- except round amounts (multiples
--     of 100, which labelled sets use as a signal): there are too few of
--     them to keep apart, so two round leftovers on opposite sides may be
--     classed 'timing' by a run;
--   * amounts within 0.6 % (+ 0.01) less than 3 hours apart, both left
--     over (a fee_difference counterpart).
-- Exact and duplicate cases are matched by their keys first, fuzzy cases
-- by the fuzzy pass: only the first rule concerns fuzzy cases.
CREATE FUNCTION recon_gen._conflicts(redo boolean DEFAULT false)
RETURNS int[]
LANGUAGE plpgsql
AS $$
BEGIN
	RETURN (
		SELECT coalesce(array_agg(DISTINCT x.c), '{}') FROM (
			SELECT CASE WHEN NOT redo THEN greatest(p1.case_id, p2.case_id) ELSE p1.case_id END AS c
			  FROM _gen_items p1 JOIN _gen_items p2 ON abs(p2.amount) = abs(p1.amount) AND p2.case_id <> p1.case_id
			   AND (p2.side <> p1.side OR p1.is_reversal OR p2.is_reversal) AND abs(p1.amount) % 100 <> 0
			 WHERE p1.kind NOT IN ('exact', 'duplicate', 'fuzzy') AND p2.kind NOT IN ('exact', 'duplicate', 'fuzzy')
			   AND (NOT redo OR p1.case_id IN (SELECT rd.case_id FROM _gen_redo rd))
			UNION ALL
			SELECT CASE WHEN NOT redo THEN greatest(p1.case_id, p2.case_id) ELSE p1.case_id END
			  FROM _gen_items p1 JOIN _gen_items p2
			    ON p2.occurred_at BETWEEN p1.occurred_at - interval '3 hours' AND p1.occurred_at + interval '3 hours'
			   AND p2.case_id <> p1.case_id
			   AND (abs(p2.amount) = abs(p1.amount)
			        OR (abs(abs(p2.amount) - abs(p1.amount)) <= 0.006 * greatest(abs(p1.amount), abs(p2.amount)) + 0.01
			            AND p1.kind <> 'fuzzy' AND p2.kind <> 'fuzzy'))
			 WHERE p1.kind NOT IN ('exact', 'duplicate') AND p2.kind NOT IN ('exact', 'duplicate')
			   AND (NOT redo OR p1.case_id IN (SELECT rd.case_id FROM _gen_redo rd))) x);
END
$$;

-- The items the newest import of a statement source made from the file
-- of chunk ch: its lines in order (CSV: line 1 is the header; camt.053: an
-- entry's number), one item each, in the order of their places (pos).
CREATE FUNCTION recon_gen._map_import(source_id int, fmt text, ch int)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	imp bigint;
	ids bigint[];
	want int;
BEGIN
	SELECT max(x.import_id) INTO imp FROM tpwallet.recon_imports x WHERE x.source_id = _map_import.source_id;
	SELECT array_agg(i.item_id ORDER BY i.line) INTO ids FROM tpwallet.recon_items i WHERE i.import_id = imp;
	SELECT count(*) INTO want FROM _gen_order o WHERE o.fmt = _map_import.fmt AND o.chunk = ch;
	IF coalesce(cardinality(ids), 0) <> want THEN
		RAISE EXCEPTION USING ERRCODE = 'XX000',
			MESSAGE = format('import %s made %s items of %s lines', imp, coalesce(cardinality(ids), 0), want);
	END IF;
	INSERT INTO _gen_ids (item_no, item_id)
	SELECT o.item_no, ids[o.pos] FROM _gen_order o WHERE o.fmt = _map_import.fmt AND o.chunk = ch;
END
$$;

-- Statistics for the planner on the tables a set and its runs fill: rows
-- written in the current transaction are invisible to autovacuum, and a
-- table last analyzed when it was empty (after rolled-back tests) would be
-- planned as empty.  Only the tables' owner or a superuser may analyze
-- them; for anyone else this does nothing.
CREATE FUNCTION recon_gen.analyze()
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	t regclass;
BEGIN
	IF NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
		RETURN;
	END IF;
	FOR t IN SELECT c.oid::regclass FROM pg_class c
	          WHERE c.relnamespace = 'tpwallet'::regnamespace AND c.relkind = 'r'
	            AND c.relname IN ('journal', 'postings', 'recon_imports', 'recon_items', 'recon_runs',
	                              'recon_matches', 'recon_match_items', 'recon_match_members', 'recon_exceptions')
	          ORDER BY c.relname LOOP
		EXECUTE format('ANALYZE %s', t);
	END LOOP;
END
$$;

-- ---------------------------------------------------------------- generate

CREATE FUNCTION recon_gen.generate(n int, seed double precision DEFAULT 0.42, mix jsonb DEFAULT NULL,
                                   prefix text DEFAULT 'g')
RETURNS TABLE (set_id int, ledger_source text, statement_source text, window_from timestamptz, window_to timestamptz,
               ledger_items bigint, statement_items bigint, counts jsonb, timings jsonb)
LANGUAGE plpgsql
AS $$
DECLARE
	m jsonb := recon_gen.normalize_mix(mix);
	s bigint := ('x' || left(md5('recon_gen:' || seed::text), 15))::bit(60)::bigint;
	base CONSTANT timestamptz := '2024-01-01 00:00:00+00';
	labelled boolean := (m ->> 'labelled')::boolean;
	label_noise float8 := (m ->> 'label_noise')::float8;
	holdout_share float8 := (m ->> 'holdout')::float8;
	order_share float8 := (m ->> 'order_share')::float8;
	span int;
	pool int;
	sid int;
	bank text := prefix || ':bank:USD';
	clearing text := prefix || ':clearing:USD';
	lsrc text := prefix || ':ledger';
	ssrc text := prefix || ':bank';
	acct text := upper('XX00TPWGEN' || replace(replace(prefix, '-', ''), '_', ''));
	lsrc_id int;
	ssrc_id int;
	clk timestamptz := clock_timestamp();
	t0 timestamptz;
	tm jsonb := '{}';
	bad int[];
	tries int := 0;
	ch int;
	doc text;
	docj jsonb;
	r record;
	w_from timestamptz;
	w_to timestamptz;
	cnt jsonb;
	unmapped bigint;
	chunk_ledger CONSTANT int := 5000;
	chunk_csv CONSTANT int := 50000;
	chunk_camt CONSTANT int := 2000;
BEGIN
	IF n IS NULL OR n < 1 OR n > 5000000 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('n must be between 1 and 5000000, not %s', n);
	END IF;
	IF prefix IS NULL OR prefix !~ '^[a-z0-9][a-z0-9_-]{0,20}$' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('invalid prefix %L', prefix),
			HINT = 'Use 1 to 21 lower-case letters, digits, "_" or "-": it names the accounts and sources.';
	END IF;
	IF EXISTS (SELECT 1 FROM recon_gen.sets x WHERE x.prefix = generate.prefix) THEN
		RAISE EXCEPTION USING ERRCODE = '42710', MESSAGE = format('a set with prefix "%s" exists', prefix),
			HINT = 'Each set has its own accounts and sources; use another prefix.';
	END IF;
	span := coalesce((m ->> 'span_days')::int, greatest(14, least(365, ceil(n / 1500.0)::int)));
	pool := coalesce((m ->> 'counterparties')::int, greatest(20, n / 40));

	-- the ledger's accounts and the two sources
	IF NOT EXISTS (SELECT 1 FROM tpwallet.assets a WHERE a.code = 'USD') THEN
		PERFORM tpwallet.create_asset('USD', 2, 'fiat');
	END IF;
	PERFORM tpwallet.create_account(bank, 'ops', 'USD', 'debit', true, '{"generated": true}');
	PERFORM tpwallet.create_account(clearing, 'ops', 'USD', 'credit', true, '{"generated": true}');
	lsrc_id := tpwallet.create_recon_source(lsrc, 'ledger', jsonb_build_object('book', 'ops', 'accounts', jsonb_build_array(bank)));
	ssrc_id := tpwallet.create_recon_source(ssrc, 'statement', jsonb_build_object('asset', 'USD', 'account', acct));

	-- Work tables, each written once (temporary tables are not vacuumed:
	-- an UPDATE of every row would double them).
	IF to_regclass('pg_temp._gen_cases') IS NOT NULL THEN
		DROP TABLE pg_temp._gen_cases;
	END IF;
	IF to_regclass('pg_temp._gen_items') IS NOT NULL THEN
		DROP TABLE pg_temp._gen_items;
	END IF;
	IF to_regclass('pg_temp._gen_redo') IS NOT NULL THEN
		DROP TABLE pg_temp._gen_redo;
	END IF;
	IF to_regclass('pg_temp._gen_order') IS NOT NULL THEN
		DROP TABLE pg_temp._gen_order;
	END IF;
	IF to_regclass('pg_temp._gen_map') IS NOT NULL THEN
		DROP TABLE pg_temp._gen_map;
	END IF;
	IF to_regclass('pg_temp._gen_ids') IS NOT NULL THEN
		DROP TABLE pg_temp._gen_ids;
	END IF;
	CREATE TEMP TABLE _gen_cases (
		case_id int PRIMARY KEY, kind text NOT NULL, cp text NOT NULL, mu float8 NOT NULL, sgn int NOT NULL, a numeric,
		t timestamptz NOT NULL, k int NOT NULL, by_order boolean NOT NULL, noise_side text NOT NULL,
		problem boolean, label boolean, holdout boolean,
		sig_new boolean NOT NULL, sig_unusual boolean NOT NULL, sig_night boolean NOT NULL, sig_round boolean NOT NULL,
		sig_weekend boolean NOT NULL, sig_burst boolean NOT NULL, burst_of int, attempt int NOT NULL DEFAULT 0);
	CREATE TEMP TABLE _gen_items (
		case_id int NOT NULL, item_no bigint PRIMARY KEY, kind text NOT NULL, side text NOT NULL, role text NOT NULL,
		fmt text NOT NULL, amount numeric NOT NULL, occurred_at timestamptz NOT NULL, txid text, order_id text,
		ext_id text, counterparty text, memo text, is_reversal boolean NOT NULL, expected text NOT NULL,
		problem boolean, holdout boolean);
	CREATE INDEX ON _gen_items (case_id);
	CREATE INDEX ON _gen_items (occurred_at) WHERE kind NOT IN ('exact', 'duplicate');
	CREATE INDEX ON _gen_items (abs(amount)) WHERE kind NOT IN ('exact', 'duplicate', 'fuzzy');
	CREATE TEMP TABLE _gen_redo (case_id int PRIMARY KEY);
	t0 := clock_timestamp();

	-- ---- the cases, in one statement
	WITH k AS (SELECT e.key AS kind, e.value::text::float8 * n AS want, array_position(recon_gen.kinds(), e.key) AS pos
	             FROM jsonb_each(m -> 'kinds') e),
	-- exact counts per kind: largest remainder
	f AS (SELECT k.*, floor(k.want)::int AS base_n, k.want - floor(k.want) AS frac FROM k),
	g AS (SELECT f.kind, f.pos, f.base_n + CASE WHEN row_number() OVER (ORDER BY f.frac DESC, f.pos)
	                                             <= n - sum(f.base_n) OVER () THEN 1 ELSE 0 END AS cnt FROM f),
	cum AS (SELECT g.kind, sum(g.cnt) OVER (ORDER BY g.pos) - g.cnt AS lo, sum(g.cnt) OVER (ORDER BY g.pos) AS hi FROM g),
	ranked AS (SELECT x AS case_id, row_number() OVER (ORDER BY recon_gen.u(s, x, 0), x) AS r FROM generate_series(1, n) x),
	c0 AS (SELECT ranked.case_id, cum.kind FROM ranked JOIN cum ON ranked.r > cum.lo AND ranked.r <= cum.hi),
	-- labelled sets: which exceptions are problems
	c1 AS (SELECT c0.*,
	              CASE WHEN labelled AND c0.kind IN ('fee', 'delayed', 'mismatch', 'missing_ledger', 'missing_statement',
	                                                 'noise', 'duplicate', 'reversal_orphan')
	                   THEN recon_gen.u(s, c0.case_id, 3) < CASE c0.kind WHEN 'fee' THEN 0.08 WHEN 'delayed' THEN 0.08
	                        WHEN 'mismatch' THEN 0.5 WHEN 'missing_ledger' THEN 0.5 WHEN 'missing_statement' THEN 0.45
	                        WHEN 'noise' THEN 0.5 WHEN 'duplicate' THEN 0.3 ELSE 0.3 END END AS problem,
	              1 + floor(pool * recon_gen.u(s, c0.case_id, 1))::int AS cpk
	         FROM c0),
	-- their signals (problems mostly, other exceptions rarely), the recorded
	-- label (flipped with label_noise) and the held-out part
	c2 AS (SELECT c1.*,
	              (c1.problem IS NOT NULL AND recon_gen.u(s, c1.case_id, 60) < CASE WHEN c1.problem THEN 0.40 ELSE 0.04 END) AS sig_new,
	              (c1.problem IS NOT NULL AND recon_gen.u(s, c1.case_id, 61) < CASE WHEN c1.problem THEN 0.45 ELSE 0.05 END) AS sig_unusual,
	              (c1.problem IS NOT NULL AND recon_gen.u(s, c1.case_id, 62) < CASE WHEN c1.problem THEN 0.40 ELSE 0.04 END) AS sig_night,
	              (c1.problem IS NOT NULL AND recon_gen.u(s, c1.case_id, 63) < CASE WHEN c1.problem THEN 0.35 ELSE 0.04 END) AS sig_round,
	              (c1.problem IS NOT NULL AND recon_gen.u(s, c1.case_id, 64) < CASE WHEN c1.problem THEN 0.30 ELSE 0.05 END) AS sig_weekend,
	              (c1.problem IS NOT NULL AND recon_gen.u(s, c1.case_id, 65) < CASE WHEN c1.problem THEN 0.30 ELSE 0.03 END) AS sig_burst,
	              c1.problem <> (recon_gen.u(s, c1.case_id, 66) < label_noise) AS label,
	              CASE WHEN c1.problem IS NOT NULL THEN recon_gen.u(s, c1.case_id, 67) < holdout_share END AS holdout
	         FROM c1),
	-- counterparties: a pool of regulars with a typical amount (50 to
	-- 50,000) and a usual direction (70 % pay in, 30 % are paid), kept 90 %
	-- of the time; a new counterparty is seen once
	c3 AS (SELECT c2.*,
	              CASE WHEN c2.sig_new THEN 'N' || lpad(c2.case_id::text, 7, '0') ELSE 'C' || lpad(c2.cpk::text, 6, '0') END AS cp,
	              CASE WHEN c2.sig_new THEN ln(50) + ln(1000) * recon_gen.u(s, c2.case_id, 26)
	                   ELSE ln(50) + ln(1000) * recon_gen.u(s, -c2.cpk, 500) END AS mu,
	              CASE WHEN (CASE WHEN c2.sig_new THEN recon_gen.u(s, c2.case_id, 27) ELSE recon_gen.u(s, -c2.cpk, 501) END < 0.7)
	                        = (recon_gen.u(s, c2.case_id, 2) < 0.9) THEN 1 ELSE -1 END AS sgn,
	              2 + floor(3 * recon_gen.u(s, c2.case_id, 6))::int AS k,
	              c2.kind = 'exact' AND recon_gen.u(s, c2.case_id, 7) < order_share AS by_order,
	              CASE WHEN recon_gen.u(s, c2.case_id, 8) < 0.5 THEN 'ledger' ELSE 'statement' END AS noise_side,
	              -- the day: labelled exceptions in the last 30 % of the span
	              -- (their counterparties have a history by then)
	              (base AT TIME ZONE 'UTC')::date
	              + floor(span * CASE WHEN c2.problem IS NOT NULL THEN 0.7 + 0.3 * recon_gen.u(s, c2.case_id, 20)
	                                  ELSE recon_gen.u(s, c2.case_id, 20) END)::int AS d0
	         FROM c2),
	-- times: business hours on weekdays mostly (85 % of the weekend's
	-- bookings move to a day of that week)
	c4 AS (SELECT c3.*,
	              (CASE WHEN c3.sig_weekend
	                    THEN c3.d0 + (6 - extract(isodow FROM c3.d0)::int) + (recon_gen.u(s, c3.case_id, 23) < 0.5)::int
	                    WHEN extract(isodow FROM c3.d0) >= 6 AND recon_gen.u(s, c3.case_id, 21) < 0.85
	                    THEN c3.d0 - (extract(isodow FROM c3.d0)::int - 1) + floor(5 * recon_gen.u(s, c3.case_id, 23))::int
	                    ELSE c3.d0 END::timestamp AT TIME ZONE 'UTC')
	              + make_interval(hours => CASE WHEN c3.sig_night THEN floor(5 * recon_gen.u(s, c3.case_id, 22))::int
	                                            WHEN recon_gen.u(s, c3.case_id, 24) < 0.9
	                                            THEN 8 + floor(10 * recon_gen.u(s, c3.case_id, 22))::int
	                                            ELSE floor(24 * recon_gen.u(s, c3.case_id, 22))::int END,
	                              secs => floor(3600 * recon_gen.u(s, c3.case_id, 25))) AS t
	         FROM c3),
	-- bursts: 3 to 5 ordinary payments of the same counterparty in the hour before
	allc AS (
		SELECT c4.case_id, c4.kind, c4.cp, c4.mu, c4.sgn, c4.t, c4.k, c4.by_order, c4.noise_side, c4.problem, c4.label,
		       c4.holdout, c4.sig_new, c4.sig_unusual, c4.sig_night, c4.sig_round, c4.sig_weekend, c4.sig_burst,
		       NULL::int AS burst_of
		  FROM c4
		UNION ALL
		SELECT (n + row_number() OVER (ORDER BY c4.case_id, b.i))::int, 'exact', c4.cp, c4.mu, c4.sgn,
		       c4.t - make_interval(secs => 120 + floor(3200 * recon_gen.u(s, c4.case_id, 70 + b.i))), 2, false, 'ledger',
		       NULL, NULL, NULL, false, false, false, false, false, false, c4.case_id
		  FROM c4 CROSS JOIN LATERAL generate_series(1, 3 + floor(3 * recon_gen.u(s, c4.case_id, 69))::int) b (i)
		 WHERE c4.sig_burst),
	withb AS (SELECT allc.*, recon_gen._base_amount(s, allc.case_id, 0, recon_gen._case_mu(allc.mu, allc.kind), allc.sig_unusual,
	                                                recon_gen._min_amount(allc.kind)) AS b
	            FROM allc)
	INSERT INTO _gen_cases (case_id, kind, cp, mu, sgn, a, t, k, by_order, noise_side, problem, label, holdout,
	                        sig_new, sig_unusual, sig_night, sig_round, sig_weekend, sig_burst, burst_of)
	SELECT w.case_id, w.kind, w.cp, w.mu, w.sgn, w.sgn * recon_gen._round_amount(w.b, w.sig_round, recon_gen.u(s, w.case_id, 104)),
	       w.t, w.k, w.by_order,
	       w.noise_side, w.problem, w.label, w.holdout, w.sig_new, w.sig_unusual, w.sig_night, w.sig_round,
	       w.sig_weekend, w.sig_burst, w.burst_of
	  FROM withb w;
	ANALYZE _gen_cases;
	INSERT INTO _gen_redo SELECT c.case_id FROM _gen_cases c;
	ANALYZE _gen_redo;
	PERFORM recon_gen._make_items(s, prefix);
	ANALYZE _gen_items;
	tm := tm || jsonb_build_object('cases', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 2));

	-- ---- repair: draw other amounts for cases a run could confuse
	t0 := clock_timestamp();
	LOOP
		bad := recon_gen._conflicts(tries > 0);
		EXIT WHEN cardinality(bad) = 0;
		tries := tries + 1;
		IF tries > 100 THEN
			RAISE EXCEPTION USING ERRCODE = '55000',
				MESSAGE = format('%s cases still have confusable amounts after 100 draws', cardinality(bad)),
				HINT = 'The mix is too dense for its span: give a larger "span_days".';
		END IF;
		TRUNCATE _gen_redo;
		INSERT INTO _gen_redo SELECT DISTINCT unnest(bad);
		ANALYZE _gen_redo;
		PERFORM recon_gen._redraw_amounts(s);
		DELETE FROM _gen_items i WHERE i.case_id IN (SELECT rd.case_id FROM _gen_redo rd);
		PERFORM recon_gen._make_items(s, prefix);
	END LOOP;
	tm := tm || jsonb_build_object('repair', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 2), 'repair_rounds', tries);

	-- ---- where every item goes: its batch or file (chunk) and its place
	-- there (pos) -- in booking-time order; a case's CSV lines all go into
	-- the file of its first line (two identical lines are two items only
	-- within one file)
	CREATE TEMP TABLE _gen_order AS
	WITH o AS (SELECT i.item_no, i.case_id, i.fmt,
	                  row_number() OVER (PARTITION BY i.fmt ORDER BY i.occurred_at, i.item_no) AS seq
	             FROM _gen_items i WHERE i.fmt <> 'reversal'),
	c AS (SELECT o.*, CASE o.fmt WHEN 'transfer' THEN (o.seq - 1) / chunk_ledger
	                             WHEN 'camt053' THEN (o.seq - 1) / chunk_camt
	                             ELSE (min(o.seq) OVER (PARTITION BY o.case_id, o.fmt) - 1) / chunk_csv END AS chunk
	        FROM o)
	SELECT c.item_no, c.fmt, c.chunk::int AS chunk, row_number() OVER (PARTITION BY c.fmt, c.chunk ORDER BY c.seq)::int AS pos
	  FROM c;
	CREATE INDEX ON _gen_order (fmt, chunk);
	ANALYZE _gen_order;
	-- what each item became: a journal entry (ledger), and an item
	CREATE TEMP TABLE _gen_map (item_no bigint PRIMARY KEY, entry_id bigint NOT NULL);
	CREATE INDEX ON _gen_map (entry_id);
	CREATE TEMP TABLE _gen_ids (item_no bigint PRIMARY KEY, item_id bigint NOT NULL);

	-- ---- the ledger: post_batch in chunks, then the reversals, then the sync
	t0 := clock_timestamp();
	FOR ch IN SELECT DISTINCT o.chunk FROM _gen_order o WHERE o.fmt = 'transfer' ORDER BY 1 LOOP
		SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
		           'debit_account', CASE WHEN i.amount > 0 THEN bank ELSE clearing END,
		           'credit_account', CASE WHEN i.amount > 0 THEN clearing ELSE bank END,
		           'amount', abs(i.amount)::text,
		           'reference', i.txid,
		           'occurred_at', to_char(i.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		           'metadata', jsonb_strip_nulls(jsonb_build_object(
		               'counterparty', i.counterparty, 'memo', i.memo,
		               'order_id', CASE WHEN i.order_id IS DISTINCT FROM i.txid THEN i.order_id END))))
		         ORDER BY o.pos)
		  INTO docj
		  FROM _gen_order o JOIN _gen_items i USING (item_no) WHERE o.fmt = 'transfer' AND o.chunk = ch;
		INSERT INTO _gen_map (item_no, entry_id)
		SELECT o.item_no, p.e
		  FROM tpwallet.post_batch(docj) WITH ORDINALITY AS p (e, k)
		  JOIN _gen_order o ON o.fmt = 'transfer' AND o.chunk = ch AND o.pos = p.k;
	END LOOP;
	-- a reversal reverses the case's posting (the item before it)
	FOR r IN SELECT i.item_no, m.entry_id FROM _gen_items i JOIN _gen_map m ON m.item_no = i.item_no - 1
	          WHERE i.fmt = 'reversal' ORDER BY i.item_no LOOP
		INSERT INTO _gen_map (item_no, entry_id)
		VALUES (r.item_no, tpwallet.reverse_entry(r.entry_id, 'generated: the payment was cancelled'));
	END LOOP;
	tm := tm || jsonb_build_object('post', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 2));
	t0 := clock_timestamp();
	PERFORM tpwallet.recon_sync_ledger(lsrc);
	ANALYZE _gen_map;
	INSERT INTO _gen_ids (item_no, item_id)
	SELECT m.item_no, i.item_id FROM _gen_map m JOIN tpwallet.recon_items i ON i.entry_id = m.entry_id AND i.source_id = lsrc_id;
	tm := tm || jsonb_build_object('sync', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 2));

	-- ---- the statement: CSV files, and camt.053 for the reversal lines
	t0 := clock_timestamp();
	FOR ch IN SELECT DISTINCT o.chunk FROM _gen_order o WHERE o.fmt = 'csv' ORDER BY 1 LOOP
		SELECT 'ext_id,txid,order_id,amount,occurred_at,counterparty,memo' || E'\n'
		       || string_agg(concat_ws(',', coalesce(i.ext_id, ''), coalesce(i.txid, ''), coalesce(i.order_id, ''), i.amount::text,
		                               to_char(i.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		                               coalesce(i.counterparty, ''), coalesce(i.memo, '')), E'\n' ORDER BY o.pos)
		  INTO doc
		  FROM _gen_order o JOIN _gen_items i USING (item_no) WHERE o.fmt = 'csv' AND o.chunk = ch;
		PERFORM tpwallet.import_statement(ssrc, doc, 'csv', NULL);
		PERFORM recon_gen._map_import(ssrc_id, 'csv', ch);
	END LOOP;
	FOR ch IN SELECT DISTINCT o.chunk FROM _gen_order o WHERE o.fmt = 'camt053' ORDER BY 1 LOOP
		SELECT format('<?xml version="1.0" encoding="UTF-8"?>'
		              '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
		              '<GrpHdr><MsgId>%s-%s</MsgId><CreDtTm>%s</CreDtTm></GrpHdr>'
		              '<Stmt><Id>%s-%s</Id><Acct><Id><Othr><Id>%s</Id></Othr></Id><Ccy>USD</Ccy></Acct>'
		              '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
		              '<Dt><Dt>%s</Dt></Dt></Bal>'
		              '<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">%s</Amt><CdtDbtInd>%s</CdtDbtInd>'
		              '<Dt><Dt>%s</Dt></Dt></Bal>%s</Stmt></BkToCstmrStmt></Document>',
		              prefix, ch + 1, to_char(base AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), prefix, ch + 1, acct,
		              to_char(min(i.occurred_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD'), abs(sum(i.amount)),
		              CASE WHEN sum(i.amount) < 0 THEN 'DBIT' ELSE 'CRDT' END,
		              to_char(max(i.occurred_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
		              string_agg(format('<Ntry><Amt Ccy="USD">%s</Amt><CdtDbtInd>%s</CdtDbtInd>%s<Sts>BOOK</Sts>'
		                                '<BookgDt><DtTm>%s</DtTm></BookgDt><AcctSvcrRef>%s</AcctSvcrRef>'
		                                '<NtryDtls><TxDtls><Refs><AcctSvcrRef>%s</AcctSvcrRef></Refs>'
		                                '<RltdPties><%s><Nm>%s</Nm></%s></RltdPties><RmtInf><Ustrd>%s</Ustrd></RmtInf>'
		                                '</TxDtls></NtryDtls></Ntry>',
		                                abs(i.amount), CASE WHEN i.amount < 0 THEN 'DBIT' ELSE 'CRDT' END,
		                                CASE WHEN i.is_reversal THEN '<RvslInd>true</RvslInd>' ELSE '' END,
		                                to_char(i.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		                                i.ext_id, i.ext_id,
		                                CASE WHEN i.amount < 0 THEN 'Cdtr' ELSE 'Dbtr' END, i.counterparty,
		                                CASE WHEN i.amount < 0 THEN 'Cdtr' ELSE 'Dbtr' END, i.memo),
		                         '' ORDER BY o.pos))
		  INTO doc
		  FROM _gen_order o JOIN _gen_items i USING (item_no) WHERE o.fmt = 'camt053' AND o.chunk = ch;
		PERFORM tpwallet.import_statement(ssrc, doc, 'camt053', NULL);
		PERFORM recon_gen._map_import(ssrc_id, 'camt053', ch);
	END LOOP;
	tm := tm || jsonb_build_object('import', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 2));

	-- ---- the truth
	t0 := clock_timestamp();
	ANALYZE _gen_ids;
	SELECT jsonb_object_agg(x.kind, jsonb_build_object('cases', x.cases, 'ledger_items', x.li, 'statement_items', x.si))
	  INTO cnt
	  FROM (SELECT c.kind, count(*) AS cases, sum(i.li) AS li, sum(i.si) AS si
	          FROM _gen_cases c
	          LEFT JOIN (SELECT i.case_id, count(*) FILTER (WHERE i.side = 'ledger') AS li,
	                            count(*) FILTER (WHERE i.side = 'statement') AS si
	                       FROM _gen_items i GROUP BY i.case_id) i ON i.case_id = c.case_id
	         GROUP BY c.kind) x;
	INSERT INTO recon_gen.sets (prefix, n, seed, mix, ledger_source, statement_source, window_from, window_to, counts)
	VALUES (prefix, n, seed, m || jsonb_build_object('span_days', span, 'counterparties', pool), lsrc, ssrc,
	        '-infinity', 'infinity', cnt)
	RETURNING recon_gen.sets.set_id INTO sid;
	WITH j AS (
		SELECT i.*, m.entry_id, d.item_id
		  FROM _gen_items i
		  LEFT JOIN _gen_map m USING (item_no)
		  LEFT JOIN _gen_ids d USING (item_no)),
	-- of two identical lines the first (lower item id) is matched, the second is the duplicate
	e AS (SELECT j.*, CASE WHEN j.kind = 'duplicate' AND j.side = 'statement'
	                       THEN CASE WHEN j.item_id = min(j.item_id) OVER (PARTITION BY j.case_id, j.side)
	                                 THEN 'matched' ELSE 'duplicate' END
	                       ELSE j.expected END AS truth
	        FROM j)
	INSERT INTO recon_gen.truth_items (set_id, item_no, case_id, kind, side, role, fmt, amount, occurred_at, txid, order_id,
	                                   ext_id, counterparty, is_reversal, expected, problem, holdout, item_id, entry_id)
	SELECT sid, e.item_no, e.case_id, e.kind, e.side, e.role, e.fmt, e.amount, e.occurred_at, e.txid,
	       e.order_id, e.ext_id, e.counterparty, e.is_reversal, e.truth,
	       CASE WHEN e.truth <> 'matched' THEN e.problem END, CASE WHEN e.truth <> 'matched' THEN e.holdout END,
	       e.item_id, e.entry_id
	  FROM e;
	SELECT count(*) INTO unmapped FROM recon_gen.truth_items t WHERE t.set_id = sid AND t.item_id IS NULL;
	IF unmapped > 0 OR (SELECT count(*) FROM _gen_items) <> (SELECT count(*) FROM recon_gen.truth_items t WHERE t.set_id = sid) THEN
		RAISE EXCEPTION USING ERRCODE = 'XX000', MESSAGE = format('%s generated items did not become recon items', unmapped);
	END IF;
	ANALYZE recon_gen.truth_items;
	WITH m AS (SELECT t.case_id, t.kind, t.item_id, t.side, t.entry_id, t.ext_id,
	                  bool_or(t.side = 'ledger') OVER w AND bool_or(t.side = 'statement') OVER w AS two_sided
	             FROM recon_gen.truth_items t WHERE t.set_id = sid AND t.expected = 'matched'
	           WINDOW w AS (PARTITION BY t.case_id))
	INSERT INTO recon_gen.truth_pairs (set_id, case_id, "case", item_a, item_b, side_a, side_b, entry_a, ext_a, entry_b, ext_b)
	SELECT sid, a.case_id, a.kind, a.item_id, b.item_id, a.side, b.side,
	       a.entry_id, CASE WHEN a.side = 'statement' THEN a.ext_id END, b.entry_id, CASE WHEN b.side = 'statement' THEN b.ext_id END
	  FROM m a JOIN m b ON b.case_id = a.case_id AND b.item_id > a.item_id
	 WHERE a.side <> b.side OR NOT a.two_sided;
	-- a run over [window_from, window_to) sees every item
	SELECT date_trunc('day', min(t.occurred_at)), date_trunc('day', max(t.occurred_at)) + interval '1 day'
	  INTO w_from, w_to
	  FROM recon_gen.truth_items t WHERE t.set_id = sid;
	tm := tm || jsonb_build_object('truth', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 2));
	DROP TABLE _gen_cases, _gen_items, _gen_redo, _gen_order, _gen_map, _gen_ids;
	t0 := clock_timestamp();
	PERFORM recon_gen.analyze();
	tm := tm || jsonb_build_object('analyze', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 2),
	                               'total', round(extract(epoch FROM clock_timestamp() - clk)::numeric, 2));
	UPDATE recon_gen.sets x SET timings = tm, window_from = w_from, window_to = w_to WHERE x.set_id = sid;

	RETURN QUERY
	SELECT x.set_id, x.ledger_source, x.statement_source, x.window_from, x.window_to,
	       (SELECT count(*) FROM recon_gen.truth_items t WHERE t.set_id = sid AND t.side = 'ledger'),
	       (SELECT count(*) FROM recon_gen.truth_items t WHERE t.set_id = sid AND t.side = 'statement'),
	       x.counts, x.timings
	  FROM recon_gen.sets x WHERE x.set_id = sid;
END
$$;

-- A labelled set for the anomaly score: mostly ordinary payments (the
-- counterparties' history) and exceptions of which some are problems.
CREATE FUNCTION recon_gen.generate_labelled(n int, seed double precision DEFAULT 0.42,
                                                       prefix text DEFAULT 'l', label_noise float8 DEFAULT 0.05)
RETURNS TABLE (set_id int, ledger_source text, statement_source text, window_from timestamptz, window_to timestamptz,
               ledger_items bigint, statement_items bigint, counts jsonb, timings jsonb)
LANGUAGE sql
AS $$
	SELECT * FROM recon_gen.generate(n, seed,
	       jsonb_build_object('exact', 0.78, 'fee', 0.04, 'delayed', 0.05, 'mismatch', 0.02, 'missing_ledger', 0.04,
	                          'missing_statement', 0.04, 'noise', 0.02, 'duplicate', 0.01,
	                          'labelled', true, 'label_noise', label_noise, 'span_days', 60), prefix)
$$;

-- ---------------------------------------------------------------- scoring

-- The set whose sources a run compared.
CREATE FUNCTION recon_gen.set_of(run_id bigint)
RETURNS int
LANGUAGE sql STABLE
AS $$
	SELECT x.set_id
	  FROM tpwallet.recon_runs r
	  JOIN tpwallet.recon_sources a ON a.id = r.left_source_id
	  JOIN tpwallet.recon_sources b ON b.id = r.right_source_id
	  JOIN recon_gen.sets x ON (x.ledger_source, x.statement_source) IN ((a.name, b.name), (b.name, a.name))
	 WHERE r.run_id = set_of.run_id
$$;

-- A run against the truth of its set:
--   precision / recall of matched pairs (a predicted pair: two items of one
--   match, on different sides, or on one side for a match that has only
--   one side), over all pairs and per case kind (a pair counts for the
--   kinds of both its items), and for exact + fuzzy together;
--   class_accuracy: of the items whose truth is an exception class, the
--   share the run gave that class (overall and per class);
--   cases / items: the run's outcome per kind (scope kind, hits = items
--   of that kind the run treated as the truth says, total = its items);
--   not_in_run: items of the set that are neither matched nor an
--   exception in this run.
CREATE FUNCTION recon_gen.score(run_id bigint)
RETURNS TABLE (metric text, scope text, value numeric, hits bigint, total bigint)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	sid int := recon_gen.set_of(run_id);
	run CONSTANT bigint := run_id;
BEGIN
	IF sid IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('run %s is not a run of a generated set', run_id);
	END IF;
	RETURN QUERY
	WITH mi AS (SELECT m.match_id, m.item_id, m.side FROM tpwallet.recon_match_items m WHERE m.run_id = run),
	sides AS (SELECT mi.match_id, count(DISTINCT mi.side) AS n FROM mi GROUP BY mi.match_id),
	pred AS (SELECT DISTINCT least(a.item_id, b.item_id) AS ia, greatest(a.item_id, b.item_id) AS ib
	           FROM mi a JOIN mi b ON b.match_id = a.match_id AND b.item_id > a.item_id
	           JOIN sides s ON s.match_id = a.match_id
	          WHERE a.side <> b.side OR s.n = 1),
	seen AS (SELECT mi.item_id FROM mi UNION SELECT x.item_id FROM tpwallet.recon_exceptions x WHERE x.run_id = run),
	t AS (SELECT ti.* FROM recon_gen.truth_items ti WHERE ti.set_id = sid),
	tp AS (SELECT p.* FROM recon_gen.truth_pairs p WHERE p.set_id = sid
	          AND p.item_a IN (SELECT seen.item_id FROM seen) AND p.item_b IN (SELECT seen.item_id FROM seen)),
	-- predicted pairs with the kinds of their items and whether they are true
	pk AS (SELECT p.ia, p.ib, (tp.item_a IS NOT NULL) AS ok, ta.kind AS ka, tb.kind AS kb
	         FROM pred p
	         LEFT JOIN tp ON tp.item_a = p.ia AND tp.item_b = p.ib
	         LEFT JOIN t ta ON ta.item_id = p.ia
	         LEFT JOIN t tb ON tb.item_id = p.ib),
	pk_kind AS (SELECT pk.ia, pk.ib, pk.ok, k.kind FROM pk CROSS JOIN LATERAL (SELECT DISTINCT v FROM (VALUES (pk.ka), (pk.kb)) v0 (v)) k (kind)),
	found AS (SELECT tp.*, (EXISTS (SELECT 1 FROM pred p WHERE p.ia = tp.item_a AND p.ib = tp.item_b)) AS ok FROM tp),
	outcome AS (SELECT t.item_id, t.kind, t.expected, x.class, (mi.item_id IS NOT NULL) AS matched,
	                   (mi.item_id IS NOT NULL OR x.item_id IS NOT NULL) AS in_run
	              FROM t
	              LEFT JOIN (SELECT DISTINCT mi.item_id FROM mi) mi ON mi.item_id = t.item_id
	              LEFT JOIN tpwallet.recon_exceptions x ON x.run_id = run AND x.item_id = t.item_id),
	res AS (
		SELECT 'precision'::text AS metric, 'all'::text AS scope, count(*) FILTER (WHERE pk.ok) AS hits, count(*) AS total, 1 AS o FROM pk
		UNION ALL
		SELECT 'recall', 'all', count(*) FILTER (WHERE found.ok), count(*), 2 FROM found
		UNION ALL
		SELECT 'precision', 'exact+fuzzy', count(DISTINCT (pk_kind.ia, pk_kind.ib)) FILTER (WHERE pk_kind.ok),
		       count(DISTINCT (pk_kind.ia, pk_kind.ib)), 3 FROM pk_kind WHERE pk_kind.kind IN ('exact', 'fuzzy')
		UNION ALL
		SELECT 'recall', 'exact+fuzzy', count(*) FILTER (WHERE found.ok), count(*), 4 FROM found WHERE found."case" IN ('exact', 'fuzzy')
		UNION ALL
		SELECT 'precision', pk_kind.kind, count(*) FILTER (WHERE pk_kind.ok), count(*), 5 FROM pk_kind GROUP BY pk_kind.kind
		UNION ALL
		SELECT 'recall', found."case", count(*) FILTER (WHERE found.ok), count(*), 6 FROM found GROUP BY found."case"
		UNION ALL
		SELECT 'class_accuracy', 'all', count(*) FILTER (WHERE outcome.class = outcome.expected), count(*), 7
		  FROM outcome WHERE outcome.expected <> 'matched' AND outcome.in_run
		UNION ALL
		SELECT 'class_accuracy', outcome.expected, count(*) FILTER (WHERE outcome.class = outcome.expected), count(*), 8
		  FROM outcome WHERE outcome.expected <> 'matched' AND outcome.in_run GROUP BY outcome.expected
		UNION ALL
		SELECT 'items', outcome.kind,
		       count(*) FILTER (WHERE CASE WHEN outcome.expected = 'matched' THEN outcome.matched ELSE outcome.class = outcome.expected END),
		       count(*), 9
		  FROM outcome GROUP BY outcome.kind
		UNION ALL
		SELECT 'not_in_run', 'all', count(*) FILTER (WHERE NOT outcome.in_run), count(*), 10 FROM outcome)
	SELECT res.metric, res.scope,
	       CASE WHEN res.metric = 'not_in_run' THEN res.hits::numeric
	            WHEN res.total > 0 THEN round(res.hits::numeric / res.total, 6) END,
	       res.hits, res.total
	  FROM res
	 ORDER BY res.o, array_position(recon_gen.kinds(), res.scope), res.scope;
END
$$;

-- The labels of a labelled set's exceptions in a run: one row per
-- exception whose item the truth expects to be an exception, with its
-- recorded label and whether it is in the held-out part.
CREATE FUNCTION recon_gen.labels(run_id bigint)
RETURNS TABLE (exception_id bigint, is_problem boolean, holdout boolean, kind text, class text)
LANGUAGE sql STABLE
AS $$
	SELECT x.exception_id, t.problem, t.holdout, t.kind, x.class
	  FROM tpwallet.recon_exceptions x
	  JOIN recon_gen.truth_items t ON t.item_id = x.item_id AND t.set_id = recon_gen.set_of(labels.run_id)
	 WHERE x.run_id = labels.run_id AND t.problem IS NOT NULL
	 ORDER BY x.exception_id
$$;
