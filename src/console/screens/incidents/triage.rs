//! Triage from the queue: acknowledge, take, escalate, assign, resolve,
//! snooze, wake and reopen the selected incident (or the marked ones),
//! merge the marked into the selected, and write notes. Each is an api
//! call the worker applies; its incident event updates every console.

use super::{NoteDraft, State, selected};
use ratatui::crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;
use serde_json::Value;

use crate::api::ApiError;
use crate::api::args::{IncidentAct, TriageAction};
use crate::api::verbs::IncidentActOn;
use crate::console::msg::{Edit, Effect, Reply};
use crate::console::state::{Mode, Shared};
use crate::domain::Id;
use crate::domain::incident::Incident;

/// `action` on the selected incident (`to`: for assign). Resolving asks
/// for the same key again within five seconds.
pub fn act(sh: &mut Shared, me: &mut State, kind: TriageAction, to: Option<&str>) -> Vec<Effect> {
    let action = kind.as_str();
    let Some(i) = selected(sh, me) else {
        sh.notify("select an incident first (2 shows the queue)", true, 4);
        return Vec::new();
    };
    // Marked incidents take the action together (not a merge, not a
    // reopen: those have their own keys).
    let bulk = !me.marks.is_empty()
        && !matches!(
            kind,
            TriageAction::Merge | TriageAction::Reopen | TriageAction::Note
        );
    let targets: Vec<(Id, Id)> = if bulk {
        me.marks.clone()
    } else {
        vec![(i.tenant.clone(), i.id.clone())]
    };
    let (id, title) = (i.id.clone(), i.title.to_string());
    if kind == TriageAction::Resolve {
        let what = if bulk {
            format!("the {} marked incidents", targets.len())
        } else {
            format!("\"{title}\"")
        };
        if !sh.confirmed(&id, format!("resolve {what}? press again to resolve")) {
            return Vec::new();
        }
    }
    let (mut for_s, mut assignee) = (None, None);
    match (kind, to) {
        (TriageAction::Snooze, Some(len)) => {
            let Some(secs) = crate::domain::length::parse_length(len) else {
                sh.notify(
                    format!("snooze for how long? {len:?}: try 30m, 2h, 1d"),
                    true,
                    5,
                );
                return Vec::new();
            };
            for_s = Some(secs);
        }
        (_, Some(to)) => assignee = Some(to.to_string()),
        (_, None) => {}
    }
    if bulk {
        me.marks.clear();
    }
    targets
        .into_iter()
        .map(|(tenant, id)| {
            let args = IncidentAct {
                for_s,
                to: assignee.clone(),
                ..IncidentAct::new(id, kind)
            };
            Effect::call::<IncidentActOn>(tenant, &args, Reply::Triage(action))
        })
        .collect()
}

/// The worker's answer to a triage call.
pub fn on_answer(
    sh: &mut Shared,
    me: &mut State,
    action: &'static str,
    answer: Result<Value, ApiError>,
) {
    match answer.map(serde_json::from_value::<Incident>) {
        Ok(Ok(i)) => {
            let done = match action {
                "acknowledge" => "acknowledged",
                "take" => "taken",
                "escalate" => "escalated",
                "assign" => "assigned",
                "snooze" => "snoozed",
                "wake" => "back in the queue",
                "reopen" => "reopened",
                "note" => "note added",
                "merge" => "merged",
                _ => "resolved",
            };
            sh.notify(format!("{}: {done}", i.title), false, 4);
            // The pane's timeline shows the change at its next ask.
            me.detail.asked = None;
            sh.incidents.insert((i.tenant.clone(), i.id.clone()), i);
        }
        Ok(Err(e)) => sh.notify(format!("{action}: unreadable answer: {e}"), true, 8),
        Err(e) => sh.notify(format!("{action} refused: {}", e.message), true, 8),
    }
}

/// `n`: a note on the selected incident.
pub fn open_note(sh: &mut Shared, me: &mut State) {
    let Some(i) = selected(sh, me) else {
        sh.notify("select an incident first (2 shows the queue)", true, 4);
        return;
    };
    let mut editor = TextArea::default();
    editor.set_placeholder_text("What you found, did or handed over…");
    me.note = Some(Box::new(NoteDraft {
        tenant: i.tenant.clone(),
        incident: i.id.clone(),
        title: i.title.to_string(),
        editor,
        error: None,
    }));
    sh.mode = Mode::Note;
}

/// Keys while a note is being written: save sends it, cancel drops it,
/// anything else is typed.
pub fn on_note_key(
    sh: &mut Shared,
    me: &mut State,
    edit: Option<Edit>,
    k: KeyEvent,
) -> Vec<Effect> {
    let Some(d) = me.note.as_mut() else {
        sh.mode = Mode::Normal;
        return Vec::new();
    };
    match edit {
        Some(Edit::Cancel) => {
            me.note = None;
            sh.mode = Mode::Normal;
            sh.notify("note dropped", false, 3);
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
            me.note = None;
            sh.mode = Mode::Normal;
            return vec![call];
        }
        _ => {
            d.error = None;
            d.editor.input(k);
        }
    }
    Vec::new()
}

/// `M`: the marked incidents' alerts join the selected one, which must be
/// of the same customer; asked twice, since the others close.
pub fn merge(sh: &mut Shared, me: &mut State) -> Vec<Effect> {
    let Some(target) = selected(sh, me) else {
        sh.notify(
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
    let from: Vec<Id> = me
        .marks
        .iter()
        .filter(|(t, i)| *t == tenant && *i != id)
        .map(|(_, i)| i.clone())
        .collect();
    if me.marks.iter().any(|(t, _)| *t != tenant) {
        sh.notify("only incidents of one customer merge", true, 5);
        return Vec::new();
    }
    if from.is_empty() {
        sh.notify("mark the incidents to merge with space first", true, 4);
        return Vec::new();
    }
    let ask = format!(
        "merge {} incidents into \"{title}\"? press again",
        from.len()
    );
    if !sh.confirmed(&id, ask) {
        return Vec::new();
    }
    me.marks.clear();
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
