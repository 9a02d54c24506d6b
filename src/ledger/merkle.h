/*
 * merkle.h
 *	  Merkle tree hashing as in RFC 6962 section 2.1 (leaf and node domain
 *	  separation, unbalanced right edge), audit paths and their check.
 */
#ifndef TPWALLET_MERKLE_H
#define TPWALLET_MERKLE_H

#include "postgres.h"

#define MERKLE_HASH_LEN 32

/* leaf = SHA-256(0x00 || data) */
extern void merkle_leaf(const uint8 *data, size_t len, uint8 out[MERKLE_HASH_LEN]);
/* node = SHA-256(0x01 || left || right) */
extern void merkle_node(const uint8 *left, const uint8 *right, uint8 out[MERKLE_HASH_LEN]);

/* Root over n leaf hashes (n >= 1); leaves[i] is 32 bytes. */
extern void merkle_root(const uint8 (*leaves)[MERKLE_HASH_LEN], int n,
						uint8 out[MERKLE_HASH_LEN]);

/* Audit path of leaf m among n; path must hold 64 hashes; returns its length. */
extern int	merkle_path(const uint8 (*leaves)[MERKLE_HASH_LEN], int n, int m,
						uint8 (*path)[MERKLE_HASH_LEN]);

/* RFC 9162 2.1.3.2: does the path prove leaf m of n under root? */
extern bool merkle_verify(const uint8 leaf[MERKLE_HASH_LEN], int64 m, int64 n,
						  const uint8 (*path)[MERKLE_HASH_LEN], int pathlen,
						  const uint8 root[MERKLE_HASH_LEN]);

#endif
