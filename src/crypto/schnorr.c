/*-------------------------------------------------------------------------
 *
 * schnorr.c
 *	  BIP-340 Schnorr signatures: libsecp256k1's schnorrsig module with
 *	  strict argument checks, verification after signing, and wiping.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "schnorr.h"

/* memset that the compiler may not drop as a dead store */
static void
wipe(void *p, size_t len)
{
	volatile uint8_t *v = p;

	while (len--)
		*v++ = 0;
}

const char *
schnorr_strerror(int err)
{
	switch (err)
	{
		case SCHNORR_OK:
			return "success";
		case SCHNORR_ERR_ARGUMENT:
			return "invalid argument";
		case SCHNORR_ERR_SECKEY:
			return "invalid secret key";
		case SCHNORR_ERR_PUBKEY:
			return "invalid x-only public key";
		case SCHNORR_ERR_INVALID_SIGNATURE:
			return "invalid signature";
		case SCHNORR_ERR_SIGN_FAILED:
			return "signature failed its own verification";
	}
	return "unknown schnorr error";
}

/* keypair_create fails exactly when the scalar is 0 or >= n. */
static int
load_keypair(const secp256k1_context *ctx,
			 const uint8_t seckey[SCHNORR_SECKEY_LEN], secp256k1_keypair *kp,
			 secp256k1_xonly_pubkey *pub)
{
	if (!secp256k1_keypair_create(ctx, kp, seckey))
		return SCHNORR_ERR_SECKEY;
	if (!secp256k1_keypair_xonly_pub(ctx, pub, NULL, kp))
		return SCHNORR_ERR_SECKEY;
	return SCHNORR_OK;
}

int
schnorr_xonly_pubkey(const secp256k1_context *ctx,
					 const uint8_t seckey[SCHNORR_SECKEY_LEN],
					 uint8_t pubkey[SCHNORR_PUBKEY_LEN])
{
	secp256k1_keypair kp;
	secp256k1_xonly_pubkey pub;
	int			rc;

	if (ctx == NULL || seckey == NULL || pubkey == NULL)
		return SCHNORR_ERR_ARGUMENT;
	rc = load_keypair(ctx, seckey, &kp, &pub);
	if (rc == SCHNORR_OK)
		secp256k1_xonly_pubkey_serialize(ctx, pubkey, &pub);
	wipe(&kp, sizeof(kp));
	return rc;
}

int
schnorr_pubkey_check(const secp256k1_context *ctx,
					 const uint8_t pubkey[SCHNORR_PUBKEY_LEN])
{
	secp256k1_xonly_pubkey pub;

	if (ctx == NULL || pubkey == NULL)
		return SCHNORR_ERR_ARGUMENT;
	if (!secp256k1_xonly_pubkey_parse(ctx, &pub, pubkey))
		return SCHNORR_ERR_PUBKEY;
	return SCHNORR_OK;
}

/*
 * Shared by both signers: msg32 set means sign32, otherwise sign_custom
 * over (msg, msg_len).
 */
static int
sign_common(const secp256k1_context *ctx,
			const uint8_t seckey[SCHNORR_SECKEY_LEN], const uint8_t *msg32,
			const uint8_t *msg, size_t msg_len, const uint8_t *aux_rand32,
			uint8_t sig[SCHNORR_SIGNATURE_LEN])
{
	secp256k1_keypair kp;
	secp256k1_xonly_pubkey pub;
	secp256k1_schnorrsig_extraparams extra = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;
	uint8_t		aux[SCHNORR_AUX_RAND_LEN];
	int			ok;
	int			rc;

	rc = load_keypair(ctx, seckey, &kp, &pub);
	if (rc != SCHNORR_OK)
	{
		wipe(&kp, sizeof(kp));
		return rc;
	}
	if (msg32 != NULL)
	{
		ok = secp256k1_schnorrsig_sign32(ctx, sig, msg32, &kp, aux_rand32);
		msg = msg32;
		msg_len = 32;
	}
	else
	{
		/* ndata is not const; hand the library a copy of aux_rand32 */
		if (aux_rand32 != NULL)
		{
			memcpy(aux, aux_rand32, sizeof(aux));
			extra.ndata = aux;
		}
		ok = secp256k1_schnorrsig_sign_custom(ctx, sig, msg, msg_len, &kp,
											  &extra);
	}
	wipe(&kp, sizeof(kp));
	wipe(aux, sizeof(aux));
	if (!ok || !secp256k1_schnorrsig_verify(ctx, sig, msg, msg_len, &pub))
	{
		wipe(sig, SCHNORR_SIGNATURE_LEN);
		return SCHNORR_ERR_SIGN_FAILED;
	}
	return SCHNORR_OK;
}

int
schnorr_sign32(const secp256k1_context *ctx,
			   const uint8_t seckey[SCHNORR_SECKEY_LEN],
			   const uint8_t msg32[32], const uint8_t *aux_rand32,
			   uint8_t sig[SCHNORR_SIGNATURE_LEN])
{
	if (ctx == NULL || seckey == NULL || msg32 == NULL || sig == NULL)
		return SCHNORR_ERR_ARGUMENT;
	return sign_common(ctx, seckey, msg32, NULL, 0, aux_rand32, sig);
}

int
schnorr_sign(const secp256k1_context *ctx,
			 const uint8_t seckey[SCHNORR_SECKEY_LEN],
			 const uint8_t *msg, size_t msg_len, const uint8_t *aux_rand32,
			 uint8_t sig[SCHNORR_SIGNATURE_LEN])
{
	if (ctx == NULL || seckey == NULL || sig == NULL
		|| (msg == NULL && msg_len > 0))
		return SCHNORR_ERR_ARGUMENT;
	return sign_common(ctx, seckey, NULL, msg, msg_len, aux_rand32, sig);
}

int
schnorr_verify(const secp256k1_context *ctx,
			   const uint8_t pubkey[SCHNORR_PUBKEY_LEN],
			   const uint8_t *msg, size_t msg_len,
			   const uint8_t sig[SCHNORR_SIGNATURE_LEN])
{
	secp256k1_xonly_pubkey pub;

	if (ctx == NULL || pubkey == NULL || sig == NULL
		|| (msg == NULL && msg_len > 0))
		return SCHNORR_ERR_ARGUMENT;
	if (!secp256k1_xonly_pubkey_parse(ctx, &pub, pubkey))
		return SCHNORR_ERR_PUBKEY;
	if (!secp256k1_schnorrsig_verify(ctx, sig, msg, msg_len, &pub))
		return SCHNORR_ERR_INVALID_SIGNATURE;
	return SCHNORR_OK;
}
