/*-------------------------------------------------------------------------
 *
 * frost_keygen.c
 *	  FROST(secp256k1, SHA-256), RFC 9591: trusted-dealer key generation
 *	  (Shamir secret sharing of a given or random secret, with the VSS
 *	  commitment) and the check of a share against that commitment.
 *
 * The dealer follows the RFC's trusted_dealer_keygen (Appendix C) and the
 * check its vss_verify, step by step; the comments keep the RFC's names
 * (polynomial_evaluate, vss_commit).  The polynomial's coefficients are
 * wiped before the dealer returns, and so are the shares when it fails.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "frost_internal.h"

/* ------------------------------------------------------------ key setup */

static int
keygen_check_counts(int min_signers, int max_signers)
{
	if (min_signers < FROST_MIN_SIGNERS)
		return FROST_ERR_MIN_SIGNERS;
	if (max_signers > FROST_MAX_SIGNERS)
		return FROST_ERR_MAX_SIGNERS;
	if (min_signers > max_signers)
		return FROST_ERR_MIN_GT_MAX;
	return FROST_OK;
}

/* coef[0] = secret, coef[1..] = coefficients; given or random, non-zero. */
static int
keygen_coefficients(int min_signers, const uint8_t *secret,
					const uint8_t *coefficients, frost_random_fn random_fn,
					void *random_arg, uint8_t (*coef)[FROST_SCALAR_LEN])
{
	int			j;
	int			rc = FROST_OK;

	for (j = 0; rc == FROST_OK && j < min_signers; j++)
	{
		const uint8_t *given = (j == 0) ? secret :
			(coefficients == NULL ? NULL :
			 coefficients + (size_t) (j - 1) * FROST_SCALAR_LEN);

		if (given == NULL)
			rc = fr_random_scalar(random_fn, random_arg, coef[j]);
		else
		{
			rc = fr_nonzero_scalar_check(given);
			memcpy(coef[j], given, FROST_SCALAR_LEN);
		}
	}
	return rc;
}

/* polynomial_evaluate(x, coeffs) by Horner's rule, then share * G. */
static int
keygen_share(const secp256k1_context *ctx, fr_tools *t,
			 uint8_t (*coef)[FROST_SCALAR_LEN], int min_signers, int x,
			 frost_key_share *share)
{
	uint8_t		xs[FROST_SCALAR_LEN];
	uint8_t    *y = share->signing_share;
	fr_point	p;
	int			j;
	int			rc = FROST_OK;

	fr_identifier_encode(x, xs);
	share->identifier = x;
	memcpy(y, coef[min_signers - 1], FROST_SCALAR_LEN);
	for (j = min_signers - 2; rc == FROST_OK && j >= 0; j--)
		rc = fr_scalar_muladd(t, y, xs, coef[j], y);
	/* a zero share (crafted coefficients) has no encodable public key */
	if (rc == FROST_OK)
		rc = fr_point_base_mul(ctx, y, &p);
	if (rc == FROST_OK)
		rc = fr_point_encode(ctx, &p, share->verifying_share);
	return rc;
}

/* vss_commit(coeffs); its first element is the group public key. */
static int
keygen_commitments(const secp256k1_context *ctx,
				   uint8_t (*coef)[FROST_SCALAR_LEN], int min_signers,
				   uint8_t group_public_key[FROST_ELEMENT_LEN],
				   uint8_t *vss_commitment)
{
	fr_point	p;
	int			j;
	int			rc = FROST_OK;

	for (j = 0; rc == FROST_OK && j < min_signers; j++)
	{
		uint8_t		enc[FROST_ELEMENT_LEN];

		rc = fr_point_base_mul(ctx, coef[j], &p);
		if (rc == FROST_OK)
			rc = fr_point_encode(ctx, &p, enc);
		if (rc == FROST_OK && j == 0)
			memcpy(group_public_key, enc, FROST_ELEMENT_LEN);
		if (rc == FROST_OK && vss_commitment != NULL)
			memcpy(vss_commitment + (size_t) j * FROST_ELEMENT_LEN, enc,
				   FROST_ELEMENT_LEN);
	}
	return rc;
}

