#!/usr/bin/env bash
# Concurrency: 8 pgbench clients move money between 1,000 accounts, then all
# credit one hot account, then run two-phase holds, while the sealer worker
# seals every couple of seconds.  No deadlock, no lost or extra entry, and
# every invariant holds afterwards (and in the middle of the load).
source "$(dirname "$0")/lib.sh"

cluster_up
DB=$(reset_tpwallet_db) || bail "reset the extension in the sealer's database"
WORK=$(mktemp -d /tmp/tpw-scn-concurrency.XXXXXX)
chmod 755 "$WORK"
trap '_cleanup; rm -rf "$WORK"' EXIT

T1=${TPW_SCN_T1:-15}   # seconds of random transfers
T2=${TPW_SCN_T2:-8}    # seconds on the hot account
T3=${TPW_SCN_T3:-10}   # seconds of holds

# ------------------------------------------------------------ setup
for sql in \
	"SELECT tpwallet.create_asset('USD', 2, 'fiat')" \
	"SELECT tpwallet.create_account('world', 'ops', 'USD', 'debit', true)" \
	"SELECT tpwallet.create_account('hot', 'ops', 'USD', 'credit')" \
	"SELECT count(tpwallet.create_account('u' || i, 'ops', 'USD', 'credit')) FROM generate_series(1, 1000) i" \
	"SELECT count(*) FROM tpwallet.post_batch((SELECT jsonb_agg(jsonb_build_object(
	   'debit_account', 'world', 'credit_account', 'u' || i, 'amount', '1000.00',
	   'reference', 'funding', 'idempotency_key', 'fund-' || i) ORDER BY i) FROM generate_series(1, 1000) i))"; do
	q "$DB" "$sql" >/dev/null || bail "setup: $sql"
done
is "$(q "$DB" "SELECT count(*) || ' ' || count(*) FILTER (WHERE balance = 1000) FROM tpwallet.account_balances WHERE account ~ '^u[0-9]+$'")" \
	"1000 1000" "1,000 user accounts funded with 1000.00 each"
is "$(q "$DB" "SELECT count(*) FROM tpwallet.journal")" 1000 "1,000 funding entries"

# pgbench scripts.  Amounts 0.01..1.00 against 1000.00 per account: no
# account can run dry in these few seconds, so every transaction must pass
# (pgbench 15 aborts a client on any error that is not a serialization
# failure or deadlock, and exits non-zero).
cat >"$WORK/transfer.sql" <<'EOF'
\set a random(1, 1000)
\set b random(1, 999)
\set b CASE WHEN :b >= :a THEN :b + 1 ELSE :b END
\set amt random(1, 100)
SELECT tpwallet.transfer('u' || :a, 'u' || :b, :amt / 100.0);
EOF
cat >"$WORK/hot.sql" <<'EOF'
\set a random(1, 1000)
\set amt random(1, 100)
SELECT tpwallet.transfer('u' || :a, 'hot', :amt / 100.0);
EOF
# hold, then post it in full, post half, void it, or leave it pending
cat >"$WORK/holds.sql" <<'EOF'
\set a random(1, 1000)
\set b random(1, 999)
\set b CASE WHEN :b >= :a THEN :b + 1 ELSE :b END
\set amt random(1, 100)
\set mode random(0, 3)
SELECT tpwallet.hold('u' || :a, 'u' || :b, :amt / 100.0, reference => 'mode-' || :mode) AS hid \gset
\if :mode = 0
SELECT tpwallet.post_hold(:hid);
\elif :mode = 1
SELECT tpwallet.post_hold(:hid, ((:amt + 1) / 2) / 100.0);
\elif :mode = 2
SELECT tpwallet.void_hold(:hid);
\endif
EOF

# pgb_start NAME SCRIPT SECONDS; pgb_finish NAME: run pgbench in the
# background; pgb_finish leaves PGB_RC, PGB_TX, PGB_FAILED and PGB_OUT.
pgb_start() {
	PGB_SECS=$3
	bg PGB_PID "$PGBIN/pgbench" -n -c 8 -j 2 -T "$3" -f "$2" "$DB" >"$WORK/$1.out" 2>&1
}
pgb_finish() {
	wait_pid "$PGB_PID" $((PGB_SECS + 60))
	PGB_RC=$?
	PGB_OUT="$WORK/$1.out"
	PGB_TX=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$PGB_OUT")
	PGB_FAILED=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$PGB_OUT")
	note "$1: $(grep -E '^(number of transactions actually|number of failed|tps)' "$PGB_OUT" | tr '\n' ';')"
}
pgb() { pgb_start "$@"; pgb_finish "$1"; }
pgb_asserts() {
	local name=$1
	is "$PGB_RC" 0 "$name: pgbench exits with status 0"
	[ "$PGB_RC" = 0 ] || diag "$(tail -20 "$PGB_OUT")"
	cmp_ok "${PGB_TX:-0}" -gt 100 "$name: pgbench processed transactions (${PGB_TX:-none})"
	is "${PGB_FAILED:-missing}" 0 "$name: pgbench reports no failed transaction"
	unlike "$(cat "$PGB_OUT")" "deadlock detected|aborted|ERROR" "$name: no deadlock, error or aborted client in pgbench output"
}
count() { q "$DB" "SELECT count(*) FROM $1"; }

