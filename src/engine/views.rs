//! CREATE [OR REPLACE] VIEW, and what depends on what: the views that
//! read a table, a column or another view, which DROP ... [CASCADE] and
//! ALTER TABLE ... DROP COLUMN report or take along as PostgreSQL does.

use std::collections::HashSet;

use super::{sql_err, system, Engine, QueryResult, Result, SessionId};
use crate::catalog::{Entry, Object, Oid, ViewColumn, ViewDef};
use crate::error::{Error, Notice, NoticeSeverity, SqlError, SqlState};
use crate::sql::functions::quote_ident;
use crate::sql::parse::ast;
use crate::sql::parse::translate;
use crate::sql::plan::deparse;
use crate::txn::Viewer;
use crate::value::types::DataType;

/// A view that will go with a dropped object, and the line of
/// PostgreSQL's DETAIL that says why.
pub(super) struct Dependent {
    pub entry: Entry,
    pub line: String,
}

/// How PostgreSQL names an object in dependency messages: qualified
/// unless it is in `public` (`entries` hold the schemas' names).
pub(super) fn describe(object: &Object, entries: &[Entry]) -> String {
    let name = |n: &str| match object.namespace() {
        Some(ns) if ns != crate::catalog::PUBLIC_NAMESPACE => {
            let schema = entries
                .iter()
                .find(|e| matches!(&*e.object, Object::Schema(s) if s.oid == ns))
                .map_or_else(|| ns.to_string(), |e| e.object.name().to_string());
            format!("{}.{}", quote_ident(&schema), quote_ident(n))
        }
        _ => quote_ident(n),
    };
    match object {
        Object::Table(t) => format!("table {}", name(&t.name)),
        Object::View(v) => format!("view {}", name(&v.name)),
        Object::Index(i) => format!("index {}", name(&i.name)),
        Object::Sequence(s) => format!("sequence {}", name(&s.name)),
        Object::Type(t) => format!("type {}", name(&t.name)),
        Object::Comment(c) => format!("comment on object {}", c.object),
        Object::Schema(s) => format!("schema {}", quote_ident(&s.name)),
    }
}

impl Engine {
    /// Every catalog object the session's next command sees.
    pub(super) fn visible_entries(&mut self, sid: SessionId) -> Result<Vec<Entry>> {
        let snapshot = self.take_snapshot(sid);
        let t = self.txns.get(sid).expect("in a transaction");
        let viewer = Viewer {
            snapshot: &snapshot,
            own: t.own(),
            cid: t.cid + 1,
        };
        Ok(self.catalog.visible(&self.txns, &mut self.pager, &viewer)?)
    }

    /// The views that read `root` (only column `column` of it, if given),
    /// and the views that read those, in the order PostgreSQL lists them;
    /// `skip` are objects being dropped anyway.
    pub(super) fn dependent_views(
        &mut self,
        sid: SessionId,
        roots: &[(Oid, Option<usize>, String)],
        skip: &HashSet<Oid>,
    ) -> Result<Vec<Dependent>> {
        let entries = self.visible_entries(sid)?;
        let mut out = Vec::new();
        let mut seen = skip.clone();
        for (oid, column, desc) in roots {
            collect(&entries, *oid, *column, desc, &mut seen, &mut out);
        }
        Ok(out)
    }

