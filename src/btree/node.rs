//! Slotted-page layout of B+tree nodes, and the operations on one page.
//!
//! Every function that reads a page validates what it reads (header fields,
//! slot offsets, cell lengths) and reports [`PagerError::Corrupt`] instead
//! of panicking: page bytes come from disk and may be anything. Functions
//! that change a page assume it was validated by the read that preceded the
//! change (within one operation, under `&mut Pager`, nothing else can change
//! it in between), but still never index out of bounds.

use crate::pager::page::{self, OFF_AUX16, PAGE_HEADER_SIZE};
use crate::pager::{PResult, PageId, PageKind, PagerError};
use crate::util::le;

/// Left sibling (leaf) or leftmost child (internal node).
const OFF_LINK: usize = PAGE_HEADER_SIZE;
/// Start of the cell area; cells occupy `cell_start..page_size`.
const OFF_CELL_START: usize = 20;
/// Bytes of deleted cells still inside the cell area.
const OFF_GARBAGE: usize = 22;
/// Height above the leaves (0 for a leaf).
const OFF_LEVEL: usize = 24;
/// Size of the node header; the slot array follows it.
pub(crate) const NODE_HEADER: usize = 32;
/// Bytes per slot (a u16 cell offset).
pub(crate) const SLOT: usize = 2;
/// Leaf cell: key length u16, value length u16, key, value.
const LEAF_CELL_HEADER: usize = 4;
/// Internal cell: key length u16, child page id u32, key.
const INTERNAL_CELL_HEADER: usize = 6;
/// Highest plausible level: with at least four entries per node, 4^40 keys
/// would not fit any file. Bounding it bounds recursion over corrupt trees.
pub(crate) const MAX_LEVEL: u16 = 40;
/// "No page" in sibling links: page 0 is the database header, never a node.
pub(crate) const NONE: PageId = 0;

/// Bytes available for slots and cells.
pub(crate) fn usable(page_size: usize) -> usize {
    page_size - NODE_HEADER
}

/// Largest key + value accepted, chosen so that any node (leaf or internal,
/// whose cells carry at most the key) holds at least four entries.
pub(crate) fn max_entry(page_size: usize) -> usize {
    usable(page_size) / 4 - SLOT - INTERNAL_CELL_HEADER
}

/// Validated header fields of a node.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    pub leaf: bool,
    pub count: usize,
    pub cell_start: usize,
    pub garbage: usize,
    pub level: u16,
    /// Left sibling (leaf) or leftmost child (internal).
    pub link: PageId,
    /// Right sibling (leaves; `NONE` in internal nodes).
    pub right: PageId,
}

impl Header {
    /// Bytes of slots and cells in use.
    pub fn used(&self, page_size: usize) -> usize {
        usable(page_size) - self.free()
    }

    /// Free bytes, counting fragmented space inside the cell area.
    pub fn free(&self) -> usize {
        self.cell_start - (NODE_HEADER + SLOT * self.count) + self.garbage
    }
}

/// Reads and validates the header of node `id`.
pub(crate) fn header(p: &[u8], id: PageId) -> PResult<Header> {
    let leaf = match page::kind(p) {
        Some(PageKind::BTreeLeaf) => true,
        Some(PageKind::BTreeInternal) => false,
        _ => return Err(PagerError::corrupt(id, "not a B+tree node")),
    };
    let ps = p.len();
    let h = Header {
        leaf,
        count: usize::from(le::u16_at(p, OFF_AUX16)),
        cell_start: usize::from(le::u16_at(p, OFF_CELL_START)),
        garbage: usize::from(le::u16_at(p, OFF_GARBAGE)),
        level: le::u16_at(p, OFF_LEVEL),
        link: le::u32_at(p, OFF_LINK),
        right: page::next(p),
    };
    if h.cell_start > ps || NODE_HEADER + SLOT * h.count > h.cell_start {
        return Err(PagerError::corrupt(
            id,
            "B+tree node slot/cell area overlap",
        ));
    }
    if h.garbage > ps - h.cell_start {
        return Err(PagerError::corrupt(
            id,
            "B+tree node garbage count too large",
        ));
    }
    if h.level > MAX_LEVEL {
        return Err(PagerError::corrupt(id, "B+tree node level too high"));
    }
    if leaf != (h.level == 0) {
        return Err(PagerError::corrupt(
            id,
            "B+tree node level disagrees with kind",
        ));
    }
    if !leaf && h.link == NONE {
        return Err(PagerError::corrupt(
            id,
            "B+tree internal node without children",
        ));
    }
    Ok(h)
}

