//! PostgreSQL's object size functions (`dbsize.c`): `pg_size_pretty`,
//! `pg_size_bytes`, and the relation and database sizes psql's `\dt+`,
//! `\di+`, `\d+` and `\l+` show.
//!
//! A relation's size is the number of pages its storage holds times the
//! page size: a heap's data pages (its meta page is our bookkeeping,
//! PostgreSQL's heaps have none, so an empty table is 0 bytes as there),
//! every page of an index (a B+tree's meta page included, as PostgreSQL
//! counts its btree metapage), one page for a sequence. Values stored out
//! of line (our overflow chains, PostgreSQL's TOAST) are not counted,
//! and the free-space and visibility-map forks do not exist (0 bytes). A
//! database's size is its data file's.

use std::collections::HashMap;

use bigdecimal::{BigDecimal, Signed};

use crate::value::numeric::{parse_numeric, to_i64_round, trunc_scale};
use crate::value::tz::TimeZone;

use crate::access;
use crate::catalog::IndexDef;
use crate::error::{Error, SqlError, SqlState};
use crate::heap::Heap;
use crate::pager::{PageId, Pager};
use crate::value::{Numeric, Value};

/// Where a relation's pages are, for the size functions.
#[derive(Clone, Debug)]
pub enum RelStorage {
    /// A table: its heap's meta page and its indexes.
    Table {
        heap: PageId,
        indexes: Vec<IndexDef>,
    },
    Index(IndexDef),
    Sequence,
    /// Views and system relations: no storage.
    None,
}

/// The size functions the engine's catalog snapshot answers.
pub fn is_relation_size_fn(name: &str) -> bool {
    matches!(
        name,
        "pg_relation_size"
            | "pg_table_size"
            | "pg_indexes_size"
            | "pg_total_relation_size"
            | "pg_database_size"
    )
}

/// PostgreSQL's units: (name, limit below which it is used, half-rounded,
/// bits of its divisor).
const UNITS: [(&str, i64, bool, u32); 6] = [
    ("bytes", 10 * 1024, false, 0),
    ("kB", 20 * 1024 - 1, true, 10),
    ("MB", 20 * 1024 - 1, true, 20),
    ("GB", 20 * 1024 - 1, true, 30),
    ("TB", 20 * 1024 - 1, true, 40),
    ("PB", 20 * 1024 - 1, true, 50),
];

/// The bits to divide by between unit `i` and the next: one less when the
/// next unit half-rounds (it keeps a bit for that), one more when this
/// one did.
fn shift(i: usize) -> u32 {
    let (_, _, round, bits) = UNITS[i];
    let (_, _, next_round, next_bits) = UNITS[i + 1];
    next_bits - bits - u32::from(next_round) + u32::from(round)
}

/// `pg_size_pretty(bigint)`: division (not shifting) so that negative
/// sizes round like positive ones.
pub fn size_pretty(mut size: i64) -> String {
    for (i, (name, limit, round, _)) in UNITS.iter().enumerate() {
        if i + 1 == UNITS.len() || size.unsigned_abs() < *limit as u64 {
            if *round {
                size = (size + if size < 0 { -1 } else { 1 }) / 2;
            }
            return format!("{size} {name}");
        }
        size /= 1i64 << shift(i);
    }
    // Not reached: the last unit returns above.
    format!("{size} PB")
}

/// `pg_size_pretty(numeric)`: the same steps in numeric arithmetic, the
/// value printed as numeric prints (a fraction below 10 kB is kept).
pub fn size_pretty_numeric(size: &Numeric) -> String {
    let Numeric::Value(d) = size else {
        return "NaN bytes".into();
    };
    let mut size = d.clone();
    let trunc = |x: BigDecimal| trunc_scale(&x, 0);
    let text = |x: BigDecimal| {
        Value::Numeric(Numeric::Value(x))
            .to_pg_text(&TimeZone::utc())
            .unwrap_or_default()
    };
    for (i, (name, limit, round, _)) in UNITS.iter().enumerate() {
        if i + 1 == UNITS.len() || size.abs() < *limit {
            if *round {
                let bumped = if size.is_negative() {
                    size - 1
                } else {
                    size + 1
                };
                size = trunc(bumped / BigDecimal::from(2));
            }
            return format!("{} {name}", text(size));
        }
        size = trunc(size / BigDecimal::from(1i64 << shift(i)));
    }
    // Not reached: the last unit returns above.
    format!("{} PB", text(size))
}

