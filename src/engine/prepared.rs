//! SQL-level prepared statements: `PREPARE name [(types)] AS statement`,
//! `EXECUTE name [(args)]`, `DEALLOCATE [PREPARE] {name | ALL}`, kept per
//! session as PostgreSQL keeps them per backend.

use super::session::Step;
use super::{sql_err, Engine, QueryResult, Result, SessionId};
use crate::error::{Error, SqlError, SqlState};
use crate::sql::exec::eval;
use crate::sql::parse::ast::{Expr, Statement};
use crate::sql::plan::Scope;
use crate::value::cast::cast_assignment;
use crate::value::types::DataType;
use crate::value::Value;

/// A statement `PREPARE` stored.
#[derive(Clone)]
pub(super) struct PreparedSql {
    pub(super) body: Statement,
    pub(super) types: Vec<DataType>,
    /// The query string that created it (`pg_prepared_statements`).
    pub(super) text: String,
    pub(super) prepare_time: i64,
}

fn undefined(name: &str) -> Error {
    sql_err(
        SqlState("26000"),
        format!("prepared statement \"{name}\" does not exist"),
    )
}

impl Engine {
    pub(super) fn prepare_sql(
        &mut self,
        sid: SessionId,
        name: String,
        types: Vec<DataType>,
        body: Statement,
    ) -> Result<QueryResult> {
        let now = (self.config.clock)();
        // A query's undeclared parameter types are inferred now, as
        // PostgreSQL does (pg_prepared_statements shows them).
        let mut types = types;
        if let Statement::Query(q) = &body {
            let snapshot = self.take_snapshot(sid);
            self.param_hints = types.clone();
            let (_, _, inferred) = self.bind(sid, &snapshot, |b| b.bind_query(q))?;
            for (i, t) in inferred.into_iter().enumerate() {
                if i >= types.len() {
                    types.push(t);
                }
            }
        }
        let s = self
            .sessions
            .get_mut(&sid)
            .ok_or_else(|| sql_err(SqlState("08003"), "no such session"))?;
        if s.prepared.contains_key(&name) {
            return Err(sql_err(
                SqlState("42P05"),
                format!("prepared statement \"{name}\" already exists"),
            ));
        }
        let text = s.activity.query.clone();
        s.prepared.insert(
            name,
            PreparedSql {
                body,
                types,
                text,
                prepare_time: now,
            },
        );
        Ok(QueryResult::tag("PREPARE"))
    }

    /// EXECUTE: the arguments are evaluated (and cast to the declared
    /// parameter types), then the stored statement runs with them.
    pub(super) fn execute_prepared(
        &mut self,
        sid: SessionId,
        name: &str,
        args: &[Expr],
        params: &[Value],
    ) -> Result<Step> {
        let prepared = self
            .sessions
            .get(&sid)
            .and_then(|s| s.prepared.get(name))
            .cloned()
            .ok_or_else(|| undefined(name))?;
        // Types known (declared or inferred): the count must match; else a
        // missing argument is reported when the statement refers to it.
        let expected = prepared.types.len();
        if expected > 0 && args.len() != expected {
            return Err(Error::Sql(
                SqlError::new(
                    SqlState::SYNTAX_ERROR,
                    format!("wrong number of parameters for prepared statement \"{name}\""),
                )
                .with_detail(format!(
                    "Expected {expected} parameters but got {}.",
                    args.len()
                )),
            ));
        }
        let snapshot = self.take_snapshot(sid);
        let scope = Scope::default();
        let (bound, cte_plans, _) = self.bind(sid, &snapshot, |b| {
            args.iter()
                .map(|a| b.bind_expr(a, &scope))
                .collect::<Result<Vec<_>, _>>()
        })?;
        let values = self.with_env(sid, &snapshot, params, &cte_plans, None, |env| {
            bound
                .iter()
                .map(|(e, _)| eval(e, &[], env))
                .collect::<Result<Vec<_>>>()
        })?;
        let tz = self.session_tz(sid);
        let mut cast = Vec::with_capacity(values.len());
        for (i, v) in values.into_iter().enumerate() {
            cast.push(match prepared.types.get(i) {
                Some(t) if *t != DataType::Unknown => cast_assignment(v, t, &tz)?,
                _ => v,
            });
        }
        self.dispatch(sid, prepared.body, &cast)
    }

    pub(super) fn deallocate(&mut self, sid: SessionId, name: Option<&str>) -> Result<QueryResult> {
        let s = self
            .sessions
            .get_mut(&sid)
            .ok_or_else(|| sql_err(SqlState("08003"), "no such session"))?;
        match name {
            None => s.prepared.clear(),
            Some(n) => {
                s.prepared.remove(n).ok_or_else(|| undefined(n))?;
            }
        }
        Ok(QueryResult::tag(if name.is_none() {
            "DEALLOCATE ALL"
        } else {
            "DEALLOCATE"
        }))
    }
}

impl Engine {
    /// `pg_prepared_statements`: this session's SQL-level statements.
    pub(super) fn pg_prepared_statements(&self, sid: SessionId) -> Vec<Vec<Value>> {
        let Some(s) = self.sessions.get(&sid) else {
            return Vec::new();
        };
        let mut names: Vec<&String> = s.prepared.keys().collect();
        names.sort();
        names
            .into_iter()
            .map(|n| {
                let p = &s.prepared[n];
                let types: Vec<String> = p.types.iter().map(|t| t.to_string()).collect();
                vec![
                    Value::Text(n.clone()),
                    Value::Text(p.text.clone()),
                    Value::Timestamptz(p.prepare_time),
                    Value::Text(format!("{{{}}}", types.join(","))),
                    Value::Bool(true),
                    Value::Int8(0),
                    Value::Int8(0),
                ]
            })
            .collect()
    }
}
