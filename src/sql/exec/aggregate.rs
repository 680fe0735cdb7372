//! Aggregation: grouping and the aggregate functions.

use std::collections::{HashMap, HashSet};

use super::eval::{binop, eval, passes, text_of, truth};
use super::scan::{scan_heap_into, scan_index_into};
use super::{sort_rows, Env, ExecResult, Row, RowBudget};
use crate::error::{Error, SqlError, SqlState};

/// The largest text an aggregate builds (PostgreSQL's 1 GB field limit).
const MAX_VALUE_BYTES: usize = (1 << 30) - 1;
use crate::sql::parse::ast::BinOp;
use crate::sql::plan::{visit_cols, AggCall, AggFunc, BExpr, Plan, SortKey};
use crate::value::cast::{cast_explicit, to_jsonb};
use crate::value::compare::HashableValue;
use crate::value::json_text;
use crate::value::{DataType, Value};

/// Per-group, per-aggregate accumulated inputs.
pub(super) struct AggState {
    /// Argument tuples that passed the FILTER (with their sort keys).
    inputs: Vec<(Vec<Value>, Vec<Value>)>,
    count: i64,
    /// Integer inputs of count/sum/avg (without DISTINCT or ORDER BY)
    /// summed and counted as they come instead of kept in `inputs`.
    int_sum: i128,
    int_n: i64,
}

impl AggState {
    fn new() -> Self {
        AggState {
            inputs: Vec::new(),
            count: 0,
            int_sum: 0,
            int_n: 0,
        }
    }
}

/// Can `a` add up integer inputs as they come? (count, and sum/avg whose
/// accumulator is bigint or unconstrained numeric.)
fn streams_integers(a: &AggCall) -> bool {
    if a.distinct || !a.order_by.is_empty() || a.args.len() != 1 {
        return false;
    }
    match a.func {
        AggFunc::Count => true,
        AggFunc::Sum | AggFunc::Avg => matches!(a.ty, DataType::Int8 | DataType::Numeric(None)),
        _ => false,
    }
}

/// Grouping and aggregation fed one input row at a time.
pub(super) struct Aggregator<'p> {
    group: &'p [BExpr],
    aggs: &'p [AggCall],
    streams: Vec<bool>,
    order: Vec<Vec<HashableValue>>,
    groups: HashMap<Vec<HashableValue>, (Row, Vec<AggState>)>,
    /// Without GROUP BY: the one group's states.
    single: Vec<AggState>,
    /// The inputs kept for aggregates that need them all (string_agg,
    /// array_agg, DISTINCT, ORDER BY...).
    budget: RowBudget,
}

impl<'p> Aggregator<'p> {
    pub(super) fn new(group: &'p [BExpr], aggs: &'p [AggCall]) -> Self {
        Aggregator {
            group,
            aggs,
            streams: aggs.iter().map(streams_integers).collect(),
            order: Vec::new(),
            groups: HashMap::new(),
            single: if group.is_empty() {
                aggs.iter().map(|_| AggState::new()).collect()
            } else {
                Vec::new()
            },
            budget: RowBudget::new(),
        }
    }

