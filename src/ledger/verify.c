/*
 * verify.c
 *	  Recompute everything: entry hashes from stored values, per-asset
 *	  balance of every entry, Merkle roots of every block, the chain of
 *	  block hashes, and that nothing below the sealed floor escaped a block.
 *	  Also inclusion proofs and their check.
 */
#include "postgres.h"

#include "ledger/amount.h"
#include "ledger/canon.h"
#include "ledger/engine.h"
#include "ledger/merkle.h"
#include "ledger/seal.h"
#include "tpwallet.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(tpwallet_verify_ledger);
PG_FUNCTION_INFO_V1(tpwallet_prove_entry);
PG_FUNCTION_INFO_V1(tpwallet_verify_proof);

#define FETCH_ROWS 5000

typedef struct Finding
{
	bool		has_bad_entry;
	int64		bad_entry;
	bool		has_bad_block;
	int64		bad_block;
	char	   *detail;
	int64		entries;
	int64		blocks;
	MemoryContext cxt;			/* where detail is kept: it outlives the rows' contexts */
} Finding;

/* Any id is a valid finding, 0 and negative ones included (a planted row). */
static void
found_entry(Finding *f, int64 id, char *detail)
{
	if (!f->has_bad_entry || id < f->bad_entry)
	{
		f->has_bad_entry = true;
		f->bad_entry = id;
		if (!f->has_bad_block)
			f->detail = MemoryContextStrdup(f->cxt, detail);
	}
}

static void
found_block(Finding *f, int64 id, char *detail)
{
	if (!f->has_bad_block)
	{
		f->has_bad_block = true;
		f->bad_block = id;
		if (!f->has_bad_entry)
			f->detail = MemoryContextStrdup(f->cxt, detail);
	}
}

static bytea *
col_bytea(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? NULL : DatumGetByteaPP(d);
}

static int64
col_int64(HeapTuple tup, TupleDesc desc, int col, bool *isnull)
{
	Datum		d = SPI_getbinval(tup, desc, col, isnull);

	return *isnull ? 0 : DatumGetInt64(d);
}

/* ---------- entries ---------- */

/*
 * One row of the entries query, deformed once: reading its 18 columns one
 * by one (SPI_getbinval) walks the tuple from its start for every column
 * after the first variable-length one, a tenth of verify_ledger's time.
 */
#define ENTRY_ROW_COLUMNS 18
typedef struct EntryRow
{
	Datum		v[ENTRY_ROW_COLUMNS];
	bool		null[ENTRY_ROW_COLUMNS];
} EntryRow;

/* columns are 1-based, as in the query */
static int64
row_int64(const EntryRow *r, int col, bool *isnull)
{
	*isnull = r->null[col - 1];
	return *isnull ? 0 : DatumGetInt64(r->v[col - 1]);
}

static char *
row_text(const EntryRow *r, int col)
{
	return r->null[col - 1] ? NULL : TextDatumGetCString(r->v[col - 1]);
}

typedef struct EntryCheck
{
	EntryImage	img;
	bytea	   *stored_hash;
	int			hash_version;
	int			cap;
	char	  **assets;
	bool		leg_problem;
	char	   *problem;
} EntryCheck;

