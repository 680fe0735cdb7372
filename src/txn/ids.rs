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
/// reads, where SipHash cost more than the rest of the check; xids are
/// assigned by the engine, not chosen by clients, so a multiplicative
/// hash serves.
pub type XidSet = std::collections::HashSet<Xid, std::hash::BuildHasherDefault<XidHasher>>;

/// The hasher of [`XidSet`].
#[derive(Default)]
pub struct XidHasher(u64);

impl std::hash::Hasher for XidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing, folded so that the low bits (the bucket
        // index) depend on every bit of the xid.
        let x = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = x ^ (x >> 32);
    }
}
