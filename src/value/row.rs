//! The on-disk row format.
//!
//! ```text
//! row     := ncols:u16le  null_bitmap[ceil(ncols/8)]  value*
//! value   := (one per non-NULL column, in column order, typed by the schema)
//!   bool                 1 byte (0/1)
//!   int2/int4/int8       2/4/8 bytes little-endian
//!   float4/float8        4/8 bytes little-endian IEEE
//!   date                 i32le days; timestamp(tz) i64le micros
//!   interval             months:i32le days:i32le micros:i64le
//!   uuid                 16 bytes
//!   text/bytea           len:u32le bytes (text is UTF-8)
//!   numeric              len:u32le canonical text ("1.50", "NaN")
//!   jsonb                len:u32le compact JSON text
//!   vector               dims:u32le f32le*dims
//!   array                count:u32le (tag:u8 [value])*  tag 0 NULL, 1 element,
//!                        2 nested array (a further dimension)
//! ```
//! Bit `i % 8` of bitmap byte `i / 8` set means column `i` is NULL.
//!
//! Values must already have their column's type (use
//! [`cast_assignment`](super::cast::cast_assignment) before encoding): the
//! format stores no per-value type tags. Rows stored before an
//! `ALTER TABLE ADD COLUMN` have fewer columns; [`decode_row`] returns NULL
//! for the missing trailing ones and the caller substitutes defaults.

use super::json::{format_jsonb, parse_jsonb};
use super::numeric::{format_numeric, parse_numeric};
use super::types::DataType;
use super::vector::ElementFormat;
use super::{Interval, Value};
use crate::error::{SqlError, SqlState};

fn corrupt(what: &str) -> SqlError {
    SqlError::new(
        SqlState::DATA_CORRUPTED,
        format!("invalid row data: {what}"),
    )
}

fn put_varlena(out: &mut Vec<u8>, bytes: &[u8]) {
    // Values are bounded far below 4 GiB by the page/overflow layer; a
    // longer one would be truncated in the length, so saturate to keep the
    // encoding self-consistent (decode then reports corruption).
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
}

