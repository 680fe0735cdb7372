//! Pages, the bounded buffer pool, and the commit/checkpoint/recovery
//! protocol that ties the data file to the WAL.
//!
//! # Logging model
//! Callers change pages in place through [`Pager::write`]. The first change
//! to a page since it was last logged copies its bytes aside (the *base*).
//! [`Pager::log_pending`] turns every such page into a delta record against
//! its base (a full image if the page has not been logged in the current WAL
//! generation) and appends them all as one WAL batch. Because a batch is
//! applied atomically at recovery, logging may only happen at *safe points*,
//! when no multi-page operation (a B+tree split, say) is half done: access
//! methods call [`Pager::safe_point`] before each operation, and commit and
//! checkpoint are safe points too. Eviction never logs; it only picks frames
//! whose changes are already logged.
//!
//! # Invariants
//! - WAL rule: a page is written to the data file only when it has no
//!   unlogged changes and the WAL is durable past its last logged change.
//! - Every page logged in a WAL generation is first logged as a full image,
//!   so replay never depends on data-file pages the crash may have torn.
//! - After any failed sync or data-file write the pager is *poisoned*: every
//!   call fails until the database is reopened, which recovers from the WAL.

pub mod page;

use std::collections::HashSet;
use std::rc::Rc;

pub use page::{PageId, PageKind, DEFAULT_PAGE_SIZE, PAGE_HEADER_SIZE};

use crate::sqlstate::SqlState;
use crate::storage::{read_padded, Storage, StorageError};
use crate::util::le;
use crate::wal::{record, Lsn, Wal, WalError};
use page::header as hdr;
use page::trunk;

/// Errors of the page-based layers (pager, WAL, heap, B+tree, commit log).
#[derive(Debug, thiserror::Error)]
pub enum PagerError {
    #[error("could not access database file: {0}")]
    Storage(#[from] StorageError),
    #[error("invalid page {page}: {what}")]
    Corrupt { page: PageId, what: String },
    #[error("{0}")]
    CorruptWal(#[source] CorruptWal),
    #[error("database is poisoned after an I/O failure ({cause}); reopen it to recover")]
    Poisoned { cause: String },
    #[error("not a NeuralDB database: {0}")]
    NotADatabase(String),
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    #[error("buffer pool exhausted: every page in it has unlogged changes of one operation")]
    PoolExhausted,
    #[error("{what} of {size} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        what: &'static str,
        size: u64,
        max: u64,
    },
}

/// A WAL record that failed validation outside the torn tail.
#[derive(Debug, thiserror::Error)]
#[error("WAL is corrupt at LSN {lsn}: {what}")]
pub struct CorruptWal {
    pub lsn: Lsn,
    pub what: String,
}

impl From<WalError> for PagerError {
    fn from(e: WalError) -> Self {
        match e {
            WalError::Storage(s) => PagerError::Storage(s),
            WalError::Corrupt { lsn, what } => PagerError::CorruptWal(CorruptWal { lsn, what }),
            WalError::PageSizeMismatch { found, expected } => {
                PagerError::NotADatabase(format!("WAL page size {found}, expected {expected}"))
            }
        }
    }
}

impl PagerError {
    pub fn sqlstate(&self) -> SqlState {
        match self {
            PagerError::Storage(e) => e.sqlstate(),
            PagerError::Corrupt { .. }
            | PagerError::CorruptWal(_)
            | PagerError::NotADatabase(_) => SqlState::DATA_CORRUPTED,
            PagerError::Poisoned { .. } => SqlState::IO_ERROR,
            PagerError::InvalidConfig(_) => SqlState::INVALID_PARAMETER_VALUE,
            PagerError::PoolExhausted => SqlState("53200"),
            PagerError::TooLarge { .. } => SqlState::PROGRAM_LIMIT_EXCEEDED,
        }
    }

    pub(crate) fn corrupt(page: PageId, what: impl Into<String>) -> Self {
        PagerError::Corrupt {
            page,
            what: what.into(),
        }
    }
}

pub type PResult<T> = Result<T, PagerError>;

/// Tunables of a [`Pager`].
#[derive(Clone, Debug)]
pub struct PagerConfig {
    pub page_size: usize,
    /// Buffer pool budget in bytes (page frames; bases of pages with unlogged
    /// changes are bounded by a quarter of it in steady state).
    pub pool_bytes: usize,
    /// Checkpoint automatically once this many WAL bytes were written since
    /// the last checkpoint. It bounds what opening the database replays
    /// and (with the shrink rule in [`Pager::checkpoint`]) the WAL file's
    /// size: 4 MiB, as SQLite's default of 1000 4 KiB pages.
    pub checkpoint_wal_bytes: u64,
}

impl Default for PagerConfig {
    fn default() -> Self {
        PagerConfig {
            page_size: DEFAULT_PAGE_SIZE,
            pool_bytes: 64 << 20,
            checkpoint_wal_bytes: 4 << 20,
        }
    }
}

/// Slots in the header page where upper layers keep their root page ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    ClogDirectory = 0,
    Catalog = 1,
    /// The heap of prepared transactions' records (see `txn::twophase`).
    TwoPhase = 2,
}

/// Counters for benchmarks and EXPLAIN.
#[derive(Clone, Copy, Debug, Default)]
pub struct PagerStats {
    pub hits: u64,
    pub misses: u64,
    pub pages_written: u64,
    pub evictions: u64,
    pub checkpoints: u64,
}

const NO_PAGE: PageId = PageId::MAX;

impl Frame {
    /// The bytes to change in place (copied first if a holder shares them).
    fn data_mut(&mut self) -> &mut [u8] {
        Rc::make_mut(&mut self.data)
    }

