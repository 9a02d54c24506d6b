/*-------------------------------------------------------------------------
 *
 * test_frost.c
 *	  Unit tests for src/crypto/frost: FROST(secp256k1, SHA-256), RFC 9591.
 *
 * Plain C, no framework.  Prints one line per failure and, last, exactly
 * "N passed, M failed"; exits non-zero if anything failed.
 *
 * Vectors: RFC 9591 appendix E.5, FROST(secp256k1, SHA-256), copied from
 * the CFRG draft repository's poc/frost-secp256k1-sha256.json
 * (github.com/cfrg/draft-irtf-cfrg-frost, commit 127452b, file last
 * changed in 4e1c5db "Finalize vectors"); the values are identical to the
 * draft text's "FROST(secp256k1, SHA-256)" test vector section, which
 * became the RFC's appendix.  Every intermediate value is compared byte
 * for byte: dealer shares and group key, nonces from the given
 * randomness, commitments, binding factor inputs and binding factors,
 * signature shares and the final signature.
 *
 * The rest are properties: every signer subset of random (2,3) and (3,5)
 * groups signs, smaller subsets do not, cheaters are named, and bad
 * inputs give the documented error and culprit.  Randomness comes from a
 * fixed xorshift so failures reproduce.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>

#include "check.h"
#include "frost.h"
#include "frost_cmp.h"

static secp256k1_context *ctx;

/* frost_random_fn over the test generator. */
static int
test_random(void *arg, uint8_t *buf, size_t len)
{
	(void) arg;
	rng_fill(buf, len);
	return 1;
}

static int
failing_random(void *arg, uint8_t *buf, size_t len)
{
	(void) arg;
	(void) buf;
	(void) len;
	return 0;
}

/* A broken source: always 0xff..., which is above the group order. */
static int
stuck_random(void *arg, uint8_t *buf, size_t len)
{
	(void) arg;
	memset(buf, 0xff, len);
	return 1;
}

static const char order_hex[] =
"fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

/* ------------------------------------------------------ RFC 9591 E.5 */

static const char v_group_secret[] =
"0d004150d27c3bf2a42f312683d35fac7394b1e9e318249c1bfe7f0795a83114";
static const char v_group_public[] =
"02f37c34b66ced1fb51c34a90bdae006901f10625cc06c4f64663b0eae87d87b4f";
static const char v_message[] = "74657374";
static const char v_coefficient[] =
"fbf85eadae3058ea14f19148bb72b45e4399c0b16028acaf0395c9b03c823579";
static const char *const v_shares[3] = {
	"08f89ffe80ac94dcb920c26f3f46140bfc7f95b493f8310f5fc1ea2b01f4254c",
	"04f0feac2edcedc6ce1253b7fab8c86b856a797f44d83d82a385554e6e401984",
	"00e95d59dd0d46b0e303e500b62b7ccb0e555d49f5b849f5e748c071da8c0dbc"
};

typedef struct
{
	int			id;
	const char *hiding_randomness;
	const char *binding_randomness;
	const char *hiding_nonce;
	const char *binding_nonce;
	const char *hiding_commitment;
	const char *binding_commitment;
	const char *binding_factor_input;
	const char *binding_factor;
	const char *sig_share;
} rfc_signer;

static const rfc_signer v_signers[2] = {
	{
		1,
		"7ea5ed09af19f6ff21040c07ec2d2adbd35b759da5a401d4c99dd26b82391cb2",
		"47acab018f116020c10cb9b9abdc7ac10aae1b48ca6e36dc15acb6ec9be5cdc5",
		"841d3a6450d7580b4da83c8e618414d0f024391f2aeb511d7579224420aa81f0",
		"8d2624f532af631377f33cf44b5ac5f849067cae2eacb88680a31e77c79b5a80",
		"03c699af97d26bb4d3f05232ec5e1938c12f1e6ae97643c8f8f11c9820303f1904",
		"02fa2aaccd51b948c9dc1a325d77226e98a5a3fe65fe9ba213761a60123040a45e",
		"02f37c34b66ced1fb51c34a90bdae006901f10625cc06c4f64663b0eae87d87b4f"
		"ff9b5210ffbb3c07a73a7c8935be4a8c62cf015f6cf7ade6efac09a6513540fc"
		"3f5a816aaebc2114a811a415d7a55db7c5cbc1cf27183e79dd9def941b5d4801"
		"0000000000000000000000000000000000000000000000000000000000000001",
		"3e08fe561e075c653cbfd46908a10e7637c70c74f0a77d5fd45d1a750c739ec6",
		"c4fce1775a1e141fb579944166eab0d65eefe7b98d480a569bbbfcb14f91c197"
	},
	{
		3,
		"e6cc56ccbd0502b3f6f831d91e2ebd01c4de0479e0191b66895a4ffd9b68d544",
		"7203d55eb82a5ca0d7d83674541ab55f6e76f1b85391d2c13706a89a064fd5b9",
		"2b19b13f193f4ce83a399362a90cdc1e0ddcd83e57089a7af0bdca71d47869b2",
		"7a443bde83dc63ef52dda354005225ba0e553243402a4705ce28ffaafe0f5b98",
		"03077507ba327fc074d2793955ef3410ee3f03b82b4cdc2370f71d865beb926ef6",
		"02ad53031ddfbbacfc5fbda3d3b0c2445c8e3e99cbc4ca2db2aa283fa68525b135",
		"02f37c34b66ced1fb51c34a90bdae006901f10625cc06c4f64663b0eae87d87b4f"
		"ff9b5210ffbb3c07a73a7c8935be4a8c62cf015f6cf7ade6efac09a6513540fc"
		"3f5a816aaebc2114a811a415d7a55db7c5cbc1cf27183e79dd9def941b5d4801"
		"0000000000000000000000000000000000000000000000000000000000000003",
		"93f79041bb3fd266105be251adaeb5fd7f8b104fb554a4ba9a0becea48ddbfd7",
		"0160fd0d388932f4826d2ebcd6b9eaba734f7c71cf25b4279a4ca2581e47b18d"
	}
};

