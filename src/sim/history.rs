//! The simulated fleet's past: metrics and signal samples from before the
//! demo started, by the same models as its live telemetry, so that a new
//! demo opens on sparklines, charts and signal trends that already say
//! something instead of filling in over an hour.

use chrono::{DateTime, Duration, Utc};

use super::run::Simulator;
use crate::domain::model::DeviceKind;
use crate::store::{MetricRow, SignalRow, WriteBatch};

/// How much past, and how finely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistorySpan {
    /// Metrics, and signal finely, over this many seconds before the start,
    /// every `fine_step_s` (the detail pane's hour has a sample a bucket).
    pub fine_s: i64,
    pub fine_step_s: i64,
    /// Signal before that, back to `signal_s` before the start, every
    /// `signal_step_s`.
    pub signal_s: i64,
    pub signal_step_s: i64,
}

impl Default for HistorySpan {
    /// Two hours every minute; three days of signal every half hour (the
    /// trends view's day against the two before it).
    fn default() -> Self {
        Self {
            fine_s: 2 * 3_600,
            fine_step_s: 60,
            signal_s: 3 * 86_400,
            signal_step_s: 1_800,
        }
    }
}

fn steps(start: DateTime<Utc>, span_s: i64, step_s: i64) -> impl Iterator<Item = DateTime<Utc>> {
    let n = span_s / step_s.max(1);
    (1..=n)
        .rev()
        .map(move |k| start - Duration::seconds(k * step_s))
}

impl Simulator {
    /// The samples the fleet would have sent before it started: metrics of
    /// every device that reports, signal of every client radio. Devices
    /// that never report have no past either.
    pub fn history(&mut self, span: HistorySpan) -> WriteBatch {
        let mut batch = WriteBatch::default();
        let start = self.start;
        for i in 0..self.devices.len() {
            if self.devices[i].silent {
                continue;
            }
            let (tenant, device, kind, ap) = {
                let p = &self.devices[i].plan;
                (
                    p.device.tenant.clone(),
                    p.device.id.clone(),
                    p.device.kind,
                    p.ap.clone(),
                )
            };
            for at in steps(start, span.fine_s, span.fine_step_s) {
                let m = self.sample_metrics(i, at, false);
                batch.metrics.push(MetricRow {
                    tenant: tenant.clone(),
                    msg_id: format!("{}-h{i}-m{}", self.prefix, at.timestamp()).into(),
                    device: device.clone(),
                    ts: at,
                    cpu_pct: m.cpu_pct,
                    mem_pct: m.mem_pct,
                    rx_bps: m.rx_bps,
                    tx_bps: m.tx_bps,
                });
            }
            let Some(peer) = ap.filter(|_| kind == DeviceKind::Cpe) else {
                continue;
            };
            let fine_from = start - Duration::seconds(span.fine_s);
            let coarse = steps(start, span.signal_s, span.signal_step_s).filter(|t| *t < fine_from);
            let fine = steps(start, span.fine_s, span.fine_step_s);
            for at in coarse.chain(fine) {
                let rssi = self.rssi(i, at);
                batch.signals.push(SignalRow {
                    tenant: tenant.clone(),
                    msg_id: format!("{}-h{i}-s{}", self.prefix, at.timestamp()).into(),
                    device: device.clone(),
                    peer: peer.clone(),
                    ts: at,
                    rssi_dbm: rssi,
                    snr_db: Some(rssi + 95.0),
                });
            }
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::run::SimConfig;

    #[test]
    fn the_past_ends_before_the_start_and_decaying_links_were_stronger() {
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let cfg = SimConfig::default();
        let mut sim = Simulator::new(&cfg, crate::sim::plan(cfg.seed, 200), start);
        let b = sim.history(HistorySpan::default());
        assert!(!b.metrics.is_empty() && !b.signals.is_empty());
        assert!(b.metrics.iter().all(|m| m.ts < start));
        assert!(
            b.signals
                .iter()
                .all(|s| s.ts < start && s.ts >= start - Duration::days(3))
        );
        // Every device that reports has a metrics sample a minute for two
        // hours.
        let one = &b.metrics[0].device;
        assert_eq!(b.metrics.iter().filter(|m| m.device == *one).count(), 120);
        // Ids are unique, so that the store keeps every sample.
        let mut ids: Vec<&str> = b.metrics.iter().map(|m| &*m.msg_id).collect();
        ids.extend(b.signals.iter().map(|s| &*s.msg_id));
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n);
        // Averaged over the fleet, the signal three days ago beat today's
        // by the decay of the decaying links.
        let avg = |from: DateTime<Utc>, to: DateTime<Utc>| {
            let v: Vec<f32> = b
                .signals
                .iter()
                .filter(|s| s.ts >= from && s.ts < to)
                .map(|s| s.rssi_dbm)
                .collect();
            v.iter().sum::<f32>() / v.len().max(1) as f32
        };
        let old = avg(start - Duration::days(3), start - Duration::days(2));
        let new = avg(start - Duration::days(1), start);
        assert!(old >= new, "{old} then, {new} now");
    }
}
