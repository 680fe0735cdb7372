//! Executing plans and evaluating bound expressions.
//!
//! Plans run to completion and return their rows (materialised): the
//! engine is single-threaded and statements are short; the one statement
//! kind that may pause (DML waiting for a row lock) keeps its own state in
//! the engine instead of pausing here.

mod advisory;
mod aggregate;
mod cursor;
mod eval;
mod filter;
pub mod interrupt;
mod join;
mod scan;

use aggregate::aggregate;
pub use cursor::PlanCursor;
pub use eval::{binop, eval, passes, truth};
use join::{hash_join, join_rows};
pub use scan::{decode_table_row, stored_types, tid_value, value_tid};
use scan::{scan_heap, scan_index};

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::error::{Error, SqlError, SqlState};
use crate::pager::Pager;
use crate::sql::parse::ast::SetOp;
use crate::sql::plan::explain::NodeStats;
use crate::sql::plan::{BExpr, Plan, SortKey, SrfCall, SrfFunc};
use crate::txn::{Snapshot, TxnManager, Viewer, Xid};
use crate::value::cast::cast_explicit;
use crate::value::compare::HashableValue;
use crate::value::types::DataType;
use crate::value::tz::TimeZone;
use crate::value::Value;

pub type Row = Vec<Value>;

/// SHOW for the statement's session: a setting's value by name.
pub type ShowSetting<'a> = dyn Fn(&str) -> Result<String, Error> + 'a;
pub type ExecResult<T> = Result<T, Error>;

/// Everything a running statement reads.
pub struct Env<'a> {
    pub pager: &'a mut Pager,
    pub txns: &'a TxnManager,
    pub snapshot: &'a Snapshot,
    pub own: &'a crate::txn::XidSet,
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
    /// The catalog, for the functions that read it at run time
    /// (`pg_get_serial_sequence` of a column); None where expressions
    /// cannot call them (index keys).
    pub catalog: Option<&'a crate::catalog::Catalog>,
    /// The session's settings as SHOW reads them, for `current_setting`
    /// of a name known at run time; None where there is no session.
    pub show: Option<&'a ShowSetting<'a>>,
    /// EXPLAIN ANALYZE: per-node statistics, keyed by node address.
    pub stats: Option<HashMap<*const Plan, NodeStats>>,
    /// Microsecond clock for EXPLAIN ANALYZE timings.
    pub clock: fn() -> i64,
    /// Cancel requests and statement_timeout: ticked per row and per
    /// expression evaluated.
    pub interrupts: &'a crate::sql::exec::interrupt::Interrupts,
    /// The session's HNSW scan settings.
    pub hnsw: crate::access::hnsw::ScanSettings,
    /// The session running the statement (advisory locks are its).
    pub session: crate::txn::SessionId,
    /// SERIALIZABLE: what the statement reads, for SSI (the engine
    /// records it when the statement's plan has run).
    pub ssi: Option<SsiReads>,
    /// WARNINGs and NOTICEs raised (the session's queue).
    pub notices: &'a mut Vec<crate::error::Notice>,
    /// `pg_notify` calls of the statement, for the engine to queue in
    /// the transaction if the statement succeeds.
    pub notifies: Vec<crate::txn::AsyncAction>,
    /// The last other transaction whose commit `visible` asked the
    /// snapshot about, and the answer (final for a given snapshot).
    pub seen_commit: Option<(Xid, bool)>,
}

/// What a SERIALIZABLE statement read: SIREAD lock targets, and the xids
/// of concurrent transactions whose changes it did not see.
#[derive(Debug, Default)]
pub struct SsiReads {
    pub targets: Vec<crate::txn::ssi::Target>,
    pub writers: Vec<Xid>,
}

