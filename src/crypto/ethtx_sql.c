/*
 * ethtx_sql.c
 *	  eth_sign_transaction(label, tx jsonb) and eth_decode_transaction(raw).
 *
 * The jsonb form uses Ethereum JSON-RPC's field names (type, chainId,
 * nonce, to, value, data, gas, gasPrice, maxFeePerGas,
 * maxPriorityFeePerGas, accessList).  Quantities are "0x" hex strings,
 * decimal strings or JSON integers, exact up to 2^256 - 1.  Unknown fields
 * are refused rather than ignored: a misspelt "gasprice" must not sign a
 * transaction with a zero gas price.  A mixed-case "to" must carry a valid
 * EIP-55 checksum, so that a mistyped address is caught before signing.
 */
#include "postgres.h"

#include "crypto/crypto_pg.h"
#include "crypto/ethtx.h"
#include "crypto/hex.h"
#include "crypto/keccak.h"
#include "crypto/secp.h"
#include "keys/keystore.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

/* Which fields a parsed transaction object had. */
typedef struct TxFields
{
	bool		type,
				chain_id,
				nonce,
				gas,
				gas_price,
				max_fee,
				max_priority,
				to,
				value,
				data,
				access_list,
				from;
	uint8		from_address[20];	/* checked against the signing key */
} TxFields;

static void
tx_error(const char *field, const char *msg)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid transaction field \"%s\": %s", field, msg),
			 errhint("Use JSON-RPC names and forms: quantities as \"0x\" hex, decimal strings or integers; addresses and data as \"0x\" hex.")));
}

static char *
json_string(const char *field, JsonbValue *v)
{
	if (v->type != jbvString)
		tx_error(field, "expected a string");
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* A quantity: "0x" hex, decimal string, or a non-negative JSON integer. */
static void
parse_quantity(const char *field, JsonbValue *v, uint8 out[32])
{
	char	   *s;
	int			rc;

	if (v->type == jbvNumeric)
	{
		s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		if (strchr(s, '.') != NULL)
		{
			/* 21000.0 is an integer; 1.5 is not */
			size_t		dot = strcspn(s, ".");

			if (strspn(s + dot + 1, "0") != strlen(s + dot + 1))
				tx_error(field, "a quantity must be an integer (in wei, or gas units)");
			s[dot] = '\0';
		}
	}
	else if (v->type == jbvString)
		s = json_string(field, v);
	else
	{
		tx_error(field, "expected a quantity (string or integer)");
		return;
	}
	rc = eth_uint256_parse(s, strlen(s), out);
	if (rc == ETH_ERR_NEGATIVE || rc == ETH_ERR_OUT_OF_RANGE)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("transaction field \"%s\" is out of range: %s", field, s),
				 errdetail("Quantities are integers from 0 to 2^256 - 1.")));
	if (rc != ETH_OK)
		tx_error(field, psprintf("\"%s\" is not a quantity", s));
}

static uint8 *
parse_hex_bytes(const char *field, JsonbValue *v, size_t *len)
{
	char	   *s = json_string(field, v);
	size_t		n = strlen(s);
	uint8	   *out = palloc(n / 2 + 1);
	int			rc;

	if (n < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		tx_error(field, "expected \"0x\" and hex digits");
	rc = tp_hex_decode(s, n, out, n / 2 + 1, len);
	if (rc != HEX_OK)
		tx_error(field, tp_hex_strerror(rc));
	return out;
}

/* 20 bytes; a mixed-case spelling must match its EIP-55 checksum. */
static void
parse_address(const char *field, JsonbValue *v, uint8 out[20])
{
	size_t		len;
	uint8	   *bytes = parse_hex_bytes(field, v, &len);
	const char *s = v->val.string.val + 2;
	bool		has_lower = false,
				has_upper = false;

	if (len != 20)
		tx_error(field, psprintf("an address has 20 bytes, not %zu", len));
	for (int i = 0; i < 40; i++)
	{
		has_lower |= (s[i] >= 'a' && s[i] <= 'f');
		has_upper |= (s[i] >= 'A' && s[i] <= 'F');
	}
	if (has_lower && has_upper)
	{
		char		good[43];

		tpw_eth_address_checksummed(bytes, good);
		if (memcmp(good + 2, s, 40) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("transaction field \"%s\" has a bad EIP-55 checksum", field),
					 errdetail("The checksummed spelling of this address is %s.", good),
					 errhint("Check the address: a mixed-case address that fails its checksum is usually mistyped.")));
	}
	memcpy(out, bytes, 20);
}

