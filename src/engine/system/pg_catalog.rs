//! The catalog tables computed from our catalog: `pg_class`,
//! `pg_attribute`, `pg_index`, `pg_constraint`, `pg_attrdef`, `pg_type`,
//! `pg_namespace`, `pg_collation`, and the `pg_get_*def` texts.

use std::collections::HashMap;

use super::{
    oid, opt_text, text, Engine, Result, Viewpoint, BTREE_AM, DEFAULT_COLLATION, HNSW_AM,
    PG_CATALOG_NS, PUBLIC_NS, SUPERUSER_OID,
};
use crate::catalog::{ColumnDef, IdentityKind, IndexDef, IndexMethod, Object, Oid, TableDef};
use crate::sql::functions::catalog::IndexText;
use crate::sql::functions::quote_ident;
use crate::value::types::{
    from_oid_typmod, type_info, DataType, BUILTIN_TYPES, HALFVEC_OID, VECTOR_OID,
};
use crate::value::vector::{ElementFormat, Metric};
use crate::value::Value;

/// `pg_am.oid` of an index access method.
pub(super) fn index_am_oid(method: IndexMethod) -> i32 {
    match method {
        IndexMethod::BTree => BTREE_AM,
        IndexMethod::Hnsw => HNSW_AM,
    }
}

/// PostgreSQL 15's default btree operator classes of our types:
/// OID, name, family, input type.
const BTREE_OPCLASSES: &[(i32, &str, i32, u32)] = &[
    (1978, "int4_ops", 1976, 23),
    (1979, "int2_ops", 1976, 21),
    (1981, "oid_ops", 1989, 26),
    (3122, "date_ops", 434, 1082),
    (3123, "float8_ops", 1970, 701),
    (3124, "int8_ops", 1976, 20),
    (3125, "numeric_ops", 1988, 1700),
    (3126, "text_ops", 1994, 25),
    (3127, "timestamptz_ops", 434, 1184),
    (3128, "timestamp_ops", 434, 1114),
    (10000, "array_ops", 397, 2277),
    (10002, "bit_ops", 423, 1560),
    (10003, "bool_ops", 424, 16),
    (10004, "bpchar_ops", 426, 1042),
    (10006, "bytea_ops", 428, 17),
    (10012, "float4_ops", 1970, 700),
    (10022, "interval_ops", 1982, 1186),
    (10043, "varbit_ops", 2002, 1562),
    (10065, "uuid_ops", 2968, 2950),
    (10088, "jsonb_ops", 4033, 3802),
];

/// pgvector's hnsw operator classes get their OIDs at CREATE EXTENSION;
/// ours are fixed, from this one on in `Metric::OPCLASSES` order.
const HNSW_OPCLASS_BASE: i32 = 16410;

/// `pg_opclass`: the btree classes above (the defaults for their types)
/// and pgvector's hnsw classes (none of which is a default).
pub(super) fn pg_opclass() -> Vec<Vec<Value>> {
    let btree = BTREE_OPCLASSES
        .iter()
        .map(|&(o, name, family, intype)| (o, BTREE_AM, name, family, intype as i32, true));
    let hnsw = Metric::OPCLASSES
        .iter()
        .enumerate()
        .map(|(k, &(name, _, format))| {
            let o = HNSW_OPCLASS_BASE + k as i32;
            let intype = match format {
                ElementFormat::F32 => VECTOR_OID as i32,
                ElementFormat::F16 => HALFVEC_OID as i32,
                ElementFormat::Bit => 1560,
            };
            (o, HNSW_AM, name, o, intype, false)
        });
    btree
        .chain(hnsw)
        .map(|(o, am, name, family, intype, default)| {
            let namespace = if am == HNSW_AM {
                PUBLIC_NS
            } else {
                PG_CATALOG_NS
            };
            vec![
                Value::Int4(o),
                Value::Int4(am),
                text(name),
                Value::Int4(namespace),
                Value::Int4(SUPERUSER_OID),
                Value::Int4(family),
                Value::Int4(intype),
                Value::Bool(default),
                Value::Int4(0),
            ]
        })
        .collect()
}

