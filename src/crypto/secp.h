/*
 * secp.h
 *	  secp256k1 for the backend: one libsecp256k1 context per backend,
 *	  recoverable ECDSA signatures (r || s || v), public keys, addresses.
 *
 * Signatures are always low-s (EIP-2: Ethereum rejects high s in
 * transactions); v is 27 + recovery id in the 65-byte form this module
 * returns, and 0/1 or 27/28 are accepted on input.
 */
#ifndef TPWALLET_SECP_H
#define TPWALLET_SECP_H

#include "postgres.h"

#include <secp256k1.h>

#define TPW_PUBKEY_COMPRESSED_LEN	33
#define TPW_PUBKEY_UNCOMPRESSED_LEN 65
#define TPW_SIGNATURE_LEN			65	/* r || s || v */
#define TPW_DIGEST_LEN				32
#define TPW_SECKEY_LEN				32
#define TPW_ADDRESS_LEN				20

/* The backend's context: created on first use, randomized. */
extern const secp256k1_context *tpw_secp_context(void);

/* Is this a valid private scalar (0 < k < n)? */
extern bool tpw_secp_seckey_valid(const uint8 seckey[TPW_SECKEY_LEN]);

/* Public key of a private scalar (which must be valid). */
extern void tpw_secp_pubkey_of(const uint8 seckey[TPW_SECKEY_LEN], secp256k1_pubkey *pub);

/* Parse a 33- or 65-byte SEC1 public key; errors out with 22023 if bad. */
extern void tpw_secp_pubkey_parse(const uint8 *data, size_t len, secp256k1_pubkey *pub);
extern void tpw_secp_pubkey_serialize(const secp256k1_pubkey *pub, bool compressed, uint8 *out);

/* RFC 6979 deterministic, low-s; out = r || s || (27 + recid). */
extern void tpw_secp_sign(const uint8 seckey[TPW_SECKEY_LEN], const uint8 digest[TPW_DIGEST_LEN],
						  uint8 out[TPW_SIGNATURE_LEN]);

/*
 * Turn a raw r || s from an HSM into our 65-byte form: normalize s to the
 * lower half, then find the recovery id by recovering against the known
 * public key.  Returns false when no recovery id gives that key (the HSM
 * signed with another key, or the signature is invalid).
 */
extern bool tpw_secp_complete_signature(const secp256k1_pubkey *pub,
										const uint8 digest[TPW_DIGEST_LEN],
										const uint8 rs[64], uint8 out[TPW_SIGNATURE_LEN]);

/*
 * Recovery id from v in a 65-byte signature: 0/1 or 27/28.  Errors out
 * (22023) on anything else.
 */
extern int	tpw_secp_recid_from_v(uint8 v);

/* Recover the public key; false when the signature does not recover. */
extern bool tpw_secp_recover(const uint8 digest[TPW_DIGEST_LEN], const uint8 sig[TPW_SIGNATURE_LEN],
							 secp256k1_pubkey *pub);

/* Strict verification (low-s only) of a 64- or 65-byte signature. */
extern bool tpw_secp_verify(const secp256k1_pubkey *pub, const uint8 digest[TPW_DIGEST_LEN],
							const uint8 *sig, size_t siglen);

/* keccak256(X || Y)[12..32) of a public key. */
extern void tpw_eth_address_bytes(const secp256k1_pubkey *pub, uint8 out[TPW_ADDRESS_LEN]);

/* "0x" + 40 hex digits with the EIP-55 mixed-case checksum; out holds 43 bytes. */
extern void tpw_eth_address_checksummed(const uint8 addr[TPW_ADDRESS_LEN], char out[43]);

#endif							/* TPWALLET_SECP_H */
