//! SQL cursors: DECLARE, FETCH, MOVE, CLOSE, and `pg_cursors`.
//!
//! A cursor belongs to its session and its transaction (WITHOUT HOLD, the
//! only kind): it is dropped when the transaction ends, however it ends,
//! because each cursor remembers the transaction it was declared in
//! (`Activity::local_xact`) and a cursor of an earlier transaction is
//! treated as closed. Its snapshot is registered in the transaction
//! (`TxnState::cursor_snapshots`) so vacuum keeps what it may still read,
//! and it keeps the AccessShare locks the DECLARE took until then.
//!
//! The engine runs other sessions between two FETCHes, so a cursor holds
//! no borrow: each FETCH takes it out of the session, builds an `Env` at
//! the cursor's snapshot and command id, reads, and puts it back.

use std::rc::Rc;

use super::plan_cache::CachedPlan;
use super::{sql_err, Engine, QueryResult, Result, SessionId};
use crate::error::{Error, SqlError, SqlState};
use crate::sql::exec::PlanCursor;
use crate::sql::parse::ast::{self, FetchDirection};
use crate::sql::plan::{Column, Plan};
use crate::txn::Snapshot;
use crate::value::Value;

/// Names of the cursors the wire-protocol server opens for portals
/// (`server/conn.rs`): allowed in the extended protocol's implicit
/// transaction, and not listed in `pg_cursors`. A client cannot spell the
/// prefix in an identifier by accident (a control character).
pub const PORTAL_CURSOR_PREFIX: &str = "\u{1}portal:";

pub(super) struct Cursor {
    pub(super) name: String,
    /// Key of its snapshot in `TxnState::cursor_snapshots`.
    id: u64,
    /// The transaction it belongs to (`Activity::local_xact`).
    xact: u32,
    /// Savepoints open when it was declared: ROLLBACK TO one of them or
    /// an outer one closes it, as PostgreSQL drops the portals of an
    /// aborted subtransaction.
    depth: usize,
    snapshot: Snapshot,
    /// Command id of the DECLARE: later statements' changes are invisible
    /// to it (PostgreSQL's cursors are insensitive).
    cid: u32,
    params: Vec<Value>,
    cte_plans: Vec<Plan>,
    pub(super) columns: Vec<Column>,
    exec: PlanCursor,
    /// Rows read so far (fetched or moved over).
    pos: u64,
    /// `pg_cursors`: the query string that declared it, its flags, when.
    pub(super) statement: String,
    pub(super) binary: bool,
    pub(super) created: i64,
}

fn no_cursor(name: &str) -> Error {
    sql_err(
        SqlState("34000"),
        format!("cursor \"{name}\" does not exist"),
    )
}

fn forward_only() -> Error {
    Error::Sql(
        SqlError::new(
            SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
            "cursor can only scan forward",
        )
        .with_hint("Declare it with SCROLL option to enable backward scan."),
    )
}

impl Engine {
    /// The session's cursors, after dropping those of ended transactions.
    pub(super) fn open_cursors(&mut self, sid: SessionId) -> Result<&mut Vec<Cursor>> {
        let in_txn = self.txns.get(sid).is_some();
        let s = self
            .sessions
            .get_mut(&sid)
            .ok_or_else(|| sql_err(SqlState("08003"), "no such session"))?;
        let xact = s.activity.local_xact;
        s.cursors.retain(|c| in_txn && c.xact == xact);
        Ok(&mut s.cursors)
    }

