#!/usr/bin/env python3
"""Run the sqllogictest fixtures in tests/slt/ against PostgreSQL and report
whether PostgreSQL agrees with the expectations written in them.

Usage:
    scripts/pg_compare.py [--dsn DSN] [--update] [FILE.slt ...]

Without FILE arguments every tests/slt/*.slt file is checked. Each file runs
in a freshly created database; `connection NAME` records switch (for the next
record only, as sqllogictest-rs does) to (and open
on first use) further sessions on that database. All sessions are in
autocommit mode so BEGIN/COMMIT in the file behave as typed.

Values are compared as PostgreSQL text output (NULL -> "NULL", empty string
-> "(empty)"), whitespace-normalised like the Rust sqllogictest runner;
`rowsort` sorts rows. `statement error X` / `query ... error X` treat X as a
regex searched in "SQLSTATE: message".

--update rewrites the given files with PostgreSQL's results (authoring aid:
statement ok/error CODE, query types, result rows); review the diff before
committing.

Exit status: 0 if PostgreSQL agrees with every file, 1 otherwise.
"""
import argparse
import glob
import os
import re
import sys

import psycopg
from psycopg.adapt import Loader

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class TextLoader(Loader):
    def load(self, data):
        return bytes(data).decode("utf-8")


# ---------------------------------------------------------------- parsing

class Record:
    def __init__(self, kind, header, sql, results, comments, line, conn):
        self.kind = kind          # 'statement' | 'query' | 'connection' | 'other'
        self.header = header      # header line (tokens after kind)
        self.sql = sql
        self.results = results    # list of expected lines (query) or None
        self.comments = comments  # comment/blank lines preceding the record
        self.line = line
        self.conn = conn


def parse(path):
    with open(path) as f:
        lines = f.read().split("\n")
    records = []
    pending = []
    i = 0
    conn = "default"
    while i < len(lines):
        ln = lines[i]
        s = ln.strip()
        if s == "" or s.startswith("#"):
            pending.append(ln)
            i += 1
            continue
        toks = s.split()
        start = i + 1
        if toks[0] == "connection":
            conn = toks[1]
            records.append(Record("connection", toks, None, None, pending, start, conn))
            pending = []
            i += 1
            continue
        if toks[0] in ("statement", "query"):
            kind = toks[0]
            i += 1
            sql_lines = []
            while i < len(lines) and lines[i].strip() != "" and lines[i].strip() != "----":
                sql_lines.append(lines[i])
                i += 1
            results = None
            if i < len(lines) and lines[i].strip() == "----":
                i += 1
                results = []
                if kind == "statement":
                    # multi-line expected error: until blank line
                    pass
                while i < len(lines) and lines[i].strip() != "":
                    results.append(lines[i])
                    i += 1
            records.append(Record(kind, toks, "\n".join(sql_lines), results, pending, start, conn))
            # As in sqllogictest-rs, `connection NAME` applies to the next
            # statement or query only.
            conn = "default"
            pending = []
            continue
        # unknown record (halt, hash-threshold, ...): keep as-is
        records.append(Record("other", toks, None, None, pending, start, conn))
        pending = []
        i += 1
    return records, pending


# ---------------------------------------------------------------- running

def norm(s):
    return " ".join(s.split())


def fmt(v):
    if v is None:
        return "NULL"
    if v == "":
        return "(empty)"
    return v


TYPE_LETTERS = {
    20: "I", 21: "I", 23: "I", 26: "I",
    700: "R", 701: "R", 1700: "R",
}


class Session:
    def __init__(self, dsn, dbname, oids):
        self.conn = psycopg.connect(dsn, dbname=dbname, autocommit=True,
                                    options="-c TimeZone=UTC -c DateStyle=ISO,MDY -c IntervalStyle=postgres")
        for oid in oids:
            self.conn.adapters.register_loader(oid, TextLoader)

    def run(self, sql):
        """Returns ('ok', rowcount, None) / ('rows', cols, rows) / ('error', 'CODE: msg', code)."""
        try:
            cur = self.conn.cursor()
            cur.execute(sql, prepare=False)
            # execute() with several statements only keeps the last result
            last = None
            while True:
                if cur.description is not None:
                    rows = cur.fetchall()
                    last = ("rows", [TYPE_LETTERS.get(d.type_code, "T") for d in cur.description],
                            [[fmt(v) for v in r] for r in rows])
                else:
                    last = ("ok", cur.rowcount, None)
                if not cur.nextset():
                    break
            return last
        except psycopg.Error as e:
            code = e.sqlstate or "XX000"
            msg = e.diag.message_primary or str(e)
            return ("error", f"{code}: {msg}", code)

    def close(self):
        self.conn.close()


def error_matches(expect, err):
    expect = expect.strip()
    if expect == "":
        return True
    m = re.fullmatch(r"\(([0-9A-Z]{5})\)", expect)
    if m:
        return err.startswith(m.group(1) + ":")
    try:
        return re.search(expect, err) is not None
    except re.error:
        return False


def sort_mode_of(header):
    for t in header[2:]:
        if t in ("rowsort", "nosort", "valuesort"):
            return t
    return None


