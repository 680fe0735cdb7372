//! Binding and planning: our AST + the catalog → a tree of [`Plan`] nodes
//! whose expressions ([`BExpr`]) refer to input columns by position.
//!
//! The planner is rule-based: a base table is read through a B+tree index
//! when the WHERE clause constrains the index's leading columns (or when an
//! index provides the ORDER BY of a LIMIT query), equi-joins become hash
//! joins, everything else a nested loop.
//!
//! This file holds the plan tree and what reads it; the [`Binder`] lives
//! in `binder.rs` (scopes, parameters) with one file per kind of thing it
//! binds: `expr.rs`, `aggregate.rs`, `query.rs` (WITH, set operations,
//! SELECT) and `from.rs`. `optimize.rs` picks indexes through the access
//! methods' capabilities and costs; `explain.rs` prints plans.

mod aggregate;
mod binder;
pub mod deparse;
pub mod explain;
mod expr;
mod from;
pub mod index_keys;
mod join_order;
pub mod optimize;
mod query;

pub use aggregate::contains_aggregate;
pub use binder::{bool_type_check, default_column_name, table_scope, Binder, Scope, ScopeCol};
pub use query::is_set_returning;

use std::rc::Rc;

use crate::catalog::{IndexDef, SequenceDef, TableDef, ViewDef};
use crate::error::{SqlError, SqlState};
use crate::sql::functions::catalog::CatalogInfo;
use crate::sql::parse::ast::{BinOp, Expr, SetOp, UnOp};
use crate::value::types::{DataType, RegKind};
use crate::value::Value;

pub type PlanResult<T> = Result<T, SqlError>;

/// A bound expression.
#[derive(Clone, Debug)]
pub enum BExpr {
    /// Column `i` of the current input row.
    Col(usize),
    /// Column `col` of the row `depth` levels out (correlated subqueries).
    Outer {
        depth: usize,
        col: usize,
        /// The column's type (an index bound must be of the key's).
        ty: DataType,
    },
    Const(Value),
    /// Parameter `$n` (0-based), converted to `ty` when known.
    Param {
        index: usize,
        ty: DataType,
    },
    Unary(UnOp, Box<BExpr>),
    Binary(BinOp, Box<BExpr>, Box<BExpr>),
    IsNull(Box<BExpr>, bool),
    IsBool {
        expr: Box<BExpr>,
        value: bool,
        negated: bool,
    },
    IsDistinct {
        left: Box<BExpr>,
        right: Box<BExpr>,
        negated: bool,
    },
    InList {
        expr: Box<BExpr>,
        list: Vec<BExpr>,
        negated: bool,
    },
    Like {
        expr: Box<BExpr>,
        pattern: Box<BExpr>,
        escape: Option<Box<BExpr>>,
        negated: bool,
        ci: bool,
    },
    Case {
        operand: Option<Box<BExpr>>,
        whens: Vec<(BExpr, BExpr)>,
        else_result: Option<Box<BExpr>>,
    },
    Cast(Box<BExpr>, DataType),
    Func {
        name: String,
        args: Vec<BExpr>,
    },
    Coalesce(Vec<BExpr>),
    NullIf(Box<BExpr>, Box<BExpr>),
    Array(Vec<BExpr>),
    /// `correlated`: reads columns of enclosing queries, so it cannot be
    /// evaluated once and cached.
    Subquery {
        plan: Rc<Plan>,
        kind: SubqueryKind,
        correlated: bool,
    },
    /// A cast to an OID alias type or a catalog function, evaluated
    /// against the statement's catalog snapshot (see `catalog_fn`).
    CatalogFunc {
        op: CatalogOp,
        args: Vec<BExpr>,
        info: Rc<CatalogInfo>,
    },
    NextVal(Rc<SequenceDef>),
    CurrVal(Rc<SequenceDef>),
    SetVal {
        seq: Rc<SequenceDef>,
        value: Box<BExpr>,
        called: Option<Box<BExpr>>,
    },
}

