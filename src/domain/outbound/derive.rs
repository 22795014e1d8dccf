//! Outbound events from the state the worker announces. An announcement
//! carries an entity's whole new state, and the same state may be
//! announced more than once (a value change, a replay), so each event's
//! id is made from the transition it reports (see `event::event_id`): the
//! outbox keeps one row per id and destination, and a repeated
//! announcement queues nothing twice.
//!
//! - an alert firing: `alert.fired`; resolved: `alert.cleared`; the
//!   device-offline rule's alert also as `device.offline` and
//!   `device.online` (so a fleet's first contact is not a flood of
//!   "online");
//! - an incident: `incident.opened` (or `reopened`), `acknowledged`,
//!   `assigned` (in progress with an assignee), `resolved`, `closed`, and
//!   `escalated` for each tier above L1 it reached.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::event::{EventType, Field, OutEvent, event_id};
use crate::domain::alert::AlertState;
use crate::domain::incident::{EscalationTier, Incident, IncidentState};
use crate::domain::model::{Alert, Severity};

fn data(v: serde_json::Value) -> Field {
    Field::Data(v)
}

/// The events an alert's new state reports. `offline_rule` is the name
/// of the rule that raises an alert when a device goes offline.
pub fn from_alert(a: &Alert, offline_rule: &str) -> Vec<OutEvent> {
    let started = a.started.timestamp_millis().to_string();
    let (kinds, at): (&[EventType], DateTime<Utc>) = match a.state {
        AlertState::Firing if a.rule.as_str() == offline_rule => (
            &[EventType::AlertFired, EventType::DeviceOffline],
            a.started,
        ),
        AlertState::Firing => (&[EventType::AlertFired], a.started),
        AlertState::Resolved if a.rule.as_str() == offline_rule => (
            &[EventType::AlertCleared, EventType::DeviceOnline],
            a.updated,
        ),
        AlertState::Resolved => (&[EventType::AlertCleared], a.updated),
        AlertState::Ok | AlertState::Pending => return Vec::new(),
    };
    let fields = BTreeMap::from([
        ("alert".to_string(), data(json!(a.id.as_str()))),
        ("rule".to_string(), data(json!(a.rule.as_str()))),
        (
            "state".to_string(),
            data(json!(crate::domain::enum_name(&a.state))),
        ),
        ("flapping".to_string(), data(json!(a.flapping))),
        ("started".to_string(), data(json!(a.started.to_rfc3339()))),
        (
            "incident".to_string(),
            data(json!(a.incident.as_ref().map(|i| i.as_str()))),
        ),
    ]);
    kinds
        .iter()
        .map(|&kind| {
            let subject = match kind {
                EventType::DeviceOffline | EventType::DeviceOnline => a
                    .device
                    .as_ref()
                    .map_or_else(|| a.id.to_string(), ToString::to_string),
                _ => a.id.to_string(),
            };
            OutEvent {
                id: event_id(kind, &a.tenant, &subject, &started),
                kind,
                time: at,
                tenant: a.tenant.clone(),
                site: a.site.clone(),
                device: a.device.clone(),
                severity: Some(a.severity),
                subject,
                summary: a.summary.as_str().to_string(),
                fields: fields.clone(),
            }
        })
        .collect()
}

fn tier_name(t: EscalationTier) -> &'static str {
    match t {
        EscalationTier::L1 => "l1",
        EscalationTier::L2 => "l2",
        EscalationTier::L3 => "l3",
    }
}

/// The events an incident's new state reports, stamped `now` where the
/// incident keeps no time of its own for the transition.
pub fn from_incident(i: &Incident, now: DateTime<Utc>) -> Vec<OutEvent> {
    let cycle = i.reopen_count.to_string();
    let mut out: Vec<(EventType, String, DateTime<Utc>)> = Vec::new();
    match i.state {
        IncidentState::New if i.reopen_count == 0 => {
            out.push((EventType::IncidentOpened, cycle.clone(), i.opened));
        }
        IncidentState::New => out.push((EventType::IncidentReopened, cycle.clone(), now)),
        IncidentState::Acknowledged => out.push((
            EventType::IncidentAcknowledged,
            cycle.clone(),
            i.acknowledged.unwrap_or(now),
        )),
        IncidentState::InProgress => {
            let who = i.assignee.as_ref().map_or("", |a| a.as_str());
            out.push((EventType::IncidentAssigned, format!("{cycle}/{who}"), now));
        }
        IncidentState::Resolved => out.push((EventType::IncidentResolved, cycle.clone(), now)),
        IncidentState::Closed => out.push((EventType::IncidentClosed, cycle.clone(), now)),
    }
    if i.tier != EscalationTier::L1
        && !matches!(i.state, IncidentState::Resolved | IncidentState::Closed)
    {
        out.push((
            EventType::IncidentEscalated,
            format!("{cycle}/{}", tier_name(i.tier)),
            now,
        ));
    }
    let fields = incident_fields(i);
    out.into_iter()
        .map(|(kind, cause, time)| incident_event(i, kind, &cause, time, fields.clone()))
        .collect()
}

