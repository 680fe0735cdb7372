//! `jsonb`: input (numbers normalised to PostgreSQL's numeric text),
//! PostgreSQL's output format, ordering, and the jsonb operators.
//!
//! serde_json is built with `arbitrary_precision`, so numbers keep their
//! exact decimal text (jsonb numbers are `numeric` in PostgreSQL). Object
//! maps are sorted bytewise by serde_json; PostgreSQL's order (shorter keys
//! first, then bytewise) is applied when printing and comparing.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value as Json};

use super::numeric::{format_numeric, numeric_cmp, parse_numeric, trailing_trimmed_scale};
use super::Numeric;
use crate::error::{SqlError, SqlState};

fn invalid_json(detail: impl Into<String>) -> SqlError {
    SqlError::new(
        SqlState::INVALID_JSON_TEXT,
        "invalid input syntax for type json",
    )
    .with_detail(detail)
}

/// Parses jsonb input (RFC 8259). Duplicate object keys: the last wins.
pub fn parse_jsonb(input: &str) -> Result<Json, SqlError> {
    let v: Json = serde_json::from_str(input).map_err(|e| invalid_json(e.to_string()))?;
    normalize(v)
}

/// Rewrites every number into numeric's canonical text (`1e2` → `100`),
/// the form PostgreSQL stores and prints.
pub fn normalize(v: Json) -> Result<Json, SqlError> {
    Ok(match v {
        Json::Number(n) => Json::Number(canonical_number(&n)?),
        Json::Array(a) => Json::Array(a.into_iter().map(normalize).collect::<Result<_, _>>()?),
        Json::Object(o) => {
            let mut m = Map::new();
            for (k, v) in o {
                m.insert(k, normalize(v)?);
            }
            Json::Object(m)
        }
        other => other,
    })
}

fn canonical_number(n: &Number) -> Result<Number, SqlError> {
    let num = parse_numeric(&n.to_string())
        .map_err(|_| invalid_json(format!("Token \"{n}\" is invalid.")))?;
    numeric_to_json(&num)
}

/// A numeric as a JSON number (NaN is not representable in JSON).
pub fn numeric_to_json(n: &Numeric) -> Result<Number, SqlError> {
    if matches!(n, Numeric::NaN) {
        return Err(SqlError::new(
            SqlState::INVALID_PARAMETER_VALUE,
            "cannot convert NaN to jsonb",
        ));
    }
    serde_json::from_str(&format_numeric(n))
        .map_err(|e| SqlError::new(SqlState::INTERNAL_ERROR, e.to_string()))
}

/// The numeric value of a JSON number.
pub fn json_number_value(n: &Number) -> Numeric {
    parse_numeric(&n.to_string()).unwrap_or(Numeric::NaN)
}

/// Object entries in PostgreSQL's storage order: by key length, then bytes.
pub fn sorted_entries(m: &Map<String, Json>) -> Vec<(&String, &Json)> {
    let mut e: Vec<_> = m.iter().collect();
    e.sort_by(|a, b| key_cmp(a.0, b.0));
    e
}

fn key_cmp(a: &str, b: &str) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

fn push_string(out: &mut String, s: &str) {
    // serde_json escapes exactly what PostgreSQL escapes (", \, control
    // characters) and leaves other characters as they are.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// PostgreSQL's jsonb text output: `{"a": 1, "b": [1, 2]}`.
pub fn format_jsonb(v: &Json) -> String {
    let mut out = String::new();
    write_json(&mut out, v);
    out
}

fn write_json(out: &mut String, v: &Json) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(&n.to_string()),
        Json::String(s) => push_string(out, s),
        Json::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(out, e);
            }
            out.push(']');
        }
        Json::Object(m) => {
            out.push('{');
            for (i, (k, e)) in sorted_entries(m).into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_string(out, k);
                out.push_str(": ");
                write_json(out, e);
            }
            out.push('}');
        }
    }
}

/// `jsonb_pretty`: four-space indentation as PostgreSQL prints it.
pub fn pretty_jsonb(v: &Json) -> String {
    let mut out = String::new();
    write_pretty(&mut out, v, 0);
    out
}

