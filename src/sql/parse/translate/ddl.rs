//! CREATE TABLE / CREATE INDEX / ALTER TABLE: column specs, table
//! constraints (keys, foreign keys, deferral) and index columns.

use super::*;

pub(super) fn index_column_names(cols: &[sp::IndexColumn]) -> TResult<Vec<String>> {
    cols.iter()
        .map(|c| match &c.column.expr {
            sp::Expr::Identifier(i) => Ok(ident(i)),
            other => Err(unsupported(format!("constraint on expression {other}"))),
        })
        .collect()
}

pub(super) fn ref_action(a: Option<sp::ReferentialAction>) -> RefAction {
    match a {
        None | Some(sp::ReferentialAction::NoAction) => RefAction::NoAction,
        Some(sp::ReferentialAction::Restrict) => RefAction::Restrict,
        Some(sp::ReferentialAction::Cascade) => RefAction::Cascade,
        Some(sp::ReferentialAction::SetNull) => RefAction::SetNull,
        Some(sp::ReferentialAction::SetDefault) => RefAction::SetDefault,
    }
}

/// A constraint's `[NOT] DEFERRABLE [INITIALLY ...]` (INITIALLY DEFERRED
/// implies DEFERRABLE).
pub(super) fn deferral(c: &Option<sp::ConstraintCharacteristics>) -> Deferral {
    let (deferrable, initially_deferred) = match c {
        Some(c) => (
            c.deferrable.unwrap_or(false),
            matches!(c.initially, Some(sp::DeferrableInitial::Deferred)),
        ),
        None => (false, false),
    };
    Deferral {
        deferrable: deferrable || initially_deferred,
        initially_deferred,
    }
}

pub(super) fn foreign_key(
    fk: sp::ForeignKeyConstraint,
    column: Option<&str>,
) -> TResult<ForeignKey> {
    let Deferral {
        deferrable,
        initially_deferred,
    } = deferral(&fk.characteristics);
    Ok(ForeignKey {
        name: fk.name.as_ref().map(ident),
        columns: match column {
            Some(c) => vec![c.to_string()],
            None => fk.columns.iter().map(ident).collect(),
        },
        table: object_name(&fk.foreign_table)?,
        referred: fk.referred_columns.iter().map(ident).collect(),
        on_delete: ref_action(fk.on_delete),
        on_update: ref_action(fk.on_update),
        deferrable,
        initially_deferred,
    })
}

pub(super) fn table_constraint(c: sp::TableConstraint) -> TResult<TableConstraint> {
    Ok(match c {
        sp::TableConstraint::PrimaryKey(pk) => TableConstraint::PrimaryKey {
            name: pk.name.as_ref().map(ident),
            columns: index_column_names(&pk.columns)?,
            deferral: deferral(&pk.characteristics),
        },
        sp::TableConstraint::Unique(u) => TableConstraint::Unique {
            name: u.name.as_ref().map(ident),
            columns: index_column_names(&u.columns)?,
            deferral: deferral(&u.characteristics),
        },
        sp::TableConstraint::Check(ch) => TableConstraint::Check {
            name: ch.name.as_ref().map(ident),
            source: ch.expr.to_string(),
            expr: expr(*ch.expr)?,
        },
        sp::TableConstraint::ForeignKey(fk) => TableConstraint::ForeignKey(foreign_key(fk, None)?),
        other => return Err(unsupported(format!("constraint {other}"))),
    })
}

/// A DEFAULT expression's stored text. `nextval('s'::regclass)` is kept
/// in the form serial columns get and `pg_get_expr` prints (sqlparser
/// prints `REGCLASS`), so a dumped and restored serial default reads the
/// same.
fn default_text(e: &sp::Expr) -> String {
    let text = e.to_string();
    if let Some(arg) = text
        .strip_prefix("nextval(")
        .and_then(|r| r.strip_suffix("::REGCLASS)"))
    {
        if arg.starts_with('\'') && arg.ends_with('\'') && !arg.contains("::") {
            return format!("nextval({arg}::regclass)");
        }
    }
    text
}

