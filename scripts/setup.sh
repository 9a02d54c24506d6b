#!/usr/bin/env bash
# Install every Debian package tpwallet needs to build, run, test and benchmark.
# Idempotent: a second run installs nothing new. Needs root (apt-get).
set -euo pipefail

PACKAGES=(
  # build
  build-essential pkg-config clang llvm libclang-rt-14-dev
  # PostgreSQL 15 server, headers and the extensions/tools we test with
  postgresql-15 postgresql-server-dev-15 postgresql-client-15 postgresql-contrib
  postgresql-15-cron postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
  libipc-run-perl
  # crypto, HTTP
  libsecp256k1-dev libssl-dev libcurl4-openssl-dev
  # HSM (SoftHSM2 + pkcs11-tool)
  softhsm2 opensc
  # test and benchmark tools
  valgrind python3 jq procps iproute2 util-linux perl
)

if [ "$(id -u)" -ne 0 ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all packages present"
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
# The Debian package starts a system cluster on port 5432; tpwallet never uses it.
command -v pg_config >/dev/null
echo "setup: PostgreSQL $(pg_config --version), libsecp256k1 $(dpkg-query -W -f='${Version}' libsecp256k1-dev)"
