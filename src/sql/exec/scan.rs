//! Heap and index scans: the rows of a table visible to the statement.

use super::eval::eval;
use super::filter::Filter;
use super::{Env, ExecResult, Row, RowBudget};
use crate::access::hnsw::{IterativeScan, NearestKey};
use crate::access::{self, ScanKeys};
use crate::catalog::{IndexDef, TableDef};
use crate::heap::{continues_chain, flags, hot_next, Heap, PageView, Tid, TupleHeader};
use crate::sql::plan::{visit_cols, BExpr, IndexBounds};
use crate::txn::ssi::Target;
use crate::value::row::{decode_row, decode_row_needed_into, RowLayout};
use crate::value::{DataType, Value};

/// Encodes a TID as the hidden `ctid` column of DML scans.
pub fn tid_value(tid: Tid) -> Value {
    Value::Int8(((tid.page as i64) << 16) | tid.slot as i64)
}

pub fn value_tid(v: &Value) -> Option<Tid> {
    match v {
        Value::Int8(x) if *x >= 0 => Some(Tid {
            page: (*x >> 16) as u32,
            slot: (*x & 0xFFFF) as u16,
        }),
        _ => None,
    }
}

/// Column types of a table as stored (dropped columns included).
pub fn stored_types(table: &TableDef) -> Vec<DataType> {
    table.columns.iter().map(|c| c.ty.clone()).collect()
}

/// Decodes a stored row, filling columns added after it was written with
/// NULL (the binder substitutes defaults when the column has one).
pub fn decode_table_row(table: &TableDef, payload: &[u8]) -> ExecResult<Row> {
    Ok(decode_row(payload, &stored_types(table))?)
}

/// Where a scan's rows go, one at a time; `false` stops the scan.
pub(super) type Sink<'s> = dyn FnMut(&mut Row, &mut Env) -> ExecResult<bool> + 's;

/// Decodes a stored row into `row`: the `needed` columns only (into the
/// same buffer each time), or all of them.
pub(super) fn decode_needed(
    payload: &[u8],
    types: &[DataType],
    needed: Option<&[bool]>,
    row: &mut Row,
) -> ExecResult<()> {
    match needed {
        Some(n) => decode_row_needed_into(payload, types, n, row)?,
        None => *row = decode_row(payload, types)?,
    }
    Ok(())
}

/// Turns a scan's stored rows into rows for its filter and its consumer.
/// When the filter reads fewer columns than the consumer needs, a row is
/// decoded in two steps: the filter's columns first, the rest only if the
/// row passes (a DML scan needs whole rows, its WHERE clause one column).
struct RowReader<'p> {
    layout: RowLayout,
    needed: Option<&'p [bool]>,
    filter: Option<Filter<'p>>,
    filter_cols: Option<Vec<bool>>,
    /// The filter can be tested on the encoded row ([`Filter::passes_raw`]).
    raw_filter: bool,
    with_tid: bool,
}

