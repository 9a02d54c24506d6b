/*-------------------------------------------------------------------------
 *
 * fuzz_csv.c
 *	  libFuzzer target for the statement parsers in src/recon.
 *
 * The first input byte picks the delimiter; the rest is CSV text.
 *
 * 1. csv_next agrees with a reference reader written independently, one
 *    character at a time (same records, lines, fields, error and error
 *    line), and never reads or writes out of bounds (ASan).
 * 2. What parses survives a round trip: every field quoted, records
 *    joined with CRLF, parsed again gives the same records.
 * 3. Every field fed to recon_decimal_normalize in four notations: a
 *    success is a plain decimal that normalizes to itself again; and to
 *    recon_time_parse (ISO and a date_format): a success is in range.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "decimal.h"
#include "timefmt.h"

typedef struct
{
	char	   *bytes;
	size_t		len;
	size_t		cap;
} buf;

typedef struct
{
	long		line;
	size_t		nfields;
	buf		   *fields;
} record;

typedef struct
{
	record	   *recs;
	size_t		n;
	size_t		cap;
	int			error;
	long		error_line;
} result;

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		abort();
	return p;
}

static void
buf_put(buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap)
	{
		b->cap = (b->len + n + 1) * 2;
		b->bytes = xrealloc(b->bytes, b->cap);
	}
	memcpy(b->bytes + b->len, s, n);
	b->len += n;
}

static record *
new_record(result *res, long line)
{
	record	   *r;

	if (res->n == res->cap)
	{
		res->cap = res->cap ? res->cap * 2 : 8;
		res->recs = xrealloc(res->recs, res->cap * sizeof(record));
	}
	r = &res->recs[res->n++];
	r->line = line;
	r->nfields = 0;
	r->fields = NULL;
	return r;
}

static void
add_field(record *r, const char *s, size_t n)
{
	buf		   *f;

	r->fields = xrealloc(r->fields, (r->nfields + 1) * sizeof(buf));
	f = &r->fields[r->nfields++];
	memset(f, 0, sizeof(*f));
	buf_put(f, s, n);
}

static void
free_result(result *res)
{
	size_t		i;
	size_t		j;

	for (i = 0; i < res->n; i++)
	{
		for (j = 0; j < res->recs[i].nfields; j++)
			free(res->recs[i].fields[j].bytes);
		free(res->recs[i].fields);
	}
	free(res->recs);
	memset(res, 0, sizeof(*res));
}

/* ---------------------------------------------------------------- csv.c */

static void
run_reader(const char *data, size_t len, char delim, result *res)
{
	csv_reader	r;
	int			rc;

	memset(res, 0, sizeof(*res));
	csv_init(&r, data, len, delim, NULL);
	while ((rc = csv_next(&r)) == CSV_OK)
	{
		record	   *rec = new_record(res, r.record_line);
		int			i;

		for (i = 0; i < r.nfields; i++)
		{
			size_t		flen;
			const char *f = csv_field(&r, i, &flen);

			if (f[flen] != '\0')
				abort();
			add_field(rec, f, flen);
		}
	}
	if (rc != CSV_EOF)
	{
		res->error = rc;
		res->error_line = r.error_line;
		if (csv_next(&r) != rc)
			abort();
	}
	else if (csv_next(&r) != CSV_EOF)
		abort();
	csv_free(&r);
}

/* ---------------------------------------------------------------- reference */

typedef enum
{
	REC_START,					/* between records: line breaks are skipped */
	FIELD_START,				/* blanks so far, a quote may still come */
	PLAIN,
	QUOTED,
	QUOTE_SEEN,					/* a quote inside quotes: closing or doubled */
	AFTER_QUOTE
} ref_state;

static int
ref_blank(char c, char delim)
{
	return (c == ' ' || c == '\t') && c != delim;
}

