//! LISTEN / UNLISTEN / NOTIFY, and the commit events live queries follow.
//!
//! A transaction keeps its LISTEN, UNLISTEN and NOTIFY actions
//! (`TxnState::async_actions`) until it commits, as PostgreSQL does: a
//! rolled-back transaction (or savepoint) sends and changes nothing. At
//! commit the listen actions apply first (so `LISTEN a; NOTIFY a` in one
//! transaction reaches the session itself), then each distinct
//! (channel, payload) pair is queued, in the order first sent, for every
//! session listening on the channel, the sender included. Commits queue in
//! commit order. A session receives its queue only between transactions;
//! front ends take it after each engine call ([`Engine::take_notifications`]).
//!
//! The queues share a byte budget ([`QUEUE_BYTES`]): a commit whose
//! notifications do not fit fails with 54000, as PostgreSQL's does when its
//! notification queue is full, and rolls back.
//!
//! Commit events: with [`Engine::set_change_tracking`] on, every commit that
//! changed relations (rows, or their definition) records which, for the
//! browser's live queries; the front end takes them after each call.

use std::collections::{HashMap, VecDeque};

use super::{sql_err, Engine, Result, SessionId};
use crate::catalog::Oid;
use crate::error::SqlState;
use crate::txn::AsyncAction;

/// What all sessions' undelivered notifications may hold, in bytes
/// (counted per recipient).
pub const QUEUE_BYTES: usize = 64 << 20;

/// A notification as a listener receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub channel: String,
    pub payload: String,
    /// The session that sent it (its pid).
    pub sender: SessionId,
}

/// What a queued notification counts against [`QUEUE_BYTES`].
fn entry_bytes(channel: &str, payload: &str) -> usize {
    channel.len() + payload.len() + 32
}

impl Notification {
    fn bytes(&self) -> usize {
        entry_bytes(&self.channel, &self.payload)
    }
}

/// What one committed transaction changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitEvent {
    pub sender: SessionId,
    /// The relations it changed; `None` when unknown (COMMIT PREPARED:
    /// a prepared transaction does not keep them): treat as all.
    pub relations: Option<Vec<Oid>>,
}

/// Listening sessions, their queues, and the recorded commit events.
#[derive(Default)]
pub(super) struct Hub {
    /// Channels per session, in the order first listened to (as
    /// `pg_listening_channels()` lists them).
    listening: HashMap<SessionId, Vec<String>>,
    queues: HashMap<SessionId, VecDeque<Notification>>,
    queued_bytes: usize,
    /// `Some` while change tracking is on.
    events: Option<Vec<CommitEvent>>,
}

impl Hub {
    /// The channels `sid` listens on.
    pub(super) fn channels(&self, sid: SessionId) -> Vec<String> {
        self.listening.get(&sid).cloned().unwrap_or_default()
    }

    /// The fraction of the queue budget in use
    /// (`pg_notification_queue_usage()`).
    pub(super) fn usage(&self) -> f64 {
        self.queued_bytes as f64 / QUEUE_BYTES as f64
    }

    /// The distinct notifications of `actions`, in the order first sent.
    fn distinct_notifies(actions: &[AsyncAction]) -> Vec<(&str, &str)> {
        let mut seen = std::collections::HashSet::new();
        actions
            .iter()
            .filter_map(|a| match a {
                AsyncAction::Notify { channel, payload } => {
                    Some((channel.as_str(), payload.as_str()))
                }
                _ => None,
            })
            .filter(|pair| seen.insert(*pair))
            .collect()
    }

    /// The channels `sender` listens on once `actions` are applied.
    fn channels_after(&self, sender: SessionId, actions: &[AsyncAction]) -> Vec<String> {
        let mut chans = self.channels(sender);
        for a in actions {
            match a {
                AsyncAction::Listen(c) if !chans.contains(c) => chans.push(c.clone()),
                AsyncAction::Unlisten(c) => chans.retain(|x| x != c),
                AsyncAction::UnlistenAll => chans.clear(),
                _ => {}
            }
        }
        chans
    }

