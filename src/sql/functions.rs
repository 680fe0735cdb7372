//! Scalar SQL functions: type resolution ([`function_return_type`]) and
//! evaluation ([`call_function`]).
//!
//! Not provided here: set-returning functions (`generate_series`,
//! `jsonb_object_keys`, `unnest`, …), aggregates, regular-expression
//! functions (`regexp_replace`; `~` is textregexeq here),
//! numeric and interval `to_char` templates, and the lazy forms `coalesce`, `nullif`,
//! `CASE` (the executor evaluates those).

use super::cast::{cast_explicit, common_type, to_jsonb};
use super::datetime::{
    date_to_ts, days_from_ymd, days_in_month, justify_days, justify_hours, justify_interval,
    local_to_utc, ts_from_civil, ts_to_date, utc_to_local, Civil, DATE_INFINITY, DATE_NEG_INFINITY,
    TS_INFINITY, TS_NEG_INFINITY, UNIX_EPOCH_DAYS, USECS_PER_DAY,
};
use super::datetime_fn::{age, date_trunc, extract, parse_with_format, to_char};
use super::json;
use super::md5::md5_hex;
use super::numeric::{
    approx_from_f64, decimal_exponent, division_by_zero, numeric_div_trunc, numeric_mod,
    round_half_away, scale_of, to_f64, trunc_scale,
};
use super::ops::{float_pow, int_out_of_range};
use super::types::DataType;
use super::tz::TimeZone;
use super::value::{Interval, Numeric, Value};
use crate::error::{SqlError, SqlState};
use bigdecimal::num_traits::{Signed, ToPrimitive, Zero};
use bigdecimal::BigDecimal;
use serde_json::Value as Json;
use std::borrow::Cow;
use std::cmp::Ordering;

/// What functions may need from the session and transaction.
pub struct FnContext<'a> {
    /// The session time zone.
    pub tz: &'a TimeZone,
    /// `now()`: the transaction start time, µs since 2000-01-01 UTC. All of
    /// now/current_timestamp/transaction_timestamp/statement_timestamp/
    /// clock_timestamp return it (the caller may pass a fresher time when
    /// it evaluates the latter two).
    pub now_micros: i64,
    /// State of the xorshift64* generator behind `random()` and
    /// `gen_random_uuid()`; the caller seeds it (e.g. from the clock or
    /// `crypto.getRandomValues`). Not cryptographically secure.
    pub rng: &'a mut u64,
}

impl FnContext<'_> {
    fn next_u64(&mut self) -> u64 {
        let mut x = *self.rng;
        if x == 0 {
            x = 0x9E37_79B9_7F4A_7C15;
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn undefined_function(name: &str, types: &[DataType]) -> SqlError {
    let list: Vec<String> = types.iter().map(ToString::to_string).collect();
    SqlError::new(
        SqlState::UNDEFINED_FUNCTION,
        format!("function {name}({}) does not exist", list.join(", ")),
    )
    .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")
}

fn is_str(t: &DataType) -> bool {
    t.is_string() || *t == DataType::Unknown
}

fn is_int(t: &DataType) -> bool {
    t.is_integer() || *t == DataType::Unknown
}

fn is_num(t: &DataType) -> bool {
    t.is_numeric_family() || *t == DataType::Unknown
}

fn is_time(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Date | DataType::Timestamp | DataType::Timestamptz | DataType::Unknown
    )
}

fn is_json(t: &DataType) -> bool {
    matches!(t, DataType::Jsonb | DataType::Unknown)
}

fn is_text_array(t: &DataType) -> bool {
    matches!(t, DataType::Array(e) if is_str(e)) || *t == DataType::Unknown
}

fn is_array(t: &DataType) -> bool {
    matches!(t, DataType::Array(_) | DataType::Unknown)
}

/// numeric when any argument is numeric, else float8 (PostgreSQL picks the
/// float8 variant for integer arguments: float8 is the preferred type).
fn num_or_float(ts: &[DataType]) -> DataType {
    if ts.iter().any(|t| matches!(t, DataType::Numeric(_))) {
        DataType::Numeric(None)
    } else {
        DataType::Float8
    }
}

/// The result type of `name(arg_types…)`, or 42883 when no such function
/// exists. `arg_types` may contain `Unknown` for untyped literals/NULLs.
pub fn function_return_type(name: &str, arg_types: &[DataType]) -> Result<DataType, SqlError> {
    resolve(&name.to_ascii_lowercase(), arg_types)
        .ok_or_else(|| undefined_function(name, arg_types))
}

fn resolve(name: &str, a: &[DataType]) -> Option<DataType> {
    use DataType as T;
    let n = a.len();
    let all = |f: fn(&DataType) -> bool| a.iter().all(f);
    Some(match name {
        "length" | "char_length" | "character_length"
            if n == 1 && (is_str(&a[0]) || a[0] == T::Bytea) =>
        {
            T::Int4
        }
        "octet_length" | "bit_length" if n == 1 && (is_str(&a[0]) || a[0] == T::Bytea) => T::Int4,
        "lower" | "upper" | "initcap" | "reverse" | "quote_ident" if n == 1 && is_str(&a[0]) => {
            T::Text
        }
        "md5" if n == 1 && (is_str(&a[0]) || a[0] == T::Bytea) => T::Text,
        "quote_literal" | "quote_nullable" if n == 1 => T::Text,
        "substr" | "substring"
            if (n == 2 || n == 3) && is_str(&a[0]) && a[1..].iter().all(is_int) =>
        {
            T::Text
        }
        "position" | "strpos" if n == 2 && all(is_str) => T::Int4,
        "replace" if n == 3 && all(is_str) => T::Text,
        "trim" | "btrim" | "ltrim" | "rtrim" if (n == 1 || n == 2) && all(is_str) => T::Text,
        "lpad" | "rpad"
            if (n == 2 || n == 3)
                && is_str(&a[0])
                && is_int(&a[1])
                && a.get(2).is_none_or(is_str) =>
        {
            T::Text
        }
        "left" | "right" | "repeat" if n == 2 && is_str(&a[0]) && is_int(&a[1]) => T::Text,
        "split_part" if n == 3 && is_str(&a[0]) && is_str(&a[1]) && is_int(&a[2]) => T::Text,
        "concat" => T::Text,
        "concat_ws" if n >= 1 && is_str(&a[0]) => T::Text,
        "format" if n >= 1 && is_str(&a[0]) => T::Text,
        "starts_with" if n == 2 && all(is_str) => T::Bool,
        "to_hex" if n == 1 && is_int(&a[0]) => T::Text,
        "ascii" if n == 1 && is_str(&a[0]) => T::Int4,
        "chr" if n == 1 && is_int(&a[0]) => T::Text,
        "string_to_array" if (n == 2 || n == 3) && all(is_str) => T::Array(Box::new(T::Text)),
        // `pg_database.datacl` (aclitem[] in PostgreSQL) is a text column.
        "array_to_string"
            if (n == 2 || n == 3)
                && (is_array(&a[0]) || a[0] == T::Text)
                && a[1..].iter().all(is_str) =>
        {
            T::Text
        }
        "textregexeq" | "textregexne" | "texticregexeq" | "texticregexne"
            if n == 2 && all(is_str) =>
        {
            T::Bool
        }
        "pg_get_userbyid" if n == 1 && is_int(&a[0]) => T::Text,
        "pg_table_is_visible" if n == 1 && is_int(&a[0]) => T::Bool,
        "pg_encoding_to_char" if n == 1 && is_int(&a[0]) => T::Text,
        "format_type" if n == 2 && all(is_int) => T::Text,
        "array_length" | "array_upper" | "array_lower"
            if n == 2 && is_array(&a[0]) && is_int(&a[1]) =>
        {
            T::Int4
        }
        // Our `pg_attrdef.adbin` (and the other expression columns) hold
        // SQL text, which is what pg_get_expr shows; the relation is not
        // needed to read it.
        "pg_get_expr" if (n == 2 || n == 3) && is_str(&a[0]) && is_int(&a[1]) => {
            if n == 3 && !matches!(a[2], T::Bool | T::Unknown) {
                return None;
            }
            T::Text
        }
        "cardinality" if n == 1 && is_array(&a[0]) => T::Int4,
        "array_append" if n == 2 && is_array(&a[0]) => a[0].clone(),
        "array_prepend" if n == 2 && is_array(&a[1]) => a[1].clone(),
        "array_cat" if n == 2 && is_array(&a[0]) && is_array(&a[1]) => common_type(&a[0], &a[1])?,
        "abs" if n == 1 && is_num(&a[0]) => match &a[0] {
            T::Unknown => T::Float8,
            t => t.clone(),
        },
        "ceil" | "ceiling" | "floor" | "sign" | "sqrt" | "exp" | "ln" | "log10"
            if n == 1 && is_num(&a[0]) =>
        {
            num_or_float(a)
        }
        "round" | "trunc" if n == 1 && is_num(&a[0]) => num_or_float(a),
        "round" | "trunc"
            if n == 2
                && is_num(&a[0])
                && !matches!(a[0], T::Float4 | T::Float8)
                && is_int(&a[1]) =>
        {
            T::Numeric(None)
        }
        "log" if n == 1 && is_num(&a[0]) => num_or_float(a),
        "log" if n == 2 && all(is_num) => T::Numeric(None),
        "power" | "pow" if n == 2 && all(is_num) => num_or_float(a),
        "mod" if n == 2 && all(is_num) => {
            if a.iter().all(|t| t.is_integer()) {
                common_type(&a[0], &a[1])?
            } else if a.iter().any(|t| matches!(t, T::Float4 | T::Float8)) {
                return None;
            } else {
                T::Numeric(None)
            }
        }
        "div" if n == 2 && all(is_num) => T::Numeric(None),
        "cbrt" | "degrees" | "radians" | "sin" | "cos" | "tan" | "asin" | "acos" | "atan"
        | "cot"
            if n == 1 && is_num(&a[0]) =>
        {
            T::Float8
        }
        "atan2" if n == 2 && all(is_num) => T::Float8,
        "pi" | "random" if n == 0 => T::Float8,
        "width_bucket" if n == 4 && all(is_num) && is_int(&a[3]) => T::Int4,
        "greatest" | "least" if n >= 1 => a
            .iter()
            .try_fold(T::Unknown, |acc, t| common_type(&acc, t))?,
        "gen_random_uuid" if n == 0 => T::Uuid,
        "now"
        | "current_timestamp"
        | "transaction_timestamp"
        | "statement_timestamp"
        | "clock_timestamp"
            if n == 0 =>
        {
            T::Timestamptz
        }
        "localtimestamp" if n == 0 => T::Timestamp,
        "current_date" if n == 0 => T::Date,
        "date_trunc" if n == 2 && is_str(&a[0]) => match &a[1] {
            T::Timestamp => T::Timestamp,
            T::Interval => T::Interval,
            T::Timestamptz | T::Date | T::Unknown => T::Timestamptz,
            _ => return None,
        },
        "date_part" if n == 2 && is_str(&a[0]) && (is_time(&a[1]) || a[1] == T::Interval) => {
            T::Float8
        }
        "extract" if n == 2 && is_str(&a[0]) && (is_time(&a[1]) || a[1] == T::Interval) => {
            T::Numeric(None)
        }
        "age" if (n == 1 || n == 2) && all(is_time) => T::Interval,
        "make_date" if n == 3 && all(is_int) => T::Date,
        "make_timestamp" if n == 6 && a[..5].iter().all(is_int) && is_num(&a[5]) => T::Timestamp,
        "make_timestamptz" if n == 6 && a[..5].iter().all(is_int) && is_num(&a[5]) => {
            T::Timestamptz
        }
        "make_interval"
            if n <= 7 && a.iter().take(6).all(is_int) && a.get(6).is_none_or(is_num) =>
        {
            T::Interval
        }
        "to_char" if n == 2 && is_time(&a[0]) && is_str(&a[1]) => T::Text,
        "to_date" if n == 2 && all(is_str) => T::Date,
        "to_timestamp" if n == 2 && all(is_str) => T::Timestamptz,
        "to_timestamp" if n == 1 && is_num(&a[0]) => T::Timestamptz,
        "justify_days" | "justify_hours" | "justify_interval"
            if n == 1 && matches!(a[0], T::Interval | T::Unknown) =>
        {
            T::Interval
        }
        "isfinite" if n == 1 && (is_time(&a[0]) || a[0] == T::Interval) => T::Bool,
        "jsonb_build_object" if n.is_multiple_of(2) => T::Jsonb,
        "jsonb_build_array" => T::Jsonb,
        "to_jsonb" if n == 1 => T::Jsonb,
        "jsonb_typeof" | "jsonb_pretty" if n == 1 && is_json(&a[0]) => T::Text,
        "jsonb_array_length" if n == 1 && is_json(&a[0]) => T::Int4,
        "jsonb_strip_nulls" if n == 1 && is_json(&a[0]) => T::Jsonb,
        "jsonb_extract_path" if n >= 1 && is_json(&a[0]) && a[1..].iter().all(is_str) => T::Jsonb,
        "jsonb_extract_path_text" if n >= 1 && is_json(&a[0]) && a[1..].iter().all(is_str) => {
            T::Text
        }
        "jsonb_set"
            if (n == 3 || n == 4) && is_json(&a[0]) && is_text_array(&a[1]) && is_json(&a[2]) =>
        {
            if n == 4 && !matches!(a[3], T::Bool | T::Unknown) {
                return None;
            }
            T::Jsonb
        }
        "pg_typeof" if n == 1 => T::Text,
        _ => return None,
    })
}

/// Functions that see NULL arguments (all others return NULL when any
/// argument is NULL, like PostgreSQL's STRICT functions).
fn is_non_strict(name: &str) -> bool {
    matches!(
        name,
        "format_type"
            | "concat"
            | "concat_ws"
            | "format"
            | "greatest"
            | "least"
            | "jsonb_build_object"
            | "jsonb_build_array"
            | "pg_typeof"
            | "quote_nullable"
            | "array_append"
            | "array_prepend"
            | "array_cat"
            | "array_to_string"
            | "string_to_array"
            | "make_interval"
    )
}

fn text<'v>(v: &'v Value, tz: &TimeZone) -> Cow<'v, str> {
    match v {
        Value::Text(s) => Cow::Borrowed(s.as_str()),
        other => Cow::Owned(other.to_pg_text(tz).unwrap_or_default()),
    }
}

