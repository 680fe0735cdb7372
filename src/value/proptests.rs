//! Seeded property tests across the value library: text I/O round trips,
//! row codec round trips, index-key order = `sql_cmp` order, and hashing
//! consistent with equality.

use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use super::compare::HashableValue;
use super::datetime::{days_from_ymd, USECS_PER_DAY};
use super::index_key::encode_index_key;
use super::json::parse_jsonb;
use super::numeric::parse_numeric;
use super::row::{decode_row, encode_row};
use super::text::parse_text;
use super::types::DataType;
use super::tz::TimeZone;
use super::{Interval, Value};
use crate::util::Rng;

fn types() -> Vec<DataType> {
    vec![
        DataType::Bool,
        DataType::Int2,
        DataType::Int4,
        DataType::Int8,
        DataType::Float4,
        DataType::Float8,
        DataType::Numeric(None),
        DataType::Text,
        DataType::Bytea,
        DataType::Date,
        DataType::Timestamp,
        DataType::Timestamptz,
        DataType::Interval,
        DataType::Uuid,
        DataType::Jsonb,
        DataType::Vector(None),
        DataType::Array(Box::new(DataType::Int4)),
        DataType::Array(Box::new(DataType::Text)),
    ]
}

fn pick<T: Copy>(rng: &mut Rng, xs: &[T]) -> T {
    xs[rng.below(xs.len() as u64) as usize]
}

fn random_text(rng: &mut Rng) -> String {
    (0..rng.below(6))
        .map(|_| {
            pick(
                rng,
                &[
                    'a',
                    'b',
                    ' ',
                    '"',
                    '\\',
                    ',',
                    '{',
                    '}',
                    'é',
                    '\u{1F600}',
                    'N',
                    '\0',
                ],
            )
        })
        .filter(|c| *c != '\0')
        .collect()
}

fn random_json(rng: &mut Rng, depth: u32) -> String {
    match rng.below(if depth > 2 { 4 } else { 6 }) {
        0 => "null".into(),
        1 => pick(rng, &["true", "false"]).into(),
        2 => pick(
            rng,
            &["0", "-1", "1.50", "1e3", "-0.001", "12345678901234567890"],
        )
        .into(),
        3 => serde_json::to_string(&random_text(rng)).unwrap_or_default(),
        4 => {
            let items: Vec<String> = (0..rng.below(3))
                .map(|_| random_json(rng, depth + 1))
                .collect();
            format!("[{}]", items.join(","))
        }
        _ => {
            let items: Vec<String> = (0..rng.below(3))
                .map(|_| {
                    format!(
                        "{}:{}",
                        pick(rng, &["\"a\"", "\"bb\"", "\"c\"", "\"\""]),
                        random_json(rng, depth + 1)
                    )
                })
                .collect();
            format!("{{{}}}", items.join(","))
        }
    }
}

