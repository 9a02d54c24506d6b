-- ===================================================================
-- Reconciliation, part 2: runs and matching.  reconcile() compares the
-- items (recon_items) of two sources over a window, in passes: statement
-- duplicates, exact txid, exact order_id, fuzzy (amount tolerance, time
-- window, closest first), reversals within a side; every item left over
-- becomes an exception with a class.  Ties are never guessed: they are
-- exceptions of class 'ambiguous'.  docs/reconciliation.md, "Runs and
-- matching", is the manual.
-- ===================================================================

CREATE TABLE tpwallet.recon_runs (
	run_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	left_source_id   int NOT NULL,
	right_source_id  int NOT NULL,
	window_from      timestamptz NOT NULL,
	window_to        timestamptz NOT NULL,
	rules            jsonb NOT NULL,              -- the rules as used, every key with its value
	status           text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done')),
	started_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
	finished_at      timestamptz,
	started_by       text NOT NULL DEFAULT session_user,
	left_items       int,                         -- candidates of each side
	right_items      int,
	matches          int,
	matched_items    int,
	exceptions       int,
	CHECK (left_source_id <> right_source_id),
	CHECK (window_from <= window_to)
);
CREATE INDEX recon_runs_sources ON tpwallet.recon_runs (left_source_id, right_source_id, window_to);

CREATE TABLE tpwallet.recon_matches (
	match_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	run_id          bigint NOT NULL,
	rule            text NOT NULL CHECK (rule IN ('exact_txid', 'exact_order_id', 'fuzzy', 'partial', 'reversal', 'manual')),
	confidence      numeric NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
	anchor_item_id  bigint NOT NULL,              -- the match's first item (left; for a reversal the earlier)
	UNIQUE (run_id, anchor_item_id)
);

-- One row per matched item.  An item is used at most once per run: the
-- unique (run_id, item_id).  rule and confidence repeat the match's (both
-- are written by one statement and never change); ext_id is a statement
-- item's, entry_id a ledger item's.
--
-- No foreign keys on these tables: a key to recon_items or recon_sources
-- (or between these tables) would make TRUNCATE fail with 0A000 before
-- the append-only guard can refuse it with TW009.  Only reconcile()
-- writes them, from existing runs and items.
CREATE TABLE tpwallet.recon_match_items (
	run_id      bigint NOT NULL,
	match_id    bigint NOT NULL,
	rule        text NOT NULL,
	confidence  numeric NOT NULL,
	side        text NOT NULL CHECK (side IN ('left', 'right')),
	item_id     bigint NOT NULL,
	source      text NOT NULL,
	ext_id      text COLLATE "C",
	entry_id    bigint
);
CREATE UNIQUE INDEX recon_match_items_once ON tpwallet.recon_match_items (run_id, item_id);
CREATE INDEX recon_match_items_item ON tpwallet.recon_match_items (item_id);
CREATE INDEX recon_match_items_match ON tpwallet.recon_match_items (match_id);

-- One row per item of a run that no match took.  status changes later
-- (work on exceptions); rows are never removed.
CREATE TABLE tpwallet.recon_exceptions (
	exception_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	run_id              bigint NOT NULL,
	item_id             bigint NOT NULL,
	side                text NOT NULL CHECK (side IN ('left', 'right')),
	source              text NOT NULL,
	ext_id              text COLLATE "C",
	entry_id            bigint,
	class               text NOT NULL CHECK (class IN ('missing_in_ledger', 'missing_in_statement', 'amount_mismatch',
	                                                   'timing', 'fee_difference', 'duplicate', 'ambiguous', 'reversal')),
	status              text NOT NULL DEFAULT 'open',
	resolution          text CHECK (resolution IN ('matched', 'written_off', 'adjusted', 'accepted')),
	score               numeric,
	counterpart_item_id bigint,  -- the likely other item, if any
	UNIQUE (run_id, item_id)
);
CREATE INDEX recon_exceptions_item ON tpwallet.recon_exceptions (item_id);

SELECT tpwallet._guard('recon_matches'), tpwallet._guard('recon_match_items'),
       tpwallet._guard('recon_runs', 'DELETE'), tpwallet._guard('recon_exceptions', 'DELETE');

