//! Rule-based rewrites after binding: a filtered heap scan becomes an index
//! scan when the filter pins a prefix of an index's columns with equalities
//! (and optionally a range on the next column). The whole predicate is
//! still re-checked on every row, so the index only narrows the candidates.

use std::rc::Rc;

use super::index_keys::PlanIndex;
use super::{same_expr, split_and, visit_cols, BExpr, IndexBounds, JoinType, Plan};
use crate::access::{self, ScanShape};
use crate::catalog::{IndexDef, IndexMethod, TableDef};
use crate::sql::parse::ast::BinOp;
use crate::value::types::DataType;
use crate::value::vector::Metric;
use crate::value::Value;

pub type IndexLookup<'a> = dyn FnMut(&TableDef) -> Vec<PlanIndex> + 'a;

/// Whether the query's conjuncts imply a partial index's predicate (each
/// of its conjuncts is one of them), so every row the query wants has an
/// entry.
fn covers_keys(keys: &super::index_keys::IndexKeys, conjuncts: &[BExpr]) -> bool {
    let Some(p) = &keys.predicate else {
        return true;
    };
    let mut wanted = Vec::new();
    split_and(p.clone(), &mut wanted);
    wanted
        .iter()
        .all(|w| conjuncts.iter().any(|c| same_expr(c, w)))
}

/// The conjuncts of an optional filter.
fn conjuncts_of(filter: &Option<BExpr>) -> Vec<BExpr> {
    let mut out = Vec::new();
    if let Some(f) = filter {
        split_and(f.clone(), &mut out);
    }
    out
}

pub fn optimize(plan: Plan, indexes: &mut IndexLookup) -> Plan {
    let plan = map_children(plan, indexes);
    let plan = ordered_limit(plan, indexes);
    match plan {
        Plan::Filter { input, pred } => match *input {
            Plan::SeqScan {
                table,
                filter: None,
                with_tid,
                ..
            } => match choose_index(&table, &pred, indexes) {
                Some((index, bounds)) => Plan::IndexScan {
                    table,
                    index,
                    bounds,
                    reverse: false,
                    filter: Some(pred),
                    with_tid,
                    stop_after: None,
                    needed: None,
                },
                None => Plan::SeqScan {
                    table,
                    filter: Some(pred),
                    with_tid,
                    needed: None,
                },
            },
            // Filters over filters (a view's WHERE and the query's) are one
            // filter, so an index can serve both.
            Plan::SeqScan {
                table,
                filter: Some(f),
                with_tid,
                ..
            } => optimize(
                Plan::Filter {
                    input: Box::new(Plan::SeqScan {
                        table,
                        filter: None,
                        with_tid,
                        needed: None,
                    }),
                    pred: and(f, pred),
                },
                indexes,
            ),
            // An index scan chosen for an inner filter (its filter is that
            // whole predicate) is chosen again with this one too.
            Plan::IndexScan {
                table,
                filter: Some(f),
                with_tid,
                bounds,
                stop_after: None,
                reverse: false,
                ..
            } if bounds.nearest.is_none() => optimize(
                Plan::Filter {
                    input: Box::new(Plan::SeqScan {
                        table,
                        filter: None,
                        with_tid,
                        needed: None,
                    }),
                    pred: and(f, pred),
                },
                indexes,
            ),
            Plan::Filter { input, pred: inner } => optimize(
                Plan::Filter {
                    input,
                    pred: and(inner, pred),
                },
                indexes,
            ),
            Plan::Project {
                input,
                exprs,
                columns,
            } => push_through_project(*input, exprs, columns, pred, indexes),
            join @ (Plan::NestedLoop {
                kind: JoinType::Inner,
                ..
            }
            | Plan::HashJoin {
                kind: JoinType::Inner,
                ..
            }) => super::join_order::plan_inner_joins(join, pred, indexes),
            other => Plan::Filter {
                input: Box::new(other),
                pred,
            },
        },
        other => other,
    }
}

fn and(a: BExpr, b: BExpr) -> BExpr {
    BExpr::Binary(BinOp::And, Box::new(a), Box::new(b))
}

