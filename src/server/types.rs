//! Values on the wire: type OIDs, text and binary formats of the common
//! types (PostgreSQL's `*send` / `*recv` functions).

use crate::error::{SqlError, SqlState};
use crate::value::text::parse_text;
use crate::value::tz::TimeZone;
use crate::value::{DataType, Interval, Numeric, Value};

/// The PostgreSQL type OID of a column or parameter type (the shared
/// `DataType::oid` table). `unknown` (a bare `$1` or literal) is reported
/// as `text`, which is how its values are sent.
pub fn type_oid(ty: &DataType) -> u32 {
    match ty {
        DataType::Unknown => DataType::Text.oid(),
        t => t.oid(),
    }
}

/// The type a client means by an OID in Parse (0 = unspecified).
pub fn type_from_oid(oid: u32) -> Option<DataType> {
    Some(match oid {
        16 => DataType::Bool,
        17 => DataType::Bytea,
        20 => DataType::Int8,
        21 => DataType::Int2,
        23 => DataType::Int4,
        // text, name, bpchar, varchar, unknown all carry a string.
        25 | 19 | 705 => DataType::Text,
        1042 => DataType::Char(1),
        1043 => DataType::Varchar(None),
        700 => DataType::Float4,
        701 => DataType::Float8,
        1082 => DataType::Date,
        1114 => DataType::Timestamp,
        1184 => DataType::Timestamptz,
        1186 => DataType::Interval,
        1700 => DataType::Numeric(None),
        2950 => DataType::Uuid,
        114 => DataType::Json,
        3802 => DataType::Jsonb,
        _ => return None,
    })
}

fn invalid_binary(ty: &DataType) -> SqlError {
    SqlError::new(
        SqlState("22P03"),
        format!("incorrect binary data format in bind parameter of type {ty}"),
    )
}

fn unsupported_binary(ty: &DataType) -> SqlError {
    SqlError::new(
        SqlState::FEATURE_NOT_SUPPORTED,
        format!("binary format for type {ty} is not supported; use text"),
    )
}

/// A text-format parameter. With a known type it is parsed here, so that
/// `SELECT $1` has that type; otherwise it stays text and the engine
/// converts it to whatever type the statement infers.
pub fn decode_text(bytes: &[u8], ty: Option<&DataType>, tz: &TimeZone) -> Result<Value, SqlError> {
    let s = std::str::from_utf8(bytes).map_err(|_| {
        SqlError::new(
            SqlState::CHARACTER_NOT_IN_REPERTOIRE,
            "invalid byte sequence for encoding \"UTF8\"",
        )
    })?;
    match ty {
        None | Some(DataType::Text | DataType::Varchar(_) | DataType::Char(_)) => {
            Ok(Value::Text(s.to_string()))
        }
        Some(t) => parse_text(s, t, tz),
    }
}

fn fixed<const N: usize>(bytes: &[u8], ty: &DataType) -> Result<[u8; N], SqlError> {
    bytes.try_into().map_err(|_| invalid_binary(ty))
}

/// A binary-format parameter of type `ty`.
pub fn decode_binary(bytes: &[u8], ty: &DataType) -> Result<Value, SqlError> {
    Ok(match ty {
        DataType::Bool => Value::Bool(fixed::<1>(bytes, ty)?[0] != 0),
        DataType::Int2 => Value::Int2(i16::from_be_bytes(fixed(bytes, ty)?)),
        DataType::Int4 => Value::Int4(i32::from_be_bytes(fixed(bytes, ty)?)),
        DataType::Int8 => Value::Int8(i64::from_be_bytes(fixed(bytes, ty)?)),
        DataType::Float4 => Value::Float4(f32::from_be_bytes(fixed(bytes, ty)?)),
        DataType::Float8 => Value::Float8(f64::from_be_bytes(fixed(bytes, ty)?)),
        DataType::Text | DataType::Varchar(_) | DataType::Char(_) | DataType::Unknown => {
            Value::Text(String::from_utf8(bytes.to_vec()).map_err(|_| invalid_binary(ty))?)
        }
        DataType::Bytea => Value::Bytea(bytes.to_vec()),
        DataType::Date => Value::Date(i32::from_be_bytes(fixed(bytes, ty)?)),
        DataType::Timestamp => Value::Timestamp(i64::from_be_bytes(fixed(bytes, ty)?)),
        DataType::Timestamptz => Value::Timestamptz(i64::from_be_bytes(fixed(bytes, ty)?)),
        DataType::Interval => {
            let b: [u8; 16] = fixed(bytes, ty)?;
            Value::Interval(Interval {
                micros: i64::from_be_bytes(b[0..8].try_into().expect("8 bytes")),
                days: i32::from_be_bytes(b[8..12].try_into().expect("4 bytes")),
                months: i32::from_be_bytes(b[12..16].try_into().expect("4 bytes")),
            })
        }
        DataType::Uuid => Value::Uuid(fixed(bytes, ty)?),
        DataType::Json => {
            let s = std::str::from_utf8(bytes).map_err(|_| invalid_binary(ty))?;
            parse_text(s, ty, &TimeZone::utc())?
        }
        DataType::Jsonb => {
            // jsonb's binary form is a version byte (1) and the text.
            let text = match bytes.split_first() {
                Some((1, rest)) => rest,
                _ => bytes,
            };
            let s = std::str::from_utf8(text).map_err(|_| invalid_binary(ty))?;
            parse_text(s, ty, &TimeZone::utc())?
        }
        DataType::Numeric(_) => decode_numeric(bytes).ok_or_else(|| invalid_binary(ty))?,
        _ => return Err(unsupported_binary(ty)),
    })
}

