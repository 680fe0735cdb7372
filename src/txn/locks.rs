//! The heavyweight lock table: PostgreSQL's eight lock modes and their
//! conflict table, on relations (held until the transaction ends) and on
//! advisory keys (held until the transaction or the session ends, with
//! re-entrant counts), with a FIFO queue of waiting requests so that a
//! waiting DDL is not starved by a stream of readers.
//!
//! Nothing here blocks: a request that conflicts returns who it must
//! wait for, and the engine parks the statement (invariant 5) and runs it
//! again when that session's transaction ends or its lock goes.

use crate::util::IdMap;

use super::ids::SessionId;

/// A relation's OID (`pg_class.oid`).
pub type RelationId = u32;

/// PostgreSQL's table-level lock modes, weakest first.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum LockMode {
    /// SELECT.
    AccessShare,
    /// SELECT ... FOR UPDATE / FOR SHARE.
    RowShare,
    /// INSERT, UPDATE, DELETE.
    RowExclusive,
    /// VACUUM (without FULL), CREATE INDEX CONCURRENTLY.
    ShareUpdateExclusive,
    /// CREATE INDEX.
    Share,
    ShareRowExclusive,
    Exclusive,
    /// DROP, TRUNCATE, most of ALTER TABLE.
    AccessExclusive,
}

impl LockMode {
    pub const ALL: [LockMode; 8] = [
        LockMode::AccessShare,
        LockMode::RowShare,
        LockMode::RowExclusive,
        LockMode::ShareUpdateExclusive,
        LockMode::Share,
        LockMode::ShareRowExclusive,
        LockMode::Exclusive,
        LockMode::AccessExclusive,
    ];

    fn bit(self) -> u8 {
        1 << self as u8
    }

    /// The modes this one conflicts with, as a bit set (PostgreSQL's
    /// "Conflicting Lock Modes" table).
    fn conflicts(self) -> u8 {
        use LockMode::*;
        let set = |modes: &[LockMode]| modes.iter().fold(0, |acc, m| acc | m.bit());
        match self {
            AccessShare => set(&[AccessExclusive]),
            RowShare => set(&[Exclusive, AccessExclusive]),
            RowExclusive => set(&[Share, ShareRowExclusive, Exclusive, AccessExclusive]),
            ShareUpdateExclusive => set(&[
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ]),
            Share => set(&[
                RowExclusive,
                ShareUpdateExclusive,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ]),
            ShareRowExclusive => set(&[
                RowExclusive,
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ]),
            Exclusive => set(&[
                RowShare,
                RowExclusive,
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ]),
            AccessExclusive => 0xFF,
        }
    }

    /// The name `pg_locks.mode` shows.
    pub fn name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShareLock",
            LockMode::RowShare => "RowShareLock",
            LockMode::RowExclusive => "RowExclusiveLock",
            LockMode::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            LockMode::Share => "ShareLock",
            LockMode::ShareRowExclusive => "ShareRowExclusiveLock",
            LockMode::Exclusive => "ExclusiveLock",
            LockMode::AccessExclusive => "AccessExclusiveLock",
        }
    }
}

/// A lock request that another session's lock (or an earlier waiting
/// request) blocks.
#[derive(Debug, PartialEq, Eq)]
pub struct LockConflict {
    pub holder: SessionId,
}

/// What can be locked.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum LockTag {
    Relation(RelationId),
    /// An advisory lock: `pg_advisory_lock(bigint)`'s key, or
    /// `pg_advisory_lock(int, int)`'s two keys (`pair`), as `pg_locks`
    /// tells them apart (objsubid 1 or 2).
    Advisory {
        key: i64,
        pair: bool,
    },
}

/// How long a lock is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockScope {
    /// Until the transaction ends.
    Transaction,
    /// Until released or the session ends (advisory locks).
    Session,
}

/// One session's hold on one tag.
#[derive(Clone, Debug, Default)]
struct Held {
    /// Modes held until the transaction ends.
    xact: u8,
    /// Session-level holds per mode (re-entrant counts).
    session: [u32; 8],
}

impl Held {
    fn modes(&self) -> u8 {
        let mut m = self.xact;
        for (i, &n) in self.session.iter().enumerate() {
            if n > 0 {
                m |= 1 << i;
            }
        }
        m
    }
}

