//! Two-phase commit: what PREPARE TRANSACTION makes durable so that a
//! prepared transaction survives its session and a restart, until COMMIT
//! PREPARED or ROLLBACK PREPARED ends it (PostgreSQL's `twophase.c`).
//!
//! Each prepared transaction is one row of a heap (root slot
//! `Root::TwoPhase`) whose payload is a [`PreparedRecord`] as JSON. The
//! row is written in the same WAL batch that makes the preparation
//! durable, and removed in the batch that records the outcome, so after a
//! crash the heap holds exactly the transactions still prepared. Their
//! xids stay "in progress" in the commit log (the clog is told to exempt
//! them from the crash horizon), and their locks are taken again from the
//! record.
//!
//! While prepared, a transaction is owned by a pseudo session
//! (`PREPARED_SESSION_BASE + n`) that never runs statements: other
//! sessions wait for it as for any lock holder, and are woken when it
//! ends.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ids::{SessionId, Xid, FROZEN_XID};
use super::locks::{LockMode, LockTag};
use super::rowlocks::{RowKey, RowLockMode};
use super::ssi::Target;
use crate::heap::{Heap, Tid, TupleHeader};
use crate::pager::{PResult, Pager, PagerError, Root};

/// PostgreSQL's limit on a transaction identifier (GIDSIZE - 1).
pub const MAX_GID_LEN: usize = 200;

/// Pseudo sessions of prepared transactions are numbered from here; real
/// sessions never reach it.
pub const PREPARED_SESSION_BASE: SessionId = 0xC000_0000;

/// Everything needed to finish a prepared transaction after a restart.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PreparedRecord {
    pub gid: String,
    /// The xids to commit (assigned and not rolled back), top first.
    pub live_xids: Vec<Xid>,
    /// Every xid it assigned (rolled-back subtransactions too): all are
    /// marked aborted by ROLLBACK PREPARED.
    pub all_xids: Vec<Xid>,
    /// When it was prepared, µs since 2000-01-01.
    pub prepared_at: i64,
    pub owner: String,
    pub database: String,
    pub read_only: bool,
    /// Relation and advisory locks held until it ends.
    pub locks: Vec<(LockTag, LockMode)>,
    /// Row-lock holds beyond those a tuple header names.
    pub row_locks: Vec<(RowKey, Xid, RowLockMode)>,
    /// SERIALIZABLE: its SIREAD locks (`None`: not tracked by SSI).
    pub siread: Option<Vec<Target>>,
}

/// A prepared transaction: its record and the pseudo session holding it.
pub struct Prepared {
    pub record: PreparedRecord,
    pub sid: SessionId,
    /// The virtual transaction id it had in its session (`pg_locks`
    /// keeps showing it, as PostgreSQL 15 does); `None` once restored
    /// after a restart, when PostgreSQL shows "-1/xid".
    pub origin_vxid: Option<String>,
    tid: Tid,
}

/// The prepared transactions, by gid.
pub struct TwoPhase {
    /// Created on the first PREPARE.
    heap: Option<Heap>,
    by_gid: BTreeMap<String, Prepared>,
    next_sid: SessionId,
}

impl TwoPhase {
    /// Loads the records of the transactions still prepared.
    pub fn open(pager: &mut Pager) -> PResult<TwoPhase> {
        let mut tp = TwoPhase {
            heap: None,
            by_gid: BTreeMap::new(),
            next_sid: PREPARED_SESSION_BASE,
        };
        let root = pager.root(Root::TwoPhase)?;
        if root == 0 {
            return Ok(tp);
        }
        let heap = Heap::open(root);
        let mut page_id = heap.first_page(pager)?;
        let mut seen = 0u32;
        while page_id != 0 {
            seen += 1;
            if seen > pager.page_count() {
                return Err(PagerError::corrupt(page_id, "cycle in the two-phase heap"));
            }
            let (tuples, next) = heap.scan_page(pager, page_id)?;
            for t in tuples {
                let record: PreparedRecord = serde_json::from_slice(&t.payload).map_err(|e| {
                    PagerError::corrupt(page_id, format!("bad prepared-transaction record: {e}"))
                })?;
                let sid = tp.next_sid;
                tp.next_sid += 1;
                tp.by_gid.insert(
                    record.gid.clone(),
                    Prepared {
                        record,
                        sid,
                        origin_vxid: None,
                        tid: t.tid,
                    },
                );
            }
            page_id = next;
        }
        tp.heap = Some(heap);
        Ok(tp)
    }

    pub fn get(&self, gid: &str) -> Option<&Prepared> {
        self.by_gid.get(gid)
    }

    pub fn len(&self) -> usize {
        self.by_gid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_gid.is_empty()
    }

    /// Every prepared transaction, by gid.
    pub fn all(&self) -> impl Iterator<Item = &Prepared> {
        self.by_gid.values()
    }

    /// Writes `record` (durable with the pager's next commit); returns the
    /// pseudo session that holds the transaction from now on. The caller
    /// checked that the gid is free.
    pub fn add(
        &mut self,
        pager: &mut Pager,
        record: PreparedRecord,
        origin_vxid: Option<String>,
    ) -> PResult<SessionId> {
        let payload = serde_json::to_vec(&record)
            .map_err(|e| PagerError::corrupt(0, format!("prepared-transaction record: {e}")))?;
        let heap = match &mut self.heap {
            Some(h) => h,
            None => {
                let h = Heap::create(pager)?;
                pager.set_root(Root::TwoPhase, h.meta_page())?;
                self.heap.insert(h)
            }
        };
        let tid = heap.insert(pager, TupleHeader::new(FROZEN_XID, 0), &payload)?;
        let sid = self.next_sid;
        self.next_sid += 1;
        self.by_gid.insert(
            record.gid.clone(),
            Prepared {
                record,
                sid,
                origin_vxid,
                tid,
            },
        );
        Ok(sid)
    }

    /// Removes `gid`'s record (durable with the pager's next commit).
    pub fn remove(&mut self, pager: &mut Pager, gid: &str) -> PResult<Option<Prepared>> {
        let Some(p) = self.by_gid.remove(gid) else {
            return Ok(None);
        };
        if let Some(heap) = &mut self.heap {
            heap.remove(pager, p.tid)?;
        }
        Ok(Some(p))
    }

    /// Puts back a record whose removal did not commit (the pager failed).
    pub fn restore(&mut self, p: Prepared) {
        self.by_gid.insert(p.record.gid.clone(), p);
    }
}
