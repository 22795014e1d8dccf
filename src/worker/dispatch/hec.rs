//! Sending to an HTTP Event Collector (Splunk HEC, LogScale's HEC):
//! events in batches of stacked objects (at most `batch_size` and 1 MiB),
//! the reply's code read: a partial batch (code 6 with the bad event's
//! number) settles the events before it as delivered, the bad one as
//! dead and leaves the rest to be sent again; a batch refused without a
//! number is sent again event by event, to find the bad one. With
//! indexer acknowledgement, a batch is delivered only once the ack is
//! reported, on a channel derived from the destination (the same on
//! every worker and after a restart); an ack not reported in time sends
//! the batch again (it may arrive twice, never not at all).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::json;

use super::Sent;
use super::http::{Attempt, Reply, Session, elapsed_ms};
use crate::domain::outbound::destination::{Destination, Kind};
use crate::domain::outbound::event::Selection;
use crate::domain::outbound::hec::{self, Outcome};
use crate::domain::outbound::retry::Verdict;
use crate::store::outbound::{OutboxItem, owner_key};

/// The longest wait for an acknowledgement.
const ACK_WAIT_MAX: Duration = Duration::from_secs(30);

/// Where acks are polled: the collector's `/services/collector/ack`.
fn ack_url(event_url: &reqwest::Url) -> reqwest::Url {
    let mut u = event_url.clone();
    let path = u.path().to_string();
    let base = path
        .find("/services/collector")
        .map_or("", |at| &path[..at]);
    u.set_path(&format!("{base}/services/collector/ack"));
    u.set_query(None);
    u
}

fn auth(kind: Kind, token: &[u8]) -> String {
    let t = String::from_utf8_lossy(token);
    let t = t.trim();
    match kind {
        Kind::SplunkHec => format!("Splunk {t}"),
        _ => format!("Bearer {t}"),
    }
}

/// Sends `items` (in order) to `d`'s collector.
pub async fn send(
    session: &Session,
    d: &Destination,
    items: &[OutboxItem],
    secrets: &[Vec<u8>],
    now: DateTime<Utc>,
) -> Sent {
    let o = d.settings.hec.clone().unwrap_or_default();
    let objects = encode(d, items);
    let channel = o
        .ack
        .then(|| hec::channel(&owner_key(d.tenant.as_ref()), d.id.as_str()));
    let mut sent = Sent::default();
    let mut at = 0;
    // Events one by one from here on (a batch was refused whole).
    let mut singles_until = 0;
    while at < items.len() {
        if objects[at].len() > hec::MAX_BYTES {
            sent.attempts
                .push(super::batches::oversize(objects[at].len(), hec::MAX_BYTES));
            at += 1;
            continue;
        }
        // Objects end with their line break: nothing between them.
        let end = super::batches::batch_end(&objects, at, singles_until, hec::MAX_BYTES, 0);
        let body: Vec<u8> = objects[at..end].concat();
        let reply = post(session, d, secrets, channel.as_deref(), body, now).await;
        sent.requests += 1;
        let reply = match reply {
            Ok(r) => r,
            Err(failed) => {
                sent.ms += u64::from(failed.ms);
                sent.attempts.push(failed);
                return sent;
            }
        };
        sent.ms += u64::from(reply.ms);
        let parsed = hec::reply(&reply.body);
        let n = end - at;
        match hec::outcome(reply.status, parsed.as_ref()) {
            Outcome::Delivered => {
                let ack = parsed.as_ref().and_then(|r| r.ack_id);
                if let (Some(ch), Some(id)) = (&channel, ack) {
                    let started = Instant::now();
                    let acked = await_ack(session, d, secrets, ch, id).await;
                    sent.ms += u64::from(elapsed_ms(started));
                    if !acked {
                        sent.attempts.push(not_acked(d, id, &reply));
                        return sent;
                    }
                }
                for _ in 0..n {
                    sent.attempts
                        .push(Attempt::delivered(Some(reply.status), reply.ms));
                }
                at = end;
            }
            Outcome::Partial { at: bad } if bad < n => {
                for _ in 0..bad {
                    sent.attempts
                        .push(Attempt::delivered(Some(reply.status), reply.ms));
                }
                sent.attempts.push(Attempt {
                    verdict: Verdict::Permanent,
                    error: Some(described(&reply, parsed.as_ref())),
                    ..reply.attempt()
                });
                // The rest were not indexed: they go again next round.
                return sent;
            }
            Outcome::Partial { .. } | Outcome::Refused if n > 1 => {
                singles_until = end;
            }
            Outcome::Partial { .. } | Outcome::Refused => {
                sent.attempts.push(Attempt {
                    verdict: Verdict::Permanent,
                    error: Some(described(&reply, parsed.as_ref())),
                    ..reply.attempt()
                });
                at = end;
            }
            Outcome::Retry => {
                sent.attempts.push(Attempt {
                    error: Some(described(&reply, parsed.as_ref())),
                    ..retry(&reply)
                });
                return sent;
            }
            Outcome::Misconfigured => {
                sent.attempts.push(Attempt {
                    error: Some(format!(
                        "{} (the destination's settings or token need fixing)",
                        described(&reply, parsed.as_ref())
                    )),
                    ..retry(&reply)
                });
                return sent;
            }
        }
    }
    sent
}

