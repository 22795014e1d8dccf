//! Config push lifecycle: draft → sent → applied (awaiting confirm, with a
//! deadline) → confirmed | reverted | failed | rejected.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Id, SafeText};

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
    /// The agent restarted inside the window and restored the backup.
    Restart,
}

/// Where a push is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum PushState {
    Draft,
    Sent,
    Applied {
        deadline: DateTime<Utc>,
    },
    Confirmed,
    Reverted {
        /// Named apart from the push's own `reason` (the analyst's).
        #[serde(rename = "revert_reason")]
        reason: RevertReason,
    },
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
    /// The device reports that it restored the backup, and why.
    Reverted { reason: RevertReason },
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
        PushEvent::Reverted { .. } => "reverted",
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
            (Applied { .. }, PushEvent::Reverted { reason }) => Reverted { reason },
            // The device restored its backup although the push was
            // recorded otherwise (a forged or lost report): what the
            // device runs is what it says. The worker raises the
            // push-unconfirmed alert for this (see `is_unexpected_revert`).
            (Sent | Confirmed | Failed | Rejected, PushEvent::Reverted { reason }) => {
                Reverted { reason }
            }
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

/// One push to one device, as the worker records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Push {
    pub tenant: crate::domain::Id,
    pub id: crate::domain::Id,
    pub device: crate::domain::Id,
    /// The bulk rollout this push is part of.
    pub rollout: Option<crate::domain::Id>,
    /// Its wave in the rollout (0: the canary).
    pub wave: u32,
    #[serde(flatten)]
    pub state: PushState,
    /// Bumped by every change: updates compare it (no lost update between
    /// workers or api calls).
    pub version: u64,
    /// The apply order's sequence.
    pub seq: u64,
    /// The configuration pushed, exactly as the device gets it.
    pub body: String,
    /// The configuration it was edited from (for the diff), if known.
    pub previous: Option<String>,
    /// Why, as the analyst wrote it.
    pub reason: crate::domain::SafeText,
    pub actor: crate::domain::SafeText,
    /// Seconds the device waits for a confirm before reverting.
    pub window_s: u32,
    pub created: DateTime<Utc>,
    /// The apply order is refused by the agent from then on.
    pub order_expires: DateTime<Utc>,
    pub confirm_sent: Option<DateTime<Utc>>,
    pub revert_sent: Option<DateTime<Utc>>,
    /// The sequence of the confirm order sent, if any: a `confirmed`
    /// report counts only if it answers this order.
    #[serde(default)]
    pub confirm_seq: Option<u64>,
    /// The sequence of the revert order sent, if any.
    #[serde(default)]
    pub revert_seq: Option<u64>,
    /// When the device last reported on this push.
    pub reported: Option<DateTime<Utc>>,
    /// The last outcome's detail: the driver's error, a rejection reason.
    pub detail: Option<crate::domain::SafeText>,
    pub updated: DateTime<Utc>,
}

impl PushState {
    /// True when a device's `reverted` report contradicts what the worker
    /// recorded: anything but an applied push waiting for its window.
    pub fn is_unexpected_revert(&self) -> bool {
        !matches!(self, PushState::Applied { .. } | PushState::Reverted { .. })
    }
}

impl Push {
    /// Seconds left before the device reverts by itself, while applied.
    pub fn remaining_s(&self, now: DateTime<Utc>) -> Option<i64> {
        match self.state {
            PushState::Applied { deadline } => Some((deadline - now).num_seconds().max(0)),
            _ => None,
        }
    }
}

/// Where a bulk rollout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutState {
    /// A wave is out; the next waits until every push of it is confirmed.
    Running,
    /// A push of the current wave failed, was rejected or reverted: no
    /// further wave is sent.
    Stopped,
    /// Every wave was confirmed.
    Done,
}

/// A push of one configuration to a group of devices: one canary first,
/// then waves of `wave_size`, stopping at the first failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    pub tenant: crate::domain::Id,
    pub id: crate::domain::Id,
    pub state: RolloutState,
    /// Every device, in rollout order; the first is the canary.
    pub devices: Vec<crate::domain::Id>,
    pub wave_size: u32,
    /// Devices before this index have had their push.
    pub next_index: u32,
    /// The current wave (0: the canary).
    pub wave: u32,
    pub body: String,
    pub reason: crate::domain::SafeText,
    pub actor: crate::domain::SafeText,
    pub window_s: u32,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub detail: Option<crate::domain::SafeText>,
    pub version: u64,
}

/// What a rollout does next, given its current wave's push states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutStep {
    /// Some push of the wave is still open.
    Wait,
    /// Send the next wave to these devices.
    Send(Vec<crate::domain::Id>),
    /// Stop: the named device's push ended badly.
    Stop {
        device: crate::domain::Id,
        outcome: &'static str,
    },
    /// Every wave is confirmed.
    Done,
}

