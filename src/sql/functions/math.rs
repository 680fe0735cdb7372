//! Mathematical functions over integers, numeric and float8.

use std::cmp::Ordering;

use bigdecimal::num_traits::{Signed, Zero};
use bigdecimal::BigDecimal;

use super::{float, int, is_int, is_num, numeric, undefined_function, FnContext};
use crate::error::{SqlError, SqlState};
use crate::value::cast::{cast_explicit, common_type};
use crate::value::numeric::{
    approx_from_f64, decimal_exponent, division_by_zero, numeric_div_trunc, numeric_mod,
    round_half_away, scale_of, trunc_scale,
};
use crate::value::ops::{float_pow, int_out_of_range};
use crate::value::{DataType, Numeric, Value};

/// The result type of `name(a…)` if this family has such a function.
pub(super) fn return_type(name: &str, a: &[DataType]) -> Option<DataType> {
    use DataType as T;
    let n = a.len();
    let all = |f: fn(&DataType) -> bool| a.iter().all(f);
    Some(match name {
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
        _ => return None,
    })
}

/// Evaluates `lname(a…)`, which [`return_type`] accepted (no NULL
/// arguments unless the function is non-strict).
pub(super) fn call(
    lname: &str,
    a: &[Value],
    ret: &DataType,
    ctx: &mut FnContext,
) -> Result<Value, SqlError> {
    let tz = ctx.tz;
    Ok(match lname {
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
                Value::Numeric(Numeric::Value(match lname {
                    "round" => round_half_away(d, 0),
                    "trunc" => trunc_scale(d, 0),
                    "floor" => floor_numeric(d),
                    _ => -floor_numeric(&-d),
                }))
            } else {
                let f = float(&a[0])?;
                Value::Float8(match lname {
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
                crate::value::ops::binary_op(
                    crate::value::ops::BinaryOp::Pow,
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
                    crate::value::ops::binary_op(crate::value::ops::BinaryOp::Mod, &a[0], &a[1])?,
                    ret,
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
                let v = cast_explicit(v.clone(), ret, tz)?;
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
        _ => return Err(undefined_function(lname, &[])),
    })
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

fn floor_numeric(d: &BigDecimal) -> BigDecimal {
    let t = trunc_scale(d, 0);
    if d.is_negative() && &t != d {
        t - BigDecimal::from(1)
    } else {
        t
    }
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