/// Initialises `p` (already carrying the common header of page `id`) as an
/// empty node.
pub(crate) fn init(p: &mut [u8], id: PageId, level: u16, link: PageId) {
    let kind = if level == 0 {
        PageKind::BTreeLeaf
    } else {
        PageKind::BTreeInternal
    };
    page::init(p, id, kind);
    let ps = p.len();
    set_cell_start(p, ps);
    le::put_u16(p, OFF_LEVEL, level);
    le::put_u32(p, OFF_LINK, link);
}

fn set_cell_start(p: &mut [u8], v: usize) {
    // Page sizes are at most 32 KiB, so offsets fit a u16.
    le::put_u16(p, OFF_CELL_START, v as u16);
}

pub(crate) fn set_link(p: &mut [u8], link: PageId) {
    le::put_u32(p, OFF_LINK, link);
}

pub(crate) fn set_right(p: &mut [u8], right: PageId) {
    page::set_next(p, right);
}

/// Offset and length of cell `i`, validated to lie inside the cell area.
fn cell_range(p: &[u8], id: PageId, h: &Header, i: usize) -> PResult<(usize, usize)> {
    if i >= h.count {
        return Err(PagerError::corrupt(id, "B+tree slot index out of range"));
    }
    let off = usize::from(le::u16_at(p, NODE_HEADER + SLOT * i));
    let fixed = if h.leaf {
        LEAF_CELL_HEADER
    } else {
        INTERNAL_CELL_HEADER
    };
    if off < h.cell_start || off + fixed > p.len() {
        return Err(PagerError::corrupt(id, "B+tree cell offset out of range"));
    }
    let klen = usize::from(le::u16_at(p, off));
    let len = if h.leaf {
        fixed + klen + usize::from(le::u16_at(p, off + 2))
    } else {
        fixed + klen
    };
    if off + len > p.len() {
        return Err(PagerError::corrupt(
            id,
            "B+tree cell runs past the page end",
        ));
    }
    Ok((off, len))
}

/// Raw bytes of cell `i` (for moving cells between pages).
pub(crate) fn cell<'a>(p: &'a [u8], id: PageId, h: &Header, i: usize) -> PResult<&'a [u8]> {
    let (off, len) = cell_range(p, id, h, i)?;
    Ok(&p[off..off + len])
}

/// Key of cell `i`.
pub(crate) fn key<'a>(p: &'a [u8], id: PageId, h: &Header, i: usize) -> PResult<&'a [u8]> {
    let c = cell(p, id, h, i)?;
    Ok(cell_key(c, h.leaf))
}

/// Key and value of leaf cell `i`.
pub(crate) fn entry<'a>(
    p: &'a [u8],
    id: PageId,
    h: &Header,
    i: usize,
) -> PResult<(&'a [u8], &'a [u8])> {
    let c = cell(p, id, h, i)?;
    let klen = usize::from(le::u16_at(c, 0));
    Ok((
        &c[LEAF_CELL_HEADER..LEAF_CELL_HEADER + klen],
        &c[LEAF_CELL_HEADER + klen..],
    ))
}

/// Child page of child index `j` of an internal node: 0 is the leftmost
/// child, `j > 0` the child of cell `j - 1`.
pub(crate) fn child(p: &[u8], id: PageId, h: &Header, j: usize) -> PResult<PageId> {
    let c = if j == 0 {
        h.link
    } else {
        cell_child(cell(p, id, h, j - 1)?)
    };
    if c == NONE {
        return Err(PagerError::corrupt(id, "B+tree child pointer is 0"));
    }
    Ok(c)
}