/// The event a push's new state reports: `push.failed` (the device could
/// not apply it, or the order was not sent) or `push.reverted` (the
/// device went back to its configuration before). The analyst's reason,
/// the actor and the device's detail are free text.
pub fn from_push(p: &crate::domain::push::Push) -> Vec<OutEvent> {
    use crate::domain::push::PushState;
    let (kind, severity, cause) = match &p.state {
        PushState::Failed => (EventType::PushFailed, Severity::Major, "failed"),
        PushState::Reverted { .. } => (EventType::PushReverted, Severity::Warning, "reverted"),
        _ => return Vec::new(),
    };
    let mut fields = BTreeMap::from([
        ("push".to_string(), data(json!(p.id.as_str()))),
        ("device".to_string(), data(json!(p.device.as_str()))),
        ("state".to_string(), data(json!(p.state.name()))),
        (
            "rollout".to_string(),
            data(json!(p.rollout.as_ref().map(|r| r.as_str()))),
        ),
        ("wave".to_string(), data(json!(p.wave))),
        (
            "reason".to_string(),
            Field::Text(p.reason.as_str().to_string()),
        ),
        (
            "actor".to_string(),
            Field::Text(p.actor.as_str().to_string()),
        ),
        (
            "detail".to_string(),
            Field::Text(
                p.detail
                    .as_ref()
                    .map_or(String::new(), |d| d.as_str().to_string()),
            ),
        ),
    ]);
    if let crate::domain::push::PushState::Reverted { reason } = &p.state {
        fields.insert(
            "revert_reason".to_string(),
            data(json!(crate::domain::enum_name(reason))),
        );
    }
    vec![OutEvent {
        id: event_id(kind, &p.tenant, p.id.as_str(), cause),
        kind,
        time: p.updated,
        tenant: p.tenant.clone(),
        site: None,
        device: Some(p.device.clone()),
        severity: Some(severity),
        subject: p.id.to_string(),
        summary: format!("config push {} to {} {cause}", p.id, p.device),
        fields,
    }]
}

/// The `incident.merged` event of `i`, merged into `into` at `now` (its
/// alerts moved there; it closes).
pub fn merged(i: &Incident, into: &crate::domain::Id, now: DateTime<Utc>) -> OutEvent {
    let mut fields = incident_fields(i);
    fields.insert("into".to_string(), data(json!(into.as_str())));
    let cause = format!("{}/{into}", i.reopen_count);
    incident_event(i, EventType::IncidentMerged, &cause, now, fields)
}

fn incident_event(
    i: &Incident,
    kind: EventType,
    cause: &str,
    time: DateTime<Utc>,
    fields: BTreeMap<String, Field>,
) -> OutEvent {
    OutEvent {
        id: event_id(kind, &i.tenant, i.id.as_str(), cause),
        kind,
        time,
        tenant: i.tenant.clone(),
        site: None,
        device: None,
        severity: Some(i.severity),
        subject: i.id.to_string(),
        summary: i.title.as_str().to_string(),
        fields,
    }
}

