/*-------------------------------------------------------------------------
 *
 * ethtx_decode.c
 *	  Strict decoding of signed Ethereum transactions (see ethtx.h): one
 *	  canonical form for every field, a usable low-s signature, and data
 *	  and the access list copied into one block that the result owns.
 *
 *-------------------------------------------------------------------------
 */
#include "ethtx_internal.h"

#include <string.h>

/* ------------------------------------------------------------- decoding */

static int
from_rlp(int rc)
{
	return rc == RLP_OK ? ETH_OK : ETH_ERR_RLP(rc);
}

/*
 * The items of an already validated list, which must number exactly want.
 * Walking a tree that rlp_decode_exact accepted cannot fail, but the
 * iterator's verdict is passed on all the same.
 */
static int
split_list(const rlp_item *list, rlp_item *items, size_t want)
{
	rlp_item	item;
	rlp_iter	it;
	size_t		n = 0;
	int			rc;

	if ((rc = rlp_iter_init(&it, list)) != RLP_OK)
		return from_rlp(rc);
	while ((rc = rlp_iter_next(&it, &item)) == 1)
	{
		if (n == want)
			return ETH_ERR_FIELD_COUNT;
		items[n++] = item;
	}
	if (rc < 0)
		return from_rlp(rc);
	return n == want ? ETH_OK : ETH_ERR_FIELD_COUNT;
}

/* The whole input must be one canonical list of exactly want fields. */
static int
split_tx(const uint8_t *p, size_t len, rlp_item *fields, size_t want)
{
	rlp_item	list;
	int			rc = rlp_decode_exact(p, len, &list);

	if (rc != RLP_OK)
		return from_rlp(rc);
	return split_list(&list, fields, want);
}

static int
get_uint(const rlp_item *item, uint8_t out[U256_LEN])
{
	size_t		width;

	return from_rlp(rlp_decode_uint(item, out, &width));
}

/* nonce and gas: uint64 in every client, so wider values are refused */
static int
get_uint64_field(const rlp_item *item, uint8_t out[U256_LEN])
{
	int			rc = get_uint(item, out);

	if (rc == ETH_ERR_RLP(RLP_ERR_UINT_TOO_LONG) ||
		(rc == ETH_OK && !ethtx_fits_u64(out)))
		return ETH_ERR_UINT64_FIELD;
	return rc;
}

static int
get_to(const rlp_item *item, eth_tx *tx)
{
	if (item->is_list)
		return ETH_ERR_BAD_TO;
	if (item->payload_len == 0)
		return ETH_OK;
	if (item->payload_len != ETH_ADDRESS_LEN)
		return ETH_ERR_BAD_TO;
	tx->has_to = 1;
	memcpy(tx->to, item->payload, ETH_ADDRESS_LEN);
	return ETH_OK;
}

/* Points into the input for now; decode_finish copies it. */
static int
get_data(const rlp_item *item, eth_tx *tx)
{
	if (item->is_list)
		return ETH_ERR_RLP(RLP_ERR_EXPECTED_STRING);
	tx->data = item->payload_len > 0 ? item->payload : NULL;
	tx->data_len = item->payload_len;
	return ETH_OK;
}

/* r and s: canonical integers of at most 32 bytes, in range. */
static int
get_signature(const rlp_item *r, const rlp_item *s, eth_tx *tx)
{
	int			rc;

	if ((rc = get_uint(r, tx->r)) != ETH_OK ||
		(rc = get_uint(s, tx->s)) != ETH_OK)
		return rc == ETH_ERR_RLP(RLP_ERR_UINT_TOO_LONG) ?
			ETH_ERR_BAD_SIGNATURE : rc;
	if ((rc = ethtx_check_signature(tx->r, tx->s)) != ETH_OK)
		return rc;
	tx->has_signature = 1;
	return ETH_OK;
}

/*
 * Legacy v: 27/28 (no chain id) or chainId * 2 + 35/36.  Any v >= 35 names
 * some chain, so the chain id is derived from v rather than checked; the
 * caller compares it with the chain it expects.
 */
static int
get_legacy_v(const rlp_item *item, eth_tx *tx)
{
	uint8_t		w[U256_LEN];
	uint64_t	small;
	int			rc = get_uint(item, tx->v);

	if (rc != ETH_OK)
		return rc == ETH_ERR_RLP(RLP_ERR_UINT_TOO_LONG) ? ETH_ERR_BAD_V : rc;
	if (eth_uint256_to_u64(tx->v, &small) == ETH_OK && small < V_EIP155_BASE)
	{
		if (small != V_PRE_EIP155 && small != V_PRE_EIP155 + 1)
			return ETH_ERR_BAD_V;
		tx->pre_eip155 = 1;
		tx->y_parity = (int) (small - V_PRE_EIP155);
		return ETH_OK;
	}
	memcpy(w, tx->v, U256_LEN);
	ethtx_u256_sub_small(w, V_EIP155_BASE);
	tx->y_parity = (int) ethtx_u256_divmod_small(w, 2);
	memcpy(tx->chain_id, w, U256_LEN);
	return ETH_OK;
}

