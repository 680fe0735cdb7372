//! Executing plans and evaluating bound expressions.
//!
//! Plans run to completion and return their rows (materialised): the
//! engine is single-threaded and statements are short; the one statement
//! kind that may pause (DML waiting for a row lock) keeps its own state in
//! the engine instead of pausing here.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::ast::{BinOp, SetOp, UnOp};
use super::cast::{cast_assignment, cast_explicit};
use super::compare::HashableValue;
use super::index_key::encode_index_key;
use super::ops::{binary_op_tz, like, negate, BinaryOp};
use super::plan::{
    AggCall, AggFunc, BExpr, CatalogOp, IndexBounds, JoinType, Plan, SortKey, SubqueryKind,
};
use super::row::decode_row;
use super::types::DataType;
use super::tz::TimeZone;
use super::value::Value;
use crate::btree::{key::prefix_successor, Index, RangeCursor};
use crate::catalog::{Catalog, TableDef};
use crate::error::{Error, SqlError, SqlState};
use crate::heap::{Heap, Tid};
use crate::pager::Pager;
use crate::txn::{Snapshot, TxnManager, Viewer, Xid};

pub type Row = Vec<Value>;
pub type ExecResult<T> = Result<T, Error>;

/// Everything a running statement reads.
pub struct Env<'a> {
    pub pager: &'a mut Pager,
    pub txns: &'a TxnManager,
    pub snapshot: &'a Snapshot,
    pub own: &'a HashSet<Xid>,
    pub cid: u32,
    pub params: &'a [Value],
    pub tz: &'a TimeZone,
    /// Statement start, microseconds since 2000-01-01 UTC.
    pub now: i64,
    pub cte_plans: &'a [Plan],
    /// Rows of enclosing queries (correlated subqueries), innermost last.
    pub outer: Vec<Row>,
    pub cte_results: HashMap<usize, Rc<Vec<Row>>>,
    pub work_tables: HashMap<usize, Rc<Vec<Row>>>,
    pub subquery_cache: HashMap<*const Plan, Rc<Vec<Row>>>,
    /// Session state for currval.
    pub currval: &'a mut HashMap<u32, i64>,
    /// Column defaults for `DEFAULT` in INSERT ... VALUES.
    pub defaults: Option<Rc<Vec<BExpr>>>,
    pub rng: &'a mut u64,
    /// EXPLAIN ANALYZE: per-node statistics, keyed by node address.
    pub stats: Option<HashMap<*const Plan, NodeStats>>,
    /// Microsecond clock for EXPLAIN ANALYZE timings.
    pub clock: fn() -> i64,
    /// Cancel requests and statement_timeout: ticked per row and per
    /// expression evaluated.
    pub interrupts: &'a crate::engine::Interrupts,
}

/// What EXPLAIN ANALYZE reports for one plan node.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeStats {
    pub rows: u64,
    pub loops: u64,
    pub micros: i64,
}

impl Env<'_> {
    /// Is this tuple version visible to the running statement?
    pub fn visible(&mut self, h: &crate::heap::TupleHeader) -> ExecResult<bool> {
        let viewer = Viewer {
            snapshot: self.snapshot,
            own: self.own,
            cid: self.cid,
        };
        Ok(viewer.visible(self.txns, self.pager, h)?)
    }
}

fn err(code: SqlState, msg: impl Into<String>) -> Error {
    Error::Sql(SqlError::new(code, msg))
}

