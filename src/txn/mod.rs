//! Transactions: ids and the commit log, and the transaction manager that
//! owns every open transaction's state, the relation locks, the wait-for
//! graph and the snapshots still in use.
//!
//! A transaction belongs to a session (`SessionId`); the manager keys its
//! state by that owner rather than the session keeping it, so that state a
//! session does not hold (a prepared transaction) has a place to live.
//!
//! Nothing here calls back into the engine: ending a transaction returns
//! the sessions that waited for it, and the engine resumes them.

pub mod clog;
pub mod ids;
pub mod locks;
pub mod rowlocks;
pub mod snapshot;
pub mod ssi;
pub mod state;
pub mod twophase;
pub mod waits;

use crate::util::IdMap;

pub use clog::{Clog, XidStatus};
pub use ids::{SessionId, Xid, XidSet, FIRST_NORMAL_XID, FROZEN_XID, INVALID_XID};
pub use locks::{LockConflict, LockMode, LockScope, LockTable, LockTag, RelationId};
pub use rowlocks::{RowLockMode, RowLockers};
pub use snapshot::{Liveness, Snapshot, Viewer};
pub use state::{AsyncAction, CapturedChange, IsolationLevel, TxnState};
pub use waits::WaitGraph;

use crate::error::{Error, SqlError, SqlState};
use crate::pager::{PResult, Pager, PagerError};
use crate::wal::Lsn;

/// What can go wrong managing a transaction.
#[derive(Debug, thiserror::Error)]
pub enum TxnError {
    #[error(transparent)]
    Pager(#[from] PagerError),
    #[error("cannot execute this statement in a read-only transaction")]
    ReadOnly,
    #[error("savepoint \"{0}\" does not exist")]
    NoSuchSavepoint(String),
    #[error("session has no open transaction")]
    NoTransaction,
    #[error("could not serialize access due to read/write dependencies among transactions")]
    Serialization(ssi::SerializationFailure),
    #[error("transaction identifier \"{0}\" is too long")]
    GidTooLong(String),
    #[error("transaction identifier \"{0}\" is already in use")]
    GidInUse(String),
    #[error("maximum number of prepared transactions reached")]
    TooManyPrepared(usize),
    #[error("cannot PREPARE while holding both session-level and transaction-level locks on the same object")]
    MixedLockScopes,
    #[error("prepared transaction with identifier \"{0}\" does not exist")]
    NoSuchPrepared(String),
}

impl From<TxnError> for Error {
    fn from(e: TxnError) -> Self {
        let code = match &e {
            TxnError::Pager(_) => {
                let TxnError::Pager(p) = e else {
                    unreachable!("matched above")
                };
                return Error::Pager(p);
            }
            TxnError::ReadOnly => SqlState::READ_ONLY_SQL_TRANSACTION,
            TxnError::NoSuchSavepoint(_) => SqlState::INVALID_SAVEPOINT,
            TxnError::NoTransaction => SqlState::INTERNAL_ERROR,
            TxnError::Serialization(f) => {
                return Error::Sql(serialization_error(f));
            }
            TxnError::GidTooLong(_) => SqlState::INVALID_PARAMETER_VALUE,
            TxnError::GidInUse(_) => SqlState("42710"),
            TxnError::TooManyPrepared(max) => {
                return Error::Sql(SqlError::new(SqlState("53200"), e.to_string()).with_hint(
                    format!("Increase max_prepared_transactions (currently {max})."),
                ));
            }
            TxnError::MixedLockScopes => SqlState::FEATURE_NOT_SUPPORTED,
            TxnError::NoSuchPrepared(_) => SqlState::UNDEFINED_OBJECT,
        };
        Error::Sql(SqlError::new(code, e.to_string()))
    }
}

/// PostgreSQL's 40001 for a dangerous structure, with its reason code as
/// the detail and its hint.
pub fn serialization_error(f: &ssi::SerializationFailure) -> SqlError {
    SqlError::new(
        SqlState::SERIALIZATION_FAILURE,
        "could not serialize access due to read/write dependencies among transactions",
    )
    .with_detail(f.reason.clone())
    .with_hint("The transaction might succeed if retried.")
}

/// Hands out transaction ids, records their outcome, and owns the state of
/// every open transaction.
///
/// Invariants: `xid_owner` maps exactly the xids of open transactions that
/// are not rolled back to their owner (and those are the xids a snapshot
/// counts as in progress); a session in `waits` has an open transaction.
pub struct TxnManager {
    clog: Clog,
    next_xid: Xid,
    /// Each session's open transaction.
    active: IdMap<SessionId, TxnState>,
    xid_owner: IdMap<Xid, SessionId>,
    /// Relation and advisory locks. A `RefCell` because statements take
    /// advisory locks while they are evaluated, with only a shared view of
    /// the manager (the engine is single-threaded).
    locks: std::cell::RefCell<LockTable>,
    waits: WaitGraph,
    /// SERIALIZABLE transactions' SIREAD locks and rw-conflicts.
    pub ssi: ssi::Ssi,
    /// Row-lock holders beyond the one a tuple header names.
    pub rowlocks: RowLockers,
    /// Prepared transactions (two-phase commit).
    twophase: twophase::TwoPhase,
}

/// Who prepared a transaction, for `pg_prepared_xacts`.
pub struct PrepareInfo {
    pub gid: String,
    pub prepared_at: i64,
    pub owner: String,
    pub database: String,
    /// `max_prepared_transactions`.
    pub max_prepared: usize,
    /// Its virtual transaction id in its session.
    pub vxid: Option<String>,
}

impl TxnManager {
    pub fn open(pager: &mut Pager) -> PResult<TxnManager> {
        let next_xid = pager.next_xid()?.max(FIRST_NORMAL_XID);
        let mut m = TxnManager {
            clog: Clog::open(pager, next_xid)?,
            next_xid,
            active: IdMap::default(),
            xid_owner: IdMap::default(),
            locks: std::cell::RefCell::new(LockTable::default()),
            waits: WaitGraph::default(),
            ssi: ssi::Ssi::default(),
            rowlocks: RowLockers::default(),
            twophase: twophase::TwoPhase::open(pager)?,
        };
        m.restore_prepared();
        Ok(m)
    }