fn incident_fields(i: &Incident) -> BTreeMap<String, Field> {
    BTreeMap::from([
        ("incident".to_string(), data(json!(i.id.as_str()))),
        (
            "state".to_string(),
            data(json!(crate::domain::enum_name(&i.state))),
        ),
        ("tier".to_string(), data(json!(tier_name(i.tier)))),
        ("alerts".to_string(), data(json!(i.alerts.len()))),
        ("reopened".to_string(), data(json!(i.reopen_count))),
        ("opened".to_string(), data(json!(i.opened.to_rfc3339()))),
        ("sla_due".to_string(), data(json!(i.sla_due.to_rfc3339()))),
        (
            "assignee".to_string(),
            i.assignee
                .as_ref()
                .map_or(data(json!(null)), |a| Field::Text(a.as_str().to_string())),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Id;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn alert(state: AlertState, rule: &str) -> Alert {
        Alert {
            tenant: Id::parse("acme").unwrap(),
            id: Id::parse("al-1").unwrap(),
            rule: rule.into(),
            device: Some(Id::parse("rtr-1").unwrap()),
            site: Some(Id::parse("hq").unwrap()),
            severity: Severity::Major,
            state,
            summary: "rtr-1 offline".into(),
            flapping: false,
            started: at(0),
            updated: at(60),
            incident: None,
        }
    }

    fn kinds(v: &[OutEvent]) -> Vec<EventType> {
        v.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn alerts_fire_and_clear_and_the_offline_rule_speaks_of_the_device() {
        use EventType::*;
        assert_eq!(
            kinds(&from_alert(
                &alert(AlertState::Firing, "cpu-high"),
                "device-offline"
            )),
            [AlertFired]
        );
        assert_eq!(
            kinds(&from_alert(
                &alert(AlertState::Resolved, "cpu-high"),
                "device-offline"
            )),
            [AlertCleared]
        );
        assert!(from_alert(&alert(AlertState::Pending, "cpu-high"), "device-offline").is_empty());
        let down = from_alert(
            &alert(AlertState::Firing, "device-offline"),
            "device-offline",
        );
        assert_eq!(kinds(&down), [AlertFired, DeviceOffline]);
        assert_eq!(down[1].subject, "rtr-1");
        let up = from_alert(
            &alert(AlertState::Resolved, "device-offline"),
            "device-offline",
        );
        assert_eq!(kinds(&up), [AlertCleared, DeviceOnline]);
        assert_eq!(up[1].time, at(60));
        // Announced again, the same ids; the next outage, new ones.
        assert_eq!(
            down,
            from_alert(
                &alert(AlertState::Firing, "device-offline"),
                "device-offline"
            )
        );
        let next = Alert {
            started: at(3_600),
            ..alert(AlertState::Firing, "device-offline")
        };
        assert_ne!(from_alert(&next, "device-offline")[0].id, down[0].id);
    }

    #[test]
    fn incidents_report_each_transition_once_per_cycle() {
        use EventType::*;
        let tenant = Id::parse("acme").unwrap();
        let mut i = Incident::open(
            tenant,
            Id::parse("inc-1").unwrap(),
            "acme/hq/device-offline".into(),
            "rtr-1 down".into(),
            Severity::Major,
            Id::parse("al-1").unwrap(),
            at(0),
        );
        let opened = from_incident(&i, at(5));
        assert_eq!(kinds(&opened), [IncidentOpened]);
        assert_eq!(opened[0].time, at(0));
        assert_eq!(
            opened,
            from_incident(&i, at(99)),
            "announced again: the same event"
        );
        i.state = IncidentState::InProgress;
        i.assignee = Some("ana".into());
        i.tier = EscalationTier::L2;
        let worked = from_incident(&i, at(10));
        assert_eq!(kinds(&worked), [IncidentAssigned, IncidentEscalated]);
        assert_eq!(worked[0].fields["assignee"], Field::Text("ana".into()));
        i.state = IncidentState::Resolved;
        assert_eq!(kinds(&from_incident(&i, at(20))), [IncidentResolved]);
        i.state = IncidentState::New;
        i.reopen_count = 1;
        let again = from_incident(&i, at(30));
        assert_eq!(kinds(&again), [IncidentReopened, IncidentEscalated]);
        assert_ne!(again[1].id, worked[1].id, "a new cycle escalates anew");
        let into = Id::parse("inc-9").unwrap();
        let m = merged(&i, &into, at(40));
        assert_eq!(m.kind, IncidentMerged);
        assert_eq!(m.fields["into"], Field::Data(serde_json::json!("inc-9")));
        assert_eq!(
            m.id,
            merged(&i, &into, at(41)).id,
            "the same merge, the same id"
        );
        assert_ne!(m.id, merged(&i, &Id::parse("inc-8").unwrap(), at(40)).id);
    }
}
