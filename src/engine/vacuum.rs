//! VACUUM and autovacuum: removing row versions no snapshot can see, with
//! their index entries, and freeing dropped objects' storage.

use std::rc::Rc;

use super::{Engine, Result, SessionId};
use crate::access;
use crate::catalog::{IndexDef, Object, Oid, TableDef};
use crate::error::Error;
use crate::heap::{continues_chain, flags, hot_next, Heap, Tid, TupleHeader};
use crate::sql::exec;
use crate::sql::plan;
use crate::sqlstate::SqlState;
use crate::txn::{LockMode, Snapshot, XidStatus};
use crate::util::IdSet;
use crate::value::Value;

use super::session::DEFAULT_MAINTENANCE_WORK_MEM_KB;

/// What one dead version collected for removal costs in memory: its TID
/// in the batch and in the hash set a B+tree walk looks TIDs up in, with
/// room to spare. A batch holds `maintenance_work_mem` / this many
/// (autovacuum: the default 64 MB, so 1,048,576); each batch costs one
/// walk of every B+tree index, so fewer batches are faster.
const DEAD_VERSION_BYTES: usize = 64;

/// Dead rows decoded at a time to compute index keys (bounds that memory
/// whatever the batch size and row width).
const DECODE_CHUNK: usize = 8192;

/// Dead versions one batch of a VACUUM collects under a
/// `maintenance_work_mem` of `kb` kB.
fn vacuum_batch(kb: usize) -> usize {
    (kb.saturating_mul(1024) / DEAD_VERSION_BYTES).max(1)
}

/// Dead row versions of one table since its last vacuum.
#[derive(Default)]
pub(super) struct DeadRows {
    pub(super) rows: u64,
    /// The latest transaction that made some of them dead.
    pub(super) writer: crate::txn::Xid,
}

/// Free pages that must trail the data file before autovacuum cuts them
/// off (a cut costs a walk of the free list and a WAL sync).
const AUTO_TRUNCATE_PAGES: u32 = 16;

/// A batch of dead versions at least 1/WALK_RATIO of a B+tree's entries is
/// removed by one walk over the tree rather than key by key: a walk costs
/// a TID comparison per entry, a key lookup a row decode, a key encoding
/// and a descent per dead version.
const WALK_RATIO: u64 = 16;

impl Engine {
    /// VACUUM: removes dead row versions (and their index entries) from the
    /// named tables (all tables when empty), then dead catalog rows,
    /// freeing the storage of dropped tables and indexes.
    pub(super) fn vacuum(&mut self, sid: SessionId, names: &[String]) -> Result<u64> {
        let snapshots = self.txns.live_snapshots();
        let mut tables = Vec::new();
        for o in self.catalog_entries_all() {
            if let Object::Table(t) = &*o {
                if names.is_empty() || names.contains(&t.name) {
                    tables.push(t.clone());
                }
            }
        }
        for n in names {
            if !tables.iter().any(|t| &t.name == n) {
                return Err(Error::Sql(plan::undefined_table(n)));
            }
        }
        let batch = vacuum_batch(
            self.sessions
                .get(&sid)
                .map_or(DEFAULT_MAINTENANCE_WORK_MEM_KB, |s| {
                    s.settings.maintenance_work_mem_kb
                }),
        );
        let mut removed = 0;
        for t in &tables {
            removed += self.vacuum_table(t, &snapshots, batch)?;
        }
        if names.is_empty() {
            let (gone, left) =
                self.vacuum_catalog(&snapshots, self.pager.pool_pages() as u64 / 2)?;
            removed += gone;
            if left > 0 {
                self.raise_notice(
                    sid,
                    crate::error::Notice::warning(
                        SqlState::PROGRAM_LIMIT_EXCEEDED,
                        format!(
                            "{left} dropped objects keep their storage: freeing it would take more than half the buffer pool at once; run VACUUM again (with a larger pool for one that big)"
                        ),
                    ),
                );
            }
        }
        self.pager.commit(false)?;
        self.pager.truncate_free_tail(1)?;
        Ok(removed)
    }

