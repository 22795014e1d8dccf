//! The arguments of the verbs. Unknown fields are refused, so that a typo
//! never passes silently; fields a client leaves out are not sent.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Id;
use crate::domain::access::Role;

/// A verb that takes no arguments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// `login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginArgs {
    pub user: String,
    pub password: String,
    /// The keys of the client's own NATS credentials: with them the
    /// answer is sealed, and carries a JWT for `keys.nkey` when the
    /// worker issues NATS credentials (see `grant.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<super::grant::ClientKeys>,
}

/// `snapshot` and `snapshot_page`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageArgs {
    /// The kept snapshot (`snapshot_page` only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `incidents` and `alerts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitArgs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// `alerts` only: one device's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Id>,
}

/// `signal`: a device's raw samples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesArgs {
    pub device: Id,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// `device`: a device's detail over a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceArgs {
    pub device: Id,
    /// End of the window (default: now); consoles send their own clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buckets: Option<u16>,
}

/// `site`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteArgs {
    pub site: Id,
}

/// `incident`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentArgs {
    pub incident: Id,
}

/// `trends`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendArgs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// What `incident_act` does to an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriageAction {
    Acknowledge,
    Take,
    /// Needs `to`.
    Assign,
    Escalate,
    Resolve,
    /// Needs `for_s`.
    Snooze,
    Wake,
    Reopen,
    /// Needs `from` or `alerts`.
    Merge,
    /// Needs its text in `reason`.
    Note,
}

impl TriageAction {
    pub const ALL: [TriageAction; 10] = [
        TriageAction::Acknowledge,
        TriageAction::Take,
        TriageAction::Assign,
        TriageAction::Escalate,
        TriageAction::Resolve,
        TriageAction::Snooze,
        TriageAction::Wake,
        TriageAction::Reopen,
        TriageAction::Merge,
        TriageAction::Note,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TriageAction::Acknowledge => "acknowledge",
            TriageAction::Take => "take",
            TriageAction::Assign => "assign",
            TriageAction::Escalate => "escalate",
            TriageAction::Resolve => "resolve",
            TriageAction::Snooze => "snooze",
            TriageAction::Wake => "wake",
            TriageAction::Reopen => "reopen",
            TriageAction::Merge => "merge",
            TriageAction::Note => "note",
        }
    }

    /// The action of a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// `incident_act`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentAct {
    pub incident: Id,
    pub action: TriageAction,
    /// For assign: who.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// For snooze: how long, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_s: Option<u32>,
    /// For merge: the incidents whose alerts join this one…
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<Id>,
    /// …or the alerts that join it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<Id>,
    /// Why; for note, the note itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl IncidentAct {
    /// `action` on `incident`, nothing else said.
    pub fn new(incident: Id, action: TriageAction) -> Self {
        Self {
            incident,
            action,
            to: None,
            for_s: None,
            from: Vec::new(),
            alerts: Vec::new(),
            reason: None,
        }
    }
}

/// `push_create`: one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePush {
    pub device: Id,
    pub body: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<u32>,
    /// The configuration the body was edited from (kept for the diff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// Set by the worker from the session; what a client sends is
    /// replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

/// `rollout_create`: the same configuration to several devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRollout {
    pub devices: Vec<Id>,
    pub body: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave_size: Option<u32>,
    /// Set by the worker from the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

/// `push_confirm`, `push_revert`, `push_status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRef {
    pub push: Id,
    /// `push_revert`: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `rollout_confirm`, `rollout_status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutRef {
    pub rollout: Id,
}

/// `config_latest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceRef {
    pub device: Id,
}

/// `audit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditArgs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `user_add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddUser {
    pub name: String,
    pub role: Role,
    pub password: String,
}

/// `user_disable`, `user_enable`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserName {
    pub name: String,
}
