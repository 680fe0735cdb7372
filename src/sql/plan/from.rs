//! Binding FROM: tables, system relations, subqueries, functions in FROM,
//! and joins (hash joins on equality conditions).

use crate::value::Value;
use std::rc::Rc;

use super::{
    bool_type_check, shift_cols, split_and, table_scope, undefined_column, undefined_table,
    visit_cols, BExpr, Binder, Column, JoinType, Plan, PlanResult, Scope, ScopeCol,
};
use crate::catalog::ViewDef;
use crate::error::{SqlError, SqlState};
use crate::sql::parse::ast::{self, BinOp};
use crate::value::types::{DataType, RegKind};

/// A join: equality conjuncts between the two sides make a hash join.
pub(super) fn make_join(
    left: Plan,
    right: Plan,
    kind: JoinType,
    cond: Option<BExpr>,
    nleft: usize,
) -> Plan {
    let Some(cond) = cond else {
        return Plan::NestedLoop {
            left: Box::new(left),
            right: Box::new(right),
            kind,
            cond: None,
        };
    };
    let mut conjuncts = Vec::new();
    split_and(cond, &mut conjuncts);
    let mut lkeys = Vec::new();
    let mut rkeys = Vec::new();
    let mut residual = Vec::new();
    for c in conjuncts {
        if let BExpr::Binary(BinOp::Eq, a, b) = &c {
            let side = |e: &BExpr| column_side(e, nleft);
            match (side(a), side(b)) {
                (Some(false), Some(true)) => {
                    lkeys.push((**a).clone());
                    rkeys.push(shift_cols(b, nleft));
                    continue;
                }
                (Some(true), Some(false)) => {
                    lkeys.push((**b).clone());
                    rkeys.push(shift_cols(a, nleft));
                    continue;
                }
                _ => {}
            }
        }
        residual.push(c);
    }
    let residual = residual
        .into_iter()
        .reduce(|a, b| BExpr::Binary(BinOp::And, Box::new(a), Box::new(b)));
    if lkeys.is_empty() {
        return Plan::NestedLoop {
            left: Box::new(left),
            right: Box::new(right),
            kind,
            cond: residual,
        };
    }
    Plan::HashJoin {
        left: Box::new(left),
        right: Box::new(right),
        kind,
        left_keys: lkeys,
        right_keys: rkeys,
        residual,
    }
}

/// `Some(false)`: only left columns; `Some(true)`: only right; `None`:
/// mixed, none, or something we cannot move (subqueries, outer refs).
pub(super) fn column_side(e: &BExpr, nleft: usize) -> Option<bool> {
    let mut side: Option<bool> = None;
    let mut mixed = false;
    let mut ok = true;
    visit_cols(
        e,
        &mut |c| {
            let s = c >= nleft;
            match side {
                None => side = Some(s),
                Some(prev) if prev != s => mixed = true,
                _ => {}
            }
        },
        &mut ok,
    );
    if ok && !mixed {
        side
    } else {
        None
    }
}

impl<'a> Binder<'a> {
    /// A view in FROM: its stored query bound as a subquery, which sees
    /// none of the statement's CTEs or enclosing queries.
    fn note_relation(&mut self, oid: crate::catalog::Oid) {
        if !self.relations.contains(&oid) {
            self.relations.push(oid);
        }
    }

    pub(super) fn bind_view(
        &mut self,
        view: &ViewDef,
        label: &str,
        alias: Option<&ast::TableAlias>,
    ) -> PlanResult<(Plan, Scope)> {
        self.note_relation(view.oid);
        if self.view_depth >= 64 {
            return Err(SqlError::new(
                SqlState("42P17"),
                format!(
                    "infinite recursion detected in rules for relation \"{}\"",
                    view.name
                ),
            ));
        }
        let q = match crate::sql::parse::translate::parse(&view.query)?.pop() {
            Some(ast::Statement::Query(q)) => q,
            _ => {
                return Err(SqlError::new(
                    SqlState::INTERNAL_ERROR,
                    format!("the definition of view \"{}\" is not a query", view.name),
                ))
            }
        };
        let saved_outer = std::mem::take(&mut self.outer);
        let saved_ctes = std::mem::take(&mut self.ctes);
        let saved_agg = self.agg.take();
        let saved_leaf = std::mem::take(&mut self.set_op_leaf);
        self.view_depth += 1;
        self.catalog.in_view(true);
        let result = self.bind_query(&q);
        self.catalog.in_view(false);
        self.view_depth -= 1;
        self.outer = saved_outer;
        self.ctes = saved_ctes;
        self.agg = saved_agg;
        self.set_op_leaf = saved_leaf;
        let (plan, cols) = result?;
        let renames = alias.map(|a| a.columns.as_slice()).unwrap_or(&[]);
        let scope = Scope {
            cols: cols
                .iter()
                .enumerate()
                .map(|(i, c)| ScopeCol {
                    table: Some(label.to_string()),
                    name: renames.get(i).cloned().unwrap_or_else(|| c.name.clone()),
                    ty: c.ty.clone(),
                    hidden: false,
                })
                .collect(),
        };
        Ok((plan, scope))
    }

