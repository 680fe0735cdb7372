//! One statement: transaction control (BEGIN, COMMIT, ROLLBACK,
//! savepoints), dispatch to DDL, DML and queries, COPY, TRUNCATE, EXPLAIN.

use std::collections::HashMap;
use std::rc::Rc;

use super::ddl::column_positions;
use super::plan_cache::{CachedPlan, CachedQuery};
use super::session::Step;
use super::{sql_err, CopyIn, CopyMode, Engine, QueryResult, Result, SessionId};
use crate::error::{Error, Notice, SqlError, SqlState};
use crate::sql::exec::run;
use crate::sql::parse::ast::{self, Statement};
use crate::sql::parse::translate;
use crate::sql::plan::{self, Column};
use crate::txn::{AsyncAction, IsolationLevel, LockMode, Snapshot, TxnState, Xid};
use crate::value::types::DataType;
use crate::value::Value;

pub(super) fn unreachable_control() -> QueryResult {
    // Transaction control is handled before dispatch.
    QueryResult::tag("")
}

impl Engine {
    pub(super) fn begin_txn(&mut self, sid: SessionId, explicit: bool) {
        let now = (self.config.clock)();
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.activity.local_xact += 1;
            let isolation = s.settings.default_isolation;
            self.txns
                .begin(sid, TxnState::new(explicit, isolation, now));
        }
    }

    pub(super) fn take_snapshot(&self, sid: SessionId) -> Snapshot {
        self.txns.snapshot(sid)
    }

    /// The xid for this session's writes, assigning one if needed.
    pub(super) fn write_xid(&mut self, sid: SessionId) -> Result<Xid> {
        if !self.sessions.contains_key(&sid) {
            return Err(sql_err(SqlState("08003"), "no such session"));
        }
        Ok(self.txns.write_xid(&mut self.pager, sid)?)
    }

    /// Commits (or aborts) the session's transaction and wakes waiters.
    pub(super) fn end_txn(&mut self, sid: SessionId, commit: bool) -> Result<()> {
        let durable = self
            .sessions
            .get(&sid)
            .is_none_or(|s| s.settings.synchronous_commit);
        // Group commit: the caller syncs once for many commits
        // (`sync_commits`) before it tells anyone about them.
        let sync_now = durable && !self.group_commit;
        let failed = self.txns.get(sid).is_some_and(|t| t.failed);
        let committing = commit && !failed;
        if committing {
            // The change feed's rows are written by the transaction itself.
            if let Err(e) = self.write_captured(sid) {
                let (_, waiters) = self.txns.end(&mut self.pager, sid, false, false);
                self.end_settings_txn(sid, false);
                self.resume(sid, waiters);
                return Err(e);
            }
        }
        let (actions, written) = match self.txns.get_mut(sid) {
            Some(t) if committing => (
                std::mem::take(&mut t.async_actions),
                std::mem::take(&mut t.written),
            ),
            _ => Default::default(),
        };
        if committing
            && !self
                .notify
                .has_room(self.notify.bytes_needed(sid, &actions))
        {
            // PostgreSQL's full notification queue: the commit fails.
            let (_, waiters) = self.txns.end(&mut self.pager, sid, false, false);
            self.end_settings_txn(sid, false);
            self.resume(sid, waiters);
            return Err(sql_err(
                SqlState::PROGRAM_LIMIT_EXCEEDED,
                "too many notifications in the NOTIFY queue",
            ));
        }
        let (result, waiters) = self.txns.end(&mut self.pager, sid, commit, sync_now);
        self.end_settings_txn(sid, committing && result.is_ok());
        if let Ok(true) = result {
            self.unsynced_commits |= durable && self.group_commit;
        }
        if committing && result.is_ok() {
            self.notify.commit(sid, actions);
            if !written.is_empty() {
                self.notify.record(super::notify::CommitEvent {
                    sender: sid,
                    relations: Some(written.into_iter().collect()),
                });
            }
        }
        let result = result.map(|_| ()).map_err(Error::from);
        if result.is_ok() && self.pager.checkpoint_due() {
            self.pager.checkpoint()?;
        }
        self.resume(sid, waiters);
        result
    }

    /// PostgreSQL's NOTICE when IF EXISTS / IF NOT EXISTS skips a DDL
    /// statement: `what` "does not exist, skipping" (00000) or "already
    /// exists, skipping" (the duplicate's SQLSTATE).
    pub(super) fn skip_notice(&mut self, sid: SessionId, code: SqlState, message: String) {
        self.raise_notice(sid, Notice::info(code, format!("{message}, skipping")));
    }

    /// PostgreSQL's WARNING for COMMIT, ROLLBACK or PREPARE TRANSACTION
    /// outside a transaction block.
    pub(super) fn warn_no_transaction(&mut self, sid: SessionId) {
        self.raise_notice(
            sid,
            Notice::warning(
                SqlState::NO_ACTIVE_SQL_TRANSACTION,
                "there is no transaction in progress",
            ),
        );
    }

    pub(super) fn run_statement(
        &mut self,
        sid: SessionId,
        stmt: Rc<Statement>,
        params: &[Value],
    ) -> Result<Step> {
        // Transaction control first: it is allowed in a failed block.
        match &*stmt {
            Statement::Begin { modes } => {
                let in_block = self.txns.get(sid).is_some_and(|t| t.explicit);
                if in_block {
                    // PostgreSQL warns and carries on.
                    self.raise_notice(
                        sid,
                        Notice::warning(
                            SqlState::ACTIVE_SQL_TRANSACTION,
                            "there is already a transaction in progress",
                        ),
                    );
                    return Ok(Step::Done(QueryResult::tag("BEGIN")));
                }
                match self.txns.get_mut(sid) {
                    // BEGIN inside a multi-statement string turns its implicit
                    // transaction into an explicit block, as in PostgreSQL.
                    Some(t) => t.explicit = true,
                    None => self.begin_txn(sid, true),
                }
                self.apply_modes(sid, modes)?;
                return Ok(Step::Done(QueryResult::tag("BEGIN")));
            }
            Statement::Commit => {
                if !self.txns.get(sid).is_some_and(|t| t.explicit) {
                    self.warn_no_transaction(sid);
                }
                let state = self.txns.get(sid).map(|t| t.failed);
                return match state {
                    None => Ok(Step::Done(QueryResult::tag("COMMIT"))),
                    Some(failed) => {
                        if !failed {
                            match self.check_deferred_constraints(sid, true) {
                                Ok(()) => {}
                                // Another transaction's work in flux: wait
                                // for it, then check again.
                                Err(Error::Wait { holder }) => {
                                    return Ok(Step::Retry(Rc::new(Statement::Commit), holder));
                                }
                                Err(e) => {
                                    self.end_txn(sid, false)?;
                                    return Err(e);
                                }
                            }
                        }
                        self.end_txn(sid, !failed)?;
                        // What its updates and drops left behind may go now.
                        self.autovacuum()?;
                        Ok(Step::Done(QueryResult::tag(if failed {
                            "ROLLBACK"
                        } else {
                            "COMMIT"
                        })))
                    }
                };
            }
            Statement::Rollback => {
                if !self.txns.get(sid).is_some_and(|t| t.explicit) {
                    self.warn_no_transaction(sid);
                }
                self.end_txn(sid, false)?;
                self.autovacuum()?;
                return Ok(Step::Done(QueryResult::tag("ROLLBACK")));
            }
            Statement::RollbackTo(name) => {
                self.rollback_to(sid, name)?;
                return Ok(Step::Done(QueryResult::tag("ROLLBACK")));
            }
            Statement::PrepareTransaction(gid) => {
                return self.prepare_transaction(sid, gid.clone());
            }
            _ => {}
        }
        if let Some(t) = self.txns.get(sid) {
            if t.failed {
                return Err(sql_err(
                    SqlState::IN_FAILED_SQL_TRANSACTION,
                    "current transaction is aborted, commands ignored until end of transaction block",
                ));
            }
        }
        if self.sessions.contains_key(&sid) && self.txns.get(sid).is_none() {
            self.begin_txn(sid, false);
        }
        // Each statement is a new command: it sees the earlier ones' changes.
        if let Some(t) = self.txns.get_mut(sid) {
            t.cid += 1;
        }
        // A statement that must wait for a lock runs again from the start
        // once it may go on: keep it (statements are small, and waiting
        // is decided before anything changed).
        let again = Rc::clone(&stmt);
        self.txns.lock_table().begin_statement(sid);
        let (lifted_from, plan_key) = self
            .sessions
            .get(&sid)
            .and_then(|s| s.pending.as_ref())
            .map_or((params.len(), None), |p| {
                (p.lifted_from, p.plan_key.clone())
            });
        let step = match self.dispatch_keyed(sid, stmt, params, lifted_from, plan_key) {
            Err(Error::Wait { holder }) => {
                self.txns.lock_table().undo_statement(sid);
                return Ok(Step::Retry(again, holder));
            }
            other => other,
        };
        // Granted, or failed: a lock request it queued is no longer waiting.
        self.txns.lock_table().dequeue(sid);
        // Advisory locks released by the statement may let others go on.
        for s in self.txns.lock_table().take_released() {
            self.wake_waiters(s);
        }
        if let Ok(Step::Done(_)) = &step {
            // The implicit transaction of a multi-statement string spans all
            // of it: commit after its last statement.
            let txn_implicit = self.txns.get(sid).is_some_and(|t| !t.explicit);
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

    pub(super) fn apply_modes(&mut self, sid: SessionId, modes: &ast::TxnModes) -> Result<()> {
        if let Some(t) = self.txns.get_mut(sid) {
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
            if let Some(d) = modes.deferrable {
                t.deferrable = d;
            }
        }
        Ok(())
    }

    pub(super) fn rollback_to(&mut self, sid: SessionId, name: &str) -> Result<()> {
        if self.txns.get(sid).is_none() {
            return Err(sql_err(
                SqlState::NO_ACTIVE_SQL_TRANSACTION,
                "ROLLBACK TO SAVEPOINT can only be used in transaction blocks",
            ));
        }
        let waiters = self.txns.rollback_to(&mut self.pager, sid, name)?;
        let depth = self.txns.get(sid).map_or(0, |t| t.savepoint_depth());
        self.close_cursors_after(sid, depth);
        self.rollback_settings_to(sid, depth);
        self.resume(sid, waiters);
        Ok(())
    }

    pub(super) fn dispatch(
        &mut self,
        sid: SessionId,
        stmt: Statement,
        params: &[Value],
    ) -> Result<Step> {
        self.dispatch_keyed(sid, Rc::new(stmt), params, params.len(), None)
    }

    /// Runs a SELECT, INSERT, UPDATE or DELETE (`Statement::is_query_or_dml`).
    fn dispatch_query_or_dml(
        &mut self,
        sid: SessionId,
        stmt: &Statement,
        params: &[Value],
        key: Option<&Rc<str>>,
    ) -> Result<Step> {
        match stmt {
            Statement::Query(q) if q.locking.is_some() => {
                self.start_locking_query(sid, q, params, 0)
            }
            Statement::Query(q) => Ok(Step::Done(self.run_query(sid, q, params, key)?)),
            Statement::Insert(i) => self.start_insert(sid, i, params, key),
            Statement::Update(u) => self.start_update(sid, u, params, key),
            Statement::Delete(d) => self.start_delete(sid, d, params, key),
            _ => Err(sql_err(
                SqlState::INTERNAL_ERROR,
                "not a query or a data-modifying statement",
            )),
        }
    }

    /// Runs `stmt`; parameters from `lifted_from` on are lifted literals,
    /// and `plan_key` is the statement's key in the plan cache (if it has
    /// one: `plan_cache.rs`).
    pub(super) fn dispatch_keyed(
        &mut self,
        sid: SessionId,
        stmt: Rc<Statement>,
        params: &[Value],
        lifted_from: usize,
        plan_key: Option<Rc<str>>,
    ) -> Result<Step> {
        self.bind_volatile = false;
        self.lifted_strings = Rc::new(if lifted_from < params.len() {
            params
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Text(s) if i >= lifted_from => Some(s.clone()),
                    _ => None,
                })
                .collect()
        } else {
            Vec::new()
        });
        let key = plan_key.as_ref();
        self.param_hints = params
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                // A lifted literal keeps its type; a string stays untyped.
                Value::Text(_) if i >= lifted_from => DataType::Unknown,
                v if i >= lifted_from => v.data_type(),
                v => super::param_hint(v),
            })
            .collect();
        // A SERIALIZABLE READ ONLY DEFERRABLE transaction starts on a safe
        // snapshot, waiting for one if needed.
        self.await_safe_snapshot(sid)?;
        // Queries and DML run from the shared statement (the parse cache's);
        // the rest take theirs apart.
        if stmt.is_query_or_dml() {
            return self.dispatch_query_or_dml(sid, &stmt, params, key);
        }
        Ok(Step::Done(match Rc::unwrap_or_clone(stmt) {
            Statement::SetConstraints { names, deferred } => {
                self.set_constraints(sid, names.as_deref(), deferred)?
            }
            Statement::LockTable {
                names,
                mode,
                nowait,
            } => self.lock_tables(sid, &names, mode, nowait)?,
            Statement::CommitPrepared(gid) => self.finish_prepared(sid, &gid, true)?,
            Statement::RollbackPrepared(gid) => self.finish_prepared(sid, &gid, false)?,
            Statement::Prepare {
                name,
                mut types,
                body,
            } => {
                for t in &mut types {
                    self.resolve_type(sid, t)?;
                }
                self.prepare_sql(sid, name, types, *body)?
            }
            Statement::Execute { name, args } => {
                return self.execute_prepared(sid, &name, &args, params)
            }
            Statement::Deallocate(name) => self.deallocate(sid, name.as_deref())?,
            Statement::Listen(channel) => {
                self.queue_async_action(sid, AsyncAction::Listen(channel))?;
                QueryResult::tag("LISTEN")
            }
            Statement::Unlisten(channel) => {
                let action = match channel {
                    Some(c) => AsyncAction::Unlisten(c),
                    None => AsyncAction::UnlistenAll,
                };
                self.queue_async_action(sid, action)?;
                QueryResult::tag("UNLISTEN")
            }
            Statement::Notify { channel, payload } => {
                self.queue_async_action(sid, AsyncAction::Notify { channel, payload })?;
                QueryResult::tag("NOTIFY")
            }
            Statement::DeclareCursor {
                name,
                query,
                binary,
                scroll,
                hold,
            } => self.declare_cursor(sid, name, &query, binary, scroll, hold, params, key)?,
            Statement::Fetch {
                name,
                direction,
                is_move,
            } => self.fetch_cursor(sid, &name, &direction, is_move)?,
            Statement::ClosePortal(name) => self.close_cursor(sid, name.as_deref())?,
            stmt @ (Statement::Query(_)
            | Statement::Insert(_)
            | Statement::Update(_)
            | Statement::Delete(_)) => return self.dispatch_query_or_dml(sid, &stmt, params, key),
            Statement::CreateTable(mut c) => {
                for col in &mut c.columns {
                    self.resolve_type(sid, &mut col.ty)?;
                }
                self.create_table(sid, &c)?
            }
            Statement::CreateEnum { name, labels } => self.create_enum(sid, &name, &labels)?,
            Statement::Comment { on, name, text } => self.comment_on(sid, on, &name, text)?,
            Statement::CreateSchema {
                name,
                if_not_exists,
            } => self.create_schema(sid, &name, if_not_exists)?,
            Statement::DropSchema {
                names,
                if_exists,
                cascade,
            } => self.drop_schemas(sid, &names, if_exists, cascade)?,
            Statement::DropType {
                names,
                if_exists,
                cascade,
            } => self.drop_types(sid, &names, if_exists, cascade)?,
            Statement::AlterEnumAddValue {
                name,
                label,
                if_not_exists,
                neighbour,
            } => {
                self.alter_enum_add_value(sid, &name, &label, if_not_exists, neighbour.as_ref())?
            }
            Statement::DropTable {
                names,
                if_exists,
                cascade,
            } => self.drop_objects(sid, &names, if_exists, "TABLE", cascade)?,
            Statement::CreateView(c) => self.create_view(sid, &c)?,
            Statement::DropView {
                names,
                if_exists,
                cascade,
            } => self.drop_objects(sid, &names, if_exists, "VIEW", cascade)?,
            Statement::CreateIndex(c) => match self.start_create_index(sid, &c)? {
                Some(build) => return self.continue_build(sid, build),
                None => QueryResult::tag("CREATE INDEX"),
            },
            Statement::DropIndex { names, if_exists } => {
                self.drop_objects(sid, &names, if_exists, "INDEX", false)?
            }
            Statement::CreateSequence {
                name,
                if_not_exists,
                start,
                increment,
            } => self.create_sequence(sid, &name, if_not_exists, start, increment)?,
            Statement::AlterSequenceOwnedBy { name, owner } => {
                self.alter_sequence_owned_by(sid, &name, owner.as_ref())?
            }
            Statement::Extension { name, tag } => {
                if name != "vector" {
                    return Err(sql_err(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        format!("extension \"{name}\" is not available (only vector is, built in)"),
                    ));
                }
                QueryResult::tag(&tag)
            }
            Statement::AlterOwner { kind, name } => self.alter_owner(sid, &kind, &name)?,
            Statement::DropSequence { names, if_exists } => {
                self.drop_objects(sid, &names, if_exists, "SEQUENCE", false)?
            }
            Statement::Savepoint(name) => {
                let t = self
                    .txns
                    .get_mut(sid)
                    .expect("statement runs in a transaction");
                if !t.explicit {
                    return Err(sql_err(
                        SqlState::NO_ACTIVE_SQL_TRANSACTION,
                        "SAVEPOINT can only be used in transaction blocks",
                    ));
                }
                t.savepoint(name);
                QueryResult::tag("SAVEPOINT")
            }
            Statement::Release(name) => {
                let t = self
                    .txns
                    .get_mut(sid)
                    .expect("statement runs in a transaction");
                if !t.explicit {
                    return Err(sql_err(
                        SqlState::NO_ACTIVE_SQL_TRANSACTION,
                        "RELEASE SAVEPOINT can only be used in transaction blocks",
                    ));
                }
                t.release(&name)?;
                let depth = t.savepoint_depth();
                self.release_settings_to(sid, depth);
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
            Statement::SetTransactionSnapshot(id) => self.import_snapshot(sid, &id)?,
            Statement::Set { name, value, local } => {
                self.set_statement(sid, &name.to_lowercase(), value, local)?;
                QueryResult::tag("SET")
            }
            Statement::Show(name) if name.eq_ignore_ascii_case("all") => self.show_all(sid)?,
            Statement::Discard(what) => self.discard(sid, what)?,
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
            Statement::Reset(name) => {
                self.set_statement(sid, &name.to_lowercase(), ast::SetValue::Default, false)?;
                QueryResult::tag("RESET")
            }
            Statement::Begin { .. }
            | Statement::Commit
            | Statement::Rollback
            | Statement::RollbackTo(_)
            | Statement::PrepareTransaction(_) => unreachable_control(),
            Statement::Explain { analyze, statement } => {
                self.explain(sid, *statement, analyze, params)?
            }
            Statement::AlterTable {
                name,
                if_exists,
                mut ops,
            } => {
                for op in &mut ops {
                    match op {
                        ast::AlterOp::AddColumn { spec, .. } => {
                            self.resolve_type(sid, &mut spec.ty)?
                        }
                        ast::AlterOp::AlterColumnType { ty, .. } => self.resolve_type(sid, ty)?,
                        _ => {}
                    }
                }
                self.alter_table(sid, &name, if_exists, &ops)?
            }
            Statement::AlterView {
                name,
                if_exists,
                ops,
            } => {
                let vname = name.last().cloned().unwrap_or_default();
                match self.lookup_name(sid, &name)? {
                    Some(e) if !matches!(&*e.object, crate::catalog::Object::View(_)) => {
                        return Err(sql_err(
                            SqlState::WRONG_OBJECT_TYPE,
                            format!("\"{vname}\" is not a view"),
                        ))
                    }
                    None if if_exists => {
                        self.raise_notice(
                            sid,
                            Notice::info(
                                SqlState("00000"),
                                format!("relation \"{vname}\" does not exist, skipping"),
                            ),
                        );
                        return Ok(Step::Done(QueryResult::tag("ALTER VIEW")));
                    }
                    _ => {}
                }
                self.alter_table(sid, &name, false, &ops)?;
                QueryResult::tag("ALTER VIEW")
            }
            Statement::Vacuum { tables } => {
                let explicit = self.txns.get(sid).is_some_and(|t| t.explicit);
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
            Statement::Analyze { table, columns } => {
                if let Some(name) = table {
                    self.analyze_names(sid, &name, &columns)?;
                }
                QueryResult::tag("ANALYZE")
            }
            Statement::Truncate { names } => self.truncate(sid, &names)?,
            Statement::Copy(c) => self.copy_statement(sid, *c, params)?,
        }))
    }

    /// COPY: `FROM STDIN` validates the target and hands the front end a
    /// [`CopyIn`]; `TO STDOUT` runs the query and returns its rows.
    pub(super) fn copy_statement(
        &mut self,
        sid: SessionId,
        c: ast::Copy,
        params: &[Value],
    ) -> Result<QueryResult> {
        let quote = |n: &str| format!("\"{}\"", n.replace('"', "\"\""));
        match (c.source, c.from_stdin) {
            (ast::CopySource::Table { name, columns }, true) => {
                let (table, _) = self.table_for_dml(sid, &name, "copy to")?;
                // Generated columns are computed, never copied.
                let names: Vec<String> = if columns.is_empty() {
                    table
                        .live_columns()
                        .filter(|(_, c)| c.generated.is_none())
                        .map(|(_, c)| c.name.clone())
                        .collect()
                } else {
                    columns
                };
                for n in &names {
                    if let Some(i) = table.column(n) {
                        if table.columns[i].generated.is_some() {
                            return Err(super::generated::copy_generated(n));
                        }
                    }
                }
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
                        if let Some(v) = self.dml_view(sid, &name)? {
                            return Err(Error::Sql(
                                SqlError::new(
                                    SqlState::WRONG_OBJECT_TYPE,
                                    format!("cannot copy from view \"{}\"", v.name),
                                )
                                .with_hint("Try the COPY (SELECT ...) TO variant."),
                            ));
                        }
                        let table = self
                            .lookup_name(sid, &name)?
                            .and_then(|e| match &*e.object {
                                crate::catalog::Object::Table(t) => Some(t.clone()),
                                _ => None,
                            });
                        let columns = match &table {
                            Some(t) if columns.is_empty() => t
                                .live_columns()
                                .filter(|(_, c)| c.generated.is_none())
                                .map(|(_, c)| c.name.clone())
                                .collect(),
                            Some(t) => {
                                for n in &columns {
                                    if t.column(n)
                                        .is_some_and(|i| t.columns[i].generated.is_some())
                                    {
                                        return Err(super::generated::copy_generated(n));
                                    }
                                }
                                columns
                            }
                            None => columns,
                        };
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
                let mut r = self.run_query(sid, &query, params, None)?;
                r.command = format!("COPY {}", r.rows.len());
                r.copy = Some(CopyMode::Out(c.format));
                Ok(r)
            }
        }
    }

    /// TRUNCATE: every listed table locked exclusively (so no other open
    /// transaction uses it), then all its rows deleted in this transaction
    /// (MVCC-safe and undone by ROLLBACK, unlike PostgreSQL's file swap).
    pub(super) fn truncate(&mut self, sid: SessionId, names: &[ast::Name]) -> Result<QueryResult> {
        for name in names {
            let (table, _) = self.table_for_dml(sid, name, "truncate")?;
            self.lock_relation(sid, &table, LockMode::AccessExclusive)?;
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
            if let Step::Parked(..) = self.start_delete(sid, &del, &[], None)? {
                return Err(sql_err(
                    SqlState::LOCK_NOT_AVAILABLE,
                    "TRUNCATE found a row locked by another transaction",
                ));
            }
        }
        Ok(QueryResult::tag("TRUNCATE TABLE"))
    }

    /// ANALYZE's checks (there are no statistics to gather): the table
    /// exists and has the columns; anything else is skipped with
    /// PostgreSQL's WARNING.
    fn analyze_names(
        &mut self,
        sid: SessionId,
        name: &ast::Name,
        columns: &[String],
    ) -> Result<()> {
        let entry = self
            .lookup_name(sid, name)?
            .ok_or_else(|| Error::Sql(plan::undefined_table(&Self::display_name(name))))?;
        let crate::catalog::Object::Table(t) = &*entry.object else {
            let tname = name.last().cloned().unwrap_or_default();
            self.raise_notice(
                sid,
                crate::error::Notice::warning(
                    SqlState("01000"),
                    format!(
                        "skipping \"{tname}\" --- cannot analyze non-tables or special system tables"
                    ),
                ),
            );
            return Ok(());
        };
        if let Some(c) = columns
            .iter()
            .find(|c| !t.columns.iter().any(|x| &x.name == *c))
        {
            return Err(sql_err(
                SqlState::UNDEFINED_COLUMN,
                format!("column \"{c}\" of relation \"{}\" does not exist", t.name),
            ));
        }
        Ok(())
    }

    /// The statement snapshot: the transaction's (REPEATABLE READ) or a
    /// fresh one (READ COMMITTED).
    pub(super) fn statement_snapshot(&mut self, sid: SessionId) -> Snapshot {
        self.txns.statement_snapshot(sid)
    }

    /// A query's plan, from the plan cache or bound and optimised now, with
    /// the tables it reads locked ACCESS SHARE (always a
    /// [`CachedPlan::Query`]).
    pub(super) fn query_plan(
        &mut self,
        sid: SessionId,
        q: &ast::Query,
        key: Option<&Rc<str>>,
        snapshot: &Snapshot,
    ) -> Result<Rc<CachedPlan>> {
        let hit = match self.cached_plan(sid, key) {
            Some(c) if self.sees_current_catalog(snapshot) => Some(c),
            _ => None,
        };
        let cached = match hit {
            Some(c) => c,
            None => {
                let ((plan, columns), cte_plans, _) =
                    self.bind(sid, snapshot, |b| b.bind_query(q))?;
                let mut tables = Vec::new();
                plan::scanned_tables(&plan, &mut tables);
                for p in &cte_plans {
                    plan::scanned_tables(p, &mut tables);
                }
                // Locked before planning, as PostgreSQL does: an index
                // being built or dropped is settled by then.
                for t in &tables {
                    self.lock_relation(sid, t, LockMode::AccessShare)?;
                }
                let plan = self.optimize(plan);
                let query = CachedQuery {
                    plan,
                    columns,
                    cte_plans: Rc::new(cte_plans),
                    tables,
                };
                self.cache_plan(sid, key, snapshot, CachedPlan::Query(query))
            }
        };
        if let CachedPlan::Query(query) = &*cached {
            for t in &query.tables {
                self.lock_relation(sid, t, LockMode::AccessShare)?;
            }
        }
        Ok(cached)
    }

    pub(super) fn run_query(
        &mut self,
        sid: SessionId,
        q: &ast::Query,
        params: &[Value],
        key: Option<&Rc<str>>,
    ) -> Result<QueryResult> {
        let snapshot = self.statement_snapshot(sid);
        let cached = self.query_plan(sid, q, key, &snapshot)?;
        let CachedPlan::Query(query) = &*cached else {
            return Err(sql_err(
                SqlState::INTERNAL_ERROR,
                "cached plan of another statement kind",
            ));
        };
        let rows = self.with_env(sid, &snapshot, params, &query.cte_plans, None, |env| {
            run(&query.plan, env)
        })?;
        Ok(QueryResult {
            command: format!("SELECT {}", rows.len()),
            rows_affected: rows.len() as u64,
            columns: query.columns.clone(),
            rows,
            copy: None,
        })
    }

    pub(super) fn explain(
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

    pub(super) fn current_cid(&self, sid: SessionId) -> u32 {
        self.txns.get(sid).map(|t| t.cid).unwrap_or(0)
    }
}
