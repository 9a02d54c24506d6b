/*-------------------------------------------------------------------------
 *
 * frost_group.c
 *	  FROST(secp256k1, SHA-256), RFC 9591: the ciphersuite's group and
 *	  hash primitives, which the rest of the FROST code is written in:
 *	  scalars mod n (identifiers among them), the hashes H1..H5 are made
 *	  of (SHA-256, expand_message_xmd, hash_to_field), and points.
 *
 * Points are libsecp256k1 public keys, which cannot hold the identity, so
 * fr_point adds an "infinity" flag and the helpers below treat the
 * identity the way the RFC's group operations do; it only becomes an
 * error when it has to be serialized or was received.
 *
 * Scalars travel as 32-byte big-endian arrays and are combined with
 * OpenSSL BIGNUM mod n (libsecp256k1 0.2.0 exposes no scalar inverse,
 * which the Lagrange coefficients need).  BIGNUMs holding secrets get
 * BN_FLG_CONSTTIME and are cleared before their frame is released; the
 * point multiplications by secrets use libsecp256k1's constant-time code.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "frost_internal.h"

#define WIDE_LEN		48		/* L in hash_to_field */
#define MAX_PIECES		3		/* the most pieces H1/H2/H3 inputs come in */

/* Retries before a random source that keeps giving 0 or >= n is broken. */
#define RANDOM_SCALAR_TRIES 16

static const uint8_t group_order[FROST_SCALAR_LEN] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
	0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41
};

/* ------------------------------------------------------------ scalars */

/* Constant time: secrets pass through here. */
int
fr_scalar_is_zero(const uint8_t s[FROST_SCALAR_LEN])
{
	uint8_t		acc = 0;
	int			i;

	for (i = 0; i < FROST_SCALAR_LEN; i++)
		acc |= s[i];
	return acc == 0;
}

/* Constant time s < n: the borrow out of s - n. */
static int
scalar_below_order(const uint8_t s[FROST_SCALAR_LEN])
{
	unsigned int borrow = 0;
	int			i;

	for (i = FROST_SCALAR_LEN - 1; i >= 0; i--)
	{
		unsigned int d = (unsigned int) s[i] - group_order[i] - borrow;

		borrow = (d >> 8) & 1;
	}
	return (int) borrow;
}

int
frost_scalar_check(const uint8_t scalar[FROST_SCALAR_LEN])
{
	if (scalar == NULL)
		return FROST_ERR_ARGUMENT;
	return scalar_below_order(scalar) ? FROST_OK : FROST_ERR_SCALAR_RANGE;
}

/* A scalar that must also be non-zero (secrets, nonces). */
int
fr_nonzero_scalar_check(const uint8_t s[FROST_SCALAR_LEN])
{
	if (!scalar_below_order(s))
		return FROST_ERR_SCALAR_RANGE;
	if (fr_scalar_is_zero(s))
		return FROST_ERR_ZERO_SCALAR;
	return FROST_OK;
}

void
fr_identifier_encode(int id, uint8_t out[FROST_SCALAR_LEN])
{
	memset(out, 0, FROST_SCALAR_LEN);
	out[FROST_SCALAR_LEN - 1] = (uint8_t) id;
}

int
fr_identifier_check(int id)
{
	if (id == 0)
		return FROST_ERR_IDENTIFIER_ZERO;
	if (id < 0 || id > FROST_MAX_SIGNERS)
		return FROST_ERR_IDENTIFIER_RANGE;
	return FROST_OK;
}

int
fr_tools_open(fr_tools *t)
{
	t->md = EVP_MD_CTX_new();
	t->bn = BN_CTX_secure_new();
	t->order = BN_bin2bn(group_order, FROST_SCALAR_LEN, NULL);
	if (t->md == NULL || t->bn == NULL || t->order == NULL)
		return FROST_ERR_NO_MEMORY;
	return FROST_OK;
}

void
fr_tools_close(fr_tools *t)
{
	EVP_MD_CTX_free(t->md);
	BN_CTX_free(t->bn);
	BN_free(t->order);
	t->md = NULL;
	t->bn = NULL;
	t->order = NULL;
}

/* Three BIGNUMs from a new BN_CTX frame, marked as possibly secret. */
static int
bn_frame3(fr_tools *t, BIGNUM **a, BIGNUM **b, BIGNUM **c)
{
	BN_CTX_start(t->bn);
	*a = BN_CTX_get(t->bn);
	*b = BN_CTX_get(t->bn);
	*c = BN_CTX_get(t->bn);
	if (*c == NULL)
		return 0;
	BN_set_flags(*a, BN_FLG_CONSTTIME);
	BN_set_flags(*b, BN_FLG_CONSTTIME);
	BN_set_flags(*c, BN_FLG_CONSTTIME);
	return 1;
}