    /// Binds FROM items into a plan and the scope of its output.
    pub fn bind_from(&mut self, from: &[ast::TableRef]) -> PlanResult<(Plan, Scope)> {
        let mut plan: Option<(Plan, Scope)> = None;
        for item in from {
            plan = Some(match plan {
                None => self.bind_table_ref(item)?,
                Some((lp, ls)) => {
                    let (p, s, lateral) = self.bind_right_item(item, &ls)?;
                    let mut scope = ls;
                    scope.cols.extend(s.cols);
                    let (left, right) = (Box::new(lp), Box::new(p));
                    let kind = JoinType::Inner;
                    let node = if lateral {
                        Plan::Lateral {
                            left,
                            right,
                            kind,
                            cond: None,
                        }
                    } else {
                        Plan::NestedLoop {
                            left,
                            right,
                            kind,
                            cond: None,
                        }
                    };
                    (node, scope)
                }
            });
        }
        Ok(plan.unwrap_or((Plan::Unit, Scope::default())))
    }

    /// Binds a FROM item that has `left` before it. A LATERAL subquery and
    /// a function (always lateral in PostgreSQL) see `left`'s columns, as
    /// the innermost outer scope; the flag says whether the item read any
    /// outer column, i.e. must run once per row of `left`.
    fn bind_right_item(
        &mut self,
        t: &ast::TableRef,
        left: &Scope,
    ) -> PlanResult<(Plan, Scope, bool)> {
        let lateral = matches!(
            t,
            ast::TableRef::Subquery { lateral: true, .. } | ast::TableRef::Function { .. }
        );
        if !lateral {
            let (p, s) = self.bind_table_ref(t)?;
            return Ok((p, s, false));
        }
        self.outer.push(left.clone());
        let before = self.outer_refs;
        let result = self.bind_table_ref(t);
        self.outer.pop();
        let (p, s) = result?;
        Ok((p, s, self.outer_refs != before))
    }

