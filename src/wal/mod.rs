//! The write-ahead log: redo only, PostgreSQL-style.
//!
//! The WAL file is a header followed by frames. Each frame carries one
//! *batch*: the page-delta records ([`record`]) of every page changed since
//! the previous batch. A batch is a consistent cut of the database (the
//! engine is single-threaded and logs only between page operations), so
//! replaying any prefix of whole batches yields a structurally valid
//! database; MVCC visibility (the commit log is itself a set of pages) then
//! decides which transactions are committed.
//!
//! A checkpoint writes every dirty page to the data file, syncs it, and
//! starts a new *generation*: the header is rewritten with the next
//! generation number and frames are appended from the start of the file
//! again. A frame's header checksum is seeded with its generation, so frames
//! left over from older generations never validate. See
//! `docs/file-format.md` for byte layouts.

pub mod record;

use crate::storage::{read_padded, Storage, StorageError};
use crate::util::le;

/// A position in the log: bytes of frames written since the database was
/// created. Monotonic across generations.
pub type Lsn = u64;

pub const WAL_MAGIC: &[u8; 8] = b"NDBWAL\0\x01";
pub const WAL_FORMAT_VERSION: u32 = 1;
pub const WAL_HEADER_SIZE: u64 = 64;
pub const FRAME_HEADER_SIZE: usize = 32;
/// Frame flag: the last frame of a batch.
const FLAG_END_OF_BATCH: u32 = 1;
/// Upper bound on a frame payload we accept when reading, so that a corrupt
/// length cannot make recovery allocate without bound.
const MAX_FRAME_PAYLOAD: u32 = 1 << 30;

fn align8(n: u64) -> u64 {
    (n + 7) & !7
}

/// Errors of the log; the pager, which owns the log, wraps them in its own.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("WAL is corrupt at LSN {lsn}: {what}")]
    Corrupt { lsn: Lsn, what: String },
    #[error("WAL page size {found} does not match the database page size {expected}")]
    PageSizeMismatch { found: u32, expected: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct WalHeader {
    page_size: u32,
    generation: u64,
    start_lsn: Lsn,
}

impl WalHeader {
    fn encode(&self) -> [u8; WAL_HEADER_SIZE as usize] {
        let mut b = [0u8; WAL_HEADER_SIZE as usize];
        b[0..8].copy_from_slice(WAL_MAGIC);
        le::put_u32(&mut b, 8, WAL_FORMAT_VERSION);
        le::put_u32(&mut b, 12, self.page_size);
        le::put_u64(&mut b, 16, self.generation);
        le::put_u64(&mut b, 24, self.start_lsn);
        let crc = crc32c::crc32c(&b[0..60]);
        le::put_u32(&mut b, 60, crc);
        b
    }

    /// `None` when the bytes are not a valid header (never written, torn, or
    /// not a NeuralDB WAL).
    fn decode(b: &[u8]) -> Option<WalHeader> {
        if b.len() < WAL_HEADER_SIZE as usize
            || &b[0..8] != WAL_MAGIC
            || le::u32_at(b, 8) != WAL_FORMAT_VERSION
            || le::u32_at(b, 60) != crc32c::crc32c(&b[0..60])
        {
            return None;
        }
        Some(WalHeader {
            page_size: le::u32_at(b, 12),
            generation: le::u64_at(b, 16),
            start_lsn: le::u64_at(b, 24),
        })
    }
}

fn header_crc(generation: u64, h: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&generation.to_le_bytes()), &h[0..28])
}

