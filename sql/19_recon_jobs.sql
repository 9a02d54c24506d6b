-- Reconciliation, part 3: a window reconciled chunk by chunk by the
-- procedure reconcile_window(), its progress, its errors.  (Resuming
-- after a killed session is the scenario test recon_jobs.t.)
\set SHOW_CONTEXT never
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM tpwallet.assets WHERE code = 'USD') THEN
		PERFORM tpwallet.create_asset('USD', 2, 'fiat');
	END IF;
END $$;
SELECT tpwallet.create_account('rj:bank:USD', 'ops', 'USD', 'debit') > 0
   AND tpwallet.create_account('rj:world:USD', 'ops', 'USD', 'debit', allow_negative => true) > 0
   AND tpwallet.create_recon_source('rj-ledger', 'ledger', '{"accounts": ["rj:bank:USD"]}') > 0
   AND tpwallet.create_recon_source('rj-bank', 'statement', '{"asset": "USD"}') > 0 AS set_up;
-- three days, four deposits a day; the bank books the last one of each day
-- after midnight (carried into the next chunk and matched there)
SELECT count(tpwallet.transfer('rj:bank:USD', 'rj:world:USD', 10 * d + k, reference => format('d%s-%s', d, k),
                               occurred_at => timestamptz '2024-08-01Z' + (d - 1) * interval '1 day' + k * interval '5 hours 50 minutes'))
  AS posted
  FROM generate_series(1, 3) d, generate_series(1, 4) k;
SELECT tpwallet.import_statement('rj-bank',
	'ext_id,amount,occurred_at,txid' || E'\n' ||
	string_agg(format('E%s-%s,%s,%s,d%s-%s', d, k, 10 * d + k,
	                  to_char((timestamptz '2024-08-01Z' + (d - 1) * interval '1 day' + k * interval '5 hours 50 minutes'
	                           + CASE WHEN k = 4 THEN interval '50 minutes' ELSE interval '0' END) AT TIME ZONE 'UTC',
	                          'YYYY-MM-DD"T"HH24:MI:SS"Z"'), d, k), E'\n' ORDER BY d, k)) AS imported
  FROM generate_series(1, 3) d, generate_series(1, 4) k;

CALL tpwallet.reconcile_window('rj-ledger', 'rj-bank', '2024-08-01Z', '2024-08-04Z');
SELECT left_source, right_source, chunks_done, chunks_total, percent, items, cardinality(runs) AS runs, status,
       current_chunk_from, resumed, eta
  FROM tpwallet.recon_progress WHERE left_source = 'rj-ledger';
-- one run per chunk, each of one day; together every item matched once
CREATE VIEW test.rj_runs AS
SELECT r.* FROM tpwallet.recon_runs r JOIN tpwallet.recon_progress p ON r.run_id = ANY (p.runs) WHERE p.left_source = 'rj-ledger';
SELECT r.window_from AT TIME ZONE 'UTC' AS chunk_from, r.window_to AT TIME ZONE 'UTC' AS chunk_to,
       r.left_items, r.right_items, r.matches, r.exceptions
  FROM test.rj_runs r ORDER BY r.run_id;
-- every item matched at most once in all: 11 pairs (the last late line is after the window)
SELECT count(*) AS matched_items, count(DISTINCT item_id) AS distinct_items
  FROM tpwallet.recon_match_items WHERE run_id IN (SELECT run_id FROM test.rj_runs);
-- the late-booked deposit of each day is an exception of its day's chunk,
-- carried into the next chunk and matched there (the last day's line is
-- after the window)
SELECT to_char(r.window_from AT TIME ZONE 'UTC', 'MM-DD') AS chunk, x.class, i.txid
  FROM tpwallet.recon_exceptions x JOIN tpwallet.recon_items i USING (item_id) JOIN test.rj_runs r USING (run_id)
 ORDER BY x.exception_id;
SELECT to_char(r.window_from AT TIME ZONE 'UTC', 'MM-DD') AS chunk, mi.rule, i.txid, mi.side
  FROM tpwallet.recon_match_items mi JOIN tpwallet.recon_items i USING (item_id) JOIN test.rj_runs r USING (run_id)
 WHERE i.txid LIKE '%-4' ORDER BY mi.run_id, mi.side;

-- errors: nothing is written
SELECT count(*) AS jobs_before FROM tpwallet.recon_jobs \gset
SELECT test.err($$CALL tpwallet.reconcile_window('rj-ledger', 'rj-bank', '2024-08-04Z', '2024-08-01Z')$$);
SELECT test.err($$CALL tpwallet.reconcile_window('rj-ledger', 'rj-bank', '2024-08-01Z', '2024-08-01Z')$$);
SELECT test.err($$CALL tpwallet.reconcile_window('rj-ledger', 'nope', '2024-08-01Z', '2024-08-04Z')$$);
SELECT test.err($$CALL tpwallet.reconcile_window('rj-ledger', 'rj-ledger', '2024-08-01Z', '2024-08-04Z')$$);
SELECT test.err($$CALL tpwallet.reconcile_window('rj-ledger', 'rj-bank', '2024-08-01Z', '2024-08-04Z', '{}', '0 seconds')$$);
SELECT test.err($$CALL tpwallet.reconcile_window('rj-ledger', 'rj-bank', '2024-08-01Z', '2024-08-04Z', '{}', '1 second')$$);
SELECT test.err($$CALL tpwallet.reconcile_window('rj-ledger', 'rj-bank', '2024-08-01Z', '2024-08-04Z', '{"time_window": "soon"}')$$);
SELECT count(*) = :jobs_before AS nothing_written FROM tpwallet.recon_jobs;
-- inside a transaction block the procedure cannot commit
BEGIN;
SELECT test.err($$CALL tpwallet.reconcile_window('rj-ledger', 'rj-bank', '2024-08-01Z', '2024-08-02Z')$$);
ROLLBACK;
-- the internals cannot be driven by hand: a step of a job not this session's
SELECT test.err(format('SELECT tpwallet._recon_job_step(%s)', (SELECT max(job_id) FROM tpwallet.recon_jobs)));

