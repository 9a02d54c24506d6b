/*-------------------------------------------------------------------------
 *
 * ethtx.c
 *	  Ethereum transaction encoding and strict decoding; exact uint256
 *	  quantities.
 *
 * References: EIP-155 (chain id in legacy signatures), EIP-2718 (typed
 * transaction envelope), EIP-2930 (access lists), EIP-1559 (type 2), EIP-2
 * (low-s signatures) and the JSON-RPC QUANTITY encoding.
 *
 * Every multi-step encoder relies on rlp_buf's sticky errors: appends are
 * not checked one by one, rlp_buf_finish reports the first failure.
 *
 *-------------------------------------------------------------------------
 */
#include "ethtx.h"

#include <string.h>

#include "hex.h"
#include "keccak.h"

#define U256_LEN	32

/*
 * Bounds for a valid secp256k1 signature: r in [1, n-1] and, since EIP-2,
 * s in [1, n/2].  Accepting the high-s twin of a signature would give one
 * transaction two valid encodings and two hashes.
 */
static const uint8_t secp256k1_n[U256_LEN] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
	0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41
};
static const uint8_t secp256k1_half_n[U256_LEN] = {
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d,
	0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0
};

/* EIP-155: v = chainId * 2 + 35 + recovery id; before it, 27 + id. */
#define V_PRE_EIP155	27
#define V_EIP155_BASE	35

const char *
eth_strerror(int err)
{
	if (err < ETH_ERR_RLP_BASE && err > ETH_ERR_RLP_BASE - 100)
		return rlp_strerror(err - ETH_ERR_RLP_BASE);

	switch (err)
	{
		case ETH_OK:
			return "success";
		case ETH_ERR_INVALID_NUMBER:
			return "invalid number: expected 0x-prefixed hex or decimal digits";
		case ETH_ERR_NEGATIVE:
			return "negative number";
		case ETH_ERR_OUT_OF_RANGE:
			return "number out of range";
		case ETH_ERR_TOO_LARGE:
			return "transaction too large";
		case ETH_ERR_UNSUPPORTED_TYPE:
			return "unsupported transaction type";
		case ETH_ERR_FIELD_COUNT:
			return "wrong number of transaction fields";
		case ETH_ERR_BAD_TO:
			return "recipient must be empty or 20 bytes";
		case ETH_ERR_BAD_ACCESS_ENTRY:
			return "access list entry must be [address, [storage keys]]";
		case ETH_ERR_BAD_ACCESS_ADDRESS:
			return "access list address must be 20 bytes";
		case ETH_ERR_BAD_STORAGE_KEY:
			return "access list storage key must be 32 bytes";
		case ETH_ERR_UINT64_FIELD:
			return "nonce or gas limit exceeds 64 bits";
		case ETH_ERR_BAD_V:
			return "invalid legacy signature v";
		case ETH_ERR_BAD_Y_PARITY:
			return "signature y parity must be 0 or 1";
		case ETH_ERR_BAD_SIGNATURE:
			return "signature r or s out of range";
		case ETH_ERR_BAD_RECOVERY_ID:
			return "recovery id must be 0 or 1";
		case ETH_ERR_INVALID_TX:
			return "inconsistent transaction fields";
		case ETH_ERR_OUT_OF_MEMORY:
			return "out of memory";
	}
	return "unknown ethereum transaction error";
}

static const rlp_allocator *
allocator_or_default(const rlp_allocator *a)
{
	return a ? a : &rlp_malloc_allocator;
}

/* ------------------------------------------------------- 256-bit helpers */

static int
u256_is_zero(const uint8_t v[U256_LEN])
{
	int			i;

	for (i = 0; i < U256_LEN; i++)
		if (v[i] != 0)
			return 0;
	return 1;
}

/* Big-endian, so lexicographic byte order is numeric order. */
static int
u256_cmp(const uint8_t a[U256_LEN], const uint8_t b[U256_LEN])
{
	return memcmp(a, b, U256_LEN);
}

