//! Operators: arithmetic with PostgreSQL's result types and overflow
//! errors, date/time arithmetic, concatenation, bit operations, jsonb and
//! pgvector operators, comparison operators, unary minus and LIKE.

use std::cmp::Ordering;

use bigdecimal::num_traits::{ToPrimitive, Zero};
use bigdecimal::BigDecimal;
use serde_json::Value as Json;

use super::datetime::{
    date_to_ts, interval_neg, interval_out_of_range, ts_add_interval, ts_diff, DATE_INFINITY,
    DATE_MAX_DAYS, DATE_MIN_DAYS, DATE_NEG_INFINITY, USECS_PER_SEC,
};
use super::json::{self, get_index, get_key, get_path};
use super::numeric::{check_range, division_by_zero, numeric_div, numeric_mod};
use super::tz::TimeZone;
use super::vector;
use super::{Interval, Numeric, Value};
use crate::error::{SqlError, SqlState};

/// A binary operator. LIKE/ILIKE are [`like`]; AND/OR/IS are the
/// executor's (they need three-valued short-circuit logic).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (integer division truncates)
    Div,
    /// `%`
    Mod,
    /// `^`
    Pow,
    /// `||`
    Concat,
    /// `&`
    BitAnd,
    /// `|`
    BitOr,
    /// `#`
    BitXor,
    /// `<<`
    ShiftLeft,
    /// `>>`
    ShiftRight,
    /// `=`
    Eq,
    /// `<>` / `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `->`
    JsonGet,
    /// `->>`
    JsonGetText,
    /// `#>`
    JsonPath,
    /// `#>>`
    JsonPathText,
    /// `@>`
    JsonContains,
    /// `<@`
    JsonContained,
    /// `?`
    JsonHasKey,
    /// `?|`
    JsonHasAnyKey,
    /// `?&`
    JsonHasAllKeys,
    /// pgvector `<->` (Euclidean distance)
    L2Distance,
    /// pgvector `<#>` (negative inner product)
    NegInnerProduct,
    /// pgvector `<=>` (cosine distance)
    CosineDistance,
    /// pgvector `<+>` (taxicab distance)
    L1Distance,
    /// pgvector `<~>` (Hamming distance of bit strings)
    HammingDistance,
    /// pgvector `<%>` (Jaccard distance of bit strings)
    JaccardDistance,
}

impl BinaryOp {
    /// The operator as written in SQL (for error messages).
    pub fn symbol(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            Pow => "^",
            Concat => "||",
            BitAnd => "&",
            BitOr => "|",
            BitXor => "#",
            ShiftLeft => "<<",
            ShiftRight => ">>",
            Eq => "=",
            NotEq => "<>",
            Lt => "<",
            LtEq => "<=",
            Gt => ">",
            GtEq => ">=",
            JsonGet => "->",
            JsonGetText => "->>",
            JsonPath => "#>",
            JsonPathText => "#>>",
            JsonContains => "@>",
            JsonContained => "<@",
            JsonHasKey => "?",
            JsonHasAnyKey => "?|",
            JsonHasAllKeys => "?&",
            L2Distance => "<->",
            NegInnerProduct => "<#>",
            CosineDistance => "<=>",
            L1Distance => "<+>",
            HammingDistance => "<~>",
            JaccardDistance => "<%>",
        }
    }
}

fn no_operator(op: BinaryOp, l: &Value, r: &Value) -> SqlError {
    SqlError::new(
        SqlState::UNDEFINED_FUNCTION,
        format!(
            "operator does not exist: {} {} {}",
            l.data_type(),
            op.symbol(),
            r.data_type()
        ),
    )
    .with_hint("No operator matches the given name and argument types. You might need to add explicit type casts.")
}

/// `integer out of range` and friends.
pub fn int_out_of_range(bits: u32) -> SqlError {
    let name = match bits {
        16 => "smallint",
        32 => "integer",
        _ => "bigint",
    };
    SqlError::new(
        SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
        format!("{name} out of range"),
    )
}

fn float_overflow() -> SqlError {
    SqlError::new(
        SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
        "value out of range: overflow",
    )
}

fn float_underflow() -> SqlError {
    SqlError::new(
        SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
        "value out of range: underflow",
    )
}

/// Integer width of a value (16, 32, 64) or None.
fn int_of(v: &Value) -> Option<(i64, u32)> {
    match v {
        Value::Int2(x) => Some((i64::from(*x), 16)),
        Value::Int4(x) => Some((i64::from(*x), 32)),
        Value::Int8(x) => Some((*x, 64)),
        _ => None,
    }
}

fn make_int(v: i64, bits: u32) -> Result<Value, SqlError> {
    Ok(match bits {
        16 => Value::Int2(i16::try_from(v).map_err(|_| int_out_of_range(16))?),
        32 => Value::Int4(i32::try_from(v).map_err(|_| int_out_of_range(32))?),
        _ => Value::Int8(v),
    })
}

fn int_arith(op: BinaryOp, a: i64, b: i64, bits: u32) -> Result<Value, SqlError> {
    use BinaryOp::*;
    let oor = || int_out_of_range(bits);
    let r = match op {
        Add => a.checked_add(b).ok_or_else(oor)?,
        Sub => a.checked_sub(b).ok_or_else(oor)?,
        Mul => a.checked_mul(b).ok_or_else(oor)?,
        Div => {
            if b == 0 {
                return Err(division_by_zero());
            }
            a.checked_div(b).ok_or_else(oor)?
        }
        Mod => {
            if b == 0 {
                return Err(division_by_zero());
            }
            // i64::MIN % -1 overflows in Rust; the answer is 0.
            a.checked_rem(b).unwrap_or(0)
        }
        BitAnd => a & b,
        BitOr => a | b,
        BitXor => a ^ b,
        ShiftLeft | ShiftRight => {
            // PostgreSQL shifts in the left operand's width with C
            // semantics (the count is taken modulo the width).
            let s = (b.rem_euclid(i64::from(bits))) as u32;
            return make_int(
                match (op, bits) {
                    (ShiftLeft, 16) => i64::from((a as i16).wrapping_shl(s)),
                    (ShiftLeft, 32) => i64::from((a as i32).wrapping_shl(s)),
                    (ShiftLeft, _) => a.wrapping_shl(s),
                    (_, 16) => i64::from((a as i16) >> s),
                    (_, 32) => i64::from((a as i32) >> s),
                    _ => a >> s,
                },
                bits,
            );
        }
        _ => unreachable_op(op)?,
    };
    make_int(r, bits)
}

