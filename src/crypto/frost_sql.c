/*
 * frost_sql.c
 *	  FROST(secp256k1, SHA-256) (RFC 9591) in SQL: the pure functions
 *	  (keygen, nonce, sign_share, aggregate, verify) that remote
 *	  participants and the RFC's test vectors use, and stateful signing
 *	  with shares held by this database (import_share, commit, sign).
 *
 * The jsonb forms:
 *	 commitments       [{"identifier": 1, "hiding": "0x..", "binding": "0x..",
 *	                     "verifying_share": "0x.."?}, ...]
 *	 signature_shares  [{"identifier": 1, "share": "0x.."}, ...]
 *
 * Nonces.  A nonce pair that signs two different messages (or the same
 * message with another commitment list) gives away the signing share, so
 * frost_sign consumes a commitment exactly once: it deletes the sealed
 * nonces and records the use in frost_nonce_uses, whose primary key makes
 * a second use impossible even for concurrent callers.  For a commitment
 * made by an earlier transaction that consumption is committed by a
 * background worker before the share is computed (frost_nonce.c), so no
 * rollback can bring the nonces back after a share has left the database.
 */
#include "postgres.h"

#include "crypto/crypto_pg.h"
#include "crypto/frost.h"
#include "crypto/frost_nonce.h"
#include "crypto/hex.h"
#include "crypto/keccak.h"
#include "crypto/secp.h"
#include "keys/keystore.h"
#include "tpwallet.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

/* ---------------------------------------------------------------- errors */

static int
random_for_frost(void *arg, uint8_t *buf, size_t len)
{
	return pg_strong_random(buf, len) ? 1 : 0;
}

static void
frost_check(int rc, int culprit, const char *what)
{
	int			code;

	if (rc == FROST_OK)
		return;
	switch (rc)
	{
		case FROST_ERR_INVALID_SHARE:
			code = ERRCODE_TW_FROST_INVALID_SHARE;
			break;
		case FROST_ERR_NO_MEMORY:
			code = ERRCODE_OUT_OF_MEMORY;
			break;
		case FROST_ERR_RANDOM:
		case FROST_ERR_INTERNAL:
			code = ERRCODE_INTERNAL_ERROR;
			break;
		case FROST_ERR_MAX_SIGNERS:
		case FROST_ERR_IDENTIFIER_RANGE:
		case FROST_ERR_SCALAR_RANGE:
			code = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
			break;
		default:
			code = ERRCODE_INVALID_PARAMETER_VALUE;
	}
	if (culprit > 0)
		ereport(ERROR,
				(errcode(code),
				 errmsg("%s: %s (participant %d)", what, frost_strerror(rc), culprit),
				 rc == FROST_ERR_INVALID_SHARE ?
				 errdetail("Participant %d's signature share does not verify against its verifying share.", culprit) : 0,
				 rc == FROST_ERR_INVALID_SHARE ?
				 errhint("Leave that participant out and sign again with fresh commitments.") : 0));
	ereport(ERROR,
			(errcode(code),
			 errmsg("%s: %s", what, frost_strerror(rc))));
}

static void
check_len(const char *what, bytea *b, size_t want)
{
	tpw_check_length(what, TPW_BYTEA_LEN(b), want);
}

/* ---------------------------------------------------------------- jsonb parsing */

static void
json_error(const char *what, int position, const char *msg)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s (element %d): %s", what, position, msg),
			 errhint("Commitments are [{\"identifier\": 1, \"hiding\": \"0x..\", \"binding\": \"0x..\"}, ...]; "
					 "signature shares [{\"identifier\": 1, \"share\": \"0x..\"}, ...].")));
}

static int
json_identifier(const char *what, int position, JsonbValue *v)
{
	char	   *s;
	char	   *end;
	long		id;

	if (v == NULL || v->type != jbvNumeric)
		json_error(what, position, "\"identifier\" must be an integer");
	s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	id = strtol(s, &end, 10);
	if (*end != '\0' || id < 1 || id > FROST_MAX_SIGNERS)
		json_error(what, position, psprintf("\"identifier\" must be an integer from 1 to %d, not %s",
											FROST_MAX_SIGNERS, s));
	return (int) id;
}

