//! The HNSW access method (pgvector's `hnsw`): a navigable small-world
//! graph of vectors, in our pages, WAL-logged like every other page.
//!
//! Like every index here it holds one node per heap tuple *version*; the
//! executor checks visibility on the TIDs it returns, so rolled-back,
//! deleted or not-yet-visible rows are never returned even though their
//! nodes are in the graph. VACUUM first marks the nodes of removed tuples
//! deleted (`remove`: never returned again, though still routed through),
//! then repairs the graph (`cleanup`): every live node that linked to a
//! deleted one is relinked to the best of its remaining neighbours and
//! the deleted node's neighbours, the entry point moves off a deleted
//! node, and the deleted records go on a free list that inserts reuse.
//! So recall does not decay as rows churn, and the index does not grow
//! under a steady update workload.
//!
//! # Layout
//! Meta page (`PageKind::HnswMeta`), little-endian, after the 16-byte
//! common header:
//! ```text
//! 16 magic "HNSW"      20 metric u8  21 m u8  22 ef_construction u16
//! 24 dims u32          28 entry page u32  32 entry slot u16  34 entry level u8
//! 35 has_entry u8      36 last node page u32  40 nodes u64  48 deleted u64
//! 56 first node page u32  60 free page u32  64 free slot u16
//! 66 element format u8 (0 f32, 1 f16, 2 bit)
//! ```
//! (free page 0: the free list is empty).
//! Node pages (`PageKind::HnswNodes`) chain through the header's `next`
//! (newest first is not required; `first` → … → last). After the header:
//! `16 count u16, 18 records_start u16`, then `count` slots of
//! `(offset u16, len u16)`; records grow down from the page end. A node
//! record:
//! ```text
//! 0 flags u8 (1 = deleted, 2 = free)  1 level u8  2 heap page u32  6 heap slot u16
//! 8 vector: dims elements in the element format (f32 and f16
//!   little-endian, bits packed most significant first)
//! then for each level 0..=level: count u16, cap(level) × (page u32, slot u16)
//! ```
//! with cap(0) = 2m and cap(l > 0) = m. A node is addressed by its page
//! and slot, packed into a `u64` in memory. A free record (flags 3) has
//! empty neighbour lists and holds the next free record's page and slot
//! where the heap TID was; a new node reuses it if its record fits in the
//! slot's length.
//!
//! Every value read from a page is bounds-checked; bad bytes are
//! `PagerError::Corrupt` (XX001), never a panic.

mod build;

pub use build::Builder;

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::rc::Rc;

use super::{Capabilities, IndexAm, IndexCursor, Result, ScanKeys};
use crate::catalog::{HnswOptions, IndexDef};
use crate::error::{Error, SqlError, SqlState};
use crate::heap::Tid;
use crate::pager::{page::PAGE_HEADER_SIZE, PResult, PageId, PageKind, Pager, PagerError};
use crate::util::{le, IdMap, IdSet};
use crate::value::vector::{ElementFormat, Metric};
use crate::value::Value;

/// pgvector's defaults for `WITH (m, ef_construction)`.
pub const DEFAULT_M: u8 = 16;
pub const DEFAULT_EF_CONSTRUCTION: u16 = 64;

pub const CAPABILITIES: Capabilities = Capabilities {
    unique: false,
    range_scan: false,
    ordered: false,
};

const MAGIC: u32 = u32::from_le_bytes(*b"HNSW");
const OFF_MAGIC: usize = 16;
const OFF_METRIC: usize = 20;
const OFF_M: usize = 21;
const OFF_EF_CONSTRUCTION: usize = 22;
const OFF_DIMS: usize = 24;
const OFF_ENTRY_PAGE: usize = 28;
const OFF_ENTRY_SLOT: usize = 32;
const OFF_ENTRY_LEVEL: usize = 34;
const OFF_HAS_ENTRY: usize = 35;
const OFF_LAST_PAGE: usize = 36;
const OFF_NODES: usize = 40;
const OFF_DELETED: usize = 48;
const OFF_FIRST_PAGE: usize = 56;
const OFF_FREE_PAGE: usize = 60;
const OFF_FREE_SLOT: usize = 64;
const OFF_FORMAT: usize = 66;

const OFF_COUNT: usize = PAGE_HEADER_SIZE;
const OFF_RECORDS_START: usize = PAGE_HEADER_SIZE + 2;
const SLOTS: usize = PAGE_HEADER_SIZE + 4;
const REF_SIZE: usize = 6;
const NODE_HEADER: usize = 8;
const FLAG_DELETED: u8 = 1;
const FLAG_FREE: u8 = 2;
/// Levels are capped so a node record always fits in a page.
const MAX_LEVEL: usize = 16;

/// `hnsw.iterative_scan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IterativeScan {
    #[default]
    Off,
    StrictOrder,
    RelaxedOrder,
}

impl IterativeScan {
    pub fn parse(text: &str) -> Option<IterativeScan> {
        Some(match text {
            "off" => IterativeScan::Off,
            "strict_order" => IterativeScan::StrictOrder,
            "relaxed_order" => IterativeScan::RelaxedOrder,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            IterativeScan::Off => "off",
            IterativeScan::StrictOrder => "strict_order",
            IterativeScan::RelaxedOrder => "relaxed_order",
        }
    }
}

/// The session settings an HNSW scan runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanSettings {
    /// `hnsw.ef_search`: the candidate list of one search round.
    pub ef_search: usize,
    pub iterative: IterativeScan,
    /// `hnsw.max_scan_tuples`: where an iterative scan gives up.
    pub max_scan_tuples: usize,
}

impl Default for ScanSettings {
    fn default() -> Self {
        ScanSettings {
            ef_search: 40,
            iterative: IterativeScan::Off,
            max_scan_tuples: 20_000,
        }
    }
}

/// The nearest-neighbour part of a scan: the query and the settings.
#[derive(Clone, Debug)]
pub struct NearestKey {
    pub query: Vec<f32>,
    pub settings: ScanSettings,
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::Sql(SqlError::new(SqlState::INVALID_PARAMETER_VALUE, msg))
}

/// The largest level a node of `dims` dimensions may have in a page of
/// `page_size` bytes, or `None` when not even a level-0 node fits.
fn max_level_for(vbytes: usize, m: usize, page_size: usize) -> Option<usize> {
    let room = page_size - SLOTS - 4;
    let mut size = NODE_HEADER + vbytes + 2 + 2 * m * REF_SIZE;
    if size > room {
        return None;
    }
    let mut level = 0;
    while level < MAX_LEVEL && size + 2 + m * REF_SIZE <= room {
        size += 2 + m * REF_SIZE;
        level += 1;
    }
    Some(level)
}