    /// Removes `table`'s dead versions, `batch` at a time, unless a lock VACUUM's
    /// ShareUpdateExclusive conflicts with is held (an index being built
    /// indexes versions it must not lose): then it skips the table, as
    /// autovacuum does in PostgreSQL (a manual VACUUM there would wait).
    pub(super) fn vacuum_table(
        &mut self,
        table: &TableDef,
        snapshots: &[Snapshot],
        batch: usize,
    ) -> Result<u64> {
        if self
            .txns
            .relation_lock_conflicts(table.oid, LockMode::ShareUpdateExclusive)
        {
            return Ok(0);
        }
        let indexes = self.table_indexes(table);
        let heap = Heap::open(table.heap);
        let mut page = heap.first_page(&mut self.pager)?;
        let pages = u64::from(heap.page_count(&mut self.pager)?).max(1);
        let (mut pages_seen, mut tuples_seen) = (0u64, 0u64);
        let mut removed = 0;
        // Dead versions are removed in batches: their index entries first,
        // then the heap slots (a freed slot may be reused, so no entry may
        // point at it by then).
        let mut dead = DeadBatch::default();
        // The page is read in place, headers only.
        let mut view = crate::heap::PageView::default();
        let mut versions = Vec::new();
        let mut pruned = PagePrune::default();
        while page != 0 {
            heap.view_page(&mut self.pager, page, &mut view)?;
            pages_seen += 1;
            tuples_seen += view.len() as u64;
            versions.clear();
            for i in 0..view.len() {
                let (tid, header) = view.tuple(i);
                let gone = self.txns.dead_to_all(&mut self.pager, &header, snapshots)?;
                versions.push((tid, header, gone));
            }
            page = view.next_page();
            view.release();
            pruned.plan(&versions);
            dead.indexed.append(&mut pruned.indexed);
            dead.heap_only.append(&mut pruned.chained);
            // What no index entry points at goes now: dead versions cut out
            // of live chains (after their roots are redirected past them),
            // and an aborted update's.
            let meta = table.heap;
            let heap = self.heaps.entry(meta).or_insert_with(|| Heap::open(meta));
            for (root, to, xmax) in pruned.redirects.drain(..) {
                heap.redirect(&mut self.pager, root, to, xmax)?;
            }
            for tid in pruned.heap_only.drain(..) {
                heap.remove(&mut self.pager, tid)?;
                removed += 1;
            }
            let pending = dead.indexed.len() + dead.heap_only.len();
            if pending >= batch || (page == 0 && pending > 0) {
                // Index entries ≈ heap tuples, estimated from the pages seen.
                let entries = tuples_seen * pages.max(pages_seen) / pages_seen;
                let kept = self.remove_index_entries(table, &indexes, &dead.indexed, entries)?;
                let meta = table.heap;
                let heap = self.heaps.entry(meta).or_insert_with(|| Heap::open(meta));
                for (tid, _) in dead.indexed.drain(..) {
                    if !kept.contains(&tid) {
                        heap.remove(&mut self.pager, tid)?;
                        removed += 1;
                    }
                }
                for tid in dead.heap_only.drain(..) {
                    heap.remove(&mut self.pager, tid)?;
                    removed += 1;
                }
            }
        }
        if removed > 0 {
            for idx in &indexes {
                access::open(idx).cleanup(&mut self.pager)?;
            }
        }
        self.dead_counts.remove(&table.oid);
        Ok(removed)
    }

