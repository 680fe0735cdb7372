//! SET, SHOW, RESET and `current_setting`: the session's settings.

use super::{sql_err, Engine, QueryResult, Result, SessionId, SERVER_VERSION};
use crate::access::hnsw::{IterativeScan, ScanSettings};
use crate::error::{Error, SqlError, SqlState};
use crate::sql::parse::ast::{self, Expr};
use crate::txn::IsolationLevel;
use crate::value::tz::TimeZone;
use crate::value::Value;

/// A time setting (statement_timeout) in milliseconds: a number of
/// milliseconds or a number with a unit (`us`, `ms`, `s`, `min`, `h`, `d`),
/// rounded as PostgreSQL does; None when malformed or negative.
pub(super) fn parse_duration_ms(text: &str) -> Option<i64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let factor = match unit.trim() {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1_000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    let ms = (n * factor).round();
    (ms.is_finite() && (0.0..=i32::MAX as f64).contains(&ms)).then_some(ms as i64)
}

/// SHOW's form of a millisecond setting: the largest unit that divides it.
pub(super) fn format_duration_ms(ms: i64) -> String {
    if ms == 0 {
        return "0".into();
    }
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("min", 60_000),
        ("s", 1_000),
    ] {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// A memory setting (`maintenance_work_mem`) in kB: a number of kB or a
/// number with a unit (`B`, `kB`, `MB`, `GB`, `TB`, case-sensitive as in
/// PostgreSQL), rounded to kB; None when malformed or negative.
pub(super) fn parse_memory_kb(text: &str) -> Option<i64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let factor = match unit.trim() {
        "" | "kB" => 1.0,
        "B" => 1.0 / 1024.0,
        "MB" => 1024.0,
        "GB" => 1024.0 * 1024.0,
        "TB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let kb = (n * factor).round();
    (kb.is_finite() && (0.0..=i32::MAX as f64).contains(&kb)).then_some(kb as i64)
}

/// SHOW's form of a kB setting: the largest unit that divides it.
/// The value of a memory setting, in kB: at least 1MB, as PostgreSQL
/// bounds `maintenance_work_mem`.
fn memory_setting(name: &str, text: &str) -> Result<usize> {
    let kb = parse_memory_kb(text).ok_or_else(|| {
        Error::Sql(
            SqlError::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("invalid value for parameter \"{name}\": \"{text}\""),
            )
            .with_hint(
                "Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".",
            ),
        )
    })?;
    if !(1024..=i64::from(i32::MAX)).contains(&kb) {
        return Err(sql_err(
            SqlState::INVALID_PARAMETER_VALUE,
            format!(
                "{kb} kB is outside the valid range for parameter \"{name}\" (1024 .. 2147483647)"
            ),
        ));
    }
    Ok(kb as usize)
}

pub(super) fn format_memory_kb(kb: i64) -> String {
    for (unit, size) in [("TB", 1 << 30), ("GB", 1 << 20), ("MB", 1 << 10)] {
        if kb != 0 && kb % size == 0 {
            return format!("{}{unit}", kb / size);
        }
    }
    format!("{kb}kB")
}

/// An integer setting's value, checked against its range as PostgreSQL's
/// GUC machinery does (22023 either way).
fn int_setting(name: &str, text: &str, min: i64, max: i64) -> Result<i64> {
    let n: i64 = text.trim().parse().map_err(|_| {
        sql_err(
            SqlState::INVALID_PARAMETER_VALUE,
            format!("invalid value for parameter \"{name}\": \"{text}\""),
        )
    })?;
    if !(min..=max).contains(&n) {
        return Err(sql_err(
            SqlState::INVALID_PARAMETER_VALUE,
            format!("{n} is outside the valid range for parameter \"{name}\" ({min} .. {max})"),
        ));
    }
    Ok(n)
}

/// One SET, SET LOCAL or RESET made in a transaction.
pub(super) struct SetOp {
    /// The setting's name, or "all" for RESET ALL.
    name: String,
    value: ast::SetValue,
    local: bool,
    /// Savepoints open when it ran.
    depth: usize,
}

