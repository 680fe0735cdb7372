//! The umbrella error type. Every layer has its own typed error; they all
//! convert into [`Error`], which carries a PostgreSQL SQLSTATE code so that
//! front ends (wasm, wire protocol, CLI) can report errors the way
//! PostgreSQL clients expect.

use crate::pager::PagerError;
use crate::storage::{StorageError, StorageErrorKind};

/// A five-character SQLSTATE code, e.g. `"23505"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SqlState(pub &'static str);

impl SqlState {
    pub const IO_ERROR: SqlState = SqlState("58030");
    pub const DISK_FULL: SqlState = SqlState("53100");
    pub const DATA_CORRUPTED: SqlState = SqlState("XX001");
    pub const INDEX_CORRUPTED: SqlState = SqlState("XX002");
    pub const INTERNAL_ERROR: SqlState = SqlState("XX000");
    pub const PROGRAM_LIMIT_EXCEEDED: SqlState = SqlState("54000");
    pub const INVALID_PARAMETER_VALUE: SqlState = SqlState("22023");
    pub const CANNOT_CONNECT_NOW: SqlState = SqlState("57P03");

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for SqlState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Any error NeuralDB reports to a caller.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Pager(#[from] PagerError),
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        Error::Pager(PagerError::Storage(e))
    }
}

impl Error {
    /// The SQLSTATE a PostgreSQL client would see for this error.
    pub fn sqlstate(&self) -> SqlState {
        match self {
            Error::Pager(e) => e.sqlstate(),
        }
    }
}

impl StorageError {
    pub fn sqlstate(&self) -> SqlState {
        match self.kind {
            StorageErrorKind::QuotaExceeded => SqlState::DISK_FULL,
            _ => SqlState::IO_ERROR,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
