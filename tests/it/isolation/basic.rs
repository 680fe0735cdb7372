//! PostgreSQL's isolation behaviours at READ COMMITTED and REPEATABLE
//! READ: dirty, non-repeatable and phantom reads, lost updates, write
//! skew, deadlocks, unique-key waits, re-checks, system views, HNSW.

use super::harness::*;

// ---- harness self-test ---------------------------------------------------

/// The harness itself must catch wrong expectations.
#[test]
fn isolation_harness_reports_mismatches() {
    let wrong: Vec<Vec<Step>> = vec![
        vec![sql("a", "SELECT v FROM t WHERE id = 1", rows(&["2"]))],
        vec![sql("a", "SELECT v FROM t WHERE id = 1", Fails("40001"))],
        vec![sql("a", "SELECT v FROM t WHERE id = 1", Blocks)],
        vec![sql("a", "UPDATE t SET v = 3", Tag("UPDATE 1"))],
        vec![sql("a", "SELECT nosuchcol FROM t", Done)],
        vec![
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET v = 3 WHERE id = 1", Done),
            sql("b", "UPDATE t SET v = 4 WHERE id = 1", Blocks),
            sql("a", "COMMIT", Done),
            // missing `unblocks("b", ..)`
            sql("b", "SELECT 1", Done),
        ],
        vec![
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET v = 3 WHERE id = 1", Done),
            sql("b", "UPDATE t SET v = 4 WHERE id = 1", Blocks),
            unblocks("b", Tag("UPDATE 1")),
        ],
        vec![status("a", TxnStatus::InBlock)],
    ];
    for (i, script) in wrong.into_iter().enumerate() {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run("self-test", T2, &script)
        }));
        assert!(r.is_err(), "wrong script {i} was not reported");
    }
    // And a right one passes.
    run(
        "self-test ok",
        T2,
        &[
            sql(
                "a",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|1", "2|10"]),
            ),
            sql("a", "BEGIN", Tag("BEGIN")),
            status("a", TxnStatus::InBlock),
            sql("a", "UPDATE t SET v = 3 WHERE id = 1", Tag("UPDATE 1")),
            sql("b", "UPDATE t SET v = 4 WHERE id = 1", Blocks),
            sql("a", "COMMIT", Done),
            unblocks("b", Tag("UPDATE 1")),
            sql("b", "SELECT v FROM t WHERE id = 1", rows(&["4"])),
        ],
    );
}

// ---- 1. dirty read -------------------------------------------------------

fn dirty_read(level: Level) {
    run(
        &format!("dirty read {level:?}"),
        T2,
        &[
            sql("a", level.begin(), Done),
            sql("a", "INSERT INTO t VALUES (3, 30)", Tag("INSERT 0 1")),
            sql("a", "UPDATE t SET v = 100 WHERE id = 1", Tag("UPDATE 1")),
            sql("a", "DELETE FROM t WHERE id = 2", Tag("DELETE 1")),
            // A sees its own changes ...
            sql(
                "a",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|100", "3|30"]),
            ),
            // ... nobody else does, in a transaction or not.
            sql("b", level.begin(), Done),
            sql(
                "b",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|1", "2|10"]),
            ),
            sql(
                "c",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|1", "2|10"]),
            ),
            sql("c", "SELECT count(*), sum(v) FROM t", rows(&["2|11"])),
            sql("c", "SELECT v FROM t WHERE id = 3", rows(&[])),
            sql("a", "ROLLBACK", Tag("ROLLBACK")),
            sql(
                "b",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|1", "2|10"]),
            ),
            sql("b", "COMMIT", Tag("COMMIT")),
            sql(
                "c",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|1", "2|10"]),
            ),
        ],
    );
}

#[test]
fn isolation_dirty_read_read_committed() {
    dirty_read(RC);
}

#[test]
fn isolation_dirty_read_repeatable_read() {
    dirty_read(RR);
}

// ---- 2. non-repeatable read ------------------------------------------------

fn non_repeatable_read(level: Level) {
    let (after_first, after_second) = match level {
        RC => ("2", "3"),
        RR => ("1", "1"),
    };
    run(
        &format!("non-repeatable read {level:?}"),
        T2,
        &[
            sql("a", level.begin(), Done),
            sql("a", "SELECT v FROM t WHERE id = 1", rows(&["1"])),
            // Committed (autocommit) update by B.
            sql("b", "UPDATE t SET v = 2 WHERE id = 1", Tag("UPDATE 1")),
            sql("a", "SELECT v FROM t WHERE id = 1", rows(&[after_first])),
            // An uncommitted one is never seen.
            sql("b", "BEGIN", Done),
            sql("b", "UPDATE t SET v = 3 WHERE id = 1", Tag("UPDATE 1")),
            sql("a", "SELECT v FROM t WHERE id = 1", rows(&[after_first])),
            sql("b", "COMMIT", Tag("COMMIT")),
            sql("a", "SELECT v FROM t WHERE id = 1", rows(&[after_second])),
            sql(
                "a",
                "SELECT sum(v) FROM t",
                rows(&[if level == RC { "13" } else { "11" }]),
            ),
            sql("a", "COMMIT", Tag("COMMIT")),
            // After the transaction, A sees the newest value.
            sql("a", "SELECT v FROM t WHERE id = 1", rows(&["3"])),
        ],
    );
}

#[test]
fn isolation_non_repeatable_read_read_committed() {
    non_repeatable_read(RC);
}

#[test]
fn isolation_non_repeatable_read_repeatable_read() {
    non_repeatable_read(RR);
}

/// REPEATABLE READ takes its snapshot at the first statement, not at BEGIN.
#[test]
fn isolation_repeatable_read_snapshot_starts_at_first_statement() {
    run(
        "RR snapshot at first statement",
        T2,
        &[
            sql("a", "BEGIN ISOLATION LEVEL REPEATABLE READ", Done),
            sql("b", "UPDATE t SET v = 5 WHERE id = 1", Tag("UPDATE 1")),
            sql("a", "SELECT v FROM t WHERE id = 1", rows(&["5"])),
            sql("b", "UPDATE t SET v = 6 WHERE id = 1", Tag("UPDATE 1")),
            sql("a", "SELECT v FROM t WHERE id = 1", rows(&["5"])),
            sql("a", "COMMIT", Done),
            sql("a", "SELECT v FROM t WHERE id = 1", rows(&["6"])),
        ],
    );
}

/// `SET TRANSACTION` and `default_transaction_isolation` select the level too.
#[test]
fn isolation_level_set_by_set_commands() {
    run(
        "SET TRANSACTION / default_transaction_isolation",
        T2,
        &[
            sql("a", "BEGIN", Done),
            sql("a", "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", Done),
            sql("a", "SELECT v FROM t WHERE id = 1", rows(&["1"])),
            sql("b", "UPDATE t SET v = 2 WHERE id = 1", Tag("UPDATE 1")),
            sql("a", "SELECT v FROM t WHERE id = 1", rows(&["1"])),
            sql(
                "a",
                "SHOW transaction_isolation",
                rows(&["repeatable read"]),
            ),
            sql("a", "COMMIT", Done),
            sql(
                "a",
                "SET default_transaction_isolation = 'repeatable read'",
                Done,
            ),
            sql("a", "BEGIN", Done),
            sql("a", "SELECT v FROM t WHERE id = 1", rows(&["2"])),
            sql("b", "UPDATE t SET v = 3 WHERE id = 1", Tag("UPDATE 1")),
            sql("a", "SELECT v FROM t WHERE id = 1", rows(&["2"])),
            sql("a", "COMMIT", Done),
            // Too late once the transaction has run a query.
            sql("a", "BEGIN", Done),
            sql("a", "SELECT 1", Done),
            sql(
                "a",
                "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
                Fails("25001"),
            ),
            sql("a", "ROLLBACK", Done),
        ],
    );
}

