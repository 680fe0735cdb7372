//! `information_schema`: tables, columns, schemata, table_constraints,
//! key_column_usage and referential_constraints.

use super::pg_catalog::constraint_rows;
use super::{
    is_system_namespace, namespace_name, namespaces, opt_text, text, Engine, Result, Viewpoint,
    PUBLIC_NS,
};
use std::collections::HashMap;

use super::super::views::updatability;
use crate::catalog::{IdentityKind, Object, TableDef, ViewDef};
use crate::value::types::{type_info, DataType};
use crate::value::Value;

/// `information_schema.columns.data_type`: the type name without modifiers.
pub(super) fn sql_type_name(ty: &DataType) -> &'static str {
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
        DataType::Json => "json",
        DataType::Jsonb => "jsonb",
        DataType::Vector(_) | DataType::HalfVec(_) | DataType::Enum(_) => "USER-DEFINED",
        DataType::Bit(_) => "bit",
        DataType::Array(_) => "ARRAY",
        DataType::Reg(k) => k.type_name(),
        DataType::Unknown => "unknown",
    }
}

impl Engine {
    /// The user views visible to `vp`, by name.
    fn user_views(&mut self, vp: &Viewpoint) -> Result<HashMap<String, ViewDef>> {
        Ok(self
            .visible_objects(vp)?
            .iter()
            .filter_map(|o| match &**o {
                Object::View(v) => Some((v.name.clone(), v.clone())),
                _ => None,
            })
            .collect())
    }

    pub(super) fn information_schema_tables(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
        let db = self.config.database_name.clone();
        let views = self.user_views(vp)?;
        Ok(self
            .relations(vp)?
            .into_iter()
            .filter(|r| matches!(r.kind, 'r' | 'v'))
            .map(|r| {
                let user = !is_system_namespace(r.namespace);
                let insertable = match views.get(&r.def.name) {
                    Some(v) if user => updatability(v, &views, 0).insertable,
                    _ => user && !r.view,
                };
                vec![
                    text(&db),
                    text(&r.schema),
                    Value::Text(r.def.name),
                    text(if r.view { "VIEW" } else { "BASE TABLE" }),
                    text(if insertable { "YES" } else { "NO" }),
                    text("NO"),
                    Value::Null,
                ]
            })
            .collect())
    }

