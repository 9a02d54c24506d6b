/*
 * keys_sql.c
 *	  SQL API of the key store: create_key, import_key, set_key_status,
 *	  sign_digest, sign_digests.
 *
 * Every function here is SECURITY DEFINER (owner tpwallet_owner, search_path
 * pinned) and granted to one role: key management to tpwallet_admin,
 * signing to tpwallet_signer.  Private keys never leave this file in the
 * clear: 'local' keys are sealed before they reach a table, 'pkcs11' keys
 * stay in the HSM.  Every signature is recorded in tpwallet.signature_log,
 * every key change in tpwallet.audit_log.
 *
 * import_key's errors carry errhidestmt: the server log must not repeat a
 * statement whose text may hold a private key (callers should still pass
 * the key as a bind parameter, which is never logged by default).
 */
#include "postgres.h"

#include "keys/keystore.h"
#include "keys/hsm.h"
#include "crypto/crypto_pg.h"
#include "tpwallet.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#define TPW_MAX_DIGESTS_PER_CALL 1000000

static bool
backend_is_local(const char *backend)
{
	if (strcmp(backend, "local") == 0)
		return true;
	if (strcmp(backend, "pkcs11") == 0)
		return false;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown key backend \"%s\"", backend),
			 errhint("Use 'pkcs11' (a key inside the HSM) or 'local' (sealed under the server key)."),
			 errhidestmt(true)));
	return false;
}

static void
refuse_existing_label(const char *label)
{
	Datum		arg = CStringGetTextDatum(label);
	Oid			type = TEXTOID;

	if (SPI_execute_with_args("SELECT 1 FROM tpwallet.signing_keys WHERE label = $1",
							  1, &type, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "key label check failed");
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("key \"%s\" already exists", label),
				 errhint("Key labels are unique and never reused, even for retired keys."),
				 errhidestmt(true)));
}

