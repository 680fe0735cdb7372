//! SQL text to our AST: sqlparser (PostgreSQL dialect) parses, `translate`
//! turns its tree into [`ast`] (the only place sqlparser's types appear),
//! and `copy` reads and writes COPY's data formats.

pub mod ast;
pub mod copy;
pub mod lift;
pub mod translate;
