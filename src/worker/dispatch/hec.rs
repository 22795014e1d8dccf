//! Sending to an HTTP Event Collector (Splunk HEC, LogScale's HEC):
//! events in batches of stacked objects (at most `batch_size` and 1 MiB),
//! the reply's code read: a partial batch (code 6 with the bad event's
//! number) settles the events before it as delivered, the bad one as
//! dead and leaves the rest to be sent again; a batch refused without a
//! number is sent again event by event, to find the bad one. With
//! indexer acknowledgement, a batch is delivered only once its ack is
//! reported, on a channel derived from the destination (the same on
//! every worker and after a restart). The ack is awaited in the
//! database, not in the round: the batch's rows stay pending with their
//! ack id, each later round asks for the ids it finds (one request), and
//! an ack not reported within `hec.ack_timeout_s` sends the batch again
//! (it may arrive twice, never not at all).

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::Sent;
use super::http::{Attempt, Reply, Session, elapsed_ms};
use crate::domain::outbound::destination::{Destination, Kind};
use crate::domain::outbound::event::Selection;
use crate::domain::outbound::hec::{self, Outcome};
use crate::domain::outbound::retry::Verdict;
use crate::store::outbound::{OutboxItem, owner_key};

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
    let channel = o
        .ack
        .then(|| hec::channel(&owner_key(d.tenant.as_ref()), d.id.as_str()));
    let mut sent = Sent::default();
    // The rows already sent, waiting for their acks, come first.
    let (mut at, resend) = match &channel {
        Some(ch) => awaited(session, d, items, secrets, ch, now, &mut sent).await,
        None => (0, None),
    };
    // Only the rows to send are encoded.
    let objects = encode(d, items, at);
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
                for _ in 0..n {
                    sent.attempts.push(match (&channel, ack) {
                        (Some(_), Some(id)) => Attempt {
                            error: resend.clone(),
                            ..Attempt::acking(id, Some(reply.status), reply.ms)
                        },
                        _ => Attempt::delivered(Some(reply.status), reply.ms),
                    });
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

/// Each event from `from` on as one stacked object (with its line
/// break); those before it, not sent, as nothing.
fn encode(d: &Destination, items: &[OutboxItem], from: usize) -> Vec<Vec<u8>> {
    let o = d.settings.hec.clone().unwrap_or_default();
    let sel = Selection {
        mode: d.settings.data_mode,
        fields: d.settings.data_fields.clone(),
    };
    items
        .iter()
        .enumerate()
        .map(|(n, i)| {
            if n < from {
                return Vec::new();
            }
            let mut b = hec::event(&i.event, &sel, &o).to_string().into_bytes();
            b.push(b'\n');
            b
        })
        .collect()
}

/// Settles the leading rows that wait for an ack: delivered when the
/// collector reports it, left waiting while within the ack timeout. At
/// the first whose ack is overdue, stops: it and the rows after it are
/// sent again. The position reached, and why rows are sent again.
async fn awaited(
    session: &Session,
    d: &Destination,
    items: &[OutboxItem],
    secrets: &[Vec<u8>],
    channel: &str,
    now: DateTime<Utc>,
    sent: &mut Sent,
) -> (usize, Option<String>) {
    let mut ids: Vec<u64> = items.iter().map_while(|i| i.ack.map(|a| a.id)).collect();
    ids.dedup();
    if ids.is_empty() {
        return (0, None);
    }
    let started = Instant::now();
    let acked = ask_acks(session, d, secrets, channel, &ids).await;
    sent.requests += 1;
    let ms = elapsed_ms(started);
    sent.ms += u64::from(ms);
    let wait = d.settings.hec.clone().unwrap_or_default().ack_timeout();
    let mut at = 0;
    while let Some(a) = items.get(at).and_then(|i| i.ack) {
        if acked.contains(&a.id) {
            sent.attempts.push(Attempt::delivered(Some(200), ms));
        } else if now - a.since < wait {
            sent.attempts.push(Attempt::acking(a.id, None, ms));
        } else {
            let why = format!(
                "ack {} not reported within {} s: sent again",
                a.id,
                wait.num_seconds()
            );
            return (at, Some(why));
        }
        at += 1;
    }
    (at, None)
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

/// Asks the collector which of acks `ids` are reported (one request;
/// none when it cannot say).
async fn ask_acks(
    session: &Session,
    d: &Destination,
    secrets: &[Vec<u8>],
    channel: &str,
    ids: &[u64],
) -> std::collections::HashSet<u64> {
    let body = json!({ "acks": ids }).to_string().into_bytes();
    for token in secrets {
        let headers = [
            ("authorization", auth(d.settings.kind, token)),
            ("content-type", "application/json".to_string()),
            ("x-splunk-request-channel", channel.to_string()),
        ];
        let polled = session
            .post(ack_url(&session.url), &headers, body.clone(), Utc::now())
            .await;
        match polled {
            Ok(r) if r.status < 400 => return hec::acked(&r.body, ids),
            // A token refused: the next one of a rotation may do.
            Ok(_) => {}
            Err(_) => break,
        }
    }
    std::collections::HashSet::new()
}
