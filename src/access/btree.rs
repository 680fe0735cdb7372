//! The B+tree access method: entries keyed by the memcomparable encoding
//! of the index columns (descending columns inverted) followed by the
//! TID, over [`crate::btree::Index`].

use std::ops::Bound;

use super::{Capabilities, EntryBatch, IndexAm, IndexCursor, Result, ScanKeys, ScanShape};
use crate::btree::{entry_key, key::prefix_successor, split_entry_key, BTree, Index, RangeCursor};
use crate::catalog::IndexDef;
use crate::heap::Tid;
use crate::pager::{PageId, Pager};
use crate::util::IdSet;
use crate::value::index_key::{encode_index_key, encode_index_key_into};
use crate::value::Value;

pub const CAPABILITIES: Capabilities = Capabilities {
    unique: true,
    range_scan: true,
    ordered: true,
};

pub fn create(pager: &mut Pager) -> Result<PageId> {
    Ok(Index::create(pager)?.tree().meta_page())
}

/// Ordered by how much of the key a scan pins: each equality column counts
/// four range bounds, and equality on every column of a unique index (at
/// most one live row) counts most.
pub fn scan_cost(def: &IndexDef, shape: ScanShape) -> Option<f64> {
    let score = shape.eq_columns * 4
        + shape.range_bounds
        + usize::from(def.unique && shape.eq_columns == def.columns.len()) * 8;
    (score > 0).then(|| 1.0 / (1.0 + score as f64))
}

/// Encoded equality prefix, lower (inclusive) and upper (exclusive) keys.
type KeyRange = (Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>);

pub struct BTreeIndex {
    index: Index,
    desc: Vec<bool>,
}

impl BTreeIndex {
    pub fn open(def: &IndexDef) -> BTreeIndex {
        BTreeIndex {
            index: Index::open(def.root),
            desc: def.desc.clone(),
        }
    }

    /// Encoded equality prefix, and the lower (inclusive) and upper
    /// (exclusive) keys of a range on the next column.
    fn key_range(&self, keys: &ScanKeys) -> Result<KeyRange> {
        let k = keys.eq.len();
        let prefix = encode_index_key(&keys.eq, &self.desc[..k])?;
        let col_key = |v: &Value| -> Result<Vec<u8>> {
            let mut key = prefix.clone();
            key.extend(encode_index_key(
                std::slice::from_ref(v),
                &self.desc[k..k + 1],
            )?);
            Ok(key)
        };
        let lower = match &keys.lower {
            Some((v, inclusive)) => {
                let key = col_key(v)?;
                Some(if *inclusive {
                    key
                } else {
                    prefix_successor(&key).unwrap_or(key)
                })
            }
            None => None,
        };
        let upper = match &keys.upper {
            Some((v, inclusive)) => {
                let key = col_key(v)?;
                // Exclusive end: everything below key (or below its successor).
                Some(if *inclusive {
                    prefix_successor(&key).unwrap_or(key)
                } else {
                    key
                })
            }
            None => None,
        };
        Ok((prefix, lower, upper))
    }
}

/// Builds a non-unique B+tree index from a heap scan: entries are kept in
/// memory (up to the build's memory or [`SortedBuilder::MAX_BATCH`]
/// entries) and sorted; the first batch fills the empty tree bottom up
/// ([`BTree::load_sorted`]), later ones go in with
/// [`BTree::insert_sorted`] (one descent per leaf). A unique build cannot wait: it
/// checks each key against the entries already inserted.
pub struct SortedBuilder {
    index: BTreeIndex,
    /// The batch's entries end to end (one buffer, not one allocation each).
    entries: EntryBatch,
    bytes: usize,
    memory: usize,
}

impl SortedBuilder {
    /// Entries inserted in one go at most: a batch is inserted without
    /// looking at cancel requests, so it stays short.
    const MAX_BATCH: usize = 1 << 16;

    pub fn new(def: &IndexDef, memory: usize) -> SortedBuilder {
        SortedBuilder {
            index: BTreeIndex::open(def),
            entries: EntryBatch::default(),
            bytes: 0,
            memory,
        }
    }

    fn flush(&mut self, pager: &mut Pager) -> Result<()> {
        let mut sorted: Vec<&[u8]> = self.entries.entries().collect();
        sorted.sort_unstable();
        let tree = self.index.index.tree();
        // The first batch of a build fills the empty tree bottom up.
        if !tree.load_sorted(pager, &sorted)? {
            tree.insert_sorted(pager, &sorted)?;
        }
        self.entries = EntryBatch::default();
        self.bytes = 0;
        Ok(())
    }
}

impl super::IndexBuilder for SortedBuilder {
    fn add(&mut self, pager: &mut Pager, key: &[Value], tid: Tid) -> Result<()> {
        let mut len = 0;
        let desc = &self.index.desc;
        self.entries.push_with(|out| {
            let start = out.len();
            encode_index_key_into(out, key, desc)?;
            out.extend_from_slice(&tid.to_bytes());
            len = out.len() - start;
            Ok::<_, crate::error::Error>(())
        })?;
        // The entry, where it ends, and its slice when sorted.
        self.bytes += len + std::mem::size_of::<usize>() + std::mem::size_of::<&[u8]>();
        if self.bytes >= self.memory || self.entries.len() >= Self::MAX_BATCH {
            self.flush(pager)?;
        }
        Ok(())
    }

