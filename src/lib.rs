//! NeuralDB: a PostgreSQL-flavoured, ACID, MVCC SQL database with vector
//! search, built to run in the browser (wasm32 + OPFS) and natively.
//!
//! Layering, bottom up (see `ARCHITECTURE.md`):
//! [`storage`] (files) → [`pager`] (pages, buffer pool) + [`wal`] (redo log,
//! recovery) → [`txn`] (xids, commit log) → [`heap`] / [`btree`] (access
//! methods).

pub mod access;
pub mod btree;
pub mod catalog;
pub mod engine;
pub mod error;
pub mod heap;
pub mod pager;
#[cfg(not(target_arch = "wasm32"))]
pub mod server;
pub mod sql;
pub mod sqlstate;
pub mod storage;
pub mod txn;
pub mod util;
pub mod value;
pub mod wal;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result, SqlError, SqlState};
