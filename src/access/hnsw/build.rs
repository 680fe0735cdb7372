//! CREATE INDEX's build in memory, as pgvector builds within
//! `maintenance_work_mem`: the graph is built over plain arrays (vectors
//! side by side, neighbour lists of node numbers with their distances),
//! then written to node pages once, every page in one go. Reading and
//! rewriting page records for every link change is what makes inserting
//! into the on-page graph slow; a build has no reader to serve meanwhile
//! (the index is not in the catalog yet), so it need not pay that.
//!
//! The algorithm is the one [`super::HnswIndex`] runs on pages (same
//! levels, same neighbour heuristic), plus pgvector's cache of which
//! neighbours the heuristic kept ("closer"), so that pruning a full list
//! for one more back link usually compares the newcomer only, instead of
//! re-running the quadratic heuristic over the whole list.
//!
//! When the graph would outgrow its memory budget the nodes built so far
//! are written out and the rest of the rows are inserted into the pages
//! one by one (pgvector does the same, with a notice).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{
    cap, le, max_level_for, random_level, record_len, set_entry, try_place, Dist, HnswIndex, Meta,
    NodeRef, Result, OFF_COUNT, OFF_FIRST_PAGE, OFF_LAST_PAGE, OFF_NODES, OFF_RECORDS_START,
    REF_SIZE, SLOTS,
};
use crate::access::IndexBuilder;
use crate::heap::Tid;
use crate::pager::{PageId, PageKind, Pager, PagerError};
use crate::value::Value;

/// A neighbour: the node, its distance to the list's owner, and whether
/// the last selection over this list kept it by the heuristic rather than
/// as a filler (pgvector's `closer`).
#[derive(Clone, Copy, Debug)]
struct Link {
    node: u32,
    dist: f32,
    closer: bool,
}

/// One node's list at one level: `links[at..at + cap(level)]`, of which
/// the first `len` are set.
#[derive(Clone, Copy)]
struct List {
    at: u32,
    len: u8,
    /// The `closer` flags are valid for this list's order (it was last
    /// written by a deterministic selection).
    closer_set: bool,
}

#[derive(Clone, Copy)]
struct Node {
    tid: Tid,
    level: u8,
    /// `lists[lists + l]` is the node's list at level `l`.
    lists: u32,
}

/// The graph being built.
struct MemGraph {
    meta: Meta,
    cap_level: usize,
    /// Node `i`'s vector is `vectors[i * dims..(i + 1) * dims]` (f32
    /// whatever the storage format, as searches on pages see it).
    vectors: Vec<f32>,
    nodes: Vec<Node>,
    lists: Vec<List>,
    links: Vec<Link>,
    entry: Option<u32>,
    /// `visited[n] == epoch`: node `n` was seen by the current search.
    visited: Vec<u32>,
    epoch: u32,
    candidates: BinaryHeap<Reverse<(Dist, u32)>>,
    found: BinaryHeap<(Dist, u32)>,
}

impl MemGraph {
    fn vector(&self, n: u32) -> &[f32] {
        let d = self.meta.dims;
        let at = n as usize * d;
        &self.vectors[at..at + d]
    }

    fn list(&self, n: u32, level: usize) -> List {
        self.lists[self.nodes[n as usize].lists as usize + level]
    }

    fn links_of(&self, list: List) -> &[Link] {
        &self.links[list.at as usize..list.at as usize + usize::from(list.len)]
    }

    /// Bytes one more node of `level` adds.
    fn node_bytes(&self, level: usize) -> usize {
        let m = self.meta.m;
        self.meta.dims * 4
            + std::mem::size_of::<Node>()
            + 4 // visited
            + (0..=level)
                .map(|l| std::mem::size_of::<List>() + cap(l, m) * std::mem::size_of::<Link>())
                .sum::<usize>()
    }

