/*
 * merkle.c
 *	  RFC 6962 Merkle tree hash, audit paths and path verification.
 */
#include "postgres.h"

#include "ledger/merkle.h"
#include "ledger/canon.h"

void
merkle_leaf(const uint8 *data, size_t len, uint8 out[MERKLE_HASH_LEN])
{
	uint8		buf[1 + 64];

	Assert(len <= 64);
	buf[0] = 0x00;
	memcpy(buf + 1, data, len);
	sha256(buf, 1 + len, out);
}

void
merkle_node(const uint8 *left, const uint8 *right, uint8 out[MERKLE_HASH_LEN])
{
	uint8		buf[1 + 2 * MERKLE_HASH_LEN];

	buf[0] = 0x01;
	memcpy(buf + 1, left, MERKLE_HASH_LEN);
	memcpy(buf + 1 + MERKLE_HASH_LEN, right, MERKLE_HASH_LEN);
	sha256(buf, sizeof(buf), out);
}

/* Largest power of two strictly smaller than n (n >= 2). */
static int
split_point(int n)
{
	int			k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

void
merkle_root(const uint8 (*leaves)[MERKLE_HASH_LEN], int n, uint8 out[MERKLE_HASH_LEN])
{
	uint8		left[MERKLE_HASH_LEN];
	uint8		right[MERKLE_HASH_LEN];
	int			k;

	Assert(n >= 1);
	if (n == 1)
	{
		memcpy(out, leaves[0], MERKLE_HASH_LEN);
		return;
	}
	k = split_point(n);
	merkle_root(leaves, k, left);
	merkle_root(leaves + k, n - k, right);
	merkle_node(left, right, out);
}

int
merkle_path(const uint8 (*leaves)[MERKLE_HASH_LEN], int n, int m,
			uint8 (*path)[MERKLE_HASH_LEN])
{
	int			len;
	int			k;

	Assert(m >= 0 && m < n);
	if (n == 1)
		return 0;
	k = split_point(n);
	/* PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) if m < k, else the mirror. */
	if (m < k)
	{
		len = merkle_path(leaves, k, m, path);
		merkle_root(leaves + k, n - k, path[len]);
	}
	else
	{
		len = merkle_path(leaves + k, n - k, m - k, path);
		merkle_root(leaves, k, path[len]);
	}
	return len + 1;
}

bool
merkle_verify(const uint8 leaf[MERKLE_HASH_LEN], int64 m, int64 n,
			  const uint8 (*path)[MERKLE_HASH_LEN], int pathlen,
			  const uint8 root[MERKLE_HASH_LEN])
{
	uint64		fn = (uint64) m;
	uint64		sn;
	uint8		r[MERKLE_HASH_LEN];

	if (m < 0 || n <= 0 || m >= n)
		return false;
	sn = (uint64) n - 1;
	memcpy(r, leaf, MERKLE_HASH_LEN);
	for (int i = 0; i < pathlen; i++)
	{
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn)
		{
			merkle_node(path[i], r, r);
			while (!(fn & 1) && fn != 0)
			{
				fn >>= 1;
				sn >>= 1;
			}
		}
		else
			merkle_node(r, path[i], r);
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(r, root, MERKLE_HASH_LEN) == 0;
}
