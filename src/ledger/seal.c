/*
 * seal.c
 *	  Seal committed journal entries into blocks: a Merkle root (RFC 6962)
 *	  over their hashes, chained to the book's previous block.
 *
 * Writers never wait for the sealer: it only reads the journal and appends
 * seals.  The hard part is entries that commit late with a lower id than
 * entries already sealed.  Every block records two marks read at seal time:
 * L, the journal sequence's last issued value, and X, the next unassigned
 * transaction id read just after.  Ids are drawn only after the writing
 * transaction has its xid (engine.c), so every entry with id <= L belongs to
 * a transaction with xid < X.  Once a later snapshot's xmin >= X, all of
 * those transactions have ended, so their entries are visible to that
 * snapshot (or rolled back).  The floor of a block is therefore the largest
 * L of an earlier block whose X is <= the sealing snapshot's xmin: every
 * entry at or below it is sealed by then, and each seal only has to look
 * above the previous floor for entries not yet in a block.
 */
#include "postgres.h"

#include "ledger/seal.h"
#include "ledger/engine.h"
#include "ledger/write.h"
#include "crypto/crypto_pg.h"
#include "ledger/merkle.h"
#include "tpwallet.h"

#include "access/transam.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(tpwallet_seal);

static SPIPlanPtr last_block_plan = NULL;
static SPIPlanPtr floor_plan = NULL;
static SPIPlanPtr seq_plan = NULL;
static SPIPlanPtr candidates_plan = NULL;
static SPIPlanPtr insert_seal_plan = NULL;

void
block_hash(const BlockHeader *b, uint8 out[SHA256_LEN])
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, "TPW-BLOCK-v1", 12);
	canon_i64(&buf, b->block_id);
	canon_text(&buf, b->book);
	canon_i64(&buf, b->height);
	canon_u32(&buf, (uint32) b->entry_count);
	canon_i64(&buf, b->first_entry);
	canon_i64(&buf, b->last_entry);
	canon_bytes(&buf, b->merkle_root, SHA256_LEN);
	canon_bytes(&buf, b->prev_hash, SHA256_LEN);
	canon_i64(&buf, b->floor_entry);
	canon_i64(&buf, b->seq_mark);
	canon_i64(&buf, b->xid_mark);
	canon_timestamptz(&buf, b->sealed_at);
	sha256(buf.data, buf.len, out);
	pfree(buf.data);
}

