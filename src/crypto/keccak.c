/*-------------------------------------------------------------------------
 *
 * keccak.c
 *	  Keccak-f[1600] permutation and the Keccak-256 sponge (Ethereum flavour).
 *
 * Written from the Keccak reference specification (v3.0) and FIPS 202
 * section 3.2 for the step mappings.  Lanes are loaded and stored
 * little-endian byte by byte, so the result does not depend on host byte
 * order; compilers turn the byte loops into single loads on little-endian
 * targets.
 *
 *-------------------------------------------------------------------------
 */
#include "keccak.h"

#include <string.h>

/* Original Keccak domain/padding byte; SHA-3 would use 0x06 here. */
#define KECCAK_PAD_FIRST	0x01
#define KECCAK_PAD_LAST		0x80

#define ROTL64(x, n)	(((x) << (n)) | ((x) >> (64 - (n))))

/* iota round constants, the output of the rc(t) LFSR of the specification */
static const uint64_t keccak_rc[24] = {
	UINT64_C(0x0000000000000001), UINT64_C(0x0000000000008082),
	UINT64_C(0x800000000000808a), UINT64_C(0x8000000080008000),
	UINT64_C(0x000000000000808b), UINT64_C(0x0000000080000001),
	UINT64_C(0x8000000080008081), UINT64_C(0x8000000000008009),
	UINT64_C(0x000000000000008a), UINT64_C(0x0000000000000088),
	UINT64_C(0x0000000080008009), UINT64_C(0x000000008000000a),
	UINT64_C(0x000000008000808b), UINT64_C(0x800000000000008b),
	UINT64_C(0x8000000000008089), UINT64_C(0x8000000000008003),
	UINT64_C(0x8000000000008002), UINT64_C(0x8000000000000080),
	UINT64_C(0x000000000000800a), UINT64_C(0x800000008000000a),
	UINT64_C(0x8000000080008081), UINT64_C(0x8000000000008080),
	UINT64_C(0x0000000080000001), UINT64_C(0x8000000080008008)
};

static uint64_t
load64_le(const uint8_t *p)
{
	return (uint64_t) p[0] |
		((uint64_t) p[1] << 8) |
		((uint64_t) p[2] << 16) |
		((uint64_t) p[3] << 24) |
		((uint64_t) p[4] << 32) |
		((uint64_t) p[5] << 40) |
		((uint64_t) p[6] << 48) |
		((uint64_t) p[7] << 56);
}

