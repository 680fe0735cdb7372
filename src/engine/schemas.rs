//! Schemas and how names find objects, as PostgreSQL's namespace.c does:
//! a qualified name looks in its schema only; an unqualified one tries
//! each schema of the session's `search_path` that exists, in order; an
//! object is created in the qualified schema or else in the first
//! existing schema of the path.
//!
//! `public`, `pg_catalog` and `information_schema` are built in (no
//! catalog row); `CREATE SCHEMA` adds [`SchemaDef`] rows, transactional
//! like every catalog row. Each session has a temporary schema
//! (`pg_temp`, [`temp_namespace`]) for its `CREATE TEMP TABLE`s, searched
//! first once it holds something and dropped with the session.

use super::{sql_err, Engine, QueryResult, Result, SessionId};
use crate::catalog::{
    builtin_namespace, is_temp_namespace, Entry, Object, Oid, SchemaDef, PG_CATALOG_NAMESPACE,
    PUBLIC_NAMESPACE, TEMP_NAMESPACE_BASE,
};
use crate::error::{SqlError, SqlState};
use crate::pager::{PResult, Pager};
use crate::sql::functions::quote_ident;
use crate::txn::{TxnManager, Viewer};

pub(super) const INVALID_SCHEMA_NAME: SqlState = SqlState("3F000");

/// `search_path`'s default.
pub(super) const DEFAULT_SEARCH_PATH: &str = "\"$user\", public";

/// The entries of a `search_path` value: identifiers separated by commas,
/// quoted ones kept as written, others folded to lower case; `$user` is
/// the session user's name.
pub(super) fn parse_search_path(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    for item in split_list(value) {
        let item = item.trim();
        let name = match item.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            Some(q) => q.replace("\"\"", "\""),
            None => item.to_lowercase(),
        };
        if name.is_empty() {
            continue;
        }
        out.push(if name == "$user" {
            super::system::USER_NAME.to_string()
        } else {
            name
        });
    }
    out
}

/// Splits at commas outside double quotes.
fn split_list(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

/// A statement's means to resolve names: the catalog as `viewer` sees it
/// and the session's search path.
pub(super) struct Names<'a> {
    pub catalog: &'a crate::catalog::Catalog,
    pub txns: &'a TxnManager,
    pub pager: &'a mut Pager,
    pub viewer: &'a Viewer<'a>,
    pub search_path: &'a [String],
    /// The session's temporary schema (`pg_temp`).
    pub temp: Oid,
}

