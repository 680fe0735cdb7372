//! Page-delta records: the only kind of redo record.
//!
//! The pager logs a page by comparing its current bytes with the bytes as of
//! the page's previous log record (its *base*), and records the byte ranges
//! that differ. The first record of a page in a WAL generation is a full page
//! image, encoded as a delta against an all-zero page (so the empty middle of
//! a slotted page costs nothing). Replay starts every page from that image,
//! which is what repairs a torn data-page write.
//!
//! Layout of one record (little-endian):
//! ```text
//! u8  tag          1 = delta against previous state, 2 = full image (delta against zeros)
//! u32 page id
//! u16 range count
//! per range: u16 offset, u16 length, bytes
//! ```

use crate::util::le;

pub const TAG_DELTA: u8 = 1;
pub const TAG_IMAGE: u8 = 2;

/// Ranges that differ by less than this many bytes are merged: a range
/// header costs 4 bytes, so tiny gaps are cheaper to log than to skip.
const MERGE_GAP: usize = 8;
// `range_end` relies on it: two bytes of one word are at most 7 apart.
const _: () = assert!(MERGE_GAP >= 7);

/// Appends the record describing the change from `base` (or from an all-zero
/// page when `base` is `None`: a full image) to `cur`. Returns false, and
/// appends nothing, when a delta would be empty.
pub fn encode_page(out: &mut Vec<u8>, page: u32, base: Option<&[u8]>, cur: &[u8]) -> bool {
    let start = out.len();
    out.push(if base.is_some() { TAG_DELTA } else { TAG_IMAGE });
    out.extend_from_slice(&page.to_le_bytes());
    let count_at = out.len();
    out.extend_from_slice(&[0, 0]);
    let mut count: u16 = 0;
    let mut next = first_difference(base, cur, 0);
    while let Some(range_start) = next {
        let range_end = range_end(base, cur, range_start);
        next = first_difference(base, cur, range_end);
        out.extend_from_slice(&(range_start as u16).to_le_bytes());
        out.extend_from_slice(&((range_end - range_start) as u16).to_le_bytes());
        out.extend_from_slice(&cur[range_start..range_end]);
        count += 1;
    }
    if count == 0 && base.is_some() {
        out.truncate(start);
        return false;
    }
    out[count_at..count_at + 2].copy_from_slice(&count.to_le_bytes());
    true
}

/// The XOR of the eight bytes at `i` of `cur` and of `base` (zeros when
/// `None`): its zero bytes are the equal ones, the lowest byte first.
fn xor_word(base: Option<&[u8]>, cur: &[u8], i: usize) -> u64 {
    let word = |b: &[u8]| u64::from_le_bytes(b[i..i + 8].try_into().expect("eight bytes"));
    word(cur) ^ base.map_or(0, word)
}

fn byte_differs(base: Option<&[u8]>, cur: &[u8], i: usize) -> bool {
    cur[i] != base.map_or(0, |b| b[i])
}

/// Whether `cur` equals `base` (zeros when `None`) in `n` bytes at `i`:
/// one memcmp, or one OR over the bytes (both vectorised).
fn block_equal(base: Option<&[u8]>, cur: &[u8], i: usize, n: usize) -> bool {
    match base {
        Some(b) => cur[i..i + n] == b[i..i + n],
        None => cur[i..i + n].iter().fold(0u8, |acc, &x| acc | x) == 0,
    }
}