/// A POSIX regular expression as `~` takes it (the `regex-lite` engine:
/// PostgreSQL's ARE syntax for the common cases).
fn compile_regex(pattern: &str, case_insensitive: bool) -> Result<regex_lite::Regex, SqlError> {
    regex_lite::RegexBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .build()
        .map_err(|e| {
            SqlError::new(
                SqlState("2201B"),
                format!("invalid regular expression: {e}"),
            )
        })
}

fn int(v: &Value) -> Result<i64, SqlError> {
    match v {
        Value::Int2(x) => Ok(i64::from(*x)),
        Value::Int4(x) => Ok(i64::from(*x)),
        Value::Int8(x) => Ok(*x),
        Value::Numeric(Numeric::Value(d)) => d.to_i64().ok_or_else(|| int_out_of_range(64)),
        Value::Float8(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(*f as i64),
        Value::Text(s) => s.trim().parse().map_err(|_| {
            SqlError::new(
                SqlState::INVALID_TEXT_REPRESENTATION,
                format!("invalid input syntax for type integer: \"{s}\""),
            )
        }),
        other => Err(SqlError::new(
            SqlState::DATATYPE_MISMATCH,
            format!("expected an integer, got {}", other.data_type()),
        )),
    }
}

fn float(v: &Value) -> Result<f64, SqlError> {
    match v {
        Value::Float4(f) => Ok(f64::from(*f)),
        Value::Float8(f) => Ok(*f),
        Value::Int2(_) | Value::Int4(_) | Value::Int8(_) => Ok(int(v)? as f64),
        Value::Numeric(n) => Ok(to_f64(n)),
        Value::Text(s) => {
            match cast_explicit(Value::Text(s.clone()), &DataType::Float8, &TimeZone::utc())? {
                Value::Float8(f) => Ok(f),
                _ => Ok(f64::NAN),
            }
        }
        other => Err(SqlError::new(
            SqlState::DATATYPE_MISMATCH,
            format!("expected a number, got {}", other.data_type()),
        )),
    }
}

fn numeric(v: &Value) -> Result<Numeric, SqlError> {
    match cast_explicit(v.clone(), &DataType::Numeric(None), &TimeZone::utc())? {
        Value::Numeric(n) => Ok(n),
        other => Err(SqlError::new(
            SqlState::DATATYPE_MISMATCH,
            format!("expected a number, got {}", other.data_type()),
        )),
    }
}

fn jsonb(v: &Value) -> Result<Cow<'_, Json>, SqlError> {
    match v {
        Value::Jsonb(j) => Ok(Cow::Borrowed(j)),
        Value::Text(s) => Ok(Cow::Owned(json::parse_jsonb(s)?)),
        other => Err(SqlError::new(
            SqlState::DATATYPE_MISMATCH,
            format!("expected jsonb, got {}", other.data_type()),
        )),
    }
}

fn invalid_param(msg: impl Into<String>) -> SqlError {
    SqlError::new(SqlState::INVALID_PARAMETER_VALUE, msg)
}

/// Transcendental numeric functions are computed in float8 and shown with
/// PostgreSQL's result scale for them (`16 - trunc(log10(|result|))`, at
/// least the argument's scale); PostgreSQL computes them exactly, so the
/// last digit may differ.
fn approx_numeric(f: f64, args: &[Value]) -> Result<Value, SqlError> {
    let sig = if f == 0.0 || !f.is_finite() {
        0
    } else {
        f.abs().log10().trunc() as i64
    };
    approx_from_f64(f, (16 - sig).max(max_arg_scale(args))).map(Value::Numeric)
}

