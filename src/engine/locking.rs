//! Explicit locking and constraint timing: LOCK TABLE, SET CONSTRAINTS,
//! the checks deferred to COMMIT (foreign keys and uniqueness), and a
//! SERIALIZABLE READ ONLY DEFERRABLE transaction's wait for a safe
//! snapshot. A check that meets another transaction's work in flux
//! returns `Error::Wait`, and the statement (COMMIT, SET CONSTRAINTS,
//! the first statement of a deferrable transaction) waits and runs again.

use super::constraints::key_has_null;
use super::{sql_err, Engine, QueryResult, Result, SessionId};
use crate::catalog::{IndexDef, Object, TableDef};
use crate::error::Error;
use crate::heap::{Heap, Tid};
use crate::sql::exec;
use crate::sql::parse::ast;
use crate::sql::plan;
use crate::sqlstate::SqlState;
use crate::txn::{IsolationLevel, Liveness, LockMode};
use crate::value::Value;

impl Engine {
    /// `LOCK [TABLE] name [, ...] IN mode MODE [NOWAIT]`.
    pub(super) fn lock_tables(
        &mut self,
        sid: SessionId,
        names: &[ast::Name],
        mode: LockMode,
        nowait: bool,
    ) -> Result<QueryResult> {
        if !self.txns.get(sid).is_some_and(|t| t.explicit) {
            return Err(sql_err(
                SqlState::NO_ACTIVE_SQL_TRANSACTION,
                "LOCK TABLE can only be used in transaction blocks",
            ));
        }
        for name in names {
            let tname = name.last().cloned().unwrap_or_default();
            let entry = self
                .lookup_name(sid, name)?
                .ok_or_else(|| Error::Sql(plan::undefined_table(&Self::display_name(name))))?;
            let Object::Table(table) = &*entry.object else {
                return Err(sql_err(
                    SqlState::WRONG_OBJECT_TYPE,
                    format!("\"{tname}\" is not a table"),
                ));
            };
            let table = table.clone();
            self.lock_relation_as(sid, &table, mode, nowait)?;
        }
        Ok(QueryResult::tag("LOCK TABLE"))
    }

    /// `SET CONSTRAINTS { ALL | name [, ...] } { DEFERRED | IMMEDIATE }`:
    /// changing a constraint to IMMEDIATE checks what was deferred so far
    /// now, as PostgreSQL does.
    pub(super) fn set_constraints(
        &mut self,
        sid: SessionId,
        names: Option<&[ast::Name]>,
        deferred: bool,
    ) -> Result<QueryResult> {
        if !self.txns.get(sid).is_some_and(|t| t.explicit) {
            // PostgreSQL warns and does nothing.
            return Ok(QueryResult::tag("SET CONSTRAINTS"));
        }
        let mut named = Vec::new();
        if let Some(names) = names {
            let known = self.deferrable_constraints();
            for n in names {
                let cname = n.last().cloned().unwrap_or_default();
                match known.iter().find(|(k, _)| *k == cname) {
                    None => {
                        return Err(sql_err(
                            SqlState::UNDEFINED_OBJECT,
                            format!("constraint \"{cname}\" does not exist"),
                        ))
                    }
                    Some((_, false)) => {
                        return Err(sql_err(
                            SqlState::WRONG_OBJECT_TYPE,
                            format!("constraint \"{cname}\" is not deferrable"),
                        ))
                    }
                    Some(_) => named.push(cname),
                }
            }
        }
        if let Some(t) = self.txns.get_mut(sid) {
            if named.is_empty() && names.is_none() {
                t.constraints_all = Some(deferred);
                t.constraints_named.clear();
            }
            for n in named {
                t.constraints_named.insert(n, deferred);
            }
        }
        if !deferred {
            self.check_deferred_constraints(sid, false)?;
        }
        Ok(QueryResult::tag("SET CONSTRAINTS"))
    }