    pub(super) fn information_schema_columns(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
        let db = self.config.database_name.clone();
        let views = self.user_views(vp)?;
        let mut rows = Vec::new();
        for r in self.relations(vp)? {
            if !matches!(r.kind, 'r' | 'v') {
                continue;
            }
            let user = !is_system_namespace(r.namespace);
            let view_columns = match views.get(&r.def.name) {
                Some(v) if user && r.view => Some(updatability(v, &views, 0).columns),
                _ => None,
            };
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
                let udt: std::borrow::Cow<str> = match ty {
                    DataType::Vector(_) => "vector".into(),
                    DataType::HalfVec(_) => "halfvec".into(),
                    DataType::Enum(e) => e.name.clone().into(),
                    DataType::Array(inner) if matches!(**inner, DataType::Enum(_)) => {
                        match &**inner {
                            DataType::Enum(e) => format!("_{}", e.name).into(),
                            _ => "anyarray".into(),
                        }
                    }
                    t => type_info(t.oid()).map_or("unknown", |t| t.name).into(),
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
                    text(&r.schema),
                    text(&r.def.name),
                    text(&c.name),
                    Value::Int4(i as i32 + 1),
                    match &c.generated {
                        Some(_) => Value::Null,
                        None => opt_text(c.default.as_deref()),
                    },
                    text(if c.not_null { "NO" } else { "YES" }),
                    text(sql_type_name(ty)),
                    int(max_len),
                    int(precision),
                    int(radix),
                    int(scale),
                    int(datetime_precision),
                    text(&udt),
                    text(if identity.is_some() { "YES" } else { "NO" }),
                    opt_text(identity),
                    text(if c.generated.is_some() {
                        "ALWAYS"
                    } else {
                        "NEVER"
                    }),
                    opt_text(c.generated.as_ref().map(|g| g.expr.as_str())),
                    text(match &view_columns {
                        Some(cols) if cols.get(i).copied().unwrap_or(false) => "YES",
                        Some(_) => "NO",
                        None if user => "YES",
                        None => "NO",
                    }),
                ]);
            }
        }
        Ok(rows)
    }

    /// `information_schema.views`: the user views, with
    /// `pg_get_viewdef`'s text and whether PostgreSQL would update them
    /// automatically.
    pub(super) fn information_schema_views(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
        let db = self.config.database_name.clone();
        let views = self.user_views(vp)?;
        let objects = self.visible_objects(vp)?;
        let mut list: Vec<&ViewDef> = views.values().collect();
        list.sort_by_key(|v| v.oid);
        Ok(list
            .into_iter()
            .map(|v| {
                let u = updatability(v, &views, 0);
                let yes = |b: bool| text(if b { "YES" } else { "NO" });
                vec![
                    text(&db),
                    text(&namespace_name(&objects, v.namespace)),
                    text(&v.name),
                    text(&v.query),
                    text("NONE"),
                    yes(u.updatable),
                    yes(u.insertable),
                    text("NO"),
                    text("NO"),
                    text("NO"),
                ]
            })
            .collect())
    }

    /// `information_schema.schemata`: the schemas there are.
    pub(super) fn information_schema_schemata(
        &mut self,
        vp: &Viewpoint,
    ) -> Result<Vec<Vec<Value>>> {
        let db = self.config.database_name.clone();
        let mut names: Vec<String> = namespaces(&self.visible_objects(vp)?)
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        names.sort();
        Ok(names
            .into_iter()
            .map(|s| {
                vec![
                    text(&db),
                    text(&s),
                    text("neuraldb"),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                ]
            })
            .collect())
    }

    /// `information_schema.table_constraints`: PRIMARY KEY, UNIQUE, FOREIGN
    /// KEY and CHECK constraints, and (as PostgreSQL 15 lists them) a CHECK
    /// row per NOT NULL column, named `2200_<table oid>_<attnum>_not_null`.
    pub(super) fn information_schema_table_constraints(
        &mut self,
        vp: &Viewpoint,
    ) -> Result<Vec<Vec<Value>>> {
        let db = self.config.database_name.clone();
        let objects = self.visible_objects(vp)?;
        let tables = table_names(&objects);
        let yes_no = |b: bool| text(if b { "YES" } else { "NO" });
        let mut rows = Vec::new();
        for c in constraint_rows(&objects) {
            let Some(table) = tables.get(&c.table) else {
                continue;
            };
            let kind = match c.kind {
                'p' => "PRIMARY KEY",
                'u' => "UNIQUE",
                'f' => "FOREIGN KEY",
                _ => "CHECK",
            };
            let schema = namespace_name(&objects, table.namespace);
            rows.push(vec![
                text(&db),
                text(&schema),
                Value::Text(c.name.clone()),
                text(&db),
                text(&schema),
                Value::Text(table.name.clone()),
                text(kind),
                yes_no(c.deferrable),
                yes_no(c.deferred),
                text("YES"),
                if c.kind == 'u' {
                    text("YES")
                } else {
                    Value::Null
                },
            ]);
        }
        for o in &objects {
            let Object::Table(t) = &**o else {
                continue;
            };
            for (i, _) in t.live_columns().filter(|(_, c)| c.not_null) {
                let schema = namespace_name(&objects, t.namespace);
                rows.push(vec![
                    text(&db),
                    text(&schema),
                    Value::Text(format!("{}_{}_{}_not_null", t.namespace, t.oid, i + 1)),
                    text(&db),
                    text(&schema),
                    Value::Text(t.name.clone()),
                    text("CHECK"),
                    text("NO"),
                    text("NO"),
                    text("YES"),
                    Value::Null,
                ]);
            }
        }
        Ok(rows)
    }

    /// `information_schema.key_column_usage`: the columns of PRIMARY KEY,
    /// UNIQUE and FOREIGN KEY constraints, with a foreign key column's
    /// position in the referenced key.
    pub(super) fn information_schema_key_column_usage(
        &mut self,
        vp: &Viewpoint,
    ) -> Result<Vec<Vec<Value>>> {
        let db = self.config.database_name.clone();
        let objects = self.visible_objects(vp)?;
        let tables = table_names(&objects);
        let mut rows = Vec::new();
        for c in constraint_rows(&objects) {
            let (Some(table), Some(key)) = (tables.get(&c.table), c.key.as_ref()) else {
                continue;
            };
            if c.kind == 'c' {
                continue;
            }
            for (pos, &attnum) in key.iter().enumerate() {
                let Some(col) = table.columns.get((attnum - 1) as usize) else {
                    continue;
                };
                let schema = namespace_name(&objects, table.namespace);
                rows.push(vec![
                    text(&db),
                    text(&schema),
                    Value::Text(c.name.clone()),
                    text(&db),
                    text(&schema),
                    Value::Text(table.name.clone()),
                    Value::Text(col.name.clone()),
                    Value::Int4(pos as i32 + 1),
                    if c.kind == 'f' {
                        Value::Int4(pos as i32 + 1)
                    } else {
                        Value::Null
                    },
                ]);
            }
        }
        Ok(rows)
    }

    /// `information_schema.referential_constraints`: each foreign key with
    /// the unique constraint it references and its actions.
    pub(super) fn information_schema_referential_constraints(
        &mut self,
        vp: &Viewpoint,
    ) -> Result<Vec<Vec<Value>>> {
        let db = self.config.database_name.clone();
        let objects = self.visible_objects(vp)?;
        let all = constraint_rows(&objects);
        let tables = table_names(&objects);
        let schema_of = |table: crate::catalog::Oid| {
            let ns = tables.get(&table).map_or(PUBLIC_NS as u32, |t| t.namespace);
            text(&namespace_name(&objects, ns))
        };
        let rule = |a: char| {
            text(match a {
                'r' => "RESTRICT",
                'c' => "CASCADE",
                'n' => "SET NULL",
                'd' => "SET DEFAULT",
                _ => "NO ACTION",
            })
        };
        Ok(all
            .iter()
            .filter(|c| c.kind == 'f')
            .map(|f| {
                let unique = all.iter().find(|u| {
                    matches!(u.kind, 'p' | 'u') && u.table == f.ref_table && u.key == f.ref_key
                });
                vec![
                    text(&db),
                    schema_of(f.table),
                    Value::Text(f.name.clone()),
                    text(&db),
                    schema_of(f.ref_table),
                    unique.map_or(Value::Null, |u| Value::Text(u.name.clone())),
                    text("NONE"),
                    rule(f.on_update),
                    rule(f.on_delete),
                ]
            })
            .collect())
    }
}

/// Tables by OID.
fn table_names(
    objects: &[std::rc::Rc<Object>],
) -> std::collections::HashMap<crate::catalog::Oid, TableDef> {
    objects
        .iter()
        .filter_map(|o| match &**o {
            Object::Table(t) => Some((t.oid, t.clone())),
            _ => None,
        })
        .collect()
}
