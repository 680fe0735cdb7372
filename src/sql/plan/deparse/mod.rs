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

mod analyse;
mod print;

use print::Printer;

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