static void
json_bytes(const char *what, int position, const char *field, JsonbValue *v, uint8 *out, size_t want)
{
	size_t		got;
	int			rc;

	if (v == NULL || v->type != jbvString)
		json_error(what, position, psprintf("\"%s\" must be a \"0x\" hex string", field));
	if (v->val.string.len < 2 || v->val.string.val[0] != '0' || (v->val.string.val[1] | 0x20) != 'x')
		json_error(what, position, psprintf("\"%s\" must start with \"0x\"", field));
	rc = tp_hex_decode(v->val.string.val, v->val.string.len, out, want, &got);
	if (rc != HEX_OK || got != want)
		json_error(what, position, psprintf("\"%s\" must be %zu bytes of hex", field, want));
}

/* Objects of a jsonb array, each checked to have only the allowed keys. */
static JsonbContainer **
json_objects(const char *what, Jsonb *jb, const char *const *allowed, int *n)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	JsonbContainer **out;
	int			count = 0;

	if (!JB_ROOT_IS_ARRAY(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON array", what)));
	*n = JB_ROOT_COUNT(jb);
	if (*n < 1 || *n > FROST_MAX_SIGNERS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must have 1 to %d elements, not %d", what, FROST_MAX_SIGNERS, *n)));
	out = palloc(sizeof(JsonbContainer *) * *n);
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			json_error(what, count + 1, "not an object");
		out[count] = v.val.binary.data;
		{
			JsonbIterator *kit = JsonbIteratorInit(out[count]);
			JsonbValue	k;

			while ((tok = JsonbIteratorNext(&kit, &k, true)) != WJB_DONE)
			{
				bool		known = false;

				if (tok != WJB_KEY)
					continue;
				for (int i = 0; allowed[i]; i++)
					known |= (strlen(allowed[i]) == (size_t) k.val.string.len &&
							  memcmp(allowed[i], k.val.string.val, k.val.string.len) == 0);
				if (!known)
					json_error(what, count + 1, psprintf("unknown key \"%.*s\"", k.val.string.len, k.val.string.val));
			}
		}
		count++;
	}
	return out;
}

static JsonbValue *
json_get(JsonbContainer *c, const char *key)
{
	return getKeyJsonValueFromContainer(c, key, strlen(key), NULL);
}

/* commitments (and the verifying shares some of them carry) */
static frost_commitment *
parse_commitments(Jsonb *jb, int *n, frost_verifying_share **vs, int *nvs)
{
	static const char *const allowed[] = {"identifier", "hiding", "binding", "verifying_share", NULL};
	JsonbContainer **objs = json_objects("commitments", jb, allowed, n);
	frost_commitment *out = palloc0(sizeof(frost_commitment) * *n);

	*vs = palloc0(sizeof(frost_verifying_share) * *n);
	*nvs = 0;
	for (int i = 0; i < *n; i++)
	{
		JsonbValue *v;

		out[i].identifier = json_identifier("commitments", i + 1, json_get(objs[i], "identifier"));
		json_bytes("commitments", i + 1, "hiding", json_get(objs[i], "hiding"), out[i].hiding, FROST_ELEMENT_LEN);
		json_bytes("commitments", i + 1, "binding", json_get(objs[i], "binding"), out[i].binding, FROST_ELEMENT_LEN);
		v = json_get(objs[i], "verifying_share");
		if (v != NULL && v->type != jbvNull)
		{
			(*vs)[*nvs].identifier = out[i].identifier;
			json_bytes("commitments", i + 1, "verifying_share", v, (*vs)[*nvs].element, FROST_ELEMENT_LEN);
			(*nvs)++;
		}
	}
	return out;
}

static frost_signature_share *
parse_shares(Jsonb *jb, int *n)
{
	static const char *const allowed[] = {"identifier", "share", NULL};
	JsonbContainer **objs = json_objects("signature_shares", jb, allowed, n);
	frost_signature_share *out = palloc0(sizeof(frost_signature_share) * *n);

	for (int i = 0; i < *n; i++)
	{
		out[i].identifier = json_identifier("signature_shares", i + 1, json_get(objs[i], "identifier"));
		json_bytes("signature_shares", i + 1, "share", json_get(objs[i], "share"), out[i].share, FROST_SCALAR_LEN);
	}
	return out;
}

/* ---------------------------------------------------------------- pure functions */

PG_FUNCTION_INFO_V1(tpwallet_frost_keygen);

Datum
tpwallet_frost_keygen(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			min_signers,
				max_signers;
	uint8	   *secret = NULL;
	uint8	   *coefs = NULL;
	frost_key_share *shares;
	uint8		gpk[FROST_ELEMENT_LEN];
	int			rc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("min_signers and max_signers must not be NULL")));
	min_signers = PG_GETARG_INT32(0);
	max_signers = PG_GETARG_INT32(1);
	if (min_signers < FROST_MIN_SIGNERS || max_signers > FROST_MAX_SIGNERS || min_signers > max_signers)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid threshold %d of %d", min_signers, max_signers),
				 errdetail("FROST needs 2 <= min_signers <= max_signers <= %d.", FROST_MAX_SIGNERS)));
	if (!PG_ARGISNULL(2))
	{
		bytea	   *s = PG_GETARG_BYTEA_PP(2);

		check_len("secret", s, FROST_SCALAR_LEN);
		secret = (uint8 *) TPW_BYTEA_PTR(s);
	}
	if (!PG_ARGISNULL(3))
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(3);
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		deconstruct_array(arr, BYTEAOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
		if (n != min_signers - 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a %d-of-%d key needs %d coefficients, not %d", min_signers, max_signers,
							min_signers - 1, n)));
		coefs = palloc(FROST_SCALAR_LEN * (size_t) Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			if (nulls[i])
				ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("coefficient %d is NULL", i + 1)));
			check_len("coefficient", DatumGetByteaPP(elems[i]), FROST_SCALAR_LEN);
			memcpy(coefs + FROST_SCALAR_LEN * i, TPW_BYTEA_PTR(DatumGetByteaPP(elems[i])), FROST_SCALAR_LEN);
		}
	}
	if ((secret == NULL) != (coefs == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("give both secret and coefficients, or neither"),
				 errhint("Both NULL draws a fresh random key.")));

	shares = palloc0(sizeof(frost_key_share) * max_signers);
	rc = frost_keygen_dealer(tpw_secp_context(), min_signers, max_signers, secret, coefs,
							 random_for_frost, NULL, shares, gpk, NULL);
	frost_check(rc, 0, "FROST key generation failed");

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < max_signers; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = Int32GetDatum(shares[i].identifier);
		values[1] = PointerGetDatum(tpw_bytea_from(shares[i].signing_share, FROST_SCALAR_LEN));
		values[2] = PointerGetDatum(tpw_bytea_from(shares[i].verifying_share, FROST_ELEMENT_LEN));
		values[3] = PointerGetDatum(tpw_bytea_from(gpk, FROST_ELEMENT_LEN));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	explicit_bzero(shares, sizeof(frost_key_share) * max_signers);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(tpwallet_frost_nonce);

