//! Binding expressions: operators and their types, casts, function calls,
//! untyped literals and parameters, subqueries.

use super::explain::operator_name;
use std::rc::Rc;

use super::aggregate::is_aggregate;
use super::binder::coerce;
use super::{
    bool_type_check, plan_columns, undefined_column, undefined_table, BExpr, Binder, CatalogOp,
    Plan, PlanResult, Scope, SubqueryKind,
};
use crate::error::{SqlError, SqlState};
use crate::sql::parse::ast::{self, BinOp, Expr, UnOp};
use crate::sql::resolve;
use crate::value::cast::common_type;
use crate::value::types::{DataType, RegKind};
use crate::value::Value;

/// The declared type of argument `i` of the jsonb functions (so untyped
/// literals resolve as PostgreSQL resolves them); Unknown for the rest.
pub(super) fn jsonb_parameter(name: &str, i: usize) -> DataType {
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
        ("json_typeof" | "json_array_length", 0) => DataType::Json,
        _ => DataType::Unknown,
    }
}

/// Static result type of a binary operator (the runtime value decides in
/// the few cases this cannot).
pub(super) fn binop_type(op: BinOp, l: &DataType, r: &DataType) -> DataType {
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
        JsonGet | JsonPath if *l == T::Json => T::Json,
        JsonGet | JsonPath => T::Jsonb,
        JsonGetText | JsonPathText => T::Text,
        L2Distance | NegInnerProduct | CosineDistance | L1Distance | HammingDistance
        | JaccardDistance => T::Float8,
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
                (Add | Sub | Mul, T::HalfVec(_), _) | (Add | Sub | Mul, _, T::HalfVec(_)) => {
                    T::HalfVec(None)
                }
                (Add | Sub | Mul, T::Vector(_), _) => l.clone(),
                (BitAnd | BitOr | BitXor, T::Bit(_), _) => T::Bit(None),
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

/// The sort position of enum value `e` (1-based; what ordering compares).
pub(super) fn enum_position(e: BExpr, ty: &crate::value::types::EnumType) -> BExpr {
    let labels = ty.labels.iter().map(|l| Value::Text(l.clone())).collect();
    BExpr::Func {
        name: "array_position".into(),
        args: vec![BExpr::Const(Value::Array(labels)), e],
    }
}

fn is_untyped(e: &Expr) -> bool {
    matches!(
        e,
        Expr::UntypedString(_) | Expr::Param(_) | Expr::Literal(Value::Null)
    )
}

/// Whether a value of type `from` needs a cast to act as a `to` argument:
/// not between string types (one representation), nor, for operators
/// (`numbers_mix`), between numeric types, which the executor combines
/// as PostgreSQL's cross-type operators do.
fn needs_cast(from: &DataType, to: &DataType, numbers_mix: bool) -> bool {
    !(from.oid() == to.oid()
        || *to == DataType::Unknown
        || (from.is_string() && to.is_string())
        || (numbers_mix && from.is_numeric_family() && to.is_numeric_family()))
}

/// `e` with the result type PostgreSQL declares for the chosen function
/// or operator when the executor's (`ours`) differs: a cast, except to
/// OID alias types, which only the catalog can produce.
fn with_result_type(e: BExpr, ours: DataType, declared: &DataType) -> (BExpr, DataType) {
    if matches!(declared, DataType::Reg(_) | DataType::Unknown) || matches!(ours, DataType::Char(_))
    {
        (e, ours)
    } else if ours.oid() == declared.oid() {
        // Results carry no type modifier (`numeric(10,2) / int` is numeric).
        (e, declared.clone())
    } else {
        (coerce(e, declared), declared.clone())
    }
}

impl<'a> Binder<'a> {
    /// `e::regclass` (or regtype, regnamespace): a constant name is looked
    /// up now (PostgreSQL's input function runs at parse time too), other
    /// expressions when evaluated.
    pub(super) fn bind_reg_cast(
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

    /// An argument bound as `(b, t)` made to fit the parameter type `want`
    /// that resolution chose: an untyped literal or parameter takes it, a
    /// value of another type is cast.
    fn conform(
        &mut self,
        e: &Expr,
        b: BExpr,
        t: DataType,
        want: &DataType,
        scope: &Scope,
        numbers_mix: bool,
    ) -> PlanResult<(BExpr, DataType)> {
        if t == DataType::Unknown && is_untyped(e) && *want != DataType::Unknown {
            self.bind_typed(e, scope, want)
        } else if matches!(t, DataType::Char(_)) && !matches!(want, DataType::Char(_)) {
            // bpchar's trailing spaces are not significant: its operators
            // and its cast to text drop them.
            let b = BExpr::Func {
                name: "rtrim".into(),
                args: vec![b],
            };
            Ok((b, DataType::Text))
        } else if t != DataType::Unknown && needs_cast(&t, want, numbers_mix) {
            Ok((coerce(b, want), want.clone()))
        } else {
            Ok((b, t))
        }
    }

    /// `ty` with the enum types it names filled in from the catalog (42704
    /// for a name that is no type).
    pub(super) fn resolve_type(&mut self, ty: &DataType) -> PlanResult<DataType> {
        Ok(match ty {
            DataType::Enum(e) if !e.is_resolved() => {
                match self.catalog.enum_type(&e.qualified_name())? {
                    Some(found) => DataType::Enum(Box::new(found)),
                    None => {
                        return Err(SqlError::new(
                            SqlState::UNDEFINED_OBJECT,
                            format!("type \"{}\" does not exist", e.qualified_name().join(".")),
                        ))
                    }
                }
            }
            DataType::Array(inner) => DataType::Array(Box::new(self.resolve_type(inner)?)),
            other => other.clone(),
        })
    }

    /// A comparison with an enum operand: the other side must be of the
    /// same enum (an untyped literal is read as a label); ordering goes by
    /// label position, as PostgreSQL's enum operators compare.
    fn bind_enum_comparison(
        &mut self,
        op: BinOp,
        e: crate::value::types::EnumType,
        (left, l, lt): (&Expr, BExpr, DataType),
        (right, r, rt): (&Expr, BExpr, DataType),
        scope: &Scope,
    ) -> PlanResult<(BExpr, DataType)> {
        let ty = DataType::Enum(Box::new(e.clone()));
        let (l, lt) = match lt {
            DataType::Unknown => self.bind_typed(left, scope, &ty)?,
            lt => (l, lt),
        };
        let (r, rt) = match rt {
            DataType::Unknown => self.bind_typed(right, scope, &ty)?,
            rt => (r, rt),
        };
        if lt.oid() != e.oid || rt.oid() != e.oid {
            return Err(SqlError::new(
                SqlState::UNDEFINED_FUNCTION,
                format!(
                    "operator does not exist: {lt} {} {rt}",
                    operator_name(op).unwrap_or("?")
                ),
            )
            .with_hint("No operator matches the given name and argument types. You might need to add explicit type casts."));
        }
        let (l, r) = if matches!(op, BinOp::Eq | BinOp::NotEq) {
            (l, r)
        } else {
            (enum_position(l, &e), enum_position(r, &e))
        };
        Ok((BExpr::Binary(op, Box::new(l), Box::new(r)), DataType::Bool))
    }

    /// `left op right` resolved as PostgreSQL resolves operators.
    fn bind_operator(
        &mut self,
        op: BinOp,
        name: &str,
        left: &Expr,
        right: &Expr,
        scope: &Scope,
    ) -> PlanResult<(BExpr, DataType)> {
        // OID alias types compare as the integers our catalogs hold
        // (PostgreSQL's oid type, which we lack): the executor's rules.
        let (l, lt) = self.bind_expr(left, scope)?;
        let (r, rt) = self.bind_expr(right, scope)?;
        if matches!(lt, DataType::Reg(_)) || matches!(rt, DataType::Reg(_)) {
            let ((l, lt), (r, rt)) = self.bind_pair(left, right, scope)?;
            let ty = binop_type(op, &lt, &rt);
            return Ok((BExpr::Binary(op, Box::new(l), Box::new(r)), ty));
        }
        let enum_type = match (&lt, &rt) {
            (DataType::Enum(e), _) | (_, DataType::Enum(e)) => Some((**e).clone()),
            _ => None,
        };
        if let Some(e) = enum_type.filter(|_| {
            matches!(
                op,
                BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq
            )
        }) {
            return self.bind_enum_comparison(op, e, (left, l, lt), (right, r, rt), scope);
        }
        let res = resolve::resolve_operator(name, Some(&lt), &rt)?;
        let (l, lt) = self.conform(left, l, lt, &res.args[0], scope, true)?;
        let (r, rt) = self.conform(right, r, rt, &res.args[1], scope, true)?;
        let ours = binop_type(op, &lt, &rt);
        Ok(with_result_type(
            BExpr::Binary(op, Box::new(l), Box::new(r)),
            ours,
            &res.result,
        ))
    }

    /// The branches of CASE (ELSE first), COALESCE, GREATEST/LEAST and
    /// ARRAY[...] bound and coerced to their common type (PostgreSQL's
    /// `select_common_type`): untyped literals take it.
    pub(super) fn bind_common(
        &mut self,
        exprs: &[&Expr],
        scope: &Scope,
        what: &str,
    ) -> PlanResult<(Vec<BExpr>, DataType)> {
        let mut bound = Vec::with_capacity(exprs.len());
        for e in exprs {
            bound.push(self.bind_expr(e, scope)?);
        }
        let types: Vec<DataType> = bound.iter().map(|(_, t)| t.clone()).collect();
        let ty = resolve::common_type(&types, what)?;
        resolve::check_coercible(&types, &ty, what)?;
        let mut out = Vec::with_capacity(exprs.len());
        for (e, (b, t)) in exprs.iter().zip(bound) {
            out.push(if t == DataType::Unknown && is_untyped(e) {
                self.bind_typed(e, scope, &ty)?.0
            } else if t == ty {
                b
            } else {
                coerce(b, &ty)
            });
        }
        Ok((out, ty))
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
                if let Some(Some(s)) = self.lifted_strings.get(*n - 1) {
                    if ty != DataType::Unknown {
                        crate::value::text::parse_text(s, &ty, &crate::value::tz::TimeZone::utc())?;
                    }
                }
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
    pub(super) fn bind_pair(
        &mut self,
        a: &Expr,
        b: &Expr,
        scope: &Scope,
    ) -> PlanResult<((BExpr, DataType), (BExpr, DataType))> {
        let a_untyped = matches!(
            a,
            Expr::UntypedString(_) | Expr::Param(_) | Expr::Literal(Value::Null)
        );
        // The literal takes the other side's type, not its typmod (as in
        // PostgreSQL's operator resolution): `e <-> '[1,2]'` against a
        // vector(3) is pgvector's "different vector dimensions", not a
        // failed cast.
        let base = |t: &DataType| match t {
            DataType::Vector(Some(_)) => DataType::Vector(None),
            other => other.clone(),
        };
        if a_untyped {
            let rb = self.bind_expr(b, scope)?;
            let ra = self.bind_typed(a, scope, &base(&rb.1))?;
            Ok((ra, rb))
        } else {
            let ra = self.bind_expr(a, scope)?;
            let rb = self.bind_typed(b, scope, &base(&ra.1))?;
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
                            found = Some((
                                BExpr::Outer {
                                    depth,
                                    col,
                                    ty: ty.clone(),
                                },
                                ty,
                            ));
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
            Expr::Unary {
                op: UnOp::Not,
                expr,
            } => {
                let (b, ty) = self.bind_typed(expr, scope, &DataType::Bool)?;
                bool_type_check(&ty, "NOT")?;
                (BExpr::Unary(UnOp::Not, Box::new(b)), DataType::Bool)
            }
            Expr::Unary { op, expr } => {
                let name = match op {
                    UnOp::Neg => "-",
                    UnOp::Plus => "+",
                    _ => "~",
                };
                let (b, ty) = self.bind_expr(expr, scope)?;
                if matches!(ty, DataType::Reg(_)) {
                    (BExpr::Unary(*op, Box::new(b)), ty)
                } else {
                    let res = resolve::resolve_operator(name, None, &ty)?;
                    let (b, ty) = self.conform(expr, b, ty, &res.args[0], scope, true)?;
                    with_result_type(BExpr::Unary(*op, Box::new(b)), ty, &res.result)
                }
            }
            Expr::Binary { op, left, right } => {
                let ((l, lt), (r, rt)) = if matches!(op, BinOp::And | BinOp::Or) {
                    let l = self.bind_typed(left, scope, &DataType::Bool)?;
                    let r = self.bind_typed(right, scope, &DataType::Bool)?;
                    let what = if *op == BinOp::And { "AND" } else { "OR" };
                    bool_type_check(&l.1, what)?;
                    bool_type_check(&r.1, what)?;
                    (l, r)
                } else if let Some(name) = operator_name(*op) {
                    return self.bind_operator(*op, name, left, right, scope);
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
                let mut conditions = Vec::new();
                for (w, _) in whens {
                    conditions.push(match &op {
                        Some((_, ot)) => self.bind_typed(w, scope, ot)?.0,
                        None => {
                            let (b, t) = self.bind_typed(w, scope, &DataType::Bool)?;
                            bool_type_check(&t, "CASE/WHEN")?;
                            b
                        }
                    });
                }
                // PostgreSQL resolves the ELSE branch's type first.
                let null = Expr::Literal(Value::Null);
                let mut results: Vec<&Expr> = vec![else_result.as_deref().unwrap_or(&null)];
                results.extend(whens.iter().map(|(_, r)| r));
                let (mut bound, result_ty) = self.bind_common(&results, scope, "CASE")?;
                let else_b = bound.remove(0);
                (
                    BExpr::Case {
                        operand: op.map(|(b, _)| Box::new(b)),
                        whens: conditions.into_iter().zip(bound).collect(),
                        else_result: else_result.as_ref().map(|_| Box::new(else_b)),
                    },
                    result_ty,
                )
            }
            Expr::Cast {
                expr,
                ty: DataType::Reg(k),
            } => self.bind_reg_cast(expr, *k, scope)?,
            Expr::Cast { expr, ty } => {
                let ty = &self.resolve_type(ty)?;
                let (b, _) = self.bind_typed(expr, scope, ty)?;
                match b {
                    // A literal already read as the type (no typmod to apply).
                    BExpr::Const(v) if v.data_type().oid() == ty.oid() && ty.typmod() == -1 => {
                        (BExpr::Const(v), ty.clone())
                    }
                    b => (BExpr::Cast(Box::new(b), ty.clone()), ty.clone()),
                }
            }
            Expr::Array(items) => {
                let items: Vec<&Expr> = items.iter().collect();
                let (bound, ty) = self.bind_common(&items, scope, "ARRAY")?;
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

    pub(super) fn bind_function(
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
        // Asked once: some have effects (txid_current assigns an xid,
        // pg_export_snapshot exports).
        if let Some(bound) = self.catalog.session_function(&name, &f.args)? {
            return Ok(bound);
        }
        match name.as_str() {
            "coalesce" | "greatest" | "least" => {
                let args: Vec<&Expr> = f.args.iter().collect();
                let (bound, ty) = self.bind_common(&args, scope, &name.to_uppercase())?;
                return Ok(if name == "coalesce" {
                    (BExpr::Coalesce(bound), ty)
                } else {
                    (BExpr::Func { name, args: bound }, ty)
                });
            }
            // The argument's resolved type, not its value's (a NULL of
            // type text is text).
            "pg_typeof" if f.args.len() == 1 => {
                let (b, t) = self.bind_expr(&f.args[0], scope)?;
                if t != DataType::Unknown || is_untyped(&f.args[0]) {
                    let name = crate::sql::functions::pg_typeof_name(&t);
                    return Ok((BExpr::Const(Value::Text(name)), DataType::Text));
                }
                return Ok((
                    BExpr::Func {
                        name,
                        args: vec![b],
                    },
                    DataType::Text,
                ));
            }
            "nullif" if f.args.len() == 2 => {
                let ((a, at), (b, _)) = self.bind_pair(&f.args[0], &f.args[1], scope)?;
                return Ok((BExpr::NullIf(Box::new(a), Box::new(b)), at));
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
                    .sequence(&crate::sql::functions::catalog::split_name(&seq_name)?)?
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
                let fits = match (want, name.as_str(), i) {
                    (DataType::Bool, "pg_get_viewdef", _) => {
                        t.is_integer() || matches!(t, DataType::Bool | DataType::Unknown)
                    }
                    (DataType::Bool, _, _) => matches!(t, DataType::Bool | DataType::Unknown),
                    (DataType::Text, _, _) => t.is_string() || t == DataType::Unknown,
                    (_, "pg_database_size", 0) => {
                        t.is_integer() || t.is_string() || t == DataType::Unknown
                    }
                    (_, "pg_get_viewdef", 0) => {
                        t.is_integer()
                            || t.is_string()
                            || matches!(t, DataType::Reg(_) | DataType::Unknown)
                    }
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
        if resolve::has_function(&name) {
            let mut bound = Vec::with_capacity(f.args.len());
            for a in &f.args {
                bound.push(self.bind_expr(a, scope)?);
            }
            let types: Vec<DataType> = bound.iter().map(|(_, t)| t.clone()).collect();
            let res = resolve::resolve_function(&name, &types)?;
            let mut args = Vec::with_capacity(bound.len());
            let mut types = Vec::with_capacity(bound.len());
            for ((a, (b, t)), want) in f.args.iter().zip(bound).zip(&res.args) {
                let (b, t) = self.conform(a, b, t, want, scope, false)?;
                args.push(b);
                types.push(t);
            }
            let ours = crate::sql::functions::function_return_type(&name, &types)?;
            return Ok(with_result_type(
                BExpr::Func { name, args },
                ours,
                &res.result,
            ));
        }
        let mut args = Vec::new();
        let mut types = Vec::new();
        // An untyped literal or parameter where pgvector's functions take
        // a vector, halfvec or bit takes the type of the typed vector
        // argument beside it (`l2_distance(halfvec_col, '[1,2]')`), else
        // the signature's default: bind the typed arguments first.
        let untyped =
            |a: &ast::Expr| matches!(a, ast::Expr::UntypedString(_) | ast::Expr::Param(_));
        let mut bound: Vec<Option<(BExpr, DataType)>> = vec![None; f.args.len()];
        let mut sibling = None;
        for (i, a) in f.args.iter().enumerate() {
            let vector_param = crate::sql::functions::parameter_type(&name, i) != DataType::Unknown;
            if vector_param && untyped(a) {
                continue;
            }
            let want = jsonb_parameter(&name, i);
            let (b, t) = self.bind_typed(a, scope, &want)?;
            if vector_param
                && matches!(
                    t,
                    DataType::Vector(_) | DataType::HalfVec(_) | DataType::Bit(_)
                )
            {
                sibling.get_or_insert(match t {
                    DataType::Vector(_) => DataType::Vector(None),
                    DataType::HalfVec(_) => DataType::HalfVec(None),
                    _ => DataType::Bit(None),
                });
            }
            bound[i] = Some((b, t));
        }
        for (i, a) in f.args.iter().enumerate() {
            let (b, t) = match bound[i].take() {
                Some(bt) => bt,
                None => {
                    let want = sibling
                        .clone()
                        .unwrap_or_else(|| crate::sql::functions::parameter_type(&name, i));
                    self.bind_typed(a, scope, &want)?
                }
            };
            args.push(b);
            types.push(t);
        }
        let ty = crate::sql::functions::function_return_type(&name, &types)?;
        Ok((BExpr::Func { name, args }, ty))
    }

    /// Binds a subquery; the flag says whether it is correlated.
    /// A scalar or ARRAY(...) subquery: exactly one column, whose type it
    /// returns with the plan and whether it is correlated.
    pub(super) fn bind_one_column_subquery(
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

    pub(super) fn bind_subquery(
        &mut self,
        q: &ast::Query,
        scope: &Scope,
    ) -> PlanResult<(Plan, bool)> {
        self.outer.push(scope.clone());
        let saved_agg = self.agg.take();
        let refs_before = self.outer_refs;
        let result = self.bind_query(q);
        self.agg = saved_agg;
        self.outer.pop();
        // A correlated subquery runs once per outer row: `WHERE id =
        // outer.k` must find its row through an index, not a scan.
        let plan = super::optimize::optimize(result?.0, &mut |t| self.catalog.plan_indexes(t));
        Ok((plan, self.outer_refs != refs_before))
    }
}
