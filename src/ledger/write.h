/*
 * write.h
 *	  Direct table writes for the posting engine: rows go through the table
 *	  access method and the relation's indexes, as COPY does, not through the
 *	  SQL executor.  See write.c for why and for what that bypasses.
 */
#ifndef TPWALLET_WRITE_H
#define TPWALLET_WRITE_H

#include "postgres.h"
#include "access/tableam.h"
#include "storage/itemptr.h"

typedef struct TableWriter TableWriter;

/*
 * Open tpwallet.<relname> for writing the given columns (every other column
 * must be one the caller never writes: an insert leaves it NULL, an update
 * keeps it).  Refuses a table with triggers these writes would bypass.
 * columns must be a static array: its attribute numbers are cached by its
 * address (names.c).
 */
extern TableWriter *writer_open(const char *relname, int ncols, const char *const *columns);

/* Next row to insert: fill values[0..ncols) and nulls[0..ncols) in column order. */
extern void writer_row(TableWriter *w, Datum **values, bool **nulls);

/* Insert the buffered rows and their index entries (also done every 128 rows). */
extern void writer_flush(TableWriter *w);

/*
 * Heap only from here on: the following rows' index entries are left to
 * writer_index_row(), for a caller that inserts them in key order (a
 * B-tree then takes each key next to the previous one instead of at a
 * random leaf).  tids[k] receives the TID of the k-th row written after
 * this call; it must have room for every such row.
 */
extern void writer_defer_indexes(TableWriter *w, ItemPointerData *tids);

/* The index entries of a row written by a deferring writer (flushed first). */
extern void writer_index_row(TableWriter *w, const Datum *values, const bool *nulls, ItemPointer tid);

/*
 * Read the current version of the row at tid into values/nulls (column
 * order), then replace those columns by writer_update.  The caller holds the
 * row lock, so the version it locked is the one it updates.
 */
extern void writer_fetch(TableWriter *w, ItemPointer tid, Datum *values, bool *nulls);
extern void writer_update(TableWriter *w, ItemPointer tid, const Datum *values, const bool *nulls);

/*
 * One attempt to update the row version in old (a slot of this table, as
 * the caller fetched it) to carry the given column values, without a row
 * lock taken first: the update itself locks the row.  TM_Ok, or the failure
 * table_tuple_update() reports, with nothing written: TM_Updated or
 * TM_Deleted (the version is no longer the newest; with wait, after waiting
 * for the transaction that changed it), TM_BeingModified (wait = false and
 * another transaction holds or is changing the row).
 */
extern TM_Result writer_try_update(TableWriter *w, TupleTableSlot *old, const Datum *values,
								   const bool *nulls, bool wait);

/*
 * INSERT ... ON CONFLICT DO NOTHING for one row, the table's unique indexes
 * as arbiters: true if inserted; false if a row with the same key exists
 * (committed, or this transaction's), whose values then replace values/nulls.
 */
extern bool writer_insert_or_fetch(TableWriter *w, Datum *values, bool *nulls);

/* Flush, close indexes and the relation, and make the rows visible to later statements. */
extern void writer_close(TableWriter *w);

#endif