    /// The bytes committing `actions` of `sender` would queue.
    pub(super) fn bytes_needed(&self, sender: SessionId, actions: &[AsyncAction]) -> usize {
        let notifies = Self::distinct_notifies(actions);
        if notifies.is_empty() {
            return 0;
        }
        // Listeners per channel, the sender as it will be after commit.
        let mut listeners: HashMap<&str, usize> = HashMap::new();
        for (&sid, chans) in &self.listening {
            if sid != sender {
                for c in chans {
                    *listeners.entry(c.as_str()).or_default() += 1;
                }
            }
        }
        let own = self.channels_after(sender, actions);
        notifies
            .into_iter()
            .map(|(channel, payload)| {
                let n = listeners.get(channel).copied().unwrap_or(0)
                    + usize::from(own.iter().any(|c| c == channel));
                entry_bytes(channel, payload) * n
            })
            .sum()
    }

    pub(super) fn has_room(&self, bytes: usize) -> bool {
        bytes == 0 || self.queued_bytes + bytes <= QUEUE_BYTES
    }

    /// Applies a committed transaction's actions.
    pub(super) fn commit(&mut self, sender: SessionId, actions: Vec<AsyncAction>) {
        let notifies: Vec<(String, String)> = Self::distinct_notifies(&actions)
            .into_iter()
            .map(|(c, p)| (c.to_string(), p.to_string()))
            .collect();
        for a in actions {
            match a {
                AsyncAction::Listen(c) => {
                    let chans = self.listening.entry(sender).or_default();
                    if !chans.contains(&c) {
                        chans.push(c);
                    }
                }
                AsyncAction::Unlisten(c) => {
                    if let Some(chans) = self.listening.get_mut(&sender) {
                        chans.retain(|x| *x != c);
                    }
                }
                AsyncAction::UnlistenAll => {
                    self.listening.remove(&sender);
                }
                AsyncAction::Notify { .. } => {}
            }
        }
        if self.listening.get(&sender).is_some_and(|c| c.is_empty()) {
            self.listening.remove(&sender);
        }
        for (channel, payload) in notifies {
            let mut recipients: Vec<SessionId> = self
                .listening
                .iter()
                .filter(|(_, chans)| chans.contains(&channel))
                .map(|(&sid, _)| sid)
                .collect();
            recipients.sort_unstable();
            for sid in recipients {
                let n = Notification {
                    channel: channel.clone(),
                    payload: payload.clone(),
                    sender,
                };
                self.queued_bytes += n.bytes();
                self.queues.entry(sid).or_default().push_back(n);
            }
        }
    }

    /// A session ended: it listens to nothing and its queue is dropped.
    pub(super) fn forget(&mut self, sid: SessionId) {
        self.listening.remove(&sid);
        if let Some(q) = self.queues.remove(&sid) {
            self.queued_bytes -= q.iter().map(Notification::bytes).sum::<usize>();
        }
    }

    fn take(&mut self, sid: SessionId, max: usize) -> Vec<Notification> {
        let Some(q) = self.queues.get_mut(&sid) else {
            return Vec::new();
        };
        let n = max.min(q.len());
        let out: Vec<Notification> = q.drain(..n).collect();
        if q.is_empty() {
            self.queues.remove(&sid);
        }
        self.queued_bytes -= out.iter().map(Notification::bytes).sum::<usize>();
        out
    }

    pub(super) fn record(&mut self, event: CommitEvent) {
        if let Some(events) = &mut self.events {
            events.push(event);
        }
    }
}

impl Engine {
    /// Queues a LISTEN, UNLISTEN or NOTIFY in the session's transaction
    /// (which the caller has begun).
    pub(super) fn queue_async_action(&mut self, sid: SessionId, action: AsyncAction) -> Result<()> {
        if let AsyncAction::Notify { channel, payload } = &action {
            crate::sql::functions::system::check_notify(channel, payload)?;
        }
        match self.txns.get_mut(sid) {
            Some(t) => {
                t.async_actions.push(action);
                Ok(())
            }
            None => Err(sql_err(SqlState("08003"), "no such session")),
        }
    }

    /// Notes that the session's transaction changed relation `oid`.
    pub(super) fn note_written(&mut self, sid: SessionId, oid: Oid) {
        if let Some(t) = self.txns.get_mut(sid) {
            t.written.insert(oid);
        }
    }

    /// `pg_listening_channels()`.
    pub(super) fn listening_channels(&self, sid: SessionId) -> Vec<String> {
        self.notify.channels(sid)
    }

    /// `pg_notification_queue_usage()`.
    pub(super) fn notification_queue_usage(&self) -> f64 {
        self.notify.usage()
    }

