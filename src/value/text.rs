//! Text I/O: PostgreSQL's output functions ([`Value::to_pg_text`]) and
//! input functions ([`parse_text`]) for every [`DataType`].

use super::datetime::{
    format_date, format_interval, format_timestamp, parse_date, parse_interval, parse_timestamp,
};
use super::json::{format_jsonb, parse_jsonb};
use super::numeric::{apply_typmod, format_numeric, parse_numeric};
use super::types::DataType;
use super::tz::TimeZone;
use super::Value;
use crate::error::{SqlError, SqlState};

/// SQLSTATE 22000 (`data_exception`), which pgvector uses for dimension
/// mismatches.
pub const DATA_EXCEPTION: SqlState = SqlState("22000");

/// Formats a float the way PostgreSQL 12+ does (`extra_float_digits` = 1):
/// the shortest text that round-trips, in exponent form when the decimal
/// exponent is below -4 or at least `max_fixed_exp` (15 for float8, 6 for
/// float4), with at least two exponent digits (`1e+20`, `1.5e-07`).
fn format_float_parts(sci: &str, max_fixed_exp: i32) -> String {
    // `sci` is Rust's shortest `{:e}` form, e.g. "-1.5e-7".
    let (mant, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if exp < -4 || exp >= max_fixed_exp {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format!(
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        ));
    } else if exp < 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-exp - 1) as usize));
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            out.push_str(&"0".repeat(int_len - digits.len()));
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

fn special_float(f: f64) -> Option<&'static str> {
    if f.is_nan() {
        Some("NaN")
    } else if f == f64::INFINITY {
        Some("Infinity")
    } else if f == f64::NEG_INFINITY {
        Some("-Infinity")
    } else {
        None
    }
}

/// `float8` output.
pub fn format_f64(f: f64) -> String {
    if let Some(s) = special_float(f) {
        return s.into();
    }
    format_float_parts(&format!("{f:e}"), 15)
}

/// `float4` output (also pgvector's element output).
pub fn format_f32(f: f32) -> String {
    if let Some(s) = special_float(f64::from(f)) {
        return s.into();
    }
    format_float_parts(&format!("{f:e}"), 6)
}

/// `bytea` output in the default `hex` format: `\x0a0b`.
pub fn format_bytea(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 + 2 * b.len());
    s.push_str("\\x");
    for &byte in b {
        s.push(HEX[(byte >> 4) as usize] as char);
        s.push(HEX[(byte & 15) as usize] as char);
    }
    s
}

/// Lowercase hyphenated uuid.
pub fn format_uuid(u: &[u8; 16]) -> String {
    let hex = format_bytea(u);
    let h = &hex[2..];
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// pgvector output: `[1,2.5,3]`.
pub fn format_vector(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|f| format_f32(*f)).collect();
    format!("[{}]", parts.join(","))
}

/// Whether an array element needs double quotes in array output.
fn needs_quotes(s: &str) -> bool {
    s.is_empty()
        || s.eq_ignore_ascii_case("null")
        || s.chars()
            .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_ascii_whitespace())
}

fn format_array(items: &[Value], tz: &TimeZone) -> String {
    let mut out = String::from("{");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match item {
            Value::Null => out.push_str("NULL"),
            Value::Array(inner) => out.push_str(&format_array(inner, tz)),
            other => {
                let s = other.to_pg_text(tz).unwrap_or_default();
                if needs_quotes(&s) {
                    out.push('"');
                    for c in s.chars() {
                        if c == '"' || c == '\\' {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push('"');
                } else {
                    out.push_str(&s);
                }
            }
        }
    }
    out.push('}');
    out
}

impl Value {
    /// PostgreSQL's text output of this value (what `psql` shows and the
    /// wire protocol sends in text format); `None` for NULL. `tz` is the
    /// session time zone, used only by `timestamptz`.
    pub fn to_pg_text(&self, tz: &TimeZone) -> Option<String> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(b) => if *b { "t" } else { "f" }.into(),
            Value::Int2(v) => v.to_string(),
            Value::Int4(v) => v.to_string(),
            Value::Int8(v) => v.to_string(),
            Value::Float4(f) => format_f32(*f),
            Value::Float8(f) => format_f64(*f),
            Value::Numeric(n) => format_numeric(n),
            Value::Text(s) => s.clone(),
            Value::Bytea(b) => format_bytea(b),
            Value::Date(d) => format_date(*d),
            Value::Timestamp(t) => format_timestamp(*t, None),
            Value::Timestamptz(t) => format_timestamp(*t, Some(tz)),
            Value::Interval(iv) => format_interval(iv),
            Value::Uuid(u) => format_uuid(u),
            Value::Json(s) => s.to_string(),
            Value::Jsonb(j) => format_jsonb(j),
            Value::Vector(v) | Value::HalfVec(v) => format_vector(v),
            Value::Bit(b) => b.format(),
            Value::Array(items) => format_array(items, tz),
            Value::Reg(_, _, name) => name.to_string(),
        })
    }
}

