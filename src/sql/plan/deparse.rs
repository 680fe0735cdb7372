//! PostgreSQL's deparser (`ruleutils.c`) for what we keep as text: a
//! view's query as `pg_get_viewdef` prints it, and a generation
//! expression as `pg_get_expr` does.
//!
//! The query is analysed as PostgreSQL's parser analyses it (names
//! resolved to their relations, `*` expanded, untyped literals typed,
//! implicit casts made explicit, `IN (list)` turned into `= ANY
//! (ARRAY[...])`, BETWEEN into two comparisons) into a small tree ([`D`],
//! [`DQuery`]), which [`Printer`] then lays out as PostgreSQL does:
//! clauses on lines of their own, one select-list item per line, every
//! operator parenthesised unless pretty-printing, range-table entries
//! renamed (`t_1`) where a name is taken by an enclosing query. The plain
//! text is what a view binds again on every use, so it must read back to
//! the same meaning: CREATE VIEW checks that it does.

use super::explain::operator_name;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::rc::Rc;

use super::aggregate::{agg_result_type, contains_aggregate, is_aggregate};
use super::expr::jsonb_parameter;
use super::{default_column_name, CatalogAccess, PlanResult};
use crate::catalog::{Dependency, Oid, TableDef};
use crate::error::{SqlError, SqlState};
use crate::sql::functions::{self, quote_ident};
use crate::sql::parse::ast::{self, BinOp, Expr, JoinKind, SetOp, UnOp};
use crate::sql::resolve;
use crate::value::text::parse_text;
use crate::value::types::DataType;
use crate::value::tz::TimeZone;
use crate::value::Value;

/// A view's definition: `plain` as `pg_get_viewdef(oid)` prints it,
/// `pretty` as `pg_get_viewdef(oid, true)`, and what it reads.
pub struct ViewText {
    pub plain: String,
    pub pretty: String,
    pub depends: Vec<Dependency>,
}

/// Deparses `q`, a view's query; `names` are the view's column names.
pub fn view_definition(
    catalog: &mut dyn CatalogAccess,
    q: &ast::Query,
    names: &[String],
) -> PlanResult<ViewText> {
    let mut d = Deparser {
        catalog,
        rtes: Vec::new(),
        deps: BTreeMap::new(),
        ctes: Vec::new(),
        outer: Vec::new(),
    };
    let (mut query, _) = d.query(q)?;
    // PostgreSQL 15 keeps a view's OLD and NEW in its query's range table:
    // their names are taken.
    query.reserved = vec!["old".into(), "new".into()];
    // VALUES whose columns the view renames reads as a SELECT from it.
    let renamed = names
        .iter()
        .enumerate()
        .any(|(i, n)| *n != format!("column{}", i + 1));
    if let (DBody::Values(rows), true) = (&query.body, renamed) {
        let rte = d.new_rte("*VALUES*", "*VALUES*", true, false);
        let targets = names
            .iter()
            .enumerate()
            .map(|(i, n)| DTarget {
                expr: D::Var {
                    rte: Some(rte),
                    name: format!("column{}", i + 1),
                },
                name: n.clone(),
            })
            .collect();
        let from = vec![DFrom::Values {
            rte,
            rows: rows.clone(),
        }];
        query.body = DBody::Select(Box::new(DSelect {
            distinct: None,
            distinct_all: false,
            targets,
            from,
            selection: None,
            group_by: Vec::new(),
            having: None,
        }));
        query.rtable.push(rte);
    }
    let depends = d
        .deps
        .iter()
        .map(|(&relation, cols)| Dependency {
            relation,
            columns: cols.iter().copied().collect(),
        })
        .collect();
    let print = |pretty: bool, rtes: &mut Vec<Rte>| {
        let mut p = Printer {
            buf: String::new(),
            indent: 0,
            pretty,
            rtes,
            namespaces: Vec::new(),
        };
        p.query(&query, Some(names), true);
        p.buf.push(';');
        p.buf
    };
    let plain = print(false, &mut d.rtes);
    let pretty = print(true, &mut d.rtes);
    Ok(ViewText {
        plain,
        pretty,
        depends,
    })
}

/// A generation expression over `table`'s columns, as `pg_get_expr`
/// prints it: (plain, pretty).
pub fn table_expression(table: &TableDef, e: &Expr, ty: &DataType) -> PlanResult<(String, String)> {
    struct NoCatalog;
    impl CatalogAccess for NoCatalog {
        fn table(&mut self, _: &[String]) -> PlanResult<Option<Rc<TableDef>>> {
            Ok(None)
        }
        fn indexes(&mut self, _: &TableDef) -> PlanResult<Vec<Rc<crate::catalog::IndexDef>>> {
            Ok(Vec::new())
        }
        fn sequence(
            &mut self,
            _: &[String],
        ) -> PlanResult<Option<Rc<crate::catalog::SequenceDef>>> {
            Ok(None)
        }
        fn session_function(
            &mut self,
            _: &str,
            _: &[Expr],
        ) -> PlanResult<Option<(super::BExpr, DataType)>> {
            Ok(None)
        }
        fn system_relation(
            &mut self,
            _: Option<&str>,
            _: &str,
        ) -> PlanResult<Option<super::SystemRelationRows>> {
            Ok(None)
        }
        fn catalog_info(&mut self) -> PlanResult<crate::sql::functions::catalog::CatalogInfo> {
            Ok(Default::default())
        }
    }
    let mut none = NoCatalog;
    let mut d = Deparser {
        catalog: &mut none,
        rtes: Vec::new(),
        deps: BTreeMap::new(),
        ctes: Vec::new(),
        outer: Vec::new(),
    };
    let mut scope = DScope::default();
    for c in table.columns.iter().filter(|c| !c.dropped) {
        scope.cols.push(DCol {
            name: c.name.clone(),
            ty: c.ty.clone(),
            var: D::Var {
                rte: None,
                name: c.name.clone(),
            },
            rte: None,
            unqualified: true,
            star: true,
            dep: None,
        });
    }
    let t = d.expr(e, &scope)?;
    let t = d.coerce(t, ty, true)?;
    let print = |pretty: bool, rtes: &mut Vec<Rte>| {
        let mut p = Printer {
            buf: String::new(),
            indent: 0,
            pretty,
            rtes,
            namespaces: Vec::new(),
        };
        p.expr(&t, false);
        p.buf
    };
    let plain = print(false, &mut d.rtes);
    let pretty = print(true, &mut d.rtes);
    Ok((plain, pretty))
}

// ---------------------------------------------------------------- the tree

/// An expression, in PostgreSQL's node kinds as far as printing tells
/// them apart.
#[derive(Clone, Debug)]
enum D {
    /// A column of range-table entry `rte` (None: unqualified, a merged
    /// FULL JOIN column or a column of the one table of an expression).
    Var {
        rte: Option<usize>,
        name: String,
    },
    /// A constant: its literal text, the type to label it with, and its
    /// type's name (for where PostgreSQL always labels constants).
    Const {
        text: String,
        label: Option<String>,
        ty: String,
    },
    /// An operator (one argument: prefix).
    Op {
        name: String,
        args: Vec<D>,
    },
    And(Vec<D>),
    Or(Vec<D>),
    Not(Box<D>),
    /// A cast: `func` when PostgreSQL calls a cast function (a FuncExpr,
    /// which prints like a function call), else a relabelling or I/O
    /// conversion (which print like their argument); `implicit` ones show
    /// only where PostgreSQL shows implicit casts; `bare` when the
    /// argument is a constant of the type without its modifier
    /// (`'x'::character varying(3)`).
    Cast {
        arg: Box<D>,
        ty: String,
        func: bool,
        implicit: bool,
        bare: bool,
    },
    Func {
        name: String,
        args: Vec<D>,
    },
    Agg {
        name: String,
        star: bool,
        distinct: bool,
        args: Vec<D>,
        order: Vec<DSort>,
        filter: Option<Box<D>>,
    },
    /// COALESCE, GREATEST, LEAST, NULLIF (function-like keywords).
    Special {
        name: &'static str,
        args: Vec<D>,
    },
    /// CURRENT_DATE & co.
    Keyword(&'static str),
    Extract {
        field: String,
        arg: Box<D>,
    },
    Case {
        arg: Option<Box<D>>,
        whens: Vec<(D, D)>,
        default: Box<D>,
    },
    NullTest {
        arg: Box<D>,
        not: bool,
    },
    BoolTest {
        arg: Box<D>,
        what: &'static str,
    },
    Distinct(Box<D>, Box<D>),
    /// `left op ANY|ALL (right)` over an array.
    ArrayOp {
        left: Box<D>,
        op: String,
        all: bool,
        right: Box<D>,
    },
    Array(Vec<D>),
    Subscript(Box<D>, Box<D>),
    Sublink {
        kind: SubKind,
        query: Box<DQuery>,
    },
}

#[derive(Clone, Debug)]
enum SubKind {
    Exists,
    Expr,
    Array,
    /// `left op ANY (query)` (`= ANY` prints as IN) / `ALL`.
    Quantified {
        left: Box<D>,
        op: String,
        all: bool,
    },
}

#[derive(Clone, Debug)]
struct DSort {
    expr: D,
    desc: bool,
    nulls_first: bool,
}

#[derive(Clone, Debug)]
struct DQuery {
    ctes: Vec<DCte>,
    recursive: bool,
    body: DBody,
    order_by: Vec<DSort>,
    limit: Option<D>,
    offset: Option<D>,
    /// This level's range table (indexes into the deparser's entries).
    rtable: Vec<usize>,
    /// Names taken at this level besides the range table's.
    reserved: Vec<String>,
}

#[derive(Clone, Debug)]
struct DCte {
    name: String,
    columns: Vec<String>,
    query: DQuery,
}

#[derive(Clone, Debug)]
enum DBody {
    Select(Box<DSelect>),
    SetOp(DSetOp),
    Values(Vec<Vec<D>>),
}

#[derive(Clone, Debug)]
enum DSetOp {
    Leaf(Box<DQuery>),
    Op {
        op: SetOp,
        all: bool,
        left: Box<DSetOp>,
        right: Box<DSetOp>,
    },
}

#[derive(Clone, Debug)]
struct DSelect {
    distinct: Option<Vec<D>>,
    distinct_all: bool,
    targets: Vec<DTarget>,
    from: Vec<DFrom>,
    selection: Option<D>,
    group_by: Vec<D>,
    having: Option<D>,
}

#[derive(Clone, Debug)]
struct DTarget {
    expr: D,
    name: String,
}

#[derive(Clone, Debug)]
enum DFrom {
    Rel {
        rte: usize,
        /// The relation's name as printed (qualified when its schema is
        /// not on the search path).
        name: String,
        aliases: Option<Vec<String>>,
    },
    Subquery {
        rte: usize,
        query: Box<DQuery>,
        aliases: Option<Vec<String>>,
    },
    Function {
        rte: usize,
        call: D,
        ordinality: bool,
        aliases: Vec<String>,
    },
    /// `(VALUES ...) "*VALUES*"`.
    Values { rte: usize, rows: Vec<Vec<D>> },
    Join {
        left: Box<DFrom>,
        right: Box<DFrom>,
        kind: JoinKind,
        using: Vec<String>,
        on: Option<D>,
    },
}

/// A range-table entry: the name it goes by in the query and, once the
/// printer has resolved clashes, the name it is printed with.
#[derive(Clone, Debug)]
struct Rte {
    name: String,
    /// Its relation's (or CTE's) own name.
    base: String,
    /// The query gave it an alias.
    aliased: bool,
    function: bool,
    refname: String,
}

// ----------------------------------------------------------------- scopes

#[derive(Clone, Debug)]
struct DCol {
    name: String,
    ty: DataType,
    var: D,
    /// The entry a qualified reference names (None: a merged USING
    /// column, or the columns of a generation expression).
    rte: Option<usize>,
    unqualified: bool,
    star: bool,
    /// A table's or view's column: (relation, position).
    dep: Option<(Oid, usize)>,
}

#[derive(Clone, Debug, Default)]
struct DScope {
    cols: Vec<DCol>,
}

/// What a (sub)query outputs.
#[derive(Clone, Debug)]
struct OutCol {
    name: String,
    ty: DataType,
}

/// An analysed expression with its type; untyped literals keep their text
/// until the context gives them a type.
#[derive(Clone, Debug)]
struct T {
    d: D,
    ty: DataType,
    untyped: Option<Untyped>,
}

#[derive(Clone, Debug)]
enum Untyped {
    Str(String),
    Null,
}

impl T {
    fn typed(d: D, ty: DataType) -> T {
        T {
            d,
            ty,
            untyped: None,
        }
    }
}

fn unsupported(what: impl std::fmt::Display) -> SqlError {
    SqlError::new(
        SqlState::FEATURE_NOT_SUPPORTED,
        format!("{what} is not supported in a view definition"),
    )
}

/// The type without a modifier (what a literal of it is read as).
fn base_type(ty: &DataType) -> DataType {
    match ty {
        DataType::Numeric(_) => DataType::Numeric(None),
        DataType::Varchar(_) => DataType::Varchar(None),
        DataType::Vector(_) => DataType::Vector(None),
        DataType::HalfVec(_) => DataType::HalfVec(None),
        DataType::Bit(_) => DataType::Bit(None),
        other => other.clone(),
    }
}

/// A constant as `get_const_expr` prints it (`label`: append the type
/// unless the literal reads back as it by itself).
fn const_d(v: &Value, ty: &DataType) -> D {
    let type_name = if *ty == DataType::Unknown {
        String::new()
    } else {
        ty.to_string()
    };
    if matches!(v, Value::Null) {
        return D::Const {
            text: "NULL".into(),
            label: (*ty != DataType::Unknown).then(|| type_name.clone()),
            ty: type_name,
        };
    }
    let out = v
        .to_pg_text(&TimeZone::utc())
        .unwrap_or_else(|| format!("{v:?}"));
    let quoted = || format!("'{}'", out.replace('\'', "''"));
    let (text, label) = match ty {
        DataType::Int4 if !out.starts_with('-') => (out.clone(), false),
        DataType::Int4 => (quoted(), true),
        DataType::Numeric(m) => {
            if out.starts_with(|c: char| c.is_ascii_digit()) && out.contains(['.', 'e', 'E']) {
                (out.clone(), m.is_some())
            } else {
                (quoted(), true)
            }
        }
        DataType::Bool => (if out == "t" { "true" } else { "false" }.to_string(), false),
        DataType::Unknown => (quoted(), false),
        _ => (quoted(), true),
    };
    D::Const {
        text,
        label: label.then(|| type_name.clone()),
        ty: type_name,
    }
}

/// The keywords PostgreSQL prints for its SQL-standard value functions.
fn value_keyword(name: &str) -> Option<&'static str> {
    Some(match name {
        "current_date" => "CURRENT_DATE",
        "current_timestamp" => "CURRENT_TIMESTAMP",
        "current_time" => "CURRENT_TIME",
        "localtimestamp" => "LOCALTIMESTAMP",
        "localtime" => "LOCALTIME",
        "current_user" => "CURRENT_USER",
        "current_role" => "CURRENT_ROLE",
        "session_user" => "SESSION_USER",
        "user" => "USER",
        "current_catalog" => "CURRENT_CATALOG",
        "current_schema" => "CURRENT_SCHEMA",
        _ => return None,
    })
}

