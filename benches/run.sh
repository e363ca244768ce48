#!/usr/bin/env bash
# Benchmarks awsideman against a local moto_server: builds the release binary, seeds data,
# times commands over repeated runs and writes medians and ratios to benches/RESULTS.md.
# Not part of the test suite. Extra arguments go to benches/bench.py (e.g. --runs 30).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/moto.sh
cargo build --release --quiet
cargo bench --quiet --bench crypto > target/crypto-bench.md
start_moto
"$VENV/bin/python" benches/bench.py --binary target/release/awsideman --endpoint "$AWSIDEMAN_TEST_MOTO" \
  --crypto target/crypto-bench.md "$@"
