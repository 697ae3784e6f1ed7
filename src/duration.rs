//! Durations (`30m`, `4h`, `2d`, `1h30m`) and points in time (`--now`), shared by the script
//! standard library and the planner.

use chrono::{DateTime, NaiveDate, Utc};

/// Parses a duration such as `90s`, `30m`, `4h`, `2d`, `1w` or `1h30m` into seconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("an empty duration; write e.g. `30m`, `4h` or `2d`".into());
    }
    let mut total: i64 = 0;
    let mut number = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => {
                return Err(format!(
                    "`{t}` is not a duration: unknown unit `{c}` (use s, m, h, d or w)"
                ))
            }
        };
        let n: i64 = number
            .parse()
            .map_err(|_| format!("`{t}` is not a duration: a unit without a number"))?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("`{t}` is too long a duration"))?;
        number.clear();
    }
    if !number.is_empty() {
        return Err(format!(
            "`{t}` is not a duration: `{number}` has no unit (s, m, h, d or w)"
        ));
    }
    Ok(total)
}

/// Formats seconds the way durations are written (`1h30m`, `2d`, `0s`).
pub fn format_duration(mut secs: i64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    if secs < 0 {
        out.push('-');
        secs = -secs;
    }
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// Parses an RFC 3339 time (`2026-12-01T00:00:00Z`) or a date (`2026-12-01`, midnight UTC).
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        if let Some(dt) = d.and_hms_opt(0, 0, 0) {
            return Ok(dt.and_utc());
        }
    }
    Err(format!(
        "`{t}` is not a time: write an RFC 3339 time (2026-12-01T00:00:00Z) or a date (2026-12-01)"
    ))
}

/// Formats a time as RFC 3339 in UTC, to the second.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip() {
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("4h"), Ok(14_400));
        assert_eq!(parse_duration("2d"), Ok(172_800));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(format_duration(5400), "1h30m");
        assert_eq!(format_duration(172_800), "2d");
        assert!(parse_duration("4").is_err());
        assert!(parse_duration("4y").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("99999999999999999999w").is_err());
    }

    #[test]
    fn times_accept_dates_and_rfc3339() {
        assert_eq!(
            format_time(parse_time("2026-12-01").unwrap()),
            "2026-12-01T00:00:00Z"
        );
        assert_eq!(
            format_time(parse_time("2026-12-01T01:00:00+01:00").unwrap()),
            "2026-12-01T00:00:00Z"
        );
        assert!(parse_time("tomorrow").is_err());
    }
}
