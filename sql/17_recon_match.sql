-- Reconciliation, part 2: runs and matching over a data set with known
-- truth: exact txid and order_id matches, fuzzy, a fee-shifted line, a
-- delayed line, an amount mismatch, missing items on both sides, a
-- duplicated statement line, a tie (ambiguous), a refund that reverses a
-- payment within the ledger, and an item carried forward from before the
-- window.  Then determinism, carry-forward into the next window, the
-- one-use-per-run constraint, errors and roles.
\set SHOW_CONTEXT never
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM tpwallet.assets WHERE code = 'USD') THEN
		PERFORM tpwallet.create_asset('USD', 2, 'fiat');
	END IF;
END $$;

SELECT tpwallet.create_account('rm:bank:USD', 'ops', 'USD', 'debit') > 0 AS created;
SELECT tpwallet.create_account('rm:world:USD', 'ops', 'USD', 'debit', allow_negative => true) > 0 AS created;
SELECT tpwallet.create_recon_source('rm-ledger', 'ledger', '{"accounts": ["rm:bank:USD"]}') > 0 AS ledger_source;
SELECT tpwallet.create_recon_source('rm-bank', 'statement', '{"asset": "USD"}') > 0 AS statement_source;

-- The ledger: money in debits the bank account (+), money out credits it (-).
-- The reference is the item's txid and order_id.
CREATE FUNCTION test.rm_post(amount numeric, ref text, at text, meta jsonb DEFAULT '{}') RETURNS boolean
LANGUAGE sql AS $$
	SELECT CASE WHEN amount > 0
	            THEN tpwallet.transfer('rm:bank:USD', 'rm:world:USD', amount, reference => ref, occurred_at => at::timestamptz, metadata => meta)
	            ELSE tpwallet.transfer('rm:world:USD', 'rm:bank:USD', -amount, reference => ref, occurred_at => at::timestamptz, metadata => meta)
	       END > 0
$$;
SELECT test.rm_post(42, 'tx-0', '2024-06-01 00:10Z')       -- L0: its line is from before the window
   AND test.rm_post(100, 'tx-1', '2024-06-01 10:00Z')      -- L1: exact txid
   AND test.rm_post(250, 'tx-2', '2024-06-01 11:00Z')      -- L2: the bank took a fee of 1
   AND test.rm_post(75, 'tx-3', '2024-06-01 12:00Z')       -- L3: booked 3 hours later
   AND test.rm_post(-40, 'tx-4', '2024-06-01 13:00Z')      -- L4: fuzzy (the line has no txid)
   AND test.rm_post(500, 'tx-5', '2024-06-01 14:00Z')      -- L5: the line says 300
   AND test.rm_post(60, 'tx-6', '2024-06-01 09:00Z')       -- L6: no line (until the next day)
   AND test.rm_post(20, 'tx-7', '2024-06-01 17:00Z')       -- L7: its line is there twice
   AND test.rm_post(10, 'a-8', '2024-06-01 17:30Z')        -- L8a, L8b: one line of 10 at 18:00,
   AND test.rm_post(10, 'b-8', '2024-06-01 18:30Z')        --   exactly between them
   AND test.rm_post(-15, 'pay-9', '2024-06-01 19:00Z', '{"txid": "0xf9", "order_id": "ord-9"}')  -- L9: order id
   AND test.rm_post(-5, 'r-10', '2024-06-01 20:00Z')       -- L10 and its refund: cancel
   AND test.rm_post(5, 'r-10', '2024-06-01 20:30Z')
   AND test.rm_post(7, 'tx-12', '2024-06-01 21:00Z')       -- L12a, L12b: two postings with the
   AND test.rm_post(7, 'tx-12', '2024-06-01 21:10Z')       --   txid of one line: ambiguous
   AND test.rm_post(1, 'tx-11', '2024-06-02 08:00Z')       -- outside the window
   AS posted;

