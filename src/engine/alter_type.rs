//! ALTER TABLE ... ALTER COLUMN ... [SET DATA] TYPE ... [USING ...].
//!
//! Rows are stored with their columns' types (`decode_table_row` reads a
//! payload with the table's column types), so a row version written under
//! the old type cannot be read under the new one. As PostgreSQL does with
//! a new relfilenode, the statement therefore writes every live row,
//! converted, into a *new heap*, and every index of the table into new
//! storage; the table's and the indexes' new catalog versions point at
//! them. The catalog is versioned like rows, so:
//! - a snapshot taken before the commit keeps the old `TableDef`, hence
//!   the old heap and its old rows (better than PostgreSQL, whose rewrite
//!   shows older snapshots an empty table);
//! - ROLLBACK leaves the old versions current; the new heap and indexes
//!   belong to dead catalog versions, and catalog vacuum frees their pages
//!   (as it frees the old ones once the commit is visible to everyone).
//!
//! A rebuilt index records the heap its TIDs point into
//! ([`IndexDef::heap`]), so a session still on the old table version never
//! plans or maintains it, and gets a new OID so no bound key expression
//! cached for the old column type is reused.

use std::rc::Rc;

use super::dml::{DmlExec, DmlKind};
use super::{sql_err, Engine, Result, SessionId};
use crate::access;
use crate::catalog::{IndexDef, IndexMethod, Object, TableDef};
use crate::error::{Error, SqlError, SqlState};
use crate::heap::{Heap, Tid};
use crate::sql::exec::{eval, value_tid};
use crate::sql::functions::quote_ident;
use crate::sql::parse::ast::Expr;
use crate::sql::parse::translate;
use crate::sql::plan::{table_scope, BExpr, Scope};
use crate::sql::resolve::{self, Context};
use crate::txn::{Xid, XidStatus};
use crate::value::cast::cast_assignment;
use crate::value::types::{from_oid_typmod, DataType};
use crate::value::vector::ElementFormat;

/// `format_type_be`: the type's name without its modifier, as PostgreSQL
/// names the target type in these errors (`character varying`, not
/// `character varying(10)`).
fn type_name_be(ty: &DataType) -> String {
    match ty {
        DataType::Char(_) => "character".into(),
        // Enum types are no built-in OID: their name has no modifier.
        other => {
            from_oid_typmod(other.oid(), -1).map_or_else(|| other.to_string(), |t| t.to_string())
        }
    }
}

/// Whether PostgreSQL can implement a foreign key from a column of type
/// `fk` to one of type `pk`: an equality operator of the key's operator
/// family takes both (the integer types among themselves), or `fk`
/// coerces implicitly to `pk` (`ri_triggers`' `ATAddForeignKeyConstraint`).
fn fk_types_compatible(fk: &DataType, pk: &DataType) -> bool {
    (fk.is_integer() && pk.is_integer())
        || resolve::can_coerce(fk.oid(), pk.oid(), Context::Implicit)
}

/// The HNSW options of `idx` for its column's new type `ty`: new
/// dimensions, or 42804 when the operator class no longer takes the type.
fn hnsw_for(idx: &IndexDef, ty: &DataType) -> Result<Option<crate::catalog::HnswOptions>> {
    let Some(mut opts) = idx.hnsw else {
        return Ok(None);
    };
    // The operator class fixes the element format; only the dimensions
    // may change.
    let (dims, format) = match ty {
        DataType::Vector(d) => (*d, Some(ElementFormat::F32)),
        DataType::HalfVec(d) => (*d, Some(ElementFormat::F16)),
        DataType::Bit(d) => (*d, Some(ElementFormat::Bit)),
        _ => (None, None),
    };
    if format != Some(opts.format) {
        return Err(sql_err(
            SqlState::DATATYPE_MISMATCH,
            format!(
                "operator class of index \"{}\" does not accept data type {}",
                idx.name,
                type_name_be(ty)
            ),
        ));
    }
    let Some(dims) = dims else {
        return Err(sql_err(
            SqlState::DATA_EXCEPTION,
            "column does not have dimensions",
        ));
    };
    opts.dims = dims;
    Ok(Some(opts))
}

