#!/usr/bin/env bash
# The throwaway local cluster (tpwallet's embedded default).
#
#   scripts/cluster.sh init     create it (under .cluster/, owned by the postgres user)
#   scripts/cluster.sh start    start it on a free private port (init first if needed)
#   scripts/cluster.sh stop     stop it
#   scripts/cluster.sh restart  stop, then start
#   scripts/cluster.sh status   say whether it runs, and where
#   scripts/cluster.sh psql ... psql into the tpwallet database as the superuser
#   scripts/cluster.sh env      print PGHOST/PGPORT/PGUSER/PGDATABASE exports
#   scripts/cluster.sh destroy  stop it and remove its folder
#
# PostgreSQL refuses to run as root, so the server runs as an unprivileged
# user (TPW_PG_USER, default "postgres"), listening on loopback and on a
# Unix socket inside the cluster folder.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PGBIN=${PGBIN:-$(pg_config --bindir)}
PGUSER_OS=${TPW_PG_USER:-postgres}
DB=${TPW_DB:-tpwallet}

as_pg() {
  if [ "$(id -un)" = "$PGUSER_OS" ]; then "$@"; else runuser -u "$PGUSER_OS" -- "$@"; fi
}

# The folder must be reachable by the server's user; a clone under /root is
# not, so fall back to a folder named after the clone in /var/tmp.
cluster_dir() {
  if [ -n "${TPW_CLUSTER_DIR:-}" ]; then echo "$TPW_CLUSTER_DIR"; return; fi
  local local_dir="$ROOT/.cluster"
  mkdir -p "$local_dir"
  if [ "$(id -u)" -eq 0 ]; then chown "$PGUSER_OS" "$local_dir"; fi
  if as_pg test -w "$local_dir" 2>/dev/null; then echo "$local_dir"; return; fi
  local alt="/var/tmp/tpwallet-cluster-$(echo -n "$ROOT" | sha256sum | cut -c1-12)"
  mkdir -p "$alt"; chown "$PGUSER_OS" "$alt"
  echo "$alt"
}

DIR=$(cluster_dir)
DATA="$DIR/data"
PORTFILE="$DIR/port"

free_port() {
  local p
  for p in $(seq 54329 54429); do
    if ! (ss -Htln "sport = :$p" 2>/dev/null | grep -q .) && [ ! -e "$DIR/.s.PGSQL.$p" ]; then
      echo "$p"; return
    fi
  done
  echo "cluster: no free port in 54329-54429" >&2; exit 1
}

running() { [ -f "$DATA/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

do_init() {
  if [ -f "$DATA/PG_VERSION" ]; then return; fi
  if ! id "$PGUSER_OS" >/dev/null 2>&1; then
    echo "cluster: the user '$PGUSER_OS' does not exist (it comes with the postgresql package; run scripts/setup.sh)" >&2
    exit 1
  fi
  as_pg "$PGBIN/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >/dev/null
  chmod 700 "$DIR"
  # The server key of the 'local' key backend: 32 random bytes, readable by
  # the server's user only, named by a superuser-only GUC, never in a table.
  if [ ! -f "$DIR/server.key" ]; then
    as_pg sh -c "umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > '$DIR/server.key'"
  fi
  cat >> "$DATA/postgresql.conf" <<CONF

# ---- tpwallet throwaway cluster ----
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
shared_preload_libraries = 'tpwallet,pg_cron'
tpwallet.database = '$DB'
tpwallet.seal_interval = '2s'
tpwallet.key_file = '$DIR/server.key'
cron.database_name = '$DB'
cron.use_background_workers = on
max_connections = 100
shared_buffers = '512MB'
max_wal_size = '4GB'
logging_collector = off
log_min_messages = warning
CONF
  echo "cluster: created in $DATA"
}

# SoftHSM2, the HSM of the throwaway cluster: a token "tpwallet" in a
# private folder, its user PIN in a file only the server's user can read.
# The server finds the token through SOFTHSM2_CONF in its environment.
HSM_DIR="$DIR/softhsm"
HSM_MODULE=${TPW_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
init_hsm() {
  if [ -f "$HSM_DIR/softhsm2.conf" ]; then return; fi
  if [ ! -f "$HSM_MODULE" ]; then echo "cluster: no PKCS#11 module at $HSM_MODULE (run scripts/setup.sh)" >&2; return; fi
  as_pg mkdir -p "$HSM_DIR/tokens"
  as_pg sh -c "printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' '$HSM_DIR/tokens' > '$HSM_DIR/softhsm2.conf'"
  as_pg sh -c "umask 077; head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' > '$DIR/hsm.pin'"
  as_pg env SOFTHSM2_CONF="$HSM_DIR/softhsm2.conf" softhsm2-util --init-token --free --label tpwallet \
    --pin "$(cat "$DIR/hsm.pin")" --so-pin "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >/dev/null
  cat >> "$DATA/postgresql.conf" <<CONF
tpwallet.pkcs11_module = '$HSM_MODULE'
tpwallet.pkcs11_token = 'tpwallet'
tpwallet.pkcs11_pin_file = '$DIR/hsm.pin'
CONF
  echo "cluster: SoftHSM2 token 'tpwallet' in $HSM_DIR"
}

# Run a command with only stdin, stdout and stderr open: a server must not
# keep the files of whoever started it (a lock held around a test run, a
# pipe a caller waits on).
without_inherited_fds() {
  (
    for fd in $(ls /proc/$BASHPID/fd); do
      case $fd in 0|1|2|255) ;; *) eval "exec $fd>&-" ;; esac
    done
    "$@"
  )
}

do_start() {
  do_init
  init_hsm
  if running; then return; fi
  local port; port=$(free_port)
  echo "$port" > "$PORTFILE"
  without_inherited_fds as_pg env SOFTHSM2_CONF="$HSM_DIR/softhsm2.conf" \
    "$PGBIN/pg_ctl" -D "$DATA" -o "-p $port" -l "$DIR/server.log" -w -t 60 start >/dev/null
  as_pg "$PGBIN/psql" -h "$DIR" -p "$port" -U postgres -d postgres -qAtc \
    "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 ||
    as_pg "$PGBIN/createdb" -h "$DIR" -p "$port" -U postgres "$DB"
  echo "cluster: running on port $port (socket in $DIR)"
}

do_stop() {
  if running; then as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; echo "cluster: stopped"; fi
}

port() { cat "$PORTFILE" 2>/dev/null || echo 54329; }

case "${1:-status}" in
  init) do_init ;;
  start) do_start ;;
  stop) do_stop ;;
  restart) do_stop; do_start ;;
  status)
    if running; then echo "cluster: running on port $(port), data in $DATA"; else echo "cluster: not running ($DATA)"; exit 3; fi ;;
  psql) shift; exec "$PGBIN/psql" -h "$DIR" -p "$(port)" -U postgres -d "$DB" -v ON_ERROR_STOP=1 "$@" ;;
  env) echo "export PGHOST='$DIR' PGPORT='$(port)' PGUSER=postgres PGDATABASE='$DB' PGDATA='$DATA' SOFTHSM2_CONF='$HSM_DIR/softhsm2.conf'" ;;
  destroy) do_stop; rm -rf "$DIR"; echo "cluster: removed $DIR" ;;
  *) sed -n '2,15p' "$0"; exit 2 ;;
esac
