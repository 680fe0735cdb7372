//! `json` (as opposed to `jsonb`): the value is its input text, kept
//! byte for byte (whitespace, key order, duplicate keys), validated on
//! input. Operators parse the text when they need its structure and return
//! sub-values as the exact text they had, as PostgreSQL's json operators
//! do. Also here: PostgreSQL's conversion of any value to json text
//! (`datum_to_json`), which `to_json`, `json_build_*` and `json_agg` share.

use super::tz::TimeZone;
use super::Value;
use crate::error::{SqlError, SqlState};

fn invalid(detail: impl Into<String>) -> SqlError {
    SqlError::new(
        SqlState::INVALID_JSON_TEXT,
        "invalid input syntax for type json",
    )
    .with_detail(detail)
}

/// A parsed json text: every node keeps the exact text it was read from.
#[derive(Debug)]
pub enum JsonNode<'a> {
    Null(&'a str),
    Bool(&'a str),
    Number(&'a str),
    String {
        raw: &'a str,
        value: String,
    },
    Array {
        raw: &'a str,
        items: Vec<JsonNode<'a>>,
    },
    Object {
        raw: &'a str,
        fields: Vec<(String, JsonNode<'a>)>,
    },
}

impl<'a> JsonNode<'a> {
    /// The node's text as it appeared in the input.
    pub fn raw(&self) -> &'a str {
        match self {
            JsonNode::Null(r) | JsonNode::Bool(r) | JsonNode::Number(r) => r,
            JsonNode::String { raw, .. }
            | JsonNode::Array { raw, .. }
            | JsonNode::Object { raw, .. } => raw,
        }
    }

    /// `json_typeof`.
    pub fn type_name(&self) -> &'static str {
        match self {
            JsonNode::Null(_) => "null",
            JsonNode::Bool(_) => "boolean",
            JsonNode::Number(_) => "number",
            JsonNode::String { .. } => "string",
            JsonNode::Array { .. } => "array",
            JsonNode::Object { .. } => "object",
        }
    }

    /// `->> `'s text of a node: strings unescaped, null as SQL NULL, the
    /// rest as written.
    pub fn as_text(&self) -> Option<String> {
        match self {
            JsonNode::Null(_) => None,
            JsonNode::String { value, .. } => Some(value.clone()),
            other => Some(other.raw().to_string()),
        }
    }

    /// The field `key` (the last one when the key repeats, as PostgreSQL's
    /// json operators find it).
    pub fn get_key(&self, key: &str) -> Option<&JsonNode<'a>> {
        match self {
            JsonNode::Object { fields, .. } => {
                fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
            }
            _ => None,
        }
    }

    /// Element `idx` (negative counts from the end).
    pub fn get_index(&self, idx: i64) -> Option<&JsonNode<'a>> {
        match self {
            JsonNode::Array { items, .. } => {
                let n = items.len() as i64;
                let i = if idx < 0 { n + idx } else { idx };
                usize::try_from(i).ok().and_then(|i| items.get(i))
            }
            _ => None,
        }
    }

    /// `#>`: follows keys, or indexes into arrays (a path element that is
    /// no integer finds nothing in an array).
    pub fn get_path(&self, path: &[Option<String>]) -> Option<&JsonNode<'a>> {
        let mut cur = self;
        for p in path {
            let p = p.as_deref()?;
            cur = match cur {
                JsonNode::Object { .. } => cur.get_key(p)?,
                JsonNode::Array { .. } => cur.get_index(p.trim().parse().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        let b = self.s.as_bytes();
        while self.i < b.len() && matches!(b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn token_error(&self) -> SqlError {
        match self.s.get(self.i..) {
            None | Some("") => invalid("The input string ended unexpectedly."),
            Some(rest) => {
                let end = rest
                    .char_indices()
                    .find(|(_, c)| c.is_whitespace() || ",:]}[{".contains(*c))
                    .map_or(rest.len(), |(i, _)| i.max(1));
                let tok: String = rest.chars().take(end.max(1)).collect();
                invalid(format!("Token \"{tok}\" is invalid."))
            }
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), SqlError> {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            match self.peek() {
                None => Err(invalid("The input string ended unexpectedly.")),
                Some(_) => Err(invalid(format!(
                    "Expected \"{}\", but found \"{}\".",
                    c as char,
                    &self.s[self.i..].chars().next().unwrap_or(' ')
                ))),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<JsonNode<'a>, SqlError> {
        if depth > 6400 {
            return Err(SqlError::new(
                SqlState("54001"),
                "stack depth limit exceeded",
            ));
        }
        self.ws();
        let start = self.i;
        match self.peek() {
            None => Err(invalid("The input string ended unexpectedly.")),
            Some(b'{') => {
                self.i += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        if self.peek() != Some(b'"') {
                            return Err(self.token_error());
                        }
                        let key = self.string()?;
                        self.expect(b':')?;
                        let v = self.value(depth + 1)?;
                        fields.push((key, v));
                        self.ws();
                        match self.peek() {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                break;
                            }
                            _ => return Err(self.token_error()),
                        }
                    }
                }
                Ok(JsonNode::Object {
                    raw: &self.s[start..self.i],
                    fields,
                })
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                } else {
                    loop {
                        items.push(self.value(depth + 1)?);
                        self.ws();
                        match self.peek() {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                break;
                            }
                            _ => return Err(self.token_error()),
                        }
                    }
                }
                Ok(JsonNode::Array {
                    raw: &self.s[start..self.i],
                    items,
                })
            }
            Some(b'"') => {
                let value = self.string()?;
                Ok(JsonNode::String {
                    raw: &self.s[start..self.i],
                    value,
                })
            }
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                Ok(JsonNode::Number(&self.s[start..self.i]))
            }
            Some(_) => {
                for (word, null) in [("true", false), ("false", false), ("null", true)] {
                    if self.s[self.i..].starts_with(word) {
                        let after = self.s.as_bytes().get(self.i + word.len());
                        if !after.is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
                            self.i += word.len();
                            let raw = &self.s[start..self.i];
                            return Ok(if null {
                                JsonNode::Null(raw)
                            } else {
                                JsonNode::Bool(raw)
                            });
                        }
                    }
                }
                Err(self.token_error())
            }
        }
    }

    fn number(&mut self) -> Result<(), SqlError> {
        let b = self.s.as_bytes();
        let start = self.i;
        let digits = |i: &mut usize| {
            let s = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            *i > s
        };
        let mut i = self.i;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        let int_start = i;
        let mut ok = digits(&mut i);
        // A leading zero stands alone (`01` is not JSON).
        if ok && b[int_start] == b'0' && i - int_start > 1 {
            ok = false;
        }
        if ok && b.get(i) == Some(&b'.') {
            i += 1;
            ok = digits(&mut i);
        }
        if ok && matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            ok = digits(&mut i);
        }
        if ok
            && b.get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            ok = false;
        }
        if !ok {
            self.i = start;
            return Err(self.token_error());
        }
        self.i = i;
        Ok(())
    }

    /// A string literal at the cursor (which is on its `"`), unescaped.
    fn string(&mut self) -> Result<String, SqlError> {
        let b = self.s.as_bytes();
        self.i += 1;
        let mut out = String::new();
        let mut pending_high: Option<u32> = None;
        loop {
            let Some(&c) = b.get(self.i) else {
                return Err(invalid("The input string ended unexpectedly."));
            };
            match c {
                b'"' => {
                    self.i += 1;
                    if pending_high.is_some() {
                        return Err(invalid(
                            "Unicode low surrogate must follow a high surrogate.",
                        ));
                    }
                    return Ok(out);
                }
                b'\\' => {
                    let e = b.get(self.i + 1).copied();
                    self.i += 2;
                    let simple = match e {
                        Some(b'"') => Some('"'),
                        Some(b'\\') => Some('\\'),
                        Some(b'/') => Some('/'),
                        Some(b'b') => Some('\u{8}'),
                        Some(b'f') => Some('\u{c}'),
                        Some(b'n') => Some('\n'),
                        Some(b'r') => Some('\r'),
                        Some(b't') => Some('\t'),
                        Some(b'u') => None,
                        None => return Err(invalid("The input string ended unexpectedly.")),
                        Some(other) => {
                            return Err(invalid(format!(
                                "Escape sequence \"\\{}\" is invalid.",
                                other as char
                            )))
                        }
                    };
                    if let Some(ch) = simple {
                        if pending_high.is_some() {
                            return Err(invalid(
                                "Unicode low surrogate must follow a high surrogate.",
                            ));
                        }
                        out.push(ch);
                        continue;
                    }
                    let hex = self.s.get(self.i..self.i + 4).unwrap_or("");
                    let code = (hex.len() == 4 && hex.bytes().all(|h| h.is_ascii_hexdigit()))
                        .then(|| u32::from_str_radix(hex, 16).ok())
                        .flatten()
                        .ok_or_else(|| {
                            invalid("\"\\u\" must be followed by four hexadecimal digits.")
                        })?;
                    self.i += 4;
                    match (code, pending_high.take()) {
                        (0xD800..=0xDBFF, None) => pending_high = Some(code),
                        (0xDC00..=0xDFFF, Some(hi)) => {
                            let cp = 0x10000 + ((hi - 0xD800) << 10) + (code - 0xDC00);
                            out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                        }
                        (0xD800..=0xDBFF, Some(_)) => {
                            return Err(invalid(
                                "Unicode high surrogate must not follow a high surrogate.",
                            ))
                        }
                        (0xDC00..=0xDFFF, None) | (_, Some(_)) => {
                            return Err(invalid(
                                "Unicode low surrogate must follow a high surrogate.",
                            ))
                        }
                        (0, None) => {
                            return Err(SqlError::new(
                                SqlState("22P05"),
                                "unsupported Unicode escape sequence",
                            )
                            .with_detail("\\u0000 cannot be converted to text."))
                        }
                        (c, None) => out.push(char::from_u32(c).unwrap_or('\u{FFFD}')),
                    }
                }
                0..=0x1f => {
                    return Err(invalid(format!(
                        "Character with value 0x{c:02x} must be escaped."
                    )))
                }
                _ => {
                    // Copy the whole UTF-8 character.
                    let ch = self.s[self.i..].chars().next().unwrap_or('\u{FFFD}');
                    if pending_high.is_some() {
                        return Err(invalid(
                            "Unicode low surrogate must follow a high surrogate.",
                        ));
                    }
                    out.push(ch);
                    self.i += ch.len_utf8();
                }
            }
        }
    }
}

