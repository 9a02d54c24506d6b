/*-------------------------------------------------------------------------
 *
 * frost.h
 *	  FROST(secp256k1, SHA-256) threshold Schnorr signatures, RFC 9591.
 *
 * Exactly the RFC's ciphersuite: context string "FROST-secp256k1-SHA256-v1",
 * H1/H2/H3 = hash_to_field with expand_message_xmd(SHA-256), L = 48, DST =
 * context || "rho" / "chal" / "nonce"; H4 and H5 plain SHA-256 with the
 * "msg" and "com" labels.  Signatures are R (33 bytes, compressed SEC1) ||
 * z (32 bytes, big-endian) and verify as z*G == R + H2(R || PK || m)*PK.
 * They are NOT BIP-340 signatures (see schnorr.h for those).
 *
 * Encodings: scalars are 32-byte big-endian integers below the group order
 * n; elements are 33-byte compressed SEC1 points, never the identity;
 * identifiers are the integers 1..FROST_MAX_SIGNERS, which the wire
 * formats carry as 32-byte scalars.
 *
 * Every function validates its inputs strictly and returns FROST_OK (0) or
 * a negative frost_error.  Functions that take a list of participants also
 * take "int *culprit" (may be NULL): on error it is set to the identifier
 * at fault, or 0 when no single participant is to blame.  Lists need not
 * be sorted; they are sorted by identifier internally, as the RFC's
 * encodings require.  Outputs are only meaningful on FROST_OK.
 *
 * Plain C99 with libsecp256k1 (points) and OpenSSL libcrypto (SHA-256,
 * BIGNUM for scalars mod n); no PostgreSQL headers.  The caller owns the
 * secp256k1_context (create and randomize it once).  Nothing here reads a
 * random device: randomness comes from the caller, as bytes or through a
 * frost_random_fn.  Calls allocate with malloc (one work area per call,
 * sized by the number of participants) and through OpenSSL, and free
 * everything, wiping secrets, before they return; none of them longjmps,
 * so a random callback must not either (no ereport from inside it).
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_FROST_H
#define TPWALLET_FROST_H

#include <stddef.h>
#include <stdint.h>

#include <secp256k1.h>

#define FROST_SCALAR_LEN		32
#define FROST_ELEMENT_LEN		33
#define FROST_SIGNATURE_LEN		(FROST_ELEMENT_LEN + FROST_SCALAR_LEN)
#define FROST_MAX_SIGNERS		255
#define FROST_MIN_SIGNERS		2

/* identifier || hiding commitment || binding commitment */
#define FROST_COMMITMENT_ENC_LEN (FROST_SCALAR_LEN + 2 * FROST_ELEMENT_LEN)
/* identifier || signature share */
#define FROST_SHARE_ENC_LEN		(2 * FROST_SCALAR_LEN)
/* rho_input = group public key || H4(msg) || H5(commitment list) || id */
#define FROST_BINDING_INPUT_LEN (FROST_ELEMENT_LEN + 32 + 32 + FROST_SCALAR_LEN)

typedef enum
{
	FROST_OK = 0,
	FROST_ERR_ARGUMENT = -1,	/* NULL pointer or impossible size */
	FROST_ERR_MIN_SIGNERS = -2, /* min_signers < 2 */
	FROST_ERR_MAX_SIGNERS = -3, /* max_signers > 255 */
	FROST_ERR_MIN_GT_MAX = -4,	/* min_signers > max_signers */
	FROST_ERR_SCALAR_RANGE = -5,	/* scalar >= group order */
	FROST_ERR_ZERO_SCALAR = -6, /* zero where it is not allowed */
	FROST_ERR_IDENTIFIER_ZERO = -7,
	FROST_ERR_IDENTIFIER_RANGE = -8,	/* identifier > FROST_MAX_SIGNERS */
	FROST_ERR_DUPLICATE_IDENTIFIER = -9,
	FROST_ERR_UNKNOWN_IDENTIFIER = -10, /* not in the list it must be in */
	FROST_ERR_MISSING_SHARE = -11,	/* a committed signer sent no share */
	FROST_ERR_INVALID_ELEMENT = -12,	/* not a compressed point on the curve */
	FROST_ERR_IDENTITY = -13,	/* the identity element */
	FROST_ERR_COMMITMENT_MISMATCH = -14,	/* list has another commitment
											 * for the signer */
	FROST_ERR_COUNT = -15,		/* empty, too long, or a bad encoded length */
	FROST_ERR_INVALID_SHARE = -16,	/* a share fails verification */
	FROST_ERR_INVALID_SIGNATURE = -17,
	FROST_ERR_RANDOM = -18,		/* the random callback failed */
	FROST_ERR_NO_MEMORY = -19,
	FROST_ERR_INTERNAL = -20
} frost_error;

/* One participant's round-one commitments. */
typedef struct frost_commitment
{
	int			identifier;
	uint8_t		hiding[FROST_ELEMENT_LEN];
	uint8_t		binding[FROST_ELEMENT_LEN];
} frost_commitment;