    fn finish(&mut self, pager: &mut Pager) -> Result<()> {
        self.flush(pager)
    }
}

impl IndexAm for BTreeIndex {
    fn insert(&self, pager: &mut Pager, key: &[Value], tid: Tid) -> Result<()> {
        let mut key = encode_index_key(key, &self.desc)?;
        self.index.insert_entry_in(pager, &mut key, tid)?;
        Ok(())
    }

    fn batch_entry(&self, key: &[Value], tid: Tid, batch: &mut EntryBatch) -> Result<bool> {
        batch.push_with(|out| {
            encode_index_key_into(out, key, &self.desc)?;
            out.extend_from_slice(&tid.to_bytes());
            Ok::<_, crate::error::Error>(())
        })?;
        Ok(true)
    }

    fn insert_batch(&self, pager: &mut Pager, batch: &EntryBatch) -> Result<()> {
        let mut entries: Vec<&[u8]> = batch.entries().collect();
        entries.sort_unstable();
        self.index.tree().insert_sorted(pager, &entries)?;
        Ok(())
    }

    fn remove(&self, pager: &mut Pager, key: &[Value], tid: Tid) -> Result<()> {
        let key = encode_index_key(key, &self.desc)?;
        self.index.delete_entry(pager, &key, tid)?;
        Ok(())
    }

    fn remove_many(&self, pager: &mut Pager, entries: &[(Vec<Value>, Tid)]) -> Result<()> {
        let mut keys = entries
            .iter()
            .map(|(key, tid)| Ok(entry_key(&encode_index_key(key, &self.desc)?, *tid)))
            .collect::<Result<Vec<_>>>()?;
        keys.sort_unstable();
        keys.dedup();
        self.index.tree().delete_sorted(pager, &keys)?;
        Ok(())
    }

    fn remove_tids(&self, pager: &mut Pager, dead: &IdSet<Tid>) -> Result<bool> {
        let tree = self.index.tree();
        // An entry too short for a TID is left for `check` to report.
        tree.remove_where(pager, |k| {
            split_entry_key(k).is_some_and(|(_, tid)| dead.contains(&tid))
        })?;
        Ok(true)
    }

    fn predicate_span(&self, keys: &ScanKeys) -> Result<Option<super::KeySpan>> {
        let (prefix, lower, upper) = self.key_range(keys)?;
        let hi = upper.or_else(|| prefix_successor(&prefix));
        Ok(Some((lower.unwrap_or(prefix), hi)))
    }

    fn predicate_key(&self, key: &[Value]) -> Result<Option<Vec<u8>>> {
        Ok(Some(encode_index_key(key, &self.desc)?))
    }

    fn lookup(&self, pager: &mut Pager, key: &[Value]) -> Result<Vec<Tid>> {
        let key = encode_index_key(key, &self.desc)?;
        Ok(self.index.entries_with_key(pager, &key)?)
    }

    fn scan(&self, _pager: &mut Pager, keys: &ScanKeys) -> Result<Box<dyn IndexCursor>> {
        let (prefix, lower, upper) = self.key_range(keys)?;
        let lo = Bound::Included(lower.unwrap_or_else(|| prefix.clone()));
        let hi = match (upper, prefix_successor(&prefix)) {
            (Some(u), _) => Bound::Excluded(u),
            (None, Some(e)) => Bound::Excluded(e),
            (None, None) => Bound::Unbounded,
        };
        Ok(Box::new(BTreeCursor {
            tree: self.index.tree(),
            cursor: RangeCursor::new(as_ref(&lo), as_ref(&hi), keys.reverse),
            done: false,
        }))
    }

    fn destroy(&self, pager: &mut Pager) -> Result<()> {
        Ok(self.index.destroy(pager)?)
    }

