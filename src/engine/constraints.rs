//! NOT NULL, CHECK, UNIQUE and FOREIGN KEY constraints: checking a new
//! row version, and the referential actions on the referenced side.

use std::rc::Rc;

use super::ddl::column_positions;
use super::dml::{DmlExec, DmlKind};
use super::rowlock::{update_lock_mode, RowLockCheck};
use super::{sql_err, Engine, Result, SessionId};
use crate::access;
use crate::catalog::{IndexDef, Object, Oid, TableDef};
use crate::error::{Error, SqlError, SqlState};
use crate::heap::{Heap, Tid, TupleHeader};
use crate::sql::exec::{self, eval, Row};
use crate::sql::parse::ast;
use crate::sql::plan;
use crate::txn::{IsolationLevel, Liveness, RowLockMode, Viewer, Xid};
use crate::value::cast::cast_assignment;
use crate::value::tz::TimeZone;
use crate::value::Value;

/// Which of a row's foreign keys a check covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FkPhase {
    /// Those not deferred in the transaction now (checked as rows change).
    Immediate,
    /// All of them (COMMIT rechecks the rows queued while some were
    /// deferred).
    All,
}

pub(super) enum UniqueCheck {
    Ok,
    Wait(SessionId),
    Conflict(Rc<IndexDef>, Tid),
}

/// A key with a NULL never conflicts (NULLs are distinct).
pub(super) fn key_has_null(key: &[Value]) -> bool {
    key.iter().any(|v| v.is_null())
}

/// `(a, b)=(1, 2)` as PostgreSQL's key details show an index key: column
/// names, or key expressions as written.
pub(super) fn key_detail(table: &TableDef, idx: &IndexDef, key: &[Value], tz: &TimeZone) -> String {
    let mut exprs = idx.expressions.iter();
    let names: Vec<String> = idx
        .columns
        .iter()
        .map(|&i| match table.columns.get(i) {
            Some(c) => crate::sql::functions::string::quote_ident(&c.name),
            None => exprs.next().cloned().unwrap_or_default(),
        })
        .collect();
    let vals: Vec<String> = key
        .iter()
        .map(|v| v.to_pg_text(tz).unwrap_or_else(|| "null".into()))
        .collect();
    format!("({})=({})", names.join(", "), vals.join(", "))
}

pub(super) fn failing_row(table: &TableDef, row: &[Value], tz: &TimeZone) -> String {
    let vals: Vec<String> = table
        .live_columns()
        .map(|(i, _)| row[i].to_pg_text(tz).unwrap_or_else(|| "null".into()))
        .collect();
    format!("Failing row contains ({}).", vals.join(", "))
}