    /// Removes the index entries of the `dead` versions of `table`, each
    /// given with the version its keys are read from (itself, or for a
    /// redirect the last version of its chain, which has the same keys).
    /// When they are many against the `entries` an index holds, a B+tree
    /// is walked once for entries pointing at them; otherwise (or for
    /// other methods) each dead row's key is computed and removed. Returns
    /// the versions whose entries could not all be found that way (a
    /// redirect whose chain lost its keys, say): their slots must stay.
    fn remove_index_entries(
        &mut self,
        table: &TableDef,
        indexes: &[Rc<IndexDef>],
        dead: &[(Tid, Option<Tid>)],
        entries: u64,
    ) -> Result<IdSet<Tid>> {
        let walk = (dead.len() as u64 * WALK_RATIO >= entries)
            .then(|| dead.iter().map(|d| d.0).collect::<IdSet<Tid>>());
        let mut by_key = Vec::new();
        for idx in indexes {
            if let Some(set) = &walk {
                if access::open(idx).remove_tids(&mut self.pager, set)? {
                    continue;
                }
            }
            by_key.push(idx);
        }
        let mut kept = IdSet::default();
        if by_key.is_empty() {
            return Ok(kept);
        }
        for chunk in dead.chunks(DECODE_CHUNK) {
            let rows = self.dead_rows(table, chunk, &mut kept)?;
            for idx in &by_key {
                let mut keys = Vec::with_capacity(rows.len());
                for (row, tid) in &rows {
                    // A key that fails to evaluate (a row whose insert
                    // failed on it) has no entry to remove.
                    if let Ok(Some(key)) = self.index_entry(idx, table, row) {
                        keys.push((key, *tid));
                    }
                }
                access::open(idx).remove_many(&mut self.pager, &keys)?;
            }
        }
        Ok(kept)
    }

    /// The decoded rows of the `dead` versions, read from their key
    /// sources. One without a source goes to `kept`; an undecodable one is
    /// skipped (it has no index entries to find by key).
    fn dead_rows(
        &mut self,
        table: &TableDef,
        dead: &[(Tid, Option<Tid>)],
        kept: &mut IdSet<Tid>,
    ) -> Result<Vec<(Vec<Value>, Tid)>> {
        let heap = Heap::open(table.heap);
        let mut rows = Vec::with_capacity(dead.len());
        for &(tid, source) in dead {
            let Some(source) = source else {
                kept.insert(tid);
                continue;
            };
            if let Some(t) = heap.fetch(&mut self.pager, source)? {
                if let Ok(row) = exec::decode_table_row(table, &t.payload) {
                    rows.push((row, tid));
                }
            }
        }
        Ok(rows)
    }

    /// Removes the catalog rows no snapshot sees, freeing the storage they
    /// alone name, while the pages freed stay within `budget`: the frees of
    /// one object are one change, which must fit the buffer pool. The
    /// others wait for a later VACUUM. Returns how many rows went and how
    /// many were left for the budget.
    pub(super) fn vacuum_catalog(
        &mut self,
        snapshots: &[Snapshot],
        budget: u64,
    ) -> Result<(u64, u64)> {
        let entries: Vec<crate::catalog::Entry> = self.catalog.all_entries().to_vec();
        let (mut removed, mut left) = (0, 0);
        let mut pages = 0u64;
        for e in &entries {
            if !self
                .txns
                .dead_to_all(&mut self.pager, &e.header, snapshots)?
            {
                continue;
            }
            // Storage is freed when no surviving version uses it.
            let survivors = |f: &dyn Fn(&Object) -> bool| {
                entries.iter().any(|o| o.tid != e.tid && f(&o.object))
            };
            let size = match &*e.object {
                Object::Table(t) => u64::from(Heap::open(t.heap).page_count(&mut self.pager)?),
                Object::Index(i) => access::open(i).page_count(&mut self.pager)?,
                _ => 0,
            };
            if pages + size > budget {
                left += 1;
                continue;
            }
            pages += size;
            match &*e.object {
                Object::Table(t) => {
                    let heap_meta = t.heap;
                    let shared =
                        survivors(&|o| matches!(o, Object::Table(x) if x.heap == heap_meta));
                    if !shared {
                        self.heaps.remove(&heap_meta);
                        Heap::open(heap_meta).destroy(&mut self.pager)?;
                    }
                }
                Object::Index(i) => {
                    let root = i.root;
                    let shared = survivors(&|o| matches!(o, Object::Index(x) if x.root == root));
                    if !shared {
                        access::open(i).destroy(&mut self.pager)?;
                    }
                    self.index_key_cache.remove(&i.oid);
                }
                Object::Sequence(s) => {
                    let page = s.page;
                    let shared = survivors(&|o| matches!(o, Object::Sequence(x) if x.page == page));
                    if !shared {
                        self.pager.free(page)?;
                    }
                }
                // Types, comments and views have no storage of their own.
                Object::Type(_) | Object::Comment(_) | Object::View(_) | Object::Schema(_) => {}
            }
            self.catalog.remove(&mut self.pager, e.tid)?;
            removed += 1;
        }
        Ok((removed, left))
    }

