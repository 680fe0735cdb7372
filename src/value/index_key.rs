//! Mapping SQL values onto the B+tree's order-preserving keys
//! ([`crate::btree::key`]) so that byte order equals PostgreSQL order.
//!
//! | SQL type                         | `KeyValue`                           |
//! |----------------------------------|--------------------------------------|
//! | bool                             | `Bool`                               |
//! | int2, int4, int8                 | `Int`                                |
//! | float4, float8                   | `Float`                              |
//! | date (days), timestamp(tz) (µs)  | `Int`                                |
//! | text, varchar, char              | `Text`                               |
//! | bytea, uuid                      | `Bytes`                              |
//! | numeric                          | `Bytes` (memcomparable decimal)      |
//! | interval                         | `Bytes` (total span, 30-day months)  |
//! | jsonb, vector, arrays            | `Bytes` (order-preserving encodings) |
//!
//! Keys of one index column must all come from one SQL type. In particular
//! an integer key and a numeric key are different `KeyValue` variants, and
//! a date key (days) is not comparable with a timestamp key (µs): **the
//! caller must cast a search constant to the indexed column's type before
//! building a key** (e.g. for `int_col = 2.5` PostgreSQL semantics need a
//! range probe, not an equality probe on `2.5::int`). No new `KeyValue`
//! variant was needed.

use serde_json::Value as Json;

use super::datetime::interval_span;
use super::json::{json_number_value, sorted_entries};
use super::numeric::encode_numeric_key;
use super::Value;
use crate::btree::key::{encode_text, encode_value, KeyValue};
use crate::error::SqlError;

