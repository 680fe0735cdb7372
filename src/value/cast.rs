//! Casts between types (PostgreSQL's `CAST`/`::` semantics) and common-type
//! resolution for UNION, CASE, COALESCE and friends.

use bigdecimal::BigDecimal;
use serde_json::Value as Json;

use super::datetime::{date_to_ts, local_to_utc, ts_to_date, utc_to_local};
use super::json::{json_number_value, numeric_to_json, type_name};
use super::numeric::{apply_typmod, from_f64, to_f64, to_i64_round};
use super::ops::int_out_of_range;
use super::text::{apply_char_length, check_vector_dims, parse_text};
use super::types::DataType;
use super::tz::TimeZone;
use super::{Numeric, Value};
use crate::error::{SqlError, SqlState};

fn cannot_cast(from: &Value, to: &DataType) -> SqlError {
    SqlError::new(
        SqlState::CANNOT_COERCE,
        format!("cannot cast type {} to {to}", from.data_type()),
    )
}

/// An explicit cast (`CAST(x AS t)`, `x::t`): `varchar(n)`/`char(n)`
/// silently truncate.
pub fn cast_explicit(value: Value, to: &DataType, tz: &TimeZone) -> Result<Value, SqlError> {
    cast_impl(value, to, tz, true)
}

/// An assignment cast (INSERT/UPDATE into a column of type `to`): a value
/// too long for `varchar(n)`/`char(n)` is an error (22001) unless the
/// excess is spaces.
pub fn cast_assignment(value: Value, to: &DataType, tz: &TimeZone) -> Result<Value, SqlError> {
    cast_impl(value, to, tz, false)
}

/// Same as [`cast_explicit`].
pub fn cast(value: Value, to: &DataType, tz: &TimeZone) -> Result<Value, SqlError> {
    cast_explicit(value, to, tz)
}

/// Rounds half to even, like C's `rint` under the default rounding mode
/// (PostgreSQL's float → integer conversion).
fn rint(f: f64) -> f64 {
    let r = f.round();
    if (f - f.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - f.signum()
    } else {
        r
    }
}

fn int_target_bits(to: &DataType) -> u32 {
    match to {
        DataType::Int2 => 16,
        DataType::Int4 => 32,
        _ => 64,
    }
}

fn make_int(v: i64, to: &DataType) -> Result<Value, SqlError> {
    Ok(match to {
        DataType::Int2 => Value::Int2(i16::try_from(v).map_err(|_| int_out_of_range(16))?),
        DataType::Int4 => Value::Int4(i32::try_from(v).map_err(|_| int_out_of_range(32))?),
        _ => Value::Int8(v),
    })
}

fn float_to_int(f: f64, to: &DataType) -> Result<Value, SqlError> {
    let r = rint(f);
    // -2^63 is exactly representable; 2^63 is not an i64.
    if r.is_nan() || !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&r) {
        return Err(int_out_of_range(int_target_bits(to)));
    }
    make_int(r as i64, to)
}

fn numeric_to_int(n: &Numeric, to: &DataType) -> Result<Value, SqlError> {
    match n {
        Numeric::NaN => Err(SqlError::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            format!("cannot convert NaN to {to}"),
        )),
        Numeric::Value(d) => {
            let v = to_i64_round(d).ok_or_else(|| int_out_of_range(int_target_bits(to)))?;
            make_int(v, to)
        }
    }
}

fn f64_to_f32(f: f64) -> Result<f32, SqlError> {
    let r = f as f32;
    if r.is_infinite() && f.is_finite() {
        return Err(SqlError::new(
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            "value out of range: overflow",
        ));
    }
    if r == 0.0 && f != 0.0 {
        return Err(SqlError::new(
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            "value out of range: underflow",
        ));
    }
    Ok(r)
}

fn numeric_typmod(n: Numeric, to: &DataType) -> Result<Value, SqlError> {
    Ok(Value::Numeric(match to {
        DataType::Numeric(Some((p, s))) => apply_typmod(n, *p, *s)?,
        _ => n,
    }))
}

