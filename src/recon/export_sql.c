/*-------------------------------------------------------------------------
 *
 * export_sql.c
 *	  The record and time formats of recon_export (87_recon_review.sql):
 *	  tpwallet._csv_record(VARIADIC text[]) and tpwallet._recon_utc(t).
 *
 * Why in C: an export formats every matched item of a run, two million
 * lines for a run over a million items a side, thirteen fields each.  As
 * SQL functions (a regular expression per field, an aggregate per record,
 * a search_path set and reset per call) that took 3 min 25 s for a run of
 * a million; these are the same bytes at a fraction of the cost
 * (docs/performance.md).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/formatting.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(tpwallet_csv_record);
PG_FUNCTION_INFO_V1(tpwallet_recon_utc);

/*
 * Unicode White_Space: a field that begins or ends with one is quoted, so
 * that a reader that trims unquoted fields keeps it.  A fixed list, not the
 * server's locale, so that an export is the same bytes on every server.
 */
static bool
is_white_space(pg_wchar c)
{
	return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
		(c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
		c == 0x205F || c == 0x3000;
}

/* the first and the last character of s (len > 0 bytes) */
static void
edge_chars(const char *s, int len, pg_wchar *first, pg_wchar *last)
{
	if (GetDatabaseEncoding() != PG_UTF8)
	{
		*first = (unsigned char) s[0];
		*last = (unsigned char) s[len - 1];
		return;
	}
	*first = utf8_to_unicode((const unsigned char *) s);
	{
		int			k = len - 1;

		/* back over continuation bytes (10xxxxxx) to the last character's start */
		while (k > 0 && ((unsigned char) s[k] & 0xC0) == 0x80)
			k--;
		*last = utf8_to_unicode((const unsigned char *) s + k);
	}
}

static bool
needs_quotes(const char *s, int len)
{
	pg_wchar	first,
				last;

	if (len == 0)
		return false;
	for (int i = 0; i < len; i++)
		if (s[i] == '"' || s[i] == ',' || s[i] == '\r' || s[i] == '\n')
			return true;
	edge_chars(s, len, &first, &last);
	return is_white_space(first) || is_white_space(last);
}

/* one RFC 4180 field: quoted when needed, quotes doubled; NULL is empty */
static void
append_field(StringInfo out, const char *s, int len)
{
	if (!needs_quotes(s, len))
	{
		appendBinaryStringInfo(out, s, len);
		return;
	}
	appendStringInfoChar(out, '"');
	for (int i = 0; i < len; i++)
	{
		if (s[i] == '"')
			appendStringInfoChar(out, '"');
		appendStringInfoChar(out, s[i]);
	}
	appendStringInfoChar(out, '"');
}

/*
 * tpwallet._csv_record(VARIADIC fields text[]) RETURNS text: one CSV
 * record, CRLF-terminated; a NULL field is empty.  NULL for no fields.
 */
Datum
tpwallet_csv_record(PG_FUNCTION_ARGS)
{
	ArrayType  *fields = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *values;
	bool	   *nulls;
	int			n;
	StringInfoData out;

	if (ARR_NDIM(fields) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("a CSV record is a one-dimensional array of fields")));
	deconstruct_array(fields, TEXTOID, -1, false, TYPALIGN_INT, &values, &nulls, &n);
	if (n == 0)
		PG_RETURN_NULL();
	initStringInfo(&out);
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(&out, ',');
		if (!nulls[i])
		{
			text	   *t = DatumGetTextPP(values[i]);

			append_field(&out, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		}
	}
	appendBinaryStringInfo(&out, "\r\n", 2);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out.data, out.len));
}

/*
 * tpwallet._recon_utc(t timestamptz) RETURNS text: UTC, ISO 8601,
 * microseconds (2026-05-01T10:00:00.000000Z), whatever the session's
 * TimeZone and DateStyle; NULL for an infinity, as to_char answers.  Years
 * outside 1..9999 take to_char's path, so that they print as it prints
 * them.
 */
Datum
tpwallet_recon_utc(PG_FUNCTION_ARGS)
{
	TimestampTz t = PG_GETARG_TIMESTAMPTZ(0);
	struct pg_tm tm;
	fsec_t		fsec;

	if (TIMESTAMP_NOT_FINITE(t))
		PG_RETURN_NULL();		/* as to_char answers for infinities */
	if (timestamp2tm(t, NULL, &tm, &fsec, NULL, NULL) == 0 && tm.tm_year >= 1 && tm.tm_year <= 9999)
		PG_RETURN_TEXT_P(cstring_to_text(psprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
												  tm.tm_year, tm.tm_mon, tm.tm_mday,
												  tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec)));
	{
		/* timestamptz as timestamp at UTC: the same microseconds */
		Datum		r = DirectFunctionCall2(timestamp_to_char, TimestampGetDatum(t),
										  CStringGetTextDatum("YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\""));

		PG_RETURN_DATUM(r);
	}
}
