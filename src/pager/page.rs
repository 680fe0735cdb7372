//! Page format shared by every page kind.
//!
//! Common header (16 bytes, little-endian):
//! ```text
//! 0..4   crc32c of bytes 4..page_size (written when the page goes to disk)
//! 4      page kind (PageKind)
//! 5      flags (kind-specific)
//! 6..8   kind-specific u16
//! 8..12  page id (detects misplaced writes)
//! 12..16 kind-specific u32 (e.g. next page in a chain)
//! ```
//! An all-zero page is a valid "never written" page.

use crate::util::le;

/// Index of a page in the data file.
pub type PageId = u32;

/// Default page size. 8 KiB like PostgreSQL: large enough that a B+tree node
/// holds hundreds of keys, small enough that OPFS writes stay cheap.
pub const DEFAULT_PAGE_SIZE: usize = 8192;
pub const MIN_PAGE_SIZE: usize = 1024;
/// Page offsets are logged as u16.
pub const MAX_PAGE_SIZE: usize = 32768;

pub const PAGE_HEADER_SIZE: usize = 16;
pub const OFF_CRC: usize = 0;
pub const OFF_KIND: usize = 4;
pub const OFF_FLAGS: usize = 5;
pub const OFF_AUX16: usize = 6;
pub const OFF_ID: usize = 8;
pub const OFF_NEXT: usize = 12;

/// What a page holds. Stored in byte 4 of every page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PageKind {
    /// All zeros: allocated (or beyond the file end) but never initialised.
    Unused = 0,
    Header = 1,
    /// On the free list; `next` links to the following free page.
    Free = 2,
    Heap = 3,
    BTreeLeaf = 4,
    BTreeInternal = 5,
    Overflow = 6,
    /// Per-relation meta page (heap or B+tree root pointers).
    Meta = 7,
    Clog = 8,
    ClogDir = 9,
    /// An HNSW index's meta page.
    HnswMeta = 10,
    /// HNSW graph nodes (vectors and neighbour lists).
    HnswNodes = 11,
}

impl PageKind {
    pub fn from_u8(b: u8) -> Option<PageKind> {
        use PageKind::*;
        Some(match b {
            0 => Unused,
            1 => Header,
            2 => Free,
            3 => Heap,
            4 => BTreeLeaf,
            5 => BTreeInternal,
            6 => Overflow,
            7 => Meta,
            8 => Clog,
            9 => ClogDir,
            10 => HnswMeta,
            11 => HnswNodes,
            _ => return None,
        })
    }
}

pub fn kind(page: &[u8]) -> Option<PageKind> {
    PageKind::from_u8(page[OFF_KIND])
}

pub fn next(page: &[u8]) -> PageId {
    le::u32_at(page, OFF_NEXT)
}

pub fn set_next(page: &mut [u8], next: PageId) {
    le::put_u32(page, OFF_NEXT, next);
}

/// Clears `page` and writes a fresh common header.
pub fn init(page: &mut [u8], id: PageId, kind: PageKind) {
    page.fill(0);
    page[OFF_KIND] = kind as u8;
    le::put_u32(page, OFF_ID, id);
}

/// Checksum over everything but the checksum field itself.
pub fn compute_crc(page: &[u8]) -> u32 {
    crc32c::crc32c(&page[4..])
}

/// Why a page read from disk is not acceptable.
pub fn verify(page: &[u8], id: PageId) -> Result<(), String> {
    if page.iter().all(|&b| b == 0) {
        return Ok(());
    }
    let stored = le::u32_at(page, OFF_CRC);
    let actual = compute_crc(page);
    if stored != actual {
        return Err(format!(
            "checksum mismatch (stored {stored:#010x}, computed {actual:#010x})"
        ));
    }
    if le::u32_at(page, OFF_ID) != id {
        return Err(format!(
            "page claims to be page {}",
            le::u32_at(page, OFF_ID)
        ));
    }
    if kind(page).is_none() {
        return Err(format!("unknown page kind {}", page[OFF_KIND]));
    }
    Ok(())
}

/// Layout of a free-list trunk page (kind `Free`; the common header's
/// `next` is the next trunk): a count, then that many ids of free pages.
/// Those leaf pages keep whatever bytes they had; nothing reads them
/// until they are allocated (and initialised) again. A free page written
/// before trunks existed is a trunk with no leaves: its bytes were zeroed.
pub mod trunk {
    pub const OFF_COUNT: usize = 16;
    pub const OFF_LEAVES: usize = 20;

    /// Leaf ids one trunk page holds.
    pub fn capacity(page_size: usize) -> usize {
        (page_size - OFF_LEAVES) / 4
    }
}

/// Layout of page 0, the database header (after the common header).
pub mod header {
    pub const MAGIC: &[u8; 8] = b"NEURALDB";
    pub const FORMAT_VERSION: u32 = 1;
    pub const OFF_MAGIC: usize = 16;
    pub const OFF_VERSION: usize = 24;
    pub const OFF_PAGE_SIZE: usize = 28;
    /// Number of pages allocated (ids below it exist, in the pool or the file).
    pub const OFF_PAGE_COUNT: usize = 32;
    pub const OFF_FREE_HEAD: usize = 36;
    pub const OFF_FREE_COUNT: usize = 40;
    pub const OFF_NEXT_XID: usize = 48;
    /// WAL position at which the last checkpoint began.
    pub const OFF_CHECKPOINT_LSN: usize = 56;
    /// Root page ids of the upper layers, one u32 per [`crate::pager::Root`].
    pub const OFF_ROOTS: usize = 64;
    pub const ROOT_SLOTS: usize = 16;
    /// The WAL generation that follows the last checkpoint (used when the
    /// WAL header itself was lost).
    pub const OFF_WAL_GENERATION: usize = 128;
}