    /// Refuses (2BP01) to drop `what` while `dependents` exist, unless
    /// `cascade`: then tells (NOTICE) what goes with it.
    pub(super) fn check_dependents(
        &mut self,
        sid: SessionId,
        what: &str,
        dependents: &[Dependent],
        cascade: bool,
    ) -> Result<()> {
        if dependents.is_empty() {
            return Ok(());
        }
        let entries = self.visible_entries(sid)?;
        if !cascade {
            let lines: Vec<&str> = dependents.iter().map(|d| d.line.as_str()).collect();
            return Err(Error::Sql(
                SqlError::new(
                    SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
                    format!("cannot drop {what} because other objects depend on it"),
                )
                .with_detail(lines.join("\n"))
                .with_hint("Use DROP ... CASCADE to drop the dependent objects too."),
            ));
        }
        let body = match dependents {
            [one] => SqlError::new(
                SqlState("00000"),
                format!("drop cascades to {}", describe(&one.entry.object, &entries)),
            ),
            many => SqlError::new(
                SqlState("00000"),
                format!("drop cascades to {} other objects", many.len()),
            )
            .with_detail(
                many.iter()
                    .map(|d| format!("drop cascades to {}", describe(&d.entry.object, &entries)))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        };
        self.raise_notice(
            sid,
            Notice {
                severity: NoticeSeverity::Notice,
                body,
            },
        );
        Ok(())
    }

    /// Deletes the catalog rows of `dependents` (DROP ... CASCADE).
    pub(super) fn drop_dependents(
        &mut self,
        sid: SessionId,
        dependents: &[Dependent],
    ) -> Result<()> {
        if dependents.is_empty() {
            return Ok(());
        }
        let xid = self.write_xid(sid)?;
        let cid = self.current_cid(sid);
        for d in dependents {
            self.lock_catalog_row(sid, d.entry.tid)?;
            self.catalog
                .delete(&mut self.pager, d.entry.tid, xid, cid)?;
        }
        Ok(())
    }

    pub(super) fn create_view(
        &mut self,
        sid: SessionId,
        c: &ast::CreateView,
    ) -> Result<QueryResult> {
        system::refuse_ddl(&c.name)?;
        let name = c.name.last().cloned().unwrap_or_default();
        let snapshot = self.statement_snapshot(sid);
        // Bound as a query first: its errors are the query's.
        let ((_, columns), _, _) = self.bind(sid, &snapshot, |b| b.bind_query(&c.query))?;
        if c.columns.len() > columns.len() {
            return Err(sql_err(
                SqlState::SYNTAX_ERROR,
                "CREATE VIEW specifies more column names than columns",
            ));
        }
        // An untyped column (`SELECT 'a' UNION SELECT 'b'`) is text.
        let as_text = |ty: DataType| {
            if ty == DataType::Unknown {
                DataType::Text
            } else {
                ty
            }
        };
        let mut columns: Vec<ViewColumn> = columns
            .into_iter()
            .map(|c| ViewColumn {
                name: c.name,
                ty: as_text(c.ty),
            })
            .collect();
        for (col, n) in columns.iter_mut().zip(&c.columns) {
            col.name = n.clone();
        }
        let mut seen = HashSet::new();
        for col in &columns {
            if !seen.insert(col.name.as_str()) {
                return Err(sql_err(
                    SqlState::DUPLICATE_COLUMN,
                    format!("column \"{}\" specified more than once", col.name),
                ));
            }
        }
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let (text, _, _) = self.bind(sid, &snapshot, |b| {
            deparse::view_definition(&mut *b.catalog, &c.query, &names)
        })?;
        // The stored text must mean what was written: bind it back.
        let reparsed = match translate::parse(&text.plain)?.pop() {
            Some(ast::Statement::Query(q)) => q,
            _ => return Err(cannot_store(&name, "it does not read back as a query")),
        };
        // As a view's query is bound on use: unqualified names mean
        // public whatever the session's search path (a restored script
        // runs with an empty one).
        let ((_, again), _, _) = self
            .bind(sid, &snapshot, |b| {
                b.catalog.in_view(true);
                let bound = b.bind_query(&reparsed);
                b.catalog.in_view(false);
                bound
            })
            .map_err(|e| cannot_store(&name, &format!("it does not bind back: {e}")))?;
        if again.len() != columns.len()
            || again
                .iter()
                .zip(&columns)
                .any(|(a, b)| a.name != b.name || as_text(a.ty.clone()).oid() != b.ty.oid())
        {
            return Err(cannot_store(&name, "its columns differ when read back"));
        }
        let namespace = self.creation_namespace(sid, &c.name)?;
        let existing = self.lookup_in(sid, namespace, &name)?;
        let old = match &existing {
            Some(e) => match &*e.object {
                Object::View(v) if c.or_replace => Some((e.tid, v.clone())),
                _ if c.or_replace => {
                    return Err(sql_err(
                        SqlState::WRONG_OBJECT_TYPE,
                        format!("\"{name}\" is not a view"),
                    ))
                }
                _ => {
                    return Err(sql_err(
                        SqlState::DUPLICATE_TABLE,
                        format!("relation \"{name}\" already exists"),
                    ))
                }
            },
            None => None,
        };
        if let Some((_, v)) = &old {
            check_replacement(v, &columns)?;
        }
        self.check_name_not_in_flux(sid, &name)?;
        let xid = self.write_xid(sid)?;
        let cid = self.current_cid(sid);
        match old {
            Some((tid, v)) => {
                self.lock_catalog_row(sid, tid)?;
                let def = ViewDef {
                    oid: v.oid,
                    name,
                    namespace,
                    columns,
                    query: text.plain,
                    pretty: text.pretty,
                    depends: text.depends,
                };
                self.catalog
                    .replace(&mut self.pager, tid, xid, cid, Object::View(def))?;
            }
            None => {
                let def = ViewDef {
                    oid: self.catalog.allocate_oid(),
                    name,
                    namespace,
                    columns,
                    query: text.plain,
                    pretty: text.pretty,
                    depends: text.depends,
                };
                self.catalog
                    .insert(&mut self.pager, xid, cid, Object::View(def))?;
            }
        }
        Ok(QueryResult::tag("CREATE VIEW"))
    }
}

fn cannot_store(name: &str, why: &str) -> Error {
    Error::Sql(
        SqlError::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            format!("the definition of view \"{name}\" cannot be stored"),
        )
        .with_detail(format!(
            "The query is stored as PostgreSQL prints it, and {why}."
        )),
    )
}

/// CREATE OR REPLACE VIEW keeps the old columns (same names and types, in
/// order) and may only add new ones at the end (PostgreSQL's
/// checkViewTupleDesc).
fn check_replacement(old: &ViewDef, new: &[ViewColumn]) -> Result<()> {
    if new.len() < old.columns.len() {
        return Err(sql_err(SqlState("42P16"), "cannot drop columns from view"));
    }
    for (o, n) in old.columns.iter().zip(new) {
        if o.name != n.name {
            return Err(Error::Sql(
                SqlError::new(
                    SqlState("42P16"),
                    format!(
                        "cannot change name of view column \"{}\" to \"{}\"",
                        o.name, n.name
                    ),
                )
                .with_hint(
                    "Use ALTER VIEW ... RENAME COLUMN ... to change name of view column instead.",
                ),
            ));
        }
        if o.ty != n.ty {
            return Err(sql_err(
                SqlState("42P16"),
                format!(
                    "cannot change data type of view column \"{}\" from {} to {}",
                    o.name, o.ty, n.ty
                ),
            ));
        }
    }
    Ok(())
}

/// Depth-first: each view reading `oid` (sorted by OID), then the views
/// reading it.
fn collect(
    entries: &[Entry],
    oid: Oid,
    column: Option<usize>,
    desc: &str,
    seen: &mut HashSet<Oid>,
    out: &mut Vec<Dependent>,
) {
    let mut direct: Vec<(Oid, &Entry)> = entries
        .iter()
        .filter_map(|e| match &*e.object {
            Object::View(v)
                if v.depends.iter().any(|d| {
                    d.relation == oid && column.is_none_or(|c| d.columns.contains(&c))
                }) =>
            {
                Some((v.oid, e))
            }
            _ => None,
        })
        .collect();
    direct.sort_by_key(|(o, _)| *o);
    for (voids, e) in direct {
        if !seen.insert(voids) {
            continue;
        }
        let desc_view = describe(&e.object, entries);
        out.push(Dependent {
            entry: e.clone(),
            line: format!("{desc_view} depends on {desc}"),
        });
        let desc = desc_view;
        collect(entries, voids, None, &desc, seen, out);
    }
}

/// A view PostgreSQL updates automatically: one table or view in FROM,
/// and no WITH, DISTINCT, GROUP BY, HAVING, set operation, LIMIT,
/// aggregate or set-returning function.
pub(super) struct SimpleView {
    /// The table or view it reads.
    pub base: String,
    /// The name the stored query gives it (qualifying its columns).
    pub refname: String,
    /// Per view column: the base column it is, if it is a plain column.
    pub columns: Vec<Option<String>>,
    /// Per view column: its expression in the stored query.
    pub exprs: Vec<ast::Expr>,
    pub selection: Option<ast::Expr>,
}

