//! NeuralDB integration tests: one test binary, one module per area.

mod common;
mod crash_sim;
mod dump;
mod fuzz;
mod hot;
mod isolation;
mod layers;
mod notify;
mod recovery;
mod server;
mod slt;
mod sql_engine;
mod twophase_crash;
mod vector;