/// Same mapping as the B+tree's float encoding: unsigned order = SQL order
/// (-0 = 0, NaN above +Infinity).
fn float_key(f: f64) -> u64 {
    let f = if f == 0.0 {
        0.0
    } else if f.is_nan() {
        f64::NAN
    } else {
        f
    };
    let bits = f.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// Order-preserving, self-delimiting escape of a byte string.
fn put_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// PostgreSQL's jsonb btree order: null < string < number < bool < array <
/// object; containers by size first, then element-wise (objects pair-wise
/// in storage order: keys by length, then bytes).
fn encode_jsonb(j: &Json, out: &mut Vec<u8>) {
    match j {
        Json::Null => out.push(0),
        Json::String(s) => {
            out.push(1);
            put_escaped(out, s.as_bytes());
        }
        Json::Number(n) => {
            out.push(2);
            encode_numeric_key(&json_number_value(n), out);
        }
        Json::Bool(b) => out.extend_from_slice(&[3, u8::from(*b)]),
        Json::Array(a) => {
            out.push(4);
            out.extend_from_slice(&(a.len() as u64).to_be_bytes());
            for e in a {
                encode_jsonb(e, out);
            }
        }
        Json::Object(m) => {
            out.push(5);
            out.extend_from_slice(&(m.len() as u64).to_be_bytes());
            for (k, v) in sorted_entries(m) {
                out.extend_from_slice(&(k.len() as u64).to_be_bytes());
                out.extend_from_slice(k.as_bytes());
                encode_jsonb(v, out);
            }
        }
    }
}

impl Value {
    /// The B+tree key for this value (see the module docs for the mapping).
    pub fn to_key_value(&self) -> Result<KeyValue, SqlError> {
        Ok(match self {
            Value::Null => KeyValue::Null,
            Value::Bool(b) => KeyValue::Bool(*b),
            Value::Int2(x) => KeyValue::Int(i64::from(*x)),
            Value::Int4(x) => KeyValue::Int(i64::from(*x)),
            Value::Int8(x) => KeyValue::Int(*x),
            Value::Float4(f) => KeyValue::Float(f64::from(*f)),
            Value::Float8(f) => KeyValue::Float(*f),
            Value::Date(d) => KeyValue::Int(i64::from(*d)),
            Value::Reg(_, oid, _) => KeyValue::Int(i64::from(*oid)),
            Value::Timestamp(t) | Value::Timestamptz(t) => KeyValue::Int(*t),
            Value::Text(s) => KeyValue::Text(s.clone()),
            Value::Bytea(b) => KeyValue::Bytes(b.clone()),
            Value::Uuid(u) => KeyValue::Bytes(u.to_vec()),
            Value::Numeric(n) => {
                let mut out = Vec::new();
                encode_numeric_key(n, &mut out);
                KeyValue::Bytes(out)
            }
            Value::Interval(iv) => {
                let span = interval_span(iv);
                KeyValue::Bytes(((span as u128) ^ (1 << 127)).to_be_bytes().to_vec())
            }
            // json has no btree opclass in PostgreSQL; its text orders
            // it where an internal key is needed.
            Value::Json(s) => KeyValue::Bytes(s.as_bytes().to_vec()),
            Value::Jsonb(j) => {
                let mut out = Vec::new();
                encode_jsonb(j, &mut out);
                KeyValue::Bytes(out)
            }
            Value::Bit(b) => {
                // Bit by bit (0x01/0x02), then shorter first (0x00).
                let mut out = Vec::with_capacity(b.len as usize + 1);
                out.extend((0..b.len as usize).map(|i| 1 + u8::from(b.get(i))));
                out.push(0);
                KeyValue::Bytes(out)
            }
            Value::Vector(v) | Value::HalfVec(v) => {
                // Element-wise, then shorter first: 0x01 before each
                // element, 0x00 at the end.
                let mut out = Vec::with_capacity(v.len() * 9 + 1);
                for f in v {
                    out.push(1);
                    out.extend_from_slice(&float_key(f64::from(*f)).to_be_bytes());
                }
                out.push(0);
                KeyValue::Bytes(out)
            }
            Value::Array(items) => {
                // Element-wise with NULL elements last (the B+tree's NULL
                // tag is above every value tag), then shorter first.
                let mut out = Vec::new();
                for item in items {
                    out.push(1);
                    encode_value(&mut out, &item.to_key_value()?, false);
                }
                out.push(0);
                KeyValue::Bytes(out)
            }
        })
    }
}

/// Encodes a composite index key: `descending[i]` marks DESC columns
/// (missing entries are ASC). Byte order of the results equals PostgreSQL's
/// ordering of the tuples (ASC NULLS LAST / DESC NULLS FIRST).
pub fn encode_index_key(values: &[Value], descending: &[bool]) -> Result<Vec<u8>, SqlError> {
    // Room for the TID an index entry appends.
    let mut out = Vec::with_capacity(16 + 6);
    encode_index_key_into(&mut out, values, descending)?;
    Ok(out)
}

/// [`encode_index_key`], appended to `out` (on error, part of the key may
/// have been appended).
pub fn encode_index_key_into(
    out: &mut Vec<u8>,
    values: &[Value],
    descending: &[bool],
) -> Result<(), SqlError> {
    for (i, v) in values.iter().enumerate() {
        let desc = descending.get(i).copied().unwrap_or(false);
        match v {
            // Text is the common wide key: encoded from the value itself.
            Value::Text(s) => encode_text(out, s.as_bytes(), desc),
            v => encode_value(out, &v.to_key_value()?, desc),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::text::parse_text;
    use crate::value::types::DataType;
    use crate::value::tz::TimeZone;
    use std::cmp::Ordering;

    fn check_sorted(ty: DataType, texts: &[&str]) {
        let tz = TimeZone::utc();
        let vals: Vec<Value> = texts
            .iter()
            .map(|s| parse_text(s, &ty, &tz).unwrap())
            .collect();
        for (i, a) in vals.iter().enumerate() {
            for (k, b) in vals.iter().enumerate() {
                let ka = encode_index_key(std::slice::from_ref(a), &[]).unwrap();
                let kb = encode_index_key(std::slice::from_ref(b), &[]).unwrap();
                let expect = a.sql_cmp(b).unwrap();
                assert_eq!(ka.cmp(&kb), expect, "{ty} {a:?} {b:?}");
                assert_eq!(
                    expect,
                    i.cmp(&k).then(expect),
                    "{ty}: test list not sorted at {i},{k}"
                );
            }
        }
    }

    #[test]
    fn key_order_equals_sql_order() {
        check_sorted(
            DataType::Numeric(None),
            &[
                "-1e20", "-1.5", "-1.25", "0", "0.001", "1", "1.5", "10", "NaN",
            ],
        );
        check_sorted(
            DataType::Interval,
            &[
                "-1 year", "-1 day", "0", "1 hour", "1 day", "1 mon", "1 year",
            ],
        );
        check_sorted(
            DataType::Jsonb,
            &[
                "null",
                "\"\"",
                "\"a\"",
                "\"a\\u0000\"",
                "\"b\"",
                "-1",
                "0.5",
                "2",
                "false",
                "true",
                "[]",
                "[null]",
                "[1]",
                "[1,2]",
                "{}",
                "{\"b\":1}",
                "{\"aa\":0}",
                "{\"aa\":1}",
            ],
        );
        check_sorted(
            DataType::Vector(None),
            &["[-1]", "[0]", "[0,0]", "[0,1]", "[1]", "[2,0]"],
        );
        check_sorted(
            DataType::Array(Box::new(DataType::Int4)),
            &["{}", "{1}", "{1,2}", "{1,NULL}", "{2}", "{NULL}"],
        );
        check_sorted(
            DataType::Array(Box::new(DataType::Text)),
            &["{}", "{a}", "{a,b}", "{ab}", "{b}"],
        );
        check_sorted(
            DataType::Uuid,
            &[
                "00000000-0000-0000-0000-000000000000",
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                "ffffffff-0000-0000-0000-000000000000",
            ],
        );
        check_sorted(
            DataType::Date,
            &["-infinity", "1999-12-31", "2000-01-01", "infinity"],
        );
    }

    #[test]
    fn equal_values_equal_keys() {
        let tz = TimeZone::utc();
        let n = |s: &str| parse_text(s, &DataType::Numeric(None), &tz).unwrap();
        assert_eq!(
            encode_index_key(&[n("1.0")], &[]).unwrap(),
            encode_index_key(&[n("1.000")], &[]).unwrap()
        );
        let desc = encode_index_key(&[Value::Null], &[true]).unwrap();
        assert_eq!(
            desc.cmp(&encode_index_key(&[Value::Int4(5)], &[true]).unwrap()),
            Ordering::Less
        );
    }
}
