//! Expressions, operators and type names: sqlparser's `Expr` and
//! `DataType` to ours (statements and queries are in `mod.rs`).

use super::*;

/// Parses a type name as PostgreSQL spells it (`integer`, `varchar(20)`,
/// `numeric(10,2)`, `timestamp with time zone`, `int[]`, `vector(3)`).
pub fn data_type(t: &sp::DataType) -> TResult<DataType> {
    parse_type_name(&t.to_string())
}

/// See [`data_type`]; also used for `::type` casts written as strings.
pub fn parse_type_name(text: &str) -> TResult<DataType> {
    let original = text;
    let text = text.trim().to_lowercase();
    // Built-in types live in pg_catalog: `pg_catalog.text` is `text`.
    let text = match text.strip_prefix("pg_catalog.") {
        Some(rest) => rest.to_string(),
        None => text,
    };
    if let Some(inner) = text.strip_suffix("[]") {
        return Ok(DataType::Array(Box::new(parse_type_name(inner)?)));
    }
    let (base, args) = match text.find('(') {
        Some(i) if text.ends_with(')') => {
            let args: Vec<String> = text[i + 1..text.len() - 1]
                .split(',')
                .map(|s| s.trim().to_string())
                .collect();
            (text[..i].trim().to_string(), args)
        }
        Some(i) => {
            // e.g. "timestamp(3) with time zone"
            let close = text.find(')').unwrap_or(text.len() - 1);
            let rest = text.get(close + 1..).unwrap_or("").trim().to_string();
            (
                format!("{} {rest}", text[..i].trim()).trim().to_string(),
                Vec::new(),
            )
        }
        None => (text.clone(), Vec::new()),
    };
    let num = |i: usize| -> TResult<Option<u32>> {
        match args.get(i) {
            None => Ok(None),
            Some(s) => s
                .parse::<u32>()
                .map(Some)
                .map_err(|_| syntax(format!("invalid type modifier {s}"))),
        }
    };
    Ok(match base.as_str() {
        "bool" | "boolean" => DataType::Bool,
        "smallint" | "int2" => DataType::Int2,
        "int" | "integer" | "int4" => DataType::Int4,
        // OIDs are int4 here (see engine::system): all of ours are below 2^31.
        "oid" => DataType::Int4,
        "bigint" | "int8" => DataType::Int8,
        "real" | "float4" => DataType::Float4,
        "double precision" | "float8" | "double" => DataType::Float8,
        "float" => match num(0)? {
            Some(p) if p <= 24 => DataType::Float4,
            _ => DataType::Float8,
        },
        "numeric" | "decimal" | "dec" => match (num(0)?, num(1)?) {
            (None, _) => DataType::Numeric(None),
            (Some(p), s) => {
                let s = s.unwrap_or(0);
                if p == 0 || p > 1000 || s > p {
                    return Err(SqlError::new(
                        SqlState::INVALID_PARAMETER_VALUE,
                        format!("NUMERIC precision {p} must be between 1 and 1000"),
                    ));
                }
                DataType::Numeric(Some((p, s)))
            }
        },
        "text" | "string" => DataType::Text,
        "varchar" | "character varying" | "char varying" => DataType::Varchar(num(0)?),
        "char" | "character" | "bpchar" => DataType::Char(num(0)?.unwrap_or(1)),
        "bytea" => DataType::Bytea,
        "date" => DataType::Date,
        "timestamp" | "timestamp without time zone" | "datetime" => DataType::Timestamp,
        "timestamptz" | "timestamp with time zone" => DataType::Timestamptz,
        "interval" => DataType::Interval,
        "uuid" => DataType::Uuid,
        "json" => DataType::Json,
        "jsonb" => DataType::Jsonb,
        "vector" | "halfvec" => {
            let dims = num(0)?;
            match dims {
                Some(0) => {
                    return Err(SqlError::new(
                        SqlState::INVALID_PARAMETER_VALUE,
                        format!("dimensions for type {base} must be at least 1"),
                    ))
                }
                Some(n) if n as usize > crate::value::vector::MAX_DIMS => {
                    return Err(SqlError::new(
                        SqlState::INVALID_PARAMETER_VALUE,
                        format!(
                            "dimensions for type {base} cannot exceed {}",
                            crate::value::vector::MAX_DIMS
                        ),
                    ))
                }
                _ if base == "halfvec" => DataType::HalfVec(dims),
                _ => DataType::Vector(dims),
            }
        }
        "bit" => match num(0)? {
            Some(0) => {
                return Err(SqlError::new(
                    SqlState::INVALID_PARAMETER_VALUE,
                    "length for type bit must be at least 1",
                ))
            }
            n => DataType::Bit(Some(n.unwrap_or(1))),
        },
        // No length limit is kept for bit varying (docs/sql-deviations.md).
        "varbit" | "bit varying" => DataType::Bit(None),
        "regclass" => DataType::Reg(RegKind::Class),
        "regtype" => DataType::Reg(RegKind::Type),
        "regnamespace" => DataType::Reg(RegKind::Namespace),
        // A user-defined (enum) type, found in the catalog when bound.
        _ => {
            let (schema, name) = user_type_name(original);
            EnumType::named(schema, &name)
        }
    })
}