-- roles: a reader watches, an operator runs
CREATE ROLE regress_rj_reader;
GRANT tpwallet_reader TO regress_rj_reader;
SET ROLE regress_rj_reader;
SELECT count(*) AS jobs_seen FROM tpwallet.recon_progress;
SELECT test.err($$CALL tpwallet.reconcile_window('rj-ledger', 'rj-bank', '2024-08-01Z', '2024-08-02Z')$$);
RESET ROLE;
DROP OWNED BY regress_rj_reader;
DROP ROLE regress_rj_reader;
SELECT tpwallet._guards_intact();

-- ===================================================== ops book vs gl book
-- The same movements in both books (the gl entry carries the ops entry's
-- reference): two ledger sources reconcile like a statement and a ledger.
-- One gl entry is missing, one was booked with another amount.
SELECT tpwallet.create_account('rb:ops:bank:USD', 'ops', 'USD', 'debit') > 0
   AND tpwallet.create_account('rb:ops:world:USD', 'ops', 'USD', 'debit', allow_negative => true) > 0
   AND tpwallet.create_account('rb:gl:cash:USD', 'gl', 'USD', 'debit') > 0
   AND tpwallet.create_account('rb:gl:customers:USD', 'gl', 'USD', 'credit', allow_negative => true) > 0
   AND tpwallet.create_recon_source('rb-ops', 'ledger', '{"book": "ops", "accounts": ["rb:ops:bank:USD"]}') > 0
   AND tpwallet.create_recon_source('rb-gl', 'ledger', '{"book": "gl", "accounts": ["rb:gl:cash:USD"]}') > 0 AS set_up;
SELECT count(tpwallet.transfer('rb:ops:bank:USD', 'rb:ops:world:USD', 100 + k, reference => 'dep-' || k,
                               occurred_at => timestamptz '2024-09-10 10:00Z' + k * interval '1 minute')) AS ops_posted
  FROM generate_series(1, 5) k;
SELECT count(tpwallet.transfer('rb:gl:cash:USD', 'rb:gl:customers:USD', CASE WHEN k = 4 THEN 140 ELSE 100 + k END,
                               reference => 'dep-' || k, occurred_at => timestamptz '2024-09-10 10:30Z' + k * interval '1 minute')) AS gl_posted
  FROM generate_series(1, 4) k;
SELECT tpwallet.reconcile('rb-ops', 'rb-gl', '2024-09-10Z', '2024-09-11Z') AS rb \gset
SELECT mi.rule, count(*) FILTER (WHERE mi.side = 'left') AS pairs
  FROM tpwallet.recon_match_items mi WHERE mi.run_id = :rb GROUP BY mi.rule;
SELECT x.side, x.class, i.txid, i.amount, i.extra ->> 'book' AS book
  FROM tpwallet.recon_exceptions x JOIN tpwallet.recon_items i USING (item_id) WHERE x.run_id = :rb ORDER BY x.side, i.txid;

-- ======================================= a chunk that fails mid-job
-- A failed chunk (here a trigger refusing the second day's run; in life a
-- statement timeout, a cancel, bad data) must not leave the job "running"
-- with its session lock held: the job is interrupted, resumable by anyone.
SELECT tpwallet.create_recon_source('rf-ledger', 'ledger', '{"accounts": ["rj:bank:USD"]}') > 0
   AND tpwallet.create_recon_source('rf-bank', 'statement', '{"asset": "USD"}') > 0 AS set_up;
CREATE FUNCTION test.refuse_day2() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.window_from = timestamptz '2024-08-02Z' THEN
		RAISE EXCEPTION 'chunk refused for the test';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER refuse_day2 BEFORE INSERT ON tpwallet.recon_runs FOR EACH ROW EXECUTE FUNCTION test.refuse_day2();
CALL tpwallet.reconcile_window('rf-ledger', 'rf-bank', '2024-08-01Z', '2024-08-04Z');
SELECT chunks_done, chunks_total, status FROM tpwallet.recon_progress WHERE left_source = 'rf-ledger';
SELECT count(*) AS job_locks_left FROM pg_locks
 WHERE locktype = 'advisory' AND classid = tpwallet._recon_job_lock_key()::oid AND pid = pg_backend_pid();
DROP TRIGGER refuse_day2 ON tpwallet.recon_runs;
CALL tpwallet.reconcile_window('rf-ledger', 'rf-bank', '2024-08-01Z', '2024-08-04Z');
SELECT chunks_done, chunks_total, status, cardinality(runs) AS runs FROM tpwallet.recon_progress WHERE left_source = 'rf-ledger';
SELECT count(*) AS job_locks_left FROM pg_locks
 WHERE locktype = 'advisory' AND classid = tpwallet._recon_job_lock_key()::oid AND pid = pg_backend_pid();
