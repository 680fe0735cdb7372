#!/usr/bin/env bash
# Standard clients against `neuraldb serve` (part of `npm test`): psql
# scripts, pgbench (TPC-B-like run, then the balance invariants), psycopg,
# SQLAlchemy (psycopg dialect) and node-postgres. Installs psycopg /
# SQLAlchemy / pg only when missing. Each suite
# prints a `test result: ... N passed; M failed` line that scripts/test.sh
# adds to its totals. Exit status: 0 iff everything passed.
set -uo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
# The binary `cargo test` built (dev-dependency feature resolution); a plain
# `cargo build` would resolve features differently and recompile the crate.
cargo test --no-run --quiet || exit 1
bin="$target/debug/neuraldb"

if ! python3 -c 'import psycopg' 2>/dev/null; then
    python3 -m pip install --quiet 'psycopg[binary]' || exit 1
fi
if ! python3 -c 'import sqlalchemy' 2>/dev/null; then
    python3 -m pip install --quiet SQLAlchemy || exit 1
fi
if [ ! -d tests/server/node_modules/pg ] || [ ! -d tests/server/node_modules/pg-cursor ]; then
    (cd tests/server && npm install --no-audit --no-fund --silent) || exit 1
fi

work="$(mktemp -d)"
"$bin" serve --data "$work/db" --listen 127.0.0.1:0 2>"$work/log" &
server=$!
# A second server requires a password (SCRAM-SHA-256).
NEURALDB_PASSWORD=s3cret "$bin" serve --data "$work/db2" --listen 127.0.0.1:0 2>"$work/log2" &
server2=$!
trap 'kill $server $server2 2>/dev/null; wait $server $server2 2>/dev/null; rm -rf "$work"' EXIT
listening_port() { # log file -> port
    for _ in $(seq 100); do
        grep -q 'listening on' "$1" && break
        sleep 0.1
    done
    sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$1"
}
port="$(listening_port "$work/log")"
port2="$(listening_port "$work/log2")"
[ -n "$port" ] && [ -n "$port2" ] || { cat "$work/log" "$work/log2"; echo "server did not start"; exit 1; }
export PGHOST=127.0.0.1 PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
total_failed=0

report() { # suite passed failed
    echo "test result: $([ "$3" = 0 ] && echo ok || echo FAILED). $2 passed; $3 failed; (clients: $1)"
    total_failed=$((total_failed + $3))
}

# psql scripts: output must equal the expected file (PostgreSQL 15's).
p=0 f=0
for sql in tests/server/psql/*.sql; do
    if psql -X -a -f "$sql" 2>&1 | diff -u "${sql%.sql}.out" - ; then
        p=$((p + 1))
    else
        echo "FAIL psql $sql"; f=$((f + 1))
    fi
done
report psql "$p" "$f"

# Authentication: the right password gets in, a wrong one does not.
p=0 f=0
if [ "$(PGPASSWORD=s3cret psql -X -At -p "$port2" -U someone -c "SELECT 'in'" 2>&1)" = in ]; then
    p=$((p + 1)); else echo "FAIL scram with the right password"; f=$((f + 1)); fi
denied="$(PGPASSWORD=wrong psql -X -At -p "$port2" -c "SELECT 1" 2>&1)"
if [[ "$denied" == *"uthentication failed"* ]]; then
    p=$((p + 1)); else echo "FAIL scram with a wrong password"; f=$((f + 1)); fi
report auth "$p" "$f"

# pgbench: initialise (COPY, VACUUM ANALYZE, ADD PRIMARY KEY), run the
# built-in TPC-B-like script with 4 clients, then check the invariants.
p=0 f=0
if pgbench -i -s 1 -q >"$work/pgbench-init" 2>&1; then p=$((p + 1)); else cat "$work/pgbench-init"; f=$((f + 1)); fi
if pgbench -c 4 -j 2 -t 500 >"$work/pgbench-run" 2>&1 &&
    grep -q 'number of failed transactions: 0 ' "$work/pgbench-run" &&
    grep -q 'actually processed: 2000/2000' "$work/pgbench-run"; then
    p=$((p + 1))
    echo "pgbench: $(grep '^tps' "$work/pgbench-run")"
else
    cat "$work/pgbench-run"; f=$((f + 1))
fi
sums="$(psql -X -At -c "SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT sum(delta) FROM pgbench_history),
    (SELECT sum(bbalance) FROM pgbench_branches) = (SELECT sum(delta) FROM pgbench_history),
    (SELECT sum(tbalance) FROM pgbench_tellers) = (SELECT sum(delta) FROM pgbench_history),
    (SELECT count(*) FROM pgbench_history)")"
if [ "$sums" = "t|t|t|2000" ]; then p=$((p + 1)); else echo "pgbench invariants: $sums"; f=$((f + 1)); fi
report pgbench "$p" "$f"

# psql receives a NOTIFY that psycopg sends while psql LISTENs (printed
# with the next command's output, as psql does).
p=0 f=0
notified="$(printf '%s\n' 'LISTEN psql_jobs;' \
    '\! python3 tests/server/notify_send.py psql_jobs "from psycopg"' 'SELECT 1;' | psql -X -q 2>&1)"
if [[ "$notified" == *'Asynchronous notification "psql_jobs" with payload "from psycopg" received from server process with PID'* ]]; then
    p=$((p + 1)); else echo "FAIL psql LISTEN: $notified"; f=$((f + 1)); fi
report psql-listen "$p" "$f"

# psycopg, SQLAlchemy and node-postgres: each prints "N passed, M failed"
# last.
suite() { # name command...
    local name="$1"; shift
    local out last
    out="$("$@" 2>&1)"
    echo "$out" | grep -v '^ok '
    last="$(echo "$out" | tail -n 1)"
    if [[ "$last" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        report "$name" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
    else
        report "$name" 0 1
    fi
}
suite psycopg python3 tests/server/test_psycopg.py "host=127.0.0.1 port=$port user=postgres dbname=postgres"
suite sqlalchemy python3 tests/server/test_sqlalchemy.py "$port"
suite node-postgres node tests/server/test_pg.mjs "$port"

[ "$total_failed" = 0 ]
