//! Planning a tree of inner joins under a WHERE clause (`FROM a, b, c
//! WHERE ...` and chains of `[INNER|CROSS] JOIN`).
//!
//! The binder builds such a FROM list as cartesian products with the WHERE
//! clause filtered on top, which holds the product of all the tables in
//! memory. Here the tree is flattened into its leaves and the conjuncts of
//! every condition: a conjunct that reads one leaf filters that leaf (where
//! it may pick an index), one that reads several becomes a join condition
//! (a hash join key when it is an equality between the two sides) at the
//! first join where all its leaves are present. The leaves are joined in a
//! greedy order: start from the smallest estimated leaf, then always join
//! a leaf connected to what is joined by a condition, the smallest first;
//! a cartesian product only when no leaf is connected. A projection puts
//! the columns back in FROM order, so nothing above sees the difference.
//!
//! Invariant: the rewritten plan returns the same rows as the original
//! (inner joins and filters commute); only conjuncts whose columns can be
//! tracked move (not subqueries, see [`visit_cols`]).

use super::from::make_join;
use super::optimize::{optimize, IndexLookup};
use super::{map_cols, plan_columns, split_and, visit_cols, BExpr, Column, JoinType, Plan};
use crate::sql::parse::ast::BinOp;

/// More leaves than this are joined in FROM order (the bitmasks below).
const MAX_LEAVES: usize = 64;

/// The output width of a plan, when it can be told without the
/// statement's CTE plans.
fn width(plan: &Plan) -> Option<usize> {
    match plan {
        Plan::CteScan { .. } | Plan::WorkTable { .. } => None,
        Plan::Filter { input, .. }
        | Plan::Sort { input, .. }
        | Plan::Limit { input, .. }
        | Plan::Distinct { input, .. } => width(input),
        Plan::NestedLoop { left, right, .. }
        | Plan::Lateral { left, right, .. }
        | Plan::HashJoin { left, right, .. } => Some(width(left)? + width(right)?),
        Plan::SetOp { left, .. } => width(left),
        Plan::RecursiveCte { anchor, .. } => width(anchor),
        Plan::Truncate { keep, .. } => Some(*keep),
        Plan::ProjectSet { input, columns, .. } => Some(width(input)? + columns.len()),
        Plan::Aggregate { group, aggs, .. } => Some(group.len() + aggs.len()),
        other => Some(plan_columns(other, &[]).len()),
    }
}

fn is_inner_join(plan: &Plan) -> bool {
    matches!(
        plan,
        Plan::NestedLoop {
            kind: JoinType::Inner,
            ..
        } | Plan::HashJoin {
            kind: JoinType::Inner,
            ..
        }
    )
}

/// The widths of the leaves of an inner-join tree, in order; None when
/// one cannot be told.
fn leaf_widths(plan: &Plan, out: &mut Vec<usize>) -> Option<()> {
    match plan {
        Plan::NestedLoop { left, right, .. } | Plan::HashJoin { left, right, .. }
            if is_inner_join(plan) =>
        {
            leaf_widths(left, out)?;
            leaf_widths(right, out)
        }
        leaf => {
            out.push(width(leaf)?);
            Some(())
        }
    }
}

/// Moves the leaves of an inner-join tree into `leaves` and its join
/// conditions into `conjuncts`, with columns numbered over the whole tree
/// (`base` is where `plan`'s columns start).
fn flatten(plan: Plan, base: usize, leaves: &mut Vec<Plan>, conjuncts: &mut Vec<BExpr>) {
    let joined = is_inner_join(&plan);
    match plan {
        Plan::NestedLoop {
            left, right, cond, ..
        } if joined => {
            let lw = width(&left).expect("leaf_widths checked every width");
            flatten(*left, base, leaves, conjuncts);
            flatten(*right, base + lw, leaves, conjuncts);
            if let Some(c) = cond {
                split_and(map_cols(&c, &|i| i + base), conjuncts);
            }
        }
        Plan::HashJoin {
            left,
            right,
            left_keys,
            right_keys,
            residual,
            ..
        } if joined => {
            let lw = width(&left).expect("leaf_widths checked every width");
            flatten(*left, base, leaves, conjuncts);
            flatten(*right, base + lw, leaves, conjuncts);
            for (l, r) in left_keys.iter().zip(&right_keys) {
                conjuncts.push(BExpr::Binary(
                    BinOp::Eq,
                    Box::new(map_cols(l, &|i| i + base)),
                    Box::new(map_cols(r, &|i| i + base + lw)),
                ));
            }
            if let Some(c) = residual {
                split_and(map_cols(&c, &|i| i + base), conjuncts);
            }
        }
        leaf => leaves.push(leaf),
    }
}

/// A rough guess of the rows a leaf returns before its filters: enough to
/// prefer a table filtered by an equality over an unfiltered one.
fn base_rows(plan: &Plan) -> f64 {
    match plan {
        Plan::Unit => 1.0,
        Plan::Values { rows, .. } => rows.len() as f64,
        Plan::SystemScan { rows, .. } => rows.len() as f64,
        Plan::Filter { input, pred } => base_rows(input) * selectivity(pred),
        Plan::SeqScan {
            filter: Some(f), ..
        } => 1000.0 * selectivity(f),
        Plan::IndexScan { filter, .. } => 1000.0 * filter.as_ref().map_or(1.0, selectivity),
        Plan::Limit { .. } => 100.0,
        _ => 1000.0,
    }
}