-- The bank's statement (S7 twice, without a reference).
SELECT tpwallet.import_statement('rm-bank', E'ext_id,amount,occurred_at,txid,order_id,memo\n'
	'B0,42.00,2024-05-31T23:30Z,tx-0,,carried\n'
	'B1,100.00,2024-06-01T10:20Z,tx-1,,exact\n'
	'B2,249.00,2024-06-01T11:05Z,tx-2,,fee\n'
	'B3,75.00,2024-06-01T15:00Z,tx-3,,delayed\n'
	'B4,-40.00,2024-06-01T13:30Z,,,fuzzy\n'
	'B5,300.00,2024-06-01T14:00Z,tx-5,,mismatch\n'
	'B6,33.00,2024-06-01T16:00Z,,,missing\n'
	',20.00,2024-06-01T17:00Z,tx-7,,twice\n'
	',20.00,2024-06-01T17:00Z,tx-7,,twice\n'
	'B8,10.00,2024-06-01T18:00Z,,,tie\n'
	'B9,-15.00,2024-06-01T19:10Z,,ord-9,order\n'
	'B11,60.00,2024-06-02T09:30Z,tx-6,,late\n'
	'B12,7.00,2024-06-01T21:05Z,tx-12,,same txid\n') AS imported;

-- A readable name for every item: the statement's memo or the ledger's reference.
CREATE FUNCTION test.rm_name(item bigint) RETURNS text LANGUAGE sql AS $$
	SELECT CASE WHEN i.entry_id IS NULL THEN 'S:' || coalesce(i.ext_id, '-') || ' ' || i.memo
	            ELSE 'L:' || (i.extra ->> 'reference') || ' ' || to_char(i.occurred_at AT TIME ZONE 'UTC', 'HH24:MI') END
	  FROM tpwallet.recon_items i WHERE i.item_id = item
$$;
CREATE FUNCTION test.rm_matches(run bigint) RETURNS TABLE (rule text, confidence numeric, "left" text, "right" text)
LANGUAGE sql AS $$
	SELECT m.rule, m.confidence,
	       string_agg(test.rm_name(mi.item_id), ' + ' ORDER BY mi.item_id) FILTER (WHERE mi.side = 'left'),
	       string_agg(test.rm_name(mi.item_id), ' + ' ORDER BY mi.item_id) FILTER (WHERE mi.side = 'right')
	  FROM tpwallet.recon_match_items mi JOIN tpwallet.recon_matches m USING (match_id)
	 WHERE mi.run_id = run GROUP BY m.match_id, m.rule, m.confidence ORDER BY 3, 4
$$;
CREATE FUNCTION test.rm_exceptions(run bigint) RETURNS TABLE (item text, side text, class text, status text, counterpart text)
LANGUAGE sql AS $$
	SELECT test.rm_name(x.item_id), x.side, x.class, x.status, test.rm_name(x.counterpart_item_id)
	  FROM tpwallet.recon_exceptions x WHERE x.run_id = run ORDER BY x.side, 1
$$;

-- ===================================================== the first run
-- left: the statement, right: the ledger (synced by the run for the window)
SELECT tpwallet.reconcile('rm-bank', 'rm-ledger', '2024-06-01Z', '2024-06-02Z') AS run1 \gset
SELECT * FROM test.rm_matches(:run1);
SELECT * FROM test.rm_exceptions(:run1);
SELECT r.status, r.left_items, r.right_items, r.matches, r.matched_items, r.exceptions, r.rules,
       r.finished_at IS NOT NULL AS finished
  FROM tpwallet.recon_runs r WHERE r.run_id = :run1;
-- the items view: ext_id for statement items, entry_id for ledger items
SELECT side, count(*) AS items, count(ext_id) AS with_ext_id, count(entry_id) AS with_entry_id
  FROM tpwallet.recon_match_items WHERE run_id = :run1 GROUP BY side ORDER BY side;
SELECT side, count(*) AS items, count(ext_id) AS with_ext_id, count(entry_id) AS with_entry_id
  FROM tpwallet.recon_exceptions WHERE run_id = :run1 GROUP BY side ORDER BY side;
-- every candidate is matched or an exception, once
SELECT (SELECT count(*) FROM tpwallet.recon_match_items WHERE run_id = :run1)
     + (SELECT count(*) FROM tpwallet.recon_exceptions WHERE run_id = :run1)
     = (SELECT left_items + right_items FROM tpwallet.recon_runs WHERE run_id = :run1) AS all_accounted;
