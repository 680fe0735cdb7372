//! CREATE and DROP of tables, indexes and sequences.

use std::collections::HashSet;

use super::build::IndexBuild;
use super::{sql_err, system, Engine, QueryResult, Result, SessionId};
use crate::access;
use crate::catalog::{
    Catalog, CheckDef, ColumnDef, HnswOptions, IdentityKind, IndexDef, IndexMethod, Object,
    SequenceDef, TableDef, EXPRESSION_KEY,
};
use crate::error::{Error, SqlError, SqlState};
use crate::heap::{Heap, Tid};
use crate::sql::parse::ast::{self, Expr};
use crate::sql::plan;
use crate::sql::plan::index_keys::bind_table_ast;
use crate::txn::{LockMode, XidStatus};
use crate::value::types::DataType;
use crate::value::tz::TimeZone;
use crate::value::vector::{ElementFormat, Metric};

pub(super) fn column_positions(table: &TableDef, names: &[String]) -> Result<Vec<usize>> {
    names
        .iter()
        .map(|n| {
            table.column(n).ok_or_else(|| {
                sql_err(
                    SqlState::UNDEFINED_COLUMN,
                    format!("column \"{n}\" named in key does not exist"),
                )
            })
        })
        .collect()
}

pub(super) fn check_name(table: &str, existing: &[CheckDef], con: &ast::TableConstraint) -> String {
    // PostgreSQL: <table>_<column>_check for a one-column check, else
    // <table>_check, numbered when taken.
    let base = match con {
        ast::TableConstraint::Check { expr, .. } => {
            let mut cols = Vec::new();
            collect_columns(expr, &mut cols);
            cols.dedup();
            if cols.len() == 1 {
                format!("{table}_{}_check", cols[0])
            } else {
                format!("{table}_check")
            }
        }
        _ => format!("{table}_check"),
    };
    let mut name = base.clone();
    let mut n = 1;
    while existing.iter().any(|c| c.name == name) {
        name = format!("{base}{n}");
        n += 1;
    }
    name
}

/// Columns of the OID alias types (`regclass`...) are refused: their
/// values are names resolved against the catalog when made, which a
/// stored value would outlive.
pub(super) fn refuse_reg_column(ty: &DataType) -> Result<()> {
    match ty {
        DataType::Reg(k) => Err(sql_err(
            SqlState::FEATURE_NOT_SUPPORTED,
            format!("columns of type {} are not supported", k.type_name()),
        )),
        DataType::Array(e) => refuse_reg_column(e),
        _ => Ok(()),
    }
}

pub(super) fn collect_columns(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Column(n) => {
            if let Some(last) = n.last() {
                if !out.contains(last) {
                    out.push(last.clone());
                }
            }
        }
        Expr::Binary { left, right, .. } | Expr::IsDistinctFrom { left, right, .. } => {
            collect_columns(left, out);
            collect_columns(right, out);
        }
        Expr::Unary { expr, .. }
        | Expr::IsNull { expr, .. }
        | Expr::IsBool { expr, .. }
        | Expr::Cast { expr, .. } => collect_columns(expr, out),
        Expr::Between {
            expr, low, high, ..
        } => {
            collect_columns(expr, out);
            collect_columns(low, out);
            collect_columns(high, out);
        }
        Expr::InList { expr, list, .. } => {
            collect_columns(expr, out);
            list.iter().for_each(|x| collect_columns(x, out));
        }
        Expr::Like { expr, pattern, .. } => {
            collect_columns(expr, out);
            collect_columns(pattern, out);
        }
        Expr::Function(f) => f.args.iter().for_each(|x| collect_columns(x, out)),
        _ => {}
    }
}