/// The name of a user-defined type as written, with its schema if
/// qualified: `"Mood"` keeps its case, `app.mood` / `"app"."mood"` name
/// the schema too.
fn user_type_name(text: &str) -> (Option<String>, String) {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = text.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            '"' => quoted = !quoted,
            '.' if !quoted => {
                parts.push(std::mem::take(&mut cur));
            }
            c if quoted => cur.push(c),
            c => cur.push(c.to_ascii_lowercase()),
        }
    }
    parts.push(cur);
    let name = parts.pop().unwrap_or_default();
    (parts.pop(), name)
}

/// The function behind a regular-expression match operator (`~`, `~*`,
/// `!~`, `!~*`, also written `OPERATOR(pg_catalog.~)`).
fn regex_op(op: &sp::BinaryOperator) -> Option<&'static str> {
    use sp::BinaryOperator as B;
    let by_name = |s: &str| match s {
        "~" => Some("textregexeq"),
        "~*" => Some("texticregexeq"),
        "!~" => Some("textregexne"),
        "!~*" => Some("texticregexne"),
        _ => None,
    };
    match op {
        B::PGRegexMatch => Some("textregexeq"),
        B::PGRegexIMatch => Some("texticregexeq"),
        B::PGRegexNotMatch => Some("textregexne"),
        B::PGRegexNotIMatch => Some("texticregexne"),
        B::PGCustomBinaryOperator(parts) => match parts.as_slice() {
            [s] => by_name(s),
            [schema, s] if schema.eq_ignore_ascii_case("pg_catalog") => by_name(s),
            _ => None,
        },
        _ => None,
    }
}

fn binop(op: &sp::BinaryOperator) -> TResult<BinOp> {
    use sp::BinaryOperator as B;
    Ok(match op {
        B::Plus => BinOp::Add,
        B::Minus => BinOp::Sub,
        B::Multiply => BinOp::Mul,
        B::Divide => BinOp::Div,
        B::Modulo => BinOp::Mod,
        B::PGExp => BinOp::Pow,
        B::StringConcat => BinOp::Concat,
        B::Eq => BinOp::Eq,
        B::NotEq => BinOp::NotEq,
        B::Lt => BinOp::Lt,
        B::LtEq => BinOp::LtEq,
        B::Gt => BinOp::Gt,
        B::GtEq => BinOp::GtEq,
        B::And => BinOp::And,
        B::Or => BinOp::Or,
        B::BitwiseAnd => BinOp::BitAnd,
        B::BitwiseOr => BinOp::BitOr,
        B::PGBitwiseXor | B::BitwiseXor => BinOp::BitXor,
        B::PGBitwiseShiftLeft => BinOp::ShiftLeft,
        B::PGBitwiseShiftRight => BinOp::ShiftRight,
        B::Arrow => BinOp::JsonGet,
        B::LongArrow => BinOp::JsonGetText,
        B::HashArrow => BinOp::JsonPath,
        B::HashLongArrow => BinOp::JsonPathText,
        B::AtArrow => BinOp::JsonContains,
        B::ArrowAt => BinOp::JsonContained,
        B::Question => BinOp::JsonHasKey,
        B::Spaceship => BinOp::CosineDistance,
        B::LtDashGt => BinOp::L2Distance,
        B::Custom(s) => custom_op(s)?,
        B::PGCustomBinaryOperator(parts) if parts.len() == 1 => custom_op(&parts[0])?,
        other => return Err(unsupported(format!("operator {other}"))),
    })
}