/* One participant's round-two output. */
typedef struct frost_signature_share
{
	int			identifier;
	uint8_t		share[FROST_SCALAR_LEN];
} frost_signature_share;

/* A participant's public key share (the "group info" of the RFC). */
typedef struct frost_verifying_share
{
	int			identifier;
	uint8_t		element[FROST_ELEMENT_LEN];
} frost_verifying_share;

/* What the dealer hands participant `identifier`. */
typedef struct frost_key_share
{
	int			identifier;
	uint8_t		signing_share[FROST_SCALAR_LEN];	/* secret */
	uint8_t		verifying_share[FROST_ELEMENT_LEN]; /* signing_share * G */
} frost_key_share;

typedef struct frost_binding_factor
{
	int			identifier;
	uint8_t		input[FROST_BINDING_INPUT_LEN]; /* rho_input */
	uint8_t		factor[FROST_SCALAR_LEN];	/* H1(rho_input) */
} frost_binding_factor;

/*
 * Fill buf with len cryptographically strong random bytes; return 1 on
 * success, 0 on failure (pg_strong_random's contract).
 */
typedef int (*frost_random_fn) (void *arg, uint8_t *buf, size_t len);

/* Static lower-case message for a frost_error ("unknown frost error"). */
extern const char *frost_strerror(int err);

/* ------------------------------------------------------------ encodings */

/* FROST_OK, FROST_ERR_SCALAR_RANGE (>= n); zero is a valid scalar. */
extern int	frost_scalar_check(const uint8_t scalar[FROST_SCALAR_LEN]);

/* FROST_OK, FROST_ERR_IDENTITY (leading 0x00) or FROST_ERR_INVALID_ELEMENT. */
extern int	frost_element_check(const secp256k1_context *ctx,
								const uint8_t element[FROST_ELEMENT_LEN]);

/*
 * Commitment list wire format: the RFC's encode_group_commitment_list,
 * n * FROST_COMMITMENT_ENC_LEN bytes, 1 <= n <= FROST_MAX_SIGNERS.
 * Decoding checks every identifier and element, rejects duplicates and
 * writes the entries to out (room for cap) sorted by identifier.
 * Encoding sorts too, and checks identifiers (not elements); out needs
 * n * FROST_COMMITMENT_ENC_LEN bytes.
 */
extern int	frost_commitment_list_decode(const secp256k1_context *ctx,
										 const uint8_t *data, size_t len,
										 frost_commitment *out, size_t cap,
										 size_t *n_out, int *culprit);
extern int	frost_commitment_list_encode(const frost_commitment *list,
										 size_t n, uint8_t *out,
										 int *culprit);

/*
 * Signature share list wire format: n * (identifier || share), same rules:
 * each share below n, identifiers valid and distinct, output sorted.
 */
extern int	frost_share_list_decode(const uint8_t *data, size_t len,
									frost_signature_share *out, size_t cap,
									size_t *n_out, int *culprit);
extern int	frost_share_list_encode(const frost_signature_share *list,
									size_t n, uint8_t *out, int *culprit);

/* ------------------------------------------------------------ key setup */

/*
 * Trusted-dealer key generation (RFC 9591 appendix C): Shamir-share
 * `secret` with a polynomial of degree min_signers - 1 whose other
 * coefficients are `coefficients` (min_signers - 1 scalars, the
 * degree-1 one first).  Either may be NULL, and is then drawn from
 * random_fn (which may be NULL only if neither is).  Zero is refused for
 * the secret and the coefficients: a zero leading coefficient would lower
 * the threshold.
 *
 * Writes shares[0 .. max_signers-1] for identifiers 1..max_signers, the
 * group public key and, if vss_commitment is not NULL, the Feldman
 * commitment (min_signers elements of FROST_ELEMENT_LEN bytes, the first
 * being the group public key).  The caller must wipe `shares`.
 */
extern int	frost_keygen_dealer(const secp256k1_context *ctx,
								int min_signers, int max_signers,
								const uint8_t *secret,
								const uint8_t *coefficients,
								frost_random_fn random_fn, void *random_arg,
								frost_key_share *shares,
								uint8_t group_public_key[FROST_ELEMENT_LEN],
								uint8_t *vss_commitment);

/*
 * vss_verify: does signing_share lie on the polynomial committed to by
 * vss_commitment (min_signers elements)?  FROST_OK or
 * FROST_ERR_INVALID_SHARE.
 */
extern int	frost_vss_verify(const secp256k1_context *ctx, int identifier,
							 const uint8_t signing_share[FROST_SCALAR_LEN],
							 const uint8_t *vss_commitment, int min_signers);

/* ------------------------------------------------------------ round one */

/*
 * nonce_generate: H3(random_bytes || secret_share).  random_bytes must be
 * 32 fresh bytes from a strong source; a nonce must never sign twice.
 */
extern int	frost_nonce_generate(const uint8_t random_bytes[32],
								 const uint8_t secret_share[FROST_SCALAR_LEN],
								 uint8_t nonce[FROST_SCALAR_LEN]);