/* v = v * mul + add; returns nonzero if the result overflowed. */
static int
u256_mul_add_small(uint8_t v[U256_LEN], unsigned mul, unsigned add)
{
	unsigned long carry = add;
	int			i;

	for (i = U256_LEN - 1; i >= 0; i--)
	{
		unsigned long t = (unsigned long) v[i] * mul + carry;

		v[i] = (uint8_t) t;
		carry = t >> 8;
	}
	return carry != 0;
}

/* v = v / div; returns the remainder. */
static unsigned
u256_divmod_small(uint8_t v[U256_LEN], unsigned div)
{
	unsigned long rem = 0;
	int			i;

	for (i = 0; i < U256_LEN; i++)
	{
		unsigned long cur = (rem << 8) | v[i];

		v[i] = (uint8_t) (cur / div);
		rem = cur % div;
	}
	return (unsigned) rem;
}

/* v = v - sub; the caller guarantees v >= sub. */
static void
u256_sub_small(uint8_t v[U256_LEN], unsigned sub)
{
	unsigned	borrow = sub;
	int			i;

	for (i = U256_LEN - 1; i >= 0 && borrow > 0; i--)
	{
		unsigned	take = borrow & 0xff;

		borrow >>= 8;
		if (v[i] < take)
			borrow++;
		v[i] = (uint8_t) (v[i] - take);
	}
}

/* ------------------------------------------------------------ quantities */

/* Explicit ranges: no locale involvement. */
static int
is_hex_digit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		(c >= 'A' && c <= 'F');
}

/* Hex digits after the "0x"; syntax is checked before range. */
static int
parse_hex_digits(const char *s, size_t len, uint8_t out32[U256_LEN])
{
	uint8_t		v[U256_LEN];
	size_t		nbytes;
	size_t		got;
	size_t		i;

	if (len == 0)
		return ETH_ERR_INVALID_NUMBER;
	for (i = 0; i < len; i++)
		if (!is_hex_digit(s[i]))
			return ETH_ERR_INVALID_NUMBER;
	while (len > 1 && s[0] == '0')
	{
		s++;
		len--;
	}
	if (len > 2 * U256_LEN)
		return ETH_ERR_OUT_OF_RANGE;

	memset(v, 0, sizeof(v));
	nbytes = (len + 1) / 2;

	/* tp_hex_decode takes whole bytes: pad an odd first digit with '0' */
	if (len % 2 != 0)
	{
		char		pad[2];

		pad[0] = '0';
		pad[1] = s[0];
		if (tp_hex_decode(pad, 2, v + U256_LEN - nbytes, 1, &got) != HEX_OK)
			return ETH_ERR_INVALID_NUMBER;
		s++;
		len--;
	}
	if (tp_hex_decode(s, len, v + U256_LEN - len / 2, len / 2, &got) != HEX_OK)
		return ETH_ERR_INVALID_NUMBER;
	memcpy(out32, v, U256_LEN);
	return ETH_OK;
}

static int
parse_decimal_digits(const char *s, size_t len, uint8_t out32[U256_LEN])
{
	uint8_t		v[U256_LEN];
	size_t		i;

	if (len == 0)
		return ETH_ERR_INVALID_NUMBER;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return ETH_ERR_INVALID_NUMBER;

	/* leading zeros cost nothing, however many there are */
	while (len > 1 && s[0] == '0')
	{
		s++;
		len--;
	}
	memset(v, 0, sizeof(v));
	for (i = 0; i < len; i++)
		if (u256_mul_add_small(v, 10, (unsigned) (s[i] - '0')))
			return ETH_ERR_OUT_OF_RANGE;
	memcpy(out32, v, U256_LEN);
	return ETH_OK;
}

static int
parse_unsigned(const char *s, size_t len, uint8_t out32[U256_LEN])
{
	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return parse_hex_digits(s + 2, len - 2, out32);
	return parse_decimal_digits(s, len, out32);
}

