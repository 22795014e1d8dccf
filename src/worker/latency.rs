//! Ingest latency: from a message's event time to the commit of the batch
//! that stored it, as a fixed-bucket histogram (Prometheus style). With
//! producers that stamp messages when they send them, this is the
//! publish → stored latency.

use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the buckets, in milliseconds (the last is +Inf).
pub const BOUNDS_MS: [u64; 14] = [
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    30_000,
    60_000,
    u64::MAX,
];

/// A histogram of latencies.
#[derive(Debug, Default)]
pub struct Latency {
    buckets: [AtomicU64; BOUNDS_MS.len()],
    sum_ms: AtomicU64,
}

impl Latency {
    /// Counts one latency (negative ones, from skewed clocks, count as 0).
    pub fn record(&self, ms: i64) {
        let ms = u64::try_from(ms).unwrap_or(0);
        let i = BOUNDS_MS
            .iter()
            .position(|&b| ms <= b)
            .unwrap_or(BOUNDS_MS.len() - 1);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Counts per bucket (not cumulative).
    pub fn counts(&self) -> [u64; BOUNDS_MS.len()] {
        std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed))
    }

    /// Everything counted.
    pub fn total(&self) -> u64 {
        self.counts().iter().sum()
    }

    /// The bucket bound under which `q` (0..1) of the latencies fall.
    pub fn quantile_bound_ms(&self, q: f64) -> Option<u64> {
        let counts = self.counts();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let want = ((total as f64) * q).ceil() as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                return Some(BOUNDS_MS[i]);
            }
        }
        None
    }

    /// The Prometheus text of the histogram, in seconds.
    pub fn prometheus(&self, name: &str, help: &str) -> String {
        use std::fmt::Write as _;
        let mut out = format!("# HELP {name} {help}\n# TYPE {name} histogram\n");
        let mut cumulative = 0;
        for (bound, count) in BOUNDS_MS.iter().zip(self.counts()) {
            cumulative += count;
            let le = if *bound == u64::MAX {
                "+Inf".to_string()
            } else {
                format!("{}", *bound as f64 / 1000.0)
            };
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let sum = self.sum_ms.load(Ordering::Relaxed) as f64 / 1000.0;
        let _ = write!(out, "{name}_sum {sum}\n{name}_count {cumulative}\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_exposition() {
        let h = Latency::default();
        assert_eq!(h.quantile_bound_ms(0.99), None);
        for _ in 0..98 {
            h.record(30);
        }
        h.record(700);
        h.record(-5);
        assert_eq!(h.total(), 100);
        assert_eq!(h.quantile_bound_ms(0.5), Some(50));
        assert_eq!(h.quantile_bound_ms(0.99), Some(50));
        assert_eq!(h.quantile_bound_ms(1.0), Some(1_000));
        let text = h.prometheus("x_seconds", "help");
        assert!(
            text.contains("x_seconds_bucket{le=\"0.005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("x_seconds_bucket{le=\"0.05\"} 99\n"),
            "{text}"
        );
        assert!(
            text.contains("x_seconds_bucket{le=\"+Inf\"} 100\n"),
            "{text}"
        );
        assert!(text.contains("x_seconds_count 100\n"), "{text}");
    }
}