static void
parse_access_list(JsonbValue *v, eth_tx *tx)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	e;
	int			cap;

	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		tx_error("accessList", "expected an array of {\"address\", \"storageKeys\"}");
	cap = JsonContainerSize(v->val.binary.data);
	tx->access_list = palloc0(sizeof(eth_access_entry) * Max(cap, 1));
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		eth_access_entry *entry;
		JsonbValue *addr,
				   *keys;

		if (tok != WJB_ELEM)
			continue;
		if (e.type != jbvBinary || !JsonContainerIsObject(e.val.binary.data))
			tx_error("accessList", "each entry must be an object");
		entry = &tx->access_list[tx->n_access++];
		addr = getKeyJsonValueFromContainer(e.val.binary.data, "address", 7, NULL);
		keys = getKeyJsonValueFromContainer(e.val.binary.data, "storageKeys", 11, NULL);
		if (addr == NULL || keys == NULL || JsonContainerSize(e.val.binary.data) != 2)
			tx_error("accessList", "each entry has exactly \"address\" and \"storageKeys\"");
		parse_address("accessList.address", addr, entry->address);
		if (keys->type != jbvBinary || !JsonContainerIsArray(keys->val.binary.data))
			tx_error("accessList.storageKeys", "expected an array");
		entry->keys = palloc(32 * (size_t) Max(JsonContainerSize(keys->val.binary.data), 1));
		{
			JsonbIterator *kit = JsonbIteratorInit(keys->val.binary.data);
			JsonbValue	k;

			while ((tok = JsonbIteratorNext(&kit, &k, true)) != WJB_DONE)
			{
				size_t		len;
				uint8	   *bytes;

				if (tok != WJB_ELEM)
					continue;
				bytes = parse_hex_bytes("accessList.storageKeys", &k, &len);
				if (len != 32)
					tx_error("accessList.storageKeys", psprintf("a storage key has 32 bytes, not %zu", len));
				memcpy(entry->keys[entry->n_keys++], bytes, 32);
			}
		}
	}
}

static void
parse_field(const char *key, JsonbValue *v, eth_tx *tx, TxFields *seen)
{
#define FIELD(name, flag) (strcmp(key, name) == 0 && (seen->flag ? (tx_error(name, "given twice"), true) : (seen->flag = true)))
	if (FIELD("type", type))
	{
		uint8		t[32];
		uint64		type;

		parse_quantity("type", v, t);
		if (eth_uint256_to_u64(t, &type) != ETH_OK || (type != 0 && type != 2))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("unsupported transaction type"),
					 errhint("tpwallet signs legacy (type 0, with EIP-155) and EIP-1559 (type 2) transactions.")));
		tx->type = (int) type;
	}
	else if (FIELD("chainId", chain_id))
		parse_quantity("chainId", v, tx->chain_id);
	else if (FIELD("nonce", nonce))
		parse_quantity("nonce", v, tx->nonce);
	else if (FIELD("gas", gas) || FIELD("gasLimit", gas))
		parse_quantity(key, v, tx->gas);
	else if (FIELD("gasPrice", gas_price))
		parse_quantity("gasPrice", v, tx->gas_price);
	else if (FIELD("maxFeePerGas", max_fee))
		parse_quantity("maxFeePerGas", v, tx->max_fee_per_gas);
	else if (FIELD("maxPriorityFeePerGas", max_priority))
		parse_quantity("maxPriorityFeePerGas", v, tx->max_priority_fee_per_gas);
	else if (FIELD("value", value))
		parse_quantity("value", v, tx->value);
	else if (FIELD("to", to))
	{
		/* null or absent: contract creation */
		if (v->type != jbvNull)
		{
			parse_address("to", v, tx->to);
			tx->has_to = 1;
		}
	}
	else if (FIELD("data", data) || FIELD("input", data))
		tx->data = parse_hex_bytes(key, v, &tx->data_len);
	else if (FIELD("accessList", access_list))
		parse_access_list(v, tx);
	else if (FIELD("from", from))
		parse_address("from", v, seen->from_address);
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown transaction field \"%s\"", key),
				 errhint("Fields: type, chainId, nonce, to, value, data (or input), gas (or gasLimit), gasPrice, maxFeePerGas, maxPriorityFeePerGas, accessList, and from (checked against the key).")));
#undef FIELD
}

static bool
is_zero(const uint8 v[32])
{
	for (int i = 0; i < 32; i++)
		if (v[i])
			return false;
	return true;
}