fn unreachable_op(op: BinaryOp) -> Result<i64, SqlError> {
    Err(SqlError::new(
        SqlState::INTERNAL_ERROR,
        format!("operator {} is not arithmetic", op.symbol()),
    ))
}

fn float_arith(op: BinaryOp, a: f64, b: f64) -> Result<f64, SqlError> {
    use BinaryOp::*;
    let r = match op {
        Add => a + b,
        Sub => a - b,
        Mul => a * b,
        Div => {
            if b == 0.0 {
                return Err(division_by_zero());
            }
            a / b
        }
        Mod => {
            if b == 0.0 {
                return Err(division_by_zero());
            }
            a % b
        }
        Pow => return float_pow(a, b),
        _ => {
            return Err(SqlError::new(
                SqlState::INTERNAL_ERROR,
                "bad float operator",
            ))
        }
    };
    if r.is_infinite() && a.is_finite() && b.is_finite() {
        return Err(float_overflow());
    }
    if r == 0.0 && matches!(op, Mul | Div) && a != 0.0 && a.is_finite() && b.is_finite() {
        return Err(float_underflow());
    }
    Ok(r)
}

/// `float8 ^ float8` with PostgreSQL's domain errors.
pub fn float_pow(a: f64, b: f64) -> Result<f64, SqlError> {
    if a == 0.0 && b < 0.0 {
        return Err(SqlError::new(
            SqlState("2201F"),
            "zero raised to a negative power is undefined",
        ));
    }
    if a < 0.0 && b.fract() != 0.0 && b.is_finite() {
        return Err(SqlError::new(
            SqlState("2201F"),
            "a negative number raised to a non-integer power yields a complex result",
        ));
    }
    let r = a.powf(b);
    if r.is_infinite() && a.is_finite() && b.is_finite() {
        return Err(float_overflow());
    }
    if r == 0.0 && a != 0.0 && a.is_finite() && b.is_finite() {
        return Err(float_underflow());
    }
    Ok(r)
}

fn numeric_of(v: &Value) -> Option<Numeric> {
    Some(match v {
        Value::Int2(x) => Numeric::Value(BigDecimal::from(*x)),
        Value::Int4(x) => Numeric::Value(BigDecimal::from(*x)),
        Value::Int8(x) => Numeric::Value(BigDecimal::from(*x)),
        Value::Numeric(n) => n.clone(),
        _ => return None,
    })
}

fn float_of(v: &Value) -> Option<f64> {
    Some(match v {
        Value::Float4(f) => f64::from(*f),
        Value::Float8(f) => *f,
        Value::Int2(x) => f64::from(*x),
        Value::Int4(x) => f64::from(*x),
        Value::Int8(x) => *x as f64,
        Value::Numeric(n) => super::numeric::to_f64(n),
        _ => return None,
    })
}

/// `numeric ^ numeric`. Integer exponents are computed exactly and shown
/// with at least 16 decimals (as PostgreSQL: `1.5 ^ 2 = 2.2500000000000000`);
/// other exponents go through float8 and keep about 16 significant digits
/// (PostgreSQL computes those exactly, so the last digit may differ).
fn numeric_pow(a: &BigDecimal, b: &BigDecimal) -> Result<Numeric, SqlError> {
    use super::numeric::{approx_from_f64, decimal_exponent, div_to_scale, scale_of};
    if a.is_zero() && b < &BigDecimal::zero() {
        return Err(SqlError::new(
            SqlState("2201F"),
            "zero raised to a negative power is undefined",
        ));
    }
    if b.is_integer() {
        if let Some(e) = b.to_i64().filter(|e| e.unsigned_abs() <= 100_000) {
            let (int, scale) = a.as_bigint_and_exponent();
            let digits = int.magnitude().to_str_radix(10).len() as u64;
            // Bound the work (and memory) of the exact path.
            if digits.saturating_mul(e.unsigned_abs()) <= 50_000 && !a.is_zero() || a.is_zero() {
                let n = e.unsigned_abs() as u32;
                let p = BigDecimal::new(int.pow(n), scale.max(0) * i64::from(n));
                let r = if e < 0 {
                    let target = (14 - decimal_exponent(&p)).max(16);
                    div_to_scale(&BigDecimal::from(1), &p, target.min(1000))?
                } else {
                    p
                };
                let r = if scale_of(&r) < 16 {
                    r.with_scale(16)
                } else {
                    r
                };
                return check_range(r).map(Numeric::Value);
            }
        }
    }
    let f = float_pow(
        super::numeric::to_f64(&Numeric::Value(a.clone())),
        super::numeric::to_f64(&Numeric::Value(b.clone())),
    )?;
    approx_from_f64(
        f,
        16 - (if f == 0.0 {
            0
        } else {
            f.abs().log10().trunc() as i64
        }),
    )
}

fn numeric_arith(op: BinaryOp, a: &Numeric, b: &Numeric) -> Result<Value, SqlError> {
    use BinaryOp::*;
    let (x, y) = match (a, b) {
        (Numeric::Value(x), Numeric::Value(y)) => (x, y),
        _ => {
            // NaN propagates, except that division by zero still errors.
            if matches!((op, b), (Div | Mod, Numeric::Value(z)) if z.is_zero()) {
                return Err(division_by_zero());
            }
            return Ok(Value::Numeric(Numeric::NaN));
        }
    };
    let r = match op {
        Add => x + y,
        Sub => x - y,
        Mul => x * y,
        Div => numeric_div(x, y)?,
        Mod => numeric_mod(x, y)?,
        Pow => return numeric_pow(x, y).map(Value::Numeric),
        _ => {
            return Err(SqlError::new(
                SqlState::INTERNAL_ERROR,
                "bad numeric operator",
            ))
        }
    };
    check_range(r).map(|d| Value::Numeric(Numeric::Value(d)))
}

