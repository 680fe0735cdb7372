//! The commit log: two bits of status per transaction id, kept in pages so
//! that a status change is logged, replayed and checkpointed like any other
//! page change. A transaction commits at the moment the WAL batch holding
//! its status change becomes durable.
//!
//! Layout: `Root::ClogDirectory` points at a chain of directory pages
//! (`PageKind::ClogDir`, `next` links the chain); each lists clog page ids
//! as u32 after the common header. Clog page `n` covers xids
//! `n * XIDS_PER_PAGE ..`, four per byte, low bits first.

use std::cell::Cell;

use super::ids::{Xid, FROZEN_XID, INVALID_XID};
use crate::pager::{page, PResult, PageId, PageKind, Pager, PagerError, Root, PAGE_HEADER_SIZE};
use crate::util::le;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XidStatus {
    InProgress = 0,
    Committed = 1,
    Aborted = 2,
}

/// Access to the commit log. Holds the page ids of the clog pages in memory
/// (one u32 per 32k transactions).
pub struct Clog {
    pages: Vec<PageId>,
    directories: Vec<PageId>,
    xids_per_page: u64,
    entries_per_dir: usize,
    /// Transactions below this id that are still "in progress" in the log
    /// were cut off by a crash: they count as aborted.
    horizon: Xid,
    /// Prepared transactions' xids below the horizon: they survived the
    /// crash and are still in progress.
    prepared: std::collections::HashSet<Xid>,
    /// Final statuses (committed, aborted) recently read, direct-mapped by
    /// xid: `xid << 2 | status`, 0 when empty. A scan over rows written by
    /// many transactions asks for each, and a final status never changes.
    recent: Box<[Cell<u64>]>,
}

/// Entries of [`Clog::recent`] (a power of two).
const RECENT: usize = 1024;

impl Clog {
    /// Loads the clog directory. `horizon` is the next xid recorded at open:
    /// nothing below it can still be running.
    pub fn open(pager: &mut Pager, horizon: Xid) -> PResult<Clog> {
        let ps = pager.page_size();
        let mut clog = Clog {
            pages: Vec::new(),
            directories: Vec::new(),
            xids_per_page: ((ps - PAGE_HEADER_SIZE) * 4) as u64,
            entries_per_dir: (ps - PAGE_HEADER_SIZE) / 4,
            horizon,
            prepared: std::collections::HashSet::new(),
            recent: (0..RECENT).map(|_| Cell::new(0)).collect(),
        };
        let mut dir = pager.root(Root::ClogDirectory)?;
        while dir != 0 {
            if clog.directories.contains(&dir) {
                return Err(PagerError::corrupt(dir, "cycle in clog directory chain"));
            }
            let (kind, next, ids) = pager.read(dir, |p| {
                let ids: Vec<PageId> = (0..clog.entries_per_dir)
                    .map(|i| le::u32_at(p, PAGE_HEADER_SIZE + 4 * i))
                    .collect();
                (page::kind(p), page::next(p), ids)
            })?;
            if kind != Some(PageKind::ClogDir) {
                return Err(PagerError::corrupt(dir, "expected a clog directory page"));
            }
            clog.directories.push(dir);
            clog.pages.extend(ids.into_iter().take_while(|&id| id != 0));
            dir = next;
        }
        Ok(clog)
    }

    fn locate(&self, xid: Xid) -> (usize, usize, u32) {
        let page_no = (xid / self.xids_per_page) as usize;
        let within = xid % self.xids_per_page;
        (
            page_no,
            PAGE_HEADER_SIZE + (within / 4) as usize,
            (within % 4) as u32 * 2,
        )
    }

