//! The binder: SQL names resolved against scopes and the catalog
//! ([`CatalogAccess`]) into column positions and types, producing a
//! [`Plan`]. Its parts: expressions (`expr`), aggregates (`aggregate`),
//! queries and SELECT (`query`), FROM and joins (`from`).

use std::rc::Rc;

use super::aggregate::AggContext;
use super::{BExpr, CatalogAccess, Column, Plan, PlanResult};
use crate::catalog::TableDef;
use crate::error::{SqlError, SqlState};
use crate::sql::functions::catalog::CatalogInfo;
use crate::sql::parse::ast::{self, Expr};
use crate::value::types::DataType;
use crate::value::Value;

/// One column visible to expressions.
#[derive(Clone, Debug)]
pub struct ScopeCol {
    pub table: Option<String>,
    pub name: String,
    pub ty: DataType,
    /// Hidden columns (TIDs) are not expanded by `*`.
    pub hidden: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub cols: Vec<ScopeCol>,
}

impl Scope {
    pub(super) fn resolve(&self, name: &[String]) -> PlanResult<Option<(usize, DataType)>> {
        let (table, col) = match name {
            [c] => (None, c),
            [t, c] => (Some(t), c),
            [_, t, c] => (Some(t), c),
            _ => {
                return Err(SqlError::new(
                    SqlState::SYNTAX_ERROR,
                    format!("improper qualified name: {}", name.join(".")),
                ))
            }
        };
        let mut found = None;
        for (i, sc) in self.cols.iter().enumerate() {
            // Hidden columns (the two sides' copies of a USING column,
            // TIDs) answer only to qualified names.
            if sc.hidden && table.is_none() {
                continue;
            }
            if &sc.name == col && table.is_none_or(|t| sc.table.as_ref() == Some(t)) {
                if found.is_some() {
                    return Err(SqlError::new(
                        SqlState::AMBIGUOUS_COLUMN,
                        format!("column reference \"{col}\" is ambiguous"),
                    ));
                }
                found = Some((i, sc.ty.clone()));
            }
        }
        Ok(found)
    }
}

pub struct Binder<'a> {
    pub catalog: &'a mut dyn CatalogAccess,
    /// Inferred parameter types ($1 = index 0).
    pub params: Vec<DataType>,
    /// The text of each parameter that is a string literal lifted out of
    /// the statement (`sql::parse::lift`), by index: coerced to a type,
    /// it is checked now, so the statement fails as the literal would.
    pub lifted_strings: std::rc::Rc<Vec<Option<String>>>,
    /// Enclosing scopes, innermost last, for correlated subqueries.
    pub(super) outer: Vec<Scope>,
    pub(super) ctes: Vec<(String, Vec<Column>, usize)>,
    pub cte_plans: Vec<Plan>,
    /// CTEs that read enclosing queries' columns (in a LATERAL or a
    /// correlated subquery), with the depth of `outer` they were bound at:
    /// they cannot be materialised once per statement, so FROM reads
    /// their plan in place (re-run with the outer row).
    pub(super) correlated_ctes: Vec<(usize, usize)>,
    pub(super) agg: Option<AggContext>,
    /// Outer-column references made so far (to flag correlated subqueries).
    pub(super) outer_refs: usize,
    /// The statement's catalog snapshot for `regclass` casts and catalog
    /// functions, fetched on first use.
    pub(super) catalog_info: Option<Rc<CatalogInfo>>,
    /// Set while binding a SELECT that is an operand of UNION/INTERSECT/
    /// EXCEPT: its untyped literal columns stay `unknown`, to be resolved
    /// with the other operand's types (as in PostgreSQL).
    pub(super) set_op_leaf: bool,
    /// Views being expanded (a guard against a view that reads itself).
    pub(super) view_depth: usize,
    /// Every table and view the statement reads, at any depth (subqueries,
    /// CTEs, view bodies): what a live query follows.
    pub relations: Vec<crate::catalog::Oid>,
}

pub fn bool_type_check(ty: &DataType, what: &str) -> PlanResult<()> {
    match ty {
        DataType::Bool | DataType::Unknown => Ok(()),
        other => Err(SqlError::new(
            SqlState::DATATYPE_MISMATCH,
            format!("argument of {what} must be type boolean, not type {other}"),
        )),
    }
}

pub(super) fn order_position_error(n: i32) -> SqlError {
    SqlError::new(
        SqlState::INVALID_COLUMN_REFERENCE,
        format!("ORDER BY position {n} is not in select list"),
    )
}

pub(super) fn column_expr(c: &ScopeCol) -> Expr {
    match &c.table {
        Some(t) => Expr::Column(vec![t.clone(), c.name.clone()]),
        None => Expr::Column(vec![c.name.clone()]),
    }
}

/// The scope of a base table's columns (dropped ones are hidden).
pub fn table_scope(table: &TableDef, label: &str, renames: &[String]) -> Scope {
    let mut scope = Scope::default();
    let mut live = 0;
    for c in &table.columns {
        let name = if c.dropped {
            format!("........dropped.{}", scope.cols.len())
        } else {
            let n = renames.get(live).cloned().unwrap_or_else(|| c.name.clone());
            live += 1;
            n
        };
        scope.cols.push(ScopeCol {
            table: Some(label.to_string()),
            name,
            ty: c.ty.clone(),
            hidden: c.dropped,
        });
    }
    scope
}

/// Wraps `b` in a cast unless it already has type `ty`.
pub(super) fn coerce(b: BExpr, ty: &DataType) -> BExpr {
    match &b {
        BExpr::Const(Value::Null) => b,
        BExpr::Const(v) if v.data_type() == *ty => b,
        _ => BExpr::Cast(Box::new(b), ty.clone()),
    }
}

