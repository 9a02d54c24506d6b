# test/scenarios/lib.sh -- shared helpers for the tpwallet scenario tests.
#
# Source it from a *.t script (bash).  The scripts print TAP, so that
#   prove test/scenarios/            (as root, from the repository root)
# runs them.  Every scenario uses its own throwaway cluster, in
# TPW_CLUSTER_DIR (default /var/tmp/tpw-scenarios), started with
# scripts/cluster.sh if it does not run yet; run `make install` first (and
# restart that cluster after a reinstall: the library is preloaded).
#
# Helpers:
#   pass/fail/ok/is/isnt/cmp_ok/like/unlike/diag/note/todo  TAP output
#   done_testing                     print the plan, exit non-zero on failure
#   skip_all / bail                  give up on the whole file
#   cluster_up                       start the cluster, export PG* variables
#   fresh_db NAME                    new database with the extension
#   reset_tpwallet_db                drop and create the extension in "tpwallet"
#   q DB SQL                         run SQL, print unaligned tuples-only output
#   sqlstate DB [SETUP-SQL...] SQL   run statements in one session, print the
#                                    SQLSTATE of the first error or "OK"
#   log_mark / log_since MARK        read the server log from a mark on
#   bg PIDVAR CMD...                 start CMD in the background, kill it at exit
#   wait_pid PID SECONDS             wait for it, at most SECONDS
#   check_invariants DB [LABEL]      the ledger invariants (see below)

TPW_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export TPW_CLUSTER_DIR=${TPW_CLUSTER_DIR:-/var/tmp/tpw-scenarios}
PGBIN=${PGBIN:-$(pg_config --bindir)}
CLUSTER="$TPW_ROOT/scripts/cluster.sh"
SERVER_LOG="$TPW_CLUSTER_DIR/server.log"
# A hung statement must turn into a failure, not a hung test run.
export PGCONNECT_TIMEOUT=10
export PGOPTIONS="${PGOPTIONS:-} -c statement_timeout=180s -c client_min_messages=warning"

_tap_n=0
_tap_failed=0
_tap_todo=""
_bg_pids=()
_t0=$(date +%s)

# ---------------------------------------------------------------- TAP

diag() { local l; while IFS= read -r l; do printf '# %s\n' "$l" >&2; done <<<"$*"; }
note() { local l; while IFS= read -r l; do printf '# %s\n' "$l"; done <<<"$*"; }

