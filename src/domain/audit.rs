//! The audit log's entries: who did what to which target, and why.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Id, SafeText};

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the log (0 before it is stored).
    pub id: u64,
    pub tenant: Id,
    pub at: DateTime<Utc>,
    /// A person, or `worker`/`agent:{device}` for what the system did.
    pub actor: SafeText,
    /// `push.create`, `push.confirm`, `push.applied`, …
    pub action: String,
    /// `push/{id}`, `rollout/{id}`, `device/{id}`.
    pub target: String,
    /// The state before and after, as short text.
    pub before: Option<String>,
    pub after: Option<String>,
    pub reason: Option<SafeText>,
    /// Set for entries caused by a message that may be delivered again:
    /// the entry is stored once per key.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dedup: Option<String>,
}

impl AuditEntry {
    /// A new entry, not yet stored.
    pub fn new(
        tenant: &Id,
        at: DateTime<Utc>,
        actor: impl Into<SafeText>,
        action: &str,
        target: String,
    ) -> Self {
        Self {
            id: 0,
            tenant: tenant.clone(),
            at,
            actor: actor.into(),
            action: action.to_string(),
            target,
            before: None,
            after: None,
            reason: None,
            dedup: None,
        }
    }

    /// With the state before and after.
    pub fn change(mut self, before: &str, after: &str) -> Self {
        self.before = Some(before.to_string());
        self.after = Some(after.to_string());
        self
    }

    /// With a reason.
    pub fn because(mut self, reason: impl Into<SafeText>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Stored at most once for `key`.
    pub fn once(mut self, key: String) -> Self {
        self.dedup = Some(key);
        self
    }
}
