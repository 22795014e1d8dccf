//! The console's side of config pushes: opening the editor, sending,
//! confirming and reverting, the history overlay, and following push
//! events and the worker's answers. Pure, like `update`: IO is returned as
//! effects.

use crate::api::args::{CreatePush, CreateRollout, DeviceRef, PushRef, RolloutRef};
use crate::api::verbs;
use crate::domain::push::PushQuery;
use ratatui::crossterm::event::KeyEvent;
use serde_json::Value;

use super::app::App;
use super::push::{Draft, Outcome};
use super::screens::pushes::History;
use super::state::Mode;
use super::update::{Edit, Effect, Reply};
use crate::api::ApiError;
use crate::domain::push::{Push, PushState};

/// `p`: the editor on the selected device, once its configuration arrives.
pub fn open_editor(app: &mut App) -> Vec<Effect> {
    // Marked devices make a rollout, edited from the first one's
    // configuration; they must be one customer's.
    let (tenant, device, name, devices) = if app.screens.fleet.marks.is_empty() {
        let Some(row) = app.selected_row() else {
            app.notify("no device selected", true, 4);
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
            app.screens.fleet.marks.iter().map(|(t, _)| t).collect();
        if tenants.len() > 1 {
            app.notify(
                "the marked devices belong to several customers: a rollout is for one",
                true,
                6,
            );
            return Vec::new();
        }
        let devices: Vec<_> = app
            .screens
            .fleet
            .marks
            .iter()
            .map(|(_, d)| d.clone())
            .collect();
        let (t, d) = app.screens.fleet.marks[0].clone();
        let name = format!("{} devices", devices.len());
        (t, d, name, devices)
    };
    let draft = Draft::new(
        tenant.clone(),
        device.clone(),
        name,
        app.screens.pushes.window_s,
    )
    .bulk(devices);
    let effect = Effect::call::<verbs::ConfigLatest>(
        &tenant,
        &DeviceRef {
            device: device.clone(),
        },
        Reply::Config,
    );
    app.screens.pushes.editor = Some(Box::new(draft));
    app.mode = Mode::Push;
    app.help = false;
    vec![effect]
}

/// Keys while the editor is open.
pub fn on_editor_key(app: &mut App, edit: Option<Edit>, k: KeyEvent) -> Vec<Effect> {
    let Some(d) = app.screens.pushes.editor.as_mut() else {
        app.mode = Mode::Normal;
        return Vec::new();
    };
    match d.key(edit, k) {
        Outcome::Nothing => Vec::new(),
        Outcome::Cancel => {
            app.screens.pushes.editor = None;
            app.mode = Mode::Normal;
            app.notify("push cancelled: nothing was sent", false, 4);
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
pub fn act_on_urgent(app: &mut App, what: &'static str) -> Vec<Effect> {
    let Some(p) = app.urgent_push() else {
        app.notify("no push awaits confirmation", true, 4);
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
pub fn open_history(app: &mut App) -> Vec<Effect> {
    let Some(row) = app.selected_row() else {
        return Vec::new();
    };
    let query = PushQuery {
        device: Some(row.id.clone()),
        limit: 50,
        ..PushQuery::default()
    };
    let effect = Effect::call::<verbs::PushList>(&row.tenant, &query, Reply::History);
    app.screens.pushes.history = Some(History {
        device: row.id.clone(),
        name: row.name.to_string(),
        pushes: Vec::new(),
    });
    vec![effect]
}

fn device_name(app: &App, p: &Push) -> String {
    app.fleet
        .find(&p.tenant, &p.device)
        .map_or_else(|| p.device.to_string(), |r| r.name.to_string())
}

/// A push event: keep it, and say so when it reaches an outcome.
pub fn on_push(app: &mut App, p: Push) {
    if app
        .screens
        .pushes
        .pushes
        .get(&p.id)
        .is_some_and(|old| old.version > p.version)
    {
        return;
    }
    let known = app.screens.pushes.pushes.get(&p.id).map(|old| old.state);
    if known != Some(p.state) {
        let name = device_name(app, &p);
        let (text, error) = match p.state {
            PushState::Applied { .. } => (
                format!(
                    "{name}: push applied; confirm within {}s or it reverts",
                    p.remaining_s(app.now).unwrap_or(0)
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
            app.notify(text, error, 8);
        }
    }
    if let Some(h) = app.screens.pushes.history.as_mut()
        && h.device == p.device
    {
        match h.pushes.iter_mut().find(|x| x.id == p.id) {
            Some(x) => *x = p.clone(),
            None => h.pushes.insert(0, p.clone()),
        }
    }
    app.screens.pushes.pushes.insert(p.id.clone(), p);
    // Finished pushes are kept for a while for the toasts, not for ever.
    if app.screens.pushes.pushes.len() > 500 {
        let done: Vec<_> = app
            .screens
            .pushes
            .pushes
            .iter()
            .filter(|(_, p)| p.state.is_final())
            .map(|(k, _)| k.clone())
            .take(app.screens.pushes.pushes.len() - 500)
            .collect();
        for k in done {
            app.screens.pushes.pushes.remove(&k);
        }
    }
}

/// Keeps `p` unless a newer state of it is known: an answer and the
/// events travel apart, and the device's "applied" can come first.
fn keep_newest(app: &mut App, p: Push) {
    if app
        .screens
        .pushes
        .pushes
        .get(&p.id)
        .is_none_or(|old| old.version <= p.version)
    {
        app.screens.pushes.pushes.insert(p.id.clone(), p);
    }
}

/// The worker answered.
pub fn on_answer(app: &mut App, reply: Reply, answer: Result<Value, ApiError>) -> Vec<Effect> {
    match (reply, answer) {
        (Reply::Triage(action), answer) => {
            super::screens::incidents::triage::on_answer(
                &mut app.shared,
                &mut app.screens.incidents,
                action,
                answer,
            );
            app.clamp();
        }
        (Reply::Tenants, answer) => {
            super::screens::tenants::on_answer(&mut app.shared, &mut app.screens.tenants, answer);
            app.clamp();
        }
        (Reply::Map, answer) => {
            super::screens::map::on_answer(&mut app.shared, &mut app.screens.map, answer);
            app.clamp();
        }
        (Reply::Config, Ok(v)) => {
            if let Some(d) = app.screens.pushes.editor.as_mut() {
                let body = v.get("body").and_then(Value::as_str).map(String::from);
                d.loaded(body);
            }
        }
        (Reply::Config, Err(e)) => {
            app.screens.pushes.editor = None;
            app.mode = Mode::Normal;
            app.notify(format!("configuration not read: {}", e.message), true, 8);
        }
        (Reply::Created, Ok(v)) if v.get("devices").is_some() => {
            let id = v
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            let n = v["devices"].as_array().map_or(0, Vec::len);
            app.notify(
                format!("rollout {id} to {n} devices: the canary's push is out"),
                false,
                8,
            );
            app.screens.fleet.marks.clear();
            app.screens.pushes.editor = None;
            app.mode = Mode::Normal;
        }
        (Reply::Created, Ok(v)) => {
            if let Ok(p) = serde_json::from_value::<Push>(v) {
                let name = device_name(app, &p);
                app.notify(
                    format!("{name}: push sent; waiting for the device"),
                    false,
                    6,
                );
                keep_newest(app, p);
            }
            app.screens.pushes.editor = None;
            app.mode = Mode::Normal;
        }
        (Reply::Created, Err(e)) => match app.screens.pushes.editor.as_mut() {
            Some(d) => d.refused(format!("{}: {}", e.code, e.message)),
            None => app.notify(format!("push refused: {}", e.message), true, 8),
        },
        (Reply::Action(what), Ok(v)) => {
            if let Some(n) = v.as_array().map(Vec::len) {
                app.notify(format!("{what} sent to the wave's {n} devices"), false, 5);
            } else if let Ok(p) = serde_json::from_value::<Push>(v) {
                let name = device_name(app, &p);
                app.notify(format!("{name}: {what} sent"), false, 5);
            }
        }
        (Reply::Action(what), Err(e)) => {
            app.notify(format!("{what} refused: {}", e.message), true, 8);
        }
        (Reply::OpenPushes, Ok(v)) => {
            for p in app.decoded::<Vec<Push>>("pushes", v).unwrap_or_default() {
                keep_newest(app, p);
            }
        }
        (Reply::History, Ok(v)) => {
            if let Some(list) = app.decoded::<Vec<Push>>("push history", v)
                && let Some(h) = app.screens.pushes.history.as_mut()
            {
                h.pushes = list;
            }
        }
        (Reply::OpenPushes | Reply::History, Err(e)) => {
            app.notify(format!("pushes not read: {}", e.message), true, 6);
        }
        (
            reply @ (Reply::Device(_)
            | Reply::Site(_)
            | Reply::Trends(_)
            | Reply::Chart(_)
            | Reply::Audit
            | Reply::Incident(_)),
            answer,
        ) => super::fetch::on_answer(app, reply, answer),
    }
    Vec::new()
}
