/*-------------------------------------------------------------------------
 *
 * p11.c
 *	  A small PKCS#11 bridge for secp256k1 keys held in an HSM.
 *
 * The module is loaded with dlopen rather than linked, so one build works
 * with any vendor's module (SoftHSM2 in tests) and a missing HSM library is
 * an error message, not a server that will not start.
 *
 * Plain C99 with no PostgreSQL headers: see p11.h.
 *
 *-------------------------------------------------------------------------
 */
#define _DEFAULT_SOURCE			/* explicit_bzero, dlopen */

#include <dlfcn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Debian's libp11-kit-dev: build with -I/usr/include/p11-kit-1 */
#include <p11-kit/pkcs11.h>

#include "p11.h"

#ifdef __GNUC__
#define TPW_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TPW_PRINTF(f, a)
#endif

/* DER of the named curve OID 1.3.132.0.10 (secp256k1), for CKA_EC_PARAMS */
static const CK_BYTE secp256k1_params[] =
{0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x0A};

/* the group order n, big-endian: private scalars must be in [1, n-1] */
static const uint8_t secp256k1_order[32] =
{
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
	0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B,
	0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41
};

/*
 * Room for any EC signature (P-521 is 132 bytes), so that signing with a
 * key of the wrong size still ends the operation and we can say what came
 * back instead of leaving the session with an active sign operation.
 */
#define SIG_BUF_LEN		256
/* a DER-wrapped uncompressed point is 67 bytes; leave room for odd ones */
#define EC_POINT_BUF_LEN 160

typedef CK_RV (*get_function_list_fn) (CK_FUNCTION_LIST_PTR_PTR list);

typedef struct key_slot
{
	uint8_t		id[TPW_P11_MAX_ID_LEN];
	size_t		id_len;			/* 0: slot unused */
	CK_OBJECT_HANDLE handle;
	uint64_t	last_use;		/* for least-recently-used eviction */
} key_slot;

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

/* ------------------------------------------------------------ errors */

typedef struct rv_name
{
	CK_RV		rv;
	const char *name;
} rv_name;

#define RV(x) {x, #x}