impl<'p> RowReader<'p> {
    fn new(
        table: &TableDef,
        filter: Option<&'p BExpr>,
        with_tid: bool,
        needed: Option<&'p [bool]>,
        env: &Env,
    ) -> RowReader<'p> {
        let types = stored_types(table);
        let filter_cols = filter.and_then(|f| {
            let mut cols = vec![false; types.len()];
            let mut ok = true;
            // A column past the table's is the TID, which is always there.
            visit_cols(
                f,
                &mut |c| {
                    if let Some(x) = cols.get_mut(c) {
                        *x = true;
                    }
                },
                &mut ok,
            );
            let fewer = match needed {
                None => cols.iter().any(|c| !c),
                Some(n) => n.iter().zip(&cols).any(|(n, c)| *n && !*c),
            };
            (ok && fewer).then_some(cols)
        });
        let filter = filter.map(|f| Filter::new(f, env));
        let layout = RowLayout::new(types);
        RowReader {
            // Worth it when decoding would cost more than finding the
            // compared columns: the filter's columns are only part of
            // what is decoded, or text, or each is read from a fixed
            // offset (a walk to an integer column, then decoding it again
            // for the consumer, was slower in wasm than decoding once).
            raw_filter: filter.as_ref().is_some_and(|f| {
                f.raw_testable(layout.types())
                    && (filter_cols.is_some()
                        || f.compares_text()
                        || f.reads_fixed_offsets(&layout))
            }),
            layout,
            needed,
            filter,
            filter_cols,
            with_tid,
        }
    }

    /// The filter, tested on the encoded row, rejects it (`false` when it
    /// passes or cannot tell). Not inlined: a second inlined copy of the
    /// raw filter made the wasm module 46 KiB (gzipped) larger.
    #[inline(never)]
    fn rejects(&self, payload: &[u8]) -> bool {
        self.raw_filter
            && self
                .filter
                .as_ref()
                .and_then(|f| f.passes_raw(payload, &self.layout))
                == Some(false)
    }

    /// Decodes the tuple at `tid` into `row`; `false` if the filter
    /// rejects it.
    fn read(&self, payload: &[u8], tid: Tid, row: &mut Row, env: &mut Env) -> ExecResult<bool> {
        if self.raw_filter {
            // Rejected rows are never decoded.
            match self
                .filter
                .as_ref()
                .and_then(|f| f.passes_raw(payload, &self.layout))
            {
                Some(false) => return Ok(false),
                Some(true) => {
                    decode_needed(payload, self.layout.types(), self.needed, row)?;
                    if self.with_tid {
                        row.push(tid_value(tid));
                    }
                    return Ok(true);
                }
                None => {}
            }
        }
        if let (Some(f), Some(cols)) = (&self.filter, &self.filter_cols) {
            decode_row_needed_into(payload, self.layout.types(), cols, row)?;
            if self.with_tid {
                row.push(tid_value(tid));
            }
            if !f.passes(row, env)? {
                return Ok(false);
            }
            decode_needed(payload, self.layout.types(), self.needed, row)?;
            if self.with_tid {
                row.push(tid_value(tid));
            }
            return Ok(true);
        }
        decode_needed(payload, self.layout.types(), self.needed, row)?;
        if self.with_tid {
            row.push(tid_value(tid));
        }
        match &self.filter {
            Some(f) => f.passes(row, env),
            None => Ok(true),
        }
    }
}

pub(super) fn scan_heap(
    table: &TableDef,
    filter: Option<&BExpr>,
    with_tid: bool,
    needed: Option<&[bool]>,
    env: &mut Env,
) -> ExecResult<Vec<Row>> {
    let mut out = Vec::new();
    let mut budget = RowBudget::new();
    scan_heap_into(table, filter, with_tid, needed, env, &mut |row, env| {
        budget.charge(row, env)?;
        out.push(std::mem::take(row));
        Ok(true)
    })?;
    Ok(out)
}

/// A sequential scan: the visible rows that pass `filter`, to `sink`.
/// With `needed`, only the columns it marks are decoded (it must cover
/// the filter's).
pub(super) fn scan_heap_into(
    table: &TableDef,
    filter: Option<&BExpr>,
    with_tid: bool,
    needed: Option<&[bool]>,
    env: &mut Env,
    sink: &mut Sink,
) -> ExecResult<()> {
    let heap = Heap::open(table.heap);
    // A sequential scan reads the whole table: any later insert could
    // have changed its result.
    env.read_target(|| Target::Relation(table.oid));
    let mut page = heap.first_page(env.pager)?;
    let mut view = PageView::default();
    let reader = RowReader::new(table, filter, with_tid, needed, env);
    let mut row = Row::new();
    // A filter tested on the encoded row can go before the visibility
    // check, which most rows it rejects then skip (a transaction's own dead
    // versions, in a loop of UPDATEs). Not under SSI, which notes the
    // writer of every version the scan looks at, visible or not.
    let filter_first = reader.raw_filter && env.ssi.is_none();
    while page != 0 {
        heap.view_page(env.pager, page, &mut view)?;
        for i in 0..view.len() {
            env.interrupts.tick()?;
            if filter_first && view.inline_payload(i).is_some_and(|p| reader.rejects(p)) {
                continue;
            }
            let (tid, header) = view.tuple(i);
            if !env.visible(&header)? {
                continue;
            }
            if !reader.read(&view.payload(env.pager, i)?, tid, &mut row, env)? {
                continue;
            }
            if !sink(&mut row, env)? {
                return Ok(());
            }
        }
        page = view.next_page();
    }
    Ok(())
}

