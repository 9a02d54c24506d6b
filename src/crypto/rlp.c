/*-------------------------------------------------------------------------
 *
 * rlp.c
 *	  Recursive Length Prefix encoder and strict decoder.
 *
 * Encoding rules (Yellow Paper, appendix B), with n the payload length:
 *	  single byte 0x00..0x7f		the byte itself
 *	  byte string, n < 56			0x80 + n, payload
 *	  byte string, n >= 56			0xb7 + len(BE(n)), BE(n), payload
 *	  list, n < 56					0xc0 + n, payload
 *	  list, n >= 56					0xf7 + len(BE(n)), BE(n), payload
 * where BE(n) is n big-endian without leading zero bytes.  Any other way
 * of writing the same value is non-canonical and the decoder rejects it.
 *
 *-------------------------------------------------------------------------
 */
#include "rlp.h"

#include <stdlib.h>
#include <string.h>

#define RLP_SHORT_MAX		55	/* longest payload with a one-byte header */
#define RLP_STRING_SHORT	0x80
#define RLP_STRING_LONG		0xb7
#define RLP_LIST_SHORT		0xc0
#define RLP_LIST_LONG		0xf7

/* Geometric growth, but never start with a uselessly small block. */
#define RLP_MIN_ALLOC		64

const rlp_allocator rlp_malloc_allocator = {malloc, realloc, free};

const char *
rlp_strerror(int err)
{
	switch (err)
	{
		case RLP_OK:
			return "success";
		case RLP_ERR_EMPTY_INPUT:
			return "empty input";
		case RLP_ERR_LENGTH_EXCEEDS_INPUT:
			return "length exceeds input";
		case RLP_ERR_NONCANONICAL_SINGLE_BYTE:
			return "non-canonical single byte";
		case RLP_ERR_NONCANONICAL_LONG_FORM:
			return "non-canonical long-form length for short item";
		case RLP_ERR_LENGTH_LEADING_ZERO:
			return "leading zero byte in length";
		case RLP_ERR_LENGTH_OVERFLOW:
			return "length does not fit in size_t";
		case RLP_ERR_TRAILING_BYTES:
			return "trailing bytes after item";
		case RLP_ERR_TOO_DEEP:
			return "lists nested too deeply";
		case RLP_ERR_ITEM_EXCEEDS_LIST:
			return "item exceeds enclosing list";
		case RLP_ERR_EXPECTED_STRING:
			return "expected byte string, got list";
		case RLP_ERR_EXPECTED_LIST:
			return "expected list, got byte string";
		case RLP_ERR_UINT_LEADING_ZERO:
			return "non-canonical integer with leading zero byte";
		case RLP_ERR_UINT_TOO_LONG:
			return "integer too large";
		case RLP_ERR_OUT_OF_MEMORY:
			return "out of memory";
		case RLP_ERR_UNBALANCED_LIST:
			return "unbalanced list begin/end";
		case RLP_ERR_TOO_LARGE:
			return "encoding too large";
	}
	return "unknown rlp error";
}

/* ---------------------------------------------------------------- encoder */

/* Bytes needed for n big-endian without leading zeros (n > 0). */
static size_t
be_width(size_t n)
{
	size_t		w = 0;

	while (n > 0)
	{
		w++;
		n >>= 8;
	}
	return w;
}

static size_t
header_size(size_t payload_len)
{
	if (payload_len <= RLP_SHORT_MAX)
		return 1;
	return 1 + be_width(payload_len);
}

/* Write the header for payload_len at dst; returns bytes written. */
static size_t
write_header(uint8_t *dst, uint8_t short_base, uint8_t long_base,
			 size_t payload_len)
{
	size_t		w;
	size_t		i;

	if (payload_len <= RLP_SHORT_MAX)
	{
		dst[0] = (uint8_t) (short_base + payload_len);
		return 1;
	}
	w = be_width(payload_len);
	dst[0] = (uint8_t) (long_base + w);
	for (i = 0; i < w; i++)
		dst[w - i] = (uint8_t) (payload_len >> (8 * i));
	return 1 + w;
}