    /// Transactions that were prepared when the database was last open
    /// hold their xids, locks and SIREAD locks again, in their pseudo
    /// sessions.
    fn restore_prepared(&mut self) {
        let restored: Vec<(SessionId, twophase::PreparedRecord)> = self
            .twophase
            .all()
            .map(|p| (p.sid, p.record.clone()))
            .collect();
        for (sid, r) in restored {
            for &x in &r.live_xids {
                self.clog.keep_prepared(x);
                self.xid_owner.insert(x, sid);
            }
            let locks = self.locks.get_mut();
            for &(tag, mode) in &r.locks {
                // Only prepared transactions hold locks now, and theirs
                // were compatible when they were prepared.
                let _ = locks.acquire(sid, tag, mode, LockScope::Transaction);
            }
            for &(key, xid, mode) in &r.row_locks {
                // Fewer entries than the table's limit were held before.
                let _ = self.rowlocks.add(key, xid, mode);
            }
            if let Some(targets) = r.siread {
                self.ssi
                    .restore_prepared(sid, &r.live_xids, r.read_only, targets);
            }
            self.active.insert(
                sid,
                TxnState::restored(&r.all_xids, &r.live_xids, r.read_only, r.prepared_at),
            );
        }
    }

    // ---- two-phase commit ----------------------------------------------

    /// PREPARE TRANSACTION: makes `sid`'s transaction durable without
    /// committing it and hands it to a pseudo session, which holds its
    /// xids, locks and SIREAD locks until [`TxnManager::finish_prepared`].
    /// Returns the pseudo session and the sessions that waited for `sid`
    /// (the caller resumes them: they wait again, for the pseudo session).
    /// On error the transaction is untouched; the caller rolls it back.
    pub fn prepare(
        &mut self,
        pager: &mut Pager,
        sid: SessionId,
        info: PrepareInfo,
    ) -> Result<(SessionId, Vec<SessionId>), TxnError> {
        if info.gid.len() > twophase::MAX_GID_LEN {
            return Err(TxnError::GidTooLong(info.gid));
        }
        if self.twophase.get(&info.gid).is_some() {
            return Err(TxnError::GidInUse(info.gid));
        }
        if self.twophase.len() >= info.max_prepared {
            return Err(TxnError::TooManyPrepared(info.max_prepared));
        }
        if self.locks.get_mut().mixed_scopes(sid) {
            return Err(TxnError::MixedLockScopes);
        }
        if !self.active.contains_key(&sid) {
            return Err(TxnError::NoTransaction);
        }
        self.ssi.pre_commit(sid).map_err(TxnError::Serialization)?;
        // A prepared transaction always has an xid (pg_prepared_xacts
        // shows it), even one that wrote nothing.
        if self.active[&sid].xids().is_empty() {
            let xid = self.assign_xid(pager)?;
            self.xid_owner.insert(xid, sid);
            self.active
                .get_mut(&sid)
                .expect("checked above")
                .add_xid(xid);
            self.ssi.note_xid(sid, xid);
        }
        let t = &self.active[&sid];
        let record = twophase::PreparedRecord {
            gid: info.gid.clone(),
            live_xids: t.live_xids(),
            all_xids: t.xids().to_vec(),
            prepared_at: info.prepared_at,
            owner: info.owner,
            database: info.database,
            read_only: t.read_only,
            locks: self.locks.get_mut().xact_locks(sid),
            row_locks: self.rowlocks.of_xids(t.xids()),
            siread: self.ssi.locks_of(sid),
        };
        let pseudo = self.twophase.add(pager, record, info.vxid)?;
        if let Err(e) = pager.commit(true) {
            let _ = self.twophase.remove(pager, &info.gid);
            return Err(e.into());
        }
        let mut t = self.active.remove(&sid).expect("checked above");
        t.snapshot = None;
        t.parked_snapshot = None;
        t.explicit = true;
        for x in t.xids() {
            if self.xid_owner.get(x) == Some(&sid) {
                self.xid_owner.insert(*x, pseudo);
            }
        }
        self.active.insert(pseudo, t);
        self.locks.get_mut().transfer_xact(sid, pseudo);
        self.ssi.rebind(sid, pseudo);
        Ok((pseudo, self.waits.waiters_of(sid)))
    }

