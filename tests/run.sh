#!/usr/bin/env bash
# Runs the whole awsideman test suite against local AWS emulators (moto_server, dynalite).
#
# Installs moto[server] (pinned) into .venv and dynalite (npm, pinned) into target/node when
# missing, starts them on free 127.0.0.1 ports (two moto_servers, each test using one, as
# moto is the bottleneck and answers one request at a time), runs `cargo test` with
# AWSIDEMAN_TEST_MOTO(S) and AWSIDEMAN_TEST_DYNALITE pointing at them, and stops them
# whatever happens. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/moto.sh
start_moto 2
start_dynalite
# Four tests at a time on two cores: much of a test's time is spent waiting on an emulator
# or a timer (on two cores: 184 s for the end-to-end tests, against 267 s with two at a time).
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-4}"
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
