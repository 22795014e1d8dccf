//! Config pushes: the editor on the selected device (or a rollout on the
//! marked ones: `editor.rs` holds the draft and its keys), sending,
//! confirming and reverting, the history overlay (`draw.rs` draws both),
//! and following push events and the worker's answers. Pure: IO is
//! returned as effects.

pub mod draw;
pub mod editor;

use std::collections::BTreeMap;

use editor::{Draft, Outcome, most_urgent};
use ratatui::crossterm::event::KeyEvent;
use serde_json::Value;

use crate::api::ApiError;
use crate::api::args::{CreatePush, CreateRollout, DeviceRef, PushRef, RolloutRef};
use crate::api::verbs;
use crate::console::msg::{Edit, Effect, Reply};
use crate::console::state::{Mode, Shared};
use crate::domain::Id;
use crate::domain::push::PushQuery;
use crate::domain::push::{Push, PushState};

/// The push history of one device, as an overlay.
#[derive(Debug, Clone)]
pub struct History {
    pub device: Id,
    pub name: String,
    pub pushes: Vec<Push>,
}

/// The pushes' state.
#[derive(Debug)]
pub struct State {
    /// Pushes this console knows of (open ones at start, then every push
    /// event), by push id.
    pub pushes: BTreeMap<Id, Push>,
    /// The push being prepared.
    pub editor: Option<Box<Draft>>,
    pub history: Option<History>,
    /// Default revert window of pushes made here, in seconds.
    pub window_s: u32,
}

impl Default for State {
    fn default() -> Self {
        Self {
            pushes: BTreeMap::new(),
            editor: None,
            history: None,
            window_s: 300,
        }
    }
}

/// The applied push to act on: the selected device's, else the one
/// whose window closes first.
pub fn urgent<'a>(sh: &Shared, me: &'a State) -> Option<&'a Push> {
    let dev = sh.selected_row().map(|r| (&r.tenant, &r.id));
    most_urgent(me.pushes.values(), dev)
}

/// `p`: the editor on the selected device, once its configuration arrives.
pub fn open_editor(sh: &mut Shared, me: &mut State, marks: &[(Id, Id)]) -> Vec<Effect> {
    // Marked devices make a rollout, edited from the first one's
    // configuration; they must be one customer's.
    let (tenant, device, name, devices) = if marks.is_empty() {
        let Some(row) = sh.selected_row() else {
            sh.notify("no device selected", true, 4);
            return Vec::new();
        };
        (
            row.tenant.clone(),
            row.id.clone(),
            row.name.to_string(),
            Vec::new(),
        )
    } else {
        let tenants: std::collections::BTreeSet<&crate::domain::Id> =
            marks.iter().map(|(t, _)| t).collect();
        if tenants.len() > 1 {
            sh.notify(
                "the marked devices belong to several customers: a rollout is for one",
                true,
                6,
            );
            return Vec::new();
        }
        let devices: Vec<_> = marks.iter().map(|(_, d)| d.clone()).collect();
        let (t, d) = marks[0].clone();
        let name = format!("{} devices", devices.len());
        (t, d, name, devices)
    };
    let draft = Draft::new(tenant.clone(), device.clone(), name, me.window_s).bulk(devices);
    let effect = Effect::call::<verbs::ConfigLatest>(
        &tenant,
        &DeviceRef {
            device: device.clone(),
        },
        Reply::Config,
    );
    me.editor = Some(Box::new(draft));
    sh.mode = Mode::Push;
    sh.help = false;
    vec![effect]
}

