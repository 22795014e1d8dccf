//! A queued event's delivery as people read it (the deliveries log of
//! `vigie outbound deliveries`, the api and the console).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One row of a destination's outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub seq: i64,
    /// The event's id (the receiver's deduplication key).
    #[serde(rename = "event")]
    pub event_id: String,
    /// `pending`, `delivered`, `dead` or `expired`.
    pub state: String,
    pub attempts: u32,
    pub queued_at: DateTime<Utc>,
    pub next_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub last_ms: Option<u32>,
}
