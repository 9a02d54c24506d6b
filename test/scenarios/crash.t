#!/usr/bin/env bash
# Crash recovery: a client posts batches of 500 transfers (with idempotency
# keys) back to back; the server is killed with SIGKILL in the middle.
# After restart every batch is all-or-nothing, every acknowledged batch is
# there, the ledger verifies, and re-sending the in-flight batch with the
# same keys posts what was lost and returns the original ids for the rest.
#
# Two crashes: first only the postmaster is killed (its backends notice and
# exit; the batch in flight may still commit), then the postmaster and every
# server process at once, as a power cut would (the batch in flight is lost
# mid-write and WAL replay must undo it).
source "$(dirname "$0")/lib.sh"

cluster_up
DB=$(reset_tpwallet_db) || bail "reset the extension in the sealer's database"
WORK=$(mktemp -d /tmp/tpw-scn-crash.XXXXXX)
trap '_cleanup; rm -rf "$WORK"' EXIT
BATCH=500
LOAD_SECONDS=${TPW_SCN_LOAD_SECONDS:-3}

for sql in \
	"DROP SCHEMA IF EXISTS tpw_test CASCADE" \
	"CREATE SCHEMA tpw_test" \
	"SELECT tpwallet.create_asset('USD', 2, 'fiat')" \
	"SELECT tpwallet.create_account('world', 'ops', 'USD', 'debit', true)" \
	"SELECT count(tpwallet.create_account('u' || i, 'ops', 'USD', 'credit')) FROM generate_series(1, 200) i" \
	"SELECT count(*) FROM tpwallet.post_batch((SELECT jsonb_agg(jsonb_build_object(
	   'debit_account', 'world', 'credit_account', 'u' || i, 'amount', '1000.00', 'reference', 'funding'))
	   FROM generate_series(1, 200) i))" \
	"CREATE FUNCTION tpw_test.batch(n int) RETURNS jsonb LANGUAGE sql IMMUTABLE AS \$\$
	   SELECT jsonb_agg(jsonb_build_object(
	     'debit_account', CASE WHEN i % 2 = 0 THEN 'world' ELSE 'u' || (i % 200 + 1) END,
	     'credit_account', CASE WHEN i % 2 = 0 THEN 'u' || ((i + n) % 200 + 1) ELSE 'u' || ((i + 1) % 200 + 1) END,
	     'amount', ((i % 50 + 1)::numeric / 100)::numeric(10, 2)::text,
	     'idempotency_key', 'b' || n || '-' || i,
	     'reference', 'batch-' || n) ORDER BY i)
	   FROM generate_series(1, $BATCH) i \$\$" \
	"CREATE FUNCTION tpw_test.keys(n int) RETURNS TABLE (ord bigint, key text) LANGUAGE sql IMMUTABLE AS \$\$
	   SELECT i, 'b' || n || '-' || i FROM generate_series(1, $BATCH) i \$\$"; do
	q "$DB" "$sql" >/dev/null || bail "setup: $sql"
done