/// A result value in binary format.
pub fn encode_binary(v: &Value, tz: &TimeZone) -> Result<Vec<u8>, SqlError> {
    Ok(match v {
        Value::Null => Vec::new(),
        Value::Bool(b) => vec![u8::from(*b)],
        Value::Int2(i) => i.to_be_bytes().to_vec(),
        Value::Int4(i) => i.to_be_bytes().to_vec(),
        Value::Int8(i) => i.to_be_bytes().to_vec(),
        Value::Float4(f) => f.to_be_bytes().to_vec(),
        Value::Float8(f) => f.to_be_bytes().to_vec(),
        Value::Text(s) => s.as_bytes().to_vec(),
        Value::Bytea(b) => b.clone(),
        Value::Date(d) => d.to_be_bytes().to_vec(),
        Value::Timestamp(t) | Value::Timestamptz(t) => t.to_be_bytes().to_vec(),
        Value::Interval(i) => {
            let mut out = i.micros.to_be_bytes().to_vec();
            out.extend_from_slice(&i.days.to_be_bytes());
            out.extend_from_slice(&i.months.to_be_bytes());
            out
        }
        Value::Uuid(u) => u.to_vec(),
        // json's binary form is its text.
        Value::Json(s) => s.as_bytes().to_vec(),
        Value::Jsonb(_) => {
            let mut out = vec![1u8];
            out.extend_from_slice(v.to_pg_text(tz).unwrap_or_default().as_bytes());
            out
        }
        Value::Numeric(n) => encode_numeric(n),
        Value::Vector(items) => {
            // pgvector's vector_send: dimensions, an unused word, floats.
            let mut out = (items.len() as u16).to_be_bytes().to_vec();
            out.extend_from_slice(&0u16.to_be_bytes());
            for f in items {
                out.extend_from_slice(&f.to_be_bytes());
            }
            out
        }
        Value::HalfVec(items) => {
            // pgvector's halfvec_send: dimensions, an unused word, f16s.
            let mut out = (items.len() as u16).to_be_bytes().to_vec();
            out.extend_from_slice(&0u16.to_be_bytes());
            for f in items {
                out.extend_from_slice(&half::f16::from_f32(*f).to_be_bytes());
            }
            out
        }
        Value::Bit(b) => {
            // bit_send: the length in bits, then the packed bytes.
            let mut out = (b.len as i32).to_be_bytes().to_vec();
            out.extend_from_slice(&b.bytes);
            out
        }
        Value::Array(_) => return Err(unsupported_binary(&v.data_type())),
        Value::Reg(_, oid, _) => oid.to_be_bytes().to_vec(),
    })
}

const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;

