//! Literal lifting ("auto-parameterisation"): `UPDATE t SET b=b*2 WHERE
//! a>=10 AND a<20` becomes `UPDATE t SET b=b*$1 WHERE a>=$2 AND a<$3` with
//! the values `[2, 10, 20]`, so statements that differ only in their
//! constants share one parse and one plan (the session's plan cache).
//!
//! Only literals whose meaning cannot change by becoming a parameter are
//! lifted. The test is on the tokens around them, and deliberately narrow:
//! - the literal is a whole operand: the token before it is a comparison
//!   or arithmetic operator, `AND`/`OR`/`BETWEEN`/`LIKE`/`ILIKE`, or `(` /
//!   `,` directly inside a VALUES row, an IN list or a parenthesised
//!   expression (never a function's or a type's argument list: `substr(c,
//!   1, 3)`, `varchar(10)`, `current_setting('x')` keep their literals);
//!   and the token after it ends the operand (`)`, `,`, an operator, a
//!   clause keyword). So `'x'::date`, `DATE '...'`, `'a' COLLATE "C"`,
//!   `E'..'`, `LIKE '..' ESCAPE '..'` and array subscripts stay as written;
//! - nothing inside ORDER BY or PARTITION BY (`ORDER BY 2` is a column
//!   position, not a value); LIMIT and OFFSET keep theirs too; and nothing
//!   at all in a statement with GROUP BY, HAVING or DISTINCT, which match
//!   expressions by their text (`SELECT a % 2 ... GROUP BY a % 2`);
//! - integers only in int4's range, decimals only without an exponent:
//!   each lifted value has exactly the literal's type (int4, numeric), and
//!   a quoted string stays untyped (its type still comes from its context,
//!   as the literal's does).
//!
//! Texts with several statements, dollar quotes, or `$n` beyond the
//! parameters given are left alone.

use crate::value::Value;

/// `sql` with its liftable literals replaced by parameters.
#[derive(Debug, PartialEq)]
pub struct Lifted {
    /// The text with each lifted literal replaced by `$n`.
    pub text: String,
    /// The lifted literals, for `$first + 1`, `$first + 2`, ... in order:
    /// `Value::Int4` or `Value::Numeric` for numbers, `Value::Text` for an
    /// untyped string.
    pub values: Vec<Value>,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Word,
    Str,
    Num,
    Op,
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Comma,
    Semi,
    Other,
}

#[derive(Clone, Copy, Debug)]
struct Tok {
    kind: Kind,
    start: usize,
    end: usize,
}

/// Operators a lifted literal may stand next to.
const VALUE_OPS: [&str; 12] = [
    "=", "<>", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "%",
];
/// Words a lifted literal may follow.
const WORDS_BEFORE: [&str; 5] = ["and", "or", "between", "like", "ilike"];
/// Words a lifted literal may precede.
const WORDS_AFTER: [&str; 16] = [
    "and",
    "or",
    "then",
    "else",
    "end",
    "when",
    "where",
    "returning",
    "order",
    "group",
    "limit",
    "offset",
    "having",
    "union",
    "except",
    "intersect",
];
/// Words before `(` that make it a plain parenthesis or a list of values.
const WORDS_BEFORE_VALUE_PAREN: [&str; 8] = [
    "values", "in", "and", "or", "not", "where", "select", "when",
];
/// Words that end an ORDER BY / GROUP BY / PARTITION BY list.
const CLAUSE_ENDS: [&str; 12] = [
    "limit",
    "offset",
    "fetch",
    "for",
    "having",
    "window",
    "union",
    "intersect",
    "except",
    "returning",
    "on",
    "rows",
];