Datum
tpwallet_frost_nonce(PG_FUNCTION_ARGS)
{
	bytea	   *share = PG_GETARG_BYTEA_PP(0);
	bytea	   *rnd = PG_GETARG_BYTEA_PP(1);
	uint8		nonce[FROST_SCALAR_LEN];

	check_len("signing_share", share, FROST_SCALAR_LEN);
	check_len("random", rnd, 32);
	frost_check(frost_nonce_generate(TPW_BYTEA_PTR(rnd), TPW_BYTEA_PTR(share), nonce), 0,
				"FROST nonce generation failed");
	PG_RETURN_BYTEA_P(tpw_bytea_from(nonce, sizeof(nonce)));
}

PG_FUNCTION_INFO_V1(tpwallet_frost_sign_share);

Datum
tpwallet_frost_sign_share(PG_FUNCTION_ARGS)
{
	int			identifier = PG_GETARG_INT32(0);
	bytea	   *share = PG_GETARG_BYTEA_PP(1);
	bytea	   *gpk = PG_GETARG_BYTEA_PP(2);
	bytea	   *hiding = PG_GETARG_BYTEA_PP(3);
	bytea	   *binding = PG_GETARG_BYTEA_PP(4);
	bytea	   *msg = PG_GETARG_BYTEA_PP(5);
	int			n,
				nvs,
				culprit = 0;
	frost_verifying_share *vs;
	frost_commitment *c = parse_commitments(PG_GETARG_JSONB_P(6), &n, &vs, &nvs);
	uint8		z[FROST_SCALAR_LEN];
	int			frost_rc;

	check_len("signing_share", share, FROST_SCALAR_LEN);
	check_len("group_public_key", gpk, FROST_ELEMENT_LEN);
	check_len("hiding_nonce", hiding, FROST_SCALAR_LEN);
	check_len("binding_nonce", binding, FROST_SCALAR_LEN);
	frost_rc = frost_sign(tpw_secp_context(), identifier, TPW_BYTEA_PTR(share), TPW_BYTEA_PTR(gpk),
						   TPW_BYTEA_PTR(hiding), TPW_BYTEA_PTR(binding), c, n,
						   TPW_BYTEA_PTR(msg), TPW_BYTEA_LEN(msg), z, &culprit);
	frost_check(frost_rc, culprit, "FROST signing failed");
	PG_RETURN_BYTEA_P(tpw_bytea_from(z, sizeof(z)));
}