    fn page_count(&self, pager: &mut Pager) -> Result<u64> {
        Ok(self.index.page_count(pager)?)
    }
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

struct BTreeCursor {
    tree: BTree,
    cursor: RangeCursor,
    done: bool,
}

impl IndexCursor for BTreeCursor {
    fn next_batch(&mut self, pager: &mut Pager, max: usize) -> Result<Vec<Tid>> {
        let max = max.max(1);
        while !self.done {
            let batch = self.cursor.next_batch(&self.tree, pager, max)?;
            self.done = batch.len() < max;
            let tids: Vec<Tid> = batch
                .into_iter()
                .filter_map(|(key, _)| split_entry_key(&key).map(|(_, tid)| tid))
                .collect();
            if !tids.is_empty() {
                return Ok(tids);
            }
        }
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access;
    use crate::catalog::IndexMethod;
    use crate::pager::PagerConfig;
    use crate::storage::MemoryStorage;

    fn def(root: PageId, unique: bool, desc: Vec<bool>) -> IndexDef {
        IndexDef {
            oid: 1,
            name: "i".into(),
            namespace: crate::catalog::PUBLIC_NAMESPACE,
            table: 2,
            columns: (0..desc.len()).collect(),
            desc,
            unique,
            primary: false,
            constraint: false,
            method: IndexMethod::BTree,
            root,
            hnsw: None,
            expressions: Vec::new(),
            predicate: None,
            deferrable: false,
            initially_deferred: false,
            heap: 0,
        }
    }

    fn memory_pager() -> Pager {
        Pager::open(
            Box::new(MemoryStorage::new()),
            Box::new(MemoryStorage::new()),
            PagerConfig::default(),
        )
        .expect("pager opens")
    }

    fn tid(slot: u16) -> Tid {
        Tid { page: 7, slot }
    }

    fn scan_all(am: &dyn IndexAm, pager: &mut Pager, keys: &ScanKeys) -> Vec<Tid> {
        let mut cursor = am.scan(pager, keys).expect("scan starts");
        let mut out = Vec::new();
        loop {
            let batch = cursor.next_batch(pager, 2).expect("batch");
            if batch.is_empty() {
                return out;
            }
            out.extend(batch);
        }
    }

    /// A batch of entries inserted at once gives what inserting them one
    /// by one gives.
    #[test]
    fn batched_entries_equal_single_inserts() {
        let mut pager = memory_pager();
        let mut one = def(0, false, vec![false, true]);
        one.root = access::create(&mut pager, &one).expect("created");
        let mut many = def(0, false, vec![false, true]);
        many.root = access::create(&mut pager, &many).expect("created");
        let (one, many) = (access::open(&one), access::open(&many));
        let mut batch = EntryBatch::default();
        for slot in 1..=2000u16 {
            let row = [
                Value::Int4(i32::from(slot % 7)),
                Value::Text(format!("t{}", slot % 13)),
            ];
            one.insert(&mut pager, &row, tid(slot)).expect("inserted");
            assert!(many
                .batch_entry(&row, tid(slot), &mut batch)
                .expect("encoded"));
        }
        assert_eq!(batch.entries().count(), 2000);
        many.insert_batch(&mut pager, &batch)
            .expect("batch inserted");
        let all = ScanKeys::default();
        let expected = scan_all(one.as_ref(), &mut pager, &all);
        assert_eq!(expected.len(), 2000);
        assert_eq!(scan_all(many.as_ref(), &mut pager, &all), expected);
    }

    #[test]
    fn insert_lookup_scan_remove() {
        let mut pager = memory_pager();
        let mut d = def(0, false, vec![false, true]);
        d.root = access::create(&mut pager, &d).expect("created");
        let am = access::open(&d);
        // Rows (a, b): the index is on a ASC, b DESC.
        for (slot, a, b) in [(1, 1, 10), (2, 2, 20), (3, 2, 30), (4, 3, 40), (5, 2, 30)] {
            let row = [Value::Int4(a), Value::Int4(b)];
            am.insert(&mut pager, &row, tid(slot)).expect("inserted");
        }
        let found = am
            .lookup(&mut pager, &[Value::Int4(2), Value::Int4(30)])
            .expect("lookup");
        assert_eq!(found, vec![tid(3), tid(5)]);
        // a = 2: b descending, then by TID.
        let eq2 = ScanKeys {
            eq: vec![Value::Int4(2)],
            ..ScanKeys::default()
        };
        assert_eq!(
            scan_all(am.as_ref(), &mut pager, &eq2),
            vec![tid(3), tid(5), tid(2)]
        );
        // 2 <= a < 3, read backwards.
        let range = ScanKeys {
            lower: Some((Value::Int4(2), true)),
            upper: Some((Value::Int4(3), false)),
            reverse: true,
            ..ScanKeys::default()
        };
        assert_eq!(
            scan_all(am.as_ref(), &mut pager, &range),
            vec![tid(2), tid(5), tid(3)]
        );
        am.remove(&mut pager, &[Value::Int4(2), Value::Int4(30)], tid(3))
            .expect("removed");
        assert_eq!(
            am.lookup(&mut pager, &[Value::Int4(2), Value::Int4(30)])
                .expect("lookup"),
            vec![tid(5)]
        );
        assert_eq!(
            scan_all(am.as_ref(), &mut pager, &ScanKeys::default()).len(),
            4
        );
        am.destroy(&mut pager).expect("destroyed");
    }

    #[test]
    fn cost_prefers_pinned_unique_keys() {
        let unique = def(0, true, vec![false, false]);
        let plain = def(0, false, vec![false, false]);
        let full = ScanShape {
            eq_columns: 2,
            range_bounds: 0,
        };
        let prefix = ScanShape {
            eq_columns: 1,
            range_bounds: 1,
        };
        let cost = |d: &IndexDef, s| scan_cost(d, s).expect("usable");
        assert!(cost(&unique, full) < cost(&plain, full));
        assert!(cost(&plain, full) < cost(&plain, prefix));
        assert!(cost(&plain, prefix) < 1.0);
        assert_eq!(scan_cost(&plain, ScanShape::default()), None);
    }
}