fn max_arg_scale(args: &[Value]) -> i64 {
    args.iter()
        .map(|a| match a {
            Value::Numeric(Numeric::Value(d)) => scale_of(d),
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

fn has_numeric(args: &[Value]) -> bool {
    args.iter().any(|a| matches!(a, Value::Numeric(_)))
}

fn sqrt_domain() -> SqlError {
    SqlError::new(
        SqlState("2201F"),
        "cannot take square root of a negative number",
    )
}

fn log_domain(zero: bool) -> SqlError {
    SqlError::new(
        SqlState("2201E"),
        if zero {
            "cannot take logarithm of zero"
        } else {
            "cannot take logarithm of a negative number"
        },
    )
}

fn checked_ln(x: f64) -> Result<f64, SqlError> {
    if x == 0.0 {
        Err(log_domain(true))
    } else if x < 0.0 {
        Err(log_domain(false))
    } else {
        Ok(x.ln())
    }
}

/// Rounds half to even (PostgreSQL's `round(float8)` uses `rint`).
fn rint(f: f64) -> f64 {
    let r = f.round();
    if (f - f.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - f.signum()
    } else {
        r
    }
}

/// Evaluates a scalar function. Argument types are checked with the same
/// rules as [`function_return_type`] (42883 when none matches); strict
/// functions return NULL when any argument is NULL.
pub fn call_function(name: &str, args: &[Value], ctx: &mut FnContext) -> Result<Value, SqlError> {
    let lname = name.to_ascii_lowercase();
    let types: Vec<DataType> = args.iter().map(Value::data_type).collect();
    let ret = function_return_type(&lname, &types).map_err(|_| undefined_function(name, &types))?;
    if !is_non_strict(&lname) && args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let tz = ctx.tz;
    let a = args;
    Ok(match lname.as_str() {
        // ---- strings ----
        "length" | "char_length" | "character_length" => match &a[0] {
            Value::Bytea(b) => Value::Int4(b.len() as i32),
            v => Value::Int4(text(v, tz).chars().count() as i32),
        },
        "octet_length" | "bit_length" => {
            let n = match &a[0] {
                Value::Bytea(b) => b.len(),
                v => text(v, tz).len(),
            } as i32;
            Value::Int4(if lname == "bit_length" {
                n.saturating_mul(8)
            } else {
                n
            })
        }
        "lower" => Value::Text(text(&a[0], tz).to_lowercase()),
        "upper" => Value::Text(text(&a[0], tz).to_uppercase()),
        "initcap" => Value::Text(initcap(&text(&a[0], tz))),
        "reverse" => Value::Text(text(&a[0], tz).chars().rev().collect()),
        "substr" | "substring" => Value::Text(substr(
            &text(&a[0], tz),
            int(&a[1])?,
            a.get(2).map(int).transpose()?,
        )?),
        "position" | "strpos" => {
            let (s, sub) = (text(&a[0], tz), text(&a[1], tz));
            Value::Int4(
                s.find(sub.as_ref())
                    .map_or(0, |i| s[..i].chars().count() as i32 + 1),
            )
        }
        "replace" => {
            let from = text(&a[1], tz);
            let s = text(&a[0], tz);
            Value::Text(if from.is_empty() {
                s.into_owned()
            } else {
                s.replace(from.as_ref(), &text(&a[2], tz))
            })
        }
        "trim" | "btrim" | "ltrim" | "rtrim" => {
            let s = text(&a[0], tz);
            let set: Vec<char> = a
                .get(1)
                .map_or_else(|| vec![' '], |c| text(c, tz).chars().collect());
            let f = |c: char| set.contains(&c);
            Value::Text(
                match lname.as_str() {
                    "ltrim" => s.trim_start_matches(f),
                    "rtrim" => s.trim_end_matches(f),
                    _ => s.trim_matches(f),
                }
                .to_string(),
            )
        }
        "lpad" | "rpad" => {
            let fill = a.get(2).map_or(Cow::Borrowed(" "), |f| text(f, tz));
            Value::Text(pad(&text(&a[0], tz), int(&a[1])?, &fill, lname == "lpad")?)
        }
        "left" | "right" => {
            let chars: Vec<char> = text(&a[0], tz).chars().collect();
            let n = int(&a[1])?;
            let len = chars.len() as i64;
            let keep = if n >= 0 { n.min(len) } else { (len + n).max(0) } as usize;
            Value::Text(if lname == "left" {
                chars[..keep].iter().collect()
            } else {
                chars[chars.len() - keep..].iter().collect()
            })
        }
        "repeat" => {
            let s = text(&a[0], tz);
            let n = clamp_count(int(&a[1])?);
            if s.len().saturating_mul(n) > (1 << 30) - 1 {
                return Err(SqlError::new(
                    SqlState::PROGRAM_LIMIT_EXCEEDED,
                    "requested length too large",
                ));
            }
            Value::Text(s.repeat(n))
        }
        "split_part" => Value::Text(split_part(&text(&a[0], tz), &text(&a[1], tz), int(&a[2])?)?),
        "concat" => Value::Text(
            a.iter()
                .filter(|v| !v.is_null())
                .map(|v| concat_text(v, tz))
                .collect(),
        ),
        "concat_ws" => {
            if a[0].is_null() {
                return Ok(Value::Null);
            }
            let sep = text(&a[0], tz);
            let parts: Vec<String> = a[1..]
                .iter()
                .filter(|v| !v.is_null())
                .map(|v| concat_text(v, tz))
                .collect();
            Value::Text(parts.join(&sep))
        }
        "format" => {
            if a[0].is_null() {
                return Ok(Value::Null);
            }
            Value::Text(format_fn(&text(&a[0], tz), &a[1..], tz)?)
        }
        "starts_with" => Value::Bool(text(&a[0], tz).starts_with(text(&a[1], tz).as_ref())),
        "md5" => Value::Text(match &a[0] {
            Value::Bytea(b) => md5_hex(b),
            v => md5_hex(text(v, tz).as_bytes()),
        }),
        "to_hex" => Value::Text(match &a[0] {
            Value::Int8(x) => format!("{:x}", *x as u64),
            v => format!("{:x}", int(v)? as i32 as u32),
        }),
        "ascii" => Value::Int4(text(&a[0], tz).chars().next().map_or(0, |c| c as i32)),
        "chr" => {
            let code = int(&a[0])?;
            if code == 0 {
                return Err(SqlError::new(
                    SqlState::PROGRAM_LIMIT_EXCEEDED,
                    "null character not permitted",
                ));
            }
            let c = u32::try_from(code)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| {
                    SqlError::new(
                        SqlState::PROGRAM_LIMIT_EXCEEDED,
                        "requested character too large for encoding",
                    )
                })?;
            Value::Text(c.to_string())
        }
        "quote_ident" => Value::Text(quote_ident(&text(&a[0], tz))),
        "quote_literal" => Value::Text(quote_literal(&concat_text(&a[0], tz))),
        "quote_nullable" => match &a[0] {
            Value::Null => Value::Text("NULL".into()),
            v => Value::Text(quote_literal(&concat_text(v, tz))),
        },
        "string_to_array" => string_to_array(a, tz),
        "textregexeq" | "textregexne" | "texticregexeq" | "texticregexne" => {
            let re = compile_regex(&text(&a[1], tz), lname.starts_with("textic"))?;
            Value::Bool(re.is_match(&text(&a[0], tz)) == lname.ends_with("eq"))
        }
        // The only role is the bootstrap superuser (see engine::system).
        "pg_get_userbyid" => Value::Text(match int(&a[0])? {
            10 => "neuraldb".to_string(),
            o => format!("unknown (OID={o})"),
        }),
        // Every relation is in pg_catalog or public, both on the search
        // path, and names are unique across them.
        "pg_table_is_visible" => Value::Bool(true),
        "pg_encoding_to_char" => Value::Text(match int(&a[0])? {
            0 => "SQL_ASCII".into(),
            6 => "UTF8".into(),
            _ => String::new(),
        }),
        "format_type" if a[0].is_null() => Value::Null,
        "format_type" => {
            let oid = int(&a[0])?;
            let typmod = match &a[1] {
                Value::Null => -1,
                v => i32::try_from(int(v)?).unwrap_or(-1),
            };
            let known = u32::try_from(oid)
                .ok()
                .and_then(|o| super::types::from_oid_typmod(o, typmod));
            Value::Text(match known {
                Some(t) => t.to_string(),
                None if oid == 0 => "-".into(),
                None => "???".into(),
            })
        }
        "array_to_string" => match (&a[0], a.get(1)) {
            (Value::Array(items), Some(sep)) if !sep.is_null() => {
                let null_str = a
                    .get(2)
                    .filter(|v| !v.is_null())
                    .map(|v| text(v, tz).into_owned());
                let mut parts = Vec::new();
                flatten_to_text(items, &null_str, tz, &mut parts);
                Value::Text(parts.join(&text(sep, tz)))
            }
            _ => Value::Null,
        },
        "array_length" => match &a[0] {
            Value::Array(items) if int(&a[1])? == 1 && !items.is_empty() => {
                Value::Int4(items.len() as i32)
            }
            Value::Array(items) if int(&a[1])? == 2 => match items.first() {
                Some(Value::Array(inner)) if !inner.is_empty() => Value::Int4(inner.len() as i32),
                _ => Value::Null,
            },
            _ => Value::Null,
        },
        // Arrays here always start at 1, so the upper bound is the length.
        "array_upper" | "array_lower" => {
            let dim = int(&a[1])?;
            let len = match &a[0] {
                Value::Array(items) if dim == 1 => items.len(),
                Value::Array(items) if dim == 2 => match items.first() {
                    Some(Value::Array(inner)) => inner.len(),
                    _ => 0,
                },
                _ => 0,
            };
            match len {
                0 => Value::Null,
                n if lname == "array_upper" => Value::Int4(n as i32),
                _ => Value::Int4(1),
            }
        }
        "pg_get_expr" => Value::Text(text(&a[0], tz).into_owned()),
        "cardinality" => match &a[0] {
            Value::Array(items) => Value::Int4(count_elements(items) as i32),
            _ => Value::Null,
        },
        "array_append" => match &a[0] {
            Value::Array(items) => {
                Value::Array(items.iter().cloned().chain([a[1].clone()]).collect())
            }
            Value::Null => Value::Array(vec![a[1].clone()]),
            _ => Value::Null,
        },
        "array_prepend" => match &a[1] {
            Value::Array(items) => Value::Array(
                [a[0].clone()]
                    .into_iter()
                    .chain(items.iter().cloned())
                    .collect(),
            ),
            Value::Null => Value::Array(vec![a[0].clone()]),
            _ => Value::Null,
        },
        "array_cat" => match (&a[0], &a[1]) {
            (Value::Array(x), Value::Array(y)) => {
                Value::Array(x.iter().chain(y).cloned().collect())
            }
            (Value::Null, other) | (other, Value::Null) => other.clone(),
            _ => Value::Null,
        },
        // ---- math ----
        "abs" => match &a[0] {
            Value::Int2(x) => Value::Int2(x.checked_abs().ok_or_else(|| int_out_of_range(16))?),
            Value::Int4(x) => Value::Int4(x.checked_abs().ok_or_else(|| int_out_of_range(32))?),
            Value::Int8(x) => Value::Int8(x.checked_abs().ok_or_else(|| int_out_of_range(64))?),
            Value::Float4(f) => Value::Float4(f.abs()),
            Value::Numeric(Numeric::Value(d)) => Value::Numeric(Numeric::Value(d.abs())),
            Value::Numeric(Numeric::NaN) => Value::Numeric(Numeric::NaN),
            v => Value::Float8(float(v)?.abs()),
        },
        "ceil" | "ceiling" | "floor" | "round" | "trunc" if a.len() == 1 => {
            if let Value::Numeric(n) = &a[0] {
                let Numeric::Value(d) = n else {
                    return Ok(Value::Numeric(Numeric::NaN));
                };
                Value::Numeric(Numeric::Value(match lname.as_str() {
                    "round" => round_half_away(d, 0),
                    "trunc" => trunc_scale(d, 0),
                    "floor" => floor_numeric(d),
                    _ => -floor_numeric(&-d),
                }))
            } else {
                let f = float(&a[0])?;
                Value::Float8(match lname.as_str() {
                    "round" => rint(f),
                    "trunc" => f.trunc(),
                    "floor" => f.floor(),
                    _ => f.ceil(),
                })
            }
        }
        "round" | "trunc" => match numeric(&a[0])? {
            Numeric::NaN => Value::Numeric(Numeric::NaN),
            Numeric::Value(d) => {
                let s = int(&a[1])?.clamp(-2000, 2000);
                Value::Numeric(Numeric::Value(if lname == "round" {
                    round_half_away(&d, s)
                } else {
                    trunc_scale(&d, s)
                }))
            }
        },
        "sign" => {
            if let Value::Numeric(n) = &a[0] {
                match n {
                    Numeric::NaN => Value::Numeric(Numeric::NaN),
                    Numeric::Value(d) => {
                        Value::Numeric(Numeric::Value(BigDecimal::from(match d.sign() {
                            bigdecimal::num_bigint::Sign::Minus => -1,
                            bigdecimal::num_bigint::Sign::NoSign => 0,
                            bigdecimal::num_bigint::Sign::Plus => 1,
                        })))
                    }
                }
            } else {
                let f = float(&a[0])?;
                Value::Float8(if f > 0.0 {
                    1.0
                } else if f < 0.0 {
                    -1.0
                } else {
                    0.0
                })
            }
        }
        "sqrt" => {
            let f = float(&a[0])?;
            if f < 0.0 {
                return Err(sqrt_domain());
            }
            if let Value::Numeric(Numeric::Value(d)) = &a[0] {
                // PostgreSQL: 16 significant digits counted from half the
                // argument's base-10000 weight.
                let weight = decimal_exponent(d).div_euclid(4);
                let sweight = (weight + 1) * 4 / 2 - 1;
                Value::Numeric(approx_from_f64(f.sqrt(), (16 - sweight).max(scale_of(d)))?)
            } else {
                Value::Float8(f.sqrt())
            }
        }
        "cbrt" => Value::Float8(float(&a[0])?.cbrt()),
        "exp" => {
            let r = float(&a[0])?.exp();
            if r.is_infinite() {
                return Err(SqlError::new(
                    SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
                    "value out of range: overflow",
                ));
            }
            if has_numeric(a) {
                approx_numeric(r, a)?
            } else {
                Value::Float8(r)
            }
        }
        "ln" => {
            let r = checked_ln(float(&a[0])?)?;
            if has_numeric(a) {
                approx_numeric(r, a)?
            } else {
                Value::Float8(r)
            }
        }
        "log" | "log10" if a.len() == 1 => {
            let r = checked_ln(float(&a[0])?)? / std::f64::consts::LN_10;
            let r = if (r - r.round()).abs() < 1e-12 {
                r.round()
            } else {
                r
            };
            if has_numeric(a) {
                approx_numeric(r, a)?
            } else {
                Value::Float8(r)
            }
        }
        "log" => {
            let (b, x) = (checked_ln(float(&a[0])?)?, checked_ln(float(&a[1])?)?);
            if b == 0.0 {
                return Err(division_by_zero());
            }
            approx_numeric(x / b, a)?
        }
        "power" | "pow" => {
            if has_numeric(a) {
                super::ops::binary_op(
                    super::ops::BinaryOp::Pow,
                    &Value::Numeric(numeric(&a[0])?),
                    &Value::Numeric(numeric(&a[1])?),
                )?
            } else {
                Value::Float8(float_pow(float(&a[0])?, float(&a[1])?)?)
            }
        }
        "mod" => {
            if ret.is_integer() {
                cast_explicit(
                    super::ops::binary_op(super::ops::BinaryOp::Mod, &a[0], &a[1])?,
                    &ret,
                    tz,
                )?
            } else {
                match (numeric(&a[0])?, numeric(&a[1])?) {
                    (Numeric::Value(x), Numeric::Value(y)) => {
                        if y.is_zero() {
                            return Err(division_by_zero());
                        }
                        Value::Numeric(Numeric::Value(numeric_mod(&x, &y)?))
                    }
                    _ => Value::Numeric(Numeric::NaN),
                }
            }
        }
        "div" => match (numeric(&a[0])?, numeric(&a[1])?) {
            (Numeric::Value(x), Numeric::Value(y)) => {
                Value::Numeric(Numeric::Value(numeric_div_trunc(&x, &y)?))
            }
            _ => Value::Numeric(Numeric::NaN),
        },
        "pi" => Value::Float8(std::f64::consts::PI),
        "degrees" => Value::Float8(float(&a[0])?.to_degrees()),
        "radians" => Value::Float8(float(&a[0])?.to_radians()),
        "sin" => Value::Float8(float(&a[0])?.sin()),
        "cos" => Value::Float8(float(&a[0])?.cos()),
        "tan" => Value::Float8(float(&a[0])?.tan()),
        "cot" => Value::Float8(1.0 / float(&a[0])?.tan()),
        "asin" | "acos" => {
            let f = float(&a[0])?;
            if !(-1.0..=1.0).contains(&f) {
                return Err(SqlError::new(
                    SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
                    "input is out of range",
                ));
            }
            Value::Float8(if lname == "asin" { f.asin() } else { f.acos() })
        }
        "atan" => Value::Float8(float(&a[0])?.atan()),
        "atan2" => Value::Float8(float(&a[0])?.atan2(float(&a[1])?)),
        "random" => Value::Float8((ctx.next_u64() >> 11) as f64 / (1u64 << 53) as f64),
        "width_bucket" => Value::Int4(width_bucket(
            float(&a[0])?,
            float(&a[1])?,
            float(&a[2])?,
            int(&a[3])?,
        )?),
        "greatest" | "least" => {
            let mut best: Option<Value> = None;
            for v in a.iter().filter(|v| !v.is_null()) {
                let v = cast_explicit(v.clone(), &ret, tz)?;
                best = Some(match best {
                    None => v,
                    Some(b) => {
                        let o = v.sql_cmp_tz(&b, tz).unwrap_or(Ordering::Equal);
                        if (lname == "greatest" && o == Ordering::Greater)
                            || (lname == "least" && o == Ordering::Less)
                        {
                            v
                        } else {
                            b
                        }
                    }
                });
            }
            best.unwrap_or(Value::Null)
        }
        "gen_random_uuid" => {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&ctx.next_u64().to_le_bytes());
            b[8..].copy_from_slice(&ctx.next_u64().to_le_bytes());
            b[6] = (b[6] & 0x0f) | 0x40; // version 4
            b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
            Value::Uuid(b)
        }
        // ---- date/time ----
        "now"
        | "current_timestamp"
        | "transaction_timestamp"
        | "statement_timestamp"
        | "clock_timestamp" => Value::Timestamptz(ctx.now_micros),
        "localtimestamp" => Value::Timestamp(utc_to_local(ctx.now_micros, tz)),
        "current_date" => Value::Date(ts_to_date(utc_to_local(ctx.now_micros, tz))?),
        "date_trunc" => {
            let v = match &a[1] {
                Value::Date(d) => Value::Timestamptz(local_to_utc(date_to_ts(*d)?, tz)?),
                other => other.clone(),
            };
            date_trunc(&text(&a[0], tz), &v, tz)?
        }
        "extract" | "date_part" => {
            let n = extract(&text(&a[0], tz), &a[1], tz)?;
            if lname == "extract" {
                Value::Numeric(n)
            } else {
                Value::Float8(to_f64(&n))
            }
        }
        "age" => {
            let local = |v: &Value| -> Result<i64, SqlError> {
                Ok(match v {
                    Value::Date(d) => date_to_ts(*d)?,
                    Value::Timestamp(t) => *t,
                    Value::Timestamptz(t) => utc_to_local(*t, tz),
                    other => return Err(undefined_function("age", &[other.data_type()])),
                })
            };
            let (x, y) = if a.len() == 2 {
                (local(&a[0])?, local(&a[1])?)
            } else {
                let today =
                    utc_to_local(ctx.now_micros, tz).div_euclid(USECS_PER_DAY) * USECS_PER_DAY;
                (today, local(&a[0])?)
            };
            Value::Interval(age(x, y)?)
        }
        "make_date" => Value::Date(make_date(int(&a[0])?, int(&a[1])?, int(&a[2])?)?),
        "make_timestamp" | "make_timestamptz" => {
            let date = make_date(int(&a[0])?, int(&a[1])?, int(&a[2])?)?;
            let (h, mi, sec) = (int(&a[3])?, int(&a[4])?, float(&a[5])?);
            if !(0..=23).contains(&h) || !(0..=59).contains(&mi) || !(0.0..60.0).contains(&sec) {
                return Err(SqlError::new(
                    SqlState::DATETIME_FIELD_OVERFLOW,
                    format!("time field value out of range: {h}:{mi:02}:{sec:02}"),
                ));
            }
            let t = i64::from(date) * USECS_PER_DAY
                + h * 3_600_000_000
                + mi * 60_000_000
                + (sec * 1e6).round() as i64;
            if lname == "make_timestamp" {
                Value::Timestamp(super::datetime::check_ts(t)?)
            } else {
                Value::Timestamptz(local_to_utc(t, tz)?)
            }
        }
        "make_interval" => {
            let field = |i: usize| a.get(i).filter(|v| !v.is_null()).map_or(Ok(0), int);
            let secs = a.get(6).filter(|v| !v.is_null()).map_or(Ok(0.0), float)?;
            let (years, mons, weeks, days, hours, mins) = (
                field(0)?,
                field(1)?,
                field(2)?,
                field(3)?,
                field(4)?,
                field(5)?,
            );
            let months = years.checked_mul(12).and_then(|y| y.checked_add(mons));
            let days = weeks.checked_mul(7).and_then(|w| w.checked_add(days));
            let micros = hours
                .checked_mul(3_600_000_000)
                .and_then(|h| h.checked_add(mins.checked_mul(60_000_000)?))
                .and_then(|t| t.checked_add((secs * 1e6).round() as i64));
            let oor = super::datetime::interval_out_of_range;
            Value::Interval(Interval {
                months: months.and_then(|m| i32::try_from(m).ok()).ok_or_else(oor)?,
                days: days.and_then(|d| i32::try_from(d).ok()).ok_or_else(oor)?,
                micros: micros.ok_or_else(oor)?,
            })
        }
        "to_char" => {
            let fmt = text(&a[1], tz);
            Value::Text(match &a[0] {
                Value::Date(d) => to_char(date_to_ts(*d)?, None, &fmt),
                Value::Timestamp(t) => to_char(*t, None, &fmt),
                Value::Timestamptz(t) => {
                    to_char(utc_to_local(*t, tz), Some(tz.offset_secs()), &fmt)
                }
                other => {
                    return Err(undefined_function(
                        "to_char",
                        &[other.data_type(), DataType::Text],
                    ))
                }
            })
        }
        "to_date" => Value::Date(ts_to_date(parse_with_format(
            &text(&a[0], tz),
            &text(&a[1], tz),
        )?)?),
        "to_timestamp" if a.len() == 2 => Value::Timestamptz(local_to_utc(
            parse_with_format(&text(&a[0], tz), &text(&a[1], tz))?,
            tz,
        )?),
        "to_timestamp" => {
            let f = float(&a[0])?;
            if f.is_nan() {
                return Err(SqlError::new(
                    SqlState::DATETIME_FIELD_OVERFLOW,
                    "timestamp cannot be NaN",
                ));
            }
            if f.is_infinite() {
                return Ok(Value::Timestamptz(if f > 0.0 {
                    TS_INFINITY
                } else {
                    TS_NEG_INFINITY
                }));
            }
            let micros = (f * 1e6).round() - (UNIX_EPOCH_DAYS * USECS_PER_DAY) as f64;
            if micros.is_nan() || micros.abs() >= 9.2e18 {
                return Err(SqlError::new(
                    SqlState::DATETIME_FIELD_OVERFLOW,
                    format!("timestamp out of range: \"{}\"", super::text::format_f64(f)),
                ));
            }
            Value::Timestamptz(super::datetime::check_ts(micros as i64)?)
        }
        "justify_days" | "justify_hours" | "justify_interval" => {
            let Value::Interval(iv) = &a[0] else {
                return Err(undefined_function(name, &types));
            };
            Value::Interval(match lname.as_str() {
                "justify_days" => justify_days(iv)?,
                "justify_hours" => justify_hours(iv)?,
                _ => justify_interval(iv)?,
            })
        }
        "isfinite" => Value::Bool(match &a[0] {
            Value::Date(d) => *d != DATE_INFINITY && *d != DATE_NEG_INFINITY,
            Value::Timestamp(t) | Value::Timestamptz(t) => {
                *t != TS_INFINITY && *t != TS_NEG_INFINITY
            }
            _ => true,
        }),
        // ---- jsonb ----
        "jsonb_build_object" => {
            let mut m = serde_json::Map::new();
            for (i, pair) in a.chunks(2).enumerate() {
                if pair[0].is_null() {
                    return Err(invalid_param(format!(
                        "argument {}: key must not be null",
                        2 * i + 1
                    )));
                }
                m.insert(text(&pair[0], tz).into_owned(), to_jsonb(&pair[1], tz)?);
            }
            Value::Jsonb(Json::Object(m))
        }
        "jsonb_build_array" => Value::Jsonb(Json::Array(
            a.iter()
                .map(|v| to_jsonb(v, tz))
                .collect::<Result<_, _>>()?,
        )),
        "to_jsonb" => Value::Jsonb(to_jsonb(&a[0], tz)?),
        "jsonb_typeof" => Value::Text(json::type_name(jsonb(&a[0])?.as_ref()).into()),
        "jsonb_pretty" => Value::Text(json::pretty_jsonb(jsonb(&a[0])?.as_ref())),
        "jsonb_strip_nulls" => Value::Jsonb(json::strip_nulls(jsonb(&a[0])?.as_ref())),
        "jsonb_array_length" => match jsonb(&a[0])?.as_ref() {
            Json::Array(items) => Value::Int4(items.len() as i32),
            Json::Object(_) => return Err(invalid_param("cannot get array length of a non-array")),
            _ => return Err(invalid_param("cannot get array length of a scalar")),
        },
        "jsonb_extract_path" | "jsonb_extract_path_text" => {
            let j = jsonb(&a[0])?;
            let path: Vec<Option<String>> = a[1..]
                .iter()
                .map(|v| Some(text(v, tz).into_owned()))
                .collect();
            match json::get_path(&j, &path) {
                None => Value::Null,
                Some(found) if lname == "jsonb_extract_path_text" => {
                    json::as_text(found).map_or(Value::Null, Value::Text)
                }
                Some(found) => Value::Jsonb(found.clone()),
            }
        }
        "jsonb_set" => {
            let path: Vec<Option<String>> = match &a[1] {
                Value::Array(items) => items
                    .iter()
                    .map(|v| {
                        if v.is_null() {
                            None
                        } else {
                            Some(text(v, tz).into_owned())
                        }
                    })
                    .collect(),
                Value::Text(s) => match cast_explicit(
                    Value::Text(s.clone()),
                    &DataType::Array(Box::new(DataType::Text)),
                    tz,
                )? {
                    Value::Array(items) => items
                        .iter()
                        .map(|v| {
                            if v.is_null() {
                                None
                            } else {
                                Some(text(v, tz).into_owned())
                            }
                        })
                        .collect(),
                    _ => Vec::new(),
                },
                other => {
                    return Err(undefined_function(
                        "jsonb_set",
                        &[DataType::Jsonb, other.data_type()],
                    ))
                }
            };
            let create = !matches!(a.get(3), Some(Value::Bool(false)));
            Value::Jsonb(json::set_path(
                jsonb(&a[0])?.as_ref(),
                &path,
                jsonb(&a[2])?.as_ref(),
                create,
            )?)
        }
        "pg_typeof" => Value::Text(pg_typeof_name(&types[0])),
        _ => return Err(undefined_function(name, &types)),
    })
}

/// The type name `pg_typeof` prints for a (statically known) type. The
/// executor should prefer calling this with the expression's resolved type
/// over evaluating `pg_typeof` on a value (values do not carry typmods and
/// NULL has no type).
pub fn pg_typeof_name(ty: &DataType) -> String {
    ty.to_string()
}

fn floor_numeric(d: &BigDecimal) -> BigDecimal {
    let t = trunc_scale(d, 0);
    if d.is_negative() && &t != d {
        t - BigDecimal::from(1)
    } else {
        t
    }
}

fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if in_word {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            in_word = true;
        } else {
            out.push(c);
            in_word = false;
        }
    }
    out
}