static void
bn_frame3_end(fr_tools *t, BIGNUM *a, BIGNUM *b, BIGNUM *c)
{
	if (c != NULL)
	{
		BN_clear(a);
		BN_clear(b);
		BN_clear(c);
	}
	BN_CTX_end(t->bn);
}

/* out = (a * b + c) mod n; c may be NULL for 0. */
int
fr_scalar_muladd(fr_tools *t, const uint8_t a[FROST_SCALAR_LEN],
				 const uint8_t b[FROST_SCALAR_LEN], const uint8_t *c,
				 uint8_t out[FROST_SCALAR_LEN])
{
	BIGNUM	   *x,
			   *y,
			   *z;
	int			ok;

	ok = bn_frame3(t, &x, &y, &z);
	ok = ok && BN_bin2bn(a, FROST_SCALAR_LEN, x) != NULL
		&& BN_bin2bn(b, FROST_SCALAR_LEN, y) != NULL
		&& BN_mod_mul(z, x, y, t->order, t->bn);
	if (ok && c != NULL)
		ok = BN_bin2bn(c, FROST_SCALAR_LEN, x) != NULL
			&& BN_mod_add(z, z, x, t->order, t->bn);
	ok = ok && BN_bn2binpad(z, out, FROST_SCALAR_LEN) == FROST_SCALAR_LEN;
	bn_frame3_end(t, x, y, z);
	return ok ? FROST_OK : FROST_ERR_INTERNAL;
}

/* out = (a + b) mod n */
int
fr_scalar_add(fr_tools *t, const uint8_t a[FROST_SCALAR_LEN],
			  const uint8_t b[FROST_SCALAR_LEN], uint8_t out[FROST_SCALAR_LEN])
{
	BIGNUM	   *x,
			   *y,
			   *z;
	int			ok;

	ok = bn_frame3(t, &x, &y, &z);
	ok = ok && BN_bin2bn(a, FROST_SCALAR_LEN, x) != NULL
		&& BN_bin2bn(b, FROST_SCALAR_LEN, y) != NULL
		&& BN_mod_add(z, x, y, t->order, t->bn)
		&& BN_bn2binpad(z, out, FROST_SCALAR_LEN) == FROST_SCALAR_LEN;
	bn_frame3_end(t, x, y, z);
	return ok ? FROST_OK : FROST_ERR_INTERNAL;
}

/* out = wide mod n (the OS2IP-and-reduce step of hash_to_field) */
static int
scalar_reduce(fr_tools *t, const uint8_t *wide, size_t len,
			  uint8_t out[FROST_SCALAR_LEN])
{
	BIGNUM	   *x,
			   *y,
			   *unused;
	int			ok;

	ok = bn_frame3(t, &x, &y, &unused);
	ok = ok && BN_bin2bn(wide, (int) len, x) != NULL
		&& BN_nnmod(y, x, t->order, t->bn)
		&& BN_bn2binpad(y, out, FROST_SCALAR_LEN) == FROST_SCALAR_LEN;
	bn_frame3_end(t, x, y, unused);
	return ok ? FROST_OK : FROST_ERR_INTERNAL;
}

/*
 * derive_interpolating_value(L, x_i): prod x_j / prod (x_j - x_i) over
 * j != i.  The identifiers are public, so plain BIGNUM code is fine.
 */
int
fr_lagrange(fr_tools *t, int id, const int *ids, size_t n,
			uint8_t out[FROST_SCALAR_LEN])
{
	BIGNUM	   *num,
			   *den,
			   *tmp;
	size_t		j;
	int			ok;

	ok = bn_frame3(t, &num, &den, &tmp);
	ok = ok && BN_one(num) && BN_one(den);
	for (j = 0; ok && j < n; j++)
	{
		if (ids[j] == id)
			continue;
		ok = BN_set_word(tmp, (BN_ULONG) ids[j])
			&& BN_mod_mul(num, num, tmp, t->order, t->bn)
			&& BN_sub_word(tmp, (BN_ULONG) id)
			&& BN_nnmod(tmp, tmp, t->order, t->bn)
			&& BN_mod_mul(den, den, tmp, t->order, t->bn);
	}
	ok = ok && BN_mod_inverse(tmp, den, t->order, t->bn) != NULL
		&& BN_mod_mul(num, num, tmp, t->order, t->bn)
		&& BN_bn2binpad(num, out, FROST_SCALAR_LEN) == FROST_SCALAR_LEN;
	bn_frame3_end(t, num, den, tmp);
	return ok ? FROST_OK : FROST_ERR_INTERNAL;
}

