//! Heap tables: slotted pages of MVCC tuple versions.
//!
//! A heap is a meta page plus a chain of heap pages. Meta page
//! (`PageKind::Meta`, flags = 1): bytes 16..20 first heap page, 20..24 last
//! heap page, 24..28 number of heap pages.
//!
//! Heap page (`PageKind::Heap`; common header `next` = following page):
//! ```text
//! 16..18 slot count (u16)
//! 18..20 start of the tuple area (u16; tuples grow down from the page end)
//! 24..   slots: u16 offset, u16 length (offset 0 = unused slot)
//! ```
//! Tuple: a 32-byte [`TupleHeader`] then the payload. A payload larger than
//! [`Heap::inline_limit`] goes to an overflow chain and the tuple holds
//! (u64 length, u32 first page) with the `EXTERNAL` flag.
//!
//! Tuple ids ([`Tid`]) are stable: compaction moves bytes, never slots, and a
//! slot is reused only after [`Heap::remove`] (vacuum) freed it.

pub mod overflow;

use crate::pager::{page, PResult, PageId, PageKind, Pager, PagerError, SharedPage};
use crate::txn::ids::Xid;
use crate::util::le;

const META_FLAG_HEAP: u8 = 1;
const META_FIRST: usize = 16;
const META_LAST: usize = 20;
const META_PAGES: usize = 24;

const OFF_NSLOTS: usize = 16;
const OFF_TUPLES: usize = 18;
const SLOTS_START: usize = 24;
const SLOT_SIZE: usize = 4;

pub const TUPLE_HEADER_SIZE: usize = 32;
/// Where a tuple header's flags are (see [`TupleHeader::write`]).
const FLAGS_AT: usize = 30;
const EXTERNAL_REF_SIZE: usize = 12;

/// Tuple flags.
pub mod flags {
    /// `xmax` only locks the row (SELECT ... FOR UPDATE/SHARE).
    pub const XMAX_LOCK_ONLY: u16 = 1;
    /// Payload lives in an overflow chain.
    pub const EXTERNAL: u16 = 2;
    /// The row was updated: `ctid` points to the newer version.
    pub const UPDATED: u16 = 4;
    /// Two bits: the row-lock mode `xmax` holds (txn::rowlocks), 0 being
    /// FOR UPDATE (what a delete or a key update takes).
    pub const XMAX_MODE_SHIFT: u16 = 3;
    pub const XMAX_MODE_MASK: u16 = 3 << XMAX_MODE_SHIFT;
    /// A heap-only update: the newer version `ctid` names is on the same
    /// page, flagged `HEAP_ONLY`, and has every index key this one has.
    pub const HOT_UPDATED: u16 = 1 << 5;
    /// No index entry points at this version: it is reached along the
    /// `HOT_UPDATED` links of its chain from the chain's root, the version
    /// the index entries point at.
    pub const HEAP_ONLY: u16 = 1 << 6;
    /// A dead chain root cut down to its header ([`Heap::redirect`]): no
    /// payload; it stays for the index entries pointing at it, and
    /// `ctid` is its chain's first live version.
    pub const REDIRECT: u16 = 1 << 7;
}

/// The next version of `h`'s HOT chain on page `page`, if `h` links to one
/// (a row lock alone never does; [`continues_chain`] then validates the
/// version found there).
pub fn hot_next(h: &TupleHeader, page: PageId) -> Option<Tid> {
    (h.flags & flags::HOT_UPDATED != 0
        && h.flags & flags::XMAX_LOCK_ONLY == 0
        && h.xmax != 0
        && h.ctid.page == page)
        .then_some(h.ctid)
}

/// Whether `next`, found where `prev` links, is `prev`'s successor in a
/// HOT chain: heap-only, inserted by the transaction that replaced
/// `prev`. A slot freed by VACUUM and reused holds another transaction's
/// tuple, which this tells apart (as PostgreSQL checks xmin against the
/// predecessor's xmax).
pub fn continues_chain(prev: &TupleHeader, next: &TupleHeader) -> bool {
    next.flags & flags::HEAP_ONLY != 0 && next.xmin == prev.xmax
}

/// A tuple's address: heap page and slot.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Tid {
    pub page: PageId,
    pub slot: u16,
}

impl Tid {
    pub const SIZE: usize = 6;

    /// Big-endian, so that index entries with equal columns sort by TID.
    pub fn to_bytes(self) -> [u8; 6] {
        let mut b = [0u8; 6];
        b[0..4].copy_from_slice(&self.page.to_be_bytes());
        b[4..6].copy_from_slice(&self.slot.to_be_bytes());
        b
    }

