#!/usr/bin/env bash
# Set up everything and run the main job on the throwaway local cluster:
# create the extension, load a small realistic demo (assets, user wallets,
# deposits, a withdrawal with a fee, a hold, a reversal), sign the
# withdrawal as an Ethereum transaction with a key in SoftHSM2, value every
# wallet from three price sources (one of them wrong), seal the ledger,
# verify it, print balances, and check one entry's inclusion proof with the
# standalone verifier.  Run as root on Debian 12.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

scripts/setup.sh
make -s >/dev/null
make -s install >/dev/null
scripts/cluster.sh restart
eval "$(scripts/cluster.sh env)"

psql -X -q -v ON_ERROR_STOP=1 -c "DROP EXTENSION IF EXISTS tpwallet CASCADE" -c "CREATE EXTENSION tpwallet" 2>&1 |
  grep -v "does not exist, skipping" || true
psql -X -v ON_ERROR_STOP=1 -f examples/demo.sql

echo "== Inclusion proof of the withdrawal, checked outside the database (tools/verify_proof.py)"
id=$(psql -XAtc "SELECT id FROM tpwallet.journal WHERE idempotency_key = 'withdrawal-88'")
psql -XAtc "SELECT tpwallet.prove_entry($id)" | python3 tools/verify_proof.py
echo
echo "The cluster keeps running: scripts/cluster.sh psql opens a prompt in database '$PGDATABASE'; scripts/cluster.sh stop stops it."