-- ---------------------------------------------------------------- internals

-- The run's candidates not yet matched or excepted in this run: the items
-- of both sources with occurred_at in [from, to), and the earlier ones that
-- no earlier run of the same two sources (whose window ended by from;
-- of several runs of one window, the last) matched.  ext_id is NULL for ledger items, entry_id for statement items.
CREATE FUNCTION tpwallet._recon_candidates(run bigint)
RETURNS TABLE (item_id bigint, side text, kind text, source text, source_id int, ext_id text, entry_id bigint,
               txid text, order_id text, amount numeric, asset text, occurred_at timestamptz, is_reversal boolean)
LANGUAGE sql STABLE SET search_path = pg_catalog, tpwallet
AS $$
	SELECT i.item_id, CASE WHEN i.source_id = r.left_source_id THEN 'left' ELSE 'right' END, s.kind, s.name, s.id,
	       CASE WHEN s.kind = 'statement' THEN i.ext_id END, i.entry_id,
	       i.txid, i.order_id, i.amount, i.asset, i.occurred_at, i.is_reversal
	  FROM tpwallet.recon_runs r
	  JOIN tpwallet.recon_items i ON i.source_id IN (r.left_source_id, r.right_source_id)
	  JOIN tpwallet.recon_sources s ON s.id = i.source_id
	 WHERE r.run_id = run
	   AND i.occurred_at < r.window_to
	   AND (i.occurred_at >= r.window_from
	        OR NOT EXISTS (SELECT 1 FROM tpwallet.recon_match_items pm JOIN tpwallet.recon_runs pr ON pr.run_id = pm.run_id
	                        WHERE pm.item_id = i.item_id AND pr.run_id < r.run_id AND pr.window_to <= r.window_from
	                          AND least(pr.left_source_id, pr.right_source_id) = least(r.left_source_id, r.right_source_id)
	                          AND greatest(pr.left_source_id, pr.right_source_id) = greatest(r.left_source_id, r.right_source_id)
	                          -- a later run of the same window replaces an earlier one
	                          AND NOT EXISTS (SELECT 1 FROM tpwallet.recon_runs p2
	                                           WHERE p2.run_id > pr.run_id AND p2.run_id < r.run_id
	                                             AND p2.left_source_id = pr.left_source_id AND p2.right_source_id = pr.right_source_id
	                                             AND p2.window_from = pr.window_from AND p2.window_to = pr.window_to)))
	   AND NOT EXISTS (SELECT 1 FROM tpwallet.recon_match_items m WHERE m.run_id = run AND m.item_id = i.item_id)
	   AND NOT EXISTS (SELECT 1 FROM tpwallet.recon_exceptions x WHERE x.run_id = run AND x.item_id = i.item_id)
$$;

-- Record matches (parallel arrays: first item, second item, confidence).
CREATE FUNCTION tpwallet._recon_record_matches(run bigint, rule text, a bigint[], b bigint[], conf numeric[])
RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	n int;
BEGIN
	IF coalesce(cardinality(a), 0) = 0 THEN
		RETURN 0;
	END IF;
	WITH p AS (SELECT * FROM unnest(a, b, conf) AS p (a, b, conf)),
	m AS (INSERT INTO tpwallet.recon_matches (run_id, rule, confidence, anchor_item_id)
	      SELECT run, rule, p.conf, p.a FROM p ORDER BY p.a
	      RETURNING match_id, anchor_item_id, confidence)
	INSERT INTO tpwallet.recon_match_items (run_id, match_id, rule, confidence, side, item_id, source, ext_id, entry_id)
	SELECT run, m.match_id, rule, m.confidence,
	       CASE WHEN i.source_id = r.left_source_id THEN 'left' ELSE 'right' END,
	       i.item_id, s.name, CASE WHEN s.kind = 'statement' THEN i.ext_id END, i.entry_id
	  FROM m JOIN p ON p.a = m.anchor_item_id
	 CROSS JOIN LATERAL (VALUES (1, p.a), (2, p.b)) v (n, item_id)
	  JOIN tpwallet.recon_items i ON i.item_id = v.item_id
	  JOIN tpwallet.recon_sources s ON s.id = i.source_id
	  JOIN tpwallet.recon_runs r ON r.run_id = run
	 ORDER BY m.match_id, v.n;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n / 2;
