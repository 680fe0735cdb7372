//! SQL comparison with PostgreSQL's cross-type promotions, and hashing
//! consistent with it (for GROUP BY, DISTINCT and hash joins).

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use bigdecimal::BigDecimal;

use super::datetime::{date_to_ts, interval_span, local_to_utc, USECS_PER_DAY};
use super::json::{canonical_hash_text, jsonb_cmp};
use super::numeric::{numeric_cmp, to_f64, to_i64_round, trailing_trimmed_scale};
use super::tz::TimeZone;
use super::{Numeric, Value};

/// PostgreSQL's float ordering: NaN equals NaN and sorts above everything,
/// -0 equals 0.
pub fn float_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// A number in one of its SQL representations, for cross-type comparison.
enum Num<'a> {
    Int(i64),
    Numeric(&'a Numeric),
    Float(f64),
}

fn as_num(v: &Value) -> Option<Num<'_>> {
    Some(match v {
        Value::Int2(x) => Num::Int(i64::from(*x)),
        Value::Int4(x) => Num::Int(i64::from(*x)),
        Value::Int8(x) => Num::Int(*x),
        Value::Numeric(n) => Num::Numeric(n),
        Value::Float4(f) => Num::Float(f64::from(*f)),
        Value::Float8(f) => Num::Float(*f),
        // OID alias types compare as their OID (PostgreSQL's oid ops).
        Value::Reg(_, oid, _) => Num::Int(i64::from(*oid)),
        _ => return None,
    })
}

fn num_to_f64(n: &Num) -> f64 {
    match n {
        Num::Int(i) => *i as f64,
        Num::Numeric(n) => to_f64(n),
        Num::Float(f) => *f,
    }
}

fn num_cmp(a: &Num, b: &Num) -> Ordering {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => x.cmp(y),
        (Num::Int(x), Num::Numeric(n)) => numeric_cmp(&Numeric::Value(BigDecimal::from(*x)), n),
        (Num::Numeric(n), Num::Int(y)) => numeric_cmp(n, &Numeric::Value(BigDecimal::from(*y))),
        (Num::Numeric(x), Num::Numeric(y)) => numeric_cmp(x, y),
        // Anything involving a float compares as float8.
        _ => float_cmp(num_to_f64(a), num_to_f64(b)),
    }
}

/// A date/time value as microseconds (local for date/timestamp, UTC for
/// timestamptz).
fn as_time(v: &Value) -> Option<i64> {
    match v {
        // Out-of-range dates (only constructible directly) saturate.
        Value::Date(d) => Some(date_to_ts(*d).unwrap_or(if *d < 0 { i64::MIN } else { i64::MAX })),
        Value::Timestamp(t) | Value::Timestamptz(t) => Some(*t),
        _ => None,
    }
}

fn is_tz(v: &Value) -> bool {
    matches!(v, Value::Timestamptz(_))
}

fn time_cmp(a: &Value, b: &Value, tz: &TimeZone) -> Option<Ordering> {
    let (mut x, mut y) = (as_time(a)?, as_time(b)?);
    // Date and timestamp are local times; mixed with timestamptz they are
    // converted to UTC through the session zone, as PostgreSQL does.
    if is_tz(a) != is_tz(b) {
        if !is_tz(a) {
            x = local_to_utc(x, tz).unwrap_or(x);
        } else {
            y = local_to_utc(y, tz).unwrap_or(y);
        }
    }
    Some(x.cmp(&y))
}