    /// COMMIT PREPARED (`commit`) or ROLLBACK PREPARED `gid`: records the
    /// outcome durably with the removal of its record, then releases what
    /// the transaction held. Returns its pseudo session and the sessions
    /// that waited for it, which the caller resumes.
    pub fn finish_prepared(
        &mut self,
        pager: &mut Pager,
        gid: &str,
        commit: bool,
    ) -> Result<(SessionId, Vec<SessionId>), TxnError> {
        let Some(p) = self.twophase.remove(pager, gid)? else {
            return Err(TxnError::NoSuchPrepared(gid.to_string()));
        };
        let pseudo = p.sid;
        let outcome = if commit {
            self.commit(pager, &p.record.live_xids, true).map(|_| ())
        } else {
            self.abort(pager, &p.record.all_xids)
                .and_then(|_| pager.commit(true).map(|_| ()))
        };
        if let Err(e) = outcome {
            self.twophase.restore(p);
            return Err(e.into());
        }
        self.locks.get_mut().release_all(pseudo);
        self.active.remove(&pseudo);
        for x in &p.record.all_xids {
            self.xid_owner.remove(x);
        }
        self.rowlocks.release(&p.record.all_xids);
        if commit {
            self.ssi.commit(pseudo);
        } else {
            self.ssi.abort(pseudo);
        }
        Ok((pseudo, self.waits.waiters_of(pseudo)))
    }

    /// The prepared transactions (for `pg_prepared_xacts`, `pg_locks`).
    pub fn prepared(&self) -> impl Iterator<Item = &twophase::Prepared> {
        self.twophase.all()
    }

    // ---- ids and the commit log ----------------------------------------

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

    // ---- open transactions ---------------------------------------------

    /// Starts a transaction for `sid` (replacing none: the caller checks).
    pub fn begin(&mut self, sid: SessionId, state: TxnState) {
        debug_assert!(
            !self.active.contains_key(&sid),
            "one transaction per session"
        );
        self.active.insert(sid, state);
    }

    pub fn get(&self, sid: SessionId) -> Option<&TxnState> {
        self.active.get(&sid)
    }

    pub fn get_mut(&mut self, sid: SessionId) -> Option<&mut TxnState> {
        self.active.get_mut(&sid)
    }

    /// The session whose open transaction wrote with `xid`.
    pub fn owner_of(&self, xid: Xid) -> Option<SessionId> {
        self.xid_owner.get(&xid).copied()
    }

    /// The xids of open transactions with their owners, in xid order.
    pub fn running_xids(&self) -> Vec<(Xid, SessionId)> {
        let mut out: Vec<(Xid, SessionId)> = self.xid_owner.iter().map(|(&x, &o)| (x, o)).collect();
        out.sort_unstable();
        out
    }

    /// The xid `sid`'s writes at its current savepoint level carry,
    /// assigning one first if needed.
    pub fn write_xid(&mut self, pager: &mut Pager, sid: SessionId) -> Result<Xid, TxnError> {
        let t = self.active.get(&sid).ok_or(TxnError::NoTransaction)?;
        if t.read_only {
            return Err(TxnError::ReadOnly);
        }
        if let Some(x) = t.write_xid() {
            return Ok(x);
        }
        let xid = self.assign_xid(pager)?;
        self.xid_owner.insert(xid, sid);
        self.active
            .get_mut(&sid)
            .expect("checked above")
            .add_xid(xid);
        self.ssi.note_xid(sid, xid);
        Ok(xid)
    }

