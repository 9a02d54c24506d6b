/*-------------------------------------------------------------------------
 *
 * p11.c
 *	  A small PKCS#11 bridge for secp256k1 keys held in an HSM: the
 *	  module, the token, the session and login, and error messages.
 *
 * The module is loaded with dlopen rather than linked, so one build works
 * with any vendor's module (SoftHSM2 in tests) and a missing HSM library is
 * an error message, not a server that will not start.
 *
 * The keys themselves (the handle cache, lookup, generation, import and
 * signing) are in p11_keys.c; p11_internal.h has what the two share.
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

#include "p11_internal.h"

typedef CK_RV (*get_function_list_fn) (CK_FUNCTION_LIST_PTR_PTR list);

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

int
p11_set_err(char *err, size_t errlen, int code, const char *fmt,...)
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

void
p11_clear_err(char *err, size_t errlen)
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
int
p11_fail_rv(char *err, size_t errlen, const char *fn, CK_RV rv)
{
	const char *name = tpw_p11_rv_name(rv);

	if (strcmp(name, "CKR_UNKNOWN") == 0 ||
		strcmp(name, "CKR_VENDOR_DEFINED") == 0)
		return p11_set_err(err, errlen, status_of_rv(rv),
						   "%s failed: %s 0x%08lx", fn, name,
						   (unsigned long) rv);
	return p11_set_err(err, errlen, status_of_rv(rv), "%s failed: %s",
					   fn, name);
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
		return p11_set_err(err, errlen, TPW_P11_ERR_MODULE,
						   "cannot load pkcs#11 module: %s",
						   why != NULL ? why : module_path);
	}
	sym = dlsym(p->dl, "C_GetFunctionList");
	if (sym == NULL)
		return p11_set_err(err, errlen, TPW_P11_ERR_MODULE,
						   "not a pkcs#11 module, no C_GetFunctionList: %s",
						   module_path);
	/* ISO C has no object-to-function pointer cast; POSIX makes this safe */
	memcpy(&get_list, &sym, sizeof(get_list));
	rv = get_list(&p->f);
	if (rv != CKR_OK || p->f == NULL)
	{
		p->f = NULL;
		p11_fail_rv(err, errlen, "C_GetFunctionList", rv);
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
		p11_fail_rv(err, errlen, "C_Initialize", rv);
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
			return p11_fail_rv(err, errlen, "C_GetSlotList", rv);
		if (*n == 0)
			return TPW_P11_OK;
		free(*slots);
		*slots = calloc(*n, sizeof(CK_SLOT_ID));
		if (*slots == NULL)
			return p11_set_err(err, errlen, TPW_P11_ERR_NOMEM,
							   "out of memory");
		rv = p->f->C_GetSlotList(CK_TRUE, *slots, n);
		if (rv == CKR_OK)
			return TPW_P11_OK;
		if (rv != CKR_BUFFER_TOO_SMALL)
			break;
	}
	free(*slots);
	*slots = NULL;
	return p11_fail_rv(err, errlen, "C_GetSlotList", rv);
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
		return p11_set_err(err, errlen, TPW_P11_ERR_TOKEN,
						   "no token labelled \"%s\" among %lu slots with a token present",
						   token_label, (unsigned long) n);
	/* picking one would sign on whichever the module lists first */
	if (matches > 1)
		return p11_set_err(err, errlen, TPW_P11_ERR_TOKEN,
						   "%d tokens are labelled \"%s\"", matches,
						   token_label);
	return TPW_P11_OK;
}

static int
open_session(tpw_p11 *p, CK_SLOT_ID slot, char *err, size_t errlen)
{
	CK_RV		rv;

	rv = p->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
							 NULL, NULL, &p->session);
	if (rv != CKR_OK)
		return p11_fail_rv(err, errlen, "C_OpenSession", rv);
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
		return p11_set_err(err, errlen, TPW_P11_ERR_NOMEM, "out of memory");
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
		return p11_fail_rv(err, errlen, "C_Login", rv);
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

	p11_clear_err(err, errlen);
	if (out == NULL)
		return p11_set_err(err, errlen, TPW_P11_ERR_ARG, "no output pointer");
	*out = NULL;
	if (module_path == NULL || token_label == NULL || pin == NULL)
		return p11_set_err(err, errlen, TPW_P11_ERR_ARG,
						   "module path, token label and pin are required");
	if (label_len(token_label, strlen(token_label)) == 0 ||
		strlen(token_label) > 32)
		return p11_set_err(err, errlen, TPW_P11_ERR_ARG,
						   "token label must be 1 to 32 bytes");

	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return p11_set_err(err, errlen, TPW_P11_ERR_NOMEM, "out of memory");
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
