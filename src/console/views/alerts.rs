//! The live alert tail, newest first; it holds still while paused.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::list::{self, Column};
use super::{Ui, incidents::severity_cell};
use crate::console::app::App;
use crate::console::lists::alert_tail;
use crate::domain::alert::AlertState;
use crate::domain::model::Alert;
use crate::settings::theme::{Meaning, Theme};

const COLUMNS: [Column; 7] = [
    Column {
        title: "TIME",
        width: 8,
        drop: 0,
    },
    Column {
        title: "SEV",
        width: 8,
        drop: 0,
    },
    Column {
        title: "STATE",
        width: 8,
        drop: 0,
    },
    Column {
        title: "RULE",
        width: 16,
        drop: 3,
    },
    Column {
        title: "SUMMARY",
        width: 0,
        drop: 0,
    },
    Column {
        title: "TENANT",
        width: 12,
        drop: 2,
    },
    Column {
        title: "INCIDENT",
        width: 14,
        drop: 4,
    },
];

fn cells(app: &App, a: &Alert, t: &Theme) -> Vec<(String, Style)> {
    let muted = t.style(Meaning::Muted);
    let state = match a.state {
        AlertState::Firing if a.flapping => ("flapping", t.style(Meaning::Warning)),
        AlertState::Firing => ("firing", t.style(Meaning::Major)),
        AlertState::Resolved => ("resolved", t.style(Meaning::Ok)),
        AlertState::Pending => ("pending", muted),
        AlertState::Ok => ("ok", muted),
    };
    let mut sev = severity_cell(a.severity, t);
    if app
        .screens
        .alerts
        .marks
        .iter()
        .any(|(tn, id)| *tn == a.tenant && *id == a.id)
    {
        sev.0.insert(0, '●');
    }
    vec![
        (a.updated.format("%H:%M:%S").to_string(), muted),
        sev,
        (state.0.to_string(), state.1),
        (a.rule.to_string(), Style::default()),
        (a.summary.to_string(), Style::default()),
        (a.tenant.to_string(), muted),
        (
            a.incident
                .as_ref()
                .map_or("—".to_string(), |i| i.to_string()),
            muted,
        ),
    ]
}

pub(super) fn table(app: &App, ui: &Ui<'_>, f: &mut Frame<'_>, area: Rect) {
    let t = ui.theme;
    let tail = alert_tail(&app.screens.alerts.tail.alerts, &app.filter_input);
    let rows = tail.iter().skip(app.offset).map(|a| cells(app, a, t));
    let why = (
        "Waiting for alerts: new ones appear here as they fire and clear.",
        "No alert matches the filter. esc clears it.",
    );
    list::view(app, f, area, t, &COLUMNS, tail.len(), why, rows);
}