fn encode_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => {}
        Value::Bool(b) => out.push(u8::from(*b)),
        Value::Int2(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Int4(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Int8(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Float4(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Float8(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Numeric(n) => put_varlena(out, format_numeric(n).as_bytes()),
        Value::Text(s) => put_varlena(out, s.as_bytes()),
        // Tables cannot have OID alias columns (CREATE TABLE refuses
        // them); a value met here is stored as its OID.
        Value::Reg(_, oid, _) => out.extend_from_slice(&oid.to_le_bytes()),
        Value::Bytea(b) => put_varlena(out, b),
        Value::Date(d) => out.extend_from_slice(&d.to_le_bytes()),
        Value::Timestamp(t) | Value::Timestamptz(t) => out.extend_from_slice(&t.to_le_bytes()),
        Value::Interval(iv) => {
            out.extend_from_slice(&iv.months.to_le_bytes());
            out.extend_from_slice(&iv.days.to_le_bytes());
            out.extend_from_slice(&iv.micros.to_le_bytes());
        }
        Value::Uuid(u) => out.extend_from_slice(u),
        Value::Json(s) => put_varlena(out, s.as_bytes()),
        Value::Jsonb(j) => put_varlena(
            out,
            serde_json::to_string(j)
                .unwrap_or_else(|_| format_jsonb(j))
                .as_bytes(),
        ),
        Value::Vector(v) => {
            out.extend_from_slice(&u32::try_from(v.len()).unwrap_or(u32::MAX).to_le_bytes());
            ElementFormat::F32.encode(v, out);
        }
        Value::HalfVec(v) => {
            out.extend_from_slice(&u32::try_from(v.len()).unwrap_or(u32::MAX).to_le_bytes());
            ElementFormat::F16.encode(v, out);
        }
        Value::Bit(b) => {
            out.extend_from_slice(&b.len.to_le_bytes());
            out.extend_from_slice(&b.bytes);
        }
        Value::Array(items) => {
            out.extend_from_slice(&u32::try_from(items.len()).unwrap_or(u32::MAX).to_le_bytes());
            for item in items {
                match item {
                    Value::Null => out.push(0),
                    Value::Array(_) => {
                        out.push(2);
                        encode_value(item, out);
                    }
                    other => {
                        out.push(1);
                        encode_value(other, out);
                    }
                }
            }
        }
    }
}

/// Appends the encoding of a row to `out`.
pub fn encode_row(values: &[Value], out: &mut Vec<u8>) {
    // Tables have at most 1600 columns (PostgreSQL's limit), far below u16.
    let n = values.len().min(usize::from(u16::MAX));
    out.extend_from_slice(&(n as u16).to_le_bytes());
    let bitmap_start = out.len();
    out.resize(bitmap_start + n.div_ceil(8), 0);
    for (i, v) in values.iter().take(n).enumerate() {
        if v.is_null() {
            out[bitmap_start + i / 8] |= 1 << (i % 8);
        }
    }
    for v in values.iter().take(n) {
        encode_value(v, out);
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SqlError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| corrupt("length overflow"))?;
        let s = self
            .b
            .get(self.pos..end)
            .ok_or_else(|| corrupt("truncated"))?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], SqlError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u32(&mut self) -> Result<u32, SqlError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn varlena(&mut self) -> Result<&'a [u8], SqlError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn utf8(&mut self) -> Result<&'a str, SqlError> {
        std::str::from_utf8(self.varlena()?).map_err(|_| corrupt("text is not UTF-8"))
    }
}

fn decode_value(r: &mut Reader, ty: &DataType, depth: usize) -> Result<Value, SqlError> {
    Ok(match ty {
        DataType::Bool => match r.array::<1>()?[0] {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            _ => return Err(corrupt("bad boolean")),
        },
        DataType::Int2 => Value::Int2(i16::from_le_bytes(r.array()?)),
        DataType::Int4 => Value::Int4(i32::from_le_bytes(r.array()?)),
        DataType::Int8 => Value::Int8(i64::from_le_bytes(r.array()?)),
        DataType::Float4 => Value::Float4(f32::from_le_bytes(r.array()?)),
        DataType::Float8 => Value::Float8(f64::from_le_bytes(r.array()?)),
        DataType::Numeric(_) => {
            Value::Numeric(parse_numeric(r.utf8()?).map_err(|_| corrupt("bad numeric"))?)
        }
        DataType::Text
        | DataType::Varchar(_)
        | DataType::Char(_)
        | DataType::Unknown
        | DataType::Enum(_) => Value::Text(r.utf8()?.to_string()),
        DataType::Bytea => Value::Bytea(r.varlena()?.to_vec()),
        DataType::Date => Value::Date(i32::from_le_bytes(r.array()?)),
        DataType::Timestamp => Value::Timestamp(i64::from_le_bytes(r.array()?)),
        DataType::Timestamptz => Value::Timestamptz(i64::from_le_bytes(r.array()?)),
        DataType::Interval => Value::Interval(Interval {
            months: i32::from_le_bytes(r.array()?),
            days: i32::from_le_bytes(r.array()?),
            micros: i64::from_le_bytes(r.array()?),
        }),
        DataType::Uuid => Value::Uuid(r.array()?),
        DataType::Reg(k) => {
            let oid = u32::from_le_bytes(r.array()?);
            Value::Reg(*k, oid, oid.to_string().into())
        }
        DataType::Json => Value::Json(r.utf8()?.into()),
        DataType::Jsonb => Value::Jsonb(parse_jsonb(r.utf8()?).map_err(|_| corrupt("bad jsonb"))?),
        DataType::Vector(_) => {
            let n = r.u32()? as usize;
            let bytes = r.take(n.checked_mul(4).ok_or_else(|| corrupt("length overflow"))?)?;
            Value::Vector(ElementFormat::F32.decode(bytes, n))
        }
        DataType::HalfVec(_) => {
            let n = r.u32()? as usize;
            let bytes = r.take(n.checked_mul(2).ok_or_else(|| corrupt("length overflow"))?)?;
            Value::HalfVec(ElementFormat::F16.decode(bytes, n))
        }
        DataType::Bit(_) => {
            let n = r.u32()? as usize;
            let bytes = r.take(n.div_ceil(8))?;
            Value::Bit(crate::value::bits::BitString::from_bytes(bytes.to_vec(), n))
        }
        DataType::Array(elem) => {
            if depth > 6 {
                return Err(corrupt("array nesting too deep"));
            }
            let n = r.u32()? as usize;
            // Every element takes at least its tag byte, which bounds `n`
            // by the remaining input before we allocate.
            if n > r.b.len().saturating_sub(r.pos) {
                return Err(corrupt("array count exceeds data"));
            }
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(match r.array::<1>()?[0] {
                    0 => Value::Null,
                    1 => decode_value(r, elem, depth + 1)?,
                    2 => decode_value(r, ty, depth + 1)?,
                    _ => return Err(corrupt("bad array element tag")),
                });
            }
            Value::Array(items)
        }
    })
}

/// Decodes a row written by [`encode_row`] using the table's current column
/// types. Columns beyond those stored (added later) come back NULL. Never
/// panics: malformed input gives an XX001 error.
pub fn decode_row(bytes: &[u8], types: &[DataType]) -> Result<Vec<Value>, SqlError> {
    let mut r = Reader { b: bytes, pos: 0 };
    let n = usize::from(u16::from_le_bytes(r.array()?));
    if n > types.len() {
        return Err(corrupt("more stored columns than the table has"));
    }
    let bitmap = r.take(n.div_ceil(8))?;
    let mut out = Vec::with_capacity(types.len());
    for (i, ty) in types.iter().enumerate().take(n) {
        let is_null = bitmap.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0);
        out.push(if is_null {
            Value::Null
        } else {
            decode_value(&mut r, ty, 0)?
        });
    }
    if r.pos != bytes.len() {
        return Err(corrupt("trailing bytes"));
    }
    out.resize(types.len(), Value::Null);
    Ok(out)
}

