//! B+tree access method.

pub mod key;