SELECT action, detail ->> 'matches' AS matches, detail ->> 'exceptions' AS exceptions
  FROM tpwallet.audit_log WHERE action = 'reconcile' ORDER BY id DESC LIMIT 1;

-- ===================================================== determinism
-- the same window again: a new run with the same matches and exceptions
SELECT tpwallet.reconcile('rm-bank', 'rm-ledger', '2024-06-01Z', '2024-06-02Z') AS run2 \gset
SELECT :run2 > :run1 AS new_run,
       NOT EXISTS ((SELECT * FROM test.rm_matches(:run1)) EXCEPT ALL (SELECT * FROM test.rm_matches(:run2)))
   AND NOT EXISTS ((SELECT * FROM test.rm_matches(:run2)) EXCEPT ALL (SELECT * FROM test.rm_matches(:run1))) AS same_matches,
       NOT EXISTS ((SELECT item, side, class, counterpart FROM test.rm_exceptions(:run1))
                   EXCEPT ALL (SELECT item, side, class, counterpart FROM test.rm_exceptions(:run2)))
   AND NOT EXISTS ((SELECT item, side, class, counterpart FROM test.rm_exceptions(:run2))
                   EXCEPT ALL (SELECT item, side, class, counterpart FROM test.rm_exceptions(:run1))) AS same_exceptions;
-- ... and one exception to work on per item: run2's are open, and run1's
-- are resolved as 'carried', each naming run2's exception of its item
SELECT x.run_id = :run1 AS of_run1, x.status, x.resolution, count(*) AS exceptions,
       count(*) FILTER (WHERE o.run_id = :run2 AND o.item_id = x.item_id AND o.status = 'open') AS continued_in_run2
  FROM tpwallet.recon_exceptions x LEFT JOIN tpwallet.recon_exceptions o ON o.exception_id = x.continues_exception_id
 WHERE x.run_id IN (:run1, :run2) GROUP BY 1, 2, 3 ORDER BY 1;
SELECT count(*) AS items_open_twice
  FROM (SELECT item_id FROM tpwallet.recon_exceptions WHERE status <> 'resolved' GROUP BY 1 HAVING count(*) > 1) t;
-- a carried exception is not worked on: the hint names the open one
CREATE FUNCTION test.rm_err_hint(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	h text;
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
	RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '[0-9]+', 'N', 'g') || ' / ' || regexp_replace(h, '[0-9]+', 'N', 'g');
END $$;
SELECT test.rm_err_hint(format('SELECT tpwallet.recon_assign(%s)',
                               (SELECT min(exception_id) FROM tpwallet.recon_exceptions WHERE run_id = :run1))) AS assign_carried;
SELECT (SELECT o.run_id FROM tpwallet.recon_exceptions x JOIN tpwallet.recon_exceptions o ON o.exception_id = x.continues_exception_id
         WHERE x.exception_id = (SELECT min(exception_id) FROM tpwallet.recon_exceptions WHERE run_id = :run1)) = :run2 AS hint_names_run2s;

-- tolerances: with 1 of absolute tolerance the fee-shifted line matches (fuzzy)
SELECT tpwallet.reconcile('rm-bank', 'rm-ledger', '2024-06-01Z', '2024-06-02Z', '{"amount_tolerance": 1}') AS run_tol \gset
SELECT * FROM test.rm_matches(:run_tol) WHERE rule = 'fuzzy';
-- a fee tolerance of 0: the fee-shifted pair is an amount mismatch
SELECT tpwallet.reconcile('rm-bank', 'rm-ledger', '2024-06-01Z', '2024-06-02Z', '{"fee_tolerance": 0}') AS run_nofee \gset
SELECT item, class FROM test.rm_exceptions(:run_nofee) WHERE item LIKE '%tx-2%' OR item LIKE '%fee%';

