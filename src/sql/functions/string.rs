//! String functions: length, case, trimming, padding, splitting, `format`,
//! quoting, `md5`, and the regular-expression operators' functions.

use std::borrow::Cow;

use super::{clamp_count, int, invalid_param, is_int, is_str, md5_hex, text, undefined_function};
use crate::error::{SqlError, SqlState};
use crate::value::tz::TimeZone;
use crate::value::{DataType, Value};

/// The result type of `name(a…)` if this family has such a function.
pub(super) fn return_type(name: &str, a: &[DataType]) -> Option<DataType> {
    use DataType as T;
    let n = a.len();
    let all = |f: fn(&DataType) -> bool| a.iter().all(f);
    Some(match name {
        "length" | "char_length" | "character_length"
            if n == 1 && (is_str(&a[0]) || a[0] == T::Bytea) =>
        {
            T::Int4
        }
        "octet_length" | "bit_length" if n == 1 && (is_str(&a[0]) || a[0] == T::Bytea) => T::Int4,
        "lower" | "upper" | "initcap" | "reverse" | "quote_ident" if n == 1 && is_str(&a[0]) => {
            T::Text
        }
        "md5" if n == 1 && (is_str(&a[0]) || a[0] == T::Bytea) => T::Text,
        "quote_literal" | "quote_nullable" if n == 1 => T::Text,
        "substr" | "substring"
            if (n == 2 || n == 3) && is_str(&a[0]) && a[1..].iter().all(is_int) =>
        {
            T::Text
        }
        "position" | "strpos" if n == 2 && all(is_str) => T::Int4,
        "replace" if n == 3 && all(is_str) => T::Text,
        "trim" | "btrim" | "ltrim" | "rtrim" if (n == 1 || n == 2) && all(is_str) => T::Text,
        "lpad" | "rpad"
            if (n == 2 || n == 3)
                && is_str(&a[0])
                && is_int(&a[1])
                && a.get(2).is_none_or(is_str) =>
        {
            T::Text
        }
        "left" | "right" | "repeat" if n == 2 && is_str(&a[0]) && is_int(&a[1]) => T::Text,
        "split_part" if n == 3 && is_str(&a[0]) && is_str(&a[1]) && is_int(&a[2]) => T::Text,
        "concat" => T::Text,
        "concat_ws" if n >= 1 && is_str(&a[0]) => T::Text,
        "format" if n >= 1 && is_str(&a[0]) => T::Text,
        "starts_with" if n == 2 && all(is_str) => T::Bool,
        "to_hex" if n == 1 && is_int(&a[0]) => T::Text,
        "ascii" if n == 1 && is_str(&a[0]) => T::Int4,
        "chr" if n == 1 && is_int(&a[0]) => T::Text,
        "textregexeq" | "textregexne" | "texticregexeq" | "texticregexne"
            if n == 2 && all(is_str) =>
        {
            T::Bool
        }
        _ => return None,
    })
}

