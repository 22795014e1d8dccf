//! An order, its canonical bytes, and the agent's checks.

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::keys::{KeyId, SigningKey, TrustedKeys};
use crate::domain::Id;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// What an order asks of the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    /// Back up, apply `body`, arm the revert timer for `window_s`.
    Apply,
    /// Keep what was applied: disarm the timer.
    Confirm,
    /// Restore the backup now.
    Revert,
}

impl OrderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderKind::Apply => "apply",
            OrderKind::Confirm => "confirm",
            OrderKind::Revert => "revert",
        }
    }
}

/// One order to one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub tenant: Id,
    pub device: Id,
    /// The push this order belongs to.
    pub push: Id,
    /// Strictly increasing per device: an agent refuses anything not above
    /// the last sequence it accepted (no replay).
    pub seq: u64,
    /// Refused from this instant on.
    pub expires: DateTime<Utc>,
    pub kind: OrderKind,
    /// Seconds the agent waits for a confirm before reverting by itself.
    pub window_s: u32,
    /// The configuration to apply (empty for confirm and revert).
    pub body: String,
}

impl Order {
    /// The bytes that are signed: a header line, then each field as
    /// `name=LEN:VALUE\n` in a fixed order, LEN being VALUE's length in
    /// bytes, so that no value can be mistaken for another field.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let expires = self.expires.to_rfc3339_opts(SecondsFormat::Millis, true);
        let fields: [(&str, &str); 8] = [
            ("tenant", self.tenant.as_str()),
            ("device", self.device.as_str()),
            ("push", self.push.as_str()),
            ("seq", &self.seq.to_string()),
            ("expires", &expires),
            ("kind", self.kind.as_str()),
            ("window_s", &self.window_s.to_string()),
            ("body", &self.body),
        ];
        let mut out = b"vigie-order-v1\n".to_vec();
        for (name, value) in fields {
            out.extend_from_slice(format!("{name}={}:", value.len()).as_bytes());
            out.extend_from_slice(value.as_bytes());
            out.push(b'\n');
        }
        out
    }

    /// Signs the order.
    pub fn sign(self, key: &SigningKey) -> SignedOrder {
        let sig = B64.encode(key.sign(&self.canonical_bytes()));
        SignedOrder {
            v: 1,
            key_id: key.id().0.clone(),
            sig,
            order: self,
        }
    }
}

/// An order as it travels on `vigie.ord.{tenant}.{device}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedOrder {
    pub v: u32,
    pub key_id: String,
    /// Ed25519 signature of the order's canonical bytes, base64.
    pub sig: String,
    pub order: Order,
}

/// Why an agent refuses an order; each is reported with its reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("order format version {0} is not 1")]
    Version(u32),
    #[error("key {0} is not among the keys this agent accepts")]
    UnknownKey(String),
    #[error("the signature does not match the order")]
    BadSignature,
    #[error("the order is for {tenant}/{device}, this agent is {me}")]
    WrongTarget {
        tenant: String,
        device: String,
        me: String,
    },
    #[error("sequence {seq} is not above the last one accepted ({last})")]
    Replay { seq: u64, last: u64 },
    #[error("the order expired at {0}")]
    Expired(DateTime<Utc>),
}

impl Rejection {
    /// The short reason reported to the worker.
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::Version(_) => "version",
            Rejection::UnknownKey(_) => "unknown-key",
            Rejection::BadSignature => "bad-signature",
            Rejection::WrongTarget { .. } => "wrong-target",
            Rejection::Replay { .. } => "replay",
            Rejection::Expired(_) => "expired",
        }
    }
}

