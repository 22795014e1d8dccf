//! Sending one event to a webhook: the envelope as the destination
//! selects it, signed again for this attempt (vigie's scheme with every
//! secret, and Standard Webhooks' when the secrets are `whsec_…`).

use chrono::{DateTime, Utc};

use super::http::{Attempt, Session};
use crate::domain::outbound::destination::Destination;
use crate::domain::outbound::event::{OutEvent, Selection, envelope};
use crate::domain::outbound::sign;

/// The headers that sign `body` at `ts` for `e` with `secrets`.
pub fn signature_headers(
    e: &OutEvent,
    body: &[u8],
    ts: i64,
    secrets: &[Vec<u8>],
) -> Vec<(&'static str, String)> {
    let vigie: Vec<String> = secrets.iter().map(|s| sign::vigie(s, ts, body)).collect();
    let mut h = vec![
        ("content-type", "application/json".to_string()),
        ("x-vigie-timestamp", ts.to_string()),
        ("x-vigie-signature", vigie.join(" ")),
        ("x-vigie-delivery", e.id.clone()),
        ("x-vigie-event", e.kind.as_str().to_string()),
    ];
    let standard: Vec<String> = secrets
        .iter()
        .filter_map(|s| std::str::from_utf8(s).ok())
        .filter_map(|s| sign::standard_key(s).ok())
        .map(|k| sign::standard(&k, &e.id, ts, body))
        .collect();
    if !standard.is_empty() {
        h.push(("webhook-id", e.id.clone()));
        h.push(("webhook-timestamp", ts.to_string()));
        h.push(("webhook-signature", standard.join(" ")));
    }
    h
}

/// Sends `e` once, at `now`, signed with `secrets`.
pub async fn send(
    session: &Session,
    d: &Destination,
    e: &OutEvent,
    secrets: &[Vec<u8>],
    now: DateTime<Utc>,
) -> Attempt {
    let selection = Selection {
        mode: d.settings.data_mode,
        fields: d.settings.data_fields.clone(),
    };
    let body = envelope(e, &selection).to_string().into_bytes();
    let headers = signature_headers(e, &body, now.timestamp(), secrets);
    match session.post(session.url.clone(), &headers, body, now).await {
        Ok(reply) => reply.attempt(),
        Err(failed) => failed,
    }
}
