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
#include "storage/bufmgr.h"
#include "catalog/namespace.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

static const char *const total_names[4] = {"debits_posted", "credits_posted",
"debits_pending", "credits_pending"};
static const char *const status_name[1] = {"status"};
static const char *const id_name[1] = {"id"};

/*
 * Where each account's row was last found: the heap TID its primary-key
 * entry points to, the root of its HOT chain.  Totals updates are HOT (no
 * indexed column changes), so later versions hang off that root, and a
 * fetch through it finds the visible one without descending the B-tree --
 * in any backend, whoever updated the row last.  A root that no longer
 * leads to the account (a non-HOT update, or VACUUM freed the slot and it
 * was reused) fails the fetch or the id check and falls back to the index.
 * A rewrite of the table (VACUUM FULL, CLUSTER, TRUNCATE) invalidates its
 * relcache entry, and with it this map.
 */
typedef struct RootTid
{
	int64		id;
	ItemPointerData root;
} RootTid;

#ifndef MAX_REMEMBERED_ROOTS
#define MAX_REMEMBERED_ROOTS 100000	/* about 4 MB per session */
#endif

static HTAB *root_tids = NULL;
static Oid	root_tids_relid = InvalidOid;
static bool root_callback_registered = false;

static void
drop_root_tids(void)
{
	if (root_tids != NULL)
		hash_destroy(root_tids);
	root_tids = NULL;
}

static void
forget_root_tids(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || relid == root_tids_relid)
		drop_root_tids();
}

static void
remember_root(Oid relid, int64 id, ItemPointer root)
{
	RootTid    *e;

	/*
	 * Another accounts table (recreated), or a bound on the memory: a
	 * session that touched very many accounts starts over.
	 */
	if (root_tids != NULL &&
		(relid != root_tids_relid || hash_get_num_entries(root_tids) >= MAX_REMEMBERED_ROOTS))
		drop_root_tids();
	if (root_tids == NULL)
	{
		HASHCTL		ctl;

		if (!root_callback_registered)
		{
			CacheRegisterRelcacheCallback(forget_root_tids, (Datum) 0);
			root_callback_registered = true;
		}
		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(RootTid);
		ctl.hcxt = CacheMemoryContext;
		root_tids = hash_create("tpwallet account roots", 1024, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		root_tids_relid = relid;
	}
	e = hash_search(root_tids, &id, HASH_ENTER, NULL);
	ItemPointerCopy(root, &e->root);
}

struct AccountRows
{
	Relation	accounts;
	Relation	accounts_pkey;
	Relation	deltas;
	Relation	deltas_index;
	TupleTableSlot *slot;
	TupleTableSlot *delta_slot;
	IndexScanDesc pkey_scan;	/* the primary key, when a root does not lead to the row */
	IndexScanDesc delta_scan;	/* the deltas' index, rescanned per account */
	IndexScanDesc probe_scan;	/* the same under the lookup snapshot, for probes */
	BlockNumber nblocks;		/* the table's size under our lock (it cannot shrink) */
	AttrNumber	id_att;
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
	tpw_attnums(RelationGetRelid(r->accounts), 1, id_name, &r->id_att);
	r->nblocks = InvalidBlockNumber;
	tpw_attnums(RelationGetRelid(r->accounts), 4, total_names, r->total_att);
	/* as a statement would: a snapshot of its own (READ COMMITTED) */
	r->snapshot = RegisterSnapshot(GetTransactionSnapshot());
	r->cid = GetCurrentCommandId(true);
	return r;
}

/*
 * *scan (begun under snapshot on first use) positioned on the rows whose
 * first (bigint) key column equals id: one scan per index and call,
 * restarted per account, since beginning and ending one cost more than the
 * probe itself.
 */
static IndexScanDesc
rescan_by_id(IndexScanDesc *scan, Relation heap, Relation index, Snapshot snapshot, int64 id)
{
	ScanKeyData key;

	if (*scan == NULL)
		*scan = index_beginscan(heap, index, snapshot, 1, 0);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(id));
	index_rescan(*scan, &key, 1, NULL, 0);
	return *scan;
}