impl Names<'_> {
    /// A schema by name. `pg_temp` (or its `pg_temp_N` name) is the
    /// session's own; other sessions' temporary schemas are not found.
    pub fn schema(&mut self, name: &str) -> PResult<Option<Oid>> {
        if name == "pg_temp" || name == temp_namespace_name(self.temp) {
            return Ok(Some(self.temp));
        }
        if name.starts_with("pg_temp_") {
            return Ok(None);
        }
        self.catalog
            .namespace_oid(self.txns, self.pager, self.viewer, name)
    }

    /// The schemas of the search path that exist, in order (`pg_catalog`,
    /// searched implicitly for system relations, is not among them).
    /// The session's temporary schema comes first unless the path names
    /// `pg_temp` elsewhere, as in PostgreSQL; it is left out of what
    /// [`Names::creation_namespace`] picks for unqualified names.
    pub fn path(&mut self) -> PResult<Vec<Oid>> {
        let mut out = Vec::new();
        // Like PostgreSQL's, the temporary schema exists once the session
        // has made something in it.
        let temp = self.temp;
        let temp_in_use = self
            .catalog
            .all_entries()
            .iter()
            .any(|e| e.object.namespace() == Some(temp));
        if temp_in_use && !self.search_path.iter().any(|s| s == "pg_temp") {
            out.push(self.temp);
        }
        for n in self.search_path {
            if let Some(oid) = self.schema(n)? {
                if oid != PG_CATALOG_NAMESPACE && !out.contains(&oid) {
                    out.push(oid);
                }
            }
        }
        Ok(out)
    }

    /// The relation or type `name` (one part, or schema and name); None
    /// when there is none, including when its schema does not exist
    /// (PostgreSQL then says the relation does not exist).
    pub fn find(&mut self, name: &[String]) -> Result<Option<Entry>> {
        Ok(match name {
            [n] => {
                let path = self.path()?;
                self.catalog
                    .resolve(self.txns, self.pager, self.viewer, &path, n)?
            }
            [.., schema, n] => match self.schema(schema)? {
                Some(ns) => self
                    .catalog
                    .lookup(self.txns, self.pager, self.viewer, ns, n)?,
                None => None,
            },
            [] => None,
        })
    }

    /// The schema a new object called `name` goes into.
    pub fn creation_namespace(&mut self, name: &[String]) -> Result<Oid> {
        match name {
            [.., schema, _] => match self.schema(schema)? {
                Some(PG_CATALOG_NAMESPACE) => Err(sql_err(
                    SqlState("42939"),
                    "permission denied to create objects in schema \"pg_catalog\"".to_string(),
                )),
                Some(ns) => Ok(ns),
                None => Err(sql_err(
                    INVALID_SCHEMA_NAME,
                    format!("schema \"{schema}\" does not exist"),
                )),
            },
            _ => self
                .path()?
                .into_iter()
                .find(|&ns| ns != self.temp)
                .ok_or_else(|| {
                    sql_err(
                        INVALID_SCHEMA_NAME,
                        "no schema has been selected to create in".to_string(),
                    )
                }),
        }
    }

    pub fn namespace_name(&mut self, oid: Oid) -> PResult<String> {
        self.catalog
            .namespace_name(self.txns, self.pager, self.viewer, oid)
    }
}

impl Engine {
    /// The session's `search_path`, parsed.
    pub(super) fn search_path(&self, sid: SessionId) -> Vec<String> {
        let value = self
            .sessions
            .get(&sid)
            .and_then(|s| s.settings.other.get("search_path"))
            .map_or(DEFAULT_SEARCH_PATH, |v| v.as_str());
        parse_search_path(value)
    }

    /// Runs `f` with the names visible to the session's current
    /// statement (its snapshot and its own earlier commands).
    pub(super) fn with_names<T>(
        &mut self,
        sid: SessionId,
        f: impl FnOnce(&mut Names) -> Result<T>,
    ) -> Result<T> {
        let search_path = self.search_path(sid);
        let snapshot = self.take_snapshot(sid);
        let t = self.txns.get(sid).expect("in a transaction");
        let viewer = Viewer {
            snapshot: &snapshot,
            own: t.own(),
            cid: t.cid + 1,
        };
        f(&mut Names {
            catalog: &self.catalog,
            txns: &self.txns,
            pager: &mut self.pager,
            viewer: &viewer,
            search_path: &search_path,
            temp: temp_namespace(sid),
        })
    }

    /// The object `name` (qualified or found through the search path).
    pub(super) fn lookup_name(&mut self, sid: SessionId, name: &[String]) -> Result<Option<Entry>> {
        self.with_names(sid, |n| n.find(name))
    }

    /// The object called `name` in schema `namespace`.
    pub(super) fn lookup_in(
        &mut self,
        sid: SessionId,
        namespace: Oid,
        name: &str,
    ) -> Result<Option<Entry>> {
        self.with_names(sid, |n| {
            Ok(n.catalog
                .lookup(n.txns, n.pager, n.viewer, namespace, name)?)
        })
    }

    pub(super) fn creation_namespace(&mut self, sid: SessionId, name: &[String]) -> Result<Oid> {
        self.with_names(sid, |n| n.creation_namespace(name))
    }

    pub(super) fn namespace_name(&mut self, sid: SessionId, oid: Oid) -> Result<String> {
        self.with_names(sid, |n| Ok(n.namespace_name(oid)?))
    }

