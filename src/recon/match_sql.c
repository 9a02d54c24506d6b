/*-------------------------------------------------------------------------
 *
 * match_sql.c
 *	  tpwallet._recon_match(run, ...): load a run's candidates, match them
 *	  in memory (match.c), write the matches and exceptions.
 *
 * Why in C: a run over a million items a side would be dozens of
 * set-based SQL statements over the same candidates (one per pass, and
 * the fuzzy pass in rounds), each re-reading the items and re-checking
 * what earlier passes took.  Here they are read once, through one query,
 * and every pass is a sort and binary searches over an array; the writes
 * are two INSERT statements with array parameters.  Money stays exact:
 * amounts become 128-bit integers at the run's largest scale, never
 * floats (confidences, which are not money, are computed in doubles).
 *
 * Called by reconcile() (src/sql/85_recon_match.sql), which has checked
 * the arguments, taken the run's lock and created the run row; this
 * function runs as the owner inside that call.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "recon/match.h"
#include "ledger/write.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/executor.h"
#include "tcop/tcopprot.h"
#include "utils/snapmgr.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "access/htup_details.h"
#include "executor/tuptable.h"
#include "nodes/params.h"
#include "miscadmin.h"

PG_FUNCTION_INFO_V1(tpwallet_recon_match);

/* |amount| below 10^36 at the run's scale: sums of a few parts stay in 128 bits */
#define MAX_DIGITS	36

static MemoryContext match_cxt;

static void *
match_alloc(size_t size)
{
	return MemoryContextAllocHuge(match_cxt, size ? size : 1);
}

static void
match_free(void *ptr)
{
	pfree(ptr);
}

static const recon_allocator match_allocator = {match_alloc, match_free};

/* ---------------------------------------------------------------- decimals */

typedef struct scaled
{
	recon_amount mantissa;
	int			scale;
} scaled;

/* A numeric as mantissa * 10^-scale, exactly; what names it in errors. */
static scaled
numeric_scaled(Numeric num, const char *what)
{
	char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(num)));
	char	   *p = s;
	bool		neg = false,
				frac = false;
	int			digits = 0;
	scaled		r = {0, 0};

	if (*p == '-')
	{
		neg = true;
		p++;
	}
	for (; *p; p++)
	{
		if (*p == '.')
		{
			frac = true;
			continue;
		}
		if (*p < '0' || *p > '9')
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s is not a finite number: %s", what, s)));
		if (r.mantissa != 0 || *p != '0')
			digits++;
		if (digits > MAX_DIGITS)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s has more than %d significant digits: %s", what, MAX_DIGITS, s),
					 errhint("Reconciliation compares amounts exactly as 128-bit integers.")));
		r.mantissa = r.mantissa * 10 + (*p - '0');
		if (frac)
			r.scale++;
	}
	if (neg)
		r.mantissa = -r.mantissa;
	pfree(s);
	return r;
}

/* mantissa at scale s, rescaled to target >= s; false when too large */
static bool
rescale(scaled v, int target, recon_amount *out)
{
	recon_amount m = v.mantissa;
	recon_amount limit = 1;

	for (int i = 0; i < MAX_DIGITS; i++)
		limit *= 10;
	for (int i = v.scale; i < target; i++)
	{
		m *= 10;
		if (m >= limit || m <= -limit)
			return false;
	}
	*out = m;
	return true;
}

/* ---------------------------------------------------------------- loading */

/*
 * The run's candidates: its window's items of both sources, and earlier
 * items (back to window_from - lookback) that no earlier run of the same
 * two sources settled: matched (and not unmatched since), or excepted and
 * resolved by a decision (written off, adjusted, accepted).  Of several runs of one window only the last counts.
 * twin_before finds, for carried-forward statement items only, an
 * identical earlier item that may not be a candidate itself.
 */