/// The settings as they were when the transaction's first SET ran, and
/// the changes since: PostgreSQL's GUC stack, flattened. ROLLBACK goes
/// back to `before`; COMMIT replays the changes that were not LOCAL;
/// ROLLBACK TO replays those made before the savepoint.
pub(super) struct SettingsTxn {
    before: super::session::Settings,
    ops: Vec<SetOp>,
}

/// `max_prepared_transactions`: fixed, as PostgreSQL's needs a restart.
/// PostgreSQL's default is 0 (two-phase commit off); ours lets it work
/// out of the box.
pub(super) const MAX_PREPARED_TRANSACTIONS: usize = 64;

impl Engine {
    /// SET [LOCAL] / RESET (`name` "all": RESET ALL) as a statement:
    /// applied now and remembered so that the transaction's end or a
    /// ROLLBACK TO can undo it, as PostgreSQL does.
    pub(super) fn set_statement(
        &mut self,
        sid: SessionId,
        name: &str,
        value: ast::SetValue,
        local: bool,
    ) -> Result<()> {
        let (in_block, depth) = self
            .txns
            .get(sid)
            .map_or((false, 0), |t| (t.explicit, t.savepoint_depth()));
        if local && !in_block {
            self.raise_notice(
                sid,
                crate::error::Notice::warning(
                    SqlState::NO_ACTIVE_SQL_TRANSACTION,
                    "SET LOCAL can only be used in transaction blocks",
                ),
            );
        }
        let before = self
            .sessions
            .get(&sid)
            .ok_or_else(|| sql_err(SqlState("08003"), "no such session"))?
            .settings
            .clone();
        self.apply_set(sid, name, &value)?;
        if self.txns.get(sid).is_some() {
            let s = self.sessions.get_mut(&sid).expect("checked above");
            let txn = s.settings_txn.get_or_insert_with(|| SettingsTxn {
                before,
                ops: Vec::new(),
            });
            txn.ops.push(SetOp {
                name: name.to_string(),
                value,
                local,
                depth,
            });
        }
        Ok(())
    }

    fn apply_set(&mut self, sid: SessionId, name: &str, value: &ast::SetValue) -> Result<()> {
        self.settings_epoch += 1;
        if name == "all" {
            let s = self
                .sessions
                .get_mut(&sid)
                .ok_or_else(|| sql_err(SqlState("08003"), "no such session"))?;
            s.settings = super::session::Settings::default();
            return Ok(());
        }
        self.set_variable(sid, name, value).map(|_| ())
    }

