-- Carry-forward read from what is open (src/recon/match_load.c) against
-- the scan of the whole lookback range: two pairs of statement sources get
-- the same files and the same runs, day by day, pair A as it runs by
-- default and pair B with tpwallet.recon_full_carry_scan = on.  Every run
-- of A must have the same candidates, matches and exceptions as its twin
-- in B.  The days hold what changes the set of unsettled items: lines a
-- day late, three days late, never there, imported two days after their
-- day; a re-run of a window, a re-run of an older window, sides swapped,
-- a shorter and a longer lookback, an approved unmatch and an accepted
-- exception, a day without a run, and an empty window.  Each run is its
-- own transaction (a procedure commits after each), as in production: the
-- open query tells imports a run may not have seen by the importing
-- transaction, and in one transaction every import would be one of those.
\set SHOW_CONTEXT never
SET TimeZone = 'UTC';
CREATE SCHEMA tc;
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM tpwallet.assets WHERE code = 'USD') THEN
		PERFORM tpwallet.create_asset('USD', 2, 'fiat');
	END IF;
END $$;
SELECT count(tpwallet.create_recon_source(s, 'statement', '{"asset": "USD"}')) AS sources
  FROM unnest(ARRAY['tc-a-left', 'tc-a-right', 'tc-b-left', 'tc-b-right']) s;

