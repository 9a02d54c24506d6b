/*
 * job_lock.c
 *	  The session lock a reconcile_window() job holds while its backend works
 *	  on it, released when the job's transaction aborts.
 *
 * The lock is a session-level advisory lock (it must outlive the chunks'
 * commits), which pg_locks shows to everyone: that is how recon_progress
 * tells a running job from an interrupted one.  A session lock survives an
 * error, though: a chunk that failed (a statement timeout, a cancel, bad
 * data) left its job "running" and refused to every other session until
 * the failed session ended.  So the lock is taken here, remembered, and an
 * abort of the top-level transaction releases it: the job then shows as
 * interrupted and anyone can resume it.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lock.h"

#define JOB_LOCK_KEY 1919247213 /* 'recm'; SQL reads it via _recon_job_lock_key() */

static bool callback_registered = false;
static bool job_lock_held = false;
static LOCKTAG job_lock_tag;

static void
job_lock_tag_of(int64 job, LOCKTAG *tag)
{
	/* the same tag as pg_advisory_lock(int4, int4) */
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) JOB_LOCK_KEY,
						 (uint32) (job % INT64CONST(2147483648)), 2);
}

static void
release_on_abort(XactEvent event, void *arg)
{
	if ((event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) && job_lock_held)
	{
		job_lock_held = false;
		if (LockHeldByMe(&job_lock_tag, ExclusiveLock))
			LockRelease(&job_lock_tag, ExclusiveLock, true);
	}
}

PG_FUNCTION_INFO_V1(tpwallet_recon_job_lock_key);
Datum
tpwallet_recon_job_lock_key(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(JOB_LOCK_KEY);
}

PG_FUNCTION_INFO_V1(tpwallet_recon_job_lock);
Datum
tpwallet_recon_job_lock(PG_FUNCTION_ARGS)
{
	int64		job = PG_GETARG_INT64(0);
	LOCKTAG		tag;

	if (!callback_registered)
	{
		RegisterXactCallback(release_on_abort, NULL);
		callback_registered = true;
	}
	job_lock_tag_of(job, &tag);
	if (!LockHeldByMe(&tag, ExclusiveLock))
		(void) LockAcquire(&tag, ExclusiveLock, true, false);
	job_lock_tag = tag;
	job_lock_held = true;
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(tpwallet_recon_job_unlock);
Datum
tpwallet_recon_job_unlock(PG_FUNCTION_ARGS)
{
	int64		job = PG_GETARG_INT64(0);
	LOCKTAG		tag;

	job_lock_tag_of(job, &tag);
	if (LockHeldByMe(&tag, ExclusiveLock))
		LockRelease(&tag, ExclusiveLock, true);
	if (job_lock_held && memcmp(&tag, &job_lock_tag, sizeof(tag)) == 0)
		job_lock_held = false;
	PG_RETURN_VOID();
}
