//! Webhook signatures. Two schemes, both HMAC-SHA256 over the exact bytes
//! sent, computed again on every attempt with a fresh timestamp (same id,
//! same body), so that a retry after minutes still falls in the
//! receiver's window:
//!
//! - vigie's: `X-Vigie-Signature: sha256=<hex>` over `"<ts>." + body`,
//!   with `X-Vigie-Timestamp: <ts>` (unix seconds); byte-compatible with
//!   the reference MSSP system's `sha256=` scheme;
//! - Standard Webhooks: `webhook-signature: v1,<base64>` over
//!   `"<id>.<ts>." + body`, the key being the base64 after `whsec_`.
//!
//! During a rotation a header carries one signature per secret,
//! separated by spaces; a receiver accepts any.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::hmac;

/// How far a signed timestamp may lie from the receiver's clock.
pub const WINDOW_S: i64 = 300;

fn tag(key: &[u8], parts: &[&[u8]]) -> hmac::Tag {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    for p in parts {
        ctx.update(p);
    }
    ctx.sign()
}

use crate::domain::hex;

/// vigie's signature of `body` sent at `ts` with `secret` (its bytes).
pub fn vigie(secret: &[u8], ts: i64, body: &[u8]) -> String {
    let ts = ts.to_string();
    format!(
        "sha256={}",
        hex(tag(secret, &[ts.as_bytes(), b".", body]).as_ref())
    )
}

/// Whether `header` (one or more `sha256=<hex>`, space-separated) holds a
/// signature of `body` at `ts` by `secret`, and `ts` lies within
/// [`WINDOW_S`] of `now` (both unix seconds). What a receiver runs.
pub fn verify_vigie(secret: &[u8], ts: i64, body: &[u8], header: &str, now: i64) -> bool {
    if (now - ts).abs() > WINDOW_S {
        return false;
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let ts = ts.to_string();
    let signed = [ts.as_bytes(), b".", body].concat();
    header.split(' ').any(|sig| {
        sig.strip_prefix("sha256=")
            .and_then(unhex)
            .is_some_and(|t| hmac::verify(&key, &signed, &t).is_ok())
    })
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A Standard Webhooks secret that is not `whsec_` and base64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a Standard Webhooks secret is whsec_ followed by base64")]
pub struct BadSecret;

/// The key of a Standard Webhooks secret (`whsec_<base64>`).
pub fn standard_key(secret: &str) -> Result<Vec<u8>, BadSecret> {
    let b64 = secret.strip_prefix("whsec_").ok_or(BadSecret)?;
    B64.decode(b64).map_err(|_| BadSecret)
}

/// The Standard Webhooks signature (`v1,<base64>`) of `body` with id
/// `id` sent at `ts`, by `key` (see [`standard_key`]).
pub fn standard(key: &[u8], id: &str, ts: i64, body: &[u8]) -> String {
    let ts = ts.to_string();
    let t = tag(key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    format!("v1,{}", B64.encode(t.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vigies_scheme_matches_the_golden_vector_and_verifies_in_its_window() {
        let body = br#"{"v":1,"id":"dlv-01JD3Z","type":"incident.opened","tenant":"acme"}"#;
        let sig = vigie(b"whsec_test_secret", 1_795_428_000, body);
        assert_eq!(
            sig,
            "sha256=c781ad915d2a81d056e32435ec7e191a136c51eb5ec7987d40a0c059091057cd"
        );
        let at = 1_795_428_000;
        assert!(verify_vigie(b"whsec_test_secret", at, body, &sig, at + 299));
        assert!(!verify_vigie(
            b"whsec_test_secret",
            at,
            body,
            &sig,
            at + 301
        ));
        assert!(!verify_vigie(b"whsec_test_secret", at, b"{}", &sig, at));
        assert!(!verify_vigie(b"other", at, body, &sig, at));
        // During a rotation either secret's signature is accepted.
        let both = format!("{} {sig}", vigie(b"new", at, body));
        assert!(verify_vigie(b"whsec_test_secret", at, body, &both, at));
        assert!(verify_vigie(b"new", at, body, &both, at));
        assert!(!verify_vigie(b"new", at, body, "sha256=zz", at));
    }

    #[test]
    fn standard_webhooks_matches_the_specs_own_vector() {
        let key = standard_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            standard(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(standard_key("MfKQ9r8"), Err(BadSecret));
        assert_eq!(standard_key("whsec_***"), Err(BadSecret));
    }
}
