#!/usr/bin/env bash
# pgbench benchmark figure (not a test): the built-in TPC-B-like script at
# scale 1 with 4 clients / 2 threads (issue 15's `pgbench -c 4 -j 2 -T 30`)
# for a fixed time, at the default
# isolation level (READ COMMITTED) and with
# default_transaction_isolation=serializable, against `neuraldb serve`
# (release build) and against PostgreSQL 15 on this machine (the
# throwaway cluster of scripts/pg-compare.sh, started if needed). Prints
# tps and the share of transactions retried after a serialization
# failure or deadlock (pgbench --max-tries) for each.
# Usage: scripts/bench-pgbench.sh [seconds per run, default 30] [clients, default 4]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
clients="${2:-4}"
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

run() { # port isolation -> "tps N, retried R%, failed F"
    pgbench -h 127.0.0.1 -p "$1" -U postgres -i -s 1 -q postgres >/dev/null 2>&1
    PGOPTIONS="-c default_transaction_isolation=${2// /\\ }" \
        pgbench -h 127.0.0.1 -p "$1" -U postgres -c "$clients" -j 2 -T "$secs" --max-tries=100 postgres 2>"$work/pgbench.err" |
        awk '/^number of transactions actually processed/ { split($0, a, ": "); split(a[2], b, "/"); done = b[1] }
             /^number of failed transactions/ { split($0, a, ": "); split(a[2], b, " "); failed = b[1] }
             /^number of transactions retried/ { split($0, a, ": "); split(a[2], b, " "); retried = b[1] }
             /^tps = / { tps = $3 }
             END { printf "tps %.0f, retried %.1f%%, failed %d\n", tps, done ? 100 * retried / done : 0, failed }'
}

ours_rc="$(run "$port" "read committed")"
ours_ser="$(run "$port" serializable)"

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
theirs_rc="$(run "$PORT" "read committed")"
theirs_ser="$(run "$PORT" serializable)"

echo "pgbench TPC-B-like, scale 1, $clients clients, 2 threads, $secs s per run, --max-tries=100:"
echo "  READ COMMITTED  NeuralDB (neuraldb serve, release): $ours_rc"
echo "  READ COMMITTED  PostgreSQL 15:                      $theirs_rc"
echo "  SERIALIZABLE    NeuralDB (neuraldb serve, release): $ours_ser"
echo "  SERIALIZABLE    PostgreSQL 15:                      $theirs_ser"
