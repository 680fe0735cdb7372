//! The wait-for graph: which session waits for which session's
//! transaction to end (a row it wants is held, or a unique key it inserts
//! is being inserted). A session waits for at most one other at a time.

use std::collections::HashMap;

use super::ids::SessionId;

#[derive(Default)]
pub struct WaitGraph {
    /// waiter -> holder.
    edges: HashMap<SessionId, SessionId>,
}

impl WaitGraph {
    /// Records that `waiter` waits for `holder`.
    pub fn wait(&mut self, waiter: SessionId, holder: SessionId) {
        self.edges.insert(waiter, holder);
    }

    /// Whom `waiter` waits for.
    pub fn waiting_for(&self, waiter: SessionId) -> Option<SessionId> {
        self.edges.get(&waiter).copied()
    }

    /// Forgets `waiter`'s wait (it was woken, cancelled or disconnected);
    /// returns whether it was waiting.
    pub fn stop_waiting(&mut self, waiter: SessionId) -> bool {
        self.edges.remove(&waiter).is_some()
    }

    /// The cycle `waiter` waiting for `holder` would close: `waiter`,
    /// `holder`, and on along the waits back to `waiter` (exclusive).
    pub fn cycle(&self, waiter: SessionId, holder: SessionId) -> Option<Vec<SessionId>> {
        let mut path = vec![waiter];
        let mut cur = holder;
        while cur != waiter {
            if path.len() > self.edges.len() + 1 {
                return None;
            }
            path.push(cur);
            cur = *self.edges.get(&cur)?;
        }
        Some(path)
    }

    /// The sessions waiting for `holder`, in session order. When its
    /// transaction (or a subtransaction) ends, the caller resumes each:
    /// it stops waiting, and waits again if it still must.
    pub fn waiters_of(&self, holder: SessionId) -> Vec<SessionId> {
        let mut waiters: Vec<SessionId> = self
            .edges
            .iter()
            .filter(|(_, &h)| h == holder)
            .map(|(&w, _)| w)
            .collect();
        waiters.sort_unstable();
        waiters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_found_and_release_wakes_in_order() {
        let mut g = WaitGraph::default();
        g.wait(1, 2);
        g.wait(2, 3);
        assert_eq!(g.cycle(3, 1), Some(vec![3, 1, 2]));
        assert_eq!(g.cycle(4, 1), None);
        g.wait(5, 3);
        assert_eq!(g.waiters_of(3), vec![2, 5]);
        assert!(g.stop_waiting(2));
        assert_eq!(g.waiting_for(2), None);
        assert_eq!(g.waiting_for(1), Some(2));
        assert!(g.stop_waiting(1));
        assert!(!g.stop_waiting(1));
    }
}
