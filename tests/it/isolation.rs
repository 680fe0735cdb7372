//! Multi-session isolation tests: scripted interleavings of several
//! sessions on one engine, checked step by step against PostgreSQL 15's
//! behaviour (dirty reads, non-repeatable reads, phantoms, lost updates,
//! write skew, deadlocks, unique-key waits, READ COMMITTED re-checks),
//! plus a seeded bank-transfer workload.
//!
//! A script is a list of steps. `Sql` steps run a statement in a named
//! session (sessions connect on first use) and check its outcome; a
//! statement that must wait returns `Blocks`. The completion of a blocked
//! statement is asserted with an `Unblocks` step right after the step that
//! released it (it is collected with `take_completions`). A completion that
//! no `Unblocks` step claims fails the script, as does any mismatch; the
//! failure message shows the whole script with the failing step marked.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use neuraldb::engine::{Engine, Outcome, SessionId, Submitted, TxnStatus};
use neuraldb::util::Rng;
use neuraldb::value::tz::TimeZone;

// ---- harness -----------------------------------------------------------

/// The expected outcome of a statement.
#[derive(Clone, Debug)]
enum Expect {
    /// Completes without error.
    Ok,
    /// Completes; the last result has this command tag (`UPDATE 1`).
    Tag(&'static str),
    /// Completes; the last result has these rows, each as its columns'
    /// text joined with `|` (NULL shown as `NULL`).
    Rows(Vec<String>),
    /// Fails with this SQLSTATE.
    Err(&'static str),
    /// Fails with this SQLSTATE and a message containing the text.
    ErrMsg(&'static str, &'static str),
    /// Parks (waits for another transaction).
    Blocks,
}

enum Step {
    Sql {
        session: &'static str,
        sql: String,
        expect: Expect,
    },
    /// The blocked statement of `session` finished during the previous step.
    Unblocks {
        session: &'static str,
        expect: Expect,
    },
    /// Closes the session (rolling back its transaction).
    Disconnect { session: &'static str },
    /// The session's transaction status.
    Status {
        session: &'static str,
        status: TxnStatus,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Sql {
                session,
                sql,
                expect,
            } => write!(f, "{session:>4}: {sql:<55} => {expect:?}"),
            Step::Unblocks { session, expect } => {
                write!(f, "{session:>4}: (unblocks){:<45} => {expect:?}", "")
            }
            Step::Disconnect { session } => write!(f, "{session:>4}: (disconnect)"),
            Step::Status { session, status } => write!(f, "{session:>4}: (status) {status:?}"),
        }
    }
}

fn sql(session: &'static str, sql: impl Into<String>, expect: Expect) -> Step {
    Step::Sql {
        session,
        sql: sql.into(),
        expect,
    }
}

fn unblocks(session: &'static str, expect: Expect) -> Step {
    Step::Unblocks { session, expect }
}

fn disconnect(session: &'static str) -> Step {
    Step::Disconnect { session }
}

fn status(session: &'static str, status: TxnStatus) -> Step {
    Step::Status { session, status }
}

/// `Expect::Rows` from `|`-joined row texts.
fn rows(r: &[&str]) -> Expect {
    Expect::Rows(r.iter().map(|s| s.to_string()).collect())
}

use Expect::{Blocks, Err as Fails, Ok as Done, Tag};

fn outcome_rows(o: &Outcome) -> Option<Vec<String>> {
    let tz = TimeZone::utc();
    o.results.last().map(|r| {
        r.rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|v| v.to_pg_text(&tz).unwrap_or_else(|| "NULL".into()))
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    })
}

fn describe(o: &Outcome) -> String {
    match &o.error {
        Some(e) => format!("error {}: {e}", e.sqlstate().as_str()),
        None => match o.results.last() {
            Some(r) => format!("{} {:?}", r.command, outcome_rows(o).unwrap_or_default()),
            None => "ok (no results)".into(),
        },
    }
}

/// Checks a finished outcome; `Err(text)` describes the mismatch.
fn check(o: &Outcome, expect: &Expect) -> Result<(), String> {
    let got = describe(o);
    let ok = match (expect, &o.error) {
        (Expect::Err(code), Some(e)) => e.sqlstate().as_str() == *code,
        (Expect::ErrMsg(code, msg), Some(e)) => {
            e.sqlstate().as_str() == *code && e.to_string().contains(msg)
        }
        (Expect::Err(_) | Expect::ErrMsg(..) | Expect::Blocks, _) => false,
        (_, Some(_)) => false,
        (Expect::Ok, None) => true,
        (Expect::Tag(t), None) => o.results.last().is_some_and(|r| r.command == *t),
        (Expect::Rows(want), None) => outcome_rows(o).as_ref() == Some(want),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("got {got}"))
    }
}

