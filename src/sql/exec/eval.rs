//! Evaluating bound expressions over a row: operators, CASE and the
//! other lazy forms, subqueries, sequences, catalog functions, and calls
//! into the function library (functions that need the transaction manager,
//! such as `txid_status`, are answered here).

use std::rc::Rc;

use super::{err, run, Env, ExecResult};
use crate::catalog::Catalog;
use crate::error::{Error, SqlError, SqlState};
use crate::sql::functions;
use crate::sql::parse::ast::{BinOp, UnOp};
use crate::sql::plan::{BExpr, CatalogOp, Plan, SubqueryKind};
use crate::txn::XidStatus;
use crate::value::cast::{cast_assignment, cast_explicit};
use crate::value::ops::{binary_op_tz, like, negate, BinaryOp};
use crate::value::tz::TimeZone;
use crate::value::{DataType, Value};

pub(super) fn to_binary_op(op: BinOp) -> Option<BinaryOp> {
    Some(match op {
        BinOp::Add => BinaryOp::Add,
        BinOp::Sub => BinaryOp::Sub,
        BinOp::Mul => BinaryOp::Mul,
        BinOp::Div => BinaryOp::Div,
        BinOp::Mod => BinaryOp::Mod,
        BinOp::Pow => BinaryOp::Pow,
        BinOp::Concat => BinaryOp::Concat,
        BinOp::Eq => BinaryOp::Eq,
        BinOp::NotEq => BinaryOp::NotEq,
        BinOp::Lt => BinaryOp::Lt,
        BinOp::LtEq => BinaryOp::LtEq,
        BinOp::Gt => BinaryOp::Gt,
        BinOp::GtEq => BinaryOp::GtEq,
        BinOp::BitAnd => BinaryOp::BitAnd,
        BinOp::BitOr => BinaryOp::BitOr,
        BinOp::BitXor => BinaryOp::BitXor,
        BinOp::ShiftLeft => BinaryOp::ShiftLeft,
        BinOp::ShiftRight => BinaryOp::ShiftRight,
        BinOp::JsonGet => BinaryOp::JsonGet,
        BinOp::JsonGetText => BinaryOp::JsonGetText,
        BinOp::JsonPath => BinaryOp::JsonPath,
        BinOp::JsonPathText => BinaryOp::JsonPathText,
        BinOp::JsonContains => BinaryOp::JsonContains,
        BinOp::JsonContained => BinaryOp::JsonContained,
        BinOp::JsonHasKey => BinaryOp::JsonHasKey,
        BinOp::L2Distance => BinaryOp::L2Distance,
        BinOp::NegInnerProduct => BinaryOp::NegInnerProduct,
        BinOp::CosineDistance => BinaryOp::CosineDistance,
        BinOp::L1Distance => BinaryOp::L1Distance,
        BinOp::HammingDistance => BinaryOp::HammingDistance,
        BinOp::JaccardDistance => BinaryOp::JaccardDistance,
        BinOp::And | BinOp::Or => return None,
    })
}

/// Three-valued truth of a value used as a condition.
pub fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

pub fn binop(op: BinOp, a: &Value, b: &Value, tz: &TimeZone) -> ExecResult<Value> {
    match to_binary_op(op) {
        Some(bop) => Ok(binary_op_tz(bop, a, b, tz)?),
        None => Err(err(
            SqlState::INTERNAL_ERROR,
            "logical operator outside eval",
        )),
    }
}

