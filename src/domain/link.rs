//! Wireless link state: discovered → active → degraded → down → stale.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// State of an AP ↔ CPE link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Known, no report yet.
    Discovered,
    Active,
    /// Signal under the degradation threshold.
    Degraded,
    /// Too many reports missed in a row.
    Down,
    /// Down for longer than the stale period.
    Stale,
}

impl LinkState {
    /// Every state.
    pub const ALL: [LinkState; 5] = [
        LinkState::Discovered,
        LinkState::Active,
        LinkState::Degraded,
        LinkState::Down,
        LinkState::Stale,
    ];

    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Discovered => "discovered",
            LinkState::Active => "active",
            LinkState::Degraded => "degraded",
            LinkState::Down => "down",
            LinkState::Stale => "stale",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Link thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinkPolicy {
    /// Under this signal a link is degraded.
    pub degraded_below_dbm: f32,
    /// A degraded link recovers only at `degraded_below_dbm + recover_margin_db`,
    /// so a signal hovering at the threshold does not flap.
    pub recover_margin_db: f32,
    /// Missed reports in a row that make a link down.
    pub down_after_missed: u8,
    /// How long a link stays down before it is stale.
    pub stale_after_s: u32,
}

impl Default for LinkPolicy {
    fn default() -> Self {
        Self {
            degraded_below_dbm: -80.0,
            recover_margin_db: 3.0,
            down_after_missed: 3,
            stale_after_s: 24 * 3600,
        }
    }
}

/// What happened to a link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LinkInput {
    /// A signal report arrived.
    Report { at: DateTime<Utc>, rssi_dbm: f32 },
    /// A report was due and did not come.
    Missed { at: DateTime<Utc> },
    /// The clock reached `now`.
    Tick { now: DateTime<Utc> },
}

/// The state machine of one link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkMachine {
    pub state: LinkState,
    pub missed: u8,
    pub since: DateTime<Utc>,
}

impl LinkMachine {
    /// A link discovered at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            state: LinkState::Discovered,
            missed: 0,
            since: at,
        }
    }

    /// Applies `input`; returns the new state when it changed.
    pub fn apply(&mut self, input: LinkInput, p: &LinkPolicy) -> Option<LinkState> {
        use LinkState::*;
        let (next, at) = match input {
            LinkInput::Report { at, rssi_dbm } => {
                self.missed = 0;
                let weak = rssi_dbm < p.degraded_below_dbm;
                let recovered = rssi_dbm >= p.degraded_below_dbm + p.recover_margin_db;
                let next = match self.state {
                    Degraded if !recovered => Degraded,
                    _ if weak => Degraded,
                    _ => Active,
                };
                (next, at)
            }
            LinkInput::Missed { at } => {
                self.missed = self.missed.saturating_add(1);
                let next = match self.state {
                    Down | Stale => self.state,
                    _ if self.missed >= p.down_after_missed => Down,
                    s => s,
                };
                (next, at)
            }
            LinkInput::Tick { now } => {
                let next = if self.state == Down
                    && now - self.since >= Duration::seconds(i64::from(p.stale_after_s))
                {
                    Stale
                } else {
                    self.state
                };
                (next, now)
            }
        };
        if next == self.state {
            None
        } else {
            self.state = next;
            self.since = at;
            Some(next)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LinkState::*;
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
    }

    fn report(dbm: f32) -> LinkInput {
        LinkInput::Report {
            at: at(10),
            rssi_dbm: dbm,
        }
    }

    #[test]
    fn every_transition() {
        let p = LinkPolicy::default();
        let missed = LinkInput::Missed { at: at(10) };
        let day = i64::from(p.stale_after_s);
        // (from, missed so far, input, expected, changed?)
        let table: Vec<(LinkState, u8, LinkInput, LinkState, bool)> = vec![
            (Discovered, 0, report(-60.0), Active, true),
            (Discovered, 0, report(-85.0), Degraded, true),
            (Discovered, 2, missed, Down, true),
            (Discovered, 0, missed, Discovered, false),
            (Active, 0, report(-70.0), Active, false),
            (Active, 0, report(-80.5), Degraded, true),
            (Active, 0, report(-80.0), Active, false),
            (Active, 1, missed, Active, false),
            (Active, 2, missed, Down, true),
            (Degraded, 0, report(-79.0), Degraded, false),
            (Degraded, 0, report(-77.0), Active, true),
            (Degraded, 0, report(-90.0), Degraded, false),
            (Degraded, 2, missed, Down, true),
            (Down, 5, missed, Down, false),
            (Down, 5, report(-60.0), Active, true),
            (Down, 5, report(-90.0), Degraded, true),
            (Down, 3, LinkInput::Tick { now: at(day - 1) }, Down, false),
            (Down, 3, LinkInput::Tick { now: at(day) }, Stale, true),
            (Stale, 9, missed, Stale, false),
            (Stale, 9, LinkInput::Tick { now: at(9 * day) }, Stale, false),
            (Stale, 9, report(-60.0), Active, true),
            (
                Active,
                0,
                LinkInput::Tick { now: at(9 * day) },
                Active,
                false,
            ),
        ];
        for (from, m, input, want, changed) in table {
            let mut l = LinkMachine {
                state: from,
                missed: m,
                since: at(0),
            };
            let got = l.apply(input, &p);
            assert_eq!(l.state, want, "{from:?} missed={m} {input:?}");
            assert_eq!(got.is_some(), changed, "{from:?} missed={m} {input:?}");
        }
    }

    #[test]
    fn a_report_clears_missed_count() {
        let p = LinkPolicy::default();
        let mut l = LinkMachine::new(at(0));
        l.apply(LinkInput::Missed { at: at(1) }, &p);
        l.apply(LinkInput::Missed { at: at(2) }, &p);
        l.apply(report(-60.0), &p);
        l.apply(LinkInput::Missed { at: at(3) }, &p);
        assert_eq!(l.state, Active);
        assert_eq!(l.missed, 1);
    }
}