// ---- 3. phantom ------------------------------------------------------------

fn phantom(level: Level) {
    let (after_insert, after_delete): (&[&str], &[&str]) = match level {
        RC => (&["2", "3"], &["3"]),
        RR => (&["2"], &["2"]),
    };
    run(
        &format!("phantom {level:?}"),
        T2,
        &[
            sql("a", level.begin(), Done),
            sql(
                "a",
                "SELECT id FROM t WHERE v > 5 ORDER BY id",
                rows(&["2"]),
            ),
            sql("b", "INSERT INTO t VALUES (3, 30)", Tag("INSERT 0 1")),
            sql(
                "a",
                "SELECT id FROM t WHERE v > 5 ORDER BY id",
                rows(after_insert),
            ),
            sql("b", "DELETE FROM t WHERE id = 2", Tag("DELETE 1")),
            sql(
                "a",
                "SELECT id FROM t WHERE v > 5 ORDER BY id",
                rows(after_delete),
            ),
            sql("a", "COMMIT", Done),
            sql(
                "a",
                "SELECT id FROM t WHERE v > 5 ORDER BY id",
                rows(&["3"]),
            ),
        ],
    );
}

#[test]
fn isolation_phantom_read_committed() {
    phantom(RC);
}

#[test]
fn isolation_phantom_repeatable_read() {
    phantom(RR);
}

// ---- 4. lost update --------------------------------------------------------

fn lost_update(level: Level) {
    let mut script = vec![
        sql("a", level.begin(), Done),
        sql("b", level.begin(), Done),
        sql("a", "SELECT v FROM t WHERE id = 1", rows(&["1"])),
        sql("b", "SELECT v FROM t WHERE id = 1", rows(&["1"])),
        sql("a", "UPDATE t SET v = v + 1 WHERE id = 1", Tag("UPDATE 1")),
        sql("b", "UPDATE t SET v = v + 1 WHERE id = 1", Blocks),
        status("b", TxnStatus::InBlock),
        // Other rows are not locked.
        sql("c", "UPDATE t SET v = v + 1 WHERE id = 2", Tag("UPDATE 1")),
        sql("a", "COMMIT", Tag("COMMIT")),
    ];
    match level {
        RC => script.extend([
            unblocks("b", Tag("UPDATE 1")),
            sql("b", "SELECT v FROM t WHERE id = 1", rows(&["3"])),
            sql("b", "COMMIT", Tag("COMMIT")),
            sql(
                "c",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|3", "2|11"]),
            ),
        ]),
        RR => script.extend([
            unblocks(
                "b",
                Expect::ErrMsg(
                    "40001",
                    "could not serialize access due to concurrent update",
                ),
            ),
            status("b", TxnStatus::Failed),
            sql("b", "SELECT v FROM t WHERE id = 1", Fails("25P02")),
            sql("b", "COMMIT", Tag("ROLLBACK")),
            status("b", TxnStatus::Idle),
            sql(
                "c",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|2", "2|11"]),
            ),
            // The retry succeeds.
            sql("b", level.begin(), Done),
            sql("b", "UPDATE t SET v = v + 1 WHERE id = 1", Tag("UPDATE 1")),
            sql("b", "COMMIT", Tag("COMMIT")),
            sql("c", "SELECT v FROM t WHERE id = 1", rows(&["3"])),
        ]),
    }
    run(&format!("lost update {level:?}"), T2, &script);
}

#[test]
fn isolation_lost_update_read_committed() {
    lost_update(RC);
}

#[test]
fn isolation_lost_update_repeatable_read() {
    lost_update(RR);
}

/// Autocommit statements: the second waits, then commits on its own.
#[test]
fn isolation_lost_update_autocommit() {
    run(
        "lost update autocommit",
        T2,
        &[
            sql("a", "BEGIN", Done),
            sql(
                "a",
                "UPDATE t SET v = v + 1 WHERE id = 1 RETURNING v",
                rows(&["2"]),
            ),
            sql(
                "b",
                "UPDATE t SET v = v + 1 WHERE id = 1 RETURNING v",
                Blocks,
            ),
            sql("c", "UPDATE t SET v = v * 10 WHERE id = 1", Blocks),
            sql("a", "COMMIT", Done),
            // b was first in line; it commits, which releases c.
            unblocks("b", rows(&["3"])),
            unblocks("c", Tag("UPDATE 1")),
            sql("d", "SELECT v FROM t WHERE id = 1", rows(&["30"])),
            status("b", TxnStatus::Idle),
            status("c", TxnStatus::Idle),
        ],
    );
}

/// RR: a row updated by a transaction that committed after the snapshot
/// fails at once, without waiting; one that aborts lets the update proceed.
#[test]
fn isolation_repeatable_read_update_conflicts() {
    run(
        "RR update conflicts",
        T2,
        &[
            sql("b", "BEGIN ISOLATION LEVEL REPEATABLE READ", Done),
            sql(
                "b",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|1", "2|10"]),
            ),
            sql("a", "UPDATE t SET v = 3 WHERE id = 1", Tag("UPDATE 1")),
            // Updating a row nobody touched is fine.
            sql(
                "b",
                "UPDATE t SET v = v + 100 WHERE id = 2",
                Tag("UPDATE 1"),
            ),
            sql("b", "UPDATE t SET v = v + 100 WHERE id = 1", Fails("40001")),
            sql("b", "SELECT 1", Fails("25P02")),
            sql("b", "ROLLBACK", Done),
            sql(
                "a",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|3", "2|10"]),
            ),
            // Deleted by a committed transaction: also 40001.
            sql("b", "BEGIN ISOLATION LEVEL REPEATABLE READ", Done),
            sql("b", "SELECT 1", Done),
            sql("a", "BEGIN", Done),
            sql("a", "DELETE FROM t WHERE id = 1", Tag("DELETE 1")),
            sql("b", "UPDATE t SET v = 9 WHERE id = 1", Blocks),
            sql("a", "COMMIT", Done),
            unblocks("b", Fails("40001")),
            sql("b", "ROLLBACK", Done),
            // The holder aborts: the update goes ahead on the old version.
            sql("b", "BEGIN ISOLATION LEVEL REPEATABLE READ", Done),
            sql("b", "SELECT 1", Done),
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET v = 3 WHERE id = 2", Tag("UPDATE 1")),
            sql("b", "UPDATE t SET v = v + 100 WHERE id = 2", Blocks),
            sql("a", "ROLLBACK", Done),
            unblocks("b", Tag("UPDATE 1")),
            sql("b", "SELECT v FROM t WHERE id = 2", rows(&["110"])),
            sql("b", "COMMIT", Tag("COMMIT")),
            sql("a", "SELECT id, v FROM t ORDER BY id", rows(&["2|110"])),
        ],
    );
}

// ---- 5. write skew; SERIALIZABLE -------------------------------------------

const DOCTORS: &[&str] = &[
    "CREATE TABLE doctors (name text PRIMARY KEY, on_call bool NOT NULL)",
    "INSERT INTO doctors VALUES ('alice', true), ('bob', true)",
];