/*
 * An accounts page is pruned when it is nearly full, not on every read.
 *
 * The index fetch prunes a page whenever its free space is below the
 * fillfactor's reserve and it holds a prunable version.  A page filled to
 * the fillfactor (50 for accounts) is below it from its first totals update
 * on, so every read of it pruned again, for the one or two versions that
 * died since: about 12 k instructions and a WAL record per account per
 * transfer (docs/architecture.md, "Direct writes", has the figures).  Waiting
 * until a fifth of the page is left prunes the versions of a dozen updates
 * at once, and still leaves room for several more HOT updates while another
 * backend's pin keeps the cleanup lock out.  The chains walked in between are
 * a few versions long.
 */
#define ACCOUNT_PAGE_PRUNE_FREE (BLCKSZ / 5)

static void
prune_if_nearly_full(Relation rel, Buffer buffer)
{
	Page		page = BufferGetPage(buffer);

	/* an unlocked look, as heap_page_prune_opt() takes: a hint only */
	if (PageGetHeapFreeSpace(page) < ACCOUNT_PAGE_PRUNE_FREE || PageIsFull(page))
		heap_page_prune_opt(rel, buffer);
}

/*
 * What table_index_fetch_tuple() does for one TID under an MVCC snapshot
 * (follow the HOT chain from root to the version the snapshot sees, store it
 * in the slot), with the pruning above instead of the index fetch's.
 */
static bool
fetch_visible_version(AccountRows *r, ItemPointer root)
{
	BufferHeapTupleTableSlot *bslot = (BufferHeapTupleTableSlot *) r->slot;
	ItemPointerData tid = *root;
	Buffer		buffer;
	bool		all_dead = false;
	bool		found;

	Assert(IsMVCCSnapshot(r->snapshot));

	/*
	 * Drop the slot's pin on the account read before: a batch reads its
	 * accounts in id order, so that is often this very page, and a second
	 * pin of our own would keep the cleanup lock (and the pruning) out.
	 */
	ExecClearTuple(r->slot);
	buffer = ReadBuffer(r->accounts, ItemPointerGetBlockNumber(&tid));
	prune_if_nearly_full(r->accounts, buffer);
	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	found = heap_hot_search_buffer(&tid, r->accounts, buffer, r->snapshot,
								   &bslot->base.tupdata, &all_dead, true);
	bslot->base.tupdata.t_self = tid;
	LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
	if (found)
	{
		r->slot->tts_tableOid = RelationGetRelid(r->accounts);
		ExecStoreBufferHeapTuple(&bslot->base.tupdata, r->slot, buffer);
	}
	ReleaseBuffer(buffer);		/* the slot holds its own pin */
	return found;
}

/* The visible version through the account's remembered root, if it still leads there. */
static bool
find_by_root(AccountRows *r, int64 id, ItemPointer tid)
{
	RootTid    *e;
	ItemPointerData root;
	bool		isnull;

	if (root_tids == NULL || root_tids_relid != RelationGetRelid(r->accounts))
		return false;
	e = hash_search(root_tids, &id, HASH_FIND, NULL);
	if (e == NULL)
		return false;
	ItemPointerCopy(&e->root, &root);
	if (r->nblocks == InvalidBlockNumber)
		r->nblocks = RelationGetNumberOfBlocks(r->accounts);
	if (ItemPointerGetBlockNumber(&root) >= r->nblocks)
		return false;			/* VACUUM truncated the table since */
	if (!fetch_visible_version(r, &root))
		return false;
	if (DatumGetInt64(slot_getattr(r->slot, r->id_att, &isnull)) != id || isnull)
		return false;			/* the slot now holds another account */
	ItemPointerCopy(&r->slot->tts_tid, tid);
	return true;
}

