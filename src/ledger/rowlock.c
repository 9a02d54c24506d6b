/*
 * rowlock.c
 *	  Account row locks and delta folding, without SQL.
 *
 * A transfer used to spend a quarter of its CPU on three small statements
 * (SELECT ... FOR NO KEY UPDATE, the same with SKIP LOCKED, DELETE ...
 * RETURNING of the deltas), nearly all of it in executor start-up and
 * shutdown.  These functions do what those statements did, through the same
 * primitives the executor uses: a primary-key probe, table_tuple_lock() with
 * the executor's flags (follow a concurrent update to its newest version in
 * READ COMMITTED, fail with a serialization error otherwise), and a
 * heap delete of each delta found through its index.
 */
#include "postgres.h"

#include "ledger/rowlock.h"
#include "ledger/amount.h"
#include "tpwallet.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

static const char *const total_names[4] = {"debits_posted", "credits_posted",
"debits_pending", "credits_pending"};
static const char *const status_name[1] = {"status"};

struct AccountRows
{
	Relation	accounts;
	Relation	accounts_pkey;
	Relation	deltas;
	Relation	deltas_index;
	TupleTableSlot *slot;
	TupleTableSlot *delta_slot;
	AttrNumber	status_att;
	AttrNumber	total_att[4];
	AttrNumber	delta_att[4];
	Snapshot	snapshot;		/* finds the rows to lock */
	Snapshot	fold_snapshot;	/* taken after the first lock: sees committed deltas */
	CommandId	cid;
};

AccountRows *
account_rows_open(void)
{
	AccountRows *r = palloc0(sizeof(AccountRows));

	r->accounts = table_open(tpw_relid("accounts"), RowExclusiveLock);
	r->accounts_pkey = index_open(tpw_relid("accounts_pkey"), AccessShareLock);
	r->slot = table_slot_create(r->accounts, NULL);
	tpw_attnums(RelationGetRelid(r->accounts), 1, status_name, &r->status_att);
	tpw_attnums(RelationGetRelid(r->accounts), 4, total_names, r->total_att);
	/* as a statement would: a snapshot of its own (READ COMMITTED) */
	r->snapshot = RegisterSnapshot(GetTransactionSnapshot());
	r->cid = GetCurrentCommandId(true);
	return r;
}

/* An index scan for the rows whose first (bigint) key column equals id. */
static IndexScanDesc
scan_by_id(Relation heap, Relation index, Snapshot snapshot, int64 id)
{
	ScanKeyData key;
	IndexScanDesc scan;

	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(id));
	scan = index_beginscan(heap, index, snapshot, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	return scan;
}

/* The version of the row with this id that our snapshot sees, if any. */
static bool
find_account(AccountRows *r, int64 id, ItemPointer tid)
{
	IndexScanDesc scan = scan_by_id(r->accounts, r->accounts_pkey, r->snapshot, id);
	bool		found;

	found = index_getnext_slot(scan, ForwardScanDirection, r->slot);
	if (found)
		ItemPointerCopy(&r->slot->tts_tid, tid);
	index_endscan(scan);
	return found;
}

static void
serialization_failure(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("could not serialize access due to concurrent update"),
			 errdetail("An account of this request changed after the transaction's snapshot was taken."),
			 errhint("Retry the transaction, or post in a READ COMMITTED transaction.")));
}

static void
read_locked(AccountRows *r, AccountRow *row)
{
	bool		isnull;
	text	   *status;

	slot_getallattrs(r->slot);
	ItemPointerCopy(&r->slot->tts_tid, &row->tid);
	status = DatumGetTextPP(slot_getattr(r->slot, r->status_att, &isnull));
	row->open = VARSIZE_ANY_EXHDR(status) == 4 && memcmp(VARDATA_ANY(status), "open", 4) == 0;
	for (int t = 0; t < 4; t++)
		row->totals[t] = DatumGetNumericCopy(slot_getattr(r->slot, r->total_att[t], &isnull));
}

