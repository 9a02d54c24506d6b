/*-------------------------------------------------------------------------
 *
 * fuzz_frost.c
 *	  libFuzzer target for the FROST wire parsers and what consumes them.
 *
 * Every input is tried as:
 *
 * 1. A commitment list.  Accepted lists are strictly sorted, re-encode
 *	  to a permutation of the input of the same length, and decode again
 *	  to the same entries; the binding factor, group commitment and
 *	  aggregate code then runs over them (with zero shares) and must
 *	  either succeed or report the identity.  A rejection leaves no
 *	  entries and a culprit that is 0 or an identifier.
 * 2. A signature share list, with the same round-trip properties.
 * 3. A signature (first 65 bytes) over the rest as message, verified
 *	  under a fixed group key: a random input never verifies.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "frost.h"
#include "frost_cmp.h"

/*
 * RFC 9591 E.5's group public key, negated (0x03 for 0x02), so that no
 * signature anyone knows verifies under it: the seed corpus holds the
 * RFC's own signature, one mutation away from its message.
 */
static const uint8_t group_pk[FROST_ELEMENT_LEN] = {
	0x03, 0xf3, 0x7c, 0x34, 0xb6, 0x6c, 0xed, 0x1f, 0xb5, 0x1c, 0x34, 0xa9,
	0x0b, 0xda, 0xe0, 0x06, 0x90, 0x1f, 0x10, 0x62, 0x5c, 0xc0, 0x6c, 0x4f,
	0x64, 0x66, 0x3b, 0x0e, 0xae, 0x87, 0xd8, 0x7b, 0x4f
};

static secp256k1_context *ctx;

/* Sorted, and every input entry appears in the output. */
static void
check_permutation(const uint8_t *in, const uint8_t *enc, size_t n,
				  size_t entry_len)
{
	size_t		i,
				j;

	for (i = 1; i < n; i++)
		if (memcmp(enc + (i - 1) * entry_len, enc + i * entry_len, 32) >= 0)
			abort();
	for (i = 0; i < n; i++)
	{
		for (j = 0; j < n; j++)
			if (memcmp(in + i * entry_len, enc + j * entry_len, entry_len) == 0)
				break;
		if (j == n)
			abort();
	}
}

/*
 * Whether a list decode accepted its input.  Either way the culprit is 0
 * or an identifier; a rejection is negative and leaves no entries.
 */
static int
decode_accepted(int rc, size_t n, int culprit)
{
	if (culprit < 0 || culprit > FROST_MAX_SIGNERS)
		abort();
	if (rc == FROST_OK)
		return 1;
	if (n != 0 || rc >= 0)
		abort();
	return 0;
}

/* Run the signing-session code over an accepted list. */
static void
exercise_session(const frost_commitment *list, size_t n)
{
	static frost_binding_factor bf[FROST_MAX_SIGNERS];
	static frost_signature_share shares[FROST_MAX_SIGNERS];
	uint8_t		R[FROST_ELEMENT_LEN];
	uint8_t		sig[FROST_SIGNATURE_LEN];
	size_t		i;
	int			rc;
	int			culprit;

	if (frost_compute_binding_factors(ctx, group_pk, list, n, NULL, 0, bf,
									  &culprit) != FROST_OK)
		abort();
	for (i = 0; i < n; i++)
		if (bf[i].identifier != list[i].identifier)
			abort();
	rc = frost_group_commitment(ctx, group_pk, list, n, NULL, 0, R, &culprit);
	if (rc != FROST_OK && rc != FROST_ERR_IDENTITY)
		abort();
	for (i = 0; i < n; i++)
	{
		shares[i].identifier = list[n - 1 - i].identifier;
		memset(shares[i].share, 0, FROST_SCALAR_LEN);
	}
	rc = frost_aggregate(ctx, list, n, NULL, 0, group_pk, shares, n, NULL, 0,
						 sig, &culprit);
	if (rc == FROST_OK && memcmp(sig, R, FROST_ELEMENT_LEN) != 0)
		abort();
	if (rc != FROST_OK && rc != FROST_ERR_IDENTITY)
		abort();
}

static void
check_commitment_list(const uint8_t *data, size_t size)
{
	static frost_commitment out[FROST_MAX_SIGNERS];
	static frost_commitment again[FROST_MAX_SIGNERS];
	static uint8_t enc[FROST_MAX_SIGNERS * FROST_COMMITMENT_ENC_LEN];
	size_t		n = 99;
	size_t		n2;
	int			culprit = -1;
	int			rc;

	rc = frost_commitment_list_decode(ctx, data, size, out, FROST_MAX_SIGNERS,
									  &n, &culprit);
	if (!decode_accepted(rc, n, culprit))
		return;
	if (n * FROST_COMMITMENT_ENC_LEN != size)
		abort();
	if (frost_commitment_list_encode(out, n, enc, &culprit) != FROST_OK)
		abort();
	check_permutation(data, enc, n, FROST_COMMITMENT_ENC_LEN);
	if (frost_commitment_list_decode(ctx, enc, size, again, FROST_MAX_SIGNERS,
									 &n2, &culprit) != FROST_OK
		|| n2 != n || !commitments_equal(again, out, n))
		abort();
	exercise_session(out, n);
}

static void
check_share_list(const uint8_t *data, size_t size)
{
	static frost_signature_share out[FROST_MAX_SIGNERS];
	static frost_signature_share again[FROST_MAX_SIGNERS];
	static uint8_t enc[FROST_MAX_SIGNERS * FROST_SHARE_ENC_LEN];
	size_t		n = 99;
	size_t		n2;
	size_t		i;
	int			culprit = -1;
	int			rc;

	rc = frost_share_list_decode(data, size, out, FROST_MAX_SIGNERS, &n,
								 &culprit);
	if (!decode_accepted(rc, n, culprit))
		return;
	for (i = 0; i < n; i++)
		if (frost_scalar_check(out[i].share) != FROST_OK)
			abort();
	if (frost_share_list_encode(out, n, enc, &culprit) != FROST_OK)
		abort();
	check_permutation(data, enc, n, FROST_SHARE_ENC_LEN);
	if (frost_share_list_decode(enc, size, again, FROST_MAX_SIGNERS, &n2,
								&culprit) != FROST_OK
		|| n2 != n || memcmp(again, out, n * sizeof(frost_signature_share)) != 0)
		abort();
}

static void
check_signature(const uint8_t *data, size_t size)
{
	int			rc;

	if (size < FROST_SIGNATURE_LEN)
		return;
	rc = frost_verify(ctx, group_pk, data + FROST_SIGNATURE_LEN,
					  size - FROST_SIGNATURE_LEN, data);
	if (rc == FROST_OK || rc > 0)
		abort();
	if (frost_element_check(ctx, data) == FROST_OK
		&& frost_scalar_check(data + FROST_ELEMENT_LEN) == FROST_OK
		&& rc != FROST_ERR_INVALID_SIGNATURE)
		abort();
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ctx == NULL)
	{
		ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
		if (ctx == NULL)
			abort();
	}
	check_commitment_list(data, size);
	check_share_list(data, size);
	check_signature(data, size);
	return 0;
}
