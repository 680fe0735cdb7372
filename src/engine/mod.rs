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

use std::collections::HashMap;
use std::rc::Rc;

use crate::util::IdMap;

mod alter;
mod alter_type;
mod bind;
mod build;
mod changefeed;
mod constraints;
mod cursor;
pub use cursor::PORTAL_CURSOR_PREFIX;
mod ddl;
mod dml;
mod dump;
mod generated;
mod index_keys;
mod locking;
mod notify;
mod plan_cache;
mod prepared;
mod rowlock;
mod schemas;
mod session;
mod settings;
mod snapshots;
mod statement;
mod system;
mod twophase;
mod types;
mod vacuum;
mod views;

pub use crate::sql::exec::interrupt::CancelHandle;
use crate::sql::exec::interrupt::{self, Interrupts};
pub use changefeed::FEED_DDL;
pub use dump::RestoreSummary;
pub use notify::{CommitEvent, Notification};
pub use system::DATABASE_OID;

use crate::catalog::{Catalog, Oid};
use crate::engine::session::{Activity, Session, Settings};
use crate::error::{Error, SqlError, SqlState};
use crate::heap::Heap;
use crate::pager::{Pager, PagerConfig};
use crate::sql::exec::Row;
use crate::sql::parse::ast;
use crate::sql::plan::Column;
use crate::storage::{MemoryStorage, Storage};
use crate::txn::TxnManager;
use crate::value::types::DataType;
use crate::value::tz::TimeZone;

pub use crate::txn::SessionId;
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
    /// How long a long statement (CREATE INDEX) runs before it yields to
    /// other sessions ([`Engine::work`] resumes it), in microseconds; 0
    /// yields after every unit of work (a heap page).
    pub slice_micros: i64,
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
            slice_micros: 20_000,
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
    /// The session waits for another transaction, or its statement
    /// yielded to let other sessions run (then [`Engine::work`] resumes
    /// it); its outcome will come from [`Engine::take_completions`].
    Parked,
}

/// Transaction state as clients see it (ReadyForQuery status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnStatus {
    Idle,
    InBlock,
    Failed,
}

/// The database engine. See the module docs.
pub struct Engine {
    pager: Pager,
    txns: TxnManager,
    catalog: Catalog,
    sessions: IdMap<SessionId, Session>,
    next_session: SessionId,
    completions: Vec<(SessionId, Outcome)>,
    /// Sessions whose statement yielded, in the order they resume.
    /// A deadlock victim other than the session that closed the cycle,
    /// failed once that session's wait is recorded (see `Engine::park`).
    deadlock_victim: Option<(SessionId, Error)>,
    runnable: std::collections::VecDeque<SessionId>,
    config: EngineConfig,
    /// Per table since its last vacuum: dead row versions created (updates,
    /// deletes) and rows inserted, to decide when autovacuum is due.
    dead_counts: IdMap<Oid, vacuum::DeadRows>,
    /// Recently parsed statement texts (`session.rs`).
    parse_cache: HashMap<String, Vec<Rc<crate::sql::parse::ast::Statement>>>,
    /// Bound keys and predicates of indexes, by OID (`index_keys.rs`).
    index_key_cache: IdMap<Oid, Rc<crate::sql::plan::index_keys::IndexKeys>>,
    /// Bound generation expressions (`generated.rs`).
    generated_cache: generated::GeneratedCache,
    insert_counts: IdMap<Oid, u64>,
    /// Heap handles by meta page: they carry the free-space hints vacuum
    /// leaves, which inserts reuse.
    heaps: IdMap<crate::pager::PageId, Heap>,
    /// Scratch for a row being encoded for the heap (reused, not
    /// reallocated per inserted row).
    row_buf: Vec<u8>,
    /// Cancel requests and statement_timeout for the running statement.
    interrupts: interrupt::Interrupts,
    /// See [`Engine::set_group_commit`].
    group_commit: bool,
    /// Durable commits whose WAL is not synced yet (group commit).
    unsynced_commits: bool,
    /// See [`Engine::set_progress_hook`].
    progress_hook: Option<ProgressHook>,
    /// Sessions a timeout terminated, with the error their next call gets.
    terminated: IdMap<SessionId, Error>,
    /// Listeners, their notification queues, commit events (`notify.rs`).
    notify: notify::Hub,
    /// `pg_export_snapshot()`'s snapshots (`snapshots.rs`).
    exported_snapshots: snapshots::ExportedSnapshots,
    /// Types the running statement's parameter values declare (see
    /// [`param_hint`]): binding starts from them, as PostgreSQL starts
    /// from a client's declared parameter types.
    param_hints: Vec<DataType>,
    /// Bumped by every change of a session's settings (`plan_cache.rs`).
    settings_epoch: u64,
    /// The catalog-writing transactions found ended last (`plan_cache.rs`).
    catalog_writers_ended: Vec<crate::txn::Xid>,
    /// Per parent table, the tables whose foreign keys reference it, as
    /// of the catalog epoch kept beside them (`constraints.rs`).
    fk_children: (u64, IdMap<Oid, Rc<Vec<crate::catalog::TableDef>>>),
    /// The running statement's binding folded a value that is not the
    /// catalog's into its plan (`txid_current()`, a system view's rows):
    /// the plan is not cached.
    bind_volatile: bool,
    /// The running statement's lifted string literals (`Binder::lifted_strings`).
    lifted_strings: Rc<Vec<Option<String>>>,
}

