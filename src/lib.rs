//! NeuralDB: a PostgreSQL-flavoured, ACID, MVCC SQL database with vector
//! search, built to run in the browser (wasm32 + OPFS) and natively.
//!
//! Layering, bottom up (see `ARCHITECTURE.md`; `tests/it/layers.rs`
//! enforces it): [`storage`] (files) → [`wal`] (redo log) → [`pager`]
//! (pages, buffer pool, recovery) → [`heap`] / [`btree`] → [`value`] (types
//! and values) → [`txn`] (transactions, snapshots, locks) → [`catalog`] →
//! [`access`] (index methods) → [`sql`] (parse, plan, execute) → [`engine`]
//! (sessions) → [`server`] / `wasm` (front ends).

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