/// Casts a number (any numeric-family value) to a numeric-family type.
fn cast_number(value: &Value, to: &DataType) -> Result<Value, SqlError> {
    let int = match value {
        Value::Int2(x) => Some(i64::from(*x)),
        Value::Int4(x) => Some(i64::from(*x)),
        Value::Int8(x) => Some(*x),
        _ => None,
    };
    if let Some(i) = int {
        return match to {
            DataType::Int2 | DataType::Int4 | DataType::Int8 => make_int(i, to),
            DataType::Float4 => Ok(Value::Float4(i as f32)),
            DataType::Float8 => Ok(Value::Float8(i as f64)),
            _ => numeric_typmod(Numeric::Value(BigDecimal::from(i)), to),
        };
    }
    match value {
        Value::Float4(f) => match to {
            DataType::Int2 | DataType::Int4 | DataType::Int8 => float_to_int(f64::from(*f), to),
            DataType::Float4 => Ok(Value::Float4(*f)),
            DataType::Float8 => Ok(Value::Float8(f64::from(*f))),
            _ => numeric_typmod(from_f64(f64::from(*f), 6)?, to),
        },
        Value::Float8(f) => match to {
            DataType::Int2 | DataType::Int4 | DataType::Int8 => float_to_int(*f, to),
            DataType::Float4 => Ok(Value::Float4(f64_to_f32(*f)?)),
            DataType::Float8 => Ok(Value::Float8(*f)),
            _ => numeric_typmod(from_f64(*f, 15)?, to),
        },
        Value::Numeric(n) => match to {
            DataType::Int2 | DataType::Int4 | DataType::Int8 => numeric_to_int(n, to),
            DataType::Float4 => Ok(Value::Float4(f64_to_f32(to_f64(n))?)),
            DataType::Float8 => Ok(Value::Float8(to_f64(n))),
            _ => numeric_typmod(n.clone(), to),
        },
        other => Err(cannot_cast(other, to)),
    }
}

fn jsonb_scalar_cast(j: &Json, to: &DataType, value: &Value) -> Result<Value, SqlError> {
    let wrong = || {
        SqlError::new(
            SqlState::INVALID_PARAMETER_VALUE,
            format!("cannot cast jsonb {} to type {to}", type_name(j)),
        )
    };
    match (j, to) {
        (Json::Number(n), t) if t.is_numeric_family() => {
            cast_number(&Value::Numeric(json_number_value(n)), t)
        }
        (Json::Bool(b), DataType::Bool) => Ok(Value::Bool(*b)),
        (_, DataType::Bool) => Err(wrong()),
        (_, t) if t.is_numeric_family() => Err(wrong()),
        _ => Err(cannot_cast(value, to)),
    }
}

fn to_vector(value: &Value, dims: Option<u32>) -> Result<Value, SqlError> {
    let Value::Array(items) = value else {
        return Err(cannot_cast(value, &DataType::Vector(dims)));
    };
    let mut v = Vec::with_capacity(items.len());
    for item in items {
        let f = match item {
            Value::Null => {
                return Err(SqlError::new(
                    SqlState::NOT_NULL_VIOLATION,
                    "array must not contain nulls",
                ))
            }
            Value::Float4(f) => *f,
            other => match cast_number(other, &DataType::Float4)? {
                Value::Float4(f) => f,
                _ => return Err(cannot_cast(other, &DataType::Vector(dims))),
            },
        };
        if f.is_nan() {
            return Err(SqlError::new(
                super::text::DATA_EXCEPTION,
                "NaN not allowed in vector",
            ));
        }
        if f.is_infinite() {
            return Err(SqlError::new(
                super::text::DATA_EXCEPTION,
                "infinite value not allowed in vector",
            ));
        }
        v.push(f);
    }
    if v.is_empty() {
        return Err(SqlError::new(
            super::text::DATA_EXCEPTION,
            "vector must have at least 1 dimension",
        ));
    }
    check_vector_dims(&v, dims)?;
    Ok(Value::Vector(v))
}

