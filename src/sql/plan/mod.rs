//! Binding and planning: our AST + the catalog → a tree of [`Plan`] nodes
//! whose expressions ([`BExpr`]) refer to input columns by position.
//!
//! The planner is rule-based: a base table is read through a B+tree index
//! when the WHERE clause constrains the index's leading columns (or when an
//! index provides the ORDER BY of a LIMIT query), equi-joins become hash
//! joins, everything else a nested loop.

pub mod explain;
pub mod optimize;

use std::rc::Rc;

use crate::catalog::{IndexDef, SequenceDef, TableDef};
use crate::error::{SqlError, SqlState};
use crate::sql::functions::catalog::CatalogInfo;
use crate::sql::parse::ast::{self, BinOp, Expr, SetOp, UnOp};
use crate::value::cast::common_type;
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
}

/// What the binder needs from the catalog, at the statement's snapshot.
pub trait CatalogAccess {
    fn table(&mut self, name: &str) -> PlanResult<Option<Rc<TableDef>>>;
    fn indexes(&mut self, table: &TableDef) -> PlanResult<Vec<Rc<IndexDef>>>;
    fn sequence(&mut self, name: &str) -> PlanResult<Option<Rc<SequenceDef>>>;
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

/// One column visible to expressions.
#[derive(Clone, Debug)]
pub struct ScopeCol {
    pub table: Option<String>,
    pub name: String,
    pub ty: DataType,
    /// Hidden columns (TIDs) are not expanded by `*`.
    pub hidden: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub cols: Vec<ScopeCol>,
}

impl Scope {
    fn resolve(&self, name: &[String]) -> PlanResult<Option<(usize, DataType)>> {
        let (table, col) = match name {
            [c] => (None, c),
            [t, c] => (Some(t), c),
            [_, t, c] => (Some(t), c),
            _ => {
                return Err(SqlError::new(
                    SqlState::SYNTAX_ERROR,
                    format!("improper qualified name: {}", name.join(".")),
                ))
            }
        };
        let mut found = None;
        for (i, sc) in self.cols.iter().enumerate() {
            // Hidden columns (the two sides' copies of a USING column,
            // TIDs) answer only to qualified names.
            if sc.hidden && table.is_none() {
                continue;
            }
            if &sc.name == col && table.is_none_or(|t| sc.table.as_ref() == Some(t)) {
                if found.is_some() {
                    return Err(SqlError::new(
                        SqlState::AMBIGUOUS_COLUMN,
                        format!("column reference \"{col}\" is ambiguous"),
                    ));
                }
                found = Some((i, sc.ty.clone()));
            }
        }
        Ok(found)
    }
}

/// Aggregation context while binding post-GROUP-BY expressions.
struct AggContext {
    group_exprs: Vec<Expr>,
    group_types: Vec<DataType>,
    aggs: Vec<AggCall>,
    agg_exprs: Vec<Expr>,
    /// The pre-aggregation scope (aggregate arguments bind against it).
    input_scope: Scope,
}

pub struct Binder<'a> {
    pub catalog: &'a mut dyn CatalogAccess,
    /// Inferred parameter types ($1 = index 0).
    pub params: Vec<DataType>,
    /// Enclosing scopes, innermost last, for correlated subqueries.
    outer: Vec<Scope>,
    ctes: Vec<(String, Vec<Column>, usize)>,
    pub cte_plans: Vec<Plan>,
    agg: Option<AggContext>,
    /// Outer-column references made so far (to flag correlated subqueries).
    outer_refs: usize,
    /// The statement's catalog snapshot for `regclass` casts and catalog
    /// functions, fetched on first use.
    catalog_info: Option<Rc<CatalogInfo>>,
}

fn is_aggregate(name: &str) -> bool {
    matches!(
        name,
        "count"
            | "sum"
            | "avg"
            | "min"
            | "max"
            | "bool_and"
            | "bool_or"
            | "every"
            | "string_agg"
            | "array_agg"
    )
}

fn contains_aggregate(e: &Expr) -> bool {
    match e {
        Expr::Function(f) => is_aggregate(&f.name) || f.args.iter().any(contains_aggregate),
        Expr::Unary { expr, .. }
        | Expr::IsNull { expr, .. }
        | Expr::IsBool { expr, .. }
        | Expr::Cast { expr, .. } => contains_aggregate(expr),
        Expr::Binary { left, right, .. } | Expr::IsDistinctFrom { left, right, .. } => {
            contains_aggregate(left) || contains_aggregate(right)
        }
        Expr::Between {
            expr, low, high, ..
        } => contains_aggregate(expr) || contains_aggregate(low) || contains_aggregate(high),
        Expr::InList { expr, list, .. } => {
            contains_aggregate(expr) || list.iter().any(contains_aggregate)
        }
        Expr::Like { expr, pattern, .. } => contains_aggregate(expr) || contains_aggregate(pattern),
        Expr::Case {
            operand,
            whens,
            else_result,
        } => {
            operand.as_deref().is_some_and(contains_aggregate)
                || whens
                    .iter()
                    .any(|(a, b)| contains_aggregate(a) || contains_aggregate(b))
                || else_result.as_deref().is_some_and(contains_aggregate)
        }
        Expr::Array(items) | Expr::Row(items) => items.iter().any(contains_aggregate),
        Expr::InSubquery { expr, .. } => contains_aggregate(expr),
        Expr::Quantified { left, .. } => contains_aggregate(left),
        _ => false,
    }
}

