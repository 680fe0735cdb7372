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
