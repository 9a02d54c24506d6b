/*
 * keystore.c
 *	  The server key, sealing of 'local' private keys, key lookup, signing
 *	  dispatch and the signature audit log.
 *
 * The server key (32 bytes) comes from a file (tpwallet.key_file: 64 hex
 * digits, or 32 raw bytes) or from the standard output of a command
 * (tpwallet.key_command), both superuser-only and fixed at server start,
 * in the manner of pgsodium's getkey script.  With shared_preload_libraries
 * it is read once in the postmaster and inherited by every backend, so the
 * file can be made unreadable afterwards; otherwise each backend reads it
 * on first use.  It is never stored in the database: only keys derived
 * from it live in memory (HMAC-SHA256 with distinct labels):
 *	 - the key-encryption key (AES-256-GCM) that seals private keys, and
 *	 - a fingerprint stored with each sealed key, so that a server started
 *	   with another key says so instead of failing with a MAC error.
 */
#include "postgres.h"

#include "keys/keystore.h"
#include "keys/hsm.h"
#include "crypto/crypto_pg.h"
#include "crypto/hex.h"
#include "tpwallet.h"

#include <sys/wait.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"

char	   *tpwallet_key_file = NULL;
char	   *tpwallet_key_command = NULL;

static uint8 key_encryption_key[32];
static uint8 key_fingerprint[TPW_FINGERPRINT_LEN];
static bool server_key_loaded = false;
static bool server_key_tried = false;
static char server_key_problem[256];