/// The regular-expression match functions our parser makes of `~` & co.
fn regex_operator(name: &str) -> Option<&'static str> {
    Some(match name {
        "textregexeq" => "~",
        "texticregexeq" => "~*",
        "textregexne" => "!~",
        "texticregexne" => "!~*",
        _ => return None,
    })
}

struct CteInfo {
    name: String,
    cols: Vec<OutCol>,
}

struct Deparser<'c> {
    catalog: &'c mut dyn CatalogAccess,
    rtes: Vec<Rte>,
    deps: BTreeMap<Oid, BTreeSet<usize>>,
    ctes: Vec<CteInfo>,
    /// Scopes of the enclosing queries (for correlated subqueries),
    /// innermost last.
    outer: Vec<DScope>,
}

impl Deparser<'_> {
    fn new_rte(&mut self, name: &str, base: &str, aliased: bool, function: bool) -> usize {
        self.rtes.push(Rte {
            name: name.to_string(),
            base: base.to_string(),
            aliased,
            function,
            refname: name.to_string(),
        });
        self.rtes.len() - 1
    }

    fn note_dep(&mut self, dep: Option<(Oid, usize)>) {
        if let Some((rel, col)) = dep {
            self.deps.entry(rel).or_default().insert(col);
        }
    }

    // ----------------------------------------------------------- queries

    fn query(&mut self, q: &ast::Query) -> PlanResult<(DQuery, Vec<OutCol>)> {
        if q.locking.is_some() {
            return Err(unsupported("FOR UPDATE/SHARE"));
        }
        let saved_ctes = self.ctes.len();
        let result = self.query_inner(q);
        self.ctes.truncate(saved_ctes);
        result
    }

    fn query_inner(&mut self, q: &ast::Query) -> PlanResult<(DQuery, Vec<OutCol>)> {
        let mut ctes = Vec::new();
        for c in &q.ctes {
            let (query, cols) = if q.recursive && super::query::query_references(&c.query, &c.name)
            {
                self.recursive_cte(c)?
            } else {
                self.query(&c.query)?
            };
            let cols = rename(cols, &c.columns);
            self.ctes.push(CteInfo {
                name: c.name.clone(),
                cols,
            });
            ctes.push(DCte {
                name: c.name.clone(),
                columns: c.columns.clone(),
                query,
            });
        }
        let mut rtable = Vec::new();
        let (body, cols, order_by) = match &q.body {
            ast::SetExpr::Select(s) => {
                let (sel, cols, order) = self.select(s, &q.order_by, &mut rtable)?;
                (DBody::Select(Box::new(sel)), cols, order)
            }
            ast::SetExpr::Values(rows) if q.order_by.is_empty() => {
                let (rows, cols) = self.values(rows)?;
                (DBody::Values(rows), cols, Vec::new())
            }
            ast::SetExpr::SetOp { .. } => {
                let (op, cols) = self.set_op(&q.body)?;
                let order = self.set_op_order(&q.order_by, &cols)?;
                (DBody::SetOp(op), cols, order)
            }
            ast::SetExpr::Query(inner) if q.ctes.is_empty() => {
                // Parenthesised query: a query of its own, with its own
                // clauses, as a one-leaf set operation would be.
                let (dq, cols) = self.query(inner)?;
                let order = self.set_op_order(&q.order_by, &cols)?;
                (DBody::SetOp(DSetOp::Leaf(Box::new(dq))), cols, order)
            }
            _ => return Err(unsupported("this query form")),
        };
        let limit = match &q.limit {
            Some(e) => Some(self.limit_expr(e)?),
            None => None,
        };
        let offset = match &q.offset {
            Some(e) => Some(self.limit_expr(e)?),
            None => None,
        };
        Ok((
            DQuery {
                ctes,
                recursive: q.recursive,
                body,
                order_by,
                limit,
                offset,
                rtable,
                reserved: Vec::new(),
            },
            cols,
        ))
    }

    fn limit_expr(&mut self, e: &Expr) -> PlanResult<D> {
        if matches!(e, Expr::Literal(Value::Null)) {
            return Ok(D::Const {
                text: "NULL".into(),
                label: None,
                ty: String::new(),
            });
        }
        let t = self.expr(e, &DScope::default())?;
        self.coerce(t, &DataType::Int8, true)
    }

    /// `WITH RECURSIVE name AS (anchor UNION [ALL] step)`: the step sees
    /// the CTE with the anchor's columns.
    fn recursive_cte(&mut self, c: &ast::Cte) -> PlanResult<(DQuery, Vec<OutCol>)> {
        let ast::SetExpr::SetOp {
            op: SetOp::Union,
            all,
            left,
            right,
        } = &c.query.body
        else {
            return Err(unsupported("this recursive query"));
        };
        let (anchor, anchor_cols) = self.set_op_leaf(left)?;
        let anchor_cols: Vec<OutCol> = anchor_cols
            .into_iter()
            .map(|c| OutCol {
                ty: if c.ty == DataType::Unknown {
                    DataType::Text
                } else {
                    c.ty
                },
                ..c
            })
            .collect();
        self.ctes.push(CteInfo {
            name: c.name.clone(),
            cols: rename(anchor_cols.clone(), &c.columns),
        });
        let step = self.set_op_leaf(right);
        self.ctes.pop();
        let (step, _) = step?;
        let body = DSetOp::Op {
            op: SetOp::Union,
            all: *all,
            left: Box::new(anchor),
            right: Box::new(step),
        };
        Ok((
            DQuery {
                ctes: Vec::new(),
                recursive: false,
                body: DBody::SetOp(body),
                order_by: Vec::new(),
                limit: None,
                offset: None,
                rtable: Vec::new(),
                reserved: Vec::new(),
            },
            anchor_cols,
        ))
    }

    fn set_op_leaf(&mut self, s: &ast::SetExpr) -> PlanResult<(DSetOp, Vec<OutCol>)> {
        match s {
            ast::SetExpr::SetOp { .. } => self.set_op(s),
            // A parenthesised set operation is a node of the tree.
            ast::SetExpr::Query(q)
                if q.ctes.is_empty()
                    && q.order_by.is_empty()
                    && q.limit.is_none()
                    && q.offset.is_none()
                    && q.locking.is_none()
                    && matches!(q.body, ast::SetExpr::SetOp { .. }) =>
            {
                self.set_op(&q.body)
            }
            ast::SetExpr::Query(q) => {
                let (dq, cols) = self.query(q)?;
                Ok((DSetOp::Leaf(Box::new(dq)), cols))
            }
            other => {
                let q = ast::Query {
                    ctes: Vec::new(),
                    recursive: false,
                    body: other.clone(),
                    order_by: Vec::new(),
                    limit: None,
                    offset: None,
                    locking: None,
                };
                let (dq, cols) = self.query(&q)?;
                Ok((DSetOp::Leaf(Box::new(dq)), cols))
            }
        }
    }

    fn set_op(&mut self, s: &ast::SetExpr) -> PlanResult<(DSetOp, Vec<OutCol>)> {
        let ast::SetExpr::SetOp {
            op,
            all,
            left,
            right,
        } = s
        else {
            return self.set_op_leaf(s);
        };
        let (mut l, lcols) = self.set_op_leaf(left)?;
        let (mut r, rcols) = self.set_op_leaf(right)?;
        let what = match op {
            SetOp::Union => "UNION",
            SetOp::Intersect => "INTERSECT",
            SetOp::Except => "EXCEPT",
        };
        if lcols.len() != rcols.len() {
            return Err(SqlError::new(
                SqlState::SYNTAX_ERROR,
                format!("each {what} query must have the same number of columns"),
            ));
        }
        let mut cols = Vec::new();
        for (i, (a, b)) in lcols.iter().zip(&rcols).enumerate() {
            let ty = resolve::common_type(&[a.ty.clone(), b.ty.clone()], what)?;
            let ty = if ty == DataType::Unknown {
                DataType::Text
            } else {
                ty
            };
            // Untyped literal columns take the common type in the leaves.
            if a.ty == DataType::Unknown {
                type_leaf_column(&mut l, i, &ty);
            }
            if b.ty == DataType::Unknown {
                type_leaf_column(&mut r, i, &ty);
            }
            cols.push(OutCol {
                name: a.name.clone(),
                ty,
            });
        }
        Ok((
            DSetOp::Op {
                op: *op,
                all: *all,
                left: Box::new(l),
                right: Box::new(r),
            },
            cols,
        ))
    }

    /// ORDER BY of a set operation: output columns, by position or name
    /// (printed by position, as PostgreSQL does).
    fn set_op_order(
        &mut self,
        items: &[ast::OrderItem],
        cols: &[OutCol],
    ) -> PlanResult<Vec<DSort>> {
        let mut out = Vec::new();
        for o in items {
            let pos = match &o.expr {
                Expr::Literal(Value::Int4(n)) if *n >= 1 && (*n as usize) <= cols.len() => {
                    *n as usize
                }
                Expr::Column(n) if n.len() == 1 => {
                    cols.iter()
                        .position(|c| c.name == n[0])
                        .ok_or_else(|| super::undefined_column(&n[0]))?
                        + 1
                }
                _ => return Err(unsupported("ORDER BY an expression of a set operation")),
            };
            out.push(DSort {
                expr: D::Const {
                    text: pos.to_string(),
                    label: None,
                    ty: String::new(),
                },
                desc: o.desc,
                nulls_first: o.nulls_first.unwrap_or(o.desc),
            });
        }
        Ok(out)
    }

    fn values(&mut self, rows: &[Vec<Expr>]) -> PlanResult<(Vec<Vec<D>>, Vec<OutCol>)> {
        let width = rows.first().map_or(0, Vec::len);
        let mut typed: Vec<Vec<T>> = Vec::new();
        for r in rows {
            if r.len() != width {
                return Err(SqlError::new(
                    SqlState::SYNTAX_ERROR,
                    "VALUES lists must all be the same length",
                ));
            }
            let mut row = Vec::new();
            for e in r {
                row.push(self.expr(e, &DScope::default())?);
            }
            typed.push(row);
        }
        let mut cols = Vec::new();
        for i in 0..width {
            let types: Vec<DataType> = typed.iter().map(|r| r[i].ty.clone()).collect();
            let ty = resolve::common_type(&types, "VALUES")?;
            let ty = if ty == DataType::Unknown {
                DataType::Text
            } else {
                ty
            };
            cols.push(OutCol {
                name: format!("column{}", i + 1),
                ty,
            });
        }
        let mut out = Vec::new();
        for row in typed {
            let mut r = Vec::new();
            for (i, t) in row.into_iter().enumerate() {
                r.push(self.coerce(t, &cols[i].ty, true)?);
            }
            out.push(r);
        }
        Ok((out, cols))
    }

    fn select(
        &mut self,
        sel: &ast::Select,
        order_by: &[ast::OrderItem],
        rtable: &mut Vec<usize>,
    ) -> PlanResult<(DSelect, Vec<OutCol>, Vec<DSort>)> {
        if super::query::srf_select_to_from(sel)?.is_some() {
            return Err(unsupported("a set-returning function in the select list"));
        }
        let mut from = Vec::new();
        let mut scope = DScope::default();
        for item in &sel.from {
            let (f, s) = self.range_item(item, rtable)?;
            from.push(f);
            scope.cols.extend(s.cols);
        }
        let selection = match &sel.selection {
            Some(w) => {
                let t = self.expr(w, &scope)?;
                Some(self.coerce(t, &DataType::Bool, false)?)
            }
            None => None,
        };
        // The select list, `*` expanded.
        let mut items: Vec<(Option<Expr>, Option<T>, String)> = Vec::new();
        for item in &sel.projection {
            match item {
                ast::SelectItem::Wildcard => {
                    let cols: Vec<DCol> = scope.cols.iter().filter(|c| c.star).cloned().collect();
                    for c in cols {
                        self.note_dep(c.dep);
                        items.push((None, Some(T::typed(c.var.clone(), c.ty.clone())), c.name));
                    }
                }
                ast::SelectItem::QualifiedWildcard(name) => {
                    let t = name.last().cloned().unwrap_or_default();
                    let cols: Vec<DCol> = scope
                        .cols
                        .iter()
                        .filter(|c| c.rte.is_some_and(|r| self.rtes[r].name == t))
                        .cloned()
                        .collect();
                    if cols.is_empty() {
                        return Err(SqlError::new(
                            SqlState::UNDEFINED_TABLE,
                            format!("missing FROM-clause entry for table \"{t}\""),
                        ));
                    }
                    for c in cols {
                        self.note_dep(c.dep);
                        items.push((None, Some(T::typed(c.var.clone(), c.ty.clone())), c.name));
                    }
                }
                ast::SelectItem::Expr { expr, alias } => {
                    let name = alias.clone().unwrap_or_else(|| default_column_name(expr));
                    items.push((Some(expr.clone()), None, name));
                }
            }
        }
        let mut targets = Vec::new();
        let mut cols = Vec::new();
        for (e, t, name) in &items {
            let t = match (e, t) {
                (_, Some(t)) => t.clone(),
                (Some(e), None) => self.expr(e, &scope)?,
                (None, None) => unreachable_item()?,
            };
            let ty = if t.ty == DataType::Unknown {
                DataType::Text
            } else {
                t.ty.clone()
            };
            let d = self.coerce(t, &ty, true)?;
            targets.push(DTarget {
                expr: d,
                name: name.clone(),
            });
            cols.push(OutCol {
                name: name.clone(),
                ty,
            });
        }
        // GROUP BY, DISTINCT ON and ORDER BY may name output columns.
        let by_output = |this: &mut Self, e: &Expr, group: bool| -> PlanResult<D> {
            match e {
                Expr::Literal(Value::Int4(n)) => targets
                    .get((*n as usize).wrapping_sub(1))
                    .map(|t| t.expr.clone())
                    .ok_or_else(|| super::binder::order_position_error(*n)),
                Expr::Column(n)
                    if n.len() == 1
                        && (!group || scope_lookup(&scope, n).is_none())
                        && items.iter().filter(|(_, _, name)| name == &n[0]).count() == 1 =>
                {
                    let i = items
                        .iter()
                        .position(|(_, _, name)| name == &n[0])
                        .expect("counted above");
                    Ok(targets[i].expr.clone())
                }
                e => match items.iter().position(|(ie, _, _)| ie.as_ref() == Some(e)) {
                    Some(i) => Ok(targets[i].expr.clone()),
                    None => {
                        let t = this.expr(e, &scope)?;
                        this.coerce(t, &DataType::Unknown, true)
                    }
                },
            }
        };
        let mut group_by = Vec::new();
        for g in &sel.group_by {
            group_by.push(by_output(self, g, true)?);
        }
        let having = match &sel.having {
            Some(h) => {
                let t = self.expr(h, &scope)?;
                Some(self.coerce(t, &DataType::Bool, false)?)
            }
            None => None,
        };
        let (distinct, distinct_all) = match &sel.distinct {
            ast::Distinct::None => (None, false),
            ast::Distinct::All => (None, true),
            ast::Distinct::On(on) => {
                let mut keys = Vec::new();
                for e in on {
                    keys.push(by_output(self, e, false)?);
                }
                (Some(keys), false)
            }
        };
        let mut order = Vec::new();
        for o in order_by {
            order.push(DSort {
                expr: by_output(self, &o.expr, false)?,
                desc: o.desc,
                nulls_first: o.nulls_first.unwrap_or(o.desc),
            });
        }
        Ok((
            DSelect {
                distinct,
                distinct_all,
                targets,
                from,
                selection,
                group_by,
                having,
            },
            cols,
            order,
        ))
    }

    // ------------------------------------------------------------- FROM

    fn range_item(
        &mut self,
        t: &ast::TableRef,
        rtable: &mut Vec<usize>,
    ) -> PlanResult<(DFrom, DScope)> {
        match t {
            ast::TableRef::Table { name, alias } => self.relation(name, alias.as_ref(), rtable),
            ast::TableRef::Subquery {
                query,
                alias,
                lateral,
            } => {
                if *lateral {
                    return Err(unsupported("LATERAL"));
                }
                let Some(alias) = alias else {
                    return Err(SqlError::new(
                        SqlState::SYNTAX_ERROR,
                        "subquery in FROM must have an alias",
                    ));
                };
                // A subquery in FROM sees the enclosing queries, not its
                // siblings.
                let (dq, cols) = self.query(query)?;
                let rte = self.new_rte(&alias.name, &alias.name, true, false);
                rtable.push(rte);
                let cols = rename(cols, &alias.columns);
                let scope = self.rte_scope(rte, &cols, None);
                let aliases = (!alias.columns.is_empty())
                    .then(|| cols.iter().map(|c| c.name.clone()).collect());
                Ok((
                    DFrom::Subquery {
                        rte,
                        query: Box::new(dq),
                        aliases,
                    },
                    scope,
                ))
            }
            ast::TableRef::Function {
                name,
                args,
                alias,
                ordinality,
            } => {
                let fname = match name.as_slice() {
                    [schema, f] if schema == "pg_catalog" => f.clone(),
                    [f] => f.clone(),
                    _ => return Err(unsupported("this function in FROM")),
                };
                let mut targs = Vec::new();
                let mut types = Vec::new();
                for a in args {
                    let t = self.expr(a, &DScope::default())?;
                    types.push(t.ty.clone());
                    targs.push(t);
                }
                let (want, ty): (Vec<DataType>, DataType) = match fname.as_str() {
                    "generate_series"
                        if types
                            .iter()
                            .all(|t| t.is_integer() || *t == DataType::Unknown) =>
                    {
                        let ty = if types.contains(&DataType::Int8) {
                            DataType::Int8
                        } else {
                            DataType::Int4
                        };
                        (vec![ty.clone(); types.len()], ty)
                    }
                    "unnest" if types.len() == 1 => match &types[0] {
                        DataType::Array(e) => (types.clone(), (**e).clone()),
                        _ => return Err(unsupported("unnest of this argument")),
                    },
                    _ => return Err(unsupported(format!("function {fname} in FROM"))),
                };
                let mut dargs = Vec::new();
                for (t, w) in targs.into_iter().zip(&want) {
                    dargs.push(self.coerce(t, w, true)?);
                }
                let label = alias.as_ref().map_or(fname.clone(), |a| a.name.clone());
                let mut cols = vec![OutCol {
                    name: fname.clone(),
                    ty,
                }];
                if *ordinality {
                    cols.push(OutCol {
                        name: "ordinality".into(),
                        ty: DataType::Int8,
                    });
                }
                let renames = alias.as_ref().map(|a| a.columns.as_slice()).unwrap_or(&[]);
                // A single-column function's column is named like the
                // alias when no column alias is given.
                let cols = if renames.is_empty() && alias.is_some() {
                    let mut c = cols;
                    c[0].name = label.clone();
                    c
                } else {
                    rename(cols, renames)
                };
                let rte = self.new_rte(&label, &fname, alias.is_some(), true);
                rtable.push(rte);
                let scope = self.rte_scope(rte, &cols, None);
                Ok((
                    DFrom::Function {
                        rte,
                        call: D::Func {
                            name: fname,
                            args: dargs,
                        },
                        ordinality: *ordinality,
                        aliases: cols.iter().map(|c| c.name.clone()).collect(),
                    },
                    scope,
                ))
            }
            ast::TableRef::Join {
                left,
                right,
                kind,
                constraint,
            } => {
                let (l, ls) = self.range_item(left, rtable)?;
                let (r, rs) = self.range_item(right, rtable)?;
                let using: Vec<String> = match constraint {
                    ast::JoinConstraint::Using(cols) => cols.clone(),
                    ast::JoinConstraint::Natural => ls
                        .cols
                        .iter()
                        .filter(|c| c.unqualified)
                        .filter(|c| rs.cols.iter().any(|r| r.unqualified && r.name == c.name))
                        .map(|c| c.name.clone())
                        .collect(),
                    _ => Vec::new(),
                };
                let mut scope = DScope::default();
                let mut left_cols = ls.cols;
                let mut right_cols = rs.cols;
                let full = matches!(kind, JoinKind::Full);
                for u in &using {
                    let find = |cols: &[DCol], side: &str| -> PlanResult<usize> {
                        let hits: Vec<usize> = cols
                            .iter()
                            .enumerate()
                            .filter(|(_, c)| c.unqualified && &c.name == u)
                            .map(|(i, _)| i)
                            .collect();
                        match hits.as_slice() {
                            [i] => Ok(*i),
                            [] => Err(SqlError::new(
                                SqlState::UNDEFINED_COLUMN,
                                format!(
                                    "column \"{u}\" specified in USING clause does not exist in {side} table"
                                ),
                            )),
                            _ => Err(SqlError::new(
                                SqlState::AMBIGUOUS_COLUMN,
                                format!(
                                    "common column name \"{u}\" appears more than once in {side} table"
                                ),
                            )),
                        }
                    };
                    let li = find(&left_cols, "left")?;
                    let ri = find(&right_cols, "right")?;
                    let (lc, rc) = (left_cols[li].clone(), right_cols[ri].clone());
                    self.note_dep(lc.dep);
                    self.note_dep(rc.dep);
                    let ty = resolve::common_type(&[lc.ty.clone(), rc.ty.clone()], "JOIN/USING")?;
                    let simple = lc.ty.oid() == rc.ty.oid();
                    let var = match kind {
                        _ if full || !simple => D::Var {
                            rte: None,
                            name: u.clone(),
                        },
                        JoinKind::Right => rc.var.clone(),
                        _ => lc.var.clone(),
                    };
                    scope.cols.push(DCol {
                        name: u.clone(),
                        ty,
                        var,
                        rte: None,
                        unqualified: true,
                        star: true,
                        dep: None,
                    });
                    for c in [&mut left_cols[li], &mut right_cols[ri]] {
                        c.unqualified = false;
                        c.star = false;
                    }
                }
                scope.cols.extend(left_cols);
                scope.cols.extend(right_cols);
                let on = match constraint {
                    ast::JoinConstraint::On(e) => {
                        let t = self.expr(e, &scope)?;
                        Some(self.coerce(t, &DataType::Bool, false)?)
                    }
                    _ => None,
                };
                let kind = match (kind, &on, using.is_empty()) {
                    (JoinKind::Inner, None, true) => JoinKind::Cross,
                    (k, _, _) => *k,
                };
                Ok((
                    DFrom::Join {
                        left: Box::new(l),
                        right: Box::new(r),
                        kind,
                        using,
                        on,
                    },
                    scope,
                ))
            }
        }
    }

    /// A table, view, CTE or system relation in FROM.
    fn relation(
        &mut self,
        name: &ast::Name,
        alias: Option<&ast::TableAlias>,
        rtable: &mut Vec<usize>,
    ) -> PlanResult<(DFrom, DScope)> {
        let tname = name.last().cloned().unwrap_or_default();
        let label = alias.map_or(tname.clone(), |a| a.name.clone());
        let renames = alias.map(|a| a.columns.as_slice()).unwrap_or(&[]);
        let aliases = |cols: &[OutCol]| {
            (!renames.is_empty()).then(|| cols.iter().map(|c| c.name.clone()).collect())
        };
        if name.len() == 1 {
            if let Some(cte) = self.ctes.iter().rev().find(|c| c.name == tname) {
                let cols = rename(cte.cols.clone(), renames);
                let rte = self.new_rte(&label, &tname, alias.is_some(), false);
                rtable.push(rte);
                let scope = self.rte_scope(rte, &cols, None);
                return Ok((
                    DFrom::Rel {
                        rte,
                        name: quote_ident(&tname),
                        aliases: aliases(&cols),
                    },
                    scope,
                ));
            }
        }
        let schema = name.len().checked_sub(2).map(|i| name[i].as_str());
        if let Some(sys) = self.catalog.system_relation(schema, &tname)? {
            let cols: Vec<OutCol> = sys
                .columns
                .iter()
                .map(|c| OutCol {
                    name: c.name.clone(),
                    ty: c.ty.clone(),
                })
                .collect();
            let cols = rename(cols, renames);
            let printed = match sys.qualified_name.split_once('.') {
                Some(("pg_catalog", n)) => quote_ident(n),
                Some((s, n)) => format!("{}.{}", quote_ident(s), quote_ident(n)),
                None => quote_ident(&sys.qualified_name),
            };
            let rte = self.new_rte(&label, &tname, alias.is_some(), false);
            rtable.push(rte);
            let scope = self.rte_scope(rte, &cols, None);
            return Ok((
                DFrom::Rel {
                    rte,
                    name: printed,
                    aliases: aliases(&cols),
                },
                scope,
            ));
        }
        if let Some(table) = self.catalog.table(name)? {
            let cols: Vec<(usize, OutCol)> = table
                .live_columns()
                .map(|(i, c)| {
                    (
                        i,
                        OutCol {
                            name: c.name.clone(),
                            ty: c.ty.clone(),
                        },
                    )
                })
                .collect();
            let positions: Vec<usize> = cols.iter().map(|(i, _)| *i).collect();
            let cols = rename(cols.into_iter().map(|(_, c)| c).collect(), renames);
            // Columns a column alias list names are read (their names are
            // in the definition).
            let entry = self.deps.entry(table.oid).or_default();
            entry.extend(positions.iter().take(renames.len()).copied());
            let rte = self.new_rte(&label, &tname, alias.is_some(), false);
            rtable.push(rte);
            let scope = self.rte_scope(rte, &cols, Some((table.oid, &positions)));
            return Ok((
                DFrom::Rel {
                    rte,
                    name: self.catalog.relation_text(table.namespace, &tname)?,
                    aliases: aliases(&cols),
                },
                scope,
            ));
        }
        if let Some(view) = self.catalog.view(name)? {
            let cols: Vec<OutCol> = view
                .columns
                .iter()
                .map(|c| OutCol {
                    name: c.name.clone(),
                    ty: c.ty.clone(),
                })
                .collect();
            let positions: Vec<usize> = (0..cols.len()).collect();
            let cols = rename(cols, renames);
            self.deps.entry(view.oid).or_default();
            let rte = self.new_rte(&label, &tname, alias.is_some(), false);
            rtable.push(rte);
            let scope = self.rte_scope(rte, &cols, Some((view.oid, &positions)));
            return Ok((
                DFrom::Rel {
                    rte,
                    name: self.catalog.relation_text(view.namespace, &tname)?,
                    aliases: aliases(&cols),
                },
                scope,
            ));
        }
        Err(super::undefined_table(&name.join(".")))
    }

    fn rte_scope(&self, rte: usize, cols: &[OutCol], rel: Option<(Oid, &[usize])>) -> DScope {
        DScope {
            cols: cols
                .iter()
                .enumerate()
                .map(|(i, c)| DCol {
                    name: c.name.clone(),
                    ty: c.ty.clone(),
                    var: D::Var {
                        rte: Some(rte),
                        name: c.name.clone(),
                    },
                    rte: Some(rte),
                    unqualified: true,
                    star: true,
                    dep: rel.and_then(|(oid, pos)| pos.get(i).map(|&p| (oid, p))),
                })
                .collect(),
        }
    }

    // -------------------------------------------------------- expressions

    fn column(&mut self, name: &[String], scope: &DScope) -> PlanResult<T> {
        if let Some(c) = self.lookup(name, scope)? {
            self.note_dep(c.dep);
            return Ok(T::typed(c.var, c.ty));
        }
        let outer = std::mem::take(&mut self.outer);
        let mut found = None;
        for s in outer.iter().rev() {
            if let Some(c) = self.lookup(name, s)? {
                found = Some(c);
                break;
            }
        }
        self.outer = outer;
        match found {
            Some(c) => {
                self.note_dep(c.dep);
                Ok(T::typed(c.var, c.ty))
            }
            None if name.len() >= 2 => {
                let t = &name[name.len() - 2];
                let known = |s: &DScope| {
                    s.cols
                        .iter()
                        .any(|c| c.rte.is_some_and(|r| &self.rtes[r].name == t))
                };
                if known(scope) || self.outer.iter().any(known) {
                    Err(super::undefined_column(&name.join(".")))
                } else {
                    Err(SqlError::new(
                        SqlState::UNDEFINED_TABLE,
                        format!("missing FROM-clause entry for table \"{t}\""),
                    ))
                }
            }
            None => Err(super::undefined_column(&name.join("."))),
        }
    }

    fn lookup(&self, name: &[String], scope: &DScope) -> PlanResult<Option<DCol>> {
        let (table, col) = match name {
            [c] => (None, c),
            [t, c] | [_, t, c] => (Some(t), c),
            _ => {
                return Err(SqlError::new(
                    SqlState::SYNTAX_ERROR,
                    format!("improper qualified name: {}", name.join(".")),
                ))
            }
        };
        let mut found: Option<DCol> = None;
        for c in &scope.cols {
            let hit = match table {
                None => c.unqualified && &c.name == col,
                Some(t) => &c.name == col && c.rte.is_some_and(|r| &self.rtes[r].name == t),
            };
            if hit {
                if found.is_some() {
                    return Err(SqlError::new(
                        SqlState::AMBIGUOUS_COLUMN,
                        format!("column reference \"{col}\" is ambiguous"),
                    ));
                }
                found = Some(c.clone());
            }
        }
        Ok(found)
    }

    /// `t` made a value of type `to` (Unknown: an untyped literal stays
    /// as it is, typed as text when it is a column). `implicit`: how a
    /// cast it needs is marked.
    fn coerce(&mut self, t: T, to: &DataType, implicit: bool) -> PlanResult<D> {
        match t.untyped {
            Some(Untyped::Null) => Ok(const_d(
                &Value::Null,
                if *to == DataType::Unknown { &t.ty } else { to },
            )),
            Some(Untyped::Str(s)) => {
                // `'s'::regclass` names a relation the view then depends
                // on (a sequence, typically).
                if let DataType::Reg(crate::value::types::RegKind::Class) = to {
                    let name = crate::sql::functions::catalog::split_name(&s)?;
                    let name = name.as_slice();
                    let oid = match self.catalog.sequence(name)? {
                        Some(seq) => Some(seq.oid),
                        None => self.catalog.table(name)?.map(|t| t.oid),
                    };
                    if let Some(oid) = oid {
                        self.deps.entry(oid).or_default();
                    }
                }
                // A literal is read as the type without its modifier.
                let to = base_type(to);
                if to == DataType::Unknown {
                    return Ok(const_d(&Value::Text(s), &DataType::Unknown));
                }
                literal_of_type(&s, &to)
            }
            None => {
                if *to == DataType::Unknown || *to == t.ty {
                    return Ok(t.d);
                }
                if t.ty.oid() == to.oid() && to.typmod() == -1 {
                    return Ok(t.d);
                }
                Ok(cast_d(t.d, &t.ty, to, implicit))
            }
        }
    }

    fn expr(&mut self, e: &Expr, scope: &DScope) -> PlanResult<T> {
        Ok(match e {
            Expr::Column(name) => self.column(name, scope)?,
            Expr::Literal(Value::Null) => T {
                d: D::Const {
                    text: "NULL".into(),
                    label: None,
                    ty: String::new(),
                },
                ty: DataType::Unknown,
                untyped: Some(Untyped::Null),
            },
            Expr::Literal(v) => T::typed(const_d(v, &v.data_type()), v.data_type()),
            Expr::UntypedString(s) => T {
                d: const_d(&Value::Text(s.clone()), &DataType::Unknown),
                ty: DataType::Unknown,
                untyped: Some(Untyped::Str(s.clone())),
            },
            Expr::Param(n) => {
                return Err(SqlError::new(
                    SqlState("42P02"),
                    format!("there is no parameter ${n}"),
                ))
            }
            Expr::Default => {
                return Err(SqlError::new(
                    SqlState::SYNTAX_ERROR,
                    "DEFAULT is not allowed in this context",
                ))
            }
            Expr::Unary {
                op: UnOp::Not,
                expr,
            } => {
                let t = self.expr(expr, scope)?;
                let d = self.coerce(t, &DataType::Bool, true)?;
                T::typed(D::Not(Box::new(d)), DataType::Bool)
            }
            Expr::Unary { op, expr } => {
                let name = match op {
                    UnOp::Neg => "-",
                    UnOp::Plus => "+",
                    _ => "~",
                };
                let t = self.expr(expr, scope)?;
                let res = resolve::resolve_operator(name, None, &t.ty)?;
                let d = self.coerce(t, &res.args[0], true)?;
                T::typed(
                    D::Op {
                        name: name.into(),
                        args: vec![d],
                    },
                    res.result,
                )
            }
            Expr::Binary {
                op: op @ (BinOp::And | BinOp::Or),
                ..
            } => {
                // `a AND b AND c` is one AND of three (PostgreSQL's parser
                // flattens the left-nested chain).
                let mut args = Vec::new();
                let mut cur = e;
                let mut rights = Vec::new();
                while let Expr::Binary { op: o, left, right } = cur {
                    if o != op {
                        break;
                    }
                    rights.push(&**right);
                    cur = left;
                }
                rights.push(cur);
                rights.reverse();
                for x in rights {
                    let t = self.expr(x, scope)?;
                    args.push(self.coerce(t, &DataType::Bool, true)?);
                }
                let d = if *op == BinOp::And {
                    D::And(args)
                } else {
                    D::Or(args)
                };
                T::typed(d, DataType::Bool)
            }
            Expr::Binary { op, left, right } => {
                let name = operator_name(*op).expect("AND/OR handled above");
                let l = self.expr(left, scope)?;
                let r = self.expr(right, scope)?;
                self.operator(name, l, r)?
            }
            Expr::IsNull { expr, negated } => {
                let t = self.expr(expr, scope)?;
                let d = self.coerce(t, &DataType::Unknown, true)?;
                T::typed(
                    D::NullTest {
                        arg: Box::new(d),
                        not: *negated,
                    },
                    DataType::Bool,
                )
            }
            Expr::IsBool {
                expr,
                value,
                negated,
            } => {
                let t = self.expr(expr, scope)?;
                let d = self.coerce(t, &DataType::Bool, true)?;
                let what = match (value, negated) {
                    (true, false) => " IS TRUE",
                    (true, true) => " IS NOT TRUE",
                    (false, false) => " IS FALSE",
                    (false, true) => " IS NOT FALSE",
                };
                T::typed(
                    D::BoolTest {
                        arg: Box::new(d),
                        what,
                    },
                    DataType::Bool,
                )
            }
            Expr::IsDistinctFrom {
                left,
                right,
                negated,
            } => {
                let l = self.expr(left, scope)?;
                let r = self.expr(right, scope)?;
                let T { d, .. } = self.operator("=", l, r)?;
                let D::Op { args, .. } = d else {
                    return Err(unsupported("IS DISTINCT FROM over these types"));
                };
                let mut args = args.into_iter();
                let (Some(a), Some(b)) = (args.next(), args.next()) else {
                    return Err(unsupported("IS DISTINCT FROM over these types"));
                };
                let d = D::Distinct(Box::new(a), Box::new(b));
                let d = if *negated { D::Not(Box::new(d)) } else { d };
                T::typed(d, DataType::Bool)
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let (lo_op, hi_op) = if *negated { ("<", ">") } else { (">=", "<=") };
                let x = self.expr(expr, scope)?;
                let lo = self.expr(low, scope)?;
                let hi = self.expr(high, scope)?;
                let a = self.operator(lo_op, x.clone(), lo)?.d;
                let b = self.operator(hi_op, x, hi)?.d;
                let d = if *negated {
                    D::Or(vec![a, b])
                } else {
                    D::And(vec![a, b])
                };
                T::typed(d, DataType::Bool)
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => self.in_list(expr, list, *negated, scope)?,
            Expr::InSubquery {
                expr,
                query,
                negated,
            } => {
                let x = self.expr(expr, scope)?;
                let (dq, cols) = self.sublink_query(query, scope)?;
                let col = one_column(&cols)?;
                let (left, op) = self.quantified_left(x, "=", &col.ty)?;
                let d = D::Sublink {
                    kind: SubKind::Quantified {
                        left: Box::new(left),
                        op,
                        all: false,
                    },
                    query: Box::new(dq),
                };
                let d = if *negated { D::Not(Box::new(d)) } else { d };
                T::typed(d, DataType::Bool)
            }
            Expr::Exists { query, negated } => {
                let (dq, _) = self.sublink_query(query, scope)?;
                let d = D::Sublink {
                    kind: SubKind::Exists,
                    query: Box::new(dq),
                };
                let d = if *negated { D::Not(Box::new(d)) } else { d };
                T::typed(d, DataType::Bool)
            }
            Expr::Subquery(query) => {
                let (dq, cols) = self.sublink_query(query, scope)?;
                let ty = one_column(&cols)?.ty;
                T::typed(
                    D::Sublink {
                        kind: SubKind::Expr,
                        query: Box::new(dq),
                    },
                    ty,
                )
            }
            Expr::ArraySubquery(query) => {
                let (dq, cols) = self.sublink_query(query, scope)?;
                let ty = one_column(&cols)?.ty;
                T::typed(
                    D::Sublink {
                        kind: SubKind::Array,
                        query: Box::new(dq),
                    },
                    DataType::Array(Box::new(ty)),
                )
            }
            Expr::Quantified {
                left,
                op,
                all,
                right,
            } => {
                let name = operator_name(*op).ok_or_else(|| unsupported("ANY/ALL with AND/OR"))?;
                let x = self.expr(left, scope)?;
                match right {
                    ast::QuantifiedRhs::Subquery(q) => {
                        let (dq, cols) = self.sublink_query(q, scope)?;
                        let col = one_column(&cols)?;
                        let (left, op) = self.quantified_left(x, name, &col.ty)?;
                        T::typed(
                            D::Sublink {
                                kind: SubKind::Quantified {
                                    left: Box::new(left),
                                    op,
                                    all: *all,
                                },
                                query: Box::new(dq),
                            },
                            DataType::Bool,
                        )
                    }
                    ast::QuantifiedRhs::Expr(arr) => {
                        let a = self.expr(arr, scope)?;
                        let elem = match &a.ty {
                            DataType::Array(e) => (**e).clone(),
                            DataType::Unknown => x.ty.clone(),
                            other => {
                                return Err(SqlError::new(
                                    SqlState::WRONG_OBJECT_TYPE,
                                    format!(
                                    "op ANY/ALL (array) requires array on right side, not {other}"
                                ),
                                ))
                            }
                        };
                        let res = resolve::resolve_operator(name, Some(&x.ty), &elem)?;
                        let l = self.coerce(x, &res.args[0], true)?;
                        let r =
                            self.coerce(a, &DataType::Array(Box::new(res.args[1].clone())), true)?;
                        T::typed(
                            D::ArrayOp {
                                left: Box::new(l),
                                op: name.into(),
                                all: *all,
                                right: Box::new(r),
                            },
                            DataType::Bool,
                        )
                    }
                }
            }
            Expr::Like {
                expr,
                pattern,
                escape,
                negated,
                case_insensitive,
            } => {
                if escape.is_some() {
                    return Err(unsupported("LIKE ... ESCAPE"));
                }
                let name = match (negated, case_insensitive) {
                    (false, false) => "~~",
                    (false, true) => "~~*",
                    (true, false) => "!~~",
                    (true, true) => "!~~*",
                };
                let x = self.expr(expr, scope)?;
                let p = self.expr(pattern, scope)?;
                let lt = match x.ty {
                    DataType::Char(_) | DataType::Bytea => x.ty.clone(),
                    _ => DataType::Text,
                };
                let rt = if lt == DataType::Bytea {
                    DataType::Bytea
                } else {
                    DataType::Text
                };
                let l = self.coerce(x, &lt, true)?;
                let r = self.coerce(p, &rt, true)?;
                T::typed(
                    D::Op {
                        name: name.into(),
                        args: vec![l, r],
                    },
                    DataType::Bool,
                )
            }
            Expr::Case {
                operand,
                whens,
                else_result,
            } => self.case(operand.as_deref(), whens, else_result.as_deref(), scope)?,
            Expr::Cast { expr, ty } => self.cast(expr, ty, scope)?,
            Expr::Array(items) => {
                let mut ts = Vec::new();
                for i in items {
                    ts.push(self.expr(i, scope)?);
                }
                if ts.is_empty() {
                    return Err(SqlError::new(
                        SqlState("42P18"),
                        "cannot determine type of empty array",
                    ));
                }
                let types: Vec<DataType> = ts.iter().map(|t| t.ty.clone()).collect();
                let ty = resolve::common_type(&types, "ARRAY")?;
                let ty = if ty == DataType::Unknown {
                    DataType::Text
                } else {
                    ty
                };
                let mut ds = Vec::new();
                for t in ts {
                    ds.push(self.coerce(t, &ty, true)?);
                }
                T::typed(D::Array(ds), DataType::Array(Box::new(ty)))
            }
            Expr::Subscript { expr, index } => {
                let a = self.expr(expr, scope)?;
                let elem = match &a.ty {
                    DataType::Array(e) => (**e).clone(),
                    other => {
                        return Err(SqlError::new(
                            SqlState::DATATYPE_MISMATCH,
                            format!("cannot subscript type {other} because it does not support subscripting"),
                        ))
                    }
                };
                let a = self.coerce(a, &DataType::Unknown, true)?;
                let i = self.expr(index, scope)?;
                let i = self.coerce(i, &DataType::Int4, true)?;
                T::typed(D::Subscript(Box::new(a), Box::new(i)), elem)
            }
            Expr::Row(_) => return Err(unsupported("a row constructor")),
            Expr::Function(f) => self.function(f, scope)?,
        })
    }

    /// `l name r` resolved as PostgreSQL resolves operators: the sides
    /// cast to the operator's argument types.
    fn operator(&mut self, name: &str, l: T, r: T) -> PlanResult<T> {
        let (l, r, _, _, result) = self.operator_parts(name, l, r)?;
        Ok(T::typed(
            D::Op {
                name: name.into(),
                args: vec![l, r],
            },
            result,
        ))
    }

    /// The two sides of `l name r` made the operator's argument types,
    /// with those types and the result's.
    fn operator_parts(
        &mut self,
        name: &str,
        l: T,
        r: T,
    ) -> PlanResult<(D, D, DataType, DataType, DataType)> {
        // OID alias types compare as the integers our catalogs hold.
        if matches!(l.ty, DataType::Reg(_)) || matches!(r.ty, DataType::Reg(_)) {
            let lt = if l.ty == DataType::Unknown {
                r.ty.clone()
            } else {
                l.ty.clone()
            };
            let rt = if r.ty == DataType::Unknown {
                l.ty.clone()
            } else {
                r.ty.clone()
            };
            let dl = self.coerce(l, &lt, true)?;
            let dr = self.coerce(r, &rt, true)?;
            return Ok((dl, dr, lt, rt, DataType::Bool));
        }
        let res = resolve::resolve_operator(name, Some(&l.ty), &r.ty)?;
        let (mut lt, mut rt) = (res.args[0].clone(), res.args[1].clone());
        // bpchar's operators (which resolution reports as text's): a
        // char(n) side keeps its type, an untyped literal beside it takes
        // it.
        let char_or_untyped = |t: &T| matches!(t.ty, DataType::Char(_)) || t.untyped.is_some();
        if char_or_untyped(&l) && char_or_untyped(&r) {
            if let DataType::Char(_) = &l.ty {
                lt = l.ty.clone();
                rt = if r.untyped.is_some() {
                    l.ty.clone()
                } else {
                    r.ty.clone()
                };
            } else if let DataType::Char(_) = &r.ty {
                rt = r.ty.clone();
                lt = r.ty.clone();
            }
        }
        let result = res.result;
        let dl = self.coerce(l, &lt, true)?;
        let dr = self.coerce(r, &rt, true)?;
        Ok((dl, dr, lt, rt, result))
    }

    /// The left side of `x op ANY (subquery)` as printed, and the operator.
    fn quantified_left(&mut self, x: T, op: &str, col: &DataType) -> PlanResult<(D, String)> {
        let res = resolve::resolve_operator(op, Some(&x.ty), col)?;
        Ok((self.coerce(x, &res.args[0], true)?, op.to_string()))
    }

    fn sublink_query(
        &mut self,
        q: &ast::Query,
        scope: &DScope,
    ) -> PlanResult<(DQuery, Vec<OutCol>)> {
        self.outer.push(scope.clone());
        let result = self.query(q);
        self.outer.pop();
        result
    }

    /// `x IN (list)`: the list items without columns of this query become
    /// `x = ANY (ARRAY[...])` (when more than one), the others `x = item`
    /// joined by OR (PostgreSQL's transformAExprIn).
    fn in_list(&mut self, x: &Expr, list: &[Expr], negated: bool, scope: &DScope) -> PlanResult<T> {
        let op = if negated { "<>" } else { "=" };
        let lx = self.expr(x, scope)?;
        let mut vars = Vec::new();
        let mut nonvars = Vec::new();
        for item in list {
            let t = self.expr(item, scope)?;
            if contains_var(&t.d, scope) {
                vars.push(t);
            } else {
                nonvars.push(t);
            }
        }
        let mut result: Option<D> = None;
        let rest = if nonvars.len() > 1 {
            let mut types = vec![lx.ty.clone()];
            types.extend(nonvars.iter().map(|t| t.ty.clone()));
            let common = resolve::common_type(&types, "IN")?;
            let common = if common == DataType::Unknown {
                DataType::Text
            } else {
                common
            };
            let mut elems = Vec::new();
            for t in nonvars {
                elems.push(self.coerce(t, &common, true)?);
            }
            let res = resolve::resolve_operator(op, Some(&lx.ty), &common)?;
            let l = self.coerce(lx.clone(), &res.args[0], true)?;
            result = Some(D::ArrayOp {
                left: Box::new(l),
                op: op.into(),
                all: negated,
                right: Box::new(D::Array(elems)),
            });
            vars
        } else {
            nonvars.extend(vars);
            nonvars
        };
        for r in rest {
            let cmp = self.operator(op, lx.clone(), r)?.d;
            result = Some(match result {
                None => cmp,
                Some(prev) if negated => D::And(vec![prev, cmp]),
                Some(prev) => D::Or(vec![prev, cmp]),
            });
        }
        let d = result.ok_or_else(|| {
            SqlError::new(SqlState::SYNTAX_ERROR, "syntax error at or near \")\"")
        })?;
        Ok(T::typed(d, DataType::Bool))
    }

    fn case(
        &mut self,
        operand: Option<&Expr>,
        whens: &[(Expr, Expr)],
        else_result: Option<&Expr>,
        scope: &DScope,
    ) -> PlanResult<T> {
        let arg = match operand {
            Some(o) => Some(self.expr(o, scope)?),
            None => None,
        };
        let mut conds = Vec::new();
        for (w, _) in whens {
            let t = self.expr(w, scope)?;
            conds.push(match &arg {
                Some(a) => {
                    // `CASE x WHEN v`: x = v, of which PostgreSQL shows v.
                    let op = self.operator("=", a.clone(), t)?;
                    match op.d {
                        D::Op { mut args, .. } if args.len() == 2 => {
                            args.pop().expect("two arguments")
                        }
                        other => other,
                    }
                }
                None => self.coerce(t, &DataType::Bool, false)?,
            });
        }
        let mut results = Vec::new();
        let else_t = match else_result {
            Some(e) => self.expr(e, scope)?,
            None => T {
                d: D::Const {
                    text: "NULL".into(),
                    label: None,
                    ty: String::new(),
                },
                ty: DataType::Unknown,
                untyped: Some(Untyped::Null),
            },
        };
        for (_, r) in whens {
            results.push(self.expr(r, scope)?);
        }
        let mut types = vec![else_t.ty.clone()];
        types.extend(results.iter().map(|t| t.ty.clone()));
        let ty = resolve::common_type(&types, "CASE")?;
        let ty = if ty == DataType::Unknown {
            DataType::Text
        } else {
            ty
        };
        let default = self.coerce(else_t, &ty, true)?;
        let mut pairs = Vec::new();
        for (c, r) in conds.into_iter().zip(results) {
            pairs.push((c, self.coerce(r, &ty, true)?));
        }
        let arg = match arg {
            Some(a) => Some(Box::new(self.coerce(a, &DataType::Unknown, true)?)),
            None => None,
        };
        Ok(T::typed(
            D::Case {
                arg,
                whens: pairs,
                default: Box::new(default),
            },
            ty,
        ))
    }

    fn cast(&mut self, e: &Expr, ty: &DataType, scope: &DScope) -> PlanResult<T> {
        // `ARRAY[]::integer[]`: the empty array is of the type.
        if let (Expr::Array(items), DataType::Array(_)) = (e, ty) {
            if items.is_empty() {
                let d = D::Cast {
                    arg: Box::new(D::Array(Vec::new())),
                    ty: ty.to_string(),
                    func: false,
                    implicit: false,
                    bare: true,
                };
                return Ok(T::typed(d, ty.clone()));
            }
        }
        let t = self.expr(e, scope)?;
        let d = match &t.untyped {
            Some(Untyped::Str(s)) if ty.typmod() != -1 => {
                // The literal is read as the type without its modifier,
                // then coerced to the modifier.
                let v = parse_text(s, &base_type(ty), &TimeZone::utc())?;
                let D::Const {
                    text, ty: tname, ..
                } = const_d(&v, &base_type(ty))
                else {
                    return Err(unsupported("this literal"));
                };
                D::Cast {
                    arg: Box::new(D::Const {
                        text,
                        label: None,
                        ty: tname,
                    }),
                    ty: ty.to_string(),
                    func: true,
                    implicit: false,
                    bare: true,
                }
            }
            Some(_) => self.coerce(t, ty, false)?,
            None => {
                if t.ty == *ty || (t.ty.oid() == ty.oid() && ty.typmod() == -1) {
                    t.d
                } else {
                    cast_d(t.d, &t.ty, ty, false)
                }
            }
        };
        Ok(T::typed(d, ty.clone()))
    }

    fn function(&mut self, f: &ast::FunctionCall, scope: &DScope) -> PlanResult<T> {
        let name = f
            .name
            .strip_prefix("pg_catalog.")
            .unwrap_or(&f.name)
            .to_string();
        if f.over {
            return Err(unsupported("window functions"));
        }
        if is_aggregate(&name) {
            return self.aggregate(&name, f, scope);
        }
        if f.distinct || f.star || f.filter.is_some() || !f.order_by.is_empty() {
            return Err(SqlError::new(
                SqlState::WRONG_OBJECT_TYPE,
                format!("{name} is not an aggregate function"),
            ));
        }
        if f.args.is_empty() {
            if let Some(k) = value_keyword(&name) {
                let ty = match name.as_str() {
                    "current_date" => DataType::Date,
                    "current_timestamp" => DataType::Timestamptz,
                    "localtimestamp" => DataType::Timestamp,
                    "current_time" | "localtime" => {
                        return Err(unsupported("the time type"));
                    }
                    _ => DataType::Text,
                };
                return Ok(T::typed(D::Keyword(k), ty));
            }
        }
        let mut args = Vec::new();
        for a in &f.args {
            args.push(self.expr(a, scope)?);
        }
        match name.as_str() {
            "coalesce" | "greatest" | "least" => {
                let types: Vec<DataType> = args.iter().map(|t| t.ty.clone()).collect();
                let what = name.to_uppercase();
                let ty = resolve::common_type(&types, &what)?;
                let ty = if ty == DataType::Unknown {
                    DataType::Text
                } else {
                    ty
                };
                let mut ds = Vec::new();
                for t in args {
                    ds.push(self.coerce(t, &ty, true)?);
                }
                let name = match name.as_str() {
                    "coalesce" => "COALESCE",
                    "greatest" => "GREATEST",
                    _ => "LEAST",
                };
                return Ok(T::typed(D::Special { name, args: ds }, ty));
            }
            "nullif" if args.len() == 2 => {
                let mut it = args.into_iter();
                let (a, b) = (
                    it.next().expect("two arguments"),
                    it.next().expect("two arguments"),
                );
                let (da, db, ta, _, _) = self.operator_parts("=", a, b)?;
                return Ok(T::typed(
                    D::Special {
                        name: "NULLIF",
                        args: vec![da, db],
                    },
                    ta,
                ));
            }
            "extract" if args.len() == 2 && matches!(f.args[0], Expr::UntypedString(_)) => {
                let Expr::UntypedString(field) = &f.args[0] else {
                    return Err(unsupported("EXTRACT"));
                };
                let mut it = args.into_iter().skip(1);
                let x = it.next().expect("two arguments");
                let x = self.coerce(x, &DataType::Unknown, true)?;
                return Ok(T::typed(
                    D::Extract {
                        field: field.clone(),
                        arg: Box::new(x),
                    },
                    DataType::Numeric(None),
                ));
            }
            _ => {}
        }
        if let Some(op) = regex_operator(&name) {
            if args.len() == 2 {
                let mut it = args.into_iter();
                let (a, b) = (it.next().expect("two"), it.next().expect("two"));
                let r = self.operator(op, a, b)?;
                return Ok(r);
            }
        }
        let types: Vec<DataType> = args.iter().map(|t| t.ty.clone()).collect();
        if resolve::has_function(&name) {
            let res = resolve::resolve_function(&name, &types)?;
            let mut ds = Vec::new();
            let mut coerced = Vec::new();
            for (t, want) in args.into_iter().zip(&res.args) {
                coerced.push(if *want == DataType::Unknown {
                    t.ty.clone()
                } else {
                    want.clone()
                });
                ds.push(self.coerce(t, want, true)?);
            }
            let ty = if matches!(res.result, DataType::Unknown | DataType::Reg(_)) {
                functions::function_return_type(&name, &coerced)?
            } else {
                res.result
            };
            return Ok(T::typed(D::Func { name, args: ds }, ty));
        }
        // Our own functions (pgvector's, the jsonb helpers...): untyped
        // arguments take the parameter's declared type.
        let mut ds = Vec::new();
        let mut coerced = Vec::new();
        for (i, t) in args.into_iter().enumerate() {
            let want = match functions::parameter_type(&name, i) {
                DataType::Unknown => jsonb_parameter(&name, i),
                w => w,
            };
            let want = if t.untyped.is_some() && want == DataType::Unknown {
                DataType::Text
            } else if t.untyped.is_some() {
                want
            } else {
                DataType::Unknown
            };
            coerced.push(if want == DataType::Unknown {
                t.ty.clone()
            } else {
                want.clone()
            });
            ds.push(self.coerce(t, &want, true)?);
        }
        let ty = functions::function_return_type(&name, &coerced)?;
        Ok(T::typed(D::Func { name, args: ds }, ty))
    }

    fn aggregate(&mut self, name: &str, f: &ast::FunctionCall, scope: &DScope) -> PlanResult<T> {
        if f.args.iter().any(contains_aggregate) {
            return Err(SqlError::new(
                SqlState::GROUPING_ERROR,
                "aggregate function calls cannot be nested",
            ));
        }
        let mut args = Vec::new();
        for a in &f.args {
            args.push(self.expr(a, scope)?);
        }
        let types: Vec<DataType> = args.iter().map(|t| t.ty.clone()).collect();
        let ty = agg_result_type(name, f.star, &types).ok_or_else(|| {
            SqlError::new(
                SqlState::UNDEFINED_FUNCTION,
                format!(
                    "function {name}({}) does not exist",
                    types
                        .iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        let mut ds = Vec::new();
        for t in args {
            let want = match (name, &t.ty) {
                ("string_agg", _) | ("min" | "max", DataType::Varchar(_)) => DataType::Text,
                (_, DataType::Unknown) => DataType::Text,
                _ => DataType::Unknown,
            };
            ds.push(self.coerce(t, &want, true)?);
        }
        let filter = match &f.filter {
            Some(e) => {
                let t = self.expr(e, scope)?;
                Some(Box::new(self.coerce(t, &DataType::Bool, false)?))
            }
            None => None,
        };
        let mut order = Vec::new();
        for o in &f.order_by {
            let t = self.expr(&o.expr, scope)?;
            order.push(DSort {
                expr: self.coerce(t, &DataType::Unknown, true)?,
                desc: o.desc,
                nulls_first: o.nulls_first.unwrap_or(o.desc),
            });
        }
        Ok(T::typed(
            D::Agg {
                name: name.to_string(),
                star: f.star,
                distinct: f.distinct,
                args: ds,
                order,
                filter,
            },
            ty,
        ))
    }
}

fn unreachable_item() -> PlanResult<T> {
    Err(SqlError::new(
        SqlState::INTERNAL_ERROR,
        "select-list item without an expression",
    ))
}

/// Whether `d` reads a column of `scope` (PostgreSQL's
/// contain_vars_of_level(expr, 0), subqueries aside).
fn contains_var(d: &D, scope: &DScope) -> bool {
    let here = |rte: &Option<usize>| match rte {
        None => true,
        Some(r) => scope.cols.iter().any(|c| c.rte == Some(*r)),
    };
    let any = |ds: &[D]| ds.iter().any(|x| contains_var(x, scope));
    match d {
        D::Var { rte, .. } => here(rte),
        D::Const { .. } | D::Keyword(_) | D::Sublink { .. } => false,
        D::Op { args, .. }
        | D::And(args)
        | D::Or(args)
        | D::Func { args, .. }
        | D::Special { args, .. }
        | D::Array(args) => any(args),
        D::Agg { args, filter, .. } => {
            any(args) || filter.as_deref().is_some_and(|f| contains_var(f, scope))
        }
        D::Not(a) | D::Cast { arg: a, .. } | D::Extract { arg: a, .. } => contains_var(a, scope),
        D::NullTest { arg, .. } | D::BoolTest { arg, .. } => contains_var(arg, scope),
        D::Distinct(a, b) | D::Subscript(a, b) => contains_var(a, scope) || contains_var(b, scope),
        D::ArrayOp { left, right, .. } => contains_var(left, scope) || contains_var(right, scope),
        D::Case {
            arg,
            whens,
            default,
        } => {
            arg.as_deref().is_some_and(|a| contains_var(a, scope))
                || whens
                    .iter()
                    .any(|(w, r)| contains_var(w, scope) || contains_var(r, scope))
                || contains_var(default, scope)
        }
    }
}

fn one_column(cols: &[OutCol]) -> PlanResult<OutCol> {
    match cols {
        [c] => Ok(c.clone()),
        _ => Err(SqlError::new(
            SqlState::SYNTAX_ERROR,
            "subquery must return only one column",
        )),
    }
}

fn scope_lookup<'s>(scope: &'s DScope, name: &[String]) -> Option<&'s DCol> {
    match name {
        [c] => scope.cols.iter().find(|x| x.unqualified && &x.name == c),
        _ => None,
    }
}

fn rename(mut cols: Vec<OutCol>, names: &[String]) -> Vec<OutCol> {
    for (c, n) in cols.iter_mut().zip(names) {
        c.name = n.clone();
    }
    cols
}

/// A literal read as type `ty`, as its constant prints.
fn literal_of_type(s: &str, ty: &DataType) -> PlanResult<D> {
    if let DataType::Reg(_) = ty {
        return Ok(D::Const {
            text: format!("'{}'", s.replace('\'', "''")),
            label: Some(ty.to_string()),
            ty: ty.to_string(),
        });
    }
    let v = parse_text(s, ty, &TimeZone::utc())?;
    Ok(const_d(&v, ty))
}

/// `d` (of type `from`) cast to `to`.
fn cast_d(d: D, from: &DataType, to: &DataType, implicit: bool) -> D {
    let method = resolve::coercion_method(from.oid(), to.oid(), resolve::Context::Explicit);
    let func = match method {
        Some(b'f') => true,
        Some(_) => false,
        // Casts PostgreSQL lacks (ours): print them as function casts.
        None => true,
    };
    // A length coercion of the same type is a function call too.
    let func = func || (from.oid() == to.oid());
    D::Cast {
        arg: Box::new(d),
        ty: to.to_string(),
        func,
        implicit,
        bare: false,
    }
}

/// Gives column `i` of a set operation's leaves type `ty` (their untyped
/// literals).
fn type_leaf_column(op: &mut DSetOp, i: usize, ty: &DataType) {
    match op {
        DSetOp::Leaf(q) => {
            if let DBody::Select(s) = &mut q.body {
                if let Some(t) = s.targets.get_mut(i) {
                    if let D::Const { text, label, .. } = &mut t.expr {
                        if label.as_deref() == Some("text") && *ty != DataType::Text {
                            let inner = text.trim_matches('\'').replace("''", "'");
                            if let Ok(d) = literal_of_type(&inner, ty) {
                                t.expr = d;
                            }
                        }
                    }
                }
            }
        }
        DSetOp::Op { left, right, .. } => {
            type_leaf_column(left, i, ty);
            type_leaf_column(right, i, ty);
        }
    }
}

// --------------------------------------------------------------- printing

const INDENT_STD: i32 = 8;
const INDENT_JOIN: i32 = 4;
const INDENT_VAR: i32 = 4;
const INDENT_LIMIT: i32 = 40;

struct Printer<'r> {
    buf: String,
    indent: i32,
    /// PostgreSQL's PRETTYFLAG_PAREN (`pretty` = true); indentation is
    /// always on, as for `pg_get_viewdef`.
    pretty: bool,
    rtes: &'r mut Vec<Rte>,
    /// Names taken by the enclosing query levels (innermost last).
    namespaces: Vec<HashSet<String>>,
}

/// The parent kinds PostgreSQL's `isSimpleNode` tells apart.
#[derive(Clone, Copy)]
enum Parent<'a> {
    /// An operator: its name and number of arguments.
    Op(&'a str, usize),
    Bool(BoolKind),
    /// A cast.
    Cast,
    Other,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BoolKind {
    And,
    Or,
    Not,
}

impl Printer<'_> {
    fn keyword(&mut self, s: &str, before: i32, after: i32, plus: i32) {
        self.indent += before;
        while self.buf.ends_with(' ') {
            self.buf.pop();
        }
        self.buf.push('\n');
        let amount = if self.indent < INDENT_LIMIT {
            self.indent.max(0) + plus
        } else {
            let mut a = INDENT_LIMIT + (self.indent - INDENT_LIMIT) / (INDENT_STD / 2);
            a %= INDENT_LIMIT;
            a + plus
        };
        for _ in 0..amount {
            self.buf.push(' ');
        }
        self.buf.push_str(s);
        self.indent += after;
        if self.indent < 0 {
            self.indent = 0;
        }
    }

    /// Assigns this level's range-table names (PostgreSQL's
    /// set_rtable_names): a name taken here or by an enclosing level gets
    /// `_n` appended.
    fn name_level(&mut self, q: &DQuery) -> HashSet<String> {
        let mut taken: HashSet<String> = self.namespaces.iter().flatten().cloned().collect();
        let mut here = HashSet::new();
        for r in &q.reserved {
            taken.insert(r.clone());
            here.insert(r.clone());
        }
        for &i in &q.rtable {
            let base = self.rtes[i].name.clone();
            let mut name = base.clone();
            let mut n = 0;
            while taken.contains(&name) {
                n += 1;
                name = format!("{base}_{n}");
            }
            taken.insert(name.clone());
            here.insert(name.clone());
            self.rtes[i].refname = name;
        }
        here
    }

    /// `get_query_def`: `names` are the output names to show (a view's
    /// columns), `visible`: whether column names matter to the reader.
    fn query(&mut self, q: &DQuery, names: Option<&[String]>, visible: bool) {
        let level = self.name_level(q);
        self.namespaces.push(level);
        self.with_clause(q);
        match &q.body {
            DBody::Select(s) => self.select(s, names, visible),
            DBody::Values(rows) => {
                self.indent += INDENT_STD;
                self.buf.push(' ');
                self.values(rows);
            }
            DBody::SetOp(op) => self.set_op(op, names, visible),
        }
        if !q.order_by.is_empty() {
            self.keyword(" ORDER BY ", -INDENT_STD, INDENT_STD, 1);
            let setop = matches!(q.body, DBody::SetOp(_));
            self.sort_list(&q.order_by, !setop);
        }
        if let Some(o) = &q.offset {
            self.keyword(" OFFSET ", -INDENT_STD, INDENT_STD, 0);
            self.expr(o, false);
        }
        if let Some(l) = &q.limit {
            self.keyword(" LIMIT ", -INDENT_STD, INDENT_STD, 0);
            if matches!(l, D::Const { text, label: None, .. } if text == "NULL") {
                self.buf.push_str("ALL");
            } else {
                self.expr(l, false);
            }
        }
        self.namespaces.pop();
    }

    fn with_clause(&mut self, q: &DQuery) {
        if q.ctes.is_empty() {
            return;
        }
        self.indent += INDENT_STD;
        self.buf.push(' ');
        let mut sep = if q.recursive {
            "WITH RECURSIVE "
        } else {
            "WITH "
        };
        for c in &q.ctes {
            self.buf.push_str(sep);
            self.buf.push_str(&quote_ident(&c.name));
            if !c.columns.is_empty() {
                let cols: Vec<String> = c.columns.iter().map(|c| quote_ident(c)).collect();
                self.buf.push('(');
                self.buf.push_str(&cols.join(", "));
                self.buf.push(')');
            }
            self.buf.push_str(" AS (");
            self.keyword("", 0, 0, 0);
            let saved = self.indent;
            self.query(&c.query, None, true);
            self.indent = saved;
            self.keyword("", 0, 0, 0);
            self.buf.push(')');
            sep = ", ";
        }
        self.indent -= INDENT_STD;
        self.keyword("", 0, 0, 0);
    }

    fn values(&mut self, rows: &[Vec<D>]) {
        self.buf.push_str("VALUES ");
        for (i, r) in rows.iter().enumerate() {
            if i > 0 {
                self.buf.push_str(", ");
            }
            self.buf.push('(');
            for (j, v) in r.iter().enumerate() {
                if j > 0 {
                    self.buf.push(',');
                }
                self.expr(v, false);
            }
            self.buf.push(')');
        }
    }

    fn set_op(&mut self, op: &DSetOp, names: Option<&[String]>, visible: bool) {
        match op {
            DSetOp::Leaf(q) => {
                let paren = !q.ctes.is_empty()
                    || !q.order_by.is_empty()
                    || q.limit.is_some()
                    || q.offset.is_some();
                if paren {
                    self.buf.push('(');
                }
                let saved = self.indent;
                self.query(q, names, visible);
                self.indent = saved;
                if paren {
                    self.buf.push(')');
                }
            }
            DSetOp::Op {
                op,
                all,
                left,
                right,
            } => {
                let need_paren = match &**left {
                    DSetOp::Op {
                        op: lop, all: lall, ..
                    } => !(lop == op && lall == all),
                    DSetOp::Leaf(_) => false,
                };
                let sub = if need_paren {
                    self.buf.push('(');
                    self.keyword("", INDENT_STD, 0, 0);
                    INDENT_STD
                } else {
                    0
                };
                self.set_op(left, names, visible);
                if need_paren {
                    self.keyword(") ", -sub, 0, 0);
                } else {
                    self.keyword("", -sub, 0, 0);
                }
                self.buf.push_str(match op {
                    SetOp::Union => "UNION ",
                    SetOp::Intersect => "INTERSECT ",
                    SetOp::Except => "EXCEPT ",
                });
                if *all {
                    self.buf.push_str("ALL ");
                }
                let need_paren = matches!(&**right, DSetOp::Op { .. });
                let sub = if need_paren {
                    self.buf.push('(');
                    INDENT_STD
                } else {
                    0
                };
                self.keyword("", sub, 0, 0);
                self.set_op(right, names, false);
                self.indent -= sub;
                if need_paren {
                    self.keyword(")", 0, 0, 0);
                }
            }
        }
    }

    fn select(&mut self, s: &DSelect, names: Option<&[String]>, visible: bool) {
        self.indent += INDENT_STD;
        self.buf.push(' ');
        self.buf.push_str("SELECT");
        if let Some(on) = &s.distinct {
            self.buf.push_str(" DISTINCT ON (");
            for (i, e) in on.iter().enumerate() {
                if i > 0 {
                    self.buf.push_str(", ");
                }
                self.sort_group_item(e);
            }
            self.buf.push(')');
        } else if s.distinct_all {
            self.buf.push_str(" DISTINCT");
        }
        self.targets(&s.targets, names, visible);
        self.from(&s.from);
        if let Some(w) = &s.selection {
            self.keyword(" WHERE ", -INDENT_STD, INDENT_STD, 1);
            self.expr(w, false);
        }
        if !s.group_by.is_empty() {
            self.keyword(" GROUP BY ", -INDENT_STD, INDENT_STD, 1);
            for (i, g) in s.group_by.iter().enumerate() {
                if i > 0 {
                    self.buf.push_str(", ");
                }
                self.sort_group_item(g);
            }
        }
        if let Some(h) = &s.having {
            self.keyword(" HAVING ", -INDENT_STD, INDENT_STD, 0);
            self.expr(h, false);
        }
    }

    fn targets(&mut self, targets: &[DTarget], names: Option<&[String]>, visible: bool) {
        let mut sep = " ";
        for (i, t) in targets.iter().enumerate() {
            self.buf.push_str(sep);
            sep = ", ";
            let outer = std::mem::take(&mut self.buf);
            let attname = match &t.expr {
                D::Var { name, .. } => {
                    self.expr(&t.expr, true);
                    Some(name.clone())
                }
                e => {
                    self.expr(e, true);
                    (!visible).then(|| "?column?".to_string())
                }
            };
            let colname = names
                .and_then(|n| n.get(i))
                .cloned()
                .unwrap_or_else(|| t.name.clone());
            if attname.as_deref() != Some(colname.as_str()) {
                self.buf.push_str(" AS ");
                self.buf.push_str(&quote_ident(&colname));
            }
            let field = std::mem::replace(&mut self.buf, outer);
            // Line wrapping with a wrap column of 0: every field after the
            // first on a line of its own.
            if field.starts_with('\n') {
                while self.buf.ends_with(' ') {
                    self.buf.pop();
                }
            } else if i > 0 {
                self.keyword("", -INDENT_STD, INDENT_STD, INDENT_VAR);
            }
            self.buf.push_str(&field);
        }
    }

    fn from(&mut self, items: &[DFrom]) {
        for (i, f) in items.iter().enumerate() {
            if i == 0 {
                self.keyword(" FROM ", -INDENT_STD, INDENT_STD, 2);
                self.range_item(f);
            } else {
                self.buf.push_str(", ");
                let outer = std::mem::take(&mut self.buf);
                self.range_item(f);
                let item = std::mem::replace(&mut self.buf, outer);
                if item.starts_with('\n') {
                    while self.buf.ends_with(' ') {
                        self.buf.pop();
                    }
                } else {
                    self.keyword("", -INDENT_STD, INDENT_STD, INDENT_VAR);
                }
                self.buf.push_str(&item);
            }
        }
    }

    fn alias(&mut self, rte: usize, relname_printed: bool) {
        let r = &self.rtes[rte];
        let show = r.aliased || r.function || (relname_printed && r.refname != r.base);
        if show {
            let name = quote_ident(&r.refname);
            self.buf.push(' ');
            self.buf.push_str(&name);
        }
    }

    fn column_aliases(&mut self, aliases: &[String]) {
        let names: Vec<String> = aliases.iter().map(|a| quote_ident(a)).collect();
        self.buf.push('(');
        self.buf.push_str(&names.join(", "));
        self.buf.push(')');
    }

    fn range_item(&mut self, f: &DFrom) {
        match f {
            DFrom::Rel { rte, name, aliases } => {
                self.buf.push_str(name);
                self.alias(*rte, true);
                if let Some(a) = aliases {
                    self.column_aliases(a);
                }
            }
            DFrom::Values { rte, rows } => {
                self.buf.push('(');
                self.values(rows);
                self.buf.push(')');
                self.alias(*rte, false);
            }
            DFrom::Subquery {
                rte,
                query,
                aliases,
            } => {
                self.buf.push('(');
                let saved = self.indent;
                self.query(query, None, true);
                self.indent = saved;
                self.buf.push(')');
                self.alias(*rte, false);
                if let Some(a) = aliases {
                    self.column_aliases(a);
                }
            }
            DFrom::Function {
                rte,
                call,
                ordinality,
                aliases,
            } => {
                self.expr(call, true);
                if *ordinality {
                    self.buf.push_str(" WITH ORDINALITY");
                }
                self.alias(*rte, false);
                self.column_aliases(aliases);
            }
            DFrom::Join {
                left,
                right,
                kind,
                using,
                on,
            } => {
                let paren_right = self.pretty && matches!(**right, DFrom::Join { .. });
                if !self.pretty {
                    self.buf.push('(');
                }
                self.range_item(left);
                let kw = match kind {
                    JoinKind::Inner => " JOIN ",
                    JoinKind::Cross => " CROSS JOIN ",
                    JoinKind::Left => " LEFT JOIN ",
                    JoinKind::Right => " RIGHT JOIN ",
                    JoinKind::Full => " FULL JOIN ",
                };
                self.keyword(kw, -INDENT_STD, INDENT_STD, INDENT_JOIN);
                if paren_right {
                    self.buf.push('(');
                }
                self.range_item(right);
                if paren_right {
                    self.buf.push(')');
                }
                if !using.is_empty() {
                    let cols: Vec<String> = using.iter().map(|c| quote_ident(c)).collect();
                    self.buf.push_str(" USING (");
                    self.buf.push_str(&cols.join(", "));
                    self.buf.push(')');
                } else if let Some(on) = on {
                    self.buf.push_str(" ON ");
                    if !self.pretty {
                        self.buf.push('(');
                    }
                    self.expr(on, false);
                    if !self.pretty {
                        self.buf.push(')');
                    }
                } else if !matches!(kind, JoinKind::Cross | JoinKind::Inner) {
                    self.buf.push_str(" ON TRUE");
                }
                if !self.pretty {
                    self.buf.push(')');
                }
            }
        }
    }

    /// An ORDER BY / GROUP BY / DISTINCT ON item
    /// (`get_rule_sortgroupclause`): constants always labelled,
    /// function calls always parenthesised.
    fn sort_group_item(&mut self, e: &D) {
        match e {
            D::Const { text, label, ty } => {
                self.buf.push_str(text);
                if let Some(l) = label.as_ref().or((!ty.is_empty()).then_some(ty)) {
                    self.buf.push_str("::");
                    self.buf.push_str(l);
                }
            }
            D::Var { .. } => self.expr(e, true),
            _ => {
                let paren = self.pretty
                    || matches!(
                        e,
                        D::Func { .. }
                            | D::Agg { .. }
                            | D::Extract { .. }
                            | D::Cast { func: true, .. }
                    );
                if paren {
                    self.buf.push('(');
                }
                self.expr(e, true);
                if paren {
                    self.buf.push(')');
                }
            }
        }
    }

    fn sort_list(&mut self, items: &[DSort], exprs: bool) {
        for (i, s) in items.iter().enumerate() {
            if i > 0 {
                self.buf.push_str(", ");
            }
            if exprs {
                self.sort_group_item(&s.expr);
            } else {
                self.expr(&s.expr, true);
            }
            if !s.desc {
                if s.nulls_first {
                    self.buf.push_str(" NULLS FIRST");
                }
            } else {
                self.buf.push_str(" DESC");
                if !s.nulls_first {
                    self.buf.push_str(" NULLS LAST");
                }
            }
        }
    }

    // ------------------------------------------------------- expressions

    /// PostgreSQL's isSimpleNode: whether `d` needs no parentheses under
    /// `parent` when pretty-printing (`first`: it is the parent's first
    /// argument).
    fn is_simple(d: &D, parent: Parent, first: bool) -> bool {
        // Operators and tests need none below a boolean operator, and
        // do below casts and (other) operators.
        let under = |parent: Parent| matches!(parent, Parent::Bool(_));
        match d {
            D::Var { .. } | D::Const { .. } => true,
            D::Func { .. }
            | D::Agg { .. }
            | D::Special { .. }
            | D::Keyword(_)
            | D::Array(_)
            | D::Subscript(..)
            | D::Extract { .. }
            | D::Case { .. }
            | D::Cast { func: true, .. } => true,
            D::Cast { arg, .. } => Self::is_simple(arg, Parent::Cast, false),
            D::Op { name, args } => match parent {
                Parent::Op(pname, pargs) => {
                    let (Some(op), Some(pop)) = (
                        binary_priority(name, args.len()),
                        binary_priority(pname, pargs),
                    ) else {
                        return false;
                    };
                    if op && !pop {
                        true
                    } else if !op && pop {
                        false
                    } else {
                        first
                    }
                }
                p => under(p),
            },
            D::Sublink { .. } | D::NullTest { .. } | D::BoolTest { .. } | D::Distinct(..) => {
                under(parent)
            }
            D::And(_) | D::Or(_) | D::Not(_) => match parent {
                Parent::Bool(pk) => match d {
                    D::Or(_) => pk == BoolKind::Or,
                    _ => matches!(pk, BoolKind::And | BoolKind::Or),
                },
                _ => false,
            },
            D::ArrayOp { .. } => false,
        }
    }

    fn expr_paren(&mut self, d: &D, show_implicit: bool, parent: Parent, first: bool) {
        let paren = self.pretty && !Self::is_simple(d, parent, first);
        if paren {
            self.buf.push('(');
        }
        self.expr(d, show_implicit);
        if paren {
            self.buf.push(')');
        }
    }

    fn var(&mut self, rte: Option<usize>, name: &str) {
        if let Some(r) = rte {
            let refname = quote_ident(&self.rtes[r].refname);
            self.buf.push_str(&refname);
            self.buf.push('.');
        }
        self.buf.push_str(&quote_ident(name));
    }

    fn expr(&mut self, d: &D, show_implicit: bool) {
        let open = |p: &mut Self| {
            if !p.pretty {
                p.buf.push('(');
            }
        };
        let close = |p: &mut Self| {
            if !p.pretty {
                p.buf.push(')');
            }
        };
        match d {
            D::Var { rte, name } => self.var(*rte, name),
            D::Const { text, label, .. } => {
                self.buf.push_str(text);
                if let Some(l) = label {
                    self.buf.push_str("::");
                    self.buf.push_str(l);
                }
            }
            D::Op { name, args } => {
                open(self);
                match args.as_slice() {
                    [a, b] => {
                        self.expr_paren(a, true, Parent::Op(name, 2), true);
                        self.buf.push(' ');
                        self.buf.push_str(name);
                        self.buf.push(' ');
                        self.expr_paren(b, true, Parent::Op(name, 2), false);
                    }
                    [a] => {
                        self.buf.push_str(name);
                        self.buf.push(' ');
                        self.expr_paren(a, true, Parent::Op(name, 1), false);
                    }
                    _ => {}
                }
                close(self);
            }
            D::And(args) | D::Or(args) => {
                let or = matches!(d, D::Or(_));
                open(self);
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(if or { " OR " } else { " AND " });
                    }
                    let kind = if or { BoolKind::Or } else { BoolKind::And };
                    self.expr_paren(a, false, Parent::Bool(kind), i == 0);
                }
                close(self);
            }
            D::Not(a) => {
                open(self);
                self.buf.push_str("NOT ");
                self.expr_paren(a, false, Parent::Bool(BoolKind::Not), false);
                close(self);
            }
            D::Cast {
                arg,
                ty,
                implicit,
                bare,
                ..
            } => {
                if *implicit && !show_implicit {
                    self.expr_paren(arg, false, Parent::Cast, false);
                    return;
                }
                if *bare {
                    self.expr(arg, false);
                } else {
                    open(self);
                    self.expr_paren(arg, false, Parent::Cast, false);
                    close(self);
                }
                self.buf.push_str("::");
                self.buf.push_str(ty);
            }
            D::Func { name, args } => {
                self.buf.push_str(&quote_ident(name));
                self.buf.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(", ");
                    }
                    self.expr(a, true);
                }
                self.buf.push(')');
            }
            D::Agg {
                name,
                star,
                distinct,
                args,
                order,
                filter,
            } => {
                self.buf.push_str(&quote_ident(name));
                self.buf.push('(');
                if *distinct {
                    self.buf.push_str("DISTINCT ");
                }
                if *star {
                    self.buf.push('*');
                }
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(", ");
                    }
                    self.expr(a, true);
                }
                if !order.is_empty() {
                    self.buf.push_str(" ORDER BY ");
                    self.sort_list(order, false);
                }
                if let Some(f) = filter {
                    self.buf.push_str(") FILTER (WHERE ");
                    self.expr(f, false);
                }
                self.buf.push(')');
            }
            D::Special { name, args } => {
                self.buf.push_str(name);
                self.buf.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(", ");
                    }
                    self.expr(a, true);
                }
                self.buf.push(')');
            }
            D::Keyword(k) => self.buf.push_str(k),
            D::Extract { field, arg } => {
                self.buf.push_str("EXTRACT(");
                self.buf.push_str(field);
                self.buf.push_str(" FROM ");
                self.expr(arg, true);
                self.buf.push(')');
            }
            D::Case {
                arg,
                whens,
                default,
            } => {
                self.keyword("CASE", 0, INDENT_VAR, 0);
                if let Some(a) = arg {
                    self.buf.push(' ');
                    self.expr(a, true);
                }
                for (w, r) in whens {
                    self.keyword("WHEN ", 0, 0, 0);
                    self.expr(w, false);
                    self.buf.push_str(" THEN ");
                    self.expr(r, true);
                }
                self.keyword("ELSE ", 0, 0, 0);
                self.expr(default, true);
                self.keyword("END", -INDENT_VAR, 0, 0);
            }
            D::NullTest { arg, not } => {
                open(self);
                self.expr_paren(arg, true, Parent::Other, false);
                self.buf
                    .push_str(if *not { " IS NOT NULL" } else { " IS NULL" });
                close(self);
            }
            D::BoolTest { arg, what } => {
                open(self);
                self.expr_paren(arg, false, Parent::Other, false);
                self.buf.push_str(what);
                close(self);
            }
            D::Distinct(a, b) => {
                open(self);
                self.expr_paren(a, true, Parent::Other, true);
                self.buf.push_str(" IS DISTINCT FROM ");
                self.expr_paren(b, true, Parent::Other, false);
                close(self);
            }
            D::ArrayOp {
                left,
                op,
                all,
                right,
            } => {
                open(self);
                self.expr_paren(left, true, Parent::Other, true);
                self.buf.push(' ');
                self.buf.push_str(op);
                self.buf.push_str(if *all { " ALL (" } else { " ANY (" });
                self.expr_paren(right, true, Parent::Other, false);
                self.buf.push(')');
                close(self);
            }
            D::Array(items) => {
                self.buf.push_str("ARRAY[");
                for (i, a) in items.iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(", ");
                    }
                    self.expr(a, true);
                }
                self.buf.push(']');
            }
            D::Subscript(a, i) => {
                let paren = !matches!(**a, D::Var { .. });
                if paren {
                    self.buf.push('(');
                }
                self.expr(a, show_implicit);
                if paren {
                    self.buf.push(')');
                }
                self.buf.push('[');
                self.expr(i, false);
                self.buf.push(']');
            }
            D::Sublink { kind, query } => {
                if matches!(kind, SubKind::Array) {
                    self.buf.push_str("ARRAY(");
                } else {
                    self.buf.push('(');
                }
                let need_paren = match kind {
                    SubKind::Exists => {
                        self.buf.push_str("EXISTS ");
                        true
                    }
                    SubKind::Quantified { left, op, all } => {
                        self.expr(left, true);
                        if op == "=" && !all {
                            self.buf.push_str(" IN ");
                        } else {
                            self.buf.push(' ');
                            self.buf.push_str(op);
                            self.buf.push_str(if *all { " ALL " } else { " ANY " });
                        }
                        true
                    }
                    SubKind::Expr | SubKind::Array => false,
                };
                if need_paren {
                    self.buf.push('(');
                }
                let saved = self.indent;
                self.query(query, None, false);
                self.indent = saved;
                self.buf.push_str(if need_paren { "))" } else { ")" });
            }
        }
    }
}

/// For PostgreSQL's operator-precedence shortcut: Some(true) for `* / %`,
/// Some(false) for `+ -`, None for other operators (and prefix ones).
fn binary_priority(name: &str, nargs: usize) -> Option<bool> {
    if nargs != 2 {
        return None;
    }
    match name {
        "+" | "-" => Some(false),
        "*" | "/" | "%" => Some(true),
        _ => None,
    }
}