static void
finish_entry(Finding *f, EntryCheck *c)
{
	uint8		h[SHA256_LEN];

	f->entries++;
	if (c->img.nlegs < 2)
	{
		found_entry(f, c->img.id, psprintf("entry " INT64_FORMAT " has %d postings", c->img.id, c->img.nlegs));
		return;
	}
	if (c->problem)
	{
		found_entry(f, c->img.id, c->problem);
		return;
	}
	/* balanced per asset */
	for (int i = 0; i < c->img.nlegs; i++)
	{
		Numeric		sum = amount_zero();

		for (int j = 0; j < c->img.nlegs; j++)
			if (strcmp(c->assets[i], c->assets[j]) == 0)
				sum = amount_add(sum, c->img.leg_amount[j]);
		if (!amount_is_zero(sum))
		{
			found_entry(f, c->img.id, psprintf("entry " INT64_FORMAT " does not balance in %s (off by %s)",
											   c->img.id, c->assets[i], amount_text(sum)));
			return;
		}
	}
	if (c->hash_version != ENTRY_HASH_VERSION)
	{
		found_entry(f, c->img.id, psprintf("entry " INT64_FORMAT " has unknown hash version %d",
										   c->img.id, c->hash_version));
		return;
	}
	entry_hash(&c->img, h);
	if (c->stored_hash == NULL || VARSIZE_ANY_EXHDR(c->stored_hash) != SHA256_LEN ||
		memcmp(VARDATA_ANY(c->stored_hash), h, SHA256_LEN) != 0)
		found_entry(f, c->img.id,
					psprintf("entry " INT64_FORMAT " does not match its hash: its stored values were changed",
							 c->img.id));
}

static void
start_entry(EntryCheck *c, const EntryRow *r)
{
	bool		isnull;
	int64	   *accounts = c->img.leg_account;
	Numeric    *amounts = c->img.leg_amount;

	/* keep the leg arrays across entries; reset everything else */
	memset(&c->img, 0, sizeof(c->img));
	c->img.leg_account = accounts;
	c->img.leg_amount = amounts;
	c->problem = NULL;
	c->img.id = row_int64(r, 1, &isnull);
	c->img.book = row_text(r, 2);
	c->img.kind = row_text(r, 3);
	c->img.occurred_at = DatumGetTimestampTz(r->v[3]);
	c->img.created_at = DatumGetTimestampTz(r->v[4]);
	c->img.created_by = row_text(r, 6);
	c->img.reference = row_text(r, 7);
	c->img.idempotency_key = row_text(r, 8);
	c->img.reverses = row_int64(r, 9, &c->img.reverses_null);
	c->img.hold_id = row_int64(r, 10, &c->img.hold_null);
	c->img.metadata = DatumGetJsonbP(r->v[10]);
	c->hash_version = DatumGetInt16(r->v[11]);
	c->stored_hash = r->null[12] ? NULL : DatumGetByteaPP(r->v[12]);
}

static void
add_leg(EntryCheck *c, const EntryRow *r)
{
	bool		isnull;
	int			leg;
	TimestampTz occurred;

	if (r->null[13])
		return;					/* an entry without postings */
	leg = DatumGetInt16(r->v[13]);
	if (c->img.nlegs == c->cap)
	{
		c->cap *= 2;
		c->img.leg_account = repalloc(c->img.leg_account, sizeof(int64) * c->cap);
		c->img.leg_amount = repalloc(c->img.leg_amount, sizeof(Numeric) * c->cap);
		c->assets = repalloc(c->assets, sizeof(char *) * c->cap);
	}
	if (leg != c->img.nlegs + 1 && c->problem == NULL)
		c->problem = psprintf("entry " INT64_FORMAT " has postings numbered out of order", c->img.id);
	c->img.leg_account[c->img.nlegs] = row_int64(r, 15, &isnull);
	c->img.leg_amount[c->img.nlegs] = DatumGetNumeric(r->v[15]);
	occurred = DatumGetTimestampTz(r->v[16]);
	if (occurred != c->img.occurred_at && c->problem == NULL)
		c->problem = psprintf("a posting of entry " INT64_FORMAT " has another time than its entry", c->img.id);
	c->assets[c->img.nlegs] = row_text(r, 18);
	if (c->assets[c->img.nlegs] == NULL)
		c->assets[c->img.nlegs] = "?";
	c->img.nlegs++;
}

/*
 * Every entry of the book with its postings, one entry at a time.  Memory
 * stays flat however long the journal: an entry's strings and detoasted
 * values live in entrycxt until the next entry starts, and a batch of rows
 * is freed as soon as no entry still open points into it (an entry's rows
 * can span two batches).  Keeping every batch took 2.1 GB for 1.1 million
 * entries, and would not have ended well for a hundred million.
 */