fn cast_impl(
    value: Value,
    to: &DataType,
    tz: &TimeZone,
    explicit: bool,
) -> Result<Value, SqlError> {
    use DataType as T;
    if value.is_null() || matches!(to, T::Unknown) {
        return Ok(value);
    }
    // Anything to a string type goes through the text output function
    // (booleans become 'true'/'false' as PostgreSQL's bool → text cast).
    if to.is_string() {
        let s = match &value {
            Value::Bool(b) => if *b { "true" } else { "false" }.to_string(),
            Value::Text(s) => s.clone(),
            other => other.to_pg_text(tz).unwrap_or_default(),
        };
        return Ok(Value::Text(apply_char_length(s, to, explicit)?));
    }
    // From a string: the target's input function.
    if let Value::Text(s) = &value {
        return parse_text(s, to, tz);
    }
    match (&value, to) {
        // An OID alias value is its OID as a number (`regclass::int8`).
        (Value::Reg(_, oid, _), t) if t.is_integer() => make_int(i64::from(*oid), t),
        (Value::Reg(k, _, _), T::Reg(to_kind)) if k == to_kind => Ok(value),
        (v, t) if t.is_numeric_family() && v.data_type().is_numeric_family() => cast_number(v, t),
        (Value::Bool(b), t) if t.is_integer() => make_int(i64::from(*b), t),
        (v, T::Bool) if v.data_type().is_integer() => {
            Ok(Value::Bool(cast_number(v, &T::Int8)? != Value::Int8(0)))
        }
        (Value::Bool(_), T::Bool) => Ok(value),
        (Value::Bytea(_), T::Bytea)
        | (Value::Uuid(_), T::Uuid)
        | (Value::Interval(_), T::Interval) => Ok(value),
        (Value::Date(_), T::Date)
        | (Value::Timestamp(_), T::Timestamp)
        | (Value::Timestamptz(_), T::Timestamptz) => Ok(value),
        (Value::Date(d), T::Timestamp) => Ok(Value::Timestamp(date_to_ts(*d)?)),
        (Value::Date(d), T::Timestamptz) => {
            Ok(Value::Timestamptz(local_to_utc(date_to_ts(*d)?, tz)?))
        }
        (Value::Timestamp(t), T::Date) => Ok(Value::Date(ts_to_date(*t)?)),
        (Value::Timestamp(t), T::Timestamptz) => Ok(Value::Timestamptz(local_to_utc(*t, tz)?)),
        (Value::Timestamptz(t), T::Date) => Ok(Value::Date(ts_to_date(utc_to_local(*t, tz))?)),
        (Value::Timestamptz(t), T::Timestamp) => Ok(Value::Timestamp(utc_to_local(*t, tz))),
        (Value::Json(_), T::Json) => Ok(value),
        // PostgreSQL's json <-> jsonb casts go through the text forms.
        (Value::Json(s), T::Jsonb) => Ok(Value::Jsonb(super::json::parse_jsonb(s)?)),
        (Value::Jsonb(j), T::Json) => Ok(Value::Json(super::json::format_jsonb(j).into())),
        (Value::Jsonb(_), T::Jsonb) => Ok(value),
        (Value::Jsonb(j), t) => jsonb_scalar_cast(j, t, &value),
        (Value::Vector(v), T::Vector(dims)) | (Value::HalfVec(v), T::HalfVec(dims)) => {
            check_vector_dims(v, *dims)?;
            Ok(value)
        }
        (Value::Vector(v) | Value::HalfVec(v), T::Array(elem))
            if matches!(**elem, T::Float4 | T::Float8 | T::Numeric(_)) =>
        {
            let items = v
                .iter()
                .map(|f| cast_number(&Value::Float4(*f), elem))
                .collect::<Result<_, _>>()?;
            Ok(Value::Array(items))
        }
        (Value::Array(_), T::Vector(dims)) => to_vector(&value, *dims),
        // halfvec to and from vector: elements rounded to f16.
        (Value::HalfVec(v), T::Vector(dims)) => {
            check_vector_dims(v, *dims)?;
            Ok(Value::Vector(v.clone()))
        }
        (Value::Vector(v), T::HalfVec(dims)) => {
            check_vector_dims(v, *dims)?;
            Ok(Value::HalfVec(crate::value::bits::to_halfvec(v)?))
        }
        (Value::Array(_), T::HalfVec(dims)) => match to_vector(&value, *dims)? {
            Value::Vector(v) => Ok(Value::HalfVec(crate::value::bits::to_halfvec(&v)?)),
            _ => Err(cannot_cast(&value, to)),
        },
        // bit(n): an explicit cast truncates or zero-pads, an assignment
        // must match the length (22026).
        (Value::Bit(_), T::Bit(None)) => Ok(value),
        (Value::Bit(b), T::Bit(Some(n))) => {
            if explicit {
                Ok(Value::Bit(b.resized(*n)))
            } else {
                b.check_len(*n)?;
                Ok(value)
            }
        }
        // Not in PostgreSQL: JavaScript passes bit strings as Uint8Array
        // (bytea), 8 bits per byte, most significant first.
        (Value::Bytea(bytes), T::Bit(n)) => {
            let b = crate::value::bits::BitString::from_bytes(bytes.clone(), bytes.len() * 8);
            match n {
                Some(n) if explicit => Ok(Value::Bit(b.resized(*n))),
                Some(n) => {
                    b.check_len(*n)?;
                    Ok(Value::Bit(b))
                }
                None => Ok(Value::Bit(b)),
            }
        }
        (Value::Int4(i), T::Bit(n)) if explicit => {
            // int4::bit(n): the low n bits, sign-extended beyond 32
            // (PostgreSQL's bitfromint4).
            let n = n.unwrap_or(1);
            Ok(Value::Bit(crate::value::bits::BitString::from_bools(
                (0..n).rev().map(|k| {
                    if k >= 32 {
                        *i < 0
                    } else {
                        (*i as u32) >> k & 1 == 1
                    }
                }),
            )))
        }
        (Value::Bit(b), T::Int4) if explicit => {
            if b.len > 32 {
                return Err(SqlError::new(
                    SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
                    "integer out of range",
                ));
            }
            Ok(Value::Int4(
                (0..b.len as usize).fold(0u32, |acc, i| acc << 1 | u32::from(b.get(i))) as i32,
            ))
        }
        (Value::Array(items), T::Array(elem)) => {
            let out = items
                .iter()
                .map(|i| match i {
                    // Nested arrays are further dimensions of the same type.
                    Value::Array(_) => cast_impl(i.clone(), to, tz, explicit),
                    _ => cast_impl(i.clone(), elem, tz, explicit),
                })
                .collect::<Result<_, _>>()?;
            Ok(Value::Array(out))
        }
        _ => Err(cannot_cast(&value, to)),
    }
}