def run_file(path, dsn, update=False):
    records, trailing = parse(path)
    dbname = "slt_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    admin = psycopg.connect(dsn, autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{dbname}"')
    oids = [r[0] for r in admin.execute("SELECT oid FROM pg_type").fetchall()]
    sessions = {}
    problems = []
    cases = 0
    try:
        for rec in records:
            if rec.kind not in ("statement", "query"):
                continue
            cases += 1
            if rec.conn not in sessions:
                sessions[rec.conn] = Session(dsn, dbname, oids)
            out = sessions[rec.conn].run(rec.sql)
            where = f"{os.path.basename(path)}:{rec.line}"
            if rec.kind == "statement":
                h = rec.header
                if update:
                    if out[0] == "error":
                        old = " ".join(h[2:]) if len(h) > 1 and h[1] == "error" else ""
                        keep = old if old and error_matches(old, out[1]) else out[2]
                        rec.header = ["statement", "error", keep]
                        rec.results = None
                    elif len(h) > 1 and h[1] != "ok" and h[1] != "count":
                        rec.header = ["statement", "ok"]
                    continue
                if h[1] == "ok" or h[1] == "count":
                    if out[0] == "error":
                        problems.append(f"{where}: expected success, got {out[1]}\n    {rec.sql}")
                    elif h[1] == "count" and out[0] == "ok" and out[1] != int(h[2]):
                        problems.append(f"{where}: expected count {h[2]}, got {out[1]}\n    {rec.sql}")
                else:
                    expect = " ".join(h[2:]) if rec.results is None else "\n".join(rec.results)
                    if out[0] != "error":
                        problems.append(f"{where}: expected error {expect!r}, statement succeeded\n    {rec.sql}")
                    elif rec.results is not None:
                        if expect.strip() != out[1].strip():
                            problems.append(f"{where}: expected error {expect!r}, got {out[1]!r}\n    {rec.sql}")
                    elif not error_matches(expect, out[1]):
                        problems.append(f"{where}: expected error {expect!r}, got {out[1]!r}\n    {rec.sql}")
                continue
            # query
            h = rec.header
            if len(h) > 1 and h[1] == "error":
                expect = " ".join(h[2:])
                if out[0] != "error" or not error_matches(expect, out[1]):
                    problems.append(f"{where}: expected error {expect!r}, got {out[0]} {out[1]!r}\n    {rec.sql}")
                continue
            mode = sort_mode_of(h)
            if out[0] == "error":
                if update:
                    rec.kind = "statement"
                    rec.header = ["statement", "error", out[2]]
                    rec.results = None
                    continue
                problems.append(f"{where}: query failed: {out[1]}\n    {rec.sql}")
                continue
            if out[0] == "ok":
                rows = []
                types = h[1] if len(h) > 1 else "T"
            else:
                types, rows = "".join(out[1]), out[2]
            if update:
                if mode is None and len(rows) > 1 and not re.search(r"order\s+by", rec.sql, re.I):
                    mode = "rowsort"
                if mode == "rowsort":
                    rows = sorted(rows)
                rec.header = ["query", types] + ([mode] if mode else [])
                rec.results = [" ".join(norm(v) for v in r) for r in rows]
                continue
            if mode == "rowsort":
                rows = sorted(rows)
            elif mode == "valuesort":
                rows = sorted([[v] for r in rows for v in r])
            actual = [norm(" ".join(norm(v) for v in r)) for r in rows]
            expected = [norm(l) for l in (rec.results or [])]
            if actual != expected:
                problems.append(f"{where}: result mismatch\n    {rec.sql}\n    expected: {expected}\n    postgres: {actual}")
    finally:
        for s in sessions.values():
            s.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        admin.close()
    if update:
        write(path, records, trailing)
    return cases, problems


def write(path, records, trailing):
    out = []
    for rec in records:
        out.extend(rec.comments)
        if rec.kind == "connection" or rec.kind == "other":
            out.append(" ".join(rec.header))
            continue
        out.append(" ".join(rec.header))
        out.append(rec.sql)
        if rec.kind == "query" or rec.results is not None:
            out.append("----")
            out.extend(rec.results or [])
    out.extend(trailing)
    text = "\n".join(out)
    if not text.endswith("\n"):
        text += "\n"
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default=os.environ.get("PG_COMPARE_DSN",
                                                    "host=127.0.0.1 port=5498 user=postgres dbname=postgres"))
    ap.add_argument("--update", action="store_true")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    files = args.files or sorted(glob.glob(os.path.join(ROOT, "tests", "slt", "*.slt")))
    bad = 0
    total = 0
    for f in files:
        cases, problems = run_file(f, args.dsn, update=args.update)
        total += cases
        name = os.path.relpath(f, ROOT)
        if args.update:
            print(f"{name}: updated from PostgreSQL ({cases} records)")
        elif problems:
            bad += 1
            print(f"{name}: DIFFERS ({len(problems)} of {cases} records)")
            for p in problems:
                print("  " + p)
        else:
            print(f"{name}: ok ({cases} records)")
    if not args.update:
        print(f"{len(files) - bad} of {len(files)} files agree with PostgreSQL ({total} records)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
