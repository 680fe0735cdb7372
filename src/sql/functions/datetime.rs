//! Date/time functions: `extract`/`date_part`, `date_trunc`, `age`,
//! `to_char` and `to_timestamp`/`to_date` with format strings.

use super::{float, int, is_int, is_num, is_str, is_time, text, undefined_function, FnContext};
use crate::error::{SqlError, SqlState};
use crate::value::datetime::{
    civil_from_ts, days_from_ymd, days_in_month, local_to_utc, ts_from_civil, utc_to_local, Civil,
    DATE_INFINITY, DATE_NEG_INFINITY, TS_INFINITY, TS_NEG_INFINITY, UNIX_EPOCH_DAYS, USECS_PER_DAY,
    USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC,
};
use crate::value::datetime::{
    date_to_ts, justify_days, justify_hours, justify_interval, ts_to_date,
};
use crate::value::numeric::{parse_numeric, to_f64};
use crate::value::tz::{format_offset, TimeZone};
use crate::value::{DataType, Interval, Numeric, Value};

/// Renders one `to_char` template pattern.
type Render<'a> = Box<dyn Fn() -> String + 'a>;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn unit_not_supported(unit: &str, type_name: &str) -> SqlError {
    SqlError::new(
        SqlState::FEATURE_NOT_SUPPORTED,
        format!("unit \"{unit}\" not supported for type {type_name}"),
    )
}

fn unit_not_recognized(unit: &str, type_name: &str) -> SqlError {
    SqlError::new(
        SqlState::INVALID_PARAMETER_VALUE,
        format!("unit \"{unit}\" not recognized for type {type_name}"),
    )
}

/// Canonical field name for the many spellings PostgreSQL accepts.
fn canonical_unit(unit: &str) -> String {
    let u = unit.trim().to_ascii_lowercase();
    match u.as_str() {
        "microseconds" | "microsecond" | "us" | "usec" | "usecs" | "useconds" => "microseconds",
        "milliseconds" | "millisecond" | "ms" | "msec" | "msecs" | "mseconds" => "milliseconds",
        "second" | "seconds" | "sec" | "secs" | "s" => "second",
        "minute" | "minutes" | "min" | "mins" | "m" => "minute",
        "hour" | "hours" | "hr" | "hrs" | "h" => "hour",
        "day" | "days" | "d" => "day",
        "week" | "weeks" | "w" => "week",
        "month" | "months" | "mon" | "mons" => "month",
        "quarter" | "qtr" => "quarter",
        "year" | "years" | "yr" | "yrs" | "y" => "year",
        "decade" | "decades" => "decade",
        "century" | "centuries" => "century",
        "millennium" | "millennia" | "millenniums" => "millennium",
        _ => return u,
    }
    .to_string()
}

/// Day of week, 0 = Sunday.
fn dow(days: i64) -> i64 {
    // 2000-01-01 was a Saturday.
    (days + 6).rem_euclid(7)
}

/// ISO 8601 week number and ISO year of a date.
fn iso_week(days: i64) -> (i64, i64) {
    let (y, _, _) = crate::value::datetime::ymd_from_days(days);
    let iso_dow = |d: i64| (dow(d) + 6) % 7; // Monday = 0
    let week1_start = |year: i64| {
        let jan4 = days_from_ymd(year, 1, 4);
        jan4 - iso_dow(jan4)
    };
    let mut year = y;
    if days >= week1_start(y + 1) {
        year = y + 1;
    } else if days < week1_start(y) {
        year = y - 1;
    }
    ((days - week1_start(year)) / 7 + 1, year)
}

fn num(text: String) -> Result<Numeric, SqlError> {
    parse_numeric(&text)
}

/// Seconds plus microseconds as a numeric with 6 decimals (`5.500000`).
fn micros_numeric(micros: i128, scale_div: i128, decimals: usize) -> Result<Numeric, SqlError> {
    let neg = micros < 0;
    let a = micros.unsigned_abs();
    let d = scale_div as u128;
    let frac_digits = 10u128.pow(decimals as u32);
    let whole = a / d;
    let frac = (a % d) * frac_digits / d;
    num(format!(
        "{}{whole}.{frac:0decimals$}",
        if neg { "-" } else { "" }
    ))
}

/// `extract(field FROM value)` as PostgreSQL 14+ computes it (a numeric).
/// `tz` is used for timestamptz fields.
pub fn extract(field: &str, value: &Value, tz: &TimeZone) -> Result<Numeric, SqlError> {
    let unit = canonical_unit(field);
    match value {
        Value::Interval(iv) => extract_interval(&unit, field, iv),
        Value::Date(d) => {
            if *d == DATE_INFINITY || *d == DATE_NEG_INFINITY {
                return infinite_field(&unit, field, "date");
            }
            if matches!(
                unit.as_str(),
                "hour" | "minute" | "second" | "milliseconds" | "microseconds"
            ) {
                return Err(unit_not_supported(field, "date"));
            }
            if unit == "epoch" {
                return num(((i64::from(*d) + UNIX_EPOCH_DAYS) * 86400).to_string());
            }
            extract_ts(
                &unit,
                field,
                crate::value::datetime::date_to_ts(*d)?,
                None,
                "date",
            )
        }
        Value::Timestamp(t) => {
            if *t == TS_INFINITY || *t == TS_NEG_INFINITY {
                return infinite_field(&unit, field, "timestamp");
            }
            extract_ts(&unit, field, *t, None, "timestamp without time zone")
        }
        Value::Timestamptz(t) => {
            if *t == TS_INFINITY || *t == TS_NEG_INFINITY {
                return infinite_field(&unit, field, "timestamp with time zone");
            }
            extract_ts(&unit, field, *t, Some(tz), "timestamp with time zone")
        }
        other => Err(SqlError::new(
            SqlState::UNDEFINED_FUNCTION,
            format!(
                "function extract(unknown, {}) does not exist",
                other.data_type()
            ),
        )),
    }
}

