//! EXPLAIN output: one line per plan node in PostgreSQL's shape
//! (`Seq Scan on t`, `Hash Join`, `Sort`...), details indented below it,
//! and with ANALYZE the actual rows, loops and time of each node.

use std::collections::HashMap;

use super::{plan_columns, BExpr, JoinType, Plan};
use crate::sql::parse::ast::BinOp;
use crate::value::tz::TimeZone;
use crate::value::Value;

/// What EXPLAIN ANALYZE reports for one plan node.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeStats {
    pub rows: u64,
    pub loops: u64,
    pub micros: i64,
}

type Stats = HashMap<*const Plan, NodeStats>;

/// Appends the description of `plan` to `out`.
pub fn describe(
    plan: &Plan,
    ctes: &[Plan],
    stats: Option<&Stats>,
    depth: usize,
    out: &mut Vec<String>,
) {
    // Projections and column trimming are not nodes in PostgreSQL's plans.
    match plan {
        Plan::Project { input, .. } if !matches!(**input, Plan::Unit) => {
            return describe(input, ctes, stats, depth, out)
        }
        Plan::Truncate { input, .. } => return describe(input, ctes, stats, depth, out),
        _ => {}
    }
    let names =
        |p: &Plan| -> Vec<String> { plan_columns(p, ctes).into_iter().map(|c| c.name).collect() };
    let join_name = |kind: JoinType| match kind {
        JoinType::Inner => "",
        JoinType::Left => " Left Join",
        JoinType::Right => " Right Join",
        JoinType::Full => " Full Join",
    };
    let (title, details, children): (String, Vec<String>, Vec<&Plan>) = match plan {
        Plan::Unit | Plan::Project { .. } => ("Result".into(), Vec::new(), Vec::new()),
        Plan::Values { rows, .. } => (
            format!("Values Scan ({} rows)", rows.len()),
            Vec::new(),
            Vec::new(),
        ),
        Plan::SystemScan { name, .. } => (format!("System Scan on {name}"), Vec::new(), Vec::new()),
        Plan::Series { .. } => (
            "Function Scan on generate_series".into(),
            Vec::new(),
            Vec::new(),
        ),
        Plan::SeqScan { table, filter, .. } => {
            let cols: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
            let d = filter
                .iter()
                .map(|f| format!("Filter: {}", expr(f, &cols)))
                .collect();
            (format!("Seq Scan on {}", table.name), d, Vec::new())
        }
        Plan::IndexScan {
            table,
            index,
            bounds,
            filter,
            reverse,
            ..
        } => {
            let cols: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
            // Key columns by name, key expressions as written.
            let mut sources = index.expressions.iter();
            let keys: Vec<String> = index
                .columns
                .iter()
                .map(|&c| match cols.get(c) {
                    Some(name) => name.clone(),
                    None => sources.next().cloned().unwrap_or_default(),
                })
                .collect();
            let mut conds = Vec::new();
            for (k, e) in bounds.eq.iter().enumerate() {
                if let Some(key) = keys.get(k) {
                    conds.push(format!("{key} = {}", expr(e, &[])));
                }
            }
            if let Some(key) = keys.get(bounds.eq.len()) {
                if let Some((e, inc)) = &bounds.lower {
                    conds.push(format!(
                        "{key} {} {}",
                        if *inc { ">=" } else { ">" },
                        expr(e, &[])
                    ));
                }
                if let Some((e, inc)) = &bounds.upper {
                    conds.push(format!(
                        "{key} {} {}",
                        if *inc { "<=" } else { "<" },
                        expr(e, &[])
                    ));
                }
            }
            let mut d = Vec::new();
            if !conds.is_empty() {
                d.push(format!("Index Cond: ({})", conds.join(" AND ")));
            }
            if let (Some(q), Some(key), Some(h)) = (&bounds.nearest, keys.first(), index.hnsw) {
                let op = h.metric.operator();
                d.push(format!("Order By: ({key} {op} {})", expr(q, &[])));
            }
            d.extend(filter.iter().map(|f| format!("Filter: {}", expr(f, &cols))));
            let dir = if *reverse { " Backward" } else { "" };
            (
                format!("Index Scan{dir} using {} on {}", index.name, table.name),
                d,
                Vec::new(),
            )
        }
        Plan::Filter { input, pred } => {
            let filter = vec![format!("Filter: {}", expr(pred, &names(input)))];
            match &**input {
                // A filter over a system relation reads like one over a
                // table scan.
                Plan::SystemScan { name, .. } => {
                    (format!("System Scan on {name}"), filter, Vec::new())
                }
                _ => ("Filter".into(), filter, vec![input]),
            }
        }
        Plan::NestedLoop {
            left,
            right,
            kind,
            cond,
        }
        | Plan::Lateral {
            left,
            right,
            kind,
            cond,
        } => {
            let mut cols = names(left);
            cols.extend(names(right));
            let d = cond
                .iter()
                .map(|c| format!("Join Filter: {}", expr(c, &cols)))
                .collect();
            (
                format!("Nested Loop{}", join_name(*kind)),
                d,
                vec![left, right],
            )
        }
        Plan::HashJoin {
            left,
            right,
            kind,
            left_keys,
            right_keys,
            residual,
        } => {
            let (ln, rn) = (names(left), names(right));
            let conds: Vec<String> = left_keys
                .iter()
                .zip(right_keys)
                .map(|(l, r)| format!("{} = {}", expr(l, &ln), expr(r, &rn)))
                .collect();
            let mut d = vec![format!("Hash Cond: ({})", conds.join(" AND "))];
            let mut cols = ln.clone();
            cols.extend(rn);
            d.extend(
                residual
                    .iter()
                    .map(|r| format!("Join Filter: {}", expr(r, &cols))),
            );
            (
                format!("Hash{} Join", join_name(*kind)),
                d,
                vec![left, right],
            )
        }
        Plan::Aggregate { input, group, .. } => {
            let cols = names(input);
            if group.is_empty() {
                ("Aggregate".into(), Vec::new(), vec![input])
            } else {
                let keys: Vec<String> = group.iter().map(|g| expr(g, &cols)).collect();
                (
                    "HashAggregate".into(),
                    vec![format!("Group Key: {}", keys.join(", "))],
                    vec![input],
                )
            }
        }
        Plan::Sort { input, keys } => {
            // Keys name the projection's outputs; show what they compute.
            let (exprs, cols) = match &**input {
                Plan::Project {
                    input: inner,
                    exprs,
                    ..
                } => (Some(exprs), names(inner)),
                other => (None, names(other)),
            };
            let k: Vec<String> = keys
                .iter()
                .map(|k| {
                    let e = match (&k.expr, exprs) {
                        (BExpr::Col(i), Some(ex)) => ex.get(*i).unwrap_or(&k.expr),
                        (e, _) => e,
                    };
                    let text = expr(e, &cols);
                    let text = if matches!(e, BExpr::Binary(..)) {
                        format!("({text})")
                    } else {
                        text
                    };
                    format!("{text}{}", if k.desc { " DESC" } else { "" })
                })
                .collect();
            (
                "Sort".into(),
                vec![format!("Sort Key: {}", k.join(", "))],
                vec![input],
            )
        }
        Plan::Limit { input, .. } => ("Limit".into(), Vec::new(), vec![input]),
        Plan::Distinct { input, .. } => ("Unique".into(), Vec::new(), vec![input]),
        Plan::SetOp {
            op,
            all,
            left,
            right,
        } => {
            let name = match (op, all) {
                (crate::sql::parse::ast::SetOp::Union, true) => "Append".to_string(),
                (crate::sql::parse::ast::SetOp::Union, false) => {
                    "HashAggregate (Union)".to_string()
                }
                (o, _) => format!("HashSetOp {o:?}"),
            };
            (name, Vec::new(), vec![left, right])
        }
        Plan::CteScan { id } => (format!("CTE Scan on cte_{id}"), Vec::new(), Vec::new()),
        Plan::WorkTable { id } => (
            format!("WorkTable Scan on cte_{id}"),
            Vec::new(),
            Vec::new(),
        ),
        Plan::RecursiveCte { anchor, step, .. } => {
            ("Recursive Union".into(), Vec::new(), vec![anchor, step])
        }
        Plan::Truncate { .. } => unreachable_plan(),
        Plan::ProjectSet { input, .. } => ("ProjectSet".into(), Vec::new(), vec![input]),
    };
    let actual = stats
        .and_then(|s| s.get(&(plan as *const Plan)))
        .map(|st| {
            format!(
                " (actual time={:.3} ms rows={} loops={})",
                st.micros as f64 / 1000.0,
                st.rows / st.loops.max(1),
                st.loops
            )
        })
        .unwrap_or_else(|| {
            if stats.is_some() {
                " (never executed)".into()
            } else {
                String::new()
            }
        });
    // PostgreSQL's layout: a child's arrow sits 6 columns right of its
    // parent's, details 6 columns right of their node's arrow.
    let indent = " ".repeat((6 * depth).saturating_sub(4));
    let arrow = if depth > 0 { "->  " } else { "" };
    out.push(format!("{indent}{arrow}{title}{actual}"));
    for d in details {
        out.push(format!(
            "{indent}{}{d}",
            if depth > 0 { "      " } else { "  " }
        ));
    }
    for c in children {
        describe(c, ctes, stats, depth + 1, out);
    }
}

