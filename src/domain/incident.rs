//! Incident lifecycle: new → acknowledged → in progress → resolved → closed,
//! with L1 → L2 → L3 escalation, assignee, notes, SLA and reopen count.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::model::Severity;
use super::{Id, SafeText};

/// Where an incident is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    New,
    Acknowledged,
    InProgress,
    Resolved,
    Closed,
}

impl IncidentState {
    /// Every state.
    pub const ALL: [IncidentState; 5] = [
        IncidentState::New,
        IncidentState::Acknowledged,
        IncidentState::InProgress,
        IncidentState::Resolved,
        IncidentState::Closed,
    ];

    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::New => "new",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::InProgress => "in_progress",
            IncidentState::Resolved => "resolved",
            IncidentState::Closed => "closed",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// True while someone still has work to do.
    pub fn is_open(self) -> bool {
        !matches!(self, IncidentState::Resolved | IncidentState::Closed)
    }
}

/// Support tier handling an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EscalationTier {
    L1,
    L2,
    L3,
}

/// What an analyst (or the worker) does to an incident.
#[derive(Debug, Clone, PartialEq)]
pub enum IncidentAction {
    Acknowledge {
        by: SafeText,
    },
    Start {
        by: SafeText,
    },
    Assign {
        to: SafeText,
    },
    Escalate,
    Resolve {
        by: SafeText,
    },
    Close,
    Reopen,
    /// Another alert with the same dedup key joined the incident.
    MergeAlert {
        alert: Id,
    },
    /// Out of the queue's way until `until` (it stays open; its SLA runs).
    Snooze {
        until: DateTime<Utc>,
    },
    /// Back in the queue before the snooze ends.
    Wake,
    /// Its alerts moved to another incident: closed.
    MergedInto {
        into: Id,
    },
    /// One of its alerts moved to another incident.
    DetachAlert {
        alert: Id,
    },
}

impl IncidentAction {
    /// The action's name, for errors and the audit log.
    pub fn name(&self) -> &'static str {
        match self {
            IncidentAction::Acknowledge { .. } => "acknowledge",
            IncidentAction::Start { .. } => "start",
            IncidentAction::Assign { .. } => "assign",
            IncidentAction::Escalate => "escalate",
            IncidentAction::Resolve { .. } => "resolve",
            IncidentAction::Close => "close",
            IncidentAction::Reopen => "reopen",
            IncidentAction::MergeAlert { .. } => "merge-alert",
            IncidentAction::Snooze { .. } => "snooze",
            IncidentAction::Wake => "wake",
            IncidentAction::MergedInto { .. } => "merged",
            IncidentAction::DetachAlert { .. } => "detach-alert",
        }
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncidentError {
    #[error("cannot {action} an incident that is {from}")]
    InvalidTransition {
        action: &'static str,
        from: &'static str,
    },
    #[error("incident is already at L3, the highest tier")]
    AlreadyTopTier,
    #[error("a snooze must end in the future")]
    SnoozeInPast,
    #[error("an incident cannot be merged into itself")]
    MergeIntoItself,
}

/// An incident: one or more alerts that share a dedup key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub tenant: Id,
    pub id: Id,
    pub dedup_key: String,
    pub title: SafeText,
    pub severity: Severity,
    pub state: IncidentState,
    pub tier: EscalationTier,
    pub assignee: Option<SafeText>,
    pub opened: DateTime<Utc>,
    pub acknowledged: Option<DateTime<Utc>>,
    pub sla_due: DateTime<Utc>,
    pub reopen_count: u32,
    pub alerts: Vec<Id>,
    /// Snoozed until then: the queue shows it last, dimmed, until it wakes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snoozed_until: Option<DateTime<Utc>>,
}

/// Time to resolve by severity.
pub fn sla_for(severity: Severity) -> Duration {
    match severity {
        Severity::Critical => Duration::hours(1),
        Severity::Major => Duration::hours(4),
        Severity::Minor => Duration::hours(24),
        Severity::Warning | Severity::Info => Duration::hours(72),
    }
}

/// The key that merges alerts into one incident: same tenant, same scope
/// (a site or a device), same rule.
pub fn dedup_key(tenant: &Id, scope: &str, rule: &str) -> String {
    format!("{tenant}/{scope}/{rule}")
}