/// Write skew is allowed under REPEATABLE READ (snapshot isolation): both
/// doctors go off call although each checked that the other stays on.
/// SERIALIZABLE fails one of them with 40001 (next test).
#[test]
fn isolation_write_skew_repeatable_read() {
    run(
        "write skew RR",
        DOCTORS,
        &[
            sql("a", "BEGIN ISOLATION LEVEL REPEATABLE READ", Done),
            sql("b", "BEGIN ISOLATION LEVEL REPEATABLE READ", Done),
            sql(
                "a",
                "SELECT count(*) FROM doctors WHERE on_call",
                rows(&["2"]),
            ),
            sql(
                "b",
                "SELECT count(*) FROM doctors WHERE on_call",
                rows(&["2"]),
            ),
            sql(
                "a",
                "UPDATE doctors SET on_call = false WHERE name = 'alice'",
                Tag("UPDATE 1"),
            ),
            sql(
                "b",
                "UPDATE doctors SET on_call = false WHERE name = 'bob'",
                Tag("UPDATE 1"),
            ),
            sql(
                "a",
                "SELECT count(*) FROM doctors WHERE on_call",
                rows(&["1"]),
            ),
            sql(
                "b",
                "SELECT count(*) FROM doctors WHERE on_call",
                rows(&["1"]),
            ),
            sql("a", "COMMIT", Tag("COMMIT")),
            sql("b", "COMMIT", Tag("COMMIT")),
            sql(
                "c",
                "SELECT count(*) FROM doctors WHERE on_call",
                rows(&["0"]),
            ),
        ],
    );
}

/// The same write skew under SERIALIZABLE: each transaction read what the
/// other wrote (a cycle of rw-dependencies), so the second to commit fails
/// with PostgreSQL's 40001, and the invariant holds.
#[test]
fn isolation_write_skew_serializable() {
    run(
        "write skew SERIALIZABLE",
        DOCTORS,
        &[
            sql(
                "a",
                "SET default_transaction_isolation = 'serializable'",
                Done,
            ),
            sql("a", "BEGIN", Done),
            sql("b", "BEGIN ISOLATION LEVEL SERIALIZABLE", Done),
            sql("a", "SHOW transaction_isolation", rows(&["serializable"])),
            sql(
                "a",
                "SELECT count(*) FROM doctors WHERE on_call",
                rows(&["2"]),
            ),
            sql(
                "b",
                "SELECT count(*) FROM doctors WHERE on_call",
                rows(&["2"]),
            ),
            sql(
                "a",
                "UPDATE doctors SET on_call = false WHERE name = 'alice'",
                Tag("UPDATE 1"),
            ),
            sql(
                "b",
                "UPDATE doctors SET on_call = false WHERE name = 'bob'",
                Tag("UPDATE 1"),
            ),
            sql("a", "COMMIT", Tag("COMMIT")),
            sql(
                "b",
                "COMMIT",
                Expect::ErrMsg(
                    "40001",
                    "could not serialize access due to read/write dependencies among transactions",
                ),
            ),
            status("b", TxnStatus::Idle),
            sql(
                "c",
                "SELECT count(*) FROM doctors WHERE on_call",
                rows(&["1"]),
            ),
        ],
    );
}

// ---- 6. counting twice -----------------------------------------------------

fn count_twice(level: Level) {
    let second = if level == RC { "1001" } else { "1000" };
    run(
        &format!("count twice {level:?}"),
        &[
            "CREATE TABLE big (id int PRIMARY KEY, v int)",
            "INSERT INTO big SELECT g, g % 7 FROM generate_series(1, 1000) g",
        ],
        &[
            sql("a", level.begin(), Done),
            sql("a", "SELECT count(*) FROM big", rows(&["1000"])),
            sql("b", "INSERT INTO big VALUES (1001, 0)", Tag("INSERT 0 1")),
            sql("a", "SELECT count(*) FROM big", rows(&[second])),
            // Lookups by key agree with the scan.
            sql(
                "a",
                "SELECT count(*) FROM big WHERE id = 1001",
                rows(&[if level == RC { "1" } else { "0" }]),
            ),
            sql("a", "COMMIT", Done),
            sql("a", "SELECT count(*) FROM big", rows(&["1001"])),
        ],
    );
}

#[test]
fn isolation_count_twice_read_committed() {
    count_twice(RC);
}

#[test]
fn isolation_count_twice_repeatable_read() {
    count_twice(RR);
}

// ---- 7. deadlock -----------------------------------------------------------

/// A locks row 1 then row 2, B row 2 then row 1. As in PostgreSQL, the
/// victim is the waiter whose deadlock check (deadlock_timeout after it
/// began to wait) comes first: A, which waited first. Its transaction is
/// aborted then and there, so B goes on at once, while A's block stays
/// failed (25P02) until its client sends ROLLBACK.
fn deadlock(level: Level) {
    run(
        &format!("deadlock {level:?}"),
        T2,
        &[
            sql("a", level.begin(), Done),
            sql("b", level.begin(), Done),
            sql("a", "UPDATE t SET v = v + 1 WHERE id = 1", Tag("UPDATE 1")),
            sql("b", "UPDATE t SET v = v + 10 WHERE id = 2", Tag("UPDATE 1")),
            sql("a", "UPDATE t SET v = v + 1 WHERE id = 2", Blocks),
            sql("b", "UPDATE t SET v = v + 10 WHERE id = 1", Tag("UPDATE 1")),
            unblocks("a", Expect::ErrMsg("40P01", "deadlock detected")),
            status("a", TxnStatus::Failed),
            status("b", TxnStatus::InBlock),
            sql("a", "SELECT 1", Fails("25P02")),
            sql(
                "c",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|1", "2|10"]),
            ),
            sql(
                "b",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|11", "2|20"]),
            ),
            sql("b", "COMMIT", Tag("COMMIT")),
            sql("a", "ROLLBACK", Tag("ROLLBACK")),
            sql(
                "c",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|11", "2|20"]),
            ),
        ],
    );
}

/// With a longer deadlock_timeout the first waiter checks later, and the
/// session that closes the cycle is the victim (PostgreSQL's
/// fk-deadlock spec relies on the same).
#[test]
fn isolation_deadlock_victim_follows_deadlock_timeout() {
    run(
        "deadlock victim by deadlock_timeout",
        T2,
        &[
            sql("a", "BEGIN", Done),
            sql("a", "SET deadlock_timeout = '10s'", Done),
            sql("b", "BEGIN", Done),
            sql("b", "SET deadlock_timeout = '100ms'", Done),
            sql("a", "UPDATE t SET v = v + 1 WHERE id = 1", Tag("UPDATE 1")),
            sql("b", "UPDATE t SET v = v + 10 WHERE id = 2", Tag("UPDATE 1")),
            sql("a", "UPDATE t SET v = v + 1 WHERE id = 2", Blocks),
            sql("b", "UPDATE t SET v = v + 10 WHERE id = 1", Fails("40P01")),
            unblocks("a", Tag("UPDATE 1")),
            sql("b", "ROLLBACK", Done),
            sql("a", "COMMIT", Done),
            sql(
                "c",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|2", "2|11"]),
            ),
        ],
    );
}

#[test]
fn isolation_deadlock_read_committed() {
    deadlock(RC);
}

#[test]
fn isolation_deadlock_repeatable_read() {
    deadlock(RR);
}