pub fn bool_type_check(ty: &DataType, what: &str) -> PlanResult<()> {
    match ty {
        DataType::Bool | DataType::Unknown => Ok(()),
        other => Err(SqlError::new(
            SqlState::DATATYPE_MISMATCH,
            format!("argument of {what} must be type boolean, not type {other}"),
        )),
    }
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
        Plan::NestedLoop { left, right, .. } | Plan::HashJoin { left, right, .. } => {
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

/// The declared type of argument `i` of the jsonb functions (so untyped
/// literals resolve as PostgreSQL resolves them); Unknown for the rest.
fn jsonb_parameter(name: &str, i: usize) -> DataType {
    match (name, i) {
        (
            "jsonb_typeof"
            | "jsonb_array_length"
            | "jsonb_strip_nulls"
            | "jsonb_pretty"
            | "jsonb_extract_path"
            | "jsonb_extract_path_text"
            | "jsonb_object_keys"
            | "jsonb_set"
            | "jsonb_insert",
            0,
        )
        | ("jsonb_set" | "jsonb_insert", 2) => DataType::Jsonb,
        ("jsonb_set" | "jsonb_insert", 1) => DataType::Array(Box::new(DataType::Text)),
        _ => DataType::Unknown,
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
        | Plan::Truncate { input, .. } => scanned_tables(input, out),
        Plan::NestedLoop { left, right, .. }
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

/// Static result type of a binary operator (the runtime value decides in
/// the few cases this cannot).
fn binop_type(op: BinOp, l: &DataType, r: &DataType) -> DataType {
    use BinOp::*;
    use DataType as T;
    match op {
        Eq | NotEq | Lt | LtEq | Gt | GtEq | And | Or | JsonContains | JsonContained
        | JsonHasKey => T::Bool,
        Concat => match (l, r) {
            (T::Jsonb, _) | (_, T::Jsonb) => T::Jsonb,
            (T::Array(_), _) => l.clone(),
            (_, T::Array(_)) => r.clone(),
            _ => T::Text,
        },
        JsonGet | JsonPath => T::Jsonb,
        JsonGetText | JsonPathText => T::Text,
        L2Distance | NegInnerProduct | CosineDistance | L1Distance => T::Float8,
        Add | Sub | Mul | Div | Mod | Pow | BitAnd | BitOr | BitXor | ShiftLeft | ShiftRight => {
            match (op, l, r) {
                (Sub, T::Date, T::Date) => T::Int4,
                (Add | Sub, T::Date, t) if t.is_integer() => T::Date,
                (Add, t, T::Date) if t.is_integer() => T::Date,
                (Add | Sub, T::Date, T::Interval) | (Add, T::Interval, T::Date) => T::Timestamp,
                (Sub, T::Timestamp, T::Timestamp) | (Sub, T::Timestamptz, T::Timestamptz) => {
                    T::Interval
                }
                (Add | Sub, T::Timestamp | T::Timestamptz, T::Interval) => l.clone(),
                (Add, T::Interval, T::Timestamp | T::Timestamptz) => r.clone(),
                (_, T::Interval, _) | (_, _, T::Interval) => T::Interval,
                (Pow, a, b) if a.is_integer() && b.is_integer() => T::Float8,
                (Add | Sub | Mul, T::Vector(_), _) => l.clone(),
                _ => match common_type(l, r) {
                    Some(T::Unknown) | None => {
                        if *l == T::Unknown {
                            r.clone()
                        } else {
                            l.clone()
                        }
                    }
                    Some(t) => t,
                },
            }
        }
    }
}

impl<'a> Binder<'a> {
    pub fn new(catalog: &'a mut dyn CatalogAccess) -> Self {
        Binder {
            catalog,
            params: Vec::new(),
            outer: Vec::new(),
            ctes: Vec::new(),
            cte_plans: Vec::new(),
            agg: None,
            outer_refs: 0,
            catalog_info: None,
        }
    }

    fn note_param(&mut self, n: usize, ty: &DataType) {
        if self.params.len() < n {
            self.params.resize(n, DataType::Unknown);
        }
        if self.params[n - 1] == DataType::Unknown && *ty != DataType::Unknown {
            self.params[n - 1] = ty.clone();
        }
    }

    /// Binds `e` and coerces untyped literals/parameters to `want`.
    fn catalog_info(&mut self) -> PlanResult<Rc<CatalogInfo>> {
        if let Some(i) = &self.catalog_info {
            return Ok(i.clone());
        }
        let i = Rc::new(self.catalog.catalog_info()?);
        self.catalog_info = Some(i.clone());
        Ok(i)
    }

    /// `e::regclass` (or regtype, regnamespace): a constant name is looked
    /// up now (PostgreSQL's input function runs at parse time too), other
    /// expressions when evaluated.
    fn bind_reg_cast(
        &mut self,
        e: &Expr,
        kind: RegKind,
        scope: &Scope,
    ) -> PlanResult<(BExpr, DataType)> {
        let info = self.catalog_info()?;
        let ty = DataType::Reg(kind);
        if let Expr::UntypedString(s) = e {
            return Ok((BExpr::Const(info.reg_from_text(kind, s)?), ty));
        }
        let (b, t) = self.bind_expr(e, scope)?;
        match t {
            DataType::Reg(k) if k == kind => Ok((b, ty)),
            t if t.is_integer()
                || t.is_string()
                || matches!(t, DataType::Unknown | DataType::Reg(_)) =>
            {
                let op = if t == DataType::Unknown {
                    CatalogOp::Input(kind)
                } else {
                    CatalogOp::Cast(kind)
                };
                Ok((
                    BExpr::CatalogFunc {
                        op,
                        args: vec![b],
                        info,
                    },
                    ty,
                ))
            }
            other => Err(SqlError::new(
                SqlState::CANNOT_COERCE,
                format!("cannot cast type {other} to {ty}"),
            )),
        }
    }

    pub fn bind_typed(
        &mut self,
        e: &Expr,
        scope: &Scope,
        want: &DataType,
    ) -> PlanResult<(BExpr, DataType)> {
        if let (Expr::UntypedString(_) | Expr::Param(_), DataType::Reg(k)) = (e, want) {
            return self.bind_reg_cast(e, *k, scope);
        }
        match e {
            Expr::UntypedString(s) if *want != DataType::Unknown => {
                let v =
                    crate::value::text::parse_text(s, want, &crate::value::tz::TimeZone::utc())?;
                Ok((BExpr::Const(v), want.clone()))
            }
            Expr::Param(n) => {
                self.note_param(*n, want);
                let ty = self.params[*n - 1].clone();
                Ok((
                    BExpr::Param {
                        index: n - 1,
                        ty: ty.clone(),
                    },
                    ty,
                ))
            }
            Expr::Literal(Value::Null) => Ok((BExpr::Const(Value::Null), want.clone())),
            _ => self.bind_expr(e, scope),
        }
    }

    /// Binds two operands, letting each untyped side take the other's type.
    fn bind_pair(
        &mut self,
        a: &Expr,
        b: &Expr,
        scope: &Scope,
    ) -> PlanResult<((BExpr, DataType), (BExpr, DataType))> {
        let a_untyped = matches!(
            a,
            Expr::UntypedString(_) | Expr::Param(_) | Expr::Literal(Value::Null)
        );
        if a_untyped {
            let rb = self.bind_expr(b, scope)?;
            let ra = self.bind_typed(a, scope, &rb.1)?;
            Ok((ra, rb))
        } else {
            let ra = self.bind_expr(a, scope)?;
            let rb = self.bind_typed(b, scope, &ra.1)?;
            Ok((ra, rb))
        }
    }

    pub fn bind_expr(&mut self, e: &Expr, scope: &Scope) -> PlanResult<(BExpr, DataType)> {
        // After GROUP BY, whole expressions matching a group key or an
        // aggregate call are columns of the aggregate's output.
        if let Some(agg) = &self.agg {
            if let Some(i) = agg.group_exprs.iter().position(|g| g == e) {
                return Ok((BExpr::Col(i), agg.group_types[i].clone()));
            }
            if let Expr::Function(f) = e {
                if is_aggregate(&f.name) {
                    return self.bind_aggregate(e, f);
                }
            }
        }
        Ok(match e {
            Expr::Column(name) => {
                if let Some(agg) = &self.agg {
                    // A bare column after GROUP BY must be a group key.
                    if agg.input_scope.resolve(name)?.is_some() {
                        return Err(SqlError::new(
                            SqlState::GROUPING_ERROR,
                            format!(
                                "column \"{}\" must appear in the GROUP BY clause or be used in an aggregate function",
                                name.join(".")
                            ),
                        ));
                    }
                }
                if let Some((i, ty)) = scope.resolve(name)? {
                    (BExpr::Col(i), ty)
                } else {
                    let mut found = None;
                    for (depth, s) in self.outer.iter().rev().enumerate() {
                        if let Some((col, ty)) = s.resolve(name)? {
                            self.outer_refs += 1;
                            found = Some((BExpr::Outer { depth, col }, ty));
                            break;
                        }
                    }
                    let table_known = |label: &str| {
                        scope.cols.iter().any(|c| c.table.as_deref() == Some(label))
                            || self
                                .outer
                                .iter()
                                .any(|s| s.cols.iter().any(|c| c.table.as_deref() == Some(label)))
                    };
                    match found {
                        Some(f) => f,
                        None if name.len() >= 2 && !table_known(&name[name.len() - 2]) => {
                            return Err(SqlError::new(
                                SqlState::UNDEFINED_TABLE,
                                format!(
                                    "missing FROM-clause entry for table \"{}\"",
                                    name[name.len() - 2]
                                ),
                            ))
                        }
                        None => return Err(undefined_column(&name.join("."))),
                    }
                }
            }
            Expr::Literal(v) => (BExpr::Const(v.clone()), v.data_type()),
            Expr::UntypedString(s) => (BExpr::Const(Value::Text(s.clone())), DataType::Unknown),
            Expr::Param(n) => {
                self.note_param(*n, &DataType::Unknown);
                let ty = self.params[*n - 1].clone();
                (
                    BExpr::Param {
                        index: n - 1,
                        ty: ty.clone(),
                    },
                    ty,
                )
            }
            Expr::Default => {
                return Err(SqlError::new(
                    SqlState::SYNTAX_ERROR,
                    "DEFAULT is not allowed in this context",
                ))
            }
            Expr::Unary { op, expr } => {
                let (b, ty) = self.bind_expr(expr, scope)?;
                let ty = if *op == UnOp::Not {
                    bool_type_check(&ty, "NOT")?;
                    DataType::Bool
                } else {
                    ty
                };
                (BExpr::Unary(*op, Box::new(b)), ty)
            }
            Expr::Binary { op, left, right } => {
                let ((l, lt), (r, rt)) = if matches!(op, BinOp::And | BinOp::Or) {
                    let l = self.bind_typed(left, scope, &DataType::Bool)?;
                    let r = self.bind_typed(right, scope, &DataType::Bool)?;
                    let what = if *op == BinOp::And { "AND" } else { "OR" };
                    bool_type_check(&l.1, what)?;
                    bool_type_check(&r.1, what)?;
                    (l, r)
                } else if *op == BinOp::Concat {
                    // `unknown || x` resolves the literal as text (anytextcat),
                    // except next to an array, where it is an array literal.
                    let untyped = |e: &Expr| matches!(e, Expr::UntypedString(_) | Expr::Param(_));
                    if untyped(left) && !untyped(right) {
                        let r = self.bind_expr(right, scope)?;
                        let want = if matches!(r.1, DataType::Array(_)) {
                            r.1.clone()
                        } else {
                            DataType::Text
                        };
                        (self.bind_typed(left, scope, &want)?, r)
                    } else if untyped(right) {
                        let l = self.bind_expr(left, scope)?;
                        let want = if matches!(l.1, DataType::Array(_)) {
                            l.1.clone()
                        } else {
                            DataType::Text
                        };
                        let r = self.bind_typed(right, scope, &want)?;
                        (l, r)
                    } else {
                        (self.bind_expr(left, scope)?, self.bind_expr(right, scope)?)
                    }
                } else if matches!(op, BinOp::JsonGet | BinOp::JsonGetText | BinOp::JsonHasKey) {
                    let l = self.bind_expr(left, scope)?;
                    let r = match &**right {
                        Expr::UntypedString(s) => {
                            (BExpr::Const(Value::Text(s.clone())), DataType::Text)
                        }
                        other => self.bind_expr(other, scope)?,
                    };
                    (l, r)
                } else {
                    self.bind_pair(left, right, scope)?
                };
                let ty = binop_type(*op, &lt, &rt);
                (BExpr::Binary(*op, Box::new(l), Box::new(r)), ty)
            }
            Expr::IsNull { expr, negated } => {
                let (b, _) = self.bind_expr(expr, scope)?;
                (BExpr::IsNull(Box::new(b), *negated), DataType::Bool)
            }
            Expr::IsBool {
                expr,
                value,
                negated,
            } => {
                let (b, ty) = self.bind_typed(expr, scope, &DataType::Bool)?;
                bool_type_check(&ty, "IS TRUE")?;
                (
                    BExpr::IsBool {
                        expr: Box::new(b),
                        value: *value,
                        negated: *negated,
                    },
                    DataType::Bool,
                )
            }
            Expr::IsDistinctFrom {
                left,
                right,
                negated,
            } => {
                let ((l, _), (r, _)) = self.bind_pair(left, right, scope)?;
                (
                    BExpr::IsDistinct {
                        left: Box::new(l),
                        right: Box::new(r),
                        negated: *negated,
                    },
                    DataType::Bool,
                )
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let ((x, xt), (lo, _)) = self.bind_pair(expr, low, scope)?;
                let (hi, _) = self.bind_typed(high, scope, &xt)?;
                let ge = BExpr::Binary(BinOp::GtEq, Box::new(x.clone()), Box::new(lo));
                let le = BExpr::Binary(BinOp::LtEq, Box::new(x), Box::new(hi));
                let both = BExpr::Binary(BinOp::And, Box::new(ge), Box::new(le));
                let b = if *negated {
                    BExpr::Unary(UnOp::Not, Box::new(both))
                } else {
                    both
                };
                (b, DataType::Bool)
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let (x, xt) = self.bind_expr(expr, scope)?;
                let mut items = Vec::new();
                for item in list {
                    items.push(self.bind_typed(item, scope, &xt)?.0);
                }
                (
                    BExpr::InList {
                        expr: Box::new(x),
                        list: items,
                        negated: *negated,
                    },
                    DataType::Bool,
                )
            }
            Expr::InSubquery {
                expr,
                query,
                negated,
            } => {
                let (x, _) = self.bind_expr(expr, scope)?;
                let (plan, correlated) = self.bind_subquery(query, scope)?;
                let (op, all) = if *negated {
                    (BinOp::NotEq, true)
                } else {
                    (BinOp::Eq, false)
                };
                (
                    BExpr::Subquery {
                        plan: Rc::new(plan),
                        correlated,
                        kind: SubqueryKind::Quantified {
                            left: Box::new(x),
                            op,
                            all,
                        },
                    },
                    DataType::Bool,
                )
            }
            Expr::Exists { query, negated } => {
                let (plan, correlated) = self.bind_subquery(query, scope)?;
                (
                    BExpr::Subquery {
                        plan: Rc::new(plan),
                        correlated,
                        kind: SubqueryKind::Exists { negated: *negated },
                    },
                    DataType::Bool,
                )
            }
            Expr::Subquery(query) => {
                let (plan, correlated, ty) = self.bind_one_column_subquery(query, scope)?;
                (
                    BExpr::Subquery {
                        plan: Rc::new(plan),
                        kind: SubqueryKind::Scalar,
                        correlated,
                    },
                    ty,
                )
            }
            Expr::Quantified {
                left,
                op,
                all,
                right,
            } => {
                let (x, xt) = self.bind_expr(left, scope)?;
                match right {
                    ast::QuantifiedRhs::Subquery(q) => {
                        let (plan, correlated) = self.bind_subquery(q, scope)?;
                        (
                            BExpr::Subquery {
                                plan: Rc::new(plan),
                                correlated,
                                kind: SubqueryKind::Quantified {
                                    left: Box::new(x),
                                    op: *op,
                                    all: *all,
                                },
                            },
                            DataType::Bool,
                        )
                    }
                    ast::QuantifiedRhs::Expr(arr) => {
                        let (a, _) = self.bind_typed(arr, scope, &DataType::Array(Box::new(xt)))?;
                        (
                            BExpr::Func {
                                name: if *all { "__all".into() } else { "__any".into() },
                                args: vec![BExpr::Const(Value::Text(format!("{op:?}"))), x, a],
                            },
                            DataType::Bool,
                        )
                    }
                }
            }
            Expr::Like {
                expr,
                pattern,
                escape,
                negated,
                case_insensitive,
            } => {
                let (x, _) = self.bind_typed(expr, scope, &DataType::Text)?;
                let (p, _) = self.bind_typed(pattern, scope, &DataType::Text)?;
                let esc = match escape {
                    Some(e) => Some(Box::new(self.bind_typed(e, scope, &DataType::Text)?.0)),
                    None => None,
                };
                (
                    BExpr::Like {
                        expr: Box::new(x),
                        pattern: Box::new(p),
                        escape: esc,
                        negated: *negated,
                        ci: *case_insensitive,
                    },
                    DataType::Bool,
                )
            }
            Expr::Case {
                operand,
                whens,
                else_result,
            } => {
                let op = match operand {
                    Some(o) => Some(self.bind_expr(o, scope)?),
                    None => None,
                };
                let mut bound = Vec::new();
                let mut result_ty = DataType::Unknown;
                let mut results = Vec::new();
                for (w, r) in whens {
                    let wb = match &op {
                        Some((_, ot)) => self.bind_typed(w, scope, ot)?.0,
                        None => {
                            let (b, t) = self.bind_typed(w, scope, &DataType::Bool)?;
                            bool_type_check(&t, "CASE/WHEN")?;
                            b
                        }
                    };
                    let (rb, rt) = self.bind_expr(r, scope)?;
                    result_ty = self.unify(&result_ty, &rt, "CASE")?;
                    results.push(r);
                    bound.push((wb, rb));
                }
                let else_b = match else_result {
                    Some(e) => {
                        let (b, t) = self.bind_expr(e, scope)?;
                        result_ty = self.unify(&result_ty, &t, "CASE")?;
                        Some(Box::new(b))
                    }
                    None => None,
                };
                if result_ty == DataType::Unknown {
                    result_ty = DataType::Text;
                }
                let bound = bound
                    .into_iter()
                    .map(|(w, r)| (w, coerce(r, &result_ty)))
                    .collect();
                let else_b = else_b.map(|b| Box::new(coerce(*b, &result_ty)));
                (
                    BExpr::Case {
                        operand: op.map(|(b, _)| Box::new(b)),
                        whens: bound,
                        else_result: else_b,
                    },
                    result_ty,
                )
            }
            Expr::Cast {
                expr,
                ty: DataType::Reg(k),
            } => self.bind_reg_cast(expr, *k, scope)?,
            Expr::Cast { expr, ty } => {
                let (b, _) = self.bind_typed(expr, scope, ty)?;
                (BExpr::Cast(Box::new(b), ty.clone()), ty.clone())
            }
            Expr::Array(items) => {
                let mut bound = Vec::new();
                let mut ty = DataType::Unknown;
                for i in items {
                    let (b, t) = self.bind_expr(i, scope)?;
                    ty = self.unify(&ty, &t, "ARRAY")?;
                    bound.push(b);
                }
                if ty == DataType::Unknown {
                    ty = DataType::Text;
                }
                let bound = bound.into_iter().map(|b| coerce(b, &ty)).collect();
                (BExpr::Array(bound), DataType::Array(Box::new(ty)))
            }
            Expr::ArraySubquery(query) => {
                let (plan, correlated, ty) = self.bind_one_column_subquery(query, scope)?;
                let ty = match ty {
                    DataType::Unknown => DataType::Text,
                    t => t,
                };
                (
                    BExpr::Subquery {
                        plan: Rc::new(plan),
                        kind: SubqueryKind::Array,
                        correlated,
                    },
                    DataType::Array(Box::new(ty)),
                )
            }
            Expr::Subscript { expr, index } => {
                let (a, at) = self.bind_expr(expr, scope)?;
                let elem = match at {
                    DataType::Array(elem) => *elem,
                    other => {
                        return Err(SqlError::new(
                            SqlState::DATATYPE_MISMATCH,
                            format!(
                                "cannot subscript type {other} because it does not support subscripting"
                            ),
                        ))
                    }
                };
                let (i, it) = self.bind_typed(index, scope, &DataType::Int4)?;
                if !it.is_integer() && it != DataType::Unknown {
                    return Err(SqlError::new(
                        SqlState::DATATYPE_MISMATCH,
                        "array subscript must have type integer",
                    ));
                }
                (
                    BExpr::Func {
                        name: "__subscript".into(),
                        args: vec![a, i],
                    },
                    elem,
                )
            }
            Expr::Row(_) => {
                return Err(SqlError::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "row constructors are not supported",
                ))
            }
            Expr::Function(f) => self.bind_function(f, scope)?,
        })
    }

    fn unify(&self, a: &DataType, b: &DataType, what: &str) -> PlanResult<DataType> {
        if *a == DataType::Unknown {
            return Ok(b.clone());
        }
        if *b == DataType::Unknown {
            return Ok(a.clone());
        }
        common_type(a, b).ok_or_else(|| {
            SqlError::new(
                SqlState::DATATYPE_MISMATCH,
                format!("{what} types {a} and {b} cannot be matched"),
            )
        })
    }

    fn bind_aggregate(&mut self, e: &Expr, f: &ast::FunctionCall) -> PlanResult<(BExpr, DataType)> {
        let agg = self.agg.take().expect("caller checked");
        let input_scope = agg.input_scope.clone();
        let result = (|| {
            if let Some(i) = agg.agg_exprs.iter().position(|x| x == e) {
                return Ok((
                    BExpr::Col(agg.group_exprs.len() + i),
                    agg.aggs[i].ty.clone(),
                ));
            }
            Err(SqlError::new(
                SqlState::INTERNAL_ERROR,
                "unregistered aggregate",
            ))
        })();
        self.agg = Some(agg);
        if result.is_ok() {
            return result;
        }
        // Register a new aggregate: its arguments bind before aggregation.
        let saved = self.agg.take();
        if f.args.iter().any(contains_aggregate) {
            self.agg = saved;
            return Err(SqlError::new(
                SqlState::GROUPING_ERROR,
                "aggregate function calls cannot be nested",
            ));
        }
        let bound = self.bind_agg_call(f, &input_scope);
        self.agg = saved;
        let call = bound?;
        let agg = self.agg.as_mut().expect("restored");
        let ty = call.ty.clone();
        agg.aggs.push(call);
        agg.agg_exprs.push(e.clone());
        Ok((BExpr::Col(agg.group_exprs.len() + agg.aggs.len() - 1), ty))
    }

    fn bind_agg_call(&mut self, f: &ast::FunctionCall, scope: &Scope) -> PlanResult<AggCall> {
        let mut args = Vec::new();
        let mut types = Vec::new();
        for a in &f.args {
            let (b, t) = self.bind_expr(a, scope)?;
            args.push(b);
            types.push(t);
        }
        let filter = match &f.filter {
            Some(e) => Some(self.bind_typed(e, scope, &DataType::Bool)?.0),
            None => None,
        };
        let mut order_by = Vec::new();
        for o in &f.order_by {
            let (b, _) = self.bind_expr(&o.expr, scope)?;
            order_by.push(SortKey {
                expr: b,
                desc: o.desc,
                nulls_first: o.nulls_first.unwrap_or(o.desc),
            });
        }
        let arg_ty = types.first().cloned().unwrap_or(DataType::Unknown);
        let wrong = || {
            SqlError::new(
                SqlState::UNDEFINED_FUNCTION,
                format!("function {}({}) does not exist", f.name, types.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")),
            )
            .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")
        };
        let (func, ty) = match (f.name.as_str(), f.star, args.len()) {
            ("count", true, 0) => (AggFunc::CountStar, DataType::Int8),
            ("count", false, 1) => (AggFunc::Count, DataType::Int8),
            ("sum", false, 1) => (
                AggFunc::Sum,
                match arg_ty {
                    DataType::Int2 | DataType::Int4 => DataType::Int8,
                    DataType::Int8 | DataType::Numeric(_) => DataType::Numeric(None),
                    DataType::Float4 => DataType::Float4,
                    DataType::Float8 | DataType::Unknown => DataType::Float8,
                    DataType::Interval => DataType::Interval,
                    _ => return Err(wrong()),
                },
            ),
            ("avg", false, 1) => (
                AggFunc::Avg,
                match arg_ty {
                    DataType::Int2 | DataType::Int4 | DataType::Int8 | DataType::Numeric(_) => {
                        DataType::Numeric(None)
                    }
                    DataType::Float4 | DataType::Float8 | DataType::Unknown => DataType::Float8,
                    DataType::Interval => DataType::Interval,
                    _ => return Err(wrong()),
                },
            ),
            ("min", false, 1) => (AggFunc::Min, arg_ty),
            ("max", false, 1) => (AggFunc::Max, arg_ty),
            ("bool_and" | "every", false, 1) => (AggFunc::BoolAnd, DataType::Bool),
            ("bool_or", false, 1) => (AggFunc::BoolOr, DataType::Bool),
            ("string_agg", false, 2) => (AggFunc::StringAgg, DataType::Text),
            ("array_agg", false, 1) => (AggFunc::ArrayAgg, DataType::Array(Box::new(arg_ty))),
            _ => return Err(wrong()),
        };
        Ok(AggCall {
            func,
            args,
            distinct: f.distinct,
            filter,
            order_by,
            ty,
        })
    }

    fn bind_function(
        &mut self,
        f: &ast::FunctionCall,
        scope: &Scope,
    ) -> PlanResult<(BExpr, DataType)> {
        if is_aggregate(&f.name) {
            return Err(SqlError::new(
                SqlState::GROUPING_ERROR,
                format!("aggregate functions are not allowed here ({})", f.name),
            ));
        }
        let name = f
            .name
            .strip_prefix("pg_catalog.")
            .unwrap_or(&f.name)
            .to_string();
        match name.as_str() {
            "coalesce" | "greatest" | "least" => {
                let mut ty = DataType::Unknown;
                let mut bound = Vec::new();
                for a in &f.args {
                    let (b, t) = self.bind_expr(a, scope)?;
                    ty = self.unify(&ty, &t, &name.to_uppercase())?;
                    bound.push(b);
                }
                if ty == DataType::Unknown {
                    ty = DataType::Text;
                }
                let bound: Vec<BExpr> = bound.into_iter().map(|b| coerce(b, &ty)).collect();
                return Ok(if name == "coalesce" {
                    (BExpr::Coalesce(bound), ty)
                } else {
                    (BExpr::Func { name, args: bound }, ty)
                });
            }
            "nullif" if f.args.len() == 2 => {
                let ((a, at), (b, _)) = self.bind_pair(&f.args[0], &f.args[1], scope)?;
                return Ok((BExpr::NullIf(Box::new(a), Box::new(b)), at));
            }
            _ if self.catalog.session_function(&name, &f.args)?.is_some() => {
                return Ok(self
                    .catalog
                    .session_function(&name, &f.args)?
                    .expect("checked"));
            }
            "nextval" | "currval" | "setval" => {
                let seq_name = match f.args.first() {
                    Some(Expr::UntypedString(s)) => s.clone(),
                    // `nextval('s'::regclass)`, as PostgreSQL shows defaults.
                    Some(Expr::Cast {
                        expr,
                        ty: DataType::Reg(RegKind::Class),
                    }) if matches!(&**expr, Expr::UntypedString(_)) => match &**expr {
                        Expr::UntypedString(s) => s.clone(),
                        _ => String::new(),
                    },
                    _ => {
                        return Err(SqlError::new(
                            SqlState::FEATURE_NOT_SUPPORTED,
                            format!("{name} needs a literal sequence name"),
                        ))
                    }
                };
                let seq = self
                    .catalog
                    .sequence(&seq_name)?
                    .ok_or_else(|| undefined_table(&seq_name))?;
                return Ok(match name.as_str() {
                    "nextval" => (BExpr::NextVal(seq), DataType::Int8),
                    "currval" => (BExpr::CurrVal(seq), DataType::Int8),
                    _ => {
                        let value = f.args.get(1).ok_or_else(|| {
                            SqlError::new(SqlState::UNDEFINED_FUNCTION, "setval needs a value")
                        })?;
                        let (v, _) = self.bind_typed(value, scope, &DataType::Int8)?;
                        let called = match f.args.get(2) {
                            Some(c) => {
                                Some(Box::new(self.bind_typed(c, scope, &DataType::Bool)?.0))
                            }
                            None => None,
                        };
                        (
                            BExpr::SetVal {
                                seq,
                                value: Box::new(v),
                                called,
                            },
                            DataType::Int8,
                        )
                    }
                });
            }
            _ => {}
        }
        if let Some(ty) = crate::sql::functions::catalog::return_type(&name, f.args.len()) {
            let mut args = Vec::new();
            for (i, a) in f.args.iter().enumerate() {
                let want = crate::sql::functions::catalog::arg_type(&name, i);
                let (b, t) = self.bind_typed(a, scope, &want)?;
                let fits = match want {
                    DataType::Bool => matches!(t, DataType::Bool | DataType::Unknown),
                    _ => t.is_integer() || matches!(t, DataType::Reg(_) | DataType::Unknown),
                };
                if !fits {
                    return Err(SqlError::new(
                        SqlState::UNDEFINED_FUNCTION,
                        format!("function {name} does not accept an argument of type {t}"),
                    ));
                }
                args.push(b);
            }
            let info = self.catalog_info()?;
            return Ok((
                BExpr::CatalogFunc {
                    op: CatalogOp::Func(name),
                    args,
                    info,
                },
                ty,
            ));
        }
        let mut args = Vec::new();
        let mut types = Vec::new();
        for (i, a) in f.args.iter().enumerate() {
            // Untyped literals take the parameter type of the function's
            // signature where it is jsonb.
            let want = jsonb_parameter(&name, i);
            let (b, t) = self.bind_typed(a, scope, &want)?;
            args.push(b);
            types.push(t);
        }
        let ty = crate::sql::functions::function_return_type(&name, &types)?;
        Ok((BExpr::Func { name, args }, ty))
    }

    /// Binds a subquery; the flag says whether it is correlated.
    /// A scalar or ARRAY(...) subquery: exactly one column, whose type it
    /// returns with the plan and whether it is correlated.
    fn bind_one_column_subquery(
        &mut self,
        q: &ast::Query,
        scope: &Scope,
    ) -> PlanResult<(Plan, bool, DataType)> {
        let (plan, correlated) = self.bind_subquery(q, scope)?;
        let cols = plan_columns(&plan, &self.cte_plans);
        if cols.len() != 1 {
            return Err(SqlError::new(
                SqlState::SYNTAX_ERROR,
                "subquery must return only one column",
            ));
        }
        let ty = cols[0].ty.clone();
        Ok((plan, correlated, ty))
    }

    fn bind_subquery(&mut self, q: &ast::Query, scope: &Scope) -> PlanResult<(Plan, bool)> {
        self.outer.push(scope.clone());
        let saved_agg = self.agg.take();
        let refs_before = self.outer_refs;
        let result = self.bind_query(q);
        self.agg = saved_agg;
        self.outer.pop();
        Ok((result?.0, self.outer_refs != refs_before))
    }

    /// Binds a query; returns its plan and output columns.
    pub fn bind_query(&mut self, q: &ast::Query) -> PlanResult<(Plan, Vec<Column>)> {
        let cte_mark = self.ctes.len();
        for cte in &q.ctes {
            let id = self.cte_plans.len();
            let (plan, mut cols) = if q.recursive && query_references(&cte.query, &cte.name) {
                self.bind_recursive_cte(cte, id)?
            } else {
                let (p, c) = self.bind_query(&cte.query)?;
                self.cte_plans.push(p);
                (None, c)
            };
            if let Some(p) = plan {
                self.cte_plans[id] = p;
            }
            for (c, name) in cols.iter_mut().zip(&cte.columns) {
                c.name = name.clone();
            }
            self.ctes.push((cte.name.clone(), cols, id));
        }
        let result = self.bind_query_body(q);
        self.ctes.truncate(cte_mark);
        result
    }

    fn bind_recursive_cte(
        &mut self,
        cte: &ast::Cte,
        id: usize,
    ) -> PlanResult<(Option<Plan>, Vec<Column>)> {
        let (anchor, step, all) = match &cte.query.body {
            ast::SetExpr::SetOp {
                op: SetOp::Union,
                all,
                left,
                right,
            } => (left, right, *all),
            _ => {
                return Err(SqlError::new(
                    SqlState::INVALID_TABLE_DEFINITION,
                    format!("recursive query \"{}\" does not have the form non-recursive-term UNION [ALL] recursive-term", cte.name),
                ))
            }
        };
        let (anchor_plan, mut cols) = self.bind_set_expr(anchor)?;
        for (c, name) in cols.iter_mut().zip(&cte.columns) {
            c.name = name.clone();
        }
        // The step reads the work table under the CTE's name.
        self.cte_plans.push(Plan::Values {
            rows: Vec::new(),
            columns: cols.clone(),
        });
        self.ctes
            .push((cte.name.clone(), cols.clone(), usize::MAX - id));
        let step_plan = self.bind_set_expr(step);
        self.ctes.pop();
        let (step_plan, _) = step_plan?;
        Ok((
            Some(Plan::RecursiveCte {
                id,
                anchor: Box::new(anchor_plan),
                step: Box::new(step_plan),
                all,
            }),
            cols,
        ))
    }

    fn bind_query_body(&mut self, q: &ast::Query) -> PlanResult<(Plan, Vec<Column>)> {
        if let (ast::SetExpr::Select(sel), false) = (&q.body, q.order_by.is_empty()) {
            // ORDER BY may use input columns not in the select list.
            return self.bind_select(sel, &q.order_by, q.limit.as_ref(), q.offset.as_ref());
        }
        let (mut plan, cols) = self.bind_set_expr(&q.body)?;
        if !q.order_by.is_empty() {
            let scope = Scope {
                cols: cols
                    .iter()
                    .map(|c| ScopeCol {
                        table: None,
                        name: c.name.clone(),
                        ty: c.ty.clone(),
                        hidden: false,
                    })
                    .collect(),
            };
            let mut keys = Vec::new();
            for o in &q.order_by {
                let expr = match &o.expr {
                    Expr::Literal(Value::Int4(n)) => {
                        let i = usize::try_from(*n - 1)
                            .ok()
                            .filter(|&i| i < cols.len())
                            .ok_or_else(|| order_position_error(*n))?;
                        BExpr::Col(i)
                    }
                    e => self.bind_expr(e, &scope)?.0,
                };
                keys.push(SortKey {
                    expr,
                    desc: o.desc,
                    nulls_first: o.nulls_first.unwrap_or(o.desc),
                });
            }
            plan = Plan::Sort {
                input: Box::new(plan),
                keys,
            };
        }
        plan = self.bind_limit(plan, q.limit.as_ref(), q.offset.as_ref())?;
        Ok((plan, cols))
    }

    fn bind_limit(
        &mut self,
        plan: Plan,
        limit: Option<&Expr>,
        offset: Option<&Expr>,
    ) -> PlanResult<Plan> {
        if limit.is_none() && offset.is_none() {
            return Ok(plan);
        }
        let empty = Scope::default();
        let limit = match limit {
            Some(Expr::Literal(Value::Null)) | None => None,
            Some(e) => Some(self.bind_typed(e, &empty, &DataType::Int8)?.0),
        };
        let offset = match offset {
            Some(e) => Some(self.bind_typed(e, &empty, &DataType::Int8)?.0),
            None => None,
        };
        Ok(Plan::Limit {
            input: Box::new(plan),
            limit,
            offset,
        })
    }

    fn bind_set_expr(&mut self, s: &ast::SetExpr) -> PlanResult<(Plan, Vec<Column>)> {
        match s {
            ast::SetExpr::Select(sel) => self.bind_select(sel, &[], None, None),
            ast::SetExpr::Query(q) => self.bind_query(q),
            ast::SetExpr::Values(rows) => self.bind_values(rows, None),
            ast::SetExpr::SetOp {
                op,
                all,
                left,
                right,
            } => {
                let (lp, lc) = self.bind_set_expr(left)?;
                let (rp, rc) = self.bind_set_expr(right)?;
                if lc.len() != rc.len() {
                    return Err(SqlError::new(
                        SqlState::SYNTAX_ERROR,
                        format!(
                            "each {} query must have the same number of columns",
                            format!("{op:?}").to_uppercase()
                        ),
                    ));
                }
                let mut cols = Vec::new();
                for (l, r) in lc.iter().zip(&rc) {
                    let ty = self.unify(&l.ty, &r.ty, &format!("{op:?}").to_uppercase())?;
                    cols.push(Column {
                        name: l.name.clone(),
                        ty,
                    });
                }
                let lp = cast_plan(lp, &lc, &cols);
                let rp = cast_plan(rp, &rc, &cols);
                Ok((
                    Plan::SetOp {
                        op: *op,
                        all: *all,
                        left: Box::new(lp),
                        right: Box::new(rp),
                    },
                    cols,
                ))
            }
        }
    }

    /// VALUES lists; `target` gives column types to coerce to (INSERT).
    pub fn bind_values(
        &mut self,
        rows: &[Vec<Expr>],
        target: Option<&[DataType]>,
    ) -> PlanResult<(Plan, Vec<Column>)> {
        let width = rows.first().map_or(0, |r| r.len());
        let mut types: Vec<DataType> = match target {
            Some(t) => t.to_vec(),
            None => vec![DataType::Unknown; width],
        };
        let empty = Scope::default();
        let mut bound_rows = Vec::new();
        if let Some(t) = target {
            if width != t.len() {
                return Err(SqlError::new(
                    SqlState::SYNTAX_ERROR,
                    if width > t.len() {
                        "INSERT has more expressions than target columns"
                    } else {
                        "INSERT has more target columns than expressions"
                    },
                ));
            }
        }
        for row in rows {
            if row.len() != width {
                return Err(SqlError::new(
                    SqlState::SYNTAX_ERROR,
                    "VALUES lists must all be the same length",
                ));
            }
            let mut bound = Vec::new();
            for (i, e) in row.iter().enumerate() {
                if matches!(e, Expr::Default) && target.is_some() {
                    bound.push(BExpr::Func {
                        name: "__default".into(),
                        args: vec![BExpr::Const(Value::Int4(i as i32))],
                    });
                    continue;
                }
                let want = types.get(i).cloned().unwrap_or(DataType::Unknown);
                let (b, t) = self.bind_typed(e, &empty, &want)?;
                if target.is_none() {
                    types[i] = self.unify(&types[i], &t, "VALUES")?;
                }
                bound.push(b);
            }
            bound_rows.push(bound);
        }
        let types: Vec<DataType> = types
            .into_iter()
            .map(|t| {
                if t == DataType::Unknown {
                    DataType::Text
                } else {
                    t
                }
            })
            .collect();
        if target.is_none() {
            for row in &mut bound_rows {
                for (b, t) in row.iter_mut().zip(&types) {
                    *b = coerce(std::mem::replace(b, BExpr::Const(Value::Null)), t);
                }
            }
        }
        let columns: Vec<Column> = types
            .iter()
            .enumerate()
            .map(|(i, t)| Column {
                name: format!("column{}", i + 1),
                ty: t.clone(),
            })
            .collect();
        Ok((
            Plan::Values {
                rows: bound_rows,
                columns: columns.clone(),
            },
            columns,
        ))
    }

    /// Binds FROM items into a plan and the scope of its output.
    pub fn bind_from(&mut self, from: &[ast::TableRef]) -> PlanResult<(Plan, Scope)> {
        let mut plan: Option<(Plan, Scope)> = None;
        for item in from {
            let (p, s) = self.bind_table_ref(item)?;
            plan = Some(match plan {
                None => (p, s),
                Some((lp, ls)) => {
                    let mut scope = ls;
                    scope.cols.extend(s.cols);
                    (
                        Plan::NestedLoop {
                            left: Box::new(lp),
                            right: Box::new(p),
                            kind: JoinType::Inner,
                            cond: None,
                        },
                        scope,
                    )
                }
            });
        }
        Ok(plan.unwrap_or((Plan::Unit, Scope::default())))
    }

    fn bind_table_ref(&mut self, t: &ast::TableRef) -> PlanResult<(Plan, Scope)> {
        match t {
            ast::TableRef::Table { name, alias } => {
                let tname = name.last().cloned().unwrap_or_default();
                let label = alias
                    .as_ref()
                    .map(|a| a.name.clone())
                    .unwrap_or_else(|| tname.clone());
                if name.len() == 1 {
                    if let Some((_, cols, id)) = self
                        .ctes
                        .iter()
                        .rev()
                        .find(|(n, _, _)| *n == tname)
                        .cloned()
                    {
                        let mut scope = Scope::default();
                        for (i, c) in cols.iter().enumerate() {
                            let cname = alias
                                .as_ref()
                                .and_then(|a| a.columns.get(i))
                                .cloned()
                                .unwrap_or_else(|| c.name.clone());
                            scope.cols.push(ScopeCol {
                                table: Some(label.clone()),
                                name: cname,
                                ty: c.ty.clone(),
                                hidden: false,
                            });
                        }
                        let plan = if id > usize::MAX / 2 {
                            Plan::WorkTable {
                                id: usize::MAX - id,
                            }
                        } else {
                            Plan::CteScan { id }
                        };
                        return Ok((plan, scope));
                    }
                }
                let schema = name.len().checked_sub(2).map(|i| name[i].as_str());
                if let Some(sys) = self.catalog.system_relation(schema, &tname)? {
                    let renames = alias.as_ref().map(|a| a.columns.as_slice()).unwrap_or(&[]);
                    let scope = Scope {
                        cols: sys
                            .columns
                            .iter()
                            .enumerate()
                            .map(|(i, c)| ScopeCol {
                                table: Some(label.clone()),
                                name: renames.get(i).cloned().unwrap_or_else(|| c.name.clone()),
                                ty: c.ty.clone(),
                                hidden: false,
                            })
                            .collect(),
                    };
                    let plan = Plan::SystemScan {
                        name: sys.qualified_name,
                        columns: sys.columns,
                        rows: Rc::new(sys.rows),
                    };
                    return Ok((plan, scope));
                }
                let table = self
                    .catalog
                    .table(&tname)?
                    .ok_or_else(|| undefined_table(&tname))?;
                let scope = table_scope(
                    &table,
                    &label,
                    alias.as_ref().map(|a| a.columns.as_slice()).unwrap_or(&[]),
                );
                Ok((
                    Plan::SeqScan {
                        table,
                        filter: None,
                        with_tid: false,
                    },
                    scope,
                ))
            }
            ast::TableRef::Subquery {
                query,
                alias,
                lateral,
            } => {
                if *lateral {
                    return Err(SqlError::new(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        "LATERAL is not supported",
                    ));
                }
                let saved_outer = std::mem::take(&mut self.outer);
                let result = self.bind_query(query);
                self.outer = saved_outer;
                let (plan, cols) = result?;
                let label = alias.as_ref().map(|a| a.name.clone());
                let scope = Scope {
                    cols: cols
                        .iter()
                        .enumerate()
                        .map(|(i, c)| ScopeCol {
                            table: label.clone(),
                            name: alias
                                .as_ref()
                                .and_then(|a| a.columns.get(i))
                                .cloned()
                                .unwrap_or_else(|| c.name.clone()),
                            ty: c.ty.clone(),
                            hidden: false,
                        })
                        .collect(),
                };
                Ok((plan, scope))
            }
            ast::TableRef::Function {
                name,
                args,
                alias,
                ordinality,
            } => {
                let fname = match name.as_slice() {
                    [schema, f] if schema == "pg_catalog" => f.clone(),
                    _ => name.join("."),
                };
                let label = alias
                    .as_ref()
                    .map(|a| a.name.clone())
                    .unwrap_or_else(|| fname.clone());
                let col = alias
                    .as_ref()
                    .and_then(|a| a.columns.first().cloned())
                    .unwrap_or_else(|| label.clone());
                let empty = Scope::default();
                let (plan, ty) = match fname.as_str() {
                    "generate_series" => {
                        let mut bound = Vec::new();
                        for a in args {
                            bound.push(self.bind_typed(a, &empty, &DataType::Int8)?.0);
                        }
                        if !(2..=3).contains(&bound.len()) {
                            return Err(SqlError::new(
                                SqlState::UNDEFINED_FUNCTION,
                                "function generate_series needs 2 or 3 integer arguments",
                            ));
                        }
                        let plan = Plan::Series {
                            args: bound,
                            column: Column {
                                name: col.clone(),
                                ty: DataType::Int8,
                            },
                            ordinality: *ordinality,
                        };
                        (plan, DataType::Int8)
                    }
                    // The relation and its ancestors in a partition tree,
                    // or no rows when it is not a partition or partitioned
                    // table (PostgreSQL's definition). We have no
                    // partitioning, so that is never.
                    "pg_partition_ancestors" if args.len() == 1 => {
                        let ty = DataType::Reg(RegKind::Class);
                        let (_, t) = self.bind_typed(&args[0], &empty, &ty)?;
                        if !matches!(t, DataType::Reg(RegKind::Class)) && !t.is_integer() {
                            return Err(SqlError::new(
                                SqlState::UNDEFINED_FUNCTION,
                                format!("function pg_partition_ancestors({t}) does not exist"),
                            ));
                        }
                        let mut columns = vec![Column {
                            name: col.clone(),
                            ty: ty.clone(),
                        }];
                        if *ordinality {
                            columns.push(Column {
                                name: "ordinality".into(),
                                ty: DataType::Int8,
                            });
                        }
                        (
                            Plan::Values {
                                rows: Vec::new(),
                                columns,
                            },
                            ty,
                        )
                    }
                    _ => {
                        return Err(SqlError::new(
                            SqlState::FEATURE_NOT_SUPPORTED,
                            format!("table function {fname} is not supported"),
                        ))
                    }
                };
                let mut scope = Scope {
                    cols: vec![ScopeCol {
                        table: Some(label.clone()),
                        name: col,
                        ty,
                        hidden: false,
                    }],
                };
                if *ordinality {
                    scope.cols.push(ScopeCol {
                        table: Some(label),
                        name: alias
                            .as_ref()
                            .and_then(|a| a.columns.get(1).cloned())
                            .unwrap_or_else(|| "ordinality".into()),
                        ty: DataType::Int8,
                        hidden: false,
                    });
                }
                Ok((plan, scope))
            }
            ast::TableRef::Join {
                left,
                right,
                kind,
                constraint,
            } => {
                let (lp, ls) = self.bind_table_ref(left)?;
                let (rp, rs) = self.bind_table_ref(right)?;
                let nleft = ls.cols.len();
                let mut scope = ls.clone();
                scope.cols.extend(rs.cols.iter().cloned());
                let join_type = match kind {
                    ast::JoinKind::Inner | ast::JoinKind::Cross => JoinType::Inner,
                    ast::JoinKind::Left => JoinType::Left,
                    ast::JoinKind::Right => JoinType::Right,
                    ast::JoinKind::Full => JoinType::Full,
                };
                let using_cols: Vec<String> = match constraint {
                    ast::JoinConstraint::Using(cols) => cols.clone(),
                    ast::JoinConstraint::Natural => ls
                        .cols
                        .iter()
                        .filter(|c| !c.hidden && rs.cols.iter().any(|r| r.name == c.name))
                        .map(|c| c.name.clone())
                        .collect(),
                    _ => Vec::new(),
                };
                let cond = match constraint {
                    ast::JoinConstraint::On(e) => {
                        let (b, t) = self.bind_typed(e, &scope, &DataType::Bool)?;
                        bool_type_check(&t, "JOIN/ON")?;
                        Some(b)
                    }
                    ast::JoinConstraint::Using(_) | ast::JoinConstraint::Natural => {
                        let mut cond: Option<BExpr> = None;
                        for c in &using_cols {
                            let li = ls
                                .cols
                                .iter()
                                .position(|x| &x.name == c)
                                .ok_or_else(|| undefined_column(c))?;
                            let ri = rs
                                .cols
                                .iter()
                                .position(|x| &x.name == c)
                                .ok_or_else(|| undefined_column(c))?;
                            let eq = BExpr::Binary(
                                BinOp::Eq,
                                Box::new(BExpr::Col(li)),
                                Box::new(BExpr::Col(nleft + ri)),
                            );
                            cond = Some(match cond {
                                None => eq,
                                Some(prev) => {
                                    BExpr::Binary(BinOp::And, Box::new(prev), Box::new(eq))
                                }
                            });
                        }
                        cond
                    }
                    ast::JoinConstraint::None => None,
                };
                let join = make_join(lp, rp, join_type, cond, nleft);
                if using_cols.is_empty() {
                    return Ok((join, scope));
                }
                // USING/NATURAL, as PostgreSQL: the merged join columns come
                // first (the left value, the right one for RIGHT JOIN, their
                // COALESCE for FULL JOIN); both sides' copies stay
                // addressable by qualified name only.
                let mut exprs = Vec::new();
                let mut out = Scope::default();
                for c in &using_cols {
                    let li = ls
                        .cols
                        .iter()
                        .position(|x| &x.name == c)
                        .ok_or_else(|| undefined_column(c))?;
                    let ri = nleft
                        + rs.cols
                            .iter()
                            .position(|x| &x.name == c)
                            .ok_or_else(|| undefined_column(c))?;
                    exprs.push(match join_type {
                        JoinType::Inner | JoinType::Left => BExpr::Col(li),
                        JoinType::Right => BExpr::Col(ri),
                        JoinType::Full => BExpr::Coalesce(vec![BExpr::Col(li), BExpr::Col(ri)]),
                    });
                    out.cols.push(ScopeCol {
                        table: None,
                        name: c.clone(),
                        ty: scope.cols[li].ty.clone(),
                        hidden: false,
                    });
                    scope.cols[li].hidden = true;
                    scope.cols[ri].hidden = true;
                }
                for (i, col) in scope.cols.iter().enumerate() {
                    exprs.push(BExpr::Col(i));
                    out.cols.push(col.clone());
                }
                let columns = out
                    .cols
                    .iter()
                    .map(|c| Column {
                        name: c.name.clone(),
                        ty: c.ty.clone(),
                    })
                    .collect();
                Ok((
                    Plan::Project {
                        input: Box::new(join),
                        exprs,
                        columns,
                    },
                    out,
                ))
            }
        }
    }

    /// Binds a SELECT with its ORDER BY / LIMIT.
    fn bind_select(
        &mut self,
        sel: &ast::Select,
        order_by: &[ast::OrderItem],
        limit: Option<&Expr>,
        offset: Option<&Expr>,
    ) -> PlanResult<(Plan, Vec<Column>)> {
        if let Some(rewritten) = srf_select_to_from(sel)? {
            return self.bind_select(&rewritten, order_by, limit, offset);
        }
        let (mut plan, scope) = self.bind_from(&sel.from)?;
        if let Some(w) = &sel.selection {
            if contains_aggregate(w) {
                return Err(SqlError::new(
                    SqlState::GROUPING_ERROR,
                    "aggregate functions are not allowed in WHERE",
                ));
            }
            let (pred, t) = self.bind_typed(w, &scope, &DataType::Bool)?;
            bool_type_check(&t, "WHERE")?;
            plan = Plan::Filter {
                input: Box::new(plan),
                pred,
            };
        }
        // Expand the select list.
        let mut items: Vec<(Expr, String)> = Vec::new();
        for item in &sel.projection {
            match item {
                ast::SelectItem::Wildcard => {
                    if scope.cols.iter().all(|c| c.hidden)
                        && !sel.from.is_empty()
                        && scope.cols.is_empty()
                    {
                        continue;
                    }
                    for c in scope.cols.iter().filter(|c| !c.hidden) {
                        items.push((column_expr(c), c.name.clone()));
                    }
                }
                ast::SelectItem::QualifiedWildcard(name) => {
                    let t = name.last().cloned().unwrap_or_default();
                    let mut any = false;
                    for c in scope
                        .cols
                        .iter()
                        .filter(|c| !c.hidden && c.table.as_ref() == Some(&t))
                    {
                        items.push((column_expr(c), c.name.clone()));
                        any = true;
                    }
                    if !any {
                        return Err(SqlError::new(
                            SqlState::UNDEFINED_TABLE,
                            format!("missing FROM-clause entry for table \"{t}\""),
                        ));
                    }
                }
                ast::SelectItem::Expr { expr, alias } => {
                    let name = alias.clone().unwrap_or_else(|| default_column_name(expr));
                    items.push((expr.clone(), name));
                }
            }
        }
        let has_agg = !sel.group_by.is_empty()
            || sel.having.is_some()
            || items.iter().any(|(e, _)| contains_aggregate(e))
            || order_by.iter().any(|o| contains_aggregate(&o.expr));
        let post_scope;
        if has_agg {
            // GROUP BY may name output columns by position or alias.
            let mut group_exprs = Vec::new();
            for g in &sel.group_by {
                let g = match g {
                    Expr::Literal(Value::Int4(n)) => items
                        .get((*n as usize).wrapping_sub(1))
                        .map(|(e, _)| e.clone())
                        .ok_or_else(|| order_position_error(*n))?,
                    Expr::Column(name) if name.len() == 1 && scope.resolve(name)?.is_none() => {
                        items
                            .iter()
                            .find(|(_, n)| n == &name[0])
                            .map(|(e, _)| e.clone())
                            .ok_or_else(|| undefined_column(&name[0]))?
                    }
                    e => e.clone(),
                };
                group_exprs.push(g);
            }
            let mut group_bound = Vec::new();
            let mut group_types = Vec::new();
            for g in &group_exprs {
                if contains_aggregate(g) {
                    return Err(SqlError::new(
                        SqlState::GROUPING_ERROR,
                        "aggregate functions are not allowed in GROUP BY",
                    ));
                }
                let (b, t) = self.bind_expr(g, &scope)?;
                group_bound.push(b);
                group_types.push(t);
            }
            self.agg = Some(AggContext {
                group_exprs,
                group_types,
                aggs: Vec::new(),
                agg_exprs: Vec::new(),
                input_scope: scope.clone(),
            });
            post_scope = Scope::default();
            let result = self.bind_select_output(
                &items,
                order_by,
                sel,
                &post_scope,
                Some(group_bound),
                plan,
            );
            self.agg = None;
            let (plan, cols) = result?;
            let plan = self.bind_limit(plan, limit, offset)?;
            return Ok((plan, cols));
        }
        let (plan, cols) = self.bind_select_output(&items, order_by, sel, &scope, None, plan)?;
        let plan = self.bind_limit(plan, limit, offset)?;
        Ok((plan, cols))
    }

    /// Projection, HAVING, DISTINCT and ORDER BY over `plan` (which is the
    /// aggregation input when `group` is given).
    fn bind_select_output(
        &mut self,
        items: &[(Expr, String)],
        order_by: &[ast::OrderItem],
        sel: &ast::Select,
        scope: &Scope,
        group: Option<Vec<BExpr>>,
        plan: Plan,
    ) -> PlanResult<(Plan, Vec<Column>)> {
        let mut exprs = Vec::new();
        let mut cols = Vec::new();
        for (e, name) in items {
            let (b, t) = self.bind_expr(e, scope)?;
            exprs.push(b);
            cols.push(Column {
                name: name.clone(),
                ty: if t == DataType::Unknown {
                    DataType::Text
                } else {
                    t
                },
            });
        }
        let having = match &sel.having {
            Some(h) => {
                let (b, t) = self.bind_typed(h, scope, &DataType::Bool)?;
                bool_type_check(&t, "HAVING")?;
                Some(b)
            }
            None => None,
        };
        // ORDER BY: output position, output alias, or an expression
        // (added as a hidden column).
        let visible = exprs.len();
        let mut sort_keys = Vec::new();
        for o in order_by {
            let idx = match &o.expr {
                Expr::Literal(Value::Int4(n)) => Some(
                    usize::try_from(*n - 1)
                        .ok()
                        .filter(|&i| i < visible)
                        .ok_or_else(|| order_position_error(*n))?,
                ),
                Expr::Column(name)
                    if name.len() == 1
                        && items.iter().filter(|(_, n)| n == &name[0]).count() == 1 =>
                {
                    let by_output = items.iter().position(|(_, n)| n == &name[0]);
                    // An input column of that name wins only if the output
                    // column is not a plain reference to something else.
                    by_output
                }
                e => items.iter().position(|(ie, _)| ie == e),
            };
            let idx = match idx {
                Some(i) => i,
                None => {
                    if matches!(sel.distinct, ast::Distinct::All) {
                        return Err(SqlError::new(
                            SqlState::INVALID_COLUMN_REFERENCE,
                            "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
                        ));
                    }
                    let (b, t) = self.bind_expr(&o.expr, scope)?;
                    exprs.push(b);
                    cols.push(Column {
                        name: "?order?".into(),
                        ty: t,
                    });
                    exprs.len() - 1
                }
            };
            sort_keys.push(SortKey {
                expr: BExpr::Col(idx),
                desc: o.desc,
                nulls_first: o.nulls_first.unwrap_or(o.desc),
            });
        }
        let mut plan = plan;
        if let Some(group) = group {
            let aggs = self
                .agg
                .as_ref()
                .map(|a| a.aggs.clone())
                .unwrap_or_default();
            plan = Plan::Aggregate {
                input: Box::new(plan),
                group,
                aggs,
            };
        }
        if let Some(h) = having {
            plan = Plan::Filter {
                input: Box::new(plan),
                pred: h,
            };
        }
        // DISTINCT ON binds against the select list / input.
        let distinct_on = match &sel.distinct {
            ast::Distinct::On(on) => {
                let mut keys = Vec::new();
                for e in on {
                    let idx = match e {
                        Expr::Literal(Value::Int4(n)) => {
                            (*n as usize).checked_sub(1).filter(|&i| i < visible)
                        }
                        e => items.iter().position(|(ie, _)| ie == e),
                    };
                    let idx = match idx {
                        Some(i) => i,
                        None => {
                            let (b, t) = self.bind_expr(e, scope)?;
                            exprs.push(b);
                            cols.push(Column {
                                name: "?distinct?".into(),
                                ty: t,
                            });
                            exprs.len() - 1
                        }
                    };
                    keys.push(idx);
                }
                Some(keys)
            }
            _ => None,
        };
        plan = Plan::Project {
            input: Box::new(plan),
            exprs,
            columns: cols.clone(),
        };
        if let Some(keys) = &distinct_on {
            // Sort by the DISTINCT ON keys first, then the ORDER BY.
            let mut all_keys: Vec<SortKey> = Vec::new();
            for (i, k) in keys.iter().enumerate() {
                let from_order = sort_keys
                    .get(i)
                    .filter(|s| matches!(s.expr, BExpr::Col(c) if c == *k));
                all_keys.push(from_order.cloned().unwrap_or(SortKey {
                    expr: BExpr::Col(*k),
                    desc: false,
                    nulls_first: false,
                }));
            }
            all_keys.extend(sort_keys.iter().skip(keys.len()).cloned());
            plan = Plan::Sort {
                input: Box::new(plan),
                keys: all_keys,
            };
            plan = Plan::Distinct {
                input: Box::new(plan),
                on: Some(keys.iter().map(|&k| BExpr::Col(k)).collect()),
            };
        } else {
            if matches!(sel.distinct, ast::Distinct::All) {
                plan = Plan::Distinct {
                    input: Box::new(plan),
                    on: None,
                };
            }
            if !sort_keys.is_empty() {
                plan = Plan::Sort {
                    input: Box::new(plan),
                    keys: sort_keys,
                };
            }
        }
        if cols.len() > visible {
            plan = Plan::Truncate {
                input: Box::new(plan),
                keep: visible,
            };
            cols.truncate(visible);
        }
        Ok((plan, cols))
    }

    /// Binds RETURNING / output items against a table scope.
    pub fn bind_items(
        &mut self,
        items: &[ast::SelectItem],
        scope: &Scope,
    ) -> PlanResult<(Vec<BExpr>, Vec<Column>)> {
        let mut exprs = Vec::new();
        let mut cols = Vec::new();
        for item in items {
            match item {
                ast::SelectItem::Wildcard | ast::SelectItem::QualifiedWildcard(_) => {
                    for (i, c) in scope.cols.iter().enumerate().filter(|(_, c)| !c.hidden) {
                        exprs.push(BExpr::Col(i));
                        cols.push(Column {
                            name: c.name.clone(),
                            ty: c.ty.clone(),
                        });
                    }
                }
                ast::SelectItem::Expr { expr, alias } => {
                    if contains_aggregate(expr) {
                        return Err(SqlError::new(
                            SqlState::GROUPING_ERROR,
                            "aggregate functions are not allowed in RETURNING",
                        ));
                    }
                    let (b, t) = self.bind_expr(expr, scope)?;
                    exprs.push(b);
                    cols.push(Column {
                        name: alias.clone().unwrap_or_else(|| default_column_name(expr)),
                        ty: if t == DataType::Unknown {
                            DataType::Text
                        } else {
                            t
                        },
                    });
                }
            }
        }
        Ok((exprs, cols))
    }
}

fn order_position_error(n: i32) -> SqlError {
    SqlError::new(
        SqlState::INVALID_COLUMN_REFERENCE,
        format!("ORDER BY position {n} is not in select list"),
    )
}

fn column_expr(c: &ScopeCol) -> Expr {
    match &c.table {
        Some(t) => Expr::Column(vec![t.clone(), c.name.clone()]),
        None => Expr::Column(vec![c.name.clone()]),
    }
}

/// The scope of a base table's columns (dropped ones are hidden).
pub fn table_scope(table: &TableDef, label: &str, renames: &[String]) -> Scope {
    let mut scope = Scope::default();
    let mut live = 0;
    for c in &table.columns {
        let name = if c.dropped {
            format!("........dropped.{}", scope.cols.len())
        } else {
            let n = renames.get(live).cloned().unwrap_or_else(|| c.name.clone());
            live += 1;
            n
        };
        scope.cols.push(ScopeCol {
            table: Some(label.to_string()),
            name,
            ty: c.ty.clone(),
            hidden: c.dropped,
        });
    }
    scope
}

/// Wraps `b` in a cast unless it already has type `ty`.
fn coerce(b: BExpr, ty: &DataType) -> BExpr {
    match &b {
        BExpr::Const(Value::Null) => b,
        BExpr::Const(v) if v.data_type() == *ty => b,
        _ => BExpr::Cast(Box::new(b), ty.clone()),
    }
}

fn cast_plan(plan: Plan, have: &[Column], want: &[Column]) -> Plan {
    if have.iter().zip(want).all(|(h, w)| h.ty == w.ty) {
        return plan;
    }
    Plan::Project {
        input: Box::new(plan),
        exprs: have
            .iter()
            .zip(want)
            .enumerate()
            .map(|(i, (h, w))| {
                if h.ty == w.ty {
                    BExpr::Col(i)
                } else {
                    BExpr::Cast(Box::new(BExpr::Col(i)), w.ty.clone())
                }
            })
            .collect(),
        columns: want.to_vec(),
    }
}

/// A join: equality conjuncts between the two sides make a hash join.
fn make_join(left: Plan, right: Plan, kind: JoinType, cond: Option<BExpr>, nleft: usize) -> Plan {
    let Some(cond) = cond else {
        return Plan::NestedLoop {
            left: Box::new(left),
            right: Box::new(right),
            kind,
            cond: None,
        };
    };
    let mut conjuncts = Vec::new();
    split_and(cond, &mut conjuncts);
    let mut lkeys = Vec::new();
    let mut rkeys = Vec::new();
    let mut residual = Vec::new();
    for c in conjuncts {
        if let BExpr::Binary(BinOp::Eq, a, b) = &c {
            let side = |e: &BExpr| column_side(e, nleft);
            match (side(a), side(b)) {
                (Some(false), Some(true)) => {
                    lkeys.push((**a).clone());
                    rkeys.push(shift_cols(b, nleft));
                    continue;
                }
                (Some(true), Some(false)) => {
                    lkeys.push((**b).clone());
                    rkeys.push(shift_cols(a, nleft));
                    continue;
                }
                _ => {}
            }
        }
        residual.push(c);
    }
    let residual = residual
        .into_iter()
        .reduce(|a, b| BExpr::Binary(BinOp::And, Box::new(a), Box::new(b)));
    if lkeys.is_empty() {
        return Plan::NestedLoop {
            left: Box::new(left),
            right: Box::new(right),
            kind,
            cond: residual,
        };
    }
    Plan::HashJoin {
        left: Box::new(left),
        right: Box::new(right),
        kind,
        left_keys: lkeys,
        right_keys: rkeys,
        residual,
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

/// `Some(false)`: only left columns; `Some(true)`: only right; `None`:
/// mixed, none, or something we cannot move (subqueries, outer refs).
fn column_side(e: &BExpr, nleft: usize) -> Option<bool> {
    let mut side: Option<bool> = None;
    let mut mixed = false;
    let mut ok = true;
    visit_cols(
        e,
        &mut |c| {
            let s = c >= nleft;
            match side {
                None => side = Some(s),
                Some(prev) if prev != s => mixed = true,
                _ => {}
            }
        },
        &mut ok,
    );
    if ok && !mixed {
        side
    } else {
        None
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

fn query_references(q: &ast::Query, name: &str) -> bool {
    fn in_set(s: &ast::SetExpr, name: &str) -> bool {
        match s {
            ast::SetExpr::Select(sel) => sel.from.iter().any(|t| in_table(t, name)),
            ast::SetExpr::SetOp { left, right, .. } => in_set(left, name) || in_set(right, name),
            ast::SetExpr::Query(q) => in_set(&q.body, name),
            ast::SetExpr::Values(_) => false,
        }
    }
    fn in_table(t: &ast::TableRef, name: &str) -> bool {
        match t {
            ast::TableRef::Table { name: n, .. } => n.len() == 1 && n[0] == name,
            ast::TableRef::Join { left, right, .. } => {
                in_table(left, name) || in_table(right, name)
            }
            ast::TableRef::Subquery { query, .. } => in_set(&query.body, name),
            ast::TableRef::Function { .. } => false,
        }
    }
    in_set(&q.body, name)
}

/// PostgreSQL's output column name for an unaliased expression.
pub fn default_column_name(e: &Expr) -> String {
    match e {
        Expr::Column(n) => n.last().cloned().unwrap_or_default(),
        Expr::Function(f) => f.name.rsplit('.').next().unwrap_or(&f.name).to_string(),
        Expr::Cast { expr, ty } => match &**expr {
            Expr::UntypedString(_) | Expr::Literal(_) => type_column_name(ty),
            inner => {
                let n = default_column_name(inner);
                if n == "?column?" {
                    type_column_name(ty)
                } else {
                    n
                }
            }
        },
        Expr::Case { .. } => "case".into(),
        Expr::Exists { .. } => "exists".into(),
        Expr::Array(_) => "array".into(),
        Expr::Subquery(q) => match &q.body {
            ast::SetExpr::Select(s) => match s.projection.first() {
                Some(ast::SelectItem::Expr { alias: Some(a), .. }) => a.clone(),
                Some(ast::SelectItem::Expr { expr, .. }) => default_column_name(expr),
                _ => "?column?".into(),
            },
            _ => "?column?".into(),
        },
        _ => "?column?".into(),
    }
}

fn type_column_name(ty: &DataType) -> String {
    match ty {
        DataType::Int2 => "int2",
        DataType::Int4 => "int4",
        DataType::Int8 => "int8",
        DataType::Float4 => "float4",
        DataType::Float8 => "float8",
        DataType::Numeric(_) => "numeric",
        DataType::Bool => "bool",
        DataType::Text => "text",
        DataType::Varchar(_) => "varchar",
        DataType::Char(_) => "bpchar",
        DataType::Date => "date",
        DataType::Timestamp => "timestamp",
        DataType::Timestamptz => "timestamptz",
        DataType::Interval => "interval",
        DataType::Uuid => "uuid",
        DataType::Jsonb => "jsonb",
        DataType::Bytea => "bytea",
        DataType::Vector(_) => "vector",
        _ => "?column?",
    }
    .to_string()
}

/// The set-returning functions we have, with the name of their column.
fn is_set_returning(name: &str) -> bool {
    matches!(
        name.strip_prefix("pg_catalog.").unwrap_or(name),
        "generate_series" | "pg_partition_ancestors"
    )
}

/// `SELECT srf(args) [AS x]` without FROM is `SELECT x FROM srf(args) AS
/// x`: one row per row of the function, none when it returns none (PostgreSQL
/// evaluates set-returning functions in the select list that way). With a
/// FROM clause, or with more than one, they are not supported.
fn srf_select_to_from(sel: &ast::Select) -> PlanResult<Option<ast::Select>> {
    let srf_at = |item: &ast::SelectItem| match item {
        ast::SelectItem::Expr {
            expr: Expr::Function(f),
            ..
        } if is_set_returning(&f.name) => Some(f.clone()),
        _ => None,
    };
    let found: Vec<usize> = (0..sel.projection.len())
        .filter(|&i| srf_at(&sel.projection[i]).is_some())
        .collect();
    let [at] = found.as_slice() else {
        if found.is_empty() {
            return Ok(None);
        }
        return Err(SqlError::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            "more than one set-returning function in a select list is not supported",
        ));
    };
    if !sel.from.is_empty() {
        return Err(SqlError::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            "set-returning functions in the select list of a query with FROM are not supported",
        ));
    }
    let Some(f) = srf_at(&sel.projection[*at]) else {
        return Ok(None);
    };
    let column = f.name.rsplit('.').next().unwrap_or(&f.name).to_string();
    let alias = match &sel.projection[*at] {
        ast::SelectItem::Expr { alias, .. } => alias.clone(),
        _ => None,
    };
    let mut out = sel.clone();
    out.from = vec![ast::TableRef::Function {
        name: f.name.split('.').map(str::to_string).collect(),
        args: f.args.clone(),
        alias: Some(ast::TableAlias {
            name: column.clone(),
            columns: vec![column.clone()],
        }),
        ordinality: false,
    }];
    out.projection[*at] = ast::SelectItem::Expr {
        expr: Expr::Column(vec![column.clone(), column.clone()]),
        alias: Some(alias.unwrap_or(column)),
    };
    Ok(Some(out))
}
