//! The audit log, newest first: who changed what, from what to what, and
//! why. Read from the worker; the chain is checked by `vigie audit verify`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use serde_json::Value;

use crate::api::ApiError;
use crate::api::args::AuditArgs;
use crate::api::verbs;
use crate::console::fetch::Fetch;
use crate::console::msg::{Effect, Reply};
use crate::console::nav::matches;
use crate::console::state::Shared;
use crate::console::widgets::age;
use crate::console::widgets::list::{self, Column};
use crate::domain::audit::AuditEntry;
use crate::settings::theme::{Meaning, Theme};

/// Real seconds before the log is asked for again while on screen.
const EVERY_S: f64 = 30.0;
/// The newest entries asked for.
const LIMIT: u32 = 500;

/// The audit screen's state.
#[derive(Debug, Default)]
pub struct State {
    pub log: Fetch<Vec<AuditEntry>>,
}

/// The audit log as fetched, newest first; only entries matching the
/// filter (actor, action, target, tenant, reason).
pub fn rows<'a>(sh: &Shared, me: &'a State) -> Vec<&'a AuditEntry> {
    let Some(all) = me.log.data.as_ref() else {
        return Vec::new();
    };
    all.iter()
        .filter(|e| {
            let reason = e.reason.as_ref().map_or("", |r| r.as_str());
            matches(
                &sh.filter_input,
                &[
                    e.actor.as_str(),
                    e.action.as_str(),
                    e.target.as_str(),
                    e.tenant.as_str(),
                    reason,
                ],
            )
        })
        .collect()
}

/// The call the screen needs now: the log, when it is stale.
pub fn plan(sh: &Shared, me: &mut State) -> Vec<Effect> {
    if !me.log.due("", sh.now, EVERY_S, sh.clock_speed) {
        return Vec::new();
    }
    me.log.ask(String::new(), sh.now);
    let args = AuditArgs {
        target: None,
        limit: Some(LIMIT),
    };
    vec![Effect::call::<verbs::Audit>(
        &sh.api_scope,
        &args,
        Reply::Audit,
    )]
}

/// The worker's answer.
pub fn on_answer(me: &mut State, answer: Result<Value, ApiError>) {
    me.log.take("", answer);
}

/// The footer's words on the rows.
pub fn info(n: usize) -> String {
    format!("{n} entries")
}

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

fn cells(sh: &Shared, e: &AuditEntry, t: &Theme) -> Vec<(String, Style)> {
    let muted = t.style(Meaning::Muted);
    let change = match (&e.before, &e.after) {
        (Some(b), Some(a)) => format!("{b} → {a}"),
        (None, Some(a)) => format!("→ {a}"),
        (Some(b), None) => format!("{b} →"),
        (None, None) => String::new(),
    };
    vec![
        (age(sh.now, Some(e.at)), muted),
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

pub fn draw(sh: &Shared, me: &State, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let rows = rows(sh, me);
    let lines = rows.iter().skip(sh.offset).map(|e| cells(sh, e, t));
    let waiting = match &me.log.error {
        Some(e) => format!("Audit log not read: {e}"),
        None if me.log.data.is_none() => "Asking the worker for the audit log…".into(),
        None => "Nothing audited yet.".to_string(),
    };
    let why = (
        waiting.as_str(),
        "No entry matches the filter. esc clears it.",
    );
    list::view(sh, f, area, t, &COLUMNS, rows.len(), why, lines);
}