    /// Inverse of [`Tid::to_bytes`]; `None` unless `b` has 6 bytes.
    pub fn from_bytes(b: &[u8]) -> Option<Tid> {
        if b.len() != 6 {
            return None;
        }
        Some(Tid {
            page: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            slot: u16::from_be_bytes([b[4], b[5]]),
        })
    }
}

/// MVCC header of a tuple version (PostgreSQL's HeapTupleHeader, simplified).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TupleHeader {
    /// Inserting transaction.
    pub xmin: Xid,
    /// Deleting, updating or locking transaction (0 = none).
    pub xmax: Xid,
    /// Command id of the insert within `xmin`.
    pub cmin: u32,
    /// Command id of the delete within `xmax`.
    pub cmax: u32,
    /// This tuple's own id, or the newer version's when `UPDATED`.
    pub ctid: Tid,
    pub flags: u16,
}

impl TupleHeader {
    pub fn new(xmin: Xid, cmin: u32) -> Self {
        TupleHeader {
            xmin,
            xmax: 0,
            cmin,
            cmax: 0,
            ctid: Tid { page: 0, slot: 0 },
            flags: 0,
        }
    }

    fn read(b: &[u8]) -> Self {
        TupleHeader {
            xmin: le::u64_at(b, 0),
            xmax: le::u64_at(b, 8),
            cmin: le::u32_at(b, 16),
            cmax: le::u32_at(b, 20),
            ctid: Tid {
                page: le::u32_at(b, 24),
                slot: le::u16_at(b, 28),
            },
            flags: le::u16_at(b, FLAGS_AT),
        }
    }

    fn write(&self, b: &mut [u8]) {
        le::put_u64(b, 0, self.xmin);
        le::put_u64(b, 8, self.xmax);
        le::put_u32(b, 16, self.cmin);
        le::put_u32(b, 20, self.cmax);
        le::put_u32(b, 24, self.ctid.page);
        le::put_u16(b, 28, self.ctid.slot);
        le::put_u16(b, FLAGS_AT, self.flags);
    }
}

/// A tuple read from the heap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tuple {
    pub tid: Tid,
    pub header: TupleHeader,
    pub payload: Vec<u8>,
}

/// A heap page as [`Heap::view_page`] took it (shared with the pager, not
/// copied; see [`SharedPage`]), reused from page to page.
#[derive(Default)]
pub struct PageView {
    id: PageId,
    data: SharedPage,
    /// (slot, offset, length) of each used slot.
    slots: Vec<(u16, u32, u32)>,
    next: PageId,
}

impl PageView {
    /// The next page of the heap (0 after the last).
    pub fn next_page(&self) -> PageId {
        self.next
    }

    /// How many tuples the page holds.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Stops sharing the page (the view then holds no tuples).
    pub fn release(&mut self) {
        self.slots.clear();
        self.data = SharedPage::default();
    }

    /// Tuple `i` of the page: its TID and header.
    pub fn tuple(&self, i: usize) -> (Tid, TupleHeader) {
        let (slot, off, _) = self.slots[i];
        (
            Tid {
                page: self.id,
                slot,
            },
            TupleHeader::read(&self.data[off as usize..]),
        )
    }

    /// Tuple `i`'s header and stored bytes (its payload, or a reference to
    /// its overflow chain).
    fn stored(&self, i: usize) -> (TupleHeader, &[u8]) {
        let (_, off, len) = self.slots[i];
        let bytes = &self.data[off as usize..(off + len) as usize];
        (TupleHeader::read(bytes), &bytes[TUPLE_HEADER_SIZE..])
    }

    /// Tuple `i`'s payload if the page holds it (not in an overflow chain,
    /// nor a redirect, which has none).
    pub fn inline_payload(&self, i: usize) -> Option<&[u8]> {
        let (header, stored) = self.stored(i);
        (header.flags & (flags::EXTERNAL | flags::REDIRECT) == 0).then_some(stored)
    }

    /// Tuple `i`'s payload: borrowed from the page, or read from its
    /// overflow chain.
    pub fn payload(&self, pager: &mut Pager, i: usize) -> PResult<std::borrow::Cow<'_, [u8]>> {
        let (header, stored) = self.stored(i);
        if header.flags & flags::EXTERNAL != 0 {
            if stored.len() != EXTERNAL_REF_SIZE {
                return Err(PagerError::corrupt(self.id, "bad external reference"));
            }
            let len = le::u64_at(stored, 0);
            let first = le::u32_at(stored, 8);
            Ok(std::borrow::Cow::Owned(overflow::read(pager, first, len)?))
        } else {
            Ok(std::borrow::Cow::Borrowed(stored))
        }
    }
}

