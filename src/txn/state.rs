//! One open transaction: its isolation and access mode, its xids (the top
//! transaction's and its subtransactions'), savepoints, command counter
//! and snapshot.
//!
//! Invariants: `own` is exactly the xids of `xids` that are not rolled
//! back; `write_xid`, when set, is in `own` and belongs to the innermost
//! savepoint level; a savepoint's `xids_before` is at most `xids.len()`.

use super::ids::Xid;
use super::snapshot::Snapshot;
use super::TxnError;
use crate::heap::Tid;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsolationLevel {
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

struct Savepoint {
    name: String,
    /// `xids.len()` when it was taken: later xids are its subtransactions.
    xids_before: usize,
    write_xid_before: Option<Xid>,
    /// `async_actions.len()` when it was taken.
    actions_before: usize,
    /// `captured.len()` when it was taken.
    captured_before: usize,
}

/// A row change captured for the change feed (engine/changefeed.rs):
/// the relation's schema-qualified name, `INSERT` / `UPDATE` / `DELETE` /
/// `TRUNCATE`, and the row's key and new contents as jsonb objects (`Null`
/// where none).
#[derive(Clone, Debug, PartialEq)]
pub struct CapturedChange {
    pub relation: String,
    pub op: &'static str,
    pub key: crate::value::Value,
    pub row: crate::value::Value,
}

/// LISTEN, UNLISTEN and NOTIFY take effect when their transaction
/// commits (PostgreSQL's rule), so a transaction keeps them until then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AsyncAction {
    Listen(String),
    Unlisten(String),
    UnlistenAll,
    Notify { channel: String, payload: String },
}

pub struct TxnState {
    /// Inside BEGIN ... COMMIT (else an implicit, single-string one).
    pub explicit: bool,
    /// An error failed the block: only ROLLBACK (TO) is accepted (25P02).
    pub failed: bool,
    pub isolation: IsolationLevel,
    pub read_only: bool,
    own: crate::txn::XidSet,
    xids: Vec<Xid>,
    write_xid: Option<Xid>,
    /// Transaction snapshot (REPEATABLE READ), taken at the first statement.
    pub snapshot: Option<Snapshot>,
    /// A statement has taken a snapshot (SET TRANSACTION SNAPSHOT must
    /// come before that).
    pub snapshot_taken: bool,
    /// The snapshot of a statement that is waiting (parked): its target
    /// rows were found under it, so vacuum must keep what it sees.
    pub(super) parked_snapshot: Option<Snapshot>,
    /// Command id of the running statement.
    pub cid: u32,
    savepoints: Vec<Savepoint>,
    /// Wall-clock start, µs since 2000-01-01 (`now()`).
    pub start_time: i64,
    /// Rows whose DEFERRABLE INITIALLY DEFERRED foreign keys are checked at
    /// COMMIT: (table OID, TID of the new version).
    pub deferred_fk_rows: Vec<(u32, Tid)>,
    /// SERIALIZABLE, and tracked by SSI (a read-only one with a safe
    /// snapshot is not).
    pub ssi_tracked: bool,
    /// `DEFERRABLE`: a SERIALIZABLE READ ONLY one waits for a safe snapshot.
    pub deferrable: bool,
    /// SET CONSTRAINTS ALL: deferred (true) or immediate; `None`: each
    /// constraint's own initial mode.
    pub constraints_all: Option<bool>,
    /// SET CONSTRAINTS name: per constraint, overriding `constraints_all`.
    pub constraints_named: std::collections::HashMap<String, bool>,
    /// Rows whose deferred uniqueness is checked at COMMIT: (table OID,
    /// index OID, TID of the new version).
    pub deferred_unique: Vec<(u32, u32, Tid)>,
    /// LISTEN / UNLISTEN / NOTIFY, in order, applied at commit; ROLLBACK
    /// TO drops the ones made after the savepoint.
    pub async_actions: Vec<AsyncAction>,
    /// Relations this transaction changed (rows or definition), for the
    /// commit events live queries follow. A rolled-back savepoint's
    /// changes stay listed: reporting too much only re-runs a query.
    pub written: std::collections::BTreeSet<u32>,
    /// Row changes for the change feed, written to it at commit; ROLLBACK
    /// TO drops the ones made after the savepoint.
    pub captured: Vec<CapturedChange>,
    /// The snapshots of the transaction's open cursors, by the engine's
    /// cursor id: vacuum keeps every version they may still read. They
    /// go with the transaction, as its cursors do.
    pub cursor_snapshots: std::collections::BTreeMap<u64, Snapshot>,
}

impl TxnState {
    pub fn new(explicit: bool, isolation: IsolationLevel, start_time: i64) -> TxnState {
        TxnState {
            explicit,
            failed: false,
            isolation,
            read_only: false,
            own: Default::default(),
            xids: Vec::new(),
            write_xid: None,
            snapshot: None,
            snapshot_taken: false,
            parked_snapshot: None,
            cid: 0,
            savepoints: Vec::new(),
            start_time,
            deferred_fk_rows: Vec::new(),
            ssi_tracked: false,
            deferrable: false,
            constraints_all: None,
            constraints_named: std::collections::HashMap::new(),
            deferred_unique: Vec::new(),
            async_actions: Vec::new(),
            written: std::collections::BTreeSet::new(),
            captured: Vec::new(),
            cursor_snapshots: std::collections::BTreeMap::new(),
        }
    }

