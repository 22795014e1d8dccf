//! Fixed workloads for benchmarks and load tests: the same messages every
//! time for the same arguments.

use chrono::{DateTime, Duration, Utc};

use crate::bus::envelope::{Envelope, MsgId};
use crate::domain::model::Inventory;
use crate::domain::telemetry::{Metrics, Telemetry};
use crate::sim::{SimConfig, Simulator};

/// `n` messages of the simulated fleet's real mix (heartbeats, metrics,
/// logs, alerts, link changes) over a fleet of about `devices` devices,
/// in the simulator's order, stamped over the minute before `end` (live
/// telemetry at full rate: the simulator spreads them over hours of
/// simulated time, which would make most heartbeats stale on arrival).
pub fn mix(devices: usize, n: usize, end: DateTime<Utc>) -> (Inventory, Vec<Envelope>) {
    let cfg = SimConfig::default();
    let begin = end - Duration::hours(1);
    let mut sim = Simulator::new(&cfg, crate::sim::plan(cfg.seed, devices), begin);
    let inv = sim.inventory().clone();
    let mut out = Vec::with_capacity(n);
    let mut t = begin;
    while out.len() < n {
        t += Duration::seconds(30);
        let due = sim.due(t, n - out.len());
        if due.is_empty() && t > begin + Duration::days(30) {
            break;
        }
        out.extend(due);
    }
    out.truncate(n);
    let len = i64::try_from(out.len().max(1)).unwrap_or(i64::MAX);
    for (i, m) in out.iter_mut().enumerate() {
        let i = i64::try_from(i).unwrap_or(0);
        m.ts = end - Duration::milliseconds((len - 1 - i) * 60_000 / len);
    }
    (inv, out)
}

/// `n` metrics messages spread round-robin over the fleet's devices, with
/// ids `{tag}-{i}`, stamped in order over the minute before `end` (a live
/// stream at full rate), CPU cycling from 0 to 99%.
pub fn metrics(inv: &Inventory, n: usize, tag: &str, end: DateTime<Utc>) -> Vec<Envelope> {
    let span = 60_000i64;
    (0..n)
        .filter_map(|i| {
            let d = inv.devices.get(i % inv.devices.len().max(1))?;
            let offset = i64::try_from(i).ok()? * span / i64::try_from(n.max(1)).ok()?;
            Some(Envelope {
                id: MsgId::parse(&format!("{tag}-{i}")).ok()?,
                ts: end - Duration::milliseconds(span - offset),
                tenant: d.tenant.clone(),
                device: d.id.clone(),
                body: Telemetry::Metrics(Metrics {
                    #[allow(clippy::cast_precision_loss)]
                    cpu_pct: (i % 100) as f32,
                    mem_pct: 40.0,
                    rx_bps: 1_000_000,
                    tx_bps: 200_000,
                    temp_c: None,
                }),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_over_the_fleet_and_the_last_minute() {
        let inv = crate::sim::plan(1, 50).inventory;
        let end = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let m = metrics(&inv, 1_000, "w", end);
        assert_eq!(m.len(), 1_000);
        assert_eq!(m[0].id.as_str(), "w-0");
        assert_eq!(m[1].device, inv.devices[1 % inv.devices.len()].id);
        assert!(m.windows(2).all(|w| w[0].ts <= w[1].ts));
        assert!(
            m.iter()
                .all(|e| e.ts < end && e.ts >= end - Duration::minutes(1))
        );
    }

    #[test]
    fn the_mix_is_the_same_every_time_and_ends_at_end() {
        let end = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let (inv, a) = mix(50, 500, end);
        let (_, b) = mix(50, 500, end);
        assert_eq!(a.len(), 500);
        assert!(!inv.devices.is_empty());
        // The same messages (their ids carry the run's own nonce).
        let shape = |v: &[Envelope]| -> Vec<(String, String)> {
            v.iter()
                .map(|m| (m.device.to_string(), m.subject()))
                .collect()
        };
        assert!(shape(&a) == shape(&b), "two mixes differ");
        assert!(a.windows(2).all(|w| w[0].ts <= w[1].ts));
        assert_eq!(a.last().map(|m| m.ts), Some(end));
        assert!(a.iter().any(|m| !matches!(m.body, Telemetry::Metrics(_))));
    }
}
