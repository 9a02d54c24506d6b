/*
 * frost_nonce.c
 *	  Durable, exactly-once consumption of FROST round-one nonces.
 *
 * The danger: frost_sign returns a signature share computed from stored
 * nonces.  If the deletion of those nonces were part of the caller's
 * transaction, a ROLLBACK (or a savepoint rollback, or a crash before the
 * commit) would bring the nonces back after the share had already left the
 * database, and a second share over another message would reveal the
 * signing share.  So the nonces of a commitment made by an earlier
 * transaction are consumed by a short-lived background worker in a
 * transaction of its own, which commits the deletion and the use record
 * (primary key on commitment_id) before the caller computes anything.
 * A commitment made in the caller's own transaction needs none of this: a
 * rollback removes the commitment together with its use.
 *
 * The worker gets its request and returns the sealed nonces through a
 * dynamic shared memory segment; the caller waits for it to exit.
 */
#include "postgres.h"

#include "crypto/frost_nonce.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

#define SEALED_MAX 256

typedef struct ConsumeRequest
{
	/* in */
	Oid			database;
	int64		commitment_id;
	int64		share_id;
	uint8		message_hash[32];
	char		used_by[NAMEDATALEN];
	/* out */
	int			status;			/* FROST_CONSUME_* */
	int			sealed_len;
	uint8		sealed[SEALED_MAX];
	char		error[256];
} ConsumeRequest;

PGDLLEXPORT void tpwallet_frost_consume_main(Datum arg);

static void
consume_in_worker(ConsumeRequest *req)
{
	Oid			types[4] = {INT8OID, INT8OID, BYTEAOID, TEXTOID};
	Datum		args[4];
	bool		isnull;
	bytea	   *sealed;

	args[0] = Int64GetDatum(req->commitment_id);
	args[1] = Int64GetDatum(req->share_id);
	if (SPI_execute_with_args("DELETE FROM tpwallet.frost_nonces WHERE commitment_id = $1 AND share_id = $2"
							  " RETURNING sealed", 2, types, args, NULL, false, 0) != SPI_OK_DELETE_RETURNING)
		elog(ERROR, "could not take the nonces");
	if (SPI_processed == 0)
	{
		req->status = FROST_CONSUME_GONE;
		return;
	}
	sealed = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (VARSIZE_ANY_EXHDR(sealed) > SEALED_MAX)
		elog(ERROR, "sealed nonces too large");
	req->sealed_len = VARSIZE_ANY_EXHDR(sealed);
	memcpy(req->sealed, VARDATA_ANY(sealed), req->sealed_len);

	{
		bytea	   *h = palloc(VARHDRSZ + 32);

		SET_VARSIZE(h, VARHDRSZ + 32);
		memcpy(VARDATA(h), req->message_hash, 32);
		args[2] = PointerGetDatum(h);
	}
	args[3] = CStringGetTextDatum(req->used_by);
	if (SPI_execute_with_args("INSERT INTO tpwallet.frost_nonce_uses (commitment_id, share_id, message_hash, used_by)"
							  " VALUES ($1, $2, $3, $4)", 4, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the nonce use");
	req->status = FROST_CONSUME_OK;
}

void
tpwallet_frost_consume_main(Datum arg)
{
	dsm_segment *seg;
	ConsumeRequest *req;

	BackgroundWorkerUnblockSignals();
	seg = dsm_attach(DatumGetUInt32(arg));
	if (seg == NULL)
		ereport(ERROR, (errmsg("tpwallet nonce consumer: could not attach to its request")));
	req = (ConsumeRequest *) dsm_segment_address(seg);
	/* a fixed statement pair on behalf of frost_sign, as the bootstrap superuser */
	BackgroundWorkerInitializeConnectionByOid(req->database, BOOTSTRAP_SUPERUSERID, 0);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "consume FROST nonces");
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		consume_in_worker(req);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata = CopyErrorData();

		strlcpy(req->error, edata->message, sizeof(req->error));
		req->status = FROST_CONSUME_ERROR;
		req->sealed_len = 0;
		PG_RE_THROW();
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	dsm_detach(seg);
}

int
tpw_frost_consume_durably(int64 commitment_id, int64 share_id, const uint8 message_hash[32],
						  bytea **sealed)
{
	dsm_segment *seg = dsm_create(sizeof(ConsumeRequest), 0);
	ConsumeRequest *req = (ConsumeRequest *) dsm_segment_address(seg);
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	BgwHandleStatus status;
	pid_t		pid;
	int			result;

	memset(req, 0, sizeof(*req));
	req->database = MyDatabaseId;
	req->commitment_id = commitment_id;
	req->share_id = share_id;
	memcpy(req->message_hash, message_hash, 32);
	strlcpy(req->used_by, GetUserNameFromId(GetSessionUserId(), false), NAMEDATALEN);
	req->status = FROST_CONSUME_ERROR;
	strlcpy(req->error, "the nonce consumer did not run", sizeof(req->error));

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "tpwallet", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "tpwallet_frost_consume_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "tpwallet FROST nonce consumer", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "tpwallet nonce consumer", BGW_MAXLEN);
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start the FROST nonce consumer"),
				 errdetail("No background worker slot is free."),
				 errhint("Raise max_worker_processes, or retry.")));
	status = WaitForBackgroundWorkerStartup(handle, &pid);
	if (status == BGWH_STARTED)
		status = WaitForBackgroundWorkerShutdown(handle);
	if (status == BGWH_POSTMASTER_DIED)
		ereport(FATAL, (errmsg("the postmaster died while consuming FROST nonces")));

	result = req->status;
	if (result == FROST_CONSUME_OK)
	{
		*sealed = palloc(VARHDRSZ + req->sealed_len);
		SET_VARSIZE(*sealed, VARHDRSZ + req->sealed_len);
		memcpy(VARDATA(*sealed), req->sealed, req->sealed_len);
		explicit_bzero(req->sealed, sizeof(req->sealed));
	}
	else if (result == FROST_CONSUME_ERROR)
	{
		char	   *why = pstrdup(req->error);

		dsm_detach(seg);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not consume the FROST nonces: %s", why),
				 errdetail("Nothing was signed.")));
	}
	dsm_detach(seg);
	return result;
}
