//! Scalar function dispatch: functions that need the running statement's
//! environment (`txid_status`), then the value library's.

use super::exec::{Env, ExecResult};
use super::functions;
use super::types::DataType;
use super::value::Value;
use crate::error::{Error, SqlError, SqlState};
use crate::txn::XidStatus;

/// Result type of scalar function `name` over arguments of `types`.
pub fn function_type(name: &str, types: &[DataType]) -> Result<DataType, SqlError> {
    match name {
        "txid_status" => Ok(DataType::Text),
        _ => functions::function_return_type(name, types),
    }
}

/// Calls scalar function `name`.
pub fn call(name: &str, args: Vec<Value>, env: &mut Env) -> ExecResult<Value> {
    if name == "txid_status" {
        return txid_status(args.first(), env);
    }
    let mut ctx = functions::FnContext {
        tz: env.tz,
        now_micros: env.now,
        rng: env.rng,
    };
    Ok(functions::call_function(name, &args, &mut ctx)?)
}

fn txid_status(arg: Option<&Value>, env: &mut Env) -> ExecResult<Value> {
    let xid = match arg {
        Some(Value::Null) | None => return Ok(Value::Null),
        Some(Value::Int8(x)) => *x,
        Some(Value::Int4(x)) => *x as i64,
        Some(other) => {
            return Err(Error::Sql(SqlError::new(
                SqlState::DATATYPE_MISMATCH,
                format!("txid_status needs a bigint, not {}", other.data_type()),
            )))
        }
    };
    if xid < 0 || xid as u64 >= env.txns.next_xid() {
        return Err(Error::Sql(SqlError::new(
            SqlState::INVALID_PARAMETER_VALUE,
            format!("transaction ID {xid} is in the future"),
        )));
    }
    Ok(Value::Text(
        match env.txns.status(env.pager, xid as u64)? {
            XidStatus::Committed => "committed",
            XidStatus::Aborted => "aborted",
            XidStatus::InProgress => "in progress",
        }
        .into(),
    ))
}