fn invalid_size(input: &str) -> SqlError {
    SqlError::new(
        SqlState::INVALID_PARAMETER_VALUE,
        format!("invalid size: \"{input}\""),
    )
}

/// `pg_size_bytes(text)`: a number (sign, digits, fraction, exponent),
/// then optionally a unit, case-insensitive, among pg_size_pretty's.
pub fn size_bytes(input: &str) -> Result<i64, SqlError> {
    let b = input.as_bytes();
    let space = |c: u8| c.is_ascii_whitespace() || c == 0x0b;
    let mut start = 0;
    while start < b.len() && space(b[start]) {
        start += 1;
    }
    let mut end = start;
    if end < b.len() && (b[end] == b'-' || b[end] == b'+') {
        end += 1;
    }
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let after = digits(end);
    let mut have_digits = after > end;
    end = after;
    if end < b.len() && b[end] == b'.' {
        end += 1;
        let after = digits(end);
        have_digits |= after > end;
        end = after;
    }
    if !have_digits {
        return Err(invalid_size(input));
    }
    // An exponent, if digits follow the `e` (strtol: spaces and a sign may
    // precede them); otherwise the `e` starts the unit.
    if end < b.len() && (b[end] == b'e' || b[end] == b'E') {
        let mut j = end + 1;
        while j < b.len() && space(b[j]) {
            j += 1;
        }
        if j < b.len() && (b[j] == b'-' || b[j] == b'+') {
            j += 1;
        }
        let after = digits(j);
        if after > j {
            end = after;
        }
    }
    let number = &input[start..end];
    let mut num = match parse_numeric(number)? {
        Numeric::Value(d) => d,
        Numeric::NaN => return Err(invalid_size(input)),
    };
    let unit = input[end..].trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    if !unit.is_empty() {
        let Some((_, _, _, bits)) = UNITS.iter().find(|u| u.0.eq_ignore_ascii_case(unit)) else {
            return Err(invalid_size(input)
                .with_detail(format!("Invalid size unit: \"{unit}\"."))
                .with_hint(
                    "Valid units are \"bytes\", \"kB\", \"MB\", \"GB\", \"TB\", and \"PB\".",
                ));
        };
        num *= BigDecimal::from(1i64 << bits);
    }
    // numeric → bigint rounds half away from zero.
    to_i64_round(&num)
        .ok_or_else(|| SqlError::new(SqlState::NUMERIC_VALUE_OUT_OF_RANGE, "bigint out of range"))
}

/// Bytes of the pages of `storage` (`fork`: PostgreSQL's fork name; only
/// `main` has pages here).
fn storage_bytes(pager: &mut Pager, storage: &RelStorage) -> Result<i64, Error> {
    let page = pager.page_size() as i64;
    let pages = match storage {
        RelStorage::Table { heap, .. } => {
            let heap = Heap::open(*heap);
            let pages = heap.page_count(pager)?;
            // Our heap starts with one empty page where PostgreSQL's has
            // none: a table never written to is 0 bytes as there.
            let first = heap.first_page(pager)?;
            if pages == 1 && heap.scan_page(pager, first)?.0.is_empty() {
                0
            } else {
                i64::from(pages)
            }
        }
        RelStorage::Index(def) => access::open(def).page_count(pager)? as i64,
        RelStorage::Sequence => 1,
        RelStorage::None => 0,
    };
    Ok(pages * page)
}

