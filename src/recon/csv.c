/*-------------------------------------------------------------------------
 *
 * csv.c
 *	  A strict RFC 4180 CSV reader; see csv.h for the accepted syntax.
 *
 * The reader copies each record's field bytes into one growing buffer
 * (quoted fields need unescaping, and one copy keeps plain and quoted
 * fields alike); the buffer and the field offset arrays are reused from
 * record to record, so memory stays at the size of the largest record.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

static void *
csv_default_alloc(size_t size)
{
	return malloc(size ? size : 1);
}

static void *
csv_default_realloc(void *ptr, size_t size)
{
	return realloc(ptr, size ? size : 1);
}

static void
csv_default_free(void *ptr)
{
	free(ptr);
}

const csv_allocator csv_malloc_allocator = {
	csv_default_alloc, csv_default_realloc, csv_default_free
};

const char *
csv_strerror(int err)
{
	switch (err)
	{
		case CSV_OK:
			return "ok";
		case CSV_EOF:
			return "end of input";
		case CSV_ERR_UNTERMINATED_QUOTE:
			return "unterminated quoted field";
		case CSV_ERR_QUOTE_IN_FIELD:
			return "quote inside an unquoted field";
		case CSV_ERR_AFTER_QUOTE:
			return "unexpected text after a closing quote";
		case CSV_ERR_TOO_MANY_FIELDS:
			return "too many fields in one record";
		case CSV_ERR_OUT_OF_MEMORY:
			return "out of memory";
		case CSV_ERR_BAD_DELIMITER:
			return "invalid delimiter";
	}
	return "unknown csv error";
}

void
csv_init(csv_reader *r, const char *data, size_t len, char delim,
		 const csv_allocator *mem)
{
	memset(r, 0, sizeof(*r));
	r->data = data;
	r->len = data ? len : 0;
	r->delim = delim;
	r->line = 1;
	r->mem = mem ? mem : &csv_malloc_allocator;
	if (delim == '"' || delim == '\r' || delim == '\n' || delim == '\0')
	{
		r->error = CSV_ERR_BAD_DELIMITER;
		r->error_line = 0;
	}
	/* a UTF-8 byte order mark, as spreadsheet exports write it */
	if (r->len >= 3 && memcmp(r->data, "\xEF\xBB\xBF", 3) == 0)
		r->pos = 3;
}

void
csv_free(csv_reader *r)
{
	if (r->buf)
		r->mem->free(r->buf);
	if (r->starts)
		r->mem->free(r->starts);
	if (r->lens)
		r->mem->free(r->lens);
	r->buf = NULL;
	r->starts = NULL;
	r->lens = NULL;
	r->buf_cap = 0;
	r->fields_cap = 0;
}

