//! Config push lifecycle: draft → sent → applied (awaiting confirm, with a
//! deadline) → confirmed | reverted | failed | rejected.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a push was reverted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevertReason {
    /// Nobody confirmed before the deadline.
    Timeout,
    /// An analyst asked for it.
    Manual,
    /// The device stopped answering inside the window.
    Unreachable,
}

/// Where a push is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum PushState {
    Draft,
    Sent,
    Applied { deadline: DateTime<Utc> },
    Confirmed,
    Reverted { reason: RevertReason },
    Failed,
    Rejected,
}

impl PushState {
    /// The state's name.
    pub fn name(&self) -> &'static str {
        match self {
            PushState::Draft => "draft",
            PushState::Sent => "sent",
            PushState::Applied { .. } => "applied",
            PushState::Confirmed => "confirmed",
            PushState::Reverted { .. } => "reverted",
            PushState::Failed => "failed",
            PushState::Rejected => "rejected",
        }
    }

    /// True when nothing more can happen.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            PushState::Confirmed
                | PushState::Reverted { .. }
                | PushState::Failed
                | PushState::Rejected
        )
    }
}

/// What happened to a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushEvent {
    /// The worker accepted and sent the order.
    Send,
    /// The worker (role, validation) or the agent (signature, sequence,
    /// expiry) refused it.
    Reject,
    /// The agent applied it and armed its revert timer.
    Applied { deadline: DateTime<Utc> },
    /// The agent could not apply it.
    ApplyFailed,
    /// An analyst confirmed it.
    Confirm,
    /// An analyst asked to revert now.
    RevertNow,
    /// The device went unreachable inside the window.
    Unreachable,
    /// The clock reached `now`.
    Tick { now: DateTime<Utc> },
}

/// Why an event does not apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("push is {from}: {event} does not apply")]
pub struct PushError {
    pub from: &'static str,
    pub event: &'static str,
}

fn event_name(e: &PushEvent) -> &'static str {
    match e {
        PushEvent::Send => "send",
        PushEvent::Reject => "reject",
        PushEvent::Applied { .. } => "applied",
        PushEvent::ApplyFailed => "apply-failed",
        PushEvent::Confirm => "confirm",
        PushEvent::RevertNow => "revert",
        PushEvent::Unreachable => "unreachable",
        PushEvent::Tick { .. } => "tick",
    }
}

impl PushState {
    /// The next state, or why `event` does not apply. A tick before the
    /// deadline, or in a state without one, changes nothing.
    pub fn next(self, event: PushEvent) -> Result<PushState, PushError> {
        use PushState::*;
        let next = match (self, event) {
            (Draft, PushEvent::Send) => Sent,
            (Draft | Sent, PushEvent::Reject) => Rejected,
            (Sent, PushEvent::Applied { deadline }) => Applied { deadline },
            (Sent, PushEvent::ApplyFailed) => Failed,
            (Applied { .. }, PushEvent::Confirm) => Confirmed,
            (Applied { .. }, PushEvent::RevertNow) => Reverted {
                reason: RevertReason::Manual,
            },
            (Applied { .. }, PushEvent::Unreachable) => Reverted {
                reason: RevertReason::Unreachable,
            },
            (Applied { deadline }, PushEvent::Tick { now }) if now >= deadline => Reverted {
                reason: RevertReason::Timeout,
            },
            (s, PushEvent::Tick { .. }) => s,
            (s, e) => {
                return Err(PushError {
                    from: s.name(),
                    event: event_name(&e),
                });
            }
        };
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::PushState::*;
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
    }

    #[test]
    fn every_event_from_every_state() {
        let deadline = at(300);
        let states = [
            Draft,
            Sent,
            Applied { deadline },
            Confirmed,
            Reverted {
                reason: RevertReason::Timeout,
            },
            Failed,
            Rejected,
        ];
        let events = [
            PushEvent::Send,
            PushEvent::Reject,
            PushEvent::Applied { deadline },
            PushEvent::ApplyFailed,
            PushEvent::Confirm,
            PushEvent::RevertNow,
            PushEvent::Unreachable,
            PushEvent::Tick { now: at(299) },
            PushEvent::Tick { now: at(300) },
        ];
        for s in states {
            for e in events {
                let want: Option<PushState> = match (s, e) {
                    (Draft, PushEvent::Send) => Some(Sent),
                    (Draft | Sent, PushEvent::Reject) => Some(Rejected),
                    (Sent, PushEvent::Applied { deadline }) => Some(Applied { deadline }),
                    (Sent, PushEvent::ApplyFailed) => Some(Failed),
                    (Applied { .. }, PushEvent::Confirm) => Some(Confirmed),
                    (Applied { .. }, PushEvent::RevertNow) => Some(Reverted {
                        reason: RevertReason::Manual,
                    }),
                    (Applied { .. }, PushEvent::Unreachable) => Some(Reverted {
                        reason: RevertReason::Unreachable,
                    }),
                    (Applied { .. }, PushEvent::Tick { now }) if now == at(300) => Some(Reverted {
                        reason: RevertReason::Timeout,
                    }),
                    (s, PushEvent::Tick { .. }) => Some(s),
                    _ => None,
                };
                let got = s.next(e);
                assert_eq!(got.ok(), want, "{s:?} + {e:?}");
            }
        }
    }

    #[test]
    fn final_states() {
        assert!(!Draft.is_final());
        assert!(!Applied { deadline: at(0) }.is_final());
        assert!(Confirmed.is_final());
        assert!(Rejected.is_final());
        let e = Confirmed.next(PushEvent::Confirm).unwrap_err();
        assert_eq!(e.to_string(), "push is confirmed: confirm does not apply");
    }
}
