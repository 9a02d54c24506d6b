/*-------------------------------------------------------------------------
 *
 * keccak.h
 *	  Keccak-256 as used by Ethereum.
 *
 * This is the original Keccak submission padding (domain byte 0x01), which
 * Ethereum adopted before NIST finalized SHA-3 with a different domain byte
 * (0x06).  The two produce different digests for every input, so this must
 * never be swapped for a SHA3-256 implementation.
 *
 * Self-contained C99: no PostgreSQL or OpenSSL dependency.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_KECCAK_H
#define TPWALLET_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#define KECCAK256_DIGEST_LEN	32
/* sponge rate in bytes: (1600 - 2 * 256) / 8 */
#define KECCAK256_RATE			136

typedef struct
{
	uint64_t	s[25];			/* state lanes, lane (x,y) at s[x + 5*y] */
	size_t		pos;			/* bytes absorbed into the current block */
} keccak256_ctx;

extern void keccak256_init(keccak256_ctx *ctx);
extern void keccak256_update(keccak256_ctx *ctx, const uint8_t *data,
							 size_t len);
/* Writes the digest and wipes the context; re-init before reuse. */
extern void keccak256_final(keccak256_ctx *ctx,
							uint8_t out[KECCAK256_DIGEST_LEN]);

/* One-shot convenience wrapper. */
extern void keccak256(const uint8_t *data, size_t len,
					  uint8_t out[KECCAK256_DIGEST_LEN]);

#endif							/* TPWALLET_KECCAK_H */
