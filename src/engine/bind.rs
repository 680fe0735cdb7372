//! The statement's view of the catalog: binding SQL against it
//! ([`BindCtx`] answers the binder's [`CatalogAccess`] questions), and the
//! execution environment a plan runs in.

use std::collections::HashMap;
use std::rc::Rc;

use super::dml::DmlExec;
use super::session::Session;
use super::{sql_err, system, Engine, Result, SessionId, SERVER_VERSION};
use crate::catalog::{IndexDef, Object, Oid, SequenceDef, TableDef, ViewDef};
use crate::error::{Error, SqlError, SqlState};
use crate::heap::TupleHeader;
use crate::sql::exec::{run, Env, Row, SsiReads};
use crate::sql::parse::ast::Expr;
use crate::sql::plan::{self, BExpr, Binder, CatalogAccess, CatalogOp, Plan, PlanResult};
use crate::txn::{Liveness, LockMode, LockTag, Snapshot, Viewer};
use crate::value::types::{DataType, RegKind};
use crate::value::Value;

/// The binder's view of the catalog for one statement.
pub(super) struct BindCtx<'a> {
    pub(super) engine: &'a mut Engine,
    pub(super) sid: SessionId,
    pub(super) snapshot: &'a Snapshot,
    pub(super) own: crate::txn::XidSet,
    pub(super) cid: u32,
    /// How many view queries deep binding is (see [`CatalogAccess::in_view`]).
    pub(super) view_depth: usize,
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

    /// Runs `f` with the names the statement sees: its snapshot and the
    /// session's search path (a view's query sees `public` only: its text
    /// qualifies everything else).
    fn with_names<T>(
        &mut self,
        f: impl FnOnce(&mut super::schemas::Names) -> Result<T>,
    ) -> PlanResult<T> {
        let viewer = Viewer {
            snapshot: self.snapshot,
            own: &self.own,
            cid: self.cid + 1,
        };
        let search_path = match self.view_depth {
            0 => self.engine.search_path(self.sid),
            // pg_temp named after public: a temporary table cannot stand
            // in for a public one the view reads.
            _ => vec!["public".to_string(), "pg_temp".to_string()],
        };
        f(&mut super::schemas::Names {
            catalog: &self.engine.catalog,
            txns: &self.engine.txns,
            pager: &mut self.engine.pager,
            viewer: &viewer,
            search_path: &search_path,
            temp: super::schemas::temp_namespace(self.sid),
        })
        .map_err(SqlError::from)
    }

    fn find(&mut self, name: &[String]) -> PlanResult<Option<Rc<Object>>> {
        Ok(self.with_names(|n| n.find(name))?.map(|e| e.object))
    }
}

impl BindCtx<'_> {
    /// `pg_get_serial_sequence(table, column)`: the sequence a serial or
    /// identity column owns, as `public.name`. The table is read as an
    /// identifier (folded unless quoted), the column as written.
    fn serial_sequence(&mut self, table: &str, column: &str) -> PlanResult<Option<String>> {
        self.with_names(|n| {
            let path = n.path()?;
            n.catalog
                .serial_sequence(n.txns, n.pager, n.viewer, &path, table, column)
                .map_err(|e| e.into_error(table, column))
        })
    }
}

