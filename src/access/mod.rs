//! The index access-method seam: how DDL builds an index, DML maintains
//! it, vacuum prunes it, the planner prices it and the executor scans it,
//! without knowing how it is stored. B+tree ([`btree`]) is the first
//! method, HNSW ([`hnsw`], nearest-neighbour scans) the second.
//!
//! Every method keeps one entry per heap tuple *version* (MVCC lives in
//! the heap): callers check visibility on the TIDs an index returns, and
//! vacuum removes an entry before the slot it points at can be reused.
//!
//! Contract of every [`IndexAm`] (key = a row version's key values in index
//! column order; the engine computes them, evaluating key expressions and
//! leaving out rows a partial index's predicate excludes):
//! - `insert(key, tid)` adds the entry for that version; it does not check
//!   uniqueness (the engine does, with `lookup`, because only it knows
//!   which versions are live to whom).
//! - `remove(key, tid)` deletes exactly that version's entry (vacuum).
//! - `lookup(key)` returns the TIDs of every entry whose index columns
//!   equal `key` (values in index column order; no NULLs).
//! - `scan(keys)` returns a cursor over the TIDs the scan keys select, in
//!   the method's order.
//! - `destroy()` frees its storage (the index was dropped and vacuumed).

pub mod btree;
pub mod hnsw;

use crate::catalog::{IndexDef, IndexMethod};
use crate::error::Error;
use crate::heap::Tid;
use crate::pager::{PageId, Pager};
use crate::value::Value;

pub type Result<T> = std::result::Result<T, Error>;

/// What the planner may ask an access method to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// It can enforce UNIQUE (via [`IndexAm::lookup`]).
    pub unique: bool,
    /// It can scan an equality prefix of its columns and a range on the
    /// next one.
    pub range_scan: bool,
    /// Its scans return rows in column order (ORDER BY ... LIMIT).
    pub ordered: bool,
}

/// The selection of an index scan: equality on the first `eq.len()`
/// columns, then optionally a range on the next one (a bound is its value
/// and whether it is inclusive). No value is NULL (the executor answers
/// those scans with no rows itself).
#[derive(Clone, Debug, Default)]
pub struct ScanKeys {
    pub eq: Vec<Value>,
    pub lower: Option<(Value, bool)>,
    pub upper: Option<(Value, bool)>,
    /// Descending column order instead of ascending.
    pub reverse: bool,
    /// A nearest-neighbour scan (ORDER BY distance) and its settings.
    pub nearest: Option<hnsw::NearestKey>,
}

/// How much of an index's columns a predicate pins: what the planner
/// prices an index scan by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanShape {
    /// Leading columns compared with `=`.
    pub eq_columns: usize,
    /// Range bounds (0 to 2) on the column after them.
    pub range_bounds: usize,
}

/// An open index.
/// Encoded index entries laid end to end: a statement's worth in one
/// buffer instead of one allocation each.
#[derive(Default)]
pub struct EntryBatch {
    bytes: Vec<u8>,
    /// Where each entry ends in `bytes`.
    ends: Vec<usize>,
}

