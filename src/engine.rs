//! `Engine` and its sessions: the one API every front end (wasm worker,
//! wire-protocol server, CLI, tests) drives.
//!
//! # Driving the engine
//! The engine is synchronous and single-threaded. A front end calls
//! [`Engine::submit`] with a session's SQL; the engine runs it at once. If a
//! statement must wait (a row it updates, deletes or locks is held by
//! another transaction, or a unique key it inserts is being inserted by
//! one), its session is *parked* and `submit` returns
//! [`Submitted::Parked`]; the engine keeps serving other sessions. When the
//! holder commits or aborts, the parked statement resumes inside that call,
//! and its result is queued. Front ends collect finished results of parked
//! sessions with [`Engine::take_completions`] after every call.
//! A wait that closes a cycle fails at once with 40P01 (deadlock detected).

use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;

mod system;

pub use crate::sql::exec::interrupt::CancelHandle;
use crate::sql::exec::interrupt::{self, Interrupts};
pub use system::DATABASE_OID;

use crate::btree::Index;
use crate::catalog::{
    Catalog, CheckDef, ColumnDef, IdentityKind, IndexDef, Object, Oid, SequenceDef, TableDef,
};
use crate::error::{Error, SqlError, SqlState};
use crate::heap::{flags, Heap, Tid, TupleHeader};
use crate::pager::{Pager, PagerConfig};
use crate::sql::exec::{self, eval, passes, run, value_tid, Env, Row};
use crate::sql::parse::ast::{self, Expr, IsolationLevel, Statement};
use crate::sql::parse::translate;
use crate::sql::plan::{
    self, table_scope, BExpr, Binder, CatalogAccess, Column, Plan, PlanResult, Scope,
};
use crate::storage::{MemoryStorage, Storage};
use crate::txn::{Snapshot, TxnManager, Viewer, Xid, XidStatus};
use crate::value::cast::cast_assignment;
use crate::value::index_key::encode_index_key;
use crate::value::row::encode_row;
use crate::value::types::DataType;
use crate::value::tz::TimeZone;
use crate::value::Value;

pub type SessionId = u32;
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Engine settings.
#[derive(Clone)]
pub struct EngineConfig {
    pub pager: PagerConfig,
    /// Wall clock in microseconds since 2000-01-01 UTC (for `now()`). The
    /// wasm front end passes one built on `Date.now()`.
    pub clock: fn() -> i64,
    /// The database's name (`current_database()`, `pg_database`,
    /// `pg_stat_activity.datname`).
    pub database_name: String,
}

fn system_clock() -> i64 {
    #[cfg(not(target_arch = "wasm32"))]
    {
        const UNIX_TO_2000_US: i64 = 946_684_800_000_000;
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64 - UNIX_TO_2000_US)
            .unwrap_or(0)
    }
    #[cfg(target_arch = "wasm32")]
    {
        0
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            pager: PagerConfig::default(),
            clock: system_clock,
            database_name: "neuraldb".into(),
        }
    }
}

/// The result of one statement.
#[derive(Clone, Debug)]
pub struct QueryResult {
    /// PostgreSQL's command tag, e.g. `SELECT 3`, `INSERT 0 1`, `BEGIN`.
    pub command: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    pub rows_affected: u64,
    /// Set by COPY: the front end streams data in or out (see [`CopyMode`]).
    pub copy: Option<CopyMode>,
}

impl QueryResult {
    fn tag(command: &str) -> Self {
        QueryResult {
            command: command.to_string(),
            columns: Vec::new(),
            rows: Vec::new(),
            rows_affected: 0,
            copy: None,
        }
    }
}

/// What a COPY statement asks of its front end.
#[derive(Clone, Debug)]
pub enum CopyMode {
    /// `COPY ... FROM STDIN`: collect the client's data and pass it to
    /// [`Engine::copy_in`]. The result's `columns` are the target columns.
    In(CopyIn),
    /// `COPY ... TO STDOUT`: the result's rows, to be sent formatted with
    /// [`crate::sql::parse::copy::format_row`] (command tag `COPY n`).
    Out(ast::CopyFormat),
}

/// A validated `COPY table [(columns)] FROM STDIN`.
#[derive(Clone, Debug)]
pub struct CopyIn {
    pub table: ast::Name,
    pub columns: Vec<String>,
    pub format: ast::CopyFormat,
}

/// A statement's shape without running it (the extended protocol's
/// Describe of a prepared statement).
#[derive(Clone, Debug)]
pub struct Described {
    /// One type per `$n`; `Unknown` where nothing constrains it.
    pub params: Vec<DataType>,
    /// The columns a query returns; `None` for statements whose output is
    /// known only when they run (or that return no rows).
    pub columns: Option<Vec<Column>>,
}

/// Everything a submitted SQL string produced: the results of the
/// statements that ran, and the error that stopped it, if any.
#[derive(Debug)]
pub struct Outcome {
    pub results: Vec<QueryResult>,
    pub error: Option<Error>,
}

pub enum Submitted {
    Done(Outcome),
    /// The session waits for another transaction; its outcome will come
    /// from [`Engine::take_completions`].
    Parked,
}

/// Transaction state as clients see it (ReadyForQuery status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnStatus {
    Idle,
    InBlock,
    Failed,
}

struct SavepointState {
    name: String,
    xids_before: usize,
    write_xid_before: Option<Xid>,
}

struct TxnState {
    explicit: bool,
    failed: bool,
    isolation: IsolationLevel,
    read_only: bool,
    /// Every xid of this transaction that is not aborted (top + subxids).
    own: HashSet<Xid>,
    /// All assigned xids in order.
    xids: Vec<Xid>,
    /// Xid stamped on new writes at the current savepoint level.
    write_xid: Option<Xid>,
    /// Transaction snapshot (REPEATABLE READ), taken at the first statement.
    snapshot: Option<Snapshot>,
    cid: u32,
    savepoints: Vec<SavepointState>,
    start_time: i64,
    /// Rows whose DEFERRABLE INITIALLY DEFERRED foreign keys are checked at
    /// COMMIT: (table oid, tid of the new version).
    deferred_fk_rows: Vec<(Oid, Tid)>,
}

struct Settings {
    default_isolation: IsolationLevel,
    synchronous_commit: bool,
    /// statement_timeout in milliseconds; 0 = none.
    statement_timeout_ms: i64,
    timezone: TimeZone,
    other: HashMap<String, String>,
}

/// A DML statement in progress (possibly parked).
struct DmlExec {
    kind: DmlKind,
    table: Rc<TableDef>,
    indexes: Vec<Rc<IndexDef>>,
    /// Input rows: new rows (INSERT), or target rows `[table cols.., ctid, extra..]`.
    rows: Vec<Row>,
    pos: usize,
    returning: Option<(Vec<BExpr>, Vec<Column>)>,
    out: Vec<Row>,
    count: u64,
    snapshot: Snapshot,
    cid: u32,
    params: Vec<Value>,
    checks: Vec<(String, BExpr)>,
    cte_plans: Vec<Plan>,
}

/// ON CONFLICT: which unique index arbitrates (None = any), and what to do.
struct ConflictSpec {
    arbiter: Option<Oid>,
    action: ConflictDo,
}

enum ConflictDo {
    Nothing,
    /// Over `existing row ++ proposed row` (the `excluded` pseudo-table).
    Update {
        assignments: Vec<(usize, BExpr)>,
        pred: Option<BExpr>,
    },
}

enum UniqueCheck {
    Ok,
    Wait(SessionId),
    Conflict(Rc<IndexDef>, Tid),
}

enum DmlKind {
    Insert(Option<ConflictSpec>),
    Update {
        assignments: Vec<(usize, BExpr)>,
        pred: Option<BExpr>,
    },
    Delete {
        pred: Option<BExpr>,
    },
    /// SELECT ... FOR UPDATE/SHARE: rows are `[output columns.., ctid]`.
    Lock {
        wait: ast::LockWait,
        query: Box<ast::Query>,
        columns: Vec<Column>,
        restarts: u32,
        /// Set when READ COMMITTED must rerun the query on a fresh snapshot
        /// (a row changed under it).
        restart: bool,
    },
}

struct Pending {
    stmts: VecDeque<Statement>,
    params: Vec<Value>,
    results: Vec<QueryResult>,
    dml: Option<Box<DmlExec>>,
    /// The statement is the insert of a COPY FROM STDIN: report `COPY n`.
    copy: bool,
    /// statement_timeout's deadline for the current statement (engine
    /// clock); it keeps running while the statement waits for a lock.
    deadline: Option<i64>,
    /// lock_timeout's deadline for the current lock wait.
    lock_deadline: Option<i64>,
}

/// What `pg_stat_activity` reports about a session (times in microseconds
/// since 2000-01-01, from `EngineConfig::clock`).
struct Activity {
    backend_start: i64,
    /// The last SQL string submitted (the one running, if active).
    query: String,
    query_start: Option<i64>,
    /// When the session last went active or idle.
    state_change: i64,
    /// When the session parked, while it is parked.
    wait_start: Option<i64>,
    /// Counts the session's transactions: the local part of its virtual
    /// transaction id (`pg_locks.virtualxid`, "session/local").
    local_xact: u32,
}

struct Session {
    settings: Settings,
    activity: Activity,
    txn: Option<TxnState>,
    pending: Option<Pending>,
    waiting_for: Option<SessionId>,
    /// See [`Engine::defer_implicit_commit`].
    defer_implicit_commit: bool,
    currval: HashMap<Oid, i64>,
    rng: u64,
}

enum Step {
    Done(QueryResult),
    Parked(Box<DmlExec>, SessionId),
}

/// The database engine. See the module docs.
pub struct Engine {
    pager: Pager,
    txns: TxnManager,
    catalog: Catalog,
    sessions: HashMap<SessionId, Session>,
    next_session: SessionId,
    xid_owner: HashMap<Xid, SessionId>,
    completions: Vec<(SessionId, Outcome)>,
    config: EngineConfig,
    /// Per table since its last vacuum: dead row versions created (updates,
    /// deletes) and rows inserted, to decide when autovacuum is due.
    dead_counts: HashMap<Oid, u64>,
    insert_counts: HashMap<Oid, u64>,
    /// Heap handles by meta page: they carry the free-space hints vacuum
    /// leaves, which inserts reuse.
    heaps: HashMap<crate::pager::PageId, Heap>,
    /// Relation locks held until transaction end: table oid -> holders.
    rel_locks: HashMap<Oid, HashMap<SessionId, RelLock>>,
    /// Cancel requests and statement_timeout for the running statement.
    interrupts: interrupt::Interrupts,
    /// See [`Engine::set_group_commit`].
    group_commit: bool,
    /// Durable commits whose WAL is not synced yet (group commit).
    unsynced_commits: bool,
}

/// Table-level lock modes (a subset of PostgreSQL's): reads and writes
/// share a table; DDL needs it alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum RelLock {
    AccessShare,
    RowExclusive,
    AccessExclusive,
}

fn sql_err(code: SqlState, msg: impl Into<String>) -> Error {
    Error::Sql(SqlError::new(code, msg))
}

impl Engine {
    /// Opens (creating if empty) a database on the given files, running
    /// crash recovery.
    pub fn open(
        data: Box<dyn Storage>,
        wal: Box<dyn Storage>,
        config: EngineConfig,
    ) -> Result<Engine> {
        let mut pager = Pager::open(data, wal, config.pager.clone())?;
        let txns = TxnManager::open(&mut pager)?;
        let catalog = Catalog::open(&mut pager)?;
        pager.commit(true)?;
        let interrupts = Interrupts::new(config.clock);
        Ok(Engine {
            interrupts,
            group_commit: false,
            unsynced_commits: false,
            pager,
            txns,
            catalog,
            sessions: HashMap::new(),
            next_session: 1,
            xid_owner: HashMap::new(),
            completions: Vec::new(),
            config,
            dead_counts: HashMap::new(),
            insert_counts: HashMap::new(),
            heaps: HashMap::new(),
            rel_locks: HashMap::new(),
        })
    }

    /// An engine on in-memory storage.
    pub fn open_memory() -> Result<Engine> {
        Engine::open(
            Box::new(MemoryStorage::new()),
            Box::new(MemoryStorage::new()),
            EngineConfig::default(),
        )
    }

    /// Opens a new session.
    pub fn connect(&mut self) -> SessionId {
        let now = (self.config.clock)();
        let id = self.next_session;
        self.next_session += 1;
        self.sessions.insert(
            id,
            Session {
                settings: Settings {
                    default_isolation: IsolationLevel::ReadCommitted,
                    synchronous_commit: true,
                    statement_timeout_ms: 0,
                    timezone: TimeZone::utc(),
                    other: HashMap::new(),
                },
                activity: Activity {
                    backend_start: now,
                    query: String::new(),
                    query_start: None,
                    state_change: now,
                    wait_start: None,
                    local_xact: 0,
                },
                txn: None,
                pending: None,
                waiting_for: None,
                defer_implicit_commit: false,
                currval: HashMap::new(),
                rng: 0x2545_F491_4F6C_DD1D ^ id as u64,
            },
        );
        id
    }

    /// Closes a session, rolling back its transaction (and any parked
    /// statement) and waking whoever waited for it.
    pub fn disconnect(&mut self, sid: SessionId) {
        if let Some(mut s) = self.sessions.remove(&sid) {
            s.pending = None;
            if s.txn.is_some() {
                self.sessions.insert(sid, s);
                let _ = self.end_txn(sid, false);
                self.sessions.remove(&sid);
            }
        }
        self.wake_waiters(sid);
    }

