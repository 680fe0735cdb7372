#!/usr/bin/env bash
# `npm start`. Until the browser runtime lands (issue 4), this builds the
# engine for wasm32 and runs the storage benchmark natively.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --lib --target wasm32-unknown-unknown
ls -l target/wasm32-unknown-unknown/release/neuraldb.wasm
cargo run --release --bin bench-storage -- "$@"
