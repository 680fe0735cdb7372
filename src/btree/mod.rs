//! B+tree access method: unique byte-string keys compared with `memcmp`,
//! small byte-string values, stored in slotted pages through the [`Pager`].
//!
//! SQL indexes build on it with [`key`] (order-preserving encoding of
//! composite keys) and [`Index`] (non-unique indexes: the heap TID is
//! appended to the encoded columns so that every tree key is unique).
//!
//! # Contracts
//! - Every mutating operation ([`BTree::create`], [`BTree::insert`],
//!   [`BTree::upsert`], [`BTree::delete`], [`BTree::destroy`]) calls
//!   [`Pager::safe_point`] first and never in the middle, so a WAL batch
//!   never holds half of a split or merge.
//! - Nothing read from a page is trusted: malformed content yields
//!   [`PagerError::Corrupt`], never a panic.
//! - Key + value longer than [`BTree::max_entry_size`] (about a quarter of
//!   a page) is rejected with [`PagerError::TooLarge`] (SQLSTATE 54000).
//! - Scans are re-seekable ([`RangeCursor`]): a cursor remembers only the
//!   last key it returned and re-descends from the root for every batch, so
//!   it stays correct whatever happened to the tree between batches.
//!
//! # Page layouts
//! All integers little-endian. Page ids are u32; 0 means "none" (page 0 is
//! the database header, never a node).
//!
//! Meta page (kind `Meta`), the tree's fixed identity:
//! ```text
//! 0..16   common header
//! 16..20  magic "BTRE"
//! 20..24  layout version (1)
//! 24..28  root page id
//! ```
//!
//! Leaf (kind `BTreeLeaf`) and internal node (kind `BTreeInternal`):
//! ```text
//! 0..16   common header; 6..8 = number of cells (u16);
//!         12..16 = right sibling (leaves; 0 in internal nodes)
//! 16..20  leaf: left sibling; internal: leftmost child
//! 20..22  cell area start (u16): cells occupy start..page_size
//! 22..24  garbage (u16): bytes of deleted cells inside the cell area
//! 24..26  level (u16): 0 for leaves, parent = child + 1
//! 26..32  reserved, zero
//! 32..    slot array: one u16 cell offset per cell, in key order
//! ...     free space
//! ..end   cells, allocated from the page end downwards
//! ```
//! Leaf cell: key length u16, value length u16, key, value.
//! Internal cell: key length u16, child page id u32, key. An internal node
//! with cells `(k1, c1) .. (kn, cn)` and leftmost child `c0` sends key `x`
//! to `ci` for the largest `i` with `ki <= x` (`c0` if `x < k1`): every key
//! in the subtree of `ci` is `>= ki` and `< k(i+1)`.
//!
//! Levels are at most 40 (any more is reported as corruption), which bounds
//! descents and recursion even over cyclic corrupt pointers.
//!
//! # Maintenance
//! - Insert: a cell goes into its leaf if the page has room, compacting the
//!   page first when the free space is fragmented (deleting a cell only
//!   removes its slot; its bytes count as garbage until compaction).
//! - Split: a full node is split into two halves of about equal *bytes*;
//!   leaves push a separator between the halves up (see below),
//!   internal nodes move their middle cell up. A root split adds a level.
//! - Delete: a node whose slots and cells fill less than a quarter of the
//!   page is merged with a sibling under the same parent when both fit in
//!   one page (internal merges pull the separator down); otherwise the
//!   pair is redistributed to equal bytes and the separator replaced (if
//!   the new separator fits the parent; else the node stays underfull). A
//!   root with a single child is replaced by that child, so deleting every
//!   key shrinks the tree back to one leaf.
//! - Leaf separators are suffix-truncated: the shortest prefix of the right
//!   node's first key that exceeds the left node's last key. Separators may
//!   not be keys of the tree: they only bound their subtrees.

mod index;
pub mod key;
mod node;

pub use index::{entry_key, split_entry_key, Index, Tid, TID_LEN};

use std::collections::HashSet;
use std::ops::Bound;

use crate::pager::{PResult, PageId, PageKind, Pager, PagerError};
use crate::util::le;
use node::{Header, NONE, SLOT};

const META_MAGIC: &[u8; 4] = b"BTRE";
const META_VERSION: u32 = 1;
const OFF_META_MAGIC: usize = 16;
const OFF_META_VERSION: usize = 20;
const OFF_META_ROOT: usize = 24;

/// Handle of one B+tree: just the id of its meta page, which never moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BTree {
    meta: PageId,
}

/// Where a descent goes.
#[derive(Clone, Copy)]
enum Seek<'a> {
    Key(&'a [u8]),
    First,
    Last,
}

/// A descent's leaf, the path to it, and the sought key's position in the
/// leaf when it was searched.
type Descent = (PageId, Vec<Step>, Option<Result<usize, usize>>);

/// One step of a descent: the internal node and the child index taken
/// (0 = leftmost child, `j` = child of cell `j - 1`).
#[derive(Clone, Copy)]
struct Step {
    page: PageId,
    child: usize,
}

/// Two adjacent children of one parent, loaded for a merge or a
/// redistribution.
struct Pair {
    left: PageId,
    right: PageId,
    lh: Header,
    rh: Header,
    /// Cells of both, in key order (for internal nodes with the separator
    /// from the parent in between, pointing at the right leftmost child).
    cells: Vec<Vec<u8>>,
}

/// A key/value pair returned by scans.
pub type Entry = (Vec<u8>, Vec<u8>);

impl BTree {
    /// Creates an empty tree (a meta page and an empty root leaf).
    pub fn create(pager: &mut Pager) -> PResult<BTree> {
        pager.safe_point()?;
        let root = pager.allocate(PageKind::BTreeLeaf)?;
        pager.write(root, |p| node::init(p, root, 0, NONE))?;
        let meta = pager.allocate(PageKind::Meta)?;
        pager.write(meta, |p| {
            p[OFF_META_MAGIC..OFF_META_MAGIC + 4].copy_from_slice(META_MAGIC);
            le::put_u32(p, OFF_META_VERSION, META_VERSION);
            le::put_u32(p, OFF_META_ROOT, root);
        })?;
        Ok(BTree { meta })
    }

    /// The tree whose meta page is `meta` (as returned by
    /// [`BTree::meta_page`]). Nothing is read until the first operation.
    pub fn open(meta: PageId) -> BTree {
        BTree { meta }
    }