    /// The schema `name` is qualified with when that schema does not exist.
    pub(super) fn missing_schema(
        &mut self,
        sid: SessionId,
        name: &[String],
    ) -> Result<Option<String>> {
        let [.., schema, _] = name else {
            return Ok(None);
        };
        let exists = self.with_names(sid, |n| Ok(n.schema(schema)?.is_some()))?;
        Ok((!exists).then(|| schema.clone()))
    }

    /// PostgreSQL's error for DDL on `schema.name` when the schema does
    /// not exist (3F000), checked before "does not exist" for the object.
    pub(super) fn check_schema_exists(&mut self, sid: SessionId, name: &[String]) -> Result<()> {
        match self.missing_schema(sid, name)? {
            Some(schema) => Err(sql_err(
                INVALID_SCHEMA_NAME,
                format!("schema \"{schema}\" does not exist"),
            )),
            None => Ok(()),
        }
    }

    /// How `regclass` input names relation `name` of schema `namespace`:
    /// unqualified in `public`, qualified elsewhere (so the text finds the
    /// same relation whatever the search path).
    pub(super) fn regclass_text(
        &mut self,
        sid: SessionId,
        namespace: Oid,
        name: &str,
    ) -> Result<String> {
        if is_public(namespace) {
            return Ok(name.to_string());
        }
        let schema = self.namespace_name(sid, namespace)?;
        Ok(format!(
            "{}.{}",
            crate::sql::functions::quote_ident(&schema),
            crate::sql::functions::quote_ident(name)
        ))
    }

    /// Schema-qualified `name` of schema `namespace`, to name an object
    /// whatever the search path.
    pub(super) fn qualified(
        &mut self,
        sid: SessionId,
        namespace: Oid,
        name: &str,
    ) -> Result<Vec<String>> {
        Ok(vec![self.namespace_name(sid, namespace)?, name.to_string()])
    }

    /// `name` as PostgreSQL prints a relation in messages: qualified when
    /// the statement qualified it.
    pub(super) fn display_name(name: &[String]) -> String {
        name.join(".")
    }

    /// `CREATE SCHEMA [IF NOT EXISTS] name`.
    pub(super) fn create_schema(
        &mut self,
        sid: SessionId,
        name: &str,
        if_not_exists: bool,
    ) -> Result<QueryResult> {
        let exists = self.with_names(sid, |n| Ok(n.schema(name)?.is_some()))?;
        if exists {
            let what = format!("schema \"{name}\" already exists");
            if if_not_exists {
                self.skip_notice(sid, SqlState("42P06"), what);
                return Ok(QueryResult::tag("CREATE SCHEMA"));
            }
            return Err(sql_err(SqlState("42P06"), what));
        }
        if name.starts_with("pg_") {
            return Err(Error::Sql(
                SqlError::new(
                    SqlState("42939"),
                    format!("unacceptable schema name \"{name}\""),
                )
                .with_detail("The prefix \"pg_\" is reserved for system schemas."),
            ));
        }
        self.check_name_not_in_flux(sid, name)?;
        let xid = self.write_xid(sid)?;
        let cid = self.current_cid(sid);
        let oid = self.catalog.allocate_oid();
        self.catalog.insert(
            &mut self.pager,
            xid,
            cid,
            Object::Schema(SchemaDef {
                oid,
                name: name.to_string(),
                owner: super::system::USER_NAME.to_string(),
            }),
        )?;
        Ok(QueryResult::tag("CREATE SCHEMA"))
    }