    /// Goes back to `before` and replays the kept changes (they were valid
    /// when they ran, so they apply again).
    fn replay_settings(&mut self, sid: SessionId, before: super::session::Settings, ops: &[SetOp]) {
        self.settings_epoch += 1;
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.settings = before;
        }
        for op in ops {
            let _ = self.apply_set(sid, &op.name, &op.value);
        }
    }

    /// The transaction of `sid` ended: a commit keeps its SETs (not the
    /// LOCAL ones), a rollback undoes them all.
    pub(super) fn end_settings_txn(&mut self, sid: SessionId, committed: bool) {
        let Some(txn) = self
            .sessions
            .get_mut(&sid)
            .and_then(|s| s.settings_txn.take())
        else {
            return;
        };
        if txn.ops.iter().all(|o| !o.local) && committed {
            return;
        }
        let kept: Vec<SetOp> = if committed {
            txn.ops.into_iter().filter(|o| !o.local).collect()
        } else {
            Vec::new()
        };
        self.replay_settings(sid, txn.before, &kept);
    }

    /// ROLLBACK TO a savepoint, which leaves `depth` savepoints open:
    /// the SETs made inside it are undone.
    pub(super) fn rollback_settings_to(&mut self, sid: SessionId, depth: usize) {
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        let Some(txn) = s.settings_txn.as_mut() else {
            return;
        };
        if txn.ops.iter().all(|o| o.depth < depth) {
            return;
        }
        txn.ops.retain(|o| o.depth < depth);
        let before = txn.before.clone();
        let ops = std::mem::take(&mut txn.ops);
        self.replay_settings(sid, before, &ops);
        if let Some(txn) = self
            .sessions
            .get_mut(&sid)
            .and_then(|s| s.settings_txn.as_mut())
        {
            txn.ops = ops;
        }
    }

    /// RELEASE leaves `depth` savepoints open: changes made inside the
    /// released ones now belong to the enclosing level.
    pub(super) fn release_settings_to(&mut self, sid: SessionId, depth: usize) {
        if let Some(txn) = self
            .sessions
            .get_mut(&sid)
            .and_then(|s| s.settings_txn.as_mut())
        {
            for o in &mut txn.ops {
                o.depth = o.depth.min(depth);
            }
        }
    }

    /// SHOW ALL: every setting with its value and description.
    pub(super) fn show_all(&self, sid: SessionId) -> Result<QueryResult> {
        let rows: Vec<Vec<Value>> = self
            .pg_settings(sid)?
            .into_iter()
            .map(|r| {
                let mut it = r.into_iter();
                let name = it.next().unwrap_or(Value::Null);
                let setting = it.next().unwrap_or(Value::Null);
                let desc = match it.next() {
                    Some(Value::Text(t)) => Value::Text(t),
                    _ => Value::Text(String::new()),
                };
                vec![name, setting, desc]
            })
            .collect();
        let col = |name: &str| crate::sql::plan::Column {
            name: name.into(),
            ty: crate::value::types::DataType::Text,
        };
        Ok(QueryResult {
            command: format!("SHOW {}", rows.len()),
            columns: vec![col("name"), col("setting"), col("description")],
            rows_affected: rows.len() as u64,
            rows,
            copy: None,
        })
    }

    /// DISCARD: ALL resets the session (settings, prepared statements,
    /// session-level advisory locks, sequence values seen) and cannot run
    /// in a transaction block; PLANS and TEMP have nothing to discard (no
    /// per-session plans, no temporary tables); SEQUENCES forgets currval.
    pub(super) fn discard(
        &mut self,
        sid: SessionId,
        what: ast::DiscardWhat,
    ) -> Result<QueryResult> {
        use ast::DiscardWhat as D;
        match what {
            D::All => {
                if self.txns.get(sid).is_some_and(|t| t.explicit) {
                    return Err(sql_err(
                        SqlState::ACTIVE_SQL_TRANSACTION,
                        "DISCARD ALL cannot run inside a transaction block",
                    ));
                }
                self.set_statement(sid, "all", ast::SetValue::Default, false)?;
                self.queue_async_action(sid, crate::txn::AsyncAction::UnlistenAll)?;
                self.drop_temp_objects(sid, super::schemas::temp_namespace(sid))?;
                self.txns.unlock_all_session(sid);
                if let Some(s) = self.sessions.get_mut(&sid) {
                    s.prepared.clear();
                    s.currval.clear();
                }
                self.wake_waiters(sid);
                Ok(QueryResult::tag("DISCARD ALL"))
            }
            D::Plans => Ok(QueryResult::tag("DISCARD PLANS")),
            D::Sequences => {
                if let Some(s) = self.sessions.get_mut(&sid) {
                    s.currval.clear();
                }
                Ok(QueryResult::tag("DISCARD SEQUENCES"))
            }
            D::Temp => {
                self.drop_temp_objects(sid, super::schemas::temp_namespace(sid))?;
                Ok(QueryResult::tag("DISCARD TEMP"))
            }
        }
    }

    pub(super) fn set_variable(
        &mut self,
        sid: SessionId,
        name: &str,
        value: &ast::SetValue,
    ) -> Result<QueryResult> {
        self.settings_epoch += 1;
        let text = match value {
            ast::SetValue::Default => None,
            ast::SetValue::Values(vals) => Some(
                vals.iter()
                    .map(|e| match e {
                        Expr::UntypedString(s) => Ok(s.clone()),
                        Expr::Literal(v) => Ok(v.to_pg_text(&TimeZone::utc()).unwrap_or_default()),
                        _ => Err(sql_err(
                            SqlState::SYNTAX_ERROR,
                            format!("invalid value for parameter \"{name}\""),
                        )),
                    })
                    .collect::<Result<Vec<_>>>()?
                    .join(", "),
            ),
        };
        let s = self
            .sessions
            .get_mut(&sid)
            .ok_or_else(|| sql_err(SqlState("08003"), "no such session"))?;
        let lname = name.to_lowercase();
        match lname.as_str() {
            "max_prepared_transactions" => {
                return Err(sql_err(
                    SqlState("55P02"),
                    format!("parameter \"{lname}\" cannot be changed without restarting the server"),
                ));
            }
            "default_transaction_isolation" | "transaction_isolation" => {
                let level =
                    match text.as_deref().map(|t| t.to_lowercase()) {
                        None => IsolationLevel::ReadCommitted,
                        Some(t) => match t.as_str() {
                            "read committed" | "read uncommitted" => IsolationLevel::ReadCommitted,
                            "repeatable read" => IsolationLevel::RepeatableRead,
                            "serializable" => IsolationLevel::Serializable,
                            other => {
                                return Err(sql_err(
                                    SqlState::INVALID_PARAMETER_VALUE,
                                    format!("invalid value for parameter \"{name}\": \"{other}\""),
                                ))
                            }
                        },
                    };
                if lname == "transaction_isolation" {
                    if let Some(t) = self.txns.get_mut(sid) {
                        t.isolation = level;
                    }
                } else {
                    s.settings.default_isolation = level;
                }
            }
            "synchronous_commit" => {
                s.settings.synchronous_commit = match text.as_deref().map(|t| t.to_lowercase()) {
                    None => true,
                    Some(t) => match t.as_str() {
                        "on" | "true" | "1" | "yes" | "local" | "remote_write" | "remote_apply" => {
                            true
                        }
                        "off" | "false" | "0" | "no" => false,
                        other => {
                            return Err(sql_err(
                                SqlState::INVALID_PARAMETER_VALUE,
                                format!(
                                "invalid value for parameter \"synchronous_commit\": \"{other}\""
                            ),
                            ))
                        }
                    },
                }
            }
            "statement_timeout" => {
                s.settings.statement_timeout_ms = match text {
                    None => 0,
                    Some(t) => parse_duration_ms(&t).ok_or_else(|| {
                        Error::Sql(SqlError::new(
                            SqlState::INVALID_PARAMETER_VALUE,
                            format!("invalid value for parameter \"statement_timeout\": \"{t}\""),
                        )
                        .with_hint("Valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\"."))
                    })?,
                }
            }
            "lock_timeout"
            | "idle_in_transaction_session_timeout"
            | "transaction_timeout"
            | "deadlock_timeout" => match text {
                None => {
                    s.settings.other.remove(&lname);
                }
                Some(t) => {
                    let ms = parse_duration_ms(&t).ok_or_else(|| {
                        sql_err(
                            SqlState::INVALID_PARAMETER_VALUE,
                            format!("invalid value for parameter \"{lname}\": \"{t}\""),
                        )
                    })?;
                    s.settings.other.insert(lname, format_duration_ms(ms));
                }
            },
            "hnsw.ef_search" => {
                s.settings.hnsw.ef_search = match text {
                    None => ScanSettings::default().ef_search,
                    Some(t) => int_setting(&lname, &t, 1, 1000)? as usize,
                }
            }
            "maintenance_work_mem" => {
                s.settings.maintenance_work_mem_kb = match text {
                    None => super::session::DEFAULT_MAINTENANCE_WORK_MEM_KB,
                    Some(t) => memory_setting(&lname, &t)?,
                }
            }
            "neuraldb.max_query_memory" => {
                s.settings.max_query_memory_kb = match text {
                    None => super::session::DEFAULT_MAX_QUERY_MEMORY_KB,
                    Some(t) => memory_setting(&lname, &t)?,
                }
            }
            "hnsw.max_scan_tuples" => {
                s.settings.hnsw.max_scan_tuples = match text {
                    None => ScanSettings::default().max_scan_tuples,
                    Some(t) => int_setting(&lname, &t, 1, i32::MAX as i64)? as usize,
                }
            }
            "hnsw.iterative_scan" => {
                s.settings.hnsw.iterative = match text.as_deref().map(|t| t.to_lowercase()) {
                    None => IterativeScan::Off,
                    Some(t) => IterativeScan::parse(&t).ok_or_else(|| {
                        Error::Sql(
                            SqlError::new(
                                SqlState::INVALID_PARAMETER_VALUE,
                                format!("invalid value for parameter \"{lname}\": \"{t}\""),
                            )
                            .with_hint("Available values: off, relaxed_order, strict_order."),
                        )
                    })?,
                }
            }
            "timezone" | "time zone" => {
                s.settings.timezone = match text {
                    None => TimeZone::utc(),
                    Some(t) => TimeZone::parse_setting(&t)?,
                }
            }
            _ => match text {
                None => {
                    s.settings.other.remove(&lname);
                }
                Some(t) => {
                    s.settings.other.insert(lname, t);
                }
            },
        }
        Ok(QueryResult::tag("SET"))
    }

    /// The settings a wire-protocol server reports to its client
    /// (ParameterStatus) whenever they change, with their current values.
    /// The others PostgreSQL reports are fixed here and sent once at
    /// startup.
    pub fn reported_parameters(&self, sid: SessionId) -> Vec<(&'static str, String)> {
        ["application_name", "DateStyle", "TimeZone"]
            .into_iter()
            .filter_map(|name| Some((name, self.show_variable(sid, name).ok()?)))
            .collect()
    }

    pub(super) fn show_variable(&self, sid: SessionId, name: &str) -> Result<String> {
        let s = self
            .sessions
            .get(&sid)
            .ok_or_else(|| sql_err(SqlState("08003"), "no such session"))?;
        show_setting(&s.settings, self.txns.get(sid), name)
    }
}