impl Engine {
    /// Resolves a FOREIGN KEY clause of `table` (which may reference itself;
    /// `new_indexes` are its unique keys being created alongside).
    pub(super) fn resolve_foreign_key(
        &mut self,
        sid: SessionId,
        table: &TableDef,
        new_indexes: &[(String, Vec<usize>, bool, ast::Deferral)],
        fk: &ast::ForeignKey,
    ) -> Result<crate::catalog::ForeignKeyDef> {
        let ref_name = fk.table.last().cloned().unwrap_or_default();
        let columns = column_positions(table, &fk.columns)?;
        let (ref_table, ref_uniques): (TableDef, Vec<(Vec<usize>, bool)>) =
            if ref_name == table.name {
                // Its unique keys: those created alongside (CREATE TABLE)
                // and those it has (ALTER TABLE).
                let mut uniques: Vec<(Vec<usize>, bool)> = new_indexes
                    .iter()
                    .filter(|(_, _, _, d)| !d.deferrable)
                    .map(|(_, c, p, _)| (c.clone(), *p))
                    .collect();
                uniques.extend(
                    self.table_indexes(table)
                        .iter()
                        .filter(|i| i.unique && i.is_plain() && !i.deferrable)
                        .map(|i| (i.columns.clone(), i.primary)),
                );
                (table.clone(), uniques)
            } else {
                let entry = self.lookup_name(sid, &fk.table)?.ok_or_else(|| {
                    Error::Sql(plan::undefined_table(&Self::display_name(&fk.table)))
                })?;
                let Object::Table(t) = &*entry.object else {
                    return Err(sql_err(
                        SqlState::WRONG_OBJECT_TYPE,
                        format!("\"{ref_name}\" is not a table"),
                    ));
                };
                let uniques = self
                    .table_indexes(t)
                    .iter()
                    .filter(|i| i.unique && i.is_plain() && !i.deferrable)
                    .map(|i| (i.columns.clone(), i.primary))
                    .collect();
                (t.clone(), uniques)
            };
        let ref_columns = if fk.referred.is_empty() {
            ref_uniques
                .iter()
                .find(|(_, p)| *p)
                .map(|(c, _)| c.clone())
                .ok_or_else(|| {
                    sql_err(
                        SqlState::UNDEFINED_OBJECT,
                        format!("there is no primary key for referenced table \"{ref_name}\""),
                    )
                })?
        } else {
            column_positions(&ref_table, &fk.referred)?
        };
        if ref_columns.len() != columns.len() {
            return Err(sql_err(
                SqlState("42830"),
                "number of referencing and referenced columns for foreign key disagree",
            ));
        }
        let mut sorted = ref_columns.clone();
        sorted.sort_unstable();
        if !ref_uniques.iter().any(|(c, _)| {
            let mut c = c.clone();
            c.sort_unstable();
            c == sorted
        }) {
            return Err(sql_err(
                SqlState("42830"),
                format!("there is no unique constraint matching given keys for referenced table \"{ref_name}\""),
            ));
        }
        let names: Vec<&str> = columns
            .iter()
            .map(|&i| table.columns[i].name.as_str())
            .collect();
        Ok(crate::catalog::ForeignKeyDef {
            oid: self.catalog.allocate_oid(),
            name: fk
                .name
                .clone()
                .unwrap_or_else(|| format!("{}_{}_fkey", table.name, names.join("_"))),
            columns,
            ref_table: if ref_name == table.name {
                table.oid
            } else {
                ref_table.oid
            },
            ref_columns,
            on_delete: fk.on_delete,
            on_update: fk.on_update,
            deferrable: fk.deferrable,
            initially_deferred: fk.initially_deferred,
        })
    }

    /// The foreign keys of the rows this transaction wrote while some of
    /// their foreign keys were deferred, if those rows are still live: all
    /// of them at COMMIT (`at_commit`), else (SET CONSTRAINTS ...
    /// IMMEDIATE) those now immediate. A referenced row another
    /// transaction is changing means waiting for it (`Error::Wait`).
    pub(super) fn check_deferred_fks(&mut self, sid: SessionId, at_commit: bool) -> Result<()> {
        let rows = match self.txns.get(sid) {
            Some(t) => t.deferred_fk_rows.clone(),
            None => return Ok(()),
        };
        let phase = if at_commit {
            FkPhase::All
        } else {
            FkPhase::Immediate
        };
        for (oid, tid) in rows {
            let Some(table) = self.table_by_oid(oid) else {
                continue;
            };
            let Some(t) = Heap::open(table.heap).fetch(&mut self.pager, tid)? else {
                continue;
            };
            if !matches!(self.row_liveness(sid, &t.header)?, Liveness::Live) {
                continue;
            }
            let row = exec::decode_table_row(&table, &t.payload)?;
            if let Some(holder) = self.check_fk_parents_when(sid, &table, &row, None, phase)? {
                return Err(Error::Wait { holder });
            }
        }
        Ok(())
    }

    /// Referencing side: every non-NULL foreign key of `row` must match a
    /// live referenced row (one being inserted by another transaction
    /// means waiting for it).
    pub(super) fn check_fk_parents(
        &mut self,
        sid: SessionId,
        table: &TableDef,
        row: &[Value],
        old: Option<&[Value]>,
    ) -> Result<Option<SessionId>> {
        self.check_fk_parents_when(sid, table, row, old, FkPhase::Immediate)
    }

