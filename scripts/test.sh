#!/usr/bin/env bash
# The project's test command (`npm test`): formatting, lints, native tests,
# the wasm package build, end-to-end tests in Chromium and Firefox, and
# standard clients (psql, pgbench, psycopg, node-postgres) against the
# wire-protocol server.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each section's heading carries the seconds elapsed so far, to see where
# a run's time goes.
section() { echo "== $1 (at ${SECONDS}s)"; }
bash scripts/setup.sh

section "cargo fmt --check"
cargo fmt --all -- --check
section "cargo clippy"
cargo clippy --all-targets -- -D warnings
section "cargo clippy (wasm32)"
cargo clippy --lib --target wasm32-unknown-unknown -- -D warnings
section "cargo test"
log="target/npm-test-cargo.log"
mkdir -p target
cargo test 2>&1 | tee "$log"
section "clients against neuraldb serve"
bash scripts/test-clients.sh 2>&1 | tee -a "$log"
section "wasm package"
bash scripts/build-wasm.sh
section "OPFS backend in a browser worker (wasm-bindgen-test)"
# The `wasm` profile and features of the package build, so the library and
# its dependencies are reused rather than compiled a second time.
CHROMEDRIVER=/usr/bin/chromedriver cargo test --profile wasm --target wasm32-unknown-unknown \
  --no-default-features --test wasm_opfs 2>&1 | tee -a "$log"
section "browser end-to-end tests"
e2e_log="target/npm-test-e2e.log"
node tests/e2e/run.mjs 2>&1 | tee "$e2e_log"
section "packaging test (Vite app against the packed tarball)"
node tests/e2e/vite-package.mjs 2>&1 | tee -a "$e2e_log"
# One closing line with the totals over every test binary, the client
# suites and the browser suites (cargo's own last line is the doc-test run, which has no tests).
section "done"
awk '/^test result:|^(e2e|package): [0-9]+ passed/ {
       for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log" "$e2e_log"
