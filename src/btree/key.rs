//! Order-preserving ("memcomparable") encoding of composite index keys.
//!
//! The B+tree compares keys with `memcmp`. This module turns a tuple of SQL
//! values into bytes whose byte-wise order equals PostgreSQL's ordering of
//! the tuples, column by column:
//!
//! - ascending columns sort values ascending with NULLS LAST (PostgreSQL's
//!   default for `ASC`);
//! - descending columns invert every byte of the column's encoding, which
//!   reverses its order and therefore puts NULLs first (PostgreSQL's default
//!   for `DESC`).
//!
//! Per-column encoding (before any DESC inversion):
//! ```text
//! Bool   0x10, then 0x00 (false) or 0x01 (true)
//! Int    0x20, then (v as u64 ^ 1<<63) big-endian: 8 bytes
//! Float  0x30, then 8 bytes big-endian of the order-mapped IEEE bits
//!        (-0.0 is encoded as 0.0; every NaN as one NaN above +inf)
//! Text   0x40, then the UTF-8 bytes with 0x00 escaped as 0x00 0xFF,
//!        terminated by 0x00 0x00
//! Bytes  0x50, then the bytes escaped and terminated like Text
//! NULL   0xF0 (above every value tag: NULLS LAST)
//! ```
//! Every column encoding is self-delimiting, so no encoding is a proper
//! prefix of another; that is what makes inversion exactly reverse the order
//! and what makes comparison of composite keys proceed column by column.
//!
//! Text compares by its UTF-8 bytes, i.e. like PostgreSQL's `C` collation
//! (which for UTF-8 equals code point order). Values of different types in
//! one column order by type tag; the SQL layer gives a column one type
//! (all integer widths are `Int`, so int2/int4/int8 keys compare correctly).

use std::cmp::Ordering;
use std::fmt;

const TAG_BOOL: u8 = 0x10;
const TAG_INT: u8 = 0x20;
const TAG_FLOAT: u8 = 0x30;
const TAG_TEXT: u8 = 0x40;
const TAG_BYTES: u8 = 0x50;
const TAG_NULL: u8 = 0xF0;

/// One column value of an index key.
#[derive(Clone, Debug)]
pub enum KeyValue {
    Null,
    Bool(bool),
    /// Every integer width (int2, int4, int8).
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl KeyValue {
    fn tag(&self) -> u8 {
        match self {
            KeyValue::Null => TAG_NULL,
            KeyValue::Bool(_) => TAG_BOOL,
            KeyValue::Int(_) => TAG_INT,
            KeyValue::Float(_) => TAG_FLOAT,
            KeyValue::Text(_) => TAG_TEXT,
            KeyValue::Bytes(_) => TAG_BYTES,
        }
    }

    /// The ordering the encoding implements for one ascending column:
    /// PostgreSQL's, with NULLS LAST, NaN above +inf and -0.0 == 0.0;
    /// values of different types order by type tag.
    pub fn sql_cmp(&self, other: &KeyValue) -> Ordering {
        use KeyValue::*;
        match (self, other) {
            (Bool(a), Bool(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => float_key(*a).cmp(&float_key(*b)),
            (Text(a), Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Bytes(a), Bytes(b)) => a.cmp(b),
            _ => self.tag().cmp(&other.tag()),
        }
    }
}

/// Equality as the index sees it (the same relation as [`KeyValue::sql_cmp`]).
impl PartialEq for KeyValue {
    fn eq(&self, other: &KeyValue) -> bool {
        self.sql_cmp(other) == Ordering::Equal
    }
}

/// Maps a float to a u64 whose unsigned order is the SQL order of floats.
fn float_key(f: f64) -> u64 {
    let f = if f == 0.0 {
        0.0 // folds -0.0 into 0.0
    } else if f.is_nan() {
        f64::NAN // one canonical (positive, quiet) NaN: above +inf
    } else {
        f
    };
    let bits = f.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

fn float_from_key(k: u64) -> f64 {
    let bits = if k >> 63 == 1 { k & !(1 << 63) } else { !k };
    f64::from_bits(bits)
}

fn put_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// Appends the encoding of one column to `out`.
pub fn encode_value(out: &mut Vec<u8>, value: &KeyValue, descending: bool) {
    let start = out.len();
    out.push(value.tag());
    match value {
        KeyValue::Null => {}
        KeyValue::Bool(b) => out.push(u8::from(*b)),
        KeyValue::Int(v) => out.extend_from_slice(&((*v as u64) ^ (1 << 63)).to_be_bytes()),
        KeyValue::Float(f) => out.extend_from_slice(&float_key(*f).to_be_bytes()),
        KeyValue::Text(s) => put_escaped(out, s.as_bytes()),
        KeyValue::Bytes(b) => put_escaped(out, b),
    }
    if descending {
        for b in &mut out[start..] {
            *b = !*b;
        }
    }
}

/// [`encode_value`] of `KeyValue::Text` for borrowed bytes (no copy into
/// a `String` first).
pub fn encode_text(out: &mut Vec<u8>, text: &[u8], descending: bool) {
    let start = out.len();
    out.push(TAG_TEXT);
    put_escaped(out, text);
    if descending {
        for b in &mut out[start..] {
            *b = !*b;
        }
    }
}

/// Encodes a composite key. `descending[i]` says whether column `i` is
/// `DESC`; missing entries mean `ASC`. Byte-wise comparison of two results
/// (with the same `descending`) equals the column-by-column SQL comparison.
/// (Tests build keys with it; the engine encodes values directly, see
/// `value::index_key::encode_index_key`.)
#[cfg(test)]
pub fn encode_key(values: &[KeyValue], descending: &[bool]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, v) in values.iter().enumerate() {
        encode_value(&mut out, v, descending.get(i).copied().unwrap_or(false));
    }
    out
}

/// Why a byte string is not a valid key encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDecodeError(pub &'static str);

impl fmt::Display for KeyDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed index key: {}", self.0)
    }
}

impl std::error::Error for KeyDecodeError {}

/// Reads bytes of one column, undoing the DESC inversion.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    invert: u8,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, KeyDecodeError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or(KeyDecodeError("truncated"))?;
        self.pos += 1;
        Ok(b ^ self.invert)
    }

    fn u64(&mut self) -> Result<u64, KeyDecodeError> {
        let mut v = 0u64;
        for _ in 0..8 {
            v = v << 8 | u64::from(self.byte()?);
        }
        Ok(v)
    }

    fn escaped(&mut self) -> Result<Vec<u8>, KeyDecodeError> {
        let mut out = Vec::new();
        loop {
            let b = self.byte()?;
            if b != 0 {
                out.push(b);
                continue;
            }
            match self.byte()? {
                0 => return Ok(out),
                0xFF => out.push(0),
                _ => return Err(KeyDecodeError("bad escape after 0x00")),
            }
        }
    }
}

