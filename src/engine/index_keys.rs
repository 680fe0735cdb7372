//! Index entries of table rows: a plain index's key is read off the row;
//! an expression index's keys and a partial index's predicate are bound
//! once per index (cached by OID: an index's definition never changes)
//! and evaluated per row. Every path that adds, removes or looks up an
//! entry (DML, uniqueness, CREATE INDEX, VACUUM) goes through
//! [`Engine::index_entry`].

use std::collections::HashMap;
use std::rc::Rc;

use super::{Engine, Result};
use crate::access;
use crate::catalog::{IndexDef, TableDef};
use crate::heap::{Heap, Tid};
use crate::sql::exec::{self, eval, Env};
use crate::sql::plan::index_keys::{bind_index_keys, IndexKeys, PlanIndex};
use crate::txn::Snapshot;
use crate::value::tz::TimeZone;
use crate::value::{Numeric, Value};

impl Engine {
    /// `idx`'s keys and predicate bound over `table`'s rows.
    pub(super) fn index_keys(&mut self, idx: &IndexDef, table: &TableDef) -> Result<Rc<IndexKeys>> {
        if let Some(k) = self.index_key_cache.get(&idx.oid) {
            return Ok(k.clone());
        }
        let keys = Rc::new(bind_index_keys(idx, table)?);
        self.index_key_cache.insert(idx.oid, keys.clone());
        Ok(keys)
    }

    /// `table`'s indexes as the planner sees them. An index whose
    /// expressions no longer bind is left out (it cannot serve a query).
    pub(super) fn plan_indexes(&mut self, table: &TableDef) -> Vec<PlanIndex> {
        let mut out = Vec::new();
        for def in self.table_indexes(table) {
            if let Ok(keys) = self.index_keys(&def, table) {
                out.push(PlanIndex { def, keys });
            }
        }
        out
    }

    /// The row versions `idx`'s entries for `key` stand for: each entry's
    /// HOT chain ([`Heap::chain`]), in the index's order.
    pub(super) fn index_versions(
        &mut self,
        idx: &IndexDef,
        heap: &Heap,
        key: &[Value],
    ) -> Result<Vec<Tid>> {
        let entries = access::open(idx).lookup(&mut self.pager, key)?;
        let mut out = Vec::with_capacity(entries.len());
        for tid in entries {
            heap.chain(&mut self.pager, tid, &mut out)?;
        }
        Ok(out)
    }

    /// Whether an update of a `table` row from `old` to `new` leaves every
    /// key of `indexes` the same datum (and every partial index holding or
    /// leaving out the row as before): then the new version can be a
    /// heap-only one, with no index entry of its own. A key that fails to
    /// evaluate counts as changed.
    pub(super) fn keys_unchanged(
        &mut self,
        table: &TableDef,
        indexes: &[Rc<IndexDef>],
        old: &[Value],
        new: &[Value],
    ) -> bool {
        indexes.iter().all(|idx| {
            if idx.is_plain() {
                return idx.columns.iter().all(|&c| match (old.get(c), new.get(c)) {
                    (Some(a), Some(b)) => same_datum(a, b),
                    _ => false,
                });
            }
            match (
                self.index_entry(idx, table, old),
                self.index_entry(idx, table, new),
            ) {
                (Ok(Some(a)), Ok(Some(b))) => {
                    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| same_datum(x, y))
                }
                (Ok(None), Ok(None)) => true,
                _ => false,
            }
        })
    }

    /// The entry of `row` (a row of `table`) in `idx`: its key values in
    /// index column order, or `None` when a partial index's predicate
    /// leaves the row out.
    pub(super) fn index_entry(
        &mut self,
        idx: &IndexDef,
        table: &TableDef,
        row: &[Value],
    ) -> Result<Option<Vec<Value>>> {
        if idx.is_plain() {
            return Ok(Some(access::key_values(idx, row)));
        }
        let keys = self.index_keys(idx, table)?;
        self.eval_detached(|env| {
            if let Some(p) = &keys.predicate {
                if exec::truth(&eval(p, row, env)?) != Some(true) {
                    return Ok(None);
                }
            }
            let mut out = Vec::with_capacity(keys.keys.len());
            for (k, ty) in keys.keys.iter().zip(&keys.types) {
                let v = eval(k, row, env)?;
                // The key's declared type (a cast's typmod, say) is what
                // the index stores.
                out.push(if v.is_null() {
                    v
                } else {
                    crate::value::cast::cast_assignment(v, ty, env.tz)?
                });
            }
            Ok(Some(out))
        })
    }

    /// Runs `f` with an environment for immutable expressions over a row
    /// (index keys and predicates): no snapshot, parameters or session,
    /// so VACUUM and CREATE INDEX can evaluate them too.
    fn eval_detached<T>(&mut self, f: impl FnOnce(&mut Env) -> exec::ExecResult<T>) -> Result<T> {
        let snapshot = Snapshot::default();
        let own = crate::txn::XidSet::default();
        let tz = TimeZone::utc();
        let mut currval = HashMap::new();
        let mut rng = 0u64;
        let mut notices = Vec::new();
        let mut env = Env {
            pager: &mut self.pager,
            txns: &self.txns,
            snapshot: &snapshot,
            own: &own,
            cid: 0,
            params: &[],
            tz: &tz,
            now: 0,
            cte_plans: &[],
            outer: Vec::new(),
            cte_results: HashMap::new(),
            work_tables: HashMap::new(),
            subquery_cache: HashMap::new(),
            currval: &mut currval,
            defaults: None,
            rng: &mut rng,
            catalog: None,
            show: None,
            stats: None,
            clock: self.config.clock,
            interrupts: &self.interrupts,
            hnsw: Default::default(),
            session: 0,
            ssi: None,
            notices: &mut notices,
            notifies: Vec::new(),
            seen_commit: None,
        };
        f(&mut env)
    }
}

/// Whether two values are the same datum, not merely equal: `0.0` and
/// `-0.0`, or `1.0` and `1.00`, compare equal but are not the same, and a
/// heap-only update must keep every index key exactly as its entry has it.
pub(super) fn same_datum(a: &Value, b: &Value) -> bool {
    fn same_floats(x: &[f32], y: &[f32]) -> bool {
        x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
    }
    match (a, b) {
        (Value::Float4(x), Value::Float4(y)) => x.to_bits() == y.to_bits(),
        (Value::Float8(x), Value::Float8(y)) => x.to_bits() == y.to_bits(),
        (Value::Numeric(x), Value::Numeric(y)) => match (x, y) {
            (Numeric::Value(p), Numeric::Value(q)) => {
                p.as_bigint_and_exponent() == q.as_bigint_and_exponent()
            }
            (Numeric::NaN, Numeric::NaN) => true,
            _ => false,
        },
        (Value::Vector(x), Value::Vector(y)) | (Value::HalfVec(x), Value::HalfVec(y)) => {
            same_floats(x, y)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_datum(p, q))
        }
        _ => std::mem::discriminant(a) == std::mem::discriminant(b) && a == b,
    }
}