# span "3 4 5 ": "3..5 (3)"
span() { local w; w=($1); [ ${#w[@]} -eq 0 ] && echo none || echo "${w[0]}..${w[-1]} (${#w[@]})"; }

# batch_counts FIRST LAST: "n|entries" for every batch of that range in the journal
batch_counts() {
	q "$DB" "SELECT substr(reference, 7)::int AS n, count(*) FROM tpwallet.journal
	          WHERE reference LIKE 'batch-%' AND substr(reference, 7)::int BETWEEN $1 AND $2
	          GROUP BY 1 ORDER BY 1"
}

# crash_cycle MODE FIRST: load batches FIRST.. until killed; MODE is
# "postmaster" (kill -9 the postmaster only) or "all" (kill -9 every
# server process at the same moment).
crash_cycle() {
	local mode=$1 first=$2 last=$(($2 + 999)) n pm port children i
	local script="$WORK/load-$mode.sql" out="$WORK/load-$mode.out"
	{
		echo '\set ON_ERROR_STOP 1'
		for n in $(seq "$first" "$last"); do
			echo "SELECT $n AS batch, count(*) FROM tpwallet.post_batch(tpw_test.batch($n));"
		done
	} >"$script"
	local j0 mark
	j0=$(q "$DB" "SELECT count(*) FROM tpwallet.journal")
	bg LOADER "$PGBIN/psql" -X -qAt -d "$DB" -f "$script" >"$out" 2>"$out.err"
	# let it run a few seconds, and at least two batches commit
	sleep "$LOAD_SECONDS"
	for i in $(seq 1 100); do
		[ "$(q "$DB" "SELECT count(DISTINCT reference) FROM tpwallet.journal WHERE reference LIKE 'batch-%'
		               AND substr(reference, 7)::int >= $first")" -ge 2 ] && break
		sleep 0.1
	done
	pm=$(head -1 "$PGDATA/postmaster.pid")
	port=$PGPORT
	children=$(pgrep -P "$pm" | tr '\n' ' ')
	is "$(ps -o comm= -p "$pm")" postgres "$mode crash: found the postmaster ($pm)"
	if [ "$mode" = postmaster ]; then
		kill -9 "$pm"
	else
		kill -9 "$pm" $children
	fi
	note "$mode crash: killed postmaster $pm (children: $children)"
	wait_pid "$LOADER" 60
	local rc=$?
	isnt "$rc" 124 "$mode crash: the loading client stopped (it did not run on for a minute)"
	isnt "$rc" 0 "$mode crash: the loading client lost its connection (exit status $rc)"
	# The orphaned server processes must all go away by themselves.
	local alive=""
	for i in $(seq 1 150); do
		alive=""
		for c in $pm $children; do kill -0 "$c" 2>/dev/null && alive="$alive $c"; done
		[ -z "$alive" ] && break
		sleep 0.2
	done
	is "$alive" "" "$mode crash: every old server process has exited"
	if [ -n "$alive" ]; then
		diag "$(ps -o pid,args -p "${alive# }" 2>&1)"
		kill -9 $alive 2>/dev/null
		sleep 1
	fi
	# The dead postmaster's socket and lock file are stale now; remove them so
	# the cluster comes back on the same port.
	rm -f "$TPW_CLUSTER_DIR/.s.PGSQL.$port" "$TPW_CLUSTER_DIR/.s.PGSQL.$port.lock"
	mark=$(log_mark)
	local start_out
	if ! start_out=$("$CLUSTER" start 2>&1); then
		bail "$mode crash: the server restarts" "$start_out"
	fi
	cluster_env
	pass "$mode crash: the server restarts ($(tail -1 <<<"$start_out"))"
	is "$(q "$DB" "SELECT 1")" 1 "$mode crash: it accepts connections"
	like "$(log_since "$mark")" "database system was (interrupted|not properly shut down)|redo (starts|done)" \
		"$mode crash: the server ran crash recovery"

	# ---- all-or-nothing batches, acknowledged ones durable
	local acked committed last_acked counts bad
	acked=$(cut -d'|' -f1 "$out" | grep -E '^[0-9]+$' | tr '\n' ' ')
	last_acked=$(cut -d'|' -f1 "$out" | grep -E '^[0-9]+$' | tail -1)
	last_acked=${last_acked:-$((first - 1))}
	counts=$(batch_counts "$first" "$last")
	committed=$(cut -d'|' -f1 <<<"$counts" | grep -E '^[0-9]+$' | tr '\n' ' ')
	note "$mode crash: acknowledged batches: $(span "$acked"); in the journal: $(span "$committed")"
	cmp_ok "$(wc -w <<<"$acked")" -ge 2 "$mode crash: the client got at least two batches acknowledged"
	bad=$(awk -F'|' -v b="$BATCH" '$2 != b' <<<"$counts")
	is "$bad" "" "$mode crash: every batch in the journal has exactly $BATCH entries (all-or-nothing)"
	local expect_prefix
	expect_prefix=$(seq "$first" "$last_acked" | tr '\n' ' ')
	is "${committed:0:${#expect_prefix}}" "$expect_prefix" "$mode crash: every acknowledged batch survived, in order"
	like "$committed" "^${expect_prefix}($((last_acked + 1)) )?\$" \
		"$mode crash: at most the one batch in flight ($((last_acked + 1))) is there besides them"
	is "$(q "$DB" "SELECT count(*) FROM tpwallet.journal")" \
		"$((j0 + $(wc -w <<<"$committed") * BATCH))" "$mode crash: the journal holds exactly the committed batches"
	is "$(q "$DB" "SELECT count(*) FROM tpwallet.idempotency i WHERE i.key LIKE 'b%-%'
	               AND NOT EXISTS (SELECT 1 FROM tpwallet.journal j WHERE j.id = i.result_id AND j.idempotency_key = i.key)")" 0 \
		"$mode crash: every stored idempotency key points at its entry"
	is "$(q "$DB" "SELECT string_agg(book || '=' || ok, ' ' ORDER BY book) FROM tpwallet.verify_ledger()")" "gl=true ops=true" \
		"$mode crash: verify_ledger() is ok right after recovery (before any new seal)"

	# ---- re-send the last acknowledged batch and the in-flight one, same keys, in one call
	local a=$last_acked b=$((last_acked + 1)) was_b
	was_b=$(q "$DB" "SELECT count(*) FROM tpwallet.journal WHERE reference = 'batch-$b'")
	local t="tpw_test.replay_$mode"
	if ! q "$DB" "CREATE TABLE $t AS SELECT r.id, r.ord FROM tpwallet.post_batch(tpw_test.batch($a) || tpw_test.batch($b))
	               WITH ORDINALITY AS r (id, ord)" >/dev/null; then
		fail "$mode crash: re-sending batches $a and $b succeeds"
	else
		pass "$mode crash: re-sending batches $a and $b (in flight: $was_b of its entries were committed) succeeds"
	fi
	# element k of the call is batch a's key k for k <= BATCH, then batch b's
	local keyed="SELECT r.id, k.key FROM $t r JOIN (SELECT ord, key FROM tpw_test.keys($a)
	             UNION ALL SELECT ord + $BATCH, key FROM tpw_test.keys($b)) k ON k.ord = r.ord"
	is "$(q "$DB" "SELECT count(*) FROM ($keyed) x")" $((2 * BATCH)) "$mode crash: one id per element came back"
	is "$(q "$DB" "SELECT count(*) FROM ($keyed) x JOIN tpwallet.journal j ON j.idempotency_key = x.key WHERE j.id <> x.id")" 0 \
		"$mode crash: every returned id is the journal entry of that key"
	is "$(q "$DB" "SELECT count(*) || '/' || count(DISTINCT idempotency_key) FROM tpwallet.journal WHERE reference IN ('batch-$a', 'batch-$b')")" \
		"$((2 * BATCH))/$((2 * BATCH))" "$mode crash: batches $a and $b have one entry per key, no duplicate"
	is "$(q "$DB" "SELECT count(*) FROM tpwallet.journal WHERE reference IN ('batch-$a', 'batch-$b') AND created_at >= (SELECT min(created_at) FROM tpwallet.journal WHERE reference = 'batch-$b')")" \
		"$BATCH" "$mode crash: batch $a's entries are its originals (created before batch $b)"
	# a second identical call is a pure replay
	is "$(q "$DB" "SELECT count(*) FROM tpwallet.post_batch(tpw_test.batch($a) || tpw_test.batch($b)) WITH ORDINALITY AS r (id, ord)
	               JOIN $t o ON o.ord = r.ord AND o.id = r.id")" $((2 * BATCH)) "$mode crash: sending them again returns the same ids"
	is "$(q "$DB" "SELECT count(*) FROM tpwallet.journal")" \
		"$((j0 + ($(wc -w <<<"$committed") + 1 - was_b / BATCH) * BATCH))" "$mode crash: and posts nothing more"

	# ---- the sealer worker is back
	local s0 f0
	s0=$(q "$DB" "SELECT coalesce(max(last_entry), 0) FROM tpwallet.seals")
	f0=$(q "$DB" "SELECT max(id) FROM tpwallet.journal")
	for i in $(seq 1 50); do
		[ "$(q "$DB" "SELECT coalesce(max(last_entry), 0) >= $f0 FROM tpwallet.seals")" = t ] && break
		sleep 0.2
	done
	is "$(q "$DB" "SELECT coalesce(max(last_entry), 0) >= $f0 FROM tpwallet.seals")" t \
		"$mode crash: the restarted sealer worker sealed everything posted since (last sealed was $s0)"
	check_invariants "$DB" "after the $mode crash"
}

crash_cycle postmaster 1
crash_cycle all 1001

done_testing