/// The parameter type a value declares: what the wire protocol's declared
/// types or a typed JS value (a vector, bigint, Date...) produce. Text,
/// int4, float8, bytea and NULL declare nothing (node-postgres's and JS's
/// plain strings and numbers; a JS Uint8Array serves bytea and bit): their
/// type is inferred from the statement.
fn param_hint(v: &crate::value::Value) -> DataType {
    use crate::value::Value;
    match v {
        Value::Null | Value::Text(_) | Value::Int4(_) | Value::Float8(_) | Value::Bytea(_) => {
            DataType::Unknown
        }
        other => other.data_type(),
    }
}

/// How far a long statement (CREATE INDEX) has got, in the terms of
/// PostgreSQL's `pg_stat_progress_create_index`.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub command: &'static str,
    pub index: String,
    pub phase: &'static str,
    pub tuples_done: u64,
    pub tuples_total: u64,
}

/// Called with the session and its statement's progress, from inside the
/// statement (so it must not call back into the engine).
pub type ProgressHook = Box<dyn FnMut(SessionId, &Progress)>;

/// The least time between two progress reports of one statement.
const PROGRESS_EVERY_MICROS: i64 = 50_000;

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
        let mut engine = Engine {
            interrupts,
            group_commit: false,
            unsynced_commits: false,
            progress_hook: None,
            notify: Default::default(),
            exported_snapshots: Default::default(),
            param_hints: Vec::new(),
            settings_epoch: 0,
            catalog_writers_ended: Vec::new(),
            fk_children: Default::default(),
            bind_volatile: false,
            lifted_strings: Default::default(),
            terminated: IdMap::default(),
            pager,
            txns,
            catalog,
            sessions: IdMap::default(),
            next_session: 1,
            completions: Vec::new(),
            runnable: Default::default(),
            deadlock_victim: None,
            config,
            dead_counts: IdMap::default(),
            index_key_cache: IdMap::default(),
            generated_cache: HashMap::new(),
            parse_cache: HashMap::new(),
            insert_counts: IdMap::default(),
            heaps: IdMap::default(),
            row_buf: Vec::new(),
        };
        engine.drop_orphaned_temp_objects()?;
        Ok(engine)
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
                settings: Settings::default(),
                activity: Activity {
                    backend_start: now,
                    query: String::new(),
                    query_start: None,
                    state_change: now,
                    wait_start: None,
                    local_xact: 0,
                },
                pending: None,
                defer_implicit_commit: false,
                currval: HashMap::new(),
                prepared: HashMap::new(),
                plans: Default::default(),
                notices: Vec::new(),
                settings_txn: None,
                rng: 0x2545_F491_4F6C_DD1D ^ id as u64,
                cursors: Vec::new(),
                cursor_seq: 0,
            },
        );
        id
    }

    /// Closes a session, rolling back its transaction (and any parked
    /// statement) and waking whoever waited for it.
    pub fn disconnect(&mut self, sid: SessionId) {
        let build = self
            .sessions
            .get_mut(&sid)
            .and_then(|s| s.pending.take())
            .and_then(|p| p.build);
        if let Some(b) = build {
            b.abandon(self);
        }
        self.runnable.retain(|&r| r != sid);
        self.txns.stop_waiting(sid);
        // A rollback cannot fail in a way the client could act on: it is
        // gone, and a poisoned pager fails every later statement anyway.
        let _ = self.end_txn(sid, false);
        // Its temporary tables go (in a transaction of their own); should
        // that fail, the next open drops them.
        let temp = schemas::temp_namespace(sid);
        let has_temp = self
            .catalog
            .all_entries()
            .iter()
            .any(|e| e.object.namespace() == Some(temp));
        if has_temp && self.sessions.contains_key(&sid) {
            let _ = self.execute(sid, "DISCARD TEMP", Vec::new());
        }
        // Its advisory locks and lock requests go with it.
        self.txns.lock_table().forget_session(sid);
        self.notify.forget(sid);
        self.sessions.remove(&sid);
        self.terminated.remove(&sid);
        self.wake_waiters(sid);
    }

    pub fn session_ids(&self) -> Vec<SessionId> {
        let mut ids: Vec<_> = self.sessions.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    pub fn txn_status(&self, sid: SessionId) -> TxnStatus {
        match self.txns.get(sid) {
            Some(t) if t.failed => TxnStatus::Failed,
            Some(t) if t.explicit => TxnStatus::InBlock,
            _ => TxnStatus::Idle,
        }
    }

    /// Pages in the database file (allocated, including free-listed).
    /// Installs `hook`, which long statements call with their progress
    /// (at the start, at most every 50 ms, and at the end): how the JS
    /// client's `onProgress` learns about a CREATE INDEX.
    pub fn set_progress_hook(&mut self, hook: ProgressHook) {
        self.progress_hook = Some(hook);
    }

    /// Reports `progress` for `sid` if a report is due (`force`: always).
    /// `last` is when the statement last reported, in engine clock micros.
    pub(crate) fn report_progress(
        &mut self,
        sid: SessionId,
        progress: &Progress,
        last: &mut i64,
        force: bool,
    ) {
        let Some(hook) = self.progress_hook.as_mut() else {
            return;
        };
        let now = (self.config.clock)();
        if force || now - *last >= PROGRESS_EVERY_MICROS {
            *last = now;
            hook(sid, progress);
        }
    }

    pub fn database_pages(&self) -> u32 {
        self.pager.page_count()
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

    /// The session's `TimeZone` setting (front ends format timestamptz
    /// values with it).
    pub fn session_tz(&self, sid: SessionId) -> TimeZone {
        self.sessions
            .get(&sid)
            .map(|s| s.settings.timezone.clone())
            .unwrap_or_else(TimeZone::utc)
    }
}

pub const SERVER_VERSION: &str = "15.0 (NeuralDB 0.1.0)";
