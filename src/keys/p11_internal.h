/*-------------------------------------------------------------------------
 *
 * p11_internal.h
 *	  Private to the PKCS#11 bridge: the tpw_p11 struct and the error
 *	  helpers its two files share.  Callers use p11.h; only p11.c (module,
 *	  token, session and login; error messages) and p11_keys.c (handle
 *	  cache, key lookup, generation, import and signing) include this
 *	  header.
 *
 * Functions shared between those files carry the prefix p11_: the bridge
 * is linked into the server's shared library, where a plain global name
 * such as set_err() could collide with another one.
 *
 * Plain C99 with no PostgreSQL headers: see p11.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_P11_INTERNAL_H
#define TPWALLET_P11_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Debian's libp11-kit-dev: build with -I/usr/include/p11-kit-1 */
#include <p11-kit/pkcs11.h>

#include "p11.h"

#ifdef __GNUC__
#define TPW_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TPW_PRINTF(f, a)
#endif

/* one remembered private key handle */
typedef struct key_slot
{
	uint8_t		id[TPW_P11_MAX_ID_LEN];
	size_t		id_len;			/* 0: slot unused */
	CK_OBJECT_HANDLE handle;
	uint64_t	last_use;		/* for least-recently-used eviction */
} key_slot;

/* one loaded module, one session, one login: see p11.h */
struct tpw_p11
{
	void	   *dl;
	CK_FUNCTION_LIST_PTR f;
	CK_SESSION_HANDLE session;
	bool		have_session;
	bool		logged_in;		/* our C_Login did it: C_Logout on close */
	bool		initialized;	/* our C_Initialize did it: C_Finalize on
								 * close */
	unsigned long lookups;		/* C_FindObjects calls, for tests */
	uint64_t	clock;
	key_slot	cache[TPW_P11_CACHE_SIZE];
};

/* p11.c: the one-line messages of p11.h */

/* printf into err (when there is room for one byte); returns code */
extern int	p11_set_err(char *err, size_t errlen, int code, const char *fmt,...)
			TPW_PRINTF(4, 5);
/* empties err: a call that succeeds leaves no message behind */
extern void p11_clear_err(char *err, size_t errlen);
/* "C_Sign failed: CKR_KEY_HANDLE_INVALID"; returns the tpw_p11_status */
extern int	p11_fail_rv(char *err, size_t errlen, const char *fn, CK_RV rv);

#endif							/* TPWALLET_P11_INTERNAL_H */