PG_FUNCTION_INFO_V1(tpwallet_frost_aggregate);

Datum
tpwallet_frost_aggregate(PG_FUNCTION_ARGS)
{
	bytea	   *gpk = PG_GETARG_BYTEA_PP(0);
	bytea	   *msg = PG_GETARG_BYTEA_PP(1);
	int			n,
				nvs,
				nshares,
				culprit = 0;
	frost_verifying_share *vs;
	frost_commitment *c = parse_commitments(PG_GETARG_JSONB_P(2), &n, &vs, &nvs);
	frost_signature_share *shares = parse_shares(PG_GETARG_JSONB_P(3), &nshares);
	uint8		sig[FROST_SIGNATURE_LEN];
	int			frost_rc;

	check_len("group_public_key", gpk, FROST_ELEMENT_LEN);
	frost_rc = frost_aggregate(tpw_secp_context(), c, n, TPW_BYTEA_PTR(msg), TPW_BYTEA_LEN(msg),
								TPW_BYTEA_PTR(gpk), shares, nshares, nvs > 0 ? vs : NULL, nvs, sig, &culprit);
	frost_check(frost_rc, culprit, "FROST aggregation failed");
	/* without verifying shares a bad share only shows in the result: check it */
	if (frost_verify(tpw_secp_context(), TPW_BYTEA_PTR(gpk), TPW_BYTEA_PTR(msg), TPW_BYTEA_LEN(msg), sig) != FROST_OK)
		ereport(ERROR,
				(errcode(ERRCODE_TW_FROST_INVALID_SHARE),
				 errmsg("the aggregated FROST signature does not verify"),
				 errdetail("At least one signature share is wrong."),
				 errhint("Pass each signer's \"verifying_share\" in the commitments to find out whose.")));
	PG_RETURN_BYTEA_P(tpw_bytea_from(sig, sizeof(sig)));
}

PG_FUNCTION_INFO_V1(tpwallet_frost_verify);

Datum
tpwallet_frost_verify(PG_FUNCTION_ARGS)
{
	bytea	   *gpk = PG_GETARG_BYTEA_PP(0);
	bytea	   *msg = PG_GETARG_BYTEA_PP(1);
	bytea	   *sig = PG_GETARG_BYTEA_PP(2);
	int			rc;

	check_len("group_public_key", gpk, FROST_ELEMENT_LEN);
	check_len("signature", sig, FROST_SIGNATURE_LEN);
	rc = frost_element_check(tpw_secp_context(), TPW_BYTEA_PTR(gpk));
	frost_check(rc, 0, "invalid group public key");
	rc = frost_verify(tpw_secp_context(), TPW_BYTEA_PTR(gpk), TPW_BYTEA_PTR(msg), TPW_BYTEA_LEN(msg),
					  TPW_BYTEA_PTR(sig));
	/* a malformed R or z is a signature that does not verify */
	PG_RETURN_BOOL(rc == FROST_OK);
}

/* ---------------------------------------------------------------- shares held here */

static void
nonce_reused(int64 commitment_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_TW_NONCE_REUSED),
			 errmsg("FROST commitment " INT64_FORMAT " has already been used", commitment_id),
			 errdetail("A nonce signs once: a second use with another message would reveal the signing share."),
			 errhint("Start a new round with tpwallet.frost_commit().")));
}

typedef struct HeldShare
{
	int64		id;
	int			identifier;
	uint8		gpk[FROST_ELEMENT_LEN];
	uint8		verifying[FROST_ELEMENT_LEN];
	bytea	   *sealed;
	char	   *label;
} HeldShare;

