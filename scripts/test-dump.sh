#!/usr/bin/env bash
# Dump and restore against a real PostgreSQL 15 (the throwaway cluster of
# scripts/pg-compare.sh: 127.0.0.1:$PG_COMPARE_PORT, default 5498, data in
# $PG_COMPARE_DIR, default /tmp/pgs; started here when not running).
#
#  (a) a NeuralDB database made with the CLI from tests/dump/fixture.sql is
#      dumped (`neuraldb dump`) and loaded into a fresh PostgreSQL database
#      with `psql -v ON_ERROR_STOP=1`;
#  (b) that database is pg_dumped and restored into a fresh NeuralDB
#      (`neuraldb restore`);
#  (c) every table and view reads the same on PostgreSQL, on the original
#      NeuralDB and on the restored one (psql -At against `neuraldb serve`);
#  (d) pgbench -i -s 1 on PostgreSQL, pg_dump, `neuraldb restore`, then
#      counts and sums compared.
#
# The fixture has no pgvector objects (the cluster lacks the extension);
# tests/it/dump.rs covers those. Needs psql, pg_dump, pgbench and the
# PostgreSQL 15 server binaries: without them it fails, it never skips.
# Prints `test result: ok. N passed; M failed; (clients: dump)`.
set -uo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
PORT="${PG_COMPARE_PORT:-5498}"
DIR="${PG_COMPARE_DIR:-/tmp/pgs}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"

for tool in psql pg_dump pgbench createdb dropdb "$PGBIN/pg_ctl" "$PGBIN/initdb" "$PGBIN/pg_isready"; do
    if ! command -v "$tool" >/dev/null; then
        echo "test-dump: $tool is missing (PostgreSQL 15 client and server are required)" >&2
        echo "test result: FAILED. 0 passed; 1 failed; (clients: dump)"
        exit 1
    fi
done

# The binary `cargo test` builds (same feature resolution as test-clients.sh).
cargo test --no-run --quiet || exit 1
bin="$target/debug/neuraldb"

# Start the cluster as scripts/pg-compare.sh does.
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if ! "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR"
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
        as_pg "$PGBIN/initdb" -D "$DIR/data" -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -w \
        -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_prepared_transactions=64" -l "$DIR/log" start >/dev/null
fi

pg=(-X -q -h 127.0.0.1 -p "$PORT" -U postgres)
db_fixture="neuraldb_dump_fixture_$$"
db_bench="neuraldb_dump_pgbench_$$"
work="$(mktemp -d)"
servers=()
cleanup() {
    for s in "${servers[@]}"; do kill "$s" 2>/dev/null; wait "$s" 2>/dev/null; done
    dropdb -h 127.0.0.1 -p "$PORT" -U postgres --if-exists "$db_fixture" 2>/dev/null
    dropdb -h 127.0.0.1 -p "$PORT" -U postgres --if-exists "$db_bench" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
check() { # name, then a command that must succeed
    local name="$1"
    shift
    if "$@" >"$work/out" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAILED: $name" >&2
        sed 's/^/    /' "$work/out" | head -40 >&2
    fi
}

serve() { # database file; sets $port (the server keeps running)
    # Started here, not in a command substitution: the server would hold
    # the substitution's pipe open, and its pid must reach cleanup.
    "$bin" serve --data "$1" --listen 127.0.0.1:0 >/dev/null 2>"$1.log" &
    servers+=($!)
    for _ in $(seq 100); do
        grep -q 'listening on' "$1.log" && break
        sleep 0.1
    done
    port="$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$1.log")"
}

same_rows() { # query, pg database, neuraldb port...
    local q="$1" pgdb="$2"
    shift 2
    psql "${pg[@]}" -At -d "$pgdb" -c "$q" >"$work/pg.txt" || return 1
    for port in "$@"; do
        psql -X -q -h 127.0.0.1 -p "$port" -U postgres -At -c "$q" >"$work/nd.txt" || return 1
        diff "$work/pg.txt" "$work/nd.txt" || return 1
    done
}

for d in "$db_fixture" "$db_bench"; do
    dropdb -h 127.0.0.1 -p "$PORT" -U postgres --if-exists "$d" 2>/dev/null
    createdb -h 127.0.0.1 -p "$PORT" -U postgres "$d" || exit 1
done

# (a) NeuralDB -> PostgreSQL.
check "fixture loads into NeuralDB" sh -c "'$bin' '$work/a.db' < tests/dump/fixture.sql"
check "neuraldb dump" "$bin" dump --data "$work/a.db" "$work/a.sql"
check "psql loads the dump" psql "${pg[@]}" -v ON_ERROR_STOP=1 -d "$db_fixture" -f "$work/a.sql"

# (b) PostgreSQL -> NeuralDB.
check "pg_dump" sh -c "pg_dump -h 127.0.0.1 -p $PORT -U postgres '$db_fixture' > '$work/b.sql'"
check "neuraldb restore of pg_dump's output" "$bin" restore --data "$work/b.db" "$work/b.sql"

# (c) The same rows everywhere.
serve "$work/a.db"
port_a="$port"
serve "$work/b.db"
port_b="$port"
for t in public.kinds app.parent app.child public.big_kinds app.child_totals; do
    check "rows of $t" same_rows "SELECT * FROM $t ORDER BY 1" "$db_fixture" "$port_a" "$port_b"
done
for s in public.counter public.kinds_id_seq app.child_id_seq; do
    check "sequence $s" same_rows "SELECT nextval('$s')" "$db_fixture" "$port_a" "$port_b"
done
check "comments" same_rows "SELECT obj_description('public.kinds'::regclass, 'pg_class'), col_description('public.kinds'::regclass, 9)" "$db_fixture" "$port_a" "$port_b"

# (d) pgbench's schema and data.
check "pgbench -i" pgbench -q -i -s 1 -h 127.0.0.1 -p "$PORT" -U postgres "$db_bench"
check "pg_dump of pgbench" sh -c "pg_dump -h 127.0.0.1 -p $PORT -U postgres '$db_bench' > '$work/c.sql'"
check "neuraldb restore of pgbench" "$bin" restore --data "$work/c.db" "$work/c.sql"
serve "$work/c.db"
port_c="$port"
for q in "SELECT count(*), sum(abalance), sum(bid) FROM pgbench_accounts" \
    "SELECT count(*), sum(bbalance) FROM pgbench_branches" \
    "SELECT count(*), sum(tbalance), sum(bid) FROM pgbench_tellers" \
    "SELECT count(*) FROM pgbench_history" \
    "SELECT conname, contype FROM pg_constraint WHERE conrelid::regclass::text LIKE 'pgbench%' ORDER BY 1"; do
    check "pgbench: $q" same_rows "$q" "$db_bench" "$port_c"
done

echo "test result: $([ "$failed" = 0 ] && echo ok || echo FAILED). $passed passed; $failed failed; (clients: dump)"
[ "$failed" = 0 ]
