//! MVCC snapshots and tuple visibility (PostgreSQL's HeapTupleSatisfiesMVCC,
//! simplified: no hint bits, 64-bit xids, subtransactions as extra xids of
//! the owning transaction).

use std::collections::HashSet;

use super::{TxnManager, Xid, XidStatus, INVALID_XID};
use crate::heap::{flags, TupleHeader};
use crate::pager::{PResult, Pager};

/// What a statement may see: transactions that committed before the
/// snapshot was taken, plus the current transaction's own earlier commands.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Every xid at or above this had not started when the snapshot was taken.
    pub xmax: Xid,
    /// Xids that were running when the snapshot was taken (other sessions').
    pub in_progress: HashSet<Xid>,
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
    pub own: &'a HashSet<Xid>,
    pub cid: u32,
}

impl Viewer<'_> {
    /// Is this tuple version visible?
    pub fn visible(&self, txns: &TxnManager, pager: &mut Pager, h: &TupleHeader) -> PResult<bool> {
        let inserted_by_me = self.own.contains(&h.xmin);
        if inserted_by_me {
            // Rows inserted by this same statement (or a later one) are not
            // seen: no Halloween problem.
            if h.cmin >= self.cid {
                return Ok(false);
            }
        } else if !self.snapshot.sees_commit_of(txns, pager, h.xmin)? {
            return Ok(false);
        }
        if h.xmax == INVALID_XID || h.flags & flags::XMAX_LOCK_ONLY != 0 {
            return Ok(true);
        }
        if self.own.contains(&h.xmax) {
            // Deleted by us: still visible to commands that started before.
            return Ok(h.cmax >= self.cid);
        }
        Ok(!self.snapshot.sees_commit_of(txns, pager, h.xmax)?)
    }
}