/// The view's stored query, parsed.
pub(super) fn view_query(v: &ViewDef) -> Result<ast::Query> {
    match translate::parse(&v.query)?.pop() {
        Some(ast::Statement::Query(q)) => Ok(*q),
        _ => Err(sql_err(
            SqlState::INTERNAL_ERROR,
            format!("the definition of view \"{}\" is not a query", v.name),
        )),
    }
}

/// `v` as a [`SimpleView`], or PostgreSQL's reason why it is not
/// automatically updatable (view_query_is_auto_updatable).
pub(super) fn simple_view(v: &ViewDef) -> Result<std::result::Result<SimpleView, &'static str>> {
    const SINGLE: &str =
        "Views that do not select from a single table or view are not automatically updatable.";
    let q = view_query(v)?;
    if !q.ctes.is_empty() {
        return Ok(Err(
            "Views containing WITH are not automatically updatable.",
        ));
    }
    let sel = match &q.body {
        ast::SetExpr::Select(s) => s,
        ast::SetExpr::SetOp { .. } => {
            return Ok(Err(
                "Views containing UNION, INTERSECT, or EXCEPT are not automatically updatable.",
            ))
        }
        _ => return Ok(Err(SINGLE)),
    };
    if !matches!(sel.distinct, ast::Distinct::None) {
        return Ok(Err(
            "Views containing DISTINCT are not automatically updatable.",
        ));
    }
    if !sel.group_by.is_empty() {
        return Ok(Err(
            "Views containing GROUP BY are not automatically updatable.",
        ));
    }
    if sel.having.is_some() {
        return Ok(Err(
            "Views containing HAVING are not automatically updatable.",
        ));
    }
    if q.limit.is_some() || q.offset.is_some() {
        return Ok(Err(
            "Views containing LIMIT or OFFSET are not automatically updatable.",
        ));
    }
    let mut exprs = Vec::new();
    let mut columns = Vec::new();
    for item in &sel.projection {
        let ast::SelectItem::Expr { expr, .. } = item else {
            return Ok(Err(SINGLE));
        };
        if crate::sql::plan::contains_aggregate(expr)
            || q.order_by
                .iter()
                .any(|o| crate::sql::plan::contains_aggregate(&o.expr))
        {
            return Ok(Err(
                "Views that return aggregate functions are not automatically updatable.",
            ));
        }
        if matches!(expr, ast::Expr::Function(f) if crate::sql::plan::is_set_returning(&f.name)) {
            return Ok(Err(
                "Views that return set-returning functions are not automatically updatable.",
            ));
        }
        columns.push(match expr {
            ast::Expr::Column(n) if n.len() <= 2 => n.last().cloned(),
            _ => None,
        });
        exprs.push(expr.clone());
    }
    let (base, refname) = match sel.from.as_slice() {
        [ast::TableRef::Table { name, alias }] if name.len() == 1 => {
            let base = name[0].clone();
            let refname = alias.as_ref().map_or(base.clone(), |a| a.name.clone());
            (base, refname)
        }
        _ => return Ok(Err(SINGLE)),
    };
    if system::find(None, &base).is_some() {
        return Ok(Err(SINGLE));
    }
    Ok(Ok(SimpleView {
        base,
        refname,
        columns,
        exprs,
        selection: sel.selection.clone(),
    }))
}

/// What `information_schema` says of a view: whether UPDATE and DELETE,
/// and INSERT, work on it, and which of its columns can be written.
pub(super) struct Updatability {
    pub updatable: bool,
    pub insertable: bool,
    pub columns: Vec<bool>,
}

/// PostgreSQL's relation_is_updatable for view `v` (`views`: the views
/// visible, by name, for a view over a view).
pub(super) fn updatability(
    v: &ViewDef,
    views: &std::collections::HashMap<String, ViewDef>,
    depth: usize,
) -> Updatability {
    let none = Updatability {
        updatable: false,
        insertable: false,
        columns: vec![false; v.columns.len()],
    };
    let Ok(Ok(sv)) = simple_view(v) else {
        return none;
    };
    let mut columns: Vec<bool> = sv.columns.iter().map(Option::is_some).collect();
    if let Some(base) = views.get(&sv.base) {
        if depth > 32 {
            return none;
        }
        let b = updatability(base, views, depth + 1);
        if !b.updatable {
            return none;
        }
        for (c, name) in columns.iter_mut().zip(&sv.columns) {
            *c = *c
                && name.as_ref().is_some_and(|n| {
                    base.columns
                        .iter()
                        .position(|bc| &bc.name == n)
                        .is_some_and(|i| b.columns[i])
                });
        }
    }
    let any = columns.iter().any(|c| *c);
    Updatability {
        updatable: any,
        insertable: any,
        columns,
    }
}

/// What a statement on a view becomes on its base relation: references to
/// the view's columns replaced by their expressions over the base.
struct Subst<'a> {
    /// The names the view goes by in the statement (its name or alias).
    labels: Vec<String>,
    names: Vec<&'a str>,
    exprs: &'a [ast::Expr],
}