impl Value {
    /// SQL comparison (`<`, `=`, `>` and ORDER BY) between two non-NULL
    /// values of compatible types, with PostgreSQL's promotions: integers
    /// by value, integer vs numeric exactly, anything vs float as float8
    /// (NaN above everything), text and bytea bytewise (C collation),
    /// date/timestamp/timestamptz promoted (local times mixed with
    /// timestamptz are taken as UTC; see [`Value::sql_cmp_tz`]), intervals
    /// by total length with 30-day months, jsonb by PostgreSQL's jsonb
    /// ordering, arrays element-wise (NULL elements above non-NULLs) then by
    /// length. Returns `None` when either side is NULL or the types are not
    /// comparable.
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        self.sql_cmp_tz(other, &TimeZone::utc())
    }

    /// [`Value::sql_cmp`] with the session time zone for comparisons that
    /// mix timestamptz with date or timestamp.
    pub fn sql_cmp_tz(&self, other: &Value, tz: &TimeZone) -> Option<Ordering> {
        use Value::*;
        if let (Some(a), Some(b)) = (as_num(self), as_num(other)) {
            return Some(num_cmp(&a, &b));
        }
        Some(match (self, other) {
            (Null, _) | (_, Null) => return None,
            (Bool(a), Bool(b)) => a.cmp(b),
            (Text(a), Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Bytea(a), Bytea(b)) => a.cmp(b),
            (Date(_) | Timestamp(_) | Timestamptz(_), Date(_) | Timestamp(_) | Timestamptz(_)) => {
                return time_cmp(self, other, tz)
            }
            (Interval(a), Interval(b)) => interval_span(a).cmp(&interval_span(b)),
            (Uuid(a), Uuid(b)) => a.cmp(b),
            (Jsonb(a), Jsonb(b)) => jsonb_cmp(a, b),
            (Json(a), Json(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Bit(a), Bit(b)) => a.cmp_bits(b),
            (Vector(a), Vector(b)) | (HalfVec(a), HalfVec(b)) => {
                for (x, y) in a.iter().zip(b) {
                    let o = float_cmp(f64::from(*x), f64::from(*y));
                    if o.is_ne() {
                        return Some(o);
                    }
                }
                a.len().cmp(&b.len())
            }
            (Array(a), Array(b)) => {
                for (x, y) in a.iter().zip(b) {
                    let o = match (x.is_null(), y.is_null()) {
                        (true, true) => Ordering::Equal,
                        (true, false) => Ordering::Greater,
                        (false, true) => Ordering::Less,
                        _ => x.sql_cmp_tz(y, tz)?,
                    };
                    if o.is_ne() {
                        return Some(o);
                    }
                }
                a.len().cmp(&b.len())
            }
            _ => return None,
        })
    }

    /// A total order for sorting: [`Value::sql_cmp`] with NULLs last (the
    /// ORDER BY ASC default) and incomparable types ordered by type.
    pub fn sort_cmp(&self, other: &Value) -> Ordering {
        match (self.is_null(), other.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => self
                .sql_cmp(other)
                .unwrap_or_else(|| type_rank(self).cmp(&type_rank(other))),
        }
    }

    /// SQL equality (`=`), NULL-propagating.
    pub fn sql_eq(&self, other: &Value) -> Option<bool> {
        self.sql_cmp(other).map(Ordering::is_eq)
    }
}

fn type_rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Int2(_)
        | Value::Int4(_)
        | Value::Int8(_)
        | Value::Float4(_)
        | Value::Float8(_)
        | Value::Numeric(_)
        | Value::Reg(..) => 2,
        Value::Text(_) => 3,
        Value::Bytea(_) => 4,
        Value::Date(_) | Value::Timestamp(_) | Value::Timestamptz(_) => 5,
        Value::Interval(_) => 6,
        Value::Uuid(_) => 7,
        Value::Jsonb(_) => 8,
        Value::Json(_) => 13,
        Value::Vector(_) => 9,
        Value::Array(_) => 10,
        Value::HalfVec(_) => 11,
        Value::Bit(_) => 12,
    }
}

/// A value usable as a hash-map key with SQL equality: values equal under
/// [`Value::sql_cmp`] are equal and hash equally (`1::int4`, `1::int8`,
/// `1.0::numeric` and `1::float8` are one group), and NULL equals NULL (the
/// GROUP BY / DISTINCT rule). Timestamps mixed with timestamptz are
/// compared as if the session zone were UTC.
#[derive(Clone, Debug)]
pub struct HashableValue(pub Value);

impl PartialEq for HashableValue {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Value::Null, Value::Null) => true,
            (a, b) => a.sql_cmp(b) == Some(Ordering::Equal) || arrays_equal_with_nulls(a, b),
        }
    }
}

/// Arrays containing NULL elements compare equal when element-wise equal
/// (`sql_cmp` already treats NULL elements as equal to each other).
fn arrays_equal_with_nulls(a: &Value, b: &Value) -> bool {
    matches!((a, b), (Value::Array(x), Value::Array(y)) if x.len() == y.len()
        && x.iter().zip(y).all(|(p, q)| HashableValue(p.clone()) == HashableValue(q.clone())))
}