void
tpw_keystore_define_gucs(void)
{
	DefineCustomStringVariable("tpwallet.key_file",
							   "File holding the server key that seals 'local' private keys (64 hex digits).",
							   "Read at server start; must be readable by the server's user only.",
							   &tpwallet_key_file, "", PGC_POSTMASTER, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("tpwallet.key_command",
							   "Command whose standard output is the server key (64 hex digits).",
							   "Used instead of tpwallet.key_file when set; run at server start.",
							   &tpwallet_key_command, "", PGC_POSTMASTER, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
}

/* ---------------------------------------------------------------- server key */

/* Read at most cap bytes of a file or a command's output; -1 and a reason on failure. */
static ssize_t
read_key_source(uint8 *buf, size_t cap, char *why, size_t whylen)
{
	bool		is_command = tpwallet_key_command && tpwallet_key_command[0];
	FILE	   *f;
	size_t		n;

	if (is_command)
		f = popen(tpwallet_key_command, "r");
	else if (tpwallet_key_file && tpwallet_key_file[0])
		f = fopen(tpwallet_key_file, "rb");
	else
	{
		snprintf(why, whylen, "neither tpwallet.key_file nor tpwallet.key_command is set");
		return -1;
	}
	if (f == NULL)
	{
		snprintf(why, whylen, "could not %s \"%s\": %m", is_command ? "run" : "open",
				 is_command ? "tpwallet.key_command" : tpwallet_key_file);
		return -1;
	}
	n = fread(buf, 1, cap, f);
	if (is_command)
	{
		int			rc = pclose(f);

		if (rc != 0)
		{
			if (rc > 0 && WIFEXITED(rc))
				snprintf(why, whylen, "tpwallet.key_command exited with code %d", WEXITSTATUS(rc));
			else
				snprintf(why, whylen, "tpwallet.key_command failed (status %d)", rc);
			return -1;
		}
	}
	else
		fclose(f);
	return (ssize_t) n;
}

/* 32 raw bytes, or 64 hex digits with surrounding white space. */
static bool
parse_server_key(uint8 *buf, size_t n, uint8 key[32])
{
	size_t		start = 0,
				end = n,
				got;

	if (n == 32)
	{
		memcpy(key, buf, 32);
		return true;
	}
	while (start < end && strchr(" \t\r\n", buf[start]) != NULL)
		start++;
	while (end > start && strchr(" \t\r\n", buf[end - 1]) != NULL)
		end--;
	return end - start == 64 &&
		tp_hex_decode((const char *) buf + start, 64, key, 32, &got) == HEX_OK && got == 32;
}

static void
derive_from_server_key(const uint8 key[32])
{
	static const char kek_label[] = "tpwallet key-encryption key v1";
	static const char fp_label[] = "tpwallet server key fingerprint v1";
	uint8		fp[32];
	unsigned int len = 32;

	HMAC(EVP_sha256(), key, 32, (const uint8 *) kek_label, strlen(kek_label),
		 key_encryption_key, &len);
	HMAC(EVP_sha256(), key, 32, (const uint8 *) fp_label, strlen(fp_label), fp, &len);
	memcpy(key_fingerprint, fp, TPW_FINGERPRINT_LEN);
	explicit_bzero(fp, sizeof(fp));
}

static void
load_server_key(void)
{
	uint8		buf[1024];
	uint8		key[32];
	ssize_t		n;

	server_key_tried = true;
	n = read_key_source(buf, sizeof(buf), server_key_problem, sizeof(server_key_problem));
	if (n >= 0 && !parse_server_key(buf, (size_t) n, key))
	{
		snprintf(server_key_problem, sizeof(server_key_problem),
				 "the server key must be 64 hex digits (or 32 raw bytes), got %zd bytes", n);
		n = -1;
	}
	explicit_bzero(buf, sizeof(buf));
	if (n < 0)
		return;
	derive_from_server_key(key);
	explicit_bzero(key, sizeof(key));
	server_key_loaded = true;
}

void
tpw_keystore_load_at_startup(void)
{
	if ((tpwallet_key_file == NULL || tpwallet_key_file[0] == '\0') &&
		(tpwallet_key_command == NULL || tpwallet_key_command[0] == '\0'))
		return;
	load_server_key();
	if (!server_key_loaded)
		ereport(WARNING,
				(errmsg("tpwallet: server key not loaded: %s", server_key_problem),
				 errdetail("Keys of the 'local' backend cannot be created or used until the server restarts with a valid key.")));
}

static void
require_server_key(void)
{
	if (!server_key_loaded && !server_key_tried)
		load_server_key();
	if (!server_key_loaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the server key for local keys is not loaded"),
				 errdetail("%s.", server_key_problem),
				 errhint("A superuser sets tpwallet.key_file or tpwallet.key_command in postgresql.conf and restarts the server."),
				 errhidestmt(true)));
}

/* ---------------------------------------------------------------- sealing */

size_t
tpw_key_aad(const char *label, const uint8 pubkey33[TPW_PUBKEY_COMPRESSED_LEN], uint8 *out, size_t cap)
{
	static const char prefix[] = "tpwallet-key-v1";
	size_t		llen = strlen(label);
	size_t		need = sizeof(prefix) + llen + 1 + TPW_PUBKEY_COMPRESSED_LEN;

	if (need > cap)
		elog(ERROR, "key label too long for its associated data");
	memcpy(out, prefix, sizeof(prefix));	/* with its NUL */
	memcpy(out + sizeof(prefix), label, llen + 1);
	memcpy(out + sizeof(prefix) + llen + 1, pubkey33, TPW_PUBKEY_COMPRESSED_LEN);
	return need;
}

bytea *
tpw_seal_secret(const uint8 *secret, size_t len, const uint8 *aad, size_t aadlen)
{
	size_t		total = 1 + TPW_FINGERPRINT_LEN + TPW_GCM_NONCE_LEN + len + TPW_GCM_TAG_LEN;
	bytea	   *out;
	uint8	   *p;
	EVP_CIPHER_CTX *ctx;
	int			outl,
				ok;

	require_server_key();
	out = palloc(VARHDRSZ + total);
	SET_VARSIZE(out, VARHDRSZ + total);
	p = (uint8 *) VARDATA(out);
	p[0] = TPW_SEALED_VERSION;
	memcpy(p + 1, key_fingerprint, TPW_FINGERPRINT_LEN);
	if (!pg_strong_random(p + 1 + TPW_FINGERPRINT_LEN, TPW_GCM_NONCE_LEN))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate a random nonce")));

	ctx = EVP_CIPHER_CTX_new();
	ok = ctx != NULL &&
		EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key_encryption_key,
						   p + 1 + TPW_FINGERPRINT_LEN) == 1 &&
		EVP_EncryptUpdate(ctx, NULL, &outl, aad, (int) aadlen) == 1 &&
		EVP_EncryptUpdate(ctx, p + 1 + TPW_FINGERPRINT_LEN + TPW_GCM_NONCE_LEN, &outl,
						  secret, (int) len) == 1 &&
		EVP_EncryptFinal_ex(ctx, p + 1 + TPW_FINGERPRINT_LEN + TPW_GCM_NONCE_LEN + outl, &outl) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TPW_GCM_TAG_LEN,
							p + total - TPW_GCM_TAG_LEN) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("AES-256-GCM encryption failed")));
	return out;
}