    /// `DROP SCHEMA [IF EXISTS] names [CASCADE | RESTRICT]`: without
    /// CASCADE a schema that holds anything is refused (2BP01), with it
    /// its views, tables, sequences and types are dropped first.
    pub(super) fn drop_schemas(
        &mut self,
        sid: SessionId,
        names: &[String],
        if_exists: bool,
        cascade: bool,
    ) -> Result<QueryResult> {
        let mut targets: Vec<Entry> = Vec::new();
        for name in names {
            if builtin_namespace(name).is_some() {
                return Err(sql_err(
                    SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
                    format!(
                        "cannot drop schema {name} because it is required by the database system"
                    ),
                ));
            }
            let entry = self.with_names(sid, |n| {
                Ok(n.catalog.lookup_schema(n.txns, n.pager, n.viewer, name)?)
            })?;
            match entry {
                Some(e) => targets.push(e),
                None if if_exists => {
                    let what = format!("schema \"{name}\" does not exist");
                    self.skip_notice(sid, INVALID_SCHEMA_NAME, what);
                }
                None => {
                    return Err(sql_err(
                        INVALID_SCHEMA_NAME,
                        format!("schema \"{name}\" does not exist"),
                    ))
                }
            }
        }
        for schema in targets {
            let (oid, sname) = (schema.object.oid(), schema.object.name().to_string());
            let members = self.schema_members(sid, oid)?;
            let entries = self.visible_entries(sid)?;
            // PostgreSQL's order: each member (by OID) followed by the
            // views elsewhere that read it.
            let skip: std::collections::HashSet<Oid> =
                members.iter().map(|e| e.object.oid()).collect();
            let mut seen = skip.clone();
            let (mut restrict, mut cascades) = (Vec::new(), Vec::new());
            for m in &members {
                let desc = super::views::describe(&m.object, &entries);
                restrict.push(format!("{desc} depends on schema {}", quote_ident(&sname)));
                cascades.push(format!("drop cascades to {desc}"));
                let roots = [(m.object.oid(), None, desc)];
                for d in self.dependent_views(sid, &roots, &seen)? {
                    seen.insert(d.entry.object.oid());
                    cascades.push(format!(
                        "drop cascades to {}",
                        super::views::describe(&d.entry.object, &entries)
                    ));
                    restrict.push(d.line);
                }
            }
            if !restrict.is_empty() && !cascade {
                return Err(Error::Sql(
                    SqlError::new(
                        SqlState::DEPENDENT_OBJECTS_STILL_EXIST,
                        format!("cannot drop schema {sname} because other objects depend on it"),
                    )
                    .with_detail(restrict.join("\n"))
                    .with_hint("Use DROP ... CASCADE to drop the dependent objects too."),
                ));
            }
            if let [one] = cascades.as_slice() {
                let notice = crate::error::Notice::info(SqlState::SUCCESSFUL_COMPLETION, one);
                self.raise_notice(sid, notice);
            } else if !cascades.is_empty() {
                let message = format!("drop cascades to {} other objects", cascades.len());
                let mut notice =
                    crate::error::Notice::info(SqlState::SUCCESSFUL_COMPLETION, message);
                notice.body = notice.body.with_detail(cascades.join("\n"));
                self.raise_notice(sid, notice);
            }
            // Views first (they read the rest), then tables (with their
            // indexes and owned sequences), free sequences, and types.
            for (kind, stmt_kind) in [
                ("view", "VIEW"),
                ("table", "TABLE"),
                ("sequence", "SEQUENCE"),
            ] {
                let names: Vec<Vec<String>> = self
                    .schema_members(sid, oid)?
                    .into_iter()
                    .filter(|e| member_kind(&e.object) == Some(kind))
                    .map(|e| vec![sname.clone(), e.object.name().to_string()])
                    .collect();
                if !names.is_empty() {
                    self.with_quiet_notices(sid, |e| {
                        e.drop_objects(sid, &names, true, stmt_kind, true)
                    })?;
                }
            }
            let types: Vec<Vec<String>> = self
                .schema_members(sid, oid)?
                .into_iter()
                .filter(|e| member_kind(&e.object) == Some("type"))
                .map(|e| vec![sname.clone(), e.object.name().to_string()])
                .collect();
            if !types.is_empty() {
                self.with_quiet_notices(sid, |e| e.drop_types(sid, &types, true, true))?;
            }
            let xid = self.write_xid(sid)?;
            let cid = self.current_cid(sid);
            self.lock_catalog_row(sid, schema.tid)?;
            self.catalog.delete(&mut self.pager, schema.tid, xid, cid)?;
        }
        Ok(QueryResult::tag("DROP SCHEMA"))
    }

