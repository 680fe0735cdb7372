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
# Lints without separate `cargo clippy` passes: clippy-driver compiles our
# own crate in every build below (as RUSTC_WORKSPACE_WRAPPER, which is how
# `cargo clippy` runs it too), so dependencies are compiled once rather
# than checked and then compiled. Any warning fails the run, as
# `cargo clippy --all-targets -- -D warnings` would.
export RUSTC_WORKSPACE_WRAPPER="$(command -v clippy-driver)"
mkdir -p target
lint_log="target/npm-test-lints.log"
log="target/npm-test-cargo.log"
no_lint_warnings() {
  if grep -E '^(warning|error)(\[[A-Za-z0-9_:]+\])?: ' "$lint_log"; then
    echo "lint warnings above: fix them (cargo clippy --all-targets; for wasm32 add --target wasm32-unknown-unknown)"
    exit 1
  fi
}
section "build and lint (native)"
cargo test --no-run 2>&1 | tee "$lint_log"
no_lint_warnings
section "cargo test"
cargo test 2>&1 | tee "$log"
section "clients against neuraldb serve"
bash scripts/test-clients.sh 2>&1 | tee -a "$log"
section "dump and restore against PostgreSQL 15"
bash scripts/test-dump.sh 2>&1 | tee -a "$log"
section "wasm package (built and linted)"
bash scripts/build-wasm.sh 2>&1 | tee -a "$lint_log"
# The `wasm` profile and features of the package build, so the library and
# its dependencies are reused rather than compiled a second time.
wasm_test=(cargo test --profile wasm --target wasm32-unknown-unknown --no-default-features --test wasm_opfs)
"${wasm_test[@]}" --no-run 2>&1 | tee -a "$lint_log"
no_lint_warnings
section "OPFS backend in a browser worker (wasm-bindgen-test)"
CHROMEDRIVER=/usr/bin/chromedriver "${wasm_test[@]}" 2>&1 | tee -a "$log"
section "browser end-to-end tests"
e2e_log="target/npm-test-e2e.log"
node tests/e2e/run.mjs 2>&1 | tee "$e2e_log"
section "packaging test (Vite app against the packed tarball)"
node tests/e2e/vite-package.mjs 2>&1 | tee -a "$e2e_log"
# One closing line with the totals over every test binary, the client
# suites and the browser suites.
section "done"
awk '/^test result:|^(e2e|package): [0-9]+ passed/ {
       for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log" "$e2e_log"
