//! Values, outcomes and errors across the JS boundary. The mapping is the
//! table in README.md ("Type mapping"); keep the two in step.

use js_sys::{Array, Object, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use crate::engine::{Outcome, QueryResult};
use crate::error::{Error, Notice, SqlError, SqlState};
use crate::value::datetime::{format_date, format_interval, format_timestamp, TS_INFINITY};
use crate::value::json::format_jsonb;
use crate::value::numeric::{format_numeric, parse_numeric};
use crate::value::text::format_uuid;
use crate::value::Value;

/// Microseconds between 1970-01-01 and 2000-01-01 (our timestamp epoch).
const UNIX_TO_2000_US: i64 = 946_684_800_000_000;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `Reflect.set` without js-sys's `catch` wrapper (a try/catch and an
    /// `apply` per call): setting a property of a fresh plain object
    /// cannot throw.
    #[wasm_bindgen(js_namespace = Reflect, js_name = set)]
    fn reflect_set(target: &Object, key: &JsValue, value: &JsValue) -> bool;
}

thread_local! {
    /// Property names already made JS strings: every statement's outcome
    /// sets about ten properties, and decoding each name from wasm memory
    /// again was a sixth of a one-row INSERT's time in the worker.
    static KEYS: std::cell::RefCell<Vec<(Box<str>, JsValue)>> =
        const { std::cell::RefCell::new(Vec::new()) };
    /// Recent command tags, column names and type names made JS strings:
    /// an application repeats them statement after statement. Bounded by
    /// `MAX_TEXTS`: emptied when full.
    static TEXTS: std::cell::RefCell<Vec<(Box<str>, JsValue)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

const MAX_TEXTS: usize = 64;

/// The position of `s` in `cache`, adding it when new (after emptying a
/// cache that holds `max` strings).
fn interned(cache: &mut Vec<(Box<str>, JsValue)>, s: &str, max: usize) -> usize {
    match cache.iter().position(|(k, _)| **k == *s) {
        Some(at) => at,
        None => {
            if cache.len() >= max {
                cache.clear();
            }
            cache.push((s.into(), JsValue::from_str(s)));
            cache.len() - 1
        }
    }
}

fn set(obj: &Object, key: &'static str, value: &JsValue) {
    KEYS.with_borrow_mut(|keys| {
        let at = interned(keys, key, usize::MAX);
        reflect_set(obj, &keys[at].1, value);
    });
}

/// [`set`] with a string value an application is likely to repeat.
fn set_text(obj: &Object, key: &'static str, text: &str) {
    TEXTS.with_borrow_mut(|texts| {
        let at = interned(texts, text, MAX_TEXTS);
        set(obj, key, &texts[at].1);
    });
}

fn opt_str(s: &Option<String>) -> JsValue {
    s.as_deref().map_or(JsValue::NULL, JsValue::from_str)
}

/// `{ code, message, detail, hint, position }`.
pub fn error(e: &Error) -> JsValue {
    let obj = Object::new();
    set(&obj, "code", &JsValue::from_str(e.sqlstate().as_str()));
    match e {
        Error::Sql(s) => {
            set(&obj, "message", &JsValue::from_str(&s.message));
            set(&obj, "detail", &opt_str(&s.detail));
            set(&obj, "hint", &opt_str(&s.hint));
            set(
                &obj,
                "position",
                &s.position.map_or(JsValue::NULL, JsValue::from),
            );
        }
        other => set(&obj, "message", &JsValue::from_str(&other.to_string())),
    }
    obj.into()
}

/// `{ results: [{ command, fields, rows, rowCount }], error, status,
/// notices: [{ severity, code, message, detail, hint }] }`.
pub fn outcome(o: &Outcome, status: &'static str, notices: &[Notice]) -> JsValue {
    let obj = Object::new();
    let list = Array::new();
    for n in notices {
        let e = error(&Error::Sql(n.body.clone()));
        set(
            e.unchecked_ref::<Object>(),
            "severity",
            &JsValue::from_str(n.severity.as_str()),
        );
        list.push(&e);
    }
    set(&obj, "notices", &list);
    let results = Array::new();
    for r in &o.results {
        results.push(&result(r));
    }
    set(&obj, "results", &results);
    set(
        &obj,
        "error",
        &o.error.as_ref().map_or(JsValue::NULL, error),
    );
    set_text(&obj, "status", status);
    obj.into()
}

fn result(r: &QueryResult) -> JsValue {
    let obj = Object::new();
    set_text(&obj, "command", &r.command);
    let fields = Array::new();
    for c in &r.columns {
        let f = Object::new();
        set_text(&f, "name", &c.name);
        set(&f, "dataTypeID", &JsValue::from(c.ty.oid()));
        set_text(&f, "type", &c.ty.to_string());
        fields.push(&f);
    }
    set(&obj, "fields", &fields);
    let rows = Array::new();
    for row in &r.rows {
        let cells = Array::new();
        for v in row.iter() {
            cells.push(&value(v));
        }
        rows.push(&cells);
    }
    set(&obj, "rows", &rows);
    // rowCount: rows affected for DML, rows returned for SELECT.
    let count = if r.columns.is_empty() || r.rows_affected > 0 {
        r.rows_affected
    } else {
        r.rows.len() as u64
    };
    set(&obj, "rowCount", &JsValue::from_f64(count as f64));
    obj.into()
}

/// One SQL value as a JS value.
pub fn value(v: &Value) -> JsValue {
    match v {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Int2(i) => JsValue::from(*i),
        Value::Int4(i) => JsValue::from(*i),
        Value::Int8(i) => js_sys::BigInt::from(*i).into(),
        Value::Float4(f) => JsValue::from_f64(f64::from(*f)),
        Value::Float8(f) => JsValue::from_f64(*f),
        Value::Numeric(n) => JsValue::from_str(&format_numeric(n)),
        Value::Text(s) => JsValue::from_str(s),
        Value::Bytea(b) => Uint8Array::from(b.as_slice()).into(),
        Value::Date(d) => JsValue::from_str(&format_date(*d)),
        Value::Timestamp(ts) => JsValue::from_str(&format_timestamp(*ts, None)),
        Value::Timestamptz(ts) => {
            if *ts == TS_INFINITY || *ts == i64::MIN {
                JsValue::from_str(if *ts > 0 { "infinity" } else { "-infinity" })
            } else {
                let ms = (*ts + UNIX_TO_2000_US) as f64 / 1000.0;
                js_sys::Date::new(&JsValue::from_f64(ms)).into()
            }
        }
        Value::Interval(iv) => JsValue::from_str(&format_interval(iv)),
        Value::Uuid(u) => JsValue::from_str(&format_uuid(u)),
        // json parsed as node-postgres parses it (its text was validated
        // on input; should JSON.parse still refuse it, the text).
        Value::Json(s) => js_sys::JSON::parse(s).unwrap_or_else(|_| JsValue::from_str(s)),
        Value::Jsonb(j) => {
            // Our jsonb text is valid JSON, so JSON.parse cannot fail.
            js_sys::JSON::parse(&format_jsonb(j)).unwrap_or(JsValue::NULL)
        }
        Value::Vector(v) | Value::HalfVec(v) => js_sys::Float32Array::from(v.as_slice()).into(),
        // Packed, most significant bit first (the length is the column's
        // bit(n); a bit string that is not whole bytes ends in zeros).
        Value::Bit(b) => Uint8Array::from(b.bytes.as_slice()).into(),
        // regclass & co: their text (the name), as node-postgres gives it.
        Value::Reg(_, _, name) => JsValue::from_str(name),
        Value::Array(items) => {
            let a = Array::new();
            for item in items {
                a.push(&value(item));
            }
            a.into()
        }
    }
}

fn bad_param(i: u32, what: &str) -> SqlError {
    SqlError::new(
        SqlState("22023"),
        format!(
            "cannot convert parameter ${} from JavaScript: {what}",
            i + 1
        ),
    )
}

/// Query parameters from JS values.
pub fn params(arr: &Array) -> Result<Vec<Value>, SqlError> {
    let mut out = Vec::with_capacity(arr.length() as usize);
    for (i, v) in arr.iter().enumerate() {
        out.push(param(&v, i as u32)?);
    }
    Ok(out)
}

fn param(v: &JsValue, i: u32) -> Result<Value, SqlError> {
    if v.is_null() || v.is_undefined() {
        return Ok(Value::Null);
    }
    if let Some(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(f) = v.as_f64() {
        // Whole numbers become integers (so they bind to integer columns
        // exactly); others are float8.
        const SAFE: f64 = 9_007_199_254_740_991.0;
        return Ok(if f.fract() == 0.0 && f.abs() <= SAFE {
            match i32::try_from(f as i64) {
                Ok(small) => Value::Int4(small),
                Err(_) => Value::Int8(f as i64),
            }
        } else {
            Value::Float8(f)
        });
    }
    if let Some(s) = v.as_string() {
        return Ok(Value::Text(s));
    }
    if v.is_bigint() {
        let text: String = js_sys::BigInt::unchecked_from_js_ref(v)
            .to_string(10)
            .map(String::from)
            .map_err(|_| bad_param(i, "bigint"))?;
        return Ok(match text.parse::<i64>() {
            Ok(n) => Value::Int8(n),
            Err(_) => Value::Numeric(parse_numeric(&text)?),
        });
    }
    if let Some(d) = v.dyn_ref::<js_sys::Date>() {
        let ms = d.get_time();
        if !ms.is_finite() {
            return Err(bad_param(i, "invalid Date"));
        }
        return Ok(Value::Timestamptz((ms * 1000.0) as i64 - UNIX_TO_2000_US));
    }
    if let Some(b) = v.dyn_ref::<Uint8Array>() {
        return Ok(Value::Bytea(b.to_vec()));
    }
    if let Some(b) = v.dyn_ref::<js_sys::ArrayBuffer>() {
        return Ok(Value::Bytea(Uint8Array::new(b).to_vec()));
    }
    if let Some(f) = v.dyn_ref::<js_sys::Float32Array>() {
        return Ok(Value::Vector(f.to_vec()));
    }
    if let Some(f) = v.dyn_ref::<js_sys::Float64Array>() {
        return Ok(Value::Vector(
            f.to_vec().into_iter().map(|x| x as f32).collect(),
        ));
    }
    if Array::is_array(v) {
        let items = Array::unchecked_from_js_ref(v);
        let mut out = Vec::with_capacity(items.length() as usize);
        for item in items.iter() {
            out.push(param(&item, i)?);
        }
        return Ok(Value::Array(out));
    }
    if v.is_object() {
        // Plain objects are jsonb; JSON.stringify honours toJSON().
        let text: String = js_sys::JSON::stringify(v)
            .map(String::from)
            .map_err(|_| bad_param(i, "object is not JSON-serialisable"))?;
        let json = serde_json::from_str(&text).map_err(|_| bad_param(i, "invalid JSON"))?;
        return Ok(Value::Jsonb(json));
    }
    Err(bad_param(i, "unsupported type"))
}
