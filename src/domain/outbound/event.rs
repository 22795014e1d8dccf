//! The event that leaves vigie: one versioned JSON envelope, whatever the
//! target's format, with a stable id (the receiver's deduplication key:
//! a resend carries the same), the tenant, site and device, and its
//! fields. A field is either vigie's own data (ids, states, numbers) or
//! free text (what people and devices wrote: log lines, notes, config
//! diffs, people's names). A destination in `full` mode receives free
//! text whole and display-safe; in `privacy_safe` mode each free text is
//! replaced by its SHA-256 and length, the same in every format. A
//! destination's allow-list keeps only the fields it names.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::Id;
use crate::domain::model::Severity;

/// The envelope's version (`"v"`).
pub const VERSION: u32 = 1;

/// The longest free text sent, in characters (longer is cut, marked `…`).
pub const MAX_TEXT: usize = 65_536;

macro_rules! event_types {
    ($($v:ident = $name:literal,)*) => {
        /// Every kind of event that leaves vigie.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum EventType {
            $(#[serde(rename = $name)] $v,)*
        }

        impl EventType {
            /// Every type, in a stable order.
            pub const ALL: &'static [EventType] = &[$(EventType::$v,)*];

            /// The wire name (`incident.opened`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$v => $name,)*
                }
            }
        }
    };
}

event_types! {
    IncidentOpened = "incident.opened",
    IncidentAcknowledged = "incident.acknowledged",
    IncidentAssigned = "incident.assigned",
    IncidentEscalated = "incident.escalated",
    IncidentResolved = "incident.resolved",
    IncidentReopened = "incident.reopened",
    IncidentMerged = "incident.merged",
    IncidentClosed = "incident.closed",
    AlertFired = "alert.fired",
    AlertCleared = "alert.cleared",
    DeviceOffline = "device.offline",
    DeviceOnline = "device.online",
    PushFailed = "push.failed",
    PushReverted = "push.reverted",
    DeliveryHeartbeat = "delivery.heartbeat",
    DeliveryTest = "delivery.test",
}

impl EventType {
    /// The type of a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.as_str() == s)
    }
}

/// A field's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// vigie's own data: ids, states, counts, times.
    Data(Value),
    /// Free text, which `privacy_safe` never sends.
    Text(String),
}

/// What a destination receives of an event's fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataMode {
    #[default]
    Full,
    PrivacySafe,
}

impl DataMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DataMode::Full => "full",
            DataMode::PrivacySafe => "privacy_safe",
        }
    }
}

/// A destination's selection: its mode and its allow-list of field
/// names (empty: every field).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub mode: DataMode,
    pub fields: Vec<String>,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutEvent {
    pub id: String,
    pub kind: EventType,
    pub time: DateTime<Utc>,
    pub tenant: Id,
    pub site: Option<Id>,
    pub device: Option<Id>,
    pub severity: Option<Severity>,
    /// The id of what the event is about (an incident, alert, device,
    /// push, destination).
    pub subject: String,
    /// A one-line summary: free text (it may quote a device's words).
    pub summary: String,
    pub fields: BTreeMap<String, Field>,
}

use crate::domain::hex;

/// The stable id of the event of type `kind` about `subject` of `tenant`,
/// for the transition `cause` names (an incident's reopen count, an
/// alert's start): the same transition gives the same id on any worker,
/// however often its entity's state is announced.
pub fn event_id(kind: EventType, tenant: &Id, subject: &str, cause: &str) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [kind.as_str(), tenant.as_str(), subject, cause] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part.as_bytes());
    }
    format!("evt-{}", &hex(ctx.finish().as_ref())[..32])
}

/// An event about delivery itself (a test, a heartbeat) for destination
/// `destination` of `tenant` (the provider's chain for `_all`), at `at`;
/// `cause` tells one such event from the next.
pub fn delivery_event(
    kind: EventType,
    tenant: &Id,
    destination: &Id,
    summary: String,
    at: DateTime<Utc>,
    cause: &str,
) -> OutEvent {
    OutEvent {
        id: event_id(kind, tenant, destination.as_str(), cause),
        kind,
        time: at,
        tenant: tenant.clone(),
        site: None,
        device: None,
        severity: None,
        subject: destination.to_string(),
        summary,
        fields: BTreeMap::new(),
    }
}