int
eth_uint256_parse(const char *s, size_t len, uint8_t out32[32])
{
	/*
	 * A sign is never valid, but "-5" deserves a better complaint than
	 * "invalid": report it as negative when the rest is a number.
	 */
	if (len > 0 && s[0] == '-')
	{
		uint8_t		ignored[U256_LEN];

		if (parse_unsigned(s + 1, len - 1, ignored) == ETH_ERR_INVALID_NUMBER)
			return ETH_ERR_INVALID_NUMBER;
		return ETH_ERR_NEGATIVE;
	}
	return parse_unsigned(s, len, out32);
}

void
eth_uint256_to_decimal(const uint8_t v[32], char out[ETH_UINT256_DECIMAL_LEN])
{
	uint8_t		w[U256_LEN];
	char		rev[ETH_UINT256_DECIMAL_LEN];
	size_t		n = 0;
	size_t		i;

	memcpy(w, v, U256_LEN);
	do
		rev[n++] = (char) ('0' + u256_divmod_small(w, 10));
	while (!u256_is_zero(w));

	for (i = 0; i < n; i++)
		out[i] = rev[n - 1 - i];
	out[n] = '\0';
}

void
eth_uint256_to_quantity(const uint8_t v[32],
						char out[ETH_UINT256_QUANTITY_LEN])
{
	char		hex[2 * U256_LEN + 1];
	size_t		skip = 0;

	tp_hex_encode(v, U256_LEN, hex);
	/* QUANTITY has no leading zeros, but zero itself is "0x0" */
	while (skip < 2 * U256_LEN - 1 && hex[skip] == '0')
		skip++;
	out[0] = '0';
	out[1] = 'x';
	memcpy(out + 2, hex + skip, 2 * U256_LEN + 1 - skip);
}

void
eth_uint256_from_u64(uint64_t value, uint8_t out32[32])
{
	int			i;

	memset(out32, 0, U256_LEN);
	for (i = 0; i < 8; i++)
		out32[U256_LEN - 1 - i] = (uint8_t) (value >> (8 * i));
}

int
eth_uint256_to_u64(const uint8_t v[32], uint64_t *value)
{
	uint64_t	r = 0;
	int			i;

	for (i = 0; i < U256_LEN - 8; i++)
		if (v[i] != 0)
			return ETH_ERR_OUT_OF_RANGE;
	for (i = U256_LEN - 8; i < U256_LEN; i++)
		r = (r << 8) | v[i];
	*value = r;
	return ETH_OK;
}

/* -------------------------------------------------------------- checks */

static int
fits_u64(const uint8_t v[U256_LEN])
{
	uint64_t	ignored;

	return eth_uint256_to_u64(v, &ignored) == ETH_OK;
}

static int
check_signature(const uint8_t r[U256_LEN], const uint8_t s[U256_LEN])
{
	if (u256_is_zero(r) || u256_cmp(r, secp256k1_n) >= 0)
		return ETH_ERR_BAD_SIGNATURE;
	if (u256_is_zero(s) || u256_cmp(s, secp256k1_half_n) > 0)
		return ETH_ERR_BAD_SIGNATURE;
	return ETH_OK;
}

static int
check_access_list(const eth_tx *tx)
{
	size_t		i;

	if (tx->n_access > 0 && tx->access_list == NULL)
		return ETH_ERR_INVALID_TX;
	for (i = 0; i < tx->n_access; i++)
		if (tx->access_list[i].n_keys > 0 && tx->access_list[i].keys == NULL)
			return ETH_ERR_INVALID_TX;
	return ETH_OK;
}

