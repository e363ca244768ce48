# Shared by the .ci scripts: Debian packages installed only when missing, only as root with
# apt-get, and never a failure of their own. Source it, then call
# `need_command COMMAND PACKAGE...`: 0 when COMMAND is (now) on PATH; otherwise it prints
# why not on stderr and returns 1, so the caller skips the step that needs it, saying so.

need_command() {
  local command=$1
  shift
  local package="$*"
  if command -v "$command" >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "note: $command not found and cannot be installed here (needs root and apt-get for the Debian package(s) $package)" >&2
    return 1
  fi
  echo "installing the Debian package(s) $package (for $command)" >&2
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; then
      echo "note: apt-get could not install $package (for $command)" >&2
      return 1
    fi
  fi
  if ! command -v "$command" >/dev/null 2>&1; then
    echo "note: $package was installed but $command is still not on PATH" >&2
    return 1
  fi
}

# `need_target TRIPLE`: 0 when the rustup target is (now) installed; otherwise prints why
# not and returns 1.
need_target() {
  local target=$1
  if rustup target list --installed | grep -qx "$target"; then
    return 0
  fi
  if ! rustup target add "$target" >/dev/null 2>&1; then
    echo "note: the Rust target $target could not be installed here (rustup target add failed)" >&2
    return 1
  fi
}
