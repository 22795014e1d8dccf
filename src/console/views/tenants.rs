//! Tenants: health from the live fleet and incidents, with each tenant's
//! tier, data mode and retention as the worker keeps them.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::list::{self, Column};
use super::{Ui, thousands};
use crate::console::app::App;
use crate::console::lists::{TenantRow, tenant_rows};
use crate::settings::theme::{Meaning, Theme};

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

pub(super) fn table(app: &App, ui: &Ui<'_>, f: &mut Frame<'_>, area: Rect) {
    let t = ui.theme;
    let rows = tenant_rows(app);
    let lines = rows.iter().skip(app.offset).map(|r| cells(r, t));
    let why = (
        "No tenants yet (a wallboard account does not read them).",
        "No tenant matches the filter. esc clears it.",
    );
    list::view(app, f, area, t, &COLUMNS, rows.len(), why, lines);
}
