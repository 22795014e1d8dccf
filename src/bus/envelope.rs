//! The versioned JSON envelope and its codec.
//!
//! ```json
//! {"v":1,"id":"r1-000042","ts":"2026-11-23T10:00:00Z","tenant":"acme",
//!  "device":"r1","kind":"metrics","body":{...}}
//! ```
//!
//! [`decode`] is the single entry point for untrusted telemetry: it refuses
//! oversized, non-UTF-8, too deeply nested, unknown-version and
//! schema-invalid input with a [`DecodeError`] whose [`DecodeError::reason`]
//! names the dead-letter subject.

mod fast;

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::domain::telemetry::{Kind, Telemetry};
use crate::domain::{Id, SafeText};

/// The envelope version this code reads and writes.
pub const VERSION: u64 = 1;
/// Largest accepted message, in bytes.
pub const MAX_BYTES: usize = 64 * 1024;
/// Deepest accepted nesting of arrays and objects.
pub const MAX_DEPTH: usize = 16;
/// Longest message id, in bytes.
pub const MAX_ID_BYTES: usize = 128;

/// A message id, used for deduplication end to end: 1–128 bytes of ASCII
/// letters, digits and `-_.:`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct MsgId(String);

impl MsgId {
    /// Checks and wraps `s`.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() || s.len() > MAX_ID_BYTES {
            return Err(format!("must be 1 to {MAX_ID_BYTES} bytes"));
        }
        match s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
        {
            Some(c) => Err(format!("may not contain {c:?}")),
            None => Ok(Self(s.to_owned())),
        }
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Unguessable message ids: `{prefix}-` then 128 random bits as hex.
///
/// JetStream drops a message whose `Nats-Msg-Id` it saw inside the
/// duplicate window, stream-wide: whoever can guess a device's next id can
/// publish it first and make the device's real message vanish. Random bits
/// come from the system's generator, drawn a few kilobytes at a time so
/// that ids stay cheap at high rates.
pub struct RandomIds {
    pool: Vec<u8>,
    used: usize,
}

impl Default for RandomIds {
    fn default() -> Self {
        Self {
            pool: vec![0; 4_096],
            used: usize::MAX,
        }
    }
}

impl RandomIds {
    /// Random bits in an id.
    pub const BITS: usize = 128;

    /// 16 fresh random bytes.
    fn take(&mut self) -> [u8; 16] {
        use ring::rand::SecureRandom as _;
        if self.used.saturating_add(16) > self.pool.len() {
            if ring::rand::SystemRandom::new()
                .fill(&mut self.pool)
                .is_err()
            {
                // Without the system's generator no id would be safe; the
                // process cannot go on publishing.
                panic!("the system random generator failed");
            }
            self.used = 0;
        }
        let mut b = [0u8; 16];
        b.copy_from_slice(&self.pool[self.used..self.used + 16]);
        self.used += 16;
        b
    }

    /// A new id: `prefix` (letters, digits, `-_.:`; cut to fit) and 128
    /// random bits.
    pub fn next(&mut self, prefix: &str) -> MsgId {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(prefix.len() + 33);
        s.extend(
            prefix
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
                .take(MAX_ID_BYTES - 33),
        );
        if !s.is_empty() {
            s.push('-');
        }
        for b in self.take() {
            s.push(HEX[usize::from(b >> 4)] as char);
            s.push(HEX[usize::from(b & 15)] as char);
        }
        MsgId(s)
    }
}

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MsgId({})", self.0)
    }
}

impl<'de> Deserialize<'de> for MsgId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<'de, str>::deserialize(d)?;
        MsgId::parse(&s).map_err(D::Error::custom)
    }
}

/// A decoded telemetry message.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub id: MsgId,
    pub ts: DateTime<Utc>,
    pub tenant: Id,
    pub device: Id,
    pub body: Telemetry,
}

/// Why a message was refused. Each maps to a dead-letter subject.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("message is {size} bytes, more than the {max} allowed")]
    Oversized { size: usize, max: usize },
    #[error("message is not UTF-8 (invalid byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error("message nests arrays/objects deeper than {max} levels")]
    TooDeep { max: usize },
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Malformed {
        line: usize,
        column: usize,
        message: SafeText,
    },
    #[error("envelope version {0} is not supported (this worker reads version {VERSION})")]
    UnsupportedVersion(SafeText),
    #[error("unknown telemetry kind {0:?}")]
    UnknownKind(SafeText),
    #[error("{path}: {message}")]
    Schema { path: SafeText, message: SafeText },
    #[error("subject {subject:?} does not match the envelope ({field} differs)")]
    SubjectMismatch {
        subject: SafeText,
        field: &'static str,
    },
}