impl Subst<'_> {
    fn column(&self, name: &[String], nested: bool) -> Option<ast::Expr> {
        let col = match name {
            [c] if !nested => c,
            [l, c] | [_, l, c] if self.labels.contains(l) => c,
            _ => return None,
        };
        let i = self.names.iter().position(|n| n == col)?;
        Some(self.exprs[i].clone())
    }

    /// Rewrites `e` (`nested`: inside a subquery, where unqualified names
    /// may be the subquery's own).
    fn expr(&self, e: &mut ast::Expr, nested: bool) {
        use ast::Expr as E;
        match e {
            E::Column(n) => {
                if let Some(x) = self.column(n, nested) {
                    *e = x;
                }
            }
            E::Literal(_) | E::UntypedString(_) | E::Param(_) | E::Default => {}
            E::Unary { expr, .. }
            | E::IsNull { expr, .. }
            | E::IsBool { expr, .. }
            | E::Cast { expr, .. } => self.expr(expr, nested),
            E::Binary { left, right, .. } | E::IsDistinctFrom { left, right, .. } => {
                self.expr(left, nested);
                self.expr(right, nested);
            }
            E::Between {
                expr, low, high, ..
            } => {
                self.expr(expr, nested);
                self.expr(low, nested);
                self.expr(high, nested);
            }
            E::InList { expr, list, .. } => {
                self.expr(expr, nested);
                list.iter_mut().for_each(|x| self.expr(x, nested));
            }
            E::InSubquery { expr, query, .. } => {
                self.expr(expr, nested);
                self.query(query);
            }
            E::Exists { query, .. } | E::Subquery(query) | E::ArraySubquery(query) => {
                self.query(query)
            }
            E::Quantified { left, right, .. } => {
                self.expr(left, nested);
                match right {
                    ast::QuantifiedRhs::Subquery(q) => self.query(q),
                    ast::QuantifiedRhs::Expr(x) => self.expr(x, nested),
                }
            }
            E::Like {
                expr,
                pattern,
                escape,
                ..
            } => {
                self.expr(expr, nested);
                self.expr(pattern, nested);
                if let Some(x) = escape {
                    self.expr(x, nested);
                }
            }
            E::Function(f) => {
                f.args.iter_mut().for_each(|x| self.expr(x, nested));
                if let Some(x) = &mut f.filter {
                    self.expr(x, nested);
                }
                for o in &mut f.order_by {
                    self.expr(&mut o.expr, nested);
                }
            }
            E::Case {
                operand,
                whens,
                else_result,
            } => {
                if let Some(x) = operand {
                    self.expr(x, nested);
                }
                for (w, r) in whens {
                    self.expr(w, nested);
                    self.expr(r, nested);
                }
                if let Some(x) = else_result {
                    self.expr(x, nested);
                }
            }
            E::Array(xs) | E::Row(xs) => xs.iter_mut().for_each(|x| self.expr(x, nested)),
            E::Subscript { expr, index } => {
                self.expr(expr, nested);
                self.expr(index, nested);
            }
        }
    }

    fn query(&self, q: &mut ast::Query) {
        for c in &mut q.ctes {
            self.query(&mut c.query);
        }
        self.set_expr(&mut q.body);
        for o in &mut q.order_by {
            self.expr(&mut o.expr, true);
        }
        for x in q.limit.iter_mut().chain(q.offset.iter_mut()) {
            self.expr(x, true);
        }
    }

    fn set_expr(&self, s: &mut ast::SetExpr) {
        match s {
            ast::SetExpr::Select(sel) => {
                for item in &mut sel.projection {
                    if let ast::SelectItem::Expr { expr, .. } = item {
                        self.expr(expr, true);
                    }
                }
                for t in &mut sel.from {
                    self.table_ref(t);
                }
                for x in sel
                    .selection
                    .iter_mut()
                    .chain(sel.group_by.iter_mut())
                    .chain(sel.having.iter_mut())
                {
                    self.expr(x, true);
                }
            }
            ast::SetExpr::Values(rows) => {
                rows.iter_mut().flatten().for_each(|x| self.expr(x, true))
            }
            ast::SetExpr::SetOp { left, right, .. } => {
                self.set_expr(left);
                self.set_expr(right);
            }
            ast::SetExpr::Query(q) => self.query(q),
        }
    }

    fn table_ref(&self, t: &mut ast::TableRef) {
        match t {
            ast::TableRef::Table { .. } => {}
            ast::TableRef::Subquery { query, .. } => self.query(query),
            ast::TableRef::Function { args, .. } => {
                args.iter_mut().for_each(|x| self.expr(x, true))
            }
            ast::TableRef::Join {
                left,
                right,
                constraint,
                ..
            } => {
                self.table_ref(left);
                self.table_ref(right);
                if let ast::JoinConstraint::On(x) = constraint {
                    self.expr(x, true);
                }
            }
        }
    }

    /// A RETURNING list over the view, over the base instead.
    fn returning(&self, items: &[ast::SelectItem]) -> Vec<ast::SelectItem> {
        let mut out = Vec::new();
        for item in items {
            match item {
                ast::SelectItem::Wildcard => {
                    for (n, e) in self.names.iter().zip(self.exprs) {
                        out.push(ast::SelectItem::Expr {
                            expr: e.clone(),
                            alias: Some(n.to_string()),
                        });
                    }
                }
                ast::SelectItem::QualifiedWildcard(q)
                    if q.last().is_some_and(|l| self.labels.contains(l)) =>
                {
                    out.extend(self.returning(&[ast::SelectItem::Wildcard]));
                }
                ast::SelectItem::QualifiedWildcard(_) => out.push(item.clone()),
                ast::SelectItem::Expr { expr, alias } => {
                    let mut e = expr.clone();
                    self.expr(&mut e, false);
                    out.push(ast::SelectItem::Expr {
                        expr: e,
                        alias: Some(
                            alias
                                .clone()
                                .unwrap_or_else(|| crate::sql::plan::default_column_name(expr)),
                        ),
                    });
                }
            }
        }
        out
    }
}

fn not_updatable(verb: &str, view: &str, detail: &str) -> Error {
    let hint = match verb {
        "insert into" => "To enable inserting into the view, provide an INSTEAD OF INSERT trigger or an unconditional ON INSERT DO INSTEAD rule.",
        "update" => "To enable updating the view, provide an INSTEAD OF UPDATE trigger or an unconditional ON UPDATE DO INSTEAD rule.",
        _ => "To enable deleting from the view, provide an INSTEAD OF DELETE trigger or an unconditional ON DELETE DO INSTEAD rule.",
    };
    Error::Sql(
        SqlError::new(
            SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("cannot {verb} view \"{view}\""),
        )
        .with_detail(detail)
        .with_hint(hint),
    )
}

fn column_not_updatable(verb: &str, column: &str, view: &str) -> Error {
    Error::Sql(
        SqlError::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            format!("cannot {verb} column \"{column}\" of view \"{view}\""),
        )
        .with_detail("View columns that are not columns of their base relation are not updatable."),
    )
}

/// The view as a simple one for `verb`, or PostgreSQL's error.
fn simple_for(v: &ViewDef, verb: &str, need_columns: bool) -> Result<SimpleView> {
    match simple_view(v)? {
        Err(detail) => Err(not_updatable(verb, &v.name, detail)),
        Ok(sv) if need_columns && sv.columns.iter().all(Option::is_none) => Err(not_updatable(
            verb,
            &v.name,
            "Views that have no updatable columns are not automatically updatable.",
        )),
        Ok(sv) => Ok(sv),
    }
}