/// A quoted literal DEFAULT as PostgreSQL stores and prints it (what
/// `pg_get_expr` shows): the constant of the column's type, in its output
/// form, bare for a non-negative integer, a decimal number with a point or
/// exponent and a boolean, else quoted with a cast (`'-3'::integer`,
/// `'x'::text`, `'5'::numeric`). None for other expressions and types
/// (kept as written), or a value the type does not accept.
fn literal_default(e: &sp::Expr, ty: &DataType) -> Option<String> {
    let sp::Expr::Value(v) = e else {
        return None;
    };
    let sp::Value::SingleQuotedString(text) = &v.value else {
        return None;
    };
    let label = match ty {
        DataType::Int2 | DataType::Int4 | DataType::Int8 => ty.to_string(),
        DataType::Float4 | DataType::Float8 | DataType::Bool => ty.to_string(),
        DataType::Numeric(_) => "numeric".into(),
        DataType::Text | DataType::Uuid | DataType::Json | DataType::Jsonb => ty.to_string(),
        DataType::Varchar(_) => "character varying".into(),
        _ => return None,
    };
    // The constant has the type without its modifier (the column's is
    // applied when a row gets it).
    let base = match ty {
        DataType::Numeric(_) => DataType::Numeric(None),
        DataType::Varchar(_) => DataType::Varchar(None),
        other => other.clone(),
    };
    let tz = crate::value::tz::TimeZone::utc();
    let value = crate::value::text::parse_text(text, &base, &tz).ok()?;
    let out = value.to_pg_text(&tz)?;
    let bare = match ty {
        DataType::Bool => return Some(if out == "t" { "true" } else { "false" }.into()),
        DataType::Int4 => !out.starts_with('-'),
        DataType::Numeric(_) => {
            out.starts_with(|c: char| c.is_ascii_digit()) && out.contains(['.', 'e', 'E'])
        }
        _ => false,
    };
    Some(if bare {
        out
    } else {
        format!("'{}'::{label}", out.replace('\'', "''"))
    })
}

pub(super) fn column_spec(c: sp::ColumnDef) -> TResult<ColumnSpec> {
    let name = ident(&c.name);
    let type_text = c.data_type.to_string().to_lowercase();
    let (ty, serial) = match type_text.as_str() {
        "serial" | "serial4" => (DataType::Int4, true),
        "bigserial" | "serial8" => (DataType::Int8, true),
        "smallserial" | "serial2" => (DataType::Int2, true),
        _ => (data_type(&c.data_type)?, false),
    };
    let mut spec = ColumnSpec {
        name: name.clone(),
        ty,
        serial,
        identity: None,
        not_null: serial,
        default: None,
        default_sql: None,
        generated: None,
        constraints: Vec::new(),
    };
    for o in c.options {
        match o.option {
            sp::ColumnOption::Null => spec.not_null = false,
            sp::ColumnOption::NotNull => spec.not_null = true,
            sp::ColumnOption::Default(e) => {
                spec.default_sql =
                    Some(literal_default(&e, &spec.ty).unwrap_or_else(|| default_text(&e)));
                spec.default = Some(expr(e)?);
            }
            sp::ColumnOption::PrimaryKey(pk) => {
                spec.not_null = true;
                spec.constraints.push(TableConstraint::PrimaryKey {
                    name: o.name.as_ref().or(pk.name.as_ref()).map(ident),
                    columns: vec![name.clone()],
                    deferral: deferral(&pk.characteristics),
                })
            }
            sp::ColumnOption::Unique(u) => spec.constraints.push(TableConstraint::Unique {
                name: o.name.as_ref().or(u.name.as_ref()).map(ident),
                columns: vec![name.clone()],
                deferral: deferral(&u.characteristics),
            }),
            sp::ColumnOption::Check(ch) => spec.constraints.push(TableConstraint::Check {
                name: o.name.as_ref().or(ch.name.as_ref()).map(ident),
                source: ch.expr.to_string(),
                expr: expr(*ch.expr)?,
            }),
            sp::ColumnOption::ForeignKey(fk) => {
                let mut fk = foreign_key(fk, Some(&name))?;
                if fk.name.is_none() {
                    fk.name = o.name.as_ref().map(ident);
                }
                spec.constraints.push(TableConstraint::ForeignKey(fk))
            }
            sp::ColumnOption::Generated {
                generation_expr: Some(e),
                generation_expr_mode,
                generated_keyword,
                ..
            } => {
                // PostgreSQL 15 has stored generated columns only, spelled
                // out in full (sqlparser accepts `AS (expr)` too).
                if !generated_keyword
                    || !matches!(
                        generation_expr_mode,
                        Some(sp::GeneratedExpressionMode::Stored)
                    )
                {
                    return Err(syntax(format!(
                        "syntax error at or near \"(\" in the definition of column \"{name}\""
                    )));
                }
                spec.generated = Some(expr(e)?);
            }
            sp::ColumnOption::Generated {
                generated_as,
                generation_expr: None,
                ..
            } => {
                spec.identity = Some(match generated_as {
                    sp::GeneratedAs::Always => Identity::Always,
                    _ => Identity::ByDefault,
                });
                spec.not_null = true;
            }
            other => return Err(unsupported(format!("column option {other}"))),
        }
    }
    Ok(spec)
}