static const char v_signature[] =
"0205b6d04d3774c8929413e3c76024d54149c372d57aae62574ed74319b5ea14d0"
"c65dde8492a7471437e6c2fe3da49b90d23f642b5c6dbe7e36089f096dd97324";

/* The vector's state, filled by the first test and used by the others. */
static frost_key_share rfc_keys[3];
static uint8_t rfc_pk[FROST_ELEMENT_LEN];
static uint8_t rfc_msg[4];
static uint8_t rfc_nonces[2][2][FROST_SCALAR_LEN];	/* [signer][hiding,
													 * binding] */
static frost_commitment rfc_commitments[2];

static void
test_rfc_keygen(void)
{
	uint8_t		secret[32];
	uint8_t		coef[32];
	uint8_t		vss[2 * FROST_ELEMENT_LEN];
	int			i;

	unhex(v_group_secret, secret, sizeof(secret));
	unhex(v_coefficient, coef, sizeof(coef));
	unhex(v_message, rfc_msg, sizeof(rfc_msg));
	CHECK_INT(frost_keygen_dealer(ctx, 2, 3, secret, coef, NULL, NULL,
								  rfc_keys, rfc_pk, vss), FROST_OK);
	CHECK_HEX(rfc_pk, FROST_ELEMENT_LEN, v_group_public);
	CHECK(memcmp(vss, rfc_pk, FROST_ELEMENT_LEN) == 0);
	for (i = 0; i < 3; i++)
	{
		CHECK_INT(rfc_keys[i].identifier, i + 1);
		CHECK_HEX(rfc_keys[i].signing_share, 32, v_shares[i]);
		CHECK_INT(frost_vss_verify(ctx, i + 1, rfc_keys[i].signing_share,
								   vss, 2), FROST_OK);
	}
	/* a share checked under someone else's identifier fails */
	CHECK_INT(frost_vss_verify(ctx, 2, rfc_keys[0].signing_share, vss, 2),
			  FROST_ERR_INVALID_SHARE);
}

static void
test_rfc_round_one(void)
{
	int			k;

	for (k = 0; k < 2; k++)
	{
		const rfc_signer *v = &v_signers[k];
		const uint8_t *share = rfc_keys[v->id - 1].signing_share;
		uint8_t		rnd[32];
		frost_commitment *c = &rfc_commitments[k];

		unhex(v->hiding_randomness, rnd, sizeof(rnd));
		CHECK_INT(frost_nonce_generate(rnd, share, rfc_nonces[k][0]), FROST_OK);
		CHECK_HEX(rfc_nonces[k][0], 32, v->hiding_nonce);
		unhex(v->binding_randomness, rnd, sizeof(rnd));
		CHECK_INT(frost_nonce_generate(rnd, share, rfc_nonces[k][1]), FROST_OK);
		CHECK_HEX(rfc_nonces[k][1], 32, v->binding_nonce);

		c->identifier = v->id;
		CHECK_INT(frost_commit(ctx, rfc_nonces[k][0], rfc_nonces[k][1],
							   c->hiding, c->binding), FROST_OK);
		CHECK_HEX(c->hiding, FROST_ELEMENT_LEN, v->hiding_commitment);
		CHECK_HEX(c->binding, FROST_ELEMENT_LEN, v->binding_commitment);
	}
}

static void
test_rfc_binding_factors(void)
{
	frost_commitment reversed[2];
	frost_binding_factor bf[2];
	int			pass;
	int			k;

	reversed[0] = rfc_commitments[1];
	reversed[1] = rfc_commitments[0];
	/* the order of the list given must not matter */
	for (pass = 0; pass < 2; pass++)
	{
		const frost_commitment *list = pass == 0 ? rfc_commitments : reversed;

		memset(bf, 0, sizeof(bf));
		CHECK_INT(frost_compute_binding_factors(ctx, rfc_pk, list, 2, rfc_msg,
												4, bf, NULL), FROST_OK);
		for (k = 0; k < 2; k++)
		{
			CHECK_INT(bf[k].identifier, v_signers[k].id);
			CHECK_HEX(bf[k].input, FROST_BINDING_INPUT_LEN,
					  v_signers[k].binding_factor_input);
			CHECK_HEX(bf[k].factor, 32, v_signers[k].binding_factor);
		}
	}
}

static void
test_rfc_round_two(void)
{
	frost_commitment reversed[2];
	frost_signature_share shares[2];
	frost_verifying_share vs[3];
	uint8_t		R[FROST_ELEMENT_LEN];
	uint8_t		sig[FROST_SIGNATURE_LEN];
	int			culprit = -1;
	int			k;

	reversed[0] = rfc_commitments[1];
	reversed[1] = rfc_commitments[0];
	for (k = 0; k < 2; k++)
	{
		int			id = v_signers[k].id;

		shares[k].identifier = id;
		CHECK_INT(frost_sign(ctx, id, rfc_keys[id - 1].signing_share, rfc_pk,
							 rfc_nonces[k][0], rfc_nonces[k][1],
							 k == 0 ? rfc_commitments : reversed, 2,
							 rfc_msg, 4, shares[k].share, &culprit), FROST_OK);
		CHECK_INT(culprit, 0);
		CHECK_HEX(shares[k].share, 32, v_signers[k].sig_share);
		CHECK_INT(frost_verify_signature_share(ctx, id,
											   rfc_keys[id - 1].verifying_share,
											   shares[k].share, rfc_commitments,
											   2, rfc_pk, rfc_msg, 4, NULL),
				  FROST_OK);
	}
	for (k = 0; k < 3; k++)
	{
		vs[k].identifier = rfc_keys[k].identifier;
		memcpy(vs[k].element, rfc_keys[k].verifying_share, FROST_ELEMENT_LEN);
	}

	CHECK_INT(frost_group_commitment(ctx, rfc_pk, rfc_commitments, 2, rfc_msg,
									 4, R, NULL), FROST_OK);
	CHECK_HEX(R, FROST_ELEMENT_LEN,
			  "0205b6d04d3774c8929413e3c76024d54149c372d57aae62574ed74319b5ea14d0");

	CHECK_INT(frost_aggregate(ctx, reversed, 2, rfc_msg, 4, rfc_pk, shares, 2,
							  NULL, 0, sig, &culprit), FROST_OK);
	CHECK_HEX(sig, FROST_SIGNATURE_LEN, v_signature);
	memset(sig, 0, sizeof(sig));
	CHECK_INT(frost_aggregate(ctx, rfc_commitments, 2, rfc_msg, 4, rfc_pk,
							  shares, 2, vs, 3, sig, &culprit), FROST_OK);
	CHECK_HEX(sig, FROST_SIGNATURE_LEN, v_signature);
	CHECK_INT(frost_verify(ctx, rfc_pk, rfc_msg, 4, sig), FROST_OK);
}

