#!/usr/bin/env bash
# `npm start`: builds the wasm package (skipping what is up to date) and
# serves the demo (www/) and the package (/pkg/) on http://127.0.0.1:8080
# (PORT overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
NEURALDB_SETUP=build bash scripts/build-wasm.sh
exec node scripts/serve.mjs