static int
set_error(rlp_buf *buf, int err)
{
	if (buf->error == RLP_OK)
		buf->error = err;
	return buf->error;
}

/* Make room for extra more bytes after buf->len. */
static int
reserve(rlp_buf *buf, size_t extra)
{
	size_t		need;
	size_t		newcap;
	uint8_t    *p;

	if (extra > SIZE_MAX - buf->len)
		return set_error(buf, RLP_ERR_TOO_LARGE);
	need = buf->len + extra;
	if (need <= buf->cap)
		return RLP_OK;

	newcap = buf->cap < RLP_MIN_ALLOC ? RLP_MIN_ALLOC : buf->cap;
	while (newcap < need)
		newcap = newcap > SIZE_MAX / 2 ? need : newcap * 2;

	/* repalloc() refuses NULL, so the first block must come from alloc */
	if (buf->data == NULL)
		p = buf->allocator->alloc(newcap);
	else
		p = buf->allocator->realloc(buf->data, newcap);
	if (p == NULL)
		return set_error(buf, RLP_ERR_OUT_OF_MEMORY);
	buf->data = p;
	buf->cap = newcap;
	return RLP_OK;
}

void
rlp_buf_init(rlp_buf *buf, const rlp_allocator *allocator)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	buf->allocator = allocator ? allocator : &rlp_malloc_allocator;
	buf->depth = 0;
	buf->error = RLP_OK;
}

void
rlp_buf_free(rlp_buf *buf)
{
	if (buf->data != NULL)
		buf->allocator->free(buf->data);
	rlp_buf_init(buf, buf->allocator);
}

int
rlp_append_bytes(rlp_buf *buf, const uint8_t *data, size_t len)
{
	size_t		hdr;

	if (buf->error != RLP_OK)
		return buf->error;

	/* a lone byte below 0x80 is its own encoding */
	if (len == 1 && data[0] < RLP_STRING_SHORT)
	{
		if (reserve(buf, 1) != RLP_OK)
			return buf->error;
		buf->data[buf->len++] = data[0];
		return RLP_OK;
	}

	hdr = header_size(len);
	if (len > SIZE_MAX - hdr)
		return set_error(buf, RLP_ERR_TOO_LARGE);
	if (reserve(buf, hdr + len) != RLP_OK)
		return buf->error;
	buf->len += write_header(buf->data + buf->len,
							 RLP_STRING_SHORT, RLP_STRING_LONG, len);
	if (len > 0)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	return RLP_OK;
}

int
rlp_append_uint(rlp_buf *buf, const uint8_t *be, size_t len)
{
	/* integers are scalars: the canonical form has no leading zeros */
	while (len > 0 && be[0] == 0)
	{
		be++;
		len--;
	}
	return rlp_append_bytes(buf, be, len);
}

int
rlp_append_uint64(rlp_buf *buf, uint64_t value)
{
	uint8_t		be[8];
	int			i;

	for (i = 0; i < 8; i++)
		be[7 - i] = (uint8_t) (value >> (8 * i));
	return rlp_append_uint(buf, be, sizeof(be));
}

int
rlp_append_raw(rlp_buf *buf, const uint8_t *enc, size_t len)
{
	if (buf->error != RLP_OK)
		return buf->error;
	if (reserve(buf, len) != RLP_OK)
		return buf->error;
	if (len > 0)
		memcpy(buf->data + buf->len, enc, len);
	buf->len += len;
	return RLP_OK;
}

/*
 * The payload length is unknown until the list is closed, so reserve the
 * one-byte short header now.  Most lists are short and are then patched in
 * place; only a payload of 56+ bytes has to be moved to widen the header.
 */
int
rlp_list_begin(rlp_buf *buf)
{
	if (buf->error != RLP_OK)
		return buf->error;
	if (buf->depth >= RLP_MAX_DEPTH)
		return set_error(buf, RLP_ERR_TOO_DEEP);
	if (reserve(buf, 1) != RLP_OK)
		return buf->error;
	buf->open[buf->depth++] = buf->len;
	buf->data[buf->len++] = RLP_LIST_SHORT;
	return RLP_OK;
}

