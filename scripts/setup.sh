#!/usr/bin/env bash
# Installs what the build and tests need on a fresh machine that has only
# Rust, Node and npm. Idempotent and quick when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "setup: adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for c in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$c"; then
    echo "setup: adding rustup component $c"
    rustup component add "$c"
  fi
done

# wasm-bindgen's CLI must match the `=` pinned crate version exactly.
wb_version=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' Cargo.toml)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wb_version" ]; then
  echo "setup: installing wasm-bindgen-cli $wb_version"
  # --locked first; the registry mirror may lack a crate the CLI's lockfile
  # pins, and then the newest compatible versions are used instead.
  cargo install wasm-bindgen-cli --locked --version "$wb_version" ||
    cargo install wasm-bindgen-cli --version "$wb_version"
fi

# What follows is only for the tests; `npm start` skips it.
if [ "${NEURALDB_SETUP:-}" = build ]; then
  exit 0
fi

# Node packages (browser drivers, Vite for the packaging test).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi

# Browsers for the end-to-end tests (Debian packages; never downloaded by
# the drivers themselves).
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
[ -x /usr/bin/firefox-esr ] || missing+=(firefox-esr)
# PostgreSQL 15: psql and pgbench for the client suites; the server for
# dump/restore and the change-feed e2e test (a throwaway cluster).
command -v psql >/dev/null && command -v pgbench >/dev/null || missing+=(postgresql-client-15)
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: apt-get install ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
fi