    /// ROLLBACK TO: the cursors declared since the savepoint are gone.
    pub(super) fn close_cursors_after(&mut self, sid: SessionId, depth: usize) {
        let Ok(cursors) = self.open_cursors(sid) else {
            return;
        };
        let mut closed = Vec::new();
        cursors.retain(|c| {
            let keep = c.depth < depth;
            if !keep {
                closed.push(c.id);
            }
            keep
        });
        if let Some(t) = self.txns.get_mut(sid) {
            for id in closed {
                t.cursor_snapshots.remove(&id);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn declare_cursor(
        &mut self,
        sid: SessionId,
        name: String,
        q: &ast::Query,
        binary: bool,
        scroll: Option<bool>,
        hold: bool,
        params: &[Value],
        key: Option<&Rc<str>>,
    ) -> Result<QueryResult> {
        // PostgreSQL: only in a transaction block, explicit or the
        // implicit one of a multi-statement string.
        // A wire-protocol portal's cursor lives in the extended protocol's
        // implicit transaction, which lasts until Sync.
        let portal = name.starts_with(PORTAL_CURSOR_PREFIX);
        let explicit = portal || self.txns.get(sid).is_some_and(|t| t.explicit);
        let more = self
            .sessions
            .get(&sid)
            .and_then(|s| s.pending.as_ref())
            .is_some_and(|p| !p.stmts.is_empty());
        if !explicit && !more {
            return Err(sql_err(
                SqlState::NO_ACTIVE_SQL_TRANSACTION,
                "DECLARE CURSOR can only be used in transaction blocks",
            ));
        }
        if hold {
            return Err(sql_err(
                SqlState::FEATURE_NOT_SUPPORTED,
                "DECLARE CURSOR WITH HOLD is not supported",
            ));
        }
        if scroll == Some(true) {
            return Err(sql_err(
                SqlState::FEATURE_NOT_SUPPORTED,
                "DECLARE SCROLL CURSOR is not supported",
            ));
        }
        if q.locking.is_some() {
            return Err(sql_err(
                SqlState::FEATURE_NOT_SUPPORTED,
                "DECLARE CURSOR ... FOR UPDATE/SHARE is not supported",
            ));
        }
        if portal {
            // Binding a portal replaces the one of the same name, and its
            // cursor with it (the server names cursors after portals, so
            // the DECLARE and FETCH texts repeat and hit the parse cache).
            let cursors = self.open_cursors(sid)?;
            if let Some(at) = cursors.iter().position(|c| c.name == name) {
                let old = cursors.remove(at);
                if let Some(t) = self.txns.get_mut(sid) {
                    t.cursor_snapshots.remove(&old.id);
                }
            }
        } else if self.open_cursors(sid)?.iter().any(|c| c.name == name) {
            return Err(sql_err(
                SqlState("42P03"),
                format!("cursor \"{name}\" already exists"),
            ));
        }
        let snapshot = self.statement_snapshot(sid);
        // A wire portal's DECLARE repeats its text: its plan is cached.
        let cached = self.query_plan(sid, q, key, &snapshot)?;
        let CachedPlan::Query(query) = &*cached else {
            return Err(sql_err(
                SqlState::INTERNAL_ERROR,
                "cached plan of another statement kind",
            ));
        };
        let (plan, columns) = (query.plan.clone(), query.columns.clone());
        let cte_plans = (*query.cte_plans).clone();
        let exec = self.with_env(sid, &snapshot, params, &cte_plans, None, |env| {
            PlanCursor::open(plan, env)
        })?;
        let now = (self.config.clock)();
        let (depth, cid) = self
            .txns
            .get(sid)
            .map_or((0, 0), |t| (t.savepoint_depth(), t.cid));
        let s = self
            .sessions
            .get_mut(&sid)
            .ok_or_else(|| sql_err(SqlState("08003"), "no such session"))?;
        s.cursor_seq += 1;
        let id = s.cursor_seq;
        let cursor = Cursor {
            name,
            id,
            xact: s.activity.local_xact,
            depth,
            snapshot: snapshot.clone(),
            cid,
            params: params.to_vec(),
            cte_plans,
            columns,
            exec,
            pos: 0,
            statement: s.activity.query.clone(),
            binary,
            created: now,
        };
        // A portal's cursor reports its columns: the server describes the
        // portal with them before the first Execute.
        let described = if portal {
            cursor.columns.clone()
        } else {
            Vec::new()
        };
        s.cursors.push(cursor);
        if let Some(t) = self.txns.get_mut(sid) {
            t.cursor_snapshots.insert(id, snapshot);
        }
        let mut r = QueryResult::tag("DECLARE CURSOR");
        r.columns = described;
        Ok(r)
    }

    /// FETCH (`is_move`: MOVE) on cursor `name`.
    pub(super) fn fetch_cursor(
        &mut self,
        sid: SessionId,
        name: &str,
        direction: &FetchDirection,
        is_move: bool,
    ) -> Result<QueryResult> {
        let cursors = self.open_cursors(sid)?;
        let Some(at) = cursors.iter().position(|c| c.name == name) else {
            return Err(no_cursor(name));
        };
        // Out of the session while it reads (the read needs the engine).
        let mut c = cursors.remove(at);
        let result = self.fetch_from(sid, &mut c, direction, is_move);
        // A portal's cursor read to its end is done with: the protocol has
        // no way to move it back.
        if c.name.starts_with(PORTAL_CURSOR_PREFIX) && (c.exec.is_done() || result.is_err()) {
            if let Some(t) = self.txns.get_mut(sid) {
                t.cursor_snapshots.remove(&c.id);
            }
            return result;
        }
        if let Some(s) = self.sessions.get_mut(&sid) {
            let at = at.min(s.cursors.len());
            s.cursors.insert(at, c);
        }
        result
    }

    fn fetch_from(
        &mut self,
        sid: SessionId,
        c: &mut Cursor,
        direction: &FetchDirection,
        is_move: bool,
    ) -> Result<QueryResult> {
        // What to skip, then how many to return (`None`: all). A
        // forward-only cursor can do what needs no step back.
        let (skip, take): (u64, Option<u64>) = match *direction {
            FetchDirection::Forward(n) if n > 0 => (0, Some(n as u64)),
            FetchDirection::ForwardAll => (0, None),
            // FETCH 0 / RELATIVE 0 / BACKWARD 0 re-read the current row:
            // nothing to re-read before the first.
            FetchDirection::Forward(0)
            | FetchDirection::Relative(0)
            | FetchDirection::Backward(0)
                if c.pos == 0 =>
            {
                (0, Some(0))
            }
            FetchDirection::Relative(n) if n > 0 => (n as u64 - 1, Some(1)),
            FetchDirection::Absolute(n) if n > 0 && (n as u64) > c.pos => {
                (n as u64 - 1 - c.pos, Some(1))
            }
            _ => return Err(forward_only()),
        };
        if let Some((oid, heap)) = c.exec.streamed_table() {
            self.check_cursor_table(sid, oid, heap)?;
        }
        let snapshot = std::mem::take(&mut c.snapshot);
        let params = std::mem::take(&mut c.params);
        let cte_plans = std::mem::take(&mut c.cte_plans);
        let cid = c.cid;
        let exec = &mut c.exec;
        let result = self.with_env(sid, &snapshot, &params, &cte_plans, None, |env| {
            env.cid = cid;
            let skipped = if skip > 0 {
                exec.fetch(Some(skip as usize), env, &mut |_, _| Ok(()))? as u64
            } else {
                0
            };
            let max = take.map(|n| n as usize);
            if is_move {
                let n = exec.fetch(max, env, &mut |_, _| Ok(()))? as u64;
                Ok((skipped, n, Vec::new()))
            } else {
                let rows = exec.fetch_rows(max, env)?;
                Ok((skipped, rows.len() as u64, rows))
            }
        });
        c.snapshot = snapshot;
        c.params = params;
        c.cte_plans = cte_plans;
        let (skipped, n, rows) = result?;
        c.pos += skipped + n;
        let verb = if is_move { "MOVE" } else { "FETCH" };
        Ok(QueryResult {
            command: format!("{verb} {n}"),
            columns: if is_move {
                Vec::new()
            } else {
                c.columns.clone()
            },
            rows_affected: n,
            rows,
            copy: None,
        })
    }

    /// The table a streaming cursor reads still exists with the same heap,
    /// as this session now sees it: its own transaction may have dropped or
    /// rewritten it since the DECLARE (PostgreSQL refuses that DDL with
    /// 55006; we refuse the FETCH instead of reading freed pages).
    fn check_cursor_table(
        &mut self,
        sid: SessionId,
        oid: crate::catalog::Oid,
        heap: crate::pager::PageId,
    ) -> Result<()> {
        let snapshot = self.take_snapshot(sid);
        let Some(t) = self.txns.get(sid) else {
            return Ok(());
        };
        let viewer = crate::txn::Viewer {
            snapshot: &snapshot,
            own: t.own(),
            cid: t.cid,
        };
        let same = match self
            .catalog
            .by_oid(&self.txns, &mut self.pager, &viewer, oid)?
            .map(|e| e.object)
        {
            Some(o) => matches!(&*o, crate::catalog::Object::Table(t) if t.heap == heap),
            None => false,
        };
        if same {
            return Ok(());
        }
        Err(sql_err(
            SqlState("55006"),
            "the table this cursor reads was dropped or rewritten by its transaction",
        ))
    }

    pub(super) fn close_cursor(
        &mut self,
        sid: SessionId,
        name: Option<&str>,
    ) -> Result<QueryResult> {
        let cursors = self.open_cursors(sid)?;
        let closed: Vec<u64> = match name {
            None => cursors.drain(..).map(|c| c.id).collect(),
            Some(n) => {
                let Some(at) = cursors.iter().position(|c| c.name == n) else {
                    return Err(no_cursor(n));
                };
                vec![cursors.remove(at).id]
            }
        };
        if let Some(t) = self.txns.get_mut(sid) {
            for id in closed {
                t.cursor_snapshots.remove(&id);
            }
        }
        Ok(QueryResult::tag(if name.is_some() {
            "CLOSE CURSOR"
        } else {
            "CLOSE CURSOR ALL"
        }))
    }

    /// `pg_cursors`: the session's open cursors.
    pub(super) fn pg_cursors(&mut self, sid: SessionId) -> Vec<Vec<Value>> {
        let Ok(cursors) = self.open_cursors(sid) else {
            return Vec::new();
        };
        cursors
            .iter()
            .filter(|c| !c.name.starts_with(PORTAL_CURSOR_PREFIX))
            .map(|c| {
                vec![
                    Value::Text(c.name.clone()),
                    Value::Text(c.statement.clone()),
                    Value::Bool(false),
                    Value::Bool(c.binary),
                    Value::Bool(false),
                    Value::Timestamptz(c.created),
                ]
            })
            .collect()
    }

    /// The columns of cursor `name` (what a FETCH returns), for Describe.
    pub(super) fn cursor_columns(&mut self, sid: SessionId, name: &str) -> Option<Vec<Column>> {
        self.open_cursors(sid)
            .ok()?
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.columns.clone())
    }
}
