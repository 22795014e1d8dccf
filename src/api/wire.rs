//! What travels: the request and answer envelopes, and the answers that
//! are not read models of their own.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::domain::access::Principal;
use crate::domain::fleet::StatusCounts;
use crate::domain::incident::Incident;
use crate::domain::model::DeviceRow;
use crate::domain::push::{Push, Rollout};
use crate::domain::site::{ApLinks, SiteSummary};

/// Every request: a session token (none for `login`) and the verb's
/// arguments.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBody<A> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub args: A,
}

/// Every answer: `{"ok": …}` or `{"error": {"code", "message"}}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer<T> {
    Ok(T),
    Error(ApiError),
}

/// A consistent starting point for a console: the rows and the events
/// sequence they include. Follow the events stream from `events_seq + 1`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub events_seq: u64,
    pub counts: StatusCounts,
    pub devices: Vec<DeviceRow>,
    pub incidents: Vec<Incident>,
}

/// One page of a snapshot. The first page (from `snapshot`) carries
/// everything but the devices beyond the first page; the rest come from
/// `snapshot_page` with the snapshot's `id`, by the same user in the same
/// scope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotPage {
    /// 128 random bits as hex; empty when the snapshot fit in this page.
    pub id: String,
    pub events_seq: u64,
    pub counts: StatusCounts,
    pub incidents: Vec<Incident>,
    /// Devices in the whole snapshot.
    pub total: u64,
    pub offset: u64,
    pub devices: Vec<DeviceRow>,
}

/// The answer to `login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub token: String,
    pub principal: Principal,
    pub expires: DateTime<Utc>,
    /// The user's NATS credentials, when the login brought keys and the
    /// worker issues them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats: Option<super::grant::NatsGrant>,
}

/// The answer to `map`: the sites and their access points' links.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MapView {
    pub sites: Vec<SiteSummary>,
    pub aps: Vec<ApLinks>,
}

/// The answer to `rollout_status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutStatus {
    pub rollout: Rollout,
    pub pushes: Vec<Push>,
}

/// The answer to `user_disable` and `user_enable`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserState {
    pub name: String,
    pub disabled: bool,
}