/// Evaluates `lname(a…)`, which [`return_type`] accepted (no NULL
/// arguments unless the function is non-strict).
pub(super) fn call(lname: &str, a: &[Value], tz: &TimeZone) -> Result<Value, SqlError> {
    Ok(match lname {
        "length" | "char_length" | "character_length" => match &a[0] {
            Value::Bytea(b) => Value::Int4(b.len() as i32),
            v => Value::Int4(text(v, tz).chars().count() as i32),
        },
        "octet_length" | "bit_length" => {
            let n = match &a[0] {
                Value::Bytea(b) => b.len(),
                v => text(v, tz).len(),
            } as i32;
            Value::Int4(if lname == "bit_length" {
                n.saturating_mul(8)
            } else {
                n
            })
        }
        "lower" => Value::Text(text(&a[0], tz).to_lowercase()),
        "upper" => Value::Text(text(&a[0], tz).to_uppercase()),
        "initcap" => Value::Text(initcap(&text(&a[0], tz))),
        "reverse" => Value::Text(text(&a[0], tz).chars().rev().collect()),
        "substr" | "substring" => Value::Text(substr(
            &text(&a[0], tz),
            int(&a[1])?,
            a.get(2).map(int).transpose()?,
        )?),
        "position" | "strpos" => {
            let (s, sub) = (text(&a[0], tz), text(&a[1], tz));
            Value::Int4(
                s.find(sub.as_ref())
                    .map_or(0, |i| s[..i].chars().count() as i32 + 1),
            )
        }
        "replace" => {
            let from = text(&a[1], tz);
            let s = text(&a[0], tz);
            Value::Text(if from.is_empty() {
                s.into_owned()
            } else {
                s.replace(from.as_ref(), &text(&a[2], tz))
            })
        }
        "trim" | "btrim" | "ltrim" | "rtrim" => {
            let s = text(&a[0], tz);
            let set: Vec<char> = a
                .get(1)
                .map_or_else(|| vec![' '], |c| text(c, tz).chars().collect());
            let f = |c: char| set.contains(&c);
            Value::Text(
                match lname {
                    "ltrim" => s.trim_start_matches(f),
                    "rtrim" => s.trim_end_matches(f),
                    _ => s.trim_matches(f),
                }
                .to_string(),
            )
        }
        "lpad" | "rpad" => {
            let fill = a.get(2).map_or(Cow::Borrowed(" "), |f| text(f, tz));
            Value::Text(pad(&text(&a[0], tz), int(&a[1])?, &fill, lname == "lpad")?)
        }
        "left" | "right" => {
            let chars: Vec<char> = text(&a[0], tz).chars().collect();
            let n = int(&a[1])?;
            let len = chars.len() as i64;
            let keep = if n >= 0 { n.min(len) } else { (len + n).max(0) } as usize;
            Value::Text(if lname == "left" {
                chars[..keep].iter().collect()
            } else {
                chars[chars.len() - keep..].iter().collect()
            })
        }
        "repeat" => {
            let s = text(&a[0], tz);
            let n = clamp_count(int(&a[1])?);
            if s.len().saturating_mul(n) > (1 << 30) - 1 {
                return Err(SqlError::new(
                    SqlState::PROGRAM_LIMIT_EXCEEDED,
                    "requested length too large",
                ));
            }
            Value::Text(s.repeat(n))
        }
        "split_part" => Value::Text(split_part(&text(&a[0], tz), &text(&a[1], tz), int(&a[2])?)?),
        "concat" => Value::Text(
            a.iter()
                .filter(|v| !v.is_null())
                .map(|v| concat_text(v, tz))
                .collect(),
        ),
        "concat_ws" => {
            if a[0].is_null() {
                return Ok(Value::Null);
            }
            let sep = text(&a[0], tz);
            let parts: Vec<String> = a[1..]
                .iter()
                .filter(|v| !v.is_null())
                .map(|v| concat_text(v, tz))
                .collect();
            Value::Text(parts.join(&sep))
        }
        "format" => {
            if a[0].is_null() {
                return Ok(Value::Null);
            }
            Value::Text(format_fn(&text(&a[0], tz), &a[1..], tz)?)
        }
        "starts_with" => Value::Bool(text(&a[0], tz).starts_with(text(&a[1], tz).as_ref())),
        "md5" => Value::Text(match &a[0] {
            Value::Bytea(b) => md5_hex(b),
            v => md5_hex(text(v, tz).as_bytes()),
        }),
        "to_hex" => Value::Text(match &a[0] {
            Value::Int8(x) => format!("{:x}", *x as u64),
            v => format!("{:x}", int(v)? as i32 as u32),
        }),
        "ascii" => Value::Int4(text(&a[0], tz).chars().next().map_or(0, |c| c as i32)),
        "chr" => {
            let code = int(&a[0])?;
            if code == 0 {
                return Err(SqlError::new(
                    SqlState::PROGRAM_LIMIT_EXCEEDED,
                    "null character not permitted",
                ));
            }
            let c = u32::try_from(code)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| {
                    SqlError::new(
                        SqlState::PROGRAM_LIMIT_EXCEEDED,
                        "requested character too large for encoding",
                    )
                })?;
            Value::Text(c.to_string())
        }
        "quote_ident" => Value::Text(quote_ident(&text(&a[0], tz))),
        "quote_literal" => Value::Text(quote_literal(&concat_text(&a[0], tz))),
        "quote_nullable" => match &a[0] {
            Value::Null => Value::Text("NULL".into()),
            v => Value::Text(quote_literal(&concat_text(v, tz))),
        },
        "textregexeq" | "textregexne" | "texticregexeq" | "texticregexne" => {
            let re = compile_regex(&text(&a[1], tz), lname.starts_with("textic"))?;
            Value::Bool(re.is_match(&text(&a[0], tz)) == lname.ends_with("eq"))
        }
        _ => return Err(undefined_function(lname, &[])),
    })
}

/// A POSIX regular expression as `~` takes it (the `regex-lite` engine:
/// PostgreSQL's ARE syntax for the common cases).
fn compile_regex(pattern: &str, case_insensitive: bool) -> Result<regex_lite::Regex, SqlError> {
    regex_lite::RegexBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .build()
        .map_err(|e| {
            SqlError::new(
                SqlState("2201B"),
                format!("invalid regular expression: {e}"),
            )
        })
}

fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if in_word {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            in_word = true;
        } else {
            out.push(c);
            in_word = false;
        }
    }
    out
}