static const rv_name rv_names[] =
{
	RV(CKR_OK), RV(CKR_CANCEL), RV(CKR_HOST_MEMORY), RV(CKR_SLOT_ID_INVALID),
	RV(CKR_GENERAL_ERROR), RV(CKR_FUNCTION_FAILED), RV(CKR_ARGUMENTS_BAD),
	RV(CKR_NO_EVENT), RV(CKR_NEED_TO_CREATE_THREADS), RV(CKR_CANT_LOCK),
	RV(CKR_ATTRIBUTE_READ_ONLY), RV(CKR_ATTRIBUTE_SENSITIVE),
	RV(CKR_ATTRIBUTE_TYPE_INVALID), RV(CKR_ATTRIBUTE_VALUE_INVALID),
	RV(CKR_ACTION_PROHIBITED), RV(CKR_DATA_INVALID), RV(CKR_DATA_LEN_RANGE),
	RV(CKR_DEVICE_ERROR), RV(CKR_DEVICE_MEMORY), RV(CKR_DEVICE_REMOVED),
	RV(CKR_FUNCTION_CANCELED), RV(CKR_FUNCTION_NOT_PARALLEL),
	RV(CKR_FUNCTION_NOT_SUPPORTED), RV(CKR_KEY_HANDLE_INVALID),
	RV(CKR_KEY_SIZE_RANGE), RV(CKR_KEY_TYPE_INCONSISTENT),
	RV(CKR_KEY_FUNCTION_NOT_PERMITTED), RV(CKR_KEY_UNEXTRACTABLE),
	RV(CKR_MECHANISM_INVALID), RV(CKR_MECHANISM_PARAM_INVALID),
	RV(CKR_OBJECT_HANDLE_INVALID), RV(CKR_OPERATION_ACTIVE),
	RV(CKR_OPERATION_NOT_INITIALIZED), RV(CKR_PIN_INCORRECT),
	RV(CKR_PIN_INVALID), RV(CKR_PIN_LEN_RANGE), RV(CKR_PIN_EXPIRED),
	RV(CKR_PIN_LOCKED), RV(CKR_SESSION_CLOSED), RV(CKR_SESSION_COUNT),
	RV(CKR_SESSION_HANDLE_INVALID), RV(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
	RV(CKR_SESSION_READ_ONLY), RV(CKR_SESSION_EXISTS),
	RV(CKR_SESSION_READ_ONLY_EXISTS), RV(CKR_SESSION_READ_WRITE_SO_EXISTS),
	RV(CKR_SIGNATURE_INVALID), RV(CKR_SIGNATURE_LEN_RANGE),
	RV(CKR_TEMPLATE_INCOMPLETE), RV(CKR_TEMPLATE_INCONSISTENT),
	RV(CKR_TOKEN_NOT_PRESENT), RV(CKR_TOKEN_NOT_RECOGNIZED),
	RV(CKR_TOKEN_WRITE_PROTECTED), RV(CKR_USER_ALREADY_LOGGED_IN),
	RV(CKR_USER_NOT_LOGGED_IN), RV(CKR_USER_PIN_NOT_INITIALIZED),
	RV(CKR_USER_TYPE_INVALID), RV(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
	RV(CKR_USER_TOO_MANY_TYPES), RV(CKR_RANDOM_SEED_NOT_SUPPORTED),
	RV(CKR_RANDOM_NO_RNG), RV(CKR_DOMAIN_PARAMS_INVALID),
	RV(CKR_CURVE_NOT_SUPPORTED), RV(CKR_BUFFER_TOO_SMALL),
	RV(CKR_INFORMATION_SENSITIVE), RV(CKR_CRYPTOKI_NOT_INITIALIZED),
	RV(CKR_CRYPTOKI_ALREADY_INITIALIZED), RV(CKR_MUTEX_BAD),
	RV(CKR_MUTEX_NOT_LOCKED), RV(CKR_LIBRARY_LOAD_FAILED),
	RV(CKR_PIN_TOO_WEAK), RV(CKR_PUBLIC_KEY_INVALID),
	RV(CKR_FUNCTION_REJECTED)
};

const char *
tpw_p11_rv_name(unsigned long rv)
{
	size_t		i;

	for (i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++)
	{
		if (rv_names[i].rv == rv)
			return rv_names[i].name;
	}
	return rv >= CKR_VENDOR_DEFINED ? "CKR_VENDOR_DEFINED" : "CKR_UNKNOWN";
}

static int	set_err(char *err, size_t errlen, int code, const char *fmt,...)
			TPW_PRINTF(4, 5);

static int
set_err(char *err, size_t errlen, int code, const char *fmt,...)
{
	va_list		ap;

	if (err != NULL && errlen > 0)
	{
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static void
clear_err(char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = '\0';
}

/*
 * Which tpw_p11_status a failed call maps to.  The session class is what a
 * caller fixes by closing and reopening: the token went away, the session
 * or login state was lost, or someone finalized the library under us.
 */
static int
status_of_rv(CK_RV rv)
{
	switch (rv)
	{
		case CKR_SESSION_HANDLE_INVALID:
		case CKR_SESSION_CLOSED:
		case CKR_DEVICE_REMOVED:
		case CKR_TOKEN_NOT_PRESENT:
		case CKR_USER_NOT_LOGGED_IN:
		case CKR_CRYPTOKI_NOT_INITIALIZED:
			return TPW_P11_ERR_SESSION;
		case CKR_PIN_INCORRECT:
		case CKR_PIN_INVALID:
		case CKR_PIN_LEN_RANGE:
		case CKR_PIN_EXPIRED:
		case CKR_PIN_LOCKED:
			return TPW_P11_ERR_PIN;
		case CKR_HOST_MEMORY:
			return TPW_P11_ERR_NOMEM;
		default:
			return TPW_P11_ERR_DEVICE;
	}
}

/* "C_Sign failed: CKR_KEY_HANDLE_INVALID"; returns the mapped status */
static int
fail_rv(char *err, size_t errlen, const char *fn, CK_RV rv)
{
	const char *name = tpw_p11_rv_name(rv);

	if (strcmp(name, "CKR_UNKNOWN") == 0 ||
		strcmp(name, "CKR_VENDOR_DEFINED") == 0)
		return set_err(err, errlen, status_of_rv(rv), "%s failed: %s 0x%08lx",
					   fn, name, (unsigned long) rv);
	return set_err(err, errlen, status_of_rv(rv), "%s failed: %s", fn, name);
}

/* CKA_IDs are not secret; printing them makes "not found" actionable */
static void
hex_id(const uint8_t *id, size_t id_len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t		i;

	for (i = 0; i < id_len; i++)
	{
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 0x0f];
	}
	out[2 * id_len] = '\0';
}

static bool
id_ok(const uint8_t *id, size_t id_len)
{
	return id != NULL && id_len > 0 && id_len <= TPW_P11_MAX_ID_LEN;
}

/* ----------------------------------------------------------- opening */

static int
load_module(tpw_p11 *p, const char *module_path, char *err, size_t errlen)
{
	void	   *sym;
	get_function_list_fn get_list;
	const char *why;
	CK_RV		rv;

	p->dl = dlopen(module_path, RTLD_NOW | RTLD_LOCAL);
	if (p->dl == NULL)
	{
		why = dlerror();
		return set_err(err, errlen, TPW_P11_ERR_MODULE,
					   "cannot load pkcs#11 module: %s",
					   why != NULL ? why : module_path);
	}
	sym = dlsym(p->dl, "C_GetFunctionList");
	if (sym == NULL)
		return set_err(err, errlen, TPW_P11_ERR_MODULE,
					   "not a pkcs#11 module, no C_GetFunctionList: %s",
					   module_path);
	/* ISO C has no object-to-function pointer cast; POSIX makes this safe */
	memcpy(&get_list, &sym, sizeof(get_list));
	rv = get_list(&p->f);
	if (rv != CKR_OK || p->f == NULL)
	{
		p->f = NULL;
		fail_rv(err, errlen, "C_GetFunctionList", rv);
		return TPW_P11_ERR_MODULE;
	}
	return TPW_P11_OK;
}

static int
init_library(tpw_p11 *p, char *err, size_t errlen)
{
	CK_C_INITIALIZE_ARGS args;
	CK_RV		rv;

	/* no mutex callbacks: the module uses the OS's own locking */
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = p->f->C_Initialize(&args);

	/*
	 * Someone else in this process initialized the module; it is theirs to
	 * finalize, so we must not on close.
	 */
	if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED)
		return TPW_P11_OK;
	if (rv != CKR_OK)
	{
		fail_rv(err, errlen, "C_Initialize", rv);
		return TPW_P11_ERR_MODULE;
	}
	p->initialized = true;
	return TPW_P11_OK;
}

/* length without the trailing spaces (and NULs, from sloppy modules) */
static size_t
label_len(const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\0'))
		len--;
	return len;
}

/* token labels are 32 bytes, padded with spaces, not NUL-terminated */
static bool
label_matches(const CK_UTF8CHAR label[32], const char *want)
{
	size_t		tl = label_len((const char *) label, 32);
	size_t		wl = label_len(want, strlen(want));

	return tl == wl && memcmp(label, want, wl) == 0;
}

/* slots with a token present; *slots is malloc'd */
static int
list_slots(tpw_p11 *p, CK_SLOT_ID **slots, CK_ULONG *n,
		   char *err, size_t errlen)
{
	CK_RV		rv;
	int			tries;

	*slots = NULL;
	/* the count can grow between the two calls if a token is inserted */
	for (tries = 0; tries < 3; tries++)
	{
		rv = p->f->C_GetSlotList(CK_TRUE, NULL, n);
		if (rv != CKR_OK)
			return fail_rv(err, errlen, "C_GetSlotList", rv);
		if (*n == 0)
			return TPW_P11_OK;
		free(*slots);
		*slots = calloc(*n, sizeof(CK_SLOT_ID));
		if (*slots == NULL)
			return set_err(err, errlen, TPW_P11_ERR_NOMEM, "out of memory");
		rv = p->f->C_GetSlotList(CK_TRUE, *slots, n);
		if (rv == CKR_OK)
			return TPW_P11_OK;
		if (rv != CKR_BUFFER_TOO_SMALL)
			break;
	}
	free(*slots);
	*slots = NULL;
	return fail_rv(err, errlen, "C_GetSlotList", rv);
}

static int
find_slot(tpw_p11 *p, const char *token_label, CK_SLOT_ID *slot,
		  char *err, size_t errlen)
{
	CK_SLOT_ID *slots;
	CK_ULONG	n;
	CK_ULONG	i;
	CK_TOKEN_INFO info;
	int			matches = 0;
	int			rc;

	rc = list_slots(p, &slots, &n, err, errlen);
	if (rc != TPW_P11_OK)
		return rc;
	for (i = 0; i < n; i++)
	{
		/* a token removed since C_GetSlotList is simply not a match */
		if (p->f->C_GetTokenInfo(slots[i], &info) != CKR_OK)
			continue;
		if (label_matches(info.label, token_label))
		{
			if (matches++ == 0)
				*slot = slots[i];
		}
	}
	free(slots);
	if (matches == 0)
		return set_err(err, errlen, TPW_P11_ERR_TOKEN,
					   "no token labelled \"%s\" among %lu slots with a token present",
					   token_label, (unsigned long) n);
	/* picking one would sign on whichever the module lists first */
	if (matches > 1)
		return set_err(err, errlen, TPW_P11_ERR_TOKEN,
					   "%d tokens are labelled \"%s\"", matches, token_label);
	return TPW_P11_OK;
}

static int
open_session(tpw_p11 *p, CK_SLOT_ID slot, char *err, size_t errlen)
{
	CK_RV		rv;

	rv = p->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
							 NULL, NULL, &p->session);
	if (rv != CKR_OK)
		return fail_rv(err, errlen, "C_OpenSession", rv);
	p->have_session = true;
	return TPW_P11_OK;
}

static int
login(tpw_p11 *p, const char *pin, char *err, size_t errlen)
{
	size_t		len = strlen(pin);
	CK_UTF8CHAR *copy;
	CK_RV		rv;

	/* C_Login takes a non-const buffer; give it a copy we can wipe */
	copy = malloc(len + 1);
	if (copy == NULL)
		return set_err(err, errlen, TPW_P11_ERR_NOMEM, "out of memory");
	memcpy(copy, pin, len);
	rv = p->f->C_Login(p->session, CKU_USER, copy, (CK_ULONG) len);
	explicit_bzero(copy, len);
	free(copy);

	/*
	 * Login state belongs to the whole process, not the session: another
	 * open handle on this token already logged in (so the PIN was not
	 * checked again).  Logging out on close would log it out too.
	 */
	if (rv == CKR_USER_ALREADY_LOGGED_IN)
		return TPW_P11_OK;
	if (rv != CKR_OK)
		return fail_rv(err, errlen, "C_Login", rv);
	p->logged_in = true;
	return TPW_P11_OK;
}

int
tpw_p11_open(const char *module_path, const char *token_label,
			 const char *pin, tpw_p11 **out, char *err, size_t errlen)
{
	tpw_p11    *p;
	CK_SLOT_ID	slot = 0;
	int			rc;

	clear_err(err, errlen);
	if (out == NULL)
		return set_err(err, errlen, TPW_P11_ERR_ARG, "no output pointer");
	*out = NULL;
	if (module_path == NULL || token_label == NULL || pin == NULL)
		return set_err(err, errlen, TPW_P11_ERR_ARG,
					   "module path, token label and pin are required");
	if (label_len(token_label, strlen(token_label)) == 0 ||
		strlen(token_label) > 32)
		return set_err(err, errlen, TPW_P11_ERR_ARG,
					   "token label must be 1 to 32 bytes");

	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return set_err(err, errlen, TPW_P11_ERR_NOMEM, "out of memory");
	rc = load_module(p, module_path, err, errlen);
	if (rc == TPW_P11_OK)
		rc = init_library(p, err, errlen);
	if (rc == TPW_P11_OK)
		rc = find_slot(p, token_label, &slot, err, errlen);
	if (rc == TPW_P11_OK)
		rc = open_session(p, slot, err, errlen);
	if (rc == TPW_P11_OK)
		rc = login(p, pin, err, errlen);
	if (rc != TPW_P11_OK)
	{
		tpw_p11_close(p);
		return rc;
	}
	*out = p;
	return TPW_P11_OK;
}

void
tpw_p11_close(tpw_p11 *p)
{
	if (p == NULL)
		return;
	/* errors are ignored: the session may already be gone, which is fine */
	if (p->f != NULL)
	{
		if (p->logged_in)
			(void) p->f->C_Logout(p->session);
		if (p->have_session)
			(void) p->f->C_CloseSession(p->session);
		if (p->initialized)
			(void) p->f->C_Finalize(NULL);
	}
	if (p->dl != NULL)
		dlclose(p->dl);
	free(p);
}

/* ------------------------------------------------------ handle cache */

static key_slot *
cache_get(tpw_p11 *p, const uint8_t *id, size_t id_len)
{
	int			i;

	for (i = 0; i < TPW_P11_CACHE_SIZE; i++)
	{
		key_slot   *s = &p->cache[i];

		if (s->id_len == id_len && memcmp(s->id, id, id_len) == 0)
		{
			s->last_use = ++p->clock;
			return s;
		}
	}
	return NULL;
}

static void
cache_put(tpw_p11 *p, const uint8_t *id, size_t id_len,
		  CK_OBJECT_HANDLE handle)
{
	key_slot   *victim = &p->cache[0];
	int			i;

	for (i = 0; i < TPW_P11_CACHE_SIZE; i++)
	{
		key_slot   *s = &p->cache[i];

		if (s->id_len == 0)
		{
			victim = s;
			break;
		}
		if (s->last_use < victim->last_use)
			victim = s;
	}
	memcpy(victim->id, id, id_len);
	victim->id_len = id_len;
	victim->handle = handle;
	victim->last_use = ++p->clock;
}

static void
cache_forget(key_slot *s)
{
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------- keys */

/* the one private key with this CKA_ID, looked up on the token */
static int
find_private_key(tpw_p11 *p, const uint8_t *id, size_t id_len,
				 CK_OBJECT_HANDLE *out, char *err, size_t errlen)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	uint8_t		id_copy[TPW_P11_MAX_ID_LEN];
	CK_ATTRIBUTE tmpl[2];
	CK_OBJECT_HANDLE found[2];
	CK_ULONG	n = 0;
	CK_RV		rv;
	CK_RV		rv_final;
	char		hex[2 * TPW_P11_MAX_ID_LEN + 1];

	memcpy(id_copy, id, id_len);
	tmpl[0].type = CKA_CLASS;
	tmpl[0].pValue = &cls;
	tmpl[0].ulValueLen = sizeof(cls);
	tmpl[1].type = CKA_ID;
	tmpl[1].pValue = id_copy;
	tmpl[1].ulValueLen = id_len;

	p->lookups++;
	rv = p->f->C_FindObjectsInit(p->session, tmpl, 2);
	if (rv != CKR_OK)
		return fail_rv(err, errlen, "C_FindObjectsInit", rv);
	rv = p->f->C_FindObjects(p->session, found, 2, &n);
	/* always, or the session stays in a find and refuses the next one */
	rv_final = p->f->C_FindObjectsFinal(p->session);
	if (rv != CKR_OK)
		return fail_rv(err, errlen, "C_FindObjects", rv);
	if (rv_final != CKR_OK)
		return fail_rv(err, errlen, "C_FindObjectsFinal", rv_final);

	hex_id(id, id_len, hex);
	if (n == 0)
		return set_err(err, errlen, TPW_P11_ERR_NOT_FOUND,
					   "no private key with id %s on the token", hex);
	if (n > 1)
		return set_err(err, errlen, TPW_P11_ERR_DUPLICATE,
					   "several private keys have id %s", hex);
	*out = found[0];
	return TPW_P11_OK;
}

/*
 * A P-256 key with the same CKA_ID would also give 64-byte signatures, all
 * useless for secp256k1, so check the curve before a handle is cached.
 */
static int
check_secp256k1(tpw_p11 *p, CK_OBJECT_HANDLE key, char *err, size_t errlen)
{
	CK_KEY_TYPE type = 0;
	CK_BYTE		params[32];
	CK_ATTRIBUTE a[2];
	CK_RV		rv;

	a[0].type = CKA_KEY_TYPE;
	a[0].pValue = &type;
	a[0].ulValueLen = sizeof(type);
	a[1].type = CKA_EC_PARAMS;
	a[1].pValue = params;
	a[1].ulValueLen = sizeof(params);
	rv = p->f->C_GetAttributeValue(p->session, key, a, 2);
	if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_BUFFER_TOO_SMALL ||
		(rv == CKR_OK && (type != CKK_EC ||
						  a[1].ulValueLen != sizeof(secp256k1_params) ||
						  memcmp(params, secp256k1_params,
								 sizeof(secp256k1_params)) != 0)))
		return set_err(err, errlen, TPW_P11_ERR_FORMAT,
					   "private key is not a secp256k1 key");
	if (rv != CKR_OK)
		return fail_rv(err, errlen, "C_GetAttributeValue", rv);
	return TPW_P11_OK;
}