impl CatalogAccess for BindCtx<'_> {
    fn enum_type(&mut self, name: &[String]) -> PlanResult<Option<crate::value::types::EnumType>> {
        Ok(match self.find(name)?.as_deref() {
            Some(Object::Type(t)) => Some(t.enum_type()),
            _ => None,
        })
    }

    fn table(&mut self, name: &[String]) -> PlanResult<Option<Rc<TableDef>>> {
        Ok(match self.find(name)?.as_deref() {
            Some(Object::Table(t)) => Some(Rc::new(t.clone())),
            _ => None,
        })
    }

    fn relation_text(&mut self, namespace: Oid, name: &str) -> PlanResult<String> {
        let name = crate::sql::functions::quote_ident(name);
        if super::schemas::is_public(namespace) {
            return Ok(name);
        }
        let schema = self.with_names(|n| Ok(n.namespace_name(namespace)?))?;
        Ok(format!(
            "{}.{name}",
            crate::sql::functions::quote_ident(&schema)
        ))
    }

    fn in_view(&mut self, entering: bool) {
        if entering {
            self.view_depth += 1;
        } else {
            self.view_depth = self.view_depth.saturating_sub(1);
        }
    }

    fn indexes(&mut self, table: &TableDef) -> PlanResult<Vec<Rc<IndexDef>>> {
        Ok(self.engine.table_indexes(table))
    }

    fn plan_indexes(&mut self, table: &TableDef) -> Vec<crate::sql::plan::index_keys::PlanIndex> {
        self.engine.plan_indexes(table)
    }

    fn sequence(&mut self, name: &[String]) -> PlanResult<Option<Rc<SequenceDef>>> {
        Ok(match self.find(name)?.as_deref() {
            Some(Object::Sequence(s)) => Some(Rc::new(s.clone())),
            _ => None,
        })
    }

    fn view(&mut self, name: &[String]) -> PlanResult<Option<Rc<ViewDef>>> {
        Ok(match self.find(name)?.as_deref() {
            Some(Object::View(v)) => Some(Rc::new(v.clone())),
            _ => None,
        })
    }

    fn session_function(
        &mut self,
        name: &str,
        args: &[Expr],
    ) -> PlanResult<Option<(BExpr, DataType)>> {
        let folded = match (name, args) {
            ("txid_current" | "pg_current_xact_id", []) => {
                let xid = self.engine.write_xid(self.sid).map_err(SqlError::from)?;
                let top = self
                    .engine
                    .txns
                    .get(self.sid)
                    .and_then(|t| t.first_xid())
                    .unwrap_or(xid);
                Some((BExpr::Const(Value::Int8(top as i64)), DataType::Int8))
            }
            ("txid_current_if_assigned" | "pg_current_xact_id_if_assigned", []) => {
                let top = self.engine.txns.get(self.sid).and_then(|t| t.first_xid());
                Some((
                    BExpr::Const(top.map_or(Value::Null, |x| Value::Int8(x as i64))),
                    DataType::Int8,
                ))
            }
            ("pg_current_snapshot" | "txid_current_snapshot", []) => Some((
                BExpr::Const(Value::Text(
                    self.engine.snapshot_text(self.sid, self.snapshot),
                )),
                DataType::Text,
            )),
            ("pg_export_snapshot", []) => Some((
                BExpr::Const(Value::Text(
                    self.engine
                        .export_snapshot(self.sid, self.snapshot)
                        .map_err(SqlError::from)?,
                )),
                DataType::Text,
            )),
            ("pg_get_serial_sequence", [table, column]) => {
                let text = |e: &Expr| match e {
                    Expr::UntypedString(s) | Expr::Literal(Value::Text(s)) => Some(s.clone()),
                    _ => None,
                };
                let (Some(table), Some(column)) = (text(table), text(column)) else {
                    return Ok(None);
                };
                let seq = self.serial_sequence(&table, &column)?;
                Some((
                    BExpr::Const(seq.map_or(Value::Null, Value::Text)),
                    DataType::Text,
                ))
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
            // set_config(name, value, is_local): SET [LOCAL] as a function,
            // applied when the statement is bound (its arguments must be
            // constants); is_local outside a transaction block lasts as
            // long as the statement's own transaction, so it changes
            // nothing afterwards (and, unlike SET LOCAL, warns of nothing).
            ("set_config", [setting, value, Expr::Literal(Value::Bool(local))]) => {
                let text = |e: &Expr| match e {
                    Expr::UntypedString(s) | Expr::Literal(Value::Text(s)) => Some(s.clone()),
                    _ => None,
                };
                let (Some(setting), Some(value)) = (text(setting), text(value)) else {
                    return Err(SqlError::new(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        "set_config needs constant arguments",
                    ));
                };
                let in_block = self.engine.txns.get(self.sid).is_some_and(|t| t.explicit);
                if !*local || in_block {
                    let set =
                        crate::sql::parse::ast::SetValue::Values(vec![Expr::UntypedString(value)]);
                    self.engine
                        .set_statement(self.sid, &setting.to_lowercase(), set, *local)
                        .map_err(SqlError::from)?;
                }
                let now = self
                    .engine
                    .show_variable(self.sid, &setting)
                    .map_err(SqlError::from)?;
                Some((BExpr::Const(Value::Text(now)), DataType::Text))
            }
            ("pg_backend_pid", []) => {
                Some((BExpr::Const(Value::Int4(self.sid as i32)), DataType::Int4))
            }
            ("current_user" | "session_user" | "user", []) => Some((
                BExpr::Const(Value::Text(system::USER_NAME.into())),
                DataType::Text,
            )),
            // to_regclass('name') & co.: the object, or NULL when there is
            // none (a literal or parameter name; the catalog function
            // answers at run time).
            ("to_regclass" | "to_regtype" | "to_regnamespace", [arg]) => {
                let kind = match name {
                    "to_regclass" => RegKind::Class,
                    "to_regtype" => RegKind::Type,
                    _ => RegKind::Namespace,
                };
                let arg = match arg {
                    Expr::UntypedString(s) => BExpr::Const(Value::Text(s.clone())),
                    Expr::Param(n) if *n >= 1 => BExpr::Param {
                        index: n - 1,
                        ty: DataType::Text,
                    },
                    _ => return Ok(None),
                };
                let info = Rc::new(self.catalog_info()?);
                Some((
                    BExpr::CatalogFunc {
                        op: CatalogOp::Func(name.to_string()),
                        args: vec![arg],
                        info,
                    },
                    DataType::Reg(kind),
                ))
            }
            // The first schema of the search path that exists, NULL if
            // none does.
            ("current_schema", []) => {
                let first = self.with_names(|n| {
                    let temp = n.temp;
                    match n.path()?.into_iter().find(|&ns| ns != temp) {
                        Some(ns) => Ok(Some(n.namespace_name(ns)?)),
                        None => Ok(None),
                    }
                })?;
                Some((
                    BExpr::Const(first.map_or(Value::Null, Value::Text)),
                    DataType::Text,
                ))
            }
            // The search path's existing schemas, pg_catalog first when
            // implicit ones are asked for.
            ("current_schemas", [Expr::Literal(Value::Bool(implicit))]) => {
                let implicit = *implicit;
                let names = self.with_names(|n| {
                    let mut out = Vec::new();
                    let path = n.path()?;
                    let explicit_catalog = n.search_path.iter().any(|s| s == "pg_catalog");
                    if implicit || explicit_catalog {
                        out.push(Value::Text("pg_catalog".into()));
                    }
                    for ns in path {
                        out.push(Value::Text(n.namespace_name(ns)?));
                    }
                    Ok(out)
                })?;
                Some((
                    BExpr::Const(Value::Array(names)),
                    DataType::Array(Box::new(DataType::Text)),
                ))
            }
            // Set-returning; the binder unnests it (`bind_srf`).
            ("pg_listening_channels", []) => Some((
                BExpr::Const(Value::Array(
                    self.engine
                        .listening_channels(self.sid)
                        .into_iter()
                        .map(Value::Text)
                        .collect(),
                )),
                DataType::Array(Box::new(DataType::Text)),
            )),
            ("pg_notification_queue_usage", []) => Some((
                BExpr::Const(Value::Float8(self.engine.notification_queue_usage())),
                DataType::Float8,
            )),
            ("current_database" | "current_catalog", []) => Some((
                BExpr::Const(Value::Text(self.engine.config.database_name.clone())),
                DataType::Text,
            )),
            _ => None,
        };
        // Folded from the session's state, not the catalog: not cached.
        self.engine.bind_volatile |= folded.is_some();
        Ok(folded)
    }

    fn system_relation(
        &mut self,
        schema: Option<&str>,
        name: &str,
    ) -> PlanResult<Option<plan::SystemRelationRows>> {
        let rows = self.at_viewpoint(|engine, vp| engine.system_relation(vp, schema, name))?;
        // A system view's rows are read while binding: not cached.
        self.engine.bind_volatile |= rows.is_some();
        Ok(rows)
    }

    fn catalog_info(&mut self) -> PlanResult<crate::sql::functions::catalog::CatalogInfo> {
        self.at_viewpoint(|engine, vp| engine.catalog_info(vp))
    }
}

