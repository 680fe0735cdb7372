//! MVCC snapshots and tuple visibility (PostgreSQL's HeapTupleSatisfiesMVCC,
//! simplified: no hint bits, 64-bit xids, subtransactions as extra xids of
//! the owning transaction).

use super::ids::{SessionId, Xid, INVALID_XID};
use super::{TxnManager, XidStatus};
use crate::heap::{flags, TupleHeader};
use crate::pager::{PResult, Pager};

/// What a statement may see: transactions that committed before the
/// snapshot was taken, plus the current transaction's own earlier commands.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Every xid at or above this had not started when the snapshot was taken.
    pub xmax: Xid,
    /// Xids that were running when the snapshot was taken (other sessions').
    pub in_progress: crate::txn::XidSet,
}

impl Snapshot {
    /// True if `xid` committed before this snapshot was taken.
    pub fn sees_commit_of(&self, txns: &TxnManager, pager: &mut Pager, xid: Xid) -> PResult<bool> {
        if xid == INVALID_XID || xid >= self.xmax || self.in_progress.contains(&xid) {
            return Ok(false);
        }
        Ok(txns.status(pager, xid)? == XidStatus::Committed)
    }
}

/// The viewing transaction: its own (non-aborted) xids and the command id
/// of the running statement.
pub struct Viewer<'a> {
    pub snapshot: &'a Snapshot,
    pub own: &'a crate::txn::XidSet,
    pub cid: u32,
}

impl Viewer<'_> {
    /// Is this tuple version visible?
    pub fn visible(&self, txns: &TxnManager, pager: &mut Pager, h: &TupleHeader) -> PResult<bool> {
        self.visible_with(h, |xid| self.snapshot.sees_commit_of(txns, pager, xid))
    }

    /// [`Viewer::visible`], asking `sees_commit` whether the snapshot sees
    /// another transaction's commit (a scan remembers the answer for the
    /// xid it last asked about: a page's rows mostly share theirs).
    pub fn visible_with(
        &self,
        h: &TupleHeader,
        mut sees_commit: impl FnMut(Xid) -> PResult<bool>,
    ) -> PResult<bool> {
        let inserted_by_me = self.own.contains(&h.xmin);
        if inserted_by_me {
            // Rows inserted by this same statement (or a later one) are not
            // seen: no Halloween problem.
            if h.cmin >= self.cid {
                return Ok(false);
            }
        } else if !sees_commit(h.xmin)? {
            return Ok(false);
        }
        if h.xmax == INVALID_XID || h.flags & flags::XMAX_LOCK_ONLY != 0 {
            return Ok(true);
        }
        if self.own.contains(&h.xmax) {
            // Deleted by us: still visible to commands that started before.
            return Ok(h.cmax >= self.cid);
        }
        Ok(!sees_commit(h.xmax)?)
    }
}

/// How a row version counts for a uniqueness or foreign-key check, which
/// looks at other transactions' uncommitted work too (a "dirty" look, as
/// PostgreSQL's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    Dead,
    Live,
    /// Inserted or deleted by this open transaction of another session:
    /// the checker waits for it.
    InFlux(SessionId),
}

impl TxnManager {
    /// A fresh snapshot for `sid`: everything committed so far, minus the
    /// open transactions of other sessions.
    pub fn snapshot(&self, sid: SessionId) -> Snapshot {
        Snapshot {
            xmax: self.next_xid,
            in_progress: self
                .xid_owner
                .iter()
                .filter(|(_, owner)| **owner != sid)
                .map(|(x, _)| *x)
                .collect(),
        }
    }

    /// The snapshot a statement of `sid` reads with: the transaction's
    /// (REPEATABLE READ and SERIALIZABLE, taken at its first statement) or
    /// a fresh one. A SERIALIZABLE transaction's tracking starts with its
    /// snapshot.
    pub fn statement_snapshot(&mut self, sid: SessionId) -> Snapshot {
        use super::IsolationLevel as L;
        let fresh = self.snapshot(sid);
        let Some(t) = self.active.get_mut(&sid) else {
            return fresh;
        };
        t.snapshot_taken = true;
        match t.isolation {
            L::RepeatableRead => t.snapshot.get_or_insert(fresh).clone(),
            L::Serializable => {
                if t.snapshot.is_none() {
                    let read_only = t.read_only;
                    t.snapshot = Some(fresh);
                    t.ssi_tracked = self.ssi.begin(sid, read_only);
                }
                self.active[&sid].snapshot.clone().unwrap_or_default()
            }
            _ => fresh,
        }
    }

