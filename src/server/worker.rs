//! The engine thread. The engine is synchronous and not `Send`, so one
//! dedicated thread owns it and serves requests from the connection tasks
//! over a channel. A statement that must wait for a lock parks: its reply
//! channel is kept, the thread goes on serving others, and after every
//! engine call the finished parked statements (`take_completions`) are
//! sent back to their connections.

use std::collections::HashMap;
use std::sync::mpsc;

use tokio::sync::oneshot;

use crate::engine::{CopyIn, Described, Engine, Outcome, SessionId, Submitted, TxnStatus};
use crate::error::Error;
use crate::sql::tz::TimeZone;
use crate::sql::Value;

/// A statement's outcome plus the session state the protocol reports
/// after it.
pub struct Reply {
    pub outcome: Outcome,
    pub status: TxnStatus,
    pub tz: TimeZone,
}

pub enum Request {
    Connect(oneshot::Sender<SessionId>),
    Submit {
        sid: SessionId,
        sql: String,
        params: Vec<Value>,
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
    /// CancelRequest: fail the session's waiting statement with 57014.
    Cancel(SessionId),
    /// The connection is gone: roll back and release everything.
    Disconnect(SessionId),
}

/// Serves requests until every sender is dropped.
pub fn run(mut engine: Engine, requests: mpsc::Receiver<Request>) {
    let mut parked: HashMap<SessionId, oneshot::Sender<Reply>> = HashMap::new();
    for req in requests {
        match req {
            Request::Connect(reply) => {
                let sid = engine.connect();
                if reply.send(sid).is_err() {
                    engine.disconnect(sid);
                }
            }
            Request::Submit {
                sid,
                sql,
                params,
                reply,
            } => {
                let submitted = engine.submit(sid, &sql, params);
                answer(&engine, &mut parked, sid, submitted, reply);
            }
            Request::CopyIn {
                sid,
                copy,
                data,
                reply,
            } => {
                let submitted = engine.copy_in(sid, &copy, &data);
                answer(&engine, &mut parked, sid, submitted, reply);
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
                parked.remove(&sid);
                engine.disconnect(sid);
            }
        }
        for (sid, outcome) in engine.take_completions() {
            if let Some(reply) = parked.remove(&sid) {
                let r = reply_for(&engine, sid, outcome);
                // The connection may be gone; its Disconnect will follow.
                let _ = reply.send(r);
            }
        }
    }
}

fn reply_for(engine: &Engine, sid: SessionId, outcome: Outcome) -> Reply {
    Reply {
        outcome,
        status: engine.txn_status(sid),
        tz: engine.session_tz(sid),
    }
}

fn answer(
    engine: &Engine,
    parked: &mut HashMap<SessionId, oneshot::Sender<Reply>>,
    sid: SessionId,
    submitted: Submitted,
    reply: oneshot::Sender<Reply>,
) {
    match submitted {
        Submitted::Done(outcome) => {
            let _ = reply.send(reply_for(engine, sid, outcome));
        }
        Submitted::Parked => {
            parked.insert(sid, reply);
        }
    }
}
