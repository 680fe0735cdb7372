//! Transaction and session ids: a leaf that the pager (page 0 records the
//! next xid), the heap (tuple headers) and everything above import.

/// A transaction id. 64-bit, so it never wraps around.
pub type Xid = u64;

/// A client session of the engine (a tab's connection, a wire-protocol
/// connection). Row-lock waits and relation locks are held per session.
pub type SessionId = u32;

/// Never a real transaction.
pub const INVALID_XID: Xid = 0;
/// Creator of rows that are visible to everyone (bootstrap data).
pub const FROZEN_XID: Xid = 1;
/// The first id handed to a transaction.
pub const FIRST_NORMAL_XID: Xid = 2;

/// A set of xids. Visibility checks ask it about every row version a scan
/// reads, so a look-up outside the range of xids ever inserted (the common
/// case: a row written by an older transaction) answers from two
/// comparisons, and one inside hashes with the engine's id hasher (xids are
/// assigned by the engine, not chosen by clients).
///
/// Invariant: every member lies in `lo..=hi` (removal leaves the bounds
/// as they were, which keeps them true).
#[derive(Clone, Debug)]
pub struct XidSet {
    lo: Xid,
    hi: Xid,
    set: crate::util::IdSet<Xid>,
}

impl Default for XidSet {
    fn default() -> Self {
        XidSet {
            lo: Xid::MAX,
            hi: 0,
            set: Default::default(),
        }
    }
}

impl XidSet {
    pub fn contains(&self, xid: &Xid) -> bool {
        if self.lo == self.hi {
            // One xid ever inserted (a transaction without savepoints).
            return *xid == self.lo && !self.set.is_empty();
        }
        (self.lo..=self.hi).contains(xid) && self.set.contains(xid)
    }

    pub fn insert(&mut self, xid: Xid) -> bool {
        self.lo = self.lo.min(xid);
        self.hi = self.hi.max(xid);
        self.set.insert(xid)
    }

    pub fn remove(&mut self, xid: &Xid) -> bool {
        self.set.remove(xid)
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// The members, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Xid> + '_ {
        self.set.iter()
    }
}

impl FromIterator<Xid> for XidSet {
    fn from_iter<I: IntoIterator<Item = Xid>>(iter: I) -> Self {
        let mut s = XidSet::default();
        for x in iter {
            s.insert(x);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xid_set_answers_as_a_plain_set() {
        let mut s = XidSet::default();
        let mut model = std::collections::HashSet::new();
        assert!(!s.contains(&0) && !s.contains(&Xid::MAX));
        // One member (the fast path), its removal, then several members
        // with removals inside and at the ends of the range.
        let steps: [(bool, Xid); 9] = [
            (true, 7),
            (false, 7),
            (true, 7),
            (true, 3),
            (true, 12),
            (false, 3),
            (true, 9),
            (false, 12),
            (false, 9),
        ];
        for (insert, x) in steps {
            if insert {
                s.insert(x);
                model.insert(x);
            } else {
                s.remove(&x);
                model.remove(&x);
            }
            for probe in 0..16 {
                assert_eq!(
                    s.contains(&probe),
                    model.contains(&probe),
                    "{probe} after {x}"
                );
            }
            assert_eq!(s.len(), model.len());
        }
    }
}
