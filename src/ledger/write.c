/*
 * write.c
 *	  Direct table writes for the posting engine.
 *
 * The engine has every row it writes as values in memory, already checked.
 * Handing them to SQL (one statement of unnest() arrays) cost more than half
 * of a transfer's CPU: planning-free but still an executor start per call,
 * a tuplestore per unnest(), the CHECK expressions parsed again for every
 * statement, and a per-row projection.  Here the rows go the way COPY sends
 * them: table_multi_insert() into the heap, then ExecInsertIndexTuples() for
 * every index (unique ones checked as usual), and table_tuple_update() for
 * the account totals, under the row lock the engine already holds.
 *
 * What this bypasses, on purpose:
 *	- CHECK constraints: the engine guarantees them (ids from the sequence,
 *	  non-negative totals checked below, NOT NULL by construction);
 *	- column defaults: every column of an inserted table is written;
 *	- triggers: a table with an INSERT trigger, or a row UPDATE trigger, is
 *	  refused rather than written behind the trigger's back.  The guards on
 *	  UPDATE, DELETE and TRUNCATE are statement triggers (and keep refusing
 *	  SQL writes); the accounts' identity guard, a row trigger, watches
 *	  columns these writes never change, so it is the one exception;
 *	- permission checks: the engine runs as the tables' owner anyway.
 */
#include "postgres.h"

#include "ledger/write.h"
#include "tpwallet.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_trigger.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

/*
 * Rows per table_multi_insert(): a few heap pages' worth.  The slots are
 * reused from one flush to the next, so a batch of any size costs this many.
 */
#define WRITER_BATCH 128


struct TableWriter
{
	Relation	rel;
	TupleDesc	desc;			/* an unpinned copy: slots need no resource owner */
	MemoryContext flush_cxt;	/* what table_multi_insert leaks, reset per flush */
	bool		updates_checked;	/* triggers and replica identity, for updates */
	EState	   *estate;
	ResultRelInfo *rri;
	int			ncols;
	AttrNumber *attnums;		/* column i of the caller -> attribute number */
	TupleTableSlot **slots;		/* buffered rows to insert */
	Datum	  **values;			/* their values in caller order */
	bool	  **nulls;
	int			nrows;
	int			maxrows;
	bool		inserts_checked;	/* columns left out may be NULL (see below) */
	TupleTableSlot *oldslot;	/* for updates and conflicts */
	TupleTableSlot *newslot;
	List	   *arbiters;		/* unique indexes, once insert_or_fetch is used */
	bool		indexes_open;	/* see open_indexes */
	ItemPointerData *deferred_tids; /* see writer_defer_indexes */
	uint64		n_deferred;
	uint64		n_indexed;		/* ... and how many of them writer_index_row took */
	bool		indexes_speculative;
	CommandId	cid;
};

/*
 * A trigger these writes would go around.  Inserts: any INSERT trigger,
 * internal ones included (a foreign key's check, a deferred unique
 * constraint).  Updates: row UPDATE triggers other than internal ones (the
 * accounts' foreign key to assets, checked only when the asset changes,
 * which these updates never do) and the accounts' own identity guard.
 */
static const char *
bypassed_trigger(Relation rel, CmdType op)
{
	TriggerDesc *t = rel->trigdesc;

	if (t == NULL)
		return NULL;
	for (int i = 0; i < t->numtriggers; i++)
	{
		Trigger    *tg = &t->triggers[i];

		if (op == CMD_INSERT && TRIGGER_FOR_INSERT(tg->tgtype))
			return tg->tgname;
		if (op == CMD_UPDATE && TRIGGER_FOR_UPDATE(tg->tgtype) && TRIGGER_FOR_ROW(tg->tgtype) &&
			!tg->tgisinternal && strcmp(tg->tgname, "tpwallet_guard_identity") != 0)
			return tg->tgname;
	}
	return NULL;
}

static void
refuse_bypassed_trigger(TableWriter *w, CmdType op)
{
	const char *name = bypassed_trigger(w->rel, op);

	if (name != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table tpwallet.%s has a trigger \"%s\" the posting engine cannot fire",
						RelationGetRelationName(w->rel), name),
				 errdetail("The posting engine writes ledger tables through the table access method, as COPY does; a trigger on them would not see every row."),
				 errhint("Drop the trigger; follow the ledger by the journal id or by logical decoding instead.")));
	/* a publication of updates or deletes needs the replica identity, as for SQL */
	CheckCmdReplicaIdentity(w->rel, op);
}

