/*-------------------------------------------------------------------------
 *
 * ethtx_encode.c
 *	  Ethereum transaction encoding: the unsigned signing payload and its
 *	  Keccak-256 hash, and the signed wire form (see ethtx.h).
 *
 * Every multi-step encoder relies on rlp_buf's sticky errors: appends are
 * not checked one by one, rlp_buf_finish reports the first failure.
 *
 *-------------------------------------------------------------------------
 */
#include "ethtx_internal.h"

#include <string.h>

#include "keccak.h"

/* -------------------------------------------------------------- checks */

static int
check_access_list(const eth_tx *tx)
{
	size_t		i;

	if (tx->n_access > 0 && tx->access_list == NULL)
		return ETH_ERR_INVALID_TX;
	for (i = 0; i < tx->n_access; i++)
		if (tx->access_list[i].n_keys > 0 && tx->access_list[i].keys == NULL)
			return ETH_ERR_INVALID_TX;
	return ETH_OK;
}

/* What every encoder needs of a caller-built transaction. */
static int
check_tx(const eth_tx *tx)
{
	if (tx->type != ETH_TX_LEGACY && tx->type != ETH_TX_EIP1559)
		return ETH_ERR_INVALID_TX;
	if (tx->pre_eip155 &&
		(tx->type != ETH_TX_LEGACY || !ethtx_u256_is_zero(tx->chain_id)))
		return ETH_ERR_INVALID_TX;
	if (tx->data_len > 0 && tx->data == NULL)
		return ETH_ERR_INVALID_TX;
	if (!ethtx_fits_u64(tx->nonce) || !ethtx_fits_u64(tx->gas))
		return ETH_ERR_UINT64_FIELD;
	if (tx->type == ETH_TX_EIP1559)
		return check_access_list(tx);
	return ETH_OK;
}

/* ------------------------------------------------------------- encoding */

static void
append_u256(rlp_buf *b, const uint8_t v[U256_LEN])
{
	rlp_append_uint(b, v, U256_LEN);
}

static void
append_access_list(rlp_buf *b, const eth_tx *tx)
{
	size_t		i;
	size_t		k;

	rlp_list_begin(b);
	for (i = 0; i < tx->n_access; i++)
	{
		const eth_access_entry *e = &tx->access_list[i];

		rlp_list_begin(b);
		rlp_append_bytes(b, e->address, ETH_ADDRESS_LEN);
		rlp_list_begin(b);
		for (k = 0; k < e->n_keys; k++)
			rlp_append_bytes(b, e->keys[k], U256_LEN);
		rlp_list_end(b);
		rlp_list_end(b);
	}
	rlp_list_end(b);
}

/*
 * Open the transaction and write the fields that the signing payload and
 * the signed form share, in the type's order.
 */
static void
append_tx_fields(rlp_buf *b, const eth_tx *tx)
{
	/* EIP-2718: the type byte comes before, not inside, the RLP list */
	if (tx->type == ETH_TX_EIP1559)
	{
		uint8_t		type_byte = ETH_TX_EIP1559;

		rlp_append_raw(b, &type_byte, 1);
	}
	rlp_list_begin(b);
	if (tx->type == ETH_TX_EIP1559)
	{
		append_u256(b, tx->chain_id);
		append_u256(b, tx->nonce);
		append_u256(b, tx->max_priority_fee_per_gas);
		append_u256(b, tx->max_fee_per_gas);
	}
	else
	{
		append_u256(b, tx->nonce);
		append_u256(b, tx->gas_price);
	}
	append_u256(b, tx->gas);
	rlp_append_bytes(b, tx->to, tx->has_to ? ETH_ADDRESS_LEN : 0);
	append_u256(b, tx->value);
	rlp_append_bytes(b, tx->data, tx->data_len);
	if (tx->type == ETH_TX_EIP1559)
		append_access_list(b, tx);
}

/* Close the list, hand the bytes to the caller or free them on error. */
static int
finish_tx(rlp_buf *b, uint8_t **out, size_t *out_len)
{
	int			rc;

	rlp_list_end(b);
	rc = rlp_buf_finish(b);
	if (rc != RLP_OK)
	{
		rlp_buf_free(b);
		if (rc == RLP_ERR_OUT_OF_MEMORY)
			return ETH_ERR_OUT_OF_MEMORY;
		return rc == RLP_ERR_TOO_LARGE ? ETH_ERR_TOO_LARGE : ETH_ERR_RLP(rc);
	}
	*out = b->data;
	*out_len = b->len;
	return ETH_OK;
}

int
eth_tx_signing_payload(const eth_tx *tx, const rlp_allocator *a,
					   uint8_t **out, size_t *out_len)
{
	rlp_buf		b;
	int			rc = check_tx(tx);

	if (rc != ETH_OK)
		return rc;
	rlp_buf_init(&b, a);
	append_tx_fields(&b, tx);
	if (tx->type == ETH_TX_LEGACY && !tx->pre_eip155)
	{
		/* EIP-155: chainId, 0, 0 stand where v, r, s will go */
		append_u256(&b, tx->chain_id);
		rlp_append_uint64(&b, 0);
		rlp_append_uint64(&b, 0);
	}
	return finish_tx(&b, out, out_len);
}

int
eth_tx_signing_hash(const eth_tx *tx, const rlp_allocator *a,
					uint8_t hash[32])
{
	uint8_t    *payload;
	size_t		len;
	int			rc = eth_tx_signing_payload(tx, a, &payload, &len);

	if (rc != ETH_OK)
		return rc;
	keccak256(payload, len, hash);
	ethtx_allocator_or_default(a)->free(payload);
	return ETH_OK;
}

/* Legacy v, exactly: chainId may be any uint256, so v may not fit. */
static int
legacy_v(const eth_tx *tx, int recovery_id, uint8_t v[U256_LEN])
{
	if (tx->pre_eip155)
	{
		eth_uint256_from_u64((uint64_t) (V_PRE_EIP155 + recovery_id), v);
		return ETH_OK;
	}
	memcpy(v, tx->chain_id, U256_LEN);
	if (ethtx_u256_mul_add_small(v, 2,
								 (unsigned) (V_EIP155_BASE + recovery_id)))
		return ETH_ERR_OUT_OF_RANGE;
	return ETH_OK;
}

int
eth_tx_encode_signed(const eth_tx *tx, int recovery_id,
					 const uint8_t r[32], const uint8_t s[32],
					 const rlp_allocator *a, uint8_t **out, size_t *out_len)
{
	uint8_t		v[U256_LEN];
	rlp_buf		b;
	int			rc;

	if (recovery_id != 0 && recovery_id != 1)
		return ETH_ERR_BAD_RECOVERY_ID;
	if ((rc = check_tx(tx)) != ETH_OK ||
		(rc = ethtx_check_signature(r, s)) != ETH_OK)
		return rc;
	if (tx->type == ETH_TX_LEGACY &&
		(rc = legacy_v(tx, recovery_id, v)) != ETH_OK)
		return rc;

	rlp_buf_init(&b, a);
	append_tx_fields(&b, tx);
	if (tx->type == ETH_TX_LEGACY)
		append_u256(&b, v);
	else
		rlp_append_uint64(&b, (uint64_t) recovery_id);
	append_u256(&b, r);
	append_u256(&b, s);
	return finish_tx(&b, out, out_len);
}