MARK=$(log_mark)
SEALS0=$(count tpwallet.seals)
START=$(q "$DB" "SELECT clock_timestamp()")

# ------------------------------------------------------------ run 1: transfers
J0=$(count tpwallet.journal)
pgb_start transfers "$WORK/transfer.sql" "$T1"
# In the middle of the load, under one snapshot, the books must add up.
sleep $((T1 / 2))
MID=$(q "$DB" "SELECT (SELECT count(*) FROM tpwallet.check_balances()) || ' '
                   || (SELECT count(*) FROM (SELECT asset FROM tpwallet.account_balances GROUP BY asset
                                              HAVING sum(debits_posted - credits_posted) <> 0) x)" 2>&1)
is "$MID" "0 0" "during the load: check_balances() is empty and totals sum to zero (one snapshot)"
MIDV=$(q "$DB" "SELECT string_agg(book || '=' || ok, ' ' ORDER BY book) FROM tpwallet.verify_ledger()" 2>&1)
is "$MIDV" "gl=true ops=true" "during the load: verify_ledger() is ok while the sealer seals"
pgb_finish transfers
pgb_asserts transfers
J1=$(count tpwallet.journal)
NEW=$((J1 - J0))
cmp_ok "$NEW" -ge "${PGB_TX:-0}" "transfers: journal entries ($NEW) >= pgbench transactions (${PGB_TX:-0})"
cmp_ok "$NEW" -le "$((${PGB_TX:-0} + 8))" "transfers: journal entries ($NEW) <= transactions + clients in flight"
is "$(q "$DB" "SELECT count(*) FROM tpwallet.journal WHERE id > (SELECT max(id) FROM tpwallet.journal WHERE reference = 'funding') AND kind <> 'transfer'")" 0 \
	"transfers: every new entry is a transfer"
is "$(q "$DB" "SELECT sum(balance) = 1000000 FROM tpwallet.account_balances WHERE account ~ '^u[0-9]+$'")" t \
	"transfers: money moved between users only (their total is unchanged)"

# ------------------------------------------------------------ run 2: one hot account
H0=$(count "tpwallet.postings p JOIN tpwallet.accounts a ON a.id = p.account_id WHERE a.code = 'hot'")
pgb hot "$WORK/hot.sql" "$T2"
pgb_asserts hot
H1=$(count "tpwallet.postings p JOIN tpwallet.accounts a ON a.id = p.account_id WHERE a.code = 'hot'")
cmp_ok "$((H1 - H0))" -ge "${PGB_TX:-0}" "hot: postings on the hot account ($((H1 - H0))) >= transactions (${PGB_TX:-0})"
cmp_ok "$((H1 - H0))" -le "$((${PGB_TX:-0} + 8))" "hot: postings on the hot account <= transactions + clients in flight"
is "$(q "$DB" "SELECT b.balance = (SELECT -sum(p.amount) FROM tpwallet.postings p JOIN tpwallet.accounts a ON a.id = p.account_id WHERE a.code = 'hot')
                  AND b.balance + (SELECT sum(balance) FROM tpwallet.account_balances WHERE account ~ '^u[0-9]+$') = 1000000.00
             FROM tpwallet.account_balances b WHERE b.account = 'hot'")" t \
	"hot: the hot account's balance is the sum of its credits, taken from the users"

# ------------------------------------------------------------ run 3: holds
HOLDS0=$(count tpwallet.holds)
J2=$(count tpwallet.journal)
pgb holds "$WORK/holds.sql" "$T3"
pgb_asserts holds
HOLDS=$(($(count tpwallet.holds) - HOLDS0))
cmp_ok "$HOLDS" -ge "${PGB_TX:-0}" "holds: holds created ($HOLDS) >= script runs (${PGB_TX:-0})"
cmp_ok "$HOLDS" -le "$((${PGB_TX:-0} + 8))" "holds: holds created <= script runs + clients in flight"
is "$(q "$DB" "SELECT count(*) FROM tpwallet.hold_resolutions r JOIN tpwallet.holds h ON h.id = r.hold_id
                WHERE r.resolution = 'posted' AND h.reference NOT IN ('mode-0', 'mode-1')
                   OR r.resolution = 'voided' AND h.reference <> 'mode-2'
                   OR h.reference = 'mode-3'")" 0 "holds: each hold was resolved as its script chose (and mode-3 ones stay open)"
is "$(q "$DB" "SELECT count(*) FROM tpwallet.hold_resolutions r JOIN tpwallet.holds h ON h.id = r.hold_id
                WHERE r.resolution = 'posted' AND r.amount <> CASE h.reference WHEN 'mode-0' THEN h.amount
                                                                   ELSE ceil(h.amount * 50) / 100 END")" 0 \
	"holds: posted amounts are the full or the half amounts asked for"
is "$(($(count tpwallet.journal) - J2))" "$(q "$DB" "SELECT count(*) FROM tpwallet.hold_resolutions WHERE resolution = 'posted'")" \
	"holds: one journal entry per posted hold, none for holds and voids"
is "$(q "$DB" "SELECT count(*) FROM tpwallet.journal j JOIN tpwallet.hold_resolutions r ON r.entry_id = j.id WHERE j.hold_id = r.hold_id")" \
	"$(q "$DB" "SELECT count(*) FROM tpwallet.hold_resolutions WHERE resolution = 'posted'")" \
	"holds: every posting resolution points at its journal entry"
cmp_ok "$(q "$DB" "SELECT count(*) FROM tpwallet.holds h WHERE NOT EXISTS (SELECT 1 FROM tpwallet.hold_resolutions r WHERE r.hold_id = h.id)")" -gt 0 \
	"holds: some holds are left pending (so check_pending has work)"

# ------------------------------------------------------------ afterwards
LOG=$(log_since "$MARK")
unlike "$LOG" "deadlock detected" "server log: no deadlock during the runs"
unlike "$LOG" "tpwallet sealer: [a-z ]* failed" "server log: no sealer step failed during the runs"
unlike "$LOG" "PANIC|TRAP:|terminated by signal|server process .* was terminated" "server log: no crash during the runs"
BLOCKS=$(q "$DB" "SELECT count(*) FROM tpwallet.seals WHERE book = 'ops' AND sealed_at > '$START'")
cmp_ok "$BLOCKS" -gt 1 "the sealer worker sealed several blocks during the runs ($BLOCKS)"
cmp_ok "$(q "$DB" "SELECT count(*) FROM tpwallet.seals WHERE book = 'ops'")" -gt "$SEALS0" "more blocks than before the runs"
check_invariants "$DB" "after the load"
cmp_ok "$(q "$DB" "SELECT count(*) FROM tpwallet.seals WHERE book = 'ops'")" -gt 1 "verify_ledger covered more than one block"

# ------------------------------------------------------------ two seal() calls at once
# The second caller waits on the book's advisory lock; once the first
# commits, it must seal what is left (nothing), not collide with its block.
RDB=tpw_scn_sealrace
if fresh_db "$RDB"; then
	for sql in "SELECT tpwallet.create_asset('USD', 2, 'fiat')" \
		"SELECT tpwallet.create_account('world', 'ops', 'USD', 'debit', true)" \
		"SELECT tpwallet.create_account('u1', 'ops', 'USD', 'credit')" \
		"SELECT tpwallet.transfer('world', 'u1', 10)"; do
		q "$RDB" "$sql" >/dev/null || fail "seal race setup: $sql"
	done
	bg SA "$PGBIN/psql" -X -qAt -d "$RDB" -c "BEGIN" -c "SELECT tpwallet.seal()" -c "SELECT pg_sleep(3)" -c "COMMIT" >/dev/null
	for i in $(seq 1 50); do
		[ "$(q "$RDB" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = 1")" = 1 ] && break
		sleep 0.1
	done
	is "$(sqlstate "$RDB" "SELECT tpwallet.seal()")" OK "a seal() that waited for another seal() succeeds"
	wait_pid "$SA" 30
	is "$(q "$RDB" "SELECT count(*) FILTER (WHERE ok) FROM tpwallet.verify_ledger()")" 2 "seal race: the ledger still verifies"
	q postgres "DROP DATABASE IF EXISTS $RDB WITH (FORCE)" >/dev/null
else
	fail "fresh database $RDB"
fi

done_testing