TableWriter *
writer_open(const char *relname, int ncols, const char *const *columns)
{
	TableWriter *w = palloc0(sizeof(TableWriter));
	Oid			relid = tpw_relid(relname);

	w->rel = table_open(relid, RowExclusiveLock);
	if (w->rel->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("tpwallet.%s is not a plain table", relname),
				 errdetail("The posting engine writes its tables through the table access method; a partitioned table or a view cannot take those writes.")));
	w->ncols = ncols;
	w->attnums = palloc(sizeof(AttrNumber) * ncols);
	tpw_attnums(relid, ncols, columns, w->attnums);
	w->desc = CreateTupleDescCopy(RelationGetDescr(w->rel));
	w->estate = CreateExecutorState();
	/*
	 * What InitResultRelInfo() sets up for a plain table, but for the copy
	 * of the table's trigger descriptor (a sixth of opening a writer): the
	 * writer fires no triggers, and nothing it calls reads them.
	 */
	w->rri = makeNode(ResultRelInfo);
	w->rri->ri_RangeTableIndex = 1;
	w->rri->ri_RelationDesc = w->rel;
	w->cid = GetCurrentCommandId(true);
	w->flush_cxt = AllocSetContextCreate(CurrentMemoryContext, "tpwallet writer flush",
										 ALLOCSET_DEFAULT_SIZES);
	return w;
}

/*
 * ExecCloseIndices() without its unlocks: an index stays locked to the end
 * of the transaction, as its table does: the next writer of the same table
 * (the next call in this transaction) finds the lock in the local lock
 * table, and no lock is released one by one only for all of them to be
 * released together at commit anyway.
 */
static void
close_indexes(TableWriter *w)
{
	for (int i = 0; i < w->rri->ri_NumIndices; i++)
		if (w->rri->ri_IndexRelationDescs[i] != NULL)
			index_close(w->rri->ri_IndexRelationDescs[i], NoLock);
	w->rri->ri_NumIndices = 0;
}

/*
 * Open (and lock) the table's indexes, as the executor does for a result
 * relation; on first need only: an account's totals update is HOT and
 * touches no index, so its writer never opens them.  speculative: with
 * the unique indexes' information for ON CONFLICT.
 */
static void
open_indexes(TableWriter *w, bool speculative)
{
	if (w->indexes_open)
	{
		if (!speculative || w->indexes_speculative)
			return;
		close_indexes(w);
	}
	ExecOpenIndices(w->rri, speculative);
	w->indexes_open = true;
	w->indexes_speculative = speculative;
	for (int i = 0; i < w->rri->ri_NumIndices; i++)
		if (!w->rri->ri_IndexRelationDescs[i]->rd_index->indimmediate)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("index %s of tpwallet.%s is a deferrable constraint",
							RelationGetRelationName(w->rri->ri_IndexRelationDescs[i]),
							RelationGetRelationName(w->rel)),
					 errdetail("The posting engine checks unique indexes when it inserts; a deferred check would need the executor's triggers.")));
}

/* The index inserts' list of deferred checks: always empty (see open_indexes). */
static void
insert_index_entries(TableWriter *w, TupleTableSlot *slot)
{
	List	   *recheck = ExecInsertIndexTuples(w->rri, slot, w->estate, false, false, NULL, NIL);

	if (recheck != NIL)
		elog(ERROR, "tpwallet.%s: unexpected deferred index check", RelationGetRelationName(w->rel));
	ResetPerTupleExprContext(w->estate);
}

/*
 * An inserted row leaves every column it does not name NULL, with no
 * default and no NOT NULL check: refuse a table where that would be wrong
 * (a column added later, say), instead of writing a bad row.
 */