impl DecodeError {
    /// The dead-letter reason token: `vigie.dlq.{reason}`.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Oversized { .. } => "oversized",
            DecodeError::NotUtf8 { .. } => "not-utf8",
            DecodeError::TooDeep { .. } => "too-deep",
            DecodeError::Malformed { .. } => "malformed-json",
            DecodeError::UnsupportedVersion(_) => "unsupported-version",
            DecodeError::UnknownKind(_) => "unknown-kind",
            DecodeError::Schema { .. } => "schema",
            DecodeError::SubjectMismatch { .. } => "subject-mismatch",
        }
    }

    fn schema(path: impl Into<String>, message: impl fmt::Display) -> Self {
        DecodeError::Schema {
            path: SafeText::from(path.into()),
            message: SafeText::from(message.to_string()),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    v: u64,
    id: MsgId,
    ts: DateTime<Utc>,
    tenant: Id,
    device: Id,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    body: &'a RawValue,
}

#[derive(Serialize)]
struct WireOut<'a> {
    v: u64,
    id: &'a MsgId,
    ts: &'a DateTime<Utc>,
    tenant: &'a Id,
    device: &'a Id,
    kind: &'static str,
    body: &'a Telemetry,
}

/// Depth of the deepest array/object nesting, stopping past `limit`.
fn nesting_exceeds(bytes: &[u8], limit: usize) -> bool {
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_str {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn path_error(e: serde_path_to_error::Error<serde_json::Error>, prefix: &str) -> DecodeError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        return DecodeError::Malformed {
            line: inner.line(),
            column: inner.column(),
            message: SafeText::from(inner.to_string()),
        };
    }
    let path = match (prefix, path.as_str()) {
        ("", ".") => "envelope".to_string(),
        ("", p) => p.to_string(),
        (pre, ".") => pre.to_string(),
        (pre, p) => format!("{pre}.{p}"),
    };
    // serde_json appends " at line L column C"; the path says more.
    let msg = inner.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    DecodeError::schema(path, msg)
}

fn decode_body(kind: Kind, raw: &RawValue) -> Result<Telemetry, DecodeError> {
    fn typed<'a, T: Deserialize<'a>>(raw: &'a RawValue) -> Result<T, DecodeError> {
        serde_json::from_str(raw.get()).or_else(|_| {
            let mut de = serde_json::Deserializer::from_str(raw.get());
            serde_path_to_error::deserialize(&mut de).map_err(|e| path_error(e, "body"))
        })
    }
    let body = match kind {
        Kind::Heartbeat => Telemetry::Heartbeat(typed(raw)?),
        Kind::Metrics => Telemetry::Metrics(typed(raw)?),
        Kind::Signal => Telemetry::Signal(typed(raw)?),
        Kind::Interfaces => Telemetry::Interfaces(typed(raw)?),
        Kind::Registrations => Telemetry::Registrations(typed(raw)?),
        Kind::Config => Telemetry::Config(typed(raw)?),
        Kind::Log => Telemetry::Log(typed(raw)?),
        Kind::Push => Telemetry::Push(typed(raw)?),
    };
    body.validate()
        .map_err(|(field, why)| DecodeError::schema(field, why))?;
    Ok(body)
}

/// When the envelope fails to decode, says whether a wrong version is the
/// cause: a newer envelope may well have other fields.
fn version_problem(text: &str) -> Option<DecodeError> {
    #[derive(Deserialize)]
    struct Probe {
        v: Option<serde_json::Value>,
    }
    let probe: Probe = serde_json::from_str(text).ok()?;
    match probe.v {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(VERSION) => None,
        Some(v) => Some(DecodeError::UnsupportedVersion(SafeText::from(
            v.to_string(),
        ))),
        None => None,
    }
}

