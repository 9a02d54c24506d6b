/*-------------------------------------------------------------------------
 *
 * schnorr.h
 *	  BIP-340 Schnorr signatures over secp256k1 (Taproot keys and
 *	  signatures), as thin checked wrappers around libsecp256k1.
 *
 * Keys are 32-byte secret scalars (0 < k < n) and 32-byte x-only public
 * keys; signatures are 64 bytes (R.x || s).  Messages may have any length
 * (BIP-340 since 2022); schnorr_sign32 is the common 32-byte case.
 * aux_rand32 is the optional 32 bytes of fresh randomness of BIP-340's
 * default signing; NULL means all zeros (still secure, but it loses the
 * protection against fault and side-channel attacks that fresh bytes give,
 * so pass pg_strong_random() output in the server).
 *
 * Every signature is verified before it is returned, as BIP-340
 * recommends, so a fault during signing cannot leak the key.
 *
 * Plain C99 + libsecp256k1 0.2.0 (extrakeys, schnorrsig); no PostgreSQL
 * headers.  Nothing is allocated; the keypair on the stack is wiped.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_SCHNORR_H
#define TPWALLET_SCHNORR_H

#include <stddef.h>
#include <stdint.h>

#include <secp256k1.h>

#define SCHNORR_SECKEY_LEN		32
#define SCHNORR_PUBKEY_LEN		32	/* x-only */
#define SCHNORR_SIGNATURE_LEN	64
#define SCHNORR_AUX_RAND_LEN	32

typedef enum
{
	SCHNORR_OK = 0,
	SCHNORR_ERR_ARGUMENT = -1,	/* NULL pointer */
	SCHNORR_ERR_SECKEY = -2,	/* zero or not below the group order */
	SCHNORR_ERR_PUBKEY = -3,	/* not the x coordinate of a curve point */
	SCHNORR_ERR_INVALID_SIGNATURE = -4,
	SCHNORR_ERR_SIGN_FAILED = -5	/* the new signature did not verify */
} schnorr_error;

/* Static lower-case message for a schnorr_error ("unknown schnorr error"). */
extern const char *schnorr_strerror(int err);

/* The x-only public key of a secret key. */
extern int	schnorr_xonly_pubkey(const secp256k1_context *ctx,
								 const uint8_t seckey[SCHNORR_SECKEY_LEN],
								 uint8_t pubkey[SCHNORR_PUBKEY_LEN]);

/* Is this a valid x-only public key?  SCHNORR_OK or SCHNORR_ERR_PUBKEY. */
extern int	schnorr_pubkey_check(const secp256k1_context *ctx,
								 const uint8_t pubkey[SCHNORR_PUBKEY_LEN]);

/* Sign a 32-byte message (secp256k1_schnorrsig_sign32). */
extern int	schnorr_sign32(const secp256k1_context *ctx,
						   const uint8_t seckey[SCHNORR_SECKEY_LEN],
						   const uint8_t msg32[32],
						   const uint8_t *aux_rand32,
						   uint8_t sig[SCHNORR_SIGNATURE_LEN]);

/* Sign a message of any length; msg may be NULL when msg_len is 0. */
extern int	schnorr_sign(const secp256k1_context *ctx,
						 const uint8_t seckey[SCHNORR_SECKEY_LEN],
						 const uint8_t *msg, size_t msg_len,
						 const uint8_t *aux_rand32,
						 uint8_t sig[SCHNORR_SIGNATURE_LEN]);

/*
 * SCHNORR_OK, SCHNORR_ERR_INVALID_SIGNATURE, or SCHNORR_ERR_PUBKEY when
 * pubkey is not a curve point's x coordinate (BIP-340 verification fails
 * for those too; the separate code says why).
 */
extern int	schnorr_verify(const secp256k1_context *ctx,
						   const uint8_t pubkey[SCHNORR_PUBKEY_LEN],
						   const uint8_t *msg, size_t msg_len,
						   const uint8_t sig[SCHNORR_SIGNATURE_LEN]);

#endif							/* TPWALLET_SCHNORR_H */
