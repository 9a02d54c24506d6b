/*-------------------------------------------------------------------------
 *
 * ethtx.c
 *	  Ethereum transactions: error messages, exact uint256 quantities, and
 *	  the 256-bit helpers and checks that encoding and decoding share.
 *
 * References: EIP-155 (chain id in legacy signatures), EIP-2718 (typed
 * transaction envelope), EIP-2930 (access lists), EIP-1559 (type 2), EIP-2
 * (low-s signatures) and the JSON-RPC QUANTITY encoding.
 *
 * The transactions themselves are encoded in ethtx_encode.c (signing
 * payload, signing hash, signed form) and decoded, strictly, in
 * ethtx_decode.c; ethtx_internal.h has what the three files share.
 *
 *-------------------------------------------------------------------------
 */
#include "ethtx.h"

#include <string.h>

#include "ethtx_internal.h"
#include "hex.h"

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

const rlp_allocator *
ethtx_allocator_or_default(const rlp_allocator *a)
{
	return a ? a : &rlp_malloc_allocator;
}

/* ------------------------------------------------------- 256-bit helpers */

int
ethtx_u256_is_zero(const uint8_t v[U256_LEN])
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
int
ethtx_u256_mul_add_small(uint8_t v[U256_LEN], unsigned mul, unsigned add)
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
unsigned
ethtx_u256_divmod_small(uint8_t v[U256_LEN], unsigned div)
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
void
ethtx_u256_sub_small(uint8_t v[U256_LEN], unsigned sub)
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
		if (ethtx_u256_mul_add_small(v, 10, (unsigned) (s[i] - '0')))
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
		rev[n++] = (char) ('0' + ethtx_u256_divmod_small(w, 10));
	while (!ethtx_u256_is_zero(w));

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

int
ethtx_fits_u64(const uint8_t v[U256_LEN])
{
	uint64_t	ignored;

	return eth_uint256_to_u64(v, &ignored) == ETH_OK;
}

int
ethtx_check_signature(const uint8_t r[U256_LEN], const uint8_t s[U256_LEN])
{
	if (ethtx_u256_is_zero(r) || u256_cmp(r, secp256k1_n) >= 0)
		return ETH_ERR_BAD_SIGNATURE;
	if (ethtx_u256_is_zero(s) || u256_cmp(s, secp256k1_half_n) > 0)
		return ETH_ERR_BAD_SIGNATURE;
	return ETH_OK;
}