/* The verification equation, recomputed with libsecp256k1 directly. */
static void
test_rfc_signature_equation(void)
{
	uint8_t		sig[FROST_SIGNATURE_LEN];
	uint8_t		c[32];
	secp256k1_pubkey pk,
				R,
				lhs,
				rhs;
	const secp256k1_pubkey *ins[2];

	unhex(v_signature, sig, sizeof(sig));
	CHECK_INT(frost_challenge(sig, rfc_pk, rfc_msg, 4, c), FROST_OK);
	CHECK(secp256k1_ec_pubkey_parse(ctx, &pk, rfc_pk, 33));
	CHECK(secp256k1_ec_pubkey_parse(ctx, &R, sig, 33));
	CHECK(secp256k1_ec_pubkey_create(ctx, &lhs, sig + 33));
	CHECK(secp256k1_ec_pubkey_tweak_mul(ctx, &pk, c));
	ins[0] = &R;
	ins[1] = &pk;
	CHECK(secp256k1_ec_pubkey_combine(ctx, &rhs, ins, 2));
	CHECK(secp256k1_ec_pubkey_cmp(ctx, &lhs, &rhs) == 0);
}

/* lambda_1 = 3/2 and lambda_3 = -1/2 for {1, 3}: sum 1, s = sum lambda_i s_i */
static void
test_rfc_lagrange(void)
{
	static const int ids[2] = {1, 3};
	uint8_t		l1[32],
				l3[32];

	CHECK_INT(frost_lagrange_coefficient(1, ids, 2, l1), FROST_OK);
	CHECK_INT(frost_lagrange_coefficient(3, ids, 2, l3), FROST_OK);
	/* 3/2 mod n = (n + 3) / 2 */
	CHECK_HEX(l1, 32,
			  "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a2");
	/* -1/2 mod n = (n - 1) / 2 */
	CHECK_HEX(l3, 32,
			  "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0");
	CHECK_INT(frost_lagrange_coefficient(2, ids, 2, l1),
			  FROST_ERR_UNKNOWN_IDENTIFIER);
	{
		static const int dup[3] = {1, 3, 1};

		CHECK_INT(frost_lagrange_coefficient(1, dup, 3, l1),
				  FROST_ERR_DUPLICATE_IDENTIFIER);
	}
	{
		static const int zero[2] = {0, 3};

		CHECK_INT(frost_lagrange_coefficient(3, zero, 2, l1),
				  FROST_ERR_IDENTIFIER_ZERO);
	}
}

/* ------------------------------------------------------ random groups */

typedef struct
{
	int			min;
	int			max;
	frost_key_share keys[FROST_MAX_SIGNERS];
	frost_verifying_share vs[FROST_MAX_SIGNERS];
	uint8_t		pk[FROST_ELEMENT_LEN];
	uint8_t		vss[FROST_MAX_SIGNERS * FROST_ELEMENT_LEN];
} test_group;

static test_group *
make_group(int min, int max)
{
	test_group *g = calloc(1, sizeof(test_group));
	int			i;

	if (g == NULL)
		abort();
	g->min = min;
	g->max = max;
	CHECK_INT(frost_keygen_dealer(ctx, min, max, NULL, NULL, test_random,
								  NULL, g->keys, g->pk, g->vss), FROST_OK);
	for (i = 0; i < max; i++)
	{
		g->vs[i].identifier = g->keys[i].identifier;
		memcpy(g->vs[i].element, g->keys[i].verifying_share,
			   FROST_ELEMENT_LEN);
	}
	return g;
}

/* Options for one signing run. */
typedef struct
{
	int			tamper_id;		/* add 1 to this signer's share, 0 = none */
	int			use_vs;			/* give aggregate the verifying shares */
} sign_opts;

/*
 * One full signing by ids[0..k-1]: nonces, commitments (handed to every
 * call in a rotated order), shares, aggregate.  Returns aggregate's code.
 */
static int
run_signing(const test_group *g, const int *ids, size_t k,
			const uint8_t *msg, size_t msg_len, const sign_opts *o,
			uint8_t sig[FROST_SIGNATURE_LEN], int *culprit)
{
	uint8_t		nonces[FROST_MAX_SIGNERS][2][32];
	frost_commitment list[FROST_MAX_SIGNERS];
	frost_commitment rotated[FROST_MAX_SIGNERS];
	frost_signature_share shares[FROST_MAX_SIGNERS];
	size_t		i;
	int			ok = 1;

	for (i = 0; i < k; i++)
	{
		const uint8_t *s = g->keys[ids[i] - 1].signing_share;
		uint8_t		rnd[32];

		rng_fill(rnd, 32);
		ok &= frost_nonce_generate(rnd, s, nonces[i][0]) == FROST_OK;
		rng_fill(rnd, 32);
		ok &= frost_nonce_generate(rnd, s, nonces[i][1]) == FROST_OK;
		list[i].identifier = ids[i];
		ok &= frost_commit(ctx, nonces[i][0], nonces[i][1], list[i].hiding,
						   list[i].binding) == FROST_OK;
	}
	for (i = 0; i < k; i++)
		rotated[i] = list[(i + 1) % k];
	for (i = 0; i < k; i++)
	{
		shares[i].identifier = ids[i];
		ok &= frost_sign(ctx, ids[i], g->keys[ids[i] - 1].signing_share,
						 g->pk, nonces[i][0], nonces[i][1],
						 i % 2 ? rotated : list, k, msg, msg_len,
						 shares[i].share, NULL) == FROST_OK;
		if (ids[i] == o->tamper_id)
			shares[i].share[31] ^= 1;
	}
	CHECK(ok);
	return frost_aggregate(ctx, rotated, k, msg, msg_len, g->pk, shares, k,
						   o->use_vs ? g->vs : NULL,
						   o->use_vs ? (size_t) g->max : 0, sig, culprit);
}

