//! The storage of delivery to the SOC: destinations (with their circuit
//! breaker's state) and the outbox, one row per (event, destination).
//! Outbox rows are written by `Store::write_batch`, in the transaction of
//! the change that caused the event; a dispatcher reads its
//! destination's due rows in order and settles each.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::Id;
use crate::domain::audit::AuditEntry;
use crate::domain::outbound::breaker::Breaker;
use crate::domain::outbound::destination::Destination;
use crate::domain::outbound::event::OutEvent;
use crate::store::{Scope, StoreError};

/// The owner of a provider-wide destination (tenant ids never start
/// with `_`).
pub const PROVIDER_OWNER: &str = "_all";

/// The owner column of a destination: its tenant, or [`PROVIDER_OWNER`].
pub fn owner_key(owner: Option<&Id>) -> String {
    owner.map_or(PROVIDER_OWNER.to_string(), |t| t.to_string())
}

/// The scope that writes a change of `tenant`'s with `outbox`: the
/// tenant's, unless a provider's destination takes one of its events
/// (those rows are not the tenant's to write).
pub fn writer_scope(tenant: &Id, outbox: &[OutboxRow]) -> Scope {
    match outbox.iter().any(|r| r.owner.is_none()) {
        true => Scope::All,
        false => Scope::Tenant(tenant.clone()),
    }
}

/// An event queued for a destination (in a `WriteBatch`).
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    /// The destination's owner (`None`: provider-wide) and id.
    pub owner: Option<Id>,
    pub destination: Id,
    pub event: OutEvent,
    /// When it was queued (the first attempt is due then).
    pub queued_at: DateTime<Utc>,
}

/// A queued event as a dispatcher reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub seq: i64,
    pub event: OutEvent,
    pub attempts: u32,
    pub queued_at: DateTime<Utc>,
    /// Accepted by the receiver, waiting for its indexer's
    /// acknowledgement (Splunk HEC).
    pub ack: Option<Ack>,
}

/// An acknowledgement awaited: its id, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    pub id: u64,
    pub since: DateTime<Utc>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    Delivered {
        status: Option<u16>,
        ms: u32,
    },
    /// Failed; tried again from `next_at`.
    Retry {
        next_at: DateTime<Utc>,
        status: Option<u16>,
        error: String,
        ms: u32,
    },
    /// Refused for good; `error` keeps what the receiver said.
    Dead {
        status: Option<u16>,
        error: String,
    },
    /// Given up: queued too long ago.
    Expired,
    /// Accepted, its acknowledgement awaited: the row stays pending (and
    /// due, so that the next round asks); `sent` when this attempt sent
    /// it (counted), not when it only asked.
    Acking {
        ack: Ack,
        sent: bool,
        status: Option<u16>,
        ms: u32,
        /// Why it was sent again, when it was.
        note: Option<String>,
    },
}

impl Settle {
    /// The row's state after it.
    pub fn state(&self) -> &'static str {
        match self {
            Settle::Delivered { .. } => "delivered",
            Settle::Retry { .. } | Settle::Acking { .. } => "pending",
            Settle::Dead { .. } => "dead",
            Settle::Expired => "expired",
        }
    }
}

pub use crate::domain::outbound::delivery::Delivery;

/// A destination as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct DestinationRow {
    pub destination: Destination,
    pub breaker: Breaker,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