    /// The meta page id, to be stored in the catalog.
    pub fn meta_page(&self) -> PageId {
        self.meta
    }

    /// Largest `key.len() + value.len()` accepted with this page size.
    pub fn max_entry_size(pager: &Pager) -> usize {
        node::max_entry(pager.page_size())
    }

    fn root(&self, pager: &mut Pager) -> PResult<PageId> {
        let meta = self.meta;
        pager.read(meta, |p| {
            if crate::pager::page::kind(p) != Some(PageKind::Meta)
                || &p[OFF_META_MAGIC..OFF_META_MAGIC + 4] != META_MAGIC
            {
                return Err(PagerError::corrupt(meta, "not a B+tree meta page"));
            }
            if le::u32_at(p, OFF_META_VERSION) != META_VERSION {
                return Err(PagerError::corrupt(meta, "unknown B+tree layout version"));
            }
            match le::u32_at(p, OFF_META_ROOT) {
                NONE => Err(PagerError::corrupt(meta, "B+tree without root")),
                root => Ok(root),
            }
        })?
    }

    fn set_root(&self, pager: &mut Pager, root: PageId) -> PResult<()> {
        pager.write(self.meta, |p| le::put_u32(p, OFF_META_ROOT, root))
    }

    /// Descends from the root to a leaf; returns it and the path taken.
    fn descend(&self, pager: &mut Pager, seek: Seek) -> PResult<(PageId, Vec<Step>)> {
        let (leaf, path, _) = self.descend_to(pager, seek, false, None)?;
        Ok((leaf, path))
    }

    /// [`BTree::descend`] to `key`'s leaf, with `key`'s position in it
    /// (found, or where it would go) from the same read of the leaf.
    fn descend_key(
        &self,
        pager: &mut Pager,
        key: &[u8],
    ) -> PResult<(PageId, Vec<Step>, Result<usize, usize>)> {
        let (leaf, path, pos) = self.descend_to(pager, Seek::Key(key), true, None)?;
        Ok((
            leaf,
            path,
            pos.expect("a descent to a key searches its leaf"),
        ))
    }

    /// With `upper`, it is set to the leaf's exclusive upper bound: the
    /// separator right of the deepest child taken that has one (`None`:
    /// the leaf is the rightmost).
    fn descend_to(
        &self,
        pager: &mut Pager,
        seek: Seek,
        search_leaf: bool,
        mut upper: Option<&mut Option<Vec<u8>>>,
    ) -> PResult<Descent> {
        let mut id = self.root(pager)?;
        let mut path = Vec::new();
        let mut expect_level = None;
        let mut leaf_pos = None;
        loop {
            let (h, next) =
                pager.read(id, |p| -> PResult<(Header, Option<(usize, PageId)>)> {
                    let h = node::header(p, id)?;
                    if expect_level.is_some_and(|l| l != h.level) {
                        return Err(PagerError::corrupt(id, "B+tree child level mismatch"));
                    }
                    if h.leaf {
                        if let (true, Seek::Key(k)) = (search_leaf, seek) {
                            leaf_pos = Some(node::search(p, id, &h, k)?);
                        }
                        return Ok((h, None));
                    }
                    let j = match seek {
                        Seek::Key(k) => node::child_index(p, id, &h, k)?,
                        Seek::First => 0,
                        Seek::Last => h.count,
                    };
                    if let Some(bound) = upper.as_deref_mut() {
                        if j < h.count {
                            *bound = Some(node::key(p, id, &h, j)?.to_vec());
                        }
                    }
                    Ok((h, Some((j, node::child(p, id, &h, j)?))))
                })??;
            match next {
                None => return Ok((id, path, leaf_pos)),
                Some((j, c)) => {
                    path.push(Step { page: id, child: j });
                    // Levels strictly decrease, so descents terminate even
                    // on corrupt (cyclic) trees.
                    expect_level = Some(h.level - 1);
                    id = c;
                }
            }
        }
    }

    fn check_size(pager: &Pager, key: &[u8], value: &[u8]) -> PResult<()> {
        let max = node::max_entry(pager.page_size());
        let size = key.len() + value.len();
        if size > max {
            return Err(PagerError::TooLarge {
                what: "index key",
                size: size as u64,
                max: max as u64,
            });
        }
        Ok(())
    }

    /// The value stored under `key`.
    pub fn get(&self, pager: &mut Pager, key: &[u8]) -> PResult<Option<Vec<u8>>> {
        let (leaf, _) = self.descend(pager, Seek::Key(key))?;
        pager.read(leaf, |p| {
            let h = node::header(p, leaf)?;
            match node::search(p, leaf, &h, key)? {
                Ok(i) => Ok(Some(node::entry(p, leaf, &h, i)?.1.to_vec())),
                Err(_) => Ok(None),
            }
        })?
    }

    /// Inserts `key` → `value`. Returns false (and changes nothing) if the
    /// key is already present.
    pub fn insert(&self, pager: &mut Pager, key: &[u8], value: &[u8]) -> PResult<bool> {
        pager.safe_point()?;
        Self::check_size(pager, key, value)?;
        let (leaf, path, pos) = self.descend_key(pager, key)?;
        let Err(i) = pos else {
            return Ok(false);
        };
        let cell = node::leaf_cell(key, value);
        if !Self::place_in_leaf(pager, leaf, i, &cell)? {
            self.insert_cell(pager, leaf, i, cell, path)?;
        }
        Ok(true)
    }

    /// Puts `cell` at slot `at` of `leaf` if it fits there, which most
    /// inserts do: one write, no second look. `false`: it needs a split.
    fn place_in_leaf(pager: &mut Pager, leaf: PageId, at: usize, cell: &[u8]) -> PResult<bool> {
        pager.write(leaf, |p| {
            let h = node::header(p, leaf)?;
            if h.free() < cell.len() + SLOT {
                return Ok(false);
            }
            node::insert_cell(p, leaf, &h, at, cell).map(|()| true)
        })?
    }

