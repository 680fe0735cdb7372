//! Exact decimal (`numeric`) helpers: PostgreSQL's input syntax, display
//! scale rules, typmod rounding, division scale and an order-preserving
//! byte encoding for index keys.
//!
//! Values are `bigdecimal::BigDecimal` kept with a non-negative scale, which
//! is PostgreSQL's display scale (`1.50` keeps scale 2).

use std::cmp::Ordering;

use bigdecimal::num_bigint::{BigInt, Sign};
use bigdecimal::num_traits::{Signed, ToPrimitive, Zero};
use bigdecimal::BigDecimal;

use super::Numeric;
use crate::error::{SqlError, SqlState};

/// PostgreSQL's limits: 131072 digits before the point, 16383 after.
const MAX_WEIGHT_DIGITS: i64 = 131_072;
const MAX_DISPLAY_SCALE: i64 = 16_383;
/// `select_div_scale`'s constants.
const MIN_SIG_DIGITS: i64 = 16;
const MAX_RESULT_SCALE: i64 = 1000;

/// 22003 `value overflows numeric format`.
pub fn overflow() -> SqlError {
    SqlError::new(
        SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
        "value overflows numeric format",
    )
}

/// 22012 `division by zero`.
pub fn division_by_zero() -> SqlError {
    SqlError::new(SqlState::DIVISION_BY_ZERO, "division by zero")
}

/// 10^n as a BigInt.
pub fn pow10(n: u64) -> BigInt {
    let mut r = BigInt::from(1u8);
    let mut base = BigInt::from(10u8);
    let mut e = n;
    while e > 0 {
        if e & 1 == 1 {
            r *= &base;
        }
        base = &base * &base;
        e >>= 1;
    }
    r
}

/// The scale of `d` (digits after the point), never negative.
pub fn scale_of(d: &BigDecimal) -> i64 {
    d.as_bigint_and_exponent().1.max(0)
}

/// Re-expresses `d` with a non-negative scale (exact).
pub fn normalize_scale(d: BigDecimal) -> BigDecimal {
    let (_, scale) = d.as_bigint_and_exponent();
    if scale < 0 {
        d.with_scale(0)
    } else {
        d
    }
}

/// Checks PostgreSQL's numeric range limits.
pub fn check_range(d: BigDecimal) -> Result<BigDecimal, SqlError> {
    let d = normalize_scale(d);
    if scale_of(&d) > MAX_DISPLAY_SCALE {
        return Err(overflow());
    }
    let (digits, scale) = d.as_bigint_and_exponent();
    let int_digits = digit_count(&digits) - scale;
    if int_digits > MAX_WEIGHT_DIGITS {
        return Err(overflow());
    }
    Ok(d)
}

fn digit_count(i: &BigInt) -> i64 {
    if i.is_zero() {
        return 1;
    }
    i.magnitude().to_str_radix(10).len() as i64
}

/// Parses numeric input: `[+-]digits[.digits][e[+-]digits]`, `NaN`,
/// surrounding whitespace allowed.
pub fn parse_numeric(input: &str) -> Result<Numeric, SqlError> {
    let bad = || {
        SqlError::new(
            SqlState::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type numeric: \"{input}\""),
        )
    };
    let s = input.trim();
    if s.eq_ignore_ascii_case("nan") {
        return Ok(Numeric::NaN);
    }
    let b = s.as_bytes();
    let mut i = 0;
    let neg = match b.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let mut digits = String::new();
    let mut frac_len: i64 = 0;
    let mut seen_point = false;
    let mut any_digit = false;
    while let Some(&c) = b.get(i) {
        if c.is_ascii_digit() {
            digits.push(c as char);
            any_digit = true;
            if seen_point {
                frac_len += 1;
            }
        } else if c == b'.' && !seen_point {
            seen_point = true;
        } else {
            break;
        }
        i += 1;
    }
    if !any_digit {
        return Err(bad());
    }
    let mut exp: i64 = 0;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let eneg = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            exp = exp
                .checked_mul(10)
                .and_then(|e| e.checked_add(i64::from(c - b'0')))
                .filter(|e| *e <= 1_000_000)
                .ok_or_else(overflow)?;
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        if eneg {
            exp = -exp;
        }
    }
    if i != b.len() {
        return Err(bad());
    }
    let mut int: BigInt = digits.parse().map_err(|_| bad())?;
    if neg {
        int = -int;
    }
    let scale = frac_len - exp;
    let d = if scale < 0 {
        if digit_count(&int) - scale > MAX_WEIGHT_DIGITS + 1 {
            return Err(overflow());
        }
        BigDecimal::new(int * pow10(scale.unsigned_abs()), 0)
    } else {
        BigDecimal::new(int, scale)
    };
    check_range(d).map(Numeric::Value)
}

