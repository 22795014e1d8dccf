//! The envelope codec: the documented examples, every rejection reason,
//! and property tests of round trips and of the sanitiser.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use vigie::bus::envelope::{DecodeError, Envelope, MAX_BYTES, MsgId, decode, decode_on, encode};
use vigie::bus::event::Event;
use vigie::domain::telemetry::{Heartbeat, Kind, LogLevel, LogLine, Metrics, Signal, Telemetry};
use vigie::domain::{Id, SafeText};

const PROTOCOL: &str = include_str!("../docs/PROTOCOL.md");

/// The ```json blocks of docs/PROTOCOL.md, each with the heading above it.
fn doc_examples() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut heading = String::new();
    let mut block: Option<String> = None;
    for line in PROTOCOL.lines() {
        if let Some(b) = block.as_mut() {
            if line.starts_with("```") {
                out.push((heading.clone(), block.take().unwrap_or_default()));
            } else {
                b.push_str(line);
                b.push('\n');
            }
        } else if line.starts_with("```json") {
            block = Some(String::new());
        } else if let Some(h) = line
            .strip_prefix("### ")
            .or_else(|| line.strip_prefix("## "))
        {
            heading = h.trim().to_string();
        }
    }
    out
}

#[test]
fn every_documented_telemetry_example_decodes() {
    let examples = doc_examples();
    for kind in Kind::ALL {
        let (_, json) = examples
            .iter()
            .find(|(h, _)| h == kind.as_str())
            .unwrap_or_else(|| panic!("PROTOCOL.md has no example for {}", kind.as_str()));
        let env =
            decode(json.trim().as_bytes()).unwrap_or_else(|e| panic!("{}: {e}", kind.as_str()));
        assert_eq!(env.body.kind(), kind);
        let subject = env.subject();
        assert!(decode_on(&subject, json.trim().as_bytes()).is_ok());
        // And it survives our own encoding.
        assert_eq!(decode(&encode(&env)).unwrap(), env);
    }
}

#[test]
fn the_documented_event_example_decodes() {
    let (_, json) = doc_examples()
        .into_iter()
        .find(|(h, j)| h.starts_with("Events") && j.contains("\"entity\""))
        .expect("an event example");
    let e: Event = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(e.subject(), "vigie.evt.acme.device");
}

fn good() -> serde_json::Value {
    serde_json::json!({
        "v": 1, "id": "m-1", "ts": "2026-11-23T10:00:00Z", "tenant": "acme", "device": "rtr-01",
        "kind": "metrics", "body": {"cpu_pct": 10.0, "mem_pct": 20.0, "rx_bps": 1, "tx_bps": 2}
    })
}

fn reject(v: &serde_json::Value) -> DecodeError {
    decode(v.to_string().as_bytes()).unwrap_err()
}

#[test]
fn the_reference_message_is_fine() {
    assert!(decode(good().to_string().as_bytes()).is_ok());
}

#[test]
fn oversized() {
    let big = vec![b' '; MAX_BYTES + 1];
    let e = decode(&big).unwrap_err();
    assert_eq!(e.reason(), "oversized");
    assert!(e.to_string().contains(&(MAX_BYTES + 1).to_string()));
}

#[test]
fn not_utf8_gives_the_offset() {
    let mut bytes = good().to_string().into_bytes();
    bytes[10] = 0xff;
    let e = decode(&bytes).unwrap_err();
    assert_eq!(e, DecodeError::NotUtf8 { offset: 10 });
    assert_eq!(e.reason(), "not-utf8");
}

#[test]
fn too_deep() {
    let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
    assert_eq!(decode(deep.as_bytes()).unwrap_err().reason(), "too-deep");
    // Brackets inside strings do not count.
    let mut v = good();
    v["kind"] = serde_json::json!("log");
    v["body"] = serde_json::json!({"level": "info", "message": "[".repeat(40) + "\\\"{{{"});
    assert!(decode(v.to_string().as_bytes()).is_ok());
}

#[test]
fn malformed_json_gives_line_and_column() {
    let e = decode(b"{\"v\":1,\n \"id\": }").unwrap_err();
    match e {
        DecodeError::Malformed { line, column, .. } => assert_eq!((line, column), (2, 8)),
        other => panic!("{other:?}"),
    }
    let trailing = format!("{} {{}}", good());
    assert_eq!(
        decode(trailing.as_bytes()).unwrap_err().reason(),
        "malformed-json"
    );
    assert_eq!(decode(b"").unwrap_err().reason(), "malformed-json");
}

#[test]
fn unsupported_version_even_with_other_fields() {
    let mut v = good();
    v["v"] = serde_json::json!(2);
    assert_eq!(reject(&v).reason(), "unsupported-version");
    v["shiny_new_field"] = serde_json::json!(true);
    let e = reject(&v);
    assert_eq!(e.reason(), "unsupported-version");
    assert!(e.to_string().contains("version 2"), "{e}");
}

#[test]
fn unknown_kind() {
    let mut v = good();
    v["kind"] = serde_json::json!("weather");
    let e = reject(&v);
    assert_eq!(e.reason(), "unknown-kind");
    assert!(e.to_string().contains("weather"));
}