pub(super) fn create_table(c: sp::CreateTable) -> TResult<CreateTable> {
    if c.query.is_some() {
        return Err(unsupported("CREATE TABLE AS"));
    }
    if matches!(
        c.on_commit,
        Some(sp::OnCommit::DeleteRows | sp::OnCommit::Drop)
    ) {
        return Err(unsupported("ON COMMIT DELETE ROWS / ON COMMIT DROP"));
    }
    Ok(CreateTable {
        name: object_name(&c.name)?,
        temporary: c.temporary,
        if_not_exists: c.if_not_exists,
        columns: c
            .columns
            .into_iter()
            .map(column_spec)
            .collect::<TResult<_>>()?,
        constraints: c
            .constraints
            .into_iter()
            .map(table_constraint)
            .collect::<TResult<_>>()?,
        fillfactor: fillfactor(&c.table_options)?,
    })
}

/// `WITH (fillfactor = n)` of CREATE TABLE, checked as PostgreSQL does.
/// Other storage parameters are accepted and have no effect.
fn fillfactor(options: &sp::CreateTableOptions) -> TResult<Option<u8>> {
    let sp::CreateTableOptions::With(options) = options else {
        return Ok(None);
    };
    let mut out = None;
    for o in options {
        let sp::SqlOption::KeyValue { key, value } = o else {
            continue;
        };
        if !key.value.eq_ignore_ascii_case("fillfactor") {
            continue;
        }
        let text = match value {
            sp::Expr::Value(v) => match &v.value {
                sp::Value::Number(n, _) => n.clone(),
                sp::Value::SingleQuotedString(s) => s.clone(),
                other => other.to_string(),
            },
            other => other.to_string(),
        };
        let n: i64 = text.trim().parse().map_err(|_| {
            SqlError::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("invalid value for integer option \"fillfactor\": {text}"),
            )
        })?;
        if !(10..=100).contains(&n) {
            return Err(SqlError::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("value {n} out of bounds for option \"fillfactor\""),
            )
            .with_detail("Valid values are between \"10\" and \"100\"."));
        }
        out = Some(n as u8);
    }
    Ok(out)
}

pub(super) fn create_view(v: sp::CreateView) -> TResult<CreateView> {
    if v.materialized {
        return Err(unsupported("CREATE MATERIALIZED VIEW"));
    }
    if v.temporary {
        return Err(unsupported("CREATE TEMPORARY VIEW"));
    }
    if v.or_alter || v.if_not_exists || v.to.is_some() || v.params.is_some() {
        return Err(syntax("syntax error in CREATE VIEW"));
    }
    if !matches!(v.options, sp::CreateTableOptions::None) {
        return Err(unsupported("CREATE VIEW ... WITH (options)"));
    }
    if v.columns
        .iter()
        .any(|c| c.data_type.is_some() || c.options.is_some())
    {
        return Err(syntax("syntax error in the column list of CREATE VIEW"));
    }
    Ok(CreateView {
        name: object_name(&v.name)?,
        or_replace: v.or_replace,
        columns: v.columns.iter().map(|c| ident(&c.name)).collect(),
        query: query(*v.query)?,
    })
}

