/*-------------------------------------------------------------------------
 *
 * fuzz_rlp.c
 *	  libFuzzer target for the strict RLP decoder.
 *
 * Property: whatever the strict decoder accepts is canonical, so decoding
 * and re-encoding must reproduce the accepted bytes exactly.  Also checks
 * that rlp_decode_item and rlp_decode_exact agree, and that every byte
 * string accepted as an integer re-encodes to itself.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "rlp.h"

/* Encode an already-built buffer check: finish, compare, free. */
static void
expect_encoding(rlp_buf *b, const uint8_t *want, size_t want_len)
{
	if (rlp_buf_finish(b) != RLP_OK)
		abort();
	if (b->len != want_len || memcmp(b->data, want, want_len) != 0)
		abort();
	rlp_buf_free(b);
}

/* A string that decodes as an integer must re-encode to the same bytes. */
static void
check_uint(const rlp_item *item)
{
	uint8_t		out32[RLP_MAX_UINT_LEN];
	size_t		ilen;
	uint64_t	v;
	int			rc256 = rlp_decode_uint(item, out32, &ilen);
	int			rc64 = rlp_decode_uint64(item, &v);
	rlp_buf		a;
	rlp_buf		b;

	if (rc256 != RLP_OK)
	{
		/* anything too bad for uint256 is too bad for uint64 */
		if (rc64 == RLP_OK)
			abort();
		return;
	}
	if (ilen != item->payload_len)
		abort();

	rlp_buf_init(&a, NULL);
	rlp_append_bytes(&a, item->payload, item->payload_len);
	rlp_buf_init(&b, NULL);
	rlp_append_uint(&b, out32, sizeof(out32));
	if (rlp_buf_finish(&a) != RLP_OK)
		abort();
	expect_encoding(&b, a.data, a.len);

	if (rc64 == RLP_OK)
	{
		if (ilen > 8)
			abort();
		rlp_buf_init(&b, NULL);
		rlp_append_uint64(&b, v);
		expect_encoding(&b, a.data, a.len);
	}
	else if (ilen <= 8)
		abort();
	rlp_buf_free(&a);
}

/* Re-encode a validated item; recursion is bounded by RLP_MAX_DEPTH. */
static void
reencode(rlp_buf *b, const rlp_item *item)
{
	rlp_iter	it;
	rlp_item	child;
	int			rc;

	if (!item->is_list)
	{
		check_uint(item);
		rlp_append_bytes(b, item->payload, item->payload_len);
		return;
	}
	if (rlp_iter_init(&it, item) != RLP_OK)
		abort();
	rlp_list_begin(b);
	while ((rc = rlp_iter_next(&it, &child)) == 1)
		reencode(b, &child);
	/* the tree was validated, so iteration cannot fail */
	if (rc != 0)
		abort();
	rlp_list_end(b);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rlp_item	item;
	rlp_item	exact;
	size_t		consumed = 0;
	int			rc;
	int			rc_exact;
	rlp_buf		b;

	rc = rlp_decode_item(data, size, &item, &consumed);
	rc_exact = rlp_decode_exact(data, size, &exact);

	if (rc != RLP_OK)
	{
		/* same input, same verdict */
		if (rc_exact != rc || rc >= 0)
			abort();
		if (strcmp(rlp_strerror(rc), "unknown rlp error") == 0)
			abort();
		return 0;
	}

	if (consumed == 0 || consumed > size)
		abort();
	if (item.payload < data || item.payload_len > size ||
		item.payload + item.payload_len != data + consumed)
		abort();
	if (rc_exact != (consumed == size ? RLP_OK : RLP_ERR_TRAILING_BYTES))
		abort();

	rlp_buf_init(&b, NULL);
	reencode(&b, &item);
	expect_encoding(&b, data, consumed);
	return 0;
}
