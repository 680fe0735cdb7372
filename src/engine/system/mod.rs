//! System relations: read-only virtual tables (`pg_stat_activity`,
//! `pg_locks`, `pg_class`, `information_schema.columns`...) computed from
//! the engine's state.
//!
//! Each relation is declared once in [`RELATIONS`] (schema, name, OID,
//! columns). The binder asks for one through
//! [`CatalogAccess::system_relation`](crate::sql::plan::CatalogAccess) when
//! it meets a table name; its rows are computed then, at statement start,
//! and travel in the plan (`Plan::SystemScan`), so a statement sees one
//! consistent view however often it reads the relation. Catalog rows follow
//! the statement's snapshot (like every catalog lookup); sessions and locks
//! are as they are at that moment.
//!
//! Name resolution follows PostgreSQL's search path, where `pg_catalog`
//! comes first: an unqualified `pg_class` is the system relation even if a
//! user table of that name exists (that one is reachable as
//! `public.pg_class`). `information_schema` relations need the schema.
//!
//! OID columns are `int4` (we have no `oid` type; user OIDs start at
//! 16384, so they fit), `name` columns are `text`, `"char"` columns are
//! one-character `text`, `xid` columns are `int8`.

mod activity;
mod information_schema;
mod pg_catalog;
mod relations;

use pg_catalog::{
    constraint_rows, enum_pg_type_rows, index_am_oid, index_text, pg_collation, pg_namespace,
    pg_opclass, pg_type, regtype_name,
};
use relations::RELATIONS;

use std::collections::HashMap;

use super::{sql_err, Engine, Result, SessionId, SERVER_VERSION};
use crate::catalog::{ColumnDef, Object, Oid, TableDef};
use crate::error::{Error, SqlState};
use crate::sql::functions::catalog::{CatalogInfo, RelName};
use crate::sql::functions::size::RelStorage;
use crate::sql::parse::ast;
use crate::sql::plan::{Column, SystemRelationRows};
use crate::txn::{Snapshot, Viewer};
use crate::value::types::{DataType, BUILTIN_TYPES};
use crate::value::Value;

/// The OID of our one database (PostgreSQL's `postgres` database has 5).
pub const DATABASE_OID: Oid = 5;
/// The bootstrap superuser's OID, which owns everything.
const SUPERUSER_OID: i32 = 10;
/// The role every session runs as (`current_user`).
pub(super) const USER_NAME: &str = "neuraldb";
const PG_CATALOG_NS: i32 = 11;
const PUBLIC_NS: i32 = 2200;
/// PostgreSQL assigns this one at initdb; ours is fixed.
const INFORMATION_SCHEMA_NS: i32 = 12000;
/// Access methods (`pg_am`): heap tables, btree and hnsw indexes.
const HEAP_AM: i32 = 2;
const BTREE_AM: i32 = 403;
/// pgvector's hnsw gets its OID at CREATE EXTENSION; ours is fixed.
const HNSW_AM: i32 = 16400;

/// PostgreSQL's default collation, for collatable (string) columns.
const DEFAULT_COLLATION: i32 = 100;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A catalog table in PostgreSQL (`relkind` 'r').
    Table,
    /// A view in PostgreSQL (`relkind` 'v').
    View,
}

/// One system relation: where it lives and what its columns are.
pub struct SystemRelation {
    schema: &'static str,
    pub name: &'static str,
    oid: Oid,
    kind: Kind,
    columns: &'static [(&'static str, DataType)],
}

use DataType::{Bool, Int8};

/// Array columns (`int2[]`, `oid[]`, `"char"[]`, `text[]`, and
/// `int2vector` and `oidvector`, which we model as `int2[]` and `oid[]`,
/// 1-based like every array here, printed as arrays; but
/// `pg_index.indoption` is its text form, `0 3`, which clients parse):
/// `RELATIONS`
/// declares their element type, because a static cannot hold the boxed
/// `DataType::Array`.
static ARRAY_COLUMNS: &[(&str, &str)] = &[
    ("pg_class", "reloptions"),
    ("pg_index", "indkey"),
    ("pg_index", "indcollation"),
    ("pg_index", "indclass"),
    ("pg_tablespace", "spcoptions"),
    ("pg_constraint", "conkey"),
    ("pg_constraint", "confkey"),
    ("pg_constraint", "confdelsetcols"),
    ("pg_trigger", "tgattr"),
    ("pg_policy", "polroles"),
    ("pg_statistic_ext", "stxkeys"),
    ("pg_statistic_ext", "stxkind"),
    ("pg_publication_rel", "prattrs"),
    // aclitem[] (always NULL: no privileges to list).
    ("pg_class", "relacl"),
    ("pg_type", "typacl"),
    ("pg_database", "datacl"),
    ("pg_namespace", "nspacl"),
];

