/*
 * frost_sql.c
 *	  FROST(secp256k1, SHA-256) (RFC 9591) in SQL: the pure functions
 *	  (keygen, nonce, sign_share, aggregate, verify) that remote
 *	  participants and the RFC's test vectors use, and what they share with
 *	  stateful signing (frost_held_sql.c): the error mapping and the jsonb
 *	  parsers.
 *
 * The jsonb forms:
 *	 commitments       [{"identifier": 1, "hiding": "0x..", "binding": "0x..",
 *	                     "verifying_share": "0x.."?}, ...]
 *	 signature_shares  [{"identifier": 1, "share": "0x.."}, ...]
 */
#include "postgres.h"

#include "crypto/crypto_pg.h"
#include "crypto/frost.h"
#include "crypto/frost_sql.h"
#include "crypto/hex.h"
#include "crypto/secp.h"
#include "tpwallet.h"

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

/* ---------------------------------------------------------------- errors */

static int
random_for_frost(void *arg, uint8_t *buf, size_t len)
{
	return pg_strong_random(buf, len) ? 1 : 0;
}

void
frost_sql_check(int rc, int culprit, const char *what)
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

void
frost_sql_check_len(const char *what, bytea *b, size_t want)
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
frost_commitment *
frost_sql_parse_commitments(Jsonb *jb, int *n, frost_verifying_share **vs, int *nvs)
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

		frost_sql_check_len("secret", s, FROST_SCALAR_LEN);
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
			frost_sql_check_len("coefficient", DatumGetByteaPP(elems[i]), FROST_SCALAR_LEN);
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
	frost_sql_check(rc, 0, "FROST key generation failed");

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

	frost_sql_check_len("signing_share", share, FROST_SCALAR_LEN);
	frost_sql_check_len("random", rnd, 32);
	frost_sql_check(frost_nonce_generate(TPW_BYTEA_PTR(rnd), TPW_BYTEA_PTR(share), nonce), 0,
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
	frost_commitment *c = frost_sql_parse_commitments(PG_GETARG_JSONB_P(6), &n, &vs, &nvs);
	uint8		z[FROST_SCALAR_LEN];
	int			frost_rc;

	frost_sql_check_len("signing_share", share, FROST_SCALAR_LEN);
	frost_sql_check_len("group_public_key", gpk, FROST_ELEMENT_LEN);
	frost_sql_check_len("hiding_nonce", hiding, FROST_SCALAR_LEN);
	frost_sql_check_len("binding_nonce", binding, FROST_SCALAR_LEN);
	frost_rc = frost_sign(tpw_secp_context(), identifier, TPW_BYTEA_PTR(share), TPW_BYTEA_PTR(gpk),
						   TPW_BYTEA_PTR(hiding), TPW_BYTEA_PTR(binding), c, n,
						   TPW_BYTEA_PTR(msg), TPW_BYTEA_LEN(msg), z, &culprit);
	frost_sql_check(frost_rc, culprit, "FROST signing failed");
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
	frost_commitment *c = frost_sql_parse_commitments(PG_GETARG_JSONB_P(2), &n, &vs, &nvs);
	frost_signature_share *shares = parse_shares(PG_GETARG_JSONB_P(3), &nshares);
	uint8		sig[FROST_SIGNATURE_LEN];
	int			frost_rc;

	frost_sql_check_len("group_public_key", gpk, FROST_ELEMENT_LEN);
	frost_rc = frost_aggregate(tpw_secp_context(), c, n, TPW_BYTEA_PTR(msg), TPW_BYTEA_LEN(msg),
								TPW_BYTEA_PTR(gpk), shares, nshares, nvs > 0 ? vs : NULL, nvs, sig, &culprit);
	frost_sql_check(frost_rc, culprit, "FROST aggregation failed");
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

	frost_sql_check_len("group_public_key", gpk, FROST_ELEMENT_LEN);
	frost_sql_check_len("signature", sig, FROST_SIGNATURE_LEN);
	rc = frost_element_check(tpw_secp_context(), TPW_BYTEA_PTR(gpk));
	frost_sql_check(rc, 0, "invalid group public key");
	rc = frost_verify(tpw_secp_context(), TPW_BYTEA_PTR(gpk), TPW_BYTEA_PTR(msg), TPW_BYTEA_LEN(msg),
					  TPW_BYTEA_PTR(sig));
	/* a malformed R or z is a signature that does not verify */
	PG_RETURN_BOOL(rc == FROST_OK);
}