impl EntryBatch {
    /// Appends one entry: what `write` appends to the buffer (nothing if
    /// it fails).
    pub fn push_with<E>(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let start = self.bytes.len();
        match write(&mut self.bytes) {
            Ok(()) => {
                self.ends.push(self.bytes.len());
                Ok(())
            }
            Err(e) => {
                self.bytes.truncate(start);
                Err(e)
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The entries, in the order they were appended.
    pub fn entries(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.bytes[start..end])
    }
}

pub trait IndexAm {
    fn insert(&self, pager: &mut Pager, key: &[Value], tid: Tid) -> Result<()>;
    fn remove(&self, pager: &mut Pager, key: &[Value], tid: Tid) -> Result<()>;
    /// Removes many entries at once (VACUUM); missing ones are skipped.
    fn remove_many(&self, pager: &mut Pager, entries: &[(Vec<Value>, Tid)]) -> Result<()> {
        for (key, tid) in entries {
            self.remove(pager, key, *tid)?;
        }
        Ok(())
    }
    /// Removes every entry pointing at one of `dead` by walking the whole
    /// index, without their keys. `false` if the method cannot (VACUUM
    /// then uses [`IndexAm::remove_many`]).
    fn remove_tids(&self, _pager: &mut Pager, _dead: &crate::util::IdSet<Tid>) -> Result<bool> {
        Ok(false)
    }
    /// For many inserts at once (a multi-row INSERT): appends the encoded
    /// entry `key` → `tid` to `batch`, for [`IndexAm::insert_batch`]
    /// later; `false` (nothing appended) when the method inserts one entry
    /// at a time.
    fn batch_entry(&self, _key: &[Value], _tid: Tid, _batch: &mut EntryBatch) -> Result<bool> {
        Ok(false)
    }
    /// Inserts the entries [`IndexAm::batch_entry`] appended, in any order.
    fn insert_batch(&self, _pager: &mut Pager, batch: &EntryBatch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        Err(crate::error::SqlError::new(
            crate::sqlstate::SqlState::INTERNAL_ERROR,
            "this index method takes no batches of entries",
        )
        .into())
    }
    fn lookup(&self, pager: &mut Pager, key: &[Value]) -> Result<Vec<Tid>>;
    fn scan(&self, pager: &mut Pager, keys: &ScanKeys) -> Result<Box<dyn IndexCursor>>;
    fn destroy(&self, pager: &mut Pager) -> Result<()>;
    /// How many pages its storage holds (meta pages included), for the
    /// size functions (`pg_relation_size`).
    fn page_count(&self, pager: &mut Pager) -> Result<u64>;
    /// After VACUUM removed entries: whatever upkeep the structure needs
    /// (HNSW relinks around removed nodes and reuses their space).
    fn cleanup(&self, _pager: &mut Pager) -> Result<()> {
        Ok(())
    }
    /// For SSI: the span of encoded keys a scan with `keys` covers, as
    /// (lower inclusive, upper exclusive or unbounded); `None` when the
    /// method has no key order (a SIREAD lock then covers the index).
    fn predicate_span(&self, _keys: &ScanKeys) -> Result<Option<KeySpan>> {
        Ok(None)
    }
    /// For SSI: the encoded form of an entry's key, comparable with
    /// [`IndexAm::predicate_span`]'s bounds (`None`: no key order).
    fn predicate_key(&self, _key: &[Value]) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
}

/// Encoded keys from a lower bound (inclusive) to an upper one (exclusive;
/// `None`: unbounded).
pub type KeySpan = (Vec<u8>, Option<Vec<u8>>);

/// A running index scan.
pub trait IndexCursor {
    /// Up to `max` more TIDs; an empty batch means the scan is done.
    fn next_batch(&mut self, pager: &mut Pager, max: usize) -> Result<Vec<Tid>>;
}

/// CREATE INDEX's loading of the rows already in the table, into an
/// index created empty. Between two calls the index's pages are
/// consistent, but what the builder holds in memory is only on them after
/// `finish`.
pub trait IndexBuilder {
    /// Adds the entry of one row version (its key values).
    fn add(&mut self, pager: &mut Pager, key: &[Value], tid: Tid) -> Result<()>;
    /// Writes out what is still held in memory; the index is complete.
    fn finish(&mut self, pager: &mut Pager) -> Result<()>;
}

/// Inserts each row as it comes (B+tree: a unique build checks each key
/// against the entries already inserted, so nothing may wait in memory).
struct InsertEach(Box<dyn IndexAm>);

impl IndexBuilder for InsertEach {
    fn add(&mut self, pager: &mut Pager, key: &[Value], tid: Tid) -> Result<()> {
        self.0.insert(pager, key, tid)
    }

    fn finish(&mut self, _pager: &mut Pager) -> Result<()> {
        Ok(())
    }
}

/// The builder of the empty index `def`: it may hold up to `memory` bytes
/// (`maintenance_work_mem`); `expected_rows` is the table's size, for
/// sizing.
pub fn builder(
    pager: &mut Pager,
    def: &IndexDef,
    memory: usize,
    expected_rows: usize,
) -> Result<Box<dyn IndexBuilder>> {
    Ok(match def.method {
        IndexMethod::BTree if def.unique => Box::new(InsertEach(open(def))),
        IndexMethod::BTree => Box::new(btree::SortedBuilder::new(def, memory)),
        IndexMethod::Hnsw => Box::new(hnsw::Builder::new(
            pager,
            hnsw::HnswIndex::open(def),
            memory,
            expected_rows,
        )?),
    })
}

/// What `method` can do.
pub fn capabilities(method: IndexMethod) -> Capabilities {
    match method {
        IndexMethod::BTree => btree::CAPABILITIES,
        IndexMethod::Hnsw => hnsw::CAPABILITIES,
    }
}

/// Creates the storage of a new, empty index for `def` (whose `root` is
/// not yet set); returns its root page ([`IndexDef::root`]).
pub fn create(pager: &mut Pager, def: &IndexDef) -> Result<PageId> {
    match (def.method, def.hnsw) {
        (IndexMethod::BTree, _) => btree::create(pager),
        (IndexMethod::Hnsw, Some(opts)) => hnsw::create(pager, opts),
        (IndexMethod::Hnsw, None) => Err(Error::Sql(crate::error::SqlError::new(
            crate::error::SqlState::INTERNAL_ERROR,
            "hnsw index without options",
        ))),
    }
}

/// The index `def`, ready for the [`IndexAm`] operations.
pub fn open(def: &IndexDef) -> Box<dyn IndexAm> {
    match def.method {
        IndexMethod::BTree => Box::new(btree::BTreeIndex::open(def)),
        IndexMethod::Hnsw => Box::new(hnsw::HnswIndex::open(def)),
    }
}

/// The estimated cost of scanning `def` with `shape`, relative to reading
/// the whole table (1.0); `None` when the index cannot serve it. The
/// planner takes the cheapest index below 1.0.
pub fn scan_cost(def: &IndexDef, shape: ScanShape) -> Option<f64> {
    match def.method {
        IndexMethod::BTree => btree::scan_cost(def, shape),
        // Only ordered nearest-neighbour scans (chosen separately).
        IndexMethod::Hnsw => None,
    }
}

/// The values of `def`'s columns in `row`, in index column order: the key
/// of a plain index ([`IndexDef::is_plain`]; the engine evaluates the
/// others').
pub fn key_values(def: &IndexDef, row: &[Value]) -> Vec<Value> {
    def.columns
        .iter()
        .map(|&i| row.get(i).cloned().unwrap_or(Value::Null))
        .collect()
}
