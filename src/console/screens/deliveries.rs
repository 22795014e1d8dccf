//! The delivery desk: the scope's destinations of delivery to the SOC,
//! each with its breaker (or paused), backlog and oldest waiting event,
//! its pace, and its last attempt (status, latency, error); `enter` opens
//! a destination's last attempts below. From the keyboard: a test event,
//! a replay of the dead and expired, pause and resume. Every text a
//! receiver wrote is shown display-safe.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use serde_json::Value;

use crate::api::ApiError;
use crate::api::args::NoArgs;
use crate::api::outbound::{DeliveriesArgs, DeliveryView, DestinationRef, DestinationView};
use crate::api::verbs;
use crate::console::fetch::Fetch;
use crate::console::msg::{Effect, Reply};
use crate::console::nav::matches;
use crate::console::state::Shared;
use crate::console::widgets::age;
use crate::console::widgets::list::{self, Column};
use crate::domain::SafeText;
use crate::settings::theme::{Meaning, Theme};

/// Real seconds before the destinations are asked for again.
const EVERY_S: f64 = 5.0;
/// The last attempts shown of the open destination.
const ATTEMPTS: u32 = 50;

/// The delivery desk's state.
#[derive(Debug, Default)]
pub struct State {
    pub list: Fetch<Vec<DestinationView>>,
    /// The open destination's last attempts (keyed by its id).
    pub attempts: Fetch<Vec<DeliveryView>>,
    pub open: bool,
}

/// The destinations, filtered (id, kind, target, state, last error).
pub fn rows<'a>(sh: &Shared, me: &'a State) -> Vec<&'a DestinationView> {
    let Some(all) = me.list.data.as_ref() else {
        return Vec::new();
    };
    all.iter()
        .filter(|d| {
            let err = d
                .health
                .last
                .as_ref()
                .and_then(|l| l.last_error.as_deref())
                .unwrap_or("");
            matches(
                &sh.filter_input,
                &[&name_of(sh, d), &d.kind, &d.target, &state_of(d), err],
            )
        })
        .collect()
}

/// Its id, after its tenant's when the console is on `_all` and it is
/// a customer's (`acme/soc`).
fn name_of(sh: &Shared, d: &DestinationView) -> String {
    if d.tenant == sh.api_scope || d.tenant == crate::bus::subject::ALL_TENANTS {
        d.id.clone()
    } else {
        format!("{}/{}", d.tenant, d.id)
    }
}

/// The scope a call about `d` is made in: its tenant's for a customer's
/// seen from `_all` (the worker audits it in that tenant's chain).
fn scope_of(sh: &Shared, d: &DestinationView) -> String {
    if d.tenant == crate::bus::subject::ALL_TENANTS {
        sh.api_scope.clone()
    } else {
        d.tenant.clone()
    }
}

/// `paused`, or the breaker's state.
fn state_of(d: &DestinationView) -> String {
    if d.paused {
        "paused".into()
    } else {
        d.breaker.replace('_', "-")
    }
}

/// The calls the screen needs now: the destinations, and the open one's
/// attempts, when stale.
pub fn plan(sh: &Shared, me: &mut State, selected: Option<DestinationView>) -> Vec<Effect> {
    let mut out = Vec::new();
    if me.list.due("", sh.now, EVERY_S, sh.clock_speed) {
        me.list.ask(String::new(), sh.now);
        out.push(Effect::call::<verbs::OutboundList>(
            &sh.api_scope,
            &NoArgs {},
            Reply::Destinations,
        ));
    }
    if let Some(d) = selected.filter(|_| me.open) {
        let key = name_of(sh, &d);
        if me.attempts.due(&key, sh.now, EVERY_S, sh.clock_speed) {
            me.attempts.ask(key.clone(), sh.now);
            let args = DeliveriesArgs {
                destination: d.id.clone(),
                limit: Some(ATTEMPTS),
            };
            out.push(Effect::call::<verbs::OutboundDeliveries>(
                &scope_of(sh, &d),
                &args,
                Reply::Deliveries(key),
            ));
        }
    }
    out
}

/// The selected destination.
pub fn selected(sh: &Shared, me: &State) -> Option<DestinationView> {
    rows(sh, me).get(sh.selected).map(|d| (*d).clone())
}

/// What a key asks of the selected destination: `test`, `replay`,
/// `pause` or `resume` (`pause` on a paused one resumes it).
pub fn act(sh: &mut Shared, me: &mut State, action: &'static str) -> Vec<Effect> {
    let Some(d) = rows(sh, me).get(sh.selected).map(|d| (*d).clone()) else {
        sh.notify("no destination selected", true, 4);
        return Vec::new();
    };
    let args = DestinationRef {
        destination: d.id.clone(),
    };
    let reply = Reply::Delivery(action);
    let scope = scope_of(sh, &d);
    let effect = match action {
        "test" => Effect::call::<verbs::OutboundTest>(&scope, &args, reply),
        "replay" => Effect::call::<verbs::OutboundReplay>(&scope, &args, reply),
        _ if d.paused => {
            Effect::call::<verbs::OutboundResume>(&scope, &args, Reply::Delivery("resume"))
        }
        _ => Effect::call::<verbs::OutboundPause>(&scope, &args, reply),
    };
    vec![effect]
}