static int64
get_int64(int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/* The marks: last issued journal id, then the next unassigned xid. */
static void
read_marks(int64 *seq_mark, int64 *xid_mark)
{
	ledger_plan(&seq_plan,
				"SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END"
				"  FROM tpwallet.journal_id_seq", 0, NULL);
	if (SPI_execute_plan(seq_plan, NULL, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "journal sequence read failed");
	*seq_mark = get_int64(1);
	/* Read after L: every xid of an id <= L is below this. */
	*xid_mark = (int64) U64FromFullTransactionId(ReadNextFullTransactionId());
}

int64
seal_book(const char *book)
{
	Oid			t1[1] = {TEXTOID};
	Datum		a1[1] = {CStringGetTextDatum(book)};
	BlockHeader b;
	int64		prev_floor = 0;
	int64		floor_entry;
	int			n;
	uint8		(*leaves)[SHA256_LEN];
	Datum	   *member_ids;
	Datum	   *member_idx;

	memset(&b, 0, sizeof(b));
	b.book = book;

	/*
	 * One sealer per book at a time; writers are not involved.  Every
	 * statement below runs with read_only = false so that it takes a fresh
	 * snapshot (in READ COMMITTED): after the lock it sees the block a
	 * concurrent sealer just committed, and statement B sees at least what
	 * statement A's floor vouches for.
	 */
	if (SPI_execute(psprintf("SELECT pg_advisory_xact_lock(1953527655, %d)",
							 strcmp(book, "ops") == 0 ? 1 : 2), false, 0) != SPI_OK_SELECT)
		elog(ERROR, "seal lock failed");

	ledger_plan(&last_block_plan,
				"SELECT height, block_hash, floor_entry FROM tpwallet.seals"
				" WHERE book = $1 ORDER BY height DESC LIMIT 1", 1, t1);
	if (SPI_execute_plan(last_block_plan, a1, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "seal lookup failed");
	if (SPI_processed == 1)
	{
		bool		isnull;
		bytea	   *h = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0],
													  SPI_tuptable->tupdesc, 2, &isnull));

		b.height = get_int64(1) + 1;
		memcpy(b.prev_hash, VARDATA_ANY(h), SHA256_LEN);
		prev_floor = get_int64(3);
	}

	/* Statement A: the floor this snapshot (and every later one) can prove. */
	ledger_plan(&floor_plan,
				"SELECT greatest($2, coalesce(max(seq_mark), 0)) FROM tpwallet.seals"
				" WHERE book = $1 AND xid_mark <= pg_snapshot_xmin(pg_current_snapshot())",
				2, (Oid[]) {TEXTOID, INT8OID});
	if (SPI_execute_plan(floor_plan, (Datum[]) {a1[0], Int64GetDatum(prev_floor)}, NULL, false, 1)
		!= SPI_OK_SELECT)
		elog(ERROR, "seal floor failed");
	floor_entry = get_int64(1);
	read_marks(&b.seq_mark, &b.xid_mark);

	/* Statement B (a snapshot at least as new as A's): what to seal. */
	ledger_plan(&candidates_plan,
				"SELECT j.id, j.hash FROM tpwallet.journal j"
				" WHERE j.book = $1 AND j.id > $2"
				"   AND NOT EXISTS (SELECT 1 FROM tpwallet.block_members m WHERE m.entry_id = j.id)"
				" ORDER BY j.id LIMIT $3",
				3, (Oid[]) {TEXTOID, INT8OID, INT4OID});
	if (SPI_execute_plan(candidates_plan,
						 (Datum[]) {a1[0], Int64GetDatum(prev_floor),
						 Int32GetDatum(tpwallet_seal_max_entries)},
						 NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "seal candidates failed");
	n = (int) SPI_processed;
	if (n == 0)
		return 0;

	leaves = palloc(sizeof(*leaves) * n);
	member_ids = palloc(sizeof(Datum) * n);
	member_idx = palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[i];
		bytea	   *h = DatumGetByteaPP(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));

		member_ids[i] = SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull);
		member_idx[i] = Int32GetDatum(i);
		if (VARSIZE_ANY_EXHDR(h) != SHA256_LEN)
			elog(ERROR, "journal entry " INT64_FORMAT " has a malformed hash",
				 DatumGetInt64(member_ids[i]));
		merkle_leaf((uint8 *) VARDATA_ANY(h), SHA256_LEN, leaves[i]);
	}
	/* A block cut short by the size limit cannot vouch for what lies above it. */
	if (n == tpwallet_seal_max_entries)
		floor_entry = Min(floor_entry, DatumGetInt64(member_ids[n - 1]));
	floor_entry = Max(floor_entry, prev_floor);

	merkle_root((const uint8 (*)[SHA256_LEN]) leaves, n, b.merkle_root);
	b.block_id = ledger_next_id("seal_id_seq");
	b.entry_count = n;
	b.first_entry = DatumGetInt64(member_ids[0]);
	b.last_entry = DatumGetInt64(member_ids[n - 1]);
	b.floor_entry = floor_entry;
	b.sealed_at = GetCurrentTimestamp();
	{
		uint8		bh[SHA256_LEN];
		Oid			types[13] = {INT8OID, TEXTOID, INT8OID, INT4OID, INT8OID, INT8OID, BYTEAOID,
		BYTEAOID, BYTEAOID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID};
		Datum		args[13];

		block_hash(&b, bh);
		args[0] = Int64GetDatum(b.block_id);
		args[1] = a1[0];
		args[2] = Int64GetDatum(b.height);
		args[3] = Int32GetDatum(n);
		args[4] = Int64GetDatum(b.first_entry);
		args[5] = Int64GetDatum(b.last_entry);
		args[6] = PointerGetDatum(tpw_bytea_from(b.merkle_root, SHA256_LEN));
		args[7] = PointerGetDatum(tpw_bytea_from(b.prev_hash, SHA256_LEN));
		args[8] = PointerGetDatum(tpw_bytea_from(bh, SHA256_LEN));
		args[9] = Int64GetDatum(b.floor_entry);
		args[10] = Int64GetDatum(b.seq_mark);
		args[11] = Int64GetDatum(b.xid_mark);
		args[12] = TimestampTzGetDatum(b.sealed_at);
		ledger_plan(&insert_seal_plan,
					"INSERT INTO tpwallet.seals (block_id, book, height, entry_count, first_entry,"
					" last_entry, merkle_root, prev_hash, block_hash, floor_entry, seq_mark, xid_mark,"
					" sealed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
					" $12::text::xid8, $13)",
					13, types);
		if (SPI_execute_plan(insert_seal_plan, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "seal insert failed");
	}
	{
		/* the block's members: one row per entry, through the table writer (write.c) */
		static const char *const member_columns[] = {"entry_id", "leaf_index", "block_id"};
		TableWriter *members = writer_open("block_members", lengthof(member_columns), member_columns);

		for (int i = 0; i < n; i++)
		{
			Datum	   *v;
			bool	   *isnull_row;

			writer_row(members, &v, &isnull_row);
			v[0] = member_ids[i];
			v[1] = member_idx[i];
			v[2] = Int64GetDatum(b.block_id);
		}
		writer_close(members);
	}
	return n;
}

/* tpwallet.seal(): seal both books now; returns the number of entries sealed. */
Datum
tpwallet_seal(PG_FUNCTION_ARGS)
{
	int64		total = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	total += seal_book("ops");
	total += seal_book("gl");
	SPI_finish();
	PG_RETURN_INT64(total);
}
