//! Binding queries: WITH (recursive too), set operations, VALUES, SELECT
//! lists with grouping, DISTINCT, ORDER BY and LIMIT.

use super::aggregate::{contains_aggregate, AggContext};
use super::binder::{cast_plan, coerce, column_expr, order_position_error};
use super::{
    bool_type_check, default_column_name, undefined_column, BExpr, Binder, Column, Plan,
    PlanResult, Scope, ScopeCol, SortKey, SrfCall, SrfFunc,
};
use crate::error::{SqlError, SqlState};
use crate::sql::parse::ast::{self, Expr, SetOp};
use crate::value::types::DataType;
use crate::value::Value;

pub(super) fn query_references(q: &ast::Query, name: &str) -> bool {
    fn in_set(s: &ast::SetExpr, name: &str) -> bool {
        match s {
            ast::SetExpr::Select(sel) => sel.from.iter().any(|t| in_table(t, name)),
            ast::SetExpr::SetOp { left, right, .. } => in_set(left, name) || in_set(right, name),
            ast::SetExpr::Query(q) => in_set(&q.body, name),
            ast::SetExpr::Values(_) => false,
        }
    }
    fn in_table(t: &ast::TableRef, name: &str) -> bool {
        match t {
            ast::TableRef::Table { name: n, .. } => n.len() == 1 && n[0] == name,
            ast::TableRef::Join { left, right, .. } => {
                in_table(left, name) || in_table(right, name)
            }
            ast::TableRef::Subquery { query, .. } => in_set(&query.body, name),
            ast::TableRef::Function { .. } => false,
        }
    }
    in_set(&q.body, name)
}

/// The set-returning functions we have.
pub fn is_set_returning(name: &str) -> bool {
    matches!(
        name.strip_prefix("pg_catalog.").unwrap_or(name),
        "generate_series"
            | "pg_partition_ancestors"
            | "pg_snapshot_xip"
            | "txid_snapshot_xip"
            | "unnest"
            | "generate_subscripts"
            | "json_array_elements"
            | "json_array_elements_text"
            | "jsonb_array_elements"
            | "jsonb_array_elements_text"
            | "pg_listening_channels"
    )
}

/// The set-returning functions a select list evaluates for each row
/// (`Plan::ProjectSet`).
fn project_set_function(name: &str) -> Option<SrfFunc> {
    match name.strip_prefix("pg_catalog.").unwrap_or(name) {
        // The session's channels, unnested (see `bind_srf`).
        "unnest" | "pg_listening_channels" => Some(SrfFunc::Unnest),
        "generate_subscripts" => Some(SrfFunc::GenerateSubscripts),
        "generate_series" => Some(SrfFunc::GenerateSeries),
        "json_array_elements" => Some(SrfFunc::JsonArrayElements {
            jsonb: false,
            text: false,
        }),
        "json_array_elements_text" => Some(SrfFunc::JsonArrayElements {
            jsonb: false,
            text: true,
        }),
        "jsonb_array_elements" => Some(SrfFunc::JsonArrayElements {
            jsonb: true,
            text: false,
        }),
        "jsonb_array_elements_text" => Some(SrfFunc::JsonArrayElements {
            jsonb: true,
            text: true,
        }),
        _ => None,
    }
}