fn indexes_bytes(pager: &mut Pager, storage: &RelStorage) -> Result<i64, Error> {
    let mut total = 0;
    if let RelStorage::Table { indexes, .. } = storage {
        for i in indexes {
            total += storage_bytes(pager, &RelStorage::Index(i.clone()))?;
        }
    }
    Ok(total)
}

fn oid_of(v: &Value) -> Option<u32> {
    match v {
        Value::Reg(_, oid, _) => Some(*oid),
        Value::Int2(x) => u32::try_from(*x).ok(),
        Value::Int4(x) => Some(*x as u32),
        Value::Int8(x) => u32::try_from(*x).ok(),
        _ => None,
    }
}

/// `pg_relation_size` and friends over the relations of the statement's
/// catalog (`storage`, by OID): NULL for an OID that is no relation, as
/// PostgreSQL returns for a concurrently dropped one. `database` is the
/// database's (OID, name).
pub fn call(
    name: &str,
    args: &[Value],
    storage: &HashMap<u32, RelStorage>,
    database: (u32, &str),
    pager: &mut Pager,
) -> Result<Value, Error> {
    if args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    if name == "pg_database_size" {
        let found = match &args[0] {
            Value::Text(s) => {
                if s != database.1 {
                    return Err(SqlError::new(
                        SqlState("3D000"),
                        format!("database \"{s}\" does not exist"),
                    )
                    .into());
                }
                true
            }
            other => oid_of(other) == Some(database.0),
        };
        if !found {
            return Ok(Value::Null);
        }
        let bytes = i64::from(pager.page_count()) * pager.page_size() as i64;
        return Ok(Value::Int8(bytes));
    }
    if name == "pg_relation_size" {
        if let Some(fork) = args.get(1) {
            let fork = match fork {
                Value::Text(s) => s.as_str(),
                _ => "",
            };
            match fork {
                "main" => {}
                "fsm" | "vm" | "init" => {
                    return Ok(match args.first().and_then(oid_of) {
                        Some(o) if storage.contains_key(&o) => Value::Int8(0),
                        _ => Value::Null,
                    })
                }
                _ => {
                    return Err(SqlError::new(
                        SqlState::INVALID_PARAMETER_VALUE,
                        "invalid fork name",
                    )
                    .with_hint("Valid fork names are \"main\", \"fsm\", \"vm\", and \"init\".")
                    .into())
                }
            }
        }
    }
    let Some(s) = args.first().and_then(oid_of).and_then(|o| storage.get(&o)) else {
        return Ok(Value::Null);
    };
    let bytes = match name {
        "pg_relation_size" | "pg_table_size" => storage_bytes(pager, s)?,
        "pg_indexes_size" => indexes_bytes(pager, s)?,
        _ => storage_bytes(pager, s)? + indexes_bytes(pager, s)?,
    };
    Ok(Value::Int8(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_matches_postgres() {
        let cases = [
            (0, "0 bytes"),
            (10239, "10239 bytes"),
            (10240, "10 kB"),
            (-10240, "-10 kB"),
            (10 * 1024 * 1024 - 1, "10 MB"),
            (10 * 1024 * 1024 - 1024 * 1024 / 2 - 1, "9728 kB"),
            (20 * 1024 * 1024 - 1, "20 MB"),
            (1536, "1536 bytes"),
            (i64::MAX, "8192 PB"),
            (i64::MIN, "-8192 PB"),
        ];
        for (n, want) in cases {
            assert_eq!(size_pretty(n), want, "{n}");
        }
    }

    #[test]
    fn bytes_parse() {
        assert_eq!(size_bytes("1kB").unwrap(), 1024);
        assert_eq!(size_bytes(" 1.5 gb ").unwrap(), 1610612736);
        assert_eq!(size_bytes("1e3").unwrap(), 1000);
        assert_eq!(size_bytes("-.5 kB").unwrap(), -512);
        assert!(size_bytes("kB").is_err());
        assert!(size_bytes("1 KiB").is_err());
        assert!(size_bytes("9223372036854775807 kB").is_err());
    }
}
