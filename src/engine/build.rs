//! CREATE INDEX's build. It runs in slices: after each heap page, once a
//! slice's time is used up, the statement yields ([`Step::Yielded`]) and
//! the host lets other sessions run before [`Engine::work`] resumes it.
//! That is how another session (tab) can read
//! `pg_stat_progress_create_index`, and cancel the build, while it runs on
//! a single thread.
//!
//! Invariant between slices: every HNSW/B+tree insert is complete (the
//! index's pages are consistent), and the table's Share lock keeps
//! writers and VACUUM away, so the heap pages already scanned do not
//! change under the build.

use std::collections::HashSet;

use super::constraints::{key_detail, key_has_null};
use super::session::Step;
use super::session::DEFAULT_MAINTENANCE_WORK_MEM_KB;
use super::{Engine, Progress, QueryResult, Result, SessionId};
use crate::access;
use crate::catalog::{IndexDef, IndexMethod, Object, TableDef};
use crate::error::{Error, SqlError, SqlState};
use crate::heap::{flags, Heap, PageView, Tid};
use crate::pager::PageId;
use crate::sql::exec;
use crate::txn::{Xid, XidStatus};
use crate::value::row::decode_row_needed_into;
use crate::value::tz::TimeZone;

/// A CREATE INDEX in progress.
pub(super) struct IndexBuild {
    pub(super) def: IndexDef,
    table: TableDef,
    xid: Xid,
    cid: u32,
    /// The heap page to scan next (0: the scan is done), and the last slot
    /// of it already indexed.
    page: PageId,
    done_slot: Option<u16>,
    /// Versions that count for uniqueness (not deleted by a committed
    /// transaction) among those indexed so far.
    live: HashSet<Tid>,
    pub(super) progress: Progress,
    /// When progress was last reported to the hook (engine clock).
    reported: i64,
    /// Loads the rows (an HNSW graph is built in memory, then written).
    builder: Box<dyn access::IndexBuilder>,
}

impl IndexBuild {
    /// Starts the build of `def` (whose empty storage exists) over `table`.
    pub(super) fn start(
        engine: &mut Engine,
        sid: SessionId,
        table: TableDef,
        def: IndexDef,
        xid: Xid,
        cid: u32,
    ) -> Result<IndexBuild> {
        engine.break_hot_chains(&table)?;
        let heap = Heap::open(table.heap);
        let first = heap.first_page(&mut engine.pager)?;
        // tuples_total counts every version in the heap, as
        // PostgreSQL's reltuples-based estimate would roughly do.
        let mut total = 0u64;
        let mut p = first;
        let mut view = PageView::default();
        while p != 0 {
            heap.view_page(&mut engine.pager, p, &mut view)?;
            total += view.len() as u64;
            p = view.next_page();
        }
        let memory = engine
            .sessions
            .get(&sid)
            .map_or(DEFAULT_MAINTENANCE_WORK_MEM_KB, |s| {
                s.settings.maintenance_work_mem_kb
            })
            .saturating_mul(1024);
        let builder = access::builder(&mut engine.pager, &def, memory, total as usize)?;
        let mut build = IndexBuild {
            builder,
            progress: Progress {
                command: "CREATE INDEX",
                index: def.name.clone(),
                // pgvector's and PostgreSQL's phase name for the heap scan
                // that inserts each tuple.
                phase: "building index: loading tuples",
                tuples_done: 0,
                tuples_total: total,
            },
            def,
            table,
            xid,
            cid,
            page: first,
            done_slot: None,
            live: HashSet::new(),
            reported: 0,
        };
        engine.report_progress(sid, &build.progress, &mut build.reported, true);
        Ok(build)
    }