/// The log writer. Owned by the pager.
pub struct Wal {
    storage: Box<dyn Storage>,
    header: WalHeader,
    /// LSN where the next frame goes.
    end_lsn: Lsn,
    /// Everything before this LSN is durable.
    flushed_lsn: Lsn,
    /// Reused encoding buffer.
    buf: Vec<u8>,
    pub stats: WalStats,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct WalStats {
    pub frames: u64,
    pub bytes: u64,
    pub syncs: u64,
}

/// What [`Wal::open`] found.
pub struct Replay {
    /// Payloads of the complete batches, in log order, with the LSN at the
    /// end of each batch.
    pub batches: Vec<(Lsn, Vec<u8>)>,
}

impl Wal {
    /// Opens the log and reads every complete batch of the current
    /// generation. Reading stops cleanly at a torn or corrupt tail; a bad
    /// frame followed by a frame proving it had been synced is corruption
    /// and an error. `page_size` is the expected page size (a WAL written
    /// with another page size is refused).
    pub fn open(storage: Box<dyn Storage>, page_size: u32) -> Result<(Wal, Replay), WalError> {
        let mut hbuf = [0u8; WAL_HEADER_SIZE as usize];
        read_padded(storage.as_ref(), 0, &mut hbuf)?;
        let header = match WalHeader::decode(&hbuf) {
            Some(h) => {
                if h.page_size != page_size {
                    return Err(WalError::PageSizeMismatch {
                        found: h.page_size,
                        expected: page_size,
                    });
                }
                h
            }
            // No valid header: a new database, or a torn header rewrite at
            // the end of a checkpoint (the data file is then complete).
            None => WalHeader {
                page_size,
                generation: 0,
                start_lsn: 0,
            },
        };
        let mut wal = Wal {
            storage,
            header,
            end_lsn: header.start_lsn,
            flushed_lsn: header.start_lsn,
            buf: Vec::new(),
            stats: WalStats::default(),
        };
        let batches = if header.generation == 0 {
            Vec::new()
        } else {
            wal.read_batches()?
        };
        wal.flushed_lsn = wal.end_lsn;
        Ok((wal, Replay { batches }))
    }

    fn offset_of(&self, lsn: Lsn) -> u64 {
        WAL_HEADER_SIZE + (lsn - self.header.start_lsn)
    }

    /// Reads the frame at `lsn`; `None` if it is not a valid frame of the
    /// current generation.
    fn read_frame(&self, lsn: Lsn, file_len: u64) -> Result<Option<(u32, Vec<u8>, Lsn)>, WalError> {
        let off = self.offset_of(lsn);
        if off + FRAME_HEADER_SIZE as u64 > file_len {
            return Ok(None);
        }
        let mut h = [0u8; FRAME_HEADER_SIZE];
        read_padded(self.storage.as_ref(), off, &mut h)?;
        if !self.frame_header_valid(&h, lsn) {
            return Ok(None);
        }
        let len = le::u32_at(&h, 0);
        let flags = le::u32_at(&h, 4);
        if off + FRAME_HEADER_SIZE as u64 + len as u64 > file_len {
            return Ok(None);
        }
        let mut payload = vec![0u8; len as usize];
        read_padded(
            self.storage.as_ref(),
            off + FRAME_HEADER_SIZE as u64,
            &mut payload,
        )?;
        if crc32c::crc32c(&payload) != le::u32_at(&h, 24) {
            return Ok(None);
        }
        let next = lsn + align8(FRAME_HEADER_SIZE as u64 + len as u64);
        Ok(Some((flags, payload, next)))
    }

    fn frame_header_valid(&self, h: &[u8], lsn: Lsn) -> bool {
        le::u32_at(h, 28) == header_crc(self.header.generation, h)
            && le::u64_at(h, 8) == lsn
            && le::u32_at(h, 0) <= MAX_FRAME_PAYLOAD
    }

    fn read_batches(&mut self) -> Result<Vec<(Lsn, Vec<u8>)>, WalError> {
        let file_len = self.storage.len()?;
        let mut batches = Vec::new();
        let mut lsn = self.header.start_lsn;
        let mut pending: Vec<u8> = Vec::new();
        while let Some((flags, payload, next)) = self.read_frame(lsn, file_len)? {
            pending.extend_from_slice(&payload);
            lsn = next;
            if flags & FLAG_END_OF_BATCH != 0 {
                batches.push((lsn, std::mem::take(&mut pending)));
                self.end_lsn = lsn;
            }
        }
        // `lsn` is the first invalid frame (or the end of the file). If a
        // later valid frame of this generation says the log had been synced
        // past that point, the bad frame is not a torn tail: it is damage.
        self.check_no_synced_frame_after(lsn, file_len)?;
        Ok(batches)
    }

