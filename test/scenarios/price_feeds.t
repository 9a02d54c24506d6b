#!/usr/bin/env bash
# The price feed worker against real parts, all on 127.0.0.1: a local HTTP
# price API (test/scenarios/price/feed_server.py, with a failing, a slow, a
# non-JSON, a non-UTF-8 and an oversized path) and a local Ethereum node
# (anvil) with a Chainlink-style aggregator and a Uniswap-v2-style pair
# (hand-assembled mocks, test/scenarios/price/evm_mock.py).  Ticks arrive
# at the sources' rate with the exact prices, the aggregate follows changed
# prices, listeners hear of it within a second, a slow source delays no
# other, failures are recorded and back off, and the worker survives all of
# it, a SIGHUP, a SIGTERM (the postmaster restarts it) and a dropped and
# re-created extension.
source "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
ANVIL=${TPW_ANVIL:-$TPW_ROOT/.tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil}
command -v python3 >/dev/null && command -v curl >/dev/null && command -v jq >/dev/null ||
	skip_all "python3, curl and jq are needed"

cluster_up
# Sources left enabled would have the worker poll servers that are gone (and other scenarios reset the extension).
disable_sources() {
	q "$1" "DO \$\$ BEGIN PERFORM tpwallet.set_price_source_enabled(name, false) FROM tpwallet.price_sources WHERE enabled; END \$\$" \
		>/dev/null 2>&1 || true
}
disable_sources "$(q postgres "SHOW tpwallet.database")"
DB=$(reset_tpwallet_db) || bail "reset the extension in the workers' database"
WORK=$(mktemp -d /tmp/tpw-scn-prices.XXXXXX)
trap '_cleanup; disable_sources "$DB"; rm -rf "$WORK"' EXIT

now() { date +%s.%N; }
# ms_since T0: milliseconds from T0 (a `now`) to now
ms_since() { python3 -c "import sys, time; print(round((time.time() - float(sys.argv[1])) * 1000))" "$1"; }

# wait_for SECONDS SQL EXPECTED: poll until SQL prints EXPECTED; WAITED_MS says how long it took
wait_for() {
	local t0 i got
	t0=$(now)
	for ((i = 0; i < $1 * 20; i++)); do
		got=$(q "$DB" "$2" 2>/dev/null)
		if [ "$got" == "$3" ]; then WAITED_MS=$(ms_since "$t0"); return 0; fi
		sleep 0.05
	done
	WAITED_MS=$(ms_since "$t0")
	WAIT_GOT=$got
	return 1
}

worker_pid() { q postgres "SELECT pid FROM pg_stat_activity WHERE backend_type = 'tpwallet price feeds'"; }
ticks() { q "$DB" "SELECT count(*) FROM tpwallet.price_ticks k JOIN tpwallet.price_sources s ON s.id = k.source_id WHERE s.name = '$1'"; }
# add NAME KIND PAIR-BASE PAIR-QUOTE ENDPOINT EXTRACT [EXTRA-ARGS]: a source polled every 200 ms
add() {
	q "$DB" "SELECT tpwallet.add_price_source('$1', '$2', '$3', '$4', '$5', ${6:-NULL}, poll_interval => '200 ms'${7:+, $7})" >/dev/null
}
# put NAME JSON: replace a served file at once (a reader never sees half of it)
put() { printf '%s\n' "$2" >"$WORK/$1.tmp" && mv "$WORK/$1.tmp" "$WORK/$1"; }

# ---------------------------------------------------------------- the servers
put a.json '{"data": {"last": "65000.5"}}'
put b.json '{"price": 65010}'
put c.json '{"result": {"XXBTZUSD": {"c": ["65005.25", "0.01"]}}}'
put missing.json '{"other": 1}'
bg HTTP_PID python3 "$HERE/price/feed_server.py" "$WORK" "$WORK/http.port"
for i in $(seq 1 100); do [ -s "$WORK/http.port" ] && break; sleep 0.05; done
[ -s "$WORK/http.port" ] || bail "the price API starts"
API="http://127.0.0.1:$(cat "$WORK/http.port")"

