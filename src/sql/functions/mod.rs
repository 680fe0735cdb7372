//! Scalar SQL functions: type resolution ([`function_return_type`]) and
//! evaluation ([`call_function`]), one module per family: `string`,
//! `math`, `datetime`, `jsonb`, `array`, `system` (`pg_typeof`,
//! `format_type`...), `catalog` (`regclass` & co. and the `pg_get_*def`
//! functions, which need the statement's catalog), `md5`, `vector`
//! (pgvector's functions).
//!
//! Elsewhere: the set-returning functions `generate_series` and
//! `pg_partition_ancestors` are plan nodes (bound in FROM, or from a select
//! list without FROM, by `sql::plan`); aggregates are `sql::plan` /
//! `sql::exec::aggregate`; the lazy forms `coalesce`, `nullif` and `CASE`
//! and functions that need the transaction manager (`txid_status`) are
//! evaluated by the executor; `txid_current()`, `current_setting()` and
//! `version()` are answered by the engine when the statement is bound.
//!
//! Not provided: other set-returning functions (`unnest`,
//! `jsonb_object_keys`...), the regular-expression functions
//! (`regexp_replace`; `~` is `textregexeq` here), numeric and interval
//! `to_char` templates.

mod array;
pub mod catalog;
pub mod datetime;
mod jsonb;
mod math;
pub mod md5;
pub mod size;
pub mod string;
pub mod system;
mod vector;

pub use string::{quote_ident, quote_literal};
pub use system::pg_typeof_name;

use std::borrow::Cow;

use bigdecimal::num_traits::{Signed, ToPrimitive};
use serde_json::Value as Json;

use crate::error::{SqlError, SqlState};
use crate::sql::functions::md5::md5_hex;
use crate::value::cast::cast_explicit;
use crate::value::numeric::to_f64;
use crate::value::ops::int_out_of_range;
use crate::value::types::DataType;
use crate::value::tz::TimeZone;
use crate::value::{json, Numeric, Value};

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

/// The result type of `name(arg_types…)`, or 42883 when no such function
/// exists. `arg_types` may contain `Unknown` for untyped literals/NULLs.
pub fn function_return_type(name: &str, arg_types: &[DataType]) -> Result<DataType, SqlError> {
    resolve(&name.to_ascii_lowercase(), arg_types)
        .map(|(_, t)| t)
        .ok_or_else(|| undefined_function(name, arg_types))
}

/// The function families, one module each.
#[derive(Clone, Copy)]
enum Family {
    String,
    System,
    Array,
    Math,
    DateTime,
    Json,
    Vector,
}

/// The family that implements `name(a…)` and its result type.
fn resolve(name: &str, a: &[DataType]) -> Option<(Family, DataType)> {
    string::return_type(name, a)
        .map(|t| (Family::String, t))
        .or_else(|| system::return_type(name, a).map(|t| (Family::System, t)))
        .or_else(|| array::return_type(name, a).map(|t| (Family::Array, t)))
        .or_else(|| math::return_type(name, a).map(|t| (Family::Math, t)))
        .or_else(|| datetime::return_type(name, a).map(|t| (Family::DateTime, t)))
        .or_else(|| jsonb::return_type(name, a).map(|t| (Family::Json, t)))
        .or_else(|| vector::return_type(name, a).map(|t| (Family::Vector, t)))
}

/// The declared type of argument `i` of `name` where an untyped literal
/// there takes it (pgvector's vector parameters); Unknown elsewhere.
pub fn parameter_type(name: &str, i: usize) -> DataType {
    vector::parameter(name, i).unwrap_or(DataType::Unknown)
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
            | "json_build_object"
            | "json_build_array"
            | "pg_typeof"
            | "quote_nullable"
            | "array_position"
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

/// Evaluates a scalar function. Argument types are checked with the same
/// rules as [`function_return_type`] (42883 when none matches); strict
/// functions return NULL when any argument is NULL.
pub fn call_function(name: &str, args: &[Value], ctx: &mut FnContext) -> Result<Value, SqlError> {
    let lname = name.to_ascii_lowercase();
    let types: Vec<DataType> = args.iter().map(Value::data_type).collect();
    let (family, ret) = resolve(&lname, &types).ok_or_else(|| undefined_function(name, &types))?;
    if !is_non_strict(&lname) && args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let tz = ctx.tz;
    let a = args;
    match family {
        Family::String => string::call(&lname, a, tz),
        Family::System => system::call(&lname, a, &types, ctx),
        Family::Array => array::call(&lname, a, tz),
        Family::Math => math::call(&lname, a, &ret, ctx),
        Family::DateTime => datetime::call(&lname, a, ctx),
        Family::Json => jsonb::call(&lname, a, tz),
        Family::Vector => vector::call(&lname, a),
    }
}

/// Clamps a count to what fits in `usize` on every target (wasm32 too),
/// so that oversized requests hit the length checks instead of wrapping.
fn clamp_count(n: i64) -> usize {
    n.clamp(0, i64::from(u32::MAX)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::text::parse_text;

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
