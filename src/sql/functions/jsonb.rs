//! json and jsonb functions (`jsonb_build_object`, `jsonb_set`,
//! `json_build_array`, `to_json`, ...).

use serde_json::Value as Json;

use super::{invalid_param, is_json, is_str, is_text_array, jsonb, text, undefined_function};
use crate::error::SqlError;
use crate::value::cast::{cast_explicit, to_jsonb};
use crate::value::tz::TimeZone;
use crate::value::{json, json_text, DataType, Value};

/// The result type of `name(a…)` if this family has such a function.
pub(super) fn return_type(name: &str, a: &[DataType]) -> Option<DataType> {
    use DataType as T;
    let n = a.len();
    let _all = |f: fn(&DataType) -> bool| a.iter().all(f);
    Some(match name {
        "jsonb_build_object" if n.is_multiple_of(2) => T::Jsonb,
        "jsonb_build_array" => T::Jsonb,
        "to_jsonb" if n == 1 => T::Jsonb,
        // Odd argument counts resolve (the parameter is VARIADIC "any")
        // and fail when called, as in PostgreSQL.
        "json_build_object" | "json_build_array" => T::Json,
        "to_json" if n == 1 => T::Json,
        "json_typeof" if n == 1 && is_json_text(&a[0]) => T::Text,
        "json_array_length" if n == 1 && is_json_text(&a[0]) => T::Int4,
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
        _ => return None,
    })
}

fn is_json_text(t: &DataType) -> bool {
    matches!(t, DataType::Json | DataType::Unknown)
}

/// The text of a json argument (an untyped literal arrives as text).
fn json_arg(v: &Value) -> &str {
    match v {
        Value::Json(s) => s,
        Value::Text(s) => s,
        _ => "",
    }
}

/// Evaluates `lname(a…)`, which [`return_type`] accepted (no NULL
/// arguments unless the function is non-strict).
pub(super) fn call(lname: &str, a: &[Value], tz: &TimeZone) -> Result<Value, SqlError> {
    Ok(match lname {
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
        "json_build_array" => Value::Json(json_text::build_array(a, tz)?.into()),
        "json_build_object" => Value::Json(json_text::build_object(a, tz)?.into()),
        "to_json" => Value::Json(json_text::to_json_text(&a[0], tz)?.into()),
        "json_typeof" => Value::Text(json_text::parse_json(json_arg(&a[0]))?.type_name().into()),
        "json_array_length" => match json_text::parse_json(json_arg(&a[0]))? {
            json_text::JsonNode::Array { items, .. } => Value::Int4(items.len() as i32),
            json_text::JsonNode::Object { .. } => {
                return Err(invalid_param("cannot get array length of a non-array"))
            }
            _ => return Err(invalid_param("cannot get array length of a scalar")),
        },
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
        _ => return Err(undefined_function(lname, &[])),
    })
}
