#!/usr/bin/env python3
"""Record PostgreSQL's answers to the isolation specs in tests/isolation/specs.

For each spec, every permutation (or the listed ones) runs on a fresh
database: the spec's setup, each session's setup on its own connection, then
the steps in order. A step that blocks is detected with
pg_isolation_test_session_is_blocked, as PostgreSQL's isolationtester does,
and reported `<waiting>` until it completes. The transcript format is the one
tests/it/isolation/specs.rs prints for NeuralDB, written to
tests/isolation/expected/<name>.out.

Usage: scripts/pg_isolation.py --dsn DSN [SPEC ...]
"""
import argparse
import glob
import os
import re
import sys
import time

from psycopg import pq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse(text):
    spec = {"setup": [], "sessions": [], "perms": []}
    i = 0
    n = len(text)

    def word():
        nonlocal i
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i < n and text[i] == "#":
                while i < n and text[i] != "\n":
                    i += 1
                continue
            break
        start = i
        while i < n and not text[i].isspace() and text[i] != "{":
            i += 1
        return text[start:i] if i > start else None

    def block():
        nonlocal i
        while text[i] != "{":
            i += 1
        depth = 0
        start = i + 1
        while True:
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    body = text[start:i].strip()
                    i += 1
                    return body
            i += 1

    while True:
        w = word()
        if w is None:
            break
        if w == "setup":
            b = block()
            (spec["sessions"][-1]["setup"] if spec["sessions"] else spec["setup"]).append(b)
        elif w == "teardown":
            block()
        elif w == "session":
            spec["sessions"].append({"name": word(), "setup": [], "steps": []})
        elif w == "step":
            name = word()
            spec["sessions"][-1]["steps"].append((name, block()))
        elif w == "permutation":
            end = text.find("\n", i)
            end = n if end < 0 else end
            spec["perms"].append([s.strip('"') for s in text[i:end].split()])
            i = end
        else:
            raise SystemExit(f"unknown spec keyword {w}")
    return spec


def all_perms(spec):
    out = []
    sessions = spec["sessions"]

    def go(pos, cur):
        any_left = False
        for s, sess in enumerate(sessions):
            if pos[s] < len(sess["steps"]):
                any_left = True
                cur.append(sess["steps"][pos[s]][0])
                pos[s] += 1
                go(pos, cur)
                pos[s] -= 1
                cur.pop()
        if not any_left:
            out.append(list(cur))

    go([0] * len(sessions), [])
    return out


def connect(dsn):
    c = pq.PGconn.connect(dsn.encode())
    if c.status != pq.ConnStatus.OK:
        raise SystemExit(c.error_message.decode())
    return c


def exec_sync(c, sql):
    c.send_query(sql.encode())
    last = None
    while True:
        r = c.get_result()
        if r is None:
            break
        last = r
    return last


def describe(r):
    if r is None:
        return "ok"
    if r.status == pq.ExecStatus.FATAL_ERROR:
        return "ERROR " + r.error_field(pq.DiagnosticField.SQLSTATE).decode()
    if r.status == pq.ExecStatus.TUPLES_OK:
        rows = []
        for row in range(r.ntuples):
            vals = []
            for col in range(r.nfields):
                v = r.get_value(row, col)
                vals.append("NULL" if v is None else v.decode())
            rows.append("|".join(vals))
        return "rows " + "; ".join(rows)
    return "ok"


def collect(c):
    """Results of a finished query: the first error, else the last result."""
    last = None
    err = None
    while True:
        r = c.get_result()
        if r is None:
            break
        if r.status == pq.ExecStatus.FATAL_ERROR and err is None:
            err = r
        last = r
    return err or last


