/*
 * hsm.c
 *	  The HSM over PKCS#11, as a backend uses it (p11.c and p11_keys.c do the
 *	  PKCS#11).
 *
 * Each backend opens its own session on first use, never the postmaster:
 * PKCS#11 modules do not survive fork().  The module path, the token label
 * and the file holding the user PIN are superuser-only GUCs; the PIN is
 * read from its file at each (re)open and wiped right after login, so it
 * is in no GUC, table or log.  A session that the module reports lost
 * (token removed, HSM restarted) is reopened once; if that fails too the
 * caller gets TW010 and nothing is signed.
 */
#include "postgres.h"

#include "keys/hsm.h"
#include "keys/p11.h"
#include "tpwallet.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/guc.h"
#include "utils/memutils.h"

char	   *tpwallet_pkcs11_module = NULL;
char	   *tpwallet_pkcs11_token = NULL;
char	   *tpwallet_pkcs11_pin_file = NULL;

static tpw_p11 *session = NULL;
static char *session_settings = NULL;	/* the GUC values it was opened with */
static bool exit_hook_set = false;

void
tpw_hsm_define_gucs(void)
{
	DefineCustomStringVariable("tpwallet.pkcs11_module",
							   "Path of the PKCS#11 module (shared library) of the HSM.",
							   "For SoftHSM2 on Debian: /usr/lib/softhsm/libsofthsm2.so.",
							   &tpwallet_pkcs11_module, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("tpwallet.pkcs11_token",
							   "Label of the HSM token that holds tpwallet's keys.",
							   NULL,
							   &tpwallet_pkcs11_token, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("tpwallet.pkcs11_pin_file",
							   "File holding the token's user PIN, readable by the server's user only.",
							   NULL,
							   &tpwallet_pkcs11_pin_file, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
}

static void
close_session(void)
{
	if (session != NULL)
	{
		tpw_p11_close(session);
		session = NULL;
	}
	if (session_settings != NULL)
	{
		pfree(session_settings);
		session_settings = NULL;
	}
}

static void
close_at_exit(int code, Datum arg)
{
	close_session();
}

static char *
current_settings(void)
{
	return psprintf("%s\n%s\n%s", tpwallet_pkcs11_module ? tpwallet_pkcs11_module : "",
					tpwallet_pkcs11_token ? tpwallet_pkcs11_token : "",
					tpwallet_pkcs11_pin_file ? tpwallet_pkcs11_pin_file : "");
}

/* The PIN: the file's first line.  Errors never show the PIN. */
static void
read_pin(char *pin, size_t cap)
{
	FILE	   *f;
	size_t		n;

	if (tpwallet_pkcs11_pin_file == NULL || tpwallet_pkcs11_pin_file[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_TW_HSM_UNAVAILABLE),
				 errmsg("the HSM is not configured: tpwallet.pkcs11_pin_file is not set"),
				 errhint("A superuser sets tpwallet.pkcs11_module, tpwallet.pkcs11_token and tpwallet.pkcs11_pin_file, then reloads."),
				 errhidestmt(true)));
	f = fopen(tpwallet_pkcs11_pin_file, "r");
	if (f == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_TW_HSM_UNAVAILABLE),
				 errmsg("could not read the HSM PIN file: %m"),
				 errhint("Check tpwallet.pkcs11_pin_file and that the server's user can read it."),
				 errhidestmt(true)));
	n = fread(pin, 1, cap - 1, f);
	fclose(f);
	pin[n] = '\0';
	pin[strcspn(pin, "\r\n")] = '\0';
}

static void
raise_p11(int rc, const char *what, const char *err)
{
	ereport(ERROR,
			(errcode(rc == TPW_P11_ERR_PIN ? ERRCODE_TW_HSM_LOGIN_FAILED :
					 rc == TPW_P11_ERR_NOT_FOUND ? ERRCODE_UNDEFINED_OBJECT :
					 rc == TPW_P11_ERR_ARG ? ERRCODE_INVALID_PARAMETER_VALUE :
					 ERRCODE_TW_HSM_UNAVAILABLE),
			 errmsg("HSM %s failed: %s", what, err),
			 rc == TPW_P11_ERR_PIN ?
			 errhint("Check the PIN in tpwallet.pkcs11_pin_file; too many wrong PINs lock the token.") :
			 rc == TPW_P11_ERR_NOT_FOUND ?
			 errhint("The key's object is not on the token named by tpwallet.pkcs11_token.") :
			 errhint("Check that the HSM is reachable and tpwallet.pkcs11_module and tpwallet.pkcs11_token are right."),
			 errhidestmt(true)));
}

static tpw_p11 *
open_session(void)
{
	char	   *settings = current_settings();
	char		pin[256];
	char		err[256];
	int			rc;

	if (session != NULL && strcmp(settings, session_settings) == 0)
		return session;
	close_session();
	if (tpwallet_pkcs11_module == NULL || tpwallet_pkcs11_module[0] == '\0' ||
		tpwallet_pkcs11_token == NULL || tpwallet_pkcs11_token[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_TW_HSM_UNAVAILABLE),
				 errmsg("the HSM is not configured"),
				 errdetail("tpwallet.pkcs11_module and tpwallet.pkcs11_token must both be set."),
				 errhint("A superuser sets them (and tpwallet.pkcs11_pin_file) in postgresql.conf, then reloads."),
				 errhidestmt(true)));
	read_pin(pin, sizeof(pin));
	rc = tpw_p11_open(tpwallet_pkcs11_module, tpwallet_pkcs11_token, pin, &session, err, sizeof(err));
	explicit_bzero(pin, sizeof(pin));
	if (rc != TPW_P11_OK)
	{
		session = NULL;
		raise_p11(rc, "login", err);
	}
	session_settings = MemoryContextStrdup(TopMemoryContext, settings);
	if (!exit_hook_set)
	{
		on_proc_exit(close_at_exit, 0);
		exit_hook_set = true;
	}
	return session;
}

void
tpw_hsm_generate(const char *label, uint8 id[TPW_HSM_ID_LEN], uint8 pub65[65])
{
	char		err[256];
	int			rc = tpw_p11_generate_secp256k1(open_session(), label, id, pub65, err, sizeof(err));

	if (rc == TPW_P11_ERR_SESSION)
	{
		close_session();
		rc = tpw_p11_generate_secp256k1(open_session(), label, id, pub65, err, sizeof(err));
	}
	if (rc != TPW_P11_OK)
		raise_p11(rc, "key generation", err);
}

void
tpw_hsm_import(const char *label, const uint8 priv32[32], const uint8 pub65[65], uint8 id[TPW_HSM_ID_LEN])
{
	char		err[256];
	int			rc = tpw_p11_import_secp256k1(open_session(), label, priv32, pub65, id, err, sizeof(err));

	if (rc == TPW_P11_ERR_SESSION)
	{
		close_session();
		rc = tpw_p11_import_secp256k1(open_session(), label, priv32, pub65, id, err, sizeof(err));
	}
	if (rc != TPW_P11_OK)
		raise_p11(rc, "key import", err);
}

void
tpw_hsm_sign(const uint8 *id, size_t idlen, const uint8 digest[32], uint8 rs[64])
{
	char		err[256];
	int			rc = tpw_p11_sign_digest(open_session(), id, idlen, digest, rs, err, sizeof(err));

	if (rc == TPW_P11_ERR_SESSION)
	{
		close_session();
		rc = tpw_p11_sign_digest(open_session(), id, idlen, digest, rs, err, sizeof(err));
	}
	if (rc != TPW_P11_OK)
		raise_p11(rc, "signing", err);
}