/// Who holds which modes on which tag, and who waits.
///
/// Invariants: no two sessions hold conflicting modes on one tag; empty
/// entries are removed; a session has at most one queued request.
#[derive(Default)]
pub struct LockTable {
    held: IdMap<LockTag, IdMap<SessionId, Held>>,
    /// Waiting requests, oldest first.
    queue: Vec<(SessionId, LockTag, LockMode)>,
    /// Session-level holds taken by each session's running statement, so
    /// that a statement that must wait and runs again does not count them
    /// twice.
    journal: IdMap<SessionId, Vec<(LockTag, LockMode)>>,
    /// Sessions that released a session-level lock since last asked: the
    /// engine wakes whoever waits for them.
    released: Vec<SessionId>,
}

impl LockTable {
    /// Grants `mode` on `tag` to `sid` unless another session holds a
    /// conflicting mode, or (when `sid` holds nothing on `tag` yet) an
    /// earlier waiting request conflicts with it. Modes a session holds
    /// never conflict with its own requests.
    pub fn acquire(
        &mut self,
        sid: SessionId,
        tag: LockTag,
        mode: LockMode,
        scope: LockScope,
    ) -> Result<(), LockConflict> {
        let conflicts = mode.conflicts();
        if let Some(holders) = self.held.get(&tag) {
            let blocker = holders
                .iter()
                .filter(|(&other, h)| other != sid && h.modes() & conflicts != 0)
                .map(|(&other, _)| other)
                .min();
            if let Some(holder) = blocker {
                return Err(LockConflict { holder });
            }
        }
        let holds_some = self
            .held
            .get(&tag)
            .is_some_and(|h| h.get(&sid).is_some_and(|x| x.modes() != 0));
        if !holds_some {
            let ahead = self
                .queue
                .iter()
                .take_while(|(w, _, _)| *w != sid)
                .find(|(w, t, m)| *t == tag && *w != sid && m.conflicts() & mode.bit() != 0);
            if let Some(&(waiter, _, _)) = ahead {
                return Err(LockConflict { holder: waiter });
            }
        }
        self.queue.retain(|(w, t, _)| !(*w == sid && *t == tag));
        let h = self.held.entry(tag).or_default().entry(sid).or_default();
        match scope {
            LockScope::Transaction => h.xact |= mode.bit(),
            LockScope::Session => {
                h.session[mode as usize] += 1;
                self.journal.entry(sid).or_default().push((tag, mode));
            }
        }
        Ok(())
    }

    /// `sid` waits for `mode` on `tag` (after [`LockTable::acquire`]
    /// failed): later conflicting requests queue behind it.
    pub fn enqueue(&mut self, sid: SessionId, tag: LockTag, mode: LockMode) {
        if !self.queue.iter().any(|(w, t, _)| *w == sid && *t == tag) {
            self.queue.retain(|(w, _, _)| *w != sid);
            self.queue.push((sid, tag, mode));
        }
    }

    /// `sid` no longer waits (granted elsewhere, cancelled, timed out,
    /// failed, gone).
    pub fn dequeue(&mut self, sid: SessionId) {
        self.queue.retain(|(w, _, _)| *w != sid);
    }

    /// A statement of `sid` starts: its session-level holds so far are
    /// final.
    pub fn begin_statement(&mut self, sid: SessionId) {
        self.journal.remove(&sid);
    }

    /// The running statement of `sid` must wait and will run again: the
    /// session-level holds it took are given back.
    pub fn undo_statement(&mut self, sid: SessionId) {
        for (tag, mode) in self.journal.remove(&sid).unwrap_or_default() {
            self.release_one(sid, tag, mode);
        }
    }

    fn release_one(&mut self, sid: SessionId, tag: LockTag, mode: LockMode) -> bool {
        let Some(holders) = self.held.get_mut(&tag) else {
            return false;
        };
        let Some(h) = holders.get_mut(&sid) else {
            return false;
        };
        let n = &mut h.session[mode as usize];
        if *n == 0 {
            return false;
        }
        *n -= 1;
        if h.modes() == 0 {
            holders.remove(&sid);
            if holders.is_empty() {
                self.held.remove(&tag);
            }
        }
        true
    }

    /// Releases one session-level hold of `mode` on `tag`
    /// (`pg_advisory_unlock`); false if `sid` held none.
    pub fn release_session_lock(&mut self, sid: SessionId, tag: LockTag, mode: LockMode) -> bool {
        let released = self.release_one(sid, tag, mode);
        if released {
            self.released.push(sid);
        }
        released
    }