fn unreachable_plan() -> (String, Vec<String>, Vec<&'static Plan>) {
    // Truncate is handled before the match.
    (String::new(), Vec::new(), Vec::new())
}

/// PostgreSQL's name for a binary operator (None: AND/OR, which are not
/// operators to resolve).
pub(super) fn operator_name(op: BinOp) -> Option<&'static str> {
    (!matches!(op, BinOp::And | BinOp::Or)).then(|| op_symbol(op))
}

fn op_symbol(op: BinOp) -> &'static str {
    use BinOp::*;
    match op {
        Add => "+",
        Sub => "-",
        Mul => "*",
        Div => "/",
        Mod => "%",
        Pow => "^",
        Concat => "||",
        Eq => "=",
        NotEq => "<>",
        Lt => "<",
        LtEq => "<=",
        Gt => ">",
        GtEq => ">=",
        And => "AND",
        Or => "OR",
        BitAnd => "&",
        BitOr => "|",
        BitXor => "#",
        ShiftLeft => "<<",
        ShiftRight => ">>",
        JsonGet => "->",
        JsonGetText => "->>",
        JsonPath => "#>",
        JsonPathText => "#>>",
        JsonContains => "@>",
        JsonContained => "<@",
        JsonHasKey => "?",
        L2Distance => "<->",
        NegInnerProduct => "<#>",
        CosineDistance => "<=>",
        L1Distance => "<+>",
        HammingDistance => "<~>",
        JaccardDistance => "<%>",
    }
}