static void
check_left_out_columns(TableWriter *w)
{
	/* the relation's own descriptor: a copy has no defaults or NOT NULL flags */
	TupleDesc	desc = RelationGetDescr(w->rel);

	refuse_bypassed_trigger(w, CMD_INSERT);
	for (int a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);
		bool		named = false;

		if (att->attisdropped)
			continue;
		for (int i = 0; i < w->ncols; i++)
			named |= w->attnums[i] == att->attnum;
		if (!named && (att->attnotnull || att->atthasdef || att->attidentity || att->attgenerated))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("column %s of tpwallet.%s is not written by the posting engine",
							NameStr(att->attname), RelationGetRelationName(w->rel)),
					 errdetail("The column has a default, is NOT NULL, an identity or generated; the engine's direct writes would leave it NULL."),
					 errhint("A column added to a ledger table needs the engine to write it.")));
	}
	w->inserts_checked = true;
}

void
writer_row(TableWriter *w, Datum **values, bool **nulls)
{
	if (!w->inserts_checked)
		check_left_out_columns(w);
	if (w->nrows == WRITER_BATCH)
		writer_flush(w);
	if (w->nrows == w->maxrows)
	{
		/* from two (a transfer's legs): slots are made and dropped per call */
		int			n = Max(2, w->maxrows * 2);

		n = Min(n, WRITER_BATCH);
		w->slots = w->slots ? repalloc(w->slots, sizeof(TupleTableSlot *) * n)
			: palloc(sizeof(TupleTableSlot *) * n);
		w->values = w->values ? repalloc(w->values, sizeof(Datum *) * n)
			: palloc(sizeof(Datum *) * n);
		w->nulls = w->nulls ? repalloc(w->nulls, sizeof(bool *) * n)
			: palloc(sizeof(bool *) * n);
		for (int i = w->maxrows; i < n; i++)
		{
			w->slots[i] = MakeSingleTupleTableSlot(w->desc, &TTSOpsVirtual);
			w->values[i] = palloc(sizeof(Datum) * w->ncols);
			w->nulls[i] = palloc(sizeof(bool) * w->ncols);
		}
		w->maxrows = n;
	}
	memset(w->nulls[w->nrows], 0, sizeof(bool) * w->ncols);
	*values = w->values[w->nrows];
	*nulls = w->nulls[w->nrows];
	w->nrows++;
}

/* Move a row's values into its slot: unnamed columns are NULL. */
static void
fill_slot(TableWriter *w, TupleTableSlot *slot, const Datum *values, const bool *nulls)
{
	int			natts = slot->tts_tupleDescriptor->natts;

	ExecClearTuple(slot);
	for (int a = 0; a < natts; a++)
	{
		slot->tts_values[a] = (Datum) 0;
		slot->tts_isnull[a] = true;
	}
	for (int i = 0; i < w->ncols; i++)
	{
		slot->tts_values[w->attnums[i] - 1] = values[i];
		slot->tts_isnull[w->attnums[i] - 1] = nulls[i];
	}
	ExecStoreVirtualTuple(slot);
}

void
writer_flush(TableWriter *w)
{
	MemoryContext old;

	if (w->nrows == 0)
		return;
	open_indexes(w, false);
	for (int r = 0; r < w->nrows; r++)
		fill_slot(w, w->slots[r], w->values[r], w->nulls[r]);
	/* heap tuples formed from the virtual slots are not freed by the AM (as in COPY) */
	old = MemoryContextSwitchTo(w->flush_cxt);
	table_multi_insert(w->rel, w->slots, w->nrows, w->cid, 0, NULL);
	MemoryContextSwitchTo(old);
	if (w->deferred_tids != NULL)
		for (int r = 0; r < w->nrows; r++)
			w->deferred_tids[w->n_deferred++] = w->slots[r]->tts_tid;
	else if (w->rri->ri_NumIndices > 0)
		for (int r = 0; r < w->nrows; r++)
			insert_index_entries(w, w->slots[r]);
	for (int r = 0; r < w->nrows; r++)
		ExecClearTuple(w->slots[r]);
	MemoryContextReset(w->flush_cxt);
	w->nrows = 0;
}

void
writer_defer_indexes(TableWriter *w, ItemPointerData *tids)
{
	writer_flush(w);
	w->deferred_tids = tids;
	w->n_deferred = 0;
}

void
writer_index_row(TableWriter *w, const Datum *values, const bool *nulls, ItemPointer tid)
{
	TupleTableSlot *slot;

	if (w->deferred_tids == NULL || w->nrows != 0 || w->n_indexed >= w->n_deferred)
		elog(ERROR, "tpwallet.%s: index entries written before their rows", RelationGetRelationName(w->rel));
	w->n_indexed++;
	open_indexes(w, false);
	if (w->rri->ri_NumIndices == 0)
		return;
	/* a slot of the last flush is free: its row is in the heap */
	slot = w->slots[0];
	fill_slot(w, slot, values, nulls);
	slot->tts_tid = *tid;
	insert_index_entries(w, slot);
	ExecClearTuple(slot);
}

