//! PostgreSQL statements sqlparser does not parse, read from its tokens:
//! `SET CONSTRAINTS`, `PREPARE TRANSACTION`, `COMMIT PREPARED`,
//! `ROLLBACK PREPARED`; and the `[NOT] DEFERRABLE` transaction mode of
//! BEGIN / START TRANSACTION / SET TRANSACTION, which sqlparser refuses;
//! the `FOR NO KEY UPDATE` and `FOR KEY SHARE` locking clauses.

use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use super::{object_name, syntax, TResult};
use crate::error::SqlError;
use crate::sql::parse::ast::{AlterOp, Statement};

/// Whether the ALTER VIEW statement ahead renames (within its first
/// tokens: ALTER VIEW [IF EXISTS] name[.name] RENAME).
fn rename_follows(p: &Parser) -> bool {
    (2..8).any(|n| word_at(p, n).as_deref() == Some("RENAME"))
}

/// The upper-cased word at `n` tokens ahead (`None` if not a word).
fn word_at(p: &Parser, n: usize) -> Option<String> {
    match p.peek_nth_token(n).token {
        Token::Word(w) => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

/// A single-quoted string literal (a gid).
fn string_literal(p: &mut Parser, what: &str) -> TResult<String> {
    match p.next_token().token {
        Token::SingleQuotedString(s) => Ok(s),
        other => Err(syntax(format!("syntax error at or near \"{other}\""))
            .with_detail(format!("expected {what}"))),
    }
}

/// A cursor's name: an identifier, folded to lower case unless quoted.
fn cursor_name(p: &mut Parser) -> TResult<String> {
    let t = p.next_token();
    match t.token {
        Token::Word(w) if w.quote_style.is_some() => Ok(w.value),
        Token::Word(w) => Ok(w.value.to_lowercase()),
        other => Err(syntax(format!("syntax error at or near \"{other}\""))),
    }
}

/// `DECLARE name [BINARY] [ASENSITIVE | INSENSITIVE] [[NO] SCROLL] CURSOR
/// [{WITH | WITHOUT} HOLD] FOR query` (sqlparser's DECLARE is the
/// procedural one of other dialects).
fn declare_cursor(p: &mut Parser) -> TResult<Statement> {
    p.next_token();
    let name = cursor_name(p)?;
    let mut binary = false;
    let mut scroll = None;
    loop {
        match word_at(p, 0).as_deref() {
            Some("BINARY") => binary = true,
            Some("ASENSITIVE") | Some("INSENSITIVE") => {}
            Some("SCROLL") => scroll = Some(true),
            Some("NO") if word_at(p, 1).as_deref() == Some("SCROLL") => {
                p.next_token();
                scroll = Some(false);
            }
            _ => break,
        }
        p.next_token();
    }
    if word_at(p, 0).as_deref() != Some("CURSOR") {
        let found = p.peek_token().token;
        return Err(syntax(format!("syntax error at or near \"{found}\"")));
    }
    p.next_token();
    let mut hold = false;
    match (word_at(p, 0).as_deref(), word_at(p, 1).as_deref()) {
        (Some("WITH"), Some("HOLD")) => {
            hold = true;
            p.next_token();
            p.next_token();
        }
        (Some("WITHOUT"), Some("HOLD")) => {
            p.next_token();
            p.next_token();
        }
        _ => {}
    }
    if !p.parse_keyword(Keyword::FOR) {
        let found = p.peek_token().token;
        return Err(syntax(format!("syntax error at or near \"{found}\"")));
    }
    let q = p.parse_query().map_err(|e| syntax(e.to_string()))?;
    Ok(Statement::DeclareCursor {
        name,
        query: Box::new(super::query(*q)?),
        binary,
        scroll,
        hold,
    })
}

/// A FETCH/MOVE count: an integer, possibly signed.
fn fetch_count(p: &mut Parser) -> Option<i64> {
    let (sign, at) = match p.peek_token().token {
        Token::Minus => (-1, 1),
        Token::Plus => (1, 1),
        _ => (1, 0),
    };
    match p.peek_nth_token(at).token {
        Token::Number(n, _) => {
            let v = n.parse::<i64>().ok()?;
            for _ in 0..=at {
                p.next_token();
            }
            Some(sign * v)
        }
        _ => None,
    }
}

/// `FETCH [direction] [FROM | IN] name` and MOVE, as PostgreSQL's grammar
/// reads them.
fn fetch(p: &mut Parser, is_move: bool) -> TResult<Statement> {
    use crate::sql::parse::ast::FetchDirection as D;
    p.next_token();
    // A direction word followed by the end of the statement is the
    // cursor's name (`FETCH next` reads cursor "next").
    let ends_after =
        |p: &Parser, n: usize| matches!(p.peek_nth_token(n).token, Token::EOF | Token::SemiColon);
    let word = word_at(p, 0);
    let direction = match word.as_deref() {
        Some(_) if ends_after(p, 1) => D::Forward(1),
        Some("NEXT") => {
            p.next_token();
            D::Forward(1)
        }
        Some("PRIOR") => {
            p.next_token();
            D::Backward(1)
        }
        Some("FIRST") => {
            p.next_token();
            D::Absolute(1)
        }
        Some("LAST") => {
            p.next_token();
            D::Last
        }
        Some("ALL") => {
            p.next_token();
            D::ForwardAll
        }
        Some(w @ ("ABSOLUTE" | "RELATIVE")) => {
            let absolute = w == "ABSOLUTE";
            p.next_token();
            let n = fetch_count(p).ok_or_else(|| {
                let found = p.peek_token().token;
                syntax(format!("syntax error at or near \"{found}\""))
            })?;
            if absolute {
                D::Absolute(n)
            } else {
                D::Relative(n)
            }
        }
        Some(w @ ("FORWARD" | "BACKWARD")) => {
            let forward = w == "FORWARD";
            p.next_token();
            if p.parse_keyword(Keyword::ALL) {
                if forward {
                    D::ForwardAll
                } else {
                    D::BackwardAll
                }
            } else {
                let n = fetch_count(p).unwrap_or(1);
                if forward {
                    D::Forward(n)
                } else {
                    D::Backward(n)
                }
            }
        }
        _ => fetch_count(p).map_or(D::Forward(1), D::Forward),
    };
    if !p.parse_keyword(Keyword::FROM) {
        let _ = p.parse_keyword(Keyword::IN);
    }
    let name = cursor_name(p)?;
    Ok(Statement::Fetch {
        name,
        direction,
        is_move,
    })
}

/// One of the statements this module knows, if the parser is at one.
pub(super) fn statement(p: &mut Parser) -> TResult<Option<Statement>> {
    let first = word_at(p, 0);
    let second = word_at(p, 1);
    match (first.as_deref(), second.as_deref()) {
        (Some("DECLARE"), Some(_)) => declare_cursor(p).map(Some),
        (Some("FETCH"), _) => fetch(p, false).map(Some),
        (Some("MOVE"), _) => fetch(p, true).map(Some),
        (Some("CLOSE"), _) => {
            p.next_token();
            if p.parse_keyword(Keyword::ALL) {
                return Ok(Some(Statement::ClosePortal(None)));
            }
            Ok(Some(Statement::ClosePortal(Some(cursor_name(p)?))))
        }
        (Some("SET"), Some("CONSTRAINTS")) => {
            p.next_token();
            p.next_token();
            let names = if p.parse_keyword(Keyword::ALL) {
                None
            } else {
                let mut names = Vec::new();
                loop {
                    let name = p
                        .parse_object_name(false)
                        .map_err(|e| syntax(e.to_string()))?;
                    names.push(object_name(&name)?);
                    if !p.consume_token(&Token::Comma) {
                        break;
                    }
                }
                Some(names)
            };
            let deferred = if p.parse_keyword(Keyword::DEFERRED) {
                true
            } else if p.parse_keyword(Keyword::IMMEDIATE) {
                false
            } else {
                let found = p.peek_token().token;
                return Err(syntax(format!("syntax error at or near \"{found}\"")));
            };
            Ok(Some(Statement::SetConstraints { names, deferred }))
        }
        // ALTER VIEW [IF EXISTS] name RENAME [COLUMN a] TO b (sqlparser
        // knows only ALTER VIEW ... AS).
        (Some("ALTER"), Some("VIEW")) if rename_follows(p) => {
            p.next_token();
            p.next_token();
            let if_exists = p.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
            let name = p
                .parse_object_name(false)
                .map_err(|e| syntax(e.to_string()))?;
            let name = object_name(&name)?;
            if !p.parse_keyword(Keyword::RENAME) {
                return Err(syntax("syntax error at or near ALTER VIEW"));
            }
            let ident = |p: &mut Parser| -> TResult<String> {
                let i = p.parse_identifier().map_err(|e| syntax(e.to_string()))?;
                Ok(super::ident(&i))
            };
            let op = if p.parse_keyword(Keyword::TO) {
                AlterOp::RenameTable(ident(p)?)
            } else {
                let _ = p.parse_keyword(Keyword::COLUMN);
                let old = ident(p)?;
                if !p.parse_keyword(Keyword::TO) {
                    let found = p.peek_token().token;
                    return Err(syntax(format!("syntax error at or near \"{found}\"")));
                }
                AlterOp::RenameColumn {
                    old,
                    new: ident(p)?,
                }
            };
            Ok(Some(Statement::AlterView {
                name,
                if_exists,
                ops: vec![op],
            }))
        }
        (Some("PREPARE"), Some("TRANSACTION")) => {
            p.next_token();
            p.next_token();
            Ok(Some(Statement::PrepareTransaction(string_literal(
                p,
                "a transaction identifier",
            )?)))
        }
        (Some("COMMIT"), Some("PREPARED")) => {
            p.next_token();
            p.next_token();
            Ok(Some(Statement::CommitPrepared(string_literal(
                p,
                "a transaction identifier",
            )?)))
        }
        (Some("ROLLBACK"), Some("PREPARED")) => {
            p.next_token();
            p.next_token();
            Ok(Some(Statement::RollbackPrepared(string_literal(
                p,
                "a transaction identifier",
            )?)))
        }
        // pg_dump's `ALTER ... OWNER TO role` for any object kind.
        (Some("ALTER"), Some(kind)) if owner_to_follows(p) => {
            let kind = kind.to_string();
            p.next_token();
            p.next_token();
            let _ = p.parse_keyword(Keyword::ONLY);
            let name = p
                .parse_object_name(false)
                .map_err(|e| syntax(e.to_string()))?;
            let name = object_name(&name)?;
            if !(p.parse_keyword(Keyword::OWNER) && p.parse_keyword(Keyword::TO)) {
                let found = p.peek_token().token;
                return Err(syntax(format!("syntax error at or near \"{found}\"")));
            }
            // The role: a name, CURRENT_USER, SESSION_USER or CURRENT_ROLE.
            p.next_token();
            match kind.as_str() {
                "TABLE" | "SEQUENCE" | "VIEW" | "INDEX" | "SCHEMA" | "TYPE" => {
                    Ok(Some(Statement::AlterOwner { kind, name }))
                }
                _ => Err(super::unsupported(format!("ALTER {kind} ... OWNER TO"))),
            }
        }
        (Some("ALTER"), Some("SEQUENCE")) => {
            p.next_token();
            p.next_token();
            let name = p
                .parse_object_name(false)
                .map_err(|e| syntax(e.to_string()))?;
            let name = object_name(&name)?;
            if !(p.parse_keyword(Keyword::OWNED) && p.parse_keyword(Keyword::BY)) {
                // RESTART, INCREMENT, ...: the sequence options are not
                // alterable yet.
                return Err(super::unsupported(
                    "ALTER SEQUENCE other than OWNED BY and OWNER TO",
                ));
            }
            let owner = if p.parse_keyword(Keyword::NONE) {
                None
            } else {
                let column = p
                    .parse_object_name(false)
                    .map_err(|e| syntax(e.to_string()))?;
                let mut column = object_name(&column)?;
                let Some(col) = column.pop().filter(|_| !column.is_empty()) else {
                    return Err(syntax("invalid OWNED BY option")
                        .with_hint("Specify OWNED BY table.column or OWNED BY NONE."));
                };
                Some((column, col))
            };
            Ok(Some(Statement::AlterSequenceOwnedBy { name, owner }))
        }
        // CREATE EXTENSION [IF NOT EXISTS] name [WITH] [SCHEMA s]
        // [VERSION v] [CASCADE], as pg_dump writes it for pgvector.
        (Some("CREATE"), Some("EXTENSION")) => {
            p.next_token();
            p.next_token();
            let _ = p.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
            let name = p.parse_identifier().map_err(|e| syntax(e.to_string()))?;
            let name = super::ident(&name);
            let _ = p.parse_keyword(Keyword::WITH);
            loop {
                if p.parse_keyword(Keyword::SCHEMA) || p.parse_keyword(Keyword::VERSION) {
                    p.next_token();
                } else if !p.parse_keyword(Keyword::CASCADE) {
                    break;
                }
            }
            Ok(Some(Statement::Extension {
                name,
                tag: "CREATE EXTENSION".into(),
            }))
        }
        (Some("COMMENT"), Some("ON")) if word_at(p, 2).as_deref() == Some("EXTENSION") => {
            p.next_token();
            p.next_token();
            p.next_token();
            let name = p.parse_identifier().map_err(|e| syntax(e.to_string()))?;
            let name = super::ident(&name);
            if !p.parse_keyword(Keyword::IS) {
                let found = p.peek_token().token;
                return Err(syntax(format!("syntax error at or near \"{found}\"")));
            }
            p.next_token();
            Ok(Some(Statement::Extension {
                name,
                tag: "COMMENT".into(),
            }))
        }
        // CREATE SEQUENCE with its options in any order, as pg_dump writes
        // them (START before INCREMENT, which sqlparser refuses).
        (Some("CREATE"), Some("SEQUENCE")) => {
            p.next_token();
            p.next_token();
            create_sequence(p).map(Some)
        }
        _ => Ok(None),
    }
}

/// Whether `OWNER TO` comes within the first tokens of the ALTER
/// statement ahead (ALTER kind [ONLY] [schema.]name OWNER TO).
fn owner_to_follows(p: &Parser) -> bool {
    (2..8).any(|n| {
        word_at(p, n).as_deref() == Some("OWNER") && word_at(p, n + 1).as_deref() == Some("TO")
    })
}

/// A signed integer constant of a sequence option.
fn signed_int(p: &mut Parser) -> TResult<i64> {
    let negative = p.consume_token(&Token::Minus);
    if !negative {
        let _ = p.consume_token(&Token::Plus);
    }
    match p.next_token().token {
        Token::Number(n, _) => {
            let v: i64 = n
                .parse()
                .map_err(|_| syntax(format!("value \"{n}\" is out of range for type bigint")))?;
            Ok(if negative { -v } else { v })
        }
        other => Err(syntax(format!("syntax error at or near \"{other}\""))),
    }
}

/// `CREATE SEQUENCE [IF NOT EXISTS] name [options]` after its first two
/// words. `AS type` and `CACHE n` are accepted and ignored (values are
/// bigint, nothing is cached); explicit bounds and CYCLE are refused.
fn create_sequence(p: &mut Parser) -> TResult<Statement> {
    let if_not_exists = p.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
    let name = p
        .parse_object_name(false)
        .map_err(|e| syntax(e.to_string()))?;
    let name = object_name(&name)?;
    let (mut start, mut increment) = (None, None);
    loop {
        if p.parse_keyword(Keyword::AS) {
            let ty = p.parse_data_type().map_err(|e| syntax(e.to_string()))?;
            let ty = ty.to_string().to_ascii_lowercase();
            if !matches!(
                ty.as_str(),
                "smallint" | "integer" | "int" | "int2" | "int4" | "int8" | "bigint"
            ) {
                return Err(SqlError::new(
                    crate::error::SqlState::INVALID_PARAMETER_VALUE,
                    "sequence type must be smallint, integer, or bigint",
                ));
            }
        } else if p.parse_keyword(Keyword::START) {
            let _ = p.parse_keyword(Keyword::WITH);
            start = Some(signed_int(p)?);
        } else if p.parse_keyword(Keyword::INCREMENT) {
            let _ = p.parse_keyword(Keyword::BY);
            increment = Some(signed_int(p)?);
        } else if p.parse_keyword(Keyword::CACHE) {
            signed_int(p)?;
        } else if p.parse_keyword(Keyword::NO) {
            if !(p.parse_keyword(Keyword::MINVALUE)
                || p.parse_keyword(Keyword::MAXVALUE)
                || p.parse_keyword(Keyword::CYCLE))
            {
                let found = p.peek_token().token;
                return Err(syntax(format!("syntax error at or near \"{found}\"")));
            }
        } else if p.parse_keyword(Keyword::MINVALUE) {
            return Err(super::unsupported("sequence option MINVALUE"));
        } else if p.parse_keyword(Keyword::MAXVALUE) {
            return Err(super::unsupported("sequence option MAXVALUE"));
        } else if p.parse_keyword(Keyword::CYCLE) {
            return Err(super::unsupported("sequence option CYCLE"));
        } else if p.parse_keywords(&[Keyword::OWNED, Keyword::BY]) {
            return Err(super::unsupported(
                "CREATE SEQUENCE ... OWNED BY (use ALTER SEQUENCE ... OWNED BY)",
            ));
        } else {
            break;
        }
    }
    Ok(Statement::CreateSequence {
        name,
        if_not_exists,
        start,
        increment,
    })
}

/// Takes `[NOT] DEFERRABLE` out of the transaction modes of BEGIN, START
/// TRANSACTION and SET [SESSION CHARACTERISTICS AS] TRANSACTION, which
/// sqlparser refuses. Returns the remaining tokens and, per non-empty
/// statement in order, the mode it gave (if any).
pub(super) fn strip_deferrable(
    tokens: Vec<TokenWithSpan>,
) -> (Vec<TokenWithSpan>, Vec<Option<bool>>) {
    let is_kw = |t: &Token, kw: Keyword| matches!(t, Token::Word(w) if w.keyword == kw);
    let word = |t: &TokenWithSpan| match &t.token {
        Token::Word(w) => Some(w.value.to_ascii_uppercase()),
        _ => None,
    };
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    let mut modes: Vec<Option<bool>> = Vec::new();
    // Words of the current statement so far (its first three), and whether
    // it sets transaction modes.
    let mut head: Vec<String> = Vec::new();
    let mut in_statement = false;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        match &t.token {
            Token::SemiColon => {
                in_statement = false;
                head.clear();
            }
            Token::Whitespace(_) => {}
            _ => {
                if !in_statement {
                    in_statement = true;
                    modes.push(None);
                }
                if head.len() < 3 {
                    head.push(word(t).unwrap_or_default());
                }
            }
        }
        let sets_modes = match head.first().map(String::as_str) {
            Some("BEGIN") | Some("START") => true,
            Some("SET") => matches!(
                (
                    head.get(1).map(String::as_str),
                    head.get(2).map(String::as_str)
                ),
                (Some("TRANSACTION"), _) | (Some("SESSION"), Some("CHARACTERISTICS"))
            ),
            _ => false,
        };
        if sets_modes && is_kw(&t.token, Keyword::DEFERRABLE) {
            if let Some(m) = modes.last_mut() {
                *m = Some(true);
            }
            drop_separator(&mut out);
            i += 1;
            continue;
        }
        if sets_modes && is_kw(&t.token, Keyword::NOT) {
            let mut j = i + 1;
            while tokens
                .get(j)
                .is_some_and(|x| matches!(x.token, Token::Whitespace(_)))
            {
                j += 1;
            }
            if tokens
                .get(j)
                .is_some_and(|x| is_kw(&x.token, Keyword::DEFERRABLE))
            {
                if let Some(m) = modes.last_mut() {
                    *m = Some(false);
                }
                drop_separator(&mut out);
                i = j + 1;
                continue;
            }
        }
        out.push(t.clone());
        i += 1;
    }
    (out, modes)
}

/// Drops a trailing comma (and the whitespace after it) that separated a
/// removed transaction mode from the one before.
fn drop_separator(out: &mut Vec<TokenWithSpan>) {
    let mut k = out.len();
    while k > 0 && matches!(out[k - 1].token, Token::Whitespace(_)) {
        k -= 1;
    }
    if k > 0 && out[k - 1].token == Token::Comma {
        out.truncate(k - 1);
    }
}

/// Rewrites `FOR NO KEY UPDATE` and `FOR KEY SHARE`, which sqlparser
/// lacks, to `FOR UPDATE` and `FOR SHARE`. Returns the remaining tokens
/// and, per locking clause in order, whether it was the weaker form.
pub(super) fn strip_key_lock_strengths(
    tokens: Vec<TokenWithSpan>,
) -> (Vec<TokenWithSpan>, Vec<bool>) {
    let word = |t: Option<&TokenWithSpan>| match t.map(|t| &t.token) {
        Some(Token::Word(w)) => Some(w.value.to_ascii_uppercase()),
        _ => None,
    };
    // The next non-whitespace token at or after `j`.
    let next = |j: usize| {
        let mut j = j;
        while tokens
            .get(j)
            .is_some_and(|x| matches!(x.token, Token::Whitespace(_)))
        {
            j += 1;
        }
        j
    };
    let mut out = Vec::with_capacity(tokens.len());
    let mut weak = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        out.push(tokens[i].clone());
        if word(tokens.get(i)).as_deref() != Some("FOR") {
            i += 1;
            continue;
        }
        let a = next(i + 1);
        let b = next(a + 1);
        let c = next(b + 1);
        let (wa, wb, wc) = (
            word(tokens.get(a)),
            word(tokens.get(b)),
            word(tokens.get(c)),
        );
        match (wa.as_deref(), wb.as_deref(), wc.as_deref()) {
            (Some("NO"), Some("KEY"), Some("UPDATE")) => {
                weak.push(true);
                out.push(TokenWithSpan::wrap(Token::Whitespace(
                    sqlparser::tokenizer::Whitespace::Space,
                )));
                i = c;
            }
            (Some("KEY"), Some("SHARE"), _) => {
                weak.push(true);
                out.push(TokenWithSpan::wrap(Token::Whitespace(
                    sqlparser::tokenizer::Whitespace::Space,
                )));
                i = b;
            }
            (Some("UPDATE"), ..) | (Some("SHARE"), ..) => {
                weak.push(false);
                i += 1;
            }
            _ => i += 1,
        }
    }
    (out, weak)
}