/* Every subset of {1..max} (as a bit mask) of at least min - 1 members. */
static void
check_all_subsets(const test_group *g)
{
	static const uint8_t msg[] = "pay 1 BTC to bob";
	unsigned int mask;
	int			good = 1;
	int			bad = 1;
	int			tried = 0;

	for (mask = 1; mask < (1u << g->max); mask++)
	{
		int			ids[FROST_MAX_SIGNERS];
		size_t		k = 0;
		int			i;
		uint8_t		sig[FROST_SIGNATURE_LEN];
		sign_opts	o = {0, (int) (mask & 1)};
		int			rc;

		for (i = 0; i < g->max; i++)
			if (mask & (1u << i))
				ids[k++] = i + 1;
		if ((int) k < g->min - 1)
			continue;
		tried++;
		rc = run_signing(g, ids, k, msg, sizeof(msg) - 1, &o, sig, NULL);
		if ((int) k >= g->min)
			good &= rc == FROST_OK
				&& frost_verify(ctx, g->pk, msg, sizeof(msg) - 1, sig) == FROST_OK;
		else
			bad &= rc == FROST_OK
				&& frost_verify(ctx, g->pk, msg, sizeof(msg) - 1, sig)
				== FROST_ERR_INVALID_SIGNATURE;
	}
	CHECK(tried > 0);
	CHECK(good);
	CHECK(bad);
}

static void
check_cheater(const test_group *g)
{
	static const uint8_t msg[] = "withdraw";
	int			ids[FROST_MAX_SIGNERS];
	uint8_t		sig[FROST_SIGNATURE_LEN];
	sign_opts	o;
	int			culprit = -1;
	int			i;

	for (i = 0; i < g->min; i++)
		ids[i] = g->max - i;	/* the top min identifiers */

	/* caught by share verification, and named */
	o.tamper_id = ids[1];
	o.use_vs = 1;
	CHECK_INT(run_signing(g, ids, g->min, msg, 8, &o, sig, &culprit),
			  FROST_ERR_INVALID_SHARE);
	CHECK_INT(culprit, ids[1]);

	/* without verifying shares the aggregate is produced but is invalid */
	o.use_vs = 0;
	CHECK_INT(run_signing(g, ids, g->min, msg, 8, &o, sig, &culprit), FROST_OK);
	CHECK_INT(frost_verify(ctx, g->pk, msg, 8, sig), FROST_ERR_INVALID_SIGNATURE);

	/* an honest run verifies; then message and signature are bound */
	o.tamper_id = 0;
	CHECK_INT(run_signing(g, ids, g->min, msg, 8, &o, sig, &culprit), FROST_OK);
	CHECK_INT(frost_verify(ctx, g->pk, msg, 8, sig), FROST_OK);
	CHECK_INT(frost_verify(ctx, g->pk, msg, 7, sig), FROST_ERR_INVALID_SIGNATURE);
	sig[FROST_SIGNATURE_LEN - 1] ^= 0x80;
	CHECK_INT(frost_verify(ctx, g->pk, msg, 8, sig), FROST_ERR_INVALID_SIGNATURE);
	sig[FROST_SIGNATURE_LEN - 1] ^= 0x80;
	CHECK_INT(frost_verify(ctx, g->vs[0].element, msg, 8, sig),
			  FROST_ERR_INVALID_SIGNATURE);
}

static void
check_group_shares(const test_group *g)
{
	int			ok = 1;
	int			i;
	uint8_t		bad[32];

	for (i = 0; i < g->max; i++)
		ok &= frost_vss_verify(ctx, i + 1, g->keys[i].signing_share, g->vss,
							   g->min) == FROST_OK;
	CHECK(ok);
	memcpy(bad, g->keys[0].signing_share, 32);
	bad[0] ^= 0x01;
	CHECK_INT(frost_vss_verify(ctx, 1, bad, g->vss, g->min),
			  FROST_ERR_INVALID_SHARE);
	CHECK(memcmp(g->vss, g->pk, FROST_ELEMENT_LEN) == 0);
}

static void
test_random_groups(void)
{
	static const int sizes[][2] = {{2, 3}, {3, 5}, {2, 2}, {4, 4}};
	size_t		i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
	{
		test_group *g = make_group(sizes[i][0], sizes[i][1]);

		check_group_shares(g);
		check_all_subsets(g);
		check_cheater(g);
		free(g);
	}
}

/* The largest group: identifiers 1 and 255 sign for a 2-of-255 key. */
static void
test_max_group(void)
{
	static const int ids[2] = {255, 1};
	test_group *g = make_group(2, FROST_MAX_SIGNERS);
	uint8_t		sig[FROST_SIGNATURE_LEN];
	sign_opts	o = {0, 1};

	CHECK_INT(g->keys[254].identifier, 255);
	CHECK_INT(frost_vss_verify(ctx, 255, g->keys[254].signing_share, g->vss,
							   2), FROST_OK);
	CHECK_INT(run_signing(g, ids, 2, NULL, 0, &o, sig, NULL), FROST_OK);
	CHECK_INT(frost_verify(ctx, g->pk, NULL, 0, sig), FROST_OK);
	free(g);
}

/* ---------------------------------------------------------- bad input */