def run_permutation(dsn, ctl, spec, perm):
    sessions = spec["sessions"]
    conns = [connect(dsn) for _ in sessions]
    pids = [c.backend_pid for c in conns]
    for s, c in zip(sessions, conns):
        for sql in s["setup"]:
            r = exec_sync(c, sql)
            if r is not None and r.status == pq.ExecStatus.FATAL_ERROR:
                raise SystemExit(f"session setup failed: {sql}")
    owner = {}
    sql_of = {}
    for i, s in enumerate(sessions):
        for name, sql in s["steps"]:
            owner[name] = i
            sql_of[name] = sql
    lines = ["permutation: " + " ".join(perm)]
    waiting = {}

    def blocked(i):
        others = ",".join(str(p) for j, p in enumerate(pids) if j != i)
        # A wait for a prepared transaction (which has no session) is
        # not one pg_isolation_test_session_is_blocked reports.
        r = exec_sync(
            ctl,
            f"SELECT pg_isolation_test_session_is_blocked({pids[i]}, '{{{others}}}') OR EXISTS ("
            f"SELECT 1 FROM pg_locks l JOIN pg_locks p ON p.granted AND p.pid IS NULL "
            f"AND p.locktype = l.locktype AND p.database IS NOT DISTINCT FROM l.database "
            f"AND p.relation IS NOT DISTINCT FROM l.relation "
            f"AND p.transactionid IS NOT DISTINCT FROM l.transactionid "
            f"AND p.objid IS NOT DISTINCT FROM l.objid AND p.classid IS NOT DISTINCT FROM l.classid "
            f"WHERE l.pid = {pids[i]} AND NOT l.granted)",
        )
        return r.get_value(0, 0) == b"t"

    def settle(i, grace=0.0):
        """Waits until session i's query finished (True) or blocks (False).
        With `grace`, a blocked query gets that many seconds to finish
        anyway: a wait that closes a deadlock cycle ends when some
        session's deadlock check (deadlock_timeout) fires, which NeuralDB
        does at once."""
        c = conns[i]
        until = None
        while True:
            c.consume_input()
            if not c.is_busy():
                return True
            if blocked(i):
                # A query may finish between the two checks.
                c.consume_input()
                if not c.is_busy():
                    return True
                if until is None:
                    until = time.monotonic() + grace
                if time.monotonic() >= until:
                    return False
            time.sleep(0.002)

    for step in perm:
        i = owner[step]
        if i in waiting:
            lines.append("invalid permutation: a step of a waiting session")
            break
        conns[i].send_query(sql_of[step].encode())
        if settle(i, grace=1.5 if waiting else 0.0):
            lines.append(f"{step}: {describe(collect(conns[i]))}")
        else:
            lines.append(f"{step}: <waiting>")
            waiting[i] = step
        # Sessions this step released finish (in session order).
        changed = True
        while changed:
            changed = False
            for j in sorted(waiting):
                if settle(j):
                    lines.append(f"{waiting[j]}: <completed> {describe(collect(conns[j]))}")
                    del waiting[j]
                    changed = True
                    break
    for j in sorted(waiting):
        lines.append(f"{waiting[j]}: <still waiting>")
        conns[j].request_cancel() if hasattr(conns[j], "request_cancel") else None
    for c in conns:
        c.finish()
    # Prepared transactions outlive their sessions; a leftover one would
    # keep the database from being dropped.
    r = exec_sync(ctl, "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()")
    for k in range(r.ntuples if r is not None else 0):
        gid = r.get_value(k, 0).decode().replace("'", "''")
        exec_sync(ctl, f"ROLLBACK PREPARED '{gid}'")
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True)
    ap.add_argument("specs", nargs="*")
    args = ap.parse_args()
    files = args.specs or sorted(glob.glob(os.path.join(ROOT, "tests/isolation/specs/*.spec")))
    admin = connect(args.dsn)
    for path in files:
        name = os.path.splitext(os.path.basename(path))[0]
        spec = parse(open(path).read())
        perms = spec["perms"] or all_perms(spec)
        out = []
        for perm in perms:
            db = "iso_" + re.sub(r"\W", "_", name)
            exec_sync(admin, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            exec_sync(admin, f"CREATE DATABASE {db}")
            dsn = re.sub(r"dbname=\S+", f"dbname={db}", args.dsn)
            c = connect(dsn)
            for sql in spec["setup"]:
                r = exec_sync(c, sql)
                if r is not None and r.status == pq.ExecStatus.FATAL_ERROR:
                    raise SystemExit(f"{name}: setup failed: {r.error_message.decode()}")
            ctl = c
            out.extend(run_permutation(dsn, ctl, spec, perm))
            out.append("")
            c.finish()
        with open(os.path.join(ROOT, "tests/isolation/expected", name + ".out"), "w") as f:
            f.write("\n".join(out) + "\n")
        print(f"{name}: {len(perms)} permutations")


if __name__ == "__main__":
    main()
