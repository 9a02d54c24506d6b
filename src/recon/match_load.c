/*-------------------------------------------------------------------------
 *
 * match_load.c
 *	  Reading a run's candidates for tpwallet._recon_match (match_sql.c):
 *	  the run's sources and window, then its window's items and the earlier
 *	  items it carries forward, each row straight from the executor into the
 *	  item arrays, its keys interned.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "recon/match_sql.h"
#include "tpwallet.h"

#include "access/transam.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/xid8.h"

/*
 * The run's candidates: its window's items of both sources, and earlier
 * items (back to window_from - lookback) that no earlier run of the same
 * two sources settled: matched (and not unmatched since), or excepted and
 * resolved by a decision (written off, adjusted, accepted).  Of several
 * runs of one window only the last counts.  twin_before finds, for
 * carried-forward statement items only, an identical earlier item that may
 * not be a candidate itself.
 *
 * CARRIED_WHERE is the definition of an unsettled earlier item.  Which
 * rows it is tested on is the choice between two queries:
 *
 * - full_candidates_sql tests every item of the lookback range: the cost
 *   grows with lookback x daily volume.
 * - open_candidates_sql tests only a superset of the unsettled ones, read
 *   from what can have changed since the previous run of the same sources
 *   (prev; complete, its window not empty and ended by this run's from,
 *   its candidates read at snapshot xmin prev_xmin).  Every candidate of
 *   prev ended matched or excepted, and everything else that prev saw in
 *   its range [prev_lo, prev_to) was settled then, by runs whose windows
 *   ended by prev's from, so by this run's from too.  So an item unsettled
 *   now is in one of:
 *     - an unresolved exception (what prev and earlier runs left open);
 *     - a revoked match (an approved unmatch since; it also reopens or
 *       opens an exception for each item, so the first finds these too);
 *     - an import prev may not have seen (loaded_xid >= prev_xmin);
 *     - the part of this run's lookback outside prev's range.
 *   A run that goes back (a re-run of a window, an older window) has
 *   matches of later windows that settled items for prev but not for it:
 *   it takes the full query.
 *   prev_lo is prev's from - lookback plus a day: the session's time zone
 *   may differ from prev's, and moves day arithmetic by hours at most; a
 *   range taken too short only adds rows to test.  The result is the same
 *   set (regress 21_recon_carry compares the two, run by run).
 *
 * The same test for a settling match is spelt two ways.  The full query
 * has it as NOT EXISTS, an anti join: for every item of the range, hashing
 * the members of the earlier runs is cheaper than a probe per item.  The
 * open query has few rows to test, and there it is a scalar subquery,
 * which the planner keeps as a probe of the members' key per item: as NOT
 * EXISTS the planner chose the hash there too, 291,034 members read
 * (230 ms) for 5,223 carried items after 150 daily runs.
 */
#define CANDIDATE_COLUMNS \
	"i.item_id, i.source_id, i.txid, i.order_id, i.amount, i.asset, i.occurred_at, i.is_reversal," \
	"       i.ext_id, i.content_hash"

#define WINDOW_PART \
	"SELECT " CANDIDATE_COLUMNS ", NULL::bigint" \
	"  FROM tpwallet.recon_items i" \
	" WHERE i.source_id IN ($2, $3) AND i.occurred_at >= $4 AND i.occurred_at < $5"

#define CARRIED_SELECT \
	"SELECT " CANDIDATE_COLUMNS "," \
	"       CASE WHEN i.content_hash IS NOT NULL OR i.ext_id IS NOT NULL THEN" \
	"            least((SELECT min(j.item_id) FROM tpwallet.recon_items j" \
	"                    WHERE j.source_id = i.source_id AND j.content_hash = i.content_hash AND j.item_id < i.item_id)," \
	"                  (SELECT min(j.item_id) FROM tpwallet.recon_items j" \
	"                    WHERE j.ext_id = i.ext_id AND j.source_id = i.source_id AND j.item_id < i.item_id)) END" \
	"  FROM tpwallet.recon_items i"

/*
 * Runs of the same two sources, in either order.  Spelt as a row IN list,
 * not with least()/greatest(): the planner estimates it from the columns'
 * statistics (an expression it would guess at 1 row in 200, and then
 * hash every member of every earlier run instead of probing per item).
 */
#define SAME_PAIR(r) \
	"(" r ".left_source_id, " r ".right_source_id) IN (($2, $3), ($3, $2))"

