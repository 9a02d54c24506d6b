/*
 * secp.c
 *	  libsecp256k1 in a PostgreSQL backend.
 *
 * One context per backend, created lazily (never in the postmaster, so a
 * fork does not share its blinding state) and randomized from
 * pg_strong_random() against side channels.  libsecp256k1's default
 * callbacks for API misuse and internal errors abort the process, which
 * would take the whole server through crash recovery; ours raise an ERROR
 * instead.  Leaving the library by longjmp is safe: it holds no locks and
 * allocates nothing during a call.
 */
#include "postgres.h"

#include "crypto/secp.h"
#include "crypto/keccak.h"
#include "crypto/hex.h"

#include <secp256k1_recovery.h>

static secp256k1_context *backend_ctx = NULL;

static void
secp_illegal_callback(const char *message, void *data)
{
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("libsecp256k1 refused an argument: %s", message)));
}

static void
secp_error_callback(const char *message, void *data)
{
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("libsecp256k1 internal error: %s", message)));
}

const secp256k1_context *
tpw_secp_context(void)
{
	uint8		seed[32];
	secp256k1_context *ctx;

	if (backend_ctx != NULL)
		return backend_ctx;

	ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	if (ctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libsecp256k1 context")));
	secp256k1_context_set_illegal_callback(ctx, secp_illegal_callback, NULL);
	secp256k1_context_set_error_callback(ctx, secp_error_callback, NULL);
	if (!pg_strong_random(seed, sizeof(seed)))
	{
		secp256k1_context_destroy(ctx);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes to blind libsecp256k1")));
	}
	if (!secp256k1_context_randomize(ctx, seed))
	{
		explicit_bzero(seed, sizeof(seed));
		secp256k1_context_destroy(ctx);
		elog(ERROR, "secp256k1_context_randomize failed");
	}
	explicit_bzero(seed, sizeof(seed));
	backend_ctx = ctx;
	return backend_ctx;
}

bool
tpw_secp_seckey_valid(const uint8 seckey[TPW_SECKEY_LEN])
{
	return secp256k1_ec_seckey_verify(tpw_secp_context(), seckey) == 1;
}

void
tpw_secp_pubkey_of(const uint8 seckey[TPW_SECKEY_LEN], secp256k1_pubkey *pub)
{
	if (!secp256k1_ec_pubkey_create(tpw_secp_context(), pub, seckey))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid secp256k1 private key"),
				 errdetail("A private key is a 32-byte number from 1 to n - 1.")));
}

void
tpw_secp_pubkey_parse(const uint8 *data, size_t len, secp256k1_pubkey *pub)
{
	if (len != TPW_PUBKEY_COMPRESSED_LEN && len != TPW_PUBKEY_UNCOMPRESSED_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a secp256k1 public key has 33 or 65 bytes (64 for X || Y where accepted), not %zu", len),
				 errhint("Pass the SEC1 encoding: 0x02/0x03 || X, or 0x04 || X || Y.")));
	if (!secp256k1_ec_pubkey_parse(tpw_secp_context(), pub, data, len))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid secp256k1 public key"),
				 errdetail("The bytes are not a point on the curve.")));
}

void
tpw_secp_pubkey_serialize(const secp256k1_pubkey *pub, bool compressed, uint8 *out)
{
	size_t		len = compressed ? TPW_PUBKEY_COMPRESSED_LEN : TPW_PUBKEY_UNCOMPRESSED_LEN;

	secp256k1_ec_pubkey_serialize(tpw_secp_context(), out, &len, pub,
								  compressed ? SECP256K1_EC_COMPRESSED : SECP256K1_EC_UNCOMPRESSED);
}

void
tpw_secp_sign(const uint8 seckey[TPW_SECKEY_LEN], const uint8 digest[TPW_DIGEST_LEN],
			  uint8 out[TPW_SIGNATURE_LEN])
{
	const secp256k1_context *ctx = tpw_secp_context();
	secp256k1_ecdsa_recoverable_signature sig;
	int			recid;

	/* NULL nonce function: RFC 6979; the result is always low-s */
	if (!secp256k1_ecdsa_sign_recoverable(ctx, &sig, digest, seckey, NULL, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("secp256k1 signing failed")));
	secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, out, &recid, &sig);
	out[64] = (uint8) (27 + recid);
}

int
tpw_secp_recid_from_v(uint8 v)
{
	if (v == 0 || v == 1)
		return v;
	if (v == 27 || v == 28)
		return v - 27;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid recovery byte v = %u", v),
			 errdetail("The last byte of a 65-byte signature must be 0, 1, 27 or 28."),
			 errhint("For an EIP-155 transaction v, use tpwallet.eth_decode_transaction().")));
	return -1;					/* keep the compiler quiet */
}

