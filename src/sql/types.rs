//! SQL data types.

use std::fmt;

/// A column or expression type, as PostgreSQL names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DataType {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// `numeric(precision, scale)`; `None` = unconstrained.
    Numeric(Option<(u32, u32)>),
    Text,
    /// `varchar(n)`; `None` = unlimited.
    Varchar(Option<u32>),
    /// `char(n)`, blank-padded.
    Char(u32),
    Bytea,
    Date,
    Timestamp,
    Timestamptz,
    Interval,
    Uuid,
    Jsonb,
    /// pgvector's `vector(n)`; `None` = any dimension.
    Vector(Option<u32>),
    Array(Box<DataType>),
    /// The type of an untyped literal or parameter before inference
    /// (PostgreSQL's `unknown`).
    Unknown,
}

impl DataType {
    /// PostgreSQL's type OID (for the wire protocol and `pg_type`).
    pub fn oid(&self) -> u32 {
        match self {
            DataType::Bool => 16,
            DataType::Bytea => 17,
            DataType::Int8 => 20,
            DataType::Int2 => 21,
            DataType::Int4 => 23,
            DataType::Text => 25,
            DataType::Jsonb => 3802,
            DataType::Float4 => 700,
            DataType::Float8 => 701,
            DataType::Char(_) => 1042,
            DataType::Varchar(_) => 1043,
            DataType::Date => 1082,
            DataType::Timestamp => 1114,
            DataType::Timestamptz => 1184,
            DataType::Interval => 1186,
            DataType::Numeric(_) => 1700,
            DataType::Uuid => 2950,
            // pgvector's OID is assigned at CREATE EXTENSION time; we fix one.
            DataType::Vector(_) => 16385,
            DataType::Array(inner) => match **inner {
                DataType::Bool => 1000,
                DataType::Int2 => 1005,
                DataType::Int4 => 1007,
                DataType::Int8 => 1016,
                DataType::Text => 1009,
                DataType::Varchar(_) => 1015,
                DataType::Float4 => 1021,
                DataType::Float8 => 1022,
                DataType::Numeric(_) => 1231,
                DataType::Bytea => 1001,
                DataType::Date => 1182,
                DataType::Timestamp => 1115,
                DataType::Timestamptz => 1185,
                DataType::Uuid => 2951,
                DataType::Jsonb => 3807,
                _ => 2277, // anyarray
            },
            DataType::Unknown => 705,
        }
    }

    pub fn is_integer(&self) -> bool {
        matches!(self, DataType::Int2 | DataType::Int4 | DataType::Int8)
    }

    pub fn is_numeric_family(&self) -> bool {
        matches!(
            self,
            DataType::Int2
                | DataType::Int4
                | DataType::Int8
                | DataType::Float4
                | DataType::Float8
                | DataType::Numeric(_)
        )
    }

    pub fn is_string(&self) -> bool {
        matches!(
            self,
            DataType::Text | DataType::Varchar(_) | DataType::Char(_)
        )
    }
}

impl fmt::Display for DataType {
    /// The name PostgreSQL prints (`format_type`), e.g. `character varying(20)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Bool => f.write_str("boolean"),
            DataType::Int2 => f.write_str("smallint"),
            DataType::Int4 => f.write_str("integer"),
            DataType::Int8 => f.write_str("bigint"),
            DataType::Float4 => f.write_str("real"),
            DataType::Float8 => f.write_str("double precision"),
            DataType::Numeric(None) => f.write_str("numeric"),
            DataType::Numeric(Some((p, s))) => write!(f, "numeric({p},{s})"),
            DataType::Text => f.write_str("text"),
            DataType::Varchar(None) => f.write_str("character varying"),
            DataType::Varchar(Some(n)) => write!(f, "character varying({n})"),
            DataType::Char(n) => write!(f, "character({n})"),
            DataType::Bytea => f.write_str("bytea"),
            DataType::Date => f.write_str("date"),
            DataType::Timestamp => f.write_str("timestamp without time zone"),
            DataType::Timestamptz => f.write_str("timestamp with time zone"),
            DataType::Interval => f.write_str("interval"),
            DataType::Uuid => f.write_str("uuid"),
            DataType::Jsonb => f.write_str("jsonb"),
            DataType::Vector(None) => f.write_str("vector"),
            DataType::Vector(Some(n)) => write!(f, "vector({n})"),
            DataType::Array(inner) => write!(f, "{inner}[]"),
            DataType::Unknown => f.write_str("unknown"),
        }
    }
}