int
frost_keygen_dealer(const secp256k1_context *ctx,
					int min_signers, int max_signers,
					const uint8_t *secret, const uint8_t *coefficients,
					frost_random_fn random_fn, void *random_arg,
					frost_key_share *shares,
					uint8_t group_public_key[FROST_ELEMENT_LEN],
					uint8_t *vss_commitment)
{
	uint8_t		coef[FROST_MAX_SIGNERS][FROST_SCALAR_LEN];
	fr_tools	t;
	int			x;
	int			rc;

	if (ctx == NULL || shares == NULL || group_public_key == NULL)
		return FROST_ERR_ARGUMENT;
	rc = keygen_check_counts(min_signers, max_signers);
	if (rc != FROST_OK)
		return rc;
	if ((secret == NULL || coefficients == NULL) && random_fn == NULL)
		return FROST_ERR_ARGUMENT;
	rc = keygen_coefficients(min_signers, secret, coefficients, random_fn,
							 random_arg, coef);
	if (rc == FROST_OK)
		rc = fr_tools_open(&t);
	else
		memset(&t, 0, sizeof(t));
	for (x = 1; rc == FROST_OK && x <= max_signers; x++)
		rc = keygen_share(ctx, &t, coef, min_signers, x, &shares[x - 1]);
	if (rc == FROST_OK)
		rc = keygen_commitments(ctx, coef, min_signers, group_public_key,
								vss_commitment);
	fr_tools_close(&t);
	fr_wipe(coef, sizeof(coef));
	if (rc != FROST_OK)
		fr_wipe(shares, (size_t) max_signers * sizeof(frost_key_share));
	return rc;
}

int
frost_vss_verify(const secp256k1_context *ctx, int identifier,
				 const uint8_t signing_share[FROST_SCALAR_LEN],
				 const uint8_t *vss_commitment, int min_signers)
{
	uint8_t		xs[FROST_SCALAR_LEN];
	uint8_t		power[FROST_SCALAR_LEN];
	secp256k1_pubkey c;
	fr_tools	t;
	fr_point	lhs;
	fr_point	rhs = {1, {{0}}};
	fr_point	term;
	int			j;
	int			rc;

	if (ctx == NULL || signing_share == NULL || vss_commitment == NULL)
		return FROST_ERR_ARGUMENT;
	if (min_signers < FROST_MIN_SIGNERS || min_signers > FROST_MAX_SIGNERS)
		return FROST_ERR_MIN_SIGNERS;
	rc = fr_identifier_check(identifier);
	if (rc == FROST_OK)
		rc = frost_scalar_check(signing_share);
	if (rc != FROST_OK)
		return rc;
	fr_identifier_encode(identifier, xs);
	fr_identifier_encode(1, power);
	rc = fr_tools_open(&t);
	for (j = 0; rc == FROST_OK && j < min_signers; j++)
	{
		/* S_i' += C_j * i^j */
		rc = fr_element_decode(ctx,
							   vss_commitment + (size_t) j * FROST_ELEMENT_LEN,
							   &c);
		if (rc != FROST_OK)
			break;
		fr_point_from_pubkey(&c, &term);
		rc = fr_point_mul(ctx, &term, power, &term);
		if (rc == FROST_OK)
			rc = fr_scalar_muladd(&t, power, xs, NULL, power);
		if (rc == FROST_OK)
			fr_point_add(ctx, &rhs, &term, &rhs);
	}
	fr_tools_close(&t);
	if (rc == FROST_OK)
		rc = fr_point_base_mul(ctx, signing_share, &lhs);
	if (rc != FROST_OK)
		return rc;
	return fr_point_equal(ctx, &lhs, &rhs) ? FROST_OK : FROST_ERR_INVALID_SHARE;
}