/// A three-session cycle a -> b -> c -> a; the victim is a, the first
/// waiter, whose error aborts it at once, so c (which waited for a) goes
/// on; b follows when c commits.
#[test]
fn isolation_deadlock_three_sessions() {
    run(
        "deadlock of three",
        &[
            "CREATE TABLE t (id int PRIMARY KEY, v int)",
            "INSERT INTO t VALUES (1, 0), (2, 0), (3, 0)",
        ],
        &[
            sql("a", "BEGIN", Done),
            sql("b", "BEGIN", Done),
            sql("c", "BEGIN", Done),
            sql("a", "UPDATE t SET v = v + 1 WHERE id = 1", Tag("UPDATE 1")),
            sql("b", "UPDATE t SET v = v + 1 WHERE id = 2", Tag("UPDATE 1")),
            sql("c", "UPDATE t SET v = v + 1 WHERE id = 3", Tag("UPDATE 1")),
            sql("a", "UPDATE t SET v = v + 10 WHERE id = 2", Blocks),
            sql("b", "UPDATE t SET v = v + 10 WHERE id = 3", Blocks),
            sql("c", "UPDATE t SET v = v + 10 WHERE id = 1", Tag("UPDATE 1")),
            unblocks("a", Fails("40P01")),
            sql("a", "ROLLBACK", Done),
            sql("c", "COMMIT", Done),
            unblocks("b", Tag("UPDATE 1")),
            sql("b", "COMMIT", Done),
            sql(
                "d",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|10", "2|1", "3|11"]),
            ),
        ],
    );
}

// ---- 8. unique keys ----------------------------------------------------------

const U: &[&str] = &[
    "CREATE TABLE u (k int PRIMARY KEY, who text)",
    "INSERT INTO u VALUES (1, 'x')",
];

fn unique_wait(level: Level, holder_commits: bool) {
    let mut script = vec![
        sql("a", "BEGIN", Done),
        sql("a", "INSERT INTO u VALUES (5, 'a')", Tag("INSERT 0 1")),
        sql("b", level.begin(), Done),
        sql("b", "SELECT count(*) FROM u", rows(&["1"])),
        sql("b", "INSERT INTO u VALUES (5, 'b')", Blocks),
        // Other keys do not wait.
        sql("c", "INSERT INTO u VALUES (6, 'c')", Tag("INSERT 0 1")),
    ];
    if holder_commits {
        script.extend([
            sql("a", "COMMIT", Done),
            unblocks(
                "b",
                Expect::ErrMsg("23505", "duplicate key value violates unique constraint"),
            ),
            status("b", TxnStatus::Failed),
            sql("b", "ROLLBACK", Done),
            sql(
                "c",
                "SELECT k, who FROM u ORDER BY k",
                rows(&["1|x", "5|a", "6|c"]),
            ),
        ]);
    } else {
        script.extend([
            sql("a", "ROLLBACK", Done),
            unblocks("b", Tag("INSERT 0 1")),
            sql("b", "COMMIT", Tag("COMMIT")),
            sql(
                "c",
                "SELECT k, who FROM u ORDER BY k",
                rows(&["1|x", "5|b", "6|c"]),
            ),
        ]);
    }
    run(
        &format!("unique wait {level:?} holder commits: {holder_commits}"),
        U,
        &script,
    );
}

#[test]
fn isolation_unique_wait_holder_commits_read_committed() {
    unique_wait(RC, true);
}

#[test]
fn isolation_unique_wait_holder_commits_repeatable_read() {
    unique_wait(RR, true);
}

#[test]
fn isolation_unique_wait_holder_aborts_read_committed() {
    unique_wait(RC, false);
}

#[test]
fn isolation_unique_wait_holder_aborts_repeatable_read() {
    unique_wait(RR, false);
}

/// An insert waits for an in-progress delete of the same key; an update
/// that moves a key waits for an in-progress insert of it; a key inserted
/// and committed after an RR snapshot still conflicts (23505, not 40001).
#[test]
fn isolation_unique_wait_variants() {
    run(
        "unique wait variants",
        U,
        &[
            // Deleter commits: the insert succeeds (autocommit).
            sql("a", "BEGIN", Done),
            sql("a", "DELETE FROM u WHERE k = 1", Tag("DELETE 1")),
            sql("b", "INSERT INTO u VALUES (1, 'b')", Blocks),
            sql("a", "COMMIT", Done),
            unblocks("b", Tag("INSERT 0 1")),
            sql("c", "SELECT k, who FROM u ORDER BY k", rows(&["1|b"])),
            // Deleter rolls back: duplicate.
            sql("a", "BEGIN", Done),
            sql("a", "DELETE FROM u WHERE k = 1", Tag("DELETE 1")),
            sql("b", "INSERT INTO u VALUES (1, 'b2')", Blocks),
            sql("a", "ROLLBACK", Done),
            unblocks("b", Fails("23505")),
            status("b", TxnStatus::Idle),
            sql("c", "SELECT k, who FROM u ORDER BY k", rows(&["1|b"])),
            // UPDATE moving a key onto an in-progress insert.
            sql("a", "BEGIN", Done),
            sql("a", "INSERT INTO u VALUES (5, 'a')", Done),
            sql("b", "UPDATE u SET k = 5 WHERE k = 1", Blocks),
            sql("a", "ROLLBACK", Done),
            unblocks("b", Tag("UPDATE 1")),
            sql("c", "SELECT k, who FROM u ORDER BY k", rows(&["5|b"])),
            // Committed after the RR snapshot, invisible, still a duplicate.
            sql("b", "BEGIN ISOLATION LEVEL REPEATABLE READ", Done),
            sql("b", "SELECT k FROM u", rows(&["5"])),
            sql("a", "INSERT INTO u VALUES (7, 'a')", Done),
            sql("b", "SELECT k FROM u WHERE k = 7", rows(&[])),
            sql("b", "INSERT INTO u VALUES (7, 'b')", Fails("23505")),
            sql("b", "ROLLBACK", Done),
        ],
    );
}

// ---- 10. disconnect releases locks -------------------------------------------

#[test]
fn isolation_disconnect_releases_locks() {
    run(
        "disconnect mid-transaction",
        &[
            "CREATE TABLE t (id int PRIMARY KEY, v int)",
            "INSERT INTO t VALUES (1, 1), (2, 10)",
            "CREATE TABLE u (k int PRIMARY KEY)",
        ],
        &[
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET v = 100 WHERE id = 1", Tag("UPDATE 1")),
            sql("a", "INSERT INTO u VALUES (1)", Done),
            sql("b", "UPDATE t SET v = v + 1 WHERE id = 1", Blocks),
            sql("c", "INSERT INTO u VALUES (1)", Blocks),
            disconnect("a"),
            // Both proceed; a's work is rolled back.
            unblocks("b", Tag("UPDATE 1")),
            unblocks("c", Tag("INSERT 0 1")),
            sql(
                "d",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|2", "2|10"]),
            ),
            sql("d", "SELECT k FROM u", rows(&["1"])),
        ],
    );
}

/// A parked session that disconnects releases what its transaction held,
/// and its own wait simply ends (no completion).
#[test]
fn isolation_disconnect_while_parked() {
    run(
        "disconnect while parked",
        T2,
        &[
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET v = v + 1 WHERE id = 1", Done),
            sql("b", "BEGIN", Done),
            sql("b", "UPDATE t SET v = v + 10 WHERE id = 2", Done),
            sql("b", "UPDATE t SET v = v + 10 WHERE id = 1", Blocks),
            sql("c", "UPDATE t SET v = v + 100 WHERE id = 2", Blocks),
            disconnect("b"),
            unblocks("c", Tag("UPDATE 1")),
            sql("a", "COMMIT", Done),
            sql(
                "d",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|2", "2|110"]),
            ),
        ],
    );
}

// ---- 11. READ COMMITTED re-check -------------------------------------------------

