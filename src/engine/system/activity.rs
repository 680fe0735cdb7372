//! Sessions, locks and settings: `pg_stat_activity`, `pg_locks`,
//! `pg_settings`.

use std::collections::HashMap;

use super::{
    oid, opt_i64, opt_text, text, timestamptz, Engine, Result, SessionId, Viewpoint,
    SERVER_VERSION, SUPERUSER_OID, USER_NAME,
};
use crate::catalog::Oid;
use crate::engine::DATABASE_OID;
use crate::txn::ssi::Target;
use crate::txn::{LockMode, LockTag, Snapshot, Xid};
use crate::value::Value;

pub(super) fn snapshot_xmin(s: &Snapshot) -> Xid {
    s.in_progress
        .iter()
        .copied()
        .min()
        .unwrap_or(s.xmax)
        .min(s.xmax)
}

impl Engine {
    /// The top-level xid of session `sid`'s transaction, if it has one:
    /// its first xid that is not rolled back.
    pub(super) fn top_xid(&self, sid: SessionId) -> Option<Xid> {
        self.txns.get(sid)?.top_xid()
    }

    pub(super) fn pg_stat_activity(&self, vp: &Viewpoint) -> Vec<Vec<Value>> {
        let mut rows = Vec::new();
        for sid in self.session_ids() {
            let s = &self.sessions[&sid];
            let txn = self.txns.get(sid);
            let waiting = self.txns.waiting_for(sid).is_some();
            // A session with a submitted string still running is active:
            // the one binding this statement, parked ones, and those whose
            // statement is in progress further up the call stack (e.g. a
            // COMMIT waking the session that reads this).
            let state = if s.pending.is_some() {
                "active"
            } else {
                match txn {
                    Some(t) if t.failed => "idle in transaction (aborted)",
                    Some(_) => "idle in transaction",
                    None => "idle",
                }
            };
            let xmin = if sid == vp.sid {
                Some(snapshot_xmin(vp.snapshot))
            } else {
                let parked = self.txns.parked_snapshot(sid);
                txn.and_then(|t| t.snapshot.as_ref())
                    .or(parked)
                    .map(snapshot_xmin)
            };
            let app = s.settings.other.get("application_name");
            rows.push(vec![
                oid(DATABASE_OID),
                text(&self.config.database_name),
                Value::Int4(sid as i32),
                Value::Null,
                Value::Int4(SUPERUSER_OID),
                text(USER_NAME),
                text(app.map_or("", |a| a.as_str())),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Timestamptz(s.activity.backend_start),
                timestamptz(txn.map(|t| t.start_time)),
                timestamptz(s.activity.query_start),
                Value::Timestamptz(s.activity.state_change),
                opt_text(waiting.then_some("Lock")),
                opt_text(waiting.then_some("transactionid")),
                text(state),
                opt_i64(self.top_xid(sid)),
                opt_i64(xmin),
                Value::Null,
                text(&s.activity.query),
                text("client backend"),
            ]);
        }
        rows
    }

    /// One row per CREATE INDEX that is between two of its slices (a
    /// build running on this thread is the statement reading this view).
    pub(super) fn pg_stat_progress_create_index(&self) -> Vec<Vec<Value>> {
        let mut rows = Vec::new();
        for sid in self.session_ids() {
            let s = &self.sessions[&sid];
            let Some(b) = s.pending.as_ref().and_then(|p| p.build.as_ref()) else {
                continue;
            };
            let p = &b.progress;
            rows.push(vec![
                Value::Int4(sid as i32),
                oid(DATABASE_OID),
                text(&self.config.database_name),
                oid(b.def.table),
                oid(b.def.oid),
                text(p.command),
                text(p.phase),
                Value::Int8(0),
                Value::Int8(0),
                Value::Int8(0),
                Value::Int8(0),
                Value::Int8(0),
                Value::Int8(p.tuples_total as i64),
                Value::Int8(p.tuples_done as i64),
                Value::Int8(0),
                Value::Int8(0),
            ]);
        }
        rows
    }