    /// Checks the foreign keys of `row` that `phase` selects.
    pub(super) fn check_fk_parents_when(
        &mut self,
        sid: SessionId,
        table: &TableDef,
        row: &[Value],
        old: Option<&[Value]>,
        phase: FkPhase,
    ) -> Result<Option<SessionId>> {
        let tz = self.session_tz(sid);
        let fks: Vec<_> = table
            .foreign_keys
            .iter()
            .filter(|f| match phase {
                FkPhase::All => true,
                FkPhase::Immediate => !self.fk_deferred(sid, f),
            })
            .cloned()
            .collect();
        for fk in &fks {
            let vals: Vec<Value> = fk.columns.iter().map(|&i| row[i].clone()).collect();
            if vals.iter().any(|v| v.is_null()) {
                continue;
            }
            if let Some(old) = old {
                if fk
                    .columns
                    .iter()
                    .all(|&i| old[i].sql_eq(&row[i]) == Some(true))
                {
                    continue;
                }
            }
            // A row may reference itself.
            if fk.ref_table == table.oid
                && fk
                    .columns
                    .iter()
                    .zip(&fk.ref_columns)
                    .all(|(&a, &b)| row[a].sql_eq(&row[b]) == Some(true))
            {
                continue;
            }
            let Some(parent) = self.table_by_oid(fk.ref_table) else {
                continue;
            };
            let mut sorted = fk.ref_columns.clone();
            sorted.sort_unstable();
            let Some(idx) = self.table_indexes(&parent).into_iter().find(|i| {
                let mut c = i.columns.clone();
                c.sort_unstable();
                i.unique && i.is_plain() && c == sorted
            }) else {
                continue;
            };
            // Key values in index column order, cast to the parent's types.
            let mut key_vals = Vec::new();
            for &ic in &idx.columns {
                let pos = fk.ref_columns.iter().position(|&r| r == ic).unwrap_or(0);
                key_vals.push(cast_assignment(
                    vals[pos].clone(),
                    &parent.columns[ic].ty,
                    &tz,
                )?);
            }
            // As PostgreSQL's RI check: the referenced row must be visible
            // (to a fresh snapshot under READ COMMITTED, else to the
            // transaction's), and is locked FOR KEY SHARE, which waits for
            // a delete or key update in progress but not for other updates.
            let heap = Heap::open(parent.heap);
            let snapshot = if self
                .txns
                .get(sid)
                .is_none_or(|t| t.isolation == IsolationLevel::ReadCommitted)
            {
                self.take_snapshot(sid)
            } else {
                self.statement_snapshot(sid)
            };
            let own = self
                .txns
                .get(sid)
                .map(|t| t.own().clone())
                .unwrap_or_default();
            let cid = self.current_cid(sid);
            let viewer = Viewer {
                snapshot: &snapshot,
                own: &own,
                // This statement's own rows count too.
                cid: cid + 1,
            };
            let mut found = false;
            let mut wait = None;
            for tid in self.index_versions(&idx, &heap, &key_vals)? {
                let Some(h) = heap.header(&mut self.pager, tid)? else {
                    continue;
                };
                if !viewer.visible(&self.txns, &mut self.pager, &h)? {
                    continue;
                }
                match self.row_lock_check(sid, &heap, tid, &h, RowLockMode::KeyShare)? {
                    RowLockCheck::Free => {
                        let xid = self.write_xid(sid)?;
                        self.take_row_lock(sid, xid, cid, &heap, tid, RowLockMode::KeyShare)?;
                        found = true;
                        break;
                    }
                    RowLockCheck::Busy(holder) => {
                        wait.get_or_insert(holder);
                    }
                    RowLockCheck::Changed => {
                        return Err(sql_err(
                            SqlState::SERIALIZATION_FAILURE,
                            "could not serialize access due to concurrent update",
                        ))
                    }
                }
            }
            if !found {
                if let Some(holder) = wait {
                    return Ok(Some(holder));
                }
                let names: Vec<&str> = fk
                    .columns
                    .iter()
                    .map(|&i| table.columns[i].name.as_str())
                    .collect();
                let shown: Vec<String> = vals
                    .iter()
                    .map(|v| v.to_pg_text(&tz).unwrap_or_default())
                    .collect();
                return Err(Error::Sql(
                    SqlError::new(
                        SqlState::FOREIGN_KEY_VIOLATION,
                        format!(
                            "insert or update on table \"{}\" violates foreign key constraint \"{}\"",
                            table.name, fk.name
                        ),
                    )
                    .with_detail(format!(
                        "Key ({})=({}) is not present in table \"{}\".",
                        names.join(", "),
                        shown.join(", "),
                        parent.name
                    )),
                ));
            }
        }
        Ok(None)
    }

    /// The tables with a foreign key referencing `parent`, as every
    /// running transaction's catalog changes show them. Looked up once per
    /// catalog epoch, not for every row a DELETE or UPDATE changes.
    pub(super) fn fk_children(&mut self, parent: Oid) -> Rc<Vec<TableDef>> {
        let epoch = self.catalog_epoch();
        if self.fk_children.0 != epoch {
            self.fk_children = (epoch, Default::default());
        }
        if let Some(t) = self.fk_children.1.get(&parent) {
            return t.clone();
        }
        let tables: Rc<Vec<TableDef>> = Rc::new(
            self.catalog_entries_all()
                .into_iter()
                .filter_map(|o| match &*o {
                    Object::Table(t) if t.foreign_keys.iter().any(|f| f.ref_table == parent) => {
                        Some(t.clone())
                    }
                    _ => None,
                })
                .collect(),
        );
        self.fk_children.1.insert(parent, tables.clone());
        tables
    }