/// Parses json text (`json_in`'s validation) into its structure.
pub fn parse_json(s: &str) -> Result<JsonNode<'_>, SqlError> {
    let mut p = Parser { s, i: 0 };
    let v = p.value(0)?;
    p.ws();
    if p.i < s.len() {
        return Err(p.token_error());
    }
    Ok(v)
}

/// A JSON string literal of `s`, escaped as PostgreSQL's `escape_json`
/// does (`"`, `\`, and control characters).
pub fn quote_json(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Whether a float's or numeric's text is a JSON number (not `NaN`,
/// `Infinity`), which PostgreSQL then writes bare.
fn is_json_number(s: &str) -> bool {
    parse_json(s).is_ok_and(|n| matches!(n, JsonNode::Number(_)))
}

/// Appends `v` as PostgreSQL's `datum_to_json` writes it: numbers bare
/// (NaN and infinities quoted), booleans, NULL as `null`, json as its text,
/// jsonb in its output form, arrays as JSON arrays (no spaces), date/time
/// values in ISO 8601, everything else as its text output in a string.
pub fn write_json_value(out: &mut String, v: &Value, tz: &TimeZone) -> Result<(), SqlError> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int2(_)
        | Value::Int4(_)
        | Value::Int8(_)
        | Value::Float4(_)
        | Value::Float8(_)
        | Value::Numeric(_) => {
            let text = v.to_pg_text(tz).unwrap_or_default();
            if is_json_number(&text) {
                out.push_str(&text);
            } else {
                quote_json(out, &text);
            }
        }
        Value::Json(s) => out.push_str(s),
        Value::Jsonb(j) => out.push_str(&super::json::format_jsonb(j)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_value(out, item, tz)?;
            }
            out.push(']');
        }
        Value::Timestamp(_) | Value::Timestamptz(_) => {
            // The ISO form whatever DateStyle says: `T` between date and
            // time, full `+hh:mm` offsets.
            let text = v.to_pg_text(tz).unwrap_or_default();
            let iso = text.replacen(' ', "T", 1);
            let iso = match (v, iso.rfind(['+', '-'])) {
                (Value::Timestamptz(_), Some(i)) if i > 10 && iso.len() - i == 3 => {
                    format!("{iso}:00")
                }
                _ => iso,
            };
            quote_json(out, &iso);
        }
        other => quote_json(out, &other.to_pg_text(tz).unwrap_or_default()),
    }
    Ok(())
}