fn invalid_syntax(type_name: &str, input: &str) -> SqlError {
    SqlError::new(
        SqlState::INVALID_TEXT_REPRESENTATION,
        format!("invalid input syntax for type {type_name}: \"{input}\""),
    )
}

/// Integer input: optional sign, decimal digits, surrounding whitespace.
fn parse_int(input: &str, type_name: &str, min: i64, max: i64) -> Result<i64, SqlError> {
    let s = input.trim_matches(|c: char| c.is_ascii_whitespace());
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid_syntax(type_name, input));
    }
    let out_of_range = || {
        SqlError::new(
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("value \"{input}\" is out of range for type {type_name}"),
        )
    };
    let mut v: i64 = 0;
    for b in digits.bytes() {
        let d = i64::from(b - b'0');
        // Accumulate negatively so that i64::MIN parses.
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_sub(d))
            .ok_or_else(out_of_range)?;
    }
    let v = if neg {
        v
    } else {
        v.checked_neg().ok_or_else(out_of_range)?
    };
    if v < min || v > max {
        return Err(out_of_range());
    }
    Ok(v)
}

/// Float input: decimal/exponent forms, `NaN`, `Infinity`, `inf`.
fn parse_float(input: &str, type_name: &str, is_f32: bool) -> Result<f64, SqlError> {
    let s = input.trim_matches(|c: char| c.is_ascii_whitespace());
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    let valid_chars = body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'));
    let special = matches!(body, "nan" | "inf" | "infinity");
    if s.is_empty()
        || !(valid_chars || special)
        || lower.starts_with("+-")
        || lower.starts_with("-+")
    {
        return Err(invalid_syntax(type_name, input));
    }
    let v: f64 = lower
        .parse()
        .map_err(|_| invalid_syntax(type_name, input))?;
    let out_of_range = || {
        SqlError::new(
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("\"{input}\" is out of range for type {type_name}"),
        )
    };
    if !special {
        let has_nonzero_digit = body
            .split(['e'])
            .next()
            .is_some_and(|m| m.bytes().any(|b| (b'1'..=b'9').contains(&b)));
        if is_f32 {
            let f = v as f32;
            if f.is_infinite() || (f == 0.0 && has_nonzero_digit) {
                return Err(out_of_range());
            }
            return Ok(f64::from(
                lower
                    .parse::<f32>()
                    .map_err(|_| invalid_syntax(type_name, input))?,
            ));
        }
        if v.is_infinite() || (v == 0.0 && has_nonzero_digit) {
            return Err(out_of_range());
        }
    }
    Ok(v)
}

fn parse_bool(input: &str) -> Result<bool, SqlError> {
    let s = input.trim().to_ascii_lowercase();
    let prefix_of = |word: &str, min: usize| s.len() >= min && word.starts_with(s.as_str());
    if prefix_of("true", 1) || prefix_of("yes", 1) || prefix_of("on", 2) || s == "1" {
        Ok(true)
    } else if prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || s == "0" {
        Ok(false)
    } else {
        Err(invalid_syntax("boolean", input))
    }
}