/* through the cache; *cached says whether the handle came from it */
static int
lookup_key(tpw_p11 *p, const uint8_t *id, size_t id_len,
		   CK_OBJECT_HANDLE *out, key_slot **cached, char *err, size_t errlen)
{
	int			rc;

	*cached = cache_get(p, id, id_len);
	if (*cached != NULL)
	{
		*out = (*cached)->handle;
		return TPW_P11_OK;
	}
	rc = find_private_key(p, id, id_len, out, err, errlen);
	if (rc == TPW_P11_OK)
		rc = check_secp256k1(p, *out, err, errlen);
	if (rc == TPW_P11_OK)
		cache_put(p, id, id_len, *out);
	return rc;
}

int
tpw_p11_find_key(tpw_p11 *p, const uint8_t *id, size_t id_len,
				 unsigned long *handle, char *err, size_t errlen)
{
	CK_OBJECT_HANDLE h;
	key_slot   *cached;
	int			rc;

	clear_err(err, errlen);
	if (p == NULL || !id_ok(id, id_len) || handle == NULL)
		return set_err(err, errlen, TPW_P11_ERR_ARG,
					   "need a handle and an id of 1 to %d bytes",
					   TPW_P11_MAX_ID_LEN);
	rc = lookup_key(p, id, id_len, &h, &cached, err, errlen);
	if (rc == TPW_P11_OK)
		*handle = h;
	return rc;
}