/* Rejection sampling (RFC 9591 appendix D) of a non-zero scalar. */
int
fr_random_scalar(frost_random_fn random_fn, void *arg,
				 uint8_t out[FROST_SCALAR_LEN])
{
	int			tries;

	for (tries = 0; tries < RANDOM_SCALAR_TRIES; tries++)
	{
		if (!random_fn(arg, out, FROST_SCALAR_LEN))
			break;
		if (fr_nonzero_scalar_check(out) == FROST_OK)
			return FROST_OK;
	}
	fr_wipe(out, FROST_SCALAR_LEN);
	return FROST_ERR_RANDOM;
}

/* ------------------------------------------------------------- hashes */

int
fr_sha256_pieces(fr_tools *t, const fr_piece *p, int np,
				 uint8_t out[FR_HASH_LEN])
{
	int			i;

	if (EVP_DigestInit_ex(t->md, EVP_sha256(), NULL) != 1)
		return FROST_ERR_INTERNAL;
	for (i = 0; i < np; i++)
		if (p[i].len > 0 && EVP_DigestUpdate(t->md, p[i].data, p[i].len) != 1)
			return FROST_ERR_INTERNAL;
	if (EVP_DigestFinal_ex(t->md, out, NULL) != 1)
		return FROST_ERR_INTERNAL;
	return FROST_OK;
}

/*
 * expand_message_xmd (RFC 9380 section 5.3.1) with SHA-256 for
 * len_in_bytes = 48, so ell = 2 and DST = context_string || label.
 */
static int
expand_message_xmd(fr_tools *t, const char *label, const fr_piece *msg,
				   int nmsg, uint8_t out[WIDE_LEN])
{
	static const uint8_t z_pad[64] = {0};
	static const uint8_t len_ib[2] = {0, WIDE_LEN};
	static const uint8_t counter[3] = {0, 1, 2};
	uint8_t		dst_len = (uint8_t) (FR_CONTEXT_LEN + strlen(label));
	fr_piece	dst_prime[3];
	fr_piece	p[MAX_PIECES + 6];
	uint8_t		b0[FR_HASH_LEN];
	uint8_t		b2[FR_HASH_LEN];
	int			np = 0;
	int			i;
	int			rc;

	if (nmsg > MAX_PIECES)
		return FROST_ERR_INTERNAL;
	/* DST_prime = DST || I2OSP(len(DST), 1) */
	dst_prime[0] = (fr_piece) {(const uint8_t *) FR_CONTEXT_STRING,
		FR_CONTEXT_LEN};
	dst_prime[1] = (fr_piece) {(const uint8_t *) label, strlen(label)};
	dst_prime[2] = (fr_piece) {&dst_len, 1};

	/* b_0 = H(Z_pad || msg || l_i_b_str || I2OSP(0, 1) || DST_prime) */
	p[np++] = (fr_piece) {z_pad, sizeof(z_pad)};
	for (i = 0; i < nmsg; i++)
		p[np++] = msg[i];
	p[np++] = (fr_piece) {len_ib, 2};
	p[np++] = (fr_piece) {&counter[0], 1};
	memcpy(p + np, dst_prime, sizeof(dst_prime));
	rc = fr_sha256_pieces(t, p, np + 3, b0);
	if (rc != FROST_OK)
		goto done;

	/* b_1 = H(b_0 || I2OSP(1, 1) || DST_prime) */
	p[0] = (fr_piece) {b0, FR_HASH_LEN};
	p[1] = (fr_piece) {&counter[1], 1};
	memcpy(p + 2, dst_prime, sizeof(dst_prime));
	rc = fr_sha256_pieces(t, p, 5, out);
	if (rc != FROST_OK)
		goto done;

	/* b_2 = H(strxor(b_0, b_1) || I2OSP(2, 1) || DST_prime) */
	for (i = 0; i < FR_HASH_LEN; i++)
		b0[i] ^= out[i];
	p[1] = (fr_piece) {&counter[2], 1};
	rc = fr_sha256_pieces(t, p, 5, b2);
	if (rc == FROST_OK)
		memcpy(out + FR_HASH_LEN, b2, WIDE_LEN - FR_HASH_LEN);

done:
	fr_wipe(b0, sizeof(b0));
	fr_wipe(b2, sizeof(b2));
	return rc;
}

