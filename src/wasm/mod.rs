//! The JavaScript-facing facade, compiled only for `wasm32`.
//!
//! [`Database`] wraps one [`Engine`]; the worker in `pkg/worker.js` owns it
//! and drives it from its message loop. Everything crossing the boundary is
//! plain JS data: outcomes are `{ results, error, status }` objects whose
//! cells are already JS values (see `convert.rs` and the type table in
//! README.md), so the JS side never parses our text formats.

mod convert;
mod opfs;

use wasm_bindgen::prelude::*;
use web_sys::FileSystemSyncAccessHandle;

use crate::engine::{Engine, EngineConfig, Outcome, Submitted, TxnStatus};
use crate::error::{Error, SqlError, SqlState};
use crate::storage::MemoryStorage;

pub use opfs::OpfsStorage;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// Microseconds since 2000-01-01 UTC from `Date.now()` (millisecond
/// resolution), for `now()` and pg_stat_activity.
fn js_clock() -> i64 {
    const UNIX_TO_2000_MS: f64 = 946_684_800_000.0;
    ((js_sys::Date::now() - UNIX_TO_2000_MS) * 1000.0) as i64
}

/// The DDL that turns the change feed on (`neuraldb.changes`), for
/// `db.changes()`.
#[wasm_bindgen(js_name = changeFeedDdl)]
pub fn change_feed_ddl() -> String {
    crate::engine::FEED_DDL.to_string()
}

/// Engine options from JS (`{ poolBytes? }`), read with serde-wasm-bindgen.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct OpenOptions {
    pool_bytes: Option<u32>,
}

fn config(options: JsValue) -> Result<EngineConfig, JsValue> {
    let options: OpenOptions = if options.is_undefined() || options.is_null() {
        OpenOptions::default()
    } else {
        serde_wasm_bindgen::from_value(options).map_err(|e| {
            convert::error(&Error::Sql(SqlError::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("invalid open options: {e}"),
            )))
        })?
    };
    let mut config = EngineConfig {
        clock: js_clock,
        ..EngineConfig::default()
    };
    if let Some(bytes) = options.pool_bytes {
        config.pager.pool_bytes = bytes as usize;
    }
    Ok(config)
}

/// One open database: the engine and its sessions.
#[wasm_bindgen]
pub struct Database {
    engine: Engine,
}

impl Database {
    /// Live queries follow commit events: recorded from the start.
    fn new(mut engine: Engine) -> Database {
        engine.set_change_tracking(true);
        Database { engine }
    }

    /// The session's transaction status as the wire protocol's
    /// ReadyForQuery reports it: idle, in a block, in a failed block.
    fn status_code(&self, session: u32) -> &'static str {
        match self.engine.txn_status(session) {
            TxnStatus::Idle => "I",
            TxnStatus::InBlock => "T",
            TxnStatus::Failed => "E",
        }
    }
}

#[wasm_bindgen]
impl Database {
    /// Opens (creating if empty, recovering after a crash) the database on
    /// two OPFS files. The handles are owned from here on and closed when
    /// the database is freed. `options`: `{ poolBytes? }`. Throws
    /// `{ code, message }`.
    #[wasm_bindgen(js_name = openOpfs)]
    pub fn open_opfs(
        data: FileSystemSyncAccessHandle,
        wal: FileSystemSyncAccessHandle,
        options: JsValue,
    ) -> Result<Database, JsValue> {
        let data = Box::new(OpfsStorage::new(data));
        let wal = Box::new(OpfsStorage::new(wal));
        let engine = Engine::open(data, wal, config(options)?).map_err(|e| convert::error(&e))?;
        Ok(Database::new(engine))
    }

    /// An ephemeral database in the worker's memory.
    #[wasm_bindgen(js_name = openMemory)]
    pub fn open_memory(options: JsValue) -> Result<Database, JsValue> {
        let engine = Engine::open(
            Box::new(MemoryStorage::new()),
            Box::new(MemoryStorage::new()),
            config(options)?,
        )
        .map_err(|e| convert::error(&e))?;
        Ok(Database::new(engine))
    }

