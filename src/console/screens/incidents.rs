//! The incident queue: open incidents, most severe first, then the nearest
//! SLA; snoozed ones after the rest, resolved ones on request. A pane with
//! the selected incident's alerts and timeline (`pane.rs`); marks, triage,
//! merges and notes (`triage.rs`).

pub mod pane;
pub mod triage;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui_textarea::TextArea;
use serde_json::Value;

use crate::api::ApiError;
use crate::api::args::IncidentArgs;
use crate::api::verbs;
use crate::api::views::IncidentDetail;
use crate::console::fetch::Fetch;
use crate::console::msg::{Effect, Reply};
use crate::console::nav::{View, mark_range, matches, toggle};
use crate::console::state::Shared;
use crate::console::widgets::age;
use crate::console::widgets::list::{self, Column};
use crate::console::widgets::severity_cell_marked;
use crate::domain::Id;
use crate::domain::incident::{EscalationTier, Incident, IncidentState};
use crate::settings::theme::{Meaning, Theme};

/// Real seconds before the pane's incident is asked for again.
const EVERY_S: f64 = 15.0;

/// The queue's own state (the incidents themselves are shared).
#[derive(Debug, Default)]
pub struct State {
    /// The incident pane is open.
    pub open: bool,
    pub detail: Fetch<IncidentDetail>,
    /// The queue shows resolved incidents too.
    pub resolved: bool,
    /// Incidents marked for a bulk action or a merge, as (tenant, incident).
    pub marks: Vec<(Id, Id)>,
    /// The note being written.
    pub note: Option<Box<NoteDraft>>,
}

/// `z` snoozes for this long; `:snooze 30m` for another length.
pub const SNOOZE_S: u32 = 3_600;

/// A note being written.
#[derive(Debug)]
pub struct NoteDraft {
    pub tenant: Id,
    pub incident: Id,
    pub title: String,
    pub editor: TextArea<'static>,
    pub error: Option<String>,
}

/// The queue as the view shows it: open incidents, most severe first, then
/// the nearest SLA; snoozed ones after the rest; resolved ones (only with
/// `V`) last. Only those matching the view's filter.
pub fn queue<'a>(sh: &'a Shared, me: &'a State) -> Vec<&'a Incident> {
    let now = sh.now;
    let mut out: Vec<&Incident> = sh
        .incidents
        .values()
        .filter(|i| i.state.is_open() || me.resolved)
        .filter(|i| {
            let who = i.assignee.as_ref().map_or("", |a| a.as_str());
            matches(
                &sh.filter_input,
                &[i.title.as_str(), i.tenant.as_str(), who, i.state.as_str()],
            )
        })
        .collect();
    out.sort_by(|a, b| {
        (!a.state.is_open())
            .cmp(&!b.state.is_open())
            .then(a.is_snoozed(now).cmp(&b.is_snoozed(now)))
            .then(a.severity.cmp(&b.severity))
            .then(a.sla_due.cmp(&b.sla_due))
            .then(a.opened.cmp(&b.opened))
            .then(a.id.cmp(&b.id))
    });
    out
}

/// The incident under the cursor, when the queue is on screen.
pub fn selected<'a>(sh: &'a Shared, me: &'a State) -> Option<&'a Incident> {
    if sh.view != View::Incidents {
        return None;
    }
    queue(sh, me).get(sh.selected).copied()
}

/// The key of an incident question.
pub fn key(i: &Incident) -> String {
    format!("{}/{}", i.tenant, i.id)
}

/// `space` in the queue: marks or unmarks the selected incident.
pub fn mark(sh: &mut Shared, me: &mut State) {
    let Some(key) = selected(sh, me).map(|i| (i.tenant.clone(), i.id.clone())) else {
        return;
    };
    toggle(&mut me.marks, key);
    sh.selected = sh.selected.saturating_add(1);
}

/// `x` in the queue: marks from the last mark to here.
pub fn mark_to_here(sh: &Shared, me: &mut State) {
    let at = sh.selected;
    let rows = queue(sh, me)
        .iter()
        .map(|i| (i.tenant.clone(), i.id.clone()))
        .collect();
    mark_range(&mut me.marks, rows, at);
}

/// The call the screen needs now: the selected incident's alerts and
/// timeline, while its pane is open.
pub fn plan(sh: &Shared, me: &mut State) -> Vec<Effect> {
    if !me.open {
        return Vec::new();
    }
    let Some(i) = selected(sh, me) else {
        return Vec::new();
    };
    let (key, tenant, id) = (key(i), i.tenant.clone(), i.id.clone());
    if !me.detail.due(&key, sh.now, EVERY_S, sh.clock_speed) {
        return Vec::new();
    }
    let args = IncidentArgs { incident: id };
    let call = Effect::call::<verbs::IncidentOf>(tenant, &args, Reply::Incident(key.clone()));
    me.detail.ask(key, sh.now);
    vec![call]
}

/// The worker's answer to the pane's question `key`.
pub fn on_answer(me: &mut State, key: &str, answer: Result<Value, ApiError>) {
    me.detail.take(key, answer);
}

/// The footer's words on the rows.
pub fn info(sh: &Shared, me: &State, n: usize) -> String {
    let marked = match me.marks.len() {
        0 => String::new(),
        m => format!(" · {m} marked"),
    };
    format!("{n} of {} open incidents{marked}", sh.open_incidents())
}

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

fn cells(sh: &Shared, me: &State, i: &Incident, t: &Theme) -> Vec<(String, Style)> {
    let muted = t.style(Meaning::Muted);
    // An acknowledgement is a state of its own, with its age.
    let state = match (i.state, i.acknowledged) {
        _ if i.is_snoozed(sh.now) => (format!("zZ {}", until(sh.now, i.snoozed_until)), muted),
        (IncidentState::Acknowledged, Some(at)) => (
            format!("ack'd {}", age(sh.now, Some(at))),
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
    } else if i.sla_breached(sh.now) {
        ("BREACHED".to_string(), t.style(Meaning::Critical))
    } else {
        let left = (i.sla_due - sh.now).num_seconds().max(0);
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
    let marked = me
        .marks
        .iter()
        .any(|(tn, id)| *tn == i.tenant && *id == i.id);
    let sev = severity_cell_marked(i.severity, marked, t);
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
        (age(sh.now, Some(i.opened)), muted),
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

fn table(sh: &Shared, me: &State, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let queue = queue(sh, me);
    let rows = queue.iter().skip(sh.offset).map(|i| cells(sh, me, i, t));
    let why = (
        "No open incidents (V shows the resolved ones).",
        "No incident matches the filter. esc clears it.",
    );
    list::view(sh, f, area, t, &COLUMNS, queue.len(), why, rows);
}

/// The screen: the table, and the pane beside or below it when open.
pub fn draw(sh: &Shared, me: &State, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    if me.open {
        let (rows, side) = crate::console::layout::detail_split(area);
        table(sh, me, t, f, rows);
        pane::pane(sh, me, t, f, side);
    } else {
        table(sh, me, t, f, area);
    }
}
