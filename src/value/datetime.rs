//! Calendar arithmetic and the text forms of date, timestamp, timestamptz
//! and interval, following PostgreSQL's `ISO, MDY` DateStyle and `postgres`
//! IntervalStyle.
//!
//! Dates are days since 2000-01-01 and timestamps microseconds since
//! 2000-01-01 00:00:00 (PostgreSQL's internal epoch). `i32::MIN`/`i32::MAX`
//! (dates) and `i64::MIN`/`i64::MAX` (timestamps) are `-infinity`/`infinity`
//! as in PostgreSQL. Years before 1 AD are written with a ` BC` suffix.

use super::tz::{format_offset, TimeZone};
use super::Interval;
use crate::error::{SqlError, SqlState};

/// Microseconds per second.
pub const USECS_PER_SEC: i64 = 1_000_000;
/// Microseconds per minute.
pub const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
/// Microseconds per hour.
pub const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
/// Microseconds per 24-hour day.
pub const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;
/// Days between 1970-01-01 (Unix epoch) and 2000-01-01 (PostgreSQL epoch).
pub const UNIX_EPOCH_DAYS: i64 = 10_957;

/// `date 'infinity'`.
pub const DATE_INFINITY: i32 = i32::MAX;
/// `date '-infinity'`.
pub const DATE_NEG_INFINITY: i32 = i32::MIN;
/// `timestamp 'infinity'`.
pub const TS_INFINITY: i64 = i64::MAX;
/// `timestamp '-infinity'`.
pub const TS_NEG_INFINITY: i64 = i64::MIN;
/// The last finite date PostgreSQL supports (5874897-12-31); date
/// arithmetic may reach it, although date *input* is limited to the
/// timestamp range (up to 294276 AD).
pub const DATE_MAX_DAYS: i32 = 2_145_031_948;
/// The first date PostgreSQL supports (4714-11-24 BC).
pub const DATE_MIN_DAYS: i32 = -2_451_545;

/// PostgreSQL's supported range: 4713-11-24 BC .. 294276-12-31 AD for
/// timestamps (Julian day 0 to the end of year 294276).
const MIN_TS_DAYS: i64 = -2_451_545; // 4714-11-24 BC (proleptic), Julian day 0
const MAX_TS_DAYS: i64 = 106_751_982; // 294276-12-31

/// Days since 2000-01-01 of a proleptic Gregorian date (year 0 = 1 BC).
pub fn days_from_ymd(y: i64, m: u32, d: u32) -> i64 {
    // Howard Hinnant's days_from_civil, shifted to the 2000 epoch.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 - UNIX_EPOCH_DAYS
}

/// The inverse of [`days_from_ymd`].
pub fn ymd_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + UNIX_EPOCH_DAYS + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Gregorian leap year (year 0 = 1 BC is a leap year).
pub fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in month `m` (1-12) of year `y`.
pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Broken-down time of a timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// Proleptic Gregorian year; 0 is 1 BC, -1 is 2 BC.
    pub year: i64,
    /// 1-12.
    pub month: u32,
    /// 1-31.
    pub day: u32,
    /// 0-23.
    pub hour: u32,
    /// 0-59.
    pub minute: u32,
    /// 0-59.
    pub second: u32,
    /// 0-999999.
    pub micros: u32,
}

/// Splits a finite timestamp into calendar fields.
pub fn civil_from_ts(ts: i64) -> Civil {
    let days = ts.div_euclid(USECS_PER_DAY);
    let t = ts.rem_euclid(USECS_PER_DAY);
    let (year, month, day) = ymd_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: (t / USECS_PER_HOUR) as u32,
        minute: (t / USECS_PER_MINUTE % 60) as u32,
        second: (t / USECS_PER_SEC % 60) as u32,
        micros: (t % USECS_PER_SEC) as u32,
    }
}

fn ts_out_of_range() -> SqlError {
    SqlError::new(SqlState::DATETIME_FIELD_OVERFLOW, "timestamp out of range")
}

fn date_out_of_range() -> SqlError {
    SqlError::new(SqlState::DATETIME_FIELD_OVERFLOW, "date out of range")
}

/// Checks that a timestamp lies in PostgreSQL's range (infinities pass).
pub fn check_ts(ts: i64) -> Result<i64, SqlError> {
    if ts == TS_INFINITY || ts == TS_NEG_INFINITY {
        return Ok(ts);
    }
    let days = ts.div_euclid(USECS_PER_DAY);
    if !(MIN_TS_DAYS..=MAX_TS_DAYS).contains(&days) {
        return Err(ts_out_of_range());
    }
    Ok(ts)
}