    /// Calls `hook(session, { command, index, phase, tuplesDone,
    /// tuplesTotal })` while a long statement runs (CREATE INDEX), at most
    /// every 50 ms; from inside `submit`, so it must not call back in.
    #[wasm_bindgen(js_name = setProgressHook)]
    pub fn set_progress_hook(&mut self, hook: js_sys::Function) {
        self.engine.set_progress_hook(Box::new(move |sid, p| {
            let obj = js_sys::Object::new();
            let set = |k: &str, v: JsValue| {
                // Setting a property on a fresh plain object cannot fail.
                let _ = js_sys::Reflect::set(&obj, &JsValue::from_str(k), &v);
            };
            set("command", JsValue::from_str(p.command));
            set("index", JsValue::from_str(&p.index));
            set("phase", JsValue::from_str(p.phase));
            set("tuplesDone", JsValue::from_f64(p.tuples_done as f64));
            set("tuplesTotal", JsValue::from_f64(p.tuples_total as f64));
            // A throwing hook must not fail the statement.
            let _ = hook.call2(&JsValue::NULL, &JsValue::from(sid), &obj);
        }));
    }

    /// Opens a session and returns its id (its `pid` in pg_stat_activity).
    pub fn connect(&mut self) -> u32 {
        self.engine.connect()
    }

    /// Closes a session: rolls back its transaction and releases its locks.
    /// Call [`Database::take_completions`] afterwards: waiters may resume.
    pub fn disconnect(&mut self, session: u32) {
        self.engine.disconnect(session);
    }

    /// Runs `sql` (one or more statements) with `params` (a JS array, see
    /// README's type mapping). Returns the outcome, or `undefined` when the
    /// session is parked waiting for a lock or its statement yielded (see
    /// [`Database::work`]); its outcome then arrives from
    /// [`Database::take_completions`].
    pub fn submit(&mut self, session: u32, sql: &str, params: js_sys::Array) -> JsValue {
        let params = match convert::params(&params) {
            Ok(p) => p,
            Err(e) => {
                let outcome = Outcome {
                    results: Vec::new(),
                    error: Some(Error::Sql(e)),
                };
                return convert::outcome(&outcome, self.status_code(session), &[]);
            }
        };
        match self.engine.submit(session, sql, params) {
            Submitted::Done(outcome) => {
                let notices = self.engine.take_notices(session);
                convert::outcome(&outcome, self.status_code(session), &notices)
            }
            Submitted::Parked => JsValue::UNDEFINED,
        }
    }

    /// Outcomes of parked statements that finished since the last call, as
    /// `[[session, outcome], ...]`.
    #[wasm_bindgen(js_name = takeCompletions)]
    pub fn take_completions(&mut self) -> js_sys::Array {
        let done = js_sys::Array::new();
        for (sid, outcome) in self.engine.take_completions() {
            let pair = js_sys::Array::new();
            pair.push(&JsValue::from(sid));
            let notices = self.engine.take_notices(sid);
            pair.push(&convert::outcome(&outcome, self.status_code(sid), &notices));
            done.push(&pair);
        }
        done
    }

    /// The session's transaction status as in PostgreSQL's ReadyForQuery:
    /// `"I"` idle, `"T"` in a transaction block, `"E"` in a failed block.
    pub fn status(&self, session: u32) -> String {
        self.status_code(session).to_string()
    }

    /// Fails parked statements whose statement_timeout has passed (57014);
    /// their outcomes arrive from [`Database::take_completions`]. Returns
    /// whether a parked statement still has a deadline to watch.
    #[wasm_bindgen(js_name = expireTimeouts)]
    pub fn expire_timeouts(&mut self) -> bool {
        self.engine.expire_timeouts();
        self.engine.has_wait_deadlines()
    }

    /// Whether a parked statement or an idle session has a deadline that
    /// [`Database::expire_timeouts`] must be called for.
    #[wasm_bindgen(js_name = hasDeadlines)]
    pub fn has_deadlines(&self) -> bool {
        self.engine.has_wait_deadlines()
    }

