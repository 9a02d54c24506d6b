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
	passes           jsonb,                       -- what each pass did (matches per rule ...)
	job_id           bigint,                      -- the reconcile_window() job it is a chunk of
	candidates_xmin  xid8,                        -- xmin of the snapshot its candidates were read in
	CHECK (left_source_id <> right_source_id),
	CHECK (window_from <= window_to)
);
CREATE INDEX recon_runs_sources ON tpwallet.recon_runs (left_source_id, right_source_id, window_to);

-- One row per match.  match_no numbers a run's matches in the order the
-- passes made them (the same input gives the same numbers).
CREATE TABLE tpwallet.recon_matches (
	match_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	run_id      bigint NOT NULL,
	match_no    int NOT NULL,
	rule        text NOT NULL CHECK (rule IN ('exact_txid', 'exact_order_id', 'fuzzy', 'partial', 'reversal', 'manual')),
	confidence  numeric NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
	items       int NOT NULL CHECK (items >= 2)
);

-- One row per matched item, as narrow as it can be: a run over a
-- million items writes about two million of these, and their bytes are
-- most of the run's cost (docs/performance.md).  An item is used at most
-- once per run: the primary key, which is also how an item's matches in
-- earlier runs are found (carry-forward, the review workflow).  One
-- B-tree only: the run's matcher writes the rows in match order and their
-- keys in item order (match_sql.c), so the keys of a run's new items go to
-- the rightmost leaf one after another.  A run's rows, and a match's, are
-- consecutive in the heap: the BRIN finds them.  The view
-- recon_match_items adds rule, confidence, side, source, ext_id and
-- entry_id.
--
-- No foreign keys on these tables: a key to recon_items or recon_sources
-- (or between these tables) would make TRUNCATE fail with 0A000 before
-- the append-only guard can refuse it with TW009.  Only reconcile() and
-- the review workflow write them, from existing runs and items.
CREATE TABLE tpwallet.recon_match_members (
	run_id    bigint NOT NULL,
	item_id   bigint NOT NULL,
	match_id  bigint NOT NULL,
	is_left   boolean NOT NULL,
	PRIMARY KEY (item_id, run_id)
);
-- a run's members and a match's: rows are appended run by run, match by
-- match.  reconcile() summarizes the ranges it wrote (summarize_new_ranges)
-- before it returns, so that the run's rows are found at once.
CREATE INDEX recon_match_members_run ON tpwallet.recon_match_members USING brin (run_id, match_id)
	WITH (pages_per_range = 16);

CREATE VIEW tpwallet.recon_match_items AS
SELECT mm.run_id, mm.match_id, m.rule, m.confidence,
       CASE WHEN mm.is_left THEN 'left' ELSE 'right' END AS side,
       mm.item_id, s.name AS source,
       CASE WHEN s.kind = 'statement' THEN i.ext_id END AS ext_id,
       i.entry_id
  FROM tpwallet.recon_match_members mm
  JOIN tpwallet.recon_matches m ON m.match_id = mm.match_id
  JOIN tpwallet.recon_items i ON i.item_id = mm.item_id
  JOIN tpwallet.recon_sources s ON s.id = i.source_id;
COMMENT ON VIEW tpwallet.recon_match_items IS
	'One row per matched item: run, match, rule, confidence, side, item, source, ext_id (statement items), entry_id (ledger items).';

