/*-------------------------------------------------------------------------
 *
 * test_csv.c
 *	  Unit tests for the statement parsers in src/recon: the CSV reader
 *	  (csv.c), amount normalization (decimal.c) and dates and times
 *	  (timefmt.c).
 *
 * Prints "N passed, M failed" last (check.h).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "csv.h"
#include "decimal.h"
#include "timefmt.h"

/* ---------------------------------------------------------------- CSV */

/*
 * Parse text with delim and compare with want: records separated by '\n',
 * fields by '|', each record prefixed by its line number and ':'
 * ("1:a|b\n2:c|d\n").  Returns the final csv_next result.
 */
static int
csv_describe(const char *data, size_t len, char delim, char *out, size_t cap)
{
	csv_reader	r;
	int			rc;
	size_t		o = 0;

	out[0] = '\0';
	csv_init(&r, data, len, delim, NULL);
	while ((rc = csv_next(&r)) == CSV_OK)
	{
		int			i;

		o += (size_t) snprintf(out + o, cap - o, "%ld:", r.record_line);
		for (i = 0; i < r.nfields; i++)
		{
			size_t		flen;
			const char *f = csv_field(&r, i, &flen);

			if (o + flen + 3 >= cap)
				abort();
			memcpy(out + o, f, flen);
			o += flen;
			out[o++] = i + 1 < r.nfields ? '|' : '\n';
			out[o] = '\0';
		}
	}
	csv_free(&r);
	return rc;
}

static void
check_csv_impl(const char *data, size_t len, char delim, const char *want,
			   int line)
{
	char		got[4096];
	int			rc = csv_describe(data, len, delim, got, sizeof(got));

	if (rc == CSV_EOF && strcmp(got, want) == 0)
		check_pass();
	else
		check_fail("test_csv.c:%d: csv %s\n  got  (%s) %s\n  want %s", line,
				   data, csv_strerror(rc), got, want);
}

#define CHECK_CSV(data, want) \
	check_csv_impl((data), strlen(data), ',', (want), __LINE__)
#define CHECK_CSV_D(data, delim, want) \
	check_csv_impl((data), strlen(data), (delim), (want), __LINE__)

/* data must fail with err on line err_line (after any good records) */
static void
check_csv_error_impl(const char *data, char delim, int err, long err_line,
					 int line)
{
	csv_reader	r;
	int			rc;

	csv_init(&r, data, strlen(data), delim, NULL);
	while ((rc = csv_next(&r)) == CSV_OK)
		;
	if (rc == err && r.error_line == err_line && csv_next(&r) == err)
		check_pass();
	else
		check_fail("test_csv.c:%d: csv %s: got %d (%s) on line %ld, want %d on line %ld",
				   line, data, rc, csv_strerror(rc), r.error_line, err, err_line);
	csv_free(&r);
}

#define CHECK_CSV_ERROR(data, err, err_line) \
	check_csv_error_impl((data), ',', (err), (err_line), __LINE__)

static void
test_csv_basic(void)
{
	CHECK_CSV("a,b,c\n1,2,3\n", "1:a|b|c\n2:1|2|3\n");
	CHECK_CSV("a,b,c\n1,2,3", "1:a|b|c\n2:1|2|3\n");
	CHECK_CSV("", "");
	CHECK_CSV("\n\r\n\r", "");
	CHECK_CSV("x", "1:x\n");
	/* CRLF, lone CR, mixed */
	CHECK_CSV("a,b\r\n1,2\r\n", "1:a|b\n2:1|2\n");
	CHECK_CSV("a,b\r1,2\r3,4", "1:a|b\n2:1|2\n3:3|4\n");
	CHECK_CSV("a\r\n\nb\r\rc\n", "1:a\n3:b\n5:c\n");
	/* empty lines are skipped but counted */
	CHECK_CSV("h\n\n\nv\n", "1:h\n4:v\n");
	/* empty fields */
	CHECK_CSV("a,,c\n,\n", "1:a||c\n2:|\n");
	CHECK_CSV("a,b,\n", "1:a|b|\n");
	CHECK_CSV("a,b,", "1:a|b|\n");
	/* unquoted blanks are data */
	CHECK_CSV(" a , b \n", "1: a | b \n");
	CHECK_CSV("a,  \n", "1:a|  \n");
}