    /// Referenced side: `old` of `parent` is deleted (`new` = None) or
    /// updated; apply each referencing foreign key's action to the rows that
    /// reference it.
    pub(super) fn enforce_fk_children(
        &mut self,
        sid: SessionId,
        xid: Xid,
        parent: &TableDef,
        old: &[Value],
        new: Option<&[Value]>,
        depth: u32,
    ) -> Result<Option<SessionId>> {
        if depth > 64 {
            return Err(sql_err(SqlState("54001"), "foreign key cascade too deep"));
        }
        let tables = self.fk_children(parent.oid);
        if tables.is_empty() {
            return Ok(None);
        }
        let tz = self.session_tz(sid);
        for child in tables.iter() {
            for fk in child
                .foreign_keys
                .iter()
                .filter(|f| f.ref_table == parent.oid)
            {
                let key: Vec<Value> = fk.ref_columns.iter().map(|&i| old[i].clone()).collect();
                if key.iter().any(|v| v.is_null()) {
                    continue;
                }
                if let Some(new) = new {
                    if fk
                        .ref_columns
                        .iter()
                        .all(|&i| old[i].sql_eq(&new[i]) == Some(true))
                    {
                        continue;
                    }
                }
                let heap = Heap::open(child.heap);
                let mut page = heap.first_page(&mut self.pager)?;
                while page != 0 {
                    let (tuples, next) = heap.scan_page(&mut self.pager, page)?;
                    for t in tuples {
                        if t.header.flags & crate::heap::flags::REDIRECT != 0 {
                            // A chain's dead root: no row.
                            continue;
                        }
                        let row = exec::decode_table_row(child, &t.payload)?;
                        let matches = fk
                            .columns
                            .iter()
                            .zip(&key)
                            .all(|(&c, k)| row[c].sql_eq(k) == Some(true));
                        if !matches {
                            continue;
                        }
                        match self.row_liveness(sid, &t.header)? {
                            Liveness::Dead => continue,
                            Liveness::InFlux(holder) if holder != sid => return Ok(Some(holder)),
                            _ => {}
                        }
                        let action = if new.is_some() {
                            fk.on_update
                        } else {
                            fk.on_delete
                        };
                        if action == crate::catalog::RefAction::NoAction
                            && self.fk_deferred(sid, fk)
                        {
                            // Checked at COMMIT: the key may come back before then.
                            let child_tid = t.tid;
                            if let Some(txn) = self.txns.get_mut(sid) {
                                txn.deferred_fk_rows.push((child.oid, child_tid));
                            }
                            continue;
                        }
                        let replacement: Option<Row> = match action {
                            crate::catalog::RefAction::NoAction
                            | crate::catalog::RefAction::Restrict => {
                                let names: Vec<&str> = fk
                                    .ref_columns
                                    .iter()
                                    .map(|&i| parent.columns[i].name.as_str())
                                    .collect();
                                let shown: Vec<String> = key
                                    .iter()
                                    .map(|v| v.to_pg_text(&tz).unwrap_or_default())
                                    .collect();
                                return Err(Error::Sql(
                                    SqlError::new(
                                        SqlState::FOREIGN_KEY_VIOLATION,
                                        format!(
                                            "update or delete on table \"{}\" violates foreign key constraint \"{}\" on table \"{}\"",
                                            parent.name, fk.name, child.name
                                        ),
                                    )
                                    .with_detail(format!(
                                        "Key ({})=({}) is still referenced from table \"{}\".",
                                        names.join(", "),
                                        shown.join(", "),
                                        child.name
                                    )),
                                ));
                            }
                            crate::catalog::RefAction::Cascade => new.map(|n| {
                                let mut r = row.clone();
                                for (&c, &p) in fk.columns.iter().zip(&fk.ref_columns) {
                                    r[c] = n[p].clone();
                                }
                                r
                            }),
                            crate::catalog::RefAction::SetNull
                            | crate::catalog::RefAction::SetDefault => {
                                let mut r = row.clone();
                                let defaults = if action == crate::catalog::RefAction::SetDefault {
                                    self.evaluated_defaults(sid, child)?
                                } else {
                                    vec![Value::Null; child.columns.len()]
                                };
                                for &c in &fk.columns {
                                    r[c] = defaults[c].clone();
                                }
                                Some(r)
                            }
                        };
                        if let Some(h) =
                            self.modify_child(sid, xid, child, t.tid, &row, replacement, depth)?
                        {
                            return Ok(Some(h));
                        }
                    }
                    page = next;
                }
            }
        }
        Ok(None)
    }

