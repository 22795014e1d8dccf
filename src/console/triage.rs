//! Incident triage from the queue: acknowledge, take, escalate, assign,
//! resolve, snooze, wake and reopen the selected incident. Each is an api
//! call the worker applies; its incident event updates every console.

use crate::api::args::{IncidentAct, TriageAction};
use crate::api::verbs::IncidentActOn;
use serde_json::Value;

use super::app::App;
use super::update::{Effect, Reply};
use crate::api::ApiError;
use crate::domain::Id;
use crate::domain::incident::Incident;

/// The incident under the cursor, when the queue is on screen.
pub fn selected(app: &App) -> Option<&Incident> {
    super::incident::selected(app)
}

/// `action` on the selected incident (`to`: for assign). Resolving asks
/// for the same key again within five seconds.
pub fn act(app: &mut App, kind: TriageAction, to: Option<&str>) -> Vec<Effect> {
    let action = kind.as_str();
    let Some(i) = selected(app) else {
        app.notify("select an incident first (2 shows the queue)", true, 4);
        return Vec::new();
    };
    // Marked incidents take the action together (not a merge, not a
    // reopen: those have their own keys).
    let bulk = !app.screens.incidents.marks.is_empty()
        && !matches!(
            kind,
            TriageAction::Merge | TriageAction::Reopen | TriageAction::Note
        );
    let targets: Vec<(Id, Id)> = if bulk {
        app.screens.incidents.marks.clone()
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
        if !app.confirmed(&id, format!("resolve {what}? press again to resolve")) {
            return Vec::new();
        }
    }
    let (mut for_s, mut assignee) = (None, None);
    match (kind, to) {
        (TriageAction::Snooze, Some(len)) => {
            let Some(secs) = super::incident::parse_length(len) else {
                app.notify(
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
        app.screens.incidents.marks.clear();
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
pub fn on_answer(app: &mut App, action: &'static str, answer: Result<Value, ApiError>) {
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
            app.notify(format!("{}: {done}", i.title), false, 4);
            // The pane's timeline shows the change at its next ask.
            app.screens.incidents.detail.asked = None;
            app.incidents.insert((i.tenant.clone(), i.id.clone()), i);
            app.clamp();
        }
        Ok(Err(e)) => app.notify(format!("{action}: unreadable answer: {e}"), true, 8),
        Err(e) => app.notify(format!("{action} refused: {}", e.message), true, 8),
    }
}
