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