/// Evaluates `e` over `row`.
pub fn eval(e: &BExpr, row: &[Value], env: &mut Env) -> ExecResult<Value> {
    env.interrupts.tick()?;
    Ok(match e {
        BExpr::Col(i) => row
            .get(*i)
            .cloned()
            .ok_or_else(|| err(SqlState::INTERNAL_ERROR, format!("column {i} out of range")))?,
        BExpr::Outer { depth, col, .. } => {
            let n = env.outer.len();
            env.outer
                .get(n.wrapping_sub(1 + depth))
                .and_then(|r| r.get(*col))
                .cloned()
                .ok_or_else(|| err(SqlState::INTERNAL_ERROR, "outer reference out of range"))?
        }
        BExpr::Const(v) => v.clone(),
        BExpr::Param { index, ty } => {
            let v = env.params.get(*index).cloned().ok_or_else(|| {
                err(
                    SqlState("08P01"),
                    format!("there is no parameter ${}", index + 1),
                )
            })?;
            match (ty, &v) {
                _ if already_typed(&v, ty) => v,
                (t, Value::Text(s)) => crate::value::text::parse_text(s, t, env.tz)?,
                (t, _) => cast_assignment(v, t, env.tz)?,
            }
        }
        BExpr::Unary(op, a) => {
            let v = eval(a, row, env)?;
            match op {
                UnOp::Not => match v {
                    Value::Null => Value::Null,
                    Value::Bool(b) => Value::Bool(!b),
                    other => {
                        return Err(err(
                            SqlState::DATATYPE_MISMATCH,
                            format!(
                                "argument of NOT must be type boolean, not type {}",
                                other.data_type()
                            ),
                        ))
                    }
                },
                UnOp::Neg => negate(&v)?,
                UnOp::Plus => v,
                UnOp::BitNot => match v {
                    Value::Null => Value::Null,
                    Value::Int2(x) => Value::Int2(!x),
                    Value::Int4(x) => Value::Int4(!x),
                    Value::Int8(x) => Value::Int8(!x),
                    Value::Bit(b) => Value::Bit(b.not()),
                    other => {
                        return Err(err(
                            SqlState::UNDEFINED_FUNCTION,
                            format!("operator does not exist: ~ {}", other.data_type()),
                        ))
                    }
                },
            }
        }
        BExpr::Binary(BinOp::And | BinOp::Or, ..) => match cond_truth(e, row, env)? {
            Some(b) => Value::Bool(b),
            None => Value::Null,
        },
        BExpr::Binary(op, a, b) => {
            let x = eval_ref(a, row, env)?;
            let y = eval_ref(b, row, env)?;
            binop(*op, &x, &y, env.tz)?
        }
        BExpr::IsNull(a, negated) => Value::Bool(eval(a, row, env)?.is_null() != *negated),
        BExpr::IsBool {
            expr,
            value,
            negated,
        } => {
            let v = truth(&eval(expr, row, env)?);
            Value::Bool((v == Some(*value)) != *negated)
        }
        BExpr::IsDistinct {
            left,
            right,
            negated,
        } => {
            let x = eval(left, row, env)?;
            let y = eval(right, row, env)?;
            let distinct = match (x.is_null(), y.is_null()) {
                (true, true) => false,
                (true, false) | (false, true) => true,
                _ => truth(&binop(BinOp::NotEq, &x, &y, env.tz)?).unwrap_or(true),
            };
            Value::Bool(distinct != *negated)
        }
        BExpr::InList {
            expr,
            list,
            negated,
        } => {
            let x = eval(expr, row, env)?;
            if x.is_null() {
                return Ok(Value::Null);
            }
            let mut saw_null = false;
            for item in list {
                let y = eval(item, row, env)?;
                match truth(&binop(BinOp::Eq, &x, &y, env.tz)?) {
                    Some(true) => return Ok(Value::Bool(!*negated)),
                    None => saw_null = true,
                    Some(false) => {}
                }
            }
            if saw_null {
                Value::Null
            } else {
                Value::Bool(*negated)
            }
        }
        BExpr::Like {
            expr,
            pattern,
            escape,
            negated,
            ci,
        } => {
            let x = eval_ref(expr, row, env)?;
            let p = eval_ref(pattern, row, env)?;
            let esc = match escape {
                Some(e) => match eval(e, row, env)? {
                    Value::Text(s) => {
                        let mut chars = s.chars();
                        match (chars.next(), chars.next()) {
                            (None, _) => None,
                            (Some(c), None) => Some(c),
                            _ => {
                                return Err(err(
                                    SqlState::INVALID_ESCAPE_SEQUENCE,
                                    "invalid escape string",
                                ))
                            }
                        }
                    }
                    _ => Some('\\'),
                },
                None => Some('\\'),
            };
            match (&*x, &*p) {
                (Value::Null, _) | (_, Value::Null) => Value::Null,
                (x, p) => {
                    let xs = text_ref(x, env.tz);
                    let ps = text_ref(p, env.tz);
                    Value::Bool(like(&xs, &ps, *ci, esc)? != *negated)
                }
            }
        }
        BExpr::Case {
            operand,
            whens,
            else_result,
        } => {
            let op = match operand {
                Some(o) => Some(eval(o, row, env)?),
                None => None,
            };
            for (w, r) in whens {
                let hit = match &op {
                    Some(v) => {
                        let wv = eval(w, row, env)?;
                        truth(&binop(BinOp::Eq, v, &wv, env.tz)?) == Some(true)
                    }
                    None => truth(&eval(w, row, env)?) == Some(true),
                };
                if hit {
                    return eval(r, row, env);
                }
            }
            match else_result {
                Some(e) => eval(e, row, env)?,
                None => Value::Null,
            }
        }
        BExpr::Cast(a, ty) => {
            let v = eval(a, row, env)?;
            match v {
                Value::Text(s) if !ty.is_string() => {
                    crate::value::text::parse_text(&s, ty, env.tz)?
                }
                v => cast_explicit(v, ty, env.tz)?,
            }
        }
        BExpr::Coalesce(items) => {
            for i in items {
                let v = eval(i, row, env)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            Value::Null
        }
        BExpr::NullIf(a, b) => {
            let x = eval(a, row, env)?;
            let y = eval(b, row, env)?;
            if truth(&binop(BinOp::Eq, &x, &y, env.tz)?) == Some(true) {
                Value::Null
            } else {
                x
            }
        }
        BExpr::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                out.push(eval(i, row, env)?);
            }
            Value::Array(out)
        }
        BExpr::Subquery {
            plan,
            kind,
            correlated,
        } => eval_subquery(plan, kind, *correlated, row, env)?,
        BExpr::NextVal(seq) => {
            let v = Catalog::sequence_next(env.pager, seq)?;
            env.currval.insert(seq.oid, v);
            Value::Int8(v)
        }
        BExpr::CurrVal(seq) => match env.currval.get(&seq.oid) {
            Some(v) => Value::Int8(*v),
            None => {
                return Err(err(
                    SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
                    format!(
                        "currval of sequence \"{}\" is not yet defined in this session",
                        seq.name
                    ),
                ))
            }
        },
        BExpr::SetVal { seq, value, called } => {
            let v = match eval(value, row, env)? {
                Value::Int8(v) => v,
                Value::Int4(v) => v as i64,
                other => {
                    return Err(err(
                        SqlState::DATATYPE_MISMATCH,
                        format!("setval needs a bigint, not {}", other.data_type()),
                    ))
                }
            };
            let called = match called {
                Some(c) => truth(&eval(c, row, env)?).unwrap_or(true),
                None => true,
            };
            Catalog::sequence_set(env.pager, seq, v, called)?;
            if called {
                env.currval.insert(seq.oid, v);
            }
            Value::Int8(v)
        }
        BExpr::CatalogFunc { op, args, info } => {
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(eval(a, row, env)?);
            }
            match op {
                CatalogOp::Input(kind) => match vals.into_iter().next() {
                    Some(Value::Text(s)) => info.reg_from_text(*kind, &s)?,
                    _ => Value::Null,
                },
                CatalogOp::Cast(kind) => match vals.into_iter().next() {
                    None | Some(Value::Null) => Value::Null,
                    Some(Value::Text(s)) => info.reg_from_text_value(*kind, &s)?,
                    Some(Value::Reg(_, oid, _)) => info.reg_from_oid(*kind, i64::from(oid))?,
                    Some(v) => match cast_explicit(v, &DataType::Int8, env.tz)? {
                        Value::Int8(oid) => info.reg_from_oid(*kind, oid)?,
                        other => {
                            return Err(err(
                                SqlState::CANNOT_COERCE,
                                format!(
                                    "cannot cast {} to {}",
                                    other.data_type(),
                                    kind.type_name()
                                ),
                            ))
                        }
                    },
                },
                CatalogOp::Func(name) if crate::sql::functions::size::is_relation_size_fn(name) => {
                    crate::sql::functions::size::call(
                        name,
                        &vals,
                        &info.storage,
                        (info.database.0, &info.database.1),
                        env.pager,
                    )?
                }
                CatalogOp::Func(name) => info.call(name, &vals)?,
            }
        }
        BExpr::Func { name, args } => {
            if name == "__default" {
                let i = match args.first() {
                    Some(BExpr::Const(Value::Int4(i))) => *i as usize,
                    _ => return Err(err(SqlState::INTERNAL_ERROR, "bad default reference")),
                };
                let defaults = env.defaults.clone().ok_or_else(|| {
                    err(
                        SqlState::SYNTAX_ERROR,
                        "DEFAULT is not allowed in this context",
                    )
                })?;
                return match defaults.get(i) {
                    Some(d) => eval(d, &[], env),
                    None => Ok(Value::Null),
                };
            }
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(eval(a, row, env)?);
            }
            call_function(name, vals, env)?
        }
    })
}

