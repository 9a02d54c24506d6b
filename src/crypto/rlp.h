/*-------------------------------------------------------------------------
 *
 * rlp.h
 *	  Recursive Length Prefix encoding (Ethereum Yellow Paper, appendix B).
 *
 * Encoder: appends items to a growable rlp_buf whose memory comes from a
 * pluggable allocator, so the PostgreSQL side can route it through
 * palloc/repalloc/pfree.  Lists are opened and closed explicitly and may
 * nest up to RLP_MAX_DEPTH.
 *
 * Decoder: zero-copy and strict.  Only the canonical encoding of a value is
 * accepted, so a successful decode followed by re-encoding reproduces the
 * input byte for byte; this matters because Ethereum hashes and signs the
 * RLP bytes, and accepting two spellings of one value invites malleability.
 *
 * Self-contained C99: no PostgreSQL or OpenSSL dependency.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_RLP_H
#define TPWALLET_RLP_H

#include <stddef.h>
#include <stdint.h>

/*
 * Maximum number of simultaneously open lists, for both the encoder and
 * the decoder: "[]" nested 64 times is accepted, 65 times is rejected.
 */
#define RLP_MAX_DEPTH	64

/* Largest integer rlp_decode_uint accepts, in bytes (uint256). */
#define RLP_MAX_UINT_LEN	32

typedef enum
{
	RLP_OK = 0,
	RLP_ERR_EMPTY_INPUT = -1,
	RLP_ERR_LENGTH_EXCEEDS_INPUT = -2,	/* header or payload truncated */
	RLP_ERR_NONCANONICAL_SINGLE_BYTE = -3,	/* 0x81 0x00..0x7f */
	RLP_ERR_NONCANONICAL_LONG_FORM = -4,	/* long form for length < 56 */
	RLP_ERR_LENGTH_LEADING_ZERO = -5,	/* length-of-length has 0x00 first */
	RLP_ERR_LENGTH_OVERFLOW = -6,	/* length does not fit size_t */
	RLP_ERR_TRAILING_BYTES = -7,	/* input continues after the item */
	RLP_ERR_TOO_DEEP = -8,		/* more than RLP_MAX_DEPTH open lists */
	RLP_ERR_ITEM_EXCEEDS_LIST = -9, /* child overruns its list's payload */
	RLP_ERR_EXPECTED_STRING = -10,	/* list where a byte string is needed */
	RLP_ERR_EXPECTED_LIST = -11,	/* byte string where a list is needed */
	RLP_ERR_UINT_LEADING_ZERO = -12,	/* integer with leading zero byte */
	RLP_ERR_UINT_TOO_LONG = -13,	/* integer wider than the target */
	RLP_ERR_OUT_OF_MEMORY = -14,
	RLP_ERR_UNBALANCED_LIST = -15,	/* list_end without list_begin, or
									 * finish with lists still open */
	RLP_ERR_TOO_LARGE = -16		/* encoded size would overflow size_t */
} rlp_error;

/* Static lowercase message for an rlp_error (or "unknown rlp error"). */
extern const char *rlp_strerror(int err);

/* ---------------------------------------------------------------- encoder */

/*
 * Allocation hooks.  alloc/realloc may either return NULL on failure (the
 * encoder then reports RLP_ERR_OUT_OF_MEMORY) or not return at all, as
 * palloc does via ereport.
 */
typedef struct
{
	void	   *(*alloc) (size_t size);
	void	   *(*realloc) (void *ptr, size_t size);
	void		(*free) (void *ptr);
} rlp_allocator;

/* malloc/realloc/free */
extern const rlp_allocator rlp_malloc_allocator;

typedef struct
{
	uint8_t    *data;			/* encoded bytes; NULL until first append */
	size_t		len;
	size_t		cap;
	const rlp_allocator *allocator;
	size_t		open[RLP_MAX_DEPTH];	/* header offsets of open lists */
	int			depth;
	int			error;			/* first error seen; sticky */
} rlp_buf;

