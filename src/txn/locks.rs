//! Relation locks: PostgreSQL's eight table-level lock modes and their
//! conflict table, held by sessions until their transaction ends.
//!
//! There is no wait queue yet: a request that conflicts with another
//! session's lock fails at once and the caller reports 55P03. Advisory
//! locks will join this table as a second kind of lockable object.

use std::collections::HashMap;

use super::ids::SessionId;

/// A relation's OID (`pg_class.oid`).
pub type RelationId = u32;

/// PostgreSQL's table-level lock modes, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
    const ALL: [LockMode; 8] = [
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

/// A lock request that another session's lock blocks.
#[derive(Debug, PartialEq, Eq)]
pub struct LockConflict {
    pub holder: SessionId,
}

/// Who holds which modes on which relation. Invariant: no two sessions
/// hold conflicting modes on one relation; empty entries are removed.
#[derive(Default)]
pub struct RelationLocks {
    /// relation -> session -> bit set of held modes.
    held: HashMap<RelationId, HashMap<SessionId, u8>>,
}

impl RelationLocks {
    /// Grants `mode` on `rel` to `sid` unless another session holds a
    /// conflicting mode. Modes a session already holds never conflict with
    /// its own requests.
    pub fn acquire(
        &mut self,
        sid: SessionId,
        rel: RelationId,
        mode: LockMode,
    ) -> Result<(), LockConflict> {
        let holders = self.held.entry(rel).or_default();
        let conflicts = mode.conflicts();
        let blocker = holders
            .iter()
            .filter(|(&other, &modes)| other != sid && modes & conflicts != 0)
            .map(|(&other, _)| other)
            .min();
        if let Some(holder) = blocker {
            if holders.is_empty() {
                self.held.remove(&rel);
            }
            return Err(LockConflict { holder });
        }
        *holders.entry(sid).or_default() |= mode.bit();
        Ok(())
    }

    /// Whether any session holds a mode on `rel` that conflicts with `mode`.
    pub fn conflicts(&self, rel: RelationId, mode: LockMode) -> bool {
        let conflicts = mode.conflicts();
        self.held
            .get(&rel)
            .is_some_and(|h| h.values().any(|&modes| modes & conflicts != 0))
    }

    /// Releases every lock of `sid` (its transaction ended).
    pub fn release_all(&mut self, sid: SessionId) {
        for holders in self.held.values_mut() {
            holders.remove(&sid);
        }
        self.held.retain(|_, h| !h.is_empty());
    }

    /// The relations `sid` holds locks on, each with the strongest mode it
    /// holds there, by relation id.
    pub fn held_by(&self, sid: SessionId) -> Vec<(RelationId, LockMode)> {
        let mut out: Vec<(RelationId, LockMode)> = self
            .held
            .iter()
            .filter_map(|(&rel, holders)| {
                let modes = *holders.get(&sid)?;
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut locks = RelationLocks::default();
        assert_eq!(locks.acquire(1, 10, LockMode::AccessShare), Ok(()));
        assert_eq!(locks.acquire(2, 10, LockMode::RowExclusive), Ok(()));
        assert_eq!(
            locks.acquire(3, 10, LockMode::AccessExclusive),
            Err(LockConflict { holder: 1 })
        );
        // A session's own locks never block it.
        assert_eq!(locks.acquire(1, 20, LockMode::AccessExclusive), Ok(()));
        assert_eq!(locks.acquire(1, 20, LockMode::AccessShare), Ok(()));
        assert_eq!(
            locks.held_by(1),
            vec![(10, LockMode::AccessShare), (20, LockMode::AccessExclusive)]
        );
        locks.release_all(1);
        locks.release_all(2);
        assert_eq!(locks.acquire(3, 10, LockMode::AccessExclusive), Ok(()));
        assert!(locks.held_by(1).is_empty());
    }

    #[test]
    fn share_blocks_writers_but_not_readers() {
        let mut locks = RelationLocks::default();
        assert_eq!(locks.acquire(1, 10, LockMode::Share), Ok(()));
        assert_eq!(locks.acquire(2, 10, LockMode::AccessShare), Ok(()));
        assert_eq!(locks.acquire(3, 10, LockMode::Share), Ok(()));
        assert_eq!(
            locks.acquire(4, 10, LockMode::RowExclusive),
            Err(LockConflict { holder: 1 })
        );
    }
}