    /// Inserts `keys` (ascending, each with an empty value) as
    /// [`BTree::insert`] would one by one, a key already present skipped,
    /// but with one descent per leaf rather than per key: the keys after
    /// one in its leaf's range go straight into that leaf while they fit
    /// (a split descends again). Returns how many were inserted.
    pub fn insert_sorted<K: AsRef<[u8]>>(&self, pager: &mut Pager, keys: &[K]) -> PResult<usize> {
        let mut inserted = 0;
        let mut i = 0;
        while let Some(key) = keys.get(i) {
            let key = key.as_ref();
            i += 1;
            pager.safe_point()?;
            Self::check_size(pager, key, &[])?;
            let mut upper = None;
            let (leaf, path, pos) =
                self.descend_to(pager, Seek::Key(key), true, Some(&mut upper))?;
            let Err(at) = pos.expect("a descent to a key searches its leaf") else {
                continue;
            };
            inserted += 1;
            let cell = node::leaf_cell(key, &[]);
            if !Self::place_in_leaf(pager, leaf, at, &cell)? {
                self.insert_cell(pager, leaf, at, cell, path)?;
                continue;
            }
            // The keys after it in this leaf's range go in while they
            // fit, in one page write, each searched for from the slot of
            // the one before (the keys ascend). A key that does not fit
            // (the next descent splits the leaf) or is too large (the
            // next round reports it) ends the run.
            let max = node::max_entry(pager.page_size());
            let (added, taken) = pager.write(leaf, |p| {
                let (mut added, mut taken, mut from) = (0, 0, at);
                let mut cell = Vec::new();
                while let Some(next) = keys.get(i + taken) {
                    let next = next.as_ref();
                    if upper.as_deref().is_some_and(|u| next >= u) || next.len() > max {
                        break;
                    }
                    let h = node::header(p, leaf)?;
                    let j = match node::search_from(p, leaf, &h, from, next)? {
                        Ok(present) => {
                            (taken, from) = (taken + 1, present);
                            continue;
                        }
                        Err(j) => j,
                    };
                    cell.clear();
                    node::leaf_cell_into(next, &[], &mut cell);
                    if h.free() < cell.len() + SLOT {
                        break;
                    }
                    node::insert_cell(p, leaf, &h, j, &cell)?;
                    (added, taken, from) = (added + 1, taken + 1, j);
                }
                Ok::<_, PagerError>((added, taken))
            })??;
            inserted += added;
            i += taken;
        }
        Ok(inserted)
    }

    /// Inserts `key` → `value`, replacing any existing value, which is
    /// returned.
    pub fn upsert(&self, pager: &mut Pager, key: &[u8], value: &[u8]) -> PResult<Option<Vec<u8>>> {
        pager.safe_point()?;
        Self::check_size(pager, key, value)?;
        let (leaf, path) = self.descend(pager, Seek::Key(key))?;
        let pos = pager.read(leaf, |p| {
            let h = node::header(p, leaf)?;
            node::search(p, leaf, &h, key)
        })??;
        let (i, old) = match pos {
            Err(i) => (i, None),
            Ok(i) => {
                // Remove the old cell without rebalancing: the new one goes
                // into the same slot right away.
                let old = pager.write(leaf, |p| {
                    let h = node::header(p, leaf)?;
                    let old = node::entry(p, leaf, &h, i)?.1.to_vec();
                    node::remove_cell(p, leaf, &h, i)?;
                    Ok::<_, PagerError>(old)
                })??;
                (i, Some(old))
            }
        };
        self.insert_cell(pager, leaf, i, node::leaf_cell(key, value), path)?;
        Ok(old)
    }

    /// Inserts raw cell `cell` at slot `idx` of node `id`, splitting it (and
    /// its ancestors on `path`) as needed.
    fn insert_cell(
        &self,
        pager: &mut Pager,
        mut id: PageId,
        mut idx: usize,
        mut cell: Vec<u8>,
        mut path: Vec<Step>,
    ) -> PResult<()> {
        loop {
            let fits = pager.read(id, |p| {
                Ok::<_, PagerError>(node::header(p, id)?.free() >= cell.len() + SLOT)
            })??;
            if fits {
                return pager.write(id, |p| {
                    let h = node::header(p, id)?;
                    node::insert_cell(p, id, &h, idx, &cell)
                })?;
            }
            let append = idx == pager.read(id, |p| node::header(p, id))??.count
                && self.on_right_edge(pager, &path)?;
            let (sep, right, level) = self.split(pager, id, idx, cell, append)?;
            cell = node::internal_cell(&sep, right);
            match path.pop() {
                Some(step) => {
                    // The new right half goes just after `id` in the parent.
                    id = step.page;
                    idx = step.child;
                }
                None => {
                    // Root split: the tree grows by one level.
                    let root = pager.allocate(PageKind::BTreeInternal)?;
                    pager.write(root, |p| {
                        node::init(p, root, level + 1, id);
                        node::write_cells(p, root, &[cell])
                    })??;
                    return self.set_root(pager, root);
                }
            }
        }
    }

