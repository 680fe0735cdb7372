//! User-defined types: `CREATE TYPE ... AS ENUM`, `ALTER TYPE ... ADD
//! VALUE`, `DROP TYPE`, and filling in the enum types a statement names.
//!
//! An enum value is its label, stored as text; a column's type carries the
//! labels in sort order ([`EnumType`]), which the binder uses to order
//! values (comparisons and ORDER BY go by label position, as PostgreSQL's
//! enum operators do) and the input function to refuse unknown labels.

use super::{sql_err, system, Engine, QueryResult, Result, SessionId};
use crate::catalog::{Object, TableDef, TypeDef};
use crate::error::{Error, SqlError, SqlState};
use crate::sql::parse::ast;
use crate::value::types::{DataType, EnumType};

/// PostgreSQL's NAMEDATALEN - 1.
const MAX_LABEL_BYTES: usize = 63;

fn undefined_type(name: &str) -> Error {
    sql_err(
        SqlState::UNDEFINED_OBJECT,
        format!("type \"{name}\" does not exist"),
    )
}

fn check_label(label: &str) -> Result<()> {
    if label.is_empty() || label.len() > MAX_LABEL_BYTES {
        return Err(Error::Sql(
            SqlError::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("invalid enum label \"{label}\""),
            )
            .with_detail("Labels must be 63 bytes or less."),
        ));
    }
    Ok(())
}

/// Whether `ty` is enum type `oid`.
fn is_type(ty: &DataType, oid: u32) -> bool {
    matches!(ty, DataType::Enum(e) if e.oid == oid)
}

/// Whether `ty` is (an array of) enum type `oid`.
fn uses_type(ty: &DataType, oid: u32) -> bool {
    match ty {
        DataType::Enum(e) => e.oid == oid,
        DataType::Array(inner) => uses_type(inner, oid),
        _ => false,
    }
}

/// `ty` with enum type `e`'s labels replaced by `labels`.
fn relabel(ty: &mut DataType, e: &EnumType) {
    match ty {
        DataType::Enum(x) if x.oid == e.oid => **x = e.clone(),
        DataType::Array(inner) => relabel(inner, e),
        _ => {}
    }
}

impl Engine {
    /// An OID for a type: not one of the built-in types' (pgvector's fixed
    /// OIDs lie in the range of user OIDs).
    fn allocate_type_oid(&mut self) -> u32 {
        loop {
            let oid = self.catalog.allocate_oid();
            if crate::value::types::type_info(oid).is_none() {
                return oid;
            }
        }
    }

    /// The enum type called `name`, if there is one (visible to `sid`).
    pub(super) fn find_enum(
        &mut self,
        sid: SessionId,
        name: &[String],
    ) -> Result<Option<EnumType>> {
        Ok(match self.lookup_name(sid, name)? {
            Some(e) => match &*e.object {
                Object::Type(t) => Some(t.enum_type()),
                _ => None,
            },
            None => None,
        })
    }

    /// Fills in the enum types `ty` names (the parser knows only their
    /// names): 42704 for a name that is no type.
    pub(super) fn resolve_type(&mut self, sid: SessionId, ty: &mut DataType) -> Result<()> {
        match ty {
            DataType::Enum(e) if !e.is_resolved() => {
                let name = e.qualified_name();
                let found = self
                    .find_enum(sid, &name)?
                    .ok_or_else(|| undefined_type(&name.join(".")))?;
                **e = found;
                Ok(())
            }
            DataType::Array(inner) => self.resolve_type(sid, inner),
            _ => Ok(()),
        }
    }

