#!/usr/bin/env bash
# Long reconciliation runs: reconcile_window() over 20 days of items, in
# chunks of two hours.  While it works, another session watches recon_progress and
# a second run on the same sources is refused; then the working session is
# killed.  The job shows as interrupted with its finished chunks committed
# and the killed chunk left no trace; called again, it resumes at the first
# unfinished chunk and ends with every chunk reconciled exactly once.
# Finally pg_cron runs the procedure on its own.
source "$(dirname "$0")/lib.sh"

cluster_up
DAYS=20
PER_DAY=${TPW_SCN_RECON_PER_DAY:-3000}
DB=recon_jobs
q postgres "DROP DATABASE IF EXISTS $DB" >/dev/null
q postgres "CREATE DATABASE $DB" >/dev/null || bail "create database $DB"
q "$DB" "CREATE EXTENSION tpwallet" >/dev/null || bail "create the extension"
WORK=$(mktemp -d /tmp/tpw-scn-recon.XXXXXX)
trap '_cleanup; rm -rf "$WORK"' EXIT

# a ledger with PER_DAY deposits a day into the bank account, and the bank's
# statement with the same items (txid = reference), booked 1-10 minutes later
setup_data() {
	local db=$1 days=$2 per_day=$3
	q "$db" "SELECT tpwallet.create_asset('USD', 2, 'fiat')" >/dev/null &&
	q "$db" "SELECT tpwallet.create_account('bank:USD', 'ops', 'USD', 'debit')" >/dev/null &&
	q "$db" "SELECT tpwallet.create_account('world:USD', 'ops', 'USD', 'debit', allow_negative => true)" >/dev/null &&
	q "$db" "SELECT tpwallet.create_recon_source('ledger', 'ledger', '{\"accounts\": [\"bank:USD\"]}')" >/dev/null &&
	q "$db" "SELECT tpwallet.create_recon_source('bank', 'statement', '{\"asset\": \"USD\"}')" >/dev/null || return 1
	local d
	for ((d = 0; d < days; d++)); do
		q "$db" "SELECT count(*) FROM tpwallet.post_batch((SELECT jsonb_agg(jsonb_build_object(
		           'debit_account', 'bank:USD', 'credit_account', 'world:USD',
		           'amount', (1 + (i * 7919) % 100000)::numeric / 100, 'reference', 'd$d-' || i,
		           'occurred_at', timestamptz '2024-09-01Z' + $d * interval '1 day' + i * interval '1 day' / ($per_day + 1))
		           ORDER BY i) FROM generate_series(1, $per_day) i))" >/dev/null || return 1
		q "$db" "SELECT tpwallet.import_statement('bank', 'ext_id,amount,occurred_at,txid' || E'\n' ||
		           string_agg(format('S$d-%s,%s,%s,d$d-%s', i, (1 + (i * 7919) % 100000)::numeric / 100,
		             to_char((timestamptz '2024-09-01Z' + $d * interval '1 day' + i * interval '1 day' / ($per_day + 1)
		                      + (1 + i % 10) * interval '1 minute') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), i),
		             E'\n' ORDER BY i))
		           FROM generate_series(1, $per_day) i" >/dev/null || return 1
	done
}

setup_data "$DB" "$DAYS" "$PER_DAY" || bail "set up $DAYS days of $PER_DAY items a side"
note "$DAYS days of $PER_DAY items a side"
CHUNKS=$((DAYS * 12))
CALL_SQL="CALL tpwallet.reconcile_window('ledger', 'bank', '2024-09-01Z', '2024-09-$((DAYS + 1))Z', '{}', '2 hours')"

# ---------------------------------------------------------------- interrupted
bg RUNNER "$PGBIN/psql" -X -q -d "$DB" -c "$CALL_SQL" >"$WORK/run1.out" 2>&1
done_chunks=0
for i in $(seq 1 600); do
	done_chunks=$(q "$DB" "SELECT coalesce(max(chunks_done), 0) FROM tpwallet.recon_progress") || done_chunks=0
	[ "$done_chunks" -ge 3 ] && break
	sleep 0.1
done
cmp_ok "$done_chunks" -ge 3 "another session sees the job's progress while it runs ($done_chunks chunks done)"
like "$(q "$DB" "SELECT status || ' ' || percent || ' ' || (eta IS NOT NULL) FROM tpwallet.recon_progress")" \
	'^running [0-9.]+ true$' "recon_progress: running, a percentage and an estimated end"
is "$(sqlstate "$DB" "$CALL_SQL")" 55P03 "a second run on the same sources is refused while the job works (55P03)"
pid=$(q "$DB" "SELECT pid FROM tpwallet.recon_jobs WHERE status = 'running'")
q postgres "SELECT pg_terminate_backend($pid)" >/dev/null
wait_pid "$RUNNER" 30
for i in $(seq 1 50); do
	[ "$(q "$DB" "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid")" = 0 ] && break
	sleep 0.1