static void
test_keygen_errors(void)
{
	frost_key_share keys[FROST_MAX_SIGNERS];
	uint8_t		pk[FROST_ELEMENT_LEN];
	uint8_t		s[32];
	uint8_t		coefs[2 * 32];

	rng_fill(s, 32);
	s[0] = 0x11;
	memset(coefs, 0x22, sizeof(coefs));
	CHECK_INT(frost_keygen_dealer(ctx, 1, 3, s, coefs, NULL, NULL, keys, pk,
								  NULL), FROST_ERR_MIN_SIGNERS);
	CHECK_INT(frost_keygen_dealer(ctx, 0, 3, s, coefs, NULL, NULL, keys, pk,
								  NULL), FROST_ERR_MIN_SIGNERS);
	CHECK_INT(frost_keygen_dealer(ctx, -2, 3, s, coefs, NULL, NULL, keys, pk,
								  NULL), FROST_ERR_MIN_SIGNERS);
	CHECK_INT(frost_keygen_dealer(ctx, 2, 256, s, coefs, NULL, NULL, keys, pk,
								  NULL), FROST_ERR_MAX_SIGNERS);
	CHECK_INT(frost_keygen_dealer(ctx, 3, 2, s, coefs, NULL, NULL, keys, pk,
								  NULL), FROST_ERR_MIN_GT_MAX);
	CHECK_INT(frost_keygen_dealer(ctx, 2, 255, s, coefs, NULL, NULL, keys, pk,
								  NULL), FROST_OK);
	CHECK_INT(frost_keygen_dealer(NULL, 2, 3, s, coefs, NULL, NULL, keys, pk,
								  NULL), FROST_ERR_ARGUMENT);
	/* randomness needed but no source */
	CHECK_INT(frost_keygen_dealer(ctx, 2, 3, s, NULL, NULL, NULL, keys, pk,
								  NULL), FROST_ERR_ARGUMENT);
	CHECK_INT(frost_keygen_dealer(ctx, 2, 3, NULL, NULL, failing_random, NULL,
								  keys, pk, NULL), FROST_ERR_RANDOM);
	CHECK_INT(frost_keygen_dealer(ctx, 2, 3, NULL, NULL, stuck_random, NULL,
								  keys, pk, NULL), FROST_ERR_RANDOM);
	/* the secret given, the coefficient random */
	CHECK_INT(frost_keygen_dealer(ctx, 2, 3, s, NULL, test_random, NULL, keys,
								  pk, NULL), FROST_OK);

	memset(s, 0, 32);
	CHECK_INT(frost_keygen_dealer(ctx, 2, 3, s, coefs, NULL, NULL, keys, pk,
								  NULL), FROST_ERR_ZERO_SCALAR);
	unhex(order_hex, s, 32);
	CHECK_INT(frost_keygen_dealer(ctx, 2, 3, s, coefs, NULL, NULL, keys, pk,
								  NULL), FROST_ERR_SCALAR_RANGE);
	/* failure wipes whatever shares were written */
	CHECK(keys[0].identifier == 0 && keys[0].signing_share[0] == 0);
	s[0] = 0x11;
	memset(coefs + 32, 0, 32);
	CHECK_INT(frost_keygen_dealer(ctx, 3, 3, s, coefs, NULL, NULL, keys, pk,
								  NULL), FROST_ERR_ZERO_SCALAR);
	unhex(order_hex, coefs, 32);
	CHECK_INT(frost_keygen_dealer(ctx, 2, 3, s, coefs, NULL, NULL, keys, pk,
								  NULL), FROST_ERR_SCALAR_RANGE);
}

static void
test_scalar_element_checks(void)
{
	uint8_t		b[33];
	uint8_t		nonce[32];
	uint8_t		c1[33],
				c2[33];

	unhex(order_hex, b, 32);
	CHECK_INT(frost_scalar_check(b), FROST_ERR_SCALAR_RANGE);
	b[31] = 0x40;				/* n - 1 */
	CHECK_INT(frost_scalar_check(b), FROST_OK);
	memset(b, 0xff, 32);
	CHECK_INT(frost_scalar_check(b), FROST_ERR_SCALAR_RANGE);
	memset(b, 0, 32);
	CHECK_INT(frost_scalar_check(b), FROST_OK);

	/* nonces: zero and n are refused */
	CHECK_INT(frost_commit(ctx, b, rfc_nonces[0][1], c1, c2),
			  FROST_ERR_ZERO_SCALAR);
	unhex(order_hex, nonce, 32);
	CHECK_INT(frost_commit(ctx, rfc_nonces[0][0], nonce, c1, c2),
			  FROST_ERR_SCALAR_RANGE);
	CHECK_INT(frost_nonce_generate(b, nonce, c1), FROST_ERR_SCALAR_RANGE);

	memset(b, 0, 33);
	CHECK_INT(frost_element_check(ctx, b), FROST_ERR_IDENTITY);
	memcpy(b, rfc_pk, 33);
	CHECK_INT(frost_element_check(ctx, b), FROST_OK);
	b[0] = 0x04;
	CHECK_INT(frost_element_check(ctx, b), FROST_ERR_INVALID_ELEMENT);
	b[0] = 0x05;
	CHECK_INT(frost_element_check(ctx, b), FROST_ERR_INVALID_ELEMENT);
	/* x = p is not a field element; x = 5 has no square root of x^3 + 7 */
	unhex("02fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f",
		  b, 33);
	CHECK_INT(frost_element_check(ctx, b), FROST_ERR_INVALID_ELEMENT);
	unhex("020000000000000000000000000000000000000000000000000000000000000005",
		  b, 33);
	CHECK_INT(frost_element_check(ctx, b), FROST_ERR_INVALID_ELEMENT);
	/* x = 1 is on the curve, with either y */
	unhex("030000000000000000000000000000000000000000000000000000000000000001",
		  b, 33);
	CHECK_INT(frost_element_check(ctx, b), FROST_OK);
}

/* A copy of the RFC commitments with one field changed. */
static void
rfc_list_copy(frost_commitment *out)
{
	memcpy(out, rfc_commitments, sizeof(rfc_commitments));
}

