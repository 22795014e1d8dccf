//! CEF (ArcSight's Common Event Format): one line per event,
//! `CEF:0|Vendor|Product|Version|Signature ID|Name|Severity|Extension`,
//! with the same selection of fields as every other format, and a strict
//! parser of our own that the formatter is tested against (a popular
//! parser mis-reads escaped pipes and backslashes).
//!
//! The header escapes `\` and `|` and holds no line break; extension
//! values escape `\`, `=` and line breaks (`\n`, `\r`). Keys used:
//! `rt` (epoch ms), `externalId` (the event id, the receiver's dedup
//! key), `cat` (the type), `msg` (the summary, or its digest in
//! `privacy_safe`), `cs1`…`cs6` with their labels (tenant, site, device,
//! subject, the selected fields as JSON, the data mode). `src` and `dst`
//! are never used: vigie has no addresses to put there, and a non-IP
//! value breaks ArcSight's parsing.

use serde_json::Value;

use super::event::{OutEvent, Selection, envelope};
use super::options::CefProfile;
use crate::domain::model::Severity;

/// The longest CEF value, in characters (the envelope already caps each
/// free text; this only bounds the work).
const MAX_VALUE: usize = 1 << 24;

/// CEF's 0–10 severity of an event (none: heartbeats and tests).
pub fn severity(s: Option<Severity>) -> u8 {
    match s {
        Some(Severity::Critical) => 10,
        Some(Severity::Major) => 7,
        Some(Severity::Minor) => 4,
        Some(Severity::Warning) => 3,
        Some(Severity::Info) | None => 1,
    }
}

/// A header field: display-safe, one line, `\` and `|` escaped.
fn header(s: &str) -> String {
    let clean = crate::domain::text::sanitize(s, 512, false);
    let mut out = String::with_capacity(clean.len());
    for c in clean.chars() {
        if matches!(c, '\\' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// An extension value: display-safe, `\`, `=` and line breaks escaped.
pub fn value(s: &str) -> String {
    let clean = crate::domain::text::sanitize(s, MAX_VALUE, true);
    let mut out = String::with_capacity(clean.len());
    for c in clean.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// A JSON value as one CEF text: strings as they are, the rest as JSON.
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) if o.contains_key("sha256") => format!(
            "sha256:{} len:{}",
            o.get("sha256").and_then(Value::as_str).unwrap_or(""),
            o.get("len").and_then(Value::as_u64).unwrap_or(0)
        ),
        v => v.to_string(),
    }
}

/// The human name of an event type (`incident opened`).
fn name(e: &OutEvent) -> String {
    e.kind.as_str().replace('.', " ")
}

/// `e` as one CEF line (no line break), selected by `sel`.
pub fn format(e: &OutEvent, sel: &Selection, profile: &CefProfile) -> String {
    let env = envelope(e, sel);
    let mut ext: Vec<(&str, String)> = vec![
        ("rt", e.time.timestamp_millis().to_string()),
        ("externalId", e.id.clone()),
        ("cat", e.kind.as_str().to_string()),
        ("msg", text_of(&env["summary"])),
    ];
    let labelled = [
        ("cs1", "tenant", Some(e.tenant.to_string())),
        ("cs2", "site", e.site.as_ref().map(ToString::to_string)),
        ("cs3", "device", e.device.as_ref().map(ToString::to_string)),
        ("cs4", "subject", Some(e.subject.clone())),
        ("cs5", "fields", Some(env["fields"].to_string())),
        ("cs6", "dataMode", Some(sel.mode.as_str().to_string())),
    ];
    for (key, label, v) in labelled {
        if let Some(v) = v {
            ext.push((label_key(key), label.to_string()));
            ext.push((key, v));
        }
    }
    let ext: Vec<String> = ext
        .into_iter()
        .map(|(k, v)| format!("{k}={}", value(&v)))
        .collect();
    format!(
        "CEF:0|{}|{}|{}|{}|{}|{}|{}",
        header(&profile.vendor),
        header(&profile.product),
        header(env!("CARGO_PKG_VERSION")),
        header(e.kind.as_str()),
        header(&name(e)),
        severity(e.severity),
        ext.join(" ")
    )
}

fn label_key(key: &str) -> &'static str {
    match key {
        "cs1" => "cs1Label",
        "cs2" => "cs2Label",
        "cs3" => "cs3Label",
        "cs4" => "cs4Label",
        "cs5" => "cs5Label",
        _ => "cs6Label",
    }
}