/// `interval * factor` with PostgreSQL's fractional cascade
/// (`interval_mul`): fractional months become 30-day days, fractional days
/// become time.
pub fn interval_mul(iv: &Interval, factor: f64) -> Result<Interval, SqlError> {
    if !factor.is_finite() {
        return Err(interval_out_of_range());
    }
    let month_f = f64::from(iv.months) * factor;
    let day_f = f64::from(iv.days) * factor;
    let in_i32 = |x: f64| x >= f64::from(i32::MIN) && x <= f64::from(i32::MAX);
    if !in_i32(month_f) || !in_i32(day_f) {
        return Err(interval_out_of_range());
    }
    let months = month_f.trunc() as i32;
    let mut days = day_f.trunc() as i32;
    let month_remainder_days = (month_f - f64::from(months)) * 30.0;
    let mut sec_remainder =
        (day_f - f64::from(days) + month_remainder_days - month_remainder_days.trunc()) * 86400.0;
    // Round to microseconds as PostgreSQL's TSROUND.
    sec_remainder = (sec_remainder * 1e6).round() / 1e6;
    if sec_remainder.abs() >= 86400.0 {
        days = days
            .checked_add((sec_remainder / 86400.0).trunc() as i32)
            .ok_or_else(interval_out_of_range)?;
        sec_remainder -= (sec_remainder / 86400.0).trunc() * 86400.0;
    }
    days = days
        .checked_add(month_remainder_days.trunc() as i32)
        .ok_or_else(interval_out_of_range)?;
    let micros = (iv.micros as f64 * factor + sec_remainder * USECS_PER_SEC as f64).round();
    if micros.is_nan() || micros.abs() >= 9.2e18 {
        return Err(interval_out_of_range());
    }
    Ok(Interval {
        months,
        days,
        micros: micros as i64,
    })
}

fn interval_add(a: &Interval, b: &Interval) -> Result<Interval, SqlError> {
    Ok(Interval {
        months: a
            .months
            .checked_add(b.months)
            .ok_or_else(interval_out_of_range)?,
        days: a
            .days
            .checked_add(b.days)
            .ok_or_else(interval_out_of_range)?,
        micros: a
            .micros
            .checked_add(b.micros)
            .ok_or_else(interval_out_of_range)?,
    })
}

fn date_plus_days(d: i32, n: i64) -> Result<Value, SqlError> {
    if d == DATE_INFINITY || d == DATE_NEG_INFINITY {
        return Ok(Value::Date(d));
    }
    let r = i64::from(d)
        .checked_add(n)
        .and_then(|r| i32::try_from(r).ok())
        .filter(|r| (DATE_MIN_DAYS..=DATE_MAX_DAYS).contains(r))
        .ok_or_else(|| SqlError::new(SqlState::DATETIME_FIELD_OVERFLOW, "date out of range"))?;
    Ok(Value::Date(r))
}

/// `x::text` for `||` (anytextcat): like the output function, except that
/// booleans cast to text as `true`/`false`.
fn to_text_operand(v: &Value, tz: &TimeZone) -> Option<String> {
    match v {
        Value::Bool(b) => Some(if *b { "true" } else { "false" }.to_string()),
        other => other.to_pg_text(tz),
    }
}

fn text_path(v: &Value) -> Option<Vec<Option<String>>> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Null => Some(None),
                Value::Text(s) => Some(Some(s.clone())),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn text_list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|i| match i {
                    Value::Text(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
        ),
        _ => None,
    }
}

fn jsonb_concat(a: &Json, b: &Json) -> Json {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            let mut m = x.clone();
            for (k, v) in y {
                m.insert(k.clone(), v.clone());
            }
            Json::Object(m)
        }
        _ => {
            let as_vec = |j: &Json| match j {
                Json::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            let mut v = as_vec(a);
            v.extend(as_vec(b));
            Json::Array(v)
        }
    }
}

/// pgvector distances (`<->`, `<#>`, `<=>`, `<+>`) as float8.
pub fn vector_distance(op: BinaryOp, a: &[f32], b: &[f32]) -> Result<f64, SqlError> {
    match op {
        BinaryOp::L2Distance => vector::l2_distance(a, b),
        BinaryOp::NegInnerProduct => vector::inner_product(a, b).map(|d| -d),
        BinaryOp::L1Distance => vector::l1_distance(a, b),
        _ => vector::cosine_distance(a, b),
    }
}

fn compare_op(op: BinaryOp, l: &Value, r: &Value, tz: &TimeZone) -> Result<Value, SqlError> {
    let o = l.sql_cmp_tz(r, tz).ok_or_else(|| no_operator(op, l, r))?;
    Ok(Value::Bool(match op {
        BinaryOp::Eq => o == Ordering::Equal,
        BinaryOp::NotEq => o != Ordering::Equal,
        BinaryOp::Lt => o == Ordering::Less,
        BinaryOp::LtEq => o != Ordering::Greater,
        BinaryOp::Gt => o == Ordering::Greater,
        _ => o != Ordering::Less,
    }))
}

/// Applies a binary operator with the session zone UTC (see
/// [`binary_op_tz`]).
pub fn binary_op(op: BinaryOp, left: &Value, right: &Value) -> Result<Value, SqlError> {
    binary_op_tz(op, left, right, &TimeZone::utc())
}

