//! COPY's text and CSV data formats: parsing the rows a client streams in
//! (`COPY ... FROM STDIN`) and formatting rows it streams out
//! (`COPY ... TO STDOUT`), as PostgreSQL's `copyfromparse.c` / `copyto.c`
//! do for these two formats.

use crate::error::{SqlError, SqlState};
use crate::sql::parse::ast::CopyFormat;
use crate::value::tz::TimeZone;
use crate::value::Value;

/// One parsed data row: `None` is NULL.
pub type CopyRow = Vec<Option<String>>;

fn bad_copy(msg: impl Into<String>, line: usize) -> SqlError {
    SqlError::new(SqlState::BAD_COPY_FILE_FORMAT, msg).with_detail(format!("COPY data line {line}"))
}

/// Parses a whole COPY data stream into rows of `width` fields.
pub fn parse_rows(
    data: &[u8],
    format: &CopyFormat,
    width: usize,
) -> Result<Vec<CopyRow>, SqlError> {
    let text = std::str::from_utf8(data).map_err(|e| {
        SqlError::new(
            SqlState::CHARACTER_NOT_IN_REPERTOIRE,
            format!(
                "invalid byte sequence for encoding \"UTF8\" at byte {}",
                e.valid_up_to()
            ),
        )
    })?;
    let rows = if format.csv {
        parse_csv(text, format)?
    } else {
        parse_text(text, format)?
    };
    for (i, r) in rows.iter().enumerate() {
        if r.len() != width {
            let line = i + 1 + usize::from(format.header);
            return Err(bad_copy(
                if r.len() < width {
                    "missing data for a column"
                } else {
                    "extra data after last expected column"
                },
                line,
            ));
        }
    }
    Ok(rows)
}

fn parse_text(text: &str, format: &CopyFormat) -> Result<Vec<CopyRow>, SqlError> {
    let mut rows = Vec::new();
    if text.is_empty() {
        return Ok(rows);
    }
    // The newline ending the last row does not start another.
    let body = text.strip_suffix('\n').unwrap_or(text);
    for (i, raw) in body.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line == "\\." {
            break;
        }
        let mut row = Vec::new();
        for field in line.split(format.delimiter) {
            if field == format.null {
                row.push(None);
            } else {
                row.push(Some(unescape_text(field, i + 1)?));
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Text format backslash escapes: `\b \f \n \r \t \v \\`, octal `\NNN`,
/// hex `\xHH`; any other escaped character stands for itself.
fn unescape_text(field: &str, line: usize) -> Result<String, SqlError> {
    if !field.contains('\\') {
        return Ok(field.to_string());
    }
    let mut bytes = Vec::with_capacity(field.len());
    let mut it = field.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let Some(e) = it.next() else {
            // A trailing backslash stands for itself, as in PostgreSQL.
            bytes.push(b'\\');
            break;
        };
        match e {
            'b' => bytes.push(8),
            'f' => bytes.push(12),
            'n' => bytes.push(b'\n'),
            'r' => bytes.push(b'\r'),
            't' => bytes.push(b'\t'),
            'v' => bytes.push(11),
            '0'..='7' => {
                let mut v = e.to_digit(8).expect("octal digit");
                for _ in 0..2 {
                    match it.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            it.next();
                        }
                        None => break,
                    }
                }
                bytes.push((v & 0xff) as u8);
            }
            'x' if it.peek().is_some_and(|d| d.is_ascii_hexdigit()) => {
                let mut v = 0u32;
                for _ in 0..2 {
                    match it.peek().and_then(|d| d.to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            it.next();
                        }
                        None => break,
                    }
                }
                bytes.push(v as u8);
            }
            other => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    String::from_utf8(bytes).map_err(|_| {
        SqlError::new(
            SqlState::CHARACTER_NOT_IN_REPERTOIRE,
            "invalid byte sequence for encoding \"UTF8\"",
        )
        .with_detail(format!("COPY data line {line}"))
    })
}

fn parse_csv(text: &str, format: &CopyFormat) -> Result<Vec<CopyRow>, SqlError> {
    let mut rows = Vec::new();
    let mut row: CopyRow = Vec::new();
    let mut field = String::new();
    // Whether the current field had any quoted part (a quoted empty string
    // is '', an unquoted empty field is NULL).
    let mut quoted = false;
    let mut in_quotes = false;
    let mut line = 1;
    let mut at_line_start = true;
    let mut it = text.chars().peekable();
    let finish_field = |row: &mut CopyRow, field: &mut String, quoted: &mut bool| {
        let f = std::mem::take(field);
        if !*quoted && f == format.null {
            row.push(None);
        } else {
            row.push(Some(f));
        }
        *quoted = false;
    };
    while let Some(c) = it.next() {
        if in_quotes {
            if c == format.escape
                && it.peek() == Some(&format.quote)
                && format.escape != format.quote
            {
                field.push(format.quote);
                it.next();
            } else if c == format.quote {
                if format.escape == format.quote && it.peek() == Some(&format.quote) {
                    field.push(format.quote);
                    it.next();
                } else {
                    in_quotes = false;
                }
            } else {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            continue;
        }
        if at_line_start && c == '\\' && it.peek() == Some(&'.') {
            // End-of-data marker `\.` alone on its line.
            let rest: String = it.clone().take(3).collect();
            if rest == "." || rest.starts_with(".\n") || rest.starts_with(".\r") {
                break;
            }
        }
        at_line_start = false;
        if c == format.quote {
            in_quotes = true;
            quoted = true;
        } else if c == format.delimiter {
            finish_field(&mut row, &mut field, &mut quoted);
        } else if c == '\n' || c == '\r' {
            if c == '\r' && it.peek() == Some(&'\n') {
                it.next();
            }
            finish_field(&mut row, &mut field, &mut quoted);
            rows.push(std::mem::take(&mut row));
            line += 1;
            at_line_start = true;
        } else {
            field.push(c);
        }
    }
    if in_quotes {
        return Err(bad_copy("unterminated CSV quoted field", line));
    }
    if !at_line_start || !field.is_empty() || !row.is_empty() {
        finish_field(&mut row, &mut field, &mut quoted);
        rows.push(row);
    }
    if format.header && !rows.is_empty() {
        rows.remove(0);
    }
    Ok(rows)
}

/// Formats one row for `COPY ... TO STDOUT` (with its newline).
pub fn format_row(row: &[Value], format: &CopyFormat, tz: &TimeZone) -> String {
    let mut out = String::new();
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            out.push(format.delimiter);
        }
        match v.to_pg_text(tz) {
            None => out.push_str(&format.null),
            Some(s) if format.csv => {
                let needs_quotes = s.is_empty() && !format.null.is_empty()
                    || s == format.null
                    || s.contains([format.delimiter, format.quote, '\n', '\r']);
                if needs_quotes {
                    out.push(format.quote);
                    for c in s.chars() {
                        if c == format.quote || c == format.escape {
                            out.push(format.escape);
                        }
                        out.push(c);
                    }
                    out.push(format.quote);
                } else {
                    out.push_str(&s);
                }
            }
            Some(s) => {
                for c in s.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        '\u{8}' => out.push_str("\\b"),
                        '\u{c}' => out.push_str("\\f"),
                        '\u{b}' => out.push_str("\\v"),
                        c if c == format.delimiter => {
                            out.push('\\');
                            out.push(c);
                        }
                        c => out.push(c),
                    }
                }
            }
        }
    }
    out.push('\n');
    out
}

