//! INSERT, UPDATE, DELETE and SELECT ... FOR UPDATE: a statement's target
//! rows are computed first, then applied one at a time ([`DmlExec`]), so
//! that a row held by another transaction parks the statement with its
//! position and it resumes there.

use std::rc::Rc;

use super::constraints::UniqueCheck;
use super::ddl::column_positions;
use super::plan_cache::{CachedInsert, CachedModify, CachedPlan};
use super::rowlock::{clause_mode, update_lock_mode, RowLockCheck};
use super::session::Step;
use super::views::{rewrite_delete, rewrite_insert, rewrite_update};
use super::{sql_err, system, Engine, QueryResult, Result, SessionId};
use crate::access;
use crate::catalog::{IdentityKind, IndexDef, Object, Oid, TableDef};
use crate::error::{Error, SqlError, SqlState};
use crate::heap::{flags, Heap, Tid, TupleHeader};
use crate::sql::exec::{self, eval, passes, run, value_tid, Row};
use crate::sql::parse::ast::{self, Expr};
use crate::sql::parse::translate;
use crate::sql::plan::{self, table_scope, BExpr, Binder, Column, Plan, PlanResult, Scope};
use crate::txn::ssi::Write;
use crate::txn::{IsolationLevel, LockMode, RowLockMode, Snapshot, Xid, XidStatus};
use crate::value::cast::cast_assignment;
use crate::value::row::encode_row;
use crate::value::types::DataType;
use crate::value::Value;

/// A DML statement in progress (possibly parked).
pub(super) struct DmlExec {
    pub(super) kind: DmlKind,
    pub(super) table: Rc<TableDef>,
    pub(super) indexes: Vec<Rc<IndexDef>>,
    /// Input rows: new rows (INSERT), or target rows `[table cols.., ctid, extra..]`.
    pub(super) rows: Vec<Row>,
    pub(super) pos: usize,
    pub(super) returning: Option<(Vec<BExpr>, Vec<Column>)>,
    pub(super) out: Vec<Row>,
    pub(super) count: u64,
    pub(super) snapshot: Snapshot,
    pub(super) cid: u32,
    pub(super) params: Vec<Value>,
    pub(super) checks: Vec<(String, BExpr)>,
    pub(super) cte_plans: Rc<Vec<Plan>>,
    /// Row changes go to the change feed (`changefeed.rs`).
    pub(super) capture: bool,
    /// A multi-row INSERT's entries for its non-unique B+tree indexes (one
    /// list per `indexes` position), inserted sorted, one descent per leaf,
    /// once every row is in (`Engine::insert_index_batches`). Nothing
    /// reads them before: the statement does not see its own rows, other
    /// transactions do not see uncommitted ones, and uniqueness and
    /// foreign-key checks use unique indexes, whose entries go in at once.
    pub(super) index_batches: Option<Vec<access::EntryBatch>>,
}

/// From how many rows an INSERT batches its index entries.
const INDEX_BATCH_MIN_ROWS: usize = 64;

/// ON CONFLICT: which unique index arbitrates (None = any), and what to do.
#[derive(Clone)]
pub(super) struct ConflictSpec {
    pub(super) arbiter: Option<Oid>,
    pub(super) action: ConflictDo,
}

#[derive(Clone)]
pub(super) enum ConflictDo {
    Nothing,
    /// Over `existing row ++ proposed row` (the `excluded` pseudo-table).
    Update {
        assignments: Vec<(usize, BExpr)>,
        pred: Option<BExpr>,
    },
}

pub(super) enum DmlKind {
    Insert(Option<ConflictSpec>),
    Update {
        assignments: Vec<(usize, BExpr)>,
        pred: Option<BExpr>,
    },
    Delete {
        pred: Option<BExpr>,
        /// The rows hold only the WHERE clause's columns and the TID.
        partial_rows: bool,
    },
    /// SELECT ... FOR UPDATE/SHARE: rows are `[output columns.., ctid]`.
    Lock {
        mode: RowLockMode,
        /// OFFSET and LIMIT, applied to the rows locked (as PostgreSQL's
        /// LockRows node sits below Limit: a skipped row does not count).
        offset: usize,
        limit: Option<usize>,
        wait: ast::LockWait,
        query: Box<ast::Query>,
        columns: Vec<Column>,
        restarts: u32,
        /// Set when READ COMMITTED must rerun the query on a fresh snapshot
        /// (a row changed under it).
        restart: bool,
    },
}

pub(super) enum LockOutcome {
    Locked(Tid, Row),
    Wait(SessionId),
    Skip,
}

/// Which of a table's `ncols` columns the WHERE clause `pred` reads; `None`
/// when that cannot be told (a subquery).
fn where_columns(pred: Option<&BExpr>, ncols: usize) -> Option<Rc<[bool]>> {
    let mut needed = vec![false; ncols];
    let mut ok = true;
    if let Some(p) = pred {
        // Past the table's columns: the TID, always there.
        plan::visit_cols(
            p,
            &mut |c| {
                if let Some(n) = needed.get_mut(c) {
                    *n = true;
                }
            },
            &mut ok,
        );
    }
    ok.then(|| needed.into())
}