/// PostgreSQL's text output: plain notation with the value's scale.
pub fn format_numeric(n: &Numeric) -> String {
    match n {
        Numeric::NaN => "NaN".into(),
        Numeric::Value(d) => normalize_scale(d.clone()).to_plain_string(),
    }
}

/// Rounds to `scale` digits after the point, half away from zero (as
/// PostgreSQL's numeric rounding); a negative scale rounds to tens,
/// hundreds… and yields scale 0.
pub fn round_half_away(d: &BigDecimal, scale: i64) -> BigDecimal {
    let (int, cur) = d.as_bigint_and_exponent();
    if cur <= scale {
        return normalize_scale(d.with_scale(scale.max(0)));
    }
    let drop = (cur - scale).unsigned_abs();
    let p = pow10(drop);
    let (q, r) = (&int / &p, &int % &p);
    let twice = r.abs() * 2u8;
    let q = if twice >= p {
        if int.is_negative() {
            q - 1
        } else {
            q + 1
        }
    } else {
        q
    };
    if scale < 0 {
        BigDecimal::new(q * pow10(scale.unsigned_abs()), 0)
    } else {
        BigDecimal::new(q, scale)
    }
}

/// Truncates toward zero to `scale` digits (negative: tens, hundreds…).
pub fn trunc_scale(d: &BigDecimal, scale: i64) -> BigDecimal {
    let (int, cur) = d.as_bigint_and_exponent();
    if cur <= scale {
        return normalize_scale(d.with_scale(scale.max(0)));
    }
    let p = pow10((cur - scale).unsigned_abs());
    let q = &int / &p;
    if scale < 0 {
        BigDecimal::new(q * pow10(scale.unsigned_abs()), 0)
    } else {
        BigDecimal::new(q, scale)
    }
}

/// Applies `numeric(precision, scale)`: rounds to the scale, then checks
/// that at most `precision - scale` digits remain before the point.
pub fn apply_typmod(n: Numeric, precision: u32, scale: u32) -> Result<Numeric, SqlError> {
    let Numeric::Value(d) = n else {
        return Ok(n);
    };
    let r = round_half_away(&d, i64::from(scale));
    let (int, _) = r.as_bigint_and_exponent();
    let int_digits = if int.is_zero() {
        0
    } else {
        digit_count(&int) - i64::from(scale)
    };
    if int_digits > i64::from(precision) - i64::from(scale) {
        let exp = i64::from(precision) - i64::from(scale);
        return Err(SqlError::new(
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            "numeric field overflow",
        )
        .with_detail(if exp > 0 {
            format!("A field with precision {precision}, scale {scale} must round to an absolute value less than 10^{exp}.")
        } else {
            format!("A field with precision {precision}, scale {scale} must round to an absolute value less than 1.")
        }));
    }
    Ok(Numeric::Value(r))
}

/// Base-10000 weight and first base-10000 digit of a nonzero value, as
/// PostgreSQL's `NumericVar` stores them (needed for `select_div_scale`).
fn weight_and_first_digit(d: &BigDecimal) -> (i64, u32) {
    let (int, scale) = d.as_bigint_and_exponent();
    let digits = int.magnitude().to_str_radix(10);
    // Decimal exponent of the leading digit.
    let e = digits.len() as i64 - 1 - scale;
    let weight = e.div_euclid(4);
    let lead = (e - 4 * weight + 1) as usize;
    let first: String = digits.chars().take(lead).collect();
    let padded = format!("{first:0<lead$}");
    (weight, padded.parse().unwrap_or(0))
}