int
tpw_p11_has_key(tpw_p11 *p, const uint8_t *id, size_t id_len,
				char *err, size_t errlen)
{
	CK_OBJECT_HANDLE h;
	int			rc;

	clear_err(err, errlen);
	if (p == NULL || !id_ok(id, id_len))
		return set_err(err, errlen, TPW_P11_ERR_ARG,
					   "need a handle and an id of 1 to %d bytes",
					   TPW_P11_MAX_ID_LEN);
	/* asks the token, not the cache: the key may have been deleted */
	rc = find_private_key(p, id, id_len, &h, err, errlen);
	if (rc == TPW_P11_OK)
		return 1;
	if (rc == TPW_P11_ERR_NOT_FOUND)
	{
		clear_err(err, errlen);
		return 0;
	}
	return rc;
}

/* C_GenerateRandom: the token's RNG, which is what an HSM is for */
static int
random_id(tpw_p11 *p, uint8_t id[TPW_P11_ID_LEN], char *err, size_t errlen)
{
	CK_RV		rv;

	rv = p->f->C_GenerateRandom(p->session, id, TPW_P11_ID_LEN);
	if (rv != CKR_OK)
		return fail_rv(err, errlen, "C_GenerateRandom", rv);
	return TPW_P11_OK;
}

/*
 * CKA_EC_POINT is specified as the DER encoding of an OCTET STRING holding
 * the X9.62 point, but some modules return the bare point.  For an
 * uncompressed secp256k1 point the forms cannot be confused: bare is 65
 * bytes 04 X Y; wrapped is 67 bytes 04 41 04 X Y (68 bytes 04 81 41 04 X Y
 * from modules that use the long length form).
 */
