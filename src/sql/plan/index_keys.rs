//! An index's keys as expressions over a table row: plain key columns are
//! [`BExpr::Col`], key expressions and a partial index's predicate are
//! parsed from their SQL text and bound against the table. The engine
//! evaluates them to maintain the index; the planner matches a query's
//! conditions and ORDER BY against them.

use std::rc::Rc;

use super::{table_scope, BExpr, Binder, CatalogAccess, CatalogOp, PlanResult, SystemRelationRows};
use crate::catalog::{IndexDef, SequenceDef, TableDef, EXPRESSION_KEY};
use crate::error::{SqlError, SqlState};
use crate::sql::functions::catalog::CatalogInfo;
use crate::sql::parse::ast::Expr;
use crate::sql::parse::translate;
use crate::value::types::DataType;

/// An index's keys and predicate, bound over its table's rows.
#[derive(Clone, Debug)]
pub struct IndexKeys {
    /// One per key column, in key order.
    pub keys: Vec<BExpr>,
    pub types: Vec<DataType>,
    /// A partial index's predicate: rows for which it is not true have no
    /// entry.
    pub predicate: Option<BExpr>,
}

/// An index as the planner sees it.
#[derive(Clone, Debug)]
pub struct PlanIndex {
    pub def: Rc<IndexDef>,
    pub keys: Rc<IndexKeys>,
}

/// The catalog of a detached binding: index expressions see their table's
/// columns and functions only.
/// (It holds what is being bound, for errors.)
struct Detached(&'static str);

impl CatalogAccess for Detached {
    fn table(&mut self, _name: &[String]) -> PlanResult<Option<Rc<TableDef>>> {
        Ok(None)
    }
    fn indexes(&mut self, _table: &TableDef) -> PlanResult<Vec<Rc<IndexDef>>> {
        Ok(Vec::new())
    }
    fn sequence(&mut self, _name: &[String]) -> PlanResult<Option<Rc<SequenceDef>>> {
        Ok(None)
    }
    fn session_function(
        &mut self,
        name: &str,
        _args: &[Expr],
    ) -> PlanResult<Option<(BExpr, DataType)>> {
        // What the session answers at bind time is not immutable.
        if NOT_IMMUTABLE.contains(&name) || name == "version" || name == "user" {
            return Err(not_immutable(self.0));
        }
        Ok(None)
    }
    fn system_relation(
        &mut self,
        _schema: Option<&str>,
        _name: &str,
    ) -> PlanResult<Option<SystemRelationRows>> {
        Ok(None)
    }
    fn catalog_info(&mut self) -> PlanResult<CatalogInfo> {
        Ok(CatalogInfo::default())
    }
}

fn not_immutable(what: &str) -> SqlError {
    SqlError::new(
        SqlState("42P17"),
        format!("functions in {what} must be marked IMMUTABLE"),
    )
}

/// Functions whose result may change between calls with the same
/// arguments (volatile or stable in PostgreSQL's terms).
const NOT_IMMUTABLE: &[&str] = &[
    "now",
    "random",
    "setseed",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "timeofday",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtimestamp",
    "localtime",
    "gen_random_uuid",
    "uuid_generate_v4",
    "current_setting",
    "set_config",
    "txid_current",
    "txid_current_if_assigned",
    "txid_status",
    "pg_xact_status",
    "pg_current_xact_id",
    "pg_current_xact_id_if_assigned",
    "pg_current_snapshot",
    "txid_current_snapshot",
    "pg_export_snapshot",
    "pg_get_serial_sequence",
    "pg_backend_pid",
    "current_user",
    "session_user",
    "current_database",
    "current_schema",
    "to_char",
    "age",
];

/// Refuses what an index expression (or predicate, `what`) may not
/// contain: subqueries, sequences, parameters, and functions whose value
/// can change, as PostgreSQL's CheckMutability does.
pub fn check_immutable(e: &BExpr, what: &str) -> PlanResult<()> {
    let mut err = None;
    walk(e, &mut |x| {
        if err.is_some() {
            return;
        }
        err = match x {
            BExpr::Subquery { .. } => Some(SqlError::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                format!("cannot use subquery in {what}"),
            )),
            BExpr::Param { .. } | BExpr::Outer { .. } => Some(SqlError::new(
                SqlState("42P17"),
                format!("{what} cannot reference parameters or outer columns"),
            )),
            BExpr::NextVal(_) | BExpr::CurrVal(_) | BExpr::SetVal { .. } => {
                Some(not_immutable(what))
            }
            BExpr::CatalogFunc {
                op: CatalogOp::Func(_),
                ..
            } => Some(not_immutable(what)),
            BExpr::Func { name, .. } if NOT_IMMUTABLE.contains(&name.as_str()) => {
                Some(not_immutable(what))
            }
            _ => None,
        };
    });
    err.map_or(Ok(()), Err)
}