/// Each event as one stacked object (with its line break).
fn encode(d: &Destination, items: &[OutboxItem]) -> Vec<Vec<u8>> {
    let o = d.settings.hec.clone().unwrap_or_default();
    let sel = Selection {
        mode: d.settings.data_mode,
        fields: d.settings.data_fields.clone(),
    };
    items
        .iter()
        .map(|i| {
            let mut b = hec::event(&i.event, &sel, &o).to_string().into_bytes();
            b.push(b'\n');
            b
        })
        .collect()
}

/// A batch whose ack `id` was not reported in time: sent again.
fn not_acked(d: &Destination, id: u64, reply: &Reply) -> Attempt {
    let wait = d.settings.timeout_s.min(30);
    Attempt {
        error: Some(format!(
            "ack {id} not reported within {wait} s; the batch is sent again"
        )),
        ..retry(reply)
    }
}

fn retry(reply: &Reply) -> Attempt {
    Attempt {
        verdict: Verdict::Retry,
        ..reply.attempt()
    }
}

fn described(reply: &Reply, parsed: Option<&hec::Reply>) -> String {
    match parsed {
        Some(r) => format!(
            "HTTP {}: HEC code {}: {}",
            reply.status,
            r.code,
            crate::domain::text::sanitize(&r.text, 200, false)
        ),
        None => format!("HTTP {}: {}", reply.status, reply.body),
    }
}

/// POSTs a body with the token (the next secret when a rotation is under
/// way and the first is refused).
async fn post(
    session: &Session,
    d: &Destination,
    secrets: &[Vec<u8>],
    channel: Option<&str>,
    body: Vec<u8>,
    now: DateTime<Utc>,
) -> Result<Reply, Attempt> {
    let mut last = None;
    for token in secrets {
        let mut headers = vec![
            ("authorization", auth(d.settings.kind, token)),
            ("content-type", "application/json".to_string()),
        ];
        if let Some(c) = channel {
            headers.push(("x-splunk-request-channel", c.to_string()));
        }
        let reply = session
            .post(session.url.clone(), &headers, body.clone(), now)
            .await?;
        let refused = matches!(
            hec::outcome(reply.status, hec::reply(&reply.body).as_ref()),
            Outcome::Misconfigured
        );
        if !refused {
            return Ok(reply);
        }
        last = Some(reply);
    }
    last.ok_or_else(|| Attempt::failed(Verdict::Retry, "no token".into(), Instant::now()))
}

/// Polls the collector until ack `id` is reported, for at most the
/// destination's timeout (30 s at most).
async fn await_ack(
    session: &Session,
    d: &Destination,
    secrets: &[Vec<u8>],
    channel: &str,
    id: u64,
) -> bool {
    let until =
        Instant::now() + Duration::from_secs(u64::from(d.settings.timeout_s)).min(ACK_WAIT_MAX);
    let mut pause = Duration::from_millis(100);
    let body = json!({ "acks": [id] }).to_string().into_bytes();
    while Instant::now() < until {
        for token in secrets {
            let headers = [
                ("authorization", auth(d.settings.kind, token)),
                ("content-type", "application/json".to_string()),
                ("x-splunk-request-channel", channel.to_string()),
            ];
            let polled = session
                .post(ack_url(&session.url), &headers, body.clone(), Utc::now())
                .await;
            if let Ok(r) = polled {
                if hec::acked(&r.body, id) {
                    return true;
                }
                if r.status < 400 {
                    break;
                }
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
    false
}