/// One column of an encoded row, read in place by [`raw_column`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawColumn<'a> {
    Null,
    /// An `int2`, `int4` or `int8`.
    Int(i64),
    /// The bytes of a `text` or `varchar`.
    Text(&'a [u8]),
}

/// Column `col` of the encoded row `bytes`, without decoding the others
/// (their bytes are skipped) or allocating: `None` when the column's type
/// is not one [`RawColumn`] holds, or the row is malformed (decoding it
/// reports that). A column the row does not store (added later) is NULL,
/// as [`decode_row`] makes it.
pub fn raw_column<'a>(bytes: &'a [u8], types: &[DataType], col: usize) -> Option<RawColumn<'a>> {
    let mut r = Reader { b: bytes, pos: 0 };
    let n = usize::from(u16::from_le_bytes(r.array().ok()?));
    let ty = types.get(col)?;
    if n > types.len() {
        return None;
    }
    let bitmap = r.take(n.div_ceil(8)).ok()?;
    let is_null = |i: usize| bitmap.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0);
    if col >= n || is_null(col) {
        return Some(RawColumn::Null);
    }
    for (i, t) in types.iter().enumerate().take(col) {
        if !is_null(i) {
            skip_value(&mut r, t).ok()?;
        }
    }
    Some(match ty {
        DataType::Int2 => RawColumn::Int(i64::from(i16::from_le_bytes(r.array().ok()?))),
        DataType::Int4 => RawColumn::Int(i64::from(i32::from_le_bytes(r.array().ok()?))),
        DataType::Int8 => RawColumn::Int(i64::from_le_bytes(r.array().ok()?)),
        DataType::Text | DataType::Varchar(_) => RawColumn::Text(r.varlena().ok()?),
        _ => return None,
    })
}

/// A table's stored column types, with where each column's bytes start in
/// an encoded row when only fixed-width columns precede it. Such a column
/// is read straight from its offset when the row stores every column and
/// none before it is NULL (the usual row): no walk over the others.
#[derive(Clone, Debug)]
pub struct RowLayout {
    types: Vec<DataType>,
    /// Offset from the first value's byte, for the columns it holds.
    offsets: Vec<Option<usize>>,
}

impl RowLayout {
    pub fn new(types: Vec<DataType>) -> RowLayout {
        let mut next = Some(0);
        let offsets = types
            .iter()
            .map(|ty| {
                let here = next;
                next = next.zip(fixed_width(ty)).map(|(at, w)| at + w);
                here
            })
            .collect();
        RowLayout { types, offsets }
    }

    pub fn types(&self) -> &[DataType] {
        &self.types
    }

    /// Whether column `col` can be read from a fixed offset.
    pub fn has_fixed_offset(&self, col: usize) -> bool {
        self.offsets.get(col).is_some_and(Option::is_some)
    }