    /// Indexes heap pages until the scan is done (true) or, with
    /// `slice_micros`, until that much time has passed at the end of a
    /// page (false: call again).
    pub(super) fn run(
        &mut self,
        engine: &mut Engine,
        sid: SessionId,
        slice_micros: Option<i64>,
    ) -> Result<bool> {
        let start = (engine.config.clock)();
        let am = access::open(&self.def);
        let heap = Heap::open(self.table.heap);
        let hnsw = self.def.method == IndexMethod::Hnsw;
        let mut view = PageView::default();
        // A plain index reads only its key columns: the others are not
        // decoded.
        let types = exec::stored_types(&self.table);
        let needed = self.def.is_plain().then(|| {
            let mut n = vec![false; types.len()];
            for &c in &self.def.columns {
                if let Some(x) = n.get_mut(c) {
                    *x = true;
                }
            }
            n
        });
        let mut row = Vec::new();
        while self.page != 0 {
            heap.view_page(&mut engine.pager, self.page, &mut view)?;
            let next = view.next_page();
            for i in 0..view.len() {
                let (tid, header) = view.tuple(i);
                if self.done_slot.is_some_and(|s| tid.slot <= s) {
                    continue;
                }
                engine.report_progress(sid, &self.progress, &mut self.reported, false);
                // A build is long: cancel and statement_timeout (57014)
                // reach it; the error rolls the half-built index back
                // with the statement.
                if hnsw {
                    engine.interrupts.heavy_tick()?;
                } else {
                    engine.interrupts.tick()?;
                }
                self.progress.tuples_done += 1;
                self.done_slot = Some(tid.slot);
                let status = engine.txns.status(&mut engine.pager, header.xmin)?;
                // A redirect has no row (and no snapshot sees it).
                if status == XidStatus::Aborted || header.flags & flags::REDIRECT != 0 {
                    continue;
                }
                let payload = view.payload(&mut engine.pager, i)?;
                match &needed {
                    Some(n) => decode_row_needed_into(&payload, &types, n, &mut row)?,
                    None => row = exec::decode_table_row(&self.table, &payload)?,
                }
                let Some(key) = engine.index_entry(&self.def, &self.table, &row)? else {
                    continue;
                };
                if self.def.unique && !key_has_null(&key) {
                    let deleted = header.xmax != 0
                        && header.flags & flags::XMAX_LOCK_ONLY == 0
                        && engine.txns.status(&mut engine.pager, header.xmax)?
                            == XidStatus::Committed;
                    let duplicate = !deleted
                        && am
                            .lookup(&mut engine.pager, &key)?
                            .iter()
                            .any(|tid| self.live.contains(tid));
                    if duplicate {
                        return Err(Error::Sql(
                            SqlError::new(
                                SqlState::UNIQUE_VIOLATION,
                                format!("could not create unique index \"{}\"", self.def.name),
                            )
                            .with_detail(format!(
                                "Key {} is duplicated.",
                                key_detail(&self.table, &self.def, &key, &TimeZone::utc())
                            )),
                        ));
                    }
                    if !deleted {
                        self.live.insert(tid);
                    }
                }
                self.builder.add(&mut engine.pager, &key, tid)?;
            }
            self.page = next;
            self.done_slot = None;
            if let Some(slice) = slice_micros {
                if self.page != 0 && (engine.config.clock)() - start >= slice {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Records the finished index in the catalog (visible with the
    /// transaction's commit).
    pub(super) fn finish(mut self, engine: &mut Engine, sid: SessionId) -> Result<QueryResult> {
        if let Err(e) = self.builder.finish(&mut engine.pager) {
            self.abandon(engine);
            return Err(e);
        }
        engine.report_progress(sid, &self.progress, &mut self.reported, true);
        engine.catalog.insert(
            &mut engine.pager,
            self.xid,
            self.cid,
            Object::Index(self.def),
        )?;
        Ok(QueryResult::tag("CREATE INDEX"))
    }

    /// A build that failed or was cancelled: frees the index's storage
    /// (nothing refers to it; the catalog never saw it). A storage error
    /// here leaves the pages unreachable, which is all it costs.
    pub(super) fn abandon(self, engine: &mut Engine) {
        let _ = access::open(&self.def).destroy(&mut engine.pager);
    }
}

impl Engine {
    /// Gives every heap-only version of `table` index entries of its own,
    /// before CREATE INDEX adds an index whose keys the versions of a HOT
    /// chain need not share (the build then indexes each version by its
    /// own TID, as it always did). A version gets its entries in every
    /// existing index first (ignored while it is heap-only, see
    /// [`Heap::chain`]), then loses the flag in one page write, which ends
    /// the chain before it: every step leaves each row reachable exactly
    /// once, whatever a crash keeps. An aborted update's version is left
    /// to VACUUM. A redirect (a chain's dead root cut down to its header)
    /// then leads nowhere: its entries and slot go. The table's Share
    /// lock keeps writers and VACUUM away meanwhile.
    pub(super) fn break_hot_chains(&mut self, table: &TableDef) -> Result<()> {
        let indexes = self.table_indexes(table);
        let heap = Heap::open(table.heap);
        let mut page = heap.first_page(&mut self.pager)?;
        let mut view = PageView::default();
        let mut linked = Vec::new();
        while page != 0 {
            heap.view_page(&mut self.pager, page, &mut view)?;
            linked.clear();
            for i in 0..view.len() {
                let (tid, h) = view.tuple(i);
                if h.flags & (flags::HEAP_ONLY | flags::HOT_UPDATED | flags::REDIRECT) != 0 {
                    linked.push((tid, h));
                }
            }
            page = view.next_page();
            view.release();
            for (tid, h) in &linked {
                if h.flags & flags::HEAP_ONLY == 0
                    || self.txns.status(&mut self.pager, h.xmin)? == XidStatus::Aborted
                {
                    continue;
                }
                self.interrupts.tick()?;
                let t = heap.fetch(&mut self.pager, *tid)?.ok_or_else(|| {
                    Error::Sql(SqlError::new(
                        SqlState::DATA_CORRUPTED,
                        "heap-only version vanished",
                    ))
                })?;
                let row = exec::decode_table_row(table, &t.payload)?;
                for idx in &indexes {
                    if let Some(key) = self.index_entry(idx, table, &row)? {
                        access::open(idx).insert(&mut self.pager, &key, *tid)?;
                    }
                }
                heap.update_header(&mut self.pager, *tid, |h| h.flags &= !flags::HEAP_ONLY)?;
            }
            // A redirect was only there for its chain: its entries go (its
            // keys are those of the version it links to, now indexed
            // itself), then its slot.
            for (tid, h) in &linked {
                if h.flags & flags::REDIRECT == 0 || h.ctid.page != tid.page {
                    continue;
                }
                let Some(target) = heap.fetch(&mut self.pager, h.ctid)? else {
                    continue;
                };
                if target.header.xmin != h.xmax || target.header.flags & flags::REDIRECT != 0 {
                    continue;
                }
                let row = exec::decode_table_row(table, &target.payload)?;
                for idx in &indexes {
                    if let Some(key) = self.index_entry(idx, table, &row)? {
                        access::open(idx).remove(&mut self.pager, &key, *tid)?;
                    }
                }
                let meta = table.heap;
                let heap = self.heaps.entry(meta).or_insert_with(|| Heap::open(meta));
                heap.remove(&mut self.pager, *tid)?;
            }
            for (tid, h) in &linked {
                if h.flags & flags::HOT_UPDATED != 0 && h.flags & flags::REDIRECT == 0 {
                    heap.update_header(&mut self.pager, *tid, |h| h.flags &= !flags::HOT_UPDATED)?;
                }
            }
        }
        Ok(())
    }

    /// Runs a slice of session `sid`'s build: done, or yielded again.
    pub(super) fn continue_build(&mut self, sid: SessionId, mut build: IndexBuild) -> Result<Step> {
        match build.run(self, sid, Some(self.config.slice_micros)) {
            Ok(true) => Ok(Step::Done(build.finish(self, sid)?)),
            Ok(false) => Ok(Step::Yielded(Box::new(build))),
            Err(e) => {
                build.abandon(self);
                Err(e)
            }
        }
    }
}