impl Eq for HashableValue {}

fn hash_f64<H: Hasher>(f: f64, state: &mut H) {
    if f.is_nan() {
        state.write_u8(2);
        return;
    }
    let f = if f == 0.0 { 0.0 } else { f };
    if f.fract() == 0.0 && (-9.2e18..=9.2e18).contains(&f) {
        state.write_u8(1);
        state.write_i64(f as i64);
    } else {
        state.write_u8(3);
        state.write_u64(f.to_bits());
    }
}

fn hash_value<H: Hasher>(v: &Value, state: &mut H) {
    match v {
        Value::Null => state.write_u8(0),
        Value::Bool(b) => {
            state.write_u8(10);
            b.hash(state);
        }
        // All numbers share one domain: integral values hash as i64, others
        // as their nearest f64 (so values equal as floats collide).
        Value::Int2(_)
        | Value::Int4(_)
        | Value::Int8(_)
        | Value::Float4(_)
        | Value::Float8(_)
        | Value::Numeric(_)
        | Value::Reg(..) => {
            state.write_u8(11);
            match as_num(v) {
                Some(Num::Int(i)) => {
                    state.write_u8(1);
                    state.write_i64(i);
                }
                Some(Num::Numeric(Numeric::Value(d))) if trailing_trimmed_scale(d) == 0 => {
                    match to_i64_round(d) {
                        Some(i) => {
                            state.write_u8(1);
                            state.write_i64(i);
                        }
                        None => hash_f64(to_f64(&Numeric::Value(d.clone())), state),
                    }
                }
                Some(n) => hash_f64(num_to_f64(&n), state),
                None => {}
            }
        }
        Value::Text(s) => {
            state.write_u8(12);
            s.hash(state);
        }
        Value::Bytea(b) => {
            state.write_u8(13);
            b.hash(state);
        }
        Value::Date(d) => {
            state.write_u8(14);
            state.write_i64(i64::from(*d).saturating_mul(USECS_PER_DAY));
        }
        Value::Timestamp(t) | Value::Timestamptz(t) => {
            state.write_u8(14);
            state.write_i64(*t);
        }
        Value::Interval(iv) => {
            state.write_u8(15);
            interval_span(iv).hash(state);
        }
        Value::Uuid(u) => {
            state.write_u8(16);
            u.hash(state);
        }
        Value::Json(s) => {
            state.write_u8(18);
            s.hash(state);
        }
        Value::Jsonb(j) => {
            state.write_u8(17);
            canonical_hash_text(j).hash(state);
        }
        Value::Bit(b) => {
            state.write_u8(21);
            b.hash(state);
        }
        Value::HalfVec(v) => {
            state.write_u8(20);
            for f in v {
                hash_f64(f64::from(*f), state);
            }
        }
        Value::Vector(v) => {
            state.write_u8(18);
            for f in v {
                hash_f64(f64::from(*f), state);
            }
        }
        Value::Array(items) => {
            state.write_u8(19);
            state.write_usize(items.len());
            for i in items {
                hash_value(i, state);
            }
        }
    }
}

impl Hash for HashableValue {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_value(&self.0, state);
    }
}

