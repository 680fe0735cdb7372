//! Printing: the deparse tree laid out as `ruleutils.c` does.

use super::*;

pub(super) const INDENT_STD: i32 = 8;
pub(super) const INDENT_JOIN: i32 = 4;
pub(super) const INDENT_VAR: i32 = 4;
pub(super) const INDENT_LIMIT: i32 = 40;

pub(super) struct Printer<'r> {
    pub(super) buf: String,
    pub(super) indent: i32,
    /// PostgreSQL's PRETTYFLAG_PAREN (`pretty` = true); indentation is
    /// always on, as for `pg_get_viewdef`.
    pub(super) pretty: bool,
    pub(super) rtes: &'r mut Vec<Rte>,
    /// Names taken by the enclosing query levels (innermost last).
    pub(super) namespaces: Vec<HashSet<String>>,
}

/// The parent kinds PostgreSQL's `isSimpleNode` tells apart.
#[derive(Clone, Copy)]
pub(super) enum Parent<'a> {
    /// An operator: its name and number of arguments.
    Op(&'a str, usize),
    Bool(BoolKind),
    /// A cast.
    Cast,
    Other,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum BoolKind {
    And,
    Or,
    Not,
}

impl Printer<'_> {
    pub(super) fn keyword(&mut self, s: &str, before: i32, after: i32, plus: i32) {
        self.indent += before;
        while self.buf.ends_with(' ') {
            self.buf.pop();
        }
        self.buf.push('\n');
        let amount = if self.indent < INDENT_LIMIT {
            self.indent.max(0) + plus
        } else {
            let mut a = INDENT_LIMIT + (self.indent - INDENT_LIMIT) / (INDENT_STD / 2);
            a %= INDENT_LIMIT;
            a + plus
        };
        for _ in 0..amount {
            self.buf.push(' ');
        }
        self.buf.push_str(s);
        self.indent += after;
        if self.indent < 0 {
            self.indent = 0;
        }
    }

    /// Assigns this level's range-table names (PostgreSQL's
    /// set_rtable_names): a name taken here or by an enclosing level gets
    /// `_n` appended.
    pub(super) fn name_level(&mut self, q: &DQuery) -> HashSet<String> {
        let mut taken: HashSet<String> = self.namespaces.iter().flatten().cloned().collect();
        let mut here = HashSet::new();
        for r in &q.reserved {
            taken.insert(r.clone());
            here.insert(r.clone());
        }
        for &i in &q.rtable {
            let base = self.rtes[i].name.clone();
            let mut name = base.clone();
            let mut n = 0;
            while taken.contains(&name) {
                n += 1;
                name = format!("{base}_{n}");
            }
            taken.insert(name.clone());
            here.insert(name.clone());
            self.rtes[i].refname = name;
        }
        here
    }

    /// `get_query_def`: `names` are the output names to show (a view's
    /// columns), `visible`: whether column names matter to the reader.
    pub(super) fn query(&mut self, q: &DQuery, names: Option<&[String]>, visible: bool) {
        let level = self.name_level(q);
        self.namespaces.push(level);
        self.with_clause(q);
        match &q.body {
            DBody::Select(s) => self.select(s, names, visible),
            DBody::Values(rows) => {
                self.indent += INDENT_STD;
                self.buf.push(' ');
                self.values(rows);
            }
            DBody::SetOp(op) => self.set_op(op, names, visible),
        }
        if !q.order_by.is_empty() {
            self.keyword(" ORDER BY ", -INDENT_STD, INDENT_STD, 1);
            let setop = matches!(q.body, DBody::SetOp(_));
            self.sort_list(&q.order_by, !setop);
        }
        if let Some(o) = &q.offset {
            self.keyword(" OFFSET ", -INDENT_STD, INDENT_STD, 0);
            self.expr(o, false);
        }
        if let Some(l) = &q.limit {
            self.keyword(" LIMIT ", -INDENT_STD, INDENT_STD, 0);
            if matches!(l, D::Const { text, label: None, .. } if text == "NULL") {
                self.buf.push_str("ALL");
            } else {
                self.expr(l, false);
            }
        }
        self.namespaces.pop();
    }

    pub(super) fn with_clause(&mut self, q: &DQuery) {
        if q.ctes.is_empty() {
            return;
        }
        self.indent += INDENT_STD;
        self.buf.push(' ');
        let mut sep = if q.recursive {
            "WITH RECURSIVE "
        } else {
            "WITH "
        };
        for c in &q.ctes {
            self.buf.push_str(sep);
            self.buf.push_str(&quote_ident(&c.name));
            if !c.columns.is_empty() {
                let cols: Vec<String> = c.columns.iter().map(|c| quote_ident(c)).collect();
                self.buf.push('(');
                self.buf.push_str(&cols.join(", "));
                self.buf.push(')');
            }
            self.buf.push_str(" AS (");
            self.keyword("", 0, 0, 0);
            let saved = self.indent;
            self.query(&c.query, None, true);
            self.indent = saved;
            self.keyword("", 0, 0, 0);
            self.buf.push(')');
            sep = ", ";
        }
        self.indent -= INDENT_STD;
        self.keyword("", 0, 0, 0);
    }

    pub(super) fn values(&mut self, rows: &[Vec<D>]) {
        self.buf.push_str("VALUES ");
        for (i, r) in rows.iter().enumerate() {
            if i > 0 {
                self.buf.push_str(", ");
            }
            self.buf.push('(');
            for (j, v) in r.iter().enumerate() {
                if j > 0 {
                    self.buf.push(',');
                }
                self.expr(v, false);
            }
            self.buf.push(')');
        }
    }

    pub(super) fn set_op(&mut self, op: &DSetOp, names: Option<&[String]>, visible: bool) {
        match op {
            DSetOp::Leaf(q) => {
                let paren = !q.ctes.is_empty()
                    || !q.order_by.is_empty()
                    || q.limit.is_some()
                    || q.offset.is_some();
                if paren {
                    self.buf.push('(');
                }
                let saved = self.indent;
                self.query(q, names, visible);
                self.indent = saved;
                if paren {
                    self.buf.push(')');
                }
            }
            DSetOp::Op {
                op,
                all,
                left,
                right,
            } => {
                let need_paren = match &**left {
                    DSetOp::Op {
                        op: lop, all: lall, ..
                    } => !(lop == op && lall == all),
                    DSetOp::Leaf(_) => false,
                };
                let sub = if need_paren {
                    self.buf.push('(');
                    self.keyword("", INDENT_STD, 0, 0);
                    INDENT_STD
                } else {
                    0
                };
                self.set_op(left, names, visible);
                if need_paren {
                    self.keyword(") ", -sub, 0, 0);
                } else {
                    self.keyword("", -sub, 0, 0);
                }
                self.buf.push_str(match op {
                    SetOp::Union => "UNION ",
                    SetOp::Intersect => "INTERSECT ",
                    SetOp::Except => "EXCEPT ",
                });
                if *all {
                    self.buf.push_str("ALL ");
                }
                let need_paren = matches!(&**right, DSetOp::Op { .. });
                let sub = if need_paren {
                    self.buf.push('(');
                    INDENT_STD
                } else {
                    0
                };
                self.keyword("", sub, 0, 0);
                self.set_op(right, names, false);
                self.indent -= sub;
                if need_paren {
                    self.keyword(")", 0, 0, 0);
                }
            }
        }
    }

    pub(super) fn select(&mut self, s: &DSelect, names: Option<&[String]>, visible: bool) {
        self.indent += INDENT_STD;
        self.buf.push(' ');
        self.buf.push_str("SELECT");
        if let Some(on) = &s.distinct {
            self.buf.push_str(" DISTINCT ON (");
            for (i, e) in on.iter().enumerate() {
                if i > 0 {
                    self.buf.push_str(", ");
                }
                self.sort_group_item(e);
            }
            self.buf.push(')');
        } else if s.distinct_all {
            self.buf.push_str(" DISTINCT");
        }
        self.targets(&s.targets, names, visible);
        self.from(&s.from);
        if let Some(w) = &s.selection {
            self.keyword(" WHERE ", -INDENT_STD, INDENT_STD, 1);
            self.expr(w, false);
        }
        if !s.group_by.is_empty() {
            self.keyword(" GROUP BY ", -INDENT_STD, INDENT_STD, 1);
            for (i, g) in s.group_by.iter().enumerate() {
                if i > 0 {
                    self.buf.push_str(", ");
                }
                self.sort_group_item(g);
            }
        }
        if let Some(h) = &s.having {
            self.keyword(" HAVING ", -INDENT_STD, INDENT_STD, 0);
            self.expr(h, false);
        }
    }

    pub(super) fn targets(&mut self, targets: &[DTarget], names: Option<&[String]>, visible: bool) {
        let mut sep = " ";
        for (i, t) in targets.iter().enumerate() {
            self.buf.push_str(sep);
            sep = ", ";
            let outer = std::mem::take(&mut self.buf);
            let attname = match &t.expr {
                D::Var { name, .. } => {
                    self.expr(&t.expr, true);
                    Some(name.clone())
                }
                e => {
                    self.expr(e, true);
                    (!visible).then(|| "?column?".to_string())
                }
            };
            let colname = names
                .and_then(|n| n.get(i))
                .cloned()
                .unwrap_or_else(|| t.name.clone());
            if attname.as_deref() != Some(colname.as_str()) {
                self.buf.push_str(" AS ");
                self.buf.push_str(&quote_ident(&colname));
            }
            let field = std::mem::replace(&mut self.buf, outer);
            // Line wrapping with a wrap column of 0: every field after the
            // first on a line of its own.
            if field.starts_with('\n') {
                while self.buf.ends_with(' ') {
                    self.buf.pop();
                }
            } else if i > 0 {
                self.keyword("", -INDENT_STD, INDENT_STD, INDENT_VAR);
            }
            self.buf.push_str(&field);
        }
    }

    pub(super) fn from(&mut self, items: &[DFrom]) {
        for (i, f) in items.iter().enumerate() {
            if i == 0 {
                self.keyword(" FROM ", -INDENT_STD, INDENT_STD, 2);
                self.range_item(f);
            } else {
                self.buf.push_str(", ");
                let outer = std::mem::take(&mut self.buf);
                self.range_item(f);
                let item = std::mem::replace(&mut self.buf, outer);
                if item.starts_with('\n') {
                    while self.buf.ends_with(' ') {
                        self.buf.pop();
                    }
                } else {
                    self.keyword("", -INDENT_STD, INDENT_STD, INDENT_VAR);
                }
                self.buf.push_str(&item);
            }
        }
    }

    pub(super) fn alias(&mut self, rte: usize, relname_printed: bool) {
        let r = &self.rtes[rte];
        let show = r.aliased || r.function || (relname_printed && r.refname != r.base);
        if show {
            let name = quote_ident(&r.refname);
            self.buf.push(' ');
            self.buf.push_str(&name);
        }
    }

    pub(super) fn column_aliases(&mut self, aliases: &[String]) {
        let names: Vec<String> = aliases.iter().map(|a| quote_ident(a)).collect();
        self.buf.push('(');
        self.buf.push_str(&names.join(", "));
        self.buf.push(')');
    }

    pub(super) fn range_item(&mut self, f: &DFrom) {
        match f {
            DFrom::Rel { rte, name, aliases } => {
                self.buf.push_str(name);
                self.alias(*rte, true);
                if let Some(a) = aliases {
                    self.column_aliases(a);
                }
            }
            DFrom::Values { rte, rows } => {
                self.buf.push('(');
                self.values(rows);
                self.buf.push(')');
                self.alias(*rte, false);
            }
            DFrom::Subquery {
                rte,
                query,
                aliases,
            } => {
                self.buf.push('(');
                let saved = self.indent;
                self.query(query, None, true);
                self.indent = saved;
                self.buf.push(')');
                self.alias(*rte, false);
                if let Some(a) = aliases {
                    self.column_aliases(a);
                }
            }
            DFrom::Function {
                rte,
                call,
                ordinality,
                aliases,
            } => {
                self.expr(call, true);
                if *ordinality {
                    self.buf.push_str(" WITH ORDINALITY");
                }
                self.alias(*rte, false);
                self.column_aliases(aliases);
            }
            DFrom::Join {
                left,
                right,
                kind,
                using,
                on,
            } => {
                let paren_right = self.pretty && matches!(**right, DFrom::Join { .. });
                if !self.pretty {
                    self.buf.push('(');
                }
                self.range_item(left);
                let kw = match kind {
                    JoinKind::Inner => " JOIN ",
                    JoinKind::Cross => " CROSS JOIN ",
                    JoinKind::Left => " LEFT JOIN ",
                    JoinKind::Right => " RIGHT JOIN ",
                    JoinKind::Full => " FULL JOIN ",
                };
                self.keyword(kw, -INDENT_STD, INDENT_STD, INDENT_JOIN);
                if paren_right {
                    self.buf.push('(');
                }
                self.range_item(right);
                if paren_right {
                    self.buf.push(')');
                }
                if !using.is_empty() {
                    let cols: Vec<String> = using.iter().map(|c| quote_ident(c)).collect();
                    self.buf.push_str(" USING (");
                    self.buf.push_str(&cols.join(", "));
                    self.buf.push(')');
                } else if let Some(on) = on {
                    self.buf.push_str(" ON ");
                    if !self.pretty {
                        self.buf.push('(');
                    }
                    self.expr(on, false);
                    if !self.pretty {
                        self.buf.push(')');
                    }
                } else if !matches!(kind, JoinKind::Cross | JoinKind::Inner) {
                    self.buf.push_str(" ON TRUE");
                }
                if !self.pretty {
                    self.buf.push(')');
                }
            }
        }
    }

    /// An ORDER BY / GROUP BY / DISTINCT ON item
    /// (`get_rule_sortgroupclause`): constants always labelled,
    /// function calls always parenthesised.
    pub(super) fn sort_group_item(&mut self, e: &D) {
        match e {
            D::Const { text, label, ty } => {
                self.buf.push_str(text);
                if let Some(l) = label.as_ref().or((!ty.is_empty()).then_some(ty)) {
                    self.buf.push_str("::");
                    self.buf.push_str(l);
                }
            }
            D::Var { .. } => self.expr(e, true),
            _ => {
                let paren = self.pretty
                    || matches!(
                        e,
                        D::Func { .. }
                            | D::Agg { .. }
                            | D::Extract { .. }
                            | D::Cast { func: true, .. }
                    );
                if paren {
                    self.buf.push('(');
                }
                self.expr(e, true);
                if paren {
                    self.buf.push(')');
                }
            }
        }
    }

    pub(super) fn sort_list(&mut self, items: &[DSort], exprs: bool) {
        for (i, s) in items.iter().enumerate() {
            if i > 0 {
                self.buf.push_str(", ");
            }
            if exprs {
                self.sort_group_item(&s.expr);
            } else {
                self.expr(&s.expr, true);
            }
            if !s.desc {
                if s.nulls_first {
                    self.buf.push_str(" NULLS FIRST");
                }
            } else {
                self.buf.push_str(" DESC");
                if !s.nulls_first {
                    self.buf.push_str(" NULLS LAST");
                }
            }
        }
    }

    // ------------------------------------------------------- expressions

    /// PostgreSQL's isSimpleNode: whether `d` needs no parentheses under
    /// `parent` when pretty-printing (`first`: it is the parent's first
    /// argument).
    pub(super) fn is_simple(d: &D, parent: Parent, first: bool) -> bool {
        // Operators and tests need none below a boolean operator, and
        // do below casts and (other) operators.
        let under = |parent: Parent| matches!(parent, Parent::Bool(_));
        match d {
            D::Var { .. } | D::Const { .. } => true,
            D::Func { .. }
            | D::Agg { .. }
            | D::Special { .. }
            | D::Keyword(_)
            | D::Array(_)
            | D::Subscript(..)
            | D::Extract { .. }
            | D::Case { .. }
            | D::Cast { func: true, .. } => true,
            D::Cast { arg, .. } => Self::is_simple(arg, Parent::Cast, false),
            D::Op { name, args } => match parent {
                Parent::Op(pname, pargs) => {
                    let (Some(op), Some(pop)) = (
                        binary_priority(name, args.len()),
                        binary_priority(pname, pargs),
                    ) else {
                        return false;
                    };
                    if op && !pop {
                        true
                    } else if !op && pop {
                        false
                    } else {
                        first
                    }
                }
                p => under(p),
            },
            D::Sublink { .. } | D::NullTest { .. } | D::BoolTest { .. } | D::Distinct(..) => {
                under(parent)
            }
            D::And(_) | D::Or(_) | D::Not(_) => match parent {
                Parent::Bool(pk) => match d {
                    D::Or(_) => pk == BoolKind::Or,
                    _ => matches!(pk, BoolKind::And | BoolKind::Or),
                },
                _ => false,
            },
            D::ArrayOp { .. } => false,
        }
    }

    pub(super) fn expr_paren(&mut self, d: &D, show_implicit: bool, parent: Parent, first: bool) {
        let paren = self.pretty && !Self::is_simple(d, parent, first);
        if paren {
            self.buf.push('(');
        }
        self.expr(d, show_implicit);
        if paren {
            self.buf.push(')');
        }
    }

    pub(super) fn var(&mut self, rte: Option<usize>, name: &str) {
        if let Some(r) = rte {
            let refname = quote_ident(&self.rtes[r].refname);
            self.buf.push_str(&refname);
            self.buf.push('.');
        }
        self.buf.push_str(&quote_ident(name));
    }

    pub(super) fn expr(&mut self, d: &D, show_implicit: bool) {
        let open = |p: &mut Self| {
            if !p.pretty {
                p.buf.push('(');
            }
        };
        let close = |p: &mut Self| {
            if !p.pretty {
                p.buf.push(')');
            }
        };
        match d {
            D::Var { rte, name } => self.var(*rte, name),
            D::Const { text, label, .. } => {
                self.buf.push_str(text);
                if let Some(l) = label {
                    self.buf.push_str("::");
                    self.buf.push_str(l);
                }
            }
            D::Op { name, args } => {
                open(self);
                match args.as_slice() {
                    [a, b] => {
                        self.expr_paren(a, true, Parent::Op(name, 2), true);
                        self.buf.push(' ');
                        self.buf.push_str(name);
                        self.buf.push(' ');
                        self.expr_paren(b, true, Parent::Op(name, 2), false);
                    }
                    [a] => {
                        self.buf.push_str(name);
                        self.buf.push(' ');
                        self.expr_paren(a, true, Parent::Op(name, 1), false);
                    }
                    _ => {}
                }
                close(self);
            }
            D::And(args) | D::Or(args) => {
                let or = matches!(d, D::Or(_));
                open(self);
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(if or { " OR " } else { " AND " });
                    }
                    let kind = if or { BoolKind::Or } else { BoolKind::And };
                    self.expr_paren(a, false, Parent::Bool(kind), i == 0);
                }
                close(self);
            }
            D::Not(a) => {
                open(self);
                self.buf.push_str("NOT ");
                self.expr_paren(a, false, Parent::Bool(BoolKind::Not), false);
                close(self);
            }
            D::Cast {
                arg,
                ty,
                implicit,
                bare,
                ..
            } => {
                if *implicit && !show_implicit {
                    self.expr_paren(arg, false, Parent::Cast, false);
                    return;
                }
                if *bare {
                    self.expr(arg, false);
                } else {
                    open(self);
                    self.expr_paren(arg, false, Parent::Cast, false);
                    close(self);
                }
                self.buf.push_str("::");
                self.buf.push_str(ty);
            }
            D::Func { name, args } => {
                self.buf.push_str(&quote_ident(name));
                self.buf.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(", ");
                    }
                    self.expr(a, true);
                }
                self.buf.push(')');
            }
            D::Agg {
                name,
                star,
                distinct,
                args,
                order,
                filter,
            } => {
                self.buf.push_str(&quote_ident(name));
                self.buf.push('(');
                if *distinct {
                    self.buf.push_str("DISTINCT ");
                }
                if *star {
                    self.buf.push('*');
                }
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(", ");
                    }
                    self.expr(a, true);
                }
                if !order.is_empty() {
                    self.buf.push_str(" ORDER BY ");
                    self.sort_list(order, false);
                }
                if let Some(f) = filter {
                    self.buf.push_str(") FILTER (WHERE ");
                    self.expr(f, false);
                }
                self.buf.push(')');
            }
            D::Special { name, args } => {
                self.buf.push_str(name);
                self.buf.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(", ");
                    }
                    self.expr(a, true);
                }
                self.buf.push(')');
            }
            D::Keyword(k) => self.buf.push_str(k),
            D::Extract { field, arg } => {
                self.buf.push_str("EXTRACT(");
                self.buf.push_str(field);
                self.buf.push_str(" FROM ");
                self.expr(arg, true);
                self.buf.push(')');
            }
            D::Case {
                arg,
                whens,
                default,
            } => {
                self.keyword("CASE", 0, INDENT_VAR, 0);
                if let Some(a) = arg {
                    self.buf.push(' ');
                    self.expr(a, true);
                }
                for (w, r) in whens {
                    self.keyword("WHEN ", 0, 0, 0);
                    self.expr(w, false);
                    self.buf.push_str(" THEN ");
                    self.expr(r, true);
                }
                self.keyword("ELSE ", 0, 0, 0);
                self.expr(default, true);
                self.keyword("END", -INDENT_VAR, 0, 0);
            }
            D::NullTest { arg, not } => {
                open(self);
                self.expr_paren(arg, true, Parent::Other, false);
                self.buf
                    .push_str(if *not { " IS NOT NULL" } else { " IS NULL" });
                close(self);
            }
            D::BoolTest { arg, what } => {
                open(self);
                self.expr_paren(arg, false, Parent::Other, false);
                self.buf.push_str(what);
                close(self);
            }
            D::Distinct(a, b) => {
                open(self);
                self.expr_paren(a, true, Parent::Other, true);
                self.buf.push_str(" IS DISTINCT FROM ");
                self.expr_paren(b, true, Parent::Other, false);
                close(self);
            }
            D::ArrayOp {
                left,
                op,
                all,
                right,
            } => {
                open(self);
                self.expr_paren(left, true, Parent::Other, true);
                self.buf.push(' ');
                self.buf.push_str(op);
                self.buf.push_str(if *all { " ALL (" } else { " ANY (" });
                self.expr_paren(right, true, Parent::Other, false);
                self.buf.push(')');
                close(self);
            }
            D::Array(items) => {
                self.buf.push_str("ARRAY[");
                for (i, a) in items.iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(", ");
                    }
                    self.expr(a, true);
                }
                self.buf.push(']');
            }
            D::Subscript(a, i) => {
                let paren = !matches!(**a, D::Var { .. });
                if paren {
                    self.buf.push('(');
                }
                self.expr(a, show_implicit);
                if paren {
                    self.buf.push(')');
                }
                self.buf.push('[');
                self.expr(i, false);
                self.buf.push(']');
            }
            D::Sublink { kind, query } => {
                if matches!(kind, SubKind::Array) {
                    self.buf.push_str("ARRAY(");
                } else {
                    self.buf.push('(');
                }
                let need_paren = match kind {
                    SubKind::Exists => {
                        self.buf.push_str("EXISTS ");
                        true
                    }
                    SubKind::Quantified { left, op, all } => {
                        self.expr(left, true);
                        if op == "=" && !all {
                            self.buf.push_str(" IN ");
                        } else {
                            self.buf.push(' ');
                            self.buf.push_str(op);
                            self.buf.push_str(if *all { " ALL " } else { " ANY " });
                        }
                        true
                    }
                    SubKind::Expr | SubKind::Array => false,
                };
                if need_paren {
                    self.buf.push('(');
                }
                let saved = self.indent;
                self.query(query, None, false);
                self.indent = saved;
                self.buf.push_str(if need_paren { "))" } else { ")" });
            }
        }
    }
}

/// For PostgreSQL's operator-precedence shortcut: Some(true) for `* / %`,
/// Some(false) for `+ -`, None for other operators (and prefix ones).
pub(super) fn binary_priority(name: &str, nargs: usize) -> Option<bool> {
    if nargs != 2 {
        return None;
    }
    match name {
        "+" | "-" => Some(false),
        "*" | "/" | "%" => Some(true),
        _ => None,
    }
}
