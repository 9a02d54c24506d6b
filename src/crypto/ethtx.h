/*-------------------------------------------------------------------------
 *
 * ethtx.h
 *	  Ethereum transactions (legacy/EIP-155 and EIP-1559) and exact
 *	  uint256 quantities.
 *
 * Encoding: the unsigned signing payload and its Keccak-256 hash, and the
 * signed wire form built from a caller-supplied (recovery id, r, s) as a
 * secp256k1 signer returns them.
 *
 * Decoding: strict.  Only signed legacy transactions (an RLP list of 9)
 * and signed EIP-1559 transactions (0x02 || RLP list of 12) are accepted,
 * every field in its one canonical form, so that decoding and re-encoding
 * with the decoded signature reproduces the input byte for byte.  The
 * signature must be usable as well: r in [1, n-1] and s in [1, n/2] (the
 * EIP-2 low-s rule, without which a signed transaction has two valid
 * encodings), and a legacy v of 27/28 or chainId * 2 + 35/36.  The
 * caller recovers the sender from eth_tx_signing_hash() and the decoded
 * (y_parity, r, s) with secp256k1; this file does no elliptic-curve math.
 *
 * Numbers are 32-byte big-endian arrays (uint256), wide enough for every
 * quantity Ethereum defines; nonce and gas are further limited to 64 bits
 * because every client stores them so.
 *
 * Self-contained C99: depends only on rlp.h, keccak.h and hex.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TPWALLET_ETHTX_H
#define TPWALLET_ETHTX_H

#include <stddef.h>
#include <stdint.h>

#include "rlp.h"

/* Transaction types (EIP-2718 type bytes; legacy has none on the wire). */
#define ETH_TX_LEGACY	0
#define ETH_TX_EIP1559	2

#define ETH_ADDRESS_LEN	20

/* Largest raw transaction eth_tx_decode accepts, in bytes. */
#define ETH_TX_MAX_SIZE		(1024 * 1024)

/* Buffer sizes for the formatters, terminating NUL included. */
#define ETH_UINT256_DECIMAL_LEN		79	/* 2^256-1 has 78 digits */
#define ETH_UINT256_QUANTITY_LEN	67	/* "0x" and up to 64 digits */

/*
 * Error codes.  Failures of the underlying RLP decoder (malformed or
 * non-canonical encoding, trailing bytes, ...) are passed through as
 * ETH_ERR_RLP(rlp_error), so the precise reason survives; eth_strerror
 * gives the message for both kinds.
 */
typedef enum
{
	ETH_OK = 0,
	/* quantities */
	ETH_ERR_INVALID_NUMBER = -1,	/* not 0x-hex and not plain decimal */
	ETH_ERR_NEGATIVE = -2,		/* a '-' in front of a valid number */
	ETH_ERR_OUT_OF_RANGE = -3,	/* above 2^256-1 (or the target width) */
	/* decoding */
	ETH_ERR_TOO_LARGE = -4,		/* input over ETH_TX_MAX_SIZE */
	ETH_ERR_UNSUPPORTED_TYPE = -5,	/* type byte other than 0x02 */
	ETH_ERR_FIELD_COUNT = -6,	/* wrong number of list items */
	ETH_ERR_BAD_TO = -7,		/* recipient neither empty nor 20 bytes */
	ETH_ERR_BAD_ACCESS_ENTRY = -8,	/* entry is not [address, [keys]] */
	ETH_ERR_BAD_ACCESS_ADDRESS = -9,	/* access list address not 20 bytes */
	ETH_ERR_BAD_STORAGE_KEY = -10,	/* storage key not 32 bytes */
	ETH_ERR_UINT64_FIELD = -11, /* nonce or gas wider than 64 bits */
	ETH_ERR_BAD_V = -12,		/* legacy v not 27, 28 or >= 35 */
	ETH_ERR_BAD_Y_PARITY = -13, /* y_parity not 0 or 1 */
	ETH_ERR_BAD_SIGNATURE = -14,	/* r or s zero, too wide or not low-s */
	/* encoding */
	ETH_ERR_BAD_RECOVERY_ID = -15,	/* recovery id not 0 or 1 */
	ETH_ERR_INVALID_TX = -16,	/* inconsistent eth_tx given to encode */
	ETH_ERR_OUT_OF_MEMORY = -17
} eth_error;

/* ETH_ERR_RLP(e) for e in -1 .. -99 is RLP error e seen while decoding. */
#define ETH_ERR_RLP_BASE	(-100)
#define ETH_ERR_RLP(rlp_err)	(ETH_ERR_RLP_BASE + (rlp_err))

/* Static lower-case message for an eth_error or ETH_ERR_RLP code. */
extern const char *eth_strerror(int err);

/* ------------------------------------------------------------- uint256 */

/*
 * Parse len characters of s (no NUL needed) as an exact unsigned 256-bit
 * integer into out32 (big-endian).  Accepted:
 *	  "0x" or "0X" followed by one or more hex digits, either case (JSON-RPC
 *	  QUANTITY, leniently: leading zeros are allowed; "0x" alone is not);
 *	  one or more decimal digits (leading zeros allowed).
 * No sign, whitespace, exponent, fraction or separators.  Returns ETH_OK,
 * ETH_ERR_OUT_OF_RANGE for a well-formed value above 2^256-1,
 * ETH_ERR_NEGATIVE for '-' followed by a well-formed value (even "-0"), and
 * ETH_ERR_INVALID_NUMBER for anything else.  out32 is written only on
 * success.
 */
extern int	eth_uint256_parse(const char *s, size_t len, uint8_t out32[32]);

