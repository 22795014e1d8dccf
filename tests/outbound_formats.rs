//! Syslog messages as a strict second opinion reads them: any event,
//! formatted by vigie as RFC 5424 (CEF or JSON in MSG), parses with the
//! `syslog_rfc5424` crate into the header vigie meant (facility,
//! severity, the event's time, hostname, app name, MSGID) and a MSG that
//! is exactly vigie's body: a property test over random events.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use vigie::domain::Id;
use vigie::domain::model::Severity;
use vigie::domain::outbound::cef;
use vigie::domain::outbound::destination::{Kind, Settings, Target, Transport};
use vigie::domain::outbound::event::{EventType, Field, OutEvent, event_id};
use vigie::domain::outbound::options::SyslogOptions;
use vigie::domain::outbound::syslog;

fn settings(kind: Kind, facility: u8, hostname: &str) -> Settings {
    Settings {
        syslog: Some(SyslogOptions {
            facility,
            hostname: hostname.into(),
            ..SyslogOptions::default()
        }),
        ..Settings::new(
            kind,
            Target::Syslog {
                host: "siem".into(),
                port: 6514,
                transport: Transport::Tls,
            },
        )
    }
}

fn severity(n: u8) -> Option<Severity> {
    [
        Some(Severity::Critical),
        Some(Severity::Major),
        Some(Severity::Minor),
        Some(Severity::Warning),
        Some(Severity::Info),
        None,
    ][usize::from(n % 6)]
}

proptest! {
    #[test]
    fn rfc5424_parses_back_with_a_strict_parser(
        summary in "(\\PC|[\\n=\\\\|\"\\]])*",
        note in "\\PC{0,80}",
        secs in 1_500_000_000i64..2_000_000_000,
        millis in 0u32..1000,
        sev in 0u8..6,
        facility in 0u8..24,
        hostname in "[!-~]{1,40}",
        cef_kind in any::<bool>(),
        kind_n in 0usize..EventType::ALL.len(),
    ) {
        let tenant = Id::parse("acme").unwrap();
        let kind = EventType::ALL[kind_n];
        let e = OutEvent {
            id: event_id(kind, &tenant, "subject-1", "0"),
            kind,
            time: chrono::DateTime::from_timestamp(secs, millis * 1_000_000).unwrap(),
            tenant,
            site: None,
            device: Some(Id::parse("rtr-1").unwrap()),
            severity: severity(sev),
            subject: "subject-1".into(),
            summary,
            fields: BTreeMap::from([("note".to_string(), Field::Text(note))]),
        };
        let s = settings(if cef_kind { Kind::CefSyslog } else { Kind::JsonSyslog }, facility, &hostname);
        let bytes = syslog::message(&e, &s);
        let text = String::from_utf8(bytes).unwrap();
        let m = syslog_rfc5424::parse_message(&text)
            .map_err(|err| TestCaseError::fail(format!("{err}: {text}")))?;
        prop_assert_eq!(m.version, 1);
        prop_assert_eq!(m.facility as u8, facility);
        prop_assert_eq!(m.severity as u8, syslog::severity(e.severity));
        prop_assert_eq!(m.timestamp, Some(secs));
        prop_assert_eq!(m.timestamp_nanos, Some(millis * 1_000_000));
        prop_assert_eq!(m.hostname.as_deref(), Some(hostname.as_str()));
        prop_assert_eq!(m.appname.as_deref(), Some("vigie"));
        prop_assert_eq!(m.msgid.as_deref(), Some(kind.as_str()));
        prop_assert!(m.sd.is_empty());
        let body = syslog::body(&e, &s);
        prop_assert_eq!(&m.msg, &body);
        if cef_kind {
            prop_assert!(cef::parse(&m.msg).is_ok(), "{}", m.msg);
        } else {
            let v: serde_json::Value = serde_json::from_str(&m.msg).unwrap();
            prop_assert_eq!(v["id"].as_str(), Some(e.id.as_str()));
        }
    }
}