static void
test_csv_quotes(void)
{
	CHECK_CSV("\"a,b\",c\n", "1:a,b|c\n");
	CHECK_CSV("\"say \"\"hi\"\"\",x\n", "1:say \"hi\"|x\n");
	CHECK_CSV("\"\",\"\"\n", "1:|\n");
	CHECK_CSV("\"\"\"\"\n", "1:\"\n");
	/* line breaks inside quotes are data; the next record's line counts them */
	CHECK_CSV("id,memo\n1,\"two\nlines\"\n2,x\n", "1:id|memo\n2:1|two\nlines\n4:2|x\n");
	CHECK_CSV("1,\"a\r\nb\"\r\n2,c\r\n", "1:1|a\r\nb\n3:2|c\n");
	CHECK_CSV("1,\"a\rb\"\n2\n", "1:1|a\rb\n3:2\n");
	CHECK_CSV("\"\n\n\"\nz\n", "1:\n\n\n4:z\n");
	/* blanks around a quoted field are dropped */
	CHECK_CSV("a, \"b\" ,c\n", "1:a|b|c\n");
	CHECK_CSV(" \t\"b\"\t \n", "1:b\n");
	/* a quoted field at the very end */
	CHECK_CSV("a,\"b\"", "1:a|b\n");
}

static void
test_csv_delimiters_and_bom(void)
{
	CHECK_CSV_D("a;b;\"c;d\"\n1,5;2\n", ';', "1:a|b|c;d\n2:1,5|2\n");
	/* a tab delimiter is not a blank around quotes */
	CHECK_CSV_D("a\t\"b\"\t\tc\n", '\t', "1:a|b||c\n");
	CHECK_CSV_D("a b  c\n", ' ', "1:a|b||c\n");
	CHECK_CSV_D("a| \"b\" |c\n", '|', "1:a|b|c\n");
	/* a UTF-8 BOM at the start only */
	CHECK_CSV("\xEF\xBB\xBF" "a,b\n", "1:a|b\n");
	CHECK_CSV("\xEF\xBB\xBF", "");
	CHECK_CSV("a,\xEF\xBB\xBF" "b\n", "1:a|\xEF\xBB\xBF" "b\n");
	/* UTF-8 in fields */
	CHECK_CSV("\"Müller, Jörg\",€\n", "1:Müller, Jörg|€\n");
}

static void
test_csv_nul_bytes(void)
{
	static const char data[] = "a\0b,\"c\0\"\n";
	csv_reader	r;
	size_t		len;
	const char *f;

	csv_init(&r, data, sizeof(data) - 1, ',', NULL);
	CHECK_INT(csv_next(&r), CSV_OK);
	CHECK_INT(r.nfields, 2);
	f = csv_field(&r, 0, &len);
	CHECK(len == 3 && memcmp(f, "a\0b", 3) == 0);
	f = csv_field(&r, 1, &len);
	CHECK(len == 2 && memcmp(f, "c\0", 2) == 0 && f[2] == '\0');
	CHECK(csv_field(&r, 2, &len) == NULL && len == 0);
	CHECK(csv_field(&r, -1, NULL) == NULL);
	CHECK_INT(csv_next(&r), CSV_EOF);
	CHECK_INT(csv_next(&r), CSV_EOF);
	csv_free(&r);
}