/* Decimal digits, no leading zeros ("0" for zero), NUL-terminated. */
extern void eth_uint256_to_decimal(const uint8_t v[32],
								   char out[ETH_UINT256_DECIMAL_LEN]);

/* JSON-RPC QUANTITY: "0x", lower-case digits, no leading zeros ("0x0"). */
extern void eth_uint256_to_quantity(const uint8_t v[32],
									char out[ETH_UINT256_QUANTITY_LEN]);

extern void eth_uint256_from_u64(uint64_t value, uint8_t out32[32]);

/* ETH_OK, or ETH_ERR_OUT_OF_RANGE (and *value untouched) above 2^64-1. */
extern int	eth_uint256_to_u64(const uint8_t v[32], uint64_t *value);

/* ---------------------------------------------------------- transactions */

/* One access list entry: an address and the storage keys it pre-warms. */
typedef struct
{
	uint8_t		address[ETH_ADDRESS_LEN];
	size_t		n_keys;
	uint8_t		(*keys)[32];
} eth_access_entry;

/*
 * A transaction.  Zero the struct (memset) and fill in what the type needs:
 *
 *	  legacy:	nonce, gas_price, gas, to, value, data, chain_id
 *	  EIP-1559: chain_id, nonce, max_priority_fee_per_gas, max_fee_per_gas,
 *				gas, to, value, data, access_list
 *
 * Fields the type does not use are ignored by the encoders and left zero
 * by the decoder.  pre_eip155 marks a legacy transaction signed without a
 * chain id (v = 27/28): replayable on every chain, so decoded for the
 * record but never something to produce; a zeroed struct is EIP-155.
 *
 * data and the access list are borrowed when the caller builds the struct.
 * eth_tx_decode instead copies them into one block that it owns (owned);
 * eth_tx_free releases that block and nothing else.
 */
typedef struct
{
	int			type;			/* ETH_TX_LEGACY or ETH_TX_EIP1559 */
	int			pre_eip155;		/* legacy only: no chain id, v = 27/28 */
	uint8_t		chain_id[32];	/* zero when pre_eip155 */
	uint8_t		nonce[32];		/* at most 2^64-1 */
	uint8_t		gas_price[32];	/* legacy */
	uint8_t		max_priority_fee_per_gas[32];	/* EIP-1559 */
	uint8_t		max_fee_per_gas[32];	/* EIP-1559 */
	uint8_t		gas[32];		/* gas limit, at most 2^64-1 */
	int			has_to;			/* 0: contract creation */
	uint8_t		to[ETH_ADDRESS_LEN];
	uint8_t		value[32];
	const uint8_t *data;		/* may be NULL when data_len is 0 */
	size_t		data_len;
	size_t		n_access;		/* EIP-1559 */
	eth_access_entry *access_list;	/* may be NULL when n_access is 0 */

	/*
	 * Signature, set by eth_tx_decode (which only accepts signed
	 * transactions) and ignored by the encoders.  y_parity is the
	 * secp256k1 recovery id for both types: yParity for EIP-1559, derived
	 * from v for legacy; v is kept as decoded (zero for EIP-1559).
	 */
	int			has_signature;
	int			y_parity;
	uint8_t		r[32];
	uint8_t		s[32];
	uint8_t		v[32];

	void	   *owned;			/* block from eth_tx_decode, or NULL */
} eth_tx;

/*
 * The exact bytes that are hashed for signing, in a buffer from allocator
 * a (NULL for malloc) that the caller frees with a->free:
 *	  legacy:			rlp([nonce, gasPrice, gas, to, value, data,
 *						 chainId, 0, 0])		(EIP-155)
 *	  legacy pre_eip155: rlp([nonce, gasPrice, gas, to, value, data])
 *	  EIP-1559:			0x02 || rlp([chainId, nonce, maxPriorityFeePerGas,
 *						 maxFeePerGas, gas, to, value, data, accessList])
 */
extern int	eth_tx_signing_payload(const eth_tx *tx, const rlp_allocator *a,
								   uint8_t **out, size_t *out_len);

/* Keccak-256 of the signing payload: what secp256k1 signs or recovers. */
extern int	eth_tx_signing_hash(const eth_tx *tx, const rlp_allocator *a,
								uint8_t hash[32]);

/*
 * The signed wire form, in a buffer from a (caller frees):
 *	  legacy:	rlp([nonce, gasPrice, gas, to, value, data, v, r, s]) with
 *				v = chainId * 2 + 35 + recovery_id (27 + recovery_id if
 *				pre_eip155), exact in 256 bits: ETH_ERR_OUT_OF_RANGE if v
 *				would not fit
 *	  EIP-1559: 0x02 || rlp([..., accessList, yParity, r, s])
 * r and s are written as minimal integers.  Refuses what eth_tx_decode
 * refuses: recovery_id not 0/1, r or s zero, r >= n, s > n/2 (EIP-2), nonce
 * or gas over 64 bits.
 */
extern int	eth_tx_encode_signed(const eth_tx *tx, int recovery_id,
								 const uint8_t r[32], const uint8_t s[32],
								 const rlp_allocator *a,
								 uint8_t **out, size_t *out_len);

/*
 * Decode a signed transaction.  On success *out describes it and may own
 * one block from a (release with eth_tx_free; the input need not outlive
 * *out).  On failure *out is zeroed and nothing stays allocated.  *out is
 * overwritten either way, so free a previous decode into it first.  The
 * block is at most about three times len.
 */
extern int	eth_tx_decode(const uint8_t *raw, size_t len,
						  const rlp_allocator *a, eth_tx *out);

/* Release what eth_tx_decode allocated; safe on a zeroed or freed struct. */
extern void eth_tx_free(eth_tx *tx, const rlp_allocator *a);

#endif							/* TPWALLET_ETHTX_H */