/// `SELECT srf(args) [AS x]` without FROM, for the functions that have a
/// plan of their own (`generate_series`, `pg_snapshot_xip`...), is `SELECT
/// x FROM srf(args) AS x`: one row per row of the function, none when it
/// returns none (PostgreSQL evaluates set-returning functions in the select
/// list that way). Otherwise (FROM, several functions) the select list's
/// functions are a `Plan::ProjectSet`.
pub(super) fn srf_select_to_from(sel: &ast::Select) -> PlanResult<Option<ast::Select>> {
    if !sel.from.is_empty() {
        return Ok(None);
    }
    let srf_at = |item: &ast::SelectItem| match item {
        ast::SelectItem::Expr {
            expr: Expr::Function(f),
            ..
        } if is_set_returning(&f.name) => Some(f.clone()),
        _ => None,
    };
    let found: Vec<usize> = (0..sel.projection.len())
        .filter(|&i| srf_at(&sel.projection[i]).is_some())
        .collect();
    let [at] = found.as_slice() else {
        return Ok(None);
    };
    let Some(f) = srf_at(&sel.projection[*at]) else {
        return Ok(None);
    };
    if matches!(
        project_set_function(&f.name),
        Some(SrfFunc::Unnest | SrfFunc::GenerateSubscripts)
    ) {
        return Ok(None);
    }
    let column = f.name.rsplit('.').next().unwrap_or(&f.name).to_string();
    let alias = match &sel.projection[*at] {
        ast::SelectItem::Expr { alias, .. } => alias.clone(),
        _ => None,
    };
    let mut out = sel.clone();
    out.from = vec![ast::TableRef::Function {
        name: f.name.split('.').map(str::to_string).collect(),
        args: f.args.clone(),
        alias: Some(ast::TableAlias {
            name: column.clone(),
            columns: vec![column.clone()],
        }),
        ordinality: false,
    }];
    out.projection[*at] = ast::SelectItem::Expr {
        expr: Expr::Column(vec![column.clone(), column.clone()]),
        alias: Some(alias.unwrap_or(column)),
    };
    Ok(Some(out))
}

impl<'a> Binder<'a> {
    /// Binds a query; returns its plan and output columns.
    pub fn bind_query(&mut self, q: &ast::Query) -> PlanResult<(Plan, Vec<Column>)> {
        let cte_mark = self.ctes.len();
        for cte in &q.ctes {
            let id = self.cte_plans.len();
            let refs_before = self.outer_refs;
            let (plan, mut cols) = if q.recursive && query_references(&cte.query, &cte.name) {
                self.bind_recursive_cte(cte, id)?
            } else {
                let (p, c) = self.bind_query(&cte.query)?;
                self.cte_plans.push(p);
                (None, c)
            };
            if let Some(p) = plan {
                self.cte_plans[id] = p;
            }
            if self.outer_refs != refs_before {
                self.correlated_ctes.push((id, self.outer.len()));
            }
            for (c, name) in cols.iter_mut().zip(&cte.columns) {
                c.name = name.clone();
            }
            self.ctes.push((cte.name.clone(), cols, id));
        }
        let result = self.bind_query_body(q);
        self.ctes.truncate(cte_mark);
        result
    }

    pub(super) fn bind_recursive_cte(
        &mut self,
        cte: &ast::Cte,
        id: usize,
    ) -> PlanResult<(Option<Plan>, Vec<Column>)> {
        let (anchor, step, all) = match &cte.query.body {
            ast::SetExpr::SetOp {
                op: SetOp::Union,
                all,
                left,
                right,
            } => (left, right, *all),
            _ => {
                return Err(SqlError::new(
                    SqlState::INVALID_TABLE_DEFINITION,
                    format!("recursive query \"{}\" does not have the form non-recursive-term UNION [ALL] recursive-term", cte.name),
                ))
            }
        };
        let (anchor_plan, mut cols) = self.bind_set_expr(anchor)?;
        for (c, name) in cols.iter_mut().zip(&cte.columns) {
            c.name = name.clone();
        }
        // The step reads the work table under the CTE's name.
        self.cte_plans.push(Plan::Values {
            rows: Vec::new(),
            columns: cols.clone(),
        });
        self.ctes
            .push((cte.name.clone(), cols.clone(), usize::MAX - id));
        let step_plan = self.bind_set_expr(step);
        self.ctes.pop();
        let (step_plan, _) = step_plan?;
        Ok((
            Some(Plan::RecursiveCte {
                id,
                anchor: Box::new(anchor_plan),
                step: Box::new(step_plan),
                all,
            }),
            cols,
        ))
    }