/// Evaluates `e` over `row`, borrowing a column or constant instead of
/// cloning it (a text column compared or matched is not copied).
/// Whether parameter value `v` needs no conversion to act as a `ty`.
pub(super) fn already_typed(v: &Value, ty: &DataType) -> bool {
    matches!(
        (ty, v),
        (DataType::Unknown, _)
            | (_, Value::Null)
            | (DataType::Int2, Value::Int2(_))
            | (DataType::Int4, Value::Int4(_))
            | (DataType::Int8, Value::Int8(_))
            | (DataType::Float8, Value::Float8(_))
            | (DataType::Bool, Value::Bool(_))
            | (DataType::Text | DataType::Varchar(None), Value::Text(_))
    ) || matches!((ty, v), (DataType::Varchar(Some(n)), Value::Text(s)) if s.len() <= *n as usize)
}

fn eval_ref<'r, 'e: 'r>(
    e: &'r BExpr,
    row: &'r [Value],
    env: &mut Env<'e>,
) -> ExecResult<std::borrow::Cow<'r, Value>> {
    use std::borrow::Cow;
    match e {
        // A parameter of the right type is read in place (a LIKE pattern
        // is not copied per row).
        BExpr::Param { index, ty } => {
            let params: &'e [Value] = env.params;
            match params.get(*index) {
                Some(v) if already_typed(v, ty) => {
                    env.interrupts.tick()?;
                    Ok(Cow::Borrowed(v))
                }
                _ => eval(e, row, env).map(Cow::Owned),
            }
        }
        BExpr::Col(i) => {
            env.interrupts.tick()?;
            row.get(*i)
                .map(Cow::Borrowed)
                .ok_or_else(|| err(SqlState::INTERNAL_ERROR, format!("column {i} out of range")))
        }
        BExpr::Const(v) => {
            env.interrupts.tick()?;
            Ok(Cow::Borrowed(v))
        }
        _ => eval(e, row, env).map(Cow::Owned),
    }
}