/// The agent's checks, strictest first: format, key, signature, target,
/// sequence, expiry. `last_seq` is the last sequence this agent accepted.
pub fn verify<'a>(
    signed: &'a SignedOrder,
    trusted: &TrustedKeys,
    tenant: &Id,
    device: &Id,
    last_seq: Option<u64>,
    now: DateTime<Utc>,
) -> Result<&'a Order, Rejection> {
    if signed.v != 1 {
        return Err(Rejection::Version(signed.v));
    }
    let sig = B64
        .decode(signed.sig.as_bytes())
        .map_err(|_| Rejection::BadSignature)?;
    let id = KeyId(signed.key_id.clone());
    match trusted.verify(&id, &signed.order.canonical_bytes(), &sig) {
        None => return Err(Rejection::UnknownKey(signed.key_id.clone())),
        Some(false) => return Err(Rejection::BadSignature),
        Some(true) => {}
    }
    let o = &signed.order;
    if &o.tenant != tenant || &o.device != device {
        return Err(Rejection::WrongTarget {
            tenant: o.tenant.to_string(),
            device: o.device.to_string(),
            me: format!("{tenant}/{device}"),
        });
    }
    if let Some(last) = last_seq
        && o.seq <= last
    {
        return Err(Rejection::Replay { seq: o.seq, last });
    }
    if now >= o.expires {
        return Err(Rejection::Expired(o.expires));
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        Id::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    fn order(seq: u64) -> Order {
        Order {
            tenant: id("acme"),
            device: id("rtr-1"),
            push: id("push-7"),
            seq,
            expires: t0() + chrono::Duration::minutes(5),
            kind: OrderKind::Apply,
            window_s: 300,
            body: "hostname rtr-1\n".into(),
        }
    }

    fn setup() -> (SigningKey, TrustedKeys) {
        let key = SigningKey::generate().unwrap_or_else(|e| panic!("{e}"));
        let mut trusted = TrustedKeys::default();
        trusted
            .add_base64(&key.public_base64())
            .unwrap_or_else(|e| panic!("{e}"));
        (key, trusted)
    }

    #[test]
    fn canonical_bytes_are_stable_and_unambiguous() {
        let text = String::from_utf8(order(3).canonical_bytes()).unwrap_or_default();
        assert_eq!(
            text,
            "vigie-order-v1\ntenant=4:acme\ndevice=5:rtr-1\npush=6:push-7\nseq=1:3\n\
             expires=24:2027-01-15T08:05:00.000Z\nkind=5:apply\nwindow_s=3:300\n\
             body=15:hostname rtr-1\n\n"
        );
        // A body that imitates the next field cannot shift the framing.
        let mut sneaky = order(3);
        sneaky.body = "x\nkind=6:revert".into();
        assert_ne!(sneaky.canonical_bytes(), order(3).canonical_bytes());
    }

    #[test]
    fn every_check_has_its_reason() {
        let (key, trusted) = setup();
        let (acme, rtr) = (id("acme"), id("rtr-1"));
        let good = order(5).sign(&key);
        let check = |s: &SignedOrder, last, now| {
            verify(s, &trusted, &acme, &rtr, last, now)
                .map(|o| o.seq)
                .map_err(|e| e.reason())
        };
        assert_eq!(check(&good, Some(4), t0()), Ok(5));
        assert_eq!(check(&good, None, t0()), Ok(5));
        // Round trip through JSON, as on the wire.
        let wire = serde_json::to_string(&good).unwrap_or_default();
        let back: SignedOrder = serde_json::from_str(&wire).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(check(&back, Some(4), t0()), Ok(5));

        let mut tampered = good.clone();
        tampered.order.body = "hostname evil\n".into();
        assert_eq!(check(&tampered, None, t0()), Err("bad-signature"));
        let mut garbled = good.clone();
        garbled.sig = "!!".into();
        assert_eq!(check(&garbled, None, t0()), Err("bad-signature"));
        let (other, _) = setup();
        assert_eq!(
            check(&order(5).sign(&other), None, t0()),
            Err("unknown-key")
        );
        let mut elsewhere = order(5);
        elsewhere.device = id("rtr-2");
        assert_eq!(
            check(&elsewhere.sign(&key), None, t0()),
            Err("wrong-target")
        );
        assert_eq!(check(&good, Some(5), t0()), Err("replay"));
        assert_eq!(check(&good, Some(9), t0()), Err("replay"));
        let late = t0() + chrono::Duration::minutes(5);
        assert_eq!(check(&good, None, late), Err("expired"));
        let mut v2 = good.clone();
        v2.v = 2;
        assert_eq!(check(&v2, None, t0()), Err("version"));
    }
}