/// The columns (row positions) `e` reads.
pub fn referenced_columns(e: &BExpr) -> Vec<usize> {
    let mut out = Vec::new();
    walk(e, &mut |x| {
        if let BExpr::Col(i) = x {
            if !out.contains(i) {
                out.push(*i);
            }
        }
    });
    out
}

/// Calls `f` on `e` and every expression below it.
fn walk(e: &BExpr, f: &mut dyn FnMut(&BExpr)) {
    f(e);
    match e {
        BExpr::Col(_)
        | BExpr::Outer { .. }
        | BExpr::Const(_)
        | BExpr::Param { .. }
        | BExpr::NextVal(_)
        | BExpr::CurrVal(_)
        | BExpr::Subquery { .. } => {}
        BExpr::Unary(_, a)
        | BExpr::IsNull(a, _)
        | BExpr::Cast(a, _)
        | BExpr::IsBool { expr: a, .. } => walk(a, f),
        BExpr::Binary(_, a, b)
        | BExpr::NullIf(a, b)
        | BExpr::IsDistinct {
            left: a, right: b, ..
        } => {
            walk(a, f);
            walk(b, f);
        }
        BExpr::InList { expr, list, .. } => {
            walk(expr, f);
            list.iter().for_each(|x| walk(x, f));
        }
        BExpr::Like {
            expr,
            pattern,
            escape,
            ..
        } => {
            walk(expr, f);
            walk(pattern, f);
            if let Some(x) = escape {
                walk(x, f);
            }
        }
        BExpr::Case {
            operand,
            whens,
            else_result,
        } => {
            if let Some(x) = operand {
                walk(x, f);
            }
            for (w, t) in whens {
                walk(w, f);
                walk(t, f);
            }
            if let Some(x) = else_result {
                walk(x, f);
            }
        }
        BExpr::Func { args, .. } | BExpr::CatalogFunc { args, .. } => {
            args.iter().for_each(|x| walk(x, f))
        }
        BExpr::Coalesce(xs) | BExpr::Array(xs) => xs.iter().for_each(|x| walk(x, f)),
        BExpr::SetVal { value, called, .. } => {
            walk(value, f);
            if let Some(x) = called {
                walk(x, f);
            }
        }
    }
}

/// Binds an expression's SQL text over `table`'s row; `what` names it in
/// errors ("index expression", "index predicate").
pub fn bind_table_expr(
    sql: &str,
    table: &TableDef,
    what: &'static str,
) -> PlanResult<(BExpr, DataType)> {
    let e = translate::parse_expr(sql)?;
    bind_table_ast(&e, table, what)
}

/// [`bind_table_expr`] of a parsed expression.
pub fn bind_table_ast(
    e: &Expr,
    table: &TableDef,
    what: &'static str,
) -> PlanResult<(BExpr, DataType)> {
    let mut detached = Detached(what);
    let mut binder = Binder::new(&mut detached);
    let scope = table_scope(table, &table.name, &[]);
    let (b, ty) = binder.bind_expr(e, &scope).map_err(|err| {
        if err.code == SqlState::GROUPING_ERROR {
            SqlError::new(
                SqlState::GROUPING_ERROR,
                format!("aggregate functions are not allowed in {what}s"),
            )
        } else {
            err
        }
    })?;
    check_immutable(&b, what)?;
    Ok((b, ty))
}

/// `def`'s keys and predicate bound over `table`'s rows.
pub fn bind_index_keys(def: &IndexDef, table: &TableDef) -> PlanResult<IndexKeys> {
    let mut exprs = def.expressions.iter();
    let mut keys = Vec::with_capacity(def.columns.len());
    let mut types = Vec::with_capacity(def.columns.len());
    for &c in &def.columns {
        if c == EXPRESSION_KEY {
            let sql = exprs.next().ok_or_else(|| {
                SqlError::new(
                    SqlState::INTERNAL_ERROR,
                    format!("index \"{}\" lacks a key expression", def.name),
                )
            })?;
            let (b, ty) = bind_table_expr(sql, table, "index expression")?;
            keys.push(b);
            types.push(ty);
        } else {
            let ty = table
                .columns
                .get(c)
                .map(|col| col.ty.clone())
                .ok_or_else(|| {
                    SqlError::new(
                        SqlState::INTERNAL_ERROR,
                        format!("index \"{}\" names a column its table lacks", def.name),
                    )
                })?;
            keys.push(BExpr::Col(c));
            types.push(ty);
        }
    }
    let predicate = match &def.predicate {
        Some(sql) => Some(bind_table_expr(sql, table, "index predicate")?.0),
        None => None,
    };
    Ok(IndexKeys {
        keys,
        types,
        predicate,
    })
}