impl Engine {
    pub(super) fn create_table(
        &mut self,
        sid: SessionId,
        c: &ast::CreateTable,
    ) -> Result<QueryResult> {
        let name = c.name.last().cloned().unwrap_or_default();
        let namespace = match (c.temporary, c.name.as_slice()) {
            (true, [_]) => super::schemas::temp_namespace(sid),
            (true, _) => {
                let ns = self.creation_namespace(sid, &c.name)?;
                if ns != super::schemas::temp_namespace(sid) {
                    return Err(sql_err(
                        SqlState::INVALID_TABLE_DEFINITION,
                        "cannot create temporary relation in non-temporary schema",
                    ));
                }
                ns
            }
            (false, _) => self.creation_namespace(sid, &c.name)?,
        };
        if self.lookup_in(sid, namespace, &name)?.is_some() {
            if c.if_not_exists {
                let what = format!("relation \"{name}\" already exists");
                self.skip_notice(sid, SqlState::DUPLICATE_TABLE, what);
                return Ok(QueryResult::tag("CREATE TABLE"));
            }
            return Err(sql_err(
                SqlState::DUPLICATE_TABLE,
                format!("relation \"{name}\" already exists"),
            ));
        }
        self.check_name_not_in_flux(sid, &name)?;
        let xid = self.write_xid(sid)?;
        let cid = self.current_cid(sid);
        let oid = self.catalog.allocate_oid();
        let mut columns = Vec::new();
        let mut constraints: Vec<ast::TableConstraint> = c.constraints.clone();
        let mut seen = HashSet::new();
        for col in &c.columns {
            refuse_reg_column(&col.ty)?;
            if !seen.insert(col.name.clone()) {
                return Err(sql_err(
                    SqlState::DUPLICATE_COLUMN,
                    format!("column \"{}\" specified more than once", col.name),
                ));
            }
            if col.generated.is_some() {
                if col.identity.is_some() {
                    return Err(super::generated::both("identity", &col.name, &name));
                }
                if col.default.is_some() || col.serial {
                    return Err(super::generated::both("default", &col.name, &name));
                }
            }
            let mut default = col.default_sql.clone();
            let mut identity = col.identity.map(|i| match i {
                ast::Identity::Always => IdentityKind::Always,
                ast::Identity::ByDefault => IdentityKind::ByDefault,
            });
            if col.serial || col.identity.is_some() {
                let seq_name = format!("{name}_{}_seq", col.name);
                let page = Catalog::create_sequence_page(&mut self.pager, 1)?;
                let seq_oid = self.catalog.allocate_oid();
                self.catalog.insert(
                    &mut self.pager,
                    xid,
                    cid,
                    Object::Sequence(SequenceDef {
                        oid: seq_oid,
                        name: seq_name.clone(),
                        namespace,
                        page,
                        increment: 1,
                        start: 1,
                        owned_by: Some((oid, columns.len())),
                    }),
                )?;
                let seq_ref = self.regclass_text(sid, namespace, &seq_name)?;
                default = Some(format!("nextval('{seq_ref}'::regclass)"));
                if col.serial {
                    identity = identity
                        .or(Some(IdentityKind::ByDefault))
                        .filter(|_| col.identity.is_some());
                }
            }
            for con in &col.constraints {
                constraints.push(con.clone());
            }
            columns.push(ColumnDef {
                name: col.name.clone(),
                ty: col.ty.clone(),
                not_null: col.not_null,
                default,
                identity,
                dropped: false,
                generated: None,
            });
        }
        let heap = Heap::create(&mut self.pager)?;
        let mut table = TableDef {
            oid,
            name: name.clone(),
            namespace,
            columns,
            heap: heap.meta_page(),
            checks: Vec::new(),
            foreign_keys: Vec::new(),
            fillfactor: c.fillfactor,
        };
        // Generation expressions read the other columns, declared before
        // or after them.
        let generated: Vec<String> = c
            .columns
            .iter()
            .filter(|col| col.generated.is_some())
            .map(|col| col.name.clone())
            .collect();
        for (i, col) in c.columns.iter().enumerate() {
            if let Some(e) = &col.generated {
                let g =
                    super::generated::generated_column(&table, &col.name, e, &col.ty, &generated)?;
                table.columns[i].generated = Some(g);
            }
        }
        let mut indexes = Vec::new();
        let mut pk_seen = false;
        for con in &constraints {
            match con {
                ast::TableConstraint::PrimaryKey {
                    name: cname,
                    columns,
                    deferral,
                } => {
                    if pk_seen {
                        return Err(sql_err(
                            SqlState::INVALID_TABLE_DEFINITION,
                            format!("multiple primary keys for table \"{name}\" are not allowed"),
                        ));
                    }
                    pk_seen = true;
                    let cols = column_positions(&table, columns)?;
                    for &i in &cols {
                        table.columns[i].not_null = true;
                    }
                    indexes.push((
                        cname.clone().unwrap_or_else(|| format!("{name}_pkey")),
                        cols,
                        true,
                        *deferral,
                    ));
                }
                ast::TableConstraint::Unique {
                    name: cname,
                    columns,
                    deferral,
                } => {
                    let cols = column_positions(&table, columns)?;
                    let default_name = format!("{name}_{}_key", columns.join("_"));
                    indexes.push((
                        cname.clone().unwrap_or(default_name),
                        cols,
                        false,
                        *deferral,
                    ));
                }
                ast::TableConstraint::Check {
                    name: cname,
                    source,
                    ..
                } => {
                    let default_name = check_name(&name, &table.checks, con);
                    table.checks.push(CheckDef {
                        oid: self.catalog.allocate_oid(),
                        name: cname.clone().unwrap_or(default_name),
                        expr: source.clone(),
                    });
                }
                ast::TableConstraint::ForeignKey(fk) => {
                    let def = self.resolve_foreign_key(sid, &table, &indexes, fk)?;
                    table.foreign_keys.push(def);
                }
            }
        }
        self.catalog
            .insert(&mut self.pager, xid, cid, Object::Table(table.clone()))?;
        for (iname, cols, primary, deferral) in indexes {
            let mut def = IndexDef {
                oid: self.catalog.allocate_oid(),
                name: iname,
                namespace,
                table: oid,
                desc: vec![false; cols.len()],
                columns: cols,
                unique: true,
                primary,
                constraint: true,
                method: IndexMethod::BTree,
                root: 0,
                hnsw: None,
                expressions: Vec::new(),
                predicate: None,
                deferrable: deferral.deferrable,
                initially_deferred: deferral.initially_deferred,
                heap: 0,
            };
            def.root = access::create(&mut self.pager, &def)?;
            self.catalog
                .insert(&mut self.pager, xid, cid, Object::Index(def))?;
        }
        Ok(QueryResult::tag("CREATE TABLE"))
    }