    /// Runs `f`, dropping the notices it raises (a schema's CASCADE
    /// reports what it drops once, as PostgreSQL does).
    fn with_quiet_notices<T>(
        &mut self,
        sid: SessionId,
        f: impl FnOnce(&mut Engine) -> Result<T>,
    ) -> Result<T> {
        let before = self.sessions.get(&sid).map_or(0, |s| s.notices.len());
        let out = f(self);
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.notices.truncate(before);
        }
        out
    }

    /// What lives in schema `oid`, by OID (indexes and owned sequences
    /// left out: they go with their tables).
    fn schema_members(&mut self, sid: SessionId, oid: Oid) -> Result<Vec<Entry>> {
        let mut out: Vec<Entry> = self
            .visible_entries(sid)?
            .into_iter()
            .filter(|e| e.object.namespace() == Some(oid) && member_kind(&e.object).is_some())
            .collect();
        out.sort_by_key(|e| e.object.oid());
        Ok(out)
    }
}

/// A schema member's kind as DROP names it; None for what goes along
/// with another member.
fn member_kind(object: &Object) -> Option<&'static str> {
    Some(match object {
        Object::Table(_) => "table",
        Object::View(_) => "view",
        Object::Sequence(s) if s.owned_by.is_none() => "sequence",
        Object::Type(_) => "type",
        _ => return None,
    })
}

/// Session `sid`'s temporary schema.
pub(super) fn temp_namespace(sid: SessionId) -> Oid {
    TEMP_NAMESPACE_BASE + sid
}

fn temp_namespace_name(oid: Oid) -> String {
    format!("pg_temp_{}", oid - TEMP_NAMESPACE_BASE)
}

impl Engine {
    /// `DISCARD TEMP` and the end of a session: its temporary tables
    /// (with their indexes, sequences and comments) go, in the running
    /// transaction. Their storage is freed by vacuum once no snapshot
    /// sees them, as for DROP TABLE.
    pub(super) fn drop_temp_objects(&mut self, sid: SessionId, namespace: Oid) -> Result<()> {
        let entries = self.visible_entries(sid)?;
        let doomed: std::collections::HashSet<Oid> = entries
            .iter()
            .filter(|e| e.object.namespace() == Some(namespace))
            .map(|e| e.object.oid())
            .collect();
        if doomed.is_empty() {
            return Ok(());
        }
        let xid = self.write_xid(sid)?;
        let cid = self.current_cid(sid);
        for e in entries {
            let goes = match &*e.object {
                Object::Comment(c) => doomed.contains(&c.object),
                o => doomed.contains(&o.oid()),
            };
            if goes {
                self.lock_catalog_row(sid, e.tid)?;
                self.catalog.delete(&mut self.pager, e.tid, xid, cid)?;
            }
        }
        Ok(())
    }

    /// At open: temporary objects of sessions of an earlier run (which
    /// ended by a crash) are dropped.
    pub(super) fn drop_orphaned_temp_objects(&mut self) -> Result<()> {
        let mut orphaned: Vec<Oid> = self
            .catalog
            .all_entries()
            .iter()
            .filter_map(|e| e.object.namespace())
            .filter(|&ns| is_temp_namespace(ns))
            .collect();
        if orphaned.is_empty() {
            return Ok(());
        }
        orphaned.sort_unstable();
        orphaned.dedup();
        let sid = self.connect();
        let result = (|| {
            self.execute(sid, "BEGIN", Vec::new())?;
            for ns in orphaned {
                self.drop_temp_objects(sid, ns)?;
            }
            self.execute(sid, "COMMIT", Vec::new())?;
            Ok(())
        })();
        self.disconnect(sid);
        result
    }
}

/// Whether `oid` is `public` (objects there print unqualified).
pub(super) fn is_public(oid: Oid) -> bool {
    oid == PUBLIC_NAMESPACE
}

use crate::error::Error;