/// Validated location of slot `slot`'s tuple bytes, `None` for an unused slot.
fn slot_range(p: &[u8], page_id: PageId, slot: u16) -> PResult<Option<(usize, usize)>> {
    let nslots = le::u16_at(p, OFF_NSLOTS) as usize;
    if page::kind(p) != Some(PageKind::Heap) {
        return Err(PagerError::corrupt(page_id, "expected a heap page"));
    }
    let slots_end = SLOTS_START + nslots * SLOT_SIZE;
    if slots_end > p.len() {
        return Err(PagerError::corrupt(
            page_id,
            "slot array overflows the page",
        ));
    }
    if slot as usize >= nslots {
        return Ok(None);
    }
    let s = SLOTS_START + slot as usize * SLOT_SIZE;
    let off = le::u16_at(p, s) as usize;
    let len = le::u16_at(p, s + 2) as usize;
    if off == 0 {
        return Ok(None);
    }
    if off < slots_end || off + len > p.len() || len < TUPLE_HEADER_SIZE {
        return Err(PagerError::corrupt(
            page_id,
            format!("slot {slot} points outside the tuple area"),
        ));
    }
    Ok(Some((off, len)))
}

fn free_space(p: &[u8]) -> usize {
    let nslots = le::u16_at(p, OFF_NSLOTS) as usize;
    let tuples = le::u16_at(p, OFF_TUPLES) as usize;
    tuples.saturating_sub(SLOTS_START + nslots * SLOT_SIZE)
}

/// Bytes used by live slots' tuples (for deciding whether compaction helps).
fn used_tuple_bytes(p: &[u8]) -> usize {
    let nslots = le::u16_at(p, OFF_NSLOTS) as usize;
    (0..nslots)
        .map(|i| {
            let s = SLOTS_START + i * SLOT_SIZE;
            if le::u16_at(p, s) == 0 {
                0
            } else {
                le::u16_at(p, s + 2) as usize
            }
        })
        .sum()
}

/// Rewrites the tuple area contiguously at the end of the page.
fn compact(p: &mut [u8]) {
    let nslots = le::u16_at(p, OFF_NSLOTS) as usize;
    let mut live: Vec<(usize, Vec<u8>)> = Vec::new();
    for i in 0..nslots {
        let s = SLOTS_START + i * SLOT_SIZE;
        let off = le::u16_at(p, s) as usize;
        let len = le::u16_at(p, s + 2) as usize;
        if off != 0 {
            live.push((i, p[off..off + len].to_vec()));
        }
    }
    let mut top = p.len();
    for (i, bytes) in live {
        top -= bytes.len();
        p[top..top + bytes.len()].copy_from_slice(&bytes);
        le::put_u16(p, SLOTS_START + i * SLOT_SIZE, top as u16);
    }
    le::put_u16(p, OFF_TUPLES, top as u16);
}

/// Tries to place `tuple` (header + stored payload) in page `p`.
fn place(p: &mut [u8], tuple: &[u8]) -> Option<u16> {
    let nslots = le::u16_at(p, OFF_NSLOTS) as usize;
    let reuse = (0..nslots).find(|&i| le::u16_at(p, SLOTS_START + i * SLOT_SIZE) == 0);
    let slot_cost = if reuse.is_some() { 0 } else { SLOT_SIZE };
    if free_space(p) < tuple.len() + slot_cost {
        let total_free = p.len() - SLOTS_START - nslots * SLOT_SIZE - used_tuple_bytes(p);
        if total_free < tuple.len() + slot_cost || nslots >= u16::MAX as usize {
            return None;
        }
        compact(p);
    }
    let slot = match reuse {
        Some(i) => i,
        None => {
            le::put_u16(p, OFF_NSLOTS, (nslots + 1) as u16);
            nslots
        }
    };
    let top = le::u16_at(p, OFF_TUPLES) as usize - tuple.len();
    p[top..top + tuple.len()].copy_from_slice(tuple);
    le::put_u16(p, OFF_TUPLES, top as u16);
    le::put_u16(p, SLOTS_START + slot * SLOT_SIZE, top as u16);
    le::put_u16(p, SLOTS_START + slot * SLOT_SIZE + 2, tuple.len() as u16);
    Some(slot as u16)
}

/// A heap table. Cheap to keep around; holds an in-memory list of pages
/// known to have room (filled by [`Heap::remove`]).
#[derive(Clone, Debug)]
pub struct Heap {
    meta: PageId,
    pages_with_room: Vec<PageId>,
    /// Scratch for the tuple being inserted.
    tuple_buf: Vec<u8>,
    /// Bytes an insert leaves free on its page (the table's fillfactor),
    /// for heap-only updates of the page's rows, which may use them.
    reserve: usize,
}