fn custom_op(s: &str) -> TResult<BinOp> {
    Ok(match s {
        "<->" => BinOp::L2Distance,
        "<#>" => BinOp::NegInnerProduct,
        "<=>" => BinOp::CosineDistance,
        "<+>" => BinOp::L1Distance,
        "<~>" => BinOp::HammingDistance,
        "<%>" => BinOp::JaccardDistance,
        other => return Err(unsupported(format!("operator {other}"))),
    })
}

fn number(text: &str) -> TResult<Value> {
    if let Ok(v) = text.parse::<i32>() {
        return Ok(Value::Int4(v));
    }
    if let Ok(v) = text.parse::<i64>() {
        return Ok(Value::Int8(v));
    }
    // Decimal literals are numeric in PostgreSQL.
    text.parse::<bigdecimal::BigDecimal>()
        .map(|d| Value::Numeric(crate::value::Numeric::Value(d)))
        .map_err(|_| syntax(format!("invalid number {text}")))
}

fn bx(e: sp::Expr) -> TResult<Box<Expr>> {
    Ok(Box::new(expr(e)?))
}

pub fn expr(e: sp::Expr) -> TResult<Expr> {
    use sp::Expr as E;
    Ok(match e {
        // sqlparser reads a bare DEFAULT (in VALUES or SET) as an identifier.
        E::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default") => {
            Expr::Default
        }
        // CURRENT_SCHEMA and CURRENT_CATALOG are keywords: written bare
        // they call the function (`current_schema()` is the same call).
        E::Identifier(i)
            if i.quote_style.is_none()
                && ["current_schema", "current_catalog"]
                    .iter()
                    .any(|k| i.value.eq_ignore_ascii_case(k)) =>
        {
            call(&i.value.to_ascii_lowercase(), Vec::new())
        }
        E::Identifier(i) => Expr::Column(vec![ident(&i)]),
        E::CompoundIdentifier(parts) => Expr::Column(parts.iter().map(ident).collect()),
        E::Value(v) => match v.value {
            sp::Value::Number(n, _) => Expr::Literal(number(&n)?),
            sp::Value::SingleQuotedString(s)
            | sp::Value::EscapedStringLiteral(s)
            | sp::Value::UnicodeStringLiteral(s)
            | sp::Value::NationalStringLiteral(s) => Expr::UntypedString(s),
            sp::Value::DollarQuotedString(d) => Expr::UntypedString(d.value),
            sp::Value::HexStringLiteral(h) => Expr::UntypedString(format!("\\x{h}")),
            sp::Value::SingleQuotedByteStringLiteral(b) => {
                Expr::Literal(Value::Bit(crate::value::bits::BitString::parse(&b)?))
            }
            sp::Value::Boolean(b) => Expr::Literal(Value::Bool(b)),
            sp::Value::Null => Expr::Literal(Value::Null),
            sp::Value::Placeholder(p) => {
                let n = p
                    .strip_prefix('$')
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|&n| n >= 1)
                    .ok_or_else(|| syntax(format!("invalid parameter {p}")))?;
                Expr::Param(n)
            }
            other => return Err(unsupported(format!("literal {other}"))),
        },
        E::Nested(e) => expr(*e)?,
        // `~~` and friends are LIKE and ILIKE (what PostgreSQL's deparser
        // prints for them, e.g. in view definitions).
        E::BinaryOp {
            left,
            op:
                op @ (sp::BinaryOperator::PGLikeMatch
                | sp::BinaryOperator::PGILikeMatch
                | sp::BinaryOperator::PGNotLikeMatch
                | sp::BinaryOperator::PGNotILikeMatch),
            right,
        } => Expr::Like {
            expr: bx(*left)?,
            pattern: bx(*right)?,
            escape: None,
            negated: matches!(
                op,
                sp::BinaryOperator::PGNotLikeMatch | sp::BinaryOperator::PGNotILikeMatch
            ),
            case_insensitive: matches!(
                op,
                sp::BinaryOperator::PGILikeMatch | sp::BinaryOperator::PGNotILikeMatch
            ),
        },
        E::BinaryOp { left, op, right } => match regex_op(&op) {
            // `a ~ b` is PostgreSQL's textregexeq(a, b), and so on.
            Some(f) => call(f, vec![expr(*left)?, expr(*right)?]),
            None => Expr::Binary {
                op: binop(&op)?,
                left: bx(*left)?,
                right: bx(*right)?,
            },
        },
        E::UnaryOp { op, expr: inner } => {
            let op = match op {
                sp::UnaryOperator::Minus => UnOp::Neg,
                sp::UnaryOperator::Plus => UnOp::Plus,
                sp::UnaryOperator::Not => UnOp::Not,
                sp::UnaryOperator::BitwiseNot => UnOp::BitNot,
                other => return Err(unsupported(format!("operator {other}"))),
            };
            // Fold "-<number>" so that i64::MIN and numeric literals parse.
            if let (UnOp::Neg, E::Value(v)) = (op, &*inner) {
                if let sp::Value::Number(n, _) = &v.value {
                    return Ok(Expr::Literal(number(&format!("-{n}"))?));
                }
            }
            Expr::Unary {
                op,
                expr: bx(*inner)?,
            }
        }
        E::IsNull(e) => Expr::IsNull {
            expr: bx(*e)?,
            negated: false,
        },
        E::IsNotNull(e) => Expr::IsNull {
            expr: bx(*e)?,
            negated: true,
        },
        E::IsTrue(e) => Expr::IsBool {
            expr: bx(*e)?,
            value: true,
            negated: false,
        },
        E::IsNotTrue(e) => Expr::IsBool {
            expr: bx(*e)?,
            value: true,
            negated: true,
        },
        E::IsFalse(e) => Expr::IsBool {
            expr: bx(*e)?,
            value: false,
            negated: false,
        },
        E::IsNotFalse(e) => Expr::IsBool {
            expr: bx(*e)?,
            value: false,
            negated: true,
        },
        E::IsUnknown(e) => Expr::IsNull {
            expr: bx(*e)?,
            negated: false,
        },
        E::IsNotUnknown(e) => Expr::IsNull {
            expr: bx(*e)?,
            negated: true,
        },
        E::IsDistinctFrom(a, b) => Expr::IsDistinctFrom {
            left: bx(*a)?,
            right: bx(*b)?,
            negated: false,
        },
        E::IsNotDistinctFrom(a, b) => Expr::IsDistinctFrom {
            left: bx(*a)?,
            right: bx(*b)?,
            negated: true,
        },
        E::Between {
            expr: e,
            negated,
            low,
            high,
        } => Expr::Between {
            expr: bx(*e)?,
            low: bx(*low)?,
            high: bx(*high)?,
            negated,
        },
        E::InList {
            expr: e,
            list,
            negated,
        } => Expr::InList {
            expr: bx(*e)?,
            list: list.into_iter().map(expr).collect::<TResult<_>>()?,
            negated,
        },
        E::InSubquery {
            expr: e,
            subquery,
            negated,
        } => Expr::InSubquery {
            expr: bx(*e)?,
            query: Box::new(query(*subquery)?),
            negated,
        },
        E::Exists { subquery, negated } => Expr::Exists {
            query: Box::new(query(*subquery)?),
            negated,
        },
        E::Subquery(q) => Expr::Subquery(Box::new(query(*q)?)),
        E::AnyOp {
            left,
            compare_op,
            right,
            ..
        } => quantified(*left, &compare_op, *right, false)?,
        E::AllOp {
            left,
            compare_op,
            right,
        } => quantified(*left, &compare_op, *right, true)?,
        E::Like {
            negated,
            any: false,
            expr: e,
            pattern,
            escape_char,
        } => Expr::Like {
            expr: bx(*e)?,
            pattern: bx(*pattern)?,
            escape: escape_char.map(|c| bx(*c)).transpose()?,
            negated,
            case_insensitive: false,
        },
        E::ILike {
            negated,
            any: false,
            expr: e,
            pattern,
            escape_char,
        } => Expr::Like {
            expr: bx(*e)?,
            pattern: bx(*pattern)?,
            escape: escape_char.map(|c| bx(*c)).transpose()?,
            negated,
            case_insensitive: true,
        },
        E::Cast {
            expr: e,
            data_type: t,
            ..
        } => Expr::Cast {
            expr: bx(*e)?,
            ty: data_type(&t)?,
        },
        E::TypedString(ts) => {
            let text = match ts.value.value {
                sp::Value::SingleQuotedString(s) => s,
                other => return Err(unsupported(format!("typed literal {other}"))),
            };
            Expr::Cast {
                expr: Box::new(Expr::UntypedString(text)),
                ty: data_type(&ts.data_type)?,
            }
        }
        E::Interval(iv) => {
            let value = expr(*iv.value)?;
            let text = match value {
                Expr::UntypedString(s) => s,
                Expr::Literal(v) => format!("{v:?}"),
                _ => return Err(unsupported("INTERVAL with an expression")),
            };
            let text = match iv.leading_field {
                Some(f) if iv.last_field.is_none() => format!("{text} {f}"),
                _ => text,
            };
            Expr::Cast {
                expr: Box::new(Expr::UntypedString(text)),
                ty: DataType::Interval,
            }
        }
        // `ARRAY(subquery)`.
        E::Function(f)
            if matches!(f.args, sp::FunctionArguments::Subquery(_))
                && f.name.to_string().eq_ignore_ascii_case("array") =>
        {
            let sp::FunctionArguments::Subquery(q) = f.args else {
                return Err(unsupported("ARRAY subquery"));
            };
            Expr::ArraySubquery(Box::new(query(*q)?))
        }
        E::Function(f) => function(f)?,
        E::CompoundFieldAccess { root, access_chain } => {
            let mut out = expr(*root)?;
            for a in access_chain {
                match a {
                    sp::AccessExpr::Subscript(sp::Subscript::Index { index }) => {
                        out = Expr::Subscript {
                            expr: Box::new(out),
                            index: bx(index)?,
                        }
                    }
                    // `t.arr[2]`: the qualified column, then its subscript.
                    sp::AccessExpr::Dot(sp::Expr::Identifier(i))
                        if matches!(out, Expr::Column(_)) =>
                    {
                        if let Expr::Column(n) = &mut out {
                            n.push(ident(&i));
                        }
                    }
                    other => return Err(unsupported(format!("array access {other}"))),
                }
            }
            out
        }
        E::Case {
            operand,
            conditions,
            else_result,
            ..
        } => Expr::Case {
            operand: operand.map(|o| bx(*o)).transpose()?,
            whens: conditions
                .into_iter()
                .map(|w| Ok((expr(w.condition)?, expr(w.result)?)))
                .collect::<TResult<_>>()?,
            else_result: else_result.map(|e| bx(*e)).transpose()?,
        },
        // PostgreSQL 14+: EXTRACT is `extract(text, ...)`, returning numeric.
        E::Extract { field, expr: e, .. } => call(
            "extract",
            vec![
                Expr::UntypedString(field.to_string().to_lowercase()),
                expr(*e)?,
            ],
        ),
        E::Ceil { expr: e, .. } => call("ceil", vec![expr(*e)?]),
        E::Floor { expr: e, .. } => call("floor", vec![expr(*e)?]),
        E::Position { expr: needle, r#in } => call("strpos", vec![expr(*r#in)?, expr(*needle)?]),
        E::Substring {
            expr: e,
            substring_from,
            substring_for,
            ..
        } => {
            let mut args = vec![expr(*e)?];
            args.push(match substring_from {
                Some(f) => expr(*f)?,
                None => Expr::Literal(Value::Int4(1)),
            });
            if let Some(f) = substring_for {
                args.push(expr(*f)?);
            }
            call("substr", args)
        }
        E::Trim {
            trim_where,
            trim_what,
            expr: e,
            trim_characters,
        } => {
            let name = match trim_where {
                Some(sp::TrimWhereField::Leading) => "ltrim",
                Some(sp::TrimWhereField::Trailing) => "rtrim",
                _ => "btrim",
            };
            let mut args = vec![expr(*e)?];
            if let Some(w) = trim_what {
                args.push(expr(*w)?);
            } else if let Some(mut chars) = trim_characters {
                if let Some(c) = chars.pop() {
                    args.push(expr(c)?);
                }
            }
            call(name, args)
        }
        E::Array(a) => Expr::Array(a.elem.into_iter().map(expr).collect::<TResult<_>>()?),
        E::Tuple(items) => Expr::Row(items.into_iter().map(expr).collect::<TResult<_>>()?),
        E::Collate { expr: e, .. } => expr(*e)?,
        E::AtTimeZone {
            timestamp,
            time_zone,
        } => call("timezone", vec![expr(*time_zone)?, expr(*timestamp)?]),
        other => return Err(unsupported(format!("expression {other}"))),
    })
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Box::new(FunctionCall {
        name: name.to_string(),
        args,
        star: false,
        distinct: false,
        filter: None,
        order_by: Vec::new(),
        over: false,
    }))
}

