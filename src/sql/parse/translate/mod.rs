//! sqlparser (PostgreSQL dialect) → our AST. The only module that sees
//! sqlparser types (DESIGN.md, invariant 3; checked by tests/it/layers.rs).
//! Unsupported syntax becomes 0A000 (feature_not_supported) or 42601,
//! never a panic.

use sqlparser::ast as sp;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};

use crate::catalog::RefAction;
use crate::error::{SqlError, SqlState};
use crate::sql::parse::ast::*;
use crate::txn::{IsolationLevel, LockMode};
use crate::value::types::{DataType, EnumType, RegKind};
use crate::value::Value;

mod ddl;
use ddl::*;
mod scalar;
pub use scalar::{data_type, expr, parse_type_name};

type TResult<T> = Result<T, SqlError>;

fn unsupported(what: impl std::fmt::Display) -> SqlError {
    SqlError::new(
        SqlState::FEATURE_NOT_SUPPORTED,
        format!("{what} is not supported"),
    )
}

fn syntax(msg: impl Into<String>) -> SqlError {
    SqlError::new(SqlState::SYNTAX_ERROR, msg)
}

/// Character offset (1-based) of a line/column position in `sql`.
fn char_offset(sql: &str, line: u64, column: u64) -> Option<u32> {
    if line == 0 {
        return None;
    }
    let mut offset = 0u64;
    for (i, l) in sql.split('\n').enumerate() {
        if i as u64 + 1 == line {
            return u32::try_from(offset + column).ok();
        }
        offset += l.chars().count() as u64 + 1;
    }
    None
}

/// Parses one expression (stored defaults and CHECK constraints).
pub fn parse_expr(sql: &str) -> TResult<Expr> {
    let mut parser = parser_for(sql).map_err(|e| parse_error(sql, e))?;
    let e = parser.parse_expr().map_err(|e| parse_error(sql, e))?;
    expr(e)
}

/// Parses one or more `;`-separated statements: sqlparser's, and the
/// PostgreSQL statements it lacks (`extra.rs`).
pub fn parse(sql: &str) -> TResult<Vec<Statement>> {
    let fixed = normalize_copy_booleans(sql).or_else(|| strip_vacuum_options(sql));
    let sql = fixed.as_deref().unwrap_or(sql);
    let tokens = tokens_for(sql).map_err(|e| parse_error(sql, e))?;
    let (tokens, deferrable) = extra::strip_deferrable(tokens);
    let (tokens, weak_locks) = extra::strip_key_lock_strengths(tokens);
    WEAK_LOCKS.with(|w| *w.borrow_mut() = weak_locks.into());
    let result = parse_tokens(sql, tokens, &deferrable);
    WEAK_LOCKS.with(|w| w.borrow_mut().clear());
    result
}

thread_local! {
    /// Per locking clause of the statements being translated, in source
    /// order: whether it is `FOR NO KEY UPDATE` / `FOR KEY SHARE` (see
    /// `extra::strip_key_lock_strengths`).
    static WEAK_LOCKS: std::cell::RefCell<std::collections::VecDeque<bool>> =
        const { std::cell::RefCell::new(std::collections::VecDeque::new()) };
}

fn parse_tokens(
    sql: &str,
    tokens: Vec<sqlparser::tokenizer::TokenWithSpan>,
    deferrable: &[Option<bool>],
) -> TResult<Vec<Statement>> {
    use sqlparser::tokenizer::Token;
    let mut p = Parser::new(&DIALECT).with_tokens_with_locations(tokens);
    let mut out = Vec::new();
    loop {
        while p.consume_token(&Token::SemiColon) {}
        if p.peek_token().token == Token::EOF {
            break;
        }
        let stmt = match extra::statement(&mut p)? {
            Some(s) => s,
            None => {
                let head = statement_head(&p);
                statement(p.parse_statement().map_err(|e| parse_error(sql, e))?, &head)?
            }
        };
        out.push(with_deferrable(
            stmt,
            deferrable.get(out.len()).copied().flatten(),
        ));
        let next = p.peek_token();
        if next.token != Token::EOF && next.token != Token::SemiColon {
            let at = next.span.start;
            return Err(parse_error(
                sql,
                ParserError::ParserError(format!(
                    "Expected: end of statement, found: {} at Line: {}, Column: {}",
                    next.token, at.line, at.column
                )),
            ));
        }
    }
    Ok(out)
}

/// `stmt` with the `[NOT] DEFERRABLE` transaction mode `extra` took out
/// of its tokens.
fn with_deferrable(stmt: Statement, deferrable: Option<bool>) -> Statement {
    match (stmt, deferrable) {
        (Statement::Begin { mut modes }, Some(d)) => {
            modes.deferrable = Some(d);
            Statement::Begin { modes }
        }
        (
            Statement::SetTransaction {
                mut modes,
                session_default,
            },
            Some(d),
        ) => {
            modes.deferrable = Some(d);
            Statement::SetTransaction {
                modes,
                session_default,
            }
        }
        (stmt, _) => stmt,
    }
}

static DIALECT: PostgreSqlDialect = PostgreSqlDialect {};

mod extra;

/// A parser over `sql`'s tokens (see [`tokens_for`]).
fn parser_for(sql: &str) -> Result<Parser<'static>, ParserError> {
    Ok(Parser::new(&DIALECT).with_tokens_with_locations(tokens_for(sql)?))
}

/// `sql`'s tokens, with pgvector's `<+>` put back together: sqlparser
/// splits it into `<`, `+`, `>` (its tokenizer treats `<+` as `<`
/// followed by a sign).
fn tokens_for(sql: &str) -> Result<Vec<sqlparser::tokenizer::TokenWithSpan>, ParserError> {
    use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};
    let tokens = Tokenizer::new(&DIALECT, sql)
        .tokenize_with_location()
        .map_err(|e| ParserError::TokenizerError(e.to_string()))?;
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if let [a, b, c, ..] = &tokens[i..] {
            if a.token == Token::Lt
                && b.token == Token::Plus
                && c.token == Token::Gt
                && a.span.end == b.span.start
                && b.span.end == c.span.start
            {
                out.push(TokenWithSpan::new(
                    Token::CustomBinaryOperator("<+>".into()),
                    a.span.union(&c.span),
                ));
                i += 3;
                continue;
            }
        }
        out.push(tokens[i].clone());
        i += 1;
    }
    Ok(out)
}

