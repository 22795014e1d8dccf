//! The audit log, newest first: who changed what, from what to what, and
//! why. Read from the worker; the chain is checked by `vigie audit verify`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::list::{self, Column};
use super::{Ui, age};
use crate::console::app::App;
use crate::console::lists::audit_rows;
use crate::domain::audit::AuditEntry;
use crate::settings::theme::{Meaning, Theme};

const COLUMNS: [Column; 7] = [
    Column {
        title: "AGO",
        width: 4,
        drop: 0,
    },
    Column {
        title: "TENANT",
        width: 12,
        drop: 3,
    },
    Column {
        title: "ACTOR",
        width: 14,
        drop: 0,
    },
    Column {
        title: "ACTION",
        width: 20,
        drop: 0,
    },
    Column {
        title: "TARGET",
        width: 22,
        drop: 2,
    },
    Column {
        title: "CHANGE",
        width: 22,
        drop: 4,
    },
    Column {
        title: "REASON",
        width: 0,
        drop: 1,
    },
];

fn cells(app: &App, e: &AuditEntry, t: &Theme) -> Vec<(String, Style)> {
    let muted = t.style(Meaning::Muted);
    let change = match (&e.before, &e.after) {
        (Some(b), Some(a)) => format!("{b} → {a}"),
        (None, Some(a)) => format!("→ {a}"),
        (Some(b), None) => format!("{b} →"),
        (None, None) => String::new(),
    };
    vec![
        (age(app.now, Some(e.at)), muted),
        (e.tenant.to_string(), muted),
        (e.actor.to_string(), t.style(Meaning::Accent)),
        (e.action.clone(), Style::default()),
        (e.target.clone(), muted),
        (crate::domain::SafeText::new(&change).to_string(), muted),
        (
            e.reason.as_ref().map_or(String::new(), ToString::to_string),
            Style::default(),
        ),
    ]
}

pub(super) fn table(app: &App, ui: &Ui<'_>, f: &mut Frame<'_>, area: Rect) {
    let t = ui.theme;
    let rows = audit_rows(app);
    let lines = rows.iter().skip(app.offset).map(|e| cells(app, e, t));
    let waiting = match &app.screens.audit.log.error {
        Some(e) => format!("Audit log not read: {e}"),
        None if app.screens.audit.log.data.is_none() => {
            "Asking the worker for the audit log…".into()
        }
        None => "Nothing audited yet.".to_string(),
    };
    let why = (
        waiting.as_str(),
        "No entry matches the filter. esc clears it.",
    );
    list::view(app, f, area, t, &COLUMNS, rows.len(), why, lines);
}