struct Runner {
    engine: Engine,
    sessions: HashMap<&'static str, SessionId>,
    names: HashMap<SessionId, &'static str>,
    /// Completions not yet claimed by an `Unblocks` step.
    completed: BTreeMap<SessionId, Outcome>,
}

impl Runner {
    fn new(setup: &[&str]) -> Runner {
        let mut engine = Engine::open_memory().expect("in-memory engine opens");
        let sid = engine.connect();
        for s in setup {
            if let Err(e) = engine.execute(sid, s, Vec::new()) {
                panic!("setup statement {s:?} failed: {e}");
            }
        }
        engine.disconnect(sid);
        Runner {
            engine,
            sessions: HashMap::new(),
            names: HashMap::new(),
            completed: BTreeMap::new(),
        }
    }

    fn sid(&mut self, name: &'static str) -> SessionId {
        if let Some(&s) = self.sessions.get(name) {
            return s;
        }
        let s = self.engine.connect();
        self.sessions.insert(name, s);
        self.names.insert(s, name);
        s
    }

    fn collect(&mut self) {
        for (sid, o) in self.engine.take_completions() {
            if let Some(prev) = self.completed.insert(sid, o) {
                panic!("session {sid} completed twice: {}", describe(&prev));
            }
        }
    }

    fn step(&mut self, step: &Step) -> Result<(), String> {
        if !matches!(step, Step::Unblocks { .. }) {
            if let Some((sid, o)) = self.completed.iter().next() {
                return Err(format!(
                    "session {} completed unexpectedly at the previous step: {}",
                    self.names.get(sid).copied().unwrap_or("?"),
                    describe(o)
                ));
            }
        }
        match step {
            Step::Sql {
                session,
                sql,
                expect,
            } => {
                let sid = self.sid(session);
                let was_parked = self.engine.is_parked(sid);
                let submitted = self.engine.submit(sid, sql, Vec::new());
                self.collect();
                match submitted {
                    Submitted::Parked => {
                        if !self.engine.is_parked(sid) {
                            return Err("Parked returned, but is_parked is false".into());
                        }
                        match expect {
                            Expect::Blocks => Ok(()),
                            _ => Err("got Blocks (statement parked)".into()),
                        }
                    }
                    Submitted::Done(o) => {
                        // A parked session refuses further statements and
                        // stays parked.
                        if self.engine.is_parked(sid) != was_parked {
                            return Err(format!(
                                "Done returned, but is_parked went from {was_parked} to {}",
                                !was_parked
                            ));
                        }
                        check(&o, expect)
                    }
                }
            }
            Step::Unblocks { session, expect } => {
                let sid = self.sid(session);
                let Some(o) = self.completed.remove(&sid) else {
                    return Err(format!(
                        "no completion for {session} (still parked: {})",
                        self.engine.is_parked(sid)
                    ));
                };
                if self.engine.is_parked(sid) {
                    return Err("completed, but is_parked is still true".into());
                }
                check(&o, expect)
            }
            Step::Disconnect { session } => {
                let sid = self.sid(session);
                self.engine.disconnect(sid);
                self.collect();
                self.sessions.remove(session);
                Ok(())
            }
            Step::Status { session, status } => {
                let sid = self.sid(session);
                let got = self.engine.txn_status(sid);
                if got == *status {
                    Ok(())
                } else {
                    Err(format!("got status {got:?}"))
                }
            }
        }
    }
}