/// A free text as `privacy_safe` sends it.
pub fn digest(text: &str) -> Value {
    json!({
        "sha256": hex(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref()),
        "len": text.len(),
    })
}

fn text(t: &str, mode: DataMode) -> Value {
    match mode {
        DataMode::Full => Value::String(crate::domain::text::sanitize(t, MAX_TEXT, true)),
        DataMode::PrivacySafe => digest(t),
    }
}

/// The envelope of `e` as `sel` selects it.
pub fn envelope(e: &OutEvent, sel: &Selection) -> Value {
    let fields: serde_json::Map<String, Value> = e
        .fields
        .iter()
        .filter(|(k, _)| sel.fields.is_empty() || sel.fields.iter().any(|f| f == *k))
        .map(|(k, v)| {
            let v = match v {
                Field::Data(d) => d.clone(),
                Field::Text(t) => text(t, sel.mode),
            };
            (k.clone(), v)
        })
        .collect();
    let mut out = json!({
        "v": VERSION,
        "id": e.id,
        "type": e.kind.as_str(),
        "time": e.time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "tenant": e.tenant.as_str(),
        "subject": e.subject,
        "data_mode": sel.mode.as_str(),
        "summary": text(&e.summary, sel.mode),
        "fields": fields,
    });
    for (k, v) in [("site", &e.site), ("device", &e.device)] {
        if let Some(id) = v {
            out[k] = json!(id.as_str());
        }
    }
    if let Some(s) = e.severity {
        out["severity"] = json!(s.as_str());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(summary: &str, note: &str) -> OutEvent {
        let tenant = Id::parse("acme").unwrap();
        let time = DateTime::from_timestamp(1_795_428_000, 0).unwrap();
        OutEvent {
            id: event_id(EventType::IncidentOpened, &tenant, "inc-1", "0"),
            kind: EventType::IncidentOpened,
            time,
            tenant,
            site: Some(Id::parse("hq").unwrap()),
            device: None,
            severity: Some(Severity::Major),
            subject: "inc-1".into(),
            summary: summary.into(),
            fields: BTreeMap::from([
                ("state".into(), Field::Data(json!("open"))),
                ("alerts".into(), Field::Data(json!(3))),
                ("note".into(), Field::Text(note.into())),
            ]),
        }
    }

    #[test]
    fn the_envelope_is_versioned_and_its_id_stable() {
        let e = event("rtr-1 down", "called the site");
        let v = envelope(&e, &Selection::default());
        assert_eq!(v["v"], 1);
        assert_eq!(v["type"], "incident.opened");
        assert_eq!(v["time"], "2026-11-23T10:00:00.000Z");
        assert_eq!(v["site"], "hq");
        assert!(v.get("device").is_none());
        assert_eq!(v["severity"], "major");
        assert_eq!(v["fields"]["note"], "called the site");
        assert_eq!(e.id, event(" ", " ").id, "the id depends on the cause only");
        assert_eq!(e.id.len(), 36);
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
        }
    }

    #[test]
    fn full_text_is_display_safe_and_the_allow_list_keeps_only_its_fields() {
        let e = event("rtr-1 \u{1b}[2Jdown\u{202e}", "x");
        let v = envelope(&e, &Selection::default());
        assert_eq!(v["summary"], "rtr-1 \u{241b}[2Jdown");
        let only = Selection {
            mode: DataMode::Full,
            fields: vec!["state".into()],
        };
        let v = envelope(&e, &only);
        assert_eq!(v["fields"], json!({"state": "open"}));
    }

    proptest! {
        #[test]
        fn privacy_safe_never_sends_free_text(summary in "\\PC{0,40}", note in "\\PC{0,200}") {
            // Markers that occur nowhere else in an envelope.
            let (summary, note) = (format!("SUM~{summary}"), format!("NOTE~{note}"));
            let e = event(&summary, &note);
            let sel = Selection { mode: DataMode::PrivacySafe, fields: vec![] };
            let v = envelope(&e, &sel);
            let out = v.to_string();
            prop_assert!(!out.contains("SUM~") && !out.contains("NOTE~"), "{}", out);
            prop_assert_eq!(&v["fields"]["note"], &digest(&note));
            prop_assert_eq!(&v["summary"], &digest(&summary));
            prop_assert_eq!(&v["fields"]["state"], &json!("open"));
            prop_assert_eq!(v["fields"]["note"]["len"].as_u64(), Some(note.len() as u64));
        }
    }
}
