//! Time series cut into equal buckets for charts and sparklines: the worker
//! averages samples per bucket so that a console asks for a week of a
//! device's signal and gets a few hundred numbers, not a hundred thousand.
//! Pure: the window is a parameter.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::{MetricSample, SignalSample};

/// Longest window a console may ask for: thirty days.
pub const MAX_RANGE_S: u32 = 30 * 86_400;
/// Most buckets in one answer.
pub const MAX_BUCKETS: u16 = 400;

/// A window `[since, until)` cut into `n` equal buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub buckets: u16,
}

impl Window {
    /// The `range_s` seconds up to `until`, in `buckets` buckets (both
    /// clamped to what an answer may hold).
    pub fn ending(until: DateTime<Utc>, range_s: u32, buckets: u16) -> Self {
        let range = i64::from(range_s.clamp(60, MAX_RANGE_S));
        Self {
            since: until - chrono::Duration::seconds(range),
            until,
            buckets: buckets.clamp(1, MAX_BUCKETS),
        }
    }

    /// The bucket of `ts`, if it falls in the window.
    pub fn bucket(&self, ts: DateTime<Utc>) -> Option<usize> {
        if ts < self.since || ts >= self.until {
            return None;
        }
        let span = (self.until - self.since).num_milliseconds().max(1);
        let at = (ts - self.since).num_milliseconds();
        let i = at * i64::from(self.buckets) / span;
        usize::try_from(i).ok()
    }

    /// The average of `points` per bucket; `None` where a bucket has none.
    pub fn average(&self, points: impl Iterator<Item = (DateTime<Utc>, f64)>) -> Vec<Option<f32>> {
        let n = usize::from(self.buckets);
        let mut sum = vec![0f64; n];
        let mut count = vec![0u32; n];
        for (ts, v) in points {
            if let Some(i) = self.bucket(ts).filter(|i| *i < n)
                && v.is_finite()
            {
                sum[i] += v;
                count[i] += 1;
            }
        }
        sum.into_iter()
            .zip(count)
            .map(|(s, c)| (c > 0).then(|| (s / f64::from(c)) as f32))
            .collect()
    }
}

/// A device's metrics, bucketed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricSeries {
    pub cpu_pct: Vec<Option<f32>>,
    pub mem_pct: Vec<Option<f32>>,
    /// Received plus sent, bits per second.
    pub traffic_bps: Vec<Option<f32>>,
}

impl MetricSeries {
    pub fn of(w: &Window, samples: &[MetricSample]) -> Self {
        Self {
            cpu_pct: w.average(samples.iter().map(|s| (s.ts, f64::from(s.cpu_pct)))),
            mem_pct: w.average(samples.iter().map(|s| (s.ts, f64::from(s.mem_pct)))),
            traffic_bps: w.average(
                samples
                    .iter()
                    .map(|s| (s.ts, s.rx_bps as f64 + s.tx_bps as f64)),
            ),
        }
    }
}

/// A radio's signal (all its peers together), bucketed.
pub fn signal_series(w: &Window, samples: &[SignalSample]) -> Vec<Option<f32>> {
    w.average(samples.iter().map(|s| (s.ts, f64::from(s.rssi_dbm))))
}

/// The last value of a series that has one.
pub fn last(series: &[Option<f32>]) -> Option<f32> {
    series.iter().rev().find_map(|v| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
    }

    #[test]
    fn buckets_cover_the_window_and_nothing_outside_it() {
        let w = Window::ending(at(600), 600, 6);
        assert_eq!(w.since, at(0));
        assert_eq!(w.bucket(at(-1)), None);
        assert_eq!(w.bucket(at(0)), Some(0));
        assert_eq!(w.bucket(at(99)), Some(0));
        assert_eq!(w.bucket(at(100)), Some(1));
        assert_eq!(w.bucket(at(599)), Some(5));
        assert_eq!(w.bucket(at(600)), None);
    }

    #[test]
    fn averages_per_bucket_with_gaps_left_empty() {
        let w = Window::ending(at(300), 300, 3);
        let pts = [
            (at(0), 1.0),
            (at(50), 3.0),
            (at(250), -80.0),
            (at(400), 9.0),
        ];
        assert_eq!(
            w.average(pts.into_iter()),
            vec![Some(2.0), None, Some(-80.0)]
        );
        assert_eq!(last(&[Some(1.0), Some(2.0), None]), Some(2.0));
        assert_eq!(last(&[None, None]), None);
    }

    #[test]
    fn asks_are_clamped() {
        let w = Window::ending(at(0), u32::MAX, u16::MAX);
        assert_eq!(w.buckets, MAX_BUCKETS);
        assert_eq!((w.until - w.since).num_seconds(), i64::from(MAX_RANGE_S));
        let w = Window::ending(at(0), 0, 0);
        assert_eq!(w.buckets, 1);
        assert_eq!((w.until - w.since).num_seconds(), 60);
        assert!(w.average([(at(-1), f64::NAN)].into_iter())[0].is_none());
    }
}
