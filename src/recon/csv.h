/*-------------------------------------------------------------------------
 *
 * csv.h
 *	  A strict RFC 4180 CSV reader for statement import.
 *
 * One record at a time from a buffer held in memory:
 *
 *	- fields are separated by a one-byte delimiter (',' by default; any byte
 *	  but '"', CR, LF and NUL);
 *	- records end with LF, CRLF or a lone CR (old spreadsheet exports use
 *	  CR), or at the end of the input; a trailing line break adds nothing;
 *	- a field that starts with '"' is quoted: it runs to the next lone '"',
 *	  may hold delimiters and line breaks, and '""' inside it is one '"';
 *	  spaces and tabs around a quoted field are dropped;
 *	- a UTF-8 byte order mark at the very start is skipped;
 *	- empty lines (nothing between two line breaks) are skipped.
 *
 * Strict, because a statement that is misread is worse than one that is
 * refused: an unterminated quoted field, a '"' inside an unquoted field and
 * anything but a delimiter or a line break after a closing quote are
 * errors that name the line (the quote's opening line for an unterminated
 * field).  Line numbers are physical lines, 1-based; a record that spans
 * lines (line breaks inside quotes) is reported by its first line.
 *
 * Nothing is trimmed and nothing is interpreted: every field is returned
 * as the bytes it holds, NUL-terminated for convenience (a NUL byte in the
 * input is an ordinary byte, so use the length).
 *
 * Self-contained C99: no PostgreSQL dependency, so that it can be unit
 * tested and fuzzed on its own (test/c/test_csv.c, test/c/fuzz_csv.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_CSV_H
#define TPWALLET_CSV_H

#include <stddef.h>

/* At most this many fields in one record. */
#define CSV_MAX_FIELDS	10000

typedef enum
{
	CSV_OK = 0,					/* a record was read */
	CSV_EOF = 1,				/* no more records */
	CSV_ERR_UNTERMINATED_QUOTE = -1,	/* the input ends inside quotes */
	CSV_ERR_QUOTE_IN_FIELD = -2,	/* '"' inside an unquoted field */
	CSV_ERR_AFTER_QUOTE = -3,	/* a closing quote followed by other text */
	CSV_ERR_TOO_MANY_FIELDS = -4,	/* more than CSV_MAX_FIELDS */
	CSV_ERR_OUT_OF_MEMORY = -5,
	CSV_ERR_BAD_DELIMITER = -6	/* '"', CR, LF or NUL as delimiter */
} csv_error;

/* Static lowercase message for a csv_error (or "unknown csv error"). */
extern const char *csv_strerror(int err);

/*
 * Allocation hooks.  alloc/realloc may either return NULL on failure (the
 * reader then reports CSV_ERR_OUT_OF_MEMORY) or not return at all, as
 * palloc does.  realloc is only called on what alloc returned.
 */
typedef struct
{
	void	   *(*alloc) (size_t size);
	void	   *(*realloc) (void *ptr, size_t size);
	void		(*free) (void *ptr);
} csv_allocator;

/* malloc/realloc/free */
extern const csv_allocator csv_malloc_allocator;

typedef struct
{
	/* input */
	const char *data;
	size_t		len;
	size_t		pos;
	char		delim;
	long		line;			/* the line pos is on */
	const csv_allocator *mem;

	/* the current record */
	long		record_line;	/* line the record starts on */
	int			nfields;
	char	   *buf;			/* field bytes, each followed by a NUL */
	size_t		buf_len;
	size_t		buf_cap;
	size_t	   *starts;			/* offset of each field in buf */
	size_t	   *lens;
	int			fields_cap;

	/* the last error */
	int			error;
	long		error_line;
} csv_reader;

/*
 * Start reading data[0..len).  mem NULL means csv_malloc_allocator.  An
 * invalid delimiter makes the first csv_next() fail with
 * CSV_ERR_BAD_DELIMITER.
 */
extern void csv_init(csv_reader *r, const char *data, size_t len, char delim,
					 const csv_allocator *mem);

/*
 * Read the next record: CSV_OK (r->nfields, csv_field), CSV_EOF, or a
 * negative csv_error (also in r->error, with its line in r->error_line).
 * After an error or CSV_EOF every further call returns the same.
 */
extern int	csv_next(csv_reader *r);

/* Field i (0-based) of the current record and its length in bytes. */
extern const char *csv_field(const csv_reader *r, int i, size_t *len);

/* Free the reader's buffers (the input is the caller's). */
extern void csv_free(csv_reader *r);

#endif							/* TPWALLET_CSV_H */