/// Applies a binary operator with PostgreSQL's semantics and result types.
/// NULL operands give NULL. `tz` matters for `timestamptz ± interval`
/// (calendar steps happen in the session zone) and for `text ||
/// timestamptz`. Unsupported operand types give 42883 `operator does not
/// exist`.
pub fn binary_op_tz(
    op: BinaryOp,
    left: &Value,
    right: &Value,
    tz: &TimeZone,
) -> Result<Value, SqlError> {
    use BinaryOp::*;
    use Value as V;
    if left.is_null() || right.is_null() {
        return Ok(V::Null);
    }
    // pgvector casts vector to halfvec implicitly (and not back), so a
    // vector beside a halfvec is one.
    if let (V::HalfVec(_), V::Vector(v)) | (V::Vector(v), V::HalfVec(_)) = (left, right) {
        let h = V::HalfVec(crate::value::bits::to_halfvec(v)?);
        return if matches!(left, V::Vector(_)) {
            binary_op_tz(op, &h, right, tz)
        } else {
            binary_op_tz(op, left, &h, tz)
        };
    }
    let err = || no_operator(op, left, right);
    match op {
        Eq | NotEq | Lt | LtEq | Gt | GtEq => return compare_op(op, left, right, tz),
        Concat => {
            return Ok(match (left, right) {
                (V::Array(a), V::Array(b)) => V::Array(a.iter().chain(b).cloned().collect()),
                (V::Array(a), b) => V::Array(a.iter().cloned().chain([b.clone()]).collect()),
                (a, V::Array(b)) => {
                    V::Array([a.clone()].into_iter().chain(b.iter().cloned()).collect())
                }
                (V::Jsonb(a), V::Jsonb(b)) => V::Jsonb(jsonb_concat(a, b)),
                (V::Bytea(a), V::Bytea(b)) => V::Bytea([a.as_slice(), b].concat()),
                (V::Text(_), _) | (_, V::Text(_)) => V::Text(
                    to_text_operand(left, tz).unwrap_or_default()
                        + &to_text_operand(right, tz).unwrap_or_default(),
                ),
                _ => return Err(err()),
            })
        }
        JsonGet | JsonGetText | JsonPath | JsonPathText if matches!(left, V::Json(_)) => {
            return json_text_get(op, left, right).ok_or_else(err)?;
        }
        JsonGet | JsonGetText => {
            let V::Jsonb(j) = left else { return Err(err()) };
            let found = match right {
                V::Text(k) => get_key(j, k),
                V::Int2(_) | V::Int4(_) | V::Int8(_) => {
                    get_index(j, int_of(right).map_or(0, |x| x.0))
                }
                _ => return Err(err()),
            };
            return Ok(json_result(found, op == JsonGetText));
        }
        JsonPath | JsonPathText => {
            let (V::Jsonb(j), Some(path)) = (left, text_path(right)) else {
                return Err(err());
            };
            return Ok(json_result(get_path(j, &path), op == JsonPathText));
        }
        // anyarray @> anyarray: every element of the contained array
        // equals one of the container's (a NULL element equals none).
        JsonContains | JsonContained if matches!((left, right), (V::Array(_), V::Array(_))) => {
            let (container, contained) = if op == JsonContains {
                (left, right)
            } else {
                (right, left)
            };
            let (V::Array(a), V::Array(b)) = (container, contained) else {
                return Err(err());
            };
            let (a, b) = (flatten(a), flatten(b));
            let mut all = true;
            for x in &b {
                let mut found = false;
                for y in &a {
                    if x.is_null() || y.is_null() {
                        continue;
                    }
                    if x.sql_cmp_tz(y, tz).ok_or_else(err)? == Ordering::Equal {
                        found = true;
                        break;
                    }
                }
                if !found {
                    all = false;
                    break;
                }
            }
            return Ok(V::Bool(all));
        }
        JsonContains | JsonContained => {
            let (V::Jsonb(a), V::Jsonb(b)) = (left, right) else {
                return Err(err());
            };
            return Ok(V::Bool(if op == JsonContains {
                json::contains(a, b)
            } else {
                json::contains(b, a)
            }));
        }
        JsonHasKey | JsonHasAnyKey | JsonHasAllKeys => {
            let V::Jsonb(j) = left else { return Err(err()) };
            return Ok(V::Bool(match (op, right) {
                (JsonHasKey, V::Text(k)) => json::has_key(j, k),
                (JsonHasAnyKey, r) => text_list(r)
                    .ok_or_else(err)?
                    .iter()
                    .any(|k| json::has_key(j, k)),
                (JsonHasAllKeys, r) => text_list(r)
                    .ok_or_else(err)?
                    .iter()
                    .all(|k| json::has_key(j, k)),
                _ => return Err(err()),
            }));
        }
        L2Distance | NegInnerProduct | CosineDistance | L1Distance => {
            let ((V::Vector(a), V::Vector(b)) | (V::HalfVec(a), V::HalfVec(b))) = (left, right)
            else {
                return Err(err());
            };
            return Ok(V::Float8(vector_distance(op, a, b)?));
        }
        HammingDistance | JaccardDistance => {
            let (V::Bit(a), V::Bit(b)) = (left, right) else {
                return Err(err());
            };
            return Ok(V::Float8(if op == HammingDistance {
                crate::value::bits::hamming_distance(a, b)?
            } else {
                crate::value::bits::jaccard_distance(a, b)?
            }));
        }
        BitAnd | BitOr | BitXor if matches!((left, right), (V::Bit(_), V::Bit(_))) => {
            let (V::Bit(a), V::Bit(b)) = (left, right) else {
                return Err(err());
            };
            let c = match op {
                BitAnd => '&',
                BitOr => '|',
                _ => '#',
            };
            return Ok(V::Bit(a.bitwise(b, c)?));
        }
        _ => {}
    }
    // Integers with integers.
    if let (Some((a, ba)), Some((b, bb))) = (int_of(left), int_of(right)) {
        if op == Pow {
            return Ok(V::Float8(float_pow(a as f64, b as f64)?));
        }
        // Shifts keep the left operand's type; the rest use the wider type.
        let bits = if matches!(op, ShiftLeft | ShiftRight) {
            ba
        } else {
            ba.max(bb)
        };
        return int_arith(op, a, b, bits);
    }
    if matches!(op, Add | Sub | Mul | Div | Mod | Pow) {
        // Numeric with numeric/integers (exact).
        if matches!(left, V::Numeric(_)) || matches!(right, V::Numeric(_)) {
            if let (Some(a), Some(b)) = (numeric_of(left), numeric_of(right)) {
                return numeric_arith(op, &a, &b);
            }
        }
        // float4 with float4 stays float4; anything else with a float is
        // float8.
        if let (V::Float4(a), V::Float4(b)) = (left, right) {
            if op != Mod {
                let r = float_arith(op, f64::from(*a), f64::from(*b))?;
                let f = r as f32;
                if f.is_infinite() && r.is_finite() {
                    return Err(float_overflow());
                }
                return Ok(V::Float4(f));
            }
        }
        if matches!(left, V::Float4(_) | V::Float8(_))
            || matches!(right, V::Float4(_) | V::Float8(_))
        {
            if op == Mod {
                return Err(err());
            }
            if let (Some(a), Some(b)) = (float_of(left), float_of(right)) {
                return Ok(V::Float8(float_arith(op, a, b)?));
            }
        }
    }
    datetime_op(op, left, right, tz).or_else(|e| {
        if e.code == SqlState::UNDEFINED_FUNCTION {
            other_op(op, left, right)
        } else {
            Err(e)
        }
    })
}