-- One row per item of a run that no match took.  Rows are never removed;
-- only the review workflow columns (status .. match_id) and score change,
-- and only along the state machine that the trigger tpwallet_guard_workflow
-- (87_recon_review.sql) enforces: open -> assigned -> pending_approval ->
-- resolved, back to assigned when a decision is rejected, revoked or
-- superseded, straight to resolved when a later run matches the item, and
-- resolved -> open when the match that resolved it is unmatched.
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
	status              text NOT NULL DEFAULT 'open'
	                    CHECK (status IN ('open', 'assigned', 'pending_approval', 'resolved')),
	score               numeric,
	counterpart_item_id bigint,  -- the likely other item, if any
	assigned_to         text,    -- the login that works on it (and alone may propose a decision)
	resolution          text CHECK (resolution IN ('matched', 'written_off', 'adjusted', 'accepted', 'carried')),
	resolved_at         timestamptz,
	resolved_by         text,    -- the checker who approved the decision, or the login of the run that matched it
	decision_id         bigint,  -- the decision pending on it, or the one that resolved it
	match_id            bigint,  -- resolution 'matched': the match (manual, or of a later run)
	-- resolution 'carried': the exception that is open for this item instead
	-- (of the later run that left the item over again, or of an earlier run
	-- while a decision on it is pending)
	continues_exception_id bigint,
	UNIQUE (run_id, item_id),
	CHECK ((status = 'resolved') = (resolution IS NOT NULL AND resolved_at IS NOT NULL AND resolved_by IS NOT NULL)),
	CHECK (CASE status WHEN 'open' THEN assigned_to IS NULL AND decision_id IS NULL
	                   WHEN 'assigned' THEN assigned_to IS NOT NULL AND decision_id IS NULL
	                   WHEN 'pending_approval' THEN assigned_to IS NOT NULL AND decision_id IS NOT NULL
	                   ELSE true END),
	CHECK ((resolution IS NOT DISTINCT FROM 'matched') = (match_id IS NOT NULL)),
	CHECK ((resolution IS NOT DISTINCT FROM 'carried') = (continues_exception_id IS NOT NULL))
)
-- every exception is updated at least once (its score, then the workflow):
-- room on its page keeps those updates HOT, out of the three indexes
WITH (fillfactor = 70);
CREATE INDEX recon_exceptions_item ON tpwallet.recon_exceptions (item_id);
-- an item's open exception (_recon_open_exception): one or two rows an item
CREATE INDEX recon_exceptions_open_item ON tpwallet.recon_exceptions (item_id) WHERE status <> 'resolved';
-- the items a decision settled (carry-forward skips them): few rows, so
-- that the check is a probe of a small index, not a read of every exception
CREATE INDEX recon_exceptions_settled ON tpwallet.recon_exceptions (item_id)
	WHERE status = 'resolved' AND resolution IN ('written_off', 'adjusted', 'accepted');

SELECT tpwallet._guard('recon_matches'), tpwallet._guard('recon_match_members'),
       tpwallet._guard('recon_runs', 'DELETE'), tpwallet._guard('recon_exceptions', 'DELETE');

-- ---------------------------------------------------------------- internals

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
	n int;
	all_items bigint[] := coalesce(left_items, '{}') || coalesce(right_items, '{}');
BEGIN
	IF cardinality(all_items) < 2 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a match needs at least two items';
	END IF;
	-- the matcher reserves blocks of match ids under this lock (match_sql.c)
	PERFORM pg_advisory_xact_lock(1919247214);
	INSERT INTO tpwallet.recon_matches (run_id, match_no, rule, confidence, items)
	SELECT run, coalesce(max(m.match_no), 0) + 1, _recon_record_match.rule, _recon_record_match.confidence, cardinality(all_items)
	  FROM tpwallet.recon_matches m WHERE m.run_id = run
	RETURNING match_id INTO mid;
	INSERT INTO tpwallet.recon_match_members (run_id, item_id, match_id, is_left)
	SELECT run, i.item_id, mid, i.source_id = r.left_source_id
	  FROM unnest(all_items) WITH ORDINALITY AS u (item_id, n)
	  JOIN tpwallet.recon_items i ON i.item_id = u.item_id
	  JOIN tpwallet.recon_runs r ON r.run_id = run AND i.source_id IN (r.left_source_id, r.right_source_id)
	 ORDER BY u.n;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n <> cardinality(all_items) THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a match takes items of the run''s two sources only';
	END IF;
	RETURN mid;
END
$$;

-- Record exceptions (parallel arrays: item, class, counterpart or NULL),
-- each with its anomaly score from the model that scores now (the prior
-- before any; 88_recon_score.sql): an exception is never without one, and
-- a run's exceptions are not written twice.  The scoring is audited as
-- recon_score_exceptions() audits a rescoring (_recon_audit_scoring).
--
-- An item can be left over by run after run: carried forward day after
-- day while its counterpart is missing, or in a re-run of a window.  It
-- keeps one open exception: the latest run's, with what that run found.
-- The earlier run's open exception is resolved as 'carried', naming the
-- new one (continues_exception_id), and an assignment passes on to the new
-- one.  Only while a decision on the earlier exception is pending does the
-- earlier one stay open: then the new one is born 'carried', naming it, so
-- that the decision is not interrupted.  When a later run matches the
-- item, the open one is resolved 'matched' (_recon_resolve_matched).
CREATE FUNCTION tpwallet._recon_record_exceptions(run bigint, items bigint[], classes text[], counterparts bigint[])
RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	n int;
	model bigint;
	p record;