static int
parse_ec_point(const CK_BYTE *buf, CK_ULONG len, uint8_t pub65[65],
			   char *err, size_t errlen)
{
	const CK_BYTE *point;

	if (len == 65)
		point = buf;
	else if (len == 67 && buf[0] == 0x04 && buf[1] == 0x41)
		point = buf + 2;
	else if (len == 68 && buf[0] == 0x04 && buf[1] == 0x81 && buf[2] == 0x41)
		point = buf + 3;
	else
		point = NULL;
	if (point == NULL || point[0] != 0x04)
		return set_err(err, errlen, TPW_P11_ERR_FORMAT,
					   "CKA_EC_POINT is not an uncompressed secp256k1 point (%lu bytes)",
					   (unsigned long) len);
	memcpy(pub65, point, 65);
	return TPW_P11_OK;
}

static int
read_ec_point(tpw_p11 *p, CK_OBJECT_HANDLE pub, uint8_t pub65[65],
			  char *err, size_t errlen)
{
	CK_BYTE		buf[EC_POINT_BUF_LEN];
	CK_ATTRIBUTE a;
	CK_RV		rv;

	a.type = CKA_EC_POINT;
	a.pValue = buf;
	a.ulValueLen = sizeof(buf);
	rv = p->f->C_GetAttributeValue(p->session, pub, &a, 1);
	if (rv == CKR_BUFFER_TOO_SMALL)
		return set_err(err, errlen, TPW_P11_ERR_FORMAT,
					   "CKA_EC_POINT is longer than %d bytes", EC_POINT_BUF_LEN);
	if (rv != CKR_OK)
		return fail_rv(err, errlen, "C_GetAttributeValue", rv);
	return parse_ec_point(buf, a.ulValueLen, pub65, err, errlen);
}