/// The fraction of rows a condition keeps, by its shape.
fn selectivity(pred: &BExpr) -> f64 {
    match pred {
        BExpr::Binary(BinOp::And, a, b) => selectivity(a) * selectivity(b),
        BExpr::Binary(BinOp::Or, a, b) => (selectivity(a) + selectivity(b)).min(1.0),
        BExpr::Binary(BinOp::Eq, ..) | BExpr::IsNull(_, false) => 0.005,
        BExpr::InList {
            list,
            negated: false,
            ..
        } => (0.005 * list.len() as f64).min(0.5),
        BExpr::Binary(BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq, ..) => 0.33,
        BExpr::Like { negated: false, .. } => 0.1,
        _ => 0.5,
    }
}

/// Plans `Filter(pred)` over an inner-join tree `join`; see the module
/// documentation. Returns the plain filter when the tree cannot be
/// rewritten.
pub(super) fn plan_inner_joins(join: Plan, pred: BExpr, indexes: &mut IndexLookup) -> Plan {
    let mut widths = Vec::new();
    if leaf_widths(&join, &mut widths).is_none() || widths.len() > MAX_LEAVES {
        return Plan::Filter {
            input: Box::new(join),
            pred,
        };
    }
    let mut leaves = Vec::new();
    let mut conjuncts = Vec::new();
    split_and(pred, &mut conjuncts);
    flatten(join, 0, &mut leaves, &mut conjuncts);
    let offsets: Vec<usize> = widths
        .iter()
        .scan(0, |acc, w| {
            let start = *acc;
            *acc += w;
            Some(start)
        })
        .collect();
    let leaf_of = |col: usize| offsets.partition_point(|&o| o <= col) - 1;

    // Which leaves each conjunct reads; `None`: it must stay on top.
    let mut on_top: Vec<BExpr> = Vec::new();
    let mut leaf_filters: Vec<Vec<BExpr>> = vec![Vec::new(); leaves.len()];
    let mut join_conds: Vec<(u64, BExpr)> = Vec::new();
    for c in conjuncts {
        let mut mask = 0u64;
        let mut ok = true;
        visit_cols(&c, &mut |i| mask |= 1 << leaf_of(i), &mut ok);
        if !ok {
            on_top.push(c);
        } else if mask.count_ones() <= 1 {
            // A conjunct reading no column (a constant) filters the first
            // leaf, so a false one empties the join at once.
            let leaf = if mask == 0 {
                0
            } else {
                mask.trailing_zeros() as usize
            };
            leaf_filters[leaf].push(map_cols(&c, &|i| i - offsets[leaf]));
        } else {
            join_conds.push((mask, c));
        }
    }

    // Each leaf with its filters, optimised (an index may now serve it).
    let mut estimates = Vec::with_capacity(leaves.len());
    let mut planned: Vec<Option<Plan>> = Vec::with_capacity(leaves.len());
    for (leaf, filters) in leaves.into_iter().zip(leaf_filters) {
        let plan = match filters.into_iter().reduce(and) {
            Some(pred) => optimize(
                Plan::Filter {
                    input: Box::new(leaf),
                    pred,
                },
                indexes,
            ),
            None => leaf,
        };
        estimates.push(base_rows(&plan));
        planned.push(Some(plan));
    }

    // Greedy order: smallest first, then connected leaves, smallest first
    // (ties keep FROM order).
    let smallest = |candidates: &mut dyn Iterator<Item = usize>| {
        candidates.fold(None::<usize>, |best, i| match best {
            Some(b) if estimates[b] <= estimates[i] => Some(b),
            _ => Some(i),
        })
    };
    let n = planned.len();
    let first = smallest(&mut (0..n)).expect("a join has leaves");
    let mut order = vec![first];
    let mut joined: u64 = 1 << first;
    let mut new_offset = vec![0usize; n];
    let mut plan = planned[first].take().expect("each leaf is taken once");
    let mut width_so_far = widths[first];
    while order.len() < n {
        let unjoined = || (0..n).filter(|&i| joined & (1 << i) == 0);
        let connected = smallest(&mut unjoined().filter(|&i| {
            join_conds
                .iter()
                .any(|(m, _)| m & (1 << i) != 0 && m & joined != 0)
        }));
        let next = connected
            .or_else(|| smallest(&mut unjoined()))
            .expect("some leaf is left");
        new_offset[next] = width_so_far;
        joined |= 1 << next;
        // The conditions whose leaves are all joined now, renumbered to
        // the joined layout.
        let (ready, rest): (Vec<_>, Vec<_>) =
            join_conds.into_iter().partition(|(m, _)| m & !joined == 0);
        join_conds = rest;
        let cond = ready
            .into_iter()
            .map(|(_, c)| {
                map_cols(&c, &|i| {
                    let leaf = leaf_of(i);
                    new_offset[leaf] + (i - offsets[leaf])
                })
            })
            .reduce(and);
        let right = planned[next].take().expect("each leaf is taken once");
        plan = make_join(plan, right, JoinType::Inner, cond, width_so_far);
        width_so_far += widths[next];
        order.push(next);
    }

    if order.iter().enumerate().any(|(pos, &leaf)| pos != leaf) {
        let columns: Vec<Column> = plan_columns(&plan, &[]);
        let back: Vec<usize> = (0..width_so_far)
            .map(|i| {
                let leaf = leaf_of(i);
                new_offset[leaf] + (i - offsets[leaf])
            })
            .collect();
        plan = Plan::Project {
            input: Box::new(plan),
            exprs: back.iter().map(|&j| BExpr::Col(j)).collect(),
            columns: back.iter().map(|&j| columns[j].clone()).collect(),
        };
    }
    match on_top.into_iter().reduce(and) {
        Some(pred) => Plan::Filter {
            input: Box::new(plan),
            pred,
        },
        None => plan,
    }
}

fn and(a: BExpr, b: BExpr) -> BExpr {
    BExpr::Binary(BinOp::And, Box::new(a), Box::new(b))
}
