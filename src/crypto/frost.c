/*-------------------------------------------------------------------------
 *
 * frost.c
 *	  FROST(secp256k1, SHA-256), RFC 9591: trusted-dealer keys, two-round
 *	  signing, share verification, aggregation and verification.
 *
 * The implementation is split by concern: frost_group.c holds the
 * ciphersuite's group and hash primitives (scalars mod n, SHA-256,
 * expand_message_xmd and hash_to_field, points), frost_codec.c the
 * identifier lists and the wire encodings of commitment and signature
 * share lists, frost_sign.c the signing session and what is built on it
 * (binding factors, group commitment, challenge, nonces, commit, sign,
 * share verification, aggregation, verification), frost_keygen.c the
 * trusted dealer and the VSS check.  frost_internal.h declares what they
 * share; this file keeps the error strings and the two helpers all of
 * them use.
 *
 *-------------------------------------------------------------------------
 */
#include <openssl/crypto.h>

#include "frost_internal.h"

const char *
frost_strerror(int err)
{
	switch (err)
	{
		case FROST_OK:
			return "success";
		case FROST_ERR_ARGUMENT:
			return "invalid argument";
		case FROST_ERR_MIN_SIGNERS:
			return "min_signers must be at least 2";
		case FROST_ERR_MAX_SIGNERS:
			return "max_signers must be at most 255";
		case FROST_ERR_MIN_GT_MAX:
			return "min_signers exceeds max_signers";
		case FROST_ERR_SCALAR_RANGE:
			return "scalar is not below the group order";
		case FROST_ERR_ZERO_SCALAR:
			return "scalar is zero";
		case FROST_ERR_IDENTIFIER_ZERO:
			return "identifier is zero";
		case FROST_ERR_IDENTIFIER_RANGE:
			return "identifier is out of range";
		case FROST_ERR_DUPLICATE_IDENTIFIER:
			return "duplicate identifier";
		case FROST_ERR_UNKNOWN_IDENTIFIER:
			return "unknown identifier";
		case FROST_ERR_MISSING_SHARE:
			return "missing signature share";
		case FROST_ERR_INVALID_ELEMENT:
			return "invalid group element";
		case FROST_ERR_IDENTITY:
			return "identity element";
		case FROST_ERR_COMMITMENT_MISMATCH:
			return "commitment does not match the signer's nonces";
		case FROST_ERR_COUNT:
			return "wrong number of entries";
		case FROST_ERR_INVALID_SHARE:
			return "invalid signature share";
		case FROST_ERR_INVALID_SIGNATURE:
			return "invalid signature";
		case FROST_ERR_RANDOM:
			return "random source failed";
		case FROST_ERR_NO_MEMORY:
			return "out of memory";
		case FROST_ERR_INTERNAL:
			return "internal error";
	}
	return "unknown frost error";
}

void
fr_set_culprit(int *culprit, int id)
{
	if (culprit != NULL)
		*culprit = id;
}

void
fr_wipe(void *p, size_t len)
{
	OPENSSL_cleanse(p, len);
}