/// A parsed CEF line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Version, vendor, product, device version, signature id, name,
    /// severity: unescaped.
    pub header: [String; 7],
    /// The extension's pairs, in order, unescaped.
    pub extension: Vec<(String, String)>,
}

impl Parsed {
    /// The value of extension key `k`.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.extension
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses one CEF line strictly: `CEF:` first, seven header fields with
/// only `\\` and `\|` escapes, an extension of `key=value` pairs with
/// only `\\`, `\=`, `\n` and `\r` escapes and no bare `=` in a value.
pub fn parse(line: &str) -> Result<Parsed, String> {
    let rest = line
        .strip_prefix("CEF:")
        .ok_or("a CEF line starts with \"CEF:\"")?;
    let mut fields: Vec<String> = Vec::with_capacity(7);
    let mut cur = String::new();
    let mut chars = rest.char_indices();
    let mut ext_at = None;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, e @ ('\\' | '|'))) => cur.push(e),
                Some((_, e)) => return Err(format!("header: bad escape \\{e}")),
                None => return Err("header: a lone \\ at the end".into()),
            },
            '|' => {
                fields.push(std::mem::take(&mut cur));
                if fields.len() == 7 {
                    ext_at = Some(i + 1);
                    break;
                }
            }
            '\n' | '\r' => return Err("header: a line break".into()),
            c => cur.push(c),
        }
    }
    let ext_at = ext_at.ok_or_else(|| format!("header: {} fields of 7", fields.len()))?;
    let header: [String; 7] = fields
        .try_into()
        .map_err(|_| "header: 7 fields".to_string())?;
    if header[0] != "0" && header[0] != "1" {
        return Err(format!("header: version {:?}", header[0]));
    }
    let extension = parse_extension(rest.get(ext_at..).unwrap_or(""))?;
    Ok(Parsed { header, extension })
}

