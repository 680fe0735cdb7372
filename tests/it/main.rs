//! NeuralDB integration tests: one test binary, one module per area.

mod common;
mod crash_sim;
mod isolation;
mod recovery;
mod slt;