static void
verify_entries(const char *book, Finding *f)
{
	Portal		portal;
	EntryCheck	c;
	bool		open = false;
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext entrycxt = AllocSetContextCreate(outer, "verify entry", ALLOCSET_DEFAULT_SIZES);
	List	   *batches = NIL;	/* fetched and not yet freed, oldest first */
	SPITupleTable *entry_batch = NULL;	/* the batch the open entry starts in */

	memset(&c, 0, sizeof(c));
	c.cap = 16;
	c.img.leg_account = palloc(sizeof(int64) * c.cap);
	c.img.leg_amount = palloc(sizeof(Numeric) * c.cap);
	c.assets = palloc(sizeof(char *) * c.cap);
	portal = SPI_cursor_open_with_args(NULL,
									   "SELECT j.id, j.book, j.kind, j.occurred_at, j.created_at, j.created_by,"
									   "       j.reference, j.idempotency_key, j.reverses, j.hold_id, j.metadata,"
									   "       j.hash_version, j.hash, p.leg, p.account_id, p.amount, p.occurred_at,"
									   "       a.asset"
									   "  FROM tpwallet.journal j"
									   "  LEFT JOIN tpwallet.postings p ON p.entry_id = j.id"
									   "  LEFT JOIN tpwallet.accounts a ON a.id = p.account_id"
									   " WHERE j.book = $1 ORDER BY j.id, p.leg",
									   1, (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(book)},
									   NULL, true, CURSOR_OPT_NO_SCROLL);
	for (;;)
	{
		SPITupleTable *batch;

		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		batch = SPI_tuptable;
		if (SPI_processed == 0)
		{
			SPI_freetuptable(batch);
			break;
		}
		if (batch->tupdesc->natts != ENTRY_ROW_COLUMNS)
			elog(ERROR, "the entries query returns %d columns, not %d", batch->tupdesc->natts, ENTRY_ROW_COLUMNS);
		batches = lappend(batches, batch);
		MemoryContextSwitchTo(entrycxt);
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			EntryRow	row;
			bool		isnull;
			int64		id;

			heap_deform_tuple(batch->vals[r], batch->tupdesc, row.v, row.null);
			id = row_int64(&row, 1, &isnull);
			if (!open || id != c.img.id)
			{
				if (open)
					finish_entry(f, &c);
				MemoryContextReset(entrycxt);
				start_entry(&c, &row);
				entry_batch = batch;
				open = true;
			}
			add_leg(&c, &row);
		}
		MemoryContextSwitchTo(outer);
		while (linitial(batches) != entry_batch)
		{
			SPI_freetuptable((SPITupleTable *) linitial(batches));
			batches = list_delete_first(batches);
		}
	}
	if (open)
	{
		MemoryContextSwitchTo(entrycxt);
		finish_entry(f, &c);
		MemoryContextSwitchTo(outer);
	}
	SPI_cursor_close(portal);
	{
		ListCell   *lc;

		foreach(lc, batches)
			SPI_freetuptable((SPITupleTable *) lfirst(lc));
	}
	list_free(batches);
	MemoryContextDelete(entrycxt);
}

/* ---------- blocks ---------- */