static void
test_csv_errors(void)
{
	/* unterminated: the line the quote opens on */
	CHECK_CSV_ERROR("a,b\n1,\"open\n2,3\n", CSV_ERR_UNTERMINATED_QUOTE, 2);
	CHECK_CSV_ERROR("\"", CSV_ERR_UNTERMINATED_QUOTE, 1);
	CHECK_CSV_ERROR("a\n\n\n\"x\"\"", CSV_ERR_UNTERMINATED_QUOTE, 4);
	/* a quote inside an unquoted field */
	CHECK_CSV_ERROR("a,b\nx,12\"3\n", CSV_ERR_QUOTE_IN_FIELD, 2);
	CHECK_CSV_ERROR("a \"b\"\n", CSV_ERR_QUOTE_IN_FIELD, 1);
	/* text after a closing quote, on the line where the quote closed */
	CHECK_CSV_ERROR("\"a\"b\n", CSV_ERR_AFTER_QUOTE, 1);
	CHECK_CSV_ERROR("h\n\"a\nb\" c,d\n", CSV_ERR_AFTER_QUOTE, 3);
	check_csv_error_impl("a\"b", '"', CSV_ERR_BAD_DELIMITER, 0, __LINE__);
	check_csv_error_impl("a\nb", '\n', CSV_ERR_BAD_DELIMITER, 0, __LINE__);
	check_csv_error_impl("a", '\r', CSV_ERR_BAD_DELIMITER, 0, __LINE__);
	check_csv_error_impl("a", '\0', CSV_ERR_BAD_DELIMITER, 0, __LINE__);
	CHECK(strcmp(csv_strerror(CSV_ERR_UNTERMINATED_QUOTE), "unterminated quoted field") == 0);
	CHECK(strcmp(csv_strerror(12345), "unknown csv error") == 0);
}

static void
test_csv_too_many_fields(void)
{
	size_t		n = CSV_MAX_FIELDS;
	char	   *ok = malloc(n + 2);
	char	   *bad = malloc(n + 3);
	csv_reader	r;

	if (ok == NULL || bad == NULL)
		abort();
	/* n - 1 commas: n fields; n commas: one too many */
	memset(ok, ',', n - 1);
	memcpy(ok + n - 1, "\nx", 3);
	memset(bad, ',', n);
	memcpy(bad + n, "\nx", 3);
	csv_init(&r, ok, strlen(ok), ',', NULL);
	CHECK_INT(csv_next(&r), CSV_OK);
	CHECK_INT(r.nfields, CSV_MAX_FIELDS);
	CHECK_INT(csv_next(&r), CSV_OK);
	CHECK_INT(r.nfields, 1);
	csv_free(&r);
	csv_init(&r, bad, strlen(bad), ',', NULL);
	CHECK_INT(csv_next(&r), CSV_ERR_TOO_MANY_FIELDS);
	CHECK_INT(r.error_line, 1);
	csv_free(&r);
	free(ok);
	free(bad);
}

static void
test_csv_allocators(void)
{
	const csv_allocator counting = {count_alloc, count_realloc, count_free};
	const csv_allocator failing = {fail_alloc, fail_realloc, count_free};
	csv_reader	r;
	char		big[5000];
	int			records = 0;

	/* a field longer than the first buffer, and many fields: no leak */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[100] = ',';
	big[200] = '\n';
	alloc_reset();
	csv_init(&r, big, strlen(big), ',', &counting);
	while (csv_next(&r) == CSV_OK)
		records++;
	CHECK_INT(records, 2);
	CHECK_INT(r.error, 0);
	csv_free(&r);
	CHECK_INT(alloc_live, 0);
	CHECK(alloc_max >= 4799);

	csv_init(&r, "a,b\n", 4, ',', &failing);
	CHECK_INT(csv_next(&r), CSV_ERR_OUT_OF_MEMORY);
	CHECK_INT(r.error_line, 1);
	csv_free(&r);
}

/* ---------------------------------------------------------------- amounts */

static void
check_amount_impl(const char *in, char dec, char group, int want_rc,
				  const char *want, int line)
{
	char		out[64];
	size_t		len = 99;
	int			rc = recon_decimal_normalize(in, strlen(in), dec, group, out,
											 sizeof(out), &len);

	if (rc == want_rc && (rc != DEC_OK ? (len == 0 && out[0] == '\0') :
						  (strcmp(out, want) == 0 && len == strlen(want))))
		check_pass();
	else
		check_fail("test_csv.c:%d: amount \"%s\" ('%c', '%c'): got %d \"%s\", want %d \"%s\"",
				   line, in, dec, group ? group : '0', rc, out, want_rc,
				   want ? want : "");
}