/// The operator class (`pg_index.indclass`) of an index key of type
/// `ty`: the type's default btree class (varchar's is text_ops, as in
/// PostgreSQL), the hnsw index's class; 0 when not known (an expression
/// key, whose type the catalog does not keep, or a type without one).
fn key_opclass(i: &IndexDef, ty: Option<&DataType>) -> i32 {
    if let Some(h) = &i.hnsw {
        let name = h.metric.opclass(h.format);
        return Metric::OPCLASSES
            .iter()
            .position(|(n, _, _)| *n == name)
            .map_or(0, |k| HNSW_OPCLASS_BASE + k as i32);
    }
    let intype = match ty {
        Some(DataType::Varchar(_) | DataType::Text) => 25,
        Some(DataType::Array(_)) => 2277,
        Some(DataType::Bit(Some(_))) => 1560,
        Some(DataType::Bit(None)) => 1562,
        Some(DataType::Reg(_)) => 26,
        Some(t) => t.oid(),
        None => return 0,
    };
    BTREE_OPCLASSES
        .iter()
        .find(|c| c.3 == intype)
        .map_or(0, |c| c.0)
}

pub(super) fn pg_type() -> Vec<Vec<Value>> {
    BUILTIN_TYPES
        .iter()
        .map(|t| {
            let pgvector = |o| o == VECTOR_OID || o == HALFVEC_OID;
            let namespace = if pgvector(t.oid) || pgvector(t.elem) {
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
                Value::Null,
            ]
        })
        .collect()
}

/// `pg_attribute.attstorage`: PostgreSQL's default storage of the type
/// (`p` plain for fixed-length types, `m` main for numeric, `e` external
/// for pgvector's types, `x` extended for other variable-length ones).
fn attstorage(ty: &DataType) -> &'static str {
    match ty {
        DataType::Numeric(_) => "m",
        DataType::Vector(_) | DataType::HalfVec(_) => "e",
        DataType::Enum(_) => "p",
        t if type_info(t.oid()).is_some_and(|i| i.len > 0) => "p",
        _ => "x",
    }
}

/// `pg_type` rows of the enum types and their array types.
pub(super) fn enum_pg_type_rows(objects: &[std::rc::Rc<Object>]) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for o in objects {
        let Object::Type(t) = &**o else {
            continue;
        };
        let row = |oid_: u32,
                   name: String,
                   len: i16,
                   kind: &str,
                   cat: &str,
                   elem: u32,
                   array: u32,
                   io: (&str, &str)| {
            vec![
                oid(oid_),
                Value::Text(name),
                oid(t.namespace),
                Value::Int4(SUPERUSER_OID),
                Value::Int2(len),
                Value::Bool(len == 4),
                text(kind),
                text(cat),
                Value::Bool(false),
                Value::Bool(true),
                text(","),
                Value::Int4(0),
                oid(elem),
                oid(array),
                text(io.0),
                text(io.1),
                Value::Bool(false),
                Value::Int4(0),
                Value::Int4(-1),
                Value::Int4(0),
                Value::Int4(0),
                Value::Null,
                Value::Null,
            ]
        };
        rows.push(row(
            t.oid,
            t.name.clone(),
            4,
            "e",
            "E",
            0,
            t.array_oid,
            ("enum_in", "enum_out"),
        ));
        rows.push(row(
            t.array_oid,
            format!("_{}", t.name),
            -1,
            "b",
            "A",
            t.oid,
            0,
            ("array_in", "array_out"),
        ));
    }
    rows
}

pub(super) fn pg_namespace(namespaces: &[(Oid, String)]) -> Vec<Vec<Value>> {
    namespaces
        .iter()
        .map(|(o, n)| {
            vec![
                Value::Int4(*o as i32),
                text(n),
                Value::Int4(SUPERUSER_OID),
                Value::Null,
            ]
        })
        .collect()
}