impl Incident {
    /// Opens a new incident for a first alert.
    pub fn open(
        tenant: Id,
        id: Id,
        dedup_key: String,
        title: SafeText,
        severity: Severity,
        alert: Id,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            tenant,
            id,
            dedup_key,
            title,
            severity,
            state: IncidentState::New,
            tier: EscalationTier::L1,
            assignee: None,
            opened: now,
            acknowledged: None,
            sla_due: now + sla_for(severity),
            reopen_count: 0,
            alerts: vec![alert],
            snoozed_until: None,
        }
    }

    /// True while a snooze holds at `now`.
    pub fn is_snoozed(&self, now: DateTime<Utc>) -> bool {
        self.state.is_open() && self.snoozed_until.is_some_and(|u| u > now)
    }

    /// True when the SLA deadline has passed while the incident is open.
    pub fn sla_breached(&self, now: DateTime<Utc>) -> bool {
        self.state.is_open() && now > self.sla_due
    }

    /// Applies `action` at `now`.
    pub fn apply(
        &mut self,
        action: IncidentAction,
        now: DateTime<Utc>,
    ) -> Result<(), IncidentError> {
        use IncidentState::*;
        let refuse = |from: IncidentState, a: &IncidentAction| IncidentError::InvalidTransition {
            action: a.name(),
            from: from.as_str(),
        };
        match (&action, self.state) {
            (IncidentAction::Acknowledge { by }, New) => {
                self.state = Acknowledged;
                self.acknowledged = Some(now);
                if self.assignee.is_none() {
                    self.assignee = Some(by.clone());
                }
            }
            (IncidentAction::Start { by }, New | Acknowledged) => {
                self.state = InProgress;
                self.acknowledged.get_or_insert(now);
                self.assignee = Some(by.clone());
            }
            (IncidentAction::Assign { to }, New | Acknowledged | InProgress) => {
                self.assignee = Some(to.clone());
            }
            (IncidentAction::Escalate, New | Acknowledged | InProgress) => {
                self.tier = match self.tier {
                    EscalationTier::L1 => EscalationTier::L2,
                    EscalationTier::L2 => EscalationTier::L3,
                    EscalationTier::L3 => return Err(IncidentError::AlreadyTopTier),
                };
            }
            (IncidentAction::Resolve { by }, New | Acknowledged | InProgress) => {
                self.state = Resolved;
                self.snoozed_until = None;
                self.assignee.get_or_insert_with(|| by.clone());
            }
            (IncidentAction::Close, Resolved) => self.state = Closed,
            (IncidentAction::Reopen, Resolved | Closed) => {
                self.state = New;
                self.acknowledged = None;
                self.reopen_count += 1;
                self.snoozed_until = None;
                self.sla_due = now + sla_for(self.severity);
            }
            (IncidentAction::Snooze { until }, New | Acknowledged | InProgress) => {
                if *until <= now {
                    return Err(IncidentError::SnoozeInPast);
                }
                self.snoozed_until = Some(*until);
            }
            (IncidentAction::Wake, New | Acknowledged | InProgress) => self.snoozed_until = None,
            (IncidentAction::DetachAlert { alert }, New | Acknowledged | InProgress) => {
                self.alerts.retain(|a| a != alert);
            }
            (IncidentAction::MergedInto { into }, New | Acknowledged | InProgress) => {
                if *into == self.id {
                    return Err(IncidentError::MergeIntoItself);
                }
                self.state = Closed;
                self.snoozed_until = None;
            }
            (IncidentAction::MergeAlert { alert }, New | Acknowledged | InProgress) => {
                if !self.alerts.contains(alert) {
                    self.alerts.push(alert.clone());
                }
            }
            (a, from) => return Err(refuse(from, a)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::IncidentState::*;
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
    }

    fn id(s: &str) -> Id {
        Id::parse(s).unwrap()
    }

    fn incident(state: IncidentState) -> Incident {
        let mut i = Incident::open(
            id("acme"),
            id("inc-1"),
            dedup_key(&id("acme"), "site-1", "offline"),
            "Site offline".into(),
            Severity::Major,
            id("al-1"),
            at(0),
        );
        i.state = state;
        i
    }

    fn actions() -> Vec<IncidentAction> {
        vec![
            IncidentAction::Acknowledge { by: "ana".into() },
            IncidentAction::Start { by: "ana".into() },
            IncidentAction::Assign { to: "bo".into() },
            IncidentAction::Escalate,
            IncidentAction::Resolve { by: "ana".into() },
            IncidentAction::Close,
            IncidentAction::Reopen,
            IncidentAction::MergeAlert { alert: id("al-2") },
            IncidentAction::Snooze { until: at(3_600) },
            IncidentAction::Wake,
            IncidentAction::MergedInto { into: id("inc-2") },
            IncidentAction::DetachAlert { alert: id("al-1") },
        ]
    }

    /// The whole table: every action from every state.
    #[test]
    fn every_action_from_every_state() {
        let expect = |from: IncidentState, a: &IncidentAction| -> Option<IncidentState> {
            match (a.name(), from) {
                ("acknowledge", New) => Some(Acknowledged),
                ("start", New | Acknowledged) => Some(InProgress),
                (
                    "assign" | "escalate" | "merge-alert" | "snooze" | "wake" | "detach-alert",
                    New | Acknowledged | InProgress,
                ) => Some(from),
                ("resolve", New | Acknowledged | InProgress) => Some(Resolved),
                ("merged", New | Acknowledged | InProgress) => Some(Closed),
                ("close", Resolved) => Some(Closed),
                ("reopen", Resolved | Closed) => Some(New),
                _ => None,
            }
        };
        for from in IncidentState::ALL {
            for a in actions() {
                let mut i = incident(from);
                let got = i.apply(a.clone(), at(10));
                match expect(from, &a) {
                    Some(to) => {
                        assert!(got.is_ok(), "{from:?} {a:?}: {got:?}");
                        assert_eq!(i.state, to, "{from:?} {a:?}");
                    }
                    None => {
                        assert!(
                            matches!(got, Err(IncidentError::InvalidTransition { .. })),
                            "{from:?} {a:?} should be refused"
                        );
                        assert_eq!(i.state, from);
                    }
                }
            }
        }
    }

    #[test]
    fn escalation_climbs_to_l3_then_refuses() {
        let mut i = incident(New);
        i.apply(IncidentAction::Escalate, at(1)).unwrap();
        assert_eq!(i.tier, EscalationTier::L2);
        i.apply(IncidentAction::Escalate, at(2)).unwrap();
        assert_eq!(i.tier, EscalationTier::L3);
        assert_eq!(
            i.apply(IncidentAction::Escalate, at(3)),
            Err(IncidentError::AlreadyTopTier)
        );
    }

    #[test]
    fn reopen_counts_and_resets_sla() {
        let mut i = incident(New);
        i.apply(IncidentAction::Acknowledge { by: "ana".into() }, at(5))
            .unwrap();
        assert_eq!(i.acknowledged, Some(at(5)));
        assert_eq!(i.assignee.as_ref().map(SafeText::as_str), Some("ana"));
        i.apply(IncidentAction::Resolve { by: "ana".into() }, at(10))
            .unwrap();
        i.apply(IncidentAction::Reopen, at(7_200)).unwrap();
        assert_eq!(i.reopen_count, 1);
        assert_eq!(i.acknowledged, None);
        assert_eq!(i.sla_due, at(7_200) + sla_for(Severity::Major));
    }

    #[test]
    fn merged_alerts_are_kept_once() {
        let mut i = incident(New);
        i.apply(IncidentAction::MergeAlert { alert: id("al-2") }, at(1))
            .unwrap();
        i.apply(IncidentAction::MergeAlert { alert: id("al-2") }, at(2))
            .unwrap();
        assert_eq!(i.alerts, vec![id("al-1"), id("al-2")]);
    }

    #[test]
    fn a_snooze_holds_until_it_ends_and_resolving_or_waking_clears_it() {
        let mut i = incident(Acknowledged);
        assert_eq!(
            i.apply(IncidentAction::Snooze { until: at(5) }, at(5)),
            Err(IncidentError::SnoozeInPast)
        );
        i.apply(IncidentAction::Snooze { until: at(600) }, at(0))
            .unwrap();
        assert!(i.is_snoozed(at(599)));
        assert!(!i.is_snoozed(at(600)));
        i.apply(IncidentAction::Wake, at(1)).unwrap();
        assert!(!i.is_snoozed(at(2)));
        i.apply(IncidentAction::Snooze { until: at(600) }, at(0))
            .unwrap();
        i.apply(IncidentAction::Resolve { by: "ana".into() }, at(3))
            .unwrap();
        assert_eq!(i.snoozed_until, None);
    }

    #[test]
    fn a_detached_alert_leaves_the_incident() {
        let mut i = incident(New);
        i.apply(IncidentAction::MergeAlert { alert: id("al-2") }, at(1))
            .unwrap();
        i.apply(IncidentAction::DetachAlert { alert: id("al-1") }, at(2))
            .unwrap();
        assert_eq!(i.alerts, vec![id("al-2")]);
        assert_eq!(i.state, New);
    }

    #[test]
    fn an_incident_is_not_merged_into_itself() {
        let mut i = incident(New);
        let into = i.id.clone();
        assert_eq!(
            i.apply(IncidentAction::MergedInto { into }, at(1)),
            Err(IncidentError::MergeIntoItself)
        );
        assert_eq!(i.state, New);
    }

    #[test]
    fn sla_breach_only_while_open() {
        let mut i = incident(New);
        assert!(!i.sla_breached(at(3_600)));
        assert!(i.sla_breached(at(4 * 3_600 + 1)));
        i.state = Resolved;
        assert!(!i.sla_breached(at(99_999)));
    }
}
