/*-------------------------------------------------------------------------
 *
 * bench_p11.c
 *	  Baseline signing rate of a PKCS#11 module: a plain C loop of
 *	  C_SignInit + C_Sign (CKM_ECDSA) on one key handle.
 *
 *	  bench_p11 MODULE TOKEN_LABEL PIN_FILE N
 *
 * Uses the private key labelled "bench" on the token (generating one if
 * there is none) and prints "p11_raw_sign_per_sec <number>" on stdout.
 * This is the ceiling any HSM signing path in tpwallet is measured against;
 * the same loop through tpw_p11_sign_digest (cache lookup, checks) goes to
 * stderr as p11_bridge_sign_per_sec, to show the bridge costs nothing.
 *
 * The PIN is read from a file (first line) so it is not in ps output.
 *
 *-------------------------------------------------------------------------
 */
#define _DEFAULT_SOURCE			/* explicit_bzero */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#include "p11.h"

#define BENCH_LABEL		"bench"
#define WARMUP			20

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
read_pin(const char *path, char *pin, size_t cap)
{
	FILE	   *f = fopen(path, "r");

	if (f == NULL)
	{
		perror(path);
		return -1;
	}
	if (fgets(pin, (int) cap, f) == NULL)
		pin[0] = '\0';
	fclose(f);
	pin[strcspn(pin, "\r\n")] = '\0';
	return 0;
}

/* the CKA_ID of the first private key labelled "bench"; 0 if none */
static int
find_labelled(tpw_p11 *p, uint8_t *id, CK_ULONG *id_len)
{
	const CK_FUNCTION_LIST *f = tpw_p11_function_list(p);
	CK_SESSION_HANDLE s = tpw_p11_session(p);
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	char		label[] = BENCH_LABEL;
	CK_ATTRIBUTE tmpl[2] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_LABEL, label, sizeof(label) - 1}
	};
	CK_ATTRIBUTE a = {CKA_ID, id, *id_len};
	CK_OBJECT_HANDLE h;
	CK_ULONG	n = 0;

	if (f->C_FindObjectsInit(s, tmpl, 2) != CKR_OK)
		return -1;
	if (f->C_FindObjects(s, &h, 1, &n) != CKR_OK)
		n = 0;
	f->C_FindObjectsFinal(s);
	if (n == 0 || f->C_GetAttributeValue(s, h, &a, 1) != CKR_OK)
		return 0;
	*id_len = a.ulValueLen;
	return 1;
}

/* the "bench" key's handle, made if missing; checked to be secp256k1 */
static int
bench_key(tpw_p11 *p, uint8_t *id, CK_ULONG *id_len, CK_OBJECT_HANDLE *key)
{
	uint8_t		pub[65];
	unsigned long h;
	char		err[256];
	int			rc;

	*id_len = TPW_P11_MAX_ID_LEN;
	if (find_labelled(p, id, id_len) != 1)
	{
		rc = tpw_p11_generate_secp256k1(p, BENCH_LABEL, id, pub, err,
										sizeof(err));
		if (rc != TPW_P11_OK)
		{
			fprintf(stderr, "bench_p11: %s\n", err);
			return -1;
		}
		*id_len = TPW_P11_ID_LEN;
		fprintf(stderr, "bench_p11: generated a key labelled " BENCH_LABEL "\n");
	}
	rc = tpw_p11_find_key(p, id, *id_len, &h, err, sizeof(err));
	if (rc != TPW_P11_OK)
	{
		fprintf(stderr, "bench_p11: %s\n", err);
		return -1;
	}
	*key = h;
	return 0;
}

/* n raw C_SignInit + C_Sign; returns seconds, or a negative on error */
static double
time_raw(tpw_p11 *p, CK_OBJECT_HANDLE key, long n)
{
	const CK_FUNCTION_LIST *f = tpw_p11_function_list(p);
	CK_SESSION_HANDLE s = tpw_p11_session(p);
	CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
	CK_BYTE		digest[32];
	CK_BYTE		sig[64];
	CK_ULONG	len;
	CK_RV		rv;
	double		t0;
	long		i;

	memset(digest, 0x5a, sizeof(digest));
	t0 = now();
	for (i = 0; i < n; i++)
	{
		memcpy(digest, &i, sizeof(i));
		len = sizeof(sig);
		rv = f->C_SignInit(s, &mech, key);
		if (rv == CKR_OK)
			rv = f->C_Sign(s, digest, sizeof(digest), sig, &len);
		if (rv != CKR_OK)
		{
			fprintf(stderr, "bench_p11: signing failed: %s\n",
					tpw_p11_rv_name(rv));
			return -1;
		}
	}
	return now() - t0;
}

static double
time_bridge(tpw_p11 *p, const uint8_t *id, size_t id_len, long n)
{
	uint8_t		digest[32];
	uint8_t		rs[64];
	char		err[256];
	double		t0;
	long		i;

	memset(digest, 0xa5, sizeof(digest));
	t0 = now();
	for (i = 0; i < n; i++)
	{
		memcpy(digest, &i, sizeof(i));
		if (tpw_p11_sign_digest(p, id, id_len, digest, rs, err,
								sizeof(err)) != TPW_P11_OK)
		{
			fprintf(stderr, "bench_p11: %s\n", err);
			return -1;
		}
	}
	return now() - t0;
}

int
main(int argc, char **argv)
{
	tpw_p11    *p;
	char		pin[256];
	char		err[256];
	uint8_t		id[TPW_P11_MAX_ID_LEN];
	CK_ULONG	id_len;
	CK_OBJECT_HANDLE key;
	long		n;
	double		secs;
	int			rc;

	if (argc != 5 || (n = atol(argv[4])) <= 0)
	{
		fprintf(stderr, "usage: bench_p11 MODULE TOKEN_LABEL PIN_FILE N\n");
		return 2;
	}
	if (read_pin(argv[3], pin, sizeof(pin)) != 0)
		return 1;
	rc = tpw_p11_open(argv[1], argv[2], pin, &p, err, sizeof(err));
	explicit_bzero(pin, sizeof(pin));
	if (rc != TPW_P11_OK)
	{
		fprintf(stderr, "bench_p11: %s\n", err);
		return 1;
	}
	if (bench_key(p, id, &id_len, &key) != 0 ||
		time_raw(p, key, WARMUP) < 0 ||
		(secs = time_raw(p, key, n)) < 0)
	{
		tpw_p11_close(p);
		return 1;
	}
	printf("p11_raw_sign_per_sec %.1f\n", (double) n / secs);
	secs = time_bridge(p, id, id_len, n);
	if (secs > 0)
		fprintf(stderr, "p11_bridge_sign_per_sec %.1f\n", (double) n / secs);
	tpw_p11_close(p);
	return secs > 0 ? 0 : 1;
}
