//! Lengths of time as people type them, one parser for every place that
//! takes one (the palette's snooze, enrolment codes, credentials, the
//! CLI's `--since`/`--until`): `90s`, `30m`, `1h30m`, `2h 15m`, `7d`,
//! `2w`, `1 hour 30 minutes`, or ISO 8601 (`PT90M`). A bare number is
//! minutes. Days are 24 hours and weeks 7 days; months and years, whose
//! length varies, are refused. Parsing is jiff's (its friendly format).

use chrono::{DateTime, Utc};

/// The longest length taken: ten years, in seconds.
pub const MAX_SECONDS: u64 = 10 * 366 * 86_400;

/// Parses a length into seconds (`None` when it is not one, or is zero
/// or negative or longer than [`MAX_SECONDS`]).
pub fn parse_length(s: &str) -> Option<u32> {
    seconds(s).ok().and_then(|n| u32::try_from(n).ok())
}

/// The same with the reason it is not a length.
pub fn seconds(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty: a length such as 90s, 30m, 1h30m or 7d".into());
    }
    if s.len() > 64 {
        return Err("too long for a length".into());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        let minutes: u64 = s.parse().map_err(|_| format!("{s:?} is too large"))?;
        return within(minutes.saturating_mul(60), s);
    }
    let span: jiff::Span = s
        .parse()
        .map_err(|_| format!("{s:?} is not a length such as 90s, 30m, 1h30m or 7d"))?;
    if span.get_years() != 0 || span.get_months() != 0 {
        return Err(format!(
            "{s:?}: months and years vary in length; say days or weeks"
        ));
    }
    let total = span
        .total((
            jiff::Unit::Second,
            jiff::SpanRelativeTo::days_are_24_hours(),
        ))
        .map_err(|_| format!("{s:?} is not a length vigie can count"))?;
    if !total.is_finite() || total <= 0.0 {
        return Err(format!("{s:?}: a length is more than nothing"));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = total.ceil().min(u64::MAX as f64) as u64;
    within(n, s)
}

fn within(n: u64, s: &str) -> Result<u64, String> {
    match n {
        0 => Err(format!("{s:?}: a length is more than nothing")),
        n if n > MAX_SECONDS => Err(format!("{s:?} is longer than ten years")),
        n => Ok(n),
    }
}

/// A moment as typed on a command line: RFC 3339 (`2026-12-01T08:00:00Z`),
/// or a length meaning that long before `now` (`7d`, `1h30m`).
pub fn parse_when(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let n = seconds(s)
        .map_err(|e| format!("{e} (or an RFC 3339 time such as 2026-12-01T08:00:00Z)"))?;
    let ago = chrono::Duration::seconds(i64::try_from(n).unwrap_or(i64::MAX));
    now.checked_sub_signed(ago)
        .ok_or_else(|| format!("{s:?} reaches before the calendar"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_as_people_type_them() {
        for (typed, secs) in [
            ("30m", 1_800),
            ("2h", 7_200),
            ("1d", 86_400),
            ("45", 2_700),
            ("90s", 90),
            ("1h30m", 5_400),
            ("1h 30m", 5_400),
            ("2h15m10s", 8_110),
            ("1 hour 30 minutes", 5_400),
            ("7d", 604_800),
            ("2w", 1_209_600),
            ("PT90M", 5_400),
            (" 15m ", 900),
            ("1.5s", 2),
        ] {
            assert_eq!(parse_length(typed), Some(secs), "{typed}");
        }
        for bad in [
            "soon",
            "",
            "0",
            "0s",
            "-5m",
            "1mo",
            "2y",
            "5x",
            "1h-",
            "m",
            "99999999999999999999",
            "11y",
        ] {
            assert_eq!(parse_length(bad), None, "{bad}");
        }
        assert!(
            seconds("3 months")
                .unwrap_err()
                .contains("months and years")
        );
        assert!(seconds(&"1".repeat(200)).is_err());
        assert!(seconds("4000w").unwrap_err().contains("ten years"));
    }

    #[test]
    fn moments_are_times_or_lengths_ago() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        assert_eq!(parse_when("7d", now), Ok(now - chrono::Duration::days(7)));
        assert_eq!(
            parse_when("1h30m", now),
            Ok(now - chrono::Duration::minutes(90))
        );
        assert_eq!(
            parse_when("2026-12-01T08:00:00+01:00", now).map(|t| t.to_rfc3339()),
            Ok("2026-12-01T07:00:00+00:00".to_string())
        );
        let e = parse_when("yesterday-ish", now).unwrap_err();
        assert!(e.contains("RFC 3339") && e.contains("7d"), "{e}");
    }
}