fn write_pretty(out: &mut String, v: &Json, level: usize) {
    let indent = |out: &mut String, l: usize| {
        out.push('\n');
        out.push_str(&"    ".repeat(l));
    };
    match v {
        Json::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, level + 1);
                write_pretty(out, e, level + 1);
            }
            indent(out, level);
            out.push(']');
        }
        Json::Object(m) => {
            out.push('{');
            for (i, (k, e)) in sorted_entries(m).into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, level + 1);
                push_string(out, k);
                out.push_str(": ");
                write_pretty(out, e, level + 1);
            }
            indent(out, level);
            out.push('}');
        }
        other => write_json(out, other),
    }
}

fn type_rank(v: &Json) -> u8 {
    // PostgreSQL: Object > Array > Boolean > Number > String > Null.
    match v {
        Json::Null => 0,
        Json::String(_) => 1,
        Json::Number(_) => 2,
        Json::Bool(_) => 3,
        Json::Array(_) => 4,
        Json::Object(_) => 5,
    }
}

/// PostgreSQL's jsonb ordering: by type, arrays and objects first by size,
/// then element-wise (objects pair-wise in storage order).
pub fn jsonb_cmp(a: &Json, b: &Json) -> Ordering {
    match (a, b) {
        (Json::Null, Json::Null) => Ordering::Equal,
        (Json::String(x), Json::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Json::Number(x), Json::Number(y)) => {
            numeric_cmp(&json_number_value(x), &json_number_value(y))
        }
        (Json::Bool(x), Json::Bool(y)) => x.cmp(y),
        (Json::Array(x), Json::Array(y)) => x.len().cmp(&y.len()).then_with(|| {
            x.iter()
                .zip(y)
                .map(|(p, q)| jsonb_cmp(p, q))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        }),
        (Json::Object(x), Json::Object(y)) => x.len().cmp(&y.len()).then_with(|| {
            sorted_entries(x)
                .into_iter()
                .zip(sorted_entries(y))
                .map(|((k1, v1), (k2, v2))| key_cmp(k1, k2).then_with(|| jsonb_cmp(v1, v2)))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        }),
        _ => type_rank(a).cmp(&type_rank(b)),
    }
}

/// A canonical string for hashing: equal jsonb values (`1.0` and `1`)
/// produce equal strings.
pub fn canonical_hash_text(v: &Json) -> String {
    let mut out = String::new();
    write_canonical(&mut out, v);
    out
}

fn write_canonical(out: &mut String, v: &Json) {
    match v {
        Json::Number(n) => match json_number_value(n) {
            Numeric::Value(d) => {
                let scale = trailing_trimmed_scale(&d);
                out.push_str(&format_numeric(&Numeric::Value(d.with_scale(scale))));
            }
            Numeric::NaN => out.push_str("NaN"),
        },
        Json::Array(a) => {
            out.push('[');
            for e in a {
                write_canonical(out, e);
                out.push(',');
            }
            out.push(']');
        }
        Json::Object(m) => {
            out.push('{');
            for (k, e) in sorted_entries(m) {
                push_string(out, k);
                out.push(':');
                write_canonical(out, e);
                out.push(',');
            }
            out.push('}');
        }
        other => write_json(out, other),
    }
}

/// `jsonb -> text`: object field.
pub fn get_key<'a>(v: &'a Json, key: &str) -> Option<&'a Json> {
    v.as_object()?.get(key)
}

/// `jsonb -> int`: array element; negative indexes count from the end.
pub fn get_index(v: &Json, idx: i64) -> Option<&Json> {
    let a = v.as_array()?;
    let len = i64::try_from(a.len()).ok()?;
    let i = if idx < 0 { len.checked_add(idx)? } else { idx };
    a.get(usize::try_from(i).ok()?)
}