impl Heap {
    pub fn create(pager: &mut Pager) -> PResult<Heap> {
        pager.safe_point()?;
        let meta = pager.allocate(PageKind::Meta)?;
        let first = Self::new_page(pager)?;
        pager.write(meta, |p| {
            p[page::OFF_FLAGS] = META_FLAG_HEAP;
            le::put_u32(p, META_FIRST, first);
            le::put_u32(p, META_LAST, first);
            le::put_u32(p, META_PAGES, 1);
        })?;
        Ok(Heap::open(meta))
    }

    pub fn open(meta: PageId) -> Heap {
        Heap {
            meta,
            pages_with_room: Vec::new(),
            tuple_buf: Vec::new(),
            reserve: 0,
        }
    }

    /// Makes inserts fill pages to `fillfactor` percent (all of a page
    /// when `None`, or 100).
    pub fn set_fillfactor(&mut self, pager: &Pager, fillfactor: Option<u8>) {
        let free = 100 - usize::from(fillfactor.unwrap_or(100).clamp(10, 100));
        self.reserve = pager.page_size() * free / 100;
    }

    pub fn meta_page(&self) -> PageId {
        self.meta
    }

    fn new_page(pager: &mut Pager) -> PResult<PageId> {
        let id = pager.allocate(PageKind::Heap)?;
        let ps = pager.page_size() as u16;
        pager.write(id, |p| le::put_u16(p, OFF_TUPLES, ps))?;
        Ok(id)
    }

    fn meta_fields(&self, pager: &mut Pager) -> PResult<(PageId, PageId, u32)> {
        let meta = self.meta;
        let r = pager.read(meta, |p| {
            (
                page::kind(p) == Some(PageKind::Meta) && p[page::OFF_FLAGS] == META_FLAG_HEAP,
                le::u32_at(p, META_FIRST),
                le::u32_at(p, META_LAST),
                le::u32_at(p, META_PAGES),
            )
        })?;
        if !r.0 {
            return Err(PagerError::corrupt(meta, "expected a heap meta page"));
        }
        Ok((r.1, r.2, r.3))
    }

    /// Payloads above this size are stored out of line.
    pub fn inline_limit(pager: &Pager) -> usize {
        pager.page_size() / 2 - TUPLE_HEADER_SIZE
    }

    /// Inserts a new tuple version. Its `ctid` is set to its own tid.
    pub fn insert(
        &mut self,
        pager: &mut Pager,
        header: TupleHeader,
        payload: &[u8],
    ) -> PResult<Tid> {
        pager.safe_point()?;
        let mut header = header;
        // The stored tuple: room for the header (written when placed),
        // then the payload or its overflow reference.
        let mut bytes = std::mem::take(&mut self.tuple_buf);
        bytes.clear();
        bytes.resize(TUPLE_HEADER_SIZE, 0);
        let placed = self.place_tuple(pager, &mut header, &mut bytes, payload);
        self.tuple_buf = bytes;
        placed
    }

    fn place_tuple(
        &mut self,
        pager: &mut Pager,
        header: &mut TupleHeader,
        bytes: &mut Vec<u8>,
        payload: &[u8],
    ) -> PResult<Tid> {
        if payload.len() > Self::inline_limit(pager) {
            let first = overflow::write(pager, payload)?;
            header.flags |= flags::EXTERNAL;
            bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
            bytes.extend_from_slice(&first.to_le_bytes());
        } else {
            header.flags &= !flags::EXTERNAL;
            bytes.extend_from_slice(payload);
        }
        let (_, last, npages) = self.meta_fields(pager)?;
        let reserve = self.reserve;
        // Reuse room vacuum found before growing the heap at its end.
        while let Some(page_id) = self.pages_with_room.last().copied() {
            if let Some(tid) = Self::try_place(pager, page_id, header, bytes, reserve)? {
                return Ok(tid);
            }
            self.pages_with_room.pop();
        }
        if let Some(tid) = Self::try_place(pager, last, header, bytes, reserve)? {
            return Ok(tid);
        }
        let new = Self::new_page(pager)?;
        pager.write(last, |p| page::set_next(p, new))?;
        pager.write(self.meta, |p| {
            le::put_u32(p, META_LAST, new);
            le::put_u32(p, META_PAGES, npages + 1);
        })?;
        Self::try_place(pager, new, header, bytes, 0)?
            .ok_or_else(|| PagerError::corrupt(new, "tuple does not fit an empty page"))
    }