/// Decodes the first `descending.len()` columns of `bytes`. Returns the
/// values and the number of bytes they took (the rest, e.g. a heap TID
/// appended by a non-unique index, is left to the caller).
pub fn decode_key(
    bytes: &[u8],
    descending: &[bool],
) -> Result<(Vec<KeyValue>, usize), KeyDecodeError> {
    let mut values = Vec::with_capacity(descending.len());
    let mut pos = 0;
    for &desc in descending {
        let mut r = Reader {
            bytes,
            pos,
            invert: if desc { 0xFF } else { 0 },
        };
        let v = match r.byte()? {
            TAG_NULL => KeyValue::Null,
            TAG_BOOL => match r.byte()? {
                0 => KeyValue::Bool(false),
                1 => KeyValue::Bool(true),
                _ => return Err(KeyDecodeError("bad bool")),
            },
            TAG_INT => KeyValue::Int((r.u64()? ^ (1 << 63)) as i64),
            TAG_FLOAT => KeyValue::Float(float_from_key(r.u64()?)),
            TAG_TEXT => KeyValue::Text(
                String::from_utf8(r.escaped()?).map_err(|_| KeyDecodeError("text is not UTF-8"))?,
            ),
            TAG_BYTES => KeyValue::Bytes(r.escaped()?),
            _ => return Err(KeyDecodeError("unknown type tag")),
        };
        values.push(v);
        pos = r.pos;
    }
    Ok((values, pos))
}