BEGIN
	IF coalesce(cardinality(items), 0) = 0 THEN
		RETURN 0;
	END IF;
	model := tpwallet._recon_scoring_model();
	INSERT INTO tpwallet.recon_exceptions (run_id, item_id, side, source, ext_id, entry_id, class, counterpart_item_id, score,
	                                       status, assigned_to, resolution, resolved_at, resolved_by, continues_exception_id)
	SELECT run, i.item_id, CASE WHEN i.source_id = r.left_source_id THEN 'left' ELSE 'right' END,
	       s.name, CASE WHEN s.kind = 'statement' THEN i.ext_id END, i.entry_id, x.class, x.cp,
	       round(sc.score::numeric, 4),
	       CASE o.status WHEN 'pending_approval' THEN 'resolved' WHEN 'assigned' THEN 'assigned' ELSE 'open' END,
	       CASE WHEN o.status = 'assigned' THEN o.assigned_to END,
	       CASE WHEN o.status = 'pending_approval' THEN 'carried' END,
	       CASE WHEN o.status = 'pending_approval' THEN clock_timestamp() END,
	       CASE WHEN o.status = 'pending_approval' THEN session_user END,
	       CASE WHEN o.status = 'pending_approval' THEN o.exception_id END
	  FROM unnest(items, classes, counterparts) WITH ORDINALITY AS x (item_id, class, cp, ord)
	  JOIN tpwallet.recon_items i ON i.item_id = x.item_id
	  JOIN tpwallet.recon_sources s ON s.id = i.source_id
	  JOIN tpwallet.recon_runs r ON r.run_id = run
	  LEFT JOIN tpwallet._recon_item_scores(items, classes, counterparts, model) sc ON sc.ord = x.ord
	  -- the item's open exception of an earlier run of the same two sources
	  LEFT JOIN LATERAL tpwallet._recon_open_exception(i.item_id, run, r.left_source_id, r.right_source_id) o ON true
	 ORDER BY i.item_id;
	GET DIAGNOSTICS n = ROW_COUNT;
	-- the earlier open exceptions the new ones take over, each by its key:
	-- one UPDATE joining them to this run's new rows is planned from
	-- statistics that do not know those rows yet, and was seen to scan
	-- every exception once per new one
	FOR p IN
		SELECT o.exception_id AS old_id, x.exception_id AS new_id
		  FROM tpwallet.recon_exceptions x JOIN tpwallet.recon_runs r ON r.run_id = x.run_id
		 CROSS JOIN LATERAL tpwallet._recon_open_exception(x.item_id, x.run_id, r.left_source_id, r.right_source_id) o
		 WHERE x.run_id = run AND x.status <> 'resolved'
	LOOP
		UPDATE tpwallet.recon_exceptions e
		   SET status = 'resolved', resolution = 'carried', resolved_at = clock_timestamp(), resolved_by = session_user,
		       continues_exception_id = p.new_id
		 WHERE e.exception_id = p.old_id;
	END LOOP;
	PERFORM tpwallet._recon_audit_scoring('run ' || run, model, n);
	RETURN n;
END
$$;

-- An item's open exception in a run before `run` of the same two sources
-- (in either order): at most one, by the rule above.  Found from the
-- item's unresolved exceptions (recon_exceptions_open_item), not from the
-- runs: an item carried for months has an exception in each daily run,
-- and probing every run for it cost 0.33 ms an item after 150 days.  The
-- pair as a row IN list, which the planner estimates from the columns'
-- statistics (least()/greatest() it guessed at 1 row).  No SET search_path
-- (every name is qualified): the planner inlines it into the two look-ups
-- of _recon_record_exceptions, which a SET would make a call per row.
CREATE FUNCTION tpwallet._recon_open_exception(item bigint, run bigint, left_source int, right_source int)
RETURNS TABLE (exception_id bigint, status text, assigned_to text)
LANGUAGE sql STABLE
AS $$
	SELECT e.exception_id, e.status, e.assigned_to
	  FROM tpwallet.recon_exceptions e JOIN tpwallet.recon_runs er ON er.run_id = e.run_id
	 WHERE e.item_id = item AND e.run_id < run AND e.status <> 'resolved'
	   AND (er.left_source_id, er.right_source_id) IN ((left_source, right_source), (right_source, left_source))
	 ORDER BY e.exception_id LIMIT 1