    pub(super) fn create_enum(
        &mut self,
        sid: SessionId,
        name: &ast::Name,
        labels: &[String],
    ) -> Result<QueryResult> {
        system::refuse_ddl(name)?;
        let tname = name.last().cloned().unwrap_or_default();
        let namespace = self.creation_namespace(sid, name)?;
        if self.lookup_in(sid, namespace, &tname)?.is_some() {
            return Err(sql_err(
                SqlState::DUPLICATE_OBJECT,
                format!("type \"{tname}\" already exists"),
            ));
        }
        self.check_name_not_in_flux(sid, &tname)?;
        for (i, l) in labels.iter().enumerate() {
            check_label(l)?;
            if labels[..i].contains(l) {
                return Err(sql_err(
                    SqlState::INVALID_PARAMETER_VALUE,
                    format!("enum label \"{l}\" used more than once"),
                ));
            }
        }
        let xid = self.write_xid(sid)?;
        let cid = self.current_cid(sid);
        let oid = self.allocate_type_oid();
        let array_oid = self.allocate_type_oid();
        let labels = labels
            .iter()
            .map(|l| (self.catalog.allocate_oid(), l.clone()))
            .collect();
        self.catalog.insert(
            &mut self.pager,
            xid,
            cid,
            Object::Type(TypeDef {
                oid,
                array_oid,
                name: tname,
                namespace,
                labels,
            }),
        )?;
        Ok(QueryResult::tag("CREATE TYPE"))
    }

    /// Tables (visible to `sid`) with a column of type `oid`, with the
    /// names of those columns.
    fn type_dependents(
        &mut self,
        sid: SessionId,
        oid: u32,
    ) -> Result<Vec<(TableDef, Vec<String>)>> {
        let mut out = Vec::new();
        let names: Vec<(crate::catalog::Oid, String)> = self
            .catalog_entries_all()
            .into_iter()
            .filter_map(|o| match &*o {
                Object::Table(t) => Some((t.namespace, t.name.clone())),
                _ => None,
            })
            .collect();
        for (namespace, name) in names {
            if let Some(e) = self.lookup_in(sid, namespace, &name)? {
                if let Object::Table(t) = &*e.object {
                    let cols: Vec<String> = t
                        .live_columns()
                        .filter(|(_, c)| uses_type(&c.ty, oid))
                        .map(|(_, c)| c.name.clone())
                        .collect();
                    if !cols.is_empty() {
                        out.push((t.clone(), cols));
                    }
                }
            }
        }
        Ok(out)
    }

    pub(super) fn drop_types(
        &mut self,
        sid: SessionId,
        names: &[ast::Name],
        if_exists: bool,
        cascade: bool,
    ) -> Result<QueryResult> {
        for n in names {
            system::refuse_ddl(n)?;
            let name = n.last().cloned().unwrap_or_default();
            let entry = match self.lookup_name(sid, n)? {
                Some(e) => e,
                None if if_exists => {
                    let what = format!("type \"{}\" does not exist", Self::display_name(n));
                    self.skip_notice(sid, SqlState::SUCCESSFUL_COMPLETION, what);
                    continue;
                }
                None => return Err(undefined_type(&name)),
            };
            let Object::Type(t) = &*entry.object else {
                return Err(sql_err(
                    SqlState::WRONG_OBJECT_TYPE,
                    format!("\"{name}\" is not a type"),
                ));
            };
            let dependents = self.type_dependents(sid, t.oid)?;
            if !dependents.is_empty() && !cascade {
                // As PostgreSQL lists them: columns of the array type
                // (which depends on the type) first.
                let mut detail: Vec<(bool, String)> = Vec::new();
                for (table, cols) in &dependents {
                    for c in cols {
                        let direct = table
                            .column(c)
                            .is_some_and(|i| is_type(&table.columns[i].ty, t.oid));
                        let suffix = if direct { "" } else { "[]" };
                        detail.push((
                            direct,
                            format!(
                                "column {c} of table {} depends on type {name}{suffix}",
                                table.name
                            ),
                        ));
                    }
                }
                detail.sort_by_key(|(direct, _)| *direct);
                let detail: Vec<String> = detail.into_iter().map(|(_, d)| d).collect();
                return Err(Error::Sql(
                    SqlError::new(
                        SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
                        format!("cannot drop type {name} because other objects depend on it"),
                    )
                    .with_detail(detail.join("\n"))
                    .with_hint("Use DROP ... CASCADE to drop the dependent objects too."),
                ));
            }
            // CASCADE drops the columns of the type, as PostgreSQL does.
            for (table, cols) in dependents {
                for c in cols {
                    self.raise_notice(
                        sid,
                        crate::error::Notice::info(
                            SqlState::SUCCESSFUL_COMPLETION,
                            format!("drop cascades to column {c} of table {}", table.name),
                        ),
                    );
                    let op = ast::AlterOp::DropColumn {
                        name: c,
                        if_exists: false,
                        cascade: false,
                    };
                    let qualified = self.qualified(sid, table.namespace, &table.name)?;
                    self.alter_table(sid, &qualified, false, &[op])?;
                }
            }
            let xid = self.write_xid(sid)?;
            let cid = self.current_cid(sid);
            self.lock_catalog_row(sid, entry.tid)?;
            self.catalog.delete(&mut self.pager, entry.tid, xid, cid)?;
        }
        Ok(QueryResult::tag("DROP TYPE"))
    }

