-- ===================================================================
-- Reconciliation, part 3: long runs as a procedure.  reconcile_window()
-- cuts a window into chunks and reconciles each in its own transaction,
-- so a month of items does not need one huge transaction, another session
-- sees the progress (recon_progress), and a run killed half-way resumes at
-- its first unfinished chunk when called again with the same arguments.
-- Made for pg_cron (docs/reconciliation.md, "Scheduling").
-- ===================================================================

CREATE TABLE tpwallet.recon_jobs (
	job_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	left_source_id   int NOT NULL,
	right_source_id  int NOT NULL,
	window_from      timestamptz NOT NULL,
	window_to        timestamptz NOT NULL,
	rules            jsonb NOT NULL,              -- as given (reconcile() records them with defaults per run)
	chunk            interval NOT NULL CHECK (chunk > interval '0'),
	chunks_total     int NOT NULL CHECK (chunks_total >= 1),
	chunks_done      int NOT NULL DEFAULT 0,
	next_from        timestamptz NOT NULL,        -- the first chunk not done
	status           text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done')),
	runs             bigint[] NOT NULL DEFAULT '{}',
	items            bigint NOT NULL DEFAULT 0,   -- candidates of the chunks done, both sides
	started_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
	started_by       text NOT NULL DEFAULT session_user,
	updated_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
	finished_at      timestamptz,
	-- the backend working on it: it holds a session advisory lock on the job
	-- until the job is done; a job whose lock is gone was interrupted
	pid              int,
	resumed          int NOT NULL DEFAULT 0,      -- times it was taken up again after an interruption
	CHECK (chunks_done BETWEEN 0 AND chunks_total),
	CHECK (window_from < window_to)
);
CREATE INDEX recon_jobs_sources ON tpwallet.recon_jobs (left_source_id, right_source_id, status);
SELECT tpwallet._guard('recon_jobs', 'DELETE');

-- The advisory lock a job's backend holds while it works on the job
-- (session level: it outlives the chunks' commits and dies with the
-- session).  pg_locks shows it to everyone; pg_stat_activity would hide
-- other roles' sessions from the function owner.
CREATE FUNCTION tpwallet._recon_job_lock_key()
RETURNS int
LANGUAGE C IMMUTABLE
AS 'MODULE_PATHNAME', 'tpwallet_recon_job_lock_key';   -- one constant, in job_lock.c

-- Take and release that lock (src/recon/job_lock.c): an abort of the
-- job's transaction releases it too, so a failed chunk leaves the job
-- interrupted and resumable by anyone, not "running" until its session ends.
CREATE FUNCTION tpwallet._recon_job_lock(job bigint)
RETURNS void
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'tpwallet_recon_job_lock';

CREATE FUNCTION tpwallet._recon_job_unlock(job bigint)
RETURNS void
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'tpwallet_recon_job_unlock';

CREATE FUNCTION tpwallet._recon_job_alive(job bigint, job_pid int)
RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, tpwallet
AS $$
	SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l
	                WHERE l.locktype = 'advisory' AND l.granted AND l.pid = job_pid
	                  AND l.classid = tpwallet._recon_job_lock_key()::oid AND l.objid = (job % 2147483648)::oid
	                  AND l.objsubid = 2)
$$;

CREATE VIEW tpwallet.recon_progress AS
SELECT j.job_id, l.name AS left_source, r.name AS right_source, j.window_from, j.window_to, j.chunk,
       j.chunks_done, j.chunks_total,
       round(100.0 * j.chunks_done / j.chunks_total, 1) AS percent,
       j.items, j.runs,
       CASE WHEN j.status = 'done' THEN 'done'
            WHEN tpwallet._recon_job_alive(j.job_id, j.pid) THEN 'running'
            ELSE 'interrupted' END AS status,
       CASE WHEN j.status = 'running' THEN j.next_from END AS current_chunk_from,
       j.started_at, j.updated_at, j.finished_at, j.resumed,
       CASE WHEN j.status = 'running' AND j.chunks_done > 0
            THEN j.updated_at + (j.updated_at - j.started_at) / j.chunks_done * (j.chunks_total - j.chunks_done) END AS eta
  FROM tpwallet.recon_jobs j
  JOIN tpwallet.recon_sources l ON l.id = j.left_source_id
  JOIN tpwallet.recon_sources r ON r.id = j.right_source_id;