-- ===================================================== carry-forward
-- the next day, with a two-day time window: the items left open by the
-- last run of June 1 (the one with no fee tolerance) are candidates again:
-- L6 finds its late line, the delayed L3 is within the window now, the
-- fee-shifted pair is a fee difference again; items that run matched are
-- not candidates, and the duplicate line is still a duplicate
SELECT tpwallet.reconcile('rm-bank', 'rm-ledger', '2024-06-02Z', '2024-06-03Z', '{"time_window": "2 days"}') AS run3 \gset
SELECT * FROM test.rm_matches(:run3);
SELECT * FROM test.rm_exceptions(:run3);
-- the earlier windows' exceptions on items run3 matched are resolved by run3's match
SELECT x.run_id < :run3 AS earlier, x.status, x.resolution, x.match_id = mm.match_id AS by_that_match, count(*)
  FROM tpwallet.recon_match_members mm
  JOIN tpwallet.recon_exceptions x ON x.item_id = mm.item_id AND x.run_id <> mm.run_id
  JOIN tpwallet.recon_runs xr ON xr.run_id = x.run_id AND xr.window_to <= '2024-06-02Z'
 WHERE mm.run_id = :run3
 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;

-- ===================================================== the database enforces one use per run
SELECT test.err(format($$INSERT INTO tpwallet.recon_match_members SELECT * FROM tpwallet.recon_match_members WHERE run_id = %s LIMIT 1$$, :run1));
SELECT test.err(format($$INSERT INTO tpwallet.recon_exceptions (run_id, item_id, side, source, class)
	SELECT run_id, item_id, side, source, 'timing' FROM tpwallet.recon_exceptions WHERE run_id = %s LIMIT 1$$, :run1));
SELECT test.err($$UPDATE tpwallet.recon_matches SET confidence = 0.5$$);
SELECT test.err($$DELETE FROM tpwallet.recon_match_members$$);
SELECT test.err($$DELETE FROM tpwallet.recon_exceptions$$);
SELECT test.err($$DELETE FROM tpwallet.recon_runs$$);
SELECT test.err($$TRUNCATE tpwallet.recon_matches$$);
SELECT tpwallet._guards_intact();

-- ===================================================== errors (nothing written)
SELECT count(*) AS runs FROM tpwallet.recon_runs;
SELECT test.err($$SELECT tpwallet.reconcile('rm-bank', 'rm-ledger', '2024-06-02Z', '2024-06-01Z')$$);
SELECT test.err($$SELECT tpwallet.reconcile('rm-nobody', 'rm-ledger', '2024-06-01Z', '2024-06-02Z')$$);
SELECT test.err($$SELECT tpwallet.reconcile('rm-bank', 'rm-nobody', '2024-06-01Z', '2024-06-02Z')$$);
SELECT test.err($$SELECT tpwallet.reconcile('rm-bank', 'rm-bank', '2024-06-01Z', '2024-06-02Z')$$);
SELECT test.err($$SELECT tpwallet.reconcile('rm-bank', 'rm-ledger', NULL, '2024-06-02Z')$$);
SELECT test.err($$SELECT tpwallet.reconcile('rm-bank', 'rm-ledger', '2024-06-01Z', '2024-06-02Z', '{"tolerance": 1}')$$);
SELECT test.err($$SELECT tpwallet.reconcile('rm-bank', 'rm-ledger', '2024-06-01Z', '2024-06-02Z', '{"amount_tolerance": -1}')$$);
SELECT test.err($$SELECT tpwallet.reconcile('rm-bank', 'rm-ledger', '2024-06-01Z', '2024-06-02Z', '{"time_window": "soon"}')$$);
SELECT test.err($$SELECT tpwallet.reconcile('rm-bank', 'rm-ledger', '2024-06-01Z', '2024-06-02Z', '[]')$$);
SELECT count(*) AS runs FROM tpwallet.recon_runs;

-- ===================================================== roles
CREATE ROLE regress_rm_reader;
CREATE ROLE regress_rm_operator;
GRANT tpwallet_reader TO regress_rm_reader;
GRANT tpwallet_operator TO regress_rm_operator;
SET ROLE regress_rm_reader;
SELECT (SELECT count(*) FROM tpwallet.recon_runs) > 0 AND (SELECT count(*) FROM tpwallet.recon_match_items) > 0
   AND (SELECT count(*) FROM tpwallet.recon_exceptions) > 0 AND (SELECT count(*) FROM tpwallet.recon_matches) > 0 AS reader_reads;
