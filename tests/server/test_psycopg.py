"""psycopg 3 against `neuraldb serve`: parameters, type round trips (text
and binary), errors with SQLSTATE, a row lock blocking another connection
until commit, and a 40001 retry loop.

Usage: python3 test_psycopg.py "host=127.0.0.1 port=N user=postgres"
Prints one line per test and a closing "N passed, M failed".
"""

import datetime
import decimal
import sys
import threading
import time
import traceback
import uuid

import psycopg
import psycopg.types.json
from psycopg import errors

DSN = sys.argv[1]
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def connect(**kw):
    return psycopg.connect(DSN, **kw)


@test
def parameters_and_types_round_trip():
    with connect(autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS py_types")
        c.execute(
            "CREATE TABLE py_types (id int PRIMARY KEY, b bool, i8 bigint, f float8,"
            " n numeric(12,3), t text, d date, ts timestamp, tstz timestamptz,"
            " u uuid, j jsonb, by bytea)"
        )
        row = (
            1, True, 2**40, 1.5, decimal.Decimal("12345.678"), "héllo 'quoted'",
            datetime.date(2024, 2, 29), datetime.datetime(2024, 1, 2, 3, 4, 5, 123456),
            datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
            uuid.UUID("12345678-1234-5678-1234-567812345678"), psycopg.types.json.Jsonb({"a": [1, 2]}),
            b"\x00\xffbin",
        )
        c.execute("INSERT INTO py_types VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)", row)
        for binary in (False, True):
            got = c.cursor(binary=binary).execute(
                "SELECT id, b, i8, f, n, t, d, ts, tstz, u, j, by FROM py_types WHERE id = %s", (1,)
            ).fetchone()
            expect = list(row)
            expect[10] = {"a": [1, 2]}
            assert list(got) == expect, (binary, got)
        # Untyped parameters take the type of their value.
        assert c.execute("SELECT %s, %s, %s", (7, "x", None)).fetchone() == (7, "x", None)
        assert c.execute("SELECT %s::int + 1", ("41",)).fetchone() == (42,)
        # Binary parameters.
        cur = c.cursor(binary=True)
        assert cur.execute("SELECT %b + 1, %b", (41, "s")).fetchone() == (42, "s")


@test
def prepared_statements_are_reused():
    with connect(autocommit=True) as c:
        # psycopg prepares a query after a few executions (prepare_threshold).
        for i in range(8):
            assert c.execute("SELECT %s::int * 2", (i,)).fetchone() == (i * 2,)
        assert c.execute("SELECT 1", prepare=True).fetchone() == (1,)


@test
def errors_carry_sqlstate_and_fields():
    with connect(autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS py_err")
        c.execute("CREATE TABLE py_err (id int PRIMARY KEY)")
        c.execute("INSERT INTO py_err VALUES (1)")
        try:
            c.execute("INSERT INTO py_err VALUES (%s)", (1,))
            raise AssertionError("no error")
        except errors.UniqueViolation as e:
            assert e.sqlstate == "23505"
            assert "Key (id)=(1) already exists" in (e.diag.message_detail or "")
        try:
            c.execute("SELECT nope FROM py_err")
            raise AssertionError("no error")
        except errors.UndefinedColumn as e:
            assert e.sqlstate == "42703"
        try:
            c.execute("SELECT 1 +")
            raise AssertionError("no error")
        except errors.SyntaxError as e:
            assert e.diag.statement_position == "11", e.diag.statement_position


@test
def transaction_status_and_failed_block():
    with connect() as c:
        c.execute("SELECT 1")
        assert c.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        try:
            c.execute("SELECT 1/0")
        except errors.DivisionByZero:
            pass
        assert c.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        try:
            c.execute("SELECT 1")
            raise AssertionError("no error")
        except errors.InFailedSqlTransaction:
            pass
        c.rollback()
        assert c.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


@test
def row_lock_blocks_other_connection_until_commit():
    with connect(autocommit=True) as setup:
        setup.execute("DROP TABLE IF EXISTS py_lock")
        setup.execute("CREATE TABLE py_lock (id int PRIMARY KEY, v int)")
        setup.execute("INSERT INTO py_lock VALUES (1, 0)")
    a = connect()
    b = connect()
    try:
        a.execute("UPDATE py_lock SET v = v + 1 WHERE id = 1")
        done = []

        def second():
            b.execute("UPDATE py_lock SET v = v + 10 WHERE id = 1")
            b.commit()
            done.append(time.monotonic())

        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.5)
        assert not done, "second update did not wait for the row lock"
        # Another connection is not blocked meanwhile.
        with connect(autocommit=True) as other:
            assert other.execute("SELECT v FROM py_lock").fetchone() == (0,)
        committed = time.monotonic()
        a.commit()
        t.join(10)
        assert done and done[0] >= committed
        assert a.execute("SELECT v FROM py_lock").fetchone() == (11,)
        a.commit()
    finally:
        a.close()
        b.close()


@test
def serialization_failure_retry_loop():
    with connect(autocommit=True) as setup:
        setup.execute("DROP TABLE IF EXISTS py_acct")
        setup.execute("CREATE TABLE py_acct (id int PRIMARY KEY, balance int)")
        setup.execute("INSERT INTO py_acct VALUES (1, 100)")
    # Explicit BEGIN/COMMIT on autocommit connections, as in the docs'
    # retry loop: retry the whole transaction on 40001.
    a = connect(autocommit=True)
    b = connect(autocommit=True)
    try:
        attempts = 0
        while True:
            attempts += 1
            try:
                a.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
                a.execute("SELECT balance FROM py_acct WHERE id = 1")
                if attempts == 1:
                    # A concurrent committed update after our snapshot.
                    b.execute("UPDATE py_acct SET balance = balance - 10 WHERE id = 1")
                a.execute("UPDATE py_acct SET balance = balance - 5 WHERE id = 1")
                a.execute("COMMIT")
                break
            except errors.SerializationFailure as e:
                assert e.sqlstate == "40001"
                a.execute("ROLLBACK")
                assert attempts < 5
        assert attempts == 2
        assert a.execute("SELECT balance FROM py_acct").fetchone() == (85,)
    finally:
        a.close()
        b.close()


@test
def copy_in_and_out():
    with connect(autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS py_copy")
        c.execute("CREATE TABLE py_copy (id int PRIMARY KEY, name text, note text)")
        with c.cursor().copy("COPY py_copy (id, name, note) FROM STDIN") as cp:
            for i in range(100):
                cp.write_row((i, f"n{i}", None if i % 2 else "tab\there"))
        assert c.execute("SELECT count(*), count(note) FROM py_copy").fetchone() == (100, 50)
        out = []
        with c.cursor().copy("COPY (SELECT id, note FROM py_copy WHERE id < 2 ORDER BY id) TO STDOUT") as cp:
            for row in cp.rows():
                out.append(row)
        assert out == [("0", "tab\there"), ("1", None)], out
        # A bad row fails the whole COPY: nothing is inserted.
        try:
            with c.cursor().copy("COPY py_copy FROM STDIN") as cp:
                cp.write_row((1000, "x", "y"))
                cp.write_row((0, "dup", "z"))
            raise AssertionError("no error")
        except errors.UniqueViolation:
            pass
        assert c.execute("SELECT count(*) FROM py_copy").fetchone() == (100,)
    # A COPY the client abandons (CopyFail) fails the transaction block.
    with connect() as c:
        try:
            with c.cursor().copy("COPY py_copy FROM STDIN") as cp:
                cp.write_row((2000, "x", "y"))
                raise RuntimeError("client gives up")
        except RuntimeError:
            pass
        assert c.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        c.rollback()
        assert c.execute("SELECT count(*) FROM py_copy").fetchone() == (100,)


@test
def what_psycopg_sends_resolves_as_in_postgresql():
    """Small ints arrive as int2, strings as untyped literals: PostgreSQL's
    implicit casts and unknown-literal rules must resolve them (issue 13)."""
    with connect(autocommit=True) as c:
        xid = c.execute("SELECT txid_current()").fetchone()[0]
        assert c.execute("SELECT txid_status(%s)", (xid,)).fetchone() == ("committed",)
        assert c.execute("SELECT %s + 1, pg_typeof(%s + 1)", (1, 1)).fetchone() == (2, "integer")
        assert c.execute("SELECT abs(%s), round(%s, 1)", (-3, decimal.Decimal("2.25"))).fetchone() == (
            3,
            decimal.Decimal("2.3"),
        )
        c.execute("DROP TABLE IF EXISTS py_vecs")
        c.execute("CREATE TABLE py_vecs (id int PRIMARY KEY, e vector(2), at timestamptz, tags text[], doc jsonb)")
        c.execute(
            "INSERT INTO py_vecs VALUES (%s, %s, %s, %s, %s)",
            (1, "[0.9,0.1]", datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc), ["a", "b"], psycopg.types.json.Jsonb({"k": 1})),
        )
        c.execute("INSERT INTO py_vecs VALUES (2, '[0,1]', now(), '{c}', '{}')")
        # An untyped vector literal next to a vector column.
        assert c.execute("SELECT id FROM py_vecs ORDER BY e <-> '[0.9,0.1]' LIMIT 1").fetchone() == (1,)
        assert c.execute("SELECT id FROM py_vecs ORDER BY e <-> %s LIMIT 1", ("[0,1]",)).fetchone() == (2,)
        assert c.execute("SELECT id FROM py_vecs WHERE tags @> %s", (["a"],)).fetchall() == [(1,)]
        assert c.execute("SELECT doc->>'k' FROM py_vecs WHERE id = %s", (1,)).fetchone() == ("1",)
        assert c.execute("SELECT id FROM py_vecs WHERE at < now() - %s::interval", ("1 day",)).fetchall() == [(1,)]


@test
def error_then_deallocate_all_keeps_the_connection():
    """After an error in a transaction psycopg sends DEALLOCATE ALL; with
    prepare=True every statement is a server-side prepared one."""
    with connect() as c:
        for i in range(3):
            assert c.execute("SELECT %s::int + 1", (i,), prepare=True).fetchone() == (i + 1,)
        try:
            c.execute("SELECT 1/0", prepare=True)
            raise AssertionError("expected 22012")
        except errors.DivisionByZero:
            pass
        c.rollback()
        c.execute("DEALLOCATE ALL")
        assert c.execute("SELECT %s::int + 1", (41,), prepare=True).fetchone() == (42,)
        c.commit()
    with connect(prepare_threshold=0) as c:
        uid = uuid.uuid4()
        row = c.execute(
            "SELECT %s::uuid, %s::numeric, %s::date, %s::bool, %s::bytea",
            (uid, decimal.Decimal("1.50"), datetime.date(2026, 12, 6), True, b"\x00\x01"),
        ).fetchone()
        assert row == (uid, decimal.Decimal("1.50"), datetime.date(2026, 12, 6), True, b"\x00\x01")


@test
def listen_notify_between_connections():
    with connect(autocommit=True) as listener, connect(autocommit=True) as sender:
        listener.execute("LISTEN py_jobs")
        sender.execute("NOTIFY py_jobs, 'first'")
        with sender.transaction():
            sender.execute("SELECT pg_notify('py_jobs', 'second')")
            sender.execute("SELECT pg_notify('py_jobs', 'second')")
        try:
            with sender.transaction():
                sender.execute("NOTIFY py_jobs, 'rolled back'")
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        sender.execute("NOTIFY py_jobs, 'third'")
        got = [(n.channel, n.payload, n.pid) for n in listener.notifies(timeout=10, stop_after=3)]
        pid = sender.info.backend_pid
        assert got == [("py_jobs", "first", pid), ("py_jobs", "second", pid), ("py_jobs", "third", pid)], got
        assert listener.execute("SELECT pg_listening_channels()").fetchall() == [("py_jobs",)]
        try:
            sender.execute("SELECT pg_notify('py_jobs', repeat('x', 8000))")
            raise AssertionError("an 8000-byte payload must fail")
        except errors.InvalidParameterValue:
            pass


def main():
    passed = failed = 0
    for fn in TESTS:
        try:
            fn()
            passed += 1
            print(f"ok   {fn.__name__}")
        except Exception:
            failed += 1
            print(f"FAIL {fn.__name__}")
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


main()