# A test description is one line, and "#" would start a TAP directive.
_desc() { local d=${1//$'\n'/ }; printf '%s' "${d//#/\\#}"; }

pass() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $(_desc "$1")${_tap_todo:+ # TODO $_tap_todo}"
}

fail() {
	_tap_n=$((_tap_n + 1))
	echo "not ok $_tap_n - $(_desc "$1")${_tap_todo:+ # TODO $_tap_todo}"
	if [ -n "$_tap_todo" ]; then
		if [ $# -gt 1 ] && [ -n "$2" ]; then note "$2"; fi
	else
		_tap_failed=$((_tap_failed + 1))
		if [ $# -gt 1 ] && [ -n "$2" ]; then diag "$2"; fi
	fi
	return 0
}

# ok DESC CMD...: passes when CMD succeeds.
ok() {
	local desc=$1; shift
	if "$@"; then pass "$desc"; else fail "$desc" "command failed: $*"; fi
}

# is GOT EXPECTED DESC
is() {
	if [ "$1" == "$2" ]; then pass "$3"; else fail "$3" "     got: '$1'
expected: '$2'"; fi
}

# isnt GOT UNEXPECTED DESC
isnt() {
	if [ "$1" != "$2" ]; then pass "$3"; else fail "$3" "     got: '$1' (must differ)"; fi
}

# cmp_ok GOT OP EXPECTED DESC   (OP: a test(1) integer operator: -eq -ge -gt ...)
cmp_ok() {
	if [[ "$1" =~ ^-?[0-9]+$ && "$3" =~ ^-?[0-9]+$ ]] && [ "$1" "$2" "$3" ]; then
		pass "$4"
	else
		fail "$4" "'$1' $2 '$3' is false"
	fi
}

# like GOT ERE DESC / unlike GOT ERE DESC
like() { if [[ "$1" =~ $2 ]]; then pass "$3"; else fail "$3" "'$1' does not match /$2/"; fi; }
unlike() { if [[ "$1" =~ $2 ]]; then fail "$3" "'$1' matches /$2/ (${BASH_REMATCH[0]})"; else pass "$3"; fi; }

# todo REASON ... todo "": the tests in between are expected to fail.
todo() { _tap_todo=$1; }

done_testing() {
	echo "1..$_tap_n"
	note "$(basename "$0"): $_tap_n tests, $_tap_failed failed, $(($(date +%s) - _t0)) s"
	if [ "$_tap_failed" -gt 0 ]; then exit $((_tap_failed > 254 ? 254 : _tap_failed)); fi
	exit 0
}

bail() {
	fail "$1" "${2:-}"
	echo "Bail out! $1"
	exit 255
}

skip_all() { echo "1..0 # SKIP $1"; exit 0; }

# ---------------------------------------------------------------- processes

# bg VAR CMD...: start CMD in the background, store its pid in VAR; it is
# killed (with its children) when the test exits.
bg() {
	local __var=$1; shift
	"$@" &
	local pid=$!
	_bg_pids+=("$pid")
	printf -v "$__var" '%s' "$pid"
}

# wait_pid PID SECONDS: wait for a child started with bg; kill it after
# SECONDS (status 124).  Otherwise its exit status.
wait_pid() {
	local pid=$1 i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		_kill_tree "$pid"
		wait "$pid" 2>/dev/null
		return 124
	fi
	wait "$pid"
}

_kill_tree() {
	local pid=$1 c
	for c in $(pgrep -P "$pid" 2>/dev/null); do _kill_tree "$c"; done
	kill "$pid" 2>/dev/null || true
}

_cleanup() {
	local pid
	for pid in "${_bg_pids[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then _kill_tree "$pid"; wait "$pid" 2>/dev/null || true; fi
	done
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- cluster

cluster_env() {
	eval "$("$CLUSTER" env)"
	export PGHOST PGPORT PGUSER PGDATABASE PGDATA
}

# Start (creating if needed) the dedicated cluster and export PG* for it.
cluster_up() {
	if [ "$(id -u)" -ne 0 ]; then skip_all "run as root (scripts/cluster.sh runs the server as the postgres user)"; fi
	local out
	if ! out=$("$CLUSTER" start 2>&1); then bail "cluster starts in $TPW_CLUSTER_DIR" "$out"; fi
	cluster_env
	local i
	for i in $(seq 1 50); do
		"$PGBIN/pg_isready" -q -d postgres && break
		sleep 0.2
	done
	# The library is preloaded: after a `make install`, restart to load it.
	local so started
	so=$(stat -c %Y "$(pg_config --pkglibdir)/tpwallet.so" 2>/dev/null || echo 0)
	started=$(q postgres "SELECT extract(epoch FROM pg_postmaster_start_time())::bigint")
	if [ "$so" -gt "${started:-0}" ]; then
		note "tpwallet.so is newer than the running server: restarting the cluster"
		if ! out=$("$CLUSTER" restart 2>&1); then bail "cluster restarts in $TPW_CLUSTER_DIR" "$out"; fi
		cluster_env
	fi
	if [ "$(q postgres "SELECT count(*) FROM pg_available_extensions WHERE name = 'tpwallet'")" != 1 ]; then
		bail "the tpwallet extension is installed" "run 'make install' first"
	fi
	if [ "$(q postgres "SHOW shared_preload_libraries")" != "${TPW_EXPECT_PRELOAD:-tpwallet,pg_cron}" ]; then
		diag "shared_preload_libraries is '$(q postgres "SHOW shared_preload_libraries")'"
	fi
}

# q DB SQL: unaligned, tuples only, stops at the first error (exit status 3).
q() {
	local db=$1; shift
	"$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d "$db" -c "$*"
}

# sqlstate DB STMT...: run each statement (in this order, one session) and
# print the SQLSTATE of the first error, or OK when none failed.
sqlstate() {
	local db=$1; shift
	local args=(-c '\set VERBOSITY sqlstate') s err
	for s in "$@"; do args+=(-c "$s"); done
	if err=$("$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d "$db" "${args[@]}" 2>&1 >/dev/null); then
		echo OK
	elif [[ "$err" =~ (ERROR|FATAL):\ +([0-9A-Z]{5}) ]]; then
		echo "${BASH_REMATCH[2]}"
	else
		echo "UNKNOWN: $err"
	fi
}

# fresh_db NAME: (re)create database NAME with the extension.
fresh_db() {
	local db=$1
	q postgres "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null &&
		q postgres "CREATE DATABASE \"$db\"" >/dev/null &&
		q "$db" "CREATE EXTENSION tpwallet" >/dev/null
}

# The sealer worker only works in the database named by tpwallet.database
# ("tpwallet" in the throwaway cluster): start that one from scratch.
reset_tpwallet_db() {
	local db
	db=$(q postgres "SHOW tpwallet.database") || return 1
	if [ "$(q postgres "SELECT count(*) FROM pg_database WHERE datname = '$db'")" != 1 ]; then
		q postgres "CREATE DATABASE \"$db\"" >/dev/null || return 1
	fi
	q "$db" "DROP EXTENSION IF EXISTS tpwallet CASCADE" >/dev/null 2>&1 &&
		q "$db" "CREATE EXTENSION tpwallet" >/dev/null &&
		echo "$db"
}

log_mark() { stat -c %s "$SERVER_LOG" 2>/dev/null || echo 0; }
log_since() { tail -c +"$(($1 + 1))" "$SERVER_LOG" 2>/dev/null; }

# ---------------------------------------------------------------- invariants

# check_invariants DB [LABEL]: the ledger's invariants, one TAP line each.
# Run it while nothing writes to the ledger.
check_invariants() {
	local db=$1 label=${2:-$1} out
	_inv() { # _inv DESC EXPECTED SQL
		local got
		got=$(q "$db" "$3" 2>&1)
		is "$got" "$2" "$label: $1"
	}
	_inv "check_balances() finds no account off its postings" 0 \
		"SELECT count(*) FROM tpwallet.check_balances()"
	_inv "check_pending() finds no account off its open holds" 0 \
		"SELECT count(*) FROM tpwallet.check_pending()"
	_inv "every journal entry balances per asset" 0 \
		"SELECT count(*) FROM (SELECT p.entry_id, a.asset FROM tpwallet.postings p
		   JOIN tpwallet.accounts a ON a.id = p.account_id
		  GROUP BY p.entry_id, a.asset HAVING sum(p.amount) <> 0) x"
	_inv "every journal entry has two or more postings, every posting an entry" 0 \
		"SELECT count(*) FROM tpwallet.journal j
		   FULL JOIN (SELECT entry_id, count(*) AS legs FROM tpwallet.postings GROUP BY entry_id) p
		     ON p.entry_id = j.id
		  WHERE j.id IS NULL OR coalesce(p.legs, 0) < 2"
	_inv "posted totals sum to zero per asset (double entry)" 0 \
		"SELECT count(*) FROM (SELECT asset FROM tpwallet.account_balances GROUP BY asset
		  HAVING sum(debits_posted - credits_posted) <> 0) x"
	_inv "pending totals sum to zero per asset" 0 \
		"SELECT count(*) FROM (SELECT asset FROM tpwallet.account_balances GROUP BY asset
		  HAVING sum(debits_pending - credits_pending) <> 0) x"
	# The sealer worker may seal at the same moment: seal() waits for it.
	out=$(q "$db" "SELECT tpwallet.seal()" 2>&1)
	if [[ "$out" =~ ^[0-9]+$ ]]; then pass "$label: seal() succeeds (sealed $out)"; else fail "$label: seal() succeeds" "$out"; fi
	out=$(q "$db" "SELECT book || ': ' || ok || ' ' || coalesce(first_bad_entry::text, '-') || ' '
	                      || coalesce(first_bad_block::text, '-') || ' ' || detail
	                 FROM tpwallet.verify_ledger() ORDER BY book" 2>&1)
	if [ "$(q "$db" "SELECT count(*) FILTER (WHERE ok) || '/' || count(*) FROM tpwallet.verify_ledger()" 2>&1)" == 2/2 ]; then
		pass "$label: verify_ledger() is ok for both books"
		note "$out"
	else
		fail "$label: verify_ledger() is ok for both books" "$out"
	fi
	_inv "every journal entry is in a block after seal()" 0 \
		"SELECT count(*) FROM tpwallet.journal j
		  WHERE NOT EXISTS (SELECT 1 FROM tpwallet.block_members m WHERE m.entry_id = j.id)"
	if out=$(q "$db" "SELECT tpwallet.fold_deltas()" 2>&1); then
		pass "$label: fold_deltas() succeeds (folded $out accounts)"
	else
		fail "$label: fold_deltas() succeeds" "$out"
	fi
	_inv "no account delta is left after fold_deltas()" 0 \
		"SELECT count(*) FROM tpwallet.account_deltas"
	_inv "after fold_deltas: check_balances() is empty" 0 \
		"SELECT count(*) FROM tpwallet.check_balances()"
	_inv "after fold_deltas: check_pending() is empty" 0 \
		"SELECT count(*) FROM tpwallet.check_pending()"
	_inv "after fold_deltas: posted and pending totals sum to zero per asset" 0 \
		"SELECT count(*) FROM (SELECT asset FROM tpwallet.account_balances GROUP BY asset
		  HAVING sum(debits_posted - credits_posted) <> 0 OR sum(debits_pending - credits_pending) <> 0) x"
	_inv "after fold_deltas: account rows alone match their postings" 0 \
		"SELECT count(*) FROM tpwallet.accounts a
		   LEFT JOIN (SELECT account_id, sum(amount) FILTER (WHERE amount > 0) AS dp,
		                     -sum(amount) FILTER (WHERE amount < 0) AS cp
		                FROM tpwallet.postings GROUP BY account_id) r ON r.account_id = a.id
		  WHERE a.debits_posted <> coalesce(r.dp, 0) OR a.credits_posted <> coalesce(r.cp, 0)"
	_inv "after fold_deltas: verify_ledger() still ok" 2 \
		"SELECT count(*) FILTER (WHERE ok) FROM tpwallet.verify_ledger()"
}