    fn check_no_synced_frame_after(&self, bad_lsn: Lsn, file_len: u64) -> Result<(), WalError> {
        const CHUNK: u64 = 1 << 20;
        let mut off = align8(self.offset_of(bad_lsn) + 8);
        let mut chunk = vec![0u8; CHUNK as usize + FRAME_HEADER_SIZE];
        while off + FRAME_HEADER_SIZE as u64 <= file_len {
            let n = read_padded(self.storage.as_ref(), off, &mut chunk)?;
            let mut i = 0usize;
            while i + FRAME_HEADER_SIZE <= n && (i as u64) < CHUNK {
                let h = &chunk[i..i + FRAME_HEADER_SIZE];
                let lsn = self.header.start_lsn + (off + i as u64 - WAL_HEADER_SIZE);
                if self.frame_header_valid(h, lsn) && le::u64_at(h, 16) > bad_lsn {
                    return Err(WalError::Corrupt {
                        lsn: bad_lsn,
                        what: format!("invalid frame, but the frame at LSN {lsn} was written after it had been synced"),
                    });
                }
                i += 8;
            }
            off += CHUNK;
        }
        Ok(())
    }

    pub fn page_size(&self) -> u32 {
        self.header.page_size
    }

    pub fn end_lsn(&self) -> Lsn {
        self.end_lsn
    }

    pub fn flushed_lsn(&self) -> Lsn {
        self.flushed_lsn
    }

    pub fn generation(&self) -> u64 {
        self.header.generation
    }

    /// Bytes of log written in the current generation.
    pub fn generation_bytes(&self) -> u64 {
        self.end_lsn - self.header.start_lsn
    }

    /// Appends one batch as a single frame with a single write. Returns the
    /// LSN just past it. On error nothing is considered written: the next
    /// append goes to the same position and overwrites any partial bytes.
    pub fn append_batch(&mut self, payload: &[u8]) -> Result<Lsn, StorageError> {
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|&l| l <= MAX_FRAME_PAYLOAD)
            .ok_or_else(|| StorageError::io("write", "WAL batch larger than 1 GiB"))?;
        let total = align8(FRAME_HEADER_SIZE as u64 + len as u64) as usize;
        self.buf.clear();
        self.buf.resize(FRAME_HEADER_SIZE, 0);
        le::put_u32(&mut self.buf, 0, len);
        le::put_u32(&mut self.buf, 4, FLAG_END_OF_BATCH);
        le::put_u64(&mut self.buf, 8, self.end_lsn);
        le::put_u64(&mut self.buf, 16, self.flushed_lsn);
        le::put_u32(&mut self.buf, 24, crc32c::crc32c(payload));
        let hcrc = header_crc(self.header.generation, &self.buf);
        le::put_u32(&mut self.buf, 28, hcrc);
        self.buf.extend_from_slice(payload);
        self.buf.resize(total, 0);
        let off = self.offset_of(self.end_lsn);
        self.storage.write_at(off, &self.buf)?;
        self.end_lsn += total as u64;
        self.stats.frames += 1;
        self.stats.bytes += total as u64;
        Ok(self.end_lsn)
    }

    /// Makes every appended frame durable.
    pub fn sync(&mut self) -> Result<(), StorageError> {
        if self.flushed_lsn == self.end_lsn {
            return Ok(());
        }
        self.storage.sync()?;
        self.stats.syncs += 1;
        self.flushed_lsn = self.end_lsn;
        Ok(())
    }

    /// Positions an empty log after `generation`/`lsn` (taken from the data
    /// file header when the WAL header was lost), so that the next
    /// generation can never be confused with frames already in the file.
    pub fn restart_after(&mut self, generation: u64, lsn: Lsn) {
        self.header.generation = generation;
        self.header.start_lsn = lsn;
        self.end_lsn = lsn;
        self.flushed_lsn = lsn;
    }