/// A random value of `ty`, drawn from small domains often enough that
/// equal values occur.
fn random_value(rng: &mut Rng, ty: &DataType) -> Value {
    let small = rng.chance(50);
    match ty {
        DataType::Bool => Value::Bool(rng.chance(50)),
        DataType::Int2 => Value::Int2(if small {
            rng.below(5) as i16 - 2
        } else {
            rng.next_u64() as i16
        }),
        DataType::Int4 => Value::Int4(if small {
            rng.below(5) as i32 - 2
        } else {
            rng.next_u64() as i32
        }),
        DataType::Int8 => Value::Int8(if small {
            rng.below(5) as i64 - 2
        } else {
            rng.next_u64() as i64
        }),
        DataType::Float4 => Value::Float4(if small {
            pick(
                rng,
                &[
                    0.0,
                    -0.0,
                    1.5,
                    -2.0,
                    f32::NAN,
                    f32::INFINITY,
                    f32::NEG_INFINITY,
                    1e-40,
                    3.4e38,
                ],
            )
        } else {
            f32::from_bits(rng.next_u64() as u32)
        }),
        DataType::Float8 => Value::Float8(if small {
            pick(
                rng,
                &[
                    0.0,
                    -0.0,
                    0.1,
                    -2.0,
                    f64::NAN,
                    f64::INFINITY,
                    1e300,
                    5e-324,
                    1e15,
                    1e-5,
                ],
            )
        } else {
            f64::from_bits(rng.next_u64())
        }),
        DataType::Numeric(_) => {
            let text = if small {
                pick(
                    rng,
                    &["0", "1", "1.0", "-1.50", "NaN", "0.001", "-1e10", "1e-20"],
                )
                .to_string()
            } else {
                let digits: String = (0..1 + rng.below(30))
                    .map(|_| char::from(b'0' + rng.below(10) as u8))
                    .collect();
                format!(
                    "{}{}e{}",
                    pick(rng, &["", "-"]),
                    digits,
                    rng.below(60) as i64 - 40
                )
            };
            parse_text(&text, ty, &TimeZone::utc()).unwrap_or(Value::Null)
        }
        DataType::Text => Value::Text(random_text(rng)),
        DataType::Bytea => Value::Bytea(
            (0..rng.below(5))
                .map(|_| pick(rng, &[0u8, 1, 92, 255]))
                .collect(),
        ),
        DataType::Date => Value::Date(if small {
            rng.below(5) as i32 - 2
        } else {
            // 4713 BC .. 5874897 AD is PostgreSQL's range; timestamps
            // limit the years we use to 294276.
            (days_from_ymd(-4712, 1, 1)
                + rng.below(days_from_ymd(294_276, 1, 1) as u64 + 2_451_545) as i64)
                as i32
        }),
        DataType::Timestamp | DataType::Timestamptz => {
            let t = if small {
                rng.below(5) as i64 * 1_500_000
            } else {
                let days = days_from_ymd(-4712, 1, 1)
                    + rng.below(2_451_545 + days_from_ymd(294_276, 1, 1) as u64) as i64;
                days * USECS_PER_DAY + rng.below(USECS_PER_DAY as u64) as i64
            };
            if *ty == DataType::Timestamp {
                Value::Timestamp(t)
            } else {
                Value::Timestamptz(t)
            }
        }
        DataType::Interval => Value::Interval(if small {
            Interval {
                months: rng.below(3) as i32 - 1,
                days: rng.below(3) as i32 * 30 - 30,
                micros: rng.below(3) as i64 * USECS_PER_DAY,
            }
        } else {
            Interval {
                months: rng.below(20_000) as i32 - 10_000,
                days: rng.below(20_000) as i32 - 10_000,
                micros: rng.below(20_000_000_000_000) as i64 - 10_000_000_000_000,
            }
        }),
        DataType::Uuid => {
            let mut u = [0u8; 16];
            for b in &mut u {
                *b = if small {
                    pick(rng, &[0, 0xff])
                } else {
                    rng.next_u64() as u8
                };
            }
            Value::Uuid(u)
        }
        DataType::Jsonb => Value::Jsonb(parse_jsonb(&random_json(rng, 0)).unwrap_or_default()),
        DataType::Vector(_) => Value::Vector(
            (0..1 + rng.below(3))
                .map(|_| {
                    if small {
                        rng.below(3) as f32 - 1.0
                    } else {
                        let f = f32::from_bits(rng.next_u64() as u32);
                        if f.is_finite() {
                            f
                        } else {
                            0.5
                        }
                    }
                })
                .collect(),
        ),
        DataType::Array(elem) => Value::Array(
            (0..rng.below(4))
                .map(|_| {
                    if rng.chance(15) {
                        Value::Null
                    } else {
                        random_value(rng, elem)
                    }
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// Equality for round-trip checks: `PartialEq` except that NaN floats
/// match (bit patterns of NaN are not preserved by text I/O).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float4(x), Value::Float4(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        (Value::Float8(x), Value::Float8(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        (Value::Vector(x), Value::Vector(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        _ => a == b,
    }
}

fn hash_of(v: &Value) -> u64 {
    let mut h = DefaultHasher::new();
    HashableValue(v.clone()).hash(&mut h);
    h.finish()
}

#[test]
fn text_io_round_trips() {
    let mut rng = Rng::new(2024);
    let zones = [
        TimeZone::utc(),
        TimeZone::from_utc_offset(19_800).unwrap(),
        TimeZone::from_utc_offset(-18_000).unwrap(),
    ];
    for i in 0..30_000 {
        let ty = &types()[i % types().len()];
        let tz = &zones[i % zones.len()];
        let v = random_value(&mut rng, ty);
        if v.is_null() {
            continue;
        }
        let text = v.to_pg_text(tz).unwrap();
        let back = parse_text(&text, ty, tz)
            .unwrap_or_else(|e| panic!("{ty}: {text:?} did not parse: {e:?}"));
        assert!(same(&v, &back), "{ty}: {v:?} -> {text:?} -> {back:?}");
    }
    // Numeric text is canonical: parse(print(x)) prints the same.
    for s in ["1.50", "-0.001", "100", "NaN"] {
        let n = parse_numeric(s).unwrap();
        assert_eq!(super::numeric::format_numeric(&n), s);
    }
}

#[test]
fn row_codec_round_trips() {
    let mut rng = Rng::new(99);
    let all = types();
    for _ in 0..5_000 {
        let ncols = rng.below(12) as usize;
        let tys: Vec<DataType> = (0..ncols)
            .map(|_| all[rng.below(all.len() as u64) as usize].clone())
            .collect();
        let row: Vec<Value> = tys
            .iter()
            .map(|t| {
                if rng.chance(20) {
                    Value::Null
                } else {
                    random_value(&mut rng, t)
                }
            })
            .collect();
        let mut buf = Vec::new();
        encode_row(&row, &mut buf);
        let back = decode_row(&buf, &tys).unwrap();
        assert!(
            row.iter().zip(&back).all(|(a, b)| same(a, b)),
            "{row:?} vs {back:?}"
        );
    }
}

#[test]
fn index_order_and_hashing_agree_with_sql_cmp() {
    let mut rng = Rng::new(5);
    let all = types();
    for i in 0..40_000 {
        let ty = &all[i % all.len()];
        let (a, b) = (random_value(&mut rng, ty), random_value(&mut rng, ty));
        if a.is_null() || b.is_null() {
            continue;
        }
        let Some(expected) = a.sql_cmp(&b) else {
            panic!("{ty}: incomparable {a:?} {b:?}");
        };
        let desc = rng.chance(30);
        let ka = encode_index_key(std::slice::from_ref(&a), &[desc]).unwrap();
        let kb = encode_index_key(std::slice::from_ref(&b), &[desc]).unwrap();
        let want = if desc { expected.reverse() } else { expected };
        assert_eq!(ka.cmp(&kb), want, "{ty}: {a:?} vs {b:?}");
        if expected == Ordering::Equal {
            assert_eq!(hash_of(&a), hash_of(&b), "{ty}: {a:?} {b:?}");
            assert_eq!(HashableValue(a.clone()), HashableValue(b.clone()));
        }
    }
    // Cross-type numeric equality hashes alike (GROUP BY over mixed types).
    let mixed = [
        Value::Int2(7),
        Value::Int8(7),
        Value::Float4(7.0),
        parse_text("7.000", &DataType::Numeric(None), &TimeZone::utc()).unwrap(),
    ];
    for x in &mixed {
        assert_eq!(hash_of(x), hash_of(&mixed[0]));
    }
}

/// Values at and beyond the edges of every type's range, as a corrupted
/// row or careless caller could produce them.
fn extreme_value(rng: &mut Rng) -> Value {
    match rng.below(12) {
        0 => Value::Date(pick(
            rng,
            &[
                i32::MAX,
                i32::MIN,
                i32::MAX - 1,
                i32::MIN + 1,
                2_145_031_948,
            ],
        )),
        1 => Value::Timestamp(pick(rng, &[i64::MAX, i64::MIN, i64::MAX - 1, i64::MIN + 1])),
        2 => Value::Timestamptz(pick(rng, &[i64::MAX - 1, i64::MIN + 1, 0])),
        3 => Value::Interval(Interval {
            months: pick(rng, &[i32::MAX, i32::MIN, 0]),
            days: pick(rng, &[i32::MAX, i32::MIN, 0]),
            micros: pick(rng, &[i64::MAX, i64::MIN, 0]),
        }),
        4 => Value::Int8(pick(rng, &[i64::MAX, i64::MIN, -1, 0])),
        5 => Value::Int4(pick(rng, &[i32::MAX, i32::MIN, -1, 0])),
        6 => Value::Int2(pick(rng, &[i16::MAX, i16::MIN, -1, 0])),
        7 => Value::Float8(pick(
            rng,
            &[f64::MAX, f64::MIN, f64::NAN, f64::INFINITY, -0.0, 1e-310],
        )),
        8 => Value::Text(
            pick(
                rng,
                &[
                    "",
                    "%",
                    "\\",
                    "month",
                    "epoch",
                    "YYYYMMDDHH24MISSUS",
                    "-1",
                    "9999999999",
                    "{a,b}",
                    "[1,2]",
                    "1e999999",
                ],
            )
            .to_string(),
        ),
        9 => parse_text(
            pick(rng, &["1e-1000", "-1e1000", "NaN", "0.5"]),
            &DataType::Numeric(None),
            &TimeZone::utc(),
        )
        .unwrap_or(Value::Null),
        10 => Value::Array(vec![Value::Null, Value::Int4(1), Value::Array(vec![])]),
        _ => Value::Vector(vec![f32::MAX, -f32::MAX]),
    }
}

#[test]
fn no_panics_on_hostile_inputs() {
    use super::cast::{cast_assignment, cast_explicit};
    use super::ops::{binary_op, like, negate, BinaryOp};
    use crate::sql::functions::{call_function, FnContext};
    let ops = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Mod,
        BinaryOp::Pow,
        BinaryOp::Concat,
        BinaryOp::BitAnd,
        BinaryOp::BitOr,
        BinaryOp::BitXor,
        BinaryOp::ShiftLeft,
        BinaryOp::ShiftRight,
        BinaryOp::Eq,
        BinaryOp::Lt,
        BinaryOp::JsonGet,
        BinaryOp::JsonGetText,
        BinaryOp::JsonPath,
        BinaryOp::JsonPathText,
        BinaryOp::JsonContains,
        BinaryOp::JsonContained,
        BinaryOp::JsonHasKey,
        BinaryOp::JsonHasAnyKey,
        BinaryOp::JsonHasAllKeys,
        BinaryOp::L2Distance,
        BinaryOp::NegInnerProduct,
        BinaryOp::CosineDistance,
    ];
    let functions = [
        "length",
        "octet_length",
        "lower",
        "upper",
        "initcap",
        "substr",
        "position",
        "replace",
        "trim",
        "ltrim",
        "lpad",
        "rpad",
        "left",
        "right",
        "repeat",
        "reverse",
        "split_part",
        "concat",
        "concat_ws",
        "starts_with",
        "md5",
        "to_hex",
        "ascii",
        "chr",
        "format",
        "string_to_array",
        "array_to_string",
        "quote_ident",
        "quote_literal",
        "abs",
        "ceil",
        "floor",
        "round",
        "trunc",
        "sign",
        "sqrt",
        "cbrt",
        "power",
        "exp",
        "ln",
        "log",
        "mod",
        "div",
        "degrees",
        "sin",
        "atan2",
        "greatest",
        "least",
        "width_bucket",
        "date_trunc",
        "date_part",
        "extract",
        "age",
        "make_date",
        "make_timestamp",
        "make_interval",
        "to_char",
        "to_date",
        "to_timestamp",
        "justify_days",
        "justify_hours",
        "justify_interval",
        "isfinite",
        "jsonb_build_object",
        "jsonb_build_array",
        "to_jsonb",
        "jsonb_typeof",
        "jsonb_array_length",
        "jsonb_extract_path",
        "jsonb_set",
        "jsonb_strip_nulls",
        "jsonb_pretty",
        "array_length",
        "cardinality",
        "array_append",
        "array_cat",
    ];
    let all = types();
    let tz = TimeZone::from_utc_offset(-3600).unwrap();
    let mut seed = 1u64;
    let mut rng = Rng::new(77);
    let value = |rng: &mut Rng| {
        if rng.chance(30) {
            extreme_value(rng)
        } else {
            let ty = all[rng.below(all.len() as u64) as usize].clone();
            random_value(rng, &ty)
        }
    };
    for _ in 0..20_000 {
        let (a, b) = (value(&mut rng), value(&mut rng));
        let _ = binary_op(pick(&mut rng, &ops), &a, &b);
        let _ = negate(&a);
        let ty = all[rng.below(all.len() as u64) as usize].clone();
        let _ = cast_explicit(a.clone(), &ty, &tz);
        let _ = cast_assignment(b.clone(), &DataType::Varchar(Some(2)), &tz);
        let _ = a.to_pg_text(&tz);
        let _ = encode_index_key(&[a.clone(), b.clone()], &[true]);
        let _ = a.sql_cmp(&b);
        let _ = hash_of(&a);
        let text = b.to_pg_text(&tz).unwrap_or_default();
        let _ = parse_text(&text, &ty, &tz);
        let _ = like(
            &text,
            &a.to_pg_text(&tz).unwrap_or_default(),
            rng.chance(50),
            Some('\\'),
        );
        let name = pick(&mut rng, &functions);
        let args: Vec<Value> = (0..rng.below(5)).map(|_| value(&mut rng)).collect();
        let mut ctx = FnContext {
            tz: &tz,
            now_micros: 0,
            rng: &mut seed,
        };
        let _ = call_function(name, &args, &mut ctx);
        let mut buf = Vec::new();
        encode_row(&[a, b], &mut buf);
        let _ = decode_row(&buf, &[ty.clone(), ty]);
    }
}
