//! The engine thread. The engine is synchronous and not `Send`, so one
//! dedicated thread owns it and serves requests from the connection tasks
//! over a channel. A statement that must wait for a lock parks: its reply
//! channel is kept, the thread goes on serving others, and after every
//! engine call the finished parked statements (`take_completions`) are
//! sent back to their connections.

use std::collections::HashMap;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::engine::{
    CopyIn, Described, Engine, Notification, Outcome, SessionId, Submitted, TxnStatus,
};
use crate::error::{Error, Notice, SqlError};
use crate::value::tz::TimeZone;
use crate::value::Value;

/// How often the clock is checked while a parked statement has a
/// statement_timeout.
const TIMEOUT_POLL: Duration = Duration::from_millis(20);

/// A statement's outcome plus the session state the protocol reports
/// after it.
pub struct Reply {
    pub outcome: Outcome,
    pub status: TxnStatus,
    pub tz: TimeZone,
    /// Values of the parameters reported with ParameterStatus.
    pub params: Vec<(&'static str, String)>,
    /// WARNINGs and NOTICEs raised since the session's last reply.
    pub notices: Vec<Notice>,
    /// Notifications for the session (none while it is in a
    /// transaction), sent before ReadyForQuery.
    pub notifications: Vec<Notification>,
}

/// At most this many notifications go with one reply or fetch; the rest
/// wait in the engine (whose queue is bounded), so a client that does not
/// read cannot make the server buffer without limit.
pub const NOTIFICATION_BATCH: usize = 1000;

pub enum Request {
    Connect {
        reply: oneshot::Sender<SessionId>,
        /// Rung when notifications wait for the session while it is idle.
        doorbell: Arc<tokio::sync::Notify>,
    },
    /// The session's waiting notifications (up to [`NOTIFICATION_BATCH`]).
    Notifications {
        sid: SessionId,
        reply: oneshot::Sender<Vec<Notification>>,
    },
    Submit {
        sid: SessionId,
        sql: String,
        params: Vec<Value>,
        /// Extended protocol: an implicit transaction lasts until Sync.
        until_sync: bool,
        reply: oneshot::Sender<Reply>,
    },
    /// The protocol's Sync after extended-protocol statements: ends their
    /// implicit transaction; replies with the commit's error, if any.
    Sync {
        sid: SessionId,
        reply: oneshot::Sender<Reply>,
    },
    CopyIn {
        sid: SessionId,
        copy: CopyIn,
        data: Vec<u8>,
        reply: oneshot::Sender<Reply>,
    },
    Describe {
        sid: SessionId,
        sql: String,
        reply: oneshot::Sender<Result<Described, Error>>,
    },
    /// CopyFail: the COPY statement failed; replies with the new status.
    CopyFail {
        sid: SessionId,
        reply: oneshot::Sender<TxnStatus>,
    },
    /// CancelRequest for a session that is not running a statement: fail
    /// its waiting statement, if any, with 57014.
    Cancel(SessionId),
    /// The connection is gone: roll back and release everything.
    Disconnect(SessionId),
}

/// At most this many requests are served between two WAL syncs.
const MAX_BATCH: usize = 64;

/// The engine thread's state besides the engine.
struct Worker {
    engine: Engine,
    /// Reply channels of parked statements.
    parked: HashMap<SessionId, oneshot::Sender<Reply>>,
    /// Statement outcomes held until the WAL sync that makes the batch's
    /// commits durable (group commit).
    outbox: Vec<(oneshot::Sender<Reply>, Reply)>,
    /// Per session: rung when notifications wait for it.
    doorbells: HashMap<SessionId, Arc<tokio::sync::Notify>>,
}

/// Serves requests until every sender is dropped.
///
/// Group commit: the engine does not sync the WAL per COMMIT. The thread
/// serves every request already queued (up to [`MAX_BATCH`]), syncs once,
/// and only then sends the batch's outcomes, so no client learns of a
/// commit (its own or, through a query, another's) before it is durable,
/// and concurrent committers share one sync.
pub fn run(mut engine: Engine, requests: mpsc::Receiver<Request>) {
    engine.set_group_commit(true);
    let mut w = Worker {
        engine,
        parked: HashMap::new(),
        outbox: Vec::new(),
        doorbells: HashMap::new(),
    };
    loop {
        // A parked statement with a statement_timeout needs the clock
        // watched; otherwise sleep until a request comes.
        // While a statement that yielded (a CREATE INDEX build) has work
        // left, do not sleep: serve what is queued, then run its slice.
        let next = if w.engine.has_work() {
            match requests.try_recv() {
                Ok(r) => Some(r),
                Err(mpsc::TryRecvError::Empty) => None,
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
        } else if w.engine.has_wait_deadlines() {
            match requests.recv_timeout(TIMEOUT_POLL) {
                Ok(r) => Some(r),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        } else {
            match requests.recv() {
                Ok(r) => Some(r),
                Err(_) => return,
            }
        };
        w.engine.expire_timeouts();
        if let Some(req) = next {
            w.serve(req);
            for _ in 1..MAX_BATCH {
                match requests.try_recv() {
                    Ok(req) => w.serve(req),
                    Err(_) => break,
                }
            }
        }
        // One slice per round, so a stream of requests cannot starve it.
        w.engine.work();
        w.take_completions();
        w.flush();
    }
}

impl Worker {
    fn serve(&mut self, req: Request) {
        let engine = &mut self.engine;
        match req {
            Request::Connect { reply, doorbell } => {
                let sid = engine.connect();
                if reply.send(sid).is_err() {
                    engine.disconnect(sid);
                } else {
                    self.doorbells.insert(sid, doorbell);
                }
            }
            Request::Notifications { sid, reply } => {
                let _ = reply.send(engine.take_notifications(sid, NOTIFICATION_BATCH));
            }
            Request::Submit {
                sid,
                sql,
                params,
                until_sync,
                reply,
            } => {
                if until_sync {
                    engine.defer_implicit_commit(sid);
                }
                let submitted = engine.submit(sid, &sql, params);
                self.answer(sid, submitted, reply);
            }
            Request::Sync { sid, reply } => {
                let outcome = Outcome {
                    results: Vec::new(),
                    error: engine.sync(sid).err(),
                };
                let r = reply_for(engine, sid, outcome);
                self.outbox.push((reply, r));
            }
            Request::CopyIn {
                sid,
                copy,
                data,
                reply,
            } => {
                let submitted = engine.copy_in(sid, &copy, &data);
                self.answer(sid, submitted, reply);
            }
            Request::Describe { sid, sql, reply } => {
                let _ = reply.send(engine.describe(sid, &sql));
            }
            Request::CopyFail { sid, reply } => {
                engine.abort_copy(sid);
                let _ = reply.send(engine.txn_status(sid));
            }
            Request::Cancel(sid) => {
                engine.cancel(sid);
            }
            Request::Disconnect(sid) => {
                self.parked.remove(&sid);
                self.doorbells.remove(&sid);
                engine.disconnect(sid);
            }
        }
    }

    fn answer(&mut self, sid: SessionId, submitted: Submitted, reply: oneshot::Sender<Reply>) {
        match submitted {
            Submitted::Done(outcome) => {
                let r = reply_for(&mut self.engine, sid, outcome);
                self.outbox.push((reply, r));
            }
            Submitted::Parked => {
                self.parked.insert(sid, reply);
            }
        }
    }

    /// Outcomes of parked statements that finished go to the outbox.
    fn take_completions(&mut self) {
        for (sid, outcome) in self.engine.take_completions() {
            if let Some(reply) = self.parked.remove(&sid) {
                let r = reply_for(&mut self.engine, sid, outcome);
                self.outbox.push((reply, r));
            }
        }
    }

    /// Syncs the batch's commits, then sends its outcomes. If the sync
    /// fails, the commits may be lost: every outcome of the batch becomes
    /// that error (the database is poisoned; later statements fail too).
    fn flush(&mut self) {
        let failed = self.engine.sync_commits().err().map(SqlError::from);
        for (reply, mut r) in self.outbox.drain(..) {
            if let Some(e) = &failed {
                r.outcome.results.clear();
                r.outcome.error = Some(Error::Sql(e.clone()));
            }
            // The connection may be gone; its Disconnect will follow.
            let _ = reply.send(r);
        }
        // Notifications committed in this batch are durable now: tell the
        // idle sessions they wait for to fetch them.
        if failed.is_none() {
            for sid in self.engine.notified_sessions() {
                if let Some(bell) = self.doorbells.get(&sid) {
                    bell.notify_one();
                }
            }
        }
    }
}

fn reply_for(engine: &mut Engine, sid: SessionId, outcome: Outcome) -> Reply {
    Reply {
        notices: engine.take_notices(sid),
        notifications: engine.take_notifications(sid, NOTIFICATION_BATCH),
        outcome,
        status: engine.txn_status(sid),
        tz: engine.session_tz(sid),
        params: engine.reported_parameters(sid),
    }
}