/// `substr(s, start [, count])` with PostgreSQL's rules for starts below 1.
fn substr(s: &str, start: i64, count: Option<i64>) -> Result<String, SqlError> {
    let end = match count {
        Some(c) if c < 0 => {
            return Err(SqlError::new(
                SqlState("22011"),
                "negative substring length not allowed",
            ));
        }
        Some(c) => Some(start.saturating_add(c)),
        None => None,
    };
    let from = clamp_count(start.max(1)) - 1;
    Ok(match end {
        Some(e) if e <= 1 => String::new(),
        Some(e) => s
            .chars()
            .skip(from)
            .take((clamp_count(e) - 1).saturating_sub(from))
            .collect(),
        None => s.chars().skip(from).collect(),
    })
}

fn pad(s: &str, len: i64, fill: &str, left: bool) -> Result<String, SqlError> {
    let len = clamp_count(len);
    if len > (1 << 28) {
        return Err(SqlError::new(
            SqlState::PROGRAM_LIMIT_EXCEEDED,
            "requested length too large",
        ));
    }
    let chars: Vec<char> = s.chars().collect();
    if chars.len() >= len || fill.is_empty() {
        return Ok(chars.iter().take(len).collect());
    }
    let padding: String = fill.chars().cycle().take(len - chars.len()).collect();
    Ok(if left {
        padding + s
    } else {
        s.to_string() + &padding
    })
}