/// [`text_of`] without copying a text value.
fn text_ref<'v>(v: &'v Value, tz: &TimeZone) -> std::borrow::Cow<'v, str> {
    match v {
        Value::Text(s) => std::borrow::Cow::Borrowed(s),
        other => std::borrow::Cow::Owned(other.to_pg_text(tz).unwrap_or_default()),
    }
}

pub(super) fn text_of(v: &Value, tz: &TimeZone) -> String {
    match v {
        Value::Text(s) => s.clone(),
        other => other.to_pg_text(tz).unwrap_or_default(),
    }
}

pub(super) fn eval_subquery(
    plan: &Rc<Plan>,
    kind: &SubqueryKind,
    correlated: bool,
    row: &[Value],
    env: &mut Env,
) -> ExecResult<Value> {
    let key = Rc::as_ptr(plan);
    let rows = match (correlated, env.subquery_cache.get(&key)) {
        (false, Some(rows)) => rows.clone(),
        _ => {
            env.outer.push(row.to_vec());
            let result = run(plan, env);
            env.outer.pop();
            let rows = Rc::new(result?);
            if !correlated {
                env.subquery_cache.insert(key, rows.clone());
            }
            rows
        }
    };
    Ok(match kind {
        SubqueryKind::Scalar => match rows.len() {
            0 => Value::Null,
            1 => rows[0].first().cloned().unwrap_or(Value::Null),
            _ => {
                return Err(err(
                    SqlState::CARDINALITY_VIOLATION,
                    "more than one row returned by a subquery used as an expression",
                ))
            }
        },
        SubqueryKind::Array => Value::Array(
            rows.iter()
                .map(|r| r.first().cloned().unwrap_or(Value::Null))
                .collect(),
        ),
        SubqueryKind::Exists { negated } => Value::Bool(rows.is_empty() == *negated),
        SubqueryKind::Quantified { left, op, all } => {
            let x = eval(left, row, env)?;
            quantified(
                &x,
                *op,
                *all,
                rows.iter()
                    .map(|r| r.first().cloned().unwrap_or(Value::Null)),
                env.tz,
            )?
        }
    })
}