void
tpw_unseal_secret(const bytea *sealed, const uint8 *aad, size_t aadlen, uint8 *out, size_t len)
{
	const uint8 *p = (const uint8 *) VARDATA_ANY(sealed);
	size_t		total = VARSIZE_ANY_EXHDR(sealed);
	const uint8 *nonce = p + 1 + TPW_FINGERPRINT_LEN;
	EVP_CIPHER_CTX *ctx;
	int			outl,
				ok;
	uint8		tag[TPW_GCM_TAG_LEN];

	require_server_key();
	if (total != 1 + TPW_FINGERPRINT_LEN + TPW_GCM_NONCE_LEN + len + TPW_GCM_TAG_LEN ||
		p[0] != TPW_SEALED_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("sealed key material has an unknown format")));
	if (memcmp(p + 1, key_fingerprint, TPW_FINGERPRINT_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this key was sealed under another server key"),
				 errhint("Start the server with the server key that was in use when the key was created.")));
	memcpy(tag, p + total - TPW_GCM_TAG_LEN, TPW_GCM_TAG_LEN);

	ctx = EVP_CIPHER_CTX_new();
	ok = ctx != NULL &&
		EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key_encryption_key, nonce) == 1 &&
		EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int) aadlen) == 1 &&
		EVP_DecryptUpdate(ctx, out, &outl, nonce + TPW_GCM_NONCE_LEN, (int) len) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TPW_GCM_TAG_LEN, tag) == 1 &&
		EVP_DecryptFinal_ex(ctx, out + outl, &outl) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
	{
		explicit_bzero(out, len);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("sealed key material failed its integrity check"),
				 errdetail("The ciphertext, its label or its public key was changed.")));
	}
}

/* ---------------------------------------------------------------- lookup */

void
tpw_check_key_label(const char *label)
{
	size_t		len = strlen(label);
	bool		ok = len >= 1 && len <= 64 && isalnum((unsigned char) label[0]);

	for (size_t i = 0; ok && i < len; i++)
		ok = isalnum((unsigned char) label[i]) || strchr("._:-", label[i]) != NULL;
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid key label \"%s\"", label),
				 errhint("Use 1 to 64 letters, digits, \".\", \"_\", \":\" or \"-\", starting with a letter or digit."),
				 errhidestmt(true)));
}

static SPIPlanPtr lookup_plan = NULL;

void
tpw_key_lookup(const char *label, TpwKey *key)
{
	Datum		arg = CStringGetTextDatum(label);
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	char	   *status;
	bytea	   *pub;

	if (lookup_plan == NULL)
	{
		Oid			types[1] = {TEXTOID};
		SPIPlanPtr	p = SPI_prepare("SELECT k.id, k.backend, k.status, k.public_key, k.hsm_key_id, s.sealed"
									"  FROM tpwallet.signing_keys k"
									"  LEFT JOIN tpwallet.key_secrets s ON s.key_id = k.id"
									" WHERE k.label = $1", 1, types);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		lookup_plan = p;
	}
	if (SPI_execute_plan(lookup_plan, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "key lookup failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("key \"%s\" does not exist", label),
				 errhint("See the tpwallet.keys view for the keys there are.")));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	status = TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull));
	if (strcmp(status, "active") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("key \"%s\" is %s and cannot sign", label, status),
				 errhint("An administrator can re-enable it with tpwallet.set_key_status().")));

	key->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	key->label = SPI_palloc(strlen(label) + 1);
	strcpy(key->label, label);
	key->is_local = strcmp(TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull)), "local") == 0;
	pub = DatumGetByteaPP(SPI_getbinval(tup, desc, 4, &isnull));
	tpw_check_length("stored public key", TPW_BYTEA_LEN(pub), TPW_PUBKEY_COMPRESSED_LEN);
	memcpy(key->public_key, TPW_BYTEA_PTR(pub), TPW_PUBKEY_COMPRESSED_LEN);
	tpw_secp_pubkey_parse(key->public_key, TPW_PUBKEY_COMPRESSED_LEN, &key->pub);
	key->hsm_id = NULL;
	key->sealed = NULL;
	{
		Datum		d = SPI_getbinval(tup, desc, 5, &isnull);

		if (!isnull)
			key->hsm_id = (bytea *) SPI_datumTransfer(d, false, -1);
		d = SPI_getbinval(tup, desc, 6, &isnull);
		if (!isnull)
			key->sealed = (bytea *) SPI_datumTransfer(d, false, -1);
	}
	if (key->is_local ? key->sealed == NULL : key->hsm_id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("key \"%s\" has no %s", label, key->is_local ? "sealed private key" : "HSM key id")));
}