fn split_part(s: &str, delim: &str, n: i64) -> Result<String, SqlError> {
    if n == 0 {
        return Err(invalid_param("field position must not be zero"));
    }
    if delim.is_empty() {
        return Ok(if n == 1 || n == -1 {
            s.to_string()
        } else {
            String::new()
        });
    }
    let parts: Vec<&str> = s.split(delim).collect();
    let idx = if n > 0 { n - 1 } else { parts.len() as i64 + n };
    Ok(usize::try_from(idx)
        .ok()
        .and_then(|i| parts.get(i))
        .map_or(String::new(), |p| p.to_string()))
}

/// A value's output text: `concat`, `format` and `quote_literal` show
/// booleans as `t`/`f` (their output form), unlike the `::text` cast.
fn concat_text(v: &Value, tz: &TimeZone) -> String {
    v.to_pg_text(tz).unwrap_or_default()
}

/// Words PostgreSQL's `quote_ident` always quotes (reserved keywords).
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "current_catalog",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "initially",
    "intersect",
    "into",
    "lateral",
    "leading",
    "limit",
    "localtime",
    "localtimestamp",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "placing",
    "primary",
    "references",
    "returning",
    "select",
    "session_user",
    "some",
    "symmetric",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "when",
    "where",
    "window",
    "with",
];