/// `bytea` input: `\x` hex (whitespace between digit pairs allowed) or the
/// escape format (`\\`, `\ooo` octal, other bytes literal).
pub fn parse_bytea(input: &str) -> Result<Vec<u8>, SqlError> {
    let b = input.as_bytes();
    if let Some(hex) = input
        .strip_prefix("\\x")
        .or_else(|| input.strip_prefix("\\X"))
    {
        let mut out = Vec::with_capacity(hex.len() / 2);
        let mut pending: Option<u8> = None;
        for c in hex.chars() {
            if c.is_ascii_whitespace() && pending.is_none() {
                continue;
            }
            let d = c.to_digit(16).ok_or_else(|| {
                SqlError::new(
                    SqlState::INVALID_TEXT_REPRESENTATION,
                    format!("invalid hexadecimal digit: \"{c}\""),
                )
            })? as u8;
            match pending.take() {
                None => pending = Some(d),
                Some(hi) => out.push(hi << 4 | d),
            }
        }
        if pending.is_some() {
            return Err(SqlError::new(
                SqlState::INVALID_TEXT_REPRESENTATION,
                "invalid hexadecimal data: odd number of digits",
            ));
        }
        return Ok(out);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
        } else if b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let oct = b.get(i + 1..i + 4).filter(|o| {
                matches!(o[0], b'0'..=b'3') && o[1..].iter().all(|c| matches!(c, b'0'..=b'7'))
            });
            let o = oct.ok_or_else(|| invalid_syntax("bytea", input))?;
            out.push((o[0] - b'0') << 6 | (o[1] - b'0') << 3 | (o[2] - b'0'));
            i += 4;
        }
    }
    Ok(out)
}

/// `uuid` input: 32 hex digits, optional hyphens after any group of four
/// digits, optional surrounding braces.
pub fn parse_uuid(input: &str) -> Result<[u8; 16], SqlError> {
    let bad = || invalid_syntax("uuid", input);
    let s = input.trim();
    let s = match s.strip_prefix('{') {
        Some(r) => r.strip_suffix('}').ok_or_else(bad)?,
        None => s,
    };
    let mut out = [0u8; 16];
    let mut n = 0usize;
    let mut last_hyphen = true;
    for c in s.chars() {
        if c == '-' {
            if last_hyphen || !n.is_multiple_of(4) || n == 32 {
                return Err(bad());
            }
            last_hyphen = true;
            continue;
        }
        last_hyphen = false;
        let d = c.to_digit(16).ok_or_else(bad)? as u8;
        let slot = out.get_mut(n / 2).ok_or_else(bad)?;
        *slot = *slot << 4 | d;
        n += 1;
    }
    if n != 32 || last_hyphen {
        return Err(bad());
    }
    Ok(out)
}

/// pgvector input: `[1,2,3]`; checks the dimension against `vector(n)`.
pub fn parse_vector(input: &str, dims: Option<u32>) -> Result<Vec<f32>, SqlError> {
    parse_float_list(input, dims, "vector")
}

/// pgvector's `halfvec_in`: as `vector`, elements rounded to f16.
pub fn parse_halfvec(input: &str, dims: Option<u32>) -> Result<Vec<f32>, SqlError> {
    crate::value::bits::to_halfvec(&parse_float_list(input, dims, "halfvec")?)
}

fn parse_float_list(input: &str, dims: Option<u32>, ty: &str) -> Result<Vec<f32>, SqlError> {
    let bad = || invalid_syntax(ty, input);
    let s = input.trim();
    let inner = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(bad)?;
    if inner.trim().is_empty() {
        return Err(SqlError::new(
            DATA_EXCEPTION,
            format!("{ty} must have at least 1 dimension"),
        ));
    }
    let mut v = Vec::new();
    for part in inner.split(',') {
        let p = part.trim();
        let word = p.trim_start_matches(['+', '-']).to_ascii_lowercase();
        if matches!(word.as_str(), "nan") {
            return Err(SqlError::new(
                DATA_EXCEPTION,
                format!("NaN not allowed in {ty}"),
            ));
        }
        let f: f32 = if matches!(word.as_str(), "inf" | "infinity") {
            f32::INFINITY
        } else if p.is_empty()
            || !p
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return Err(bad());
        } else {
            p.parse().map_err(|_| bad())?
        };
        if f.is_infinite() {
            return Err(SqlError::new(
                DATA_EXCEPTION,
                format!("infinite value not allowed in {ty}"),
            ));
        }
        v.push(f);
    }
    crate::value::vector::check_max_dims_of(v.len(), ty)?;
    check_vector_dims(&v, dims)?;
    Ok(v)
}

/// pgvector's `expected N dimensions, not M`.
pub fn check_vector_dims(v: &[f32], dims: Option<u32>) -> Result<(), SqlError> {
    if let Some(n) = dims {
        if v.len() != n as usize {
            return Err(SqlError::new(
                DATA_EXCEPTION,
                format!("expected {n} dimensions, not {}", v.len()),
            ));
        }
    }
    Ok(())
}