#[test]
fn isolation_read_committed_recheck() {
    run(
        "RC re-check of the WHERE clause",
        &[
            "CREATE TABLE t (id int PRIMARY KEY, v int, w int)",
            "INSERT INTO t VALUES (1, 1, 0), (2, 10, 0)",
        ],
        &[
            // The new version no longer matches: nothing updated.
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET v = 2 WHERE id = 1", Tag("UPDATE 1")),
            sql("b", "UPDATE t SET v = 0 WHERE v = 1", Blocks),
            sql("a", "COMMIT", Done),
            unblocks("b", Tag("UPDATE 0")),
            sql(
                "c",
                "SELECT id, v, w FROM t ORDER BY id",
                rows(&["1|2|0", "2|10|0"]),
            ),
            // Still matches: updated, on top of the committed change.
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET w = w + 1 WHERE id = 1", Tag("UPDATE 1")),
            sql(
                "b",
                "UPDATE t SET v = v * 100 WHERE v = 2 RETURNING id, v, w",
                Blocks,
            ),
            sql("a", "COMMIT", Done),
            unblocks("b", rows(&["1|200|1"])),
            // DELETE re-checks too.
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET v = 3 WHERE id = 1", Done),
            sql("b", "DELETE FROM t WHERE v = 200", Blocks),
            sql("a", "COMMIT", Done),
            unblocks("b", Tag("DELETE 0")),
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET w = 7 WHERE id = 1", Done),
            sql("b", "DELETE FROM t WHERE v = 3", Blocks),
            sql("a", "COMMIT", Done),
            unblocks("b", Tag("DELETE 1")),
            sql("c", "SELECT id, v, w FROM t ORDER BY id", rows(&["2|10|0"])),
            // UPDATE behind a committed DELETE: the row is gone.
            sql("a", "BEGIN", Done),
            sql("a", "DELETE FROM t WHERE id = 2", Done),
            sql("b", "UPDATE t SET v = 0 WHERE id = 2", Blocks),
            sql("a", "COMMIT", Done),
            unblocks("b", Tag("UPDATE 0")),
            // Rows the statement's snapshot does not show are not candidates,
            // even if their new version would match (no wait).
            sql("c", "INSERT INTO t VALUES (3, 1, 0)", Done),
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET v = 2 WHERE id = 3", Done),
            sql("b", "UPDATE t SET v = 0 WHERE v = 2", Tag("UPDATE 0")),
            sql("a", "COMMIT", Done),
            sql("c", "SELECT id, v, w FROM t ORDER BY id", rows(&["3|2|0"])),
        ],
    );
}

// ---- more waits ------------------------------------------------------------

/// ROLLBACK TO SAVEPOINT releases the row locks taken after the savepoint:
/// the waiter proceeds while the holder's transaction goes on.
#[test]
fn isolation_rollback_to_savepoint_releases_row_lock() {
    run(
        "rollback to savepoint releases locks",
        T2,
        &[
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET v = v + 10 WHERE id = 2", Tag("UPDATE 1")),
            sql("a", "SAVEPOINT s", Done),
            sql("a", "UPDATE t SET v = 5 WHERE id = 1", Tag("UPDATE 1")),
            sql("b", "UPDATE t SET v = v + 1 WHERE id = 1", Blocks),
            sql("c", "UPDATE t SET v = v + 1 WHERE id = 2", Blocks),
            sql("a", "ROLLBACK TO SAVEPOINT s", Done),
            unblocks("b", Tag("UPDATE 1")),
            // Row 2 was locked before the savepoint: still held (B's
            // autocommit update of row 1 is visible under READ COMMITTED).
            sql(
                "a",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|2", "2|20"]),
            ),
            sql("a", "COMMIT", Done),
            unblocks("c", Tag("UPDATE 1")),
            sql(
                "d",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|2", "2|21"]),
            ),
        ],
    );
}

/// A deadlock through unique-key waits is detected like one on rows.
#[test]
fn isolation_deadlock_on_unique_keys() {
    run(
        "deadlock on unique keys",
        T2,
        &[
            sql("a", "BEGIN", Done),
            sql("b", "BEGIN", Done),
            sql("a", "INSERT INTO t VALUES (5, 5)", Done),
            sql("b", "INSERT INTO t VALUES (6, 6)", Done),
            sql("a", "INSERT INTO t VALUES (6, 0)", Blocks),
            sql("b", "INSERT INTO t VALUES (5, 0)", Tag("INSERT 0 1")),
            unblocks("a", Fails("40P01")),
            sql("a", "ROLLBACK", Done),
            sql("b", "COMMIT", Done),
            sql(
                "c",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|1", "2|10", "5|0", "6|6"]),
            ),
        ],
    );
}

/// A blocked multi-row UPDATE under READ COMMITTED keeps its statement
/// snapshot: a row the holder inserted is not touched; the locked row is
/// updated on top of the holder's change.
#[test]
fn isolation_read_committed_blocked_update_keeps_snapshot() {
    run(
        "RC blocked multi-row update",
        T2,
        &[
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET v = v + 1 WHERE id = 1", Done),
            sql("a", "INSERT INTO t VALUES (3, 0)", Done),
            sql("b", "UPDATE t SET v = v + 100", Blocks),
            sql("a", "COMMIT", Done),
            unblocks("b", Tag("UPDATE 2")),
            sql(
                "b",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|102", "2|110", "3|0"]),
            ),
        ],
    );
}

/// Two sessions wait for the same in-progress insert. When it aborts, one
/// of them inserts and the other now waits for that one. (PostgreSQL does
/// not specify which one wins; NeuralDB wakes waiters in session order.)
/// A parked session refuses further statements (55000) and stays parked.
#[test]
fn isolation_two_waiters_on_one_unique_key() {
    run(
        "two unique waiters",
        T2,
        &[
            sql("a", "BEGIN", Done),
            sql("a", "INSERT INTO t VALUES (5, 5)", Done),
            sql("b", "BEGIN", Done),
            sql("b", "INSERT INTO t VALUES (5, 6)", Blocks),
            sql("c", "INSERT INTO t VALUES (5, 7)", Blocks),
            sql("a", "ROLLBACK", Done),
            unblocks("b", Tag("INSERT 0 1")),
            sql("c", "SELECT 1", Fails("55000")),
            sql("b", "COMMIT", Done),
            unblocks("c", Fails("23505")),
            sql(
                "c",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|1", "2|10", "5|6"]),
            ),
        ],
    );
}

/// A parked statement of a multi-statement string resumes and runs the
/// rest; the completion carries the last statement's result.
#[test]
fn isolation_parked_multi_statement_string_resumes() {
    run(
        "parked multi-statement string",
        T2,
        &[
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET v = 5 WHERE id = 1", Done),
            sql(
                "b",
                "UPDATE t SET v = v + 1 WHERE id = 1; SELECT v FROM t WHERE id = 1",
                Blocks,
            ),
            sql("a", "COMMIT", Done),
            unblocks("b", rows(&["6"])),
            sql("c", "SELECT v FROM t WHERE id = 1", rows(&["6"])),
        ],
    );
}

/// REPEATABLE READ: a DELETE of a row changed since the snapshot fails too.
#[test]
fn isolation_repeatable_read_delete_conflict() {
    run(
        "RR delete conflict",
        T2,
        &[
            sql("a", "BEGIN ISOLATION LEVEL REPEATABLE READ", Done),
            sql("a", "SELECT count(*) FROM t", rows(&["2"])),
            sql("b", "UPDATE t SET v = 5 WHERE id = 1", Done),
            sql("a", "DELETE FROM t WHERE id = 2", Tag("DELETE 1")),
            sql("a", "DELETE FROM t WHERE id = 1", Fails("40001")),
            sql("a", "ROLLBACK", Done),
            sql(
                "b",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|5", "2|10"]),
            ),
        ],
    );
}