END
$$;

-- Record one match of any shape (one to one, one to many, many to one,
-- or a reversal pair given as left_items = {x}, right_items = {y} of one
-- side): the items' sides come from their sources.  Returns the match id.
-- The unique (run_id, item_id) refuses an item already matched in the run
-- (23505).  Manual matches (the review workflow) come through here too.
CREATE FUNCTION tpwallet._recon_record_match(run bigint, rule text, confidence numeric,
                                             left_items bigint[], right_items bigint[])
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	mid bigint;
	items bigint[] := coalesce(left_items, '{}') || coalesce(right_items, '{}');
BEGIN
	IF cardinality(items) < 2 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a match needs at least two items';
	END IF;
	INSERT INTO tpwallet.recon_matches (run_id, rule, confidence, anchor_item_id)
	VALUES (run, rule, confidence, items[1]) RETURNING match_id INTO mid;
	INSERT INTO tpwallet.recon_match_items (run_id, match_id, rule, confidence, side, item_id, source, ext_id, entry_id)
	SELECT run, mid, rule, confidence,
	       CASE WHEN i.source_id = r.left_source_id THEN 'left' ELSE 'right' END,
	       i.item_id, s.name, CASE WHEN s.kind = 'statement' THEN i.ext_id END, i.entry_id
	  FROM unnest(items) WITH ORDINALITY AS u (item_id, n)
	  JOIN tpwallet.recon_items i ON i.item_id = u.item_id
	  JOIN tpwallet.recon_sources s ON s.id = i.source_id
	  JOIN tpwallet.recon_runs r ON r.run_id = run AND i.source_id IN (r.left_source_id, r.right_source_id)
	 ORDER BY u.n;
	IF NOT FOUND OR (SELECT count(*) FROM tpwallet.recon_match_items m WHERE m.match_id = mid) <> cardinality(items) THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a match takes items of the run''s two sources only';
	END IF;
	RETURN mid;
END
$$;

-- Record exceptions (parallel arrays: item, class, counterpart or NULL).
CREATE FUNCTION tpwallet._recon_record_exceptions(run bigint, items bigint[], classes text[], counterparts bigint[])
RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	n int;
BEGIN
	IF coalesce(cardinality(items), 0) = 0 THEN
		RETURN 0;
	END IF;
	INSERT INTO tpwallet.recon_exceptions (run_id, item_id, side, source, ext_id, entry_id, class, counterpart_item_id)
	SELECT run, i.item_id, CASE WHEN i.source_id = r.left_source_id THEN 'left' ELSE 'right' END,
	       s.name, CASE WHEN s.kind = 'statement' THEN i.ext_id END, i.entry_id, x.class, x.cp
	  FROM unnest(items, classes, counterparts) AS x (item_id, class, cp)
	  JOIN tpwallet.recon_items i ON i.item_id = x.item_id
	  JOIN tpwallet.recon_sources s ON s.id = i.source_id
	  JOIN tpwallet.recon_runs r ON r.run_id = run
	 ORDER BY i.item_id;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

