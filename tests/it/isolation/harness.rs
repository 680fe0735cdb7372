//! The multi-session script harness (see the module docs).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use neuraldb::engine::EngineConfig;
pub(super) use neuraldb::engine::{Engine, Outcome, SessionId, Submitted, TxnStatus};
use neuraldb::storage::MemoryStorage;
use neuraldb::value::tz::TimeZone;

// ---- harness -----------------------------------------------------------

/// The expected outcome of a statement.
#[derive(Clone, Debug)]
pub(super) enum Expect {
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

pub(super) enum Step {
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

pub(super) fn sql(session: &'static str, sql: impl Into<String>, expect: Expect) -> Step {
    Step::Sql {
        session,
        sql: sql.into(),
        expect,
    }
}

pub(super) fn unblocks(session: &'static str, expect: Expect) -> Step {
    Step::Unblocks { session, expect }
}

pub(super) fn disconnect(session: &'static str) -> Step {
    Step::Disconnect { session }
}

pub(super) fn status(session: &'static str, status: TxnStatus) -> Step {
    Step::Status { session, status }
}

/// `Expect::Rows` from `|`-joined row texts.
pub(super) fn rows(r: &[&str]) -> Expect {
    Expect::Rows(r.iter().map(|s| s.to_string()).collect())
}

pub(super) use Expect::{Blocks, Err as Fails, Ok as Done, Tag};

pub(super) fn outcome_rows(o: &Outcome) -> Option<Vec<String>> {
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

pub(super) fn describe(o: &Outcome) -> String {
    match &o.error {
        Some(e) => format!("error {}: {e}", e.sqlstate().as_str()),
        None => match o.results.last() {
            Some(r) => format!("{} {:?}", r.command, outcome_rows(o).unwrap_or_default()),
            None => "ok (no results)".into(),
        },
    }
}

/// Checks a finished outcome; `Err(text)` describes the mismatch.
pub(super) fn check(o: &Outcome, expect: &Expect) -> Result<(), String> {
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

/// A wall clock that stands still: every wait starts at the same instant,
/// so the deadlock victim (chosen in deadlock_timeout order, as
/// PostgreSQL's first deadlock check would find it) does not depend on how
/// fast the test runs.
fn fixed_clock() -> i64 {
    850_000_000_000_000
}

/// An in-memory engine on [`fixed_clock`].
pub(super) fn test_engine() -> Engine {
    Engine::open(
        Box::new(MemoryStorage::new()),
        Box::new(MemoryStorage::new()),
        EngineConfig {
            clock: fixed_clock,
            ..EngineConfig::default()
        },
    )
    .expect("in-memory engine opens")
}

pub(super) struct Runner {
    engine: Engine,
    sessions: HashMap<&'static str, SessionId>,
    names: HashMap<SessionId, &'static str>,
    /// Completions not yet claimed by an `Unblocks` step.
    completed: BTreeMap<SessionId, Outcome>,
}

impl Runner {
    fn new(setup: &[&str]) -> Runner {
        let mut engine = test_engine();
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
pub(super) fn run(title: &str, setup: &[&str], script: &[Step]) {
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
pub(super) enum Level {
    ReadCommitted,
    RepeatableRead,
}

pub(super) use Level::{ReadCommitted as RC, RepeatableRead as RR};

impl Level {
    pub(super) fn begin(self) -> &'static str {
        match self {
            RC => "BEGIN",
            RR => "BEGIN ISOLATION LEVEL REPEATABLE READ",
        }
    }
}

pub(super) const T2: &[&str] = &[
    "CREATE TABLE t (id int PRIMARY KEY, v int)",
    "INSERT INTO t VALUES (1, 1), (2, 10)",
];