    pub(super) fn bind_query_body(&mut self, q: &ast::Query) -> PlanResult<(Plan, Vec<Column>)> {
        if let (ast::SetExpr::Select(sel), false) = (&q.body, q.order_by.is_empty()) {
            // ORDER BY may use input columns not in the select list.
            return self.bind_select(sel, &q.order_by, q.limit.as_ref(), q.offset.as_ref());
        }
        let (mut plan, cols) = self.bind_set_expr(&q.body)?;
        if !q.order_by.is_empty() {
            let scope = Scope {
                cols: cols
                    .iter()
                    .map(|c| ScopeCol {
                        table: None,
                        name: c.name.clone(),
                        ty: c.ty.clone(),
                        hidden: false,
                    })
                    .collect(),
            };
            let mut keys = Vec::new();
            for o in &q.order_by {
                let expr = match &o.expr {
                    Expr::Literal(Value::Int4(n)) => {
                        let i = usize::try_from(*n - 1)
                            .ok()
                            .filter(|&i| i < cols.len())
                            .ok_or_else(|| order_position_error(*n))?;
                        BExpr::Col(i)
                    }
                    e => self.bind_expr(e, &scope)?.0,
                };
                let expr = match &expr {
                    BExpr::Col(i) => match cols.get(*i).map(|c| &c.ty) {
                        Some(DataType::Enum(e)) => super::expr::enum_position(expr, e),
                        _ => expr,
                    },
                    _ => expr,
                };
                keys.push(SortKey {
                    expr,
                    desc: o.desc,
                    nulls_first: o.nulls_first.unwrap_or(o.desc),
                });
            }
            plan = Plan::Sort {
                input: Box::new(plan),
                keys,
            };
        }
        plan = self.bind_limit(plan, q.limit.as_ref(), q.offset.as_ref())?;
        Ok((plan, cols))
    }

    pub(super) fn bind_limit(
        &mut self,
        plan: Plan,
        limit: Option<&Expr>,
        offset: Option<&Expr>,
    ) -> PlanResult<Plan> {
        if limit.is_none() && offset.is_none() {
            return Ok(plan);
        }
        let empty = Scope::default();
        let limit = match limit {
            Some(Expr::Literal(Value::Null)) | None => None,
            Some(e) => Some(self.bind_typed(e, &empty, &DataType::Int8)?.0),
        };
        let offset = match offset {
            Some(e) => Some(self.bind_typed(e, &empty, &DataType::Int8)?.0),
            None => None,
        };
        Ok(Plan::Limit {
            input: Box::new(plan),
            limit,
            offset,
        })
    }

    pub(super) fn bind_set_expr(&mut self, s: &ast::SetExpr) -> PlanResult<(Plan, Vec<Column>)> {
        match s {
            ast::SetExpr::Select(sel) => self.bind_select(sel, &[], None, None),
            ast::SetExpr::Query(q) => self.bind_query(q),
            ast::SetExpr::Values(rows) => self.bind_values(rows, None),
            ast::SetExpr::SetOp {
                op,
                all,
                left,
                right,
            } => {
                self.set_op_leaf = matches!(**left, ast::SetExpr::Select(_));
                let (lp, lc) = self.bind_set_expr(left)?;
                self.set_op_leaf = matches!(**right, ast::SetExpr::Select(_));
                let (rp, rc) = self.bind_set_expr(right)?;
                if lc.len() != rc.len() {
                    return Err(SqlError::new(
                        SqlState::SYNTAX_ERROR,
                        format!(
                            "each {} query must have the same number of columns",
                            format!("{op:?}").to_uppercase()
                        ),
                    ));
                }
                let mut cols = Vec::new();
                for (l, r) in lc.iter().zip(&rc) {
                    let ty = self.unify(&l.ty, &r.ty, &format!("{op:?}").to_uppercase())?;
                    cols.push(Column {
                        name: l.name.clone(),
                        ty,
                    });
                }
                let lp = cast_plan(lp, &lc, &cols);
                let rp = cast_plan(rp, &rc, &cols);
                Ok((
                    Plan::SetOp {
                        op: *op,
                        all: *all,
                        left: Box::new(lp),
                        right: Box::new(rp),
                    },
                    cols,
                ))
            }
        }
    }

