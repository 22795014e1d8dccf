//! The incident queue and the alert tail as the console keeps them: pure
//! functions over the state, used by drawing and by key handling alike.

use std::collections::VecDeque;

use crate::domain::incident::Incident;
use crate::domain::model::Alert;

/// Alerts kept for the tail.
pub const TAIL: usize = 2_000;

/// Which view has the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum View {
    #[default]
    Fleet,
    Incidents,
    Alerts,
    /// The wallboard's big numbers and top incidents.
    Board,
    /// Per-tenant health, tier and data mode.
    Tenants,
    /// Sites on a map of coastlines and borders.
    Map,
    /// One site: sectors, devices, links, alerts.
    Site,
    /// Signal over time and the most degraded links.
    Trends,
    /// The audit log.
    Audit,
}

impl View {
    pub const ALL: [View; 9] = [
        View::Fleet,
        View::Incidents,
        View::Alerts,
        View::Board,
        View::Tenants,
        View::Map,
        View::Site,
        View::Trends,
        View::Audit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            View::Fleet => "fleet",
            View::Incidents => "incidents",
            View::Alerts => "alerts",
            View::Board => "board",
            View::Tenants => "tenants",
            View::Map => "map",
            View::Site => "site",
            View::Trends => "trends",
            View::Audit => "audit",
        }
    }

    fn index(self) -> usize {
        match self {
            View::Fleet => 0,
            View::Incidents => 1,
            View::Alerts => 2,
            View::Board => 3,
            View::Tenants => 4,
            View::Map => 5,
            View::Site => 6,
            View::Trends => 7,
            View::Audit => 8,
        }
    }
}

/// The wallboard's rotation: the board, the map, the queue, the alert
/// tail.
pub const ROTATION: [View; 4] = [View::Board, View::Map, View::Incidents, View::Alerts];

/// Where a view was: selection, scroll and its filter text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    pub selected: usize,
    pub offset: usize,
    pub filter: String,
}

/// Each view's place, kept while another has the screen.
#[derive(Debug, Clone, Default)]
pub struct Positions([Place; 9]);

impl Positions {
    pub fn take(&mut self, v: View) -> Place {
        std::mem::take(&mut self.0[v.index()])
    }

    pub fn set(&mut self, v: View, at: Place) {
        self.0[v.index()] = at;
    }
}

pub(crate) fn matches(filter: &str, fields: &[&str]) -> bool {
    filter.is_empty()
        || fields
            .iter()
            .any(|f| f.to_lowercase().contains(&filter.to_lowercase()))
}

/// Open incidents, most severe first, then the nearest SLA, then the
/// oldest; only those matching `filter` (title, tenant, assignee).
pub fn incident_queue<'a>(
    all: impl Iterator<Item = &'a Incident>,
    filter: &str,
) -> Vec<&'a Incident> {
    let mut out: Vec<&Incident> = all
        .filter(|i| i.state.is_open())
        .filter(|i| {
            let who = i.assignee.as_ref().map_or("", |a| a.as_str());
            matches(filter, &[i.title.as_str(), i.tenant.as_str(), who])
        })
        .collect();
    out.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(a.sla_due.cmp(&b.sla_due))
            .then(a.opened.cmp(&b.opened))
            .then(a.id.cmp(&b.id))
    });
    out
}

/// The alert tail, newest first; only those matching `filter` (rule,
/// summary, tenant).
pub fn alert_tail<'a>(tail: &'a VecDeque<Alert>, filter: &str) -> Vec<&'a Alert> {
    tail.iter()
        .filter(|a| {
            matches(
                filter,
                &[a.rule.as_str(), a.summary.as_str(), a.tenant.as_str()],
            )
        })
        .collect()
}

/// The audit log as fetched, newest first; only entries matching the
/// filter (actor, action, target, tenant, reason).
pub fn audit_rows(app: &super::app::App) -> Vec<&crate::domain::audit::AuditEntry> {
    let Some(all) = app.screens.audit.log.data.as_ref() else {
        return Vec::new();
    };
    all.iter()
        .filter(|e| {
            let reason = e.reason.as_ref().map_or("", |r| r.as_str());
            matches(
                &app.filter_input,
                &[
                    e.actor.as_str(),
                    e.action.as_str(),
                    e.target.as_str(),
                    e.tenant.as_str(),
                    reason,
                ],
            )
        })
        .collect()
}

