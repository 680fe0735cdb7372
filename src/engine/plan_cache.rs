//! The session's plan cache: a SELECT / INSERT / UPDATE / DELETE string's
//! bound and optimised plan, reused while nothing it was built from has
//! changed. With literal lifting (`sql::parse::lift`) statements that
//! differ only in their constants share one entry, so a loop of
//! `UPDATE t SET b = 7 WHERE a = 12` is parsed and planned once.
//!
//! An entry is keyed by the text that was parsed and the parameter types
//! binding started from, and is valid while
//! - the catalog epoch is unchanged: no catalog row was written or
//!   removed, and no transaction that wrote catalog rows has ended since
//!   (its end changes what every snapshot's catalog shows);
//! - the settings epoch is unchanged (search_path and friends decide what
//!   names mean);
//! - the statement's snapshot sees the end of the catalog writers that
//!   ended last. An older snapshot (REPEATABLE READ) may see an older
//!   catalog than the one the entry was built from, and the other way
//!   round: such statements neither use nor fill the cache.
//!
//! Plans that folded something else into constants while binding
//! (`txid_current()`, `pg_stat_activity`'s rows, `current_setting()`) are
//! not cached: the binder marks them volatile.

use std::collections::HashMap;
use std::rc::Rc;

use super::dml::ConflictSpec;
use super::{Engine, SessionId};
use crate::catalog::{IndexDef, TableDef};
use crate::sql::plan::{BExpr, Column, Plan};
use crate::txn::Snapshot;
use crate::value::types::DataType;

/// Entries per session; the cache starts over when full.
const MAX_ENTRIES: usize = 128;

#[derive(Default)]
pub(super) struct PlanCache {
    entries: HashMap<Rc<str>, Entry>,
}

struct Entry {
    hints: Vec<DataType>,
    catalog_epoch: u64,
    settings_epoch: u64,
    plan: Rc<CachedPlan>,
}

pub(super) enum CachedPlan {
    Query(CachedQuery),
    Insert(CachedInsert),
    /// UPDATE and DELETE.
    Modify(CachedModify),
}

pub(super) struct CachedQuery {
    pub(super) plan: Plan,
    pub(super) columns: Vec<Column>,
    pub(super) cte_plans: Rc<Vec<Plan>>,
    /// The tables it reads, locked ACCESS SHARE per execution.
    pub(super) tables: Vec<Rc<TableDef>>,
}

pub(super) struct CachedInsert {
    pub(super) table: Rc<TableDef>,
    pub(super) indexes: Vec<Rc<IndexDef>>,
    /// Target column per source column.
    pub(super) targets: Vec<usize>,
    /// `DEFAULT VALUES`.
    pub(super) default_values: bool,
    pub(super) source: Plan,
    pub(super) defaults: Vec<BExpr>,
    pub(super) target_defaults: Rc<Vec<BExpr>>,
    pub(super) checks: Vec<(String, BExpr)>,
    pub(super) returning: Option<(Vec<BExpr>, Vec<Column>)>,
    pub(super) on_conflict: Option<ConflictSpec>,
    pub(super) cte_plans: Rc<Vec<Plan>>,
    pub(super) capture: bool,
}

pub(super) struct CachedModify {
    pub(super) table: Rc<TableDef>,
    pub(super) indexes: Vec<Rc<IndexDef>>,
    /// The rows to change, optimised (the predicate's filter included).
    pub(super) plan: Plan,
    /// UPDATE's assignments; `None` for DELETE.
    pub(super) assignments: Option<Vec<(usize, BExpr)>>,
    pub(super) pred: Option<BExpr>,
    pub(super) checks: Vec<(String, BExpr)>,
    pub(super) returning: Option<(Vec<BExpr>, Vec<Column>)>,
    pub(super) cte_plans: Rc<Vec<Plan>>,
    pub(super) capture: bool,
    /// DELETE's scan decodes only its WHERE clause's columns (the others
    /// are NULL in its rows).
    pub(super) partial_rows: bool,
}

impl Engine {
    /// The catalog epoch: the catalog's version, bumped here for every
    /// catalog-writing transaction found ended since the last look.
    pub(super) fn catalog_epoch(&mut self) -> u64 {
        if self.catalog.writers.is_empty() {
            return self.catalog.version;
        }
        let txns = &self.txns;
        let (ended, running): (Vec<_>, Vec<_>) = self
            .catalog
            .writers
            .iter()
            .partition(|&&x| txns.owner_of(x).is_none());
        if !ended.is_empty() {
            self.catalog.writers = running;
            self.catalog.version += 1;
            self.catalog_writers_ended = ended;
        }
        self.catalog.version
    }

    /// Whether `snapshot` was taken after the catalog writers that ended
    /// last had ended (so it sees the catalog as it is now, give or take
    /// transactions still running). A cached plan runs only under such a
    /// snapshot.
    pub(super) fn sees_current_catalog(&self, snapshot: &Snapshot) -> bool {
        self.catalog_writers_ended
            .iter()
            .all(|&x| x < snapshot.xmax && !snapshot.in_progress.contains(&x))
    }

    /// The plan cached under `key` for the running statement, if it is
    /// still valid (see the module comment); the caller checks its
    /// snapshot with [`Engine::sees_current_catalog`].
    pub(super) fn cached_plan(
        &mut self,
        sid: SessionId,
        key: Option<&Rc<str>>,
    ) -> Option<Rc<CachedPlan>> {
        let key = key?;
        let catalog_epoch = self.catalog_epoch();
        let e = self.sessions.get(&sid)?.plans.entries.get(key)?;
        (e.catalog_epoch == catalog_epoch
            && e.settings_epoch == self.settings_epoch
            && e.hints == self.param_hints)
            .then(|| e.plan.clone())
    }

    /// Keeps `plan`, just built for the running statement, under `key`
    /// (unless binding folded volatile values into it, or the catalog it
    /// was built from is not the current one). Returns it for running.
    pub(super) fn cache_plan(
        &mut self,
        sid: SessionId,
        key: Option<&Rc<str>>,
        snapshot: &Snapshot,
        plan: CachedPlan,
    ) -> Rc<CachedPlan> {
        let plan = Rc::new(plan);
        let Some(key) = key else {
            return plan;
        };
        let catalog_epoch = self.catalog_epoch();
        if self.bind_volatile || !self.sees_current_catalog(snapshot) {
            return plan;
        }
        let settings_epoch = self.settings_epoch;
        let hints = self.param_hints.clone();
        if let Some(s) = self.sessions.get_mut(&sid) {
            if s.plans.entries.len() >= MAX_ENTRIES {
                s.plans.entries.clear();
            }
            s.plans.entries.insert(
                key.clone(),
                Entry {
                    hints,
                    catalog_epoch,
                    settings_epoch,
                    plan: plan.clone(),
                },
            );
        }
        plan
    }
}