    /// After a transaction that dropped objects (or altered them) ends, the
    /// catalog rows it deleted are removed and the storage they name is
    /// freed, as PostgreSQL unlinks a dropped table's files at commit (free
    /// pages at the end of the file go back to the file system); a row
    /// some snapshot still sees, or an object holding more than a quarter
    /// of the buffer pool, is left for a later VACUUM.
    fn autovacuum_catalog(&mut self) -> Result<()> {
        if self.catalog.deleters.is_empty() {
            return Ok(());
        }
        let snapshots = self.txns.live_snapshots();
        // A deleter's rows can go once it committed before every live
        // snapshot (an aborted one's rows stay: nothing to do for it).
        let mut due = false;
        let mut waiting = Vec::new();
        for x in std::mem::take(&mut self.catalog.deleters) {
            if self.txns.owner_of(x).is_some() {
                waiting.push(x);
                continue;
            }
            match self.txns.status(&mut self.pager, x)? {
                XidStatus::Committed => {
                    let mut seen = true;
                    for snap in &snapshots {
                        seen &= snap.sees_commit_of(&self.txns, &mut self.pager, x)?;
                    }
                    if seen {
                        due = true;
                    } else {
                        waiting.push(x);
                    }
                }
                XidStatus::Aborted => {}
                // Prepared: its outcome comes with COMMIT/ROLLBACK PREPARED.
                XidStatus::InProgress => waiting.push(x),
            }
        }
        self.catalog.deleters = waiting;
        let budget = self.pager.pool_pages() as u64 / 4;
        if due && self.vacuum_catalog(&snapshots, budget)?.0 > 0 {
            self.pager.truncate_free_tail(AUTO_TRUNCATE_PAGES)?;
        }
        Ok(())
    }

    /// Counts `rows` versions of table `oid` that `xid`'s updates or
    /// deletes made dead (once it commits).
    pub(super) fn note_dead_rows(&mut self, oid: Oid, rows: u64, xid: crate::txn::Xid) {
        let d = self.dead_counts.entry(oid).or_default();
        d.rows += rows;
        d.writer = d.writer.max(xid);
    }

    /// Autovacuum: after a statement, vacuums tables whose dead versions
    /// passed the threshold (50 + 20% of the rows written, as PostgreSQL's
    /// defaults), so table size stays bounded under steady updates. It
    /// waits for the latest transaction that made them dead to end: before
    /// that, a pass over the table would find nothing to remove.
    pub(super) fn autovacuum(&mut self) -> Result<()> {
        self.autovacuum_catalog()?;
        let txns = &self.txns;
        let due: Vec<Oid> = self
            .dead_counts
            .iter()
            .filter(|(o, d)| {
                d.rows >= 50 + self.insert_counts.get(o).copied().unwrap_or(0) / 5
                    && txns.owner_of(d.writer).is_none()
            })
            .map(|(o, _)| *o)
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        let snapshots = self.txns.live_snapshots();
        for oid in due {
            let table = self
                .catalog_entries_all()
                .into_iter()
                .find_map(|o| match &*o {
                    Object::Table(t) if t.oid == oid => Some(t.clone()),
                    _ => None,
                });
            match table {
                Some(t) => {
                    self.vacuum_table(
                        &t,
                        &snapshots,
                        vacuum_batch(DEFAULT_MAINTENANCE_WORK_MEM_KB),
                    )?;
                }
                None => {
                    self.dead_counts.remove(&oid);
                }
            }
        }
        Ok(())
    }
}