/// READ COMMITTED follows the holder's update chain to its newest version,
/// however many versions the holder made, and re-checks the WHERE clause
/// there: a changed key or a delete-and-reinsert no longer qualifies.
#[test]
fn isolation_read_committed_follows_update_chain() {
    run(
        "RC follows update chains",
        T2,
        &[
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET v = v + 1 WHERE id = 1", Done),
            sql("a", "UPDATE t SET v = v + 1 WHERE id = 1", Done),
            sql(
                "b",
                "UPDATE t SET v = v * 10 WHERE id = 1 RETURNING v",
                Blocks,
            ),
            sql("a", "COMMIT", Done),
            unblocks("b", rows(&["30"])),
            // The key changes under the waiter.
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET id = 3 WHERE id = 1", Done),
            sql("b", "UPDATE t SET v = 0 WHERE id = 1", Blocks),
            sql("a", "COMMIT", Done),
            unblocks("b", Tag("UPDATE 0")),
            sql(
                "c",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["2|10", "3|30"]),
            ),
            // Deleted and re-inserted: the new row is a different row.
            sql("a", "BEGIN", Done),
            sql("a", "DELETE FROM t WHERE id = 3", Done),
            sql("a", "INSERT INTO t VALUES (3, 50)", Done),
            sql("b", "UPDATE t SET v = v + 1 WHERE id = 3", Blocks),
            sql("a", "COMMIT", Done),
            unblocks("b", Tag("UPDATE 0")),
            sql(
                "c",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["2|10", "3|50"]),
            ),
        ],
    );
}

/// An autocommit statement parked halfway through its rows: disconnecting
/// its session rolls back the rows it already changed and frees them.
#[test]
fn isolation_disconnect_parked_autocommit_statement() {
    run(
        "disconnect parked autocommit statement",
        T2,
        &[
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET v = v + 1 WHERE id = 2", Done),
            // Updates row 1, then waits for row 2.
            sql("b", "UPDATE t SET v = v + 100", Blocks),
            sql("c", "UPDATE t SET v = v + 1000 WHERE id = 1", Blocks),
            disconnect("b"),
            unblocks("c", Tag("UPDATE 1")),
            sql("a", "COMMIT", Done),
            sql(
                "d",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|1001", "2|11"]),
            ),
        ],
    );
}

/// A deadlock closed by an explicit transaction against an autocommit
/// statement: the autocommit statement, which waited first, is the victim
/// (its implicit transaction rolls back) and the closer goes on.
#[test]
fn isolation_deadlock_with_autocommit_statement() {
    run(
        "deadlock with autocommit statement",
        T2,
        &[
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET v = v + 1 WHERE id = 2", Done),
            sql("b", "UPDATE t SET v = v + 100", Blocks),
            sql("a", "UPDATE t SET v = v + 1 WHERE id = 1", Tag("UPDATE 1")),
            unblocks("b", Fails("40P01")),
            status("b", TxnStatus::Idle),
            sql("a", "COMMIT", Done),
            sql(
                "d",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|2", "2|11"]),
            ),
        ],
    );
}

/// A table created in an open transaction is invisible to others until
/// it commits.
#[test]
fn isolation_uncommitted_create_table_invisible() {
    run(
        "uncommitted CREATE TABLE",
        T2,
        &[
            sql("a", "BEGIN", Done),
            sql("a", "CREATE TABLE x (k int PRIMARY KEY)", Done),
            sql("a", "INSERT INTO x VALUES (1)", Done),
            sql("b", "SELECT * FROM x", Fails("42P01")),
            sql("a", "COMMIT", Done),
            sql("b", "SELECT * FROM x", rows(&["1"])),
        ],
    );
}

/// PostgreSQL's REPEATABLE READ quirk: a key deleted (and committed) after
/// the snapshot can be inserted again, and the transaction then sees both
/// the old row (from its snapshot) and its own new one.
#[test]
fn isolation_repeatable_read_reinsert_of_deleted_key() {
    run(
        "RR re-insert of a key deleted after the snapshot",
        T2,
        &[
            sql("a", "BEGIN ISOLATION LEVEL REPEATABLE READ", Done),
            sql(
                "a",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|1", "2|10"]),
            ),
            sql("b", "DELETE FROM t WHERE id = 1", Done),
            sql("a", "INSERT INTO t VALUES (1, 99)", Tag("INSERT 0 1")),
            sql(
                "a",
                "SELECT id, v FROM t ORDER BY id, v",
                rows(&["1|1", "1|99", "2|10"]),
            ),
            sql("a", "COMMIT", Done),
            sql(
                "b",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|99", "2|10"]),
            ),
        ],
    );
}

/// ROLLBACK TO SAVEPOINT also ends a unique-key wait on a key inserted
/// after the savepoint; a released inner savepoint's locks go with the
/// outer one.
#[test]
fn isolation_savepoint_rollback_releases_unique_and_released_savepoints() {
    run(
        "savepoint rollback: unique key, released savepoint",
        T2,
        &[
            sql("a", "BEGIN", Done),
            sql("a", "SAVEPOINT s", Done),
            sql("a", "INSERT INTO t VALUES (5, 5)", Done),
            sql("b", "INSERT INTO t VALUES (5, 6)", Blocks),
            sql("a", "ROLLBACK TO SAVEPOINT s", Done),
            unblocks("b", Tag("INSERT 0 1")),
            sql("a", "INSERT INTO t VALUES (5, 7)", Fails("23505")),
            sql("a", "ROLLBACK", Done),
            sql("a", "BEGIN", Done),
            sql("a", "SAVEPOINT s1", Done),
            sql("a", "SAVEPOINT s2", Done),
            sql("a", "UPDATE t SET v = 50 WHERE id = 1", Done),
            sql("a", "RELEASE SAVEPOINT s2", Done),
            sql("b", "UPDATE t SET v = v + 1 WHERE id = 1", Blocks),
            sql("a", "ROLLBACK TO SAVEPOINT s1", Done),
            unblocks("b", Tag("UPDATE 1")),
            sql("a", "COMMIT", Done),
            sql(
                "c",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|2", "2|10", "5|6"]),
            ),
        ],
    );
}

/// READ UNCOMMITTED is READ COMMITTED (as in PostgreSQL): no dirty reads.
#[test]
fn isolation_read_uncommitted_has_no_dirty_reads() {
    run(
        "READ UNCOMMITTED",
        T2,
        &[
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET v = 5 WHERE id = 1", Done),
            sql("b", "BEGIN ISOLATION LEVEL READ UNCOMMITTED", Done),
            sql("b", "SELECT v FROM t WHERE id = 1", rows(&["1"])),
            sql("a", "COMMIT", Done),
            sql("b", "SELECT v FROM t WHERE id = 1", rows(&["5"])),
            sql("b", "COMMIT", Done),
        ],
    );
}

// ---- system views ----------------------------------------------------------