/// What a [`BExpr::CatalogFunc`] computes.
#[derive(Clone, Debug)]
pub enum CatalogOp {
    /// `x::regclass` and friends (from an integer or a name).
    Cast(RegKind),
    /// The type's input function, for a parameter of unknown type: like
    /// a literal, digits are an OID.
    Input(RegKind),
    /// `pg_get_indexdef(...)` etc.
    Func(String),
}

#[derive(Clone, Debug)]
pub enum SubqueryKind {
    Scalar,
    /// `ARRAY(subquery)`: the one column's values as an array.
    Array,
    Exists {
        negated: bool,
    },
    /// `expr op ANY/ALL (subquery)`; IN is `= ANY`, NOT IN is `<> ALL`.
    Quantified {
        left: Box<BExpr>,
        op: BinOp,
        all: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFunc {
    Count,
    CountStar,
    Sum,
    Avg,
    Min,
    Max,
    BoolAnd,
    BoolOr,
    StringAgg,
    ArrayAgg,
    JsonAgg,
    JsonbAgg,
    JsonObjectAgg,
    JsonbObjectAgg,
}

#[derive(Clone, Debug)]
pub struct AggCall {
    pub func: AggFunc,
    pub args: Vec<BExpr>,
    pub distinct: bool,
    pub filter: Option<BExpr>,
    pub order_by: Vec<SortKey>,
    pub ty: DataType,
}

#[derive(Clone, Debug)]
pub struct SortKey {
    pub expr: BExpr,
    pub desc: bool,
    pub nulls_first: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinType {
    Inner,
    Left,
    Right,
    Full,
}

/// Bounds of an index scan: equality on a prefix of the index columns,
/// then optionally a range on the next column.
#[derive(Clone, Debug, Default)]
pub struct IndexBounds {
    pub eq: Vec<BExpr>,
    pub lower: Option<(BExpr, bool)>,
    pub upper: Option<(BExpr, bool)>,
    /// A nearest-neighbour scan: the query vector (row-independent), its
    /// rows in order of the index's distance to it.
    pub nearest: Option<Box<BExpr>>,
}

#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    pub ty: DataType,
}

#[derive(Clone, Debug)]
pub enum Plan {
    /// One row with no columns (SELECT without FROM).
    Unit,
    Values {
        rows: Vec<Vec<BExpr>>,
        columns: Vec<Column>,
    },
    /// Full heap scan. With `with_tid`, each row gets its TID appended
    /// (as an int8) for UPDATE/DELETE.
    SeqScan {
        table: Rc<TableDef>,
        filter: Option<BExpr>,
        with_tid: bool,
        /// Decode only the columns marked (the others come out NULL): a
        /// DELETE's scan needs its WHERE clause's columns and the TID.
        needed: Option<Rc<[bool]>>,
    },
    IndexScan {
        table: Rc<TableDef>,
        index: Rc<IndexDef>,
        bounds: IndexBounds,
        reverse: bool,
        filter: Option<BExpr>,
        with_tid: bool,
        /// Stop once this many rows passed the filter (ORDER BY ... LIMIT).
        stop_after: Option<BExpr>,
        /// As [`Plan::SeqScan`]'s.
        needed: Option<Rc<[bool]>>,
    },
    Filter {
        input: Box<Plan>,
        pred: BExpr,
    },
    Project {
        input: Box<Plan>,
        exprs: Vec<BExpr>,
        columns: Vec<Column>,
    },
    NestedLoop {
        left: Box<Plan>,
        right: Box<Plan>,
        kind: JoinType,
        cond: Option<BExpr>,
    },
    /// A join with a LATERAL right side: `right` runs again for each row
    /// of `left`, which it reads as its innermost outer row (its column
    /// references to `left` are bound as [`BExpr::Outer`]); `cond` sees the
    /// joined row. Only inner and left joins (PostgreSQL's rule).
    Lateral {
        left: Box<Plan>,
        right: Box<Plan>,
        kind: JoinType,
        cond: Option<BExpr>,
    },
    HashJoin {
        left: Box<Plan>,
        right: Box<Plan>,
        kind: JoinType,
        left_keys: Vec<BExpr>,
        right_keys: Vec<BExpr>,
        residual: Option<BExpr>,
    },
    /// Output: group values, then aggregate results.
    Aggregate {
        input: Box<Plan>,
        group: Vec<BExpr>,
        aggs: Vec<AggCall>,
    },
    Sort {
        input: Box<Plan>,
        keys: Vec<SortKey>,
    },
    Limit {
        input: Box<Plan>,
        limit: Option<BExpr>,
        offset: Option<BExpr>,
    },
    /// DISTINCT (all columns) or DISTINCT ON (the given expressions, input
    /// already sorted by them).
    Distinct {
        input: Box<Plan>,
        on: Option<Vec<BExpr>>,
    },
    SetOp {
        op: SetOp,
        all: bool,
        left: Box<Plan>,
        right: Box<Plan>,
    },
    /// Reads CTE number `id` (materialised once per statement).
    CteScan {
        id: usize,
    },
    /// WITH RECURSIVE: `anchor`, then `step` repeatedly over the rows of the
    /// previous round (read through `WorkTable { id }`) until none are new.
    RecursiveCte {
        id: usize,
        anchor: Box<Plan>,
        step: Box<Plan>,
        all: bool,
    },
    WorkTable {
        id: usize,
    },
    /// `generate_series(start, stop[, step])` over integers; WITH
    /// ORDINALITY adds the row number as a second column.
    Series {
        args: Vec<BExpr>,
        column: Column,
        ordinality: bool,
    },
    /// A system relation (`pg_class`, `pg_stat_activity`...): its rows
    /// were computed from the engine's state when the statement was bound,
    /// so every scan of it in the statement sees the same consistent view.
    SystemScan {
        /// Schema-qualified name, for EXPLAIN.
        name: String,
        columns: Vec<Column>,
        rows: Rc<Vec<Vec<Value>>>,
    },
    /// Keeps only the first `keep` columns (drops hidden sort columns).
    Truncate {
        input: Box<Plan>,
        keep: usize,
    },
    /// Set-returning functions of a select list (PostgreSQL's ProjectSet):
    /// each input row, followed by the functions' values, as many times as
    /// the longest of them returns rows (the others are NULL past their
    /// end); no row for an input row where all return none.
    ProjectSet {
        input: Box<Plan>,
        srfs: Vec<SrfCall>,
        /// The functions' columns (appended to the input's).
        columns: Vec<Column>,
    },
}

/// A set-returning function of a select list (or of FROM, over no input).
#[derive(Clone, Debug)]
pub struct SrfCall {
    pub func: SrfFunc,
    pub args: Vec<BExpr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SrfFunc {
    /// `unnest(anyarray)`: the elements, of every dimension, in order.
    Unnest,
    /// `generate_subscripts(anyarray, dim [, reverse])`.
    GenerateSubscripts,
    /// `generate_series(start, stop [, step])` over integers.
    GenerateSeries,
    /// `json_array_elements[_text](json)`, `jsonb_array_elements[_text]
    /// (jsonb)`: the array's elements (as text for `_text`).
    JsonArrayElements { jsonb: bool, text: bool },
}

/// What the binder needs from the catalog, at the statement's snapshot.
///
/// Names are as written: one part (found through the session's search
/// path) or schema and name.
pub trait CatalogAccess {
    fn table(&mut self, name: &[String]) -> PlanResult<Option<Rc<TableDef>>>;
    fn indexes(&mut self, table: &TableDef) -> PlanResult<Vec<Rc<IndexDef>>>;
    fn sequence(&mut self, name: &[String]) -> PlanResult<Option<Rc<SequenceDef>>>;
    /// The view called `name` (None: there is none, or no views here).
    fn view(&mut self, name: &[String]) -> PlanResult<Option<Rc<ViewDef>>> {
        let _ = name;
        Ok(None)
    }
    /// Functions answered by the session at bind time (`txid_current()`,
    /// `current_setting('x')`, `version()`...); `None` if `name` is not one.
    fn session_function(
        &mut self,
        name: &str,
        args: &[Expr],
    ) -> PlanResult<Option<(BExpr, DataType)>>;
    /// The system relation `schema.name` (`schema` None = unqualified,
    /// which searches `pg_catalog` first, as PostgreSQL's search path
    /// does): its schema-qualified name, columns and rows as of now.
    fn system_relation(
        &mut self,
        schema: Option<&str>,
        name: &str,
    ) -> PlanResult<Option<SystemRelationRows>>;
    /// Names and definitions of the catalog objects visible to the
    /// statement, for `regclass` casts and `pg_get_indexdef` & co.
    fn catalog_info(&mut self) -> PlanResult<CatalogInfo>;
    /// How a view's text names relation `name` of schema `namespace`:
    /// unqualified in `public`, qualified elsewhere.
    fn relation_text(&mut self, namespace: u32, name: &str) -> PlanResult<String> {
        let _ = namespace;
        Ok(crate::sql::functions::quote_ident(name))
    }
    /// Binding enters (`true`) or leaves a view's stored query, whose
    /// unqualified names mean `public` whatever the session's search path.
    fn in_view(&mut self, _entering: bool) {}
    /// The enum type called `name`, if any.
    fn enum_type(&mut self, _name: &[String]) -> PlanResult<Option<crate::value::types::EnumType>> {
        Ok(None)
    }
    /// `table`'s indexes as the planner uses them, to plan the subqueries
    /// of expressions (the statement's plan tree is optimised after
    /// binding, but not the plans inside its expressions). None here: they
    /// scan.
    fn plan_indexes(&mut self, _table: &TableDef) -> Vec<index_keys::PlanIndex> {
        Vec::new()
    }
}

/// A system relation's contents, computed at bind time.
pub struct SystemRelationRows {
    pub qualified_name: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

pub fn undefined_column(name: &str) -> SqlError {
    SqlError::new(
        SqlState::UNDEFINED_COLUMN,
        format!("column \"{name}\" does not exist"),
    )
}

pub fn undefined_table(name: &str) -> SqlError {
    SqlError::new(
        SqlState::UNDEFINED_TABLE,
        format!("relation \"{name}\" does not exist"),
    )
}

/// Output columns of a plan.
pub fn plan_columns(plan: &Plan, cte_plans: &[Plan]) -> Vec<Column> {
    match plan {
        Plan::Unit => Vec::new(),
        Plan::Values { columns, .. }
        | Plan::Project { columns, .. }
        | Plan::SystemScan { columns, .. } => columns.clone(),
        Plan::SeqScan {
            table, with_tid, ..
        }
        | Plan::IndexScan {
            table, with_tid, ..
        } => {
            let mut cols: Vec<Column> = table
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    ty: c.ty.clone(),
                })
                .collect();
            if *with_tid {
                cols.push(Column {
                    name: "ctid".into(),
                    ty: DataType::Int8,
                });
            }
            cols
        }
        Plan::Filter { input, .. }
        | Plan::Sort { input, .. }
        | Plan::Limit { input, .. }
        | Plan::Distinct { input, .. } => plan_columns(input, cte_plans),
        Plan::NestedLoop { left, right, .. }
        | Plan::Lateral { left, right, .. }
        | Plan::HashJoin { left, right, .. } => {
            let mut c = plan_columns(left, cte_plans);
            c.extend(plan_columns(right, cte_plans));
            c
        }
        Plan::Aggregate { group, aggs, .. } => {
            let mut c: Vec<Column> = group
                .iter()
                .map(|_| Column {
                    name: "?column?".into(),
                    ty: DataType::Unknown,
                })
                .collect();
            c.extend(aggs.iter().map(|a| Column {
                name: "?column?".into(),
                ty: a.ty.clone(),
            }));
            c
        }
        Plan::SetOp { left, .. } => plan_columns(left, cte_plans),
        Plan::CteScan { id } | Plan::WorkTable { id } => cte_plans
            .get(*id)
            .map(|p| plan_columns(p, cte_plans))
            .unwrap_or_default(),
        Plan::RecursiveCte { anchor, .. } => plan_columns(anchor, cte_plans),
        Plan::Truncate { input, keep } => plan_columns(input, cte_plans)
            .into_iter()
            .take(*keep)
            .collect(),
        Plan::ProjectSet { input, columns, .. } => {
            let mut c = plan_columns(input, cte_plans);
            c.extend(columns.iter().cloned());
            c
        }
        Plan::Series {
            column, ordinality, ..
        } => {
            let mut cols = vec![column.clone()];
            if *ordinality {
                cols.push(Column {
                    name: "ordinality".into(),
                    ty: DataType::Int8,
                });
            }
            cols
        }
    }
}

/// Tables a plan reads (subqueries in expressions are not followed).
pub fn scanned_tables(plan: &Plan, out: &mut Vec<Rc<TableDef>>) {
    match plan {
        Plan::SeqScan { table, .. } | Plan::IndexScan { table, .. } => {
            if !out.iter().any(|t| t.oid == table.oid) {
                out.push(table.clone());
            }
        }
        Plan::Filter { input, .. }
        | Plan::Project { input, .. }
        | Plan::Aggregate { input, .. }
        | Plan::Sort { input, .. }
        | Plan::Limit { input, .. }
        | Plan::Distinct { input, .. }
        | Plan::Truncate { input, .. }
        | Plan::ProjectSet { input, .. } => scanned_tables(input, out),
        Plan::NestedLoop { left, right, .. }
        | Plan::Lateral { left, right, .. }
        | Plan::HashJoin { left, right, .. }
        | Plan::SetOp { left, right, .. } => {
            scanned_tables(left, out);
            scanned_tables(right, out);
        }
        Plan::RecursiveCte { anchor, step, .. } => {
            scanned_tables(anchor, out);
            scanned_tables(step, out);
        }
        Plan::Unit
        | Plan::Values { .. }
        | Plan::Series { .. }
        | Plan::SystemScan { .. }
        | Plan::CteScan { .. }
        | Plan::WorkTable { .. } => {}
    }
}

/// Whether `a` and `b` are the same expression over the same input
/// (how the planner recognises an index's key expression or predicate in
/// a query). Subqueries, catalog functions and sequences never compare
/// equal: no index key can hold them.
pub fn same_expr(a: &BExpr, b: &BExpr) -> bool {
    use BExpr as B;
    let all = |x: &[BExpr], y: &[BExpr]| {
        x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_expr(p, q))
    };
    let opt = |x: &Option<Box<BExpr>>, y: &Option<Box<BExpr>>| match (x, y) {
        (None, None) => true,
        (Some(p), Some(q)) => same_expr(p, q),
        _ => false,
    };
    match (a, b) {
        (B::Col(x), B::Col(y)) => x == y,
        (
            B::Outer {
                depth: d1, col: c1, ..
            },
            B::Outer {
                depth: d2, col: c2, ..
            },
        ) => d1 == d2 && c1 == c2,
        (B::Const(x), B::Const(y)) => x == y && x.data_type() == y.data_type(),
        (B::Param { index: i, ty: t }, B::Param { index: j, ty: u }) => i == j && t == u,
        (B::Unary(o, x), B::Unary(p, y)) => o == p && same_expr(x, y),
        (B::Binary(o, x1, x2), B::Binary(p, y1, y2)) => {
            o == p && same_expr(x1, y1) && same_expr(x2, y2)
        }
        (B::IsNull(x, n), B::IsNull(y, m)) => n == m && same_expr(x, y),
        (
            B::IsBool {
                expr: x,
                value: v,
                negated: n,
            },
            B::IsBool {
                expr: y,
                value: w,
                negated: m,
            },
        ) => v == w && n == m && same_expr(x, y),
        (
            B::IsDistinct {
                left: x1,
                right: x2,
                negated: n,
            },
            B::IsDistinct {
                left: y1,
                right: y2,
                negated: m,
            },
        ) => n == m && same_expr(x1, y1) && same_expr(x2, y2),
        (
            B::InList {
                expr: x,
                list: xs,
                negated: n,
            },
            B::InList {
                expr: y,
                list: ys,
                negated: m,
            },
        ) => n == m && same_expr(x, y) && all(xs, ys),
        (
            B::Like {
                expr: x,
                pattern: xp,
                escape: xe,
                negated: n,
                ci: c,
            },
            B::Like {
                expr: y,
                pattern: yp,
                escape: ye,
                negated: m,
                ci: d,
            },
        ) => n == m && c == d && same_expr(x, y) && same_expr(xp, yp) && opt(xe, ye),
        (
            B::Case {
                operand: xo,
                whens: xw,
                else_result: xe,
            },
            B::Case {
                operand: yo,
                whens: yw,
                else_result: ye,
            },
        ) => {
            opt(xo, yo)
                && opt(xe, ye)
                && xw.len() == yw.len()
                && xw
                    .iter()
                    .zip(yw)
                    .all(|((a1, a2), (b1, b2))| same_expr(a1, b1) && same_expr(a2, b2))
        }
        (B::Cast(x, t), B::Cast(y, u)) => t == u && same_expr(x, y),
        (B::Func { name: f, args: xs }, B::Func { name: g, args: ys }) => f == g && all(xs, ys),
        (B::Coalesce(xs), B::Coalesce(ys)) | (B::Array(xs), B::Array(ys)) => all(xs, ys),
        (B::NullIf(x1, x2), B::NullIf(y1, y2)) => same_expr(x1, y1) && same_expr(x2, y2),
        _ => false,
    }
}

pub fn split_and(e: BExpr, out: &mut Vec<BExpr>) {
    match e {
        BExpr::Binary(BinOp::And, a, b) => {
            split_and(*a, out);
            split_and(*b, out);
        }
        other => out.push(other),
    }
}

/// Calls `f` for each input column `e` reads; clears `ok` if `e` has parts
/// whose columns cannot be tracked.
pub fn visit_cols(e: &BExpr, f: &mut dyn FnMut(usize), ok: &mut bool) {
    match e {
        BExpr::Col(c) => f(*c),
        BExpr::Outer { .. }
        | BExpr::Const(_)
        | BExpr::Param { .. }
        | BExpr::NextVal(_)
        | BExpr::CurrVal(_) => {}
        BExpr::Subquery { .. } | BExpr::SetVal { .. } => *ok = false,
        BExpr::Unary(_, a)
        | BExpr::IsNull(a, _)
        | BExpr::Cast(a, _)
        | BExpr::IsBool { expr: a, .. } => visit_cols(a, f, ok),
        BExpr::Binary(_, a, b)
        | BExpr::NullIf(a, b)
        | BExpr::IsDistinct {
            left: a, right: b, ..
        } => {
            visit_cols(a, f, ok);
            visit_cols(b, f, ok);
        }
        BExpr::InList { expr, list, .. } => {
            visit_cols(expr, f, ok);
            list.iter().for_each(|x| visit_cols(x, f, ok));
        }
        BExpr::Like {
            expr,
            pattern,
            escape,
            ..
        } => {
            visit_cols(expr, f, ok);
            visit_cols(pattern, f, ok);
            if let Some(e) = escape {
                visit_cols(e, f, ok);
            }
        }
        BExpr::Case {
            operand,
            whens,
            else_result,
        } => {
            if let Some(o) = operand {
                visit_cols(o, f, ok);
            }
            for (a, b) in whens {
                visit_cols(a, f, ok);
                visit_cols(b, f, ok);
            }
            if let Some(e) = else_result {
                visit_cols(e, f, ok);
            }
        }
        BExpr::Func { name, args } => {
            if name.starts_with("__") && !matches!(name.as_str(), "__any" | "__all" | "__subscript")
            {
                *ok = false;
            }
            args.iter().for_each(|x| visit_cols(x, f, ok))
        }
        BExpr::CatalogFunc { args, .. } => args.iter().for_each(|x| visit_cols(x, f, ok)),
        BExpr::Coalesce(items) | BExpr::Array(items) => {
            items.iter().for_each(|x| visit_cols(x, f, ok))
        }
    }
}

/// Rewrites column references `c` to `c - by` (right side of a join).
pub fn shift_cols(e: &BExpr, by: usize) -> BExpr {
    map_cols(e, &|c| c - by)
}

pub fn map_cols(e: &BExpr, f: &dyn Fn(usize) -> usize) -> BExpr {
    let m = |x: &BExpr| Box::new(map_cols(x, f));
    match e {
        BExpr::Col(c) => BExpr::Col(f(*c)),
        BExpr::Unary(op, a) => BExpr::Unary(*op, m(a)),
        BExpr::Binary(op, a, b) => BExpr::Binary(*op, m(a), m(b)),
        BExpr::IsNull(a, n) => BExpr::IsNull(m(a), *n),
        BExpr::IsBool {
            expr,
            value,
            negated,
        } => BExpr::IsBool {
            expr: m(expr),
            value: *value,
            negated: *negated,
        },
        BExpr::IsDistinct {
            left,
            right,
            negated,
        } => BExpr::IsDistinct {
            left: m(left),
            right: m(right),
            negated: *negated,
        },
        BExpr::InList {
            expr,
            list,
            negated,
        } => BExpr::InList {
            expr: m(expr),
            list: list.iter().map(|x| map_cols(x, f)).collect(),
            negated: *negated,
        },
        BExpr::Like {
            expr,
            pattern,
            escape,
            negated,
            ci,
        } => BExpr::Like {
            expr: m(expr),
            pattern: m(pattern),
            escape: escape.as_ref().map(|x| m(x)),
            negated: *negated,
            ci: *ci,
        },
        BExpr::Case {
            operand,
            whens,
            else_result,
        } => BExpr::Case {
            operand: operand.as_ref().map(|x| m(x)),
            whens: whens
                .iter()
                .map(|(a, b)| (map_cols(a, f), map_cols(b, f)))
                .collect(),
            else_result: else_result.as_ref().map(|x| m(x)),
        },
        BExpr::Cast(a, t) => BExpr::Cast(m(a), t.clone()),
        BExpr::Func { name, args } => BExpr::Func {
            name: name.clone(),
            args: args.iter().map(|x| map_cols(x, f)).collect(),
        },
        BExpr::CatalogFunc { op, args, info } => BExpr::CatalogFunc {
            op: op.clone(),
            args: args.iter().map(|x| map_cols(x, f)).collect(),
            info: info.clone(),
        },
        BExpr::Coalesce(items) => BExpr::Coalesce(items.iter().map(|x| map_cols(x, f)).collect()),
        BExpr::Array(items) => BExpr::Array(items.iter().map(|x| map_cols(x, f)).collect()),
        BExpr::NullIf(a, b) => BExpr::NullIf(m(a), m(b)),
        other => other.clone(),
    }
}