/// Lifts `sql`'s literals into parameters numbered after `first` (the
/// parameters the caller already has). `None` when nothing was lifted or
/// the text is not one lifting applies to.
pub fn lift_literals(sql: &str, first: usize) -> Option<Lifted> {
    let tokens = lex(sql)?;
    let head = tokens.iter().find(|t| t.kind != Kind::Semi)?;
    let verb = &sql[head.start..head.end];
    if !["select", "insert", "update", "delete", "with", "values"]
        .iter()
        .any(|v| verb.eq_ignore_ascii_case(v))
    {
        return None;
    }
    // One statement only (a trailing `;` is fine).
    if let Some(i) = tokens.iter().position(|t| t.kind == Kind::Semi) {
        if tokens[i..].iter().any(|t| t.kind != Kind::Semi) {
            return None;
        }
    }
    // `$n` beyond the given parameters fails at run time ("there is no
    // parameter"); lifted ones must not take its place.
    for t in tokens.iter().filter(|t| t.kind == Kind::Other) {
        let text = &sql[t.start..t.end];
        if let Some(n) = text.strip_prefix('$') {
            if n.parse::<usize>().map_or(true, |n| n > first) {
                return None;
            }
        }
    }
    // Grouping and DISTINCT match expressions by their text: `SELECT a %
    // 2 ... GROUP BY a % 2` must keep both constants or neither.
    if tokens.iter().any(|t| {
        t.kind == Kind::Word && in_list(&sql[t.start..t.end], &["group", "distinct", "having"])
    }) {
        return None;
    }
    // Words are compared without regard to case, without copying them.
    let word = |t: &Tok| (t.kind == Kind::Word).then(|| &sql[t.start..t.end]);
    let is_value_op = |t: &Tok| t.kind == Kind::Op && VALUE_OPS.contains(&&sql[t.start..t.end]);

    // Per open `(`/`[`: whether literals directly inside may be lifted.
    let mut containers: Vec<bool> = Vec::new();
    // Depths at which an ORDER BY / GROUP BY / PARTITION BY list is open.
    let mut ordering: Vec<usize> = Vec::new();
    let mut lifted: Vec<(usize, usize, Value)> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| &tokens[p]);
        let depth = containers.len();
        match t.kind {
            Kind::Open => {
                let value_paren = match prev {
                    None => true,
                    Some(p) => match p.kind {
                        Kind::Open | Kind::Comma => true,
                        Kind::Op => is_value_op(p),
                        Kind::Word => {
                            word(p).is_some_and(|w| in_list(w, &WORDS_BEFORE_VALUE_PAREN))
                        }
                        _ => false,
                    },
                };
                containers.push(value_paren);
            }
            Kind::OpenBracket => containers.push(false),
            Kind::Close | Kind::CloseBracket => {
                containers.pop();
                ordering.retain(|&d| d <= containers.len());
            }
            Kind::Semi => ordering.clear(),
            Kind::Word => {
                let w = word(t).unwrap_or_default();
                if w.eq_ignore_ascii_case("by")
                    && prev
                        .and_then(word)
                        .is_some_and(|p| in_list(p, &["order", "group", "partition"]))
                {
                    ordering.push(depth);
                } else if in_list(w, &CLAUSE_ENDS) {
                    ordering.retain(|&d| d != depth);
                }
            }
            Kind::Str | Kind::Num => {
                if !ordering.is_empty() {
                    continue;
                }
                let Some(p) = prev else { continue };
                let before_ok = match p.kind {
                    Kind::Op => is_value_op(p),
                    Kind::Word => word(p).is_some_and(|w| in_list(w, &WORDS_BEFORE)),
                    Kind::Open | Kind::Comma => containers.last() == Some(&true),
                    _ => false,
                };
                let after_ok = match tokens.get(i + 1) {
                    None => true,
                    Some(n) => match n.kind {
                        Kind::Close | Kind::Comma | Kind::Semi => true,
                        Kind::Op => is_value_op(n),
                        Kind::Word => word(n).is_some_and(|w| in_list(w, &WORDS_AFTER)),
                        _ => false,
                    },
                };
                if !(before_ok && after_ok) {
                    continue;
                }
                let text = &sql[t.start..t.end];
                let value = if t.kind == Kind::Str {
                    let inner = &text[1..text.len() - 1];
                    Value::Text(if inner.contains('\'') {
                        inner.replace("''", "'")
                    } else {
                        inner.to_owned()
                    })
                } else if text.contains('.') {
                    match text.parse::<bigdecimal::BigDecimal>() {
                        Ok(d) => Value::Numeric(crate::value::Numeric::Value(d)),
                        Err(_) => continue,
                    }
                } else {
                    match text.parse::<i32>() {
                        Ok(n) => Value::Int4(n),
                        Err(_) => continue,
                    }
                };
                lifted.push((t.start, t.end, value));
            }
            _ => {}
        }
    }
    if lifted.is_empty() {
        return None;
    }
    let mut text = String::with_capacity(sql.len() + 4 * lifted.len());
    let mut at = 0;
    let mut values = Vec::with_capacity(lifted.len());
    for (k, (start, end, value)) in lifted.into_iter().enumerate() {
        use std::fmt::Write;
        text.push_str(&sql[at..start]);
        write!(text, "${}", first + k + 1).expect("writing to a String cannot fail");
        at = end;
        values.push(value);
    }
    text.push_str(&sql[at..]);
    Some(Lifted { text, values })
}