/// A filter over a projection (a view or subquery in FROM): the conjuncts
/// that read only columns the projection passes through unchanged move
/// below it, where they may meet an index; the others stay above.
fn push_through_project(
    input: Plan,
    exprs: Vec<BExpr>,
    columns: Vec<super::Column>,
    pred: BExpr,
    indexes: &mut IndexLookup,
) -> Plan {
    let mut conjuncts = Vec::new();
    split_and(pred, &mut conjuncts);
    let mut pushed: Option<BExpr> = None;
    let mut kept: Option<BExpr> = None;
    for c in conjuncts {
        let mut ok = true;
        let mut passes = true;
        visit_cols(
            &c,
            &mut |i| passes &= matches!(exprs.get(i), Some(BExpr::Col(_))),
            &mut ok,
        );
        if ok && passes {
            let below = super::map_cols(&c, &|i| match exprs.get(i) {
                Some(BExpr::Col(j)) => *j,
                _ => i,
            });
            pushed = Some(match pushed {
                Some(p) => and(p, below),
                None => below,
            });
        } else {
            kept = Some(match kept {
                Some(k) => and(k, c),
                None => c,
            });
        }
    }
    let input = match pushed {
        Some(p) => optimize(
            Plan::Filter {
                input: Box::new(input),
                pred: p,
            },
            indexes,
        ),
        None => input,
    };
    let project = Plan::Project {
        input: Box::new(input),
        exprs,
        columns,
    };
    match kept {
        Some(k) => Plan::Filter {
            input: Box::new(project),
            pred: k,
        },
        None => project,
    }
}

fn map_children(plan: Plan, ix: &mut IndexLookup) -> Plan {
    let mut o = |p: Box<Plan>| Box::new(optimize(*p, ix));
    match plan {
        Plan::Filter { input, pred } => Plan::Filter {
            input: o(input),
            pred,
        },
        Plan::Project {
            input,
            exprs,
            columns,
        } => Plan::Project {
            input: o(input),
            exprs,
            columns,
        },
        Plan::NestedLoop {
            left,
            right,
            kind,
            cond,
        } => {
            let left = o(left);
            Plan::NestedLoop {
                left,
                right: o(right),
                kind,
                cond,
            }
        }
        Plan::Lateral {
            left,
            right,
            kind,
            cond,
        } => {
            let left = o(left);
            Plan::Lateral {
                left,
                right: o(right),
                kind,
                cond,
            }
        }
        Plan::HashJoin {
            left,
            right,
            kind,
            left_keys,
            right_keys,
            residual,
        } => {
            let left = o(left);
            Plan::HashJoin {
                left,
                right: o(right),
                kind,
                left_keys,
                right_keys,
                residual,
            }
        }
        Plan::Aggregate { input, group, aggs } => Plan::Aggregate {
            input: o(input),
            group,
            aggs,
        },
        Plan::Sort { input, keys } => Plan::Sort {
            input: o(input),
            keys,
        },
        Plan::Limit {
            input,
            limit,
            offset,
        } => Plan::Limit {
            input: o(input),
            limit,
            offset,
        },
        Plan::Distinct { input, on } => Plan::Distinct {
            input: o(input),
            on,
        },
        Plan::SetOp {
            op,
            all,
            left,
            right,
        } => {
            let left = o(left);
            Plan::SetOp {
                op,
                all,
                left,
                right: o(right),
            }
        }
        Plan::RecursiveCte {
            id,
            anchor,
            step,
            all,
        } => {
            let anchor = o(anchor);
            Plan::RecursiveCte {
                id,
                anchor,
                step: o(step),
                all,
            }
        }
        Plan::Truncate { input, keep } => Plan::Truncate {
            input: o(input),
            keep,
        },
        Plan::ProjectSet {
            input,
            srfs,
            columns,
        } => Plan::ProjectSet {
            input: o(input),
            srfs,
            columns,
        },
        other => other,
    }
}