    /// The `ef` nodes nearest to `q` found from `entry` at `level`,
    /// nearest first (the paper's SEARCH-LAYER).
    fn search_layer(
        &mut self,
        q: &[f32],
        entry: &[(Dist, u32)],
        ef: usize,
        level: usize,
    ) -> Vec<(Dist, u32)> {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.visited.fill(0);
            self.epoch = 1;
        }
        let epoch = self.epoch;
        let mut candidates = std::mem::take(&mut self.candidates);
        let mut found = std::mem::take(&mut self.found);
        candidates.clear();
        found.clear();
        for &e in entry {
            self.visited[e.1 as usize] = epoch;
            candidates.push(Reverse(e));
            found.push(e);
            if found.len() > ef {
                found.pop();
            }
        }
        let metric = self.meta.metric;
        while let Some(Reverse((d, c))) = candidates.pop() {
            if found.len() >= ef && found.peek().is_some_and(|w| d > w.0) {
                break;
            }
            let list = self.list(c, level);
            for i in 0..usize::from(list.len) {
                let n = self.links[list.at as usize + i].node;
                if self.visited[n as usize] == epoch {
                    continue;
                }
                self.visited[n as usize] = epoch;
                let dn = Dist(metric.distance(q, self.vector(n)));
                if found.len() < ef || found.peek().is_some_and(|w| dn < w.0) {
                    candidates.push(Reverse((dn, n)));
                    found.push((dn, n));
                    if found.len() > ef {
                        found.pop();
                    }
                }
            }
        }
        let mut out: Vec<(Dist, u32)> = found.drain().collect();
        out.sort_unstable();
        self.candidates = candidates;
        self.found = found;
        out
    }

    /// Whether `e` is nearer to its base than to every node of `kept`.
    fn closer(&self, e: &Link, kept: &[Link]) -> bool {
        let v = self.vector(e.node);
        kept.iter()
            .all(|k| self.meta.metric.distance(v, self.vector(k.node)) > e.dist)
    }

    /// pgvector's SelectNeighbors over `c` (nearest first): the heuristic
    /// keeps a candidate only if it is nearer to the base than to every
    /// neighbour kept so far, then the nearest pruned ones fill the list
    /// up to `lm`. Without `must_calculate`, the `closer` flags of `c`
    /// are those of the previous selection over the same list in the
    /// same order, with `new` the one candidate added since: only what
    /// that addition can change is recomputed.
    fn select(
        &self,
        c: &mut [Link],
        lm: usize,
        must_calculate: bool,
        new: Option<u32>,
    ) -> Vec<Link> {
        if c.len() <= lm {
            return c.to_vec();
        }
        let mut kept: Vec<Link> = Vec::with_capacity(lm);
        let mut pruned: Vec<Link> = Vec::new();
        let mut added: Vec<Link> = Vec::new();
        let mut removed_any = false;
        for e in c.iter_mut() {
            if kept.len() >= lm {
                break;
            }
            if must_calculate {
                e.closer = self.closer(e, &kept);
            } else if !added.is_empty() {
                if e.closer {
                    // It beat everything kept before it last time; only
                    // the additions can beat it now.
                    e.closer = self.closer(e, &added);
                    removed_any |= !e.closer;
                } else if removed_any {
                    // What pruned it may be gone.
                    e.closer = self.closer(e, &kept);
                    if e.closer {
                        added.push(*e);
                    }
                }
            } else if Some(e.node) == new {
                e.closer = self.closer(e, &kept);
                if e.closer {
                    added.push(*e);
                }
            }
            if e.closer {
                kept.push(*e);
            } else {
                pruned.push(*e);
            }
        }
        for p in pruned {
            if kept.len() >= lm {
                break;
            }
            kept.push(p);
        }
        kept
    }

    /// Adds a back link from `owner` to `new` at `level`, pruning the list
    /// with the heuristic when it is full (pgvector's
    /// HnswUpdateConnection).
    fn connect(&mut self, owner: u32, level: usize, new: Link) {
        let lm = cap(level, self.meta.m);
        let li = self.nodes[owner as usize].lists as usize + level;
        let list = self.lists[li];
        if usize::from(list.len) < lm {
            self.links[list.at as usize + usize::from(list.len)] = new;
            self.lists[li].len += 1;
            return;
        }
        let mut c: Vec<Link> = self.links_of(list).to_vec();
        c.push(new);
        // A deterministic order, so the cached flags mean the same next
        // time.
        c.sort_unstable_by(|a, b| a.dist.total_cmp(&b.dist).then(a.node.cmp(&b.node)));
        let kept = self.select(&mut c, lm, !list.closer_set, Some(new.node));
        let at = list.at as usize;
        self.links[at..at + kept.len()].copy_from_slice(&kept);
        self.lists[li] = List {
            at: list.at,
            len: kept.len() as u8,
            closer_set: true,
        };
    }

    /// Inserts the node of `v` (the HNSW paper's INSERT).
    fn insert(&mut self, v: &[f32], tid: Tid) {
        let id = self.nodes.len() as u32;
        let m = self.meta.m;
        let level = random_level(tid, u64::from(id), m, self.cap_level);
        self.vectors.extend_from_slice(v);
        self.nodes.push(Node {
            tid,
            level: level as u8,
            lists: self.lists.len() as u32,
        });
        for l in 0..=level {
            self.lists.push(List {
                at: self.links.len() as u32,
                len: 0,
                closer_set: false,
            });
            self.links.resize(
                self.links.len() + cap(l, m),
                Link {
                    node: 0,
                    dist: 0.0,
                    closer: false,
                },
            );
        }
        self.visited.push(0);
        let Some(entry) = self.entry else {
            self.entry = Some(id);
            return;
        };
        let top = usize::from(self.nodes[entry as usize].level);
        let metric = self.meta.metric;
        let mut ep = vec![(Dist(metric.distance(v, self.vector(entry))), entry)];
        for l in (level + 1..=top).rev() {
            ep = self.search_layer(v, &ep, 1, l);
        }
        for l in (0..=level.min(top)).rev() {
            let found = self.search_layer(v, &ep, self.meta.ef_construction, l);
            let mut cands: Vec<Link> = found
                .iter()
                .map(|&(d, n)| Link {
                    node: n,
                    dist: d.0,
                    closer: false,
                })
                .collect();
            let chosen = self.select(&mut cands, cap(l, m), true, None);
            let li = self.nodes[id as usize].lists as usize + l;
            let at = self.lists[li].at as usize;
            self.links[at..at + chosen.len()].copy_from_slice(&chosen);
            self.lists[li].len = chosen.len() as u8;
            for c in &chosen {
                self.connect(
                    c.node,
                    l,
                    Link {
                        node: id,
                        dist: c.dist,
                        closer: false,
                    },
                );
            }
            if !found.is_empty() {
                ep = found;
            }
        }
        if level > top {
            self.entry = Some(id);
        }
    }

    /// Writes the graph into `index`'s (empty) pages: addresses are
    /// assigned by packing the records in node order exactly as
    /// [`try_place`] does, the pages are allocated and chained (so a
    /// failure part-way leaves them reachable for `destroy`), then each is
    /// written once.
    fn write(&self, pager: &mut Pager, index: &HnswIndex) -> Result<()> {
        if self.nodes.is_empty() {
            return Ok(());
        }
        let meta = &self.meta;
        let page_size = pager.page_size();
        // Each node's page (ordinal) and slot.
        let mut places: Vec<(u32, u16)> = Vec::with_capacity(self.nodes.len());
        let mut firsts: Vec<usize> = Vec::new();
        let (mut start, mut count) = (0usize, 0usize);
        for (i, n) in self.nodes.iter().enumerate() {
            let len = record_len(meta.vbytes, usize::from(n.level), meta.m);
            if firsts.is_empty()
                || start < SLOTS + (count + 1) * 4 + len
                || count >= usize::from(u16::MAX)
            {
                firsts.push(i);
                start = page_size;
                count = 0;
            }
            places.push(((firsts.len() - 1) as u32, count as u16));
            start -= len;
            count += 1;
        }
        let mut ids: Vec<PageId> = Vec::with_capacity(firsts.len());
        for _ in 0..firsts.len() {
            pager.safe_point()?;
            let id = pager.allocate(PageKind::HnswNodes)?;
            pager.write(id, |p| {
                le::put_u16(p, OFF_COUNT, 0);
                le::put_u16(p, OFF_RECORDS_START, p.len() as u16);
            })?;
            if let Some(&prev) = ids.last() {
                pager.write(prev, |p| crate::pager::page::set_next(p, id))?;
            }
            ids.push(id);
        }
        let (first, last) = (ids[0], ids[ids.len() - 1]);
        pager.write(index.meta_page, |p| {
            le::put_u32(p, OFF_FIRST_PAGE, first);
            le::put_u32(p, OFF_LAST_PAGE, last);
        })?;
        let address = |n: u32| -> NodeRef {
            let (page, slot) = places[n as usize];
            super::node_ref(ids[page as usize], slot)
        };
        let mut rec = Vec::new();
        for (k, &page) in ids.iter().enumerate() {
            pager.safe_point()?;
            let end = firsts.get(k + 1).copied().unwrap_or(self.nodes.len());
            let range = firsts[k]..end;
            pager.write(page, |p| -> Result<()> {
                for i in range {
                    let n = self.nodes[i];
                    let level = usize::from(n.level);
                    rec.clear();
                    rec.extend_from_slice(&[0, n.level]);
                    rec.extend_from_slice(&n.tid.page.to_le_bytes());
                    rec.extend_from_slice(&n.tid.slot.to_le_bytes());
                    meta.format.encode(self.vector(i as u32), &mut rec);
                    for l in 0..=level {
                        let links = self.links_of(self.list(i as u32, l));
                        rec.extend_from_slice(&(links.len() as u16).to_le_bytes());
                        for link in links {
                            let r = address(link.node);
                            rec.extend_from_slice(&super::ref_page(r).to_le_bytes());
                            rec.extend_from_slice(&super::ref_slot(r).to_le_bytes());
                        }
                        rec.resize(rec.len() + (cap(l, meta.m) - links.len()) * REF_SIZE, 0);
                    }
                    if try_place(p, &rec) != Some(places[i].1) {
                        return Err(PagerError::corrupt(
                            page,
                            "hnsw build placed a node elsewhere",
                        )
                        .into());
                    }
                }
                Ok(())
            })??;
        }
        let nodes = self.nodes.len() as u64;
        pager.write(index.meta_page, |p| le::put_u64(p, OFF_NODES, nodes))?;
        if let Some(e) = self.entry {
            set_entry(
                pager,
                index.meta_page,
                address(e),
                usize::from(self.nodes[e as usize].level),
            )?;
        }
        Ok(())
    }
}