# anvil starts in the background meanwhile; it is needed further down
HAVE_ANVIL=no
if [ -x "$ANVIL" ]; then
	RPC_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	RPC="http://127.0.0.1:$RPC_PORT"
	bg ANVIL_PID "$ANVIL" --host 127.0.0.1 --port "$RPC_PORT" --chain-id 31337 --silent
	HAVE_ANVIL=yes
fi

# ---------------------------------------------------------------- ticks from HTTP sources
add ex-a http_json BTC USD "$API/files/a.json" "'\$.data.last'"
add ex-b http_json BTC USD "$API/files/b.json" "'\$.price'"
add ex-c http_json BTC USD "$API/files/c.json" "'\$.result.XXBTZUSD.c[0]'"
# After reset_tpwallet_db a running worker restarts (bgw_restart_time 5 s) to drop per-process state.
if wait_for 15 "SELECT count(DISTINCT source_id) FROM tpwallet.price_ticks" 3; then
	pass "ticks arrive from all three HTTP sources (after $WAITED_MS ms)"
else
	bail "ticks arrive from all three HTTP sources" "sources with ticks: $WAIT_GOT; $(log_since 0 | grep -i 'price feeds' | tail -5)"
fi
PID=$(worker_pid)
like "$PID" '^[0-9]+$' "the worker runs (pg_stat_activity backend_type 'tpwallet price feeds')"
MARK=$(log_mark)
is "$(q "$DB" "SELECT string_agg(DISTINCT s.name || '=' || k.price::float8, ' ' ORDER BY s.name || '=' || k.price::float8)
                FROM tpwallet.price_ticks k JOIN tpwallet.price_sources s ON s.id = k.source_id")" \
	"ex-a=65000.5 ex-b=65010 ex-c=65005.25" "each source's tick has the price at its JSON path"
is "$(q "$DB" "SELECT price = 65005.25 FROM tpwallet.price_ticks k JOIN tpwallet.price_sources s ON s.id = k.source_id
                WHERE s.name = 'ex-c' LIMIT 1")" t "a price in a JSON string is exact (numeric, no float)"
if wait_for 3 "SELECT price::float8 || ' ' || status || ' ' || sources_used FROM tpwallet.price_info('BTC', 'USD')" "65005.25 ok 3"; then
	pass "price_info('BTC', 'USD') is the median of the three, status ok"
else
	fail "price_info('BTC', 'USD') is the median of the three, status ok" "$WAIT_GOT"
fi
is "$(q "$DB" "SELECT count(*) FROM tpwallet._shm_prices() WHERE base = 'BTC' AND quote = 'USD'")" 1 \
	"the aggregate is served from shared memory"
like "$(grep -m1 ' /files/a.json ' "$WORK/requests.log")" '^GET /files/a\.json tpwallet/0\.1$' "polls are GETs with User-Agent tpwallet/0.1"

# rate: 200 ms each; never faster, and no source left behind
declare -A before
for s in ex-a ex-b ex-c; do before[$s]=$(ticks $s); done
sleep 2
rates=""
for s in ex-a ex-b ex-c; do
	n=$(($(ticks $s) - ${before[$s]}))
	rates+="$s=$n "
	cmp_ok "$n" -ge 7 "$s ticks at its 200 ms rate (got $n in 2 s)"
	cmp_ok "$n" -le 12 "$s is not polled faster than every 200 ms"
done
note "ticks in 2 s: $rates"

# ---------------------------------------------------------------- prices follow, listeners hear it
LISTEN_OUT="$WORK/listen.out"
listener() {
	{
		echo "LISTEN tpwallet_price;"
		while :; do
			echo "SELECT 'T ' || extract(epoch FROM clock_timestamp());"
			sleep 0.02
		done
	} | "$PGBIN/psql" -X -qAt -d "$DB" >"$LISTEN_OUT" 2>&1
}
bg LISTENER_PID listener
for i in $(seq 1 50); do grep -q '^T ' "$LISTEN_OUT" 2>/dev/null && break; sleep 0.05; done
sleep 0.3
t_change=$(now)
put a.json '{"data": {"last": "65100.5"}}'
put b.json '{"price": 65110}'
put c.json '{"result": {"XXBTZUSD": {"c": ["65105.25", "0.01"]}}}'
if wait_for 3 "SELECT price::float8 || ' ' || status FROM tpwallet.price_info('BTC', 'USD')" "65105.25 ok"; then
	pass "the aggregate follows the changed prices (price_info after $WAITED_MS ms)"
