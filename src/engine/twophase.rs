//! Two-phase commit statements: PREPARE TRANSACTION, COMMIT PREPARED,
//! ROLLBACK PREPARED, and `pg_prepared_xacts`. The transaction manager
//! keeps the prepared transactions (`txn::twophase`); this is where the
//! statements meet PostgreSQL's rules and messages.

use super::session::Step;
use super::settings::MAX_PREPARED_TRANSACTIONS;
use super::{sql_err, Engine, QueryResult, Result, SessionId};
use crate::error::{Error, SqlState};
use crate::sql::parse::ast::Statement;
use crate::txn::PrepareInfo;
use crate::value::Value;

impl Engine {
    /// PREPARE TRANSACTION `gid`. Outside a transaction block PostgreSQL
    /// warns and reports ROLLBACK; a failed block is rolled back. Any
    /// error (gid in use or too long, a deferred constraint, a
    /// serialization failure) rolls the transaction back.
    pub(super) fn prepare_transaction(&mut self, sid: SessionId, gid: String) -> Result<Step> {
        match self.txns.get(sid).map(|t| t.failed) {
            None => {
                self.warn_no_transaction(sid);
                return Ok(Step::Done(QueryResult::tag("ROLLBACK")));
            }
            Some(true) => {
                self.end_txn(sid, false)?;
                return Ok(Step::Done(QueryResult::tag("ROLLBACK")));
            }
            Some(false) => {}
        }
        if !self.txns.get(sid).is_some_and(|t| t.explicit) {
            // A multi-statement string's implicit transaction: PostgreSQL
            // warns, then prepares it.
            self.warn_no_transaction(sid);
        }
        if self.has_exported_snapshots(sid) {
            self.end_txn(sid, false)?;
            return Err(sql_err(
                SqlState::FEATURE_NOT_SUPPORTED,
                "cannot PREPARE a transaction that has exported snapshots",
            ));
        }
        if self
            .txns
            .get(sid)
            .is_some_and(|t| !t.async_actions.is_empty())
        {
            self.end_txn(sid, false)?;
            return Err(sql_err(
                SqlState::FEATURE_NOT_SUPPORTED,
                "cannot PREPARE a transaction that has executed LISTEN, UNLISTEN, or NOTIFY",
            ));
        }
        match self.check_deferred_constraints(sid, true) {
            Ok(()) => {}
            Err(Error::Wait { holder }) => {
                return Ok(Step::Retry(
                    std::rc::Rc::new(Statement::PrepareTransaction(gid)),
                    holder,
                ));
            }
            Err(e) => {
                self.end_txn(sid, false)?;
                return Err(e);
            }
        }
        // The transaction's cursors end here, as at COMMIT: a prepared
        // transaction has no session to read them, and their snapshots
        // must not hold vacuum back until COMMIT PREPARED.
        let _ = self.close_cursor(sid, None);
        let info = PrepareInfo {
            gid,
            prepared_at: (self.config.clock)(),
            owner: "neuraldb".into(),
            database: self.config.database_name.clone(),
            max_prepared: MAX_PREPARED_TRANSACTIONS,
            vxid: self
                .sessions
                .get(&sid)
                .map(|s| format!("{sid}/{}", s.activity.local_xact)),
        };
        match self.txns.prepare(&mut self.pager, sid, info) {
            Ok((_, waiters)) => {
                // As at COMMIT: SETs stay, SET LOCALs go.
                self.end_settings_txn(sid, true);
                // Whoever waited for this session's transaction now waits
                // for the prepared one.
                self.resume(sid, waiters);
                Ok(Step::Done(QueryResult::tag("PREPARE TRANSACTION")))
            }
            Err(e) => {
                self.end_txn(sid, false)?;
                Err(e.into())
            }
        }
    }

    /// COMMIT PREPARED / ROLLBACK PREPARED `gid`, from any session that is
    /// not inside a transaction block.
    pub(super) fn finish_prepared(
        &mut self,
        sid: SessionId,
        gid: &str,
        commit: bool,
    ) -> Result<QueryResult> {
        let command = if commit {
            "COMMIT PREPARED"
        } else {
            "ROLLBACK PREPARED"
        };
        if self.txns.get(sid).is_some_and(|t| t.explicit) {
            return Err(sql_err(
                SqlState::ACTIVE_SQL_TRANSACTION,
                format!("{command} cannot run inside a transaction block"),
            ));
        }
        let (pseudo, waiters) = self.txns.finish_prepared(&mut self.pager, gid, commit)?;
        if commit {
            // What it changed is not kept with a prepared transaction.
            self.notify.record(super::notify::CommitEvent {
                sender: sid,
                relations: None,
            });
        }
        self.resume(pseudo, waiters);
        Ok(QueryResult::tag(command))
    }

    /// `pg_prepared_xacts`: transaction, gid, prepared, owner, database.
    pub(super) fn pg_prepared_xacts(&self) -> Vec<Vec<Value>> {
        self.txns
            .prepared()
            .map(|p| {
                let r = &p.record;
                vec![
                    r.live_xids
                        .first()
                        .map_or(Value::Null, |&x| Value::Int8(x as i64)),
                    Value::Text(r.gid.clone()),
                    Value::Timestamptz(r.prepared_at),
                    Value::Text(r.owner.clone()),
                    Value::Text(r.database.clone()),
                ]
            })
            .collect()
    }
}