    /// Status of `xid` as recorded (crash-interrupted ones read as aborted).
    pub fn status(&self, pager: &mut Pager, xid: Xid) -> PResult<XidStatus> {
        if xid == FROZEN_XID {
            return Ok(XidStatus::Committed);
        }
        if xid == INVALID_XID {
            return Ok(XidStatus::Aborted);
        }
        let slot = &self.recent[xid as usize % RECENT];
        let cached = slot.get();
        if cached >> 2 == xid && xid < 1 << 62 {
            return Ok(if cached & 3 == 1 {
                XidStatus::Committed
            } else {
                XidStatus::Aborted
            });
        }
        let (page_no, byte, shift) = self.locate(xid);
        let raw = match self.pages.get(page_no) {
            Some(&id) => pager.read(id, |p| (p[byte] >> shift) & 3)?,
            None => 0,
        };
        // Only what the log records is remembered: a crash-cut xid's
        // status depends on `prepared`, which recovery fills after open.
        if (raw == 1 || raw == 2) && xid < 1 << 62 {
            slot.set(xid << 2 | u64::from(raw));
        }
        Ok(match raw {
            1 => XidStatus::Committed,
            2 => XidStatus::Aborted,
            _ if xid < self.horizon && !self.prepared.contains(&xid) => XidStatus::Aborted,
            _ => XidStatus::InProgress,
        })
    }

    /// `xid` belongs to a prepared transaction restored at open: it stays
    /// in progress until COMMIT/ROLLBACK PREPARED records its outcome.
    pub fn keep_prepared(&mut self, xid: Xid) {
        self.prepared.insert(xid);
    }

    /// Records `status` for `xid`. Not durable until the pager commits.
    pub fn set_status(&mut self, pager: &mut Pager, xid: Xid, status: XidStatus) -> PResult<()> {
        let (page_no, byte, shift) = self.locate(xid);
        while self.pages.len() <= page_no {
            self.add_page(pager)?;
        }
        let id = self.pages[page_no];
        let slot = &self.recent[xid as usize % RECENT];
        if slot.get() >> 2 == xid {
            slot.set(0);
        }
        if status != XidStatus::InProgress {
            self.prepared.remove(&xid);
        }
        pager.write(id, |p| {
            p[byte] = (p[byte] & !(3 << shift)) | ((status as u8) << shift);
        })
    }

    fn add_page(&mut self, pager: &mut Pager) -> PResult<()> {
        let n = self.pages.len();
        if n.is_multiple_of(self.entries_per_dir) {
            let dir = pager.allocate(PageKind::ClogDir)?;
            match self.directories.last() {
                Some(&last) => pager.write(last, |p| page::set_next(p, dir))?,
                None => pager.set_root(Root::ClogDirectory, dir)?,
            }
            self.directories.push(dir);
        }
        let id = pager.allocate(PageKind::Clog)?;
        let dir = *self
            .directories
            .last()
            .expect("a directory was ensured above");
        let slot = n % self.entries_per_dir;
        pager.write(dir, |p| le::put_u32(p, PAGE_HEADER_SIZE + 4 * slot, id))?;
        self.pages.push(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pager::PagerConfig;
    use crate::storage::MemoryStorage;

    /// Statuses read through the direct-mapped memory agree with the log,
    /// for xids sharing a slot and for a status written after it was read.
    #[test]
    fn remembered_statuses_follow_the_log() {
        let mut p = Pager::open(
            Box::new(MemoryStorage::new()),
            Box::new(MemoryStorage::new()),
            PagerConfig {
                page_size: 4096,
                pool_bytes: 64 * 4096,
                checkpoint_wal_bytes: 1 << 20,
            },
        )
        .unwrap();
        let mut clog = Clog::open(&mut p, 1).unwrap();
        let xids: Vec<Xid> = (0..3u64)
            .flat_map(|k| (2..200).map(move |x| x + k * RECENT as u64))
            .collect();
        let expected = |x: Xid| {
            if x.is_multiple_of(3) {
                XidStatus::Aborted
            } else {
                XidStatus::Committed
            }
        };
        for &x in &xids {
            assert_eq!(clog.status(&mut p, x).unwrap(), XidStatus::InProgress);
        }
        for &x in &xids {
            clog.set_status(&mut p, x, expected(x)).unwrap();
        }
        for _ in 0..2 {
            for &x in &xids {
                assert_eq!(clog.status(&mut p, x).unwrap(), expected(x), "xid {x}");
            }
        }
        let x = xids[5];
        assert_eq!(clog.status(&mut p, x).unwrap(), XidStatus::Committed);
        clog.set_status(&mut p, x, XidStatus::Aborted).unwrap();
        assert_eq!(clog.status(&mut p, x).unwrap(), XidStatus::Aborted);
    }
}
