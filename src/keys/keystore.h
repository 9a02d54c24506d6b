/*
 * keystore.h
 *	  The key store: signing keys by label, the server key that seals
 *	  'local' private keys, and the signature audit log.
 */
#ifndef TPWALLET_KEYSTORE_H
#define TPWALLET_KEYSTORE_H

#include "postgres.h"

#include "crypto/secp.h"

#define TPW_SEALED_VERSION	1
#define TPW_GCM_NONCE_LEN	12
#define TPW_GCM_TAG_LEN		16
#define TPW_FINGERPRINT_LEN 8

/* A key as the signing code needs it; valid until the end of the call. */
typedef struct TpwKey
{
	int64		id;
	char	   *label;
	bool		is_local;		/* 'local' backend, else 'pkcs11' */
	uint8		public_key[TPW_PUBKEY_COMPRESSED_LEN];
	secp256k1_pubkey pub;
	bytea	   *hsm_id;			/* CKA_ID, pkcs11 only */
	bytea	   *sealed;			/* sealed private key, local only */
} TpwKey;

/* GUCs (keystore.c) */
extern char *tpwallet_key_file;
extern char *tpwallet_key_command;

extern void tpw_keystore_define_gucs(void);

/* In the postmaster, when preloaded: read the server key once. */
extern void tpw_keystore_load_at_startup(void);

/*
 * Seal / unseal a secret under the server key with AES-256-GCM.  aad binds
 * the ciphertext to its owner (label and public key), so a sealed blob
 * copied to another row does not open.  Layout: version (1) || server key
 * fingerprint (8) || nonce (12) || ciphertext || tag (16).
 */
extern bytea *tpw_seal_secret(const uint8 *secret, size_t len, const uint8 *aad, size_t aadlen);
extern void tpw_unseal_secret(const bytea *sealed, const uint8 *aad, size_t aadlen,
							  uint8 *out, size_t len);

/* Additional authenticated data for a key's sealed private key. */
extern size_t tpw_key_aad(const char *label, const uint8 pubkey33[TPW_PUBKEY_COMPRESSED_LEN],
						  uint8 *out, size_t cap);

/*
 * Look up an active key by label (inside SPI); errors out when it does
 * not exist (42704) or is not active (55000).  Memory in the caller's
 * context before SPI_connect (upper executor context).
 */
extern void tpw_key_lookup(const char *label, TpwKey *key);

/* Sign n digests with the key: local through libsecp256k1, pkcs11 through the HSM. */
extern void tpw_key_sign(const TpwKey *key, int n, const uint8 *digests, uint8 *signatures);

/* Record n signatures of siglen bytes each in tpwallet.signature_log (inside SPI). */
extern void tpw_log_signatures(const TpwKey *key, const char *purpose, int n,
							   const uint8 *digests, const uint8 *signatures, size_t siglen);

/* The unsealed private key of a local key; the caller wipes it. */
extern void tpw_key_unseal_local(const TpwKey *key, uint8 seckey[TPW_SECKEY_LEN]);

/* Validate a key label (1..64 of [A-Za-z0-9._:-], starting alphanumeric). */
extern void tpw_check_key_label(const char *label);

#endif							/* TPWALLET_KEYSTORE_H */