/// Dead versions collected for removal in a batch.
#[derive(Default)]
struct DeadBatch {
    /// Versions with index entries, and where their keys are read.
    indexed: Vec<(Tid, Option<Tid>)>,
    /// Heap-only versions of chains that die with their root: freed with
    /// it, after its entries (their keys may be read from them).
    heap_only: Vec<Tid>,
}

/// What VACUUM does with one heap page's versions, decided from their
/// headers and whether each is dead to every snapshot. HOT chains are why
/// it is more than "remove the dead": a chain's index entries point at its
/// root, so the root stays (as a redirect) while a later version lives.
#[derive(Default)]
struct PagePrune {
    /// Dead versions with index entries (a root whose whole chain is dead,
    /// or a version in no chain), with the version their keys are read
    /// from: the version itself, or for a redirect (no payload) the last
    /// version of its chain, whose keys are the same. Entries first, then
    /// the slot.
    indexed: Vec<(Tid, Option<Tid>)>,
    /// The heap-only versions of those chains: freed with the batch.
    chained: Vec<Tid>,
    /// Dead heap-only versions no entry leads to any more: freed at once.
    heap_only: Vec<Tid>,
    /// (root, version, its xmin): a dead root redirected past its chain's
    /// dead versions to the first live one ([`Heap::redirect`]). The
    /// root's xmax becomes that version's xmin, so the chain check
    /// ([`continues_chain`]) holds and the root stays dead to all (the
    /// xmin committed before every snapshot, as the dead version's xmax).
    redirects: Vec<(Tid, Tid, crate::txn::Xid)>,
}