/* What every encoder needs of a caller-built transaction. */
static int
check_tx(const eth_tx *tx)
{
	if (tx->type != ETH_TX_LEGACY && tx->type != ETH_TX_EIP1559)
		return ETH_ERR_INVALID_TX;
	if (tx->pre_eip155 &&
		(tx->type != ETH_TX_LEGACY || !u256_is_zero(tx->chain_id)))
		return ETH_ERR_INVALID_TX;
	if (tx->data_len > 0 && tx->data == NULL)
		return ETH_ERR_INVALID_TX;
	if (!fits_u64(tx->nonce) || !fits_u64(tx->gas))
		return ETH_ERR_UINT64_FIELD;
	if (tx->type == ETH_TX_EIP1559)
		return check_access_list(tx);
	return ETH_OK;
}

/* ------------------------------------------------------------- encoding */

static void
append_u256(rlp_buf *b, const uint8_t v[U256_LEN])
{
	rlp_append_uint(b, v, U256_LEN);
}

static void
append_access_list(rlp_buf *b, const eth_tx *tx)
{
	size_t		i;
	size_t		k;

	rlp_list_begin(b);
	for (i = 0; i < tx->n_access; i++)
	{
		const eth_access_entry *e = &tx->access_list[i];

		rlp_list_begin(b);
		rlp_append_bytes(b, e->address, ETH_ADDRESS_LEN);
		rlp_list_begin(b);
		for (k = 0; k < e->n_keys; k++)
			rlp_append_bytes(b, e->keys[k], U256_LEN);
		rlp_list_end(b);
		rlp_list_end(b);
	}
	rlp_list_end(b);
}

/*
 * Open the transaction and write the fields that the signing payload and
 * the signed form share, in the type's order.
 */
static void
append_tx_fields(rlp_buf *b, const eth_tx *tx)
{
	/* EIP-2718: the type byte comes before, not inside, the RLP list */
	if (tx->type == ETH_TX_EIP1559)
	{
		uint8_t		type_byte = ETH_TX_EIP1559;

		rlp_append_raw(b, &type_byte, 1);
	}
	rlp_list_begin(b);
	if (tx->type == ETH_TX_EIP1559)
	{
		append_u256(b, tx->chain_id);
		append_u256(b, tx->nonce);
		append_u256(b, tx->max_priority_fee_per_gas);
		append_u256(b, tx->max_fee_per_gas);
	}
	else
	{
		append_u256(b, tx->nonce);
		append_u256(b, tx->gas_price);
	}
	append_u256(b, tx->gas);
	rlp_append_bytes(b, tx->to, tx->has_to ? ETH_ADDRESS_LEN : 0);
	append_u256(b, tx->value);
	rlp_append_bytes(b, tx->data, tx->data_len);
	if (tx->type == ETH_TX_EIP1559)
		append_access_list(b, tx);
}

/* Close the list, hand the bytes to the caller or free them on error. */
static int
finish_tx(rlp_buf *b, uint8_t **out, size_t *out_len)
{
	int			rc;

	rlp_list_end(b);
	rc = rlp_buf_finish(b);
	if (rc != RLP_OK)
	{
		rlp_buf_free(b);
		if (rc == RLP_ERR_OUT_OF_MEMORY)
			return ETH_ERR_OUT_OF_MEMORY;
		return rc == RLP_ERR_TOO_LARGE ? ETH_ERR_TOO_LARGE : ETH_ERR_RLP(rc);
	}
	*out = b->data;
	*out_len = b->len;
	return ETH_OK;
}

int
eth_tx_signing_payload(const eth_tx *tx, const rlp_allocator *a,
					   uint8_t **out, size_t *out_len)
{
	rlp_buf		b;
	int			rc = check_tx(tx);

	if (rc != ETH_OK)
		return rc;
	rlp_buf_init(&b, a);
	append_tx_fields(&b, tx);
	if (tx->type == ETH_TX_LEGACY && !tx->pre_eip155)
	{
		/* EIP-155: chainId, 0, 0 stand where v, r, s will go */
		append_u256(&b, tx->chain_id);
		rlp_append_uint64(&b, 0);
		rlp_append_uint64(&b, 0);
	}
	return finish_tx(&b, out, out_len);
}

