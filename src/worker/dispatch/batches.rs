//! Sending events in batches over HTTP, for targets whose reply judges
//! the whole batch (Azure Logs Ingestion, CEF over HTTP): batches of at
//! most `max_bytes`; a batch refused for good (or too large, 413) is sent
//! again event by event, so that only the bad event is dead-lettered; a
//! failure to retry (credentials refused included) stops at the batch's
//! first event.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::Sent;
use super::http::{Attempt, Session};
use crate::domain::outbound::retry::Verdict;

/// An event larger than a request may be: dead, with that reason.
pub fn oversize(len: usize, max_bytes: usize) -> Attempt {
    Attempt::failed(
        Verdict::Permanent,
        format!("the event is {len} bytes, over the target's {max_bytes} a request"),
        Instant::now(),
    )
}

/// Where the batch starting at `at` ends: as many events as fit in
/// `max_bytes` with `sep` bytes between two, or the one event alone while
/// `at` is before `singles_until` (a refused batch sent event by event).
/// The event at `at` itself fits.
pub fn batch_end(
    events: &[Vec<u8>],
    at: usize,
    singles_until: usize,
    max_bytes: usize,
    sep: usize,
) -> usize {
    let mut end = at + 1;
    let mut size = events[at].len();
    while at >= singles_until && end < events.len() && size + sep + events[end].len() <= max_bytes {
        size += sep + events[end].len();
        end += 1;
    }
    end
}

/// Sends `events` (each already encoded) in order, joined by `join`,
/// to the session's URL with `headers`.
pub async fn send(
    session: &Session,
    headers: &[(&str, String)],
    events: &[Vec<u8>],
    max_bytes: usize,
    join: fn(&[Vec<u8>]) -> Vec<u8>,
    now: DateTime<Utc>,
) -> Sent {
    let mut sent = Sent::default();
    let mut at = 0;
    let mut singles_until = 0;
    while at < events.len() {
        if events[at].len() > max_bytes {
            sent.attempts.push(oversize(events[at].len(), max_bytes));
            at += 1;
            continue;
        }
        let end = batch_end(events, at, singles_until, max_bytes, 1);
        sent.requests += 1;
        let body = join(&events[at..end]);
        let reply = match session.post(session.url.clone(), headers, body, now).await {
            Ok(r) => r,
            Err(failed) => {
                sent.ms += u64::from(failed.ms);
                sent.attempts.push(failed);
                return sent;
            }
        };
        sent.ms += u64::from(reply.ms);
        let mut a = reply.attempt();
        if matches!(reply.status, 401 | 403) {
            // Credentials refused: a human must fix them; nothing is
            // dropped meanwhile.
            a.verdict = Verdict::Retry;
            a.error = Some(format!(
                "HTTP {}: credentials refused (fix the destination's secret): {}",
                reply.status, reply.body
            ));
        }
        let n = end - at;
        match a.verdict {
            Verdict::Delivered => {
                sent.attempts.extend(std::iter::repeat_n(a, n));
                at = end;
            }
            Verdict::Permanent if n > 1 => singles_until = end,
            Verdict::Permanent => {
                sent.attempts.push(a);
                at = end;
            }
            Verdict::Retry => {
                sent.attempts.push(a);
                return sent;
            }
        }
    }
    sent
}
