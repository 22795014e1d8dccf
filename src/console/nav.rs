//! Where the user is and can go: the views and their order, each view's
//! place while another has the screen, the site a site view is on, the
//! least role of each view, and the filter and mark helpers the lists of
//! several screens share. Below every screen.

use crate::domain::Id;
use crate::domain::incident::Incident;

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
    /// Delivery to the SOC: destinations, backlogs, attempts.
    Deliveries,
}

impl View {
    pub const ALL: [View; 10] = [
        View::Fleet,
        View::Incidents,
        View::Alerts,
        View::Board,
        View::Tenants,
        View::Map,
        View::Site,
        View::Trends,
        View::Audit,
        View::Deliveries,
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
            View::Deliveries => "deliveries",
        }
    }

    /// The view's place in `View::ALL` and in the screens table.
    pub fn index(self) -> usize {
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
            View::Deliveries => 9,
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
pub struct Positions([Place; View::ALL.len()]);

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

/// Marks `key`, or unmarks it when marked.
pub fn toggle(marks: &mut Vec<(Id, Id)>, key: (Id, Id)) {
    match marks.iter().position(|m| *m == key) {
        Some(at) => {
            marks.remove(at);
        }
        None => marks.push(key),
    }
}

/// Marks every key of `rows` from the last marked one to `at`.
pub fn mark_range(marks: &mut Vec<(Id, Id)>, rows: Vec<(Id, Id)>, at: usize) {
    let from = marks
        .last()
        .and_then(|m| rows.iter().position(|r| r == m))
        .unwrap_or(at);
    let (lo, hi) = (from.min(at), from.max(at));
    for key in rows.into_iter().skip(lo).take(hi + 1 - lo) {
        if !marks.contains(&key) {
            marks.push(key);
        }
    }
}

/// A site chosen for the site view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRef {
    pub tenant: Id,
    pub id: Id,
    pub name: String,
}

impl View {
    /// The least role that may look at the view.
    pub fn need(self) -> crate::domain::access::Role {
        match self {
            View::Site | View::Trends | View::Audit | View::Deliveries => {
                crate::domain::access::Role::Viewer
            }
            _ => crate::domain::access::Role::Wallboard,
        }
    }

    /// The view by its name.
    pub fn parse(name: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.name() == name)
    }
}