#define AMOUNT(in, dec, group, want) \
	check_amount_impl((in), (dec), (group), DEC_OK, (want), __LINE__)
#define AMOUNT_ERR(in, dec, group, rc) \
	check_amount_impl((in), (dec), (group), (rc), NULL, __LINE__)

static void
test_amounts(void)
{
	AMOUNT("1234.56", '.', 0, "1234.56");
	AMOUNT("0", '.', 0, "0");
	AMOUNT("007.10", '.', 0, "007.10");
	AMOUNT("1.10", '.', 0, "1.10");
	AMOUNT("-12.50", '.', 0, "-12.50");
	AMOUNT("+3", '.', 0, "3");
	AMOUNT("12.50-", '.', 0, "-12.50");
	AMOUNT("12.50+", '.', 0, "12.50");
	AMOUNT(".5", '.', 0, "0.5");
	AMOUNT("-.5", '.', 0, "-0.5");
	AMOUNT("5.", '.', 0, "5");
	AMOUNT("  42 \t", '.', 0, "42");
	AMOUNT("123456789012345678901234567890.123456789012345678", '.', 0,
		   "123456789012345678901234567890.123456789012345678");
	/* decimal comma, thousands */
	AMOUNT("1.234,56", ',', '.', "1234.56");
	AMOUNT("-1.234.567,8", ',', '.', "-1234567.8");
	AMOUNT("1.234.567,89-", ',', '.', "-1234567.89");
	AMOUNT("12,5", ',', 0, "12.5");
	AMOUNT("1,234,567.89", '.', ',', "1234567.89");
	AMOUNT("1234", ',', '.', "1234");
	AMOUNT("999,5", ',', '.', "999.5");
	AMOUNT("1'000.00", '.', '\'', "1000.00");
	AMOUNT("1_000", '.', '_', "1000");
	AMOUNT("1 234 567,8", ',', ' ', "1234567.8");
	AMOUNT("1\xC2\xA0" "234,5", ',', ' ', "1234.5");
	AMOUNT("1\xE2\x80\xAF" "234,5\xC2\xA0", ',', ' ', "1234.5");
	AMOUNT("\xC2\xA0-7", '.', 0, "-7");

	AMOUNT_ERR("", '.', 0, DEC_ERR_EMPTY);
	AMOUNT_ERR(" \t ", '.', 0, DEC_ERR_EMPTY);
	AMOUNT_ERR("-", '.', 0, DEC_ERR_SYNTAX);
	AMOUNT_ERR(".", '.', 0, DEC_ERR_SYNTAX);
	AMOUNT_ERR("-.", '.', 0, DEC_ERR_SYNTAX);
	AMOUNT_ERR("-12-", '.', 0, DEC_ERR_SYNTAX);
	AMOUNT_ERR("--1", '.', 0, DEC_ERR_SYNTAX);
	AMOUNT_ERR("- 5", '.', 0, DEC_ERR_SYNTAX);
	AMOUNT_ERR("1e5", '.', 0, DEC_ERR_SYNTAX);
	AMOUNT_ERR("0x10", '.', 0, DEC_ERR_SYNTAX);
	AMOUNT_ERR("1.2.3", '.', 0, DEC_ERR_SYNTAX);
	AMOUNT_ERR("12,3,4", ',', 0, DEC_ERR_SYNTAX);
	AMOUNT_ERR("12,3,4", ',', '.', DEC_ERR_SYNTAX);
	AMOUNT_ERR("1,234.5", '.', 0, DEC_ERR_SYNTAX);
	AMOUNT_ERR("$5", '.', 0, DEC_ERR_SYNTAX);
	AMOUNT_ERR("\xE2\x88\x92" "5", '.', 0, DEC_ERR_SYNTAX);	/* U+2212 */
	AMOUNT_ERR("1 234", '.', 0, DEC_ERR_SYNTAX);
	/* group separators in the wrong places */
	AMOUNT_ERR("12,3,4", '.', ',', DEC_ERR_GROUPING);
	AMOUNT_ERR("1,23", '.', ',', DEC_ERR_GROUPING);
	AMOUNT_ERR("1234,567", '.', ',', DEC_ERR_GROUPING);
	AMOUNT_ERR(",123", '.', ',', DEC_ERR_GROUPING);
	AMOUNT_ERR("1,,234", '.', ',', DEC_ERR_GROUPING);
	AMOUNT_ERR("1,234,", '.', ',', DEC_ERR_GROUPING);
	AMOUNT_ERR("1.23", ',', '.', DEC_ERR_GROUPING);
	AMOUNT_ERR("1,234.5,6", '.', ',', DEC_ERR_SYNTAX);
	/* separators */
	AMOUNT_ERR("1", '.', '.', DEC_ERR_SEPARATORS);
	AMOUNT_ERR("1", ';', 0, DEC_ERR_SEPARATORS);
	AMOUNT_ERR("1", '.', '5', DEC_ERR_SEPARATORS);
	CHECK(recon_decimal_separators_ok(',', '.'));
	CHECK(recon_decimal_separators_ok('.', 0));
	CHECK(!recon_decimal_separators_ok(',', ','));
	CHECK(!recon_decimal_separators_ok('.', '-'));
	CHECK(strcmp(recon_decimal_strerror(DEC_ERR_SYNTAX), "not a number") == 0);
}

