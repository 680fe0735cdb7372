//! Nested-loop and hash joins.

use std::collections::HashMap;

use super::eval::{eval, passes};
use super::{Env, ExecResult, Row, RowBudget};
use crate::sql::plan::{BExpr, JoinType};
use crate::value::compare::HashableValue;
use crate::value::Value;

/// `row` with `before` NULLs in front and `after` behind (outer joins).
pub(super) fn null_extended(row: &[Value], before: usize, after: usize) -> Row {
    let mut out = Vec::with_capacity(before + row.len() + after);
    out.resize(before, Value::Null);
    out.extend_from_slice(row);
    out.resize(before + row.len() + after, Value::Null);
    out
}

pub(super) fn join_rows(
    left: Vec<Row>,
    right: Vec<Row>,
    kind: JoinType,
    lwidth: usize,
    rwidth: usize,
    env: &mut Env,
    mut matches: impl FnMut(&[Value], &[Value], &mut Env) -> ExecResult<bool>,
) -> ExecResult<Vec<Row>> {
    let mut out = Vec::new();
    let mut budget = RowBudget::new();
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
                budget.charge(&row, env)?;
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
pub(super) fn hash_join(
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
    let mut budget = RowBudget::new();
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
                    budget.charge(&row, env)?;
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
