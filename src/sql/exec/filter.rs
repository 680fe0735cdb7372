//! Scan filters compiled once per scan.
//!
//! A scan tests its filter against every stored row, so the tree walk of
//! [`eval`](super::eval) costs more there than anywhere else. The parameters
//! and constants of a statement are fixed while it runs, so a filter's
//! common leaves are resolved once, when the scan starts: a column
//! compared with an integer or a text constant, and `LIKE` with a pattern
//! that is one literal between optional `%`s. Each compiled leaf keeps the
//! expression it came from and hands a row back to it whenever the row's
//! value is not of the kind the leaf expects, so the result is always the
//! one `passes` would give.

use super::eval::{comparison_holds, cond_truth, passes};
use super::{Env, ExecResult};
use crate::sql::parse::ast::BinOp;
use crate::sql::plan::BExpr;
use crate::value::row::{RawColumn, RowLayout};
use crate::value::types::DataType;
use crate::value::Value;

/// A filter ready to test rows: [`Filter::passes`] agrees with
/// [`passes`] on the expression it was compiled from.
pub(super) struct Filter<'p> {
    root: Node<'p>,
    /// Compiled into something cheaper than the expression itself.
    compiled: bool,
    expr: &'p BExpr,
}

enum Node<'p> {
    All(Vec<Node<'p>>),
    Any(Vec<Node<'p>>),
    /// `row[col] op k` for an integer column, as `row[col]` in `lo..=hi`
    /// (`!=` negated): one test whatever the operator.
    Int {
        col: usize,
        lo: i64,
        hi: i64,
        negated: bool,
        expr: &'p BExpr,
    },
    /// `row[col] op k`, for a text column (byte order, as text compares).
    Text {
        col: usize,
        op: BinOp,
        k: Box<str>,
        expr: &'p BExpr,
    },
    /// `row[col] [NOT] LIKE pattern`, the pattern one literal.
    Like {
        col: usize,
        matcher: Box<LikeLiteral>,
        negated: bool,
        expr: &'p BExpr,
    },
    Other(&'p BExpr),
}

/// A LIKE pattern without wildcards except leading and trailing `%`s.
struct LikeLiteral {
    finder: memchr::memmem::Finder<'static>,
    leading: bool,
    trailing: bool,
}

impl LikeLiteral {
    /// The matcher for `pattern` under the default escape (`\`), or `None`
    /// for patterns with wildcards or escapes inside.
    fn new(pattern: &str) -> Option<LikeLiteral> {
        let body = pattern.trim_start_matches('%');
        let leading = body.len() != pattern.len();
        let lit = body.trim_end_matches('%');
        let trailing = lit.len() != body.len();
        if lit.contains(['%', '_', '\\']) {
            return None;
        }
        Some(LikeLiteral {
            finder: memchr::memmem::Finder::new(lit.as_bytes()).into_owned(),
            leading,
            trailing,
        })
    }

    fn matches(&self, text: &[u8]) -> bool {
        let (t, lit) = (text, self.finder.needle());
        match (self.leading, self.trailing) {
            (true, true) => self.finder.find(t).is_some(),
            (false, true) => t.starts_with(lit),
            (true, false) => t.ends_with(lit),
            (false, false) => t == lit,
        }
    }
}

impl<'p> Filter<'p> {
    /// Compiles `expr` against the statement's parameters.
    pub(super) fn new(expr: &'p BExpr, env: &Env) -> Filter<'p> {
        let root = compile(expr, env);
        Filter {
            compiled: !matches!(root, Node::Other(_)),
            root,
            expr,
        }
    }

    /// Does `row` pass (is the filter true, not false or NULL)?
    #[inline]
    pub(super) fn passes(&self, row: &[Value], env: &mut Env) -> ExecResult<bool> {
        if !self.compiled {
            return passes(self.expr, row, env);
        }
        Ok(test(&self.root, row, env)? == Some(true))
    }
}

impl Filter<'_> {
    /// Whether [`Filter::passes_raw`] can test rows of a table whose
    /// stored column types are `types`: every leaf compiled, on an integer
    /// or text column.
    pub(super) fn raw_testable(&self, types: &[DataType]) -> bool {
        self.compiled && raw_node(&self.root, types)
    }

    /// Whether a leaf compares or matches text.
    pub(super) fn compares_text(&self) -> bool {
        fn text(node: &Node) -> bool {
            match node {
                Node::All(parts) | Node::Any(parts) => parts.iter().any(text),
                Node::Text { .. } | Node::Like { .. } => true,
                Node::Int { .. } | Node::Other(_) => false,
            }
        }
        text(&self.root)
    }

    /// [`Filter::passes`] on the encoded row itself, reading only the
    /// columns the leaves compare; `None` when a leaf cannot tell (the
    /// caller decodes the row and asks [`Filter::passes`]).
    #[inline]
    pub(super) fn passes_raw(&self, payload: &[u8], layout: &RowLayout) -> Option<bool> {
        Some(test_raw(&self.root, payload, layout)? == Some(true))
    }

    /// Whether every column a leaf compares is read from a fixed offset
    /// ([`RowLayout::has_fixed_offset`]).
    pub(super) fn reads_fixed_offsets(&self, layout: &RowLayout) -> bool {
        fn fixed(node: &Node, layout: &RowLayout) -> bool {
            match node {
                Node::All(parts) | Node::Any(parts) => parts.iter().all(|p| fixed(p, layout)),
                Node::Int { col, .. } | Node::Text { col, .. } | Node::Like { col, .. } => {
                    layout.has_fixed_offset(*col)
                }
                Node::Other(_) => false,
            }
        }
        fixed(&self.root, layout)
    }
}

fn raw_node(node: &Node, types: &[DataType]) -> bool {
    match node {
        Node::All(parts) | Node::Any(parts) => parts.iter().all(|p| raw_node(p, types)),
        Node::Int { col, .. } => matches!(
            types.get(*col),
            Some(DataType::Int2 | DataType::Int4 | DataType::Int8)
        ),
        Node::Text { col, .. } | Node::Like { col, .. } => {
            matches!(types.get(*col), Some(DataType::Text | DataType::Varchar(_)))
        }
        Node::Other(_) => false,
    }
}

/// [`test`] on the encoded row: the same three-valued truth, or `None`
/// when a column is not what the leaf expects.
fn test_raw(node: &Node, payload: &[u8], layout: &RowLayout) -> Option<Option<bool>> {
    let column = |col: usize| layout.raw_column(payload, col);
    Some(match node {
        Node::All(parts) | Node::Any(parts) => {
            let all = matches!(node, Node::All(_));
            return combine(parts, all, |p| test_raw(p, payload, layout).ok_or(())).ok();
        }
        Node::Int {
            col,
            lo,
            hi,
            negated,
            ..
        } => match column(*col)? {
            RawColumn::Null => None,
            RawColumn::Int(n) => Some((*lo <= n && n <= *hi) != *negated),
            RawColumn::Text(_) => return None,
        },
        Node::Text { col, op, k, .. } => match column(*col)? {
            RawColumn::Null => None,
            RawColumn::Text(b) => Some(comparison_holds(*op, b.cmp(k.as_bytes()))),
            RawColumn::Int(_) => return None,
        },
        Node::Like {
            col,
            matcher,
            negated,
            ..
        } => match column(*col)? {
            RawColumn::Null => None,
            RawColumn::Text(b) => Some(matcher.matches(b) != *negated),
            RawColumn::Int(_) => return None,
        },
        Node::Other(_) => return None,
    })
}

/// The constant a parameter or literal stands for while the statement
/// runs, if it needs no conversion per row.
fn constant<'v>(e: &'v BExpr, params: &'v [Value]) -> Option<&'v Value> {
    match e {
        BExpr::Const(v) => Some(v),
        BExpr::Param { index, ty } => params
            .get(*index)
            .filter(|v| super::eval::already_typed(v, ty)),
        _ => None,
    }
}

fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Int2(n) => Some(i64::from(*n)),
        Value::Int4(n) => Some(i64::from(*n)),
        Value::Int8(n) => Some(*n),
        _ => None,
    }
}