/// `substr(s, start [, count])` with PostgreSQL's rules for starts below 1.
fn substr(s: &str, start: i64, count: Option<i64>) -> Result<String, SqlError> {
    let end = match count {
        Some(c) if c < 0 => {
            return Err(SqlError::new(
                SqlState("22011"),
                "negative substring length not allowed",
            ));
        }
        Some(c) => Some(start.saturating_add(c)),
        None => None,
    };
    let from = clamp_count(start.max(1)) - 1;
    Ok(match end {
        Some(e) if e <= 1 => String::new(),
        Some(e) => s
            .chars()
            .skip(from)
            .take((clamp_count(e) - 1).saturating_sub(from))
            .collect(),
        None => s.chars().skip(from).collect(),
    })
}

fn pad(s: &str, len: i64, fill: &str, left: bool) -> Result<String, SqlError> {
    let len = clamp_count(len);
    if len > (1 << 28) {
        return Err(SqlError::new(
            SqlState::PROGRAM_LIMIT_EXCEEDED,
            "requested length too large",
        ));
    }
    let chars: Vec<char> = s.chars().collect();
    if chars.len() >= len || fill.is_empty() {
        return Ok(chars.iter().take(len).collect());
    }
    let padding: String = fill.chars().cycle().take(len - chars.len()).collect();
    Ok(if left {
        padding + s
    } else {
        s.to_string() + &padding
    })
}

fn split_part(s: &str, delim: &str, n: i64) -> Result<String, SqlError> {
    if n == 0 {
        return Err(invalid_param("field position must not be zero"));
    }
    if delim.is_empty() {
        return Ok(if n == 1 || n == -1 {
            s.to_string()
        } else {
            String::new()
        });
    }
    let parts: Vec<&str> = s.split(delim).collect();
    let idx = if n > 0 { n - 1 } else { parts.len() as i64 + n };
    Ok(usize::try_from(idx)
        .ok()
        .and_then(|i| parts.get(i))
        .map_or(String::new(), |p| p.to_string()))
}

/// A value's output text: `concat`, `format` and `quote_literal` show
/// booleans as `t`/`f` (their output form), unlike the `::text` cast.
fn concat_text(v: &Value, tz: &TimeZone) -> String {
    v.to_pg_text(tz).unwrap_or_default()
}

/// Words PostgreSQL's `quote_ident` always quotes (reserved keywords).
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// `quote_ident`: quotes unless the name is a lowercase identifier that is
/// not a keyword PostgreSQL's quote_identifier quotes (reserved, column-name
/// and type-function-name keywords).
pub fn quote_ident(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        && !RESERVED.contains(&s);
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// `quote_literal`: single quotes doubled; with backslashes, the `E''`
/// form with backslashes doubled.
pub fn quote_literal(s: &str) -> String {
    let body = s.replace('\'', "''");
    if s.contains('\\') {
        format!("E'{}'", body.replace('\\', "\\\\"))
    } else {
        format!("'{body}'")
    }
}

/// `format()` with `%s`, `%I`, `%L`, `%%` and positional `%n$`.
fn format_fn(fmt: &str, args: &[Value], tz: &TimeZone) -> Result<String, SqlError> {
    let mut out = String::new();
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    let mut next_arg = 0usize;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(&spec) = chars.get(i) else {
            return Err(invalid_param("unterminated format() type specifier"));
        };
        if spec == '%' {
            out.push('%');
            i += 1;
            continue;
        }
        // Optional `n$` argument position.
        let mut j = i;
        while chars.get(j).is_some_and(|c| c.is_ascii_digit()) {
            j += 1;
        }
        let mut arg_index = next_arg;
        if j > i && chars.get(j) == Some(&'$') {
            let n: usize = chars[i..j].iter().collect::<String>().parse().unwrap_or(0);
            if n == 0 {
                return Err(invalid_param(
                    "format specifies argument 0, but arguments are numbered from 1",
                ));
            }
            arg_index = n - 1;
            i = j + 1;
        }
        let Some(&kind) = chars.get(i) else {
            return Err(invalid_param("unterminated format() type specifier"));
        };
        i += 1;
        let arg = args
            .get(arg_index)
            .ok_or_else(|| invalid_param("too few arguments for format()"))?;
        next_arg = arg_index + 1;
        match kind {
            's' => out.push_str(&arg.to_pg_text(tz).unwrap_or_default()),
            'I' => {
                if arg.is_null() {
                    return Err(SqlError::new(
                        SqlState("22004"),
                        "null values cannot be formatted as an SQL identifier",
                    ));
                }
                out.push_str(&quote_ident(&text(arg, tz)));
            }
            'L' => match arg {
                Value::Null => out.push_str("NULL"),
                v => out.push_str(&quote_literal(&concat_text(v, tz))),
            },
            other => {
                return Err(invalid_param(format!(
                    "unrecognized format() type specifier \"{other}\""
                )));
            }
        }
    }
    Ok(out)
}