    /// The bytes to overwrite whole: a new buffer instead of a copy when
    /// a holder shares them (so it may hold anything).
    fn data_for_overwrite(&mut self) -> &mut [u8] {
        if Rc::get_mut(&mut self.data).is_none() {
            self.data = Rc::from(vec![0u8; self.data.len()]);
        }
        Rc::get_mut(&mut self.data).expect("the frame's buffer was just made unshared")
    }
}
const MIN_FRAMES: usize = 32;

/// A page's bytes shared with the pager ([`Pager::share`]): a scan holds
/// a page without copying it. Frames change their bytes copy-on-write, so
/// a holder keeps the page as it was when shared, whatever the pager does
/// to that page or frame afterwards.
pub type SharedPage = Rc<[u8]>;

struct Frame {
    id: PageId,
    /// Shared only while a [`SharedPage`] holder still has it.
    data: SharedPage,
    /// Bytes as of the last log record of this page; `Some` iff the page has
    /// unlogged changes (and then its index is in `Pager::pending`).
    base: Option<Box<[u8]>>,
    /// Differs from the data file.
    dirty: bool,
    /// WAL position just past the batch that logged its latest change.
    lsn: Lsn,
    referenced: bool,
}

/// Which frame holds which page: a direct table for the first 2^24 page
/// ids (128 GiB of 8 KiB pages; 4 bytes per page of the database), a hash
/// map beyond, so a page id read from a damaged file cannot make it
/// allocate gigabytes. Every page access looks here first.
#[derive(Default)]
struct FrameTable {
    direct: Vec<u32>,
    beyond: crate::util::IdMap<PageId, usize>,
}

const DIRECT_PAGES: PageId = 1 << 24;
const NO_FRAME: u32 = u32::MAX;

impl FrameTable {
    #[inline]
    fn get(&self, id: PageId) -> Option<usize> {
        if id < DIRECT_PAGES {
            match self.direct.get(id as usize) {
                Some(&f) if f != NO_FRAME => Some(f as usize),
                _ => None,
            }
        } else {
            self.beyond.get(&id).copied()
        }
    }

    fn insert(&mut self, id: PageId, frame: usize) {
        if id < DIRECT_PAGES {
            let i = id as usize;
            if i >= self.direct.len() {
                self.direct.resize((i + 1).next_power_of_two(), NO_FRAME);
            }
            self.direct[i] = frame as u32;
        } else {
            self.beyond.insert(id, frame);
        }
    }

    fn remove(&mut self, id: PageId) {
        if id < DIRECT_PAGES {
            if let Some(f) = self.direct.get_mut(id as usize) {
                *f = NO_FRAME;
            }
        } else {
            self.beyond.remove(&id);
        }
    }
}

/// The buffer pool over one data file and its WAL. See the module docs.
pub struct Pager {
    page_size: usize,
    data: Box<dyn Storage>,
    wal: Wal,
    frames: Vec<Frame>,
    capacity: usize,
    map: FrameTable,
    clock_hand: usize,
    /// Frames with unlogged changes.
    pending: Vec<usize>,
    /// Log at the next safe point once this many pages have unlogged changes.
    pending_limit: usize,
    spare_bases: Vec<Box<[u8]>>,
    /// Pages already logged as a full image in the current WAL generation.
    imaged: HashSet<PageId>,
    /// Cached header field: pages allocated so far.
    page_count: PageId,
    poisoned: Option<String>,
    checkpoint_wal_bytes: u64,
    log_buf: Vec<u8>,
    io_buf: Vec<u8>,
    pub stats: PagerStats,
}

impl Pager {
    /// Opens (or creates, when both files are empty) a database, running
    /// crash recovery: replays the WAL's complete batches, then checkpoints.
    pub fn open(
        data: Box<dyn Storage>,
        wal: Box<dyn Storage>,
        config: PagerConfig,
    ) -> PResult<Pager> {
        let ps = config.page_size;
        if !(page::MIN_PAGE_SIZE..=page::MAX_PAGE_SIZE).contains(&ps) || !ps.is_power_of_two() {
            return Err(PagerError::InvalidConfig(format!("page size {ps}")));
        }
        let (wal, replay) = Wal::open(wal, ps as u32)?;
        let capacity = (config.pool_bytes / ps).max(MIN_FRAMES);
        let mut pager = Pager {
            page_size: ps,
            data,
            wal,
            frames: Vec::new(),
            capacity,
            map: FrameTable::default(),
            clock_hand: 0,
            pending: Vec::new(),
            pending_limit: (capacity / 4).max(8),
            spare_bases: Vec::new(),
            imaged: HashSet::new(),
            page_count: 1,
            poisoned: None,
            checkpoint_wal_bytes: config.checkpoint_wal_bytes.max(1 << 16),
            log_buf: Vec::new(),
            io_buf: Vec::new(),
            stats: PagerStats::default(),
        };
        let data_len = pager.data.len()?;
        let fresh = data_len == 0 && replay.batches.is_empty();
        if pager.wal.generation() == 0 {
            // No valid WAL header: a new database, or the header rewrite at
            // the end of a checkpoint was torn (then the data file is
            // complete and its header says which generation to follow).
            let (generation, lsn) = if data_len == 0 {
                (0, 0)
            } else {
                pager.read_disk_header_position()?
            };
            pager.wal.restart_after(generation, lsn);
            pager.wal.start_generation(false)?;
        } else {
            // Make what we are about to replay durable before any data page
            // written during replay can depend on it.
            pager.wal.sync()?;
        }
        for (lsn, payload) in &replay.batches {
            pager.redo(*lsn, payload)?;
        }
        if fresh {
            pager.init_header()?;
        } else {
            pager.load_header()?;
        }
        pager.checkpoint()?;
        Ok(pager)
    }

