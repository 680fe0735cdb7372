#!/usr/bin/env bash
# `npm run build`: the engine for wasm32 (`wasm` profile, see Cargo.toml,
# SIMD128 via .cargo/config.toml), then wasm-bindgen into pkg/wasm/.
# Cargo skips the build when nothing changed; wasm-bindgen runs only when
# its input is newer than its output.
# No binaryen wasm-opt pass (issue 15): on this module -Oz cuts the raw size
# 6% but the gzipped size grows 3 KiB, k-NN and scans got slower, and it
# takes 2 to 11 minutes here (before issue 15's changes: -Oz saved 0.6%
# gzipped, -Os 0.2%, -O2 nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --profile wasm --target wasm32-unknown-unknown --lib --no-default-features
in="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/wasm/neuraldb.wasm"
out=pkg/wasm/neuraldb_bg.wasm
if [ ! -f "$out" ] || [ "$in" -nt "$out" ]; then
  # Without the name section (function names for stack traces): 166 KiB
  # gzipped. Panic messages keep their file and line.
  wasm-bindgen --target web --remove-name-section --remove-producers-section \
    --out-dir pkg/wasm --out-name neuraldb "$in"
fi
raw=$(stat -c %s "$out")
gz=$(gzip -9 -c "$out" | wc -c)
budget=$((1024 * 1024)) # issue 15: under 1.0 MiB gzipped, leaving room for HNSW
note="budget $((budget / 1024)) KiB"
[ "$gz" -gt "$budget" ] && note="OVER the budget of $((budget / 1024)) KiB"
echo "wasm: $out $((raw / 1024)) KiB raw, $((gz / 1024)) KiB gzipped ($note)"