/// Keys while the editor is open.
pub fn on_editor_key(
    sh: &mut Shared,
    me: &mut State,
    edit: Option<Edit>,
    k: KeyEvent,
) -> Vec<Effect> {
    let Some(d) = me.editor.as_mut() else {
        sh.mode = Mode::Normal;
        return Vec::new();
    };
    match d.key(edit, k) {
        Outcome::Nothing => Vec::new(),
        Outcome::Cancel => {
            me.editor = None;
            sh.mode = Mode::Normal;
            sh.notify("push cancelled: nothing was sent", false, 4);
            Vec::new()
        }
        Outcome::Send if d.is_bulk() => {
            let args = CreateRollout {
                devices: d.devices.clone(),
                body: d.body(),
                reason: d.reason.trim().to_string(),
                window_s: Some(d.window_s),
                wave_size: None,
                actor: None,
            };
            vec![Effect::call::<verbs::RolloutCreate>(
                &d.tenant,
                &args,
                Reply::Created,
            )]
        }
        Outcome::Send => {
            let args = CreatePush {
                device: d.device.clone(),
                body: d.body(),
                previous: Some(d.previous.clone()),
                reason: d.reason.trim().to_string(),
                window_s: Some(d.window_s),
                actor: None,
            };
            vec![Effect::call::<verbs::PushCreate>(
                &d.tenant,
                &args,
                Reply::Created,
            )]
        }
    }
}

/// `C` / `R`: confirm or revert the urgent push.
pub fn act_on_urgent(sh: &mut Shared, me: &mut State, what: &'static str) -> Vec<Effect> {
    let Some(p) = urgent(sh, me) else {
        sh.notify("no push awaits confirmation", true, 4);
        return Vec::new();
    };
    // A rollout's wave is confirmed as one: the next wave depends on it.
    let reply = Reply::Action(what);
    let push = PushRef {
        push: p.id.clone(),
        reason: None,
    };
    vec![match (&p.rollout, what) {
        (Some(r), "confirm") => {
            let rollout = RolloutRef { rollout: r.clone() };
            Effect::call::<verbs::RolloutConfirm>(&p.tenant, &rollout, reply)
        }
        (_, "confirm") => Effect::call::<verbs::PushConfirm>(&p.tenant, &push, reply),
        _ => Effect::call::<verbs::PushRevert>(&p.tenant, &push, reply),
    }]
}

/// `H`: the selected device's push history.
pub fn open_history(sh: &mut Shared, me: &mut State) -> Vec<Effect> {
    let Some(row) = sh.selected_row() else {
        return Vec::new();
    };
    let query = PushQuery {
        device: Some(row.id.clone()),
        limit: 50,
        ..PushQuery::default()
    };
    let effect = Effect::call::<verbs::PushList>(&row.tenant, &query, Reply::History);
    me.history = Some(History {
        device: row.id.clone(),
        name: row.name.to_string(),
        pushes: Vec::new(),
    });
    vec![effect]
}

/// The pushed device's name (its id when the fleet does not know it).
pub fn device_name(sh: &Shared, p: &Push) -> String {
    sh.fleet
        .find(&p.tenant, &p.device)
        .map_or_else(|| p.device.to_string(), |r| r.name.to_string())
}

/// A push event: keep it, and say so when it reaches an outcome.
pub fn on_push(sh: &mut Shared, me: &mut State, p: Push) {
    if me
        .pushes
        .get(&p.id)
        .is_some_and(|old| old.version > p.version)
    {
        return;
    }
    let known = me.pushes.get(&p.id).map(|old| old.state);
    if known != Some(p.state) {
        let name = device_name(sh, &p);
        let (text, error) = match p.state {
            PushState::Applied { .. } => (
                format!(
                    "{name}: push applied; confirm within {}s or it reverts",
                    p.remaining_s(sh.now).unwrap_or(0)
                ),
                false,
            ),
            PushState::Confirmed => (format!("{name}: push confirmed"), false),
            PushState::Reverted { reason } => (
                format!("{name}: push reverted ({reason:?})").to_lowercase(),
                true,
            ),
            PushState::Failed => (
                format!(
                    "{name}: push failed: {}",
                    p.detail.as_ref().map_or("", |d| d.as_str())
                ),
                true,
            ),
            PushState::Rejected => (
                format!(
                    "{name}: push rejected: {}",
                    p.detail.as_ref().map_or("", |d| d.as_str())
                ),
                true,
            ),
            PushState::Draft | PushState::Sent => (String::new(), false),
        };
        if !text.is_empty() {
            sh.notify(text, error, 8);
        }
    }
    if let Some(h) = me.history.as_mut()
        && h.device == p.device
    {
        match h.pushes.iter_mut().find(|x| x.id == p.id) {
            Some(x) => *x = p.clone(),
            None => h.pushes.insert(0, p.clone()),
        }
    }
    me.pushes.insert(p.id.clone(), p);
    // Finished pushes are kept for a while for the toasts, not for ever.
    if me.pushes.len() > 500 {
        let done: Vec<_> = me
            .pushes
            .iter()
            .filter(|(_, p)| p.state.is_final())
            .map(|(k, _)| k.clone())
            .take(me.pushes.len() - 500)
            .collect();
        for k in done {
            me.pushes.remove(&k);
        }
    }
}

