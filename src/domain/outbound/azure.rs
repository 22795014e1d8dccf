//! Azure Monitor's Logs Ingestion API (Microsoft Sentinel's way in):
//! rows of a data collection rule's stream, sent as a JSON array, with
//! an Entra token got by client credentials. The HTTP Data Collector
//! API (SharedKey) is retired and not spoken.
//!
//! A row is the envelope with `TimeGenerated` added: the stream's
//! columns are `TimeGenerated` (datetime), `v` (int), `id`, `type`,
//! `time`, `tenant`, `site`, `device`, `severity`, `subject`,
//! `data_mode` (string), `summary` and `fields` (dynamic). Azure does not
//! deduplicate: `id` is the key to do it in a query.

use serde_json::{Value, json};

use super::event::{OutEvent, Selection, envelope};

/// The most bytes in one call.
pub const MAX_BYTES: usize = 1_000_000;

/// The scope of a token for the Logs Ingestion API.
pub const SCOPE: &str = "https://monitor.azure.com//.default";

/// The API version spoken.
pub const API_VERSION: &str = "2023-01-01";

/// One row for `e`.
pub fn row(e: &OutEvent, sel: &Selection) -> Value {
    let mut v = envelope(e, sel);
    v["TimeGenerated"] = json!(e.time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    v
}

/// Rows as one request body (a JSON array).
pub fn body(rows: &[Value]) -> Vec<u8> {
    Value::Array(rows.to_vec()).to_string().into_bytes()
}

/// `s` percent-encoded for a form (`application/x-www-form-urlencoded`).
fn form_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The body of a client-credentials token request.
pub fn token_request(client_id: &str, secret: &str) -> String {
    format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
        form_value(client_id),
        form_value(secret),
        form_value(SCOPE)
    )
}

/// A token reply's access token and lifetime (s); what is wrong with it
/// otherwise (never echoing the reply, which may hold a token).
pub fn token_reply(body: &str) -> Result<(String, u64), String> {
    let v: Value =
        serde_json::from_str(body).map_err(|_| "the token reply is not JSON".to_string())?;
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        return Err(format!(
            "Entra refused the token: {}",
            crate::domain::text::sanitize(e, 80, false)
        ));
    }
    let token = v
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty() && t.len() <= 16_384 && t.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or("the token reply has no usable access_token")?;
    let life = match v.get("expires_in") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .unwrap_or(300);
    Ok((token.to_string(), life))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Id;
    use crate::domain::outbound::event::{EventType, event_id};

    #[test]
    fn rows_are_an_array_with_time_generated() {
        let tenant = Id::parse("acme").unwrap();
        let e = OutEvent {
            id: event_id(EventType::DeviceOffline, &tenant, "d", "0"),
            kind: EventType::DeviceOffline,
            time: chrono::DateTime::from_timestamp(1_795_428_000, 0).unwrap(),
            tenant,
            site: None,
            device: None,
            severity: None,
            subject: "d".into(),
            summary: "caf\u{e9} \u{2014} down".into(),
            fields: Default::default(),
        };
        let r = row(&e, &Selection::default());
        assert_eq!(r["TimeGenerated"], "2026-11-23T10:00:00.000Z");
        let b = body(&[r.clone(), r]);
        let back: Vec<Value> = serde_json::from_slice(&b).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0]["summary"], "caf\u{e9} \u{2014} down");
    }

    #[test]
    fn token_request_and_reply() {
        let f = token_request("app-1", "s3cr&t=+ /");
        assert!(f.contains("client_secret=s3cr%26t%3D%2B%20%2F"), "{f}");
        assert!(
            f.contains("scope=https%3A%2F%2Fmonitor.azure.com%2F%2F.default"),
            "{f}"
        );
        assert_eq!(
            token_reply(r#"{"access_token":"eyJ0","expires_in":3599,"token_type":"Bearer"}"#),
            Ok(("eyJ0".into(), 3599))
        );
        assert_eq!(
            token_reply(r#"{"access_token":"eyJ0","expires_in":"60"}"#),
            Ok(("eyJ0".into(), 60))
        );
        let e = token_reply(r#"{"error":"invalid_client","error_description":"secret eyJ..."}"#)
            .unwrap_err();
        assert!(e.contains("invalid_client") && !e.contains("eyJ"), "{e}");
        assert!(token_reply("<html>").is_err());
        assert!(token_reply(r#"{"access_token":"a b"}"#).is_err());
    }
}