    /// Whether the node reached through `path` is the last of its level
    /// (every step took its parent's last child).
    fn on_right_edge(&self, pager: &mut Pager, path: &[Step]) -> PResult<bool> {
        for step in path {
            let count = pager
                .read(step.page, |p| node::header(p, step.page))??
                .count;
            if step.child != count {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Splits node `id` while inserting `cell` at slot `idx`. Returns the
    /// separator for the parent, the new right node and the level of both
    /// halves. The bytes are divided evenly, except when `append` (the
    /// cell goes last in the last node of its level: ascending keys such
    /// as serials, timestamps or an index built in TID order): the left
    /// node then stays 90% full, as PostgreSQL's rightmost split leaves
    /// it, instead of every node of an ascending index ending half empty.
    fn split(
        &self,
        pager: &mut Pager,
        id: PageId,
        idx: usize,
        cell: Vec<u8>,
        append: bool,
    ) -> PResult<(Vec<u8>, PageId, u16)> {
        let cap = node::usable(pager.page_size());
        let (h, mut cells) = pager.read(id, |p| {
            let h = node::header(p, id)?;
            Ok::<_, PagerError>((h, node::cells(p, id, &h)?))
        })??;
        if idx > cells.len() {
            return Err(PagerError::corrupt(
                id,
                "B+tree insert position out of range",
            ));
        }
        cells.insert(idx, cell);
        let sizes: Vec<usize> = cells.iter().map(|c| c.len() + SLOT).collect();
        // Leaves keep every cell; internal nodes move the middle cell up.
        let packed = append.then(|| packed_split_point(&sizes, cap, !h.leaf));
        let m = packed
            .flatten()
            .or_else(|| split_point(&sizes, cap, !h.leaf))
            .ok_or_else(|| PagerError::corrupt(id, "B+tree node cannot be split"))?;
        let mut right_cells = cells.split_off(m);
        let (sep, right_link) = if h.leaf {
            (leaf_separator(&cells, &right_cells), id)
        } else {
            let mid = right_cells.remove(0);
            (node::cell_key(&mid, false).to_vec(), node::cell_child(&mid))
        };
        if h.leaf && h.right != NONE {
            // Validate the neighbour before changing anything.
            let r = h.right;
            let rh = pager.read(r, |p| node::header(p, r))??;
            if !rh.leaf || rh.link != id {
                return Err(PagerError::corrupt(r, "B+tree leaf sibling links disagree"));
            }
        }
        let kind = if h.leaf {
            PageKind::BTreeLeaf
        } else {
            PageKind::BTreeInternal
        };
        let right = pager.allocate(kind)?;
        pager.write(right, |p| {
            node::init(p, right, h.level, right_link);
            if h.leaf {
                node::set_right(p, h.right);
            }
            node::write_cells(p, right, &right_cells)
        })??;
        pager.write(id, |p| {
            if h.leaf {
                node::set_right(p, right);
            }
            node::write_cells(p, id, &cells)
        })??;
        if h.leaf && h.right != NONE {
            pager.write(h.right, |p| node::set_link(p, right))?;
        }
        Ok((sep, right, h.level))
    }

    /// Deletes `key`. Returns whether it was present.
    pub fn delete(&self, pager: &mut Pager, key: &[u8]) -> PResult<bool> {
        pager.safe_point()?;
        let (leaf, path) = self.descend(pager, Seek::Key(key))?;
        let found = pager.read(leaf, |p| {
            let h = node::header(p, leaf)?;
            Ok::<_, PagerError>(node::search(p, leaf, &h, key)?.ok())
        })??;
        let Some(i) = found else {
            return Ok(false);
        };
        pager.write(leaf, |p| {
            let h = node::header(p, leaf)?;
            node::remove_cell(p, leaf, &h, i)
        })??;
        self.rebalance(pager, leaf, path)?;
        Ok(true)
    }

    /// Deletes `keys`, which must be sorted ascending: one descent, one
    /// page write and one rebalance per leaf they fall in, instead of one
    /// per key (VACUUM removes thousands of entries at once). Returns how
    /// many were present.
    pub fn delete_sorted(&self, pager: &mut Pager, keys: &[Vec<u8>]) -> PResult<usize> {
        let mut removed = 0;
        let mut i = 0;
        while i < keys.len() {
            pager.safe_point()?;
            let (leaf, path) = self.descend(pager, Seek::Key(&keys[i]))?;
            // The keys after the one descended for that are not past the
            // leaf's last key belong to this leaf too (the leaf covers
            // everything from that key up to its upper separator).
            let (mut found, next) = pager.read(leaf, |p| {
                let h = node::header(p, leaf)?;
                let last = match h.count {
                    0 => None,
                    n => Some(node::key(p, leaf, &h, n - 1)?),
                };
                let mut found = Vec::new();
                let mut j = i;
                while let Some(k) = keys.get(j) {
                    if j > i && last.is_none_or(|l| k.as_slice() > l) {
                        break;
                    }
                    if let Ok(pos) = node::search(p, leaf, &h, k)? {
                        found.push(pos);
                    }
                    j += 1;
                }
                Ok::<_, PagerError>((found, j))
            })??;
            i = next;
            // A key listed twice is found twice.
            found.dedup();
            if found.is_empty() {
                continue;
            }
            removed += self.remove_from_leaf(pager, leaf, path, &found)?;
        }
        Ok(removed)
    }

    /// Removes cells `positions` (ascending) of `leaf`, reached via `path`,
    /// in one pass, then rebalances it. Returns how many went.
    fn remove_from_leaf(
        &self,
        pager: &mut Pager,
        leaf: PageId,
        path: Vec<Step>,
        positions: &[usize],
    ) -> PResult<usize> {
        pager.write(leaf, |p| {
            let h = node::header(p, leaf)?;
            node::remove_cells(p, leaf, &h, positions)
        })??;
        self.rebalance(pager, leaf, path)?;
        Ok(positions.len())
    }

    /// Restores the fill invariants after node `id` (reached via `path`)
    /// lost a cell: merges underfull nodes into a sibling and collapses a
    /// root with a single child.
    fn rebalance(&self, pager: &mut Pager, mut id: PageId, mut path: Vec<Step>) -> PResult<()> {
        let ps = pager.page_size();
        loop {
            let h = pager.read(id, |p| node::header(p, id))??;
            let Some(step) = path.pop() else {
                if h.leaf || h.count > 0 {
                    return Ok(());
                }
                // A root with one child: that child becomes the root.
                self.set_root(pager, h.link)?;
                pager.free(id)?;
                id = h.link;
                continue;
            };
            if h.used(ps) >= node::usable(ps) / 4 {
                return Ok(());
            }
            let parent = step.page;
            let j = step.child;
            let siblings = pager.read(parent, |p| node::header(p, parent))??.count;
            // Prefer merging the right sibling into this node, else this
            // node into its left sibling.
            let merged = (j < siblings && self.try_merge(pager, parent, j)?)
                || (j > 0 && self.try_merge(pager, parent, j - 1)?);
            if merged {
                // The parent lost a cell and may be underfull now.
                id = parent;
                continue;
            }
            if siblings == 0 {
                // An only child has no sibling; its parent (holding no
                // separator) is underfull too and is fixed one level up.
                id = parent;
                continue;
            }
            // Neither sibling has room for a merge, so the pair holds more
            // than a page: balancing it leaves both well above a quarter.
            let pair = if j < siblings { j } else { j - 1 };
            self.try_redistribute(pager, parent, pair)?;
            return Ok(());
        }
    }

    /// Reads children `j` and `j + 1` of `parent` and the separator between
    /// them, with their cells concatenated in key order.
    fn load_pair(&self, pager: &mut Pager, parent: PageId, j: usize) -> PResult<Pair> {
        let (left, right, sep) = pager.read(parent, |p| {
            let h = node::header(p, parent)?;
            Ok::<_, PagerError>((
                node::child(p, parent, &h, j)?,
                node::child(p, parent, &h, j + 1)?,
                node::key(p, parent, &h, j)?.to_vec(),
            ))
        })??;
        let read_node = |pager: &mut Pager, id: PageId| {
            pager.read(id, |p| {
                let h = node::header(p, id)?;
                Ok::<_, PagerError>((h, node::cells(p, id, &h)?))
            })?
        };
        let (lh, mut cells) = read_node(pager, left)?;
        let (rh, right_cells) = read_node(pager, right)?;
        if lh.level != rh.level {
            return Err(PagerError::corrupt(
                right,
                "B+tree siblings at different levels",
            ));
        }
        if lh.leaf && (lh.right != right || rh.link != left) {
            return Err(PagerError::corrupt(
                left,
                "B+tree leaf sibling links disagree",
            ));
        }
        if !lh.leaf {
            // The separator comes down as the key of the right leftmost child.
            cells.push(node::internal_cell(&sep, rh.link));
        }
        cells.extend(right_cells);
        Ok(Pair {
            left,
            right,
            lh,
            rh,
            cells,
        })
    }

    /// Merges child `j + 1` of `parent` into child `j` if their contents
    /// fit in one page; removes the separator between them from `parent`
    /// and frees the right node. Returns whether it merged.
    fn try_merge(&self, pager: &mut Pager, parent: PageId, j: usize) -> PResult<bool> {
        let cap = node::usable(pager.page_size());
        let Pair {
            left,
            right,
            lh,
            rh,
            cells,
        } = self.load_pair(pager, parent, j)?;
        if node::cells_size(&cells) > cap {
            return Ok(false);
        }
        if lh.leaf && rh.right != NONE {
            // Validate the far neighbour before changing anything.
            let r = rh.right;
            let h = pager.read(r, |p| node::header(p, r))??;
            if !h.leaf || h.link != right {
                return Err(PagerError::corrupt(r, "B+tree leaf sibling links disagree"));
            }
        }
        pager.write(left, |p| {
            if lh.leaf {
                node::set_right(p, rh.right);
            }
            node::write_cells(p, left, &cells)
        })??;
        if lh.leaf && rh.right != NONE {
            pager.write(rh.right, |p| node::set_link(p, left))?;
        }
        pager.write(parent, |p| {
            let h = node::header(p, parent)?;
            node::remove_cell(p, parent, &h, j)
        })??;
        pager.free(right)?;
        Ok(true)
    }

    /// Moves cells between children `j` and `j + 1` of `parent` so that
    /// they hold about the same number of bytes, replacing the separator
    /// in `parent`. Skipped (returns false) when the new separator would
    /// not fit in `parent`: the node then just stays underfull.
    fn try_redistribute(&self, pager: &mut Pager, parent: PageId, j: usize) -> PResult<bool> {
        let cap = node::usable(pager.page_size());
        let Pair {
            left,
            right,
            lh,
            rh: _,
            mut cells,
        } = self.load_pair(pager, parent, j)?;
        let sizes: Vec<usize> = cells.iter().map(|c| c.len() + SLOT).collect();
        let Some(m) = split_point(&sizes, cap, !lh.leaf) else {
            return Ok(false);
        };
        let mut right_cells = cells.split_off(m);
        let (sep, right_link) = if lh.leaf {
            (leaf_separator(&cells, &right_cells), None)
        } else {
            let mid = right_cells.remove(0);
            (
                node::cell_key(&mid, false).to_vec(),
                Some(node::cell_child(&mid)),
            )
        };
        let sep_cell = node::internal_cell(&sep, right);
        let fits = pager.read(parent, |p| {
            let h = node::header(p, parent)?;
            let old = node::cell(p, parent, &h, j)?.len();
            Ok::<_, PagerError>(h.free() + old >= sep_cell.len() + SLOT)
        })??;
        if !fits {
            return Ok(false);
        }
        pager.write(left, |p| node::write_cells(p, left, &cells))??;
        pager.write(right, |p| {
            if let Some(link) = right_link {
                node::set_link(p, link);
            }
            node::write_cells(p, right, &right_cells)
        })??;
        pager.write(parent, |p| {
            let h = node::header(p, parent)?;
            node::remove_cell(p, parent, &h, j)?;
            let h = node::header(p, parent)?;
            node::insert_cell(p, parent, &h, j, &sep_cell)
        })??;
        Ok(true)
    }

    /// Up to `limit` entries with keys between `lo` and `hi`, in ascending
    /// key order, or descending if `reverse`.
    pub fn range(
        &self,
        pager: &mut Pager,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> PResult<Vec<Entry>> {
        let mut out: Vec<Entry> = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let start = if reverse { hi } else { lo };
        let seek = match start {
            Bound::Unbounded => {
                if reverse {
                    Seek::Last
                } else {
                    Seek::First
                }
            }
            Bound::Included(k) | Bound::Excluded(k) => Seek::Key(k),
        };
        let (mut leaf, _) = self.descend(pager, seek)?;
        let mut first = true;
        let mut hops: u64 = 0;
        let max_hops = u64::from(pager.page_count());
        loop {
            let next = pager.read(leaf, |p| -> PResult<PageId> {
                let h = node::header(p, leaf)?;
                if !h.leaf {
                    return Err(PagerError::corrupt(leaf, "B+tree sibling is not a leaf"));
                }
                // Position just past the last cell to return (reverse) or
                // at the first one (forward), in this leaf.
                let pos = match (first, start) {
                    (false, _) | (true, Bound::Unbounded) => {
                        if reverse {
                            h.count
                        } else {
                            0
                        }
                    }
                    (true, Bound::Included(k)) => match node::search(p, leaf, &h, k)? {
                        Ok(i) => i + usize::from(reverse),
                        Err(i) => i,
                    },
                    (true, Bound::Excluded(k)) => match node::search(p, leaf, &h, k)? {
                        Ok(i) => i + usize::from(!reverse),
                        Err(i) => i,
                    },
                };
                let mut take = |i: usize| -> PResult<bool> {
                    let (k, v) = node::entry(p, leaf, &h, i)?;
                    let (inside, ordered) = if reverse {
                        (
                            after_lo(k, lo),
                            out.last().is_none_or(|(l, _)| k < l.as_slice()),
                        )
                    } else {
                        (
                            before_hi(k, hi),
                            out.last().is_none_or(|(l, _)| k > l.as_slice()),
                        )
                    };
                    if !inside {
                        return Ok(false);
                    }
                    if !ordered {
                        return Err(PagerError::corrupt(leaf, "B+tree keys out of order"));
                    }
                    out.push((k.to_vec(), v.to_vec()));
                    Ok(out.len() < limit)
                };
                if reverse {
                    for i in (0..pos).rev() {
                        if !take(i)? {
                            return Ok(NONE);
                        }
                    }
                    Ok(h.link)
                } else {
                    for i in pos..h.count {
                        if !take(i)? {
                            return Ok(NONE);
                        }
                    }
                    Ok(h.right)
                }
            })??;
            if next == NONE {
                return Ok(out);
            }
            first = false;
            hops += 1;
            if hops > max_hops {
                return Err(PagerError::corrupt(next, "B+tree sibling chain loops"));
            }
            leaf = next;
        }
    }

    /// Fills an empty tree with `keys` (strictly ascending, empty values)
    /// bottom up: leaves packed to 90% as append splits leave them, then
    /// each internal level over the one below, instead of one descent and
    /// insert per key (CREATE INDEX). The pages are one change, so a load
    /// must fit a quarter of the buffer pool. Returns false, changing
    /// nothing, when the tree is not empty, the keys are not ascending or
    /// the load is too big: the caller inserts them one by one.
    pub fn load_sorted<K: AsRef<[u8]>>(&self, pager: &mut Pager, keys: &[K]) -> PResult<bool> {
        let root = self.root(pager)?;
        let empty = pager.read(root, |p| {
            node::header(p, root).map(|h| h.leaf && h.count == 0)
        })??;
        if !empty || keys.is_empty() || keys.windows(2).any(|w| w[0].as_ref() >= w[1].as_ref()) {
            return Ok(false);
        }
        for k in keys {
            Self::check_size(pager, k.as_ref(), &[])?;
        }
        let ps = pager.page_size();
        let budget = node::usable(ps) * 9 / 10;
        let leaf_bytes: usize = keys
            .iter()
            .map(|k| node::leaf_cell_size(k.as_ref().len()) + SLOT)
            .sum();
        if leaf_bytes / budget + 2 > pager.pool_pages() / 4 {
            return Ok(false);
        }
        pager.safe_point()?;
        // Each node of the level being built: the separator before it (empty
        // for the first) and its page.
        let mut nodes: Vec<(Vec<u8>, PageId)> = Vec::new();
        let mut i = 0;
        while i < keys.len() {
            let start = i;
            let mut size = 0;
            while let Some(k) = keys.get(i) {
                let c = node::leaf_cell_size(k.as_ref().len()) + SLOT;
                if size + c > budget && i > start {
                    break;
                }
                size += c;
                i += 1;
            }
            let cells: Vec<Vec<u8>> = keys[start..i]
                .iter()
                .map(|k| node::leaf_cell(k.as_ref(), &[]))
                .collect();
            // The empty root leaf becomes the first leaf.
            let left = nodes.last().map(|n| n.1);
            let id = match left {
                None => root,
                Some(_) => pager.allocate(PageKind::BTreeLeaf)?,
            };
            pager.write(id, |p| {
                node::init(p, id, 0, left.unwrap_or(NONE));
                node::set_right(p, NONE);
                node::write_cells(p, id, &cells)
            })??;
            let sep = match left {
                None => Vec::new(),
                Some(left) => {
                    pager.write(left, |p| node::set_right(p, id))?;
                    separator(keys[start - 1].as_ref(), keys[start].as_ref())
                }
            };
            nodes.push((sep, id));
        }
        let mut level = 0;
        while nodes.len() > 1 {
            level += 1;
            let mut parents = Vec::new();
            let mut i = 0;
            while i < nodes.len() {
                // Child `start` is the node's link; the others come with
                // their separators as cells.
                let start = i;
                i += 1;
                let mut size = 0;
                while let Some((sep, _)) = nodes.get(i) {
                    let c = node::internal_cell_size(sep.len()) + SLOT;
                    // At least one separator, so each level shrinks.
                    if size + c > budget && i > start + 1 {
                        break;
                    }
                    size += c;
                    i += 1;
                }
                // A lone last child would make a node without separators.
                if nodes.len() - i == 1 && i - start >= 2 {
                    i -= 1;
                }
                let cells: Vec<Vec<u8>> = nodes[start + 1..i]
                    .iter()
                    .map(|(sep, child)| node::internal_cell(sep, *child))
                    .collect();
                let id = pager.allocate(PageKind::BTreeInternal)?;
                let link = nodes[start].1;
                pager.write(id, |p| {
                    node::init(p, id, level, link);
                    node::write_cells(p, id, &cells)
                })??;
                parents.push((std::mem::take(&mut nodes[start].0), id));
            }
            nodes = parents;
        }
        if nodes[0].1 != root {
            self.set_root(pager, nodes[0].1)?;
        }
        Ok(true)
    }

    /// Removes every entry whose key satisfies `pred`, one leaf at a time:
    /// the leaf's matching cells go in one pass, then the leaf is
    /// rebalanced, as in [`BTree::delete_sorted`] (each leaf is a change
    /// of its own, so any size fits the pool). Keys are never copied out
    /// or searched one by one. Returns how many went.
    ///
    /// The walk keeps a bound: every key below it has been examined. Each
    /// step descends to the bound (rebalancing may have moved the keys
    /// after it into another leaf), so the path for the rebalance is
    /// always at hand.
    pub fn remove_where(
        &self,
        pager: &mut Pager,
        mut pred: impl FnMut(&[u8]) -> bool,
    ) -> PResult<usize> {
        let mut removed = 0;
        // Keys after this one (and it too, when inclusive) are still to
        // be examined; `None` before the first leaf.
        let mut bound: Option<(Vec<u8>, bool)> = None;
        let mut steps = 0u64;
        loop {
            steps += 1;
            if steps > 2 * u64::from(pager.page_count()) + 2 {
                return Err(PagerError::corrupt(self.meta, "B+tree leaf walk loops"));
            }
            pager.safe_point()?;
            let (leaf, path) = match &bound {
                None => self.descend(pager, Seek::First)?,
                Some((k, _)) => self.descend(pager, Seek::Key(k))?,
            };
            let (found, last, right) = pager.read(leaf, |p| {
                let h = node::header(p, leaf)?;
                if !h.leaf {
                    return Err(PagerError::corrupt(
                        leaf,
                        "B+tree descent ends above a leaf",
                    ));
                }
                let start = match &bound {
                    None => 0,
                    Some((k, inclusive)) => match node::search(p, leaf, &h, k)? {
                        Ok(i) if !inclusive => i + 1,
                        Ok(i) | Err(i) => i,
                    },
                };
                let mut found = Vec::new();
                for i in start..h.count {
                    if pred(node::key(p, leaf, &h, i)?) {
                        found.push(i);
                    }
                }
                let last = match h.count {
                    n if n > start => Some(node::key(p, leaf, &h, n - 1)?.to_vec()),
                    _ => None,
                };
                Ok((found, last, h.right))
            })??;
            let Some(last) = last else {
                // Nothing here after the bound: on to the first key of the
                // next leaf that has one.
                let mut next = right;
                let first = loop {
                    if next == NONE {
                        return Ok(removed);
                    }
                    let (first, right) = pager.read(next, |p| {
                        let h = node::header(p, next)?;
                        let first = match h.count {
                            0 => None,
                            _ => Some(node::key(p, next, &h, 0)?.to_vec()),
                        };
                        Ok::<_, PagerError>((first, h.right))
                    })??;
                    match first {
                        Some(k) => break k,
                        None => next = right,
                    }
                    steps += 1;
                    if steps > 2 * u64::from(pager.page_count()) + 2 {
                        return Err(PagerError::corrupt(next, "B+tree sibling chain loops"));
                    }
                };
                bound = Some((first, true));
                continue;
            };
            if !found.is_empty() {
                removed += self.remove_from_leaf(pager, leaf, path, &found)?;
            }
            if right == NONE {
                return Ok(removed);
            }
            bound = Some((last, false));
        }
    }

    /// Number of entries (walks every leaf; for tests and statistics).
    pub fn len(&self, pager: &mut Pager) -> PResult<u64> {
        let (mut leaf, _) = self.descend(pager, Seek::First)?;
        let mut n = 0u64;
        let mut hops = 0u64;
        loop {
            let h = pager.read(leaf, |p| node::header(p, leaf))??;
            if !h.leaf {
                return Err(PagerError::corrupt(leaf, "B+tree sibling is not a leaf"));
            }
            n += h.count as u64;
            if h.right == NONE {
                return Ok(n);
            }
            hops += 1;
            if hops > u64::from(pager.page_count()) {
                return Err(PagerError::corrupt(leaf, "B+tree sibling chain loops"));
            }
            leaf = h.right;
        }
    }

    /// Whether the tree has no entries.
    pub fn is_empty(&self, pager: &mut Pager) -> PResult<bool> {
        Ok(self
            .range(pager, Bound::Unbounded, Bound::Unbounded, false, 1)?
            .is_empty())
    }

    /// How many pages the tree holds, meta page included.
    pub fn page_count(&self, pager: &mut Pager) -> PResult<u64> {
        Ok(self.pages(pager)?.len() as u64)
    }

    /// Every page of the tree, meta page last, found by a walk from the
    /// root that refuses to visit a page twice.
    fn pages(&self, pager: &mut Pager) -> PResult<Vec<PageId>> {
        let root = self.root(pager)?;
        let mut seen = HashSet::from([root]);
        let mut order = vec![root];
        let mut i = 0;
        while let Some(&id) = order.get(i) {
            i += 1;
            let children = pager.read(id, |p| {
                let h = node::header(p, id)?;
                if h.leaf {
                    return Ok(Vec::new());
                }
                (0..=h.count)
                    .map(|j| node::child(p, id, &h, j))
                    .collect::<PResult<Vec<_>>>()
            })??;
            for c in children {
                if !seen.insert(c) {
                    return Err(PagerError::corrupt(c, "B+tree page reachable twice"));
                }
                order.push(c);
            }
        }
        order.push(self.meta);
        Ok(order)
    }

    /// Frees every page of the tree, meta page included. The handle must
    /// not be used afterwards.
    pub fn destroy(self, pager: &mut Pager) -> PResult<()> {
        pager.safe_point()?;
        // Collect first: a corrupt tree is reported before anything is freed.
        for id in self.pages(pager)? {
            pager.free(id)?;
        }
        Ok(())
    }

    /// Verifies the structure (for tests and `amcheck`-style tools): keys
    /// strictly ascending within and across nodes, separators bounding
    /// their subtrees, child levels one below their parent (so all leaves
    /// are at the same depth), sibling links forming one chain through all
    /// leaves in key order, byte accounting of every page consistent, and
    /// no page reachable twice. Violations are reported as `Corrupt`.
    pub fn check(&self, pager: &mut Pager) -> PResult<()> {
        let root = self.root(pager)?;
        let mut leaves = Vec::new();
        let mut seen = HashSet::new();
        self.check_node(pager, root, None, None, None, &mut leaves, &mut seen)?;
        for (i, &(id, left, right)) in leaves.iter().enumerate() {
            let want_left = if i == 0 { NONE } else { leaves[i - 1].0 };
            let want_right = leaves.get(i + 1).map_or(NONE, |l| l.0);
            if left != want_left || right != want_right {
                return Err(PagerError::corrupt(id, "B+tree leaf sibling links wrong"));
            }
        }
        Ok(())
    }

    /// Checks the subtree at `id`, whose keys must lie in `lo..hi`.
    #[allow(clippy::too_many_arguments)]
    fn check_node(
        &self,
        pager: &mut Pager,
        id: PageId,
        level: Option<u16>,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
        leaves: &mut Vec<(PageId, PageId, PageId)>,
        seen: &mut HashSet<PageId>,
    ) -> PResult<()> {
        if !seen.insert(id) {
            return Err(PagerError::corrupt(id, "B+tree page reachable twice"));
        }
        let ps = pager.page_size();
        let (h, cells) = pager.read(id, |p| {
            let h = node::header(p, id)?;
            Ok::<_, PagerError>((h, node::cells(p, id, &h)?))
        })??;
        if level.is_some_and(|l| l != h.level) {
            return Err(PagerError::corrupt(id, "B+tree child level mismatch"));
        }
        let cell_bytes: usize = cells.iter().map(Vec::len).sum();
        if cell_bytes + h.garbage != ps - h.cell_start {
            return Err(PagerError::corrupt(id, "B+tree cell byte accounting wrong"));
        }
        let keys: Vec<&[u8]> = cells.iter().map(|c| node::cell_key(c, h.leaf)).collect();
        for w in keys.windows(2) {
            if w[0] >= w[1] {
                return Err(PagerError::corrupt(id, "B+tree keys not ascending"));
            }
        }
        if let (Some(lo), Some(&k)) = (lo, keys.first()) {
            if k < lo {
                return Err(PagerError::corrupt(id, "B+tree key below its separator"));
            }
        }
        if let (Some(hi), Some(&k)) = (hi, keys.last()) {
            if k >= hi {
                return Err(PagerError::corrupt(
                    id,
                    "B+tree key not below next separator",
                ));
            }
        }
        if h.leaf {
            leaves.push((id, h.link, h.right));
            return Ok(());
        }
        if h.right != NONE {
            return Err(PagerError::corrupt(id, "B+tree internal node with sibling"));
        }
        for j in 0..=h.count {
            let child = if j == 0 {
                h.link
            } else {
                node::cell_child(&cells[j - 1])
            };
            let clo = if j == 0 { lo } else { Some(keys[j - 1]) };
            let chi = keys.get(j).copied().or(hi);
            self.check_node(pager, child, Some(h.level - 1), clo, chi, leaves, seen)?;
        }
        Ok(())
    }
}

/// A resumable range scan. It remembers the last key it returned and
/// re-descends from the root for every batch, resuming strictly after that
/// key (strictly before it in reverse), so it stays correct across any
/// inserts, deletes, splits and merges made between batches: it returns
/// exactly the entries in range that are present when each batch is read.
#[derive(Clone, Debug)]
pub struct RangeCursor {
    lo: Bound<Vec<u8>>,
    hi: Bound<Vec<u8>>,
    reverse: bool,
    last: Option<Vec<u8>>,
    done: bool,
}

impl RangeCursor {
    /// A cursor over keys between `lo` and `hi`, ascending or `reverse`.
    pub fn new(lo: Bound<&[u8]>, hi: Bound<&[u8]>, reverse: bool) -> RangeCursor {
        RangeCursor {
            lo: lo.map(<[u8]>::to_vec),
            hi: hi.map(<[u8]>::to_vec),
            reverse,
            last: None,
            done: false,
        }
    }

    /// A cursor over the keys that start with `prefix`.
    pub fn prefix(prefix: &[u8], reverse: bool) -> RangeCursor {
        let hi = key::prefix_successor(prefix);
        let hi = hi.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        RangeCursor::new(Bound::Included(prefix), hi, reverse)
    }

    /// The next up to `limit` entries. Fewer than `limit` (possibly none)
    /// means the scan is finished; later calls return nothing.
    pub fn next_batch(
        &mut self,
        tree: &BTree,
        pager: &mut Pager,
        limit: usize,
    ) -> PResult<Vec<Entry>> {
        if self.done || limit == 0 {
            return Ok(Vec::new());
        }
        let resume = self.last.as_deref().map(Bound::Excluded);
        let (lo, hi) = match (resume, self.reverse) {
            (Some(r), false) => (r, as_slice(&self.hi)),
            (Some(r), true) => (as_slice(&self.lo), r),
            (None, _) => (as_slice(&self.lo), as_slice(&self.hi)),
        };
        let batch = tree.range(pager, lo, hi, self.reverse, limit)?;
        if batch.len() < limit {
            self.done = true;
        }
        if let Some((k, _)) = batch.last() {
            self.last = Some(k.clone());
        }
        Ok(batch)
    }

    /// The last key returned, if any.
    pub fn last_key(&self) -> Option<&[u8]> {
        self.last.as_deref()
    }

    /// Whether the scan has returned everything.
    pub fn is_done(&self) -> bool {
        self.done
    }
}

fn as_slice(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    b.as_ref().map(Vec::as_slice)
}

fn after_lo(k: &[u8], lo: Bound<&[u8]>) -> bool {
    match lo {
        Bound::Unbounded => true,
        Bound::Included(b) => k >= b,
        Bound::Excluded(b) => k > b,
    }
}

fn before_hi(k: &[u8], hi: Bound<&[u8]>) -> bool {
    match hi {
        Bound::Unbounded => true,
        Bound::Included(b) => k <= b,
        Bound::Excluded(b) => k < b,
    }
}

/// The separator between two non-empty adjacent leaves: the shortest
/// prefix of the right leaf's first key that is still greater than the left
/// leaf's last key (suffix truncation: shorter separators, wider fanout).
fn leaf_separator(left: &[Vec<u8>], right: &[Vec<u8>]) -> Vec<u8> {
    let first = right.first().map_or(&[][..], |c| node::cell_key(c, true));
    let last = left.last().map_or(&[][..], |c| node::cell_key(c, true));
    separator(last, first)
}

/// The shortest prefix of `first` that sorts after `last` (`last < first`).
fn separator(last: &[u8], first: &[u8]) -> Vec<u8> {
    let common = first.iter().zip(last).take_while(|(a, b)| a == b).count();
    // last < first, so first is longer than the common prefix and the next
    // byte of first exceeds that of last (or last ends there).
    first[..(common + 1).min(first.len())].to_vec()
}

/// The split point of an append split: the most cells on the left within
/// 90% of `cap`, at least one cell staying on the right (besides the one
/// an internal split moves up).
fn packed_split_point(sizes: &[usize], cap: usize, move_up: bool) -> Option<usize> {
    let budget = cap * 9 / 10;
    let total: usize = sizes.iter().sum();
    let last = sizes.len().checked_sub(if move_up { 2 } else { 1 })?;
    let mut left = 0;
    let mut best = None;
    for m in 1..=last {
        left += sizes[m - 1];
        if left > budget {
            break;
        }
        let right = total - left - if move_up { sizes[m] } else { 0 };
        if right <= cap {
            best = Some(m);
        }
    }
    best
}

/// Where to split cells of byte sizes `sizes` into two nodes of capacity
/// `cap`: returns `m` such that `sizes[..m]` goes left and the rest right,
/// except that with `move_up` cell `m` goes to the parent instead. Both
/// sides fit, the left is non-empty, the right is non-empty for leaves, and
/// the byte sizes are as balanced as possible. `None` if impossible.
fn split_point(sizes: &[usize], cap: usize, move_up: bool) -> Option<usize> {
    let total: usize = sizes.iter().sum();
    let mut left = 0;
    let mut best: Option<(usize, usize)> = None;
    for m in 1..sizes.len() {
        left += sizes[m - 1];
        let right = total - left - if move_up { sizes[m] } else { 0 };
        if left > cap || right > cap {
            continue;
        }
        let diff = left.abs_diff(right);
        if best.is_none_or(|(_, d)| diff < d) {
            best = Some((m, diff));
        }
    }
    best.map(|(m, _)| m)
}

#[cfg(test)]
mod tests;