/// numeric_send: base-10000 digits with a weight (power of 10000 of the
/// first digit), sign and display scale.
fn encode_numeric(n: &Numeric) -> Vec<u8> {
    let header = |ndigits: i16, weight: i16, sign: u16, dscale: i16| {
        let mut out = Vec::with_capacity(8 + 2 * ndigits.max(0) as usize);
        out.extend_from_slice(&ndigits.to_be_bytes());
        out.extend_from_slice(&weight.to_be_bytes());
        out.extend_from_slice(&sign.to_be_bytes());
        out.extend_from_slice(&dscale.to_be_bytes());
        out
    };
    let Numeric::Value(d) = n else {
        return header(0, 0, NUMERIC_NAN, 0);
    };
    let text = d.to_plain_string();
    let (neg, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let int_part = int_part.trim_start_matches('0');
    let dscale = frac_part.len() as i16;
    // Pad to whole base-10000 groups on both sides of the point.
    let int_pad = (4 - int_part.len() % 4) % 4;
    let frac_pad = (4 - frac_part.len() % 4) % 4;
    let digits_str = format!(
        "{}{}{}{}",
        "0".repeat(int_pad),
        int_part,
        frac_part,
        "0".repeat(frac_pad)
    );
    let mut groups: Vec<i16> = digits_str
        .as_bytes()
        .chunks(4)
        .map(|c| c.iter().fold(0i16, |acc, d| acc * 10 + i16::from(d - b'0')))
        .collect();
    let mut weight = ((int_pad + int_part.len()) / 4) as i16 - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let sign = if neg && !groups.is_empty() {
        NUMERIC_NEG
    } else {
        NUMERIC_POS
    };
    let mut out = header(groups.len() as i16, weight, sign, dscale);
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
    out
}

fn decode_numeric(b: &[u8]) -> Option<Value> {
    let word =
        |i: usize| -> Option<i16> { Some(i16::from_be_bytes(b.get(i..i + 2)?.try_into().ok()?)) };
    let ndigits = usize::try_from(word(0)?).ok()?;
    let weight = i64::from(word(2)?);
    let sign = word(4)? as u16;
    let dscale = usize::try_from(word(6)?).ok()?;
    if b.len() != 8 + 2 * ndigits {
        return None;
    }
    if sign == NUMERIC_NAN {
        return Some(Value::Numeric(Numeric::NaN));
    }
    let mut int_part = String::new();
    let mut frac_part = String::new();
    for k in 0..ndigits {
        let d = word(8 + 2 * k)?;
        if !(0..10000).contains(&d) {
            return None;
        }
        let pos = weight - k as i64;
        if pos >= 0 {
            int_part.push_str(&format!("{d:04}"));
        } else {
            // Missing groups between the point and this one are zeros.
            while (frac_part.len() as i64) < (-pos - 1) * 4 {
                frac_part.push_str("0000");
            }
            frac_part.push_str(&format!("{d:04}"));
        }
    }
    // Groups between the last digit and the point are zeros.
    let last_pos = weight - ndigits as i64 + 1;
    if ndigits > 0 && last_pos > 0 {
        for _ in 0..last_pos {
            int_part.push_str("0000");
        }
    }
    if int_part.is_empty() {
        int_part.push('0');
    }
    frac_part.truncate(dscale);
    while frac_part.len() < dscale {
        frac_part.push('0');
    }
    let text = format!(
        "{}{}{}{}",
        if sign == NUMERIC_NEG { "-" } else { "" },
        int_part,
        if dscale > 0 { "." } else { "" },
        frac_part
    );
    parse_text(&text, &DataType::Numeric(None), &TimeZone::utc()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(s: &str) -> Value {
        parse_text(s, &DataType::Numeric(None), &TimeZone::utc()).unwrap()
    }

    #[test]
    fn numeric_binary_round_trips() {
        let tz = TimeZone::utc();
        for s in [
            "0",
            "1",
            "-1",
            "12345.678",
            "0.0001",
            "10000",
            "-99990000.5",
            "1.50",
            "NaN",
        ] {
            let v = numeric(s);
            let Value::Numeric(n) = &v else {
                unreachable!()
            };
            let bytes = encode_numeric(n);
            let back = decode_numeric(&bytes).unwrap();
            assert_eq!(back.to_pg_text(&tz), v.to_pg_text(&tz), "{s}");
        }
        // PostgreSQL's own bytes for 12345.678: 3 digits, weight 1, scale 3.
        let Value::Numeric(n) = numeric("12345.678") else {
            unreachable!()
        };
        assert_eq!(
            encode_numeric(&n),
            vec![0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c]
        );
    }

    #[test]
    fn fixed_width_types_round_trip_and_reject_bad_lengths() {
        let tz = TimeZone::utc();
        for (v, ty) in [
            (Value::Int4(-7), DataType::Int4),
            (Value::Int8(1 << 40), DataType::Int8),
            (Value::Bool(true), DataType::Bool),
            (Value::Float8(2.5), DataType::Float8),
            (Value::Timestamptz(123_456_789), DataType::Timestamptz),
            (Value::Text("héllo".into()), DataType::Text),
        ] {
            let b = encode_binary(&v, &tz).unwrap();
            assert_eq!(decode_binary(&b, &ty).unwrap(), v);
        }
        assert_eq!(
            decode_binary(&[0, 1], &DataType::Int4).unwrap_err().code,
            SqlState("22P03")
        );
    }
}