#[test]
fn schema_errors_name_the_field() {
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        ("/id", serde_json::json!(null), "id"),
        ("/id", serde_json::json!("has space"), "id"),
        ("/tenant", serde_json::json!("a.b"), "tenant"),
        ("/ts", serde_json::json!("yesterday"), "ts"),
        ("/body/cpu_pct", serde_json::json!("high"), "body.cpu_pct"),
        ("/body/cpu_pct", serde_json::json!(140.0), "body.cpu_pct"),
        ("/body/rx_bps", serde_json::json!(-1), "body.rx_bps"),
    ];
    for (pointer, value, field) in cases {
        let mut v = good();
        *v.pointer_mut(pointer).unwrap() = value.clone();
        let e = reject(&v);
        assert_eq!(e.reason(), "schema", "{pointer}={value}: {e}");
        assert!(e.to_string().starts_with(field), "{pointer}={value}: {e}");
    }
    let mut v = good();
    v["body"]["gpu_pct"] = serde_json::json!(1);
    let e = reject(&v);
    assert!(e.to_string().contains("gpu_pct"), "{e}");
    let mut v = good();
    v.as_object_mut().unwrap().remove("device");
    let e = reject(&v);
    assert_eq!(e.reason(), "schema");
    assert!(e.to_string().contains("device"), "{e}");
    let mut v = good();
    v["extra"] = serde_json::json!(1);
    assert!(reject(&v).to_string().contains("extra"));
}

#[test]
fn subject_must_match() {
    let text = good().to_string();
    assert!(decode_on("vigie.tel.acme.rtr-01.metrics", text.as_bytes()).is_ok());
    for (subject, field) in [
        ("vigie.tel.other.rtr-01.metrics", "tenant"),
        ("vigie.tel.acme.rtr-02.metrics", "device"),
        ("vigie.tel.acme.rtr-01.heartbeat", "kind"),
        ("vigie.tel.acme", "subject"),
    ] {
        match decode_on(subject, text.as_bytes()).unwrap_err() {
            DecodeError::SubjectMismatch { field: f, .. } => assert_eq!(f, field),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn hostile_text_is_made_safe_at_decode() {
    let mut v = good();
    v["kind"] = serde_json::json!("log");
    v["body"] = serde_json::json!({"level": "error", "message": "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}gnp.exe"});
    let env = decode(v.to_string().as_bytes()).unwrap();
    let Telemetry::Log(l) = env.body else {
        panic!()
    };
    let m = l.message.as_str();
    assert!(
        !m.chars().any(|c| c.is_control() || c == '\u{202e}'),
        "{m:?}"
    );
    assert!(m.contains("␛[2J"));
}

fn arb_id() -> impl Strategy<Value = Id> {
    "[A-Za-z0-9_-]{1,64}".prop_map(|s| Id::parse(&s).unwrap())
}

/// Any time an envelope may carry: 2000-01-01 up to 2200-01-01.
fn arb_ts() -> impl Strategy<Value = DateTime<Utc>> {
    (946_684_800i64..7_258_118_400, 0u32..1_000_000_000)
        .prop_map(|(s, n)| Utc.timestamp_opt(s, n).single().unwrap())
}

/// Times outside that window, as far as chrono reaches.
fn arb_bad_ts() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        -8_334_601_228_800i64..946_684_800,
        7_258_118_400i64..8_210_266_876_799,
    ]
    .prop_map(|s| Utc.timestamp_opt(s, 0).single().unwrap())
}

fn arb_text() -> impl Strategy<Value = SafeText> {
    any::<String>().prop_map(|s| SafeText::new(&s))
}

fn arb_body() -> impl Strategy<Value = Telemetry> {
    prop_oneof![
        (
            any::<u64>(),
            proptest::option::of(arb_text()),
            proptest::option::of(1u32..86_400)
        )
            .prop_map(
                |(uptime_s, firmware, interval_s)| Telemetry::Heartbeat(Heartbeat {
                    uptime_s,
                    name: None,
                    firmware,
                    interval_s
                })
            ),
        (0f32..=100.0, 0f32..=100.0, any::<u64>(), any::<u64>()).prop_map(|(c, m, rx, tx)| {
            Telemetry::Metrics(Metrics {
                cpu_pct: c,
                mem_pct: m,
                rx_bps: rx,
                tx_bps: tx,
                temp_c: None,
            })
        }),
        (arb_id(), -150f32..=0.0).prop_map(|(peer, rssi)| Telemetry::Signal(Signal {
            peer,
            rssi_dbm: rssi,
            snr_db: None,
            tx_rate_mbps: None,
            rx_rate_mbps: None
        })),
        arb_text().prop_map(|message| Telemetry::Log(LogLine {
            level: LogLevel::Notice,
            message,
            facility: None
        })),
    ]
}

proptest! {
    #[test]
    fn round_trip(id in "[A-Za-z0-9._:-]{1,128}", ts in arb_ts(), tenant in arb_id(), device in arb_id(), body in arb_body()) {
        let env = Envelope { id: MsgId::parse(&id).unwrap(), ts, tenant, device, body };
        let bytes = encode(&env);
        prop_assert_eq!(decode(&bytes).unwrap(), env);
    }

    #[test]
    fn times_outside_the_window_are_refused_naming_ts(ts in arb_bad_ts(), body in arb_body()) {
        let env = Envelope { id: MsgId::parse("x").unwrap(), ts, tenant: Id::parse("a").unwrap(), device: Id::parse("d").unwrap(), body };
        let e = decode(&encode(&env)).unwrap_err();
        prop_assert!(e.to_string().contains("ts"), "{}", e);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn sanitised_text_is_always_display_safe(s in any::<String>()) {
        let t = SafeText::new(&s);
        let bidi = |c: char| matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        prop_assert!(!t.as_str().chars().any(|c| c.is_control() || bidi(c)));
        prop_assert!(t.as_str().chars().count() <= vigie::domain::text::TEXT_CAP + 1);
        // Sanitising twice changes nothing.
        prop_assert_eq!(SafeText::new(t.as_str()), t.clone());
    }
}