impl Rollout {
    /// The devices of wave `wave`: the canary alone, then `wave_size` at a
    /// time.
    pub fn wave_devices(&self, wave: u32) -> &[crate::domain::Id] {
        let size = self.wave_size.max(1) as usize;
        let n = self.devices.len();
        let (start, end) = if wave == 0 {
            (0, 1)
        } else {
            let start = 1 + (wave as usize - 1) * size;
            (start, start + size)
        };
        &self.devices[start.min(n)..end.min(n)]
    }

    /// Decides the next step from the state of each push of the current
    /// wave (`device`, state). Pure: the caller records what it did.
    pub fn step(&self, wave: &[(crate::domain::Id, PushState)]) -> RolloutStep {
        if self.state != RolloutState::Running {
            return RolloutStep::Wait;
        }
        for (device, state) in wave {
            if matches!(
                state,
                PushState::Failed | PushState::Rejected | PushState::Reverted { .. }
            ) {
                return RolloutStep::Stop {
                    device: device.clone(),
                    outcome: state.name(),
                };
            }
        }
        let expected = self.wave_devices(self.wave).len();
        if wave.len() < expected || wave.iter().any(|(_, s)| *s != PushState::Confirmed) {
            return RolloutStep::Wait;
        }
        let next = self.wave_devices(self.wave + 1);
        if next.is_empty() {
            RolloutStep::Done
        } else {
            RolloutStep::Send(next.to_vec())
        }
    }
}

/// Which pushes to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Id>,
    /// Only pushes still in progress (draft, sent, applied).
    #[serde(default)]
    pub open_only: bool,
    #[serde(default = "default_push_limit")]
    pub limit: u32,
}

fn default_push_limit() -> u32 {
    100
}

/// A device's configuration as it last reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredConfig {
    pub ts: DateTime<Utc>,
    pub format: SafeText,
    pub body: String,
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
            PushEvent::Reverted {
                reason: RevertReason::Restart,
            },
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
                    (Applied { .. }, PushEvent::Reverted { reason }) => Some(Reverted { reason }),
                    (Sent | Confirmed | Failed | Rejected, PushEvent::Reverted { reason }) => {
                        Some(Reverted { reason })
                    }
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

    fn rollout(n: usize, wave_size: u32) -> Rollout {
        let id = |s: String| crate::domain::Id::parse(&s).unwrap_or_else(|e| panic!("{e}"));
        Rollout {
            tenant: id("acme".into()),
            id: id("r-1".into()),
            state: RolloutState::Running,
            devices: (0..n).map(|i| id(format!("d{i}"))).collect(),
            wave_size,
            next_index: 1,
            wave: 0,
            body: String::new(),
            reason: "test".into(),
            actor: "ana".into(),
            window_s: 60,
            created: at(0),
            updated: at(0),
            detail: None,
            version: 1,
        }
    }

    #[test]
    fn rollout_waves_are_canary_then_fixed_size() {
        let r = rollout(8, 3);
        let names = |w| {
            r.wave_devices(w)
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(0), ["d0"]);
        assert_eq!(names(1), ["d1", "d2", "d3"]);
        assert_eq!(names(2), ["d4", "d5", "d6"]);
        assert_eq!(names(3), ["d7"]);
        assert!(names(4).is_empty());
    }

    #[test]
    fn rollout_advances_on_confirmed_and_stops_on_failure() {
        let mut r = rollout(4, 2);
        let d = |i: usize| r.devices[i].clone();
        let applied = Applied { deadline: at(60) };
        assert_eq!(r.step(&[(d(0), Sent)]), RolloutStep::Wait);
        assert_eq!(r.step(&[(d(0), applied)]), RolloutStep::Wait);
        assert_eq!(
            r.step(&[(d(0), Confirmed)]),
            RolloutStep::Send(vec![d(1), d(2)])
        );
        for bad in [
            Failed,
            Rejected,
            Reverted {
                reason: RevertReason::Timeout,
            },
        ] {
            assert_eq!(
                r.step(&[(d(0), bad)]),
                RolloutStep::Stop {
                    device: d(0),
                    outcome: bad.name()
                }
            );
        }
        r.wave = 1;
        // One of the wave still open, one confirmed: wait.
        assert_eq!(
            r.step(&[(d(1), Confirmed), (d(2), applied)]),
            RolloutStep::Wait
        );
        assert_eq!(r.step(&[(d(1), Confirmed)]), RolloutStep::Wait);
        assert_eq!(
            r.step(&[(d(1), Confirmed), (d(2), Confirmed)]),
            RolloutStep::Send(vec![d(3)])
        );
        r.wave = 2;
        assert_eq!(r.step(&[(d(3), Confirmed)]), RolloutStep::Done);
        r.state = RolloutState::Stopped;
        assert_eq!(r.step(&[(d(3), Confirmed)]), RolloutStep::Wait);
    }
}