fn subst<'a>(v: &'a ViewDef, sv: &'a SimpleView, alias: &Option<String>) -> Subst<'a> {
    Subst {
        labels: vec![alias.clone().unwrap_or_else(|| v.name.clone())],
        names: v.columns.iter().map(|c| c.name.as_str()).collect(),
        exprs: &sv.exprs,
    }
}

/// The base column view column `name` writes, or PostgreSQL's error.
fn base_column(v: &ViewDef, sv: &SimpleView, name: &str, verb: &str) -> Result<String> {
    let i = v
        .columns
        .iter()
        .position(|c| c.name == name)
        .ok_or_else(|| {
            sql_err(
                SqlState::UNDEFINED_COLUMN,
                format!(
                    "column \"{name}\" of relation \"{}\" does not exist",
                    v.name
                ),
            )
        })?;
    sv.columns[i]
        .clone()
        .ok_or_else(|| column_not_updatable(verb, name, &v.name))
}

fn and(a: Option<ast::Expr>, b: Option<ast::Expr>) -> Option<ast::Expr> {
    match (a, b) {
        (Some(a), Some(b)) => Some(ast::Expr::Binary {
            op: ast::BinOp::And,
            left: Box::new(a),
            right: Box::new(b),
        }),
        (a, b) => a.or(b),
    }
}

/// INSERT into an automatically updatable view: into its base relation.
pub(super) fn rewrite_insert(v: &ViewDef, ins: &ast::Insert) -> Result<ast::Insert> {
    let verb = "insert into";
    let sv = simple_for(v, verb, true)?;
    let s = subst(v, &sv, &ins.alias);
    let names: Vec<String> = if ins.columns.is_empty() {
        // As many of the view's columns as the source gives values.
        let width = match &ins.source {
            ast::InsertSource::Query(q) => match &q.body {
                ast::SetExpr::Values(rows) => rows.first().map_or(0, Vec::len),
                _ => v.columns.len(),
            },
            ast::InsertSource::DefaultValues => 0,
        };
        v.columns
            .iter()
            .take(width)
            .map(|c| c.name.clone())
            .collect()
    } else {
        ins.columns.clone()
    };
    let columns = names
        .iter()
        .map(|n| base_column(v, &sv, n, verb))
        .collect::<Result<Vec<_>>>()?;
    let on_conflict = match &ins.on_conflict {
        None => None,
        Some(oc) => {
            let target = oc
                .target
                .iter()
                .map(|n| base_column(v, &sv, n, verb))
                .collect::<Result<Vec<_>>>()?;
            let action = match &oc.action {
                ast::ConflictAction::Nothing => ast::ConflictAction::Nothing,
                ast::ConflictAction::Update {
                    assignments,
                    selection,
                } => {
                    let mut s2 = subst(v, &sv, &ins.alias);
                    s2.labels.push(sv.refname.clone());
                    let mut out = Vec::new();
                    for a in assignments {
                        let mut value = a.value.clone();
                        s2.expr(&mut value, false);
                        out.push(ast::Assignment {
                            column: base_column(v, &sv, &a.column, "update")?,
                            value: excluded(value, v, &sv),
                        });
                    }
                    let selection = selection.clone().map(|mut e| {
                        s2.expr(&mut e, false);
                        excluded(e, v, &sv)
                    });
                    ast::ConflictAction::Update {
                        assignments: out,
                        selection,
                    }
                }
            };
            Some(ast::OnConflict {
                target,
                constraint: oc.constraint.clone(),
                action,
            })
        }
    };
    Ok(ast::Insert {
        table: vec![sv.base.clone()],
        alias: Some(sv.refname.clone()),
        columns,
        source: ins.source.clone(),
        on_conflict,
        returning: s.returning(&ins.returning),
    })
}

/// `excluded.c` of a view column `c` is `excluded.<base column>`.
fn excluded(e: ast::Expr, v: &ViewDef, sv: &SimpleView) -> ast::Expr {
    let exprs: Vec<ast::Expr> = sv
        .columns
        .iter()
        .zip(&sv.exprs)
        .map(|(c, e)| match c {
            Some(c) => ast::Expr::Column(vec!["excluded".into(), c.clone()]),
            None => e.clone(),
        })
        .collect();
    let s = Subst {
        labels: vec!["excluded".into()],
        names: v.columns.iter().map(|c| c.name.as_str()).collect(),
        exprs: &exprs,
    };
    let mut e = e;
    s.expr(&mut e, true);
    e
}

/// UPDATE of an automatically updatable view: of its base relation, where
/// the view's condition holds.
pub(super) fn rewrite_update(v: &ViewDef, up: &ast::Update) -> Result<ast::Update> {
    let verb = "update";
    let sv = simple_for(v, verb, true)?;
    let s = subst(v, &sv, &up.alias);
    let mut assignments = Vec::new();
    for a in &up.assignments {
        let mut value = a.value.clone();
        s.expr(&mut value, false);
        assignments.push(ast::Assignment {
            column: base_column(v, &sv, &a.column, verb)?,
            value,
        });
    }
    let mut from = up.from.clone();
    for t in &mut from {
        s.table_ref(t);
    }
    let selection = up.selection.clone().map(|mut e| {
        s.expr(&mut e, false);
        e
    });
    Ok(ast::Update {
        table: vec![sv.base.clone()],
        alias: Some(sv.refname.clone()),
        assignments,
        from,
        selection: and(sv.selection.clone(), selection),
        returning: s.returning(&up.returning),
    })
}

/// DELETE from an automatically updatable view: from its base relation,
/// where the view's condition holds.
pub(super) fn rewrite_delete(v: &ViewDef, del: &ast::Delete) -> Result<ast::Delete> {
    let sv = simple_for(v, "delete from", false)?;
    let s = subst(v, &sv, &del.alias);
    let mut using = del.using.clone();
    for t in &mut using {
        s.table_ref(t);
    }
    let selection = del.selection.clone().map(|mut e| {
        s.expr(&mut e, false);
        e
    });
    Ok(ast::Delete {
        table: vec![sv.base.clone()],
        alias: Some(sv.refname.clone()),
        using,
        selection: and(sv.selection.clone(), selection),
        returning: s.returning(&del.returning),
    })
}