/// `quote_ident`: quotes unless the name is a lowercase identifier that is
/// not a reserved word.
pub fn quote_ident(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        && !RESERVED.contains(&s);
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// `quote_literal`: single quotes doubled; with backslashes, the `E''`
/// form with backslashes doubled.
pub fn quote_literal(s: &str) -> String {
    let body = s.replace('\'', "''");
    if s.contains('\\') {
        format!("E'{}'", body.replace('\\', "\\\\"))
    } else {
        format!("'{body}'")
    }
}

/// `format()` with `%s`, `%I`, `%L`, `%%` and positional `%n$`.
fn format_fn(fmt: &str, args: &[Value], tz: &TimeZone) -> Result<String, SqlError> {
    let mut out = String::new();
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    let mut next_arg = 0usize;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(&spec) = chars.get(i) else {
            return Err(invalid_param("unterminated format() type specifier"));
        };
        if spec == '%' {
            out.push('%');
            i += 1;
            continue;
        }
        // Optional `n$` argument position.
        let mut j = i;
        while chars.get(j).is_some_and(|c| c.is_ascii_digit()) {
            j += 1;
        }
        let mut arg_index = next_arg;
        if j > i && chars.get(j) == Some(&'$') {
            let n: usize = chars[i..j].iter().collect::<String>().parse().unwrap_or(0);
            if n == 0 {
                return Err(invalid_param(
                    "format specifies argument 0, but arguments are numbered from 1",
                ));
            }
            arg_index = n - 1;
            i = j + 1;
        }
        let Some(&kind) = chars.get(i) else {
            return Err(invalid_param("unterminated format() type specifier"));
        };
        i += 1;
        let arg = args
            .get(arg_index)
            .ok_or_else(|| invalid_param("too few arguments for format()"))?;
        next_arg = arg_index + 1;
        match kind {
            's' => out.push_str(&arg.to_pg_text(tz).unwrap_or_default()),
            'I' => {
                if arg.is_null() {
                    return Err(SqlError::new(
                        SqlState("22004"),
                        "null values cannot be formatted as an SQL identifier",
                    ));
                }
                out.push_str(&quote_ident(&text(arg, tz)));
            }
            'L' => match arg {
                Value::Null => out.push_str("NULL"),
                v => out.push_str(&quote_literal(&concat_text(v, tz))),
            },
            other => {
                return Err(invalid_param(format!(
                    "unrecognized format() type specifier \"{other}\""
                )));
            }
        }
    }
    Ok(out)
}

fn string_to_array(a: &[Value], tz: &TimeZone) -> Value {
    if a[0].is_null() {
        return Value::Null;
    }
    let s = text(&a[0], tz);
    let null_str = a
        .get(2)
        .filter(|v| !v.is_null())
        .map(|v| text(v, tz).into_owned());
    let to_val = |p: &str| {
        if null_str.as_deref() == Some(p) {
            Value::Null
        } else {
            Value::Text(p.to_string())
        }
    };
    if s.is_empty() {
        return Value::Array(Vec::new());
    }
    Value::Array(match a.get(1) {
        None | Some(Value::Null) => s.chars().map(|c| to_val(&c.to_string())).collect(),
        Some(d) => {
            let d = text(d, tz);
            if d.is_empty() {
                vec![to_val(&s)]
            } else {
                s.split(d.as_ref()).map(to_val).collect()
            }
        }
    })
}

fn flatten_to_text(
    items: &[Value],
    null_str: &Option<String>,
    tz: &TimeZone,
    out: &mut Vec<String>,
) {
    for item in items {
        match item {
            Value::Null => {
                if let Some(n) = null_str {
                    out.push(n.clone());
                }
            }
            Value::Array(inner) => flatten_to_text(inner, null_str, tz, out),
            v => out.push(v.to_pg_text(tz).unwrap_or_default()),
        }
    }
}