/// `jsonb #> text[]`: follows a path of keys / array indexes.
pub fn get_path<'a>(v: &'a Json, path: &[Option<String>]) -> Option<&'a Json> {
    let mut cur = v;
    for step in path {
        let step = step.as_deref()?;
        cur = match cur {
            Json::Object(m) => m.get(step)?,
            Json::Array(_) => get_index(cur, step.trim().parse().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// The text `->>` returns: strings unquoted, JSON null as SQL NULL.
pub fn as_text(v: &Json) -> Option<String> {
    match v {
        Json::Null => None,
        Json::String(s) => Some(s.clone()),
        other => Some(format_jsonb(other)),
    }
}

fn scalar_eq(a: &Json, b: &Json) -> bool {
    jsonb_cmp(a, b) == Ordering::Equal
}

/// `a @> b`, PostgreSQL's containment (an array also contains a scalar
/// that is one of its top-level elements).
pub fn contains(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Array(_), b) if !b.is_array() && !b.is_object() => {
            contains_inner(a, &Json::Array(vec![b.clone()]))
        }
        _ => contains_inner(a, b),
    }
}

fn contains_inner(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => y
            .iter()
            .all(|(k, vb)| x.get(k).is_some_and(|va| contains_inner(va, vb))),
        (Json::Array(x), Json::Array(y)) => y.iter().all(|eb| {
            x.iter().any(|ea| match (ea, eb) {
                (Json::Array(_), Json::Array(_)) | (Json::Object(_), Json::Object(_)) => {
                    contains_inner(ea, eb)
                }
                _ => scalar_eq(ea, eb),
            })
        }),
        (Json::Array(_), _) | (Json::Object(_), _) | (_, Json::Array(_)) | (_, Json::Object(_)) => {
            false
        }
        _ => scalar_eq(a, b),
    }
}

/// `jsonb ? text`: a top-level key, or a string array element.
pub fn has_key(v: &Json, key: &str) -> bool {
    match v {
        Json::Object(m) => m.contains_key(key),
        Json::Array(a) => a.iter().any(|e| e.as_str() == Some(key)),
        Json::String(s) => s == key,
        _ => false,
    }
}