done
read -r status chunks runs <<<"$(q "$DB" "SELECT status, chunks_done, cardinality(runs) FROM tpwallet.recon_progress" | tr '|' ' ')"
is "$status" interrupted "after the kill the job shows as interrupted"
cmp_ok "$chunks" -lt "$CHUNKS" "it stopped part-way ($chunks of $CHUNKS chunks)"
is "$runs" "$chunks" "every finished chunk committed its run, the killed chunk none"
is "$(q "$DB" "SELECT count(*) FROM tpwallet.recon_runs WHERE job_id IS NULL OR status <> 'done'")" 0 \
	"no half-written run is left behind"

# ---------------------------------------------------------------- resumed
ok "called again with the same arguments, the job finishes" q "$DB" "$CALL_SQL"
is "$(q "$DB" "SELECT status || ' ' || chunks_done || ' ' || resumed FROM tpwallet.recon_progress")" "done $CHUNKS 1" \
	"done, all $CHUNKS chunks, resumed once"
is "$(q "$DB" "SELECT count(*) || ' ' || count(DISTINCT window_from) FROM tpwallet.recon_runs")" "$CHUNKS $CHUNKS" \
	"one run per chunk: no chunk reconciled twice, none skipped"
is "$(q "$DB" "SELECT bool_and(r.window_to = r.window_from + interval '2 hours')
                 AND min(r.window_from) = '2024-09-01Z' AND max(r.window_to) = '2024-09-$((DAYS + 1))Z'
               FROM tpwallet.recon_runs r")" t "the chunks tile the window"
# the pairs whose statement line is booked before the window's end; the
# few deposits of the last minutes whose line is booked after it stay open
total=$(q "$DB" "SELECT count(*) FROM tpwallet.recon_items WHERE entry_id IS NULL AND occurred_at < '2024-09-$((DAYS + 1))Z'")
late=$((DAYS * PER_DAY - total))
is "$(q "$DB" "SELECT count(*) FILTER (WHERE side = 'left') || ' ' || count(DISTINCT item_id) FROM tpwallet.recon_match_items")" \
	"$total $((2 * total))" "all $total pairs in the window matched, every item once"
is "$(q "$DB" "SELECT count(*) FROM tpwallet.recon_exceptions WHERE status <> 'resolved'")" "$late" \
	"open exceptions: only the $late deposits whose line is after the window (the others matched in the next chunk resolved theirs)"
is "$(q "$DB" "SELECT count(*) FROM tpwallet.audit_log WHERE action = 'reconcile_window_resume'")" 1 "the resumption is audited"
is "$(q "$DB" "SELECT (SELECT count(*) FROM tpwallet.verify_ledger() WHERE NOT ok) || ' ' || (SELECT count(*) FROM tpwallet.check_balances())")" \
	"0 0" "the ledger verifies and its balances agree"

# ---------------------------------------------------------------- pg_cron
CRON_DB=$(reset_tpwallet_db) || bail "reset the extension in the cron database"
if q "$CRON_DB" "CREATE EXTENSION IF NOT EXISTS pg_cron" >/dev/null 2>&1; then
	q "$CRON_DB" "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = 'tpw-recon-test'" >/dev/null
	setup_data "$CRON_DB" 2 200 || bail "set up data in $CRON_DB"
	ok "a reconciliation scheduled with pg_cron (every minute)" \
		q "$CRON_DB" "SELECT cron.schedule('tpw-recon-test', '* * * * *',
		                \$\$CALL tpwallet.reconcile_window('ledger', 'bank', '2024-09-01Z', '2024-09-03Z')\$\$)"
	state=""
	for i in $(seq 1 150); do
		state=$(q "$CRON_DB" "SELECT status FROM cron.job_run_details d JOIN cron.job j USING (jobid)
		                       WHERE j.jobname = 'tpw-recon-test' ORDER BY d.runid DESC LIMIT 1")
		[ "$state" = succeeded ] || [ "$state" = failed ] && break
		sleep 1
	done
	is "$state" succeeded "pg_cron ran it (within 150 s)"
	is "$(q "$CRON_DB" "SELECT status || ' ' || chunks_done FROM tpwallet.recon_progress ORDER BY job_id DESC LIMIT 1")" "done 2" \
		"the scheduled job reconciled both days"
	is "$(q "$CRON_DB" "SELECT count(*) FILTER (WHERE side = 'left') FROM tpwallet.recon_match_items")" \
		"$(q "$CRON_DB" "SELECT count(*) FROM tpwallet.recon_items WHERE entry_id IS NULL AND occurred_at < '2024-09-03Z'")" \
		"every pair in the window matched"
	q "$CRON_DB" "SELECT cron.unschedule('tpw-recon-test')" >/dev/null
else
	fail "pg_cron is installed in the cluster" "CREATE EXTENSION pg_cron failed in $CRON_DB"
fi

q postgres "DROP DATABASE IF EXISTS $DB" >/dev/null
done_testing