/// The most dimensions an index of `format` may have with `m` in pages
/// of `page_size`.
pub fn max_dims(format: ElementFormat, m: usize, page_size: usize) -> usize {
    let room = page_size - SLOTS - 4 - NODE_HEADER - 2 - 2 * m * REF_SIZE;
    match format {
        ElementFormat::F32 => room / 4,
        ElementFormat::F16 => room / 2,
        ElementFormat::Bit => room * 8,
    }
}

/// Creates an empty index with `opts`; returns its meta page.
pub fn create(pager: &mut Pager, opts: HnswOptions) -> Result<PageId> {
    if opts.dims == 0 {
        return Err(invalid("column does not have dimensions"));
    }
    let vbytes = opts.format.stored_len(opts.dims as usize);
    if max_level_for(vbytes, opts.m as usize, pager.page_size()).is_none() {
        return Err(Error::Sql(SqlError::new(
            SqlState::PROGRAM_LIMIT_EXCEEDED,
            format!(
                "column cannot have more than {} dimensions for hnsw index",
                max_dims(opts.format, opts.m as usize, pager.page_size())
            ),
        )));
    }
    pager.safe_point()?;
    let meta = pager.allocate(PageKind::HnswMeta)?;
    pager.write(meta, |p| {
        le::put_u32(p, OFF_MAGIC, MAGIC);
        p[OFF_METRIC] = metric_code(opts.metric);
        p[OFF_M] = opts.m;
        le::put_u16(p, OFF_EF_CONSTRUCTION, opts.ef_construction);
        le::put_u32(p, OFF_DIMS, opts.dims);
        p[OFF_FORMAT] = format_code(opts.format);
    })?;
    Ok(meta)
}

fn metric_code(m: Metric) -> u8 {
    match m {
        Metric::L2 => 0,
        Metric::InnerProduct => 1,
        Metric::Cosine => 2,
        Metric::L1 => 3,
        Metric::Hamming => 4,
        Metric::Jaccard => 5,
    }
}

fn format_code(f: ElementFormat) -> u8 {
    match f {
        ElementFormat::F32 => 0,
        ElementFormat::F16 => 1,
        ElementFormat::Bit => 2,
    }
}

fn metric_from(code: u8) -> Option<Metric> {
    Some(match code {
        0 => Metric::L2,
        1 => Metric::InnerProduct,
        2 => Metric::Cosine,
        3 => Metric::L1,
        4 => Metric::Hamming,
        5 => Metric::Jaccard,
        _ => return None,
    })
}

/// The f32 elements a search works on for an indexed value: a vector's
/// or halfvec's elements, a bit string's bits as 0.0/1.0; `None` for NULL
/// and other types.
pub fn search_vector(v: &Value) -> Option<Vec<f32>> {
    match v {
        Value::Vector(x) | Value::HalfVec(x) => Some(x.clone()),
        Value::Bit(b) => Some(ElementFormat::Bit.decode(&b.bytes, b.len as usize)),
        _ => None,
    }
}

/// A node's address: page and slot.
type NodeRef = u64;

fn node_ref(page: PageId, slot: u16) -> NodeRef {
    (u64::from(page) << 16) | u64::from(slot)
}

fn ref_page(n: NodeRef) -> PageId {
    (n >> 16) as PageId
}

fn ref_slot(n: NodeRef) -> u16 {
    (n & 0xFFFF) as u16
}

/// A set of node addresses: open addressing with linear probing over a
/// power-of-two table, 0 meaning empty (no node lives on page 0, the
/// database header). Searches insert into it for every node they reach,
/// and a general-purpose hash set was a tenth of a query's time in wasm.
#[derive(Clone)]
pub(crate) struct NodeSet {
    table: Vec<NodeRef>,
    len: usize,
}

impl Default for NodeSet {
    fn default() -> Self {
        NodeSet {
            table: vec![0; 1024],
            len: 0,
        }
    }
}

