//! Transaction ids and the commit log.

pub mod clog;
pub mod ids;
pub mod snapshot;

pub use clog::{Clog, XidStatus};
pub use ids::{SessionId, Xid, FIRST_NORMAL_XID, FROZEN_XID, INVALID_XID};
pub use snapshot::{Snapshot, Viewer};

use crate::pager::{PResult, Pager};
use crate::wal::Lsn;

/// Hands out transaction ids and records their outcome.
pub struct TxnManager {
    clog: Clog,
    next_xid: Xid,
}

impl TxnManager {
    pub fn open(pager: &mut Pager) -> PResult<TxnManager> {
        let next_xid = pager.next_xid()?.max(FIRST_NORMAL_XID);
        Ok(TxnManager {
            clog: Clog::open(pager, next_xid)?,
            next_xid,
        })
    }

    /// Assigns a new transaction id (persisted with the next WAL batch; any
    /// page change made under it is logged in the same or a later batch).
    pub fn assign_xid(&mut self, pager: &mut Pager) -> PResult<Xid> {
        let xid = self.next_xid;
        pager.set_next_xid(xid + 1)?;
        self.next_xid = xid + 1;
        Ok(xid)
    }

    pub fn next_xid(&self) -> Xid {
        self.next_xid
    }

    pub fn status(&self, pager: &mut Pager, xid: Xid) -> PResult<XidStatus> {
        self.clog.status(pager, xid)
    }

    /// Commits a transaction and its subtransactions `xids` atomically: their
    /// statuses change in one WAL batch. Returns once that batch is durable
    /// (or merely written, if `!durable`). On error the transaction is not
    /// committed and the caller must abort it.
    pub fn commit(&mut self, pager: &mut Pager, xids: &[Xid], durable: bool) -> PResult<Lsn> {
        // One WAL batch carries the transaction's remaining changes and its
        // status change: a single write (and a sync) per commit.
        for &x in xids {
            self.clog.set_status(pager, x, XidStatus::Committed)?;
        }
        match pager.commit(durable) {
            Ok(lsn) => Ok(lsn),
            Err(e) => {
                // The batch was not written (e.g. quota exceeded), or the
                // pager is poisoned: undo the status change in memory so
                // nobody sees a commit that may be lost.
                for &x in xids {
                    let _ = self.clog.set_status(pager, x, XidStatus::InProgress);
                }
                Err(e)
            }
        }
    }

    /// Marks `xids` aborted. Needs no flush: after a crash an unfinished
    /// transaction reads as aborted anyway.
    pub fn abort(&mut self, pager: &mut Pager, xids: &[Xid]) -> PResult<()> {
        for &x in xids {
            self.clog.set_status(pager, x, XidStatus::Aborted)?;
        }
        Ok(())
    }
}