/// A session parked on a row lock shows up as waiting in `pg_stat_activity`
/// and as an ungranted ShareLock on the holder's xid in `pg_locks`, seen
/// from a third session; both go away when the holder commits.
#[test]
fn isolation_parked_session_in_pg_stat_activity_and_pg_locks() {
    let activity = "SELECT application_name, state, wait_event_type, wait_event \
                    FROM pg_stat_activity WHERE application_name IN ('holder', 'waiter') \
                    ORDER BY application_name";
    let waits = "SELECT l.mode, l.transactionid = h.backend_xid, l.waitstart IS NOT NULL \
                 FROM pg_locks l JOIN pg_stat_activity w ON w.pid = l.pid \
                 JOIN pg_stat_activity h ON h.application_name = 'holder' \
                 WHERE w.application_name = 'waiter' AND NOT l.granted";
    let holder_locks = "SELECT l.locktype, l.mode, l.granted FROM pg_locks l \
                        JOIN pg_stat_activity a ON a.pid = l.pid \
                        WHERE a.application_name = 'holder' AND l.locktype <> 'virtualxid' \
                        ORDER BY l.locktype";
    let sessions_locks = "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a \
                          ON a.pid = l.pid WHERE a.application_name IN ('holder', 'waiter')";
    run(
        "parked session in system views",
        T2,
        &[
            sql("a", "SET application_name = 'holder'", Done),
            sql("b", "SET application_name = 'waiter'", Done),
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET v = 5 WHERE id = 1", Tag("UPDATE 1")),
            sql("b", "UPDATE t SET v = 6 WHERE id = 1", Blocks),
            sql(
                "c",
                activity,
                rows(&[
                    "holder|idle in transaction|NULL|NULL",
                    "waiter|active|Lock|transactionid",
                ]),
            ),
            sql("c", waits, rows(&["ShareLock|t|t"])),
            sql(
                "c",
                holder_locks,
                rows(&[
                    "relation|RowExclusiveLock|t",
                    "transactionid|ExclusiveLock|t",
                ]),
            ),
            sql(
                "c",
                "SELECT query FROM pg_stat_activity WHERE application_name = 'waiter'",
                rows(&["UPDATE t SET v = 6 WHERE id = 1"]),
            ),
            sql("a", "COMMIT", Tag("COMMIT")),
            unblocks("b", Tag("UPDATE 1")),
            sql(
                "c",
                activity,
                rows(&["holder|idle|NULL|NULL", "waiter|idle|NULL|NULL"]),
            ),
            sql("c", waits, rows(&[])),
            sql("c", sessions_locks, rows(&["0"])),
            sql(
                "c",
                "SELECT count(*) FROM pg_locks WHERE NOT granted",
                rows(&["0"]),
            ),
        ],
    );
}

// ---- HNSW index entries and snapshots --------------------------------------

const VECS: &[&str] = &[
    "CREATE TABLE v (id int PRIMARY KEY, e vector(2), cat int)",
    "CREATE INDEX v_e ON v USING hnsw (e vector_l2_ops)",
    "INSERT INTO v VALUES (1, '[1,0]', 0), (2, '[2,0]', 1), (3, '[3,0]', 0), (4, '[4,0]', 1)",
];

const NEAR: &str = "SELECT id FROM v ORDER BY e <-> '[0,0]' LIMIT 2";

/// An index scan returns what the snapshot sees: not another session's
/// uncommitted insert, delete or moved vector; at REPEATABLE READ not even
/// after it commits; never a rolled-back insert.
fn vector_visibility(level: Level) {
    let after_commit = match level {
        RC => &["5", "3"],
        RR => &["1", "2"],
    };
    run(
        &format!("hnsw visibility {level:?}"),
        VECS,
        &[
            sql("a", level.begin(), Done),
            sql("a", NEAR, rows(&["1", "2"])),
            sql("b", "BEGIN", Done),
            sql(
                "b",
                "INSERT INTO v VALUES (5, '[0,0]', 0)",
                Tag("INSERT 0 1"),
            ),
            sql("b", "DELETE FROM v WHERE id = 1", Tag("DELETE 1")),
            sql(
                "b",
                "UPDATE v SET e = '[100,0]' WHERE id = 2",
                Tag("UPDATE 1"),
            ),
            // B sees its own work through the index ...
            sql("b", NEAR, rows(&["5", "3"])),
            // ... nobody else does before it commits.
            sql("c", NEAR, rows(&["1", "2"])),
            sql("a", NEAR, rows(&["1", "2"])),
            sql("b", "COMMIT", Tag("COMMIT")),
            sql("a", NEAR, rows(after_commit)),
            sql("c", NEAR, rows(&["5", "3"])),
            // The moved vector is found at its new place only.
            sql(
                "c",
                "SELECT id FROM v ORDER BY e <-> '[100,0]' LIMIT 1",
                rows(&["2"]),
            ),
            sql(
                "c",
                "SELECT id FROM v WHERE cat = 1 ORDER BY e <-> '[0,0]' LIMIT 1",
                rows(&["4"]),
            ),
            sql("d", "BEGIN", Done),
            sql(
                "d",
                "INSERT INTO v VALUES (6, '[0.5,0]', 0)",
                Tag("INSERT 0 1"),
            ),
            sql("d", "ROLLBACK", Tag("ROLLBACK")),
            sql("c", NEAR, rows(&["5", "3"])),
            sql("a", NEAR, rows(after_commit)),
            sql("a", "COMMIT", Tag("COMMIT")),
            sql("a", NEAR, rows(&["5", "3"])),
        ],
    );
}

#[test]
fn isolation_hnsw_visibility_read_committed() {
    vector_visibility(RC);
}

#[test]
fn isolation_hnsw_visibility_repeatable_read() {
    vector_visibility(RR);
}

/// Hundreds of dead (committed deletes) and invisible (another session's
/// uncommitted inserts) versions nearer to the query than any visible row
/// do not shorten the result: the scan counts visible rows only, with and
/// without a filter.
#[test]
fn isolation_hnsw_limit_rows_through_dead_versions() {
    let far = "SELECT id FROM v ORDER BY e <-> '[0,0]' LIMIT 3";
    let far_filtered = "SELECT id FROM v WHERE cat = 1 ORDER BY e <-> '[0,0]' LIMIT 3";
    run(
        "hnsw limit through dead versions",
        &[
            "CREATE TABLE v (id int PRIMARY KEY, e vector(2), cat int)",
            "CREATE INDEX v_e ON v USING hnsw (e vector_l2_ops)",
            "INSERT INTO v SELECT g, ('[' || (1000 + g) || ',0]')::vector, g % 2 FROM generate_series(1, 100) g",
            "INSERT INTO v SELECT g, ('[' || (g * 0.01) || ',0]')::vector, g % 2 FROM generate_series(101, 400) g",
            "DELETE FROM v WHERE id > 100",
        ],
        &[
            sql("a", far, rows(&["1", "2", "3"])),
            sql("a", far_filtered, rows(&["1", "3", "5"])),
            sql("b", "BEGIN", Done),
            sql(
                "b",
                "INSERT INTO v SELECT g, ('[' || (g * 0.001) || ',0]')::vector, 1 FROM generate_series(1001, 1300) g",
                Tag("INSERT 0 300"),
            ),
            sql("a", far, rows(&["1", "2", "3"])),
            sql("a", far_filtered, rows(&["1", "3", "5"])),
            sql("a", "SET hnsw.iterative_scan = relaxed_order", Done),
            sql("a", far_filtered, rows(&["1", "3", "5"])),
            sql("b", "ROLLBACK", Done),
            sql("a", far, rows(&["1", "2", "3"])),
        ],
    );
}

