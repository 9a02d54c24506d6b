/*-------------------------------------------------------------------------
 *
 * frost.c
 *	  FROST(secp256k1, SHA-256), RFC 9591: trusted-dealer keys, two-round
 *	  signing, share verification, aggregation and verification.
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
 * The RFC's functions are followed step by step and keep its names in the
 * comments, so the code can be read against Sections 4 and 5.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "frost.h"

static const char context_string[] = "FROST-secp256k1-SHA256-v1";

#define CONTEXT_LEN		(sizeof(context_string) - 1)
#define HASH_LEN		32
#define WIDE_LEN		48		/* L in hash_to_field */
#define PREFIX_LEN		(FROST_BINDING_INPUT_LEN - FROST_SCALAR_LEN)
#define MAX_PIECES		3		/* the most pieces H1/H2/H3 inputs come in */

/* Retries before a random source that keeps giving 0 or >= n is broken. */
#define RANDOM_SCALAR_TRIES 16

static const uint8_t group_order[FROST_SCALAR_LEN] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
	0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41
};

/* A piece of a hash input: inputs are hashed in place, never concatenated. */
typedef struct
{
	const uint8_t *data;
	size_t		len;
} fr_piece;

/* What one call needs from OpenSSL. */
typedef struct
{
	EVP_MD_CTX *md;
	BN_CTX	   *bn;
	BIGNUM	   *order;
} fr_tools;

/* A group element, including the identity. */
typedef struct
{
	int			inf;
	secp256k1_pubkey p;
} fr_point;

/* One signer of a signing session, in identifier order. */
typedef struct
{
	int			id;
	secp256k1_pubkey hiding;
	secp256k1_pubkey binding;
	uint8_t		enc[FROST_COMMITMENT_ENC_LEN];	/* id || D || E */
	uint8_t		rho[FROST_SCALAR_LEN];
	fr_point	share_commitment;	/* D + rho * E */
	const uint8_t *z;			/* signature share, when aggregating */
	int			has_verifying;
	secp256k1_pubkey verifying;
} fr_entry;

/* Everything derived from (group public key, commitment list, message). */
typedef struct
{
	const secp256k1_context *ctx;
	fr_tools	t;
	size_t		n;
	fr_entry   *e;
	int			ids[FROST_MAX_SIGNERS];
	int			pos[FROST_MAX_SIGNERS + 1]; /* identifier -> index + 1 */
	secp256k1_pubkey pk;
	uint8_t		prefix[PREFIX_LEN]; /* PK || H4(msg) || H5(list) */
	uint8_t		R[FROST_ELEMENT_LEN];
	uint8_t		c[FROST_SCALAR_LEN];
	const uint8_t *msg;
	size_t		msg_len;
} fr_session;

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

static void
set_culprit(int *culprit, int id)
{
	if (culprit != NULL)
		*culprit = id;
}

static void
wipe(void *p, size_t len)
{
	OPENSSL_cleanse(p, len);
}

/* ------------------------------------------------------------ scalars */

/* Constant time: secrets pass through here. */
static int
scalar_is_zero(const uint8_t s[FROST_SCALAR_LEN])
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
static int
nonzero_scalar_check(const uint8_t s[FROST_SCALAR_LEN])
{
	if (!scalar_below_order(s))
		return FROST_ERR_SCALAR_RANGE;
	if (scalar_is_zero(s))
		return FROST_ERR_ZERO_SCALAR;
	return FROST_OK;
}

static void
identifier_encode(int id, uint8_t out[FROST_SCALAR_LEN])
{
	memset(out, 0, FROST_SCALAR_LEN);
	out[FROST_SCALAR_LEN - 1] = (uint8_t) id;
}

static int
identifier_check(int id)
{
	if (id == 0)
		return FROST_ERR_IDENTIFIER_ZERO;
	if (id < 0 || id > FROST_MAX_SIGNERS)
		return FROST_ERR_IDENTIFIER_RANGE;
	return FROST_OK;
}

/* A 32-byte identifier scalar; only 1..255 are supported. */
static int
identifier_decode(const uint8_t in[FROST_SCALAR_LEN], int *id)
{
	int			i;

	*id = 0;
	if (scalar_is_zero(in))
		return FROST_ERR_IDENTIFIER_ZERO;
	for (i = 0; i < FROST_SCALAR_LEN - 1; i++)
		if (in[i] != 0)
			return FROST_ERR_IDENTIFIER_RANGE;
	*id = in[FROST_SCALAR_LEN - 1];
	return FROST_OK;
}

static int
tools_open(fr_tools *t)
{
	t->md = EVP_MD_CTX_new();
	t->bn = BN_CTX_secure_new();
	t->order = BN_bin2bn(group_order, FROST_SCALAR_LEN, NULL);
	if (t->md == NULL || t->bn == NULL || t->order == NULL)
		return FROST_ERR_NO_MEMORY;
	return FROST_OK;
}