    /// `ALTER TYPE name ADD VALUE`: the label joins the type and every
    /// column of it (their types carry the labels).
    pub(super) fn alter_enum_add_value(
        &mut self,
        sid: SessionId,
        name: &ast::Name,
        label: &str,
        if_not_exists: bool,
        neighbour: Option<&(bool, String)>,
    ) -> Result<QueryResult> {
        system::refuse_ddl(name)?;
        let tname = name.last().cloned().unwrap_or_default();
        let entry = self
            .lookup_name(sid, name)?
            .ok_or_else(|| undefined_type(&Self::display_name(name)))?;
        let Object::Type(t) = &*entry.object else {
            return Err(sql_err(
                SqlState::WRONG_OBJECT_TYPE,
                format!("\"{tname}\" is not an enum"),
            ));
        };
        let mut t = t.clone();
        check_label(label)?;
        if t.labels.iter().any(|(_, l)| l == label) {
            if if_not_exists {
                let what = format!("enum label \"{label}\" already exists");
                self.skip_notice(sid, SqlState::DUPLICATE_OBJECT, what);
                return Ok(QueryResult::tag("ALTER TYPE"));
            }
            return Err(sql_err(
                SqlState::DUPLICATE_OBJECT,
                format!("enum label \"{label}\" already exists"),
            ));
        }
        let at = match neighbour {
            None => t.labels.len(),
            Some((before, n)) => {
                let i = t.labels.iter().position(|(_, l)| l == n).ok_or_else(|| {
                    sql_err(
                        SqlState::INVALID_PARAMETER_VALUE,
                        format!("\"{n}\" is not an existing enum label"),
                    )
                })?;
                if *before {
                    i
                } else {
                    i + 1
                }
            }
        };
        let xid = self.write_xid(sid)?;
        let cid = self.current_cid(sid);
        let label_oid = self.catalog.allocate_oid();
        t.labels.insert(at, (label_oid, label.to_string()));
        self.lock_catalog_row(sid, entry.tid)?;
        self.catalog.replace(
            &mut self.pager,
            entry.tid,
            xid,
            cid,
            Object::Type(t.clone()),
        )?;
        let e = t.enum_type();
        for (table, _) in self.type_dependents(sid, t.oid)? {
            let Some(te) = self.lookup_in(sid, table.namespace, &table.name)? else {
                continue;
            };
            let mut table = table;
            for c in &mut table.columns {
                relabel(&mut c.ty, &e);
            }
            self.lock_catalog_row(sid, te.tid)?;
            self.catalog
                .replace(&mut self.pager, te.tid, xid, cid, Object::Table(table))?;
        }
        Ok(QueryResult::tag("ALTER TYPE"))
    }
}

