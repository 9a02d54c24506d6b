/*
 * schnorr_sql.c
 *	  BIP-340 Schnorr signatures: schnorr_sign with a key from the key store,
 *	  schnorr_verify with an x-only public key.
 *
 * Messages may have any length (BIP-340 as amended for variable-length
 * messages); a 32-byte message gives exactly the signature of the BIP's
 * original 32-byte algorithm.  Only 'local' keys sign: a PKCS#11 HSM
 * offers ECDSA (CKM_ECDSA), not BIP-340, and tpwallet never takes a key
 * out of an HSM.  Following BIP-340's advice, every signature is verified
 * before it is returned, which catches a fault during signing.
 */
#include "postgres.h"

#include "crypto/crypto_pg.h"
#include "crypto/secp.h"
#include "keys/keystore.h"

#include <openssl/sha.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"

#define BIP340_SIGNATURE_LEN 64
#define BIP340_PUBKEY_LEN	 32

static void
bip340_sign(const TpwKey *key, const bytea *msg, const uint8 aux[32], uint8 sig[BIP340_SIGNATURE_LEN])
{
	const secp256k1_context *ctx = tpw_secp_context();
	secp256k1_keypair keypair;
	secp256k1_xonly_pubkey xonly;
	secp256k1_schnorrsig_extraparams extra = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;
	uint8		seckey[TPW_SECKEY_LEN];
	bool		ok;

	extra.ndata = (void *) aux;
	tpw_key_unseal_local(key, seckey);
	ok = secp256k1_keypair_create(ctx, &keypair, seckey) == 1 &&
		secp256k1_schnorrsig_sign_custom(ctx, sig, TPW_BYTEA_PTR(msg), TPW_BYTEA_LEN(msg),
										 &keypair, &extra) == 1 &&
		secp256k1_keypair_xonly_pub(ctx, &xonly, NULL, &keypair) == 1 &&
		secp256k1_schnorrsig_verify(ctx, sig, TPW_BYTEA_PTR(msg), TPW_BYTEA_LEN(msg), &xonly) == 1;
	explicit_bzero(seckey, sizeof(seckey));
	explicit_bzero(&keypair, sizeof(keypair));
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("BIP-340 signing with key \"%s\" failed its own verification", key->label)));
}

PG_FUNCTION_INFO_V1(tpwallet_schnorr_sign);

Datum
tpwallet_schnorr_sign(PG_FUNCTION_ARGS)
{
	char	   *label;
	bytea	   *msg;
	uint8		aux[32];
	uint8		sig[BIP340_SIGNATURE_LEN];
	uint8		digest[32];
	TpwKey		key;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("label and message must not be NULL")));
	label = text_to_cstring(PG_GETARG_TEXT_PP(0));
	msg = PG_GETARG_BYTEA_PP(1);
	if (PG_ARGISNULL(2))
	{
		/* BIP-340 "default signing": fresh auxiliary randomness */
		if (!pg_strong_random(aux, sizeof(aux)))
			ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate random bytes")));
	}
	else
	{
		bytea	   *a = PG_GETARG_BYTEA_PP(2);

		tpw_check_length("aux_rand", TPW_BYTEA_LEN(a), 32);
		memcpy(aux, TPW_BYTEA_PTR(a), 32);
	}

	SPI_connect();
	tpw_key_lookup(label, &key);
	if (!key.is_local)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("key \"%s\" is in the HSM, which cannot make BIP-340 signatures", label),
				 errdetail("PKCS#11 offers ECDSA (CKM_ECDSA) for secp256k1 keys, not Schnorr."),
				 errhint("Use a 'local' key, or a FROST group for threshold Schnorr.")));
	bip340_sign(&key, msg, aux, sig);
	/* the log keeps 32-byte digests: SHA-256 of the message, whatever its length */
	SHA256(TPW_BYTEA_PTR(msg), TPW_BYTEA_LEN(msg), digest);
	tpw_log_signatures(&key, "bip340", 1, digest, sig, BIP340_SIGNATURE_LEN);
	SPI_finish();
	PG_RETURN_BYTEA_P(tpw_bytea_from(sig, sizeof(sig)));
}

PG_FUNCTION_INFO_V1(tpwallet_schnorr_verify);

Datum
tpwallet_schnorr_verify(PG_FUNCTION_ARGS)
{
	bytea	   *pub = PG_GETARG_BYTEA_PP(0);
	bytea	   *msg = PG_GETARG_BYTEA_PP(1);
	bytea	   *sig = PG_GETARG_BYTEA_PP(2);
	const secp256k1_context *ctx = tpw_secp_context();
	secp256k1_xonly_pubkey xonly;

	tpw_check_length("an x-only public key", TPW_BYTEA_LEN(pub), BIP340_PUBKEY_LEN);
	tpw_check_length("a BIP-340 signature", TPW_BYTEA_LEN(sig), BIP340_SIGNATURE_LEN);
	/* an x coordinate that is not on the curve is a key nothing verifies under */
	if (!secp256k1_xonly_pubkey_parse(ctx, &xonly, TPW_BYTEA_PTR(pub)))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(secp256k1_schnorrsig_verify(ctx, TPW_BYTEA_PTR(sig), TPW_BYTEA_PTR(msg),
											   TPW_BYTEA_LEN(msg), &xonly) == 1);
}
