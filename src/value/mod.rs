//! SQL values and types, and everything computed from values alone: text
//! I/O, casts, comparison, operators, the row codec and index keys. Below
//! the catalog (whose column types are [`DataType`]s) and the SQL layers;
//! the only thing it needs from the storage side is the memcomparable key
//! encoding of [`crate::btree::key`].
//!
//! Runtime values.
//!
//! Conventions (PostgreSQL's internal representations, so that ordering,
//! arithmetic and the wire protocol's binary formats are direct):
//! - `Date`: days since 2000-01-01.
//! - `Timestamp` / `Timestamptz`: microseconds since 2000-01-01 00:00:00
//!   (UTC for timestamptz).
//! - `Interval`: months, days and microseconds, kept apart as PostgreSQL does.
//! - `Numeric`: exact decimal (`bigdecimal`), with NaN.
//! - `Text` holds text, varchar and char values (char already blank-padded).

use bigdecimal::BigDecimal;

pub mod bits;
pub mod cast;
pub mod compare;
pub mod datetime;
pub mod index_key;
pub mod json;
pub mod json_text;
pub mod numeric;
pub mod ops;
#[cfg(test)]
mod proptests;
pub mod row;
pub mod text;
pub mod types;
pub mod tz;
pub mod vector;

pub use types::DataType;

/// An interval, PostgreSQL-style: the three fields are independent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

/// A numeric value: exact decimal or NaN (which PostgreSQL orders above
/// every number).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Numeric {
    Value(BigDecimal),
    NaN,
}

/// One SQL value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int2(i16),
    Int4(i32),
    Int8(i64),
    Float4(f32),
    Float8(f64),
    Numeric(Numeric),
    Text(String),
    Bytea(Vec<u8>),
    Date(i32),
    Timestamp(i64),
    Timestamptz(i64),
    Interval(Interval),
    Uuid([u8; 16]),
    /// `json`: the text as given (validated on input); operators parse it
    /// when they need its structure, as PostgreSQL does.
    Json(Box<str>),
    Jsonb(serde_json::Value),
    Vector(Vec<f32>),
    /// pgvector's `halfvec`: elements already rounded to f16.
    HalfVec(Vec<f32>),
    Bit(bits::BitString),
    Array(Vec<Value>),
    /// A value of an OID alias type (`regclass`...): the OID and the name
    /// it stood for when the value was made (its text form), resolved by
    /// the binder against the statement's catalog snapshot, because
    /// printing a value has no catalog at hand.
    Reg(types::RegKind, u32, Box<str>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// About the heap bytes the value owns (for memory limits).
    pub fn heap_bytes(&self) -> usize {
        fn json_bytes(j: &serde_json::Value) -> usize {
            use serde_json::Value as J;
            32 + match j {
                J::String(s) => s.len(),
                J::Array(items) => items.iter().map(json_bytes).sum(),
                J::Object(map) => map.iter().map(|(k, v)| k.len() + json_bytes(v)).sum(),
                _ => 0,
            }
        }
        match self {
            Value::Text(s) => s.len(),
            Value::Bytea(b) => b.len(),
            Value::Json(s) | Value::Reg(_, _, s) => s.len(),
            Value::Jsonb(j) => json_bytes(j),
            Value::Vector(v) | Value::HalfVec(v) => v.len() * 4,
            Value::Numeric(_) | Value::Bit(_) => 32,
            Value::Array(items) => items
                .iter()
                .map(|v| std::mem::size_of::<Value>() + v.heap_bytes())
                .sum(),
            _ => 0,
        }
    }
}

impl Value {
    /// The type of this value as the executor would name it. Type modifiers
    /// are not recorded in values, so `numeric`, `vector` and `text` come
    /// back unconstrained; NULL is `unknown`, and an array's element type is
    /// that of its first non-NULL element.
    pub fn data_type(&self) -> DataType {
        use DataType as T;
        match self {
            Value::Null => T::Unknown,
            Value::Bool(_) => T::Bool,
            Value::Int2(_) => T::Int2,
            Value::Int4(_) => T::Int4,
            Value::Int8(_) => T::Int8,
            Value::Float4(_) => T::Float4,
            Value::Float8(_) => T::Float8,
            Value::Numeric(_) => T::Numeric(None),
            Value::Text(_) => T::Text,
            Value::Bytea(_) => T::Bytea,
            Value::Date(_) => T::Date,
            Value::Timestamp(_) => T::Timestamp,
            Value::Timestamptz(_) => T::Timestamptz,
            Value::Interval(_) => T::Interval,
            Value::Uuid(_) => T::Uuid,
            Value::Json(_) => T::Json,
            Value::Jsonb(_) => T::Jsonb,
            Value::Vector(_) => T::Vector(None),
            Value::HalfVec(_) => T::HalfVec(None),
            Value::Bit(_) => T::Bit(None),
            Value::Reg(k, _, _) => T::Reg(*k),
            Value::Array(items) => {
                let elem = items.iter().find(|v| !v.is_null()).map_or(T::Unknown, |v| {
                    match v.data_type() {
                        // A nested array is a further dimension.
                        T::Array(inner) => *inner,
                        t => t,
                    }
                });
                T::Array(Box::new(elem))
            }
        }
    }
}