int
eth_tx_signing_hash(const eth_tx *tx, const rlp_allocator *a,
					uint8_t hash[32])
{
	uint8_t    *payload;
	size_t		len;
	int			rc = eth_tx_signing_payload(tx, a, &payload, &len);

	if (rc != ETH_OK)
		return rc;
	keccak256(payload, len, hash);
	allocator_or_default(a)->free(payload);
	return ETH_OK;
}

/* Legacy v, exactly: chainId may be any uint256, so v may not fit. */
static int
legacy_v(const eth_tx *tx, int recovery_id, uint8_t v[U256_LEN])
{
	if (tx->pre_eip155)
	{
		eth_uint256_from_u64((uint64_t) (V_PRE_EIP155 + recovery_id), v);
		return ETH_OK;
	}
	memcpy(v, tx->chain_id, U256_LEN);
	if (u256_mul_add_small(v, 2, (unsigned) (V_EIP155_BASE + recovery_id)))
		return ETH_ERR_OUT_OF_RANGE;
	return ETH_OK;
}

int
eth_tx_encode_signed(const eth_tx *tx, int recovery_id,
					 const uint8_t r[32], const uint8_t s[32],
					 const rlp_allocator *a, uint8_t **out, size_t *out_len)
{
	uint8_t		v[U256_LEN];
	rlp_buf		b;
	int			rc;

	if (recovery_id != 0 && recovery_id != 1)
		return ETH_ERR_BAD_RECOVERY_ID;
	if ((rc = check_tx(tx)) != ETH_OK ||
		(rc = check_signature(r, s)) != ETH_OK)
		return rc;
	if (tx->type == ETH_TX_LEGACY &&
		(rc = legacy_v(tx, recovery_id, v)) != ETH_OK)
		return rc;

	rlp_buf_init(&b, a);
	append_tx_fields(&b, tx);
	if (tx->type == ETH_TX_LEGACY)
		append_u256(&b, v);
	else
		rlp_append_uint64(&b, (uint64_t) recovery_id);
	append_u256(&b, r);
	append_u256(&b, s);
	return finish_tx(&b, out, out_len);
}

/* ------------------------------------------------------------- decoding */

static int
from_rlp(int rc)
{
	return rc == RLP_OK ? ETH_OK : ETH_ERR_RLP(rc);
}

/*
 * The items of an already validated list, which must number exactly want.
 * Walking a tree that rlp_decode_exact accepted cannot fail, but the
 * iterator's verdict is passed on all the same.
 */
static int
split_list(const rlp_item *list, rlp_item *items, size_t want)
{
	rlp_item	item;
	rlp_iter	it;
	size_t		n = 0;
	int			rc;

	if ((rc = rlp_iter_init(&it, list)) != RLP_OK)
		return from_rlp(rc);
	while ((rc = rlp_iter_next(&it, &item)) == 1)
	{
		if (n == want)
			return ETH_ERR_FIELD_COUNT;
		items[n++] = item;
	}
	if (rc < 0)
		return from_rlp(rc);
	return n == want ? ETH_OK : ETH_ERR_FIELD_COUNT;
}

/* The whole input must be one canonical list of exactly want fields. */
static int
split_tx(const uint8_t *p, size_t len, rlp_item *fields, size_t want)
{
	rlp_item	list;
	int			rc = rlp_decode_exact(p, len, &list);

	if (rc != RLP_OK)
		return from_rlp(rc);
	return split_list(&list, fields, want);
}

static int
get_uint(const rlp_item *item, uint8_t out[U256_LEN])
{
	size_t		width;

	return from_rlp(rlp_decode_uint(item, out, &width));
}

/* nonce and gas: uint64 in every client, so wider values are refused */
static int
get_uint64_field(const rlp_item *item, uint8_t out[U256_LEN])
{
	int			rc = get_uint(item, out);

	if (rc == ETH_ERR_RLP(RLP_ERR_UINT_TOO_LONG) ||
		(rc == ETH_OK && !fits_u64(out)))
		return ETH_ERR_UINT64_FIELD;
	return rc;
}

