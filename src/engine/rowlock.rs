//! Taking row locks on tuple versions in PostgreSQL's four modes
//! (txn::rowlocks has the modes and the side table of extra holders).
//!
//! A version's holders are its header's `xmax` (an updater, a deleter or a
//! single locker) plus its side-table entries. A request conflicts with a
//! holder of another open transaction whose mode conflicts with it; a
//! committed updater means the version changed under the requester, except
//! that FOR KEY SHARE ignores an update that changed no key (as
//! PostgreSQL's heap_lock_tuple does), and then locks the newer versions
//! too, so that a later key update of them still waits for it.

use crate::error::{Error, SqlError, SqlState};
use crate::heap::{flags, Heap, Tid, TupleHeader};
use crate::txn::{RowLockMode, SessionId, Xid, XidStatus};

use super::{Engine, Result};

/// What a row-lock request finds on a version.
pub(super) enum RowLockCheck {
    /// It may be taken now.
    Free,
    /// Another open transaction (of this session) holds a conflicting mode.
    Busy(SessionId),
    /// A committed transaction updated or deleted the version (in a way
    /// that matters for the requested mode).
    Changed,
}

fn too_many_row_locks() -> Error {
    Error::Sql(
        SqlError::new(SqlState::OUT_OF_MEMORY, "out of shared memory")
            .with_hint("Too many rows are locked by more than one transaction at once."),
    )
}

impl Engine {
    fn owns_xid(&self, sid: SessionId, x: Xid) -> bool {
        self.txns.get(sid).is_some_and(|t| t.owns(x))
    }

    /// Whether `sid` may lock the version at `tid` (header `h`) of the
    /// heap `heap` in `mode`.
    pub(super) fn row_lock_check(
        &mut self,
        sid: SessionId,
        heap: &Heap,
        tid: Tid,
        h: &TupleHeader,
        mode: RowLockMode,
    ) -> Result<RowLockCheck> {
        let mut holders: Vec<(Xid, RowLockMode, bool)> = Vec::new();
        if h.xmax != 0 {
            holders.push((
                h.xmax,
                RowLockMode::from_flags(h.flags),
                h.flags & flags::XMAX_LOCK_ONLY != 0,
            ));
        }
        holders.extend(
            self.txns
                .rowlocks
                .holders(&(heap.meta_page(), tid))
                .iter()
                .map(|&(x, m)| (x, m, true)),
        );
        let mut busy = None;
        for (x, held, lock_only) in holders {
            if self.owns_xid(sid, x) {
                continue;
            }
            match self.txns.status(&mut self.pager, x)? {
                XidStatus::Aborted => {}
                XidStatus::Committed => {
                    if !lock_only && held.conflicts(mode) {
                        return Ok(RowLockCheck::Changed);
                    }
                }
                XidStatus::InProgress => {
                    if busy.is_none() && held.conflicts(mode) {
                        busy = self.txns.owner_of(x);
                    }
                }
            }
        }
        Ok(busy.map_or(RowLockCheck::Free, RowLockCheck::Busy))
    }