impl Env<'_> {
    /// Is this tuple version visible to the running statement? Under SSI,
    /// a version changed by a concurrent transaction is noted as a
    /// conflict out, whether it is visible or not.
    pub fn visible(&mut self, h: &crate::heap::TupleHeader) -> ExecResult<bool> {
        let viewer = Viewer {
            snapshot: self.snapshot,
            own: self.own,
            cid: self.cid,
        };
        if let Some(reads) = &mut self.ssi {
            if let Some(w) = self.txns.concurrent_writer(self.pager, &viewer, h)? {
                if reads.writers.last() != Some(&w) {
                    reads.writers.push(w);
                }
            }
        }
        let (txns, pager, snapshot, memo) = (
            self.txns,
            &mut *self.pager,
            self.snapshot,
            &mut self.seen_commit,
        );
        Ok(viewer.visible_with(h, |xid| match *memo {
            Some((x, seen)) if x == xid => Ok(seen),
            _ => {
                let seen = snapshot.sees_commit_of(txns, pager, xid)?;
                *memo = Some((xid, seen));
                Ok(seen)
            }
        })?)
    }

    /// Under SSI, notes a SIREAD lock target.
    pub fn read_target(&mut self, t: impl FnOnce() -> crate::txn::ssi::Target) {
        if let Some(reads) = &mut self.ssi {
            reads.targets.push(t());
        }
    }
}

/// The bytes of rows one plan node has built up. Every node that can make
/// more rows than it reads (joins, set-returning functions, recursion) or
/// that holds a table's rows charges each row it keeps; past the
/// statement's limit (`neuraldb.max_query_memory`) the statement fails
/// with 53200, so a runaway query ends as an error instead of taking the
/// process and every other session down. Per node, not per statement: a
/// correlated subquery that runs many times does not add up.
pub struct RowBudget {
    used: usize,
}

impl RowBudget {
    pub fn new() -> RowBudget {
        RowBudget { used: 0 }
    }

    #[inline]
    pub fn charge(&mut self, row: &[Value], env: &Env) -> ExecResult<()> {
        self.used = self.used.saturating_add(row_bytes(row));
        if self.used > env.interrupts.memory_limit() {
            return Err(Error::Sql(
                SqlError::new(SqlState::OUT_OF_MEMORY, "out of memory").with_detail(format!(
                    "A plan node of the query needs more than neuraldb.max_query_memory ({} MB) for its rows.",
                    env.interrupts.memory_limit() >> 20
                )),
            ));
        }
        Ok(())
    }
}

impl Default for RowBudget {
    fn default() -> Self {
        RowBudget::new()
    }
}

/// About the bytes a row takes in memory: its values plus what they own.
pub fn row_bytes(row: &[Value]) -> usize {
    std::mem::size_of::<Row>()
        + row
            .iter()
            .map(|v| std::mem::size_of::<Value>() + v.heap_bytes())
            .sum::<usize>()
}

