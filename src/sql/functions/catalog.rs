//! Casts and functions that read the catalog: the OID alias types
//! (`regclass`, `regtype`, `regnamespace`) and `pg_get_indexdef`,
//! `pg_get_constraintdef`, `pg_relation_is_publishable`...
//!
//! The executor has no catalog at hand, so the binder fetches a
//! [`CatalogInfo`] (names and definitions of every object visible to the
//! statement, computed by the engine from its catalog at the statement's
//! snapshot) the first time a statement needs one, and the bound
//! expression carries it (`BExpr::CatalogFunc`). A statement thus sees one
//! consistent catalog, as it does for the system relations.

use std::collections::HashMap;

use crate::error::{SqlError, SqlState};
use crate::sql::functions::quote_ident;
use crate::sql::parse::translate::parse_type_name;
use crate::value::types::{DataType, RegKind};
use crate::value::Value;

/// The schemas on the search path: objects in them print unqualified.
pub const PG_CATALOG_NAMESPACE: u32 = 11;
pub const PUBLIC_NAMESPACE: u32 = 2200;

/// One relation (table, index, sequence, system relation).
#[derive(Clone, Debug)]
pub struct RelName {
    pub oid: u32,
    pub name: String,
    pub namespace: u32,
    /// `pg_class.relkind`.
    pub kind: char,
}

/// One index: its `CREATE INDEX` text and its key columns' names.
#[derive(Clone, Debug)]
pub struct IndexText {
    /// `CREATE [UNIQUE] INDEX name ON `.
    pub head: String,
    /// The table's name (quoted as needed), schema-qualified unless
    /// pretty-printing.
    pub table: String,
    pub namespace: String,
    /// ` USING btree (a, b DESC)`.
    pub tail: String,
    pub columns: Vec<String>,
}

/// What the catalog functions know, for one statement.
#[derive(Clone, Debug, Default)]
pub struct CatalogInfo {
    pub relations: Vec<RelName>,
    pub namespaces: Vec<(u32, String)>,
    /// The session's search path: the schemas that exist, in order
    /// (`pg_catalog`, searched first implicitly, not among them).
    pub search_path: Vec<u32>,
    /// Type OID → `regtype` output (`format_type`'s name, e.g. `integer`).
    pub types: Vec<(u32, String)>,
    /// Type OID → `typname` (`int4`), which `regtype` input accepts too.
    pub type_names: Vec<(u32, String)>,
    /// Type OID → its schema, for the types outside `pg_catalog` (enum
    /// types and their array types).
    pub type_namespaces: HashMap<u32, u32>,
    /// Constraint OID → `pg_get_constraintdef` text.
    pub constraints: HashMap<u32, String>,
    /// Index OID → definition.
    pub indexes: HashMap<u32, IndexText>,
    /// `pg_description`: (object OID, catalog OID, column) → comment.
    pub comments: HashMap<(u32, u32, i32), String>,
    /// View OID → `pg_get_viewdef` text: (plain, pretty).
    pub views: HashMap<u32, (String, String)>,
    /// Stored expression text (`pg_attrdef.adbin` of generated columns)
    /// → what `pg_get_expr(..., true)` prints for it, where that differs.
    pub pretty_exprs: HashMap<String, String>,
    /// Relation OID → where its pages are (`pg_relation_size` & co.).
    pub storage: HashMap<u32, crate::sql::functions::size::RelStorage>,
    /// The database's OID and name (`pg_database_size`).
    pub database: (u32, String),
}

/// The catalog functions the binder routes here, with their result types;
/// `None` for other names or argument counts.
pub fn return_type(name: &str, nargs: usize) -> Option<DataType> {
    Some(match (name, nargs) {
        ("pg_get_indexdef", 1 | 3)
        | ("pg_get_constraintdef", 1 | 2)
        | ("pg_get_triggerdef", 1 | 2)
        | ("pg_get_statisticsobjdef_columns", 1) => DataType::Text,
        ("pg_relation_is_publishable" | "pg_table_is_visible", 1) => DataType::Bool,
        // Here rather than with the other type functions: enum types are
        // catalog objects.
        ("format_type", 2) => DataType::Text,
        ("obj_description", 1 | 2) | ("col_description", 2) => DataType::Text,
        ("pg_get_viewdef", 1 | 2) | ("pg_get_expr", 2 | 3) | ("pg_get_ruledef", 1 | 2) => {
            DataType::Text
        }
        // Sizes read the pages, evaluated with the pager at hand
        // (`crate::sql::functions::size`).
        ("pg_relation_size", 1 | 2)
        | ("pg_table_size", 1)
        | ("pg_indexes_size", 1)
        | ("pg_total_relation_size", 1)
        | ("pg_database_size", 1) => DataType::Int8,
        _ => return None,
    })
}