impl NodeSet {
    fn slot(&self, n: NodeRef) -> usize {
        // Fibonacci hashing: the top bits of the product.
        let bits = self.table.len().trailing_zeros();
        (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    /// Adds `n`; false if it was there already.
    fn insert(&mut self, n: NodeRef) -> bool {
        debug_assert_ne!(n, 0, "page 0 holds no node");
        if 2 * (self.len + 1) > self.table.len() {
            self.grow();
        }
        let mask = self.table.len() - 1;
        let mut i = self.slot(n);
        loop {
            match self.table[i] {
                0 => {
                    self.table[i] = n;
                    self.len += 1;
                    return true;
                }
                x if x == n => return false,
                _ => i = (i + 1) & mask,
            }
        }
    }

    fn contains(&self, n: NodeRef) -> bool {
        let mask = self.table.len() - 1;
        let mut i = self.slot(n);
        loop {
            match self.table[i] {
                0 => return false,
                x if x == n => return true,
                _ => i = (i + 1) & mask,
            }
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn grow(&mut self) {
        let size = self.table.len() * 2;
        let old = std::mem::replace(&mut self.table, vec![0; size]);
        self.len = 0;
        for n in old.into_iter().filter(|&n| n != 0) {
            self.insert(n);
        }
    }
}

/// The meta page's contents.
#[derive(Clone, Copy, Debug)]
struct Meta {
    metric: Metric,
    m: usize,
    ef_construction: usize,
    dims: usize,
    format: ElementFormat,
    /// Bytes of a stored vector.
    vbytes: usize,
    entry: Option<(NodeRef, usize)>,
    last_page: PageId,
    first_page: PageId,
    /// The head of the free list.
    free: Option<NodeRef>,
}

/// f32 with a total order (distances are never NaN here: zero vectors get
/// `f32::MAX` under cosine).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Dist(f32);

impl Eq for Dist {}

impl PartialOrd for Dist {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dist {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

type Scored = (Dist, NodeRef);

pub struct HnswIndex {
    meta_page: PageId,
}

impl HnswIndex {
    pub fn open(def: &IndexDef) -> HnswIndex {
        HnswIndex {
            meta_page: def.root,
        }
    }

    fn meta(&self, pager: &mut Pager) -> PResult<Meta> {
        let id = self.meta_page;
        pager.read(id, |p| {
            if le::u32_at(p, OFF_MAGIC) != MAGIC {
                return Err(PagerError::corrupt(id, "not an hnsw meta page"));
            }
            let metric = metric_from(p[OFF_METRIC])
                .ok_or_else(|| PagerError::corrupt(id, "unknown hnsw metric"))?;
            let m = usize::from(p[OFF_M]);
            let dims = le::u32_at(p, OFF_DIMS) as usize;
            let format = match p[OFF_FORMAT] {
                0 => ElementFormat::F32,
                1 => ElementFormat::F16,
                2 => ElementFormat::Bit,
                _ => return Err(PagerError::corrupt(id, "unknown hnsw element format")),
            };
            let vbytes = format.stored_len(dims);
            if m < 2 || dims == 0 || vbytes > p.len() {
                return Err(PagerError::corrupt(id, "bad hnsw parameters"));
            }
            let entry = (p[OFF_HAS_ENTRY] == 1).then(|| {
                (
                    node_ref(le::u32_at(p, OFF_ENTRY_PAGE), le::u16_at(p, OFF_ENTRY_SLOT)),
                    usize::from(p[OFF_ENTRY_LEVEL]),
                )
            });
            Ok(Meta {
                metric,
                m,
                ef_construction: usize::from(le::u16_at(p, OFF_EF_CONSTRUCTION)).max(1),
                dims,
                format,
                vbytes,
                entry,
                last_page: le::u32_at(p, OFF_LAST_PAGE),
                first_page: le::u32_at(p, OFF_FIRST_PAGE),
                free: match le::u32_at(p, OFF_FREE_PAGE) {
                    0 => None,
                    page => Some(node_ref(page, le::u16_at(p, OFF_FREE_SLOT))),
                },
            })
        })?
    }

    /// The search elements of an entry's key (one vector, halfvec or bit
    /// value); `None` for NULL.
    fn vector_of(key: &[Value], meta: &Meta) -> Result<Option<Vec<f32>>> {
        let Some(v) = key.first().and_then(search_vector) else {
            // NULLs are not indexed (pgvector does the same).
            return Ok(None);
        };
        if v.len() != meta.dims {
            return Err(Error::Sql(SqlError::new(
                SqlState::DATA_EXCEPTION,
                format!("expected {} dimensions, not {}", meta.dims, v.len()),
            )));
        }
        Ok(Some(v))
    }
}

fn cap(level: usize, m: usize) -> usize {
    if level == 0 {
        2 * m
    } else {
        m
    }
}

fn record_len(vbytes: usize, level: usize, m: usize) -> usize {
    NODE_HEADER + vbytes + (0..=level).map(|l| 2 + cap(l, m) * REF_SIZE).sum::<usize>()
}

/// The bytes of record `slot` in a node page, checked.
fn record(p: &[u8], page: PageId, slot: u16) -> PResult<&[u8]> {
    let (off, len) = record_span(p, page, slot)?;
    Ok(&p[off..off + len])
}

fn record_span(p: &[u8], page: PageId, slot: u16) -> PResult<(usize, usize)> {
    let count = le::u16_at(p, OFF_COUNT);
    if slot >= count || SLOTS + usize::from(count) * 4 > p.len() {
        return Err(PagerError::corrupt(page, "hnsw slot out of range"));
    }
    let at = SLOTS + usize::from(slot) * 4;
    let off = usize::from(le::u16_at(p, at));
    let len = usize::from(le::u16_at(p, at + 2));
    if off < SLOTS || off + len > p.len() || len < NODE_HEADER {
        return Err(PagerError::corrupt(page, "hnsw record out of bounds"));
    }
    Ok((off, len))
}

/// Offset within a record of level `l`'s neighbour list.
fn level_offset(vbytes: usize, m: usize, l: usize) -> usize {
    NODE_HEADER + vbytes + (0..l).map(|k| 2 + cap(k, m) * REF_SIZE).sum::<usize>()
}

/// What a search needs of one node, read in one page access.
struct NodeView {
    deleted: bool,
    free: bool,
    level: usize,
    tid: Tid,
}

fn node_view(rec: &[u8], page: PageId, meta: &Meta) -> PResult<NodeView> {
    let level = usize::from(rec[1]);
    if level > MAX_LEVEL || rec.len() < record_len(meta.vbytes, level, meta.m) {
        return Err(PagerError::corrupt(page, "hnsw node too short"));
    }
    Ok(NodeView {
        deleted: rec[0] & FLAG_DELETED != 0,
        free: rec[0] & FLAG_FREE != 0,
        level,
        tid: Tid {
            page: le::u32_at(rec, 2),
            slot: le::u16_at(rec, 6),
        },
    })
}

fn neighbours_in(rec: &[u8], page: PageId, meta: &Meta, l: usize) -> PResult<Vec<NodeRef>> {
    let off = level_offset(meta.vbytes, meta.m, l);
    let n = usize::from(le::u16_at(rec, off));
    if n > cap(l, meta.m) {
        return Err(PagerError::corrupt(page, "hnsw neighbour count too large"));
    }
    Ok((0..n)
        .map(|i| {
            let at = off + 2 + i * REF_SIZE;
            node_ref(le::u32_at(rec, at), le::u16_at(rec, at + 4))
        })
        .collect())
}

/// The graph operations over one index, for the duration of one call.
struct Graph<'p> {
    pager: &'p mut Pager,
    meta: Meta,
    /// Vectors decoded during this call (an insert's pruning reads the
    /// same neighbourhood many times); bounded by [`VECTOR_CACHE`].
    vectors: IdMap<NodeRef, Rc<[f32]>>,
}

const VECTOR_CACHE: usize = 4096;

impl<'p> Graph<'p> {
    fn new(pager: &'p mut Pager, meta: Meta) -> Graph<'p> {
        Graph {
            pager,
            meta,
            vectors: IdMap::default(),
        }
    }

    /// Node `n`'s flags, level and heap TID.
    fn view(&mut self, n: NodeRef) -> PResult<NodeView> {
        let meta = self.meta;
        let (page, slot) = (ref_page(n), ref_slot(n));
        self.pager
            .read(page, |p| node_view(record(p, page, slot)?, page, &meta))?
    }

    /// Distance from `q` to node `n`: the hot path of every search, so it
    /// reads only the record's vector (bounds-checked).
    fn distance(&mut self, q: &[f32], n: NodeRef) -> PResult<f32> {
        let meta = self.meta;
        let (page, slot) = (ref_page(n), ref_slot(n));
        self.pager.read(page, |p| {
            let (off, len) = record_span(p, page, slot)?;
            if len < NODE_HEADER + meta.vbytes {
                return Err(PagerError::corrupt(page, "hnsw node too short"));
            }
            let at = off + NODE_HEADER;
            Ok(meta
                .metric
                .distance_to_stored(meta.format, q, &p[at..at + meta.vbytes]))
        })?
    }

    fn neighbours(&mut self, n: NodeRef, l: usize) -> PResult<Vec<NodeRef>> {
        let mut out = Vec::new();
        self.neighbours_into(n, l, &mut out)?;
        Ok(out)
    }

    /// Node `n`'s neighbours at level `l` (none above its level), into
    /// `out` (cleared first).
    fn neighbours_into(&mut self, n: NodeRef, l: usize, out: &mut Vec<NodeRef>) -> PResult<()> {
        let meta = self.meta;
        let (page, slot) = (ref_page(n), ref_slot(n));
        out.clear();
        self.pager.read(page, |p| {
            let rec = record(p, page, slot)?;
            let view = node_view(rec, page, &meta)?;
            if l > view.level {
                return Ok(());
            }
            let off = level_offset(meta.vbytes, meta.m, l);
            let count = usize::from(le::u16_at(rec, off));
            if count > cap(l, meta.m) {
                return Err(PagerError::corrupt(page, "hnsw neighbour count too large"));
            }
            out.extend((0..count).map(|i| {
                let at = off + 2 + i * REF_SIZE;
                node_ref(le::u32_at(rec, at), le::u16_at(rec, at + 4))
            }));
            Ok(())
        })?
    }

    fn vector(&mut self, n: NodeRef) -> PResult<Rc<[f32]>> {
        if let Some(v) = self.vectors.get(&n) {
            return Ok(v.clone());
        }
        let meta = self.meta;
        let (page, slot) = (ref_page(n), ref_slot(n));
        let v: Rc<[f32]> = self
            .pager
            .read(page, |p| -> PResult<Vec<f32>> {
                let rec = record(p, page, slot)?;
                node_view(rec, page, &meta)?;
                Ok(meta
                    .format
                    .decode(&rec[NODE_HEADER..NODE_HEADER + meta.vbytes], meta.dims))
            })??
            .into();
        if self.vectors.len() >= VECTOR_CACHE {
            self.vectors.clear();
        }
        self.vectors.insert(n, v.clone());
        Ok(v)
    }

    fn set_neighbours(&mut self, n: NodeRef, l: usize, list: &[NodeRef]) -> PResult<()> {
        let meta = self.meta;
        let (page, slot) = (ref_page(n), ref_slot(n));
        self.pager.write(page, |p| {
            let (off, len) = record_span(p, page, slot)?;
            let rec = &mut p[off..off + len];
            let level = usize::from(rec[1]);
            if l > level || list.len() > cap(l, meta.m) {
                return Err(PagerError::corrupt(page, "hnsw neighbour list too long"));
            }
            let at = level_offset(meta.vbytes, meta.m, l);
            if at + 2 + cap(l, meta.m) * REF_SIZE > rec.len() {
                return Err(PagerError::corrupt(page, "hnsw node too short"));
            }
            le::put_u16(rec, at, list.len() as u16);
            for (i, &r) in list.iter().enumerate() {
                let o = at + 2 + i * REF_SIZE;
                le::put_u32(rec, o, ref_page(r));
                le::put_u16(rec, o + 4, ref_slot(r));
            }
            Ok(())
        })?
    }

    /// Greedy best-first search of one layer (the HNSW paper's
    /// SEARCH-LAYER): the `ef` nearest nodes found from `entry`, nearest
    /// first. With a `frontier` (iterative scans), every visited node that
    /// is not in the result, and every result node whose neighbours were
    /// not expanded, is left there for the next round to resume from.
    fn search_layer(
        &mut self,
        q: &[f32],
        entry: &[Scored],
        ef: usize,
        level: usize,
        visited: &mut NodeSet,
        mut frontier: Option<&mut Frontier>,
    ) -> PResult<Vec<Scored>> {
        let mut candidates: BinaryHeap<Reverse<Scored>> = BinaryHeap::with_capacity(4 * ef);
        let mut found: BinaryHeap<Scored> = BinaryHeap::with_capacity(ef + 1);
        let mut links = Vec::with_capacity(2 * self.meta.m);
        for &e in entry {
            visited.insert(e.1);
            candidates.push(Reverse(e));
            found.push(e);
            if found.len() > ef {
                let out = found.pop().expect("over ef, so non-empty");
                if let Some(f) = frontier.as_deref_mut() {
                    f.discarded.push(out);
                }
            }
        }
        while let Some(Reverse(c)) = candidates.pop() {
            let worst = found.peek().map_or(f32::MAX, |w| w.0 .0);
            if c.0 .0 > worst && found.len() >= ef {
                if let Some(f) = frontier.as_deref_mut() {
                    f.discarded.push(c);
                }
                break;
            }
            if let Some(f) = frontier.as_deref_mut() {
                f.expanded.insert(c.1);
            }
            self.neighbours_into(c.1, level, &mut links)?;
            links.retain(|&n| visited.insert(n));
            for &n in &links {
                let d = self.distance(q, n)?;
                let worst = found.peek().map_or(f32::MAX, |w| w.0 .0);
                if found.len() < ef || d < worst {
                    candidates.push(Reverse((Dist(d), n)));
                    found.push((Dist(d), n));
                    if found.len() > ef {
                        let out = found.pop().expect("over ef, so non-empty");
                        if let Some(f) = frontier.as_deref_mut() {
                            f.discarded.push(out);
                        }
                    }
                } else if let Some(f) = frontier.as_deref_mut() {
                    f.discarded.push((Dist(d), n));
                }
            }
        }
        if let Some(f) = frontier {
            // Not expanded yet, though some are in the result.
            f.discarded
                .extend(candidates.into_iter().map(|Reverse(c)| c));
        }
        Ok(found.into_sorted_vec())
    }

    /// Every node not in `visited`, scored against `q`, now marked visited.
    fn unreached(&mut self, q: &[f32], visited: &mut NodeSet) -> PResult<Vec<Scored>> {
        let meta = self.meta;
        let mut out = Vec::new();
        let mut page = meta.first_page;
        let mut seen = 0u64;
        while page != 0 {
            let next = self.pager.read(page, |p| -> PResult<PageId> {
                let count = le::u16_at(p, OFF_COUNT);
                for s in 0..count {
                    let n = node_ref(page, s);
                    if visited.contains(n) {
                        continue;
                    }
                    let rec = record(p, page, s)?;
                    node_view(rec, page, &meta)?;
                    let d = meta.metric.distance_to_stored(
                        meta.format,
                        q,
                        &rec[NODE_HEADER..NODE_HEADER + meta.vbytes],
                    );
                    out.push((Dist(d), n));
                }
                Ok(crate::pager::page::next(p))
            })??;
            page = next;
            seen += 1;
            if seen > u64::from(self.pager.page_count()) {
                return Err(PagerError::corrupt(page, "hnsw page chain loops"));
            }
        }
        for c in &out {
            visited.insert(c.1);
        }
        Ok(out)
    }

    /// The entry point's descent to `level` (ef = 1 on the layers above).
    fn descend(&mut self, q: &[f32], to_level: usize) -> PResult<Option<Vec<Scored>>> {
        let Some((entry, top)) = self.meta.entry else {
            return Ok(None);
        };
        let mut ep = vec![(Dist(self.distance(q, entry)?), entry)];
        let mut l = top;
        while l > to_level {
            let mut visited = NodeSet::default();
            ep = self.search_layer(q, &ep, 1, l, &mut visited, None)?;
            l -= 1;
        }
        Ok(Some(ep))
    }

    /// pgvector's (and the paper's) neighbour selection heuristic: keep a
    /// candidate only if it is closer to the base than to every neighbour
    /// kept so far, which keeps links pointing in diverse directions.
    fn select(&mut self, candidates: &[Scored], m: usize) -> PResult<Vec<Scored>> {
        let mut kept: Vec<(Scored, Rc<[f32]>)> = Vec::with_capacity(m);
        let mut pruned = Vec::new();
        for &c in candidates {
            if kept.len() >= m {
                break;
            }
            let v = self.vector(c.1)?;
            let diverse = kept
                .iter()
                .all(|(_, kv)| self.meta.metric.distance(&v, kv) > c.0 .0);
            if diverse {
                kept.push((c, v));
            } else {
                pruned.push(c);
            }
        }
        let mut out: Vec<Scored> = kept.into_iter().map(|(c, _)| c).collect();
        // Fill up with the nearest pruned ones (keepPrunedConnections).
        for c in pruned {
            if out.len() >= m {
                break;
            }
            out.push(c);
        }
        Ok(out)
    }

    /// Stores a new node record, in the free list's head if it fits there
    /// (`true`: a reused slot), else appended.
    fn place(&mut self, index_meta: PageId, rec: &[u8]) -> PResult<(NodeRef, bool)> {
        if let Some(head) = self.meta.free {
            let (page, slot) = (ref_page(head), ref_slot(head));
            let next = self.pager.write(page, |p| -> PResult<Option<NodeRef>> {
                let (off, len) = record_span(p, page, slot)?;
                let old = &mut p[off..off + len];
                if old[0] & FLAG_FREE == 0 {
                    return Err(PagerError::corrupt(
                        page,
                        "hnsw free list names a live node",
                    ));
                }
                if len < rec.len() {
                    return Ok(None);
                }
                let next = match le::u32_at(old, 2) {
                    0 => None,
                    np => Some(node_ref(np, le::u16_at(old, 6))),
                };
                old[..rec.len()].copy_from_slice(rec);
                old[rec.len()..].fill(0);
                Ok(Some(next.unwrap_or(0)))
            })??;
            if let Some(next) = next {
                self.vectors.remove(&head);
                set_free_head(self.pager, index_meta, (next != 0).then_some(next))?;
                self.meta.free = (next != 0).then_some(next);
                return Ok((head, true));
            }
        }
        Ok((self.append(index_meta, rec)?, false))
    }

    /// Replaces the links of live node `n` at level `l` that point to
    /// `dead` nodes: the candidates are its live neighbours and the live
    /// nodes up to two deleted hops away (where the removed nodes led),
    /// pruned with the insert heuristic. With too few of those (a region
    /// that lost most of its nodes) a search from the entry point adds
    /// more.
    fn relink(
        &mut self,
        n: NodeRef,
        l: usize,
        list: &[NodeRef],
        dead: &IdSet<NodeRef>,
    ) -> PResult<()> {
        let mut cands: IdSet<NodeRef> = IdSet::default();
        let mut hops: Vec<NodeRef> = Vec::new();
        for &x in list {
            if dead.contains(&x) {
                hops.push(x);
            } else {
                cands.insert(x);
            }
        }
        let mut crossed: IdSet<NodeRef> = hops.iter().copied().collect();
        for _ in 0..2 {
            let mut further = Vec::new();
            for d in hops {
                for y in self.neighbours(d, l)? {
                    if dead.contains(&y) {
                        if crossed.insert(y) {
                            further.push(y);
                        }
                    } else if y != n {
                        cands.insert(y);
                    }
                }
            }
            hops = further;
        }
        let base = self.vector(n)?;
        let want = cap(l, self.meta.m);
        if cands.len() < want / 2 {
            if let Some(ep) = self.descend(&base, l)? {
                let mut visited = NodeSet::default();
                let found = self.search_layer(
                    &base,
                    &ep,
                    self.meta.ef_construction,
                    l,
                    &mut visited,
                    None,
                )?;
                cands.extend(
                    found
                        .into_iter()
                        .map(|c| c.1)
                        .filter(|x| *x != n && !dead.contains(x)),
                );
            }
        }
        let mut scored = Vec::with_capacity(cands.len());
        for c in cands {
            scored.push((Dist(self.distance(&base, c)?), c));
        }
        scored.sort_unstable();
        let kept = self.select(&scored, want)?;
        let list: Vec<NodeRef> = kept.iter().map(|k| k.1).collect();
        self.set_neighbours(n, l, &list)
    }

    /// Appends a node record; returns its address.
    fn append(&mut self, index_meta: PageId, rec: &[u8]) -> PResult<NodeRef> {
        let last = self.meta.last_page;
        if last != 0 {
            let slot = self.pager.write(last, |p| try_place(p, rec))?;
            if let Some(slot) = slot {
                return Ok(node_ref(last, slot));
            }
        }
        let page = self.pager.allocate(PageKind::HnswNodes)?;
        let slot = self
            .pager
            .write(page, |p| {
                le::put_u16(p, OFF_COUNT, 0);
                le::put_u16(p, OFF_RECORDS_START, p.len() as u16);
                try_place(p, rec)
            })?
            .ok_or_else(|| PagerError::corrupt(page, "hnsw node larger than a page"))?;
        if last != 0 {
            self.pager
                .write(last, |p| crate::pager::page::set_next(p, page))?;
        }
        let first = self.meta.first_page;
        self.pager.write(index_meta, |p| {
            le::put_u32(p, OFF_LAST_PAGE, page);
            if first == 0 {
                le::put_u32(p, OFF_FIRST_PAGE, page);
            }
        })?;
        self.meta.last_page = page;
        if first == 0 {
            self.meta.first_page = page;
        }
        Ok(node_ref(page, slot))
    }
}

/// Places `rec` in a node page if it fits; returns its slot.
fn try_place(p: &mut [u8], rec: &[u8]) -> Option<u16> {
    let count = usize::from(le::u16_at(p, OFF_COUNT));
    let start = usize::from(le::u16_at(p, OFF_RECORDS_START)).min(p.len());
    let dir_end = SLOTS + (count + 1) * 4;
    if start < dir_end + rec.len() || count >= usize::from(u16::MAX) {
        return None;
    }
    let off = start - rec.len();
    p[off..start].copy_from_slice(rec);
    le::put_u16(p, SLOTS + count * 4, off as u16);
    le::put_u16(p, SLOTS + count * 4 + 2, rec.len() as u16);
    le::put_u16(p, OFF_COUNT, (count + 1) as u16);
    le::put_u16(p, OFF_RECORDS_START, off as u16);
    Some(count as u16)
}

/// A node's level: floor(-ln(u) · mL) with mL = 1 / ln(m), u drawn from a
/// hash of its TID and the graph's size (deterministic, so a replayed
/// workload builds the same graph).
fn random_level(tid: Tid, salt: u64, m: usize, cap_level: usize) -> usize {
    let mut rng = crate::util::Rng::new(
        (u64::from(tid.page) << 16 | u64::from(tid.slot)) ^ salt.rotate_left(32),
    );
    let u = ((rng.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let level = (-u.ln() / (m as f64).ln()).floor() as usize;
    level.min(cap_level)
}

impl IndexAm for HnswIndex {
    fn insert(&self, pager: &mut Pager, key: &[Value], tid: Tid) -> Result<()> {
        self.insert_entry(pager, key, tid)
    }

    fn remove(&self, pager: &mut Pager, key: &[Value], tid: Tid) -> Result<()> {
        pager.safe_point()?;
        let meta = self.meta(pager)?;
        // NULLs have no entry.
        let Some(v) = Self::vector_of(key, &meta)? else {
            return Ok(());
        };
        // Find the node: a search for its own vector reaches it (distance
        // 0) in all but pathological graphs; otherwise walk the pages.
        let mut target = None;
        {
            let mut g = Graph::new(pager, meta);
            if let Some(ep) = g.descend(&v, 0)? {
                let mut visited = NodeSet::default();
                let ef = meta.ef_construction.max(64);
                for (_, n) in g.search_layer(&v, &ep, ef, 0, &mut visited, None)? {
                    // A deleted node may carry the same TID: the heap
                    // reuses the slots vacuum frees.
                    let view = g.view(n)?;
                    if view.tid == tid && !view.deleted {
                        target = Some(n);
                        break;
                    }
                }
            }
        }
        let target = match target {
            Some(t) => Some(t),
            None => self.find_by_tid(pager, &meta, tid)?,
        };
        if let Some(n) = target {
            let (page, slot) = (ref_page(n), ref_slot(n));
            pager.write(page, |p| -> PResult<()> {
                let (off, _) = record_span(p, page, slot)?;
                p[off] |= FLAG_DELETED;
                Ok(())
            })??;
            let mp = self.meta_page;
            pager.write(mp, |p| {
                let d = le::u64_at(p, OFF_DELETED);
                le::put_u64(p, OFF_DELETED, d + 1);
            })?;
        }
        Ok(())
    }

    fn lookup(&self, _pager: &mut Pager, _key: &[Value]) -> Result<Vec<Tid>> {
        Err(Error::Sql(SqlError::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            "access method \"hnsw\" does not support unique indexes",
        )))
    }

    fn scan(&self, pager: &mut Pager, keys: &ScanKeys) -> Result<Box<dyn IndexCursor>> {
        let meta = self.meta(pager)?;
        let Some(near) = &keys.nearest else {
            return Err(Error::Sql(SqlError::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "hnsw scans need an ORDER BY distance",
            )));
        };
        if near.query.len() != meta.dims {
            return Err(Error::Sql(SqlError::new(
                SqlState::DATA_EXCEPTION,
                format!(
                    "different vector dimensions {} and {}",
                    meta.dims,
                    near.query.len()
                ),
            )));
        }
        Ok(Box::new(HnswCursor {
            meta_page: self.meta_page,
            query: near.query.clone(),
            settings: near.settings,
            visited: NodeSet::default(),
            emitted: IdSet::default(),
            frontier: Frontier::default(),
            started: false,
            swept: false,
            done: false,
            last: f32::MIN,
        }))
    }

    fn cleanup(&self, pager: &mut Pager) -> Result<()> {
        self.repair(pager)
    }

    fn page_count(&self, pager: &mut Pager) -> Result<u64> {
        let meta = self.meta(pager)?;
        let mut page = meta.first_page;
        // The meta page, then the chain of node pages.
        let mut count = 1u64;
        while page != 0 {
            page = pager.read(page, crate::pager::page::next)?;
            count += 1;
            if count > u64::from(pager.page_count()) + 1 {
                return Err(PagerError::corrupt(self.meta_page, "hnsw page chain loops").into());
            }
        }
        Ok(count)
    }

    fn destroy(&self, pager: &mut Pager) -> Result<()> {
        let meta = self.meta(pager)?;
        let mut page = meta.first_page;
        let mut seen = 0u64;
        while page != 0 {
            let next = pager.read(page, crate::pager::page::next)?;
            pager.free(page)?;
            page = next;
            seen += 1;
            if seen > u64::from(pager.page_count()) {
                return Err(PagerError::corrupt(self.meta_page, "hnsw page chain loops").into());
            }
        }
        pager.free(self.meta_page)?;
        Ok(())
    }
}

/// One node as read by a page walk: address, view, neighbour lists.
struct WalkedNode {
    node: NodeRef,
    view: NodeView,
    lists: Vec<Vec<NodeRef>>,
}

/// The nodes of one node page (with their lists when `lists`), and the
/// next page of the chain.
fn walk_page(
    pager: &mut Pager,
    page: PageId,
    meta: &Meta,
    lists: bool,
) -> PResult<(Vec<WalkedNode>, PageId)> {
    let meta = *meta;
    pager.read(page, |p| -> PResult<(Vec<WalkedNode>, PageId)> {
        let count = le::u16_at(p, OFF_COUNT);
        let mut out = Vec::with_capacity(usize::from(count));
        for s in 0..count {
            let rec = record(p, page, s)?;
            let view = node_view(rec, page, &meta)?;
            let lists = if lists && !view.free {
                (0..=view.level)
                    .map(|l| neighbours_in(rec, page, &meta, l))
                    .collect::<PResult<Vec<_>>>()?
            } else {
                Vec::new()
            };
            out.push(WalkedNode {
                node: node_ref(page, s),
                view,
                lists,
            });
        }
        Ok((out, crate::pager::page::next(p)))
    })?
}

impl HnswIndex {
    /// VACUUM's graph repair (see the module comment): relinks the live
    /// neighbours of every deleted node, moves the entry point, and puts
    /// the deleted records on the free list. Two walks over the node
    /// pages; memory is bounded by the number of deleted nodes.
    fn repair(&self, pager: &mut Pager) -> Result<()> {
        pager.safe_point()?;
        let meta = self.meta(pager)?;
        let mut dead: IdSet<NodeRef> = IdSet::default();
        let mut highest_live: Option<(NodeRef, usize)> = None;
        let mut page = meta.first_page;
        let mut seen = 0u64;
        while page != 0 {
            let (nodes, next) = walk_page(pager, page, &meta, false)?;
            for n in nodes {
                if n.view.free {
                    continue;
                }
                if n.view.deleted {
                    dead.insert(n.node);
                } else if highest_live.is_none_or(|(_, l)| n.view.level > l) {
                    highest_live = Some((n.node, n.view.level));
                }
            }
            page = next;
            seen += 1;
            if seen > u64::from(pager.page_count()) {
                return Err(PagerError::corrupt(self.meta_page, "hnsw page chain loops").into());
            }
        }
        if dead.is_empty() {
            return Ok(());
        }
        let mut g = Graph::new(pager, meta);
        let mut page = meta.first_page;
        while page != 0 {
            let (nodes, next) = walk_page(g.pager, page, &meta, true)?;
            for n in nodes {
                if n.view.deleted {
                    continue;
                }
                for (l, list) in n.lists.iter().enumerate() {
                    if list.iter().any(|x| dead.contains(x)) {
                        g.relink(n.node, l, list, &dead)?;
                    }
                }
            }
            page = next;
        }
        let mp = self.meta_page;
        if let Some((entry, _)) = meta.entry {
            if dead.contains(&entry) {
                match highest_live {
                    Some((node, level)) => set_entry(g.pager, mp, node, level)?,
                    None => g.pager.write(mp, |p| p[OFF_HAS_ENTRY] = 0)?,
                }
            }
        }
        // Free the dead records: empty lists, chained through the TID.
        let mut head = meta.free.unwrap_or(0);
        for &d in &dead {
            let (page, slot) = (ref_page(d), ref_slot(d));
            g.pager.write(page, |p| -> PResult<()> {
                let (off, len) = record_span(p, page, slot)?;
                let rec = &mut p[off..off + len];
                let level = usize::from(rec[1]).min(MAX_LEVEL);
                rec[0] = FLAG_DELETED | FLAG_FREE;
                le::put_u32(rec, 2, ref_page(head));
                le::put_u16(rec, 6, ref_slot(head));
                for l in 0..=level {
                    let at = level_offset(meta.vbytes, meta.m, l);
                    if at + 2 <= rec.len() {
                        le::put_u16(rec, at, 0);
                    }
                }
                Ok(())
            })??;
            head = d;
        }
        set_free_head(g.pager, mp, Some(head))?;
        g.pager.write(mp, |p| le::put_u64(p, OFF_DELETED, 0))?;
        Ok(())
    }

    fn insert_entry(&self, pager: &mut Pager, key: &[Value], tid: Tid) -> Result<()> {
        pager.safe_point()?;
        let meta = self.meta(pager)?;
        let Some(v) = Self::vector_of(key, &meta)? else {
            return Ok(());
        };
        let nodes = pager.read(self.meta_page, |p| le::u64_at(p, OFF_NODES))?;
        let cap_level = max_level_for(meta.vbytes, meta.m, pager.page_size()).unwrap_or(0);
        let level = random_level(tid, nodes, meta.m, cap_level);
        // The record, with empty neighbour lists.
        let mut rec = vec![0u8; NODE_HEADER];
        rec[1] = level as u8;
        le::put_u32(&mut rec, 2, tid.page);
        le::put_u16(&mut rec, 6, tid.slot);
        meta.format.encode(&v, &mut rec);
        rec.resize(record_len(meta.vbytes, level, meta.m), 0);
        let mut g = Graph::new(pager, meta);
        let (node, reused) = g.place(self.meta_page, &rec)?;
        let mp = self.meta_page;
        if !reused {
            g.pager
                .write(mp, |p| le::put_u64(p, OFF_NODES, nodes + 1))?;
        }
        let Some((_, top)) = meta.entry else {
            set_entry(g.pager, mp, node, level)?;
            return Ok(());
        };
        let mut ep = g
            .descend(&v, level.min(top))?
            .expect("the graph has an entry point");
        for l in (0..=level.min(top)).rev() {
            let mut visited = NodeSet::default();
            let found = g.search_layer(&v, &ep, meta.ef_construction, l, &mut visited, None)?;
            let found: Vec<Scored> = found.into_iter().filter(|c| c.1 != node).collect();
            let m_l = cap(l, meta.m);
            let chosen = g.select(&found, if l == 0 { meta.m * 2 } else { meta.m })?;
            let list: Vec<NodeRef> = chosen.iter().map(|c| c.1).collect();
            g.set_neighbours(node, l, &list)?;
            // Back links, pruned with the same heuristic when full.
            for c in &chosen {
                let mut theirs = g.neighbours(c.1, l)?;
                if theirs.contains(&node) {
                    continue;
                }
                if theirs.len() < m_l {
                    theirs.push(node);
                    g.set_neighbours(c.1, l, &theirs)?;
                    continue;
                }
                let base = g.vector(c.1)?;
                let mut scored: Vec<Scored> = Vec::with_capacity(theirs.len() + 1);
                for &t in &theirs {
                    scored.push((Dist(g.distance(&base, t)?), t));
                }
                // c.0 is the new node's distance to c. Farther than all of
                // c's neighbours, it would come last and find no room:
                // skip the (quadratic) heuristic.
                if scored.iter().all(|x| x.0 <= c.0) {
                    continue;
                }
                scored.push((c.0, node));
                scored.sort();
                let kept = g.select(&scored, m_l)?;
                let list: Vec<NodeRef> = kept.iter().map(|k| k.1).collect();
                g.set_neighbours(c.1, l, &list)?;
            }
            if !found.is_empty() {
                ep = found;
            }
        }
        if level > top {
            set_entry(g.pager, mp, node, level)?;
        }
        Ok(())
    }

    fn find_by_tid(&self, pager: &mut Pager, meta: &Meta, tid: Tid) -> PResult<Option<NodeRef>> {
        let mut page = meta.first_page;
        let mut seen = 0u64;
        while page != 0 {
            let meta = *meta;
            let (hit, next) = pager.read(page, |p| -> PResult<(Option<u16>, PageId)> {
                let count = le::u16_at(p, OFF_COUNT);
                for s in 0..count {
                    let rec = record(p, page, s)?;
                    let view = node_view(rec, page, &meta)?;
                    if view.tid == tid && !view.deleted {
                        return Ok((Some(s), 0));
                    }
                }
                Ok((None, crate::pager::page::next(p)))
            })??;
            if let Some(s) = hit {
                return Ok(Some(node_ref(page, s)));
            }
            page = next;
            seen += 1;
            if seen > u64::from(pager.page_count()) {
                return Err(PagerError::corrupt(self.meta_page, "hnsw page chain loops"));
            }
        }
        Ok(None)
    }
}

fn set_free_head(pager: &mut Pager, meta: PageId, head: Option<NodeRef>) -> PResult<()> {
    let head = head.unwrap_or(0);
    pager.write(meta, |p| {
        le::put_u32(p, OFF_FREE_PAGE, ref_page(head));
        le::put_u16(p, OFF_FREE_SLOT, ref_slot(head));
    })
}

fn set_entry(pager: &mut Pager, meta: PageId, node: NodeRef, level: usize) -> PResult<()> {
    pager.write(meta, |p| {
        le::put_u32(p, OFF_ENTRY_PAGE, ref_page(node));
        le::put_u16(p, OFF_ENTRY_SLOT, ref_slot(node));
        p[OFF_ENTRY_LEVEL] = level as u8;
        p[OFF_HAS_ENTRY] = 1;
    })
}

/// Where an iterative scan resumes: nodes seen but not returned, or
/// returned but with neighbours not yet looked at.
#[derive(Default)]
struct Frontier {
    discarded: Vec<Scored>,
    expanded: IdSet<NodeRef>,
}

/// A running nearest-neighbour scan. The first batch is one HNSW search
/// with `ef_search`; each later batch resumes from the nodes that search
/// discarded (pgvector 0.8's iterative scan), keeping the visited set. The
/// cursor itself never ends early: the executor stops it after LIMIT rows
/// or the settings' budget of visible rows (`hnsw.ef_search` without
/// iterative scans, `hnsw.max_scan_tuples` with them).
struct HnswCursor {
    meta_page: PageId,
    query: Vec<f32>,
    settings: ScanSettings,
    visited: NodeSet,
    /// Nodes already returned: a node can be both in one round's result
    /// and among the candidates it left behind.
    emitted: IdSet<NodeRef>,
    frontier: Frontier,
    started: bool,
    /// Whether the unreached nodes were added to the frontier.
    swept: bool,
    done: bool,
    /// The distance of the last node returned (strict order).
    last: f32,
}

impl IndexCursor for HnswCursor {
    fn next_batch(&mut self, pager: &mut Pager, _max: usize) -> Result<Vec<Tid>> {
        let ix = HnswIndex {
            meta_page: self.meta_page,
        };
        let meta = ix.meta(pager)?;
        let mut g = Graph::new(pager, meta);
        let ef = self.settings.ef_search.max(1);
        while !self.done {
            let found = if !self.started {
                self.started = true;
                let Some(ep) = g.descend(&self.query, 0)? else {
                    self.done = true;
                    break;
                };
                let found = g.search_layer(
                    &self.query,
                    &ep,
                    ef,
                    0,
                    &mut self.visited,
                    Some(&mut self.frontier),
                )?;
                // Fewer than ef nodes reachable: the search saw its whole
                // component. If the graph has more, merge them in, so a
                // small index answers exactly even where pruning cut
                // nodes off.
                let total = g.pager.read(self.meta_page, |p| le::u64_at(p, OFF_NODES))?;
                if found.len() < ef && (self.visited.len() as u64) < total {
                    self.swept = true;
                    let mut entry = found;
                    entry.extend(g.unreached(&self.query, &mut self.visited)?);
                    entry.sort_unstable();
                    g.search_layer(
                        &self.query,
                        &entry,
                        ef,
                        0,
                        &mut self.visited,
                        Some(&mut self.frontier),
                    )?
                } else {
                    found
                }
            } else {
                // A node is done with once returned and expanded.
                let Frontier {
                    discarded,
                    expanded,
                } = &mut self.frontier;
                discarded.retain(|c| !(self.emitted.contains(&c.1) && expanded.contains(&c.1)));
                discarded.sort_unstable_by(|a, b| b.cmp(a));
                discarded.dedup();
                if discarded.is_empty() {
                    if self.swept {
                        self.done = true;
                        break;
                    }
                    // The graph is exhausted from the entry point, but
                    // links are directed and pruning can cut a region
                    // off: resume from the nodes never reached, so an
                    // index scan never returns fewer rows than a heap
                    // scan would.
                    self.swept = true;
                    let total = g.pager.read(self.meta_page, |p| le::u64_at(p, OFF_NODES))?;
                    if (self.visited.len() as u64) < total {
                        *discarded = g.unreached(&self.query, &mut self.visited)?;
                    }
                    continue;
                }
                // Resume from the nearest of them.
                let take = discarded.len().min(ef);
                let ep: Vec<Scored> = discarded
                    .split_off(discarded.len() - take)
                    .into_iter()
                    .rev()
                    .collect();
                g.search_layer(
                    &self.query,
                    &ep,
                    ef,
                    0,
                    &mut self.visited,
                    Some(&mut self.frontier),
                )?
            };
            let mut out = Vec::with_capacity(found.len());
            for (d, n) in found {
                if !self.emitted.insert(n) {
                    continue;
                }
                let view = g.view(n)?;
                if view.deleted {
                    continue;
                }
                if self.settings.iterative == IterativeScan::StrictOrder && d.0 < self.last {
                    continue;
                }
                self.last = self.last.max(d.0);
                out.push(view.tid);
            }
            if !out.is_empty() {
                return Ok(out);
            }
        }
        Ok(Vec::new())
    }
}