/* best effort: leaves no half-made key pair behind after a failure */
static void
destroy_objects(tpw_p11 *p, CK_OBJECT_HANDLE a, CK_OBJECT_HANDLE b)
{
	if (a != CK_INVALID_HANDLE)
		(void) p->f->C_DestroyObject(p->session, a);
	if (b != CK_INVALID_HANDLE)
		(void) p->f->C_DestroyObject(p->session, b);
}

static void
set_attr(CK_ATTRIBUTE *a, CK_ATTRIBUTE_TYPE type, const void *value,
		 size_t len)
{
	a->type = type;
	/* templates are only read by C_CreateObject and C_GenerateKeyPair */
	a->pValue = (void *) value;
	a->ulValueLen = (CK_ULONG) len;
}

/* attributes every private key we make has; returns how many were set */
static int
private_key_attrs(CK_ATTRIBUTE *a, const char *label, const uint8_t *id)
{
	static const CK_BBOOL yes = CK_TRUE;
	static const CK_BBOOL no = CK_FALSE;

	set_attr(&a[0], CKA_TOKEN, &yes, sizeof(yes));
	set_attr(&a[1], CKA_PRIVATE, &yes, sizeof(yes));
	set_attr(&a[2], CKA_SENSITIVE, &yes, sizeof(yes));
	set_attr(&a[3], CKA_EXTRACTABLE, &no, sizeof(no));
	set_attr(&a[4], CKA_SIGN, &yes, sizeof(yes));
	set_attr(&a[5], CKA_LABEL, label, strlen(label));
	set_attr(&a[6], CKA_ID, id, TPW_P11_ID_LEN);
	return 7;
}