/// Key of a raw cell (validated by [`cell`]).
pub(crate) fn cell_key(c: &[u8], leaf: bool) -> &[u8] {
    let klen = usize::from(le::u16_at(c, 0));
    let fixed = if leaf {
        LEAF_CELL_HEADER
    } else {
        INTERNAL_CELL_HEADER
    };
    &c[fixed..fixed + klen]
}

/// Child of a raw internal cell.
pub(crate) fn cell_child(c: &[u8]) -> PageId {
    le::u32_at(c, 2)
}

/// Bytes of a leaf cell with a `key_len`-byte key and an empty value.
pub(crate) fn leaf_cell_size(key_len: usize) -> usize {
    LEAF_CELL_HEADER + key_len
}

/// Bytes of an internal cell with a `key_len`-byte separator.
pub(crate) fn internal_cell_size(key_len: usize) -> usize {
    INTERNAL_CELL_HEADER + key_len
}

pub(crate) fn leaf_cell(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(LEAF_CELL_HEADER + key.len() + value.len());
    leaf_cell_into(key, value, &mut c);
    c
}

/// [`leaf_cell`], appended to `c`.
pub(crate) fn leaf_cell_into(key: &[u8], value: &[u8], c: &mut Vec<u8>) {
    // Callers bound key + value by max_entry (< 16 KiB), so both fit a u16.
    c.extend_from_slice(&(key.len() as u16).to_le_bytes());
    c.extend_from_slice(&(value.len() as u16).to_le_bytes());
    c.extend_from_slice(key);
    c.extend_from_slice(value);
}

pub(crate) fn internal_cell(key: &[u8], child: PageId) -> Vec<u8> {
    let mut c = Vec::with_capacity(INTERNAL_CELL_HEADER + key.len());
    c.extend_from_slice(&(key.len() as u16).to_le_bytes());
    c.extend_from_slice(&child.to_le_bytes());
    c.extend_from_slice(key);
    c
}

/// Binary search: `Ok(i)` if cell `i` has `key`, else `Err(i)` where `key`
/// would be inserted.
pub(crate) fn search(
    p: &[u8],
    id: PageId,
    h: &Header,
    key: &[u8],
) -> PResult<Result<usize, usize>> {
    search_from(p, id, h, 0, key)
}

/// [`search`] among cells `from..` only (the caller knows `key` is not
/// smaller than cell `from - 1`'s).
pub(crate) fn search_from(
    p: &[u8],
    id: PageId,
    h: &Header,
    from: usize,
    key: &[u8],
) -> PResult<Result<usize, usize>> {
    let (mut lo, mut hi) = (from.min(h.count), h.count);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match self::key(p, id, h, mid)?.cmp(key) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Ok(Ok(mid)),
        }
    }
    Ok(Err(lo))
}

/// Child index to follow for `key` in an internal node: the number of
/// separators `<= key` (separator `i` is the smallest key allowed in child
/// `i + 1`).
pub(crate) fn child_index(p: &[u8], id: PageId, h: &Header, key: &[u8]) -> PResult<usize> {
    Ok(match search(p, id, h, key)? {
        Ok(i) => i + 1,
        Err(i) => i,
    })
}

/// All raw cells, in slot order.
pub(crate) fn cells(p: &[u8], id: PageId, h: &Header) -> PResult<Vec<Vec<u8>>> {
    (0..h.count)
        .map(|i| Ok(cell(p, id, h, i)?.to_vec()))
        .collect()
}