COMMENT ON VIEW tpwallet.recon_progress IS
	'Jobs of reconcile_window(): chunks done of all, items, runs, status (running, interrupted, done) and an estimated end.';

-- Check the arguments and take up (or create) the job for them; refuse
-- when another live job works on the same two sources.
CREATE FUNCTION tpwallet._recon_job_take(left_source text, right_source text, lo timestamptz, hi timestamptz,
                                         rules jsonb, step interval)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	j tpwallet.recon_jobs;
	lsrc int;
	rsrc int;
	r jsonb := coalesce(rules, '{}');
	n bigint;
BEGIN
	IF lo IS NULL OR hi IS NULL OR step IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'from, to and chunk must not be null';
	END IF;
	IF lo >= hi THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'from must be before to',
			HINT = 'The window is [from, to): from inclusive, to exclusive.';
	END IF;
	IF extract(epoch FROM step) < 1 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('chunk must be at least 1 second, not %s', step);
	END IF;
	IF extract(epoch FROM hi - lo) / extract(epoch FROM step) > 100000 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'more than 100000 chunks', HINT = 'Use a longer chunk.';
	END IF;
	SELECT s.id INTO lsrc FROM tpwallet.recon_sources s WHERE s.name = left_source;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('reconciliation source "%s" does not exist', left_source);
	END IF;
	SELECT s.id INTO rsrc FROM tpwallet.recon_sources s WHERE s.name = right_source;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('reconciliation source "%s" does not exist', right_source);
	END IF;
	IF lsrc = rsrc THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a run compares two different sources';
	END IF;
	PERFORM tpwallet._recon_rules(r);   -- bad rules fail before anything is written

	-- one job at a time per pair: serialize the check
	PERFORM pg_advisory_xact_lock(hashtext('tpwallet.recon_jobs'), hashtext(least(lsrc, rsrc) || ':' || greatest(lsrc, rsrc)));
	FOR j IN SELECT * FROM tpwallet.recon_jobs x
	          WHERE least(x.left_source_id, x.right_source_id) = least(lsrc, rsrc)
	            AND greatest(x.left_source_id, x.right_source_id) = greatest(lsrc, rsrc)
	            AND x.status = 'running'
	          ORDER BY x.job_id FOR UPDATE
	LOOP
		IF tpwallet._recon_job_alive(j.job_id, j.pid) AND j.pid <> pg_backend_pid() THEN
			RAISE EXCEPTION USING ERRCODE = '55P03',
				MESSAGE = format('reconciliation job %s on the same sources is running (backend %s)', j.job_id, j.pid),
				HINT = 'Watch it in tpwallet.recon_progress; call again when it has finished.';
		END IF;
		IF j.left_source_id = lsrc AND j.right_source_id = rsrc AND j.window_from = lo AND j.window_to = hi
		   AND j.rules = r AND j.chunk = step THEN
			IF NOT tpwallet._recon_job_alive(j.job_id, pg_backend_pid()) THEN
				PERFORM tpwallet._recon_job_lock(j.job_id);
			END IF;
			UPDATE tpwallet.recon_jobs SET pid = pg_backend_pid(),
			       resumed = resumed + CASE WHEN j.pid = pg_backend_pid() THEN 0 ELSE 1 END,
			       updated_at = clock_timestamp()
			 WHERE job_id = j.job_id;
			INSERT INTO tpwallet.audit_log (action, object, detail)
			VALUES ('reconcile_window_resume', left_source || ' ~ ' || right_source,
			        jsonb_build_object('job_id', j.job_id, 'chunks_done', j.chunks_done, 'chunks_total', j.chunks_total));
			RETURN j.job_id;
		END IF;
	END LOOP;
	INSERT INTO tpwallet.recon_jobs (left_source_id, right_source_id, window_from, window_to, rules, chunk,
	                                 chunks_total, next_from, pid)
	VALUES (lsrc, rsrc, lo, hi, r, step, greatest(ceil(extract(epoch FROM hi - lo) / extract(epoch FROM step))::int, 1),
	        lo, pg_backend_pid())
	RETURNING job_id INTO n;
	PERFORM tpwallet._recon_job_lock(n);
	RETURN n;
