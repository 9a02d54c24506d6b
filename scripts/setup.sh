#!/usr/bin/env bash
# Install every Debian package tpwallet needs to build, run, test and benchmark.
# Idempotent: a second run installs nothing new. Needs root (apt-get).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# A local Ethereum node for the integration tests, from the npm registry,
# pinned, into the project-local .tools/ (never system-wide).
ANVIL_PACKAGE=@foundry-rs/anvil-linux-amd64@1.7.1
ANVIL="$ROOT/.tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"

install_anvil() {
  if [ ! -x "$ANVIL" ]; then
    echo "setup: installing anvil ($ANVIL_PACKAGE) into .tools/"
    npm install --prefix "$ROOT/.tools" --no-audit --no-fund --loglevel=error "$ANVIL_PACKAGE" >/dev/null
  fi
  "$ANVIL" --version >/dev/null
}

PACKAGES=(
  # build
  build-essential pkg-config clang llvm libclang-rt-14-dev
  # PostgreSQL 15 server, headers and the extensions/tools we test with
  postgresql-15 postgresql-server-dev-15 postgresql-client-15 postgresql-contrib
  postgresql-15-cron postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
  libipc-run-perl
  # crypto, HTTP
  libsecp256k1-dev libssl-dev libcurl4-openssl-dev
  # HSM (SoftHSM2 + pkcs11-tool) and the PKCS#11 header
  softhsm2 opensc libp11-kit-dev
  # test and benchmark tools
  valgrind python3 jq curl procps iproute2 util-linux perl
)

if [ "$(id -u)" -ne 0 ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all packages present"
    command -v npm >/dev/null && install_anvil
    exit 0
  fi
  echo "setup: these Debian packages are missing: ${missing[*]}" >&2
  echo "setup: run this script as root (sudo $0), or ask an administrator to run:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
else
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# npm comes with the machine's Node.js; Debian's npm package otherwise.
if ! command -v npm >/dev/null; then
  echo "setup: installing npm (Debian)"
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
install_anvil
# The Debian package starts a system cluster on port 5432; tpwallet never uses it.
command -v pg_config >/dev/null
echo "setup: PostgreSQL $(pg_config --version), libsecp256k1 $(dpkg-query -W -f='${Version}' libsecp256k1-dev)"
