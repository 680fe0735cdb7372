//! Advisory locks (`pg_advisory_lock` and family): PostgreSQL's
//! application-defined locks on a bigint key or a pair of integer keys,
//! held by the session (re-entrant, released by `pg_advisory_unlock` or
//! when the session ends) or by the transaction (`_xact_` variants), in
//! exclusive or shared (`_shared`) mode. A lock that must wait makes the
//! statement wait (`Error::Wait`) and run again; the `try` variants
//! answer false instead.

use super::{Env, ExecResult};
use crate::error::{Error, Notice, SqlState};
use crate::txn::{LockMode, LockScope, LockTag};
use crate::value::Value;

/// The lock's key: `(bigint)` or `(int, int)`.
fn tag(args: &[Value]) -> Option<LockTag> {
    let int = |v: &Value| match v {
        Value::Int2(x) => Some(i64::from(*x)),
        Value::Int4(x) => Some(i64::from(*x)),
        Value::Int8(x) => Some(*x),
        _ => None,
    };
    match args {
        [k] => Some(LockTag::Advisory {
            key: int(k)?,
            pair: false,
        }),
        [a, b] => Some(LockTag::Advisory {
            key: (int(a)? << 32) | (int(b)? & 0xFFFF_FFFF),
            pair: true,
        }),
        _ => None,
    }
}

/// Evaluates advisory lock function `name`.
pub(super) fn call(name: &str, args: &[Value], env: &mut Env) -> ExecResult<Value> {
    let sid = env.session;
    if name == "pg_advisory_unlock_all" {
        env.txns.unlock_all_session(sid);
        return Ok(Value::Text(String::new()));
    }
    // STRICT: a NULL key gives NULL and takes nothing.
    let Some(tag) = tag(args) else {
        return Ok(Value::Null);
    };
    let mode = if name.ends_with("_shared") {
        LockMode::Share
    } else {
        LockMode::Exclusive
    };
    let scope = if name.contains("_xact_") {
        LockScope::Transaction
    } else {
        LockScope::Session
    };
    if name.starts_with("pg_advisory_unlock") {
        let held = env.txns.unlock(sid, tag, mode);
        if !held {
            env.notices.push(Notice::warning(
                SqlState("01000"),
                format!(
                    "you don't own a lock of type {}",
                    if mode == LockMode::Share {
                        "ShareLock"
                    } else {
                        "ExclusiveLock"
                    }
                ),
            ));
        }
        return Ok(Value::Bool(held));
    }
    let got = env.txns.lock(sid, tag, mode, scope);
    if name.starts_with("pg_try_") {
        return Ok(Value::Bool(got.is_ok()));
    }
    match got {
        Ok(()) => Ok(Value::Text(String::new())),
        Err(c) => {
            env.txns.enqueue_lock(sid, tag, mode);
            Err(Error::Wait { holder: c.holder })
        }
    }
}