/// Applies `varchar(n)` / `char(n)` on input or assignment: too-long
/// values are an error unless the excess is only spaces. `char(n)` is
/// blank-padded.
pub fn apply_char_length(s: String, ty: &DataType, explicit: bool) -> Result<String, SqlError> {
    let (limit, pad) = match ty {
        DataType::Varchar(Some(n)) => (*n as usize, false),
        DataType::Char(n) => (*n as usize, true),
        _ => return Ok(s),
    };
    let len = s.chars().count();
    let mut s = s;
    if len > limit {
        let cut = s.char_indices().nth(limit).map_or(s.len(), |(i, _)| i);
        if !explicit && !s[cut..].chars().all(|c| c == ' ') {
            return Err(SqlError::new(
                SqlState::STRING_DATA_RIGHT_TRUNCATION,
                format!("value too long for type {ty}"),
            ));
        }
        s.truncate(cut);
    } else if pad {
        s.extend(std::iter::repeat_n(' ', limit - len));
    }
    Ok(s)
}

fn malformed_array(input: &str, detail: &str) -> SqlError {
    SqlError::new(
        SqlState::INVALID_TEXT_REPRESENTATION,
        format!("malformed array literal: \"{input}\""),
    )
    .with_detail(detail.to_string())
}

/// Parses array text `{1,2,"a b",NULL,{3,4}}` into element strings.
enum ArrayItem {
    Null,
    Text(String),
    Nested(Vec<ArrayItem>),
}

fn parse_array_items(input: &str) -> Result<Vec<ArrayItem>, SqlError> {
    let chars: Vec<char> = input.trim().chars().collect();
    let mut pos = 0;
    if chars.first() != Some(&'{') {
        return Err(malformed_array(
            input,
            "Array value must start with \"{\" or dimension information.",
        ));
    }
    let items = parse_array_level(&chars, &mut pos, input, 0)?;
    if pos != chars.len() {
        return Err(malformed_array(input, "Junk after closing right brace."));
    }
    Ok(items)
}

fn parse_array_level(
    c: &[char],
    pos: &mut usize,
    input: &str,
    depth: usize,
) -> Result<Vec<ArrayItem>, SqlError> {
    if depth > 6 {
        return Err(SqlError::new(
            SqlState::PROGRAM_LIMIT_EXCEEDED,
            "number of array dimensions exceeds the maximum allowed (6)",
        ));
    }
    let unexpected = |ch: Option<&char>| {
        malformed_array(
            input,
            &match ch {
                Some(ch) => format!("Unexpected \"{ch}\" character."),
                None => "Unexpected end of input.".to_string(),
            },
        )
    };
    *pos += 1; // '{'
    let mut items = Vec::new();
    let skip_ws = |pos: &mut usize| {
        while c.get(*pos).is_some_and(|ch| ch.is_whitespace()) {
            *pos += 1;
        }
    };
    skip_ws(pos);
    if c.get(*pos) == Some(&'}') {
        *pos += 1;
        return Ok(items);
    }
    loop {
        skip_ws(pos);
        match c.get(*pos) {
            Some('{') => items.push(ArrayItem::Nested(parse_array_level(
                c,
                pos,
                input,
                depth + 1,
            )?)),
            Some('"') => {
                *pos += 1;
                let mut s = String::new();
                loop {
                    match c.get(*pos) {
                        Some('"') => {
                            *pos += 1;
                            break;
                        }
                        Some('\\') => {
                            let ch = c.get(*pos + 1).ok_or_else(|| unexpected(None))?;
                            s.push(*ch);
                            *pos += 2;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            *pos += 1;
                        }
                        None => return Err(unexpected(None)),
                    }
                }
                items.push(ArrayItem::Text(s));
            }
            Some(',') | Some('}') | None => return Err(unexpected(c.get(*pos))),
            Some(_) => {
                let mut s = String::new();
                while let Some(&ch) = c.get(*pos) {
                    if matches!(ch, ',' | '}') {
                        break;
                    }
                    if matches!(ch, '{' | '"') {
                        return Err(unexpected(Some(&ch)));
                    }
                    if ch == '\\' {
                        s.push(*c.get(*pos + 1).ok_or_else(|| unexpected(None))?);
                        *pos += 2;
                        continue;
                    }
                    s.push(ch);
                    *pos += 1;
                }
                let t = s.trim_end();
                items.push(if t.eq_ignore_ascii_case("null") {
                    ArrayItem::Null
                } else {
                    ArrayItem::Text(t.to_string())
                });
            }
        }
        skip_ws(pos);
        match c.get(*pos) {
            Some(',') => *pos += 1,
            Some('}') => {
                *pos += 1;
                return Ok(items);
            }
            other => return Err(unexpected(other)),
        }
    }
}

