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
 * Reading the candidates is match_load.c's (match_sql.h is what the two
 * share).
 *
 * Called by reconcile() (src/sql/85_recon_match.sql), which has checked
 * the arguments, taken the run's lock and created the run row; this
 * function runs as the owner inside that call.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "recon/match.h"
#include "recon/match_sql.h"
#include "ledger/write.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
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

void *
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


/* A numeric as mantissa * 10^-scale, exactly; what names it in errors. */
scaled
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
	bool		open_query = false;
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
	load_candidates(&ld, run, &ri, PG_GETARG_DATUM(6), &open_query);
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
		/* 1: carried items read from what is open (match_load.c), 0: by a scan */
		push_count(&ps, "carry_from_open", open_query ? 1 : 0);
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