/// Destinations and the outbox.
#[async_trait]
pub trait OutboundStore: Send + Sync {
    /// Creates or replaces a destination (its settings and pause; its
    /// breaker is kept), with its audit entry.
    async fn put_destination(
        &self,
        d: &Destination,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// The destinations of `scope` (every one, the provider's included,
    /// for all tenants).
    async fn destinations(&self, scope: &Scope) -> Result<Vec<DestinationRow>, StoreError>;

    /// Removes a destination and its queued rows; false when there was
    /// none.
    async fn remove_destination(
        &self,
        owner: Option<&Id>,
        id: &Id,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;

    /// Keeps a destination's breaker state.
    async fn set_breaker(&self, owner: Option<&Id>, id: &Id, b: &Breaker)
    -> Result<(), StoreError>;

    /// Up to `limit` pending rows of a destination due at `now`, oldest
    /// first, stopping at the first row not due (delivery is in order).
    async fn outbox_due(
        &self,
        owner: Option<&Id>,
        id: &Id,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxItem>, StoreError>;

    /// A destination's pending rows: how many, and when the oldest was
    /// queued.
    async fn backlog(
        &self,
        owner: Option<&Id>,
        id: &Id,
    ) -> Result<(u64, Option<DateTime<Utc>>), StoreError>;

    /// Deletes a destination's finished rows (delivered, dead, expired)
    /// finished before `before`; how many.
    async fn prune(
        &self,
        owner: Option<&Id>,
        id: &Id,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Queues again a destination's dead and expired rows (a replay),
    /// due at `now`, in their order; how many.
    async fn requeue(
        &self,
        owner: Option<&Id>,
        id: &Id,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// A destination's newest `limit` deliveries, newest first.
    async fn deliveries(
        &self,
        owner: Option<&Id>,
        id: &Id,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Records how an attempt at row `seq` of a destination of `owner`
    /// ended.
    async fn settle(
        &self,
        owner: Option<&Id>,
        seq: i64,
        how: &Settle,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The same for several rows of a destination of `owner` (a batch's),
    /// in one transaction.
    async fn settle_all(
        &self,
        owner: Option<&Id>,
        settled: &[(i64, Settle)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

/// `impl OutboundStore for $backend` with the shared queries
/// (`shared/outbound.rs`).
macro_rules! impl_outbound {
    ($backend:ty) => {
        #[async_trait::async_trait]
        impl crate::store::outbound::OutboundStore for $backend {
            async fn put_destination(
                &self,
                d: &crate::domain::outbound::destination::Destination,
                now: chrono::DateTime<chrono::Utc>,
                audit: &crate::domain::audit::AuditEntry,
            ) -> Result<(), StoreError> {
                read::put_destination(self.work(), d, now, audit).await
            }

            async fn destinations(
                &self,
                scope: &Scope,
            ) -> Result<Vec<crate::store::outbound::DestinationRow>, StoreError> {
                crate::store::scoped!(self, scope, read::destinations, scope)
            }

            async fn remove_destination(
                &self,
                owner: Option<&Id>,
                id: &Id,
                audit: &crate::domain::audit::AuditEntry,
            ) -> Result<bool, StoreError> {
                read::remove_destination(self.work(), owner, id, audit).await
            }

            async fn set_breaker(
                &self,
                owner: Option<&Id>,
                id: &Id,
                b: &crate::domain::outbound::breaker::Breaker,
            ) -> Result<(), StoreError> {
                read::set_breaker(self.work(), owner, id, b).await
            }

            async fn outbox_due(
                &self,
                owner: Option<&Id>,
                id: &Id,
                now: chrono::DateTime<chrono::Utc>,
                limit: u32,
            ) -> Result<Vec<crate::store::outbound::OutboxItem>, StoreError> {
                read::outbox_due(self.work(), owner, id, now, limit).await
            }

            async fn backlog(
                &self,
                owner: Option<&Id>,
                id: &Id,
            ) -> Result<(u64, Option<chrono::DateTime<chrono::Utc>>), StoreError> {
                read::backlog(self.work(), owner, id).await
            }

            async fn prune(
                &self,
                owner: Option<&Id>,
                id: &Id,
                before: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, StoreError> {
                read::prune(self.work(), owner, id, before).await
            }

            async fn requeue(
                &self,
                owner: Option<&Id>,
                id: &Id,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, StoreError> {
                read::requeue(self.work(), owner, id, now).await
            }

            async fn deliveries(
                &self,
                owner: Option<&Id>,
                id: &Id,
                limit: u32,
            ) -> Result<Vec<crate::store::outbound::Delivery>, StoreError> {
                read::deliveries(self.work(), owner, id, limit).await
            }

            async fn settle(
                &self,
                owner: Option<&Id>,
                seq: i64,
                how: &crate::store::outbound::Settle,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), StoreError> {
                read::settle(self.work(), owner, seq, how, now).await
            }

            async fn settle_all(
                &self,
                owner: Option<&Id>,
                settled: &[(i64, crate::store::outbound::Settle)],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), StoreError> {
                read::settle_all(self.work(), owner, settled, now).await
            }
        }
    };
}
pub(crate) use impl_outbound;