fn array_items_to_values(
    items: Vec<ArrayItem>,
    elem: &DataType,
    tz: &TimeZone,
) -> Result<Vec<Value>, SqlError> {
    items
        .into_iter()
        .map(|it| match it {
            ArrayItem::Null => Ok(Value::Null),
            ArrayItem::Text(s) => parse_text(&s, elem, tz),
            ArrayItem::Nested(inner) => Ok(Value::Array(array_items_to_values(inner, elem, tz)?)),
        })
        .collect()
}

/// enum_in: the label itself, if the type has it.
pub fn enum_input(e: &super::types::EnumType, input: &str) -> Result<String, SqlError> {
    if !e.is_resolved() {
        return Err(SqlError::new(
            SqlState::UNDEFINED_OBJECT,
            format!("type \"{}\" does not exist", e.name),
        ));
    }
    if e.position(input).is_none() {
        return Err(SqlError::new(
            SqlState::INVALID_TEXT_REPRESENTATION,
            format!(
                "invalid input value for enum {}: \"{input}\"",
                DataType::Enum(Box::new(e.clone()))
            ),
        ));
    }
    Ok(input.to_string())
}

/// PostgreSQL's input function for `ty`: converts text (a literal, a
/// `COPY` field, a text-format parameter) into a value. `tz` is the
/// session time zone (used by `timestamptz`).
pub fn parse_text(input: &str, ty: &DataType, tz: &TimeZone) -> Result<Value, SqlError> {
    Ok(match ty {
        DataType::Bool => Value::Bool(parse_bool(input)?),
        DataType::Int2 => {
            Value::Int2(parse_int(input, "smallint", i16::MIN.into(), i16::MAX.into())? as i16)
        }
        DataType::Int4 => {
            Value::Int4(parse_int(input, "integer", i32::MIN.into(), i32::MAX.into())? as i32)
        }
        DataType::Int8 => Value::Int8(parse_int(input, "bigint", i64::MIN, i64::MAX)?),
        DataType::Float4 => Value::Float4(parse_float(input, "real", true)? as f32),
        DataType::Float8 => Value::Float8(parse_float(input, "double precision", false)?),
        DataType::Numeric(typmod) => {
            let n = parse_numeric(input)?;
            Value::Numeric(match typmod {
                Some((p, s)) => apply_typmod(n, *p, *s)?,
                None => n,
            })
        }
        DataType::Text | DataType::Unknown | DataType::Varchar(None) => {
            Value::Text(input.to_string())
        }
        DataType::Enum(e) => Value::Text(enum_input(e, input)?),
        DataType::Varchar(Some(_)) | DataType::Char(_) => {
            Value::Text(apply_char_length(input.to_string(), ty, false)?)
        }
        DataType::Bytea => Value::Bytea(parse_bytea(input)?),
        DataType::Date => Value::Date(parse_date(input)?),
        DataType::Timestamp => Value::Timestamp(parse_timestamp(input, None)?),
        DataType::Timestamptz => Value::Timestamptz(parse_timestamp(input, Some(tz))?),
        DataType::Interval => Value::Interval(parse_interval(input)?),
        DataType::Uuid => Value::Uuid(parse_uuid(input)?),
        DataType::Json => {
            crate::value::json_text::parse_json(input)?;
            Value::Json(input.into())
        }
        DataType::Jsonb => Value::Jsonb(parse_jsonb(input)?),
        DataType::Vector(dims) => Value::Vector(parse_vector(input, *dims)?),
        DataType::HalfVec(dims) => Value::HalfVec(parse_halfvec(input, *dims)?),
        DataType::Bit(len) => {
            let b = crate::value::bits::BitString::parse(input)?;
            if let Some(n) = len {
                b.check_len(*n)?;
            }
            Value::Bit(b)
        }
        DataType::Array(elem) => {
            Value::Array(array_items_to_values(parse_array_items(input)?, elem, tz)?)
        }
        // Reading a name needs the catalog: the binder resolves casts to
        // these types (plan.rs, `CatalogInfo`); other inputs (parameters,
        // COPY) cannot.
        DataType::Reg(k) => {
            return Err(SqlError::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                format!(
                    "input of type {} is only supported in casts of constants and columns",
                    k.type_name()
                ),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Interval;

    fn utc() -> TimeZone {
        TimeZone::utc()
    }

    fn out(v: Value) -> String {
        v.to_pg_text(&utc()).unwrap()
    }

    fn rt(s: &str, ty: DataType) -> String {
        out(parse_text(s, &ty, &utc()).unwrap())
    }

    fn err(s: &str, ty: DataType) -> SqlError {
        parse_text(s, &ty, &utc()).unwrap_err()
    }

    #[test]
    fn float_output() {
        let cases: [(f64, &str); 14] = [
            (0.1, "0.1"),
            (1e20, "1e+20"),
            (1e15, "1e+15"),
            (1e14, "100000000000000"),
            (1.5e-7, "1.5e-07"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-0.0, "-0"),
            (123.456, "123.456"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::NAN, "NaN"),
            (1e100, "1e+100"),
            (-2.5, "-2.5"),
        ];
        for (f, s) in cases {
            assert_eq!(format_f64(f), s);
        }
        assert_eq!(format_f32(1e6), "1e+06");
        assert_eq!(format_f32(123456.0), "123456");
        assert_eq!(format_f32(0.1), "0.1");
        assert_eq!(format_f32(1.5e-7), "1.5e-07");
    }

    #[test]
    fn scalar_output() {
        assert_eq!(out(Value::Bool(true)), "t");
        assert_eq!(out(Value::Bytea(vec![10, 11])), "\\x0a0b");
        assert_eq!(out(Value::Vector(vec![1.0, 2.5, 3.0])), "[1,2.5,3]");
        assert_eq!(out(Value::Interval(Interval::default())), "00:00:00");
        assert_eq!(
            out(Value::Array(vec![
                Value::Text("a b".into()),
                Value::Text("".into()),
                Value::Null,
                Value::Text("x\"y".into()),
                Value::Text("NULL".into()),
                Value::Text("a,b".into()),
                Value::Text("a\\b".into())
            ])),
            r#"{"a b","",NULL,"x\"y","NULL","a,b","a\\b"}"#
        );
        assert_eq!(Value::Null.to_pg_text(&utc()), None);
        let tz = TimeZone::from_utc_offset(5 * 3600 + 1800).unwrap();
        let t = parse_text("2024-01-31 13:45:00+00", &DataType::Timestamptz, &utc()).unwrap();
        assert_eq!(t.to_pg_text(&tz).unwrap(), "2024-01-31 19:15:00+05:30");
    }

    #[test]
    fn integer_input() {
        assert_eq!(rt("  42 ", DataType::Int4), "42");
        assert_eq!(rt("-32768", DataType::Int2), "-32768");
        assert_eq!(
            rt("-9223372036854775808", DataType::Int8),
            "-9223372036854775808"
        );
        let e = err("abc", DataType::Int4);
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                SqlState::INVALID_TEXT_REPRESENTATION,
                "invalid input syntax for type integer: \"abc\""
            )
        );
        let e = err("2147483648", DataType::Int4);
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
                "value \"2147483648\" is out of range for type integer"
            )
        );
        assert_eq!(
            err("32768", DataType::Int2).code,
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE
        );
        assert_eq!(
            err("9223372036854775808", DataType::Int8).code,
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE
        );
        for bad in ["", " ", "1.0", "1e3", "+", "- 1", "1 2"] {
            assert_eq!(
                err(bad, DataType::Int8).code,
                SqlState::INVALID_TEXT_REPRESENTATION,
                "{bad}"
            );
        }
    }

    #[test]
    fn float_and_bool_input() {
        assert_eq!(rt(" 1.5e-7 ", DataType::Float8), "1.5e-07");
        assert_eq!(rt("-Infinity", DataType::Float8), "-Infinity");
        assert_eq!(rt("inf", DataType::Float8), "Infinity");
        assert_eq!(rt("nan", DataType::Float4), "NaN");
        assert_eq!(rt("0.1", DataType::Float4), "0.1");
        assert_eq!(
            err("1e400", DataType::Float8).message,
            "\"1e400\" is out of range for type double precision"
        );
        assert_eq!(
            err("1e-400", DataType::Float8).code,
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE
        );
        assert_eq!(
            err("1e40", DataType::Float4).message,
            "\"1e40\" is out of range for type real"
        );
        assert_eq!(
            err("abc", DataType::Float8).message,
            "invalid input syntax for type double precision: \"abc\""
        );
        assert_eq!(
            err("1x", DataType::Float8).code,
            SqlState::INVALID_TEXT_REPRESENTATION
        );
        for t in ["t", "TRUE", " yes ", "on", "1", "y"] {
            assert_eq!(rt(t, DataType::Bool), "t", "{t}");
        }
        for f in ["f", "False", "no", "off", "0", "n"] {
            assert_eq!(rt(f, DataType::Bool), "f", "{f}");
        }
        assert_eq!(
            err("o", DataType::Bool).message,
            "invalid input syntax for type boolean: \"o\""
        );
    }

    #[test]
    fn string_and_binary_input() {
        let e = err("abcdef", DataType::Varchar(Some(5)));
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                SqlState::STRING_DATA_RIGHT_TRUNCATION,
                "value too long for type character varying(5)"
            )
        );
        assert_eq!(rt("abc   ", DataType::Varchar(Some(4))), "abc ");
        assert_eq!(rt("ab", DataType::Char(4)), "ab  ");
        assert_eq!(
            err("abcde", DataType::Char(4)).message,
            "value too long for type character(4)"
        );
        assert_eq!(rt("\\x0A0b", DataType::Bytea), "\\x0a0b");
        assert_eq!(rt("ab\\\\c\\001", DataType::Bytea), "\\x61625c6301");
        assert_eq!(
            err("\\x0g", DataType::Bytea).message,
            "invalid hexadecimal digit: \"g\""
        );
        assert_eq!(
            err("\\9", DataType::Bytea).code,
            SqlState::INVALID_TEXT_REPRESENTATION
        );
        let u = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        assert_eq!(rt(u, DataType::Uuid), u);
        assert_eq!(
            rt("{A0EEBC99-9C0B4EF8-BB6D6BB9-BD380A11}", DataType::Uuid),
            u
        );
        assert_eq!(rt("a0eebc999c0b4ef8bb6d6bb9bd380a11", DataType::Uuid), u);
        for bad in [
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            "-a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc999c0b4ef8bb6d6bb9bd380a11-",
            "xyz",
        ] {
            assert_eq!(
                err(bad, DataType::Uuid).code,
                SqlState::INVALID_TEXT_REPRESENTATION,
                "{bad}"
            );
        }
    }

    #[test]
    fn vector_json_array_input() {
        assert_eq!(rt(" [1, 2.5 ,3] ", DataType::Vector(Some(3))), "[1,2.5,3]");
        let e = err("[1,2]", DataType::Vector(Some(3)));
        assert_eq!(
            (e.code, e.message.as_str()),
            (DATA_EXCEPTION, "expected 3 dimensions, not 2")
        );
        assert_eq!(
            err("[1,,2]", DataType::Vector(None)).code,
            SqlState::INVALID_TEXT_REPRESENTATION
        );
        assert_eq!(err("[]", DataType::Vector(None)).code, DATA_EXCEPTION);
        assert_eq!(
            rt(r#"{"b":[1,2],"a":1}"#, DataType::Jsonb),
            r#"{"a": 1, "b": [1, 2]}"#
        );
        let e = err("{", DataType::Jsonb);
        assert_eq!(e.message, "invalid input syntax for type json");
        let ints = DataType::Array(Box::new(DataType::Int4));
        assert_eq!(rt(" { 1 , 2,NULL, 3 } ", ints.clone()), "{1,2,NULL,3}");
        assert_eq!(rt("{{1,2},{3,4}}", ints.clone()), "{{1,2},{3,4}}");
        assert_eq!(rt("{}", ints.clone()), "{}");
        let texts = DataType::Array(Box::new(DataType::Text));
        assert_eq!(
            rt(r#"{"a b","",NULL,"x\"y","NULL",a\,b}"#, texts.clone()),
            r#"{"a b","",NULL,"x\"y","NULL","a,b"}"#
        );
        for bad in ["1,2", "{1,2", "{1,,2}", "{1}x", "{\"a}", "{a\"b}"] {
            assert_eq!(
                err(bad, texts.clone()).code,
                SqlState::INVALID_TEXT_REPRESENTATION,
                "{bad}"
            );
        }
        assert_eq!(
            err("{1,x}", ints).message,
            "invalid input syntax for type integer: \"x\""
        );
    }
}