/// `a op b` is `b flipped(op) a`.
fn flipped(op: BinOp) -> BinOp {
    match op {
        BinOp::Lt => BinOp::Gt,
        BinOp::LtEq => BinOp::GtEq,
        BinOp::Gt => BinOp::Lt,
        BinOp::GtEq => BinOp::LtEq,
        other => other,
    }
}

fn compile<'p>(e: &'p BExpr, env: &Env) -> Node<'p> {
    match e {
        BExpr::Binary(BinOp::And, a, b) => {
            let mut parts = Vec::new();
            for side in [a, b] {
                match compile(side, env) {
                    Node::All(inner) => parts.extend(inner),
                    n => parts.push(n),
                }
            }
            one_range(&parts, e).unwrap_or(Node::All(parts))
        }
        BExpr::Binary(BinOp::Or, a, b) => {
            let mut parts = Vec::new();
            for side in [a, b] {
                match compile(side, env) {
                    Node::Any(inner) => parts.extend(inner),
                    n => parts.push(n),
                }
            }
            Node::Any(parts)
        }
        BExpr::Binary(
            op @ (BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq),
            a,
            b,
        ) => {
            let (col, op, k) = match (&**a, &**b) {
                (BExpr::Col(c), other) => (*c, *op, constant(other, env.params)),
                (other, BExpr::Col(c)) => (*c, flipped(*op), constant(other, env.params)),
                _ => return Node::Other(e),
            };
            match k {
                Some(Value::Text(s)) => Node::Text {
                    col,
                    op,
                    k: s.as_str().into(),
                    expr: e,
                },
                Some(v) => match int_of(v) {
                    Some(k) => {
                        // An empty range when `k` leaves nothing below or
                        // above it.
                        const EMPTY: (i64, i64) = (1, 0);
                        let ((lo, hi), negated) = match op {
                            BinOp::Eq => ((k, k), false),
                            BinOp::NotEq => ((k, k), true),
                            BinOp::Lt => (k.checked_sub(1).map_or(EMPTY, |h| (i64::MIN, h)), false),
                            BinOp::LtEq => ((i64::MIN, k), false),
                            BinOp::Gt => (k.checked_add(1).map_or(EMPTY, |l| (l, i64::MAX)), false),
                            _ => ((k, i64::MAX), false),
                        };
                        Node::Int {
                            col,
                            lo,
                            hi,
                            negated,
                            expr: e,
                        }
                    }
                    None => Node::Other(e),
                },
                None => Node::Other(e),
            }
        }
        BExpr::Like {
            expr,
            pattern,
            escape: None,
            negated,
            ci: false,
        } => match (&**expr, constant(pattern, env.params)) {
            (BExpr::Col(col), Some(Value::Text(p))) => match LikeLiteral::new(p) {
                Some(m) => Node::Like {
                    col: *col,
                    matcher: Box::new(m),
                    negated: *negated,
                    expr: e,
                },
                None => Node::Other(e),
            },
            _ => Node::Other(e),
        },
        _ => Node::Other(e),
    }
}

