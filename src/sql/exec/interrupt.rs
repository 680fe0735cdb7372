//! Stopping a statement while it runs: a cancel request from another
//! thread (the server's CancelRequest), `statement_timeout`, and the
//! memory limit of one plan node (`neuraldb.max_query_memory`, checked by
//! [`crate::sql::exec::RowBudget`]).
//!
//! The engine runs each statement to completion on its own thread, so a
//! running statement can only stop itself. The executor calls
//! [`Interrupts::tick`] once per row or expression it evaluates; every
//! [`CHECK_EVERY`] ticks that looks at the cancel flag and the deadline.
//!
//! Invariant: the cancel flag is only ever set while `running` names the
//! session the request was for (both under one mutex), and it is cleared
//! when a statement starts or ends. So a request that arrives while its
//! session is idle, or after its statement finished, cancels nothing
//! (PostgreSQL ignores those too), and it never leaks into another
//! session's statement.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, SqlError, SqlState};
use crate::txn::ids::SessionId;

/// How many ticks between two looks at the flag and the clock: often
/// enough to stop within milliseconds, rare enough to cost nothing.
const CHECK_EVERY: u32 = 1024;

#[derive(Default)]
struct Shared {
    /// The session whose statement is running, if any.
    running: Mutex<Option<SessionId>>,
    /// Set by [`CancelHandle::cancel_running`]; read without the lock.
    cancel: AtomicBool,
}

/// A `Send + Sync` handle other threads use to cancel the statement that
/// is running in the engine.
#[derive(Clone)]
pub struct CancelHandle(Arc<Shared>);

impl CancelHandle {
    /// Asks the statement session `sid` is running to stop with 57014.
    /// Returns false (and does nothing) when `sid` is not running one.
    pub fn cancel_running(&self, sid: SessionId) -> bool {
        let running = self
            .0
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *running == Some(sid) {
            self.0.cancel.store(true, Ordering::Relaxed);
            true
        } else {
            false
        }
    }
}

/// The engine's side: which statement runs, its deadline, the tick count.
pub struct Interrupts {
    shared: Arc<Shared>,
    ticks: Cell<u32>,
    /// statement_timeout's deadline for the running statement, in the
    /// engine clock's microseconds.
    deadline: Cell<Option<i64>>,
    clock: fn() -> i64,
    /// The bytes of rows one plan node of the running statement may hold.
    memory_limit: Cell<usize>,
}

impl Interrupts {
    pub fn new(clock: fn() -> i64) -> Interrupts {
        Interrupts {
            shared: Arc::new(Shared::default()),
            ticks: Cell::new(0),
            deadline: Cell::new(None),
            clock,
            memory_limit: Cell::new(usize::MAX),
        }
    }

    pub fn handle(&self) -> CancelHandle {
        CancelHandle(self.shared.clone())
    }

    /// Session `sid` starts (or resumes) running a statement.
    pub fn start(&self, sid: SessionId, deadline: Option<i64>) {
        self.set_running(Some(sid));
        self.deadline.set(deadline);
    }

    /// The running statement's memory limit (per plan node), in bytes.
    pub fn set_memory_limit(&self, bytes: usize) {
        self.memory_limit.set(bytes);
    }

    pub fn memory_limit(&self) -> usize {
        self.memory_limit.get()
    }

    /// The running statement finished, failed or parked.
    pub fn stop(&self) {
        self.set_running(None);
        self.deadline.set(None);
    }

    fn set_running(&self, sid: Option<SessionId>) {
        let mut running = self
            .shared
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *running = sid;
        self.shared.cancel.store(false, Ordering::Relaxed);
    }

    /// One unit of work done: fails with 57014 when the statement was
    /// cancelled or ran past its deadline.
    #[inline]
    pub fn tick(&self) -> Result<(), Error> {
        let t = self.ticks.get().wrapping_add(1);
        self.ticks.set(t);
        if t.is_multiple_of(CHECK_EVERY) {
            self.check()
        } else {
            Ok(())
        }
    }

    /// A unit of work worth many ticks (an HNSW insert): looks at the
    /// flag and the clock now.
    pub fn heavy_tick(&self) -> Result<(), Error> {
        self.check()
    }

    #[cold]
    fn check(&self) -> Result<(), Error> {
        if self.shared.cancel.load(Ordering::Relaxed) {
            return Err(canceled("canceling statement due to user request"));
        }
        if self.deadline.get().is_some_and(|d| (self.clock)() >= d) {
            return Err(canceled("canceling statement due to statement timeout"));
        }
        Ok(())
    }
}

pub fn canceled(message: &str) -> Error {
    Error::Sql(SqlError::new(SqlState::QUERY_CANCELED, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed_clock() -> i64 {
        1_000
    }

    fn run_ticks(i: &Interrupts, n: u32) -> Result<(), Error> {
        for _ in 0..n {
            i.tick()?;
        }
        Ok(())
    }

    #[test]
    fn cancel_reaches_only_the_running_session() {
        let i = Interrupts::new(fixed_clock);
        let h = i.handle();
        assert!(!h.cancel_running(1), "idle engine: nothing to cancel");
        i.start(2, None);
        assert!(!h.cancel_running(1), "another session is running");
        assert!(run_ticks(&i, 4 * CHECK_EVERY).is_ok());
        assert!(h.cancel_running(2));
        let e = run_ticks(&i, CHECK_EVERY).expect_err("cancelled");
        assert_eq!(e.sqlstate(), SqlState::QUERY_CANCELED);
        i.stop();
        // The request does not outlive its statement.
        i.start(2, None);
        assert!(run_ticks(&i, 4 * CHECK_EVERY).is_ok());
    }

    #[test]
    fn deadline_stops_the_statement() {
        let i = Interrupts::new(fixed_clock);
        i.start(1, Some(2_000));
        assert!(run_ticks(&i, 4 * CHECK_EVERY).is_ok());
        i.start(1, Some(1_000));
        let e = run_ticks(&i, CHECK_EVERY).expect_err("timed out");
        assert!(e.to_string().contains("statement timeout"), "{e}");
        i.stop();
        assert!(run_ticks(&i, 4 * CHECK_EVERY).is_ok());
    }
}
