#!/usr/bin/env bash
# Runs the whole awsideman test suite against a local AWS emulator (moto_server).
#
# Installs moto[server] (pinned) into .venv when missing, starts moto_server on a free
# 127.0.0.1 port, runs `cargo test` with AWSIDEMAN_TEST_MOTO pointing at it, and stops the
# server whatever happens. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.5
VENV=${AWSIDEMAN_TEST_VENV:-.venv}
PYTHON=${PYTHON:-python3}

if ! "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  echo "tests/run.sh: installing moto[server]==$MOTO_VERSION into $VENV" >&2
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

port=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p target
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >target/moto_server.log 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  if "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then
    echo "tests/run.sh: moto_server failed to start:" >&2
    cat target/moto_server.log >&2
    exit 1
  fi
  sleep 0.2
done

export AWSIDEMAN_TEST_MOTO="http://127.0.0.1:$port"
echo "tests/run.sh: moto_server $MOTO_VERSION on $AWSIDEMAN_TEST_MOTO" >&2
cargo test "$@"
