//! Byte-addressed files: the only thing the pager and the WAL know about the
//! medium they live on.
//!
//! A [`Storage`] is one file. Its contract is deliberately small so that the
//! OPFS sync access handle, `std::fs::File` and an in-memory buffer all
//! implement it directly, and so that a fault-injecting wrapper can model
//! exactly what a crash may leave behind.
//!
//! What we assume of the medium (documented in `docs/file-format.md`):
//! - A write that completed is visible to later reads of the same handle.
//! - Only [`Storage::sync`] makes earlier writes durable. Writes that were not
//!   synced may be lost, reordered against each other, or torn (partially
//!   persisted) by a crash.
//! - A sync that returned `Ok` made every earlier write durable.

mod fault;
mod file;
mod memory;

pub use fault::{CrashMode, FaultController, FaultyStorage};
#[cfg(not(target_arch = "wasm32"))]
pub use file::FileStorage;
pub use memory::MemoryStorage;

use crate::sqlstate::SqlState;

/// What went wrong in a storage call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageErrorKind {
    /// The medium reported an I/O failure.
    Io,
    /// The medium is full (disk full, browser storage quota exceeded).
    QuotaExceeded,
    /// Injected by [`FaultyStorage`]: the simulated machine has crashed and
    /// every further call fails.
    Crashed,
}

/// An error from a [`Storage`] backend.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{op} failed: {message}")]
pub struct StorageError {
    pub kind: StorageErrorKind,
    /// The operation that failed (`"write"`, `"sync"`, ...).
    pub op: &'static str,
    pub message: String,
}

impl StorageError {
    /// The SQLSTATE a client sees for this failure.
    pub fn sqlstate(&self) -> SqlState {
        match self.kind {
            StorageErrorKind::QuotaExceeded => SqlState::DISK_FULL,
            _ => SqlState::IO_ERROR,
        }
    }

    pub fn io(op: &'static str, message: impl Into<String>) -> Self {
        StorageError {
            kind: StorageErrorKind::Io,
            op,
            message: message.into(),
        }
    }
}

/// One file of the database (the data file or the WAL).
///
/// Implementations are used from a single thread; none of the methods may
/// block on anything but the medium itself.
#[allow(clippy::len_without_is_empty)] // a file's length is not a collection's
pub trait Storage {
    /// Reads up to `buf.len()` bytes starting at `offset` and returns how
    /// many were read. Fewer bytes than requested are returned only when the
    /// file ends before `offset + buf.len()`; reading at or past the end
    /// returns `Ok(0)`. Bytes of `buf` past the returned count are left
    /// unspecified.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, StorageError>;

    /// Writes all of `data` at `offset`, extending the file (with zeros in
    /// any gap) if needed. On `Err`, any prefix of the write may have reached
    /// the file. Not durable until [`Storage::sync`] returns `Ok`.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), StorageError>;

    /// Current length of the file in bytes, including unsynced writes.
    fn len(&self) -> Result<u64, StorageError>;

    /// Truncates or extends (with zeros) the file to `len` bytes. Like a
    /// write, it is durable only after the next successful sync.
    fn set_len(&mut self, len: u64) -> Result<(), StorageError>;

    /// Makes every earlier write and `set_len` durable. Returns only after
    /// the medium confirmed it; an `Err` means some of them may be lost.
    fn sync(&mut self) -> Result<(), StorageError>;
}

impl<S: Storage + ?Sized> Storage for Box<S> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, StorageError> {
        (**self).read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), StorageError> {
        (**self).write_at(offset, data)
    }
    fn len(&self) -> Result<u64, StorageError> {
        (**self).len()
    }
    fn set_len(&mut self, len: u64) -> Result<(), StorageError> {
        (**self).set_len(len)
    }
    fn sync(&mut self) -> Result<(), StorageError> {
        (**self).sync()
    }
}

/// Reads exactly `buf.len()` bytes at `offset`, zero-filling whatever lies
/// past the end of the file. Returns how many bytes came from the file.
pub fn read_padded(s: &dyn Storage, offset: u64, buf: &mut [u8]) -> Result<usize, StorageError> {
    let mut done = 0;
    while done < buf.len() {
        let n = s.read_at(offset + done as u64, &mut buf[done..])?;
        if n == 0 {
            break;
        }
        done += n;
    }
    buf[done..].fill(0);
    Ok(done)
}