/* The two slots of fetches, updates and conflicts, made on first use. */
static void
ensure_row_slots(TableWriter *w)
{
	if (w->oldslot == NULL)
	{
		w->oldslot = table_slot_create(w->rel, NULL);
		w->newslot = table_slot_create(w->rel, NULL);
	}
}

/* Before the first update: triggers and replica identity. */
static void
check_updates(TableWriter *w)
{
	if (!w->updates_checked)
	{
		refuse_bypassed_trigger(w, CMD_UPDATE);
		w->updates_checked = true;
	}
	ensure_row_slots(w);
}

/* w->oldslot's values of the writer's columns, in the caller's order. */
static void
old_row_columns(TableWriter *w, Datum *values, bool *nulls)
{
	slot_getallattrs(w->oldslot);
	for (int i = 0; i < w->ncols; i++)
	{
		values[i] = w->oldslot->tts_values[w->attnums[i] - 1];
		nulls[i] = w->oldslot->tts_isnull[w->attnums[i] - 1];
	}
}

void
writer_fetch(TableWriter *w, ItemPointer tid, Datum *values, bool *nulls)
{
	check_updates(w);
	if (!table_tuple_fetch_row_version(w->rel, tid, SnapshotAny, w->oldslot))
		elog(ERROR, "row (%u,%u) of tpwallet.%s vanished under its lock",
			 ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid),
			 RelationGetRelationName(w->rel));
	old_row_columns(w, values, nulls);
}

/* The new version: the old row's values with the writer's columns replaced. */
static TupleTableSlot *
new_version(TableWriter *w, TupleTableSlot *old, const Datum *values, const bool *nulls)
{
	TupleTableSlot *slot = w->newslot;
	int			natts = slot->tts_tupleDescriptor->natts;

	slot_getallattrs(old);
	ExecClearTuple(slot);
	memcpy(slot->tts_values, old->tts_values, sizeof(Datum) * natts);
	memcpy(slot->tts_isnull, old->tts_isnull, sizeof(bool) * natts);
	for (int i = 0; i < w->ncols; i++)
	{
		slot->tts_values[w->attnums[i] - 1] = values[i];
		slot->tts_isnull[w->attnums[i] - 1] = nulls[i];
	}
	ExecStoreVirtualTuple(slot);
	return slot;
}

/* One table_tuple_update() of the version at tid; index entries if not HOT. */
static TM_Result
update_version(TableWriter *w, ItemPointer tid, TupleTableSlot *slot, bool wait)
{
	TM_FailureData tmfd;
	LockTupleMode lockmode;
	bool		update_indexes;
	TM_Result	result;

	result = table_tuple_update(w->rel, tid, slot, w->cid, GetActiveSnapshot(),
								InvalidSnapshot, wait, &tmfd, &lockmode, &update_indexes);
	if (result == TM_Ok && update_indexes)
	{
		/*
		 * update = false: "true" only adds the B-tree's hint that the key is
		 * unchanged, and finding that out needs a range table we do not
		 * have.  Rows are mostly updated HOT anyway (fillfactor 50).
		 */
		open_indexes(w, false);
		if (w->rri->ri_NumIndices > 0)
			insert_index_entries(w, slot);
	}
	return result;
}

void
writer_update(TableWriter *w, ItemPointer tid, const Datum *values, const bool *nulls)
{
	TM_Result	result;

	Assert(ItemPointerEquals(tid, &w->oldslot->tts_tid));
	result = update_version(w, tid, new_version(w, w->oldslot, values, nulls), true);
	if (result != TM_Ok)
		elog(ERROR, "row (%u,%u) of tpwallet.%s changed under its lock (%d)",
			 ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid),
			 RelationGetRelationName(w->rel), (int) result);
}

TM_Result
writer_try_update(TableWriter *w, TupleTableSlot *old, const Datum *values, const bool *nulls,
				  bool wait)
{
	ItemPointerData tid = old->tts_tid;

	check_updates(w);
	return update_version(w, &tid, new_version(w, old, values, nulls), wait);
}

