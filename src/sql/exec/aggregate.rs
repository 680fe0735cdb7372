//! Aggregation: grouping and the aggregate functions.

use std::collections::{HashMap, HashSet};

use super::eval::{binop, eval, passes, text_of, truth};
use super::{sort_rows, Env, ExecResult, Row};
use crate::sql::parse::ast::BinOp;
use crate::sql::plan::{AggCall, AggFunc, BExpr, SortKey};
use crate::value::cast::{cast_explicit, to_jsonb};
use crate::value::compare::HashableValue;
use crate::value::json_text;
use crate::value::{DataType, Value};

/// Per-group, per-aggregate accumulated inputs.
pub(super) struct AggState {
    /// Argument tuples that passed the FILTER (with their sort keys).
    inputs: Vec<(Vec<Value>, Vec<Value>)>,
    count: i64,
}

pub(super) fn aggregate(
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
            // Aggregates (but count(*), array_agg and the json ones) skip
            // NULL inputs.
            let keeps_nulls = matches!(
                a.func,
                AggFunc::ArrayAgg
                    | AggFunc::JsonAgg
                    | AggFunc::JsonbAgg
                    | AggFunc::JsonObjectAgg
                    | AggFunc::JsonbObjectAgg
            );
            if !keeps_nulls && args.first().is_some_and(|v| v.is_null()) {
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

pub(super) fn finish_aggregate(a: &AggCall, st: AggState, env: &mut Env) -> ExecResult<Value> {
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
        AggFunc::Sum | AggFunc::Avg if matches!(a.ty, DataType::Vector(_)) => {
            let vectors: Vec<Value> = inputs.iter().map(first).collect();
            vector_sum_avg(a.func == AggFunc::Avg, &vectors)?
        }
        AggFunc::Sum | AggFunc::Avg if matches!(a.ty, DataType::HalfVec(_)) => {
            let vectors: Vec<Value> = inputs
                .iter()
                .map(first)
                .map(|v| match v {
                    Value::HalfVec(x) => Value::Vector(x),
                    other => other,
                })
                .collect();
            match vector_sum_avg(a.func == AggFunc::Avg, &vectors)? {
                Value::Vector(v) => Value::HalfVec(crate::value::bits::to_halfvec(&v)?),
                other => other,
            }
        }
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
        // PostgreSQL's separators: `[1, 2]` for json_agg, `{ "k" : v, ... }`
        // for json_object_agg; NULL over no rows.
        AggFunc::JsonAgg => {
            if inputs.is_empty() {
                return Ok(Value::Null);
            }
            let mut s = String::from("[");
            for (n, i) in inputs.iter().enumerate() {
                if n > 0 {
                    s.push_str(", ");
                }
                json_text::write_json_value(&mut s, &first(i), env.tz)?;
            }
            s.push(']');
            Value::Json(s.into())
        }
        AggFunc::JsonbAgg => {
            if inputs.is_empty() {
                return Ok(Value::Null);
            }
            let mut items = Vec::with_capacity(inputs.len());
            for i in &inputs {
                items.push(to_jsonb(&first(i), env.tz)?);
            }
            Value::Jsonb(serde_json::Value::Array(items))
        }
        AggFunc::JsonObjectAgg | AggFunc::JsonbObjectAgg => {
            if inputs.is_empty() {
                return Ok(Value::Null);
            }
            let pair = |(args, _): &(Vec<Value>, Vec<Value>)| -> ExecResult<(String, Value)> {
                let k = args.first().cloned().unwrap_or(Value::Null);
                let key = json_text::object_key(&k, env.tz, "field name must not be null")?;
                Ok((key, args.get(1).cloned().unwrap_or(Value::Null)))
            };
            if a.func == AggFunc::JsonObjectAgg {
                let mut s = String::from("{ ");
                for (n, i) in inputs.iter().enumerate() {
                    if n > 0 {
                        s.push_str(", ");
                    }
                    let (k, v) = pair(i)?;
                    json_text::quote_json(&mut s, &k);
                    s.push_str(" : ");
                    json_text::write_json_value(&mut s, &v, env.tz)?;
                }
                s.push_str(" }");
                Value::Json(s.into())
            } else {
                let mut m = serde_json::Map::new();
                for i in &inputs {
                    let (k, v) = pair(i)?;
                    m.insert(k, to_jsonb(&v, env.tz)?);
                }
                Value::Jsonb(serde_json::Value::Object(m))
            }
        }
    })
}

/// pgvector's `sum(vector)` (elementwise float additions, as its
/// `vector_add`) and `avg(vector)` (double accumulators, as its
/// `vector_accum`); NULL over no rows.
fn vector_sum_avg(avg: bool, inputs: &[Value]) -> ExecResult<Value> {
    let mut sum: Option<Vec<f32>> = None;
    let mut acc: Vec<f64> = Vec::new();
    for v in inputs {
        let Value::Vector(x) = v else { continue };
        match &mut sum {
            None => {
                acc = x.iter().map(|&f| f64::from(f)).collect();
                sum = Some(x.clone());
            }
            Some(s) => {
                if s.len() != x.len() {
                    return Err(crate::value::vector::data_exception(format!(
                        "expected {} dimensions, not {}",
                        s.len(),
                        x.len()
                    ))
                    .into());
                }
                *s = crate::value::vector::elementwise('+', s, x)?;
                for (a, &f) in acc.iter_mut().zip(x) {
                    *a += f64::from(f);
                }
            }
        }
    }
    let n = inputs.iter().filter(|v| !v.is_null()).count() as f64;
    Ok(match sum {
        None => Value::Null,
        Some(s) if !avg => Value::Vector(s),
        Some(_) => Value::Vector(crate::value::vector::from_numbers(
            acc.into_iter().map(|a| a / n).collect(),
            None,
        )?),
    })
}