impl Engine {
    /// `COMMENT ON ... IS 'text' | NULL`: one `pg_description` row per
    /// object (and column), replaced or removed.
    pub(super) fn comment_on(
        &mut self,
        sid: SessionId,
        on: ast::CommentOn,
        name: &ast::Name,
        text: Option<String>,
    ) -> Result<QueryResult> {
        use crate::catalog::CommentDef;
        const PG_CLASS: u32 = 1259;
        const PG_TYPE: u32 = 1247;
        const PG_NAMESPACE: u32 = 2615;
        let last = name.last().cloned().unwrap_or_default();
        let relation = |engine: &mut Engine, name: &[String], want: &str| -> Result<Object> {
            let rel = name.join(".");
            let entry = engine.lookup_name(sid, name)?.ok_or_else(|| {
                sql_err(
                    SqlState::UNDEFINED_TABLE,
                    format!("relation \"{rel}\" does not exist"),
                )
            })?;
            let o = (*entry.object).clone();
            let fits = matches!(
                (&o, want),
                (Object::Table(_), "table")
                    | (Object::Index(_), "index")
                    | (Object::Sequence(_), "sequence")
            );
            if !fits {
                return Err(sql_err(
                    SqlState::WRONG_OBJECT_TYPE,
                    format!("\"{rel}\" is not a {want}"),
                ));
            }
            Ok(o)
        };
        let (object, class, column) = match on {
            ast::CommentOn::Table => (relation(self, name, "table")?.oid(), PG_CLASS, 0),
            ast::CommentOn::Index => (relation(self, name, "index")?.oid(), PG_CLASS, 0),
            ast::CommentOn::Sequence => (relation(self, name, "sequence")?.oid(), PG_CLASS, 0),
            ast::CommentOn::Column => {
                let table_name = match name.split_last() {
                    Some((_, table)) if !table.is_empty() => table.to_vec(),
                    _ => {
                        return Err(sql_err(
                            SqlState::SYNTAX_ERROR,
                            "column name must be qualified",
                        ))
                    }
                };
                let Object::Table(t) = relation(self, &table_name, "table")? else {
                    return Err(sql_err(SqlState::WRONG_OBJECT_TYPE, "not a table"));
                };
                let attnum = t
                    .live_columns()
                    .find(|(_, c)| c.name == last)
                    .map(|(i, _)| i as i32 + 1)
                    .ok_or_else(|| {
                        sql_err(
                            SqlState::UNDEFINED_COLUMN,
                            format!(
                                "column \"{last}\" of relation \"{}\" does not exist",
                                t.name
                            ),
                        )
                    })?;
                (t.oid, PG_CLASS, attnum)
            }
            ast::CommentOn::Type => {
                let e = self
                    .find_enum(sid, name)?
                    .ok_or_else(|| undefined_type(&Self::display_name(name)))?;
                (e.oid, PG_TYPE, 0)
            }
            ast::CommentOn::Schema => {
                let ns = self
                    .with_names(sid, |n| Ok(n.schema(&last)?))?
                    .ok_or_else(|| {
                        sql_err(
                            SqlState("3F000"),
                            format!("schema \"{last}\" does not exist"),
                        )
                    })?;
                (ns, PG_NAMESPACE, 0)
            }
        };
        let xid = self.write_xid(sid)?;
        let cid = self.current_cid(sid);
        let existing = self
            .visible_entries(sid)?
            .into_iter()
            .find(|e| matches!(&*e.object, Object::Comment(c) if c.object == object && c.class == class && c.column == column));
        let new = text.filter(|t| !t.is_empty()).map(|text| {
            Object::Comment(CommentDef {
                object,
                class,
                column,
                text,
            })
        });
        match (existing, new) {
            (Some(e), Some(o)) => {
                self.lock_catalog_row(sid, e.tid)?;
                self.catalog.replace(&mut self.pager, e.tid, xid, cid, o)?;
            }
            (Some(e), None) => {
                self.lock_catalog_row(sid, e.tid)?;
                self.catalog.delete(&mut self.pager, e.tid, xid, cid)?;
            }
            (None, Some(o)) => {
                self.catalog.insert(&mut self.pager, xid, cid, o)?;
            }
            (None, None) => {}
        }
        Ok(QueryResult::tag("COMMENT"))
    }
}