/// The argument types of catalog function `name` (untyped literals and
/// parameters are read as these).
pub fn arg_type(name: &str, i: usize) -> DataType {
    match (name, i) {
        ("pg_get_indexdef", 1) | ("format_type", 1) | ("col_description", 1) => DataType::Int4,
        ("obj_description", 1) => DataType::Text,
        ("pg_relation_is_publishable", 0) => DataType::Reg(RegKind::Class),
        // An OID, or (text) a view's name.
        ("pg_get_viewdef", 0) => DataType::Unknown,
        ("pg_get_expr", 0) => DataType::Text,
        ("pg_get_expr", 1) => DataType::Int8,
        (
            "pg_relation_size" | "pg_table_size" | "pg_indexes_size" | "pg_total_relation_size",
            0,
        ) => DataType::Reg(RegKind::Class),
        ("pg_relation_size", 1) => DataType::Text,
        // A name or an OID.
        ("pg_database_size", 0) => DataType::Unknown,
        (_, 0) => DataType::Int8,
        _ => DataType::Bool,
    }
}

impl CatalogInfo {
    /// `format_type(oid, typmod)`: a NULL typmod is -1; `-` for OID 0,
    /// `???` for an OID that is no type (as PostgreSQL prints them).
    fn format_type(&self, oid: &Value, typmod: &Value) -> Result<Value, SqlError> {
        if oid.is_null() {
            return Ok(Value::Null);
        }
        let oid = oid_arg(oid)?;
        let typmod = match typmod {
            Value::Int2(m) => i32::from(*m),
            Value::Int4(m) => *m,
            Value::Int8(m) => i32::try_from(*m).unwrap_or(-1),
            _ => -1,
        };
        if let Some(t) = crate::value::types::from_oid_typmod(oid, typmod) {
            return Ok(Value::Text(t.to_string()));
        }
        Ok(Value::Text(
            match self.types.iter().find(|(o, _)| *o == oid) {
                Some((_, name)) => name.clone(),
                None if oid == 0 => "-".into(),
                None => "???".into(),
            },
        ))
    }

    fn relation(&self, oid: u32) -> Option<&RelName> {
        self.relations.iter().find(|r| r.oid == oid)
    }

    /// Whether relation `r` is what its unqualified name finds (so it
    /// prints unqualified), as PostgreSQL's `RelationIsVisible`.
    fn visible(&self, r: &RelName) -> bool {
        std::iter::once(&PG_CATALOG_NAMESPACE)
            .chain(&self.search_path)
            .find_map(|&ns| {
                self.relations
                    .iter()
                    .find(|x| x.namespace == ns && x.name == r.name)
            })
            .is_some_and(|x| x.oid == r.oid)
    }

    fn namespace(&self, oid: u32) -> Option<&str> {
        self.namespaces
            .iter()
            .find(|(o, _)| *o == oid)
            .map(|(_, n)| n.as_str())
    }

    /// The text form of OID `oid` as type `kind`: the object's name,
    /// quoted as needed and schema-qualified when its schema is not on
    /// the search path; `-` for 0; the number for an unknown OID (as
    /// PostgreSQL prints them).
    pub fn reg_name(&self, kind: RegKind, oid: u32) -> String {
        if oid == 0 {
            return "-".into();
        }
        let found = match kind {
            RegKind::Class => self.relation(oid).map(|r| {
                let name = quote_ident(&r.name);
                if self.visible(r) {
                    name
                } else {
                    let nsp = self.namespace(r.namespace).unwrap_or("?");
                    format!("{}.{name}", quote_ident(nsp))
                }
            }),
            RegKind::Type => self
                .types
                .iter()
                .find(|(o, _)| *o == oid)
                .map(|(_, n)| n.clone()),
            RegKind::Namespace => self.namespace(oid).map(quote_ident),
        };
        found.unwrap_or_else(|| oid.to_string())
    }

