#!/usr/bin/env bash
# The project's test command (`npm test`): formatting, lints, native tests,
# a wasm32 build of the engine, and standard clients (psql, pgbench,
# psycopg, node-postgres) against the wire-protocol server.
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
log="target/npm-test-cargo.log"
mkdir -p target
status=0
cargo test 2>&1 | tee "$log" || status=1
echo "== clients against neuraldb serve"
bash scripts/test-clients.sh 2>&1 | tee -a "$log" || status=1
# One closing line with the totals over every test binary and client suite
# (cargo's own last line is the doc-test run, which has no tests).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
