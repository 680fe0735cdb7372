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
    Jsonb(serde_json::Value),
    Vector(Vec<f32>),
    Array(Vec<Value>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}
