#!/usr/bin/env bash
# Check every tests/slt/*.slt fixture against a real PostgreSQL 15.
#
# Starts a throwaway cluster on 127.0.0.1:$PG_COMPARE_PORT (default 5498,
# data in $PG_COMPARE_DIR, default /tmp/pgs) unless one is already running
# there, installs psycopg if missing, then runs scripts/pg_compare.py, which
# prints per file whether PostgreSQL agrees with the expected results.
# Idempotent: re-running reuses the running cluster. `--stop` stops it;
# `--start` starts it and exits.
# Extra arguments are passed to pg_compare.py (e.g. a list of .slt files).
set -euo pipefail

PORT="${PG_COMPARE_PORT:-5498}"
DIR="${PG_COMPARE_DIR:-/tmp/pgs}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-}" = "--stop" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$DIR/data" stop -m fast || true
    exit 0
fi

if ! "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR"
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
        as_pg "$PGBIN/initdb" -D "$DIR/data" -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -w \
        -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_prepared_transactions=64" -l "$DIR/log" start >/dev/null
fi

# `--start`: only make sure the cluster runs (the e2e change-feed test
# applies the feed to it).
if [ "${1:-}" = "--start" ]; then
    exit 0
fi

if ! python3 -c 'import psycopg' 2>/dev/null; then
    python3 -m pip install --quiet 'psycopg[binary]'
fi

exec python3 "$HERE/pg_compare.py" --dsn "host=127.0.0.1 port=$PORT user=postgres dbname=postgres" "$@"
