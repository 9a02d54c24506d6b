/*-------------------------------------------------------------------------
 *
 * recon_sql.c
 *	  The SQL side of the statement parsers: CSV records, amounts, times.
 *
 * These are pure functions (no table, no key); the import itself is SQL
 * (src/sql/80_recon.sql), which maps columns to item fields and names the
 * line of the first bad row.  So the value parsers do not raise errors for
 * a bad value: they return NULL and let the caller say which line and
 * field it was.  Only arguments that are the caller's configuration (a
 * delimiter, separators, a date_format) raise errors here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "recon/csv.h"
#include "recon/decimal.h"
#include "recon/timefmt.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(tpwallet_csv_rows);
PG_FUNCTION_INFO_V1(tpwallet_csv_header);
PG_FUNCTION_INFO_V1(tpwallet_parse_amount);
PG_FUNCTION_INFO_V1(tpwallet_parse_time);
PG_FUNCTION_INFO_V1(tpwallet_parse_date);

/* Huge allocations: one record of a 1 GB text can outgrow MaxAllocSize. */
static void *
csv_palloc(size_t size)
{
	return MemoryContextAllocHuge(CurrentMemoryContext, size ? size : 1);
}

static void *
csv_repalloc(void *ptr, size_t size)
{
	return repalloc_huge(ptr, size ? size : 1);
}

static void
csv_pfree(void *ptr)
{
	if (ptr)
		pfree(ptr);
}

static const csv_allocator csv_palloc_allocator = {csv_palloc, csv_repalloc, csv_pfree};

/* The one-byte delimiter of a text argument; NULL means ','. */
static char
delimiter_arg(FunctionCallInfo fcinfo, int argno)
{
	text	   *t;

	if (PG_ARGISNULL(argno))
		return ',';
	t = PG_GETARG_TEXT_PP(argno);
	if (VARSIZE_ANY_EXHDR(t) != 1 || VARDATA_ANY(t)[0] == '"' ||
		VARDATA_ANY(t)[0] == '\r' || VARDATA_ANY(t)[0] == '\n')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid CSV delimiter \"%s\"", text_to_cstring(t)),
				 errhint("Use one ASCII character other than a quote or a line break, such as \",\", \";\" or a tab.")));
	return VARDATA_ANY(t)[0];
}

static void
csv_syntax_error(const csv_reader *r, int rc)
{
	if (rc == CSV_ERR_OUT_OF_MEMORY)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while reading CSV")));
	ereport(ERROR,
			(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
			 errmsg("line %ld: %s", r->error_line, csv_strerror(rc)),
			 rc == CSV_ERR_UNTERMINATED_QUOTE ?
			 errdetail("The quoted field that opens on line %ld is never closed.", r->error_line) : 0,
			 errhint("Fields that hold the delimiter, a quote or a line break must be quoted, with quotes inside doubled (RFC 4180).")));
}

/* The current record as a text[]. */
static ArrayType *
record_array(const csv_reader *r)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(r->nfields, 1));
	ArrayType  *a;
	int			i;

	for (i = 0; i < r->nfields; i++)
	{
		size_t		len;
		const char *f = csv_field(r, i, &len);

		elems[i] = PointerGetDatum(cstring_to_text_with_len(f, (int) len));
	}
	a = construct_array(elems, r->nfields, TEXTOID, -1, false, TYPALIGN_INT);
	for (i = 0; i < r->nfields; i++)
		pfree(DatumGetPointer(elems[i]));
	pfree(elems);
	return a;
}

/*
 * _csv_rows(data text, delimiter text) -> (record int, line int, fields text[])
 * Every record in order: record 1 is the header.  A syntax error anywhere
 * is raised (22P04) before any row is returned.
 */
Datum
tpwallet_csv_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *data;
	char		delim;
	csv_reader	r;
	int			rc;
	int			record = 0;
	MemoryContext row_cxt;
	MemoryContext old_cxt;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	data = PG_GETARG_TEXT_PP(0);
	delim = delimiter_arg(fcinfo, 1);

	row_cxt = AllocSetContextCreate(CurrentMemoryContext, "tpwallet csv row",
									ALLOCSET_DEFAULT_SIZES);
	csv_init(&r, VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data), delim,
			 &csv_palloc_allocator);
	while ((rc = csv_next(&r)) == CSV_OK)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		CHECK_FOR_INTERRUPTS();
		if (r.record_line > PG_INT32_MAX || record == PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("CSV input has too many lines")));
		record++;
		old_cxt = MemoryContextSwitchTo(row_cxt);
		values[0] = Int32GetDatum(record);
		values[1] = Int32GetDatum((int32) r.record_line);
		values[2] = PointerGetDatum(record_array(&r));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(old_cxt);
		MemoryContextReset(row_cxt);
	}
	if (rc != CSV_EOF)
		csv_syntax_error(&r, rc);
	csv_free(&r);
	MemoryContextDelete(row_cxt);
	return (Datum) 0;
}

/*
 * _csv_header(data text, delimiter text) -> text[]
 * The first record only (NULL for an input without records); the rest of
 * the input is not read, so a syntax error further down is not seen here.
 */