pub(super) fn quantified(
    x: &Value,
    op: BinOp,
    all: bool,
    items: impl Iterator<Item = Value>,
    tz: &TimeZone,
) -> ExecResult<Value> {
    let mut saw_null = false;
    let mut any = false;
    for y in items {
        any = true;
        match truth(&binop(op, x, &y, tz)?) {
            Some(r) if r != all => return Ok(Value::Bool(!all)),
            None => saw_null = true,
            _ => {}
        }
    }
    let _ = any;
    Ok(if saw_null {
        Value::Null
    } else {
        Value::Bool(all)
    })
}

/// Calls a scalar function (internal helpers first, then the library).
pub(super) fn call_function(name: &str, args: Vec<Value>, env: &mut Env) -> ExecResult<Value> {
    match name {
        // `a[i]`: arrays here are 1-based; out of range (or NULL) is NULL.
        "__subscript" => Ok(match (args.first(), args.get(1)) {
            (Some(Value::Array(items)), Some(i)) if !i.is_null() => {
                let i = match cast_explicit(i.clone(), &DataType::Int8, env.tz)? {
                    Value::Int8(i) => i,
                    _ => 0,
                };
                usize::try_from(i)
                    .ok()
                    .and_then(|i| i.checked_sub(1))
                    .and_then(|i| items.get(i))
                    .cloned()
                    .unwrap_or(Value::Null)
            }
            _ => Value::Null,
        }),
        "__any" | "__all" => {
            let op = match args.first() {
                Some(Value::Text(s)) => parse_binop_name(s)?,
                _ => return Err(err(SqlState::INTERNAL_ERROR, "bad quantified call")),
            };
            let x = args.get(1).cloned().unwrap_or(Value::Null);
            match args.get(2) {
                Some(Value::Array(items)) => {
                    quantified(&x, op, name == "__all", items.iter().cloned(), env.tz)
                }
                Some(Value::Null) | None => Ok(Value::Null),
                Some(other) => Err(err(
                    SqlState::DATATYPE_MISMATCH,
                    format!(
                        "op ANY/ALL (array) requires array on right side, not {}",
                        other.data_type()
                    ),
                )),
            }
        }
        _ => call(name, args, env),
    }
}

