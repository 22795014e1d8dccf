//! Tenants: health from the live fleet and incidents, with each tenant's
//! tier, data mode and retention as the worker keeps them.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use serde_json::Value;

use crate::api::ApiError;
use crate::console::nav::matches;
use crate::console::state::Shared;
use crate::console::widgets::list::{self, Column};
use crate::console::widgets::thousands;
use crate::domain::model::Tenant;
use crate::settings::theme::{Meaning, Theme};

/// The tenants in scope, as the worker last said.
#[derive(Debug, Default)]
pub struct State {
    pub tenants: Vec<Tenant>,
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
pub fn count(sh: &Shared, me: &State) -> usize {
    me.tenants
        .iter()
        .filter(|t| matches(&sh.filter_input, &[t.id.as_str(), t.name.as_str()]))
        .count()
}

/// The tenants matching the filter, the least healthy first: critical
/// incidents, then offline devices.
pub fn rows<'a>(sh: &Shared, me: &'a State) -> Vec<TenantRow<'a>> {
    use crate::domain::device::DeviceStatus;
    let mut rows: Vec<TenantRow<'_>> = me
        .tenants
        .iter()
        .filter(|t| matches(&sh.filter_input, &[t.id.as_str(), t.name.as_str()]))
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
    for d in sh.fleet.all() {
        if let Some(&i) = at.get(&d.tenant) {
            tally[i].0 += 1;
            match d.status {
                DeviceStatus::Online => tally[i].1 += 1,
                DeviceStatus::Offline | DeviceStatus::Stale => tally[i].2 += 1,
                DeviceStatus::Pending => {}
            }
        }
    }
    for inc in sh.incidents.values().filter(|i| i.state.is_open()) {
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

/// The worker's answer: the tenants in scope.
pub fn on_answer(sh: &mut Shared, me: &mut State, answer: Result<Value, ApiError>) {
    match answer {
        Ok(v) => {
            if let Some(tenants) = sh.decoded("tenants", v) {
                me.tenants = tenants;
            }
        }
        Err(e) => sh.notify(format!("tenants not read: {}", e.message), true, 6),
    }
}

/// The footer's words on the rows.
pub fn info(n: usize) -> String {
    format!("{n} tenants")
}

const COLUMNS: [Column; 9] = [
    Column {
        title: "TENANT",
        width: 14,
        drop: 0,
    },
    Column {
        title: "NAME",
        width: 0,
        drop: 0,
    },
    Column {
        title: "HEALTH",
        width: 7,
        drop: 0,
    },
    Column {
        title: "DEVICES",
        width: 8,
        drop: 4,
    },
    Column {
        title: "OFFLINE",
        width: 8,
        drop: 0,
    },
    Column {
        title: "INCIDENTS",
        width: 9,
        drop: 0,
    },
    Column {
        title: "TIER",
        width: 12,
        drop: 3,
    },
    Column {
        title: "DATA",
        width: 12,
        drop: 2,
    },
    Column {
        title: "KEEP",
        width: 5,
        drop: 5,
    },
];

fn cells(r: &TenantRow<'_>, t: &Theme) -> Vec<(String, Style)> {
    let muted = t.style(Meaning::Muted);
    let health = match (r.online * 100).checked_div(r.devices) {
        None => ("—".to_string(), muted),
        Some(pct) => {
            let m = match pct {
                95.. => Meaning::Ok,
                80..95 => Meaning::Warning,
                _ => Meaning::Critical,
            };
            (format!("{pct:>3}%"), t.style(m))
        }
    };
    let incidents = match (r.incidents, r.critical) {
        (0, _) => ("0".to_string(), muted),
        (n, 0) => (n.to_string(), t.style(Meaning::Major)),
        (n, c) => (format!("{n} ({c} crit)"), t.style(Meaning::Critical)),
    };
    vec![
        (r.tenant.id.to_string(), Style::default()),
        (r.tenant.name.to_string(), Style::default()),
        health,
        (thousands(r.devices), muted),
        (
            thousands(r.offline),
            if r.offline > 0 {
                t.style(Meaning::Offline)
            } else {
                muted
            },
        ),
        incidents,
        (crate::domain::enum_name(&r.tenant.tier), muted),
        (
            crate::domain::enum_name(&r.tenant.data_mode).replace('_', " "),
            muted,
        ),
        (format!("{}d", r.tenant.retention_days), muted),
    ]
}

pub fn draw(sh: &Shared, me: &State, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let rows = rows(sh, me);
    let lines = rows.iter().skip(sh.offset).map(|r| cells(r, t));
    let why = (
        "No tenants yet (a wallboard account does not read them).",
        "No tenant matches the filter. esc clears it.",
    );
    list::view(sh, f, area, t, &COLUMNS, rows.len(), why, lines);
}
