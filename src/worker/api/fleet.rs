//! The verbs of the live views: the snapshot a console starts from, the
//! fleet's pages and counts, tenants, sites, the map, incidents, alerts
//! and a device's raw signal.

use std::sync::Arc;

use super::{Call, capped, sane_time};
use crate::api::args::{LimitArgs, NoArgs, PageArgs, SeriesArgs};
use crate::api::wire::{MapView, Snapshot, SnapshotPage};
use crate::api::{
    ApiError, FLEET_PAGE, MAX_FILTER, MAX_FLEET_PAGE, MAX_LIST, MAX_SIGNAL_RANGE, SNAPSHOT_PAGE,
};
use crate::bus::Stream;
use crate::domain::access::Principal;
use crate::domain::fleet::{FleetPage, FleetQuery, StatusCounts};
use crate::domain::incident::Incident;
use crate::domain::model::{Alert, SignalSample, Tenant};
use crate::domain::site::SiteSummary;

fn page_of(id: String, snap: &Snapshot, offset: u64, limit: u32, with_head: bool) -> SnapshotPage {
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(snap.devices.len());
    let end = start
        .saturating_add(limit.clamp(1, 10 * SNAPSHOT_PAGE) as usize)
        .min(snap.devices.len());
    SnapshotPage {
        id,
        events_seq: snap.events_seq,
        counts: snap.counts,
        incidents: if with_head {
            snap.incidents.clone()
        } else {
            Vec::new()
        },
        total: snap.devices.len() as u64,
        offset: start as u64,
        devices: snap.devices[start..end].to_vec(),
    }
}

pub(super) fn whoami(c: &Call<'_>, _: NoArgs) -> Result<Principal, ApiError> {
    Ok(c.who.clone())
}

pub(super) async fn snapshot(c: &Call<'_>, a: PageArgs) -> Result<SnapshotPage, ApiError> {
    let (bus, store, lock) = (c.ctx.bus.as_ref(), c.store(), &c.ctx.publish_lock);
    let cache = c.snapshots;
    let scope = c.scope.clone();
    let _in_flight = cache.begin(&c.who.user)?;
    let snap = cache
        .take(&scope, || async {
            // Writes (and their events) wait only until the store's read
            // view is fixed: the view and the sequence then agree, and the
            // reads run while ingest goes on.
            let consistent = Arc::clone(lock).lock_owned().await;
            let events_seq = bus.last_seq(Stream::Events).await?;
            let read = store
                .fleet_snapshot(&scope, 500, Box::new(move || drop(consistent)))
                .await?;
            Ok(Snapshot {
                events_seq,
                counts: read.counts,
                devices: read.devices,
                incidents: read.incidents,
            })
        })
        .await?;
    let limit = a
        .limit
        .unwrap_or(SNAPSHOT_PAGE)
        .clamp(1, 10 * SNAPSHOT_PAGE);
    let id = if snap.devices.len() > limit as usize {
        cache.keep(&c.who.user, &scope, Arc::clone(&snap))
    } else {
        String::new()
    };
    Ok(page_of(id, &snap, 0, limit, true))
}

pub(super) fn snapshot_page(c: &Call<'_>, a: PageArgs) -> Result<SnapshotPage, ApiError> {
    let snap = c.snapshots.get(&c.who.user, c.scope, &a.id)?;
    Ok(page_of(
        a.id,
        &snap,
        a.offset,
        a.limit.unwrap_or(SNAPSHOT_PAGE),
        false,
    ))
}

pub(super) async fn fleet(c: &Call<'_>, mut q: FleetQuery) -> Result<FleetPage, ApiError> {
    if q.text
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_FILTER)
    {
        return Err(ApiError::bad_request(format!(
            "text: at most {MAX_FILTER} characters"
        )));
    }
    q.limit = capped(
        "limit",
        (q.limit != 0).then_some(q.limit),
        FLEET_PAGE,
        MAX_FLEET_PAGE,
    )?;
    Ok(c.store().fleet_page(c.scope, &q).await?)
}

pub(super) async fn counts(c: &Call<'_>, _: NoArgs) -> Result<StatusCounts, ApiError> {
    Ok(c.store().status_counts(c.scope).await?)
}

pub(super) async fn tenants(c: &Call<'_>, _: NoArgs) -> Result<Vec<Tenant>, ApiError> {
    let mut all = c.store().tenants().await?;
    all.retain(|t| c.scope.tenant().is_none_or(|s| *s == t.id));
    Ok(all)
}

pub(super) async fn sites(c: &Call<'_>, _: NoArgs) -> Result<Vec<SiteSummary>, ApiError> {
    Ok(c.store().sites(c.scope).await?)
}

pub(super) async fn map(c: &Call<'_>, _: NoArgs) -> Result<MapView, ApiError> {
    Ok(MapView {
        sites: c.store().sites(c.scope).await?,
        aps: c.store().ap_links(c.scope).await?,
    })
}

pub(super) async fn incidents(c: &Call<'_>, a: LimitArgs) -> Result<Vec<Incident>, ApiError> {
    let limit = capped("limit", a.limit, 200, MAX_LIST)?;
    Ok(c.store().incident_queue(c.scope, limit).await?)
}

pub(super) async fn alerts(c: &Call<'_>, a: LimitArgs) -> Result<Vec<Alert>, ApiError> {
    let limit = capped("limit", a.limit, 200, MAX_LIST)?;
    Ok(c.store()
        .alert_history(c.scope, a.device.as_ref(), limit)
        .await?)
}

pub(super) async fn signal(c: &Call<'_>, a: SeriesArgs) -> Result<Vec<SignalSample>, ApiError> {
    sane_time("since", a.since)?;
    sane_time("until", a.until)?;
    if a.since >= a.until || a.until - a.since > MAX_SIGNAL_RANGE {
        return Err(ApiError::bad_request(
            "since..until: since before until, at most 31 days apart",
        ));
    }
    Ok(c.store()
        .signal_series(c.scope, &a.device, a.since, a.until)
        .await?)
}
