//! What the console benchmarks share: a simulated fleet as console rows.

use chrono::{DateTime, Utc};
use vigie::domain::device::DeviceStatus;
use vigie::domain::model::DeviceRow;

pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

/// About `n` devices of the simulated fleet, one in 13 offline.
pub fn rows(n: usize) -> Vec<DeviceRow> {
    let plan = vigie::sim::plan(1, n);
    plan.inventory
        .devices
        .iter()
        .enumerate()
        .map(|(i, d)| DeviceRow {
            tenant: d.tenant.clone(),
            id: d.id.clone(),
            name: d.name.clone(),
            kind: d.kind,
            site: d.site.clone(),
            site_name: d.site.as_str().into(),
            firmware: d.firmware.clone(),
            status: if i % 13 == 0 {
                DeviceStatus::Offline
            } else {
                DeviceStatus::Online
            },
            status_since: Some(now()),
            last_seen: Some(now() - chrono::Duration::seconds((i % 600) as i64)),
            cpu_pct: Some((i % 100) as f32),
            mem_pct: Some(50.0),
            signal_dbm: Some(-60.0),
            uptime_s: Some(1),
        })
        .collect()
}
