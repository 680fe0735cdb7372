//! The SQL layer: types and values, then (in later modules) translation from
//! sqlparser's AST into our own, planning and execution.

pub mod ast;
pub mod eval;
pub mod exec;
pub mod explain;
pub mod optimize;
pub mod plan;
pub mod translate;
pub mod types;
pub mod value;

pub use types::DataType;
pub use value::{Interval, Numeric, Value};
pub mod cast;
pub mod catalog_fn;
pub mod compare;
pub mod copy;
pub mod datetime;
pub mod datetime_fn;
pub mod functions;
pub mod index_key;
pub mod json;
pub mod md5;
pub mod numeric;
pub mod ops;
#[cfg(test)]
mod proptests;
pub mod row;
pub mod text;
pub mod tz;
