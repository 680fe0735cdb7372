//! `information_schema.tables` and `information_schema.columns`.

use super::{opt_text, text, Engine, Result, Viewpoint, PUBLIC_NS};
use crate::catalog::IdentityKind;
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
        DataType::Jsonb => "jsonb",
        DataType::Vector(_) | DataType::HalfVec(_) => "USER-DEFINED",
        DataType::Bit(_) => "bit",
        DataType::Array(_) => "ARRAY",
        DataType::Reg(k) => k.type_name(),
        DataType::Unknown => "unknown",
    }
}

impl Engine {
    pub(super) fn information_schema_tables(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
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

    pub(super) fn information_schema_columns(&mut self, vp: &Viewpoint) -> Result<Vec<Vec<Value>>> {
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
                    DataType::HalfVec(_) => "halfvec",
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
