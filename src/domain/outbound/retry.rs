//! What a receiver's reply means, and when to try again: 2xx is
//! delivered; 408, 425, 429, 5xx and failures to connect or to get an
//! answer in time are retried (a `Retry-After` honoured, capped); any
//! other status is permanent (dead-lettered with the reply kept).
//! Redirects are not followed, so a 3xx is permanent too: a destination
//! that moved needs a person. Backoff is exponential with full jitter.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    Retry,
    Permanent,
}

/// The verdict of an HTTP status.
pub fn http_status(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        408 | 425 | 429 | 500..=599 => Verdict::Retry,
        _ => Verdict::Permanent,
    }
}

/// The longest wait a `Retry-After` may impose.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3_600);

/// The wait a `Retry-After` value asks for at `now`: delay-seconds or an
/// HTTP date, capped at [`MAX_RETRY_AFTER`]; `None` when unreadable.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    let wait = if let Ok(s) = v.parse::<u64>() {
        Duration::from_secs(s)
    } else {
        // IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) is RFC 2822's form.
        let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
        (at - now).to_std().unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// How retries are spaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(600),
        }
    }
}

impl Backoff {
    /// The wait before attempt `attempt + 1` after `attempt` failures
    /// (from 1): a uniform draw (`unit` in 0..1) up to
    /// `min(cap, base × 2^(attempt-1))`, never below `floor` (a
    /// `Retry-After`).
    pub fn wait(&self, attempt: u32, unit: f64, floor: Option<Duration>) -> Duration {
        let shift = attempt.saturating_sub(1).min(30);
        let ceiling = self.base.saturating_mul(1u32 << shift).min(self.cap);
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let drawn = ceiling.mul_f64(unit);
        drawn.max(floor.unwrap_or(Duration::ZERO))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_delivered_retried_or_permanent() {
        for (status, v) in [
            (200, Verdict::Delivered),
            (204, Verdict::Delivered),
            (301, Verdict::Permanent),
            (400, Verdict::Permanent),
            (401, Verdict::Permanent),
            (404, Verdict::Permanent),
            (408, Verdict::Retry),
            (413, Verdict::Permanent),
            (425, Verdict::Retry),
            (429, Verdict::Retry),
            (500, Verdict::Retry),
            (503, Verdict::Retry),
        ] {
            assert_eq!(http_status(status), v, "{status}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_and_is_capped() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Wed, 02 Dec 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after("Wed, 02 Dec 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("99999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-5", now), None);
    }

    #[test]
    fn backoff_doubles_to_its_cap_with_full_jitter_and_respects_retry_after() {
        let b = Backoff::default();
        assert_eq!(b.wait(1, 1.0, None), Duration::from_secs(2));
        assert_eq!(b.wait(4, 1.0, None), Duration::from_secs(16));
        assert_eq!(b.wait(40, 1.0, None), Duration::from_secs(600));
        assert_eq!(b.wait(u32::MAX, 1.0, None), Duration::from_secs(600));
        assert_eq!(b.wait(4, 0.0, None), Duration::ZERO);
        assert_eq!(b.wait(4, 0.5, None), Duration::from_secs(8));
        assert_eq!(
            b.wait(1, 0.1, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
        assert_eq!(b.wait(1, f64::NAN, None), Duration::ZERO);
    }
}