/// `v` as json text (`to_json`).
pub fn to_json_text(v: &Value, tz: &TimeZone) -> Result<String, SqlError> {
    let mut out = String::new();
    write_json_value(&mut out, v, tz)?;
    Ok(out)
}

/// `json_build_array(...)`: `[1, "a"]`.
pub fn build_array(items: &[Value], tz: &TimeZone) -> Result<String, SqlError> {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_json_value(&mut out, item, tz)?;
    }
    out.push(']');
    Ok(out)
}

/// A key of `json_build_object` / `json_object_agg`: its text, which must
/// not be NULL (`what` names it in the error).
pub fn object_key(k: &Value, tz: &TimeZone, what: &str) -> Result<String, SqlError> {
    match k {
        Value::Null => Err(
            SqlError::new(SqlState::INVALID_PARAMETER_VALUE, what.to_string())
                .with_hint("Object keys should be text."),
        ),
        Value::Text(s) => Ok(s.clone()),
        Value::Json(s) => Ok(s.to_string()),
        // Other scalars as their json form (`true`, ISO timestamps),
        // unquoted.
        other => {
            let text = to_json_text(other, tz)?;
            Ok(match parse_json(&text) {
                Ok(JsonNode::String { value, .. }) => value,
                _ => text,
            })
        }
    }
}