SELECT test.err($$SELECT tpwallet.reconcile('rm-bank', 'rm-ledger', '2024-06-01Z', '2024-06-02Z')$$);
RESET ROLE;
SET ROLE regress_rm_operator;
SELECT tpwallet.reconcile('rm-bank', 'rm-ledger', '2024-06-01Z', '2024-06-02Z') > :run3 AS operator_runs;
SELECT test.err($$SELECT tpwallet._recon_match(1, 0, 0, 0, 0, 0, interval '1 day')$$);
RESET ROLE;
SELECT started_by = session_user AS recorded FROM tpwallet.recon_runs ORDER BY run_id DESC LIMIT 1;
DROP OWNED BY regress_rm_reader, regress_rm_operator;
DROP ROLE regress_rm_reader, regress_rm_operator;

-- ===================================================== partial matches
-- One bank line for three postings (a payout batch), two bank lines for one
-- posting (a split transfer), a line that two different sets of postings
-- make (not guessed), and the same with partial matching off.
SELECT tpwallet.create_account('rp:bank:USD', 'ops', 'USD', 'debit') > 0 AS created;
SELECT tpwallet.create_recon_source('rp-ledger', 'ledger', '{"accounts": ["rp:bank:USD"]}') > 0
   AND tpwallet.create_recon_source('rp-bank', 'statement', '{"asset": "USD"}') > 0 AS sources;
CREATE FUNCTION test.rp_post(amount numeric, ref text, at text) RETURNS boolean
LANGUAGE sql AS $$
	SELECT CASE WHEN amount > 0
	            THEN tpwallet.transfer('rp:bank:USD', 'rm:world:USD', amount, reference => ref, occurred_at => at::timestamptz)
	            ELSE tpwallet.transfer('rm:world:USD', 'rp:bank:USD', -amount, reference => ref, occurred_at => at::timestamptz)
	       END > 0
$$;
SELECT test.rp_post(1000.00, 'deposit-4', '2024-07-01 08:00Z')  -- one deposit, two bank lines
   AND test.rp_post(-120.50, 'payout-1', '2024-07-01 09:00Z')   -- three payouts, one bank line of -300.75
   AND test.rp_post(-80.25, 'payout-2', '2024-07-01 09:01Z')
   AND test.rp_post(-100.00, 'payout-3', '2024-07-01 09:02Z')
   AND test.rp_post(60.00, 'p-5', '2024-07-01 15:00Z')          -- 60 + 40 or 70 + 30 make 100
   AND test.rp_post(40.00, 'p-6', '2024-07-01 15:01Z')
   AND test.rp_post(70.00, 'p-7', '2024-07-01 15:02Z')
   AND test.rp_post(30.00, 'p-8', '2024-07-01 15:03Z')
   AS posted;
SELECT tpwallet.import_statement('rp-bank', E'ext_id,amount,occurred_at,memo\n'
	'P1,-300.75,2024-07-01T09:30Z,batch\n'
	'P2,600.00,2024-07-01T08:10Z,part one\n'
	'P3,400.00,2024-07-01T08:20Z,part two\n'
	'P4,100.00,2024-07-01T15:10Z,two ways\n') AS imported;
SELECT tpwallet.reconcile('rp-ledger', 'rp-bank', '2024-07-01Z', '2024-07-02Z') AS rp1 \gset
SELECT * FROM test.rm_matches(:rp1);
SELECT * FROM test.rm_exceptions(:rp1);
SELECT passes - 'left_items' - 'right_items' - 'load_ms' - 'match_ms' - 'write_ms' AS passes FROM tpwallet.recon_runs WHERE run_id = :rp1;
-- the sums balance: the left side of each partial match equals its right side
SELECT bool_and(l = r) AS partial_sums_balance
  FROM (SELECT mi.match_id, sum(i.amount) FILTER (WHERE mi.side = 'left') AS l, sum(i.amount) FILTER (WHERE mi.side = 'right') AS r
          FROM tpwallet.recon_match_items mi JOIN tpwallet.recon_items i USING (item_id)
         WHERE mi.run_id = :rp1 AND mi.rule = 'partial' GROUP BY mi.match_id) s;