impl PagePrune {
    /// Plans the page whose versions are `versions` (TID, header, dead to
    /// every snapshot).
    fn plan(&mut self, versions: &[(Tid, TupleHeader, bool)]) {
        let slot_of: std::collections::HashMap<u16, usize> = versions
            .iter()
            .enumerate()
            .map(|(i, v)| (v.0.slot, i))
            .collect();
        let mut reached = vec![false; versions.len()];
        let mut chain = Vec::new();
        for (i, (root, header, gone)) in versions.iter().enumerate() {
            if header.flags & flags::HEAP_ONLY != 0 {
                continue;
            }
            chain.clear();
            chain.push(i);
            let mut cur = i;
            while let Some(next) = hot_next(&versions[cur].1, root.page) {
                match slot_of.get(&next.slot) {
                    Some(&j)
                        if !reached[j] && continues_chain(&versions[cur].1, &versions[j].1) =>
                    {
                        reached[j] = true;
                        chain.push(j);
                        cur = j;
                    }
                    _ => break,
                }
            }
            let tid = |k: usize| versions[chain[k]].0;
            let redirect = header.flags & flags::REDIRECT != 0;
            match chain.iter().position(|&m| !versions[m].2) {
                None => {
                    debug_assert!(*gone);
                    let source = if !redirect {
                        Some(*root)
                    } else if chain.len() > 1 {
                        Some(tid(chain.len() - 1))
                    } else {
                        // A redirect whose chain CREATE INDEX broke up
                        // (a crash came before it was removed): its keys
                        // are those of the version it links to.
                        slot_of
                            .get(&header.ctid.slot)
                            .map(|&j| &versions[j])
                            .filter(|v| {
                                header.ctid.page == root.page
                                    && v.1.xmin == header.xmax
                                    && v.1.flags & flags::REDIRECT == 0
                            })
                            .map(|v| v.0)
                    };
                    self.indexed.push((*root, source));
                    self.chained.extend((1..chain.len()).map(tid));
                }
                Some(first_live) => {
                    if first_live > 0 {
                        self.heap_only.extend((1..first_live).map(tid));
                        let live = &versions[chain[first_live]];
                        self.redirects.push((*root, live.0, live.1.xmin));
                    }
                    // Dead versions after the last live one: an aborted
                    // update's.
                    let last_live = chain
                        .iter()
                        .rposition(|&m| !versions[m].2)
                        .expect("one is live");
                    self.heap_only.extend((last_live + 1..chain.len()).map(tid));
                }
            }
        }
        // Heap-only versions no chain reaches any more: an aborted
        // update's, replaced by a later update of the same version.
        for (i, (tid, header, gone)) in versions.iter().enumerate() {
            if header.flags & flags::HEAP_ONLY != 0 && !reached[i] && *gone {
                self.heap_only.push(*tid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(
        slot: u16,
        xmin: u64,
        xmax: u64,
        next: Option<u16>,
        flag: u16,
    ) -> (Tid, TupleHeader) {
        let tid = Tid { page: 9, slot };
        let mut h = TupleHeader::new(xmin, 0);
        h.xmax = xmax;
        h.ctid = tid;
        h.flags = flag;
        if let Some(n) = next {
            h.ctid = Tid { page: 9, slot: n };
            h.flags |= flags::UPDATED | flags::HOT_UPDATED;
        }
        (tid, h)
    }

    fn plan(versions: &[((Tid, TupleHeader), bool)]) -> PagePrune {
        let v: Vec<_> = versions.iter().map(|((t, h), g)| (*t, *h, *g)).collect();
        let mut p = PagePrune::default();
        p.plan(&v);
        p
    }

    fn slots(tids: &[Tid]) -> Vec<u16> {
        tids.iter().map(|t| t.slot).collect()
    }

    #[test]
    fn a_dead_root_is_redirected_past_dead_versions_to_the_first_live_one() {
        let p = plan(&[
            (version(0, 10, 11, Some(3), 0), true),
            (version(3, 11, 12, Some(1), flags::HEAP_ONLY), true),
            (version(1, 12, 13, Some(2), flags::HEAP_ONLY), false),
            (version(2, 13, 0, None, flags::HEAP_ONLY), false),
        ]);
        assert!(p.indexed.is_empty() && p.chained.is_empty());
        assert_eq!(slots(&p.heap_only), [3]);
        assert_eq!(
            p.redirects,
            [(Tid { page: 9, slot: 0 }, Tid { page: 9, slot: 1 }, 12)]
        );
    }

    #[test]
    fn a_whole_dead_chain_goes_with_its_entries_keyed_by_a_version_with_a_row() {
        let redirect = flags::REDIRECT;
        let p = plan(&[
            // A redirect whose chain ended in a delete.
            (version(0, 10, 12, Some(1), redirect), true),
            (version(1, 12, 14, None, flags::HEAP_ONLY), true),
            // A plain dead version, and a live one.
            (version(2, 10, 11, None, 0), true),
            (version(4, 10, 0, None, 0), false),
        ]);
        let t = |slot| Tid { page: 9, slot };
        assert_eq!(p.indexed, [(t(0), Some(t(1))), (t(2), Some(t(2)))]);
        assert_eq!(slots(&p.chained), [1]);
        assert!(p.heap_only.is_empty() && p.redirects.is_empty());
    }

    #[test]
    fn aborted_updates_versions_go_and_a_reused_slot_is_no_chain() {
        let p = plan(&[
            // Live root whose update (xid 11) aborted: its version is dead.
            (version(0, 10, 11, Some(1), 0), false),
            (version(1, 11, 0, None, flags::HEAP_ONLY), true),
            // An older aborted update's version, no longer linked.
            (version(5, 9, 0, None, flags::HEAP_ONLY), true),
            // A root linking to a slot reused by another transaction's
            // live heap-only version: not its chain, nothing to do.
            (version(2, 10, 20, Some(3), 0), false),
            (version(3, 21, 0, None, flags::HEAP_ONLY), false),
        ]);
        assert_eq!(slots(&p.heap_only), [1, 5]);
        assert!(p.indexed.is_empty() && p.redirects.is_empty() && p.chained.is_empty());
    }
}
