#!/usr/bin/env bash
# The HSM for real: SoftHSM2 with its token in the scenario cluster's own
# folder (scripts/cluster.sh sets it up).  Keys made in the HSM sign and
# recover; a wrong PIN, a missing module, a missing token and an HSM that
# is down give clear errors and write nothing; the ledger does not care;
# when the HSM is back, signing works again without a restart.
source "$(dirname "$0")/lib.sh"

cluster_up
DB=tpw_scn_hsm
TOKENS="$TPW_CLUSTER_DIR/softhsm/tokens"
[ -d "$TOKENS" ] || bail "the cluster has a SoftHSM2 token folder" "$TOKENS is missing"

set_guc() {  # set_guc NAME VALUE|DEFAULT: ALTER SYSTEM, reload, wait until a new session sees it
	if [ "$2" = DEFAULT ]; then q postgres "ALTER SYSTEM RESET $1" >/dev/null
	else q postgres "ALTER SYSTEM SET $1 = '$2'" >/dev/null; fi
	q postgres "SELECT pg_reload_conf()" >/dev/null
	local i want; want=$2
	for i in $(seq 1 50); do
		local got; got=$(q postgres "SHOW $1")
		if [ "$want" = DEFAULT ] || [ "$got" = "$want" ]; then break; fi
		sleep 0.1
	done
	sleep 0.2
}
restore_hsm() {
	[ -d "$TOKENS.down" ] && mv "$TOKENS.down" "$TOKENS"
	set_guc tpwallet.pkcs11_pin_file DEFAULT
	set_guc tpwallet.pkcs11_module DEFAULT
	set_guc tpwallet.pkcs11_token DEFAULT
	rm -f "$TPW_CLUSTER_DIR/wrong.pin"
}
restore_hsm
trap 'restore_hsm >/dev/null 2>&1; _cleanup' EXIT

fresh_db "$DB" || bail "fresh database $DB"
addr=$(q "$DB" "SELECT tpwallet.create_key('hsm-a')") || bail "create_key in the HSM"
like "$addr" '^0x[0-9a-fA-F]{40}$' "create_key('hsm-a') makes a key in SoftHSM2 and returns its address"
is "$(q "$DB" "SELECT backend FROM tpwallet.keys WHERE label = 'hsm-a'")" pkcs11 "the key's backend is pkcs11"
is "$(q "$DB" "SELECT tpwallet.ecrecover(tpwallet.keccak256('pay 1'), tpwallet.sign_digest('hsm-a', tpwallet.keccak256('pay 1')))")" \
	"$addr" "a signature from the HSM recovers to the key's address"
is "$(q "$DB" "SELECT tpwallet.verify_signature(public_key, tpwallet.keccak256('pay 1'),
                 set_byte(tpwallet.sign_digest('hsm-a', tpwallet.keccak256('pay 1')), 40, 0))
                FROM tpwallet.keys WHERE label = 'hsm-a'")" f "a signature with one byte changed does not verify"
# 200 signatures: SoftHSM2 returns high s about half the time; none of ours is
is "$(q "$DB" "SELECT count(*) FILTER (WHERE substring(s FROM 33 FOR 32) <= '\\x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0'::bytea
                                        AND tpwallet.ecrecover(d, s) = '$addr')
                 FROM (SELECT d, tpwallet.sign_digest('hsm-a', d) AS s
                         FROM (SELECT tpwallet.keccak256(i::text::bytea) AS d FROM generate_series(1, 200) i) x) y")" \
	200 "200 HSM signatures: all low-s, all recover"
# the private key is on the token, not extractable, not in the database
is "$(q "$DB" "SELECT count(*) FROM tpwallet.key_secrets")" 0 "no sealed secret is stored for an HSM key"
if command -v pkcs11-tool >/dev/null; then
	pin=$(cat "$TPW_CLUSTER_DIR/hsm.pin")
	objs=$(runuser -u postgres -- env SOFTHSM2_CONF="$TPW_CLUSTER_DIR/softhsm/softhsm2.conf" \
		pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label tpwallet --login --pin "$pin" \
		--list-objects --type privkey 2>&1)
	like "$objs" "label: +hsm-a" "pkcs11-tool lists the private key object on the token"
	like "$objs" "never extractable" "the token says the private key was never extractable"
fi

# The ledger runs beside it: a few transfers
for sql in "SELECT tpwallet.create_asset('ETH', 18)" \
	"SELECT tpwallet.create_account('world', 'ops', 'ETH', 'debit', true)" \
	"SELECT tpwallet.create_account('hot', 'ops', 'ETH', 'credit')" \
	"SELECT tpwallet.transfer('world', 'hot', 1.5)"; do
	q "$DB" "$sql" >/dev/null || bail "ledger set up: $sql"