static void
verify_blocks(const char *book, Finding *f)
{
	SPITupleTable *seals;
	uint64		nseals;
	uint8		prev[SHA256_LEN];
	Portal		portal;
	uint64		pos = 0;
	int64		floor_entry = 0;

	memset(prev, 0, sizeof(prev));
	if (SPI_execute_with_args("SELECT block_id, height, entry_count, first_entry, last_entry,"
							  "       merkle_root, prev_hash, block_hash, floor_entry, seq_mark,"
							  "       xid_mark::text::bigint, sealed_at"
							  "  FROM tpwallet.seals WHERE book = $1 ORDER BY height",
							  1, (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(book)},
							  NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "seal read failed");
	seals = SPI_tuptable;
	nseals = SPI_processed;

	portal = SPI_cursor_open_with_args(NULL,
									   "SELECT m.block_id, m.leaf_index, m.entry_id, j.hash, j.book"
									   "  FROM tpwallet.block_members m"
									   "  JOIN tpwallet.seals s ON s.block_id = m.block_id"
									   "  LEFT JOIN tpwallet.journal j ON j.id = m.entry_id"
									   " WHERE s.book = $1 ORDER BY s.height, m.leaf_index",
									   1, (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(book)},
									   NULL, true, CURSOR_OPT_NO_SCROLL);
	SPI_cursor_fetch(portal, true, FETCH_ROWS);

	for (uint64 s = 0; s < nseals; s++)
	{
		HeapTuple	st = seals->vals[s];
		TupleDesc	sd = seals->tupdesc;
		bool		isnull;
		BlockHeader b;
		int			n;
		uint8		(*leaves)[SHA256_LEN];
		uint8		root[SHA256_LEN];
		uint8		bh[SHA256_LEN];
		char	   *problem = NULL;

		b.block_id = col_int64(st, sd, 1, &isnull);
		b.book = book;
		b.height = col_int64(st, sd, 2, &isnull);
		b.entry_count = DatumGetInt32(SPI_getbinval(st, sd, 3, &isnull));
		b.first_entry = col_int64(st, sd, 4, &isnull);
		b.last_entry = col_int64(st, sd, 5, &isnull);
		memcpy(b.merkle_root, VARDATA_ANY(col_bytea(st, sd, 6)), SHA256_LEN);
		memcpy(b.prev_hash, VARDATA_ANY(col_bytea(st, sd, 7)), SHA256_LEN);
		b.floor_entry = col_int64(st, sd, 9, &isnull);
		b.seq_mark = col_int64(st, sd, 10, &isnull);
		b.xid_mark = col_int64(st, sd, 11, &isnull);
		b.sealed_at = DatumGetTimestampTz(SPI_getbinval(st, sd, 12, &isnull));
		f->blocks++;

		n = Max(b.entry_count, 0);
		leaves = palloc(sizeof(*leaves) * Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			HeapTuple	mt;
			TupleDesc	md;
			bytea	   *h;

			if (pos == SPI_processed)
			{
				/* nothing points into the rows read before: their hashes are leaves now */
				SPI_freetuptable(SPI_tuptable);
				SPI_cursor_fetch(portal, true, FETCH_ROWS);
				pos = 0;
			}
			if (SPI_processed == 0)
			{
				problem = psprintf("block " INT64_FORMAT " lists fewer entries than it counts", b.block_id);
				break;
			}
			mt = SPI_tuptable->vals[pos];
			md = SPI_tuptable->tupdesc;
			if (col_int64(mt, md, 1, &isnull) != b.block_id ||
				DatumGetInt32(SPI_getbinval(mt, md, 2, &isnull)) != i)
			{
				problem = psprintf("block " INT64_FORMAT " has missing or extra members", b.block_id);
				break;
			}
			pos++;
			h = col_bytea(mt, md, 4);
			if (h == NULL)
			{
				int64		missing = col_int64(mt, md, 3, &isnull);

				found_entry(f, missing, psprintf("entry " INT64_FORMAT " of block " INT64_FORMAT " is missing from the journal",
												 missing, b.block_id));
				problem = psprintf("block " INT64_FORMAT " names missing entry " INT64_FORMAT, b.block_id, missing);
				break;
			}
			merkle_leaf((uint8 *) VARDATA_ANY(h), Min(VARSIZE_ANY_EXHDR(h), 64), leaves[i]);
		}
		if (problem == NULL && n > 0)
		{
			merkle_root((const uint8 (*)[SHA256_LEN]) leaves, n, root);
			if (memcmp(root, b.merkle_root, SHA256_LEN) != 0)
				problem = psprintf("block " INT64_FORMAT " (height " INT64_FORMAT ") does not match its Merkle root: an entry hash was changed",
								   b.block_id, b.height);
		}
		if (problem == NULL && memcmp(prev, b.prev_hash, SHA256_LEN) != 0)
			problem = psprintf("block " INT64_FORMAT " does not chain to the block before it", b.block_id);
		block_hash(&b, bh);
		if (problem == NULL && memcmp(bh, VARDATA_ANY(col_bytea(st, sd, 8)), SHA256_LEN) != 0)
			problem = psprintf("block " INT64_FORMAT " does not match its block hash: its header was changed", b.block_id);
		if (problem)
			found_block(f, b.block_id, problem);
		memcpy(prev, VARDATA_ANY(col_bytea(st, sd, 8)), SHA256_LEN);
		floor_entry = Max(floor_entry, b.floor_entry);
		pfree(leaves);
	}
	SPI_cursor_close(portal);

	/* Every block has exactly entry_count members (surplus ones too). */
	if (SPI_execute_with_args("SELECT s.block_id FROM tpwallet.seals s"
							  "  LEFT JOIN (SELECT block_id, count(*) AS n FROM tpwallet.block_members GROUP BY 1) m"
							  "    USING (block_id)"
							  " WHERE s.book = $1 AND coalesce(m.n, 0) <> s.entry_count"
							  " ORDER BY s.height LIMIT 1",
							  1, (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(book)},
							  NULL, true, 0) == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;
		int64		id = col_int64(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		found_block(f, id, psprintf("block " INT64_FORMAT " has more or fewer members than it counts", id));
	}

	/* Nothing at or below the floor may be outside a block. */
	if (SPI_execute_with_args("SELECT min(j.id) FROM tpwallet.journal j"
							  " WHERE j.book = $1 AND j.id <= $2"
							  "   AND NOT EXISTS (SELECT 1 FROM tpwallet.block_members m WHERE m.entry_id = j.id)",
							  2, (Oid[]) {TEXTOID, INT8OID},
							  (Datum[]) {CStringGetTextDatum(book), Int64GetDatum(floor_entry)},
							  NULL, true, 0) == SPI_OK_SELECT)
	{
		bool		isnull;
		int64		id = col_int64(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			found_entry(f, id, psprintf("entry " INT64_FORMAT " is below the sealed floor " INT64_FORMAT " but in no block: it was inserted behind the sealer's back or its seal was removed",
										id, floor_entry));
	}
}

Datum
tpwallet_verify_ledger(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	static const char *const books[] = {"ops", "gl"};

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	for (int i = 0; i < 2; i++)
	{
		Finding		f;
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		memset(&f, 0, sizeof(f));
		f.cxt = CurrentMemoryContext;
		verify_entries(books[i], &f);
		verify_blocks(books[i], &f);
		values[0] = CStringGetTextDatum(books[i]);
		values[1] = BoolGetDatum(!f.has_bad_entry && !f.has_bad_block);
		values[2] = Int64GetDatum(f.bad_entry);
		nulls[2] = !f.has_bad_entry;
		values[3] = Int64GetDatum(f.bad_block);
		nulls[3] = !f.has_bad_block;
		values[4] = CStringGetTextDatum(f.detail ? f.detail :
										psprintf(INT64_FORMAT " entries and " INT64_FORMAT " blocks verified",
												 f.entries, f.blocks));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/* ---------- inclusion proofs ---------- */

static char *
hex_of(const uint8 *b, int len)
{
	char	   *s = palloc(2 * len + 1);

	for (int i = 0; i < len; i++)
		sprintf(s + 2 * i, "%02x", b[i]);
	return s;
}

Datum
tpwallet_prove_entry(PG_FUNCTION_ARGS)
{
	int64		entry_id = PG_GETARG_INT64(0);
	bool		isnull;
	int64		block_id;
	int			leaf_index;
	int			n;
	uint8		(*leaves)[SHA256_LEN];
	uint8		(*path)[SHA256_LEN];
	int			pathlen;
	StringInfoData js;
	HeapTuple	st;
	TupleDesc	sd;
	char	   *result;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT m.block_id, m.leaf_index FROM tpwallet.block_members m WHERE m.entry_id = $1",
							  1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(entry_id)}, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "proof lookup failed");
	if (SPI_processed == 0)
	{
		SPI_execute_with_args("SELECT 1 FROM tpwallet.journal WHERE id = $1", 1, (Oid[]) {INT8OID},
							  (Datum[]) {Int64GetDatum(entry_id)}, NULL, true, 1);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("journal entry %lld does not exist", (long long) entry_id)));
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("journal entry %lld is not sealed yet", (long long) entry_id),
				 errhint("The sealer worker seals new entries every few seconds; or call tpwallet.seal().")));
	}
	block_id = col_int64(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	leaf_index = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

	/*
	 * The block's leaves.  Its members lie between its first and last entry
	 * (seal.c takes them in id order): bounding the journal by that range
	 * keeps a proof's cost to the size of its block, where a plain join on
	 * the members read the whole journal once a block's share of it was big
	 * enough for a hash join (measured: 378 ms against 188 ms for a block of
	 * 100,000 entries in a journal of 1.1 million, and growing with the
	 * journal).
	 */
	if (SPI_execute_with_args("SELECT j.hash FROM tpwallet.seals s"
							  "  JOIN tpwallet.journal j ON j.id BETWEEN s.first_entry AND s.last_entry"
							  "  JOIN tpwallet.block_members m ON m.entry_id = j.id AND m.block_id = s.block_id"
							  " WHERE s.block_id = $1 ORDER BY m.leaf_index",
							  1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(block_id)}, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "proof leaves failed");
	n = (int) SPI_processed;
	leaves = palloc(sizeof(*leaves) * n);
	path = palloc(sizeof(*path) * 64);
	for (int i = 0; i < n; i++)
	{
		bytea	   *h = col_bytea(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		merkle_leaf((uint8 *) VARDATA_ANY(h), SHA256_LEN, leaves[i]);
	}
	pathlen = merkle_path((const uint8 (*)[SHA256_LEN]) leaves, n, leaf_index, path);
	{
		bytea	   *eh = col_bytea(SPI_tuptable->vals[leaf_index], SPI_tuptable->tupdesc, 1);
		char	   *entry_hex = hex_of((uint8 *) VARDATA_ANY(eh), SHA256_LEN);

		initStringInfo(&js);
		appendStringInfo(&js, "{\"version\": 1, \"entry_id\": " INT64_FORMAT ", \"entry_hash\": \"%s\","
						 " \"leaf_index\": %d, \"tree_size\": %d, \"path\": [",
						 entry_id, entry_hex, leaf_index, n);
	}
	for (int i = 0; i < pathlen; i++)
		appendStringInfo(&js, "%s\"%s\"", i ? ", " : "", hex_of(path[i], SHA256_LEN));
	appendStringInfoString(&js, "], \"block\": ");

	if (SPI_execute_with_args("SELECT block_id, book, height, entry_count, first_entry, last_entry,"
							  "       merkle_root, prev_hash, block_hash, floor_entry, seq_mark,"
							  "       xid_mark::text::bigint, sealed_at"
							  "  FROM tpwallet.seals WHERE block_id = $1",
							  1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(block_id)}, NULL, true, 1) != SPI_OK_SELECT
		|| SPI_processed != 1)
		elog(ERROR, "block " INT64_FORMAT " is missing", block_id);
	st = SPI_tuptable->vals[0];
	sd = SPI_tuptable->tupdesc;
	{
		TimestampTz sealed = DatumGetTimestampTz(SPI_getbinval(st, sd, 13, &isnull));
		int64		sealed_us = sealed + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

		appendStringInfo(&js, "{\"block_id\": %s, \"book\": \"%s\", \"height\": %s, \"entry_count\": %s,"
						 " \"first_entry\": %s, \"last_entry\": %s, \"merkle_root\": \"%s\","
						 " \"prev_hash\": \"%s\", \"block_hash\": \"%s\", \"floor_entry\": %s,"
						 " \"seq_mark\": %s, \"xid_mark\": %s, \"sealed_at_us\": " INT64_FORMAT ","
						 " \"sealed_at\": \"%s\"}}",
						 SPI_getvalue(st, sd, 1), SPI_getvalue(st, sd, 2), SPI_getvalue(st, sd, 3),
						 SPI_getvalue(st, sd, 4), SPI_getvalue(st, sd, 5), SPI_getvalue(st, sd, 6),
						 hex_of((uint8 *) VARDATA_ANY(col_bytea(st, sd, 7)), SHA256_LEN),
						 hex_of((uint8 *) VARDATA_ANY(col_bytea(st, sd, 8)), SHA256_LEN),
						 hex_of((uint8 *) VARDATA_ANY(col_bytea(st, sd, 9)), SHA256_LEN),
						 SPI_getvalue(st, sd, 10), SPI_getvalue(st, sd, 11), SPI_getvalue(st, sd, 12),
						 sealed_us, SPI_getvalue(st, sd, 13));
	}
	result = MemoryContextStrdup(TopTransactionContext, js.data);
	SPI_finish();
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(result)));
}