/// PostgreSQL returns ±Infinity (epoch, year, …) or NULL (other fields)
/// for infinite inputs; our numeric has no infinities, so this reports the
/// limitation instead of inventing a value.
fn infinite_field(unit: &str, field: &str, type_name: &str) -> Result<Numeric, SqlError> {
    if !unit_known(unit) {
        return Err(unit_not_recognized(field, type_name));
    }
    Err(SqlError::new(
        SqlState::FEATURE_NOT_SUPPORTED,
        format!("cannot extract \"{field}\" from an infinite {type_name}"),
    ))
}

fn unit_known(unit: &str) -> bool {
    matches!(
        unit,
        "microseconds"
            | "milliseconds"
            | "second"
            | "minute"
            | "hour"
            | "day"
            | "week"
            | "month"
            | "quarter"
            | "year"
            | "decade"
            | "century"
            | "millennium"
            | "dow"
            | "isodow"
            | "doy"
            | "epoch"
            | "isoyear"
            | "timezone"
            | "timezone_hour"
            | "timezone_minute"
            | "julian"
    )
}

fn extract_ts(
    unit: &str,
    field: &str,
    ts: i64,
    tz: Option<&TimeZone>,
    type_name: &str,
) -> Result<Numeric, SqlError> {
    if unit == "epoch" {
        // Epoch is always relative to UTC (for timestamp, the local time
        // is taken as UTC).
        let micros = i128::from(ts) + i128::from(UNIX_EPOCH_DAYS) * i128::from(USECS_PER_DAY);
        return micros_numeric(micros, 1_000_000, 6);
    }
    let local = tz.map_or(ts, |z| utc_to_local(ts, z));
    let c = civil_from_ts(local);
    let days = local.div_euclid(USECS_PER_DAY);
    let sec_micros = i128::from(c.second) * 1_000_000 + i128::from(c.micros);
    let v: i64 = match unit {
        "microseconds" => return num(sec_micros.to_string()),
        "milliseconds" => return micros_numeric(sec_micros, 1000, 3),
        "second" => return micros_numeric(sec_micros, 1_000_000, 6),
        "minute" => i64::from(c.minute),
        "hour" => i64::from(c.hour),
        "day" => i64::from(c.day),
        "month" => i64::from(c.month),
        "quarter" => i64::from((c.month - 1) / 3 + 1),
        "year" => {
            if c.year <= 0 {
                c.year - 1
            } else {
                c.year
            }
        }
        "decade" => c.year.div_euclid(10),
        "century" => {
            if c.year > 0 {
                (c.year + 99) / 100
            } else {
                -((99 - (c.year - 1)) / 100)
            }
        }
        "millennium" => {
            if c.year > 0 {
                (c.year + 999) / 1000
            } else {
                -((999 - (c.year - 1)) / 1000)
            }
        }
        "dow" => dow(days),
        "isodow" => {
            let d = dow(days);
            if d == 0 {
                7
            } else {
                d
            }
        }
        "doy" => days - days_from_ymd(c.year, 1, 1) + 1,
        "week" => iso_week(days).0,
        "isoyear" => iso_week(days).1,
        "julian" => days + 2_451_545,
        "timezone" if tz.is_some() => i64::from(tz.map_or(0, TimeZone::offset_secs)),
        "timezone_hour" if tz.is_some() => i64::from(tz.map_or(0, TimeZone::offset_secs) / 3600),
        "timezone_minute" if tz.is_some() => {
            i64::from(tz.map_or(0, TimeZone::offset_secs) / 60 % 60)
        }
        u if unit_known(u) => return Err(unit_not_supported(field, type_name)),
        _ => return Err(unit_not_recognized(field, type_name)),
    };
    num(v.to_string())
}

fn extract_interval(unit: &str, field: &str, iv: &Interval) -> Result<Numeric, SqlError> {
    let sec_micros = i128::from(iv.micros % USECS_PER_MINUTE);
    let v: i64 = match unit {
        "epoch" => {
            // PostgreSQL: years count 365.25 days, leftover months 30 days.
            let years = i128::from(iv.months / 12);
            let months = i128::from(iv.months % 12);
            let micros = years * 36_525 * 864_000_000
                + months * 30 * 86_400_000_000
                + i128::from(iv.days) * 86_400_000_000
                + i128::from(iv.micros);
            return micros_numeric(micros, 1_000_000, 6);
        }
        "microseconds" => return num(sec_micros.to_string()),
        "milliseconds" => return micros_numeric(sec_micros, 1000, 3),
        "second" => return micros_numeric(sec_micros, 1_000_000, 6),
        "minute" => iv.micros / USECS_PER_MINUTE % 60,
        "hour" => iv.micros / USECS_PER_HOUR,
        "day" => i64::from(iv.days),
        "month" => i64::from(iv.months % 12),
        "quarter" => i64::from(iv.months % 12 / 3 + 1),
        "year" => i64::from(iv.months / 12),
        "decade" => i64::from(iv.months / 120),
        "century" => i64::from(iv.months / 1200),
        "millennium" => i64::from(iv.months / 12000),
        u if unit_known(u) => return Err(unit_not_supported(field, "interval")),
        _ => return Err(unit_not_recognized(field, "interval")),
    };
    num(v.to_string())
}