/// The worker's answers.
pub fn on_answer(sh: &mut Shared, me: &mut State, reply: Reply, answer: Result<Value, ApiError>) {
    match reply {
        Reply::Destinations => me.list.take("", answer),
        Reply::Deliveries(key) => me.attempts.take(&key, answer),
        Reply::Delivery(action) => {
            match answer {
                Ok(v) => {
                    let said = match action {
                        "test" => "test event queued".to_string(),
                        "replay" => format!(
                            "{} deliveries queued again",
                            v["queued_again"].as_u64().unwrap_or(0)
                        ),
                        "pause" => "paused: events keep queuing".into(),
                        _ => "resumed".into(),
                    };
                    sh.notify(said, false, 4);
                }
                Err(e) => sh.notify(format!("{action}: {e}"), true, 8),
            }
            // Show the change at once.
            me.list.asked = None;
            me.attempts.asked = None;
        }
        _ => {}
    }
}

/// The footer's words on the rows.
pub fn info(n: usize) -> String {
    format!("{n} destinations · enter attempts · T test · D replay · W pause/resume")
}

const COLUMNS: [Column; 8] = [
    Column {
        title: "DESTINATION",
        width: 16,
        drop: 0,
    },
    Column {
        title: "KIND",
        width: 12,
        drop: 3,
    },
    Column {
        title: "STATE",
        width: 9,
        drop: 0,
    },
    Column {
        title: "BACKLOG",
        width: 7,
        drop: 0,
    },
    Column {
        title: "OLDEST",
        width: 6,
        drop: 2,
    },
    Column {
        title: "5 MIN",
        width: 6,
        drop: 4,
    },
    Column {
        title: "LAST",
        width: 12,
        drop: 1,
    },
    Column {
        title: "LAST ERROR",
        width: 0,
        drop: 1,
    },
];

/// A status and latency: `200 85ms`, `— 5012ms`.
fn status(l: &DeliveryView) -> String {
    let code = l.last_status.map_or("—".to_string(), |s| s.to_string());
    match l.last_ms {
        Some(ms) => format!("{code} {ms}ms"),
        None => code,
    }
}

fn error_text(e: Option<&str>) -> String {
    SafeText::new(e.unwrap_or("")).to_string()
}

fn cells(sh: &Shared, d: &DestinationView, t: &Theme) -> Vec<(String, Style)> {
    let muted = t.style(Meaning::Muted);
    let state = state_of(d);
    let state_style = match state.as_str() {
        "closed" => t.style(Meaning::Ok),
        "paused" => muted,
        "half-open" => t.style(Meaning::Warning),
        _ => t.style(Meaning::Error),
    };
    let h = &d.health;
    let backlog_style = if h.backlog > 0 {
        t.style(Meaning::Warning)
    } else {
        muted
    };
    let last = h.last.as_ref();
    vec![
        (name_of(sh, d), t.style(Meaning::Accent)),
        (d.kind.clone(), muted),
        (state, state_style),
        (h.backlog.to_string(), backlog_style),
        (
            h.oldest_pending
                .map_or(String::new(), |o| age(sh.now, Some(o))),
            muted,
        ),
        (h.delivered_5m.to_string(), muted),
        (last.map_or(String::new(), status), muted),
        (
            error_text(last.and_then(|l| l.last_error.as_deref())),
            t.style(Meaning::Error),
        ),
    ]
}

fn table(sh: &Shared, me: &State, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let rows = rows(sh, me);
    let lines = rows.iter().skip(sh.offset).map(|d| cells(sh, d, t));
    let waiting = match &me.list.error {
        Some(e) => format!("Destinations not read: {e}"),
        None if me.list.data.is_none() => "Asking the worker for the destinations…".into(),
        None => "No destination: `vigie outbound add` sends events to a SOC.".to_string(),
    };
    let why = (
        waiting.as_str(),
        "No destination matches the filter. esc clears it.",
    );
    list::view(sh, f, area, t, &COLUMNS, rows.len(), why, lines);
}

const ATTEMPT_COLUMNS: [Column; 6] = [
    Column {
        title: "AGO",
        width: 4,
        drop: 0,
    },
    Column {
        title: "STATE",
        width: 9,
        drop: 0,
    },
    Column {
        title: "TRIES",
        width: 5,
        drop: 2,
    },
    Column {
        title: "LAST",
        width: 12,
        drop: 1,
    },
    Column {
        title: "EVENT",
        width: 36,
        drop: 3,
    },
    Column {
        title: "ERROR",
        width: 0,
        drop: 1,
    },
];

fn attempts(sh: &Shared, me: &State, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let shown: Vec<&DeliveryView> = me.attempts.data.iter().flatten().collect();
    let lines = shown.iter().map(|l| {
        let state_style = match l.state.as_str() {
            "delivered" => t.style(Meaning::Ok),
            "pending" => t.style(Meaning::Warning),
            _ => t.style(Meaning::Error),
        };
        vec![
            (
                age(sh.now, Some(l.done_at.unwrap_or(l.queued_at))),
                t.style(Meaning::Muted),
            ),
            (l.state.clone(), state_style),
            (l.attempts.to_string(), t.style(Meaning::Muted)),
            (status(l), t.style(Meaning::Muted)),
            (l.event_id.clone(), t.style(Meaning::Muted)),
            (error_text(l.last_error.as_deref()), Style::default()),
        ]
    });
    let waiting = match &me.attempts.error {
        Some(e) => format!("Attempts not read: {e}"),
        None if me.attempts.data.is_none() => "Asking for the last attempts…".into(),
        None => "Nothing sent yet.".into(),
    };
    list::plain(f, area, t, &ATTEMPT_COLUMNS, shown.len(), &waiting, lines);
}

pub fn draw(sh: &Shared, me: &State, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    if me.open {
        let (rows, side) = crate::console::layout::detail_split(area);
        table(sh, me, t, f, rows);
        attempts(sh, me, t, f, side);
    } else {
        table(sh, me, t, f, area);
    }
}