    /// Deletes (replacement None) or replaces a referencing row, cascading
    /// further and checking the new version's constraints.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn modify_child(
        &mut self,
        sid: SessionId,
        xid: Xid,
        child: &TableDef,
        tid: Tid,
        old: &[Value],
        replacement: Option<Row>,
        depth: u32,
    ) -> Result<Option<SessionId>> {
        self.note_written(sid, child.oid);
        if let Some(h) =
            self.enforce_fk_children(sid, xid, child, old, replacement.as_deref(), depth + 1)?
        {
            return Ok(Some(h));
        }
        let snapshot = self.take_snapshot(sid);
        let checks = if replacement.is_some() {
            self.bind(sid, &snapshot, |b| Self::bind_checks(b, child))?
                .0
        } else {
            Vec::new()
        };
        let capture = self.captures(sid, child)?;
        let mut dml = DmlExec {
            capture,
            kind: DmlKind::Insert(None),
            table: Rc::new(child.clone()),
            indexes: self.table_indexes(child),
            rows: Vec::new(),
            pos: 0,
            returning: None,
            out: Vec::new(),
            count: 0,
            snapshot,
            cid: self.current_cid(sid),
            params: Vec::new(),
            checks,
            cte_plans: Default::default(),
            index_batches: None,
        };
        let cid = dml.cid;
        let heap = Heap::open(child.heap);
        let mode = match &replacement {
            None => RowLockMode::Update,
            Some(new) => update_lock_mode(
                &dml.indexes,
                (0..old.len()).filter(|&i| old[i].sql_eq(&new[i]) != Some(true)),
            ),
        };
        if let Some(h) = heap.header(&mut self.pager, tid)? {
            match self.row_lock_check(sid, &heap, tid, &h, mode)? {
                RowLockCheck::Free => {}
                RowLockCheck::Busy(owner) => return Ok(Some(owner)),
                RowLockCheck::Changed => {
                    return Err(sql_err(
                        SqlState::SERIALIZATION_FAILURE,
                        "could not serialize access due to concurrent update",
                    ))
                }
            }
        }
        self.ssi_write_version(xid, child, tid)?;
        match replacement {
            None => {
                self.mark_replaced(sid, &heap, tid, xid, cid, None, false, mode)?;
                if dml.capture {
                    self.capture(sid, child, &dml.indexes, "DELETE", Some(old), None)?;
                }
            }
            Some(new_row) => {
                let mut new_row = new_row;
                self.check_row(sid, &mut dml, &mut new_row)?;
                if let Some(holder) = self.check_unique_update(sid, &dml, &new_row, tid)? {
                    return Ok(Some(holder));
                }
                let new_tid = self.insert_row(&dml, xid, &new_row)?;
                self.mark_replaced(sid, &heap, tid, xid, cid, Some(new_tid), false, mode)?;
                if dml.capture {
                    self.capture(
                        sid,
                        child,
                        &dml.indexes,
                        "UPDATE",
                        Some(old),
                        Some(&new_row),
                    )?;
                }
            }
        }
        self.note_dead_rows(child.oid, 1, xid);
        Ok(None)
    }

    /// A new row version made whole (its generated columns computed)
    /// and checked against the NOT NULL and CHECK constraints.
    pub(super) fn check_row(
        &mut self,
        sid: SessionId,
        dml: &mut DmlExec,
        row: &mut Row,
    ) -> Result<()> {
        self.fill_generated(sid, dml, row)?;
        let row: &[Value] = row;
        let tz = self.session_tz(sid);
        for (i, c) in dml.table.columns.iter().enumerate() {
            if c.not_null && !c.dropped && row[i].is_null() {
                return Err(Error::Sql(
                    SqlError::new(
                        SqlState::NOT_NULL_VIOLATION,
                        format!(
                            "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                            c.name, dml.table.name
                        ),
                    )
                    .with_detail(failing_row(&dml.table, row, &tz)),
                ));
            }
        }
        if dml.checks.is_empty() {
            return Ok(());
        }
        let checks = std::mem::take(&mut dml.checks);
        let failed = self.with_dml_env(sid, dml, |env| {
            for (name, e) in &checks {
                // CHECK passes unless false (NULL passes).
                if exec::truth(&eval(e, row, env)?) == Some(false) {
                    return Ok(Some(name.clone()));
                }
            }
            Ok(None)
        });
        dml.checks = checks;
        if let Some(name) = failed? {
            return Err(Error::Sql(
                SqlError::new(
                    SqlState::CHECK_VIOLATION,
                    format!(
                        "new row for relation \"{}\" violates check constraint \"{name}\"",
                        dml.table.name
                    ),
                )
                .with_detail(failing_row(&dml.table, row, &tz)),
            ));
        }
        Ok(())
    }

    /// Whether foreign key `fk` is checked at COMMIT in `sid`'s transaction.
    pub(super) fn fk_deferred(&self, sid: SessionId, fk: &crate::catalog::ForeignKeyDef) -> bool {
        fk.deferrable
            && self.txns.get(sid).is_some_and(|t| {
                t.constraint_deferred(&fk.name, fk.deferrable, fk.initially_deferred)
            })
    }

    /// Unique indexes: a committed live row, or one of ours, with the same
    /// key is a violation; an in-progress insert/delete of another
    /// transaction means we must wait for it.
    pub(super) fn check_unique(
        &mut self,
        sid: SessionId,
        dml: &DmlExec,
        row: &[Value],
        updating: Option<Tid>,
    ) -> Result<UniqueCheck> {
        let heap = Heap::open(dml.table.heap);
        for idx in dml.indexes.iter().filter(|i| i.unique) {
            // A deferrable constraint is checked at the end of the
            // statement or at COMMIT (`queue_deferred_unique`).
            if idx.deferrable {
                continue;
            }
            let Some(key) = self.index_entry(idx, &dml.table, row)? else {
                continue;
            };
            if key_has_null(&key) {
                continue;
            }
            let tids = self.index_versions(idx, &heap, &key)?;
            for tid in tids {
                if Some(tid) == updating {
                    continue;
                }
                let Some(h) = heap.header(&mut self.pager, tid)? else {
                    continue;
                };
                match self.row_liveness(sid, &h)? {
                    Liveness::Dead => {}
                    Liveness::Live => {
                        self.unique_ssi_check(sid, idx, &key)?;
                        return Ok(UniqueCheck::Conflict(idx.clone(), tid));
                    }
                    Liveness::InFlux(holder) => return Ok(UniqueCheck::Wait(holder)),
                }
            }
        }
        Ok(UniqueCheck::Ok)
    }

    /// SERIALIZABLE: before a unique violation is reported, the insert is
    /// checked for rw-conflicts as if it were written (PostgreSQL's
    /// _bt_check_unique does the same), so that a dangerous structure the
    /// violation would mask is reported as the serialization failure it is.
    fn unique_ssi_check(&mut self, sid: SessionId, idx: &IndexDef, key: &[Value]) -> Result<()> {
        if self.txns.ssi.of_session(sid).is_none() {
            return Ok(());
        }
        let write = match access::open(idx).predicate_key(key)? {
            Some(k) => crate::txn::ssi::Write::IndexKey(idx.oid, k),
            None => crate::txn::ssi::Write::Index(idx.oid),
        };
        self.ssi_write(sid, &[write])
    }

    pub(super) fn unique_violation(
        &mut self,
        sid: SessionId,
        table: &TableDef,
        idx: &IndexDef,
        row: &[Value],
    ) -> Error {
        let key = match self.index_entry(idx, table, row) {
            Ok(Some(key)) => key,
            // The key was computed a moment ago to find the conflict.
            Ok(None) | Err(_) => access::key_values(idx, row),
        };
        let shown = key_detail(table, idx, &key, &self.session_tz(sid));
        Error::Sql(
            SqlError::new(
                SqlState::UNIQUE_VIOLATION,
                format!(
                    "duplicate key value violates unique constraint \"{}\"",
                    idx.name
                ),
            )
            .with_detail(format!("Key {shown} already exists.")),
        )
    }

    /// Whether a row version counts for uniqueness (a "dirty" look that
    /// sees other transactions' uncommitted work, like PostgreSQL's).
    pub(super) fn row_liveness(&mut self, sid: SessionId, h: &TupleHeader) -> Result<Liveness> {
        Ok(self.txns.row_liveness(&mut self.pager, sid, h)?)
    }
}