    /// Places the tuple on `page_id` if it fits with `reserve` bytes of
    /// the page left free.
    fn try_place(
        pager: &mut Pager,
        page_id: PageId,
        header: &mut TupleHeader,
        bytes: &[u8],
        reserve: usize,
    ) -> PResult<Option<Tid>> {
        let fits = pager.read(page_id, |p| {
            if page::kind(p) != Some(PageKind::Heap) {
                return Err(PagerError::corrupt(page_id, "expected a heap page"));
            }
            let nslots = le::u16_at(p, OFF_NSLOTS) as usize;
            let tuples = le::u16_at(p, OFF_TUPLES) as usize;
            if SLOTS_START + nslots * SLOT_SIZE > tuples || tuples > p.len() {
                return Err(PagerError::corrupt(page_id, "bad heap page bounds"));
            }
            // The gap between slots and tuples usually settles it; the
            // bytes of removed tuples (found by a walk of the slots) count
            // only when it does not.
            let need = bytes.len() + SLOT_SIZE + reserve;
            Ok(free_space(p) >= need
                || p.len() - SLOTS_START - nslots * SLOT_SIZE - used_tuple_bytes(p) >= need)
        })??;
        if !fits {
            return Ok(None);
        }
        pager.write(page_id, |p| {
            let slot = place(p, bytes)?;
            let tid = Tid {
                page: page_id,
                slot,
            };
            // The header, with the tuple's own ctid, over the placed bytes.
            header.ctid = tid;
            let off = usize::from(le::u16_at(p, SLOTS_START + usize::from(slot) * SLOT_SIZE));
            header.write(&mut p[off..off + TUPLE_HEADER_SIZE]);
            Some(tid)
        })
    }

    fn set_header_at(pager: &mut Pager, tid: Tid, header: &TupleHeader) -> PResult<()> {
        pager.write(tid.page, |p| {
            let (off, _) = slot_range(p, tid.page, tid.slot)?.ok_or_else(|| {
                PagerError::corrupt(tid.page, format!("slot {} is unused", tid.slot))
            })?;
            header.write(&mut p[off..off + TUPLE_HEADER_SIZE]);
            Ok(())
        })?
    }

    /// The header of tuple `tid`, or `None` if the slot is unused.
    pub fn header(&self, pager: &mut Pager, tid: Tid) -> PResult<Option<TupleHeader>> {
        pager.read(tid.page, |p| {
            Ok(slot_range(p, tid.page, tid.slot)?.map(|(off, _)| TupleHeader::read(&p[off..])))
        })?
    }

    /// Changes the MVCC header of `tid` (set xmax, ctid, flags). The payload
    /// location flag is preserved whatever `f` does.
    pub fn update_header(
        &self,
        pager: &mut Pager,
        tid: Tid,
        f: impl FnOnce(&mut TupleHeader),
    ) -> PResult<()> {
        pager.safe_point()?;
        let mut h = self
            .header(pager, tid)?
            .ok_or_else(|| PagerError::corrupt(tid.page, format!("slot {} is unused", tid.slot)))?;
        let external = h.flags & flags::EXTERNAL;
        f(&mut h);
        h.flags = (h.flags & !flags::EXTERNAL) | external;
        Self::set_header_at(pager, tid, &h)
    }

    /// Inserts a new version on page `page_id` only (a heap-only update
    /// next to the version it replaces): `None` when it does not fit there
    /// or its payload would go to an overflow chain.
    pub fn insert_on_page(
        &mut self,
        pager: &mut Pager,
        page_id: PageId,
        header: TupleHeader,
        payload: &[u8],
    ) -> PResult<Option<Tid>> {
        if payload.len() > Self::inline_limit(pager) {
            return Ok(None);
        }
        pager.safe_point()?;
        let mut header = header;
        header.flags &= !flags::EXTERNAL;
        let mut bytes = std::mem::take(&mut self.tuple_buf);
        bytes.clear();
        bytes.resize(TUPLE_HEADER_SIZE, 0);
        bytes.extend_from_slice(payload);
        let placed = Self::try_place(pager, page_id, &mut header, &bytes, 0);
        self.tuple_buf = bytes;
        placed
    }