done
logs=$(q "$DB" "SELECT count(*) FROM tpwallet.signature_log")
keys=$(q "$DB" "SELECT count(*) FROM tpwallet.signing_keys")

# ---------------------------------------------------------------- wrong PIN
runuser -u postgres -- sh -c "echo 000000 > '$TPW_CLUSTER_DIR/wrong.pin'"
set_guc tpwallet.pkcs11_pin_file "$TPW_CLUSTER_DIR/wrong.pin"
is "$(sqlstate "$DB" "SELECT tpwallet.sign_digest('hsm-a', tpwallet.keccak256('x'))")" TW011 "wrong PIN: sign_digest fails with TW011"
err=$(q "$DB" "SELECT tpwallet.sign_digest('hsm-a', tpwallet.keccak256('x'))" 2>&1)
like "$err" "CKR_PIN_INCORRECT" "the error names the PKCS#11 reason"
unlike "$err" "000000" "the error does not show the PIN"
is "$(sqlstate "$DB" "SELECT tpwallet.create_key('hsm-b')")" TW011 "wrong PIN: create_key fails with TW011"
set_guc tpwallet.pkcs11_pin_file DEFAULT

# ---------------------------------------------------------------- no module, no token
set_guc tpwallet.pkcs11_module /nonexistent/libpkcs11.so
is "$(sqlstate "$DB" "SELECT tpwallet.sign_digest('hsm-a', tpwallet.keccak256('x'))")" TW010 "missing PKCS#11 module: TW010"
set_guc tpwallet.pkcs11_module DEFAULT
set_guc tpwallet.pkcs11_token no-such-token
is "$(sqlstate "$DB" "SELECT tpwallet.sign_digest('hsm-a', tpwallet.keccak256('x'))")" TW010 "unknown token label: TW010"
set_guc tpwallet.pkcs11_token DEFAULT

# ---------------------------------------------------------------- the HSM goes down
# A session that has signed keeps its HSM session; take the token away and
# open new sessions, as after an HSM restart that lost its tokens.
mv "$TOKENS" "$TOKENS.down"
is "$(sqlstate "$DB" "SELECT tpwallet.sign_digest('hsm-a', tpwallet.keccak256('x'))")" TW010 "HSM down: sign_digest fails with TW010"
is "$(sqlstate "$DB" "SELECT tpwallet.sign_digests('hsm-a', ARRAY[tpwallet.keccak256('x'), tpwallet.keccak256('y')])")" TW010 "HSM down: sign_digests fails with TW010"
is "$(sqlstate "$DB" "SELECT tpwallet.eth_sign_transaction('hsm-a', '{\"chainId\": 1, \"nonce\": 0, \"gasPrice\": 1, \"gas\": 21000}')")" TW010 "HSM down: eth_sign_transaction fails with TW010"
is "$(sqlstate "$DB" "SELECT tpwallet.create_key('hsm-c')")" TW010 "HSM down: create_key fails with TW010"
is "$(q "$DB" "SELECT tpwallet.transfer('hot', 'world', 0.5) > 0")" t "HSM down: the ledger still posts"
is "$(q "$DB" "SELECT octet_length(tpwallet.sign_digest('hsm-a', tpwallet.keccak256('x')))" 2>/dev/null)" "" "HSM down: no signature comes back"
is "$(q "$DB" "SELECT count(*) FROM tpwallet.signature_log")" "$logs" "no signature was logged while the HSM failed"
is "$(q "$DB" "SELECT count(*) FROM tpwallet.signing_keys")" "$keys" "no key row was written while the HSM failed"
mv "$TOKENS.down" "$TOKENS"
is "$(q "$DB" "SELECT tpwallet.ecrecover(tpwallet.keccak256('back'), tpwallet.sign_digest('hsm-a', tpwallet.keccak256('back')))")" \
	"$addr" "HSM back: signing works again, no restart needed"
# A failed import must not leave the private key in the server log (the
# statement text is not logged with import_key's errors).
mark=$(log_mark)
for stmt in "SELECT tpwallet.import_key('hsm-a', '\\x7777777777777777777777777777777777777777777777777777777777777777', 'pkcs11')" \
	"SELECT tpwallet.import_key('bad label', '\\x7777777777777777777777777777777777777777777777777777777777777777', 'local')" \
	"SELECT tpwallet.import_key('short', '\\x77777777777777777777777777777777777777777777777777777777777777', 'local')"; do
	q "$DB" "$stmt" >/dev/null 2>&1 && fail "a bad import is refused: $stmt"
done
sleep 0.5
logged=$(log_since "$mark")
like "$logged" "already exists" "the refused imports are in the server log"
unlike "$logged" "7777777777777777" "but the private key in their statements is not"
check_invariants "$DB" "after the HSM failures"
done_testing
