//! The incident queue: most severe first, then the nearest SLA.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::Ui;
use crate::console::app::App;
use crate::console::widgets::age;
use crate::console::widgets::list::{self, Column};
use crate::console::widgets::severity_cell;
use crate::domain::incident::{EscalationTier, Incident, IncidentState};
use crate::settings::theme::{Meaning, Theme};

const COLUMNS: [Column; 8] = [
    Column {
        title: "SEV",
        width: 8,
        drop: 0,
    },
    Column {
        title: "STATE",
        width: 14,
        drop: 0,
    },
    Column {
        title: "TIER",
        width: 4,
        drop: 5,
    },
    Column {
        title: "TITLE",
        width: 0,
        drop: 0,
    },
    Column {
        title: "TENANT",
        width: 12,
        drop: 3,
    },
    Column {
        title: "ASSIGNEE",
        width: 12,
        drop: 4,
    },
    Column {
        title: "OPEN",
        width: 5,
        drop: 2,
    },
    Column {
        title: "SLA",
        width: 9,
        drop: 1,
    },
];

fn cells(app: &App, i: &Incident, t: &Theme) -> Vec<(String, Style)> {
    let muted = t.style(Meaning::Muted);
    // An acknowledgement is a state of its own, with its age.
    let state = match (i.state, i.acknowledged) {
        _ if i.is_snoozed(app.now) => (format!("zZ {}", until(app.now, i.snoozed_until)), muted),
        (IncidentState::Acknowledged, Some(at)) => (
            format!("ack'd {}", age(app.now, Some(at))),
            t.style(Meaning::Accent),
        ),
        (s, _) => (s.as_str().replace('_', " "), Style::default()),
    };
    let tier = match i.tier {
        EscalationTier::L1 => "L1",
        EscalationTier::L2 => "L2",
        EscalationTier::L3 => "L3",
    };
    let sla = if !i.state.is_open() {
        (i.state.as_str().to_string(), muted)
    } else if i.sla_breached(app.now) {
        ("BREACHED".to_string(), t.style(Meaning::Critical))
    } else {
        let left = (i.sla_due - app.now).num_seconds().max(0);
        let text = match left {
            0..3_600 => format!("{}m left", left / 60),
            3_600..86_400 => format!("{}h left", left / 3_600),
            _ => format!("{}d left", left / 86_400),
        };
        let style = if left < 900 {
            t.style(Meaning::Warning)
        } else {
            muted
        };
        (text, style)
    };
    let mut sev = severity_cell(i.severity, t);
    if app
        .screens
        .incidents
        .marks
        .iter()
        .any(|(tn, id)| *tn == i.tenant && *id == i.id)
    {
        sev.0.insert(0, '●');
    }
    vec![
        sev,
        state,
        (
            tier.to_string(),
            if i.tier == EscalationTier::L1 {
                muted
            } else {
                t.style(Meaning::Major)
            },
        ),
        (i.title.to_string(), Style::default()),
        (i.tenant.to_string(), muted),
        (
            i.assignee
                .as_ref()
                .map_or("—".to_string(), |a| a.to_string()),
            muted,
        ),
        (age(app.now, Some(i.opened)), muted),
        sla,
    ]
}

/// Time left until `then`: `45m`, `2h`.
fn until(
    now: chrono::DateTime<chrono::Utc>,
    then: Option<chrono::DateTime<chrono::Utc>>,
) -> String {
    let left = then.map_or(0, |t| (t - now).num_seconds().max(0));
    match left {
        0..3_600 => format!("{}m", (left + 59) / 60),
        3_600..86_400 => format!("{}h", left / 3_600),
        _ => format!("{}d", left / 86_400),
    }
}

pub(super) fn table(app: &App, ui: &Ui<'_>, f: &mut Frame<'_>, area: Rect) {
    let t = ui.theme;
    let queue = crate::console::incident::queue(app);
    let rows = queue.iter().skip(app.offset).map(|i| cells(app, i, t));
    let why = (
        "No open incidents (V shows the resolved ones).",
        "No incident matches the filter. esc clears it.",
    );
    list::view(app, f, area, t, &COLUMNS, queue.len(), why, rows);
}