    /// VALUES lists; `target` gives column types to coerce to (INSERT).
    pub fn bind_values(
        &mut self,
        rows: &[Vec<Expr>],
        target: Option<&[DataType]>,
    ) -> PlanResult<(Plan, Vec<Column>)> {
        let width = rows.first().map_or(0, |r| r.len());
        let mut types: Vec<DataType> = match target {
            Some(t) => t.to_vec(),
            None => vec![DataType::Unknown; width],
        };
        let empty = Scope::default();
        let mut bound_rows = Vec::new();
        if let Some(t) = target {
            if width != t.len() {
                return Err(SqlError::new(
                    SqlState::SYNTAX_ERROR,
                    if width > t.len() {
                        "INSERT has more expressions than target columns"
                    } else {
                        "INSERT has more target columns than expressions"
                    },
                ));
            }
        }
        for row in rows {
            if row.len() != width {
                return Err(SqlError::new(
                    SqlState::SYNTAX_ERROR,
                    "VALUES lists must all be the same length",
                ));
            }
            let mut bound = Vec::new();
            for (i, e) in row.iter().enumerate() {
                if matches!(e, Expr::Default) && target.is_some() {
                    bound.push(BExpr::Func {
                        name: "__default".into(),
                        args: vec![BExpr::Const(Value::Int4(i as i32))],
                    });
                    continue;
                }
                let want = types.get(i).cloned().unwrap_or(DataType::Unknown);
                let (b, t) = self.bind_typed(e, &empty, &want)?;
                if target.is_none() {
                    types[i] = self.unify(&types[i], &t, "VALUES")?;
                }
                bound.push(b);
            }
            bound_rows.push(bound);
        }
        let types: Vec<DataType> = types
            .into_iter()
            .map(|t| {
                if t == DataType::Unknown {
                    DataType::Text
                } else {
                    t
                }
            })
            .collect();
        if target.is_none() {
            for row in &mut bound_rows {
                for (b, t) in row.iter_mut().zip(&types) {
                    *b = coerce(std::mem::replace(b, BExpr::Const(Value::Null)), t);
                }
            }
        }
        let columns: Vec<Column> = types
            .iter()
            .enumerate()
            .map(|(i, t)| Column {
                name: format!("column{}", i + 1),
                ty: t.clone(),
            })
            .collect();
        Ok((
            Plan::Values {
                rows: bound_rows,
                columns: columns.clone(),
            },
            columns,
        ))
    }