/// `to_jsonb(value)`: SQL values as JSON (numbers stay exact, timestamps
/// in ISO 8601 with `T`, arrays as JSON arrays, text as strings).
pub fn to_jsonb(value: &Value, tz: &TimeZone) -> Result<Json, SqlError> {
    Ok(match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int2(_) | Value::Int4(_) | Value::Int8(_) | Value::Numeric(_) => {
            let n = match cast_number(value, &DataType::Numeric(None))? {
                Value::Numeric(n) => n,
                _ => Numeric::NaN,
            };
            match n {
                Numeric::NaN => Json::String("NaN".into()),
                n => Json::Number(numeric_to_json(&n)?),
            }
        }
        Value::Float4(_) | Value::Float8(_) => {
            let text = value.to_pg_text(tz).unwrap_or_default();
            match super::numeric::parse_numeric(&text) {
                Ok(Numeric::Value(d)) => Json::Number(numeric_to_json(&Numeric::Value(d))?),
                _ => Json::String(text),
            }
        }
        Value::Jsonb(j) => j.clone(),
        Value::Json(s) => super::json::parse_jsonb(s)?,
        Value::Array(items) => Json::Array(
            items
                .iter()
                .map(|i| to_jsonb(i, tz))
                .collect::<Result<_, _>>()?,
        ),
        Value::Vector(v) => Json::Array(
            v.iter()
                .map(|f| to_jsonb(&Value::Float4(*f), tz))
                .collect::<Result<_, _>>()?,
        ),
        Value::Timestamp(_) | Value::Timestamptz(_) => {
            let text = value.to_pg_text(tz).unwrap_or_default();
            let iso = text.replacen(' ', "T", 1);
            // PostgreSQL writes full offsets in JSON (`+00:00`).
            let iso = match (value, iso.rfind(['+', '-'])) {
                (Value::Timestamptz(_), Some(i)) if i > 10 && iso.len() - i == 3 => {
                    format!("{iso}:00")
                }
                _ => iso,
            };
            Json::String(iso)
        }
        other => Json::String(other.to_pg_text(tz).unwrap_or_default()),
    })
}

