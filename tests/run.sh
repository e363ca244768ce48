#!/usr/bin/env bash
# Runs the whole awsideman test suite against a local AWS emulator (moto_server).
#
# Installs moto[server] (pinned) into .venv when missing, starts moto_server on a free
# 127.0.0.1 port, runs `cargo test` with AWSIDEMAN_TEST_MOTO pointing at it, and stops the
# server whatever happens. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/moto.sh
start_moto
cargo test "$@"