/// Builds a timestamp from fields, checking the range.
pub fn ts_from_civil(c: &Civil) -> Result<i64, SqlError> {
    let days = days_from_ymd(c.year, c.month, c.day);
    let t = i64::from(c.hour) * USECS_PER_HOUR
        + i64::from(c.minute) * USECS_PER_MINUTE
        + i64::from(c.second) * USECS_PER_SEC
        + i64::from(c.micros);
    days.checked_mul(USECS_PER_DAY)
        .and_then(|d| d.checked_add(t))
        .ok_or_else(ts_out_of_range)
        .and_then(check_ts)
}

/// Timestamp at midnight of a date.
pub fn date_to_ts(date: i32) -> Result<i64, SqlError> {
    match date {
        DATE_INFINITY => Ok(TS_INFINITY),
        DATE_NEG_INFINITY => Ok(TS_NEG_INFINITY),
        d => i64::from(d)
            .checked_mul(USECS_PER_DAY)
            .ok_or_else(ts_out_of_range)
            .and_then(check_ts),
    }
}

/// The date part of a timestamp.
pub fn ts_to_date(ts: i64) -> Result<i32, SqlError> {
    match ts {
        TS_INFINITY => Ok(DATE_INFINITY),
        TS_NEG_INFINITY => Ok(DATE_NEG_INFINITY),
        t => i32::try_from(t.div_euclid(USECS_PER_DAY)).map_err(|_| date_out_of_range()),
    }
}

/// Converts a UTC timestamptz to local time in `tz` (a `timestamp`).
pub fn utc_to_local(ts: i64, tz: &TimeZone) -> i64 {
    if ts == TS_INFINITY || ts == TS_NEG_INFINITY {
        return ts;
    }
    ts.saturating_add(i64::from(tz.offset_secs()) * USECS_PER_SEC)
}

/// Converts a local `timestamp` in `tz` to a UTC timestamptz.
pub fn local_to_utc(ts: i64, tz: &TimeZone) -> Result<i64, SqlError> {
    if ts == TS_INFINITY || ts == TS_NEG_INFINITY {
        return Ok(ts);
    }
    check_ts(ts.saturating_sub(i64::from(tz.offset_secs()) * USECS_PER_SEC))
}

fn year_text(y: i64) -> (i64, &'static str) {
    if y <= 0 {
        (1 - y, " BC")
    } else {
        (y, "")
    }
}

/// `2024-01-31`, `infinity`, `0044-03-15 BC`.
pub fn format_date(d: i32) -> String {
    match d {
        DATE_INFINITY => "infinity".into(),
        DATE_NEG_INFINITY => "-infinity".into(),
        d => {
            let (y, m, day) = ymd_from_days(i64::from(d));
            let (y, bc) = year_text(y);
            format!("{y:04}-{m:02}-{day:02}{bc}")
        }
    }
}