static void
test_commitment_errors(void)
{
	frost_commitment list[3];
	uint8_t		share[32];
	uint8_t		R[33];
	int			culprit;
	const uint8_t *s1 = rfc_keys[0].signing_share;

#define SIGN1(lst, n) \
	frost_sign(ctx, 1, s1, rfc_pk, rfc_nonces[0][0], rfc_nonces[0][1], \
			   (lst), (n), rfc_msg, 4, share, &culprit)

	rfc_list_copy(list);
	memset(list[1].hiding, 0, 33);
	CHECK_INT(SIGN1(list, 2), FROST_ERR_IDENTITY);
	CHECK_INT(culprit, 3);
	rfc_list_copy(list);
	memset(list[1].binding, 0, 33);
	CHECK_INT(frost_group_commitment(ctx, rfc_pk, list, 2, rfc_msg, 4, R,
									 &culprit), FROST_ERR_IDENTITY);
	CHECK_INT(culprit, 3);
	rfc_list_copy(list);
	list[1].binding[0] = 0x04;
	CHECK_INT(SIGN1(list, 2), FROST_ERR_INVALID_ELEMENT);
	CHECK_INT(culprit, 3);

	rfc_list_copy(list);
	list[1].identifier = 0;
	CHECK_INT(SIGN1(list, 2), FROST_ERR_IDENTIFIER_ZERO);
	CHECK_INT(culprit, 0);
	list[1].identifier = 256;
	CHECK_INT(SIGN1(list, 2), FROST_ERR_IDENTIFIER_RANGE);
	CHECK_INT(culprit, 256);
	list[1].identifier = -3;
	CHECK_INT(SIGN1(list, 2), FROST_ERR_IDENTIFIER_RANGE);
	list[1].identifier = 1;
	CHECK_INT(SIGN1(list, 2), FROST_ERR_DUPLICATE_IDENTIFIER);
	CHECK_INT(culprit, 1);

	/* the signer is not in the list, or its commitments were replaced */
	rfc_list_copy(list);
	list[0].identifier = 2;
	CHECK_INT(SIGN1(list, 2), FROST_ERR_UNKNOWN_IDENTIFIER);
	CHECK_INT(culprit, 1);
	rfc_list_copy(list);
	memcpy(list[0].hiding, rfc_commitments[1].hiding, 33);
	CHECK_INT(SIGN1(list, 2), FROST_ERR_COMMITMENT_MISMATCH);
	CHECK_INT(culprit, 1);
	rfc_list_copy(list);
	memcpy(list[0].binding, rfc_commitments[0].hiding, 33);
	CHECK_INT(SIGN1(list, 2), FROST_ERR_COMMITMENT_MISMATCH);

	/* counts, NULLs, the group key and the secret share */
	rfc_list_copy(list);
	CHECK_INT(SIGN1(list, 0), FROST_ERR_COUNT);
	CHECK_INT(SIGN1(list, 256), FROST_ERR_COUNT);
	CHECK_INT(SIGN1(NULL, 2), FROST_ERR_ARGUMENT);
	CHECK_INT(frost_sign(ctx, 1, s1, rfc_pk, rfc_nonces[0][0],
						 rfc_nonces[0][1], list, 2, NULL, 4, share, &culprit),
			  FROST_ERR_ARGUMENT);
	{
		uint8_t		badpk[33];
		uint8_t		bigs[32];

		memset(badpk, 0, 33);
		CHECK_INT(frost_sign(ctx, 1, s1, badpk, rfc_nonces[0][0],
							 rfc_nonces[0][1], list, 2, rfc_msg, 4, share,
							 &culprit), FROST_ERR_IDENTITY);
		unhex(order_hex, bigs, 32);
		CHECK_INT(frost_sign(ctx, 1, bigs, rfc_pk, rfc_nonces[0][0],
							 rfc_nonces[0][1], list, 2, rfc_msg, 4, share,
							 &culprit), FROST_ERR_SCALAR_RANGE);
	}
	CHECK_INT(SIGN1(list, 2), FROST_OK);
	CHECK_HEX(share, 32, v_signers[0].sig_share);
#undef SIGN1
}

static void
rfc_shares(frost_signature_share *shares)
{
	int			k;

	for (k = 0; k < 2; k++)
	{
		shares[k].identifier = v_signers[k].id;
		unhex(v_signers[k].sig_share, shares[k].share, 32);
	}
}