    /// [`raw_column`] of a row of this layout: from the column's offset
    /// when it has one and the row allows, else by walking the row.
    #[inline]
    pub fn raw_column<'a>(&self, bytes: &'a [u8], col: usize) -> Option<RawColumn<'a>> {
        self.raw_at_offset(bytes, col)
            .or_else(|| raw_column(bytes, &self.types, col))
    }

    /// `None` when the row needs the walk: it stores fewer columns (it
    /// predates an ADD COLUMN), a column up to `col` is NULL, or the bytes
    /// are not what the layout says (the walk reports a malformed row).
    #[inline]
    fn raw_at_offset<'a>(&self, bytes: &'a [u8], col: usize) -> Option<RawColumn<'a>> {
        let offset = (*self.offsets.get(col)?)?;
        let n = usize::from(u16::from_le_bytes(bytes.get(..2)?.try_into().ok()?));
        if n != self.types.len() {
            return None;
        }
        let bitmap = bytes.get(2..2 + n.div_ceil(8))?;
        let (whole, bit) = (col / 8, col % 8);
        let nulls_up_to_col = (bitmap[whole] as u16) & ((2u16 << bit) - 1);
        if nulls_up_to_col != 0 || bitmap[..whole].iter().any(|&b| b != 0) {
            return None;
        }
        let at = 2 + bitmap.len() + offset;
        let fixed = |w: usize| bytes.get(at..at + w);
        Some(match self.types[col] {
            DataType::Int2 => {
                RawColumn::Int(i64::from(i16::from_le_bytes(fixed(2)?.try_into().ok()?)))
            }
            DataType::Int4 => {
                RawColumn::Int(i64::from(i32::from_le_bytes(fixed(4)?.try_into().ok()?)))
            }
            DataType::Int8 => RawColumn::Int(i64::from_le_bytes(fixed(8)?.try_into().ok()?)),
            DataType::Text | DataType::Varchar(_) => {
                let len = u32::from_le_bytes(fixed(4)?.try_into().ok()?) as usize;
                RawColumn::Text(bytes.get(at + 4..(at + 4).checked_add(len)?)?)
            }
            _ => return None,
        })
    }
}

/// Like [`decode_row`], into `out`, but only the columns `needed` marks
/// are decoded: the others come back NULL, their bytes skipped without
/// allocating, and columns after the last needed one are not read at all.
/// A scan passes the same `out` for every row: its slots are overwritten
/// in place, and a text column reuses the previous row's string buffer.
pub fn decode_row_needed_into(
    bytes: &[u8],
    types: &[DataType],
    needed: &[bool],
    out: &mut Vec<Value>,
) -> Result<(), SqlError> {
    // A DML scan appends the row's TID: drop it; a row taken by the
    // consumer left `out` empty.
    if out.len() != types.len() {
        out.truncate(types.len());
        out.resize_with(types.len(), || Value::Null);
    }
    let mut r = Reader { b: bytes, pos: 0 };
    let n = usize::from(u16::from_le_bytes(r.array()?));
    if n > types.len() {
        return Err(corrupt("more stored columns than the table has"));
    }
    let bitmap = r.take(n.div_ceil(8))?;
    // Columns past `needed` count as needed.
    let last_needed = if needed.len() < n {
        n
    } else {
        needed[..n].iter().rposition(|&b| b).map_or(0, |i| i + 1)
    };
    for (i, (ty, slot)) in types.iter().zip(out.iter_mut()).enumerate() {
        let is_null = bitmap.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0);
        if i >= last_needed || is_null {
            if !matches!(slot, Value::Null) {
                *slot = Value::Null;
            }
        } else if needed.get(i).copied().unwrap_or(true) {
            decode_value_into(&mut r, ty, slot)?;
        } else {
            skip_value(&mut r, ty)?;
            if !matches!(slot, Value::Null) {
                *slot = Value::Null;
            }
        }
    }
    if last_needed == n && r.pos != bytes.len() {
        return Err(corrupt("trailing bytes"));
    }
    Ok(())
}

/// [`decode_value`] into `slot`, reusing its allocation for text and
/// writing fixed-width scalars without going through a `Result<Value>`.
#[inline]
fn decode_value_into(r: &mut Reader, ty: &DataType, slot: &mut Value) -> Result<(), SqlError> {
    match ty {
        // In place when the slot already holds one (no drop of the old).
        DataType::Int4 => match (slot, i32::from_le_bytes(r.array()?)) {
            (Value::Int4(x), v) => *x = v,
            (slot, v) => *slot = Value::Int4(v),
        },
        DataType::Int8 => match (slot, i64::from_le_bytes(r.array()?)) {
            (Value::Int8(x), v) => *x = v,
            (slot, v) => *slot = Value::Int8(v),
        },
        DataType::Text | DataType::Varchar(_) => {
            let text = r.utf8()?;
            match slot {
                Value::Text(s) => {
                    s.clear();
                    s.push_str(text);
                }
                other => *other = Value::Text(text.to_string()),
            }
        }
        _ => *slot = decode_value(r, ty, 0)?,
    }
    Ok(())
}