/// The highest `$n` placeholder in `sql` (0 if none), from the tokens, so
/// that `$1` inside a string or comment does not count.
pub fn max_param(sql: &str) -> usize {
    let dialect = PostgreSqlDialect {};
    let Ok(tokens) = sqlparser::tokenizer::Tokenizer::new(&dialect, sql).tokenize() else {
        return 0;
    };
    tokens
        .iter()
        .filter_map(|t| match t {
            sqlparser::tokenizer::Token::Placeholder(p) => p.strip_prefix('$')?.parse().ok(),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

fn parse_error(sql: &str, e: ParserError) -> SqlError {
    let text = match e {
        ParserError::TokenizerError(s) | ParserError::ParserError(s) => s,
        ParserError::RecursionLimitExceeded => {
            return SqlError::new(SqlState("54001"), "stack depth limit exceeded");
        }
    };
    // sqlparser says "Expected: X, found: Y at Line: L, Column: C"; report
    // it as PostgreSQL does ("syntax error at or near "Y"", position) and
    // keep the expectation as detail.
    let core = text.split(" at Line:").next().unwrap_or(&text).to_string();
    let found = core
        .rsplit("found: ")
        .next()
        .filter(|_| core.contains("found: "));
    let mut err = match found {
        Some("EOF") => {
            syntax("syntax error at end of input").with_position(sql.chars().count() as u32 + 1)
        }
        Some(tok) => syntax(format!("syntax error at or near \"{tok}\"")),
        None => syntax(format!("syntax error: {core}")),
    }
    .with_detail(core.clone());
    if let Some(idx) = text.rfind("at Line: ") {
        let rest = &text[idx + 9..];
        let mut parts = rest.split(", Column: ");
        let line = parts.next().and_then(|s| s.trim().parse::<u64>().ok());
        let col = parts.next().and_then(|s| {
            s.trim()
                .trim_end_matches(|c: char| !c.is_ascii_digit())
                .parse::<u64>()
                .ok()
        });
        if let (Some(l), Some(c)) = (line, col) {
            if let Some(pos) = char_offset(sql, l, c) {
                err = err.with_position(pos);
            }
        }
    }
    err
}

/// A LISTEN / NOTIFY channel: an identifier, cut to PostgreSQL's 63
/// bytes as its parser cuts every identifier.
fn channel_name(i: &sp::Ident) -> TResult<String> {
    if i.value.is_empty() {
        return Err(SqlError::new(
            SqlState::SYNTAX_ERROR,
            "zero-length delimited identifier at or near \"\"\"\"",
        ));
    }
    let mut name = ident(i);
    let mut end = name.len().min(63);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name.truncate(end);
    Ok(name)
}

fn ident(i: &sp::Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_lowercase()
    }
}

fn object_name(n: &sp::ObjectName) -> TResult<Name> {
    n.0.iter()
        .map(|p| match p {
            sp::ObjectNamePart::Identifier(i) => Ok(ident(i)),
            other => Err(unsupported(format!("name part {other}"))),
        })
        .collect()
}

fn last_ident(n: &sp::ObjectName) -> TResult<String> {
    object_name(n)?.pop().ok_or_else(|| syntax("empty name"))
}

/// The first two words of the statement at `p`, upper-cased, to name a
/// statement without a translation in its error. Not the statement's
/// `Display`: that kept sqlparser's printer for every statement type in
/// the wasm module.
fn statement_head(p: &Parser) -> String {
    use sqlparser::tokenizer::Token;
    let mut words = Vec::new();
    for t in p.peek_tokens_ref::<2>() {
        match &t.token {
            Token::EOF | Token::SemiColon => break,
            Token::Word(w) => words.push(w.value.to_uppercase()),
            other => words.push(other.to_string()),
        }
    }
    words.join(" ")
}

/// `s` translated; `head` names it in the error if it has no translation
/// (see [`statement_head`]).
fn statement(s: sp::Statement, head: &str) -> TResult<Statement> {
    use sp::Statement as S;
    Ok(match s {
        S::Query(q) => Statement::Query(Box::new(query(*q)?)),
        S::Prepare {
            name,
            data_types,
            statement: body,
        } => {
            let body = statement(*body, head)?;
            if !matches!(
                body,
                Statement::Query(_)
                    | Statement::Insert(_)
                    | Statement::Update(_)
                    | Statement::Delete(_)
            ) {
                return Err(syntax(
                    "syntax error: PREPARE takes SELECT, VALUES, INSERT, UPDATE or DELETE",
                ));
            }
            Statement::Prepare {
                name: ident(&name),
                types: data_types.iter().map(data_type).collect::<TResult<_>>()?,
                body: Box::new(body),
            }
        }
        S::Execute {
            name: Some(name),
            parameters,
            immediate: false,
            ..
        } => Statement::Execute {
            name: object_name(&name)?.last().cloned().unwrap_or_default(),
            args: parameters.into_iter().map(expr).collect::<TResult<_>>()?,
        },
        S::Discard { object_type } => Statement::Discard(match object_type {
            sp::DiscardObject::ALL => DiscardWhat::All,
            sp::DiscardObject::PLANS => DiscardWhat::Plans,
            sp::DiscardObject::SEQUENCES => DiscardWhat::Sequences,
            sp::DiscardObject::TEMP => DiscardWhat::Temp,
        }),
        S::Deallocate { name, .. } => Statement::Deallocate(
            (!(name.quote_style.is_none() && name.value.eq_ignore_ascii_case("all")))
                .then(|| ident(&name)),
        ),
        S::LISTEN { channel } => Statement::Listen(channel_name(&channel)?),
        S::UNLISTEN { channel } => {
            Statement::Unlisten(if channel.quote_style.is_none() && channel.value == "*" {
                None
            } else {
                Some(channel_name(&channel)?)
            })
        }
        S::NOTIFY { channel, payload } => Statement::Notify {
            channel: channel_name(&channel)?,
            payload: payload.unwrap_or_default(),
        },
        S::Insert(i) => Statement::Insert(Box::new(insert(i)?)),
        S::Update(u) => Statement::Update(Box::new(update(u)?)),
        S::Delete(d) => Statement::Delete(Box::new(delete(d)?)),
        S::CreateTable(c) => Statement::CreateTable(Box::new(create_table(c)?)),
        S::CreateIndex(c) => Statement::CreateIndex(Box::new(create_index(c)?)),
        S::CreateSchema {
            schema_name,
            if_not_exists,
            or_replace: false,
            ..
        } => {
            let name = match &schema_name {
                sp::SchemaName::Simple(n) | sp::SchemaName::NamedAuthorization(n, _) => {
                    let mut parts = object_name(n)?;
                    match (parts.pop(), parts.is_empty()) {
                        (Some(last), true) => last,
                        _ => return Err(syntax("CREATE SCHEMA takes an unqualified name")),
                    }
                }
                sp::SchemaName::UnnamedAuthorization(role) => ident(role),
            };
            Statement::CreateSchema {
                name,
                if_not_exists,
            }
        }
        S::CreateView(v) => Statement::CreateView(Box::new(create_view(v)?)),
        S::Drop {
            object_type,
            if_exists,
            names,
            cascade,
            ..
        } => {
            let names = names.iter().map(object_name).collect::<TResult<Vec<_>>>()?;
            match object_type {
                sp::ObjectType::Table => Statement::DropTable {
                    names,
                    if_exists,
                    cascade,
                },
                sp::ObjectType::View => Statement::DropView {
                    names,
                    if_exists,
                    cascade,
                },
                sp::ObjectType::Index => Statement::DropIndex { names, if_exists },
                sp::ObjectType::Sequence => Statement::DropSequence { names, if_exists },
                sp::ObjectType::Type => Statement::DropType {
                    names,
                    if_exists,
                    cascade,
                },
                sp::ObjectType::Schema => Statement::DropSchema {
                    names: names
                        .into_iter()
                        .map(|mut n| match (n.pop(), n.is_empty()) {
                            (Some(last), true) => Ok(last),
                            _ => Err(syntax("improper qualified name (too many dotted names)")),
                        })
                        .collect::<TResult<_>>()?,
                    if_exists,
                    cascade,
                },
                other => return Err(unsupported(format!("DROP {other}"))),
            }
        }
        S::AlterTable(a) => alter_table(a)?,
        S::Comment {
            object_type,
            object_name: target,
            comment,
            if_exists: false,
        } => {
            use sp::CommentObject as C;
            let on = match object_type {
                C::Table => CommentOn::Table,
                C::Column => CommentOn::Column,
                C::Index => CommentOn::Index,
                C::Sequence => CommentOn::Sequence,
                C::Type => CommentOn::Type,
                C::Schema => CommentOn::Schema,
                other => return Err(unsupported(format!("COMMENT ON {other}"))),
            };
            Statement::Comment {
                on,
                name: object_name(&target)?,
                text: comment,
            }
        }
        S::CreateType {
            name,
            representation: Some(sp::UserDefinedTypeRepresentation::Enum { labels }),
        } => Statement::CreateEnum {
            name: object_name(&name)?,
            labels: labels.into_iter().map(|l| l.value).collect(),
        },
        S::AlterType(sp::AlterType {
            name,
            operation: sp::AlterTypeOperation::AddValue(add),
        }) => Statement::AlterEnumAddValue {
            name: object_name(&name)?,
            label: add.value.value,
            if_not_exists: add.if_not_exists,
            neighbour: add.position.map(|p| match p {
                sp::AlterTypeAddValuePosition::Before(n) => (true, n.value),
                sp::AlterTypeAddValuePosition::After(n) => (false, n.value),
            }),
        },
        S::CreateSequence {
            name,
            if_not_exists,
            sequence_options,
            ..
        } => {
            let mut start = None;
            let mut increment = None;
            for o in sequence_options {
                match o {
                    sp::SequenceOptions::StartWith(e, _) => start = Some(const_i64(&e)?),
                    sp::SequenceOptions::IncrementBy(e, _) => increment = Some(const_i64(&e)?),
                    other => return Err(unsupported(format!("sequence option {other}"))),
                }
            }
            Statement::CreateSequence {
                name: object_name(&name)?,
                if_not_exists,
                start,
                increment,
            }
        }
        S::Lock(l) => {
            use sp::LockTableMode as M;
            Statement::LockTable {
                names: l
                    .tables
                    .iter()
                    .map(|t| object_name(&t.name))
                    .collect::<TResult<_>>()?,
                mode: match l.lock_mode {
                    None | Some(M::AccessExclusive) => LockMode::AccessExclusive,
                    Some(M::AccessShare) => LockMode::AccessShare,
                    Some(M::RowShare) => LockMode::RowShare,
                    Some(M::RowExclusive) => LockMode::RowExclusive,
                    Some(M::ShareUpdateExclusive) => LockMode::ShareUpdateExclusive,
                    Some(M::Share) => LockMode::Share,
                    Some(M::ShareRowExclusive) => LockMode::ShareRowExclusive,
                    Some(M::Exclusive) => LockMode::Exclusive,
                },
                nowait: l.nowait,
            }
        }
        S::Truncate(t) => Statement::Truncate {
            names: t
                .table_names
                .iter()
                .map(|t| object_name(&t.name))
                .collect::<TResult<_>>()?,
        },
        S::StartTransaction { modes, .. } => Statement::Begin {
            modes: txn_modes(&modes)?,
        },
        S::Commit { chain: false, .. } => Statement::Commit,
        S::Rollback {
            chain: false,
            savepoint: None,
        } => Statement::Rollback,
        S::Rollback {
            chain: false,
            savepoint: Some(sp),
        } => Statement::RollbackTo(ident(&sp)),
        S::Savepoint { name } => Statement::Savepoint(ident(&name)),
        S::ReleaseSavepoint { name } => Statement::Release(ident(&name)),
        S::Set(set) => set_statement(set)?,
        S::Reset(r) => match r.reset {
            sp::Reset::ConfigurationParameter(name) => {
                Statement::Reset(object_name(&name)?.join("."))
            }
            sp::Reset::ALL => Statement::Reset("all".into()),
            sp::Reset::SessionAuthorization => {
                return Err(unsupported("RESET SESSION AUTHORIZATION"))
            }
        },
        S::ShowVariable { variable } => {
            // sqlparser splits both `time zone` and `hnsw.ef_search` into
            // words; only PostgreSQL's few multi-word names keep spaces.
            let words: Vec<String> = variable.iter().map(ident).collect();
            let spaced = words.join(" ");
            let multi_word = [
                "time zone",
                "transaction isolation level",
                "session authorization",
            ];
            Statement::Show(if multi_word.contains(&spaced.to_lowercase().as_str()) {
                spaced
            } else {
                words.join(".")
            })
        }
        S::Explain {
            analyze,
            statement: inner,
            ..
        } => Statement::Explain {
            analyze,
            statement: Box::new(statement(*inner, head)?),
        },
        S::Vacuum(v) => Statement::Vacuum {
            tables: match v.table_name {
                Some(n) => vec![object_name(&n)?],
                None => Vec::new(),
            },
        },
        S::Analyze(a) => Statement::Analyze {
            table: a.table_name.as_ref().map(object_name).transpose()?,
            columns: a.columns.iter().map(ident).collect(),
        },
        S::Copy {
            source,
            to,
            target,
            options,
            legacy_options,
            values,
        } => copy_statement(source, to, target, options, legacy_options, values)?,
        _ => return Err(unsupported(format!("statement {head}"))),
    })
}

fn copy_statement(
    source: sp::CopySource,
    to: bool,
    target: sp::CopyTarget,
    options: Vec<sp::CopyOption>,
    legacy_options: Vec<sp::CopyLegacyOption>,
    values: Vec<Option<String>>,
) -> TResult<Statement> {
    match (&target, to) {
        (sp::CopyTarget::Stdin, false) | (sp::CopyTarget::Stdout, true) => {}
        _ => {
            return Err(unsupported(
                "COPY to or from a file or program (use STDIN / STDOUT)",
            ))
        }
    }
    // Inline data after `FROM STDIN;` is a psql script convention; over
    // the wire the data comes as CopyData messages.
    if !values.is_empty() {
        return Err(unsupported("inline COPY data"));
    }
    let source = match source {
        sp::CopySource::Table {
            table_name,
            columns,
        } => CopySource::Table {
            name: object_name(&table_name)?,
            columns: columns.iter().map(ident).collect(),
        },
        sp::CopySource::Query(q) if to => CopySource::Query(Box::new(query(*q)?)),
        sp::CopySource::Query(_) => return Err(syntax("COPY FROM needs a table")),
    };
    let mut csv = false;
    for o in &options {
        if let sp::CopyOption::Format(f) = o {
            match f.value.to_lowercase().as_str() {
                "text" => csv = false,
                "csv" => csv = true,
                other => return Err(unsupported(format!("COPY format \"{other}\""))),
            }
        }
    }
    for o in &legacy_options {
        match o {
            sp::CopyLegacyOption::Csv(extra) if extra.is_empty() => csv = true,
            sp::CopyLegacyOption::Binary => return Err(unsupported("COPY format \"binary\"")),
            other => return Err(unsupported(format!("COPY option {other}"))),
        }
    }
    let mut format = if csv {
        CopyFormat::csv()
    } else {
        CopyFormat::text()
    };
    for o in options {
        match o {
            sp::CopyOption::Format(_) => {}
            // FREEZE is an optimisation hint (skip visibility checks for
            // rows of a table created in this transaction); rows here go
            // through the normal MVCC insert path either way.
            sp::CopyOption::Freeze(_) => {}
            sp::CopyOption::Delimiter(c) => format.delimiter = c,
            sp::CopyOption::Null(n) => format.null = n,
            sp::CopyOption::Header(h) => format.header = h,
            sp::CopyOption::Quote(c) if csv => format.quote = c,
            sp::CopyOption::Escape(c) if csv => format.escape = c,
            sp::CopyOption::Encoding(e) if e.eq_ignore_ascii_case("utf8") => {}
            other => return Err(unsupported(format!("COPY option {other}"))),
        }
    }
    if format.header && !csv {
        return Err(unsupported("COPY HEADER in text format"));
    }
    Ok(Statement::Copy(Box::new(Copy {
        source,
        from_stdin: !to,
        format,
    })))
}

/// sqlparser reads `FREEZE` / `HEADER` only with TRUE/FALSE; PostgreSQL
/// also takes ON/OFF/1/0 (pgbench sends `with (freeze on)`).
fn normalize_copy_booleans(sql: &str) -> Option<String> {
    let trimmed = sql.trim_start();
    if trimmed.len() < 4 || !trimmed[..4].eq_ignore_ascii_case("copy") {
        return None;
    }
    let sep = |c: char| c.is_whitespace() || c == '(' || c == ',' || c == ')';
    let mut out = String::with_capacity(sql.len() + 8);
    let mut prev_flag = false;
    let mut changed = false;
    for w in sql.split_inclusive(sep) {
        let core = w.trim_end_matches(sep);
        let rest = &w[core.len()..];
        if core.is_empty() {
            out.push_str(w);
            prev_flag &= !rest.contains([',', ')', '(']);
            continue;
        }
        let lower = core.to_ascii_lowercase();
        let replacement = match lower.as_str() {
            "on" | "1" if prev_flag => Some("true"),
            "off" | "0" if prev_flag => Some("false"),
            _ => None,
        };
        match replacement {
            Some(r) => {
                out.push_str(r);
                out.push_str(rest);
                changed = true;
            }
            None => out.push_str(w),
        }
        prev_flag = matches!(lower.as_str(), "freeze" | "header") && !rest.contains([',', ')']);
    }
    changed.then_some(out)
}

/// `VACUUM [FULL] [FREEZE] [VERBOSE] [ANALYZE] [(options)] [table]`:
/// sqlparser knows only the bare form. Our VACUUM has one behaviour (and
/// no planner statistics to ANALYZE), so the options are dropped.
fn strip_vacuum_options(sql: &str) -> Option<String> {
    let rest = sql.trim_start();
    if rest.len() < 6 || !rest[..6].eq_ignore_ascii_case("vacuum") {
        return None;
    }
    let mut rest = rest[6..].trim_start();
    if let Some(after) = rest.strip_prefix('(') {
        rest = after.split_once(')')?.1.trim_start();
    }
    loop {
        let word_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let word = &rest[..word_len];
        if ["full", "freeze", "verbose", "analyze", "analyse"]
            .iter()
            .any(|w| w.eq_ignore_ascii_case(word))
        {
            rest = rest[word_len..].trim_start();
        } else {
            break;
        }
    }
    Some(format!("VACUUM {rest}"))
}

fn set_statement(set: sp::Set) -> TResult<Statement> {
    Ok(match set {
        sp::Set::SingleAssignment {
            scope,
            variable,
            values,
            ..
        } => {
            let name = object_name(&variable)?.join(".");
            let local = matches!(scope, Some(sp::ContextModifier::Local));
            let value = if values.len() == 1
                && matches!(&values[0], sp::Expr::Identifier(i) if i.value.eq_ignore_ascii_case("default"))
            {
                SetValue::Default
            } else {
                SetValue::Values(
                    values
                        .into_iter()
                        .map(set_value_expr)
                        .collect::<TResult<_>>()?,
                )
            };
            Statement::Set { name, value, local }
        }
        sp::Set::SetTimeZone { local, value } => Statement::Set {
            name: "timezone".into(),
            value: SetValue::Values(vec![set_value_expr(value)?]),
            local,
        },
        sp::Set::SetTransaction {
            modes,
            snapshot: None,
            session,
        } => Statement::SetTransaction {
            modes: txn_modes(&modes)?,
            session_default: session,
        },
        sp::Set::SetTransaction {
            modes,
            snapshot: Some(v),
            session: false,
        } if modes.is_empty() => match v.value {
            sp::Value::SingleQuotedString(s) => Statement::SetTransactionSnapshot(s),
            other => return Err(unsupported(format!("SET TRANSACTION SNAPSHOT {other}"))),
        },
        other => return Err(unsupported(format!("SET form {other}"))),
    })
}

/// `SET x = on` / `SET x TO foo`: bare words are string values.
fn set_value_expr(e: sp::Expr) -> TResult<Expr> {
    match e {
        sp::Expr::Identifier(i) => Ok(Expr::UntypedString(i.value)),
        other => expr(other),
    }
}

fn txn_modes(modes: &[sp::TransactionMode]) -> TResult<TxnModes> {
    let mut out = TxnModes::default();
    for m in modes {
        match m {
            sp::TransactionMode::IsolationLevel(l) => {
                out.isolation = Some(match l {
                    sp::TransactionIsolationLevel::ReadUncommitted => {
                        IsolationLevel::ReadUncommitted
                    }
                    sp::TransactionIsolationLevel::ReadCommitted => IsolationLevel::ReadCommitted,
                    sp::TransactionIsolationLevel::RepeatableRead => IsolationLevel::RepeatableRead,
                    sp::TransactionIsolationLevel::Serializable => IsolationLevel::Serializable,
                    // Not PostgreSQL's: its grammar has no such level.
                    sp::TransactionIsolationLevel::Snapshot => {
                        return Err(syntax("syntax error at or near \"SNAPSHOT\""))
                    }
                })
            }
            sp::TransactionMode::AccessMode(a) => {
                out.read_only = Some(matches!(a, sp::TransactionAccessMode::ReadOnly))
            }
        }
    }
    Ok(out)
}

fn const_i64(e: &sp::Expr) -> TResult<i64> {
    match expr(e.clone())? {
        Expr::Literal(Value::Int4(v)) => Ok(v as i64),
        Expr::Literal(Value::Int8(v)) => Ok(v),
        Expr::Unary {
            op: UnOp::Neg,
            expr,
        } => match *expr {
            Expr::Literal(Value::Int4(v)) => Ok(-(v as i64)),
            Expr::Literal(Value::Int8(v)) => Ok(-v),
            _ => Err(syntax("expected an integer")),
        },
        _ => Err(syntax("expected an integer")),
    }
}

pub fn query(q: sp::Query) -> TResult<Query> {
    if q.fetch.is_some() {
        return Err(unsupported("FETCH"));
    }
    let (ctes, recursive) = match q.with {
        Some(w) => (
            w.cte_tables
                .into_iter()
                .map(|c| {
                    Ok(Cte {
                        name: ident(&c.alias.name),
                        columns: c.alias.columns.iter().map(|c| ident(&c.name)).collect(),
                        query: query(*c.query)?,
                    })
                })
                .collect::<TResult<Vec<_>>>()?,
            w.recursive,
        ),
        None => (Vec::new(), false),
    };
    // Translated in source order (body before ORDER BY, LIMIT and the
    // locking clause), for WEAK_LOCKS.
    let body = set_expr(*q.body)?;
    let order_by = match q.order_by {
        None => Vec::new(),
        Some(ob) => match ob.kind {
            sp::OrderByKind::Expressions(items) => {
                items.into_iter().map(order_item).collect::<TResult<_>>()?
            }
            sp::OrderByKind::All(_) => return Err(unsupported("ORDER BY ALL")),
        },
    };
    let (limit, offset) = match q.limit_clause {
        None => (None, None),
        Some(sp::LimitClause::LimitOffset { limit, offset, .. }) => (
            limit.map(expr).transpose()?,
            offset.map(|o| expr(o.value)).transpose()?,
        ),
        Some(sp::LimitClause::OffsetCommaLimit { offset, limit }) => {
            (Some(expr(limit)?), Some(expr(offset)?))
        }
    };
    // Every clause takes its flag, in source order; the first one counts.
    let weak: Vec<bool> = q
        .locks
        .iter()
        .map(|_| WEAK_LOCKS.with(|w| w.borrow_mut().pop_front().unwrap_or(false)))
        .collect();
    let locking = q.locks.first().map(|l| Locking {
        strength: match (l.lock_type, weak.first().copied().unwrap_or(false)) {
            (sp::LockType::Update, false) => LockStrength::Update,
            (sp::LockType::Update, true) => LockStrength::NoKeyUpdate,
            (sp::LockType::Share, false) => LockStrength::Share,
            (sp::LockType::Share, true) => LockStrength::KeyShare,
        },
        wait: match l.nonblock {
            None => LockWait::Wait,
            Some(sp::NonBlock::Nowait) => LockWait::NoWait,
            Some(sp::NonBlock::SkipLocked) => LockWait::SkipLocked,
        },
    });
    Ok(Query {
        ctes,
        recursive,
        body,
        order_by,
        limit,
        offset,
        locking,
    })
}

fn order_item(o: sp::OrderByExpr) -> TResult<OrderItem> {
    Ok(OrderItem {
        expr: expr(o.expr)?,
        desc: matches!(o.options.sort, Some(sp::OrderBySort::Desc)),
        nulls_first: o.options.nulls_first,
    })
}

fn set_expr(s: sp::SetExpr) -> TResult<SetExpr> {
    Ok(match s {
        sp::SetExpr::Select(sel) => SetExpr::Select(Box::new(select(*sel)?)),
        sp::SetExpr::Query(q) => SetExpr::Query(Box::new(query(*q)?)),
        sp::SetExpr::Values(v) => SetExpr::Values(
            v.rows
                .into_iter()
                .map(|r| r.content.into_iter().map(expr).collect::<TResult<Vec<_>>>())
                .collect::<TResult<_>>()?,
        ),
        sp::SetExpr::SetOperation {
            left,
            op,
            set_quantifier,
            right,
        } => SetExpr::SetOp {
            op: match op {
                sp::SetOperator::Union => SetOp::Union,
                sp::SetOperator::Intersect => SetOp::Intersect,
                sp::SetOperator::Except | sp::SetOperator::Minus => SetOp::Except,
            },
            all: matches!(set_quantifier, sp::SetQuantifier::All),
            left: Box::new(set_expr(*left)?),
            right: Box::new(set_expr(*right)?),
        },
        other => return Err(unsupported(format!("query form {other}"))),
    })
}

fn select(s: sp::Select) -> TResult<Select> {
    let distinct = match s.distinct {
        None => Distinct::None,
        // `SELECT ALL` is the default; only DISTINCT changes anything.
        Some(sp::Distinct::All) => Distinct::None,
        Some(sp::Distinct::Distinct) => Distinct::All,
        Some(sp::Distinct::On(exprs)) => {
            Distinct::On(exprs.into_iter().map(expr).collect::<TResult<_>>()?)
        }
    };
    let group_by = match s.group_by {
        sp::GroupByExpr::Expressions(exprs, mods) if mods.is_empty() => {
            exprs.into_iter().map(expr).collect::<TResult<_>>()?
        }
        _ => return Err(unsupported("GROUP BY ALL / ROLLUP / CUBE")),
    };
    if !s.named_window.is_empty() || s.qualify.is_some() {
        return Err(unsupported("WINDOW / QUALIFY"));
    }
    Ok(Select {
        distinct,
        projection: s
            .projection
            .into_iter()
            .map(select_item)
            .collect::<TResult<_>>()?,
        from: s
            .from
            .into_iter()
            .map(table_with_joins)
            .collect::<TResult<_>>()?,
        selection: s.selection.map(expr).transpose()?,
        group_by,
        having: s.having.map(expr).transpose()?,
    })
}

fn select_item(i: sp::SelectItem) -> TResult<SelectItem> {
    Ok(match i {
        sp::SelectItem::UnnamedExpr(e) => SelectItem::Expr {
            expr: expr(e)?,
            alias: None,
        },
        sp::SelectItem::ExprWithAlias { expr: e, alias } => SelectItem::Expr {
            expr: expr(e)?,
            alias: Some(ident(&alias)),
        },
        sp::SelectItem::Wildcard(_) => SelectItem::Wildcard,
        sp::SelectItem::QualifiedWildcard(
            sp::SelectItemQualifiedWildcardKind::ObjectName(n),
            _,
        ) => SelectItem::QualifiedWildcard(object_name(&n)?),
        other => return Err(unsupported(format!("select item {other}"))),
    })
}

fn alias(a: Option<sp::TableAlias>) -> Option<TableAlias> {
    a.map(|a| TableAlias {
        name: ident(&a.name),
        columns: a.columns.iter().map(|c| ident(&c.name)).collect(),
    })
}

/// The name of a join operator without a translation, for its error. Not
/// `{:?}`: that would keep sqlparser's `Debug` for its whole syntax tree
/// in the wasm module.
fn join_name(j: &sp::JoinOperator) -> &'static str {
    use sp::JoinOperator as J;
    match j {
        J::Semi(_) => "SEMI",
        J::LeftSemi(_) => "LEFT SEMI",
        J::RightSemi(_) => "RIGHT SEMI",
        J::Anti(_) => "ANTI",
        J::LeftAnti(_) => "LEFT ANTI",
        J::RightAnti(_) => "RIGHT ANTI",
        J::CrossApply => "CROSS APPLY",
        J::OuterApply => "OUTER APPLY",
        J::AsOf { .. } => "ASOF",
        J::StraightJoin(_) => "STRAIGHT_JOIN",
        J::ArrayJoin | J::LeftArrayJoin | J::InnerArrayJoin => "ARRAY JOIN",
        _ => "operator",
    }
}

fn table_with_joins(t: sp::TableWithJoins) -> TResult<TableRef> {
    let mut left = table_factor(t.relation)?;
    for j in t.joins {
        let right = table_factor(j.relation)?;
        use sp::JoinOperator as J;
        let (kind, c) = match j.join_operator {
            J::Join(c) | J::Inner(c) => (JoinKind::Inner, c),
            J::Left(c) | J::LeftOuter(c) => (JoinKind::Left, c),
            J::Right(c) | J::RightOuter(c) => (JoinKind::Right, c),
            J::FullOuter(c) => (JoinKind::Full, c),
            J::CrossJoin(c) => (JoinKind::Cross, c),
            other => return Err(unsupported(format!("join {}", join_name(&other)))),
        };
        let constraint = match c {
            sp::JoinConstraint::On(e) => JoinConstraint::On(expr(e)?),
            sp::JoinConstraint::Using(cols) => {
                JoinConstraint::Using(cols.iter().map(last_ident).collect::<TResult<_>>()?)
            }
            sp::JoinConstraint::Natural => JoinConstraint::Natural,
            sp::JoinConstraint::None => JoinConstraint::None,
        };
        left = TableRef::Join {
            left: Box::new(left),
            right: Box::new(right),
            kind,
            constraint,
        };
    }
    Ok(left)
}

fn table_factor(t: sp::TableFactor) -> TResult<TableRef> {
    Ok(match t {
        sp::TableFactor::Table {
            name,
            alias: a,
            args,
            with_ordinality,
            ..
        } => match args {
            None => TableRef::Table {
                name: object_name(&name)?,
                alias: alias(a),
            },
            Some(args) => TableRef::Function {
                name: object_name(&name)?,
                args: args
                    .args
                    .into_iter()
                    .map(function_arg)
                    .collect::<TResult<_>>()?,
                alias: alias(a),
                ordinality: with_ordinality,
            },
        },
        sp::TableFactor::Derived {
            lateral,
            subquery,
            alias: a,
            ..
        } => TableRef::Subquery {
            query: Box::new(query(*subquery)?),
            alias: alias(a),
            lateral,
        },
        sp::TableFactor::NestedJoin {
            table_with_joins: t,
            alias: None,
        } => table_with_joins(*t)?,
        // sqlparser reads `unnest(...)` in FROM as a construct of its own.
        sp::TableFactor::UNNEST {
            alias: a,
            array_exprs,
            with_offset: false,
            with_ordinality,
            ..
        } if array_exprs.len() == 1 => TableRef::Function {
            name: vec!["unnest".into()],
            args: array_exprs.into_iter().map(expr).collect::<TResult<_>>()?,
            alias: alias(a),
            ordinality: with_ordinality,
        },
        // `LATERAL f(...)`: a function in FROM is lateral with or without
        // the keyword (PostgreSQL), so the flag adds nothing.
        sp::TableFactor::Function {
            name,
            args,
            with_ordinality,
            alias: a,
            ..
        } => TableRef::Function {
            name: object_name(&name)?,
            args: args.into_iter().map(function_arg).collect::<TResult<_>>()?,
            alias: alias(a),
            ordinality: with_ordinality,
        },
        other => return Err(unsupported(format!("FROM item {other}"))),
    })
}

fn function_arg(a: sp::FunctionArg) -> TResult<Expr> {
    match a {
        sp::FunctionArg::Unnamed(sp::FunctionArgExpr::Expr(e)) => expr(e),
        other => Err(unsupported(format!("function argument {other}"))),
    }
}

fn returning(r: Option<Vec<sp::SelectItem>>) -> TResult<Vec<SelectItem>> {
    r.unwrap_or_default().into_iter().map(select_item).collect()
}

fn assignment(a: sp::Assignment) -> TResult<Assignment> {
    match a.target {
        sp::AssignmentTarget::ColumnName(n) => Ok(Assignment {
            column: last_ident(&n)?,
            value: expr(a.value)?,
        }),
        sp::AssignmentTarget::Tuple(_) => Err(unsupported("multi-column assignment")),
    }
}

fn insert(i: sp::Insert) -> TResult<Insert> {
    let table = match &i.table {
        sp::TableObject::TableName(n) => object_name(n)?,
        _ => return Err(unsupported("INSERT into a table function")),
    };
    let source = match i.source {
        Some(q) => InsertSource::Query(Box::new(query(*q)?)),
        None => InsertSource::DefaultValues,
    };
    let on_conflict = match i.on {
        None => None,
        Some(sp::OnInsert::OnConflict(c)) => {
            let (target, constraint) = match c.conflict_target {
                None => (Vec::new(), None),
                Some(sp::ConflictTarget::Columns(cols)) => (cols.iter().map(ident).collect(), None),
                Some(sp::ConflictTarget::OnConstraint(n)) => (Vec::new(), Some(last_ident(&n)?)),
            };
            let action = match c.action {
                sp::OnConflictAction::DoNothing => ConflictAction::Nothing,
                sp::OnConflictAction::DoUpdate(u) => ConflictAction::Update {
                    assignments: u
                        .assignments
                        .into_iter()
                        .map(assignment)
                        .collect::<TResult<_>>()?,
                    selection: u.selection.map(expr).transpose()?,
                },
            };
            Some(OnConflict {
                target,
                constraint,
                action,
            })
        }
        Some(_) => return Err(unsupported("ON DUPLICATE KEY")),
    };
    Ok(Insert {
        table,
        alias: i.table_alias.map(|a| ident(&a.alias)),
        columns: i.columns.iter().map(last_ident).collect::<TResult<_>>()?,
        source,
        on_conflict,
        returning: returning(i.returning)?,
    })
}

fn single_table(t: &sp::TableWithJoins) -> TResult<(Name, Option<String>)> {
    if !t.joins.is_empty() {
        return Err(unsupported("joins in the target of UPDATE/DELETE"));
    }
    match &t.relation {
        sp::TableFactor::Table { name, alias, .. } => {
            Ok((object_name(name)?, alias.as_ref().map(|a| ident(&a.name))))
        }
        _ => Err(syntax("expected a table name")),
    }
}

fn update(u: sp::Update) -> TResult<Update> {
    let (table, alias) = single_table(&u.table)?;
    let from = match u.from {
        None => Vec::new(),
        Some(sp::UpdateTableFromKind::AfterSet(f))
        | Some(sp::UpdateTableFromKind::BeforeSet(f)) => f
            .into_iter()
            .map(table_with_joins)
            .collect::<TResult<_>>()?,
    };
    Ok(Update {
        table,
        alias,
        assignments: u
            .assignments
            .into_iter()
            .map(assignment)
            .collect::<TResult<_>>()?,
        from,
        selection: u.selection.map(expr).transpose()?,
        returning: returning(u.returning)?,
    })
}

fn delete(d: sp::Delete) -> TResult<Delete> {
    let tables = match d.from {
        sp::FromTable::WithFromKeyword(t) | sp::FromTable::WithoutKeyword(t) => t,
    };
    if tables.len() != 1 {
        return Err(unsupported("DELETE from several tables"));
    }
    let (table, alias) = single_table(&tables[0])?;
    Ok(Delete {
        table,
        alias,
        using: d
            .using
            .unwrap_or_default()
            .into_iter()
            .map(table_with_joins)
            .collect::<TResult<_>>()?,
        selection: d.selection.map(expr).transpose()?,
        returning: returning(d.returning)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_copy_statements() {
        let stmts = parse("copy pgbench_accounts from stdin with (freeze on)").unwrap();
        let Statement::Copy(c) = &stmts[0] else {
            panic!("not a COPY: {stmts:?}")
        };
        assert!(c.from_stdin);
        assert_eq!(c.format, CopyFormat::text());
        assert!(
            matches!(&c.source, CopySource::Table { name, columns } if name == &vec!["pgbench_accounts".to_string()] && columns.is_empty())
        );
        let stmts =
            parse("COPY t (a, b) FROM STDIN WITH (FORMAT csv, HEADER on, DELIMITER ';')").unwrap();
        let Statement::Copy(c) = &stmts[0] else {
            panic!("not a COPY")
        };
        assert!(c.format.csv && c.format.header && c.format.delimiter == ';');
        let stmts = parse("COPY (SELECT 1) TO STDOUT").unwrap();
        assert!(
            matches!(&stmts[0], Statement::Copy(c) if !c.from_stdin && matches!(c.source, CopySource::Query(_)))
        );
        // Server-side files are refused.
        let e = parse("COPY t FROM '/etc/passwd'").unwrap_err();
        assert_eq!(e.code, SqlState::FEATURE_NOT_SUPPORTED);
        assert!(
            matches!(&parse("vacuum analyze pgbench_branches").unwrap()[0],
            Statement::Vacuum { tables } if tables == &vec![vec!["pgbench_branches".to_string()]])
        );
        assert!(matches!(&parse("VACUUM (VERBOSE, ANALYZE)").unwrap()[0],
            Statement::Vacuum { tables } if tables.is_empty()));
        assert_eq!(max_param("SELECT $2, '$7' -- $9\n, $1"), 2);
        // ON after other options is left alone.
        assert_eq!(normalize_copy_booleans("select 1 on"), None);
    }

    #[test]
    fn parses_the_common_statements() {
        let stmts = parse(
            "CREATE TABLE t (id serial PRIMARY KEY, name varchar(20) NOT NULL, amount numeric(10,2) DEFAULT 0, \
             CHECK (amount >= 0)); INSERT INTO t (name) VALUES ('a'), ('b') RETURNING id; \
             SELECT t.name, count(*) FROM t LEFT JOIN u USING (id) WHERE id > $1 GROUP BY 1 ORDER BY 2 DESC LIMIT 3; \
             BEGIN ISOLATION LEVEL REPEATABLE READ; SAVEPOINT s; ROLLBACK TO SAVEPOINT s; COMMIT",
        )
        .unwrap();
        assert_eq!(stmts.len(), 7);
        assert!(
            matches!(&stmts[0], Statement::CreateTable(c) if c.columns.len() == 3 && c.columns[0].serial)
        );
        assert!(
            matches!(&stmts[3], Statement::Begin { modes } if modes.isolation == Some(IsolationLevel::RepeatableRead))
        );
        assert_eq!(stmts[5], Statement::RollbackTo("s".into()));
    }

    #[test]
    fn syntax_errors_have_sqlstate_and_position() {
        let e = parse("SELECT * FROM t WHERE").unwrap_err();
        assert_eq!(e.code, SqlState::SYNTAX_ERROR);
        assert!(e.position.is_some());
        assert_eq!(parse("SELEC 1").unwrap_err().code, SqlState::SYNTAX_ERROR);
    }

    #[test]
    fn type_names() {
        for (t, want) in [
            ("integer", DataType::Int4),
            ("varchar(5)", DataType::Varchar(Some(5))),
            ("numeric(10,2)", DataType::Numeric(Some((10, 2)))),
            ("timestamp with time zone", DataType::Timestamptz),
            ("int[]", DataType::Array(Box::new(DataType::Int4))),
            ("vector(3)", DataType::Vector(Some(3))),
            ("double precision", DataType::Float8),
        ] {
            assert_eq!(parse_type_name(t).unwrap(), want, "{t}");
        }
    }
}