/// Inserts raw cell `c` at slot `i` of the node whose header is `h`,
/// compacting the page first when only fragmented space would hold it.
/// Callers check `h.free() >= c.len() + SLOT` first (and split otherwise);
/// a violation, or a corrupt garbage count, is reported as `Corrupt`.
pub(crate) fn insert_cell(p: &mut [u8], id: PageId, h: &Header, i: usize, c: &[u8]) -> PResult<()> {
    let mut h = *h;
    if h.free() < c.len() + SLOT || i > h.count {
        return Err(PagerError::corrupt(id, "B+tree cell insert does not fit"));
    }
    if h.cell_start - (NODE_HEADER + SLOT * h.count) < c.len() + SLOT {
        compact(p, id, &h)?;
        h = header(p, id)?;
        // Only a corrupt garbage count can make compaction fall short.
        if h.cell_start - (NODE_HEADER + SLOT * h.count) < c.len() + SLOT {
            return Err(PagerError::corrupt(
                id,
                "B+tree free space accounting wrong",
            ));
        }
    }
    let off = h.cell_start - c.len();
    p[off..off + c.len()].copy_from_slice(c);
    set_cell_start(p, off);
    let slot = NODE_HEADER + SLOT * i;
    let end = NODE_HEADER + SLOT * h.count;
    p.copy_within(slot..end, slot + SLOT);
    le::put_u16(p, slot, off as u16);
    le::put_u16(p, OFF_AUX16, (h.count + 1) as u16);
    Ok(())
}

/// Removes cell `i`; its bytes become garbage until the next compaction.
pub(crate) fn remove_cell(p: &mut [u8], id: PageId, h: &Header, i: usize) -> PResult<()> {
    let (_, len) = cell_range(p, id, h, i)?;
    let slot = NODE_HEADER + SLOT * i;
    let end = NODE_HEADER + SLOT * h.count;
    p.copy_within(slot + SLOT..end, slot);
    set_count_after_removal(p, h.count - 1, h.garbage + len);
    Ok(())
}

/// Records a node's cell count after removals and the bytes they left as
/// garbage; an emptied node gets its whole cell area back.
fn set_count_after_removal(p: &mut [u8], count: usize, garbage: usize) {
    le::put_u16(p, OFF_AUX16, count as u16);
    if count == 0 {
        let ps = p.len();
        set_cell_start(p, ps);
        le::put_u16(p, OFF_GARBAGE, 0);
    } else {
        le::put_u16(p, OFF_GARBAGE, garbage as u16);
    }
}

/// Removes the cells at `positions` (ascending) in one pass over the
/// slot array, instead of shifting it once per cell.
pub(crate) fn remove_cells(
    p: &mut [u8],
    id: PageId,
    h: &Header,
    positions: &[usize],
) -> PResult<()> {
    let mut garbage = h.garbage;
    let mut gone = positions.iter().copied().peekable();
    let mut kept = 0;
    for i in 0..h.count {
        if gone.next_if_eq(&i).is_some() {
            garbage += cell_range(p, id, h, i)?.1;
            continue;
        }
        if kept != i {
            let from = NODE_HEADER + SLOT * i;
            p.copy_within(from..from + SLOT, NODE_HEADER + SLOT * kept);
        }
        kept += 1;
    }
    if gone.next().is_some() {
        return Err(PagerError::corrupt(
            id,
            "B+tree cells to remove out of order or range",
        ));
    }
    set_count_after_removal(p, kept, garbage);
    Ok(())
}

/// Rewrites the cell area without garbage.
fn compact(p: &mut [u8], id: PageId, h: &Header) -> PResult<()> {
    let cells = cells(p, id, h)?;
    write_cells(p, id, &cells)
}

/// Replaces the slots and cells of node `id` (whose header is otherwise
/// kept) with `cells`. Fails if they do not fit, which only happens when
/// they came from a corrupt page (overlapping cells).
pub(crate) fn write_cells(p: &mut [u8], id: PageId, cells: &[Vec<u8>]) -> PResult<()> {
    if cells_size(cells) > usable(p.len()) {
        return Err(PagerError::corrupt(id, "B+tree cells do not fit in a page"));
    }
    let mut off = p.len();
    for (i, c) in cells.iter().enumerate() {
        off -= c.len();
        p[off..off + c.len()].copy_from_slice(c);
        le::put_u16(p, NODE_HEADER + SLOT * i, off as u16);
    }
    set_cell_start(p, off);
    le::put_u16(p, OFF_AUX16, cells.len() as u16);
    le::put_u16(p, OFF_GARBAGE, 0);
    Ok(())
}

/// Bytes that `cells` take in a node, slots included.
pub(crate) fn cells_size(cells: &[Vec<u8>]) -> usize {
    cells.iter().map(|c| c.len() + SLOT).sum()
}
