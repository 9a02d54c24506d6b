/*-------------------------------------------------------------------------
 *
 * test_schnorr.c
 *	  Unit tests for src/crypto/schnorr: BIP-340 signing and verification.
 *
 * Plain C, no framework.  Prints one line per failure and, last, exactly
 * "N passed, M failed"; exits non-zero if anything failed.
 *
 * Vectors: every row of bip-0340/test-vectors.csv from
 * github.com/bitcoin/bips (blob 672339129a84, last changed in 200f9b26
 * "bip340: Allow variable-length messages"), shipped unmodified as
 * data/bip340-test-vectors.csv and read at run time (the path can be given
 * as the first argument).  Rows with a secret key must reproduce the
 * public key and, with the row's aux_rand, the signature byte for byte;
 * every row's verification result must match, and the two rows whose
 * public key is not a curve point must be refused as such.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>

#include "check.h"
#include "hex.h"
#include "schnorr.h"

#ifndef BIP340_CSV
#define BIP340_CSV "data/bip340-test-vectors.csv"
#endif

#define CSV_ROWS		19		/* indices 0..18 in the published file */
#define CSV_FIELDS		8
#define MAX_MSG			256

static secp256k1_context *ctx;

/* One CSV row, decoded. */
typedef struct
{
	int			index;
	int			has_seckey;
	uint8_t		seckey[32];
	uint8_t		pubkey[32];
	int			has_aux;
	uint8_t		aux[32];
	uint8_t		msg[MAX_MSG];
	size_t		msg_len;
	uint8_t		sig[64];
	int			valid;
	const char *comment;
} vector_row;

/* Hex field of exactly want bytes (or any length up to cap if want < 0). */
static int
hex_field(const char *s, uint8_t *out, size_t cap, long want, size_t *len)
{
	size_t		got;

	if (tp_hex_decode(s, strlen(s), out, cap, &got) != HEX_OK)
		return 0;
	if (want >= 0 && got != (size_t) want)
		return 0;
	if (len != NULL)
		*len = got;
	return 1;
}

/* Split line (modified in place) into CSV_FIELDS fields; the last takes the rest. */
static int
split_fields(char *line, char **f)
{
	int			i;

	for (i = 0; i < CSV_FIELDS - 1; i++)
	{
		char	   *comma = strchr(line, ',');

		if (comma == NULL)
			return 0;
		*comma = '\0';
		f[i] = line;
		line = comma + 1;
	}
	f[CSV_FIELDS - 1] = line;
	return 1;
}

static int
parse_row(char *line, vector_row *r)
{
	char	   *f[CSV_FIELDS];

	memset(r, 0, sizeof(*r));
	if (!split_fields(line, f))
		return 0;
	r->index = atoi(f[0]);
	r->has_seckey = f[1][0] != '\0';
	r->has_aux = f[3][0] != '\0';
	r->comment = f[7];
	if (strcmp(f[6], "TRUE") == 0)
		r->valid = 1;
	else if (strcmp(f[6], "FALSE") != 0)
		return 0;
	return (!r->has_seckey || hex_field(f[1], r->seckey, 32, 32, NULL))
		&& hex_field(f[2], r->pubkey, 32, 32, NULL)
		&& (!r->has_aux || hex_field(f[3], r->aux, 32, 32, NULL))
		&& hex_field(f[4], r->msg, MAX_MSG, -1, &r->msg_len)
		&& hex_field(f[5], r->sig, 64, 64, NULL);
}