fn to_binary_op(op: BinOp) -> Option<BinaryOp> {
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
        BinOp::And | BinOp::Or | BinOp::L1Distance => return None,
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
        None => match op {
            BinOp::L1Distance => match (a, b) {
                (Value::Null, _) | (_, Value::Null) => Ok(Value::Null),
                (Value::Vector(x), Value::Vector(y)) => {
                    if x.len() != y.len() {
                        return Err(err(
                            SqlState("22000"),
                            format!("different vector dimensions {} and {}", x.len(), y.len()),
                        ));
                    }
                    Ok(Value::Float8(
                        x.iter()
                            .zip(y)
                            .map(|(p, q)| (*p as f64 - *q as f64).abs())
                            .sum(),
                    ))
                }
                _ => Err(err(
                    SqlState::UNDEFINED_FUNCTION,
                    "operator does not exist: <+>",
                )),
            },
            _ => Err(err(
                SqlState::INTERNAL_ERROR,
                "logical operator outside eval",
            )),
        },
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
        BExpr::Outer { depth, col } => {
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
                (DataType::Unknown, _) | (_, Value::Null) => v,
                (t, Value::Text(s)) => super::text::parse_text(s, t, env.tz)?,
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
                    other => {
                        return Err(err(
                            SqlState::UNDEFINED_FUNCTION,
                            format!("operator does not exist: ~ {}", other.data_type()),
                        ))
                    }
                },
            }
        }
        BExpr::Binary(BinOp::And, a, b) => {
            let x = truth(&eval(a, row, env)?);
            if x == Some(false) {
                return Ok(Value::Bool(false));
            }
            let y = truth(&eval(b, row, env)?);
            match (x, y) {
                (_, Some(false)) => Value::Bool(false),
                (Some(true), Some(true)) => Value::Bool(true),
                _ => Value::Null,
            }
        }
        BExpr::Binary(BinOp::Or, a, b) => {
            let x = truth(&eval(a, row, env)?);
            if x == Some(true) {
                return Ok(Value::Bool(true));
            }
            let y = truth(&eval(b, row, env)?);
            match (x, y) {
                (_, Some(true)) => Value::Bool(true),
                (Some(false), Some(false)) => Value::Bool(false),
                _ => Value::Null,
            }
        }
        BExpr::Binary(op, a, b) => {
            let x = eval(a, row, env)?;
            let y = eval(b, row, env)?;
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
            let x = eval(expr, row, env)?;
            let p = eval(pattern, row, env)?;
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
            match (x, p) {
                (Value::Null, _) | (_, Value::Null) => Value::Null,
                (x, p) => {
                    let xs = text_of(&x, env.tz);
                    let ps = text_of(&p, env.tz);
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
                Value::Text(s) if !ty.is_string() => super::text::parse_text(&s, ty, env.tz)?,
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

fn text_of(v: &Value, tz: &TimeZone) -> String {
    match v {
        Value::Text(s) => s.clone(),
        other => other.to_pg_text(tz).unwrap_or_default(),
    }
}

fn eval_subquery(
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

fn quantified(
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
fn call_function(name: &str, args: Vec<Value>, env: &mut Env) -> ExecResult<Value> {
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
        _ => super::eval::call(name, args, env),
    }
}

fn parse_binop_name(s: &str) -> ExecResult<BinOp> {
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
    Ok(truth(&eval(pred, row, env)?) == Some(true))
}

/// Encodes a TID as the hidden `ctid` column of DML scans.
pub fn tid_value(tid: Tid) -> Value {
    Value::Int8(((tid.page as i64) << 16) | tid.slot as i64)
}

pub fn value_tid(v: &Value) -> Option<Tid> {
    match v {
        Value::Int8(x) if *x >= 0 => Some(Tid {
            page: (*x >> 16) as u32,
            slot: (*x & 0xFFFF) as u16,
        }),
        _ => None,
    }
}

/// Column types of a table as stored (dropped columns included).
pub fn stored_types(table: &TableDef) -> Vec<DataType> {
    table.columns.iter().map(|c| c.ty.clone()).collect()
}

/// Decodes a stored row, filling columns added after it was written with
/// NULL (the binder substitutes defaults when the column has one).
pub fn decode_table_row(table: &TableDef, payload: &[u8]) -> ExecResult<Row> {
    Ok(decode_row(payload, &stored_types(table))?)
}

fn scan_heap(
    table: &TableDef,
    filter: Option<&BExpr>,
    with_tid: bool,
    env: &mut Env,
) -> ExecResult<Vec<Row>> {
    let heap = Heap::open(table.heap);
    let mut out = Vec::new();
    let mut page = heap.first_page(env.pager)?;
    while page != 0 {
        let (tuples, next) = heap.scan_page(env.pager, page)?;
        for t in tuples {
            env.interrupts.tick()?;
            if !env.visible(&t.header)? {
                continue;
            }
            let mut row = decode_table_row(table, &t.payload)?;
            if with_tid {
                row.push(tid_value(t.tid));
            }
            if let Some(f) = filter {
                if !passes(f, &row, env)? {
                    continue;
                }
            }
            out.push(row);
        }
        page = next;
    }
    Ok(out)
}

/// Encoded equality prefix, then optional lower (inclusive) and upper
/// (exclusive) keys.
type KeyRange = (Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>);

/// The key bounds of an index scan, or `None` if they can match nothing
/// (a NULL in an equality or range bound).
fn index_range(bounds: &IndexBounds, desc: &[bool], env: &mut Env) -> ExecResult<Option<KeyRange>> {
    let mut eq_vals = Vec::new();
    for e in &bounds.eq {
        let v = eval(e, &[], env)?;
        if v.is_null() {
            return Ok(None);
        }
        eq_vals.push(v);
    }
    let prefix = encode_index_key(&eq_vals, &desc[..eq_vals.len()])?;
    let k = eq_vals.len();
    let col_key = |v: &Value| -> ExecResult<Vec<u8>> {
        let mut key = prefix.clone();
        key.extend(encode_index_key(std::slice::from_ref(v), &desc[k..k + 1])?);
        Ok(key)
    };
    let lower = match &bounds.lower {
        Some((e, inclusive)) => {
            let v = eval(e, &[], env)?;
            if v.is_null() {
                return Ok(None);
            }
            let key = col_key(&v)?;
            Some(if *inclusive {
                key
            } else {
                prefix_successor(&key).unwrap_or(key)
            })
        }
        None => None,
    };
    let upper = match &bounds.upper {
        Some((e, inclusive)) => {
            let v = eval(e, &[], env)?;
            if v.is_null() {
                return Ok(None);
            }
            let key = col_key(&v)?;
            // Exclusive end: everything below key (or below its successor).
            Some(if *inclusive {
                prefix_successor(&key).unwrap_or(key)
            } else {
                key
            })
        }
        None => None,
    };
    Ok(Some((prefix, lower, upper)))
}

#[allow(clippy::too_many_arguments)]
fn scan_index(
    table: &TableDef,
    index: &crate::catalog::IndexDef,
    bounds: &IndexBounds,
    reverse: bool,
    filter: Option<&BExpr>,
    with_tid: bool,
    stop_after: Option<&BExpr>,
    env: &mut Env,
) -> ExecResult<Vec<Row>> {
    use std::ops::Bound;
    let stop = match stop_after {
        Some(e) => match eval(e, &[], env)? {
            Value::Int8(n) if n >= 0 => Some(n as usize),
            Value::Int4(n) if n >= 0 => Some(n as usize),
            _ => None,
        },
        None => None,
    };
    if stop == Some(0) {
        return Ok(Vec::new());
    }
    let Some((prefix, lower, upper)) = index_range(bounds, &index.desc, env)? else {
        return Ok(Vec::new());
    };
    let idx = Index::open(index.btree);
    let prefix_end = prefix_successor(&prefix);
    let lo: Bound<&[u8]> = match &lower {
        Some(l) => Bound::Included(l.as_slice()),
        None => Bound::Included(prefix.as_slice()),
    };
    let hi: Bound<&[u8]> = match (&upper, &prefix_end) {
        (Some(u), _) => Bound::Excluded(u.as_slice()),
        (None, Some(e)) => Bound::Excluded(e.as_slice()),
        (None, None) => Bound::Unbounded,
    };
    let mut cursor = RangeCursor::new(lo, hi, reverse);
    let heap = Heap::open(table.heap);
    let mut out = Vec::new();
    loop {
        let batch = cursor.next_batch(&idx.tree(), env.pager, 256)?;
        let done = batch.len() < 256;
        for (key, _) in batch {
            env.interrupts.tick()?;
            let Some((_, tid)) = crate::btree::split_entry_key(&key) else {
                continue;
            };
            let Some(t) = heap.fetch(env.pager, tid)? else {
                continue;
            };
            if !env.visible(&t.header)? {
                continue;
            }
            let mut row = decode_table_row(table, &t.payload)?;
            if with_tid {
                row.push(tid_value(tid));
            }
            if let Some(f) = filter {
                if !passes(f, &row, env)? {
                    continue;
                }
            }
            out.push(row);
            if stop.is_some_and(|n| out.len() >= n) {
                return Ok(out);
            }
        }
        if done {
            break;
        }
    }
    Ok(out)
}

/// Runs a plan to completion (recording statistics under EXPLAIN ANALYZE).
pub fn run(plan: &Plan, env: &mut Env) -> ExecResult<Vec<Row>> {
    if env.stats.is_none() {
        return run_node(plan, env);
    }
    let start = (env.clock)();
    let result = run_node(plan, env);
    let elapsed = (env.clock)() - start;
    if let (Ok(rows), Some(stats)) = (&result, env.stats.as_mut()) {
        let s = stats.entry(plan as *const Plan).or_default();
        s.rows += rows.len() as u64;
        s.loops += 1;
        s.micros += elapsed;
    }
    result
}

fn run_node(plan: &Plan, env: &mut Env) -> ExecResult<Vec<Row>> {
    match plan {
        Plan::Unit => Ok(vec![Vec::new()]),
        Plan::Values { rows, .. } => {
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let mut row = Vec::with_capacity(r.len());
                for e in r {
                    row.push(eval(e, &[], env)?);
                }
                out.push(row);
            }
            Ok(out)
        }
        Plan::SystemScan { rows, .. } => Ok(rows.as_ref().clone()),
        Plan::Series {
            args, ordinality, ..
        } => {
            let mut vals = Vec::new();
            for a in args {
                vals.push(match eval(a, &[], env)? {
                    Value::Null => return Ok(Vec::new()),
                    v => match cast_explicit(v, &DataType::Int8, env.tz)? {
                        Value::Int8(x) => x,
                        _ => {
                            return Err(err(
                                SqlState::DATATYPE_MISMATCH,
                                "generate_series needs integers",
                            ))
                        }
                    },
                });
            }
            let (start, stop) = (vals[0], vals[1]);
            let step = vals.get(2).copied().unwrap_or(1);
            if step == 0 {
                return Err(err(
                    SqlState::INVALID_PARAMETER_VALUE,
                    "step size cannot equal zero",
                ));
            }
            let mut out = Vec::new();
            let mut i = start;
            while (step > 0 && i <= stop) || (step < 0 && i >= stop) {
                env.interrupts.tick()?;
                if *ordinality {
                    out.push(vec![Value::Int8(i), Value::Int8(out.len() as i64 + 1)]);
                } else {
                    out.push(vec![Value::Int8(i)]);
                }
                if out.len() > 100_000_000 {
                    return Err(err(
                        SqlState::PROGRAM_LIMIT_EXCEEDED,
                        "generate_series result too large",
                    ));
                }
                match i.checked_add(step) {
                    Some(n) => i = n,
                    None => break,
                }
            }
            Ok(out)
        }
        Plan::SeqScan {
            table,
            filter,
            with_tid,
        } => scan_heap(table, filter.as_ref(), *with_tid, env),
        Plan::IndexScan {
            table,
            index,
            bounds,
            reverse,
            filter,
            with_tid,
            stop_after,
        } => scan_index(
            table,
            index,
            bounds,
            *reverse,
            filter.as_ref(),
            *with_tid,
            stop_after.as_ref(),
            env,
        ),
        Plan::Filter { input, pred } => {
            let rows = run(input, env)?;
            let mut out = Vec::new();
            for r in rows {
                if passes(pred, &r, env)? {
                    out.push(r);
                }
            }
            Ok(out)
        }
        Plan::Project { input, exprs, .. } => {
            let rows = run(input, env)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let mut o = Vec::with_capacity(exprs.len());
                for e in exprs {
                    o.push(eval(e, &r, env)?);
                }
                out.push(o);
            }
            Ok(out)
        }
        Plan::Truncate { input, keep } => {
            let mut rows = run(input, env)?;
            for r in &mut rows {
                r.truncate(*keep);
            }
            Ok(rows)
        }
        Plan::NestedLoop {
            left,
            right,
            kind,
            cond,
        } => {
            let l = run(left, env)?;
            let r = run(right, env)?;
            let rwidth = super::plan::plan_columns(right, env.cte_plans).len();
            let lwidth = super::plan::plan_columns(left, env.cte_plans).len();
            join_rows(l, r, *kind, lwidth, rwidth, env, |lr, rr, env| match cond {
                Some(c) => {
                    let mut row = lr.to_vec();
                    row.extend_from_slice(rr);
                    passes(c, &row, env)
                }
                None => Ok(true),
            })
        }
        Plan::HashJoin {
            left,
            right,
            kind,
            left_keys,
            right_keys,
            residual,
        } => {
            let l = run(left, env)?;
            let r = run(right, env)?;
            let rwidth = super::plan::plan_columns(right, env.cte_plans).len();
            let lwidth = super::plan::plan_columns(left, env.cte_plans).len();
            hash_join(
                l,
                r,
                *kind,
                left_keys,
                right_keys,
                residual.as_ref(),
                lwidth,
                rwidth,
                env,
            )
        }
        Plan::Aggregate { input, group, aggs } => {
            let rows = run(input, env)?;
            aggregate(rows, group, aggs, env)
        }
        Plan::Sort { input, keys } => {
            let rows = run(input, env)?;
            sort_rows(rows, keys, env)
        }
        Plan::Limit {
            input,
            limit,
            offset,
        } => {
            let rows = run(input, env)?;
            let as_count = |v: Value, what: &str| -> ExecResult<Option<usize>> {
                match v {
                    Value::Null => Ok(None),
                    Value::Int8(n) if n >= 0 => Ok(Some(n as usize)),
                    Value::Int4(n) if n >= 0 => Ok(Some(n as usize)),
                    // PostgreSQL: 2201W for LIMIT, 2201X for OFFSET.
                    _ => Err(err(
                        SqlState(if what == "LIMIT" { "2201W" } else { "2201X" }),
                        format!("{what} must not be negative"),
                    )),
                }
            };
            let off = match offset {
                Some(e) => as_count(eval(e, &[], env)?, "OFFSET")?.unwrap_or(0),
                None => 0,
            };
            let lim = match limit {
                Some(e) => as_count(eval(e, &[], env)?, "LIMIT")?,
                None => None,
            };
            Ok(rows
                .into_iter()
                .skip(off)
                .take(lim.unwrap_or(usize::MAX))
                .collect())
        }
        Plan::Distinct { input, on } => {
            let rows = run(input, env)?;
            let mut seen = HashSet::new();
            let mut out = Vec::new();
            for r in rows {
                let key: Vec<HashableValue> = match on {
                    Some(exprs) => {
                        let mut k = Vec::new();
                        for e in exprs {
                            k.push(eval(e, &r, env)?.group_key());
                        }
                        k
                    }
                    None => r.iter().map(|v| v.group_key()).collect(),
                };
                if seen.insert(key) {
                    out.push(r);
                }
            }
            Ok(out)
        }
        Plan::SetOp {
            op,
            all,
            left,
            right,
        } => {
            let l = run(left, env)?;
            let r = run(right, env)?;
            Ok(set_op(*op, *all, l, r))
        }
        Plan::CteScan { id } => {
            if let Some(rows) = env.cte_results.get(id) {
                return Ok((**rows).clone());
            }
            let plan = env
                .cte_plans
                .get(*id)
                .ok_or_else(|| err(SqlState::INTERNAL_ERROR, "unknown CTE"))?;
            let rows = Rc::new(run(plan, env)?);
            env.cte_results.insert(*id, rows.clone());
            Ok((*rows).clone())
        }
        Plan::WorkTable { id } => Ok(env
            .work_tables
            .get(id)
            .map(|r| (**r).clone())
            .unwrap_or_default()),
        Plan::RecursiveCte {
            id,
            anchor,
            step,
            all,
        } => {
            let mut result = run(anchor, env)?;
            let mut seen: HashSet<Vec<HashableValue>> = HashSet::new();
            if !*all {
                result.retain(|r| seen.insert(r.iter().map(|v| v.group_key()).collect()));
            }
            let mut work = result.clone();
            let mut rounds = 0u64;
            while !work.is_empty() {
                rounds += 1;
                if rounds > 10_000_000 || result.len() > 50_000_000 {
                    return Err(err(
                        SqlState::PROGRAM_LIMIT_EXCEEDED,
                        "recursive query does not terminate",
                    ));
                }
                env.work_tables
                    .insert(*id, Rc::new(std::mem::take(&mut work)));
                let mut next = run(step, env)?;
                if !*all {
                    next.retain(|r| seen.insert(r.iter().map(|v| v.group_key()).collect()));
                }
                result.extend(next.iter().cloned());
                work = next;
            }
            env.work_tables.remove(id);
            Ok(result)
        }
    }
}

/// `row` with `before` NULLs in front and `after` behind (outer joins).
fn null_extended(row: &[Value], before: usize, after: usize) -> Row {
    let mut out = Vec::with_capacity(before + row.len() + after);
    out.resize(before, Value::Null);
    out.extend_from_slice(row);
    out.resize(before + row.len() + after, Value::Null);
    out
}

fn join_rows(
    left: Vec<Row>,
    right: Vec<Row>,
    kind: JoinType,
    lwidth: usize,
    rwidth: usize,
    env: &mut Env,
    mut matches: impl FnMut(&[Value], &[Value], &mut Env) -> ExecResult<bool>,
) -> ExecResult<Vec<Row>> {
    let mut out = Vec::new();
    let mut right_matched = vec![false; right.len()];
    for lr in &left {
        let mut any = false;
        for (j, rr) in right.iter().enumerate() {
            env.interrupts.tick()?;
            if matches(lr, rr, env)? {
                any = true;
                right_matched[j] = true;
                let mut row = lr.clone();
                row.extend_from_slice(rr);
                out.push(row);
            }
        }
        if !any && matches!(kind, JoinType::Left | JoinType::Full) {
            out.push(null_extended(lr, 0, rwidth));
        }
    }
    if matches!(kind, JoinType::Right | JoinType::Full) {
        for (rr, _) in right.iter().zip(&right_matched).filter(|(_, m)| !**m) {
            out.push(null_extended(rr, lwidth, 0));
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn hash_join(
    left: Vec<Row>,
    right: Vec<Row>,
    kind: JoinType,
    lkeys: &[BExpr],
    rkeys: &[BExpr],
    residual: Option<&BExpr>,
    lwidth: usize,
    rwidth: usize,
    env: &mut Env,
) -> ExecResult<Vec<Row>> {
    // Build on the right side; NULL keys never match.
    let mut table: HashMap<Vec<HashableValue>, Vec<usize>> = HashMap::new();
    for (j, rr) in right.iter().enumerate() {
        let mut key = Vec::with_capacity(rkeys.len());
        let mut null = false;
        for k in rkeys {
            let v = eval(k, rr, env)?;
            null |= v.is_null();
            key.push(v.group_key());
        }
        if !null {
            table.entry(key).or_default().push(j);
        }
    }
    let mut out = Vec::new();
    let mut right_matched = vec![false; right.len()];
    for lr in &left {
        let mut key = Vec::with_capacity(lkeys.len());
        let mut null = false;
        for k in lkeys {
            let v = eval(k, lr, env)?;
            null |= v.is_null();
            key.push(v.group_key());
        }
        let mut any = false;
        if !null {
            if let Some(candidates) = table.get(&key) {
                for &j in candidates {
                    let mut row = lr.clone();
                    row.extend_from_slice(&right[j]);
                    if let Some(res) = residual {
                        if !passes(res, &row, env)? {
                            continue;
                        }
                    }
                    any = true;
                    right_matched[j] = true;
                    out.push(row);
                }
            }
        }
        if !any && matches!(kind, JoinType::Left | JoinType::Full) {
            out.push(null_extended(lr, 0, rwidth));
        }
    }
    if matches!(kind, JoinType::Right | JoinType::Full) {
        for (rr, _) in right.iter().zip(&right_matched).filter(|(_, m)| !**m) {
            out.push(null_extended(rr, lwidth, 0));
        }
    }
    Ok(out)
}

pub fn sort_rows(rows: Vec<Row>, keys: &[SortKey], env: &mut Env) -> ExecResult<Vec<Row>> {
    let mut keyed = Vec::with_capacity(rows.len());
    for r in rows {
        let mut k = Vec::with_capacity(keys.len());
        for key in keys {
            k.push(eval(&key.expr, &r, env)?);
        }
        keyed.push((k, r));
    }
    keyed.sort_by(|(a, _), (b, _)| {
        for (i, key) in keys.iter().enumerate() {
            let (x, y) = (&a[i], &b[i]);
            let ord = match (x.is_null(), y.is_null()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => {
                    if key.nulls_first {
                        std::cmp::Ordering::Less
                    } else {
                        std::cmp::Ordering::Greater
                    }
                }
                (false, true) => {
                    if key.nulls_first {
                        std::cmp::Ordering::Greater
                    } else {
                        std::cmp::Ordering::Less
                    }
                }
                _ => {
                    let o = x.sort_cmp(y);
                    if key.desc {
                        o.reverse()
                    } else {
                        o
                    }
                }
            };
            if ord != std::cmp::Ordering::Equal {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
    Ok(keyed.into_iter().map(|(_, r)| r).collect())
}

fn set_op(op: SetOp, all: bool, left: Vec<Row>, right: Vec<Row>) -> Vec<Row> {
    let key = |r: &Row| -> Vec<HashableValue> { r.iter().map(|v| v.group_key()).collect() };
    match (op, all) {
        (SetOp::Union, true) => left.into_iter().chain(right).collect(),
        (SetOp::Union, false) => {
            let mut seen = HashSet::new();
            left.into_iter()
                .chain(right)
                .filter(|r| seen.insert(key(r)))
                .collect()
        }
        (SetOp::Intersect | SetOp::Except, _) => {
            let mut counts: HashMap<Vec<HashableValue>, usize> = HashMap::new();
            for r in &right {
                *counts.entry(key(r)).or_default() += 1;
            }
            let mut emitted = HashSet::new();
            let mut out = Vec::new();
            for r in left {
                let k = key(&r);
                let c = counts.get(&k).copied().unwrap_or(0);
                let keep = match (op, all) {
                    (SetOp::Intersect, true) => {
                        if c > 0 {
                            counts.insert(k.clone(), c - 1);
                            true
                        } else {
                            false
                        }
                    }
                    (SetOp::Intersect, false) => c > 0 && emitted.insert(k.clone()),
                    (SetOp::Except, true) => {
                        if c > 0 {
                            counts.insert(k.clone(), c - 1);
                            false
                        } else {
                            true
                        }
                    }
                    _ => c == 0 && emitted.insert(k.clone()),
                };
                if keep {
                    out.push(r);
                }
            }
            out
        }
    }
}

/// Per-group, per-aggregate accumulated inputs.
struct AggState {
    /// Argument tuples that passed the FILTER (with their sort keys).
    inputs: Vec<(Vec<Value>, Vec<Value>)>,
    count: i64,
}

fn aggregate(
    rows: Vec<Row>,
    group: &[BExpr],
    aggs: &[AggCall],
    env: &mut Env,
) -> ExecResult<Vec<Row>> {
    let mut order: Vec<Vec<HashableValue>> = Vec::new();
    let mut groups: HashMap<Vec<HashableValue>, (Row, Vec<AggState>)> = HashMap::new();
    for r in &rows {
        let mut gvals = Vec::with_capacity(group.len());
        for g in group {
            gvals.push(eval(g, r, env)?);
        }
        let key: Vec<HashableValue> = gvals.iter().map(|v| v.group_key()).collect();
        if !groups.contains_key(&key) {
            order.push(key.clone());
            let states = aggs
                .iter()
                .map(|_| AggState {
                    inputs: Vec::new(),
                    count: 0,
                })
                .collect();
            groups.insert(key.clone(), (gvals, states));
        }
        let (_, states) = groups.get_mut(&key).expect("inserted above");
        for (a, st) in aggs.iter().zip(states.iter_mut()) {
            if let Some(f) = &a.filter {
                if !passes(f, r, env)? {
                    continue;
                }
            }
            if a.func == AggFunc::CountStar {
                st.count += 1;
                continue;
            }
            let mut args = Vec::with_capacity(a.args.len());
            for e in &a.args {
                args.push(eval(e, r, env)?);
            }
            // Aggregates (but count(*) and array_agg) skip NULL inputs.
            if a.func != AggFunc::ArrayAgg && args.first().is_some_and(|v| v.is_null()) {
                continue;
            }
            let mut sort = Vec::with_capacity(a.order_by.len());
            for k in &a.order_by {
                sort.push(eval(&k.expr, r, env)?);
            }
            st.inputs.push((args, sort));
        }
    }
    // No GROUP BY: one row even over no input.
    if group.is_empty() && groups.is_empty() {
        order.push(Vec::new());
        groups.insert(
            Vec::new(),
            (
                Vec::new(),
                aggs.iter()
                    .map(|_| AggState {
                        inputs: Vec::new(),
                        count: 0,
                    })
                    .collect(),
            ),
        );
    }
    let mut out = Vec::with_capacity(order.len());
    for key in order {
        let (gvals, states) = groups.remove(&key).expect("every key has a group");
        let mut row = gvals;
        for (a, st) in aggs.iter().zip(states) {
            row.push(finish_aggregate(a, st, env)?);
        }
        out.push(row);
    }
    Ok(out)
}

fn finish_aggregate(a: &AggCall, st: AggState, env: &mut Env) -> ExecResult<Value> {
    let mut inputs = st.inputs;
    if a.distinct {
        let mut seen = HashSet::new();
        inputs.retain(|(args, _)| {
            seen.insert(args.iter().map(|v| v.group_key()).collect::<Vec<_>>())
        });
    }
    if !a.order_by.is_empty() {
        let keys: Vec<SortKey> = a
            .order_by
            .iter()
            .enumerate()
            .map(|(i, k)| SortKey {
                expr: BExpr::Col(i),
                desc: k.desc,
                nulls_first: k.nulls_first,
            })
            .collect();
        let rows: Vec<Row> = inputs
            .iter()
            .enumerate()
            .map(|(i, (_, s))| {
                let mut r = s.clone();
                r.push(Value::Int8(i as i64));
                r
            })
            .collect();
        let sorted = sort_rows(rows, &keys, env)?;
        let mut reordered = Vec::with_capacity(inputs.len());
        for r in sorted {
            if let Some(Value::Int8(i)) = r.last() {
                reordered.push(inputs[*i as usize].clone());
            }
        }
        inputs = reordered;
    }
    let first = |(args, _): &(Vec<Value>, Vec<Value>)| args.first().cloned().unwrap_or(Value::Null);
    Ok(match a.func {
        AggFunc::CountStar => Value::Int8(st.count),
        AggFunc::Count => Value::Int8(inputs.len() as i64),
        AggFunc::Sum | AggFunc::Avg => {
            if inputs.is_empty() {
                return Ok(Value::Null);
            }
            let acc_ty = match (&a.func, &a.ty) {
                (AggFunc::Avg, DataType::Numeric(_)) => DataType::Numeric(None),
                (_, t) => t.clone(),
            };
            let mut acc: Option<Value> = None;
            for i in &inputs {
                let v = cast_explicit(first(i), &acc_ty, env.tz)?;
                acc = Some(match acc {
                    None => v,
                    Some(prev) => binop(BinOp::Add, &prev, &v, env.tz)?,
                });
            }
            let sum = acc.unwrap_or(Value::Null);
            if a.func == AggFunc::Sum {
                sum
            } else {
                let n = match acc_ty {
                    DataType::Interval => Value::Float8(inputs.len() as f64),
                    DataType::Numeric(_) => {
                        cast_explicit(Value::Int8(inputs.len() as i64), &acc_ty, env.tz)?
                    }
                    _ => Value::Float8(inputs.len() as f64),
                };
                binop(BinOp::Div, &sum, &n, env.tz)?
            }
        }
        AggFunc::Min | AggFunc::Max => {
            let mut best: Option<Value> = None;
            for i in &inputs {
                let v = first(i);
                best = Some(match best {
                    None => v,
                    Some(b) => {
                        let ord = v.sort_cmp(&b);
                        let better = if a.func == AggFunc::Min {
                            ord == std::cmp::Ordering::Less
                        } else {
                            ord == std::cmp::Ordering::Greater
                        };
                        if better {
                            v
                        } else {
                            b
                        }
                    }
                });
            }
            best.unwrap_or(Value::Null)
        }
        AggFunc::BoolAnd | AggFunc::BoolOr => {
            if inputs.is_empty() {
                return Ok(Value::Null);
            }
            let want = a.func == AggFunc::BoolOr;
            Value::Bool(if want {
                inputs.iter().any(|i| truth(&first(i)) == Some(true))
            } else {
                inputs.iter().all(|i| truth(&first(i)) == Some(true))
            })
        }
        AggFunc::StringAgg => {
            if inputs.is_empty() {
                return Ok(Value::Null);
            }
            let mut s = String::new();
            for (n, (args, _)) in inputs.iter().enumerate() {
                if n > 0 {
                    if let Some(sep) = args.get(1) {
                        if !sep.is_null() {
                            s.push_str(&text_of(sep, env.tz));
                        }
                    }
                }
                s.push_str(&text_of(&args[0], env.tz));
            }
            Value::Text(s)
        }
        AggFunc::ArrayAgg => {
            if inputs.is_empty() {
                return Ok(Value::Null);
            }
            Value::Array(inputs.iter().map(first).collect())
        }
    })
}
