#!/usr/bin/env bash
# Runs the whole awsideman test suite against local AWS emulators (moto_server, dynalite).
#
# Installs moto[server] (pinned) into .venv and dynalite (npm, pinned) into target/node when
# missing, starts both on free 127.0.0.1 ports, runs `cargo test` with AWSIDEMAN_TEST_MOTO
# and AWSIDEMAN_TEST_DYNALITE pointing at them, and stops them whatever happens. Extra
# arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/moto.sh
start_moto
start_dynalite
cargo test "$@"

# The OS keyring (Linux kernel keyutils) needs a session keyring, which CI shells lack:
# test it inside one. keyutils comes from Debian; install it when we can.
if [ $# -eq 0 ] && [ "$(uname)" = Linux ]; then
  if ! command -v keyctl >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get install -y -qq keyutils >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq keyutils >/dev/null 2>&1; }) || true
  fi
  if command -v keyctl >/dev/null 2>&1; then
    keyctl session - env AWSIDEMAN_TEST_REQUIRE_KEYRING=1 cargo test --lib cache::keys::keyring
  else
    echo "tests/run.sh: keyctl (Debian package keyutils) not found: keyring tests ran without a session keyring" >&2
  fi
fi