/// An expression that does not depend on the scanned row, of a type whose
/// key encoding matches the column's.
fn constant_for(e: &BExpr, column_ty: &DataType) -> bool {
    let mut reads_row = false;
    let mut ok = true;
    visit_cols(e, &mut |_| reads_row = true, &mut ok);
    if reads_row || !ok {
        return false;
    }
    let ty = match e {
        BExpr::Const(Value::Null) => return true,
        BExpr::Const(v) => v.data_type(),
        BExpr::Param { ty, .. } | BExpr::Outer { ty, .. } => ty.clone(),
        BExpr::Cast(_, ty) => ty.clone(),
        _ => return false,
    };
    same_key_family(&ty, column_ty)
}

fn same_key_family(a: &DataType, b: &DataType) -> bool {
    a == b
        || (a.is_integer() && b.is_integer())
        || (a.is_string() && b.is_string())
        || matches!((a, b), (DataType::Numeric(_), DataType::Numeric(_)))
}

enum Cmp {
    Eq,
    Lower(bool),
    Upper(bool),
}

/// `(key, comparison, constant)` for conjuncts of the form `key op const`,
/// where `key` reads the row (a column, or an expression an index may
/// hold) and `const` does not.
fn key_comparison(c: &BExpr) -> Option<(BExpr, Cmp, BExpr)> {
    let BExpr::Binary(op, a, b) = c else {
        return None;
    };
    let reads_row = |e: &BExpr| {
        let mut reads = false;
        let mut ok = true;
        visit_cols(e, &mut |_| reads = true, &mut ok);
        reads && ok
    };
    let (key, other, flipped) = if reads_row(a) {
        (&**a, &**b, false)
    } else if reads_row(b) {
        (&**b, &**a, true)
    } else {
        return None;
    };
    let cmp = match (op, flipped) {
        (BinOp::Eq, _) => Cmp::Eq,
        (BinOp::Gt, false) | (BinOp::Lt, true) => Cmp::Lower(false),
        (BinOp::GtEq, false) | (BinOp::LtEq, true) => Cmp::Lower(true),
        (BinOp::Lt, false) | (BinOp::Gt, true) => Cmp::Upper(false),
        (BinOp::LtEq, false) | (BinOp::GtEq, true) => Cmp::Upper(true),
        _ => return None,
    };
    Some((key.clone(), cmp, other.clone()))
}

fn choose_index(
    table: &TableDef,
    pred: &BExpr,
    indexes: &mut IndexLookup,
) -> Option<(Rc<IndexDef>, IndexBounds)> {
    let mut conjuncts = Vec::new();
    split_and(pred.clone(), &mut conjuncts);
    let mut comparisons: Vec<(BExpr, Cmp, BExpr)> =
        conjuncts.iter().filter_map(key_comparison).collect();
    // `col LIKE 'abc%'` is the range ['abc', 'abd') (bytewise text order).
    for c in &conjuncts {
        if let BExpr::Like {
            expr,
            pattern,
            escape: None,
            negated: false,
            ci: false,
        } = c
        {
            if let (key @ BExpr::Col(_), BExpr::Const(Value::Text(p))) = (&**expr, &**pattern) {
                let prefix: String = p
                    .chars()
                    .take_while(|ch| !matches!(ch, '%' | '_' | '\\'))
                    .collect();
                let mut chars: Vec<char> = prefix.chars().collect();
                let Some(last) = chars.pop() else { continue };
                comparisons.push((
                    key.clone(),
                    Cmp::Lower(true),
                    BExpr::Const(Value::Text(prefix.clone())),
                ));
                if let Some(next) = char::from_u32(last as u32 + 1) {
                    chars.push(next);
                    comparisons.push((
                        key.clone(),
                        Cmp::Upper(false),
                        BExpr::Const(Value::Text(chars.into_iter().collect())),
                    ));
                }
            }
        }
    }
    let mut best: Option<(f64, Rc<IndexDef>, IndexBounds)> = None;
    for PlanIndex { def: idx, keys } in indexes(table) {
        if !access::capabilities(idx.method).range_scan || !covers_keys(&keys, &conjuncts) {
            continue;
        }
        let mut bounds = IndexBounds::default();
        for (k, key) in keys.keys.iter().enumerate() {
            let ty = &keys.types[k];
            let eq = comparisons.iter().find(|(c, cmp, e)| {
                same_expr(c, key) && matches!(cmp, Cmp::Eq) && constant_for(e, ty)
            });
            if let Some((_, _, e)) = eq {
                bounds.eq.push(e.clone());
                continue;
            }
            // A range on this column ends the usable prefix (ASC columns only).
            if !idx.desc[k] {
                for (c, cmp, e) in &comparisons {
                    if !same_expr(c, key) || !constant_for(e, ty) {
                        continue;
                    }
                    match cmp {
                        Cmp::Lower(inc) if bounds.lower.is_none() => {
                            bounds.lower = Some((e.clone(), *inc))
                        }
                        Cmp::Upper(inc) if bounds.upper.is_none() => {
                            bounds.upper = Some((e.clone(), *inc))
                        }
                        _ => {}
                    }
                }
            }
            break;
        }
        let shape = ScanShape {
            eq_columns: bounds.eq.len(),
            range_bounds: usize::from(bounds.lower.is_some()) + usize::from(bounds.upper.is_some()),
        };
        // Cheaper than reading the whole table, and than the best so far.
        let Some(cost) = access::scan_cost(&idx, shape).filter(|&c| c < 1.0) else {
            continue;
        };
        if best.as_ref().is_none_or(|(c, _, _)| cost < *c) {
            best = Some((cost, idx, bounds));
        }
    }
    best.map(|(_, i, b)| (i, b))
}