impl SystemRelation {
    /// The relation's columns with their types.
    fn column_types(&self) -> impl Iterator<Item = (&'static str, DataType)> + '_ {
        self.columns.iter().map(|(n, t)| {
            let array = ARRAY_COLUMNS.contains(&(self.name, *n));
            let ty = if array {
                DataType::Array(Box::new(t.clone()))
            } else {
                t.clone()
            };
            (*n, ty)
        })
    }
}

/// The system relation `schema.name`; an unqualified name finds the
/// `pg_catalog` ones (first on PostgreSQL's search path).
pub fn find(schema: Option<&str>, name: &str) -> Option<&'static SystemRelation> {
    let schema = schema.unwrap_or("pg_catalog");
    RELATIONS
        .iter()
        .find(|r| r.schema == schema && r.name == name)
}

/// The system relation a DML or DDL statement names, if any.
fn named(name: &ast::Name) -> Option<&'static SystemRelation> {
    let schema = name.len().checked_sub(2).map(|i| name[i].as_str());
    find(schema, name.last()?)
}

/// Refuses INSERT/UPDATE/DELETE (`verb`) on a system relation. Views fail
/// as PostgreSQL's non-updatable views do (55000); catalog tables as they
/// do for a non-superuser (42501): ours are computed, not stored.
pub fn refuse_write(name: &ast::Name, verb: &str) -> Result<()> {
    let Some(r) = named(name) else {
        return Ok(());
    };
    Err(match r.kind {
        Kind::View => Error::Sql(
            crate::error::SqlError::new(
                SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!("cannot {verb} view \"{}\"", r.name),
            )
            .with_detail(
                "Views that do not select from a single table or view are not automatically updatable.",
            ),
        ),
        Kind::Table => sql_err(
            SqlState::INSUFFICIENT_PRIVILEGE,
            format!("permission denied for table {}", r.name),
        ),
    })
}

/// Refuses DDL (ALTER/DROP TABLE, CREATE INDEX) on a system relation.
pub fn refuse_ddl(name: &ast::Name) -> Result<()> {
    let Some(r) = named(name) else {
        return Ok(());
    };
    Err(match r.kind {
        Kind::View => sql_err(
            SqlState::WRONG_OBJECT_TYPE,
            format!("\"{}\" is not a table", r.name),
        ),
        Kind::Table => sql_err(
            SqlState::INSUFFICIENT_PRIVILEGE,
            format!("permission denied: \"{}\" is a system catalog", r.name),
        ),
    })
}

/// Whose view a system relation is computed for: the binding statement's.
pub struct Viewpoint<'a> {
    pub sid: SessionId,
    pub snapshot: &'a Snapshot,
    pub own: &'a crate::txn::XidSet,
    pub cid: u32,
}

/// A relation as the catalog relations list it: user tables, indexes and
/// sequences, and the system relations themselves.
struct RelEntry {
    namespace: i32,
    schema: String,
    kind: char,
    /// Columns (indexes: the indexed columns; sequences: their state).
    def: TableDef,
    view: bool,
    /// `pg_class.relam`: the table or index access method's OID, else 0.
    am: i32,
}

