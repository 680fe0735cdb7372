//! ALTER TABLE: columns, constraints, renames.

use std::rc::Rc;

use super::constraints::FkPhase;
use super::ddl::{check_name, collect_columns, column_positions, refuse_reg_column};
use super::dml::{DmlExec, DmlKind};
use super::views::Rename;
use super::{sql_err, system, Engine, QueryResult, Result, SessionId};
use crate::catalog::{
    Catalog, CheckDef, ColumnDef, IdentityKind, IndexDef, Object, SequenceDef, TableDef,
};
use crate::error::{Error, SqlState};
use crate::heap::{Heap, Tid};
use crate::sql::exec::{self, eval, value_tid, Row};
use crate::sql::parse::ast::{self, Expr};
use crate::sql::parse::translate;
use crate::sql::plan;
use crate::txn::{LockMode, RowLockMode, Xid, XidStatus};
use crate::value::Value;

impl Engine {
    pub(super) fn alter_table(
        &mut self,
        sid: SessionId,
        name: &ast::Name,
        if_exists: bool,
        ops: &[ast::AlterOp],
    ) -> Result<QueryResult> {
        system::refuse_ddl(name)?;
        let tname = name.last().cloned().unwrap_or_default();
        let Some(entry) = self.lookup_name(sid, name)? else {
            if if_exists {
                let what = format!("relation \"{}\" does not exist", Self::display_name(name));
                self.skip_notice(sid, SqlState::SUCCESSFUL_COMPLETION, what);
                return Ok(QueryResult::tag("ALTER TABLE"));
            }
            return Err(Error::Sql(plan::undefined_table(&Self::display_name(name))));
        };
        let Object::Table(table) = &*entry.object else {
            if let Object::View(v) = &*entry.object {
                return self.alter_view(sid, entry.tid, v.clone(), ops);
            }
            return Err(sql_err(
                SqlState::WRONG_OBJECT_TYPE,
                format!("\"{tname}\" is not a table"),
            ));
        };
        let mut table = table.clone();
        let mut tid = entry.tid;
        self.lock_relation(sid, &table, LockMode::AccessExclusive)?;
        self.lock_catalog_row(sid, tid)?;
        let xid = self.write_xid(sid)?;
        // PostgreSQL converts each column once per statement.
        let mut retyped: Vec<&str> = Vec::new();
        for op in ops {
            let cid = self.current_cid(sid);
            match op {
                ast::AlterOp::AddColumn {
                    spec,
                    if_not_exists,
                } => {
                    refuse_reg_column(&spec.ty)?;
                    if table.column(&spec.name).is_some() {
                        if *if_not_exists {
                            let what = format!(
                                "column \"{}\" of relation \"{}\" already exists",
                                spec.name, table.name
                            );
                            self.skip_notice(sid, SqlState::DUPLICATE_COLUMN, what);
                            continue;
                        }
                        return Err(sql_err(
                            SqlState::DUPLICATE_COLUMN,
                            format!(
                                "column \"{}\" of relation \"{}\" already exists",
                                spec.name, table.name
                            ),
                        ));
                    }
                    if spec.generated.is_some() {
                        if spec.identity.is_some() {
                            return Err(super::generated::both(
                                "identity",
                                &spec.name,
                                &table.name,
                            ));
                        }
                        if spec.default.is_some() || spec.serial {
                            return Err(super::generated::both("default", &spec.name, &table.name));
                        }
                    }
                    let mut default = spec.default_sql.clone();
                    if spec.serial || spec.identity.is_some() {
                        let seq_name = format!("{}_{}_seq", table.name, spec.name);
                        let page = Catalog::create_sequence_page(&mut self.pager, 1)?;
                        let seq_oid = self.catalog.allocate_oid();
                        self.catalog.insert(
                            &mut self.pager,
                            xid,
                            cid,
                            Object::Sequence(SequenceDef {
                                oid: seq_oid,
                                name: seq_name.clone(),
                                namespace: table.namespace,
                                page,
                                increment: 1,
                                start: 1,
                                owned_by: Some((table.oid, table.columns.len())),
                            }),
                        )?;
                        let seq_ref = self.regclass_text(sid, table.namespace, &seq_name)?;
                        default = Some(format!("nextval('{seq_ref}'::regclass)"));
                    }
                    table.columns.push(ColumnDef {
                        name: spec.name.clone(),
                        ty: spec.ty.clone(),
                        not_null: spec.not_null,
                        default: default.clone(),
                        identity: spec.identity.map(|i| match i {
                            ast::Identity::Always => IdentityKind::Always,
                            ast::Identity::ByDefault => IdentityKind::ByDefault,
                        }),
                        dropped: false,
                        generated: None,
                    });
                    if let Some(e) = &spec.generated {
                        let generated: Vec<String> = table
                            .live_columns()
                            .filter(|(_, c)| c.generated.is_some() || c.name == spec.name)
                            .map(|(_, c)| c.name.clone())
                            .collect();
                        let g = super::generated::generated_column(
                            &table, &spec.name, e, &spec.ty, &generated,
                        )?;
                        if let Some(last) = table.columns.last_mut() {
                            last.generated = Some(g);
                        }
                    }
                    tid = self.catalog.replace(
                        &mut self.pager,
                        tid,
                        xid,
                        cid,
                        Object::Table(table.clone()),
                    )?;
                    // Existing rows get the default (evaluated per row), as in PostgreSQL.
                    let col = table.columns.len() - 1;
                    if spec.generated.is_some() {
                        // Existing rows get their value computed.
                        self.rewrite_rows(sid, &table, |_, _, _, _| Ok(()))?;
                    } else if default.is_some() {
                        self.rewrite_rows(sid, &table, |engine, sid, row, env_defaults| {
                            let _ = (engine, sid);
                            row[col] = env_defaults[col].clone();
                            Ok(())
                        })?;
                    } else if spec.not_null && self.table_has_rows(sid, &table)? {
                        return Err(sql_err(
                            SqlState::NOT_NULL_VIOLATION,
                            format!(
                                "column \"{}\" of relation \"{}\" contains null values",
                                spec.name, table.name
                            ),
                        ));
                    }
                    for c in &spec.constraints {
                        tid = self.add_constraint(sid, xid, tid, &mut table, c)?;
                    }
                }
                ast::AlterOp::DropColumn {
                    name: col,
                    if_exists,
                    cascade,
                } => {
                    let Some(i) = table.column(col) else {
                        if *if_exists {
                            let what = format!(
                                "column \"{col}\" of relation \"{}\" does not exist",
                                table.name
                            );
                            self.skip_notice(sid, SqlState::SUCCESSFUL_COMPLETION, what);
                            continue;
                        }
                        return Err(sql_err(
                            SqlState::UNDEFINED_COLUMN,
                            format!(
                                "column \"{col}\" of relation \"{}\" does not exist",
                                table.name
                            ),
                        ));
                    };
                    if table.live_columns().count() == 1 {
                        return Err(sql_err(
                            SqlState::FEATURE_NOT_SUPPORTED,
                            "cannot drop the last column of a table",
                        ));
                    }
                    // Generated columns reading it: refused, or dropped
                    // too (with CASCADE), as PostgreSQL's dependencies do.
                    let readers = super::generated::generated_readers(&table, i)?;
                    if !readers.is_empty() {
                        let q = crate::sql::functions::quote_ident;
                        let lines: Vec<String> = readers
                            .iter()
                            .map(|&r| {
                                format!(
                                    "column {} of table {} depends on column {} of table {}",
                                    q(&table.columns[r].name),
                                    q(&table.name),
                                    q(col),
                                    q(&table.name)
                                )
                            })
                            .collect();
                        if !*cascade {
                            return Err(Error::Sql(
                                crate::error::SqlError::new(
                                    SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
                                    format!(
                                        "cannot drop column {} of table {} because other objects depend on it",
                                        q(col),
                                        q(&table.name)
                                    ),
                                )
                                .with_detail(lines.join("\n"))
                                .with_hint("Use DROP ... CASCADE to drop the dependent objects too."),
                            ));
                        }
                        for &r in &readers {
                            let notice = format!(
                                "drop cascades to column {} of table {}",
                                q(&table.columns[r].name),
                                q(&table.name)
                            );
                            self.raise_notice(
                                sid,
                                crate::error::Notice::info(SqlState("00000"), notice),
                            );
                            table.columns[r].dropped = true;
                            table.columns[r].not_null = false;
                            table.columns[r].generated = None;
                        }
                    }
                    // Views reading the column: refused, or dropped too.
                    let what = format!(
                        "column {} of table {}",
                        crate::sql::functions::quote_ident(col),
                        crate::sql::functions::quote_ident(&table.name)
                    );
                    let dependents = self.dependent_views(
                        sid,
                        &[(table.oid, Some(i), what.clone())],
                        &Default::default(),
                    )?;
                    self.check_dependents(sid, &what, &dependents, *cascade)?;
                    self.drop_dependents(sid, &dependents)?;
                    table.columns[i].dropped = true;
                    table.columns[i].not_null = false;
                    table.columns[i].default = None;
                    table.checks.retain(|c| {
                        let mut cols = Vec::new();
                        if let Ok(e) = translate::parse_expr(&c.expr) {
                            collect_columns(&e, &mut cols);
                        }
                        !cols.contains(col)
                    });
                    // Indexes on the column (or whose expressions or
                    // predicate read it) go with it.
                    for idx in self.table_indexes(&table) {
                        if idx.columns.contains(&i)
                            || index_sources(&idx).any(|sql| mentions_column(sql, col))
                        {
                            if let Some(e) = self.lookup_in(sid, idx.namespace, &idx.name)? {
                                self.catalog.delete(&mut self.pager, e.tid, xid, cid)?;
                            }
                        }
                    }
                    tid = self.catalog.replace(
                        &mut self.pager,
                        tid,
                        xid,
                        cid,
                        Object::Table(table.clone()),
                    )?;
                }
                ast::AlterOp::AddConstraint(c) => {
                    tid = self.add_constraint(sid, xid, tid, &mut table, c)?;
                }
                ast::AlterOp::DropConstraint {
                    name: cname,
                    if_exists,
                } => {
                    let before = table.checks.len() + table.foreign_keys.len();
                    table.checks.retain(|c| &c.name != cname);
                    table.foreign_keys.retain(|f| &f.name != cname);
                    if table.checks.len() + table.foreign_keys.len() != before {
                        tid = self.catalog.replace(
                            &mut self.pager,
                            tid,
                            xid,
                            cid,
                            Object::Table(table.clone()),
                        )?;
                        continue;
                    }
                    let idx = self
                        .table_indexes(&table)
                        .into_iter()
                        .find(|i| i.constraint && &i.name == cname);
                    match idx {
                        Some(i) => {
                            if i.primary {
                                for &c in &i.columns {
                                    table.columns[c].not_null = table.columns[c].identity.is_some();
                                }
                                tid = self.catalog.replace(
                                    &mut self.pager,
                                    tid,
                                    xid,
                                    cid,
                                    Object::Table(table.clone()),
                                )?;
                            }
                            if let Some(e) = self.lookup_in(sid, i.namespace, &i.name)? {
                                self.catalog.delete(&mut self.pager, e.tid, xid, cid)?;
                            }
                        }
                        None if *if_exists => {
                            let what = format!(
                                "constraint \"{cname}\" of relation \"{}\" does not exist",
                                table.name
                            );
                            self.skip_notice(sid, SqlState::SUCCESSFUL_COMPLETION, what);
                        }
                        None => {
                            return Err(sql_err(
                                SqlState::UNDEFINED_OBJECT,
                                format!(
                                    "constraint \"{cname}\" of relation \"{}\" does not exist",
                                    table.name
                                ),
                            ))
                        }
                    }
                }
                ast::AlterOp::RenameTable(new) => {
                    if self.lookup_in(sid, table.namespace, new)?.is_some() {
                        return Err(sql_err(
                            SqlState::DUPLICATE_TABLE,
                            format!("relation \"{new}\" already exists"),
                        ));
                    }
                    self.check_name_not_in_flux(sid, new)?;
                    let old = std::mem::replace(&mut table.name, new.clone());
                    tid = self.catalog.replace(
                        &mut self.pager,
                        tid,
                        xid,
                        cid,
                        Object::Table(table.clone()),
                    )?;
                    self.follow_rename(sid, table.oid, None, Rename::Relation { old: &old, new })?;
                }
                ast::AlterOp::RenameColumn { old, new } => {
                    let i = table
                        .column(old)
                        .ok_or_else(|| plan::undefined_column(old))?;
                    if table.column(new).is_some() {
                        return Err(sql_err(
                            SqlState::DUPLICATE_COLUMN,
                            format!(
                                "column \"{new}\" of relation \"{}\" already exists",
                                table.name
                            ),
                        ));
                    }
                    // Stored CHECK, DEFAULT and index expressions are SQL
                    // text.
                    let mentions = |sql: &str| mentions_column(sql, old);
                    if table.checks.iter().any(|c| mentions(&c.expr))
                        || table
                            .columns
                            .iter()
                            .any(|c| c.default.as_deref().is_some_and(mentions))
                        || table
                            .columns
                            .iter()
                            .any(|c| c.generated.as_ref().is_some_and(|g| mentions(&g.expr)))
                    {
                        return Err(sql_err(
                            SqlState::FEATURE_NOT_SUPPORTED,
                            format!("cannot rename column \"{old}\": a CHECK constraint, default or generation expression refers to it"),
                        ));
                    }
                    if self
                        .table_indexes(&table)
                        .iter()
                        .any(|idx| index_sources(idx).any(mentions))
                    {
                        return Err(sql_err(
                            SqlState::FEATURE_NOT_SUPPORTED,
                            format!("cannot rename column \"{old}\": an index expression or predicate refers to it"),
                        ));
                    }
                    table.columns[i].name = new.clone();
                    tid = self.catalog.replace(
                        &mut self.pager,
                        tid,
                        xid,
                        cid,
                        Object::Table(table.clone()),
                    )?;
                    let columns: Vec<String> =
                        table.live_columns().map(|(_, c)| c.name.clone()).collect();
                    let position = table.live_columns().take_while(|(j, _)| *j != i).count();
                    let rename = Rename::Column {
                        relation: &table.name,
                        old,
                        new,
                        position,
                        columns: &columns,
                    };
                    self.follow_rename(sid, table.oid, Some(i), rename)?;
                }
                ast::AlterOp::AlterColumnSetDefault { column, default } => {
                    let i = table
                        .column(column)
                        .ok_or_else(|| plan::undefined_column(column))?;
                    if table.columns[i].generated.is_some() {
                        return Err(super::generated::is_generated(
                            column,
                            &table.name,
                            default.is_none(),
                        ));
                    }
                    if let Some(d) = default {
                        translate::parse_expr(d)?;
                    }
                    table.columns[i].default = default.clone();
                    tid = self.catalog.replace(
                        &mut self.pager,
                        tid,
                        xid,
                        cid,
                        Object::Table(table.clone()),
                    )?;
                }
                ast::AlterOp::AlterColumnType { column, ty, using } => {
                    if retyped.contains(&column.as_str()) {
                        return Err(sql_err(
                            SqlState::FEATURE_NOT_SUPPORTED,
                            format!("cannot alter type of column \"{column}\" twice"),
                        ));
                    }
                    retyped.push(column);
                    tid = self.alter_column_type(
                        sid,
                        xid,
                        tid,
                        &mut table,
                        column,
                        ty,
                        using.as_ref(),
                    )?;
                }
                ast::AlterOp::AlterColumnNotNull { column, not_null } => {
                    let i = table
                        .column(column)
                        .ok_or_else(|| plan::undefined_column(column))?;
                    if !*not_null
                        && self
                            .table_indexes(&table)
                            .iter()
                            .any(|x| x.primary && x.columns.contains(&i))
                    {
                        return Err(sql_err(
                            SqlState::INVALID_TABLE_DEFINITION,
                            format!("column \"{column}\" is in a primary key"),
                        ));
                    }
                    if *not_null && self.column_has_null(sid, &table, i)? {
                        return Err(sql_err(
                            SqlState::NOT_NULL_VIOLATION,
                            format!(
                                "column \"{column}\" of relation \"{}\" contains null values",
                                table.name
                            ),
                        ));
                    }
                    table.columns[i].not_null = *not_null;
                    tid = self.catalog.replace(
                        &mut self.pager,
                        tid,
                        xid,
                        cid,
                        Object::Table(table.clone()),
                    )?;
                }
            }
        }
        Ok(QueryResult::tag("ALTER TABLE"))
    }

