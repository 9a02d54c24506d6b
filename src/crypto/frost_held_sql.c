/*
 * frost_held_sql.c
 *	  FROST signing with shares held by this database: import_share,
 *	  commit, sign and commitment (the pure functions and the jsonb forms
 *	  are in frost_sql.c).
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
#include "crypto/frost_sql.h"
#include "crypto/keccak.h"
#include "keys/keystore.h"
#include "tpwallet.h"

#include "executor/spi.h"
#include "utils/builtins.h"

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
	frost_sql_check_len("group_public_key", gpk, FROST_ELEMENT_LEN);
	frost_sql_check(frost_element_check(tpw_secp_context(), TPW_BYTEA_PTR(gpk)), 0, "invalid group public key");
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
	frost_sql_check(rc, 0, "FROST commitment failed");

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
	frost_sql_check(frost_rc, culprit, "invalid commitment list");

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
	frost_commitment *c = frost_sql_parse_commitments(PG_GETARG_JSONB_P(3), &n, &vs, &nvs);
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
	frost_sql_check(rc, culprit, "FROST signing failed");
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
	frost_sql_check_len("hiding_nonce", hiding_nonce, FROST_SCALAR_LEN);
	frost_sql_check_len("binding_nonce", binding_nonce, FROST_SCALAR_LEN);
	frost_sql_check(frost_commit(tpw_secp_context(), TPW_BYTEA_PTR(hiding_nonce), TPW_BYTEA_PTR(binding_nonce),
							 hiding, binding), 0, "FROST commitment failed");
	s = psprintf("{\"identifier\": %d, \"hiding\": \"%s\", \"binding\": \"%s\"}", identifier,
				 tpw_hex0x(hiding, FROST_ELEMENT_LEN), tpw_hex0x(binding, FROST_ELEMENT_LEN));
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(s)));
}
