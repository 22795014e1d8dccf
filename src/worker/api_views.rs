//! The api verbs behind the console's deeper views: a device's detail
//! (`device`), a site's sectors, links and alerts (`site`), the signal
//! degradation ranking (`trends`), and an incident's alerts and timeline
//! (`incident`). Series come bucketed, so that an answer
//! stays small whatever the window.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::api::{ApiError, args, strict, to_json};
use crate::domain::Id;
use crate::domain::model::{Alert, DeviceRow, LinkRow};
use crate::domain::push::Push;
use crate::domain::push::PushQuery;
use crate::domain::series::{self, MetricSeries, Window};
use crate::domain::site::SignalTrend;
use crate::store::{Scope, Store};

pub(super) const VERBS: [&str; 4] = ["device", "site", "trends", "incident"];

/// Timeline entries an incident's detail lists.
const TIMELINE: u32 = 200;

/// Alerts and pushes a device's detail lists.
const RECENT: u32 = 8;
/// Alerts a site's detail lists.
const SITE_ALERTS: u32 = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceArgs {
    device: Id,
    /// End of the window (default: now); consoles send their own clock.
    #[serde(default)]
    until: Option<DateTime<Utc>>,
    #[serde(default)]
    range_s: Option<u32>,
    #[serde(default)]
    buckets: Option<u16>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteArgs {
    site: Id,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IncidentArgs {
    incident: Id,
}

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

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TrendArgs {
    #[serde(default)]
    until: Option<DateTime<Utc>>,
    #[serde(default)]
    range_s: Option<u32>,
    #[serde(default)]
    limit: Option<u32>,
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

fn one_tenant<'a>(scope: &'a Scope, verb: &str) -> Result<&'a Id, ApiError> {
    scope.tenant().ok_or_else(|| {
        ApiError::new(
            "bad-request",
            format!("{verb} is asked of one tenant: vigie.api.{{tenant}}.{verb}"),
        )
    })
}

pub(super) async fn answer(
    store: &dyn Store,
    worker: Option<&tokio::sync::mpsc::Sender<super::triage::TriageRequest>>,
    who: &crate::domain::access::Principal,
    scope: &Scope,
    verb: &str,
    payload: &[u8],
) -> Result<serde_json::Value, ApiError> {
    match verb {
        "device" => {
            one_tenant(scope, verb)?;
            let a: DeviceArgs = strict(payload)?;
            let row = store.device(scope, &a.device).await?.ok_or_else(|| {
                ApiError::new("not-found", format!("no device {} here", a.device))
            })?;
            let until = match a.until {
                Some(t) => super::api::sane_time("until", t)?,
                None => Utc::now(),
            };
            let window = Window::ending(until, a.range_s.unwrap_or(3_600), a.buckets.unwrap_or(60));
            let metrics = store
                .metric_series(scope, &a.device, window.since, window.until)
                .await?;
            let signal = store
                .signal_series(scope, &a.device, window.since, window.until)
                .await?;
            let q = PushQuery {
                device: Some(a.device.clone()),
                rollout: None,
                open_only: false,
                limit: RECENT,
            };
            let mut pushes = store.pushes(scope, &q).await?;
            for p in &mut pushes {
                p.body.clear();
                p.previous = None;
            }
            to_json(DeviceDetail {
                metrics: MetricSeries::of(&window, &metrics),
                signal: series::signal_series(&window, &signal),
                links: store.device_links(scope, &a.device).await?,
                interfaces: store.device_interfaces(scope, &a.device).await?,
                alerts: store.alert_history(scope, Some(&a.device), RECENT).await?,
                pushes,
                row,
                window,
            })
        }
        "incident" => {
            one_tenant(scope, verb)?;
            let a: IncidentArgs = strict(payload)?;
            let (incident, alerts) =
                store.incident(scope, &a.incident).await?.ok_or_else(|| {
                    ApiError::new("not-found", format!("no incident {} here", a.incident))
                })?;
            let target = format!("incident/{}", a.incident);
            to_json(IncidentDetail {
                timeline: store.audit(scope, Some(&target), TIMELINE).await?,
                why: super::triage::explain(worker, who, &incident).await?,
                incident,
                alerts,
            })
        }
        "site" => {
            one_tenant(scope, verb)?;
            let a: SiteArgs = strict(payload)?;
            to_json(store.site_detail(scope, &a.site, SITE_ALERTS).await?)
        }
        _ => {
            let a: TrendArgs = args(payload)?;
            let until = match a.until {
                Some(t) => super::api::sane_time("until", t)?,
                None => Utc::now(),
            };
            let limit = super::api::capped("limit", a.limit, 200, super::api::MAX_LIST)?;
            let range_s = a.range_s.unwrap_or(86_400).clamp(60, series::MAX_RANGE_S);
            let (baseline, recent) = Trends::windows(until, range_s);
            let mut rows = store.signal_trends(scope, baseline, recent, until).await?;
            Trends::rank(&mut rows);
            rows.truncate(limit as usize);
            to_json(Trends {
                until,
                range_s,
                rows,
            })
        }
    }
}
