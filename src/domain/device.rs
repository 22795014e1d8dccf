//! Device status from heartbeats: pending → online → stale → offline.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Health of a device as its heartbeats tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    /// Known to the inventory, never heard from.
    Pending,
    Online,
    /// No heartbeat for longer than the stale threshold.
    Stale,
    /// No heartbeat for longer than the offline threshold.
    Offline,
}

impl DeviceStatus {
    /// Every status, in display order.
    pub const ALL: [DeviceStatus; 4] = [
        DeviceStatus::Online,
        DeviceStatus::Stale,
        DeviceStatus::Offline,
        DeviceStatus::Pending,
    ];

    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Online => "online",
            DeviceStatus::Stale => "stale",
            DeviceStatus::Offline => "offline",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// When silence makes a device stale, then offline. Per tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusThresholds {
    pub stale_after_s: u32,
    pub offline_after_s: u32,
}

impl Default for StatusThresholds {
    fn default() -> Self {
        Self {
            stale_after_s: 5 * 60,
            offline_after_s: 15 * 60,
        }
    }
}

/// What happened to a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusInput {
    /// A heartbeat stamped `at` arrived at `now`.
    Heartbeat {
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    /// The clock reached `now` (the periodic sweep).
    Tick { now: DateTime<Utc> },
}

/// The status machine of one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusMachine {
    pub status: DeviceStatus,
    pub last_seen: Option<DateTime<Utc>>,
}

impl Default for StatusMachine {
    fn default() -> Self {
        Self {
            status: DeviceStatus::Pending,
            last_seen: None,
        }
    }
}

impl StatusMachine {
    /// Status that silence since `last_seen` gives at `now`.
    pub fn status_for(
        last_seen: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        t: StatusThresholds,
    ) -> DeviceStatus {
        let Some(seen) = last_seen else {
            return DeviceStatus::Pending;
        };
        let silent = now - seen;
        if silent >= Duration::seconds(i64::from(t.offline_after_s)) {
            DeviceStatus::Offline
        } else if silent >= Duration::seconds(i64::from(t.stale_after_s)) {
            DeviceStatus::Stale
        } else {
            DeviceStatus::Online
        }
    }

    /// Applies `input`; returns the new status when it changed.
    ///
    /// A heartbeat older than the last one seen is ignored (messages can be
    /// redelivered out of order), so the machine is last-write-wins on the
    /// heartbeat's own timestamp; a heartbeat makes a device online only if
    /// it is recent enough at `now`.
    pub fn apply(&mut self, input: StatusInput, t: StatusThresholds) -> Option<DeviceStatus> {
        let next = match input {
            StatusInput::Heartbeat { at, now } => {
                if self.last_seen.is_some_and(|seen| at <= seen) {
                    return None;
                }
                self.last_seen = Some(at);
                // A heartbeat that arrives late (a backlog after an outage)
                // says when the device was alive, not that it is now.
                Self::status_for(Some(at), now.max(at), t)
            }
            StatusInput::Tick { now } => Self::status_for(self.last_seen, now, t),
        };
        if next == self.status {
            None
        } else {
            self.status = next;
            Some(next)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DeviceStatus::*;
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn every_transition() {
        let t = StatusThresholds::default();
        let s = |secs: i64| t0() + Duration::seconds(secs);
        let hb = |secs| StatusInput::Heartbeat {
            at: s(secs),
            now: s(secs),
        };
        let late = |secs, now| StatusInput::Heartbeat {
            at: s(secs),
            now: s(now),
        };
        let tick = |secs| StatusInput::Tick { now: s(secs) };
        // (from status, last seen, input, expected status, changed?)
        let table: Vec<(DeviceStatus, Option<i64>, StatusInput, DeviceStatus, bool)> = vec![
            (Pending, None, tick(10_000), Pending, false),
            (Pending, None, hb(0), Online, true),
            (Online, Some(0), tick(299), Online, false),
            (Online, Some(0), tick(300), Stale, true),
            (Online, Some(0), tick(900), Offline, true),
            (Online, Some(0), hb(60), Online, false),
            (Stale, Some(0), tick(600), Stale, false),
            (Stale, Some(0), tick(900), Offline, true),
            (Stale, Some(0), hb(400), Online, true),
            (Offline, Some(0), tick(5_000), Offline, false),
            (Offline, Some(0), hb(5_000), Online, true),
            // an old heartbeat redelivered late changes nothing
            (Offline, Some(0), hb(-10), Offline, false),
            (Stale, Some(100), hb(100), Stale, false),
            // a heartbeat delivered late counts for when it was sent
            (Pending, None, late(0, 400), Stale, true),
            (Pending, None, late(0, 2_000), Offline, true),
            (Offline, Some(0), late(100, 2_000), Offline, false),
            (Offline, Some(0), late(1_950, 2_000), Online, true),
        ];
        for (from, seen, input, want, changed) in table {
            let mut m = StatusMachine {
                status: from,
                last_seen: seen.map(s),
            };
            let got = m.apply(input, t);
            assert_eq!(m.status, want, "{from:?} {seen:?} {input:?}");
            assert_eq!(got.is_some(), changed, "{from:?} {seen:?} {input:?}");
        }
    }

    #[test]
    fn thresholds_are_per_tenant() {
        let t = StatusThresholds {
            stale_after_s: 30,
            offline_after_s: 60,
        };
        let seen = Some(t0());
        assert_eq!(
            StatusMachine::status_for(seen, t0() + Duration::seconds(29), t),
            Online
        );
        assert_eq!(
            StatusMachine::status_for(seen, t0() + Duration::seconds(30), t),
            Stale
        );
        assert_eq!(
            StatusMachine::status_for(seen, t0() + Duration::seconds(60), t),
            Offline
        );
    }

    #[test]
    fn names_round_trip() {
        for s in DeviceStatus::ALL {
            assert_eq!(DeviceStatus::parse(s.as_str()), Some(s));
        }
    }
}