static void
test_amount_limits(void)
{
	char		in[RECON_DECIMAL_MAX_LEN + 2];
	char		out[RECON_DECIMAL_MAX_LEN + 8];
	size_t		len;

	memset(in, '9', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	CHECK_INT(recon_decimal_normalize(in, RECON_DECIMAL_MAX_LEN, '.', 0, out,
									  sizeof(out), &len), DEC_OK);
	CHECK_INT(len, RECON_DECIMAL_MAX_LEN);
	CHECK_INT(recon_decimal_normalize(in, RECON_DECIMAL_MAX_LEN + 1, '.', 0,
									  out, sizeof(out), &len), DEC_ERR_TOO_LONG);
	/* len + 3 always suffices; less is refused before anything is written */
	CHECK_INT(recon_decimal_normalize(".5", 2, '.', 0, out, 5, &len), DEC_OK);
	CHECK(strcmp(out, "0.5") == 0);
	CHECK_INT(recon_decimal_normalize(".5", 2, '.', 0, out, 4, &len), DEC_ERR_BUFFER);
}

/* ---------------------------------------------------------------- times */

/* Parse and compare "Y-M-D h:m:s.f tz=+mmm|none time=0|1" */
static void
check_time_impl(const char *in, const char *fmt, int want_rc, const char *want,
				int line)
{
	recon_time	t;
	char		got[128] = "";
	int			rc = recon_time_parse(in, strlen(in), fmt, &t);

	if (rc == TIME_OK)
	{
		if (t.has_zone)
			snprintf(got, sizeof(got), "%04d-%02d-%02d %02d:%02d:%02d.%s tz=%+d time=%d",
					 t.year, t.month, t.day, t.hour, t.minute, t.second,
					 t.fraction, t.zone_minutes, t.has_time);
		else
			snprintf(got, sizeof(got), "%04d-%02d-%02d %02d:%02d:%02d.%s tz=none time=%d",
					 t.year, t.month, t.day, t.hour, t.minute, t.second,
					 t.fraction, t.has_time);
	}
	if (rc == want_rc && (rc != TIME_OK || strcmp(got, want) == 0))
		check_pass();
	else
		check_fail("test_csv.c:%d: time \"%s\" (%s): got %d \"%s\", want %d \"%s\"",
				   line, in, fmt ? fmt : "ISO", rc, got, want_rc, want ? want : "");
}

#define TIME(in, fmt, want) check_time_impl((in), (fmt), TIME_OK, (want), __LINE__)
#define TIME_ERR(in, fmt, rc) check_time_impl((in), (fmt), (rc), NULL, __LINE__)

static void
test_iso_times(void)
{
	TIME("2024-01-02", NULL, "2024-01-02 00:00:00. tz=none time=0");
	TIME(" 2024-01-02 ", NULL, "2024-01-02 00:00:00. tz=none time=0");
	TIME("2024-01-02T03:04:05Z", NULL, "2024-01-02 03:04:05. tz=+0 time=1");
	TIME("2024-01-02t03:04:05z", NULL, "2024-01-02 03:04:05. tz=+0 time=1");
	TIME("2024-01-02 03:04", NULL, "2024-01-02 03:04:00. tz=none time=1");
	TIME("2024-01-02T03:04:05.123456+02:00", NULL, "2024-01-02 03:04:05.123456 tz=+120 time=1");
	TIME("2024-01-02T03:04:05,5-0530", NULL, "2024-01-02 03:04:05.5 tz=-330 time=1");
	TIME("2024-01-02T03:04+14", NULL, "2024-01-02 03:04:00. tz=+840 time=1");
	TIME("2024-01-02T03:04:05-00:30", NULL, "2024-01-02 03:04:05. tz=-30 time=1");
	TIME("2024-02-29", NULL, "2024-02-29 00:00:00. tz=none time=0");
	TIME("2000-02-29", NULL, "2000-02-29 00:00:00. tz=none time=0");
	TIME("9999-12-31T23:59:59.999999999999999Z", NULL,
		 "9999-12-31 23:59:59.999999999999999 tz=+0 time=1");

	TIME_ERR("", NULL, TIME_ERR_SYNTAX);
	TIME_ERR("2024-1-2", NULL, TIME_ERR_SYNTAX);
	TIME_ERR("24-01-02", NULL, TIME_ERR_SYNTAX);
	TIME_ERR("2024/01/02", NULL, TIME_ERR_SYNTAX);
	TIME_ERR("02.01.2024", NULL, TIME_ERR_SYNTAX);
	TIME_ERR("2024-01-02Z", NULL, TIME_ERR_SYNTAX);
	TIME_ERR("2024-01-02T03", NULL, TIME_ERR_SYNTAX);
	TIME_ERR("2024-01-02T03:04:05.", NULL, TIME_ERR_SYNTAX);
	TIME_ERR("2024-01-02T03:04:05.1234567890123456", NULL, TIME_ERR_SYNTAX);
	TIME_ERR("2024-01-02T03:04:05+02:", NULL, TIME_ERR_SYNTAX);
	TIME_ERR("2024-01-02T03:04:05+2", NULL, TIME_ERR_SYNTAX);
	TIME_ERR("2024-01-02T03:04:05+02:00x", NULL, TIME_ERR_SYNTAX);
	TIME_ERR("2024-01-02T03:04:05 Europe/Helsinki", NULL, TIME_ERR_SYNTAX);
	TIME_ERR("2024-01-02x03:04", NULL, TIME_ERR_SYNTAX);
	TIME_ERR("yesterday", NULL, TIME_ERR_SYNTAX);
	TIME_ERR("2024-13-01", NULL, TIME_ERR_RANGE);
	TIME_ERR("2024-00-10", NULL, TIME_ERR_RANGE);
	TIME_ERR("2023-02-29", NULL, TIME_ERR_RANGE);
	TIME_ERR("1900-02-29", NULL, TIME_ERR_RANGE);
	TIME_ERR("2024-04-31", NULL, TIME_ERR_RANGE);
	TIME_ERR("0000-01-01", NULL, TIME_ERR_RANGE);
	TIME_ERR("2024-01-02T24:00", NULL, TIME_ERR_RANGE);
	TIME_ERR("2024-01-02T23:60", NULL, TIME_ERR_RANGE);
	TIME_ERR("2024-01-02T23:59:60", NULL, TIME_ERR_RANGE);
	TIME_ERR("2024-01-02T03:04+16:00", NULL, TIME_ERR_RANGE);
	TIME_ERR("2024-01-02T03:04+02:60", NULL, TIME_ERR_RANGE);
}

static void
test_date_formats(void)
{
	TIME("31.12.2024", "DD.MM.YYYY", "2024-12-31 00:00:00. tz=none time=0");
	TIME("1.2.2024", "DD.MM.YYYY", "2024-02-01 00:00:00. tz=none time=0");
	TIME("12/31/2024", "MM/DD/YYYY", "2024-12-31 00:00:00. tz=none time=0");
	TIME("20240102", "YYYYMMDD", "2024-01-02 00:00:00. tz=none time=0");
	TIME("31.12.2024 23:59", "DD.MM.YYYY HH24:MI", "2024-12-31 23:59:00. tz=none time=1");
	TIME("31.12.2024", "DD.MM.YYYY HH24:MI", "2024-12-31 00:00:00. tz=none time=0");
	TIME("31.12.2024 7:05:09", "DD.MM.YYYY HH:MI:SS", "2024-12-31 07:05:09. tz=none time=1");
	TIME("2024-12-31T07:05", "YYYY-MM-DDTHH24:MI", "2024-12-31 07:05:00. tz=none time=1");

	TIME_ERR("31.12.24", "DD.MM.YYYY", TIME_ERR_SYNTAX);
	TIME_ERR("31-12-2024", "DD.MM.YYYY", TIME_ERR_SYNTAX);
	TIME_ERR("31.12.2024 23", "DD.MM.YYYY HH24:MI", TIME_ERR_SYNTAX);
	TIME_ERR("31.12.2024 ", "DD.MM.YYYY x", TIME_ERR_SYNTAX);
	TIME_ERR("31.12.2024x", "DD.MM.YYYY", TIME_ERR_SYNTAX);
	TIME_ERR("32.01.2024", "DD.MM.YYYY", TIME_ERR_RANGE);
	TIME_ERR("29.02.2023", "DD.MM.YYYY", TIME_ERR_RANGE);
	TIME_ERR("31.12.2024 25:00", "DD.MM.YYYY HH24:MI", TIME_ERR_RANGE);

	/* invalid formats */
	TIME_ERR("2024", "YYYY", TIME_ERR_FORMAT);
	TIME_ERR("2024-01", "YYYY-MM", TIME_ERR_FORMAT);
	TIME_ERR("x", "", TIME_ERR_FORMAT);
	TIME_ERR("x", "DD.MM.YYYY MI", TIME_ERR_FORMAT);
	TIME_ERR("x", "DD.MM.YYYY HH:SS", TIME_ERR_FORMAT);
	TIME_ERR("x", "DD.MM.YYYY.YYYY", TIME_ERR_FORMAT);
	TIME_ERR("x", "DD.MM.YYYY HH HH", TIME_ERR_FORMAT);
	CHECK_INT(recon_time_format_check("DD.MM.YYYY HH24:MI:SS"), TIME_OK);
	CHECK_INT(recon_time_format_check(NULL), TIME_ERR_FORMAT);
	/* at most RECON_TIME_MAX_LEN (64) bytes */
	CHECK_INT(recon_time_format_check("YYYY-MM-DD HH24:MI:SS, then a tail of literal text to 64 bytes.."),
			  TIME_OK);
	CHECK_INT(recon_time_format_check("YYYY-MM-DD HH24:MI:SS, then a tail of literal text to 65 bytes..."),
			  TIME_ERR_FORMAT);
	CHECK(strcmp(recon_time_strerror(TIME_ERR_RANGE), "date or time field out of range") == 0);
}

int
main(void)
{
	test_csv_basic();
	test_csv_quotes();
	test_csv_delimiters_and_bom();
	test_csv_nul_bytes();
	test_csv_errors();
	test_csv_too_many_fields();
	test_csv_allocators();
	test_amounts();
	test_amount_limits();
	test_iso_times();
	test_date_formats();
	return check_summary();
}