static int
get_y_parity(const rlp_item *item, eth_tx *tx)
{
	uint64_t	y;
	int			rc = rlp_decode_uint64(item, &y);

	if (rc == RLP_ERR_UINT_TOO_LONG || (rc == RLP_OK && y > 1))
		return ETH_ERR_BAD_Y_PARITY;
	if (rc != RLP_OK)
		return from_rlp(rc);
	tx->y_parity = (int) y;
	return ETH_OK;
}

/*
 * One access list entry, [20-byte address, [32-byte key, ...]].  Adds its
 * key count to *n_keys; with e non-NULL also fills e and copies the keys
 * to keys[0 ..).
 */
static int
walk_access_entry(const rlp_item *entry, eth_access_entry *e,
				  uint8_t (*keys)[32], size_t *n_keys)
{
	rlp_item	f[2];
	rlp_item	key;
	rlp_iter	it;
	size_t		n = 0;
	int			rc;

	if (!entry->is_list)
		return ETH_ERR_BAD_ACCESS_ENTRY;
	rc = split_list(entry, f, 2);
	if (rc != ETH_OK)
		return rc == ETH_ERR_FIELD_COUNT ? ETH_ERR_BAD_ACCESS_ENTRY : rc;
	if (f[0].is_list || f[0].payload_len != ETH_ADDRESS_LEN)
		return ETH_ERR_BAD_ACCESS_ADDRESS;
	if ((rc = rlp_iter_init(&it, &f[1])) != RLP_OK)
		return ETH_ERR_BAD_ACCESS_ENTRY;
	while ((rc = rlp_iter_next(&it, &key)) == 1)
	{
		if (key.is_list || key.payload_len != U256_LEN)
			return ETH_ERR_BAD_STORAGE_KEY;
		if (e != NULL)
			memcpy(keys[n], key.payload, U256_LEN);
		n++;
	}
	if (rc < 0)
		return from_rlp(rc);
	if (e != NULL)
	{
		memcpy(e->address, f[0].payload, ETH_ADDRESS_LEN);
		e->n_keys = n;
		e->keys = n > 0 ? keys : NULL;
	}
	*n_keys += n;
	return ETH_OK;
}

/*
 * Check and count the access list (entries == NULL), or fill entries and
 * keys, sized by a counting pass, from it.
 */
static int
walk_access_list(const rlp_item *list, eth_access_entry *entries,
				 uint8_t (*keys)[32], size_t *n_entries, size_t *n_keys)
{
	rlp_item	entry;
	rlp_iter	it;
	int			rc;

	*n_entries = 0;
	*n_keys = 0;
	if ((rc = rlp_iter_init(&it, list)) != RLP_OK)
		return from_rlp(rc);
	while ((rc = rlp_iter_next(&it, &entry)) == 1)
	{
		rc = walk_access_entry(&entry,
							   entries ? &entries[*n_entries] : NULL,
							   keys ? keys + *n_keys : NULL, n_keys);
		if (rc != ETH_OK)
			return rc;
		(*n_entries)++;
	}
	return from_rlp(rc);
}

/*
 * Copy data and the access list out of the input into one block, so the
 * decoded transaction does not depend on the input's lifetime.  Everything
 * is validated before the allocation, so a failure leaves nothing behind.
 *
 * An entry takes at least 23 input bytes and a key 33, so the block is at
 * most a few times the input's size: a small input cannot ask for a large
 * allocation, and with ETH_TX_MAX_SIZE the sizes cannot overflow.
 */
static int
decode_finish(eth_tx *tx, const rlp_allocator *a, const rlp_item *access)
{
	size_t		n_entries = 0;
	size_t		n_keys = 0;
	size_t		entries_size;
	size_t		keys_size;
	char	   *block;
	int			rc;

	if (access != NULL &&
		(rc = walk_access_list(access, NULL, NULL, &n_entries, &n_keys)) != ETH_OK)
		return rc;
	entries_size = n_entries * sizeof(eth_access_entry);
	keys_size = n_keys * U256_LEN;
	if (entries_size + keys_size + tx->data_len == 0)
		return ETH_OK;

	/* entries first: the allocator's alignment suits them */
	block = ethtx_allocator_or_default(a)->alloc(entries_size + keys_size +
												 tx->data_len);
	if (block == NULL)
		return ETH_ERR_OUT_OF_MEMORY;
	tx->owned = block;
	if (tx->data_len > 0)
	{
		memcpy(block + entries_size + keys_size, tx->data, tx->data_len);
		tx->data = (const uint8_t *) (block + entries_size + keys_size);
	}
	if (n_entries > 0)
	{
		tx->access_list = (eth_access_entry *) (void *) block;
		tx->n_access = n_entries;
		return walk_access_list(access, tx->access_list,
								(uint8_t (*)[32]) (void *) (block + entries_size),
								&n_entries, &n_keys);
	}
	return ETH_OK;
}