static int
get_to(const rlp_item *item, eth_tx *tx)
{
	if (item->is_list)
		return ETH_ERR_BAD_TO;
	if (item->payload_len == 0)
		return ETH_OK;
	if (item->payload_len != ETH_ADDRESS_LEN)
		return ETH_ERR_BAD_TO;
	tx->has_to = 1;
	memcpy(tx->to, item->payload, ETH_ADDRESS_LEN);
	return ETH_OK;
}

/* Points into the input for now; decode_finish copies it. */
static int
get_data(const rlp_item *item, eth_tx *tx)
{
	if (item->is_list)
		return ETH_ERR_RLP(RLP_ERR_EXPECTED_STRING);
	tx->data = item->payload_len > 0 ? item->payload : NULL;
	tx->data_len = item->payload_len;
	return ETH_OK;
}

/* r and s: canonical integers of at most 32 bytes, in range. */
static int
get_signature(const rlp_item *r, const rlp_item *s, eth_tx *tx)
{
	int			rc;

	if ((rc = get_uint(r, tx->r)) != ETH_OK ||
		(rc = get_uint(s, tx->s)) != ETH_OK)
		return rc == ETH_ERR_RLP(RLP_ERR_UINT_TOO_LONG) ?
			ETH_ERR_BAD_SIGNATURE : rc;
	if ((rc = check_signature(tx->r, tx->s)) != ETH_OK)
		return rc;
	tx->has_signature = 1;
	return ETH_OK;
}

/*
 * Legacy v: 27/28 (no chain id) or chainId * 2 + 35/36.  Any v >= 35 names
 * some chain, so the chain id is derived from v rather than checked; the
 * caller compares it with the chain it expects.
 */
static int
get_legacy_v(const rlp_item *item, eth_tx *tx)
{
	uint8_t		w[U256_LEN];
	uint64_t	small;
	int			rc = get_uint(item, tx->v);

	if (rc != ETH_OK)
		return rc == ETH_ERR_RLP(RLP_ERR_UINT_TOO_LONG) ? ETH_ERR_BAD_V : rc;
	if (eth_uint256_to_u64(tx->v, &small) == ETH_OK && small < V_EIP155_BASE)
	{
		if (small != V_PRE_EIP155 && small != V_PRE_EIP155 + 1)
			return ETH_ERR_BAD_V;
		tx->pre_eip155 = 1;
		tx->y_parity = (int) (small - V_PRE_EIP155);
		return ETH_OK;
	}
	memcpy(w, tx->v, U256_LEN);
	u256_sub_small(w, V_EIP155_BASE);
	tx->y_parity = (int) u256_divmod_small(w, 2);
	memcpy(tx->chain_id, w, U256_LEN);
	return ETH_OK;
}

static int
get_y_parity(const rlp_item *item, eth_tx *tx)
{
	uint64_t	y;
	int			rc = rlp_decode_uint64(item, &y);

	if (rc == RLP_ERR_UINT_TOO_LONG || (rc == RLP_OK && y > 1))
		return ETH_ERR_BAD_Y_PARITY;
	if (rc != RLP_OK)
		return from_rlp(rc);
	tx->y_parity = (int) y;
	return ETH_OK;
}

/*
 * One access list entry, [20-byte address, [32-byte key, ...]].  Adds its
 * key count to *n_keys; with e non-NULL also fills e and copies the keys
 * to keys[0 ..).
 */