/* ---------- checking a proof ---------- */

static JsonbValue *
proof_key(JsonbContainer *c, const char *key, enum jbvType type)
{
	JsonbValue *v = palloc(sizeof(JsonbValue));

	if (getKeyJsonValueFromContainer(c, key, strlen(key), v) == NULL ||
		(v->type != type && !(type == jbvBinary && v->type == jbvBinary)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed proof: \"%s\" is missing or has the wrong type", key),
				 errhint("Pass the jsonb that tpwallet.prove_entry() returned.")));
	return v;
}

static int64
proof_int(JsonbContainer *c, const char *key)
{
	JsonbValue *v = proof_key(c, key, jbvNumeric);
	Numeric		n = v->val.numeric;

	if (numeric_is_nan(n) || numeric_is_inf(n) ||
		DatumGetInt32(DirectFunctionCall1(numeric_scale,
										  DirectFunctionCall1(numeric_trim_scale, NumericGetDatum(n)))) > 0 ||
		amount_cmp(n, int64_to_numeric(PG_INT64_MAX)) > 0 ||
		amount_cmp(n, int64_to_numeric(PG_INT64_MIN)) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed proof: \"%s\" is not a 64-bit integer", key)));
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(n)));
}

static void
proof_hash(JsonbValue *v, const char *key, uint8 out[SHA256_LEN])
{
	if (v->type != jbvString || v->val.string.len != 2 * SHA256_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed proof: \"%s\" must be 64 hex digits", key)));
	for (int i = 0; i < SHA256_LEN; i++)
	{
		unsigned int byte;
		char		pair[3] = {v->val.string.val[2 * i], v->val.string.val[2 * i + 1], 0};

		if (!isxdigit((unsigned char) pair[0]) || !isxdigit((unsigned char) pair[1]) ||
			sscanf(pair, "%2x", &byte) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("malformed proof: \"%s\" must be 64 hex digits", key)));
		out[i] = (uint8) byte;
	}
}

