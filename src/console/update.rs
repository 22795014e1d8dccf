//! `update`: the only place the console's state changes. Pure: it takes a
//! message and returns the effects (IO) to run.

use super::lists::View;
use crate::api::args::NoArgs;
use crate::api::verbs;
use crate::domain::push::PushQuery;
use ratatui::crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};

use super::model::SORTS;
pub use super::msg::{Effect, Msg, Reply};
use super::state::{App, Connection, Mode};
use crate::bus::event::EventBody;
use crate::domain::device::DeviceStatus;
use crate::settings::keymap::{Action, Key, KeyMap, Lookup};

/// Applies one message.
pub fn update(app: &mut App, keymap: &KeyMap, msg: Msg) -> Vec<Effect> {
    // A live event moves neither the selection nor the clock: what the
    // deeper views should ask for is looked at on every other message
    // (keys, answers, ticks), not ten thousand times a second.
    let live = matches!(msg, Msg::Event(..));
    let mut effects = apply(app, keymap, msg);
    if !live {
        effects.extend(super::fetch::plan(app));
    }
    // The map asks for its sites and links while it is on screen.
    if app.view == View::Map && app.map.due(app.now) {
        app.map.asked = Some(app.now);
        effects.push(Effect::call::<verbs::Map>(
            &app.api_scope,
            &NoArgs {},
            Reply::Map,
        ));
    }
    effects
}

fn apply(app: &mut App, keymap: &KeyMap, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Term(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => on_key(app, keymap, k),
        Msg::Term(TermEvent::Resize(w, h)) => {
            app.size = (w, h);
            app.clamp();
            Vec::new()
        }
        Msg::Term(TermEvent::Mouse(m)) if app.mode == Mode::Normal && app.wallboard.is_none() => {
            on_mouse(app, m)
        }
        Msg::Term(_) => Vec::new(),
        Msg::Snapshot(s) => {
            app.fleet.replace_all(s.devices);
            app.incidents = s
                .incidents
                .into_iter()
                .map(|i| ((i.tenant.clone(), i.id.clone()), i))
                .collect();
            app.events_seq = s.events_seq;
            app.connection = Connection::Live;
            app.fleet.refresh();
            app.clamp();
            // A wallboard credential reads neither: nothing to ask.
            if app.role < crate::domain::access::Role::Viewer {
                return Vec::new();
            }
            vec![
                Effect::call::<verbs::PushList>(
                    &app.api_scope,
                    &PushQuery {
                        open_only: true,
                        limit: 1000,
                        ..PushQuery::default()
                    },
                    Reply::OpenPushes,
                ),
                Effect::call::<verbs::Tenants>(&app.api_scope, &NoArgs {}, Reply::Tenants),
            ]
        }
        Msg::Event(seq, e) => {
            if seq <= app.events_seq {
                // Already in the snapshot.
                return Vec::new();
            }
            app.events_seq = seq;
            let clock_ms = (app.now - e.ts).num_milliseconds().max(0) as f64;
            #[allow(clippy::cast_possible_truncation)]
            let real_ms = (clock_ms / app.clock_speed.max(1e-9)).round() as i64;
            app.lag_ms = Some(real_ms);
            match e.body {
                EventBody::Device(row) => app.fleet.upsert(row),
                EventBody::Incident(i) => {
                    app.incidents.insert((i.tenant.clone(), i.id.clone()), i);
                }
                EventBody::Push(p) => super::push_flow::on_push(app, p),
                EventBody::Alert(a) => {
                    app.tail.push(a);
                    if app.view == View::Alerts {
                        app.clamp();
                    }
                }
                EventBody::Link(_) => {}
            }
            Vec::new()
        }
        Msg::Disconnected(why) => {
            app.connection = Connection::Lost(why.clone());
            app.notify(format!("connection lost: {why}"), true, 5);
            Vec::new()
        }
        Msg::Answer(reply, answer) => super::push_flow::on_answer(app, reply, answer),
        Msg::Tick(now) => {
            app.now = now;
            app.rotate();
            app.fleet.refresh();
            app.clamp();
            Vec::new()
        }
    }
}

fn on_key(app: &mut App, keymap: &KeyMap, k: KeyEvent) -> Vec<Effect> {
    if app.mode == Mode::Filter {
        return on_filter_key(app, k);
    }
    if app.mode == Mode::Push {
        return super::push_flow::on_editor_key(app, k);
    }
    if app.mode == Mode::Palette {
        return super::palette::on_key(app, k);
    }
    if app.mode == Mode::Note {
        return super::incident::on_note_key(app, k);
    }
    if app.wallboard.is_some() {
        // A wallboard takes no input but quit.
        return match keymap.lookup(&[], Key::from_event(&k)) {
            Lookup::Action(Action::Quit) => act(app, Action::Quit),
            _ => Vec::new(),
        };
    }
    let key = Key::from_event(&k);
    match keymap.lookup(&app.pending, key) {
        Lookup::Pending => {
            app.pending.push(key);
            Vec::new()
        }
        Lookup::Unbound => {
            app.pending.clear();
            Vec::new()
        }
        Lookup::Action(a) => {
            app.pending.clear();
            act(app, a)
        }
    }
}