static void
test_aggregate_errors(void)
{
	frost_signature_share shares[3];
	frost_verifying_share vs[3];
	uint8_t		sig[FROST_SIGNATURE_LEN];
	int			culprit;
	int			k;

#define AGG(nsh, vsp, nvs) \
	frost_aggregate(ctx, rfc_commitments, 2, rfc_msg, 4, rfc_pk, shares, \
					(nsh), (vsp), (nvs), sig, &culprit)

	for (k = 0; k < 3; k++)
	{
		vs[k].identifier = k + 1;
		memcpy(vs[k].element, rfc_keys[k].verifying_share, 33);
	}
	rfc_shares(shares);
	CHECK_INT(AGG(2, vs, 3), FROST_OK);
	CHECK_INT(culprit, 0);

	/* a share out of range, unknown, duplicated or missing */
	unhex(order_hex, shares[1].share, 32);
	CHECK_INT(AGG(2, NULL, 0), FROST_ERR_SCALAR_RANGE);
	CHECK_INT(culprit, 3);
	rfc_shares(shares);
	shares[2] = shares[0];
	shares[2].identifier = 2;
	CHECK_INT(AGG(3, NULL, 0), FROST_ERR_UNKNOWN_IDENTIFIER);
	CHECK_INT(culprit, 2);
	shares[2].identifier = 3;
	CHECK_INT(AGG(3, NULL, 0), FROST_ERR_DUPLICATE_IDENTIFIER);
	CHECK_INT(culprit, 3);
	CHECK_INT(AGG(1, NULL, 0), FROST_ERR_MISSING_SHARE);
	CHECK_INT(culprit, 3);
	shares[0].identifier = 0;
	CHECK_INT(AGG(2, NULL, 0), FROST_ERR_IDENTIFIER_ZERO);

	/* a cheater, with the group's verifying shares */
	rfc_shares(shares);
	shares[0].share[5] ^= 0x10;
	CHECK_INT(AGG(2, vs, 3), FROST_ERR_INVALID_SHARE);
	CHECK_INT(culprit, 1);
	CHECK_INT(frost_verify_signature_share(ctx, 1, vs[0].element,
										   shares[0].share, rfc_commitments, 2,
										   rfc_pk, rfc_msg, 4, &culprit),
			  FROST_ERR_INVALID_SHARE);
	CHECK_INT(culprit, 1);
	/* an honest share checked against the wrong public key share */
	CHECK_INT(frost_verify_signature_share(ctx, 3, vs[1].element,
										   shares[1].share, rfc_commitments, 2,
										   rfc_pk, rfc_msg, 4, &culprit),
			  FROST_ERR_INVALID_SHARE);
	CHECK_INT(frost_verify_signature_share(ctx, 2, vs[1].element,
										   shares[1].share, rfc_commitments, 2,
										   rfc_pk, rfc_msg, 4, &culprit),
			  FROST_ERR_UNKNOWN_IDENTIFIER);
	CHECK_INT(culprit, 2);

	/* the verifying shares: a signer missing, duplicated, bad */
	rfc_shares(shares);
	CHECK_INT(AGG(2, vs, 2), FROST_ERR_UNKNOWN_IDENTIFIER);
	CHECK_INT(culprit, 3);
	vs[1].identifier = 1;
	CHECK_INT(AGG(2, vs, 3), FROST_ERR_DUPLICATE_IDENTIFIER);
	CHECK_INT(culprit, 1);
	vs[1].identifier = 2;
	memset(vs[2].element, 0, 33);
	CHECK_INT(AGG(2, vs, 3), FROST_ERR_IDENTITY);
	CHECK_INT(culprit, 3);
	/* a bad entry for a non-signer is not looked at */
	memcpy(vs[2].element, rfc_keys[2].verifying_share, 33);
	memset(vs[1].element, 0, 33);
	CHECK_INT(AGG(2, vs, 3), FROST_OK);
	CHECK_HEX(sig, FROST_SIGNATURE_LEN, v_signature);
	CHECK_INT(AGG(2, vs, 256), FROST_ERR_COUNT);
#undef AGG
}

static void
test_verify_errors(void)
{
	uint8_t		sig[FROST_SIGNATURE_LEN];
	uint8_t		pk[33];

	unhex(v_signature, sig, sizeof(sig));
	CHECK_INT(frost_verify(ctx, rfc_pk, rfc_msg, 4, sig), FROST_OK);
	CHECK_INT(frost_verify(ctx, rfc_pk, NULL, 4, sig), FROST_ERR_ARGUMENT);
	memset(sig, 0, 33);
	CHECK_INT(frost_verify(ctx, rfc_pk, rfc_msg, 4, sig), FROST_ERR_IDENTITY);
	unhex(v_signature, sig, sizeof(sig));
	sig[0] = 0x04;
	CHECK_INT(frost_verify(ctx, rfc_pk, rfc_msg, 4, sig),
			  FROST_ERR_INVALID_ELEMENT);
	unhex(v_signature, sig, sizeof(sig));
	unhex(order_hex, sig + 33, 32);
	CHECK_INT(frost_verify(ctx, rfc_pk, rfc_msg, 4, sig),
			  FROST_ERR_SCALAR_RANGE);
	/* z = 0 is a scalar, so this is a wrong signature, not a bad encoding */
	memset(sig + 33, 0, 32);
	CHECK_INT(frost_verify(ctx, rfc_pk, rfc_msg, 4, sig),
			  FROST_ERR_INVALID_SIGNATURE);
	unhex(v_signature, sig, sizeof(sig));
	memset(pk, 0, 33);
	CHECK_INT(frost_verify(ctx, pk, rfc_msg, 4, sig), FROST_ERR_IDENTITY);
	/* the other y: the negated group key */
	memcpy(pk, rfc_pk, 33);
	pk[0] ^= 1;
	CHECK_INT(frost_verify(ctx, pk, rfc_msg, 4, sig),
			  FROST_ERR_INVALID_SIGNATURE);
}