/* allocator may be NULL for rlp_malloc_allocator. */
extern void rlp_buf_init(rlp_buf *buf, const rlp_allocator *allocator);
/* Releases data and resets the buffer to its empty initialised state. */
extern void rlp_buf_free(rlp_buf *buf);

/*
 * All appenders return RLP_OK or a negative rlp_error.  Errors are sticky:
 * after the first failure every later call returns that error and leaves
 * the buffer untouched, so a sequence of appends can be checked once, at
 * rlp_buf_finish.  Source pointers must not point into buf->data, which
 * may move when the buffer grows.
 */

/* A byte string item.  data may be NULL when len is 0. */
extern int	rlp_append_bytes(rlp_buf *buf, const uint8_t *data, size_t len);

/*
 * A non-negative integer given as big-endian bytes of any width: leading
 * zero bytes are stripped, so zero (including len == 0) encodes as 0x80.
 */
extern int	rlp_append_uint(rlp_buf *buf, const uint8_t *be, size_t len);
extern int	rlp_append_uint64(rlp_buf *buf, uint64_t value);

/*
 * Append an already RLP-encoded item verbatim (e.g. a cached sub-tree).
 * The caller vouches for its validity; nothing is checked.
 */
extern int	rlp_append_raw(rlp_buf *buf, const uint8_t *enc, size_t len);

/* Open a list; its items are the appends up to the matching list_end. */
extern int	rlp_list_begin(rlp_buf *buf);
extern int	rlp_list_end(rlp_buf *buf);

/*
 * Check that no error occurred and all lists are closed.  On success, the
 * encoding is buf->data[0 .. buf->len).
 */
extern int	rlp_buf_finish(rlp_buf *buf);

/* ---------------------------------------------------------------- decoder */

typedef struct
{
	int			is_list;
	const uint8_t *payload;		/* points into the input; never copied */
	size_t		payload_len;
} rlp_item;

/*
 * Decode the item at the start of in[0 .. len) and validate it completely,
 * including every nested item (iteratively, with the RLP_MAX_DEPTH limit).
 * *consumed receives the item's total encoded size; bytes after it are
 * allowed and ignored.  out and consumed are only written on success.
 */
extern int	rlp_decode_item(const uint8_t *in, size_t len, rlp_item *out,
							size_t *consumed);

/* As rlp_decode_item, but the item must span the whole input. */
extern int	rlp_decode_exact(const uint8_t *in, size_t len, rlp_item *out);

/*
 * Iteration over the items of a list.  Each step validates only the next
 * item's header and bounds (not its nested contents), so walking a tree
 * already checked by rlp_decode_item costs O(n) overall; it is still safe,
 * though not deep-checked, on payloads that were never validated.
 */
typedef struct
{
	const uint8_t *pos;
	size_t		remaining;
} rlp_iter;

/* Returns RLP_ERR_EXPECTED_LIST if list is a byte string. */
extern int	rlp_iter_init(rlp_iter *it, const rlp_item *list);

/* Returns 1 and fills *out, 0 at the end of the list, or an rlp_error. */
extern int	rlp_iter_next(rlp_iter *it, rlp_item *out);

/*
 * Read a canonical unsigned integer of at most RLP_MAX_UINT_LEN bytes.
 * out32 receives the value as a 32-byte big-endian number, zero-padded on
 * the left; *len receives its minimal width in bytes (0 for zero), i.e.
 * the significant bytes are out32[32 - *len .. 32).  Rejects lists,
 * leading zero bytes (so zero must be 0x80, never 0x00) and values wider
 * than 32 bytes.
 */
extern int	rlp_decode_uint(const rlp_item *item, uint8_t *out32, size_t *len);

/* Same rules, for values that must fit in 64 bits. */
extern int	rlp_decode_uint64(const rlp_item *item, uint64_t *value);

#endif							/* TPWALLET_RLP_H */
