//! Syslog messages: RFC 5424 (and RFC 3164 for legacy collectors), and
//! the octet-counted framing of RFC 6587/5425 for TCP and TLS. The
//! header is stamped with the event's time, not the time of sending;
//! its fields are printable ASCII within their limits (HOSTNAME 255,
//! APP-NAME 48, PROCID 128, MSGID 32), `-` when empty.

use chrono::{DateTime, Utc};

use super::cef;
use super::destination::Settings;
use super::event::{OutEvent, Selection, envelope};
use super::options::SyslogFormat;
use crate::domain::model::Severity;

/// The largest message sent in one UDP datagram (RFC 5426's hard limit
/// is a datagram; larger is refused, to be sent over TCP or TLS).
pub const MAX_UDP: usize = 65_000;

/// The APP-NAME.
const APP: &str = "vigie";

/// Syslog's severity (0–7) for an event's.
pub fn severity(s: Option<Severity>) -> u8 {
    match s {
        Some(Severity::Critical) => 2,
        Some(Severity::Major) => 3,
        Some(Severity::Minor | Severity::Warning) => 4,
        Some(Severity::Info) | None => 6,
    }
}

/// A header field: printable ASCII (33–126) only, at most `max` bytes,
/// `-` when nothing is left.
pub fn header_field(s: &str, max: usize) -> String {
    let kept: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if kept.is_empty() { "-".into() } else { kept }
}

/// The MSG of `e` for a destination: its CEF line (`cef-syslog`) or its
/// JSON envelope (`json-syslog`).
pub fn body(e: &OutEvent, s: &Settings) -> String {
    let sel = Selection {
        mode: s.data_mode,
        fields: s.data_fields.clone(),
    };
    match s.kind {
        super::destination::Kind::CefSyslog => cef::format(e, &sel, &s.cef_profile()),
        _ => envelope(e, &sel).to_string(),
    }
}

/// One syslog message of `e` for a destination (unframed).
pub fn message(e: &OutEvent, s: &Settings) -> Vec<u8> {
    let o = s.syslog_options();
    let pri = u16::from(o.facility) * 8 + u16::from(severity(e.severity));
    let msg = body(e, s);
    match o.format {
        SyslogFormat::Rfc5424 => rfc5424(pri, e.time, &o.hostname, e.kind.as_str(), &msg, o.bom),
        SyslogFormat::Rfc3164 => rfc3164(pri, e.time, &o.hostname, &msg),
    }
}

/// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - [BOM]MSG`.
pub fn rfc5424(
    pri: u16,
    time: DateTime<Utc>,
    hostname: &str,
    msgid: &str,
    msg: &str,
    bom: bool,
) -> Vec<u8> {
    let head = format!(
        "<{pri}>1 {} {} {} - {} - ",
        time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        header_field(hostname, 255),
        header_field(APP, 48),
        header_field(msgid, 32),
    );
    let mut out = Vec::with_capacity(head.len() + 3 + msg.len());
    out.extend_from_slice(head.as_bytes());
    if bom {
        out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    out.extend_from_slice(msg.as_bytes());
    out
}

/// `<PRI>Mmm dd hh:mm:ss HOSTNAME vigie: MSG` (RFC 3164; its time has no
/// year or zone: it is UTC).
pub fn rfc3164(pri: u16, time: DateTime<Utc>, hostname: &str, msg: &str) -> Vec<u8> {
    format!(
        "<{pri}>{} {} {APP}: {msg}",
        time.format("%b %e %H:%M:%S"),
        header_field(hostname, 255),
    )
    .into_bytes()
}

/// `LEN SP MSG`: the octet counting of RFC 6587 (and RFC 5425's TLS).
pub fn octet_counted(msg: &[u8]) -> Vec<u8> {
    let mut out = format!("{} ", msg.len()).into_bytes();
    out.extend_from_slice(msg);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Id;
    use crate::domain::outbound::destination::{Kind, Target, Transport};
    use crate::domain::outbound::event::{EventType, Field, event_id};
    use crate::domain::outbound::options::SyslogOptions;
    use std::collections::BTreeMap;

    fn event() -> OutEvent {
        let tenant = Id::parse("acme").unwrap();
        OutEvent {
            id: event_id(EventType::AlertFired, &tenant, "a-1", "0"),
            kind: EventType::AlertFired,
            time: chrono::DateTime::from_timestamp(1_795_428_000, 250_000_000).unwrap(),
            tenant,
            site: None,
            device: Some(Id::parse("rtr-1").unwrap()),
            severity: Some(Severity::Major),
            subject: "a-1".into(),
            summary: "line one\nline two".into(),
            fields: BTreeMap::from([("n".into(), Field::Data(serde_json::json!(1)))]),
        }
    }

    fn settings(kind: Kind, o: SyslogOptions) -> Settings {
        Settings {
            syslog: Some(o),
            ..Settings::new(
                kind,
                Target::Syslog {
                    host: "siem".into(),
                    port: 514,
                    transport: Transport::Tcp,
                },
            )
        }
    }

    #[test]
    fn rfc5424_with_the_events_time_and_checked_fields() {
        let m = message(
            &event(),
            &settings(Kind::JsonSyslog, SyslogOptions::default()),
        );
        let m = String::from_utf8(m).unwrap();
        assert!(
            m.starts_with("<131>1 2026-11-23T10:00:00.250Z vigie vigie - alert.fired - {"),
            "{m}"
        );
        assert!(!m.contains('\n'), "JSON escapes the line break: {m}");
        let json: serde_json::Value = serde_json::from_str(&m[m.find('{').unwrap()..]).unwrap();
        assert_eq!(json["summary"], "line one\nline two");
        assert_eq!(header_field("", 32), "-");
        assert_eq!(header_field("a b\u{e9}c", 32), "abc");
        assert_eq!(header_field(&"x".repeat(40), 32).len(), 32);
    }

    #[test]
    fn cef_over_syslog_has_no_bom_unless_asked() {
        let plain = message(
            &event(),
            &settings(Kind::CefSyslog, SyslogOptions::default()),
        );
        let s = String::from_utf8(plain).unwrap();
        assert!(s.contains(" - CEF:0|vigie|vigie|"), "{s}");
        assert!(s.contains("msg=line one\\nline two"), "{s}");
        let bom = message(
            &event(),
            &settings(
                Kind::CefSyslog,
                SyslogOptions {
                    bom: true,
                    ..SyslogOptions::default()
                },
            ),
        );
        assert!(
            String::from_utf8(bom)
                .unwrap()
                .contains(" - \u{feff}CEF:0|")
        );
    }

    #[test]
    fn rfc3164_and_octet_counting() {
        let o = SyslogOptions {
            format: SyslogFormat::Rfc3164,
            facility: 4,
            ..SyslogOptions::default()
        };
        let m = message(&event(), &settings(Kind::CefSyslog, o));
        let s = String::from_utf8(m.clone()).unwrap();
        assert!(
            s.starts_with("<35>Nov 23 10:00:00 vigie vigie: CEF:0|"),
            "{s}"
        );
        let framed = octet_counted(&m);
        let (len, rest) = std::str::from_utf8(&framed)
            .unwrap()
            .split_once(' ')
            .unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), rest.len());
        let early = rfc3164(
            13,
            chrono::DateTime::from_timestamp(1_793_700_000, 0).unwrap(),
            "h",
            "m",
        );
        assert_eq!(
            String::from_utf8(early).unwrap(),
            "<13>Nov  3 10:00:00 h vigie: m"
        );
    }
}
