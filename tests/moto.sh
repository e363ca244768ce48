# Shared by tests/run.sh and benches/run.sh: install and start moto_server.
# Source it, then call `start_moto`; it exports AWSIDEMAN_TEST_MOTO and stops the server
# when the calling shell exits.

MOTO_VERSION=5.2.5
VENV=${AWSIDEMAN_TEST_VENV:-.venv}
PYTHON=${PYTHON:-python3}

ensure_moto() {
  if ! "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    echo "installing moto[server]==$MOTO_VERSION into $VENV" >&2
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  fi
}

start_moto() {
  ensure_moto
  local port
  port=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p target
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >target/moto_server.log 2>&1 &
  MOTO_PID=$!
  trap 'kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    if "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
      export AWSIDEMAN_TEST_MOTO="http://127.0.0.1:$port"
      echo "moto_server $MOTO_VERSION on $AWSIDEMAN_TEST_MOTO" >&2
      return 0
    fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
      echo "moto_server failed to start:" >&2
      cat target/moto_server.log >&2
      return 1
    fi
    sleep 0.2
  done
  echo "moto_server did not answer in time" >&2
  return 1
}
