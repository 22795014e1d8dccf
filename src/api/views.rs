//! The answers of the deeper views' verbs: a device's detail, an
//! incident's alerts and timeline, the signal degradation ranking. Series
//! come bucketed, so that an answer stays small whatever the window.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::model::{Alert, DeviceRow, LinkRow};
use crate::domain::push::Push;
use crate::domain::series::{self, MetricSeries, Window};
use crate::domain::site::SignalTrend;

/// The `incident` answer: the incident in any state, its alerts (oldest
/// first) and its timeline: every action and note, from the audit log, in
/// log order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentDetail {
    pub incident: crate::domain::incident::Incident,
    pub alerts: Vec<Alert>,
    pub timeline: Vec<crate::domain::audit::AuditEntry>,
    /// Why its alerts fired: the rule, its hysteresis and flap counters and
    /// the last evaluations, for the alerts the worker still tracks.
    #[serde(default)]
    pub why: Vec<crate::domain::alert::Why>,
}

/// The `device` answer: the row, its series over the window, its links,
/// its newest alerts and its newest pushes (without their bodies).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceDetail {
    pub row: DeviceRow,
    pub window: Window,
    pub metrics: MetricSeries,
    pub signal: Vec<Option<f32>>,
    pub links: Vec<LinkRow>,
    pub alerts: Vec<Alert>,
    pub pushes: Vec<Push>,
    /// Its interfaces as it last reported them.
    #[serde(default)]
    pub interfaces: Option<crate::domain::fleet::DeviceInterfaces>,
}

/// The `trends` answer: devices whose signal fell the most first. The
/// recent window is `range_s` long; the baseline is the two before it,
/// as the degradation rule compares a week with the fortnight before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trends {
    pub until: DateTime<Utc>,
    pub range_s: u32,
    pub rows: Vec<SignalTrend>,
}
impl Trends {
    /// Recent minus baseline, in dB (negative: the signal fell).
    pub fn drop_db(t: &SignalTrend) -> Option<f32> {
        Some(t.recent_dbm? - t.baseline_dbm?)
    }

    /// The largest fall first, then the weakest signal; rows without both
    /// windows last.
    pub fn rank(rows: &mut [SignalTrend]) {
        rows.sort_by(|a, b| {
            let key = |t: &SignalTrend| Trends::drop_db(t).unwrap_or(f32::INFINITY);
            key(a)
                .total_cmp(&key(b))
                .then(
                    a.recent_dbm
                        .unwrap_or(0.0)
                        .total_cmp(&b.recent_dbm.unwrap_or(0.0)),
                )
                .then(a.device.cmp(&b.device))
        });
    }

    /// The windows of a ranking over `range_s` up to `until`: where the
    /// baseline starts, where the recent window starts.
    pub fn windows(until: DateTime<Utc>, range_s: u32) -> (DateTime<Utc>, DateTime<Utc>) {
        let range = chrono::Duration::seconds(i64::from(range_s.clamp(60, series::MAX_RANGE_S)));
        (until - range * 3, until - range)
    }
}