static size_t
share_aad(const char *label, int identifier, const uint8 gpk[FROST_ELEMENT_LEN], const char *purpose,
		  int64 commitment_id, uint8 *out, size_t cap)
{
	char	   *s = psprintf("tpwallet-frost-v1|%s|%s|%d|" INT64_FORMAT "|", purpose, label, identifier,
							 commitment_id);
	size_t		len = strlen(s);

	if (len + FROST_ELEMENT_LEN > cap)
		elog(ERROR, "FROST label too long for its associated data");
	memcpy(out, s, len);
	memcpy(out + len, gpk, FROST_ELEMENT_LEN);
	return len + FROST_ELEMENT_LEN;
}

static void
load_share(const char *label, HeldShare *h)
{
	Datum		arg = CStringGetTextDatum(label);
	Oid			type = TEXTOID;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	bytea	   *b;

	if (SPI_execute_with_args("SELECT id, identifier, group_public_key, verifying_share, sealed"
							  "  FROM tpwallet.frost_shares WHERE label = $1",
							  1, &type, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "FROST share lookup failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("FROST share \"%s\" does not exist", label),
				 errhint("Import it with tpwallet.frost_import_share().")));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	h->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	h->identifier = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
	b = DatumGetByteaPP(SPI_getbinval(tup, desc, 3, &isnull));
	memcpy(h->gpk, TPW_BYTEA_PTR(b), FROST_ELEMENT_LEN);
	b = DatumGetByteaPP(SPI_getbinval(tup, desc, 4, &isnull));
	memcpy(h->verifying, TPW_BYTEA_PTR(b), FROST_ELEMENT_LEN);
	h->sealed = (bytea *) SPI_datumTransfer(SPI_getbinval(tup, desc, 5, &isnull), false, -1);
	h->label = SPI_palloc(strlen(label) + 1);
	strcpy(h->label, label);
}

static void
unseal_share(const HeldShare *h, uint8 share[FROST_SCALAR_LEN])
{
	uint8		aad[256];
	size_t		aadlen = share_aad(h->label, h->identifier, h->gpk, "share", 0, aad, sizeof(aad));

	tpw_unseal_secret(h->sealed, aad, aadlen, share, FROST_SCALAR_LEN);
}

