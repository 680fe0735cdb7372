//! Dump and restore: the database as a plain SQL script PostgreSQL 15's
//! psql loads (pg_dump's plain format), and such a script (ours or
//! pg_dump's) loaded back in one transaction.
//!
//! The engine produces and consumes strings only; files are the CLI's
//! (`neuraldb dump` / `neuraldb restore`) and the page's (wasm).
//!
//! Also here: the statements pg_dump emits that exist for its sake
//! (`ALTER ... OWNER TO`, `ALTER SEQUENCE ... OWNED BY`).

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::{sql_err, CopyMode, Engine, QueryResult, Result, SessionId, Submitted, TxnStatus};
use crate::catalog::{
    is_temp_namespace, Catalog, IdentityKind, Object, Oid, RefAction, SequenceDef, TableDef,
};
use crate::error::{Error, SqlError, SqlState};
use crate::sql::functions::string::{quote_ident, quote_literal};
use crate::sql::parse::ast;
use crate::value::types::DataType;

/// What a restore did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoreSummary {
    /// SQL statements run (COPY counted once, meta-commands not at all).
    pub statements: u64,
    /// Rows loaded by `COPY ... FROM stdin`.
    pub rows: u64,
}

/// `pg_class`, `pg_namespace`, `pg_type`: the catalogs a comment's
/// object can be in (`CommentDef::class`).
const PG_CLASS: Oid = 1259;
const PG_NAMESPACE: Oid = 2615;
const PG_TYPE: Oid = 1247;

impl Engine {
    /// The database as a plain SQL script, taken under one snapshot: the
    /// session runs a REPEATABLE READ READ ONLY transaction for it, as
    /// pg_dump does. Temporary objects are left out. Objects come in
    /// dependency order: schemas, types, sequences, tables, views, data,
    /// sequence positions, then keys, indexes and foreign keys (so the
    /// data loads before the constraints that check it), then comments.
    pub fn dump(&mut self, sid: SessionId) -> Result<String> {
        if self.txn_status(sid) != TxnStatus::Idle {
            return Err(sql_err(
                SqlState("25001"),
                "dump cannot run inside a transaction block",
            ));
        }
        self.execute(
            sid,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            Vec::new(),
        )?;
        let out = self.dump_in_transaction(sid);
        // The transaction wrote nothing; ending it cannot lose work.
        let end = self.execute(sid, "ROLLBACK", Vec::new());
        let out = out?;
        end?;
        Ok(out)
    }