/// The elements of a (possibly multidimensional) array, in storage order.
fn flatten(items: &[Value]) -> Vec<&Value> {
    let mut out = Vec::new();
    for v in items {
        match v {
            Value::Array(inner) => out.extend(flatten(inner)),
            other => out.push(other),
        }
    }
    out
}

/// `->`, `->>`, `#>`, `#>>` on json: the sub-value's exact text (None:
/// the right operand is of no type these operators take).
fn json_text_get(op: BinaryOp, left: &Value, right: &Value) -> Option<Result<Value, SqlError>> {
    use crate::value::json_text::parse_json;
    let Value::Json(s) = left else { return None };
    let doc = match parse_json(s) {
        Ok(d) => d,
        Err(e) => return Some(Err(e)),
    };
    let found = match (op, right) {
        (BinaryOp::JsonGet | BinaryOp::JsonGetText, Value::Text(k)) => doc.get_key(k),
        (
            BinaryOp::JsonGet | BinaryOp::JsonGetText,
            Value::Int2(_) | Value::Int4(_) | Value::Int8(_),
        ) => doc.get_index(int_of(right).map_or(0, |x| x.0)),
        (BinaryOp::JsonPath | BinaryOp::JsonPathText, r) => doc.get_path(&text_path(r)?),
        _ => return None,
    };
    let as_text = matches!(op, BinaryOp::JsonGetText | BinaryOp::JsonPathText);
    Some(Ok(match found {
        None => Value::Null,
        Some(n) if as_text => n.as_text().map_or(Value::Null, Value::Text),
        Some(n) => Value::Json(n.raw().into()),
    }))
}

fn json_result(found: Option<&Json>, as_text: bool) -> Value {
    match found {
        None => Value::Null,
        Some(j) if as_text => json::as_text(j).map_or(Value::Null, Value::Text),
        Some(j) => Value::Jsonb(j.clone()),
    }
}

fn datetime_op(
    op: BinaryOp,
    left: &Value,
    right: &Value,
    tz: &TimeZone,
) -> Result<Value, SqlError> {
    use BinaryOp::*;
    use Value as V;
    let err = || no_operator(op, left, right);
    match (op, left, right) {
        (Add, V::Date(d), n) | (Add, n, V::Date(d)) if int_of(n).is_some() => {
            date_plus_days(*d, int_of(n).map_or(0, |x| x.0))
        }
        (Sub, V::Date(d), n) if int_of(n).is_some() => {
            date_plus_days(*d, int_of(n).map_or(0, |x| x.0).saturating_neg())
        }
        (Sub, V::Date(a), V::Date(b)) => {
            if [*a, *b]
                .iter()
                .any(|d| *d == DATE_INFINITY || *d == DATE_NEG_INFINITY)
            {
                return Err(SqlError::new(
                    SqlState::DATETIME_FIELD_OVERFLOW,
                    "cannot subtract infinite dates",
                ));
            }
            i32::try_from(i64::from(*a) - i64::from(*b))
                .map(V::Int4)
                .map_err(|_| int_out_of_range(32))
        }
        (Add, V::Date(d), V::Interval(iv)) | (Add, V::Interval(iv), V::Date(d)) => {
            Ok(V::Timestamp(ts_add_interval(date_to_ts(*d)?, iv, None)?))
        }
        (Sub, V::Date(d), V::Interval(iv)) => Ok(V::Timestamp(ts_add_interval(
            date_to_ts(*d)?,
            &interval_neg(iv)?,
            None,
        )?)),
        (Add, V::Timestamp(t), V::Interval(iv)) | (Add, V::Interval(iv), V::Timestamp(t)) => {
            Ok(V::Timestamp(ts_add_interval(*t, iv, None)?))
        }
        (Sub, V::Timestamp(t), V::Interval(iv)) => {
            Ok(V::Timestamp(ts_add_interval(*t, &interval_neg(iv)?, None)?))
        }
        (Add, V::Timestamptz(t), V::Interval(iv)) | (Add, V::Interval(iv), V::Timestamptz(t)) => {
            Ok(V::Timestamptz(ts_add_interval(*t, iv, Some(tz))?))
        }
        (Sub, V::Timestamptz(t), V::Interval(iv)) => Ok(V::Timestamptz(ts_add_interval(
            *t,
            &interval_neg(iv)?,
            Some(tz),
        )?)),
        (Sub, V::Timestamp(a), V::Timestamp(b)) | (Sub, V::Timestamptz(a), V::Timestamptz(b)) => {
            Ok(V::Interval(ts_diff(*a, *b)?))
        }
        (Sub, V::Timestamp(a), V::Date(b)) => Ok(V::Interval(ts_diff(*a, date_to_ts(*b)?)?)),
        (Sub, V::Date(a), V::Timestamp(b)) => Ok(V::Interval(ts_diff(date_to_ts(*a)?, *b)?)),
        (Add, V::Interval(a), V::Interval(b)) => Ok(V::Interval(interval_add(a, b)?)),
        (Sub, V::Interval(a), V::Interval(b)) => {
            Ok(V::Interval(interval_add(a, &interval_neg(b)?)?))
        }
        (Mul, V::Interval(iv), n) | (Mul, n, V::Interval(iv)) => {
            let f = float_of(n).ok_or_else(err)?;
            Ok(V::Interval(interval_mul(iv, f)?))
        }
        (Div, V::Interval(iv), n) => {
            let f = float_of(n).ok_or_else(err)?;
            if f == 0.0 {
                return Err(division_by_zero());
            }
            Ok(V::Interval(interval_mul(iv, 1.0 / f)?))
        }
        _ => Err(err()),
    }
}