/// pg_export_snapshot / SET TRANSACTION SNAPSHOT across sessions: the
/// importer reads what the exporter reads (not later commits, not the
/// exporter's uncommitted writes), until the exporter's transaction ends.
#[test]
fn isolation_exported_snapshot_is_shared_across_sessions() {
    let mut e = test_engine();
    let (a, b, c) = (e.connect(), e.connect(), e.connect());
    let run = |e: &mut Engine, s, sql: &str| e.execute(s, sql, Vec::new());
    let one_text = |e: &mut Engine, s, sql: &str| -> String {
        let r = e.execute(s, sql, Vec::new()).expect(sql);
        match &r.last().expect("a result").rows[0][0] {
            neuraldb::value::Value::Text(t) => t.clone(),
            neuraldb::value::Value::Int8(n) => n.to_string(),
            other => format!("{other:?}"),
        }
    };
    run(
        &mut e,
        a,
        "CREATE TABLE t (id int); INSERT INTO t VALUES (1)",
    )
    .expect("setup");
    run(&mut e, a, "BEGIN ISOLATION LEVEL REPEATABLE READ").expect("begin");
    run(&mut e, a, "INSERT INTO t VALUES (2)").expect("own write");
    let id = one_text(&mut e, a, "SELECT pg_export_snapshot()");
    // A commit after the export is not in the snapshot.
    run(&mut e, b, "INSERT INTO t VALUES (3)").expect("later commit");
    run(&mut e, c, "BEGIN ISOLATION LEVEL REPEATABLE READ").expect("begin");
    run(&mut e, c, &format!("SET TRANSACTION SNAPSHOT '{id}'")).expect("import");
    assert_eq!(one_text(&mut e, c, "SELECT count(*) FROM t"), "1");
    run(&mut e, c, "COMMIT").expect("commit");
    // A SERIALIZABLE transaction cannot import from a REPEATABLE READ one.
    run(&mut e, c, "BEGIN ISOLATION LEVEL SERIALIZABLE").expect("begin");
    let err = run(&mut e, c, &format!("SET TRANSACTION SNAPSHOT '{id}'")).expect_err("refused");
    assert_eq!(err.sqlstate().as_str(), "0A000");
    assert_eq!(
        err.to_string(),
        "a serializable transaction cannot import a snapshot from a non-serializable transaction"
    );
    run(&mut e, c, "ROLLBACK").expect("rollback");
    // Once the exporter's transaction ends, the identifier is invalid.
    run(&mut e, a, "COMMIT").expect("commit");
    run(&mut e, c, "BEGIN ISOLATION LEVEL REPEATABLE READ").expect("begin");
    let err = run(&mut e, c, &format!("SET TRANSACTION SNAPSHOT '{id}'")).expect_err("gone");
    assert_eq!(err.sqlstate().as_str(), "22023");
    assert_eq!(
        err.to_string(),
        format!("invalid snapshot identifier: \"{id}\"")
    );
    run(&mut e, c, "ROLLBACK").expect("rollback");
    // Serializable to serializable works, and the importer's reads are
    // tracked by SSI.
    run(&mut e, a, "BEGIN ISOLATION LEVEL SERIALIZABLE").expect("begin");
    let id = one_text(&mut e, a, "SELECT pg_export_snapshot()");
    run(&mut e, b, "INSERT INTO t VALUES (4)").expect("later commit");
    run(&mut e, c, "BEGIN ISOLATION LEVEL SERIALIZABLE").expect("begin");
    run(&mut e, c, &format!("SET TRANSACTION SNAPSHOT '{id}'")).expect("import");
    assert_eq!(one_text(&mut e, c, "SELECT count(*) FROM t"), "3");
    assert_eq!(one_text(&mut e, a, "SELECT count(*) FROM t"), "3");
    run(&mut e, c, "COMMIT").expect("commit");
    run(&mut e, a, "COMMIT").expect("commit");
}

/// A clock the timeout test moves by hand.
static TIMEOUT_CLOCK: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1_000_000);

fn timeout_clock() -> i64 {
    TIMEOUT_CLOCK.load(std::sync::atomic::Ordering::SeqCst)
}

fn advance(ms: i64) {
    TIMEOUT_CLOCK.fetch_add(ms * 1000, std::sync::atomic::Ordering::SeqCst);
}

/// idle_in_transaction_session_timeout and transaction_timeout terminate
/// the session as PostgreSQL does: its transaction rolls back, its locks
/// (row, relation, advisory, session-level too) go, a statement waiting
/// in it fails, and its next call gets the FATAL error once.
#[test]
fn isolation_session_timeouts_terminate_and_release_locks() {
    use neuraldb::storage::MemoryStorage;
    let mut e = Engine::open(
        Box::new(MemoryStorage::new()),
        Box::new(MemoryStorage::new()),
        neuraldb::engine::EngineConfig {
            clock: timeout_clock,
            ..Default::default()
        },
    )
    .expect("engine");
    let (a, b) = (e.connect(), e.connect());
    let run = |e: &mut Engine, s, sql: &str| e.execute(s, sql, Vec::new());
    run(
        &mut e,
        a,
        "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0)",
    )
    .expect("setup");
    run(
        &mut e,
        a,
        "SET idle_in_transaction_session_timeout = '100ms'",
    )
    .expect("set");
    assert!(!e.has_wait_deadlines(), "no transaction yet");
    run(&mut e, a, "SELECT pg_advisory_lock(5)").expect("session lock");
    run(&mut e, a, "BEGIN; UPDATE t SET v = 1 WHERE id = 1").expect("update");
    assert!(
        e.has_wait_deadlines(),
        "idle in a transaction with a timeout"
    );
    // b waits for a's row lock.
    assert!(matches!(
        e.submit(b, "UPDATE t SET v = 2 WHERE id = 1", Vec::new()),
        Submitted::Parked
    ));
    advance(50);
    assert!(!e.expire_timeouts());
    advance(60);
    assert!(e.expire_timeouts());
    let done = e.take_completions();
    assert_eq!(done.len(), 1, "b's update went on");
    assert_eq!(done[0].0, b);
    assert!(done[0].1.error.is_none(), "{:?}", done[0].1.error);
    // a's update was rolled back; its advisory lock is free.
    let r = run(&mut e, b, "SELECT v, pg_try_advisory_lock(5) FROM t").expect("read");
    assert_eq!(r[0].rows[0][0], neuraldb::value::Value::Int4(2));
    assert_eq!(r[0].rows[0][1], neuraldb::value::Value::Bool(true));
    let err = run(&mut e, a, "SELECT 1").expect_err("terminated");
    assert_eq!(err.sqlstate().as_str(), "25P03");
    assert_eq!(
        err.to_string(),
        "terminating connection due to idle-in-transaction timeout"
    );
    let err = run(&mut e, a, "SELECT 1").expect_err("gone");
    assert_eq!(err.sqlstate().as_str(), "08003");

    // transaction_timeout ends a transaction that waits too long, too.
    let c = e.connect();
    run(&mut e, b, "BEGIN; UPDATE t SET v = 3 WHERE id = 1").expect("b holds the row");
    run(&mut e, c, "SET transaction_timeout = '1s'").expect("set");
    run(&mut e, c, "BEGIN").expect("begin");
    assert!(matches!(
        e.submit(c, "UPDATE t SET v = 4 WHERE id = 1", Vec::new()),
        Submitted::Parked
    ));
    advance(1001);
    assert!(e.expire_timeouts());
    let done = e.take_completions();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, c);
    let err = done[0].1.error.as_ref().expect("the wait failed");
    assert_eq!(err.sqlstate().as_str(), "25P04");
    assert_eq!(
        err.to_string(),
        "terminating connection due to transaction timeout"
    );
    assert_eq!(
        run(&mut e, c, "SELECT 1")
            .expect_err("gone")
            .sqlstate()
            .as_str(),
        "08003"
    );
    run(&mut e, b, "COMMIT").expect("b commits");
    let r = run(&mut e, b, "SELECT v FROM t").expect("read");
    assert_eq!(r[0].rows[0][0], neuraldb::value::Value::Int4(3));
}
