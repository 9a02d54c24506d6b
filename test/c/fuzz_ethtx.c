/*-------------------------------------------------------------------------
 *
 * fuzz_ethtx.c
 *	  libFuzzer target for eth_tx_decode and eth_uint256_parse.
 *
 * Every input is tried both ways.
 *
 * 1. Transactions: the decoder is strict, so whatever it accepts is
 *	  canonical, and encoding the decoded fields with the decoded signature
 *	  must give back the input byte for byte.  A rejection leaves a zeroed
 *	  struct, and no input may make the decoder allocate more than a small
 *	  multiple of its own size.
 * 2. Quantities: an accepted number printed back in the same base is the
 *	  input without its leading zeros (and in lower case); the range
 *	  verdict agrees with a plain string comparison against 2^256-1.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "ethtx.h"

static const char max_dec[] =
"115792089237316195423570985008687907853269984665640564039457584007913129639935";

/* The largest single allocation since the last reset. */
static size_t biggest;

static void *
fz_alloc(size_t n)
{
	if (n > biggest)
		biggest = n;
	return malloc(n);
}

static void *
fz_realloc(void *p, size_t n)
{
	if (n > biggest)
		biggest = n;
	return realloc(p, n);
}

static const rlp_allocator fz_allocator = {fz_alloc, fz_realloc, free};

static int
is_zeroed(const eth_tx *tx)
{
	eth_tx		zero;

	memset(&zero, 0, sizeof(zero));
	return memcmp(tx, &zero, sizeof(zero)) == 0;
}

static void
check_transaction(const uint8_t *data, size_t size)
{
	eth_tx		tx;
	uint8_t    *out;
	size_t		out_len;
	uint8_t		hash[32];
	int			rc;

	biggest = 0;
	rc = eth_tx_decode(data, size, &fz_allocator, &tx);
	if (rc != ETH_OK)
	{
		if (rc > 0 || !is_zeroed(&tx) ||
			strstr(eth_strerror(rc), "unknown") != NULL)
			abort();
		return;
	}

	/* one block for data and access list, bounded by the input */
	if (biggest > 3 * size + 64)
		abort();
	if (!tx.has_signature || (tx.y_parity != 0 && tx.y_parity != 1))
		abort();
	if (tx.type == ETH_TX_LEGACY ? tx.n_access != 0 : tx.pre_eip155)
		abort();

	rc = eth_tx_encode_signed(&tx, tx.y_parity, tx.r, tx.s, &fz_allocator,
							  &out, &out_len);
	if (rc != ETH_OK || out_len != size || memcmp(out, data, size) != 0)
		abort();
	free(out);
	if (eth_tx_signing_hash(&tx, &fz_allocator, hash) != ETH_OK)
		abort();
	eth_tx_free(&tx, &fz_allocator);
}

/*
 * The digits of a syntactically valid number without prefix and leading
 * zeros (one zero for zero), lower-cased, into out; returns their count.
 */
static size_t
significant_digits(const char *s, size_t len, int hex, char *out)
{
	size_t		n = 0;
	size_t		i;

	if (hex)
	{
		s += 2;
		len -= 2;
	}
	while (len > 1 && s[0] == '0')
	{
		s++;
		len--;
	}
	for (i = 0; i < len; i++)
		out[n++] = (s[i] >= 'A' && s[i] <= 'F') ? (char) (s[i] + 32) : s[i];
	out[n] = '\0';
	return n;
}

static int
above_max(const char *digits, size_t n, int hex)
{
	if (hex)
		return n > 64;
	return n > 78 || (n == 78 && strcmp(digits, max_dec) > 0);
}

static void
check_accepted(const char *s, size_t size, const uint8_t v[32], int hex,
			   char *digits)
{
	char		dec[ETH_UINT256_DECIMAL_LEN];
	char		q[ETH_UINT256_QUANTITY_LEN];
	uint8_t		back[32];
	size_t		n = significant_digits(s, size, hex, digits);

	if (above_max(digits, n, hex))
		abort();
	eth_uint256_to_decimal(v, dec);
	eth_uint256_to_quantity(v, q);
	if (strcmp(hex ? q + 2 : dec, digits) != 0)
		abort();
	if (eth_uint256_parse(dec, strlen(dec), back) != ETH_OK ||
		memcmp(back, v, 32) != 0)
		abort();
	if (eth_uint256_parse(q, strlen(q), back) != ETH_OK ||
		memcmp(back, v, 32) != 0)
		abort();
}

static void
check_quantity(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	int			hex = size >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	uint8_t		v[32];
	uint8_t		ignored[32];
	char	   *digits = malloc(size + 1);
	int			rc;

	if (digits == NULL)
		abort();
	rc = eth_uint256_parse(s, size, v);
	switch (rc)
	{
		case ETH_OK:
			check_accepted(s, size, v, hex, digits);
			break;
		case ETH_ERR_OUT_OF_RANGE:
			if (!above_max(digits, significant_digits(s, size, hex, digits),
						   hex))
				abort();
			break;
		case ETH_ERR_NEGATIVE:
			rc = eth_uint256_parse(s + 1, size - 1, ignored);
			if (s[0] != '-' || (rc != ETH_OK && rc != ETH_ERR_OUT_OF_RANGE))
				abort();
			break;
		case ETH_ERR_INVALID_NUMBER:
			break;
		default:
			abort();
	}
	free(digits);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_transaction(data, size);
	check_quantity(data, size);
	return 0;
}