/// SHOW `name` (and `current_setting`) for a session with `settings`,
/// in transaction `txn` if it is in one.
pub(super) fn show_setting(
    settings: &super::session::Settings,
    txn: Option<&crate::txn::TxnState>,
    name: &str,
) -> Result<String> {
    let level_name = |l: IsolationLevel| match l {
        IsolationLevel::ReadCommitted | IsolationLevel::ReadUncommitted => "read committed",
        IsolationLevel::RepeatableRead => "repeatable read",
        IsolationLevel::Serializable => "serializable",
    };
    let lname = name.to_lowercase();
    Ok(match lname.as_str() {
        "default_transaction_isolation" => level_name(settings.default_isolation).into(),
        "transaction_isolation" | "transaction isolation level" => level_name(
            txn.map(|t| t.isolation)
                .unwrap_or(settings.default_isolation),
        )
        .into(),
        "synchronous_commit" => if settings.synchronous_commit {
            "on"
        } else {
            "off"
        }
        .into(),
        "timezone" | "time zone" => settings.timezone.name().to_string(),
        "statement_timeout" => format_duration_ms(settings.statement_timeout_ms),
        "hnsw.ef_search" => settings.hnsw.ef_search.to_string(),
        "hnsw.max_scan_tuples" => settings.hnsw.max_scan_tuples.to_string(),
        "maintenance_work_mem" => format_memory_kb(settings.maintenance_work_mem_kb as i64),
        "neuraldb.max_query_memory" => format_memory_kb(settings.max_query_memory_kb as i64),
        "hnsw.iterative_scan" => settings.hnsw.iterative.name().into(),
        "lock_timeout" | "idle_in_transaction_session_timeout" | "transaction_timeout"
            if !settings.other.contains_key(lname.as_str()) =>
        {
            "0".into()
        }
        "deadlock_timeout" if !settings.other.contains_key(lname.as_str()) => "1s".into(),
        "server_version" => SERVER_VERSION.into(),
        "max_prepared_transactions" => MAX_PREPARED_TRANSACTIONS.to_string(),
        "server_encoding" | "client_encoding" => "UTF8".into(),
        "datestyle" => "ISO, MDY".into(),
        "integer_datetimes" => "on".into(),
        "standard_conforming_strings" => "on".into(),
        "server_version_num" => "150000".into(),
        "search_path" if !settings.other.contains_key("search_path") => {
            super::schemas::DEFAULT_SEARCH_PATH.into()
        }
        "default_table_access_method"
            if !settings.other.contains_key("default_table_access_method") =>
        {
            "heap".into()
        }
        "application_name" if !settings.other.contains_key("application_name") => String::new(),
        "transaction_read_only" => if txn.is_some_and(|t| t.read_only) {
            "on"
        } else {
            "off"
        }
        .into(),
        other => settings.other.get(other).cloned().ok_or_else(|| {
            sql_err(
                SqlState::UNDEFINED_OBJECT,
                format!("unrecognized configuration parameter \"{name}\""),
            )
        })?,
    })
}