    /// CREATE INDEX run to completion (for ALTER TABLE's constraints).
    pub(super) fn create_index(
        &mut self,
        sid: SessionId,
        c: &ast::CreateIndex,
    ) -> Result<QueryResult> {
        match self.start_create_index(sid, c)? {
            Some(mut build) => {
                if let Err(e) = build.run(self, sid, None) {
                    build.abandon(self);
                    return Err(e);
                }
                build.finish(self, sid)
            }
            None => Ok(QueryResult::tag("CREATE INDEX")),
        }
    }

    /// Checks a CREATE INDEX, creates the index's empty storage and returns
    /// its build (None: IF NOT EXISTS found the name taken).
    pub(super) fn start_create_index(
        &mut self,
        sid: SessionId,
        c: &ast::CreateIndex,
    ) -> Result<Option<IndexBuild>> {
        let method = match c.method.as_deref() {
            None => IndexMethod::BTree,
            Some(m) => IndexMethod::from_name(m).ok_or_else(|| {
                sql_err(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    format!("index method \"{m}\" is not supported yet"),
                )
            })?,
        };
        system::refuse_ddl(&c.table)?;
        let tname = c.table.last().cloned().unwrap_or_default();
        let entry = self
            .lookup_name(sid, &c.table)?
            .ok_or_else(|| plan::undefined_table(&Self::display_name(&c.table)))?;
        let Object::Table(table) = &*entry.object else {
            if matches!(&*entry.object, Object::View(_)) {
                return Err(Error::Sql(
                    SqlError::new(
                        SqlState::WRONG_OBJECT_TYPE,
                        format!("cannot create index on relation \"{tname}\""),
                    )
                    .with_detail("This operation is not supported for views."),
                ));
            }
            return Err(sql_err(
                SqlState::WRONG_OBJECT_TYPE,
                format!("\"{tname}\" is not a table"),
            ));
        };
        let mut cols = Vec::new();
        let mut desc = Vec::new();
        let mut expressions = Vec::new();
        let mut key_types = Vec::new();
        let mut names = Vec::new();
        for ic in &c.columns {
            match &ic.expr {
                Expr::Column(n) if n.len() == 1 => {
                    let i = table
                        .column(&n[0])
                        .ok_or_else(|| plan::undefined_column(&n[0]))?;
                    cols.push(i);
                    key_types.push(table.columns[i].ty.clone());
                    names.push(table.columns[i].name.clone());
                }
                e => {
                    let (_, ty) = bind_table_ast(e, table, "index expression")?;
                    cols.push(EXPRESSION_KEY);
                    expressions.push(ic.source.clone());
                    key_types.push(ty);
                    // PostgreSQL's FigureColname, as for a select-list item.
                    let name = plan::default_column_name(e);
                    names.push(if name == "?column?" {
                        "expr".into()
                    } else {
                        name
                    });
                }
            }
            desc.push(ic.desc);
        }
        let predicate = match &c.predicate {
            Some((e, source)) => {
                let (_, ty) = bind_table_ast(e, table, "index predicate")?;
                if !matches!(ty, DataType::Bool | DataType::Unknown) {
                    return Err(sql_err(
                        SqlState::DATATYPE_MISMATCH,
                        format!("argument of WHERE must be type boolean, not type {ty}"),
                    ));
                }
                Some(source.clone())
            }
            None => None,
        };
        let iname = match &c.name {
            Some(n) => n.clone(),
            None => {
                // PostgreSQL's ChooseRelationName: table_columns_idx, then
                // with 1, 2, ... appended until the name is free.
                let base = format!("{tname}_{}_idx", names.join("_"));
                let mut name = base.clone();
                let mut n = 0;
                while !c.if_not_exists && self.lookup_in(sid, table.namespace, &name)?.is_some() {
                    n += 1;
                    name = format!("{base}{n}");
                }
                name
            }
        };
        if self.lookup_in(sid, table.namespace, &iname)?.is_some() {
            if c.if_not_exists {
                let what = format!("relation \"{iname}\" already exists");
                self.skip_notice(sid, SqlState::DUPLICATE_TABLE, what);
                return Ok(None);
            }
            return Err(sql_err(
                SqlState::DUPLICATE_TABLE,
                format!("relation \"{iname}\" already exists"),
            ));
        }
        self.check_name_not_in_flux(sid, &iname)?;
        // As PostgreSQL: writers (RowExclusive) and VACUUM
        // (ShareUpdateExclusive) are kept out until the transaction ends,
        // so no row escapes the build and no indexed version is removed
        // under it; readers go on.
        self.lock_relation(sid, table, LockMode::Share)?;
        let xid = self.write_xid(sid)?;
        let cid = self.current_cid(sid);
        let hnsw = match method {
            IndexMethod::Hnsw => Some(hnsw_options(&key_types, c)?),
            IndexMethod::BTree => None,
        };
        let mut def = IndexDef {
            oid: self.catalog.allocate_oid(),
            name: iname,
            namespace: table.namespace,
            table: table.oid,
            columns: cols,
            desc,
            unique: c.unique,
            primary: false,
            constraint: false,
            method,
            root: 0,
            hnsw,
            expressions,
            predicate,
            deferrable: false,
            initially_deferred: false,
            heap: 0,
        };
        def.root = access::create(&mut self.pager, &def)?;
        IndexBuild::start(self, sid, table.clone(), def, xid, cid).map(Some)
    }