/// `lo <= x AND x < hi` and the like, all on one integer column, as one
/// range (the common range scan: one test per row instead of a loop over
/// two). `and` is the whole conjunction, so a row whose value is not an
/// integer is handed to all of it.
fn one_range<'p>(parts: &[Node<'p>], and: &'p BExpr) -> Option<Node<'p>> {
    let (mut lo, mut hi, mut column) = (i64::MIN, i64::MAX, None);
    for p in parts {
        let Node::Int {
            col,
            lo: l,
            hi: h,
            negated: false,
            ..
        } = p
        else {
            return None;
        };
        if column.is_some_and(|c| c != *col) {
            return None;
        }
        column = Some(*col);
        lo = lo.max(*l);
        hi = hi.min(*h);
    }
    Some(Node::Int {
        col: column?,
        lo,
        hi,
        negated: false,
        expr: and,
    })
}

/// The truth of an integer leaf without a call or a fallible result
/// (scans test it per row); `None` when the evaluator must decide.
#[inline(always)]
fn quick(node: &Node, row: &[Value]) -> Option<Option<bool>> {
    match node {
        Node::Int {
            col,
            lo,
            hi,
            negated,
            ..
        } => match row.get(*col)? {
            Value::Null => Some(None),
            v => int_of(v).map(|n| Some((*lo <= n && n <= *hi) != *negated)),
        },
        _ => None,
    }
}

/// Three-valued AND (`all`) or OR of `truth` over `parts`, stopping at
/// the first part that decides it (false for AND, true for OR).
#[inline(always)]
fn combine<'p, E>(
    parts: &[Node<'p>],
    all: bool,
    mut truth: impl FnMut(&Node<'p>) -> Result<Option<bool>, E>,
) -> Result<Option<bool>, E> {
    let mut result = Some(all);
    for p in parts {
        match truth(p)? {
            Some(t) if t != all => return Ok(Some(t)),
            None => result = None,
            Some(_) => {}
        }
    }
    Ok(result)
}

/// Three-valued truth of `node` over `row`.
fn test(node: &Node, row: &[Value], env: &mut Env) -> ExecResult<Option<bool>> {
    Ok(match node {
        Node::All(parts) | Node::Any(parts) => {
            let all = matches!(node, Node::All(_));
            return combine(parts, all, |p| match quick(p, row) {
                Some(t) => Ok(t),
                None => test(p, row, env),
            });
        }
        Node::Int { expr, .. } => match quick(node, row) {
            Some(t) => t,
            None => cond_truth(expr, row, env)?,
        },
        Node::Text { col, op, k, expr } => match row.get(*col) {
            Some(Value::Null) => None,
            Some(Value::Text(s)) => Some(comparison_holds(*op, s.as_bytes().cmp(k.as_bytes()))),
            _ => cond_truth(expr, row, env)?,
        },
        Node::Like {
            col,
            matcher,
            negated,
            expr,
        } => match row.get(*col) {
            Some(Value::Null) => None,
            Some(Value::Text(s)) => Some(matcher.matches(s.as_bytes()) != *negated),
            _ => cond_truth(expr, row, env)?,
        },
        Node::Other(e) => cond_truth(e, row, env)?,
    })
}