/* Signing rows: the public key and the exact signature. */
static void
check_signing(const vector_row *r)
{
	uint8_t		pub[32];
	uint8_t		sig[64];
	const uint8_t *msg = r->msg_len > 0 ? r->msg : NULL;
	const uint8_t *aux = r->has_aux ? r->aux : NULL;

	CHECK_INT(schnorr_xonly_pubkey(ctx, r->seckey, pub), SCHNORR_OK);
	CHECK(memcmp(pub, r->pubkey, 32) == 0);

	memset(sig, 0, sizeof(sig));
	CHECK_INT(schnorr_sign(ctx, r->seckey, msg, r->msg_len, aux, sig),
			  SCHNORR_OK);
	if (memcmp(sig, r->sig, 64) != 0)
		printf("  row %d: schnorr_sign gives another signature\n", r->index);
	CHECK(memcmp(sig, r->sig, 64) == 0);

	if (r->msg_len == 32)
	{
		memset(sig, 0, sizeof(sig));
		CHECK_INT(schnorr_sign32(ctx, r->seckey, r->msg, aux, sig),
				  SCHNORR_OK);
		CHECK(memcmp(sig, r->sig, 64) == 0);
	}
}

/* Every row: the published verdict; valid rows must not survive a bit flip. */
static void
check_verification(const vector_row *r)
{
	const uint8_t *msg = r->msg_len > 0 ? r->msg : NULL;
	int			rc = schnorr_verify(ctx, r->pubkey, msg, r->msg_len, r->sig);
	int			bad_key = strstr(r->comment, "public key") != NULL;

	if (r->valid)
	{
		uint8_t		sig[64];
		uint8_t		m[MAX_MSG + 1];

		CHECK_INT(rc, SCHNORR_OK);
		memcpy(sig, r->sig, 64);
		sig[63] ^= 0x01;
		CHECK_INT(schnorr_verify(ctx, r->pubkey, msg, r->msg_len, sig),
				  SCHNORR_ERR_INVALID_SIGNATURE);
		memcpy(m, r->msg, r->msg_len);
		m[r->msg_len] = 0;
		CHECK_INT(schnorr_verify(ctx, r->pubkey, m, r->msg_len + 1, r->sig),
				  SCHNORR_ERR_INVALID_SIGNATURE);
	}
	else if (bad_key)
	{
		CHECK_INT(rc, SCHNORR_ERR_PUBKEY);
		CHECK_INT(schnorr_pubkey_check(ctx, r->pubkey), SCHNORR_ERR_PUBKEY);
	}
	else
	{
		CHECK_INT(rc, SCHNORR_ERR_INVALID_SIGNATURE);
		CHECK_INT(schnorr_pubkey_check(ctx, r->pubkey), SCHNORR_OK);
	}
}

static char *
read_file(const char *path)
{
	FILE	   *fp = fopen(path, "rb");
	char	   *buf;
	long		len;

	if (fp == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0
		|| fseek(fp, 0, SEEK_SET) != 0)
	{
		fclose(fp);
		return NULL;
	}
	buf = malloc((size_t) len + 1);
	if (buf != NULL && fread(buf, 1, (size_t) len, fp) != (size_t) len)
	{
		free(buf);
		buf = NULL;
	}
	if (buf != NULL)
		buf[len] = '\0';
	fclose(fp);
	return buf;
}

static void
test_vectors(const char *path)
{
	static const char header[] = "index,secret key,public key,aux_rand,"
		"message,signature,verification result,comment";
	char	   *text = read_file(path);
	char	   *line;
	char	   *next;
	int			rows = 0;
	int			signing_rows = 0;

	if (text == NULL)
	{
		check_fail("cannot read %s", path);
		return;
	}
	CHECK(strncmp(text, header, sizeof(header) - 1) == 0);
	line = strchr(text, '\n');
	for (line = line ? line + 1 : NULL; line != NULL && *line; line = next)
	{
		vector_row r;
		char	   *cr;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		cr = strchr(line, '\r');
		if (cr != NULL)
			*cr = '\0';
		if (!parse_row(line, &r))
		{
			check_fail("unparsable row %d", rows);
			break;
		}
		CHECK_INT(r.index, rows);
		if (r.has_seckey)
		{
			check_signing(&r);
			signing_rows++;
		}
		check_verification(&r);
		rows++;
	}
	CHECK_INT(rows, CSV_ROWS);
	CHECK_INT(signing_rows, 8);
	free(text);
}

