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
    /// For an unquoted word, its keyword bit (`KW_*`), else 0.
    kw: u64,
    start: usize,
    end: usize,
}

/// The keywords lifting looks at, one bit each, so that a token's word is
/// compared once (when lexed) and each rule below is a mask test.
const KEYWORDS: [&str; 31] = [
    "and",
    "or",
    "between",
    "like",
    "ilike",
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
    "values",
    "in",
    "not",
    "select",
    "fetch",
    "for",
    "window",
    "on",
    "rows",
    "by",
    "partition",
    "distinct",
];

/// The mask of `words` (each one of [`KEYWORDS`]).
const fn mask(words: &[&str]) -> u64 {
    let mut m = 0;
    let mut i = 0;
    while i < words.len() {
        let mut k = 0;
        while k < KEYWORDS.len() {
            if const_str_eq(words[i], KEYWORDS[k]) {
                m |= 1 << k;
            }
            k += 1;
        }
        i += 1;
    }
    m
}

const fn const_str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A word of at most 15 bytes packed into one integer (lower-cased, its
/// length in the top byte), so keyword look-up compares integers.
const fn pack(word: &[u8]) -> u128 {
    let mut v = (word.len() as u128) << 120;
    let mut i = 0;
    while i < word.len() {
        v |= (word[i].to_ascii_lowercase() as u128) << (8 * i);
        i += 1;
    }
    v
}

const PACKED_KEYWORDS: [u128; KEYWORDS.len()] = {
    let mut t = [0u128; KEYWORDS.len()];
    let mut i = 0;
    while i < KEYWORDS.len() {
        t[i] = pack(KEYWORDS[i].as_bytes());
        i += 1;
    }
    t
};

/// The keyword bit of an unquoted word, or 0.
fn keyword_bit(word: &[u8]) -> u64 {
    if word.len() > 9 {
        return 0;
    }
    let packed = pack(word);
    PACKED_KEYWORDS
        .iter()
        .position(|&k| k == packed)
        .map_or(0, |i| 1 << i)
}

/// Operators a lifted literal may stand next to.
const VALUE_OPS: [&str; 12] = [
    "=", "<>", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "%",
];
/// Words a lifted literal may follow.
const WORDS_BEFORE: u64 = mask(&["and", "or", "between", "like", "ilike"]);
/// Words a lifted literal may precede.
const WORDS_AFTER: u64 = mask(&[
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
]);
/// Words before `(` that make it a plain parenthesis or a list of values.
const WORDS_BEFORE_VALUE_PAREN: u64 = mask(&[
    "values", "in", "and", "or", "not", "where", "select", "when",
]);
/// Words that end an ORDER BY / GROUP BY / PARTITION BY list.
const CLAUSE_ENDS: u64 = mask(&[
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
]);
/// Words before `BY` that open an ordering list.
const ORDERINGS: u64 = mask(&["order", "group", "partition"]);
const BY: u64 = mask(&["by"]);
/// Grouping and DISTINCT match expressions by their text.
const MATCHED_BY_TEXT: u64 = mask(&["group", "distinct", "having"]);

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
    let is_value_op = |t: &Tok| t.kind == Kind::Op && VALUE_OPS.contains(&&sql[t.start..t.end]);

    // Per open `(`/`[`: whether literals directly inside may be lifted.
    let mut containers: Vec<bool> = Vec::new();
    // Depths at which an ORDER BY / GROUP BY / PARTITION BY list is open.
    let mut ordering: Vec<usize> = Vec::new();
    let mut lifted: Vec<(usize, usize, Value)> = Vec::with_capacity(8);
    let mut semi = false;
    for (i, t) in tokens.iter().enumerate() {
        // One statement only (a trailing `;` is fine).
        if semi && t.kind != Kind::Semi {
            return None;
        }
        let prev = i.checked_sub(1).map(|p| &tokens[p]);
        let depth = containers.len();
        match t.kind {
            Kind::Open => {
                let value_paren = match prev {
                    None => true,
                    Some(p) => match p.kind {
                        Kind::Open | Kind::Comma => true,
                        Kind::Op => is_value_op(p),
                        Kind::Word => p.kw & WORDS_BEFORE_VALUE_PAREN != 0,
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
            Kind::Semi => {
                semi = true;
                ordering.clear();
            }
            Kind::Word => {
                if t.kw & MATCHED_BY_TEXT != 0 {
                    // `SELECT a % 2 ... GROUP BY a % 2` must keep both
                    // constants or neither.
                    return None;
                }
                if t.kw == BY && prev.is_some_and(|p| p.kw & ORDERINGS != 0) {
                    ordering.push(depth);
                } else if t.kw & CLAUSE_ENDS != 0 {
                    ordering.retain(|&d| d != depth);
                }
            }
            Kind::Other => {
                // `$n` beyond the given parameters fails at run time ("there
                // is no parameter"); lifted ones must not take its place.
                if let Some(n) = sql[t.start..t.end].strip_prefix('$') {
                    if n.parse::<usize>().map_or(true, |n| n > first) {
                        return None;
                    }
                }
            }
            Kind::Str | Kind::Num => {
                if !ordering.is_empty() {
                    continue;
                }
                let Some(p) = prev else { continue };
                let before_ok = match p.kind {
                    Kind::Op => is_value_op(p),
                    Kind::Word => p.kw & WORDS_BEFORE != 0,
                    Kind::Open | Kind::Comma => containers.last() == Some(&true),
                    _ => false,
                };
                let after_ok = match tokens.get(i + 1) {
                    None => true,
                    Some(n) => match n.kind {
                        Kind::Close | Kind::Comma | Kind::Semi => true,
                        Kind::Op => is_value_op(n),
                        Kind::Word => n.kw & WORDS_AFTER != 0,
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
        text.push_str(&sql[at..start]);
        push_param(&mut text, first + k + 1);
        at = end;
        values.push(value);
    }
    text.push_str(&sql[at..]);
    Some(Lifted { text, values })
}

/// Appends `$n` (formatting machinery was a tenth of lifting's time).
fn push_param(text: &mut String, n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    text.push('$');
    text.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
}

/// Byte classes for the lexer: one table look-up per byte.
const OP_CHAR: u8 = 1;
const WORD_CHAR: u8 = 2;
const CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    // PostgreSQL's operator characters.
    let ops = b"+-*/<>=~!@#%^&|`?";
    let mut i = 0;
    while i < ops.len() {
        t[ops[i] as usize] = OP_CHAR;
        i += 1;
    }
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 {
            t[c] = WORD_CHAR;
        }
        c += 1;
    }
    t
};

fn is_op_char(c: u8) -> bool {
    CLASSES[c as usize] == OP_CHAR
}

fn is_word_char(c: u8) -> bool {
    CLASSES[c as usize] == WORD_CHAR
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
        let kw = if kind == Kind::Word && c != b'"' {
            keyword_bit(&b[start..i])
        } else {
            0
        };
        out.push(Tok {
            kind,
            kw,
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
