//! Alert lifecycle: ok → pending → firing (after N consecutive hits) →
//! resolved (after M consecutive clears), with flap detection and silences.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// State of one alert instance (a rule on one subject).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Condition not met.
    #[default]
    Ok,
    /// Condition met, fewer than `fire_after` times in a row.
    Pending,
    Firing,
    /// Was firing; condition cleared `resolve_after` times in a row.
    Resolved,
}

impl AlertState {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Ok => "ok",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Ok, Self::Pending, Self::Firing, Self::Resolved]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Hysteresis and flap settings of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertPolicy {
    /// Consecutive hits before firing.
    pub fire_after: u16,
    /// Consecutive clears before resolving.
    pub resolve_after: u16,
    /// Firing/resolved changes within `flap_window_s` that mark flapping.
    pub flap_changes: u16,
    pub flap_window_s: u32,
}

impl Default for AlertPolicy {
    fn default() -> Self {
        Self {
            fire_after: 3,
            resolve_after: 3,
            flap_changes: 5,
            flap_window_s: 600,
        }
    }
}

/// What an evaluation changed, for the worker to store and announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertChange {
    Fired,
    Resolved,
    FlappingStarted,
    FlappingStopped,
}

/// The tracker of one alert instance.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertTracker {
    pub state: AlertState,
    pub hits: u16,
    pub clears: u16,
    pub flapping: bool,
    /// Silenced (maintenance or snooze) until this time: state is tracked,
    /// changes are not announced.
    pub silenced_until: Option<DateTime<Utc>>,
    changes: VecDeque<DateTime<Utc>>,
    /// The last [`HISTORY`] evaluations: when, and whether they hit.
    history: VecDeque<(DateTime<Utc>, bool)>,
}

/// Evaluations a tracker remembers, for "why did this fire".
pub const HISTORY: usize = 12;

/// Why an alert is in its state: the rule's condition and hysteresis, the
/// tracker's counters and its last evaluations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Why {
    pub alert: super::Id,
    pub rule: String,
    /// The condition in words (`cpu_pct above 90`).
    pub condition: String,
    pub state: AlertState,
    /// Hits (or clears) in a row, against how many fire (or resolve) it.
    pub hits: u16,
    pub fire_after: u16,
    pub clears: u16,
    pub resolve_after: u16,
    pub flapping: bool,
    /// Fired/resolved changes in the flap window, against the limit.
    pub flap_changes: u16,
    pub flap_limit: u16,
    pub flap_window_s: u32,
    /// Oldest first.
    pub evaluations: Vec<(DateTime<Utc>, bool)>,
}

/// Result of one evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Evaluation {
    pub changes: Vec<AlertChange>,
    /// False while silenced: the changes happened but nobody is told.
    pub notify: bool,
}

impl AlertTracker {
    /// A tracker that is already firing (state restored from the store).
    pub fn firing() -> Self {
        Self {
            state: AlertState::Firing,
            ..Self::default()
        }
    }

    /// What this tracker says of `alert` under `p`.
    pub fn why(&self, alert: &super::Id, rule: &str, condition: String, p: &AlertPolicy) -> Why {
        Why {
            alert: alert.clone(),
            rule: rule.to_string(),
            condition,
            state: self.state,
            hits: self.hits,
            fire_after: p.fire_after.max(1),
            clears: self.clears,
            resolve_after: p.resolve_after.max(1),
            flapping: self.flapping,
            flap_changes: u16::try_from(self.changes.len()).unwrap_or(u16::MAX),
            flap_limit: p.flap_changes,
            flap_window_s: p.flap_window_s,
            evaluations: self.history.iter().copied().collect(),
        }
    }

    /// True while a silence covers `now`.
    pub fn is_silenced(&self, now: DateTime<Utc>) -> bool {
        self.silenced_until.is_some_and(|until| now < until)
    }

