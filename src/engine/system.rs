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

use std::collections::{HashMap, HashSet};

use super::{sql_err, Engine, Result, SessionId, SERVER_VERSION};
use crate::catalog::{ColumnDef, IdentityKind, IndexDef, IndexMethod, Object, Oid, TableDef};
use crate::error::{Error, SqlState};
use crate::sql::functions::catalog::{CatalogInfo, IndexText, RelName};
use crate::sql::functions::quote_ident;
use crate::sql::parse::ast;
use crate::sql::plan::{Column, SystemRelationRows};
use crate::txn::{Snapshot, Viewer, Xid};
use crate::value::types::{from_oid_typmod, type_info, DataType, BUILTIN_TYPES, VECTOR_OID};
use crate::value::Value;

/// The OID of our one database (PostgreSQL's `postgres` database has 5).
pub const DATABASE_OID: Oid = 5;
/// The bootstrap superuser's OID, which owns everything.
const SUPERUSER_OID: i32 = 10;
const USER_NAME: &str = "neuraldb";
const PG_CATALOG_NS: i32 = 11;
const PUBLIC_NS: i32 = 2200;
/// PostgreSQL assigns this one at initdb; ours is fixed.
const INFORMATION_SCHEMA_NS: i32 = 12000;
/// Access methods (`pg_am`): heap tables and btree indexes.
const HEAP_AM: i32 = 2;
const BTREE_AM: i32 = 403;

/// `pg_am.oid` of an index access method.
fn index_am_oid(method: IndexMethod) -> i32 {
    match method {
        IndexMethod::BTree => BTREE_AM,
    }
}
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

use DataType::{Bool, Int2, Int4, Int8, Text, Timestamptz};

/// Array columns (`int2[]`, `oid[]`, `"char"[]`, and `int2vector`, which
/// we model as `int2[]`, 1-based like every array here): `RELATIONS`
/// declares their element type, because a static cannot hold the boxed
/// `DataType::Array`.
static ARRAY_COLUMNS: &[(&str, &str)] = &[
    ("pg_constraint", "conkey"),
    ("pg_constraint", "confkey"),
    ("pg_constraint", "confdelsetcols"),
    ("pg_trigger", "tgattr"),
    ("pg_policy", "polroles"),
    ("pg_statistic_ext", "stxkeys"),
    ("pg_statistic_ext", "stxkind"),
    ("pg_publication_rel", "prattrs"),
];
const INT2_ARRAY: DataType = Int2;
const INT4_ARRAY: DataType = Int4;
const TEXT_ARRAY: DataType = Text;

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

const fn rel(
    schema: &'static str,
    name: &'static str,
    oid: Oid,
    kind: Kind,
    columns: &'static [(&'static str, DataType)],
) -> SystemRelation {
    SystemRelation {
        schema,
        name,
        oid,
        kind,
        columns,
    }
}

