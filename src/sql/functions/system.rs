//! System information functions (`pg_typeof`, `format_type`, ...) and
//! `gen_random_uuid`.

use super::{int, is_int, is_num, is_str, text, undefined_function, FnContext};
use crate::error::{SqlError, SqlState};
use crate::value::{DataType, Value};

/// The result type of `name(a…)` if this family has such a function.
pub(super) fn return_type(name: &str, a: &[DataType]) -> Option<DataType> {
    use DataType as T;
    let n = a.len();
    let all = |f: fn(&DataType) -> bool| a.iter().all(f);
    Some(match name {
        // Evaluated by the executor, which has the transaction manager.
        "txid_status" | "pg_xact_status" => T::Text,
        // Advisory locks (also evaluated by the executor). PostgreSQL's
        // lock functions return void; ours return an empty text.
        "pg_advisory_lock"
        | "pg_advisory_lock_shared"
        | "pg_advisory_xact_lock"
        | "pg_advisory_xact_lock_shared"
            if advisory_key(a) =>
        {
            T::Text
        }
        "pg_try_advisory_lock"
        | "pg_try_advisory_lock_shared"
        | "pg_try_advisory_xact_lock"
        | "pg_try_advisory_xact_lock_shared"
        | "pg_advisory_unlock"
        | "pg_advisory_unlock_shared"
            if advisory_key(a) =>
        {
            T::Bool
        }
        "pg_advisory_unlock_all" if n == 0 => T::Text,
        // Evaluated by the executor (queued in the transaction); void in
        // PostgreSQL, an empty text here.
        "pg_notify" if n == 2 && all(|t| is_str(t) || *t == T::Unknown) => T::Text,
        "pg_snapshot_xmin" | "pg_snapshot_xmax" | "txid_snapshot_xmin" | "txid_snapshot_xmax"
            if n == 1 && is_str(&a[0]) =>
        {
            T::Int8
        }
        "pg_visible_in_snapshot" | "txid_visible_in_snapshot"
            if n == 2 && is_int(&a[0]) && is_str(&a[1]) =>
        {
            T::Bool
        }
        // One role, the superuser: every privilege check passes.
        "has_table_privilege"
        | "has_schema_privilege"
        | "has_database_privilege"
        | "has_column_privilege"
        | "has_any_column_privilege"
        | "has_sequence_privilege"
        | "has_function_privilege"
        | "has_type_privilege"
        | "has_language_privilege"
        | "has_tablespace_privilege"
        | "has_server_privilege"
        | "has_foreign_data_wrapper_privilege"
        | "pg_has_role"
            if (2..=4).contains(&n) =>
        {
            T::Bool
        }
        // Shared objects (databases, roles) carry no comments here;
        // obj_description and col_description are catalog functions.
        "shobj_description" if n == 2 => T::Text,
        "current_schemas" if n == 1 && matches!(a[0], T::Bool | T::Unknown) => {
            T::Array(Box::new(T::Text))
        }
        // Evaluated by the executor, which has the catalog (the binder
        // answers it when both arguments are literals).
        "pg_get_serial_sequence" if n == 2 && all(is_str) => T::Text,
        "current_setting"
            if (n == 1 && is_str(&a[0]))
                || (n == 2 && is_str(&a[0]) && matches!(a[1], T::Bool | T::Unknown)) =>
        {
            T::Text
        }
        "pg_get_userbyid" if n == 1 && is_int(&a[0]) => T::Text,
        "pg_type_is_visible"
        | "pg_collation_is_visible"
        | "pg_opclass_is_visible"
        | "pg_function_is_visible"
            if n == 1 && is_int(&a[0]) =>
        {
            T::Bool
        }
        "pg_encoding_to_char" if n == 1 && is_int(&a[0]) => T::Text,
        "format_type" if n == 2 && all(is_int) => T::Text,
        "gen_random_uuid" if n == 0 => T::Uuid,
        "pg_typeof" if n == 1 => T::Text,
        "pg_size_pretty" if n == 1 && is_num(&a[0]) => T::Text,
        "pg_size_bytes" if n == 1 && is_str(&a[0]) => T::Int8,
        _ => return None,
    })
}

/// An advisory lock's key arguments: one bigint, or two integers.
fn advisory_key(a: &[DataType]) -> bool {
    match a {
        [k] => is_int(k) || *k == DataType::Unknown,
        [k1, k2] => {
            (is_int(k1) && *k1 != DataType::Int8 || *k1 == DataType::Unknown)
                && (is_int(k2) && *k2 != DataType::Int8 || *k2 == DataType::Unknown)
        }
        _ => false,
    }
}

/// Checks a NOTIFY's channel name and payload as PostgreSQL does.
pub fn check_notify(channel: &str, payload: &str) -> Result<(), SqlError> {
    let invalid = |m: &str| Err(SqlError::new(SqlState::INVALID_PARAMETER_VALUE, m));
    if channel.is_empty() {
        return invalid("channel name cannot be empty");
    }
    // NAMEDATALEN - 1 bytes; a payload below NOTIFY_PAYLOAD_MAX_LENGTH.
    if channel.len() > 63 {
        return invalid("channel name too long");
    }
    if payload.len() >= 8000 {
        return invalid("payload string too long");
    }
    Ok(())
}