/// PostgreSQL keeps identity columns' sequence out of `pg_attrdef`: only
/// plain defaults (serial's `nextval(...)` included) are defaults there.
pub(super) fn has_default(kind: char, c: &ColumnDef) -> bool {
    kind == 'r' && ((c.default.is_some() && c.identity.is_none()) || c.generated.is_some())
}

pub(super) fn pg_collation() -> Vec<Vec<Value>> {
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
pub(super) struct ConstraintRow {
    pub(super) oid: Oid,
    pub(super) name: String,
    pub(super) table: Oid,
    /// 'p', 'u', 'c' or 'f'.
    pub(super) kind: char,
    pub(super) deferrable: bool,
    pub(super) deferred: bool,
    pub(super) index: Oid,
    pub(super) ref_table: Oid,
    pub(super) on_update: char,
    pub(super) on_delete: char,
    pub(super) key: Option<Vec<i16>>,
    pub(super) ref_key: Option<Vec<i16>>,
    pub(super) bin: Option<String>,
    pub(super) def: String,
}

pub(super) fn attnums(cols: &[usize]) -> Vec<i16> {
    cols.iter().map(|&c| c as i16 + 1).collect()
}

pub(super) fn column_list(t: &TableDef, cols: &[usize]) -> String {
    cols.iter()
        .map(|&c| {
            t.columns
                .get(c)
                .map_or("?".into(), |c| quote_ident(&c.name))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn ref_action_code(a: crate::catalog::RefAction) -> char {
    match a {
        crate::catalog::RefAction::NoAction => 'a',
        crate::catalog::RefAction::Restrict => 'r',
        crate::catalog::RefAction::Cascade => 'c',
        crate::catalog::RefAction::SetNull => 'n',
        crate::catalog::RefAction::SetDefault => 'd',
    }
}

pub(super) fn ref_action_sql(a: crate::catalog::RefAction) -> Option<&'static str> {
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
pub(super) fn constraint_rows(objects: &[std::rc::Rc<Object>]) -> Vec<ConstraintRow> {
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
                let mut def = format!("{what} ({})", column_list(t, &i.columns));
                if i.deferrable {
                    def.push_str(" DEFERRABLE");
                }
                if i.initially_deferred {
                    def.push_str(" INITIALLY DEFERRED");
                }
                rows.push(ConstraintRow {
                    oid: i.oid,
                    name: i.name.clone(),
                    table: i.table,
                    kind: if i.primary { 'p' } else { 'u' },
                    deferrable: i.deferrable,
                    deferred: i.initially_deferred,
                    index: i.oid,
                    ref_table: 0,
                    on_update: ' ',
                    on_delete: ' ',
                    key: Some(attnums(&i.columns)),
                    ref_key: None,
                    bin: None,
                    def,
                });
            }
            Object::Table(t) => {
                for c in &t.checks {
                    // conkey: the columns the expression reads.
                    let key = crate::sql::parse::translate::parse_expr(&c.expr)
                        .ok()
                        .map(|e| {
                            let mut names = Vec::new();
                            crate::engine::ddl::collect_columns(&e, &mut names);
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
                            Object::Index(i)
                                if i.table == fk.ref_table && i.unique && i.is_plain() =>
                            {
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
pub(super) fn index_text(i: &IndexDef, t: &TableDef, namespace: String) -> IndexText {
    let mut sources = i.expressions.iter();
    let columns: Vec<String> = i
        .columns
        .iter()
        .map(|&c| match t.columns.get(c) {
            Some(col) => quote_ident(&col.name),
            None => expression_key_text(sources.next().map_or("?", |s| s.as_str())),
        })
        .collect();
    let keys: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(k, c)| {
            if let Some(h) = &i.hnsw {
                format!("{c} {}", h.metric.opclass(h.format))
            } else if i.desc.get(k) == Some(&true) {
                // DESC implies NULLS FIRST, PostgreSQL's default for DESC.
                format!("{c} DESC")
            } else {
                c.clone()
            }
        })
        .collect();
    // Build options appear as reloptions do; defaults are not stored as
    // given or not, so only non-default values are shown.
    let with = match &i.hnsw {
        Some(h) => {
            let mut opts = Vec::new();
            if h.m != crate::access::hnsw::DEFAULT_M {
                opts.push(format!("m='{}'", h.m));
            }
            if h.ef_construction != crate::access::hnsw::DEFAULT_EF_CONSTRUCTION {
                opts.push(format!("ef_construction='{}'", h.ef_construction));
            }
            if opts.is_empty() {
                String::new()
            } else {
                format!(" WITH ({})", opts.join(", "))
            }
        }
        None => String::new(),
    };
    IndexText {
        head: format!(
            "CREATE {}INDEX {} ON ",
            if i.unique { "UNIQUE " } else { "" },
            quote_ident(&i.name)
        ),
        table: quote_ident(&t.name),
        namespace,
        tail: format!(
            " USING {} ({}){with}{}",
            i.method.name(),
            keys.join(", "),
            i.predicate
                .as_ref()
                .map_or_else(String::new, |p| format!(" WHERE ({p})"))
        ),
        columns,
    }
}

/// A key expression as `pg_get_indexdef` prints it: a function call as
/// is, anything else in parentheses.
fn expression_key_text(source: &str) -> String {
    let call = source.find('(').is_some_and(|open| {
        open > 0
            && source[..open]
                .chars()
                .all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '.')
            && source.ends_with(')')
            && source[open..].chars().filter(|&ch| ch == '(').count()
                == source[open..].chars().filter(|&ch| ch == ')').count()
    });
    if call {
        source.to_string()
    } else {
        format!("({source})")
    }
}

/// `regtype`'s output name of a built-in type (`format_type` without a
/// type modifier).
pub(super) fn regtype_name(t: &crate::value::types::TypeInfo) -> String {
    match t.oid {
        1042 => "character".into(),
        1014 => "character[]".into(),
        oid => from_oid_typmod(oid, -1).map_or_else(|| t.name.to_string(), |ty| ty.to_string()),
    }
}

impl Engine {
    pub(super) fn pg_class(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
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
            let stored = !super::is_system_namespace(r.namespace);
            rows.push(vec![
                oid(d.oid),
                text(&d.name),
                Value::Int4(r.namespace),
                Value::Int4(0),
                Value::Int4(0),
                Value::Int4(SUPERUSER_OID),
                Value::Int4(am),
                Value::Int4(if stored && r.kind != 'v' {
                    d.oid as i32
                } else {
                    0
                }),
                Value::Int4(0),
                Value::Int4(0),
                // Never analyzed (we keep no statistics), as PostgreSQL says.
                Value::Float4(-1.0),
                Value::Int4(0),
                Value::Int4(0),
                Value::Bool(stored && has_index(d.oid)),
                Value::Bool(false),
                text(if crate::catalog::is_temp_namespace(r.namespace as Oid) {
                    "t"
                } else {
                    "p"
                }),
                Value::Text(r.kind.to_string()),
                Value::Int2(d.columns.len() as i16),
                Value::Int2(d.checks.len() as i16),
                // A view is its _RETURN rule.
                Value::Bool(r.kind == 'v'),
                Value::Bool(stored && r.kind == 'r' && has_triggers(d.oid)),
                Value::Bool(false),
                Value::Bool(false),
                Value::Bool(false),
                Value::Bool(true),
                text(if r.kind == 'r' && !r.view { "d" } else { "n" }),
                Value::Bool(false),
                Value::Int4(0),
                Value::Null,
                match d.fillfactor {
                    Some(f) => Value::Array(vec![Value::Text(format!("fillfactor={f}"))]),
                    None => Value::Null,
                },
                Value::Null,
            ]);
        }
        Ok(rows)
    }

    pub(super) fn pg_attribute(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
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
                    text(attstorage(&c.ty)),
                    text(""),
                    Value::Bool(c.not_null),
                    Value::Bool(has_default(r.kind, c)),
                    Value::Bool(false),
                    text(identity),
                    text(if c.generated.is_some() { "s" } else { "" }),
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

    /// `pg_tables`: one row per user table.
    pub(super) fn pg_tables(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
        let objects = self.visible_objects(vp)?;
        let indexed: std::collections::HashSet<Oid> = objects
            .iter()
            .filter_map(|o| match &**o {
                Object::Index(i) => Some(i.table),
                _ => None,
            })
            .collect();
        let mut rows = Vec::new();
        for o in &objects {
            let Object::Table(t) = &**o else {
                continue;
            };
            rows.push(vec![
                Value::Text(super::namespace_name(&objects, t.namespace)),
                Value::Text(t.name.clone()),
                Value::Text(super::USER_NAME.into()),
                Value::Null,
                Value::Bool(indexed.contains(&t.oid)),
                Value::Bool(false),
                Value::Bool(false),
                Value::Bool(false),
            ]);
        }
        Ok(rows)
    }

    /// `pg_rewrite`: a view's `_RETURN` rule (its OID is the view's here;
    /// `ev_action` holds the query's text, not a node tree).
    pub(super) fn pg_rewrite(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
        Ok(self
            .visible_objects(vp)?
            .iter()
            .filter_map(|o| match &**o {
                Object::View(v) => Some(vec![
                    oid(v.oid),
                    text("_RETURN"),
                    oid(v.oid),
                    text("1"),
                    text("O"),
                    Value::Bool(true),
                    text("<>"),
                    text(&v.query),
                ]),
                _ => None,
            })
            .collect())
    }

    /// `pg_views`: one row per user view, with `pg_get_viewdef`'s text.
    pub(super) fn pg_views(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
        let objects = self.visible_objects(vp)?;
        Ok(objects
            .iter()
            .filter_map(|o| match &**o {
                Object::View(v) => Some(vec![
                    text(&super::namespace_name(&objects, v.namespace)),
                    text(&v.name),
                    text(super::USER_NAME),
                    text(&v.query),
                ]),
                _ => None,
            })
            .collect())
    }

    /// `pg_indexes`: one row per index with `pg_get_indexdef`'s text.
    pub(super) fn pg_indexes(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
        let objects = self.visible_objects(vp)?;
        let tables: std::collections::HashMap<Oid, &TableDef> = objects
            .iter()
            .filter_map(|o| match &**o {
                Object::Table(t) => Some((t.oid, t)),
                _ => None,
            })
            .collect();
        let mut rows = Vec::new();
        for o in &objects {
            let Object::Index(i) = &**o else {
                continue;
            };
            let Some(t) = tables.get(&i.table) else {
                continue;
            };
            let text = index_text(i, t, super::namespace_name(&objects, t.namespace));
            rows.push(vec![
                Value::Text(text.namespace.clone()),
                Value::Text(t.name.clone()),
                Value::Text(i.name.clone()),
                Value::Null,
                Value::Text(format!(
                    "{}{}.{}{}",
                    text.head, text.namespace, text.table, text.tail
                )),
            ]);
        }
        Ok(rows)
    }

    pub(super) fn pg_index(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
        let objects = self.visible_objects(vp)?;
        let mut rows = Vec::new();
        for o in &objects {
            let Object::Index(i) = &**o else {
                continue;
            };
            let table = objects.iter().find_map(|t| match &**t {
                Object::Table(t) if t.oid == i.table => Some(t),
                _ => None,
            });
            let key_type = |c: usize| table.and_then(|t| t.columns.get(c)).map(|c| &c.ty);
            let n = i.columns.len() as i16;
            // int2vector and oidvector, as int2[] and oid[] here: attnums
            // (0 for a key expression, whose text is in indexprs), key
            // collations, operator classes, options.
            let indkey = i
                .columns
                .iter()
                .map(|&c| {
                    Value::Int2(if c == crate::catalog::EXPRESSION_KEY {
                        0
                    } else {
                        c as i16 + 1
                    })
                })
                .collect();
            let indcollation = i
                .columns
                .iter()
                .map(|&c| {
                    let collatable = matches!(
                        key_type(c),
                        Some(DataType::Text | DataType::Varchar(_) | DataType::Char(_))
                    );
                    Value::Int4(if collatable { DEFAULT_COLLATION } else { 0 })
                })
                .collect();
            let indclass = i
                .columns
                .iter()
                .map(|&c| Value::Int4(key_opclass(i, key_type(c))))
                .collect();
            // INDOPTION_DESC | INDOPTION_NULLS_FIRST: DESC sorts NULLs
            // first. int2vector's text form (clients split it).
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
                Value::Array(indkey),
                Value::Array(indcollation),
                Value::Array(indclass),
                Value::Text(indoption.join(" ")),
                // pg_node_tree in PostgreSQL; the SQL text here, which is
                // what pg_get_expr answers for it.
                if i.expressions.is_empty() {
                    Value::Null
                } else {
                    Value::Text(i.expressions.join(", "))
                },
                i.predicate.clone().map_or(Value::Null, Value::Text),
            ]);
        }
        Ok(rows)
    }

    /// `pg_sequence`: our sequences are `bigint` ones, except that a
    /// serial or identity column's has its column's type (as PostgreSQL
    /// makes them), with that type's range; no cache, no cycle.
    pub(super) fn pg_sequence(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
        let objects = self.visible_objects(vp)?;
        let mut rows = Vec::new();
        for o in &objects {
            let Object::Sequence(seq) = &**o else {
                continue;
            };
            let owner_type = seq.owned_by.and_then(|(table, col)| {
                objects.iter().find_map(|t| match &**t {
                    Object::Table(t) if t.oid == table => t.columns.get(col).map(|c| c.ty.clone()),
                    _ => None,
                })
            });
            let (typid, max) = match owner_type {
                Some(DataType::Int2) => (21, i64::from(i16::MAX)),
                Some(DataType::Int4) => (23, i64::from(i32::MAX)),
                _ => (20, i64::MAX),
            };
            let (min, max) = if seq.increment < 0 {
                (-max - 1, -1)
            } else {
                (1, max)
            };
            rows.push(vec![
                oid(seq.oid),
                Value::Int4(typid),
                Value::Int8(seq.start),
                Value::Int8(seq.increment),
                Value::Int8(max),
                Value::Int8(min),
                Value::Int8(1),
                Value::Bool(false),
            ]);
        }
        Ok(rows)
    }

    pub(super) fn pg_attrdef(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
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
                    match &c.generated {
                        Some(g) => text(&g.expr),
                        None => opt_text(c.default.as_deref()),
                    },
                ]);
            }
        }
        Ok(rows)
    }

    pub(super) fn pg_constraint(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
        let objects = self.visible_objects(vp)?;
        let int2s = |k: &Option<Vec<i16>>| {
            k.as_ref().map_or(Value::Null, |k| {
                Value::Array(k.iter().map(|&n| Value::Int2(n)).collect())
            })
        };
        Ok(constraint_rows(&objects)
            .into_iter()
            .map(|c| {
                let namespace = objects.iter().find_map(|o| match &**o {
                    Object::Table(t) if t.oid == c.table => Some(t.namespace),
                    _ => None,
                });
                vec![
                    oid(c.oid),
                    Value::Text(c.name.clone()),
                    oid(namespace.unwrap_or(PUBLIC_NS as Oid)),
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
}