static const char *const candidates_sql =
"SELECT i.item_id, i.source_id, i.txid, i.order_id, i.amount, i.asset, i.occurred_at, i.is_reversal,"
"       i.ext_id, i.content_hash, NULL::bigint"
"  FROM tpwallet.recon_items i"
" WHERE i.source_id IN ($2, $3) AND i.occurred_at >= $4 AND i.occurred_at < $5"
" UNION ALL "
"SELECT i.item_id, i.source_id, i.txid, i.order_id, i.amount, i.asset, i.occurred_at, i.is_reversal,"
"       i.ext_id, i.content_hash,"
"       CASE WHEN i.content_hash IS NOT NULL OR i.ext_id IS NOT NULL THEN"
"            least((SELECT min(j.item_id) FROM tpwallet.recon_items j"
"                    WHERE j.source_id = i.source_id AND j.content_hash = i.content_hash AND j.item_id < i.item_id),"
"                  (SELECT min(j.item_id) FROM tpwallet.recon_items j"
"                    WHERE j.ext_id = i.ext_id AND j.source_id = i.source_id AND j.item_id < i.item_id)) END"
"  FROM tpwallet.recon_items i"
" WHERE i.source_id IN ($2, $3) AND i.occurred_at >= $4 - $6::interval AND i.occurred_at < $4"
"   AND NOT EXISTS (SELECT 1 FROM tpwallet.recon_match_members pm JOIN tpwallet.recon_runs pr ON pr.run_id = pm.run_id"
"                    WHERE pm.item_id = i.item_id AND pr.run_id < $1 AND pr.window_to <= $4"
"                      AND least(pr.left_source_id, pr.right_source_id) = least($2, $3)"
"                      AND greatest(pr.left_source_id, pr.right_source_id) = greatest($2, $3)"
"                      AND NOT EXISTS (SELECT 1 FROM tpwallet.recon_match_revocations v WHERE v.match_id = pm.match_id)"
"                      AND NOT EXISTS (SELECT 1 FROM tpwallet.recon_runs p2"
"                                       WHERE p2.run_id > pr.run_id AND p2.run_id < $1"
"                                         AND p2.left_source_id = pr.left_source_id AND p2.right_source_id = pr.right_source_id"
"                                         AND p2.window_from = pr.window_from AND p2.window_to = pr.window_to))"
"   AND NOT EXISTS (SELECT 1 FROM tpwallet.recon_exceptions x"
"                    WHERE x.item_id = i.item_id AND x.run_id < $1 AND x.status = 'resolved'"
"                      AND x.resolution IN ('written_off', 'adjusted', 'accepted'))";

/* the run: its two sources (and whether each is a statement) and window */
typedef struct run_info
{
	int32		left_id;
	int32		right_id;
	bool		left_statement;
	bool		right_statement;
	TimestampTz from;
	TimestampTz to;
} run_info;

