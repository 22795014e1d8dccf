//! Delivery metrics per destination, for `/metrics`: attempts by outcome,
//! time spent per attempt, the backlog and its oldest row's age, and the
//! breaker's state. Labels are a destination's owner and id (both ids:
//! letters, digits, `-` and `_`, nothing to escape).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// One destination's figures.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Figures {
    pub delivered: u64,
    pub retried: u64,
    pub dead: u64,
    pub expired: u64,
    /// Attempts that got an answer or failed, and their total time.
    pub attempts: u64,
    pub attempt_ms_total: u64,
    pub backlog: u64,
    pub oldest_pending_s: u64,
    /// 0 closed, 1 half-open, 2 open.
    pub breaker: u8,
}

/// A metric: name, type, help, and its value in a destination's figures.
type Series = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Figures) -> u64,
);

/// Every destination's figures, keyed `(owner, id)`.
#[derive(Debug, Default)]
pub struct OutboundStats {
    by: Mutex<BTreeMap<(String, String), Figures>>,
}

impl OutboundStats {
    /// Changes one destination's figures.
    pub fn with(&self, owner: &str, id: &str, f: impl FnOnce(&mut Figures)) {
        let mut by = self.by.lock().unwrap_or_else(|p| p.into_inner());
        f(by.entry((owner.to_string(), id.to_string())).or_default());
    }

    /// Forgets destinations that are gone.
    pub fn keep_only(&self, present: &[(String, String)]) {
        let mut by = self.by.lock().unwrap_or_else(|p| p.into_inner());
        by.retain(|k, _| present.contains(k));
    }

    /// A destination's figures (tests, the console).
    pub fn get(&self, owner: &str, id: &str) -> Option<Figures> {
        let by = self.by.lock().unwrap_or_else(|p| p.into_inner());
        by.get(&(owner.to_string(), id.to_string())).cloned()
    }

    /// The Prometheus text of every destination.
    pub fn prometheus(&self) -> String {
        let by = self.by.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        let series: [Series; 9] = [
            (
                "vigie_outbound_delivered_total",
                "counter",
                "Events delivered.",
                |f| f.delivered,
            ),
            (
                "vigie_outbound_retried_total",
                "counter",
                "Attempts that failed and will be retried.",
                |f| f.retried,
            ),
            (
                "vigie_outbound_dead_total",
                "counter",
                "Events refused for good by the receiver.",
                |f| f.dead,
            ),
            (
                "vigie_outbound_expired_total",
                "counter",
                "Events given up after give_up_h.",
                |f| f.expired,
            ),
            (
                "vigie_outbound_attempts_total",
                "counter",
                "Attempts made.",
                |f| f.attempts,
            ),
            (
                "vigie_outbound_attempt_milliseconds_total",
                "counter",
                "Time spent in attempts.",
                |f| f.attempt_ms_total,
            ),
            (
                "vigie_outbound_backlog",
                "gauge",
                "Events queued, not yet delivered.",
                |f| f.backlog,
            ),
            (
                "vigie_outbound_oldest_pending_seconds",
                "gauge",
                "Age of the oldest queued event.",
                |f| f.oldest_pending_s,
            ),
            (
                "vigie_outbound_breaker_state",
                "gauge",
                "The circuit breaker: 0 closed, 1 half-open, 2 open.",
                |f| u64::from(f.breaker),
            ),
        ];
        for (name, kind, help, value) in series {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((owner, id), f) in by.iter() {
                let _ = writeln!(
                    out,
                    "{name}{{tenant=\"{owner}\",destination=\"{id}\"}} {}",
                    value(f)
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_exposed_per_destination() {
        let s = OutboundStats::default();
        s.with("acme", "soc", |f| {
            f.delivered += 2;
            f.breaker = 2;
        });
        s.with("_all", "noc", |f| f.backlog = 7);
        let text = s.prometheus();
        assert!(
            text.contains("vigie_outbound_delivered_total{tenant=\"acme\",destination=\"soc\"} 2"),
            "{text}"
        );
        assert!(text.contains("vigie_outbound_backlog{tenant=\"_all\",destination=\"noc\"} 7"));
        assert!(
            text.contains("vigie_outbound_breaker_state{tenant=\"acme\",destination=\"soc\"} 2")
        );
        assert_eq!(text.matches("# TYPE").count(), 9);
        s.keep_only(&[("acme".into(), "soc".into())]);
        assert!(!s.prometheus().contains("noc"));
    }
}