/// The HNSW [`IndexBuilder`]: in memory while the budget lasts, then on
/// the pages.
pub struct Builder {
    index: HnswIndex,
    /// `None` once the graph was written out (memory ran out): later rows
    /// are inserted into the pages.
    graph: Option<MemGraph>,
    budget: usize,
    bytes: usize,
}

impl Builder {
    /// A build of the empty index `index`, holding at most `budget` bytes
    /// in memory; `expected_rows` sizes the arrays up front.
    pub fn new(
        pager: &mut Pager,
        index: HnswIndex,
        budget: usize,
        expected_rows: usize,
    ) -> Result<Builder> {
        let meta = index.meta(pager)?;
        let cap_level = max_level_for(meta.vbytes, meta.m, pager.page_size()).unwrap_or(0);
        let mut graph = MemGraph {
            meta,
            cap_level,
            vectors: Vec::new(),
            nodes: Vec::new(),
            lists: Vec::new(),
            links: Vec::new(),
            entry: None,
            visited: Vec::new(),
            epoch: 0,
            candidates: BinaryHeap::new(),
            found: BinaryHeap::new(),
        };
        // Levels above 0 are rare (1 in m); reserve for level 0.
        let rows = expected_rows.min(budget / graph.node_bytes(0).max(1));
        graph.vectors.reserve_exact(rows * meta.dims);
        graph.nodes.reserve_exact(rows);
        graph.lists.reserve_exact(rows + rows / meta.m.max(1) + 1);
        graph
            .links
            .reserve_exact(rows * cap(0, meta.m) + (rows / meta.m.max(1) + 1) * meta.m);
        graph.visited.reserve_exact(rows);
        Ok(Builder {
            index,
            graph: Some(graph),
            budget,
            bytes: 0,
        })
    }
}

impl IndexBuilder for Builder {
    fn add(&mut self, pager: &mut Pager, key: &[Value], tid: Tid) -> Result<()> {
        // A node above level 0 takes a little more than this (1 in m do);
        // the budget is a bound to within that.
        let full = self
            .graph
            .as_ref()
            .is_none_or(|g| !g.nodes.is_empty() && self.bytes + g.node_bytes(0) > self.budget);
        if full {
            if let Some(g) = self.graph.take() {
                g.write(pager, &self.index)?;
            }
            return self.index.insert_entry(pager, key, tid);
        }
        let g = self.graph.as_mut().expect("not full, so in memory");
        let Some(v) = HnswIndex::vector_of(key, &g.meta)? else {
            return Ok(());
        };
        g.insert(&v, tid);
        self.bytes += g.node_bytes(g.nodes.last().map_or(0, |n| usize::from(n.level)));
        Ok(())
    }

    fn finish(&mut self, pager: &mut Pager) -> Result<()> {
        match self.graph.take() {
            Some(g) => g.write(pager, &self.index),
            None => Ok(()),
        }
    }
}