    /// A value of type `kind` from an OID.
    pub fn reg_from_oid(&self, kind: RegKind, oid: i64) -> Result<Value, SqlError> {
        let oid = u32::try_from(oid).map_err(|_| {
            SqlError::new(
                SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
                format!("OID out of range: {oid}"),
            )
        })?;
        Ok(Value::Reg(kind, oid, self.reg_name(kind, oid).into()))
    }

    /// `regclass`/`regtype`/`regnamespace` input: a (possibly qualified,
    /// possibly quoted) name, or an OID written as digits.
    pub fn reg_from_text(&self, kind: RegKind, input: &str) -> Result<Value, SqlError> {
        self.reg_lookup(kind, input, true)
    }

    /// A `text` value cast to `kind`. PostgreSQL's `text::regclass` only
    /// looks names up (`'16384'::text::regclass` is a relation named
    /// 16384); the other types go through their input function.
    pub fn reg_from_text_value(&self, kind: RegKind, input: &str) -> Result<Value, SqlError> {
        self.reg_lookup(kind, input, kind != RegKind::Class)
    }

    fn reg_lookup(
        &self,
        kind: RegKind,
        input: &str,
        digits_as_oid: bool,
    ) -> Result<Value, SqlError> {
        let s = input.trim();
        if digits_as_oid && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            let oid = s.parse::<i64>().map_err(|_| {
                SqlError::new(
                    SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
                    format!("OID out of range: {s}"),
                )
            })?;
            return self.reg_from_oid(kind, oid);
        }
        if digits_as_oid && s == "-" {
            return self.reg_from_oid(kind, 0);
        }
        let oid = match kind {
            RegKind::Class => {
                let parts = split_name(s)?;
                let (schema, name) = match parts.as_slice() {
                    [n] => (None, n.as_str()),
                    [sch, n] => (Some(sch.as_str()), n.as_str()),
                    _ => return Err(improper_name(s)),
                };
                // Unqualified names search pg_catalog, then the path.
                let rel = match schema {
                    Some(sch) => self
                        .relations
                        .iter()
                        .find(|r| r.name == name && self.namespace(r.namespace) == Some(sch)),
                    None => std::iter::once(&PG_CATALOG_NAMESPACE)
                        .chain(&self.search_path)
                        .find_map(|&ns| {
                            self.relations
                                .iter()
                                .find(|r| r.name == name && r.namespace == ns)
                        }),
                };
                rel.map(|r| r.oid).ok_or_else(|| {
                    SqlError::new(
                        SqlState::UNDEFINED_TABLE,
                        format!("relation \"{}\" does not exist", parts.join(".")),
                    )
                })?
            }
            RegKind::Type => {
                // `schema.name` of a user type: that schema's type only.
                if let Ok([sch, n]) = split_name(s).as_deref() {
                    if sch != "pg_catalog" {
                        let ns = self
                            .namespaces
                            .iter()
                            .find(|(_, x)| x == sch)
                            .map(|(o, _)| *o);
                        let oid = self
                            .type_names
                            .iter()
                            .find(|(o, x)| {
                                x == n && ns.is_some() && self.type_namespaces.get(o) == ns.as_ref()
                            })
                            .map(|(o, _)| *o)
                            .ok_or_else(|| {
                                SqlError::new(
                                    SqlState::UNDEFINED_OBJECT,
                                    format!("type \"{s}\" does not exist"),
                                )
                            })?;
                        return Ok(Value::Reg(kind, oid, self.reg_name(kind, oid).into()));
                    }
                }
                let unqualified = s.strip_prefix("pg_catalog.").unwrap_or(s);
                let by_name = self
                    .type_names
                    .iter()
                    .find(|(_, n)| n == unqualified)
                    .map(|(o, _)| *o);
                by_name
                    .or_else(|| {
                        let ty = parse_type_name(unqualified).ok()?;
                        let oid = ty.oid();
                        self.types.iter().any(|(o, _)| *o == oid).then_some(oid)
                    })
                    .ok_or_else(|| {
                        SqlError::new(
                            SqlState::UNDEFINED_OBJECT,
                            format!("type \"{s}\" does not exist"),
                        )
                    })?
            }
            RegKind::Namespace => {
                let parts = split_name(s)?;
                let [name] = parts.as_slice() else {
                    return Err(improper_name(s));
                };
                self.namespaces
                    .iter()
                    .find(|(_, n)| n == name)
                    .map(|(o, _)| *o)
                    .ok_or_else(|| {
                        SqlError::new(
                            SqlState("3F000"),
                            format!("schema \"{name}\" does not exist"),
                        )
                    })?
            }
        };
        Ok(Value::Reg(kind, oid, self.reg_name(kind, oid).into()))
    }

    /// Evaluates catalog function `name` (see [`return_type`]).
    pub fn call(&self, name: &str, args: &[Value]) -> Result<Value, SqlError> {
        if let ("format_type", [oid, typmod]) = (name, args) {
            return self.format_type(oid, typmod);
        }
        if let ("obj_description" | "col_description", [object, rest @ ..]) = (name, args) {
            if object.is_null() || rest.iter().any(Value::is_null) {
                return Ok(Value::Null);
            }
            let object = oid_arg(object)?;
            let found = match (name, rest) {
                ("col_description", [Value::Int2(c)]) => {
                    self.comments.get(&(object, 1259, i32::from(*c)))
                }
                ("col_description", [Value::Int4(c)]) => self.comments.get(&(object, 1259, *c)),
                ("obj_description", [Value::Text(catalog)]) => {
                    let class = match catalog.as_str() {
                        "pg_class" => 1259,
                        "pg_type" => 1247,
                        "pg_namespace" => 2615,
                        _ => 0,
                    };
                    self.comments.get(&(object, class, 0))
                }
                ("obj_description", []) => self
                    .comments
                    .iter()
                    .find(|((o, _, c), _)| *o == object && *c == 0)
                    .map(|(_, t)| t),
                _ => None,
            };
            return Ok(found.map_or(Value::Null, |t| Value::Text(t.clone())));
        }
        // All of them are strict (but format_type).
        if args.iter().any(Value::is_null) {
            return Ok(Value::Null);
        }
        let to_reg = match name {
            "to_regclass" => Some(RegKind::Class),
            "to_regtype" => Some(RegKind::Type),
            "to_regnamespace" => Some(RegKind::Namespace),
            _ => None,
        };
        if let Some(kind) = to_reg {
            // The name's object, NULL when there is none.
            let Some(Value::Text(s)) = args.first() else {
                return Ok(Value::Null);
            };
            return Ok(self.reg_from_text(kind, s).unwrap_or(Value::Null));
        }
        match (name, args) {
            // The text of an expression column, shown as stored (pretty:
            // as PostgreSQL's pretty deparser prints it, where we know).
            ("pg_get_expr", [Value::Text(e), _, rest @ ..]) => {
                let pretty = matches!(rest.first(), Some(Value::Bool(true)));
                return Ok(Value::Text(match self.pretty_exprs.get(e) {
                    Some(p) if pretty => p.clone(),
                    _ => e.clone(),
                }));
            }
            // pg_get_viewdef('name'): the view named so (a relation that is
            // not a view has no definition).
            ("pg_get_viewdef", [Value::Text(s), rest @ ..]) => {
                let Value::Reg(_, oid, _) = self.reg_from_text(RegKind::Class, s)? else {
                    return Ok(Value::Null);
                };
                let pretty = matches!(rest.first(), Some(Value::Bool(true)));
                return Ok(self.views.get(&oid).map_or(Value::Null, |(p, q)| {
                    Value::Text(if pretty { q.clone() } else { p.clone() })
                }));
            }
            _ => {}
        }
        let oid = match args.first() {
            Some(v) => oid_arg(v)?,
            None => return Ok(Value::Null),
        };
        let text = |s: Option<&String>| s.map_or(Value::Null, |s| Value::Text(s.clone()));
        Ok(match name {
            "pg_get_indexdef" => {
                let Some(ix) = self.indexes.get(&oid) else {
                    return Ok(Value::Null);
                };
                let column = match args.get(1) {
                    Some(v) => oid_arg(v)?,
                    None => 0,
                };
                let pretty = matches!(args.get(2), Some(Value::Bool(true)));
                if column == 0 {
                    // Like PostgreSQL, the plain form always qualifies the
                    // table; the pretty one only when it is not visible.
                    let on_path = self
                        .search_path
                        .iter()
                        .any(|&ns| self.namespace(ns) == Some(ix.namespace.as_str()));
                    let table = if pretty && on_path {
                        ix.table.clone()
                    } else {
                        format!("{}.{}", quote_ident(&ix.namespace), ix.table)
                    };
                    Value::Text(format!("{}{table}{}", ix.head, ix.tail))
                } else {
                    // PostgreSQL answers an empty string past the last key.
                    Value::Text(
                        ix.columns
                            .get(column as usize - 1)
                            .cloned()
                            .unwrap_or_default(),
                    )
                }
            }
            "pg_get_constraintdef" => text(self.constraints.get(&oid)),
            // A view's _RETURN rule (whose OID is the view's here).
            "pg_get_ruledef" => {
                let pretty = matches!(args.get(1), Some(Value::Bool(true)));
                match (self.views.get(&oid), self.relation(oid)) {
                    (Some((plain, nice)), Some(r)) => {
                        let name = if pretty {
                            quote_ident(&r.name)
                        } else {
                            format!("public.{}", quote_ident(&r.name))
                        };
                        let def = if pretty { nice } else { plain };
                        Value::Text(format!(
                            "CREATE RULE \"_RETURN\" AS\n    ON SELECT TO {name} DO INSTEAD {def}"
                        ))
                    }
                    _ => Value::Null,
                }
            }
            // pg_get_viewdef(oid, pretty) and (oid, wrap column): any wrap
            // column prints one column per line.
            "pg_get_viewdef" => {
                let pretty = match args.get(1) {
                    Some(Value::Bool(b)) => *b,
                    Some(_) => true,
                    None => false,
                };
                self.views.get(&oid).map_or(Value::Null, |(p, q)| {
                    Value::Text(if pretty { q.clone() } else { p.clone() })
                })
            }
            // We have no triggers and no extended statistics: PostgreSQL
            // answers NULL for an OID that names none.
            "pg_get_triggerdef" | "pg_get_statisticsobjdef_columns" => Value::Null,
            // What its unqualified name finds (psql's \dt lists those).
            "pg_table_is_visible" => self
                .relation(oid)
                .map_or(Value::Null, |r| Value::Bool(self.visible(r))),
            "pg_relation_is_publishable" => match self.relation(oid) {
                None => Value::Null,
                Some(r) => Value::Bool(
                    matches!(r.kind, 'r' | 'p')
                        && !matches!(r.namespace, PG_CATALOG_NAMESPACE | 12000),
                ),
            },
            other => {
                return Err(SqlError::new(
                    SqlState::INTERNAL_ERROR,
                    format!("{other} is not a catalog function"),
                ))
            }
        })
    }
}