/* hash_to_field(msg, 1) into the scalar field: H1, H2 and H3. */
int
fr_hash_to_scalar(fr_tools *t, const char *label, const fr_piece *msg,
				  int nmsg, uint8_t out[FROST_SCALAR_LEN])
{
	uint8_t		wide[WIDE_LEN];
	int			rc;

	rc = expand_message_xmd(t, label, msg, nmsg, wide);
	if (rc == FROST_OK)
		rc = scalar_reduce(t, wide, WIDE_LEN, out);
	fr_wipe(wide, sizeof(wide));
	return rc;
}

/* ------------------------------------------------------------- points */

/*
 * DeserializeElement.  SEC1 encodes the identity as a lone 0x00 octet,
 * and fixed-width encoders pad that with zeros, so a leading 0x00 is
 * reported as the identity rather than as garbage.
 */
int
fr_element_decode(const secp256k1_context *ctx,
				  const uint8_t in[FROST_ELEMENT_LEN], secp256k1_pubkey *out)
{
	if (in[0] == 0x00)
		return FROST_ERR_IDENTITY;
	if (in[0] != 0x02 && in[0] != 0x03)
		return FROST_ERR_INVALID_ELEMENT;
	if (!secp256k1_ec_pubkey_parse(ctx, out, in, FROST_ELEMENT_LEN))
		return FROST_ERR_INVALID_ELEMENT;
	return FROST_OK;
}

int
frost_element_check(const secp256k1_context *ctx,
					const uint8_t element[FROST_ELEMENT_LEN])
{
	secp256k1_pubkey p;

	if (ctx == NULL || element == NULL)
		return FROST_ERR_ARGUMENT;
	return fr_element_decode(ctx, element, &p);
}

/* SerializeElement: the identity is an error. */
int
fr_point_encode(const secp256k1_context *ctx, const fr_point *a,
				uint8_t out[FROST_ELEMENT_LEN])
{
	size_t		len = FROST_ELEMENT_LEN;

	if (a->inf)
		return FROST_ERR_IDENTITY;
	if (!secp256k1_ec_pubkey_serialize(ctx, out, &len, &a->p,
									   SECP256K1_EC_COMPRESSED))
		return FROST_ERR_INTERNAL;
	return FROST_OK;
}

void
fr_point_from_pubkey(const secp256k1_pubkey *p, fr_point *out)
{
	out->inf = 0;
	out->p = *p;
}

/* ScalarBaseMult; s must be below n. */
int
fr_point_base_mul(const secp256k1_context *ctx,
				  const uint8_t s[FROST_SCALAR_LEN], fr_point *out)
{
	out->inf = fr_scalar_is_zero(s);
	if (out->inf)
		return FROST_OK;
	if (!secp256k1_ec_pubkey_create(ctx, &out->p, s))
		return FROST_ERR_INTERNAL;
	return FROST_OK;
}

/* ScalarMult; s must be below n. */
int
fr_point_mul(const secp256k1_context *ctx, const fr_point *a,
			 const uint8_t s[FROST_SCALAR_LEN], fr_point *out)
{
	secp256k1_pubkey p;

	if (a->inf || fr_scalar_is_zero(s))
	{
		out->inf = 1;
		return FROST_OK;
	}
	p = a->p;
	if (!secp256k1_ec_pubkey_tweak_mul(ctx, &p, s))
		return FROST_ERR_INTERNAL;
	fr_point_from_pubkey(&p, out);
	return FROST_OK;
}

/* out = a + b; libsecp256k1 refuses a sum only when it is the identity. */
void
fr_point_add(const secp256k1_context *ctx, const fr_point *a,
			 const fr_point *b, fr_point *out)
{
	const secp256k1_pubkey *ins[2];
	secp256k1_pubkey sum;

	if (a->inf || b->inf)
	{
		*out = a->inf ? *b : *a;
		return;
	}
	ins[0] = &a->p;
	ins[1] = &b->p;
	out->inf = !secp256k1_ec_pubkey_combine(ctx, &sum, ins, 2);
	if (!out->inf)
		out->p = sum;
}

int
fr_point_equal(const secp256k1_context *ctx, const fr_point *a,
			   const fr_point *b)
{
	if (a->inf || b->inf)
		return a->inf && b->inf;
	return secp256k1_ec_pubkey_cmp(ctx, &a->p, &b->p) == 0;
}
