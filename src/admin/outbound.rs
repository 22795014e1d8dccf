//! Destinations on the worker's host: added, changed, paused, removed
//! (each audited in the owner's chain, the provider's for `_all`),
//! listed with each secret's fingerprint (never the secret), tested with a
//! `delivery.test` event queued like any other, and replayed.

use chrono::{DateTime, Utc};

use super::users::{AdminError, chain_of};
use crate::domain::Id;
use crate::domain::audit::AuditEntry;
use crate::domain::outbound::destination::{Destination, Target};
use crate::domain::outbound::event::{EventType, delivery_event};
use crate::store::outbound::{DestinationRow, OutboxRow};
use crate::store::{Scope, Store, WriteBatch};

fn invalid(s: impl Into<String>) -> AdminError {
    AdminError::Invalid(s.into())
}

/// What a destination points at, for the audit log and listings: the URL
/// without user, password or query, or `transport://host:port`.
pub fn target_text(t: &Target) -> String {
    match t {
        Target::Url(u) => {
            let no_query = u.split(['?', '#']).next().unwrap_or(u);
            crate::domain::redact::redact_url(no_query)
        }
        Target::Syslog {
            host,
            port,
            transport,
        } => format!("{}://{host}:{port}", crate::domain::enum_name(transport)),
    }
}

async fn owner_exists(store: &dyn Store, owner: Option<&Id>) -> Result<(), AdminError> {
    match owner {
        Some(t) if !store.tenants().await?.iter().any(|x| &x.id == t) => {
            Err(invalid(format!("no tenant {t}")))
        }
        _ => Ok(()),
    }
}

/// The destination of `owner` named `id`.
pub async fn get(
    store: &dyn Store,
    owner: Option<&Id>,
    id: &Id,
) -> Result<DestinationRow, AdminError> {
    let scope = owner.map_or(Scope::All, |t| Scope::Tenant(t.clone()));
    store
        .destinations(&scope)
        .await?
        .into_iter()
        .find(|r| r.destination.tenant.as_ref() == owner && &r.destination.id == id)
        .ok_or_else(|| {
            invalid(format!(
                "no destination {id} of {}",
                owner.map_or("the provider".to_string(), ToString::to_string)
            ))
        })
}

/// Adds a destination, or replaces one of the same owner and id.
pub async fn put(
    store: &dyn Store,
    d: &Destination,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    d.settings.check().map_err(invalid)?;
    owner_exists(store, d.tenant.as_ref()).await?;
    let existed = get(store, d.tenant.as_ref(), &d.id).await.is_ok();
    let mut audit = AuditEntry::new(
        &chain_of(d.tenant.as_ref()),
        now,
        actor,
        if existed {
            "outbound.change"
        } else {
            "outbound.add"
        },
        format!("destination/{}", d.id),
    );
    audit.after = Some(format!(
        "{} {}{}{}",
        d.settings.kind.as_str(),
        target_text(&d.settings.target),
        if d.settings.allow_private {
            ", private addresses allowed"
        } else {
            ""
        },
        if d.paused { ", paused" } else { "" },
    ));
    store.put_destination(d, now, &audit).await?;
    Ok(())
}

/// Pauses or resumes a destination (a paused one keeps queuing).
pub async fn set_paused(
    store: &dyn Store,
    owner: Option<&Id>,
    id: &Id,
    paused: bool,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    let mut d = get(store, owner, id).await?.destination;
    d.paused = paused;
    let audit = AuditEntry::new(
        &chain_of(owner),
        now,
        actor,
        if paused {
            "outbound.pause"
        } else {
            "outbound.resume"
        },
        format!("destination/{id}"),
    );
    store.put_destination(&d, now, &audit).await?;
    Ok(())
}

/// Removes a destination and what it had queued.
pub async fn remove(
    store: &dyn Store,
    owner: Option<&Id>,
    id: &Id,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    let audit = AuditEntry::new(
        &chain_of(owner),
        now,
        actor,
        "outbound.remove",
        format!("destination/{id}"),
    );
    if !store.remove_destination(owner, id, &audit).await? {
        return Err(invalid(format!("no destination {id}")));
    }
    Ok(())
}

/// Queues a `delivery.test` event for the destination (sent like any
/// other by the running worker); its id.
pub async fn test(
    store: &dyn Store,
    owner: Option<&Id>,
    id: &Id,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<String, AdminError> {
    get(store, owner, id).await?;
    let event = delivery_event(
        EventType::DeliveryTest,
        &chain_of(owner),
        id,
        format!("a test from vigie, asked by {actor}"),
        now,
        &now.timestamp_millis().to_string(),
    );
    let event_id = event.id.clone();
    let batch = WriteBatch {
        outbox: vec![OutboxRow {
            owner: owner.cloned(),
            destination: id.clone(),
            event,
            queued_at: now,
        }],
        ..WriteBatch::default()
    };
    store.write_batch(&batch).await?;
    Ok(event_id)
}

/// Queues the dead and expired rows again (audited); how many.
pub async fn replay(
    store: &dyn Store,
    owner: Option<&Id>,
    id: &Id,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<u64, AdminError> {
    get(store, owner, id).await?;
    let n = store.requeue(owner, id, now).await?;
    let mut audit = AuditEntry::new(
        &chain_of(owner),
        now,
        actor,
        "outbound.replay",
        format!("destination/{id}"),
    );
    audit.after = Some(format!("{n} deliveries queued again"));
    store.append_audit(&audit).await?;
    Ok(n)
}