/* The version of the row with this id that our snapshot sees, if any. */
static bool
find_account(AccountRows *r, int64 id, ItemPointer tid)
{
	IndexScanDesc scan;
	bool		found;

	if (find_by_root(r, id, tid))
		return true;
	/*
	 * index_getnext_slot() without the loop's convenience: the fetch
	 * replaces the index entry's TID (the root) by the version's, and the
	 * root is what to remember.  An MVCC snapshot sees at most one version
	 * per entry, so no entry needs a second fetch.
	 */
	scan = rescan_by_id(&r->pkey_scan, r->accounts, r->accounts_pkey, r->snapshot, id);
	found = false;
	for (ItemPointer entry; !found && (entry = index_getnext_tid(scan, ForwardScanDirection)) != NULL;)
	{
		ItemPointerData root = *entry;

		found = index_fetch_heap(scan, r->slot);
		if (found)
		{
			ItemPointerCopy(&r->slot->tts_tid, tid);
			remember_root(RelationGetRelid(r->accounts), id, &root);
		}
	}
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
read_row(AccountRows *r, AccountRow *row)
{
	bool		isnull;
	text	   *status;

	slot_getallattrs(r->slot);
	ItemPointerCopy(&r->slot->tts_tid, &row->tid);
	row->slot = r->slot;
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
			read_row(r, row);
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

AccountLockResult
account_row_read(AccountRows *r, int64 id, AccountRow *row)
{
	ItemPointerData tid;

	if (!find_account(r, id, &tid))
		return ACCOUNT_MISSING;
	read_row(r, row);
	return ACCOUNT_FOUND;
}

/* The deltas' relation, index and slot, opened on first need. */
static void
open_deltas(AccountRows *r)
{
	if (r->deltas != NULL)
		return;
	r->deltas = table_open(tpw_relid("account_deltas"), RowExclusiveLock);
	/* deletes in a publication need a replica identity, as for SQL */
	CheckCmdReplicaIdentity(r->deltas, CMD_DELETE);
	r->deltas_index = index_open(tpw_relid("account_deltas_account"), AccessShareLock);
	r->delta_slot = table_slot_create(r->deltas, NULL);
	tpw_attnums(RelationGetRelid(r->deltas), 4, total_names, r->delta_att);
}

bool
account_has_deltas(AccountRows *r, int64 id)
{
	open_deltas(r);
	return index_getnext_slot(rescan_by_id(&r->probe_scan, r->deltas, r->deltas_index, r->snapshot, id),
							  ForwardScanDirection, r->delta_slot);
}

bool
account_deltas_take(AccountRows *r, int64 id, Numeric *sums)
{
	IndexScanDesc scan;
	bool		any = false;

	open_deltas(r);
	if (r->fold_snapshot == NULL)
	{
		/*
		 * As the DELETE statement this replaces: in READ COMMITTED a snapshot
		 * taken now, after the locks, sees every delta committed before; in
		 * REPEATABLE READ and SERIALIZABLE the transaction's own (a delta it
		 * cannot see stays for a later fold: balance = row + deltas either way).
		 * Taken after the lock, it also sees every delete of another folder of
		 * this account, who held the lock before us.
		 */
		r->fold_snapshot = RegisterSnapshot(GetTransactionSnapshot());
	}
	scan = rescan_by_id(&r->delta_scan, r->deltas, r->deltas_index, r->fold_snapshot, id);
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
	return any;
}

void
account_rows_close(AccountRows *r)
{
	if (r->pkey_scan)
		index_endscan(r->pkey_scan);
	ExecDropSingleTupleTableSlot(r->slot);
	UnregisterSnapshot(r->snapshot);
	index_close(r->accounts_pkey, NoLock);
	table_close(r->accounts, NoLock);
	if (r->deltas)
	{
		if (r->delta_scan)
			index_endscan(r->delta_scan);
		if (r->probe_scan)
			index_endscan(r->probe_scan);
		ExecDropSingleTupleTableSlot(r->delta_slot);
		if (r->fold_snapshot)
			UnregisterSnapshot(r->fold_snapshot);
		index_close(r->deltas_index, NoLock);
		table_close(r->deltas, NoLock);
	}
	/* the deletions are seen by later statements (and by write.c's writers) */
	CommandCounterIncrement();
}