/* a match that settled item i: of an earlier run of the two sources whose
 * window ended by this run's from, the last run of its window, not revoked */
#define SETTLING_MATCH \
	"SELECT 1 FROM tpwallet.recon_match_members pm JOIN tpwallet.recon_runs pr ON pr.run_id = pm.run_id" \
	" WHERE pm.item_id = i.item_id AND pr.run_id < $1 AND pr.window_to <= $4" \
	"   AND " SAME_PAIR("pr") \
	"   AND NOT EXISTS (SELECT 1 FROM tpwallet.recon_match_revocations v WHERE v.match_id = pm.match_id)" \
	"   AND NOT EXISTS (SELECT 1 FROM tpwallet.recon_runs p2" \
	"                    WHERE p2.run_id > pr.run_id AND p2.run_id < $1" \
	"                      AND p2.left_source_id = pr.left_source_id AND p2.right_source_id = pr.right_source_id" \
	"                      AND p2.window_from = pr.window_from AND p2.window_to = pr.window_to)"

/* unsettled: no settling match (the test given), no decision that settled it */
#define CARRIED_WHERE(no_settling_match) \
	"   i.source_id IN ($2, $3) AND i.occurred_at >= $4 - $6::interval AND i.occurred_at < $4" \
	"   AND " no_settling_match \
	"   AND NOT EXISTS (SELECT 1 FROM tpwallet.recon_exceptions x" \
	"                    WHERE x.item_id = i.item_id AND x.run_id < $1 AND x.status = 'resolved'" \
	"                      AND x.resolution IN ('written_off', 'adjusted', 'accepted'))"

static const char *const full_candidates_sql =
WINDOW_PART
" UNION ALL "
CARRIED_SELECT
" WHERE " CARRIED_WHERE("NOT EXISTS (" SETTLING_MATCH ")");

/* $7 prev_xmin, $8 prev_lo, $9 prev_to (see above) */
static const char *const open_candidates_sql =
WINDOW_PART
" UNION ALL "
CARRIED_SELECT
" WHERE i.item_id IN ("
"         SELECT x.item_id FROM tpwallet.recon_exceptions x WHERE x.status <> 'resolved'"
"   UNION SELECT m.item_id FROM tpwallet.recon_match_revocations v"
"           JOIN tpwallet.recon_match_members m ON m.run_id = v.run_id AND m.match_id = v.match_id"
"   UNION SELECT j.item_id FROM tpwallet.recon_imports im JOIN tpwallet.recon_items j ON j.import_id = im.import_id"
"          WHERE im.source_id IN ($2, $3) AND im.loaded_xid >= $7"
"            AND j.occurred_at >= $4 - $6::interval AND j.occurred_at < $4"
"   UNION SELECT j.item_id FROM tpwallet.recon_items j"
"          WHERE j.source_id IN ($2, $3) AND j.occurred_at >= $4 - $6::interval AND j.occurred_at < least($4, $8)"
"   UNION SELECT j.item_id FROM tpwallet.recon_items j"
"          WHERE j.source_id IN ($2, $3) AND j.occurred_at >= greatest($4 - $6::interval, $9) AND j.occurred_at < $4"
")"
"   AND " CARRIED_WHERE("(" SETTLING_MATCH " LIMIT 1) IS NULL");

/*
 * The previous run of the same two sources, when it allows the open query.
 * Its xmin must not be ahead of this run's: xmins only grow within one
 * cluster, and a run restored from another cluster's dump carries that
 * cluster's xids (imports made since would look older than it).
 */
static const char *const prev_run_sql =
"SELECT r.candidates_xmin, r.window_from - (r.rules ->> 'lookback')::interval + interval '1 day', r.window_to"
"  FROM tpwallet.recon_runs r"
" WHERE r.run_id = (SELECT max(p.run_id) FROM tpwallet.recon_runs p WHERE p.run_id < $1 AND " SAME_PAIR("p") ")"
"   AND r.status = 'done' AND r.candidates_xmin IS NOT NULL AND r.window_from < r.window_to"
"   AND r.window_to <= $4 AND r.candidates_xmin <= $5";


run_info
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
 * The snapshot's xmin as an xid8: every import made by a transaction
 * before it is visible in the snapshot.  An xmin is never ahead of the
 * next xid, so it lies in the next xid's epoch or the one before.
 */