/// Runs `script` on a fresh engine after running `setup` in a session of
/// its own; panics with the annotated script at the first mismatch.
fn run(title: &str, setup: &[&str], script: &[Step]) {
    let mut r = Runner::new(setup);
    for (i, step) in script.iter().enumerate() {
        let res = r.step(step).and_then(|()| {
            // Nothing may be left unclaimed at the end.
            if i + 1 == script.len() {
                if let Some((sid, o)) = r.completed.iter().next() {
                    return Err(format!(
                        "session {} completed unexpectedly: {}",
                        r.names.get(sid).copied().unwrap_or("?"),
                        describe(o)
                    ));
                }
            }
            Ok(())
        });
        if let Err(msg) = res {
            let mut text = format!("isolation script {title:?} failed at step {i}: {msg}\n");
            text.push_str(&format!("  setup: {setup:?}\n"));
            for (j, s) in script.iter().enumerate() {
                let mark = if j == i { ">>>" } else { "   " };
                text.push_str(&format!("{mark} {j:2} {s}\n"));
                if j == i {
                    text.push_str(&format!("           !!! {msg}\n"));
                }
            }
            panic!("{text}");
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    ReadCommitted,
    RepeatableRead,
}

use Level::{ReadCommitted as RC, RepeatableRead as RR};

impl Level {
    fn begin(self) -> &'static str {
        match self {
            RC => "BEGIN",
            RR => "BEGIN ISOLATION LEVEL REPEATABLE READ",
        }
    }
}

const T2: &[&str] = &[
    "CREATE TABLE t (id int PRIMARY KEY, v int)",
    "INSERT INTO t VALUES (1, 1), (2, 10)",
];

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

/// A locks row 1 then row 2, B row 2 then row 1. The statement that closes
/// the cycle (B's) fails at once with 40P01; as in PostgreSQL that aborts
/// B's transaction then and there, so A goes on at once, while B's block
/// stays failed (25P02) until its client sends ROLLBACK.
/// (PostgreSQL picks whichever waiter runs the deadlock check first,
/// usually the first waiter; which one is the victim is not specified.)
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
            sql(
                "b",
                "UPDATE t SET v = v + 10 WHERE id = 1",
                Expect::ErrMsg("40P01", "deadlock detected"),
            ),
            unblocks("a", Tag("UPDATE 1")),
            status("b", TxnStatus::Failed),
            status("a", TxnStatus::InBlock),
            sql("b", "SELECT 1", Fails("25P02")),
            sql(
                "c",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|1", "2|10"]),
            ),
            sql(
                "a",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|2", "2|11"]),
            ),
            sql("a", "COMMIT", Tag("COMMIT")),
            sql("b", "ROLLBACK", Tag("ROLLBACK")),
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

/// A three-session cycle a -> b -> c -> a; the victim is c, whose error
/// aborts it at once, so b goes on; a follows when b commits.
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
            sql("c", "UPDATE t SET v = v + 10 WHERE id = 1", Fails("40P01")),
            unblocks("b", Tag("UPDATE 1")),
            sql("c", "ROLLBACK", Done),
            sql("b", "COMMIT", Done),
            unblocks("a", Tag("UPDATE 1")),
            sql("a", "COMMIT", Done),
            sql(
                "d",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|1", "2|11", "3|10"]),
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

// ---- 9. bank transfers -----------------------------------------------------------

const ACCOUNTS: i64 = 8;
const INITIAL: i64 = 100;

#[derive(Default, Debug)]
struct BankStats {
    committed: u64,
    parks: u64,
    deadlocks: u64,
    serialization_failures: u64,
    check_failures: u64,
    voluntary_rollbacks: u64,
    checkpoints: u64,
}

struct Teller {
    sid: SessionId,
    /// (from, to, amount) of the transfer in progress.
    transfer: Option<(i64, i64, i64)>,
    /// Index of the next statement: 0 BEGIN, 1 debit, 2 credit, 3 COMMIT
    /// (or ROLLBACK when `give_up`).
    next: usize,
    /// The transaction failed; the next statement is ROLLBACK.
    failed: bool,
    /// After the failed transaction's ROLLBACK, retry the transfer.
    retry: bool,
    /// End this transfer with a voluntary ROLLBACK.
    give_up: bool,
    parked: bool,
    /// The statement last submitted, for messages.
    last: String,
}

impl Teller {
    fn statement(&self, level: Level) -> String {
        let (from, to, amount) = self.transfer.expect("a transfer in progress");
        if self.failed {
            return "ROLLBACK".into();
        }
        match self.next {
            0 => level.begin().into(),
            1 => format!("UPDATE acct SET balance = balance - {amount} WHERE id = {from}"),
            2 => format!("UPDATE acct SET balance = balance + {amount} WHERE id = {to}"),
            _ if self.give_up => "ROLLBACK".into(),
            _ => "COMMIT".into(),
        }
    }
}

struct Bank {
    engine: Engine,
    level: Level,
    rng: Rng,
    tellers: Vec<Teller>,
    observer: SessionId,
    /// Balances implied by the committed transfers.
    model: Vec<i64>,
    stats: BankStats,
    /// The observer's open REPEATABLE READ snapshot of all balances.
    observed: Option<Vec<String>>,
    trace: Vec<String>,
}

impl Bank {
    fn new(level: Level, seed: u64, tellers: usize) -> Bank {
        let mut engine = Engine::open_memory().expect("engine opens");
        let setup = engine.connect();
        engine
            .execute(
                setup,
                &format!(
                    "CREATE TABLE acct (id int PRIMARY KEY, balance int8 NOT NULL CHECK (balance >= 0));
                     INSERT INTO acct SELECT g, {INITIAL} FROM generate_series(1, {ACCOUNTS}) g"
                ),
                Vec::new(),
            )
            .expect("bank setup");
        engine.disconnect(setup);
        let tellers = (0..tellers)
            .map(|_| Teller {
                sid: engine.connect(),
                transfer: None,
                next: 0,
                failed: false,
                retry: false,
                give_up: false,
                parked: false,
                last: String::new(),
            })
            .collect();
        let observer = engine.connect();
        Bank {
            engine,
            level,
            rng: Rng::new(seed),
            tellers,
            observer,
            model: vec![INITIAL; ACCOUNTS as usize],
            stats: BankStats::default(),
            observed: None,
            trace: Vec::new(),
        }
    }

    fn fail(&self, msg: &str) -> ! {
        let start = self.trace.len().saturating_sub(40);
        panic!(
            "bank workload ({:?}) failed: {msg}\nstats: {:?}\nlast steps:\n  {}",
            self.level,
            self.stats,
            self.trace[start..].join("\n  ")
        );
    }

    /// Applies the outcome of teller `i`'s last statement.
    fn handle(&mut self, i: usize, o: Outcome) {
        let desc = describe(&o);
        self.trace.push(format!("teller {i} <- {desc}"));
        let t = &mut self.tellers[i];
        t.parked = false;
        let stmt = t.last.clone();
        if let Some(e) = &o.error {
            let code = e.sqlstate().as_str();
            if t.failed {
                self.fail(&format!("teller {i}: ROLLBACK failed: {desc}"));
            }
            match code {
                "40P01" => self.stats.deadlocks += 1,
                "40001" if self.level == RR => self.stats.serialization_failures += 1,
                "23514" if t.next == 1 => self.stats.check_failures += 1,
                _ => self.fail(&format!("teller {i}: {stmt:?} -> {desc}")),
            }
            let t = &mut self.tellers[i];
            // Insufficient funds: give up; conflicts: retry.
            t.retry = code != "23514";
            t.failed = true;
            if self.engine.txn_status(t.sid) != TxnStatus::Failed {
                self.fail(&format!("teller {i}: block not failed after {desc}"));
            }
            return;
        }
        let tag = o
            .results
            .last()
            .map(|r| r.command.clone())
            .unwrap_or_default();
        let t = &mut self.tellers[i];
        if t.failed {
            if tag != "ROLLBACK" {
                self.fail(&format!("teller {i}: ROLLBACK -> {desc}"));
            }
            t.failed = false;
            t.next = 0;
            if !std::mem::take(&mut t.retry) {
                t.transfer = None;
            }
            return;
        }
        let expected = match t.next {
            0 => "BEGIN",
            1 | 2 => "UPDATE 1",
            _ if t.give_up => "ROLLBACK",
            _ => "COMMIT",
        };
        if tag != expected {
            self.fail(&format!(
                "teller {i}: {stmt:?} -> {desc}, expected {expected}"
            ));
        }
        t.next += 1;
        if t.next == 4 {
            let (from, to, amount) = t.transfer.take().expect("transfer");
            if t.give_up {
                self.stats.voluntary_rollbacks += 1;
            } else {
                self.stats.committed += 1;
                self.model[from as usize - 1] -= amount;
                self.model[to as usize - 1] += amount;
            }
            t.next = 0;
        }
        if self.engine.txn_status(t.sid)
            != if t.next == 0 {
                TxnStatus::Idle
            } else {
                TxnStatus::InBlock
            }
        {
            self.fail(&format!(
                "teller {i}: wrong transaction status after {stmt:?}"
            ));
        }
    }

    fn observe(&mut self, sql: &str) -> Vec<String> {
        match self.engine.submit(self.observer, sql, Vec::new()) {
            Submitted::Done(o) if o.error.is_none() => outcome_rows(&o).unwrap_or_default(),
            Submitted::Done(o) => self.fail(&format!("observer {sql:?} -> {}", describe(&o))),
            Submitted::Parked => self.fail(&format!("observer {sql:?} parked")),
        }
    }

    /// Invariants visible to a reader at any time.
    fn checkpoint(&mut self) {
        self.stats.checkpoints += 1;
        let got = self.observe("SELECT sum(balance), count(*), min(balance) >= 0 FROM acct");
        let want = vec![format!("{}|{ACCOUNTS}|t", ACCOUNTS * INITIAL)];
        if got != want {
            self.fail(&format!("checkpoint: got {got:?}, want {want:?}"));
        }
        // A REPEATABLE READ reader sees the same balances throughout, and
        // they add up.
        let all = "SELECT id, balance FROM acct ORDER BY id";
        match self.observed.take() {
            None => {
                self.observe("BEGIN ISOLATION LEVEL REPEATABLE READ");
                let snap = self.observe(all);
                let sum: i64 = snap
                    .iter()
                    .map(|r| r.split('|').nth(1).unwrap().parse::<i64>().unwrap())
                    .sum();
                if sum != ACCOUNTS * INITIAL {
                    self.fail(&format!("observer snapshot sums to {sum}: {snap:?}"));
                }
                self.observed = Some(snap);
            }
            Some(snap) => {
                let again = self.observe(all);
                if again != snap {
                    self.fail(&format!("RR observer: {snap:?} then {again:?}"));
                }
                self.observe("COMMIT");
            }
        }
    }

    fn tick(&mut self, new_transfers: bool) -> bool {
        let ready: Vec<usize> = (0..self.tellers.len())
            .filter(|&i| !self.tellers[i].parked)
            .filter(|&i| new_transfers || self.tellers[i].transfer.is_some())
            .collect();
        if ready.is_empty() {
            if self.tellers.iter().any(|t| t.parked) {
                self.fail("every teller with work is parked (undetected deadlock?)");
            }
            return false;
        }
        let i = ready[self.rng.below(ready.len() as u64) as usize];
        if self.tellers[i].transfer.is_none() {
            let from = 1 + self.rng.below(ACCOUNTS as u64) as i64;
            let to = 1 + (from + self.rng.below(ACCOUNTS as u64 - 1) as i64) % ACCOUNTS;
            let amount = 1 + self.rng.below(60) as i64;
            let give_up = self.rng.chance(10);
            let t = &mut self.tellers[i];
            t.transfer = Some((from, to, amount));
            t.give_up = give_up;
            t.next = 0;
        }
        let stmt = self.tellers[i].statement(self.level);
        self.tellers[i].last = stmt.clone();
        self.trace.push(format!("teller {i} -> {stmt}"));
        let sid = self.tellers[i].sid;
        let submitted = self.engine.submit(sid, &stmt, Vec::new());
        let completions = self.engine.take_completions();
        match submitted {
            Submitted::Done(o) => self.handle(i, o),
            Submitted::Parked => {
                if stmt.starts_with("BEGIN") || stmt == "COMMIT" || stmt == "ROLLBACK" {
                    self.fail(&format!("teller {i}: {stmt:?} parked"));
                }
                self.stats.parks += 1;
                self.tellers[i].parked = true;
                self.trace.push(format!("teller {i} parked"));
            }
        }
        for (sid, o) in completions {
            let Some(j) = self.tellers.iter().position(|t| t.sid == sid) else {
                self.fail(&format!("completion for unknown session {sid}"));
            };
            if !self.tellers[j].parked || j == i {
                self.fail(&format!("completion for teller {j}, which was not parked"));
            }
            self.handle(j, o);
        }
        for (j, t) in self.tellers.iter().enumerate() {
            if t.parked != self.engine.is_parked(t.sid) {
                self.fail(&format!(
                    "teller {j}: parked {} but is_parked {}",
                    t.parked, !t.parked
                ));
            }
        }
        true
    }

    fn run(mut self, ticks: usize) -> BankStats {
        for n in 0..ticks {
            self.tick(true);
            if n % 25 == 24 {
                self.checkpoint();
            }
        }
        // Drain: finish the transfers in progress.
        let mut guard = 0;
        while self.tick(false) {
            guard += 1;
            if guard > 10_000 {
                self.fail("workload does not drain");
            }
        }
        if self.observed.is_some() {
            self.checkpoint();
        }
        self.checkpoint();
        let got = self.observe("SELECT id, balance FROM acct ORDER BY id");
        let want: Vec<String> = self
            .model
            .iter()
            .enumerate()
            .map(|(i, b)| format!("{}|{b}", i + 1))
            .collect();
        if got != want {
            self.fail(&format!(
                "final balances differ from the committed transfers:\n got  {got:?}\n want {want:?}"
            ));
        }
        self.stats
    }
}

fn bank(level: Level) {
    let mut total = BankStats::default();
    for seed in 1..=12 {
        let s = Bank::new(level, seed, 5).run(400);
        total.committed += s.committed;
        total.parks += s.parks;
        total.deadlocks += s.deadlocks;
        total.serialization_failures += s.serialization_failures;
        total.check_failures += s.check_failures;
        total.voluntary_rollbacks += s.voluntary_rollbacks;
        total.checkpoints += s.checkpoints;
    }
    eprintln!("bank {level:?}: {total:?}");
    // The workload must actually have exercised the interesting paths.
    assert!(total.committed >= 100, "{total:?}");
    assert!(total.parks > 0, "{total:?}");
    assert!(total.deadlocks > 0, "{total:?}");
    assert!(total.voluntary_rollbacks > 0, "{total:?}");
    match level {
        RC => assert_eq!(total.serialization_failures, 0),
        RR => assert!(total.serialization_failures > 0, "{total:?}"),
    }
}

#[test]
fn isolation_bank_transfers_read_committed() {
    bank(RC);
}

#[test]
fn isolation_bank_transfers_repeatable_read() {
    bank(RR);
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
            sql("b", "INSERT INTO t VALUES (5, 0)", Fails("40P01")),
            unblocks("a", Tag("INSERT 0 1")),
            sql("b", "ROLLBACK", Done),
            sql("a", "COMMIT", Done),
            sql(
                "c",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|1", "2|10", "5|5", "6|0"]),
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
/// statement: the closer fails; the autocommit statement completes (and
/// commits) after the rollback.
#[test]
fn isolation_deadlock_with_autocommit_statement() {
    run(
        "deadlock with autocommit statement",
        T2,
        &[
            sql("a", "BEGIN", Done),
            sql("a", "UPDATE t SET v = v + 1 WHERE id = 2", Done),
            sql("b", "UPDATE t SET v = v + 100", Blocks),
            sql("a", "UPDATE t SET v = v + 1 WHERE id = 1", Fails("40P01")),
            unblocks("b", Tag("UPDATE 2")),
            sql("a", "ROLLBACK", Done),
            status("b", TxnStatus::Idle),
            sql(
                "d",
                "SELECT id, v FROM t ORDER BY id",
                rows(&["1|101", "2|110"]),
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