    /// The versions an index entry pointing at `tid` stands for, appended
    /// to `out`: `tid` and the heap-only versions its HOT chain links to.
    /// An entry pointing straight at a heap-only version stands for none:
    /// only CREATE INDEX, turning chain members into versions of their own
    /// ([`flags::HEAP_ONLY`] cleared last), makes such entries, and until
    /// it clears the flag the member is reached through its chain.
    pub fn chain(&self, pager: &mut Pager, tid: Tid, out: &mut Vec<Tid>) -> PResult<()> {
        pager.read(tid.page, |p| {
            let Some((off, _)) = slot_range(p, tid.page, tid.slot)? else {
                return Ok(());
            };
            let mut h = TupleHeader::read(&p[off..]);
            if h.flags & flags::HEAP_ONLY != 0 {
                return Ok(());
            }
            out.push(tid);
            // Bounded by the slots of the page: a chain visits each once.
            for _ in 0..le::u16_at(p, OFF_NSLOTS) {
                let Some(next) = hot_next(&h, tid.page) else {
                    break;
                };
                let Some((off, _)) = slot_range(p, tid.page, next.slot)? else {
                    break;
                };
                let n = TupleHeader::read(&p[off..]);
                if !continues_chain(&h, &n) {
                    break;
                }
                out.push(next);
                h = n;
            }
            Ok(())
        })?
    }

    /// Reads tuple `tid` with its payload, `None` if the slot is unused.
    pub fn fetch(&self, pager: &mut Pager, tid: Tid) -> PResult<Option<Tuple>> {
        let raw = pager.read(tid.page, |p| {
            Ok::<_, PagerError>(
                slot_range(p, tid.page, tid.slot)?.map(|(off, len)| p[off..off + len].to_vec()),
            )
        })??;
        match raw {
            None => Ok(None),
            Some(bytes) => Self::decode(pager, tid, &bytes).map(Some),
        }
    }

    /// [`Heap::fetch`] without copying: `view` takes tuple `tid`'s page as
    /// it is now; the tuple is `view`'s only one (index 0). `false` if the
    /// slot is unused.
    pub fn view_tuple(&self, pager: &mut Pager, tid: Tid, view: &mut PageView) -> PResult<bool> {
        view.release();
        view.id = tid.page;
        let p = pager.share(tid.page)?;
        let found = slot_range(&p, tid.page, tid.slot)?;
        if let Some((off, len)) = found {
            view.slots.push((tid.slot, off as u32, len as u32));
        }
        view.next = page::next(&p);
        view.data = p;
        Ok(found.is_some())
    }

    fn decode(pager: &mut Pager, tid: Tid, bytes: &[u8]) -> PResult<Tuple> {
        let header = TupleHeader::read(bytes);
        let stored = &bytes[TUPLE_HEADER_SIZE..];
        let payload = if header.flags & flags::EXTERNAL != 0 {
            if stored.len() != EXTERNAL_REF_SIZE {
                return Err(PagerError::corrupt(tid.page, "bad external reference"));
            }
            let len = le::u64_at(stored, 0);
            let first = le::u32_at(stored, 8);
            overflow::read(pager, first, len)?
        } else {
            stored.to_vec()
        };
        Ok(Tuple {
            tid,
            header,
            payload,
        })
    }

    /// First heap page (scans start here).
    pub fn first_page(&self, pager: &mut Pager) -> PResult<PageId> {
        Ok(self.meta_fields(pager)?.0)
    }

    /// Number of heap pages.
    pub fn page_count(&self, pager: &mut Pager) -> PResult<u32> {
        Ok(self.meta_fields(pager)?.2)
    }

    /// Takes page `page_id` into `into` for a scan: the page's bytes as they
    /// are now (shared with the pager, neither copied nor allocated per
    /// tuple), its used slots, validated, and the next page id. Read the
    /// tuples with [`PageView::tuple`].
    pub fn view_page(
        &self,
        pager: &mut Pager,
        page_id: PageId,
        into: &mut PageView,
    ) -> PResult<()> {
        // Drop the previous page first: if the pager still has it, it can
        // change it in place again instead of copying it.
        into.release();
        into.id = page_id;
        let p = pager.share(page_id)?;
        let nslots = le::u16_at(&p, OFF_NSLOTS);
        for slot in 0..nslots {
            if let Some((off, len)) = slot_range(&p, page_id, slot)? {
                into.slots.push((slot, off as u32, len as u32));
            }
        }
        into.next = page::next(&p);
        into.data = p;
        Ok(())
    }

    /// Every tuple of one page (payloads included), and the next page id
    /// (0 at the end of the heap).
    pub fn scan_page(&self, pager: &mut Pager, page_id: PageId) -> PResult<(Vec<Tuple>, PageId)> {
        let (raw, next) = pager.read(page_id, |p| {
            let nslots = le::u16_at(p, OFF_NSLOTS);
            let mut raw = Vec::new();
            for slot in 0..nslots {
                if let Some((off, len)) = slot_range(p, page_id, slot)? {
                    raw.push((slot, p[off..off + len].to_vec()));
                }
            }
            Ok::<_, PagerError>((raw, page::next(p)))
        })??;
        let mut out = Vec::with_capacity(raw.len());
        for (slot, bytes) in raw {
            out.push(Self::decode(
                pager,
                Tid {
                    page: page_id,
                    slot,
                },
                &bytes,
            )?);
        }
        Ok((out, next))
    }