static void
proof_hash_key(JsonbContainer *c, const char *key, uint8 out[SHA256_LEN])
{
	proof_hash(proof_key(c, key, jbvString), key, out);
}

Datum
tpwallet_verify_proof(PG_FUNCTION_ARGS)
{
	Jsonb	   *proof = PG_GETARG_JSONB_P(0);
	JsonbContainer *root = &proof->root;
	JsonbContainer *blk;
	JsonbContainer *patharr;
	uint8		entry[SHA256_LEN],
				leaf[SHA256_LEN],
				stored_bh[SHA256_LEN],
				bh[SHA256_LEN];
	uint8		(*path)[SHA256_LEN];
	int			pathlen;
	BlockHeader b;
	JsonbValue *bv;
	bool		ok;
	int64		entry_id;
	int64		leaf_index;

	if (!JB_ROOT_IS_OBJECT(proof) || proof_int(root, "version") != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed proof: not a version 1 tpwallet proof")));
	proof_hash_key(root, "entry_hash", entry);
	patharr = proof_key(root, "path", jbvBinary)->val.binary.data;
	blk = proof_key(root, "block", jbvBinary)->val.binary.data;
	if (!JsonContainerIsArray(patharr) || !JsonContainerIsObject(blk))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed proof: \"path\" must be an array and \"block\" an object")));
	pathlen = JsonContainerSize(patharr);
	if (pathlen > 64)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed proof: path too long")));
	path = palloc(sizeof(*path) * Max(pathlen, 1));
	for (int i = 0; i < pathlen; i++)
		proof_hash(getIthJsonbValueFromContainer(patharr, i), "path", path[i]);

	b.block_id = proof_int(blk, "block_id");
	bv = proof_key(blk, "book", jbvString);
	b.book = pnstrdup(bv->val.string.val, bv->val.string.len);
	b.height = proof_int(blk, "height");
	b.entry_count = (int32) proof_int(blk, "entry_count");
	b.first_entry = proof_int(blk, "first_entry");
	b.last_entry = proof_int(blk, "last_entry");
	proof_hash_key(blk, "merkle_root", b.merkle_root);
	proof_hash_key(blk, "prev_hash", b.prev_hash);
	proof_hash_key(blk, "block_hash", stored_bh);
	b.floor_entry = proof_int(blk, "floor_entry");
	b.seq_mark = proof_int(blk, "seq_mark");
	b.xid_mark = proof_int(blk, "xid_mark");
	b.sealed_at = proof_int(blk, "sealed_at_us") -
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

	entry_id = proof_int(root, "entry_id");
	leaf_index = proof_int(root, "leaf_index");
	merkle_leaf(entry, SHA256_LEN, leaf);
	ok = proof_int(root, "tree_size") == b.entry_count &&
		merkle_verify(leaf, leaf_index, proof_int(root, "tree_size"),
					  (const uint8 (*)[SHA256_LEN]) path, pathlen, b.merkle_root);
	block_hash(&b, bh);
	ok = ok && memcmp(bh, stored_bh, SHA256_LEN) == 0;

	/* And the block must be this ledger's block, with this hash. */
	if (ok)
	{
		bytea	   *want = palloc(VARHDRSZ + SHA256_LEN);
		bytea	   *entry_want = palloc(VARHDRSZ + SHA256_LEN);
		bool		isnull;

		SET_VARSIZE(want, VARHDRSZ + SHA256_LEN);
		memcpy(VARDATA(want), stored_bh, SHA256_LEN);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		SET_VARSIZE(entry_want, VARHDRSZ + SHA256_LEN);
		memcpy(VARDATA(entry_want), entry, SHA256_LEN);
		/* the entry named must be a member of that block, with that hash */
		if (SPI_execute_with_args("SELECT s.block_hash = $2 AND j.hash = $4"
								  "  FROM tpwallet.seals s"
								  "  JOIN tpwallet.block_members m ON m.block_id = s.block_id"
								  "  JOIN tpwallet.journal j ON j.id = m.entry_id"
								  " WHERE s.block_id = $1 AND m.entry_id = $3 AND m.leaf_index = $5",
								  5, (Oid[]) {INT8OID, BYTEAOID, INT8OID, BYTEAOID, INT4OID},
								  (Datum[]) {Int64GetDatum(b.block_id), PointerGetDatum(want),
								  Int64GetDatum(entry_id), PointerGetDatum(entry_want),
								  Int32GetDatum((int32) leaf_index)},
								  NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "block lookup failed");
		ok = SPI_processed == 1 &&
			DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		SPI_finish();
	}
	PG_RETURN_BOOL(ok);
}