fn trunc_civil(
    unit: &str,
    field: &str,
    c: &mut Civil,
    days: i64,
    type_name: &str,
) -> Result<(), SqlError> {
    let clear_time = |c: &mut Civil| {
        c.hour = 0;
        c.minute = 0;
        c.second = 0;
        c.micros = 0;
    };
    match unit {
        "microseconds" => {}
        "milliseconds" => c.micros -= c.micros % 1000,
        "second" => c.micros = 0,
        "minute" => {
            c.second = 0;
            c.micros = 0;
        }
        "hour" => {
            c.minute = 0;
            c.second = 0;
            c.micros = 0;
        }
        "day" => clear_time(c),
        "week" => {
            clear_time(c);
            let monday = days - (dow(days) + 6) % 7;
            let (y, m, d) = crate::value::datetime::ymd_from_days(monday);
            c.year = y;
            c.month = m;
            c.day = d;
        }
        "month" | "quarter" | "year" | "decade" | "century" | "millennium" => {
            clear_time(c);
            c.day = 1;
            match unit {
                "quarter" => c.month = (c.month - 1) / 3 * 3 + 1,
                "month" => {}
                _ => {
                    c.month = 1;
                    match unit {
                        "decade" => c.year = c.year.div_euclid(10) * 10,
                        "century" => c.year = (c.year - 1).div_euclid(100) * 100 + 1,
                        "millennium" => c.year = (c.year - 1).div_euclid(1000) * 1000 + 1,
                        _ => {}
                    }
                }
            }
        }
        u if unit_known(u) => return Err(unit_not_supported(field, type_name)),
        _ => return Err(unit_not_recognized(field, type_name)),
    }
    Ok(())
}

/// `date_trunc(field, timestamp)`; for timestamptz the truncation happens
/// in the session zone.
pub fn date_trunc(field: &str, value: &Value, tz: &TimeZone) -> Result<Value, SqlError> {
    let unit = canonical_unit(field);
    match value {
        Value::Timestamp(t) | Value::Timestamptz(t)
            if *t == TS_INFINITY || *t == TS_NEG_INFINITY =>
        {
            Ok(value.clone())
        }
        Value::Timestamp(t) => {
            let mut c = civil_from_ts(*t);
            trunc_civil(
                &unit,
                field,
                &mut c,
                t.div_euclid(USECS_PER_DAY),
                "timestamp without time zone",
            )?;
            Ok(Value::Timestamp(ts_from_civil(&c)?))
        }
        Value::Timestamptz(t) => {
            let local = utc_to_local(*t, tz);
            let mut c = civil_from_ts(local);
            trunc_civil(
                &unit,
                field,
                &mut c,
                local.div_euclid(USECS_PER_DAY),
                "timestamp with time zone",
            )?;
            Ok(Value::Timestamptz(local_to_utc(ts_from_civil(&c)?, tz)?))
        }
        Value::Interval(iv) => {
            let mut r = *iv;
            let m = |x: i32, n: i32| x - x % n;
            match unit.as_str() {
                "millennium" => {
                    r = Interval {
                        months: m(iv.months, 12000),
                        days: 0,
                        micros: 0,
                    }
                }
                "century" => {
                    r = Interval {
                        months: m(iv.months, 1200),
                        days: 0,
                        micros: 0,
                    }
                }
                "decade" => {
                    r = Interval {
                        months: m(iv.months, 120),
                        days: 0,
                        micros: 0,
                    }
                }
                "year" => {
                    r = Interval {
                        months: m(iv.months, 12),
                        days: 0,
                        micros: 0,
                    }
                }
                "quarter" => {
                    r = Interval {
                        months: m(iv.months, 3),
                        days: 0,
                        micros: 0,
                    }
                }
                "month" => {
                    r = Interval {
                        months: iv.months,
                        days: 0,
                        micros: 0,
                    }
                }
                "day" => r.micros = 0,
                "hour" => r.micros -= iv.micros % USECS_PER_HOUR,
                "minute" => r.micros -= iv.micros % USECS_PER_MINUTE,
                "second" => r.micros -= iv.micros % USECS_PER_SEC,
                "milliseconds" => r.micros -= iv.micros % 1000,
                "microseconds" => {}
                u if unit_known(u) => return Err(unit_not_supported(field, "interval")),
                _ => return Err(unit_not_recognized(field, "interval")),
            }
            Ok(Value::Interval(r))
        }
        other => Err(SqlError::new(
            SqlState::UNDEFINED_FUNCTION,
            format!(
                "function date_trunc(unknown, {}) does not exist",
                other.data_type()
            ),
        )),
    }
}

/// `age(a, b)`: a symbolic difference in years, months and days
/// (PostgreSQL's `timestamp_age`, borrowing from the month before `a` or
/// `b` as PostgreSQL does).
pub fn age(a: i64, b: i64) -> Result<Interval, SqlError> {
    if [a, b]
        .iter()
        .any(|t| *t == TS_INFINITY || *t == TS_NEG_INFINITY)
    {
        return Err(crate::value::datetime::interval_out_of_range());
    }
    let (c1, c2) = (civil_from_ts(a), civil_from_ts(b));
    let mut fsec = i64::from(c1.micros) - i64::from(c2.micros);
    let mut sec = i64::from(c1.second) - i64::from(c2.second);
    let mut min = i64::from(c1.minute) - i64::from(c2.minute);
    let mut hour = i64::from(c1.hour) - i64::from(c2.hour);
    let mut mday = i64::from(c1.day) - i64::from(c2.day);
    let mut mon = i64::from(c1.month) - i64::from(c2.month);
    let mut year = c1.year - c2.year;
    let flip = a < b;
    if flip {
        for f in [
            &mut fsec, &mut sec, &mut min, &mut hour, &mut mday, &mut mon, &mut year,
        ] {
            *f = -*f;
        }
    }
    while fsec < 0 {
        fsec += USECS_PER_SEC;
        sec -= 1;
    }
    while sec < 0 {
        sec += 60;
        min -= 1;
    }
    while min < 0 {
        min += 60;
        hour -= 1;
    }
    while hour < 0 {
        hour += 24;
        mday -= 1;
    }
    while mday < 0 {
        let c = if flip { &c1 } else { &c2 };
        mday += i64::from(days_in_month(c.year, c.month));
        mon -= 1;
    }
    while mon < 0 {
        mon += 12;
        year -= 1;
    }
    if flip {
        for f in [
            &mut fsec, &mut sec, &mut min, &mut hour, &mut mday, &mut mon, &mut year,
        ] {
            *f = -*f;
        }
    }
    let months = year.checked_mul(12).and_then(|y| y.checked_add(mon));
    Ok(Interval {
        months: months
            .and_then(|m| i32::try_from(m).ok())
            .ok_or_else(crate::value::datetime::interval_out_of_range)?,
        days: i32::try_from(mday).map_err(|_| crate::value::datetime::interval_out_of_range())?,
        micros: hour * USECS_PER_HOUR + min * USECS_PER_MINUTE + sec * USECS_PER_SEC + fsec,
    })
}

