//! The HTTP Event Collector format (Splunk, and LogScale's compatible
//! endpoint): one JSON object per event, stacked one after another
//! (never an array), `time` in epoch seconds with a fraction, the
//! envelope as `event`, and flat indexed `fields`. And what a reply's
//! code means: Splunk reports a bad event in a batch by its number,
//! the events before it being indexed.

use serde_json::{Value, json};

use super::event::{OutEvent, Selection, envelope};
use super::options::HecOptions;

/// The most bytes in one HEC request.
pub const MAX_BYTES: usize = 1 << 20;

/// The sourcetype when none is set.
pub const SOURCETYPE: &str = "vigie:event";

/// One HEC event object for `e`.
pub fn event(e: &OutEvent, sel: &Selection, o: &HecOptions) -> Value {
    let secs = e.time.timestamp() as f64 + f64::from(e.time.timestamp_subsec_millis()) / 1_000.0;
    let mut fields = json!({
        "vigie_tenant": e.tenant.as_str(),
        "vigie_type": e.kind.as_str(),
    });
    if let Some(s) = e.severity {
        fields["vigie_severity"] = json!(s.as_str());
    }
    let mut out = json!({
        "time": secs,
        "host": "vigie",
        "source": "vigie",
        "sourcetype": o.sourcetype.as_deref().unwrap_or(SOURCETYPE),
        "event": envelope(e, sel),
        "fields": fields,
    });
    if let Some(i) = &o.index {
        out["index"] = json!(i);
    }
    out
}

/// Events as one request body: each object on its own line.
pub fn body<'a>(events: impl IntoIterator<Item = &'a Value>) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        out.extend_from_slice(e.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

/// A collector's reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: i64,
    pub text: String,
    /// The number (from 0) of the event a code 6 refused.
    pub invalid_event: Option<usize>,
    /// The acknowledgement id (indexer acknowledgement on).
    pub ack_id: Option<u64>,
}

/// The reply in `body`, when it is HEC's JSON.
pub fn reply(body: &str) -> Option<Reply> {
    let v: Value = serde_json::from_str(body).ok()?;
    let code = v.get("code")?.as_i64()?;
    Some(Reply {
        code,
        text: v
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or("")
            .chars()
            .take(200)
            .collect(),
        invalid_event: v
            .get("invalid-event-number")
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok()),
        ack_id: v.get("ackId").and_then(Value::as_u64),
    })
}

/// What a reply does to a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every event indexed.
    Delivered,
    /// Events before `at` indexed, event `at` refused for good, the rest
    /// to be sent again.
    Partial { at: usize },
    /// The batch refused for good (bad data; which event is not said).
    Refused,
    /// Try again later: the collector is busy or unwell.
    Retry,
    /// A configuration error (token, index, channel): a human must fix
    /// it; retried meanwhile, nothing dropped.
    Misconfigured,
}

/// The outcome of a reply with HTTP `status` and HEC body `r`.
pub fn outcome(status: u16, r: Option<&Reply>) -> Outcome {
    match r.map(|r| (r.code, r.invalid_event)) {
        Some((0, _)) if (200..300).contains(&status) => Outcome::Delivered,
        Some((6, Some(at))) => Outcome::Partial { at },
        Some((5 | 6 | 12 | 13 | 15, _)) => Outcome::Refused,
        Some((1 | 2 | 3 | 4 | 7 | 10 | 11 | 14 | 16, _)) => Outcome::Misconfigured,
        Some((8 | 9 | 18 | 19 | 20, _)) => Outcome::Retry,
        _ => match super::retry::http_status(status) {
            super::retry::Verdict::Delivered => Outcome::Delivered,
            super::retry::Verdict::Retry => Outcome::Retry,
            super::retry::Verdict::Permanent if matches!(status, 401 | 403) => {
                Outcome::Misconfigured
            }
            super::retry::Verdict::Permanent => Outcome::Refused,
        },
    }
}