    /// Ends `sid`'s transaction: commits it (`commit` and not failed; the
    /// WAL is synced if `sync`) or aborts it, releases its locks, and
    /// returns whether a commit record was written (the transaction wrote
    /// something) and the sessions that waited for it, which the caller
    /// resumes (see [`WaitGraph::waiters_of`]). A failed commit aborts the transaction and is returned as
    /// the error; the waiters are released either way.
    pub fn end(
        &mut self,
        pager: &mut Pager,
        sid: SessionId,
        commit: bool,
        sync: bool,
    ) -> (Result<bool, TxnError>, Vec<SessionId>) {
        // A serializable transaction that must not commit (a dangerous
        // structure) is rolled back instead.
        let ssi_refused = if commit && self.active.get(&sid).is_some_and(|t| !t.failed) {
            self.ssi.pre_commit(sid).err()
        } else {
            None
        };
        let commit = commit && ssi_refused.is_none();
        self.locks.get_mut().release_all(sid);
        let Some(t) = self.active.remove(&sid) else {
            self.ssi.abort(sid);
            return (Ok(false), Vec::new());
        };
        let live = t.live_xids();
        let result = if let Some(f) = ssi_refused {
            let _ = self.abort(pager, t.xids());
            Err(TxnError::Serialization(f))
        } else if live.is_empty() {
            Ok(false)
        } else if commit && !t.failed {
            match self.commit(pager, &live, sync) {
                Ok(_) => Ok(true),
                Err(e) => {
                    let _ = self.abort(pager, &live);
                    Err(TxnError::from(e))
                }
            }
        } else {
            self.abort(pager, t.xids())
                .map(|_| false)
                .map_err(TxnError::from)
        };
        for x in t.xids() {
            self.xid_owner.remove(x);
        }
        self.rowlocks.release(t.xids());
        if commit && !t.failed && result.is_ok() {
            self.ssi.commit(sid);
        } else {
            self.ssi.abort(sid);
        }
        (result, self.waits.waiters_of(sid))
    }

    /// An error failed `sid`'s transaction block. As in PostgreSQL the
    /// transaction is aborted at once (its xids, relation locks and
    /// snapshot go, and whoever waited for it may go on) while the block
    /// stays failed: every statement gets 25P02 until ROLLBACK. Inside a
    /// savepoint the transaction lives on (failed) until ROLLBACK TO.
    /// Returns the sessions that waited for it. Marking the xids aborted
    /// in the clog may fail (a poisoned pager); that is harmless, as the
    /// transaction can never commit and an unfinished one reads as
    /// aborted after a restart.
    pub fn fail_block(&mut self, pager: &mut Pager, sid: SessionId) -> Vec<SessionId> {
        let Some(t) = self.active.get_mut(&sid) else {
            return Vec::new();
        };
        t.failed = true;
        if t.has_savepoints() {
            return Vec::new();
        }
        let (isolation, read_only, start_time) = (t.isolation, t.read_only, t.start_time);
        let t = self.active.remove(&sid).expect("found above");
        self.locks.get_mut().release_all(sid);
        let _ = self.abort(pager, t.xids());
        for x in t.xids() {
            self.xid_owner.remove(x);
        }
        self.rowlocks.release(t.xids());
        self.ssi.abort(sid);
        let mut failed = TxnState::new(true, isolation, start_time);
        failed.failed = true;
        failed.read_only = read_only;
        self.active.insert(sid, failed);
        self.waits.waiters_of(sid)
    }

    /// ROLLBACK TO SAVEPOINT `name`: its subtransactions are aborted;
    /// returns the sessions that waited for this one (they may now go on).
    pub fn rollback_to(
        &mut self,
        pager: &mut Pager,
        sid: SessionId,
        name: &str,
    ) -> Result<Vec<SessionId>, TxnError> {
        let t = self.active.get_mut(&sid).ok_or(TxnError::NoTransaction)?;
        let undone = t.rollback_to(name)?;
        self.abort(pager, &undone)?;
        for x in &undone {
            self.xid_owner.remove(x);
        }
        self.rowlocks.release(&undone);
        Ok(self.waits.waiters_of(sid))
    }

    // ---- heavyweight locks ---------------------------------------------

    /// Takes `mode` on relation `rel` for `sid` until its transaction ends.
    pub fn lock_relation(
        &mut self,
        sid: SessionId,
        rel: RelationId,
        mode: LockMode,
    ) -> Result<(), LockConflict> {
        self.locks
            .get_mut()
            .acquire(sid, LockTag::Relation(rel), mode, LockScope::Transaction)
    }