END
$$;

-- Reconcile the job's next chunk (one reconcile() run) and record it;
-- false when the job is complete (and then marked done).
CREATE FUNCTION tpwallet._recon_job_step(job bigint)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tpwallet
AS $$
DECLARE
	j tpwallet.recon_jobs;
	run bigint;
	c_to timestamptz;
	lname text;
	rname text;
BEGIN
	SELECT * INTO j FROM tpwallet.recon_jobs WHERE job_id = job FOR UPDATE;
	IF NOT FOUND OR j.status <> 'running' OR j.pid IS DISTINCT FROM pg_backend_pid() THEN
		RAISE EXCEPTION USING ERRCODE = '55P03', MESSAGE = format('reconciliation job %s is not this session''s', job),
			HINT = 'Call tpwallet.reconcile_window() with the job''s arguments to take it up.';
	END IF;
	SELECT name INTO lname FROM tpwallet.recon_sources WHERE id = j.left_source_id;
	SELECT name INTO rname FROM tpwallet.recon_sources WHERE id = j.right_source_id;
	IF j.next_from >= j.window_to THEN
		UPDATE tpwallet.recon_jobs SET status = 'done', finished_at = clock_timestamp(), updated_at = clock_timestamp()
		 WHERE job_id = job;
		PERFORM tpwallet._recon_job_unlock(job);
		INSERT INTO tpwallet.audit_log (action, object, detail)
		VALUES ('reconcile_window', lname || ' ~ ' || rname,
		        jsonb_build_object('job_id', job, 'from', j.window_from, 'to', j.window_to, 'chunk', j.chunk,
		                           'runs', j.runs, 'resumed', j.resumed));
		RETURN false;
	END IF;
	c_to := least(j.next_from + j.chunk, j.window_to);
	run := tpwallet.reconcile(lname, rname, j.next_from, c_to, j.rules);
	UPDATE tpwallet.recon_runs SET job_id = job WHERE run_id = run;
	UPDATE tpwallet.recon_jobs
	   SET chunks_done = chunks_done + 1, next_from = c_to, runs = runs || run, updated_at = clock_timestamp(),
	       items = items + (SELECT coalesce(rr.left_items, 0) + coalesce(rr.right_items, 0) FROM tpwallet.recon_runs rr WHERE rr.run_id = run)
	 WHERE job_id = job;
	RETURN true;
END
$$;

-- The procedure itself only commits: a procedure that commits cannot be
-- SECURITY DEFINER or have SET clauses, so the work is in the two
-- functions above, which are.
CREATE PROCEDURE tpwallet.reconcile_window(left_source text, right_source text, "from" timestamptz, "to" timestamptz,
                                           rules jsonb DEFAULT '{}', chunk interval DEFAULT '1 day')
LANGUAGE plpgsql
AS $$
DECLARE
	job bigint;
BEGIN
	job := tpwallet._recon_job_take(left_source, right_source, reconcile_window."from", reconcile_window."to",
	                                rules, reconcile_window.chunk);
	COMMIT;
	WHILE tpwallet._recon_job_step(job) LOOP
		COMMIT;
	END LOOP;
	COMMIT;
END
$$;
COMMENT ON PROCEDURE tpwallet.reconcile_window IS
	'Reconcile [from, to) chunk by chunk, one transaction per chunk, with progress in recon_progress; called again after an interruption it resumes where it stopped.';
