//! The SQL layers, bottom up: [`parse`] (sqlparser's AST translated into
//! our own), [`resolve`] (PostgreSQL's function, operator and common-type
//! resolution over its own catalog rows), [`functions`] (scalar function signatures and families),
//! [`plan`] (binding names and types into a plan tree, optimising it,
//! EXPLAIN) and [`exec`] (running plans, evaluating expressions).

pub mod exec;
pub mod functions;
pub mod parse;
pub mod plan;
pub mod resolve;
