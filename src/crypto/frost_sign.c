/*-------------------------------------------------------------------------
 *
 * frost_sign.c
 *	  FROST(secp256k1, SHA-256), RFC 9591: two-round signing.  Nonces and
 *	  commitments, binding factors, the group commitment and challenge,
 *	  Lagrange coefficients, signature shares, share verification,
 *	  aggregation and verification.
 *
 * Every call that takes a commitment list opens a session (fr_session):
 * the list decoded once in identifier order, the binding factors and,
 * after session_commit, the group commitment and the challenge, so that
 * signing, share verification and aggregation derive them the same way.
 *
 * The RFC's functions are followed step by step and keep its names in the
 * comments, so the code can be read against Sections 4 and 5.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "frost_internal.h"

#define PREFIX_LEN		(FROST_BINDING_INPUT_LEN - FROST_SCALAR_LEN)

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

/* ------------------------------------------------------------ session */

static void
session_close(fr_session *s)
{
	free(s->e);
	s->e = NULL;
	fr_tools_close(&s->t);
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
	rc = fr_sort_identifiers(s->ids, s->n, order, culprit);
	if (rc != FROST_OK)
		return rc;
	for (i = 0; i < s->n; i++)
	{
		const frost_commitment *c = &list[order[i]];
		fr_entry   *e = &s->e[i];

		e->id = c->identifier;
		s->ids[i] = e->id;
		s->pos[e->id] = (int) i + 1;
		rc = fr_element_decode(s->ctx, c->hiding, &e->hiding);
		if (rc == FROST_OK)
			rc = fr_element_decode(s->ctx, c->binding, &e->binding);
		if (rc != FROST_OK)
		{
			fr_set_culprit(culprit, e->id);
			return rc;
		}
		fr_identifier_encode(e->id, e->enc);
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
	p[0] = (fr_piece) {(const uint8_t *) FR_CONTEXT_STRING, FR_CONTEXT_LEN};
	p[1] = (fr_piece) {(const uint8_t *) msg_label, 3};
	p[2] = (fr_piece) {s->msg, s->msg_len};
	rc = fr_sha256_pieces(&s->t, p, 3, prefix + FROST_ELEMENT_LEN);

	/* H5(encode_group_commitment_list(commitment_list)) */
	p[1] = (fr_piece) {(const uint8_t *) com_label, 3};
	for (i = 0; i < s->n; i++)
		p[2 + i] = (fr_piece) {s->e[i].enc, FROST_COMMITMENT_ENC_LEN};
	if (rc == FROST_OK)
		rc = fr_sha256_pieces(&s->t, p, 2 + (int) s->n,
							  prefix + FROST_ELEMENT_LEN + FR_HASH_LEN);

	for (i = 0; rc == FROST_OK && i < s->n; i++)
	{
		p[0] = (fr_piece) {prefix, PREFIX_LEN};
		p[1] = (fr_piece) {s->e[i].enc, FROST_SCALAR_LEN};
		rc = fr_hash_to_scalar(&s->t, "rho", p, 2, s->e[i].rho);
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
	fr_set_culprit(culprit, 0);
	if (ctx == NULL || group_public_key == NULL || list == NULL
		|| (msg == NULL && msg_len > 0))
		return FROST_ERR_ARGUMENT;
	if (n == 0 || n > FROST_MAX_SIGNERS)
		return FROST_ERR_COUNT;
	s->ctx = ctx;
	s->n = n;
	s->msg = msg;
	s->msg_len = msg_len;
	rc = fr_tools_open(&s->t);
	if (rc == FROST_OK)
	{
		s->e = calloc(n, sizeof(fr_entry));
		if (s->e == NULL)
			rc = FROST_ERR_NO_MEMORY;
	}
	if (rc == FROST_OK)
		rc = fr_element_decode(ctx, group_public_key, &s->pk);
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

		fr_point_from_pubkey(&e->hiding, &hiding);
		fr_point_from_pubkey(&e->binding, &binding);
		rc = fr_point_mul(s->ctx, &binding, e->rho, &binding);
		if (rc != FROST_OK)
			break;
		fr_point_add(s->ctx, &hiding, &binding, &e->share_commitment);
		fr_point_add(s->ctx, &R, &e->share_commitment, &R);
	}
	if (rc == FROST_OK)
		rc = fr_point_encode(s->ctx, &R, s->R);
	if (rc == FROST_OK)
	{
		p[0] = (fr_piece) {s->R, FROST_ELEMENT_LEN};
		p[1] = (fr_piece) {s->prefix, FROST_ELEMENT_LEN};
		p[2] = (fr_piece) {s->msg, s->msg_len};
		rc = fr_hash_to_scalar(&s->t, "chal", p, 3, s->c);
	}
	if (rc != FROST_OK)
		session_close(s);
	return rc;
}

/* Index of a signer in the session, or -1. */
static int
session_find(const fr_session *s, int id)
{
	if (fr_identifier_check(id) != FROST_OK)
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

	rc = fr_lagrange(&s->t, e->id, s->ids, s->n, lambda);
	if (rc == FROST_OK)
		rc = fr_scalar_muladd(&s->t, s->c, lambda, NULL, u);
	if (rc == FROST_OK)
		rc = fr_point_base_mul(s->ctx, z, &l);
	if (rc == FROST_OK)
	{
		fr_point_from_pubkey(pk_i, &r);
		rc = fr_point_mul(s->ctx, &r, u, &r);
	}
	if (rc == FROST_OK)
	{
		fr_point_add(s->ctx, &e->share_commitment, &r, &r);
		if (!fr_point_equal(s->ctx, &l, &r))
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
	rc = fr_tools_open(&t);
	p[0] = (fr_piece) {group_commitment, FROST_ELEMENT_LEN};
	p[1] = (fr_piece) {group_public_key, FROST_ELEMENT_LEN};
	p[2] = (fr_piece) {msg, msg_len};
	if (rc == FROST_OK)
		rc = fr_hash_to_scalar(&t, "chal", p, 3, challenge);
	fr_tools_close(&t);
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
	rc = fr_sort_identifiers(identifiers, n, order, NULL);
	if (rc != FROST_OK)
		return rc;
	for (i = 0; i < n && identifiers[i] != identifier; i++)
		;
	if (i == n)
		return FROST_ERR_UNKNOWN_IDENTIFIER;
	rc = fr_tools_open(&t);
	if (rc == FROST_OK)
		rc = fr_lagrange(&t, identifier, identifiers, n, coefficient);
	fr_tools_close(&t);
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
	rc = fr_tools_open(&t);
	p[0] = (fr_piece) {random_bytes, 32};
	p[1] = (fr_piece) {secret_share, FROST_SCALAR_LEN};
	if (rc == FROST_OK)
		rc = fr_hash_to_scalar(&t, "nonce", p, 2, nonce);
	fr_tools_close(&t);
	/* a zero nonce has probability 2^-256, but would commit to the identity */
	if (rc == FROST_OK && fr_scalar_is_zero(nonce))
		rc = FROST_ERR_ZERO_SCALAR;
	if (rc != FROST_OK)
		fr_wipe(nonce, FROST_SCALAR_LEN);
	return rc;
}

/* nonce * G, encoded; nonces are non-zero scalars. */
static int
commit_one(const secp256k1_context *ctx, const uint8_t nonce[FROST_SCALAR_LEN],
		   uint8_t out[FROST_ELEMENT_LEN])
{
	fr_point	p;
	int			rc;

	rc = fr_nonzero_scalar_check(nonce);
	if (rc == FROST_OK)
		rc = fr_point_base_mul(ctx, nonce, &p);
	if (rc == FROST_OK)
		rc = fr_point_encode(ctx, &p, out);
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

	rc = fr_lagrange(&s->t, e->id, s->ids, s->n, lambda);
	if (rc == FROST_OK)
		rc = fr_scalar_muladd(&s->t, lambda, s->c, NULL, u);
	if (rc == FROST_OK)
		rc = fr_scalar_muladd(&s->t, binding_nonce, e->rho, hiding_nonce,
							  nonce_part);
	if (rc == FROST_OK)
		rc = fr_scalar_muladd(&s->t, u, secret_share, nonce_part, out);
	fr_wipe(nonce_part, sizeof(nonce_part));
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

	fr_set_culprit(culprit, 0);
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
		fr_set_culprit(culprit, identifier);
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
		fr_wipe(signature_share, FROST_SCALAR_LEN);
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

	fr_set_culprit(culprit, 0);
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
		rc = fr_element_decode(ctx, verifying_share, &pk_i);
	if (rc == FROST_OK)
		rc = frost_scalar_check(signature_share);
	if (rc != FROST_OK)
	{
		fr_set_culprit(culprit, identifier);
		session_close(&s);
		return rc;
	}
	rc = session_commit(&s);
	if (rc != FROST_OK)
		return rc;
	rc = session_verify_share(&s, (size_t) i, &pk_i, signature_share);
	if (rc == FROST_ERR_INVALID_SHARE)
		fr_set_culprit(culprit, identifier);
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

		fr_set_culprit(culprit, id);
		rc = fr_identifier_check(id);
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
			fr_set_culprit(culprit, s->e[k].id);
			return FROST_ERR_MISSING_SHARE;
		}
	fr_set_culprit(culprit, 0);
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

		fr_set_culprit(culprit, id);
		rc = fr_identifier_check(id);
		if (rc != FROST_OK)
			return rc;
		if (seen[id])
			return FROST_ERR_DUPLICATE_IDENTIFIER;
		seen[id] = 1;
		i = session_find(s, id);
		if (i < 0)
			continue;
		rc = fr_element_decode(s->ctx, vs[k].element, &s->e[i].verifying);
		if (rc != FROST_OK)
			return rc;
		s->e[i].has_verifying = 1;
	}
	for (k = 0; k < s->n; k++)
		if (!s->e[k].has_verifying)
		{
			fr_set_culprit(culprit, s->e[k].id);
			return FROST_ERR_UNKNOWN_IDENTIFIER;
		}
	fr_set_culprit(culprit, 0);
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
			fr_set_culprit(culprit, s->e[i].id);
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

	fr_set_culprit(culprit, 0);
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
		rc = fr_scalar_add(&s.t, z, s.e[i].z, z);
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
	rc = fr_element_decode(ctx, group_public_key, &pk);
	if (rc == FROST_OK)
		rc = fr_element_decode(ctx, signature, &Rp);
	if (rc == FROST_OK)
		rc = frost_scalar_check(z);
	if (rc == FROST_OK)
		rc = frost_challenge(signature, group_public_key, msg, msg_len, c);
	if (rc == FROST_OK)
		rc = fr_point_base_mul(ctx, z, &l);
	if (rc == FROST_OK)
	{
		fr_point_from_pubkey(&pk, &r);
		rc = fr_point_mul(ctx, &r, c, &r);
	}
	if (rc != FROST_OK)
		return rc;
	fr_point_from_pubkey(&Rp, &R);
	fr_point_add(ctx, &R, &r, &r);
	return fr_point_equal(ctx, &l, &r) ? FROST_OK : FROST_ERR_INVALID_SIGNATURE;
}