fn parse_extension(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    if s.is_empty() {
        return Ok(pairs);
    }
    let mut key: Option<String> = None;
    // The value being read, and where its last unescaped space is.
    let mut buf = String::new();
    let mut last_space: Option<usize> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let e = match chars.next() {
                    Some('\\') => '\\',
                    Some('=') => '=',
                    Some('n') => '\n',
                    Some('r') => '\r',
                    Some(e) => return Err(format!("extension: bad escape \\{e}")),
                    None => return Err("extension: a lone \\ at the end".into()),
                };
                buf.push(e);
            }
            '=' => {
                let (value, next) = match (&key, last_space) {
                    (None, _) => (String::new(), std::mem::take(&mut buf)),
                    (Some(_), Some(at)) => {
                        let next = buf.get(at + 1..).unwrap_or("").to_string();
                        buf.truncate(at);
                        (std::mem::take(&mut buf), next)
                    }
                    (Some(k), None) => {
                        return Err(format!("extension: a bare '=' in the value of {k}"));
                    }
                };
                if next.is_empty() || !next.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(format!("extension: {next:?} is not a key"));
                }
                if let Some(k) = key.replace(next) {
                    pairs.push((k, value));
                }
                last_space = None;
            }
            ' ' => {
                last_space = Some(buf.len());
                buf.push(' ');
            }
            '\n' | '\r' => return Err("extension: an unescaped line break".into()),
            c => buf.push(c),
        }
    }
    match key {
        Some(k) => pairs.push((k, buf)),
        None => return Err("extension: text without a key".into()),
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Id;
    use crate::domain::outbound::event::{DataMode, EventType, Field, event_id};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn event(summary: &str) -> OutEvent {
        let tenant = Id::parse("acme").unwrap();
        OutEvent {
            id: event_id(EventType::IncidentOpened, &tenant, "inc-7", "0"),
            kind: EventType::IncidentOpened,
            time: chrono::DateTime::from_timestamp(1_795_428_000, 0).unwrap(),
            tenant,
            site: Some(Id::parse("hq").unwrap()),
            device: None,
            severity: Some(Severity::Critical),
            subject: "inc-7".into(),
            summary: summary.into(),
            fields: BTreeMap::from([
                ("note".into(), Field::Text("a=b | c\\d".into())),
                ("alerts".into(), Field::Data(serde_json::json!(2))),
            ]),
        }
    }

    #[test]
    fn a_line_as_arcsight_reads_it() {
        let line = format(
            &event("rtr-1 down"),
            &Selection::default(),
            &CefProfile::default(),
        );
        assert!(line.starts_with(
            "CEF:0|vigie|vigie|0.1.0|incident.opened|incident opened|10|rt=1795428000000 externalId=evt-"
        ), "{line}");
        assert!(line.contains(" cat=incident.opened msg=rtr-1 down cs1Label=tenant cs1=acme cs2Label=site cs2=hq cs4Label=subject cs4=inc-7"), "{line}");
        assert!(!line.contains("cs3"), "no device, no cs3: {line}");
        assert!(!line.contains(" src=") && !line.contains(" dst="));
        let p = parse(&line).unwrap();
        assert_eq!(p.header[5], "incident opened");
        assert_eq!(p.get("msg"), Some("rtr-1 down"));
        let fields: Value = serde_json::from_str(p.get("cs5").unwrap()).unwrap();
        assert_eq!(fields["note"], "a=b | c\\d");
        assert_eq!(p.get("cs6"), Some("full"));
    }

    #[test]
    fn escapes_follow_the_two_rule_sets() {
        let profile = CefProfile {
            vendor: "Acme|Sec\\urity".into(),
            product: "x".into(),
        };
        let line = format(&event("a=b\nc\\d|e"), &Selection::default(), &profile);
        assert!(line.contains("|Acme\\|Sec\\\\urity|"), "{line}");
        assert!(line.contains("msg=a\\=b\\nc\\\\d|e "), "{line}");
        assert!(!line.contains('\n'));
        let p = parse(&line).unwrap();
        assert_eq!(p.header[1], "Acme|Sec\\urity");
        assert_eq!(p.get("msg"), Some("a=b\nc\\d|e"));
    }

    #[test]
    fn privacy_safe_sends_digests_only() {
        let sel = Selection {
            mode: DataMode::PrivacySafe,
            fields: vec![],
        };
        let line = format(&event("secret words"), &sel, &CefProfile::default());
        assert!(
            !line.contains("secret words") && !line.contains("a\\=b"),
            "{line}"
        );
        let p = parse(&line).unwrap();
        assert!(p.get("msg").unwrap().starts_with("sha256:"), "{line}");
        assert_eq!(p.get("cs6"), Some("privacy_safe"));
    }

    #[test]
    fn the_parser_is_strict() {
        for (bad, why) in [
            ("LEEF:1|a", "starts with"),
            ("CEF:0|a|b|c", "fields of 7"),
            ("CEF:0|a\\x|b|c|d|e|1|", "bad escape"),
            ("CEF:0|a|b|c|d|e|1|k=v=w", "bare '='"),
            ("CEF:0|a|b|c|d|e|1|k=v\\q", "bad escape"),
            ("CEF:0|a|b|c|d|e|1|just text", "without a key"),
            ("CEF:0|a|b|c|d|e|1|k=v b-c=d", "not a key"),
            ("CEF:7|a|b|c|d|e|1|", "version"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let p = parse("CEF:0|a\\|b|c|d|e|f|5|k=  v  w=x").unwrap();
        assert_eq!(p.header[1], "a|b");
        assert_eq!(
            p.extension,
            vec![("k".into(), "  v ".into()), ("w".into(), "x".into())]
        );
    }

    proptest! {
        #[test]
        fn what_is_formatted_parses_back(
            vendor in "[^\\p{C}]{1,20}",
            summary in "(\\PC|[\\n=\\\\|])*",
            note in "(\\PC|[\\n=\\\\|])*",
        ) {
            let mut e = event(&summary);
            e.fields.insert("note".into(), Field::Text(note.clone()));
            let profile = CefProfile { vendor: vendor.clone(), product: "p".into() };
            let line = format(&e, &Selection::default(), &profile);
            prop_assert!(!line.contains('\n') && !line.contains('\r'));
            let p = parse(&line).map_err(|err| TestCaseError::fail(format!("{err}: {line}")))?;
            let safe = |s: &str| crate::domain::text::sanitize(s, MAX_VALUE, true);
            prop_assert_eq!(&p.header[1], &crate::domain::text::sanitize(&vendor, 512, false));
            let want = safe(&summary);
            prop_assert_eq!(p.get("msg"), Some(want.as_str()));
            let fields: Value = serde_json::from_str(p.get("cs5").unwrap()).unwrap();
            let want = crate::domain::text::sanitize(&note, super::super::event::MAX_TEXT, true);
            prop_assert_eq!(fields["note"].as_str(), Some(want.as_str()));
        }
    }
}
