//! `bit(n)` strings and pgvector's binary vectors: `binary_quantize`,
//! Hamming and Jaccard distances, and `halfvec`'s f16 rounding.

use crate::error::{SqlError, SqlState};

/// A bit string: `len` bits, most significant bit of `bytes[0]` first;
/// the unused low bits of the last byte are zero (so equal strings have
/// equal bytes).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BitString {
    pub len: u32,
    pub bytes: Vec<u8>,
}

/// pgvector's limit for `bit` columns it indexes is 64,000; PostgreSQL's
/// own for bit strings is far larger. We keep PostgreSQL's.
pub const MAX_BITS: usize = 83_886_080;

impl BitString {
    pub fn get(&self, i: usize) -> bool {
        self.bytes[i / 8] & (0x80 >> (i % 8)) != 0
    }

    pub fn from_bools(bits: impl ExactSizeIterator<Item = bool>) -> BitString {
        let len = bits.len();
        let mut bytes = vec![0u8; len.div_ceil(8)];
        for (i, b) in bits.enumerate() {
            if b {
                bytes[i / 8] |= 0x80 >> (i % 8);
            }
        }
        BitString {
            len: len as u32,
            bytes,
        }
    }

    /// From packed bytes, `len` bits of them (clearing the bits past
    /// `len`).
    pub fn from_bytes(mut bytes: Vec<u8>, len: usize) -> BitString {
        bytes.resize(len.div_ceil(8), 0);
        if !len.is_multiple_of(8) {
            if let Some(last) = bytes.last_mut() {
                *last &= 0xFFu8 << (8 - len % 8);
            }
        }
        BitString {
            len: len as u32,
            bytes,
        }
    }

    /// `bit_in`: a string of `0` and `1`, or `x`/`X` followed by hex digits.
    pub fn parse(text: &str) -> Result<BitString, SqlError> {
        if let Some(hex) = text.strip_prefix(['x', 'X']) {
            let mut bits = Vec::with_capacity(hex.len() * 4);
            for c in hex.chars() {
                let d = c.to_digit(16).ok_or_else(|| {
                    SqlError::new(
                        SqlState::INVALID_TEXT_REPRESENTATION,
                        format!("\"{c}\" is not a valid hexadecimal digit"),
                    )
                })?;
                bits.extend((0..4).rev().map(|k| d >> k & 1 == 1));
            }
            return Ok(Self::from_bools(bits.into_iter()));
        }
        let mut bits = Vec::with_capacity(text.len());
        for c in text.chars() {
            bits.push(match c {
                '0' => false,
                '1' => true,
                _ => {
                    return Err(SqlError::new(
                        SqlState::INVALID_TEXT_REPRESENTATION,
                        format!("\"{c}\" is not a valid binary digit"),
                    ))
                }
            });
        }
        if bits.len() > MAX_BITS {
            return Err(SqlError::new(
                SqlState::PROGRAM_LIMIT_EXCEEDED,
                format!("bit string length exceeds the maximum allowed ({MAX_BITS})"),
            ));
        }
        Ok(Self::from_bools(bits.into_iter()))
    }

    pub fn format(&self) -> String {
        (0..self.len as usize)
            .map(|i| if self.get(i) { '1' } else { '0' })
            .collect()
    }

    /// Assignment to `bit(n)`: the length must match (22026).
    pub fn check_len(&self, n: u32) -> Result<(), SqlError> {
        if self.len != n {
            return Err(SqlError::new(
                SqlState::STRING_DATA_LENGTH_MISMATCH,
                format!(
                    "bit string length {} does not match type bit({n})",
                    self.len
                ),
            ));
        }
        Ok(())
    }

    /// An explicit cast to `bit(n)`: truncated or zero-padded on the right.
    pub fn resized(&self, n: u32) -> BitString {
        Self::from_bytes(self.bytes.clone(), n as usize)
    }

    /// PostgreSQL's `bitcmp`: bitwise over the common length, then the
    /// shorter string first.
    pub fn cmp_bits(&self, other: &BitString) -> std::cmp::Ordering {
        let common = self.len.min(other.len) as usize;
        let full = common / 8;
        let o = self.bytes[..full].cmp(&other.bytes[..full]);
        if o.is_ne() {
            return o;
        }
        if !common.is_multiple_of(8) {
            let mask = 0xFFu8 << (8 - common % 8);
            let o = (self.bytes[full] & mask).cmp(&(other.bytes[full] & mask));
            if o.is_ne() {
                return o;
            }
        }
        self.len.cmp(&other.len)
    }

    pub fn count_ones(&self) -> u64 {
        self.bytes.iter().map(|b| u64::from(b.count_ones())).sum()
    }

    /// `&`, `|`, `#`: both operands the same length (22026 otherwise).
    pub fn bitwise(&self, other: &BitString, op: char) -> Result<BitString, SqlError> {
        if self.len != other.len {
            let verb = match op {
                '&' => "AND",
                '|' => "OR",
                _ => "XOR",
            };
            return Err(SqlError::new(
                SqlState::STRING_DATA_LENGTH_MISMATCH,
                format!("cannot {verb} bit strings of different sizes"),
            ));
        }
        let bytes = self
            .bytes
            .iter()
            .zip(&other.bytes)
            .map(|(a, b)| match op {
                '&' => a & b,
                '|' => a | b,
                _ => a ^ b,
            })
            .collect();
        Ok(BitString {
            len: self.len,
            bytes,
        })
    }