fn on_filter_key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    match k.code {
        KeyCode::Enter => app.mode = Mode::Normal,
        KeyCode::Esc => {
            app.mode = Mode::Normal;
            app.filter_input.clear();
        }
        KeyCode::Backspace => {
            app.filter_input.pop();
        }
        KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
            return vec![Effect::Quit];
        }
        KeyCode::Char('u') if k.modifiers.contains(KeyModifiers::CONTROL) => {
            app.filter_input.clear()
        }
        KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
            if app.filter_input.chars().count() < 128 {
                app.filter_input.push(c);
            }
        }
        _ => return Vec::new(),
    }
    app.apply_filter();
    Vec::new()
}

/// Performs one keymap action.
pub fn act(app: &mut App, a: Action) -> Vec<Effect> {
    if a.need() > app.role {
        let text = format!(
            "{} needs the {} role; you are {}",
            crate::domain::enum_name(&a),
            a.need(),
            app.role
        );
        app.notify(text, true, 5);
        return Vec::new();
    }
    let effects = match a {
        Action::Quit => {
            app.quit = true;
            return vec![Effect::Quit];
        }
        Action::None => Vec::new(),
        Action::MoveDown
        | Action::MoveUp
        | Action::PageDown
        | Action::PageUp
        | Action::GoTop
        | Action::GoBottom
        | Action::Open
        | Action::Back
        | Action::Forward => navigate(app, a),
        Action::Filter
        | Action::Clear
        | Action::SortNext
        | Action::SortReverse
        | Action::StatusNext
        | Action::GroupNext
        | Action::Help
        | Action::Palette
        | Action::PauseTail
        | Action::QueueResolved => list(app, a),
        Action::Mark
        | Action::MarkRange
        | Action::IncidentMerge
        | Action::IncidentAck
        | Action::IncidentTake
        | Action::IncidentEscalate
        | Action::IncidentResolve
        | Action::IncidentSnooze
        | Action::IncidentWake
        | Action::IncidentReopen
        | Action::IncidentNote => marks(app, a),
        Action::ViewFleet
        | Action::ViewIncidents
        | Action::ViewAlerts
        | Action::ViewTenants
        | Action::ViewMap
        | Action::ViewSite
        | Action::ViewTrends
        | Action::ViewAudit
        | Action::RangeLonger
        | Action::RangeShorter
        | Action::ChartNext
        | Action::MapZoomIn
        | Action::MapZoomOut
        | Action::MapFit
        | Action::PanWest
        | Action::PanEast
        | Action::PanNorth
        | Action::PanSouth => views(app, a),
        Action::PushEdit | Action::PushConfirm | Action::PushRevert | Action::PushHistory => {
            push(app, a)
        }
    };
    if effects.is_empty() {
        app.clamp();
    }
    effects
}

/// Moving the selection, opening, and going back and forth.
fn navigate(app: &mut App, a: Action) -> Vec<Effect> {
    let page = app.page.max(1);
    match a {
        Action::MoveDown => {
            app.selected = app.selected.saturating_add(1);
            follow(app);
        }
        Action::MoveUp => {
            app.selected = app.selected.saturating_sub(1);
            follow(app);
        }
        Action::PageDown => {
            app.selected = app.selected.saturating_add(page);
            app.offset = app.offset.saturating_add(page);
        }
        Action::PageUp => {
            app.selected = app.selected.saturating_sub(page);
            app.offset = app.offset.saturating_sub(page);
        }
        Action::GoTop => app.selected = 0,
        Action::GoBottom => app.selected = app.view_len().saturating_sub(1),
        Action::Open => open(app),
        Action::Back => app.go_back(),
        Action::Forward => app.go_forward(),
        _ => {}
    }
    Vec::new()
}

