/*-------------------------------------------------------------------------
 *
 * test_p11.c
 *	  Tests for the PKCS#11 bridge (src/keys/p11.c and p11_keys.c) against
 *	  SoftHSM2.
 *
 * Creates a private SoftHSM2 token in a fresh temporary directory (its own
 * softhsm2.conf, named by SOFTHSM2_CONF before the module is loaded), so
 * nothing outside that directory is read or written.  Every signature the
 * token makes is checked with libsecp256k1, which knows nothing about the
 * token.  The module comes from TPW_P11_MODULE, default SoftHSM2's.
 *
 * Plain C, no framework.  Prints one line per failure and, last, exactly
 * "N passed, M failed"; exits non-zero if anything failed.
 *
 * The imported key is the EIP-155 example key (32 bytes of 0x46): its
 * address 0x9d8a62f6...4855a4f and the signing hash daf5a779...4c8e53 are
 * the ones published in EIP-155.
 *
 *-------------------------------------------------------------------------
 */
#define _XOPEN_SOURCE 700		/* mkdtemp, setenv, nftw */

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <p11-kit/pkcs11.h>
#include <secp256k1.h>

#include "check.h"
#include "keccak.h"
#include "p11.h"

#define TOKEN_LABEL		"tpw-test"
#define USER_PIN		"1234"
#define SO_PIN			"5678"
#define WRONG_PIN		"4321"
#define N_DIGESTS		20

