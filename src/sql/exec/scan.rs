//! Heap and index scans: the rows of a table visible to the statement.

use super::eval::{eval, passes};
use super::{Env, ExecResult, Row};
use crate::btree::{key::prefix_successor, Index, RangeCursor};
use crate::catalog::TableDef;
use crate::heap::{Heap, Tid};
use crate::sql::plan::{BExpr, IndexBounds};
use crate::value::index_key::encode_index_key;
use crate::value::row::decode_row;
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

pub(super) fn scan_heap(
    table: &TableDef,
    filter: Option<&BExpr>,
    with_tid: bool,
    env: &mut Env,
) -> ExecResult<Vec<Row>> {
    let heap = Heap::open(table.heap);
    let mut out = Vec::new();
    let mut page = heap.first_page(env.pager)?;
    while page != 0 {
        let (tuples, next) = heap.scan_page(env.pager, page)?;
        for t in tuples {
            env.interrupts.tick()?;
            if !env.visible(&t.header)? {
                continue;
            }
            let mut row = decode_table_row(table, &t.payload)?;
            if with_tid {
                row.push(tid_value(t.tid));
            }
            if let Some(f) = filter {
                if !passes(f, &row, env)? {
                    continue;
                }
            }
            out.push(row);
        }
        page = next;
    }
    Ok(out)
}

/// Encoded equality prefix, then optional lower (inclusive) and upper
/// (exclusive) keys.
pub(super) type KeyRange = (Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>);

/// The key bounds of an index scan, or `None` if they can match nothing
/// (a NULL in an equality or range bound).
pub(super) fn index_range(
    bounds: &IndexBounds,
    desc: &[bool],
    env: &mut Env,
) -> ExecResult<Option<KeyRange>> {
    let mut eq_vals = Vec::new();
    for e in &bounds.eq {
        let v = eval(e, &[], env)?;
        if v.is_null() {
            return Ok(None);
        }
        eq_vals.push(v);
    }
    let prefix = encode_index_key(&eq_vals, &desc[..eq_vals.len()])?;
    let k = eq_vals.len();
    let col_key = |v: &Value| -> ExecResult<Vec<u8>> {
        let mut key = prefix.clone();
        key.extend(encode_index_key(std::slice::from_ref(v), &desc[k..k + 1])?);
        Ok(key)
    };
    let lower = match &bounds.lower {
        Some((e, inclusive)) => {
            let v = eval(e, &[], env)?;
            if v.is_null() {
                return Ok(None);
            }
            let key = col_key(&v)?;
            Some(if *inclusive {
                key
            } else {
                prefix_successor(&key).unwrap_or(key)
            })
        }
        None => None,
    };
    let upper = match &bounds.upper {
        Some((e, inclusive)) => {
            let v = eval(e, &[], env)?;
            if v.is_null() {
                return Ok(None);
            }
            let key = col_key(&v)?;
            // Exclusive end: everything below key (or below its successor).
            Some(if *inclusive {
                prefix_successor(&key).unwrap_or(key)
            } else {
                key
            })
        }
        None => None,
    };
    Ok(Some((prefix, lower, upper)))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn scan_index(
    table: &TableDef,
    index: &crate::catalog::IndexDef,
    bounds: &IndexBounds,
    reverse: bool,
    filter: Option<&BExpr>,
    with_tid: bool,
    stop_after: Option<&BExpr>,
    env: &mut Env,
) -> ExecResult<Vec<Row>> {
    use std::ops::Bound;
    let stop = match stop_after {
        Some(e) => match eval(e, &[], env)? {
            Value::Int8(n) if n >= 0 => Some(n as usize),
            Value::Int4(n) if n >= 0 => Some(n as usize),
            _ => None,
        },
        None => None,
    };
    if stop == Some(0) {
        return Ok(Vec::new());
    }
    let Some((prefix, lower, upper)) = index_range(bounds, &index.desc, env)? else {
        return Ok(Vec::new());
    };
    let idx = Index::open(index.btree);
    let prefix_end = prefix_successor(&prefix);
    let lo: Bound<&[u8]> = match &lower {
        Some(l) => Bound::Included(l.as_slice()),
        None => Bound::Included(prefix.as_slice()),
    };
    let hi: Bound<&[u8]> = match (&upper, &prefix_end) {
        (Some(u), _) => Bound::Excluded(u.as_slice()),
        (None, Some(e)) => Bound::Excluded(e.as_slice()),
        (None, None) => Bound::Unbounded,
    };
    let mut cursor = RangeCursor::new(lo, hi, reverse);
    let heap = Heap::open(table.heap);
    let mut out = Vec::new();
    loop {
        let batch = cursor.next_batch(&idx.tree(), env.pager, 256)?;
        let done = batch.len() < 256;
        for (key, _) in batch {
            env.interrupts.tick()?;
            let Some((_, tid)) = crate::btree::split_entry_key(&key) else {
                continue;
            };
            let Some(t) = heap.fetch(env.pager, tid)? else {
                continue;
            };
            if !env.visible(&t.header)? {
                continue;
            }
            let mut row = decode_table_row(table, &t.payload)?;
            if with_tid {
                row.push(tid_value(tid));
            }
            if let Some(f) = filter {
                if !passes(f, &row, env)? {
                    continue;
                }
            }
            out.push(row);
            if stop.is_some_and(|n| out.len() >= n) {
                return Ok(out);
            }
        }
        if done {
            break;
        }
    }
    Ok(out)
}