    pub(super) fn create_sequence(
        &mut self,
        sid: SessionId,
        name: &ast::Name,
        if_not_exists: bool,
        start: Option<i64>,
        increment: Option<i64>,
    ) -> Result<QueryResult> {
        let sname = name.last().cloned().unwrap_or_default();
        let namespace = self.creation_namespace(sid, name)?;
        if self.lookup_in(sid, namespace, &sname)?.is_some() {
            if if_not_exists {
                let what = format!("relation \"{sname}\" already exists");
                self.skip_notice(sid, SqlState::DUPLICATE_TABLE, what);
                return Ok(QueryResult::tag("CREATE SEQUENCE"));
            }
            return Err(sql_err(
                SqlState::DUPLICATE_TABLE,
                format!("relation \"{sname}\" already exists"),
            ));
        }
        self.check_name_not_in_flux(sid, &sname)?;
        let increment = increment.unwrap_or(1);
        if increment == 0 {
            return Err(sql_err(
                SqlState::INVALID_PARAMETER_VALUE,
                "INCREMENT must not be zero",
            ));
        }
        let start = start.unwrap_or(1);
        let xid = self.write_xid(sid)?;
        let cid = self.current_cid(sid);
        let page = Catalog::create_sequence_page(&mut self.pager, start)?;
        let oid = self.catalog.allocate_oid();
        self.catalog.insert(
            &mut self.pager,
            xid,
            cid,
            Object::Sequence(SequenceDef {
                oid,
                name: sname,
                namespace,
                page,
                increment,
                start,
                owned_by: None,
            }),
        )?;
        Ok(QueryResult::tag("CREATE SEQUENCE"))
    }

