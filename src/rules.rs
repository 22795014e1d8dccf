//! Pure rule evaluation: which samples hit which device rules. The alert
//! lifecycle itself (hysteresis, flapping, silences) is
//! [`crate::domain::alert`]; the worker feeds it with what these say.

pub mod site;

use crate::domain::alert::AlertPolicy;
use crate::domain::device::DeviceStatus;
use crate::domain::model::{DeviceKind, Severity};
pub use crate::domain::threshold::{Measure, Op, ThresholdRule, default_threshold_rules};

/// The id of the alert `rule` raises about `subject` (a device, site or
/// sector): `{rule}-{subject}`, or a stable hash when that is too long for
/// an id, so that it is the same across restarts and workers.
pub fn alert_id(rule: &str, subject: &crate::domain::Id) -> crate::domain::Id {
    use crate::domain::Id;
    let raw = format!("{rule}-{subject}");
    if let Ok(id) = Id::parse(&raw) {
        return id;
    }
    // FNV-1a.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in raw.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    Id::parse(&format!("{rule}-{h:016x}")).unwrap_or_else(|_| subject.clone())
}

/// The name of the rule raised when a device goes offline.
pub const DEVICE_OFFLINE: &str = "device-offline";
/// The name of the rule raised when a link degrades or goes down.
pub const LINK_DEGRADED: &str = "link-degraded";

/// The name of the rule raised when a device's status flaps.
pub const DEVICE_FLAPPING: &str = "device-flapping";
/// Status changes within [`FLAP_WINDOW_S`] that make a device flapping.
pub const FLAP_CHANGES: usize = 5;
/// The window of the flapping rule, in seconds.
pub const FLAP_WINDOW_S: i64 = 600;

/// Whether a device whose status changed at `changes` (oldest first) is
/// flapping at `now`: [`FLAP_CHANGES`] or more in the last
/// [`FLAP_WINDOW_S`].
pub fn flapping(
    changes: &[chrono::DateTime<chrono::Utc>],
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    let since = now - chrono::Duration::seconds(FLAP_WINDOW_S);
    changes.iter().filter(|t| **t > since).count() >= FLAP_CHANGES
}

/// The flapping rule fires and resolves on the first evaluation: the window
/// already smooths it.
pub fn flapping_policy() -> AlertPolicy {
    AlertPolicy {
        fire_after: 1,
        resolve_after: 1,
        ..AlertPolicy::default()
    }
}

/// Severity of a device going offline: infrastructure matters more than an
/// endpoint.
pub fn offline_severity(kind: DeviceKind) -> Severity {
    match kind {
        DeviceKind::Router | DeviceKind::Appliance => Severity::Critical,
        DeviceKind::AccessPoint => Severity::Major,
        DeviceKind::Cpe | DeviceKind::EdgeSensor => Severity::Minor,
        DeviceKind::Workstation => Severity::Warning,
    }
}

/// The offline rule fires on the first sweep that finds the device offline
/// and resolves on the first heartbeat: the status machine's own thresholds
/// are the hysteresis.
/// The condition of one of the worker's own device rules, in words.
pub fn describe(rule: &str, t: crate::domain::device::StatusThresholds) -> String {
    match rule {
        DEVICE_OFFLINE => format!("no heartbeat for {} s", t.offline_after_s),
        DEVICE_FLAPPING => format!("{FLAP_CHANGES} status changes within {FLAP_WINDOW_S} s"),
        LINK_DEGRADED => "a link's signal under the degraded line, or its reports missed".into(),
        other => other.to_string(),
    }
}

pub fn offline_policy() -> AlertPolicy {
    AlertPolicy {
        fire_after: 1,
        resolve_after: 1,
        ..AlertPolicy::default()
    }
}

/// Whether a status counts as a hit of the offline rule.
pub fn offline_hit(status: DeviceStatus) -> Option<bool> {
    match status {
        DeviceStatus::Offline => Some(true),
        DeviceStatus::Online => Some(false),
        DeviceStatus::Stale | DeviceStatus::Pending => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn five_changes_in_ten_minutes_is_flapping() {
        let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let at = |m: i64| t0 + chrono::Duration::minutes(m);
        let changes: Vec<_> = [0, 2, 4, 6, 8].into_iter().map(at).collect();
        assert!(super::flapping(&changes, at(9)));
        assert!(!super::flapping(&changes[1..], at(9)));
        assert!(
            !super::flapping(&changes, at(11)),
            "the first left the window"
        );
    }

    use super::*;
    use crate::domain::telemetry::Metrics;

    fn metrics(cpu: f32, temp: Option<f32>) -> Metrics {
        Metrics {
            cpu_pct: cpu,
            mem_pct: 10.0,
            rx_bps: 0,
            tx_bps: 0,
            temp_c: temp,
        }
    }

    #[test]
    fn thresholds() {
        let rules = default_threshold_rules();
        let cpu = &rules[0];
        assert_eq!(cpu.hit(&metrics(95.0, None)), Some(true));
        assert_eq!(cpu.hit(&metrics(90.0, None)), Some(false));
        let temp = &rules[2];
        assert_eq!(temp.hit(&metrics(1.0, None)), None);
        assert_eq!(temp.hit(&metrics(1.0, Some(80.0))), Some(true));
        let below = ThresholdRule {
            op: Op::Below,
            ..cpu.clone()
        };
        assert_eq!(below.hit(&metrics(5.0, None)), Some(true));
    }

    #[test]
    fn offline_hits() {
        assert_eq!(offline_hit(DeviceStatus::Offline), Some(true));
        assert_eq!(offline_hit(DeviceStatus::Online), Some(false));
        assert_eq!(offline_hit(DeviceStatus::Stale), None);
        assert_eq!(offline_severity(DeviceKind::Router), Severity::Critical);
    }

    #[test]
    fn summaries() {
        let r = &default_threshold_rules()[0];
        assert_eq!(r.summary("rtr-1"), "rtr-1: CPU above 90%");
    }
}
