//! The umbrella error type. Every layer has its own typed error; they all
//! convert into [`Error`], which carries a PostgreSQL SQLSTATE code so that
//! front ends (wasm, wire protocol, CLI) can report errors the way
//! PostgreSQL clients expect.

use crate::pager::PagerError;
pub use crate::sqlstate::SqlState;
use crate::storage::StorageError;

/// An error in PostgreSQL's shape: SQLSTATE, message, and the optional
/// fields clients show (detail, hint, 1-based character position in the
/// statement).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SqlError {
    pub code: SqlState,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    pub position: Option<u32>,
}

impl SqlError {
    pub fn new(code: SqlState, message: impl Into<String>) -> Self {
        SqlError {
            code,
            message: message.into(),
            detail: None,
            hint: None,
            position: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_position(mut self, position: u32) -> Self {
        self.position = Some(position);
        self
    }
}

/// A message that is not an error (PostgreSQL's NoticeResponse): a
/// WARNING or NOTICE a statement raised while it went on.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub severity: NoticeSeverity,
    pub body: SqlError,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeSeverity {
    Warning,
    Notice,
}

impl NoticeSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeSeverity::Warning => "WARNING",
            NoticeSeverity::Notice => "NOTICE",
        }
    }
}

impl Notice {
    pub fn warning(code: SqlState, message: impl Into<String>) -> Notice {
        Notice {
            severity: NoticeSeverity::Warning,
            body: SqlError::new(code, message),
        }
    }

    pub fn info(code: SqlState, message: impl Into<String>) -> Notice {
        Notice {
            severity: NoticeSeverity::Notice,
            body: SqlError::new(code, message),
        }
    }
}

/// Any error NeuralDB reports to a caller.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Pager(#[from] PagerError),
    #[error(transparent)]
    Sql(#[from] SqlError),
    /// Not an error a client sees: the statement must wait for session
    /// `holder` (a lock it holds, or its transaction) and run again. The
    /// engine parks it (invariant 5); only a statement that has changed
    /// nothing yet may raise it.
    #[error("could not obtain a lock: session {holder} holds it")]
    Wait { holder: crate::txn::ids::SessionId },
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
            Error::Sql(e) => e.code,
            Error::Wait { .. } => SqlState::LOCK_NOT_AVAILABLE,
        }
    }
}

/// For layers that report `SqlError` (the binder): an SQL error passes
/// through whole; a storage error becomes its SQLSTATE and message.
impl From<Error> for SqlError {
    fn from(e: Error) -> Self {
        match e {
            Error::Sql(e) => e,
            e => SqlError::new(e.sqlstate(), e.to_string()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