/// Appends `:SS` plus trimmed fractional digits (`.5`, `.123456`).
fn push_seconds(out: &mut String, sec: u32, micros: u32) {
    out.push_str(&format!("{sec:02}"));
    if micros != 0 {
        let frac = format!("{micros:06}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
}

/// `2024-01-31 13:45:00.5`; with `tz`, the timestamptz form with offset.
pub fn format_timestamp(ts: i64, tz: Option<&TimeZone>) -> String {
    match ts {
        TS_INFINITY => return "infinity".into(),
        TS_NEG_INFINITY => return "-infinity".into(),
        _ => {}
    }
    let local = tz.map_or(ts, |z| utc_to_local(ts, z));
    let c = civil_from_ts(local);
    let (y, bc) = year_text(c.year);
    let mut out = format!(
        "{y:04}-{:02}-{:02} {:02}:{:02}:",
        c.month, c.day, c.hour, c.minute
    );
    push_seconds(&mut out, c.second, c.micros);
    if let Some(z) = tz {
        out.push_str(&format_offset(z.offset_secs(), false));
    }
    out.push_str(bc);
    out
}

/// An interval in PostgreSQL's default `postgres` IntervalStyle:
/// `1 year 2 mons 3 days 04:05:06`, `-1 days +02:00:00`, `00:00:00`.
pub fn format_interval(iv: &Interval) -> String {
    let mut out = String::new();
    // PostgreSQL's EncodeInterval state: whether anything was written yet
    // and whether the last field was negative (then a positive field gets
    // an explicit '+').
    let mut is_zero = true;
    let mut is_before = false;
    let months = i64::from(iv.months);
    for (v, unit) in [
        (months / 12, "year"),
        (months % 12, "mon"),
        (i64::from(iv.days), "day"),
    ] {
        if v == 0 {
            continue;
        }
        if !is_zero {
            out.push(' ');
        }
        if is_before && v > 0 {
            out.push('+');
        }
        out.push_str(&format!("{v} {unit}{}", if v != 1 { "s" } else { "" }));
        is_before = v < 0;
        is_zero = false;
    }
    if is_zero || iv.micros != 0 {
        let a = iv.micros.unsigned_abs();
        let hours = a / USECS_PER_HOUR as u64;
        let mins = a / USECS_PER_MINUTE as u64 % 60;
        let secs = (a / USECS_PER_SEC as u64 % 60) as u32;
        let micros = (a % USECS_PER_SEC as u64) as u32;
        if !is_zero {
            out.push(' ');
        }
        out.push_str(if iv.micros < 0 {
            "-"
        } else if is_before {
            "+"
        } else {
            ""
        });
        out.push_str(&format!("{hours:02}:{mins:02}:"));
        push_seconds(&mut out, secs, micros);
    }
    out
}

/// Error for unparsable date/time text.
pub fn bad_datetime(type_name: &str, input: &str) -> SqlError {
    SqlError::new(
        SqlState::INVALID_DATETIME_FORMAT,
        format!("invalid input syntax for type {type_name}: \"{input}\""),
    )
}

/// Error for well-formed but impossible field values (`2024-02-30`).
pub fn field_out_of_range(input: &str) -> SqlError {
    SqlError::new(
        SqlState::DATETIME_FIELD_OVERFLOW,
        format!("date/time field value out of range: \"{input}\""),
    )
}

/// A parsed date/time literal.
struct ParsedDateTime {
    year: i64,
    month: u32,
    day: u32,
    /// Microseconds since midnight.
    time: i64,
    /// Explicit UTC offset in seconds east, if any.
    offset: Option<i32>,
}

/// A tiny cursor over ASCII input.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// Up to `max` digits; returns (value, digit count).
    fn digits(&mut self, max: usize) -> Option<(i64, usize)> {
        let start = self.pos;
        let mut v: i64 = 0;
        while self.pos - start < max {
            match self.peek() {
                Some(b) if b.is_ascii_digit() => {
                    v = v * 10 + i64::from(b - b'0');
                    self.pos += 1;
                }
                _ => break,
            }
        }
        let n = self.pos - start;
        (n > 0).then_some((v, n))
    }

    fn rest_is(&self, word: &str) -> bool {
        self.s
            .get(self.pos..)
            .is_some_and(|r| r.eq_ignore_ascii_case(word.as_bytes()))
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }
}

/// Parses fractional-second digits (after the '.') rounding to micros.
fn parse_fraction(c: &mut Cursor) -> Option<i64> {
    let start = c.pos;
    let mut micros: i64 = 0;
    let mut n = 0;
    let mut round_up = false;
    while let Some(b) = c.peek().filter(u8::is_ascii_digit) {
        if n < 6 {
            micros = micros * 10 + i64::from(b - b'0');
        } else if n == 6 {
            round_up = b >= b'5';
        }
        n += 1;
        c.pos += 1;
    }
    if c.pos == start {
        return None;
    }
    for _ in n..6 {
        micros *= 10;
    }
    Some(micros + i64::from(round_up))
}

/// Parses `HH:MM[:SS[.ffffff]]`, returning microseconds since midnight.
fn parse_time_of_day(c: &mut Cursor, input: &str) -> Result<i64, SqlError> {
    let bad = || field_out_of_range(input);
    let (h, _) = c.digits(2).ok_or_else(|| bad_datetime("time", input))?;
    if !c.eat(b':') {
        return Err(bad_datetime("time", input));
    }
    let (m, _) = c.digits(2).ok_or_else(|| bad_datetime("time", input))?;
    let mut s = 0;
    let mut frac = 0;
    if c.eat(b':') {
        s = c.digits(2).ok_or_else(|| bad_datetime("time", input))?.0;
        if c.eat(b'.') {
            frac = parse_fraction(c).unwrap_or(0);
        }
    }
    // 24:00:00 is allowed (end of day), as in PostgreSQL.
    if m > 59 || s > 60 || h > 24 || (h == 24 && (m > 0 || s > 0 || frac > 0)) {
        return Err(bad());
    }
    Ok(h * USECS_PER_HOUR + m * USECS_PER_MINUTE + s * USECS_PER_SEC + frac)
}

/// Parses `Z`, `UTC`, `GMT`, `+hh`, `+hhmm`, `+hh:mm[:ss]`.
fn parse_offset(c: &mut Cursor, type_name: &str, input: &str) -> Result<Option<i32>, SqlError> {
    c.skip_ws();
    if c.at_end() {
        return Ok(None);
    }
    if c.rest_is("z") || c.rest_is("utc") || c.rest_is("gmt") {
        c.pos = c.s.len();
        return Ok(Some(0));
    }
    let neg = match c.peek() {
        Some(b'+') => false,
        Some(b'-') => true,
        _ => return Err(bad_datetime(type_name, input)),
    };
    c.pos += 1;
    let (v, n) = c.digits(4).ok_or_else(|| bad_datetime(type_name, input))?;
    let (mut h, mut m, mut s) = if n > 2 {
        (v / 100, v % 100, 0)
    } else {
        (v, 0, 0)
    };
    if n <= 2 && c.eat(b':') {
        m = c.digits(2).ok_or_else(|| bad_datetime(type_name, input))?.0;
        if c.eat(b':') {
            s = c.digits(2).ok_or_else(|| bad_datetime(type_name, input))?.0;
        }
    }
    if h > 15 || m > 59 || s > 59 {
        return Err(SqlError::new(
            SqlState::INVALID_DATETIME_FORMAT,
            format!("time zone displacement out of range: \"{input}\""),
        ));
    }
    h = h * 3600 + m * 60 + s;
    let secs = i32::try_from(h).map_err(|_| bad_datetime(type_name, input))?;
    Ok(Some(if neg { -secs } else { secs }))
}

/// Parses the ISO forms `YYYY-MM-DD[( |T)HH:MM[:SS[.f]]][offset][ BC]`.
fn parse_iso(input: &str, type_name: &str) -> Result<ParsedDateTime, SqlError> {
    let trimmed = input.trim();
    let (body, bc) = match trimmed.len().checked_sub(3) {
        Some(i) if trimmed.is_char_boundary(i) && trimmed[i..].eq_ignore_ascii_case(" bc") => {
            (trimmed[..i].trim_end(), true)
        }
        _ => (trimmed, false),
    };
    let mut c = Cursor {
        s: body.as_bytes(),
        pos: 0,
    };
    let bad = || bad_datetime(type_name, input);
    let (year, yn) = c.digits(9).ok_or_else(bad)?;
    if yn < 3 || !c.eat(b'-') {
        return Err(bad());
    }
    let (month, _) = c.digits(2).ok_or_else(bad)?;
    if !c.eat(b'-') {
        return Err(bad());
    }
    let (day, _) = c.digits(2).ok_or_else(bad)?;
    let mut time = 0;
    if c.eat(b'T') || c.eat(b't') || c.peek() == Some(b' ') {
        c.skip_ws();
        if c.peek().is_some_and(|b| b.is_ascii_digit()) {
            time = parse_time_of_day(&mut c, input)?;
        }
    }
    let offset = parse_offset(&mut c, type_name, input)?;
    c.skip_ws();
    if !c.at_end() {
        return Err(bad());
    }
    if bc && year == 0 {
        return Err(bad());
    }
    let year = if bc { 1 - year } else { year };
    let (month, day) = (month as u32, day as u32);
    if year == 0 && !bc
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
    {
        return Err(field_out_of_range(input));
    }
    Ok(ParsedDateTime {
        year,
        month,
        day,
        time,
        offset,
    })
}

fn special(input: &str) -> Option<bool> {
    match input.trim().to_ascii_lowercase().as_str() {
        "infinity" | "+infinity" => Some(true),
        "-infinity" => Some(false),
        _ => None,
    }
}

/// `date` input: ISO `YYYY-MM-DD` (a time part is accepted and ignored),
/// `infinity`, `-infinity`, `epoch`.
pub fn parse_date(input: &str) -> Result<i32, SqlError> {
    if let Some(pos) = special(input) {
        return Ok(if pos {
            DATE_INFINITY
        } else {
            DATE_NEG_INFINITY
        });
    }
    if input.trim().eq_ignore_ascii_case("epoch") {
        return Ok(-(UNIX_EPOCH_DAYS as i32));
    }
    let p = parse_iso(input, "date")?;
    let days = days_from_ymd(p.year, p.month, p.day);
    if !(MIN_TS_DAYS..=MAX_TS_DAYS).contains(&days) {
        return Err(SqlError::new(
            SqlState::DATETIME_FIELD_OVERFLOW,
            format!("date out of range: \"{input}\""),
        ));
    }
    i32::try_from(days).map_err(|_| date_out_of_range())
}

/// `timestamp` / `timestamptz` input. For `timestamp` an explicit offset is
/// ignored (as PostgreSQL does); for `timestamptz` the result is UTC and a
/// missing offset means the session zone.
pub fn parse_timestamp(input: &str, with_tz: Option<&TimeZone>) -> Result<i64, SqlError> {
    let type_name = if with_tz.is_some() {
        "timestamp with time zone"
    } else {
        "timestamp"
    };
    if let Some(pos) = special(input) {
        return Ok(if pos { TS_INFINITY } else { TS_NEG_INFINITY });
    }
    if input.trim().eq_ignore_ascii_case("epoch") {
        return Ok(-UNIX_EPOCH_DAYS * USECS_PER_DAY);
    }
    let p = parse_iso(input, type_name)?;
    let days = days_from_ymd(p.year, p.month, p.day);
    let local = days
        .checked_mul(USECS_PER_DAY)
        .and_then(|d| d.checked_add(p.time))
        .ok_or_else(|| out_of_range_input(input))?;
    let ts = match with_tz {
        None => local,
        Some(tz) => {
            let off = p.offset.unwrap_or(tz.offset_secs());
            local
                .checked_sub(i64::from(off) * USECS_PER_SEC)
                .ok_or_else(|| out_of_range_input(input))?
        }
    };
    check_ts(ts).map_err(|_| out_of_range_input(input))
}

fn out_of_range_input(input: &str) -> SqlError {
    SqlError::new(
        SqlState::DATETIME_FIELD_OVERFLOW,
        format!("timestamp out of range: \"{input}\""),
    )
}

/// Adds months to a timestamp, clamping the day to the month's end
/// (`2024-01-31 + 1 month = 2024-02-29`).
fn add_months(ts: i64, months: i32) -> Result<i64, SqlError> {
    if months == 0 {
        return Ok(ts);
    }
    let mut c = civil_from_ts(ts);
    let total = c.year * 12 + i64::from(c.month) - 1 + i64::from(months);
    c.year = total.div_euclid(12);
    c.month = (total.rem_euclid(12) + 1) as u32;
    c.day = c.day.min(days_in_month(c.year, c.month));
    ts_from_civil(&c)
}

/// `timestamp + interval`: months first (clamping the day), then days, then
/// microseconds, as PostgreSQL's `timestamp_pl_interval`. For timestamptz
/// the calendar arithmetic happens in the session zone (fixed offset, so
/// only the month/day steps need the local view).
pub fn ts_add_interval(ts: i64, iv: &Interval, tz: Option<&TimeZone>) -> Result<i64, SqlError> {
    if ts == TS_INFINITY || ts == TS_NEG_INFINITY {
        return Ok(ts);
    }
    let mut local = tz.map_or(ts, |z| utc_to_local(ts, z));
    local = add_months(local, iv.months)?;
    local = local
        .checked_add(
            i64::from(iv.days)
                .checked_mul(USECS_PER_DAY)
                .ok_or_else(ts_out_of_range)?,
        )
        .ok_or_else(ts_out_of_range)?;
    let back = match tz {
        Some(z) => local
            .checked_sub(i64::from(z.offset_secs()) * USECS_PER_SEC)
            .ok_or_else(ts_out_of_range)?,
        None => local,
    };
    check_ts(back.checked_add(iv.micros).ok_or_else(ts_out_of_range)?)
}

/// Negates an interval, erroring on overflow.
pub fn interval_neg(iv: &Interval) -> Result<Interval, SqlError> {
    Ok(Interval {
        months: iv.months.checked_neg().ok_or_else(interval_out_of_range)?,
        days: iv.days.checked_neg().ok_or_else(interval_out_of_range)?,
        micros: iv.micros.checked_neg().ok_or_else(interval_out_of_range)?,
    })
}

/// 22008 `interval out of range`.
pub fn interval_out_of_range() -> SqlError {
    SqlError::new(SqlState::DATETIME_FIELD_OVERFLOW, "interval out of range")
}

/// `timestamp - timestamp`: days and time, justified so that the time part
/// is under 24 hours with the days' sign (PostgreSQL's `timestamp_mi`).
pub fn ts_diff(a: i64, b: i64) -> Result<Interval, SqlError> {
    if [a, b]
        .iter()
        .any(|t| *t == TS_INFINITY || *t == TS_NEG_INFINITY)
    {
        return Err(interval_out_of_range());
    }
    let micros = a.checked_sub(b).ok_or_else(interval_out_of_range)?;
    justify_hours(&Interval {
        months: 0,
        days: 0,
        micros,
    })
}

/// `justify_hours`: moves whole 24-hour periods into days.
pub fn justify_hours(iv: &Interval) -> Result<Interval, SqlError> {
    let mut days = i64::from(iv.days) + iv.micros / USECS_PER_DAY;
    let mut micros = iv.micros % USECS_PER_DAY;
    if days > 0 && micros < 0 {
        micros += USECS_PER_DAY;
        days -= 1;
    } else if days < 0 && micros > 0 {
        micros -= USECS_PER_DAY;
        days += 1;
    }
    Ok(Interval {
        months: iv.months,
        days: i32::try_from(days).map_err(|_| interval_out_of_range())?,
        micros,
    })
}

/// `justify_days`: moves whole 30-day periods into months.
pub fn justify_days(iv: &Interval) -> Result<Interval, SqlError> {
    let mut months = i64::from(iv.months) + i64::from(iv.days / 30);
    let mut days = iv.days % 30;
    if months > 0 && days < 0 {
        days += 30;
        months -= 1;
    } else if months < 0 && days > 0 {
        days -= 30;
        months += 1;
    }
    Ok(Interval {
        months: i32::try_from(months).map_err(|_| interval_out_of_range())?,
        days,
        micros: iv.micros,
    })
}

/// `justify_interval`: both, with consistent signs.
pub fn justify_interval(iv: &Interval) -> Result<Interval, SqlError> {
    let mut months = i64::from(iv.months);
    let mut days = i64::from(iv.days) + iv.micros / USECS_PER_DAY;
    let mut micros = iv.micros % USECS_PER_DAY;
    months += days / 30;
    days %= 30;
    if months > 0 && (days < 0 || (days == 0 && micros < 0)) {
        days += 30;
        months -= 1;
    } else if months < 0 && (days > 0 || (days == 0 && micros > 0)) {
        days -= 30;
        months += 1;
    }
    if days > 0 && micros < 0 {
        micros += USECS_PER_DAY;
        days -= 1;
    } else if days < 0 && micros > 0 {
        micros -= USECS_PER_DAY;
        days += 1;
    }
    Ok(Interval {
        months: i32::try_from(months).map_err(|_| interval_out_of_range())?,
        days: i32::try_from(days).map_err(|_| interval_out_of_range())?,
        micros,
    })
}

/// An interval's total length in microseconds with 30-day months and
/// 24-hour days: PostgreSQL's comparison key for intervals.
pub fn interval_span(iv: &Interval) -> i128 {
    (i128::from(iv.months) * 30 + i128::from(iv.days)) * i128::from(USECS_PER_DAY)
        + i128::from(iv.micros)
}

/// Accumulates interval fields while parsing, in floating point for the
/// fractional cascade (`1.5 months` = 1 month 15 days).
#[derive(Default)]
struct IntervalAcc {
    months: f64,
    days: f64,
    micros: f64,
}

impl IntervalAcc {
    fn add(&mut self, v: f64, unit: &str) -> bool {
        let (months, days, micros) = match unit {
            "microsecond" | "microseconds" | "usec" | "usecs" | "us" => (0.0, 0.0, 1.0),
            "millisecond" | "milliseconds" | "msec" | "msecs" | "ms" => (0.0, 0.0, 1e3),
            "second" | "seconds" | "sec" | "secs" | "s" => (0.0, 0.0, 1e6),
            "minute" | "minutes" | "min" | "mins" | "m" => (0.0, 0.0, 6e7),
            "hour" | "hours" | "hr" | "hrs" | "h" => (0.0, 0.0, 3.6e9),
            "day" | "days" | "d" => (0.0, 1.0, 0.0),
            "week" | "weeks" | "w" => (0.0, 7.0, 0.0),
            "month" | "months" | "mon" | "mons" => (1.0, 0.0, 0.0),
            "year" | "years" | "yr" | "yrs" | "y" => (12.0, 0.0, 0.0),
            "decade" | "decades" => (120.0, 0.0, 0.0),
            "century" | "centuries" => (1200.0, 0.0, 0.0),
            "millennium" | "millennia" | "millenniums" => (12000.0, 0.0, 0.0),
            _ => return false,
        };
        if months != 0.0 {
            let m = v * months;
            let whole = m.trunc();
            self.months += whole;
            // Fractional months become 30-day days, fractional days time.
            let d = (m - whole) * 30.0;
            self.days += d.trunc();
            self.micros += ((d - d.trunc()) * USECS_PER_DAY as f64).round();
        } else if days != 0.0 {
            let d = v * days;
            self.days += d.trunc();
            self.micros += ((d - d.trunc()) * USECS_PER_DAY as f64).round();
        } else {
            self.micros += (v * micros).round();
        }
        true
    }

    fn finish(self, negate: bool, input: &str) -> Result<Interval, SqlError> {
        let s = if negate { -1.0 } else { 1.0 };
        let conv32 = |x: f64| {
            let x = x * s;
            if x.is_finite() && x >= f64::from(i32::MIN) && x <= f64::from(i32::MAX) {
                Ok(x as i32)
            } else {
                Err(interval_field_overflow(input))
            }
        };
        let micros = self.micros * s;
        if !micros.is_finite() || micros.abs() >= 9.2e18 {
            return Err(interval_field_overflow(input));
        }
        Ok(Interval {
            months: conv32(self.months)?,
            days: conv32(self.days)?,
            // Round: decimal fractions of seconds are inexact in binary.
            micros: micros.round() as i64,
        })
    }
}

fn interval_field_overflow(input: &str) -> SqlError {
    SqlError::new(
        SqlState::DATETIME_FIELD_OVERFLOW,
        format!("interval field value out of range: \"{input}\""),
    )
}

/// Parses a signed decimal number at the start of `s`; returns it and the
/// rest.
fn leading_number(s: &str) -> Option<(f64, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let digits_start = i;
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'.') {
        i += 1;
    }
    if i == digits_start {
        return None;
    }
    let v: f64 = s.get(..i)?.parse().ok()?;
    Some((v, s.get(i..)?))
}