    /// A prepared transaction restored at open: `all` its xids, `live`
    /// those not rolled back.
    pub fn restored(all: &[Xid], live: &[Xid], read_only: bool, start_time: i64) -> TxnState {
        let mut t = TxnState::new(true, IsolationLevel::ReadCommitted, start_time);
        t.xids = all.to_vec();
        t.own = live.iter().copied().collect();
        t.write_xid = live.first().copied();
        t.read_only = read_only;
        t
    }

    /// Every xid of this transaction that is not rolled back: rows they
    /// wrote are this transaction's own.
    pub fn own(&self) -> &crate::txn::XidSet {
        &self.own
    }

    pub fn owns(&self, xid: Xid) -> bool {
        self.own.contains(&xid)
    }

    /// All assigned xids, in assignment order (rolled-back ones included).
    pub fn xids(&self) -> &[Xid] {
        &self.xids
    }

    /// The xid that `txid_current()` reports: the first one assigned.
    pub fn first_xid(&self) -> Option<Xid> {
        self.xids.first().copied()
    }

    /// The top-level xid as `pg_stat_activity.backend_xid` shows it: the
    /// first xid that is not rolled back.
    pub fn top_xid(&self) -> Option<Xid> {
        self.xids.iter().copied().find(|x| self.own.contains(x))
    }

    /// The xids to commit: assigned and not rolled back, in order.
    pub fn live_xids(&self) -> Vec<Xid> {
        self.xids
            .iter()
            .copied()
            .filter(|x| self.own.contains(x))
            .collect()
    }

    /// The xid new writes at the current savepoint level are stamped with.
    pub fn write_xid(&self) -> Option<Xid> {
        self.write_xid
    }

    pub(super) fn add_xid(&mut self, xid: Xid) {
        self.own.insert(xid);
        self.xids.push(xid);
        self.write_xid = Some(xid);
    }

    /// SAVEPOINT: later writes get a new xid (a subtransaction).
    pub fn savepoint(&mut self, name: String) {
        self.savepoints.push(Savepoint {
            name,
            xids_before: self.xids.len(),
            write_xid_before: self.write_xid,
            actions_before: self.async_actions.len(),
            captured_before: self.captured.len(),
        });
        self.write_xid = None;
    }

    /// RELEASE SAVEPOINT: the savepoint and the ones after it go; later
    /// writes belong to the enclosing level again.
    pub fn release(&mut self, name: &str) -> Result<(), TxnError> {
        let pos = self.savepoint_position(name)?;
        let sp = self.savepoints.drain(pos..).next().expect("pos is valid");
        self.write_xid = sp.write_xid_before.or(self.write_xid);
        Ok(())
    }

    /// ROLLBACK TO SAVEPOINT: the savepoint stays, the ones after it go,
    /// the block is no longer failed. Returns the xids rolled back (they
    /// are no longer the transaction's own).
    pub(super) fn rollback_to(&mut self, name: &str) -> Result<Vec<Xid>, TxnError> {
        let pos = self.savepoint_position(name)?;
        self.savepoints.truncate(pos + 1);
        self.async_actions
            .truncate(self.savepoints[pos].actions_before);
        self.captured.truncate(self.savepoints[pos].captured_before);
        let undone: Vec<Xid> = self.xids[self.savepoints[pos].xids_before..].to_vec();
        for x in &undone {
            self.own.remove(x);
        }
        self.write_xid = None;
        self.failed = false;
        Ok(undone)
    }

    /// Whether constraint `name` is checked at COMMIT in this transaction
    /// (SET CONSTRAINTS, else its own INITIALLY mode). Constraints that are
    /// not DEFERRABLE never are.
    pub fn constraint_deferred(
        &self,
        name: &str,
        deferrable: bool,
        initially_deferred: bool,
    ) -> bool {
        if !deferrable {
            return false;
        }
        if let Some(&d) = self.constraints_named.get(name) {
            return d;
        }
        self.constraints_all.unwrap_or(initially_deferred)
    }

    /// How many savepoints are open.
    pub fn savepoint_depth(&self) -> usize {
        self.savepoints.len()
    }

    /// Inside a SAVEPOINT (a subtransaction may be rolled back alone).
    pub fn has_savepoints(&self) -> bool {
        !self.savepoints.is_empty()
    }

    fn savepoint_position(&self, name: &str) -> Result<usize, TxnError> {
        self.savepoints
            .iter()
            .rposition(|s| s.name == name)
            .ok_or_else(|| TxnError::NoSuchSavepoint(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn savepoints_scope_xids() {
        let mut t = TxnState::new(true, IsolationLevel::ReadCommitted, 0);
        t.add_xid(10);
        t.savepoint("a".into());
        assert_eq!(t.write_xid(), None);
        t.add_xid(11);
        t.savepoint("b".into());
        t.add_xid(12);
        assert_eq!(t.rollback_to("a").expect("exists"), vec![11, 12]);
        assert_eq!(t.live_xids(), vec![10]);
        assert!(t.owns(10) && !t.owns(11));
        // "b" went with the rollback; "a" stays.
        assert!(matches!(t.release("b"), Err(TxnError::NoSuchSavepoint(_))));
        t.add_xid(13);
        t.release("a").expect("exists");
        // Writes after RELEASE belong to the enclosing level again.
        assert_eq!(t.write_xid(), Some(10));
        assert_eq!(t.top_xid(), Some(10));
        assert_eq!(t.first_xid(), Some(10));
    }
}
