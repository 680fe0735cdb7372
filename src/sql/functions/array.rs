//! Array functions (`array_length`, `array_append`, `string_to_array`, ...).

use super::{int, is_array, is_int, is_str, text, undefined_function};
use crate::error::SqlError;
use crate::value::cast::common_type;
use crate::value::tz::TimeZone;
use crate::value::{DataType, Value};

/// The result type of `name(a…)` if this family has such a function.
pub(super) fn return_type(name: &str, a: &[DataType]) -> Option<DataType> {
    use DataType as T;
    let n = a.len();
    let all = |f: fn(&DataType) -> bool| a.iter().all(f);
    Some(match name {
        "string_to_array" if (n == 2 || n == 3) && all(is_str) => T::Array(Box::new(T::Text)),
        // `pg_database.datacl` (aclitem[] in PostgreSQL) is a text column.
        "array_to_string"
            if (n == 2 || n == 3)
                && (is_array(&a[0]) || a[0] == T::Text)
                && a[1..].iter().all(is_str) =>
        {
            T::Text
        }
        "array_length" | "array_upper" | "array_lower"
            if n == 2 && is_array(&a[0]) && is_int(&a[1]) =>
        {
            T::Int4
        }
        "cardinality" if n == 1 && is_array(&a[0]) => T::Int4,
        "array_position" if (n == 2 || n == 3) && is_array(&a[0]) => T::Int4,
        "array_append" if n == 2 && is_array(&a[0]) => a[0].clone(),
        "array_prepend" if n == 2 && is_array(&a[1]) => a[1].clone(),
        "array_cat" if n == 2 && is_array(&a[0]) && is_array(&a[1]) => common_type(&a[0], &a[1])?,
        _ => return None,
    })
}

/// Evaluates `lname(a…)`, which [`return_type`] accepted (no NULL
/// arguments unless the function is non-strict).
pub(super) fn call(lname: &str, a: &[Value], tz: &TimeZone) -> Result<Value, SqlError> {
    Ok(match lname {
        "string_to_array" => string_to_array(a, tz),
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
        // Not strict: NULL is found as NULL (IS NOT DISTINCT FROM).
        "array_position" => match &a[0] {
            Value::Array(items) => {
                let start = match a.get(2) {
                    Some(v) if v.is_null() => return Ok(Value::Null),
                    Some(v) => usize::try_from(int(v)?.max(1) - 1).unwrap_or(0),
                    None => 0,
                };
                let wanted = &a[1];
                items
                    .iter()
                    .enumerate()
                    .skip(start)
                    .find(|(_, x)| match (x.is_null(), wanted.is_null()) {
                        (true, true) => true,
                        (false, false) => x.sql_eq(wanted) == Some(true),
                        _ => false,
                    })
                    .map_or(Value::Null, |(i, _)| Value::Int4(i as i32 + 1))
            }
            _ => Value::Null,
        },
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
        _ => return Err(undefined_function(lname, &[])),
    })
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