    pub(super) fn feed(&mut self, r: &[Value], env: &mut Env) -> ExecResult<()> {
        let states = if self.group.is_empty() {
            &mut self.single
        } else {
            let mut gvals = Vec::with_capacity(self.group.len());
            for g in self.group {
                gvals.push(eval(g, r, env)?);
            }
            let key: Vec<HashableValue> = gvals.iter().map(|v| v.group_key()).collect();
            if !self.groups.contains_key(&key) {
                self.order.push(key.clone());
                let states = self.aggs.iter().map(|_| AggState::new()).collect();
                self.groups.insert(key.clone(), (gvals, states));
            }
            &mut self.groups.get_mut(&key).expect("inserted above").1
        };
        for ((a, st), streams) in self.aggs.iter().zip(states.iter_mut()).zip(&self.streams) {
            if let Some(f) = &a.filter {
                if !passes(f, r, env)? {
                    continue;
                }
            }
            if a.func == AggFunc::CountStar {
                st.count += 1;
                continue;
            }
            if *streams {
                let v = eval(&a.args[0], r, env)?;
                match v {
                    Value::Null => {}
                    Value::Int2(x) => {
                        st.int_sum += i128::from(x);
                        st.int_n += 1;
                    }
                    Value::Int4(x) => {
                        st.int_sum += i128::from(x);
                        st.int_n += 1;
                    }
                    Value::Int8(x) => {
                        st.int_sum += i128::from(x);
                        st.int_n += 1;
                    }
                    _ if a.func == AggFunc::Count => st.int_n += 1,
                    other => st.inputs.push((vec![other], Vec::new())),
                }
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
            self.budget.charge(&args, env)?;
            st.inputs.push((args, sort));
        }
        Ok(())
    }

    pub(super) fn finish(mut self, env: &mut Env) -> ExecResult<Vec<Row>> {
        // No GROUP BY: one row even over no input.
        if self.group.is_empty() {
            let mut row = Vec::with_capacity(self.aggs.len());
            for (a, st) in self.aggs.iter().zip(self.single) {
                row.push(finish_aggregate(a, st, env)?);
            }
            return Ok(vec![row]);
        }
        let mut out = Vec::with_capacity(self.order.len());
        for key in self.order {
            let (gvals, states) = self.groups.remove(&key).expect("every key has a group");
            let mut row = gvals;
            for (a, st) in self.aggs.iter().zip(states) {
                row.push(finish_aggregate(a, st, env)?);
            }
            out.push(row);
        }
        Ok(out)
    }
}

pub(super) fn aggregate(
    rows: Vec<Row>,
    group: &[BExpr],
    aggs: &[AggCall],
    env: &mut Env,
) -> ExecResult<Vec<Row>> {
    let mut agg = Aggregator::new(group, aggs);
    for r in &rows {
        agg.feed(r, env)?;
    }
    agg.finish(env)
}

/// Aggregation straight over a table scan, without materialising the
/// scan's rows and decoding only the columns the filter and the
/// aggregates read. `None` for other inputs (and for expressions whose
/// columns cannot be tracked).
pub(super) fn aggregate_scan(
    input: &Plan,
    group: &[BExpr],
    aggs: &[AggCall],
    env: &mut Env,
) -> ExecResult<Option<Vec<Row>>> {
    let (table, filter) = match input {
        Plan::SeqScan { table, filter, .. } | Plan::IndexScan { table, filter, .. } => {
            (table, filter)
        }
        _ => return Ok(None),
    };
    let mut needed = vec![false; table.columns.len()];
    let mut ok = true;
    {
        let mut mark = |c: usize| {
            if let Some(n) = needed.get_mut(c) {
                *n = true;
            }
        };
        let exprs = group
            .iter()
            .chain(filter.iter())
            .chain(aggs.iter().flat_map(|a| {
                a.args
                    .iter()
                    .chain(a.filter.iter())
                    .chain(a.order_by.iter().map(|k| &k.expr))
            }));
        for e in exprs {
            visit_cols(e, &mut mark, &mut ok);
        }
    }
    if !ok {
        return Ok(None);
    }
    let mut agg = Aggregator::new(group, aggs);
    let mut sink = |row: &mut Row, env: &mut Env| agg.feed(row, env).map(|()| true);
    match input {
        Plan::SeqScan {
            table,
            filter,
            with_tid,
            ..
        } => scan_heap_into(
            table,
            filter.as_ref(),
            *with_tid,
            Some(&needed),
            env,
            &mut sink,
        )?,
        Plan::IndexScan {
            table,
            index,
            bounds,
            reverse,
            filter,
            with_tid,
            stop_after,
            ..
        } => scan_index_into(
            table,
            index,
            bounds,
            *reverse,
            filter.as_ref(),
            *with_tid,
            stop_after.as_ref(),
            Some(&needed),
            env,
            &mut sink,
        )?,
        _ => return Ok(None),
    }
    agg.finish(env).map(Some)
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
        AggFunc::Count => Value::Int8(inputs.len() as i64 + st.int_n),
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
            if inputs.is_empty() && st.int_n == 0 {
                return Ok(Value::Null);
            }
            let acc_ty = match (&a.func, &a.ty) {
                (AggFunc::Avg, DataType::Numeric(_)) => DataType::Numeric(None),
                (_, t) => t.clone(),
            };
            // The integers added up as they came, then the other inputs.
            let mut acc: Option<Value> = if st.int_n > 0 {
                Some(int_sum_value(st.int_sum, &acc_ty, env)?)
            } else {
                None
            };
            let count = inputs.len() + st.int_n as usize;
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
                    DataType::Interval => Value::Float8(count as f64),
                    DataType::Numeric(_) => {
                        cast_explicit(Value::Int8(count as i64), &acc_ty, env.tz)?
                    }
                    _ => Value::Float8(count as f64),
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
                // PostgreSQL's limit on a string buffer.
                if s.len() >= MAX_VALUE_BYTES {
                    return Err(Error::Sql(
                        SqlError::new(SqlState::OUT_OF_MEMORY, "out of memory").with_detail(
                            format!("Cannot enlarge string buffer containing {} bytes.", s.len()),
                        ),
                    ));
                }
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

/// An integer sum as a value of the accumulator type (bigint or numeric).
fn int_sum_value(sum: i128, acc_ty: &DataType, env: &mut Env) -> ExecResult<Value> {
    match (i64::try_from(sum), acc_ty) {
        (Ok(x), DataType::Int8) => Ok(Value::Int8(x)),
        (Err(_), DataType::Int8) => Err(crate::value::ops::int_out_of_range(64).into()),
        (Ok(x), t) => Ok(cast_explicit(Value::Int8(x), t, env.tz)?),
        (Err(_), _) => Ok(Value::Numeric(crate::value::numeric::parse_numeric(
            &sum.to_string(),
        )?)),
    }
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