    /// Takes `mode` on `tag` for `sid`, with a shared view of the manager
    /// (advisory lock functions evaluated by a statement).
    pub fn lock(
        &self,
        sid: SessionId,
        tag: LockTag,
        mode: LockMode,
        scope: LockScope,
    ) -> Result<(), LockConflict> {
        self.locks.borrow_mut().acquire(sid, tag, mode, scope)
    }

    /// `sid` waits for `mode` on `tag` (see [`LockTable::enqueue`]).
    pub fn enqueue_lock(&self, sid: SessionId, tag: LockTag, mode: LockMode) {
        self.locks.borrow_mut().enqueue(sid, tag, mode);
    }

    /// Releases one session-level hold (`pg_advisory_unlock`).
    pub fn unlock(&self, sid: SessionId, tag: LockTag, mode: LockMode) -> bool {
        self.locks.borrow_mut().release_session_lock(sid, tag, mode)
    }

    /// `pg_advisory_unlock_all`.
    pub fn unlock_all_session(&self, sid: SessionId) {
        self.locks.borrow_mut().release_session_locks(sid);
    }

    /// The lock table, for the engine's bookkeeping (queue, statements,
    /// sessions) and `pg_locks`.
    pub fn lock_table(&mut self) -> &mut LockTable {
        self.locks.get_mut()
    }

    /// The lock table, read-only.
    pub fn lock_table_view(&self) -> std::cell::Ref<'_, LockTable> {
        self.locks.borrow()
    }

    /// Whether some session holds a lock on `rel` that conflicts with `mode`.
    pub fn relation_lock_conflicts(&self, rel: RelationId, mode: LockMode) -> bool {
        self.locks.borrow().conflicts(LockTag::Relation(rel), mode)
    }

    /// The relation locks `sid` holds (strongest mode per relation).
    pub fn relation_locks(&self, sid: SessionId) -> Vec<(RelationId, LockMode)> {
        self.locks.borrow().held_by(sid)
    }

    // ---- waits ---------------------------------------------------------

    /// Parks `sid` behind `holder`'s transaction; `snapshot` is the waiting
    /// statement's, which vacuum respects until
    /// [`TxnManager::drop_parked_snapshot`] (the statement resumed or
    /// failed).
    pub fn park(&mut self, sid: SessionId, holder: SessionId, snapshot: Option<Snapshot>) {
        self.waits.wait(sid, holder);
        if let Some(t) = self.active.get_mut(&sid) {
            t.parked_snapshot = snapshot;
        }
    }

    /// The parked statement of `sid` resumed or failed: its snapshot no
    /// longer holds vacuum back.
    pub fn drop_parked_snapshot(&mut self, sid: SessionId) {
        if let Some(t) = self.active.get_mut(&sid) {
            t.parked_snapshot = None;
        }
    }

    /// `sid` stops waiting (woken, cancelled, timed out, disconnected);
    /// returns whether it was waiting. A lock request it queued stays
    /// queued while its statement may run again; see
    /// [`LockTable::dequeue`].
    pub fn stop_waiting(&mut self, sid: SessionId) -> bool {
        self.waits.stop_waiting(sid)
    }

    pub fn waiting_for(&self, sid: SessionId) -> Option<SessionId> {
        self.waits.waiting_for(sid)
    }

    /// The cycle `sid` waiting for `holder` would close (see
    /// [`WaitGraph::cycle`]).
    pub fn deadlock_cycle(&self, sid: SessionId, holder: SessionId) -> Option<Vec<SessionId>> {
        self.waits.cycle(sid, holder)
    }

    /// The sessions waiting for `holder` (see [`WaitGraph::waiters_of`]).
    pub fn waiters_of(&self, holder: SessionId) -> Vec<SessionId> {
        self.waits.waiters_of(holder)
    }

    /// The snapshot of `sid`'s parked statement, if it waits.
    pub fn parked_snapshot(&self, sid: SessionId) -> Option<&Snapshot> {
        self.active.get(&sid)?.parked_snapshot.as_ref()
    }

    // ---- snapshots -----------------------------------------------------

    /// Snapshots still in use: REPEATABLE READ transactions', those of
    /// waiting statements and of open cursors. A row version deleted by a transaction all of
    /// them see as committed is dead to everyone, now and later.
    pub fn live_snapshots(&self) -> Vec<Snapshot> {
        let mut out = Vec::new();
        for t in self.active.values() {
            out.extend(t.snapshot.iter().cloned());
            out.extend(t.parked_snapshot.iter().cloned());
            out.extend(t.cursor_snapshots.values().cloned());
        }
        out
    }
}
