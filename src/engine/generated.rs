//! Stored generated columns (`GENERATED ALWAYS AS (expr) STORED`): their
//! definition checked as PostgreSQL checks it, and their values computed
//! whenever a row version is written (INSERT, UPDATE, ON CONFLICT DO
//! UPDATE, COPY FROM, foreign-key actions, ALTER TABLE ADD COLUMN).

use std::rc::Rc;

use super::dml::DmlExec;
use super::{sql_err, Engine, Result, SessionId};
use crate::catalog::{Generated, Oid, TableDef};
use crate::error::{Error, SqlError, SqlState};
use crate::sql::exec::{eval, Row};
use crate::sql::parse::ast::Expr;
use crate::sql::plan::{deparse, index_keys, BExpr};
use crate::sql::resolve;
use crate::value::cast::cast_assignment;
use crate::value::types::DataType;

const WHAT: &str = "column generation expression";

/// Checks the generation expression `e` of column `column` (of type `ty`)
/// of `table`, whose generated columns are `generated`, and returns its
/// stored form.
pub(super) fn generated_column(
    table: &TableDef,
    column: &str,
    e: &Expr,
    ty: &DataType,
    generated: &[String],
) -> Result<Generated> {
    let (b, ety) = index_keys::bind_table_ast(e, table, WHAT).map_err(|err| {
        if err.code == SqlState("42P17") && err.message.contains("IMMUTABLE") {
            SqlError::new(SqlState("42P17"), "generation expression is not immutable")
        } else {
            err
        }
    })?;
    for i in index_keys::referenced_columns(&b) {
        let Some(c) = table.columns.get(i) else {
            continue;
        };
        if generated.contains(&c.name) {
            return Err(Error::Sql(
                SqlError::new(
                    SqlState("42P17"),
                    format!(
                        "cannot use generated column \"{}\" in column generation expression",
                        c.name
                    ),
                )
                .with_detail("A generated column cannot reference another generated column."),
            ));
        }
    }
    if ety != DataType::Unknown
        && !resolve::can_coerce(ety.oid(), ty.oid(), resolve::Context::Assignment)
    {
        return Err(Error::Sql(
            SqlError::new(
                SqlState::DATATYPE_MISMATCH,
                format!(
                    "column \"{column}\" is of type {ty} but default expression is of type {ety}"
                ),
            )
            .with_hint("You will need to rewrite or cast the expression."),
        ));
    }
    let (expr, pretty) = deparse::table_expression(table, e, ty)?;
    Ok(Generated { expr, pretty })
}

/// PostgreSQL's error for a value given to a generated column.
pub(super) fn not_default(column: &str, update: bool) -> SqlError {
    let message = if update {
        format!("column \"{column}\" can only be updated to DEFAULT")
    } else {
        format!("cannot insert a non-DEFAULT value into column \"{column}\"")
    };
    SqlError::new(SqlState("428C9"), message)
        .with_detail(format!("Column \"{column}\" is a generated column."))
}

/// PostgreSQL's error for DEFAULT changes on a generated column.
pub(super) fn is_generated(column: &str, table: &str, drop: bool) -> Error {
    let e = SqlError::new(
        SqlState::SYNTAX_ERROR,
        format!("column \"{column}\" of relation \"{table}\" is a generated column"),
    );
    Error::Sql(if drop {
        e.with_hint("Use ALTER TABLE ... ALTER COLUMN ... DROP EXPRESSION instead.")
    } else {
        e
    })
}

/// The cache of bound generation expressions: (table, column) → the
/// stored text and its bound form.
pub(super) type GeneratedCache = std::collections::HashMap<(Oid, usize), (String, Rc<BExpr>)>;

impl Engine {
    /// Computes the generated columns of `row`, a new version of a row of
    /// `dml.table`, from its other columns.
    pub(super) fn fill_generated(
        &mut self,
        sid: SessionId,
        dml: &mut DmlExec,
        row: &mut Row,
    ) -> Result<()> {
        let table = dml.table.clone();
        let mut exprs = Vec::new();
        for (i, c) in table.live_columns() {
            let Some(g) = &c.generated else {
                continue;
            };
            let cached = self
                .generated_cache
                .get(&(table.oid, i))
                .filter(|(text, _)| *text == g.expr)
                .map(|(_, b)| b.clone());
            let b = match cached {
                Some(b) => b,
                None => {
                    let (b, _) = index_keys::bind_table_expr(&g.expr, &table, WHAT)?;
                    let b = Rc::new(b);
                    self.generated_cache
                        .insert((table.oid, i), (g.expr.clone(), b.clone()));
                    b
                }
            };
            exprs.push((i, b));
        }
        if exprs.is_empty() {
            return Ok(());
        }
        let tz = self.session_tz(sid);
        let input = row.clone();
        let values = self.with_dml_env(sid, dml, |env| {
            exprs
                .iter()
                .map(|(i, b)| Ok((*i, eval(b, &input, env)?)))
                .collect::<Result<Vec<_>>>()
        })?;
        for (i, v) in values {
            row[i] = cast_assignment(v, &table.columns[i].ty, &tz)?;
        }
        Ok(())
    }
}

/// Refuses `cascade`-less DROP COLUMN of a column generated columns read,
/// naming them as PostgreSQL does; returns those columns.
pub(super) fn generated_readers(table: &TableDef, column: usize) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for (i, c) in table.live_columns() {
        let Some(g) = &c.generated else {
            continue;
        };
        let (b, _) = index_keys::bind_table_expr(&g.expr, table, WHAT)?;
        if index_keys::referenced_columns(&b).contains(&column) {
            out.push(i);
        }
    }
    Ok(out)
}

/// The error for a misplaced generated column in a COPY column list.
pub(super) fn copy_generated(column: &str) -> Error {
    Error::Sql(
        SqlError::new(
            SqlState("42P10"),
            format!("column \"{column}\" is a generated column"),
        )
        .with_detail("Generated columns cannot be used in COPY."),
    )
}

/// `both default and generation expression specified ...` and friends.
pub(super) fn both(what: &str, column: &str, table: &str) -> Error {
    sql_err(
        SqlState::SYNTAX_ERROR,
        format!("both {what} and generation expression specified for column \"{column}\" of table \"{table}\""),
    )
}