static void
tools_close(fr_tools *t)
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
static int
scalar_muladd(fr_tools *t, const uint8_t a[FROST_SCALAR_LEN],
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
static int
scalar_add(fr_tools *t, const uint8_t a[FROST_SCALAR_LEN],
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
static int
lagrange(fr_tools *t, int id, const int *ids, size_t n,
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
static int
random_scalar(frost_random_fn random_fn, void *arg,
			  uint8_t out[FROST_SCALAR_LEN])
{
	int			tries;

	for (tries = 0; tries < RANDOM_SCALAR_TRIES; tries++)
	{
		if (!random_fn(arg, out, FROST_SCALAR_LEN))
			break;
		if (nonzero_scalar_check(out) == FROST_OK)
			return FROST_OK;
	}
	wipe(out, FROST_SCALAR_LEN);
	return FROST_ERR_RANDOM;
}

/* ------------------------------------------------------------- hashes */

static int
sha256_pieces(fr_tools *t, const fr_piece *p, int np, uint8_t out[HASH_LEN])
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
	uint8_t		dst_len = (uint8_t) (CONTEXT_LEN + strlen(label));
	fr_piece	dst_prime[3];
	fr_piece	p[MAX_PIECES + 6];
	uint8_t		b0[HASH_LEN];
	uint8_t		b2[HASH_LEN];
	int			np = 0;
	int			i;
	int			rc;

	if (nmsg > MAX_PIECES)
		return FROST_ERR_INTERNAL;
	/* DST_prime = DST || I2OSP(len(DST), 1) */
	dst_prime[0] = (fr_piece) {(const uint8_t *) context_string, CONTEXT_LEN};
	dst_prime[1] = (fr_piece) {(const uint8_t *) label, strlen(label)};
	dst_prime[2] = (fr_piece) {&dst_len, 1};

	/* b_0 = H(Z_pad || msg || l_i_b_str || I2OSP(0, 1) || DST_prime) */
	p[np++] = (fr_piece) {z_pad, sizeof(z_pad)};
	for (i = 0; i < nmsg; i++)
		p[np++] = msg[i];
	p[np++] = (fr_piece) {len_ib, 2};
	p[np++] = (fr_piece) {&counter[0], 1};
	memcpy(p + np, dst_prime, sizeof(dst_prime));
	rc = sha256_pieces(t, p, np + 3, b0);
	if (rc != FROST_OK)
		goto done;

	/* b_1 = H(b_0 || I2OSP(1, 1) || DST_prime) */
	p[0] = (fr_piece) {b0, HASH_LEN};
	p[1] = (fr_piece) {&counter[1], 1};
	memcpy(p + 2, dst_prime, sizeof(dst_prime));
	rc = sha256_pieces(t, p, 5, out);
	if (rc != FROST_OK)
		goto done;

	/* b_2 = H(strxor(b_0, b_1) || I2OSP(2, 1) || DST_prime) */
	for (i = 0; i < HASH_LEN; i++)
		b0[i] ^= out[i];
	p[1] = (fr_piece) {&counter[2], 1};
	rc = sha256_pieces(t, p, 5, b2);
	if (rc == FROST_OK)
		memcpy(out + HASH_LEN, b2, WIDE_LEN - HASH_LEN);

done:
	wipe(b0, sizeof(b0));
	wipe(b2, sizeof(b2));
	return rc;
}

/* hash_to_field(msg, 1) into the scalar field: H1, H2 and H3. */
static int
hash_to_scalar(fr_tools *t, const char *label, const fr_piece *msg, int nmsg,
			   uint8_t out[FROST_SCALAR_LEN])
{
	uint8_t		wide[WIDE_LEN];
	int			rc;

	rc = expand_message_xmd(t, label, msg, nmsg, wide);
	if (rc == FROST_OK)
		rc = scalar_reduce(t, wide, WIDE_LEN, out);
	wipe(wide, sizeof(wide));
	return rc;
}

/* ------------------------------------------------------------- points */

/*
 * DeserializeElement.  SEC1 encodes the identity as a lone 0x00 octet,
 * and fixed-width encoders pad that with zeros, so a leading 0x00 is
 * reported as the identity rather than as garbage.
 */
static int
element_decode(const secp256k1_context *ctx,
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
	return element_decode(ctx, element, &p);
}

/* SerializeElement: the identity is an error. */
static int
point_encode(const secp256k1_context *ctx, const fr_point *a,
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

static void
point_from_pubkey(const secp256k1_pubkey *p, fr_point *out)
{
	out->inf = 0;
	out->p = *p;
}

/* ScalarBaseMult; s must be below n. */
static int
point_base_mul(const secp256k1_context *ctx, const uint8_t s[FROST_SCALAR_LEN],
			   fr_point *out)
{
	out->inf = scalar_is_zero(s);
	if (out->inf)
		return FROST_OK;
	if (!secp256k1_ec_pubkey_create(ctx, &out->p, s))
		return FROST_ERR_INTERNAL;
	return FROST_OK;
}

/* ScalarMult; s must be below n. */
static int
point_mul(const secp256k1_context *ctx, const fr_point *a,
		  const uint8_t s[FROST_SCALAR_LEN], fr_point *out)
{
	secp256k1_pubkey p;

	if (a->inf || scalar_is_zero(s))
	{
		out->inf = 1;
		return FROST_OK;
	}
	p = a->p;
	if (!secp256k1_ec_pubkey_tweak_mul(ctx, &p, s))
		return FROST_ERR_INTERNAL;
	point_from_pubkey(&p, out);
	return FROST_OK;
}

/* out = a + b; libsecp256k1 refuses a sum only when it is the identity. */
static void
point_add(const secp256k1_context *ctx, const fr_point *a, const fr_point *b,
		  fr_point *out)
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

static int
point_equal(const secp256k1_context *ctx, const fr_point *a, const fr_point *b)
{
	if (a->inf || b->inf)
		return a->inf && b->inf;
	return secp256k1_ec_pubkey_cmp(ctx, &a->p, &b->p) == 0;
}

/* ------------------------------------------------- identifier lists */

/*
 * Check identifiers (in input order), sort the indices 0..n-1 by
 * identifier into order[], then reject duplicates.  n <= 255.
 */
static int
sort_identifiers(const int *ids, size_t n, uint8_t *order, int *culprit)
{
	size_t		i,
				j;
	int			rc;

	for (i = 0; i < n; i++)
	{
		rc = identifier_check(ids[i]);
		if (rc != FROST_OK)
		{
			set_culprit(culprit, ids[i]);
			return rc;
		}
		order[i] = (uint8_t) i;
	}
	/* insertion sort of at most 255 small keys */
	for (i = 1; i < n; i++)
	{
		uint8_t		k = order[i];

		for (j = i; j > 0 && ids[order[j - 1]] > ids[k]; j--)
			order[j] = order[j - 1];
		order[j] = k;
	}
	for (i = 1; i < n; i++)
		if (ids[order[i]] == ids[order[i - 1]])
		{
			set_culprit(culprit, ids[order[i]]);
			return FROST_ERR_DUPLICATE_IDENTIFIER;
		}
	return FROST_OK;
}

/* An encoded list: n entries of entry_len bytes, each led by an identifier. */
static int
decode_identifiers(const uint8_t *data, size_t len, size_t entry_len,
				   size_t cap, int *ids, uint8_t *order, size_t *n_out,
				   int *culprit)
{
	size_t		n,
				i;
	int			rc;

	if (len == 0 || len % entry_len != 0 || len / entry_len > FROST_MAX_SIGNERS)
		return FROST_ERR_COUNT;
	n = len / entry_len;
	if (n > cap)
		return FROST_ERR_ARGUMENT;
	for (i = 0; i < n; i++)
	{
		rc = identifier_decode(data + i * entry_len, &ids[i]);
		if (rc != FROST_OK)
			return rc;
	}
	*n_out = n;
	return sort_identifiers(ids, n, order, culprit);
}

int
frost_commitment_list_decode(const secp256k1_context *ctx,
							 const uint8_t *data, size_t len,
							 frost_commitment *out, size_t cap,
							 size_t *n_out, int *culprit)
{
	int			ids[FROST_MAX_SIGNERS];
	uint8_t		order[FROST_MAX_SIGNERS];
	secp256k1_pubkey p;
	size_t		n = 0,
				i;
	int			rc;

	set_culprit(culprit, 0);
	if (n_out != NULL)
		*n_out = 0;
	if (ctx == NULL || data == NULL || out == NULL || n_out == NULL)
		return FROST_ERR_ARGUMENT;
	rc = decode_identifiers(data, len, FROST_COMMITMENT_ENC_LEN, cap, ids,
							order, &n, culprit);
	for (i = 0; rc == FROST_OK && i < n; i++)
	{
		const uint8_t *src = data + order[i] * FROST_COMMITMENT_ENC_LEN;
		const uint8_t *hiding = src + FROST_SCALAR_LEN;
		const uint8_t *binding = hiding + FROST_ELEMENT_LEN;

		rc = element_decode(ctx, hiding, &p);
		if (rc == FROST_OK)
			rc = element_decode(ctx, binding, &p);
		if (rc != FROST_OK)
		{
			set_culprit(culprit, ids[order[i]]);
			break;
		}
		out[i].identifier = ids[order[i]];
		memcpy(out[i].hiding, hiding, FROST_ELEMENT_LEN);
		memcpy(out[i].binding, binding, FROST_ELEMENT_LEN);
	}
	if (rc == FROST_OK)
		*n_out = n;
	return rc;
}

int
frost_commitment_list_encode(const frost_commitment *list, size_t n,
							 uint8_t *out, int *culprit)
{
	int			ids[FROST_MAX_SIGNERS];
	uint8_t		order[FROST_MAX_SIGNERS];
	size_t		i;
	int			rc;

	set_culprit(culprit, 0);
	if (list == NULL || out == NULL)
		return FROST_ERR_ARGUMENT;
	if (n == 0 || n > FROST_MAX_SIGNERS)
		return FROST_ERR_COUNT;
	for (i = 0; i < n; i++)
		ids[i] = list[i].identifier;
	rc = sort_identifiers(ids, n, order, culprit);
	for (i = 0; rc == FROST_OK && i < n; i++)
	{
		const frost_commitment *c = &list[order[i]];
		uint8_t    *dst = out + i * FROST_COMMITMENT_ENC_LEN;

		identifier_encode(c->identifier, dst);
		memcpy(dst + FROST_SCALAR_LEN, c->hiding, FROST_ELEMENT_LEN);
		memcpy(dst + FROST_SCALAR_LEN + FROST_ELEMENT_LEN, c->binding,
			   FROST_ELEMENT_LEN);
	}
	return rc;
}

int
frost_share_list_decode(const uint8_t *data, size_t len,
						frost_signature_share *out, size_t cap,
						size_t *n_out, int *culprit)
{
	int			ids[FROST_MAX_SIGNERS];
	uint8_t		order[FROST_MAX_SIGNERS];
	size_t		n = 0,
				i;
	int			rc;

	set_culprit(culprit, 0);
	if (n_out != NULL)
		*n_out = 0;
	if (data == NULL || out == NULL || n_out == NULL)
		return FROST_ERR_ARGUMENT;
	rc = decode_identifiers(data, len, FROST_SHARE_ENC_LEN, cap, ids, order,
							&n, culprit);
	for (i = 0; rc == FROST_OK && i < n; i++)
	{
		const uint8_t *z = data + order[i] * FROST_SHARE_ENC_LEN
			+ FROST_SCALAR_LEN;

		rc = frost_scalar_check(z);
		if (rc != FROST_OK)
		{
			set_culprit(culprit, ids[order[i]]);
			break;
		}
		out[i].identifier = ids[order[i]];
		memcpy(out[i].share, z, FROST_SCALAR_LEN);
	}
	if (rc == FROST_OK)
		*n_out = n;
	return rc;
}

int
frost_share_list_encode(const frost_signature_share *list, size_t n,
						uint8_t *out, int *culprit)
{
	int			ids[FROST_MAX_SIGNERS];
	uint8_t		order[FROST_MAX_SIGNERS];
	size_t		i;
	int			rc;

	set_culprit(culprit, 0);
	if (list == NULL || out == NULL)
		return FROST_ERR_ARGUMENT;
	if (n == 0 || n > FROST_MAX_SIGNERS)
		return FROST_ERR_COUNT;
	for (i = 0; i < n; i++)
		ids[i] = list[i].identifier;
	rc = sort_identifiers(ids, n, order, culprit);
	for (i = 0; rc == FROST_OK && i < n; i++)
	{
		const frost_signature_share *s = &list[order[i]];
		uint8_t    *dst = out + i * FROST_SHARE_ENC_LEN;

		rc = frost_scalar_check(s->share);
		if (rc != FROST_OK)
		{
			set_culprit(culprit, s->identifier);
			break;
		}
		identifier_encode(s->identifier, dst);
		memcpy(dst + FROST_SCALAR_LEN, s->share, FROST_SCALAR_LEN);
	}
	return rc;
}

/* ------------------------------------------------------------ session */

static void
session_close(fr_session *s)
{
	free(s->e);
	s->e = NULL;
	tools_close(&s->t);
}

/* Copy the commitments into s->e in identifier order, decoding each. */
static int
session_load(fr_session *s, const frost_commitment *list, int *culprit)
{
	uint8_t		order[FROST_MAX_SIGNERS];
	size_t		i;
	int			rc;

	for (i = 0; i < s->n; i++)
		s->ids[i] = list[i].identifier;
	rc = sort_identifiers(s->ids, s->n, order, culprit);
	if (rc != FROST_OK)
		return rc;
	for (i = 0; i < s->n; i++)
	{
		const frost_commitment *c = &list[order[i]];
		fr_entry   *e = &s->e[i];

		e->id = c->identifier;
		s->ids[i] = e->id;
		s->pos[e->id] = (int) i + 1;
		rc = element_decode(s->ctx, c->hiding, &e->hiding);
		if (rc == FROST_OK)
			rc = element_decode(s->ctx, c->binding, &e->binding);
		if (rc != FROST_OK)
		{
			set_culprit(culprit, e->id);
			return rc;
		}
		identifier_encode(e->id, e->enc);
		memcpy(e->enc + FROST_SCALAR_LEN, c->hiding, FROST_ELEMENT_LEN);
		memcpy(e->enc + FROST_SCALAR_LEN + FROST_ELEMENT_LEN, c->binding,
			   FROST_ELEMENT_LEN);
	}
	return FROST_OK;
}

/* compute_binding_factors: the rho_input prefix, then rho_i = H1(...). */
static int
session_binding_factors(fr_session *s)
{
	static const char msg_label[] = "msg";
	static const char com_label[] = "com";
	fr_piece	p[2 + FROST_MAX_SIGNERS];
	uint8_t    *prefix = s->prefix;
	size_t		i;
	int			rc;

	/* H4(msg) */
	p[0] = (fr_piece) {(const uint8_t *) context_string, CONTEXT_LEN};
	p[1] = (fr_piece) {(const uint8_t *) msg_label, 3};
	p[2] = (fr_piece) {s->msg, s->msg_len};
	rc = sha256_pieces(&s->t, p, 3, prefix + FROST_ELEMENT_LEN);

	/* H5(encode_group_commitment_list(commitment_list)) */
	p[1] = (fr_piece) {(const uint8_t *) com_label, 3};
	for (i = 0; i < s->n; i++)
		p[2 + i] = (fr_piece) {s->e[i].enc, FROST_COMMITMENT_ENC_LEN};
	if (rc == FROST_OK)
		rc = sha256_pieces(&s->t, p, 2 + (int) s->n,
						   prefix + FROST_ELEMENT_LEN + HASH_LEN);

	for (i = 0; rc == FROST_OK && i < s->n; i++)
	{
		p[0] = (fr_piece) {prefix, PREFIX_LEN};
		p[1] = (fr_piece) {s->e[i].enc, FROST_SCALAR_LEN};
		rc = hash_to_scalar(&s->t, "rho", p, 2, s->e[i].rho);
	}
	return rc;
}

/*
 * Everything up to the binding factors.  On error the session is closed
 * already; on success the caller must call session_close.
 */
static int
session_open(fr_session *s, const secp256k1_context *ctx,
			 const uint8_t group_public_key[FROST_ELEMENT_LEN],
			 const frost_commitment *list, size_t n,
			 const uint8_t *msg, size_t msg_len, int *culprit)
{
	int			rc;

	memset(s, 0, sizeof(*s));
	set_culprit(culprit, 0);
	if (ctx == NULL || group_public_key == NULL || list == NULL
		|| (msg == NULL && msg_len > 0))
		return FROST_ERR_ARGUMENT;
	if (n == 0 || n > FROST_MAX_SIGNERS)
		return FROST_ERR_COUNT;
	s->ctx = ctx;
	s->n = n;
	s->msg = msg;
	s->msg_len = msg_len;
	rc = tools_open(&s->t);
	if (rc == FROST_OK)
	{
		s->e = calloc(n, sizeof(fr_entry));
		if (s->e == NULL)
			rc = FROST_ERR_NO_MEMORY;
	}
	if (rc == FROST_OK)
		rc = element_decode(ctx, group_public_key, &s->pk);
	if (rc == FROST_OK)
	{
		memcpy(s->prefix, group_public_key, FROST_ELEMENT_LEN);
		rc = session_load(s, list, culprit);
	}
	if (rc == FROST_OK)
		rc = session_binding_factors(s);
	if (rc != FROST_OK)
		session_close(s);
	return rc;
}

/*
 * compute_group_commitment, keeping each D_i + rho_i * E_i for share
 * verification, then compute_challenge.  Closes the session on error.
 */
static int
session_commit(fr_session *s)
{
	fr_point	R = {1, {{0}}};
	fr_point	hiding;
	fr_point	binding;
	fr_piece	p[3];
	size_t		i;
	int			rc = FROST_OK;

	for (i = 0; i < s->n; i++)
	{
		fr_entry   *e = &s->e[i];

		point_from_pubkey(&e->hiding, &hiding);
		point_from_pubkey(&e->binding, &binding);
		rc = point_mul(s->ctx, &binding, e->rho, &binding);
		if (rc != FROST_OK)
			break;
		point_add(s->ctx, &hiding, &binding, &e->share_commitment);
		point_add(s->ctx, &R, &e->share_commitment, &R);
	}
	if (rc == FROST_OK)
		rc = point_encode(s->ctx, &R, s->R);
	if (rc == FROST_OK)
	{
		p[0] = (fr_piece) {s->R, FROST_ELEMENT_LEN};
		p[1] = (fr_piece) {s->prefix, FROST_ELEMENT_LEN};
		p[2] = (fr_piece) {s->msg, s->msg_len};
		rc = hash_to_scalar(&s->t, "chal", p, 3, s->c);
	}
	if (rc != FROST_OK)
		session_close(s);
	return rc;
}

/* Index of a signer in the session, or -1. */
static int
session_find(const fr_session *s, int id)
{
	if (identifier_check(id) != FROST_OK)
		return -1;
	return s->pos[id] - 1;
}

/* verify_signature_share for entry i against public key share pk_i. */
static int
session_verify_share(fr_session *s, size_t i, const secp256k1_pubkey *pk_i,
					 const uint8_t z[FROST_SCALAR_LEN])
{
	const fr_entry *e = &s->e[i];
	uint8_t		lambda[FROST_SCALAR_LEN];
	uint8_t		u[FROST_SCALAR_LEN];
	fr_point	l;
	fr_point	r;
	int			rc;

	rc = lagrange(&s->t, e->id, s->ids, s->n, lambda);
	if (rc == FROST_OK)
		rc = scalar_muladd(&s->t, s->c, lambda, NULL, u);
	if (rc == FROST_OK)
		rc = point_base_mul(s->ctx, z, &l);
	if (rc == FROST_OK)
	{
		point_from_pubkey(pk_i, &r);
		rc = point_mul(s->ctx, &r, u, &r);
	}
	if (rc == FROST_OK)
	{
		point_add(s->ctx, &e->share_commitment, &r, &r);
		if (!point_equal(s->ctx, &l, &r))
			rc = FROST_ERR_INVALID_SHARE;
	}
	return rc;
}

/* ------------------------------------------------------- public calls */

int
frost_compute_binding_factors(const secp256k1_context *ctx,
							  const uint8_t group_public_key[FROST_ELEMENT_LEN],
							  const frost_commitment *commitments, size_t n,
							  const uint8_t *msg, size_t msg_len,
							  frost_binding_factor *out, int *culprit)
{
	fr_session	s;
	size_t		i;
	int			rc;

	if (out == NULL)
		return FROST_ERR_ARGUMENT;
	rc = session_open(&s, ctx, group_public_key, commitments, n, msg,
					  msg_len, culprit);
	if (rc != FROST_OK)
		return rc;
	for (i = 0; i < n; i++)
	{
		out[i].identifier = s.e[i].id;
		memcpy(out[i].input, s.prefix, PREFIX_LEN);
		memcpy(out[i].input + PREFIX_LEN, s.e[i].enc, FROST_SCALAR_LEN);
		memcpy(out[i].factor, s.e[i].rho, FROST_SCALAR_LEN);
	}
	session_close(&s);
	return FROST_OK;
}

int
frost_group_commitment(const secp256k1_context *ctx,
					   const uint8_t group_public_key[FROST_ELEMENT_LEN],
					   const frost_commitment *commitments, size_t n,
					   const uint8_t *msg, size_t msg_len,
					   uint8_t group_commitment[FROST_ELEMENT_LEN],
					   int *culprit)
{
	fr_session	s;
	int			rc;

	if (group_commitment == NULL)
		return FROST_ERR_ARGUMENT;
	rc = session_open(&s, ctx, group_public_key, commitments, n, msg,
					  msg_len, culprit);
	if (rc == FROST_OK)
		rc = session_commit(&s);
	if (rc != FROST_OK)
		return rc;
	memcpy(group_commitment, s.R, FROST_ELEMENT_LEN);
	session_close(&s);
	return FROST_OK;
}

int
frost_challenge(const uint8_t group_commitment[FROST_ELEMENT_LEN],
				const uint8_t group_public_key[FROST_ELEMENT_LEN],
				const uint8_t *msg, size_t msg_len,
				uint8_t challenge[FROST_SCALAR_LEN])
{
	fr_tools	t;
	fr_piece	p[3];
	int			rc;

	if (group_commitment == NULL || group_public_key == NULL
		|| challenge == NULL || (msg == NULL && msg_len > 0))
		return FROST_ERR_ARGUMENT;
	rc = tools_open(&t);
	p[0] = (fr_piece) {group_commitment, FROST_ELEMENT_LEN};
	p[1] = (fr_piece) {group_public_key, FROST_ELEMENT_LEN};
	p[2] = (fr_piece) {msg, msg_len};
	if (rc == FROST_OK)
		rc = hash_to_scalar(&t, "chal", p, 3, challenge);
	tools_close(&t);
	return rc;
}

int
frost_lagrange_coefficient(int identifier, const int *identifiers, size_t n,
						   uint8_t coefficient[FROST_SCALAR_LEN])
{
	uint8_t		order[FROST_MAX_SIGNERS];
	fr_tools	t;
	size_t		i;
	int			rc;

	if (identifiers == NULL || coefficient == NULL)
		return FROST_ERR_ARGUMENT;
	if (n == 0 || n > FROST_MAX_SIGNERS)
		return FROST_ERR_COUNT;
	rc = sort_identifiers(identifiers, n, order, NULL);
	if (rc != FROST_OK)
		return rc;
	for (i = 0; i < n && identifiers[i] != identifier; i++)
		;
	if (i == n)
		return FROST_ERR_UNKNOWN_IDENTIFIER;
	rc = tools_open(&t);
	if (rc == FROST_OK)
		rc = lagrange(&t, identifier, identifiers, n, coefficient);
	tools_close(&t);
	return rc;
}

int
frost_nonce_generate(const uint8_t random_bytes[32],
					 const uint8_t secret_share[FROST_SCALAR_LEN],
					 uint8_t nonce[FROST_SCALAR_LEN])
{
	fr_tools	t;
	fr_piece	p[2];
	int			rc;

	if (random_bytes == NULL || secret_share == NULL || nonce == NULL)
		return FROST_ERR_ARGUMENT;
	rc = frost_scalar_check(secret_share);
	if (rc != FROST_OK)
		return rc;
	rc = tools_open(&t);
	p[0] = (fr_piece) {random_bytes, 32};
	p[1] = (fr_piece) {secret_share, FROST_SCALAR_LEN};
	if (rc == FROST_OK)
		rc = hash_to_scalar(&t, "nonce", p, 2, nonce);
	tools_close(&t);
	/* a zero nonce has probability 2^-256, but would commit to the identity */
	if (rc == FROST_OK && scalar_is_zero(nonce))
		rc = FROST_ERR_ZERO_SCALAR;
	if (rc != FROST_OK)
		wipe(nonce, FROST_SCALAR_LEN);
	return rc;
}

/* nonce * G, encoded; nonces are non-zero scalars. */
static int
commit_one(const secp256k1_context *ctx, const uint8_t nonce[FROST_SCALAR_LEN],
		   uint8_t out[FROST_ELEMENT_LEN])
{
	fr_point	p;
	int			rc;

	rc = nonzero_scalar_check(nonce);
	if (rc == FROST_OK)
		rc = point_base_mul(ctx, nonce, &p);
	if (rc == FROST_OK)
		rc = point_encode(ctx, &p, out);
	return rc;
}

int
frost_commit(const secp256k1_context *ctx,
			 const uint8_t hiding_nonce[FROST_SCALAR_LEN],
			 const uint8_t binding_nonce[FROST_SCALAR_LEN],
			 uint8_t hiding_commitment[FROST_ELEMENT_LEN],
			 uint8_t binding_commitment[FROST_ELEMENT_LEN])
{
	int			rc;

	if (ctx == NULL || hiding_nonce == NULL || binding_nonce == NULL
		|| hiding_commitment == NULL || binding_commitment == NULL)
		return FROST_ERR_ARGUMENT;
	rc = commit_one(ctx, hiding_nonce, hiding_commitment);
	if (rc == FROST_OK)
		rc = commit_one(ctx, binding_nonce, binding_commitment);
	return rc;
}

/*
 * The RFC's round-two input check: the list must carry the signer's own
 * commitments, or a coordinator could make it sign for another R.
 */
static int
check_own_commitment(const fr_session *s, const fr_entry *e,
					 const uint8_t hiding_nonce[FROST_SCALAR_LEN],
					 const uint8_t binding_nonce[FROST_SCALAR_LEN])
{
	uint8_t		hiding[FROST_ELEMENT_LEN];
	uint8_t		binding[FROST_ELEMENT_LEN];
	int			rc;

	rc = commit_one(s->ctx, hiding_nonce, hiding);
	if (rc == FROST_OK)
		rc = commit_one(s->ctx, binding_nonce, binding);
	if (rc != FROST_OK)
		return rc;
	if (memcmp(hiding, e->enc + FROST_SCALAR_LEN, FROST_ELEMENT_LEN) != 0
		|| memcmp(binding, e->enc + FROST_SCALAR_LEN + FROST_ELEMENT_LEN,
				  FROST_ELEMENT_LEN) != 0)
		return FROST_ERR_COMMITMENT_MISMATCH;
	return FROST_OK;
}

/* z_i = d_i + e_i * rho_i + (lambda_i * c) * s_i */
static int
sign_share(fr_session *s, const fr_entry *e,
		   const uint8_t secret_share[FROST_SCALAR_LEN],
		   const uint8_t hiding_nonce[FROST_SCALAR_LEN],
		   const uint8_t binding_nonce[FROST_SCALAR_LEN],
		   uint8_t out[FROST_SCALAR_LEN])
{
	uint8_t		lambda[FROST_SCALAR_LEN];
	uint8_t		u[FROST_SCALAR_LEN];
	uint8_t		nonce_part[FROST_SCALAR_LEN];
	int			rc;

	rc = lagrange(&s->t, e->id, s->ids, s->n, lambda);
	if (rc == FROST_OK)
		rc = scalar_muladd(&s->t, lambda, s->c, NULL, u);
	if (rc == FROST_OK)
		rc = scalar_muladd(&s->t, binding_nonce, e->rho, hiding_nonce,
						   nonce_part);
	if (rc == FROST_OK)
		rc = scalar_muladd(&s->t, u, secret_share, nonce_part, out);
	wipe(nonce_part, sizeof(nonce_part));
	return rc;
}

int
frost_sign(const secp256k1_context *ctx, int identifier,
		   const uint8_t secret_share[FROST_SCALAR_LEN],
		   const uint8_t group_public_key[FROST_ELEMENT_LEN],
		   const uint8_t hiding_nonce[FROST_SCALAR_LEN],
		   const uint8_t binding_nonce[FROST_SCALAR_LEN],
		   const frost_commitment *commitments, size_t n,
		   const uint8_t *msg, size_t msg_len,
		   uint8_t signature_share[FROST_SCALAR_LEN], int *culprit)
{
	fr_session	s;
	int			i;
	int			rc;

	set_culprit(culprit, 0);
	if (secret_share == NULL || hiding_nonce == NULL || binding_nonce == NULL
		|| signature_share == NULL)
		return FROST_ERR_ARGUMENT;
	rc = frost_scalar_check(secret_share);
	if (rc != FROST_OK)
		return rc;
	rc = session_open(&s, ctx, group_public_key, commitments, n, msg,
					  msg_len, culprit);
	if (rc != FROST_OK)
		return rc;
	i = session_find(&s, identifier);
	if (i < 0)
		rc = FROST_ERR_UNKNOWN_IDENTIFIER;
	else
		rc = check_own_commitment(&s, &s.e[i], hiding_nonce, binding_nonce);
	if (rc != FROST_OK)
	{
		set_culprit(culprit, identifier);
		session_close(&s);
		return rc;
	}
	rc = session_commit(&s);
	if (rc != FROST_OK)
		return rc;
	rc = sign_share(&s, &s.e[i], secret_share, hiding_nonce, binding_nonce,
					signature_share);
	session_close(&s);
	if (rc != FROST_OK)
		wipe(signature_share, FROST_SCALAR_LEN);
	return rc;
}

int
frost_verify_signature_share(const secp256k1_context *ctx, int identifier,
							 const uint8_t verifying_share[FROST_ELEMENT_LEN],
							 const uint8_t signature_share[FROST_SCALAR_LEN],
							 const frost_commitment *commitments, size_t n,
							 const uint8_t group_public_key[FROST_ELEMENT_LEN],
							 const uint8_t *msg, size_t msg_len,
							 int *culprit)
{
	fr_session	s;
	secp256k1_pubkey pk_i;
	int			i;
	int			rc;

	set_culprit(culprit, 0);
	if (ctx == NULL || verifying_share == NULL || signature_share == NULL)
		return FROST_ERR_ARGUMENT;
	rc = session_open(&s, ctx, group_public_key, commitments, n, msg,
					  msg_len, culprit);
	if (rc != FROST_OK)
		return rc;
	i = session_find(&s, identifier);
	if (i < 0)
		rc = FROST_ERR_UNKNOWN_IDENTIFIER;
	else
		rc = element_decode(ctx, verifying_share, &pk_i);
	if (rc == FROST_OK)
		rc = frost_scalar_check(signature_share);
	if (rc != FROST_OK)
	{
		set_culprit(culprit, identifier);
		session_close(&s);
		return rc;
	}
	rc = session_commit(&s);
	if (rc != FROST_OK)
		return rc;
	rc = session_verify_share(&s, (size_t) i, &pk_i, signature_share);
	if (rc == FROST_ERR_INVALID_SHARE)
		set_culprit(culprit, identifier);
	session_close(&s);
	return rc;
}

/* Match the shares one to one with the session's signers. */
static int
attach_shares(fr_session *s, const frost_signature_share *shares,
			  size_t n_shares, int *culprit)
{
	size_t		k;
	int			rc;

	if (shares == NULL && n_shares > 0)
		return FROST_ERR_ARGUMENT;
	if (n_shares > FROST_MAX_SIGNERS)
		return FROST_ERR_COUNT;
	for (k = 0; k < n_shares; k++)
	{
		int			id = shares[k].identifier;
		int			i;

		set_culprit(culprit, id);
		rc = identifier_check(id);
		if (rc != FROST_OK)
			return rc;
		i = session_find(s, id);
		if (i < 0)
			return FROST_ERR_UNKNOWN_IDENTIFIER;
		if (s->e[i].z != NULL)
			return FROST_ERR_DUPLICATE_IDENTIFIER;
		rc = frost_scalar_check(shares[k].share);
		if (rc != FROST_OK)
			return rc;
		s->e[i].z = shares[k].share;
	}
	for (k = 0; k < s->n; k++)
		if (s->e[k].z == NULL)
		{
			set_culprit(culprit, s->e[k].id);
			return FROST_ERR_MISSING_SHARE;
		}
	set_culprit(culprit, 0);
	return FROST_OK;
}

/* Find each signer's public key share among the group's. */
static int
attach_verifying_shares(fr_session *s, const frost_verifying_share *vs,
						size_t n_vs, int *culprit)
{
	uint8_t		seen[FROST_MAX_SIGNERS + 1] = {0};
	size_t		k;
	int			rc;

	if (n_vs > FROST_MAX_SIGNERS)
		return FROST_ERR_COUNT;
	for (k = 0; k < n_vs; k++)
	{
		int			id = vs[k].identifier;
		int			i;

		set_culprit(culprit, id);
		rc = identifier_check(id);
		if (rc != FROST_OK)
			return rc;
		if (seen[id])
			return FROST_ERR_DUPLICATE_IDENTIFIER;
		seen[id] = 1;
		i = session_find(s, id);
		if (i < 0)
			continue;
		rc = element_decode(s->ctx, vs[k].element, &s->e[i].verifying);
		if (rc != FROST_OK)
			return rc;
		s->e[i].has_verifying = 1;
	}
	for (k = 0; k < s->n; k++)
		if (!s->e[k].has_verifying)
		{
			set_culprit(culprit, s->e[k].id);
			return FROST_ERR_UNKNOWN_IDENTIFIER;
		}
	set_culprit(culprit, 0);
	return FROST_OK;
}

/* Verify every share in identifier order; name the first bad one. */
static int
verify_all_shares(fr_session *s, int *culprit)
{
	size_t		i;
	int			rc;

	for (i = 0; i < s->n; i++)
	{
		rc = session_verify_share(s, i, &s->e[i].verifying, s->e[i].z);
		if (rc != FROST_OK)
		{
			set_culprit(culprit, s->e[i].id);
			return rc;
		}
	}
	return FROST_OK;
}

int
frost_aggregate(const secp256k1_context *ctx,
				const frost_commitment *commitments, size_t n,
				const uint8_t *msg, size_t msg_len,
				const uint8_t group_public_key[FROST_ELEMENT_LEN],
				const frost_signature_share *shares, size_t n_shares,
				const frost_verifying_share *verifying_shares,
				size_t n_verifying,
				uint8_t signature[FROST_SIGNATURE_LEN], int *culprit)
{
	fr_session	s;
	uint8_t		z[FROST_SCALAR_LEN] = {0};
	size_t		i;
	int			rc;

	set_culprit(culprit, 0);
	if (signature == NULL)
		return FROST_ERR_ARGUMENT;
	rc = session_open(&s, ctx, group_public_key, commitments, n, msg,
					  msg_len, culprit);
	if (rc != FROST_OK)
		return rc;
	rc = attach_shares(&s, shares, n_shares, culprit);
	if (rc == FROST_OK && verifying_shares != NULL)
		rc = attach_verifying_shares(&s, verifying_shares, n_verifying,
									 culprit);
	if (rc != FROST_OK)
	{
		session_close(&s);
		return rc;
	}
	rc = session_commit(&s);
	if (rc != FROST_OK)
		return rc;
	if (verifying_shares != NULL)
		rc = verify_all_shares(&s, culprit);
	for (i = 0; rc == FROST_OK && i < s.n; i++)
		rc = scalar_add(&s.t, z, s.e[i].z, z);
	if (rc == FROST_OK)
	{
		memcpy(signature, s.R, FROST_ELEMENT_LEN);
		memcpy(signature + FROST_ELEMENT_LEN, z, FROST_SCALAR_LEN);
	}
	session_close(&s);
	return rc;
}

int
frost_verify(const secp256k1_context *ctx,
			 const uint8_t group_public_key[FROST_ELEMENT_LEN],
			 const uint8_t *msg, size_t msg_len,
			 const uint8_t signature[FROST_SIGNATURE_LEN])
{
	const uint8_t *z = signature + FROST_ELEMENT_LEN;
	secp256k1_pubkey pk;
	secp256k1_pubkey Rp;
	uint8_t		c[FROST_SCALAR_LEN];
	fr_point	l;
	fr_point	r;
	fr_point	R;
	int			rc;

	if (ctx == NULL || group_public_key == NULL || signature == NULL
		|| (msg == NULL && msg_len > 0))
		return FROST_ERR_ARGUMENT;
	rc = element_decode(ctx, group_public_key, &pk);
	if (rc == FROST_OK)
		rc = element_decode(ctx, signature, &Rp);
	if (rc == FROST_OK)
		rc = frost_scalar_check(z);
	if (rc == FROST_OK)
		rc = frost_challenge(signature, group_public_key, msg, msg_len, c);
	if (rc == FROST_OK)
		rc = point_base_mul(ctx, z, &l);
	if (rc == FROST_OK)
	{
		point_from_pubkey(&pk, &r);
		rc = point_mul(ctx, &r, c, &r);
	}
	if (rc != FROST_OK)
		return rc;
	point_from_pubkey(&Rp, &R);
	point_add(ctx, &R, &r, &r);
	return point_equal(ctx, &l, &r) ? FROST_OK : FROST_ERR_INVALID_SIGNATURE;
}

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
			rc = random_scalar(random_fn, random_arg, coef[j]);
		else
		{
			rc = nonzero_scalar_check(given);
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

	identifier_encode(x, xs);
	share->identifier = x;
	memcpy(y, coef[min_signers - 1], FROST_SCALAR_LEN);
	for (j = min_signers - 2; rc == FROST_OK && j >= 0; j--)
		rc = scalar_muladd(t, y, xs, coef[j], y);
	/* a zero share (crafted coefficients) has no encodable public key */
	if (rc == FROST_OK)
		rc = point_base_mul(ctx, y, &p);
	if (rc == FROST_OK)
		rc = point_encode(ctx, &p, share->verifying_share);
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

		rc = point_base_mul(ctx, coef[j], &p);
		if (rc == FROST_OK)
			rc = point_encode(ctx, &p, enc);
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
		rc = tools_open(&t);
	else
		memset(&t, 0, sizeof(t));
	for (x = 1; rc == FROST_OK && x <= max_signers; x++)
		rc = keygen_share(ctx, &t, coef, min_signers, x, &shares[x - 1]);
	if (rc == FROST_OK)
		rc = keygen_commitments(ctx, coef, min_signers, group_public_key,
								vss_commitment);
	tools_close(&t);
	wipe(coef, sizeof(coef));
	if (rc != FROST_OK)
		wipe(shares, (size_t) max_signers * sizeof(frost_key_share));
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
	rc = identifier_check(identifier);
	if (rc == FROST_OK)
		rc = frost_scalar_check(signing_share);
	if (rc != FROST_OK)
		return rc;
	identifier_encode(identifier, xs);
	identifier_encode(1, power);
	rc = tools_open(&t);
	for (j = 0; rc == FROST_OK && j < min_signers; j++)
	{
		/* S_i' += C_j * i^j */
		rc = element_decode(ctx, vss_commitment + (size_t) j * FROST_ELEMENT_LEN,
							&c);
		if (rc != FROST_OK)
			break;
		point_from_pubkey(&c, &term);
		rc = point_mul(ctx, &term, power, &term);
		if (rc == FROST_OK)
			rc = scalar_muladd(&t, power, xs, NULL, power);
		if (rc == FROST_OK)
			point_add(ctx, &rhs, &term, &rhs);
	}
	tools_close(&t);
	if (rc == FROST_OK)
		rc = point_base_mul(ctx, signing_share, &lhs);
	if (rc != FROST_OK)
		return rc;
	return point_equal(ctx, &lhs, &rhs) ? FROST_OK : FROST_ERR_INVALID_SHARE;
}
