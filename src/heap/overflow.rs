//! Overflow chains: values too large for a heap page.
//!
//! Page layout (`PageKind::Overflow`): the common header's `next` links the
//! chain (0 ends it); bytes 16..20 hold the number of data bytes in this page
//! (u32); data follows from byte 20.
//!
//! A chain is written before anything references it. If a crash cuts a write
//! short, the pages written so far are leaked (allocated, unreferenced) but
//! never reachable, so the database stays consistent.

use crate::pager::{page, PResult, PageId, PageKind, Pager, PagerError};
use crate::util::le;

const OFF_LEN: usize = 16;
const DATA_START: usize = 20;
/// PostgreSQL's limit for one value, and ours.
pub const MAX_VALUE_SIZE: u64 = 1 << 30;

fn capacity(pager: &Pager) -> usize {
    pager.page_size() - DATA_START
}

/// Writes `data` into a new chain and returns its first page.
pub fn write(pager: &mut Pager, data: &[u8]) -> PResult<PageId> {
    if data.len() as u64 > MAX_VALUE_SIZE {
        return Err(PagerError::TooLarge {
            what: "value",
            size: data.len() as u64,
            max: MAX_VALUE_SIZE,
        });
    }
    let cap = capacity(pager);
    let mut first = 0;
    let mut prev: PageId = 0;
    for chunk in data.chunks(cap).chain(data.is_empty().then_some(&[][..])) {
        // Each page is a complete step: a cut here only leaks the chain.
        pager.safe_point()?;
        let id = pager.allocate(PageKind::Overflow)?;
        pager.write(id, |p| {
            le::put_u32(p, OFF_LEN, chunk.len() as u32);
            p[DATA_START..DATA_START + chunk.len()].copy_from_slice(chunk);
        })?;
        if prev == 0 {
            first = id;
        } else {
            pager.write(prev, |p| page::set_next(p, id))?;
        }
        prev = id;
    }
    Ok(first)
}

/// Reads a chain that must hold exactly `len` bytes.
pub fn read(pager: &mut Pager, first: PageId, len: u64) -> PResult<Vec<u8>> {
    if len > MAX_VALUE_SIZE {
        return Err(PagerError::corrupt(
            first,
            format!("overflow length {len} too large"),
        ));
    }
    let cap = capacity(pager);
    let mut out = Vec::with_capacity(len as usize);
    let mut id = first;
    let max_pages = len / cap as u64 + 1;
    let mut pages = 0u64;
    loop {
        pages += 1;
        if pages > max_pages {
            return Err(PagerError::corrupt(
                id,
                "overflow chain longer than its value",
            ));
        }
        let next = pager.read(id, |p| {
            if page::kind(p) != Some(PageKind::Overflow) {
                return Err("expected an overflow page".to_string());
            }
            let n = le::u32_at(p, OFF_LEN) as usize;
            if n > cap || out.len() + n > len as usize {
                return Err(format!("overflow page holds {n} bytes, more than expected"));
            }
            out.extend_from_slice(&p[DATA_START..DATA_START + n]);
            Ok(page::next(p))
        })?;
        let next = next.map_err(|w| PagerError::corrupt(id, w))?;
        if next == 0 {
            break;
        }
        id = next;
    }
    if out.len() as u64 != len {
        return Err(PagerError::corrupt(
            first,
            "overflow chain shorter than its value",
        ));
    }
    Ok(out)
}

/// Frees every page of a chain.
pub fn free(pager: &mut Pager, first: PageId, len: u64) -> PResult<()> {
    let max_pages = len / capacity(pager) as u64 + 1;
    let mut id = first;
    for _ in 0..max_pages {
        // The chain is already unreferenced: a cut here only leaks the rest.
        pager.safe_point()?;
        let (kind, next) = pager.read(id, |p| (page::kind(p), page::next(p)))?;
        if kind != Some(PageKind::Overflow) {
            return Err(PagerError::corrupt(id, "expected an overflow page"));
        }
        pager.free(id)?;
        if next == 0 {
            return Ok(());
        }
        id = next;
    }
    Err(PagerError::corrupt(
        first,
        "overflow chain longer than its value",
    ))
}
