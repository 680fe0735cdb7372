//! A minimal transactional store over the storage-engine layers (pager,
//! commit log, heap), as the crash tests need it: rows are (id, value)
//! tuples, versions carry xmin/xmax, visibility is "committed creator, no
//! committed deleter".

use neuraldb::heap::{flags, Heap, Tid, Tuple, TupleHeader};
use neuraldb::pager::{PResult, Pager, PagerConfig, Root};
use neuraldb::storage::Storage;
use neuraldb::txn::{TxnManager, Xid, XidStatus};
use std::collections::BTreeMap;

/// Visible rows by id: value and tid of the visible version.
pub type RowMap = BTreeMap<u64, (Vec<u8>, Tid)>;

pub struct Store {
    pub pager: Pager,
    pub txns: TxnManager,
    pub heap: Heap,
}

pub fn config(page_size: usize, pool_pages: usize, checkpoint_wal_bytes: u64) -> PagerConfig {
    PagerConfig {
        page_size,
        pool_bytes: pool_pages * page_size,
        checkpoint_wal_bytes,
    }
}

impl Store {
    /// Opens the store, creating its table on first use.
    pub fn open(data: Box<dyn Storage>, wal: Box<dyn Storage>, cfg: PagerConfig) -> PResult<Store> {
        let mut pager = Pager::open(data, wal, cfg)?;
        let mut txns = TxnManager::open(&mut pager)?;
        let root = pager.root(Root::Catalog)?;
        let heap = if root == 0 {
            let heap = Heap::create(&mut pager)?;
            pager.set_root(Root::Catalog, heap.meta_page())?;
            txns.commit(&mut pager, &[], true)?;
            heap
        } else {
            Heap::open(root)
        };
        Ok(Store { pager, txns, heap })
    }

    pub fn begin(&mut self) -> PResult<Xid> {
        self.txns.assign_xid(&mut self.pager)
    }

    pub fn insert(&mut self, xid: Xid, id: u64, value: &[u8]) -> PResult<Tid> {
        let mut payload = id.to_le_bytes().to_vec();
        payload.extend_from_slice(value);
        self.heap
            .insert(&mut self.pager, TupleHeader::new(xid, 0), &payload)
    }

    /// Marks the version at `tid` deleted by `xid`.
    pub fn delete(&mut self, xid: Xid, tid: Tid) -> PResult<()> {
        self.heap.update_header(&mut self.pager, tid, |h| {
            h.xmax = xid;
            h.flags &= !flags::XMAX_LOCK_ONLY;
        })
    }

    /// New version of the row at `tid`.
    pub fn update(&mut self, xid: Xid, tid: Tid, id: u64, value: &[u8]) -> PResult<Tid> {
        let new = self.insert(xid, id, value)?;
        self.heap.update_header(&mut self.pager, tid, |h| {
            h.xmax = xid;
            h.ctid = new;
            h.flags |= flags::UPDATED;
        })?;
        Ok(new)
    }

    pub fn commit(&mut self, xid: Xid, durable: bool) -> PResult<()> {
        self.txns.commit(&mut self.pager, &[xid], durable)?;
        if self.pager.checkpoint_due() {
            self.pager.checkpoint()?;
        }
        Ok(())
    }

    pub fn abort(&mut self, xid: Xid) -> PResult<()> {
        self.txns.abort(&mut self.pager, &[xid])
    }

    fn committed(&mut self, xid: Xid) -> PResult<bool> {
        Ok(xid != 0 && self.txns.status(&mut self.pager, xid)? == XidStatus::Committed)
    }

    /// Every tuple in the heap.
    pub fn all_tuples(&mut self) -> PResult<Vec<Tuple>> {
        let mut out = Vec::new();
        let mut page = self.heap.first_page(&mut self.pager)?;
        while page != 0 {
            let (tuples, next) = self.heap.scan_page(&mut self.pager, page)?;
            out.extend(tuples);
            page = next;
        }
        Ok(out)
    }

    /// The committed rows: id -> (value, tid). Errors on a duplicate id.
    pub fn visible_rows(&mut self) -> PResult<Result<RowMap, String>> {
        let mut rows = BTreeMap::new();
        for t in self.all_tuples()? {
            let h = t.header;
            let deleted = h.flags & flags::XMAX_LOCK_ONLY == 0 && self.committed(h.xmax)?;
            if self.committed(h.xmin)? && !deleted {
                let id =
                    u64::from_le_bytes(t.payload[..8].try_into().expect("payload starts with id"));
                if rows.insert(id, (t.payload[8..].to_vec(), t.tid)).is_some() {
                    return Ok(Err(format!("row {id} visible twice")));
                }
            }
        }
        Ok(Ok(rows))
    }
}

/// Runs the seeds of a crash simulation whose seeds each run two rounds:
/// `{var}S=N` of them (default `default`), or only seed `{var}=S`. Stops
/// after five failing seeds and fails the test with them (and how to rerun
/// one); otherwise returns (rounds that ended in a crash, rounds run).
pub fn run_crash_seeds(
    var: &str,
    default: u64,
    run_seed: impl Fn(u64) -> Result<usize, String>,
) -> (usize, usize) {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let range = match env(var) {
        Some(seed) => seed..seed + 1,
        None => 0..env(&format!("{var}S")).unwrap_or(default),
    };
    let (mut failures, mut crashes, mut rounds) = (Vec::new(), 0, 0);
    for seed in range {
        match run_seed(seed) {
            Ok(c) => crashes += c,
            Err(e) => failures.push(format!("seed {seed}: {e}")),
        }
        rounds += 2;
        if failures.len() >= 5 {
            break;
        }
    }
    assert!(
        failures.is_empty(),
        "{failures:#?}\nrerun one with {var}=<seed>"
    );
    (crashes, rounds)
}