impl Engine {
    /// The view a DML statement's target names, if it is one.
    pub(super) fn dml_view(&mut self, sid: SessionId, name: &ast::Name) -> Result<Option<ViewDef>> {
        if system::find(None, name.last().map_or("", String::as_str)).is_some() && name.len() == 1 {
            return Ok(None);
        }
        Ok(match self.lookup_name(sid, name)? {
            Some(e) => match &*e.object {
                Object::View(v) => Some(v.clone()),
                _ => None,
            },
            None => None,
        })
    }
}

impl Engine {
    /// A DML statement on a view, rewritten view by view until it
    /// targets a table.
    pub(super) fn through_views<S>(
        &mut self,
        sid: SessionId,
        mut stmt: S,
        target: impl Fn(&S) -> &ast::Name,
        rewrite: impl Fn(&ViewDef, &S) -> Result<S>,
    ) -> Result<S> {
        let mut depth = 0;
        while let Some(v) = self.dml_view(sid, target(&stmt))? {
            depth += 1;
            if depth > 64 {
                return Err(sql_err(
                    SqlState("42P17"),
                    format!(
                        "infinite recursion detected in rules for relation \"{}\"",
                        v.name
                    ),
                ));
            }
            stmt = rewrite(&v, &stmt)?;
        }
        Ok(stmt)
    }
}

/// A rename that the views reading the renamed object follow.
#[derive(Clone, Copy)]
pub(super) enum Rename<'a> {
    /// Relation `old` is now called `new`.
    Relation { old: &'a str, new: &'a str },
    /// Column `old` of relation `relation` is now called `new`; it is
    /// the relation's `position`-th live column of `columns` (the names
    /// after the rename).
    Column {
        relation: &'a str,
        old: &'a str,
        new: &'a str,
        position: usize,
        columns: &'a [String],
    },
}

impl Rename<'_> {
    /// The relation name a FROM entry must have to be the renamed one
    /// (as the stored query spells it, before the rename).
    fn relation(&self) -> &str {
        match self {
            Rename::Relation { old, .. } => old,
            Rename::Column { relation, .. } => relation,
        }
    }
}

/// One query level's FROM names: all of them, and those that are the
/// renamed relation.
#[derive(Default)]
struct Level {
    all: HashSet<String>,
    target: HashSet<String>,
}

struct Renamer<'a> {
    rename: Rename<'a>,
    levels: Vec<Level>,
    ctes: Vec<String>,
    /// The current level joins USING the renamed column's old name.
    using_old: bool,
}

/// Whether a join in `t` has `col` in its USING list.
fn joins_using(t: &ast::TableRef, col: &str) -> bool {
    match t {
        ast::TableRef::Join {
            left,
            right,
            constraint,
            ..
        } => {
            matches!(constraint, ast::JoinConstraint::Using(cols) if cols.iter().any(|c| c == col))
                || joins_using(left, col)
                || joins_using(right, col)
        }
        _ => false,
    }
}

