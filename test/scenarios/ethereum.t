#!/usr/bin/env bash
# Real transactions on a local Ethereum node: anvil (npm package
# @foundry-rs/anvil-linux-amd64, installed by scripts/setup.sh under
# .tools/), on loopback only.  The HSM key's address is funded, an EIP-1559
# and a legacy transfer are signed in SQL, submitted with
# eth_sendRawTransaction, mined, and the balances move by exactly the value
# and the fee.  A local key's transaction goes the same way.
source "$(dirname "$0")/lib.sh"

ANVIL=${TPW_ANVIL:-$TPW_ROOT/.tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil}
[ -x "$ANVIL" ] || skip_all "anvil is not installed (run scripts/setup.sh)"
command -v curl >/dev/null && command -v jq >/dev/null || skip_all "curl and jq are needed"

cluster_up
DB=tpw_scn_ethereum
fresh_db "$DB" || bail "fresh database $DB"

# a free loopback port
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RPC="http://127.0.0.1:$PORT"
bg ANVIL_PID "$ANVIL" --host 127.0.0.1 --port "$PORT" --chain-id 31337 --silent
for i in $(seq 1 100); do
	curl -sf -m 2 -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$RPC" >/dev/null && break
	sleep 0.1
done

rpc() {  # rpc METHOD PARAMS-JSON: prints .result, or fails with .error
	local out
	out=$(curl -sf -m 10 -H 'content-type: application/json' \
		-d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$RPC") || { echo "rpc $1: no answer" >&2; return 1; }
	if [ "$(jq -r '.error // empty' <<<"$out")" != "" ]; then echo "rpc $1: $(jq -c .error <<<"$out")" >&2; return 1; fi
	jq -r '.result | if type == "string" then . else tojson end' <<<"$out"
}
hex_to_dec() { python3 -c "import sys; print(int(sys.argv[1], 16))" "$1"; }

is "$(rpc eth_chainId '[]')" 0x7a69 "anvil runs on loopback with chain id 31337"

HSM_ADDR=$(q "$DB" "SELECT tpwallet.create_key('hot-wallet')") || bail "create_key in the HSM"
LOCAL_ADDR=$(q "$DB" "SELECT tpwallet.create_key('ops-local', 'local')") || bail "create_key local"
TO=0x3535353535353535353535353535353535353535
# fund both: 10 ETH each
rpc anvil_setBalance "[\"$HSM_ADDR\", \"0x8ac7230489e80000\"]" >/dev/null || bail "fund the HSM key"
rpc anvil_setBalance "[\"$LOCAL_ADDR\", \"0x8ac7230489e80000\"]" >/dev/null || bail "fund the local key"
is "$(hex_to_dec "$(rpc eth_getBalance "[\"$HSM_ADDR\", \"latest\"]")")" 10000000000000000000 "the HSM key's address holds 10 ETH"

# send SIGNER TXJSON: sign in SQL, submit, wait for the receipt; sets TXHASH and RECEIPT
send() {
	local raw
	raw=$(q "$DB" "SELECT '0x' || encode(tpwallet.eth_sign_transaction('$1', '$2'), 'hex')") || return 1
	DECODED_HASH=$(q "$DB" "SELECT tpwallet.eth_decode_transaction('\\x${raw#0x}') ->> 'hash'")
	DECODED_FROM=$(q "$DB" "SELECT tpwallet.eth_decode_transaction('\\x${raw#0x}') ->> 'from'")
	TXHASH=$(rpc eth_sendRawTransaction "[\"$raw\"]") || return 1
	local i
	for i in $(seq 1 50); do
		RECEIPT=$(rpc eth_getTransactionReceipt "[\"$TXHASH\"]") && [ "$RECEIPT" != null ] && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- EIP-1559 from the HSM key
to_before=$(hex_to_dec "$(rpc eth_getBalance "[\"$TO\", \"latest\"]")")
from_before=$(hex_to_dec "$(rpc eth_getBalance "[\"$HSM_ADDR\", \"latest\"]")")
nonce=$(rpc eth_getTransactionCount "[\"$HSM_ADDR\", \"pending\"]")
if send hot-wallet "{\"chainId\": 31337, \"nonce\": \"$nonce\", \"maxPriorityFeePerGas\": \"1000000000\",
                     \"maxFeePerGas\": \"100000000000\", \"gas\": 21000, \"to\": \"$TO\", \"value\": \"1250000000000000000\"}"; then
	pass "an EIP-1559 transfer signed by the HSM key is accepted and mined"
else
	fail "an EIP-1559 transfer signed by the HSM key is accepted and mined" "$TXHASH $RECEIPT"
fi
is "$(jq -r .status <<<"$RECEIPT")" 0x1 "its receipt says success"
is "$(jq -r .type <<<"$RECEIPT")" 0x2 "it is a type-2 transaction"
is "$(jq -r .from <<<"$RECEIPT" | tr A-F a-f)" "$(tr A-F a-f <<<"$HSM_ADDR")" "the node recovers the HSM key's address as sender"
is "$DECODED_HASH" "$TXHASH" "eth_decode_transaction's hash is the node's transaction hash"
is "$DECODED_FROM" "$HSM_ADDR" "eth_decode_transaction recovers the same sender"
to_after=$(hex_to_dec "$(rpc eth_getBalance "[\"$TO\", \"latest\"]")")
from_after=$(hex_to_dec "$(rpc eth_getBalance "[\"$HSM_ADDR\", \"latest\"]")")
fee=$(python3 -c "print($(hex_to_dec "$(jq -r .gasUsed <<<"$RECEIPT")") * $(hex_to_dec "$(jq -r .effectiveGasPrice <<<"$RECEIPT")"))")
is "$((to_after - to_before))" 1250000000000000000 "the recipient received exactly 1.25 ETH"
is "$(python3 -c "print($from_before - $from_after)")" "$(python3 -c "print(1250000000000000000 + $fee)")" "the sender paid exactly the value plus gasUsed x effectiveGasPrice"

# ---------------------------------------------------------------- legacy (EIP-155) from the HSM key
nonce=$(rpc eth_getTransactionCount "[\"$HSM_ADDR\", \"pending\"]")
gasprice=$(rpc eth_gasPrice '[]')
if send hot-wallet "{\"chainId\": 31337, \"nonce\": \"$nonce\", \"gasPrice\": \"$gasprice\", \"gas\": 21000,
                     \"to\": \"$TO\", \"value\": \"0x1\"}"; then
	pass "a legacy EIP-155 transfer signed by the HSM key is accepted and mined"
else
	fail "a legacy EIP-155 transfer signed by the HSM key is accepted and mined" "$TXHASH $RECEIPT"
fi
is "$(jq -r .status <<<"$RECEIPT")" 0x1 "its receipt says success"
is "$(jq -r .type <<<"$RECEIPT")" 0x0 "it is a legacy transaction"
is "$(hex_to_dec "$(rpc eth_getBalance "[\"$TO\", \"latest\"]")")" "$((to_after + 1))" "the recipient received 1 wei more"
tx=$(rpc eth_getTransactionByHash "[\"$TXHASH\"]")
is "$(jq -r .v <<<"$tx" | python3 -c 'import sys; v = int(sys.stdin.read(), 16); print(v in (31337 * 2 + 35, 31337 * 2 + 36))')" True \
	"v carries the chain id (EIP-155)"

# ---------------------------------------------------------------- a local key, with calldata and an access list
nonce=$(rpc eth_getTransactionCount "[\"$LOCAL_ADDR\", \"pending\"]")
if send ops-local "{\"chainId\": 31337, \"nonce\": \"$nonce\", \"maxPriorityFeePerGas\": 1, \"maxFeePerGas\": \"100000000000\",
                    \"gas\": 60000, \"to\": \"$TO\", \"value\": \"7\", \"data\": \"0xdeadbeef\",
                    \"accessList\": [{\"address\": \"$TO\", \"storageKeys\": [\"0x0000000000000000000000000000000000000000000000000000000000000001\"]}]}"; then
	pass "a local key's EIP-1559 transaction with data and an access list is mined"
else
	fail "a local key's EIP-1559 transaction with data and an access list is mined" "$TXHASH $RECEIPT"
fi
is "$(jq -r .status <<<"$RECEIPT")" 0x1 "its receipt says success"
tx=$(rpc eth_getTransactionByHash "[\"$TXHASH\"]")
is "$(jq -r .input <<<"$tx")" 0xdeadbeef "the node sees the calldata"
is "$(jq -r '.accessList[0].storageKeys[0]' <<<"$tx")" 0x0000000000000000000000000000000000000000000000000000000000000001 "the node sees the access list"

# a replayed transaction is refused by the node (same nonce)
raw=$(q "$DB" "SELECT '0x' || encode(tpwallet.eth_sign_transaction('hot-wallet', '{\"chainId\": 31337, \"nonce\": 0, \"maxPriorityFeePerGas\": 1, \"maxFeePerGas\": \"100000000000\", \"gas\": 21000, \"to\": \"$TO\"}'), 'hex')")
if rpc eth_sendRawTransaction "[\"$raw\"]" >/dev/null 2>&1; then fail "the node refuses a transaction with a used nonce"
else pass "the node refuses a transaction with a used nonce"; fi
# another chain's id is refused by the node
raw=$(q "$DB" "SELECT '0x' || encode(tpwallet.eth_sign_transaction('hot-wallet', '{\"chainId\": 1, \"nonce\": 5, \"maxPriorityFeePerGas\": 1, \"maxFeePerGas\": \"100000000000\", \"gas\": 21000, \"to\": \"$TO\"}'), 'hex')")
if rpc eth_sendRawTransaction "[\"$raw\"]" >/dev/null 2>&1; then fail "the node refuses a transaction for another chain"
else pass "the node refuses a transaction for another chain (replay protection)"; fi

is "$(q "$DB" "SELECT count(*) FROM tpwallet.signatures WHERE purpose = 'eth_transaction'")" 5 "every signed transaction is in the signature log"
done_testing
