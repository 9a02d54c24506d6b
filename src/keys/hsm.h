/*
 * hsm.h
 *	  The PKCS#11 HSM as a backend sees it: one session per backend, opened
 *	  on first use from superuser-only GUCs, reopened when it goes away.
 */
#ifndef TPWALLET_HSM_H
#define TPWALLET_HSM_H

#include "postgres.h"

#define TPW_HSM_ID_LEN 16

/* GUCs (hsm.c) */
extern char *tpwallet_pkcs11_module;
extern char *tpwallet_pkcs11_token;
extern char *tpwallet_pkcs11_pin_file;

extern void tpw_hsm_define_gucs(void);

/* Generate a secp256k1 key in the HSM: its CKA_ID and 65-byte public key. */
extern void tpw_hsm_generate(const char *label, uint8 id[TPW_HSM_ID_LEN], uint8 pub65[65]);

/* Import a private scalar as a non-extractable HSM key. */
extern void tpw_hsm_import(const char *label, const uint8 priv32[32], const uint8 pub65[65],
						   uint8 id[TPW_HSM_ID_LEN]);

/* Raw r || s of a digest (not normalized). */
extern void tpw_hsm_sign(const uint8 *id, size_t idlen, const uint8 digest[32], uint8 rs[64]);

#endif							/* TPWALLET_HSM_H */