static void
ref_parse(const char *d, size_t len, char delim, result *res)
{
	ref_state	st = REC_START;
	size_t		i = 0;
	long		line = 1;
	long		quote_line = 0;
	buf			field = {NULL, 0, 0};
	buf			blanks = {NULL, 0, 0};
	record	   *rec = NULL;

	memset(res, 0, sizeof(*res));
	if (delim == '"' || delim == '\r' || delim == '\n' || delim == '\0')
	{
		res->error = CSV_ERR_BAD_DELIMITER;
		return;
	}
	if (len >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0)
		i = 3;

#define END_FIELD() \
	do { \
		if (rec->nfields == CSV_MAX_FIELDS) \
		{ \
			res->error = CSV_ERR_TOO_MANY_FIELDS; \
			res->error_line = rec->line; \
			res->n--; \
			goto done; \
		} \
		add_field(rec, field.bytes ? field.bytes : "", field.len); \
		field.len = 0; \
	} while (0)
#define FAIL(err, at) \
	do { res->error = (err); res->error_line = (at); res->n--; goto done; } while (0)

	while (i < len)
	{
		char		c = d[i];
		size_t		nl = c == '\n' ? 1 : c == '\r' ? ((i + 1 < len && d[i + 1] == '\n') ? 2 : 1) : 0;

		switch (st)
		{
			case REC_START:
				if (nl)
				{
					i += nl;
					line++;
					continue;
				}
				rec = new_record(res, line);
				blanks.len = 0;
				st = FIELD_START;
				continue;
			case FIELD_START:
				if (ref_blank(c, delim))
				{
					buf_put(&blanks, &c, 1);
					i++;
					continue;
				}
				if (c == '"')
				{
					quote_line = line;
					blanks.len = 0;
					st = QUOTED;
					i++;
					continue;
				}
				field.len = 0;
				buf_put(&field, blanks.bytes ? blanks.bytes : "", blanks.len);
				blanks.len = 0;
				st = PLAIN;
				continue;
			case PLAIN:
				if (c == delim)
				{
					END_FIELD();
					st = FIELD_START;
					i++;
					continue;
				}
				if (nl)
				{
					END_FIELD();
					st = REC_START;
					i += nl;
					line++;
					continue;
				}
				if (c == '"')
					FAIL(CSV_ERR_QUOTE_IN_FIELD, line);
				buf_put(&field, &c, 1);
				i++;
				continue;
			case QUOTED:
				if (c == '"')
				{
					st = QUOTE_SEEN;
					i++;
					continue;
				}
				if (nl)
				{
					buf_put(&field, d + i, nl);
					i += nl;
					line++;
					continue;
				}
				buf_put(&field, &c, 1);
				i++;
				continue;
			case QUOTE_SEEN:
				if (c == '"')
				{
					buf_put(&field, "\"", 1);
					st = QUOTED;
					i++;
					continue;
				}
				st = AFTER_QUOTE;
				continue;
			case AFTER_QUOTE:
				if (ref_blank(c, delim))
				{
					i++;
					continue;
				}
				if (c == delim)
				{
					END_FIELD();
					st = FIELD_START;
					i++;
					continue;
				}
				if (nl)
				{
					END_FIELD();
					st = REC_START;
					i += nl;
					line++;
					continue;
				}
				FAIL(CSV_ERR_AFTER_QUOTE, line);
		}
	}
	switch (st)
	{
		case REC_START:
			break;
		case FIELD_START:
			field.len = 0;
			buf_put(&field, blanks.bytes ? blanks.bytes : "", blanks.len);
			END_FIELD();
			break;
		case QUOTED:
			FAIL(CSV_ERR_UNTERMINATED_QUOTE, quote_line);
		default:
			END_FIELD();
			break;
	}
done:
	if (res->error && rec != NULL && res->n < res->cap && &res->recs[res->n] == rec)
	{
		size_t		j;

		/* the record being read when the error came is not a result */
		for (j = 0; j < rec->nfields; j++)
			free(rec->fields[j].bytes);
		free(rec->fields);
	}
	free(field.bytes);
	free(blanks.bytes);
#undef END_FIELD
#undef FAIL
}

static int
same_results(const result *a, const result *b)
{
	size_t		i;
	size_t		j;

	if (a->error != b->error || a->n != b->n)
		return 0;
	if (a->error && a->error_line != b->error_line)
		return 0;
	for (i = 0; i < a->n; i++)
	{
		const record *x = &a->recs[i];
		const record *y = &b->recs[i];

		if (x->nfields != y->nfields)
			return 0;
		for (j = 0; j < x->nfields; j++)
			if (x->fields[j].len != y->fields[j].len ||
				memcmp(x->fields[j].bytes, y->fields[j].bytes, x->fields[j].len) != 0)
				return 0;
	}
	return 1;
}

static int
same_lines(const result *a, const result *b)
{
	size_t		i;

	for (i = 0; i < a->n; i++)
		if (a->recs[i].line != b->recs[i].line)
			return 0;
	return 1;
}

