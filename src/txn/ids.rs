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
/// assigned by the engine, not chosen by clients, so the engine's id
/// hasher serves.
pub type XidSet = crate::util::IdSet<Xid>;
