#!/usr/bin/env bash
# Benchmarks awsideman against a local moto_server, next to the aws CLI: builds the release
# binary, installs the pinned aws CLI into its own venv (awscli pins botocore exactly, so it
# cannot share moto's .venv), builds the wait4 helper that times each command and reads its
# peak RSS, starts moto, and runs benches/bench.py: it seeds moto, measures (starting a
# second moto_server for the scale section and a throttling proxy for the bulk rows), and
# writes medians, peak RSS, ratios and request counts to benches/RESULTS.md. Not part of
# the test suite. A default run takes several minutes; --scale 100000 hours (moto checks
# each new user against all, and builds every user for each page of ListUsers: at 30,000
# users seeding took 2 minutes and one cold `user list` 54 s), so pair it with --slow-runs 1.
# Extra arguments go to benches/bench.py: --runs N (default 20), --slow-runs N (the cold and
# aws CLI rows at scale and the backups, default 3), --scale N (users in the scale section's
# own moto_server, default 10000; e.g. --scale 100000), --scale-only (measure only the scale
# section, into benches/RESULTS-scale.md: `benches/run.sh --scale-only --scale 100000
# --slow-runs 1` is the 100,000-user run).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/moto.sh

AWSCLI_VERSION=1.46.3
AWSCLI_VENV=${AWSIDEMAN_BENCH_VENV:-target/bench-venv}

ensure_awscli() {
  if ! "$AWSCLI_VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('awscli') != '$AWSCLI_VERSION')" 2>/dev/null; then
    echo "installing awscli==$AWSCLI_VERSION into $AWSCLI_VENV" >&2
    "$PYTHON" -m venv "$AWSCLI_VENV"
    "$AWSCLI_VENV/bin/pip" install --quiet --disable-pip-version-check "awscli==$AWSCLI_VERSION"
  fi
}

cargo build --release --quiet
# Times each command and reads its peak RSS (see the file); one file, no crate.
rustc --edition 2024 -O -o target/bench-wait4 benches/tools/wait4.rs
crypto=()
if [[ " $* " != *" --scale-only "* ]]; then
  { cargo bench --quiet --bench crypto; echo; cargo bench --quiet --bench cache; } > target/crypto-bench.md
  crypto=(--crypto target/crypto-bench.md)
fi
ensure_awscli
start_moto
"$VENV/bin/python" -B benches/bench.py --binary target/release/awsideman --aws "$AWSCLI_VENV/bin/aws" \
  --endpoint "$AWSIDEMAN_TEST_MOTO" --moto-server "$AWSIDEMAN_TEST_MOTO_SERVER" "${crypto[@]}" "$@"