/* Insert the key's rows and the audit record; returns the checksummed address. */
static char *
store_key(const char *label, bool local, const char *origin, const secp256k1_pubkey *pub,
		  const uint8 *hsm_id, const uint8 *seckey)
{
	uint8		pub33[TPW_PUBKEY_COMPRESSED_LEN];
	uint8		addr[TPW_ADDRESS_LEN];
	char		address[43];
	Oid			types[6] = {TEXTOID, TEXTOID, BYTEAOID, TEXTOID, BYTEAOID, TEXTOID};
	Datum		args[6];
	char		nulls[6] = "      ";
	bool		isnull;
	int64		id;

	tpw_secp_pubkey_serialize(pub, true, pub33);
	tpw_eth_address_bytes(pub, addr);
	tpw_eth_address_checksummed(addr, address);

	args[0] = CStringGetTextDatum(label);
	args[1] = CStringGetTextDatum(local ? "local" : "pkcs11");
	args[2] = PointerGetDatum(tpw_bytea_from(pub33, sizeof(pub33)));
	args[3] = CStringGetTextDatum(address);
	if (hsm_id)
		args[4] = PointerGetDatum(tpw_bytea_from(hsm_id, TPW_HSM_ID_LEN));
	else
		nulls[4] = 'n';
	args[5] = CStringGetTextDatum(origin);
	if (SPI_execute_with_args("INSERT INTO tpwallet.signing_keys"
							  " (label, backend, public_key, address, hsm_key_id, origin)"
							  " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
							  6, types, args, nulls, false, 1) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not store key \"%s\"", label);
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	if (local)
	{
		uint8		aad[128];
		size_t		aadlen = tpw_key_aad(label, pub33, aad, sizeof(aad));
		Oid			stypes[2] = {INT8OID, BYTEAOID};
		Datum		sargs[2];

		sargs[0] = Int64GetDatum(id);
		sargs[1] = PointerGetDatum(tpw_seal_secret(seckey, TPW_SECKEY_LEN, aad, aadlen));
		if (SPI_execute_with_args("INSERT INTO tpwallet.key_secrets (key_id, sealed) VALUES ($1, $2)",
								  2, stypes, sargs, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not store the sealed key of \"%s\"", label);
	}

	{
		Oid			atypes[3] = {TEXTOID, TEXTOID, TEXTOID};
		Datum		aargs[3];

		aargs[0] = CStringGetTextDatum(strcmp(origin, "generated") == 0 ? "create_key" : "import_key");
		aargs[1] = CStringGetTextDatum(label);
		aargs[2] = CStringGetTextDatum(psprintf("{\"backend\": \"%s\", \"address\": \"%s\"}",
												local ? "local" : "pkcs11", address));
		if (SPI_execute_with_args("INSERT INTO tpwallet.audit_log (action, object, detail)"
								  " VALUES ($1, $2, $3::jsonb)", 3, atypes, aargs, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not audit the new key");
	}
	return pstrdup(address);
}

static char *
create_local_key(const char *label)
{
	uint8		seckey[TPW_SECKEY_LEN];
	secp256k1_pubkey pub;
	char	   *address;

	/* a random 32-byte string is >= n with probability about 2^-128 */
	do
	{
		if (!pg_strong_random(seckey, sizeof(seckey)))
			ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate a random key")));
	} while (!tpw_secp_seckey_valid(seckey));
	PG_TRY();
	{
		tpw_secp_pubkey_of(seckey, &pub);
		address = store_key(label, true, "generated", &pub, NULL, seckey);
	}
	PG_FINALLY();
	{
		explicit_bzero(seckey, sizeof(seckey));
	}
	PG_END_TRY();
	return address;
}

static char *
create_hsm_key(const char *label)
{
	uint8		id[TPW_HSM_ID_LEN];
	uint8		pub65[TPW_PUBKEY_UNCOMPRESSED_LEN];
	secp256k1_pubkey pub;

	tpw_hsm_generate(label, id, pub65);
	tpw_secp_pubkey_parse(pub65, sizeof(pub65), &pub);
	return store_key(label, false, "generated", &pub, id, NULL);
}

PG_FUNCTION_INFO_V1(tpwallet_create_key);

Datum
tpwallet_create_key(PG_FUNCTION_ARGS)
{
	char	   *label = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		local = backend_is_local(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	char	   *address;
	text	   *result;

	tpw_check_key_label(label);
	SPI_connect();
	refuse_existing_label(label);
	address = local ? create_local_key(label) : create_hsm_key(label);
	result = cstring_to_text(address);
	/* result was allocated in SPI's procedure context: copy it out */
	result = (text *) SPI_datumTransfer(PointerGetDatum(result), false, -1);
	SPI_finish();
	PG_RETURN_TEXT_P(result);
}

PG_FUNCTION_INFO_V1(tpwallet_import_key);

Datum
tpwallet_import_key(PG_FUNCTION_ARGS)
{
	char	   *label = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bytea	   *priv = PG_GETARG_BYTEA_PP(1);
	bool		local = backend_is_local(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	uint8		seckey[TPW_SECKEY_LEN];
	secp256k1_pubkey pub;
	char	   *address = NULL;
	Datum		result;

	tpw_check_key_label(label);
	if (TPW_BYTEA_LEN(priv) != TPW_SECKEY_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a secp256k1 private key must be 32 bytes, not %zu", TPW_BYTEA_LEN(priv)),
				 errhidestmt(true)));
	memcpy(seckey, TPW_BYTEA_PTR(priv), TPW_SECKEY_LEN);
	if (!tpw_secp_seckey_valid(seckey))
	{
		explicit_bzero(seckey, sizeof(seckey));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid secp256k1 private key"),
				 errdetail("A private key is a number from 1 to n - 1 (the group order)."),
				 errhidestmt(true)));
	}
	SPI_connect();
	PG_TRY();
	{
		refuse_existing_label(label);
		tpw_secp_pubkey_of(seckey, &pub);
		if (local)
			address = store_key(label, true, "imported", &pub, NULL, seckey);
		else
		{
			uint8		pub65[TPW_PUBKEY_UNCOMPRESSED_LEN];
			uint8		id[TPW_HSM_ID_LEN];

			tpw_secp_pubkey_serialize(&pub, false, pub65);
			tpw_hsm_import(label, seckey, pub65, id);
			address = store_key(label, false, "imported", &pub, id, NULL);
		}
	}
	PG_FINALLY();
	{
		explicit_bzero(seckey, sizeof(seckey));
	}
	PG_END_TRY();
	result = SPI_datumTransfer(PointerGetDatum(cstring_to_text(address)), false, -1);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(tpwallet_set_key_status);

Datum
tpwallet_set_key_status(PG_FUNCTION_ARGS)
{
	char	   *label = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *status = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	char	   *old;
	bool		isnull;

	if (strcmp(status, "active") != 0 && strcmp(status, "disabled") != 0 && strcmp(status, "retired") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown key status \"%s\"", status),
				 errhint("Use 'active', 'disabled' (can be re-enabled) or 'retired' (final).")));
	args[0] = CStringGetTextDatum(label);
	args[1] = CStringGetTextDatum(status);
	SPI_connect();
	if (SPI_execute_with_args("SELECT status FROM tpwallet.signing_keys WHERE label = $1 FOR UPDATE",
							  1, types, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "key lookup failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("key \"%s\" does not exist", label)));
	old = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (strcmp(old, "retired") == 0 && strcmp(status, "retired") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("key \"%s\" is retired and stays retired", label),
				 errhint("Create a new key instead.")));
	if (SPI_execute_with_args("UPDATE tpwallet.signing_keys SET status = $2 WHERE label = $1",
							  2, types, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not change the key's status");
	{
		Oid			atypes[2] = {TEXTOID, TEXTOID};
		Datum		aargs[2];

		aargs[0] = args[0];
		aargs[1] = CStringGetTextDatum(psprintf("{\"from\": \"%s\", \"to\": \"%s\"}", old, status));
		if (SPI_execute_with_args("INSERT INTO tpwallet.audit_log (action, object, detail)"
								  " VALUES ('set_key_status', $1, $2::jsonb)", 2, atypes, aargs,
								  NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not audit the key status change");
	}
	SPI_finish();
	PG_RETURN_VOID();
}

/* ---------------------------------------------------------------- signing */

PG_FUNCTION_INFO_V1(tpwallet_sign_digest);

Datum
tpwallet_sign_digest(PG_FUNCTION_ARGS)
{
	char	   *label = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bytea	   *digest = PG_GETARG_BYTEA_PP(1);
	uint8		sig[TPW_SIGNATURE_LEN];
	TpwKey		key;

	tpw_check_length("digest", TPW_BYTEA_LEN(digest), TPW_DIGEST_LEN);
	SPI_connect();
	tpw_key_lookup(label, &key);
	tpw_key_sign(&key, 1, TPW_BYTEA_PTR(digest), sig);
	tpw_log_signatures(&key, "digest", 1, TPW_BYTEA_PTR(digest), sig, TPW_SIGNATURE_LEN);
	SPI_finish();
	PG_RETURN_BYTEA_P(tpw_bytea_from(sig, sizeof(sig)));
}

/* The digests of a bytea[] as one packed 32 * n buffer; errors name the bad element. */
static uint8 *
unpack_digests(ArrayType *arr, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	uint8	   *packed;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("digests must be a one-dimensional array")));
	deconstruct_array(arr, BYTEAOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	if (*n > TPW_MAX_DIGESTS_PER_CALL)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("at most %d digests per call, not %d", TPW_MAX_DIGESTS_PER_CALL, *n)));
	packed = palloc(32 * (size_t) Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		bytea	   *d;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("digest %d is NULL", i + 1)));
		d = DatumGetByteaPP(elems[i]);
		if (TPW_BYTEA_LEN(d) != TPW_DIGEST_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("digest %d must be 32 bytes, not %zu", i + 1, TPW_BYTEA_LEN(d)),
					 errhint("Nothing was signed.")));
		memcpy(packed + 32 * i, TPW_BYTEA_PTR(d), 32);
	}
	return packed;
}

PG_FUNCTION_INFO_V1(tpwallet_sign_digests);

Datum
tpwallet_sign_digests(PG_FUNCTION_ARGS)
{
	char	   *label = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int			n;
	uint8	   *digests = unpack_digests(PG_GETARG_ARRAYTYPE_P(1), &n);
	uint8	   *sigs = palloc(TPW_SIGNATURE_LEN * (size_t) Max(n, 1));
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	TpwKey		key;

	SPI_connect();
	tpw_key_lookup(label, &key);
	if (n > 0)
	{
		tpw_key_sign(&key, n, digests, sigs);
		tpw_log_signatures(&key, "digest", n, digests, sigs, TPW_SIGNATURE_LEN);
	}
	SPI_finish();
	for (int i = 0; i < n; i++)
		elems[i] = PointerGetDatum(tpw_bytea_from(sigs + TPW_SIGNATURE_LEN * i, TPW_SIGNATURE_LEN));
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, BYTEAOID, -1, false, TYPALIGN_INT));
}