Datum
tpwallet_csv_header(PG_FUNCTION_ARGS)
{
	text	   *data;
	char		delim;
	csv_reader	r;
	int			rc;
	ArrayType  *a;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	data = PG_GETARG_TEXT_PP(0);
	delim = delimiter_arg(fcinfo, 1);
	csv_init(&r, VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data), delim,
			 &csv_palloc_allocator);
	rc = csv_next(&r);
	if (rc == CSV_EOF)
	{
		csv_free(&r);
		PG_RETURN_NULL();
	}
	if (rc != CSV_OK)
		csv_syntax_error(&r, rc);
	a = record_array(&r);
	csv_free(&r);
	PG_RETURN_ARRAYTYPE_P(a);
}

/* A one-character separator argument; NULL or '' gives dflt. */
static char
separator_arg(FunctionCallInfo fcinfo, int argno, char dflt)
{
	text	   *t;

	if (PG_ARGISNULL(argno))
		return dflt;
	t = PG_GETARG_TEXT_PP(argno);
	if (VARSIZE_ANY_EXHDR(t) == 0)
		return dflt;
	if (VARSIZE_ANY_EXHDR(t) != 1)
		return '\x01';			/* refused by recon_decimal_separators_ok */
	return VARDATA_ANY(t)[0];
}

/*
 * _parse_amount(value text, decimal text, thousands text) -> numeric
 * NULL when value is NULL, blank or not a number in that notation.
 */
Datum
tpwallet_parse_amount(PG_FUNCTION_ARGS)
{
	char		dec = separator_arg(fcinfo, 1, '.');
	char		group = separator_arg(fcinfo, 2, '\0');
	text	   *value;
	size_t		len;
	char	   *out;
	size_t		out_len;
	int			rc;

	if (!recon_decimal_separators_ok(dec, group))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid decimal or thousands separator"),
				 errhint("decimal is \".\" or \",\"; thousands is empty or one of \".\", \",\", \"'\", \"_\" or a space, and not the decimal separator.")));
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	value = PG_GETARG_TEXT_PP(0);
	len = VARSIZE_ANY_EXHDR(value);
	out = palloc(len + 3);
	rc = recon_decimal_normalize(VARDATA_ANY(value), len, dec, group, out,
								 len + 3, &out_len);
	if (rc != DEC_OK)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(DirectFunctionCall3(numeric_in, CStringGetDatum(out),
										ObjectIdGetDatum(InvalidOid),
										Int32GetDatum(-1)));
}

/*
 * Parse value by format (NULL: ISO 8601).  false for a value that does
 * not parse; an invalid format is an error.
 */
static bool
parse_time_args(FunctionCallInfo fcinfo, recon_time *t)
{
	char	   *fmt = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	text	   *value;
	int			rc;

	if (fmt != NULL && recon_time_format_check(fmt) != TIME_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid date_format \"%s\"", fmt),
				 errhint("Use YYYY, MM, DD and optionally HH24, MI, SS with literal separators, such as \"DD.MM.YYYY\" or \"MM/DD/YYYY HH24:MI\".")));
	if (PG_ARGISNULL(0))
		return false;
	value = PG_GETARG_TEXT_PP(0);
	rc = recon_time_parse(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value), fmt, t);
	return rc == TIME_OK;
}

/*
 * _parse_time(value text, format text, timezone text) -> timestamptz
 * A time with an offset is that instant; a time without one (or a bare
 * date: midnight) is in timezone (NULL: UTC).  NULL when value does not
 * parse.
 */
Datum
tpwallet_parse_time(PG_FUNCTION_ARGS)
{
	recon_time	t;
	char		buf[96];
	text	   *zone;
	Datum		ts;

	if (!parse_time_args(fcinfo, &t))
		PG_RETURN_NULL();
	snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d%s%s",
			 t.year, t.month, t.day, t.hour, t.minute, t.second,
			 t.fraction[0] ? "." : "", t.fraction);
	if (t.has_zone)
	{
		int			off = t.zone_minutes < 0 ? -t.zone_minutes : t.zone_minutes;
		size_t		n = strlen(buf);

		snprintf(buf + n, sizeof(buf) - n, "%c%02d:%02d",
				 t.zone_minutes < 0 ? '-' : '+', off / 60, off % 60);
		PG_RETURN_DATUM(DirectFunctionCall3(timestamptz_in, CStringGetDatum(buf),
											ObjectIdGetDatum(InvalidOid),
											Int32GetDatum(-1)));
	}
	ts = DirectFunctionCall3(timestamp_in, CStringGetDatum(buf),
							 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	zone = PG_ARGISNULL(2) ? cstring_to_text("UTC") : PG_GETARG_TEXT_PP(2);
	PG_RETURN_DATUM(DirectFunctionCall2(timestamp_zone, PointerGetDatum(zone), ts));
}

/*
 * _parse_date(value text, format text) -> date
 * The calendar date as written (a time or an offset in value is ignored:
 * a value date is a day, not an instant).  NULL when value does not parse.
 */
Datum
tpwallet_parse_date(PG_FUNCTION_ARGS)
{
	recon_time	t;
	char		buf[16];

	if (!parse_time_args(fcinfo, &t))
		PG_RETURN_NULL();
	snprintf(buf, sizeof(buf), "%04d-%02d-%02d", t.year, t.month, t.day);
	PG_RETURN_DATUM(DirectFunctionCall1(date_in, CStringGetDatum(buf)));
}
