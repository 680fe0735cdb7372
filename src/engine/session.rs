//! A session's life: submitting SQL, running its statements, parking a
//! statement that must wait and resuming it when the holder's transaction
//! ends, cancellation and timeouts of waiting statements.

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use super::build::IndexBuild;
use super::dml::DmlExec;
use super::settings::parse_duration_ms;
use super::{
    sql_err, CopyIn, Described, Engine, Outcome, QueryResult, Result, SessionId, Submitted,
    DATABASE_OID,
};
use crate::access::hnsw::ScanSettings;
use crate::catalog::Oid;
use crate::error::{Error, SqlError, SqlState};
use crate::sql::exec::interrupt;
use crate::sql::exec::interrupt::CancelHandle;
use crate::sql::parse::ast::{self, Expr, Statement};
use crate::sql::parse::translate;
use crate::txn::{IsolationLevel, LockTag, Snapshot};
use crate::value::types::DataType;
use crate::value::tz::TimeZone;
use crate::value::Value;

/// PostgreSQL's default `maintenance_work_mem` (64MB), in kB.
pub(super) const DEFAULT_MAINTENANCE_WORK_MEM_KB: usize = 64 * 1024;

/// The default of `neuraldb.max_query_memory`: the bytes of rows one plan
/// node may hold before its statement fails with 53200. A browser tab's
/// wasm memory is smaller than a server's.
#[cfg(target_arch = "wasm32")]
pub(super) const DEFAULT_MAX_QUERY_MEMORY_KB: usize = 512 * 1024;
#[cfg(not(target_arch = "wasm32"))]
pub(super) const DEFAULT_MAX_QUERY_MEMORY_KB: usize = 1024 * 1024;

#[derive(Clone)]
pub(super) struct Settings {
    pub(super) default_isolation: IsolationLevel,
    pub(super) synchronous_commit: bool,
    /// statement_timeout in milliseconds; 0 = none.
    pub(super) statement_timeout_ms: i64,
    pub(super) timezone: TimeZone,
    /// hnsw.ef_search, hnsw.iterative_scan, hnsw.max_scan_tuples.
    pub(super) hnsw: ScanSettings,
    /// maintenance_work_mem in kB: what CREATE INDEX may hold in memory.
    pub(super) maintenance_work_mem_kb: usize,
    /// neuraldb.max_query_memory in kB (see [`crate::sql::exec::RowBudget`]).
    pub(super) max_query_memory_kb: usize,
    pub(super) other: HashMap<String, String>,
}

impl Default for Settings {
    /// What a new session (and RESET ALL) starts from.
    fn default() -> Self {
        Settings {
            default_isolation: IsolationLevel::ReadCommitted,
            synchronous_commit: true,
            statement_timeout_ms: 0,
            timezone: TimeZone::utc(),
            hnsw: ScanSettings::default(),
            maintenance_work_mem_kb: DEFAULT_MAINTENANCE_WORK_MEM_KB,
            max_query_memory_kb: DEFAULT_MAX_QUERY_MEMORY_KB,
            other: HashMap::new(),
        }
    }
}

pub(super) struct Pending {
    pub(super) stmts: VecDeque<Rc<Statement>>,
    /// Shared with each running statement, which borrows them while the
    /// engine is borrowed mutably.
    pub(super) params: Rc<[Value]>,
    pub(super) results: Vec<QueryResult>,
    pub(super) dml: Option<Box<DmlExec>>,
    /// A CREATE INDEX that yielded (the session is in `Engine::runnable`).
    pub(super) build: Option<Box<IndexBuild>>,
    /// The statement is the insert of a COPY FROM STDIN: report `COPY n`.
    pub(super) copy: bool,
    /// statement_timeout's deadline for the current statement (engine
    /// clock); it keeps running while the statement waits for a lock.
    pub(super) deadline: Option<i64>,
    /// lock_timeout's deadline for the current lock wait.
    pub(super) lock_deadline: Option<i64>,
    /// The next statement is one that waited and runs again: it keeps
    /// its statement_timeout deadline.
    pub(super) retrying: bool,
    /// Parameters from this index on are literals lifted out of the text
    /// (`sql::parse::lift`): they keep their literal's exact type.
    pub(super) lifted_from: usize,
    /// The plan cache's key for the string's only statement (its text,
    /// after lifting); `None` for strings of several statements.
    pub(super) plan_key: Option<Rc<str>>,
}