static run_info
read_run(int64 run)
{
	Oid			types[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(run)};
	run_info	ri;
	bool		isnull;
	HeapTuple	tup;
	TupleDesc	desc;

	if (SPI_execute_with_args("SELECT r.left_source_id, r.right_source_id, l.kind = 'statement', g.kind = 'statement',"
							  "       r.window_from, r.window_to"
							  "  FROM tpwallet.recon_runs r"
							  "  JOIN tpwallet.recon_sources l ON l.id = r.left_source_id"
							  "  JOIN tpwallet.recon_sources g ON g.id = r.right_source_id"
							  " WHERE r.run_id = $1", 1, types, args, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("reconciliation run %lld does not exist", (long long) run)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	ri.left_id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
	ri.right_id = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
	ri.left_statement = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
	ri.right_statement = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
	ri.from = DatumGetTimestampTz(SPI_getbinval(tup, desc, 5, &isnull));
	ri.to = DatumGetTimestampTz(SPI_getbinval(tup, desc, 6, &isnull));
	return ri;
}

typedef struct loaded
{
	recon_item *items;
	scaled	   *amounts;		/* as read, before rescaling */
	size_t		n;
	size_t		cap;
	int			scale;			/* the largest scale read */
	recon_interner *keys;
} loaded;

/* a text value as a key to intern (none when NULL); *copy: what to free */
static recon_key
text_key(Datum d, bool isnull, text **copy)
{
	recon_key	k = {NULL, 0};
	text	   *t;

	*copy = NULL;
	if (isnull)
		return k;
	t = DatumGetTextPP(d);
	if ((Pointer) t != DatumGetPointer(d))
		*copy = t;
	k.bytes = VARDATA_ANY(t);
	k.len = VARSIZE_ANY_EXHDR(t);
	return k;
}

#define N_CANDIDATE_COLUMNS 11

enum
{
	KEY_TXID, KEY_ORDER_ID, KEY_ASSET, KEY_EXT_ID, KEY_CONTENT, N_KEYS
};

/*
 * A row's keys, interned together (recon_intern_many: their misses in a
 * table of millions of keys overlap).  A statement line's content is its
 * duplicate key only when it has no external id (match.h), and is not
 * interned otherwise; a prefix keeps content keys apart from text keys.
 */
static void
intern_keys(loaded *ld, recon_item *it, const Datum *v, const bool *null)
{
	recon_key	keys[N_KEYS];
	text	   *copies[N_KEYS] = {NULL};
	uint32_t	ids[N_KEYS];
	char		content[1 + 64];

	keys[KEY_TXID] = text_key(v[2], null[2], &copies[KEY_TXID]);
	keys[KEY_ORDER_ID] = text_key(v[3], null[3], &copies[KEY_ORDER_ID]);
	keys[KEY_ASSET] = text_key(v[5], null[5], &copies[KEY_ASSET]);
	keys[KEY_EXT_ID] = text_key(v[8], null[8] || !it->statement, &copies[KEY_EXT_ID]);
	keys[KEY_CONTENT].bytes = NULL;
	if (it->statement && null[8] && !null[9])
	{
		bytea	   *b = DatumGetByteaPP(v[9]);
		size_t		len = Min(VARSIZE_ANY_EXHDR(b), 64);

		content[0] = '\x01';
		memcpy(content + 1, VARDATA_ANY(b), len);
		keys[KEY_CONTENT].bytes = content;
		keys[KEY_CONTENT].len = len + 1;
	}
	recon_intern_many(ld->keys, keys, N_KEYS, ids);
	it->txid = ids[KEY_TXID];
	it->order_id = ids[KEY_ORDER_ID];
	it->asset = ids[KEY_ASSET];
	it->ext_id = ids[KEY_EXT_ID];
	it->content = ids[KEY_CONTENT];
	for (int k = 0; k < N_KEYS; k++)
		if (copies[k])
			pfree(copies[k]);
}

/* room for cap items in the arrays (cap > ld->n) */
static void
reserve_items(loaded *ld, size_t cap)
{
	recon_item *items = match_alloc(cap * sizeof(recon_item));
	scaled	   *amounts = match_alloc(cap * sizeof(scaled));

	if (ld->n)
	{
		memcpy(items, ld->items, ld->n * sizeof(recon_item));
		memcpy(amounts, ld->amounts, ld->n * sizeof(scaled));
	}
	if (ld->items)
	{
		pfree(ld->items);
		pfree(ld->amounts);
	}
	ld->items = items;
	ld->amounts = amounts;
	ld->cap = cap;
}

/* one candidate row's columns, as the executor deformed them */
static void
load_row(loaded *ld, const run_info *ri, const Datum *v, const bool *null)
{
	recon_item *it;

	if (ld->n == ld->cap)
		reserve_items(ld, ld->cap ? ld->cap * 2 : 65536);
	it = &ld->items[ld->n];
	memset(it, 0, sizeof(*it));
	it->id = DatumGetInt64(v[0]);
	it->side = DatumGetInt32(v[1]) == ri->left_id ? 0 : 1;
	it->statement = it->side == 0 ? ri->left_statement : ri->right_statement;
	ld->amounts[ld->n] = numeric_scaled(DatumGetNumeric(v[4]), "an item's amount");
	if (ld->amounts[ld->n].scale > ld->scale)
		ld->scale = ld->amounts[ld->n].scale;
	it->ts = DatumGetTimestampTz(v[6]);
	it->reversal = DatumGetBool(v[7]);
	if (it->statement)
		it->twin_before = null[10] ? 0 : DatumGetInt64(v[10]);
	intern_keys(ld, it, v, null);
	ld->n++;
}

/*
 * The candidates go straight from the executor into the items array: a
 * receiver of the query's slots, instead of a cursor that copies every
 * row into a tuple table first (a third of the load's time).
 */
typedef struct candidate_receiver
{
	DestReceiver pub;
	loaded	   *ld;
	const run_info *ri;
	uint64		rows;
} candidate_receiver;

static bool
receive_candidate(TupleTableSlot *slot, DestReceiver *self)
{
	candidate_receiver *r = (candidate_receiver *) self;

	slot_getallattrs(slot);
	load_row(r->ld, r->ri, slot->tts_values, slot->tts_isnull);
	if ((++r->rows & 16383) == 0)
		CHECK_FOR_INTERRUPTS();
	return true;
}

static void
candidate_startup(DestReceiver *self, int operation, TupleDesc desc)
{
	if (desc->natts != N_CANDIDATE_COLUMNS)
		elog(ERROR, "the candidate query returns %d columns, not %d", desc->natts, N_CANDIDATE_COLUMNS);
}

static void
candidate_noop(DestReceiver *self)
{
}

/*
 * Room for about as many candidates as the planner expects, made before the
 * first row: growing a table of millions of keys on the way rehashes every
 * key again at each doubling, and the item arrays are copied each time.
 * About 1.5 keys an item (a txid, and an order id or a statement line's
 * external id), measured on the generated sets.  The estimate is capped: a
 * wrong one only costs the growing it would have saved.
 */
#define RESERVE_MAX_ITEMS	(4 * 1024 * 1024)

static void
reserve_for_estimate(loaded *ld, double rows)
{
	size_t		n = rows < 1 ? 0 : rows > RESERVE_MAX_ITEMS ? RESERVE_MAX_ITEMS : (size_t) rows;

	if (n <= 65536)
		return;
	n += n / 8;					/* an estimate a little short still fits */
	reserve_items(ld, n);
	recon_interner_reserve(ld->keys, n + n / 2);
}

/*
 * The candidate query planned with the run's values (a custom plan, whose
 * row estimate comes from the items' statistics for this window), then run
 * with the receiver above.  Not through SPI_execute: it would plan the same
 * way but keep the estimate to itself.  Read-only, in the caller's snapshot
 * (as SPI does for a read-only call).
 */
static void
load_candidates(loaded *ld, int64 run, const run_info *ri, Datum lookback)
{
	static Oid	types[6] = {INT8OID, INT4OID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INTERVALOID};
	Datum		args[6] = {Int64GetDatum(run), Int32GetDatum(ri->left_id), Int32GetDatum(ri->right_id),
	TimestampTzGetDatum(ri->from), TimestampTzGetDatum(ri->to), lookback};
	ParamListInfo params = makeParamList(6);
	candidate_receiver r;
	RawStmt    *raw;
	Query	   *query;
	PlannedStmt *stmt;
	QueryDesc  *qd;

	for (int i = 0; i < 6; i++)
	{
		params->params[i].value = args[i];
		params->params[i].isnull = false;
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = types[i];
	}
	raw = linitial_node(RawStmt, pg_parse_query(candidates_sql));
	query = linitial_node(Query, pg_analyze_and_rewrite_fixedparams(raw, candidates_sql, types, 6, NULL));
	stmt = pg_plan_query(query, candidates_sql, 0, params);
	reserve_for_estimate(ld, stmt->planTree->plan_rows);

	memset(&r, 0, sizeof(r));
	r.pub.receiveSlot = receive_candidate;
	r.pub.rStartup = candidate_startup;
	r.pub.rShutdown = candidate_noop;
	r.pub.rDestroy = candidate_noop;
	r.pub.mydest = DestNone;
	r.ld = ld;
	r.ri = ri;
	qd = CreateQueryDesc(stmt, candidates_sql, GetActiveSnapshot(), InvalidSnapshot,
						 (DestReceiver *) &r, params, NULL, 0);
	ExecutorStart(qd, 0);
	ExecutorRun(qd, ForwardScanDirection, 0, true);
	ExecutorFinish(qd);
	ExecutorEnd(qd);
	FreeQueryDesc(qd);
}

/* ---------------------------------------------------------------- writing */

/*
 * A one-dimensional array of n Datums of one element type; nulls may be
 * NULL (no element is NULL).
 */
static Datum
datum_array(Datum *d, bool *nulls, size_t n, Oid elemtype)
{
	int16		len;
	bool		byval;
	char		align;
	int			dims[1] = {(int) n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(elemtype, &len, &byval, &align);
	return PointerGetDatum(construct_md_array(d, nulls, 1, dims, lbs, elemtype, len, byval, align));
}

static Datum *
datums(size_t n)
{
	return palloc((n ? n : 1) * sizeof(Datum));
}

/*
 * Match ids come as one block from the identity sequence: nextval, then
 * setval past the block, under a transaction advisory lock that every
 * writer of recon_matches takes (_recon_record_match too), so no other
 * id falls inside the block.  Then the matches and their members are
 * written, with no join between them.
 */

static int64
reserve_match_ids(size_t n)
{
	Oid			types[1] = {INT8OID};
	Datum		args[1];
	bool		isnull;
	int64		first;

	if (SPI_execute("SELECT pg_catalog.pg_advisory_xact_lock(1919247214),"
					" pg_catalog.nextval(pg_catalog.pg_get_serial_sequence('tpwallet.recon_matches', 'match_id'))",
					false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not reserve match ids");
	first = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (n > 1)
	{
		args[0] = Int64GetDatum(first + (int64) n - 1);
		if (SPI_execute_with_args("SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('tpwallet.recon_matches', 'match_id'), $1)",
								  1, types, args, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not reserve match ids");
	}
	return first;
}

static const char *const match_columns[] = {"match_id", "run_id", "match_no", "rule",
"confidence", "items"};
static const char *const member_columns[] = {"run_id", "item_id", "match_id", "is_left"};

/* a member row: run_id, item_id, match_id, is_left */
static void
member_values(Datum *v, int64 run, int64 first, const loaded *ld, uint32 item, size_t match)
{
	v[0] = Int64GetDatum(run);
	v[1] = Int64GetDatum(ld->items[item].id);
	v[2] = Int64GetDatum(first + (int64) match);
	v[3] = BoolGetDatum(ld->items[item].side == 0);
}

/* confidence (basis points) as the numeric the table keeps: 9500 -> 0.95 */
static Datum
confidence_numeric(int32 bp, Datum *cache)
{
	if (bp < 0 || bp > 10000)
		elog(ERROR, "match confidence %d is out of range", bp);
	if (cache[bp] == (Datum) 0)
		cache[bp] = DirectFunctionCall1(numeric_trim_scale,
										NumericGetDatum(int64_div_fast_to_numeric(bp, 4)));
	return cache[bp];
}

/* a member row's place in the heap, sorted by item for its index entries */
typedef struct member_key
{
	int64		item_id;
	uint32		item;			/* index into the loaded items */
	uint32		match;			/* index into the matches */
	ItemPointerData tid;
} member_key;

#define ST_SORT sort_member_keys
#define ST_ELEMENT_TYPE member_key
#define ST_COMPARE(a, b) ((a)->item_id < (b)->item_id ? -1 : (a)->item_id > (b)->item_id ? 1 : 0)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * The members: rows in match order (the BRIN on run and match finds a
 * match's items), index entries in item order.  The primary key is
 * (item_id, run_id), so a run's new items take its rightmost leaf one
 * after another, and a re-run of a window walks the leaves once, instead
 * of two million inserts at random leaves (most of a run's write time).
 */
static void
write_members(int64 run, int64 first, const loaded *ld, const recon_result *res)
{
	size_t		n = 0,
				pos = 0;
	member_key *keys;
	ItemPointerData *tids;
	TableWriter *members;

	for (size_t k = 0; k < res->n_matches; k++)
		n += res->matches[k].count;
	keys = match_alloc(n * sizeof(member_key));
	tids = match_alloc(n * sizeof(ItemPointerData));

	members = writer_open("recon_match_members", lengthof(member_columns), member_columns);
	writer_defer_indexes(members, tids);
	for (size_t k = 0; k < res->n_matches; k++)
	{
		const recon_match *m = &res->matches[k];

		for (uint32 j = 0; j < m->count; j++)
		{
			uint32		item = res->members[m->first + j];
			Datum	   *v;
			bool	   *nulls;

			writer_row(members, &v, &nulls);
			member_values(v, run, first, ld, item, k);
			keys[pos].item_id = ld->items[item].id;
			keys[pos].item = item;
			keys[pos].match = (uint32) k;
			pos++;
		}
	}
	writer_flush(members);
	for (size_t p = 0; p < n; p++)
		keys[p].tid = tids[p];
	sort_member_keys(keys, n);
	for (size_t p = 0; p < n; p++)
	{
		Datum		v[lengthof(member_columns)];
		bool		nulls[lengthof(member_columns)] = {false};

		member_values(v, run, first, ld, keys[p].item, keys[p].match);
		writer_index_row(members, v, nulls, &keys[p].tid);
		if ((p & 65535) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	writer_close(members);
	pfree(keys);
	pfree(tids);
}

/*
 * The matches, then their members, through the table access method
 * (src/ledger/write.c: multi-inserts and index inserts, as COPY does): a
 * million-item run writes about two million member rows, and the SQL
 * executor's per-row work was most of the run's write time.
 */
static void
write_matches(int64 run, const loaded *ld, const recon_result *res)
{
	size_t		nm = res->n_matches;
	Datum		rule_names[RR_REVERSAL + 1];
	Datum	   *confidences = palloc0(sizeof(Datum) * 10001);
	TableWriter *matches;
	int64		first;

	if (nm == 0)
		return;
	first = reserve_match_ids(nm);
	for (int r = RR_EXACT_TXID; r <= RR_REVERSAL; r++)
		rule_names[r] = CStringGetTextDatum(recon_rule_name((recon_rule) r));

	matches = writer_open("recon_matches", lengthof(match_columns), match_columns);
	for (size_t k = 0; k < nm; k++)
	{
		const recon_match *m = &res->matches[k];
		Datum	   *v;
		bool	   *n;

		writer_row(matches, &v, &n);
		v[0] = Int64GetDatum(first + (int64) k);
		v[1] = Int64GetDatum(run);
		v[2] = Int32GetDatum((int32) k + 1);
		v[3] = rule_names[m->rule];
		v[4] = confidence_numeric(m->confidence, confidences);
		v[5] = Int32GetDatum((int32) m->count);
	}
	writer_close(matches);

	write_members(run, first, ld, res);
}

static void
write_exceptions(int64 run, const loaded *ld, const recon_result *res)
{
	bool		isnull;
	size_t		ne = res->n_exceptions;
	Datum	   *item = datums(ne),
			   *cls = datums(ne),
			   *cp = datums(ne);
	bool	   *cp_null = palloc((ne ? ne : 1) * sizeof(bool));
	Datum		class_names[RC_REVERSAL + 1];
	Oid			types[4] = {INT8OID, INT8ARRAYOID, TEXTARRAYOID, INT8ARRAYOID};
	Datum		args[4];

	if (ne == 0)
		return;
	for (int c = RC_NONE; c <= RC_REVERSAL; c++)
		class_names[c] = CStringGetTextDatum(recon_class_name((recon_class) c));
	for (size_t k = 0; k < ne; k++)
	{
		const recon_exception *e = &res->exceptions[k];

		item[k] = Int64GetDatum(ld->items[e->item].id);
		cls[k] = class_names[e->cls];
		cp[k] = Int64GetDatum(e->counterpart);
		cp_null[k] = e->counterpart == 0;
	}
	args[0] = Int64GetDatum(run);
	args[1] = datum_array(item, NULL, ne, INT8OID);
	args[2] = datum_array(cls, NULL, ne, TEXTOID);
	args[3] = datum_array(cp, cp_null, ne, INT8OID);
	if (SPI_execute_with_args("SELECT tpwallet._recon_record_exceptions($1, $2, $3, $4)",
							  4, types, args, NULL, false, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not record the run's exceptions");
	/* the run's counts (recon_runs) are taken from what was asked, so it must be what was written */
	if (DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) != (int32) ne || isnull)
		elog(ERROR, "recorded fewer exceptions than the run has");
}

/* ---------------------------------------------------------------- the function */

static void
push_count(JsonbParseState **ps, const char *key, size_t count)
{
	JsonbValue	k,
				v;
	char		buf[32];

	k.type = jbvString;
	k.val.string.val = pstrdup(key);
	k.val.string.len = strlen(key);
	pushJsonbValue(ps, WJB_KEY, &k);
	snprintf(buf, sizeof(buf), "%zu", count);
	v.type = jbvNumeric;
	v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
														ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	pushJsonbValue(ps, WJB_VALUE, &v);
}

/* a tolerance as num / 10^exp */
static void
ratio_arg(Numeric n, const char *what, recon_amount *num, int *exp)
{
	scaled		s = numeric_scaled(n, what);

	if (s.mantissa < 0 || s.scale > 30)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 0 and 1 with at most 30 decimal places", what)));
	*num = s.mantissa;
	*exp = s.scale;
}

/*
 * tpwallet._recon_match(run bigint, amount_tolerance numeric,
 *     relative_tolerance numeric, fee_tolerance numeric, window_us bigint,
 *     max_parts int, lookback interval) RETURNS jsonb
 */
Datum
tpwallet_recon_match(PG_FUNCTION_ARGS)
{
	int64		run = PG_GETARG_INT64(0);
	scaled		abs_tol = numeric_scaled(PG_GETARG_NUMERIC(1), "amount_tolerance");
	recon_rules rules;
	run_info	ri;
	TimestampTz t0,
				t1,
				t2,
				t3;
	loaded		ld;
	recon_result res;
	int			rc;
	JsonbParseState *ps = NULL;
	JsonbValue *jv;
	MemoryContext caller = CurrentMemoryContext;

	memset(&rules, 0, sizeof(rules));
	ratio_arg(PG_GETARG_NUMERIC(2), "relative_tolerance", &rules.rel_num, &rules.rel_exp);
	ratio_arg(PG_GETARG_NUMERIC(3), "fee_tolerance", &rules.fee_num, &rules.fee_exp);
	rules.window = PG_GETARG_INT64(4);
	rules.max_parts = PG_GETARG_INT32(5);
	rules.partial_budget = 200000;
	if (abs_tol.mantissa < 0 || rules.window < 0 || rules.max_parts < 0 || rules.max_parts > 20)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid matching rules"),
				 errhint("Tolerances and the window are >= 0; max_partial_items is 0 (off) or 2 to 20.")));

	match_cxt = AllocSetContextCreate(CurrentMemoryContext, "tpwallet recon match", ALLOCSET_DEFAULT_SIZES);
	memset(&ld, 0, sizeof(ld));
	ld.keys = recon_interner_create(&match_allocator);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ri = read_run(run);
	t0 = GetCurrentTimestamp();
	load_candidates(&ld, run, &ri, PG_GETARG_DATUM(6));
	t1 = GetCurrentTimestamp();

	/* one scale for the run: the largest among amounts and the tolerance */
	ld.scale = Max(ld.scale, abs_tol.scale);
	for (size_t k = 0; k < ld.n; k++)
		if (!rescale(ld.amounts[k], ld.scale, &ld.items[k].amount))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("item %lld: amount too large to reconcile at %d decimal places", (long long) ld.items[k].id, ld.scale),
					 errhint("Amounts and their decimal places together may have at most %d digits.", MAX_DIGITS)));
	if (!rescale(abs_tol, ld.scale, &rules.abs_tol))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("amount_tolerance is too large")));

	rc = recon_match_run(ld.items, ld.n, &rules, &match_allocator, &res);
	t2 = GetCurrentTimestamp();
	if (rc != RECON_OK)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("a tolerance applied to an amount exceeds 128 bits"),
				 errhint("Use smaller tolerances, or fewer decimal places in the tolerances.")));

	write_matches(run, &ld, &res);
	write_exceptions(run, &ld, &res);
	t3 = GetCurrentTimestamp();
	SPI_finish();

	/* what the passes did */
	MemoryContextSwitchTo(caller);
	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	for (int r = RR_EXACT_TXID; r <= RR_REVERSAL; r++)
		push_count(&ps, recon_rule_name((recon_rule) r), res.by_rule[r]);
	{
		size_t		n_left = 0,
					n_members = 0;

		for (size_t k = 0; k < ld.n; k++)
			n_left += ld.items[k].side == 0;
		for (size_t k = 0; k < res.n_matches; k++)
			n_members += res.matches[k].count;
		push_count(&ps, "partial_gave_up", res.partial_gave_up);
		/* what was written: reconcile() sets the run's counts from these */
		push_count(&ps, "matches", res.n_matches);
		push_count(&ps, "matched_items", n_members);
		push_count(&ps, "exceptions", res.n_exceptions);
		push_count(&ps, "left_items", n_left);
		push_count(&ps, "right_items", ld.n - n_left);
		/* where the time went, milliseconds */
		push_count(&ps, "load_ms", (size_t) ((t1 - t0) / 1000));
		push_count(&ps, "match_ms", (size_t) ((t2 - t1) / 1000));
		push_count(&ps, "write_ms", (size_t) ((t3 - t2) / 1000));
	}
	jv = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	MemoryContextDelete(match_cxt);
	match_cxt = NULL;
	PG_RETURN_JSONB_P(JsonbValueToJsonb(jv));
}
