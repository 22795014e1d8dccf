//! The live alert tail, newest first, which holds still while paused;
//! marked alerts merge into the selected alert's incident.

use std::collections::VecDeque;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::api::args::{IncidentAct, TriageAction};
use crate::api::verbs::IncidentActOn;
use crate::console::msg::{Effect, Reply};
use crate::console::nav::{View, mark_range, matches, toggle};
use crate::console::state::Shared;
use crate::console::widgets::list::{self, Column};
use crate::console::widgets::severity_cell_marked;
use crate::domain::Id;
use crate::domain::alert::AlertState;
use crate::domain::model::Alert;
use crate::settings::theme::{Meaning, Theme};

/// The tail's state.
#[derive(Debug, Default)]
pub struct State {
    pub tail: Tail,
    /// Alerts marked to merge into one incident, as (tenant, alert).
    pub marks: Vec<(Id, Id)>,
}

/// Alerts kept for the tail.
pub const TAIL: usize = 2_000;

/// The alert tail, newest first; only those matching `filter` (rule,
/// summary, tenant).
pub fn rows<'a>(sh: &Shared, me: &'a State) -> Vec<&'a Alert> {
    let filter = sh.filter_input.as_str();
    me.tail
        .alerts
        .iter()
        .filter(|a| {
            matches(
                filter,
                &[a.rule.as_str(), a.summary.as_str(), a.tenant.as_str()],
            )
        })
        .collect()
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

/// The alert under the cursor, when the tail is on screen.
pub fn selected<'a>(sh: &Shared, me: &'a State) -> Option<&'a Alert> {
    if sh.view != View::Alerts {
        return None;
    }
    rows(sh, me).get(sh.selected).copied()
}

/// `space`: marks or unmarks the selected alert.
pub fn mark(sh: &mut Shared, me: &mut State) {
    if let Some(a) = selected(sh, me) {
        let key = (a.tenant.clone(), a.id.clone());
        toggle(&mut me.marks, key);
        sh.selected = sh.selected.saturating_add(1);
    }
}

/// `x`: marks from the last mark to here.
pub fn mark_to_here(sh: &Shared, me: &mut State) {
    let keys = rows(sh, me)
        .iter()
        .map(|a| (a.tenant.clone(), a.id.clone()))
        .collect();
    mark_range(&mut me.marks, keys, sh.selected);
}

/// `M`: the marked alerts join the selected alert's incident (one
/// customer's; asked twice).
pub fn merge(sh: &mut Shared, me: &mut State) -> Vec<Effect> {
    let Some(a) = selected(sh, me) else {
        return Vec::new();
    };
    let (tenant, incident) = (a.tenant.clone(), a.incident.clone());
    let Some(target) = incident else {
        sh.notify("the selected alert has no incident to merge into", true, 5);
        return Vec::new();
    };
    if me.marks.is_empty() {
        sh.notify("mark the alerts to merge with space first", true, 4);
        return Vec::new();
    }
    if me.marks.iter().any(|(t, _)| *t != tenant) {
        sh.notify("only alerts of one customer merge", true, 5);
        return Vec::new();
    }
    let ask = format!(
        "move {} alerts into incident {target}? press again",
        me.marks.len()
    );
    if !sh.confirmed(&target, ask) {
        return Vec::new();
    }
    let alerts: Vec<Id> = me.marks.drain(..).map(|(_, a)| a).collect();
    let args = IncidentAct {
        alerts,
        ..IncidentAct::new(target, TriageAction::Merge)
    };
    vec![Effect::call::<IncidentActOn>(
        tenant,
        &args,
        Reply::Triage("merge"),
    )]
}

/// The footer's words on the rows.
pub fn info(me: &State, n: usize) -> String {
    match me.tail.paused {
        Some(_) => format!("{n} alerts · PAUSED, {} waiting", me.tail.waiting()),
        None => format!("{n} alerts"),
    }
}

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

fn cells(me: &State, a: &Alert, t: &Theme) -> Vec<(String, Style)> {
    let muted = t.style(Meaning::Muted);
    let state = match a.state {
        AlertState::Firing if a.flapping => ("flapping", t.style(Meaning::Warning)),
        AlertState::Firing => ("firing", t.style(Meaning::Major)),
        AlertState::Resolved => ("resolved", t.style(Meaning::Ok)),
        AlertState::Pending => ("pending", muted),
        AlertState::Ok => ("ok", muted),
    };
    let marked = me
        .marks
        .iter()
        .any(|(tn, id)| *tn == a.tenant && *id == a.id);
    let sev = severity_cell_marked(a.severity, marked, t);
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

pub fn draw(sh: &Shared, me: &State, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let tail = rows(sh, me);
    let rows = tail.iter().skip(sh.offset).map(|a| cells(me, a, t));
    let why = (
        "Waiting for alerts: new ones appear here as they fire and clear.",
        "No alert matches the filter. esc clears it.",
    );
    list::view(sh, f, area, t, &COLUMNS, tail.len(), why, rows);
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
