/*-------------------------------------------------------------------------
 *
 * ethtx_internal.h
 *	  Private to the Ethereum transaction code: the 256-bit helpers and
 *	  the checks that ethtx.c offers the encoder (ethtx_encode.c) and the
 *	  decoder (ethtx_decode.c).  Callers use ethtx.h; only those three
 *	  files include this header.
 *
 * Functions shared between those files carry the prefix ethtx_: they are
 * linked into the server's shared library, where a plain global name such
 * as check_signature() could collide with another one.  Numbers are
 * U256_LEN-byte big-endian arrays, as in ethtx.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_ETHTX_INTERNAL_H
#define TPWALLET_ETHTX_INTERNAL_H

#include "ethtx.h"

#define U256_LEN	32

/* EIP-155: v = chainId * 2 + 35 + recovery id; before it, 27 + id. */
#define V_PRE_EIP155	27
#define V_EIP155_BASE	35

/* a, or rlp_malloc_allocator when a is NULL */
extern const rlp_allocator *ethtx_allocator_or_default(const rlp_allocator *a);

/* 256-bit helpers */

/* 1 if v is zero, else 0 */
extern int	ethtx_u256_is_zero(const uint8_t v[U256_LEN]);
/* v = v * mul + add; returns nonzero if the result overflowed */
extern int	ethtx_u256_mul_add_small(uint8_t v[U256_LEN], unsigned mul,
									 unsigned add);
/* v = v / div; returns the remainder */
extern unsigned ethtx_u256_divmod_small(uint8_t v[U256_LEN], unsigned div);
/* v = v - sub; the caller guarantees v >= sub */
extern void ethtx_u256_sub_small(uint8_t v[U256_LEN], unsigned sub);

/* checks */

/* 1 if v fits in 64 bits (nonce and gas must), else 0 */
extern int	ethtx_fits_u64(const uint8_t v[U256_LEN]);
/* ETH_OK, or ETH_ERR_BAD_SIGNATURE unless r in [1, n-1] and s in [1, n/2] */
extern int	ethtx_check_signature(const uint8_t r[U256_LEN],
								  const uint8_t s[U256_LEN]);

#endif							/* TPWALLET_ETHTX_INTERNAL_H */
