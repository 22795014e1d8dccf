//! Delivery to the SOC on the api: a scope's destinations and their
//! deliveries (viewers), a test event and a replay (operators), pause and
//! resume (admins). On a tenant's scope, that tenant's destinations; on
//! `_all`, the provider's. Adding and removing destinations, which names
//! secrets' locations on the worker's host, stays with `vigie outbound`.

use serde::{Deserialize, Serialize};

/// Which destination of the scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationRef {
    pub destination: String,
}

/// `outbound_deliveries`: the newest `limit` (default 50, at most 2,000).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesArgs {
    pub destination: String,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A destination as the api shows it: never a secret or where it is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationView {
    /// Its tenant, or `_all` for the provider's.
    pub tenant: String,
    pub id: String,
    pub kind: String,
    pub target: String,
    pub paused: bool,
    /// `closed`, `open` or `half_open`.
    pub breaker: String,
    pub data_mode: String,
    /// Event types it takes (empty: all).
    pub types: Vec<String>,
    pub min_severity: Option<String>,
    /// How it is doing (in `outbound_list`; empty elsewhere).
    #[serde(default)]
    pub health: Health,
}

/// How a destination is doing: its queue, its pace, its last attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Events waiting.
    pub backlog: u64,
    /// When the oldest waiting event was queued.
    pub oldest_pending: Option<chrono::DateTime<chrono::Utc>>,
    /// Events delivered in the last five minutes.
    pub delivered_5m: u64,
    /// The newest delivery attempted: its state, status, error, latency.
    pub last: Option<crate::domain::outbound::delivery::Delivery>,
}

pub use crate::domain::outbound::delivery::Delivery as DeliveryView;

/// `outbound_test`: the event queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    pub queued: String,
}

/// `outbound_replay`: how many deliveries were queued again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requeued {
    pub queued_again: u64,
}