/// `ORDER BY col [DESC] LIMIT n` over a single table: read the rows in
/// index order and stop after `n` (+ offset), instead of sorting them all.
fn ordered_limit(plan: Plan, indexes: &mut IndexLookup) -> Plan {
    let Plan::Limit {
        input,
        limit,
        offset,
    } = plan
    else {
        return plan;
    };
    // Hidden ORDER BY columns are trimmed after the sort; LIMIT commutes
    // with the trimming.
    let input = match *input {
        Plan::Truncate { input: inner, keep } => {
            return Plan::Truncate {
                input: Box::new(ordered_limit(
                    Plan::Limit {
                        input: inner,
                        limit,
                        offset,
                    },
                    indexes,
                )),
                keep,
            }
        }
        other => Box::new(other),
    };
    let (
        Some(limit_expr),
        Plan::Sort {
            input: sort_input,
            keys,
        },
    ) = (limit.clone(), &*input)
    else {
        return Plan::Limit {
            input,
            limit,
            offset,
        };
    };
    let Plan::Project {
        input: proj_input,
        exprs,
        columns,
    } = &**sort_input
    else {
        return Plan::Limit {
            input,
            limit,
            offset,
        };
    };
    let Plan::SeqScan {
        table,
        filter,
        with_tid,
        ..
    } = &**proj_input
    else {
        return Plan::Limit {
            input,
            limit,
            offset,
        };
    };
    if let Some(scan) = nearest_scan(
        table,
        filter,
        *with_tid,
        exprs,
        keys,
        &limit_expr,
        &offset,
        indexes,
    ) {
        return Plan::Limit {
            input: Box::new(Plan::Project {
                input: Box::new(scan),
                exprs: exprs.clone(),
                columns: columns.clone(),
            }),
            limit,
            offset,
        };
    }
    // Sort keys must be expressions over the table's row (columns, or what
    // an expression index holds), all in one direction, with PostgreSQL's
    // default NULL placement for it.
    let desc = keys.first().is_some_and(|k| k.desc);
    let mut sort_exprs = Vec::new();
    for k in keys {
        let expr = match &k.expr {
            BExpr::Col(i) => exprs.get(*i),
            _ => None,
        };
        match expr {
            Some(e) if k.desc == desc && k.nulls_first == desc => sort_exprs.push(e.clone()),
            _ => {
                return Plan::Limit {
                    input,
                    limit,
                    offset,
                }
            }
        }
    }
    let conjuncts = conjuncts_of(filter);
    let index = indexes(table)
        .into_iter()
        .find(|i| {
            access::capabilities(i.def.method).ordered
                && i.keys.keys.len() >= sort_exprs.len()
                && i.keys
                    .keys
                    .iter()
                    .zip(&sort_exprs)
                    .all(|(a, b)| same_expr(a, b))
                && i.def.desc.iter().all(|d| !d)
                && covers_keys(&i.keys, &conjuncts)
        })
        .map(|i| i.def);
    let Some(index) = index else {
        return Plan::Limit {
            input,
            limit,
            offset,
        };
    };
    let stop_after = stop_after(limit_expr, &offset);
    let scan = Plan::IndexScan {
        table: table.clone(),
        index,
        bounds: IndexBounds::default(),
        reverse: desc,
        filter: filter.clone(),
        with_tid: *with_tid,
        stop_after: Some(stop_after),
        needed: None,
    };
    Plan::Limit {
        input: Box::new(Plan::Project {
            input: Box::new(scan),
            exprs: exprs.clone(),
            columns: columns.clone(),
        }),
        limit,
        offset,
    }
}

