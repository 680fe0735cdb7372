//! Snapshot functions: `pg_export_snapshot()` and SET TRANSACTION
//! SNAPSHOT (another session, or tab, reads exactly what the exporting
//! transaction reads), `pg_current_snapshot()` and the xid functions that
//! need the session.

use std::collections::HashMap;

use super::{sql_err, Engine, QueryResult, Result, SessionId};
use crate::error::SqlState;
use crate::txn::{IsolationLevel, Snapshot};

/// A snapshot exported by a transaction, importable while it runs.
pub(super) struct ExportedSnapshot {
    snapshot: Snapshot,
    owner: SessionId,
    /// The exporting transaction (the session's local transaction number).
    local_xact: u32,
    serializable: bool,
    read_only: bool,
    /// SSI's commit sequence number when the snapshot was taken.
    ssi_seq: u64,
}

/// Exported snapshots kept at once; PostgreSQL keeps one file each, with
/// no limit, but they all go when their transactions end.
const MAX_EXPORTED: usize = 10_000;

impl Engine {
    fn local_xact(&self, sid: SessionId) -> Option<u32> {
        self.sessions.get(&sid).map(|s| s.activity.local_xact)
    }

    /// Whether the transaction that exported `e` is still running.
    fn exporter_running(&self, e: &ExportedSnapshot) -> bool {
        self.txns.get(e.owner).is_some_and(|t| !t.failed)
            && self.local_xact(e.owner) == Some(e.local_xact)
    }

    /// Whether `sid`'s running transaction exported a snapshot.
    pub(super) fn has_exported_snapshots(&self, sid: SessionId) -> bool {
        self.exported_snapshots
            .values()
            .any(|e| e.owner == sid && self.exporter_running(e))
    }

    /// `pg_export_snapshot()`: the snapshot `sid`'s statement reads with
    /// (its transaction's, under REPEATABLE READ and SERIALIZABLE).
    pub(super) fn export_snapshot(
        &mut self,
        sid: SessionId,
        statement: &Snapshot,
    ) -> Result<String> {
        let t = self
            .txns
            .get(sid)
            .ok_or_else(|| sql_err(SqlState::INTERNAL_ERROR, "no transaction"))?;
        if t.has_savepoints() {
            return Err(sql_err(
                SqlState::ACTIVE_SQL_TRANSACTION,
                "cannot export a snapshot from a subtransaction",
            ));
        }
        let mut snapshot = t.snapshot.clone().unwrap_or_else(|| statement.clone());
        // The importer must not see what the exporter wrote and has not
        // committed (a snapshot leaves its own transaction's xids out).
        for x in t.live_xids() {
            if x < snapshot.xmax {
                snapshot.in_progress.insert(x);
            }
        }
        let (serializable, read_only) = (t.isolation == IsolationLevel::Serializable, t.read_only);
        let local_xact = self.local_xact(sid).unwrap_or(0);
        let ssi_seq = self.txns.ssi.snapshot_seq(sid);
        let stale: Vec<String> = self
            .exported_snapshots
            .iter()
            .filter(|(_, e)| !self.exporter_running(e))
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            self.exported_snapshots.remove(&k);
        }
        if self.exported_snapshots.len() >= MAX_EXPORTED {
            return Err(sql_err(SqlState("53200"), "too many exported snapshots"));
        }
        let n = 1 + self
            .exported_snapshots
            .values()
            .filter(|e| e.owner == sid)
            .count();
        // PostgreSQL's form: backend id, local transaction id, counter.
        let id = format!("{sid:08X}-{local_xact:08X}-{n}");
        self.exported_snapshots.insert(
            id.clone(),
            ExportedSnapshot {
                snapshot,
                owner: sid,
                local_xact,
                serializable,
                read_only,
                ssi_seq,
            },
        );
        Ok(id)
    }

    /// SET TRANSACTION SNAPSHOT `id`, with PostgreSQL's checks and errors.
    pub(super) fn import_snapshot(&mut self, sid: SessionId, id: &str) -> Result<QueryResult> {
        let t = self
            .txns
            .get(sid)
            .ok_or_else(|| sql_err(SqlState::INTERNAL_ERROR, "no transaction"))?;
        if !t.explicit {
            // PostgreSQL warns and goes on (with the implicit transaction).
            self.raise_notice(
                sid,
                crate::error::Notice::warning(
                    SqlState::NO_ACTIVE_SQL_TRANSACTION,
                    "SET TRANSACTION can only be used in transaction blocks",
                ),
            );
        }
        let t = self
            .txns
            .get(sid)
            .ok_or_else(|| sql_err(SqlState::INTERNAL_ERROR, "no transaction"))?;
        if t.snapshot_taken {
            return Err(sql_err(
                SqlState::ACTIVE_SQL_TRANSACTION,
                "SET TRANSACTION SNAPSHOT must be called before any query",
            ));
        }
        if !matches!(
            t.isolation,
            IsolationLevel::RepeatableRead | IsolationLevel::Serializable
        ) {
            return Err(sql_err(
                SqlState::FEATURE_NOT_SUPPORTED,
                "a snapshot-importing transaction must have isolation level SERIALIZABLE or REPEATABLE READ",
            ));
        }
        let invalid = || {
            sql_err(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("invalid snapshot identifier: \"{id}\""),
            )
        };
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(invalid());
        }
        let e = self.exported_snapshots.get(id).ok_or_else(invalid)?;
        if !self.exporter_running(e) {
            return Err(invalid());
        }
        if t.isolation == IsolationLevel::Serializable {
            if !e.serializable {
                return Err(sql_err(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "a serializable transaction cannot import a snapshot from a non-serializable transaction",
                ));
            }
            if e.read_only && !t.read_only {
                return Err(sql_err(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "a non-read-only serializable transaction cannot import a snapshot from a read-only transaction",
                ));
            }
        }
        let (snapshot, seq) = (e.snapshot.clone(), e.ssi_seq);
        self.txns.import_snapshot(sid, snapshot, seq);
        Ok(QueryResult::tag("SET"))
    }

    /// `pg_current_snapshot()` in PostgreSQL's text form
    /// `xmin:xmax:xip,...`. As in PostgreSQL, xmax is one past the latest
    /// finished xid (the running ones above it are not listed), and the
    /// session's own xids count towards xmin but are not listed.
    pub(super) fn snapshot_text(&self, sid: SessionId, s: &Snapshot) -> String {
        let own = self
            .txns
            .get(sid)
            .map(|t| t.live_xids())
            .unwrap_or_default();
        let mut xmax = s.xmax;
        while xmax > 1 && (s.in_progress.contains(&(xmax - 1)) || own.contains(&(xmax - 1))) {
            xmax -= 1;
        }
        let mut xip: Vec<u64> = s
            .in_progress
            .iter()
            .copied()
            .filter(|&x| x < xmax)
            .collect();
        xip.sort_unstable();
        let own_min = own.iter().copied().filter(|&x| x < xmax).min();
        let xmin = xip
            .first()
            .copied()
            .into_iter()
            .chain(own_min)
            .min()
            .unwrap_or(xmax);
        let list: Vec<String> = xip.iter().map(u64::to_string).collect();
        format!("{xmin}:{xmax}:{}", list.join(","))
    }
}

/// The engine's table of exported snapshots, by identifier.
pub(super) type ExportedSnapshots = HashMap<String, ExportedSnapshot>;