static void
require(bool present, const char *field, const char *why)
{
	if (!present)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("transaction field \"%s\" is required %s", field, why)));
}

static void
parse_transaction(Jsonb *jb, eth_tx *tx, TxFields *out)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	k,
				v;
	TxFields	seen = {0};

	memset(tx, 0, sizeof(*tx));
	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a transaction must be a JSON object")));
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		parse_field(key, &v, tx, &seen);
	}
	if (!seen.type)
		tx->type = seen.max_fee ? ETH_TX_EIP1559 : ETH_TX_LEGACY;

	require(seen.chain_id, "chainId", "(replay protection: EIP-155 / EIP-1559)");
	if (is_zero(tx->chain_id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("chain id 0 is not a chain"),
				 errhint("Use the network's chain id, e.g. 1 for Ethereum mainnet, 31337 for a local anvil node.")));
	require(seen.nonce, "nonce", "(the sender's transaction count)");
	require(seen.gas, "gas", "(the gas limit)");
	if (tx->type == ETH_TX_LEGACY)
	{
		require(seen.gas_price, "gasPrice", "for a legacy transaction");
		if (seen.max_fee || seen.max_priority || seen.access_list)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a legacy transaction has no maxFeePerGas, maxPriorityFeePerGas or accessList"),
					 errhint("Leave out \"type\" (or set it to 2) for an EIP-1559 transaction.")));
	}
	else
	{
		require(seen.max_fee, "maxFeePerGas", "for an EIP-1559 transaction");
		require(seen.max_priority, "maxPriorityFeePerGas", "for an EIP-1559 transaction");
		if (seen.gas_price)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("an EIP-1559 transaction has no gasPrice"),
					 errhint("Give maxFeePerGas and maxPriorityFeePerGas instead.")));
		if (memcmp(tx->max_priority_fee_per_gas, tx->max_fee_per_gas, 32) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("maxPriorityFeePerGas is above maxFeePerGas"),
					 errdetail("Nodes reject such a transaction.")));
	}
	*out = seen;
}

static void
eth_check(int rc, const char *what)
{
	if (rc == ETH_OK)
		return;
	ereport(ERROR,
			(errcode(rc == ETH_ERR_OUT_OF_RANGE || rc == ETH_ERR_UINT64_FIELD ?
					 ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE : ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("could not %s the transaction: %s", what, eth_strerror(rc))));
}

PG_FUNCTION_INFO_V1(tpwallet_eth_sign_transaction);

Datum
tpwallet_eth_sign_transaction(PG_FUNCTION_ARGS)
{
	char	   *label = text_to_cstring(PG_GETARG_TEXT_PP(0));
	eth_tx		tx;
	uint8		hash[32];
	uint8		sig[TPW_SIGNATURE_LEN];
	uint8	   *raw;
	size_t		rawlen;
	TpwKey		key;
	TxFields	fields;
	bytea	   *result;

	parse_transaction(PG_GETARG_JSONB_P(1), &tx, &fields);
	eth_check(eth_tx_signing_hash(&tx, &tpw_palloc_allocator, hash), "hash");

	SPI_connect();
	tpw_key_lookup(label, &key);
	if (fields.from)
	{
		uint8		addr[20];

		tpw_eth_address_bytes(&key.pub, addr);
		if (memcmp(addr, fields.from_address, 20) != 0)
		{
			char		want[43],
						got[43];

			tpw_eth_address_checksummed(fields.from_address, want);
			tpw_eth_address_checksummed(addr, got);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the transaction is from %s, but key \"%s\" signs as %s", want, label, got),
					 errhint("Leave out \"from\", or sign with the key of that address.")));
		}
	}
	tpw_key_sign(&key, 1, hash, sig);
	tpw_log_signatures(&key, "eth_transaction", 1, hash, sig, TPW_SIGNATURE_LEN);
	SPI_finish();

	eth_check(eth_tx_encode_signed(&tx, sig[64] - 27, sig, sig + 32, &tpw_palloc_allocator,
								   &raw, &rawlen), "encode");
	result = tpw_bytea_from(raw, rawlen);
	PG_RETURN_BYTEA_P(result);
}

/* ---------------------------------------------------------------- decoding */

static void
push_string(JsonbParseState **st, const char *key, const char *val)
{
	JsonbValue	k,
				v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
	if (val == NULL)
		v.type = jbvNull;
	else
	{
		/* pushJsonbValue keeps the pointer: the value must outlive the call */
		v.type = jbvString;
		v.val.string.val = pstrdup(val);
		v.val.string.len = strlen(val);
	}
	pushJsonbValue(st, WJB_VALUE, &v);
}