static TransactionId
conflict_xmin(TupleTableSlot *slot)
{
	bool		isnull;

	return DatumGetTransactionId(slot_getsysattr(slot, MinTransactionIdAttributeNumber, &isnull));
}

/* The conflicting row, which REPEATABLE READ must see unless we wrote it (as ExecCheckTupleVisible). */
static void
fetch_conflict(TableWriter *w, ItemPointer tid, Datum *values, bool *nulls)
{
	if (!table_tuple_fetch_row_version(w->rel, tid, SnapshotAny, w->oldslot))
		elog(ERROR, "failed to fetch the conflicting row of tpwallet.%s",
			 RelationGetRelationName(w->rel));
	if (IsolationUsesXactSnapshot() &&
		!table_tuple_satisfies_snapshot(w->rel, w->oldslot, GetTransactionSnapshot()) &&
		!TransactionIdIsCurrentTransactionId(conflict_xmin(w->oldslot)))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to concurrent update"),
				 errdetail("Another transaction used the same key after this one's snapshot."),
				 errhint("Retry the transaction.")));
	old_row_columns(w, values, nulls);
}

/*
 * INSERT ... ON CONFLICT DO NOTHING by the executor's speculative insertion
 * protocol, optimistic: insert speculatively first (a key is new nearly
 * always; the executor's pre-check would cost a second index descent per
 * key), and only when the unique index reports a conflict, kill our tuple,
 * look for the existing row (waiting for a transaction that is inserting
 * it) and return it -- or start again if that transaction rolled back.
 * Unique indexes are the arbiters.
 */
bool
writer_insert_or_fetch(TableWriter *w, Datum *values, bool *nulls)
{
	TransactionId xid = GetCurrentTransactionId();

	if (!w->inserts_checked)
		check_left_out_columns(w);
	ensure_row_slots(w);
	if (w->arbiters == NIL)
	{
		open_indexes(w, true);
		for (int i = 0; i < w->rri->ri_NumIndices; i++)
			if (w->rri->ri_IndexRelationDescs[i]->rd_index->indisunique)
				w->arbiters = lappend_oid(w->arbiters,
										  RelationGetRelid(w->rri->ri_IndexRelationDescs[i]));
		if (w->arbiters == NIL)
			elog(ERROR, "tpwallet.%s has no unique index", RelationGetRelationName(w->rel));
	}
	for (;;)
	{
		ItemPointerData conflict;
		uint32		token;
		bool		conflicted = false;

		CHECK_FOR_INTERRUPTS();
		fill_slot(w, w->newslot, values, nulls);
		token = SpeculativeInsertionLockAcquire(xid);
		table_tuple_insert_speculative(w->rel, w->newslot, w->cid, 0, NULL, token);
		list_free(ExecInsertIndexTuples(w->rri, w->newslot, w->estate, false, true,
										&conflicted, w->arbiters));
		table_tuple_complete_speculative(w->rel, w->newslot, token, !conflicted);
		SpeculativeInsertionLockRelease(xid);
		ResetPerTupleExprContext(w->estate);
		if (!conflicted)
			return true;
		if (!ExecCheckIndexConstraints(w->rri, w->newslot, w->estate, &conflict, w->arbiters))
		{
			fetch_conflict(w, &conflict, values, nulls);
			return false;
		}
	}
}

void
writer_close(TableWriter *w)
{
	writer_flush(w);
	/* a row without its index entries would be a corrupt index, not a slow one */
	if (w->n_indexed != w->n_deferred)
		elog(ERROR, "tpwallet.%s: %llu rows written without their index entries",
			 RelationGetRelationName(w->rel), (unsigned long long) (w->n_deferred - w->n_indexed));
	for (int r = 0; r < w->maxrows; r++)
		ExecDropSingleTupleTableSlot(w->slots[r]);
	if (w->oldslot)
	{
		ExecDropSingleTupleTableSlot(w->oldslot);
		ExecDropSingleTupleTableSlot(w->newslot);
	}
	close_indexes(w);
	FreeExecutorState(w->estate);
	MemoryContextDelete(w->flush_cxt);
	table_close(w->rel, NoLock);
	/* later statements of this transaction (and of this call) see the rows */
	CommandCounterIncrement();
}