/// PostgreSQL's `select_div_scale`: at least 16 significant digits, and no
/// fewer digits after the point than either input shows.
fn div_scale(a: &BigDecimal, b: &BigDecimal) -> i64 {
    let (w1, f1) = if a.is_zero() {
        (0, 0)
    } else {
        weight_and_first_digit(a)
    };
    let (w2, f2) = weight_and_first_digit(b);
    let mut qweight = w1 - w2;
    if f1 <= f2 {
        qweight -= 1;
    }
    let rscale = MIN_SIG_DIGITS - qweight * 4;
    rscale
        .max(scale_of(a))
        .max(scale_of(b))
        .clamp(0, MAX_RESULT_SCALE)
}

/// `a / b` rounded half away from zero to `scale` digits.
pub fn div_to_scale(a: &BigDecimal, b: &BigDecimal, scale: i64) -> Result<BigDecimal, SqlError> {
    if b.is_zero() {
        return Err(division_by_zero());
    }
    let (ai, sa) = a.as_bigint_and_exponent();
    let (bi, sb) = b.as_bigint_and_exponent();
    // a/b * 10^scale = ai * 10^(sb - sa + scale) / bi
    let k = sb - sa + scale;
    let (num, den) = if k >= 0 {
        (ai * pow10(k.unsigned_abs()), bi)
    } else {
        (ai, bi * pow10(k.unsigned_abs()))
    };
    let q = &num / &den;
    let r = &num % &den;
    let q = if r.abs() * 2u8 >= den.abs() {
        if num.sign() == den.sign() {
            q + 1
        } else {
            q - 1
        }
    } else {
        q
    };
    check_range(BigDecimal::new(q, scale))
}

/// Numeric division with PostgreSQL's result scale.
pub fn numeric_div(a: &BigDecimal, b: &BigDecimal) -> Result<BigDecimal, SqlError> {
    if b.is_zero() {
        return Err(division_by_zero());
    }
    div_to_scale(a, b, div_scale(a, b))
}

/// Integer (truncating) division, scale 0, as `div(numeric, numeric)`.
pub fn numeric_div_trunc(a: &BigDecimal, b: &BigDecimal) -> Result<BigDecimal, SqlError> {
    if b.is_zero() {
        return Err(division_by_zero());
    }
    let (ai, sa) = a.as_bigint_and_exponent();
    let (bi, sb) = b.as_bigint_and_exponent();
    let k = sb - sa;
    let (num, den) = if k >= 0 {
        (ai * pow10(k.unsigned_abs()), bi)
    } else {
        (ai, bi * pow10(k.unsigned_abs()))
    };
    Ok(BigDecimal::new(num / den, 0))
}

/// `a % b` (sign of the dividend), scale = max of the input scales.
pub fn numeric_mod(a: &BigDecimal, b: &BigDecimal) -> Result<BigDecimal, SqlError> {
    let q = numeric_div_trunc(a, b)?;
    let r = a - &(q * b);
    Ok(normalize_scale(r.with_scale(scale_of(a).max(scale_of(b)))))
}

/// Compares numerics; NaN is equal to itself and above every number.
pub fn numeric_cmp(a: &Numeric, b: &Numeric) -> Ordering {
    match (a, b) {
        (Numeric::NaN, Numeric::NaN) => Ordering::Equal,
        (Numeric::NaN, _) => Ordering::Greater,
        (_, Numeric::NaN) => Ordering::Less,
        (Numeric::Value(x), Numeric::Value(y)) => x.cmp(y),
    }
}

/// Rounds to an i64 half away from zero; `None` when out of range.
pub fn to_i64_round(d: &BigDecimal) -> Option<i64> {
    round_half_away(d, 0).as_bigint_and_exponent().0.to_i64()
}

/// Nearest f64 (via the decimal string, so it is correctly rounded).
pub fn to_f64(n: &Numeric) -> f64 {
    match n {
        Numeric::NaN => f64::NAN,
        Numeric::Value(d) => d.to_string().parse().unwrap_or_else(|_| {
            // Too long for the float parser's fast path is still parsed; a
            // failure means a magnitude beyond f64.
            if d.is_negative() {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }),
    }
}

/// float → numeric as PostgreSQL does it: `digits` significant digits
/// (15 for float8, 6 for float4), then trailing zeros dropped.
pub fn from_f64(f: f64, digits: usize) -> Result<Numeric, SqlError> {
    if f.is_nan() {
        return Ok(Numeric::NaN);
    }
    if f.is_infinite() {
        return Err(SqlError::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            "cannot convert infinity to numeric",
        ));
    }
    let s = format!("{:.*e}", digits.saturating_sub(1), f);
    match parse_numeric(&s)? {
        Numeric::Value(d) => {
            // Drop trailing fractional zeros that the %e form introduced.
            let scale = trailing_trimmed_scale(&d);
            Ok(Numeric::Value(normalize_scale(d.with_scale(scale))))
        }
        Numeric::NaN => Ok(Numeric::NaN),
    }
}