/// An OID argument (our OID columns are integers; see engine/system.rs).
fn oid_arg(v: &Value) -> Result<u32, SqlError> {
    let n = match v {
        Value::Reg(_, oid, _) => return Ok(*oid),
        Value::Int2(x) => i64::from(*x),
        Value::Int4(x) => i64::from(*x),
        Value::Int8(x) => *x,
        Value::Bool(b) => i64::from(*b),
        other => {
            return Err(SqlError::new(
                SqlState::DATATYPE_MISMATCH,
                format!("expected an OID, got {}", other.data_type()),
            ))
        }
    };
    u32::try_from(n).map_err(|_| {
        SqlError::new(
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("OID out of range: {n}"),
        )
    })
}

fn improper_name(s: &str) -> SqlError {
    SqlError::new(
        SqlState("42602"),
        format!("improper relation name (too many dotted names): {s}"),
    )
}

/// Splits `a.b` into identifiers: unquoted parts are folded to lower
/// case, `"..."` parts kept as written (`""` is a quote).
pub fn split_name(s: &str) -> Result<Vec<String>, SqlError> {
    let invalid = || SqlError::new(SqlState("42602"), format!("invalid name syntax: \"{s}\""));
    let mut parts = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    Some('"') => break,
                    Some(c) => part.push(c),
                    None => return Err(invalid()),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' {
                    break;
                }
                part.push(c.to_ascii_lowercase());
                chars.next();
            }
            part = part.trim().to_string();
        }
        if part.is_empty() {
            return Err(invalid());
        }
        parts.push(part);
        match chars.next() {
            None => return Ok(parts),
            Some('.') => {}
            Some(_) => return Err(invalid()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> CatalogInfo {
        CatalogInfo {
            comments: HashMap::new(),
            relations: vec![
                RelName {
                    oid: 1259,
                    name: "pg_class".into(),
                    namespace: PG_CATALOG_NAMESPACE,
                    kind: 'r',
                },
                RelName {
                    oid: 16384,
                    name: "Mixed Case".into(),
                    namespace: PUBLIC_NAMESPACE,
                    kind: 'r',
                },
                RelName {
                    oid: 12006,
                    name: "tables".into(),
                    namespace: 12000,
                    kind: 'v',
                },
            ],
            namespaces: vec![
                (PG_CATALOG_NAMESPACE, "pg_catalog".into()),
                (PUBLIC_NAMESPACE, "public".into()),
                (12000, "information_schema".into()),
            ],
            search_path: vec![PUBLIC_NAMESPACE],
            types: vec![(23, "integer".into())],
            type_names: vec![(23, "int4".into())],
            ..CatalogInfo::default()
        }
    }

    fn out(v: Result<Value, SqlError>) -> String {
        match v {
            Ok(Value::Reg(_, _, name)) => name.to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_quoted_and_qualified_as_postgres_prints_them() {
        let i = info();
        assert_eq!(out(i.reg_from_oid(RegKind::Class, 1259)), "pg_class");
        assert_eq!(out(i.reg_from_oid(RegKind::Class, 16384)), "\"Mixed Case\"");
        assert_eq!(
            out(i.reg_from_oid(RegKind::Class, 12006)),
            "information_schema.tables"
        );
        assert_eq!(out(i.reg_from_oid(RegKind::Class, 99999)), "99999");
        assert_eq!(out(i.reg_from_oid(RegKind::Type, 0)), "-");
        assert_eq!(out(i.reg_from_oid(RegKind::Type, 23)), "integer");
        assert_eq!(out(i.reg_from_oid(RegKind::Namespace, 2200)), "public");
    }

    #[test]
    fn input_resolves_names_and_numbers() {
        let i = info();
        let oid = |v: Result<Value, SqlError>| match v {
            Ok(Value::Reg(_, o, _)) => o,
            other => panic!("{other:?}"),
        };
        assert_eq!(oid(i.reg_from_text(RegKind::Class, "PG_CLASS")), 1259);
        assert_eq!(
            oid(i.reg_from_text(RegKind::Class, "pg_catalog.pg_class")),
            1259
        );
        assert_eq!(
            oid(i.reg_from_text(RegKind::Class, "\"Mixed Case\"")),
            16384
        );
        assert_eq!(oid(i.reg_from_text(RegKind::Class, "16384")), 16384);
        assert_eq!(oid(i.reg_from_text(RegKind::Type, "int4")), 23);
        assert_eq!(oid(i.reg_from_text(RegKind::Type, "integer")), 23);
        assert_eq!(oid(i.reg_from_text(RegKind::Type, "int")), 23);
        let e = i.reg_from_text(RegKind::Class, "nosuch").unwrap_err();
        assert_eq!(e.code, SqlState::UNDEFINED_TABLE);
        let e = i.reg_from_text(RegKind::Class, "tables").unwrap_err();
        assert_eq!(e.code, SqlState::UNDEFINED_TABLE, "not on the search path");
        assert!(i.reg_from_text(RegKind::Class, "a.b.c").is_err());
        assert!(i.reg_from_text(RegKind::Class, "\"open").is_err());
    }
}