static void
test_commitment_lists(void)
{
	uint8_t		enc[3 * FROST_COMMITMENT_ENC_LEN];
	uint8_t		enc2[3 * FROST_COMMITMENT_ENC_LEN];
	frost_commitment out[FROST_MAX_SIGNERS];
	frost_commitment reversed[2];
	uint8_t    *big;
	size_t		n;
	int			culprit;

	reversed[0] = rfc_commitments[1];
	reversed[1] = rfc_commitments[0];
	CHECK_INT(frost_commitment_list_encode(reversed, 2, enc, &culprit),
			  FROST_OK);
	CHECK_INT(frost_commitment_list_encode(rfc_commitments, 2, enc2, &culprit),
			  FROST_OK);
	CHECK(memcmp(enc, enc2, 2 * FROST_COMMITMENT_ENC_LEN) == 0);
	CHECK_HEX(enc, 32, "0000000000000000000000000000000000000000000000000000000000000001");
	CHECK_HEX(enc + 32, 33, v_signers[0].hiding_commitment);

	/* decode an unsorted list: sorted out */
	memcpy(enc2, enc + FROST_COMMITMENT_ENC_LEN, FROST_COMMITMENT_ENC_LEN);
	memcpy(enc2 + FROST_COMMITMENT_ENC_LEN, enc, FROST_COMMITMENT_ENC_LEN);
	CHECK_INT(frost_commitment_list_decode(ctx, enc2, 2 * FROST_COMMITMENT_ENC_LEN,
										   out, 2, &n, &culprit), FROST_OK);
	CHECK_INT(n, 2);
	CHECK(commitments_equal(out, rfc_commitments, 2));

	/* lengths and capacity */
	CHECK_INT(frost_commitment_list_decode(ctx, enc, 0, out, 2, &n, &culprit),
			  FROST_ERR_COUNT);
	CHECK_INT(frost_commitment_list_decode(ctx, enc, 97, out, 2, &n, &culprit),
			  FROST_ERR_COUNT);
	CHECK_INT(frost_commitment_list_decode(ctx, enc, 99, out, 2, &n, &culprit),
			  FROST_ERR_COUNT);
	CHECK_INT(frost_commitment_list_decode(ctx, enc, 196, out, 1, &n, &culprit),
			  FROST_ERR_ARGUMENT);
	big = calloc(256, FROST_COMMITMENT_ENC_LEN);
	if (big == NULL)
		abort();
	CHECK_INT(frost_commitment_list_decode(ctx, big, 256 * FROST_COMMITMENT_ENC_LEN,
										   out, FROST_MAX_SIGNERS, &n, &culprit),
			  FROST_ERR_COUNT);
	free(big);

	/* identifiers and elements */
	memcpy(enc2, enc, 2 * FROST_COMMITMENT_ENC_LEN);
	enc2[31] = 3;
	CHECK_INT(frost_commitment_list_decode(ctx, enc2, 196, out, 2, &n, &culprit),
			  FROST_ERR_DUPLICATE_IDENTIFIER);
	CHECK_INT(culprit, 3);
	CHECK_INT(n, 0);
	enc2[31] = 0;
	CHECK_INT(frost_commitment_list_decode(ctx, enc2, 196, out, 2, &n, &culprit),
			  FROST_ERR_IDENTIFIER_ZERO);
	enc2[31] = 1;
	enc2[30] = 1;				/* 257 */
	CHECK_INT(frost_commitment_list_decode(ctx, enc2, 196, out, 2, &n, &culprit),
			  FROST_ERR_IDENTIFIER_RANGE);
	enc2[30] = 0;
	memset(enc2 + FROST_COMMITMENT_ENC_LEN + 65, 0, 33);
	CHECK_INT(frost_commitment_list_decode(ctx, enc2, 196, out, 2, &n, &culprit),
			  FROST_ERR_IDENTITY);
	CHECK_INT(culprit, 3);
	enc2[FROST_COMMITMENT_ENC_LEN + 65] = 0x02;
	CHECK_INT(frost_commitment_list_decode(ctx, enc2, 196, out, 2, &n, &culprit),
			  FROST_ERR_INVALID_ELEMENT);

	/* encoding checks identifiers */
	reversed[0].identifier = 1;
	CHECK_INT(frost_commitment_list_encode(reversed, 2, enc, &culprit),
			  FROST_ERR_DUPLICATE_IDENTIFIER);
	CHECK_INT(frost_commitment_list_encode(reversed, 0, enc, &culprit),
			  FROST_ERR_COUNT);
}

static void
test_share_lists(void)
{
	frost_signature_share shares[2];
	frost_signature_share out[2];
	uint8_t		enc[2 * FROST_SHARE_ENC_LEN];
	uint8_t		swapped[2 * FROST_SHARE_ENC_LEN];
	size_t		n;
	int			culprit;

	rfc_shares(shares);
	CHECK_INT(frost_share_list_encode(shares, 2, enc, &culprit), FROST_OK);
	memcpy(swapped, enc + 64, 64);
	memcpy(swapped + 64, enc, 64);
	CHECK_INT(frost_share_list_decode(swapped, 128, out, 2, &n, &culprit),
			  FROST_OK);
	CHECK_INT(n, 2);
	CHECK(memcmp(out, shares, sizeof(shares)) == 0);
	CHECK_INT(frost_share_list_decode(swapped, 127, out, 2, &n, &culprit),
			  FROST_ERR_COUNT);
	unhex(order_hex, swapped + 32, 32);
	CHECK_INT(frost_share_list_decode(swapped, 128, out, 2, &n, &culprit),
			  FROST_ERR_SCALAR_RANGE);
	CHECK_INT(culprit, 3);
	swapped[31] = 1;
	CHECK_INT(frost_share_list_decode(swapped, 128, out, 2, &n, &culprit),
			  FROST_ERR_DUPLICATE_IDENTIFIER);
	CHECK_INT(culprit, 1);
	unhex(order_hex, shares[0].share, 32);
	CHECK_INT(frost_share_list_encode(shares, 2, enc, &culprit),
			  FROST_ERR_SCALAR_RANGE);
	CHECK_INT(culprit, 1);
}

static void
test_strerror(void)
{
	int			e;
	int			ok = 1;

	for (e = FROST_OK; e >= FROST_ERR_INTERNAL; e--)
	{
		const char *m = frost_strerror(e);
		int			j;

		ok &= m != NULL && m[0] >= 'a' && m[0] <= 'z'
			&& strcmp(m, "unknown frost error") != 0;
		for (j = e + 1; j <= FROST_OK; j++)
			ok &= strcmp(m, frost_strerror(j)) != 0;
	}
	CHECK(ok);
	CHECK(strcmp(frost_strerror(FROST_ERR_INTERNAL - 1), "unknown frost error") == 0);
	CHECK(strcmp(frost_strerror(1), "unknown frost error") == 0);
}

int
main(void)
{
	uint8_t		seed[32];

	rng_seed(UINT64_C(0x2545f4914f6cdd1d));
	ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	rng_fill(seed, sizeof(seed));
	if (ctx == NULL || !secp256k1_context_randomize(ctx, seed))
	{
		printf("could not create a secp256k1 context\n");
		return 2;
	}

	test_rfc_keygen();
	test_rfc_round_one();
	test_rfc_binding_factors();
	test_rfc_round_two();
	test_rfc_signature_equation();
	test_rfc_lagrange();
	test_random_groups();
	test_max_group();
	test_keygen_errors();
	test_scalar_element_checks();
	test_commitment_errors();
	test_aggregate_errors();
	test_verify_errors();
	test_commitment_lists();
	test_share_lists();
	test_strerror();

	secp256k1_context_destroy(ctx);
	return check_summary();
}