    fn dump_in_transaction(&mut self, sid: SessionId) -> Result<String> {
        // The first statement fixes the transaction's snapshot; every
        // catalog read and COPY below uses it.
        self.execute(sid, "SELECT 1", Vec::new())?;
        let snapshot = self.take_snapshot(sid);
        let Some((own, cid)) = self.txns.get(sid).map(|t| (t.own().clone(), t.cid)) else {
            return Err(sql_err(SqlState("25P01"), "dump lost its transaction"));
        };
        let vp = super::system::Viewpoint {
            sid,
            snapshot: &snapshot,
            own: &own,
            cid,
        };
        let objects = self.visible_objects(&vp)?;
        let info = self.catalog_info(&vp)?;
        let objects: Vec<Rc<Object>> = objects
            .into_iter()
            .filter(|o| !o.namespace().is_some_and(is_temp_namespace))
            .collect();
        let ns_name = |oid: Oid| super::system::namespace_name(&objects, oid);
        let qualified =
            |ns: Oid, name: &str| format!("{}.{}", quote_ident(&ns_name(ns)), quote_ident(name));
        let mut tables: Vec<&TableDef> = Vec::new();
        let mut sequences: Vec<&SequenceDef> = Vec::new();
        let mut by_oid: HashMap<Oid, &Object> = HashMap::new();
        for o in &objects {
            by_oid.insert(o.oid(), o);
            match &**o {
                Object::Table(t) => tables.push(t),
                Object::Sequence(s) => sequences.push(s),
                _ => {}
            }
        }
        // Sequences by name: an ALWAYS identity column's sequence is made
        // with its table on restore, so OIDs need not keep their order.
        sequences.sort_by_key(|s| (ns_name(s.namespace), s.name.clone()));
        let type_sql = |ty: &DataType| -> String { type_sql(ty, &by_oid, &ns_name) };
        let table_name = |oid: Oid| match by_oid.get(&oid) {
            Some(Object::Table(t)) => qualified(t.namespace, &t.name),
            _ => oid.to_string(),
        };

        let mut out = String::new();
        out.push_str(
            "--\n-- NeuralDB database dump\n--\n\n\
             SET statement_timeout = 0;\n\
             SET lock_timeout = 0;\n\
             SET idle_in_transaction_session_timeout = 0;\n\
             SET client_encoding = 'UTF8';\n\
             SET standard_conforming_strings = on;\n\
             SELECT pg_catalog.set_config('search_path', '', false);\n\
             SET check_function_bodies = false;\n\
             SET client_min_messages = warning;\n\n\
             -- Names below are schema-qualified, but stored expressions (defaults,\n\
             -- views, index expressions) name objects of schema public as they\n\
             -- were written, as NeuralDB keeps them: resolve those in public.\n\
             SET search_path = public, pg_catalog;\n\n",
        );

        // Schemas.
        for o in &objects {
            if let Object::Schema(s) = &**o {
                out.push_str(&format!("CREATE SCHEMA {};\n\n", quote_ident(&s.name)));
            }
        }

        // pgvector's types and index method.
        let vector_type = |ty: &DataType| {
            let mut ty = ty;
            while let DataType::Array(inner) = ty {
                ty = inner;
            }
            matches!(ty, DataType::Vector(_) | DataType::HalfVec(_))
        };
        let needs_vector = tables
            .iter()
            .any(|t| t.live_columns().any(|(_, c)| vector_type(&c.ty)))
            || objects
                .iter()
                .any(|o| matches!(&**o, Object::Index(i) if i.hnsw.is_some()));
        if needs_vector {
            out.push_str("CREATE EXTENSION IF NOT EXISTS vector;\n\n");
        }

        // Enum types.
        for o in &objects {
            if let Object::Type(t) = &**o {
                let labels: Vec<String> = t.labels.iter().map(|(_, l)| quote_literal(l)).collect();
                out.push_str(&format!(
                    "CREATE TYPE {} AS ENUM (\n    {}\n);\n\n",
                    qualified(t.namespace, &t.name),
                    labels.join(",\n    ")
                ));
            }
        }

        // Sequences (an identity column's comes with its table).
        let identity_seq = |s: &SequenceDef| {
            s.owned_by.is_some_and(|(t, c)| match by_oid.get(&t) {
                Some(Object::Table(t)) => t
                    .columns
                    .get(c)
                    .is_some_and(|c| c.identity == Some(IdentityKind::Always)),
                _ => false,
            })
        };
        for s in &sequences {
            if identity_seq(s) {
                continue;
            }
            out.push_str(&format!(
                "CREATE SEQUENCE {}\n    START WITH {}\n    INCREMENT BY {}\n    NO MINVALUE\n    NO MAXVALUE\n    CACHE 1;\n\n",
                qualified(s.namespace, &s.name),
                s.start,
                s.increment
            ));
        }

        // Tables.
        for t in &tables {
            let mut items: Vec<String> = Vec::new();
            for (_, c) in t.live_columns() {
                let mut item = format!("    {} {}", quote_ident(&c.name), type_sql(&c.ty));
                // An ALWAYS identity column makes its sequence itself; a
                // BY DEFAULT one (serial is one) behaves as its default
                // with its owned sequence, which is how it is dumped.
                if let Some(g) = &c.generated {
                    item.push_str(&format!(" GENERATED ALWAYS AS ({}) STORED", g.expr));
                } else if c.identity == Some(IdentityKind::Always) {
                    item.push_str(" GENERATED ALWAYS AS IDENTITY");
                } else if let Some(d) = &c.default {
                    item.push_str(&format!(" DEFAULT {d}"));
                }
                if c.not_null {
                    item.push_str(" NOT NULL");
                }
                items.push(item);
            }
            for ch in &t.checks {
                let def = info
                    .constraints
                    .get(&ch.oid)
                    .cloned()
                    .unwrap_or_else(|| format!("CHECK ({})", ch.expr));
                items.push(format!("    CONSTRAINT {} {def}", quote_ident(&ch.name)));
            }
            // As pg_dump prints storage parameters.
            let with = t
                .fillfactor
                .map(|f| format!("\nWITH (fillfactor='{f}')"))
                .unwrap_or_default();
            out.push_str(&format!(
                "CREATE TABLE {} (\n{}\n){with};\n\n",
                qualified(t.namespace, &t.name),
                items.join(",\n")
            ));
        }
        for s in &sequences {
            if identity_seq(s) {
                continue;
            }
            if let Some((t, c)) = s.owned_by {
                if let Some(Object::Table(t)) = by_oid.get(&t) {
                    if let Some(col) = t.columns.get(c) {
                        out.push_str(&format!(
                            "ALTER SEQUENCE {} OWNED BY {}.{};\n\n",
                            qualified(s.namespace, &s.name),
                            qualified(t.namespace, &t.name),
                            quote_ident(&col.name)
                        ));
                    }
                }
            }
        }

        // Views, each after the views it reads (OIDs give creation order,
        // which a rename or CREATE OR REPLACE may not keep).
        let views: Vec<_> = objects
            .iter()
            .filter_map(|o| match &**o {
                Object::View(v) => Some(v),
                _ => None,
            })
            .collect();
        let view_oids: HashSet<Oid> = views.iter().map(|v| v.oid).collect();
        let mut done: HashSet<Oid> = HashSet::new();
        while done.len() < views.len() {
            let before = done.len();
            for v in &views {
                if done.contains(&v.oid)
                    || v.depends.iter().any(|d| {
                        d.relation != v.oid
                            && view_oids.contains(&d.relation)
                            && !done.contains(&d.relation)
                    })
                {
                    continue;
                }
                let text = v.pretty.trim_end().trim_end_matches(';');
                out.push_str(&format!(
                    "CREATE VIEW {} AS\n{text};\n\n",
                    qualified(v.namespace, &v.name)
                ));
                done.insert(v.oid);
            }
            if done.len() == before {
                return Err(sql_err(
                    SqlState("XX000"),
                    "views depend on each other in a cycle",
                ));
            }
        }

        // Data.
        for t in &tables {
            let columns: Vec<String> = t
                .live_columns()
                .filter(|(_, c)| c.generated.is_none())
                .map(|(_, c)| quote_ident(&c.name))
                .collect();
            let name = qualified(t.namespace, &t.name);
            let cols = columns.join(", ");
            let results =
                self.execute(sid, &format!("COPY {name} ({cols}) TO STDOUT"), Vec::new())?;
            out.push_str(&format!("COPY {name} ({cols}) FROM stdin;\n"));
            let tz = self.session_tz(sid);
            for r in &results {
                if let Some(CopyMode::Out(format)) = &r.copy {
                    for row in &r.rows {
                        out.push_str(&crate::sql::parse::copy::format_row(row, format, &tz));
                    }
                }
            }
            out.push_str("\\.\n\n");
        }

        // Sequence positions.
        for s in &sequences {
            let (value, called) = Catalog::sequence_state(&mut self.pager, s)?;
            let name = qualified(s.namespace, &s.name);
            out.push_str(&format!(
                "SELECT pg_catalog.setval({}, {value}, {called});\n\n",
                quote_literal(&name)
            ));
        }

        // Primary keys and unique constraints, then the other indexes.
        let indexes: Vec<_> = objects
            .iter()
            .filter_map(|o| match &**o {
                Object::Index(i) if by_oid.contains_key(&i.table) => Some(i),
                _ => None,
            })
            .collect();
        for i in indexes.iter().filter(|i| i.constraint) {
            let Some(def) = info.constraints.get(&i.oid) else {
                continue;
            };
            out.push_str(&format!(
                "ALTER TABLE ONLY {}\n    ADD CONSTRAINT {} {def};\n\n",
                table_name(i.table),
                quote_ident(&i.name)
            ));
        }
        for i in indexes.iter().filter(|i| !i.constraint) {
            let Some(ix) = info.indexes.get(&i.oid) else {
                continue;
            };
            out.push_str(&format!(
                "{}{}.{}{};\n\n",
                ix.head,
                quote_ident(&ix.namespace),
                ix.table,
                ix.tail
            ));
        }

        // Foreign keys.
        for t in &tables {
            for fk in &t.foreign_keys {
                let Some(Object::Table(parent)) = by_oid.get(&fk.ref_table) else {
                    continue;
                };
                let names = |t: &TableDef, cols: &[usize]| -> String {
                    cols.iter()
                        .map(|&c| {
                            t.columns
                                .get(c)
                                .map_or("?".into(), |c| quote_ident(&c.name))
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let mut def = format!(
                    "FOREIGN KEY ({}) REFERENCES {}({})",
                    names(t, &fk.columns),
                    qualified(parent.namespace, &parent.name),
                    names(parent, &fk.ref_columns)
                );
                for (word, action) in [("UPDATE", fk.on_update), ("DELETE", fk.on_delete)] {
                    let action = match action {
                        RefAction::NoAction => continue,
                        RefAction::Restrict => "RESTRICT",
                        RefAction::Cascade => "CASCADE",
                        RefAction::SetNull => "SET NULL",
                        RefAction::SetDefault => "SET DEFAULT",
                    };
                    def.push_str(&format!(" ON {word} {action}"));
                }
                if fk.deferrable {
                    def.push_str(" DEFERRABLE");
                }
                if fk.initially_deferred {
                    def.push_str(" INITIALLY DEFERRED");
                }
                out.push_str(&format!(
                    "ALTER TABLE ONLY {}\n    ADD CONSTRAINT {} {def};\n\n",
                    qualified(t.namespace, &t.name),
                    quote_ident(&fk.name)
                ));
            }
        }

        // Comments.
        for o in &objects {
            let Object::Comment(c) = &**o else { continue };
            let target = match (c.class, by_oid.get(&c.object)) {
                (PG_CLASS, Some(Object::Table(t))) if c.column > 0 => {
                    match t.columns.get(c.column as usize - 1) {
                        Some(col) => format!(
                            "COLUMN {}.{}",
                            qualified(t.namespace, &t.name),
                            quote_ident(&col.name)
                        ),
                        None => continue,
                    }
                }
                (PG_CLASS, Some(Object::View(v))) if c.column > 0 => {
                    match v.columns.get(c.column as usize - 1) {
                        Some(col) => format!(
                            "COLUMN {}.{}",
                            qualified(v.namespace, &v.name),
                            quote_ident(&col.name)
                        ),
                        None => continue,
                    }
                }
                (PG_CLASS, Some(Object::Table(t))) => {
                    format!("TABLE {}", qualified(t.namespace, &t.name))
                }
                (PG_CLASS, Some(Object::View(v))) => {
                    format!("VIEW {}", qualified(v.namespace, &v.name))
                }
                (PG_CLASS, Some(Object::Index(i))) => {
                    format!("INDEX {}", qualified(i.namespace, &i.name))
                }
                (PG_CLASS, Some(Object::Sequence(s))) => {
                    format!("SEQUENCE {}", qualified(s.namespace, &s.name))
                }
                (PG_TYPE, Some(Object::Type(t))) => {
                    format!("TYPE {}", qualified(t.namespace, &t.name))
                }
                (PG_NAMESPACE, _) => format!("SCHEMA {}", quote_ident(&ns_name(c.object))),
                _ => continue,
            };
            out.push_str(&format!(
                "COMMENT ON {target} IS {};\n\n",
                quote_literal(&c.text)
            ));
        }

        out.push_str("--\n-- NeuralDB database dump complete\n--\n");
        Ok(out)
    }

    /// Runs a plain SQL script (ours or pg_dump's) in one transaction: all
    /// of it or nothing. Statements are split as psql splits them; `COPY
    /// ... FROM stdin;` takes the lines after it up to `\.` as its data.
    /// Of psql's meta-commands, those pg_dump emits that mean nothing here
    /// (`\connect`, `\restrict`, `\unrestrict`) are skipped; others fail.
    /// The first statement that fails stops the restore with its error
    /// (and SQLSTATE), the message naming its line and its start.
    /// The session's settings are as before afterwards (a script's `SET
    /// search_path = ''` does not outlive it).
    pub fn restore(&mut self, sid: SessionId, script: &str) -> Result<RestoreSummary> {
        if self.txn_status(sid) != TxnStatus::Idle {
            return Err(sql_err(
                SqlState("25001"),
                "restore cannot run inside a transaction block",
            ));
        }
        let pieces = split_script(script)?;
        let saved = self.sessions.get(&sid).map(|s| s.settings.clone());
        self.execute(sid, "BEGIN", Vec::new())?;
        let mut summary = RestoreSummary::default();
        let mut failure = None;
        for piece in &pieces {
            match self.restore_piece(sid, piece) {
                Ok(rows) => {
                    summary.statements += 1;
                    summary.rows += rows;
                }
                Err(e) => {
                    failure = Some(at_statement(e, piece.line, &piece.sql));
                    break;
                }
            }
        }
        let end = match failure {
            Some(e) => {
                let _ = self.execute(sid, "ROLLBACK", Vec::new());
                Err(e)
            }
            // Deferred constraints are checked here.
            None => self
                .execute(sid, "COMMIT", Vec::new())
                .map(|_| summary)
                .map_err(|e| at_statement(e, script.lines().count(), "COMMIT")),
        };
        if let (Some(settings), Some(s)) = (saved, self.sessions.get_mut(&sid)) {
            s.settings = settings;
            self.settings_epoch += 1;
        }
        end
    }

    /// One statement of a script; the rows a COPY loaded.
    fn restore_piece(&mut self, sid: SessionId, piece: &Piece) -> Result<u64> {
        // Transaction control would break all-or-nothing.
        let first = piece
            .sql
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        if matches!(
            first.as_str(),
            "BEGIN" | "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "START"
        ) {
            return Err(sql_err(
                SqlState::FEATURE_NOT_SUPPORTED,
                "transaction control in a restored script is not supported (the restore is one transaction)",
            ));
        }
        let results = self.execute(sid, &piece.sql, Vec::new())?;
        let copy = results.iter().find_map(|r| match &r.copy {
            Some(CopyMode::In(c)) => Some(c.clone()),
            _ => None,
        });
        match (copy, &piece.data) {
            (Some(copy), Some(data)) => {
                let mut submitted = self.copy_in(sid, &copy, data.as_bytes());
                while matches!(submitted, Submitted::Parked) && self.runnable.contains(&sid) {
                    self.work();
                    if let Some(i) = self.completions.iter().position(|(s, _)| *s == sid) {
                        submitted = Submitted::Done(self.completions.remove(i).1);
                    }
                }
                match submitted {
                    Submitted::Done(o) => match o.error {
                        Some(e) => Err(e),
                        None => Ok(o.results.iter().map(|r| r.rows_affected).sum()),
                    },
                    Submitted::Parked => Err(sql_err(
                        SqlState::LOCK_NOT_AVAILABLE,
                        "COPY is waiting for a lock",
                    )),
                }
            }
            (Some(_), None) => Err(sql_err(
                SqlState::FEATURE_NOT_SUPPORTED,
                "COPY FROM STDIN in a script needs its data inline, ended by \\.",
            )),
            (None, _) => Ok(0),
        }
    }

    /// `ALTER SEQUENCE name OWNED BY {table.column | NONE}`: dropping the
    /// table (or the column) then drops the sequence.
    pub(super) fn alter_sequence_owned_by(
        &mut self,
        sid: SessionId,
        name: &ast::Name,
        owner: Option<&(ast::Name, String)>,
    ) -> Result<QueryResult> {
        let display = Self::display_name(name);
        let Some(entry) = self.lookup_name(sid, name)? else {
            self.check_schema_exists(sid, name)?;
            return Err(sql_err(
                SqlState::UNDEFINED_TABLE,
                format!("relation \"{display}\" does not exist"),
            ));
        };
        let Object::Sequence(seq) = &*entry.object else {
            return Err(sql_err(
                SqlState::WRONG_OBJECT_TYPE,
                format!("\"{display}\" is not a sequence"),
            ));
        };
        let owned_by = match owner {
            None => None,
            Some((table, column)) => {
                let tname = Self::display_name(table);
                let t = match self.lookup_name(sid, table)?.map(|e| e.object) {
                    Some(o) => match &*o {
                        Object::Table(t) => t.clone(),
                        _ => {
                            return Err(sql_err(
                                SqlState::WRONG_OBJECT_TYPE,
                                format!("sequence cannot be owned by relation \"{tname}\""),
                            ))
                        }
                    },
                    None => {
                        self.check_schema_exists(sid, table)?;
                        return Err(sql_err(
                            SqlState::UNDEFINED_TABLE,
                            format!("relation \"{tname}\" does not exist"),
                        ));
                    }
                };
                if t.namespace != seq.namespace {
                    return Err(sql_err(
                        SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
                        "sequence must be in same schema as table it is linked to",
                    ));
                }
                let Some(col) = t.column(column) else {
                    return Err(sql_err(
                        SqlState::UNDEFINED_COLUMN,
                        format!(
                            "column \"{column}\" of relation \"{}\" does not exist",
                            t.name
                        ),
                    ));
                };
                Some((t.oid, col))
            }
        };
        let mut seq = seq.clone();
        seq.owned_by = owned_by;
        let xid = self.write_xid(sid)?;
        let cid = self.current_cid(sid);
        self.catalog
            .replace(&mut self.pager, entry.tid, xid, cid, Object::Sequence(seq))?;
        Ok(QueryResult::tag("ALTER SEQUENCE"))
    }

    /// `ALTER kind name OWNER TO role`: one role owns everything, so this
    /// only checks that the object exists.
    pub(super) fn alter_owner(
        &mut self,
        sid: SessionId,
        kind: &str,
        name: &ast::Name,
    ) -> Result<QueryResult> {
        let display = Self::display_name(name);
        let exists = if kind == "SCHEMA" {
            self.with_names(sid, |n| Ok(n.schema(&display)?.is_some()))?
        } else {
            self.lookup_name(sid, name)?.is_some()
        };
        if !exists {
            if kind != "SCHEMA" {
                self.check_schema_exists(sid, name)?;
            }
            let (code, what) = match kind {
                "SCHEMA" => (super::schemas::INVALID_SCHEMA_NAME, "schema"),
                "TYPE" => (SqlState::UNDEFINED_OBJECT, "type"),
                "INDEX" | "SEQUENCE" | "VIEW" | "TABLE" => (SqlState::UNDEFINED_TABLE, "relation"),
                _ => (SqlState::UNDEFINED_OBJECT, "object"),
            };
            return Err(sql_err(
                code,
                format!("{what} \"{display}\" does not exist"),
            ));
        }
        Ok(QueryResult::tag(&format!("ALTER {kind}")))
    }
}

/// A column type as SQL: built-in types as `format_type` prints them,
/// enum types qualified with their schema.
fn type_sql(
    ty: &DataType,
    by_oid: &HashMap<Oid, &Object>,
    ns_name: &dyn Fn(Oid) -> String,
) -> String {
    match ty {
        DataType::Array(inner) => format!("{}[]", type_sql(inner, by_oid, ns_name)),
        DataType::Enum(e) => match by_oid.get(&e.oid) {
            Some(Object::Type(t)) => {
                format!(
                    "{}.{}",
                    quote_ident(&ns_name(t.namespace)),
                    quote_ident(&t.name)
                )
            }
            _ => ty.to_string(),
        },
        _ => ty.to_string(),
    }
}

/// One statement of a script: where it starts, its text and, for `COPY
/// ... FROM stdin`, its inline data.
#[derive(Debug, PartialEq)]
struct Piece {
    line: usize,
    sql: String,
    data: Option<String>,
}

/// `e` with the script position of the statement that raised it; the
/// SQLSTATE, detail and hint are kept.
fn at_statement(e: Error, line: usize, sql: &str) -> Error {
    let flat: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut snippet: String = flat.chars().take(80).collect();
    if flat.chars().count() > 80 {
        snippet.push_str("...");
    }
    let mut inner = match e {
        Error::Sql(s) => s,
        other => SqlError::new(other.sqlstate(), other.to_string()),
    };
    inner.message = format!(
        "{} (restore stopped at line {line}: {snippet})",
        inner.message
    );
    Error::Sql(inner)
}

/// The script's statements as psql reads them: `;` ends a statement
/// outside quotes (`'...'`, `E'...'` with backslash escapes, `"..."`,
/// `$tag$...$tag$`) and comments (`--`, nested `/* */`); a backslash at
/// the start of a statement is a meta-command running to the end of its
/// line; `COPY ... FROM stdin;` is followed by data lines up to `\.`.
fn split_script(script: &str) -> Result<Vec<Piece>> {
    let chars: Vec<char> = script.chars().collect();
    let mut pieces = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let n = chars.len();
    let at = |i: usize| chars.get(i).copied();
    loop {
        // Skip whitespace and comments between statements.
        loop {
            match (at(i), at(i + 1)) {
                (Some('\n'), _) => {
                    line += 1;
                    i += 1;
                }
                (Some(c), _) if c.is_whitespace() => i += 1,
                (Some('-'), Some('-')) => {
                    while i < n && chars[i] != '\n' {
                        i += 1;
                    }
                }
                (Some('/'), Some('*')) => {
                    let (next, lines) = skip_block_comment(&chars, i);
                    i = next;
                    line += lines;
                }
                _ => break,
            }
        }
        if i >= n {
            break;
        }
        let start_line = line;
        if chars[i] == '\\' {
            let end = chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(n, |p| i + p);
            let command: String = chars[i..end].iter().collect();
            let word = command.split_whitespace().next().unwrap_or("");
            if !matches!(word, "\\connect" | "\\c" | "\\restrict" | "\\unrestrict") {
                return Err(at_statement(
                    sql_err(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        format!("psql meta-command {word} is not supported"),
                    ),
                    start_line,
                    &command,
                ));
            }
            i = end;
            continue;
        }
        let start = i;
        let mut ended = false;
        while i < n {
            let c = chars[i];
            match c {
                ';' => {
                    i += 1;
                    ended = true;
                    break;
                }
                '\n' => {
                    line += 1;
                    i += 1;
                }
                '\'' => {
                    let escapes = i > 0
                        && matches!(chars[i - 1], 'e' | 'E')
                        && !(i > 1 && (chars[i - 2].is_alphanumeric() || chars[i - 2] == '_'));
                    i += 1;
                    while i < n {
                        match chars[i] {
                            '\\' if escapes => {
                                if chars.get(i + 1) == Some(&'\n') {
                                    line += 1;
                                }
                                i += 2;
                            }
                            '\'' if at(i + 1) == Some('\'') => i += 2,
                            '\'' => {
                                i += 1;
                                break;
                            }
                            ch => {
                                if ch == '\n' {
                                    line += 1;
                                }
                                i += 1;
                            }
                        }
                    }
                }
                '"' => {
                    i += 1;
                    while i < n && chars[i] != '"' {
                        if chars[i] == '\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                    i += 1;
                }
                '-' if at(i + 1) == Some('-') => {
                    while i < n && chars[i] != '\n' {
                        i += 1;
                    }
                }
                '/' if at(i + 1) == Some('*') => {
                    let (next, lines) = skip_block_comment(&chars, i);
                    i = next;
                    line += lines;
                }
                '$' if i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') => {
                    // $tag$ ... $tag$ (a tag is an identifier or empty).
                    let mut j = i + 1;
                    while j < n && (chars[j].is_alphanumeric() || chars[j] == '_') {
                        j += 1;
                    }
                    if at(j) == Some('$') && !chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
                        let tag: Vec<char> = chars[i..=j].to_vec();
                        i = j + 1;
                        while i < n && !chars[i..].starts_with(&tag) {
                            if chars[i] == '\n' {
                                line += 1;
                            }
                            i += 1;
                        }
                        i = (i + tag.len()).min(n);
                    } else {
                        i += 1;
                    }
                }
                _ => i += 1,
            }
        }
        let sql: String = chars[start..i.min(n)].iter().collect();
        if !ended && sql.trim().is_empty() {
            break;
        }
        let mut piece = Piece {
            line: start_line,
            sql,
            data: None,
        };
        if ended && is_copy_from_stdin(&piece.sql) {
            // The data starts on the next line and ends at a line `\.`.
            while i < n && chars[i] != '\n' {
                i += 1;
            }
            i = (i + 1).min(n);
            line += 1;
            let mut data = String::new();
            let mut terminated = false;
            while i < n {
                let end = chars[i..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(n, |p| i + p);
                let text: String = chars[i..end].iter().collect();
                i = (end + 1).min(n.max(end + 1));
                line += 1;
                if text.trim_end_matches('\r') == "\\." {
                    terminated = true;
                    break;
                }
                data.push_str(&text);
                data.push('\n');
            }
            if !terminated {
                return Err(at_statement(
                    sql_err(
                        SqlState::SYNTAX_ERROR,
                        "COPY data is not ended by a line \\.",
                    ),
                    start_line,
                    &piece.sql,
                ));
            }
            piece.data = Some(data);
        }
        pieces.push(piece);
    }
    Ok(pieces)
}

/// Past the `/* ... */` comment at `i` (nested, as PostgreSQL's): the
/// position after it and the newlines it spans.
fn skip_block_comment(chars: &[char], mut i: usize) -> (usize, usize) {
    let mut depth = 0;
    let mut lines = 0;
    while i < chars.len() {
        if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                break;
            }
        } else {
            if chars[i] == '\n' {
                lines += 1;
            }
            i += 1;
        }
    }
    (i, lines)
}

/// Whether a statement is `COPY ... FROM STDIN` (case and spacing as
/// they come).
fn is_copy_from_stdin(sql: &str) -> bool {
    let words: Vec<String> = sql
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    words.first().is_some_and(|w| w == "COPY")
        && words.windows(2).any(|w| w[0] == "FROM" && w[1] == "STDIN")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_as_psql_does() {
        let script = "-- c;\nSET a = 1;\n\\restrict abc\nSELECT 'x;''y', E'\\';', \"q;\", $f$ ; $f$;\n/* a; /* b; */ */\nCOPY t (a) FROM stdin;\n1\\t;\n\\.\nSELECT 2;\n";
        let pieces = split_script(script).expect("splits");
        let sql: Vec<&str> = pieces.iter().map(|p| p.sql.as_str()).collect();
        assert_eq!(
            sql,
            [
                "SET a = 1;",
                "SELECT 'x;''y', E'\\';', \"q;\", $f$ ; $f$;",
                "COPY t (a) FROM stdin;",
                "SELECT 2;"
            ]
        );
        assert_eq!(pieces[2].data.as_deref(), Some("1\\t;\n"));
        assert_eq!(
            pieces.iter().map(|p| p.line).collect::<Vec<_>>(),
            [2, 4, 6, 9]
        );
    }

    #[test]
    fn unknown_meta_command_and_unended_copy_fail() {
        assert!(split_script("\\i other.sql\n").is_err());
        assert!(split_script("COPY t FROM stdin;\n1\n").is_err());
    }
}