/// `jsonb_typeof`.
pub fn type_name(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// `jsonb_strip_nulls`: drops object fields whose value is null.
pub fn strip_nulls(v: &Json) -> Json {
    match v {
        Json::Object(m) => Json::Object(
            m.iter()
                .filter(|(_, e)| !e.is_null())
                .map(|(k, e)| (k.clone(), strip_nulls(e)))
                .collect(),
        ),
        Json::Array(a) => Json::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

/// `jsonb_set(target, path, new_value, create_missing)`.
pub fn set_path(
    target: &Json,
    path: &[Option<String>],
    new: &Json,
    create: bool,
) -> Result<Json, SqlError> {
    let mut out = target.clone();
    if path.is_empty() {
        return Ok(out);
    }
    let mut cur = &mut out;
    for (i, step) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        let step = step.as_deref().ok_or_else(|| {
            SqlError::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("path element at position {} is null", i + 1),
            )
        })?;
        cur = match cur {
            Json::Object(m) => {
                if last {
                    if create || m.contains_key(step) {
                        m.insert(step.to_string(), new.clone());
                    }
                    return Ok(out);
                }
                match m.get_mut(step) {
                    Some(next) => next,
                    None => return Ok(out),
                }
            }
            Json::Array(a) => {
                let idx: i64 = step.trim().parse().map_err(|_| {
                    SqlError::new(
                        SqlState::INVALID_TEXT_REPRESENTATION,
                        format!(
                            "path element at position {} is not an integer: \"{step}\"",
                            i + 1
                        ),
                    )
                })?;
                let len = a.len() as i64;
                let pos = if idx < 0 { len + idx } else { idx };
                if last {
                    if (0..len).contains(&pos) {
                        a[pos as usize] = new.clone();
                    } else if create {
                        if pos < 0 {
                            a.insert(0, new.clone());
                        } else {
                            a.push(new.clone());
                        }
                    }
                    return Ok(out);
                }
                if !(0..len).contains(&pos) {
                    return Ok(out);
                }
                &mut a[pos as usize]
            }
            _ => return Ok(out),
        };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(s: &str) -> Json {
        parse_jsonb(s).unwrap()
    }

    #[test]
    fn output_matches_postgres() {
        assert_eq!(
            format_jsonb(&j(r#"{"bb":1,"a":[1,2.50],"a":3}"#)),
            r#"{"a": 3, "bb": 1}"#
        );
        assert_eq!(
            format_jsonb(&j(r#"{"a":{"b":[1,null,true,"x"]}}"#)),
            r#"{"a": {"b": [1, null, true, "x"]}}"#
        );
        assert_eq!(format_jsonb(&j("1e2")), "100");
        assert_eq!(format_jsonb(&j("1.50")), "1.50");
        assert_eq!(format_jsonb(&j("-0.0")), "0.0");
        assert_eq!(format_jsonb(&j(r#""a\"\n\u0001é""#)), r#""a\"\n\u0001é""#);
        assert_eq!(
            format_jsonb(&j("123456789012345678901234567890")),
            "123456789012345678901234567890"
        );
        assert_eq!(
            format_jsonb(&j(r#"{"aaa":1,"b":2,"cc":3}"#)),
            r#"{"b": 2, "cc": 3, "aaa": 1}"#
        );
        let e = parse_jsonb("{bad").unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                SqlState::INVALID_JSON_TEXT,
                "invalid input syntax for type json"
            )
        );
        assert_eq!(
            pretty_jsonb(&j(r#"{"a":[1,{}],"b":2}"#)),
            "{\n    \"a\": [\n        1,\n        {\n        }\n    ],\n    \"b\": 2\n}"
        );
    }

    #[test]
    fn operators() {
        let v = j(r#"{"a":{"b":[10,20,30]},"s":"x","n":null}"#);
        assert_eq!(get_key(&v, "s"), Some(&Json::String("x".into())));
        let path = vec![Some("a".to_string()), Some("b".into()), Some("-1".into())];
        assert_eq!(get_path(&v, &path).map(format_jsonb), Some("30".into()));
        assert_eq!(get_index(&j("[1,2]"), -3), None);
        assert_eq!(as_text(get_key(&v, "n").unwrap()), None);
        assert!(contains(&v, &j(r#"{"a":{"b":[20]}}"#)));
        assert!(!contains(&v, &j(r#"{"a":{"b":[40]}}"#)));
        assert!(contains(&j(r#"["foo","bar"]"#), &j(r#""foo""#)));
        assert!(contains(&j("[1,2,[3]]"), &j("[[3],1]")));
        assert!(!contains(&j("[1,2,[3]]"), &j("[3]")));
        assert!(contains(&j("1.0"), &j("1")));
        assert!(has_key(&v, "a") && !has_key(&v, "z"));
        assert!(has_key(&j(r#"["a","b"]"#), "b"));
        assert_eq!(
            format_jsonb(&strip_nulls(&v)),
            r#"{"a": {"b": [10, 20, 30]}, "s": "x"}"#
        );
        let set = set_path(&v, &[Some("a".into()), Some("c".into())], &j("5"), true).unwrap();
        assert_eq!(
            format_jsonb(&set),
            r#"{"a": {"b": [10, 20, 30], "c": 5}, "n": null, "s": "x"}"#
        );
    }

    #[test]
    fn ordering() {
        let ord = [
            "null",
            r#""a""#,
            r#""b""#,
            "1",
            "2.5",
            "false",
            "true",
            "[]",
            "[9]",
            "[1,2]",
            "{}",
            r#"{"a":1}"#,
            r#"{"b":0}"#,
            r#"{"aa":0}"#,
        ];
        for (i, a) in ord.iter().enumerate() {
            for (k, b) in ord.iter().enumerate() {
                assert_eq!(jsonb_cmp(&j(a), &j(b)), i.cmp(&k), "{a} vs {b}");
            }
        }
        assert_eq!(jsonb_cmp(&j("1.0"), &j("1")), Ordering::Equal);
        assert_eq!(
            canonical_hash_text(&j("[1.0]")),
            canonical_hash_text(&j("[1]"))
        );
    }
}