/// `json_build_object(k1, v1, ...)`: `{"a" : 1, "b" : 2}`.
pub fn build_object(args: &[Value], tz: &TimeZone) -> Result<String, SqlError> {
    if !args.len().is_multiple_of(2) {
        return Err(SqlError::new(
            SqlState::INVALID_PARAMETER_VALUE,
            "argument list must have even number of elements",
        )
        .with_hint(
            "The arguments of json_build_object() must consist of alternating keys and values.",
        ));
    }
    let mut out = String::from("{");
    for (i, pair) in args.chunks(2).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let key = object_key(
            &pair[0],
            tz,
            &format!("argument {} cannot be null", 2 * i + 1),
        )?;
        quote_json(&mut out, &key);
        out.push_str(" : ");
        write_json_value(&mut out, &pair[1], tz)?;
    }
    out.push('}');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_keeps_text() {
        let j = parse_json(r#" {"a" : [1, 2.5e3, "x\n"], "a": {"b":null}} "#).unwrap();
        assert_eq!(j.get_key("a").map(|n| n.raw()), Some(r#"{"b":null}"#));
        assert_eq!(
            j.get_path(&[Some("a".into()), Some("b".into())])
                .map(|n| n.type_name()),
            Some("null")
        );
        for bad in [
            "",
            "{",
            "[1,]",
            "01",
            "tru",
            "\"\\x\"",
            "{\"a\" 1}",
            "1 2",
            "\"\\ud800\"",
        ] {
            assert!(parse_json(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_json(r#""\u00e9\ud83d\ude00""#)
                .unwrap()
                .as_text()
                .unwrap(),
            "é😀"
        );
    }

    #[test]
    fn builds_as_postgres_prints() {
        let tz = TimeZone::utc();
        let v = [
            Value::Int4(1),
            Value::Text("a\"".into()),
            Value::Null,
            Value::Bool(true),
        ];
        assert_eq!(build_array(&v, &tz).unwrap(), r#"[1, "a\"", null, true]"#);
        assert_eq!(
            build_object(&[Value::Text("k".into()), Value::Float8(f64::NAN)], &tz).unwrap(),
            r#"{"k" : "NaN"}"#
        );
        assert!(build_object(&[Value::Null, Value::Int4(1)], &tz).is_err());
    }
}