/// The smallest byte string greater than every string that starts with
/// `prefix`, or `None` when there is none (the prefix is all 0xFF). Used as
/// the exclusive upper bound of a prefix scan.
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last != 0xFF {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::Rng;

    fn random_value(rng: &mut Rng, ty: u64) -> KeyValue {
        if rng.chance(10) {
            return KeyValue::Null;
        }
        match ty {
            0 => KeyValue::Bool(rng.chance(50)),
            1 => KeyValue::Int(match rng.below(4) {
                0 => rng.below(7) as i64 - 3,
                1 => [i64::MIN, i64::MAX, i64::MIN + 1, i64::MAX - 1][rng.below(4) as usize],
                _ => rng.next_u64() as i64,
            }),
            2 => KeyValue::Float(match rng.below(4) {
                0 => [
                    0.0,
                    -0.0,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::NAN,
                    -f64::NAN,
                    f64::MIN_POSITIVE,
                    -f64::MIN_POSITIVE,
                    f64::MAX,
                    f64::MIN,
                    5e-324,
                ][rng.below(11) as usize],
                1 => rng.below(7) as f64 - 3.0,
                _ => f64::from_bits(rng.next_u64()),
            }),
            3 => {
                let s: String = (0..rng.below(5))
                    .map(|_| ['\0', 'a', 'b', '\u{ff}', '\u{1F600}'][rng.below(5) as usize])
                    .collect();
                KeyValue::Text(s)
            }
            _ => KeyValue::Bytes(
                (0..rng.below(5))
                    .map(|_| [0u8, 1, 0xFE, 0xFF][rng.below(4) as usize])
                    .collect(),
            ),
        }
    }

    /// The PostgreSQL ordering of a column, including DESC (nulls first).
    fn column_cmp(a: &KeyValue, b: &KeyValue, desc: bool) -> Ordering {
        let o = a.sql_cmp(b);
        if desc {
            o.reverse()
        } else {
            o
        }
    }

    #[test]
    fn encoding_order_matches_sql_order() {
        let mut rng = Rng::new(7);
        for _ in 0..20_000 {
            let ncols = 1 + rng.below(3) as usize;
            let types: Vec<u64> = (0..ncols).map(|_| rng.below(5)).collect();
            let desc: Vec<bool> = (0..ncols).map(|_| rng.chance(40)).collect();
            let a: Vec<KeyValue> = types.iter().map(|&t| random_value(&mut rng, t)).collect();
            let b: Vec<KeyValue> = types.iter().map(|&t| random_value(&mut rng, t)).collect();
            let expected = a
                .iter()
                .zip(&b)
                .zip(&desc)
                .map(|((x, y), &d)| column_cmp(x, y, d))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal);
            let (ea, eb) = (encode_key(&a, &desc), encode_key(&b, &desc));
            assert_eq!(ea.cmp(&eb), expected, "{a:?} vs {b:?} desc {desc:?}");
            let (back, used) = decode_key(&ea, &desc).unwrap();
            assert_eq!(used, ea.len());
            assert_eq!(back, a);
        }
    }

    #[test]
    fn specific_orderings() {
        let enc = |v: KeyValue| encode_key(&[v], &[]);
        let f = |x: f64| enc(KeyValue::Float(x));
        assert_eq!(f(-0.0), f(0.0));
        assert!(f(f64::NEG_INFINITY) < f(-1.0));
        assert!(f(f64::INFINITY) < f(f64::NAN));
        assert_eq!(f(f64::NAN), f(-f64::NAN));
        assert!(f(f64::NAN) < enc(KeyValue::Null), "NULLS LAST");
        assert!(enc(KeyValue::Int(-1)) < enc(KeyValue::Int(0)));
        let t = |s: &str| enc(KeyValue::Text(s.into()));
        assert!(t("a") < t("a\0"));
        assert!(t("a\0") < t("a\0\0"));
        assert!(t("a\0\0") < t("ab"));
        // Borrowed text encodes as owned text does, either direction.
        for (s, desc) in [
            ("", false),
            ("a\0b", false),
            ("héllo", true),
            ("\0\0", true),
        ] {
            let mut borrowed = Vec::new();
            encode_text(&mut borrowed, s.as_bytes(), desc);
            assert_eq!(borrowed, encode_key(&[KeyValue::Text(s.into())], &[desc]));
        }
        // Column by column: ("a", 2) < ("ab", 1) although "a" is a prefix.
        let two = |s: &str, i: i64| encode_key(&[KeyValue::Text(s.into()), KeyValue::Int(i)], &[]);
        assert!(two("a", 2) < two("ab", 1));
        // DESC puts NULLs first.
        let d = |v: KeyValue| encode_key(&[v], &[true]);
        assert!(d(KeyValue::Null) < d(KeyValue::Int(i64::MAX)));
        assert!(d(KeyValue::Int(2)) < d(KeyValue::Int(1)));
        // Decoded -0.0 comes back as 0.0 and NaN as NaN.
        let (v, _) = decode_key(&f(-0.0), &[false]).unwrap();
        assert!(matches!(v[0], KeyValue::Float(x) if x == 0.0 && x.is_sign_positive()));
        let (v, _) = decode_key(&f(f64::NAN), &[false]).unwrap();
        assert!(matches!(v[0], KeyValue::Float(x) if x.is_nan()));
    }

    #[test]
    fn decode_rejects_garbage_without_panicking() {
        let mut rng = Rng::new(3);
        for _ in 0..5000 {
            let bytes: Vec<u8> = (0..rng.below(12)).map(|_| rng.next_u64() as u8).collect();
            let _ = decode_key(&bytes, &[false, true]);
        }
        assert!(decode_key(&[TAG_INT, 1, 2], &[false]).is_err());
        assert!(decode_key(&[TAG_TEXT, b'a', 0, 7], &[false]).is_err());
        assert!(decode_key(&[0x99], &[false]).is_err());
    }

    #[test]
    fn prefix_successor_bounds_prefix() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xFF, 0xFF]), None);
        assert_eq!(prefix_successor(&[]), None);
    }
}