static void
audit(const char *action, const char *object, const char *detail)
{
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		args[3];

	args[0] = CStringGetTextDatum(action);
	args[1] = CStringGetTextDatum(object);
	args[2] = CStringGetTextDatum(detail);
	if (SPI_execute_with_args("INSERT INTO tpwallet.audit_log (action, object, detail) VALUES ($1, $2, $3::jsonb)",
							  3, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write the audit log");
}

PG_FUNCTION_INFO_V1(tpwallet_frost_import_share);

Datum
tpwallet_frost_import_share(PG_FUNCTION_ARGS)
{
	char	   *label = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int			identifier = PG_GETARG_INT32(1);
	bytea	   *share = PG_GETARG_BYTEA_PP(2);
	bytea	   *gpk = PG_GETARG_BYTEA_PP(3);
	uint8		secret[FROST_SCALAR_LEN];
	uint8		verifying[FROST_ELEMENT_LEN];
	uint8		zero[FROST_SCALAR_LEN] = {0};
	uint8		aad[256];
	size_t		aadlen;
	secp256k1_pubkey pub;
	Oid			types[5] = {TEXTOID, INT4OID, BYTEAOID, BYTEAOID, BYTEAOID};
	Datum		args[5];
	int64		id;
	bool		isnull;

	tpw_check_key_label(label);
	if (identifier < 1 || identifier > FROST_MAX_SIGNERS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("a FROST identifier is from 1 to %d, not %d", FROST_MAX_SIGNERS, identifier)));
	if (TPW_BYTEA_LEN(share) != FROST_SCALAR_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a signing share must be 32 bytes, not %zu", TPW_BYTEA_LEN(share)),
				 errhidestmt(true)));
	check_len("group_public_key", gpk, FROST_ELEMENT_LEN);
	frost_check(frost_element_check(tpw_secp_context(), TPW_BYTEA_PTR(gpk)), 0, "invalid group public key");
	memcpy(secret, TPW_BYTEA_PTR(share), FROST_SCALAR_LEN);
	if (frost_scalar_check(secret) != FROST_OK || memcmp(secret, zero, FROST_SCALAR_LEN) == 0)
	{
		explicit_bzero(secret, sizeof(secret));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid FROST signing share"),
				 errdetail("A signing share is a non-zero scalar below the group order."),
				 errhidestmt(true)));
	}
	tpw_secp_pubkey_of(secret, &pub);
	tpw_secp_pubkey_serialize(&pub, true, verifying);

	SPI_connect();
	args[0] = CStringGetTextDatum(label);
	if (SPI_execute_with_args("SELECT 1 FROM tpwallet.frost_shares WHERE label = $1", 1, types, args,
							  NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "FROST share lookup failed");
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("FROST share \"%s\" already exists", label),
				 errhidestmt(true)));
	aadlen = share_aad(label, identifier, TPW_BYTEA_PTR(gpk), "share", 0, aad, sizeof(aad));
	args[1] = Int32GetDatum(identifier);
	args[2] = PointerGetDatum(gpk);
	args[3] = PointerGetDatum(tpw_bytea_from(verifying, sizeof(verifying)));
	args[4] = PointerGetDatum(tpw_seal_secret(secret, FROST_SCALAR_LEN, aad, aadlen));
	explicit_bzero(secret, sizeof(secret));
	if (SPI_execute_with_args("INSERT INTO tpwallet.frost_shares (label, identifier, group_public_key,"
							  " verifying_share, sealed) VALUES ($1, $2, $3, $4, $5) RETURNING id",
							  5, types, args, NULL, false, 1) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not store the FROST share");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	audit("frost_import_share", label,
		  psprintf("{\"identifier\": %d, \"group_public_key\": \"%s\", \"verifying_share\": \"%s\"}",
				   identifier, tpw_hex0x(TPW_BYTEA_PTR(gpk), FROST_ELEMENT_LEN),
				   tpw_hex0x(verifying, FROST_ELEMENT_LEN)));
	SPI_finish();
	PG_RETURN_INT64(id);
}

/* {"commitment_id": .., "identifier": .., "hiding": "0x..", "binding": "0x..", "verifying_share": "0x.."} */
static Jsonb *
commitment_json(int64 id, const HeldShare *h, const uint8 *hiding, const uint8 *binding)
{
	char	   *s = psprintf("{\"commitment_id\": " INT64_FORMAT ", \"identifier\": %d, \"hiding\": \"%s\","
							 " \"binding\": \"%s\", \"verifying_share\": \"%s\"}",
							 id, h->identifier, tpw_hex0x(hiding, FROST_ELEMENT_LEN),
							 tpw_hex0x(binding, FROST_ELEMENT_LEN), tpw_hex0x(h->verifying, FROST_ELEMENT_LEN));

	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(s)));
}

PG_FUNCTION_INFO_V1(tpwallet_frost_commit);