/// The decimal exponent of the leading digit (`123.4` → 2, `0.05` → -2,
/// zero → 0).
pub fn decimal_exponent(d: &BigDecimal) -> i64 {
    let (int, scale) = d.as_bigint_and_exponent();
    if int.is_zero() {
        return 0;
    }
    digit_count(&int) - 1 - scale
}

/// A float result as numeric rounded to `scale` decimals (at least 0, at
/// most 1000): how the transcendental numeric functions, computed in
/// float8, present their results with PostgreSQL's result scales.
pub fn approx_from_f64(f: f64, scale: i64) -> Result<Numeric, SqlError> {
    if f.is_nan() {
        return Ok(Numeric::NaN);
    }
    if f.is_infinite() {
        return Err(overflow());
    }
    let scale = scale.clamp(0, 1000) as usize;
    parse_numeric(&format!("{f:.scale$}"))
}

/// The smallest scale ≥ 0 that represents `d` exactly.
pub fn trailing_trimmed_scale(d: &BigDecimal) -> i64 {
    let (int, mut scale) = d.as_bigint_and_exponent();
    let mut int = int;
    let ten = BigInt::from(10u8);
    while scale > 0 && !int.is_zero() && (&int % &ten).is_zero() {
        int /= &ten;
        scale -= 1;
    }
    if int.is_zero() {
        0
    } else {
        scale.max(0)
    }
}