impl Value {
    /// This value wrapped for use as a GROUP BY / DISTINCT / hash-join key.
    pub fn group_key(&self) -> HashableValue {
        HashableValue(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::text::parse_text;
    use crate::value::types::DataType;
    use std::collections::hash_map::DefaultHasher;
    use std::str::FromStr;

    fn h(v: &Value) -> u64 {
        let mut s = DefaultHasher::new();
        v.group_key().hash(&mut s);
        s.finish()
    }

    fn num(s: &str) -> Value {
        Value::Numeric(Numeric::Value(BigDecimal::from_str(s).unwrap()))
    }

    #[test]
    fn numeric_family_promotions() {
        assert_eq!(
            Value::Int2(1).sql_cmp(&Value::Int8(1)),
            Some(Ordering::Equal)
        );
        assert_eq!(Value::Int4(1).sql_cmp(&num("1.0")), Some(Ordering::Equal));
        assert_eq!(
            Value::Int8(i64::MAX).sql_cmp(&num("9223372036854775806")),
            Some(Ordering::Greater)
        );
        assert_eq!(
            num("0.1").sql_cmp(&Value::Float8(0.1)),
            Some(Ordering::Equal)
        );
        assert_eq!(
            Value::Float8(f64::NAN).sql_cmp(&Value::Float8(f64::INFINITY)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            Value::Float8(f64::NAN).sql_cmp(&Value::Float4(f32::NAN)),
            Some(Ordering::Equal)
        );
        assert_eq!(
            Value::Numeric(Numeric::NaN).sql_cmp(&num("1e100")),
            Some(Ordering::Greater)
        );
        assert_eq!(
            Value::Float8(-0.0).sql_cmp(&Value::Int4(0)),
            Some(Ordering::Equal)
        );
        assert_eq!(Value::Null.sql_cmp(&Value::Int4(0)), None);
        assert_eq!(Value::Text("1".into()).sql_cmp(&Value::Int4(1)), None);
        for group in [
            vec![
                Value::Int2(1),
                Value::Int4(1),
                Value::Int8(1),
                num("1.0"),
                num("1"),
                Value::Float8(1.0),
                Value::Float4(1.0),
            ],
            vec![num("0.5"), num("0.50"), Value::Float8(0.5)],
            vec![Value::Numeric(Numeric::NaN), Value::Float8(f64::NAN)],
            vec![
                Value::Float8(0.0),
                Value::Float8(-0.0),
                Value::Int4(0),
                num("0.000"),
            ],
        ] {
            for a in &group {
                for b in &group {
                    assert_eq!(a.group_key(), b.group_key(), "{a:?} {b:?}");
                    assert_eq!(h(a), h(b), "{a:?} {b:?}");
                }
            }
        }
        assert_ne!(Value::Int4(1).group_key(), Value::Int4(2).group_key());
        assert_eq!(Value::Null.group_key(), Value::Null.group_key());
        assert_ne!(Value::Null.group_key(), Value::Int4(0).group_key());
    }

    #[test]
    fn other_types() {
        let utc = TimeZone::utc();
        let p = |s: &str, t: DataType| parse_text(s, &t, &utc).unwrap();
        let d = p("2024-01-01", DataType::Date);
        let ts = p("2024-01-01 00:00", DataType::Timestamp);
        let tstz = p("2024-01-01 00:00+00", DataType::Timestamptz);
        assert_eq!(d.sql_cmp(&ts), Some(Ordering::Equal));
        assert_eq!(ts.sql_cmp(&tstz), Some(Ordering::Equal));
        assert_eq!(h(&d), h(&tstz));
        let plus1 = TimeZone::from_utc_offset(3600).unwrap();
        assert_eq!(ts.sql_cmp_tz(&tstz, &plus1), Some(Ordering::Less));
        let iv = |s: &str| p(s, DataType::Interval);
        assert_eq!(iv("1 mon").sql_cmp(&iv("30 days")), Some(Ordering::Equal));
        assert_eq!(iv("1 day").sql_cmp(&iv("24 hours")), Some(Ordering::Equal));
        assert_eq!(h(&iv("1 day")), h(&iv("24 hours")));
        assert_eq!(iv("1 day").sql_cmp(&iv("25 hours")), Some(Ordering::Less));
        assert_eq!(
            Value::Text("a".into()).sql_cmp(&Value::Text("B".into())),
            Some(Ordering::Greater)
        );
        let arr = |s: &str| p(s, DataType::Array(Box::new(DataType::Int4)));
        assert_eq!(arr("{1,2}").sql_cmp(&arr("{1,2,0}")), Some(Ordering::Less));
        assert_eq!(
            arr("{1,NULL}").sql_cmp(&arr("{1,5}")),
            Some(Ordering::Greater)
        );
        assert_eq!(arr("{1,NULL}").group_key(), arr("{1,NULL}").group_key());
        let j = |s: &str| p(s, DataType::Jsonb);
        assert_eq!(j("{\"a\":1.0}").group_key(), j("{\"a\":1}").group_key());
        assert_eq!(h(&j("{\"a\":1.0}")), h(&j("{\"a\":1}")));
        assert_eq!(
            Value::Vector(vec![1.0, 2.0]).sql_cmp(&Value::Vector(vec![1.0, 3.0])),
            Some(Ordering::Less)
        );
        assert_eq!(Value::Null.sort_cmp(&Value::Int4(1)), Ordering::Greater);
    }
}
