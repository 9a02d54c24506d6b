/*-------------------------------------------------------------------------
 *
 * frost_internal.h
 *	  Private to the FROST implementation: the types and the helpers its
 *	  files share.  Callers use frost.h; only frost.c, frost_group.c,
 *	  frost_codec.c, frost_sign.c and frost_keygen.c include this header.
 *
 * Functions shared between those files carry the prefix fr_ (FROST
 * internals): they are linked into the server's shared library, where a
 * plain global name such as point_add() could collide with another one.
 * Scalars are 32-byte big-endian arrays, elements 33-byte compressed SEC1
 * points, as in frost.h; every int function returns FROST_OK or a
 * frost_error unless its comment says otherwise.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_FROST_INTERNAL_H
#define TPWALLET_FROST_INTERNAL_H

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "frost.h"

#define FR_CONTEXT_STRING	"FROST-secp256k1-SHA256-v1"
#define FR_CONTEXT_LEN		(sizeof(FR_CONTEXT_STRING) - 1)
#define FR_HASH_LEN			32

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

/* frost.c: helpers every file uses */

/* Set *culprit to id, unless culprit is NULL. */
extern void fr_set_culprit(int *culprit, int id);
/* Clear len bytes at p (OPENSSL_cleanse: not optimized away). */
extern void fr_wipe(void *p, size_t len);

/* frost_group.c: scalars */

/* 1 when s is zero, else 0; constant time. */
extern int	fr_scalar_is_zero(const uint8_t s[FROST_SCALAR_LEN]);
/* frost_scalar_check, and non-zero too (secrets, nonces). */
extern int	fr_nonzero_scalar_check(const uint8_t s[FROST_SCALAR_LEN]);
/* Identifier id as the 32-byte scalar the wire formats carry. */
extern void fr_identifier_encode(int id, uint8_t out[FROST_SCALAR_LEN]);
/* FROST_OK when id is an identifier, 1..FROST_MAX_SIGNERS. */
extern int	fr_identifier_check(int id);
/* Allocate what one call needs from OpenSSL; close it even on failure. */
extern int	fr_tools_open(fr_tools *t);
/* Free what fr_tools_open allocated. */
extern void fr_tools_close(fr_tools *t);
/* out = (a * b + c) mod n; c may be NULL for 0. */
extern int	fr_scalar_muladd(fr_tools *t, const uint8_t a[FROST_SCALAR_LEN],
							 const uint8_t b[FROST_SCALAR_LEN],
							 const uint8_t *c, uint8_t out[FROST_SCALAR_LEN]);
/* out = (a + b) mod n */
extern int	fr_scalar_add(fr_tools *t, const uint8_t a[FROST_SCALAR_LEN],
						  const uint8_t b[FROST_SCALAR_LEN],
						  uint8_t out[FROST_SCALAR_LEN]);
/* derive_interpolating_value: the Lagrange coefficient of id over ids. */
extern int	fr_lagrange(fr_tools *t, int id, const int *ids, size_t n,
						uint8_t out[FROST_SCALAR_LEN]);
/* Rejection sampling (RFC 9591 appendix D) of a non-zero scalar. */
extern int	fr_random_scalar(frost_random_fn random_fn, void *arg,
							 uint8_t out[FROST_SCALAR_LEN]);

/* frost_group.c: hashes */

/* SHA-256 of the pieces p[0..np-1], in order. */
extern int	fr_sha256_pieces(fr_tools *t, const fr_piece *p, int np,
							 uint8_t out[FR_HASH_LEN]);
/* hash_to_field(msg, 1) into the scalar field: H1, H2 and H3. */
extern int	fr_hash_to_scalar(fr_tools *t, const char *label,
							  const fr_piece *msg, int nmsg,
							  uint8_t out[FROST_SCALAR_LEN]);

/* frost_group.c: points */

/* DeserializeElement; a leading 0x00 is reported as the identity. */
extern int	fr_element_decode(const secp256k1_context *ctx,
							  const uint8_t in[FROST_ELEMENT_LEN],
							  secp256k1_pubkey *out);
/* SerializeElement: the identity is an error. */
extern int	fr_point_encode(const secp256k1_context *ctx, const fr_point *a,
							uint8_t out[FROST_ELEMENT_LEN]);
/* A decoded element (never the identity) as an fr_point. */
extern void fr_point_from_pubkey(const secp256k1_pubkey *p, fr_point *out);
/* ScalarBaseMult; s must be below n. */
extern int	fr_point_base_mul(const secp256k1_context *ctx,
							  const uint8_t s[FROST_SCALAR_LEN],
							  fr_point *out);
/* ScalarMult; s must be below n. */
extern int	fr_point_mul(const secp256k1_context *ctx, const fr_point *a,
						 const uint8_t s[FROST_SCALAR_LEN], fr_point *out);
/* out = a + b; the identity included, on either side or as the sum. */
extern void fr_point_add(const secp256k1_context *ctx, const fr_point *a,
						 const fr_point *b, fr_point *out);
/* 1 when a and b are the same element, else 0. */
extern int	fr_point_equal(const secp256k1_context *ctx, const fr_point *a,
						   const fr_point *b);

/* frost_codec.c: identifier lists */

/* Check ids, sort indices 0..n-1 into order[] by identifier, no duplicates. */
extern int	fr_sort_identifiers(const int *ids, size_t n, uint8_t *order,
								int *culprit);

#endif							/* TPWALLET_FROST_INTERNAL_H */