    fn read_disk_header_position(&mut self) -> PResult<(u64, Lsn)> {
        let mut buf = vec![0u8; self.page_size];
        read_padded(self.data.as_ref(), 0, &mut buf)?;
        page::verify(&buf, 0).map_err(|w| PagerError::corrupt(0, w))?;
        if &buf[hdr::OFF_MAGIC..hdr::OFF_MAGIC + 8] != hdr::MAGIC {
            return Err(PagerError::NotADatabase("bad magic in page 0".into()));
        }
        Ok((
            le::u64_at(&buf, hdr::OFF_WAL_GENERATION),
            le::u64_at(&buf, hdr::OFF_CHECKPOINT_LSN),
        ))
    }

    fn init_header(&mut self) -> PResult<()> {
        let ps = self.page_size as u32;
        let idx = self.frame_for_overwrite(0)?;
        self.begin_change(idx);
        let p = self.frames[idx].data_mut();
        page::init(p, 0, PageKind::Header);
        p[hdr::OFF_MAGIC..hdr::OFF_MAGIC + 8].copy_from_slice(hdr::MAGIC);
        le::put_u32(p, hdr::OFF_VERSION, hdr::FORMAT_VERSION);
        le::put_u32(p, hdr::OFF_PAGE_SIZE, ps);
        le::put_u32(p, hdr::OFF_PAGE_COUNT, 1);
        le::put_u64(p, hdr::OFF_NEXT_XID, crate::txn::ids::FIRST_NORMAL_XID);
        self.page_count = 1;
        Ok(())
    }

    fn load_header(&mut self) -> PResult<()> {
        let ps = self.page_size;
        self.page_count = 1; // lets `read` reach page 0
        let (magic_ok, version, page_size, count) = self.read(0, |p| {
            (
                &p[hdr::OFF_MAGIC..hdr::OFF_MAGIC + 8] == hdr::MAGIC,
                le::u32_at(p, hdr::OFF_VERSION),
                le::u32_at(p, hdr::OFF_PAGE_SIZE),
                le::u32_at(p, hdr::OFF_PAGE_COUNT),
            )
        })?;
        if !magic_ok {
            return Err(PagerError::NotADatabase("bad magic in page 0".into()));
        }
        if version != hdr::FORMAT_VERSION {
            return Err(PagerError::NotADatabase(format!(
                "unsupported format version {version}"
            )));
        }
        if page_size as usize != ps {
            return Err(PagerError::NotADatabase(format!(
                "database page size is {page_size}, opened with {ps}"
            )));
        }
        if count == 0 {
            return Err(PagerError::corrupt(0, "page count is 0"));
        }
        self.page_count = count;
        Ok(())
    }

    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// How many pages the buffer pool holds.
    pub fn pool_pages(&self) -> usize {
        self.capacity
    }

    /// Pages allocated so far (including free-listed ones).
    pub fn page_count(&self) -> PageId {
        self.page_count
    }

    pub fn wal_stats(&self) -> crate::wal::WalStats {
        self.wal.stats
    }

