#!/usr/bin/env bash
# pgbench benchmark figure (not a test): the built-in TPC-B-like script at
# scale 1 with 4 clients / 2 threads against `neuraldb serve` (release
# build) and against PostgreSQL 15 on this machine (the throwaway cluster
# of scripts/pg-compare.sh, started if needed). Prints both tps figures.
# Usage: scripts/bench-pgbench.sh [transactions per client, default 500]
set -euo pipefail
cd "$(dirname "$0")/.."
tx="${1:-500}"
target="${CARGO_TARGET_DIR:-target}"
PORT="${PG_COMPARE_PORT:-5498}"
DIR="${PG_COMPARE_DIR:-/tmp/pgs}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"

cargo build --quiet --release --bin neuraldb
work="$(mktemp -d)"
"$target/release/neuraldb" serve --data "$work/db" --listen 127.0.0.1:0 2>"$work/log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q 'listening on' "$work/log" && break; sleep 0.1; done
port="$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/log")"

run() { # port -> tps
    pgbench -h 127.0.0.1 -p "$1" -U postgres -i -s 1 -q postgres >/dev/null 2>&1
    pgbench -h 127.0.0.1 -p "$1" -U postgres -c 4 -j 2 -t "$tx" postgres 2>/dev/null |
        sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

ours="$(run "$port")"

# PostgreSQL 15: reuse or start the throwaway cluster.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if ! "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR"
    [ -f "$DIR/data/PG_VERSION" ] ||
        as_pg "$PGBIN/initdb" -D "$DIR/data" -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -w \
        -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1" -l "$DIR/log" start >/dev/null
fi
theirs="$(run "$PORT")"

echo "pgbench TPC-B-like, scale 1, 4 clients, 2 threads, $tx transactions per client:"
echo "  NeuralDB (neuraldb serve, release): tps = $ours"
echo "  PostgreSQL 15:                      tps = $theirs"