static void
push_quantity(JsonbParseState **st, const char *key, const uint8 v[32])
{
	char		q[ETH_UINT256_QUANTITY_LEN];

	eth_uint256_to_quantity(v, q);
	push_string(st, key, q);
}

static char *
address_string(const uint8 addr[20])
{
	char	   *s = palloc(43);

	tpw_eth_address_checksummed(addr, s);
	return s;
}

static void
push_access_list(JsonbParseState **st, const eth_tx *tx)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = "accessList";
	k.val.string.len = strlen("accessList");
	pushJsonbValue(st, WJB_KEY, &k);
	pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
	for (size_t i = 0; i < tx->n_access; i++)
	{
		const eth_access_entry *e = &tx->access_list[i];

		pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
		push_string(st, "address", address_string(e->address));
		k.val.string.val = "storageKeys";
		k.val.string.len = strlen("storageKeys");
		pushJsonbValue(st, WJB_KEY, &k);
		pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
		for (size_t j = 0; j < e->n_keys; j++)
		{
			JsonbValue	v;

			v.type = jbvString;
			v.val.string.val = tpw_hex0x(e->keys[j], 32);
			v.val.string.len = 66;
			pushJsonbValue(st, WJB_ELEM, &v);
		}
		pushJsonbValue(st, WJB_END_ARRAY, NULL);
		pushJsonbValue(st, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(st, WJB_END_ARRAY, NULL);
}

PG_FUNCTION_INFO_V1(tpwallet_eth_decode_transaction);

Datum
tpwallet_eth_decode_transaction(PG_FUNCTION_ARGS)
{
	bytea	   *raw = PG_GETARG_BYTEA_PP(0);
	eth_tx		tx;
	JsonbParseState *st = NULL;
	uint8		hash[32],
				txhash[32],
				sig[TPW_SIGNATURE_LEN],
				zero[32] = {0};
	secp256k1_pubkey pub;
	uint8		from[20];
	int			rc;

	rc = eth_tx_decode(TPW_BYTEA_PTR(raw), TPW_BYTEA_LEN(raw), &tpw_palloc_allocator, &tx);
	if (rc != ETH_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid signed transaction: %s", eth_strerror(rc)),
				 errhint("Pass the raw bytes as sent with eth_sendRawTransaction: a legacy RLP list or 0x02 || RLP.")));
	eth_check(eth_tx_signing_hash(&tx, &tpw_palloc_allocator, hash), "hash");
	keccak256(TPW_BYTEA_PTR(raw), TPW_BYTEA_LEN(raw), txhash);
	memcpy(sig, tx.r, 32);
	memcpy(sig + 32, tx.s, 32);
	sig[64] = (uint8) tx.y_parity;
	if (!tpw_secp_recover(hash, sig, &pub))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("the transaction's signature does not recover a sender")));
	tpw_eth_address_bytes(&pub, from);

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	push_string(&st, "type", tx.type == ETH_TX_EIP1559 ? "0x2" : "0x0");
	if (tx.pre_eip155)
		push_string(&st, "chainId", NULL);
	else
		push_quantity(&st, "chainId", tx.chain_id);
	push_quantity(&st, "nonce", tx.nonce);
	if (tx.type == ETH_TX_EIP1559)
	{
		push_quantity(&st, "maxPriorityFeePerGas", tx.max_priority_fee_per_gas);
		push_quantity(&st, "maxFeePerGas", tx.max_fee_per_gas);
	}
	else
		push_quantity(&st, "gasPrice", tx.gas_price);
	push_quantity(&st, "gas", tx.gas);
	push_string(&st, "to", tx.has_to ? address_string(tx.to) : NULL);
	push_quantity(&st, "value", tx.value);
	push_string(&st, "data", tpw_hex0x(tx.data, tx.data_len));
	if (tx.type == ETH_TX_EIP1559)
		push_access_list(&st, &tx);
	push_quantity(&st, "v", tx.type == ETH_TX_EIP1559 ? (zero[31] = (uint8) tx.y_parity, zero) : tx.v);
	push_quantity(&st, "r", tx.r);
	push_quantity(&st, "s", tx.s);
	push_string(&st, "yParity", tx.y_parity ? "0x1" : "0x0");
	push_string(&st, "hash", tpw_hex0x(txhash, 32));
	push_string(&st, "signingHash", tpw_hex0x(hash, 32));
	push_string(&st, "from", address_string(from));
	PG_RETURN_JSONB_P(JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL)));
}