pub(super) fn parse_binop_name(s: &str) -> ExecResult<BinOp> {
    Ok(match s {
        "Eq" => BinOp::Eq,
        "NotEq" => BinOp::NotEq,
        "Lt" => BinOp::Lt,
        "LtEq" => BinOp::LtEq,
        "Gt" => BinOp::Gt,
        "GtEq" => BinOp::GtEq,
        other => {
            return Err(err(
                SqlState::FEATURE_NOT_SUPPORTED,
                format!("operator {other} with ANY/ALL"),
            ))
        }
    })
}

/// Is `pred` true for `row`?
pub fn passes(pred: &BExpr, row: &[Value], env: &mut Env) -> ExecResult<bool> {
    Ok(cond_truth(pred, row, env)? == Some(true))
}

/// The three-valued truth of condition `e` over `row`: `truth(eval(e))`,
/// without building boolean values for AND, OR and the comparisons of
/// same-kind scalars (the bulk of scan filters).
pub(super) fn cond_truth(e: &BExpr, row: &[Value], env: &mut Env) -> ExecResult<Option<bool>> {
    match e {
        BExpr::Binary(BinOp::And, a, b) => {
            env.interrupts.tick()?;
            let x = cond_truth(a, row, env)?;
            if x == Some(false) {
                return Ok(Some(false));
            }
            Ok(match (x, cond_truth(b, row, env)?) {
                (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            })
        }
        BExpr::Binary(BinOp::Or, a, b) => {
            env.interrupts.tick()?;
            let x = cond_truth(a, row, env)?;
            if x == Some(true) {
                return Ok(Some(true));
            }
            Ok(match (x, cond_truth(b, row, env)?) {
                (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            })
        }
        BExpr::Binary(
            op @ (BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq),
            a,
            b,
        ) => {
            env.interrupts.tick()?;
            let x = eval_ref(a, row, env)?;
            let y = eval_ref(b, row, env)?;
            match scalar_order(&x, &y) {
                Some(order) => Ok(order.map(|o| comparison_holds(*op, o))),
                None => Ok(truth(&binop(*op, &x, &y, env.tz)?)),
            }
        }
        _ => Ok(truth(&eval(e, row, env)?)),
    }
}

/// How two values of the same scalar kind compare, exactly as
/// `Value::sql_cmp_tz` would (`Some(None)` when one is NULL); `None` for
/// the kinds left to the general comparison.
#[inline]
fn scalar_order(x: &Value, y: &Value) -> Option<Option<std::cmp::Ordering>> {
    let int = |v: &Value| match v {
        Value::Int2(n) => Some(i64::from(*n)),
        Value::Int4(n) => Some(i64::from(*n)),
        Value::Int8(n) => Some(*n),
        _ => None,
    };
    match (x, y) {
        (Value::Null, _) | (_, Value::Null) => Some(None),
        (Value::Text(a), Value::Text(b)) => Some(Some(a.as_bytes().cmp(b.as_bytes()))),
        (Value::Bool(a), Value::Bool(b)) => Some(Some(a.cmp(b))),
        _ => match (int(x), int(y)) {
            (Some(a), Some(b)) => Some(Some(a.cmp(&b))),
            _ => None,
        },
    }
}

/// Whether comparison `op` holds for operands ordered `o`.
#[inline]
pub(super) fn comparison_holds(op: BinOp, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        BinOp::Eq => o == Equal,
        BinOp::NotEq => o != Equal,
        BinOp::Lt => o == Less,
        BinOp::LtEq => o != Greater,
        BinOp::Gt => o == Greater,
        _ => o != Less,
    }
}

/// Calls scalar function `name`.
pub fn call(name: &str, args: Vec<Value>, env: &mut Env) -> ExecResult<Value> {
    if name == "txid_status" || name == "pg_xact_status" {
        return txid_status(args.first(), env);
    }
    if functions::system::is_advisory(name) {
        return super::advisory::call(name, &args, env);
    }
    if name == "pg_get_serial_sequence" {
        return serial_sequence(&args, env);
    }
    if name == "pg_notify" {
        return pg_notify(&args, env);
    }
    if name == "current_setting" {
        return current_setting(&args, env);
    }
    let mut ctx = functions::FnContext {
        tz: env.tz,
        now_micros: env.now,
        rng: env.rng,
    };
    Ok(functions::call_function(name, &args, &mut ctx)?)
}

/// `pg_notify(channel, payload)`: NOTIFY with values (not STRICT: a NULL
/// channel is an empty one, a NULL payload an empty payload), queued in
/// the transaction until it commits.
fn pg_notify(args: &[Value], env: &mut Env) -> ExecResult<Value> {
    let text = |v: Option<&Value>| match v {
        Some(Value::Text(s)) => s.clone(),
        _ => String::new(),
    };
    let channel = text(args.first());
    let payload = text(args.get(1));
    crate::sql::functions::system::check_notify(&channel, &payload)?;
    env.notifies
        .push(crate::txn::AsyncAction::Notify { channel, payload });
    Ok(Value::Text(String::new()))
}

/// `pg_get_serial_sequence(table, column)` of values known at run time
/// (the binder answers it for literals).
fn serial_sequence(args: &[Value], env: &mut Env) -> ExecResult<Value> {
    let (Some(Value::Text(table)), Some(Value::Text(column))) = (args.first(), args.get(1)) else {
        return Ok(Value::Null);
    };
    let Some(catalog) = env.catalog else {
        return Err(Error::Sql(SqlError::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            "pg_get_serial_sequence cannot be used here",
        )));
    };
    let viewer = crate::txn::Viewer {
        snapshot: env.snapshot,
        own: env.own,
        cid: env.cid + 1,
    };
    catalog
        // A name known only at run time: unqualified ones are looked up
        // in public (the binder resolves literal names through the
        // session's search path).
        .serial_sequence(
            env.txns,
            env.pager,
            &viewer,
            &[crate::catalog::PUBLIC_NAMESPACE],
            table,
            column,
        )
        .map(|seq| seq.map_or(Value::Null, Value::Text))
        .map_err(|e| e.into_error(table, column))
}