impl Engine {
    /// Changes column `column` of `table` (catalog version `tid`) to `ty`,
    /// converting every live row with the assignment cast, or with `using`
    /// evaluated over the row; returns the table's new catalog version.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn alter_column_type(
        &mut self,
        sid: SessionId,
        xid: Xid,
        tid: Tid,
        table: &mut TableDef,
        column: &str,
        ty: &DataType,
        using: Option<&Expr>,
    ) -> Result<Tid> {
        super::ddl::refuse_reg_column(ty)?;
        let Some(i) = table.column(column) else {
            return Err(sql_err(
                SqlState::UNDEFINED_COLUMN,
                format!(
                    "column \"{column}\" of relation \"{}\" does not exist",
                    table.name
                ),
            ));
        };
        self.refuse_type_dependents(sid, table, i)?;
        // Deferred checks queued for the table's rows name their TIDs in
        // the heap we are about to replace; PostgreSQL refuses too.
        let pending = self.txns.get(sid).is_some_and(|t| {
            t.deferred_fk_rows.iter().any(|(o, _)| *o == table.oid)
                || t.deferred_unique.iter().any(|(o, _, _)| *o == table.oid)
        });
        if pending {
            return Err(sql_err(
                SqlState("55006"),
                format!(
                    "cannot ALTER TABLE \"{}\" because it has pending trigger events",
                    table.name
                ),
            ));
        }
        let old = table.clone();

        // The conversion, bound over the old row (the USING expression may
        // read any column, with the types it had).
        let snapshot = self.take_snapshot(sid);
        let target = ty.clone();
        let default_sql = old.columns[i].default.clone();
        let ((convert, checks), _, _) = self.bind(sid, &snapshot, |b| {
            let scope = table_scope(&old, &old.name, &[]);
            let (e, ety) = match using {
                Some(u) => b.bind_expr(u, &scope)?,
                None => (BExpr::Col(i), old.columns[i].ty.clone()),
            };
            if ety != DataType::Unknown
                && !resolve::can_coerce(ety.oid(), target.oid(), Context::Assignment)
            {
                let (message, hint) = if using.is_some() {
                    (
                        format!(
                            "result of USING clause for column \"{column}\" cannot be cast automatically to type {}",
                            type_name_be(&target)
                        ),
                        "You might need to add an explicit cast.".to_string(),
                    )
                } else {
                    (
                        format!(
                            "column \"{column}\" cannot be cast automatically to type {}",
                            type_name_be(&target)
                        ),
                        format!(
                            "You might need to specify \"USING {}::{}\".",
                            quote_ident(column),
                            target
                        ),
                    )
                };
                return Err(SqlError::new(SqlState::DATATYPE_MISMATCH, message).with_hint(hint));
            }
            // The default must convert too (PostgreSQL coerces the stored
            // default expression to the new type).
            if let Some(d) = &default_sql {
                let e = translate::parse_expr(d)?;
                let (_, dty) = b.bind_expr(&e, &Scope::default())?;
                if dty != DataType::Unknown
                    && !resolve::can_coerce(dty.oid(), target.oid(), Context::Assignment)
                {
                    return Err(SqlError::new(
                        SqlState::DATATYPE_MISMATCH,
                        format!(
                            "default for column \"{column}\" cannot be cast automatically to type {}",
                            type_name_be(&target)
                        ),
                    ));
                }
            }
            let mut new = old.clone();
            new.columns[i].ty = target.clone();
            Ok((e, Self::bind_checks(b, &new)?))
        })?;

        self.check_fk_types(sid, table, i, ty)?;

        // The new table version, on a new heap.
        table.columns[i].ty = ty.clone();
        table.heap = Heap::create(&mut self.pager)?.meta_page();
        let cid = self.current_cid(sid);
        let tid =
            self.catalog
                .replace(&mut self.pager, tid, xid, cid, Object::Table(table.clone()))?;

        // Every index gets new storage (TIDs change with the heap).
        let mut indexes = Vec::new();
        let old_indexes: Vec<(Tid, IndexDef)> = self
            .visible_entries(sid)?
            .into_iter()
            .filter_map(|e| match &*e.object {
                Object::Index(x) if x.table == table.oid => Some((e.tid, x.clone())),
                _ => None,
            })
            .collect();
        for (itid, mut def) in old_indexes {
            if def.method == IndexMethod::Hnsw && def.columns.contains(&i) {
                def.hnsw = hnsw_for(&def, ty)?;
            }
            def.oid = self.catalog.allocate_oid();
            def.heap = table.heap;
            // Key expressions and predicates must still bind over the new
            // type (`lower(c)` of an integer is 42883, as in PostgreSQL),
            // even when there is no row to index.
            if !def.is_plain() {
                self.index_keys(&def, table)?;
            }
            def.root = access::create(&mut self.pager, &def)?;
            self.catalog
                .replace(&mut self.pager, itid, xid, cid, Object::Index(def.clone()))?;
            indexes.push(Rc::new(def));
        }

        // Converted copies of the live rows.
        let rows = self.visible_rows(sid, &old)?;
        let tz = self.session_tz(sid);
        let ncols = old.columns.len();
        let old_heap = Heap::open(old.heap);
        let mut dml = DmlExec {
            capture: false,
            kind: DmlKind::Insert(None),
            table: Rc::new(table.clone()),
            indexes: indexes.clone(),
            rows: Vec::new(),
            pos: 0,
            returning: None,
            out: Vec::new(),
            count: 0,
            snapshot: snapshot.clone(),
            cid: self.current_cid(sid),
            params: Vec::new(),
            checks,
            cte_plans: Default::default(),
            index_batches: None,
        };
        for mut row in rows {
            let Some(old_tid) = value_tid(&row[ncols]) else {
                continue;
            };
            row.truncate(ncols);
            // A row another transaction has locked (FOR SHARE taken
            // before our lock) cannot be moved from under it.
            if let Some(h) = old_heap.header(&mut self.pager, old_tid)? {
                let own = self.txns.get(sid).is_some_and(|t| t.owns(h.xmax));
                if h.xmax != 0
                    && !own
                    && self.txns.status(&mut self.pager, h.xmax)? == XidStatus::InProgress
                {
                    return Err(sql_err(
                        SqlState::LOCK_NOT_AVAILABLE,
                        "could not rewrite a row locked by another transaction",
                    ));
                }
            }
            self.interrupts.tick()?;
            let value = self.with_env(sid, &snapshot, &[], &[], None, |env| {
                eval(&convert, &row, env)
            })?;
            row[i] = cast_assignment(value, ty, &tz)?;
            self.check_row(sid, &mut dml, &mut row)?;
            for idx in indexes.iter().filter(|x| x.unique) {
                let Some(key) = self.index_entry(idx, table, &row)? else {
                    continue;
                };
                if super::constraints::key_has_null(&key) {
                    continue;
                }
                if !access::open(idx).lookup(&mut self.pager, &key)?.is_empty() {
                    return Err(Error::Sql(
                        SqlError::new(
                            SqlState::UNIQUE_VIOLATION,
                            format!("could not create unique index \"{}\"", idx.name),
                        )
                        .with_detail(format!(
                            "Key {} is duplicated.",
                            super::constraints::key_detail(table, idx, &key, &tz)
                        )),
                    ));
                }
            }
            self.insert_row(&dml, xid, &row)?;
        }
        Ok(tid)
    }

    /// PostgreSQL refuses to change the type of a column that a view or a
    /// generated column reads (0A000), naming the first dependent.
    fn refuse_type_dependents(&mut self, sid: SessionId, table: &TableDef, i: usize) -> Result<()> {
        let col = &table.columns[i].name;
        let what = format!(
            "column {} of table {}",
            quote_ident(col),
            quote_ident(&table.name)
        );
        let views =
            self.dependent_views(sid, &[(table.oid, Some(i), what)], &Default::default())?;
        if let Some(d) = views.first() {
            let view = match &*d.entry.object {
                Object::View(v) => v.name.clone(),
                _ => String::new(),
            };
            return Err(Error::Sql(
                SqlError::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "cannot alter type of a column used by a view or rule",
                )
                .with_detail(format!(
                    "rule _RETURN on view {} depends on column \"{col}\"",
                    quote_ident(&view)
                )),
            ));
        }
        let readers = super::generated::generated_readers(table, i)?;
        if let Some(&r) = readers.iter().find(|&&r| r != i) {
            return Err(Error::Sql(
                SqlError::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "cannot alter type of a column used by a generated column",
                )
                .with_detail(format!(
                    "Column \"{col}\" is used by generated column \"{}\".",
                    table.columns[r].name
                )),
            ));
        }
        Ok(())
    }

    /// Foreign keys through column `i` of `table` (its own, and other
    /// tables' referencing it) must still pair comparable types once it
    /// is `ty`; PostgreSQL re-adds them and fails with 42804 otherwise.
    fn check_fk_types(
        &mut self,
        sid: SessionId,
        table: &TableDef,
        i: usize,
        ty: &DataType,
    ) -> Result<()> {
        let entries = self.visible_entries(sid)?;
        let table_of = |oid| {
            entries.iter().find_map(|e| match &*e.object {
                Object::Table(t) if t.oid == oid => Some(t.clone()),
                _ => None,
            })
        };
        let incompatible = |name: &str,
                            fk_col: &str,
                            pk_col: &str,
                            fk: &DataType,
                            pk: &DataType| {
            Error::Sql(
                SqlError::new(
                    SqlState::DATATYPE_MISMATCH,
                    format!("foreign key constraint \"{name}\" cannot be implemented"),
                )
                .with_detail(format!(
                    "Key columns \"{fk_col}\" and \"{pk_col}\" are of incompatible types: {} and {}.",
                    type_name_be(fk),
                    type_name_be(pk)
                )),
            )
        };
        // Its own keys referencing other columns.
        for fk in &table.foreign_keys {
            let Some(k) = fk.columns.iter().position(|&c| c == i) else {
                continue;
            };
            let parent = if fk.ref_table == table.oid {
                Some(table.clone())
            } else {
                table_of(fk.ref_table)
            };
            let Some(parent) = parent else { continue };
            let Some(pk) = fk.ref_columns.get(k).and_then(|&c| parent.columns.get(c)) else {
                continue;
            };
            // A self-reference to the altered column itself changes both.
            let pk_ty = if fk.ref_table == table.oid && fk.ref_columns[k] == i {
                ty
            } else {
                &pk.ty
            };
            if !fk_types_compatible(ty, pk_ty) {
                return Err(incompatible(
                    &fk.name,
                    &table.columns[i].name,
                    &pk.name,
                    ty,
                    pk_ty,
                ));
            }
        }
        // Keys of other tables (or this one) referencing the column.
        for e in &entries {
            let Object::Table(child) = &*e.object else {
                continue;
            };
            for fk in child
                .foreign_keys
                .iter()
                .filter(|f| f.ref_table == table.oid)
            {
                let Some(k) = fk.ref_columns.iter().position(|&c| c == i) else {
                    continue;
                };
                if child.oid == table.oid && fk.columns.get(k) == Some(&i) {
                    continue;
                }
                let Some(c) = fk.columns.get(k).and_then(|&c| child.columns.get(c)) else {
                    continue;
                };
                let c_ty = if child.oid == table.oid {
                    &table.columns[fk.columns[k]].ty
                } else {
                    &c.ty
                };
                if !fk_types_compatible(c_ty, ty) {
                    return Err(incompatible(
                        &fk.name,
                        &c.name,
                        &table.columns[i].name,
                        c_ty,
                        ty,
                    ));
                }
            }
        }
        Ok(())
    }
}