    pub(super) fn pg_locks(&self) -> Vec<Vec<Value>> {
        // Live xids by owner, in assignment order.
        let mut xids_of: HashMap<SessionId, Vec<Xid>> = HashMap::new();
        for (x, owner) in self.txns.running_xids() {
            xids_of.entry(owner).or_default().push(x);
        }
        let locks = self.txns.lock_table_view();
        let granted = locks.granted();
        let queued: Vec<(SessionId, LockTag, LockMode)> = locks.waiting().to_vec();
        drop(locks);
        let vxid_of = |sid: SessionId| {
            self.sessions
                .get(&sid)
                .map(|s| format!("{sid}/{}", s.activity.local_xact))
        };
        let mut rows = Vec::new();
        // One row in PostgreSQL's column order.
        let push = |rows: &mut Vec<Vec<Value>>, r: LockRow| {
            rows.push(vec![
                text(r.locktype),
                r.relation
                    .or(r.advisory.map(|_| 0))
                    .map_or(Value::Null, |_| oid(DATABASE_OID)),
                r.relation.map_or(Value::Null, oid),
                r.page.map_or(Value::Null, |p| Value::Int4(p as i32)),
                r.tuple.map_or(Value::Null, |t| Value::Int2(t as i16)),
                opt_text(r.virtualxid.as_deref()),
                opt_i64(r.xid),
                r.advisory
                    .map_or(Value::Null, |(c, _, _)| Value::Int4(c as i32)),
                r.advisory
                    .map_or(Value::Null, |(_, o, _)| Value::Int4(o as i32)),
                r.advisory
                    .map_or(Value::Null, |(_, _, sub)| Value::Int2(sub)),
                opt_text(r.vxid.as_deref()),
                r.pid.map_or(Value::Null, |p| Value::Int4(p as i32)),
                text(r.mode),
                Value::Bool(r.granted),
                Value::Bool(r.fastpath),
                timestamptz(r.waitstart),
            ]);
        };
        let tag_fields = |tag: LockTag| match tag {
            LockTag::Relation(rel) => ("relation", Some(rel), None),
            LockTag::Advisory { key, pair } => {
                // bigint keys: high and low halves, objsubid 1; (int,
                // int) keys: the two, objsubid 2.
                let (hi, lo) = ((key >> 32) as u32, key as u32);
                ("advisory", None, Some((hi, lo, if pair { 2 } else { 1 })))
            }
        };
        // A holder's xids (ExclusiveLock on each) and granted relation and
        // advisory locks.
        let push_held =
            |rows: &mut Vec<Vec<Value>>, holder: SessionId, mut xids: Vec<Xid>, base: &LockRow| {
                xids.sort_unstable();
                for x in xids {
                    push(
                        rows,
                        LockRow {
                            locktype: "transactionid",
                            xid: Some(x),
                            mode: "ExclusiveLock",
                            granted: true,
                            ..base.clone()
                        },
                    );
                }
                for (tag, _, mode) in granted.iter().filter(|(_, h, _)| *h == holder) {
                    let (locktype, relation, advisory) = tag_fields(*tag);
                    push(
                        rows,
                        LockRow {
                            locktype,
                            relation,
                            advisory,
                            mode: mode.name(),
                            granted: true,
                            ..base.clone()
                        },
                    );
                }
            };
        for sid in self.session_ids() {
            let s = &self.sessions[&sid];
            let vxid = vxid_of(sid);
            let base = LockRow {
                vxid: vxid.clone(),
                pid: Some(sid),
                ..LockRow::default()
            };
            // Every transaction holds its virtual xid.
            if let Some(t) = self.txns.get(sid) {
                push(
                    &mut rows,
                    LockRow {
                        locktype: "virtualxid",
                        virtualxid: vxid.clone(),
                        mode: "ExclusiveLock",
                        granted: true,
                        fastpath: true,
                        ..base.clone()
                    },
                );
                debug_assert!(xids_of.get(&sid).into_iter().flatten().all(|x| t.owns(*x)));
            }
            push_held(
                &mut rows,
                sid,
                xids_of.remove(&sid).unwrap_or_default(),
                &base,
            );
            if let Some(holder) = self.txns.waiting_for(sid) {
                match queued.iter().find(|(w, _, _)| *w == sid) {
                    // Waiting for a relation or advisory lock.
                    Some((_, tag, mode)) => {
                        let (locktype, relation, advisory) = tag_fields(*tag);
                        push(
                            &mut rows,
                            LockRow {
                                locktype,
                                relation,
                                advisory,
                                mode: mode.name(),
                                waitstart: s.activity.wait_start,
                                ..base.clone()
                            },
                        );
                    }
                    // A row-lock wait waits for the holder's transaction
                    // to end, as PostgreSQL's do (ShareLock on its xid).
                    None => push(
                        &mut rows,
                        LockRow {
                            locktype: "transactionid",
                            xid: self.top_xid(holder),
                            mode: "ShareLock",
                            waitstart: s.activity.wait_start,
                            ..base.clone()
                        },
                    ),
                }
            }
        }
        // Prepared transactions: no pid.
        for p in self.txns.prepared() {
            let base = LockRow {
                vxid: prepared_vxid(p),
                ..LockRow::default()
            };
            push_held(
                &mut rows,
                p.sid,
                xids_of.remove(&p.sid).unwrap_or_default(),
                &base,
            );
        }
        // SIREAD locks (kept after commit until overlapping transactions
        // end; those of finished transactions have no pid).
        for (target, owner, _) in self.txns.ssi.all_locks() {
            let (locktype, relation, page, tuple) = match target {
                Target::Relation(r) => ("relation", r, None, None),
                Target::Tuple(r, p, t) => ("tuple", r, Some(p), Some(t)),
                // A key range of an index: PostgreSQL locks index pages.
                Target::Range(r, ..) => ("page", r, None, None),
            };
            push(
                &mut rows,
                LockRow {
                    locktype,
                    relation: Some(relation),
                    page,
                    tuple,
                    vxid: owner.and_then(|o| {
                        vxid_of(o).or_else(|| {
                            self.txns
                                .prepared()
                                .find(|p| p.sid == o)
                                .and_then(prepared_vxid)
                        })
                    }),
                    pid: owner.filter(|o| self.sessions.contains_key(o)),
                    mode: "SIReadLock",
                    granted: true,
                    ..LockRow::default()
                },
            );
        }
        rows
    }