/// Whether `word` is one of `list` (lower case), in any case.
fn in_list(word: &str, list: &[&str]) -> bool {
    list.iter().any(|k| word.eq_ignore_ascii_case(k))
}

/// PostgreSQL's operator characters.
fn is_op_char(c: u8) -> bool {
    b"+-*/<>=~!@#%^&|`?".contains(&c)
}

fn is_word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// The tokens of `sql` (comments and white space dropped), or `None` for
/// text lifting leaves alone: dollar quotes, unterminated quotes or
/// comments, and string constants continued across lines.
fn lex(sql: &str) -> Option<Vec<Tok>> {
    let b = sql.as_bytes();
    // About one token per four bytes of SQL: one allocation, not a dozen.
    let mut out: Vec<Tok> = Vec::with_capacity(b.len() / 4 + 4);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0usize;
            loop {
                match (b.get(i), b.get(i + 1)) {
                    (Some(b'/'), Some(b'*')) => {
                        depth += 1;
                        i += 2;
                    }
                    (Some(b'*'), Some(b'/')) => {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    }
                    (Some(_), _) => i += 1,
                    (None, _) => return None,
                }
            }
            continue;
        }
        let kind = match c {
            b'\'' => {
                i += 1;
                loop {
                    match b.get(i) {
                        Some(b'\'') if b.get(i + 1) == Some(&b'\'') => i += 2,
                        Some(b'\'') => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                        None => return None,
                    }
                }
                // A prefixed constant (E'..', B'..', X'..', N'..', U&'..')
                // is not a plain string.
                let prefixed = start > 0 && (is_word_char(b[start - 1]) || b[start - 1] == b'&');
                // 'a'<newline>'b' is one constant.
                if let Some(prev) = out.last() {
                    if prev.kind == Kind::Str && sql[prev.end..start].contains('\n') {
                        return None;
                    }
                }
                if prefixed {
                    Kind::Other
                } else {
                    Kind::Str
                }
            }
            b'"' => {
                i += 1;
                loop {
                    match b.get(i) {
                        Some(b'"') if b.get(i + 1) == Some(&b'"') => i += 2,
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                        None => return None,
                    }
                }
                Kind::Word
            }
            b'$' => {
                i += 1;
                if !b.get(i).is_some_and(u8::is_ascii_digit) {
                    // A dollar-quoted string.
                    return None;
                }
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                Kind::Other
            }
            b'0'..=b'9' | b'.' if c != b'.' || b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                if b.get(i) == Some(&b'.') && b.get(i + 1) != Some(&b'.') {
                    i += 1;
                    while b.get(i).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                    }
                }
                // 1e5, 0x1F, 1_000, 5.a: not a plain decimal.
                if b.get(i).is_some_and(|&c| is_word_char(c) || c == b'.') {
                    while b.get(i).is_some_and(|&c| is_word_char(c) || c == b'.') {
                        i += 1;
                    }
                    Kind::Other
                } else {
                    Kind::Num
                }
            }
            b'(' => {
                i += 1;
                Kind::Open
            }
            b')' => {
                i += 1;
                Kind::Close
            }
            b'[' => {
                i += 1;
                Kind::OpenBracket
            }
            b']' => {
                i += 1;
                Kind::CloseBracket
            }
            b',' => {
                i += 1;
                Kind::Comma
            }
            b';' => {
                i += 1;
                Kind::Semi
            }
            b':' => {
                i += 1;
                while b.get(i) == Some(&b':') {
                    i += 1;
                }
                Kind::Other
            }
            c if is_op_char(c) => {
                while i < b.len()
                    && is_op_char(b[i])
                    && !(b[i] == b'-' && b.get(i + 1) == Some(&b'-'))
                    && !(b[i] == b'/' && b.get(i + 1) == Some(&b'*'))
                {
                    i += 1;
                }
                // As PostgreSQL's lexer: a multi-character operator ends in
                // `+` or `-` only if it has one of ~!@#%^&|`? (so `=-5` is
                // `=` then `-5`).
                let op = &b[start..i];
                if op.len() > 1 && !op.iter().any(|c| b"~!@#%^&|`?".contains(c)) {
                    while i - start > 1 && matches!(b[i - 1], b'+' | b'-') {
                        i -= 1;
                    }
                }
                Kind::Op
            }
            c if is_word_char(c) => {
                while b.get(i).is_some_and(|&c| is_word_char(c)) {
                    i += 1;
                }
                Kind::Word
            }
            _ => {
                i += 1;
                Kind::Other
            }
        };
        out.push(Tok {
            kind,
            start,
            end: i,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lifted(sql: &str) -> Option<(String, Vec<Value>)> {
        lift_literals(sql, 0).map(|l| (l.text, l.values))
    }

    fn text(sql: &str) -> String {
        lifted(sql).map_or_else(|| sql.to_string(), |l| l.0)
    }

    #[test]
    fn lifts_operands_of_comparisons_and_values_rows() {
        assert_eq!(
            lifted("UPDATE t1 SET b=b*2 WHERE a>=10 AND a<20"),
            Some((
                "UPDATE t1 SET b=b*$1 WHERE a>=$2 AND a<$3".into(),
                vec![Value::Int4(2), Value::Int4(10), Value::Int4(20)]
            ))
        );
        assert_eq!(
            lifted("INSERT INTO t VALUES(1,2,'it''s'), (3, 4.50, 'x');"),
            Some((
                "INSERT INTO t VALUES($1,$2,$3), ($4, $5, $6);".into(),
                vec![
                    Value::Int4(1),
                    Value::Int4(2),
                    Value::Text("it's".into()),
                    Value::Int4(3),
                    Value::Numeric(crate::value::Numeric::Value(
                        "4.50".parse().expect("decimal")
                    )),
                    Value::Text("x".into()),
                ]
            ))
        );
        assert_eq!(
            text(
                "SELECT count(*) FROM t WHERE c LIKE '%one%' AND a IN (1, 2) AND b BETWEEN 3 AND 4"
            ),
            "SELECT count(*) FROM t WHERE c LIKE $1 AND a IN ($2, $3) AND b BETWEEN $4 AND $5"
        );
        assert_eq!(
            text("DELETE FROM t WHERE a = -5"),
            "DELETE FROM t WHERE a = -$1"
        );
        // The ordering list ends at LIMIT.
        assert_eq!(
            text("SELECT a FROM t ORDER BY 1 LIMIT 5) AS s WHERE a = 1"),
            "SELECT a FROM t ORDER BY 1 LIMIT 5) AS s WHERE a = $1"
        );
    }

    #[test]
    fn keeps_literals_whose_meaning_depends_on_their_place() {
        for sql in [
            "SELECT a FROM t ORDER BY 1",
            "SELECT a, count(*) FROM t GROUP BY 1, a ORDER BY 2 DESC, 1",
            "SELECT a % 2, count(*) FROM t WHERE b > 1 GROUP BY a % 2",
            "SELECT DISTINCT ON (a % 2) a FROM t ORDER BY a % 2",
            "SELECT substr(c, 1, 3) FROM t",
            "SELECT c::varchar(10) FROM t",
            "SELECT * FROM t WHERE d = DATE '2020-01-01'",
            "SELECT * FROM t WHERE d = '2020-01-01'::date",
            "SELECT * FROM t WHERE c = E'a\\nb'",
            "SELECT * FROM t WHERE c LIKE 'a!%' ESCAPE '!'",
            "SELECT * FROM t WHERE c = 'a' COLLATE \"C\"",
            "SELECT * FROM t LIMIT 10 OFFSET 5",
            "SELECT * FROM t WHERE a = 2147483648",
            "SELECT * FROM t WHERE a = 1e5",
            "SELECT arr[1] FROM t",
            "SELECT current_setting('search_path')",
            "SELECT 1",
            "SELECT * FROM t WHERE a = $2",
            "SELECT $$x$$ = 'y' FROM t",
            "SELECT * FROM t WHERE c = 'a'\n'b'",
            "CREATE TABLE t(a int DEFAULT 1)",
            "SELECT 1 = 1; SELECT 2 = 2",
            "SELECT row_number() OVER (PARTITION BY a = 1) FROM t",
        ] {
            assert_eq!(text(sql), sql, "{sql}");
        }
    }

    #[test]
    fn comments_and_quoted_names_are_not_literals() {
        assert_eq!(
            text("SELECT \"a'b\" FROM t -- a = 'x'\nWHERE a = 1 /* = 'y' */"),
            "SELECT \"a'b\" FROM t -- a = 'x'\nWHERE a = $1 /* = 'y' */"
        );
    }

    #[test]
    fn numbers_follow_the_callers_parameters() {
        let l = lift_literals("SELECT * FROM t WHERE a = $1 AND b = 7", 1).expect("lifted");
        assert_eq!(l.text, "SELECT * FROM t WHERE a = $1 AND b = $2");
        assert_eq!(l.values, vec![Value::Int4(7)]);
    }
}