fn count_elements(items: &[Value]) -> usize {
    items
        .iter()
        .map(|i| match i {
            Value::Array(inner) => count_elements(inner),
            _ => 1,
        })
        .sum()
}

fn make_date(y: i64, m: i64, d: i64) -> Result<i32, SqlError> {
    let bad = || {
        SqlError::new(
            SqlState::DATETIME_FIELD_OVERFLOW,
            format!("date field value out of range: {y}-{m:02}-{d:02}"),
        )
    };
    if y == 0 || !(1..=12).contains(&m) || !(-4713..=5_874_897).contains(&y) {
        return Err(bad());
    }
    // Negative years are BC (year 0 does not exist).
    let year = if y < 0 { y + 1 } else { y };
    if d < 1 || d > i64::from(days_in_month(year, m as u32)) {
        return Err(bad());
    }
    let days = days_from_ymd(year, m as u32, d as u32);
    let ts = ts_from_civil(&Civil {
        year,
        month: m as u32,
        day: d as u32,
        hour: 0,
        minute: 0,
        second: 0,
        micros: 0,
    });
    ts.map_err(|_| bad())?;
    i32::try_from(days).map_err(|_| bad())
}

fn width_bucket(x: f64, low: f64, high: f64, count: i64) -> Result<i32, SqlError> {
    if count <= 0 {
        return Err(SqlError::new(
            SqlState("2201G"),
            "count must be greater than zero",
        ));
    }
    if low == high || low.is_nan() || high.is_nan() || x.is_nan() {
        return Err(SqlError::new(
            SqlState("2201G"),
            "lower bound cannot equal upper bound",
        ));
    }
    let count_f = count as f64;
    let b = if low < high {
        if x < low {
            0.0
        } else if x >= high {
            count_f + 1.0
        } else {
            ((x - low) / (high - low) * count_f).floor() + 1.0
        }
    } else if x > low {
        0.0
    } else if x <= high {
        count_f + 1.0
    } else {
        ((low - x) / (low - high) * count_f).floor() + 1.0
    };
    i32::try_from(b as i64).map_err(|_| int_out_of_range(32))
}

