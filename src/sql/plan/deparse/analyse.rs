//! Analysis: a query becomes the deparse tree ([`D`], [`DQuery`]) as
//! PostgreSQL's parser analyses it.

use super::*;

impl Deparser<'_> {
    pub(super) fn new_rte(
        &mut self,
        name: &str,
        base: &str,
        aliased: bool,
        function: bool,
    ) -> usize {
        self.rtes.push(Rte {
            name: name.to_string(),
            base: base.to_string(),
            aliased,
            function,
            refname: name.to_string(),
        });
        self.rtes.len() - 1
    }

    pub(super) fn note_dep(&mut self, dep: Option<(Oid, usize)>) {
        if let Some((rel, col)) = dep {
            self.deps.entry(rel).or_default().insert(col);
        }
    }

    // ----------------------------------------------------------- queries

    pub(super) fn query(&mut self, q: &ast::Query) -> PlanResult<(DQuery, Vec<OutCol>)> {
        if q.locking.is_some() {
            return Err(unsupported("FOR UPDATE/SHARE"));
        }
        let saved_ctes = self.ctes.len();
        let result = self.query_inner(q);
        self.ctes.truncate(saved_ctes);
        result
    }

    pub(super) fn query_inner(&mut self, q: &ast::Query) -> PlanResult<(DQuery, Vec<OutCol>)> {
        let mut ctes = Vec::new();
        for c in &q.ctes {
            let (query, cols) =
                if q.recursive && crate::sql::plan::query::query_references(&c.query, &c.name) {
                    self.recursive_cte(c)?
                } else {
                    self.query(&c.query)?
                };
            let cols = rename(cols, &c.columns);
            self.ctes.push(CteInfo {
                name: c.name.clone(),
                cols,
            });
            ctes.push(DCte {
                name: c.name.clone(),
                columns: c.columns.clone(),
                query,
            });
        }
        let mut rtable = Vec::new();
        let (body, cols, order_by) = match &q.body {
            ast::SetExpr::Select(s) => {
                let (sel, cols, order) = self.select(s, &q.order_by, &mut rtable)?;
                (DBody::Select(Box::new(sel)), cols, order)
            }
            ast::SetExpr::Values(rows) if q.order_by.is_empty() => {
                let (rows, cols) = self.values(rows)?;
                (DBody::Values(rows), cols, Vec::new())
            }
            ast::SetExpr::SetOp { .. } => {
                let (op, cols) = self.set_op(&q.body)?;
                let order = self.set_op_order(&q.order_by, &cols)?;
                (DBody::SetOp(op), cols, order)
            }
            ast::SetExpr::Query(inner) if q.ctes.is_empty() => {
                // Parenthesised query: a query of its own, with its own
                // clauses, as a one-leaf set operation would be.
                let (dq, cols) = self.query(inner)?;
                let order = self.set_op_order(&q.order_by, &cols)?;
                (DBody::SetOp(DSetOp::Leaf(Box::new(dq))), cols, order)
            }
            _ => return Err(unsupported("this query form")),
        };
        let limit = match &q.limit {
            Some(e) => Some(self.limit_expr(e)?),
            None => None,
        };
        let offset = match &q.offset {
            Some(e) => Some(self.limit_expr(e)?),
            None => None,
        };
        Ok((
            DQuery {
                ctes,
                recursive: q.recursive,
                body,
                order_by,
                limit,
                offset,
                rtable,
                reserved: Vec::new(),
            },
            cols,
        ))
    }

    pub(super) fn limit_expr(&mut self, e: &Expr) -> PlanResult<D> {
        if matches!(e, Expr::Literal(Value::Null)) {
            return Ok(D::Const {
                text: "NULL".into(),
                label: None,
                ty: String::new(),
            });
        }
        let t = self.expr(e, &DScope::default())?;
        self.coerce(t, &DataType::Int8, true)
    }

    /// `WITH RECURSIVE name AS (anchor UNION [ALL] step)`: the step sees
    /// the CTE with the anchor's columns.
    pub(super) fn recursive_cte(&mut self, c: &ast::Cte) -> PlanResult<(DQuery, Vec<OutCol>)> {
        let ast::SetExpr::SetOp {
            op: SetOp::Union,
            all,
            left,
            right,
        } = &c.query.body
        else {
            return Err(unsupported("this recursive query"));
        };
        let (anchor, anchor_cols) = self.set_op_leaf(left)?;
        let anchor_cols: Vec<OutCol> = anchor_cols
            .into_iter()
            .map(|c| OutCol {
                ty: if c.ty == DataType::Unknown {
                    DataType::Text
                } else {
                    c.ty
                },
                ..c
            })
            .collect();
        self.ctes.push(CteInfo {
            name: c.name.clone(),
            cols: rename(anchor_cols.clone(), &c.columns),
        });
        let step = self.set_op_leaf(right);
        self.ctes.pop();
        let (step, _) = step?;
        let body = DSetOp::Op {
            op: SetOp::Union,
            all: *all,
            left: Box::new(anchor),
            right: Box::new(step),
        };
        Ok((
            DQuery {
                ctes: Vec::new(),
                recursive: false,
                body: DBody::SetOp(body),
                order_by: Vec::new(),
                limit: None,
                offset: None,
                rtable: Vec::new(),
                reserved: Vec::new(),
            },
            anchor_cols,
        ))
    }

    pub(super) fn set_op_leaf(&mut self, s: &ast::SetExpr) -> PlanResult<(DSetOp, Vec<OutCol>)> {
        match s {
            ast::SetExpr::SetOp { .. } => self.set_op(s),
            // A parenthesised set operation is a node of the tree.
            ast::SetExpr::Query(q)
                if q.ctes.is_empty()
                    && q.order_by.is_empty()
                    && q.limit.is_none()
                    && q.offset.is_none()
                    && q.locking.is_none()
                    && matches!(q.body, ast::SetExpr::SetOp { .. }) =>
            {
                self.set_op(&q.body)
            }
            ast::SetExpr::Query(q) => {
                let (dq, cols) = self.query(q)?;
                Ok((DSetOp::Leaf(Box::new(dq)), cols))
            }
            other => {
                let q = ast::Query {
                    ctes: Vec::new(),
                    recursive: false,
                    body: other.clone(),
                    order_by: Vec::new(),
                    limit: None,
                    offset: None,
                    locking: None,
                };
                let (dq, cols) = self.query(&q)?;
                Ok((DSetOp::Leaf(Box::new(dq)), cols))
            }
        }
    }

    pub(super) fn set_op(&mut self, s: &ast::SetExpr) -> PlanResult<(DSetOp, Vec<OutCol>)> {
        let ast::SetExpr::SetOp {
            op,
            all,
            left,
            right,
        } = s
        else {
            return self.set_op_leaf(s);
        };
        let (mut l, lcols) = self.set_op_leaf(left)?;
        let (mut r, rcols) = self.set_op_leaf(right)?;
        let what = match op {
            SetOp::Union => "UNION",
            SetOp::Intersect => "INTERSECT",
            SetOp::Except => "EXCEPT",
        };
        if lcols.len() != rcols.len() {
            return Err(SqlError::new(
                SqlState::SYNTAX_ERROR,
                format!("each {what} query must have the same number of columns"),
            ));
        }
        let mut cols = Vec::new();
        for (i, (a, b)) in lcols.iter().zip(&rcols).enumerate() {
            let ty = resolve::common_type(&[a.ty.clone(), b.ty.clone()], what)?;
            let ty = if ty == DataType::Unknown {
                DataType::Text
            } else {
                ty
            };
            // Untyped literal columns take the common type in the leaves.
            if a.ty == DataType::Unknown {
                type_leaf_column(&mut l, i, &ty);
            }
            if b.ty == DataType::Unknown {
                type_leaf_column(&mut r, i, &ty);
            }
            cols.push(OutCol {
                name: a.name.clone(),
                ty,
            });
        }
        Ok((
            DSetOp::Op {
                op: *op,
                all: *all,
                left: Box::new(l),
                right: Box::new(r),
            },
            cols,
        ))
    }

    /// ORDER BY of a set operation: output columns, by position or name
    /// (printed by position, as PostgreSQL does).
    pub(super) fn set_op_order(
        &mut self,
        items: &[ast::OrderItem],
        cols: &[OutCol],
    ) -> PlanResult<Vec<DSort>> {
        let mut out = Vec::new();
        for o in items {
            let pos = match &o.expr {
                Expr::Literal(Value::Int4(n)) if *n >= 1 && (*n as usize) <= cols.len() => {
                    *n as usize
                }
                Expr::Column(n) if n.len() == 1 => {
                    cols.iter()
                        .position(|c| c.name == n[0])
                        .ok_or_else(|| crate::sql::plan::undefined_column(&n[0]))?
                        + 1
                }
                _ => return Err(unsupported("ORDER BY an expression of a set operation")),
            };
            out.push(DSort {
                expr: D::Const {
                    text: pos.to_string(),
                    label: None,
                    ty: String::new(),
                },
                desc: o.desc,
                nulls_first: o.nulls_first.unwrap_or(o.desc),
            });
        }
        Ok(out)
    }

    pub(super) fn values(&mut self, rows: &[Vec<Expr>]) -> PlanResult<(Vec<Vec<D>>, Vec<OutCol>)> {
        let width = rows.first().map_or(0, Vec::len);
        let mut typed: Vec<Vec<T>> = Vec::new();
        for r in rows {
            if r.len() != width {
                return Err(SqlError::new(
                    SqlState::SYNTAX_ERROR,
                    "VALUES lists must all be the same length",
                ));
            }
            let mut row = Vec::new();
            for e in r {
                row.push(self.expr(e, &DScope::default())?);
            }
            typed.push(row);
        }
        let mut cols = Vec::new();
        for i in 0..width {
            let types: Vec<DataType> = typed.iter().map(|r| r[i].ty.clone()).collect();
            let ty = resolve::common_type(&types, "VALUES")?;
            let ty = if ty == DataType::Unknown {
                DataType::Text
            } else {
                ty
            };
            cols.push(OutCol {
                name: format!("column{}", i + 1),
                ty,
            });
        }
        let mut out = Vec::new();
        for row in typed {
            let mut r = Vec::new();
            for (i, t) in row.into_iter().enumerate() {
                r.push(self.coerce(t, &cols[i].ty, true)?);
            }
            out.push(r);
        }
        Ok((out, cols))
    }

    pub(super) fn select(
        &mut self,
        sel: &ast::Select,
        order_by: &[ast::OrderItem],
        rtable: &mut Vec<usize>,
    ) -> PlanResult<(DSelect, Vec<OutCol>, Vec<DSort>)> {
        if crate::sql::plan::query::srf_select_to_from(sel)?.is_some() {
            return Err(unsupported("a set-returning function in the select list"));
        }
        let mut from = Vec::new();
        let mut scope = DScope::default();
        for item in &sel.from {
            let (f, s) = self.range_item(item, rtable)?;
            from.push(f);
            scope.cols.extend(s.cols);
        }
        let selection = match &sel.selection {
            Some(w) => {
                let t = self.expr(w, &scope)?;
                Some(self.coerce(t, &DataType::Bool, false)?)
            }
            None => None,
        };
        // The select list, `*` expanded.
        let mut items: Vec<(Option<Expr>, Option<T>, String)> = Vec::new();
        for item in &sel.projection {
            match item {
                ast::SelectItem::Wildcard => {
                    let cols: Vec<DCol> = scope.cols.iter().filter(|c| c.star).cloned().collect();
                    for c in cols {
                        self.note_dep(c.dep);
                        items.push((None, Some(T::typed(c.var.clone(), c.ty.clone())), c.name));
                    }
                }
                ast::SelectItem::QualifiedWildcard(name) => {
                    let t = name.last().cloned().unwrap_or_default();
                    let cols: Vec<DCol> = scope
                        .cols
                        .iter()
                        .filter(|c| c.rte.is_some_and(|r| self.rtes[r].name == t))
                        .cloned()
                        .collect();
                    if cols.is_empty() {
                        return Err(SqlError::new(
                            SqlState::UNDEFINED_TABLE,
                            format!("missing FROM-clause entry for table \"{t}\""),
                        ));
                    }
                    for c in cols {
                        self.note_dep(c.dep);
                        items.push((None, Some(T::typed(c.var.clone(), c.ty.clone())), c.name));
                    }
                }
                ast::SelectItem::Expr { expr, alias } => {
                    let name = alias.clone().unwrap_or_else(|| default_column_name(expr));
                    items.push((Some(expr.clone()), None, name));
                }
            }
        }
        let mut targets = Vec::new();
        let mut cols = Vec::new();
        for (e, t, name) in &items {
            let t = match (e, t) {
                (_, Some(t)) => t.clone(),
                (Some(e), None) => self.expr(e, &scope)?,
                (None, None) => unreachable_item()?,
            };
            let ty = if t.ty == DataType::Unknown {
                DataType::Text
            } else {
                t.ty.clone()
            };
            let d = self.coerce(t, &ty, true)?;
            targets.push(DTarget {
                expr: d,
                name: name.clone(),
            });
            cols.push(OutCol {
                name: name.clone(),
                ty,
            });
        }
        // GROUP BY, DISTINCT ON and ORDER BY may name output columns.
        let by_output = |this: &mut Self, e: &Expr, group: bool| -> PlanResult<D> {
            match e {
                Expr::Literal(Value::Int4(n)) => targets
                    .get((*n as usize).wrapping_sub(1))
                    .map(|t| t.expr.clone())
                    .ok_or_else(|| crate::sql::plan::binder::order_position_error(*n)),
                Expr::Column(n)
                    if n.len() == 1
                        && (!group || scope_lookup(&scope, n).is_none())
                        && items.iter().filter(|(_, _, name)| name == &n[0]).count() == 1 =>
                {
                    let i = items
                        .iter()
                        .position(|(_, _, name)| name == &n[0])
                        .expect("counted above");
                    Ok(targets[i].expr.clone())
                }
                e => match items.iter().position(|(ie, _, _)| ie.as_ref() == Some(e)) {
                    Some(i) => Ok(targets[i].expr.clone()),
                    None => {
                        let t = this.expr(e, &scope)?;
                        this.coerce(t, &DataType::Unknown, true)
                    }
                },
            }
        };
        let mut group_by = Vec::new();
        for g in &sel.group_by {
            group_by.push(by_output(self, g, true)?);
        }
        let having = match &sel.having {
            Some(h) => {
                let t = self.expr(h, &scope)?;
                Some(self.coerce(t, &DataType::Bool, false)?)
            }
            None => None,
        };
        let (distinct, distinct_all) = match &sel.distinct {
            ast::Distinct::None => (None, false),
            ast::Distinct::All => (None, true),
            ast::Distinct::On(on) => {
                let mut keys = Vec::new();
                for e in on {
                    keys.push(by_output(self, e, false)?);
                }
                (Some(keys), false)
            }
        };
        let mut order = Vec::new();
        for o in order_by {
            order.push(DSort {
                expr: by_output(self, &o.expr, false)?,
                desc: o.desc,
                nulls_first: o.nulls_first.unwrap_or(o.desc),
            });
        }
        Ok((
            DSelect {
                distinct,
                distinct_all,
                targets,
                from,
                selection,
                group_by,
                having,
            },
            cols,
            order,
        ))
    }

    // ------------------------------------------------------------- FROM

    pub(super) fn range_item(
        &mut self,
        t: &ast::TableRef,
        rtable: &mut Vec<usize>,
    ) -> PlanResult<(DFrom, DScope)> {
        match t {
            ast::TableRef::Table { name, alias } => self.relation(name, alias.as_ref(), rtable),
            ast::TableRef::Subquery {
                query,
                alias,
                lateral,
            } => {
                if *lateral {
                    return Err(unsupported("LATERAL"));
                }
                let Some(alias) = alias else {
                    return Err(SqlError::new(
                        SqlState::SYNTAX_ERROR,
                        "subquery in FROM must have an alias",
                    ));
                };
                // A subquery in FROM sees the enclosing queries, not its
                // siblings.
                let (dq, cols) = self.query(query)?;
                let rte = self.new_rte(&alias.name, &alias.name, true, false);
                rtable.push(rte);
                let cols = rename(cols, &alias.columns);
                let scope = self.rte_scope(rte, &cols, None);
                let aliases = (!alias.columns.is_empty())
                    .then(|| cols.iter().map(|c| c.name.clone()).collect());
                Ok((
                    DFrom::Subquery {
                        rte,
                        query: Box::new(dq),
                        aliases,
                    },
                    scope,
                ))
            }
            ast::TableRef::Function {
                name,
                args,
                alias,
                ordinality,
            } => {
                let fname = match name.as_slice() {
                    [schema, f] if schema == "pg_catalog" => f.clone(),
                    [f] => f.clone(),
                    _ => return Err(unsupported("this function in FROM")),
                };
                let mut targs = Vec::new();
                let mut types = Vec::new();
                for a in args {
                    let t = self.expr(a, &DScope::default())?;
                    types.push(t.ty.clone());
                    targs.push(t);
                }
                let (want, ty): (Vec<DataType>, DataType) = match fname.as_str() {
                    "generate_series"
                        if types
                            .iter()
                            .all(|t| t.is_integer() || *t == DataType::Unknown) =>
                    {
                        let ty = if types.contains(&DataType::Int8) {
                            DataType::Int8
                        } else {
                            DataType::Int4
                        };
                        (vec![ty.clone(); types.len()], ty)
                    }
                    "unnest" if types.len() == 1 => match &types[0] {
                        DataType::Array(e) => (types.clone(), (**e).clone()),
                        _ => return Err(unsupported("unnest of this argument")),
                    },
                    _ => return Err(unsupported(format!("function {fname} in FROM"))),
                };
                let mut dargs = Vec::new();
                for (t, w) in targs.into_iter().zip(&want) {
                    dargs.push(self.coerce(t, w, true)?);
                }
                let label = alias.as_ref().map_or(fname.clone(), |a| a.name.clone());
                let mut cols = vec![OutCol {
                    name: fname.clone(),
                    ty,
                }];
                if *ordinality {
                    cols.push(OutCol {
                        name: "ordinality".into(),
                        ty: DataType::Int8,
                    });
                }
                let renames = alias.as_ref().map(|a| a.columns.as_slice()).unwrap_or(&[]);
                // A single-column function's column is named like the
                // alias when no column alias is given.
                let cols = if renames.is_empty() && alias.is_some() {
                    let mut c = cols;
                    c[0].name = label.clone();
                    c
                } else {
                    rename(cols, renames)
                };
                let rte = self.new_rte(&label, &fname, alias.is_some(), true);
                rtable.push(rte);
                let scope = self.rte_scope(rte, &cols, None);
                Ok((
                    DFrom::Function {
                        rte,
                        call: D::Func {
                            name: fname,
                            args: dargs,
                        },
                        ordinality: *ordinality,
                        aliases: cols.iter().map(|c| c.name.clone()).collect(),
                    },
                    scope,
                ))
            }
            ast::TableRef::Join {
                left,
                right,
                kind,
                constraint,
            } => {
                let (l, ls) = self.range_item(left, rtable)?;
                let (r, rs) = self.range_item(right, rtable)?;
                let using: Vec<String> = match constraint {
                    ast::JoinConstraint::Using(cols) => cols.clone(),
                    ast::JoinConstraint::Natural => ls
                        .cols
                        .iter()
                        .filter(|c| c.unqualified)
                        .filter(|c| rs.cols.iter().any(|r| r.unqualified && r.name == c.name))
                        .map(|c| c.name.clone())
                        .collect(),
                    _ => Vec::new(),
                };
                let mut scope = DScope::default();
                let mut left_cols = ls.cols;
                let mut right_cols = rs.cols;
                let full = matches!(kind, JoinKind::Full);
                for u in &using {
                    let find = |cols: &[DCol], side: &str| -> PlanResult<usize> {
                        let hits: Vec<usize> = cols
                            .iter()
                            .enumerate()
                            .filter(|(_, c)| c.unqualified && &c.name == u)
                            .map(|(i, _)| i)
                            .collect();
                        match hits.as_slice() {
                            [i] => Ok(*i),
                            [] => Err(SqlError::new(
                                SqlState::UNDEFINED_COLUMN,
                                format!(
                                    "column \"{u}\" specified in USING clause does not exist in {side} table"
                                ),
                            )),
                            _ => Err(SqlError::new(
                                SqlState::AMBIGUOUS_COLUMN,
                                format!(
                                    "common column name \"{u}\" appears more than once in {side} table"
                                ),
                            )),
                        }
                    };
                    let li = find(&left_cols, "left")?;
                    let ri = find(&right_cols, "right")?;
                    let (lc, rc) = (left_cols[li].clone(), right_cols[ri].clone());
                    self.note_dep(lc.dep);
                    self.note_dep(rc.dep);
                    let ty = resolve::common_type(&[lc.ty.clone(), rc.ty.clone()], "JOIN/USING")?;
                    let simple = lc.ty.oid() == rc.ty.oid();
                    let var = match kind {
                        _ if full || !simple => D::Var {
                            rte: None,
                            name: u.clone(),
                        },
                        JoinKind::Right => rc.var.clone(),
                        _ => lc.var.clone(),
                    };
                    scope.cols.push(DCol {
                        name: u.clone(),
                        ty,
                        var,
                        rte: None,
                        unqualified: true,
                        star: true,
                        dep: None,
                    });
                    for c in [&mut left_cols[li], &mut right_cols[ri]] {
                        c.unqualified = false;
                        c.star = false;
                    }
                }
                scope.cols.extend(left_cols);
                scope.cols.extend(right_cols);
                let on = match constraint {
                    ast::JoinConstraint::On(e) => {
                        let t = self.expr(e, &scope)?;
                        Some(self.coerce(t, &DataType::Bool, false)?)
                    }
                    _ => None,
                };
                let kind = match (kind, &on, using.is_empty()) {
                    (JoinKind::Inner, None, true) => JoinKind::Cross,
                    (k, _, _) => *k,
                };
                Ok((
                    DFrom::Join {
                        left: Box::new(l),
                        right: Box::new(r),
                        kind,
                        using,
                        on,
                    },
                    scope,
                ))
            }
        }
    }

    /// A table, view, CTE or system relation in FROM.
    pub(super) fn relation(
        &mut self,
        name: &ast::Name,
        alias: Option<&ast::TableAlias>,
        rtable: &mut Vec<usize>,
    ) -> PlanResult<(DFrom, DScope)> {
        let tname = name.last().cloned().unwrap_or_default();
        let label = alias.map_or(tname.clone(), |a| a.name.clone());
        let renames = alias.map(|a| a.columns.as_slice()).unwrap_or(&[]);
        let aliases = |cols: &[OutCol]| {
            (!renames.is_empty()).then(|| cols.iter().map(|c| c.name.clone()).collect())
        };
        if name.len() == 1 {
            if let Some(cte) = self.ctes.iter().rev().find(|c| c.name == tname) {
                let cols = rename(cte.cols.clone(), renames);
                let rte = self.new_rte(&label, &tname, alias.is_some(), false);
                rtable.push(rte);
                let scope = self.rte_scope(rte, &cols, None);
                return Ok((
                    DFrom::Rel {
                        rte,
                        name: quote_ident(&tname),
                        aliases: aliases(&cols),
                    },
                    scope,
                ));
            }
        }
        let schema = name.len().checked_sub(2).map(|i| name[i].as_str());
        if let Some(sys) = self.catalog.system_relation(schema, &tname)? {
            let cols: Vec<OutCol> = sys
                .columns
                .iter()
                .map(|c| OutCol {
                    name: c.name.clone(),
                    ty: c.ty.clone(),
                })
                .collect();
            let cols = rename(cols, renames);
            let printed = match sys.qualified_name.split_once('.') {
                Some(("pg_catalog", n)) => quote_ident(n),
                Some((s, n)) => format!("{}.{}", quote_ident(s), quote_ident(n)),
                None => quote_ident(&sys.qualified_name),
            };
            let rte = self.new_rte(&label, &tname, alias.is_some(), false);
            rtable.push(rte);
            let scope = self.rte_scope(rte, &cols, None);
            return Ok((
                DFrom::Rel {
                    rte,
                    name: printed,
                    aliases: aliases(&cols),
                },
                scope,
            ));
        }
        if let Some(table) = self.catalog.table(name)? {
            let cols: Vec<(usize, OutCol)> = table
                .live_columns()
                .map(|(i, c)| {
                    (
                        i,
                        OutCol {
                            name: c.name.clone(),
                            ty: c.ty.clone(),
                        },
                    )
                })
                .collect();
            let positions: Vec<usize> = cols.iter().map(|(i, _)| *i).collect();
            let cols = rename(cols.into_iter().map(|(_, c)| c).collect(), renames);
            // Columns a column alias list names are read (their names are
            // in the definition).
            let entry = self.deps.entry(table.oid).or_default();
            entry.extend(positions.iter().take(renames.len()).copied());
            let rte = self.new_rte(&label, &tname, alias.is_some(), false);
            rtable.push(rte);
            let scope = self.rte_scope(rte, &cols, Some((table.oid, &positions)));
            return Ok((
                DFrom::Rel {
                    rte,
                    name: self.catalog.relation_text(table.namespace, &tname)?,
                    aliases: aliases(&cols),
                },
                scope,
            ));
        }
        if let Some(view) = self.catalog.view(name)? {
            let cols: Vec<OutCol> = view
                .columns
                .iter()
                .map(|c| OutCol {
                    name: c.name.clone(),
                    ty: c.ty.clone(),
                })
                .collect();
            let positions: Vec<usize> = (0..cols.len()).collect();
            let cols = rename(cols, renames);
            self.deps.entry(view.oid).or_default();
            let rte = self.new_rte(&label, &tname, alias.is_some(), false);
            rtable.push(rte);
            let scope = self.rte_scope(rte, &cols, Some((view.oid, &positions)));
            return Ok((
                DFrom::Rel {
                    rte,
                    name: self.catalog.relation_text(view.namespace, &tname)?,
                    aliases: aliases(&cols),
                },
                scope,
            ));
        }
        Err(crate::sql::plan::undefined_table(&name.join(".")))
    }

    pub(super) fn rte_scope(
        &self,
        rte: usize,
        cols: &[OutCol],
        rel: Option<(Oid, &[usize])>,
    ) -> DScope {
        DScope {
            cols: cols
                .iter()
                .enumerate()
                .map(|(i, c)| DCol {
                    name: c.name.clone(),
                    ty: c.ty.clone(),
                    var: D::Var {
                        rte: Some(rte),
                        name: c.name.clone(),
                    },
                    rte: Some(rte),
                    unqualified: true,
                    star: true,
                    dep: rel.and_then(|(oid, pos)| pos.get(i).map(|&p| (oid, p))),
                })
                .collect(),
        }
    }

    // -------------------------------------------------------- expressions

    pub(super) fn column(&mut self, name: &[String], scope: &DScope) -> PlanResult<T> {
        if let Some(c) = self.lookup(name, scope)? {
            self.note_dep(c.dep);
            return Ok(T::typed(c.var, c.ty));
        }
        let outer = std::mem::take(&mut self.outer);
        let mut found = None;
        for s in outer.iter().rev() {
            if let Some(c) = self.lookup(name, s)? {
                found = Some(c);
                break;
            }
        }
        self.outer = outer;
        match found {
            Some(c) => {
                self.note_dep(c.dep);
                Ok(T::typed(c.var, c.ty))
            }
            None if name.len() >= 2 => {
                let t = &name[name.len() - 2];
                let known = |s: &DScope| {
                    s.cols
                        .iter()
                        .any(|c| c.rte.is_some_and(|r| &self.rtes[r].name == t))
                };
                if known(scope) || self.outer.iter().any(known) {
                    Err(crate::sql::plan::undefined_column(&name.join(".")))
                } else {
                    Err(SqlError::new(
                        SqlState::UNDEFINED_TABLE,
                        format!("missing FROM-clause entry for table \"{t}\""),
                    ))
                }
            }
            None => Err(crate::sql::plan::undefined_column(&name.join("."))),
        }
    }

    pub(super) fn lookup(&self, name: &[String], scope: &DScope) -> PlanResult<Option<DCol>> {
        let (table, col) = match name {
            [c] => (None, c),
            [t, c] | [_, t, c] => (Some(t), c),
            _ => {
                return Err(SqlError::new(
                    SqlState::SYNTAX_ERROR,
                    format!("improper qualified name: {}", name.join(".")),
                ))
            }
        };
        let mut found: Option<DCol> = None;
        for c in &scope.cols {
            let hit = match table {
                None => c.unqualified && &c.name == col,
                Some(t) => &c.name == col && c.rte.is_some_and(|r| &self.rtes[r].name == t),
            };
            if hit {
                if found.is_some() {
                    return Err(SqlError::new(
                        SqlState::AMBIGUOUS_COLUMN,
                        format!("column reference \"{col}\" is ambiguous"),
                    ));
                }
                found = Some(c.clone());
            }
        }
        Ok(found)
    }

    /// `t` made a value of type `to` (Unknown: an untyped literal stays
    /// as it is, typed as text when it is a column). `implicit`: how a
    /// cast it needs is marked.
    pub(super) fn coerce(&mut self, t: T, to: &DataType, implicit: bool) -> PlanResult<D> {
        match t.untyped {
            Some(Untyped::Null) => Ok(const_d(
                &Value::Null,
                if *to == DataType::Unknown { &t.ty } else { to },
            )),
            Some(Untyped::Str(s)) => {
                // `'s'::regclass` names a relation the view then depends
                // on (a sequence, typically).
                if let DataType::Reg(crate::value::types::RegKind::Class) = to {
                    let name = crate::sql::functions::catalog::split_name(&s)?;
                    let name = name.as_slice();
                    let oid = match self.catalog.sequence(name)? {
                        Some(seq) => Some(seq.oid),
                        None => self.catalog.table(name)?.map(|t| t.oid),
                    };
                    if let Some(oid) = oid {
                        self.deps.entry(oid).or_default();
                    }
                }
                // A literal is read as the type without its modifier.
                let to = base_type(to);
                if to == DataType::Unknown {
                    return Ok(const_d(&Value::Text(s), &DataType::Unknown));
                }
                literal_of_type(&s, &to)
            }
            None => {
                if *to == DataType::Unknown || *to == t.ty {
                    return Ok(t.d);
                }
                if t.ty.oid() == to.oid() && to.typmod() == -1 {
                    return Ok(t.d);
                }
                Ok(cast_d(t.d, &t.ty, to, implicit))
            }
        }
    }

    pub(super) fn expr(&mut self, e: &Expr, scope: &DScope) -> PlanResult<T> {
        Ok(match e {
            Expr::Column(name) => self.column(name, scope)?,
            Expr::Literal(Value::Null) => T {
                d: D::Const {
                    text: "NULL".into(),
                    label: None,
                    ty: String::new(),
                },
                ty: DataType::Unknown,
                untyped: Some(Untyped::Null),
            },
            Expr::Literal(v) => T::typed(const_d(v, &v.data_type()), v.data_type()),
            Expr::UntypedString(s) => T {
                d: const_d(&Value::Text(s.clone()), &DataType::Unknown),
                ty: DataType::Unknown,
                untyped: Some(Untyped::Str(s.clone())),
            },
            Expr::Param(n) => {
                return Err(SqlError::new(
                    SqlState("42P02"),
                    format!("there is no parameter ${n}"),
                ))
            }
            Expr::Default => {
                return Err(SqlError::new(
                    SqlState::SYNTAX_ERROR,
                    "DEFAULT is not allowed in this context",
                ))
            }
            Expr::Unary {
                op: UnOp::Not,
                expr,
            } => {
                let t = self.expr(expr, scope)?;
                let d = self.coerce(t, &DataType::Bool, true)?;
                T::typed(D::Not(Box::new(d)), DataType::Bool)
            }
            Expr::Unary { op, expr } => {
                let name = match op {
                    UnOp::Neg => "-",
                    UnOp::Plus => "+",
                    _ => "~",
                };
                let t = self.expr(expr, scope)?;
                let res = resolve::resolve_operator(name, None, &t.ty)?;
                let d = self.coerce(t, &res.args[0], true)?;
                T::typed(
                    D::Op {
                        name: name.into(),
                        args: vec![d],
                    },
                    res.result,
                )
            }
            Expr::Binary {
                op: op @ (BinOp::And | BinOp::Or),
                ..
            } => {
                // `a AND b AND c` is one AND of three (PostgreSQL's parser
                // flattens the left-nested chain).
                let mut args = Vec::new();
                let mut cur = e;
                let mut rights = Vec::new();
                while let Expr::Binary { op: o, left, right } = cur {
                    if o != op {
                        break;
                    }
                    rights.push(&**right);
                    cur = left;
                }
                rights.push(cur);
                rights.reverse();
                for x in rights {
                    let t = self.expr(x, scope)?;
                    args.push(self.coerce(t, &DataType::Bool, true)?);
                }
                let d = if *op == BinOp::And {
                    D::And(args)
                } else {
                    D::Or(args)
                };
                T::typed(d, DataType::Bool)
            }
            Expr::Binary { op, left, right } => {
                let name = operator_name(*op).expect("AND/OR handled above");
                let l = self.expr(left, scope)?;
                let r = self.expr(right, scope)?;
                self.operator(name, l, r)?
            }
            Expr::IsNull { expr, negated } => {
                let t = self.expr(expr, scope)?;
                let d = self.coerce(t, &DataType::Unknown, true)?;
                T::typed(
                    D::NullTest {
                        arg: Box::new(d),
                        not: *negated,
                    },
                    DataType::Bool,
                )
            }
            Expr::IsBool {
                expr,
                value,
                negated,
            } => {
                let t = self.expr(expr, scope)?;
                let d = self.coerce(t, &DataType::Bool, true)?;
                let what = match (value, negated) {
                    (true, false) => " IS TRUE",
                    (true, true) => " IS NOT TRUE",
                    (false, false) => " IS FALSE",
                    (false, true) => " IS NOT FALSE",
                };
                T::typed(
                    D::BoolTest {
                        arg: Box::new(d),
                        what,
                    },
                    DataType::Bool,
                )
            }
            Expr::IsDistinctFrom {
                left,
                right,
                negated,
            } => {
                let l = self.expr(left, scope)?;
                let r = self.expr(right, scope)?;
                let T { d, .. } = self.operator("=", l, r)?;
                let D::Op { args, .. } = d else {
                    return Err(unsupported("IS DISTINCT FROM over these types"));
                };
                let mut args = args.into_iter();
                let (Some(a), Some(b)) = (args.next(), args.next()) else {
                    return Err(unsupported("IS DISTINCT FROM over these types"));
                };
                let d = D::Distinct(Box::new(a), Box::new(b));
                let d = if *negated { D::Not(Box::new(d)) } else { d };
                T::typed(d, DataType::Bool)
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let (lo_op, hi_op) = if *negated { ("<", ">") } else { (">=", "<=") };
                let x = self.expr(expr, scope)?;
                let lo = self.expr(low, scope)?;
                let hi = self.expr(high, scope)?;
                let a = self.operator(lo_op, x.clone(), lo)?.d;
                let b = self.operator(hi_op, x, hi)?.d;
                let d = if *negated {
                    D::Or(vec![a, b])
                } else {
                    D::And(vec![a, b])
                };
                T::typed(d, DataType::Bool)
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => self.in_list(expr, list, *negated, scope)?,
            Expr::InSubquery {
                expr,
                query,
                negated,
            } => {
                let x = self.expr(expr, scope)?;
                let (dq, cols) = self.sublink_query(query, scope)?;
                let col = one_column(&cols)?;
                let (left, op) = self.quantified_left(x, "=", &col.ty)?;
                let d = D::Sublink {
                    kind: SubKind::Quantified {
                        left: Box::new(left),
                        op,
                        all: false,
                    },
                    query: Box::new(dq),
                };
                let d = if *negated { D::Not(Box::new(d)) } else { d };
                T::typed(d, DataType::Bool)
            }
            Expr::Exists { query, negated } => {
                let (dq, _) = self.sublink_query(query, scope)?;
                let d = D::Sublink {
                    kind: SubKind::Exists,
                    query: Box::new(dq),
                };
                let d = if *negated { D::Not(Box::new(d)) } else { d };
                T::typed(d, DataType::Bool)
            }
            Expr::Subquery(query) => {
                let (dq, cols) = self.sublink_query(query, scope)?;
                let ty = one_column(&cols)?.ty;
                T::typed(
                    D::Sublink {
                        kind: SubKind::Expr,
                        query: Box::new(dq),
                    },
                    ty,
                )
            }
            Expr::ArraySubquery(query) => {
                let (dq, cols) = self.sublink_query(query, scope)?;
                let ty = one_column(&cols)?.ty;
                T::typed(
                    D::Sublink {
                        kind: SubKind::Array,
                        query: Box::new(dq),
                    },
                    DataType::Array(Box::new(ty)),
                )
            }
            Expr::Quantified {
                left,
                op,
                all,
                right,
            } => {
                let name = operator_name(*op).ok_or_else(|| unsupported("ANY/ALL with AND/OR"))?;
                let x = self.expr(left, scope)?;
                match right {
                    ast::QuantifiedRhs::Subquery(q) => {
                        let (dq, cols) = self.sublink_query(q, scope)?;
                        let col = one_column(&cols)?;
                        let (left, op) = self.quantified_left(x, name, &col.ty)?;
                        T::typed(
                            D::Sublink {
                                kind: SubKind::Quantified {
                                    left: Box::new(left),
                                    op,
                                    all: *all,
                                },
                                query: Box::new(dq),
                            },
                            DataType::Bool,
                        )
                    }
                    ast::QuantifiedRhs::Expr(arr) => {
                        let a = self.expr(arr, scope)?;
                        let elem = match &a.ty {
                            DataType::Array(e) => (**e).clone(),
                            DataType::Unknown => x.ty.clone(),
                            other => {
                                return Err(SqlError::new(
                                    SqlState::WRONG_OBJECT_TYPE,
                                    format!(
                                    "op ANY/ALL (array) requires array on right side, not {other}"
                                ),
                                ))
                            }
                        };
                        let res = resolve::resolve_operator(name, Some(&x.ty), &elem)?;
                        let l = self.coerce(x, &res.args[0], true)?;
                        let r =
                            self.coerce(a, &DataType::Array(Box::new(res.args[1].clone())), true)?;
                        T::typed(
                            D::ArrayOp {
                                left: Box::new(l),
                                op: name.into(),
                                all: *all,
                                right: Box::new(r),
                            },
                            DataType::Bool,
                        )
                    }
                }
            }
            Expr::Like {
                expr,
                pattern,
                escape,
                negated,
                case_insensitive,
            } => {
                if escape.is_some() {
                    return Err(unsupported("LIKE ... ESCAPE"));
                }
                let name = match (negated, case_insensitive) {
                    (false, false) => "~~",
                    (false, true) => "~~*",
                    (true, false) => "!~~",
                    (true, true) => "!~~*",
                };
                let x = self.expr(expr, scope)?;
                let p = self.expr(pattern, scope)?;
                let lt = match x.ty {
                    DataType::Char(_) | DataType::Bytea => x.ty.clone(),
                    _ => DataType::Text,
                };
                let rt = if lt == DataType::Bytea {
                    DataType::Bytea
                } else {
                    DataType::Text
                };
                let l = self.coerce(x, &lt, true)?;
                let r = self.coerce(p, &rt, true)?;
                T::typed(
                    D::Op {
                        name: name.into(),
                        args: vec![l, r],
                    },
                    DataType::Bool,
                )
            }
            Expr::Case {
                operand,
                whens,
                else_result,
            } => self.case(operand.as_deref(), whens, else_result.as_deref(), scope)?,
            Expr::Cast { expr, ty } => self.cast(expr, ty, scope)?,
            Expr::Array(items) => {
                let mut ts = Vec::new();
                for i in items {
                    ts.push(self.expr(i, scope)?);
                }
                if ts.is_empty() {
                    return Err(SqlError::new(
                        SqlState("42P18"),
                        "cannot determine type of empty array",
                    ));
                }
                let types: Vec<DataType> = ts.iter().map(|t| t.ty.clone()).collect();
                let ty = resolve::common_type(&types, "ARRAY")?;
                let ty = if ty == DataType::Unknown {
                    DataType::Text
                } else {
                    ty
                };
                let mut ds = Vec::new();
                for t in ts {
                    ds.push(self.coerce(t, &ty, true)?);
                }
                T::typed(D::Array(ds), DataType::Array(Box::new(ty)))
            }
            Expr::Subscript { expr, index } => {
                let a = self.expr(expr, scope)?;
                let elem = match &a.ty {
                    DataType::Array(e) => (**e).clone(),
                    other => {
                        return Err(SqlError::new(
                            SqlState::DATATYPE_MISMATCH,
                            format!("cannot subscript type {other} because it does not support subscripting"),
                        ))
                    }
                };
                let a = self.coerce(a, &DataType::Unknown, true)?;
                let i = self.expr(index, scope)?;
                let i = self.coerce(i, &DataType::Int4, true)?;
                T::typed(D::Subscript(Box::new(a), Box::new(i)), elem)
            }
            Expr::Row(_) => return Err(unsupported("a row constructor")),
            Expr::Function(f) => self.function(f, scope)?,
        })
    }

    /// `l name r` resolved as PostgreSQL resolves operators: the sides
    /// cast to the operator's argument types.
    pub(super) fn operator(&mut self, name: &str, l: T, r: T) -> PlanResult<T> {
        let (l, r, _, _, result) = self.operator_parts(name, l, r)?;
        Ok(T::typed(
            D::Op {
                name: name.into(),
                args: vec![l, r],
            },
            result,
        ))
    }

    /// The two sides of `l name r` made the operator's argument types,
    /// with those types and the result's.
    pub(super) fn operator_parts(
        &mut self,
        name: &str,
        l: T,
        r: T,
    ) -> PlanResult<(D, D, DataType, DataType, DataType)> {
        // OID alias types compare as the integers our catalogs hold.
        if matches!(l.ty, DataType::Reg(_)) || matches!(r.ty, DataType::Reg(_)) {
            let lt = if l.ty == DataType::Unknown {
                r.ty.clone()
            } else {
                l.ty.clone()
            };
            let rt = if r.ty == DataType::Unknown {
                l.ty.clone()
            } else {
                r.ty.clone()
            };
            let dl = self.coerce(l, &lt, true)?;
            let dr = self.coerce(r, &rt, true)?;
            return Ok((dl, dr, lt, rt, DataType::Bool));
        }
        let res = resolve::resolve_operator(name, Some(&l.ty), &r.ty)?;
        let (mut lt, mut rt) = (res.args[0].clone(), res.args[1].clone());
        // bpchar's operators (which resolution reports as text's): a
        // char(n) side keeps its type, an untyped literal beside it takes
        // it.
        let char_or_untyped = |t: &T| matches!(t.ty, DataType::Char(_)) || t.untyped.is_some();
        if char_or_untyped(&l) && char_or_untyped(&r) {
            if let DataType::Char(_) = &l.ty {
                lt = l.ty.clone();
                rt = if r.untyped.is_some() {
                    l.ty.clone()
                } else {
                    r.ty.clone()
                };
            } else if let DataType::Char(_) = &r.ty {
                rt = r.ty.clone();
                lt = r.ty.clone();
            }
        }
        let result = res.result;
        let dl = self.coerce(l, &lt, true)?;
        let dr = self.coerce(r, &rt, true)?;
        Ok((dl, dr, lt, rt, result))
    }

    /// The left side of `x op ANY (subquery)` as printed, and the operator.
    pub(super) fn quantified_left(
        &mut self,
        x: T,
        op: &str,
        col: &DataType,
    ) -> PlanResult<(D, String)> {
        let res = resolve::resolve_operator(op, Some(&x.ty), col)?;
        Ok((self.coerce(x, &res.args[0], true)?, op.to_string()))
    }

    pub(super) fn sublink_query(
        &mut self,
        q: &ast::Query,
        scope: &DScope,
    ) -> PlanResult<(DQuery, Vec<OutCol>)> {
        self.outer.push(scope.clone());
        let result = self.query(q);
        self.outer.pop();
        result
    }

    /// `x IN (list)`: the list items without columns of this query become
    /// `x = ANY (ARRAY[...])` (when more than one), the others `x = item`
    /// joined by OR (PostgreSQL's transformAExprIn).
    pub(super) fn in_list(
        &mut self,
        x: &Expr,
        list: &[Expr],
        negated: bool,
        scope: &DScope,
    ) -> PlanResult<T> {
        let op = if negated { "<>" } else { "=" };
        let lx = self.expr(x, scope)?;
        let mut vars = Vec::new();
        let mut nonvars = Vec::new();
        for item in list {
            let t = self.expr(item, scope)?;
            if contains_var(&t.d, scope) {
                vars.push(t);
            } else {
                nonvars.push(t);
            }
        }
        let mut result: Option<D> = None;
        let rest = if nonvars.len() > 1 {
            let mut types = vec![lx.ty.clone()];
            types.extend(nonvars.iter().map(|t| t.ty.clone()));
            let common = resolve::common_type(&types, "IN")?;
            let common = if common == DataType::Unknown {
                DataType::Text
            } else {
                common
            };
            let mut elems = Vec::new();
            for t in nonvars {
                elems.push(self.coerce(t, &common, true)?);
            }
            let res = resolve::resolve_operator(op, Some(&lx.ty), &common)?;
            let l = self.coerce(lx.clone(), &res.args[0], true)?;
            result = Some(D::ArrayOp {
                left: Box::new(l),
                op: op.into(),
                all: negated,
                right: Box::new(D::Array(elems)),
            });
            vars
        } else {
            nonvars.extend(vars);
            nonvars
        };
        for r in rest {
            let cmp = self.operator(op, lx.clone(), r)?.d;
            result = Some(match result {
                None => cmp,
                Some(prev) if negated => D::And(vec![prev, cmp]),
                Some(prev) => D::Or(vec![prev, cmp]),
            });
        }
        let d = result.ok_or_else(|| {
            SqlError::new(SqlState::SYNTAX_ERROR, "syntax error at or near \")\"")
        })?;
        Ok(T::typed(d, DataType::Bool))
    }

    pub(super) fn case(
        &mut self,
        operand: Option<&Expr>,
        whens: &[(Expr, Expr)],
        else_result: Option<&Expr>,
        scope: &DScope,
    ) -> PlanResult<T> {
        let arg = match operand {
            Some(o) => Some(self.expr(o, scope)?),
            None => None,
        };
        let mut conds = Vec::new();
        for (w, _) in whens {
            let t = self.expr(w, scope)?;
            conds.push(match &arg {
                Some(a) => {
                    // `CASE x WHEN v`: x = v, of which PostgreSQL shows v.
                    let op = self.operator("=", a.clone(), t)?;
                    match op.d {
                        D::Op { mut args, .. } if args.len() == 2 => {
                            args.pop().expect("two arguments")
                        }
                        other => other,
                    }
                }
                None => self.coerce(t, &DataType::Bool, false)?,
            });
        }
        let mut results = Vec::new();
        let else_t = match else_result {
            Some(e) => self.expr(e, scope)?,
            None => T {
                d: D::Const {
                    text: "NULL".into(),
                    label: None,
                    ty: String::new(),
                },
                ty: DataType::Unknown,
                untyped: Some(Untyped::Null),
            },
        };
        for (_, r) in whens {
            results.push(self.expr(r, scope)?);
        }
        let mut types = vec![else_t.ty.clone()];
        types.extend(results.iter().map(|t| t.ty.clone()));
        let ty = resolve::common_type(&types, "CASE")?;
        let ty = if ty == DataType::Unknown {
            DataType::Text
        } else {
            ty
        };
        let default = self.coerce(else_t, &ty, true)?;
        let mut pairs = Vec::new();
        for (c, r) in conds.into_iter().zip(results) {
            pairs.push((c, self.coerce(r, &ty, true)?));
        }
        let arg = match arg {
            Some(a) => Some(Box::new(self.coerce(a, &DataType::Unknown, true)?)),
            None => None,
        };
        Ok(T::typed(
            D::Case {
                arg,
                whens: pairs,
                default: Box::new(default),
            },
            ty,
        ))
    }

    pub(super) fn cast(&mut self, e: &Expr, ty: &DataType, scope: &DScope) -> PlanResult<T> {
        // `ARRAY[]::integer[]`: the empty array is of the type.
        if let (Expr::Array(items), DataType::Array(_)) = (e, ty) {
            if items.is_empty() {
                let d = D::Cast {
                    arg: Box::new(D::Array(Vec::new())),
                    ty: ty.to_string(),
                    func: false,
                    implicit: false,
                    bare: true,
                };
                return Ok(T::typed(d, ty.clone()));
            }
        }
        let t = self.expr(e, scope)?;
        let d = match &t.untyped {
            Some(Untyped::Str(s)) if ty.typmod() != -1 => {
                // The literal is read as the type without its modifier,
                // then coerced to the modifier.
                let v = parse_text(s, &base_type(ty), &TimeZone::utc())?;
                let D::Const {
                    text, ty: tname, ..
                } = const_d(&v, &base_type(ty))
                else {
                    return Err(unsupported("this literal"));
                };
                D::Cast {
                    arg: Box::new(D::Const {
                        text,
                        label: None,
                        ty: tname,
                    }),
                    ty: ty.to_string(),
                    func: true,
                    implicit: false,
                    bare: true,
                }
            }
            Some(_) => self.coerce(t, ty, false)?,
            None => {
                if t.ty == *ty || (t.ty.oid() == ty.oid() && ty.typmod() == -1) {
                    t.d
                } else {
                    cast_d(t.d, &t.ty, ty, false)
                }
            }
        };
        Ok(T::typed(d, ty.clone()))
    }

    pub(super) fn function(&mut self, f: &ast::FunctionCall, scope: &DScope) -> PlanResult<T> {
        let name = f
            .name
            .strip_prefix("pg_catalog.")
            .unwrap_or(&f.name)
            .to_string();
        if f.over {
            return Err(unsupported("window functions"));
        }
        if is_aggregate(&name) {
            return self.aggregate(&name, f, scope);
        }
        if f.distinct || f.star || f.filter.is_some() || !f.order_by.is_empty() {
            return Err(SqlError::new(
                SqlState::WRONG_OBJECT_TYPE,
                format!("{name} is not an aggregate function"),
            ));
        }
        if f.args.is_empty() {
            if let Some(k) = value_keyword(&name) {
                let ty = match name.as_str() {
                    "current_date" => DataType::Date,
                    "current_timestamp" => DataType::Timestamptz,
                    "localtimestamp" => DataType::Timestamp,
                    "current_time" | "localtime" => {
                        return Err(unsupported("the time type"));
                    }
                    _ => DataType::Text,
                };
                return Ok(T::typed(D::Keyword(k), ty));
            }
        }
        let mut args = Vec::new();
        for a in &f.args {
            args.push(self.expr(a, scope)?);
        }
        match name.as_str() {
            "coalesce" | "greatest" | "least" => {
                let types: Vec<DataType> = args.iter().map(|t| t.ty.clone()).collect();
                let what = name.to_uppercase();
                let ty = resolve::common_type(&types, &what)?;
                let ty = if ty == DataType::Unknown {
                    DataType::Text
                } else {
                    ty
                };
                let mut ds = Vec::new();
                for t in args {
                    ds.push(self.coerce(t, &ty, true)?);
                }
                let name = match name.as_str() {
                    "coalesce" => "COALESCE",
                    "greatest" => "GREATEST",
                    _ => "LEAST",
                };
                return Ok(T::typed(D::Special { name, args: ds }, ty));
            }
            "nullif" if args.len() == 2 => {
                let mut it = args.into_iter();
                let (a, b) = (
                    it.next().expect("two arguments"),
                    it.next().expect("two arguments"),
                );
                let (da, db, ta, _, _) = self.operator_parts("=", a, b)?;
                return Ok(T::typed(
                    D::Special {
                        name: "NULLIF",
                        args: vec![da, db],
                    },
                    ta,
                ));
            }
            "extract" if args.len() == 2 && matches!(f.args[0], Expr::UntypedString(_)) => {
                let Expr::UntypedString(field) = &f.args[0] else {
                    return Err(unsupported("EXTRACT"));
                };
                let mut it = args.into_iter().skip(1);
                let x = it.next().expect("two arguments");
                let x = self.coerce(x, &DataType::Unknown, true)?;
                return Ok(T::typed(
                    D::Extract {
                        field: field.clone(),
                        arg: Box::new(x),
                    },
                    DataType::Numeric(None),
                ));
            }
            _ => {}
        }
        if let Some(op) = regex_operator(&name) {
            if args.len() == 2 {
                let mut it = args.into_iter();
                let (a, b) = (it.next().expect("two"), it.next().expect("two"));
                let r = self.operator(op, a, b)?;
                return Ok(r);
            }
        }
        let types: Vec<DataType> = args.iter().map(|t| t.ty.clone()).collect();
        if resolve::has_function(&name) {
            let res = resolve::resolve_function(&name, &types)?;
            let mut ds = Vec::new();
            let mut coerced = Vec::new();
            for (t, want) in args.into_iter().zip(&res.args) {
                coerced.push(if *want == DataType::Unknown {
                    t.ty.clone()
                } else {
                    want.clone()
                });
                ds.push(self.coerce(t, want, true)?);
            }
            let ty = if matches!(res.result, DataType::Unknown | DataType::Reg(_)) {
                functions::function_return_type(&name, &coerced)?
            } else {
                res.result
            };
            return Ok(T::typed(D::Func { name, args: ds }, ty));
        }
        // Our own functions (pgvector's, the jsonb helpers...): untyped
        // arguments take the parameter's declared type.
        let mut ds = Vec::new();
        let mut coerced = Vec::new();
        for (i, t) in args.into_iter().enumerate() {
            let want = match functions::parameter_type(&name, i) {
                DataType::Unknown => jsonb_parameter(&name, i),
                w => w,
            };
            let want = if t.untyped.is_some() && want == DataType::Unknown {
                DataType::Text
            } else if t.untyped.is_some() {
                want
            } else {
                DataType::Unknown
            };
            coerced.push(if want == DataType::Unknown {
                t.ty.clone()
            } else {
                want.clone()
            });
            ds.push(self.coerce(t, &want, true)?);
        }
        let ty = functions::function_return_type(&name, &coerced)?;
        Ok(T::typed(D::Func { name, args: ds }, ty))
    }

    pub(super) fn aggregate(
        &mut self,
        name: &str,
        f: &ast::FunctionCall,
        scope: &DScope,
    ) -> PlanResult<T> {
        if f.args.iter().any(contains_aggregate) {
            return Err(SqlError::new(
                SqlState::GROUPING_ERROR,
                "aggregate function calls cannot be nested",
            ));
        }
        let mut args = Vec::new();
        for a in &f.args {
            args.push(self.expr(a, scope)?);
        }
        let types: Vec<DataType> = args.iter().map(|t| t.ty.clone()).collect();
        let ty = agg_result_type(name, f.star, &types).ok_or_else(|| {
            SqlError::new(
                SqlState::UNDEFINED_FUNCTION,
                format!(
                    "function {name}({}) does not exist",
                    types
                        .iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        let mut ds = Vec::new();
        for t in args {
            let want = match (name, &t.ty) {
                ("string_agg", _) | ("min" | "max", DataType::Varchar(_)) => DataType::Text,
                (_, DataType::Unknown) => DataType::Text,
                _ => DataType::Unknown,
            };
            ds.push(self.coerce(t, &want, true)?);
        }
        let filter = match &f.filter {
            Some(e) => {
                let t = self.expr(e, scope)?;
                Some(Box::new(self.coerce(t, &DataType::Bool, false)?))
            }
            None => None,
        };
        let mut order = Vec::new();
        for o in &f.order_by {
            let t = self.expr(&o.expr, scope)?;
            order.push(DSort {
                expr: self.coerce(t, &DataType::Unknown, true)?,
                desc: o.desc,
                nulls_first: o.nulls_first.unwrap_or(o.desc),
            });
        }
        Ok(T::typed(
            D::Agg {
                name: name.to_string(),
                star: f.star,
                distinct: f.distinct,
                args: ds,
                order,
                filter,
            },
            ty,
        ))
    }
}

pub(super) fn unreachable_item() -> PlanResult<T> {
    Err(SqlError::new(
        SqlState::INTERNAL_ERROR,
        "select-list item without an expression",
    ))
}

/// Whether `d` reads a column of `scope` (PostgreSQL's
/// contain_vars_of_level(expr, 0), subqueries aside).
pub(super) fn contains_var(d: &D, scope: &DScope) -> bool {
    let here = |rte: &Option<usize>| match rte {
        None => true,
        Some(r) => scope.cols.iter().any(|c| c.rte == Some(*r)),
    };
    let any = |ds: &[D]| ds.iter().any(|x| contains_var(x, scope));
    match d {
        D::Var { rte, .. } => here(rte),
        D::Const { .. } | D::Keyword(_) | D::Sublink { .. } => false,
        D::Op { args, .. }
        | D::And(args)
        | D::Or(args)
        | D::Func { args, .. }
        | D::Special { args, .. }
        | D::Array(args) => any(args),
        D::Agg { args, filter, .. } => {
            any(args) || filter.as_deref().is_some_and(|f| contains_var(f, scope))
        }
        D::Not(a) | D::Cast { arg: a, .. } | D::Extract { arg: a, .. } => contains_var(a, scope),
        D::NullTest { arg, .. } | D::BoolTest { arg, .. } => contains_var(arg, scope),
        D::Distinct(a, b) | D::Subscript(a, b) => contains_var(a, scope) || contains_var(b, scope),
        D::ArrayOp { left, right, .. } => contains_var(left, scope) || contains_var(right, scope),
        D::Case {
            arg,
            whens,
            default,
        } => {
            arg.as_deref().is_some_and(|a| contains_var(a, scope))
                || whens
                    .iter()
                    .any(|(w, r)| contains_var(w, scope) || contains_var(r, scope))
                || contains_var(default, scope)
        }
    }
}

pub(super) fn one_column(cols: &[OutCol]) -> PlanResult<OutCol> {
    match cols {
        [c] => Ok(c.clone()),
        _ => Err(SqlError::new(
            SqlState::SYNTAX_ERROR,
            "subquery must return only one column",
        )),
    }
}

pub(super) fn scope_lookup<'s>(scope: &'s DScope, name: &[String]) -> Option<&'s DCol> {
    match name {
        [c] => scope.cols.iter().find(|x| x.unqualified && &x.name == c),
        _ => None,
    }
}

pub(super) fn rename(mut cols: Vec<OutCol>, names: &[String]) -> Vec<OutCol> {
    for (c, n) in cols.iter_mut().zip(names) {
        c.name = n.clone();
    }
    cols
}

/// A literal read as type `ty`, as its constant prints.
pub(super) fn literal_of_type(s: &str, ty: &DataType) -> PlanResult<D> {
    if let DataType::Reg(_) = ty {
        return Ok(D::Const {
            text: format!("'{}'", s.replace('\'', "''")),
            label: Some(ty.to_string()),
            ty: ty.to_string(),
        });
    }
    let v = parse_text(s, ty, &TimeZone::utc())?;
    Ok(const_d(&v, ty))
}

/// `d` (of type `from`) cast to `to`.
pub(super) fn cast_d(d: D, from: &DataType, to: &DataType, implicit: bool) -> D {
    let method = resolve::coercion_method(from.oid(), to.oid(), resolve::Context::Explicit);
    let func = match method {
        Some(b'f') => true,
        Some(_) => false,
        // Casts PostgreSQL lacks (ours): print them as function casts.
        None => true,
    };
    // A length coercion of the same type is a function call too.
    let func = func || (from.oid() == to.oid());
    D::Cast {
        arg: Box::new(d),
        ty: to.to_string(),
        func,
        implicit,
        bare: false,
    }
}

/// Gives column `i` of a set operation's leaves type `ty` (their untyped
/// literals).
pub(super) fn type_leaf_column(op: &mut DSetOp, i: usize, ty: &DataType) {
    match op {
        DSetOp::Leaf(q) => {
            if let DBody::Select(s) = &mut q.body {
                if let Some(t) = s.targets.get_mut(i) {
                    if let D::Const { text, label, .. } = &mut t.expr {
                        if label.as_deref() == Some("text") && *ty != DataType::Text {
                            let inner = text.trim_matches('\'').replace("''", "'");
                            if let Ok(d) = literal_of_type(&inner, ty) {
                                t.expr = d;
                            }
                        }
                    }
                }
            }
        }
        DSetOp::Op { left, right, .. } => {
            type_leaf_column(left, i, ty);
            type_leaf_column(right, i, ty);
        }
    }
}