    pub(super) fn bind_table_ref(&mut self, t: &ast::TableRef) -> PlanResult<(Plan, Scope)> {
        match t {
            ast::TableRef::Table { name, alias } => {
                let tname = name.last().cloned().unwrap_or_default();
                let label = alias
                    .as_ref()
                    .map(|a| a.name.clone())
                    .unwrap_or_else(|| tname.clone());
                if name.len() == 1 {
                    if let Some((_, cols, id)) = self
                        .ctes
                        .iter()
                        .rev()
                        .find(|(n, _, _)| *n == tname)
                        .cloned()
                    {
                        let mut scope = Scope::default();
                        for (i, c) in cols.iter().enumerate() {
                            let cname = alias
                                .as_ref()
                                .and_then(|a| a.columns.get(i))
                                .cloned()
                                .unwrap_or_else(|| c.name.clone());
                            scope.cols.push(ScopeCol {
                                table: Some(label.clone()),
                                name: cname,
                                ty: c.ty.clone(),
                                hidden: false,
                            });
                        }
                        let correlated = self
                            .correlated_ctes
                            .iter()
                            .find(|(c, _)| *c == id)
                            .map(|(_, depth)| *depth);
                        let plan = if id > usize::MAX / 2 {
                            Plan::WorkTable {
                                id: usize::MAX - id,
                            }
                        } else if let Some(depth) = correlated {
                            // Its outer references were bound at `depth`:
                            // only valid read at that same level.
                            if depth != self.outer.len() {
                                return Err(SqlError::new(
                                    SqlState::FEATURE_NOT_SUPPORTED,
                                    format!("WITH query \"{tname}\" reads outer columns and is used in a nested subquery"),
                                ));
                            }
                            self.cte_plans[id].clone()
                        } else {
                            Plan::CteScan { id }
                        };
                        return Ok((plan, scope));
                    }
                }
                let schema = name.len().checked_sub(2).map(|i| name[i].as_str());
                if let Some(sys) = self.catalog.system_relation(schema, &tname)? {
                    let renames = alias.as_ref().map(|a| a.columns.as_slice()).unwrap_or(&[]);
                    let scope = Scope {
                        cols: sys
                            .columns
                            .iter()
                            .enumerate()
                            .map(|(i, c)| ScopeCol {
                                table: Some(label.clone()),
                                name: renames.get(i).cloned().unwrap_or_else(|| c.name.clone()),
                                ty: c.ty.clone(),
                                hidden: false,
                            })
                            .collect(),
                    };
                    let plan = Plan::SystemScan {
                        name: sys.qualified_name,
                        columns: sys.columns,
                        rows: Rc::new(sys.rows),
                    };
                    return Ok((plan, scope));
                }
                let Some(table) = self.catalog.table(name)? else {
                    return match self.catalog.view(name)? {
                        Some(view) => self.bind_view(&view, &label, alias.as_ref()),
                        None => Err(undefined_table(&name.join("."))),
                    };
                };
                self.note_relation(table.oid);
                let scope = table_scope(
                    &table,
                    &label,
                    alias.as_ref().map(|a| a.columns.as_slice()).unwrap_or(&[]),
                );
                Ok((
                    Plan::SeqScan {
                        table,
                        filter: None,
                        with_tid: false,
                        needed: None,
                    },
                    scope,
                ))
            }
            // The subquery may read columns of enclosing queries (and, when
            // LATERAL, of the items before it: `bind_right_item` made them
            // the innermost outer scope).
            ast::TableRef::Subquery { query, alias, .. } => {
                let saved_agg = self.agg.take();
                let result = self.bind_query(query);
                self.agg = saved_agg;
                let (plan, cols) = result?;
                let label = alias.as_ref().map(|a| a.name.clone());
                let scope = Scope {
                    cols: cols
                        .iter()
                        .enumerate()
                        .map(|(i, c)| ScopeCol {
                            table: label.clone(),
                            name: alias
                                .as_ref()
                                .and_then(|a| a.columns.get(i))
                                .cloned()
                                .unwrap_or_else(|| c.name.clone()),
                            ty: c.ty.clone(),
                            hidden: false,
                        })
                        .collect(),
                };
                Ok((plan, scope))
            }
            ast::TableRef::Function {
                name,
                args,
                alias,
                ordinality,
            } => {
                let fname = match name.as_slice() {
                    [schema, f] if schema == "pg_catalog" => f.clone(),
                    _ => name.join("."),
                };
                let label = alias
                    .as_ref()
                    .map(|a| a.name.clone())
                    .unwrap_or_else(|| fname.clone());
                let mut col = alias
                    .as_ref()
                    .and_then(|a| a.columns.first().cloned())
                    .unwrap_or_else(|| label.clone());
                let empty = Scope::default();
                let (plan, ty) = match fname.as_str() {
                    "generate_series" => {
                        let mut bound = Vec::new();
                        let mut all_int4 = true;
                        for a in args {
                            let (b, t) = self.bind_typed(a, &empty, &DataType::Int8)?;
                            all_int4 &= matches!(t, DataType::Int2 | DataType::Int4);
                            bound.push(b);
                        }
                        // generate_series(int4, int4[, int4]) is int4, as
                        // in PostgreSQL; with any bigint it is bigint.
                        let ty = if all_int4 {
                            DataType::Int4
                        } else {
                            DataType::Int8
                        };
                        if !(2..=3).contains(&bound.len()) {
                            return Err(SqlError::new(
                                SqlState::UNDEFINED_FUNCTION,
                                "function generate_series needs 2 or 3 integer arguments",
                            ));
                        }
                        let plan = Plan::Series {
                            args: bound,
                            column: Column {
                                name: col.clone(),
                                ty: ty.clone(),
                            },
                            ordinality: *ordinality,
                        };
                        (plan, ty)
                    }
                    // The relation and its ancestors in a partition tree,
                    // or no rows when it is not a partition or partitioned
                    // table (PostgreSQL's definition). We have no
                    // partitioning, so that is never.
                    "pg_partition_ancestors" if args.len() == 1 => {
                        let ty = DataType::Reg(RegKind::Class);
                        let (_, t) = self.bind_typed(&args[0], &empty, &ty)?;
                        if !matches!(t, DataType::Reg(RegKind::Class)) && !t.is_integer() {
                            return Err(SqlError::new(
                                SqlState::UNDEFINED_FUNCTION,
                                format!("function pg_partition_ancestors({t}) does not exist"),
                            ));
                        }
                        let mut columns = vec![Column {
                            name: col.clone(),
                            ty: ty.clone(),
                        }];
                        if *ordinality {
                            columns.push(Column {
                                name: "ordinality".into(),
                                ty: DataType::Int8,
                            });
                        }
                        (
                            Plan::Values {
                                rows: Vec::new(),
                                columns,
                            },
                            ty,
                        )
                    }
                    // The in-progress xids of a snapshot (its text form);
                    // the snapshot must be known when the statement is
                    // planned (a literal, a parameter or
                    // pg_current_snapshot()).
                    "pg_snapshot_xip" | "txid_snapshot_xip" if args.len() == 1 => {
                        let (arg, _) = self.bind_typed(&args[0], &empty, &DataType::Text)?;
                        let BExpr::Const(v) = arg else {
                            return Err(SqlError::new(
                                SqlState::FEATURE_NOT_SUPPORTED,
                                format!(
                                    "{fname} needs a snapshot known when the statement is planned"
                                ),
                            ));
                        };
                        let xips = match v {
                            Value::Null => Vec::new(),
                            Value::Text(t) => crate::sql::functions::system::snapshot_xip(&t)?,
                            other => {
                                return Err(SqlError::new(
                                    SqlState::UNDEFINED_FUNCTION,
                                    format!(
                                        "function {fname}({}) does not exist",
                                        other.data_type()
                                    ),
                                ))
                            }
                        };
                        let mut columns = vec![Column {
                            name: col.clone(),
                            ty: DataType::Int8,
                        }];
                        if *ordinality {
                            columns.push(Column {
                                name: "ordinality".into(),
                                ty: DataType::Int8,
                            });
                        }
                        let rows = xips
                            .into_iter()
                            .enumerate()
                            .map(|(i, x)| {
                                let mut row = vec![BExpr::Const(Value::Int8(x))];
                                if *ordinality {
                                    row.push(BExpr::Const(Value::Int8(i as i64 + 1)));
                                }
                                row
                            })
                            .collect();
                        (Plan::Values { rows, columns }, DataType::Int8)
                    }
                    // Over no input row, the select-list evaluation is the
                    // function's rows (its arguments name earlier FROM
                    // items' columns as outer references: see
                    // `bind_right_item`).
                    "unnest"
                    | "pg_listening_channels"
                    | "generate_subscripts"
                    | "json_array_elements"
                    | "json_array_elements_text"
                    | "jsonb_array_elements"
                    | "jsonb_array_elements_text"
                        if !*ordinality =>
                    {
                        // These return their OUT parameter `value`, whose
                        // name the column keeps (an alias names the table).
                        if fname.contains("array_elements") {
                            col = alias
                                .as_ref()
                                .and_then(|a| a.columns.first().cloned())
                                .unwrap_or_else(|| "value".into());
                        }
                        let (call, ty) = self.bind_srf(&fname, args, &empty)?;
                        let plan = Plan::ProjectSet {
                            input: Box::new(Plan::Unit),
                            srfs: vec![call],
                            columns: vec![Column {
                                name: col.clone(),
                                ty: ty.clone(),
                            }],
                        };
                        (plan, ty)
                    }
                    _ => {
                        return Err(SqlError::new(
                            SqlState::FEATURE_NOT_SUPPORTED,
                            format!("table function {fname} is not supported"),
                        ))
                    }
                };
                let mut scope = Scope {
                    cols: vec![ScopeCol {
                        table: Some(label.clone()),
                        name: col,
                        ty,
                        hidden: false,
                    }],
                };
                if *ordinality {
                    scope.cols.push(ScopeCol {
                        table: Some(label),
                        name: alias
                            .as_ref()
                            .and_then(|a| a.columns.get(1).cloned())
                            .unwrap_or_else(|| "ordinality".into()),
                        ty: DataType::Int8,
                        hidden: false,
                    });
                }
                Ok((plan, scope))
            }
            ast::TableRef::Join {
                left,
                right,
                kind,
                constraint,
            } => {
                let (lp, ls) = self.bind_table_ref(left)?;
                let (rp, rs, lateral) = self.bind_right_item(right, &ls)?;
                let nleft = ls.cols.len();
                let mut scope = ls.clone();
                scope.cols.extend(rs.cols.iter().cloned());
                let join_type = match kind {
                    ast::JoinKind::Inner | ast::JoinKind::Cross => JoinType::Inner,
                    ast::JoinKind::Left => JoinType::Left,
                    ast::JoinKind::Right => JoinType::Right,
                    ast::JoinKind::Full => JoinType::Full,
                };
                let using_cols: Vec<String> = match constraint {
                    ast::JoinConstraint::Using(cols) => cols.clone(),
                    ast::JoinConstraint::Natural => ls
                        .cols
                        .iter()
                        .filter(|c| !c.hidden && rs.cols.iter().any(|r| r.name == c.name))
                        .map(|c| c.name.clone())
                        .collect(),
                    _ => Vec::new(),
                };
                let cond = match constraint {
                    ast::JoinConstraint::On(e) => {
                        let (b, t) = self.bind_typed(e, &scope, &DataType::Bool)?;
                        bool_type_check(&t, "JOIN/ON")?;
                        Some(b)
                    }
                    ast::JoinConstraint::Using(_) | ast::JoinConstraint::Natural => {
                        let mut cond: Option<BExpr> = None;
                        for c in &using_cols {
                            let li = ls
                                .cols
                                .iter()
                                .position(|x| &x.name == c)
                                .ok_or_else(|| undefined_column(c))?;
                            let ri = rs
                                .cols
                                .iter()
                                .position(|x| &x.name == c)
                                .ok_or_else(|| undefined_column(c))?;
                            let eq = BExpr::Binary(
                                BinOp::Eq,
                                Box::new(BExpr::Col(li)),
                                Box::new(BExpr::Col(nleft + ri)),
                            );
                            cond = Some(match cond {
                                None => eq,
                                Some(prev) => {
                                    BExpr::Binary(BinOp::And, Box::new(prev), Box::new(eq))
                                }
                            });
                        }
                        cond
                    }
                    ast::JoinConstraint::None => None,
                };
                let join = if lateral {
                    if matches!(join_type, JoinType::Right | JoinType::Full) {
                        return Err(SqlError::new(
                            SqlState("42P10"),
                            "invalid reference to FROM-clause entry",
                        )
                        .with_detail(
                            "The combining JOIN type must be INNER or LEFT for a LATERAL reference.",
                        ));
                    }
                    Plan::Lateral {
                        left: Box::new(lp),
                        right: Box::new(rp),
                        kind: join_type,
                        cond,
                    }
                } else {
                    make_join(lp, rp, join_type, cond, nleft)
                };
                if using_cols.is_empty() {
                    return Ok((join, scope));
                }
                // USING/NATURAL, as PostgreSQL: the merged join columns come
                // first (the left value, the right one for RIGHT JOIN, their
                // COALESCE for FULL JOIN); both sides' copies stay
                // addressable by qualified name only.
                let mut exprs = Vec::new();
                let mut out = Scope::default();
                for c in &using_cols {
                    let li = ls
                        .cols
                        .iter()
                        .position(|x| &x.name == c)
                        .ok_or_else(|| undefined_column(c))?;
                    let ri = nleft
                        + rs.cols
                            .iter()
                            .position(|x| &x.name == c)
                            .ok_or_else(|| undefined_column(c))?;
                    exprs.push(match join_type {
                        JoinType::Inner | JoinType::Left => BExpr::Col(li),
                        JoinType::Right => BExpr::Col(ri),
                        JoinType::Full => BExpr::Coalesce(vec![BExpr::Col(li), BExpr::Col(ri)]),
                    });
                    out.cols.push(ScopeCol {
                        table: None,
                        name: c.clone(),
                        ty: scope.cols[li].ty.clone(),
                        hidden: false,
                    });
                    scope.cols[li].hidden = true;
                    scope.cols[ri].hidden = true;
                }
                for (i, col) in scope.cols.iter().enumerate() {
                    exprs.push(BExpr::Col(i));
                    out.cols.push(col.clone());
                }
                let columns = out
                    .cols
                    .iter()
                    .map(|c| Column {
                        name: c.name.clone(),
                        ty: c.ty.clone(),
                    })
                    .collect();
                Ok((
                    Plan::Project {
                        input: Box::new(join),
                        exprs,
                        columns,
                    },
                    out,
                ))
            }
        }
    }
}