    /// Records one evaluation of the rule's condition at `now`.
    pub fn evaluate(&mut self, hit: bool, now: DateTime<Utc>, p: &AlertPolicy) -> Evaluation {
        use AlertState::*;
        let mut changes = Vec::new();
        self.history.push_back((now, hit));
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
        if hit {
            self.clears = 0;
            self.hits = self.hits.saturating_add(1);
        } else {
            self.hits = 0;
            self.clears = self.clears.saturating_add(1);
        }
        let next = match (self.state, hit) {
            (Ok | Resolved | Pending, true) if self.hits >= p.fire_after.max(1) => Firing,
            (Ok | Resolved, true) => Pending,
            (Pending, true) => Pending,
            (Pending, false) => Ok,
            (Firing, false) if self.clears >= p.resolve_after.max(1) => Resolved,
            (s, _) => s,
        };
        if next != self.state {
            match next {
                Firing => changes.push(AlertChange::Fired),
                Resolved => changes.push(AlertChange::Resolved),
                _ => {}
            }
            if matches!(next, Firing | Resolved) {
                self.changes.push_back(now);
            }
            self.state = next;
        }
        let window = Duration::seconds(i64::from(p.flap_window_s));
        while self.changes.front().is_some_and(|t| now - *t > window) {
            self.changes.pop_front();
        }
        let flapping = p.flap_changes > 0 && self.changes.len() >= usize::from(p.flap_changes);
        if flapping != self.flapping {
            self.flapping = flapping;
            changes.push(if flapping {
                AlertChange::FlappingStarted
            } else {
                AlertChange::FlappingStopped
            });
        }
        Evaluation {
            notify: !changes.is_empty() && !self.is_silenced(now),
            changes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AlertState::*;
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
    }

    fn tracker(state: AlertState, hits: u16, clears: u16) -> AlertTracker {
        AlertTracker {
            state,
            hits,
            clears,
            ..AlertTracker::default()
        }
    }

    #[test]
    fn why_tells_the_counters_and_the_last_evaluations() {
        let p = AlertPolicy::default();
        let mut t = AlertTracker::default();
        for (i, hit) in [true, false, true, true, true].into_iter().enumerate() {
            t.evaluate(hit, at(i as i64 * 60), &p);
        }
        let id = crate::domain::Id::parse("cpu-high-rtr-1").unwrap_or_else(|e| panic!("{e}"));
        let w = t.why(&id, "cpu-high", "cpu_pct above 90".into(), &p);
        assert_eq!(w.state, Firing);
        assert_eq!((w.hits, w.fire_after, w.flap_changes), (3, 3, 1));
        assert_eq!(w.evaluations.len(), 5);
        assert_eq!(w.evaluations[1], (at(60), false));
        for i in 0..30 {
            t.evaluate(true, at(1_000 + i), &p);
        }
        assert_eq!(
            t.why(&id, "cpu-high", String::new(), &p).evaluations.len(),
            HISTORY
        );
    }

    #[test]
    fn every_transition() {
        let p = AlertPolicy::default();
        // (from, hits, clears, hit?, expected, change)
        let table: Vec<(AlertState, u16, u16, bool, AlertState, Option<AlertChange>)> = vec![
            (Ok, 0, 5, false, Ok, None),
            (Ok, 0, 5, true, Pending, None),
            (Pending, 1, 0, true, Pending, None),
            (Pending, 2, 0, true, Firing, Some(AlertChange::Fired)),
            (Pending, 2, 0, false, Ok, None),
            (Firing, 9, 0, true, Firing, None),
            (Firing, 0, 1, false, Firing, None),
            (Firing, 0, 2, false, Resolved, Some(AlertChange::Resolved)),
            (Firing, 0, 2, true, Firing, None),
            (Resolved, 0, 9, false, Resolved, None),
            (Resolved, 0, 9, true, Pending, None),
            (Resolved, 2, 0, true, Firing, Some(AlertChange::Fired)),
        ];
        for (from, hits, clears, hit, want, change) in table {
            let mut t = tracker(from, hits, clears);
            let e = t.evaluate(hit, at(0), &p);
            assert_eq!(
                t.state, want,
                "{from:?} hits={hits} clears={clears} hit={hit}"
            );
            assert_eq!(e.changes.first().copied(), change, "{from:?} {hit}");
            assert_eq!(e.notify, change.is_some());
        }
    }

    #[test]
    fn fire_after_one_fires_at_once() {
        let p = AlertPolicy {
            fire_after: 1,
            resolve_after: 1,
            ..AlertPolicy::default()
        };
        let mut t = AlertTracker::default();
        assert_eq!(
            t.evaluate(true, at(0), &p).changes,
            vec![AlertChange::Fired]
        );
        assert_eq!(
            t.evaluate(false, at(1), &p).changes,
            vec![AlertChange::Resolved]
        );
    }

    #[test]
    fn flapping_starts_and_stops() {
        let p = AlertPolicy {
            fire_after: 1,
            resolve_after: 1,
            flap_changes: 4,
            flap_window_s: 600,
        };
        let mut t = AlertTracker::default();
        let mut seen = Vec::new();
        for i in 0..4 {
            seen.extend(t.evaluate(i % 2 == 0, at(i * 10), &p).changes);
        }
        assert!(t.flapping);
        assert_eq!(seen.last(), Some(&AlertChange::FlappingStarted));
        // quiet for longer than the window: flapping ends
        let e = t.evaluate(false, at(2_000), &p);
        assert!(!t.flapping);
        assert_eq!(e.changes, vec![AlertChange::FlappingStopped]);
    }

    #[test]
    fn silence_tracks_but_does_not_notify() {
        let p = AlertPolicy {
            fire_after: 1,
            ..AlertPolicy::default()
        };
        let mut t = AlertTracker {
            silenced_until: Some(at(100)),
            ..AlertTracker::default()
        };
        let e = t.evaluate(true, at(50), &p);
        assert_eq!(t.state, Firing);
        assert!(!e.notify);
        assert!(!t.is_silenced(at(100)));
    }
}