/// The channel of a destination (indexer acknowledgement): a GUID made
/// from its owner and id, the same after a restart and on every worker.
pub fn channel(owner: &str, id: &str) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"vigie hec channel\0");
    ctx.update(owner.as_bytes());
    ctx.update(b"\0");
    ctx.update(id.as_bytes());
    let d = ctx.finish();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.as_ref()[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::domain::hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Which of acks `ids` an ack poll's reply reports indexed
/// (`{"acks":{"3":true,"4":false}}`).
pub fn acked(body: &str, ids: &[u64]) -> std::collections::HashSet<u64> {
    let v = serde_json::from_str::<Value>(body).unwrap_or(Value::Null);
    ids.iter()
        .copied()
        .filter(|id| {
            v.get("acks")
                .and_then(|a| a.get(id.to_string()))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Id;
    use crate::domain::model::Severity;
    use crate::domain::outbound::event::{EventType, event_id};

    fn e() -> OutEvent {
        let tenant = Id::parse("acme").unwrap();
        OutEvent {
            id: event_id(EventType::AlertFired, &tenant, "a", "0"),
            kind: EventType::AlertFired,
            time: chrono::DateTime::from_timestamp(1_795_428_000, 123_000_000).unwrap(),
            tenant,
            site: None,
            device: None,
            severity: Some(Severity::Minor),
            subject: "a".into(),
            summary: "s".into(),
            fields: Default::default(),
        }
    }

    #[test]
    fn stacked_objects_with_time_in_seconds() {
        let o = HecOptions {
            index: Some("soc".into()),
            ..HecOptions::default()
        };
        let one = event(&e(), &Selection::default(), &o);
        assert_eq!(one["time"], json!(1_795_428_000.123));
        assert_eq!(one["index"], "soc");
        assert_eq!(one["sourcetype"], SOURCETYPE);
        assert_eq!(one["event"]["type"], "alert.fired");
        assert_eq!(one["fields"]["vigie_severity"], "minor");
        for v in one["fields"].as_object().unwrap().values() {
            assert!(v.is_string(), "fields are flat strings");
        }
        let b = String::from_utf8(body([&one, &one])).unwrap();
        assert!(!b.starts_with('['));
        let objects: Vec<Value> = serde_json::Deserializer::from_str(&b)
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(objects.len(), 2);
    }

    #[test]
    fn reply_codes() {
        let r = |s: &str| reply(s).unwrap();
        assert_eq!(
            outcome(200, Some(&r(r#"{"text":"Success","code":0}"#))),
            Outcome::Delivered
        );
        let partial = r(r#"{"text":"Invalid data format","code":6,"invalid-event-number":2}"#);
        assert_eq!(outcome(400, Some(&partial)), Outcome::Partial { at: 2 });
        assert_eq!(
            outcome(400, Some(&r(r#"{"text":"No data","code":5}"#))),
            Outcome::Refused
        );
        assert_eq!(
            outcome(403, Some(&r(r#"{"text":"Invalid token","code":4}"#))),
            Outcome::Misconfigured
        );
        assert_eq!(
            outcome(400, Some(&r(r#"{"text":"Incorrect index","code":7}"#))),
            Outcome::Misconfigured
        );
        assert_eq!(
            outcome(503, Some(&r(r#"{"text":"Server is busy","code":9}"#))),
            Outcome::Retry
        );
        assert_eq!(outcome(429, None), Outcome::Retry);
        assert_eq!(outcome(502, None), Outcome::Retry);
        assert_eq!(outcome(401, None), Outcome::Misconfigured);
        assert_eq!(outcome(404, None), Outcome::Refused);
        assert_eq!(
            r(r#"{"text":"Success","code":0,"ackId":7}"#).ack_id,
            Some(7)
        );
        assert!(reply("<html>").is_none());
    }

    #[test]
    fn a_stable_channel_and_acks() {
        let c = channel("acme", "splunk");
        assert_eq!(c, channel("acme", "splunk"));
        assert_ne!(c, channel("acme", "splunk2"));
        assert_eq!(c.len(), 36);
        assert_eq!(&c[14..15], "4");
        let reply = r#"{"acks":{"7":true,"8":false}}"#;
        assert_eq!(acked(reply, &[7, 8, 9]), [7].into());
        assert!(acked("nonsense", &[7]).is_empty());
        assert!(acked(r#"{"acks":{"7":"yes"}}"#, &[7]).is_empty());
    }
}