impl Renamer<'_> {
    fn query(&mut self, q: &mut ast::Query) {
        let ctes = self.ctes.len();
        for c in &mut q.ctes {
            if q.recursive {
                self.ctes.push(c.name.clone());
            }
            self.query(&mut c.query);
            if !q.recursive {
                self.ctes.push(c.name.clone());
            }
        }
        match &mut q.body {
            ast::SetExpr::Select(sel) => {
                self.levels.push(Level::default());
                self.select(sel, &mut q.order_by);
                self.levels.pop();
            }
            other => {
                self.set_expr(other);
                for o in &mut q.order_by {
                    self.expr(&mut o.expr);
                }
            }
        }
        self.ctes.truncate(ctes);
    }

    fn set_expr(&mut self, s: &mut ast::SetExpr) {
        match s {
            ast::SetExpr::Select(sel) => {
                self.levels.push(Level::default());
                self.select(sel, &mut []);
                self.levels.pop();
            }
            ast::SetExpr::Values(rows) => rows.iter_mut().flatten().for_each(|x| self.expr(x)),
            ast::SetExpr::SetOp { left, right, .. } => {
                self.set_expr(left);
                self.set_expr(right);
            }
            ast::SetExpr::Query(q) => self.query(q),
        }
    }

    fn select(&mut self, sel: &mut ast::Select, order_by: &mut [ast::OrderItem]) {
        let saved = self.using_old;
        self.using_old = match self.rename {
            Rename::Column { old, .. } => sel.from.iter().any(|t| joins_using(t, old)),
            Rename::Relation { .. } => false,
        };
        for t in &mut sel.from {
            self.table_ref(t);
        }
        self.using_old = saved;
        for item in &mut sel.projection {
            if let ast::SelectItem::Expr { expr, alias } = item {
                // A column keeps its output name when it is renamed.
                if let (ast::Expr::Column(n), None, Rename::Column { old, .. }) =
                    (&*expr, &*alias, self.rename)
                {
                    if n.last().is_some_and(|l| l == old) && self.renames(n) {
                        *alias = Some(old.to_string());
                    }
                }
                self.expr(expr);
            }
        }
        for x in sel
            .selection
            .iter_mut()
            .chain(sel.group_by.iter_mut())
            .chain(sel.having.iter_mut())
        {
            self.expr(x);
        }
        if let ast::Distinct::On(on) = &mut sel.distinct {
            on.iter_mut().for_each(|x| self.expr(x));
        }
        for o in order_by {
            self.expr(&mut o.expr);
        }
    }

    fn table_ref(&mut self, t: &mut ast::TableRef) {
        match t {
            ast::TableRef::Table { name, alias } => {
                let last = name.last().cloned().unwrap_or_default();
                let refname = alias.as_ref().map_or(last.clone(), |a| a.name.clone());
                let is_target = last == self.rename.relation()
                    && !(name.len() == 1 && self.ctes.contains(&last));
                let level = self.levels.last_mut().expect("inside a query level");
                if is_target {
                    match self.rename {
                        Rename::Relation { new, .. } => {
                            if let Some(l) = name.last_mut() {
                                *l = new.to_string();
                            }
                            // `t t(a, b)`: the alias a column rename made
                            // (see below) follows the relation's name.
                            if let Some(a) = alias.as_mut().filter(|a| a.name == last) {
                                a.name = new.to_string();
                            }
                            if alias.as_ref().is_none_or(|a| a.name == *new) {
                                level.all.insert(last.clone());
                                level.target.insert(last);
                                return;
                            }
                        }
                        Rename::Column {
                            old,
                            position,
                            columns,
                            ..
                        } => {
                            let aliased =
                                alias.as_ref().is_some_and(|a| a.columns.len() > position);
                            // `t t(a, b)` (an alias list a rename made, not
                            // the query's): its other names follow renames.
                            let made = alias.as_mut().filter(|a| {
                                a.name == last && a.columns.get(position).is_some_and(|c| c == old)
                            });
                            if let Some(a) = made {
                                a.columns[position] = columns
                                    .get(position)
                                    .cloned()
                                    .unwrap_or_else(|| old.to_string());
                                level.target.insert(refname.clone());
                            } else if aliased {
                                // The query names the column by its alias.
                            } else if self.using_old {
                                // A join USING the old name: the column
                                // keeps it through a column alias list.
                                let mut cols = columns.to_vec();
                                if let Some(a) = alias.as_ref() {
                                    for (i, n) in a.columns.iter().enumerate() {
                                        cols[i] = n.clone();
                                    }
                                }
                                if let Some(c) = cols.get_mut(position) {
                                    *c = old.to_string();
                                }
                                let name = alias.as_ref().map_or(last.clone(), |a| a.name.clone());
                                *alias = Some(ast::TableAlias {
                                    name,
                                    columns: cols,
                                });
                            } else {
                                level.target.insert(refname.clone());
                            }
                        }
                    }
                }
                level.all.insert(refname);
            }
            ast::TableRef::Subquery { query, alias, .. } => {
                self.query(query);
                if let Some(a) = alias {
                    let level = self.levels.last_mut().expect("inside a query level");
                    level.all.insert(a.name.clone());
                }
            }
            ast::TableRef::Function {
                name, args, alias, ..
            } => {
                args.iter_mut().for_each(|x| self.expr(x));
                let refname = alias
                    .as_ref()
                    .map_or(name.last().cloned().unwrap_or_default(), |a| a.name.clone());
                let level = self.levels.last_mut().expect("inside a query level");
                level.all.insert(refname);
            }
            ast::TableRef::Join {
                left,
                right,
                constraint,
                ..
            } => {
                self.table_ref(left);
                self.table_ref(right);
                if let ast::JoinConstraint::On(x) = constraint {
                    self.expr(x);
                }
            }
        }
    }

    /// Whether column reference `n` names a column of the renamed relation
    /// through a FROM entry that is it.
    fn renames(&self, n: &[String]) -> bool {
        let q = match n {
            [q, _] | [_, q, _] => q,
            _ => return false,
        };
        for level in self.levels.iter().rev() {
            if level.all.contains(q) {
                return level.target.contains(q);
            }
        }
        false
    }

    fn expr(&mut self, e: &mut ast::Expr) {
        use ast::Expr as E;
        match e {
            E::Column(n) => {
                if self.renames(n) {
                    let k = n.len();
                    match self.rename {
                        Rename::Relation { new, .. } => n[k - 2] = new.to_string(),
                        Rename::Column { old, new, .. } if n[k - 1] == old => {
                            n[k - 1] = new.to_string()
                        }
                        Rename::Column { .. } => {}
                    }
                }
            }
            E::Literal(_) | E::UntypedString(_) | E::Param(_) | E::Default => {}
            E::Unary { expr, .. }
            | E::IsNull { expr, .. }
            | E::IsBool { expr, .. }
            | E::Cast { expr, .. } => self.expr(expr),
            E::Binary { left, right, .. } | E::IsDistinctFrom { left, right, .. } => {
                self.expr(left);
                self.expr(right);
            }
            E::Between {
                expr, low, high, ..
            } => {
                self.expr(expr);
                self.expr(low);
                self.expr(high);
            }
            E::InList { expr, list, .. } => {
                self.expr(expr);
                list.iter_mut().for_each(|x| self.expr(x));
            }
            E::InSubquery { expr, query, .. } => {
                self.expr(expr);
                self.query(query);
            }
            E::Exists { query, .. } | E::Subquery(query) | E::ArraySubquery(query) => {
                self.query(query)
            }
            E::Quantified { left, right, .. } => {
                self.expr(left);
                match right {
                    ast::QuantifiedRhs::Subquery(q) => self.query(q),
                    ast::QuantifiedRhs::Expr(x) => self.expr(x),
                }
            }
            E::Like {
                expr,
                pattern,
                escape,
                ..
            } => {
                self.expr(expr);
                self.expr(pattern);
                if let Some(x) = escape {
                    self.expr(x);
                }
            }
            E::Function(f) => {
                f.args.iter_mut().for_each(|x| self.expr(x));
                if let Some(x) = &mut f.filter {
                    self.expr(x);
                }
                for o in &mut f.order_by {
                    self.expr(&mut o.expr);
                }
            }
            E::Case {
                operand,
                whens,
                else_result,
            } => {
                if let Some(x) = operand {
                    self.expr(x);
                }
                for (w, r) in whens {
                    self.expr(w);
                    self.expr(r);
                }
                if let Some(x) = else_result {
                    self.expr(x);
                }
            }
            E::Array(xs) | E::Row(xs) => xs.iter_mut().for_each(|x| self.expr(x)),
            E::Subscript { expr, index } => {
                self.expr(expr);
                self.expr(index);
            }
        }
    }
}