/// Clamps a count to what fits in `usize` on every target (wasm32 too),
/// so that oversized requests hit the length checks instead of wrapping.
fn clamp_count(n: i64) -> usize {
    n.clamp(0, i64::from(u32::MAX)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::text::parse_text;

    fn run(name: &str, args: &[Value]) -> Result<Value, SqlError> {
        let tz = TimeZone::utc();
        let mut rng = 42u64;
        let now = parse_text("2024-03-05 14:07:09+00", &DataType::Timestamptz, &tz).unwrap();
        let Value::Timestamptz(now) = now else {
            unreachable!()
        };
        let mut ctx = FnContext {
            tz: &tz,
            now_micros: now,
            rng: &mut rng,
        };
        call_function(name, args, &mut ctx)
    }

    fn out(name: &str, args: &[Value]) -> String {
        run(name, args)
            .unwrap()
            .to_pg_text(&TimeZone::utc())
            .unwrap_or_else(|| "NULL".into())
    }

    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn i(x: i32) -> Value {
        Value::Int4(x)
    }

    fn n(s: &str) -> Value {
        parse_text(s, &DataType::Numeric(None), &TimeZone::utc()).unwrap()
    }

    fn p(s: &str, ty: DataType) -> Value {
        parse_text(s, &ty, &TimeZone::utc()).unwrap()
    }

    #[test]
    fn string_functions() {
        assert_eq!(out("length", &[t("héllo")]), "5");
        assert_eq!(out("octet_length", &[t("héllo")]), "6");
        assert_eq!(out("upper", &[t("abc")]), "ABC");
        assert_eq!(out("initcap", &[t("hello wORLD-foo")]), "Hello World-Foo");
        assert_eq!(out("substr", &[t("hello"), i(2), i(3)]), "ell");
        assert_eq!(out("substr", &[t("hello"), i(0), i(2)]), "h");
        assert_eq!(out("substring", &[t("hello"), i(3)]), "llo");
        assert_eq!(
            run("substr", &[t("x"), i(1), i(-1)]).unwrap_err().message,
            "negative substring length not allowed"
        );
        assert_eq!(out("position", &[t("Thomas"), t("om")]), "3");
        assert_eq!(out("strpos", &[t("héllo"), t("l")]), "3");
        assert_eq!(out("replace", &[t("abcabc"), t("b"), t("X")]), "aXcaXc");
        assert_eq!(out("btrim", &[t("xxhixx"), t("x")]), "hi");
        assert_eq!(out("ltrim", &[t("  hi ")]), "hi ");
        assert_eq!(out("lpad", &[t("hi"), i(5), t("xy")]), "xyxhi");
        assert_eq!(out("rpad", &[t("hello"), i(3)]), "hel");
        assert_eq!(out("left", &[t("hello"), i(-2)]), "hel");
        assert_eq!(out("right", &[t("hello"), i(2)]), "lo");
        assert_eq!(out("repeat", &[t("ab"), i(3)]), "ababab");
        assert_eq!(out("reverse", &[t("abc")]), "cba");
        assert_eq!(out("split_part", &[t("a,b,c"), t(","), i(2)]), "b");
        assert_eq!(out("split_part", &[t("a,b,c"), t(","), i(-1)]), "c");
        assert_eq!(out("split_part", &[t("a,b,c"), t(","), i(5)]), "");
        assert_eq!(
            out("concat", &[t("a"), Value::Null, i(1), Value::Bool(true)]),
            "a1t"
        );
        assert_eq!(
            out("concat_ws", &[t(","), t("a"), Value::Null, t("b")]),
            "a,b"
        );
        assert_eq!(out("starts_with", &[t("hello"), t("he")]), "t");
        assert_eq!(out("md5", &[t("abc")]), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(out("to_hex", &[i(255)]), "ff");
        assert_eq!(out("to_hex", &[i(-1)]), "ffffffff");
        assert_eq!(out("ascii", &[t("A")]), "65");
        assert_eq!(out("chr", &[i(233)]), "é");
        assert_eq!(
            out(
                "format",
                &[
                    t("Hello %s, %I, %L, %L, %%, %1$s"),
                    t("x"),
                    t("my col"),
                    t("it's"),
                    Value::Null
                ]
            ),
            "Hello x, \"my col\", 'it''s', NULL, %, x"
        );
        assert_eq!(out("quote_ident", &[t("select")]), "\"select\"");
        assert_eq!(out("quote_ident", &[t("abc_1")]), "abc_1");
        assert_eq!(out("quote_literal", &[t("a\\b")]), "E'a\\\\b'");
        assert_eq!(
            out("string_to_array", &[t("a,b,,c"), t(","), t("")]),
            "{a,b,NULL,c}"
        );
        let arr = p("{1,NULL,3}", DataType::Array(Box::new(DataType::Int4)));
        assert_eq!(out("array_to_string", &[arr.clone(), t("-")]), "1-3");
        assert_eq!(
            out("array_to_string", &[arr.clone(), t("-"), t("*")]),
            "1-*-3"
        );
        assert_eq!(out("array_length", &[arr.clone(), i(1)]), "3");
        assert_eq!(out("cardinality", &[arr]), "3");
        assert_eq!(out("upper", &[Value::Null]), "NULL");
    }

    #[test]
    fn unknown_function_error() {
        let e = function_return_type("foo", &[DataType::Int4]).unwrap_err();
        assert_eq!(e.code, SqlState::UNDEFINED_FUNCTION);
        assert_eq!(e.message, "function foo(integer) does not exist");
        assert_eq!(e.hint.as_deref(), Some("No function matches the given name and argument types. You might need to add explicit type casts."));
        assert_eq!(
            run("length", &[i(1)]).unwrap_err().message,
            "function length(integer) does not exist"
        );
        assert_eq!(
            function_return_type("sqrt", &[DataType::Int4]).unwrap(),
            DataType::Float8
        );
        assert_eq!(
            function_return_type("sqrt", &[DataType::Numeric(None)]).unwrap(),
            DataType::Numeric(None)
        );
        assert_eq!(
            function_return_type("round", &[DataType::Int4, DataType::Int4]).unwrap(),
            DataType::Numeric(None)
        );
        assert!(function_return_type("round", &[DataType::Float8, DataType::Int4]).is_err());
        assert_eq!(
            function_return_type("greatest", &[DataType::Int4, DataType::Numeric(None)]).unwrap(),
            DataType::Numeric(None)
        );
        assert_eq!(
            function_return_type("date_trunc", &[DataType::Text, DataType::Date]).unwrap(),
            DataType::Timestamptz
        );
    }

    #[test]
    fn math_functions() {
        assert_eq!(out("abs", &[i(-3)]), "3");
        assert_eq!(
            run("abs", &[i(i32::MIN)]).unwrap_err().message,
            "integer out of range"
        );
        assert_eq!(out("ceil", &[n("-1.5")]), "-1");
        assert_eq!(out("floor", &[n("-1.5")]), "-2");
        assert_eq!(out("floor", &[Value::Float8(1.5)]), "1");
        assert_eq!(out("round", &[Value::Float8(2.5)]), "2");
        assert_eq!(out("round", &[n("2.5")]), "3");
        assert_eq!(out("round", &[n("3.14159"), i(2)]), "3.14");
        assert_eq!(out("round", &[i(1), i(2)]), "1.00");
        assert_eq!(out("round", &[n("1250"), i(-2)]), "1300");
        assert_eq!(out("trunc", &[n("-3.789"), i(1)]), "-3.7");
        assert_eq!(out("sign", &[n("-0.5")]), "-1");
        assert_eq!(out("sqrt", &[i(16)]), "4");
        assert_eq!(out("sqrt", &[n("2")]), "1.414213562373095");
        assert_eq!(out("sqrt", &[n("1000000")]), "1000.0000000000000");
        assert_eq!(out("sqrt", &[n("0.0001")]), "0.01000000000000000");
        // PostgreSQL: 22026.465794806717 (exact); ours comes from float8.
        assert!(out("exp", &[n("10.0")]).starts_with("22026.46579480671"));
        assert_eq!(out("exp", &[n("10.0")]).len(), "22026.465794806717".len());
        assert!(out("ln", &[n("100.0")]).starts_with("4.605170185988091"));
        assert_eq!(out("ln", &[n("100.0")]).len(), "4.6051701859880914".len());
        assert_eq!(out("log", &[n("100")]), "2.0000000000000000");
        assert!(out("power", &[n("2.0"), n("0.5")]).starts_with("1.414213562373095"));
        assert_eq!(out("power", &[n("10.0"), n("-2")]), "0.0100000000000000");
        assert_eq!(
            run("sqrt", &[i(-1)]).unwrap_err().message,
            "cannot take square root of a negative number"
        );
        assert_eq!(out("cbrt", &[i(27)]), "3");
        assert_eq!(out("power", &[i(2), i(10)]), "1024");
        assert_eq!(out("power", &[n("2"), n("10")]), "1024.0000000000000000");
        assert_eq!(out("ln", &[n("2.0")]), "0.6931471805599453");
        assert_eq!(out("log", &[i(100)]), "2");
        assert_eq!(out("log", &[i(2), i(8)]), "3.0000000000000000");
        assert_eq!(
            run("ln", &[i(0)]).unwrap_err().message,
            "cannot take logarithm of zero"
        );
        assert_eq!(out("mod", &[i(7), i(3)]), "1");
        assert_eq!(out("mod", &[n("7.5"), i(2)]), "1.5");
        assert_eq!(
            run("mod", &[i(7), i(0)]).unwrap_err().code,
            SqlState::DIVISION_BY_ZERO
        );
        assert_eq!(out("div", &[n("7"), n("2")]), "3");
        assert_eq!(out("pi", &[]), "3.141592653589793");
        assert_eq!(
            out("degrees", &[Value::Float8(std::f64::consts::PI)]),
            "180"
        );
        assert_eq!(out("greatest", &[i(1), Value::Null, n("2.5")]), "2.5");
        assert_eq!(out("least", &[i(3), Value::Int8(2)]), "2");
        assert_eq!(out("greatest", &[Value::Null]), "NULL");
        assert_eq!(
            out(
                "width_bucket",
                &[
                    Value::Float8(5.35),
                    Value::Float8(0.024),
                    Value::Float8(10.06),
                    i(5)
                ]
            ),
            "3"
        );
        let r = run("random", &[]).unwrap();
        assert!(matches!(r, Value::Float8(f) if (0.0..1.0).contains(&f)));
        let u = out("gen_random_uuid", &[]);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn datetime_functions() {
        let ts = |s: &str| p(s, DataType::Timestamp);
        assert_eq!(out("now", &[]), "2024-03-05 14:07:09+00");
        assert_eq!(out("current_date", &[]), "2024-03-05");
        assert_eq!(
            out("date_trunc", &[t("month"), ts("2024-02-15 10:00")]),
            "2024-02-01 00:00:00"
        );
        assert_eq!(
            out("date_part", &[t("year"), ts("2024-02-15 10:00")]),
            "2024"
        );
        assert_eq!(
            out("extract", &[t("epoch"), ts("2024-01-01 00:00:00.5")]),
            "1704067200.500000"
        );
        assert_eq!(
            out("age", &[ts("2024-03-01"), ts("2023-01-31")]),
            "1 year 1 mon 1 day"
        );
        assert_eq!(out("age", &[ts("2024-03-01")]), "4 days");
        assert_eq!(out("make_date", &[i(2024), i(2), i(29)]), "2024-02-29");
        assert_eq!(
            run("make_date", &[i(2023), i(2), i(29)])
                .unwrap_err()
                .message,
            "date field value out of range: 2023-02-29"
        );
        assert_eq!(
            out(
                "make_timestamp",
                &[i(2024), i(1), i(2), i(3), i(4), Value::Float8(5.5)]
            ),
            "2024-01-02 03:04:05.5"
        );
        assert_eq!(
            out(
                "make_interval",
                &[i(1), i(2), i(1), i(3), i(4), i(5), Value::Float8(6.5)]
            ),
            "1 year 2 mons 10 days 04:05:06.5"
        );
        assert_eq!(
            out(
                "make_interval",
                &[Value::Null, Value::Null, Value::Null, i(3)]
            ),
            "3 days"
        );
        assert_eq!(
            out(
                "to_char",
                &[ts("2024-03-05 14:07:09"), t("YYYY/MM/DD HH24:MI:SS")]
            ),
            "2024/03/05 14:07:09"
        );
        assert_eq!(
            out("to_date", &[t("05 Mar 2024"), t("DD Mon YYYY")]),
            "2024-03-05"
        );
        assert_eq!(
            out(
                "to_timestamp",
                &[t("2024-03-05 14:07"), t("YYYY-MM-DD HH24:MI")]
            ),
            "2024-03-05 14:07:00+00"
        );
        assert_eq!(
            out("to_timestamp", &[Value::Float8(1704067200.5)]),
            "2024-01-01 00:00:00.5+00"
        );
        assert_eq!(
            out("justify_hours", &[p("27 hours", DataType::Interval)]),
            "1 day 03:00:00"
        );
        assert_eq!(
            out("justify_days", &[p("35 days", DataType::Interval)]),
            "1 mon 5 days"
        );
        assert_eq!(
            out(
                "justify_interval",
                &[p("1 mon -1 hour", DataType::Interval)]
            ),
            "29 days 23:00:00"
        );
        assert_eq!(out("isfinite", &[p("infinity", DataType::Date)]), "f");
    }

    #[test]
    fn json_functions() {
        let j = |s: &str| p(s, DataType::Jsonb);
        assert_eq!(
            out("jsonb_build_object", &[t("a"), i(1), t("b"), Value::Null]),
            r#"{"a": 1, "b": null}"#
        );
        assert_eq!(
            run("jsonb_build_object", &[Value::Null, i(1)])
                .unwrap_err()
                .message,
            "argument 1: key must not be null"
        );
        assert_eq!(
            out(
                "jsonb_build_array",
                &[i(1), t("x"), Value::Null, Value::Bool(true)]
            ),
            r#"[1, "x", null, true]"#
        );
        assert_eq!(out("jsonb_typeof", &[j("[1]")]), "array");
        assert_eq!(out("jsonb_array_length", &[j("[1,2]")]), "2");
        assert_eq!(
            run("jsonb_array_length", &[j("1")]).unwrap_err().message,
            "cannot get array length of a scalar"
        );
        assert_eq!(out("to_jsonb", &[n("1.50")]), "1.50");
        let doc = j(r#"{"a":{"b":["x","y"]}}"#);
        assert_eq!(
            out("jsonb_extract_path", &[doc.clone(), t("a"), t("b"), t("1")]),
            r#""y""#
        );
        assert_eq!(
            out(
                "jsonb_extract_path_text",
                &[doc.clone(), t("a"), t("b"), t("1")]
            ),
            "y"
        );
        let path = p("{a,c}", DataType::Array(Box::new(DataType::Text)));
        assert_eq!(
            out("jsonb_set", &[doc.clone(), path.clone(), j("1")]),
            r#"{"a": {"b": ["x", "y"], "c": 1}}"#
        );
        assert_eq!(
            out(
                "jsonb_set",
                &[doc.clone(), path, j("1"), Value::Bool(false)]
            ),
            r#"{"a": {"b": ["x", "y"]}}"#
        );
        assert_eq!(
            out("jsonb_strip_nulls", &[j(r#"{"a":null,"b":1}"#)]),
            r#"{"b": 1}"#
        );
        assert_eq!(out("jsonb_pretty", &[j("[1]")]), "[\n    1\n]");
        assert_eq!(out("pg_typeof", &[i(1)]), "integer");
        assert_eq!(out("pg_typeof", &[Value::Null]), "unknown");
    }
}