else
	fail "the aggregate follows the changed prices" "$WAIT_GOT"
fi
sleep 0.3
# The first aggregate serving the new median, and the listener's clock reading
# that came back with (just before) its notification.
agg_at=$(q "$DB" "SELECT extract(epoch FROM min(computed_at)) FROM tpwallet.price_aggregates
                   WHERE base = 'BTC' AND quote = 'USD' AND price = 65105.25")
tick_at=$(q "$DB" "SELECT extract(epoch FROM max(k.received_at)) FROM tpwallet.price_ticks k
                    JOIN tpwallet.price_sources s ON s.id = k.source_id
                   WHERE s.base = 'BTC' AND k.received_at <= to_timestamp($agg_at)")
heard_at=$(awk '/^T / { t = $2 } /Asynchronous notification "tpwallet_price".*"price" : "65105.25/ { print t; exit }' "$LISTEN_OUT")
if [ -n "$heard_at" ] && [ -n "$agg_at" ]; then
	notify_ms=$(python3 -c "import sys; print(round((float(sys.argv[1]) - float(sys.argv[2])) * 1000))" "$heard_at" "$tick_at")
	change_ms=$(python3 -c "import sys; print(round((float(sys.argv[1]) - float(sys.argv[2])) * 1000))" "$heard_at" "$t_change")
	cmp_ok "$notify_ms" -le 1000 "a listener hears the new price within 1 s of the tick that made it (${notify_ms} ms)"
	note "tick to NOTIFY heard: <= $notify_ms ms (listener samples every ~20 ms); file change to NOTIFY: $change_ms ms"
else
	fail "a listener hears the new price within 1 s of the tick that made it" \
		"no notification with the new price: $(grep -c Asynchronous "$LISTEN_OUT") notifications; $(tail -3 "$LISTEN_OUT")"
fi
like "$(grep -m1 'Asynchronous notification' "$LISTEN_OUT")" '"pair" : "BTC/USD"' "the notification names the pair"

# ---------------------------------------------------------------- a source added or disabled
# first_tick_ms NAME: from the source's creation (or SINCE, an epoch) to its first tick
first_tick_ms() {
	q "$DB" "SELECT round(extract(epoch FROM min(k.received_at) - coalesce(to_timestamp(${2:-NULL}), s.created_at)) * 1000)
	           FROM tpwallet.price_ticks k JOIN tpwallet.price_sources s ON s.id = k.source_id WHERE s.name = '$1' GROUP BY s.created_at"
}
add ex-d http_json BTC USD "$API/files/b.json" "'\$.price'"
if wait_for 5 "SELECT count(*) > 0 FROM tpwallet.price_ticks k JOIN tpwallet.price_sources s ON s.id = k.source_id WHERE s.name = 'ex-d'" t; then
	d_ms=$(first_tick_ms ex-d)
	cmp_ok "$d_ms" -le 500 "a new source is polled at once, not at the next 30 s reload (first tick $d_ms ms after add_price_source)"
else
	fail "a new source is polled at once" "no tick from ex-d in 5 s"
fi
# add_held NAME BASE: add a source in a transaction held open for 1.5 s;
# HELD_TICKS: ex-a's ticks meanwhile; COMMITTED: when it committed (epoch)
add_held() {
	local n0
	n0=$(ticks ex-a)
	"$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d "$DB" >/dev/null \
		-c "BEGIN" \
		-c "SELECT tpwallet.add_price_source('$1', 'http_json', '$2', 'USD', '$API/files/b.json', '\$.price', poll_interval => '200 ms')" \
		-c "SELECT pg_sleep(1.5)" -c "COMMIT" || fail "add $1 in a transaction held open for 1.5 s"
	COMMITTED=$(now)
	HELD_TICKS=$(($(ticks ex-a) - n0))
}
# The worker is woken while the adding transaction is still open: it must look again after the commit.
add_held late LATE
if wait_for 5 "SELECT count(*) > 0 FROM tpwallet.price_ticks k JOIN tpwallet.price_sources s ON s.id = k.source_id WHERE s.name = 'late'" t; then
	e_ms=$(first_tick_ms late "$COMMITTED")
	cmp_ok "$e_ms" -le 800 "a source added in a transaction that commits 1.5 s later is polled soon after the commit ($e_ms ms)"
else
	fail "a source added in a transaction that commits 1.5 s later is polled soon after the commit" "no tick from it in 5 s"
fi
cmp_ok "$HELD_TICKS" -ge 5 "other sources tick on while that transaction is open ($HELD_TICKS ticks of ex-a in 1.5 s)"
q "$DB" "SELECT tpwallet.set_price_source_enabled('late', false)" >/dev/null
# The same for a pair that has sources: the new source's foreign key holds
# a KEY SHARE lock on the price_pairs row until commit; _aggregate takes
# FOR NO KEY UPDATE, which does not wait for it.
add_held ex-e BTC
cmp_ok "$HELD_TICKS" -ge 5 "the pair's sources tick on while a source of the same pair is being added ($HELD_TICKS ticks of ex-a in 1.5 s)"
q "$DB" "SELECT tpwallet.set_price_source_enabled('ex-e', false)" >/dev/null
MARK=$(log_mark)  # (that lock timeout is logged)
q "$DB" "SELECT tpwallet.set_price_source_enabled('ex-d', false)" >/dev/null
sleep 0.6
n0=$(ticks ex-d)
sleep 1
is "$(ticks ex-d)" "$n0" "a disabled source is not polled any more"

# ---------------------------------------------------------------- a slow source delays no other
add slow-hang http_json SLOW USD "$API/slow?s=10" "'\$.price'" "timeout => '15 s'"
add slow-timeout http_json SLOW USD "$API/slow?s=10" "'\$.price'" "timeout => '1 s'"
sleep 0.5
for s in ex-a ex-b ex-c; do before[$s]=$(ticks $s); done
sleep 2
rates=""
for s in ex-a ex-b ex-c; do
	n=$(($(ticks $s) - ${before[$s]}))
	rates+="$s=$n "
	cmp_ok "$n" -ge 7 "while a source hangs for 10 s, $s still ticks at its rate (got $n in 2 s)"
done
note "ticks in 2 s with a 10 s source in flight: $rates"
is "$(grep -c ' /slow?s=10 ' "$WORK/requests.log" | awk '{ print ($1 >= 2) }')" 1 "both slow sources were asked"

# ---------------------------------------------------------------- failures are the sources' errors
CLOSED_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
add err-500 http_json ERR USD "$API/fail" "'\$.price'"
add err-html http_json ERR USD "$API/garbage" "'\$.price'"
add err-path http_json ERR USD "$API/files/missing.json" "'\$.price'"
add err-bytes http_json ERR USD "$API/binary" "'\$.price'"
add err-big http_json ERR USD "$API/big" "'\$.price'"
add err-stream http_json ERR USD "$API/bigstream" "'\$.price'"
add err-refused http_json ERR USD "http://127.0.0.1:$CLOSED_PORT/" "'\$.price'"
add err-redirect http_json ERR USD "$API/redirect" "'\$.price'"
add err-rpc chainlink ERR USD "$API/files/missing.json" NULL \
	"config => '{\"address\": \"0x00000000000000000000000000000000000000aa\"}'"
errors_of() {
	q "$DB" "SELECT e.error FROM tpwallet.price_source_errors e JOIN tpwallet.price_sources s ON s.id = e.source_id
	          WHERE s.name = '$1' ORDER BY e.id LIMIT 1"
}
wait_for 6 "SELECT count(DISTINCT e.source_id) FROM tpwallet.price_source_errors e JOIN tpwallet.price_sources s ON s.id = e.source_id
            WHERE s.name LIKE 'err-%' OR s.name = 'slow-timeout'" 10 ||
	diag "sources with errors: $WAIT_GOT of 10"
is "$(errors_of err-500)" "HTTP status 500" "HTTP 500 is recorded as the source's error"
like "$(errors_of err-html)" '^not JSON: <html>rate limited' "a body that is not JSON is recorded"
is "$(errors_of err-path)" 'no number at $.price' "JSON without the price at the path is recorded"
like "$(errors_of err-bytes)" '^not JSON: ' "bytes that are not UTF-8 (and a NUL) are recorded, not fatal"
like "$(errors_of err-bytes)" $'\xef\xbf\xbd price \xef\xbf\xbd\\( 1' "invalid bytes reach _ingest as U+FFFD"
like "$(errors_of err-big)" '^response too large' "an answer announced over 1 MiB is refused"
like "$(errors_of err-stream)" '^response too large' "an answer that grows past 1 MiB is cut off"
like "$(errors_of err-refused)" "^Couldn't connect to server" "a refused connection is recorded with libcurl's reason"
is "$(errors_of err-redirect)" "HTTP status 302" "a redirect is not followed"
is "$(grep -c 'redirected.json' "$WORK/requests.log")" 0 "the redirect's target was never asked for"
like "$(errors_of err-rpc)" 'JSON-RPC answer without a hex result' "an on-chain source answered by a non-node is recorded"
like "$(errors_of slow-timeout)" '^Timeout was reached' "a source slower than its timeout is cut off and recorded"
like "$(grep -m1 'POST /files/missing.json' "$WORK/requests.log")" 'tpwallet/0\.1' "on-chain sources POST their JSON-RPC call"

# back-off: 400, 800, 1600 ms between the failing polls of a 200 ms source
wait_for 5 "SELECT count(*) >= 4 FROM tpwallet.price_source_errors e JOIN tpwallet.price_sources s ON s.id = e.source_id
            WHERE s.name = 'err-500'" t
gaps=$(q "$DB" "SELECT string_agg(round(g)::text, ' ' ORDER BY id) FROM (
                  SELECT e.id, extract(epoch FROM e.at - lag(e.at) OVER (ORDER BY e.id)) * 1000 AS g
                    FROM tpwallet.price_source_errors e JOIN tpwallet.price_sources s ON s.id = e.source_id
                   WHERE s.name = 'err-500') x WHERE g IS NOT NULL")
note "gaps between err-500's failed polls (ms): $gaps"
read -r g1 g2 g3 _ <<<"$gaps"
if [ -n "$g3" ] && [ "$g1" -ge 350 ] && [ "$g1" -le 700 ] && [ "$g2" -ge $((g1 * 3 / 2)) ] && [ "$g3" -ge $((g2 * 3 / 2)) ]; then
	pass "a failing source backs off exponentially ($gaps ms)"
else
	fail "a failing source backs off exponentially" "gaps: $gaps"
fi
is "$(q "$DB" "SELECT failures >= 3 FROM tpwallet.price_source_state st JOIN tpwallet.price_sources s ON s.id = st.source_id
                WHERE s.name = 'err-500'")" t "price_source_state counts its consecutive failures"
is "$(worker_pid)" "$PID" "the worker is still the same process after all these failures"
n0=$(ticks ex-a)
sleep 1
cmp_ok "$(($(ticks ex-a) - n0))" -ge 3 "the good sources keep ticking meanwhile"
is "$(q "$DB" "SELECT status FROM tpwallet.price_info('BTC', 'USD')")" ok "BTC/USD stays ok"

# ---------------------------------------------------------------- on chain: Chainlink and Uniswap v2 on anvil
if [ "$HAVE_ANVIL" = yes ]; then
	rpc() { # rpc METHOD PARAMS-JSON: prints .result
		local out
		out=$(curl -sf -m 5 -H 'content-type: application/json' \
			-d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$RPC") || return 1
		[ "$(jq -r '.error // empty' <<<"$out")" == "" ] || { echo "rpc $1: $out" >&2; return 1; }
		jq -r '.result' <<<"$out"
	}
	word() { printf '0x%064x' "$1"; }
	word_big() { python3 -c "import sys; print('0x%064x' % int(sys.argv[1]))" "$1"; }
	for i in $(seq 1 100); do rpc eth_chainId '[]' >/dev/null 2>&1 && break; sleep 0.1; done
	FEED=0x5f4ec3df9cbd43714fe2740f5e3616155c5b8419
	PAIR=0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc
	set_slots() { # set_slots ADDRESS VALUE...: storage slots 0, 1, ...
		local addr=$1 i=0 v
		shift
		for v in "$@"; do rpc anvil_setStorageAt "[\"$addr\", \"$(printf '0x%x' $i)\", \"$v\"]" >/dev/null || return 1; i=$((i + 1)); done
	}
	T=$(date +%s)
	quiet() { "$@" >/dev/null; }
	ok "anvil takes a Chainlink-style aggregator mock (latestRoundData)" \
		quiet rpc anvil_setCode "[\"$FEED\", \"$(python3 "$HERE/price/evm_mock.py" feaf968c 5)\"]"
	ok "anvil takes a Uniswap-v2-style pair mock (getReserves)" \
		quiet rpc anvil_setCode "[\"$PAIR\", \"$(python3 "$HERE/price/evm_mock.py" 0902f1ac 3)\"]"
	# round 7: answer 3000.12345678 (8 decimals), updated now
	set_slots "$FEED" "$(word 7)" "$(word 300012345678)" "$(word "$T")" "$(word "$T")" "$(word 7)"
	# 1000 WETH (18 decimals, token0) against 3,000,000 USDC (6 decimals, token1)
	set_slots "$PAIR" "$(word_big 1000000000000000000000)" "$(word 3000000000000)" "$(word "$T")"
	is "$(rpc eth_call "[{\"to\": \"$PAIR\", \"data\": \"0x0902f1ac\"}, \"latest\"]" | cut -c1-66)" "$(word_big 1000000000000000000000)" \
		"the node answers getReserves() from the mock"
	add cl-eth chainlink ETH USD "$RPC" NULL "config => '{\"address\": \"$FEED\", \"decimals\": 8}'"
	add uni-eth uniswap_v2 ETH USD "$RPC" NULL \
		"config => '{\"address\": \"$PAIR\", \"token0_decimals\": 18, \"token1_decimals\": 6}'"
	if wait_for 5 "SELECT count(DISTINCT k.source_id) FROM tpwallet.price_ticks k JOIN tpwallet.price_sources s ON s.id = k.source_id
	               WHERE s.base = 'ETH'" 2; then
		pass "ticks arrive from the Chainlink and the Uniswap source (after $WAITED_MS ms)"
	else
		fail "ticks arrive from the Chainlink and the Uniswap source" "$WAIT_GOT; $(q "$DB" "SELECT error FROM tpwallet.price_source_errors ORDER BY id DESC LIMIT 3")"
	fi
	is "$(q "$DB" "SELECT (k.price = 3000.12345678) || ' ' || (k.observed_at = to_timestamp($T)) FROM tpwallet.price_ticks k
	                JOIN tpwallet.price_sources s ON s.id = k.source_id WHERE s.name = 'cl-eth' ORDER BY k.observed_at LIMIT 1")" \
		"true true" "the Chainlink tick is exactly 300012345678 / 10^8 = 3000.12345678, observed at updatedAt"
	is "$(q "$DB" "SELECT (k.price = 3000) || ' ' || (k.liquidity = 6000000) FROM tpwallet.price_ticks k
	                JOIN tpwallet.price_sources s ON s.id = k.source_id WHERE s.name = 'uni-eth' ORDER BY k.observed_at LIMIT 1")" \
		"true true" "the Uniswap tick is exactly 3,000,000 USDC / 1000 WETH = 3000, liquidity 6,000,000"
	if wait_for 3 "SELECT price::float8 || ' ' || status || ' ' || sources_used FROM tpwallet.price_info('ETH', 'USD')" "3000 ok 2"; then
		pass "price_info('ETH', 'USD'): 3000, ok, from both on-chain sources"
	else
		fail "price_info('ETH', 'USD'): 3000, ok, from both on-chain sources" "$WAIT_GOT"
	fi
	sleep 0.6
	is "$(ticks cl-eth)" 1 "an unchanged Chainlink round is one tick, however often it is read"
	cmp_ok "$(ticks uni-eth)" -ge 3 "the pair is read every 200 ms"

	# a new round and a trade
	set_slots "$FEED" "$(word 8)" "$(word 301000000000)" "$(word $((T + 1)))" "$(word $((T + 1)))" "$(word 8)"
	set_slots "$PAIR" "$(word_big 1000000000000000000000)" "$(word 3010000000000)" "$(word $((T + 1)))"
	if wait_for 3 "SELECT price::float8 || ' ' || status FROM tpwallet.price_info('ETH', 'USD')" "3010 ok"; then
		pass "the on-chain price follows a new round and a trade (after $WAITED_MS ms)"
	else
		fail "the on-chain price follows a new round and a trade" "$WAIT_GOT"
	fi
	is "$(q "$DB" "SELECT string_agg(k.price::float8::text, ' ' ORDER BY k.observed_at) FROM tpwallet.price_ticks k
	                JOIN tpwallet.price_sources s ON s.id = k.source_id WHERE s.name = 'cl-eth'")" "3000.12345678 3010" \
		"the Chainlink source has one tick per round"
else
	note "anvil is not installed (scripts/setup.sh): on-chain sources not tested"
fi

# ---------------------------------------------------------------- no worker errors so far
unlike "$(log_since "$MARK" | grep 'tpwallet price feeds' | head -3)" 'failed|ERROR|FATAL' \
	"the worker logged no failed step while sources failed in every way"

# ---------------------------------------------------------------- SIGHUP, SIGTERM
q postgres "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
is "$(worker_pid)" "$PID" "a configuration reload (SIGHUP) keeps the worker"
t0=$(now)
is "$(q postgres "SELECT pg_terminate_backend($PID)")" t "the worker is terminated (SIGTERM)"
NEW=""
for i in $(seq 1 150); do
	NEW=$(worker_pid)
	[ -n "$NEW" ] && [ "$NEW" != "$PID" ] && break
	sleep 0.1
done
restart_ms=$(ms_since "$t0")
if [ -n "$NEW" ] && [ "$NEW" != "$PID" ]; then
	pass "the postmaster starts a new worker after bgw_restart_time ($restart_ms ms)"
else
	fail "the postmaster starts a new worker after bgw_restart_time" "pid: '$NEW'"
fi
n0=$(ticks ex-a)
if wait_for 3 "SELECT count(*) > $n0 + 2 FROM tpwallet.price_ticks k JOIN tpwallet.price_sources s ON s.id = k.source_id WHERE s.name = 'ex-a'" t; then
	pass "polling resumes in the new worker"
else
	fail "polling resumes in the new worker" "ticks of ex-a stay at $n0"
fi

# ---------------------------------------------------------------- the extension dropped, then back
PID=$(worker_pid)
q "$DB" "DROP EXTENSION tpwallet CASCADE" >/dev/null || fail "drop the extension"
sleep 0.5
MARK=$(log_mark)
sleep 1.5
is "$(worker_pid)" "$PID" "without the extension the worker waits (same process)"
is "$(log_since "$MARK" | grep -c 'tpwallet price feeds')" 0 "and logs nothing meanwhile"
q "$DB" "CREATE EXTENSION tpwallet" >/dev/null || bail "re-create the extension"
add ex-a http_json BTC USD "$API/files/a.json" "'\$.data.last'"
if wait_for 15 "SELECT count(*) > 0 FROM tpwallet.price_ticks" t; then
	pass "after CREATE EXTENSION polling starts again (first tick after $WAITED_MS ms)"
else
	fail "after CREATE EXTENSION polling starts again" "$(log_since "$MARK" | grep 'price feeds' | tail -3)"
fi
is "$(q "$DB" "SELECT count(*) FROM tpwallet._shm_prices() WHERE base = 'BTC'")" 1 \
	"its aggregates are in shared memory again (published under the new extension)"

done_testing