-- off: the same window with max_partial_items 0 finds no partial match
SELECT tpwallet.reconcile('rp-ledger', 'rp-bank', '2024-07-01Z', '2024-07-02Z', '{"max_partial_items": 0}') AS rp2 \gset
SELECT count(*) AS partial_matches FROM tpwallet.recon_matches WHERE run_id = :rp2 AND rule = 'partial';
-- at most 2 items: the three payouts are not matched
SELECT tpwallet.reconcile('rp-ledger', 'rp-bank', '2024-07-01Z', '2024-07-02Z', '{"max_partial_items": 2}') AS rp3 \gset
SELECT * FROM test.rm_matches(:rp3);
-- bad rules
SELECT test.err($$SELECT tpwallet.reconcile('rp-ledger', 'rp-bank', '2024-07-01Z', '2024-07-02Z', '{"max_partial_items": 1}')$$);
SELECT test.err($$SELECT tpwallet.reconcile('rp-ledger', 'rp-bank', '2024-07-01Z', '2024-07-02Z', '{"max_partial_items": 2.5}')$$);
SELECT test.err($$SELECT tpwallet.reconcile('rp-ledger', 'rp-bank', '2024-07-01Z', '2024-07-02Z', '{"lookback": "-1 day"}')$$);
SELECT test.err($$SELECT tpwallet.reconcile('rp-ledger', 'rp-bank', '2024-07-01Z', '2024-07-02Z', '{"relative_tolerance": 2}')$$);
-- every run's counts are what its tables hold (reconcile() takes them from the matcher's writes)
SELECT count(*) AS runs, count(*) FILTER (WHERE r.matches = (SELECT count(*) FROM tpwallet.recon_matches m WHERE m.run_id = r.run_id AND m.rule <> 'manual')
                        AND r.matched_items = (SELECT count(*) FROM tpwallet.recon_match_members mm
                                                 JOIN tpwallet.recon_matches m USING (match_id)
                                                WHERE mm.run_id = r.run_id AND m.rule <> 'manual')
                        AND r.exceptions = (SELECT count(*) FROM tpwallet.recon_exceptions x WHERE x.run_id = r.run_id)) AS counts_agree
  FROM tpwallet.recon_runs r WHERE r.status = 'done';
-- the members' key entries, written after their rows in item order: every row has its entry
CREATE EXTENSION IF NOT EXISTS amcheck;
SELECT bt_index_check('tpwallet.recon_match_members_pkey', true);
-- a match's items come through the BRIN on (run_id, match_id)
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM tpwallet.recon_match_members WHERE match_id = 1;
SELECT count(*) = max(m.items) AS match_members_found
  FROM tpwallet.recon_match_members mm JOIN tpwallet.recon_matches m USING (match_id)
 WHERE mm.match_id = (SELECT min(match_id) FROM tpwallet.recon_matches WHERE run_id = :rp1);
RESET enable_seqscan;
-- a run summarizes the BRIN ranges of the members it wrote before it
-- returns (autosummarize's queue would drop most of a big run's): none is
-- left without a summary
SELECT brin_summarize_new_values('tpwallet.recon_match_members_run') AS members_left_unsummarized;
-- every exception is scored as it is recorded (no model yet: the prior),
-- as a rescoring with recon_score_exceptions would score it, and audited
SELECT count(*) AS exceptions, count(*) FILTER (WHERE x.score IS NULL) AS unscored,
       count(*) FILTER (WHERE x.score = round(s.score::numeric, 4)) AS as_rescored
  FROM tpwallet.recon_exceptions x
  LEFT JOIN tpwallet._recon_scores(ARRAY(SELECT exception_id FROM tpwallet.recon_exceptions), NULL) s USING (exception_id);
SELECT count(*) AS runs_with_exceptions,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM tpwallet.audit_log a
                                       WHERE a.action = 'recon_score_exceptions' AND a.object = 'run ' || r.run_id
                                         AND (a.detail ->> 'scored')::int = r.exceptions AND (a.detail ->> 'prior')::boolean)) AS scoring_audited
  FROM tpwallet.recon_runs r WHERE r.exceptions > 0;