/// A readable rendering of a bound expression over columns `cols`.
pub fn expr(e: &BExpr, cols: &[String]) -> String {
    let tz = TimeZone::utc();
    match e {
        BExpr::Col(i) => cols.get(*i).cloned().unwrap_or_else(|| format!("${i}")),
        BExpr::Outer { col, .. } => format!("outer.{col}"),
        BExpr::Const(Value::Null) => "NULL".into(),
        BExpr::Const(
            v @ (Value::Text(_) | Value::Date(_) | Value::Timestamp(_) | Value::Timestamptz(_)),
        ) => {
            format!("'{}'", v.to_pg_text(&tz).unwrap_or_default())
        }
        BExpr::Const(v @ (Value::Vector(_) | Value::HalfVec(_) | Value::Bit(_))) => {
            let ty = match v {
                Value::Vector(_) => "vector",
                Value::HalfVec(_) => "halfvec",
                _ => "bit",
            };
            format!("'{}'::{ty}", v.to_pg_text(&tz).unwrap_or_default())
        }
        BExpr::Const(v) => v.to_pg_text(&tz).unwrap_or_default(),
        BExpr::Param { index, .. } => format!("${}", index + 1),
        BExpr::Unary(op, a) => format!("({op:?} {})", expr(a, cols)),
        BExpr::Binary(op, a, b) => {
            format!("({} {} {})", expr(a, cols), op_symbol(*op), expr(b, cols))
        }
        BExpr::IsNull(a, neg) => format!(
            "({} IS {}NULL)",
            expr(a, cols),
            if *neg { "NOT " } else { "" }
        ),
        BExpr::Cast(a, t) => format!("({})::{t}", expr(a, cols)),
        BExpr::Func { name, args } => {
            let a: Vec<String> = args.iter().map(|x| expr(x, cols)).collect();
            format!("{name}({})", a.join(", "))
        }
        BExpr::Like {
            expr: x,
            pattern,
            negated,
            ci,
            ..
        } => format!(
            "({} {}{} {})",
            expr(x, cols),
            if *negated { "!" } else { "" },
            if *ci { "~~*" } else { "~~" },
            expr(pattern, cols)
        ),
        BExpr::InList {
            expr: x,
            list,
            negated,
        } => {
            let l: Vec<String> = list.iter().map(|i| expr(i, cols)).collect();
            format!(
                "({} {}IN ({}))",
                expr(x, cols),
                if *negated { "NOT " } else { "" },
                l.join(", ")
            )
        }
        BExpr::Subquery { .. } => "(SubPlan)".into(),
        _ => "(...)".into(),
    }
}