AccountLockResult
account_row_lock(AccountRows *r, int64 id, LockTupleMode mode, LockWaitPolicy wait,
				 AccountRow *row)
{
	ItemPointerData tid;
	TM_FailureData tmfd;
	TM_Result	result;
	/*
	 * ExecLockRows' flags: lock versions an in-progress update made too
	 * (without it a key-share lock could stay on a version a totals update
	 * replaced, and close_account would not wait for us), and in READ
	 * COMMITTED follow a committed update to the newest version.
	 */
	uint8		flags = TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS |
		(IsolationUsesXactSnapshot() ? 0 : TUPLE_LOCK_FLAG_FIND_LAST_VERSION);

	if (!find_account(r, id, &tid))
		return ACCOUNT_MISSING;
	result = table_tuple_lock(r->accounts, &tid, r->snapshot, r->slot, r->cid, mode, wait,
							  flags, &tmfd);
	switch (result)
	{
		case TM_Ok:
			read_locked(r, row);
			return ACCOUNT_LOCKED;
		case TM_WouldBlock:
			return ACCOUNT_BUSY;
		case TM_Updated:
		case TM_Deleted:
			if (IsolationUsesXactSnapshot())
				serialization_failure();
			/* READ COMMITTED follows updates; only a deletion gets here */
			return ACCOUNT_MISSING;
		default:
			elog(ERROR, "unexpected result %d locking account %lld", (int) result,
				 (long long) id);
	}
	return ACCOUNT_MISSING;		/* not reached */
}

bool
account_deltas_take(AccountRows *r, int64 id, Numeric *sums)
{
	IndexScanDesc scan;
	bool		any = false;

	if (r->deltas == NULL)
	{
		r->deltas = table_open(tpw_relid("account_deltas"), RowExclusiveLock);
		/* deletes in a publication need a replica identity, as for SQL */
		CheckCmdReplicaIdentity(r->deltas, CMD_DELETE);
		r->deltas_index = index_open(tpw_relid("account_deltas_account"), AccessShareLock);
		r->delta_slot = table_slot_create(r->deltas, NULL);
		tpw_attnums(RelationGetRelid(r->deltas), 4, total_names, r->delta_att);
		/*
		 * As the DELETE statement this replaces: in READ COMMITTED a snapshot
		 * taken now, after the locks, sees every delta committed before; in
		 * REPEATABLE READ and SERIALIZABLE the transaction's own (a delta it
		 * cannot see stays for a later fold: balance = row + deltas either way).
		 */
		r->fold_snapshot = RegisterSnapshot(GetTransactionSnapshot());
	}
	scan = scan_by_id(r->deltas, r->deltas_index, r->fold_snapshot, id);
	while (index_getnext_slot(scan, ForwardScanDirection, r->delta_slot))
	{
		bool		isnull;

		for (int t = 0; t < 4; t++)
		{
			Numeric		v = DatumGetNumeric(slot_getattr(r->delta_slot, r->delta_att[t], &isnull));

			sums[t] = any ? amount_add(sums[t], v) : DatumGetNumericCopy(NumericGetDatum(v));
		}
		any = true;
		/* only holders of the account's row lock delete its deltas: no race */
		simple_heap_delete(r->deltas, &r->delta_slot->tts_tid);
	}
	index_endscan(scan);
	return any;
}

void
account_rows_close(AccountRows *r)
{
	ExecDropSingleTupleTableSlot(r->slot);
	UnregisterSnapshot(r->snapshot);
	index_close(r->accounts_pkey, NoLock);
	table_close(r->accounts, NoLock);
	if (r->deltas)
	{
		ExecDropSingleTupleTableSlot(r->delta_slot);
		UnregisterSnapshot(r->fold_snapshot);
		index_close(r->deltas_index, NoLock);
		table_close(r->deltas, NoLock);
	}
	/* the deletions are seen by later statements (and by write.c's writers) */
	CommandCounterIncrement();
}
