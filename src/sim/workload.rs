//! Fixed workloads for benchmarks and load tests: the same messages every
//! time for the same arguments.

use chrono::{DateTime, Duration, Utc};

use crate::bus::envelope::{Envelope, MsgId};
use crate::domain::model::Inventory;
use crate::domain::telemetry::{Metrics, Telemetry};

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
}