fn numeric_rank(t: &DataType) -> Option<u8> {
    Some(match t {
        DataType::Int2 => 1,
        DataType::Int4 => 2,
        DataType::Int8 => 3,
        DataType::Numeric(_) => 4,
        DataType::Float4 => 5,
        DataType::Float8 => 6,
        _ => return None,
    })
}

fn datetime_rank(t: &DataType) -> Option<u8> {
    Some(match t {
        DataType::Date => 1,
        DataType::Timestamp => 2,
        DataType::Timestamptz => 3,
        _ => return None,
    })
}

/// The type two branches of a UNION/CASE/COALESCE/VALUES column resolve to
/// (PostgreSQL's `select_common_type` for the categories we have): an
/// `unknown` side takes the other's type (two unknowns are text); numbers
/// widen int2 < int4 < int8 < numeric < float4 < float8; strings resolve to
/// text unless both are the same; date < timestamp < timestamptz. Type
/// modifiers that differ are dropped. `None`: no common type (42804).
pub fn common_type(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType as T;
    Some(match (a, b) {
        (T::Unknown, T::Unknown) => T::Text,
        (T::Unknown, t) | (t, T::Unknown) => t.clone(),
        (x, y) if x == y => x.clone(),
        (T::Numeric(_), T::Numeric(_)) => T::Numeric(None),
        (T::Varchar(_), T::Varchar(_)) => T::Varchar(None),
        (T::Vector(_), T::Vector(_)) => T::Vector(None),
        (T::HalfVec(_), T::HalfVec(_)) => T::HalfVec(None),
        (T::Bit(_), T::Bit(_)) => T::Bit(None),
        (x, y) if x.is_string() && y.is_string() => T::Text,
        (T::Array(x), T::Array(y)) => T::Array(Box::new(common_type(x, y)?)),
        // `regclass = oid`: PostgreSQL compares the OIDs (oid is an
        // integer column here, see engine/system.rs).
        (T::Reg(_), y) if y.is_integer() => T::Int8,
        (x, T::Reg(_)) if x.is_integer() => T::Int8,
        (x, y) => {
            if let (Some(p), Some(q)) = (numeric_rank(x), numeric_rank(y)) {
                if p >= q {
                    x.clone()
                } else {
                    y.clone()
                }
            } else if let (Some(p), Some(q)) = (datetime_rank(x), datetime_rank(y)) {
                if p >= q {
                    x.clone()
                } else {
                    y.clone()
                }
            } else {
                return None;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::json::format_jsonb;

    fn utc() -> TimeZone {
        TimeZone::utc()
    }

    fn c(v: Value, t: DataType) -> Result<Value, SqlError> {
        cast_explicit(v, &t, &utc())
    }

    fn ct(v: Value, t: DataType) -> String {
        c(v, t).unwrap().to_pg_text(&utc()).unwrap()
    }

    fn p(s: &str, t: DataType) -> Value {
        parse_text(s, &t, &utc()).unwrap()
    }

    #[test]
    fn numeric_family() {
        assert_eq!(
            c(Value::Float8(2.5), DataType::Int4).unwrap(),
            Value::Int4(2)
        );
        assert_eq!(
            c(Value::Float8(3.5), DataType::Int4).unwrap(),
            Value::Int4(4)
        );
        assert_eq!(
            c(Value::Float8(-2.5), DataType::Int4).unwrap(),
            Value::Int4(-2)
        );
        assert_eq!(
            c(p("2.5", DataType::Numeric(None)), DataType::Int4).unwrap(),
            Value::Int4(3)
        );
        assert_eq!(
            c(Value::Int4(70000), DataType::Int2).unwrap_err().message,
            "smallint out of range"
        );
        assert_eq!(
            c(Value::Float8(f64::NAN), DataType::Int4)
                .unwrap_err()
                .message,
            "integer out of range"
        );
        assert_eq!(
            c(Value::Float8(1e19), DataType::Int8).unwrap_err().message,
            "bigint out of range"
        );
        assert_eq!(
            c(Value::Numeric(Numeric::NaN), DataType::Int4)
                .unwrap_err()
                .message,
            "cannot convert NaN to integer"
        );
        assert_eq!(ct(Value::Float8(0.1), DataType::Numeric(None)), "0.1");
        assert_eq!(ct(Value::Float4(0.1), DataType::Numeric(None)), "0.1");
        assert_eq!(ct(Value::Int4(5), DataType::Numeric(Some((5, 2)))), "5.00");
        assert_eq!(
            ct(
                p("1.005", DataType::Numeric(None)),
                DataType::Numeric(Some((4, 2)))
            ),
            "1.01"
        );
        assert_eq!(
            c(Value::Float8(1e300), DataType::Float4)
                .unwrap_err()
                .message,
            "value out of range: overflow"
        );
        assert_eq!(
            c(Value::Int4(2), DataType::Bool).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            c(Value::Bool(true), DataType::Int4).unwrap(),
            Value::Int4(1)
        );
    }

    #[test]
    fn strings_and_dates() {
        assert_eq!(ct(Value::Bool(true), DataType::Text), "true");
        assert_eq!(
            ct(Value::Text("abcdef".into()), DataType::Varchar(Some(3))),
            "abc"
        );
        assert_eq!(ct(Value::Text("ab".into()), DataType::Char(4)), "ab  ");
        let e = cast_assignment(
            Value::Text("abcdef".into()),
            &DataType::Varchar(Some(3)),
            &utc(),
        )
        .unwrap_err();
        assert_eq!(e.message, "value too long for type character varying(3)");
        assert_eq!(ct(Value::Text(" 42 ".into()), DataType::Int4), "42");
        assert_eq!(ct(Value::Int4(42), DataType::Text), "42");
        let d = p("2024-01-01", DataType::Date);
        assert_eq!(
            ct(d.clone(), DataType::Timestamptz),
            "2024-01-01 00:00:00+00"
        );
        let plus2 = TimeZone::from_utc_offset(7200).unwrap();
        let t = cast_explicit(d, &DataType::Timestamptz, &plus2).unwrap();
        assert_eq!(t.to_pg_text(&utc()).unwrap(), "2023-12-31 22:00:00+00");
        let back = cast_explicit(t, &DataType::Date, &plus2).unwrap();
        assert_eq!(back.to_pg_text(&utc()).unwrap(), "2024-01-01");
        assert_eq!(
            ct(p("2024-01-01 13:00", DataType::Timestamp), DataType::Date),
            "2024-01-01"
        );
        assert_eq!(
            c(Value::Date(0), DataType::Int4).unwrap_err().code,
            SqlState::CANNOT_COERCE
        );
    }

    #[test]
    fn jsonb_vector_arrays() {
        let j = |s: &str| p(s, DataType::Jsonb);
        assert_eq!(c(j("1.5"), DataType::Int4).unwrap(), Value::Int4(2));
        assert_eq!(ct(j("1.5"), DataType::Numeric(None)), "1.5");
        assert_eq!(c(j("true"), DataType::Bool).unwrap(), Value::Bool(true));
        let e = c(j("{}"), DataType::Int4).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                SqlState::INVALID_PARAMETER_VALUE,
                "cannot cast jsonb object to type integer"
            )
        );
        assert_eq!(
            c(j("\"1\""), DataType::Int4).unwrap_err().message,
            "cannot cast jsonb string to type integer"
        );
        assert_eq!(
            c(j("null"), DataType::Int4).unwrap_err().message,
            "cannot cast jsonb null to type integer"
        );
        assert_eq!(ct(j("{\"a\":1}"), DataType::Text), "{\"a\": 1}");
        assert_eq!(
            c(Value::Int4(1), DataType::Jsonb).unwrap_err().message,
            "cannot cast type integer to jsonb"
        );
        let reals = DataType::Array(Box::new(DataType::Float4));
        let arr = p("{1.5,2}", reals.clone());
        assert_eq!(ct(arr.clone(), DataType::Vector(Some(2))), "[1.5,2]");
        assert_eq!(
            c(arr, DataType::Vector(Some(3))).unwrap_err().message,
            "expected 3 dimensions, not 2"
        );
        assert_eq!(ct(Value::Vector(vec![1.0, 2.5]), reals), "{1,2.5}");
        let ints = p(
            "{{1,2},{3,NULL}}",
            DataType::Array(Box::new(DataType::Int4)),
        );
        assert_eq!(
            ct(ints, DataType::Array(Box::new(DataType::Text))),
            "{{1,2},{3,NULL}}"
        );
        assert_eq!(
            ct(
                Value::Text("{1,2}".into()),
                DataType::Array(Box::new(DataType::Int8))
            ),
            "{1,2}"
        );
    }

    #[test]
    fn to_jsonb_values() {
        let tz = utc();
        let f = |v: Value| format_jsonb(&to_jsonb(&v, &tz).unwrap());
        assert_eq!(f(Value::Int4(1)), "1");
        assert_eq!(f(Value::Float8(1.5)), "1.5");
        assert_eq!(f(Value::Text("a\"b".into())), r#""a\"b""#);
        assert_eq!(
            f(p("2024-01-01 10:00+00", DataType::Timestamptz)),
            r#""2024-01-01T10:00:00+00:00""#
        );
        assert_eq!(
            f(p("{1,NULL}", DataType::Array(Box::new(DataType::Int4)))),
            "[1, null]"
        );
    }

    #[test]
    fn common_types() {
        use DataType as T;
        assert_eq!(common_type(&T::Int4, &T::Int8), Some(T::Int8));
        assert_eq!(common_type(&T::Int8, &T::Float4), Some(T::Float4));
        assert_eq!(
            common_type(&T::Numeric(Some((5, 2))), &T::Int4),
            Some(T::Numeric(Some((5, 2))))
        );
        assert_eq!(common_type(&T::Numeric(None), &T::Float8), Some(T::Float8));
        assert_eq!(common_type(&T::Unknown, &T::Date), Some(T::Date));
        assert_eq!(common_type(&T::Unknown, &T::Unknown), Some(T::Text));
        assert_eq!(common_type(&T::Varchar(Some(3)), &T::Text), Some(T::Text));
        assert_eq!(
            common_type(&T::Varchar(Some(3)), &T::Varchar(Some(5))),
            Some(T::Varchar(None))
        );
        assert_eq!(common_type(&T::Date, &T::Timestamptz), Some(T::Timestamptz));
        assert_eq!(common_type(&T::Text, &T::Int4), None);
        assert_eq!(
            common_type(&T::Array(Box::new(T::Int4)), &T::Array(Box::new(T::Int8))),
            Some(T::Array(Box::new(T::Int8)))
        );
    }
}