/// `interval` input: PostgreSQL's verbose syntax (`1 year 2 mons`,
/// `1 day 02:03:04`, `-1 week`, `@ 1 minute ago`, a bare number of seconds)
/// and ISO 8601 durations (`P1Y2M3DT4H5M6S`, `PT1.5S`, `P2W`).
pub fn parse_interval(input: &str) -> Result<Interval, SqlError> {
    let bad = || bad_datetime("interval", input);
    let s = input.trim();
    if s.is_empty() {
        return Err(bad());
    }
    if s.starts_with(['P', 'p']) {
        return parse_iso_interval(s, input);
    }
    let s = s.strip_prefix('@').unwrap_or(s);
    let lower = s.to_ascii_lowercase();
    let mut tokens: Vec<&str> = lower.split_whitespace().collect();
    let ago = tokens.last() == Some(&"ago");
    if ago {
        tokens.pop();
    }
    if tokens.is_empty() {
        return Err(bad());
    }
    let mut acc = IntervalAcc::default();
    let mut i = 0;
    while i < tokens.len() {
        let tok = tokens[i];
        if tok.contains(':') {
            let (neg, body) = match tok.as_bytes().first() {
                Some(b'-') => (true, &tok[1..]),
                Some(b'+') => (false, &tok[1..]),
                _ => (false, tok),
            };
            let micros = parse_interval_time(body).ok_or_else(bad)?;
            acc.micros += if neg { -micros } else { micros };
            i += 1;
            continue;
        }
        // A number with the unit attached (`10min`) or in the next token.
        let (v, rest) = leading_number(tok).ok_or_else(bad)?;
        let unit = if !rest.is_empty() {
            rest
        } else if let Some(next) = tokens
            .get(i + 1)
            .filter(|t| leading_number(t).is_none() && !t.contains(':'))
        {
            i += 1;
            next
        } else {
            "second" // a bare number is seconds
        };
        if !acc.add(v, unit) {
            return Err(bad());
        }
        i += 1;
    }
    acc.finish(ago, input)
}