/// Keeps `p` unless a newer state of it is known: an answer and the
/// events travel apart, and the device's "applied" can come first.
fn keep_newest(me: &mut State, p: Push) {
    if me
        .pushes
        .get(&p.id)
        .is_none_or(|old| old.version <= p.version)
    {
        me.pushes.insert(p.id.clone(), p);
    }
}

/// The worker's answers to the pushes' calls. A rollout's creation
/// clears the fleet's marks (`fleet_marks`) it was made from.
pub fn on_answer(
    sh: &mut Shared,
    me: &mut State,
    fleet_marks: &mut Vec<(Id, Id)>,
    reply: Reply,
    answer: Result<Value, ApiError>,
) {
    match (reply, answer) {
        (Reply::Config, Ok(v)) => {
            if let Some(d) = me.editor.as_mut() {
                let body = v.get("body").and_then(Value::as_str).map(String::from);
                d.loaded(body);
            }
        }
        (Reply::Config, Err(e)) => {
            me.editor = None;
            sh.mode = Mode::Normal;
            sh.notify(format!("configuration not read: {}", e.message), true, 8);
        }
        (Reply::Created, Ok(v)) if v.get("devices").is_some() => {
            let id = v
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            let n = v["devices"].as_array().map_or(0, Vec::len);
            sh.notify(
                format!("rollout {id} to {n} devices: the canary's push is out"),
                false,
                8,
            );
            fleet_marks.clear();
            me.editor = None;
            sh.mode = Mode::Normal;
        }
        (Reply::Created, Ok(v)) => {
            if let Ok(p) = serde_json::from_value::<Push>(v) {
                let name = device_name(sh, &p);
                sh.notify(
                    format!("{name}: push sent; waiting for the device"),
                    false,
                    6,
                );
                keep_newest(me, p);
            }
            me.editor = None;
            sh.mode = Mode::Normal;
        }
        (Reply::Created, Err(e)) => match me.editor.as_mut() {
            Some(d) => d.refused(format!("{}: {}", e.code, e.message)),
            None => sh.notify(format!("push refused: {}", e.message), true, 8),
        },
        (Reply::Action(what), Ok(v)) => {
            if let Some(n) = v.as_array().map(Vec::len) {
                sh.notify(format!("{what} sent to the wave's {n} devices"), false, 5);
            } else if let Ok(p) = serde_json::from_value::<Push>(v) {
                let name = device_name(sh, &p);
                sh.notify(format!("{name}: {what} sent"), false, 5);
            }
        }
        (Reply::Action(what), Err(e)) => {
            sh.notify(format!("{what} refused: {}", e.message), true, 8);
        }
        (Reply::OpenPushes, Ok(v)) => {
            for p in sh.decoded::<Vec<Push>>("pushes", v).unwrap_or_default() {
                keep_newest(me, p);
            }
        }
        (Reply::History, Ok(v)) => {
            if let Some(list) = sh.decoded::<Vec<Push>>("push history", v)
                && let Some(h) = me.history.as_mut()
            {
                h.pushes = list;
            }
        }
        (Reply::OpenPushes | Reply::History, Err(e)) => {
            sh.notify(format!("pushes not read: {}", e.message), true, 6);
        }
        _ => {}
    }
}
