//! How the api says no: a code a program can match on and a message a
//! person can read.

use serde::{Deserialize, Serialize};

/// What kind of failure an answer reports. On the wire, the kebab-case
/// name (`bad-request`); a code this build does not know reads as
/// [`ErrorCode::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// The request is malformed or names something out of range.
    BadRequest,
    /// The answer could not be read (a client-side code).
    BadAnswer,
    UnknownVerb,
    /// No session, or one that is expired, forged or revoked.
    Unauthenticated,
    /// The user's role is below what the verb needs.
    Forbidden,
    /// The user belongs to another tenant than the one asked.
    OtherTenant,
    /// Too many logins: wait and try again.
    Throttled,
    /// The user has too many requests of this kind in flight.
    Busy,
    NotFound,
    /// The change collides with what is stored.
    Conflict,
    /// The push or incident is not in a state that allows the action.
    WrongState,
    /// The worker has no signing key: pushes are off.
    PushDisabled,
    /// The worker cannot take the request now.
    Unavailable,
    /// The database failed; the worker's log has the detail.
    Storage,
    /// The bus failed (or timed out); the worker's log has the detail.
    Bus,
    /// Something the worker did not expect; its log has the detail.
    Internal,
    /// A code from a newer worker.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad-request",
            ErrorCode::BadAnswer => "bad-answer",
            ErrorCode::UnknownVerb => "unknown-verb",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::OtherTenant => "other-tenant",
            ErrorCode::Throttled => "throttled",
            ErrorCode::Busy => "busy",
            ErrorCode::NotFound => "not-found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::WrongState => "wrong-state",
            ErrorCode::PushDisabled => "push-disabled",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Storage => "storage",
            ErrorCode::Bus => "bus",
            ErrorCode::Internal => "internal",
            ErrorCode::Unknown => "unknown",
        }
    }

    /// Codes whose message would be the worker's internals: the client
    /// gets the code and a request id, the log gets the detail.
    pub fn is_internal(self) -> bool {
        matches!(
            self,
            ErrorCode::Storage | ErrorCode::Internal | ErrorCode::Bus
        )
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// An api failure, as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A `bad-request` naming what is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
}

impl From<crate::domain::access::Refusal> for ApiError {
    fn from(r: crate::domain::access::Refusal) -> Self {
        let code = match r {
            crate::domain::access::Refusal::Role { .. } => ErrorCode::Forbidden,
            _ => ErrorCode::OtherTenant,
        };
        ApiError::new(code, r.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_as_itself_and_a_new_one_as_unknown() {
        for code in [
            ErrorCode::BadRequest,
            ErrorCode::BadAnswer,
            ErrorCode::UnknownVerb,
            ErrorCode::Unauthenticated,
            ErrorCode::Forbidden,
            ErrorCode::OtherTenant,
            ErrorCode::Throttled,
            ErrorCode::Busy,
            ErrorCode::NotFound,
            ErrorCode::Conflict,
            ErrorCode::WrongState,
            ErrorCode::PushDisabled,
            ErrorCode::Unavailable,
            ErrorCode::Storage,
            ErrorCode::Bus,
            ErrorCode::Internal,
        ] {
            let wire = serde_json::to_value(code).unwrap_or_default();
            assert_eq!(wire, serde_json::Value::String(code.as_str().into()));
            let back: ErrorCode = serde_json::from_value(wire).unwrap_or(ErrorCode::Unknown);
            assert_eq!(back, code);
        }
        let newer: ErrorCode =
            serde_json::from_str("\"rate-limited\"").unwrap_or(ErrorCode::BadAnswer);
        assert_eq!(newer, ErrorCode::Unknown);
    }
}