    pub fn session_ids(&self) -> Vec<SessionId> {
        let mut ids: Vec<_> = self.sessions.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    pub fn txn_status(&self, sid: SessionId) -> TxnStatus {
        match self.sessions.get(&sid).and_then(|s| s.txn.as_ref()) {
            Some(t) if t.failed => TxnStatus::Failed,
            Some(t) if t.explicit => TxnStatus::InBlock,
            _ => TxnStatus::Idle,
        }
    }

    /// Pages in the database file (allocated, including free-listed).
    pub fn database_pages(&self) -> u32 {
        self.pager.page_count()
    }

    pub fn is_parked(&self, sid: SessionId) -> bool {
        self.sessions
            .get(&sid)
            .is_some_and(|s| s.waiting_for.is_some())
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
        self.fail_waiting(
            sid,
            interrupt::canceled("canceling statement due to user request"),
        )
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
        let mut expired: Vec<(SessionId, Error)> = Vec::new();
        for (sid, s) in &self.sessions {
            let Some(p) = s.pending.as_ref().filter(|_| s.waiting_for.is_some()) else {
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
        let mut any = false;
        for (sid, e) in expired {
            any |= self.fail_waiting(sid, e);
        }
        any
    }

    /// Whether some parked statement has a statement_timeout or
    /// lock_timeout deadline (callers then poll [`Engine::expire_timeouts`]).
    pub fn has_wait_deadlines(&self) -> bool {
        self.sessions.values().any(|s| {
            s.waiting_for.is_some()
                && s.pending
                    .as_ref()
                    .is_some_and(|p| p.deadline.is_some() || p.lock_deadline.is_some())
        })
    }

    fn fail_waiting(&mut self, sid: SessionId, e: Error) -> bool {
        let Some(s) = self.sessions.get_mut(&sid) else {
            return false;
        };
        if s.waiting_for.take().is_none() {
            return false;
        }
        s.activity.wait_start = None;
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

    /// Describes `sql` without running it: its parameters' inferred types
    /// and, for a query, its result columns.
    pub fn describe(&mut self, sid: SessionId, sql: &str) -> Result<Described> {
        let stmts = translate::parse(sql)?;
        let mut params = vec![DataType::Unknown; translate::max_param(sql)];
        let query = match stmts.as_slice() {
            [Statement::Query(q)] => q,
            _ => {
                return Ok(Described {
                    params,
                    columns: None,
                })
            }
        };
        let Some(session) = self.sessions.get(&sid) else {
            return Err(sql_err(SqlState("08003"), "no such session"));
        };
        // Binding reads the catalog under a snapshot, which needs a
        // transaction; a temporary one writes nothing and leaves nothing.
        let temporary = session.txn.is_none();
        if temporary {
            self.begin_txn(sid, false);
        }
        let snapshot = self.take_snapshot(sid);
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
                stmts: VecDeque::from([Statement::Insert(Box::new(insert))]),
                params: Vec::new(),
                results: Vec::new(),
                dml: None,
                copy: true,
                deadline: None,
                lock_deadline: None,
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
            return Submitted::Done(Outcome {
                results: Vec::new(),
                error: Some(sql_err(SqlState("08003"), "no such session")),
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
        let stmts = match translate::parse(sql) {
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
            s.pending = Some(Pending {
                stmts: stmts.into(),
                params,
                results: Vec::new(),
                dml: None,
                copy: false,
                deadline: None,
                lock_deadline: None,
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
            None => Submitted::Parked,
        }
    }

    /// Records that session `sid` finished its submitted string.
    fn note_idle(&mut self, sid: SessionId) {
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
        match self.submit(sid, sql, params) {
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

    /// A failed statement inside an explicit block fails the block.
    fn fail_block(&mut self, sid: SessionId) {
        if let Some(t) = self.sessions.get_mut(&sid).and_then(|s| s.txn.as_mut()) {
            if t.explicit {
                t.failed = true;
            }
        }
    }

    /// Runs the session's pending statements until done (Some) or parked (None).
    fn drive(&mut self, sid: SessionId) -> Option<Outcome> {
        loop {
            let now = (self.config.clock)();
            let (stmt, dml, params, deadline) = {
                let s = self.sessions.get_mut(&sid)?;
                let timeout_ms = s.settings.statement_timeout_ms;
                let p = s.pending.as_mut()?;
                match p.dml.take() {
                    Some(d) => (None, Some(d), p.params.clone(), p.deadline),
                    None => match p.stmts.pop_front() {
                        Some(st) => {
                            // Each statement of a string gets its own timeout.
                            p.deadline = (timeout_ms > 0)
                                .then(|| now.saturating_add(timeout_ms.saturating_mul(1000)));
                            (Some(st), None, p.params.clone(), p.deadline)
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
            let resumed = dml.is_some();
            self.interrupts.start(sid, deadline);
            let step = match dml {
                Some(d) => self.continue_dml(sid, *d),
                None => self.run_statement(sid, stmt.expect("one of the two"), &params),
            };
            self.interrupts.stop();
            match step {
                Ok(Step::Done(r)) => {
                    // A resumed statement of an implicit transaction commits it.
                    let implicit = self
                        .sessions
                        .get(&sid)
                        .and_then(|s| s.txn.as_ref())
                        .is_some_and(|t| !t.explicit);
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
                Ok(Step::Parked(d, holder)) => {
                    if self.would_deadlock(sid, holder) {
                        let e = Error::Sql(SqlError::new(SqlState::DEADLOCK_DETECTED, "deadlock detected").with_detail(
                            format!("Process {sid} waits for a transaction of process {holder}, which waits for process {sid}."),
                        ));
                        return Some(self.finish_with_error(sid, e));
                    }
                    let now = (self.config.clock)();
                    let s = self.sessions.get_mut(&sid)?;
                    s.waiting_for = Some(holder);
                    s.activity.wait_start = Some(now);
                    // lock_timeout bounds each wait (a bad value was refused by SET).
                    let lock_timeout_ms = s
                        .settings
                        .other
                        .get("lock_timeout")
                        .and_then(|t| parse_duration_ms(t))
                        .unwrap_or(0);
                    if let Some(p) = s.pending.as_mut() {
                        p.dml = Some(d);
                        p.lock_deadline = (lock_timeout_ms > 0)
                            .then(|| now.saturating_add(lock_timeout_ms.saturating_mul(1000)));
                    }
                    return None;
                }
                Err(e) => return Some(self.finish_with_error(sid, e)),
            }
        }
    }

    fn finish_with_error(&mut self, sid: SessionId, e: Error) -> Outcome {
        let results = self
            .sessions
            .get_mut(&sid)
            .and_then(|s| s.pending.take())
            .map(|p| p.results)
            .unwrap_or_default();
        // An error aborts an implicit transaction and fails an explicit one.
        let implicit = self
            .sessions
            .get(&sid)
            .and_then(|s| s.txn.as_ref())
            .is_some_and(|t| !t.explicit);
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

    fn would_deadlock(&self, sid: SessionId, holder: SessionId) -> bool {
        let mut cur = Some(holder);
        let mut steps = 0;
        while let Some(c) = cur {
            if c == sid {
                return true;
            }
            steps += 1;
            if steps > self.sessions.len() + 1 {
                return false;
            }
            cur = self.sessions.get(&c).and_then(|s| s.waiting_for);
        }
        false
    }

    /// Resumes sessions parked on `holder` (its transaction ended).
    fn wake_waiters(&mut self, holder: SessionId) {
        let mut queue: VecDeque<SessionId> = VecDeque::new();
        let mut waiting: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.waiting_for == Some(holder))
            .map(|(id, _)| *id)
            .collect();
        waiting.sort_unstable();
        queue.extend(waiting);
        while let Some(w) = queue.pop_front() {
            if let Some(s) = self.sessions.get_mut(&w) {
                s.waiting_for = None;
                s.activity.wait_start = None;
            }
            if let Some(outcome) = self.drive(w) {
                self.note_idle(w);
                self.completions.push((w, outcome));
            }
        }
    }

    // ---- transactions -------------------------------------------------

    fn begin_txn(&mut self, sid: SessionId, explicit: bool) {
        let now = (self.config.clock)();
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.activity.local_xact += 1;
            s.txn = Some(TxnState {
                explicit,
                failed: false,
                isolation: s.settings.default_isolation,
                read_only: false,
                own: HashSet::new(),
                xids: Vec::new(),
                write_xid: None,
                snapshot: None,
                cid: 0,
                savepoints: Vec::new(),
                start_time: now,
                deferred_fk_rows: Vec::new(),
            });
        }
    }

    fn take_snapshot(&self, sid: SessionId) -> Snapshot {
        Snapshot {
            xmax: self.txns.next_xid(),
            in_progress: self
                .xid_owner
                .iter()
                .filter(|(_, owner)| **owner != sid)
                .map(|(x, _)| *x)
                .collect(),
        }
    }

    /// The xid for this session's writes, assigning one if needed.
    fn write_xid(&mut self, sid: SessionId) -> Result<Xid> {
        let s = self
            .sessions
            .get(&sid)
            .ok_or_else(|| sql_err(SqlState("08003"), "no such session"))?;
        let t = s
            .txn
            .as_ref()
            .ok_or_else(|| sql_err(SqlState::INTERNAL_ERROR, "no transaction"))?;
        if t.read_only {
            return Err(sql_err(
                SqlState::READ_ONLY_SQL_TRANSACTION,
                "cannot execute this statement in a read-only transaction",
            ));
        }
        if let Some(x) = t.write_xid {
            return Ok(x);
        }
        let xid = self.txns.assign_xid(&mut self.pager)?;
        self.xid_owner.insert(xid, sid);
        let t = self
            .sessions
            .get_mut(&sid)
            .and_then(|s| s.txn.as_mut())
            .expect("checked above");
        t.own.insert(xid);
        t.xids.push(xid);
        t.write_xid = Some(xid);
        Ok(xid)
    }

    /// Group commit, for a front end serving many sessions: a durable
    /// COMMIT writes its WAL but does not wait for the sync; the caller
    /// calls [`Engine::sync_commits`] once for a batch of requests and
    /// only then tells any client about their outcome (commits of other
    /// sessions are visible at once inside the engine, so no result may
    /// leave before the sync). One sync then covers every commit of the
    /// batch.
    pub fn set_group_commit(&mut self, on: bool) {
        self.group_commit = on;
    }

    /// Makes the commits since the last call durable (group commit). A
    /// failed sync poisons the database: those commits may be lost, and
    /// every later statement fails.
    pub fn sync_commits(&mut self) -> Result<()> {
        if std::mem::take(&mut self.unsynced_commits) {
            self.pager.sync()?;
        }
        Ok(())
    }

    /// Commits the session's implicit transaction, checking its deferred
    /// foreign keys first (a violation rolls it back).
    fn commit_implicit(&mut self, sid: SessionId) -> Result<()> {
        if let Err(e) = self.check_deferred_fks(sid) {
            self.end_txn(sid, false)?;
            return Err(e);
        }
        self.end_txn(sid, true)
    }

    fn defers_implicit_commit(&self, sid: SessionId) -> bool {
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
        if s.txn.as_ref().is_some_and(|t| !t.explicit) {
            self.commit_implicit(sid)?;
        }
        Ok(())
    }

    /// Commits (or aborts) the session's transaction and wakes waiters.
    fn end_txn(&mut self, sid: SessionId, commit: bool) -> Result<()> {
        for holders in self.rel_locks.values_mut() {
            holders.remove(&sid);
        }
        self.rel_locks.retain(|_, h| !h.is_empty());
        let Some(t) = self.sessions.get_mut(&sid).and_then(|s| s.txn.take()) else {
            return Ok(());
        };
        let durable = self
            .sessions
            .get(&sid)
            .is_none_or(|s| s.settings.synchronous_commit);
        let live: Vec<Xid> = t
            .xids
            .iter()
            .copied()
            .filter(|x| t.own.contains(x))
            .collect();
        let result = if live.is_empty() {
            Ok(())
        } else if commit && !t.failed {
            // Group commit: the caller syncs once for many commits
            // (`sync_commits`) before it tells anyone about them.
            let sync_now = durable && !self.group_commit;
            match self.txns.commit(&mut self.pager, &live, sync_now) {
                Ok(_) => {
                    self.unsynced_commits |= durable && self.group_commit;
                    Ok(())
                }
                Err(e) => {
                    let _ = self.txns.abort(&mut self.pager, &live);
                    Err(Error::from(e))
                }
            }
        } else {
            self.txns
                .abort(&mut self.pager, &t.xids)
                .map_err(Error::from)
        };
        for x in &t.xids {
            self.xid_owner.remove(x);
        }
        if result.is_ok() && self.pager.checkpoint_due() {
            self.pager.checkpoint()?;
        }
        self.wake_waiters(sid);
        result
    }

    // ---- statements ---------------------------------------------------

    fn run_statement(&mut self, sid: SessionId, stmt: Statement, params: &[Value]) -> Result<Step> {
        // Transaction control first: it is allowed in a failed block.
        match &stmt {
            Statement::Begin { modes } => {
                let in_block = self
                    .sessions
                    .get(&sid)
                    .and_then(|s| s.txn.as_ref())
                    .is_some_and(|t| t.explicit);
                if in_block {
                    // PostgreSQL warns and carries on.
                    return Ok(Step::Done(QueryResult::tag("BEGIN")));
                }
                // Validate the modes first: a failed BEGIN leaves no block.
                if modes.isolation == Some(IsolationLevel::Serializable) {
                    return Err(serializable_unsupported());
                }
                match self.sessions.get_mut(&sid).and_then(|s| s.txn.as_mut()) {
                    // BEGIN inside a multi-statement string turns its implicit
                    // transaction into an explicit block, as in PostgreSQL.
                    Some(t) => t.explicit = true,
                    None => self.begin_txn(sid, true),
                }
                self.apply_modes(sid, modes)?;
                return Ok(Step::Done(QueryResult::tag("BEGIN")));
            }
            Statement::Commit => {
                let state = self
                    .sessions
                    .get(&sid)
                    .and_then(|s| s.txn.as_ref())
                    .map(|t| t.failed);
                return match state {
                    None => Ok(Step::Done(QueryResult::tag("COMMIT"))),
                    Some(failed) => {
                        if !failed {
                            if let Err(e) = self.check_deferred_fks(sid) {
                                self.end_txn(sid, false)?;
                                return Err(e);
                            }
                        }
                        self.end_txn(sid, !failed)?;
                        Ok(Step::Done(QueryResult::tag(if failed {
                            "ROLLBACK"
                        } else {
                            "COMMIT"
                        })))
                    }
                };
            }
            Statement::Rollback => {
                self.end_txn(sid, false)?;
                return Ok(Step::Done(QueryResult::tag("ROLLBACK")));
            }
            Statement::RollbackTo(name) => {
                self.rollback_to(sid, name)?;
                return Ok(Step::Done(QueryResult::tag("ROLLBACK")));
            }
            _ => {}
        }
        if let Some(t) = self.sessions.get(&sid).and_then(|s| s.txn.as_ref()) {
            if t.failed {
                return Err(sql_err(
                    SqlState::IN_FAILED_SQL_TRANSACTION,
                    "current transaction is aborted, commands ignored until end of transaction block",
                ));
            }
        }
        if self.sessions.get(&sid).is_some_and(|s| s.txn.is_none()) {
            self.begin_txn(sid, false);
        }
        // Each statement is a new command: it sees the earlier ones' changes.
        if let Some(t) = self.sessions.get_mut(&sid).and_then(|s| s.txn.as_mut()) {
            t.cid += 1;
        }
        let step = self.dispatch(sid, stmt, params);
        if let Ok(Step::Done(_)) = &step {
            // The implicit transaction of a multi-statement string spans all
            // of it: commit after its last statement.
            let txn_implicit = self
                .sessions
                .get(&sid)
                .and_then(|s| s.txn.as_ref())
                .is_some_and(|t| !t.explicit);
            let more = self
                .sessions
                .get(&sid)
                .and_then(|s| s.pending.as_ref())
                .is_some_and(|p| !p.stmts.is_empty());
            if txn_implicit && !more && !self.defers_implicit_commit(sid) {
                self.commit_implicit(sid)?;
            }
            self.autovacuum()?;
        }
        step
    }

    fn apply_modes(&mut self, sid: SessionId, modes: &ast::TxnModes) -> Result<()> {
        if modes.isolation == Some(IsolationLevel::Serializable) {
            return Err(serializable_unsupported());
        }
        if let Some(t) = self.sessions.get_mut(&sid).and_then(|s| s.txn.as_mut()) {
            if let Some(level) = modes.isolation {
                if t.snapshot.is_some() || t.cid > 1 {
                    return Err(sql_err(
                        SqlState::ACTIVE_SQL_TRANSACTION,
                        "SET TRANSACTION ISOLATION LEVEL must be called before any query",
                    ));
                }
                t.isolation = match level {
                    IsolationLevel::ReadUncommitted => IsolationLevel::ReadCommitted,
                    l => l,
                };
            }
            if let Some(ro) = modes.read_only {
                t.read_only = ro;
            }
        }
        Ok(())
    }

    fn rollback_to(&mut self, sid: SessionId, name: &str) -> Result<()> {
        let Some(t) = self.sessions.get_mut(&sid).and_then(|s| s.txn.as_mut()) else {
            return Err(sql_err(
                SqlState::NO_ACTIVE_SQL_TRANSACTION,
                "ROLLBACK TO SAVEPOINT can only be used in transaction blocks",
            ));
        };
        let Some(pos) = t.savepoints.iter().rposition(|s| s.name == name) else {
            return Err(sql_err(
                SqlState::INVALID_SAVEPOINT,
                format!("savepoint \"{name}\" does not exist"),
            ));
        };
        t.savepoints.truncate(pos + 1);
        let sp = &t.savepoints[pos];
        let undone: Vec<Xid> = t.xids[sp.xids_before..].to_vec();
        for x in &undone {
            t.own.remove(x);
        }
        t.write_xid = None;
        t.failed = false;
        self.txns.abort(&mut self.pager, &undone)?;
        for x in &undone {
            self.xid_owner.remove(x);
        }
        self.wake_waiters(sid);
        Ok(())
    }

    fn dispatch(&mut self, sid: SessionId, stmt: Statement, params: &[Value]) -> Result<Step> {
        Ok(Step::Done(match stmt {
            Statement::Query(q) if q.locking.is_some() => {
                return self.start_locking_query(sid, &q, params, 0)
            }
            Statement::Query(q) => self.run_query(sid, &q, params)?,
            Statement::Insert(i) => return self.start_insert(sid, &i, params),
            Statement::Update(u) => return self.start_update(sid, &u, params),
            Statement::Delete(d) => return self.start_delete(sid, &d, params),
            Statement::CreateTable(c) => self.create_table(sid, &c)?,
            Statement::DropTable {
                names, if_exists, ..
            } => self.drop_objects(sid, &names, if_exists, "TABLE")?,
            Statement::CreateIndex(c) => self.create_index(sid, &c)?,
            Statement::DropIndex { names, if_exists } => {
                self.drop_objects(sid, &names, if_exists, "INDEX")?
            }
            Statement::CreateSequence {
                name,
                if_not_exists,
                start,
                increment,
            } => self.create_sequence(sid, &name, if_not_exists, start, increment)?,
            Statement::DropSequence { names, if_exists } => {
                self.drop_objects(sid, &names, if_exists, "SEQUENCE")?
            }
            Statement::Savepoint(name) => {
                let t = self
                    .sessions
                    .get_mut(&sid)
                    .and_then(|s| s.txn.as_mut())
                    .expect("statement runs in a transaction");
                if !t.explicit {
                    return Err(sql_err(
                        SqlState::NO_ACTIVE_SQL_TRANSACTION,
                        "SAVEPOINT can only be used in transaction blocks",
                    ));
                }
                t.savepoints.push(SavepointState {
                    name,
                    xids_before: t.xids.len(),
                    write_xid_before: t.write_xid,
                });
                t.write_xid = None;
                QueryResult::tag("SAVEPOINT")
            }
            Statement::Release(name) => {
                let t = self
                    .sessions
                    .get_mut(&sid)
                    .and_then(|s| s.txn.as_mut())
                    .expect("statement runs in a transaction");
                if !t.explicit {
                    return Err(sql_err(
                        SqlState::NO_ACTIVE_SQL_TRANSACTION,
                        "RELEASE SAVEPOINT can only be used in transaction blocks",
                    ));
                }
                let Some(pos) = t.savepoints.iter().rposition(|s| s.name == name) else {
                    return Err(sql_err(
                        SqlState::INVALID_SAVEPOINT,
                        format!("savepoint \"{name}\" does not exist"),
                    ));
                };
                let sp = t.savepoints.drain(pos..).next().expect("pos is valid");
                // Later writes belong to the enclosing level again.
                t.write_xid = sp.write_xid_before.or(t.write_xid);
                QueryResult::tag("RELEASE")
            }
            Statement::SetTransaction {
                modes,
                session_default,
            } => {
                if session_default {
                    if let (Some(level), Some(s)) = (modes.isolation, self.sessions.get_mut(&sid)) {
                        s.settings.default_isolation = level;
                    }
                } else {
                    self.apply_modes(sid, &modes)?;
                }
                QueryResult::tag("SET")
            }
            Statement::Set { name, value, .. } => self.set_variable(sid, &name, &value)?,
            Statement::Show(name) => {
                let v = self.show_variable(sid, &name)?;
                QueryResult {
                    command: "SHOW".into(),
                    columns: vec![Column {
                        name: name.clone(),
                        ty: DataType::Text,
                    }],
                    rows: vec![vec![Value::Text(v)]],
                    rows_affected: 1,
                    copy: None,
                }
            }
            Statement::Reset(name) if name == "all" => {
                let s = self
                    .sessions
                    .get_mut(&sid)
                    .ok_or_else(|| sql_err(SqlState("08003"), "no such session"))?;
                s.settings = Settings {
                    default_isolation: IsolationLevel::ReadCommitted,
                    synchronous_commit: true,
                    statement_timeout_ms: 0,
                    timezone: TimeZone::utc(),
                    other: HashMap::new(),
                };
                QueryResult::tag("RESET")
            }
            Statement::Reset(name) => {
                self.set_variable(sid, &name, &ast::SetValue::Default)?;
                QueryResult::tag("RESET")
            }
            Statement::Begin { .. }
            | Statement::Commit
            | Statement::Rollback
            | Statement::RollbackTo(_) => unreachable_control(),
            Statement::Explain { analyze, statement } => {
                self.explain(sid, *statement, analyze, params)?
            }
            Statement::AlterTable {
                name,
                if_exists,
                ops,
            } => self.alter_table(sid, &name, if_exists, &ops)?,
            Statement::Vacuum { tables } => {
                let explicit = self
                    .sessions
                    .get(&sid)
                    .and_then(|s| s.txn.as_ref())
                    .is_some_and(|t| t.explicit);
                if explicit {
                    return Err(sql_err(
                        SqlState::ACTIVE_SQL_TRANSACTION,
                        "VACUUM cannot run inside a transaction block",
                    ));
                }
                let names: Vec<String> = tables.iter().filter_map(|n| n.last().cloned()).collect();
                self.vacuum(sid, &names)?;
                QueryResult::tag("VACUUM")
            }
            Statement::Truncate { names } => self.truncate(sid, &names)?,
            Statement::Copy(c) => self.copy_statement(sid, *c, params)?,
        }))
    }

    fn set_variable(
        &mut self,
        sid: SessionId,
        name: &str,
        value: &ast::SetValue,
    ) -> Result<QueryResult> {
        let text = match value {
            ast::SetValue::Default => None,
            ast::SetValue::Values(vals) => Some(
                vals.iter()
                    .map(|e| match e {
                        Expr::UntypedString(s) => Ok(s.clone()),
                        Expr::Literal(v) => Ok(v.to_pg_text(&TimeZone::utc()).unwrap_or_default()),
                        _ => Err(sql_err(
                            SqlState::SYNTAX_ERROR,
                            format!("invalid value for parameter \"{name}\""),
                        )),
                    })
                    .collect::<Result<Vec<_>>>()?
                    .join(", "),
            ),
        };
        let s = self
            .sessions
            .get_mut(&sid)
            .ok_or_else(|| sql_err(SqlState("08003"), "no such session"))?;
        let lname = name.to_lowercase();
        match lname.as_str() {
            "default_transaction_isolation" | "transaction_isolation" => {
                let level =
                    match text.as_deref().map(|t| t.to_lowercase()) {
                        None => IsolationLevel::ReadCommitted,
                        Some(t) => match t.as_str() {
                            "read committed" | "read uncommitted" => IsolationLevel::ReadCommitted,
                            "repeatable read" => IsolationLevel::RepeatableRead,
                            "serializable" => return Err(sql_err(
                                SqlState::FEATURE_NOT_SUPPORTED,
                                "SERIALIZABLE isolation is not supported yet; use REPEATABLE READ",
                            )),
                            other => {
                                return Err(sql_err(
                                    SqlState::INVALID_PARAMETER_VALUE,
                                    format!("invalid value for parameter \"{name}\": \"{other}\""),
                                ))
                            }
                        },
                    };
                if lname == "transaction_isolation" {
                    if let Some(t) = s.txn.as_mut() {
                        t.isolation = level;
                    }
                } else {
                    s.settings.default_isolation = level;
                }
            }
            "synchronous_commit" => {
                s.settings.synchronous_commit = match text.as_deref().map(|t| t.to_lowercase()) {
                    None => true,
                    Some(t) => match t.as_str() {
                        "on" | "true" | "1" | "yes" | "local" | "remote_write" | "remote_apply" => {
                            true
                        }
                        "off" | "false" | "0" | "no" => false,
                        other => {
                            return Err(sql_err(
                                SqlState::INVALID_PARAMETER_VALUE,
                                format!(
                                "invalid value for parameter \"synchronous_commit\": \"{other}\""
                            ),
                            ))
                        }
                    },
                }
            }
            "statement_timeout" => {
                s.settings.statement_timeout_ms = match text {
                    None => 0,
                    Some(t) => parse_duration_ms(&t).ok_or_else(|| {
                        Error::Sql(SqlError::new(
                            SqlState::INVALID_PARAMETER_VALUE,
                            format!("invalid value for parameter \"statement_timeout\": \"{t}\""),
                        )
                        .with_hint("Valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\"."))
                    })?,
                }
            }
            "lock_timeout" | "idle_in_transaction_session_timeout" => match text {
                None => {
                    s.settings.other.remove(&lname);
                }
                Some(t) => {
                    let ms = parse_duration_ms(&t).ok_or_else(|| {
                        sql_err(
                            SqlState::INVALID_PARAMETER_VALUE,
                            format!("invalid value for parameter \"{lname}\": \"{t}\""),
                        )
                    })?;
                    s.settings.other.insert(lname, format_duration_ms(ms));
                }
            },
            "timezone" | "time zone" => {
                s.settings.timezone = match text {
                    None => TimeZone::utc(),
                    Some(t) => TimeZone::parse_setting(&t)?,
                }
            }
            _ => match text {
                None => {
                    s.settings.other.remove(&lname);
                }
                Some(t) => {
                    s.settings.other.insert(lname, t);
                }
            },
        }
        Ok(QueryResult::tag("SET"))
    }

    /// The settings a wire-protocol server reports to its client
    /// (ParameterStatus) whenever they change, with their current values.
    /// The others PostgreSQL reports are fixed here and sent once at
    /// startup.
    pub fn reported_parameters(&self, sid: SessionId) -> Vec<(&'static str, String)> {
        ["application_name", "DateStyle", "TimeZone"]
            .into_iter()
            .filter_map(|name| Some((name, self.show_variable(sid, name).ok()?)))
            .collect()
    }

    fn show_variable(&self, sid: SessionId, name: &str) -> Result<String> {
        let s = self
            .sessions
            .get(&sid)
            .ok_or_else(|| sql_err(SqlState("08003"), "no such session"))?;
        let level_name = |l: IsolationLevel| match l {
            IsolationLevel::ReadCommitted | IsolationLevel::ReadUncommitted => "read committed",
            IsolationLevel::RepeatableRead => "repeatable read",
            IsolationLevel::Serializable => "serializable",
        };
        let lname = name.to_lowercase();
        Ok(match lname.as_str() {
            "default_transaction_isolation" => level_name(s.settings.default_isolation).into(),
            "transaction_isolation" | "transaction isolation level" => level_name(
                s.txn
                    .as_ref()
                    .map(|t| t.isolation)
                    .unwrap_or(s.settings.default_isolation),
            )
            .into(),
            "synchronous_commit" => if s.settings.synchronous_commit {
                "on"
            } else {
                "off"
            }
            .into(),
            "timezone" | "time zone" => s.settings.timezone.name().to_string(),
            "statement_timeout" => format_duration_ms(s.settings.statement_timeout_ms),
            "lock_timeout" | "idle_in_transaction_session_timeout"
                if !s.settings.other.contains_key(lname.as_str()) =>
            {
                "0".into()
            }
            "server_version" => SERVER_VERSION.into(),
            "server_encoding" | "client_encoding" => "UTF8".into(),
            "datestyle" => "ISO, MDY".into(),
            "integer_datetimes" => "on".into(),
            "standard_conforming_strings" => "on".into(),
            "server_version_num" => "150000".into(),
            "search_path" if !s.settings.other.contains_key("search_path") => {
                "\"$user\", public".into()
            }
            "application_name" if !s.settings.other.contains_key("application_name") => {
                String::new()
            }
            "transaction_read_only" => if s.txn.as_ref().is_some_and(|t| t.read_only) {
                "on"
            } else {
                "off"
            }
            .into(),
            other => s.settings.other.get(other).cloned().ok_or_else(|| {
                sql_err(
                    SqlState::UNDEFINED_OBJECT,
                    format!("unrecognized configuration parameter \"{name}\""),
                )
            })?,
        })
    }

    /// COPY: `FROM STDIN` validates the target and hands the front end a
    /// [`CopyIn`]; `TO STDOUT` runs the query and returns its rows.
    fn copy_statement(
        &mut self,
        sid: SessionId,
        c: ast::Copy,
        params: &[Value],
    ) -> Result<QueryResult> {
        let quote = |n: &str| format!("\"{}\"", n.replace('"', "\"\""));
        match (c.source, c.from_stdin) {
            (ast::CopySource::Table { name, columns }, true) => {
                let (table, _) = self.table_for_dml(sid, &name, "copy to")?;
                let names: Vec<String> = if columns.is_empty() {
                    table.live_columns().map(|(_, c)| c.name.clone()).collect()
                } else {
                    columns
                };
                let positions = column_positions(&table, &names)?;
                Ok(QueryResult {
                    command: "COPY".into(),
                    columns: positions
                        .iter()
                        .map(|&i| Column {
                            name: table.columns[i].name.clone(),
                            ty: table.columns[i].ty.clone(),
                        })
                        .collect(),
                    rows: Vec::new(),
                    rows_affected: 0,
                    copy: Some(CopyMode::In(CopyIn {
                        table: name,
                        columns: names,
                        format: c.format,
                    })),
                })
            }
            (ast::CopySource::Query(_), true) => {
                Err(sql_err(SqlState::SYNTAX_ERROR, "COPY FROM needs a table"))
            }
            (source, false) => {
                let query = match source {
                    ast::CopySource::Query(q) => *q,
                    ast::CopySource::Table { name, columns } => {
                        let cols = if columns.is_empty() {
                            "*".to_string()
                        } else {
                            columns
                                .iter()
                                .map(|c| quote(c))
                                .collect::<Vec<_>>()
                                .join(", ")
                        };
                        let table = name.iter().map(|p| quote(p)).collect::<Vec<_>>().join(".");
                        let mut stmts = translate::parse(&format!("SELECT {cols} FROM {table}"))?;
                        match stmts.pop() {
                            Some(Statement::Query(q)) => *q,
                            _ => {
                                return Err(sql_err(
                                    SqlState::INTERNAL_ERROR,
                                    "COPY's generated query did not parse as a query",
                                ))
                            }
                        }
                    }
                };
                let mut r = self.run_query(sid, &query, params)?;
                r.command = format!("COPY {}", r.rows.len());
                r.copy = Some(CopyMode::Out(c.format));
                Ok(r)
            }
        }
    }

    /// TRUNCATE: every listed table locked exclusively (so no other open
    /// transaction uses it), then all its rows deleted in this transaction
    /// (MVCC-safe and undone by ROLLBACK, unlike PostgreSQL's file swap).
    fn truncate(&mut self, sid: SessionId, names: &[ast::Name]) -> Result<QueryResult> {
        for name in names {
            let (table, _) = self.table_for_dml(sid, name, "truncate")?;
            self.lock_relation(sid, &table, RelLock::AccessExclusive)?;
        }
        for name in names {
            let del = ast::Delete {
                table: name.clone(),
                alias: None,
                using: Vec::new(),
                selection: None,
                returning: Vec::new(),
            };
            // The exclusive lock means no other transaction holds one of
            // these rows; a wait here would be a bug, reported not hung.
            if let Step::Parked(..) = self.start_delete(sid, &del, &[])? {
                return Err(sql_err(
                    SqlState::LOCK_NOT_AVAILABLE,
                    "TRUNCATE found a row locked by another transaction",
                ));
            }
        }
        Ok(QueryResult::tag("TRUNCATE TABLE"))
    }

    // ---- binding context ----------------------------------------------

    /// The statement snapshot: the transaction's (REPEATABLE READ) or a
    /// fresh one (READ COMMITTED).
    fn statement_snapshot(&mut self, sid: SessionId) -> Snapshot {
        let fresh = self.take_snapshot(sid);
        let t = self
            .sessions
            .get_mut(&sid)
            .and_then(|s| s.txn.as_mut())
            .expect("statements run in a transaction");
        if t.isolation == IsolationLevel::RepeatableRead {
            t.snapshot.get_or_insert(fresh).clone()
        } else {
            fresh
        }
    }

    fn bind<T>(
        &mut self,
        sid: SessionId,
        snapshot: &Snapshot,
        f: impl FnOnce(&mut Binder) -> PlanResult<T>,
    ) -> Result<(T, Vec<Plan>, Vec<DataType>)> {
        let (own, cid) = {
            let t = self
                .sessions
                .get(&sid)
                .and_then(|s| s.txn.as_ref())
                .expect("in a transaction");
            (t.own.clone(), t.cid)
        };
        let mut ctx = BindCtx {
            engine: self,
            sid,
            snapshot,
            own,
            cid,
        };
        let mut binder = Binder::new(&mut ctx);
        let out = f(&mut binder)?;
        let cte_plans = std::mem::take(&mut binder.cte_plans);
        let params = std::mem::take(&mut binder.params);
        Ok((out, cte_plans, params))
    }

    fn run_query(
        &mut self,
        sid: SessionId,
        q: &ast::Query,
        params: &[Value],
    ) -> Result<QueryResult> {
        let snapshot = self.statement_snapshot(sid);
        let ((plan, columns), cte_plans, _) = self.bind(sid, &snapshot, |b| b.bind_query(q))?;
        let mut tables = Vec::new();
        plan::scanned_tables(&plan, &mut tables);
        for p in &cte_plans {
            plan::scanned_tables(p, &mut tables);
        }
        for t in &tables {
            self.lock_relation(sid, t, RelLock::AccessShare)?;
        }
        let plan = self.optimize(plan);
        let rows = self.with_env(sid, &snapshot, params, &cte_plans, None, |env| {
            run(&plan, env)
        })?;
        Ok(QueryResult {
            command: format!("SELECT {}", rows.len()),
            rows_affected: rows.len() as u64,
            columns,
            rows,
            copy: None,
        })
    }

    fn explain(
        &mut self,
        sid: SessionId,
        stmt: Statement,
        analyze: bool,
        params: &[Value],
    ) -> Result<QueryResult> {
        let Statement::Query(q) = stmt else {
            return Err(sql_err(
                SqlState::FEATURE_NOT_SUPPORTED,
                "EXPLAIN of this statement is not supported yet",
            ));
        };
        let snapshot = self.statement_snapshot(sid);
        let ((plan, _), cte_plans, _) = self.bind(sid, &snapshot, |b| b.bind_query(&q))?;
        let plan = self.optimize(plan);
        let stats = if analyze {
            let clock = self.config.clock;
            let start = clock();
            let stats = self.with_env(sid, &snapshot, params, &cte_plans, None, |env| {
                env.stats = Some(HashMap::new());
                run(&plan, env)?;
                Ok(env.stats.take().unwrap_or_default())
            })?;
            Some((stats, clock() - start))
        } else {
            None
        };
        let mut lines = Vec::new();
        crate::sql::plan::explain::describe(
            &plan,
            &cte_plans,
            stats.as_ref().map(|(s, _)| s),
            0,
            &mut lines,
        );
        if let Some((_, total)) = stats {
            lines.push(format!("Execution Time: {:.3} ms", total as f64 / 1000.0));
        }
        Ok(QueryResult {
            command: format!("EXPLAIN {}", lines.len()),
            columns: vec![Column {
                name: "QUERY PLAN".into(),
                ty: DataType::Text,
            }],
            rows_affected: lines.len() as u64,
            rows: lines.into_iter().map(|l| vec![Value::Text(l)]).collect(),
            copy: None,
        })
    }

    /// SELECT ... FOR UPDATE / FOR SHARE (FOR SHARE takes the same
    /// exclusive row lock). Supported over one table without aggregation.
    fn start_locking_query(
        &mut self,
        sid: SessionId,
        q: &ast::Query,
        params: &[Value],
        restarts: u32,
    ) -> Result<Step> {
        if restarts > 100 {
            return Err(sql_err(
                SqlState::SERIALIZATION_FAILURE,
                "could not serialize access due to concurrent update",
            ));
        }
        let locking = q.locking.clone().expect("caller checked");
        let snapshot = self.statement_snapshot(sid);
        let ((plan, columns), cte_plans, _) = self.bind(sid, &snapshot, |b| b.bind_query(q))?;
        let mut tables = Vec::new();
        plan::scanned_tables(&plan, &mut tables);
        let table =
            match tables.as_slice() {
                [t] => t.clone(),
                _ => return Err(sql_err(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "SELECT ... FOR UPDATE/SHARE is supported on queries over exactly one table",
                )),
            };
        self.lock_relation(sid, &table, RelLock::RowExclusive)?;
        let plan = self.optimize(plan);
        let plan = with_row_ids(plan, table.columns.len()).ok_or_else(|| {
            sql_err(
                SqlState::FEATURE_NOT_SUPPORTED,
                "FOR UPDATE is not allowed with aggregates, DISTINCT, set operations or joins",
            )
        })?;
        let rows = self.with_env(sid, &snapshot, params, &cte_plans, None, |env| {
            run(&plan, env)
        })?;
        let dml = DmlExec {
            kind: DmlKind::Lock {
                wait: locking.wait,
                query: Box::new(q.clone()),
                columns,
                restarts,
                restart: false,
            },
            table,
            indexes: Vec::new(),
            rows,
            pos: 0,
            returning: None,
            out: Vec::new(),
            count: 0,
            snapshot,
            cid: self.current_cid(sid),
            params: params.to_vec(),
            checks: Vec::new(),
            cte_plans,
        };
        self.continue_dml(sid, dml)
    }

    /// Runs `f` in a DML statement's environment (its snapshot, parameters
    /// and CTEs), lent out of `dml` rather than copied (this runs per row).
    fn with_dml_env<T>(
        &mut self,
        sid: SessionId,
        dml: &mut DmlExec,
        f: impl FnOnce(&mut Env) -> Result<T>,
    ) -> Result<T> {
        let snapshot = std::mem::take(&mut dml.snapshot);
        let params = std::mem::take(&mut dml.params);
        let cte_plans = std::mem::take(&mut dml.cte_plans);
        let result = self.with_env(sid, &snapshot, &params, &cte_plans, None, f);
        dml.snapshot = snapshot;
        dml.params = params;
        dml.cte_plans = cte_plans;
        result
    }

    /// Runs `f` with an execution environment for session `sid`.
    fn with_env<T>(
        &mut self,
        sid: SessionId,
        snapshot: &Snapshot,
        params: &[Value],
        cte_plans: &[Plan],
        defaults: Option<Rc<Vec<BExpr>>>,
        f: impl FnOnce(&mut Env) -> Result<T>,
    ) -> Result<T> {
        let now = (self.config.clock)();
        let mut session = self
            .sessions
            .remove(&sid)
            .ok_or_else(|| sql_err(SqlState("08003"), "no such session"))?;
        let result = {
            // Borrow the session's fields (this runs per row in DML).
            let Session {
                txn,
                settings,
                currval,
                rng,
                ..
            } = &mut session;
            let t = txn.as_ref().expect("statements run in a transaction");
            let mut env = Env {
                pager: &mut self.pager,
                txns: &self.txns,
                snapshot,
                own: &t.own,
                cid: t.cid,
                params,
                tz: &settings.timezone,
                now: if t.start_time != 0 { t.start_time } else { now },
                cte_plans,
                outer: Vec::new(),
                cte_results: HashMap::new(),
                work_tables: HashMap::new(),
                subquery_cache: HashMap::new(),
                currval,
                defaults,
                rng,
                stats: None,
                clock: self.config.clock,
                interrupts: &self.interrupts,
            };
            f(&mut env)
        };
        self.sessions.insert(sid, session);
        result
    }

    /// Rewrites `Filter(SeqScan)` into index scans where an index fits.
    fn optimize(&mut self, plan: Plan) -> Plan {
        crate::sql::plan::optimize::optimize(plan, &mut |table| self.table_indexes(table))
    }

    fn table_indexes(&mut self, table: &TableDef) -> Vec<Rc<IndexDef>> {
        // Indexes are looked up with the latest committed catalog plus our
        // own changes; an index invisible to us is never used.
        self.catalog_entries_all()
            .into_iter()
            .filter_map(|o| match &*o {
                Object::Index(i) if i.table == table.oid => Some(Rc::new(i.clone())),
                _ => None,
            })
            .collect()
    }

    /// Catalog objects that are not deleted by a committed transaction
    /// (used for index maintenance: every index of the table gets entries).
    fn catalog_entries_all(&mut self) -> Vec<Rc<Object>> {
        let everyone = Snapshot {
            xmax: u64::MAX,
            in_progress: HashSet::new(),
        };
        let own: HashSet<Xid> = self.xid_owner.keys().copied().collect();
        let viewer = Viewer {
            snapshot: &everyone,
            own: &own,
            cid: u32::MAX,
        };
        self.catalog
            .visible(&self.txns, &mut self.pager, &viewer)
            .map(|v| v.into_iter().map(|e| e.object).collect())
            .unwrap_or_default()
    }

    fn lookup(&mut self, sid: SessionId, name: &str) -> Result<Option<crate::catalog::Entry>> {
        let snapshot = self.take_snapshot(sid);
        let t = self
            .sessions
            .get(&sid)
            .and_then(|s| s.txn.as_ref())
            .expect("in a transaction");
        let viewer = Viewer {
            snapshot: &snapshot,
            own: &t.own,
            cid: t.cid + 1,
        };
        Ok(self
            .catalog
            .lookup(&self.txns, &mut self.pager, &viewer, name)?)
    }

    /// Fails if another open transaction is creating (or renaming to) an
    /// object called `name`: without a wait queue for DDL we refuse rather
    /// than let two objects share a name.
    fn check_name_not_in_flux(&mut self, sid: SessionId, name: &str) -> Result<()> {
        let candidates: Vec<TupleHeader> = self
            .catalog
            .all_entries()
            .iter()
            .filter(|e| e.object.name() == name)
            .map(|e| e.header)
            .collect();
        for h in candidates {
            if let Liveness::InFlux(holder) = self.row_liveness(sid, &h)? {
                if holder != sid {
                    return Err(sql_err(
                        SqlState::LOCK_NOT_AVAILABLE,
                        format!("relation \"{name}\" is being created or dropped by a concurrent transaction"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Takes a relation lock until the end of the transaction. A conflict
    /// with another session's lock fails at once with 55P03 (we have no
    /// wait queue for relation locks yet, and must not proceed).
    fn lock_relation(&mut self, sid: SessionId, table: &TableDef, mode: RelLock) -> Result<()> {
        let holders = self.rel_locks.entry(table.oid).or_default();
        let conflict = holders.iter().any(|(&other, &held)| {
            other != sid && (mode == RelLock::AccessExclusive || held == RelLock::AccessExclusive)
        });
        if conflict {
            return Err(Error::Sql(
                SqlError::new(
                    SqlState::LOCK_NOT_AVAILABLE,
                    format!("could not obtain lock on relation \"{}\"", table.name),
                )
                .with_detail(
                    "Another open transaction is using the table, or is changing its definition.",
                )
                .with_hint("Retry after that transaction ends."),
            ));
        }
        let entry = holders.entry(sid).or_insert(mode);
        *entry = (*entry).max(mode);
        Ok(())
    }

    fn current_cid(&self, sid: SessionId) -> u32 {
        self.sessions
            .get(&sid)
            .and_then(|s| s.txn.as_ref())
            .map(|t| t.cid)
            .unwrap_or(0)
    }

    // ---- DDL ----------------------------------------------------------

    fn create_table(&mut self, sid: SessionId, c: &ast::CreateTable) -> Result<QueryResult> {
        let name = c.name.last().cloned().unwrap_or_default();
        if self.lookup(sid, &name)?.is_some() {
            if c.if_not_exists {
                return Ok(QueryResult::tag("CREATE TABLE"));
            }
            return Err(sql_err(
                SqlState::DUPLICATE_TABLE,
                format!("relation \"{name}\" already exists"),
            ));
        }
        self.check_name_not_in_flux(sid, &name)?;
        let xid = self.write_xid(sid)?;
        let cid = self.current_cid(sid);
        let oid = self.catalog.allocate_oid();
        let mut columns = Vec::new();
        let mut constraints: Vec<ast::TableConstraint> = c.constraints.clone();
        let mut seen = HashSet::new();
        for col in &c.columns {
            refuse_reg_column(&col.ty)?;
            if !seen.insert(col.name.clone()) {
                return Err(sql_err(
                    SqlState::DUPLICATE_COLUMN,
                    format!("column \"{}\" specified more than once", col.name),
                ));
            }
            let mut default = col.default_sql.clone();
            let mut identity = col.identity.map(|i| match i {
                ast::Identity::Always => IdentityKind::Always,
                ast::Identity::ByDefault => IdentityKind::ByDefault,
            });
            if col.serial || col.identity.is_some() {
                let seq_name = format!("{name}_{}_seq", col.name);
                let page = Catalog::create_sequence_page(&mut self.pager, 1)?;
                let seq_oid = self.catalog.allocate_oid();
                self.catalog.insert(
                    &mut self.pager,
                    xid,
                    cid,
                    Object::Sequence(SequenceDef {
                        oid: seq_oid,
                        name: seq_name.clone(),
                        page,
                        increment: 1,
                        start: 1,
                        owned_by: Some((oid, columns.len())),
                    }),
                )?;
                default = Some(format!("nextval('{seq_name}'::regclass)"));
                if col.serial {
                    identity = identity
                        .or(Some(IdentityKind::ByDefault))
                        .filter(|_| col.identity.is_some());
                }
            }
            for con in &col.constraints {
                constraints.push(con.clone());
            }
            columns.push(ColumnDef {
                name: col.name.clone(),
                ty: col.ty.clone(),
                not_null: col.not_null,
                default,
                identity,
                dropped: false,
            });
        }
        let heap = Heap::create(&mut self.pager)?;
        let mut table = TableDef {
            oid,
            name: name.clone(),
            columns,
            heap: heap.meta_page(),
            checks: Vec::new(),
            foreign_keys: Vec::new(),
        };
        let mut indexes = Vec::new();
        let mut pk_seen = false;
        for con in &constraints {
            match con {
                ast::TableConstraint::PrimaryKey {
                    name: cname,
                    columns,
                } => {
                    if pk_seen {
                        return Err(sql_err(
                            SqlState::INVALID_TABLE_DEFINITION,
                            format!("multiple primary keys for table \"{name}\" are not allowed"),
                        ));
                    }
                    pk_seen = true;
                    let cols = column_positions(&table, columns)?;
                    for &i in &cols {
                        table.columns[i].not_null = true;
                    }
                    indexes.push((
                        cname.clone().unwrap_or_else(|| format!("{name}_pkey")),
                        cols,
                        true,
                        true,
                    ));
                }
                ast::TableConstraint::Unique {
                    name: cname,
                    columns,
                } => {
                    let cols = column_positions(&table, columns)?;
                    let default_name = format!("{name}_{}_key", columns.join("_"));
                    indexes.push((cname.clone().unwrap_or(default_name), cols, true, false));
                }
                ast::TableConstraint::Check {
                    name: cname,
                    source,
                    ..
                } => {
                    let default_name = check_name(&name, &table.checks, con);
                    table.checks.push(CheckDef {
                        oid: self.catalog.allocate_oid(),
                        name: cname.clone().unwrap_or(default_name),
                        expr: source.clone(),
                    });
                }
                ast::TableConstraint::ForeignKey(fk) => {
                    let def = self.resolve_foreign_key(sid, &table, &indexes, fk)?;
                    table.foreign_keys.push(def);
                }
            }
        }
        self.catalog
            .insert(&mut self.pager, xid, cid, Object::Table(table.clone()))?;
        for (iname, cols, unique, primary) in indexes {
            let tree = Index::create(&mut self.pager)?;
            let ioid = self.catalog.allocate_oid();
            self.catalog.insert(
                &mut self.pager,
                xid,
                cid,
                Object::Index(IndexDef {
                    oid: ioid,
                    name: iname,
                    table: oid,
                    desc: vec![false; cols.len()],
                    columns: cols,
                    unique,
                    primary,
                    constraint: true,
                    btree: tree.tree().meta_page(),
                }),
            )?;
        }
        Ok(QueryResult::tag("CREATE TABLE"))
    }

    fn create_index(&mut self, sid: SessionId, c: &ast::CreateIndex) -> Result<QueryResult> {
        if c.method.as_deref().is_some_and(|m| m != "btree") {
            return Err(sql_err(
                SqlState::FEATURE_NOT_SUPPORTED,
                format!(
                    "index method \"{}\" is not supported yet",
                    c.method.as_deref().unwrap_or_default()
                ),
            ));
        }
        system::refuse_ddl(&c.table)?;
        let tname = c.table.last().cloned().unwrap_or_default();
        let entry = self
            .lookup(sid, &tname)?
            .ok_or_else(|| plan::undefined_table(&tname))?;
        let Object::Table(table) = &*entry.object else {
            return Err(sql_err(
                SqlState::WRONG_OBJECT_TYPE,
                format!("\"{tname}\" is not a table"),
            ));
        };
        let mut cols = Vec::new();
        let mut desc = Vec::new();
        for ic in &c.columns {
            match &ic.expr {
                Expr::Column(n) if n.len() == 1 => {
                    cols.push(
                        table
                            .column(&n[0])
                            .ok_or_else(|| plan::undefined_column(&n[0]))?,
                    );
                    desc.push(ic.desc);
                }
                _ => {
                    return Err(sql_err(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        "expression indexes are not supported yet",
                    ))
                }
            }
        }
        let iname = match &c.name {
            Some(n) => n.clone(),
            None => {
                let names: Vec<&str> = cols
                    .iter()
                    .map(|&i| table.columns[i].name.as_str())
                    .collect();
                format!("{tname}_{}_idx", names.join("_"))
            }
        };
        if self.lookup(sid, &iname)?.is_some() {
            if c.if_not_exists {
                return Ok(QueryResult::tag("CREATE INDEX"));
            }
            return Err(sql_err(
                SqlState::DUPLICATE_TABLE,
                format!("relation \"{iname}\" already exists"),
            ));
        }
        self.check_name_not_in_flux(sid, &iname)?;
        let xid = self.write_xid(sid)?;
        let cid = self.current_cid(sid);
        let tree = Index::create(&mut self.pager)?;
        let def = IndexDef {
            oid: self.catalog.allocate_oid(),
            name: iname,
            table: table.oid,
            columns: cols,
            desc,
            unique: c.unique,
            primary: false,
            constraint: false,
            btree: tree.tree().meta_page(),
        };
        // Build: every version in the heap gets an entry (MVCC filters later).
        let heap = Heap::open(table.heap);
        let mut page = heap.first_page(&mut self.pager)?;
        let mut seen_keys: HashMap<Vec<u8>, ()> = HashMap::new();
        while page != 0 {
            let (tuples, next) = heap.scan_page(&mut self.pager, page)?;
            for t in tuples {
                let status = self.txns.status(&mut self.pager, t.header.xmin)?;
                if status == XidStatus::Aborted {
                    continue;
                }
                let row = exec::decode_table_row(table, &t.payload)?;
                let key = index_key(&def, &row)?;
                if def.unique && !row_key_has_null(&def, &row) {
                    let deleted = t.header.xmax != 0
                        && t.header.flags & flags::XMAX_LOCK_ONLY == 0
                        && self.txns.status(&mut self.pager, t.header.xmax)?
                            == XidStatus::Committed;
                    if !deleted && seen_keys.insert(key.clone(), ()).is_some() {
                        return Err(Error::Sql(
                            SqlError::new(
                                SqlState::UNIQUE_VIOLATION,
                                format!("could not create unique index \"{}\"", def.name),
                            )
                            .with_detail(format!(
                                "Key {} is duplicated.",
                                key_detail(table, &def, &row)
                            )),
                        ));
                    }
                }
                tree.insert_entry(&mut self.pager, &key, t.tid)?;
            }
            page = next;
        }
        self.catalog
            .insert(&mut self.pager, xid, cid, Object::Index(def))?;
        Ok(QueryResult::tag("CREATE INDEX"))
    }

    fn create_sequence(
        &mut self,
        sid: SessionId,
        name: &ast::Name,
        if_not_exists: bool,
        start: Option<i64>,
        increment: Option<i64>,
    ) -> Result<QueryResult> {
        let sname = name.last().cloned().unwrap_or_default();
        if self.lookup(sid, &sname)?.is_some() {
            if if_not_exists {
                return Ok(QueryResult::tag("CREATE SEQUENCE"));
            }
            return Err(sql_err(
                SqlState::DUPLICATE_TABLE,
                format!("relation \"{sname}\" already exists"),
            ));
        }
        self.check_name_not_in_flux(sid, &sname)?;
        let increment = increment.unwrap_or(1);
        if increment == 0 {
            return Err(sql_err(
                SqlState::INVALID_PARAMETER_VALUE,
                "INCREMENT must not be zero",
            ));
        }
        let start = start.unwrap_or(1);
        let xid = self.write_xid(sid)?;
        let cid = self.current_cid(sid);
        let page = Catalog::create_sequence_page(&mut self.pager, start)?;
        let oid = self.catalog.allocate_oid();
        self.catalog.insert(
            &mut self.pager,
            xid,
            cid,
            Object::Sequence(SequenceDef {
                oid,
                name: sname,
                page,
                increment,
                start,
                owned_by: None,
            }),
        )?;
        Ok(QueryResult::tag("CREATE SEQUENCE"))
    }

    fn drop_objects(
        &mut self,
        sid: SessionId,
        names: &[ast::Name],
        if_exists: bool,
        kind: &str,
    ) -> Result<QueryResult> {
        for n in names {
            system::refuse_ddl(n)?;
            let name = n.last().cloned().unwrap_or_default();
            let entry = match self.lookup(sid, &name)? {
                Some(e) => e,
                None if if_exists => continue,
                None => {
                    let what = match kind {
                        "TABLE" => format!("table \"{name}\" does not exist"),
                        "INDEX" => format!("index \"{name}\" does not exist"),
                        _ => format!("sequence \"{name}\" does not exist"),
                    };
                    return Err(sql_err(
                        if kind == "INDEX" {
                            SqlState::UNDEFINED_OBJECT
                        } else {
                            SqlState::UNDEFINED_TABLE
                        },
                        what,
                    ));
                }
            };
            let matches_kind = matches!(
                (&*entry.object, kind),
                (Object::Table(_), "TABLE")
                    | (Object::Index(_), "INDEX")
                    | (Object::Sequence(_), "SEQUENCE")
            );
            if !matches_kind {
                return Err(sql_err(
                    SqlState::WRONG_OBJECT_TYPE,
                    format!("\"{name}\" is not a {}", kind.to_lowercase()),
                ));
            }
            if let Object::Index(i) = &*entry.object {
                if i.constraint {
                    return Err(Error::Sql(
                        SqlError::new(
                            SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
                            format!("cannot drop index {name} because constraint {name} on table requires it"),
                        )
                        .with_hint("You can drop the constraint instead."),
                    ));
                }
            }
            let xid = self.write_xid(sid)?;
            let cid = self.current_cid(sid);
            if let Object::Table(t) = &*entry.object {
                self.lock_relation(sid, t, RelLock::AccessExclusive)?;
            }
            self.lock_catalog_row(sid, entry.tid)?;
            self.catalog.delete(&mut self.pager, entry.tid, xid, cid)?;
            // A table takes its indexes and owned sequences with it.
            if let Object::Table(t) = &*entry.object {
                let snapshot = self.take_snapshot(sid);
                let own = self.sessions[&sid]
                    .txn
                    .as_ref()
                    .map(|t| t.own.clone())
                    .unwrap_or_default();
                let viewer = Viewer {
                    snapshot: &snapshot,
                    own: &own,
                    cid: cid + 1,
                };
                let deps: Vec<Tid> = self
                    .catalog
                    .visible(&self.txns, &mut self.pager, &viewer)?
                    .into_iter()
                    .filter(|e| match &*e.object {
                        Object::Index(i) => i.table == t.oid,
                        Object::Sequence(s) => s.owned_by.is_some_and(|(o, _)| o == t.oid),
                        Object::Table(_) => false,
                    })
                    .map(|e| e.tid)
                    .collect();
                for tid in deps {
                    self.catalog.delete(&mut self.pager, tid, xid, cid)?;
                }
            }
        }
        Ok(QueryResult::tag(&format!("DROP {kind}")))
    }

    /// DDL on an object another open transaction changed: refuse (we have
    /// no table-level lock queue yet, and a silent overwrite would be wrong).
    fn lock_catalog_row(&mut self, sid: SessionId, tid: Tid) -> Result<()> {
        if let Some(h) = self.catalog.header(tid) {
            if h.xmax != 0 {
                let own = self.sessions[&sid]
                    .txn
                    .as_ref()
                    .is_some_and(|t| t.own.contains(&h.xmax));
                if !own && self.txns.status(&mut self.pager, h.xmax)? != XidStatus::Aborted {
                    return Err(sql_err(
                        SqlState::SERIALIZATION_FAILURE,
                        "could not serialize access due to concurrent update",
                    ));
                }
            }
        }
        Ok(())
    }

    fn alter_table(
        &mut self,
        sid: SessionId,
        name: &ast::Name,
        if_exists: bool,
        ops: &[ast::AlterOp],
    ) -> Result<QueryResult> {
        system::refuse_ddl(name)?;
        let tname = name.last().cloned().unwrap_or_default();
        let Some(entry) = self.lookup(sid, &tname)? else {
            if if_exists {
                return Ok(QueryResult::tag("ALTER TABLE"));
            }
            return Err(Error::Sql(plan::undefined_table(&tname)));
        };
        let Object::Table(table) = &*entry.object else {
            return Err(sql_err(
                SqlState::WRONG_OBJECT_TYPE,
                format!("\"{tname}\" is not a table"),
            ));
        };
        let mut table = table.clone();
        let mut tid = entry.tid;
        self.lock_relation(sid, &table, RelLock::AccessExclusive)?;
        self.lock_catalog_row(sid, tid)?;
        let xid = self.write_xid(sid)?;
        for op in ops {
            let cid = self.current_cid(sid);
            match op {
                ast::AlterOp::AddColumn {
                    spec,
                    if_not_exists,
                } => {
                    refuse_reg_column(&spec.ty)?;
                    if table.column(&spec.name).is_some() {
                        if *if_not_exists {
                            continue;
                        }
                        return Err(sql_err(
                            SqlState::DUPLICATE_COLUMN,
                            format!(
                                "column \"{}\" of relation \"{}\" already exists",
                                spec.name, table.name
                            ),
                        ));
                    }
                    let mut default = spec.default_sql.clone();
                    if spec.serial || spec.identity.is_some() {
                        let seq_name = format!("{}_{}_seq", table.name, spec.name);
                        let page = Catalog::create_sequence_page(&mut self.pager, 1)?;
                        let seq_oid = self.catalog.allocate_oid();
                        self.catalog.insert(
                            &mut self.pager,
                            xid,
                            cid,
                            Object::Sequence(SequenceDef {
                                oid: seq_oid,
                                name: seq_name.clone(),
                                page,
                                increment: 1,
                                start: 1,
                                owned_by: Some((table.oid, table.columns.len())),
                            }),
                        )?;
                        default = Some(format!("nextval('{seq_name}'::regclass)"));
                    }
                    table.columns.push(ColumnDef {
                        name: spec.name.clone(),
                        ty: spec.ty.clone(),
                        not_null: spec.not_null,
                        default: default.clone(),
                        identity: spec.identity.map(|i| match i {
                            ast::Identity::Always => IdentityKind::Always,
                            ast::Identity::ByDefault => IdentityKind::ByDefault,
                        }),
                        dropped: false,
                    });
                    tid = self.catalog.replace(
                        &mut self.pager,
                        tid,
                        xid,
                        cid,
                        Object::Table(table.clone()),
                    )?;
                    // Existing rows get the default (evaluated per row), as in PostgreSQL.
                    let col = table.columns.len() - 1;
                    if default.is_some() {
                        self.rewrite_rows(sid, &table, |engine, sid, row, env_defaults| {
                            let _ = (engine, sid);
                            row[col] = env_defaults[col].clone();
                            Ok(())
                        })?;
                    } else if spec.not_null && self.table_has_rows(sid, &table)? {
                        return Err(sql_err(
                            SqlState::NOT_NULL_VIOLATION,
                            format!(
                                "column \"{}\" of relation \"{}\" contains null values",
                                spec.name, table.name
                            ),
                        ));
                    }
                    for c in &spec.constraints {
                        tid = self.add_constraint(sid, xid, tid, &mut table, c)?;
                    }
                }
                ast::AlterOp::DropColumn {
                    name: col,
                    if_exists,
                } => {
                    let Some(i) = table.column(col) else {
                        if *if_exists {
                            continue;
                        }
                        return Err(sql_err(
                            SqlState::UNDEFINED_COLUMN,
                            format!(
                                "column \"{col}\" of relation \"{}\" does not exist",
                                table.name
                            ),
                        ));
                    };
                    if table.live_columns().count() == 1 {
                        return Err(sql_err(
                            SqlState::FEATURE_NOT_SUPPORTED,
                            "cannot drop the last column of a table",
                        ));
                    }
                    table.columns[i].dropped = true;
                    table.columns[i].not_null = false;
                    table.columns[i].default = None;
                    table.checks.retain(|c| {
                        let mut cols = Vec::new();
                        if let Ok(e) = translate::parse_expr(&c.expr) {
                            collect_columns(&e, &mut cols);
                        }
                        !cols.contains(col)
                    });
                    // Indexes on the column go with it.
                    for idx in self.table_indexes(&table) {
                        if idx.columns.contains(&i) {
                            if let Some(e) = self.lookup(sid, &idx.name)? {
                                self.catalog.delete(&mut self.pager, e.tid, xid, cid)?;
                            }
                        }
                    }
                    tid = self.catalog.replace(
                        &mut self.pager,
                        tid,
                        xid,
                        cid,
                        Object::Table(table.clone()),
                    )?;
                }
                ast::AlterOp::AddConstraint(c) => {
                    tid = self.add_constraint(sid, xid, tid, &mut table, c)?;
                }
                ast::AlterOp::DropConstraint {
                    name: cname,
                    if_exists,
                } => {
                    let before = table.checks.len();
                    table.checks.retain(|c| &c.name != cname);
                    if table.checks.len() != before {
                        tid = self.catalog.replace(
                            &mut self.pager,
                            tid,
                            xid,
                            cid,
                            Object::Table(table.clone()),
                        )?;
                        continue;
                    }
                    let idx = self
                        .table_indexes(&table)
                        .into_iter()
                        .find(|i| i.constraint && &i.name == cname);
                    match idx {
                        Some(i) => {
                            if i.primary {
                                for &c in &i.columns {
                                    table.columns[c].not_null = table.columns[c].identity.is_some();
                                }
                                tid = self.catalog.replace(
                                    &mut self.pager,
                                    tid,
                                    xid,
                                    cid,
                                    Object::Table(table.clone()),
                                )?;
                            }
                            if let Some(e) = self.lookup(sid, &i.name)? {
                                self.catalog.delete(&mut self.pager, e.tid, xid, cid)?;
                            }
                        }
                        None if *if_exists => {}
                        None => {
                            return Err(sql_err(
                                SqlState::UNDEFINED_OBJECT,
                                format!(
                                    "constraint \"{cname}\" of relation \"{}\" does not exist",
                                    table.name
                                ),
                            ))
                        }
                    }
                }
                ast::AlterOp::RenameTable(new) => {
                    if self.lookup(sid, new)?.is_some() {
                        return Err(sql_err(
                            SqlState::DUPLICATE_TABLE,
                            format!("relation \"{new}\" already exists"),
                        ));
                    }
                    self.check_name_not_in_flux(sid, new)?;
                    table.name = new.clone();
                    tid = self.catalog.replace(
                        &mut self.pager,
                        tid,
                        xid,
                        cid,
                        Object::Table(table.clone()),
                    )?;
                }
                ast::AlterOp::RenameColumn { old, new } => {
                    let i = table
                        .column(old)
                        .ok_or_else(|| plan::undefined_column(old))?;
                    if table.column(new).is_some() {
                        return Err(sql_err(
                            SqlState::DUPLICATE_COLUMN,
                            format!(
                                "column \"{new}\" of relation \"{}\" already exists",
                                table.name
                            ),
                        ));
                    }
                    // Stored CHECK and DEFAULT expressions are SQL text.
                    let mentions = |sql: &str| {
                        let mut cols = Vec::new();
                        if let Ok(e) = translate::parse_expr(sql) {
                            collect_columns(&e, &mut cols);
                        }
                        cols.contains(old)
                    };
                    if table.checks.iter().any(|c| mentions(&c.expr))
                        || table
                            .columns
                            .iter()
                            .any(|c| c.default.as_deref().is_some_and(mentions))
                    {
                        return Err(sql_err(
                            SqlState::FEATURE_NOT_SUPPORTED,
                            format!("cannot rename column \"{old}\": a CHECK constraint or default refers to it"),
                        ));
                    }
                    table.columns[i].name = new.clone();
                    tid = self.catalog.replace(
                        &mut self.pager,
                        tid,
                        xid,
                        cid,
                        Object::Table(table.clone()),
                    )?;
                }
                ast::AlterOp::AlterColumnSetDefault { column, default } => {
                    let i = table
                        .column(column)
                        .ok_or_else(|| plan::undefined_column(column))?;
                    if let Some(d) = default {
                        translate::parse_expr(d)?;
                    }
                    table.columns[i].default = default.clone();
                    tid = self.catalog.replace(
                        &mut self.pager,
                        tid,
                        xid,
                        cid,
                        Object::Table(table.clone()),
                    )?;
                }
                ast::AlterOp::AlterColumnNotNull { column, not_null } => {
                    let i = table
                        .column(column)
                        .ok_or_else(|| plan::undefined_column(column))?;
                    if !*not_null
                        && self
                            .table_indexes(&table)
                            .iter()
                            .any(|x| x.primary && x.columns.contains(&i))
                    {
                        return Err(sql_err(
                            SqlState::INVALID_TABLE_DEFINITION,
                            format!("column \"{column}\" is in a primary key"),
                        ));
                    }
                    if *not_null && self.column_has_null(sid, &table, i)? {
                        return Err(sql_err(
                            SqlState::NOT_NULL_VIOLATION,
                            format!(
                                "column \"{column}\" of relation \"{}\" contains null values",
                                table.name
                            ),
                        ));
                    }
                    table.columns[i].not_null = *not_null;
                    tid = self.catalog.replace(
                        &mut self.pager,
                        tid,
                        xid,
                        cid,
                        Object::Table(table.clone()),
                    )?;
                }
            }
        }
        Ok(QueryResult::tag("ALTER TABLE"))
    }

    /// Rows of `table` visible to this session's next command, with TIDs.
    fn visible_rows(&mut self, sid: SessionId, table: &TableDef) -> Result<Vec<Row>> {
        let snapshot = self.take_snapshot(sid);
        let plan = Plan::SeqScan {
            table: Rc::new(table.clone()),
            filter: None,
            with_tid: true,
        };
        if let Some(t) = self.sessions.get_mut(&sid).and_then(|s| s.txn.as_mut()) {
            t.cid += 1;
        }
        self.with_env(sid, &snapshot, &[], &[], None, |env| run(&plan, env))
    }

    fn table_has_rows(&mut self, sid: SessionId, table: &TableDef) -> Result<bool> {
        Ok(!self.visible_rows(sid, table)?.is_empty())
    }

    fn column_has_null(&mut self, sid: SessionId, table: &TableDef, col: usize) -> Result<bool> {
        Ok(self
            .visible_rows(sid, table)?
            .iter()
            .any(|r| r[col].is_null()))
    }

    /// Writes a new version of every visible row, changed by `f` (which
    /// also gets the table's evaluated defaults for that row).
    fn rewrite_rows(
        &mut self,
        sid: SessionId,
        table: &TableDef,
        mut f: impl FnMut(&mut Engine, SessionId, &mut Row, &[Value]) -> Result<()>,
    ) -> Result<()> {
        let rows = self.visible_rows(sid, table)?;
        let snapshot = self.take_snapshot(sid);
        let ((defaults, checks), _, _) = self.bind(sid, &snapshot, |b| {
            Ok((Self::bind_defaults(b, table)?, Self::bind_checks(b, table)?))
        })?;
        let xid = self.write_xid(sid)?;
        let ncols = table.columns.len();
        let mut dml = DmlExec {
            kind: DmlKind::Insert(None),
            table: Rc::new(table.clone()),
            indexes: self.table_indexes(table),
            rows: Vec::new(),
            pos: 0,
            returning: None,
            out: Vec::new(),
            count: 0,
            snapshot: snapshot.clone(),
            cid: self.current_cid(sid),
            params: Vec::new(),
            checks,
            cte_plans: Vec::new(),
        };
        let heap = Heap::open(table.heap);
        for mut row in rows {
            let Some(tid) = value_tid(&row[ncols]) else {
                continue;
            };
            row.truncate(ncols);
            let evaluated = self.with_env(sid, &snapshot, &[], &[], None, |env| {
                defaults
                    .iter()
                    .map(|d| eval(d, &[], env))
                    .collect::<Result<Vec<_>>>()
            })?;
            f(self, sid, &mut row, &evaluated)?;
            self.check_row(sid, &mut dml, &row)?;
            let h = heap.header(&mut self.pager, tid)?;
            if let Some(h) = h {
                let own = self.sessions[&sid]
                    .txn
                    .as_ref()
                    .is_some_and(|t| t.own.contains(&h.xmax));
                if h.xmax != 0
                    && !own
                    && self.txns.status(&mut self.pager, h.xmax)? == XidStatus::InProgress
                {
                    return Err(sql_err(
                        SqlState::LOCK_NOT_AVAILABLE,
                        "could not rewrite a row locked by another transaction",
                    ));
                }
            }
            let new_tid = self.insert_row(&dml, xid, &row)?;
            let cid = dml.cid;
            heap.update_header(&mut self.pager, tid, |h| {
                h.xmax = xid;
                h.cmax = cid;
                h.ctid = new_tid;
                h.flags = (h.flags & !flags::XMAX_LOCK_ONLY) | flags::UPDATED;
            })?;
        }
        Ok(())
    }

    /// ALTER TABLE ... ADD CONSTRAINT (and column constraints of ADD COLUMN).
    fn add_constraint(
        &mut self,
        sid: SessionId,
        xid: Xid,
        tid: Tid,
        table: &mut TableDef,
        c: &ast::TableConstraint,
    ) -> Result<Tid> {
        let cid = self.current_cid(sid);
        match c {
            ast::TableConstraint::Check { name, source, .. } => {
                let cname = name
                    .clone()
                    .unwrap_or_else(|| check_name(&table.name, &table.checks, c));
                let mut probe = table.clone();
                probe.checks = vec![CheckDef {
                    oid: 0,
                    name: cname.clone(),
                    expr: source.clone(),
                }];
                // Existing rows must satisfy it.
                let snapshot = self.take_snapshot(sid);
                let (checks, _, _) = self.bind(sid, &snapshot, |b| Self::bind_checks(b, &probe))?;
                let rows = self.visible_rows(sid, table)?;
                let failing = self.with_env(sid, &snapshot, &[], &[], None, |env| {
                    for r in &rows {
                        for (_, e) in &checks {
                            if exec::truth(&eval(e, r, env)?) == Some(false) {
                                return Ok(true);
                            }
                        }
                    }
                    Ok(false)
                })?;
                if failing {
                    return Err(sql_err(
                        SqlState::CHECK_VIOLATION,
                        format!("check constraint \"{cname}\" of relation \"{}\" is violated by some row", table.name),
                    ));
                }
                table.checks.push(CheckDef {
                    oid: self.catalog.allocate_oid(),
                    name: cname,
                    expr: source.clone(),
                });
                Ok(self.catalog.replace(
                    &mut self.pager,
                    tid,
                    xid,
                    cid,
                    Object::Table(table.clone()),
                )?)
            }
            ast::TableConstraint::PrimaryKey { name, columns }
            | ast::TableConstraint::Unique { name, columns } => {
                let primary = matches!(c, ast::TableConstraint::PrimaryKey { .. });
                let cols = column_positions(table, columns)?;
                let mut tid = tid;
                if primary {
                    if self.table_indexes(table).iter().any(|i| i.primary) {
                        return Err(sql_err(
                            SqlState::INVALID_TABLE_DEFINITION,
                            format!(
                                "multiple primary keys for table \"{}\" are not allowed",
                                table.name
                            ),
                        ));
                    }
                    for &i in &cols {
                        if self.column_has_null(sid, table, i)? {
                            return Err(sql_err(
                                SqlState::NOT_NULL_VIOLATION,
                                format!(
                                    "column \"{}\" of relation \"{}\" contains null values",
                                    table.columns[i].name, table.name
                                ),
                            ));
                        }
                        table.columns[i].not_null = true;
                    }
                    tid = self.catalog.replace(
                        &mut self.pager,
                        tid,
                        xid,
                        cid,
                        Object::Table(table.clone()),
                    )?;
                }
                let iname = name.clone().unwrap_or_else(|| {
                    if primary {
                        format!("{}_pkey", table.name)
                    } else {
                        format!("{}_{}_key", table.name, columns.join("_"))
                    }
                });
                let create = ast::CreateIndex {
                    name: Some(iname.clone()),
                    table: vec![table.name.clone()],
                    columns: columns
                        .iter()
                        .map(|c| ast::IndexColumn {
                            expr: Expr::Column(vec![c.clone()]),
                            desc: false,
                            opclass: None,
                        })
                        .collect(),
                    unique: true,
                    if_not_exists: false,
                    method: None,
                    with: Vec::new(),
                };
                self.create_index(sid, &create)?;
                // Mark the new index as a constraint's.
                if let Some(e) = self.lookup(sid, &iname)? {
                    if let Object::Index(mut i) = (*e.object).clone() {
                        i.constraint = true;
                        i.primary = primary;
                        self.catalog
                            .replace(&mut self.pager, e.tid, xid, cid, Object::Index(i))?;
                    }
                }
                Ok(tid)
            }
            ast::TableConstraint::ForeignKey(_) => Err(sql_err(
                SqlState::FEATURE_NOT_SUPPORTED,
                "FOREIGN KEY constraints are not supported yet",
            )),
        }
    }

    // ---- foreign keys -------------------------------------------------

    /// Resolves a FOREIGN KEY clause of `table` (which may reference itself;
    /// `new_indexes` are its unique keys being created alongside).
    fn resolve_foreign_key(
        &mut self,
        sid: SessionId,
        table: &TableDef,
        new_indexes: &[(String, Vec<usize>, bool, bool)],
        fk: &ast::ForeignKey,
    ) -> Result<crate::catalog::ForeignKeyDef> {
        let ref_name = fk.table.last().cloned().unwrap_or_default();
        let columns = column_positions(table, &fk.columns)?;
        let (ref_table, ref_uniques): (TableDef, Vec<(Vec<usize>, bool)>) =
            if ref_name == table.name {
                (
                    table.clone(),
                    new_indexes
                        .iter()
                        .map(|(_, c, _, p)| (c.clone(), *p))
                        .collect(),
                )
            } else {
                let entry = self
                    .lookup(sid, &ref_name)?
                    .ok_or_else(|| Error::Sql(plan::undefined_table(&ref_name)))?;
                let Object::Table(t) = &*entry.object else {
                    return Err(sql_err(
                        SqlState::WRONG_OBJECT_TYPE,
                        format!("\"{ref_name}\" is not a table"),
                    ));
                };
                let uniques = self
                    .table_indexes(t)
                    .iter()
                    .filter(|i| i.unique)
                    .map(|i| (i.columns.clone(), i.primary))
                    .collect();
                (t.clone(), uniques)
            };
        let ref_columns = if fk.referred.is_empty() {
            ref_uniques
                .iter()
                .find(|(_, p)| *p)
                .map(|(c, _)| c.clone())
                .ok_or_else(|| {
                    sql_err(
                        SqlState::UNDEFINED_OBJECT,
                        format!("there is no primary key for referenced table \"{ref_name}\""),
                    )
                })?
        } else {
            column_positions(&ref_table, &fk.referred)?
        };
        if ref_columns.len() != columns.len() {
            return Err(sql_err(
                SqlState("42830"),
                "number of referencing and referenced columns for foreign key disagree",
            ));
        }
        let mut sorted = ref_columns.clone();
        sorted.sort_unstable();
        if !ref_uniques.iter().any(|(c, _)| {
            let mut c = c.clone();
            c.sort_unstable();
            c == sorted
        }) {
            return Err(sql_err(
                SqlState("42830"),
                format!("there is no unique constraint matching given keys for referenced table \"{ref_name}\""),
            ));
        }
        let names: Vec<&str> = columns
            .iter()
            .map(|&i| table.columns[i].name.as_str())
            .collect();
        Ok(crate::catalog::ForeignKeyDef {
            oid: self.catalog.allocate_oid(),
            name: fk
                .name
                .clone()
                .unwrap_or_else(|| format!("{}_{}_fkey", table.name, names.join("_"))),
            columns,
            ref_table: if ref_name == table.name {
                table.oid
            } else {
                ref_table.oid
            },
            ref_columns,
            on_delete: fk.on_delete,
            on_update: fk.on_update,
            deferrable: fk.deferrable,
            initially_deferred: fk.initially_deferred,
        })
    }

    /// COMMIT: deferred foreign keys of the rows this transaction wrote
    /// that are still live.
    fn check_deferred_fks(&mut self, sid: SessionId) -> Result<()> {
        let rows = match self.sessions.get(&sid).and_then(|s| s.txn.as_ref()) {
            Some(t) => t.deferred_fk_rows.clone(),
            None => return Ok(()),
        };
        for (oid, tid) in rows {
            let Some(table) = self.table_by_oid(oid) else {
                continue;
            };
            let Some(t) = Heap::open(table.heap).fetch(&mut self.pager, tid)? else {
                continue;
            };
            if !matches!(self.row_liveness(sid, &t.header)?, Liveness::Live) {
                continue;
            }
            let row = exec::decode_table_row(&table, &t.payload)?;
            if self
                .check_fk_parents_when(sid, &table, &row, None, true)?
                .is_some()
            {
                return Err(sql_err(
                    SqlState::LOCK_NOT_AVAILABLE,
                    "a deferred foreign key refers to a row another open transaction is changing",
                ));
            }
        }
        Ok(())
    }

    fn table_by_oid(&mut self, oid: Oid) -> Option<TableDef> {
        self.catalog_entries_all()
            .into_iter()
            .find_map(|o| match &*o {
                Object::Table(t) if t.oid == oid => Some(t.clone()),
                _ => None,
            })
    }

    /// Referencing side: every non-NULL foreign key of `row` must match a
    /// live referenced row (one being inserted by another transaction
    /// means waiting for it).
    fn check_fk_parents(
        &mut self,
        sid: SessionId,
        table: &TableDef,
        row: &[Value],
        old: Option<&[Value]>,
    ) -> Result<Option<SessionId>> {
        self.check_fk_parents_when(sid, table, row, old, false)
    }

    /// `at_commit`: check the deferred foreign keys (else the immediate ones).
    fn check_fk_parents_when(
        &mut self,
        sid: SessionId,
        table: &TableDef,
        row: &[Value],
        old: Option<&[Value]>,
        at_commit: bool,
    ) -> Result<Option<SessionId>> {
        let tz = self.session_tz(sid);
        for fk in table
            .foreign_keys
            .iter()
            .filter(|f| f.initially_deferred == at_commit)
        {
            let vals: Vec<Value> = fk.columns.iter().map(|&i| row[i].clone()).collect();
            if vals.iter().any(|v| v.is_null()) {
                continue;
            }
            if let Some(old) = old {
                if fk
                    .columns
                    .iter()
                    .all(|&i| old[i].sql_eq(&row[i]) == Some(true))
                {
                    continue;
                }
            }
            // A row may reference itself.
            if fk.ref_table == table.oid
                && fk
                    .columns
                    .iter()
                    .zip(&fk.ref_columns)
                    .all(|(&a, &b)| row[a].sql_eq(&row[b]) == Some(true))
            {
                continue;
            }
            let Some(parent) = self.table_by_oid(fk.ref_table) else {
                continue;
            };
            let mut sorted = fk.ref_columns.clone();
            sorted.sort_unstable();
            let Some(idx) = self.table_indexes(&parent).into_iter().find(|i| {
                let mut c = i.columns.clone();
                c.sort_unstable();
                i.unique && c == sorted
            }) else {
                continue;
            };
            // Key values in index column order, cast to the parent's types.
            let mut key_vals = Vec::new();
            for &ic in &idx.columns {
                let pos = fk.ref_columns.iter().position(|&r| r == ic).unwrap_or(0);
                key_vals.push(cast_assignment(
                    vals[pos].clone(),
                    &parent.columns[ic].ty,
                    &tz,
                )?);
            }
            let key = encode_index_key(&key_vals, &idx.desc)?;
            let heap = Heap::open(parent.heap);
            let mut found = false;
            for tid in Index::open(idx.btree).entries_with_key(&mut self.pager, &key)? {
                let Some(h) = heap.header(&mut self.pager, tid)? else {
                    continue;
                };
                match self.row_liveness(sid, &h)? {
                    Liveness::Live => {
                        found = true;
                        break;
                    }
                    Liveness::InFlux(holder) if holder != sid => return Ok(Some(holder)),
                    _ => {}
                }
            }
            if !found {
                let names: Vec<&str> = fk
                    .columns
                    .iter()
                    .map(|&i| table.columns[i].name.as_str())
                    .collect();
                let shown: Vec<String> = vals
                    .iter()
                    .map(|v| v.to_pg_text(&tz).unwrap_or_default())
                    .collect();
                return Err(Error::Sql(
                    SqlError::new(
                        SqlState::FOREIGN_KEY_VIOLATION,
                        format!(
                            "insert or update on table \"{}\" violates foreign key constraint \"{}\"",
                            table.name, fk.name
                        ),
                    )
                    .with_detail(format!(
                        "Key ({})=({}) is not present in table \"{}\".",
                        names.join(", "),
                        shown.join(", "),
                        parent.name
                    )),
                ));
            }
        }
        Ok(None)
    }

    /// Referenced side: `old` of `parent` is deleted (`new` = None) or
    /// updated; apply each referencing foreign key's action to the rows that
    /// reference it.
    fn enforce_fk_children(
        &mut self,
        sid: SessionId,
        xid: Xid,
        parent: &TableDef,
        old: &[Value],
        new: Option<&[Value]>,
        depth: u32,
    ) -> Result<Option<SessionId>> {
        if depth > 64 {
            return Err(sql_err(SqlState("54001"), "foreign key cascade too deep"));
        }
        let tz = self.session_tz(sid);
        let tables: Vec<TableDef> = self
            .catalog_entries_all()
            .into_iter()
            .filter_map(|o| match &*o {
                Object::Table(t) if t.foreign_keys.iter().any(|f| f.ref_table == parent.oid) => {
                    Some(t.clone())
                }
                _ => None,
            })
            .collect();
        for child in tables {
            for fk in child
                .foreign_keys
                .iter()
                .filter(|f| f.ref_table == parent.oid)
            {
                let key: Vec<Value> = fk.ref_columns.iter().map(|&i| old[i].clone()).collect();
                if key.iter().any(|v| v.is_null()) {
                    continue;
                }
                if let Some(new) = new {
                    if fk
                        .ref_columns
                        .iter()
                        .all(|&i| old[i].sql_eq(&new[i]) == Some(true))
                    {
                        continue;
                    }
                }
                let heap = Heap::open(child.heap);
                let mut page = heap.first_page(&mut self.pager)?;
                while page != 0 {
                    let (tuples, next) = heap.scan_page(&mut self.pager, page)?;
                    for t in tuples {
                        let row = exec::decode_table_row(&child, &t.payload)?;
                        let matches = fk
                            .columns
                            .iter()
                            .zip(&key)
                            .all(|(&c, k)| row[c].sql_eq(k) == Some(true));
                        if !matches {
                            continue;
                        }
                        match self.row_liveness(sid, &t.header)? {
                            Liveness::Dead => continue,
                            Liveness::InFlux(holder) if holder != sid => return Ok(Some(holder)),
                            _ => {}
                        }
                        let action = if new.is_some() {
                            fk.on_update
                        } else {
                            fk.on_delete
                        };
                        if action == crate::catalog::RefAction::NoAction && fk.initially_deferred {
                            // Checked at COMMIT: the key may come back before then.
                            let child_tid = t.tid;
                            if let Some(txn) =
                                self.sessions.get_mut(&sid).and_then(|s| s.txn.as_mut())
                            {
                                txn.deferred_fk_rows.push((child.oid, child_tid));
                            }
                            continue;
                        }
                        let replacement: Option<Row> = match action {
                            crate::catalog::RefAction::NoAction
                            | crate::catalog::RefAction::Restrict => {
                                let names: Vec<&str> = fk
                                    .ref_columns
                                    .iter()
                                    .map(|&i| parent.columns[i].name.as_str())
                                    .collect();
                                let shown: Vec<String> = key
                                    .iter()
                                    .map(|v| v.to_pg_text(&tz).unwrap_or_default())
                                    .collect();
                                return Err(Error::Sql(
                                    SqlError::new(
                                        SqlState::FOREIGN_KEY_VIOLATION,
                                        format!(
                                            "update or delete on table \"{}\" violates foreign key constraint \"{}\" on table \"{}\"",
                                            parent.name, fk.name, child.name
                                        ),
                                    )
                                    .with_detail(format!(
                                        "Key ({})=({}) is still referenced from table \"{}\".",
                                        names.join(", "),
                                        shown.join(", "),
                                        child.name
                                    )),
                                ));
                            }
                            crate::catalog::RefAction::Cascade => new.map(|n| {
                                let mut r = row.clone();
                                for (&c, &p) in fk.columns.iter().zip(&fk.ref_columns) {
                                    r[c] = n[p].clone();
                                }
                                r
                            }),
                            crate::catalog::RefAction::SetNull
                            | crate::catalog::RefAction::SetDefault => {
                                let mut r = row.clone();
                                let defaults = if action == crate::catalog::RefAction::SetDefault {
                                    self.evaluated_defaults(sid, &child)?
                                } else {
                                    vec![Value::Null; child.columns.len()]
                                };
                                for &c in &fk.columns {
                                    r[c] = defaults[c].clone();
                                }
                                Some(r)
                            }
                        };
                        if let Some(h) =
                            self.modify_child(sid, xid, &child, t.tid, &row, replacement, depth)?
                        {
                            return Ok(Some(h));
                        }
                    }
                    page = next;
                }
            }
        }
        Ok(None)
    }

    fn evaluated_defaults(&mut self, sid: SessionId, table: &TableDef) -> Result<Vec<Value>> {
        let snapshot = self.take_snapshot(sid);
        let (defaults, _, _) = self.bind(sid, &snapshot, |b| Self::bind_defaults(b, table))?;
        self.with_env(sid, &snapshot, &[], &[], None, |env| {
            defaults
                .iter()
                .map(|d| eval(d, &[], env))
                .collect::<Result<Vec<_>>>()
        })
    }

    /// Deletes (replacement None) or replaces a referencing row, cascading
    /// further and checking the new version's constraints.
    #[allow(clippy::too_many_arguments)]
    fn modify_child(
        &mut self,
        sid: SessionId,
        xid: Xid,
        child: &TableDef,
        tid: Tid,
        old: &[Value],
        replacement: Option<Row>,
        depth: u32,
    ) -> Result<Option<SessionId>> {
        if let Some(h) =
            self.enforce_fk_children(sid, xid, child, old, replacement.as_deref(), depth + 1)?
        {
            return Ok(Some(h));
        }
        let snapshot = self.take_snapshot(sid);
        let checks = if replacement.is_some() {
            self.bind(sid, &snapshot, |b| Self::bind_checks(b, child))?
                .0
        } else {
            Vec::new()
        };
        let mut dml = DmlExec {
            kind: DmlKind::Insert(None),
            table: Rc::new(child.clone()),
            indexes: self.table_indexes(child),
            rows: Vec::new(),
            pos: 0,
            returning: None,
            out: Vec::new(),
            count: 0,
            snapshot,
            cid: self.current_cid(sid),
            params: Vec::new(),
            checks,
            cte_plans: Vec::new(),
        };
        let cid = dml.cid;
        let heap = Heap::open(child.heap);
        match replacement {
            None => heap.update_header(&mut self.pager, tid, |h| {
                h.xmax = xid;
                h.cmax = cid;
                h.flags &= !(flags::XMAX_LOCK_ONLY | flags::UPDATED);
            })?,
            Some(new_row) => {
                self.check_row(sid, &mut dml, &new_row)?;
                match self.check_unique(sid, &dml, &new_row, Some(tid))? {
                    UniqueCheck::Ok => {}
                    UniqueCheck::Wait(h) => return Ok(Some(h)),
                    UniqueCheck::Conflict(idx, _) => {
                        return Err(self.unique_violation(sid, child, &idx, &new_row))
                    }
                }
                let new_tid = self.insert_row(&dml, xid, &new_row)?;
                heap.update_header(&mut self.pager, tid, |h| {
                    h.xmax = xid;
                    h.cmax = cid;
                    h.ctid = new_tid;
                    h.flags = (h.flags & !flags::XMAX_LOCK_ONLY) | flags::UPDATED;
                })?;
            }
        }
        *self.dead_counts.entry(child.oid).or_default() += 1;
        Ok(None)
    }

    // ---- vacuum -------------------------------------------------------

    /// Snapshots still in use: REPEATABLE READ transactions' and those of
    /// parked statements.
    fn live_snapshots(&self) -> Vec<Snapshot> {
        let mut out = Vec::new();
        for s in self.sessions.values() {
            if let Some(snap) = s.txn.as_ref().and_then(|t| t.snapshot.as_ref()) {
                out.push(snap.clone());
            }
            if let Some(d) = s.pending.as_ref().and_then(|p| p.dml.as_ref()) {
                out.push(d.snapshot.clone());
            }
        }
        out
    }

    /// Can no transaction, now or later, see this version?
    fn dead_to_all(&mut self, h: &TupleHeader, snapshots: &[Snapshot]) -> Result<bool> {
        match self.txns.status(&mut self.pager, h.xmin)? {
            XidStatus::Aborted => return Ok(true),
            XidStatus::InProgress => return Ok(false),
            XidStatus::Committed => {}
        }
        if h.xmax == 0 || h.flags & flags::XMAX_LOCK_ONLY != 0 {
            return Ok(false);
        }
        if self.txns.status(&mut self.pager, h.xmax)? != XidStatus::Committed {
            return Ok(false);
        }
        for snap in snapshots {
            if !snap.sees_commit_of(&self.txns, &mut self.pager, h.xmax)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// VACUUM: removes dead row versions (and their index entries) from the
    /// named tables (all tables when empty), then dead catalog rows,
    /// freeing the storage of dropped tables and indexes.
    fn vacuum(&mut self, sid: SessionId, names: &[String]) -> Result<u64> {
        let snapshots = self.live_snapshots();
        let mut tables = Vec::new();
        for o in self.catalog_entries_all() {
            if let Object::Table(t) = &*o {
                if names.is_empty() || names.contains(&t.name) {
                    tables.push(t.clone());
                }
            }
        }
        for n in names {
            if !tables.iter().any(|t| &t.name == n) {
                return Err(Error::Sql(plan::undefined_table(n)));
            }
        }
        let _ = sid;
        let mut removed = 0;
        for t in &tables {
            removed += self.vacuum_table(t, &snapshots)?;
        }
        if names.is_empty() {
            removed += self.vacuum_catalog(&snapshots)?;
        }
        self.pager.commit(false)?;
        Ok(removed)
    }

    fn vacuum_table(&mut self, table: &TableDef, snapshots: &[Snapshot]) -> Result<u64> {
        let indexes = self.table_indexes(table);
        let heap = Heap::open(table.heap);
        let mut page = heap.first_page(&mut self.pager)?;
        let mut removed = 0;
        while page != 0 {
            let (tuples, next) = heap.scan_page(&mut self.pager, page)?;
            for t in tuples {
                if !self.dead_to_all(&t.header, snapshots)? {
                    continue;
                }
                // Index entries first: a freed slot may be reused.
                if let Ok(row) = exec::decode_table_row(table, &t.payload) {
                    for idx in &indexes {
                        let key = index_key(idx, &row)?;
                        Index::open(idx.btree).delete_entry(&mut self.pager, &key, t.tid)?;
                    }
                }
                let meta = table.heap;
                self.heaps
                    .entry(meta)
                    .or_insert_with(|| Heap::open(meta))
                    .remove(&mut self.pager, t.tid)?;
                removed += 1;
            }
            page = next;
        }
        self.dead_counts.remove(&table.oid);
        Ok(removed)
    }

    fn vacuum_catalog(&mut self, snapshots: &[Snapshot]) -> Result<u64> {
        let entries: Vec<crate::catalog::Entry> = self.catalog.all_entries().to_vec();
        let mut removed = 0;
        for e in &entries {
            if !self.dead_to_all(&e.header, snapshots)? {
                continue;
            }
            // Storage is freed when no surviving version uses it.
            let survivors = |f: &dyn Fn(&Object) -> bool| {
                entries.iter().any(|o| o.tid != e.tid && f(&o.object))
            };
            match &*e.object {
                Object::Table(t) => {
                    let heap_meta = t.heap;
                    let shared =
                        survivors(&|o| matches!(o, Object::Table(x) if x.heap == heap_meta));
                    if !shared {
                        self.heaps.remove(&heap_meta);
                        Heap::open(heap_meta).destroy(&mut self.pager)?;
                    }
                }
                Object::Index(i) => {
                    let tree = i.btree;
                    let shared = survivors(&|o| matches!(o, Object::Index(x) if x.btree == tree));
                    if !shared {
                        Index::open(tree).destroy(&mut self.pager)?;
                    }
                }
                Object::Sequence(s) => {
                    let page = s.page;
                    let shared = survivors(&|o| matches!(o, Object::Sequence(x) if x.page == page));
                    if !shared {
                        self.pager.free(page)?;
                    }
                }
            }
            self.catalog.remove(&mut self.pager, e.tid)?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Autovacuum: after a statement, vacuums tables whose dead versions
    /// passed the threshold (50 + 20% of the rows written, as PostgreSQL's
    /// defaults), so table size stays bounded under steady updates.
    fn autovacuum(&mut self) -> Result<()> {
        let due: Vec<Oid> = self
            .dead_counts
            .iter()
            .filter(|(o, &n)| n >= 50 + self.insert_counts.get(o).copied().unwrap_or(0) / 5)
            .map(|(o, _)| *o)
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        let snapshots = self.live_snapshots();
        for oid in due {
            let table = self
                .catalog_entries_all()
                .into_iter()
                .find_map(|o| match &*o {
                    Object::Table(t) if t.oid == oid => Some(t.clone()),
                    _ => None,
                });
            match table {
                Some(t) => {
                    self.vacuum_table(&t, &snapshots)?;
                }
                None => {
                    self.dead_counts.remove(&oid);
                }
            }
        }
        Ok(())
    }

    // ---- DML ----------------------------------------------------------

    fn table_for_dml(
        &mut self,
        sid: SessionId,
        name: &ast::Name,
        verb: &str,
    ) -> Result<(Rc<TableDef>, Vec<Rc<IndexDef>>)> {
        system::refuse_write(name, verb)?;
        let tname = name.last().cloned().unwrap_or_default();
        let entry = self
            .lookup(sid, &tname)?
            .ok_or_else(|| plan::undefined_table(&tname))?;
        let Object::Table(t) = &*entry.object else {
            return Err(sql_err(
                SqlState::WRONG_OBJECT_TYPE,
                format!("\"{tname}\" is not a table"),
            ));
        };
        let table = Rc::new(t.clone());
        self.lock_relation(sid, &table, RelLock::RowExclusive)?;
        let indexes = self.table_indexes(&table);
        Ok((table, indexes))
    }

    /// Bound CHECK constraints of `table` (over a table row).
    fn bind_checks(binder: &mut Binder, table: &TableDef) -> PlanResult<Vec<(String, BExpr)>> {
        let scope = table_scope(table, &table.name, &[]);
        let mut out = Vec::new();
        for c in &table.checks {
            let e = translate::parse_expr(&c.expr)?;
            out.push((c.name.clone(), binder.bind_expr(&e, &scope)?.0));
        }
        Ok(out)
    }

    /// The unique index named by ON CONFLICT (None: any unique index).
    fn conflict_arbiter(
        table: &TableDef,
        indexes: &[Rc<IndexDef>],
        ins: &ast::Insert,
    ) -> Result<Option<Oid>> {
        let Some(oc) = &ins.on_conflict else {
            return Ok(None);
        };
        if oc.target.is_empty() && oc.constraint.is_none() {
            if matches!(oc.action, ast::ConflictAction::Update { .. }) {
                return Err(Error::Sql(
                    SqlError::new(
                        SqlState::SYNTAX_ERROR,
                        "ON CONFLICT DO UPDATE requires inference specification or constraint name",
                    )
                    .with_hint("For example, ON CONFLICT (column_name)."),
                ));
            }
            return Ok(None);
        }
        let found = match &oc.constraint {
            Some(name) => indexes.iter().find(|i| i.unique && &i.name == name),
            None => {
                let mut want = column_positions(table, &oc.target)?;
                want.sort_unstable();
                indexes.iter().find(|i| {
                    let mut have = i.columns.clone();
                    have.sort_unstable();
                    i.unique && have == want
                })
            }
        };
        found.map(|i| Some(i.oid)).ok_or_else(|| {
            sql_err(
                SqlState::INVALID_COLUMN_REFERENCE,
                "there is no unique or exclusion constraint matching the ON CONFLICT specification",
            )
        })
    }

    /// ON CONFLICT action, bound over `existing row ++ excluded row`.
    fn bind_conflict(
        b: &mut Binder,
        table: &TableDef,
        ins: &ast::Insert,
    ) -> PlanResult<Option<ConflictDo>> {
        Ok(match ins.on_conflict.as_ref().map(|c| &c.action) {
            None => None,
            Some(ast::ConflictAction::Nothing) => Some(ConflictDo::Nothing),
            Some(ast::ConflictAction::Update {
                assignments,
                selection,
            }) => {
                let mut scope =
                    table_scope(table, ins.alias.as_deref().unwrap_or(&table.name), &[]);
                scope.cols.extend(table_scope(table, "excluded", &[]).cols);
                let mut bound = Vec::new();
                for a in assignments {
                    let i = table.column(&a.column).ok_or_else(|| {
                        SqlError::new(
                            SqlState::UNDEFINED_COLUMN,
                            format!(
                                "column \"{}\" of relation \"{}\" does not exist",
                                a.column, table.name
                            ),
                        )
                    })?;
                    bound.push((i, b.bind_typed(&a.value, &scope, &table.columns[i].ty)?.0));
                }
                let pred = match selection {
                    Some(w) => Some(b.bind_typed(w, &scope, &DataType::Bool)?.0),
                    None => None,
                };
                Some(ConflictDo::Update {
                    assignments: bound,
                    pred,
                })
            }
        })
    }

    /// Bound defaults, one per stored column (NULL when none).
    fn bind_defaults(binder: &mut Binder, table: &TableDef) -> PlanResult<Vec<BExpr>> {
        let empty = Scope::default();
        let mut out = Vec::new();
        for c in &table.columns {
            out.push(match (&c.default, c.dropped) {
                (Some(d), false) => {
                    let e = translate::parse_expr(d)?;
                    let (b, _) = binder.bind_typed(&e, &empty, &c.ty)?;
                    BExpr::Cast(Box::new(b), c.ty.clone())
                }
                _ => BExpr::Const(Value::Null),
            });
        }
        Ok(out)
    }

    fn start_insert(
        &mut self,
        sid: SessionId,
        ins: &ast::Insert,
        params: &[Value],
    ) -> Result<Step> {
        let (table, indexes) = self.table_for_dml(sid, &ins.table, "insert into")?;
        let arbiter = Self::conflict_arbiter(&table, &indexes, ins)?;
        // Target columns, in the order the source provides them.
        let mut targets: Vec<usize> = if ins.columns.is_empty() {
            table.live_columns().map(|(i, _)| i).collect()
        } else {
            let mut t = Vec::new();
            for c in &ins.columns {
                let i = table.column(c).ok_or_else(|| {
                    sql_err(
                        SqlState::UNDEFINED_COLUMN,
                        format!(
                            "column \"{c}\" of relation \"{}\" does not exist",
                            table.name
                        ),
                    )
                })?;
                if t.contains(&i) {
                    return Err(sql_err(
                        SqlState::DUPLICATE_COLUMN,
                        format!("column \"{c}\" specified more than once"),
                    ));
                }
                t.push(i);
            }
            t
        };
        for &i in &targets {
            if table.columns[i].identity == Some(IdentityKind::Always) {
                return Err(Error::Sql(
                    SqlError::new(
                        SqlState("428C9"),
                        format!(
                            "cannot insert a non-DEFAULT value into column \"{}\"",
                            table.columns[i].name
                        ),
                    )
                    .with_detail(format!(
                        "Column \"{}\" is an identity column defined as GENERATED ALWAYS.",
                        table.columns[i].name
                    ))
                    .with_hint("Use OVERRIDING SYSTEM VALUE to override."),
                ));
            }
        }
        // Without a column list, a shorter row fills the leading columns and
        // the rest take their defaults.
        if ins.columns.is_empty() {
            if let ast::InsertSource::Query(q) = &ins.source {
                if let ast::SetExpr::Values(rows) = &q.body {
                    let width = rows.first().map_or(0, |r| r.len());
                    targets.truncate(width.max(1).min(targets.len()));
                }
            }
        }
        let snapshot = self.statement_snapshot(sid);
        let target_types: Vec<DataType> = targets
            .iter()
            .map(|&i| table.columns[i].ty.clone())
            .collect();
        let table_c = table.clone();
        let ((source, defaults, checks, returning, conflict_action), cte_plans, _) =
            self.bind(sid, &snapshot, |b| {
                let conflict_action = Self::bind_conflict(b, &table_c, ins)?;
                let source = match &ins.source {
                    ast::InsertSource::DefaultValues => Plan::Unit,
                    ast::InsertSource::Query(q) => match &q.body {
                        ast::SetExpr::Values(rows)
                            if q.order_by.is_empty() && q.limit.is_none() && q.ctes.is_empty() =>
                        {
                            b.bind_values(rows, Some(&target_types))?.0
                        }
                        _ => b.bind_query(q)?.0,
                    },
                };
                let width = plan::plan_columns(&source, &b.cte_plans).len();
                if !matches!(ins.source, ast::InsertSource::DefaultValues) && width != targets.len()
                {
                    return Err(SqlError::new(
                        SqlState::SYNTAX_ERROR,
                        if width > targets.len() {
                            "INSERT has more expressions than target columns"
                        } else {
                            "INSERT has more target columns than expressions"
                        },
                    ));
                }
                let defaults = Self::bind_defaults(b, &table_c)?;
                let checks = Self::bind_checks(b, &table_c)?;
                let returning = if ins.returning.is_empty() {
                    None
                } else {
                    let scope =
                        table_scope(&table_c, ins.alias.as_deref().unwrap_or(&table_c.name), &[]);
                    Some(b.bind_items(&ins.returning, &scope)?)
                };
                Ok((source, defaults, checks, returning, conflict_action))
            })?;
        let on_conflict = conflict_action.map(|action| ConflictSpec { arbiter, action });
        // Per-target defaults for DEFAULT in VALUES.
        let target_defaults: Rc<Vec<BExpr>> =
            Rc::new(targets.iter().map(|&i| defaults[i].clone()).collect());
        let source = self.optimize(source);
        let all_defaults = defaults.clone();
        let table_r = table.clone();
        let rows = self.with_env(
            sid,
            &snapshot,
            params,
            &cte_plans,
            Some(target_defaults),
            |env| {
                let src = run(&source, env)?;
                let mut out = Vec::with_capacity(src.len());
                for r in src {
                    let mut row: Row = vec![Value::Null; table_r.columns.len()];
                    let mut given = vec![false; table_r.columns.len()];
                    for (k, &i) in targets.iter().enumerate() {
                        if matches!(ins.source, ast::InsertSource::DefaultValues) {
                            break;
                        }
                        let v = r.get(k).cloned().unwrap_or(Value::Null);
                        row[i] = cast_assignment(v, &table_r.columns[i].ty, env.tz)?;
                        given[i] = true;
                    }
                    for (i, d) in all_defaults.iter().enumerate() {
                        if !given[i] && !table_r.columns[i].dropped {
                            row[i] = eval(d, &[], env)?;
                        }
                    }
                    out.push(row);
                }
                Ok(out)
            },
        )?;
        let dml = DmlExec {
            kind: DmlKind::Insert(on_conflict),
            table,
            indexes,
            rows,
            pos: 0,
            returning,
            out: Vec::new(),
            count: 0,
            snapshot,
            cid: self.current_cid(sid),
            params: params.to_vec(),
            checks,
            cte_plans,
        };
        self.continue_dml(sid, dml)
    }

    fn start_update(&mut self, sid: SessionId, up: &ast::Update, params: &[Value]) -> Result<Step> {
        let (table, indexes) = self.table_for_dml(sid, &up.table, "update")?;
        let snapshot = self.statement_snapshot(sid);
        let label = up.alias.clone().unwrap_or_else(|| table.name.clone());
        let table_c = table.clone();
        let ((plan, assignments, pred, checks, returning), cte_plans, _) =
            self.bind(sid, &snapshot, |b| {
                let (plan, scope) = dml_input(b, &table_c, &label, &up.from)?;
                let mut assignments = Vec::new();
                for a in &up.assignments {
                    let i = table_c.column(&a.column).ok_or_else(|| {
                        SqlError::new(
                            SqlState::UNDEFINED_COLUMN,
                            format!(
                                "column \"{}\" of relation \"{}\" does not exist",
                                a.column, table_c.name
                            ),
                        )
                    })?;
                    if table_c.columns[i].identity == Some(IdentityKind::Always)
                        && a.value != Expr::Default
                    {
                        return Err(SqlError::new(
                            SqlState("428C9"),
                            format!("column \"{}\" can only be updated to DEFAULT", a.column),
                        )
                        .with_detail(format!(
                            "Column \"{}\" is an identity column defined as GENERATED ALWAYS.",
                            a.column
                        )));
                    }
                    let ty = table_c.columns[i].ty.clone();
                    let e = match &a.value {
                        Expr::Default => {
                            let defaults = Self::bind_defaults(b, &table_c)?;
                            defaults[i].clone()
                        }
                        v => b.bind_typed(v, &scope, &ty)?.0,
                    };
                    assignments.push((i, e));
                }
                let pred = match &up.selection {
                    Some(w) => {
                        let (p, t) = b.bind_typed(w, &scope, &DataType::Bool)?;
                        plan::bool_type_check(&t, "WHERE")?;
                        Some(p)
                    }
                    None => None,
                };
                let checks = Self::bind_checks(b, &table_c)?;
                let returning = if up.returning.is_empty() {
                    None
                } else {
                    Some(b.bind_items(&up.returning, &scope)?)
                };
                Ok((plan, assignments, pred, checks, returning))
            })?;
        let plan = match &pred {
            Some(p) => Plan::Filter {
                input: Box::new(plan),
                pred: p.clone(),
            },
            None => plan,
        };
        let plan = self.optimize(plan);
        let rows = self.with_env(sid, &snapshot, params, &cte_plans, None, |env| {
            run(&plan, env)
        })?;
        let dml = DmlExec {
            kind: DmlKind::Update { assignments, pred },
            table,
            indexes,
            rows,
            pos: 0,
            returning,
            out: Vec::new(),
            count: 0,
            snapshot,
            cid: self.current_cid(sid),
            params: params.to_vec(),
            checks,
            cte_plans,
        };
        self.continue_dml(sid, dml)
    }

    fn start_delete(
        &mut self,
        sid: SessionId,
        del: &ast::Delete,
        params: &[Value],
    ) -> Result<Step> {
        let (table, indexes) = self.table_for_dml(sid, &del.table, "delete from")?;
        let snapshot = self.statement_snapshot(sid);
        let label = del.alias.clone().unwrap_or_else(|| table.name.clone());
        let table_c = table.clone();
        let ((plan, pred, returning), cte_plans, _) = self.bind(sid, &snapshot, |b| {
            let (plan, scope) = dml_input(b, &table_c, &label, &del.using)?;
            let pred = match &del.selection {
                Some(w) => {
                    let (p, t) = b.bind_typed(w, &scope, &DataType::Bool)?;
                    plan::bool_type_check(&t, "WHERE")?;
                    Some(p)
                }
                None => None,
            };
            let returning = if del.returning.is_empty() {
                None
            } else {
                Some(b.bind_items(&del.returning, &scope)?)
            };
            Ok((plan, pred, returning))
        })?;
        let plan = match &pred {
            Some(p) => Plan::Filter {
                input: Box::new(plan),
                pred: p.clone(),
            },
            None => plan,
        };
        let plan = self.optimize(plan);
        let rows = self.with_env(sid, &snapshot, params, &cte_plans, None, |env| {
            run(&plan, env)
        })?;
        let dml = DmlExec {
            kind: DmlKind::Delete { pred },
            table,
            indexes,
            rows,
            pos: 0,
            returning,
            out: Vec::new(),
            count: 0,
            snapshot,
            cid: self.current_cid(sid),
            params: params.to_vec(),
            checks: Vec::new(),
            cte_plans,
        };
        self.continue_dml(sid, dml)
    }

    /// Applies a DML statement's rows from `pos` on; parks on a held row.
    fn continue_dml(&mut self, sid: SessionId, mut dml: DmlExec) -> Result<Step> {
        let xid = self.write_xid(sid)?;
        while dml.pos < dml.rows.len() {
            match self.apply_one(sid, xid, &mut dml)? {
                Some(holder) => return Ok(Step::Parked(Box::new(dml), holder)),
                None => dml.pos += 1,
            }
            if matches!(dml.kind, DmlKind::Lock { restart: true, .. }) {
                break;
            }
        }
        if let DmlKind::Lock {
            query,
            columns,
            restarts,
            restart,
            ..
        } = &mut dml.kind
        {
            if *restart {
                let (query, restarts) = (query.clone(), *restarts);
                let params = dml.params.clone();
                return self.start_locking_query(sid, &query, &params, restarts + 1);
            }
            return Ok(Step::Done(QueryResult {
                command: format!("SELECT {}", dml.count),
                columns: std::mem::take(columns),
                rows: std::mem::take(&mut dml.out),
                rows_affected: dml.count,
                copy: None,
            }));
        }
        let oid = dml.table.oid;
        match dml.kind {
            DmlKind::Insert(_) => *self.insert_counts.entry(oid).or_default() += dml.count,
            _ => *self.dead_counts.entry(oid).or_default() += dml.count,
        }
        let tag = match dml.kind {
            DmlKind::Insert(_) => format!("INSERT 0 {}", dml.count),
            DmlKind::Update { .. } => format!("UPDATE {}", dml.count),
            DmlKind::Delete { .. } | DmlKind::Lock { .. } => format!("DELETE {}", dml.count),
        };
        let (columns, rows) = match dml.returning {
            Some((_, cols)) => (cols, std::mem::take(&mut dml.out)),
            None => (Vec::new(), Vec::new()),
        };
        Ok(Step::Done(QueryResult {
            command: tag,
            columns,
            rows,
            rows_affected: dml.count,
            copy: None,
        }))
    }

    /// Applies row `dml.pos`. Returns the session to wait for, if any.
    fn apply_one(
        &mut self,
        sid: SessionId,
        xid: Xid,
        dml: &mut DmlExec,
    ) -> Result<Option<SessionId>> {
        let ncols = dml.table.columns.len();
        match &dml.kind {
            DmlKind::Insert(_) => {
                let row = dml.rows[dml.pos].clone();
                self.check_row(sid, dml, &row)?;
                let (idx, existing) = match self.check_unique(sid, dml, &row, None)? {
                    UniqueCheck::Ok => {
                        let table = dml.table.clone();
                        if let Some(holder) = self.check_fk_parents(sid, &table, &row, None)? {
                            return Ok(Some(holder));
                        }
                        self.insert_row(dml, xid, &row)?;
                        dml.count += 1;
                        self.emit_returning(sid, dml, &row)?;
                        return Ok(None);
                    }
                    UniqueCheck::Wait(holder) => return Ok(Some(holder)),
                    UniqueCheck::Conflict(idx, tid) => (idx, tid),
                };
                let conflict = match &dml.kind {
                    DmlKind::Insert(Some(c)) if c.arbiter.is_none_or(|o| o == idx.oid) => {
                        Some(&c.action)
                    }
                    _ => None,
                };
                let (assignments, pred) = match conflict {
                    Some(ConflictDo::Nothing) => return Ok(None),
                    Some(ConflictDo::Update { assignments, pred }) => {
                        (assignments.clone(), pred.clone())
                    }
                    None => return Err(self.unique_violation(sid, &dml.table, &idx, &row)),
                };
                self.upsert(sid, xid, dml, existing, row, &assignments, pred.as_ref())
            }
            DmlKind::Lock { wait, .. } => {
                let wait = *wait;
                let mut row = dml.rows[dml.pos].clone();
                let tid = row
                    .pop()
                    .as_ref()
                    .and_then(value_tid)
                    .ok_or_else(|| sql_err(SqlState::INTERNAL_ERROR, "missing ctid"))?;
                let heap = Heap::open(dml.table.heap);
                let Some(h) = heap.header(&mut self.pager, tid)? else {
                    return Ok(None);
                };
                let own = self.sessions[&sid]
                    .txn
                    .as_ref()
                    .is_some_and(|t| t.own.contains(&h.xmax));
                let free = if h.xmax == 0 || own {
                    true
                } else {
                    match self.txns.status(&mut self.pager, h.xmax)? {
                        XidStatus::Aborted => true,
                        XidStatus::Committed if h.flags & flags::XMAX_LOCK_ONLY != 0 => true,
                        XidStatus::InProgress => match (wait, self.xid_owner.get(&h.xmax).copied())
                        {
                            (_, None) => true,
                            (ast::LockWait::Wait, Some(owner)) => return Ok(Some(owner)),
                            (ast::LockWait::SkipLocked, Some(_)) => return Ok(None),
                            (ast::LockWait::NoWait, Some(_)) => {
                                return Err(sql_err(
                                    SqlState::LOCK_NOT_AVAILABLE,
                                    format!(
                                        "could not obtain lock on row in relation \"{}\"",
                                        dml.table.name
                                    ),
                                ))
                            }
                        },
                        XidStatus::Committed => {
                            // Changed by a transaction our snapshot does not see.
                            let rc = self.sessions[&sid]
                                .txn
                                .as_ref()
                                .is_none_or(|t| t.isolation == IsolationLevel::ReadCommitted);
                            if !rc {
                                return Err(sql_err(
                                    SqlState::SERIALIZATION_FAILURE,
                                    "could not serialize access due to concurrent update",
                                ));
                            }
                            if let DmlKind::Lock { restart, .. } = &mut dml.kind {
                                *restart = true;
                            }
                            return Ok(None);
                        }
                    }
                };
                if free && !own {
                    let cid = dml.cid;
                    heap.update_header(&mut self.pager, tid, |h| {
                        h.xmax = xid;
                        h.cmax = cid;
                        h.flags = (h.flags | flags::XMAX_LOCK_ONLY) & !flags::UPDATED;
                    })?;
                }
                dml.out.push(row);
                dml.count += 1;
                Ok(None)
            }
            DmlKind::Update { .. } | DmlKind::Delete { .. } => {
                let input = dml.rows[dml.pos].clone();
                let tid = value_tid(&input[ncols])
                    .ok_or_else(|| sql_err(SqlState::INTERNAL_ERROR, "missing ctid"))?;
                // Lock the row version (following updates under READ COMMITTED).
                let (tid, input) = match self.lock_row(sid, dml, tid, input)? {
                    LockOutcome::Locked(tid, input) => (tid, input),
                    LockOutcome::Wait(holder) => return Ok(Some(holder)),
                    LockOutcome::Skip => return Ok(None),
                };
                let heap = Heap::open(dml.table.heap);
                let cid = dml.cid;
                if let DmlKind::Update { assignments, .. } = &mut dml.kind {
                    // Lent out of `dml` for the evaluation (no per-row copy).
                    let assignments = std::mem::take(assignments);
                    let mut new_row: Row = input[..ncols].to_vec();
                    let tz = self.session_tz(sid);
                    let computed = self.with_dml_env(sid, dml, |env| {
                        let mut vals = Vec::new();
                        for (i, e) in &assignments {
                            vals.push((*i, eval(e, &input, env)?));
                        }
                        Ok(vals)
                    });
                    if let DmlKind::Update {
                        assignments: slot, ..
                    } = &mut dml.kind
                    {
                        *slot = assignments;
                    }
                    for (i, v) in computed? {
                        new_row[i] = cast_assignment(v, &dml.table.columns[i].ty, &tz)?;
                    }
                    self.check_row(sid, dml, &new_row)?;
                    match self.check_unique(sid, dml, &new_row, Some(tid))? {
                        UniqueCheck::Ok => {}
                        UniqueCheck::Wait(holder) => return Ok(Some(holder)),
                        UniqueCheck::Conflict(idx, _) => {
                            return Err(self.unique_violation(sid, &dml.table, &idx, &new_row))
                        }
                    }
                    let table = dml.table.clone();
                    let old_row = &input[..ncols];
                    if let Some(holder) =
                        self.check_fk_parents(sid, &table, &new_row, Some(old_row))?
                    {
                        return Ok(Some(holder));
                    }
                    if let Some(holder) =
                        self.enforce_fk_children(sid, xid, &table, old_row, Some(&new_row), 0)?
                    {
                        return Ok(Some(holder));
                    }
                    let new_tid = self.insert_row(dml, xid, &new_row)?;
                    heap.update_header(&mut self.pager, tid, |h| {
                        h.xmax = xid;
                        h.cmax = cid;
                        h.ctid = new_tid;
                        h.flags = (h.flags & !flags::XMAX_LOCK_ONLY) | flags::UPDATED;
                    })?;
                    let mut ret_row = new_row;
                    ret_row.extend_from_slice(&input[ncols..]);
                    dml.count += 1;
                    self.emit_returning(sid, dml, &ret_row)?;
                } else {
                    let table = dml.table.clone();
                    if let Some(holder) =
                        self.enforce_fk_children(sid, xid, &table, &input[..ncols], None, 0)?
                    {
                        return Ok(Some(holder));
                    }
                    heap.update_header(&mut self.pager, tid, |h| {
                        h.xmax = xid;
                        h.cmax = cid;
                        h.flags &= !(flags::XMAX_LOCK_ONLY | flags::UPDATED);
                    })?;
                    dml.count += 1;
                    self.emit_returning(sid, dml, &input)?;
                }
                Ok(None)
            }
        }
    }

    /// ON CONFLICT DO UPDATE of the existing row at `tid` with `proposed`.
    #[allow(clippy::too_many_arguments)]
    fn upsert(
        &mut self,
        sid: SessionId,
        xid: Xid,
        dml: &mut DmlExec,
        tid: Tid,
        proposed: Row,
        assignments: &[(usize, BExpr)],
        pred: Option<&BExpr>,
    ) -> Result<Option<SessionId>> {
        let heap = Heap::open(dml.table.heap);
        let existing = heap
            .fetch(&mut self.pager, tid)?
            .ok_or_else(|| sql_err(SqlState::INTERNAL_ERROR, "conflicting row vanished"))?;
        let own = self.sessions[&sid]
            .txn
            .as_ref()
            .is_some_and(|t| t.own.contains(&existing.header.xmin));
        if own && existing.header.cmin == dml.cid {
            return Err(Error::Sql(
                SqlError::new(
                    SqlState::CARDINALITY_VIOLATION,
                    "ON CONFLICT DO UPDATE command cannot affect row a second time",
                )
                .with_hint("Ensure that no rows proposed for insertion within the same command have duplicate constrained values."),
            ));
        }
        let old = exec::decode_table_row(&dml.table, &existing.payload)?;
        let mut input = old.clone();
        input.extend(proposed);
        let computed = self.with_dml_env(sid, dml, |env| {
            if let Some(p) = pred {
                if !passes(p, &input, env)? {
                    return Ok(None);
                }
            }
            let mut vals = Vec::new();
            for (i, e) in assignments {
                vals.push((*i, eval(e, &input, env)?));
            }
            Ok(Some(vals))
        });
        let Some(vals) = computed? else {
            return Ok(None);
        };
        let tz = self.session_tz(sid);
        let old_row = old.clone();
        let mut new_row = old;
        for (i, v) in vals {
            new_row[i] = cast_assignment(v, &dml.table.columns[i].ty, &tz)?;
        }
        self.check_row(sid, dml, &new_row)?;
        match self.check_unique(sid, dml, &new_row, Some(tid))? {
            UniqueCheck::Ok => {}
            UniqueCheck::Wait(holder) => return Ok(Some(holder)),
            UniqueCheck::Conflict(idx, _) => {
                return Err(self.unique_violation(sid, &dml.table, &idx, &new_row))
            }
        }
        let table = dml.table.clone();
        if let Some(holder) = self.check_fk_parents(sid, &table, &new_row, Some(&old_row))? {
            return Ok(Some(holder));
        }
        if let Some(holder) =
            self.enforce_fk_children(sid, xid, &table, &old_row, Some(&new_row), 0)?
        {
            return Ok(Some(holder));
        }
        let new_tid = self.insert_row(dml, xid, &new_row)?;
        let cid = dml.cid;
        heap.update_header(&mut self.pager, tid, |h| {
            h.xmax = xid;
            h.cmax = cid;
            h.ctid = new_tid;
            h.flags = (h.flags & !flags::XMAX_LOCK_ONLY) | flags::UPDATED;
        })?;
        dml.count += 1;
        self.emit_returning(sid, dml, &new_row)?;
        Ok(None)
    }

    /// The session's `TimeZone` setting (front ends format timestamptz
    /// values with it).
    pub fn session_tz(&self, sid: SessionId) -> TimeZone {
        self.sessions
            .get(&sid)
            .map(|s| s.settings.timezone.clone())
            .unwrap_or_else(TimeZone::utc)
    }

    fn emit_returning(&mut self, sid: SessionId, dml: &mut DmlExec, row: &[Value]) -> Result<()> {
        // Lent out of `dml` for the evaluation (no per-row copy).
        let Some((exprs, cols)) = dml.returning.take() else {
            return Ok(());
        };
        let out = self.with_dml_env(sid, dml, |env| {
            let mut o = Vec::with_capacity(exprs.len());
            for e in &exprs {
                o.push(eval(e, row, env)?);
            }
            Ok(o)
        });
        dml.returning = Some((exprs, cols));
        dml.out.push(out?);
        Ok(())
    }

    /// NOT NULL and CHECK constraints of a new row version.
    fn check_row(&mut self, sid: SessionId, dml: &mut DmlExec, row: &[Value]) -> Result<()> {
        let tz = self.session_tz(sid);
        for (i, c) in dml.table.columns.iter().enumerate() {
            if c.not_null && !c.dropped && row[i].is_null() {
                return Err(Error::Sql(
                    SqlError::new(
                        SqlState::NOT_NULL_VIOLATION,
                        format!(
                            "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                            c.name, dml.table.name
                        ),
                    )
                    .with_detail(failing_row(&dml.table, row, &tz)),
                ));
            }
        }
        if dml.checks.is_empty() {
            return Ok(());
        }
        let checks = std::mem::take(&mut dml.checks);
        let failed = self.with_dml_env(sid, dml, |env| {
            for (name, e) in &checks {
                // CHECK passes unless false (NULL passes).
                if exec::truth(&eval(e, row, env)?) == Some(false) {
                    return Ok(Some(name.clone()));
                }
            }
            Ok(None)
        });
        dml.checks = checks;
        if let Some(name) = failed? {
            return Err(Error::Sql(
                SqlError::new(
                    SqlState::CHECK_VIOLATION,
                    format!(
                        "new row for relation \"{}\" violates check constraint \"{name}\"",
                        dml.table.name
                    ),
                )
                .with_detail(failing_row(&dml.table, row, &tz)),
            ));
        }
        Ok(())
    }

    /// Unique indexes: a committed live row, or one of ours, with the same
    /// key is a violation; an in-progress insert/delete of another
    /// transaction means we must wait for it.
    fn check_unique(
        &mut self,
        sid: SessionId,
        dml: &DmlExec,
        row: &[Value],
        updating: Option<Tid>,
    ) -> Result<UniqueCheck> {
        let heap = Heap::open(dml.table.heap);
        for idx in dml.indexes.iter().filter(|i| i.unique) {
            if row_key_has_null(idx, row) {
                continue;
            }
            let key = index_key(idx, row)?;
            let tids = Index::open(idx.btree).entries_with_key(&mut self.pager, &key)?;
            for tid in tids {
                if Some(tid) == updating {
                    continue;
                }
                let Some(h) = heap.header(&mut self.pager, tid)? else {
                    continue;
                };
                match self.row_liveness(sid, &h)? {
                    Liveness::Dead => {}
                    Liveness::Live => return Ok(UniqueCheck::Conflict(idx.clone(), tid)),
                    Liveness::InFlux(holder) => return Ok(UniqueCheck::Wait(holder)),
                }
            }
        }
        Ok(UniqueCheck::Ok)
    }

    fn unique_violation(
        &self,
        sid: SessionId,
        table: &TableDef,
        idx: &IndexDef,
        row: &[Value],
    ) -> Error {
        let shown = key_detail_values(table, idx, row, &self.session_tz(sid));
        Error::Sql(
            SqlError::new(
                SqlState::UNIQUE_VIOLATION,
                format!(
                    "duplicate key value violates unique constraint \"{}\"",
                    idx.name
                ),
            )
            .with_detail(format!("Key {shown} already exists.")),
        )
    }

    /// Whether a row version counts for uniqueness (a "dirty" look that
    /// sees other transactions' uncommitted work, like PostgreSQL's).
    fn row_liveness(&mut self, sid: SessionId, h: &TupleHeader) -> Result<Liveness> {
        let own = |x: Xid| {
            self.sessions[&sid]
                .txn
                .as_ref()
                .is_some_and(|t| t.own.contains(&x))
        };
        let inserted = if own(h.xmin) {
            true
        } else {
            match self.txns.status(&mut self.pager, h.xmin)? {
                XidStatus::Aborted => return Ok(Liveness::Dead),
                XidStatus::Committed => true,
                XidStatus::InProgress => {
                    return Ok(match self.xid_owner.get(&h.xmin) {
                        Some(&owner) => Liveness::InFlux(owner),
                        None => Liveness::Dead,
                    })
                }
            }
        };
        debug_assert!(inserted);
        if h.xmax == 0 || h.flags & flags::XMAX_LOCK_ONLY != 0 {
            return Ok(Liveness::Live);
        }
        if own(h.xmax) {
            return Ok(Liveness::Dead);
        }
        Ok(match self.txns.status(&mut self.pager, h.xmax)? {
            XidStatus::Committed => Liveness::Dead,
            XidStatus::Aborted => Liveness::Live,
            XidStatus::InProgress => match self.xid_owner.get(&h.xmax) {
                Some(&owner) => Liveness::InFlux(owner),
                None => Liveness::Live,
            },
        })
    }

    /// Inserts a new row version and its index entries.
    fn insert_row(&mut self, dml: &DmlExec, xid: Xid, row: &[Value]) -> Result<Tid> {
        let mut payload = Vec::new();
        encode_row(row, &mut payload);
        let meta = dml.table.heap;
        let heap = self.heaps.entry(meta).or_insert_with(|| Heap::open(meta));
        let tid = heap.insert(&mut self.pager, TupleHeader::new(xid, dml.cid), &payload)?;
        if dml.table.foreign_keys.iter().any(|f| f.initially_deferred) {
            if let Some(t) = self
                .sessions
                .values_mut()
                .find_map(|s| s.txn.as_mut().filter(|t| t.own.contains(&xid)))
            {
                t.deferred_fk_rows.push((dml.table.oid, tid));
            }
        }
        for idx in &dml.indexes {
            let key = index_key(idx, row)?;
            Index::open(idx.btree).insert_entry(&mut self.pager, &key, tid)?;
        }
        Ok(tid)
    }

    /// Takes the row version at `tid` for update/delete by this statement.
    fn lock_row(
        &mut self,
        sid: SessionId,
        dml: &mut DmlExec,
        tid: Tid,
        input: Row,
    ) -> Result<LockOutcome> {
        let heap = Heap::open(dml.table.heap);
        let mut tid = tid;
        let mut input = input;
        let ncols = dml.table.columns.len();
        for _ in 0..10_000 {
            let Some(h) = heap.header(&mut self.pager, tid)? else {
                return Ok(LockOutcome::Skip);
            };
            let own = self.sessions[&sid]
                .txn
                .as_ref()
                .is_some_and(|t| t.own.contains(&h.xmax));
            if h.xmax == 0 || own {
                if own && h.flags & flags::XMAX_LOCK_ONLY == 0 && h.cmax >= dml.cid {
                    // Already changed by this very statement.
                    return Ok(LockOutcome::Skip);
                }
                return Ok(LockOutcome::Locked(tid, input));
            }
            match self.txns.status(&mut self.pager, h.xmax)? {
                XidStatus::Aborted => return Ok(LockOutcome::Locked(tid, input)),
                XidStatus::InProgress => {
                    return Ok(match self.xid_owner.get(&h.xmax) {
                        Some(&owner) => LockOutcome::Wait(owner),
                        None => LockOutcome::Locked(tid, input),
                    })
                }
                XidStatus::Committed => {
                    if h.flags & flags::XMAX_LOCK_ONLY != 0 {
                        return Ok(LockOutcome::Locked(tid, input));
                    }
                    let isolation = self.sessions[&sid]
                        .txn
                        .as_ref()
                        .map(|t| t.isolation)
                        .unwrap_or(IsolationLevel::ReadCommitted);
                    if isolation != IsolationLevel::ReadCommitted {
                        return Err(sql_err(
                            SqlState::SERIALIZATION_FAILURE,
                            "could not serialize access due to concurrent update",
                        ));
                    }
                    if h.flags & flags::UPDATED == 0 || h.ctid == tid {
                        // Deleted: nothing left to change.
                        return Ok(LockOutcome::Skip);
                    }
                    // READ COMMITTED: re-check the newest version.
                    tid = h.ctid;
                    let Some(t) = heap.fetch(&mut self.pager, tid)? else {
                        return Ok(LockOutcome::Skip);
                    };
                    let status = self.txns.status(&mut self.pager, t.header.xmin)?;
                    if status != XidStatus::Committed {
                        return Ok(LockOutcome::Skip);
                    }
                    let fresh = exec::decode_table_row(&dml.table, &t.payload)?;
                    let mut row = fresh;
                    row.push(exec::tid_value(tid));
                    row.extend_from_slice(&input[ncols + 1..]);
                    let pred = match &dml.kind {
                        DmlKind::Update { pred, .. } | DmlKind::Delete { pred } => pred.clone(),
                        DmlKind::Insert(_) | DmlKind::Lock { .. } => None,
                    };
                    if let Some(p) = pred {
                        let ok = self.with_dml_env(sid, dml, |env| passes(&p, &row, env));
                        if !ok? {
                            return Ok(LockOutcome::Skip);
                        }
                    }
                    input = row;
                }
            }
        }
        Err(sql_err(SqlState::INTERNAL_ERROR, "update chain too long"))
    }
}

enum Liveness {
    Dead,
    Live,
    InFlux(SessionId),
}

enum LockOutcome {
    Locked(Tid, Row),
    Wait(SessionId),
    Skip,
}

fn serializable_unsupported() -> Error {
    sql_err(
        SqlState::FEATURE_NOT_SUPPORTED,
        "SERIALIZABLE isolation is not supported yet; use REPEATABLE READ",
    )
}

/// A time setting (statement_timeout) in milliseconds: a number of
/// milliseconds or a number with a unit (`us`, `ms`, `s`, `min`, `h`, `d`),
/// rounded as PostgreSQL does; None when malformed or negative.
fn parse_duration_ms(text: &str) -> Option<i64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let factor = match unit.trim() {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1_000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    let ms = (n * factor).round();
    (ms.is_finite() && (0.0..=i32::MAX as f64).contains(&ms)).then_some(ms as i64)
}

/// SHOW's form of a millisecond setting: the largest unit that divides it.
fn format_duration_ms(ms: i64) -> String {
    if ms == 0 {
        return "0".into();
    }
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("min", 60_000),
        ("s", 1_000),
    ] {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

pub const SERVER_VERSION: &str = "15.0 (NeuralDB 0.1.0)";

fn unreachable_control() -> QueryResult {
    // Transaction control is handled before dispatch.
    QueryResult::tag("")
}

/// Makes a single-table query plan also output each row's TID (last
/// column). `None` for shapes FOR UPDATE does not allow.
fn with_row_ids(plan: Plan, ncols: usize) -> Option<Plan> {
    Some(match plan {
        Plan::SeqScan { table, filter, .. } => Plan::SeqScan {
            table,
            filter,
            with_tid: true,
        },
        Plan::IndexScan {
            table,
            index,
            bounds,
            reverse,
            filter,
            stop_after,
            ..
        } => Plan::IndexScan {
            table,
            index,
            bounds,
            reverse,
            filter,
            with_tid: true,
            stop_after,
        },
        Plan::Filter { input, pred } => Plan::Filter {
            input: Box::new(with_row_ids(*input, ncols)?),
            pred,
        },
        Plan::Project {
            input,
            mut exprs,
            mut columns,
        } => {
            exprs.push(BExpr::Col(ncols));
            columns.push(Column {
                name: "ctid".into(),
                ty: DataType::Int8,
            });
            Plan::Project {
                input: Box::new(with_row_ids(*input, ncols)?),
                exprs,
                columns,
            }
        }
        Plan::Sort { input, keys } => Plan::Sort {
            input: Box::new(with_row_ids(*input, ncols)?),
            keys,
        },
        Plan::Limit {
            input,
            limit,
            offset,
        } => Plan::Limit {
            input: Box::new(with_row_ids(*input, ncols)?),
            limit,
            offset,
        },
        // Hidden ORDER BY columns sit between the visible ones and the TID.
        Plan::Truncate { input, keep } => {
            let input = with_row_ids(*input, ncols)?;
            let cols = plan::plan_columns(&input, &[]);
            let tid = cols.len().checked_sub(1)?;
            let picks: Vec<usize> = (0..keep).chain([tid]).collect();
            Plan::Project {
                exprs: picks.iter().map(|&i| BExpr::Col(i)).collect(),
                columns: picks.iter().map(|&i| cols[i].clone()).collect(),
                input: Box::new(input),
            }
        }
        _ => return None,
    })
}

/// FROM clause of UPDATE/DELETE: the target (with its TID) then the others.
fn dml_input(
    b: &mut Binder,
    table: &Rc<TableDef>,
    label: &str,
    from: &[ast::TableRef],
) -> PlanResult<(Plan, Scope)> {
    let mut scope = table_scope(table, label, &[]);
    scope.cols.push(plan::ScopeCol {
        table: Some(label.to_string()),
        name: "ctid".into(),
        ty: DataType::Int8,
        hidden: true,
    });
    let mut plan = Plan::SeqScan {
        table: table.clone(),
        filter: None,
        with_tid: true,
    };
    if !from.is_empty() {
        let (fp, fs) = b.bind_from(from)?;
        scope.cols.extend(fs.cols);
        plan = Plan::NestedLoop {
            left: Box::new(plan),
            right: Box::new(fp),
            kind: plan::JoinType::Inner,
            cond: None,
        };
    }
    Ok((plan, scope))
}

fn column_positions(table: &TableDef, names: &[String]) -> Result<Vec<usize>> {
    names
        .iter()
        .map(|n| {
            table.column(n).ok_or_else(|| {
                sql_err(
                    SqlState::UNDEFINED_COLUMN,
                    format!("column \"{n}\" named in key does not exist"),
                )
            })
        })
        .collect()
}

fn check_name(table: &str, existing: &[CheckDef], con: &ast::TableConstraint) -> String {
    // PostgreSQL: <table>_<column>_check for a one-column check, else
    // <table>_check, numbered when taken.
    let base = match con {
        ast::TableConstraint::Check { expr, .. } => {
            let mut cols = Vec::new();
            collect_columns(expr, &mut cols);
            cols.dedup();
            if cols.len() == 1 {
                format!("{table}_{}_check", cols[0])
            } else {
                format!("{table}_check")
            }
        }
        _ => format!("{table}_check"),
    };
    let mut name = base.clone();
    let mut n = 1;
    while existing.iter().any(|c| c.name == name) {
        name = format!("{base}{n}");
        n += 1;
    }
    name
}

/// Columns of the OID alias types (`regclass`...) are refused: their
/// values are names resolved against the catalog when made, which a
/// stored value would outlive.
fn refuse_reg_column(ty: &DataType) -> Result<()> {
    match ty {
        DataType::Reg(k) => Err(sql_err(
            SqlState::FEATURE_NOT_SUPPORTED,
            format!("columns of type {} are not supported", k.type_name()),
        )),
        DataType::Array(e) => refuse_reg_column(e),
        _ => Ok(()),
    }
}

fn collect_columns(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Column(n) => {
            if let Some(last) = n.last() {
                if !out.contains(last) {
                    out.push(last.clone());
                }
            }
        }
        Expr::Binary { left, right, .. } | Expr::IsDistinctFrom { left, right, .. } => {
            collect_columns(left, out);
            collect_columns(right, out);
        }
        Expr::Unary { expr, .. }
        | Expr::IsNull { expr, .. }
        | Expr::IsBool { expr, .. }
        | Expr::Cast { expr, .. } => collect_columns(expr, out),
        Expr::Between {
            expr, low, high, ..
        } => {
            collect_columns(expr, out);
            collect_columns(low, out);
            collect_columns(high, out);
        }
        Expr::InList { expr, list, .. } => {
            collect_columns(expr, out);
            list.iter().for_each(|x| collect_columns(x, out));
        }
        Expr::Like { expr, pattern, .. } => {
            collect_columns(expr, out);
            collect_columns(pattern, out);
        }
        Expr::Function(f) => f.args.iter().for_each(|x| collect_columns(x, out)),
        _ => {}
    }
}

fn index_key(idx: &IndexDef, row: &[Value]) -> Result<Vec<u8>> {
    let vals: Vec<Value> = idx
        .columns
        .iter()
        .map(|&i| row.get(i).cloned().unwrap_or(Value::Null))
        .collect();
    Ok(encode_index_key(&vals, &idx.desc)?)
}

fn row_key_has_null(idx: &IndexDef, row: &[Value]) -> bool {
    idx.columns
        .iter()
        .any(|&i| row.get(i).is_none_or(|v| v.is_null()))
}

fn key_detail_values(table: &TableDef, idx: &IndexDef, row: &[Value], tz: &TimeZone) -> String {
    let names: Vec<&str> = idx
        .columns
        .iter()
        .map(|&i| table.columns[i].name.as_str())
        .collect();
    let vals: Vec<String> = idx
        .columns
        .iter()
        .map(|&i| row[i].to_pg_text(tz).unwrap_or_else(|| "null".into()))
        .collect();
    format!("({})=({})", names.join(", "), vals.join(", "))
}

fn key_detail(table: &TableDef, idx: &IndexDef, row: &[Value]) -> String {
    key_detail_values(table, idx, row, &TimeZone::utc())
}

fn failing_row(table: &TableDef, row: &[Value], tz: &TimeZone) -> String {
    let vals: Vec<String> = table
        .live_columns()
        .map(|(i, _)| row[i].to_pg_text(tz).unwrap_or_else(|| "null".into()))
        .collect();
    format!("Failing row contains ({}).", vals.join(", "))
}

/// The binder's view of the catalog for one statement.
struct BindCtx<'a> {
    engine: &'a mut Engine,
    sid: SessionId,
    snapshot: &'a Snapshot,
    own: HashSet<Xid>,
    cid: u32,
}

impl BindCtx<'_> {
    /// Runs `f` on the engine with the statement's view of the catalog.
    fn at_viewpoint<T>(
        &mut self,
        f: impl FnOnce(&mut Engine, &system::Viewpoint) -> Result<T>,
    ) -> PlanResult<T> {
        let vp = system::Viewpoint {
            sid: self.sid,
            snapshot: self.snapshot,
            own: &self.own,
            cid: self.cid,
        };
        f(self.engine, &vp).map_err(SqlError::from)
    }

    fn find(&mut self, name: &str) -> PlanResult<Option<Rc<Object>>> {
        let viewer = Viewer {
            snapshot: self.snapshot,
            own: &self.own,
            cid: self.cid + 1,
        };
        let e = self
            .engine
            .catalog
            .lookup(&self.engine.txns, &mut self.engine.pager, &viewer, name)
            .map_err(|e| SqlError::new(e.sqlstate(), e.to_string()))?;
        Ok(e.map(|e| e.object))
    }
}

impl CatalogAccess for BindCtx<'_> {
    fn table(&mut self, name: &str) -> PlanResult<Option<Rc<TableDef>>> {
        Ok(match self.find(name)?.as_deref() {
            Some(Object::Table(t)) => Some(Rc::new(t.clone())),
            _ => None,
        })
    }

    fn indexes(&mut self, table: &TableDef) -> PlanResult<Vec<Rc<IndexDef>>> {
        Ok(self.engine.table_indexes(table))
    }

    fn sequence(&mut self, name: &str) -> PlanResult<Option<Rc<SequenceDef>>> {
        Ok(match self.find(name)?.as_deref() {
            Some(Object::Sequence(s)) => Some(Rc::new(s.clone())),
            _ => None,
        })
    }

    fn session_function(
        &mut self,
        name: &str,
        args: &[Expr],
    ) -> PlanResult<Option<(BExpr, DataType)>> {
        Ok(match (name, args) {
            ("txid_current", []) => {
                let xid = self.engine.write_xid(self.sid).map_err(SqlError::from)?;
                let top = self.engine.sessions[&self.sid]
                    .txn
                    .as_ref()
                    .and_then(|t| t.xids.first().copied())
                    .unwrap_or(xid);
                Some((BExpr::Const(Value::Int8(top as i64)), DataType::Int8))
            }
            ("version", []) => Some((
                BExpr::Const(Value::Text(format!(
                    "PostgreSQL {SERVER_VERSION} on wasm32/native, compiled by rustc"
                ))),
                DataType::Text,
            )),
            ("current_setting", [Expr::UntypedString(s)]) => {
                let v = self
                    .engine
                    .show_variable(self.sid, s)
                    .map_err(SqlError::from)?;
                Some((BExpr::Const(Value::Text(v)), DataType::Text))
            }
            ("pg_backend_pid", []) => {
                Some((BExpr::Const(Value::Int4(self.sid as i32)), DataType::Int4))
            }
            ("current_user" | "session_user" | "user", []) => {
                Some((BExpr::Const(Value::Text("neuraldb".into())), DataType::Text))
            }
            ("current_database", []) => Some((
                BExpr::Const(Value::Text(self.engine.config.database_name.clone())),
                DataType::Text,
            )),
            _ => None,
        })
    }

    fn system_relation(
        &mut self,
        schema: Option<&str>,
        name: &str,
    ) -> PlanResult<Option<plan::SystemRelationRows>> {
        self.at_viewpoint(|engine, vp| engine.system_relation(vp, schema, name))
    }

    fn catalog_info(&mut self) -> PlanResult<crate::sql::functions::catalog::CatalogInfo> {
        self.at_viewpoint(|engine, vp| engine.catalog_info(vp))
    }
}