fn err(code: SqlState, msg: impl Into<String>) -> Error {
    Error::Sql(SqlError::new(code, msg))
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

/// The rows of a select list's set-returning function for input row `row`.
fn srf_values(f: &SrfCall, row: &[Value], env: &mut Env) -> ExecResult<Vec<Value>> {
    let mut args = Vec::with_capacity(f.args.len());
    for a in &f.args {
        args.push(eval(a, row, env)?);
    }
    let array = |v: &Value| -> ExecResult<Option<Vec<Value>>> {
        match v {
            Value::Null => Ok(None),
            Value::Array(items) => Ok(Some(items.clone())),
            other => Err(err(
                SqlState::DATATYPE_MISMATCH,
                format!(
                    "argument of {:?} must be an array, not {}",
                    f.func,
                    other.data_type()
                ),
            )),
        }
    };
    let int = |v: &Value| -> ExecResult<Option<i64>> {
        match v {
            Value::Null => Ok(None),
            v => match cast_explicit(v.clone(), &DataType::Int8, env.tz)? {
                Value::Int8(x) => Ok(Some(x)),
                _ => Err(err(SqlState::DATATYPE_MISMATCH, "an integer is needed")),
            },
        }
    };
    Ok(match f.func {
        SrfFunc::Unnest => {
            fn flatten(items: Vec<Value>, out: &mut Vec<Value>) {
                for v in items {
                    match v {
                        Value::Array(inner) => flatten(inner, out),
                        other => out.push(other),
                    }
                }
            }
            let mut out = Vec::new();
            if let Some(items) = array(&args[0])? {
                flatten(items, &mut out);
            }
            out
        }
        SrfFunc::GenerateSubscripts => {
            let (Some(items), Some(dim)) = (array(&args[0])?, int(&args[1])?) else {
                return Ok(Vec::new());
            };
            // The length of dimension `dim` (1-based): follow first elements.
            let mut level = Some(&items);
            for _ in 1..dim.max(1) {
                level = match level.and_then(|l| l.first()) {
                    Some(Value::Array(inner)) => Some(inner),
                    _ => None,
                };
            }
            let len = if dim < 1 {
                0
            } else {
                level.map_or(0, Vec::len)
            };
            let reverse = matches!(args.get(2), Some(Value::Bool(true)));
            let mut subs: Vec<Value> = (1..=len as i32).map(Value::Int4).collect();
            if reverse {
                subs.reverse();
            }
            subs
        }
        SrfFunc::GenerateSeries => {
            let narrow = args
                .iter()
                .all(|a| matches!(a, Value::Int2(_) | Value::Int4(_) | Value::Null));
            let mut bounds = Vec::new();
            for a in &args {
                match int(a)? {
                    Some(x) => bounds.push(x),
                    None => return Ok(Vec::new()),
                }
            }
            let (start, stop) = (bounds[0], bounds[1]);
            let step = bounds.get(2).copied().unwrap_or(1);
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
                out.push(if narrow {
                    Value::Int4(i as i32)
                } else {
                    Value::Int8(i)
                });
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
            out
        }
        SrfFunc::JsonArrayElements { text, .. } => {
            let scalar = |what: &str| {
                err(
                    SqlState::INVALID_PARAMETER_VALUE,
                    format!("cannot extract elements from {what}"),
                )
            };
            match &args[0] {
                Value::Null => Vec::new(),
                Value::Jsonb(serde_json::Value::Array(items)) => items
                    .iter()
                    .map(|j| match (text, crate::value::json::as_text(j)) {
                        (true, None) => Value::Null,
                        (true, Some(s)) => Value::Text(s),
                        (false, _) => Value::Jsonb(j.clone()),
                    })
                    .collect(),
                Value::Jsonb(serde_json::Value::Object(_)) => return Err(scalar("an object")),
                Value::Jsonb(_) => return Err(scalar("a scalar")),
                Value::Json(s) => {
                    use crate::value::json_text::{parse_json, JsonNode};
                    match parse_json(s)? {
                        JsonNode::Array { items, .. } => items
                            .iter()
                            .map(|n| match (text, n.as_text()) {
                                (true, None) => Value::Null,
                                (true, Some(t)) => Value::Text(t),
                                (false, _) => Value::Json(n.raw().into()),
                            })
                            .collect(),
                        JsonNode::Object { .. } => return Err(scalar("an object")),
                        _ => return Err(scalar("a scalar")),
                    }
                }
                other => {
                    return Err(err(
                        SqlState::DATATYPE_MISMATCH,
                        format!("expected json, got {}", other.data_type()),
                    ))
                }
            }
        }
    })
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
            args,
            ordinality,
            column,
        } => {
            let narrow = column.ty == DataType::Int4;
            let value = |i: i64| {
                if narrow {
                    Value::Int4(i as i32)
                } else {
                    Value::Int8(i)
                }
            };
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
            let mut budget = RowBudget::new();
            let mut i = start;
            while (step > 0 && i <= stop) || (step < 0 && i >= stop) {
                env.interrupts.tick()?;
                let row = if *ordinality {
                    vec![value(i), Value::Int8(out.len() as i64 + 1)]
                } else {
                    vec![value(i)]
                };
                budget.charge(&row, env)?;
                out.push(row);
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
            needed,
        } => scan_heap(table, filter.as_ref(), *with_tid, needed.as_deref(), env),
        Plan::IndexScan {
            table,
            index,
            bounds,
            reverse,
            filter,
            with_tid,
            stop_after,
            needed,
        } => scan_index(
            table,
            index,
            bounds,
            *reverse,
            filter.as_ref(),
            *with_tid,
            stop_after.as_ref(),
            needed.as_deref(),
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
            let mut budget = RowBudget::new();
            for r in rows {
                let mut o = Vec::with_capacity(exprs.len());
                for e in exprs {
                    o.push(eval(e, &r, env)?);
                }
                budget.charge(&o, env)?;
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
        Plan::ProjectSet { input, srfs, .. } => {
            let rows = run(input, env)?;
            let mut out = Vec::new();
            let mut budget = RowBudget::new();
            for r in rows {
                let mut sets = Vec::with_capacity(srfs.len());
                for f in srfs {
                    sets.push(srf_values(f, &r, env)?);
                }
                let n = sets.iter().map(Vec::len).max().unwrap_or(0);
                for k in 0..n {
                    env.interrupts.tick()?;
                    let mut row = r.clone();
                    row.extend(
                        sets.iter()
                            .map(|s| s.get(k).cloned().unwrap_or(Value::Null)),
                    );
                    budget.charge(&row, env)?;
                    out.push(row);
                }
            }
            Ok(out)
        }
        Plan::NestedLoop {
            left,
            right,
            kind,
            cond,
        } => {
            let l = run(left, env)?;
            let r = run(right, env)?;
            let rwidth = crate::sql::plan::plan_columns(right, env.cte_plans).len();
            let lwidth = crate::sql::plan::plan_columns(left, env.cte_plans).len();
            join_rows(l, r, *kind, lwidth, rwidth, env, |lr, rr, env| match cond {
                Some(c) => {
                    let mut row = lr.to_vec();
                    row.extend_from_slice(rr);
                    passes(c, &row, env)
                }
                None => Ok(true),
            })
        }
        Plan::Lateral {
            left,
            right,
            kind,
            cond,
        } => {
            let l = run(left, env)?;
            let rwidth = crate::sql::plan::plan_columns(right, env.cte_plans).len();
            let mut out = Vec::new();
            let mut budget = RowBudget::new();
            for lr in l {
                // The right side reads this row as its innermost outer row;
                // its rows are dropped once joined, so memory stays that of
                // one evaluation (plus the output).
                env.outer.push(lr.clone());
                let rows = run(right, env);
                env.outer.pop();
                let mut any = false;
                for rr in rows? {
                    env.interrupts.tick()?;
                    let mut row = lr.clone();
                    row.extend(rr);
                    if match cond {
                        Some(c) => passes(c, &row, env)?,
                        None => true,
                    } {
                        any = true;
                        budget.charge(&row, env)?;
                        out.push(row);
                    }
                }
                if !any && *kind == crate::sql::plan::JoinType::Left {
                    out.push(join::null_extended(&lr, 0, rwidth));
                }
            }
            Ok(out)
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
            let rwidth = crate::sql::plan::plan_columns(right, env.cte_plans).len();
            let lwidth = crate::sql::plan::plan_columns(left, env.cte_plans).len();
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
            // Over a table scan, rows stream into the aggregates (EXPLAIN
            // ANALYZE runs the scan as a node of its own, for its stats).
            if env.stats.is_none() {
                if let Some(rows) = aggregate::aggregate_scan(input, group, aggs, env)? {
                    return Ok(rows);
                }
            }
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
            let mut budget = RowBudget::new();
            for r in &result {
                budget.charge(r, env)?;
            }
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
                for r in &next {
                    budget.charge(r, env)?;
                }
                result.extend(next.iter().cloned());
                work = next;
            }
            env.work_tables.remove(id);
            Ok(result)
        }
    }
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
