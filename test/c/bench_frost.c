/*-------------------------------------------------------------------------
 *
 * bench_frost.c
 *	  End-to-end FROST(secp256k1, SHA-256) signing rates in C.
 *
 *	  bench_frost [N]		(N signings per configuration, default 200)
 *
 * One signing is everything after key generation: every signer draws two
 * nonces (32 bytes from RAND_bytes each) and commits, every signer signs
 * its share over the commitment list, the coordinator aggregates and
 * verifies the signature.  Keys come from one trusted-dealer keygen per
 * configuration, outside the timing.  Prints, one per line:
 *
 *	  frost_2of3_per_sec          2 of a 2-of-3 group sign
 *	  frost_3of5_per_sec          3 of a 3-of-5 group sign
 *	  frost_2of3_checked_per_sec  the same, aggregate also verifying
 *	  frost_3of5_checked_per_sec  every share against its public key
 *
 * All signers run in this one process, so the rate is what one backend
 * doing the whole protocol locally (the SQL "local coordinator") can reach.
 *
 *-------------------------------------------------------------------------
 */
/* clock_gettime and CLOCK_MONOTONIC are POSIX, not C99 */
#define _POSIX_C_SOURCE 200112L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <secp256k1.h>

#include "frost.h"

#define MAX_SIGNERS 5

typedef struct
{
	int			min;
	int			max;
	frost_key_share keys[MAX_SIGNERS];
	frost_verifying_share vs[MAX_SIGNERS];
	uint8_t		pk[FROST_ELEMENT_LEN];
} bench_group;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
die(const char *what, int rc)
{
	fprintf(stderr, "bench_frost: %s: %s\n", what, frost_strerror(rc));
	exit(1);
}

static int
openssl_random(void *arg, uint8_t *buf, size_t len)
{
	(void) arg;
	return RAND_bytes(buf, (int) len) == 1;
}

static void
make_group(const secp256k1_context *ctx, bench_group *g, int min, int max)
{
	int			rc;
	int			i;

	g->min = min;
	g->max = max;
	rc = frost_keygen_dealer(ctx, min, max, NULL, NULL, openssl_random, NULL,
							 g->keys, g->pk, NULL);
	if (rc != FROST_OK)
		die("keygen", rc);
	for (i = 0; i < max; i++)
	{
		g->vs[i].identifier = g->keys[i].identifier;
		memcpy(g->vs[i].element, g->keys[i].verifying_share,
			   FROST_ELEMENT_LEN);
	}
}

/* Round one for signers 1..min. */
static void
round_one(const secp256k1_context *ctx, const bench_group *g,
		  uint8_t (*nonces)[2][FROST_SCALAR_LEN], frost_commitment *list)
{
	uint8_t		rnd[32];
	int			i,
				j;
	int			rc;

	for (i = 0; i < g->min; i++)
	{
		for (j = 0; j < 2; j++)
		{
			if (RAND_bytes(rnd, sizeof(rnd)) != 1)
				die("RAND_bytes", FROST_ERR_RANDOM);
			rc = frost_nonce_generate(rnd, g->keys[i].signing_share,
									  nonces[i][j]);
			if (rc != FROST_OK)
				die("nonce_generate", rc);
		}
		list[i].identifier = g->keys[i].identifier;
		rc = frost_commit(ctx, nonces[i][0], nonces[i][1], list[i].hiding,
						  list[i].binding);
		if (rc != FROST_OK)
			die("commit", rc);
	}
}

static void
sign_once(const secp256k1_context *ctx, const bench_group *g,
		  const uint8_t *msg, size_t msg_len, int checked)
{
	uint8_t		nonces[MAX_SIGNERS][2][FROST_SCALAR_LEN];
	frost_commitment list[MAX_SIGNERS];
	frost_signature_share shares[MAX_SIGNERS];
	uint8_t		sig[FROST_SIGNATURE_LEN];
	int			i;
	int			rc;

	round_one(ctx, g, nonces, list);
	for (i = 0; i < g->min; i++)
	{
		shares[i].identifier = list[i].identifier;
		rc = frost_sign(ctx, list[i].identifier, g->keys[i].signing_share,
						g->pk, nonces[i][0], nonces[i][1], list,
						(size_t) g->min, msg, msg_len, shares[i].share, NULL);
		if (rc != FROST_OK)
			die("sign", rc);
	}
	rc = frost_aggregate(ctx, list, (size_t) g->min, msg, msg_len, g->pk,
						 shares, (size_t) g->min, checked ? g->vs : NULL,
						 checked ? (size_t) g->max : 0, sig, NULL);
	if (rc != FROST_OK)
		die("aggregate", rc);
	rc = frost_verify(ctx, g->pk, msg, msg_len, sig);
	if (rc != FROST_OK)
		die("verify", rc);
}

static double
rate(const secp256k1_context *ctx, int min, int max, long n, int checked)
{
	static const uint8_t msg[32] = "tpwallet bench withdrawal #0001";
	bench_group g;
	double		t0;
	long		k;

	make_group(ctx, &g, min, max);
	t0 = now();
	for (k = 0; k < n; k++)
		sign_once(ctx, &g, msg, sizeof(msg), checked);
	return (double) n / (now() - t0);
}

int
main(int argc, char **argv)
{
	secp256k1_context *ctx;
	uint8_t		seed[32];
	long		n = argc > 1 ? atol(argv[1]) : 200;

	if (n <= 0)
	{
		fprintf(stderr, "usage: bench_frost [N]\n");
		return 2;
	}
	ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	if (ctx == NULL || RAND_bytes(seed, sizeof(seed)) != 1
		|| !secp256k1_context_randomize(ctx, seed))
	{
		fprintf(stderr, "bench_frost: cannot set up a secp256k1 context\n");
		return 1;
	}
	printf("frost_2of3_per_sec %.1f\n", rate(ctx, 2, 3, n, 0));
	printf("frost_3of5_per_sec %.1f\n", rate(ctx, 3, 5, n, 0));
	printf("frost_2of3_checked_per_sec %.1f\n", rate(ctx, 2, 3, n, 1));
	printf("frost_3of5_checked_per_sec %.1f\n", rate(ctx, 3, 5, n, 1));
	secp256k1_context_destroy(ctx);
	return 0;
}