/// What `pg_stat_activity` reports about a session (times in microseconds
/// since 2000-01-01, from `EngineConfig::clock`).
pub(super) struct Activity {
    pub(super) backend_start: i64,
    /// The last SQL string submitted (the one running, if active).
    pub(super) query: String,
    pub(super) query_start: Option<i64>,
    /// When the session last went active or idle.
    pub(super) state_change: i64,
    /// When the session parked, while it is parked.
    pub(super) wait_start: Option<i64>,
    /// Counts the session's transactions: the local part of its virtual
    /// transaction id (`pg_locks.virtualxid`, "session/local").
    pub(super) local_xact: u32,
}

pub(super) struct Session {
    pub(super) settings: Settings,
    pub(super) activity: Activity,
    pub(super) pending: Option<Pending>,
    /// See [`Engine::defer_implicit_commit`].
    pub(super) defer_implicit_commit: bool,
    pub(super) currval: HashMap<Oid, i64>,
    /// SET / SET LOCAL / RESET of the running transaction, to undo at
    /// ROLLBACK (TO) and to drop the LOCAL ones at its end.
    pub(super) settings_txn: Option<super::settings::SettingsTxn>,
    /// WARNINGs and NOTICEs not yet taken by the front end.
    pub(super) notices: Vec<crate::error::Notice>,
    /// PREPAREd statements by name.
    pub(super) prepared: HashMap<String, super::prepared::PreparedSql>,
    /// Bound plans of recent statements (`plan_cache.rs`).
    pub(super) plans: super::plan_cache::PlanCache,
    pub(super) rng: u64,
    /// Open cursors (DECLARE), oldest first; see `cursor.rs`.
    pub(super) cursors: Vec<super::cursor::Cursor>,
    /// Numbers the session's cursors (their snapshots' keys).
    pub(super) cursor_seq: u64,
}

pub(super) enum Step {
    Done(QueryResult),
    Parked(Box<DmlExec>, SessionId),
    /// Must wait for the session's transaction (or a lock it holds) before
    /// it can start; it runs again from the beginning when woken. Only for
    /// statements that changed nothing before deciding to wait (a lock
    /// request, COMMIT's deferred checks).
    Retry(Rc<Statement>, SessionId),
    /// Used up its time slice; resumes from [`Engine::work`].
    Yielded(Box<IndexBuild>),
}

impl Engine {
    pub fn is_parked(&self, sid: SessionId) -> bool {
        self.sessions.contains_key(&sid) && self.txns.waiting_for(sid).is_some()
    }

    /// The WARNINGs and NOTICEs `sid`'s statements raised since the last
    /// call, oldest first (front ends send them before the results).
    pub fn take_notices(&mut self, sid: SessionId) -> Vec<crate::error::Notice> {
        self.sessions
            .get_mut(&sid)
            .map(|s| std::mem::take(&mut s.notices))
            .unwrap_or_default()
    }

    /// Queues a WARNING or NOTICE for `sid`.
    pub(super) fn raise_notice(&mut self, sid: SessionId, n: crate::error::Notice) {
        if let Some(s) = self.sessions.get_mut(&sid) {
            // Bounded: a client that never reads them loses the oldest.
            if s.notices.len() >= 1000 {
                s.notices.remove(0);
            }
            s.notices.push(n);
        }
    }

    /// Results of parked statements that have finished since the last call.
    pub fn take_completions(&mut self) -> Vec<(SessionId, Outcome)> {
        std::mem::take(&mut self.completions)
    }

    /// Cancels the session's parked statement, as a CancelRequest does in
    /// PostgreSQL: it fails with 57014, which aborts an implicit
    /// transaction and fails an explicit block (ROLLBACK needed). Its
    /// outcome is queued for [`Engine::take_completions`]. Returns false
    /// when the session has no waiting statement. A statement that is
    /// running is cancelled from another thread with [`CancelHandle`].
    pub fn cancel(&mut self, sid: SessionId) -> bool {
        let e = interrupt::canceled("canceling statement due to user request");
        if self.runnable.contains(&sid) {
            self.runnable.retain(|&r| r != sid);
            let outcome = self.finish_with_error(sid, e);
            self.note_idle(sid);
            self.completions.push((sid, outcome));
            return true;
        }
        self.fail_waiting(sid, e)
    }

    /// Whether a statement yielded and waits for [`Engine::work`].
    pub fn has_work(&self) -> bool {
        !self.runnable.is_empty()
    }

    /// Runs one slice of the next statement that yielded (round robin);
    /// a statement that finishes queues its outcome for
    /// [`Engine::take_completions`]. Hosts call it whenever they have no
    /// request to serve, while [`Engine::has_work`].
    pub fn work(&mut self) {
        let Some(sid) = self.runnable.pop_front() else {
            return;
        };
        if let Some(outcome) = self.drive(sid) {
            self.note_idle(sid);
            self.completions.push((sid, outcome));
        }
    }