/// `HH:MM`, `HH:MM:SS[.f]` or (with a fraction) `MM:SS.f`, in microseconds.
fn parse_interval_time(s: &str) -> Option<f64> {
    let parts: Vec<&str> = s.split(':').collect();
    let num = |p: &str| -> Option<f64> {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return None;
        }
        p.parse().ok()
    };
    match parts.as_slice() {
        [a, b] if b.contains('.') => Some(num(a)? * 6e7 + num(b)? * 1e6),
        [a, b] => Some(num(a)? * 3.6e9 + num(b)? * 6e7),
        [a, b, c] if !a.contains('.') && !b.contains('.') => {
            Some(num(a)? * 3.6e9 + num(b)? * 6e7 + num(c)? * 1e6)
        }
        _ => None,
    }
}

fn parse_iso_interval(s: &str, input: &str) -> Result<Interval, SqlError> {
    let bad = || bad_datetime("interval", input);
    let mut acc = IntervalAcc::default();
    let mut rest = s.get(1..).ok_or_else(bad)?;
    let mut in_time = false;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix(['T', 't']) {
            in_time = true;
            rest = r;
            continue;
        }
        let (v, r) = leading_number(rest).ok_or_else(bad)?;
        let unit = r.chars().next().ok_or_else(bad)?.to_ascii_uppercase();
        let name = match (unit, in_time) {
            ('Y', false) => "year",
            ('M', false) => "month",
            ('W', false) => "week",
            ('D', false) => "day",
            ('H', true) => "hour",
            ('M', true) => "minute",
            ('S', true) => "second",
            _ => return Err(bad()),
        };
        acc.add(v, name);
        rest = r.get(1..).ok_or_else(bad)?;
    }
    acc.finish(false, input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips() {
        assert_eq!(days_from_ymd(2000, 1, 1), 0);
        assert_eq!(ymd_from_days(0), (2000, 1, 1));
        assert_eq!(days_from_ymd(1970, 1, 1), -UNIX_EPOCH_DAYS);
        for d in (-3_000_000..3_000_000).step_by(997) {
            let (y, m, dd) = ymd_from_days(d);
            assert_eq!(days_from_ymd(y, m, dd), d);
        }
    }

    #[test]
    fn formats_like_postgres() {
        assert_eq!(format_date(days_from_ymd(2024, 1, 31) as i32), "2024-01-31");
        assert_eq!(
            format_date(days_from_ymd(-43, 3, 15) as i32),
            "0044-03-15 BC"
        );
        let ts = parse_timestamp("2024-01-31 13:45:00.5", None).unwrap();
        assert_eq!(format_timestamp(ts, None), "2024-01-31 13:45:00.5");
        let utc = TimeZone::utc();
        let tstz = parse_timestamp("2024-01-01 00:00:00+05:30", Some(&utc)).unwrap();
        assert_eq!(format_timestamp(tstz, Some(&utc)), "2023-12-31 18:30:00+00");
        let ist = TimeZone::from_utc_offset(19800).unwrap();
        assert_eq!(
            format_timestamp(tstz, Some(&ist)),
            "2024-01-01 00:00:00+05:30"
        );
        assert_eq!(format_timestamp(TS_INFINITY, None), "infinity");
    }

    #[test]
    fn timestamp_input_forms() {
        let p = |s: &str| parse_timestamp(s, None).map(|t| format_timestamp(t, None));
        assert_eq!(p("2024-01-31T13:45:00").unwrap(), "2024-01-31 13:45:00");
        assert_eq!(p(" 2024-01-31 ").unwrap(), "2024-01-31 00:00:00");
        assert_eq!(p("2024-01-31 13:45:00+02").unwrap(), "2024-01-31 13:45:00");
        assert_eq!(
            p("2024-01-31 13:45:00.1234567").unwrap(),
            "2024-01-31 13:45:00.123457"
        );
        assert_eq!(
            p("2024-02-30").unwrap_err().code,
            SqlState::DATETIME_FIELD_OVERFLOW
        );
        assert_eq!(
            p("2024-02-30").unwrap_err().message,
            "date/time field value out of range: \"2024-02-30\""
        );
        assert_eq!(
            p("garbage").unwrap_err().code,
            SqlState::INVALID_DATETIME_FORMAT
        );
        assert_eq!(
            p("2024-01-01 25:00").unwrap_err().code,
            SqlState::DATETIME_FIELD_OVERFLOW
        );
        let z = parse_timestamp(
            "2024-06-01 12:00Z",
            Some(&TimeZone::from_utc_offset(3600).unwrap()),
        )
        .unwrap();
        assert_eq!(
            format_timestamp(z, Some(&TimeZone::utc())),
            "2024-06-01 12:00:00+00"
        );
        let local = parse_timestamp(
            "2024-06-01 12:00",
            Some(&TimeZone::from_utc_offset(3600).unwrap()),
        )
        .unwrap();
        assert_eq!(
            format_timestamp(local, Some(&TimeZone::utc())),
            "2024-06-01 11:00:00+00"
        );
        assert_eq!(
            parse_date("2024-01-31 13:45").unwrap(),
            days_from_ymd(2024, 1, 31) as i32
        );
        assert_eq!(parse_date("epoch").unwrap(), -10957);
    }

    #[test]
    fn interval_text() {
        let f = |s: &str| format_interval(&parse_interval(s).unwrap());
        assert_eq!(
            f("1 year 2 mons 3 days 04:05:06"),
            "1 year 2 mons 3 days 04:05:06"
        );
        assert_eq!(f("-1 sec"), "-00:00:01");
        assert_eq!(f("0"), "00:00:00");
        assert_eq!(f("-1 day 2 hours"), "-1 days +02:00:00");
        assert_eq!(f("1 mon -1 day -00:00:01.5"), "1 mon -1 days -00:00:01.5");
        assert_eq!(f("1.5 years"), "1 year 6 mons");
        assert_eq!(f("1.5 mons"), "1 mon 15 days");
        assert_eq!(f("5"), "00:00:05");
        assert_eq!(f("1:30"), "01:30:00");
        assert_eq!(f("00:01.5"), "00:00:01.5");
        assert_eq!(f("@ 1 minute ago"), "-00:01:00");
        assert_eq!(f("P1Y2M3DT4H5M6S"), "1 year 2 mons 3 days 04:05:06");
        assert_eq!(f("1 day 02:03:04"), "1 day 02:03:04");
        assert_eq!(f("-1 week"), "-7 days");
        assert_eq!(f("2 hours 30 minutes"), "02:30:00");
        assert_eq!(f("10min"), "00:10:00");
        assert_eq!(f("-2 years -3 mons"), "-2 years -3 mons");
        assert!(parse_interval("abc").is_err());
        assert!(parse_interval("").is_err());
        assert!(parse_interval("1 fortnight").is_err());
        assert!(parse_interval("99999999999 years").is_err());
    }

    #[test]
    fn interval_arithmetic() {
        let ts = |s: &str| parse_timestamp(s, None).unwrap();
        let iv = |s: &str| parse_interval(s).unwrap();
        let r = ts_add_interval(ts("2024-01-31"), &iv("1 month"), None).unwrap();
        assert_eq!(format_timestamp(r, None), "2024-02-29 00:00:00");
        let d = ts_diff(ts("2024-03-01"), ts("2024-01-01 01:00")).unwrap();
        assert_eq!(format_interval(&d), "59 days 23:00:00");
        let j = justify_interval(&Interval {
            months: 1,
            days: -1,
            micros: 0,
        })
        .unwrap();
        assert_eq!(format_interval(&j), "29 days");
    }
}