    /// Cuts `tid`, the dead root of a HOT chain, down to its header, which
    /// stays for the index entries pointing at it and links to `to`, the
    /// chain's first live version, inserted by `xmax` (the new xmax keeps
    /// [`continues_chain`] true). Its payload's bytes (and overflow chain)
    /// are freed, as PostgreSQL's pruning leaves a redirect line pointer.
    pub fn redirect(&mut self, pager: &mut Pager, tid: Tid, to: Tid, xmax: Xid) -> PResult<()> {
        pager.safe_point()?;
        let external = self.external_ref(pager, tid)?;
        pager.write(tid.page, |p| {
            let (off, _) = slot_range(p, tid.page, tid.slot)?.ok_or_else(|| {
                PagerError::corrupt(tid.page, format!("slot {} is unused", tid.slot))
            })?;
            let mut h = TupleHeader::read(&p[off..]);
            h.ctid = to;
            h.xmax = xmax;
            h.flags = (h.flags | flags::REDIRECT) & !flags::EXTERNAL;
            h.write(&mut p[off..off + TUPLE_HEADER_SIZE]);
            let s = SLOTS_START + tid.slot as usize * SLOT_SIZE;
            le::put_u16(p, s + 2, TUPLE_HEADER_SIZE as u16);
            Ok::<_, PagerError>(())
        })??;
        self.freed(pager, tid.page, external)
    }

    /// After bytes of page `page` were freed (and a payload's overflow
    /// chain, `external`, is no longer referenced): frees the chain and
    /// notes the room for later inserts.
    fn freed(
        &mut self,
        pager: &mut Pager,
        page: PageId,
        external: Option<(u64, PageId)>,
    ) -> PResult<()> {
        if let Some((len, first)) = external {
            overflow::free(pager, first, len)?;
        }
        if !self.pages_with_room.contains(&page) {
            self.pages_with_room.push(page);
        }
        Ok(())
    }

    /// (length, first page) of `tid`'s overflow chain, if it has one.
    fn external_ref(&self, pager: &mut Pager, tid: Tid) -> PResult<Option<(u64, PageId)>> {
        pager.read(tid.page, |p| {
            Ok::<_, PagerError>(slot_range(p, tid.page, tid.slot)?.and_then(|(off, len)| {
                let h = TupleHeader::read(&p[off..]);
                (h.flags & flags::EXTERNAL != 0 && len == TUPLE_HEADER_SIZE + EXTERNAL_REF_SIZE)
                    .then(|| {
                        (
                            le::u64_at(p, off + TUPLE_HEADER_SIZE),
                            le::u32_at(p, off + TUPLE_HEADER_SIZE + 8),
                        )
                    })
            }))
        })?
    }

    /// Physically removes tuple `tid` (vacuum: no snapshot can see it) and
    /// frees its overflow chain.
    pub fn remove(&mut self, pager: &mut Pager, tid: Tid) -> PResult<()> {
        pager.safe_point()?;
        let external = self.external_ref(pager, tid)?;
        pager.write(tid.page, |p| {
            if slot_range(p, tid.page, tid.slot)?.is_some() {
                let s = SLOTS_START + tid.slot as usize * SLOT_SIZE;
                le::put_u16(p, s, 0);
                le::put_u16(p, s + 2, 0);
                // Trailing unused slots are dropped so the array can shrink.
                let mut n = le::u16_at(p, OFF_NSLOTS) as usize;
                while n > 0 && le::u16_at(p, SLOTS_START + (n - 1) * SLOT_SIZE) == 0 {
                    n -= 1;
                }
                le::put_u16(p, OFF_NSLOTS, n as u16);
            }
            Ok::<_, PagerError>(())
        })??;
        self.freed(pager, tid.page, external)
    }

