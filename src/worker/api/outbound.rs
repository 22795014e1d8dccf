//! The outbound verbs (`crate::api::outbound`): destinations of the
//! call's scope (a tenant's own; on `_all` the provider's, and in the
//! list every tenant's too).

use super::Call;
use crate::admin::outbound as admin;
use crate::api::ApiError;
use crate::api::args::NoArgs;
use crate::api::outbound::{
    DeliveriesArgs, DeliveryView, DestinationRef, DestinationView, Health, Queued, Requeued,
};
use crate::domain::Id;
use crate::store::outbound::{DestinationRow, PROVIDER_OWNER};

/// The owner a scope's destinations have.
fn owner(c: &Call<'_>) -> Option<Id> {
    c.scope.tenant().cloned()
}

fn dest_id(s: &str) -> Result<Id, ApiError> {
    Id::parse(s).map_err(|e| ApiError::bad_request(format!("destination: {e}")))
}

fn view(r: &DestinationRow) -> DestinationView {
    let d = &r.destination;
    let s = &d.settings;
    DestinationView {
        tenant: d
            .tenant
            .as_ref()
            .map_or(PROVIDER_OWNER.to_string(), ToString::to_string),
        id: d.id.to_string(),
        kind: s.kind.as_str().to_string(),
        target: admin::target_text(&s.target),
        paused: d.paused,
        breaker: r.breaker.name().to_string(),
        data_mode: s.data_mode.as_str().to_string(),
        types: s
            .routing
            .types
            .iter()
            .map(|t| t.as_str().to_string())
            .collect(),
        min_severity: s.routing.min_severity.map(|m| m.as_str().to_string()),
        health: Health::default(),
    }
}

/// The newest deliveries read to judge a destination's pace.
const PACE_ROWS: u32 = 500;

/// How destination `r` is doing, from its queue and newest deliveries.
async fn health(c: &Call<'_>, r: &DestinationRow) -> Result<Health, ApiError> {
    let d = &r.destination;
    let (backlog, oldest_pending) = c.store().backlog(d.tenant.as_ref(), &d.id).await?;
    let newest = c
        .store()
        .deliveries(d.tenant.as_ref(), &d.id, PACE_ROWS)
        .await?;
    let since = chrono::Utc::now() - chrono::Duration::minutes(5);
    let delivered_5m = newest
        .iter()
        .filter(|l| l.state == "delivered" && l.done_at.is_some_and(|t| t >= since))
        .count() as u64;
    let last = newest.into_iter().find(|l| l.attempts > 0);
    Ok(Health {
        backlog,
        oldest_pending,
        delivered_5m,
        last,
    })
}

pub(super) async fn list(c: &Call<'_>, _: NoArgs) -> Result<Vec<DestinationView>, ApiError> {
    // A tenant's scope holds its own; `_all` every tenant's, the
    // provider's first (a provider-wide user acts on a customer's in that
    // customer's scope).
    let mut rows = c.store().destinations(c.scope).await?;
    rows.sort_by(|a, b| {
        (a.destination.tenant.as_ref(), &a.destination.id)
            .cmp(&(b.destination.tenant.as_ref(), &b.destination.id))
    });
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(DestinationView {
            health: health(c, r).await?,
            ..view(r)
        });
    }
    Ok(out)
}

pub(super) async fn deliveries(
    c: &Call<'_>,
    a: DeliveriesArgs,
) -> Result<Vec<DeliveryView>, ApiError> {
    let id = dest_id(&a.destination)?;
    let owner = owner(c);
    admin::get(c.store(), owner.as_ref(), &id).await?;
    let limit = super::capped("limit", a.limit, 50, crate::api::MAX_LIST)?;
    Ok(c.store().deliveries(owner.as_ref(), &id, limit).await?)
}

pub(super) async fn test(c: &Call<'_>, a: DestinationRef) -> Result<Queued, ApiError> {
    let id = dest_id(&a.destination)?;
    let owner = owner(c);
    let now = chrono::Utc::now();
    let queued = admin::test(c.store(), owner.as_ref(), &id, &c.who.user, now).await?;
    Ok(Queued { queued })
}

pub(super) async fn replay(c: &Call<'_>, a: DestinationRef) -> Result<Requeued, ApiError> {
    let id = dest_id(&a.destination)?;
    let owner = owner(c);
    let now = chrono::Utc::now();
    let queued_again = admin::replay(c.store(), owner.as_ref(), &id, &c.who.user, now).await?;
    Ok(Requeued { queued_again })
}

pub(super) async fn set_paused(
    c: &Call<'_>,
    a: DestinationRef,
    paused: bool,
) -> Result<DestinationView, ApiError> {
    let id = dest_id(&a.destination)?;
    let owner = owner(c);
    let now = chrono::Utc::now();
    admin::set_paused(c.store(), owner.as_ref(), &id, paused, &c.who.user, now).await?;
    Ok(view(&admin::get(c.store(), owner.as_ref(), &id).await?))
}