pub(super) fn cast_plan(plan: Plan, have: &[Column], want: &[Column]) -> Plan {
    if have.iter().zip(want).all(|(h, w)| h.ty == w.ty) {
        return plan;
    }
    Plan::Project {
        input: Box::new(plan),
        exprs: have
            .iter()
            .zip(want)
            .enumerate()
            .map(|(i, (h, w))| {
                if h.ty == w.ty {
                    BExpr::Col(i)
                } else {
                    BExpr::Cast(Box::new(BExpr::Col(i)), w.ty.clone())
                }
            })
            .collect(),
        columns: want.to_vec(),
    }
}

/// Whether `e`'s default name came from a cast's type name.
fn weak_cast_name(e: &Expr) -> bool {
    match e {
        Expr::Cast { expr, .. } => match &**expr {
            Expr::UntypedString(_) | Expr::Literal(_) => true,
            inner => weak_cast_name(inner) || default_column_name(inner) == "?column?",
        },
        _ => false,
    }
}

/// PostgreSQL's output column name for an unaliased expression.
pub fn default_column_name(e: &Expr) -> String {
    match e {
        Expr::Column(n) => n.last().cloned().unwrap_or_default(),
        Expr::Function(f) => f.name.rsplit('.').next().unwrap_or(&f.name).to_string(),
        Expr::Cast { expr, ty } => match &**expr {
            Expr::UntypedString(_) | Expr::Literal(_) => type_column_name(ty),
            // A name taken from a cast is weak (FigureColname's strength
            // 1): an outer cast renames it (`'1'::json::text` is `text`).
            Expr::Cast { .. } if weak_cast_name(expr) => type_column_name(ty),
            inner => {
                let n = default_column_name(inner);
                if n == "?column?" {
                    type_column_name(ty)
                } else {
                    n
                }
            }
        },
        Expr::Case { .. } => "case".into(),
        Expr::Exists { .. } => "exists".into(),
        Expr::Array(_) => "array".into(),
        Expr::Subquery(q) => match &q.body {
            ast::SetExpr::Select(s) => match s.projection.first() {
                Some(ast::SelectItem::Expr { alias: Some(a), .. }) => a.clone(),
                Some(ast::SelectItem::Expr { expr, .. }) => default_column_name(expr),
                _ => "?column?".into(),
            },
            _ => "?column?".into(),
        },
        _ => "?column?".into(),
    }
}

pub(super) fn type_column_name(ty: &DataType) -> String {
    match ty {
        DataType::Int2 => "int2",
        DataType::Int4 => "int4",
        DataType::Int8 => "int8",
        DataType::Float4 => "float4",
        DataType::Float8 => "float8",
        DataType::Numeric(_) => "numeric",
        DataType::Bool => "bool",
        DataType::Text => "text",
        DataType::Varchar(_) => "varchar",
        DataType::Char(_) => "bpchar",
        DataType::Date => "date",
        DataType::Timestamp => "timestamp",
        DataType::Timestamptz => "timestamptz",
        DataType::Interval => "interval",
        DataType::Uuid => "uuid",
        DataType::Json => "json",
        DataType::Jsonb => "jsonb",
        DataType::Bytea => "bytea",
        DataType::Vector(_) => "vector",
        DataType::HalfVec(_) => "halfvec",
        DataType::Bit(_) => "bit",
        // PostgreSQL names the column after the type (`typname`); an
        // array cast after its element type.
        DataType::Array(elem) => return type_column_name(elem),
        DataType::Enum(e) => return e.name.clone(),
        other => crate::value::types::BUILTIN_TYPES
            .iter()
            .find(|t| t.oid == other.oid())
            .map_or("?column?", |t| t.name),
    }
    .to_string()
}

impl<'a> Binder<'a> {
    pub fn new(catalog: &'a mut dyn CatalogAccess) -> Self {
        Binder {
            catalog,
            params: Vec::new(),
            lifted_strings: Default::default(),
            outer: Vec::new(),
            ctes: Vec::new(),
            cte_plans: Vec::new(),
            correlated_ctes: Vec::new(),
            agg: None,
            outer_refs: 0,
            catalog_info: None,
            set_op_leaf: false,
            view_depth: 0,
            relations: Vec::new(),
        }
    }

    pub(super) fn note_param(&mut self, n: usize, ty: &DataType) {
        if self.params.len() < n {
            self.params.resize(n, DataType::Unknown);
        }
        if self.params[n - 1] == DataType::Unknown && *ty != DataType::Unknown {
            self.params[n - 1] = ty.clone();
        }
    }

    /// Binds `e` and coerces untyped literals/parameters to `want`.
    pub(super) fn catalog_info(&mut self) -> PlanResult<Rc<CatalogInfo>> {
        if let Some(i) = &self.catalog_info {
            return Ok(i.clone());
        }
        let i = Rc::new(self.catalog.catalog_info()?);
        self.catalog_info = Some(i.clone());
        Ok(i)
    }

    pub(super) fn unify(&self, a: &DataType, b: &DataType, what: &str) -> PlanResult<DataType> {
        if *a == DataType::Unknown {
            return Ok(b.clone());
        }
        if *b == DataType::Unknown {
            return Ok(a.clone());
        }
        let types = [a.clone(), b.clone()];
        let ty = crate::sql::resolve::common_type(&types, what)?;
        crate::sql::resolve::check_coercible(&types, &ty, what)?;
        Ok(ty)
    }
}