/// Whether `name` is an advisory lock function (the executor answers
/// them: they take locks).
pub fn is_advisory(name: &str) -> bool {
    name.starts_with("pg_advisory_") || name.starts_with("pg_try_advisory_")
}

/// Evaluates `lname(a…)`, which [`return_type`] accepted (no NULL
/// arguments unless the function is non-strict).
pub(super) fn call(
    lname: &str,
    a: &[Value],
    types: &[DataType],
    ctx: &mut FnContext,
) -> Result<Value, SqlError> {
    let tz = ctx.tz;
    Ok(match lname {
        "pg_snapshot_xmin" | "txid_snapshot_xmin" => {
            Value::Int8(parse_snapshot(&text(&a[0], tz))?.0)
        }
        "pg_snapshot_xmax" | "txid_snapshot_xmax" => {
            Value::Int8(parse_snapshot(&text(&a[0], tz))?.1)
        }
        "pg_visible_in_snapshot" | "txid_visible_in_snapshot" => {
            let x = int(&a[0])?;
            let (xmin, xmax, xip) = parse_snapshot(&text(&a[1], tz))?;
            // PostgreSQL's rule: below xmin is visible (committed or
            // not, as the caller checks), at or above xmax is not.
            Value::Bool(x < xmin || (x < xmax && !xip.contains(&x)))
        }
        name if name.starts_with("has_") || name == "pg_has_role" => Value::Bool(true),
        "shobj_description" => Value::Null,
        "current_schemas" => {
            let mut schemas = Vec::new();
            if a[0] == Value::Bool(true) {
                schemas.push(Value::Text("pg_catalog".into()));
            }
            schemas.push(Value::Text("public".into()));
            Value::Array(schemas)
        }
        // The only role is the bootstrap superuser (see engine::system).
        "pg_get_userbyid" => Value::Text(match int(&a[0])? {
            10 => "neuraldb".to_string(),
            o => format!("unknown (OID={o})"),
        }),
        // Types, collations, operator classes and functions are in
        // pg_catalog or public (relations: see the catalog functions).
        "pg_type_is_visible"
        | "pg_collation_is_visible"
        | "pg_opclass_is_visible"
        | "pg_function_is_visible" => Value::Bool(true),
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
                .and_then(|o| crate::value::types::from_oid_typmod(o, typmod));
            Value::Text(match known {
                Some(t) => t.to_string(),
                None if oid == 0 => "-".into(),
                None => "???".into(),
            })
        }
        "gen_random_uuid" => {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&ctx.next_u64().to_le_bytes());
            b[8..].copy_from_slice(&ctx.next_u64().to_le_bytes());
            b[6] = (b[6] & 0x0f) | 0x40; // version 4
            b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
            Value::Uuid(b)
        }
        "pg_typeof" => Value::Text(pg_typeof_name(&types[0])),
        "pg_size_pretty" => Value::Text(match &a[0] {
            Value::Numeric(n) => super::size::size_pretty_numeric(n),
            other => super::size::size_pretty(int(other)?),
        }),
        "pg_size_bytes" => Value::Int8(super::size::size_bytes(&text(&a[0], tz))?),
        _ => return Err(undefined_function(lname, &[])),
    })
}

/// The type name `pg_typeof` prints for a (statically known) type. The
/// executor should prefer calling this with the expression's resolved type
/// over evaluating `pg_typeof` on a value (values do not carry typmods and
/// NULL has no type).
pub fn pg_typeof_name(ty: &DataType) -> String {
    // regtype's output: the type without its modifier.
    match ty {
        DataType::Numeric(_) => "numeric".into(),
        DataType::Varchar(_) => "character varying".into(),
        DataType::Char(_) => "character".into(),
        DataType::Vector(_) => "vector".into(),
        DataType::HalfVec(_) => "halfvec".into(),
        DataType::Bit(_) => "bit".into(),
        DataType::Array(inner) => format!("{}[]", pg_typeof_name(inner)),
        other => other.to_string(),
    }
}

/// A snapshot's text form `xmin:xmax:xip,...` (PostgreSQL's pg_snapshot
/// output, which is how we represent the type).
fn parse_snapshot(t: &str) -> Result<(i64, i64, Vec<i64>), SqlError> {
    let bad = || {
        SqlError::new(
            crate::error::SqlState::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type pg_snapshot: \"{t}\""),
        )
    };
    let mut parts = t.trim().splitn(3, ':');
    let num = |s: Option<&str>| s.and_then(|s| s.parse::<i64>().ok()).filter(|n| *n > 0);
    let xmin = num(parts.next()).ok_or_else(bad)?;
    let xmax = num(parts.next()).ok_or_else(bad)?;
    let rest = parts.next().ok_or_else(bad)?;
    let mut xip = Vec::new();
    for x in rest.split(',').filter(|s| !s.is_empty()) {
        let x = num(Some(x)).ok_or_else(bad)?;
        if x < xmin || x >= xmax || xip.last().is_some_and(|l| *l > x) {
            return Err(bad());
        }
        xip.push(x);
    }
    if xmin > xmax {
        return Err(bad());
    }
    Ok((xmin, xmax, xip))
}

/// `pg_snapshot_xip`: the in-progress xids of a snapshot's text form.
pub fn snapshot_xip(t: &str) -> Result<Vec<i64>, SqlError> {
    Ok(parse_snapshot(t)?.2)
}
