#!/usr/bin/env bash
# `npm run build`: the engine for wasm32 (`wasm` profile, see Cargo.toml,
# SIMD128 via .cargo/config.toml), then wasm-bindgen into pkg/wasm/.
# Cargo skips the build when nothing changed; wasm-bindgen runs only when
# its input is newer than its output.
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
budget=$((1536 * 1024)) # issue 11: under 1.5 MiB gzipped
note="budget $((budget / 1024)) KiB"
[ "$gz" -gt "$budget" ] && note="OVER the budget of $((budget / 1024)) KiB"
echo "wasm: $out $((raw / 1024)) KiB raw, $((gz / 1024)) KiB gzipped ($note)"
