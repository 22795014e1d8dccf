//! The verbs behind the console's deeper views: a device's detail
//! (`device`), a site's sectors, links and alerts (`site`), the signal
//! degradation ranking (`trends`), and an incident's alerts and timeline
//! (`incident`).

use chrono::Utc;

use super::{Call, capped, sane_time};
use crate::api::args::{DeviceArgs, IncidentArgs, SiteArgs, TrendArgs};
use crate::api::views::{DeviceDetail, IncidentDetail, Trends};
use crate::api::{ApiError, ErrorCode, MAX_LIST};
use crate::domain::Id;
use crate::domain::push::PushQuery;
use crate::domain::series::{self, MetricSeries, Window};
use crate::domain::site::SiteDetail;
use crate::store::Scope;

/// Timeline entries an incident's detail lists.
const TIMELINE: u32 = 200;
/// Alerts and pushes a device's detail lists.
const RECENT: u32 = 8;
/// Alerts a site's detail lists.
const SITE_ALERTS: u32 = 20;

fn one_tenant<'a>(scope: &'a Scope, verb: &str) -> Result<&'a Id, ApiError> {
    scope.tenant().ok_or_else(|| {
        ApiError::bad_request(format!(
            "{verb} is asked of one tenant: vigie.api.{{tenant}}.{verb}"
        ))
    })
}

pub(super) async fn device(c: &Call<'_>, a: DeviceArgs) -> Result<DeviceDetail, ApiError> {
    let (store, scope) = (c.store(), c.scope);
    one_tenant(scope, "device")?;
    let row = store.device(scope, &a.device).await?.ok_or_else(|| {
        ApiError::new(ErrorCode::NotFound, format!("no device {} here", a.device))
    })?;
    let until = match a.until {
        Some(t) => sane_time("until", t)?,
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
    Ok(DeviceDetail {
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

pub(super) async fn incident(c: &Call<'_>, a: IncidentArgs) -> Result<IncidentDetail, ApiError> {
    let (store, scope) = (c.store(), c.scope);
    one_tenant(scope, "incident")?;
    let (incident, alerts) = store.incident(scope, &a.incident).await?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("no incident {} here", a.incident),
        )
    })?;
    let target = format!("incident/{}", a.incident);
    Ok(IncidentDetail {
        timeline: store.audit(scope, Some(&target), TIMELINE).await?,
        why: crate::worker::triage::explain(c.ctx.triage.as_ref(), c.who, &incident).await?,
        incident,
        alerts,
    })
}

pub(super) async fn site(c: &Call<'_>, a: SiteArgs) -> Result<SiteDetail, ApiError> {
    one_tenant(c.scope, "site")?;
    Ok(c.store().site_detail(c.scope, &a.site, SITE_ALERTS).await?)
}

pub(super) async fn trends(c: &Call<'_>, a: TrendArgs) -> Result<Trends, ApiError> {
    let until = match a.until {
        Some(t) => sane_time("until", t)?,
        None => Utc::now(),
    };
    let limit = capped("limit", a.limit, 200, MAX_LIST)?;
    let range_s = a.range_s.unwrap_or(86_400).clamp(60, series::MAX_RANGE_S);
    let (baseline, recent) = Trends::windows(until, range_s);
    let mut rows = c
        .store()
        .signal_trends(c.scope, baseline, recent, until)
        .await?;
    Trends::rank(&mut rows);
    rows.truncate(limit as usize);
    Ok(Trends {
        until,
        range_s,
        rows,
    })
}