/* a bridge return code, printing the bridge's message on failure */
#define CHECK_RC(got, want, err) \
	check_rc_impl((got), (want), (err), #got, __FILE__, __LINE__)

#define CHECK_CONTAINS(s, part) \
	check_contains_impl((s), (part), #s, __FILE__, __LINE__)

static void
check_rc_impl(int got, int want, const char *err, const char *expr,
			  const char *file, int line)
{
	if (got == want)
		check_pass();
	else
		check_fail("%s:%d: %s == %d, want %d (%s)", file, line, expr, got,
				   want, err);
}

static void
check_contains_impl(const char *s, const char *part, const char *expr,
					const char *file, int line)
{
	if (strstr(s, part) != NULL)
		check_pass();
	else
		check_fail("%s:%d: %s is \"%s\", want it to contain \"%s\"",
				   file, line, expr, s, part);
}

/* ------------------------------------------------------------ fixture */

static const char *module_path;
static char tmpdir[] = "/tmp/tpw-p11-XXXXXX";
static secp256k1_context *secp;

typedef struct test_key
{
	uint8_t		id[TPW_P11_ID_LEN];
	uint8_t		pub[65];
} test_key;

static test_key generated;		/* made on the token */
static test_key imported;		/* the EIP-155 example key */

/* Writes softhsm2.conf, points SOFTHSM2_CONF at it, makes the token. */
static int
setup_token(void)
{
	char		path[512];
	char		cmd[1024];
	FILE	   *f;

	if (mkdtemp(tmpdir) == NULL)
	{
		perror("mkdtemp");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/tokens", tmpdir);
	if (mkdir(path, 0700) != 0)
	{
		perror("mkdir");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/softhsm2.conf", tmpdir);
	f = fopen(path, "w");
	if (f == NULL)
	{
		perror("fopen");
		return -1;
	}
	fprintf(f, "directories.tokendir = %s/tokens\n"
			"objectstore.backend = file\n"
			"log.level = ERROR\n"
			"slots.removable = false\n", tmpdir);
	fclose(f);
	/* before the module is loaded: SoftHSM2 reads it in C_Initialize */
	setenv("SOFTHSM2_CONF", path, 1);

	snprintf(cmd, sizeof(cmd),
			 "softhsm2-util --init-token --free --label " TOKEN_LABEL
			 " --pin " USER_PIN " --so-pin " SO_PIN " > %s/init.log 2>&1",
			 tmpdir);
	if (system(cmd) != 0)
	{
		printf("softhsm2-util failed; see %s/init.log\n", tmpdir);
		return -1;
	}
	return 0;
}

static int
remove_entry(const char *path, const struct stat *sb, int flag,
			 struct FTW *ftw)
{
	(void) sb;
	(void) flag;
	(void) ftw;
	return remove(path);
}

static void
remove_tmpdir(void)
{
	if (nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		printf("could not remove %s\n", tmpdir);
}

static tpw_p11 *
open_token(void)
{
	tpw_p11    *p = NULL;
	char		err[256];
	int			rc;

	rc = tpw_p11_open(module_path, TOKEN_LABEL, USER_PIN, &p, err,
					  sizeof(err));
	CHECK_RC(rc, TPW_P11_OK, err);
	return p;
}

static const CK_FUNCTION_LIST *
fl(tpw_p11 *p)
{
	return tpw_p11_function_list(p);
}

/* ------------------------------------------------------- verification */

/*
 * Verifies r||s as the token returned it.  *high gets 1 if s was in the
 * upper half (libsecp256k1 only accepts the lower, so it is normalized
 * first, as the caller of the bridge must).
 */
static int
verify(const uint8_t pub65[65], const uint8_t digest[32],
	   const uint8_t rs[64], int *high)
{
	secp256k1_pubkey pk;
	secp256k1_ecdsa_signature sig;
	int			was_high;

	if (!secp256k1_ec_pubkey_parse(secp, &pk, pub65, 65))
		return 0;
	if (!secp256k1_ecdsa_signature_parse_compact(secp, &sig, rs))
		return 0;
	was_high = secp256k1_ecdsa_signature_normalize(secp, &sig, &sig);
	if (high != NULL)
		*high = was_high;
	return secp256k1_ecdsa_verify(secp, &sig, digest, &pk);
}

/* verification with no normalization: fails exactly for high s */
static int
verify_raw(const uint8_t pub65[65], const uint8_t digest[32],
		   const uint8_t rs[64])
{
	secp256k1_pubkey pk;
	secp256k1_ecdsa_signature sig;

	if (!secp256k1_ec_pubkey_parse(secp, &pk, pub65, 65) ||
		!secp256k1_ecdsa_signature_parse_compact(secp, &sig, rs))
		return 0;
	return secp256k1_ecdsa_verify(secp, &sig, digest, &pk);
}

static void
pubkey_of(const uint8_t priv[32], uint8_t pub65[65])
{
	secp256k1_pubkey pk;
	size_t		len = 65;

	if (!secp256k1_ec_pubkey_create(secp, &pk, priv) ||
		!secp256k1_ec_pubkey_serialize(secp, pub65, &len, &pk,
									   SECP256K1_EC_UNCOMPRESSED))
		abort();
}

/* ------------------------------------------------------------- tests */

static void
test_rv_names(void)
{
	CHECK(strcmp(tpw_p11_rv_name(CKR_OK), "CKR_OK") == 0);
	CHECK(strcmp(tpw_p11_rv_name(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT") == 0);
	CHECK(strcmp(tpw_p11_rv_name(CKR_SESSION_HANDLE_INVALID),
				 "CKR_SESSION_HANDLE_INVALID") == 0);
	CHECK(strcmp(tpw_p11_rv_name(CKR_ATTRIBUTE_SENSITIVE),
				 "CKR_ATTRIBUTE_SENSITIVE") == 0);
	CHECK(strcmp(tpw_p11_rv_name(0x0badUL), "CKR_UNKNOWN") == 0);
	CHECK(strcmp(tpw_p11_rv_name(CKR_VENDOR_DEFINED + 7),
				 "CKR_VENDOR_DEFINED") == 0);
}

/* an open that must fail with want; checks the message names no PIN */
static void
check_open_fails(const char *module, const char *label, const char *pin,
				 int want, const char *want_msg)
{
	static int	not_null;
	tpw_p11    *p = (tpw_p11 *) &not_null;	/* open must reset it */
	char		err[256];
	int			rc;

	rc = tpw_p11_open(module, label, pin, &p, err, sizeof(err));
	CHECK_RC(rc, want, err);
	CHECK(p == NULL);
	CHECK_CONTAINS(err, want_msg);
	CHECK(strstr(err, USER_PIN) == NULL && strstr(err, WRONG_PIN) == NULL);
	/* lower case, but a message may start with a PKCS#11 function name */
	CHECK((err[0] >= 'a' && err[0] <= 'z') || strncmp(err, "C_", 2) == 0);
	CHECK(strchr(err, '\n') == NULL);
}

static void
test_open_errors(void)
{
	tpw_p11    *p = NULL;

	check_open_fails("/nonexistent/libnope.so", TOKEN_LABEL, USER_PIN,
					 TPW_P11_ERR_MODULE, "cannot load pkcs#11 module: ");
	check_open_fails("/nonexistent/libnope.so", TOKEN_LABEL, USER_PIN,
					 TPW_P11_ERR_MODULE, "libnope.so");
	/* a real library, but not a PKCS#11 module */
	check_open_fails("libc.so.6", TOKEN_LABEL, USER_PIN,
					 TPW_P11_ERR_MODULE, "no C_GetFunctionList");
	check_open_fails(module_path, "no-such-token", USER_PIN,
					 TPW_P11_ERR_TOKEN, "no token labelled \"no-such-token\"");
	/* a prefix of the real label is not the label */
	check_open_fails(module_path, "tpw-tes", USER_PIN,
					 TPW_P11_ERR_TOKEN, "no token labelled");
	check_open_fails(module_path, "123456789012345678901234567890123",
					 USER_PIN, TPW_P11_ERR_ARG, "1 to 32 bytes");
	check_open_fails(module_path, "", USER_PIN, TPW_P11_ERR_ARG,
					 "1 to 32 bytes");
	check_open_fails(module_path, TOKEN_LABEL, WRONG_PIN, TPW_P11_ERR_PIN,
					 "C_Login failed: CKR_PIN_INCORRECT");
	check_open_fails(module_path, TOKEN_LABEL, "", TPW_P11_ERR_PIN,
					 "C_Login failed: CKR_");
	check_open_fails(NULL, TOKEN_LABEL, USER_PIN, TPW_P11_ERR_ARG, "required");
	check_open_fails(module_path, TOKEN_LABEL, NULL, TPW_P11_ERR_ARG,
					 "required");

	/* no room for a message is fine */
	CHECK_INT(tpw_p11_open("/nonexistent/libnope.so", TOKEN_LABEL, USER_PIN,
						   &p, NULL, 0), TPW_P11_ERR_MODULE);
	CHECK_INT(tpw_p11_open(module_path, TOKEN_LABEL, USER_PIN, NULL, NULL, 0),
			  TPW_P11_ERR_ARG);
	tpw_p11_close(NULL);
}

static void
test_generate(tpw_p11 *p)
{
	test_key	second;
	secp256k1_pubkey pk;
	char		err[256];
	uint8_t		zero[TPW_P11_ID_LEN] = {0};
	int			rc;

	rc = tpw_p11_generate_secp256k1(p, "tpw-gen", generated.id, generated.pub,
									err, sizeof(err));
	CHECK_RC(rc, TPW_P11_OK, err);
	CHECK_INT(generated.pub[0], 0x04);
	CHECK(secp256k1_ec_pubkey_parse(secp, &pk, generated.pub, 65) == 1);
	CHECK(memcmp(generated.id, zero, sizeof(zero)) != 0);
	CHECK_INT(tpw_p11_has_key(p, generated.id, TPW_P11_ID_LEN, err,
							  sizeof(err)), 1);

	rc = tpw_p11_generate_secp256k1(p, "tpw-gen-2", second.id, second.pub,
									err, sizeof(err));
	CHECK_RC(rc, TPW_P11_OK, err);
	CHECK(memcmp(second.id, generated.id, TPW_P11_ID_LEN) != 0);
	CHECK(memcmp(second.pub, generated.pub, 65) != 0);

	CHECK_INT(tpw_p11_generate_secp256k1(NULL, "x", second.id, second.pub,
										 err, sizeof(err)), TPW_P11_ERR_ARG);
	CHECK_INT(tpw_p11_generate_secp256k1(p, NULL, second.id, second.pub,
										 err, sizeof(err)), TPW_P11_ERR_ARG);
}

static void
test_sign_verify(tpw_p11 *p)
{
	uint8_t		digest[32];
	uint8_t		rs[64];
	char		err[256];
	int			i;
	int			signed_ok = 0;
	int			verified = 0;
	int			high_total = 0;
	int			raw_mismatch = 0;
	int			tampered_ok = 0;
	int			wrong_key_ok = 0;

	for (i = 0; i < N_DIGESTS; i++)
	{
		int			high = 0;

		rng_fill(digest, sizeof(digest));
		if (tpw_p11_sign_digest(p, generated.id, TPW_P11_ID_LEN, digest, rs,
								err, sizeof(err)) != TPW_P11_OK)
		{
			printf("sign: %s\n", err);
			continue;
		}
		signed_ok++;
		verified += verify(generated.pub, digest, rs, &high);
		high_total += high;
		/* the bridge hands s back as the token made it: high s stays high */
		raw_mismatch += verify_raw(generated.pub, digest, rs) != !high;

		digest[i % 32] ^= 0x01;
		tampered_ok += verify(generated.pub, digest, rs, NULL);
		digest[i % 32] ^= 0x01;
		rs[63 - i % 64] ^= 0x80;
		tampered_ok += verify(generated.pub, digest, rs, NULL);
		rs[63 - i % 64] ^= 0x80;
		wrong_key_ok += verify(imported.pub, digest, rs, NULL);
	}
	CHECK_INT(signed_ok, N_DIGESTS);
	CHECK_INT(verified, N_DIGESTS);
	CHECK_INT(raw_mismatch, 0);
	CHECK_INT(tampered_ok, 0);
	CHECK_INT(wrong_key_ok, 0);
	printf("info: %d of %d SoftHSM2 signatures had high s\n", high_total,
		   N_DIGESTS);
}

/* the public key object the import made: its CKA_EC_POINT is DER-wrapped */
static void
check_imported_public_object(tpw_p11 *p)
{
	const CK_FUNCTION_LIST *f = fl(p);
	CK_SESSION_HANDLE s = tpw_p11_session(p);
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE tmpl[2] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_ID, imported.id, TPW_P11_ID_LEN}
	};
	CK_OBJECT_HANDLE h[2];
	CK_ULONG	n = 0;
	CK_BYTE		point[80];
	CK_ATTRIBUTE a = {CKA_EC_POINT, point, sizeof(point)};

	CHECK_INT(f->C_FindObjectsInit(s, tmpl, 2), CKR_OK);
	CHECK_INT(f->C_FindObjects(s, h, 2, &n), CKR_OK);
	CHECK_INT(f->C_FindObjectsFinal(s), CKR_OK);
	CHECK_INT(n, 1);
	if (n != 1)
		return;
	CHECK_INT(f->C_GetAttributeValue(s, h[0], &a, 1), CKR_OK);
	CHECK_INT(a.ulValueLen, 67);
	CHECK(point[0] == 0x04 && point[1] == 0x41);
	CHECK(memcmp(point + 2, imported.pub, 65) == 0);
}

static void
test_import(tpw_p11 *p)
{
	uint8_t		priv[32];
	uint8_t		bad[32];
	uint8_t		badpub[65];
	uint8_t		digest[32];
	uint8_t		addr[20];
	uint8_t		hash[32];
	uint8_t		rs[64];
	uint8_t		id[TPW_P11_ID_LEN];
	char		err[256];
	int			rc;

	memset(priv, 0x46, sizeof(priv));
	pubkey_of(priv, imported.pub);
	/* the published address proves the test's own public key is right */
	keccak256(imported.pub + 1, 64, hash);
	unhex("9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f", addr, sizeof(addr));
	CHECK(memcmp(hash + 12, addr, 20) == 0);

	rc = tpw_p11_import_secp256k1(p, "tpw-eip155", priv, imported.pub,
								  imported.id, err, sizeof(err));
	CHECK_RC(rc, TPW_P11_OK, err);
	CHECK_INT(tpw_p11_has_key(p, imported.id, TPW_P11_ID_LEN, err,
							  sizeof(err)), 1);
	check_imported_public_object(p);

	unhex("daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53",
		  digest, sizeof(digest));
	rc = tpw_p11_sign_digest(p, imported.id, TPW_P11_ID_LEN, digest, rs, err,
							 sizeof(err));
	CHECK_RC(rc, TPW_P11_OK, err);
	CHECK(verify(imported.pub, digest, rs, NULL) == 1);
	CHECK(verify(generated.pub, digest, rs, NULL) == 0);

	/* scalars outside [1, n-1] and compressed public keys are refused */
	memset(bad, 0, sizeof(bad));
	CHECK_INT(tpw_p11_import_secp256k1(p, "bad", bad, imported.pub, id, err,
									   sizeof(err)), TPW_P11_ERR_ARG);
	unhex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
		  bad, sizeof(bad));
	CHECK_INT(tpw_p11_import_secp256k1(p, "bad", bad, imported.pub, id, err,
									   sizeof(err)), TPW_P11_ERR_ARG);
	CHECK_CONTAINS(err, "not a valid secp256k1 scalar");
	memset(bad, 0xff, sizeof(bad));
	CHECK_INT(tpw_p11_import_secp256k1(p, "bad", bad, imported.pub, id, err,
									   sizeof(err)), TPW_P11_ERR_ARG);
	memcpy(badpub, imported.pub, 65);
	badpub[0] = 0x02;
	CHECK_INT(tpw_p11_import_secp256k1(p, "bad", priv, badpub, id, err,
									   sizeof(err)), TPW_P11_ERR_ARG);
	CHECK_CONTAINS(err, "uncompressed");
}

static void
test_has_key(tpw_p11 *p)
{
	uint8_t		id[TPW_P11_MAX_ID_LEN + 1];
	char		err[256];

	rng_fill(id, sizeof(id));
	CHECK_INT(tpw_p11_has_key(p, id, TPW_P11_ID_LEN, err, sizeof(err)), 0);
	CHECK_INT(err[0], '\0');
	/* a prefix of a real id is another id */
	CHECK_INT(tpw_p11_has_key(p, generated.id, TPW_P11_ID_LEN - 1, err,
							  sizeof(err)), 0);
	CHECK_INT(tpw_p11_has_key(p, generated.id, TPW_P11_ID_LEN, err,
							  sizeof(err)), 1);
	CHECK_INT(tpw_p11_has_key(p, id, 0, err, sizeof(err)), TPW_P11_ERR_ARG);
	CHECK_INT(tpw_p11_has_key(p, id, TPW_P11_MAX_ID_LEN + 1, err, sizeof(err)),
			  TPW_P11_ERR_ARG);
	CHECK_INT(tpw_p11_has_key(NULL, id, 16, err, sizeof(err)), TPW_P11_ERR_ARG);
}

static void
test_sign_errors(tpw_p11 *p)
{
	uint8_t		id[TPW_P11_ID_LEN];
	uint8_t		digest[32] = {1};
	uint8_t		rs[64];
	char		err[256];

	rng_fill(id, sizeof(id));
	CHECK_INT(tpw_p11_sign_digest(p, id, sizeof(id), digest, rs, err,
								  sizeof(err)), TPW_P11_ERR_NOT_FOUND);
	CHECK_CONTAINS(err, "no private key with id ");
	CHECK_INT(tpw_p11_sign_digest(p, id, 0, digest, rs, err, sizeof(err)),
			  TPW_P11_ERR_ARG);
	CHECK_INT(tpw_p11_sign_digest(p, generated.id, TPW_P11_ID_LEN, NULL, rs,
								  err, sizeof(err)), TPW_P11_ERR_ARG);
}

/* signs with id and checks the result; returns 1 if it verified */
static int
sign_check(tpw_p11 *p, const test_key *k)
{
	uint8_t		digest[32];
	uint8_t		rs[64];
	char		err[256];

	rng_fill(digest, sizeof(digest));
	if (tpw_p11_sign_digest(p, k->id, TPW_P11_ID_LEN, digest, rs, err,
							sizeof(err)) != TPW_P11_OK)
	{
		printf("sign: %s\n", err);
		return 0;
	}
	return verify(k->pub, digest, rs, NULL);
}

static void
test_cache(tpw_p11 *p)
{
	test_key	extra;
	unsigned long before;
	char		err[256];
	int			ok = 0;
	int			i;

	/* both keys are cached by now: no lookups, however many signatures */
	CHECK(sign_check(p, &generated) && sign_check(p, &imported));
	before = tpw_p11_lookups(p);
	for (i = 0; i < 500; i++)
		ok += sign_check(p, i % 2 ? &generated : &imported);
	CHECK_INT(ok, 500);
	CHECK_INT(tpw_p11_lookups(p), before);

	/* a cache's worth of new keys pushes out the least recently used */
	for (i = 0; i < TPW_P11_CACHE_SIZE; i++)
		CHECK_RC(tpw_p11_generate_secp256k1(p, "tpw-churn", extra.id,
											extra.pub, err, sizeof(err)),
				 TPW_P11_OK, err);
	CHECK_INT(tpw_p11_lookups(p), before);
	CHECK(sign_check(p, &generated));
	CHECK_INT(tpw_p11_lookups(p), before + 1);
	CHECK(sign_check(p, &generated));
	CHECK(sign_check(p, &extra));
	CHECK_INT(tpw_p11_lookups(p), before + 1);
}

/* the key is deleted behind the cache's back: not found, not garbage */
static void
test_stale_handle(tpw_p11 *p)
{
	test_key	k;
	unsigned long h = 0;
	uint8_t		digest[32] = {7};
	uint8_t		rs[64];
	char		err[256];

	CHECK_RC(tpw_p11_generate_secp256k1(p, "tpw-doomed", k.id, k.pub, err,
										sizeof(err)), TPW_P11_OK, err);
	CHECK(sign_check(p, &k));
	CHECK_RC(tpw_p11_find_key(p, k.id, TPW_P11_ID_LEN, &h, err, sizeof(err)),
			 TPW_P11_OK, err);
	CHECK_INT(fl(p)->C_DestroyObject(tpw_p11_session(p), h), CKR_OK);
	CHECK_INT(tpw_p11_sign_digest(p, k.id, TPW_P11_ID_LEN, digest, rs, err,
								  sizeof(err)), TPW_P11_ERR_NOT_FOUND);
	CHECK_INT(tpw_p11_has_key(p, k.id, TPW_P11_ID_LEN, err, sizeof(err)), 0);
	/* and the session is still good */
	CHECK(sign_check(p, &generated));
}

static CK_BBOOL
get_bool(tpw_p11 *p, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL	v = 0xAA;		/* neither true nor false */
	CK_ATTRIBUTE a = {type, &v, sizeof(v)};

	if (fl(p)->C_GetAttributeValue(tpw_p11_session(p), h, &a, 1) != CKR_OK)
		return 0xAA;
	return v;
}

/* always_sensitive: generated on the token, not imported */
static void
check_private_object(tpw_p11 *p, const test_key *k, CK_BBOOL always_sensitive)
{
	const CK_FUNCTION_LIST *f = fl(p);
	CK_SESSION_HANDLE s = tpw_p11_session(p);
	unsigned long h = 0;
	CK_BYTE		value[64];
	CK_ATTRIBUTE a = {CKA_VALUE, value, sizeof(value)};
	CK_BBOOL	yes = CK_TRUE;
	CK_ATTRIBUTE set = {CKA_EXTRACTABLE, &yes, sizeof(yes)};
	char		err[256];

	CHECK_RC(tpw_p11_find_key(p, k->id, TPW_P11_ID_LEN, &h, err, sizeof(err)),
			 TPW_P11_OK, err);
	CHECK_INT(f->C_GetAttributeValue(s, h, &a, 1), CKR_ATTRIBUTE_SENSITIVE);
	CHECK(a.ulValueLen == CK_UNAVAILABLE_INFORMATION);
	CHECK_INT(get_bool(p, h, CKA_TOKEN), CK_TRUE);
	CHECK_INT(get_bool(p, h, CKA_PRIVATE), CK_TRUE);
	CHECK_INT(get_bool(p, h, CKA_SENSITIVE), CK_TRUE);
	CHECK_INT(get_bool(p, h, CKA_EXTRACTABLE), CK_FALSE);
	CHECK_INT(get_bool(p, h, CKA_SIGN), CK_TRUE);
	CHECK_INT(get_bool(p, h, CKA_ALWAYS_SENSITIVE), always_sensitive);
	CHECK_INT(get_bool(p, h, CKA_NEVER_EXTRACTABLE), always_sensitive);
	/* non-extractable is for good: PKCS#11 forbids turning it back */
	CHECK(f->C_SetAttributeValue(s, h, &set, 1) != CKR_OK);
	CHECK_INT(get_bool(p, h, CKA_EXTRACTABLE), CK_FALSE);
}

static void
test_not_extractable(tpw_p11 *p)
{
	check_private_object(p, &generated, CK_TRUE);
	check_private_object(p, &imported, CK_FALSE);
}

/*
 * The session is closed under the bridge: a distinct code says "reopen",
 * and after reopening the token-resident keys are all still there.
 */
static tpw_p11 *
test_session_lost(tpw_p11 *p)
{
	uint8_t		digest[32] = {9};
	uint8_t		rs[64];
	char		err[256];
	int			ok = 0;
	int			i;

	CHECK_INT(fl(p)->C_CloseSession(tpw_p11_session(p)), CKR_OK);
	CHECK_INT(tpw_p11_sign_digest(p, generated.id, TPW_P11_ID_LEN, digest, rs,
								  err, sizeof(err)), TPW_P11_ERR_SESSION);
	CHECK_CONTAINS(err, "C_SignInit failed: CKR_SESSION_HANDLE_INVALID");
	CHECK_INT(tpw_p11_has_key(p, generated.id, TPW_P11_ID_LEN, err,
							  sizeof(err)), TPW_P11_ERR_SESSION);
	tpw_p11_close(p);

	p = open_token();
	if (p == NULL)
		return NULL;
	CHECK_INT(tpw_p11_lookups(p), 0);
	for (i = 0; i < 50; i++)
		ok += sign_check(p, i % 2 ? &generated : &imported);
	CHECK_INT(ok, 50);
	/* one lookup per key, then the cache */
	CHECK_INT(tpw_p11_lookups(p), 2);
	return p;
}

/*
 * Two handles in one process share the module's initialization and login.
 * The second must neither finalize nor log out the first on close; if the
 * first (the owner) goes first, the second gets the "reopen" code.
 */
static void
test_two_handles(void)
{
	tpw_p11    *a;
	tpw_p11    *b;
	uint8_t		digest[32] = {3};
	uint8_t		rs[64];
	char		err[256];

	a = open_token();
	b = open_token();
	if (a == NULL || b == NULL)
		return;
	CHECK(sign_check(a, &generated));
	CHECK(sign_check(b, &imported));
	tpw_p11_close(b);

	/* documented in p11.h: the shared login means this PIN goes unchecked */
	CHECK_INT(tpw_p11_open(module_path, TOKEN_LABEL, WRONG_PIN, &b, err,
						   sizeof(err)), TPW_P11_OK);
	tpw_p11_close(b);
	CHECK(sign_check(a, &generated));
	CHECK(sign_check(a, &imported));

	b = open_token();
	if (b == NULL)
		return;
	tpw_p11_close(a);
	CHECK_INT(tpw_p11_sign_digest(b, generated.id, TPW_P11_ID_LEN, digest, rs,
								  err, sizeof(err)), TPW_P11_ERR_SESSION);
	CHECK_CONTAINS(err, "CKR_CRYPTOKI_NOT_INITIALIZED");
	tpw_p11_close(b);

	a = open_token();
	if (a == NULL)
		return;
	CHECK(sign_check(a, &generated));
	tpw_p11_close(a);
}

int
main(void)
{
	tpw_p11    *p;

	rng_seed(UINT64_C(0x9e3779b97f4a7c15));
	module_path = getenv("TPW_P11_MODULE");
	if (module_path == NULL || module_path[0] == '\0')
		module_path = "/usr/lib/softhsm/libsofthsm2.so";
	if (setup_token() != 0)
	{
		printf("0 passed, 1 failed\n");
		return 1;
	}
	secp = secp256k1_context_create(SECP256K1_CONTEXT_NONE);

	test_rv_names();
	test_open_errors();
	p = open_token();
	if (p != NULL)
	{
		test_generate(p);
		test_import(p);
		test_sign_verify(p);
		test_has_key(p);
		test_sign_errors(p);
		test_cache(p);
		test_stale_handle(p);
		test_not_extractable(p);
		p = test_session_lost(p);
		tpw_p11_close(p);
		test_two_handles();
	}

	secp256k1_context_destroy(secp);
	remove_tmpdir();
	return check_summary();
}