    /// A handle that cancels the running statement from another thread
    /// (the engine runs each call to completion, so a CancelRequest for a
    /// running statement cannot wait for the engine's thread).
    pub fn cancel_handle(&self) -> CancelHandle {
        self.interrupts.handle()
    }

    /// Fails every parked statement whose statement_timeout (57014) or
    /// lock_timeout (55P03) has passed; a running statement checks its
    /// own. Call it now and then while [`Engine::has_wait_deadlines`];
    /// returns whether any was failed (their outcomes are queued for
    /// [`Engine::take_completions`]).
    pub fn expire_timeouts(&mut self) -> bool {
        let now = (self.config.clock)();
        let mut any = self.expire_session_timeouts(now);
        let mut expired: Vec<(SessionId, Error)> = Vec::new();
        for (sid, s) in &self.sessions {
            let waiting = self.txns.waiting_for(*sid).is_some();
            let Some(p) = s.pending.as_ref().filter(|_| waiting) else {
                continue;
            };
            if p.deadline.is_some_and(|d| now >= d) {
                expired.push((
                    *sid,
                    interrupt::canceled("canceling statement due to statement timeout"),
                ));
            } else if p.lock_deadline.is_some_and(|d| now >= d) {
                expired.push((
                    *sid,
                    sql_err(
                        SqlState::LOCK_NOT_AVAILABLE,
                        "canceling statement due to lock timeout",
                    ),
                ));
            }
        }
        expired.sort_unstable_by_key(|(sid, _)| *sid);
        for (sid, e) in expired {
            any |= self.fail_waiting(sid, e);
        }
        any
    }

    /// When `sid`'s session must be terminated, and why: its transaction
    /// has been idle longer than idle_in_transaction_session_timeout, or
    /// has lasted longer than transaction_timeout while idle or waiting
    /// (a running statement is not interrupted by it).
    fn session_deadline(&self, sid: SessionId) -> Option<(i64, SqlError)> {
        let s = self.sessions.get(&sid)?;
        let t = self.txns.get(sid)?;
        let waiting = self.txns.waiting_for(sid).is_some();
        let idle_in_block = s.pending.is_none() && t.explicit;
        let mut best: Option<(i64, SqlError)> = None;
        let idle_ms = self.duration_setting_ms(sid, "idle_in_transaction_session_timeout");
        if idle_ms > 0 && idle_in_block {
            best = Some((
                s.activity.state_change.saturating_add(idle_ms * 1000),
                SqlError::new(
                    SqlState("25P03"),
                    "terminating connection due to idle-in-transaction timeout",
                ),
            ));
        }
        let txn_ms = self.duration_setting_ms(sid, "transaction_timeout");
        if txn_ms > 0 && (idle_in_block || waiting) {
            let at = t.start_time.saturating_add(txn_ms * 1000);
            if best.as_ref().is_none_or(|(b, _)| at < *b) {
                best = Some((
                    at,
                    SqlError::new(
                        SqlState("25P04"),
                        "terminating connection due to transaction timeout",
                    ),
                ));
            }
        }
        best
    }

    /// Terminates the sessions whose idle_in_transaction_session_timeout
    /// or transaction_timeout has passed, as PostgreSQL does (FATAL): the
    /// transaction rolls back, every lock goes, a waiting statement fails
    /// with the error, and the session's next call gets it once (then the
    /// session no longer exists).
    fn expire_session_timeouts(&mut self, now: i64) -> bool {
        let mut due: Vec<(SessionId, SqlError)> = self
            .session_ids()
            .into_iter()
            .filter_map(|sid| {
                let (at, e) = self.session_deadline(sid)?;
                (now >= at).then_some((sid, e))
            })
            .collect();
        due.sort_unstable_by_key(|(sid, _)| *sid);
        let any = !due.is_empty();
        for (sid, e) in due {
            let waited = self.fail_waiting(sid, Error::Sql(e.clone()));
            self.disconnect(sid);
            if !waited {
                self.terminated.insert(sid, Error::Sql(e));
            }
        }
        any
    }

    /// Whether some parked statement has a statement_timeout or
    /// lock_timeout deadline, or some session a timeout that may
    /// terminate it (callers then poll [`Engine::expire_timeouts`]).
    pub fn has_wait_deadlines(&self) -> bool {
        self.sessions.iter().any(|(&sid, s)| {
            (self.txns.waiting_for(sid).is_some()
                && s.pending
                    .as_ref()
                    .is_some_and(|p| p.deadline.is_some() || p.lock_deadline.is_some()))
                || self.session_deadline(sid).is_some()
        })
    }

