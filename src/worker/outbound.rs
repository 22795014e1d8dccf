//! The worker's side of delivery to the SOC, at write time: which
//! destinations exist (reloaded every few seconds) and the outbox rows a
//! batch's announcements make for them, so that `write_batch` stores them
//! in the transaction of the change. Paused destinations keep queuing:
//! pausing stops sending, never loses.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::bus::event::EventBody;
use crate::domain::Id;
use crate::domain::outbound::derive;
use crate::domain::outbound::destination::Destination;
use crate::domain::outbound::event::OutEvent;
use crate::store::outbound::OutboxRow;
use crate::store::{Scope, Store};

/// How often the destinations are read again.
pub const RELOAD_EVERY: Duration = Duration::from_secs(10);

/// The destinations as last read.
#[derive(Debug, Default)]
pub struct Routes {
    destinations: Vec<Destination>,
    loaded_at: Option<Instant>,
}

impl Routes {
    /// Reads the destinations when the last read is older than
    /// [`RELOAD_EVERY`]; on a failure keeps the last ones (ingest goes on).
    pub async fn refresh(&mut self, store: &dyn Store) {
        if self.loaded_at.is_some_and(|t| t.elapsed() < RELOAD_EVERY) {
            return;
        }
        self.loaded_at = Some(Instant::now());
        match store.destinations(&Scope::All).await {
            Ok(rows) => self.destinations = rows.into_iter().map(|r| r.destination).collect(),
            Err(e) => tracing::warn!(error = %e, "destinations not read; the last ones are used"),
        }
    }

    /// The outbox rows of `events` (and of the `extra` outbound events
    /// no announcement tells) for the destinations that take them.
    pub fn rows(
        &self,
        events: &[(Id, EventBody)],
        extra: &[OutEvent],
        now: DateTime<Utc>,
    ) -> Vec<OutboxRow> {
        if self.destinations.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let told = events
            .iter()
            .flat_map(|(_, body)| outbound_events(body, now));
        for e in told.chain(extra.iter().cloned()) {
            for d in &self.destinations {
                let owns = d.tenant.as_ref().is_none_or(|t| *t == e.tenant);
                if owns && d.settings.routing.takes(&e) {
                    out.push(OutboxRow {
                        owner: d.tenant.clone(),
                        destination: d.id.clone(),
                        event: e.clone(),
                        queued_at: now,
                    });
                }
            }
        }
        out
    }
}

/// The outbound events an announcement reports.
fn outbound_events(body: &EventBody, now: DateTime<Utc>) -> Vec<OutEvent> {
    match body {
        EventBody::Alert(a) => derive::from_alert(a, crate::rules::DEVICE_OFFLINE),
        EventBody::Incident(i) => derive::from_incident(i, now),
        EventBody::Push(p) => derive::from_push(p),
        EventBody::Device(_) | EventBody::Link(_) => Vec::new(),
    }
}
