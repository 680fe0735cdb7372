//! Scalar function dispatch: the functions that need the running
//! statement's environment (`txid_status`, `now()`), then the value
//! library's functions.

use super::exec::{Env, ExecResult};
use super::types::DataType;
use super::value::Value;
use crate::error::{Error, SqlError, SqlState};
use crate::txn::XidStatus;

fn no_function(name: &str, types: &[DataType]) -> SqlError {
    SqlError::new(
        SqlState::UNDEFINED_FUNCTION,
        format!(
            "function {name}({}) does not exist",
            types.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
        ),
    )
    .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")
}

/// Result type of scalar function `name` over arguments of `types`.
pub fn function_type(name: &str, types: &[DataType]) -> Result<DataType, SqlError> {
    Ok(match name {
        "txid_status" => DataType::Text,
        "now"
        | "current_timestamp"
        | "transaction_timestamp"
        | "statement_timestamp"
        | "clock_timestamp" => DataType::Timestamptz,
        "greatest" | "least" => types.first().cloned().unwrap_or(DataType::Unknown),
        _ => return Err(no_function(name, types)),
    })
}

/// Calls scalar function `name`.
pub fn call(name: &str, args: Vec<Value>, env: &mut Env) -> ExecResult<Value> {
    Ok(match name {
        "txid_status" => match args.first() {
            Some(Value::Null) | None => Value::Null,
            Some(v) => {
                let xid = match v {
                    Value::Int8(x) => *x,
                    Value::Int4(x) => *x as i64,
                    other => {
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
                Value::Text(
                    match env.txns.status(env.pager, xid as u64)? {
                        XidStatus::Committed => "committed",
                        XidStatus::Aborted => "aborted",
                        XidStatus::InProgress => "in progress",
                    }
                    .into(),
                )
            }
        },
        "now"
        | "current_timestamp"
        | "transaction_timestamp"
        | "statement_timestamp"
        | "clock_timestamp" => Value::Timestamptz(env.now),
        "greatest" | "least" => {
            let mut best: Option<Value> = None;
            for v in args.into_iter().filter(|v| !v.is_null()) {
                best = Some(match best {
                    None => v,
                    Some(b) => {
                        let ord = v.sort_cmp(&b);
                        if (name == "greatest") == (ord == std::cmp::Ordering::Greater) {
                            v
                        } else {
                            b
                        }
                    }
                });
            }
            best.unwrap_or(Value::Null)
        }
        _ => {
            let types: Vec<DataType> = args.iter().map(|v| v.data_type()).collect();
            return Err(Error::Sql(no_function(name, &types)));
        }
    })
}