int
rlp_list_end(rlp_buf *buf)
{
	size_t		start;
	size_t		payload_len;
	size_t		extra;

	if (buf->error != RLP_OK)
		return buf->error;
	if (buf->depth == 0)
		return set_error(buf, RLP_ERR_UNBALANCED_LIST);

	start = buf->open[--buf->depth];
	payload_len = buf->len - start - 1;
	extra = header_size(payload_len) - 1;
	if (extra > 0)
	{
		if (reserve(buf, extra) != RLP_OK)
			return buf->error;
		memmove(buf->data + start + 1 + extra, buf->data + start + 1,
				payload_len);
		buf->len += extra;
	}
	write_header(buf->data + start, RLP_LIST_SHORT, RLP_LIST_LONG,
				 payload_len);
	return RLP_OK;
}

int
rlp_buf_finish(rlp_buf *buf)
{
	if (buf->error != RLP_OK)
		return buf->error;
	if (buf->depth != 0)
		return set_error(buf, RLP_ERR_UNBALANCED_LIST);
	return RLP_OK;
}

/* ---------------------------------------------------------------- decoder */

/*
 * Parse a long-form length: ll big-endian bytes starting at in[1].
 * Only called with 1 <= ll <= 8.
 */
static int
read_long_length(const uint8_t *in, size_t len, size_t ll, size_t *out)
{
	size_t		n = 0;
	size_t		i;

	if (ll > len - 1)
		return RLP_ERR_LENGTH_EXCEEDS_INPUT;

	/*
	 * A single length byte of 0x00 is reported below as a short length in
	 * long form, which is the more telling complaint; a zero first byte of
	 * a wider length is padding.
	 */
	if (ll > 1 && in[1] == 0)
		return RLP_ERR_LENGTH_LEADING_ZERO;
	for (i = 0; i < ll; i++)
	{
		/* matters only where size_t is narrower than 64 bits */
		if (n > (SIZE_MAX >> 8))
			return RLP_ERR_LENGTH_OVERFLOW;
		n = (n << 8) | in[1 + i];
	}
	if (n <= RLP_SHORT_MAX)
		return RLP_ERR_NONCANONICAL_LONG_FORM;
	*out = n;
	return RLP_OK;
}

/*
 * Decode one header at in[0 .. len) and check that the payload fits.
 * Does not look inside list payloads.  *total is header plus payload.
 */
static int
decode_header(const uint8_t *in, size_t len, rlp_item *item, size_t *total)
{
	uint8_t		b;
	size_t		hdr;
	size_t		plen;
	int			is_list;
	int			rc;

	if (len == 0)
		return RLP_ERR_EMPTY_INPUT;
	b = in[0];

	if (b < RLP_STRING_SHORT)
	{
		item->is_list = 0;
		item->payload = in;
		item->payload_len = 1;
		*total = 1;
		return RLP_OK;
	}

	is_list = (b >= RLP_LIST_SHORT);
	if (b <= RLP_STRING_LONG || (is_list && b <= RLP_LIST_LONG))
	{
		hdr = 1;
		plen = (size_t) (b - (is_list ? RLP_LIST_SHORT : RLP_STRING_SHORT));
	}
	else
	{
		size_t		ll;

		ll = (size_t) (b - (is_list ? RLP_LIST_LONG : RLP_STRING_LONG));
		rc = read_long_length(in, len, ll, &plen);
		if (rc != RLP_OK)
			return rc;
		hdr = 1 + ll;
	}

	if (plen > len - hdr)
		return RLP_ERR_LENGTH_EXCEEDS_INPUT;
	if (!is_list && plen == 1 && in[1] < RLP_STRING_SHORT)
		return RLP_ERR_NONCANONICAL_SINGLE_BYTE;

	item->is_list = is_list;
	item->payload = in + hdr;
	item->payload_len = plen;
	*total = hdr + plen;
	return RLP_OK;
}

/*
 * Check every item inside a top-level list payload.  Iterative: ends[]
 * holds the payload end offset of each open list, so hostile input cannot
 * drive recursion, and depth is capped by the array size.
 */