impl Engine {
    pub(super) fn bind<T>(
        &mut self,
        sid: SessionId,
        snapshot: &Snapshot,
        f: impl FnOnce(&mut Binder) -> PlanResult<T>,
    ) -> Result<(T, Vec<Plan>, Vec<DataType>)> {
        let (own, cid) = {
            let t = self.txns.get(sid).expect("in a transaction");
            (t.own().clone(), t.cid)
        };
        let mut ctx = BindCtx {
            engine: self,
            sid,
            snapshot,
            own,
            cid,
            view_depth: 0,
        };
        let hints = ctx.engine.param_hints.clone();
        let lifted_strings = ctx.engine.lifted_strings.clone();
        let mut binder = Binder::new(&mut ctx);
        binder.params = hints;
        binder.lifted_strings = lifted_strings;
        let out = f(&mut binder)?;
        let cte_plans = std::mem::take(&mut binder.cte_plans);
        let params = std::mem::take(&mut binder.params);
        Ok((out, cte_plans, params))
    }

    /// Runs `f` in a DML statement's environment (its snapshot, parameters
    /// and CTEs), lent out of `dml` rather than copied (this runs per row).
    pub(super) fn with_dml_env<T>(
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
    pub(super) fn with_env<T>(
        &mut self,
        sid: SessionId,
        snapshot: &Snapshot,
        params: &[Value],
        cte_plans: &[Plan],
        defaults: Option<Rc<Vec<BExpr>>>,
        f: impl FnOnce(&mut Env) -> Result<T>,
    ) -> Result<T> {
        let clock = self.config.clock;
        // Borrow the session's fields and the engine's (this runs per row
        // in DML).
        let Session {
            settings,
            currval,
            rng,
            notices,
            ..
        } = self
            .sessions
            .get_mut(&sid)
            .ok_or_else(|| sql_err(SqlState("08003"), "no such session"))?;
        let t = self.txns.get(sid).expect("statements run in a transaction");
        let tracked = t.ssi_tracked && self.txns.ssi.of_session(sid).is_some();
        let settings = &*settings;
        let show = |name: &str| super::settings::show_setting(settings, Some(t), name);
        let (result, reads, notifies) = {
            let mut env = Env {
                pager: &mut self.pager,
                txns: &self.txns,
                snapshot,
                own: t.own(),
                cid: t.cid,
                params,
                tz: &settings.timezone,
                now: if t.start_time != 0 {
                    t.start_time
                } else {
                    clock()
                },
                cte_plans,
                outer: Vec::new(),
                cte_results: HashMap::new(),
                work_tables: HashMap::new(),
                subquery_cache: HashMap::new(),
                currval,
                defaults,
                rng,
                catalog: Some(&self.catalog),
                show: Some(&show),
                stats: None,
                clock,
                interrupts: &self.interrupts,
                hnsw: settings.hnsw,
                session: sid,
                ssi: tracked.then(SsiReads::default),
                notices,
                notifies: Vec::new(),
                seen_commit: None,
            };
            let result = f(&mut env);
            (result, env.ssi.take(), std::mem::take(&mut env.notifies))
        };
        if result.is_ok() && !notifies.is_empty() {
            if let Some(t) = self.txns.get_mut(sid) {
                t.async_actions.extend(notifies);
            }
        }
        // SERIALIZABLE: what the statement read is locked, and the
        // changes it did not see are conflicts out (even if it failed:
        // its client may still act on what it saw before).
        if let Some(reads) = reads {
            self.txns.ssi.lock(sid, reads.targets);
            for w in reads.writers {
                self.txns
                    .ssi
                    .conflict_out(sid, w)
                    .map_err(|f| Error::Sql(crate::txn::serialization_error(&f)))?;
            }
        }
        result
    }

    /// Rewrites `Filter(SeqScan)` into index scans where an index fits.
    pub(super) fn optimize(&mut self, plan: Plan) -> Plan {
        crate::sql::plan::optimize::optimize(plan, &mut |table| self.plan_indexes(table))
    }

    pub(super) fn table_indexes(&mut self, table: &TableDef) -> Vec<Rc<IndexDef>> {
        // Indexes are looked up with the latest committed catalog plus our
        // own changes; an index invisible to us is never used.
        self.catalog_entries_all()
            .into_iter()
            .filter_map(|o| match &*o {
                // An index rebuilt for another version of the table (ALTER
                // COLUMN TYPE) points into another heap.
                Object::Index(i)
                    if i.table == table.oid && (i.heap == 0 || i.heap == table.heap) =>
                {
                    Some(Rc::new(i.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// Catalog objects that are not deleted by a committed transaction
    /// (used for index maintenance: every index of the table gets entries).
    pub(super) fn catalog_entries_all(&mut self) -> Vec<Rc<Object>> {
        let everyone = Snapshot {
            xmax: u64::MAX,
            in_progress: Default::default(),
        };
        let own: crate::txn::XidSet = self
            .txns
            .running_xids()
            .into_iter()
            .map(|(x, _)| x)
            .collect();
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

    /// Fails if another open transaction is creating (or renaming to) an
    /// object called `name`: without a wait queue for DDL we refuse rather
    /// than let two objects share a name.
    pub(super) fn check_name_not_in_flux(&mut self, sid: SessionId, name: &str) -> Result<()> {
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
    pub(super) fn lock_relation(
        &mut self,
        sid: SessionId,
        table: &TableDef,
        mode: LockMode,
    ) -> Result<()> {
        self.lock_relation_as(sid, table, mode, false)
    }

    /// Takes `mode` on `table` for `sid`'s transaction. A conflicting
    /// lock makes the statement wait (`Error::Wait`: it is parked and
    /// runs again once the holder's transaction ends), or with `nowait`
    /// fails with 55P03 as PostgreSQL's NOWAIT does.
    pub(super) fn lock_relation_as(
        &mut self,
        sid: SessionId,
        table: &TableDef,
        mode: LockMode,
        nowait: bool,
    ) -> Result<()> {
        match self.txns.lock_relation(sid, table.oid, mode) {
            Ok(()) => {
                // Writers and DDL that rewrites or drops: what commit
                // events report (LOCK TABLE in these modes counts too).
                if matches!(mode, LockMode::RowExclusive | LockMode::AccessExclusive) {
                    self.note_written(sid, table.oid);
                }
                Ok(())
            }
            Err(_) if nowait => Err(Error::Sql(SqlError::new(
                SqlState::LOCK_NOT_AVAILABLE,
                format!("could not obtain lock on relation \"{}\"", table.name),
            ))),
            Err(c) => {
                self.txns
                    .lock_table()
                    .enqueue(sid, LockTag::Relation(table.oid), mode);
                Err(Error::Wait { holder: c.holder })
            }
        }
    }

    /// Rows of `table` visible to this session's next command, with TIDs.
    pub(super) fn visible_rows(&mut self, sid: SessionId, table: &TableDef) -> Result<Vec<Row>> {
        let snapshot = self.take_snapshot(sid);
        let plan = Plan::SeqScan {
            table: Rc::new(table.clone()),
            filter: None,
            with_tid: true,
            needed: None,
        };
        if let Some(t) = self.txns.get_mut(sid) {
            t.cid += 1;
        }
        self.with_env(sid, &snapshot, &[], &[], None, |env| run(&plan, env))
    }

    pub(super) fn table_has_rows(&mut self, sid: SessionId, table: &TableDef) -> Result<bool> {
        Ok(!self.visible_rows(sid, table)?.is_empty())
    }

    pub(super) fn column_has_null(
        &mut self,
        sid: SessionId,
        table: &TableDef,
        col: usize,
    ) -> Result<bool> {
        Ok(self
            .visible_rows(sid, table)?
            .iter()
            .any(|r| r[col].is_null()))
    }

    pub(super) fn table_by_oid(&mut self, oid: Oid) -> Option<TableDef> {
        self.catalog_entries_all()
            .into_iter()
            .find_map(|o| match &*o {
                Object::Table(t) if t.oid == oid => Some(t.clone()),
                _ => None,
            })
    }
}