-- 30 cases a day; what a case is depends on its day and number
CREATE FUNCTION tc.kind(d int, k int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT (d * 7 + k * 3) % 10 $$;
CREATE FUNCTION tc.day(d int) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS
$$ SELECT '2024-03-01 00:00+00'::timestamptz + make_interval(days => d) $$;

-- every line, with the day of the file it comes in
CREATE VIEW tc.lines AS
SELECT 'left' AS side, d AS file_day, 'L-' || d || '-' || k AS ext_id, d * 100 + k + 0.25 AS amount,
       tc.day(d) + make_interval(mins => k * 45) AS occurred_at, 'tx-' || d || '-' || k AS txid
  FROM generate_series(1, 14) d, generate_series(0, 29) k WHERE tc.kind(d, k) <> 8
UNION ALL
SELECT 'right', d + CASE t WHEN 5 THEN 1 WHEN 6 THEN 3 WHEN 8 THEN 2 ELSE 0 END,
       'R-' || d || '-' || k, d * 100 + k + 0.25,
       tc.day(d) + make_interval(mins => k * 45) + CASE t WHEN 5 THEN interval '1 day 30 min'
                                                           WHEN 6 THEN interval '3 days 15 min'
                                                           WHEN 9 THEN interval '20 min'
                                                           WHEN 8 THEN interval '0'
                                                           ELSE interval '10 min' END,
       CASE WHEN t = 9 THEN NULL ELSE 'tx-' || d || '-' || k END
  FROM generate_series(1, 14) d, generate_series(0, 29) k, LATERAL (SELECT tc.kind(d, k) AS t) c
 WHERE t <> 7
UNION ALL  -- the lines missing on day 4, imported after its first run (then the day is run again)
SELECT 'right', 104, 'X-4-' || k, 4 * 100 + k + 0.25, tc.day(4) + make_interval(mins => k * 45 + 5), 'tx-4-' || k
  FROM generate_series(0, 29) k WHERE tc.kind(4, k) = 7
UNION ALL  -- lines of day 0, before every run's range, imported on day 8: day 9 looks back 10 days
SELECT 'right', 8, 'O-0-' || k, k + 0.75, tc.day(0) + make_interval(mins => k * 45), 'tx-0-' || k
  FROM generate_series(0, 5) k;

CREATE FUNCTION tc.import(pair text, file_day int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	s text;
	csv text;
BEGIN
	FOREACH s IN ARRAY ARRAY['left', 'right'] LOOP
		SELECT string_agg(format('%s,%s,%s,%s', l.ext_id, l.amount, to_char(l.occurred_at, 'YYYY-MM-DD"T"HH24:MI"Z"'),
		                         coalesce(l.txid, '')), E'\n' ORDER BY l.ext_id)
		  INTO csv FROM tc.lines l WHERE l.side = s AND l.file_day = import.file_day;
		IF csv IS NOT NULL THEN
			PERFORM tpwallet.import_statement(format('tc-%s-%s', pair, s), E'ext_id,amount,occurred_at,txid\n' || csv);
		END IF;
	END LOOP;
END $$;

CREATE TABLE tc.runs (pair text, step int, run_id bigint, PRIMARY KEY (pair, step));
CREATE FUNCTION tc.run(pair text, step int, d_from int, d_to int, lookback text, swapped boolean DEFAULT false)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('tpwallet.recon_full_carry_scan', CASE pair WHEN 'b' THEN 'on' ELSE 'off' END, false);
	INSERT INTO tc.runs
	SELECT pair, step, tpwallet.reconcile(format('tc-%s-%s', pair, CASE WHEN swapped THEN 'right' ELSE 'left' END),
	                                      format('tc-%s-%s', pair, CASE WHEN swapped THEN 'left' ELSE 'right' END),
	                                      tc.day(d_from), tc.day(d_to), jsonb_build_object('lookback', lookback, 'time_window', '4 days'));
	PERFORM set_config('tpwallet.recon_full_carry_scan', 'off', false);
END $$;

-- a run's candidates and what became of each, by external id (the same in both pairs)
CREATE FUNCTION tc.outcome(run bigint) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT string_agg(o, ' ' ORDER BY o) FROM (
		SELECT format('m%s:%s:%s', m.match_no, m.rule, i.ext_id) AS o
		  FROM tpwallet.recon_match_members mm JOIN tpwallet.recon_matches m ON m.match_id = mm.match_id
		  JOIN tpwallet.recon_items i ON i.item_id = mm.item_id WHERE mm.run_id = run
		UNION ALL
		SELECT format('x:%s:%s:%s', x.class, x.status, i.ext_id)
		  FROM tpwallet.recon_exceptions x JOIN tpwallet.recon_items i ON i.item_id = x.item_id WHERE x.run_id = run) s
$$;

CREATE ROLE regress_tc_alice IN ROLE tpwallet_operator;
CREATE ROLE regress_tc_bob IN ROLE tpwallet_approver;

-- the days, for both pairs in turn
CREATE PROCEDURE tc.days(pair text, first int, last int) LANGUAGE plpgsql AS $$
BEGIN
	FOR d IN first .. last LOOP
		CONTINUE WHEN d = 10;                           -- a day without a run
		PERFORM tc.import(pair, d);
		IF d = 9 THEN                                   -- day 10's lines, before day 9's run
			PERFORM tc.import(pair, 10);
		END IF;
		COMMIT;                                         -- imports and runs: each its own transaction
		CASE d
		WHEN 5 THEN PERFORM tc.run(pair, d, d, d + 1, '5 days', swapped => true);
		WHEN 6 THEN PERFORM tc.run(pair, d, d, d + 1, '2 days');
		WHEN 9 THEN PERFORM tc.run(pair, d, d, d + 1, '10 days');
		WHEN 12 THEN
			PERFORM tc.run(pair, 120, d, d, '5 days');  -- an empty window
			COMMIT;
			PERFORM tc.run(pair, d, d, d + 1, '5 days');
		ELSE PERFORM tc.run(pair, d, d, d + 1, '5 days');
		END CASE;
		COMMIT;
		IF d = 4 THEN                                   -- the missing lines come: the day again
			PERFORM tc.import(pair, 104);
			COMMIT;
			PERFORM tc.run(pair, 40, 4, 5, '5 days');
		ELSIF d = 7 THEN                                -- an older window again
			PERFORM tc.run(pair, 70, 3, 4, '5 days');
		END IF;
		COMMIT;
	END LOOP;
END $$;
CALL tc.days('a', 1, 7);
CALL tc.days('b', 1, 7);

-- day 8, before its run: an approved unmatch of day 6's first match and an
-- accepted exception of day 7, in each pair
CREATE TABLE tc.review AS
SELECT r.pair,
       (SELECT m.match_id FROM tpwallet.recon_matches m WHERE m.run_id = r.run_id ORDER BY m.match_no LIMIT 1) AS match_id,
       (SELECT x.exception_id FROM tpwallet.recon_exceptions x JOIN tpwallet.recon_items i ON i.item_id = x.item_id
         WHERE x.run_id = s.run_id AND x.status = 'open' ORDER BY i.ext_id LIMIT 1) AS exception_id,
       NULL::bigint AS d_unmatch, NULL::bigint AS d_accept
  FROM tc.runs r JOIN tc.runs s ON s.pair = r.pair AND s.step = 7 WHERE r.step = 6;
GRANT SELECT, UPDATE ON tc.review TO regress_tc_alice, regress_tc_bob;
GRANT USAGE ON SCHEMA tc TO regress_tc_alice, regress_tc_bob;
SET SESSION AUTHORIZATION regress_tc_alice;
SELECT count(tpwallet.recon_assign(exception_id)) AS assigned FROM tc.review;
UPDATE tc.review SET d_unmatch = tpwallet.recon_propose('unmatch', '{}', 'another wire', jsonb_build_object('match_id', match_id)),
                     d_accept = tpwallet.recon_propose('accept', ARRAY[exception_id], 'accepted as it is');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_tc_bob;
SELECT count(tpwallet.recon_approve(d_unmatch)) + count(tpwallet.recon_approve(d_accept)) AS approved FROM tc.review;
RESET SESSION AUTHORIZATION;

CALL tc.days('a', 8, 14);
CALL tc.days('b', 8, 14);

-- what each run of pair A did (its twin in B is compared below)
SELECT t.step, r.left_items, r.right_items, r.matches, r.exceptions, r.passes ->> 'carry_from_open' AS from_open,
       (SELECT count(DISTINCT mm.match_id) FROM tpwallet.recon_match_members mm
          JOIN tpwallet.recon_items i ON i.item_id = mm.item_id
         WHERE mm.run_id = r.run_id AND i.occurred_at < r.window_from) AS carried_matches
  FROM tc.runs t JOIN tpwallet.recon_runs r USING (run_id) WHERE t.pair = 'a' ORDER BY r.run_id;
SELECT count(*) AS twins FROM tc.runs a JOIN tc.runs b ON b.step = a.step AND b.pair = 'b' WHERE a.pair = 'a';
-- the same candidates, matches and exceptions as the twin with the full scan: no step listed
SELECT string_agg(a.step::text, ',' ORDER BY a.step) AS outcome_differs
  FROM tc.runs a JOIN tc.runs b ON b.step = a.step AND b.pair = 'b'
 WHERE a.pair = 'a' AND tc.outcome(a.run_id) IS DISTINCT FROM tc.outcome(b.run_id);
SELECT string_agg(a.step::text, ',' ORDER BY a.step) AS counts_differ
  FROM tc.runs a JOIN tc.runs b ON b.step = a.step AND b.pair = 'b'
  JOIN tpwallet.recon_runs ra ON ra.run_id = a.run_id JOIN tpwallet.recon_runs rb ON rb.run_id = b.run_id
 WHERE a.pair = 'a' AND (ra.left_items, ra.right_items, ra.matches, ra.exceptions)
                        IS DISTINCT FROM (rb.left_items, rb.right_items, rb.matches, rb.exceptions);
-- pair B scanned in every run
SELECT count(*) AS b_from_open FROM tc.runs t JOIN tpwallet.recon_runs r USING (run_id)
 WHERE t.pair = 'b' AND (r.passes ->> 'carry_from_open')::int = 1;
-- every candidate ended matched or excepted
SELECT count(*) AS unaccounted FROM tc.runs t JOIN tpwallet.recon_runs r USING (run_id)
 WHERE r.left_items + r.right_items <> r.matched_items + r.exceptions;
-- the lines of day 0 (in no run's range until day 9's) and of day 10 (imported
-- before day 9's run, which ended before them): excepted on days 9 and 11
SELECT t.step, count(*) FILTER (WHERE i.ext_id LIKE 'O-%') AS day_0, count(*) FILTER (WHERE i.ext_id LIKE '_-10-%') AS day_10
  FROM tc.runs t JOIN tpwallet.recon_exceptions x ON x.run_id = t.run_id JOIN tpwallet.recon_items i ON i.item_id = x.item_id
 WHERE t.pair = 'a' AND t.step IN (9, 11) GROUP BY t.step ORDER BY t.step;
-- the lines imported two days after their day were carried into later runs
SELECT count(*) AS late_lines_carried FROM tc.runs t JOIN tpwallet.recon_runs r USING (run_id)
  JOIN tpwallet.recon_exceptions x ON x.run_id = t.run_id JOIN tpwallet.recon_items i ON i.item_id = x.item_id
 WHERE t.pair = 'a' AND i.ext_id LIKE 'R-%' AND i.occurred_at < r.window_from
   AND tc.kind(split_part(i.ext_id, '-', 2)::int, split_part(i.ext_id, '-', 3)::int) = 8;
-- the unmatched pair and the accepted exception: the first carried again, the second not
SELECT (SELECT count(*) FROM tpwallet.recon_match_members mm JOIN tc.runs t ON t.run_id = mm.run_id
         WHERE t.pair = 'a' AND t.step = 8
           AND mm.item_id IN (SELECT m.item_id FROM tpwallet.recon_match_members m
                               WHERE m.match_id = (SELECT match_id FROM tc.review WHERE pair = 'a'))) AS unmatched_in_day_8,
       (SELECT count(*) FROM tpwallet.recon_exceptions x JOIN tc.runs t ON t.run_id = x.run_id
         WHERE t.pair = 'a' AND t.step > 7 AND t.step < 70
           AND x.item_id = (SELECT e.item_id FROM tpwallet.recon_exceptions e
                             WHERE e.exception_id = (SELECT exception_id FROM tc.review WHERE pair = 'a'))) AS accepted_again;

-- a previous run whose snapshot is ahead of this run's (restored from
-- another cluster's dump, whose xids it carries): this run scans
UPDATE tpwallet.recon_runs SET candidates_xmin = '18446744073709551000'::xid8
 WHERE run_id = (SELECT run_id FROM tc.runs WHERE pair = 'a' AND step = 14);
SELECT tc.import('a', 15), tc.run('a', 15, 15, 16, '5 days');
SELECT r.passes ->> 'carry_from_open' AS from_open FROM tc.runs t JOIN tpwallet.recon_runs r USING (run_id)
 WHERE t.pair = 'a' AND t.step = 15;

RESET tpwallet.recon_full_carry_scan;
DROP OWNED BY regress_tc_alice, regress_tc_bob;
DROP ROLE regress_tc_alice, regress_tc_bob;