fn quantified(
    left: sp::Expr,
    op: &sp::BinaryOperator,
    right: sp::Expr,
    all: bool,
) -> TResult<Expr> {
    let rhs = match right {
        sp::Expr::Subquery(q) => QuantifiedRhs::Subquery(Box::new(query(*q)?)),
        other => QuantifiedRhs::Expr(bx(other)?),
    };
    Ok(Expr::Quantified {
        left: bx(left)?,
        op: binop(op)?,
        all,
        right: rhs,
    })
}

fn function(f: sp::Function) -> TResult<Expr> {
    let mut parts = object_name(&f.name)?;
    // Built-in functions live in pg_catalog: `pg_catalog.f` is `f`.
    if parts.len() == 2 && parts[0] == "pg_catalog" {
        parts.remove(0);
    }
    let name = parts.join(".");
    if f.over.is_some() {
        return Err(unsupported("window functions"));
    }
    let mut call = FunctionCall {
        name,
        args: Vec::new(),
        star: false,
        distinct: false,
        filter: f.filter.map(|e| expr(*e)).transpose()?,
        order_by: Vec::new(),
        over: false,
    };
    match f.args {
        sp::FunctionArguments::None => {}
        sp::FunctionArguments::Subquery(_) => {
            return Err(unsupported("subquery as function argument list"))
        }
        sp::FunctionArguments::List(list) => {
            call.distinct = matches!(
                list.duplicate_treatment,
                Some(sp::DuplicateTreatment::Distinct)
            );
            for a in list.args {
                match a {
                    sp::FunctionArg::Unnamed(sp::FunctionArgExpr::Wildcard) => call.star = true,
                    other => call.args.push(function_arg(other)?),
                }
            }
            for c in list.clauses {
                match c {
                    sp::FunctionArgumentClause::OrderBy(items) => {
                        call.order_by = items.into_iter().map(order_item).collect::<TResult<_>>()?
                    }
                    other => return Err(unsupported(format!("function clause {other}"))),
                }
            }
        }
    }
    Ok(Expr::Function(Box::new(call)))
}
