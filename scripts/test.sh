#!/usr/bin/env bash
# The project's test command (`npm test`): formatting, lints, native tests,
# and a wasm32 build of the engine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets -- -D warnings
echo "== cargo build (wasm32)"
cargo build --lib --target wasm32-unknown-unknown
echo "== cargo test"
cargo test