    /// The sessions that released session-level locks since the last call.
    pub fn take_released(&mut self) -> Vec<SessionId> {
        std::mem::take(&mut self.released)
    }

    /// Releases every session-level advisory hold of `sid`
    /// (`pg_advisory_unlock_all`).
    pub fn release_session_locks(&mut self, sid: SessionId) {
        self.released.push(sid);
        for holders in self.held.values_mut() {
            if let Some(h) = holders.get_mut(&sid) {
                h.session = [0; 8];
                if h.modes() == 0 {
                    holders.remove(&sid);
                }
            }
        }
        self.held.retain(|_, h| !h.is_empty());
    }

    /// Whether any session holds a mode on `tag` that conflicts with `mode`.
    pub fn conflicts(&self, tag: LockTag, mode: LockMode) -> bool {
        let conflicts = mode.conflicts();
        self.held
            .get(&tag)
            .is_some_and(|h| h.values().any(|x| x.modes() & conflicts != 0))
    }

    /// Releases the transaction-level locks of `sid` (its transaction
    /// ended).
    pub fn release_all(&mut self, sid: SessionId) {
        for holders in self.held.values_mut() {
            if let Some(h) = holders.get_mut(&sid) {
                h.xact = 0;
                if h.modes() == 0 {
                    holders.remove(&sid);
                }
            }
        }
        self.held.retain(|_, h| !h.is_empty());
    }