/// `current_setting(name [, missing_ok])` of a name known at run time
/// (the binder answers it for a literal name).
fn current_setting(args: &[Value], env: &mut Env) -> ExecResult<Value> {
    let Some(Value::Text(name)) = args.first() else {
        return Ok(Value::Null);
    };
    let Some(show) = env.show else {
        return Err(Error::Sql(SqlError::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            "current_setting cannot be used here",
        )));
    };
    match show(name) {
        Ok(v) => Ok(Value::Text(v)),
        Err(Error::Sql(e))
            if e.code == SqlState::UNDEFINED_OBJECT
                && matches!(args.get(1), Some(Value::Bool(true))) =>
        {
            Ok(Value::Null)
        }
        Err(e) => Err(e),
    }
}

pub(super) fn txid_status(arg: Option<&Value>, env: &mut Env) -> ExecResult<Value> {
    let xid = match arg {
        Some(Value::Null) | None => return Ok(Value::Null),
        // int2 and int4 reach bigint by PostgreSQL's implicit casts.
        Some(Value::Int8(x)) => *x,
        Some(Value::Int4(x)) => *x as i64,
        Some(Value::Int2(x)) => *x as i64,
        Some(other) => {
            return Err(Error::Sql(SqlError::new(
                SqlState::DATATYPE_MISMATCH,
                format!("txid_status needs a bigint, not {}", other.data_type()),
            )))
        }
    };
    if xid < 0 || xid as u64 >= env.txns.next_xid() {
        return Err(Error::Sql(SqlError::new(
            SqlState::INVALID_PARAMETER_VALUE,
            format!("transaction ID {xid} is in the future"),
        )));
    }
    Ok(Value::Text(
        match env.txns.status(env.pager, xid as u64)? {
            XidStatus::Committed => "committed",
            XidStatus::Aborted => "aborted",
            XidStatus::InProgress => "in progress",
        }
        .into(),
    ))
}
