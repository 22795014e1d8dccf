//! vigie's own `delivery-failing` alert on a tenant: raised when one of
//! its destinations gives up on events (expired) or its oldest pending
//! event has waited longer than two heartbeat periods (15 minutes without
//! a heartbeat): the pipe is down even if nothing else happens. Cleared
//! once the destination is back within that limit.

use chrono::{DateTime, Utc};

use crate::domain::Id;
use crate::domain::alert::AlertState;
use crate::domain::model::{Alert, Severity};

/// The alert's rule.
pub const RULE: &str = "delivery-failing";

/// The longest wait of a pending event before the destination is
/// failing, for a heartbeat every `heartbeat_s` (0: none).
pub fn limit_s(heartbeat_s: u32) -> u64 {
    match heartbeat_s {
        0 => 900,
        h => 2 * u64::from(h),
    }
}

/// Whether a destination is failing: events given up on this round, or
/// its oldest pending one older than the limit.
pub fn is_failing(oldest_pending_s: u64, expired_now: u64, heartbeat_s: u32) -> bool {
    expired_now > 0 || oldest_pending_s > limit_s(heartbeat_s)
}

/// The alert's id for destination `destination`.
pub fn alert_id(destination: &Id) -> Option<Id> {
    Id::parse(&format!("delivery-failing-{destination}")).ok()
}

/// The alert of `tenant`'s `destination` in `state` (firing since
/// `started`), at `now`, saying how far behind it is.
pub fn alert(
    tenant: &Id,
    destination: &Id,
    state: AlertState,
    started: DateTime<Utc>,
    now: DateTime<Utc>,
    (backlog, oldest_s): (u64, u64),
) -> Option<Alert> {
    let summary = match state {
        AlertState::Firing => format!(
            "delivery to {destination} failing: {backlog} events pending, the oldest for {} min",
            oldest_s / 60
        ),
        _ => format!("delivery to {destination} caught up"),
    };
    Some(Alert {
        tenant: tenant.clone(),
        id: alert_id(destination)?,
        rule: RULE.into(),
        device: None,
        site: None,
        severity: Severity::Major,
        state,
        summary: summary.as_str().into(),
        flapping: false,
        started,
        updated: now,
        incident: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_after_two_heartbeats_or_on_expiry() {
        assert!(!is_failing(600, 0, 300));
        assert!(is_failing(601, 0, 300));
        assert!(is_failing(0, 1, 300));
        assert!(!is_failing(900, 0, 0));
        assert!(is_failing(901, 0, 0));
        let t = chrono::DateTime::from_timestamp(0, 0).unwrap();
        let acme = Id::parse("acme").unwrap();
        let a = alert(
            &acme,
            &Id::parse("soc").unwrap(),
            AlertState::Firing,
            t,
            t,
            (12, 1_260),
        )
        .unwrap();
        assert_eq!(a.id.as_str(), "delivery-failing-soc");
        assert_eq!(
            a.summary.as_str(),
            "delivery to soc failing: 12 events pending, the oldest for 21 min"
        );
        assert!(a.device.is_none());
    }
}
