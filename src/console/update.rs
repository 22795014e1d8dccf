//! `update`: the only place the console's state changes. Pure: it takes a
//! message and returns the effects (IO) to run.

use super::nav::View;
use crate::api::args::NoArgs;
use crate::api::verbs;
use crate::domain::push::PushQuery;
use ratatui::crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};

use super::KeyMap;
use super::app::App;
use super::command::{self, Arg, Invocation, Motion, Zoom};
pub use super::msg::{Edit, Effect, Msg, Reply};
use super::state::{Connection, Mode};
use crate::bus::event::EventBody;
use crate::settings::keymap::{Key, Lookup, Section};

/// Applies one message.
pub fn update(app: &mut App, keymap: &KeyMap, msg: Msg) -> Vec<Effect> {
    // A live event moves neither the selection nor the clock: what the
    // deeper views should ask for is looked at on every other message
    // (keys, answers, ticks), not ten thousand times a second.
    let live = matches!(msg, Msg::Event(..));
    let mut effects = apply(app, keymap, msg);
    if app.help && !live {
        // What the help shows, for its scrolling keys: counted while it
        // is open, not on every key typed elsewhere.
        app.help_len = keymap.help_for(app.acting_role()).len();
    }
    if !live {
        effects.extend((super::screens::of(app.view).plan)(app));
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
        Msg::Notice(text, error) => {
            app.notify(text, error, if error { 8 } else { 4 });
            Vec::new()
        }
        Msg::Term(TermEvent::Paste(text)) => {
            on_paste(app, &text);
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
                EventBody::Push(p) => {
                    super::screens::pushes::on_push(&mut app.shared, &mut app.screens.pushes, p)
                }
                EventBody::Alert(a) => {
                    app.screens.alerts.tail.push(a);
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
        Msg::Answer(reply, answer) => super::answers::on_answer(app, reply, answer),
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
    let section = app.mode.section();
    let key = Key::from_event(&k);
    let found = match keymap.lookup(section, &app.pending, key) {
        Lookup::Pending => {
            app.pending.push(key);
            return Vec::new();
        }
        Lookup::Unbound => None,
        Lookup::Run(inv) => Some(inv),
    };
    app.pending.clear();
    if app.wallboard.is_some() {
        // A wallboard takes no input but quit.
        return match found {
            Some(inv) if std::ptr::eq(inv.command, &command::QUIT) => command::run(app, &inv),
            _ => Vec::new(),
        };
    }
    if section == Section::Normal {
        return found.map_or_else(Vec::new, |inv| command::run(app, &inv));
    }
    // A mode that takes text: its edits, else a command (quit), else the
    // key is typed.
    let edit = found.as_ref().and_then(Invocation::edit);
    if let (None, Some(inv)) = (edit, &found) {
        return command::run(app, inv);
    }
    match app.mode {
        Mode::Filter => on_filter_key(app, edit, k),
        Mode::Push => {
            super::screens::pushes::on_editor_key(&mut app.shared, &mut app.screens.pushes, edit, k)
        }
        Mode::Palette => super::palette::on_key(app, edit, k),
        Mode::Note => super::screens::incidents::triage::on_note_key(
            &mut app.shared,
            &mut app.screens.incidents,
            edit,
            k,
        ),
        Mode::Normal => Vec::new(),
    }
}

fn on_filter_key(app: &mut App, edit: Option<Edit>, k: KeyEvent) -> Vec<Effect> {
    match (edit, k.code) {
        (Some(Edit::Accept), _) => app.mode = Mode::Normal,
        (Some(Edit::Cancel), _) => {
            app.mode = Mode::Normal;
            app.filter_input.clear();
        }
        (Some(Edit::DeleteBack), _) => {
            app.filter_input.pop();
        }
        (Some(Edit::ClearLine), _) => app.filter_input.clear(),
        (None, KeyCode::Char(c)) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
            if app.filter_input.chars().count() < FILTER_MAX {
                app.filter_input.push(c);
            }
        }
        _ => return Vec::new(),
    }
    app.apply_filter();
    Vec::new()
}

/// The longest filter line, in characters.
const FILTER_MAX: usize = 128;

/// A paste (bracketed paste): text for the line or editor that has the
/// keys, never keys. A one-line field takes it as one line (controls and
/// line breaks become spaces; nothing is run); the config and note
/// editors keep its lines; the normal mode and the typed confirmation of
/// a push take none.
fn on_paste(app: &mut App, text: &str) {
    // At most what any field holds, read no further.
    let text: String = text.chars().take(64 * 1024).collect();
    let one_line = |room: usize| -> String {
        let flat: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let flat = flat.split_whitespace().collect::<Vec<_>>().join(" ");
        flat.chars().take(room).collect()
    };
    match app.mode {
        Mode::Filter => {
            let room = FILTER_MAX.saturating_sub(app.filter_input.chars().count());
            let add = one_line(room);
            app.filter_input.push_str(&add);
            app.apply_filter();
        }
        Mode::Palette => {
            let room = super::palette::MAX_LINE.saturating_sub(app.palette.chars().count());
            let add = one_line(room);
            app.palette.push_str(&add);
        }
        Mode::Note => {
            if let Some(d) = app.screens.incidents.note.as_mut() {
                d.editor
                    .insert_str(crate::domain::text::sanitize(&text, 64 * 1024, true));
            }
        }
        Mode::Push => {
            if let Some(d) = app.screens.pushes.editor.as_mut()
                && d.step == super::screens::pushes::editor::Step::Edit
            {
                d.editor
                    .insert_str(crate::domain::text::sanitize(&text, 64 * 1024, true));
            }
        }
        Mode::Normal => {}
    }
}

/// The mouse, when the console takes it: the wheel scrolls the list (and
/// zooms the map), a click selects a row, a click on the selected row
/// opens it.
fn on_mouse(app: &mut App, m: ratatui::crossterm::event::MouseEvent) -> Vec<Effect> {
    use ratatui::crossterm::event::{MouseButton, MouseEventKind};
    let map = app.view == View::Map;
    match m.kind {
        MouseEventKind::ScrollDown if map => {
            command::run(app, &Invocation::new(&command::ZOOM, Arg::Zoom(Zoom::Out)))
        }
        MouseEventKind::ScrollUp if map => {
            command::run(app, &Invocation::new(&command::ZOOM, Arg::Zoom(Zoom::In)))
        }
        MouseEventKind::ScrollDown => command::run(
            app,
            &Invocation::new(&command::MOVE, Arg::Motion(Motion::Down)),
        ),
        MouseEventKind::ScrollUp => command::run(
            app,
            &Invocation::new(&command::MOVE, Arg::Motion(Motion::Up)),
        ),
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
                return command::run(app, &Invocation::bare(&command::OPEN));
            }
            app.selected = at;
            app.clamp();
            Vec::new()
        }
        _ => Vec::new(),
    }
}