/// The first offset at or after `from` where `cur` differs from `base`:
/// equal 64-byte blocks are skipped whole (most of a changed page, and of
/// a freshly initialised one, is the same as before), then eight bytes at
/// a time.
fn first_difference(base: Option<&[u8]>, cur: &[u8], from: usize) -> Option<usize> {
    const BLOCK: usize = 64;
    let mut i = from;
    while i + BLOCK <= cur.len() && block_equal(base, cur, i, BLOCK) {
        i += BLOCK;
    }
    while i + 8 <= cur.len() {
        let x = xor_word(base, cur, i);
        if x != 0 {
            return Some(i + (x.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    (i..cur.len()).find(|&j| byte_differs(base, cur, j))
}

/// The end of the range that starts at the difference `start`: it takes
/// in every later difference less than `MERGE_GAP` bytes past the one
/// before it. Eight bytes at a time: within a word any two differences
/// are closer than `MERGE_GAP`, so a word's first difference decides.
fn range_end(base: Option<&[u8]>, cur: &[u8], start: usize) -> usize {
    let mut last_diff = start;
    let mut j = start + 1;
    while j < cur.len() && j - last_diff <= MERGE_GAP {
        if j + 8 <= cur.len() {
            let x = xor_word(base, cur, j);
            if x != 0 {
                let first = j + (x.trailing_zeros() / 8) as usize;
                if first - last_diff > MERGE_GAP {
                    break;
                }
                last_diff = j + 7 - (x.leading_zeros() / 8) as usize;
            }
            j += 8;
        } else {
            if byte_differs(base, cur, j) {
                last_diff = j;
            }
            j += 1;
        }
    }
    last_diff + 1
}

/// One decoded record, borrowing its ranges from the payload.
#[derive(Debug)]
pub struct PageRecord<'a> {
    pub page: u32,
    pub full_image: bool,
    ranges: &'a [u8],
    count: u16,
}

impl PageRecord<'_> {
    /// Applies the record to `page_buf`. Fails (without a partial result
    /// being meaningful) if a range does not fit the page.
    pub fn apply(&self, page_buf: &mut [u8]) -> Result<(), String> {
        if self.full_image {
            page_buf.fill(0);
        }
        let mut pos = 0;
        for _ in 0..self.count {
            if pos + 4 > self.ranges.len() {
                return Err("range header past end of record".into());
            }
            let off = le::u16_at(self.ranges, pos) as usize;
            let len = le::u16_at(self.ranges, pos + 2) as usize;
            pos += 4;
            if pos + len > self.ranges.len() || off + len > page_buf.len() {
                return Err(format!("range {off}+{len} out of bounds"));
            }
            page_buf[off..off + len].copy_from_slice(&self.ranges[pos..pos + len]);
            pos += len;
        }
        Ok(())
    }
}

/// Splits a batch payload into its records, validating their framing.
pub fn decode_batch(payload: &[u8]) -> Result<Vec<PageRecord<'_>>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < payload.len() {
        if pos + 7 > payload.len() {
            return Err("truncated record header".into());
        }
        let tag = payload[pos];
        if tag != TAG_DELTA && tag != TAG_IMAGE {
            return Err(format!("unknown record tag {tag}"));
        }
        let page = le::u32_at(payload, pos + 1);
        let count = le::u16_at(payload, pos + 5);
        let body = pos + 7;
        let mut end = body;
        for _ in 0..count {
            if end + 4 > payload.len() {
                return Err("truncated range".into());
            }
            end += 4 + le::u16_at(payload, end + 2) as usize;
        }
        if end > payload.len() {
            return Err("range past end of batch".into());
        }
        out.push(PageRecord {
            page,
            full_image: tag == TAG_IMAGE,
            ranges: &payload[body..end],
            count,
        });
        pos = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::Rng;

    fn roundtrip(base: Option<&[u8]>, cur: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if !encode_page(&mut out, 9, base, cur) {
            return base.expect("only deltas can be empty").to_vec();
        }
        let recs = decode_batch(&out).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].page, 9);
        let mut page = base
            .map(|b| b.to_vec())
            .unwrap_or_else(|| vec![0xAA; cur.len()]);
        recs[0].apply(&mut page).unwrap();
        page
    }

    /// The byte-at-a-time encoder `encode_page` replaced: the records
    /// must stay byte for byte the same.
    fn encode_bytewise(out: &mut Vec<u8>, page: u32, base: Option<&[u8]>, cur: &[u8]) -> bool {
        let start = out.len();
        out.push(if base.is_some() { TAG_DELTA } else { TAG_IMAGE });
        out.extend_from_slice(&page.to_le_bytes());
        let count_at = out.len();
        out.extend_from_slice(&[0, 0]);
        let mut count: u16 = 0;
        let differs = |i: usize| base.map_or(0, |b| b[i]) != cur[i];
        let mut i = 0;
        while i < cur.len() {
            if !differs(i) {
                i += 1;
                continue;
            }
            let mut last_diff = i;
            let mut j = i + 1;
            while j < cur.len() && j - last_diff <= MERGE_GAP {
                if differs(j) {
                    last_diff = j;
                }
                j += 1;
            }
            out.extend_from_slice(&(i as u16).to_le_bytes());
            out.extend_from_slice(&((last_diff + 1 - i) as u16).to_le_bytes());
            out.extend_from_slice(&cur[i..last_diff + 1]);
            count += 1;
            i = last_diff + 1;
        }
        if count == 0 && base.is_some() {
            out.truncate(start);
            return false;
        }
        out[count_at..count_at + 2].copy_from_slice(&count.to_le_bytes());
        true
    }

    #[test]
    fn word_encoder_matches_the_bytewise_one() {
        let mut rng = Rng::new(7);
        for round in 0..400 {
            // Odd lengths too: the tail after the last whole word.
            let len = [8192, 1024, 1001, 17, 8][round % 5];
            let mut base = vec![0u8; len];
            for _ in 0..rng.below(30) {
                let i = rng.below(len as u64) as usize;
                base[i] = rng.next_u64() as u8;
            }
            let mut cur = base.clone();
            for _ in 0..rng.below(60) {
                let i = rng.below(len as u64) as usize;
                cur[i] = rng.next_u64() as u8;
            }
            // Dense stretches where equal and differing bytes alternate
            // at every distance (a page of rows, a rewritten page).
            for _ in 0..rng.below(4) {
                let at = rng.below(len as u64) as usize;
                let end = (at + rng.below(700) as usize).min(len);
                for c in &mut cur[at..end] {
                    *c = (rng.below(3)) as u8;
                }
            }
            for b in [Some(base.as_slice()), None] {
                let (mut fast, mut slow) = (Vec::new(), Vec::new());
                let a = encode_page(&mut fast, 3, b, &cur);
                let s = encode_bytewise(&mut slow, 3, b, &cur);
                assert_eq!((a, &fast), (s, &slow), "round {round}");
            }
        }
    }

    #[test]
    fn random_deltas_reproduce_the_page() {
        let mut rng = Rng::new(42);
        for _ in 0..200 {
            let mut base = vec![0u8; 8192];
            for _ in 0..rng.below(50) {
                let i = rng.below(8192) as usize;
                base[i] = rng.next_u64() as u8;
            }
            let mut cur = base.clone();
            for _ in 0..rng.below(40) {
                let i = rng.below(8192) as usize;
                let len = (rng.below(100) as usize).min(8192 - i);
                for b in &mut cur[i..i + len] {
                    *b = rng.next_u64() as u8;
                }
            }
            assert_eq!(roundtrip(Some(&base), &cur), cur);
            assert_eq!(roundtrip(None, &cur), cur);
        }
    }

    #[test]
    fn unchanged_page_logs_nothing_and_image_skips_zeros() {
        let page = vec![0u8; 8192];
        let mut out = Vec::new();
        assert!(!encode_page(&mut out, 1, Some(&page), &page));
        assert!(out.is_empty());
        let mut cur = page.clone();
        cur[100] = 1;
        cur[8000] = 2;
        assert!(encode_page(&mut out, 1, None, &cur));
        assert!(out.len() < 32, "image of a mostly empty page is small");
    }

    #[test]
    fn malformed_payloads_are_errors() {
        assert!(decode_batch(&[9, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(decode_batch(&[1, 0, 0, 0, 0, 1, 0, 0, 0, 200, 0]).is_err());
        let mut out = Vec::new();
        encode_page(&mut out, 1, None, &[1u8; 64]);
        let recs = decode_batch(&out).unwrap();
        assert!(recs[0].apply(&mut [0u8; 16]).is_err());
    }
}