/* ---------------------------------------------------------------- signing */

void
tpw_key_unseal_local(const TpwKey *key, uint8 seckey[TPW_SECKEY_LEN])
{
	uint8		aad[128];
	size_t		aadlen = tpw_key_aad(key->label, key->public_key, aad, sizeof(aad));

	tpw_unseal_secret(key->sealed, aad, aadlen, seckey, TPW_SECKEY_LEN);
}

static void
sign_local(const TpwKey *key, int n, const uint8 *digests, uint8 *signatures)
{
	uint8		seckey[TPW_SECKEY_LEN];

	tpw_key_unseal_local(key, seckey);
	PG_TRY();
	{
		for (int i = 0; i < n; i++)
		{
			if ((i & 1023) == 1023)
				CHECK_FOR_INTERRUPTS();
			tpw_secp_sign(seckey, digests + 32 * i, signatures + TPW_SIGNATURE_LEN * i);
		}
	}
	PG_FINALLY();
	{
		explicit_bzero(seckey, sizeof(seckey));
	}
	PG_END_TRY();
}

static void
sign_hsm(const TpwKey *key, int n, const uint8 *digests, uint8 *signatures)
{
	for (int i = 0; i < n; i++)
	{
		uint8		rs[64];

		CHECK_FOR_INTERRUPTS();
		tpw_hsm_sign(TPW_BYTEA_PTR(key->hsm_id), TPW_BYTEA_LEN(key->hsm_id), digests + 32 * i, rs);
		if (!tpw_secp_complete_signature(&key->pub, digests + 32 * i, rs,
										 signatures + TPW_SIGNATURE_LEN * i))
			ereport(ERROR,
					(errcode(ERRCODE_TW_HSM_UNAVAILABLE),
					 errmsg("the HSM returned a signature that does not verify against key \"%s\"", key->label),
					 errdetail("No recovery id recovers the key's public key from the signature."),
					 errhint("The HSM object with this key's CKA_ID may have been replaced; check the token.")));
	}
}

void
tpw_key_sign(const TpwKey *key, int n, const uint8 *digests, uint8 *signatures)
{
	if (key->is_local)
		sign_local(key, n, digests, signatures);
	else
		sign_hsm(key, n, digests, signatures);
}

static SPIPlanPtr log_plan = NULL;

/* bytea[] of n items of width w */
static Datum
bytea_array(const uint8 *data, int n, size_t w)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	ArrayType  *arr;

	for (int i = 0; i < n; i++)
		elems[i] = PointerGetDatum(tpw_bytea_from(data + w * i, w));
	arr = construct_array(elems, n, BYTEAOID, -1, false, TYPALIGN_INT);
	return PointerGetDatum(arr);
}

void
tpw_log_signatures(const TpwKey *key, const char *purpose, int n,
				   const uint8 *digests, const uint8 *signatures, size_t siglen)
{
	Datum		args[6];

	if (log_plan == NULL)
	{
		Oid			types[6] = {INT8OID, TEXTOID, TEXTOID, BYTEAARRAYOID, BYTEAARRAYOID, TEXTOID};
		SPIPlanPtr	p = SPI_prepare("INSERT INTO tpwallet.signature_log"
									" (key_id, key_label, purpose, digests, signatures, signed_as)"
									" VALUES ($1, $2, $3, $4, $5, $6)", 6, types);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		log_plan = p;
	}
	args[0] = Int64GetDatum(key->id);
	args[1] = CStringGetTextDatum(key->label);
	args[2] = CStringGetTextDatum(purpose);
	args[3] = bytea_array(digests, n, 32);
	args[4] = bytea_array(signatures, n, siglen);
	/* the role in effect before SECURITY DEFINER switched to the owner */
	args[5] = CStringGetTextDatum(GetUserNameFromId(GetOuterUserId(), false));
	if (SPI_execute_plan(log_plan, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the signatures");
}