pub(super) fn create_index(c: sp::CreateIndex) -> TResult<CreateIndex> {
    let predicate = match c.predicate {
        Some(p) => {
            // `WHERE (a > 0)` is stored as `a > 0`, as PostgreSQL keeps a
            // tree and prints one pair of parentheses around it: a dump's
            // `WHERE (a > 0)` must not come back as `((a > 0))`.
            let mut p = p;
            while let sp::Expr::Nested(inner) = p {
                p = *inner;
            }
            let source = p.to_string();
            Some((expr(p)?, source))
        }
        None => None,
    };
    let mut with = Vec::new();
    for w in c.with {
        match w {
            sp::Expr::BinaryOp {
                left,
                op: sp::BinaryOperator::Eq,
                right,
            } => {
                let key = match *left {
                    sp::Expr::Identifier(i) => ident(&i),
                    other => return Err(syntax(format!("bad index option {other}"))),
                };
                with.push((key, expr(*right)?));
            }
            other => return Err(syntax(format!("bad index option {other}"))),
        }
    }
    Ok(CreateIndex {
        name: c.name.as_ref().map(last_ident).transpose()?,
        table: object_name(&c.table_name)?,
        columns: c
            .columns
            .into_iter()
            .map(|ic| {
                Ok(IndexColumn {
                    desc: matches!(ic.column.options.sort, Some(sp::OrderBySort::Desc)),
                    source: ic.column.expr.to_string(),
                    expr: expr(ic.column.expr)?,
                    opclass: ic.operator_class.as_ref().map(last_ident).transpose()?,
                })
            })
            .collect::<TResult<_>>()?,
        unique: c.unique,
        if_not_exists: c.if_not_exists,
        method: c.using.map(|u| u.to_string().to_lowercase()),
        with,
        predicate,
    })
}

pub(super) fn alter_table(a: sp::AlterTable) -> TResult<Statement> {
    let name = object_name(&a.name)?;
    let mut ops = Vec::new();
    for op in a.operations {
        use sp::AlterTableOperation as A;
        ops.push(match op {
            A::AddColumn {
                column_def,
                if_not_exists,
                ..
            } => AlterOp::AddColumn {
                spec: column_spec(column_def)?,
                if_not_exists,
            },
            A::DropColumn {
                column_names,
                if_exists,
                drop_behavior,
                ..
            } => {
                if column_names.len() != 1 {
                    return Err(unsupported("dropping several columns at once"));
                }
                AlterOp::DropColumn {
                    name: ident(&column_names[0]),
                    if_exists,
                    cascade: matches!(drop_behavior, Some(sp::DropBehavior::Cascade)),
                }
            }
            A::AddConstraint { constraint, .. } => {
                AlterOp::AddConstraint(table_constraint(constraint)?)
            }
            A::DropConstraint {
                name, if_exists, ..
            } => AlterOp::DropConstraint {
                name: ident(&name),
                if_exists,
            },
            A::RenameTable { table_name } => AlterOp::RenameTable(match table_name {
                sp::RenameTableNameKind::To(n) | sp::RenameTableNameKind::As(n) => last_ident(&n)?,
            }),
            A::RenameColumn {
                old_column_name,
                new_column_name,
            } => AlterOp::RenameColumn {
                old: ident(&old_column_name),
                new: ident(&new_column_name),
            },
            A::AlterColumn { column_name, op } => {
                let column = ident(&column_name);
                match op {
                    sp::AlterColumnOperation::SetNotNull => AlterOp::AlterColumnNotNull {
                        column,
                        not_null: true,
                    },
                    sp::AlterColumnOperation::DropNotNull => AlterOp::AlterColumnNotNull {
                        column,
                        not_null: false,
                    },
                    sp::AlterColumnOperation::SetDefault { value } => {
                        AlterOp::AlterColumnSetDefault {
                            column,
                            default: Some(default_text(&value)),
                        }
                    }
                    sp::AlterColumnOperation::DropDefault => AlterOp::AlterColumnSetDefault {
                        column,
                        default: None,
                    },
                    sp::AlterColumnOperation::SetDataType {
                        data_type: t,
                        using,
                        ..
                    } => AlterOp::AlterColumnType {
                        column,
                        ty: data_type(&t)?,
                        using: using.map(expr).transpose()?,
                    },
                    other => return Err(unsupported(format!("ALTER COLUMN {other}"))),
                }
            }
            other => return Err(unsupported(format!("ALTER TABLE {other}"))),
        });
    }
    Ok(Statement::AlterTable {
        name,
        if_exists: a.if_exists,
        ops,
    })
}