impl Engine {
    /// After a rename of relation `oid` (or of one of its columns), the
    /// views that read it are stored again, deparsed from their queries
    /// with the new names (as PostgreSQL, which keeps OIDs, prints them).
    /// A view the rename would break makes the rename fail.
    pub(super) fn follow_rename(
        &mut self,
        sid: SessionId,
        oid: Oid,
        column: Option<usize>,
        rename: Rename,
    ) -> Result<()> {
        let entries = self.visible_entries(sid)?;
        let direct: Vec<(Entry, ViewDef)> = entries
            .iter()
            .filter_map(|e| match &*e.object {
                Object::View(v)
                    if v.depends.iter().any(|d| {
                        d.relation == oid && column.is_none_or(|c| d.columns.contains(&c))
                    }) =>
                {
                    Some((e.clone(), v.clone()))
                }
                _ => None,
            })
            .collect();
        for (entry, v) in direct {
            let mut q = view_query(&v)?;
            let mut r = Renamer {
                rename,
                levels: Vec::new(),
                ctes: Vec::new(),
                using_old: false,
            };
            r.query(&mut q);
            let names: Vec<String> = v.columns.iter().map(|c| c.name.clone()).collect();
            let snapshot = self.statement_snapshot(sid);
            let broken = |e: Error| {
                let what = match rename {
                    Rename::Relation { old, .. } => format!("relation \"{old}\""),
                    Rename::Column { relation, old, .. } => {
                        format!("column \"{old}\" of relation \"{relation}\"")
                    }
                };
                Error::Sql(
                    SqlError::new(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        format!("cannot rename {what}: view \"{}\" depends on it", v.name),
                    )
                    .with_detail(format!("The view's definition would not read back: {e}")),
                )
            };
            let (text, _, _) = self
                .bind(sid, &snapshot, |b| {
                    deparse::view_definition(&mut *b.catalog, &q, &names)
                })
                .map_err(broken)?;
            let reparsed = match translate::parse(&text.plain)
                .map_err(|e| broken(e.into()))?
                .pop()
            {
                Some(ast::Statement::Query(q)) => q,
                _ => return Err(broken(sql_err(SqlState::INTERNAL_ERROR, "not a query"))),
            };
            let ((_, cols), _, _) = self
                .bind(sid, &snapshot, |b| b.bind_query(&reparsed))
                .map_err(broken)?;
            if cols.len() != v.columns.len()
                || cols
                    .iter()
                    .zip(&v.columns)
                    .any(|(a, b)| a.name != b.name || a.ty.oid() != b.ty.oid())
            {
                return Err(broken(sql_err(
                    SqlState::INTERNAL_ERROR,
                    "its columns would change",
                )));
            }
            let xid = self.write_xid(sid)?;
            let cid = self.current_cid(sid);
            self.lock_catalog_row(sid, entry.tid)?;
            let def = ViewDef {
                query: text.plain,
                pretty: text.pretty,
                depends: text.depends,
                ..v
            };
            self.catalog
                .replace(&mut self.pager, entry.tid, xid, cid, Object::View(def))?;
        }
        Ok(())
    }
}

impl Engine {
    /// ALTER TABLE (or ALTER VIEW) on a view: it can be renamed, and so
    /// can its columns; PostgreSQL refuses the other actions.
    pub(super) fn alter_view(
        &mut self,
        sid: SessionId,
        mut tid: crate::heap::Tid,
        mut view: ViewDef,
        ops: &[ast::AlterOp],
    ) -> Result<QueryResult> {
        self.lock_catalog_row(sid, tid)?;
        let xid = self.write_xid(sid)?;
        for op in ops {
            let cid = self.current_cid(sid);
            match op {
                ast::AlterOp::RenameTable(new) => {
                    if self.lookup_in(sid, view.namespace, new)?.is_some() {
                        return Err(sql_err(
                            SqlState::DUPLICATE_TABLE,
                            format!("relation \"{new}\" already exists"),
                        ));
                    }
                    self.check_name_not_in_flux(sid, new)?;
                    let old = std::mem::replace(&mut view.name, new.clone());
                    tid = self.catalog.replace(
                        &mut self.pager,
                        tid,
                        xid,
                        cid,
                        Object::View(view.clone()),
                    )?;
                    self.follow_rename(sid, view.oid, None, Rename::Relation { old: &old, new })?;
                }
                ast::AlterOp::RenameColumn { old, new } => {
                    let i = view
                        .columns
                        .iter()
                        .position(|c| &c.name == old)
                        .ok_or_else(|| {
                            sql_err(
                                SqlState::UNDEFINED_COLUMN,
                                format!("column \"{old}\" does not exist"),
                            )
                        })?;
                    if view.columns.iter().any(|c| &c.name == new) {
                        return Err(sql_err(
                            SqlState::DUPLICATE_COLUMN,
                            format!(
                                "column \"{new}\" of relation \"{}\" already exists",
                                view.name
                            ),
                        ));
                    }
                    view.columns[i].name = new.clone();
                    // Its own definition names the column anew.
                    let q = view_query(&view)?;
                    let names: Vec<String> = view.columns.iter().map(|c| c.name.clone()).collect();
                    let snapshot = self.statement_snapshot(sid);
                    let (text, _, _) = self.bind(sid, &snapshot, |b| {
                        deparse::view_definition(&mut *b.catalog, &q, &names)
                    })?;
                    view.query = text.plain;
                    view.pretty = text.pretty;
                    tid = self.catalog.replace(
                        &mut self.pager,
                        tid,
                        xid,
                        cid,
                        Object::View(view.clone()),
                    )?;
                    let columns: Vec<String> =
                        view.columns.iter().map(|c| c.name.clone()).collect();
                    let rename = Rename::Column {
                        relation: &view.name,
                        old,
                        new,
                        position: i,
                        columns: &columns,
                    };
                    self.follow_rename(sid, view.oid, Some(i), rename)?;
                }
                ast::AlterOp::AlterColumnSetDefault { .. } => {
                    return Err(sql_err(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        "defaults on view columns are not supported",
                    ));
                }
                other => {
                    let action = match other {
                        ast::AlterOp::AddColumn { .. } => "ADD COLUMN",
                        ast::AlterOp::DropColumn { .. } => "DROP COLUMN",
                        ast::AlterOp::AddConstraint(_) => "ADD CONSTRAINT",
                        ast::AlterOp::DropConstraint { .. } => "DROP CONSTRAINT",
                        _ => "ALTER COLUMN ... SET NOT NULL",
                    };
                    return Err(Error::Sql(
                        SqlError::new(
                            SqlState::WRONG_OBJECT_TYPE,
                            format!(
                                "ALTER action {action} cannot be performed on relation \"{}\"",
                                view.name
                            ),
                        )
                        .with_detail("This operation is not supported for views."),
                    ));
                }
            }
        }
        Ok(QueryResult::tag("ALTER TABLE"))
    }
}