    /// `~`.
    pub fn not(&self) -> BitString {
        Self::from_bytes(self.bytes.iter().map(|b| !b).collect(), self.len as usize)
    }
}

fn check_same_len(a: &BitString, b: &BitString) -> Result<(), SqlError> {
    if a.len != b.len {
        return Err(SqlError::new(
            SqlState::DATA_EXCEPTION,
            format!("different bit lengths {} and {}", a.len, b.len),
        ));
    }
    Ok(())
}

/// pgvector's `hamming_distance` / `<~>`.
pub fn hamming_distance(a: &BitString, b: &BitString) -> Result<f64, SqlError> {
    check_same_len(a, b)?;
    Ok(a.bytes
        .iter()
        .zip(&b.bytes)
        .map(|(x, y)| f64::from((x ^ y).count_ones()))
        .sum())
}

/// pgvector's `jaccard_distance` / `<%>`: 1 - |a ∧ b| / |a ∨ b| (0 for
/// two all-zero strings).
pub fn jaccard_distance(a: &BitString, b: &BitString) -> Result<f64, SqlError> {
    check_same_len(a, b)?;
    let (mut and, mut or) = (0u64, 0u64);
    for (x, y) in a.bytes.iter().zip(&b.bytes) {
        and += u64::from((x & y).count_ones());
        or += u64::from((x | y).count_ones());
    }
    if or == 0 {
        return Ok(0.0);
    }
    Ok(1.0 - and as f64 / or as f64)
}

/// pgvector's `binary_quantize`: one bit per element, set where it is > 0.
pub fn binary_quantize(v: &[f32]) -> BitString {
    BitString::from_bools(v.iter().map(|&x| x > 0.0))
}

/// A `halfvec` element: `x` rounded to f16, or 22003 when out of its
/// range (pgvector's error).
pub fn to_half(x: f32) -> Result<f32, SqlError> {
    let h = half::f16::from_f32(x);
    if h.is_infinite() && x.is_finite() {
        return Err(SqlError::new(
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("\"{x}\" is out of range for type halfvec"),
        ));
    }
    Ok(h.to_f32())
}

/// f32 elements rounded to f16 (see [`to_half`]).
pub fn to_halfvec(v: &[f32]) -> Result<Vec<f32>, SqlError> {
    v.iter().map(|&x| to_half(x)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_errors() {
        let b = BitString::parse("10110").unwrap();
        assert_eq!(b.len, 5);
        assert_eq!(b.bytes, vec![0b1011_0000]);
        assert_eq!(b.format(), "10110");
        assert_eq!(BitString::parse("x1F").unwrap().format(), "00011111");
        assert_eq!(
            BitString::parse("102").unwrap_err().code,
            SqlState::INVALID_TEXT_REPRESENTATION
        );
        assert_eq!(b.resized(3).format(), "101");
        assert_eq!(b.resized(7).format(), "1011000");
        assert_eq!(b.not().format(), "01001");
        assert_eq!(b.not().bytes, vec![0b0100_1000]);
    }

    #[test]
    fn distances_match_pgvector() {
        // pgvector test/expected/bit.out
        let p = |s| BitString::parse(s).unwrap();
        assert_eq!(hamming_distance(&p("111"), &p("111")).unwrap(), 0.0);
        assert_eq!(hamming_distance(&p("111"), &p("110")).unwrap(), 1.0);
        assert_eq!(hamming_distance(&p("111"), &p("100")).unwrap(), 2.0);
        assert_eq!(hamming_distance(&p("111"), &p("000")).unwrap(), 3.0);
        assert!(hamming_distance(&p(""), &p("111")).is_err());
        assert_eq!(jaccard_distance(&p("1111"), &p("1111")).unwrap(), 0.0);
        assert_eq!(jaccard_distance(&p("1111"), &p("1110")).unwrap(), 0.25);
        assert_eq!(jaccard_distance(&p("1111"), &p("1100")).unwrap(), 0.5);
        assert_eq!(jaccard_distance(&p("1111"), &p("1000")).unwrap(), 0.75);
        assert_eq!(jaccard_distance(&p("1111"), &p("0000")).unwrap(), 1.0);
        assert_eq!(jaccard_distance(&p("0000"), &p("0000")).unwrap(), 0.0);
        assert_eq!(binary_quantize(&[1.0, -2.0, 3.0, 0.0]).format(), "1010");
    }

    #[test]
    fn half_rounding() {
        assert_eq!(to_half(1.5).unwrap(), 1.5);
        assert_eq!(to_half(65504.0).unwrap(), 65504.0);
        assert_eq!(
            to_half(65520.0).unwrap_err().code,
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE
        );
        assert!((to_half(0.1).unwrap() - 0.1).abs() < 1e-4);
    }
}
