//! The incident queue's deeper triage: the queue itself (snoozed last,
//! resolved ones on request), an incident's pane (its alerts and its
//! timeline of actions and notes, from the worker), notes written in a
//! text area, snooze, wake and reopen. Pure, like `update`.

use crate::api::args::{IncidentAct, TriageAction};
use crate::api::verbs::IncidentActOn;
use ratatui::crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;

use super::app::App;
use super::lists::{View, mark_range, matches, toggle};
use super::state::Mode;
use super::update::{Edit, Effect, Reply};
use crate::domain::Id;
use crate::domain::incident::Incident;

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
pub fn queue(app: &App) -> Vec<&Incident> {
    let now = app.now;
    let mut out: Vec<&Incident> = app
        .incidents
        .values()
        .filter(|i| i.state.is_open() || app.screens.incidents.resolved)
        .filter(|i| {
            let who = i.assignee.as_ref().map_or("", |a| a.as_str());
            matches(
                &app.filter_input,
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
pub fn selected(app: &App) -> Option<&Incident> {
    if app.view != View::Incidents {
        return None;
    }
    queue(app).get(app.selected).copied()
}

/// The key of an incident question.
pub fn key(i: &Incident) -> String {
    format!("{}/{}", i.tenant, i.id)
}

/// `n`: a note on the selected incident.
pub fn open_note(app: &mut App) {
    let Some(i) = selected(app) else {
        app.notify("select an incident first (2 shows the queue)", true, 4);
        return;
    };
    let mut editor = TextArea::default();
    editor.set_placeholder_text("What you found, did or handed over…");
    app.screens.incidents.note = Some(Box::new(NoteDraft {
        tenant: i.tenant.clone(),
        incident: i.id.clone(),
        title: i.title.to_string(),
        editor,
        error: None,
    }));
    app.mode = Mode::Note;
}

/// Keys while a note is being written: save sends it, cancel drops it,
/// anything else is typed.
pub fn on_note_key(app: &mut App, edit: Option<Edit>, k: KeyEvent) -> Vec<Effect> {
    let Some(d) = app.screens.incidents.note.as_mut() else {
        app.mode = Mode::Normal;
        return Vec::new();
    };
    match edit {
        Some(Edit::Cancel) => {
            app.screens.incidents.note = None;
            app.mode = Mode::Normal;
            app.notify("note dropped", false, 3);
        }
        Some(Edit::Save) => {
            let text = d.editor.lines().join("\n");
            let text = text.trim();
            if text.is_empty() {
                d.error = Some("the note is empty".into());
                return Vec::new();
            }
            if text.chars().count() > crate::api::MAX_NOTE {
                d.error = Some(format!("at most {} characters", crate::api::MAX_NOTE));
                return Vec::new();
            }
            let args = IncidentAct {
                reason: Some(text.to_string()),
                ..IncidentAct::new(d.incident.clone(), TriageAction::Note)
            };
            let call = Effect::call::<IncidentActOn>(&d.tenant, &args, Reply::Triage("note"));
            app.screens.incidents.note = None;
            app.mode = Mode::Normal;
            return vec![call];
        }
        _ => {
            d.error = None;
            d.editor.input(k);
        }
    }
    Vec::new()
}

/// `space` in the queue: marks or unmarks the selected incident.
pub fn toggle_mark(app: &mut App) {
    let Some(key) = selected(app).map(|i| (i.tenant.clone(), i.id.clone())) else {
        return;
    };
    toggle(&mut app.screens.incidents.marks, key);
    app.selected = app.selected.saturating_add(1);
}

/// `x` in the queue: marks from the last mark to here.
pub fn toggle_range(app: &mut App) {
    let at = app.selected;
    let rows = queue(app)
        .iter()
        .map(|i| (i.tenant.clone(), i.id.clone()))
        .collect();
    mark_range(&mut app.screens.incidents.marks, rows, at);
}

/// `M`: the marked incidents' alerts join the selected one, which must be
/// of the same customer; asked twice, since the others close.
pub fn merge(app: &mut App) -> Vec<Effect> {
    let Some(target) = selected(app) else {
        app.notify(
            "select the incident to merge into (2 shows the queue)",
            true,
            4,
        );
        return Vec::new();
    };
    let (tenant, id, title) = (
        target.tenant.clone(),
        target.id.clone(),
        target.title.to_string(),
    );
    let from: Vec<Id> = app
        .screens
        .incidents
        .marks
        .iter()
        .filter(|(t, i)| *t == tenant && *i != id)
        .map(|(_, i)| i.clone())
        .collect();
    if app
        .screens
        .incidents
        .marks
        .iter()
        .any(|(t, _)| *t != tenant)
    {
        app.notify("only incidents of one customer merge", true, 5);
        return Vec::new();
    }
    if from.is_empty() {
        app.notify("mark the incidents to merge with space first", true, 4);
        return Vec::new();
    }
    let ask = format!(
        "merge {} incidents into \"{title}\"? press again",
        from.len()
    );
    if !app.confirmed(&id, ask) {
        return Vec::new();
    }
    app.screens.incidents.marks.clear();
    let args = IncidentAct {
        from,
        ..IncidentAct::new(id, TriageAction::Merge)
    };
    vec![Effect::call::<IncidentActOn>(
        tenant,
        &args,
        Reply::Triage("merge"),
    )]
}

/// Parses a snooze length: `90s`, `30m`, `2h`, `1d` (a bare number is
/// minutes).
pub fn parse_length(s: &str) -> Option<u32> {
    let s = s.trim();
    let (n, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, "m"),
    };
    let n: u32 = n.parse().ok()?;
    let mult = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snooze_lengths() {
        assert_eq!(parse_length("30m"), Some(1_800));
        assert_eq!(parse_length("2h"), Some(7_200));
        assert_eq!(parse_length("1d"), Some(86_400));
        assert_eq!(parse_length("45"), Some(2_700));
        assert_eq!(parse_length("90s"), Some(90));
        assert_eq!(parse_length("soon"), None);
        assert_eq!(parse_length("5w"), None);
        assert_eq!(parse_length(""), None);
    }
}