static void
test_api(void)
{
	static const char order_hex[] =
	"fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
	uint8_t		sk[32];
	uint8_t		pub[32];
	uint8_t		zero[32] = {0};
	uint8_t		msg[32] = {0};
	uint8_t		s1[64],
				s2[64];
	size_t		len;
	int			e;

	/* secret key 3 from row 0; NULL aux_rand is the all-zero aux_rand */
	memset(sk, 0, 32);
	sk[31] = 3;
	CHECK_INT(schnorr_sign32(ctx, sk, msg, NULL, s1), SCHNORR_OK);
	CHECK_INT(schnorr_sign32(ctx, sk, msg, zero, s2), SCHNORR_OK);
	CHECK(memcmp(s1, s2, 64) == 0);
	CHECK_INT(schnorr_sign(ctx, sk, msg, 32, NULL, s2), SCHNORR_OK);
	CHECK(memcmp(s1, s2, 64) == 0);
	/* fresh aux_rand gives another, equally valid, signature */
	memset(zero, 0x5a, 32);
	CHECK_INT(schnorr_sign32(ctx, sk, msg, zero, s2), SCHNORR_OK);
	CHECK(memcmp(s1, s2, 64) != 0);
	CHECK_INT(schnorr_xonly_pubkey(ctx, sk, pub), SCHNORR_OK);
	CHECK_INT(schnorr_verify(ctx, pub, msg, 32, s2), SCHNORR_OK);
	/* the empty message, as NULL */
	CHECK_INT(schnorr_sign(ctx, sk, NULL, 0, NULL, s2), SCHNORR_OK);
	CHECK_INT(schnorr_verify(ctx, pub, NULL, 0, s2), SCHNORR_OK);

	/* bad secret keys */
	memset(sk, 0, 32);
	CHECK_INT(schnorr_sign32(ctx, sk, msg, NULL, s1), SCHNORR_ERR_SECKEY);
	CHECK_INT(schnorr_xonly_pubkey(ctx, sk, pub), SCHNORR_ERR_SECKEY);
	if (tp_hex_decode(order_hex, 64, sk, 32, &len) != HEX_OK)
		abort();
	CHECK_INT(schnorr_sign(ctx, sk, msg, 32, NULL, s1), SCHNORR_ERR_SECKEY);
	CHECK_INT(schnorr_xonly_pubkey(ctx, sk, pub), SCHNORR_ERR_SECKEY);

	/* NULLs */
	CHECK_INT(schnorr_sign32(NULL, sk, msg, NULL, s1), SCHNORR_ERR_ARGUMENT);
	CHECK_INT(schnorr_sign32(ctx, sk, NULL, NULL, s1), SCHNORR_ERR_ARGUMENT);
	CHECK_INT(schnorr_sign(ctx, sk, NULL, 1, NULL, s1), SCHNORR_ERR_ARGUMENT);
	CHECK_INT(schnorr_verify(ctx, pub, NULL, 1, s1), SCHNORR_ERR_ARGUMENT);
	CHECK_INT(schnorr_verify(ctx, NULL, msg, 32, s1), SCHNORR_ERR_ARGUMENT);
	CHECK_INT(schnorr_pubkey_check(ctx, NULL), SCHNORR_ERR_ARGUMENT);

	for (e = SCHNORR_OK; e >= SCHNORR_ERR_SIGN_FAILED; e--)
		CHECK(strcmp(schnorr_strerror(e), "unknown schnorr error") != 0);
	CHECK(strcmp(schnorr_strerror(-99), "unknown schnorr error") == 0);
}

int
main(int argc, char **argv)
{
	static const uint8_t seed[32] = {7};

	ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	if (ctx == NULL || !secp256k1_context_randomize(ctx, seed))
	{
		printf("could not create a secp256k1 context\n");
		return 2;
	}
	test_vectors(argc > 1 ? argv[1] : BIP340_CSV);
	test_api();
	secp256k1_context_destroy(ctx);
	return check_summary();
}