/// The list's filter, sort, status and grouping; help, the palette, the tail.
fn list(app: &mut App, a: Action) -> Vec<Effect> {
    match a {
        Action::Filter => {
            app.help = false;
            app.mode = Mode::Filter;
        }
        Action::Clear => {
            if app.help {
                app.help = false;
            } else if app.view == View::Fleet && app.fetched.detail_open {
                app.fetched.detail_open = false;
                app.clamp();
            } else if app.view == View::Incidents && app.fetched.incident_open {
                app.fetched.incident_open = false;
                app.clamp();
            } else if app.history.is_some() {
                app.history = None;
            } else if app.view == View::Incidents && !app.incident_marks.is_empty() {
                app.incident_marks.clear();
            } else if app.view == View::Alerts && !app.alert_marks.is_empty() {
                app.alert_marks.clear();
            } else if !app.marks.is_empty() {
                app.marks.clear();
            } else {
                app.filter_input.clear();
                if app.view == View::Fleet {
                    app.fleet.set_status(None);
                }
                app.apply_filter();
            }
        }
        Action::SortNext => {
            let (sort, desc) = app.fleet.sort();
            let i = SORTS.iter().position(|s| *s == sort).unwrap_or(0);
            app.fleet.set_sort(SORTS[(i + 1) % SORTS.len()], desc);
            app.fleet.refresh();
        }
        Action::SortReverse => {
            let (sort, desc) = app.fleet.sort();
            app.fleet.set_sort(sort, !desc);
            app.fleet.refresh();
        }
        Action::StatusNext => {
            let next = match app.fleet.status_filter() {
                None => Some(DeviceStatus::Online),
                Some(DeviceStatus::Online) => Some(DeviceStatus::Stale),
                Some(DeviceStatus::Stale) => Some(DeviceStatus::Offline),
                Some(DeviceStatus::Offline) => Some(DeviceStatus::Pending),
                Some(DeviceStatus::Pending) => None,
            };
            app.fleet.set_status(next);
            app.fleet.refresh();
            app.selected = 0;
        }
        Action::GroupNext if app.view == View::Fleet => {
            let next = app.fleet.group().next();
            app.fleet.set_group(next);
            app.fleet.refresh();
            app.selected = 0;
        }
        Action::GroupNext => {}
        Action::Help => app.help = !app.help,
        Action::Palette => {
            app.mode = Mode::Palette;
            app.palette.clear();
        }
        Action::PauseTail => app.tail.toggle(),
        Action::QueueResolved => {
            app.queue_resolved = !app.queue_resolved;
            let shown = if app.queue_resolved {
                "shown"
            } else {
                "hidden"
            };
            app.notify(format!("resolved incidents {shown}"), false, 3);
        }

        _ => {}
    }
    Vec::new()
}

/// Marks, merges and incident triage.
fn marks(app: &mut App, a: Action) -> Vec<Effect> {
    match a {
        Action::Mark if matches!(app.view, View::Incidents | View::Alerts) => {
            super::incident::toggle_mark(app)
        }
        Action::MarkRange if matches!(app.view, View::Incidents | View::Alerts) => {
            super::incident::toggle_range(app)
        }
        Action::MarkRange => mark_range(app),
        Action::IncidentMerge if app.view == View::Alerts => {
            return super::incident::merge_alerts(app);
        }
        Action::IncidentMerge => return super::incident::merge(app),
        Action::Mark => {
            if let Some(r) = app.selected_row() {
                let key = (r.tenant.clone(), r.id.clone());
                match app.marks.iter().position(|m| *m == key) {
                    Some(i) => {
                        app.marks.remove(i);
                    }
                    None => app.marks.push(key),
                }
                app.selected = app.selected.saturating_add(1);
            }
        }
        Action::IncidentAck => return super::triage::act(app, "acknowledge", None),
        Action::IncidentTake => return super::triage::act(app, "take", None),
        Action::IncidentEscalate => return super::triage::act(app, "escalate", None),
        Action::IncidentResolve => return super::triage::act(app, "resolve", None),
        Action::IncidentSnooze => {
            let len = format!("{}s", super::incident::SNOOZE_S);
            return super::triage::act(app, "snooze", Some(&len));
        }
        Action::IncidentWake => return super::triage::act(app, "wake", None),
        Action::IncidentReopen => return super::triage::act(app, "reopen", None),
        Action::IncidentNote => super::incident::open_note(app),
        _ => {}
    }
    Vec::new()
}

/// Switching views; the charts' range and measure; the map's camera.
fn views(app: &mut App, a: Action) -> Vec<Effect> {
    match a {
        Action::ViewFleet => app.show(View::Fleet),
        Action::ViewIncidents => app.show(View::Incidents),
        Action::ViewAlerts => app.show(View::Alerts),
        Action::ViewTenants => app.show(View::Tenants),
        Action::ViewMap => app.show(View::Map),
        Action::ViewSite => match super::fetch::selected_site(app) {
            Some(site) => super::fetch::open_site(app, site),
            None if app.fetched.site_ref.is_some() => app.show(View::Site),
            None => app.notify("select a device or a site first", true, 4),
        },
        Action::ViewTrends => app.show(View::Trends),
        Action::ViewAudit => app.show(View::Audit),
        Action::RangeLonger => app.fetched.step_range(app.view == View::Trends, true),
        Action::RangeShorter => app.fetched.step_range(app.view == View::Trends, false),
        Action::ChartNext => app.fetched.chart_measure = app.fetched.chart_measure.next(),
        Action::MapZoomIn => camera(app, Some((0.5, 0.0, 0.0))),
        Action::MapZoomOut => camera(app, Some((2.0, 0.0, 0.0))),
        Action::MapFit => camera(app, None),
        Action::PanWest => camera(app, Some((1.0, -0.25, 0.0))),
        Action::PanEast => camera(app, Some((1.0, 0.25, 0.0))),
        Action::PanNorth => camera(app, Some((1.0, 0.0, 0.25))),
        Action::PanSouth => camera(app, Some((1.0, 0.0, -0.25))),
        _ => {}
    }
    Vec::new()
}