-- The rules with their defaults; unknown keys and bad values are refused.
CREATE FUNCTION tpwallet._recon_rules(rules jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	k text;
	r jsonb := jsonb_build_object('amount_tolerance', 0, 'relative_tolerance', 0,
	                              'time_window', '01:00:00', 'fee_tolerance', 0.005);
	num numeric;
	win interval;
BEGIN
	IF rules IS NULL OR jsonb_typeof(rules) <> 'object' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'rules must be a JSON object',
			HINT = 'For example {"amount_tolerance": 0.01, "time_window": "2 hours"}.';
	END IF;
	FOR k IN SELECT jsonb_object_keys(rules) LOOP
		IF k NOT IN ('amount_tolerance', 'relative_tolerance', 'time_window', 'fee_tolerance') THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('rules: unknown key "%s"', k),
				HINT = 'Keys: amount_tolerance, relative_tolerance, fee_tolerance (numbers >= 0), time_window (an interval).';
		END IF;
		IF k = 'time_window' THEN
			BEGIN
				win := (rules ->> k)::interval;
			EXCEPTION WHEN OTHERS THEN
				win := NULL;
			END;
			IF jsonb_typeof(rules -> k) <> 'string' OR win IS NULL OR win < interval '0' THEN
				RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('rules: time_window must be a non-negative interval, not %s', rules -> k);
			END IF;
			r := r || jsonb_build_object(k, win::text);
		ELSE
			IF jsonb_typeof(rules -> k) = 'number' THEN
				num := (rules ->> k)::numeric;
			ELSIF jsonb_typeof(rules -> k) = 'string' AND (rules ->> k) ~ '^\s*[0-9]*\.?[0-9]+\s*$' THEN
				num := (rules ->> k)::numeric;
			ELSE
				num := NULL;
			END IF;
			IF num IS NULL OR num < 0 THEN
				RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('rules: %s must be a number >= 0, not %s', k, rules -> k);
			END IF;
			r := r || jsonb_build_object(k, num);
		END IF;
	END LOOP;
	RETURN r;
END
$$;

-- ---------------------------------------------------------------- reconcile

CREATE FUNCTION tpwallet.reconcile(left_source text, right_source text, "from" timestamptz, "to" timestamptz,
                                   rules jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	lsrc tpwallet.recon_sources;
	rsrc tpwallet.recon_sources;
	lo timestamptz := reconcile."from";
	hi timestamptz := reconcile."to";
	r jsonb;
	abs_tol numeric;
	rel_tol numeric;
	fee_tol numeric;
	win numeric;          -- seconds
	run bigint;
	a bigint[];
	b bigint[];
	conf numeric[];
	amb bigint[];
	cls text[];
	cps bigint[];
	n int;
	min_dt numeric;
	min_da numeric;
	k text;
BEGIN
	IF lo IS NULL OR hi IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'from and to must not be null',
			HINT = 'A run covers the window [from, to).';
	END IF;
	IF lo > hi THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'from must not be after to',
			HINT = 'The window is [from, to): from inclusive, to exclusive.';
	END IF;
	SELECT s.* INTO lsrc FROM tpwallet.recon_sources s WHERE s.name = left_source;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('reconciliation source "%s" does not exist', left_source);
	END IF;
	SELECT s.* INTO rsrc FROM tpwallet.recon_sources s WHERE s.name = right_source;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('reconciliation source "%s" does not exist', right_source);
	END IF;
	IF lsrc.id = rsrc.id THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a run compares two different sources';
	END IF;
	r := tpwallet._recon_rules(rules);
	abs_tol := (r ->> 'amount_tolerance')::numeric;
	rel_tol := (r ->> 'relative_tolerance')::numeric;
	fee_tol := (r ->> 'fee_tolerance')::numeric;
	win := extract(epoch FROM (r ->> 'time_window')::interval);

	-- one run at a time per pair of sources (in either order)
	IF NOT pg_try_advisory_xact_lock(hashtext('tpwallet.reconcile'),
	                                 hashtext(least(lsrc.id, rsrc.id) || ':' || greatest(lsrc.id, rsrc.id))) THEN
		RAISE EXCEPTION USING ERRCODE = '55P03',
			MESSAGE = format('a reconciliation run of "%s" and "%s" is in progress', lsrc.name, rsrc.name),
			HINT = 'Try again when it has finished.';
	END IF;

	IF lsrc.kind = 'ledger' THEN
		PERFORM tpwallet.recon_sync_ledger(lsrc.name, lo, hi);
	END IF;
	IF rsrc.kind = 'ledger' THEN
		PERFORM tpwallet.recon_sync_ledger(rsrc.name, lo, hi);
	END IF;

	INSERT INTO tpwallet.recon_runs (left_source_id, right_source_id, window_from, window_to, rules)
	VALUES (lsrc.id, rsrc.id, lo, hi, r) RETURNING run_id INTO run;
	UPDATE tpwallet.recon_runs SET (left_items, right_items) =
	       (SELECT count(*) FILTER (WHERE c.side = 'left'), count(*) FILTER (WHERE c.side = 'right')
	          FROM tpwallet._recon_candidates(run) c)
	 WHERE run_id = run;

	-- 1. duplicates: a statement item with the same ext_id, or (without
	-- one) the same content, as an earlier item of its source (candidate
	-- or not); the first stays a candidate
	WITH k AS (SELECT i.item_id, i.source_id,
	                  coalesce('ext:' || i.ext_id,
	                           jsonb_build_array(trim_scale(i.amount)::text, i.asset, i.occurred_at, i.value_date,
	                                             i.txid, i.order_id, i.counterparty, i.memo, i.account,
	                                             i.is_reversal, i.batch_ref)::text) COLLATE "C" AS dup_key
	             FROM tpwallet.recon_items i JOIN tpwallet.recon_sources s ON s.id = i.source_id
	            WHERE i.source_id IN (lsrc.id, rsrc.id) AND s.kind = 'statement'),
	f AS (SELECT k.item_id, min(k.item_id) OVER (PARTITION BY k.source_id, k.dup_key) AS first_id FROM k)
	SELECT array_agg(f.item_id ORDER BY f.item_id), array_agg('duplicate'::text ORDER BY f.item_id),
	       array_agg(f.first_id ORDER BY f.item_id)
	  INTO amb, cls, cps
	  FROM f JOIN tpwallet._recon_candidates(run) c ON c.item_id = f.item_id
	 WHERE f.first_id < f.item_id;
	PERFORM tpwallet._recon_record_exceptions(run, amb, cls, cps);

	-- 2. exact keys: same key, asset and amount, within the time window,
	-- one to one; an item with two such partners is ambiguous
	FOREACH k IN ARRAY ARRAY['txid', 'order_id'] LOOP
		WITH c AS (SELECT * FROM tpwallet._recon_candidates(run)),
		e AS (SELECT l.item_id AS l_id, g.item_id AS r_id
		        FROM c l JOIN c g ON l.side = 'left' AND g.side = 'right'
		         AND CASE k WHEN 'txid' THEN g.txid = l.txid ELSE g.order_id = l.order_id END
		         AND g.asset = l.asset AND g.amount = l.amount
		         AND abs(extract(epoch FROM g.occurred_at - l.occurred_at)) <= win),
		n AS (SELECT e.*, count(*) OVER (PARTITION BY e.l_id) AS nl, count(*) OVER (PARTITION BY e.r_id) AS nr FROM e)
		SELECT array_agg(n.l_id ORDER BY n.l_id) FILTER (WHERE n.nl = 1 AND n.nr = 1),
		       array_agg(n.r_id ORDER BY n.l_id) FILTER (WHERE n.nl = 1 AND n.nr = 1),
		       (SELECT array_agg(DISTINCT x) FROM n n2, LATERAL (VALUES (n2.l_id), (n2.r_id)) v (x)
		         WHERE n2.nl > 1 OR n2.nr > 1)
		  INTO a, b, amb
		  FROM n;
		conf := array_fill(CASE k WHEN 'txid' THEN 1.0 ELSE 0.99 END, ARRAY[coalesce(cardinality(a), 0)]);
		PERFORM tpwallet._recon_record_matches(run, 'exact_' || k, a, b, conf);
		PERFORM tpwallet._recon_record_exceptions(run, amb, array_fill('ambiguous'::text, ARRAY[coalesce(cardinality(amb), 0)]),
		                                          array_fill(NULL::bigint, ARRAY[coalesce(cardinality(amb), 0)]));
	END LOOP;

	-- 3. fuzzy: same asset, amount within tolerance, time within the window,
	-- keys not contradicting; closest in time first, then closest in
	-- amount.  Each round takes the pairs that are each other's unique best;
	-- when there are none, the tied pairs at the smallest distance are
	-- ambiguous.  Ends when no pair is left.
	LOOP
		WITH c AS (SELECT * FROM tpwallet._recon_candidates(run)),
		e AS (SELECT l.item_id AS l_id, g.item_id AS r_id,
		             abs(extract(epoch FROM g.occurred_at - l.occurred_at)) AS dt, abs(g.amount - l.amount) AS da,
		             greatest(abs_tol, rel_tol * abs(l.amount)) AS allowed
		        FROM c l JOIN c g ON l.side = 'left' AND g.side = 'right' AND g.asset = l.asset
		         AND abs(g.amount - l.amount) <= greatest(abs_tol, rel_tol * abs(l.amount))
		         AND abs(extract(epoch FROM g.occurred_at - l.occurred_at)) <= win
		         AND NOT coalesce(g.txid <> l.txid, false) AND NOT coalesce(g.order_id <> l.order_id, false)),
		n AS (SELECT e.*, rank() OVER (PARTITION BY e.l_id ORDER BY e.dt, e.da) AS rl,
		             count(*) OVER (PARTITION BY e.l_id, e.dt, e.da) AS tl,
		             rank() OVER (PARTITION BY e.r_id ORDER BY e.dt, e.da) AS rr,
		             count(*) OVER (PARTITION BY e.r_id, e.dt, e.da) AS tr
		        FROM e)
		SELECT array_agg(n.l_id ORDER BY n.l_id) FILTER (WHERE n.rl = 1 AND n.tl = 1 AND n.rr = 1 AND n.tr = 1),
		       array_agg(n.r_id ORDER BY n.l_id) FILTER (WHERE n.rl = 1 AND n.tl = 1 AND n.rr = 1 AND n.tr = 1),
		       array_agg(trim_scale(round(0.95 - 0.45 * CASE WHEN win > 0 THEN n.dt / win ELSE 0 END
		                                       - 0.45 * CASE WHEN n.allowed > 0 THEN n.da / n.allowed ELSE 0 END, 4)) ORDER BY n.l_id)
		           FILTER (WHERE n.rl = 1 AND n.tl = 1 AND n.rr = 1 AND n.tr = 1),
		       min(n.dt), count(*)
		  INTO a, b, conf, min_dt, n
		  FROM n;
		EXIT WHEN n = 0;
		IF coalesce(cardinality(a), 0) > 0 THEN
			PERFORM tpwallet._recon_record_matches(run, 'fuzzy', a, b, conf);
			CONTINUE;
		END IF;
		-- no unique best pair: the closest pairs tie; their items are ambiguous
		WITH c AS (SELECT * FROM tpwallet._recon_candidates(run)),
		e AS (SELECT l.item_id AS l_id, g.item_id AS r_id,
		             abs(extract(epoch FROM g.occurred_at - l.occurred_at)) AS dt, abs(g.amount - l.amount) AS da
		        FROM c l JOIN c g ON l.side = 'left' AND g.side = 'right' AND g.asset = l.asset
		         AND abs(g.amount - l.amount) <= greatest(abs_tol, rel_tol * abs(l.amount))
		         AND abs(extract(epoch FROM g.occurred_at - l.occurred_at)) <= win
		         AND NOT coalesce(g.txid <> l.txid, false) AND NOT coalesce(g.order_id <> l.order_id, false)),
		best AS (SELECT * FROM e WHERE e.dt = min_dt AND e.da = (SELECT min(e2.da) FROM e e2 WHERE e2.dt = min_dt))
		SELECT array_agg(DISTINCT x) INTO amb FROM best, LATERAL (VALUES (best.l_id), (best.r_id)) v (x);
		PERFORM tpwallet._recon_record_exceptions(run, amb, array_fill('ambiguous'::text, ARRAY[cardinality(amb)]),
		                                          array_fill(NULL::bigint, ARRAY[cardinality(amb)]));
	END LOOP;

	-- 4. reversals within one side: opposite amounts of one asset, one of
	-- them a reversal or both with the same txid or order_id; closest in
	-- time, one to one
	WITH c AS (SELECT * FROM tpwallet._recon_candidates(run)),
	e AS (SELECT x.item_id AS x_id, y.item_id AS y_id, abs(extract(epoch FROM y.occurred_at - x.occurred_at)) AS dt
	        FROM c x JOIN c y ON y.source_id = x.source_id AND y.item_id > x.item_id
	         AND y.asset = x.asset AND y.amount = -x.amount AND x.amount <> 0
	         AND (x.is_reversal <> y.is_reversal OR y.txid = x.txid OR y.order_id = x.order_id)),
	u AS (SELECT e.x_id AS id, e.dt, e.x_id, e.y_id FROM e UNION ALL SELECT e.y_id, e.dt, e.x_id, e.y_id FROM e),
	n AS (SELECT u.*, rank() OVER (PARTITION BY u.id ORDER BY u.dt) AS rk, count(*) OVER (PARTITION BY u.id, u.dt) AS ties FROM u),
	ok AS (SELECT n.x_id, n.y_id FROM n WHERE n.rk = 1 AND n.ties = 1 GROUP BY n.x_id, n.y_id HAVING count(*) = 2)
	SELECT array_agg(ok.x_id ORDER BY ok.x_id), array_agg(ok.y_id ORDER BY ok.x_id) INTO a, b FROM ok;
	PERFORM tpwallet._recon_record_matches(run, 'reversal', a, b, array_fill(0.9, ARRAY[coalesce(cardinality(a), 0)]));

	-- 5. every item left over is an exception, classed by its likeliest
	-- counterpart on the other side (if any)
	WITH c AS (SELECT * FROM tpwallet._recon_candidates(run))
	SELECT array_agg(x.item_id ORDER BY x.item_id), array_agg(x.class ORDER BY x.item_id), array_agg(x.cp ORDER BY x.item_id)
	  INTO amb, cls, cps
	  FROM (SELECT o.item_id,
	               coalesce(p.class, CASE WHEN o.is_reversal THEN 'reversal'
	                                      WHEN o.kind = 'statement' THEN 'missing_in_ledger'
	                                      ELSE 'missing_in_statement' END) AS class,
	               p.cp
	          FROM c o
	          LEFT JOIN LATERAL (
	               SELECT q.cp, q.class FROM (
	                 SELECT g.item_id AS cp, abs(extract(epoch FROM g.occurred_at - o.occurred_at)) AS dt,
	                        CASE WHEN g.txid = o.txid OR g.order_id = o.order_id THEN
	                                  CASE WHEN g.amount = o.amount THEN 'timing'
	                                       WHEN abs(g.amount - o.amount) <= fee_tol * greatest(abs(g.amount), abs(o.amount))
	                                            AND sign(g.amount) = sign(o.amount) THEN 'fee_difference'
	                                       ELSE 'amount_mismatch' END
	                             WHEN coalesce(g.txid <> o.txid, false) OR coalesce(g.order_id <> o.order_id, false) THEN NULL
	                             WHEN g.amount = o.amount THEN 'timing'
	                             WHEN abs(g.amount - o.amount) <= fee_tol * greatest(abs(g.amount), abs(o.amount))
	                                  AND sign(g.amount) = sign(o.amount)
	                                  AND abs(extract(epoch FROM g.occurred_at - o.occurred_at)) <= win THEN 'fee_difference'
	                        END AS class,
	                        CASE WHEN g.txid = o.txid OR g.order_id = o.order_id THEN 1 WHEN g.amount = o.amount THEN 2 ELSE 3 END AS prio
	                   FROM c g WHERE g.side <> o.side AND g.asset = o.asset) q
	                WHERE q.class IS NOT NULL
	                ORDER BY q.prio, q.dt, q.cp LIMIT 1) p ON true) x;
	PERFORM tpwallet._recon_record_exceptions(run, amb, cls, cps);

	UPDATE tpwallet.recon_runs SET status = 'done', finished_at = clock_timestamp(),
	       matches = (SELECT count(*) FROM tpwallet.recon_matches m WHERE m.run_id = run),
	       matched_items = (SELECT count(*) FROM tpwallet.recon_match_items m WHERE m.run_id = run),
	       exceptions = (SELECT count(*) FROM tpwallet.recon_exceptions x WHERE x.run_id = run)
	 WHERE run_id = run;
	INSERT INTO tpwallet.audit_log (action, object, detail)
	SELECT 'reconcile', lsrc.name || ' ~ ' || rsrc.name,
	       jsonb_build_object('run_id', run, 'from', lo, 'to', hi, 'rules', r, 'matches', rr.matches, 'exceptions', rr.exceptions)
	  FROM tpwallet.recon_runs rr WHERE rr.run_id = run;
	RETURN run;
END
$$;
COMMENT ON FUNCTION tpwallet.reconcile IS
	'Match the items of two sources over [from, to) (exact txid, exact order_id, fuzzy, reversals) and record every leftover item as an exception. Returns the run id.';
