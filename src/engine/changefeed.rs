//! The change feed: committed row changes in commit order, for syncing a
//! browser database to a server PostgreSQL.
//!
//! The feed is on while the table `neuraldb.changes` exists ([`FEED_DDL`],
//! which `db.changes()` runs). Every INSERT, UPDATE, DELETE (foreign-key
//! cascades included) and TRUNCATE of another permanent table is captured
//! in its transaction (`TxnState::captured`; ROLLBACK TO drops what a
//! savepoint captured). At commit the captures are inserted into
//! `neuraldb.changes` inside the same transaction, so they are exactly as
//! durable as the commit and vanish with a rollback; and since the engine
//! commits one transaction at a time and the inserts happen during the
//! commit, `seq` grows in commit order. Consumers read `seq > cursor` and
//! delete what they applied (acknowledge), so the feed holds exactly the
//! changes not yet acknowledged, across reloads and crashes.
//!
//! A change names its relation (schema-qualified), the operation, the
//! row's key (primary key columns, or every column without a primary key)
//! as it was before the change, and the new row (INSERT, UPDATE) as jsonb
//! objects in `to_jsonb` form, which PostgreSQL's `jsonb_populate_record`
//! turns back into a row.

use std::rc::Rc;

use super::{sql_err, Engine, Result, SessionId};
use crate::catalog::{IndexDef, Object, TableDef};
use crate::error::SqlState;
use crate::sql::parse::ast::Statement;
use crate::txn::CapturedChange;
use crate::value::Value;

/// Turns the feed on (idempotent).
pub const FEED_DDL: &str = "CREATE SCHEMA IF NOT EXISTS neuraldb; \
     CREATE TABLE IF NOT EXISTS neuraldb.changes (seq bigserial PRIMARY KEY, \
     xid bigint NOT NULL, relation text NOT NULL, op text NOT NULL, key jsonb, row jsonb)";

/// How the captures reach the feed table at commit: one statement per
/// commit, rows in capture order.
const WRITE_FEED: &str = "INSERT INTO neuraldb.changes (xid, relation, op, key, row) \
     SELECT $1, c->>'relation', c->>'op', nullif(c->'key', 'null'), nullif(c->'row', 'null') \
     FROM jsonb_array_elements($2) AS e(c)";

impl Engine {
    /// Whether row changes of `table` go to the change feed, as `sid`
    /// sees the catalog: not for temporary tables, nor for the feed itself.
    pub(super) fn captures(&mut self, sid: SessionId, table: &TableDef) -> Result<bool> {
        if crate::catalog::is_temp_namespace(table.namespace) {
            return Ok(false);
        }
        let feed = self.lookup_name(sid, &["neuraldb".to_string(), "changes".to_string()])?;
        Ok(match feed.as_ref().map(|e| &*e.object) {
            Some(Object::Table(t)) => t.oid != table.oid,
            _ => false,
        })
    }

    /// Captures one row change of `table` (whose indexes are `indexes`)
    /// in the session's transaction.
    pub(super) fn capture(
        &mut self,
        sid: SessionId,
        table: &TableDef,
        indexes: &[Rc<IndexDef>],
        op: &'static str,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Result<()> {
        let tz = self.session_tz(sid);
        let object = |row: &[Value], only: Option<&[usize]>| -> Result<Value> {
            let mut map = serde_json::Map::new();
            for (i, c) in table.live_columns() {
                if only.is_some_and(|k| !k.contains(&i)) {
                    continue;
                }
                let v = row.get(i).unwrap_or(&Value::Null);
                map.insert(c.name.clone(), crate::value::cast::to_jsonb(v, &tz)?);
            }
            Ok(Value::Jsonb(serde_json::Value::Object(map)))
        };
        let pk = indexes
            .iter()
            .find(|i| i.primary)
            .map(|i| i.columns.clone());
        let key = match old.or(new) {
            Some(row) => object(row, pk.as_deref())?,
            None => Value::Null,
        };
        let row = match new {
            Some(row) => object(row, None)?,
            None => Value::Null,
        };
        let relation = self.qualified(sid, table.namespace, &table.name)?.join(".");
        if let Some(t) = self.txns.get_mut(sid) {
            t.captured.push(CapturedChange {
                relation,
                op,
                key,
                row,
            });
        }
        Ok(())
    }

    /// At commit: the transaction's captures go into the feed table, in
    /// the transaction itself.
    pub(super) fn write_captured(&mut self, sid: SessionId) -> Result<()> {
        let Some(t) = self.txns.get_mut(sid) else {
            return Ok(());
        };
        if t.captured.is_empty() {
            return Ok(());
        }
        let captured = std::mem::take(&mut t.captured);
        t.cid += 1;
        let xid = t.first_xid().map_or(0, |x| x as i64);
        let changes: Vec<serde_json::Value> = captured
            .into_iter()
            .map(|c| {
                let json = |v: Value| match v {
                    Value::Jsonb(j) => j,
                    _ => serde_json::Value::Null,
                };
                serde_json::json!({
                    "relation": c.relation,
                    "op": c.op,
                    "key": json(c.key),
                    "row": json(c.row),
                })
            })
            .collect();
        let mut stmts = crate::sql::parse::translate::parse(WRITE_FEED)?;
        let Some(stmt @ Statement::Insert(_)) = stmts.pop() else {
            return Err(sql_err(SqlState::INTERNAL_ERROR, "change feed statement"));
        };
        let params = vec![
            Value::Int8(xid),
            Value::Jsonb(serde_json::Value::Array(changes)),
        ];
        match self.dispatch(sid, stmt, &params)? {
            super::session::Step::Done(_) => Ok(()),
            // Nothing else writes the feed's keys (seq comes from its
            // sequence), so its insert has nothing to wait for.
            _ => Err(sql_err(
                SqlState::INTERNAL_ERROR,
                "writing the change feed would have to wait",
            )),
        }
    }
}