/// LIMIT + OFFSET: how many rows an ordered index scan must deliver.
fn stop_after(limit: BExpr, offset: &Option<BExpr>) -> BExpr {
    match offset {
        None => limit,
        Some(o) => BExpr::Binary(BinOp::Add, Box::new(limit), Box::new(o.clone())),
    }
}

/// The metric an ORDER BY distance operator sorts by (pgvector's operator
/// classes: `<->` vector_l2_ops, `<#>` vector_ip_ops, `<=>`
/// vector_cosine_ops, `<+>` vector_l1_ops).
fn operator_metric(op: BinOp) -> Option<Metric> {
    Some(match op {
        BinOp::L2Distance => Metric::L2,
        BinOp::NegInnerProduct => Metric::InnerProduct,
        BinOp::CosineDistance => Metric::Cosine,
        BinOp::L1Distance => Metric::L1,
        BinOp::HammingDistance => Metric::Hamming,
        BinOp::JaccardDistance => Metric::Jaccard,
        _ => return None,
    })
}

/// `ORDER BY key <op> query LIMIT n` (ascending, the key on the left
/// as pgvector's operator classes require, `query` independent of the
/// row) with an HNSW index on `key` (a column or an expression such as
/// `binary_quantize(col)::bit(n)`) whose operator class sorts by `<op>`:
/// an approximate nearest-neighbour index scan that stops after `n`
/// (+ offset) rows pass the filter. A scan whose filter already goes
/// through a B+tree never gets here: that exact plan is kept.
#[allow(clippy::too_many_arguments)]
fn nearest_scan(
    table: &Rc<TableDef>,
    filter: &Option<BExpr>,
    with_tid: bool,
    exprs: &[BExpr],
    keys: &[super::SortKey],
    limit: &BExpr,
    offset: &Option<BExpr>,
    indexes: &mut IndexLookup,
) -> Option<Plan> {
    let [key] = keys else { return None };
    if key.desc || key.nulls_first {
        return None;
    }
    let BExpr::Col(out) = &key.expr else {
        return None;
    };
    let BExpr::Binary(op, a, q) = exprs.get(*out)? else {
        return None;
    };
    let metric = operator_metric(*op)?;
    let mut reads_row = false;
    let mut ok = true;
    visit_cols(q, &mut |_| reads_row = true, &mut ok);
    if reads_row || !ok {
        return None;
    }
    let conjuncts = conjuncts_of(filter);
    let index = indexes(table)
        .into_iter()
        .find(|i| {
            i.def.method == IndexMethod::Hnsw
                && i.keys.keys.len() == 1
                && same_expr(&i.keys.keys[0], a)
                && i.def.hnsw.is_some_and(|h| h.metric == metric)
                && covers_keys(&i.keys, &conjuncts)
        })?
        .def;
    Some(Plan::IndexScan {
        table: table.clone(),
        index,
        bounds: IndexBounds {
            nearest: Some(q.clone()),
            ..IndexBounds::default()
        },
        reverse: false,
        filter: filter.clone(),
        with_tid,
        stop_after: Some(stop_after(limit.clone(), offset)),
        needed: None,
    })
}
