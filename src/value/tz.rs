//! The session time zone.
//!
//! Limitation: only `UTC`/`GMT` and fixed offsets are supported; there is no
//! time zone database (that would add hundreds of kilobytes to the wasm
//! bundle), so named zones such as `Europe/Berlin` are rejected.

use crate::error::{SqlError, SqlState};

/// A fixed-offset session time zone (PostgreSQL's `TimeZone` setting).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TimeZone {
    /// Seconds east of UTC (ISO 8601 sign convention: `+05:30` is 19800).
    offset_secs: i32,
    /// The setting as `SHOW TimeZone` reports it.
    name: String,
}

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone::utc()
    }
}

/// The largest offset PostgreSQL accepts in a time zone (15:59:59).
const MAX_OFFSET_SECS: i32 = 15 * 3600 + 59 * 60 + 59;

impl TimeZone {
    /// UTC.
    pub fn utc() -> Self {
        TimeZone {
            offset_secs: 0,
            name: "UTC".into(),
        }
    }

    /// A zone `offset_secs` seconds east of UTC (ISO sign convention).
    pub fn from_utc_offset(offset_secs: i32) -> Result<Self, SqlError> {
        if offset_secs.unsigned_abs() > MAX_OFFSET_SECS.unsigned_abs() {
            return Err(SqlError::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("time zone displacement out of range: \"{offset_secs}\""),
            ));
        }
        Ok(TimeZone {
            offset_secs,
            name: format_offset(offset_secs, true),
        })
    }

    /// Parses a `SET TIME ZONE` / `SET timezone = '...'` value the way
    /// PostgreSQL does for the forms we support:
    /// - `UTC`, `GMT`, `Etc/UTC`, `Z`-less names, case-insensitive;
    /// - a bare hour number (`+02`, `-5`, `2`): hours *east* of UTC;
    /// - `[+-]HH:MM[:SS]`: a POSIX zone string, whose sign means hours
    ///   *west* of UTC (so `'+02:00'` is UTC-2, a well-known PostgreSQL
    ///   surprise that we reproduce).
    pub fn parse_setting(setting: &str) -> Result<Self, SqlError> {
        let s = setting.trim();
        let bad = || {
            SqlError::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("invalid value for parameter \"TimeZone\": \"{setting}\""),
            )
        };
        let lower = s.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "utc" | "gmt" | "etc/utc" | "etc/gmt" | "universal" | "zulu" | "uct"
        ) {
            return Ok(TimeZone {
                offset_secs: 0,
                name: if lower == "gmt" { "GMT" } else { "UTC" }.into(),
            });
        }
        let (neg, body) = match s.as_bytes().first() {
            Some(b'+') => (false, &s[1..]),
            Some(b'-') => (true, &s[1..]),
            _ => (false, s),
        };
        if body.is_empty() {
            return Err(bad());
        }
        let parts: Vec<&str> = body.split(':').collect();
        if parts.len() > 3
            || parts
                .iter()
                .any(|p| p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad());
        }
        let mut secs = 0i32;
        for (i, p) in parts.iter().enumerate() {
            let v: i32 = p.parse().map_err(|_| bad())?;
            if i > 0 && v > 59 {
                return Err(bad());
            }
            secs += v * [3600, 60, 1][i];
        }
        if secs > MAX_OFFSET_SECS {
            return Err(bad());
        }
        // A bare number is an ISO offset (east positive); with a colon it is
        // a POSIX string (west positive).
        let east = if parts.len() == 1 { !neg } else { neg };
        Ok(TimeZone {
            offset_secs: if east { secs } else { -secs },
            name: s.to_string(),
        })
    }

    /// Seconds east of UTC.
    pub fn offset_secs(&self) -> i32 {
        self.offset_secs
    }

    /// The name `SHOW TimeZone` prints.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Formats a UTC offset as PostgreSQL prints it after a timestamptz:
/// `+00`, `+05:30`, `-03:00:15`; with `always_minutes`, `+00:00`.
pub fn format_offset(offset_secs: i32, always_minutes: bool) -> String {
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let a = offset_secs.unsigned_abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    if s != 0 {
        format!("{sign}{h:02}:{m:02}:{s:02}")
    } else if m != 0 || always_minutes {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_follow_postgres_sign_rules() {
        let off = |s: &str| TimeZone::parse_setting(s).unwrap().offset_secs();
        assert_eq!(off("UTC"), 0);
        assert_eq!(off("gmt"), 0);
        assert_eq!(off("+02"), 7200);
        assert_eq!(off("2"), 7200);
        assert_eq!(off("-5"), -5 * 3600);
        assert_eq!(off("+02:00"), -7200);
        assert_eq!(off("-05:00"), 5 * 3600);
        assert_eq!(off("05:30"), -19800);
        assert!(TimeZone::parse_setting("Europe/Berlin").is_err());
        assert!(TimeZone::parse_setting("Z").is_err());
        assert!(TimeZone::parse_setting("+").is_err());
        assert!(TimeZone::parse_setting("99").is_err());
        assert_eq!(format_offset(0, false), "+00");
        assert_eq!(format_offset(19800, false), "+05:30");
        assert_eq!(format_offset(-3600, true), "-01:00");
    }
}