    /// The transaction-level locks `sid` holds (every mode), by tag.
    pub fn xact_locks(&self, sid: SessionId) -> Vec<(LockTag, LockMode)> {
        let mut out = Vec::new();
        for (&tag, holders) in &self.held {
            if let Some(h) = holders.get(&sid) {
                for m in LockMode::ALL {
                    if h.xact & m.bit() != 0 {
                        out.push((tag, m));
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// Whether `sid` holds a session-level and a transaction-level lock
    /// on one tag (PostgreSQL refuses to PREPARE then).
    pub fn mixed_scopes(&self, sid: SessionId) -> bool {
        self.held.values().any(|holders| {
            holders
                .get(&sid)
                .is_some_and(|h| h.xact != 0 && h.session.iter().any(|&n| n > 0))
        })
    }

    /// Hands `from`'s transaction-level locks to `to` (a prepared
    /// transaction's pseudo session); `from` keeps its session-level ones.
    pub fn transfer_xact(&mut self, from: SessionId, to: SessionId) {
        for holders in self.held.values_mut() {
            let Some(h) = holders.get_mut(&from) else {
                continue;
            };
            let bits = std::mem::take(&mut h.xact);
            if h.modes() == 0 {
                holders.remove(&from);
            }
            if bits != 0 {
                holders.entry(to).or_default().xact |= bits;
            }
        }
        self.held.retain(|_, h| !h.is_empty());
    }

    /// Everything of `sid`: its session ended.
    pub fn forget_session(&mut self, sid: SessionId) {
        self.release_all(sid);
        self.release_session_locks(sid);
        self.dequeue(sid);
        self.journal.remove(&sid);
    }

    /// The relations `sid` holds locks on, each with the strongest mode it
    /// holds there, by relation id.
    pub fn held_by(&self, sid: SessionId) -> Vec<(RelationId, LockMode)> {
        let mut out: Vec<(RelationId, LockMode)> = self
            .held
            .iter()
            .filter_map(|(&tag, holders)| {
                let LockTag::Relation(rel) = tag else {
                    return None;
                };
                let modes = holders.get(&sid)?.modes();
                let strongest = LockMode::ALL
                    .into_iter()
                    .rev()
                    .find(|m| modes & m.bit() != 0)?;
                Some((rel, strongest))
            })
            .collect();
        out.sort_unstable_by_key(|(rel, _)| *rel);
        out
    }

    /// Every granted (tag, session, mode), for `pg_locks`.
    pub fn granted(&self) -> Vec<(LockTag, SessionId, LockMode)> {
        let mut out = Vec::new();
        for (&tag, holders) in &self.held {
            for (&sid, h) in holders {
                let modes = h.modes();
                for m in LockMode::ALL {
                    if modes & m.bit() != 0 {
                        out.push((tag, sid, m));
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// The waiting requests, oldest first.
    pub fn waiting(&self) -> &[(SessionId, LockTag, LockMode)] {
        &self.queue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(
        locks: &mut LockTable,
        sid: SessionId,
        r: RelationId,
        m: LockMode,
    ) -> Result<(), LockConflict> {
        locks.acquire(sid, LockTag::Relation(r), m, LockScope::Transaction)
    }

    #[test]
    fn conflict_table_is_symmetric() {
        for a in LockMode::ALL {
            for b in LockMode::ALL {
                let ab = a.conflicts() & b.bit() != 0;
                let ba = b.conflicts() & a.bit() != 0;
                assert_eq!(ab, ba, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn readers_and_writers_share_ddl_excludes() {
        let mut locks = LockTable::default();
        assert_eq!(rel(&mut locks, 1, 10, LockMode::AccessShare), Ok(()));
        assert_eq!(rel(&mut locks, 2, 10, LockMode::RowExclusive), Ok(()));
        assert_eq!(
            rel(&mut locks, 3, 10, LockMode::AccessExclusive),
            Err(LockConflict { holder: 1 })
        );
        // A session's own locks never block it.
        assert_eq!(rel(&mut locks, 1, 20, LockMode::AccessExclusive), Ok(()));
        assert_eq!(rel(&mut locks, 1, 20, LockMode::AccessShare), Ok(()));
        assert_eq!(
            locks.held_by(1),
            vec![(10, LockMode::AccessShare), (20, LockMode::AccessExclusive)]
        );
        locks.release_all(1);
        locks.release_all(2);
        assert_eq!(rel(&mut locks, 3, 10, LockMode::AccessExclusive), Ok(()));
        assert!(locks.held_by(1).is_empty());
    }

    #[test]
    fn share_blocks_writers_but_not_readers() {
        let mut locks = LockTable::default();
        assert_eq!(rel(&mut locks, 1, 10, LockMode::Share), Ok(()));
        assert_eq!(rel(&mut locks, 2, 10, LockMode::AccessShare), Ok(()));
        assert_eq!(rel(&mut locks, 3, 10, LockMode::Share), Ok(()));
        assert_eq!(
            rel(&mut locks, 4, 10, LockMode::RowExclusive),
            Err(LockConflict { holder: 1 })
        );
    }

    /// A waiting DDL is not overtaken by a later reader.
    #[test]
    fn queued_request_goes_first() {
        let mut locks = LockTable::default();
        assert_eq!(rel(&mut locks, 1, 10, LockMode::AccessShare), Ok(()));
        assert_eq!(
            rel(&mut locks, 2, 10, LockMode::AccessExclusive),
            Err(LockConflict { holder: 1 })
        );
        locks.enqueue(2, LockTag::Relation(10), LockMode::AccessExclusive);
        assert_eq!(
            rel(&mut locks, 3, 10, LockMode::AccessShare),
            Err(LockConflict { holder: 2 })
        );
        // The holder itself may take more.
        assert_eq!(rel(&mut locks, 1, 10, LockMode::AccessShare), Ok(()));
        locks.release_all(1);
        assert_eq!(rel(&mut locks, 2, 10, LockMode::AccessExclusive), Ok(()));
        assert!(locks.waiting().is_empty());
    }

    /// Session-level advisory locks count, and a statement that waits
    /// gives back what it took.
    #[test]
    fn advisory_counts_and_statement_undo() {
        let mut locks = LockTable::default();
        let k = LockTag::Advisory {
            key: 7,
            pair: false,
        };
        let s = LockScope::Session;
        locks.begin_statement(1);
        locks.acquire(1, k, LockMode::Exclusive, s).expect("free");
        locks
            .acquire(1, k, LockMode::Exclusive, s)
            .expect("re-entrant");
        assert_eq!(
            locks.acquire(2, k, LockMode::Share, s),
            Err(LockConflict { holder: 1 })
        );
        assert!(locks.release_session_lock(1, k, LockMode::Exclusive));
        assert!(locks.conflicts(k, LockMode::Share));
        locks.undo_statement(1);
        assert!(!locks.conflicts(k, LockMode::Share));
        assert!(!locks.release_session_lock(1, k, LockMode::Exclusive));
        locks.acquire(2, k, LockMode::Share, s).expect("free again");
        locks.acquire(3, k, LockMode::Share, s).expect("shared");
        locks.forget_session(2);
        locks.forget_session(3);
        assert!(locks.granted().is_empty());
    }
}