/* rlp([nonce, gasPrice, gas, to, value, data, v, r, s]) */
static int
decode_legacy(const uint8_t *p, size_t len, const rlp_allocator *a,
			  eth_tx *tx)
{
	rlp_item	f[9];
	int			rc;

	tx->type = ETH_TX_LEGACY;
	if ((rc = split_tx(p, len, f, 9)) != ETH_OK ||
		(rc = get_uint64_field(&f[0], tx->nonce)) != ETH_OK ||
		(rc = get_uint(&f[1], tx->gas_price)) != ETH_OK ||
		(rc = get_uint64_field(&f[2], tx->gas)) != ETH_OK ||
		(rc = get_to(&f[3], tx)) != ETH_OK ||
		(rc = get_uint(&f[4], tx->value)) != ETH_OK ||
		(rc = get_data(&f[5], tx)) != ETH_OK ||
		(rc = get_legacy_v(&f[6], tx)) != ETH_OK ||
		(rc = get_signature(&f[7], &f[8], tx)) != ETH_OK)
		return rc;
	return decode_finish(tx, a, NULL);
}

/*
 * rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value,
 *		data, accessList, yParity, r, s]), after the 0x02 type byte
 */
static int
decode_eip1559(const uint8_t *p, size_t len, const rlp_allocator *a,
			   eth_tx *tx)
{
	rlp_item	f[12];
	int			rc;

	tx->type = ETH_TX_EIP1559;
	if ((rc = split_tx(p, len, f, 12)) != ETH_OK ||
		(rc = get_uint(&f[0], tx->chain_id)) != ETH_OK ||
		(rc = get_uint64_field(&f[1], tx->nonce)) != ETH_OK ||
		(rc = get_uint(&f[2], tx->max_priority_fee_per_gas)) != ETH_OK ||
		(rc = get_uint(&f[3], tx->max_fee_per_gas)) != ETH_OK ||
		(rc = get_uint64_field(&f[4], tx->gas)) != ETH_OK ||
		(rc = get_to(&f[5], tx)) != ETH_OK ||
		(rc = get_uint(&f[6], tx->value)) != ETH_OK ||
		(rc = get_data(&f[7], tx)) != ETH_OK ||
		(rc = get_y_parity(&f[9], tx)) != ETH_OK ||
		(rc = get_signature(&f[10], &f[11], tx)) != ETH_OK)
		return rc;
	if (!f[8].is_list)
		return ETH_ERR_RLP(RLP_ERR_EXPECTED_LIST);
	return decode_finish(tx, a, &f[8]);
}

/*
 * EIP-2718 tells the envelopes apart by the first byte: 0xc0 and above
 * opens a legacy RLP list, 0x00..0x7f is a transaction type.  0x80..0xbf
 * would be an RLP byte string, which is no transaction at all.
 */
int
eth_tx_decode(const uint8_t *raw, size_t len, const rlp_allocator *a,
			  eth_tx *out)
{
	int			rc;

	memset(out, 0, sizeof(*out));
	if (len > ETH_TX_MAX_SIZE)
		return ETH_ERR_TOO_LARGE;
	if (len == 0)
		return ETH_ERR_RLP(RLP_ERR_EMPTY_INPUT);

	if (raw[0] >= 0xc0)
		rc = decode_legacy(raw, len, a, out);
	else if (raw[0] == ETH_TX_EIP1559)
		rc = decode_eip1559(raw + 1, len - 1, a, out);
	else if (raw[0] < 0x80)
		rc = ETH_ERR_UNSUPPORTED_TYPE;
	else
		rc = ETH_ERR_RLP(RLP_ERR_EXPECTED_LIST);

	if (rc != ETH_OK)
	{
		eth_tx_free(out, a);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

void
eth_tx_free(eth_tx *tx, const rlp_allocator *a)
{
	if (tx->owned == NULL)
		return;
	ethtx_allocator_or_default(a)->free(tx->owned);
	tx->owned = NULL;
	tx->data = NULL;
	tx->data_len = 0;
	tx->access_list = NULL;
	tx->n_access = 0;
}