Datum
tpwallet_frost_commit(PG_FUNCTION_ARGS)
{
	char	   *label = text_to_cstring(PG_GETARG_TEXT_PP(0));
	HeldShare	h;
	uint8		share[FROST_SCALAR_LEN];
	uint8		rnd[32];
	uint8		nonces[2 * FROST_SCALAR_LEN];
	uint8		hiding[FROST_ELEMENT_LEN],
				binding[FROST_ELEMENT_LEN];
	uint8		aad[256];
	size_t		aadlen;
	int64		id;
	bool		isnull;
	Jsonb	   *result;
	int			rc = FROST_OK;

	SPI_connect();
	load_share(label, &h);
	if (SPI_execute("SELECT nextval('tpwallet.frost_nonces_commitment_id_seq')", false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not draw a commitment id");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	unseal_share(&h, share);
	/* nonce_generate: fresh randomness for each nonce, bound to the share */
	for (int i = 0; i < 2 && rc == FROST_OK; i++)
	{
		if (!pg_strong_random(rnd, sizeof(rnd)))
			rc = FROST_ERR_RANDOM;
		else
			rc = frost_nonce_generate(rnd, share, nonces + FROST_SCALAR_LEN * i);
	}
	explicit_bzero(share, sizeof(share));
	explicit_bzero(rnd, sizeof(rnd));
	if (rc == FROST_OK)
		rc = frost_commit(tpw_secp_context(), nonces, nonces + FROST_SCALAR_LEN, hiding, binding);
	if (rc != FROST_OK)
		explicit_bzero(nonces, sizeof(nonces));
	frost_check(rc, 0, "FROST commitment failed");

	aadlen = share_aad(h.label, h.identifier, h.gpk, "nonces", id, aad, sizeof(aad));
	{
		Oid			types[5] = {INT8OID, INT8OID, BYTEAOID, BYTEAOID, BYTEAOID};
		Datum		args[5];

		args[0] = Int64GetDatum(id);
		args[1] = Int64GetDatum(h.id);
		args[2] = PointerGetDatum(tpw_bytea_from(hiding, FROST_ELEMENT_LEN));
		args[3] = PointerGetDatum(tpw_bytea_from(binding, FROST_ELEMENT_LEN));
		args[4] = PointerGetDatum(tpw_seal_secret(nonces, sizeof(nonces), aad, aadlen));
		explicit_bzero(nonces, sizeof(nonces));
		if (SPI_execute_with_args("INSERT INTO tpwallet.frost_nonces (commitment_id, share_id, hiding, binding, sealed)"
								  " VALUES ($1, $2, $3, $4, $5)", 5, types, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not store the nonces");
	}
	result = commitment_json(id, &h, hiding, binding);
	result = (Jsonb *) SPI_datumTransfer(JsonbPGetDatum(result), false, -1);
	SPI_finish();
	PG_RETURN_JSONB_P(result);
}

/*
 * Take the commitment's nonces out of the database, once, before any share
 * is computed: a commitment of this transaction in this transaction, an
 * earlier one durably through the nonce consumer (frost_nonce.c).  The
 * commitment list is checked first, so that bad input does not use up a
 * commitment.
 */
static void
consume_nonces(const HeldShare *h, int64 commitment_id, bytea *msg, const frost_commitment *c, int n,
			   uint8 nonces[2 * FROST_SCALAR_LEN])
{
	Oid			types[3] = {INT8OID, INT8OID, BYTEAOID};
	Datum		args[3];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	TransactionId xmin;
	uint8		aad[256];
	size_t		aadlen;
	uint8		mhash[32];
	bytea	   *sealed;
	const frost_commitment *mine = NULL;
	int			culprit = 0;
	int			frost_rc;
	uint8		R[FROST_ELEMENT_LEN];

	args[0] = Int64GetDatum(commitment_id);
	args[1] = Int64GetDatum(h->id);
	if (SPI_execute_with_args("SELECT xmin, hiding, binding, sealed FROM tpwallet.frost_nonces"
							  " WHERE commitment_id = $1 AND share_id = $2", 2, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "nonce lookup failed");
	if (SPI_processed == 0)
	{
		if (SPI_execute_with_args("SELECT 1 FROM tpwallet.frost_nonce_uses WHERE commitment_id = $1 AND share_id = $2",
								  2, types, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "nonce use lookup failed");
		if (SPI_processed > 0)
			nonce_reused(commitment_id);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("FROST commitment " INT64_FORMAT " is not one of share \"%s\"", commitment_id, h->label)));
	}
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	xmin = DatumGetTransactionId(SPI_getbinval(tup, desc, 1, &isnull));

	/* the list must carry this commitment for this participant, and be valid */
	for (int i = 0; i < n; i++)
		if (c[i].identifier == h->identifier)
			mine = &c[i];
	if (mine == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the commitment list has no commitment of participant %d", h->identifier),
				 errhint("Pass every signer's round-one commitment, this one's included.")));
	if (memcmp(mine->hiding, VARDATA_ANY(DatumGetByteaPP(SPI_getbinval(tup, desc, 2, &isnull))), FROST_ELEMENT_LEN) != 0 ||
		memcmp(mine->binding, VARDATA_ANY(DatumGetByteaPP(SPI_getbinval(tup, desc, 3, &isnull))), FROST_ELEMENT_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the commitment list has other commitments for participant %d than commitment " INT64_FORMAT,
						h->identifier, commitment_id)));
	frost_rc = frost_group_commitment(tpw_secp_context(), h->gpk, c, n, TPW_BYTEA_PTR(msg), TPW_BYTEA_LEN(msg),
									   R, &culprit);
	frost_check(frost_rc, culprit, "invalid commitment list");

	keccak256(TPW_BYTEA_PTR(msg), TPW_BYTEA_LEN(msg), mhash);
	if (TransactionIdIsCurrentTransactionId(xmin))
	{
		sealed = (bytea *) PG_DETOAST_DATUM_COPY(SPI_getbinval(tup, desc, 4, &isnull));
		args[2] = PointerGetDatum(tpw_bytea_from(mhash, sizeof(mhash)));
		if (SPI_execute_with_args("DELETE FROM tpwallet.frost_nonces WHERE commitment_id = $1 AND share_id = $2",
								  2, types, args, NULL, false, 0) != SPI_OK_DELETE || SPI_processed != 1)
			nonce_reused(commitment_id);
		if (SPI_execute_with_args("INSERT INTO tpwallet.frost_nonce_uses (commitment_id, share_id, message_hash)"
								  " VALUES ($1, $2, $3)", 3, types, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not record the nonce use");
	}
	else if (tpw_frost_consume_durably(commitment_id, h->id, mhash, &sealed) != FROST_CONSUME_OK)
		nonce_reused(commitment_id);

	aadlen = share_aad(h->label, h->identifier, h->gpk, "nonces", commitment_id, aad, sizeof(aad));
	tpw_unseal_secret(sealed, aad, aadlen, nonces, 2 * FROST_SCALAR_LEN);
}

PG_FUNCTION_INFO_V1(tpwallet_frost_sign);

Datum
tpwallet_frost_sign(PG_FUNCTION_ARGS)
{
	char	   *label = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		commitment_id = PG_GETARG_INT64(1);
	bytea	   *msg = PG_GETARG_BYTEA_PP(2);
	int			n,
				nvs,
				culprit = 0,
				rc;
	frost_verifying_share *vs;
	frost_commitment *c = parse_commitments(PG_GETARG_JSONB_P(3), &n, &vs, &nvs);
	HeldShare	h;
	uint8		share[FROST_SCALAR_LEN];
	uint8		nonces[2 * FROST_SCALAR_LEN];
	uint8		z[FROST_SCALAR_LEN];

	SPI_connect();
	load_share(label, &h);
	consume_nonces(&h, commitment_id, msg, c, n, nonces);
	unseal_share(&h, share);
	rc = frost_sign(tpw_secp_context(), h.identifier, share, h.gpk, nonces, nonces + FROST_SCALAR_LEN,
					c, n, TPW_BYTEA_PTR(msg), TPW_BYTEA_LEN(msg), z, &culprit);
	explicit_bzero(share, sizeof(share));
	explicit_bzero(nonces, sizeof(nonces));
	/* the nonces are gone whatever happens now; an error here returns no share */
	frost_check(rc, culprit, "FROST signing failed");
	SPI_finish();
	PG_RETURN_BYTEA_P(tpw_bytea_from(z, sizeof(z)));
}

/* Round one for a participant that holds its own nonces: the commitments as jsonb. */
PG_FUNCTION_INFO_V1(tpwallet_frost_commitment);

Datum
tpwallet_frost_commitment(PG_FUNCTION_ARGS)
{
	int			identifier = PG_GETARG_INT32(0);
	bytea	   *hiding_nonce = PG_GETARG_BYTEA_PP(1);
	bytea	   *binding_nonce = PG_GETARG_BYTEA_PP(2);
	uint8		hiding[FROST_ELEMENT_LEN],
				binding[FROST_ELEMENT_LEN];
	char	   *s;

	if (identifier < 1 || identifier > FROST_MAX_SIGNERS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("a FROST identifier is from 1 to %d, not %d", FROST_MAX_SIGNERS, identifier)));
	check_len("hiding_nonce", hiding_nonce, FROST_SCALAR_LEN);
	check_len("binding_nonce", binding_nonce, FROST_SCALAR_LEN);
	frost_check(frost_commit(tpw_secp_context(), TPW_BYTEA_PTR(hiding_nonce), TPW_BYTEA_PTR(binding_nonce),
							 hiding, binding), 0, "FROST commitment failed");
	s = psprintf("{\"identifier\": %d, \"hiding\": \"%s\", \"binding\": \"%s\"}", identifier,
				 tpw_hex0x(hiding, FROST_ELEMENT_LEN), tpw_hex0x(binding, FROST_ELEMENT_LEN));
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(s)));
}
