#!/usr/bin/env bash
# Set up everything and run the whole test suite:
#   C unit tests (plain, ASan/UBSan, valgrind) and fuzzing of every C parser,
#   pg_regress (sql/, expected/) and isolation specs (specs/), pgTAP invariants (test/pgtap/),
#   the PKCS#11 bridge against a private SoftHSM2 token,
#   scenario tests with real parts (test/scenarios/: concurrency, crash,
#   tamper, SoftHSM2, a local anvil Ethereum node, price feeds polled by
#   the worker from a local HTTP server and anvil),
#   the standalone proof verifier, and pg_regress again with the engine's
#   per-session caches bounded to three entries (their reset paths).
# Run as root on Debian 12 (it installs packages and the extension).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

passed=0; failed=0; failures=()
step() {  # step NAME COMMAND...
  local name=$1; shift
  echo; echo "==== $name"
  if "$@"; then passed=$((passed + 1)); echo "---- $name: passed"
  else failed=$((failed + 1)); failures+=("$name"); echo "---- $name: FAILED"; fi
}

scripts/setup.sh || { echo "setup failed"; exit 1; }
make -s >/dev/null && make -s install >/dev/null || { echo "build failed"; exit 1; }
scripts/cluster.sh restart || { echo "cluster failed to start"; exit 1; }
eval "$(scripts/cluster.sh env)"

regress() {
  if make -s installcheck; then return 0; fi
  cat regression.diffs output_iso/regression.diffs 2>/dev/null | head -200
  return 1
}

pgtap() {
  local db=tpwallet_tap
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null &&
  psql -X -q -d $db -c "CREATE EXTENSION pgtap; CREATE EXTENSION tpwallet;" >/dev/null &&
  pg_prove -d $db test/pgtap/*.sql
}

# The Python verifier is an independent implementation of the documented
# proof algorithm: it must accept every proof the C code makes (from the
# pg_regress database) and reject a forged one.
proof_tool() {
  python3 tools/verify_proof.py --self-test || return 1
  local ids id n=0
  ids=$(psql -XAt -d contrib_regression -c "SELECT entry_id FROM tpwallet.block_members ORDER BY 1") || return 1
  for id in $ids; do
    psql -XAt -d contrib_regression -c "SELECT tpwallet.prove_entry($id)" |
      python3 tools/verify_proof.py >/dev/null || { echo "proof of entry $id rejected"; return 1; }
    n=$((n + 1))
  done
  [ "$n" -gt 10 ] || { echo "too few sealed entries ($n) to check"; return 1; }
  if psql -XAt -d contrib_regression -c "SELECT jsonb_set(tpwallet.prove_entry($id), '{block,height}', '99')" |
     python3 tools/verify_proof.py >/dev/null; then echo "a forged proof was accepted"; return 1; fi
  echo "$n proofs from the database verified independently, 1 forgery rejected"
}

step "C unit tests (gcc)" make -s -C test/c test
step "C unit tests (ASan+UBSan)" make -s -C test/c asan
step "C unit tests (valgrind)" make -s -C test/c valgrind
step "PKCS#11 bridge against SoftHSM2 (plain and valgrind)" make -s -C test/c p11 VALGRIND_P11=1
step "FROST (RFC 9591 vectors, properties) and BIP-340 vectors (gcc, valgrind)" make -s -C test/c frost
step "FROST and BIP-340 (ASan+UBSan)" make -s -C test/c frost-asan
# libFuzzer is chatty: keep its log, show the end of it only on failure.
fuzz() {
  local log="$ROOT/test/c/build/fuzz.log"
  mkdir -p "$(dirname "$log")"
  if make -s -C test/c fuzz fuzz-frost FUZZ_SECONDS="${FUZZ_SECONDS:-15}" > "$log" 2>&1; then
    grep -E "^Done [0-9]+ runs" "$log"
  else
    tail -60 "$log"; return 1
  fi
}
step "fuzzing (${FUZZ_SECONDS:-15}s per C parser)" fuzz
step "pg_regress and isolation specs" regress
step "pgTAP invariants" pgtap
step "standalone proof verifier" proof_tool
step "scenarios (concurrency, crash, tamper, HSM, Ethereum node, price feeds, long reconciliation runs and pg_cron)" prove test/scenarios/

# The engine's per-session caches (accounts.c: account attributes; rowlock.c:
# where each account row was last found) start over when full.  The same
# pg_regress run with room for three entries each goes through those resets
# on nearly every call; the normal build is installed again afterwards.
small_caches() {
  local rc=0 cached="src/ledger/accounts.c src/ledger/rowlock.c"
  touch $cached   # rebuilt with other flags: make does not see a change of flags
  # (a restart may pick another free port: read the cluster's settings again)
  if make -s TPW_DEFINES="-DMAX_CACHED_ACCOUNTS=3 -DMAX_REMEMBERED_ROOTS=3" >/dev/null &&
     make -s install >/dev/null && scripts/cluster.sh restart >/dev/null; then
    eval "$(scripts/cluster.sh env)"
    regress || rc=1
  else
    rc=1
  fi
  touch $cached
  make -s >/dev/null && make -s install >/dev/null && scripts/cluster.sh restart >/dev/null || rc=1
  eval "$(scripts/cluster.sh env)"
  return $rc
}
step "pg_regress and isolation with the per-session caches bounded to 3 entries" small_caches

echo
[ ${#failures[@]} -eq 0 ] || echo "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