    /// Frees every page of the heap, overflow chains included.
    pub fn destroy(self, pager: &mut Pager) -> PResult<()> {
        pager.safe_point()?;
        let (first, _, npages) = self.meta_fields(pager)?;
        let mut page_id = first;
        let mut seen = 0u32;
        while page_id != 0 {
            seen += 1;
            if seen > npages {
                return Err(PagerError::corrupt(
                    self.meta,
                    "heap page chain longer than recorded",
                ));
            }
            // Only the overflow chains are looked for: (length, first page)
            // of each external payload.
            // The page is validated once, then each used slot's flags are
            // read alone (a DROP TABLE walks every tuple of the table).
            let (chains, next) = pager.read(page_id, |p| {
                let mut chains = Vec::new();
                let nslots = le::u16_at(p, OFF_NSLOTS);
                if nslots > 0 {
                    // Checks the kind and the slot array's bounds.
                    slot_range(p, page_id, 0)?;
                }
                for slot in 0..usize::from(nslots) {
                    let s = SLOTS_START + slot * SLOT_SIZE;
                    let off = usize::from(le::u16_at(p, s));
                    if off == 0 {
                        continue;
                    }
                    let len = usize::from(le::u16_at(p, s + 2));
                    let slots_end = SLOTS_START + usize::from(nslots) * SLOT_SIZE;
                    if off < slots_end || off + len > p.len() || len < TUPLE_HEADER_SIZE {
                        return Err(PagerError::corrupt(
                            page_id,
                            format!("slot {slot} points outside the tuple area"),
                        ));
                    }
                    if le::u16_at(p, off + FLAGS_AT) & flags::EXTERNAL != 0 {
                        if len != TUPLE_HEADER_SIZE + EXTERNAL_REF_SIZE {
                            return Err(PagerError::corrupt(page_id, "bad external reference"));
                        }
                        chains.push((
                            le::u64_at(p, off + TUPLE_HEADER_SIZE),
                            le::u32_at(p, off + TUPLE_HEADER_SIZE + 8),
                        ));
                    }
                }
                Ok((chains, page::next(p)))
            })??;
            for (len, first) in chains {
                overflow::free(pager, first, len)?;
            }
            pager.free(page_id)?;
            page_id = next;
        }
        pager.free(self.meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pager::PagerConfig;
    use crate::storage::MemoryStorage;

    fn pager() -> Pager {
        Pager::open(
            Box::new(MemoryStorage::new()),
            Box::new(MemoryStorage::new()),
            PagerConfig {
                page_size: 4096,
                pool_bytes: 64 * 4096,
                checkpoint_wal_bytes: 1 << 20,
            },
        )
        .unwrap()
    }

    #[test]
    fn insert_fetch_update_remove() {
        let mut p = pager();
        let mut h = Heap::create(&mut p).unwrap();
        let mut tids = Vec::new();
        for i in 0..500u32 {
            let payload = format!("row {i}").repeat((i % 7 + 1) as usize);
            tids.push((
                h.insert(&mut p, TupleHeader::new(5, i), payload.as_bytes())
                    .unwrap(),
                payload,
            ));
        }
        assert!(h.page_count(&mut p).unwrap() > 1);
        for (tid, payload) in &tids {
            let t = h.fetch(&mut p, *tid).unwrap().unwrap();
            assert_eq!(t.payload, payload.as_bytes());
            assert_eq!(t.header.ctid, *tid);
        }
        let (tid, _) = tids[10].clone();
        h.update_header(&mut p, tid, |hd| hd.xmax = 9).unwrap();
        assert_eq!(h.header(&mut p, tid).unwrap().unwrap().xmax, 9);
        h.remove(&mut p, tid).unwrap();
        assert!(h.fetch(&mut p, tid).unwrap().is_none());
        // The freed slot is reused.
        let again = h.insert(&mut p, TupleHeader::new(6, 0), b"x").unwrap();
        assert_eq!(again, tid);
    }

    #[test]
    fn large_values_use_overflow_and_are_freed() {
        let mut p = pager();
        let mut h = Heap::create(&mut p).unwrap();
        let big: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let tid = h.insert(&mut p, TupleHeader::new(5, 0), &big).unwrap();
        assert_eq!(h.fetch(&mut p, tid).unwrap().unwrap().payload, big);
        let before = p.free_page_count().unwrap();
        h.remove(&mut p, tid).unwrap();
        assert!(p.free_page_count().unwrap() > before + 60);
    }

    #[test]
    fn garbage_page_is_an_error_not_a_panic() {
        let mut p = pager();
        let mut h = Heap::create(&mut p).unwrap();
        let tid = h.insert(&mut p, TupleHeader::new(5, 0), b"hello").unwrap();
        p.write(tid.page, |d| {
            for (i, b) in d[16..].iter_mut().enumerate() {
                *b = (i * 7 + 3) as u8;
            }
        })
        .unwrap();
        assert!(matches!(
            h.fetch(&mut p, tid),
            Err(PagerError::Corrupt { .. })
        ));
        assert!(matches!(
            h.scan_page(&mut p, tid.page),
            Err(PagerError::Corrupt { .. })
        ));
        assert!(matches!(
            h.insert(&mut p, TupleHeader::new(5, 0), b"again"),
            Err(PagerError::Corrupt { .. })
        ));
    }
}
