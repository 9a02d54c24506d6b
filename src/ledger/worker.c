/*
 * worker.c
 *	  The sealer background worker: every tpwallet.seal_interval it seals
 *	  new journal entries, folds account deltas into account rows and
 *	  expires holds, each in its own short transaction.
 *
 * Modelled on pg_cron's launcher: registered from _PG_init, connects to
 * tpwallet.database, sleeps on its latch, reloads its configuration on
 * SIGHUP, exits on SIGTERM, and is restarted by the postmaster after a
 * crash (bgw_restart_time).  It does nothing while the extension is absent.
 */
#include "postgres.h"

#include "tpwallet.h"
#include "ledger/seal.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

PGDLLEXPORT void tpwallet_sealer_main(Datum arg);

/*
 * Register one of tpwallet's static background workers (from _PG_init while
 * preloading): connected to a database, started after recovery, restarted
 * by the postmaster 5 s after it exits or crashes.
 */
void
tpw_register_worker(const char *function, const char *name)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	strlcpy(worker.bgw_library_name, "tpwallet", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, function, BGW_MAXLEN);
	strlcpy(worker.bgw_name, name, BGW_MAXLEN);
	strlcpy(worker.bgw_type, name, BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

void
tpwallet_register_workers(void)
{
	tpw_register_worker("tpwallet_sealer_main", "tpwallet sealer");
}

/*
 * Lock the extension against DROP EXTENSION for the rest of the
 * transaction, and say whether it still exists.  DROP EXTENSION locks the
 * extension before its members, so it then waits for the step to end
 * instead of deadlocking with it (it would lock a table the step is about
 * to use while the step waits for one it holds).
 */
bool
tpw_lock_extension(Oid ext)
{
	LockDatabaseObject(ExtensionRelationId, ext, 0, AccessShareLock);
	return get_extension_oid("tpwallet", true) == ext;
}

/*
 * Run one step of a worker in its own transaction, with SPI connected; an
 * error is logged (prefixed with the worker's name) and the transaction
 * aborted, and the worker goes on.  Returns false when the step failed.
 */
bool
tpw_run_step(const char *worker, const char *what, tpw_step_fn step, void *arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, what);
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		step(arg);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		ereport(LOG,
				(errmsg("%s: %s failed: %s", worker, what, edata->message)));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	pgstat_report_activity(STATE_IDLE, NULL);
	return ok;
}

/* A sealer step: one SQL statement, while the extension exists. */
static void
sealer_statement(void *arg)
{
	const char *sql = (const char *) arg;
	Oid			ext = get_extension_oid("tpwallet", true);

	if (OidIsValid(ext) && tpw_lock_extension(ext) && SPI_execute(sql, false, 0) < 0)
		elog(ERROR, "\"%s\" failed", sql);
}

static void
run_step(const char *what, const char *sql)
{
	(void) tpw_run_step("tpwallet sealer", what, sealer_statement, (void *) sql);
}

void
tpwallet_sealer_main(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(tpwallet_database, NULL, 0);
	ereport(LOG, (errmsg("tpwallet sealer started in database \"%s\"", tpwallet_database)));

	for (;;)
	{
		long		timeout = tpwallet_seal_interval_ms > 0 ? tpwallet_seal_interval_ms : 60000;

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (tpwallet_seal_interval_ms <= 0)
			continue;
		run_step("seal", "SELECT tpwallet.seal()");
		run_step("fold balance deltas", "SELECT tpwallet.fold_deltas()");
		run_step("expire holds", "SELECT tpwallet.expire_holds()");
		run_step("summarize index ranges", "SELECT tpwallet.summarize_new_ranges()");
	}
}
