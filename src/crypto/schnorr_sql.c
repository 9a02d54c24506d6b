/*
 * schnorr_sql.c
 *	  BIP-340 Schnorr signatures: schnorr_sign with a key from the key store,
 *	  schnorr_verify with an x-only public key.
 *
 * Messages may have any length (BIP-340 as amended for variable-length
 * messages); a 32-byte message gives exactly the signature of the BIP's
 * original 32-byte algorithm.  Only 'local' keys sign: a PKCS#11 HSM
 * offers ECDSA (CKM_ECDSA), not BIP-340, and tpwallet never takes a key
 * out of an HSM.
 */
#include "postgres.h"

#include "crypto/crypto_pg.h"
#include "crypto/schnorr.h"
#include "crypto/secp.h"
#include "keys/keystore.h"

#include <openssl/sha.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "executor/spi.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#define BIP340_SIGNATURE_LEN 64
#define BIP340_PUBKEY_LEN	 32

/*
 * Sign n messages with one unsealing of the key.  libsecp256k1's signing is
 * constant-time and, like ECDSA signing here, not followed by a verification
 * (BIP-340 suggests one against fault attacks; callers that want it call
 * schnorr_verify, which costs as much again as signing).
 */
static void
bip340_sign_many(const TpwKey *key, int n, bytea **msgs, const uint8 *aux, uint8 *sigs)
{
	const secp256k1_context *ctx = tpw_secp_context();
	secp256k1_keypair keypair;
	uint8		seckey[TPW_SECKEY_LEN];
	bool		ok;

	tpw_key_unseal_local(key, seckey);
	ok = secp256k1_keypair_create(ctx, &keypair, seckey) == 1;
	explicit_bzero(seckey, sizeof(seckey));
	for (int i = 0; ok && i < n; i++)
	{
		secp256k1_schnorrsig_extraparams extra = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;

		extra.ndata = (void *) (aux + 32 * i);
		ok = secp256k1_schnorrsig_sign_custom(ctx, sigs + BIP340_SIGNATURE_LEN * i, TPW_BYTEA_PTR(msgs[i]),
											  TPW_BYTEA_LEN(msgs[i]), &keypair, &extra) == 1;
	}
	explicit_bzero(&keypair, sizeof(keypair));
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("BIP-340 signing with key \"%s\" failed", key->label)));
}

/* Look up a local key for BIP-340 (inside SPI). */
static void
bip340_key(const char *label, TpwKey *key)
{
	tpw_key_lookup(label, key);
	if (!key->is_local)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("key \"%s\" is in the HSM, which cannot make BIP-340 signatures", label),
				 errdetail("PKCS#11 offers ECDSA (CKM_ECDSA) for secp256k1 keys, not Schnorr."),
				 errhint("Use a 'local' key, or a FROST group for threshold Schnorr.")));
}

/* The log keeps 32-byte digests: SHA-256 of each message, whatever its length. */
static void
bip340_log(const TpwKey *key, int n, bytea **msgs, const uint8 *sigs)
{
	uint8	   *digests = palloc(32 * (size_t) Max(n, 1));

	for (int i = 0; i < n; i++)
		SHA256(TPW_BYTEA_PTR(msgs[i]), TPW_BYTEA_LEN(msgs[i]), digests + 32 * i);
	tpw_log_signatures(key, "bip340", n, digests, sigs, BIP340_SIGNATURE_LEN);
}

static void
fresh_aux(uint8 *aux, size_t len)
{
	/* BIP-340 "default signing": fresh auxiliary randomness */
	if (!pg_strong_random(aux, len))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate random bytes")));
}

PG_FUNCTION_INFO_V1(tpwallet_schnorr_sign);

Datum
tpwallet_schnorr_sign(PG_FUNCTION_ARGS)
{
	char	   *label;
	bytea	   *msg;
	uint8		aux[32];
	uint8		sig[BIP340_SIGNATURE_LEN];
	TpwKey		key;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("label and message must not be NULL")));
	label = text_to_cstring(PG_GETARG_TEXT_PP(0));
	msg = PG_GETARG_BYTEA_PP(1);
	if (PG_ARGISNULL(2))
		fresh_aux(aux, sizeof(aux));
	else
	{
		bytea	   *a = PG_GETARG_BYTEA_PP(2);

		tpw_check_length("aux_rand", TPW_BYTEA_LEN(a), 32);
		memcpy(aux, TPW_BYTEA_PTR(a), 32);
	}

	SPI_connect();
	bip340_key(label, &key);
	bip340_sign_many(&key, 1, &msg, aux, sig);
	bip340_log(&key, 1, &msg, sig);
	SPI_finish();
	PG_RETURN_BYTEA_P(tpw_bytea_from(sig, sizeof(sig)));
}

/* schnorr_sign_batch(label, messages bytea[]): many messages, fresh aux_rand each. */
PG_FUNCTION_INFO_V1(tpwallet_schnorr_sign_batch);

Datum
tpwallet_schnorr_sign_batch(PG_FUNCTION_ARGS)
{
	char	   *label = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	bytea	  **msgs;
	uint8	   *aux;
	uint8	   *sigs;
	Datum	   *out;
	TpwKey		key;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR), errmsg("messages must be a one-dimensional array")));
	deconstruct_array(arr, BYTEAOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	msgs = palloc(sizeof(bytea *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("message %d is NULL", i + 1)));
		msgs[i] = DatumGetByteaPP(elems[i]);
	}
	aux = palloc(32 * (size_t) Max(n, 1));
	sigs = palloc(BIP340_SIGNATURE_LEN * (size_t) Max(n, 1));
	fresh_aux(aux, 32 * (size_t) Max(n, 1));

	SPI_connect();
	bip340_key(label, &key);
	if (n > 0)
	{
		bip340_sign_many(&key, n, msgs, aux, sigs);
		bip340_log(&key, n, msgs, sigs);
	}
	SPI_finish();
	out = palloc(sizeof(Datum) * Max(n, 1));
	for (int i = 0; i < n; i++)
		out[i] = PointerGetDatum(tpw_bytea_from(sigs + BIP340_SIGNATURE_LEN * i, BIP340_SIGNATURE_LEN));
	PG_RETURN_ARRAYTYPE_P(construct_array(out, n, BYTEAOID, -1, false, TYPALIGN_INT));
}

PG_FUNCTION_INFO_V1(tpwallet_schnorr_verify);

Datum
tpwallet_schnorr_verify(PG_FUNCTION_ARGS)
{
	bytea	   *pub = PG_GETARG_BYTEA_PP(0);
	bytea	   *msg = PG_GETARG_BYTEA_PP(1);
	bytea	   *sig = PG_GETARG_BYTEA_PP(2);
	tpw_check_length("an x-only public key", TPW_BYTEA_LEN(pub), BIP340_PUBKEY_LEN);
	tpw_check_length("a BIP-340 signature", TPW_BYTEA_LEN(sig), BIP340_SIGNATURE_LEN);
	/* an x coordinate that is not on the curve is a key nothing verifies under: false */
	PG_RETURN_BOOL(schnorr_verify(tpw_secp_context(), TPW_BYTEA_PTR(pub), TPW_BYTEA_PTR(msg),
								  TPW_BYTEA_LEN(msg), TPW_BYTEA_PTR(sig)) == SCHNORR_OK);
}