static int
walk_access_entry(const rlp_item *entry, eth_access_entry *e,
				  uint8_t (*keys)[32], size_t *n_keys)
{
	rlp_item	f[2];
	rlp_item	key;
	rlp_iter	it;
	size_t		n = 0;
	int			rc;

	if (!entry->is_list)
		return ETH_ERR_BAD_ACCESS_ENTRY;
	rc = split_list(entry, f, 2);
	if (rc != ETH_OK)
		return rc == ETH_ERR_FIELD_COUNT ? ETH_ERR_BAD_ACCESS_ENTRY : rc;
	if (f[0].is_list || f[0].payload_len != ETH_ADDRESS_LEN)
		return ETH_ERR_BAD_ACCESS_ADDRESS;
	if ((rc = rlp_iter_init(&it, &f[1])) != RLP_OK)
		return ETH_ERR_BAD_ACCESS_ENTRY;
	while ((rc = rlp_iter_next(&it, &key)) == 1)
	{
		if (key.is_list || key.payload_len != U256_LEN)
			return ETH_ERR_BAD_STORAGE_KEY;
		if (e != NULL)
			memcpy(keys[n], key.payload, U256_LEN);
		n++;
	}
	if (rc < 0)
		return from_rlp(rc);
	if (e != NULL)
	{
		memcpy(e->address, f[0].payload, ETH_ADDRESS_LEN);
		e->n_keys = n;
		e->keys = n > 0 ? keys : NULL;
	}
	*n_keys += n;
	return ETH_OK;
}

/*
 * Check and count the access list (entries == NULL), or fill entries and
 * keys, sized by a counting pass, from it.
 */
static int
walk_access_list(const rlp_item *list, eth_access_entry *entries,
				 uint8_t (*keys)[32], size_t *n_entries, size_t *n_keys)
{
	rlp_item	entry;
	rlp_iter	it;
	int			rc;

	*n_entries = 0;
	*n_keys = 0;
	if ((rc = rlp_iter_init(&it, list)) != RLP_OK)
		return from_rlp(rc);
	while ((rc = rlp_iter_next(&it, &entry)) == 1)
	{
		rc = walk_access_entry(&entry,
							   entries ? &entries[*n_entries] : NULL,
							   keys ? keys + *n_keys : NULL, n_keys);
		if (rc != ETH_OK)
			return rc;
		(*n_entries)++;
	}
	return from_rlp(rc);
}

/*
 * Copy data and the access list out of the input into one block, so the
 * decoded transaction does not depend on the input's lifetime.  Everything
 * is validated before the allocation, so a failure leaves nothing behind.
 *
 * An entry takes at least 23 input bytes and a key 33, so the block is at
 * most a few times the input's size: a small input cannot ask for a large
 * allocation, and with ETH_TX_MAX_SIZE the sizes cannot overflow.
 */
static int
decode_finish(eth_tx *tx, const rlp_allocator *a, const rlp_item *access)
{
	size_t		n_entries = 0;
	size_t		n_keys = 0;
	size_t		entries_size;
	size_t		keys_size;
	char	   *block;
	int			rc;

	if (access != NULL &&
		(rc = walk_access_list(access, NULL, NULL, &n_entries, &n_keys)) != ETH_OK)
		return rc;
	entries_size = n_entries * sizeof(eth_access_entry);
	keys_size = n_keys * U256_LEN;
	if (entries_size + keys_size + tx->data_len == 0)
		return ETH_OK;

	/* entries first: the allocator's alignment suits them */
	block = allocator_or_default(a)->alloc(entries_size + keys_size +
										   tx->data_len);
	if (block == NULL)
		return ETH_ERR_OUT_OF_MEMORY;
	tx->owned = block;
	if (tx->data_len > 0)
	{
		memcpy(block + entries_size + keys_size, tx->data, tx->data_len);
		tx->data = (const uint8_t *) (block + entries_size + keys_size);
	}
	if (n_entries > 0)
	{
		tx->access_list = (eth_access_entry *) (void *) block;
		tx->n_access = n_entries;
		return walk_access_list(access, tx->access_list,
								(uint8_t (*)[32]) (void *) (block + entries_size),
								&n_entries, &n_keys);
	}
	return ETH_OK;
}