/// The scan keys of `bounds`, evaluated; `None` if they can match nothing
/// (a NULL in an equality or range bound).
pub(super) fn scan_keys(
    bounds: &IndexBounds,
    reverse: bool,
    env: &mut Env,
) -> ExecResult<Option<ScanKeys>> {
    let mut keys = ScanKeys {
        reverse,
        ..ScanKeys::default()
    };
    for e in &bounds.eq {
        let v = eval(e, &[], env)?;
        if v.is_null() {
            return Ok(None);
        }
        keys.eq.push(v);
    }
    for (bound, slot) in [
        (&bounds.lower, &mut keys.lower),
        (&bounds.upper, &mut keys.upper),
    ] {
        if let Some((e, inclusive)) = bound {
            let v = eval(e, &[], env)?;
            if v.is_null() {
                return Ok(None);
            }
            *slot = Some((v, *inclusive));
        }
    }
    if let Some(q) = &bounds.nearest {
        match eval(q, &[], env)? {
            v @ (Value::Vector(_) | Value::HalfVec(_) | Value::Bit(_)) => {
                keys.nearest = Some(NearestKey {
                    query: crate::access::hnsw::search_vector(&v)
                        .expect("a vector, halfvec or bit"),
                    settings: env.hnsw,
                })
            }
            // Every distance to NULL is NULL: any order is the right one.
            Value::Null => return Ok(None),
            other => {
                return Err(crate::error::Error::Sql(crate::error::SqlError::new(
                    crate::error::SqlState::DATATYPE_MISMATCH,
                    format!("expected a vector, not {}", other.data_type()),
                )))
            }
        }
    }
    Ok(Some(keys))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn scan_index(
    table: &TableDef,
    index: &IndexDef,
    bounds: &IndexBounds,
    reverse: bool,
    filter: Option<&BExpr>,
    with_tid: bool,
    stop_after: Option<&BExpr>,
    needed: Option<&[bool]>,
    env: &mut Env,
) -> ExecResult<Vec<Row>> {
    let mut out = Vec::new();
    let mut budget = RowBudget::new();
    scan_index_into(
        table,
        index,
        bounds,
        reverse,
        filter,
        with_tid,
        stop_after,
        needed,
        env,
        &mut |row, env| {
            budget.charge(row, env)?;
            out.push(std::mem::take(row));
            Ok(true)
        },
    )?;
    Ok(out)
}

/// An index scan: the visible rows in `bounds` that pass `filter`, to
/// `sink` (at most `stop_after` of them). With `needed`, only the columns
/// it marks are decoded (it must cover the filter's).
#[allow(clippy::too_many_arguments)]
pub(super) fn scan_index_into(
    table: &TableDef,
    index: &IndexDef,
    bounds: &IndexBounds,
    reverse: bool,
    filter: Option<&BExpr>,
    with_tid: bool,
    stop_after: Option<&BExpr>,
    needed: Option<&[bool]>,
    env: &mut Env,
    sink: &mut Sink,
) -> ExecResult<()> {
    let stop = match stop_after {
        Some(e) => match eval(e, &[], env)? {
            Value::Int8(n) if n >= 0 => Some(n as usize),
            Value::Int4(n) if n >= 0 => Some(n as usize),
            _ => None,
        },
        None => None,
    };
    if stop == Some(0) {
        return Ok(());
    }
    let mut emitted = 0usize;
    let Some(keys) = scan_keys(bounds, reverse, env)? else {
        if bounds.nearest.is_some() {
            // ORDER BY distance to NULL: all rows, in no particular order.
            return scan_heap_into(table, filter, with_tid, needed, env, &mut |row, env| {
                if stop.is_some_and(|n| emitted >= n) {
                    return Ok(false);
                }
                emitted += 1;
                sink(row, env)
            });
        }
        return Ok(());
    };
    // A nearest-neighbour scan ends after `ef_search` visible rows
    // (`hnsw.iterative_scan = off`, one search's worth) or
    // `max_scan_tuples` of them (iterative scans). Invisible versions do
    // not count, so a graph crowded with dead or uncommitted rows still
    // yields its visible neighbours.
    let visible_budget = keys.nearest.as_ref().map(|n| match n.settings.iterative {
        IterativeScan::Off => n.settings.ef_search,
        _ => n.settings.max_scan_tuples,
    });
    let mut visible_rows = 0usize;
    let am = access::open(index);
    if env.ssi.is_some() {
        // The key range scanned (so an insert into it conflicts), or the
        // whole index for methods without ranges.
        let span = am.predicate_span(&keys)?;
        env.read_target(|| match span {
            Some((lo, hi)) => Target::Range(index.oid, lo, hi),
            None => Target::Relation(index.oid),
        });
    }
    let mut cursor = am.scan(env.pager, &keys)?;
    let heap = Heap::open(table.heap);
    let reader = RowReader::new(table, filter, with_tid, needed, env);
    let mut row = Row::new();
    let mut view = PageView::default();
    loop {
        let batch = cursor.next_batch(env.pager, 256)?;
        if batch.is_empty() {
            break;
        }
        for entry in batch {
            env.interrupts.tick()?;
            let Some(tid) = visible_in_chain(&heap, entry, &mut view, env)? else {
                continue;
            };
            env.read_target(|| Target::Tuple(table.oid, tid.page, tid.slot));
            if let Some(budget) = visible_budget {
                if visible_rows >= budget {
                    return Ok(());
                }
                visible_rows += 1;
            }
            let passed = reader.read(&view.payload(env.pager, 0)?, tid, &mut row, env)?;
            // The sink may change this page (a DML statement): unshared,
            // the pager changes it in place instead of copying it.
            view.release();
            if !passed {
                continue;
            }
            emitted += 1;
            if !sink(&mut row, env)? || stop.is_some_and(|n| emitted >= n) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Takes into `view` the version of the HOT chain an index entry points
/// at (`entry`, see [`Heap::chain`]) that the statement sees, and returns
/// its TID: `None` if it sees none of them. A snapshot sees at most one
/// version of a row, so the walk stops there.
pub(super) fn visible_in_chain(
    heap: &Heap,
    entry: Tid,
    view: &mut PageView,
    env: &mut Env,
) -> ExecResult<Option<Tid>> {
    let mut tid = entry;
    let mut prev: Option<TupleHeader> = None;
    // Bounded: a chain visits each slot of its page at most once.
    for _ in 0..=u16::MAX {
        if !heap.view_tuple(env.pager, tid, view)? {
            return Ok(None);
        }
        let header = view.tuple(0).1;
        let linked = match &prev {
            None => header.flags & flags::HEAP_ONLY == 0,
            Some(p) => continues_chain(p, &header),
        };
        if !linked {
            return Ok(None);
        }
        if env.visible(&header)? {
            return Ok(Some(tid));
        }
        match hot_next(&header, tid.page) {
            Some(next) => {
                prev = Some(header);
                tid = next;
            }
            None => return Ok(None),
        }
    }
    Ok(None)
}