/// The stored width of every value of type `ty`, if it is the same.
fn fixed_width(ty: &DataType) -> Option<usize> {
    match ty {
        DataType::Bool => Some(1),
        DataType::Int2 => Some(2),
        DataType::Int4 | DataType::Float4 | DataType::Date | DataType::Reg(_) => Some(4),
        DataType::Int8 | DataType::Float8 | DataType::Timestamp | DataType::Timestamptz => Some(8),
        _ => None,
    }
}

/// Steps over one stored value of type `ty`.
fn skip_value(r: &mut Reader, ty: &DataType) -> Result<(), SqlError> {
    if let Some(width) = fixed_width(ty) {
        r.take(width)?;
        return Ok(());
    }
    match ty {
        DataType::Numeric(_)
        | DataType::Text
        | DataType::Varchar(_)
        | DataType::Char(_)
        | DataType::Unknown
        | DataType::Enum(_)
        | DataType::Bytea
        | DataType::Json
        | DataType::Jsonb => {
            r.varlena()?;
        }
        // The rest are rare in wide scans: decode and drop.
        other => {
            decode_value(r, other, 0)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::Rng;
    use crate::value::text::parse_text;
    use crate::value::tz::TimeZone;

    fn sample() -> (Vec<Value>, Vec<DataType>) {
        let tz = TimeZone::utc();
        let cols: Vec<(&str, DataType)> = vec![
            ("t", DataType::Bool),
            ("-5", DataType::Int2),
            ("123456", DataType::Int4),
            ("-9223372036854775808", DataType::Int8),
            ("1.5", DataType::Float4),
            ("-1e300", DataType::Float8),
            ("12.340", DataType::Numeric(None)),
            ("héllo", DataType::Text),
            ("\\x00ff", DataType::Bytea),
            ("2024-02-29", DataType::Date),
            ("2024-02-29 12:34:56.789", DataType::Timestamp),
            ("2024-02-29 12:34:56+02", DataType::Timestamptz),
            ("1 year -2 days 03:00:00.5", DataType::Interval),
            ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", DataType::Uuid),
            (r#"{"a": [1, 2.50, null], "b": "x"}"#, DataType::Jsonb),
            ("[1,2.5,-3]", DataType::Vector(Some(3))),
            (
                "{{1,NULL},{3,4}}",
                DataType::Array(Box::new(DataType::Int4)),
            ),
        ];
        let types: Vec<DataType> = cols.iter().map(|c| c.1.clone()).collect();
        let mut values: Vec<Value> = cols
            .iter()
            .map(|(s, t)| parse_text(s, t, &tz).unwrap())
            .collect();
        values.insert(3, Value::Null);
        let mut types2 = types.clone();
        types2.insert(3, DataType::Text);
        (values, types2)
    }

    #[test]
    fn round_trip_and_added_columns() {
        let (values, types) = sample();
        let mut buf = Vec::new();
        encode_row(&values, &mut buf);
        assert_eq!(decode_row(&buf, &types).unwrap(), values);
        let mut more = types.clone();
        more.push(DataType::Int4);
        let decoded = decode_row(&buf, &more).unwrap();
        assert_eq!(decoded.len(), types.len() + 1);
        assert_eq!(decoded.last(), Some(&Value::Null));
        assert_eq!(
            decode_row(&buf, &types[..3]).unwrap_err().code,
            SqlState::DATA_CORRUPTED
        );
        let mut empty = Vec::new();
        encode_row(&[], &mut empty);
        assert_eq!(
            decode_row(&empty, &[DataType::Int4]).unwrap(),
            vec![Value::Null]
        );
    }

    /// `raw_column` agrees with `decode_row` on every column it reads,
    /// through NULLs, every kind of column before it and columns the row
    /// does not store; it declines the types it does not hold.
    #[test]
    fn raw_columns_agree_with_decoding() {
        let (mut values, mut types) = sample();
        values.extend([Value::Int8(-7), Value::Null, Value::Text("x".into())]);
        types.extend([DataType::Int8, DataType::Int2, DataType::Varchar(Some(3))]);
        let mut buf = Vec::new();
        encode_row(&values, &mut buf);
        let mut more = types.clone();
        more.push(DataType::Int4);
        let decoded = decode_row(&buf, &more).unwrap();
        let mut read = 0;
        for (col, v) in decoded.iter().enumerate() {
            let expected = match v {
                Value::Null => Some(RawColumn::Null),
                Value::Int2(n) => Some(RawColumn::Int(i64::from(*n))),
                Value::Int4(n) => Some(RawColumn::Int(i64::from(*n))),
                Value::Int8(n) => Some(RawColumn::Int(*n)),
                Value::Text(s) => Some(RawColumn::Text(s.as_bytes())),
                _ => None,
            };
            assert_eq!(raw_column(&buf, &more, col), expected, "column {col}");
            read += usize::from(expected.is_some());
        }
        assert!(read >= 8, "the sample covers the raw kinds");
        assert_eq!(raw_column(&buf, &types[..3], 1), None, "too few types");
        assert_eq!(
            raw_column(&buf[..buf.len() - 2], &types, values.len() - 1),
            None
        );
    }

    /// `RowLayout::raw_column` gives `raw_column`'s answer on rows with
    /// and without NULLs before the column, rows storing fewer columns,
    /// and a bitmap of two bytes; it reads from the offset when it can.
    #[test]
    fn fixed_offsets_agree_with_the_walk() {
        let tz = TimeZone::utc();
        let cols: [(&str, DataType); 12] = [
            ("-17", DataType::Int4),
            ("t", DataType::Bool),
            ("9000000000", DataType::Int8),
            ("-3", DataType::Int2),
            ("2024-02-29", DataType::Date),
            ("2.5", DataType::Float8),
            ("7", DataType::Int4),
            ("8", DataType::Int4),
            ("-1", DataType::Int8),
            ("hello", DataType::Text),
            ("11", DataType::Int4),
            ("tail", DataType::Varchar(None)),
        ];
        let types: Vec<DataType> = cols.iter().map(|c| c.1.clone()).collect();
        let layout = RowLayout::new(types.clone());
        assert!((0..=9).all(|c| layout.has_fixed_offset(c)));
        assert!(!layout.has_fixed_offset(10) && !layout.has_fixed_offset(12));
        let mut rng = Rng::new(5);
        let (mut fast, mut buf) = (0, Vec::new());
        for round in 0..400 {
            let stored = if round % 5 == 4 {
                rng.below(12) as usize
            } else {
                12
            };
            let values: Vec<Value> = cols[..stored]
                .iter()
                .map(|(s, t)| match rng.below(4) {
                    0 if round % 2 == 1 => Value::Null,
                    _ => parse_text(s, t, &tz).unwrap(),
                })
                .collect();
            encode_row(&values, &mut buf);
            for col in 0..types.len() {
                let walked = raw_column(&buf, &types, col);
                assert_eq!(
                    layout.raw_column(&buf, col),
                    walked,
                    "round {round}, column {col}"
                );
                if let Some(direct) = layout.raw_at_offset(&buf, col) {
                    assert_eq!(Some(direct), walked);
                    fast += 1;
                }
            }
            buf.clear();
        }
        // Even rounds store no NULLs (160 of them every column, 10 of which
        // have an offset): at least half of those reads take the offset.
        assert!(fast >= 80 * 10, "{fast} reads from an offset");
    }

    #[test]
    fn garbage_never_panics() {
        let (values, types) = sample();
        let mut good = Vec::new();
        encode_row(&values, &mut good);
        let layout = RowLayout::new(types.clone());
        let mut rng = Rng::new(11);
        for i in 0..20_000 {
            let mut b = good.clone();
            match i % 3 {
                0 => b.truncate(rng.below(b.len() as u64) as usize),
                1 => {
                    for _ in 0..1 + rng.below(4) {
                        let at = rng.below(b.len() as u64) as usize;
                        b[at] = rng.next_u64() as u8;
                    }
                }
                _ => b = (0..rng.below(40)).map(|_| rng.next_u64() as u8).collect(),
            }
            if let Err(e) = decode_row(&b, &types) {
                assert_eq!(e.code, SqlState::DATA_CORRUPTED);
            }
            for col in 0..types.len() {
                let _ = raw_column(&b, &types, col);
                let _ = layout.raw_column(&b, col);
            }
        }
    }
}