$$;

-- The rules with their defaults; unknown keys and bad values are refused.
CREATE FUNCTION tpwallet._recon_rules(rules jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	k text;
	r jsonb := jsonb_build_object('amount_tolerance', 0, 'relative_tolerance', 0,
	                              'time_window', '01:00:00', 'fee_tolerance', 0.005,
	                              'max_partial_items', 5, 'lookback', '90 days');
	num numeric;
	win interval;
	hint CONSTANT text := 'Keys: amount_tolerance, relative_tolerance, fee_tolerance (numbers >= 0), '
	                      'time_window and lookback (intervals >= 0), max_partial_items (0 = no partial matches, or 2 to 20).';
BEGIN
	IF rules IS NULL OR jsonb_typeof(rules) <> 'object' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'rules must be a JSON object',
			HINT = 'For example {"amount_tolerance": 0.01, "time_window": "2 hours"}.';
	END IF;
	FOR k IN SELECT jsonb_object_keys(rules) LOOP
		IF k NOT IN ('amount_tolerance', 'relative_tolerance', 'time_window', 'fee_tolerance', 'max_partial_items', 'lookback') THEN
			RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('rules: unknown key "%s"', k), HINT = hint;
		END IF;
		IF k IN ('time_window', 'lookback') THEN
			BEGIN
				win := (rules ->> k)::interval;
			EXCEPTION WHEN OTHERS THEN
				win := NULL;
			END;
			IF jsonb_typeof(rules -> k) <> 'string' OR win IS NULL OR win < interval '0' THEN
				RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('rules: %s must be a non-negative interval, not %s', k, rules -> k),
					HINT = hint;
			END IF;
			r := r || jsonb_build_object(k, win::text);
		ELSIF k = 'max_partial_items' THEN
			IF jsonb_typeof(rules -> k) <> 'number' OR (rules ->> k) !~ '^[0-9]+$'
			   OR (rules ->> k)::numeric NOT IN (0) AND (rules ->> k)::numeric NOT BETWEEN 2 AND 20 THEN
				RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('rules: max_partial_items must be 0 or an integer from 2 to 20, not %s', rules -> k),
					HINT = hint;
			END IF;
			r := r || jsonb_build_object(k, (rules ->> k)::int);
		ELSE
			IF jsonb_typeof(rules -> k) = 'number' THEN
				num := (rules ->> k)::numeric;
			ELSIF jsonb_typeof(rules -> k) = 'string' AND (rules ->> k) ~ '^\s*[0-9]*\.?[0-9]+\s*$' THEN
				num := (rules ->> k)::numeric;
			ELSE
				num := NULL;
			END IF;
			IF num IS NULL OR num < 0 OR (k <> 'amount_tolerance' AND num > 1) THEN
				RAISE EXCEPTION USING ERRCODE = '22023',
					MESSAGE = format('rules: %s must be a number %s, not %s', k,
					                 CASE WHEN k = 'amount_tolerance' THEN '>= 0' ELSE 'from 0 to 1' END, rules -> k),
					HINT = hint;
			END IF;
			r := r || jsonb_build_object(k, num);
		END IF;
	END LOOP;
	RETURN r;
END
$$;

-- The matcher (src/recon/match_sql.c): loads the run's candidates, runs
-- every pass in memory and records matches and exceptions.  Returns what
-- each pass did.
CREATE FUNCTION tpwallet._recon_match(run bigint, amount_tolerance numeric, relative_tolerance numeric,
                                      fee_tolerance numeric, window_us bigint, max_parts int, lookback interval)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'tpwallet_recon_match'
LANGUAGE C VOLATILE STRICT
-- JIT compiling the candidate query costs more than it saves (it reads
-- each row once)
SET jit = off;

-- Open exceptions of earlier runs whose item this run matched are resolved
-- (resolution 'matched'): the item was carried forward and found its
-- counterpart, or a re-run of the window (after a late posting or
-- statement) matched it.  The review workflow's _recon_auto_resolve
-- (87_recon_review.sql) does the transition and supersedes pending
-- decisions on them.
--
-- Driven by the earlier runs' open exceptions, not by this run's members
-- (a million of them in a big run): only runs that share a source with
-- this one and ended within its lookback can hold such an exception.  An
-- item carried into this run occurred at or after window_from - lookback,
-- and the run that excepted it had it as a candidate, so that run's
-- window ended after the item occurred.
CREATE FUNCTION tpwallet._recon_resolve_matched(run bigint)
RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, tpwallet
AS $$
BEGIN
	-- The probe of the members is a LIMIT subquery on purpose: as EXISTS
	-- the planner may turn it into a join driven by this run's members,
	-- whose just-written rows it has no statistics for yet (it takes them
	-- for one row, and then walks two million).
	RETURN tpwallet._recon_auto_resolve(
	         ARRAY(WITH open AS MATERIALIZED (
	                 SELECT x.exception_id, x.item_id
	                   FROM tpwallet.recon_runs r
	                   JOIN tpwallet.recon_runs xr
	                     ON xr.run_id < r.run_id AND xr.window_to <= r.window_to
	                    AND xr.window_to > r.window_from - (r.rules ->> 'lookback')::interval
	                    AND (xr.left_source_id IN (r.left_source_id, r.right_source_id)
	                         OR xr.right_source_id IN (r.left_source_id, r.right_source_id))
	                   JOIN tpwallet.recon_exceptions x ON x.run_id = xr.run_id AND x.status <> 'resolved'
	                  WHERE r.run_id = run)
	               SELECT o.exception_id FROM open o
	                WHERE (SELECT true FROM tpwallet.recon_match_members m
	                        WHERE m.item_id = o.item_id AND m.run_id = run LIMIT 1)
	                ORDER BY 1),
	         run);
END
$$;

-- ---------------------------------------------------------------- reconcile

CREATE FUNCTION tpwallet.reconcile(left_source text, right_source text, "from" timestamptz, "to" timestamptz,
                                   rules jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet SET jit = off
AS $$
DECLARE
	lsrc tpwallet.recon_sources;
	rsrc tpwallet.recon_sources;
	lo timestamptz := reconcile."from";
	hi timestamptz := reconcile."to";
	r jsonb;
	run bigint;
	stats jsonb;
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

	stats := tpwallet._recon_match(run, (r ->> 'amount_tolerance')::numeric, (r ->> 'relative_tolerance')::numeric,
	                               (r ->> 'fee_tolerance')::numeric,
	                               (extract(epoch FROM (r ->> 'time_window')::interval) * 1000000)::bigint,
	                               (r ->> 'max_partial_items')::int, (r ->> 'lookback')::interval);

	-- (the exceptions got their anomaly scores as they were recorded)
	PERFORM tpwallet._recon_resolve_matched(run);
	PERFORM tpwallet.summarize_new_ranges('tpwallet.recon_match_members_run');
	UPDATE tpwallet.recon_runs SET status = 'done', finished_at = clock_timestamp(),
	       left_items = (stats ->> 'left_items')::int, right_items = (stats ->> 'right_items')::int,
	       -- what _recon_match wrote (it checks that), not a count over a million rows
	       matches = (stats ->> 'matches')::int, matched_items = (stats ->> 'matched_items')::int,
	       exceptions = (stats ->> 'exceptions')::int,
	       passes = stats
	 WHERE run_id = run;
	INSERT INTO tpwallet.audit_log (action, object, detail)
	SELECT 'reconcile', lsrc.name || ' ~ ' || rsrc.name,
	       jsonb_build_object('run_id', run, 'from', lo, 'to', hi, 'rules', r, 'matches', rr.matches, 'exceptions', rr.exceptions)
	  FROM tpwallet.recon_runs rr WHERE rr.run_id = run;
	RETURN run;
END
$$;
COMMENT ON FUNCTION tpwallet.reconcile IS
	'Match the items of two sources over [from, to) (duplicates, exact txid, exact order_id, fuzzy, partial, reversals) and record every leftover item as an exception. Returns the run id.';