    pub(super) fn fail_waiting(&mut self, sid: SessionId, e: Error) -> bool {
        if !self.sessions.contains_key(&sid) || !self.txns.stop_waiting(sid) {
            return false;
        }
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.activity.wait_start = None;
        }
        let outcome = self.finish_with_error(sid, e);
        self.note_idle(sid);
        self.completions.push((sid, outcome));
        true
    }

    /// The client abandoned a `COPY ... FROM STDIN` (CopyFail): like any
    /// failed statement, this fails an explicit transaction block.
    pub fn abort_copy(&mut self, sid: SessionId) {
        self.fail_block(sid);
    }

    /// `sql` parsed, from the cache of recent statements when it is there:
    /// applications repeat the same statements with new parameters, and
    /// parsing was a tenth of a point query's time. Short texts only, so
    /// the cache stays small.
    fn parse_cached(&mut self, sql: &str) -> std::result::Result<Vec<Rc<Statement>>, SqlError> {
        const MAX_TEXT: usize = 2048;
        const MAX_ENTRIES: usize = 256;
        if let Some(stmts) = self.parse_cache.get(sql) {
            return Ok(stmts.clone());
        }
        let stmts: Vec<Rc<Statement>> = translate::parse(sql)?.into_iter().map(Rc::new).collect();
        if sql.len() <= MAX_TEXT {
            if self.parse_cache.len() >= MAX_ENTRIES {
                self.parse_cache.clear();
            }
            self.parse_cache.insert(sql.to_string(), stmts.clone());
        }
        Ok(stmts)
    }

    /// `sql` parsed with its literals lifted into parameters appended to
    /// `params` (`sql::parse::lift`), and the text that was parsed. Lifting
    /// applies to a single SELECT / INSERT / UPDATE / DELETE; when the
    /// lifted text does not parse as one, the original is parsed instead.
    fn parse_lifted(
        &mut self,
        sql: &str,
        params: &mut Vec<Value>,
    ) -> std::result::Result<(Vec<Rc<Statement>>, String), SqlError> {
        if let Some(lifted) = crate::sql::parse::lift::lift_literals(sql, params.len()) {
            if let Ok(stmts) = self.parse_cached(&lifted.text) {
                if let [stmt] = stmts.as_slice() {
                    if stmt.is_query_or_dml() {
                        params.extend(lifted.values);
                        return Ok((stmts, lifted.text));
                    }
                }
            }
        }
        Ok((self.parse_cached(sql)?, sql.to_string()))
    }

    /// Describes `sql` without running it: its parameters' inferred types
    /// and, for a query, its result columns.
    pub fn describe(&mut self, sid: SessionId, sql: &str) -> Result<Described> {
        let stmts = translate::parse(sql)?;
        let mut params = vec![DataType::Unknown; translate::max_param(sql)];
        // FETCH returns its cursor's rows.
        if let [Statement::Fetch {
            name,
            is_move: false,
            ..
        }] = stmts.as_slice()
        {
            return Ok(Described {
                params,
                columns: self.cursor_columns(sid, name),
            });
        }
        let query = match stmts.as_slice() {
            [Statement::Query(q)] => q,
            _ => {
                return Ok(Described {
                    params,
                    columns: None,
                })
            }
        };
        let Some(_session) = self.sessions.get(&sid) else {
            return Err(sql_err(SqlState("08003"), "no such session"));
        };
        // Binding reads the catalog under a snapshot, which needs a
        // transaction; a temporary one writes nothing and leaves nothing.
        let temporary = self.txns.get(sid).is_none();
        if temporary {
            self.begin_txn(sid, false);
        }
        let snapshot = self.take_snapshot(sid);
        // Types are inferred from the statement alone (no values yet).
        self.param_hints.clear();
        let bound = self.bind(sid, &snapshot, |b| b.bind_query(query));
        if temporary {
            self.end_txn(sid, false)?;
        }
        let ((_, columns), _, types) = bound?;
        for (i, t) in types.into_iter().enumerate() {
            match params.get_mut(i) {
                Some(p) => *p = t,
                None => params.push(t),
            }
        }
        Ok(Described {
            params,
            columns: Some(columns),
        })
    }

    /// `COPY ... FROM STDIN`, second half: inserts the client's data (all
    /// of it, parsed per `copy.format`) into the table through the normal
    /// insert path (defaults, constraints, indexes, MVCC, waits on a
    /// concurrent insert of the same key), in the session's transaction or
    /// an implicit one. Like [`Engine::submit`] it may park; the result's
    /// command tag is `COPY n`.
    pub fn copy_in(&mut self, sid: SessionId, copy: &CopyIn, data: &[u8]) -> Submitted {
        let done_err = |e: Error| {
            Submitted::Done(Outcome {
                results: Vec::new(),
                error: Some(e),
            })
        };
        match self.sessions.get(&sid) {
            None => return done_err(sql_err(SqlState("08003"), "no such session")),
            Some(s) if s.pending.is_some() => {
                return done_err(sql_err(
                    SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "another statement of this session is still running",
                ))
            }
            Some(_) => {}
        }
        let rows = match crate::sql::parse::copy::parse_rows(data, &copy.format, copy.columns.len())
        {
            Ok(rows) => rows,
            Err(e) => {
                self.fail_block(sid);
                return done_err(Error::Sql(e));
            }
        };
        if rows.is_empty() {
            return Submitted::Done(Outcome {
                results: vec![QueryResult::tag("COPY 0")],
                error: None,
            });
        }
        let values = rows
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|f| match f {
                        Some(text) => Expr::UntypedString(text),
                        None => Expr::Literal(Value::Null),
                    })
                    .collect()
            })
            .collect();
        let insert = ast::Insert {
            table: copy.table.clone(),
            alias: None,
            columns: copy.columns.clone(),
            source: ast::InsertSource::Query(Box::new(ast::Query {
                ctes: Vec::new(),
                recursive: false,
                body: ast::SetExpr::Values(values),
                order_by: Vec::new(),
                limit: None,
                offset: None,
                locking: None,
            })),
            on_conflict: None,
            returning: Vec::new(),
        };
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.pending = Some(Pending {
                stmts: VecDeque::from([Rc::new(Statement::Insert(Box::new(insert)))]),
                params: Rc::new([]),
                results: Vec::new(),
                dml: None,
                build: None,
                copy: true,
                deadline: None,
                lock_deadline: None,
                retrying: false,
                lifted_from: 0,
                plan_key: None,
            });
        }
        match self.drive(sid) {
            Some(outcome) => Submitted::Done(outcome),
            None => Submitted::Parked,
        }
    }

    /// Runs `sql` (one or more statements) in session `sid`.
    pub fn submit(&mut self, sid: SessionId, sql: &str, params: Vec<Value>) -> Submitted {
        let Some(session) = self.sessions.get(&sid) else {
            // A session a timeout terminated reports why, once.
            let error = self
                .terminated
                .remove(&sid)
                .unwrap_or_else(|| sql_err(SqlState("08003"), "no such session"));
            return Submitted::Done(Outcome {
                results: Vec::new(),
                error: Some(error),
            });
        };
        if session.pending.is_some() {
            return Submitted::Done(Outcome {
                results: Vec::new(),
                error: Some(sql_err(
                    SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "another statement of this session is still running",
                )),
            });
        }
        let user_params = params.len();
        let mut params = params;
        let parsed = self.parse_lifted(sql, &mut params);
        let (stmts, plan_key_text) = match parsed {
            Ok(s) => s,
            Err(e) => {
                let e = Error::Sql(e);
                self.fail_block(sid);
                return Submitted::Done(Outcome {
                    results: Vec::new(),
                    error: Some(e),
                });
            }
        };
        let now = (self.config.clock)();
        if let Some(s) = self.sessions.get_mut(&sid) {
            let plan_key = (stmts.len() == 1).then(|| Rc::from(plan_key_text));
            s.pending = Some(Pending {
                stmts: stmts.into(),
                params: params.into(),
                results: Vec::new(),
                dml: None,
                build: None,
                copy: false,
                deadline: None,
                lock_deadline: None,
                retrying: false,
                lifted_from: user_params,
                plan_key,
            });
            s.activity.query = sql.to_string();
            s.activity.query_start = Some(now);
            s.activity.state_change = now;
        }
        match self.drive(sid) {
            Some(outcome) => {
                self.note_idle(sid);
                Submitted::Done(outcome)
            }
            // Parked, unless failing a deadlock victim let it go on and
            // finish at once.
            None => match self.completions.iter().position(|(s, _)| *s == sid) {
                Some(i) => Submitted::Done(self.completions.remove(i).1),
                None => Submitted::Parked,
            },
        }
    }

    /// Records that session `sid` finished its submitted string.
    pub(super) fn note_idle(&mut self, sid: SessionId) {
        let now = (self.config.clock)();
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.activity.state_change = now;
        }
    }

    /// Convenience for callers that never expect to wait (CLI, tests):
    /// runs `sql` and returns its results or its error. A statement that
    /// would wait returns 55P03 and stays parked.
    pub fn execute(
        &mut self,
        sid: SessionId,
        sql: &str,
        params: Vec<Value>,
    ) -> Result<Vec<QueryResult>> {
        let mut submitted = self.submit(sid, sql, params);
        // A statement that yields runs to its end here; other sessions'
        // completions stay queued.
        while matches!(submitted, Submitted::Parked) && self.runnable.contains(&sid) {
            self.work();
            if let Some(i) = self.completions.iter().position(|(s, _)| *s == sid) {
                submitted = Submitted::Done(self.completions.remove(i).1);
            }
        }
        match submitted {
            Submitted::Done(o) => match o.error {
                Some(e) => Err(e),
                None => Ok(o.results),
            },
            Submitted::Parked => Err(sql_err(
                SqlState::LOCK_NOT_AVAILABLE,
                "statement is waiting for a lock",
            )),
        }
    }

    /// A failed statement inside an explicit block fails the block, and
    /// (outside a savepoint) aborts its transaction at once, releasing its
    /// locks (`TxnManager::fail_block`).
    pub(super) fn fail_block(&mut self, sid: SessionId) {
        if !self.txns.get(sid).is_some_and(|t| t.explicit) {
            return;
        }
        let waiters = self.txns.fail_block(&mut self.pager, sid);
        self.resume(sid, waiters);
    }

    /// Runs the session's pending statements until done (Some) or parked (None).
    pub(super) fn drive(&mut self, sid: SessionId) -> Option<Outcome> {
        loop {
            let (stmt, dml, build, params, deadline) = {
                let s = self.sessions.get_mut(&sid)?;
                let timeout_ms = s.settings.statement_timeout_ms;
                let p = s.pending.as_mut()?;
                match (p.dml.take(), p.build.take()) {
                    (Some(d), _) => (None, Some(d), None, Rc::clone(&p.params), p.deadline),
                    (None, Some(b)) => (None, None, Some(b), Rc::clone(&p.params), p.deadline),
                    (None, None) => match p.stmts.pop_front() {
                        Some(st) => {
                            // Each statement of a string gets its own
                            // timeout (one that waited keeps its own).
                            if !std::mem::take(&mut p.retrying) {
                                p.deadline = (timeout_ms > 0).then(|| {
                                    (self.config.clock)()
                                        .saturating_add(timeout_ms.saturating_mul(1000))
                                });
                            }
                            (Some(st), None, None, Rc::clone(&p.params), p.deadline)
                        }
                        None => {
                            let mut p = s.pending.take()?;
                            if p.copy {
                                for r in &mut p.results {
                                    r.command = format!("COPY {}", r.rows_affected);
                                }
                            }
                            return Some(Outcome {
                                results: p.results,
                                error: None,
                            });
                        }
                    },
                }
            };
            if dml.is_some() {
                self.txns.drop_parked_snapshot(sid);
            }
            let resumed = dml.is_some() || build.is_some();
            self.interrupts.start(sid, deadline);
            let limit_kb = self
                .sessions
                .get(&sid)
                .map_or(DEFAULT_MAX_QUERY_MEMORY_KB, |s| {
                    s.settings.max_query_memory_kb
                });
            self.interrupts
                .set_memory_limit(limit_kb.saturating_mul(1024));
            let step = match (dml, build) {
                (Some(d), _) => self.continue_dml(sid, *d),
                (None, Some(b)) => self.continue_build(sid, *b),
                (None, None) => self.run_statement(sid, stmt.expect("one of the three"), &params),
            };
            self.interrupts.stop();
            // Deferrable constraints in immediate mode: at the end of the
            // statement.
            let step = match step {
                Ok(Step::Done(r)) => self.end_of_statement_checks(sid).map(|()| Step::Done(r)),
                other => other,
            };
            match step {
                Ok(Step::Done(r)) => {
                    // A resumed statement of an implicit transaction commits it.
                    let implicit = self.txns.get(sid).is_some_and(|t| !t.explicit);
                    let more = self
                        .sessions
                        .get(&sid)
                        .and_then(|s| s.pending.as_ref())
                        .is_some_and(|p| !p.stmts.is_empty());
                    if resumed && implicit && !more && !self.defers_implicit_commit(sid) {
                        if let Err(e) = self.commit_implicit(sid) {
                            return Some(self.finish_with_error(sid, e));
                        }
                    }
                    if let Some(p) = self.sessions.get_mut(&sid).and_then(|s| s.pending.as_mut()) {
                        p.results.push(r);
                    }
                }
                Ok(Step::Yielded(b)) => {
                    if let Some(p) = self.sessions.get_mut(&sid).and_then(|s| s.pending.as_mut()) {
                        p.build = Some(b);
                    }
                    self.runnable.push_back(sid);
                    return None;
                }
                Ok(Step::Parked(d, holder)) => {
                    let snapshot = d.snapshot.clone();
                    if let Err(e) = self.park(sid, holder, Some(snapshot)) {
                        return Some(self.finish_with_error(sid, e));
                    }
                    if let Some(p) = self.sessions.get_mut(&sid).and_then(|s| s.pending.as_mut()) {
                        p.dml = Some(d);
                    }
                    self.fail_deadlock_victim();
                    return None;
                }
                Ok(Step::Retry(stmt, holder)) => {
                    if let Err(e) = self.park(sid, holder, None) {
                        return Some(self.finish_with_error(sid, e));
                    }
                    if let Some(p) = self.sessions.get_mut(&sid).and_then(|s| s.pending.as_mut()) {
                        p.stmts.push_front(stmt);
                        p.retrying = true;
                    }
                    self.fail_deadlock_victim();
                    return None;
                }
                Err(e) => return Some(self.finish_with_error(sid, e)),
            }
        }
    }

    /// Parks `sid` behind `holder` (keeping `snapshot` from vacuum).
    /// lock_timeout bounds the wait.
    ///
    /// A wait that closes a cycle is a deadlock, and one of the cycle's
    /// sessions fails with 40P01: the one PostgreSQL would pick, whose
    /// deadlock check (deadlock_timeout after it began to wait) comes
    /// first among those that have not run theirs yet, without the wait.
    /// That is `sid` itself (the error is returned) or a session already
    /// waiting, which [`Engine::fail_deadlock_victim`] fails once `sid`'s
    /// parked state is stored.
    fn park(
        &mut self,
        sid: SessionId,
        holder: SessionId,
        snapshot: Option<Snapshot>,
    ) -> Result<()> {
        let now = (self.config.clock)();
        if let Some(cycle) = self.txns.deadlock_cycle(sid, holder) {
            let check_at = |e: &Engine, m: SessionId| {
                let start = if m == sid {
                    now
                } else {
                    e.sessions
                        .get(&m)
                        .and_then(|s| s.activity.wait_start)
                        .unwrap_or(now)
                };
                start.saturating_add(e.duration_setting_ms(m, "deadlock_timeout") * 1000)
            };
            let victim = cycle
                .iter()
                .copied()
                .filter(|&m| m == sid || check_at(self, m) >= now)
                .min_by_key(|&m| (check_at(self, m), m == sid))
                .unwrap_or(sid);
            // Each edge of the cycle, starting with the victim's.
            let start = cycle.iter().position(|&m| m == victim).unwrap_or(0);
            let lines: Vec<String> = (0..cycle.len())
                .map(|k| {
                    let w = cycle[(start + k) % cycle.len()];
                    let h = cycle[(start + k + 1) % cycle.len()];
                    format!(
                        "Process {w} waits for {}; blocked by process {h}.",
                        self.wait_description(w, h)
                    )
                })
                .collect();
            let err = Error::Sql(
                SqlError::new(SqlState::DEADLOCK_DETECTED, "deadlock detected")
                    .with_detail(lines.join("\n"))
                    .with_hint("See server log for query details."),
            );
            if victim == sid {
                return Err(err);
            }
            self.deadlock_victim = Some((victim, err));
        }
        self.txns.park(sid, holder, snapshot);
        let lock_timeout_ms = self.duration_setting_ms(sid, "lock_timeout");
        let Some(s) = self.sessions.get_mut(&sid) else {
            return Ok(());
        };
        s.activity.wait_start = Some(now);
        if let Some(p) = s.pending.as_mut() {
            p.lock_deadline = (lock_timeout_ms > 0)
                .then(|| now.saturating_add(lock_timeout_ms.saturating_mul(1000)));
        }
        Ok(())
    }

    /// Fails the deadlock victim [`Engine::park`] chose, if any.
    fn fail_deadlock_victim(&mut self) {
        if let Some((victim, err)) = self.deadlock_victim.take() {
            self.fail_waiting(victim, err);
        }
    }

    /// What `sid` waits for, in the words of PostgreSQL's deadlock report:
    /// its queued relation or advisory lock request, else `holder`'s
    /// transaction (a row or a key being inserted).
    fn wait_description(&self, sid: SessionId, holder: SessionId) -> String {
        let queued = self
            .txns
            .lock_table_view()
            .waiting()
            .iter()
            .find(|(w, _, _)| *w == sid)
            .map(|&(_, t, m)| (t, m));
        match queued {
            Some((LockTag::Relation(oid), m)) => {
                format!("{} on relation {oid} of database {DATABASE_OID}", m.name())
            }
            Some((LockTag::Advisory { key, pair }, m)) => format!(
                "{} on advisory lock [{DATABASE_OID},{},{},{}]",
                m.name(),
                (key >> 32) as u32,
                key as u32,
                if pair { 2 } else { 1 }
            ),
            None => format!(
                "ShareLock on transaction {}",
                self.txns
                    .get(holder)
                    .and_then(|t| t.top_xid())
                    .unwrap_or_default()
            ),
        }
    }

    /// A duration setting of `sid` in milliseconds (lock_timeout,
    /// deadlock_timeout, ...), its default when not set.
    pub(super) fn duration_setting_ms(&self, sid: SessionId, name: &str) -> i64 {
        let default = if name == "deadlock_timeout" { 1000 } else { 0 };
        self.sessions
            .get(&sid)
            .and_then(|s| s.settings.other.get(name))
            .and_then(|t| parse_duration_ms(t))
            .unwrap_or(default)
    }

    pub(super) fn finish_with_error(&mut self, sid: SessionId, e: Error) -> Outcome {
        let pending = self.sessions.get_mut(&sid).and_then(|s| s.pending.take());
        let results = match pending {
            Some(p) => {
                // A yielded build that is cancelled frees what it built.
                if let Some(b) = p.build {
                    b.abandon(self);
                }
                p.results
            }
            None => Vec::new(),
        };
        // An error aborts an implicit transaction and fails an explicit one.
        // A failed parked statement's snapshot no longer holds vacuum back,
        // and the lock it waited for is no longer requested.
        self.txns.drop_parked_snapshot(sid);
        self.txns.lock_table().dequeue(sid);
        self.txns.lock_table().undo_statement(sid);
        let implicit = self.txns.get(sid).is_some_and(|t| !t.explicit);
        if implicit {
            let _ = self.end_txn(sid, false);
        } else {
            self.fail_block(sid);
        }
        Outcome {
            results,
            error: Some(e),
        }
    }

    /// Resumes the sessions parked on `holder` (its transaction, or some
    /// of its subtransactions, ended).
    pub(super) fn wake_waiters(&mut self, holder: SessionId) {
        let waiters = self.txns.waiters_of(holder);
        self.resume(holder, waiters);
    }

    /// Resumes `waiters` of `holder` in order: each stops waiting and runs
    /// until it finishes (its outcome is queued) or parks again.
    pub(super) fn resume(&mut self, holder: SessionId, waiters: Vec<SessionId>) {
        for w in waiters {
            // A session woken earlier in the list may have changed this
            // one's wait (e.g. by failing it); only a wait for `holder` ends.
            if self.txns.waiting_for(w) != Some(holder) {
                continue;
            }
            self.txns.stop_waiting(w);
            if let Some(s) = self.sessions.get_mut(&w) {
                s.activity.wait_start = None;
            }
            if let Some(outcome) = self.drive(w) {
                self.note_idle(w);
                self.completions.push((w, outcome));
            }
        }
    }

    /// Commits the session's implicit transaction, checking its deferred
    /// foreign keys first (a violation rolls it back).
    pub(super) fn commit_implicit(&mut self, sid: SessionId) -> Result<()> {
        if let Err(e) = self.check_deferred_constraints(sid, true) {
            self.end_txn(sid, false)?;
            // A deferred check that would wait for another transaction:
            // an implicit transaction cannot wait at its end here, so it
            // fails as a serialization failure (retry it).
            return Err(match e {
                Error::Wait { .. } => sql_err(
                    SqlState::SERIALIZATION_FAILURE,
                    "could not serialize access due to concurrent update",
                ),
                e => e,
            });
        }
        self.end_txn(sid, true)
    }

    pub(super) fn defers_implicit_commit(&self, sid: SessionId) -> bool {
        self.sessions
            .get(&sid)
            .is_some_and(|s| s.defer_implicit_commit)
    }

    /// Extended query protocol: the implicit transaction that the session's
    /// next statements start (outside a transaction block) lasts until
    /// [`Engine::sync`] instead of ending with each statement, as
    /// PostgreSQL's lasts until the protocol's Sync message.
    pub fn defer_implicit_commit(&mut self, sid: SessionId) {
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.defer_implicit_commit = true;
        }
    }

    /// The protocol's Sync: commits the implicit transaction held open by
    /// [`Engine::defer_implicit_commit`] (an error rolls it back; an
    /// explicit block stays open), and statements commit on their own
    /// again.
    pub fn sync(&mut self, sid: SessionId) -> Result<()> {
        let Some(s) = self.sessions.get_mut(&sid) else {
            return Ok(());
        };
        if !std::mem::take(&mut s.defer_implicit_commit) || s.pending.is_some() {
            return Ok(());
        }
        if self.txns.get(sid).is_some_and(|t| !t.explicit) {
            self.commit_implicit(sid)?;
        }
        Ok(())
    }
}