    fn check_usable(&self) -> PResult<()> {
        match &self.poisoned {
            Some(cause) => Err(PagerError::Poisoned {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    fn check_id(&self, id: PageId) -> PResult<()> {
        if id >= self.page_count || id == NO_PAGE {
            return Err(PagerError::corrupt(
                id,
                format!(
                    "page id beyond the end of the database ({} pages)",
                    self.page_count
                ),
            ));
        }
        Ok(())
    }

    /// Records a storage failure that leaves the on-disk state unknown.
    fn poison(&mut self, e: StorageError) -> PagerError {
        if self.poisoned.is_none() {
            self.poisoned = Some(e.to_string());
        }
        PagerError::Storage(e)
    }

    /// Runs `f` on the bytes of page `id`.
    pub fn read<R>(&mut self, id: PageId, f: impl FnOnce(&[u8]) -> R) -> PResult<R> {
        self.check_usable()?;
        self.check_id(id)?;
        let idx = self.frame(id)?;
        Ok(f(&self.frames[idx].data))
    }

    /// Page `id`'s bytes as they are now, without copying them (see
    /// [`SharedPage`]). Holding one does not pin the frame: the bytes stay
    /// valid, the pager just stops sharing them if the page changes or
    /// is evicted.
    pub fn share(&mut self, id: PageId) -> PResult<SharedPage> {
        self.check_usable()?;
        self.check_id(id)?;
        let idx = self.frame(id)?;
        Ok(Rc::clone(&self.frames[idx].data))
    }

    /// Runs `f` on the bytes of page `id` to change them.
    pub fn write<R>(&mut self, id: PageId, f: impl FnOnce(&mut [u8]) -> R) -> PResult<R> {
        self.check_usable()?;
        self.check_id(id)?;
        let idx = self.frame(id)?;
        self.begin_change(idx);
        Ok(f(self.frames[idx].data_mut()))
    }

    fn begin_change(&mut self, idx: usize) {
        let ps = self.page_size;
        let frame = &mut self.frames[idx];
        frame.dirty = true;
        if frame.base.is_none() {
            let mut base = self
                .spare_bases
                .pop()
                .unwrap_or_else(|| vec![0u8; ps].into_boxed_slice());
            base.copy_from_slice(&frame.data);
            frame.base = Some(base);
            self.pending.push(idx);
        }
    }

    /// Starts a change that rewrites all of frame `idx` (a page being
    /// initialised): it is logged as a full image, so the old contents are
    /// neither copied nor needed (nor read from disk, with
    /// `frame_for_overwrite`). A full image of a fresh page is small: it
    /// holds only the non-zero bytes.
    fn begin_overwrite(&mut self, idx: usize) {
        let ps = self.page_size;
        let frame = &mut self.frames[idx];
        frame.dirty = true;
        self.imaged.remove(&frame.id);
        if frame.base.is_none() {
            // Pending frames hold a base (that pins them); its bytes go
            // unused, as the page is no longer `imaged`.
            let base = self
                .spare_bases
                .pop()
                .unwrap_or_else(|| vec![0u8; ps].into_boxed_slice());
            frame.base = Some(base);
            self.pending.push(idx);
        }
    }

    /// Declares that no multi-page change is in progress, and logs the
    /// unlogged changes if there are many (without syncing).
    pub fn safe_point(&mut self) -> PResult<()> {
        self.check_usable()?;
        if self.pending.len() >= self.pending_limit {
            self.log_pending()?;
        }
        Ok(())
    }

    /// Allocates a page (from the free list, else by extending the file)
    /// and initialises it as `kind`.
    pub fn allocate(&mut self, kind: PageKind) -> PResult<PageId> {
        let head = self.read(0, |p| le::u32_at(p, hdr::OFF_FREE_HEAD))?;
        let id = if head != 0 {
            let (leaves, next) = self.trunk_header(head)?;
            let id = if leaves > 0 {
                let at = trunk::OFF_LEAVES + 4 * (leaves as usize - 1);
                let leaf = self.read(head, |p| le::u32_at(p, at))?;
                if leaf == 0 || leaf == head || self.check_id(leaf).is_err() {
                    return Err(PagerError::corrupt(head, "bad free page id in a trunk"));
                }
                self.write(head, |p| le::put_u32(p, trunk::OFF_COUNT, leaves - 1))?;
                leaf
            } else {
                // An empty trunk is itself the page handed out.
                self.write(0, |p| le::put_u32(p, hdr::OFF_FREE_HEAD, next))?;
                head
            };
            self.write(0, |p| {
                let n = le::u32_at(p, hdr::OFF_FREE_COUNT);
                le::put_u32(p, hdr::OFF_FREE_COUNT, n.saturating_sub(1));
            })?;
            id
        } else {
            let id = self.page_count;
            if id >= NO_PAGE - 1 {
                return Err(PagerError::TooLarge {
                    what: "database",
                    size: id as u64 * self.page_size as u64,
                    max: (NO_PAGE - 1) as u64 * self.page_size as u64,
                });
            }
            self.page_count += 1;
            let count = self.page_count;
            self.write(0, |p| le::put_u32(p, hdr::OFF_PAGE_COUNT, count))?;
            id
        };
        let idx = self.frame_for_overwrite(id)?;
        self.begin_overwrite(idx);
        page::init(self.frames[idx].data_mut(), id, kind);
        Ok(id)
    }

    /// The leaf count and next trunk of free-list trunk `id`, validated.
    fn trunk_header(&mut self, id: PageId) -> PResult<(u32, PageId)> {
        let cap = trunk::capacity(self.page_size);
        let (kind, leaves, next) = self.read(id, |p| {
            (
                page::kind(p),
                le::u32_at(p, trunk::OFF_COUNT),
                page::next(p),
            )
        })?;
        if kind != Some(PageKind::Free) {
            return Err(PagerError::corrupt(
                id,
                "free list entry is not a free page",
            ));
        }
        if leaves as usize > cap {
            return Err(PagerError::corrupt(id, "free list trunk overfull"));
        }
        Ok((leaves, next))
    }

    /// Returns page `id` to the free list. The caller guarantees nothing
    /// references it any more. Its id goes into the first trunk page (one
    /// small change, the page itself untouched), or, when that is full,
    /// the page becomes the new first trunk.
    pub fn free(&mut self, id: PageId) -> PResult<()> {
        if id == 0 {
            return Err(PagerError::corrupt(0, "attempt to free the header page"));
        }
        self.check_usable()?;
        self.check_id(id)?;
        let head = self.read(0, |p| le::u32_at(p, hdr::OFF_FREE_HEAD))?;
        let cap = trunk::capacity(self.page_size);
        let room = if head != 0 {
            let (leaves, _) = self.trunk_header(head)?;
            (leaves as usize) < cap
        } else {
            false
        };
        if room {
            self.write(head, |p| {
                let n = le::u32_at(p, trunk::OFF_COUNT);
                le::put_u32(p, trunk::OFF_LEAVES + 4 * n as usize, id);
                le::put_u32(p, trunk::OFF_COUNT, n + 1);
            })?;
        } else {
            // The old contents are dead: not read, not kept.
            let idx = self.frame_for_overwrite(id)?;
            self.begin_overwrite(idx);
            let p = self.frames[idx].data_mut();
            page::init(p, id, PageKind::Free);
            page::set_next(p, head);
        }
        self.write(0, |p| {
            if !room {
                le::put_u32(p, hdr::OFF_FREE_HEAD, id);
            }
            let n = le::u32_at(p, hdr::OFF_FREE_COUNT);
            le::put_u32(p, hdr::OFF_FREE_COUNT, n + 1);
        })
    }

    /// Every free page id: the trunks and their leaves, validated (ids in
    /// range, no trunk twice).
    fn free_pages(&mut self) -> PResult<Vec<PageId>> {
        let count = self.page_count;
        let mut out = Vec::new();
        let mut trunks = 0u32;
        let mut id = self.read(0, |p| le::u32_at(p, hdr::OFF_FREE_HEAD))?;
        while id != 0 {
            trunks += 1;
            if trunks > count {
                return Err(PagerError::corrupt(id, "free list loops"));
            }
            self.check_id(id)?;
            let (leaves, next) = self.trunk_header(id)?;
            out.push(id);
            let start = out.len();
            self.read(id, |p| {
                for k in 0..leaves as usize {
                    out.push(le::u32_at(p, trunk::OFF_LEAVES + 4 * k));
                }
            })?;
            for &leaf in &out[start..] {
                if leaf == 0 || leaf >= count {
                    return Err(PagerError::corrupt(id, "bad free page id in a trunk"));
                }
            }
            id = next;
        }
        Ok(out)
    }

    /// Gives the free pages at the end of the data file back to the file
    /// system: rebuilds the free list without them, lowers the page count
    /// and cuts the file. Does nothing unless at least `min_pages` trail.
    /// Returns how many pages went. Must be called at a safe point; logs
    /// and syncs the WAL first, since the file may only be cut once the
    /// lower page count and the new free list are durable (recovery would
    /// otherwise follow the old list into missing pages).
    pub fn truncate_free_tail(&mut self, min_pages: u32) -> PResult<u32> {
        self.check_usable()?;
        let count = self.page_count;
        if count <= 1 || self.read(0, |p| le::u32_at(p, hdr::OFF_FREE_HEAD))? == 0 {
            return Ok(0);
        }
        let mut free = self.free_pages()?;
        free.sort_unstable();
        free.dedup();
        let mut new_count = count;
        while new_count > 1 && free.binary_search(&(new_count - 1)).is_ok() {
            new_count -= 1;
        }
        let cut = count - new_count;
        if cut == 0 || cut < min_pages {
            return Ok(0);
        }
        // The list is rebuilt from the pages that stay, in one change (a
        // handful of trunk pages and the header, logged as one batch):
        // recovery sees the old list or the new one, never a mix. Lowest
        // ids come out first.
        let kept: Vec<PageId> = free.iter().copied().filter(|&id| id < new_count).collect();
        let cap = trunk::capacity(self.page_size);
        let mut head = 0;
        for group in kept.chunks(cap + 1).rev() {
            let (trunk_id, leaves) = (group[0], &group[1..]);
            let idx = self.frame_for_overwrite(trunk_id)?;
            self.begin_overwrite(idx);
            let p = self.frames[idx].data_mut();
            page::init(p, trunk_id, PageKind::Free);
            page::set_next(p, head);
            le::put_u32(p, trunk::OFF_COUNT, leaves.len() as u32);
            // Leaves are taken from the end: the lowest ids last.
            for (k, &leaf) in leaves.iter().rev().enumerate() {
                le::put_u32(p, trunk::OFF_LEAVES + 4 * k, leaf);
            }
            head = trunk_id;
        }
        self.write(0, |p| {
            le::put_u32(p, hdr::OFF_FREE_HEAD, head);
            le::put_u32(p, hdr::OFF_FREE_COUNT, kept.len() as u32);
            le::put_u32(p, hdr::OFF_PAGE_COUNT, new_count);
        })?;
        self.page_count = new_count;
        // The cut pages' frames go unlogged and unwritten; a page id
        // allocated again later starts a new full image in the log.
        let mut unpended = HashSet::new();
        for idx in 0..self.frames.len() {
            let id = self.frames[idx].id;
            if id == NO_PAGE || id < new_count {
                continue;
            }
            self.map.remove(id);
            let f = &mut self.frames[idx];
            f.id = NO_PAGE;
            f.dirty = false;
            f.referenced = false;
            if let Some(base) = f.base.take() {
                self.spare_bases.push(base);
                unpended.insert(idx);
            }
        }
        if !unpended.is_empty() {
            self.pending.retain(|i| !unpended.contains(i));
        }
        self.imaged.retain(|&id| id < new_count);
        self.log_pending()?;
        self.sync_wal()?;
        // A file left longer (a failed cut, or a crash before it) is
        // harmless: pages past the count are never read.
        let len = u64::from(new_count) * self.page_size as u64;
        if self.data.len().is_ok_and(|n| n > len) {
            let _ = self.data.set_len(len);
        }
        Ok(cut)
    }

    /// Number of pages on the free list.
    pub fn free_page_count(&mut self) -> PResult<u32> {
        self.read(0, |p| le::u32_at(p, hdr::OFF_FREE_COUNT))
    }

    pub fn root(&mut self, root: Root) -> PResult<PageId> {
        self.read(0, |p| le::u32_at(p, hdr::OFF_ROOTS + 4 * root as usize))
    }

    pub fn set_root(&mut self, root: Root, id: PageId) -> PResult<()> {
        self.write(0, |p| {
            le::put_u32(p, hdr::OFF_ROOTS + 4 * root as usize, id)
        })
    }

    pub fn next_xid(&mut self) -> PResult<u64> {
        self.read(0, |p| le::u64_at(p, hdr::OFF_NEXT_XID))
    }

    pub fn set_next_xid(&mut self, xid: u64) -> PResult<()> {
        self.write(0, |p| le::put_u64(p, hdr::OFF_NEXT_XID, xid))
    }

    /// Logs every unlogged change as one WAL batch (not synced). Must only
    /// be called at a safe point. A failed append leaves the changes pending
    /// and does not poison: nothing durable depends on it.
    pub fn log_pending(&mut self) -> PResult<Lsn> {
        self.check_usable()?;
        if self.pending.is_empty() {
            return Ok(self.wal.end_lsn());
        }
        let mut payload = std::mem::take(&mut self.log_buf);
        payload.clear();
        for &idx in &self.pending {
            let f = &self.frames[idx];
            let base = if self.imaged.contains(&f.id) {
                f.base.as_deref()
            } else {
                None
            };
            record::encode_page(&mut payload, f.id, base, &f.data);
        }
        let result = if payload.is_empty() {
            Ok(self.wal.end_lsn())
        } else {
            self.wal.append_batch(&payload)
        };
        self.log_buf = payload;
        let end = result?;
        for idx in self.pending.drain(..) {
            let f = &mut self.frames[idx];
            f.lsn = end;
            self.imaged.insert(f.id);
            if let Some(base) = f.base.take() {
                self.spare_bases.push(base);
            }
        }
        // Keep at most a pending batch's worth of spare buffers around.
        self.spare_bases.truncate(self.pending_limit);
        Ok(end)
    }

    /// Commit point: logs every unlogged change and, if `durable`, waits
    /// until the WAL is on stable storage. A failed sync poisons.
    pub fn commit(&mut self, durable: bool) -> PResult<Lsn> {
        let end = self.log_pending()?;
        if durable {
            self.sync_wal()?;
        }
        Ok(end)
    }

    /// Waits until everything logged so far is on stable storage (after
    /// `commit(false)`, for group commit). A failed sync poisons.
    pub fn sync(&mut self) -> PResult<()> {
        self.check_usable()?;
        self.sync_wal()
    }

    fn sync_wal(&mut self) -> PResult<()> {
        self.wal.sync().map_err(|e| self.poison(e))
    }

    /// True when enough WAL has accumulated that a checkpoint is due.
    pub fn checkpoint_due(&self) -> bool {
        self.wal.generation_bytes() >= self.checkpoint_wal_bytes
    }

    /// Writes every dirty page to the data file, syncs it, and starts a new
    /// WAL generation. Must be called at a safe point.
    pub fn checkpoint(&mut self) -> PResult<()> {
        self.check_usable()?;
        let next_generation = self.wal.generation() + 1;
        let lsn = self.wal.end_lsn();
        self.write(0, |p| {
            le::put_u64(p, hdr::OFF_CHECKPOINT_LSN, lsn);
            le::put_u64(p, hdr::OFF_WAL_GENERATION, next_generation);
        })?;
        self.log_pending()?;
        self.sync_wal()?;
        let mut dirty: Vec<usize> = (0..self.frames.len())
            .filter(|&i| self.frames[i].dirty)
            .collect();
        dirty.sort_by_key(|&i| self.frames[i].id);
        self.write_runs(&dirty)?;
        self.data.sync().map_err(|e| self.poison(e))?;
        // The WAL file is reused from its start (no growth to sync on
        // commit); one that a large transaction grew past twice the
        // checkpoint distance is shrunk instead of holding that space.
        let shrink =
            self.wal.file_len().map_err(|e| self.poison(e))? > 2 * self.checkpoint_wal_bytes;
        self.wal
            .start_generation(shrink)
            .map_err(|e| self.poison(e))?;
        self.imaged.clear();
        self.stats.checkpoints += 1;
        Ok(())
    }

    /// Writes the given frames (sorted by page id, all logged and with the
    /// WAL synced past them), coalescing adjacent pages into one write.
    fn write_runs(&mut self, sorted: &[usize]) -> PResult<()> {
        const MAX_RUN_BYTES: usize = 1 << 20;
        let ps = self.page_size;
        let mut buf = std::mem::take(&mut self.io_buf);
        let mut i = 0;
        while i < sorted.len() {
            let first = self.frames[sorted[i]].id;
            buf.clear();
            let mut j = i;
            while j < sorted.len()
                && self.frames[sorted[j]].id == first + (j - i) as PageId
                && buf.len() < MAX_RUN_BYTES
            {
                let start = buf.len();
                buf.extend_from_slice(&self.frames[sorted[j]].data);
                let crc = page::compute_crc(&buf[start..start + ps]);
                le::put_u32(&mut buf[start..], page::OFF_CRC, crc);
                j += 1;
            }
            if let Err(e) = self.data.write_at(first as u64 * ps as u64, &buf) {
                self.io_buf = buf;
                return Err(self.poison(e));
            }
            for &idx in &sorted[i..j] {
                self.frames[idx].dirty = false;
            }
            self.stats.pages_written += (j - i) as u64;
            i = j;
        }
        self.io_buf = buf;
        Ok(())
    }

    /// Applies one replayed batch.
    fn redo(&mut self, lsn: Lsn, payload: &[u8]) -> PResult<()> {
        let corrupt = |what: String| PagerError::CorruptWal(CorruptWal { lsn, what });
        let records = record::decode_batch(payload).map_err(corrupt)?;
        for rec in records {
            if rec.page == NO_PAGE {
                return Err(corrupt("record for an invalid page id".into()));
            }
            let idx = if rec.full_image {
                self.frame_for_overwrite(rec.page)?
            } else {
                self.frame(rec.page)?
            };
            let f = &mut self.frames[idx];
            rec.apply(f.data_mut()).map_err(corrupt)?;
            f.dirty = true;
            f.lsn = lsn;
            if rec.full_image {
                self.imaged.insert(rec.page);
            }
        }
        Ok(())
    }

    /// The frame holding page `id`, loading it from the data file if needed.
    fn frame(&mut self, id: PageId) -> PResult<usize> {
        if let Some(idx) = self.map.get(id) {
            self.stats.hits += 1;
            self.frames[idx].referenced = true;
            return Ok(idx);
        }
        self.stats.misses += 1;
        let idx = self.free_frame()?;
        let ps = self.page_size;
        let frame = &mut self.frames[idx];
        if let Err(e) = read_padded(
            self.data.as_ref(),
            id as u64 * ps as u64,
            frame.data_for_overwrite(),
        ) {
            return Err(e.into());
        }
        if let Err(what) = page::verify(&frame.data, id) {
            return Err(PagerError::corrupt(id, what));
        }
        self.install(idx, id);
        Ok(idx)
    }

    /// A frame for page `id` whose old content is irrelevant (zeroed).
    fn frame_for_overwrite(&mut self, id: PageId) -> PResult<usize> {
        if let Some(idx) = self.map.get(id) {
            self.frames[idx].referenced = true;
            return Ok(idx);
        }
        let idx = self.free_frame()?;
        self.frames[idx].data_for_overwrite().fill(0);
        self.install(idx, id);
        Ok(idx)
    }

    fn install(&mut self, idx: usize, id: PageId) {
        let f = &mut self.frames[idx];
        f.id = id;
        f.dirty = false;
        f.lsn = 0;
        f.referenced = true;
        self.map.insert(id, idx);
    }

    /// An unused frame: a new one while under budget, else an evicted one.
    fn free_frame(&mut self) -> PResult<usize> {
        if self.frames.len() < self.capacity {
            self.frames.push(Frame {
                id: NO_PAGE,
                data: Rc::from(vec![0u8; self.page_size]),
                base: None,
                dirty: false,
                lsn: 0,
                referenced: false,
            });
            return Ok(self.frames.len() - 1);
        }
        let victim = self.choose_victim()?;
        if self.frames[victim].dirty {
            if self.frames[victim].lsn > self.wal.flushed_lsn() {
                self.sync_wal()?;
            }
            self.write_runs(&[victim])?;
        }
        let old = self.frames[victim].id;
        self.map.remove(old);
        self.frames[victim].id = NO_PAGE;
        self.stats.evictions += 1;
        Ok(victim)
    }

    /// Clock sweep over frames without unlogged changes, preferring clean
    /// ones within one sweep.
    fn choose_victim(&mut self) -> PResult<usize> {
        let n = self.frames.len();
        let mut dirty_candidate = None;
        for _ in 0..2 * n {
            let i = self.clock_hand;
            self.clock_hand = (self.clock_hand + 1) % n;
            let f = &mut self.frames[i];
            if f.base.is_some() {
                continue;
            }
            if f.referenced {
                f.referenced = false;
                continue;
            }
            if !f.dirty {
                return Ok(i);
            }
            if dirty_candidate.is_none() {
                dirty_candidate = Some(i);
            }
        }
        dirty_candidate.ok_or(PagerError::PoolExhausted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{FaultController, FaultyStorage, MemoryStorage};

    fn small() -> PagerConfig {
        PagerConfig {
            page_size: 4096,
            pool_bytes: 64 * 4096,
            checkpoint_wal_bytes: 1 << 20,
        }
    }

    /// A data file and a WAL holding `data` and `wal`, whose clones share
    /// their bytes, so they outlive a pager for a reopen.
    fn files(data: Vec<u8>, wal: Vec<u8>) -> (FaultyStorage, FaultyStorage) {
        let calm = FaultController::new(0);
        (
            FaultyStorage::new(&calm, data),
            FaultyStorage::new(&calm, wal),
        )
    }

    /// Free pages at the end of the file are cut off; the free list keeps
    /// the others; a cut page id allocated again is logged afresh, and
    /// all of it survives recovery from the WAL.
    #[test]
    fn truncate_free_tail_gives_pages_back_and_survives_reopen() {
        let (data, wal) = files(Vec::new(), Vec::new());
        let mut p = Pager::open(Box::new(data.clone()), Box::new(wal.clone()), small()).unwrap();
        let ids: Vec<PageId> = (0..40)
            .map(|_| p.allocate(PageKind::Heap).unwrap())
            .collect();
        for &id in &ids {
            p.write(id, |d| d[100] = id as u8).unwrap();
        }
        p.commit(true).unwrap();
        p.checkpoint().unwrap();
        // Logged in this WAL generation before the cut.
        p.write(ids[35], |d| d[200] = 9).unwrap();
        p.commit(true).unwrap();
        // A middle run and the tail, freed in mixed order.
        for &id in ids[35..].iter().chain(&ids[5..10]).chain(&ids[30..35]) {
            p.free(id).unwrap();
        }
        p.commit(true).unwrap();
        assert_eq!(p.free_page_count().unwrap(), 15);
        assert_eq!(p.truncate_free_tail(11).unwrap(), 0, "below the minimum");
        assert_eq!(p.truncate_free_tail(1).unwrap(), 10);
        assert_eq!(p.page_count(), ids[30]);
        assert_eq!(p.free_page_count().unwrap(), 5);
        assert_eq!(data.current_bytes().len(), ids[30] as usize * 4096);
        assert!(matches!(
            p.read(ids[35], |_| ()),
            Err(PagerError::Corrupt { .. })
        ));
        // The middle run is reused first, then the file grows again.
        let mut again: Vec<PageId> = (0..6)
            .map(|_| p.allocate(PageKind::Heap).unwrap())
            .collect();
        again.sort_unstable();
        assert_eq!(again[..5], ids[5..10]);
        assert_eq!(again[5], ids[30]);
        p.write(ids[30], |d| d[300] = 7).unwrap();
        p.commit(true).unwrap();
        let written = p.read(ids[30], <[u8]>::to_vec).unwrap();
        // Recovery from the files as they are now (a crash: no checkpoint).
        let (data, wal) = (data.current_bytes(), wal.current_bytes());
        drop(p);
        let (data, wal) = files(data, wal);
        let mut p = Pager::open(Box::new(data), Box::new(wal), small()).unwrap();
        assert_eq!(p.page_count(), ids[30] + 1);
        assert_eq!(p.free_page_count().unwrap(), 0);
        for &id in &ids[..5] {
            assert_eq!(p.read(id, |d| d[100]).unwrap(), id as u8);
        }
        let fresh = p.read(ids[30], <[u8]>::to_vec).unwrap();
        assert_eq!(
            (fresh[100], fresh[300]),
            (0, 7),
            "a new page, not the cut one"
        );
        assert!(fresh == written, "replayed byte for byte");
    }

    /// A shared page keeps the bytes it had when shared while the pager
    /// changes, frees, evicts and reloads that page; the pager's own view
    /// (and what it writes out) has every change.
    #[test]
    fn shared_pages_are_copied_on_write() {
        let (data, wal) = files(Vec::new(), Vec::new());
        let mut p = Pager::open(Box::new(data.clone()), Box::new(wal.clone()), small()).unwrap();
        let mut ids = Vec::new();
        for _ in 0..10 {
            for _ in 0..20 {
                let id = p.allocate(PageKind::Heap).unwrap();
                p.write(id, |d| d[100] = 1).unwrap();
                ids.push(id);
            }
            p.commit(true).unwrap();
        }
        let (a, b) = (ids[0], ids[1]);
        let held_a = p.share(a).unwrap();
        let held_b = p.share(b).unwrap();
        // Two holders of one page, then a change of it.
        let held_a2 = p.share(a).unwrap();
        p.write(a, |d| d[100] = 2).unwrap();
        p.free(b).unwrap();
        p.commit(true).unwrap();
        assert_eq!((held_a[100], held_a2[100], held_b[100]), (1, 1, 1));
        assert_eq!(p.read(a, |d| d[100]).unwrap(), 2);
        // Every frame reused for other pages (the pool holds 64), then `a`
        // read back from the data file and changed again.
        for chunk in ids[2..].chunks(20) {
            for &id in chunk {
                p.write(id, |d| d[101] = 3).unwrap();
            }
            p.commit(true).unwrap();
        }
        p.checkpoint().unwrap();
        let again = p.share(a).unwrap();
        p.write(a, |d| d[100] = 4).unwrap();
        p.commit(true).unwrap();
        assert_eq!((held_a[100], again[100], held_b[100]), (1, 2, 1));
        assert_eq!(held_b.len(), 4096);
        drop(p);
        let mut p = Pager::open(Box::new(data), Box::new(wal), small()).unwrap();
        assert_eq!(p.read(a, |d| d[100]).unwrap(), 4);
        assert_eq!(p.read(ids[199], |d| (d[100], d[101])).unwrap(), (1, 3));
    }

    /// More frees than one trunk page holds: the ids go into trunks (a
    /// page becomes a trunk only when the first is full), survive
    /// recovery, and come back each exactly once. A list of zeroed free
    /// pages linked by `next` (what earlier versions wrote) reads as
    /// trunks without leaves.
    #[test]
    fn free_list_trunks_hold_many_pages_and_read_the_old_layout() {
        let (data, wal) = files(Vec::new(), Vec::new());
        let mut p = Pager::open(Box::new(data.clone()), Box::new(wal.clone()), small()).unwrap();
        let cap = trunk::capacity(4096);
        // Safe points between the changes, as access methods make them,
        // let the small pool log and reuse its frames.
        let alloc = |p: &mut Pager| {
            p.safe_point().unwrap();
            p.allocate(PageKind::Heap).unwrap()
        };
        let ids: Vec<PageId> = (0..cap + 50).map(|_| alloc(&mut p)).collect();
        p.commit(true).unwrap();
        for &id in &ids {
            p.safe_point().unwrap();
            p.free(id).unwrap();
        }
        p.commit(true).unwrap();
        let trunks = |p: &mut Pager| {
            let mut n = 0;
            let mut id = p.read(0, |d| le::u32_at(d, hdr::OFF_FREE_HEAD)).unwrap();
            while id != 0 {
                n += 1;
                id = p.read(id, page::next).unwrap();
            }
            n
        };
        assert_eq!(trunks(&mut p), 2, "the first freed page, then one more");
        assert_eq!(p.free_page_count().unwrap() as usize, ids.len());
        let (d, w) = (data.current_bytes(), wal.current_bytes());
        drop(p);
        let (data, wal) = files(d, w);
        let mut p = Pager::open(Box::new(data), Box::new(wal), small()).unwrap();
        let mut again: Vec<PageId> = (0..ids.len()).map(|_| alloc(&mut p)).collect();
        assert_eq!(p.free_page_count().unwrap(), 0);
        assert_eq!(p.allocate(PageKind::Heap).unwrap(), p.page_count() - 1);
        again.sort_unstable();
        assert_eq!(again, ids);
        // The old layout: zeroed Free pages, each linking the next.
        let old: Vec<PageId> = ids[..3].to_vec();
        for (i, &id) in old.iter().enumerate() {
            let next = old.get(i + 1).copied().unwrap_or(0);
            let idx = p.frame_for_overwrite(id).unwrap();
            p.begin_overwrite(idx);
            let d = p.frames[idx].data_mut();
            page::init(d, id, PageKind::Free);
            page::set_next(d, next);
        }
        p.write(0, |d| {
            le::put_u32(d, hdr::OFF_FREE_HEAD, old[0]);
            le::put_u32(d, hdr::OFF_FREE_COUNT, 3);
        })
        .unwrap();
        let back: Vec<PageId> = (0..3)
            .map(|_| p.allocate(PageKind::Heap).unwrap())
            .collect();
        assert_eq!(back, old);
        assert_eq!(p.free_page_count().unwrap(), 0);
    }

    #[test]
    fn pages_survive_reopen_and_free_pages_are_reused() {
        let mut p = Pager::open(
            Box::new(MemoryStorage::new()),
            Box::new(MemoryStorage::new()),
            small(),
        )
        .unwrap();
        let a = p.allocate(PageKind::Heap).unwrap();
        let b = p.allocate(PageKind::Heap).unwrap();
        p.write(a, |d| d[100] = 7).unwrap();
        p.free(b).unwrap();
        assert_eq!(p.allocate(PageKind::Heap).unwrap(), b);
        assert_eq!(p.free_page_count().unwrap(), 0);
        p.commit(true).unwrap();
        assert_eq!(p.read(a, |d| d[100]).unwrap(), 7);
        assert!(matches!(
            p.read(999, |_| ()),
            Err(PagerError::Corrupt { .. })
        ));
    }
}