    /// Whether a statement yielded (a CREATE INDEX build between slices)
    /// and waits for [`Database::work`].
    #[wasm_bindgen(js_name = hasWork)]
    pub fn has_work(&self) -> bool {
        self.engine.has_work()
    }

    /// Runs one slice (about 20 ms) of a statement that yielded; a
    /// statement that finishes arrives from [`Database::take_completions`].
    pub fn work(&mut self) {
        self.engine.work();
    }

    /// Cancels the session's waiting or yielded statement (57014, as
    /// PostgreSQL's CancelRequest); its outcome arrives from
    /// [`Database::take_completions`]. Returns whether there was one.
    pub fn cancel(&mut self, session: u32) -> bool {
        self.engine.cancel(session)
    }

    /// Notifications (LISTEN/NOTIFY) for sessions between transactions,
    /// oldest first: `[[session, { channel, payload, processId }], ...]`.
    /// Call after every engine call, as [`Database::take_completions`].
    #[wasm_bindgen(js_name = takeNotifications)]
    pub fn take_notifications(&mut self) -> js_sys::Array {
        let out = js_sys::Array::new();
        for sid in self.engine.notified_sessions() {
            for n in self.engine.take_notifications(sid, usize::MAX) {
                let obj = js_sys::Object::new();
                // Setting a property on a fresh plain object cannot fail.
                let _ = js_sys::Reflect::set(&obj, &"channel".into(), &n.channel.into());
                let _ = js_sys::Reflect::set(&obj, &"payload".into(), &n.payload.into());
                let _ = js_sys::Reflect::set(&obj, &"processId".into(), &n.sender.into());
                let pair = js_sys::Array::new();
                pair.push(&JsValue::from(sid));
                pair.push(&obj);
                out.push(&pair);
            }
        }
        out
    }

    /// What each transaction committed since the last call changed, in
    /// commit order: an array of relation OIDs, or `null` for "anything"
    /// (a COMMIT PREPARED). For live queries.
    #[wasm_bindgen(js_name = takeCommits)]
    pub fn take_commits(&mut self) -> js_sys::Array {
        let out = js_sys::Array::new();
        for e in self.engine.take_commit_events() {
            match e.relations {
                Some(oids) => {
                    let list = js_sys::Array::new();
                    for oid in oids {
                        list.push(&JsValue::from(oid));
                    }
                    out.push(&list);
                }
                None => {
                    out.push(&JsValue::NULL);
                }
            }
        }
        out
    }

    /// The tables and views a query reads (what a live query over it
    /// follows). Throws `{ code, message }` (0A000 for anything but one
    /// SELECT).
    #[wasm_bindgen(js_name = relationsRead)]
    pub fn relations_read(&mut self, session: u32, sql: &str) -> Result<Vec<u32>, JsValue> {
        self.engine
            .relations_read(session, sql)
            .map_err(|e| convert::error(&e))
    }

    /// Whether the session is parked waiting for a lock.
    #[wasm_bindgen(js_name = isWaiting)]
    pub fn is_waiting(&self, session: u32) -> bool {
        self.engine.is_parked(session)
    }

    /// The database as a plain SQL script (see `Engine::dump`), taken in a
    /// REPEATABLE READ transaction of `session`, which must be idle.
    pub fn dump(&mut self, session: u32) -> Result<String, JsValue> {
        self.engine.dump(session).map_err(|e| convert::error(&e))
    }

    /// Loads a plain SQL script (ours or pg_dump's) in one transaction of
    /// `session` (see `Engine::restore`): `{ statements, rows }`.
    pub fn restore(&mut self, session: u32, script: &str) -> Result<JsValue, JsValue> {
        let summary = self
            .engine
            .restore(session, script)
            .map_err(|e| convert::error(&e))?;
        let obj = js_sys::Object::new();
        for (key, n) in [("statements", summary.statements), ("rows", summary.rows)] {
            let _ =
                js_sys::Reflect::set(&obj, &JsValue::from_str(key), &JsValue::from_f64(n as f64));
        }
        Ok(obj.into())
    }
}