/// Makes the scan under a single-table DELETE's filter decode only the
/// `needed` columns.
fn decode_only(plan: &mut Plan, needed: &Rc<[bool]>) {
    match plan {
        Plan::SeqScan { needed: n, .. } | Plan::IndexScan { needed: n, .. } => {
            *n = Some(needed.clone())
        }
        Plan::Filter { input, .. } => decode_only(input, needed),
        _ => {}
    }
}

/// Makes a single-table query plan also output each row's TID (last
/// column). `None` for shapes FOR UPDATE does not allow.
pub(super) fn with_row_ids(plan: Plan, ncols: usize) -> Option<Plan> {
    Some(match plan {
        Plan::SeqScan { table, filter, .. } => Plan::SeqScan {
            table,
            filter,
            with_tid: true,
            needed: None,
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
            needed: None,
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

/// A query's LIMIT and OFFSET expressions.
type LimitOffset = (Option<BExpr>, Option<BExpr>);

/// Takes the LIMIT/OFFSET off a locking query's plan (through the
/// per-row nodes above it): the rows are locked first, and the limit
/// applies to those locked.
fn split_limit(plan: Plan) -> (Plan, Option<LimitOffset>) {
    match plan {
        Plan::Limit {
            input,
            limit,
            offset,
        } => (*input, Some((limit, offset))),
        Plan::Project {
            input,
            exprs,
            columns,
        } => {
            let (input, l) = split_limit(*input);
            (
                Plan::Project {
                    input: Box::new(input),
                    exprs,
                    columns,
                },
                l,
            )
        }
        Plan::Truncate { input, keep } => {
            let (input, l) = split_limit(*input);
            (
                Plan::Truncate {
                    input: Box::new(input),
                    keep,
                },
                l,
            )
        }
        other => (other, None),
    }
}

/// A LIMIT or OFFSET value as a count (`None` for NULL: no limit).
fn row_count(v: Value, what: &str) -> Result<Option<usize>> {
    match v {
        Value::Null => Ok(None),
        Value::Int8(n) if n >= 0 => Ok(Some(n as usize)),
        Value::Int4(n) if n >= 0 => Ok(Some(n as usize)),
        _ => Err(sql_err(
            SqlState(if what == "LIMIT" { "2201W" } else { "2201X" }),
            format!("{what} must not be negative"),
        )),
    }
}

/// FROM clause of UPDATE/DELETE: the target (with its TID) then the others.
pub(super) fn dml_input(
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
        needed: None,
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

impl Engine {
    /// SELECT ... FOR UPDATE / FOR SHARE (FOR SHARE takes the same
    /// exclusive row lock). Supported over one table without aggregation.
    pub(super) fn start_locking_query(
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
        if self.txns.get(sid).is_some_and(|t| t.read_only) {
            return Err(sql_err(
                SqlState::READ_ONLY_SQL_TRANSACTION,
                format!(
                    "cannot execute SELECT {} in a read-only transaction",
                    clause_mode(locking.strength).clause()
                ),
            ));
        }
        self.lock_relation(sid, &table, LockMode::RowShare)?;
        // Before optimizing, which would push the limit into the scan.
        let (plan, limit_clause) = split_limit(plan);
        let plan = self.optimize(plan);
        let plan = with_row_ids(plan, table.columns.len()).ok_or_else(|| {
            sql_err(
                SqlState::FEATURE_NOT_SUPPORTED,
                "FOR UPDATE is not allowed with aggregates, DISTINCT, set operations or joins",
            )
        })?;
        let (rows, offset, limit) =
            self.with_env(sid, &snapshot, params, &cte_plans, None, |env| {
                let (offset, limit) = match &limit_clause {
                    Some((limit, offset)) => (
                        offset
                            .as_ref()
                            .map(|e| row_count(eval(e, &[], env)?, "OFFSET"))
                            .transpose()?
                            .flatten()
                            .unwrap_or(0),
                        limit
                            .as_ref()
                            .map(|e| row_count(eval(e, &[], env)?, "LIMIT"))
                            .transpose()?
                            .flatten(),
                    ),
                    None => (0, None),
                };
                Ok((run(&plan, env)?, offset, limit))
            })?;
        let dml = DmlExec {
            capture: false,
            kind: DmlKind::Lock {
                mode: clause_mode(locking.strength),
                offset,
                limit,
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
            cte_plans: Rc::new(cte_plans),
            index_batches: None,
        };
        self.continue_dml(sid, dml)
    }

    pub(super) fn evaluated_defaults(
        &mut self,
        sid: SessionId,
        table: &TableDef,
    ) -> Result<Vec<Value>> {
        let snapshot = self.take_snapshot(sid);
        let (defaults, _, _) = self.bind(sid, &snapshot, |b| Self::bind_defaults(b, table))?;
        self.with_env(sid, &snapshot, &[], &[], None, |env| {
            defaults
                .iter()
                .map(|d| eval(d, &[], env))
                .collect::<Result<Vec<_>>>()
        })
    }

    pub(super) fn table_for_dml(
        &mut self,
        sid: SessionId,
        name: &ast::Name,
        verb: &str,
    ) -> Result<(Rc<TableDef>, Vec<Rc<IndexDef>>)> {
        system::refuse_write(name, verb)?;
        let tname = name.last().cloned().unwrap_or_default();
        let entry = self
            .lookup_name(sid, name)?
            .ok_or_else(|| plan::undefined_table(&Self::display_name(name)))?;
        let Object::Table(t) = &*entry.object else {
            if matches!(&*entry.object, Object::View(_)) && verb == "copy to" {
                return Err(Error::Sql(
                    SqlError::new(
                        SqlState::WRONG_OBJECT_TYPE,
                        format!("cannot copy to view \"{tname}\""),
                    )
                    .with_hint(
                        "To enable copying to a view, provide an INSTEAD OF INSERT trigger.",
                    ),
                ));
            }
            return Err(sql_err(
                SqlState::WRONG_OBJECT_TYPE,
                format!("\"{tname}\" is not a table"),
            ));
        };
        let table = Rc::new(t.clone());
        self.lock_relation(sid, &table, LockMode::RowExclusive)?;
        let indexes = self.table_indexes(&table);
        Ok((table, indexes))
    }

    /// Bound CHECK constraints of `table` (over a table row).
    pub(super) fn bind_checks(
        binder: &mut Binder,
        table: &TableDef,
    ) -> PlanResult<Vec<(String, BExpr)>> {
        let scope = table_scope(table, &table.name, &[]);
        let mut out = Vec::new();
        for c in &table.checks {
            let e = translate::parse_expr(&c.expr)?;
            out.push((c.name.clone(), binder.bind_expr(&e, &scope)?.0));
        }
        Ok(out)
    }

    /// The unique index named by ON CONFLICT (None: any unique index).
    pub(super) fn conflict_arbiter(
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
                    i.unique && i.is_plain() && have == want
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
    pub(super) fn bind_conflict(
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
                    if table.columns[i].generated.is_some() {
                        // DEFAULT: it is computed anyway.
                        if a.value == Expr::Default {
                            continue;
                        }
                        return Err(super::generated::not_default(&a.column, true));
                    }
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
    pub(super) fn bind_defaults(binder: &mut Binder, table: &TableDef) -> PlanResult<Vec<BExpr>> {
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

    pub(super) fn start_insert(
        &mut self,
        sid: SessionId,
        ins: &ast::Insert,
        params: &[Value],
        key: Option<&Rc<str>>,
    ) -> Result<Step> {
        if let Some(cached) = self.cached_plan(sid, key) {
            if let CachedPlan::Insert(insert) = &*cached {
                self.lock_relation(sid, &insert.table, LockMode::RowExclusive)?;
                let snapshot = self.statement_snapshot(sid);
                if self.sees_current_catalog(&snapshot) {
                    return self.run_insert(sid, insert, snapshot, params);
                }
            }
        }
        let rewritten;
        let ins = match self.dml_view(sid, &ins.table)? {
            Some(_) => {
                rewritten = self.through_views(sid, ins.clone(), |i| &i.table, rewrite_insert)?;
                &rewritten
            }
            None => ins,
        };
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
        // COPY FROM writes identity columns as given, as PostgreSQL's does
        // (a restored dump keeps its GENERATED ALWAYS values).
        let copying = self
            .sessions
            .get(&sid)
            .and_then(|s| s.pending.as_ref())
            .is_some_and(|p| p.copy);
        for &i in &targets {
            if table.columns[i].identity == Some(IdentityKind::Always) && !copying {
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
        // A generated column takes only DEFAULT.
        for (k, &i) in targets.iter().enumerate() {
            if table.columns[i].generated.is_none() {
                continue;
            }
            let all_default = match &ins.source {
                ast::InsertSource::DefaultValues => true,
                ast::InsertSource::Query(q) => match &q.body {
                    ast::SetExpr::Values(rows) => rows
                        .iter()
                        .all(|r| matches!(r.get(k), Some(Expr::Default) | None)),
                    _ => false,
                },
            };
            if !all_default {
                return Err(Error::Sql(super::generated::not_default(
                    &table.columns[i].name,
                    false,
                )));
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
        let capture = self.captures(sid, &table)?;
        let insert = CachedInsert {
            table,
            indexes,
            targets,
            default_values: matches!(ins.source, ast::InsertSource::DefaultValues),
            source,
            defaults,
            target_defaults,
            checks,
            returning,
            on_conflict,
            cte_plans: Rc::new(cte_plans),
            capture,
        };
        let cached = self.cache_plan(sid, key, &snapshot, CachedPlan::Insert(insert));
        let CachedPlan::Insert(insert) = &*cached else {
            unreachable!("just built as an insert");
        };
        self.run_insert(sid, insert, snapshot, params)
    }

    /// Computes an INSERT's new rows (casts, defaults) and starts
    /// inserting them.
    fn run_insert(
        &mut self,
        sid: SessionId,
        insert: &CachedInsert,
        snapshot: Snapshot,
        params: &[Value],
    ) -> Result<Step> {
        let table = &insert.table;
        let rows = self.with_env(
            sid,
            &snapshot,
            params,
            &insert.cte_plans,
            Some(insert.target_defaults.clone()),
            |env| {
                let mut src = run(&insert.source, env)?;
                // The same columns are given for every row.
                let mut given = vec![false; table.columns.len()];
                if !insert.default_values {
                    for &i in &insert.targets {
                        given[i] = true;
                    }
                }
                // Each source row is rebuilt in place (its values moved,
                // not cloned) unless it already is in table order.
                let in_order = !insert.default_values
                    && insert.targets.len() == table.columns.len()
                    && insert.targets.iter().enumerate().all(|(k, &i)| k == i);
                for r in &mut src {
                    if in_order {
                        for (v, col) in r.iter_mut().zip(&table.columns) {
                            let given = std::mem::replace(v, Value::Null);
                            *v = cast_assignment(given, &col.ty, env.tz)?;
                        }
                        continue;
                    }
                    let mut row: Row = vec![Value::Null; table.columns.len()];
                    if !insert.default_values {
                        for (k, &i) in insert.targets.iter().enumerate() {
                            let v = r
                                .get_mut(k)
                                .map_or(Value::Null, |v| std::mem::replace(v, Value::Null));
                            row[i] = cast_assignment(v, &table.columns[i].ty, env.tz)?;
                        }
                    }
                    for (i, d) in insert.defaults.iter().enumerate() {
                        if !given[i] && !table.columns[i].dropped {
                            row[i] = eval(d, &[], env)?;
                        }
                    }
                    *r = row;
                }
                Ok(src)
            },
        )?;
        let index_batches = (insert.on_conflict.is_none() && rows.len() >= INDEX_BATCH_MIN_ROWS)
            .then(|| insert.indexes.iter().map(|_| Default::default()).collect());
        let dml = DmlExec {
            capture: insert.capture,
            kind: DmlKind::Insert(insert.on_conflict.clone()),
            table: table.clone(),
            indexes: insert.indexes.clone(),
            rows,
            pos: 0,
            returning: insert.returning.clone(),
            out: Vec::new(),
            count: 0,
            snapshot,
            cid: self.current_cid(sid),
            params: params.to_vec(),
            checks: insert.checks.clone(),
            cte_plans: insert.cte_plans.clone(),
            index_batches,
        };
        self.continue_dml(sid, dml)
    }

    pub(super) fn start_update(
        &mut self,
        sid: SessionId,
        up: &ast::Update,
        params: &[Value],
        key: Option<&Rc<str>>,
    ) -> Result<Step> {
        if let Some(step) = self.run_cached_modify(sid, params, key)? {
            return Ok(step);
        }
        let rewritten;
        let up = match self.dml_view(sid, &up.table)? {
            Some(_) => {
                rewritten = self.through_views(sid, up.clone(), |u| &u.table, rewrite_update)?;
                &rewritten
            }
            None => up,
        };
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
                    if table_c.columns[i].generated.is_some() {
                        if a.value == Expr::Default {
                            continue;
                        }
                        return Err(super::generated::not_default(&a.column, true));
                    }
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
        let capture = self.captures(sid, &table)?;
        let modify = CachedModify {
            table,
            indexes,
            plan,
            assignments: Some(assignments),
            pred,
            checks,
            returning,
            cte_plans: Rc::new(cte_plans),
            capture,
            partial_rows: false,
        };
        self.cache_and_run_modify(sid, key, snapshot, modify, params)
    }

    /// Keeps a just-bound UPDATE or DELETE in the plan cache and runs it.
    fn cache_and_run_modify(
        &mut self,
        sid: SessionId,
        key: Option<&Rc<str>>,
        snapshot: Snapshot,
        modify: CachedModify,
        params: &[Value],
    ) -> Result<Step> {
        let cached = self.cache_plan(sid, key, &snapshot, CachedPlan::Modify(modify));
        let CachedPlan::Modify(modify) = &*cached else {
            unreachable!("just built as a modification");
        };
        self.run_modify(sid, modify, snapshot, params)
    }

    /// UPDATE or DELETE from the plan cache: `None` when there is no valid
    /// entry (the statement is bound afresh).
    fn run_cached_modify(
        &mut self,
        sid: SessionId,
        params: &[Value],
        key: Option<&Rc<str>>,
    ) -> Result<Option<Step>> {
        let Some(cached) = self.cached_plan(sid, key) else {
            return Ok(None);
        };
        let CachedPlan::Modify(modify) = &*cached else {
            return Ok(None);
        };
        // As when binding: the table's lock, then the snapshot.
        self.lock_relation(sid, &modify.table, LockMode::RowExclusive)?;
        let snapshot = self.statement_snapshot(sid);
        if !self.sees_current_catalog(&snapshot) {
            return Ok(None);
        }
        self.run_modify(sid, modify, snapshot, params).map(Some)
    }

    /// Finds the rows an UPDATE or DELETE changes, and starts changing
    /// them.
    fn run_modify(
        &mut self,
        sid: SessionId,
        modify: &CachedModify,
        snapshot: Snapshot,
        params: &[Value],
    ) -> Result<Step> {
        let rows = self.with_env(sid, &snapshot, params, &modify.cte_plans, None, |env| {
            run(&modify.plan, env)
        })?;
        let kind = match &modify.assignments {
            Some(assignments) => DmlKind::Update {
                assignments: assignments.clone(),
                pred: modify.pred.clone(),
            },
            None => DmlKind::Delete {
                pred: modify.pred.clone(),
                partial_rows: modify.partial_rows,
            },
        };
        let dml = DmlExec {
            capture: modify.capture,
            kind,
            table: modify.table.clone(),
            indexes: modify.indexes.clone(),
            rows,
            pos: 0,
            returning: modify.returning.clone(),
            out: Vec::new(),
            count: 0,
            snapshot,
            cid: self.current_cid(sid),
            params: params.to_vec(),
            checks: modify.checks.clone(),
            cte_plans: modify.cte_plans.clone(),
            index_batches: None,
        };
        self.continue_dml(sid, dml)
    }

    pub(super) fn start_delete(
        &mut self,
        sid: SessionId,
        del: &ast::Delete,
        params: &[Value],
        key: Option<&Rc<str>>,
    ) -> Result<Step> {
        if let Some(step) = self.run_cached_modify(sid, params, key)? {
            return Ok(step);
        }
        let rewritten;
        let del = match self.dml_view(sid, &del.table)? {
            Some(_) => {
                rewritten = self.through_views(sid, del.clone(), |d| &d.table, rewrite_delete)?;
                &rewritten
            }
            None => del,
        };
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
        let capture = self.captures(sid, &table)?;
        // Nothing but the WHERE clause reads the old rows: no RETURNING,
        // no change capture, no foreign key referencing the table (the
        // catalog epoch, which the cached plan is checked against, moves
        // when one is added; `apply_one` reads the whole row if one came
        // while the statement waited).
        let needed = (del.using.is_empty()
            && returning.is_none()
            && !capture
            && self.fk_children(table.oid).is_empty())
        .then(|| where_columns(pred.as_ref(), table.columns.len()))
        .flatten();
        let partial_rows = needed.is_some();
        let mut plan = plan;
        if let Some(needed) = &needed {
            decode_only(&mut plan, needed);
        }
        let modify = CachedModify {
            table,
            indexes,
            plan,
            assignments: None,
            pred,
            checks: Vec::new(),
            returning,
            cte_plans: Rc::new(cte_plans),
            capture,
            partial_rows,
        };
        self.cache_and_run_modify(sid, key, snapshot, modify, params)
    }

    /// Applies a DML statement's rows from `pos` on; parks on a held row.
    pub(super) fn continue_dml(&mut self, sid: SessionId, mut dml: DmlExec) -> Result<Step> {
        let xid = self.write_xid(sid)?;
        while dml.pos < dml.rows.len() {
            if let DmlKind::Lock { limit: Some(l), .. } = dml.kind {
                if dml.out.len() >= l {
                    break;
                }
            }
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
        self.insert_index_batches(&mut dml)?;
        let oid = dml.table.oid;
        match dml.kind {
            DmlKind::Insert(_) => *self.insert_counts.entry(oid).or_default() += dml.count,
            _ => self.note_dead_rows(oid, dml.count, xid),
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
    pub(super) fn apply_one(
        &mut self,
        sid: SessionId,
        xid: Xid,
        dml: &mut DmlExec,
    ) -> Result<Option<SessionId>> {
        let ncols = dml.table.columns.len();
        match &dml.kind {
            DmlKind::Insert(_) => {
                // Taken, not cloned: a parked insert puts it back (checking
                // it again is harmless: generated columns are recomputed
                // from the others).
                let mut row = std::mem::take(&mut dml.rows[dml.pos]);
                self.check_row(sid, dml, &mut row)?;
                // SERIALIZABLE: as PostgreSQL writes the heap tuple before
                // it checks index uniqueness, a reader of the table learns
                // of the insert first.
                let table_oid = dml.table.oid;
                self.ssi_write(sid, &[Write::Table(table_oid)])?;
                let (idx, existing) = match self.check_unique(sid, dml, &row, None)? {
                    UniqueCheck::Ok => {
                        let table = dml.table.clone();
                        if let Some(holder) = self.check_fk_parents(sid, &table, &row, None)? {
                            dml.rows[dml.pos] = row;
                            return Ok(Some(holder));
                        }
                        let mut batches = dml.index_batches.take();
                        let inserted =
                            self.insert_version(dml, xid, &row, None, None, batches.as_deref_mut());
                        dml.index_batches = batches;
                        inserted?;
                        if dml.capture {
                            self.capture(
                                sid,
                                &dml.table,
                                &dml.indexes,
                                "INSERT",
                                None,
                                Some(&row),
                            )?;
                        }
                        dml.count += 1;
                        self.emit_returning(sid, dml, &row)?;
                        return Ok(None);
                    }
                    UniqueCheck::Wait(holder) => {
                        dml.rows[dml.pos] = row;
                        return Ok(Some(holder));
                    }
                    UniqueCheck::Conflict(idx, tid) => (idx, tid),
                };
                // The upsert below may park too.
                dml.rows[dml.pos] = row.clone();
                let conflict = match &dml.kind {
                    DmlKind::Insert(Some(c)) if c.arbiter.is_none_or(|o| o == idx.oid) => {
                        Some(&c.action)
                    }
                    _ => None,
                };
                if conflict.is_some() {
                    // SERIALIZABLE: the existing row decided the outcome,
                    // so it counts as read.
                    self.ssi_read_tuple(sid, table_oid, existing);
                }
                let (assignments, pred) = match conflict {
                    Some(ConflictDo::Nothing) => return Ok(None),
                    Some(ConflictDo::Update { assignments, pred }) => {
                        (assignments.clone(), pred.clone())
                    }
                    None => return Err(self.unique_violation(sid, &dml.table, &idx, &row)),
                };
                self.upsert(sid, xid, dml, existing, row, &assignments, pred.as_ref())
            }
            DmlKind::Lock { wait, mode, .. } => {
                let (wait, mode) = (*wait, *mode);
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
                match self.row_lock_check(sid, &heap, tid, &h, mode)? {
                    RowLockCheck::Free => {}
                    RowLockCheck::Busy(owner) => match wait {
                        ast::LockWait::Wait => return Ok(Some(owner)),
                        ast::LockWait::SkipLocked => return Ok(None),
                        ast::LockWait::NoWait => {
                            return Err(sql_err(
                                SqlState::LOCK_NOT_AVAILABLE,
                                format!(
                                    "could not obtain lock on row in relation \"{}\"",
                                    dml.table.name
                                ),
                            ))
                        }
                    },
                    RowLockCheck::Changed => {
                        // Changed by a transaction our snapshot does not see.
                        let rc = self
                            .txns
                            .get(sid)
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
                let cid = dml.cid;
                self.take_row_lock(sid, xid, cid, &heap, tid, mode)?;
                if let DmlKind::Lock { offset, .. } = &mut dml.kind {
                    if *offset > 0 {
                        *offset -= 1;
                        return Ok(None);
                    }
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
                let mode = match &dml.kind {
                    DmlKind::Update { assignments, .. } => {
                        update_lock_mode(&dml.indexes, assignments.iter().map(|(i, _)| *i))
                    }
                    _ => RowLockMode::Update,
                };
                let (tid, input) = match self.lock_row(sid, dml, tid, input, mode)? {
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
                    self.check_row(sid, dml, &mut new_row)?;
                    let old_row = &input[..ncols];
                    // No key changes: the old version's entries serve the
                    // new one (nothing new to check for uniqueness).
                    let same_keys =
                        self.keys_unchanged(&dml.table, &dml.indexes, old_row, &new_row);
                    if !same_keys {
                        if let Some(holder) = self.check_unique_update(sid, dml, &new_row, tid)? {
                            return Ok(Some(holder));
                        }
                    }
                    let table = dml.table.clone();
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
                    let (new_tid, hot) = self.insert_version(
                        dml,
                        xid,
                        &new_row,
                        Some(old_row),
                        same_keys.then_some(tid),
                        None,
                    )?;
                    self.ssi_write_version(xid, &dml.table, tid)?;
                    self.mark_replaced(sid, &heap, tid, xid, cid, Some(new_tid), hot, mode)?;
                    if dml.capture {
                        let old_row = &input[..ncols];
                        self.capture(
                            sid,
                            &dml.table,
                            &dml.indexes,
                            "UPDATE",
                            Some(old_row),
                            Some(&new_row),
                        )?;
                    }
                    let mut ret_row = new_row;
                    ret_row.extend_from_slice(&input[ncols..]);
                    dml.count += 1;
                    self.emit_returning(sid, dml, &ret_row)?;
                } else {
                    let table = dml.table.clone();
                    let mut input = input;
                    if matches!(
                        dml.kind,
                        DmlKind::Delete {
                            partial_rows: true,
                            ..
                        }
                    ) && !self.fk_children(table.oid).is_empty()
                    {
                        // A foreign key came while the statement waited.
                        let t = heap.fetch(&mut self.pager, tid)?.ok_or_else(|| {
                            sql_err(SqlState::INTERNAL_ERROR, "locked row vanished")
                        })?;
                        let full = exec::decode_table_row(&table, &t.payload)?;
                        input.splice(..ncols, full);
                    }
                    if let Some(holder) =
                        self.enforce_fk_children(sid, xid, &table, &input[..ncols], None, 0)?
                    {
                        return Ok(Some(holder));
                    }
                    self.ssi_write_version(xid, &dml.table, tid)?;
                    self.mark_replaced(sid, &heap, tid, xid, cid, None, false, mode)?;
                    if dml.capture {
                        let old_row = &input[..ncols];
                        self.capture(sid, &dml.table, &dml.indexes, "DELETE", Some(old_row), None)?;
                    }
                    dml.count += 1;
                    self.emit_returning(sid, dml, &input)?;
                }
                Ok(None)
            }
        }
    }

    /// ON CONFLICT DO UPDATE of the existing row at `tid` with `proposed`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn upsert(
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
        // As PostgreSQL, the existing row is locked FOR UPDATE before the
        // WHERE clause is evaluated, and stays locked if it fails.
        match self.row_lock_check(sid, &heap, tid, &existing.header, RowLockMode::Update)? {
            RowLockCheck::Free => {}
            RowLockCheck::Busy(owner) => return Ok(Some(owner)),
            RowLockCheck::Changed => {
                return Err(sql_err(
                    SqlState::SERIALIZATION_FAILURE,
                    "could not serialize access due to concurrent update",
                ))
            }
        }
        let own = self
            .txns
            .get(sid)
            .is_some_and(|t| t.owns(existing.header.xmin));
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
        let cid = dml.cid;
        let Some(vals) = computed? else {
            self.take_row_lock(sid, xid, cid, &heap, tid, RowLockMode::Update)?;
            return Ok(None);
        };
        let tz = self.session_tz(sid);
        let old_row = old.clone();
        let mut new_row = old;
        for (i, v) in vals {
            new_row[i] = cast_assignment(v, &dml.table.columns[i].ty, &tz)?;
        }
        self.check_row(sid, dml, &mut new_row)?;
        let same_keys = self.keys_unchanged(&dml.table, &dml.indexes, &old_row, &new_row);
        if !same_keys {
            if let Some(holder) = self.check_unique_update(sid, dml, &new_row, tid)? {
                return Ok(Some(holder));
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
        let (new_tid, hot) = self.insert_version(
            dml,
            xid,
            &new_row,
            Some(&old_row),
            same_keys.then_some(tid),
            None,
        )?;
        self.ssi_write_version(xid, &dml.table, tid)?;
        self.mark_replaced(
            sid,
            &heap,
            tid,
            xid,
            cid,
            Some(new_tid),
            hot,
            RowLockMode::Update,
        )?;
        if dml.capture {
            self.capture(
                sid,
                &dml.table,
                &dml.indexes,
                "UPDATE",
                Some(&old_row),
                Some(&new_row),
            )?;
        }
        dml.count += 1;
        self.emit_returning(sid, dml, &new_row)?;
        Ok(None)
    }

    pub(super) fn emit_returning(
        &mut self,
        sid: SessionId,
        dml: &mut DmlExec,
        row: &[Value],
    ) -> Result<()> {
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

    /// SERIALIZABLE: `sid` writes `writes`; another transaction's SIREAD
    /// lock on them is a rw-conflict (40001 if it completes a dangerous
    /// structure).
    pub(super) fn ssi_write(&mut self, sid: SessionId, writes: &[Write]) -> Result<()> {
        if writes.is_empty() || self.txns.ssi.of_session(sid).is_none() {
            return Ok(());
        }
        self.txns
            .ssi
            .conflict_in(sid, writes)
            .map_err(|f| Error::Sql(crate::txn::serialization_error(&f)))
    }

    /// SERIALIZABLE: `sid` read the version at `tid` of table `table_oid`
    /// (a SIREAD lock on it).
    pub(super) fn ssi_read_tuple(&mut self, sid: SessionId, table_oid: Oid, tid: Tid) {
        if self.txns.ssi.of_session(sid).is_some() {
            self.txns.ssi.lock(
                sid,
                [crate::txn::ssi::Target::Tuple(
                    table_oid, tid.page, tid.slot,
                )],
            );
        }
    }

    /// SERIALIZABLE: the version at `tid` of `table` is being updated or
    /// deleted by `xid`'s transaction.
    pub(super) fn ssi_write_version(&mut self, xid: Xid, table: &TableDef, tid: Tid) -> Result<()> {
        match self.txns.owner_of(xid) {
            Some(o) => self.ssi_write(o, &[Write::Tuple(table.oid, tid.page, tid.slot)]),
            None => Ok(()),
        }
    }

    /// The unique check of an update of the version at `tid` to
    /// `new_row`: `Some(holder)` when a session changing a conflicting row
    /// must be waited for; a live conflict is the unique violation.
    pub(super) fn check_unique_update(
        &mut self,
        sid: SessionId,
        dml: &DmlExec,
        new_row: &[Value],
        tid: Tid,
    ) -> Result<Option<SessionId>> {
        match self.check_unique(sid, dml, new_row, Some(tid))? {
            UniqueCheck::Ok => Ok(None),
            UniqueCheck::Wait(holder) => Ok(Some(holder)),
            UniqueCheck::Conflict(idx, _) => {
                Err(self.unique_violation(sid, &dml.table, &idx, new_row))
            }
        }
    }

    /// Inserts a new row version and its index entries.
    pub(super) fn insert_row(&mut self, dml: &DmlExec, xid: Xid, row: &[Value]) -> Result<Tid> {
        Ok(self.insert_version(dml, xid, row, None, None, None)?.0)
    }

    /// Inserts the entries a multi-row INSERT batched (`DmlExec::index_batches`).
    fn insert_index_batches(&mut self, dml: &mut DmlExec) -> Result<()> {
        let Some(batches) = dml.index_batches.take() else {
            return Ok(());
        };
        for (idx, batch) in dml.indexes.iter().zip(&batches) {
            access::open(idx).insert_batch(&mut self.pager, batch)?;
        }
        Ok(())
    }

    /// [`Engine::insert_row`] for the new version of an update of
    /// `replaces`: for SSI, an index key the update does not change is no
    /// new key in its range, so only changed keys count as index writes.
    ///
    /// With `hot_from` (the replaced version, whose index keys the new one
    /// all shares) the new version goes on the same page if it fits, as a
    /// heap-only version with no index entries (PostgreSQL's HOT update):
    /// the second result says so, and the caller links it from the old
    /// version with [`flags::HOT_UPDATED`].
    pub(super) fn insert_version(
        &mut self,
        dml: &DmlExec,
        xid: Xid,
        row: &[Value],
        replaces: Option<&[Value]>,
        hot_from: Option<Tid>,
        mut batches: Option<&mut [access::EntryBatch]>,
    ) -> Result<(Tid, bool)> {
        let mut payload = std::mem::take(&mut self.row_buf);
        payload.clear();
        encode_row(row, &mut payload);
        let meta = dml.table.heap;
        let heap = self.heaps.entry(meta).or_insert_with(|| Heap::open(meta));
        heap.set_fillfactor(&self.pager, dml.table.fillfactor);
        let header = TupleHeader::new(xid, dml.cid);
        let placed = match hot_from {
            Some(old) => {
                let mut heap_only = header;
                heap_only.flags |= flags::HEAP_ONLY;
                heap.insert_on_page(&mut self.pager, old.page, heap_only, &payload)
            }
            None => Ok(None),
        };
        let hot = matches!(placed, Ok(Some(_)));
        let tid = match placed {
            Ok(Some(tid)) => Ok(tid),
            Ok(None) => heap.insert(&mut self.pager, header, &payload),
            Err(e) => Err(e),
        };
        self.row_buf = payload;
        let tid = tid?;
        let owner = self.txns.owner_of(xid);
        if let Some(o) = owner {
            if dml
                .table
                .foreign_keys
                .iter()
                .any(|f| self.fk_deferred(o, f))
            {
                if let Some(t) = self.txns.get_mut(o) {
                    t.deferred_fk_rows.push((dml.table.oid, tid));
                }
            }
        }
        // SERIALIZABLE: the insert is a write to the table and to each
        // index key (a SIREAD lock on them means a reader missed it).
        let tracked = owner.filter(|&o| self.txns.ssi.of_session(o).is_some());
        let mut writes = Vec::new();
        if tracked.is_some() {
            writes.push(Write::Table(dml.table.oid));
        }
        for (pos, idx) in dml.indexes.iter().enumerate() {
            if hot {
                // Reached through the old version's entries.
                break;
            }
            let computed;
            let key: &[Value] = match idx.columns.as_slice() {
                // A plain one-column key is the row's own value, uncopied.
                [c] if idx.is_plain() && *c < row.len() => std::slice::from_ref(&row[*c]),
                _ => match self.index_entry(idx, &dml.table, row)? {
                    Some(k) => {
                        computed = k;
                        &computed
                    }
                    None => continue,
                },
            };
            let am = access::open(idx);
            let batch = batches.as_deref_mut().and_then(|b| b.get_mut(pos));
            let batched = match batch.filter(|_| !idx.unique) {
                Some(batch) => am.batch_entry(key, tid, batch)?,
                None => false,
            };
            if !batched {
                am.insert(&mut self.pager, key, tid)?;
            }
            let unchanged = match (tracked, replaces) {
                (Some(_), Some(old)) => {
                    self.index_entry(idx, &dml.table, old)?.as_deref() == Some(key)
                }
                _ => false,
            };
            if tracked.is_some() && !unchanged {
                writes.push(match am.predicate_key(key)? {
                    Some(k) => Write::IndexKey(idx.oid, k),
                    None => Write::Index(idx.oid),
                });
            }
        }
        if let Some(o) = tracked {
            self.ssi_write(o, &writes)?;
        }
        if let Some(o) = owner.filter(|_| !hot) {
            self.queue_deferred_unique(o, &dml.table, &dml.indexes, row, tid)?;
        }
        Ok((tid, hot))
    }

    /// Takes the row version at `tid` for update/delete by this statement.
    pub(super) fn lock_row(
        &mut self,
        sid: SessionId,
        dml: &mut DmlExec,
        tid: Tid,
        input: Row,
        mode: RowLockMode,
    ) -> Result<LockOutcome> {
        let heap = Heap::open(dml.table.heap);
        let mut tid = tid;
        let mut input = input;
        let ncols = dml.table.columns.len();
        for _ in 0..10_000 {
            let Some(h) = heap.header(&mut self.pager, tid)? else {
                return Ok(LockOutcome::Skip);
            };
            let own = self.txns.get(sid).is_some_and(|t| t.owns(h.xmax));
            if own && h.flags & flags::XMAX_LOCK_ONLY == 0 && h.cmax >= dml.cid {
                // Already changed by this very statement.
                return Ok(LockOutcome::Skip);
            }
            match self.row_lock_check(sid, &heap, tid, &h, mode)? {
                RowLockCheck::Free => return Ok(LockOutcome::Locked(tid, input)),
                RowLockCheck::Busy(owner) => return Ok(LockOutcome::Wait(owner)),
                RowLockCheck::Changed => {
                    let isolation = self
                        .txns
                        .get(sid)
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
                        DmlKind::Update { pred, .. } | DmlKind::Delete { pred, .. } => pred.clone(),
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
