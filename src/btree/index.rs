//! SQL indexes on top of the B+tree: one tree entry per heap tuple version,
//! keyed by the encoded columns (see [`super::key`]) followed by the
//! tuple's [`Tid`], with an empty value.
//!
//! Appending the TID makes every tree key unique even when many rows share
//! column values (non-unique indexes, and unique indexes, which under MVCC
//! also hold dead versions of the same key). Since column encodings are
//! self-delimiting, the entries for one column value, or for one prefix of
//! the columns, are exactly the tree keys starting with its encoding.

use std::ops::Bound;

use super::{key, BTree};
use crate::pager::{PResult, PageId, Pager, PagerError};

pub use crate::heap::Tid;

/// Encoded size of a [`Tid`] at the end of an index key.
pub const TID_LEN: usize = Tid::SIZE;

/// Splits an index tree key into the encoded columns and the TID.
pub fn split_entry_key(k: &[u8]) -> Option<(&[u8], Tid)> {
    let cols = k.len().checked_sub(TID_LEN)?;
    Some((&k[..cols], Tid::from_bytes(&k[cols..])?))
}

/// The tree key of the index entry for `cols_key` (from
/// `value::index_key::encode_index_key`) pointing at `tid`.
pub fn entry_key(cols_key: &[u8], tid: Tid) -> Vec<u8> {
    let mut k = Vec::with_capacity(cols_key.len() + TID_LEN);
    k.extend_from_slice(cols_key);
    k.extend_from_slice(&tid.to_bytes());
    k
}

/// A SQL index (unique or not) stored in one [`BTree`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Index {
    tree: BTree,
}

impl Index {
    /// Creates an empty index.
    pub fn create(pager: &mut Pager) -> PResult<Index> {
        Ok(Index {
            tree: BTree::create(pager)?,
        })
    }

    /// The index whose tree has meta page `meta`.
    pub fn open(meta: PageId) -> Index {
        Index {
            tree: BTree::open(meta),
        }
    }

    /// The underlying tree (for cursors over [`entry_key`]s).
    pub fn tree(&self) -> BTree {
        self.tree
    }

    /// Largest encoded column key accepted.
    pub fn max_key_size(pager: &Pager) -> usize {
        BTree::max_entry_size(pager) - TID_LEN
    }

    /// Adds the entry `cols_key` → `tid`. Returns false if that exact entry
    /// exists. Does not check uniqueness: see [`Index::entries_with_key`].
    /// A key longer than [`Index::max_key_size`] is `TooLarge`.
    pub fn insert_entry(&self, pager: &mut Pager, cols_key: &[u8], tid: Tid) -> PResult<bool> {
        self.insert_entry_in(pager, &mut cols_key.to_vec(), tid)
    }

    /// [`Index::insert_entry`] with the encoded columns in a buffer the
    /// TID is appended to (and taken off again): no copy of the key.
    pub fn insert_entry_in(
        &self,
        pager: &mut Pager,
        cols_key: &mut Vec<u8>,
        tid: Tid,
    ) -> PResult<bool> {
        let len = cols_key.len();
        cols_key.extend_from_slice(&tid.to_bytes());
        let inserted = self.tree.insert(pager, cols_key, &[]);
        cols_key.truncate(len);
        inserted
    }

    /// Removes the entry `cols_key` → `tid`. Returns whether it existed.
    pub fn delete_entry(&self, pager: &mut Pager, cols_key: &[u8], tid: Tid) -> PResult<bool> {
        self.tree.delete(pager, &entry_key(cols_key, tid))
    }

    /// Up to `limit` entries whose encoded columns start with `cols_prefix`,
    /// as (encoded columns, TID), in key order (or reversed).
    pub fn scan_prefix(
        &self,
        pager: &mut Pager,
        cols_prefix: &[u8],
        reverse: bool,
        limit: usize,
    ) -> PResult<Vec<(Vec<u8>, Tid)>> {
        let hi = key::prefix_successor(cols_prefix);
        let hi = hi.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        let entries = self
            .tree
            .range(pager, Bound::Included(cols_prefix), hi, reverse, limit)?;
        entries
            .into_iter()
            .map(|(k, _)| {
                let (cols, tid) = split_entry_key(&k).ok_or_else(|| {
                    PagerError::corrupt(self.tree.meta_page(), "index entry shorter than a TID")
                })?;
                Ok((cols.to_vec(), tid))
            })
            .collect()
    }

    /// TIDs of every entry whose columns equal `cols_key` (a full key).
    /// A unique index checks these before inserting: each visible or
    /// in-progress tuple among them is a conflict. As in PostgreSQL, keys
    /// with a NULL column never conflict; the caller skips the check for
    /// them.
    pub fn entries_with_key(&self, pager: &mut Pager, cols_key: &[u8]) -> PResult<Vec<Tid>> {
        let entries = self.scan_prefix(pager, cols_key, false, usize::MAX)?;
        // Self-delimiting encodings: a full key prefix of an entry's columns
        // is the whole of them, unless the caller passed a partial key.
        Ok(entries
            .into_iter()
            .filter(|(cols, _)| cols.as_slice() == cols_key)
            .map(|(_, tid)| tid)
            .collect())
    }

    /// How many pages the index holds, meta page included. An empty tree
    /// counts its meta page only: PostgreSQL's btree has no root page
    /// before its first entry, and sizes are compared with its.
    pub fn page_count(&self, pager: &mut Pager) -> PResult<u64> {
        if self.tree.is_empty(pager)? {
            return Ok(1);
        }
        self.tree.page_count(pager)
    }

    /// Frees every page of the index.
    pub fn destroy(self, pager: &mut Pager) -> PResult<()> {
        self.tree.destroy(pager)
    }
}