/* and every public key */
static int
public_key_attrs(CK_ATTRIBUTE *a, const char *label, const uint8_t *id)
{
	static const CK_BBOOL yes = CK_TRUE;

	set_attr(&a[0], CKA_TOKEN, &yes, sizeof(yes));
	set_attr(&a[1], CKA_VERIFY, &yes, sizeof(yes));
	set_attr(&a[2], CKA_EC_PARAMS, secp256k1_params, sizeof(secp256k1_params));
	set_attr(&a[3], CKA_LABEL, label, strlen(label));
	set_attr(&a[4], CKA_ID, id, TPW_P11_ID_LEN);
	return 5;
}

int
tpw_p11_generate_secp256k1(tpw_p11 *p, const char *label, uint8_t id[16],
						   uint8_t pub65[65], char *err, size_t errlen)
{
	CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_ATTRIBUTE pub_t[8];
	CK_ATTRIBUTE priv_t[8];
	CK_ULONG	n_pub;
	CK_ULONG	n_priv;
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE;
	uint8_t		new_id[TPW_P11_ID_LEN];
	CK_RV		rv;
	int			rc;

	clear_err(err, errlen);
	if (p == NULL || label == NULL || id == NULL || pub65 == NULL)
		return set_err(err, errlen, TPW_P11_ERR_ARG,
					   "handle, label, id and public key buffers are required");

	/* a random 128-bit id: a collision with an existing key is not a risk */
	rc = random_id(p, new_id, err, errlen);
	if (rc != TPW_P11_OK)
		return rc;
	n_pub = public_key_attrs(pub_t, label, new_id);
	n_priv = private_key_attrs(priv_t, label, new_id);
	rv = p->f->C_GenerateKeyPair(p->session, &mech, pub_t, n_pub,
								 priv_t, n_priv, &pub, &priv);
	if (rv != CKR_OK)
		return fail_rv(err, errlen, "C_GenerateKeyPair", rv);
	rc = read_ec_point(p, pub, pub65, err, errlen);
	if (rc != TPW_P11_OK)
	{
		destroy_objects(p, pub, priv);
		return rc;
	}
	memcpy(id, new_id, TPW_P11_ID_LEN);
	/* the first signature then needs no C_FindObjects */
	cache_put(p, new_id, TPW_P11_ID_LEN, priv);
	return TPW_P11_OK;
}

/*
 * 0 < k < n, in constant time: the scalar is secret, and memcmp's early
 * exit would tell a timer how many leading bytes match n.
 */
static bool
scalar_valid(const uint8_t k[32])
{
	unsigned int borrow = 0;
	unsigned int nonzero = 0;
	int			i;

	for (i = 31; i >= 0; i--)
	{
		unsigned int d = (unsigned int) k[i] - secp256k1_order[i] - borrow;

		borrow = (d >> 8) & 1;
		nonzero |= k[i];
	}
	/* k - n borrowed: k < n */
	return (borrow & (nonzero != 0)) != 0;
}

static int
create_object(tpw_p11 *p, CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *out,
			  char *err, size_t errlen)
{
	CK_RV		rv;

	rv = p->f->C_CreateObject(p->session, t, n, out);
	if (rv != CKR_OK)
		return fail_rv(err, errlen, "C_CreateObject", rv);
	return TPW_P11_OK;
}

