//! Multi-session isolation tests: scripted interleavings of several
//! sessions on one engine, checked step by step against PostgreSQL 15's
//! behaviour (dirty reads, non-repeatable reads, phantoms, lost updates,
//! write skew, deadlocks, unique-key waits, READ COMMITTED re-checks),
//! plus a seeded bank-transfer workload.
//!
//! A script is a list of steps. `Sql` steps run a statement in a named
//! session (sessions connect on first use) and check its outcome; a
//! statement that must wait returns `Blocks`. The completion of a blocked
//! statement is asserted with an `Unblocks` step right after the step that
//! released it (it is collected with `take_completions`). A completion that
//! no `Unblocks` step claims fails the script, as does any mismatch; the
//! failure message shows the whole script with the failing step marked.

mod bank;
mod basic;
mod harness;
mod specs;
mod write_skew;