    /// Binds a SELECT with its ORDER BY / LIMIT.
    pub(super) fn bind_select(
        &mut self,
        sel: &ast::Select,
        order_by: &[ast::OrderItem],
        limit: Option<&Expr>,
        offset: Option<&Expr>,
    ) -> PlanResult<(Plan, Vec<Column>)> {
        if let Some(rewritten) = srf_select_to_from(sel)? {
            return self.bind_select(&rewritten, order_by, limit, offset);
        }
        // Taken now, so subqueries in FROM do not see it.
        let set_op_leaf = std::mem::take(&mut self.set_op_leaf);
        let (mut plan, mut scope) = self.bind_from(&sel.from)?;
        if let Some(w) = &sel.selection {
            if contains_aggregate(w) {
                return Err(SqlError::new(
                    SqlState::GROUPING_ERROR,
                    "aggregate functions are not allowed in WHERE",
                ));
            }
            let (pred, t) = self.bind_typed(w, &scope, &DataType::Bool)?;
            bool_type_check(&t, "WHERE")?;
            plan = Plan::Filter {
                input: Box::new(plan),
                pred,
            };
        }
        // Expand the select list.
        let mut items: Vec<(Expr, String)> = Vec::new();
        for item in &sel.projection {
            match item {
                ast::SelectItem::Wildcard => {
                    if scope.cols.iter().all(|c| c.hidden)
                        && !sel.from.is_empty()
                        && scope.cols.is_empty()
                    {
                        continue;
                    }
                    for c in scope.cols.iter().filter(|c| !c.hidden) {
                        items.push((column_expr(c), c.name.clone()));
                    }
                }
                ast::SelectItem::QualifiedWildcard(name) => {
                    let t = name.last().cloned().unwrap_or_default();
                    let mut any = false;
                    for c in scope
                        .cols
                        .iter()
                        .filter(|c| !c.hidden && c.table.as_ref() == Some(&t))
                    {
                        items.push((column_expr(c), c.name.clone()));
                        any = true;
                    }
                    if !any {
                        return Err(SqlError::new(
                            SqlState::UNDEFINED_TABLE,
                            format!("missing FROM-clause entry for table \"{t}\""),
                        ));
                    }
                }
                ast::SelectItem::Expr { expr, alias } => {
                    let name = alias.clone().unwrap_or_else(|| default_column_name(expr));
                    items.push((expr.clone(), name));
                }
            }
        }
        let has_agg = !sel.group_by.is_empty()
            || sel.having.is_some()
            || items.iter().any(|(e, _)| contains_aggregate(e))
            || order_by.iter().any(|o| contains_aggregate(&o.expr));
        // Set-returning functions of the select list: computed per row of
        // FROM/WHERE, their values appended as hidden columns that the
        // select list then names.
        let mut srfs = Vec::new();
        let mut srf_columns = Vec::new();
        for (e, _) in items.iter_mut() {
            let Expr::Function(f) = e else {
                continue;
            };
            if !is_set_returning(&f.name) {
                continue;
            }
            if has_agg {
                return Err(SqlError::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "set-returning functions in a select list with aggregates or GROUP BY are not supported",
                ));
            }
            let f = f.clone();
            let (call, ty) = self.bind_srf(&f.name, &f.args, &scope)?;
            let name = format!("?srf{}?", srfs.len());
            scope.cols.push(ScopeCol {
                table: Some("?srf?".into()),
                name: name.clone(),
                ty: ty.clone(),
                hidden: true,
            });
            srf_columns.push(Column {
                name: name.clone(),
                ty,
            });
            srfs.push(call);
            *e = Expr::Column(vec!["?srf?".into(), name]);
        }
        if !srfs.is_empty() {
            plan = Plan::ProjectSet {
                input: Box::new(plan),
                srfs,
                columns: srf_columns,
            };
        }
        let post_scope;
        if has_agg {
            // GROUP BY may name output columns by position or alias.
            let mut group_exprs = Vec::new();
            for g in &sel.group_by {
                let g = match g {
                    Expr::Literal(Value::Int4(n)) => items
                        .get((*n as usize).wrapping_sub(1))
                        .map(|(e, _)| e.clone())
                        .ok_or_else(|| order_position_error(*n))?,
                    Expr::Column(name) if name.len() == 1 && scope.resolve(name)?.is_none() => {
                        items
                            .iter()
                            .find(|(_, n)| n == &name[0])
                            .map(|(e, _)| e.clone())
                            .ok_or_else(|| undefined_column(&name[0]))?
                    }
                    e => e.clone(),
                };
                group_exprs.push(g);
            }
            let mut group_bound = Vec::new();
            let mut group_types = Vec::new();
            for g in &group_exprs {
                if contains_aggregate(g) {
                    return Err(SqlError::new(
                        SqlState::GROUPING_ERROR,
                        "aggregate functions are not allowed in GROUP BY",
                    ));
                }
                let (b, t) = self.bind_expr(g, &scope)?;
                group_bound.push(b);
                group_types.push(t);
            }
            self.agg = Some(AggContext {
                group_exprs,
                group_types,
                aggs: Vec::new(),
                agg_exprs: Vec::new(),
                input_scope: scope.clone(),
            });
            post_scope = Scope::default();
            self.set_op_leaf = set_op_leaf;
            let result = self.bind_select_output(
                &items,
                order_by,
                sel,
                &post_scope,
                Some(group_bound),
                plan,
            );
            self.agg = None;
            let (plan, cols) = result?;
            let plan = self.bind_limit(plan, limit, offset)?;
            return Ok((plan, cols));
        }
        self.set_op_leaf = set_op_leaf;
        let (plan, cols) = self.bind_select_output(&items, order_by, sel, &scope, None, plan)?;
        let plan = self.bind_limit(plan, limit, offset)?;
        Ok((plan, cols))
    }

    /// A set-returning function `name(args)` over `scope`, with the type
    /// of its values.
    pub(super) fn bind_srf(
        &mut self,
        name: &str,
        args: &[Expr],
        scope: &Scope,
    ) -> PlanResult<(SrfCall, DataType)> {
        let Some(func) = project_set_function(name) else {
            return Err(SqlError::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                format!("set-returning function {name} is not supported here"),
            ));
        };
        let short = name.strip_prefix("pg_catalog.").unwrap_or(name);
        if short == "pg_listening_channels" {
            // The session answers with its channels as a text[] constant.
            let channels = match args {
                [] => self.catalog.session_function(short, args)?,
                _ => None,
            };
            let Some((array, _)) = channels else {
                return Err(SqlError::new(
                    SqlState::UNDEFINED_FUNCTION,
                    format!("function {short}() does not exist with these arguments"),
                ));
            };
            return Ok((
                SrfCall {
                    func,
                    args: vec![array],
                },
                DataType::Text,
            ));
        }
        let mut bound = Vec::new();
        let mut types = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let want = match (func, i) {
                (SrfFunc::GenerateSubscripts, 1) => DataType::Int4,
                (SrfFunc::GenerateSubscripts, 2) => DataType::Bool,
                (SrfFunc::GenerateSeries, _) => DataType::Int8,
                (SrfFunc::JsonArrayElements { jsonb: true, .. }, 0) => DataType::Jsonb,
                (SrfFunc::JsonArrayElements { jsonb: false, .. }, 0) => DataType::Json,
                _ => DataType::Unknown,
            };
            let (b, t) = self.bind_typed(a, scope, &want)?;
            bound.push(b);
            types.push(t);
        }
        let no_such = |types: &[DataType]| {
            let list: Vec<String> = types.iter().map(|t| t.to_string()).collect();
            SqlError::new(
                SqlState::UNDEFINED_FUNCTION,
                format!("function {short}({}) does not exist", list.join(", ")),
            )
            .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")
        };
        let ty = match (func, types.as_slice()) {
            (SrfFunc::Unnest, [DataType::Unknown]) => {
                return Err(SqlError::new(
                    SqlState::INDETERMINATE_DATATYPE,
                    "could not determine polymorphic type because input has type unknown",
                ))
            }
            (SrfFunc::Unnest, [DataType::Array(elem)]) => (**elem).clone(),
            (SrfFunc::JsonArrayElements { jsonb, text }, [t])
                if *t
                    == if jsonb {
                        DataType::Jsonb
                    } else {
                        DataType::Json
                    } =>
            {
                match (jsonb, text) {
                    (_, true) => DataType::Text,
                    (true, false) => DataType::Jsonb,
                    (false, false) => DataType::Json,
                }
            }
            (SrfFunc::GenerateSubscripts, [DataType::Array(_), d, rest @ ..])
                if d.is_integer()
                    && rest.iter().all(|r| *r == DataType::Bool)
                    && rest.len() <= 1 =>
            {
                DataType::Int4
            }
            (SrfFunc::GenerateSeries, t)
                if (2..=3).contains(&t.len()) && t.iter().all(DataType::is_integer) =>
            {
                // int4 unless a bound is bigint (PostgreSQL's overloads);
                // the executor decides the same way from the values.
                if t.iter()
                    .all(|t| matches!(t, DataType::Int2 | DataType::Int4))
                {
                    DataType::Int4
                } else {
                    DataType::Int8
                }
            }
            (_, t) => return Err(no_such(t)),
        };
        Ok((SrfCall { func, args: bound }, ty))
    }

    /// Projection, HAVING, DISTINCT and ORDER BY over `plan` (which is the
    /// aggregation input when `group` is given).
    pub(super) fn bind_select_output(
        &mut self,
        items: &[(Expr, String)],
        order_by: &[ast::OrderItem],
        sel: &ast::Select,
        scope: &Scope,
        group: Option<Vec<BExpr>>,
        plan: Plan,
    ) -> PlanResult<(Plan, Vec<Column>)> {
        let keep_unknown = std::mem::take(&mut self.set_op_leaf);
        let mut exprs = Vec::new();
        let mut cols = Vec::new();
        for (e, name) in items {
            let (b, t) = self.bind_expr(e, scope)?;
            exprs.push(b);
            cols.push(Column {
                name: name.clone(),
                ty: if t == DataType::Unknown && !keep_unknown {
                    DataType::Text
                } else {
                    t
                },
            });
        }
        let having = match &sel.having {
            Some(h) => {
                let (b, t) = self.bind_typed(h, scope, &DataType::Bool)?;
                bool_type_check(&t, "HAVING")?;
                Some(b)
            }
            None => None,
        };
        // ORDER BY: output position, output alias, or an expression
        // (added as a hidden column).
        let visible = exprs.len();
        let mut sort_keys = Vec::new();
        for o in order_by {
            let idx = match &o.expr {
                Expr::Literal(Value::Int4(n)) => Some(
                    usize::try_from(*n - 1)
                        .ok()
                        .filter(|&i| i < visible)
                        .ok_or_else(|| order_position_error(*n))?,
                ),
                Expr::Column(name)
                    if name.len() == 1
                        && items.iter().filter(|(_, n)| n == &name[0]).count() == 1 =>
                {
                    let by_output = items.iter().position(|(_, n)| n == &name[0]);
                    // An input column of that name wins only if the output
                    // column is not a plain reference to something else.
                    by_output
                }
                e => items.iter().position(|(ie, _)| ie == e),
            };
            let idx = match idx {
                Some(i) => i,
                None => {
                    if matches!(sel.distinct, ast::Distinct::All) {
                        return Err(SqlError::new(
                            SqlState::INVALID_COLUMN_REFERENCE,
                            "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
                        ));
                    }
                    let (b, t) = self.bind_expr(&o.expr, scope)?;
                    exprs.push(b);
                    cols.push(Column {
                        name: "?order?".into(),
                        ty: t,
                    });
                    exprs.len() - 1
                }
            };
            // Enums sort by label position.
            let expr = match &cols[idx].ty {
                DataType::Enum(e) => super::expr::enum_position(BExpr::Col(idx), e),
                _ => BExpr::Col(idx),
            };
            sort_keys.push(SortKey {
                expr,
                desc: o.desc,
                nulls_first: o.nulls_first.unwrap_or(o.desc),
            });
        }
        let mut plan = plan;
        if let Some(group) = group {
            let aggs = self
                .agg
                .as_ref()
                .map(|a| a.aggs.clone())
                .unwrap_or_default();
            plan = Plan::Aggregate {
                input: Box::new(plan),
                group,
                aggs,
            };
        }
        if let Some(h) = having {
            plan = Plan::Filter {
                input: Box::new(plan),
                pred: h,
            };
        }
        // DISTINCT ON binds against the select list / input.
        let distinct_on = match &sel.distinct {
            ast::Distinct::On(on) => {
                let mut keys = Vec::new();
                for e in on {
                    let idx = match e {
                        Expr::Literal(Value::Int4(n)) => {
                            (*n as usize).checked_sub(1).filter(|&i| i < visible)
                        }
                        e => items.iter().position(|(ie, _)| ie == e),
                    };
                    let idx = match idx {
                        Some(i) => i,
                        None => {
                            let (b, t) = self.bind_expr(e, scope)?;
                            exprs.push(b);
                            cols.push(Column {
                                name: "?distinct?".into(),
                                ty: t,
                            });
                            exprs.len() - 1
                        }
                    };
                    keys.push(idx);
                }
                Some(keys)
            }
            _ => None,
        };
        plan = Plan::Project {
            input: Box::new(plan),
            exprs,
            columns: cols.clone(),
        };
        if let Some(keys) = &distinct_on {
            // Sort by the DISTINCT ON keys first, then the ORDER BY.
            let mut all_keys: Vec<SortKey> = Vec::new();
            for (i, k) in keys.iter().enumerate() {
                let from_order = sort_keys
                    .get(i)
                    .filter(|s| matches!(s.expr, BExpr::Col(c) if c == *k));
                all_keys.push(from_order.cloned().unwrap_or(SortKey {
                    expr: BExpr::Col(*k),
                    desc: false,
                    nulls_first: false,
                }));
            }
            all_keys.extend(sort_keys.iter().skip(keys.len()).cloned());
            plan = Plan::Sort {
                input: Box::new(plan),
                keys: all_keys,
            };
            plan = Plan::Distinct {
                input: Box::new(plan),
                on: Some(keys.iter().map(|&k| BExpr::Col(k)).collect()),
            };
        } else {
            if matches!(sel.distinct, ast::Distinct::All) {
                plan = Plan::Distinct {
                    input: Box::new(plan),
                    on: None,
                };
            }
            if !sort_keys.is_empty() {
                plan = Plan::Sort {
                    input: Box::new(plan),
                    keys: sort_keys,
                };
            }
        }
        if cols.len() > visible {
            plan = Plan::Truncate {
                input: Box::new(plan),
                keep: visible,
            };
            cols.truncate(visible);
        }
        Ok((plan, cols))
    }

    /// Binds RETURNING / output items against a table scope.
    pub fn bind_items(
        &mut self,
        items: &[ast::SelectItem],
        scope: &Scope,
    ) -> PlanResult<(Vec<BExpr>, Vec<Column>)> {
        let mut exprs = Vec::new();
        let mut cols = Vec::new();
        for item in items {
            match item {
                ast::SelectItem::Wildcard | ast::SelectItem::QualifiedWildcard(_) => {
                    for (i, c) in scope.cols.iter().enumerate().filter(|(_, c)| !c.hidden) {
                        exprs.push(BExpr::Col(i));
                        cols.push(Column {
                            name: c.name.clone(),
                            ty: c.ty.clone(),
                        });
                    }
                }
                ast::SelectItem::Expr { expr, alias } => {
                    if contains_aggregate(expr) {
                        return Err(SqlError::new(
                            SqlState::GROUPING_ERROR,
                            "aggregate functions are not allowed in RETURNING",
                        ));
                    }
                    let (b, t) = self.bind_expr(expr, scope)?;
                    exprs.push(b);
                    cols.push(Column {
                        name: alias.clone().unwrap_or_else(|| default_column_name(expr)),
                        ty: if t == DataType::Unknown {
                            DataType::Text
                        } else {
                            t
                        },
                    });
                }
            }
        }
        Ok((exprs, cols))
    }
}