bool
tpw_secp_recover(const uint8 digest[TPW_DIGEST_LEN], const uint8 sig[TPW_SIGNATURE_LEN],
				 secp256k1_pubkey *pub)
{
	const secp256k1_context *ctx = tpw_secp_context();
	secp256k1_ecdsa_recoverable_signature rsig;
	int			recid = tpw_secp_recid_from_v(sig[64]);

	if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, sig, recid))
		return false;
	return secp256k1_ecdsa_recover(ctx, pub, &rsig, digest) == 1;
}

bool
tpw_secp_complete_signature(const secp256k1_pubkey *pub, const uint8 digest[TPW_DIGEST_LEN],
							const uint8 rs[64], uint8 out[TPW_SIGNATURE_LEN])
{
	const secp256k1_context *ctx = tpw_secp_context();
	secp256k1_ecdsa_signature sig;
	uint8		want[TPW_PUBKEY_COMPRESSED_LEN];

	if (!secp256k1_ecdsa_signature_parse_compact(ctx, &sig, rs))
		return false;
	/* an HSM draws its own nonce; about half the time s is in the high half */
	secp256k1_ecdsa_signature_normalize(ctx, &sig, &sig);
	secp256k1_ecdsa_signature_serialize_compact(ctx, out, &sig);
	tpw_secp_pubkey_serialize(pub, true, want);

	/*
	 * Recovery ids 2 and 3 (R.x >= n) occur with probability about 2^-127;
	 * trying them costs nothing when 0 or 1 matched first.
	 */
	for (int recid = 0; recid < 4; recid++)
	{
		secp256k1_ecdsa_recoverable_signature rsig;
		secp256k1_pubkey got;
		uint8		got_bytes[TPW_PUBKEY_COMPRESSED_LEN];

		if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, out, recid))
			continue;
		if (!secp256k1_ecdsa_recover(ctx, &got, &rsig, digest))
			continue;
		tpw_secp_pubkey_serialize(&got, true, got_bytes);
		if (memcmp(got_bytes, want, sizeof(want)) == 0)
		{
			out[64] = (uint8) (27 + recid);
			return true;
		}
	}
	return false;
}

bool
tpw_secp_verify(const secp256k1_pubkey *pub, const uint8 digest[TPW_DIGEST_LEN],
				const uint8 *sig, size_t siglen)
{
	const secp256k1_context *ctx = tpw_secp_context();
	secp256k1_ecdsa_signature s;

	if (siglen != 64 && siglen != 65)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a signature has 64 bytes (r || s) or 65 bytes (r || s || v), not %zu", siglen)));
	if (siglen == 65)
		(void) tpw_secp_recid_from_v(sig[64]);
	if (!secp256k1_ecdsa_signature_parse_compact(ctx, &s, sig))
		return false;
	/* secp256k1_ecdsa_verify rejects high s: malleated signatures do not verify */
	return secp256k1_ecdsa_verify(ctx, &s, digest, pub) == 1;
}

void
tpw_eth_address_bytes(const secp256k1_pubkey *pub, uint8 out[TPW_ADDRESS_LEN])
{
	uint8		full[TPW_PUBKEY_UNCOMPRESSED_LEN];
	uint8		hash[KECCAK256_DIGEST_LEN];

	tpw_secp_pubkey_serialize(pub, false, full);
	keccak256(full + 1, 64, hash);
	memcpy(out, hash + 12, TPW_ADDRESS_LEN);
}

void
tpw_eth_address_checksummed(const uint8 addr[TPW_ADDRESS_LEN], char out[43])
{
	char		lower[2 * TPW_ADDRESS_LEN + 1];
	uint8		hash[KECCAK256_DIGEST_LEN];

	tp_hex_encode(addr, TPW_ADDRESS_LEN, lower);
	/* EIP-55: upper-case a letter when its nibble of keccak(lower hex) is >= 8 */
	keccak256((const uint8 *) lower, 2 * TPW_ADDRESS_LEN, hash);
	out[0] = '0';
	out[1] = 'x';
	for (int i = 0; i < 2 * TPW_ADDRESS_LEN; i++)
	{
		uint8		nibble = (i % 2 == 0) ? (hash[i / 2] >> 4) : (hash[i / 2] & 0x0f);
		char		c = lower[i];

		out[2 + i] = (c >= 'a' && c <= 'f' && nibble >= 8) ? (char) (c - 'a' + 'A') : c;
	}
	out[42] = '\0';
}
