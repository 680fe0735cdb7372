//! Row locks: PostgreSQL's four tuple lock modes and their conflict table,
//! and the holders beyond the one a tuple header can name.
//!
//! A tuple's `xmax` names one holder: its updater or deleter, or a single
//! locker (`XMAX_LOCK_ONLY`), with the mode in the header's flags. When a
//! second transaction (or a subtransaction of the same one) locks the row
//! in a compatible mode, it goes into [`RowLockers`], a side table keyed by
//! heap and TID; this plays the part of PostgreSQL's multixacts. Entries
//! live only as long as their transactions: the table is in memory, since
//! after a restart every transaction that was running has aborted, except
//! prepared ones, whose locks are restored from their prepare records.
//!
//! Invariant: every entry's xid belonged to an open (or prepared)
//! transaction when it was added, and [`RowLockers::release`] removes an
//! xid's entries when that transaction ends; readers still treat an entry
//! of an ended xid as no lock, so a late removal is harmless.

use std::collections::HashMap;

use super::ids::Xid;
use crate::heap::{flags, Tid};
use crate::pager::PageId;

/// PostgreSQL's row-level lock modes, weakest first.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum RowLockMode {
    /// FOR KEY SHARE: what a foreign-key check takes on the referenced row.
    KeyShare,
    /// FOR SHARE.
    Share,
    /// FOR NO KEY UPDATE: what an UPDATE that changes no key column takes.
    NoKeyUpdate,
    /// FOR UPDATE: what DELETE and a key-changing UPDATE take.
    Update,
}

impl RowLockMode {
    /// PostgreSQL's "Conflicting Row-Level Locks" table.
    pub fn conflicts(self, other: RowLockMode) -> bool {
        use RowLockMode::*;
        match (self, other) {
            (Update, _) | (_, Update) => true,
            (KeyShare, _) | (_, KeyShare) => false,
            (Share, Share) => false,
            _ => true,
        }
    }

    /// How pg_locks and error messages name the mode.
    pub fn clause(self) -> &'static str {
        match self {
            RowLockMode::KeyShare => "FOR KEY SHARE",
            RowLockMode::Share => "FOR SHARE",
            RowLockMode::NoKeyUpdate => "FOR NO KEY UPDATE",
            RowLockMode::Update => "FOR UPDATE",
        }
    }

    /// The mode a tuple header's flags give its `xmax` (Update when no
    /// bits are set, which is what headers written before modes existed
    /// meant).
    pub fn from_flags(f: u16) -> RowLockMode {
        match (f & flags::XMAX_MODE_MASK) >> flags::XMAX_MODE_SHIFT {
            1 => RowLockMode::NoKeyUpdate,
            2 => RowLockMode::Share,
            3 => RowLockMode::KeyShare,
            _ => RowLockMode::Update,
        }
    }

    /// `f` with its xmax mode bits set to this mode.
    pub fn with_flags(self, f: u16) -> u16 {
        let bits: u16 = match self {
            RowLockMode::Update => 0,
            RowLockMode::NoKeyUpdate => 1,
            RowLockMode::Share => 2,
            RowLockMode::KeyShare => 3,
        };
        (f & !flags::XMAX_MODE_MASK) | (bits << flags::XMAX_MODE_SHIFT)
    }
}

/// A row: its heap (the heap's meta page) and TID.
pub type RowKey = (PageId, Tid);

/// The side table of additional row-lock holders is full.
#[derive(Debug)]
pub struct TooManyRowLocks;

/// Row-lock holders that the tuple header cannot name.
#[derive(Default)]
pub struct RowLockers {
    rows: HashMap<RowKey, Vec<(Xid, RowLockMode)>>,
    by_xid: HashMap<Xid, Vec<RowKey>>,
    entries: usize,
}

impl RowLockers {
    /// Most entries at once: about 100 bytes each, so the table stays
    /// within ~100 MiB however many rows are share-locked twice.
    pub const MAX_ENTRIES: usize = 1 << 20;

    /// The additional holders of `key`.
    pub fn holders(&self, key: &RowKey) -> &[(Xid, RowLockMode)] {
        self.rows.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Adds (or strengthens) `xid`'s lock on `key`.
    pub fn add(&mut self, key: RowKey, xid: Xid, mode: RowLockMode) -> Result<(), TooManyRowLocks> {
        let list = self.rows.entry(key).or_default();
        if let Some(e) = list.iter_mut().find(|(x, _)| *x == xid) {
            e.1 = e.1.max(mode);
            return Ok(());
        }
        if self.entries >= Self::MAX_ENTRIES {
            if list.is_empty() {
                self.rows.remove(&key);
            }
            return Err(TooManyRowLocks);
        }
        list.push((xid, mode));
        self.entries += 1;
        self.by_xid.entry(xid).or_default().push(key);
        Ok(())
    }

    /// Drops every lock that `xids` hold (their transaction ended, or the
    /// subtransactions rolled back).
    pub fn release(&mut self, xids: &[Xid]) {
        for x in xids {
            let Some(keys) = self.by_xid.remove(x) else {
                continue;
            };
            for k in keys {
                if let Some(list) = self.rows.get_mut(&k) {
                    let before = list.len();
                    list.retain(|(h, _)| h != x);
                    self.entries -= before - list.len();
                    if list.is_empty() {
                        self.rows.remove(&k);
                    }
                }
            }
        }
    }

    /// Every entry, for pg_locks-style views and for prepare records.
    pub fn of_xids(&self, xids: &[Xid]) -> Vec<(RowKey, Xid, RowLockMode)> {
        let mut out = Vec::new();
        for x in xids {
            for k in self.by_xid.get(x).into_iter().flatten() {
                for (h, m) in self.holders(k) {
                    if h == x {
                        out.push((*k, *x, *m));
                    }
                }
            }
        }
        out
    }

    pub fn len(&self) -> usize {
        self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RowLockMode::*;

    #[test]
    fn conflict_table_matches_postgresql() {
        let all = [KeyShare, Share, NoKeyUpdate, Update];
        let expected = [
            [false, false, false, true],
            [false, false, true, true],
            [false, true, true, true],
            [true, true, true, true],
        ];
        for (i, a) in all.iter().enumerate() {
            for (j, b) in all.iter().enumerate() {
                assert_eq!(a.conflicts(*b), expected[i][j], "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn flags_round_trip() {
        for m in [KeyShare, Share, NoKeyUpdate, Update] {
            let f = m.with_flags(flags::XMAX_LOCK_ONLY | flags::UPDATED);
            assert_eq!(RowLockMode::from_flags(f), m);
            assert_eq!(f & flags::XMAX_LOCK_ONLY, flags::XMAX_LOCK_ONLY);
        }
        assert_eq!(RowLockMode::from_flags(0), Update);
    }

    #[test]
    fn release_removes_entries() {
        let mut t = RowLockers::default();
        let k = (7, Tid { page: 3, slot: 1 });
        t.add(k, 10, KeyShare).unwrap();
        t.add(k, 11, Share).unwrap();
        t.add(k, 10, Share).unwrap();
        assert_eq!(t.holders(&k), &[(10, Share), (11, Share)]);
        assert_eq!(t.len(), 2);
        t.release(&[10]);
        assert_eq!(t.holders(&k), &[(11, Share)]);
        t.release(&[11]);
        assert!(t.is_empty() && t.holders(&k).is_empty());
    }
}