static Datum
snapshot_xmin_xid8(Snapshot snap)
{
	FullTransactionId next = ReadNextFullTransactionId();
	uint32		epoch = EpochFromFullTransactionId(next);

	if (snap->xmin > XidFromFullTransactionId(next))
		epoch--;
	return FullTransactionIdGetDatum(FullTransactionIdFromEpochAndXid(epoch, snap->xmin));
}

/* the run's row keeps the xmin its candidates are read at, for the next run */
static void
record_candidates_xmin(int64 run, Datum xmin)
{
	Oid			types[2] = {INT8OID, XID8OID};
	Datum		args[2] = {Int64GetDatum(run), xmin};

	if (SPI_execute_with_args("UPDATE tpwallet.recon_runs SET candidates_xmin = $2 WHERE run_id = $1",
							  2, types, args, NULL, false, 0) != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "could not record the snapshot of run %lld", (long long) run);
}

/*
 * Whether the open query may be used (prev_run_sql, with this run's
 * snapshot xmin); if so, fills args[6..8] and returns true.
 */
static bool
open_query_allowed(int64 run, const run_info *ri, Datum xmin, Datum *args)
{
	Oid			types[5] = {INT8OID, INT4OID, INT4OID, TIMESTAMPTZOID, XID8OID};
	Datum		run_args[5] = {Int64GetDatum(run), Int32GetDatum(ri->left_id), Int32GetDatum(ri->right_id),
	TimestampTzGetDatum(ri->from), xmin};
	bool		isnull;

	if (tpwallet_recon_full_carry_scan)
		return false;
	if (SPI_execute_with_args(prev_run_sql, 5, types, run_args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the previous run of run %lld", (long long) run);
	if (SPI_processed != 1)
		return false;
	/* xid8 and timestamptz: passed by value, nothing to copy out of SPI */
	for (int i = 0; i < 3; i++)
		args[6 + i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &isnull);
	return true;
}

/*
 * The candidate query planned with the run's values (a custom plan, whose
 * row estimate comes from the items' statistics for this window), then run
 * with the receiver above.  Not through SPI_execute: it would plan the same
 * way but keep the estimate to itself.  Read-only, in the caller's snapshot
 * (as SPI does for a read-only call).  *open_query: which of the two
 * candidate queries it was.
 */
void
load_candidates(loaded *ld, int64 run, const run_info *ri, Datum lookback, bool *open_query)
{
	static Oid	types[9] = {INT8OID, INT4OID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INTERVALOID,
	XID8OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		args[9] = {Int64GetDatum(run), Int32GetDatum(ri->left_id), Int32GetDatum(ri->right_id),
	TimestampTzGetDatum(ri->from), TimestampTzGetDatum(ri->to), lookback};
	Snapshot	snap = GetActiveSnapshot();
	Datum		xmin = snapshot_xmin_xid8(snap);
	bool		use_open;
	const char *sql;
	int			nargs;
	ParamListInfo params;
	candidate_receiver r;
	RawStmt    *raw;
	Query	   *query;
	PlannedStmt *stmt;
	QueryDesc  *qd;

	record_candidates_xmin(run, xmin);
	use_open = open_query_allowed(run, ri, xmin, args);
	sql = use_open ? open_candidates_sql : full_candidates_sql;
	nargs = use_open ? 9 : 6;
	params = makeParamList(nargs);
	for (int i = 0; i < nargs; i++)
	{
		params->params[i].value = args[i];
		params->params[i].isnull = false;
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = types[i];
	}
	raw = linitial_node(RawStmt, pg_parse_query(sql));
	query = linitial_node(Query, pg_analyze_and_rewrite_fixedparams(raw, sql, types, nargs, NULL));
	stmt = pg_plan_query(query, sql, 0, params);
	reserve_for_estimate(ld, stmt->planTree->plan_rows);

	memset(&r, 0, sizeof(r));
	r.pub.receiveSlot = receive_candidate;
	r.pub.rStartup = candidate_startup;
	r.pub.rShutdown = candidate_noop;
	r.pub.rDestroy = candidate_noop;
	r.pub.mydest = DestNone;
	r.ld = ld;
	r.ri = ri;
	qd = CreateQueryDesc(stmt, sql, snap, InvalidSnapshot,
						 (DestReceiver *) &r, params, NULL, 0);
	ExecutorStart(qd, 0);
	ExecutorRun(qd, ForwardScanDirection, 0, true);
	ExecutorFinish(qd);
	ExecutorEnd(qd);
	FreeQueryDesc(qd);
	*open_query = use_open;
}
