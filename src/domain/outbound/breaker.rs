//! A destination's circuit breaker. Closed, it lets every delivery
//! through and counts failures in a row; at the threshold it opens for a
//! while (doubling with each trip, up to a ceiling), during which nothing
//! is sent and rows stay pending: nothing is dropped. When the while is
//! over it lets one probe through (half-open): a success closes it, a
//! failure opens it again for longer. The state is plain data, kept in
//! the database, so a restart resumes it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How the breaker trips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures in a row that open it.
    pub threshold: u32,
    /// The first open period; each further trip doubles it.
    pub open_for: Duration,
    /// The longest open period.
    pub max_open_for: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            threshold: 5,
            open_for: Duration::seconds(30),
            max_open_for: Duration::minutes(10),
        }
    }
}

/// Where the breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Breaker {
    Closed {
        failures: u32,
    },
    Open {
        until: DateTime<Utc>,
        /// Trips since it last closed (1 for the first).
        trips: u32,
    },
    /// One probe is out; its outcome decides.
    HalfOpen {
        trips: u32,
    },
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker::Closed { failures: 0 }
    }
}

/// What the breaker lets the sender do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Send as usual.
    Send,
    /// Send one delivery as a probe (the breaker is now half-open).
    Probe,
    /// Send nothing before then.
    Wait(DateTime<Utc>),
}

impl Breaker {
    /// The name shown and exported as a metric label.
    pub fn name(&self) -> &'static str {
        match self {
            Breaker::Closed { .. } => "closed",
            Breaker::Open { .. } => "open",
            Breaker::HalfOpen { .. } => "half_open",
        }
    }

    /// Whether a delivery may go at `now`, and the state once it goes.
    pub fn permit(self, now: DateTime<Utc>) -> (Permit, Breaker) {
        match self {
            Breaker::Closed { .. } => (Permit::Send, self),
            Breaker::Open { until, trips } if now >= until => {
                (Permit::Probe, Breaker::HalfOpen { trips })
            }
            Breaker::Open { until, .. } => (Permit::Wait(until), self),
            // The probe's outcome has not come back: wait for it.
            Breaker::HalfOpen { .. } => (Permit::Wait(now + Duration::seconds(1)), self),
        }
    }

    /// After a delivery that succeeded.
    pub fn succeeded(self) -> Breaker {
        Breaker::Closed { failures: 0 }
    }

    /// After a delivery that failed (and will be retried) at `now`.
    pub fn failed(self, now: DateTime<Utc>, p: &Policy) -> Breaker {
        let open = |trips: u32| {
            let doubled = p
                .open_for
                .checked_mul(1i32 << trips.saturating_sub(1).min(20))
                .unwrap_or(p.max_open_for);
            Breaker::Open {
                until: now + doubled.min(p.max_open_for),
                trips,
            }
        };
        match self {
            Breaker::Closed { failures } if failures + 1 >= p.threshold.max(1) => open(1),
            Breaker::Closed { failures } => Breaker::Closed {
                failures: failures + 1,
            },
            Breaker::HalfOpen { trips } | Breaker::Open { trips, .. } => {
                open(trips.saturating_add(1))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn every_transition() {
        let p = Policy::default();
        let closed = Breaker::default();
        let open1 = Breaker::Open {
            until: at(30),
            trips: 1,
        };
        // (state, event, expected)
        type Step = fn(Breaker) -> Breaker;
        let rows: &[(Breaker, Step, Breaker)] = &[
            (
                closed,
                |b| b.failed(at(0), &Policy::default()),
                Breaker::Closed { failures: 1 },
            ),
            (
                Breaker::Closed { failures: 3 },
                |b| b.failed(at(0), &Policy::default()),
                Breaker::Closed { failures: 4 },
            ),
            (
                Breaker::Closed { failures: 4 },
                |b| b.failed(at(0), &Policy::default()),
                open1,
            ),
            (Breaker::Closed { failures: 4 }, Breaker::succeeded, closed),
            (Breaker::HalfOpen { trips: 1 }, Breaker::succeeded, closed),
            (
                Breaker::HalfOpen { trips: 1 },
                |b| b.failed(at(0), &Policy::default()),
                Breaker::Open {
                    until: at(60),
                    trips: 2,
                },
            ),
            (
                Breaker::HalfOpen { trips: 9 },
                |b| b.failed(at(0), &Policy::default()),
                Breaker::Open {
                    until: at(600),
                    trips: 10,
                },
            ),
            (
                Breaker::HalfOpen { trips: u32::MAX },
                |b| b.failed(at(0), &Policy::default()),
                Breaker::Open {
                    until: at(600),
                    trips: u32::MAX,
                },
            ),
        ];
        for (i, (from, step, want)) in rows.iter().enumerate() {
            assert_eq!(step(*from), *want, "row {i}: {from:?}");
        }
        // Permits.
        assert_eq!(closed.permit(at(0)), (Permit::Send, closed));
        assert_eq!(open1.permit(at(29)), (Permit::Wait(at(30)), open1));
        assert_eq!(
            open1.permit(at(30)),
            (Permit::Probe, Breaker::HalfOpen { trips: 1 })
        );
        let half = Breaker::HalfOpen { trips: 1 };
        assert_eq!(half.permit(at(5)), (Permit::Wait(at(6)), half));
        // A threshold of 0 acts as 1.
        let eager = Policy { threshold: 0, ..p };
        assert!(matches!(closed.failed(at(0), &eager), Breaker::Open { .. }));
        // The state is data that survives a restart.
        let json = serde_json::to_string(&open1).unwrap();
        assert_eq!(
            json,
            r#"{"state":"open","until":"2027-01-15T08:00:30Z","trips":1}"#
        );
        assert_eq!(serde_json::from_str::<Breaker>(&json).unwrap(), open1);
    }
}
