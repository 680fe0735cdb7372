//! Binding aggregate calls (`count`, `sum`, ... with DISTINCT, FILTER and
//! ORDER BY).

use super::{AggCall, AggFunc, BExpr, Binder, PlanResult, Scope, SortKey};
use crate::error::{SqlError, SqlState};
use crate::sql::parse::ast::{self, Expr};
use crate::value::types::DataType;

/// Aggregation context while binding post-GROUP-BY expressions.
pub(super) struct AggContext {
    pub(super) group_exprs: Vec<Expr>,
    pub(super) group_types: Vec<DataType>,
    pub(super) aggs: Vec<AggCall>,
    pub(super) agg_exprs: Vec<Expr>,
    /// The pre-aggregation scope (aggregate arguments bind against it).
    pub(super) input_scope: Scope,
}

pub(super) fn is_aggregate(name: &str) -> bool {
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
            | "json_agg"
            | "jsonb_agg"
            | "json_object_agg"
            | "jsonb_object_agg"
    )
}

pub fn contains_aggregate(e: &Expr) -> bool {
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

/// The result type of aggregate `name` over arguments of `types` (None:
/// no such aggregate).
pub(super) fn agg_result_type(name: &str, star: bool, types: &[DataType]) -> Option<DataType> {
    let arg_ty = types.first().cloned().unwrap_or(DataType::Unknown);
    Some(match (name, star, types.len()) {
        ("count", true, 0) | ("count", false, 1) => DataType::Int8,
        ("sum", false, 1) => match arg_ty {
            DataType::Int2 | DataType::Int4 => DataType::Int8,
            DataType::Int8 | DataType::Numeric(_) => DataType::Numeric(None),
            DataType::Float4 => DataType::Float4,
            DataType::Float8 | DataType::Unknown => DataType::Float8,
            DataType::Interval => DataType::Interval,
            DataType::Vector(_) => DataType::Vector(None),
            DataType::HalfVec(_) => DataType::HalfVec(None),
            _ => return None,
        },
        ("avg", false, 1) => match arg_ty {
            DataType::Int2 | DataType::Int4 | DataType::Int8 | DataType::Numeric(_) => {
                DataType::Numeric(None)
            }
            DataType::Float4 | DataType::Float8 | DataType::Unknown => DataType::Float8,
            DataType::Interval => DataType::Interval,
            DataType::Vector(_) => DataType::Vector(None),
            DataType::HalfVec(_) => DataType::HalfVec(None),
            _ => return None,
        },
        // There is no max(varchar): it is max(text).
        ("min" | "max", false, 1) => match arg_ty {
            DataType::Varchar(_) => DataType::Text,
            t => t,
        },
        ("bool_and" | "every" | "bool_or", false, 1) => DataType::Bool,
        ("string_agg", false, 2) => DataType::Text,
        ("array_agg", false, 1) => DataType::Array(Box::new(arg_ty)),
        ("json_agg", false, 1) | ("json_object_agg", false, 2) => DataType::Json,
        ("jsonb_agg", false, 1) | ("jsonb_object_agg", false, 2) => DataType::Jsonb,
        _ => return None,
    })
}

impl<'a> Binder<'a> {
    pub(super) fn bind_aggregate(
        &mut self,
        e: &Expr,
        f: &ast::FunctionCall,
    ) -> PlanResult<(BExpr, DataType)> {
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

    pub(super) fn bind_agg_call(
        &mut self,
        f: &ast::FunctionCall,
        scope: &Scope,
    ) -> PlanResult<AggCall> {
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
        let wrong = || {
            SqlError::new(
                SqlState::UNDEFINED_FUNCTION,
                format!("function {}({}) does not exist", f.name, types.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")),
            )
            .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")
        };
        let func = match (f.name.as_str(), f.star) {
            ("count", true) => AggFunc::CountStar,
            ("count", false) => AggFunc::Count,
            ("sum", _) => AggFunc::Sum,
            ("avg", _) => AggFunc::Avg,
            ("min", _) => AggFunc::Min,
            ("max", _) => AggFunc::Max,
            ("bool_and" | "every", _) => AggFunc::BoolAnd,
            ("bool_or", _) => AggFunc::BoolOr,
            ("string_agg", _) => AggFunc::StringAgg,
            ("array_agg", _) => AggFunc::ArrayAgg,
            ("json_agg", _) => AggFunc::JsonAgg,
            ("jsonb_agg", _) => AggFunc::JsonbAgg,
            ("json_object_agg", _) => AggFunc::JsonObjectAgg,
            ("jsonb_object_agg", _) => AggFunc::JsonbObjectAgg,
            _ => return Err(wrong()),
        };
        let ty = agg_result_type(&f.name, f.star, &types).ok_or_else(wrong)?;
        Ok(AggCall {
            func,
            args,
            distinct: f.distinct,
            filter,
            order_by,
            ty,
        })
    }
}