/// One tenant's line in the tenants view.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantRow<'a> {
    pub tenant: &'a crate::domain::model::Tenant,
    pub devices: u64,
    pub online: u64,
    pub offline: u64,
    pub incidents: u64,
    pub critical: u64,
}

/// How many tenants match the filter (cheap: no health).
pub fn tenant_count(app: &super::app::App) -> usize {
    app.screens
        .tenants
        .tenants
        .iter()
        .filter(|t| matches(&app.filter_input, &[t.id.as_str(), t.name.as_str()]))
        .count()
}

/// The tenants matching the filter, the least healthy first: critical
/// incidents, then offline devices.
pub fn tenant_rows(app: &super::app::App) -> Vec<TenantRow<'_>> {
    use crate::domain::device::DeviceStatus;
    let mut rows: Vec<TenantRow<'_>> = app
        .screens
        .tenants
        .tenants
        .iter()
        .filter(|t| matches(&app.filter_input, &[t.id.as_str(), t.name.as_str()]))
        .map(|tenant| TenantRow {
            tenant,
            devices: 0,
            online: 0,
            offline: 0,
            incidents: 0,
            critical: 0,
        })
        .collect();
    // One pass over the fleet, each row found by its tenant in a map.
    let at: std::collections::HashMap<&crate::domain::Id, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (&r.tenant.id, i))
        .collect();
    let mut tally = vec![(0u64, 0u64, 0u64, 0u64, 0u64); rows.len()];
    for d in app.fleet.all() {
        if let Some(&i) = at.get(&d.tenant) {
            tally[i].0 += 1;
            match d.status {
                DeviceStatus::Online => tally[i].1 += 1,
                DeviceStatus::Offline | DeviceStatus::Stale => tally[i].2 += 1,
                DeviceStatus::Pending => {}
            }
        }
    }
    for inc in app.incidents.values().filter(|i| i.state.is_open()) {
        if let Some(&i) = at.get(&inc.tenant) {
            tally[i].3 += 1;
            tally[i].4 += u64::from(inc.severity == crate::domain::model::Severity::Critical);
        }
    }
    for (r, t) in rows.iter_mut().zip(tally) {
        (r.devices, r.online, r.offline, r.incidents, r.critical) = t;
    }
    rows.sort_by(|a, b| {
        b.critical
            .cmp(&a.critical)
            .then(b.offline.cmp(&a.offline))
            .then(a.tenant.id.cmp(&b.tenant.id))
    });
    rows
}

/// The alert tail, paused or not.
#[derive(Debug, Clone, Default)]
pub struct Tail {
    pub alerts: VecDeque<Alert>,
    /// While paused, new alerts wait here and the list holds still.
    pub paused: Option<Vec<Alert>>,
}

impl Tail {
    pub fn push(&mut self, a: Alert) {
        match &mut self.paused {
            Some(waiting) => {
                waiting.push(a);
                if waiting.len() > TAIL {
                    waiting.remove(0);
                }
            }
            None => {
                self.alerts.push_front(a);
                self.alerts.truncate(TAIL);
            }
        }
    }

    /// Pauses, or resumes with what arrived meanwhile.
    pub fn toggle(&mut self) {
        match self.paused.take() {
            Some(waiting) => {
                for a in waiting {
                    self.push(a);
                }
            }
            None => self.paused = Some(Vec::new()),
        }
    }

    pub fn waiting(&self) -> usize {
        self.paused.as_ref().map_or(0, Vec::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paused_tail_holds_still_and_resumes_in_order() {
        let mut t = Tail::default();
        let a = |n: &str| Alert {
            tenant: crate::domain::Id::parse("acme").unwrap_or_else(|e| panic!("{e}")),
            id: crate::domain::Id::parse(n).unwrap_or_else(|e| panic!("{e}")),
            rule: "cpu-high".into(),
            device: None,
            site: None,
            severity: crate::domain::model::Severity::Minor,
            state: crate::domain::alert::AlertState::Firing,
            summary: n.into(),
            flapping: false,
            started: chrono::DateTime::UNIX_EPOCH,
            updated: chrono::DateTime::UNIX_EPOCH,
            incident: None,
        };
        t.push(a("a1"));
        t.toggle();
        t.push(a("a2"));
        t.push(a("a3"));
        assert_eq!(t.alerts.len(), 1);
        assert_eq!(t.waiting(), 2);
        t.toggle();
        let ids: Vec<&str> = t.alerts.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids, ["a3", "a2", "a1"]);
    }
}