/// The header line of `COPY ... TO STDOUT (FORMAT csv, HEADER)`.
pub fn format_header(names: &[String], format: &CopyFormat) -> String {
    let row: Vec<Value> = names.iter().map(|n| Value::Text(n.clone())).collect();
    format_row(&row, format, &TimeZone::utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> CopyFormat {
        CopyFormat::text()
    }

    #[test]
    fn text_format_rows_nulls_and_escapes() {
        let rows = parse_rows(b"1\tab\\tc\t\\N\n2\t\\\\x\\101\\x41\t\n\\.\n", &text(), 3).unwrap();
        assert_eq!(
            rows,
            vec![
                vec![Some("1".into()), Some("ab\tc".into()), None],
                vec![Some("2".into()), Some("\\xAA".into()), Some(String::new())],
            ]
        );
        // pgbench's rows: an empty last field is an empty string.
        let rows = parse_rows(b"1\t1\t0\t\n", &text(), 4).unwrap();
        assert_eq!(rows[0][3], Some(String::new()));
        assert_eq!(parse_rows(b"", &text(), 2).unwrap().len(), 0);
    }

    #[test]
    fn wrong_widths_and_bad_utf8_are_errors() {
        let e = parse_rows(b"1\t2\n", &text(), 3).unwrap_err();
        assert_eq!(e.code, SqlState::BAD_COPY_FILE_FORMAT);
        let e = parse_rows(b"1\t2\t3\t4\n", &text(), 3).unwrap_err();
        assert!(e.message.contains("extra data"));
        let e = parse_rows(b"\xff\n", &text(), 1).unwrap_err();
        assert_eq!(e.code, SqlState::CHARACTER_NOT_IN_REPERTOIRE);
    }

    #[test]
    fn csv_quotes_nulls_and_header() {
        let mut f = CopyFormat::csv();
        f.header = true;
        let rows = parse_rows(
            b"a,b,c\n1,\"x,\"\"y\"\"\",\n2,\"\",\"multi\nline\"\r\n",
            &f,
            3,
        )
        .unwrap();
        assert_eq!(
            rows,
            vec![
                vec![Some("1".into()), Some("x,\"y\"".into()), None],
                vec![
                    Some("2".into()),
                    Some(String::new()),
                    Some("multi\nline".into())
                ],
            ]
        );
        assert!(parse_rows(b"1,\"open\n", &CopyFormat::csv(), 2).is_err());
    }

    #[test]
    fn formats_round_trip() {
        let tz = TimeZone::utc();
        let row = vec![Value::Int4(1), Value::Text("a\tb\\c".into()), Value::Null];
        let line = format_row(&row, &text(), &tz);
        assert_eq!(line, "1\ta\\tb\\\\c\t\\N\n");
        let back = parse_rows(line.as_bytes(), &text(), 3).unwrap();
        assert_eq!(
            back[0],
            vec![Some("1".into()), Some("a\tb\\c".into()), None]
        );
        let csv = CopyFormat::csv();
        let line = format_row(
            &[
                Value::Text("x,\"y\"".into()),
                Value::Text(String::new()),
                Value::Null,
            ],
            &csv,
            &tz,
        );
        assert_eq!(line, "\"x,\"\"y\"\"\",\"\",\n");
        let back = parse_rows(line.as_bytes(), &csv, 3).unwrap();
        assert_eq!(
            back[0],
            vec![Some("x,\"y\"".into()), Some(String::new()), None]
        );
    }
}