/// Every system relation. Catalog tables carry PostgreSQL's OIDs; views
/// (whose OIDs PostgreSQL assigns at initdb) get fixed ones from 12001.
pub static RELATIONS: &[SystemRelation] = &[
    rel(
        "pg_catalog",
        "pg_type",
        1247,
        Kind::Table,
        &[
            ("oid", Int4),
            ("typname", Text),
            ("typnamespace", Int4),
            ("typowner", Int4),
            ("typlen", Int2),
            ("typbyval", Bool),
            ("typtype", Text),
            ("typcategory", Text),
            ("typispreferred", Bool),
            ("typisdefined", Bool),
            ("typdelim", Text),
            ("typrelid", Int4),
            ("typelem", Int4),
            ("typarray", Int4),
            ("typinput", Text),
            ("typoutput", Text),
            ("typnotnull", Bool),
            ("typbasetype", Int4),
            ("typtypmod", Int4),
            ("typndims", Int4),
            ("typcollation", Int4),
            ("typdefault", Text),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_attribute",
        1249,
        Kind::Table,
        &[
            ("attrelid", Int4),
            ("attname", Text),
            ("atttypid", Int4),
            ("attstattarget", Int4),
            ("attlen", Int2),
            ("attnum", Int2),
            ("attndims", Int4),
            ("atttypmod", Int4),
            ("attbyval", Bool),
            ("attnotnull", Bool),
            ("atthasdef", Bool),
            ("atthasmissing", Bool),
            ("attidentity", Text),
            ("attgenerated", Text),
            ("attisdropped", Bool),
            ("attislocal", Bool),
            ("attinhcount", Int4),
            ("attcollation", Int4),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_class",
        1259,
        Kind::Table,
        &[
            ("oid", Int4),
            ("relname", Text),
            ("relnamespace", Int4),
            ("reltype", Int4),
            ("reloftype", Int4),
            ("relowner", Int4),
            ("relam", Int4),
            ("relfilenode", Int4),
            ("reltablespace", Int4),
            ("relpages", Int4),
            ("reltuples", DataType::Float4),
            ("relallvisible", Int4),
            ("reltoastrelid", Int4),
            ("relhasindex", Bool),
            ("relisshared", Bool),
            ("relpersistence", Text),
            ("relkind", Text),
            ("relnatts", Int2),
            ("relchecks", Int2),
            ("relhasrules", Bool),
            ("relhastriggers", Bool),
            ("relhassubclass", Bool),
            ("relrowsecurity", Bool),
            ("relforcerowsecurity", Bool),
            ("relispopulated", Bool),
            ("relreplident", Text),
            ("relispartition", Bool),
            ("relrewrite", Int4),
            ("relacl", Text),
            ("reloptions", Text),
            ("relpartbound", Text),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_database",
        1262,
        Kind::Table,
        &[
            ("oid", Int4),
            ("datname", Text),
            ("datdba", Int4),
            ("encoding", Int4),
            ("datlocprovider", Text),
            ("datistemplate", Bool),
            ("datallowconn", Bool),
            ("datconnlimit", Int4),
            ("datcollate", Text),
            ("datctype", Text),
            ("daticulocale", Text),
            ("datacl", Text),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_am",
        2601,
        Kind::Table,
        &[
            ("oid", Int4),
            ("amname", Text),
            ("amhandler", Text),
            ("amtype", Text),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_index",
        2610,
        Kind::Table,
        &[
            ("indexrelid", Int4),
            ("indrelid", Int4),
            ("indnatts", Int2),
            ("indnkeyatts", Int2),
            ("indisunique", Bool),
            ("indnullsnotdistinct", Bool),
            ("indisprimary", Bool),
            ("indisexclusion", Bool),
            ("indimmediate", Bool),
            ("indisclustered", Bool),
            ("indisvalid", Bool),
            ("indcheckxmin", Bool),
            ("indisready", Bool),
            ("indislive", Bool),
            ("indisreplident", Bool),
            ("indkey", Text),
            ("indoption", Text),
            ("indexprs", Text),
            ("indpred", Text),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_namespace",
        2615,
        Kind::Table,
        &[
            ("oid", Int4),
            ("nspname", Text),
            ("nspowner", Int4),
            ("nspacl", Text),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_attrdef",
        2604,
        Kind::Table,
        &[
            ("oid", Int4),
            ("adrelid", Int4),
            ("adnum", Int2),
            ("adbin", Text),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_constraint",
        2606,
        Kind::Table,
        &[
            ("oid", Int4),
            ("conname", Text),
            ("connamespace", Int4),
            ("contype", Text),
            ("condeferrable", Bool),
            ("condeferred", Bool),
            ("convalidated", Bool),
            ("conrelid", Int4),
            ("contypid", Int4),
            ("conindid", Int4),
            ("conparentid", Int4),
            ("confrelid", Int4),
            ("confupdtype", Text),
            ("confdeltype", Text),
            ("confmatchtype", Text),
            ("conislocal", Bool),
            ("coninhcount", Int4),
            ("connoinherit", Bool),
            ("conkey", INT2_ARRAY),
            ("confkey", INT2_ARRAY),
            ("confdelsetcols", INT2_ARRAY),
            ("conbin", Text),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_collation",
        3456,
        Kind::Table,
        &[
            ("oid", Int4),
            ("collname", Text),
            ("collnamespace", Int4),
            ("collowner", Int4),
            ("collprovider", Text),
            ("collisdeterministic", Bool),
            ("collencoding", Int4),
            ("collcollate", Text),
            ("collctype", Text),
            ("colliculocale", Text),
            ("collversion", Text),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_inherits",
        2611,
        Kind::Table,
        &[
            ("inhrelid", Int4),
            ("inhparent", Int4),
            ("inhseqno", Int4),
            ("inhdetachpending", Bool),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_trigger",
        2620,
        Kind::Table,
        &[
            ("oid", Int4),
            ("tgrelid", Int4),
            ("tgparentid", Int4),
            ("tgname", Text),
            ("tgfoid", Int4),
            ("tgtype", Int2),
            ("tgenabled", Text),
            ("tgisinternal", Bool),
            ("tgconstrrelid", Int4),
            ("tgconstrindid", Int4),
            ("tgconstraint", Int4),
            ("tgdeferrable", Bool),
            ("tginitdeferred", Bool),
            ("tgnargs", Int2),
            ("tgattr", INT2_ARRAY),
            ("tgargs", DataType::Bytea),
            ("tgqual", Text),
            ("tgoldtable", Text),
            ("tgnewtable", Text),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_policy",
        3256,
        Kind::Table,
        &[
            ("oid", Int4),
            ("polname", Text),
            ("polrelid", Int4),
            ("polcmd", Text),
            ("polpermissive", Bool),
            ("polroles", INT4_ARRAY),
            ("polqual", Text),
            ("polwithcheck", Text),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_statistic_ext",
        3381,
        Kind::Table,
        &[
            ("oid", Int4),
            ("stxrelid", Int4),
            ("stxname", Text),
            ("stxnamespace", Int4),
            ("stxowner", Int4),
            ("stxstattarget", Int4),
            ("stxkeys", INT2_ARRAY),
            ("stxkind", TEXT_ARRAY),
            ("stxexprs", Text),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_publication",
        6104,
        Kind::Table,
        &[
            ("oid", Int4),
            ("pubname", Text),
            ("pubowner", Int4),
            ("puballtables", Bool),
            ("pubinsert", Bool),
            ("pubupdate", Bool),
            ("pubdelete", Bool),
            ("pubtruncate", Bool),
            ("pubviaroot", Bool),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_publication_namespace",
        6237,
        Kind::Table,
        &[("oid", Int4), ("pnpubid", Int4), ("pnnspid", Int4)],
    ),
    rel(
        "pg_catalog",
        "pg_publication_rel",
        6106,
        Kind::Table,
        &[
            ("oid", Int4),
            ("prpubid", Int4),
            ("prrelid", Int4),
            ("prqual", Text),
            ("prattrs", INT2_ARRAY),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_roles",
        12001,
        Kind::View,
        &[
            ("rolname", Text),
            ("rolsuper", Bool),
            ("rolinherit", Bool),
            ("rolcreaterole", Bool),
            ("rolcreatedb", Bool),
            ("rolcanlogin", Bool),
            ("rolreplication", Bool),
            ("rolconnlimit", Int4),
            ("rolpassword", Text),
            ("rolvaliduntil", Timestamptz),
            ("rolbypassrls", Bool),
            ("rolconfig", Text),
            ("oid", Int4),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_user",
        12002,
        Kind::View,
        &[
            ("usename", Text),
            ("usesysid", Int4),
            ("usecreatedb", Bool),
            ("usesuper", Bool),
            ("userepl", Bool),
            ("usebypassrls", Bool),
            ("passwd", Text),
            ("valuntil", Timestamptz),
            ("useconfig", Text),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_settings",
        12003,
        Kind::View,
        &[
            ("name", Text),
            ("setting", Text),
            ("unit", Text),
            ("context", Text),
            ("vartype", Text),
            ("source", Text),
            ("boot_val", Text),
            ("reset_val", Text),
            ("pending_restart", Bool),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_stat_activity",
        12004,
        Kind::View,
        &[
            ("datid", Int4),
            ("datname", Text),
            ("pid", Int4),
            ("leader_pid", Int4),
            ("usesysid", Int4),
            ("usename", Text),
            ("application_name", Text),
            ("client_addr", Text),
            ("client_hostname", Text),
            ("client_port", Int4),
            ("backend_start", Timestamptz),
            ("xact_start", Timestamptz),
            ("query_start", Timestamptz),
            ("state_change", Timestamptz),
            ("wait_event_type", Text),
            ("wait_event", Text),
            ("state", Text),
            ("backend_xid", Int8),
            ("backend_xmin", Int8),
            ("query_id", Int8),
            ("query", Text),
            ("backend_type", Text),
        ],
    ),
    rel(
        "pg_catalog",
        "pg_locks",
        12005,
        Kind::View,
        &[
            ("locktype", Text),
            ("database", Int4),
            ("relation", Int4),
            ("page", Int4),
            ("tuple", Int2),
            ("virtualxid", Text),
            ("transactionid", Int8),
            ("classid", Int4),
            ("objid", Int4),
            ("objsubid", Int2),
            ("virtualtransaction", Text),
            ("pid", Int4),
            ("mode", Text),
            ("granted", Bool),
            ("fastpath", Bool),
            ("waitstart", Timestamptz),
        ],
    ),
    rel(
        "information_schema",
        "tables",
        12006,
        Kind::View,
        &[
            ("table_catalog", Text),
            ("table_schema", Text),
            ("table_name", Text),
            ("table_type", Text),
            ("is_insertable_into", Text),
            ("is_typed", Text),
            ("commit_action", Text),
        ],
    ),
    rel(
        "information_schema",
        "columns",
        12007,
        Kind::View,
        &[
            ("table_catalog", Text),
            ("table_schema", Text),
            ("table_name", Text),
            ("column_name", Text),
            ("ordinal_position", Int4),
            ("column_default", Text),
            ("is_nullable", Text),
            ("data_type", Text),
            ("character_maximum_length", Int4),
            ("numeric_precision", Int4),
            ("numeric_precision_radix", Int4),
            ("numeric_scale", Int4),
            ("datetime_precision", Int4),
            ("udt_name", Text),
            ("is_identity", Text),
            ("identity_generation", Text),
            ("is_generated", Text),
            ("is_updatable", Text),
        ],
    ),
];

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
    pub own: &'a HashSet<Xid>,
    pub cid: u32,
}

/// A relation as the catalog relations list it: user tables, indexes and
/// sequences, and the system relations themselves.
struct RelEntry {
    namespace: i32,
    schema: &'static str,
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
    }
}

/// `information_schema.columns.data_type`: the type name without modifiers.
fn sql_type_name(ty: &DataType) -> &'static str {
    match ty {
        DataType::Bool => "boolean",
        DataType::Int2 => "smallint",
        DataType::Int4 => "integer",
        DataType::Int8 => "bigint",
        DataType::Float4 => "real",
        DataType::Float8 => "double precision",
        DataType::Numeric(_) => "numeric",
        DataType::Text => "text",
        DataType::Varchar(_) => "character varying",
        DataType::Char(_) => "character",
        DataType::Bytea => "bytea",
        DataType::Date => "date",
        DataType::Timestamp => "timestamp without time zone",
        DataType::Timestamptz => "timestamp with time zone",
        DataType::Interval => "interval",
        DataType::Uuid => "uuid",
        DataType::Jsonb => "jsonb",
        DataType::Vector(_) => "USER-DEFINED",
        DataType::Array(_) => "ARRAY",
        DataType::Reg(k) => k.type_name(),
        DataType::Unknown => "unknown",
    }
}

fn snapshot_xmin(s: &Snapshot) -> Xid {
    s.in_progress
        .iter()
        .copied()
        .min()
        .unwrap_or(s.xmax)
        .min(s.xmax)
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
            "pg_settings" => self.pg_settings(vp.sid)?,
            "pg_type" => pg_type(),
            "pg_namespace" => pg_namespace(),
            "pg_database" => vec![vec![
                oid(DATABASE_OID),
                text(&self.config.database_name),
                Value::Int4(SUPERUSER_OID),
                Value::Int4(6), // UTF8
                text("c"),
                Value::Bool(false),
                Value::Bool(true),
                Value::Int4(-1),
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
            "tables" => self.information_schema_tables(vp)?,
            "columns" => self.information_schema_columns(vp)?,
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

    /// The top-level xid of session `sid`'s transaction, if it has one:
    /// its first xid that is not rolled back.
    fn top_xid(&self, sid: SessionId) -> Option<Xid> {
        self.txns.get(sid)?.top_xid()
    }

    fn pg_stat_activity(&self, vp: &Viewpoint) -> Vec<Vec<Value>> {
        let mut rows = Vec::new();
        for sid in self.session_ids() {
            let s = &self.sessions[&sid];
            let txn = self.txns.get(sid);
            let waiting = self.txns.waiting_for(sid).is_some();
            // A session with a submitted string still running is active:
            // the one binding this statement, parked ones, and those whose
            // statement is in progress further up the call stack (e.g. a
            // COMMIT waking the session that reads this).
            let state = if s.pending.is_some() {
                "active"
            } else {
                match txn {
                    Some(t) if t.failed => "idle in transaction (aborted)",
                    Some(_) => "idle in transaction",
                    None => "idle",
                }
            };
            let xmin = if sid == vp.sid {
                Some(snapshot_xmin(vp.snapshot))
            } else {
                let parked = self.txns.parked_snapshot(sid);
                txn.and_then(|t| t.snapshot.as_ref())
                    .or(parked)
                    .map(snapshot_xmin)
            };
            let app = s.settings.other.get("application_name");
            rows.push(vec![
                oid(DATABASE_OID),
                text(&self.config.database_name),
                Value::Int4(sid as i32),
                Value::Null,
                Value::Int4(SUPERUSER_OID),
                text(USER_NAME),
                text(app.map_or("", |a| a.as_str())),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Timestamptz(s.activity.backend_start),
                timestamptz(txn.map(|t| t.start_time)),
                timestamptz(s.activity.query_start),
                Value::Timestamptz(s.activity.state_change),
                opt_text(waiting.then_some("Lock")),
                opt_text(waiting.then_some("transactionid")),
                text(state),
                opt_i64(self.top_xid(sid)),
                opt_i64(xmin),
                Value::Null,
                text(&s.activity.query),
                text("client backend"),
            ]);
        }
        rows
    }

    fn pg_locks(&self) -> Vec<Vec<Value>> {
        // Live xids by owner, in assignment order.
        let mut xids_of: HashMap<SessionId, Vec<Xid>> = HashMap::new();
        for (x, owner) in self.txns.running_xids() {
            xids_of.entry(owner).or_default().push(x);
        }
        let mut rows = Vec::new();
        for sid in self.session_ids() {
            let s = &self.sessions[&sid];
            let Some(t) = self.txns.get(sid) else {
                continue;
            };
            let vxid = format!("{sid}/{}", s.activity.local_xact);
            let row = |locktype: &str,
                       relation: Option<Oid>,
                       virtualxid: Option<&str>,
                       xid: Option<Xid>,
                       mode: &str,
                       granted: bool,
                       fastpath: bool,
                       waitstart: Option<i64>| {
                vec![
                    text(locktype),
                    relation.map_or(Value::Null, |_| oid(DATABASE_OID)),
                    relation.map_or(Value::Null, oid),
                    Value::Null,
                    Value::Null,
                    opt_text(virtualxid),
                    opt_i64(xid),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    text(&vxid),
                    Value::Int4(sid as i32),
                    text(mode),
                    Value::Bool(granted),
                    Value::Bool(fastpath),
                    timestamptz(waitstart),
                ]
            };
            // Every transaction holds its virtual xid.
            rows.push(row(
                "virtualxid",
                None,
                Some(&vxid),
                None,
                "ExclusiveLock",
                true,
                true,
                None,
            ));
            for (o, mode) in self.txns.relation_locks(sid) {
                rows.push(row(
                    "relation",
                    Some(o),
                    None,
                    None,
                    mode.name(),
                    true,
                    false,
                    None,
                ));
            }
            let mut own: Vec<Xid> = xids_of.remove(&sid).unwrap_or_default();
            own.sort_unstable();
            debug_assert!(own.iter().all(|x| t.owns(*x)));
            for x in own {
                rows.push(row(
                    "transactionid",
                    None,
                    None,
                    Some(x),
                    "ExclusiveLock",
                    true,
                    false,
                    None,
                ));
            }
            // A parked session waits for the holder's transaction to end,
            // as PostgreSQL's row-lock waits do (ShareLock on its xid).
            if let Some(holder) = self.txns.waiting_for(sid) {
                rows.push(row(
                    "transactionid",
                    None,
                    None,
                    self.top_xid(holder),
                    "ShareLock",
                    false,
                    false,
                    s.activity.wait_start,
                ));
            }
        }
        rows
    }

    fn pg_settings(&self, sid: SessionId) -> Result<Vec<Vec<Value>>> {
        // (name, context, vartype, boot value); the values come from SHOW.
        const KNOWN: &[(&str, &str, &str, &str)] = &[
            ("application_name", "user", "string", ""),
            ("client_encoding", "user", "string", "UTF8"),
            ("DateStyle", "user", "string", "ISO, MDY"),
            (
                "default_transaction_isolation",
                "user",
                "enum",
                "read committed",
            ),
            (
                "idle_in_transaction_session_timeout",
                "user",
                "integer",
                "0",
            ),
            ("integer_datetimes", "internal", "bool", "on"),
            ("lock_timeout", "user", "integer", "0"),
            ("search_path", "user", "string", "\"$user\", public"),
            ("server_encoding", "internal", "string", "UTF8"),
            ("server_version", "internal", "string", SERVER_VERSION),
            ("server_version_num", "internal", "integer", "150000"),
            ("standard_conforming_strings", "user", "bool", "on"),
            ("statement_timeout", "user", "integer", "0"),
            ("synchronous_commit", "user", "enum", "on"),
            ("TimeZone", "user", "string", "UTC"),
            ("transaction_isolation", "user", "enum", "read committed"),
            ("transaction_read_only", "user", "bool", "off"),
        ];
        let mut names: Vec<(String, &str, &str, &str)> = KNOWN
            .iter()
            .map(|&(n, c, t, b)| (n.to_string(), c, t, b))
            .collect();
        let others = self
            .sessions
            .get(&sid)
            .map(|s| s.settings.other.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        for n in others {
            if !names.iter().any(|(k, ..)| k.eq_ignore_ascii_case(&n)) {
                names.push((n, "user", "string", ""));
            }
        }
        names.sort_by_key(|(n, ..)| n.to_lowercase());
        let mut rows = Vec::new();
        for (name, context, vartype, boot) in names {
            let setting = self.show_variable(sid, &name)?;
            let source = if setting == boot {
                "default"
            } else {
                "session"
            };
            rows.push(vec![
                text(&name),
                text(&setting),
                Value::Null,
                text(context),
                text(vartype),
                text(source),
                text(boot),
                text(boot),
                Value::Bool(false),
            ]);
        }
        Ok(rows)
    }

    /// Catalog objects visible to the statement, by OID.
    fn visible_objects(&mut self, vp: &Viewpoint) -> Result<Vec<std::rc::Rc<Object>>> {
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
                schema: r.schema,
                kind: if r.kind == Kind::View { 'v' } else { 'r' },
                am: if r.kind == Kind::View { 0 } else { HEAP_AM },
                def: TableDef {
                    oid: r.oid,
                    name: r.name.to_string(),
                    columns: r.column_types().map(|(n, t)| column(n, t)).collect(),
                    heap: 0,
                    checks: Vec::new(),
                    foreign_keys: Vec::new(),
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
                        columns,
                        heap: 0,
                        checks: Vec::new(),
                        foreign_keys: Vec::new(),
                    };
                    ('i', def, index_am_oid(i.method))
                }
                Object::Sequence(s) => {
                    let def = TableDef {
                        oid: s.oid,
                        name: s.name.clone(),
                        columns: vec![
                            column("last_value", Int8),
                            column("log_cnt", Int8),
                            column("is_called", Bool),
                        ],
                        heap: 0,
                        checks: Vec::new(),
                        foreign_keys: Vec::new(),
                    };
                    ('S', def, 0)
                }
            };
            out.push(RelEntry {
                namespace: PUBLIC_NS,
                schema: "public",
                kind,
                def,
                view: false,
                am,
            });
        }
        Ok(out)
    }

    fn pg_class(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
        let objects = self.visible_objects(vp)?;
        let has_index = |t: Oid| {
            objects
                .iter()
                .any(|o| matches!(&**o, Object::Index(i) if i.table == t))
        };
        // PostgreSQL implements foreign keys with triggers on both tables.
        let has_triggers = |t: Oid| {
            objects.iter().any(|o| match &**o {
                Object::Table(x) => {
                    (x.oid == t && !x.foreign_keys.is_empty())
                        || x.foreign_keys.iter().any(|fk| fk.ref_table == t)
                }
                _ => false,
            })
        };
        let mut rows = Vec::new();
        for r in self.relations(vp)? {
            let d = &r.def;
            let am = r.am;
            let stored = r.namespace == PUBLIC_NS;
            rows.push(vec![
                oid(d.oid),
                text(&d.name),
                Value::Int4(r.namespace),
                Value::Int4(0),
                Value::Int4(0),
                Value::Int4(SUPERUSER_OID),
                Value::Int4(am),
                Value::Int4(if stored { d.oid as i32 } else { 0 }),
                Value::Int4(0),
                Value::Int4(0),
                // Never analyzed (we keep no statistics), as PostgreSQL says.
                Value::Float4(-1.0),
                Value::Int4(0),
                Value::Int4(0),
                Value::Bool(stored && has_index(d.oid)),
                Value::Bool(false),
                text("p"),
                Value::Text(r.kind.to_string()),
                Value::Int2(d.columns.len() as i16),
                Value::Int2(d.checks.len() as i16),
                Value::Bool(false),
                Value::Bool(stored && r.kind == 'r' && has_triggers(d.oid)),
                Value::Bool(false),
                Value::Bool(false),
                Value::Bool(false),
                Value::Bool(true),
                text(if r.kind == 'r' && !r.view { "d" } else { "n" }),
                Value::Bool(false),
                Value::Int4(0),
                Value::Null,
                Value::Null,
                Value::Null,
            ]);
        }
        Ok(rows)
    }

    fn pg_attribute(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
        let mut rows = Vec::new();
        for r in self.relations(vp)? {
            for (i, c) in r.def.columns.iter().enumerate() {
                let num = i as i16 + 1;
                // PostgreSQL renames dropped columns and forgets their type.
                let (name, ty_oid) = if c.dropped {
                    (format!("........pg.dropped.{num}........"), 0)
                } else {
                    (c.name.clone(), c.ty.oid())
                };
                let info = type_info(c.ty.oid());
                let identity = match c.identity {
                    Some(IdentityKind::Always) => "a",
                    Some(IdentityKind::ByDefault) if r.kind == 'r' => "d",
                    _ => "",
                };
                rows.push(vec![
                    oid(r.def.oid),
                    Value::Text(name),
                    oid(ty_oid),
                    Value::Int4(-1),
                    Value::Int2(info.map_or(-1, |t| t.len)),
                    Value::Int2(num),
                    Value::Int4(i32::from(matches!(c.ty, DataType::Array(_)))),
                    Value::Int4(c.ty.typmod()),
                    Value::Bool(info.is_some_and(|t| t.byval)),
                    Value::Bool(c.not_null),
                    Value::Bool(has_default(r.kind, c)),
                    Value::Bool(false),
                    text(identity),
                    text(""),
                    Value::Bool(c.dropped),
                    Value::Bool(true),
                    Value::Int4(0),
                    Value::Int4(if c.ty.is_string() {
                        DEFAULT_COLLATION
                    } else {
                        0
                    }),
                ]);
            }
        }
        Ok(rows)
    }

    fn pg_index(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
        let mut rows = Vec::new();
        for o in self.visible_objects(vp)? {
            let Object::Index(i) = &*o else {
                continue;
            };
            let n = i.columns.len() as i16;
            // int2vector's text form: attnums separated by spaces.
            let indkey: Vec<String> = i.columns.iter().map(|c| (c + 1).to_string()).collect();
            // INDOPTION_DESC | INDOPTION_NULLS_FIRST: DESC sorts NULLs first.
            let indoption: Vec<&str> = (0..i.columns.len())
                .map(|k| {
                    if i.desc.get(k) == Some(&true) {
                        "3"
                    } else {
                        "0"
                    }
                })
                .collect();
            rows.push(vec![
                oid(i.oid),
                oid(i.table),
                Value::Int2(n),
                Value::Int2(n),
                Value::Bool(i.unique),
                Value::Bool(false),
                Value::Bool(i.primary),
                Value::Bool(false),
                Value::Bool(true),
                Value::Bool(false),
                Value::Bool(true),
                Value::Bool(false),
                Value::Bool(true),
                Value::Bool(true),
                Value::Bool(false),
                Value::Text(indkey.join(" ")),
                Value::Text(indoption.join(" ")),
                Value::Null,
                Value::Null,
            ]);
        }
        Ok(rows)
    }

    fn information_schema_tables(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
        let db = self.config.database_name.clone();
        Ok(self
            .relations(vp)?
            .into_iter()
            .filter(|r| matches!(r.kind, 'r' | 'v'))
            .map(|r| {
                vec![
                    text(&db),
                    text(r.schema),
                    Value::Text(r.def.name),
                    text(if r.view { "VIEW" } else { "BASE TABLE" }),
                    text(if r.namespace == PUBLIC_NS {
                        "YES"
                    } else {
                        "NO"
                    }),
                    text("NO"),
                    Value::Null,
                ]
            })
            .collect())
    }

    fn information_schema_columns(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
        let db = self.config.database_name.clone();
        let mut rows = Vec::new();
        for r in self.relations(vp)? {
            if !matches!(r.kind, 'r' | 'v') {
                continue;
            }
            let user = r.namespace == PUBLIC_NS;
            for (i, c) in r.def.live_columns() {
                let ty = &c.ty;
                let (precision, radix, scale) = match ty {
                    DataType::Int2 => (Some(16), Some(2), Some(0)),
                    DataType::Int4 => (Some(32), Some(2), Some(0)),
                    DataType::Int8 => (Some(64), Some(2), Some(0)),
                    DataType::Float4 => (Some(24), Some(2), None),
                    DataType::Float8 => (Some(53), Some(2), None),
                    DataType::Numeric(Some((p, s))) => (Some(*p as i32), Some(10), Some(*s as i32)),
                    DataType::Numeric(None) => (None, Some(10), None),
                    _ => (None, None, None),
                };
                let max_len = match ty {
                    DataType::Varchar(Some(n)) | DataType::Char(n) => Some(*n as i32),
                    _ => None,
                };
                let datetime_precision = match ty {
                    DataType::Date => Some(0),
                    DataType::Timestamp | DataType::Timestamptz | DataType::Interval => Some(6),
                    _ => None,
                };
                let udt = match ty {
                    DataType::Vector(_) => "vector",
                    t => type_info(t.oid()).map_or("unknown", |t| t.name),
                };
                let int = |x: Option<i32>| x.map_or(Value::Null, Value::Int4);
                let identity = match c.identity {
                    Some(IdentityKind::Always) => Some("ALWAYS"),
                    // serial columns are plain defaults in PostgreSQL.
                    Some(IdentityKind::ByDefault) if c.default.is_none() => Some("BY DEFAULT"),
                    _ => None,
                };
                rows.push(vec![
                    text(&db),
                    text(r.schema),
                    text(&r.def.name),
                    text(&c.name),
                    Value::Int4(i as i32 + 1),
                    opt_text(c.default.as_deref()),
                    text(if c.not_null { "NO" } else { "YES" }),
                    text(sql_type_name(ty)),
                    int(max_len),
                    int(precision),
                    int(radix),
                    int(scale),
                    int(datetime_precision),
                    text(udt),
                    text(if identity.is_some() { "YES" } else { "NO" }),
                    opt_text(identity),
                    text("NEVER"),
                    text(if user { "YES" } else { "NO" }),
                ]);
            }
        }
        Ok(rows)
    }
}

fn pg_type() -> Vec<Vec<Value>> {
    BUILTIN_TYPES
        .iter()
        .map(|t| {
            let namespace = if t.oid == VECTOR_OID || t.elem == VECTOR_OID {
                PUBLIC_NS // pgvector installs into public
            } else {
                PG_CATALOG_NS
            };
            let preferred = matches!(
                t.name,
                "bool" | "text" | "float8" | "timestamptz" | "interval"
            );
            let collation = matches!(
                t.name,
                "text" | "varchar" | "bpchar" | "_text" | "_varchar" | "_bpchar"
            );
            vec![
                oid(t.oid),
                text(t.name),
                Value::Int4(namespace),
                Value::Int4(SUPERUSER_OID),
                Value::Int2(t.len),
                Value::Bool(t.byval),
                Value::Text(t.kind.to_string()),
                Value::Text(t.category.to_string()),
                Value::Bool(preferred),
                Value::Bool(true),
                text(","),
                Value::Int4(0),
                oid(t.elem),
                oid(t.array),
                text(t.input),
                text(t.output),
                Value::Bool(false),
                Value::Int4(0),
                Value::Int4(-1),
                Value::Int4(0),
                Value::Int4(if collation { DEFAULT_COLLATION } else { 0 }),
                Value::Null,
            ]
        })
        .collect()
}

fn pg_namespace_names() -> [(i32, &'static str); 3] {
    [
        (PG_CATALOG_NS, "pg_catalog"),
        (PUBLIC_NS, "public"),
        (INFORMATION_SCHEMA_NS, "information_schema"),
    ]
}

fn pg_namespace() -> Vec<Vec<Value>> {
    pg_namespace_names()
        .into_iter()
        .map(|(o, n)| {
            vec![
                Value::Int4(o),
                text(n),
                Value::Int4(SUPERUSER_OID),
                Value::Null,
            ]
        })
        .collect()
}

/// PostgreSQL keeps identity columns' sequence out of `pg_attrdef`: only
/// plain defaults (serial's `nextval(...)` included) are defaults there.
fn has_default(kind: char, c: &ColumnDef) -> bool {
    kind == 'r' && c.default.is_some() && c.identity.is_none()
}

fn pg_collation() -> Vec<Vec<Value>> {
    // PostgreSQL 15's built-in rows ('d' = the database default, whose
    // collate/ctype are the database's; 'c' = libc).
    [
        (DEFAULT_COLLATION, "default", "d", None),
        (950, "C", "c", Some("C")),
        (951, "POSIX", "c", Some("POSIX")),
    ]
    .into_iter()
    .map(|(o, name, provider, locale)| {
        vec![
            Value::Int4(o),
            text(name),
            Value::Int4(PG_CATALOG_NS),
            Value::Int4(SUPERUSER_OID),
            text(provider),
            Value::Bool(true),
            Value::Int4(-1),
            opt_text(locale),
            opt_text(locale),
            Value::Null,
            Value::Null,
        ]
    })
    .collect()
}

/// One constraint as `pg_constraint` lists it, with its
/// `pg_get_constraintdef` text.
struct ConstraintRow {
    oid: Oid,
    name: String,
    table: Oid,
    /// 'p', 'u', 'c' or 'f'.
    kind: char,
    deferrable: bool,
    deferred: bool,
    index: Oid,
    ref_table: Oid,
    on_update: char,
    on_delete: char,
    key: Option<Vec<i16>>,
    ref_key: Option<Vec<i16>>,
    bin: Option<String>,
    def: String,
}

fn attnums(cols: &[usize]) -> Vec<i16> {
    cols.iter().map(|&c| c as i16 + 1).collect()
}

fn column_list(t: &TableDef, cols: &[usize]) -> String {
    cols.iter()
        .map(|&c| {
            t.columns
                .get(c)
                .map_or("?".into(), |c| quote_ident(&c.name))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn ref_action_code(a: crate::catalog::RefAction) -> char {
    match a {
        crate::catalog::RefAction::NoAction => 'a',
        crate::catalog::RefAction::Restrict => 'r',
        crate::catalog::RefAction::Cascade => 'c',
        crate::catalog::RefAction::SetNull => 'n',
        crate::catalog::RefAction::SetDefault => 'd',
    }
}

fn ref_action_sql(a: crate::catalog::RefAction) -> Option<&'static str> {
    match a {
        crate::catalog::RefAction::NoAction => None,
        crate::catalog::RefAction::Restrict => Some("RESTRICT"),
        crate::catalog::RefAction::Cascade => Some("CASCADE"),
        crate::catalog::RefAction::SetNull => Some("SET NULL"),
        crate::catalog::RefAction::SetDefault => Some("SET DEFAULT"),
    }
}

/// Every constraint of the visible tables: PRIMARY KEY and UNIQUE (whose
/// OID is their index's: PostgreSQL gives them one of their own, but
/// `pg_constraint` OIDs need only be unique within it), CHECK and FOREIGN
/// KEY. NOT NULL is a column property (`attnotnull`), as in PostgreSQL 15.
fn constraint_rows(objects: &[std::rc::Rc<Object>]) -> Vec<ConstraintRow> {
    let tables: HashMap<Oid, &TableDef> = objects
        .iter()
        .filter_map(|o| match &**o {
            Object::Table(t) => Some((t.oid, t)),
            _ => None,
        })
        .collect();
    let mut rows = Vec::new();
    for o in objects {
        match &**o {
            Object::Index(i) if i.constraint => {
                let Some(t) = tables.get(&i.table) else {
                    continue;
                };
                let what = if i.primary { "PRIMARY KEY" } else { "UNIQUE" };
                rows.push(ConstraintRow {
                    oid: i.oid,
                    name: i.name.clone(),
                    table: i.table,
                    kind: if i.primary { 'p' } else { 'u' },
                    deferrable: false,
                    deferred: false,
                    index: i.oid,
                    ref_table: 0,
                    on_update: ' ',
                    on_delete: ' ',
                    key: Some(attnums(&i.columns)),
                    ref_key: None,
                    bin: None,
                    def: format!("{what} ({})", column_list(t, &i.columns)),
                });
            }
            Object::Table(t) => {
                for c in &t.checks {
                    // conkey: the columns the expression reads.
                    let key = crate::sql::parse::translate::parse_expr(&c.expr)
                        .ok()
                        .map(|e| {
                            let mut names = Vec::new();
                            super::ddl::collect_columns(&e, &mut names);
                            let mut nums: Vec<i16> = names
                                .iter()
                                .filter_map(|n| t.column(n).map(|i| i as i16 + 1))
                                .collect();
                            nums.sort_unstable();
                            nums
                        });
                    rows.push(ConstraintRow {
                        oid: c.oid,
                        name: c.name.clone(),
                        table: t.oid,
                        kind: 'c',
                        deferrable: false,
                        deferred: false,
                        index: 0,
                        ref_table: 0,
                        on_update: ' ',
                        on_delete: ' ',
                        key,
                        ref_key: None,
                        bin: Some(c.expr.clone()),
                        def: format!("CHECK ({})", c.expr),
                    });
                }
                for fk in &t.foreign_keys {
                    let referenced = tables.get(&fk.ref_table).copied();
                    // The unique index the reference relies on.
                    let mut want = fk.ref_columns.clone();
                    want.sort_unstable();
                    let index = objects
                        .iter()
                        .find_map(|x| match &**x {
                            Object::Index(i) if i.table == fk.ref_table && i.unique => {
                                let mut cols = i.columns.clone();
                                cols.sort_unstable();
                                (cols == want).then_some(i.oid)
                            }
                            _ => None,
                        })
                        .unwrap_or(0);
                    let mut def = format!(
                        "FOREIGN KEY ({}) REFERENCES {}({})",
                        column_list(t, &fk.columns),
                        quote_ident(referenced.map_or("?", |r| r.name.as_str())),
                        referenced.map_or_else(String::new, |r| column_list(r, &fk.ref_columns)),
                    );
                    if let Some(a) = ref_action_sql(fk.on_update) {
                        def.push_str(&format!(" ON UPDATE {a}"));
                    }
                    if let Some(a) = ref_action_sql(fk.on_delete) {
                        def.push_str(&format!(" ON DELETE {a}"));
                    }
                    if fk.deferrable {
                        def.push_str(" DEFERRABLE");
                    }
                    if fk.initially_deferred {
                        def.push_str(" INITIALLY DEFERRED");
                    }
                    rows.push(ConstraintRow {
                        oid: fk.oid,
                        name: fk.name.clone(),
                        table: t.oid,
                        kind: 'f',
                        deferrable: fk.deferrable,
                        deferred: fk.initially_deferred,
                        index,
                        ref_table: fk.ref_table,
                        on_update: ref_action_code(fk.on_update),
                        on_delete: ref_action_code(fk.on_delete),
                        key: Some(attnums(&fk.columns)),
                        ref_key: Some(attnums(&fk.ref_columns)),
                        bin: None,
                        def,
                    });
                }
            }
            _ => {}
        }
    }
    rows.sort_by_key(|r| r.oid);
    rows
}

/// `pg_get_indexdef`'s text: `CREATE [UNIQUE] INDEX name ON public.t
/// USING btree (a, b DESC)`.
fn index_text(i: &IndexDef, t: &TableDef) -> IndexText {
    let columns: Vec<String> = i
        .columns
        .iter()
        .map(|&c| {
            t.columns
                .get(c)
                .map_or("?".into(), |c| quote_ident(&c.name))
        })
        .collect();
    let keys: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(k, c)| {
            // DESC implies NULLS FIRST, PostgreSQL's default for DESC.
            if i.desc.get(k) == Some(&true) {
                format!("{c} DESC")
            } else {
                c.clone()
            }
        })
        .collect();
    IndexText {
        head: format!(
            "CREATE {}INDEX {} ON ",
            if i.unique { "UNIQUE " } else { "" },
            quote_ident(&i.name)
        ),
        table: quote_ident(&t.name),
        namespace: "public".into(),
        tail: format!(" USING {} ({})", i.method.name(), keys.join(", ")),
        columns,
    }
}

/// `regtype`'s output name of a built-in type (`format_type` without a
/// type modifier).
fn regtype_name(t: &crate::value::types::TypeInfo) -> String {
    match t.oid {
        1042 => "character".into(),
        1014 => "character[]".into(),
        oid => from_oid_typmod(oid, -1).map_or_else(|| t.name.to_string(), |ty| ty.to_string()),
    }
}

impl Engine {
    fn pg_attrdef(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
        let mut rows = Vec::new();
        for o in self.visible_objects(vp)? {
            let Object::Table(t) = &*o else {
                continue;
            };
            for (i, c) in t.live_columns() {
                if !has_default('r', c) {
                    continue;
                }
                rows.push(vec![
                    // Defaults have no OID of their own here.
                    Value::Int4(0),
                    oid(t.oid),
                    Value::Int2(i as i16 + 1),
                    // PostgreSQL stores a node tree; we keep the SQL text,
                    // which is what pg_get_expr() shows.
                    opt_text(c.default.as_deref()),
                ]);
            }
        }
        Ok(rows)
    }

    fn pg_constraint(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
        let objects = self.visible_objects(vp)?;
        let int2s = |k: &Option<Vec<i16>>| {
            k.as_ref().map_or(Value::Null, |k| {
                Value::Array(k.iter().map(|&n| Value::Int2(n)).collect())
            })
        };
        Ok(constraint_rows(&objects)
            .into_iter()
            .map(|c| {
                vec![
                    oid(c.oid),
                    Value::Text(c.name.clone()),
                    Value::Int4(PUBLIC_NS),
                    Value::Text(c.kind.to_string()),
                    Value::Bool(c.deferrable),
                    Value::Bool(c.deferred),
                    Value::Bool(true),
                    oid(c.table),
                    Value::Int4(0),
                    oid(c.index),
                    Value::Int4(0),
                    oid(c.ref_table),
                    Value::Text(c.on_update.to_string()),
                    Value::Text(c.on_delete.to_string()),
                    Value::Text(if c.kind == 'f' { "s" } else { " " }.into()),
                    Value::Bool(true),
                    Value::Int4(0),
                    Value::Bool(false),
                    int2s(&c.key),
                    int2s(&c.ref_key),
                    Value::Null,
                    opt_text(c.bin.as_deref()),
                ]
            })
            .collect())
    }

    /// What `regclass` casts and the `pg_get_*def` functions read.
    pub(super) fn catalog_info(&mut self, vp: &Viewpoint) -> Result<CatalogInfo> {
        let objects = self.visible_objects(vp)?;
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
                Object::Index(i) => tables.get(&i.table).map(|t| (i.oid, index_text(i, t))),
                _ => None,
            })
            .collect();
        Ok(CatalogInfo {
            relations,
            namespaces: pg_namespace_names()
                .iter()
                .map(|(o, n)| (*o as u32, n.to_string()))
                .collect(),
            types: BUILTIN_TYPES
                .iter()
                .map(|t| (t.oid, regtype_name(t)))
                .collect(),
            type_names: BUILTIN_TYPES
                .iter()
                .map(|t| (t.oid, t.name.to_string()))
                .collect(),
            constraints: constraint_rows(&objects)
                .into_iter()
                .map(|c| (c.oid, c.def))
                .collect(),
            indexes,
        })
    }
}
