//! The SQL layers, bottom up: [`parse`] (sqlparser's AST translated into
//! our own), [`functions`] (scalar function signatures and families),
//! [`plan`] (binding names and types into a plan tree, optimising it,
//! EXPLAIN) and [`exec`] (running plans, evaluating expressions).

pub mod exec;
pub mod functions;
pub mod parse;
pub mod plan;