const char *
csv_field(const csv_reader *r, int i, size_t *len)
{
	if (i < 0 || i >= r->nfields)
	{
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = r->lens[i];
	return r->buf + r->starts[i];
}

/* Length of the line break at pos: 2 for CRLF, 1 for CR or LF, else 0. */
static size_t
newline_len(const csv_reader *r, size_t pos)
{
	if (pos >= r->len)
		return 0;
	if (r->data[pos] == '\n')
		return 1;
	if (r->data[pos] == '\r')
		return (pos + 1 < r->len && r->data[pos + 1] == '\n') ? 2 : 1;
	return 0;
}

/* Spaces and tabs around a quoted field, unless one is the delimiter. */
static int
is_blank(const csv_reader *r, char c)
{
	return (c == ' ' || c == '\t') && c != r->delim;
}

static int
fail(csv_reader *r, int err, long line)
{
	r->error = err;
	r->error_line = line;
	return err;
}

/* Resize ptr to size bytes: alloc for a first allocation, else realloc. */
static void *
resize(csv_reader *r, void *ptr, size_t size)
{
	return ptr ? r->mem->realloc(ptr, size) : r->mem->alloc(size);
}

/* Make room for n more bytes in the record buffer (plus a NUL). */
static int
reserve(csv_reader *r, size_t n)
{
	size_t		need;
	size_t		cap;
	char	   *p;

	if (n > SIZE_MAX - r->buf_len - 1)
		return CSV_ERR_OUT_OF_MEMORY;
	need = r->buf_len + n + 1;
	if (need <= r->buf_cap)
		return CSV_OK;
	cap = r->buf_cap ? r->buf_cap : 256;
	while (cap < need)
	{
		if (cap > SIZE_MAX / 2)
		{
			cap = need;
			break;
		}
		cap *= 2;
	}
	p = resize(r, r->buf, cap);
	if (p == NULL)
		return CSV_ERR_OUT_OF_MEMORY;
	r->buf = p;
	r->buf_cap = cap;
	return CSV_OK;
}

static int
append(csv_reader *r, const char *bytes, size_t n)
{
	int			rc = reserve(r, n);

	if (rc != CSV_OK)
		return rc;
	if (n > 0)
		memcpy(r->buf + r->buf_len, bytes, n);
	r->buf_len += n;
	return CSV_OK;
}

/* Close the field that started at buf offset start. */
static int
end_field(csv_reader *r, size_t start)
{
	int			rc;

	if (r->nfields >= CSV_MAX_FIELDS)
		return CSV_ERR_TOO_MANY_FIELDS;
	if (r->nfields == r->fields_cap)
	{
		int			cap = r->fields_cap ? r->fields_cap * 2 : 16;
		size_t	   *s;
		size_t	   *l;

		if (cap > CSV_MAX_FIELDS)
			cap = CSV_MAX_FIELDS;
		s = resize(r, r->starts, (size_t) cap * sizeof(size_t));
		if (s == NULL)
			return CSV_ERR_OUT_OF_MEMORY;
		r->starts = s;
		l = resize(r, r->lens, (size_t) cap * sizeof(size_t));
		if (l == NULL)
			return CSV_ERR_OUT_OF_MEMORY;
		r->lens = l;
		r->fields_cap = cap;
	}
	rc = reserve(r, 0);
	if (rc != CSV_OK)
		return rc;
	r->buf[r->buf_len] = '\0';
	r->starts[r->nfields] = start;
	r->lens[r->nfields] = r->buf_len - start;
	r->nfields++;
	r->buf_len++;				/* keep the NUL */
	return CSV_OK;
}

/* An unquoted field: up to a delimiter, a line break or the end. */
static int
read_plain(csv_reader *r)
{
	size_t		from = r->pos;
	size_t		p = r->pos;

	while (p < r->len)
	{
		char		c = r->data[p];

		if (c == r->delim || c == '\n' || c == '\r')
			break;
		if (c == '"')
			return fail(r, CSV_ERR_QUOTE_IN_FIELD, r->line);
		p++;
	}
	r->pos = p;
	return append(r, r->data + from, p - from);
}

/*
 * A quoted field, r->pos just after its opening quote: up to the closing
 * quote, then only blanks before the delimiter, line break or end.
 */
static int
read_quoted(csv_reader *r)
{
	long		quote_line = r->line;
	int			rc;

	for (;;)
	{
		size_t		from = r->pos;
		size_t		p = r->pos;
		size_t		nl;

		while (p < r->len && r->data[p] != '"' && r->data[p] != '\n' &&
			   r->data[p] != '\r')
			p++;
		rc = append(r, r->data + from, p - from);
		if (rc != CSV_OK)
			return rc;
		r->pos = p;
		if (p >= r->len)
			return fail(r, CSV_ERR_UNTERMINATED_QUOTE, quote_line);
		if (r->data[p] == '"')
		{
			if (p + 1 < r->len && r->data[p + 1] == '"')
			{
				rc = append(r, "\"", 1);
				if (rc != CSV_OK)
					return rc;
				r->pos = p + 2;
				continue;
			}
			r->pos = p + 1;
			break;
		}
		/* a line break inside quotes is data, kept as written */
		nl = newline_len(r, p);
		rc = append(r, r->data + p, nl);
		if (rc != CSV_OK)
			return rc;
		r->pos = p + nl;
		r->line++;
	}
	while (r->pos < r->len && is_blank(r, r->data[r->pos]))
		r->pos++;
	if (r->pos < r->len && r->data[r->pos] != r->delim &&
		newline_len(r, r->pos) == 0)
		return fail(r, CSV_ERR_AFTER_QUOTE, r->line);
	return CSV_OK;
}

/*
 * One field and what ends it: 0 when a delimiter follows (another field
 * comes), 1 when the record ends, a negative csv_error otherwise.
 */
static int
read_field(csv_reader *r)
{
	size_t		start = r->buf_len;
	size_t		p = r->pos;
	size_t		nl;
	int			rc;

	/* blanks before an opening quote belong to no field */
	while (p < r->len && is_blank(r, r->data[p]))
		p++;
	if (p < r->len && r->data[p] == '"')
	{
		r->pos = p + 1;
		rc = read_quoted(r);
	}
	else
		rc = read_plain(r);
	if (rc == CSV_OK)
		rc = end_field(r, start);
	if (rc != CSV_OK)
		return rc;

	if (r->pos >= r->len)
		return 1;
	if (r->data[r->pos] == r->delim)
	{
		r->pos++;
		return 0;
	}
	nl = newline_len(r, r->pos);
	r->pos += nl;
	r->line++;
	return 1;
}

int
csv_next(csv_reader *r)
{
	size_t		nl;
	int			rc;

	if (r->error)
		return r->error;
	r->nfields = 0;
	r->buf_len = 0;
	if (r->record_line < 0)
		return CSV_EOF;

	/* skip empty lines */
	while ((nl = newline_len(r, r->pos)) > 0)
	{
		r->pos += nl;
		r->line++;
	}
	if (r->pos >= r->len)
	{
		r->record_line = -1;	/* stays at EOF */
		return CSV_EOF;
	}

	r->record_line = r->line;
	do
	{
		rc = read_field(r);
	} while (rc == 0);
	if (rc < 0)
	{
		r->nfields = 0;
		if (!r->error)
			return fail(r, rc, r->record_line);
		return rc;
	}
	return CSV_OK;
}