    /// Writes a new version of every visible row, changed by `f` (which
    /// also gets the table's evaluated defaults for that row).
    pub(super) fn rewrite_rows(
        &mut self,
        sid: SessionId,
        table: &TableDef,
        mut f: impl FnMut(&mut Engine, SessionId, &mut Row, &[Value]) -> Result<()>,
    ) -> Result<()> {
        let rows = self.visible_rows(sid, table)?;
        let snapshot = self.take_snapshot(sid);
        let ((defaults, checks), _, _) = self.bind(sid, &snapshot, |b| {
            Ok((Self::bind_defaults(b, table)?, Self::bind_checks(b, table)?))
        })?;
        let xid = self.write_xid(sid)?;
        let ncols = table.columns.len();
        let mut dml = DmlExec {
            capture: false,
            kind: DmlKind::Insert(None),
            table: Rc::new(table.clone()),
            indexes: self.table_indexes(table),
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
        let heap = Heap::open(table.heap);
        for mut row in rows {
            let Some(tid) = value_tid(&row[ncols]) else {
                continue;
            };
            row.truncate(ncols);
            let evaluated = self.with_env(sid, &snapshot, &[], &[], None, |env| {
                defaults
                    .iter()
                    .map(|d| eval(d, &[], env))
                    .collect::<Result<Vec<_>>>()
            })?;
            f(self, sid, &mut row, &evaluated)?;
            self.check_row(sid, &mut dml, &mut row)?;
            let h = heap.header(&mut self.pager, tid)?;
            if let Some(h) = h {
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
            let new_tid = self.insert_row(&dml, xid, &row)?;
            let cid = dml.cid;
            self.ssi_write_version(xid, &dml.table, tid)?;
            self.mark_replaced(
                sid,
                &heap,
                tid,
                xid,
                cid,
                Some(new_tid),
                false,
                RowLockMode::Update,
            )?;
        }
        Ok(())
    }

    /// ALTER TABLE ... ADD CONSTRAINT (and column constraints of ADD COLUMN).
    pub(super) fn add_constraint(
        &mut self,
        sid: SessionId,
        xid: Xid,
        tid: Tid,
        table: &mut TableDef,
        c: &ast::TableConstraint,
    ) -> Result<Tid> {
        let cid = self.current_cid(sid);
        match c {
            ast::TableConstraint::Check { name, source, .. } => {
                let cname = name
                    .clone()
                    .unwrap_or_else(|| check_name(&table.name, &table.checks, c));
                let mut probe = table.clone();
                probe.checks = vec![CheckDef {
                    oid: 0,
                    name: cname.clone(),
                    expr: source.clone(),
                }];
                // Existing rows must satisfy it.
                let snapshot = self.take_snapshot(sid);
                let (checks, _, _) = self.bind(sid, &snapshot, |b| Self::bind_checks(b, &probe))?;
                let rows = self.visible_rows(sid, table)?;
                let failing = self.with_env(sid, &snapshot, &[], &[], None, |env| {
                    for r in &rows {
                        for (_, e) in &checks {
                            if exec::truth(&eval(e, r, env)?) == Some(false) {
                                return Ok(true);
                            }
                        }
                    }
                    Ok(false)
                })?;
                if failing {
                    return Err(sql_err(
                        SqlState::CHECK_VIOLATION,
                        format!("check constraint \"{cname}\" of relation \"{}\" is violated by some row", table.name),
                    ));
                }
                table.checks.push(CheckDef {
                    oid: self.catalog.allocate_oid(),
                    name: cname,
                    expr: source.clone(),
                });
                Ok(self.catalog.replace(
                    &mut self.pager,
                    tid,
                    xid,
                    cid,
                    Object::Table(table.clone()),
                )?)
            }
            ast::TableConstraint::PrimaryKey {
                name,
                columns,
                deferral,
            }
            | ast::TableConstraint::Unique {
                name,
                columns,
                deferral,
            } => {
                let primary = matches!(c, ast::TableConstraint::PrimaryKey { .. });
                let cols = column_positions(table, columns)?;
                let mut tid = tid;
                if primary {
                    if self.table_indexes(table).iter().any(|i| i.primary) {
                        return Err(sql_err(
                            SqlState::INVALID_TABLE_DEFINITION,
                            format!(
                                "multiple primary keys for table \"{}\" are not allowed",
                                table.name
                            ),
                        ));
                    }
                    for &i in &cols {
                        if self.column_has_null(sid, table, i)? {
                            return Err(sql_err(
                                SqlState::NOT_NULL_VIOLATION,
                                format!(
                                    "column \"{}\" of relation \"{}\" contains null values",
                                    table.columns[i].name, table.name
                                ),
                            ));
                        }
                        table.columns[i].not_null = true;
                    }
                    tid = self.catalog.replace(
                        &mut self.pager,
                        tid,
                        xid,
                        cid,
                        Object::Table(table.clone()),
                    )?;
                }
                let iname = name.clone().unwrap_or_else(|| {
                    if primary {
                        format!("{}_pkey", table.name)
                    } else {
                        format!("{}_{}_key", table.name, columns.join("_"))
                    }
                });
                let create = ast::CreateIndex {
                    name: Some(iname.clone()),
                    table: self.qualified(sid, table.namespace, &table.name)?,
                    columns: columns
                        .iter()
                        .map(|c| ast::IndexColumn {
                            expr: Expr::Column(vec![c.clone()]),
                            source: c.clone(),
                            desc: false,
                            opclass: None,
                        })
                        .collect(),
                    unique: true,
                    if_not_exists: false,
                    method: None,
                    with: Vec::new(),
                    predicate: None,
                };
                self.create_index(sid, &create)?;
                // Mark the new index as a constraint's.
                if let Some(e) = self.lookup_in(sid, table.namespace, &iname)? {
                    if let Object::Index(mut i) = (*e.object).clone() {
                        i.constraint = true;
                        i.primary = primary;
                        i.deferrable = deferral.deferrable;
                        i.initially_deferred = deferral.initially_deferred;
                        self.catalog
                            .replace(&mut self.pager, e.tid, xid, cid, Object::Index(i))?;
                    }
                }
                Ok(tid)
            }
            ast::TableConstraint::ForeignKey(fk) => {
                let def = self.resolve_foreign_key(sid, table, &[], fk)?;
                // Existing rows must reference existing rows (23503 with
                // the first that does not, as PostgreSQL reports it).
                let mut probe = table.clone();
                probe.foreign_keys = vec![def.clone()];
                for row in self.visible_rows(sid, table)? {
                    if self
                        .check_fk_parents_when(sid, &probe, &row, None, FkPhase::All)?
                        .is_some()
                    {
                        return Err(sql_err(
                            SqlState::LOCK_NOT_AVAILABLE,
                            "a referenced row is being changed by another transaction",
                        ));
                    }
                }
                table.foreign_keys.push(def);
                Ok(self.catalog.replace(
                    &mut self.pager,
                    tid,
                    xid,
                    cid,
                    Object::Table(table.clone()),
                )?)
            }
        }
    }
}

/// Whether the stored SQL expression `sql` reads column `name`.
fn mentions_column(sql: &str, name: &str) -> bool {
    let mut cols = Vec::new();
    if let Ok(e) = translate::parse_expr(sql) {
        collect_columns(&e, &mut cols);
    }
    cols.iter().any(|c| c == name)
}

/// An index's key expressions and predicate, as stored.
fn index_sources(idx: &IndexDef) -> impl Iterator<Item = &str> {
    idx.expressions
        .iter()
        .chain(idx.predicate.iter())
        .map(String::as_str)
}