    pub(super) fn drop_objects(
        &mut self,
        sid: SessionId,
        names: &[ast::Name],
        if_exists: bool,
        kind: &str,
        cascade: bool,
    ) -> Result<QueryResult> {
        let lower = kind.to_lowercase();
        let mut targets = Vec::new();
        for n in names {
            system::refuse_ddl(n)?;
            let name = n.last().cloned().unwrap_or_default();
            let entry = match self.lookup_name(sid, n)? {
                Some(e) => e,
                None if if_exists => {
                    let what = match self.missing_schema(sid, n)? {
                        Some(schema) => format!("schema \"{schema}\" does not exist, skipping"),
                        None => format!(
                            "{lower} \"{}\" does not exist, skipping",
                            Self::display_name(n)
                        ),
                    };
                    self.raise_notice(sid, crate::error::Notice::info(SqlState("00000"), what));
                    continue;
                }
                None => {
                    self.check_schema_exists(sid, n)?;
                    return Err(sql_err(
                        if kind == "INDEX" {
                            SqlState::UNDEFINED_OBJECT
                        } else {
                            SqlState::UNDEFINED_TABLE
                        },
                        format!("{lower} \"{}\" does not exist", Self::display_name(n)),
                    ));
                }
            };
            let matches_kind = matches!(
                (&*entry.object, kind),
                (Object::Table(_), "TABLE")
                    | (Object::Index(_), "INDEX")
                    | (Object::Sequence(_), "SEQUENCE")
                    | (Object::View(_), "VIEW")
            );
            if !matches_kind {
                let article = if kind == "INDEX" { "an" } else { "a" };
                let mut e = SqlError::new(
                    SqlState::WRONG_OBJECT_TYPE,
                    format!("\"{name}\" is not {article} {lower}"),
                );
                let hint = match &*entry.object {
                    Object::Table(_) => "Use DROP TABLE to remove a table.",
                    Object::View(_) => "Use DROP VIEW to remove a view.",
                    Object::Index(_) => "Use DROP INDEX to remove an index.",
                    Object::Sequence(_) => "Use DROP SEQUENCE to remove a sequence.",
                    Object::Type(_) => "Use DROP TYPE to remove a type.",
                    Object::Schema(_) | Object::Comment(_) => "",
                };
                e = e.with_hint(hint);
                return Err(Error::Sql(e));
            }
            if let Object::Index(i) = &*entry.object {
                if i.constraint {
                    return Err(Error::Sql(
                        SqlError::new(
                            SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
                            format!("cannot drop index {name} because constraint {name} on table requires it"),
                        )
                        .with_hint("You can drop the constraint instead."),
                    ));
                }
            }
            if !targets
                .iter()
                .any(|t: &crate::catalog::Entry| t.tid == entry.tid)
            {
                targets.push(entry);
            }
        }
        // Views reading what is dropped: refused, or dropped too.
        let skip: HashSet<crate::catalog::Oid> = targets.iter().map(|t| t.object.oid()).collect();
        let entries = self.visible_entries(sid)?;
        let roots: Vec<_> = targets
            .iter()
            .filter(|t| {
                matches!(
                    &*t.object,
                    Object::Table(_) | Object::View(_) | Object::Sequence(_)
                )
            })
            .map(|t| {
                (
                    t.object.oid(),
                    None,
                    super::views::describe(&t.object, &entries),
                )
            })
            .collect();
        let dependents = self.dependent_views(sid, &roots, &skip)?;
        let what = match targets.as_slice() {
            [one] => super::views::describe(&one.object, &entries),
            _ => "desired object(s)".to_string(),
        };
        self.check_dependents(sid, &what, &dependents, cascade)
            .map_err(|e| match e {
                Error::Sql(mut s) if targets.len() > 1 => {
                    s.message =
                        "cannot drop desired object(s) because other objects depend on them".into();
                    Error::Sql(s)
                }
                other => other,
            })?;
        for entry in targets {
            let xid = self.write_xid(sid)?;
            let cid = self.current_cid(sid);
            if let Object::Table(t) = &*entry.object {
                self.lock_relation(sid, t, LockMode::AccessExclusive)?;
            }
            self.lock_catalog_row(sid, entry.tid)?;
            self.catalog.delete(&mut self.pager, entry.tid, xid, cid)?;
            // A table takes its indexes and owned sequences with it.
            if let Object::Table(t) = &*entry.object {
                let deps: Vec<Tid> = self
                    .visible_entries(sid)?
                    .into_iter()
                    .filter(|e| match &*e.object {
                        Object::Index(i) => i.table == t.oid,
                        Object::Sequence(s) => s.owned_by.is_some_and(|(o, _)| o == t.oid),
                        Object::Comment(c) => c.object == t.oid,
                        Object::Table(_)
                        | Object::Type(_)
                        | Object::View(_)
                        | Object::Schema(_) => false,
                    })
                    .map(|e| e.tid)
                    .collect();
                for tid in deps {
                    self.catalog.delete(&mut self.pager, tid, xid, cid)?;
                }
            }
        }
        self.drop_dependents(sid, &dependents)?;
        Ok(QueryResult::tag(&format!("DROP {kind}")))
    }