    /// Records `xid`'s lock in `mode` on the version at `tid` (header `h`),
    /// which [`Engine::row_lock_check`] found free: in the header when no
    /// other open transaction holds it there, else in the side table. For
    /// FOR KEY SHARE, the newer versions of a non-key update get it too.
    pub(super) fn take_row_lock(
        &mut self,
        sid: SessionId,
        xid: Xid,
        cid: u32,
        heap: &Heap,
        tid: Tid,
        mode: RowLockMode,
    ) -> Result<()> {
        let mut tid = tid;
        // Bounded: each step follows an update chain link.
        for _ in 0..10_000 {
            let Some(h) = heap.header(&mut self.pager, tid)? else {
                return Ok(());
            };
            self.lock_version(sid, xid, cid, heap, tid, &h, mode)?;
            let updated_by_other = h.xmax != 0
                && h.flags & flags::XMAX_LOCK_ONLY == 0
                && h.flags & flags::UPDATED != 0
                && h.ctid != tid
                && !self.owns_xid(sid, h.xmax);
            if mode != RowLockMode::KeyShare || !updated_by_other {
                return Ok(());
            }
            if self.txns.status(&mut self.pager, h.xmax)? == XidStatus::Aborted {
                return Ok(());
            }
            tid = h.ctid;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn lock_version(
        &mut self,
        sid: SessionId,
        xid: Xid,
        cid: u32,
        heap: &Heap,
        tid: Tid,
        h: &TupleHeader,
        mode: RowLockMode,
    ) -> Result<()> {
        let key = (heap.meta_page(), tid);
        let lock_only = h.flags & flags::XMAX_LOCK_ONLY != 0;
        if h.xmax != 0 && self.owns_xid(sid, h.xmax) {
            // Our own update or delete is the strongest claim there is.
            if !lock_only || RowLockMode::from_flags(h.flags) >= mode {
                return Ok(());
            }
            if h.xmax == xid {
                heap.update_header(&mut self.pager, tid, |h| {
                    h.flags = mode.with_flags(h.flags);
                })?;
                return Ok(());
            }
        }
        let held_aside = self
            .txns
            .rowlocks
            .holders(&key)
            .iter()
            .any(|&(x, m)| m >= mode && self.owns_xid(sid, x));
        if held_aside {
            return Ok(());
        }
        let header_taken = h.xmax != 0
            && (self.owns_xid(sid, h.xmax)
                || self.txns.status(&mut self.pager, h.xmax)? == XidStatus::InProgress
                || !lock_only);
        if header_taken {
            return self
                .txns
                .rowlocks
                .add(key, xid, mode)
                .map_err(|_| too_many_row_locks());
        }
        heap.update_header(&mut self.pager, tid, |h| {
            h.xmax = xid;
            h.cmax = cid;
            h.flags = mode.with_flags(
                (h.flags | flags::XMAX_LOCK_ONLY) & !(flags::UPDATED | flags::HOT_UPDATED),
            );
        })?;
        Ok(())
    }

    /// Marks the version at `tid` updated (to `new`, a heap-only version
    /// on the same page when `hot`) or deleted by `xid` holding `mode`. Lockers of other open transactions that the change
    /// does not conflict with (FOR KEY SHARE under a non-key update) keep
    /// their lock: the header's moves to the side table, and all of them
    /// carry over to the new version, as PostgreSQL's heap_update does.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn mark_replaced(
        &mut self,
        sid: SessionId,
        heap: &Heap,
        tid: Tid,
        xid: Xid,
        cid: u32,
        new: Option<Tid>,
        hot: bool,
        mode: RowLockMode,
    ) -> Result<()> {
        let Some(h) = heap.header(&mut self.pager, tid)? else {
            return Ok(());
        };
        let key = (heap.meta_page(), tid);
        let mut lockers: Vec<(Xid, RowLockMode)> = Vec::new();
        let mut candidates: Vec<(Xid, RowLockMode)> = self.txns.rowlocks.holders(&key).to_vec();
        let header_locker = (h.xmax != 0 && h.flags & flags::XMAX_LOCK_ONLY != 0)
            .then(|| (h.xmax, RowLockMode::from_flags(h.flags)));
        candidates.extend(header_locker);
        for (x, m) in candidates {
            if !self.owns_xid(sid, x)
                && self.txns.status(&mut self.pager, x)? == XidStatus::InProgress
                && !lockers.iter().any(|(y, _)| *y == x)
            {
                lockers.push((x, m));
            }
        }
        if let Some((x, m)) = header_locker {
            if lockers.iter().any(|(y, _)| *y == x) {
                self.txns
                    .rowlocks
                    .add(key, x, m)
                    .map_err(|_| too_many_row_locks())?;
            }
        }
        heap.update_header(&mut self.pager, tid, |h| {
            h.xmax = xid;
            h.cmax = cid;
            h.flags &= !(flags::XMAX_LOCK_ONLY | flags::UPDATED | flags::HOT_UPDATED);
            if let Some(n) = new {
                h.ctid = n;
                h.flags |= flags::UPDATED;
                if hot {
                    h.flags |= flags::HOT_UPDATED;
                }
            }
            h.flags = mode.with_flags(h.flags);
        })?;
        if let Some(n) = new {
            for (x, m) in lockers {
                self.txns
                    .rowlocks
                    .add((heap.meta_page(), n), x, m)
                    .map_err(|_| too_many_row_locks())?;
            }
        }
        Ok(())
    }
}

/// The row-lock mode of an UPDATE that assigns `assigned`: FOR UPDATE if
/// it may change a key column (one of a plain unique index, which a
/// foreign key can reference), else FOR NO KEY UPDATE, which lets
/// foreign-key checks (FOR KEY SHARE) on the row go on.
pub(super) fn update_lock_mode(
    indexes: &[std::rc::Rc<crate::catalog::IndexDef>],
    mut assigned: impl Iterator<Item = usize>,
) -> RowLockMode {
    let key = |c: usize| {
        indexes
            .iter()
            .any(|i| i.unique && i.is_plain() && i.columns.contains(&c))
    };
    if assigned.any(key) {
        RowLockMode::Update
    } else {
        RowLockMode::NoKeyUpdate
    }
}

/// The row-lock mode of `SELECT ... FOR <strength>`.
pub(super) fn clause_mode(s: crate::sql::parse::ast::LockStrength) -> RowLockMode {
    use crate::sql::parse::ast::LockStrength as S;
    match s {
        S::Update => RowLockMode::Update,
        S::NoKeyUpdate => RowLockMode::NoKeyUpdate,
        S::Share => RowLockMode::Share,
        S::KeyShare => RowLockMode::KeyShare,
    }
}