fn other_op(op: BinaryOp, left: &Value, right: &Value) -> Result<Value, SqlError> {
    use BinaryOp::*;
    use Value as V;
    let err = || no_operator(op, left, right);
    match (op, left, right) {
        // jsonb - text (remove key / string elements), jsonb - int (index).
        (Sub, V::Jsonb(j), V::Text(k)) => Ok(V::Jsonb(match j {
            Json::Object(m) => {
                let mut m = m.clone();
                m.remove(k);
                Json::Object(m)
            }
            Json::Array(a) => Json::Array(
                a.iter()
                    .filter(|e| e.as_str() != Some(k))
                    .cloned()
                    .collect(),
            ),
            other => other.clone(),
        })),
        (Sub, V::Jsonb(Json::Array(a)), n) if int_of(n).is_some() => {
            let idx = int_of(n).map_or(0, |x| x.0);
            let len = a.len() as i64;
            let pos = if idx < 0 { len + idx } else { idx };
            let mut a = a.clone();
            if (0..len).contains(&pos) {
                a.remove(pos as usize);
            }
            Ok(V::Jsonb(Json::Array(a)))
        }
        (Add | Sub | Mul, V::Vector(a), V::Vector(b)) => {
            let c = match op {
                Add => '+',
                Sub => '-',
                _ => '*',
            };
            Ok(V::Vector(vector::elementwise(c, a, b)?))
        }
        (Add | Sub | Mul, V::HalfVec(a), V::HalfVec(b)) => {
            let c = match op {
                Add => '+',
                Sub => '-',
                _ => '*',
            };
            Ok(V::HalfVec(crate::value::bits::to_halfvec(
                &vector::elementwise(c, a, b)?,
            )?))
        }
        _ => Err(err()),
    }
}

/// Unary minus.
pub fn negate(v: &Value) -> Result<Value, SqlError> {
    Ok(match v {
        Value::Null => Value::Null,
        Value::Int2(x) => Value::Int2(x.checked_neg().ok_or_else(|| int_out_of_range(16))?),
        Value::Int4(x) => Value::Int4(x.checked_neg().ok_or_else(|| int_out_of_range(32))?),
        Value::Int8(x) => Value::Int8(x.checked_neg().ok_or_else(|| int_out_of_range(64))?),
        Value::Float4(f) => Value::Float4(-f),
        Value::Float8(f) => Value::Float8(-f),
        Value::Numeric(Numeric::Value(d)) => Value::Numeric(Numeric::Value(-d)),
        Value::Numeric(Numeric::NaN) => Value::Numeric(Numeric::NaN),
        Value::Interval(iv) => Value::Interval(interval_neg(iv)?),
        other => {
            return Err(SqlError::new(
                SqlState::UNDEFINED_FUNCTION,
                format!("operator does not exist: - {}", other.data_type()),
            )
            .with_hint("No operator matches the given name and argument types. You might need to add explicit type casts."))
        }
    })
}

/// The escape character LIKE uses when the query has no ESCAPE clause.
pub const DEFAULT_LIKE_ESCAPE: Option<char> = Some('\\');

enum LikeToken {
    Char(char),
    AnyOne,
    AnyMany,
}

/// Case-sensitive LIKE for the common patterns without wildcards other
/// than a leading and/or trailing `%` (`%word%`, `word%`, `%word`,
/// `word`): a substring, prefix, suffix or equality test. `None` for any
/// other pattern.
fn like_literal(text: &str, pattern: &str, escape: Option<char>) -> Option<bool> {
    if matches!(escape, Some('%' | '_')) {
        return None;
    }
    let body = pattern.trim_start_matches('%');
    let leading = body.len() != pattern.len();
    let lit = body.trim_end_matches('%');
    let trailing = lit.len() != body.len();
    if lit
        .chars()
        .any(|c| c == '%' || c == '_' || Some(c) == escape)
    {
        return None;
    }
    Some(match (leading, trailing) {
        (true, true) => text.contains(lit),
        (false, true) => text.starts_with(lit),
        (true, false) => text.ends_with(lit),
        (false, false) => text == lit,
    })
}