    /// SET TRANSACTION SNAPSHOT: `sid`'s transaction (REPEATABLE READ or
    /// SERIALIZABLE, no snapshot yet) reads with `snapshot`, taken when
    /// the commit sequence number was `ssi_seq`.
    pub fn import_snapshot(&mut self, sid: SessionId, snapshot: Snapshot, ssi_seq: u64) {
        let Some(t) = self.active.get_mut(&sid) else {
            return;
        };
        t.snapshot = Some(snapshot);
        t.snapshot_taken = true;
        if t.isolation == super::IsolationLevel::Serializable {
            let read_only = t.read_only;
            t.ssi_tracked = self.ssi.begin_at(sid, read_only, ssi_seq);
        }
    }

    /// For SSI: the xid of a concurrent transaction whose change to this
    /// version the snapshot does not see — an insert it cannot see yet,
    /// or a delete or update of a version it sees (PostgreSQL's
    /// HeapCheckForSerializableConflictOut). Aborted changes do not count.
    pub fn concurrent_writer(
        &self,
        pager: &mut Pager,
        viewer: &Viewer,
        h: &TupleHeader,
    ) -> PResult<Option<Xid>> {
        let concurrent = |pager: &mut Pager, x: Xid| -> PResult<bool> {
            if x == INVALID_XID || viewer.own.contains(&x) {
                return Ok(false);
            }
            if viewer.snapshot.sees_commit_of(self, pager, x)? {
                return Ok(false);
            }
            Ok(self.status(pager, x)? != XidStatus::Aborted)
        };
        if !viewer.own.contains(&h.xmin) {
            if concurrent(pager, h.xmin)? {
                return Ok(Some(h.xmin));
            }
            if !viewer.snapshot.sees_commit_of(self, pager, h.xmin)? {
                // An aborted insert: nothing to depend on.
                return Ok(None);
            }
        }
        if h.xmax != INVALID_XID
            && h.flags & flags::XMAX_LOCK_ONLY == 0
            && concurrent(pager, h.xmax)?
        {
            return Ok(Some(h.xmax));
        }
        Ok(None)
    }

    /// Whether the version with header `h` counts for `sid`'s uniqueness
    /// and foreign-key checks.
    pub fn row_liveness(
        &self,
        pager: &mut Pager,
        sid: SessionId,
        h: &TupleHeader,
    ) -> PResult<Liveness> {
        let own = |x: Xid| self.active.get(&sid).is_some_and(|t| t.owns(x));
        if !own(h.xmin) {
            match self.status(pager, h.xmin)? {
                XidStatus::Aborted => return Ok(Liveness::Dead),
                XidStatus::Committed => {}
                XidStatus::InProgress => {
                    return Ok(match self.owner_of(h.xmin) {
                        Some(owner) => Liveness::InFlux(owner),
                        None => Liveness::Dead,
                    })
                }
            }
        }
        if h.xmax == 0 || h.flags & flags::XMAX_LOCK_ONLY != 0 {
            return Ok(Liveness::Live);
        }
        if own(h.xmax) {
            return Ok(Liveness::Dead);
        }
        Ok(match self.status(pager, h.xmax)? {
            XidStatus::Committed => Liveness::Dead,
            XidStatus::Aborted => Liveness::Live,
            XidStatus::InProgress => match self.owner_of(h.xmax) {
                Some(owner) => Liveness::InFlux(owner),
                None => Liveness::Live,
            },
        })
    }

    /// Can no transaction, now or later, see this version?
    pub fn dead_to_all(
        &self,
        pager: &mut Pager,
        h: &TupleHeader,
        snapshots: &[Snapshot],
    ) -> PResult<bool> {
        match self.status(pager, h.xmin)? {
            XidStatus::Aborted => return Ok(true),
            XidStatus::InProgress => return Ok(false),
            XidStatus::Committed => {}
        }
        if h.xmax == 0 || h.flags & flags::XMAX_LOCK_ONLY != 0 {
            return Ok(false);
        }
        if self.status(pager, h.xmax)? != XidStatus::Committed {
            return Ok(false);
        }
        for snap in snapshots {
            if !snap.sees_commit_of(self, pager, h.xmax)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