    /// DDL on an object another open transaction changed: refuse (we have
    /// no table-level lock queue yet, and a silent overwrite would be wrong).
    pub(super) fn lock_catalog_row(&mut self, sid: SessionId, tid: Tid) -> Result<()> {
        if let Some(h) = self.catalog.header(tid) {
            if h.xmax != 0 {
                let own = self.txns.get(sid).is_some_and(|t| t.owns(h.xmax));
                if !own && self.txns.status(&mut self.pager, h.xmax)? != XidStatus::Aborted {
                    return Err(sql_err(
                        SqlState::SERIALIZATION_FAILURE,
                        "could not serialize access due to concurrent update",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The operator class and `WITH` parameters of `CREATE INDEX ... USING
/// hnsw`, checked as pgvector checks them.
fn hnsw_options(key_types: &[DataType], c: &ast::CreateIndex) -> Result<HnswOptions> {
    if c.unique {
        return Err(sql_err(
            SqlState::FEATURE_NOT_SUPPORTED,
            "access method \"hnsw\" does not support unique indexes",
        ));
    }
    let ([ty], [ic]) = (key_types, c.columns.as_slice()) else {
        return Err(sql_err(
            SqlState::FEATURE_NOT_SUPPORTED,
            "access method \"hnsw\" does not support multicolumn indexes",
        ));
    };
    let no_default = || {
        Error::Sql(SqlError::new(
            SqlState::UNDEFINED_OBJECT,
            format!("data type {ty} has no default operator class for access method \"hnsw\""),
        )
        .with_hint("You must specify an operator class for the index or define a default operator class for the data type."))
    };
    let (dims, format) = match ty {
        DataType::Vector(d) => (*d, ElementFormat::F32),
        DataType::HalfVec(d) => (*d, ElementFormat::F16),
        DataType::Bit(d) => (*d, ElementFormat::Bit),
        _ => return Err(no_default()),
    };
    let metric = match ic.opclass.as_deref().map(str::to_ascii_lowercase) {
        // vector_l2_ops and halfvec_l2_ops are the defaults; bit has none.
        None if format == ElementFormat::Bit => return Err(no_default()),
        None => Metric::L2,
        Some(name) => {
            let (_, m, f) = Metric::OPCLASSES
                .iter()
                .find(|(n, _, _)| *n == name)
                .ok_or_else(|| {
                    sql_err(
                        SqlState::UNDEFINED_OBJECT,
                        format!(
                            "operator class \"{name}\" does not exist for access method \"hnsw\""
                        ),
                    )
                })?;
            if *f != format {
                return Err(sql_err(
                    SqlState::DATATYPE_MISMATCH,
                    format!("operator class \"{name}\" does not accept data type {ty}"),
                ));
            }
            *m
        }
    };
    let Some(dims) = dims else {
        return Err(sql_err(
            SqlState::DATA_EXCEPTION,
            "column does not have dimensions",
        ));
    };
    if dims as usize > format.max_index_dims() {
        return Err(sql_err(
            SqlState::PROGRAM_LIMIT_EXCEEDED,
            format!(
                "column cannot have more than {} dimensions for hnsw index",
                format.max_index_dims()
            ),
        ));
    }
    let (mut m, mut ef) = (
        i64::from(crate::access::hnsw::DEFAULT_M),
        i64::from(crate::access::hnsw::DEFAULT_EF_CONSTRUCTION),
    );
    for (name, value) in &c.with {
        let lname = name.to_ascii_lowercase();
        let (slot, lo, hi) = match lname.as_str() {
            "m" => (&mut m, 2, 100),
            "ef_construction" => (&mut ef, 4, 1000),
            _ => {
                return Err(sql_err(
                    SqlState::INVALID_PARAMETER_VALUE,
                    format!("unrecognized parameter \"{name}\""),
                ))
            }
        };
        let text = match value {
            Expr::Literal(v) => v.to_pg_text(&TimeZone::utc()).unwrap_or_default(),
            Expr::UntypedString(s) => s.clone(),
            _ => String::new(),
        };
        let n: i64 = text.trim().parse().map_err(|_| {
            sql_err(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("invalid value for integer option \"{lname}\": {text}"),
            )
        })?;
        if !(lo..=hi).contains(&n) {
            return Err(Error::Sql(
                SqlError::new(
                    SqlState::INVALID_PARAMETER_VALUE,
                    format!("value {n} out of bounds for option \"{lname}\""),
                )
                .with_detail(format!("Valid values are between \"{lo}\" and \"{hi}\".")),
            ));
        }
        *slot = n;
    }
    if ef < 2 * m {
        return Err(sql_err(
            SqlState::INVALID_PARAMETER_VALUE,
            "ef_construction must be greater than or equal to 2 * m",
        ));
    }
    Ok(HnswOptions {
        metric,
        m: m as u8,
        ef_construction: ef as u16,
        dims,
        format,
    })
}