/* rlp([nonce, gasPrice, gas, to, value, data, v, r, s]) */
static int
decode_legacy(const uint8_t *p, size_t len, const rlp_allocator *a,
			  eth_tx *tx)
{
	rlp_item	f[9];
	int			rc;

	tx->type = ETH_TX_LEGACY;
	if ((rc = split_tx(p, len, f, 9)) != ETH_OK ||
		(rc = get_uint64_field(&f[0], tx->nonce)) != ETH_OK ||
		(rc = get_uint(&f[1], tx->gas_price)) != ETH_OK ||
		(rc = get_uint64_field(&f[2], tx->gas)) != ETH_OK ||
		(rc = get_to(&f[3], tx)) != ETH_OK ||
		(rc = get_uint(&f[4], tx->value)) != ETH_OK ||
		(rc = get_data(&f[5], tx)) != ETH_OK ||
		(rc = get_legacy_v(&f[6], tx)) != ETH_OK ||
		(rc = get_signature(&f[7], &f[8], tx)) != ETH_OK)
		return rc;
	return decode_finish(tx, a, NULL);
}

/*
 * rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value,
 *		data, accessList, yParity, r, s]), after the 0x02 type byte
 */
static int
decode_eip1559(const uint8_t *p, size_t len, const rlp_allocator *a,
			   eth_tx *tx)
{
	rlp_item	f[12];
	int			rc;

	tx->type = ETH_TX_EIP1559;
	if ((rc = split_tx(p, len, f, 12)) != ETH_OK ||
		(rc = get_uint(&f[0], tx->chain_id)) != ETH_OK ||
		(rc = get_uint64_field(&f[1], tx->nonce)) != ETH_OK ||
		(rc = get_uint(&f[2], tx->max_priority_fee_per_gas)) != ETH_OK ||
		(rc = get_uint(&f[3], tx->max_fee_per_gas)) != ETH_OK ||
		(rc = get_uint64_field(&f[4], tx->gas)) != ETH_OK ||
		(rc = get_to(&f[5], tx)) != ETH_OK ||
		(rc = get_uint(&f[6], tx->value)) != ETH_OK ||
		(rc = get_data(&f[7], tx)) != ETH_OK ||
		(rc = get_y_parity(&f[9], tx)) != ETH_OK ||
		(rc = get_signature(&f[10], &f[11], tx)) != ETH_OK)
		return rc;
	if (!f[8].is_list)
		return ETH_ERR_RLP(RLP_ERR_EXPECTED_LIST);
	return decode_finish(tx, a, &f[8]);
}

/*
 * EIP-2718 tells the envelopes apart by the first byte: 0xc0 and above
 * opens a legacy RLP list, 0x00..0x7f is a transaction type.  0x80..0xbf
 * would be an RLP byte string, which is no transaction at all.
 */
int
eth_tx_decode(const uint8_t *raw, size_t len, const rlp_allocator *a,
			  eth_tx *out)
{
	int			rc;

	memset(out, 0, sizeof(*out));
	if (len > ETH_TX_MAX_SIZE)
		return ETH_ERR_TOO_LARGE;
	if (len == 0)
		return ETH_ERR_RLP(RLP_ERR_EMPTY_INPUT);

	if (raw[0] >= 0xc0)
		rc = decode_legacy(raw, len, a, out);
	else if (raw[0] == ETH_TX_EIP1559)
		rc = decode_eip1559(raw + 1, len - 1, a, out);
	else if (raw[0] < 0x80)
		rc = ETH_ERR_UNSUPPORTED_TYPE;
	else
		rc = ETH_ERR_RLP(RLP_ERR_EXPECTED_LIST);

	if (rc != ETH_OK)
	{
		eth_tx_free(out, a);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

void
eth_tx_free(eth_tx *tx, const rlp_allocator *a)
{
	if (tx->owned == NULL)
		return;
	allocator_or_default(a)->free(tx->owned);
	tx->owned = NULL;
	tx->data = NULL;
	tx->data_len = 0;
	tx->access_list = NULL;
	tx->n_access = 0;
}