/// `to_char(timestamp, format)` for the common template patterns: `YYYY`,
/// `YY`, `MM`, `DD`, `DDD`, `D`, `HH24`, `HH12`/`HH`, `MI`, `SS`, `MS`,
/// `US`, `AM`/`PM`, `Mon`/`MON`/`mon`, `Month`/`MONTH`/`month`,
/// `Dy`/`DY`/`dy`, `Day`/`DAY`/`day`, `Q`, `WW`, `IW`, `TZ`, `OF`, the `FM`
/// prefix, and `"quoted text"`. `offset` is the zone offset to print for
/// timestamptz.
pub fn to_char(ts: i64, offset: Option<i32>, fmt: &str) -> String {
    if ts == TS_INFINITY || ts == TS_NEG_INFINITY {
        return String::new();
    }
    let c = civil_from_ts(ts);
    let days = ts.div_euclid(USECS_PER_DAY);
    let f: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let starts = |i: usize, p: &str| {
        let pc: Vec<char> = p.chars().collect();
        f.get(i..i + pc.len()).is_some_and(|s| s == pc.as_slice())
    };
    while i < f.len() {
        let mut fm = false;
        if starts(i, "FM") || starts(i, "fm") {
            fm = true;
            i += 2;
        }
        let pad_num = |v: i64, width: usize| {
            if fm {
                v.to_string()
            } else {
                format!("{v:0width$}")
            }
        };
        let name_case = |name: &str, pat: &str, full: bool| {
            let s = if pat.chars().all(|ch| ch.is_ascii_uppercase()) {
                name.to_uppercase()
            } else if pat.chars().all(|ch| ch.is_ascii_lowercase()) {
                name.to_lowercase()
            } else {
                name.to_string()
            };
            if full && !fm {
                format!("{s:<9}")
            } else {
                s
            }
        };
        let hour12 = if c.hour.is_multiple_of(12) {
            12
        } else {
            c.hour % 12
        };
        // Longest patterns first.
        let patterns: [(&str, Render); 35] = [
            ("YYYY", Box::new(|| pad_num(c.year, 4))),
            ("HH24", Box::new(|| pad_num(i64::from(c.hour), 2))),
            ("HH12", Box::new(|| pad_num(i64::from(hour12), 2))),
            (
                "MONTH",
                Box::new(|| name_case(MONTHS[c.month as usize - 1], "MONTH", true)),
            ),
            (
                "Month",
                Box::new(|| name_case(MONTHS[c.month as usize - 1], "Month", true)),
            ),
            (
                "month",
                Box::new(|| name_case(MONTHS[c.month as usize - 1], "month", true)),
            ),
            (
                "DDD",
                Box::new(|| pad_num(days - days_from_ymd(c.year, 1, 1) + 1, 3)),
            ),
            (
                "DAY",
                Box::new(|| name_case(DAYS[dow(days) as usize], "DAY", true)),
            ),
            (
                "Day",
                Box::new(|| name_case(DAYS[dow(days) as usize], "Day", true)),
            ),
            (
                "day",
                Box::new(|| name_case(DAYS[dow(days) as usize], "day", true)),
            ),
            (
                "MON",
                Box::new(|| name_case(&MONTHS[c.month as usize - 1][..3], "MON", false)),
            ),
            (
                "Mon",
                Box::new(|| name_case(&MONTHS[c.month as usize - 1][..3], "Mon", false)),
            ),
            (
                "mon",
                Box::new(|| name_case(&MONTHS[c.month as usize - 1][..3], "mon", false)),
            ),
            (
                "DY",
                Box::new(|| name_case(&DAYS[dow(days) as usize][..3], "DY", false)),
            ),
            (
                "Dy",
                Box::new(|| name_case(&DAYS[dow(days) as usize][..3], "Dy", false)),
            ),
            (
                "dy",
                Box::new(|| name_case(&DAYS[dow(days) as usize][..3], "dy", false)),
            ),
            ("YY", Box::new(|| pad_num(c.year.rem_euclid(100), 2))),
            ("MM", Box::new(|| pad_num(i64::from(c.month), 2))),
            ("DD", Box::new(|| pad_num(i64::from(c.day), 2))),
            ("HH", Box::new(|| pad_num(i64::from(hour12), 2))),
            ("MI", Box::new(|| pad_num(i64::from(c.minute), 2))),
            ("SS", Box::new(|| pad_num(i64::from(c.second), 2))),
            ("MS", Box::new(|| pad_num(i64::from(c.micros / 1000), 3))),
            ("US", Box::new(|| pad_num(i64::from(c.micros), 6))),
            (
                "AM",
                Box::new(|| if c.hour < 12 { "AM" } else { "PM" }.into()),
            ),
            (
                "PM",
                Box::new(|| if c.hour < 12 { "AM" } else { "PM" }.into()),
            ),
            (
                "am",
                Box::new(|| if c.hour < 12 { "am" } else { "pm" }.into()),
            ),
            (
                "pm",
                Box::new(|| if c.hour < 12 { "am" } else { "pm" }.into()),
            ),
            (
                "WW",
                Box::new(|| pad_num((days - days_from_ymd(c.year, 1, 1)) / 7 + 1, 2)),
            ),
            ("IW", Box::new(|| pad_num(iso_week(days).0, 2))),
            (
                "TZ",
                Box::new(|| offset.map_or(String::new(), |o| format_offset(o, false))),
            ),
            (
                "OF",
                Box::new(|| offset.map_or(String::new(), |o| format_offset(o, false))),
            ),
            ("Q", Box::new(|| ((c.month - 1) / 3 + 1).to_string())),
            ("D", Box::new(|| (dow(days) + 1).to_string())),
            ("Y", Box::new(|| c.year.rem_euclid(10).to_string())),
        ];
        if let Some((p, render)) = patterns.iter().find(|(p, _)| starts(i, p)) {
            out.push_str(&render());
            i += p.chars().count();
            continue;
        }
        if f[i] == '"' {
            i += 1;
            while i < f.len() && f[i] != '"' {
                if f[i] == '\\' && i + 1 < f.len() {
                    i += 1;
                }
                out.push(f[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        out.push(f[i]);
        i += 1;
    }
    out
}

fn bad_format(input: &str) -> SqlError {
    SqlError::new(
        SqlState::INVALID_DATETIME_FORMAT,
        format!("invalid value \"{input}\" for format string"),
    )
}

/// `to_timestamp(text, format)` / `to_date(text, format)` for the patterns
/// `YYYY`, `YY`, `MM`, `DD`, `DDD`? (not supported), `HH24`, `HH12`/`HH`,
/// `MI`, `SS`, `MS`, `US`, `AM`/`PM`, `Mon`/`Month` (any case). Separators
/// in the format skip any non-alphanumeric characters in the input.
/// Returns the local timestamp (no zone applied).
pub fn parse_with_format(input: &str, fmt: &str) -> Result<i64, SqlError> {
    let s: Vec<char> = input.chars().collect();
    let f: Vec<char> = fmt.chars().collect();
    let (mut si, mut fi) = (0usize, 0usize);
    let mut c = Civil {
        year: 1,
        month: 1,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
        micros: 0,
    };
    let mut pm: Option<bool> = None;
    let fstarts = |fi: usize, p: &str| {
        let pc: Vec<char> = p.chars().collect();
        f.get(fi..fi + pc.len())
            .is_some_and(|x| x.iter().zip(&pc).all(|(a, b)| a.eq_ignore_ascii_case(b)))
    };
    let read_num = |si: &mut usize, max: usize| -> Result<i64, SqlError> {
        let start = *si;
        while *si < s.len() && *si - start < max && s[*si].is_ascii_digit() {
            *si += 1;
        }
        if *si == start {
            return Err(bad_format(input));
        }
        s[start..*si]
            .iter()
            .collect::<String>()
            .parse()
            .map_err(|_| bad_format(input))
    };
    while fi < f.len() {
        if fstarts(fi, "FM") {
            fi += 2;
            continue;
        }
        let numeric_fields: [(&str, usize); 11] = [
            ("YYYY", 4),
            ("HH24", 2),
            ("HH12", 2),
            ("YY", 2),
            ("MM", 2),
            ("DD", 2),
            ("HH", 2),
            ("MI", 2),
            ("SS", 2),
            ("MS", 3),
            ("US", 6),
        ];
        if let Some((p, width)) = numeric_fields.iter().find(|(p, _)| fstarts(fi, p)) {
            let p = p.to_ascii_uppercase();
            // Skip leading spaces in the input before a number.
            while si < s.len() && s[si] == ' ' {
                si += 1;
            }
            // A year may have more than four digits unless another field
            // follows immediately (`YYYYMMDD`).
            let next_is_field = f
                .get(fi + p.len())
                .is_some_and(|ch| ch.is_ascii_alphabetic());
            let max = if p == "YYYY" && !next_is_field {
                9
            } else {
                *width
            };
            let v = read_num(&mut si, max)?;
            match p.as_str() {
                "YYYY" => c.year = v,
                "YY" => c.year = if v < 70 { 2000 + v } else { 1900 + v },
                "MM" => c.month = v as u32,
                "DD" => c.day = v as u32,
                "HH24" | "HH12" | "HH" => c.hour = v as u32,
                "MI" => c.minute = v as u32,
                "SS" => c.second = v as u32,
                "MS" => c.micros = (v * 1000) as u32,
                _ => c.micros = v as u32,
            }
            fi += p.len();
            continue;
        }
        if fstarts(fi, "AM") || fstarts(fi, "PM") {
            let word: String = s.get(si..si + 2).unwrap_or(&[]).iter().collect();
            pm = Some(match word.to_ascii_uppercase().as_str() {
                "AM" => false,
                "PM" => true,
                _ => return Err(bad_format(input)),
            });
            si += 2;
            fi += 2;
            continue;
        }
        if fstarts(fi, "MONTH") || fstarts(fi, "MON") {
            let full = fstarts(fi, "MONTH");
            let rest: String = s
                .get(si..)
                .unwrap_or(&[])
                .iter()
                .collect::<String>()
                .to_ascii_lowercase();
            let found = MONTHS.iter().enumerate().find_map(|(i, m)| {
                let m = m.to_ascii_lowercase();
                if full && rest.starts_with(&m) {
                    Some((i, m.len()))
                } else if rest.starts_with(&m[..3]) {
                    Some((i, 3))
                } else {
                    None
                }
            });
            let (mi, len) = found.ok_or_else(|| bad_format(input))?;
            c.month = mi as u32 + 1;
            si += len;
            fi += if full { 5 } else { 3 };
            continue;
        }
        // A separator or literal: skip it in the format and skip one
        // non-alphanumeric run (or the same character) in the input.
        let fc = f[fi];
        fi += 1;
        if fc.is_alphanumeric() {
            if s.get(si) == Some(&fc) {
                si += 1;
            }
            continue;
        }
        while si < s.len() && !s[si].is_alphanumeric() {
            si += 1;
        }
    }
    match pm {
        Some(true) if c.hour < 12 => c.hour += 12,
        Some(false) if c.hour == 12 => c.hour = 0,
        _ => {}
    }
    if c.month == 0
        || c.month > 12
        || c.day == 0
        || c.day > days_in_month(c.year, c.month)
        || c.hour > 23
        || c.minute > 59
        || c.second > 59
    {
        return Err(SqlError::new(
            SqlState::DATETIME_FIELD_OVERFLOW,
            format!("date/time field value out of range: \"{input}\""),
        ));
    }
    ts_from_civil(&c)
}

/// The result type of `name(a…)` if this family has such a function.
pub(super) fn return_type(name: &str, a: &[DataType]) -> Option<DataType> {
    use DataType as T;
    let n = a.len();
    let all = |f: fn(&DataType) -> bool| a.iter().all(f);
    Some(match name {
        "now"
        | "current_timestamp"
        | "transaction_timestamp"
        | "statement_timestamp"
        | "clock_timestamp"
            if n == 0 =>
        {
            T::Timestamptz
        }
        "localtimestamp" if n == 0 => T::Timestamp,
        "current_date" if n == 0 => T::Date,
        "date_trunc" if n == 2 && is_str(&a[0]) => match &a[1] {
            T::Timestamp => T::Timestamp,
            T::Interval => T::Interval,
            T::Timestamptz | T::Date | T::Unknown => T::Timestamptz,
            _ => return None,
        },
        "date_part" if n == 2 && is_str(&a[0]) && (is_time(&a[1]) || a[1] == T::Interval) => {
            T::Float8
        }
        "extract" if n == 2 && is_str(&a[0]) && (is_time(&a[1]) || a[1] == T::Interval) => {
            T::Numeric(None)
        }
        "age" if (n == 1 || n == 2) && all(is_time) => T::Interval,
        "make_date" if n == 3 && all(is_int) => T::Date,
        "make_timestamp" if n == 6 && a[..5].iter().all(is_int) && is_num(&a[5]) => T::Timestamp,
        "make_timestamptz" if n == 6 && a[..5].iter().all(is_int) && is_num(&a[5]) => {
            T::Timestamptz
        }
        "make_interval"
            if n <= 7 && a.iter().take(6).all(is_int) && a.get(6).is_none_or(is_num) =>
        {
            T::Interval
        }
        "to_char" if n == 2 && is_time(&a[0]) && is_str(&a[1]) => T::Text,
        "to_date" if n == 2 && all(is_str) => T::Date,
        "to_timestamp" if n == 2 && all(is_str) => T::Timestamptz,
        "to_timestamp" if n == 1 && is_num(&a[0]) => T::Timestamptz,
        "justify_days" | "justify_hours" | "justify_interval"
            if n == 1 && matches!(a[0], T::Interval | T::Unknown) =>
        {
            T::Interval
        }
        "isfinite" if n == 1 && (is_time(&a[0]) || a[0] == T::Interval) => T::Bool,
        _ => return None,
    })
}

/// Evaluates `lname(a…)`, which [`return_type`] accepted (no NULL
/// arguments unless the function is non-strict).
pub(super) fn call(lname: &str, a: &[Value], ctx: &mut FnContext) -> Result<Value, SqlError> {
    let tz = ctx.tz;
    Ok(match lname {
        "now"
        | "current_timestamp"
        | "transaction_timestamp"
        | "statement_timestamp"
        | "clock_timestamp" => Value::Timestamptz(ctx.now_micros),
        "localtimestamp" => Value::Timestamp(utc_to_local(ctx.now_micros, tz)),
        "current_date" => Value::Date(ts_to_date(utc_to_local(ctx.now_micros, tz))?),
        "date_trunc" => {
            let v = match &a[1] {
                Value::Date(d) => Value::Timestamptz(local_to_utc(date_to_ts(*d)?, tz)?),
                other => other.clone(),
            };
            date_trunc(&text(&a[0], tz), &v, tz)?
        }
        "extract" | "date_part" => {
            let n = extract(&text(&a[0], tz), &a[1], tz)?;
            if lname == "extract" {
                Value::Numeric(n)
            } else {
                Value::Float8(to_f64(&n))
            }
        }
        "age" => {
            let local = |v: &Value| -> Result<i64, SqlError> {
                Ok(match v {
                    Value::Date(d) => date_to_ts(*d)?,
                    Value::Timestamp(t) => *t,
                    Value::Timestamptz(t) => utc_to_local(*t, tz),
                    other => return Err(undefined_function("age", &[other.data_type()])),
                })
            };
            let (x, y) = if a.len() == 2 {
                (local(&a[0])?, local(&a[1])?)
            } else {
                let today =
                    utc_to_local(ctx.now_micros, tz).div_euclid(USECS_PER_DAY) * USECS_PER_DAY;
                (today, local(&a[0])?)
            };
            Value::Interval(age(x, y)?)
        }
        "make_date" => Value::Date(make_date(int(&a[0])?, int(&a[1])?, int(&a[2])?)?),
        "make_timestamp" | "make_timestamptz" => {
            let date = make_date(int(&a[0])?, int(&a[1])?, int(&a[2])?)?;
            let (h, mi, sec) = (int(&a[3])?, int(&a[4])?, float(&a[5])?);
            if !(0..=23).contains(&h) || !(0..=59).contains(&mi) || !(0.0..60.0).contains(&sec) {
                return Err(SqlError::new(
                    SqlState::DATETIME_FIELD_OVERFLOW,
                    format!("time field value out of range: {h}:{mi:02}:{sec:02}"),
                ));
            }
            let t = i64::from(date) * USECS_PER_DAY
                + h * 3_600_000_000
                + mi * 60_000_000
                + (sec * 1e6).round() as i64;
            if lname == "make_timestamp" {
                Value::Timestamp(crate::value::datetime::check_ts(t)?)
            } else {
                Value::Timestamptz(local_to_utc(t, tz)?)
            }
        }
        "make_interval" => {
            let field = |i: usize| a.get(i).filter(|v| !v.is_null()).map_or(Ok(0), int);
            let secs = a.get(6).filter(|v| !v.is_null()).map_or(Ok(0.0), float)?;
            let (years, mons, weeks, days, hours, mins) = (
                field(0)?,
                field(1)?,
                field(2)?,
                field(3)?,
                field(4)?,
                field(5)?,
            );
            let months = years.checked_mul(12).and_then(|y| y.checked_add(mons));
            let days = weeks.checked_mul(7).and_then(|w| w.checked_add(days));
            let micros = hours
                .checked_mul(3_600_000_000)
                .and_then(|h| h.checked_add(mins.checked_mul(60_000_000)?))
                .and_then(|t| t.checked_add((secs * 1e6).round() as i64));
            let oor = crate::value::datetime::interval_out_of_range;
            Value::Interval(Interval {
                months: months.and_then(|m| i32::try_from(m).ok()).ok_or_else(oor)?,
                days: days.and_then(|d| i32::try_from(d).ok()).ok_or_else(oor)?,
                micros: micros.ok_or_else(oor)?,
            })
        }
        "to_char" => {
            let fmt = text(&a[1], tz);
            Value::Text(match &a[0] {
                Value::Date(d) => to_char(date_to_ts(*d)?, None, &fmt),
                Value::Timestamp(t) => to_char(*t, None, &fmt),
                Value::Timestamptz(t) => {
                    to_char(utc_to_local(*t, tz), Some(tz.offset_secs()), &fmt)
                }
                other => {
                    return Err(undefined_function(
                        "to_char",
                        &[other.data_type(), DataType::Text],
                    ))
                }
            })
        }
        "to_date" => Value::Date(ts_to_date(parse_with_format(
            &text(&a[0], tz),
            &text(&a[1], tz),
        )?)?),
        "to_timestamp" if a.len() == 2 => Value::Timestamptz(local_to_utc(
            parse_with_format(&text(&a[0], tz), &text(&a[1], tz))?,
            tz,
        )?),
        "to_timestamp" => {
            let f = float(&a[0])?;
            if f.is_nan() {
                return Err(SqlError::new(
                    SqlState::DATETIME_FIELD_OVERFLOW,
                    "timestamp cannot be NaN",
                ));
            }
            if f.is_infinite() {
                return Ok(Value::Timestamptz(if f > 0.0 {
                    TS_INFINITY
                } else {
                    TS_NEG_INFINITY
                }));
            }
            let micros = (f * 1e6).round() - (UNIX_EPOCH_DAYS * USECS_PER_DAY) as f64;
            if micros.is_nan() || micros.abs() >= 9.2e18 {
                return Err(SqlError::new(
                    SqlState::DATETIME_FIELD_OVERFLOW,
                    format!(
                        "timestamp out of range: \"{}\"",
                        crate::value::text::format_f64(f)
                    ),
                ));
            }
            Value::Timestamptz(crate::value::datetime::check_ts(micros as i64)?)
        }
        "justify_days" | "justify_hours" | "justify_interval" => {
            let Value::Interval(iv) = &a[0] else {
                return Err(undefined_function(lname, &[a[0].data_type()]));
            };
            Value::Interval(match lname {
                "justify_days" => justify_days(iv)?,
                "justify_hours" => justify_hours(iv)?,
                _ => justify_interval(iv)?,
            })
        }
        "isfinite" => Value::Bool(match &a[0] {
            Value::Date(d) => *d != DATE_INFINITY && *d != DATE_NEG_INFINITY,
            Value::Timestamp(t) | Value::Timestamptz(t) => {
                *t != TS_INFINITY && *t != TS_NEG_INFINITY
            }
            _ => true,
        }),
        _ => return Err(undefined_function(lname, &[])),
    })
}

fn make_date(y: i64, m: i64, d: i64) -> Result<i32, SqlError> {
    let bad = || {
        SqlError::new(
            SqlState::DATETIME_FIELD_OVERFLOW,
            format!("date field value out of range: {y}-{m:02}-{d:02}"),
        )
    };
    if y == 0 || !(1..=12).contains(&m) || !(-4713..=5_874_897).contains(&y) {
        return Err(bad());
    }
    // Negative years are BC (year 0 does not exist).
    let year = if y < 0 { y + 1 } else { y };
    if d < 1 || d > i64::from(days_in_month(year, m as u32)) {
        return Err(bad());
    }
    let days = days_from_ymd(year, m as u32, d as u32);
    let ts = ts_from_civil(&Civil {
        year,
        month: m as u32,
        day: d as u32,
        hour: 0,
        minute: 0,
        second: 0,
        micros: 0,
    });
    ts.map_err(|_| bad())?;
    i32::try_from(days).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::datetime::{
        format_interval, format_timestamp, parse_interval, parse_timestamp,
    };
    use crate::value::numeric::format_numeric;

    fn ts(s: &str) -> i64 {
        parse_timestamp(s, None).unwrap()
    }

    fn ex(field: &str, v: Value) -> String {
        format_numeric(&extract(field, &v, &TimeZone::utc()).unwrap())
    }

    #[test]
    fn extract_fields() {
        let t = Value::Timestamp(ts("2024-01-01 00:00:05.5"));
        assert_eq!(ex("epoch", t.clone()), "1704067205.500000");
        assert_eq!(ex("second", t.clone()), "5.500000");
        assert_eq!(ex("milliseconds", t.clone()), "5500.000");
        assert_eq!(ex("microseconds", t.clone()), "5500000");
        assert_eq!(ex("year", t.clone()), "2024");
        assert_eq!(ex("dow", t.clone()), "1");
        assert_eq!(ex("doy", Value::Timestamp(ts("2024-12-31"))), "366");
        assert_eq!(ex("week", Value::Timestamp(ts("2024-12-30"))), "1");
        assert_eq!(ex("week", Value::Timestamp(ts("2021-01-03"))), "53");
        assert_eq!(ex("quarter", Value::Timestamp(ts("2024-08-01"))), "3");
        assert_eq!(ex("century", Value::Timestamp(ts("2000-12-31"))), "20");
        assert_eq!(ex("century", Value::Timestamp(ts("2001-01-01"))), "21");
        assert_eq!(ex("epoch", Value::Date(0)), "946684800");
        assert_eq!(
            ex(
                "epoch",
                Value::Interval(parse_interval("1 year 1 mon 1 day").unwrap())
            ),
            "34236000.000000"
        );
        assert_eq!(
            ex(
                "hour",
                Value::Interval(parse_interval("-25 hours").unwrap())
            ),
            "-25"
        );
        assert_eq!(
            extract("hour", &Value::Date(0), &TimeZone::utc())
                .unwrap_err()
                .message,
            "unit \"hour\" not supported for type date"
        );
        assert_eq!(
            extract("fortnight", &t, &TimeZone::utc()).unwrap_err().code,
            SqlState::INVALID_PARAMETER_VALUE
        );
        let plus2 = TimeZone::from_utc_offset(7200).unwrap();
        let tz = Value::Timestamptz(ts("2024-01-01 23:00"));
        assert_eq!(format_numeric(&extract("day", &tz, &plus2).unwrap()), "2");
    }

    #[test]
    fn trunc_and_age() {
        let tz = TimeZone::utc();
        let f = |u: &str, s: &str| match date_trunc(u, &Value::Timestamp(ts(s)), &tz).unwrap() {
            Value::Timestamp(t) => format_timestamp(t, None),
            _ => unreachable!(),
        };
        assert_eq!(f("month", "2024-02-15 10:11:12"), "2024-02-01 00:00:00");
        assert_eq!(f("week", "2024-02-15 10:11:12"), "2024-02-12 00:00:00");
        assert_eq!(f("quarter", "2024-05-15"), "2024-04-01 00:00:00");
        assert_eq!(f("hour", "2024-05-15 10:11:12.5"), "2024-05-15 10:00:00");
        assert_eq!(f("century", "2024-05-15"), "2001-01-01 00:00:00");
        let a = |x: &str, y: &str| format_interval(&age(ts(x), ts(y)).unwrap());
        assert_eq!(a("2024-03-01", "2023-01-31"), "1 year 1 mon 1 day");
        assert_eq!(a("2023-01-31", "2024-03-01"), "-1 years -1 mons -1 days");
        assert_eq!(a("2024-01-01 10:00", "2024-01-01 12:30"), "-02:30:00");
        let iv = date_trunc(
            "hour",
            &Value::Interval(parse_interval("1 day 02:03:04").unwrap()),
            &tz,
        )
        .unwrap();
        assert_eq!(
            iv,
            Value::Interval(parse_interval("1 day 02:00:00").unwrap())
        );
    }

    #[test]
    fn to_char_and_back() {
        let t = ts("2024-03-05 14:07:09.123456");
        assert_eq!(
            to_char(t, None, "YYYY-MM-DD HH24:MI:SS.US"),
            "2024-03-05 14:07:09.123456"
        );
        assert_eq!(
            to_char(t, None, "Dy, DD Mon YYYY HH12:MI AM"),
            "Tue, 05 Mar 2024 02:07 PM"
        );
        assert_eq!(
            to_char(t, None, "Day|FMDay|Month|FMMonth|MONTH"),
            "Tuesday  |Tuesday|March    |March|MARCH    "
        );
        assert_eq!(to_char(t, None, "\"Q\"Q DDD D FMDD/FMMM"), "Q1 065 3 5/3");
        assert_eq!(to_char(t, Some(19800), "HH24 TZ"), "14 +05:30");
        let p = |s: &str, f: &str| format_timestamp(parse_with_format(s, f).unwrap(), None);
        assert_eq!(p("05 Mar 2024", "DD Mon YYYY"), "2024-03-05 00:00:00");
        assert_eq!(
            p("2024-03-05 02:07:09 PM", "YYYY-MM-DD HH12:MI:SS AM"),
            "2024-03-05 14:07:09"
        );
        assert_eq!(p("20240305", "YYYYMMDD"), "2024-03-05 00:00:00");
        assert_eq!(p("March 5, 2024", "Month DD, YYYY"), "2024-03-05 00:00:00");
        assert!(parse_with_format("2024-02-30", "YYYY-MM-DD").is_err());
        assert!(parse_with_format("xx", "YYYY").is_err());
    }
}