/* Every field quoted, quotes doubled, records joined by CRLF. */
static void
round_trip(const result *res, char delim)
{
	buf			out = {NULL, 0, 0};
	result		again;
	size_t		i;
	size_t		j;
	size_t		k;

	for (i = 0; i < res->n; i++)
	{
		for (j = 0; j < res->recs[i].nfields; j++)
		{
			const buf  *f = &res->recs[i].fields[j];

			if (j > 0)
				buf_put(&out, &delim, 1);
			buf_put(&out, "\"", 1);
			for (k = 0; k < f->len; k++)
			{
				if (f->bytes[k] == '"')
					buf_put(&out, "\"", 1);
				buf_put(&out, &f->bytes[k], 1);
			}
			buf_put(&out, "\"", 1);
		}
		buf_put(&out, "\r\n", 2);
	}
	run_reader(out.bytes ? out.bytes : "", out.len, delim, &again);
	/* a leading BOM inside the first field stays quoted, so it survives */
	if (!same_results(res, &again))
		abort();
	free_result(&again);
	free(out.bytes);
}

/* ---------------------------------------------------------------- values */

static void
check_amount(const char *s, size_t len, char dec, char group)
{
	char	   *out = xrealloc(NULL, len + 3);
	char	   *again = xrealloc(NULL, len + 5);
	size_t		out_len;
	size_t		again_len;
	size_t		i;
	int			rc = recon_decimal_normalize(s, len, dec, group, out, len + 3, &out_len);

	if (rc == DEC_OK)
	{
		size_t		start = out[0] == '-' ? 1 : 0;
		int			dots = 0;

		if (out_len != strlen(out) || out_len > len + 2 || out_len == start)
			abort();
		for (i = start; i < out_len; i++)
		{
			if (out[i] == '.')
			{
				if (dots++ || i == start || i + 1 == out_len)
					abort();
			}
			else if (out[i] < '0' || out[i] > '9')
				abort();
		}
		if (recon_decimal_normalize(out, out_len, '.', 0, again, len + 5, &again_len) != DEC_OK ||
			again_len != out_len || memcmp(again, out, out_len) != 0)
			abort();
	}
	else if (out_len != 0 || strcmp(recon_decimal_strerror(rc), "unknown decimal error") == 0)
		abort();
	free(out);
	free(again);
}

static void
check_time(const char *s, size_t len, const char *fmt)
{
	recon_time	t;
	int			rc = recon_time_parse(s, len, fmt, &t);

	if (rc == TIME_OK)
	{
		if (t.year < 1 || t.year > 9999 || t.month < 1 || t.month > 12 ||
			t.day < 1 || t.day > 31 || t.hour < 0 || t.hour > 23 ||
			t.minute < 0 || t.minute > 59 || t.second < 0 || t.second > 59 ||
			strlen(t.fraction) >= sizeof(t.fraction) ||
			(!t.has_zone && t.zone_minutes != 0) ||
			t.zone_minutes < -959 || t.zone_minutes > 959 ||
			(fmt != NULL && t.has_zone))
			abort();
	}
	else if (rc == TIME_ERR_FORMAT)
		abort();				/* the formats here are valid */
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char delims[] = {',', ';', '\t', '|', ' ', '"'};
	const char *text;
	size_t		len;
	char		delim;
	result		got;
	result		want;
	size_t		i;
	size_t		j;

	if (size == 0)
		return 0;
	delim = delims[data[0] % sizeof(delims)];
	text = (const char *) data + 1;
	len = size - 1;

	run_reader(text, len, delim, &got);
	ref_parse(text, len, delim, &want);
	if (!same_results(&got, &want) || !same_lines(&got, &want))
		abort();
	if (!got.error)
		round_trip(&got, delim);

	for (i = 0; i < got.n; i++)
		for (j = 0; j < got.recs[i].nfields; j++)
		{
			const buf  *f = &got.recs[i].fields[j];
			const char *s = f->bytes ? f->bytes : "";

			check_amount(s, f->len, '.', 0);
			check_amount(s, f->len, ',', '.');
			check_amount(s, f->len, '.', ',');
			check_amount(s, f->len, ',', ' ');
			check_time(s, f->len, NULL);
			check_time(s, f->len, "DD.MM.YYYY HH24:MI:SS");
		}
	free_result(&got);
	free_result(&want);
	return 0;
}
