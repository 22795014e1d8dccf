//! Raising and clearing a tenant's `delivery-failing` alert from the
//! dispatcher's figures (the decision is `domain::outbound::failing`).
//! The alert is written with the outbox rows of its `alert.fired` or
//! `alert.cleared` event for the tenant's destinations, in one
//! transaction, then announced to consoles on the events stream. After a
//! restart, a destination found healthy clears an
//! alert left firing by the worker before.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::bus::Bus;
use crate::bus::event::{Event, EventBody};
use crate::domain::alert::AlertState;
use crate::domain::model::Alert;
use crate::domain::outbound::destination::Destination;
use crate::domain::outbound::failing;
use crate::store::{Scope, Store, StoreError, WriteBatch};

/// What the dispatcher knows of each destination's alert.
#[derive(Debug, Default)]
pub struct Watch {
    /// Per lease: since when its alert fires (`None`: it does not).
    firing: HashMap<String, Option<DateTime<Utc>>>,
    /// Per lease: rows expired since the last check.
    expired: HashMap<String, u64>,
}

impl Watch {
    /// Counts rows given up on.
    pub fn expired(&mut self, lease: &str, n: u64) {
        if n > 0 {
            *self.expired.entry(lease.to_string()).or_default() += n;
        }
    }

    /// Checks `d` (a tenant's) with its backlog and oldest pending age,
    /// raising or clearing its alert on a change; the alert as written
    /// when it changed.
    pub async fn check(
        &mut self,
        store: &dyn Store,
        d: &Destination,
        lease: &str,
        figures: (u64, u64),
        now: DateTime<Utc>,
    ) -> Result<Option<Alert>, StoreError> {
        let Some(tenant) = &d.tenant else {
            return Ok(None);
        };
        let expired = self.expired.remove(lease).unwrap_or(0);
        let failing = failing::is_failing(figures.1, expired, d.settings.heartbeat_s);
        let known = match self.firing.get(lease) {
            Some(k) => *k,
            None => left_firing(store, tenant, d).await?,
        };
        let (state, started) = match (known, failing) {
            (None, true) => (AlertState::Firing, now),
            (Some(since), false) => (AlertState::Resolved, since),
            (k, _) => {
                self.firing.insert(lease.to_string(), k);
                return Ok(None);
            }
        };
        let Some(alert) = failing::alert(tenant, &d.id, state, started, now, figures) else {
            return Ok(None);
        };
        tracing::warn!(tenant = %tenant, destination = %d.id, state = state.as_str(), backlog = figures.0,
            oldest_s = figures.1, expired, "delivery-failing");
        let mut routes = crate::worker::outbound::Routes::default();
        routes.refresh(store).await;
        let announced = [(alert.id.clone(), EventBody::Alert(alert.clone()))];
        let outbox = routes.rows(&announced, &[], now);
        store
            .write_batch(&WriteBatch {
                alerts: vec![alert.clone()],
                outbox,
                ..WriteBatch::default()
            })
            .await?;
        self.firing.insert(
            lease.to_string(),
            (state == AlertState::Firing).then_some(started),
        );
        Ok(Some(alert))
    }
}

/// Publishes a change of the alert to consoles. Best effort: it is
/// stored, and a console that misses it reads it with the others.
pub async fn announce(bus: &dyn Bus, alert: Alert, now: DateTime<Utc>) {
    let id = format!(
        "{}-{}-{}",
        alert.id,
        alert.state.as_str(),
        alert.updated.timestamp_millis()
    );
    let event = Event::new(id, alert.tenant.clone(), now, EventBody::Alert(alert));
    let published = match crate::bus::json_payload(&event) {
        Ok(payload) => bus.publish(&event.subject(), &event.id, payload).await,
        Err(e) => Err(e),
    };
    if let Err(e) = published {
        tracing::warn!(error = %e, "delivery-failing alert not announced");
    }
}

/// Since when `d`'s alert fires as stored (a worker before this one
/// raised it), if it does.
async fn left_firing(
    store: &dyn Store,
    tenant: &crate::domain::Id,
    d: &Destination,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let Some(id) = failing::alert_id(&d.id) else {
        return Ok(None);
    };
    let alerts = store
        .alert_history(&Scope::Tenant(tenant.clone()), None, 2_000)
        .await?;
    Ok(alerts
        .into_iter()
        .find(|a| a.id == id && a.state == AlertState::Firing)
        .map(|a| a.started))
}