    /// Every UNIQUE, PRIMARY KEY and FOREIGN KEY constraint by name, with
    /// whether it is deferrable.
    fn deferrable_constraints(&mut self) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        for o in self.catalog_entries_all() {
            match &*o {
                Object::Index(i) if i.constraint => out.push((i.name.clone(), i.deferrable)),
                Object::Table(t) => {
                    out.extend(
                        t.foreign_keys
                            .iter()
                            .map(|f| (f.name.clone(), f.deferrable)),
                    );
                }
                _ => {}
            }
        }
        out
    }

    /// Whether `idx`'s uniqueness is checked at COMMIT in `sid`'s
    /// transaction.
    pub(super) fn unique_deferred(&self, sid: SessionId, idx: &IndexDef) -> bool {
        idx.deferrable
            && self.txns.get(sid).is_some_and(|t| {
                t.constraint_deferred(&idx.name, idx.deferrable, idx.initially_deferred)
            })
    }

    /// After a row version was inserted at `tid`: for each of `table`'s
    /// deferrable unique indexes where another version with the same key
    /// exists (live or in flux), the check is queued: for the end of the
    /// statement if the constraint is immediate (PostgreSQL checks a
    /// deferrable constraint's immediate mode per statement, not per row),
    /// else for COMMIT.
    pub(super) fn queue_deferred_unique(
        &mut self,
        sid: SessionId,
        table: &TableDef,
        indexes: &[std::rc::Rc<IndexDef>],
        row: &[Value],
        tid: Tid,
    ) -> Result<()> {
        for idx in indexes.iter().filter(|i| i.unique && i.deferrable) {
            if self.unique_conflict(sid, table, idx, row, tid)?.is_some() {
                if let Some(t) = self.txns.get_mut(sid) {
                    t.deferred_unique.push((table.oid, idx.oid, tid));
                }
            }
        }
        Ok(())
    }

    /// Another version than `tid` with `row`'s key in unique index `idx`:
    /// `Some(Live)` one that counts, `Some(InFlux(s))` one session `s` is
    /// changing.
    fn unique_conflict(
        &mut self,
        sid: SessionId,
        table: &TableDef,
        idx: &IndexDef,
        row: &[Value],
        tid: Tid,
    ) -> Result<Option<Liveness>> {
        let Some(key) = self.index_entry(idx, table, row)? else {
            return Ok(None);
        };
        if key_has_null(&key) {
            return Ok(None);
        }
        let heap = Heap::open(table.heap);
        let mut in_flux = None;
        for other in self.index_versions(idx, &heap, &key)? {
            if other == tid {
                continue;
            }
            let Some(h) = heap.header(&mut self.pager, other)? else {
                continue;
            };
            match self.row_liveness(sid, &h)? {
                Liveness::Dead => {}
                Liveness::Live => return Ok(Some(Liveness::Live)),
                l @ Liveness::InFlux(_) => in_flux = Some(l),
            }
        }
        Ok(in_flux)
    }

    /// The checks deferred so far: all of them at COMMIT (`at_commit`),
    /// else (SET CONSTRAINTS ... IMMEDIATE) those of constraints that are
    /// now immediate. A violation is the constraint's error; work of
    /// another transaction in flux means waiting for it (`Error::Wait`).
    pub(super) fn check_deferred_constraints(
        &mut self,
        sid: SessionId,
        at_commit: bool,
    ) -> Result<()> {
        self.check_deferred_fks(sid, at_commit)?;
        let queued = match self.txns.get(sid) {
            Some(t) => t.deferred_unique.clone(),
            None => return Ok(()),
        };
        let mut left = Vec::new();
        for (table_oid, index_oid, tid) in queued {
            let Some(table) = self.table_by_oid(table_oid) else {
                continue;
            };
            let Some(idx) = self
                .table_indexes(&table)
                .into_iter()
                .find(|i| i.oid == index_oid)
            else {
                continue;
            };
            if !at_commit && self.unique_deferred(sid, &idx) {
                left.push((table_oid, index_oid, tid));
                continue;
            }
            let Some(t) = Heap::open(table.heap).fetch(&mut self.pager, tid)? else {
                continue;
            };
            // A version this transaction deleted or replaced since then no
            // longer counts.
            if !matches!(self.row_liveness(sid, &t.header)?, Liveness::Live) {
                continue;
            }
            let row = exec::decode_table_row(&table, &t.payload)?;
            match self.unique_conflict(sid, &table, &idx, &row, tid)? {
                None | Some(Liveness::Dead) => {}
                Some(Liveness::Live) => {
                    return Err(self.unique_violation(sid, &table, &idx, &row));
                }
                Some(Liveness::InFlux(holder)) => {
                    return Err(Error::Wait { holder });
                }
            }
        }
        if !at_commit {
            if let Some(t) = self.txns.get_mut(sid) {
                t.deferred_unique = left;
            }
        }
        Ok(())
    }

    /// The end of a statement: its deferrable constraints in immediate
    /// mode are checked now. Work of another transaction in flux cannot
    /// be waited for here (the statement's changes are made), so it fails
    /// as a serialization failure.
    pub(super) fn end_of_statement_checks(&mut self, sid: SessionId) -> Result<()> {
        if self
            .txns
            .get(sid)
            .is_none_or(|t| t.deferred_unique.is_empty())
        {
            return Ok(());
        }
        match self.check_deferred_constraints(sid, false) {
            Err(Error::Wait { .. }) => Err(sql_err(
                SqlState::SERIALIZATION_FAILURE,
                "could not serialize access due to concurrent update",
            )),
            other => other,
        }
    }

    /// The first statement of a SERIALIZABLE READ ONLY DEFERRABLE
    /// transaction waits until its snapshot is safe: no read-write
    /// serializable transaction that overlaps it can make it see an
    /// anomaly. Then it runs without SSI tracking. An unsafe snapshot is
    /// replaced by a fresh one, as PostgreSQL's GetSafeSnapshot does.
    pub(super) fn await_safe_snapshot(&mut self, sid: SessionId) -> Result<()> {
        let waiting = self.txns.get(sid).is_some_and(|t| {
            t.isolation == IsolationLevel::Serializable && t.read_only && t.deferrable
        });
        if !waiting {
            return Ok(());
        }
        for _ in 0..1000 {
            if self.txns.get(sid).is_some_and(|t| t.snapshot.is_none()) {
                self.txns.statement_snapshot(sid);
            }
            match self.txns.ssi.snapshot_safety(sid) {
                Some(true) => {
                    self.txns.ssi.release_safe(sid);
                    if let Some(t) = self.txns.get_mut(sid) {
                        t.ssi_tracked = false;
                        t.deferrable = false;
                    }
                    return Ok(());
                }
                Some(false) => {
                    self.txns.ssi.abort(sid);
                    if let Some(t) = self.txns.get_mut(sid) {
                        t.snapshot = None;
                    }
                }
                None => {
                    let writers = self.txns.ssi.unsafe_writers(sid);
                    if let Some(&holder) = writers.first() {
                        return Err(Error::Wait { holder });
                    }
                    // Its writers have no session (prepared): treat the
                    // snapshot as unsafe and take another.
                    self.txns.ssi.abort(sid);
                    if let Some(t) = self.txns.get_mut(sid) {
                        t.snapshot = None;
                    }
                }
            }
        }
        Err(sql_err(
            SqlState::SERIALIZATION_FAILURE,
            "could not obtain a safe snapshot for a deferrable transaction",
        ))
    }
}
