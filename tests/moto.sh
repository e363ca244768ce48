# Shared by tests/run.sh and benches/run.sh: install and start the local AWS emulators.
# Source it, then call `start_moto` (exports AWSIDEMAN_TEST_MOTO(S), and
# AWSIDEMAN_TEST_MOTO_SERVER: the moto_server executable, for tests that start and stop a
# private one) and optionally `start_dynalite` (exports AWSIDEMAN_TEST_DYNALITE, the
# stricter DynamoDB); both stop when the calling shell exits.

MOTO_VERSION=5.2.5
VENV=${AWSIDEMAN_TEST_VENV:-.venv}
PYTHON=${PYTHON:-python3}
DYNALITE_VERSION=4.0.0
NODE_DIR=${AWSIDEMAN_TEST_NODE_DIR:-target/node}
MOTO_PID=
DYNALITE_PID=

# Stops whichever emulators this shell started.
stop_emulators() {
  local pid
  for pid in $MOTO_PID $DYNALITE_PID; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

ensure_moto() {
  if ! "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    echo "installing moto[server]==$MOTO_VERSION into $VENV" >&2
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  fi
}

# `start_moto [N]` starts N moto_servers (default 1): AWSIDEMAN_TEST_MOTO is the first,
# AWSIDEMAN_TEST_MOTOS all of them, space-separated. moto handles one request at a time (one
# core at most), so the test suite spreads its tests over two.
start_moto() {
  ensure_moto
  AWSIDEMAN_TEST_MOTO_SERVER="$(cd "$VENV/bin" && pwd)/moto_server"
  export AWSIDEMAN_TEST_MOTO_SERVER
  trap stop_emulators EXIT
  local urls=() i
  for i in $(seq 1 "${1:-1}"); do
    start_one_moto "$i" || return 1
    urls+=("$STARTED_MOTO")
  done
  export AWSIDEMAN_TEST_MOTO="${urls[0]}"
  export AWSIDEMAN_TEST_MOTOS="${urls[*]}"
  echo "moto_server $MOTO_VERSION on ${urls[*]}" >&2
}

# Starts moto_server number $1 on a free port; sets STARTED_MOTO to its URL.
start_one_moto() {
  local port pid log="target/moto_server-$1.log"
  port=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p target
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  pid=$!
  MOTO_PID="$MOTO_PID $pid"
  for _ in $(seq 1 100); do
    if "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
      STARTED_MOTO="http://127.0.0.1:$port"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "moto_server failed to start:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "moto_server did not answer in time" >&2
  return 1
}

# dynalite (npm) is a DynamoDB emulator as strict as AWS on item size (400 KB, attribute
# names included) and batch size (25 writes). Installed into $NODE_DIR (under the ignored
# target/) when missing. Without node and npm it prints a note and leaves
# AWSIDEMAN_TEST_DYNALITE unset: the tests that need it then skip, saying so.
start_dynalite() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "note: node/npm not found: the dynalite tests will be skipped" >&2
    return 0
  fi
  local cli="$NODE_DIR/node_modules/dynalite/cli.js" installed
  installed=$(node -p 'require(require("path").resolve(process.argv[1])).version' \
    "$NODE_DIR/node_modules/dynalite/package.json" 2>/dev/null || true)
  if [ "$installed" != "$DYNALITE_VERSION" ]; then
    echo "installing dynalite@$DYNALITE_VERSION into $NODE_DIR" >&2
    mkdir -p "$NODE_DIR"
    if ! npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error \
        "dynalite@$DYNALITE_VERSION" >&2; then
      echo "note: npm install dynalite failed: the dynalite tests will be skipped" >&2
      return 0
    fi
  fi
  local port
  port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
  mkdir -p target
  node "$cli" --host 127.0.0.1 --port "$port" --createTableMs 0 --deleteTableMs 0 \
    --updateTableMs 0 >target/dynalite.log 2>&1 &
  DYNALITE_PID=$!
  trap stop_emulators EXIT
  for _ in $(seq 1 100); do
    if node -e "require('http').get('http://127.0.0.1:$port/', () => process.exit(0)).on('error', () => process.exit(1))" 2>/dev/null; then
      export AWSIDEMAN_TEST_DYNALITE="http://127.0.0.1:$port"
      echo "dynalite $DYNALITE_VERSION on $AWSIDEMAN_TEST_DYNALITE" >&2
      return 0
    fi
    if ! kill -0 "$DYNALITE_PID" 2>/dev/null; then
      echo "dynalite failed to start:" >&2
      cat target/dynalite.log >&2
      return 1
    fi
    sleep 0.1
  done
  echo "dynalite did not answer in time" >&2
  return 1
}
