#!/usr/bin/env bash
# Record PostgreSQL 15's answers to the isolation specs
# (tests/isolation/specs/*.spec -> tests/isolation/expected/*.out), which
# `cargo test --test it isolation_specs` compares NeuralDB's with. Uses the
# throwaway cluster of scripts/pg-compare.sh (started if needed).
# Usage: scripts/pg-isolation.sh [SPEC ...]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${PG_COMPARE_PORT:-5498}"
# Start (or reuse) the cluster; pg-compare with no fixture does nothing else.
bash "$HERE/pg-compare.sh" /dev/null >/dev/null 2>&1 || true
exec python3 "$HERE/pg_isolation.py" --dsn "host=127.0.0.1 port=$PORT user=postgres dbname=postgres" "$@"