    /// Starts a new generation at the current end LSN. Called by a checkpoint
    /// once the data file holds (durably) every change logged so far. The
    /// header write is synced before returning.
    pub fn start_generation(&mut self, shrink_to_zero: bool) -> Result<(), StorageError> {
        self.header = WalHeader {
            page_size: self.header.page_size,
            generation: self.header.generation + 1,
            start_lsn: self.end_lsn,
        };
        if shrink_to_zero {
            self.storage.set_len(WAL_HEADER_SIZE)?;
        }
        self.storage.write_at(0, &self.header.encode())?;
        self.storage.sync()?;
        self.stats.syncs += 1;
        self.flushed_lsn = self.end_lsn;
        Ok(())
    }

    /// Size of the WAL file.
    pub fn file_len(&self) -> Result<u64, StorageError> {
        self.storage.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    fn reopen(bytes: Vec<u8>) -> Result<(Wal, Replay), WalError> {
        Wal::open(Box::new(MemoryStorage::from_bytes(bytes)), 8192)
    }

    /// Builds a WAL with the given batches; returns its bytes.
    fn build(batches: &[&[u8]]) -> Vec<u8> {
        let (mut wal, replay) = Wal::open(Box::new(MemoryStorage::new()), 8192).unwrap();
        assert!(replay.batches.is_empty());
        wal.start_generation(false).unwrap();
        for b in batches {
            wal.append_batch(b).unwrap();
            wal.sync().unwrap();
        }
        let mut out = vec![0u8; wal.file_len().unwrap() as usize];
        wal.storage.read_at(0, &mut out).unwrap();
        out
    }

    #[test]
    fn batches_round_trip() {
        let bytes = build(&[b"one", b"two!", b""]);
        let (wal, replay) = reopen(bytes).unwrap();
        let got: Vec<_> = replay.batches.iter().map(|(_, p)| p.clone()).collect();
        assert_eq!(got, vec![b"one".to_vec(), b"two!".to_vec(), b"".to_vec()]);
        assert_eq!(wal.generation(), 1);
    }

    #[test]
    fn torn_tail_stops_cleanly() {
        let bytes = build(&[b"one", b"two", b"three"]);
        for cut in 0..bytes.len() {
            let (_, replay) = reopen(bytes[..cut].to_vec()).unwrap();
            assert!(replay.batches.len() <= 3);
        }
        // Garbage in the last frame's payload (5 bytes, then 3 of padding):
        // the last batch is dropped.
        let mut b = bytes.clone();
        let n = b.len();
        b[n - 8] ^= 0xFF;
        let (_, replay) = reopen(b).unwrap();
        assert_eq!(replay.batches.len(), 2);
    }

    #[test]
    fn damage_before_a_synced_frame_is_an_error() {
        let bytes = build(&[b"one", b"two", b"three"]);
        let mut b = bytes.clone();
        // Corrupt the first frame's payload; later frames prove it was synced.
        b[WAL_HEADER_SIZE as usize + FRAME_HEADER_SIZE] ^= 0xFF;
        match reopen(b) {
            Err(WalError::Corrupt { lsn, .. }) => assert_eq!(lsn, 0),
            other => panic!(
                "expected corruption, got {:?}",
                other.map(|(_, r)| r.batches.len())
            ),
        }
    }

    #[test]
    fn frames_of_an_older_generation_are_ignored() {
        let (mut wal, _) = Wal::open(Box::new(MemoryStorage::new()), 8192).unwrap();
        wal.start_generation(false).unwrap();
        wal.append_batch(b"old").unwrap();
        wal.sync().unwrap();
        wal.start_generation(false).unwrap();
        let mut out = vec![0u8; wal.file_len().unwrap() as usize];
        wal.storage.read_at(0, &mut out).unwrap();
        let (wal, replay) = reopen(out).unwrap();
        assert!(replay.batches.is_empty());
        assert_eq!(wal.generation(), 2);
    }
}