/* The public commitments nonce * G of a hiding and a binding nonce. */
extern int	frost_commit(const secp256k1_context *ctx,
						 const uint8_t hiding_nonce[FROST_SCALAR_LEN],
						 const uint8_t binding_nonce[FROST_SCALAR_LEN],
						 uint8_t hiding_commitment[FROST_ELEMENT_LEN],
						 uint8_t binding_commitment[FROST_ELEMENT_LEN]);

/* ------------------------------------------------ shared computations */

/* compute_binding_factors; out gets n entries, sorted by identifier. */
extern int	frost_compute_binding_factors(const secp256k1_context *ctx,
										  const uint8_t group_public_key[FROST_ELEMENT_LEN],
										  const frost_commitment *commitments,
										  size_t n, const uint8_t *msg,
										  size_t msg_len,
										  frost_binding_factor *out,
										  int *culprit);

/* compute_group_commitment (the signature's R); the identity is an error. */
extern int	frost_group_commitment(const secp256k1_context *ctx,
								   const uint8_t group_public_key[FROST_ELEMENT_LEN],
								   const frost_commitment *commitments,
								   size_t n, const uint8_t *msg,
								   size_t msg_len,
								   uint8_t group_commitment[FROST_ELEMENT_LEN],
								   int *culprit);

/* compute_challenge: H2(R || PK || msg), over the encodings as given. */
extern int	frost_challenge(const uint8_t group_commitment[FROST_ELEMENT_LEN],
							const uint8_t group_public_key[FROST_ELEMENT_LEN],
							const uint8_t *msg, size_t msg_len,
							uint8_t challenge[FROST_SCALAR_LEN]);

/*
 * derive_interpolating_value: the Lagrange coefficient at 0 of identifier
 * within identifiers[0 .. n-1].
 */
extern int	frost_lagrange_coefficient(int identifier, const int *identifiers,
									   size_t n,
									   uint8_t coefficient[FROST_SCALAR_LEN]);

/* ------------------------------------------------------------ round two */

/*
 * sign: z_i = d_i + e_i * rho_i + lambda_i * s_i * c.  The commitment list
 * must contain `identifier` with exactly the commitments of the given
 * nonces (FROST_ERR_UNKNOWN_IDENTIFIER, FROST_ERR_COMMITMENT_MISMATCH).
 * The caller must destroy the nonces afterwards, whatever the result.
 */
extern int	frost_sign(const secp256k1_context *ctx, int identifier,
					   const uint8_t secret_share[FROST_SCALAR_LEN],
					   const uint8_t group_public_key[FROST_ELEMENT_LEN],
					   const uint8_t hiding_nonce[FROST_SCALAR_LEN],
					   const uint8_t binding_nonce[FROST_SCALAR_LEN],
					   const frost_commitment *commitments, size_t n,
					   const uint8_t *msg, size_t msg_len,
					   uint8_t signature_share[FROST_SCALAR_LEN],
					   int *culprit);

/*
 * verify_signature_share: z_i*G == D_i + rho_i*E_i + c*lambda_i*PK_i.
 * FROST_OK, FROST_ERR_INVALID_SHARE (culprit = identifier), or an input
 * error.
 */
extern int	frost_verify_signature_share(const secp256k1_context *ctx,
										 int identifier,
										 const uint8_t verifying_share[FROST_ELEMENT_LEN],
										 const uint8_t signature_share[FROST_SCALAR_LEN],
										 const frost_commitment *commitments,
										 size_t n,
										 const uint8_t group_public_key[FROST_ELEMENT_LEN],
										 const uint8_t *msg, size_t msg_len,
										 int *culprit);

/* -------------------------------------------------------- aggregation */

/*
 * aggregate: signature = R || sum(z_i).  There must be exactly one share
 * per commitment (FROST_ERR_UNKNOWN_IDENTIFIER, _DUPLICATE_IDENTIFIER,
 * _MISSING_SHARE name the participant).  If verifying_shares is not NULL
 * (any number of entries, e.g. the whole group), every share is checked
 * first and the lowest-numbered cheater is reported with
 * FROST_ERR_INVALID_SHARE; a signer with no verifying share is
 * FROST_ERR_UNKNOWN_IDENTIFIER.  Without them, call frost_verify before
 * publishing (a valid-looking aggregate of bad shares does not verify).
 */
extern int	frost_aggregate(const secp256k1_context *ctx,
							const frost_commitment *commitments, size_t n,
							const uint8_t *msg, size_t msg_len,
							const uint8_t group_public_key[FROST_ELEMENT_LEN],
							const frost_signature_share *shares,
							size_t n_shares,
							const frost_verifying_share *verifying_shares,
							size_t n_verifying,
							uint8_t signature[FROST_SIGNATURE_LEN],
							int *culprit);

/* prime_order_verify: FROST_OK, FROST_ERR_INVALID_SIGNATURE or an input error. */
extern int	frost_verify(const secp256k1_context *ctx,
						 const uint8_t group_public_key[FROST_ELEMENT_LEN],
						 const uint8_t *msg, size_t msg_len,
						 const uint8_t signature[FROST_SIGNATURE_LEN]);

#endif							/* TPWALLET_FROST_H */
