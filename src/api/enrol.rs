//! Enrolment over NATS: a host's agent presents a one-time code and the
//! public key it made, on `vigie.enrol` (the only subject a bootstrap
//! credential may publish to), and gets its own user JWT back. The seed
//! never leaves the host; the answer is useless without it.

use serde::{Deserialize, Serialize};

/// The subject the worker answers enrolments on.
pub use crate::bus::subject::ENROL as SUBJECT;

/// The inbox prefix bootstrap credentials may read (answers come under it).
pub use crate::bus::subject::ENROL_INBOX as INBOX_PREFIX;

/// What the agent sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    pub code: String,
    /// The NKey user public key (`U…`) the agent made on its host.
    pub public_key: String,
}

/// What the worker answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrolReply {
    Enrolled(Enrolled),
    Refused { reason: String, message: String },
}

/// An agent's identity: whom it speaks for, its JWT, where its answers
/// come, and the keys whose orders it obeys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolled {
    pub tenant: String,
    pub device: String,
    pub jwt: String,
    pub inbox_prefix: String,
    pub trusted_keys: Vec<String>,
}

/// Largest enrolment request read, in bytes.
pub const MAX_REQUEST_BYTES: usize = 1024;