    /// Sessions between transactions with notifications waiting, in
    /// session order.
    pub fn notified_sessions(&self) -> Vec<SessionId> {
        let mut out: Vec<SessionId> = self
            .notify
            .queues
            .keys()
            .copied()
            .filter(|&sid| self.txns.get(sid).is_none())
            .collect();
        out.sort_unstable();
        out
    }

    /// Takes up to `max` of the session's notifications, oldest first;
    /// none while it is inside a transaction (PostgreSQL delivers them
    /// between transactions).
    pub fn take_notifications(&mut self, sid: SessionId, max: usize) -> Vec<Notification> {
        if self.txns.get(sid).is_some() {
            return Vec::new();
        }
        self.notify.take(sid, max)
    }

    /// The tables and views `sql` (a single query) reads, at any depth:
    /// what a live query over it follows. Binds without running it.
    pub fn relations_read(&mut self, sid: SessionId, sql: &str) -> Result<Vec<Oid>> {
        let stmts = crate::sql::parse::translate::parse(sql)?;
        let [crate::sql::parse::ast::Statement::Query(query)] = stmts.as_slice() else {
            return Err(sql_err(
                SqlState::FEATURE_NOT_SUPPORTED,
                "a live query must be a single SELECT statement",
            ));
        };
        if !self.sessions.contains_key(&sid) {
            return Err(sql_err(SqlState("08003"), "no such session"));
        }
        // Binding reads the catalog under a snapshot, which needs a
        // transaction; a temporary one writes nothing and leaves nothing.
        let temporary = self.txns.get(sid).is_none();
        if temporary {
            self.begin_txn(sid, false);
        }
        let snapshot = self.take_snapshot(sid);
        self.param_hints.clear();
        let bound = self.bind(sid, &snapshot, |b| {
            b.bind_query(query)?;
            Ok(std::mem::take(&mut b.relations))
        });
        if temporary {
            self.end_txn(sid, false)?;
        }
        Ok(bound?.0)
    }

    /// Records a [`CommitEvent`] for every later commit that changed
    /// relations (until turned off), for [`Engine::take_commit_events`].
    pub fn set_change_tracking(&mut self, on: bool) {
        self.notify.events = on.then(Vec::new);
    }

    /// The commit events recorded since the last call, in commit order.
    pub fn take_commit_events(&mut self) -> Vec<CommitEvent> {
        self.notify
            .events
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notify(c: &str, p: &str) -> AsyncAction {
        AsyncAction::Notify {
            channel: c.into(),
            payload: p.into(),
        }
    }

    #[test]
    fn commits_deduplicate_and_reach_listeners_in_order() {
        let mut hub = Hub::default();
        hub.commit(1, vec![AsyncAction::Listen("a".into())]);
        hub.commit(
            2,
            vec![
                notify("a", "x"),
                notify("b", "y"),
                notify("a", "x"),
                notify("a", "z"),
            ],
        );
        let got: Vec<String> = hub.take(1, 10).into_iter().map(|n| n.payload).collect();
        assert_eq!(got, ["x", "z"]);
        assert_eq!(hub.queued_bytes, 0);
        // Listen and notify in one transaction reach the sender itself.
        hub.commit(
            3,
            vec![AsyncAction::Listen("c".into()), notify("c", "self")],
        );
        assert_eq!(hub.take(3, 10).len(), 1);
        hub.commit(3, vec![AsyncAction::UnlistenAll, notify("c", "gone")]);
        assert!(hub.take(3, 10).is_empty());
        assert_eq!(hub.channels(1), ["a"]);
    }

    #[test]
    fn byte_budget_counts_every_recipient() {
        let mut hub = Hub::default();
        hub.commit(1, vec![AsyncAction::Listen("a".into())]);
        hub.commit(2, vec![AsyncAction::Listen("a".into())]);
        let actions = vec![notify("a", "12345678")];
        assert_eq!(hub.bytes_needed(3, &actions), 2 * (1 + 8 + 32));
        hub.commit(3, actions);
        assert_eq!(hub.queued_bytes, 2 * 41);
        hub.forget(1);
        assert_eq!(hub.queued_bytes, 41);
        assert!(hub.has_room(QUEUE_BYTES - 41));
        assert!(!hub.has_room(QUEUE_BYTES - 40));
    }
}