static int
validate_list_payload(const uint8_t *p, size_t plen)
{
	size_t		ends[RLP_MAX_DEPTH];
	int			depth = 1;
	size_t		pos = 0;

	ends[0] = plen;
	for (;;)
	{
		rlp_item	child;
		size_t		total;
		int			rc;

		while (depth > 0 && pos == ends[depth - 1])
			depth--;
		if (depth == 0)
			return RLP_OK;

		rc = decode_header(p + pos, ends[depth - 1] - pos, &child, &total);
		if (rc == RLP_ERR_LENGTH_EXCEEDS_INPUT)
			rc = RLP_ERR_ITEM_EXCEEDS_LIST;
		if (rc != RLP_OK)
			return rc;

		if (child.is_list)
		{
			if (depth >= RLP_MAX_DEPTH)
				return RLP_ERR_TOO_DEEP;
			ends[depth++] = pos + total;
			pos = (size_t) (child.payload - p);
		}
		else
			pos += total;
	}
}

int
rlp_decode_item(const uint8_t *in, size_t len, rlp_item *out,
				size_t *consumed)
{
	rlp_item	item;
	size_t		total;
	int			rc;

	rc = decode_header(in, len, &item, &total);
	if (rc != RLP_OK)
		return rc;
	if (item.is_list)
	{
		rc = validate_list_payload(item.payload, item.payload_len);
		if (rc != RLP_OK)
			return rc;
	}
	*out = item;
	*consumed = total;
	return RLP_OK;
}

int
rlp_decode_exact(const uint8_t *in, size_t len, rlp_item *out)
{
	rlp_item	item;
	size_t		consumed;
	int			rc;

	rc = rlp_decode_item(in, len, &item, &consumed);
	if (rc != RLP_OK)
		return rc;
	if (consumed != len)
		return RLP_ERR_TRAILING_BYTES;
	*out = item;
	return RLP_OK;
}

int
rlp_iter_init(rlp_iter *it, const rlp_item *list)
{
	if (!list->is_list)
		return RLP_ERR_EXPECTED_LIST;
	it->pos = list->payload;
	it->remaining = list->payload_len;
	return RLP_OK;
}

int
rlp_iter_next(rlp_iter *it, rlp_item *out)
{
	size_t		total;
	int			rc;

	if (it->remaining == 0)
		return 0;
	rc = decode_header(it->pos, it->remaining, out, &total);
	if (rc == RLP_ERR_LENGTH_EXCEEDS_INPUT)
		rc = RLP_ERR_ITEM_EXCEEDS_LIST;
	if (rc != RLP_OK)
		return rc;
	it->pos += total;
	it->remaining -= total;
	return 1;
}

/* Shared checks for canonical scalars no wider than max_len bytes. */
static int
check_uint(const rlp_item *item, size_t max_len)
{
	if (item->is_list)
		return RLP_ERR_EXPECTED_STRING;
	if (item->payload_len > 0 && item->payload[0] == 0)
		return RLP_ERR_UINT_LEADING_ZERO;
	if (item->payload_len > max_len)
		return RLP_ERR_UINT_TOO_LONG;
	return RLP_OK;
}

int
rlp_decode_uint(const rlp_item *item, uint8_t *out32, size_t *len)
{
	int			rc = check_uint(item, RLP_MAX_UINT_LEN);

	if (rc != RLP_OK)
		return rc;
	memset(out32, 0, RLP_MAX_UINT_LEN);
	if (item->payload_len > 0)
		memcpy(out32 + RLP_MAX_UINT_LEN - item->payload_len, item->payload,
			   item->payload_len);
	*len = item->payload_len;
	return RLP_OK;
}

int
rlp_decode_uint64(const rlp_item *item, uint64_t *value)
{
	uint64_t	v = 0;
	size_t		i;
	int			rc = check_uint(item, 8);

	if (rc != RLP_OK)
		return rc;
	for (i = 0; i < item->payload_len; i++)
		v = (v << 8) | item->payload[i];
	*value = v;
	return RLP_OK;
}