/// Config pushes.
fn push(app: &mut App, a: Action) -> Vec<Effect> {
    match a {
        Action::PushEdit => return super::push_flow::open_editor(app),
        Action::PushConfirm => return super::push_flow::act_on_urgent(app, "confirm"),
        Action::PushRevert => return super::push_flow::act_on_urgent(app, "revert"),
        Action::PushHistory => return super::push_flow::open_history(app),
        _ => {}
    }
    Vec::new()
}

/// The mouse, when the console takes it: the wheel scrolls the list (and
/// zooms the map), a click selects a row, a click on the selected row
/// opens it.
fn on_mouse(app: &mut App, m: ratatui::crossterm::event::MouseEvent) -> Vec<Effect> {
    use ratatui::crossterm::event::{MouseButton, MouseEventKind};
    let map = app.view == View::Map;
    match m.kind {
        MouseEventKind::ScrollDown if map => act(app, Action::MapZoomOut),
        MouseEventKind::ScrollUp if map => act(app, Action::MapZoomIn),
        MouseEventKind::ScrollDown => act(app, Action::MoveDown),
        MouseEventKind::ScrollUp => act(app, Action::MoveUp),
        MouseEventKind::Down(MouseButton::Left)
            if !map
                && !app.help
                && m.column < super::layout::table_width(app.size, app.body_kind()) =>
        {
            let top = super::layout::first_row_y(app.size, app.body_kind());
            let Some(line) = m.row.checked_sub(top) else {
                return Vec::new();
            };
            let at = app.offset + usize::from(line);
            if line as usize >= app.page || at >= app.view_len() {
                return Vec::new();
            }
            if at == app.selected {
                return act(app, Action::Open);
            }
            app.selected = at;
            app.clamp();
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// `x` in the fleet: marks every device from the last marked one to the
/// selection.
fn mark_range(app: &mut App) {
    if app.view != View::Fleet {
        return;
    }
    let from = app
        .marks
        .last()
        .and_then(|(t, d)| {
            (0..app.fleet.len()).find(|&i| {
                app.fleet
                    .get(i)
                    .is_some_and(|r| r.tenant == *t && r.id == *d)
            })
        })
        .unwrap_or(app.selected);
    let (lo, hi) = (from.min(app.selected), from.max(app.selected));
    for i in lo..=hi {
        if let Some(r) = app.fleet.get(i) {
            let key = (r.tenant.clone(), r.id.clone());
            if !app.marks.contains(&key) {
                app.marks.push(key);
            }
        }
    }
}

/// Moves the map's camera (`None`: fit the sites again).
fn camera(app: &mut App, how: Option<(f64, f64, f64)>) {
    if app.view != View::Map {
        return;
    }
    let dots = super::layout::map_dots(app.size);
    app.map.move_camera(&app.filter_input, dots, how);
}

/// Keeps the map's selected site in sight.
fn follow(app: &mut App) {
    if app.view == View::Map {
        app.clamp();
        app.map.follow(&app.filter_input, app.selected);
    }
}

/// `enter`: the fleet's device opens (or closes) its detail pane; the
/// map's site opens the site view; a site's or a trend's device opens in
/// the fleet with its detail.
fn open(app: &mut App) {
    let device = match app.view {
        View::Fleet => {
            app.fetched.detail_open = !app.fetched.detail_open;
            app.clamp();
            return;
        }
        View::Incidents => {
            app.fetched.incident_open = !app.fetched.incident_open;
            app.clamp();
            return;
        }
        View::Map => {
            if let Some(site) = super::fetch::selected_site(app) {
                super::fetch::open_site(app, site);
            }
            return;
        }
        View::Site => super::site::rows(app)
            .get(app.selected)
            .map(|r| (r.device.tenant.clone(), r.device.id.clone())),
        View::Trends => super::trends::rows(app)
            .get(app.selected)
            .map(|r| (r.trend.tenant.clone(), r.trend.device.clone())),
        _ => None,
    };
    if let Some((tenant, id)) = device {
        super::fetch::open_device(app, &tenant, &id);
        app.clamp();
    }
}
