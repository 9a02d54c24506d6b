/*-------------------------------------------------------------------------
 *
 * p11.h
 *	  A small PKCS#11 bridge for secp256k1 keys held in an HSM.
 *
 * One tpw_p11 is one loaded module with one read/write session on one
 * token, logged in as the normal user.  Keys never leave the token: they are
 * generated there (or imported once, then sensitive and non-extractable) and
 * are named by their CKA_ID, which callers store instead of key material.
 *
 * Plain C99, no PostgreSQL headers, so it can be unit-tested standalone
 * (test/c/test_p11.c) and linked into the extension.  Not thread-safe: one
 * tpw_p11 belongs to one thread (a PostgreSQL backend or worker).  Never open
 * one before fork(): PKCS#11 modules do not survive it.
 *
 * PKCS#11 login and initialization belong to the process, not the session.
 * So a second tpw_p11 on the same token while one is open shares the first's
 * login (its own PIN is not checked: C_Login says CKR_USER_ALREADY_LOGGED_IN)
 * and its C_Initialize; closing the one that initialized the module ends the
 * others' sessions, which then get TPW_P11_ERR_SESSION and must reopen.  One
 * tpw_p11 per process is the intended use.
 *
 * Every function that can fail returns 0 or a negative tpw_p11_status and
 * writes a one-line lower-case message into err (errlen bytes) naming the
 * PKCS#11 function and the CKR_ code.  Messages never contain PINs or key
 * material.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_P11_H
#define TPWALLET_P11_H

#include <stddef.h>
#include <stdint.h>

typedef enum tpw_p11_status
{
	TPW_P11_OK = 0,
	TPW_P11_ERR_ARG = -1,		/* bad argument from the caller */
	TPW_P11_ERR_NOMEM = -2,
	TPW_P11_ERR_MODULE = -3,	/* dlopen, dlsym, C_GetFunctionList or
								 * C_Initialize failed */
	TPW_P11_ERR_TOKEN = -4,		/* no (or more than one) token with the label */
	TPW_P11_ERR_PIN = -5,		/* PIN incorrect, locked, expired or invalid */
	TPW_P11_ERR_SESSION = -6,	/* session or login lost: close and reopen */
	TPW_P11_ERR_NOT_FOUND = -7, /* no private key with that CKA_ID */
	TPW_P11_ERR_DUPLICATE = -8, /* several private keys share that CKA_ID */
	TPW_P11_ERR_FORMAT = -9,	/* the module returned something malformed */
	TPW_P11_ERR_DEVICE = -10	/* any other PKCS#11 failure */
} tpw_p11_status;

/* CKA_ID length of keys this bridge creates */
#define TPW_P11_ID_LEN			16
/* longest CKA_ID accepted when looking keys up */
#define TPW_P11_MAX_ID_LEN		64
/* private key handles remembered per tpw_p11 (least recently used goes) */
#define TPW_P11_CACHE_SIZE		16

typedef struct tpw_p11 tpw_p11;

extern int	tpw_p11_open(const char *module_path, const char *token_label,
						 const char *pin, tpw_p11 **out,
						 char *err, size_t errlen);
/* Logs out, closes the session, C_Finalize (if we initialized), dlclose. */
extern void tpw_p11_close(tpw_p11 *p);

/*
 * Generates a secp256k1 key pair on the token.  id gets the new CKA_ID,
 * pub65 the uncompressed public key 04||X||Y.
 */
extern int	tpw_p11_generate_secp256k1(tpw_p11 *p, const char *label,
									   uint8_t id[16], uint8_t pub65[65],
									   char *err, size_t errlen);

/*
 * Imports an existing private scalar (big-endian, 0 < k < n) and its public
 * key.  The bridge cannot check that pub65 belongs to priv32 (it does no EC
 * arithmetic): the caller must.  The caller also wipes priv32 afterwards.
 */
extern int	tpw_p11_import_secp256k1(tpw_p11 *p, const char *label,
									 const uint8_t priv32[32],
									 const uint8_t pub65[65], uint8_t id[16],
									 char *err, size_t errlen);

/*
 * ECDSA (CKM_ECDSA) over a 32-byte digest.  rs gets r||s exactly as the
 * module returns it: s is NOT normalized to the low half, the caller does
 * that.  TPW_P11_ERR_SESSION means the session is gone: close and reopen.
 */
extern int	tpw_p11_sign_digest(tpw_p11 *p, const uint8_t *id, size_t id_len,
								const uint8_t digest[32], uint8_t rs[64],
								char *err, size_t errlen);

/* 1 if a private key with this CKA_ID is on the token, 0 if not, <0 error. */
extern int	tpw_p11_has_key(tpw_p11 *p, const uint8_t *id, size_t id_len,
							char *err, size_t errlen);

/* "CKR_OK", "CKR_PIN_INCORRECT", ...; "CKR_UNKNOWN" for codes not listed. */
extern const char *tpw_p11_rv_name(unsigned long rv);

/*
 * Lower-level access for tests and benchmarks; the extension should not
 * need these.  The function list is a CK_FUNCTION_LIST * and the handles are
 * CK_SESSION_HANDLE and CK_OBJECT_HANDLE values, typed loosely here so that
 * this header does not drag the PKCS#11 header into its users.
 */
extern const void *tpw_p11_function_list(const tpw_p11 *p);
extern unsigned long tpw_p11_session(const tpw_p11 *p);
/* The private key handle for a CKA_ID, through the handle cache. */
extern int	tpw_p11_find_key(tpw_p11 *p, const uint8_t *id, size_t id_len,
							 unsigned long *handle, char *err, size_t errlen);
/* How many times C_FindObjects has run: shows the handle cache working. */
extern unsigned long tpw_p11_lookups(const tpw_p11 *p);

#endif							/* TPWALLET_P11_H */