    pub(in crate::engine) fn pg_settings(&self, sid: SessionId) -> Result<Vec<Vec<Value>>> {
        // (name, context, vartype, boot value); the values come from SHOW.
        const KNOWN: &[(&str, &str, &str, &str)] = &[
            ("application_name", "user", "string", ""),
            ("client_encoding", "user", "string", "UTF8"),
            ("DateStyle", "user", "string", "ISO, MDY"),
            ("deadlock_timeout", "superuser", "integer", "1s"),
            ("default_table_access_method", "user", "string", "heap"),
            (
                "default_transaction_isolation",
                "user",
                "enum",
                "read committed",
            ),
            (
                "idle_in_transaction_session_timeout",
                "user",
                "integer",
                "0",
            ),
            ("hnsw.ef_search", "user", "integer", "40"),
            ("max_prepared_transactions", "postmaster", "integer", "64"),
            ("hnsw.iterative_scan", "user", "enum", "off"),
            ("hnsw.max_scan_tuples", "user", "integer", "20000"),
            ("integer_datetimes", "internal", "bool", "on"),
            ("lock_timeout", "user", "integer", "0"),
            ("maintenance_work_mem", "user", "integer", "64MB"),
            ("search_path", "user", "string", "\"$user\", public"),
            ("server_encoding", "internal", "string", "UTF8"),
            ("server_version", "internal", "string", SERVER_VERSION),
            ("server_version_num", "internal", "integer", "150000"),
            ("standard_conforming_strings", "user", "bool", "on"),
            ("statement_timeout", "user", "integer", "0"),
            ("synchronous_commit", "user", "enum", "on"),
            ("TimeZone", "user", "string", "UTC"),
            ("transaction_isolation", "user", "enum", "read committed"),
            ("transaction_timeout", "user", "integer", "0"),
            ("transaction_read_only", "user", "bool", "off"),
        ];
        let mut names: Vec<(String, &str, &str, &str)> = KNOWN
            .iter()
            .map(|&(n, c, t, b)| (n.to_string(), c, t, b))
            .collect();
        let others = self
            .sessions
            .get(&sid)
            .map(|s| s.settings.other.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        for n in others {
            if !names.iter().any(|(k, ..)| k.eq_ignore_ascii_case(&n)) {
                names.push((n, "user", "string", ""));
            }
        }
        names.sort_by_key(|(n, ..)| n.to_lowercase());
        let mut rows = Vec::new();
        for (name, context, vartype, boot) in names {
            let setting = self.show_variable(sid, &name)?;
            let source = if setting == boot {
                "default"
            } else {
                "session"
            };
            rows.push(vec![
                text(&name),
                text(&setting),
                Value::Null,
                text(context),
                text(vartype),
                text(source),
                text(boot),
                text(boot),
                Value::Bool(false),
            ]);
        }
        Ok(rows)
    }
}

/// A prepared transaction's virtual transaction id in `pg_locks`.
fn prepared_vxid(p: &crate::txn::twophase::Prepared) -> Option<String> {
    p.origin_vxid
        .clone()
        .or_else(|| p.record.live_xids.first().map(|x| format!("-1/{x}")))
}

/// One `pg_locks` row's values (absent ones are NULL).
#[derive(Clone, Default)]
struct LockRow {
    locktype: &'static str,
    relation: Option<Oid>,
    page: Option<u32>,
    tuple: Option<u16>,
    virtualxid: Option<String>,
    xid: Option<Xid>,
    /// classid, objid, objsubid of an advisory lock.
    advisory: Option<(u32, u32, i16)>,
    vxid: Option<String>,
    pid: Option<SessionId>,
    mode: &'static str,
    granted: bool,
    fastpath: bool,
    waitstart: Option<i64>,
}