/// The earliest time an envelope may carry: 2000-01-01T00:00:00Z.
pub const EARLIEST_TS_MS: i64 = 946_684_800_000;
/// The latest: 2200-01-01T00:00:00Z (the worker also refuses times more
/// than a few minutes ahead of its clock).
pub const LATEST_TS_MS: i64 = 7_258_118_400_000;

/// Refuses a time outside the sane window, which would break arithmetic
/// on it (year 0, −262143) or outlive every retention.
fn check_ts(env: Envelope) -> Result<Envelope, DecodeError> {
    let ms = env.ts.timestamp_millis();
    if (EARLIEST_TS_MS..LATEST_TS_MS).contains(&ms) {
        Ok(env)
    } else {
        Err(DecodeError::schema(
            "ts",
            format!("{} is outside 2000-01-01..2200-01-01", env.ts.to_rfc3339()),
        ))
    }
}

/// Decodes one untrusted message.
pub fn decode(bytes: &[u8]) -> Result<Envelope, DecodeError> {
    decode_unchecked(bytes).and_then(check_ts)
}

fn decode_unchecked(bytes: &[u8]) -> Result<Envelope, DecodeError> {
    if bytes.len() > MAX_BYTES {
        return Err(DecodeError::Oversized {
            size: bytes.len(),
            max: MAX_BYTES,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| DecodeError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    if nesting_exceeds(bytes, MAX_DEPTH) {
        return Err(DecodeError::TooDeep { max: MAX_DEPTH });
    }
    if let Some(env) = fast::decode(text) {
        return Ok(env);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    // Plain serde first (fast); only a failure is decoded again with path
    // tracking, to say which field is wrong.
    let wire: Wire<'_> = match Wire::deserialize(&mut de) {
        Ok(w) => w,
        Err(_) => {
            let mut de = serde_json::Deserializer::from_str(text);
            let err = match serde_path_to_error::deserialize::<_, Wire<'_>>(&mut de) {
                Ok(_) => DecodeError::schema("envelope", "invalid"),
                Err(e) => path_error(e, ""),
            };
            if matches!(err, DecodeError::Schema { .. }) {
                return Err(version_problem(text).unwrap_or(err));
            }
            return Err(err);
        }
    };
    if let Err(e) = de.end() {
        return Err(DecodeError::Malformed {
            line: e.line(),
            column: e.column(),
            message: SafeText::from(e.to_string()),
        });
    }
    if wire.v != VERSION {
        return Err(DecodeError::UnsupportedVersion(SafeText::from(
            wire.v.to_string(),
        )));
    }
    let kind = Kind::parse(&wire.kind)
        .ok_or_else(|| DecodeError::UnknownKind(SafeText::new(&wire.kind)))?;
    let body = decode_body(kind, wire.body)?;
    Ok(Envelope {
        id: wire.id,
        ts: wire.ts,
        tenant: wire.tenant,
        device: wire.device,
        body,
    })
}

/// Decodes a message and checks it against the subject it arrived on.
pub fn decode_on(subject: &str, bytes: &[u8]) -> Result<Envelope, DecodeError> {
    let env = decode(bytes)?;
    let mismatch = |field| DecodeError::SubjectMismatch {
        subject: SafeText::new(subject),
        field,
    };
    let Some(s) = super::subject::parse_telemetry(subject) else {
        return Err(mismatch("subject"));
    };
    if s.tenant != env.tenant.as_str() {
        return Err(mismatch("tenant"));
    }
    if s.device != env.device.as_str() {
        return Err(mismatch("device"));
    }
    if s.kind != env.body.kind().as_str() {
        return Err(mismatch("kind"));
    }
    Ok(env)
}

/// Encodes an envelope (compact JSON).
pub fn encode(env: &Envelope) -> Vec<u8> {
    let out = WireOut {
        v: VERSION,
        id: &env.id,
        ts: &env.ts,
        tenant: &env.tenant,
        device: &env.device,
        kind: env.body.kind().as_str(),
        body: &env.body,
    };
    // Serialising these plain types into a Vec cannot fail: no map has
    // non-string keys and no Serialize impl here returns an error.
    serde_json::to_vec(&out).unwrap_or_default()
}

impl Envelope {
    /// The subject this envelope travels on.
    pub fn subject(&self) -> String {
        super::subject::telemetry(&self.tenant, &self.device, self.body.kind())
    }
}