int
tpw_p11_import_secp256k1(tpw_p11 *p, const char *label,
						 const uint8_t priv32[32], const uint8_t pub65[65],
						 uint8_t id[16], char *err, size_t errlen)
{
	static const CK_OBJECT_CLASS priv_class = CKO_PRIVATE_KEY;
	static const CK_OBJECT_CLASS pub_class = CKO_PUBLIC_KEY;
	static const CK_KEY_TYPE key_type = CKK_EC;
	CK_ATTRIBUTE priv_t[12];
	CK_ATTRIBUTE pub_t[12];
	CK_ULONG	n;
	CK_BYTE		point_der[67];
	CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE;
	uint8_t		new_id[TPW_P11_ID_LEN];
	int			rc;

	clear_err(err, errlen);
	if (p == NULL || label == NULL || priv32 == NULL || pub65 == NULL ||
		id == NULL)
		return set_err(err, errlen, TPW_P11_ERR_ARG,
					   "handle, label, keys and id buffer are required");
	if (!scalar_valid(priv32))
		return set_err(err, errlen, TPW_P11_ERR_ARG,
					   "private key is not a valid secp256k1 scalar");
	if (pub65[0] != 0x04)
		return set_err(err, errlen, TPW_P11_ERR_ARG,
					   "public key must be uncompressed (04 || X || Y)");
	rc = random_id(p, new_id, err, errlen);
	if (rc != TPW_P11_OK)
		return rc;

	/* the key goes straight from the caller's buffer: no copy to wipe */
	n = private_key_attrs(priv_t, label, new_id);
	set_attr(&priv_t[n++], CKA_CLASS, &priv_class, sizeof(priv_class));
	set_attr(&priv_t[n++], CKA_KEY_TYPE, &key_type, sizeof(key_type));
	set_attr(&priv_t[n++], CKA_EC_PARAMS, secp256k1_params,
			 sizeof(secp256k1_params));
	set_attr(&priv_t[n++], CKA_VALUE, priv32, 32);
	rc = create_object(p, priv_t, n, &priv, err, errlen);
	if (rc != TPW_P11_OK)
		return rc;

	/* CKA_EC_POINT is DER: OCTET STRING, length 65, the point */
	point_der[0] = 0x04;
	point_der[1] = 0x41;
	memcpy(point_der + 2, pub65, 65);
	n = public_key_attrs(pub_t, label, new_id);
	set_attr(&pub_t[n++], CKA_CLASS, &pub_class, sizeof(pub_class));
	set_attr(&pub_t[n++], CKA_KEY_TYPE, &key_type, sizeof(key_type));
	set_attr(&pub_t[n++], CKA_EC_POINT, point_der, sizeof(point_der));
	rc = create_object(p, pub_t, n, &pub, err, errlen);
	if (rc != TPW_P11_OK)
	{
		destroy_objects(p, priv, CK_INVALID_HANDLE);
		return rc;
	}
	memcpy(id, new_id, TPW_P11_ID_LEN);
	cache_put(p, new_id, TPW_P11_ID_LEN, priv);
	return TPW_P11_OK;
}

/* ---------------------------------------------------------- signing */

/*
 * One C_SignInit + C_Sign.  Returns the CK_RV and, in *fn, the function
 * that returned it; *len gets the signature length.
 */
static CK_RV
sign_once(tpw_p11 *p, CK_OBJECT_HANDLE key, const uint8_t digest[32],
		  CK_BYTE sig[SIG_BUF_LEN], CK_ULONG *len, const char **fn)
{
	CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
	CK_BYTE		data[32];
	CK_RV		rv;

	memcpy(data, digest, sizeof(data));
	*fn = "C_SignInit";
	rv = p->f->C_SignInit(p->session, &mech, key);
	if (rv != CKR_OK)
		return rv;
	*fn = "C_Sign";
	*len = SIG_BUF_LEN;
	return p->f->C_Sign(p->session, data, sizeof(data), sig, len);
}

int
tpw_p11_sign_digest(tpw_p11 *p, const uint8_t *id, size_t id_len,
					const uint8_t digest[32], uint8_t rs[64],
					char *err, size_t errlen)
{
	CK_OBJECT_HANDLE key;
	key_slot   *cached;
	CK_BYTE		sig[SIG_BUF_LEN];
	CK_ULONG	len = 0;
	const char *fn;
	CK_RV		rv;
	int			rc;

	clear_err(err, errlen);
	if (p == NULL || !id_ok(id, id_len) || digest == NULL || rs == NULL)
		return set_err(err, errlen, TPW_P11_ERR_ARG,
					   "need a handle, an id of 1 to %d bytes, a digest and a buffer",
					   TPW_P11_MAX_ID_LEN);
	rc = lookup_key(p, id, id_len, &key, &cached, err, errlen);
	if (rc != TPW_P11_OK)
		return rc;
	rv = sign_once(p, key, digest, sig, &len, &fn);

	/*
	 * A cached handle goes stale when the key is deleted (or the token
	 * re-initialized) behind our back: look it up afresh, once.
	 */
	if (cached != NULL &&
		(rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID))
	{
		cache_forget(cached);
		rc = lookup_key(p, id, id_len, &key, &cached, err, errlen);
		if (rc != TPW_P11_OK)
			return rc;
		rv = sign_once(p, key, digest, sig, &len, &fn);
	}
	if (rv != CKR_OK)
		return fail_rv(err, errlen, fn, rv);
	if (len != 64)
		return set_err(err, errlen, TPW_P11_ERR_FORMAT,
					   "C_Sign returned %lu bytes, want 64", (unsigned long) len);
	memcpy(rs, sig, 64);
	return TPW_P11_OK;
}

/* ----------------------------------------------------------- access */

const void *
tpw_p11_function_list(const tpw_p11 *p)
{
	return p != NULL ? (const void *) p->f : NULL;
}

unsigned long
tpw_p11_session(const tpw_p11 *p)
{
	return p != NULL ? (unsigned long) p->session : 0;
}

unsigned long
tpw_p11_lookups(const tpw_p11 *p)
{
	return p != NULL ? p->lookups : 0;
}