fn oid(o: Oid) -> Value {
    // OIDs below 2^31 (all of ours) are exact as int4; see the module docs.
    Value::Int4(o as i32)
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn opt_text(s: Option<&str>) -> Value {
    s.map_or(Value::Null, text)
}

fn opt_i64(x: Option<u64>) -> Value {
    x.map_or(Value::Null, |x| Value::Int8(x as i64))
}

fn timestamptz(t: Option<i64>) -> Value {
    t.map_or(Value::Null, Value::Timestamptz)
}

fn column(name: &str, ty: DataType) -> ColumnDef {
    ColumnDef {
        name: name.to_string(),
        ty,
        not_null: false,
        default: None,
        identity: None,
        dropped: false,
        generated: None,
    }
}

impl Engine {
    /// The contents of system relation `schema.name` for `vp`, or None if
    /// there is no such relation.
    pub(super) fn system_relation(
        &mut self,
        vp: &Viewpoint,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Option<SystemRelationRows>> {
        let Some(r) = find(schema, name) else {
            return Ok(None);
        };
        let rows = match r.name {
            "pg_stat_activity" => self.pg_stat_activity(vp),
            "pg_locks" => self.pg_locks(),
            "pg_stat_progress_create_index" => self.pg_stat_progress_create_index(),
            "pg_settings" => self.pg_settings(vp.sid)?,
            "pg_prepared_statements" => self.pg_prepared_statements(vp.sid),
            "pg_cursors" => self.pg_cursors(vp.sid),
            "pg_prepared_xacts" => self.pg_prepared_xacts(),
            "pg_type" => {
                let mut rows = pg_type();
                rows.extend(enum_pg_type_rows(&self.visible_objects(vp)?));
                rows
            }
            "pg_enum" => self
                .visible_objects(vp)?
                .iter()
                .filter_map(|o| match &**o {
                    Object::Type(t) => Some(t.labels.iter().enumerate().map(|(i, (o, l))| {
                        vec![
                            oid(*o),
                            oid(t.oid),
                            Value::Float4((i + 1) as f32),
                            Value::Text(l.clone()),
                        ]
                    })),
                    _ => None,
                })
                .flatten()
                .collect(),
            // The casts type resolution uses (castfunc: no pg_proc here).
            "pg_cast" => crate::sql::resolve::casts()
                .iter()
                .map(|c| {
                    vec![
                        oid(c.oid),
                        oid(c.source),
                        oid(c.target),
                        oid(0),
                        Value::Text(char::from(c.context).to_string()),
                        Value::Text(char::from(c.method).to_string()),
                    ]
                })
                .collect(),
            "pg_namespace" => pg_namespace(&namespaces(&self.visible_objects(vp)?)),
            "pg_database" => vec![vec![
                oid(DATABASE_OID),
                text(&self.config.database_name),
                Value::Int4(SUPERUSER_OID),
                Value::Int4(6), // UTF8
                text("c"),
                Value::Bool(false),
                Value::Bool(true),
                Value::Int4(-1),
                Value::Int4(1663), // pg_default
                text("C"),
                text("C"),
                Value::Null,
                Value::Null,
            ]],
            "pg_am" => vec![
                vec![
                    Value::Int4(HEAP_AM),
                    text("heap"),
                    text("heap_tableam_handler"),
                    text("t"),
                ],
                vec![
                    Value::Int4(BTREE_AM),
                    text("btree"),
                    text("bthandler"),
                    text("i"),
                ],
                vec![
                    Value::Int4(HNSW_AM),
                    text("hnsw"),
                    text("hnswhandler"),
                    text("i"),
                ],
            ],
            "pg_roles" => vec![vec![
                text(USER_NAME),
                Value::Bool(true),
                Value::Bool(true),
                Value::Bool(true),
                Value::Bool(true),
                Value::Bool(true),
                Value::Bool(false),
                Value::Int4(-1),
                text("********"),
                Value::Null,
                Value::Bool(true),
                Value::Null,
                Value::Int4(SUPERUSER_OID),
            ]],
            "pg_user" => vec![vec![
                text(USER_NAME),
                Value::Int4(SUPERUSER_OID),
                Value::Bool(true),
                Value::Bool(true),
                Value::Bool(false),
                Value::Bool(true),
                text("********"),
                Value::Null,
                Value::Null,
            ]],
            "pg_class" => self.pg_class(vp)?,
            "pg_attrdef" => self.pg_attrdef(vp)?,
            "pg_constraint" => self.pg_constraint(vp)?,
            "pg_collation" => pg_collation(),
            "pg_opclass" => pg_opclass(),
            "pg_tablespace" => vec![
                vec![
                    Value::Int4(1663),
                    text("pg_default"),
                    Value::Int4(SUPERUSER_OID),
                    Value::Null,
                    Value::Null,
                ],
                vec![
                    Value::Int4(1664),
                    text("pg_global"),
                    Value::Int4(SUPERUSER_OID),
                    Value::Null,
                    Value::Null,
                ],
            ],
            "pg_sequence" => self.pg_sequence(vp)?,
            // COMMENT ON is not supported: there are no descriptions.
            "pg_description" => self
                .visible_objects(vp)?
                .iter()
                .filter_map(|o| match &**o {
                    Object::Comment(c) => Some(vec![
                        oid(c.object),
                        oid(c.class),
                        Value::Int4(c.column),
                        Value::Text(c.text.clone()),
                    ]),
                    _ => None,
                })
                .collect(),
            // No inheritance, triggers, row-level security policies,
            // extended statistics or publications exist here.
            "pg_inherits"
            | "pg_trigger"
            | "pg_policy"
            | "pg_statistic_ext"
            | "pg_publication"
            | "pg_publication_namespace"
            | "pg_publication_rel" => Vec::new(),
            "pg_attribute" => self.pg_attribute(vp)?,
            "pg_index" => self.pg_index(vp)?,
            "pg_tables" => self.pg_tables(vp)?,
            "pg_views" => self.pg_views(vp)?,
            "pg_rewrite" => self.pg_rewrite(vp)?,
            "views" => self.information_schema_views(vp)?,
            "pg_indexes" => self.pg_indexes(vp)?,
            "tables" => self.information_schema_tables(vp)?,
            "columns" => self.information_schema_columns(vp)?,
            "schemata" => self.information_schema_schemata(vp)?,
            "table_constraints" => self.information_schema_table_constraints(vp)?,
            "key_column_usage" => self.information_schema_key_column_usage(vp)?,
            "referential_constraints" => self.information_schema_referential_constraints(vp)?,
            other => {
                return Err(sql_err(
                    SqlState::INTERNAL_ERROR,
                    format!("system relation {other} has no row source"),
                ))
            }
        };
        // Invariant: every row source yields rows shaped like its column
        // list; a mismatch would misalign every column after it.
        if let Some(bad) = rows.iter().find(|row| row.len() != r.columns.len()) {
            return Err(sql_err(
                SqlState::INTERNAL_ERROR,
                format!(
                    "system relation {} produced a row of {} columns, expected {}",
                    r.name,
                    bad.len(),
                    r.columns.len()
                ),
            ));
        }
        Ok(Some(SystemRelationRows {
            qualified_name: format!("{}.{}", r.schema, r.name),
            columns: r
                .column_types()
                .map(|(n, ty)| Column {
                    name: n.to_string(),
                    ty,
                })
                .collect(),
            rows,
        }))
    }

    /// Catalog objects visible to the statement, by OID.
    pub(super) fn visible_objects(&mut self, vp: &Viewpoint) -> Result<Vec<std::rc::Rc<Object>>> {
        let viewer = Viewer {
            snapshot: vp.snapshot,
            own: vp.own,
            cid: vp.cid + 1,
        };
        let mut objects: Vec<_> = self
            .catalog
            .visible(&self.txns, &mut self.pager, &viewer)?
            .into_iter()
            .map(|e| e.object)
            .collect();
        objects.sort_by_key(|o| o.oid());
        Ok(objects)
    }

    /// Every relation, as `pg_class` lists them: system relations, then
    /// user tables, indexes and sequences by OID.
    fn relations(&mut self, vp: &Viewpoint) -> Result<Vec<RelEntry>> {
        let mut out: Vec<RelEntry> = RELATIONS
            .iter()
            .map(|r| RelEntry {
                namespace: if r.schema == "pg_catalog" {
                    PG_CATALOG_NS
                } else {
                    INFORMATION_SCHEMA_NS
                },
                schema: r.schema.to_string(),
                kind: if r.kind == Kind::View { 'v' } else { 'r' },
                am: if r.kind == Kind::View { 0 } else { HEAP_AM },
                def: TableDef {
                    oid: r.oid,
                    name: r.name.to_string(),
                    namespace: if r.schema == "pg_catalog" {
                        PG_CATALOG_NS as Oid
                    } else {
                        INFORMATION_SCHEMA_NS as Oid
                    },
                    columns: r.column_types().map(|(n, t)| column(n, t)).collect(),
                    heap: 0,
                    checks: Vec::new(),
                    foreign_keys: Vec::new(),
                    fillfactor: None,
                },
                view: r.kind == Kind::View,
            })
            .collect();
        let objects = self.visible_objects(vp)?;
        let table_of = |o: Oid| {
            objects.iter().find_map(|x| match &**x {
                Object::Table(t) if t.oid == o => Some(t),
                _ => None,
            })
        };
        for o in &objects {
            let (kind, def, am) = match &**o {
                Object::Table(t) => ('r', t.clone(), HEAP_AM),
                Object::Index(i) => {
                    let Some(t) = table_of(i.table) else {
                        continue;
                    };
                    let columns = i
                        .columns
                        .iter()
                        .filter_map(|&c| t.columns.get(c).cloned())
                        .collect();
                    let def = TableDef {
                        oid: i.oid,
                        name: i.name.clone(),
                        namespace: i.namespace,
                        columns,
                        heap: 0,
                        checks: Vec::new(),
                        foreign_keys: Vec::new(),
                        fillfactor: None,
                    };
                    ('i', def, index_am_oid(i.method))
                }
                Object::Sequence(s) => {
                    let def = TableDef {
                        oid: s.oid,
                        name: s.name.clone(),
                        namespace: s.namespace,
                        columns: vec![
                            column("last_value", Int8),
                            column("log_cnt", Int8),
                            column("is_called", Bool),
                        ],
                        heap: 0,
                        checks: Vec::new(),
                        foreign_keys: Vec::new(),
                        fillfactor: None,
                    };
                    ('S', def, 0)
                }
                // Types are pg_type rows, comments pg_description rows.
                Object::Type(_) | Object::Comment(_) | Object::Schema(_) => continue,
                Object::View(v) => {
                    let def = TableDef {
                        oid: v.oid,
                        name: v.name.clone(),
                        namespace: v.namespace,
                        columns: v
                            .columns
                            .iter()
                            .map(|c| column(&c.name, c.ty.clone()))
                            .collect(),
                        heap: 0,
                        checks: Vec::new(),
                        foreign_keys: Vec::new(),
                        fillfactor: None,
                    };
                    ('v', def, 0)
                }
            };
            let namespace = def.namespace;
            out.push(RelEntry {
                namespace: namespace as i32,
                schema: namespace_name(&objects, namespace),
                kind,
                def,
                view: kind == 'v',
                am,
            });
        }
        Ok(out)
    }
}

impl Engine {
    /// The schemas of the session's search path that exist, as the
    /// statement sees them.
    fn search_path_oids(&mut self, vp: &Viewpoint) -> Result<Vec<Oid>> {
        let search_path = self.search_path(vp.sid);
        let viewer = Viewer {
            snapshot: vp.snapshot,
            own: vp.own,
            cid: vp.cid + 1,
        };
        let mut names = super::schemas::Names {
            catalog: &self.catalog,
            txns: &self.txns,
            pager: &mut self.pager,
            viewer: &viewer,
            search_path: &search_path,
            temp: super::schemas::temp_namespace(vp.sid),
        };
        Ok(names.path()?)
    }
}

/// Every schema: the built-in ones, then those of `CREATE SCHEMA`.
pub(super) fn namespaces(objects: &[std::rc::Rc<Object>]) -> Vec<(Oid, String)> {
    // Temporary schemas in use (PostgreSQL keeps them once made).
    let mut temp: Vec<(Oid, String)> = objects
        .iter()
        .filter_map(|o| o.namespace())
        .filter(|&ns| crate::catalog::is_temp_namespace(ns))
        .map(|ns| {
            (
                ns,
                format!("pg_temp_{}", ns - crate::catalog::TEMP_NAMESPACE_BASE),
            )
        })
        .collect();
    temp.sort();
    temp.dedup();
    crate::catalog::BUILTIN_NAMESPACES
        .iter()
        .map(|(o, n)| (*o, n.to_string()))
        // Listed as PostgreSQL lists it; nothing of ours is in it.
        .chain([(99, "pg_toast".to_string())])
        .chain(objects.iter().filter_map(|o| match &**o {
            Object::Schema(s) => Some((s.oid, s.name.clone())),
            _ => None,
        }))
        .chain(temp)
        .collect()
}

/// `pg_catalog` and `information_schema`, whose relations are ours.
pub(super) fn is_system_namespace(oid: i32) -> bool {
    matches!(oid, PG_CATALOG_NS | INFORMATION_SCHEMA_NS)
}

/// The name of schema `oid` (an object's, so it exists).
pub(super) fn namespace_name(objects: &[std::rc::Rc<Object>], oid: Oid) -> String {
    if crate::catalog::is_temp_namespace(oid) {
        return format!("pg_temp_{}", oid - crate::catalog::TEMP_NAMESPACE_BASE);
    }
    namespaces(objects)
        .into_iter()
        .find(|(o, _)| *o == oid)
        .map_or_else(|| oid.to_string(), |(_, n)| n)
}

/// The enum types' names (and their array types'), by OID.
fn enum_type_names(objects: &[std::rc::Rc<Object>]) -> Vec<(u32, String)> {
    objects
        .iter()
        .filter_map(|o| match &**o {
            Object::Type(t) => {
                let name = DataType::Enum(Box::new(t.enum_type())).to_string();
                Some([(t.oid, name.clone()), (t.array_oid, format!("{name}[]"))])
            }
            _ => None,
        })
        .flatten()
        .collect()
}

impl Engine {
    /// What `regclass` casts and the `pg_get_*def` functions read.
    pub(super) fn catalog_info(&mut self, vp: &Viewpoint) -> Result<CatalogInfo> {
        let objects = self.visible_objects(vp)?;
        let search_path = self.search_path_oids(vp)?;
        let relations = self
            .relations(vp)?
            .into_iter()
            .map(|r| RelName {
                oid: r.def.oid,
                name: r.def.name,
                namespace: r.namespace as u32,
                kind: r.kind,
            })
            .collect();
        let tables: HashMap<Oid, &TableDef> = objects
            .iter()
            .filter_map(|o| match &**o {
                Object::Table(t) => Some((t.oid, t)),
                _ => None,
            })
            .collect();
        let indexes = objects
            .iter()
            .filter_map(|o| match &**o {
                Object::Index(i) => tables.get(&i.table).map(|t| {
                    let namespace = namespace_name(&objects, t.namespace);
                    (i.oid, index_text(i, t, namespace))
                }),
                _ => None,
            })
            .collect();
        let comments = objects
            .iter()
            .filter_map(|o| match &**o {
                Object::Comment(c) => Some(((c.object, c.class, c.column), c.text.clone())),
                _ => None,
            })
            .collect();
        let storage = objects
            .iter()
            .filter_map(|o| {
                Some(match &**o {
                    Object::Table(t) => (
                        t.oid,
                        RelStorage::Table {
                            heap: t.heap,
                            // Only the indexes over this version's heap
                            // (see `IndexDef::heap`).
                            indexes: objects
                                .iter()
                                .filter_map(|x| match &**x {
                                    Object::Index(i)
                                        if i.table == t.oid
                                            && (i.heap == 0 || i.heap == t.heap) =>
                                    {
                                        Some(i.clone())
                                    }
                                    _ => None,
                                })
                                .collect(),
                        },
                    ),
                    Object::Index(i) => (i.oid, RelStorage::Index(i.clone())),
                    Object::Sequence(s) => (s.oid, RelStorage::Sequence),
                    Object::View(v) => (v.oid, RelStorage::None),
                    _ => return None,
                })
            })
            .collect();
        Ok(CatalogInfo {
            storage,
            database: (DATABASE_OID, self.config.database_name.clone()),
            comments,
            relations,
            namespaces: namespaces(&objects),
            search_path,
            types: BUILTIN_TYPES
                .iter()
                .map(|t| (t.oid, regtype_name(t)))
                .chain(enum_type_names(&objects))
                .collect(),
            type_namespaces: objects
                .iter()
                .filter_map(|o| match &**o {
                    Object::Type(t) => Some([(t.oid, t.namespace), (t.array_oid, t.namespace)]),
                    _ => None,
                })
                .flatten()
                .collect(),
            type_names: BUILTIN_TYPES
                .iter()
                .map(|t| (t.oid, t.name.to_string()))
                .chain(enum_type_names(&objects))
                .collect(),
            constraints: constraint_rows(&objects)
                .into_iter()
                .map(|c| (c.oid, c.def))
                .collect(),
            indexes,
            views: objects
                .iter()
                .filter_map(|o| match &**o {
                    Object::View(v) => Some((v.oid, (v.query.clone(), v.pretty.clone()))),
                    _ => None,
                })
                .collect(),
            pretty_exprs: objects
                .iter()
                .filter_map(|o| match &**o {
                    Object::Table(t) => Some(t),
                    _ => None,
                })
                .flat_map(|t| t.columns.iter().filter_map(|c| c.generated.as_ref()))
                .filter(|g| g.expr != g.pretty)
                .map(|g| (g.expr.clone(), g.pretty.clone()))
                .collect(),
        })
    }
}
