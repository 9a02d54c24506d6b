/*-------------------------------------------------------------------------
 *
 * bench_secp.c
 *	  Baseline rates of the in-process crypto tpwallet's local signer uses.
 *
 *	  bench_secp N
 *
 * Prints, one per line:
 *	  secp_raw_sign_per_sec          N secp256k1_ecdsa_sign_recoverable
 *	                                 (RFC 6979 nonces), varying digests
 *	  secp_raw_schnorr_sign_per_sec  N secp256k1_schnorrsig_sign32
 *	                                 (BIP 340, aux_rand NULL)
 *	  keccak_raw_mb_per_sec          Keccak-256 over 64 MiB; MB = 2^20 bytes
 *
 * The context is randomized, as a signer's must be (side-channel blinding);
 * that costs nothing per signature.
 *
 *-------------------------------------------------------------------------
 */
#define _DEFAULT_SOURCE			/* getrandom, explicit_bzero */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <secp256k1_schnorrsig.h>

#include "keccak.h"

#define KECCAK_TOTAL	(64u << 20)
#define KECCAK_CHUNK	(1u << 20)

/* keeps the compiler from dropping work whose result is unused */
static volatile unsigned char sink;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
random_bytes(unsigned char *p, size_t len)
{
	if (getrandom(p, len, 0) != (ssize_t) len)
	{
		perror("getrandom");
		exit(1);
	}
}

static double
time_ecdsa(const secp256k1_context *ctx, const unsigned char *seckey, long n)
{
	secp256k1_ecdsa_recoverable_signature sig;
	unsigned char msg[32];
	double		t0;
	long		i;

	random_bytes(msg, sizeof(msg));
	t0 = now();
	for (i = 0; i < n; i++)
	{
		memcpy(msg, &i, sizeof(i));
		/* NULL nonce function: the default, RFC 6979 */
		if (!secp256k1_ecdsa_sign_recoverable(ctx, &sig, msg, seckey, NULL,
											  NULL))
			exit(1);
		sink ^= sig.data[0];
	}
	return now() - t0;
}

static double
time_schnorr(const secp256k1_context *ctx, const unsigned char *seckey,
			 long n)
{
	secp256k1_keypair kp;
	unsigned char msg[32];
	unsigned char sig[64];
	double		t0;
	long		i;

	if (!secp256k1_keypair_create(ctx, &kp, seckey))
		exit(1);
	random_bytes(msg, sizeof(msg));
	t0 = now();
	for (i = 0; i < n; i++)
	{
		memcpy(msg, &i, sizeof(i));
		if (!secp256k1_schnorrsig_sign32(ctx, sig, msg, &kp, NULL))
			exit(1);
		sink ^= sig[0];
	}
	return now() - t0;
}

/* 64 updates of 1 MiB: the same sponge work as one 64 MiB buffer */
static double
time_keccak(void)
{
	unsigned char *buf = malloc(KECCAK_CHUNK);
	unsigned char out[KECCAK256_DIGEST_LEN];
	keccak256_ctx kc;
	double		t0;
	unsigned	i;

	if (buf == NULL)
		exit(1);
	for (i = 0; i < KECCAK_CHUNK; i++)
		buf[i] = (unsigned char) (i * 131u);
	t0 = now();
	keccak256_init(&kc);
	for (i = 0; i < KECCAK_TOTAL / KECCAK_CHUNK; i++)
		keccak256_update(&kc, buf, KECCAK_CHUNK);
	keccak256_final(&kc, out);
	t0 = now() - t0;
	sink ^= out[0];
	free(buf);
	return t0;
}

int
main(int argc, char **argv)
{
	secp256k1_context *ctx;
	unsigned char seed[32];
	unsigned char seckey[32];
	long		n;
	double		secs;

	if (argc != 2 || (n = atol(argv[1])) <= 0)
	{
		fprintf(stderr, "usage: bench_secp N\n");
		return 2;
	}
	ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	random_bytes(seed, sizeof(seed));
	if (!secp256k1_context_randomize(ctx, seed))
		return 1;
	do
		random_bytes(seckey, sizeof(seckey));
	while (!secp256k1_ec_seckey_verify(ctx, seckey));

	secs = time_ecdsa(ctx, seckey, n);
	printf("secp_raw_sign_per_sec %.1f\n", (double) n / secs);
	secs = time_schnorr(ctx, seckey, n);
	printf("secp_raw_schnorr_sign_per_sec %.1f\n", (double) n / secs);
	secs = time_keccak();
	printf("keccak_raw_mb_per_sec %.1f\n",
		   (double) KECCAK_TOTAL / (1 << 20) / secs);

	explicit_bzero(seckey, sizeof(seckey));
	secp256k1_context_destroy(ctx);
	return 0;
}