/// Appends an order-preserving encoding of a numeric: byte order equals
/// numeric order, and equal values (`1.0`, `1.00`) encode identically.
///
/// Layout: a class byte (1 negative, 2 zero, 3 positive, 4 NaN); for
/// nonzero values the decimal exponent `E` of `0.d1d2… × 10^E` as a
/// sign-flipped big-endian i64, then the significant digits as bytes
/// `1..=10` and a `0` terminator (a shorter digit string is a prefix and
/// sorts first). Negative values invert every byte after the class so that
/// larger magnitudes sort lower.
pub fn encode_numeric_key(n: &Numeric, out: &mut Vec<u8>) {
    let d = match n {
        Numeric::NaN => {
            out.push(4);
            return;
        }
        Numeric::Value(d) => d,
    };
    let (int, scale) = d.as_bigint_and_exponent();
    if int.is_zero() {
        out.push(2);
        return;
    }
    let neg = int.sign() == Sign::Minus;
    out.push(if neg { 1 } else { 3 });
    let digits = int.magnitude().to_str_radix(10);
    let sig = digits.trim_end_matches('0');
    let exp = digits.len() as i64 - scale;
    let start = out.len();
    out.extend_from_slice(&((exp as u64) ^ (1 << 63)).to_be_bytes());
    out.extend(sig.bytes().map(|b| b - b'0' + 1));
    out.push(0);
    if neg {
        for b in &mut out[start..] {
            *b = !*b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn n(s: &str) -> BigDecimal {
        match parse_numeric(s).unwrap() {
            Numeric::Value(d) => d,
            Numeric::NaN => panic!("NaN"),
        }
    }

    fn txt(s: &str) -> String {
        format_numeric(&parse_numeric(s).unwrap())
    }

    #[test]
    fn input_and_output() {
        assert_eq!(txt("1.50"), "1.50");
        assert_eq!(txt(" -0.05 "), "-0.05");
        assert_eq!(txt("1e3"), "1000");
        assert_eq!(txt("1.5e-3"), "0.0015");
        assert_eq!(txt(".5"), "0.5");
        assert_eq!(txt("5."), "5");
        assert_eq!(txt("-0"), "0");
        assert_eq!(txt("nan"), "NaN");
        assert_eq!(txt("+12.340"), "12.340");
        for bad in ["", "abc", "1e", "1.2.3", "--1", "1 2", "e5"] {
            let e = parse_numeric(bad).unwrap_err();
            assert_eq!(e.code, SqlState::INVALID_TEXT_REPRESENTATION, "{bad}");
        }
        assert_eq!(
            parse_numeric("abc").unwrap_err().message,
            "invalid input syntax for type numeric: \"abc\""
        );
        assert_eq!(
            parse_numeric("1e999999").unwrap_err().code,
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE
        );
        assert_eq!(
            parse_numeric("1e99999999999").unwrap_err().code,
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE
        );
    }

    #[test]
    fn typmod_and_rounding() {
        let t =
            |s: &str, p, sc| apply_typmod(Numeric::Value(n(s)), p, sc).map(|v| format_numeric(&v));
        assert_eq!(t("1.005", 5, 2).unwrap(), "1.01");
        assert_eq!(t("-1.005", 5, 2).unwrap(), "-1.01");
        assert_eq!(t("2.5", 5, 0).unwrap(), "3");
        assert_eq!(t("1", 5, 2).unwrap(), "1.00");
        let e = t("1000", 5, 2).unwrap_err();
        assert_eq!(e.message, "numeric field overflow");
        assert_eq!(
            e.detail.as_deref(),
            Some(
                "A field with precision 5, scale 2 must round to an absolute value less than 10^3."
            )
        );
        assert!(t("999.995", 5, 2).is_err());
        assert_eq!(t("0.001", 2, 2).unwrap(), "0.00");
        assert_eq!(
            format_numeric(&Numeric::Value(round_half_away(&n("1250"), -2))),
            "1300"
        );
        assert_eq!(
            format_numeric(&Numeric::Value(trunc_scale(&n("-1.79"), 1))),
            "-1.7"
        );
    }

    #[test]
    fn division_scale_matches_postgres() {
        let d =
            |a: &str, b: &str| format_numeric(&Numeric::Value(numeric_div(&n(a), &n(b)).unwrap()));
        assert_eq!(d("1", "3"), "0.33333333333333333333");
        assert_eq!(d("10", "4"), "2.5000000000000000");
        assert_eq!(d("2", "3"), "0.66666666666666666667");
        assert_eq!(d("1.000", "7"), "0.14285714285714285714");
        assert_eq!(d("100000", "3"), "33333.333333333333");
        assert_eq!(d("-1", "3"), "-0.33333333333333333333");
        assert_eq!(d("0", "3"), "0.00000000000000000000");
        assert!(numeric_div(&n("1"), &n("0")).is_err());
        let m =
            |a: &str, b: &str| format_numeric(&Numeric::Value(numeric_mod(&n(a), &n(b)).unwrap()));
        assert_eq!(m("-7.5", "2"), "-1.5");
        assert_eq!(m("7", "3"), "1");
    }

    #[test]
    fn float_conversions() {
        assert_eq!(format_numeric(&from_f64(0.1, 15).unwrap()), "0.1");
        assert_eq!(
            format_numeric(&from_f64(1e20, 15).unwrap()),
            "100000000000000000000"
        );
        assert_eq!(
            format_numeric(&from_f64(1.0 / 3.0, 15).unwrap()),
            "0.333333333333333"
        );
        assert_eq!(to_f64(&Numeric::Value(n("0.1"))), 0.1);
        assert_eq!(to_i64_round(&n("2.5")), Some(3));
        assert_eq!(to_i64_round(&n("-2.5")), Some(-3));
        assert_eq!(to_i64_round(&n("1e30")), None);
    }

    #[test]
    fn key_order_matches_numeric_order() {
        let vals = [
            "-1e10", "-123.5", "-123.45", "-1", "-0.5", "-0.05", "0", "0.0001", "0.05", "0.5", "1",
            "1.000", "1.0001", "9.99", "10", "123.45", "123.5", "1e10",
        ];
        let mut rows: Vec<(Numeric, Vec<u8>)> = vals
            .iter()
            .map(|s| {
                let v = Numeric::Value(BigDecimal::from_str(s).unwrap());
                let mut k = Vec::new();
                encode_numeric_key(&v, &mut k);
                (v, k)
            })
            .collect();
        let mut nan = Vec::new();
        encode_numeric_key(&Numeric::NaN, &mut nan);
        rows.push((Numeric::NaN, nan));
        for (a, ka) in &rows {
            for (b, kb) in &rows {
                assert_eq!(ka.cmp(kb), numeric_cmp(a, b), "{a:?} {b:?}");
            }
        }
    }
}