/// `text LIKE pattern` (`%` any string, `_` any character). `escape` is the
/// escape character: pass [`DEFAULT_LIKE_ESCAPE`] when the query has no
/// ESCAPE clause and `None` for `ESCAPE ''`. Matching is iterative with a
/// single backtrack point, so it is O(text × pattern) at worst.
pub fn like(
    text: &str,
    pattern: &str,
    case_insensitive: bool,
    escape: Option<char>,
) -> Result<bool, SqlError> {
    if !case_insensitive {
        if let Some(m) = like_literal(text, pattern, escape) {
            return Ok(m);
        }
    }
    let fold = |c: char| -> char {
        if case_insensitive {
            c.to_lowercase().next().unwrap_or(c)
        } else {
            c
        }
    };
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        if Some(c) == escape {
            let next = it.next().ok_or_else(|| {
                SqlError::new(
                    SqlState::INVALID_ESCAPE_SEQUENCE,
                    "LIKE pattern must not end with escape character",
                )
            })?;
            toks.push(LikeToken::Char(fold(next)));
        } else if c == '%' {
            // Collapse runs of % (they are equivalent to one).
            if !matches!(toks.last(), Some(LikeToken::AnyMany)) {
                toks.push(LikeToken::AnyMany);
            }
        } else if c == '_' {
            toks.push(LikeToken::AnyOne);
        } else {
            toks.push(LikeToken::Char(fold(c)));
        }
    }
    let t: Vec<char> = text.chars().map(fold).collect();
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match toks.get(pi) {
            Some(LikeToken::AnyMany) => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(LikeToken::AnyOne) => {
                ti += 1;
                pi += 1;
            }
            Some(LikeToken::Char(c)) if *c == t[ti] => {
                ti += 1;
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return Ok(false),
            },
        }
    }
    Ok(toks[pi.min(toks.len())..]
        .iter()
        .all(|t| matches!(t, LikeToken::AnyMany)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::text::parse_text;
    use crate::value::types::DataType;

    fn utc() -> TimeZone {
        TimeZone::utc()
    }

    fn p(s: &str, t: DataType) -> Value {
        parse_text(s, &t, &utc()).unwrap()
    }

    fn txt(v: Result<Value, SqlError>) -> String {
        v.unwrap()
            .to_pg_text(&utc())
            .unwrap_or_else(|| "NULL".into())
    }

    fn num(s: &str) -> Value {
        p(s, DataType::Numeric(None))
    }

    #[test]
    fn integer_arithmetic() {
        use BinaryOp::*;
        assert_eq!(
            binary_op(Add, &Value::Int2(1), &Value::Int4(2)).unwrap(),
            Value::Int4(3)
        );
        assert_eq!(
            binary_op(Div, &Value::Int4(7), &Value::Int4(-2)).unwrap(),
            Value::Int4(-3)
        );
        assert_eq!(
            binary_op(Mod, &Value::Int4(-7), &Value::Int4(2)).unwrap(),
            Value::Int4(-1)
        );
        assert_eq!(
            binary_op(Mod, &Value::Int8(i64::MIN), &Value::Int8(-1)).unwrap(),
            Value::Int8(0)
        );
        let e = binary_op(Add, &Value::Int4(i32::MAX), &Value::Int4(1)).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (SqlState::NUMERIC_VALUE_OUT_OF_RANGE, "integer out of range")
        );
        assert_eq!(
            binary_op(Mul, &Value::Int2(300), &Value::Int2(300))
                .unwrap_err()
                .message,
            "smallint out of range"
        );
        assert_eq!(
            binary_op(Div, &Value::Int8(i64::MIN), &Value::Int8(-1))
                .unwrap_err()
                .message,
            "bigint out of range"
        );
        let e = binary_op(Div, &Value::Int4(1), &Value::Int4(0)).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (SqlState::DIVISION_BY_ZERO, "division by zero")
        );
        assert_eq!(
            binary_op(Pow, &Value::Int4(2), &Value::Int4(3)).unwrap(),
            Value::Float8(8.0)
        );
        assert_eq!(
            binary_op(ShiftLeft, &Value::Int4(1), &Value::Int4(4)).unwrap(),
            Value::Int4(16)
        );
        assert_eq!(
            binary_op(BitXor, &Value::Int4(5), &Value::Int4(3)).unwrap(),
            Value::Int4(6)
        );
        assert_eq!(
            binary_op(Add, &Value::Null, &Value::Int4(1)).unwrap(),
            Value::Null
        );
        let e = binary_op(Add, &Value::Text("a".into()), &Value::Int4(1)).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                SqlState::UNDEFINED_FUNCTION,
                "operator does not exist: text + integer"
            )
        );
    }

    #[test]
    fn numeric_and_float_arithmetic() {
        use BinaryOp::*;
        assert_eq!(
            txt(binary_op(Div, &num("1"), &Value::Int4(3))),
            "0.33333333333333333333"
        );
        assert_eq!(txt(binary_op(Add, &num("1.50"), &Value::Int4(1))), "2.50");
        assert_eq!(txt(binary_op(Mul, &num("1.5"), &num("1.25"))), "1.875");
        assert_eq!(
            binary_op(Div, &num("1"), &num("0")).unwrap_err().code,
            SqlState::DIVISION_BY_ZERO
        );
        assert_eq!(
            binary_op(Div, &Value::Float8(1.0), &Value::Float8(0.0))
                .unwrap_err()
                .code,
            SqlState::DIVISION_BY_ZERO
        );
        assert_eq!(
            binary_op(Add, &Value::Float8(0.1), &Value::Float8(0.2)).unwrap(),
            Value::Float8(0.1 + 0.2)
        );
        assert_eq!(
            binary_op(Add, &Value::Int4(1), &Value::Float4(1.5)).unwrap(),
            Value::Float8(2.5)
        );
        assert_eq!(
            binary_op(Add, &Value::Float4(1.0), &Value::Float4(1.5)).unwrap(),
            Value::Float4(2.5)
        );
        assert_eq!(
            binary_op(Mul, &Value::Float8(1e308), &Value::Float8(10.0))
                .unwrap_err()
                .message,
            "value out of range: overflow"
        );
        assert_eq!(
            txt(binary_op(Pow, &num("2"), &num("10"))),
            "1024.0000000000000000"
        );
        assert_eq!(
            txt(binary_op(Pow, &num("1.5"), &num("2"))),
            "2.2500000000000000"
        );
        assert_eq!(txt(binary_op(Mod, &num("7.5"), &num("2"))), "1.5");
        assert_eq!(
            txt(binary_op(Add, &Value::Numeric(Numeric::NaN), &num("1"))),
            "NaN"
        );
        assert_eq!(txt(negate(&num("1.50"))), "-1.50");
        assert_eq!(
            negate(&Value::Int4(i32::MIN)).unwrap_err().message,
            "integer out of range"
        );
    }

    #[test]
    fn datetime_arithmetic() {
        use BinaryOp::*;
        let d = p("2024-01-31", DataType::Date);
        let iv = |s: &str| p(s, DataType::Interval);
        let ts = |s: &str| p(s, DataType::Timestamp);
        assert_eq!(txt(binary_op(Add, &d, &Value::Int4(1))), "2024-02-01");
        assert_eq!(
            txt(binary_op(Sub, &d, &p("2024-01-01", DataType::Date))),
            "30"
        );
        assert_eq!(
            txt(binary_op(Add, &d, &iv("1 month"))),
            "2024-02-29 00:00:00"
        );
        assert_eq!(
            txt(binary_op(Sub, &ts("2024-03-31 10:00"), &iv("1 mon 1 hour"))),
            "2024-02-29 09:00:00"
        );
        assert_eq!(
            txt(binary_op(Sub, &ts("2024-03-01"), &ts("2024-01-01 01:00"))),
            "59 days 23:00:00"
        );
        assert_eq!(
            txt(binary_op(Mul, &iv("1 day"), &num("1.5"))),
            "1 day 12:00:00"
        );
        assert_eq!(
            txt(binary_op(Mul, &iv("1 mon"), &Value::Float8(1.5))),
            "1 mon 15 days"
        );
        assert_eq!(
            txt(binary_op(Div, &iv("1 day"), &Value::Int4(4))),
            "06:00:00"
        );
        assert_eq!(
            txt(binary_op(Add, &iv("1 day"), &iv("-2 hours"))),
            "1 day -02:00:00"
        );
        let tstz = p("2024-01-30 23:00+00", DataType::Timestamptz);
        let plus2 = TimeZone::from_utc_offset(7200).unwrap();
        let r = binary_op_tz(Add, &tstz, &iv("1 mon"), &plus2).unwrap();
        assert_eq!(r.to_pg_text(&utc()).unwrap(), "2024-02-28 23:00:00+00");
        assert_eq!(
            txt(binary_op(
                Sub,
                &tstz,
                &p("2024-01-30 22:00+00", DataType::Timestamptz)
            )),
            "01:00:00"
        );
    }

    #[test]
    fn concat_json_vector() {
        use BinaryOp::*;
        let t = |s: &str| Value::Text(s.into());
        assert_eq!(txt(binary_op(Concat, &t("a"), &Value::Int4(1))), "a1");
        assert_eq!(txt(binary_op(Concat, &t("a"), &Value::Null)), "NULL");
        let ia = p("{1,2}", DataType::Array(Box::new(DataType::Int4)));
        assert_eq!(txt(binary_op(Concat, &ia, &Value::Int4(3))), "{1,2,3}");
        let j = |s: &str| p(s, DataType::Jsonb);
        let doc = j(r#"{"a":{"b":[10,"x"]},"n":null}"#);
        assert_eq!(
            txt(binary_op(JsonGet, &doc, &t("a"))),
            r#"{"b": [10, "x"]}"#
        );
        let path = p("{a,b,1}", DataType::Array(Box::new(DataType::Text)));
        assert_eq!(txt(binary_op(JsonPathText, &doc, &path)), "x");
        assert_eq!(txt(binary_op(JsonPath, &doc, &path)), "\"x\"");
        assert_eq!(txt(binary_op(JsonGetText, &doc, &t("n"))), "NULL");
        assert_eq!(
            txt(binary_op(JsonGet, &j("[1,2,3]"), &Value::Int4(-1))),
            "3"
        );
        assert_eq!(
            txt(binary_op(JsonContains, &doc, &j(r#"{"a":{"b":["x"]}}"#))),
            "t"
        );
        assert_eq!(
            txt(binary_op(JsonContained, &j(r#"{"n":null}"#), &doc)),
            "t"
        );
        assert_eq!(txt(binary_op(JsonHasKey, &doc, &t("n"))), "t");
        assert_eq!(
            txt(binary_op(Concat, &j(r#"{"a":1}"#), &j(r#"{"b":2}"#))),
            r#"{"a": 1, "b": 2}"#
        );
        assert_eq!(
            txt(binary_op(Sub, &j(r#"{"a":1,"b":2}"#), &t("a"))),
            r#"{"b": 2}"#
        );
        let v = |x: Vec<f32>| Value::Vector(x);
        assert_eq!(
            binary_op(L2Distance, &v(vec![0.0, 0.0]), &v(vec![3.0, 4.0])).unwrap(),
            Value::Float8(5.0)
        );
        assert_eq!(
            binary_op(NegInnerProduct, &v(vec![1.0, 2.0]), &v(vec![3.0, 4.0])).unwrap(),
            Value::Float8(-11.0)
        );
        assert_eq!(
            binary_op(CosineDistance, &v(vec![1.0, 0.0]), &v(vec![0.0, 1.0])).unwrap(),
            Value::Float8(1.0)
        );
        assert_eq!(
            binary_op(L2Distance, &v(vec![1.0]), &v(vec![1.0, 2.0]))
                .unwrap_err()
                .message,
            "different vector dimensions 1 and 2"
        );
        assert_eq!(
            binary_op(Lt, &Value::Int4(1), &num("1.5")).unwrap(),
            Value::Bool(true)
        );
    }

    #[test]
    fn like_matching() {
        let l = |t: &str, p: &str| like(t, p, false, DEFAULT_LIKE_ESCAPE).unwrap();
        assert!(l("hello", "h%o"));
        assert!(l("hello", "h_llo"));
        assert!(!l("hello", "h_lo"));
        assert!(l("", "%"));
        assert!(!l("", "_"));
        assert!(l("a%b", "a\\%b"));
        assert!(!l("axb", "a\\%b"));
        assert!(l("abcabc", "%abc"));
        assert!(l("mississippi", "%iss%ppi"));
        assert!(!l("mississippi", "%iss%pip"));
        assert!(like("HeLLo", "hel%", true, DEFAULT_LIKE_ESCAPE).unwrap());
        assert!(like("a_b", "a#_b", false, Some('#')).unwrap());
        assert!(like("a\\b", "a\\b", false, None).unwrap());
        assert_eq!(
            like("a", "a\\", false, DEFAULT_LIKE_ESCAPE)
                .unwrap_err()
                .code,
            SqlState::INVALID_ESCAPE_SEQUENCE
        );
        // Pathological pattern stays fast.
        let text = "a".repeat(5000);
        assert!(!l(&text, &("%a".repeat(50) + "b")));
    }

    #[test]
    fn like_literal_shapes_agree_with_the_general_matcher() {
        // Lower-case inputs: the case-insensitive match takes the general
        // path, the case-sensitive one the literal fast path.
        let texts = [
            "",
            "one",
            "fifty one",
            "onee",
            "ne",
            "one hundred",
            "x%y",
            "a_b",
        ];
        let patterns = [
            "", "%", "%%", "one", "%one", "one%", "%one%", "%%one%%", "%ne%", "o%", "%e", "%x%y%",
            "a_b", "%_%", "a\\_b", "%fifty%",
        ];
        for t in texts {
            for p in patterns {
                for esc in [DEFAULT_LIKE_ESCAPE, None, Some('%'), Some('_')] {
                    let fast = like(t, p, false, esc);
                    let general = like(t, p, true, esc);
                    assert_eq!(
                        fast.as_ref().ok(),
                        general.as_ref().ok(),
                        "{t:?} LIKE {p:?} ESCAPE {esc:?}"
                    );
                }
            }
        }
    }
}