static void
store64_le(uint8_t *p, uint64_t v)
{
	int			i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

/*
 * chi on one row of five lanes: a[x] ^= ~b[x+1] & b[x+2].
 * Reads from B (the rho/pi output) and writes into A.
 */
#define CHI_ROW(y) \
	do { \
		A[(y) + 0] = B[(y) + 0] ^ (~B[(y) + 1] & B[(y) + 2]); \
		A[(y) + 1] = B[(y) + 1] ^ (~B[(y) + 2] & B[(y) + 3]); \
		A[(y) + 2] = B[(y) + 2] ^ (~B[(y) + 3] & B[(y) + 4]); \
		A[(y) + 3] = B[(y) + 3] ^ (~B[(y) + 4] & B[(y) + 0]); \
		A[(y) + 4] = B[(y) + 4] ^ (~B[(y) + 0] & B[(y) + 1]); \
	} while (0)

/*
 * Keccak-f[1600]: 24 rounds of theta, rho, pi, chi, iota.
 *
 * rho and pi are fused and fully unrolled: lane A[x+5y] is rotated by its
 * rho offset r[x][y] and moved to B[y + 5*((2x+3y) mod 5)].  Unrolling
 * turns the rotation amounts into immediates, which is most of the speed.
 */
static void
keccak_f1600(uint64_t A[25])
{
	uint64_t	B[25];
	uint64_t	C[5];
	uint64_t	D[5];
	int			round;
	int			i;

	for (round = 0; round < 24; round++)
	{
		/* theta: xor each lane with the parities of two nearby columns */
		for (i = 0; i < 5; i++)
			C[i] = A[i] ^ A[i + 5] ^ A[i + 10] ^ A[i + 15] ^ A[i + 20];
		D[0] = C[4] ^ ROTL64(C[1], 1);
		D[1] = C[0] ^ ROTL64(C[2], 1);
		D[2] = C[1] ^ ROTL64(C[3], 1);
		D[3] = C[2] ^ ROTL64(C[4], 1);
		D[4] = C[3] ^ ROTL64(C[0], 1);
		for (i = 0; i < 25; i += 5)
		{
			A[i + 0] ^= D[0];
			A[i + 1] ^= D[1];
			A[i + 2] ^= D[2];
			A[i + 3] ^= D[3];
			A[i + 4] ^= D[4];
		}

		/* rho + pi */
		B[0] = A[0];
		B[10] = ROTL64(A[1], 1);
		B[20] = ROTL64(A[2], 62);
		B[5] = ROTL64(A[3], 28);
		B[15] = ROTL64(A[4], 27);
		B[16] = ROTL64(A[5], 36);
		B[1] = ROTL64(A[6], 44);
		B[11] = ROTL64(A[7], 6);
		B[21] = ROTL64(A[8], 55);
		B[6] = ROTL64(A[9], 20);
		B[7] = ROTL64(A[10], 3);
		B[17] = ROTL64(A[11], 10);
		B[2] = ROTL64(A[12], 43);
		B[12] = ROTL64(A[13], 25);
		B[22] = ROTL64(A[14], 39);
		B[23] = ROTL64(A[15], 41);
		B[8] = ROTL64(A[16], 45);
		B[18] = ROTL64(A[17], 15);
		B[3] = ROTL64(A[18], 21);
		B[13] = ROTL64(A[19], 8);
		B[14] = ROTL64(A[20], 18);
		B[24] = ROTL64(A[21], 2);
		B[9] = ROTL64(A[22], 61);
		B[19] = ROTL64(A[23], 56);
		B[4] = ROTL64(A[24], 14);

		/* chi: the only non-linear step */
		CHI_ROW(0);
		CHI_ROW(5);
		CHI_ROW(10);
		CHI_ROW(15);
		CHI_ROW(20);

		/* iota: break the symmetry between rounds */
		A[0] ^= keccak_rc[round];
	}
}

void
keccak256_init(keccak256_ctx *ctx)
{
	memset(ctx->s, 0, sizeof(ctx->s));
	ctx->pos = 0;
}

static void
wipe(void *p, size_t len)
{
	volatile uint8_t *v = (volatile uint8_t *) p;

	while (len-- > 0)
		*v++ = 0;
}

/* XOR one byte into the state at byte offset pos of the rate portion. */
static void
xor_byte(keccak256_ctx *ctx, size_t pos, uint8_t b)
{
	ctx->s[pos / 8] ^= (uint64_t) b << (8 * (pos % 8));
}

void
keccak256_update(keccak256_ctx *ctx, const uint8_t *data, size_t len)
{
	size_t		i;

	/* finish a partially filled block byte by byte */
	while (len > 0 && ctx->pos != 0)
	{
		xor_byte(ctx, ctx->pos, *data++);
		len--;
		if (++ctx->pos == KECCAK256_RATE)
		{
			keccak_f1600(ctx->s);
			ctx->pos = 0;
		}
	}

	/* whole blocks go in a lane at a time: the hot path for long input */
	while (len >= KECCAK256_RATE)
	{
		for (i = 0; i < KECCAK256_RATE / 8; i++)
			ctx->s[i] ^= load64_le(data + 8 * i);
		keccak_f1600(ctx->s);
		data += KECCAK256_RATE;
		len -= KECCAK256_RATE;
	}

	/* stash the tail; it is always shorter than a block here */
	for (i = 0; i < len; i++)
		xor_byte(ctx, ctx->pos + i, data[i]);
	ctx->pos += len;
}

void
keccak256_final(keccak256_ctx *ctx, uint8_t out[KECCAK256_DIGEST_LEN])
{
	int			i;

	/*
	 * pad10*1 with the Keccak domain byte.  When only one byte of the block
	 * is left, both pad bytes land in it and XOR to 0x81, as the spec
	 * requires.
	 */
	xor_byte(ctx, ctx->pos, KECCAK_PAD_FIRST);
	xor_byte(ctx, KECCAK256_RATE - 1, KECCAK_PAD_LAST);
	keccak_f1600(ctx->s);

	for (i = 0; i < KECCAK256_DIGEST_LEN / 8; i++)
		store64_le(out + 8 * i, ctx->s[i]);

	/*
	 * Don't leave hashed material (possibly key material) behind.  A plain
	 * memset of a dying object may be elided; the volatile store may not.
	 */
	wipe(ctx, sizeof(*ctx));
}

void
keccak256(const uint8_t *data, size_t len, uint8_t out[KECCAK256_DIGEST_LEN])
{
	keccak256_ctx ctx;

	keccak256_init(&ctx);
	keccak256_update(&ctx, data, len);
	keccak256_final(&ctx, out);
}
