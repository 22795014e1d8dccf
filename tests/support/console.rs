//! The console's test bench: a deterministic fleet, an app fed through the
//! real update loop, and the screen as text.

use chrono::{DateTime, Duration, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use vigie::api::Snapshot;
use vigie::console::KeyMap;
use vigie::console::app::App;
use vigie::console::update::{Effect, Msg, update};
use vigie::console::views::{self, Ui};
use vigie::domain::device::DeviceStatus;
use vigie::domain::fleet::StatusCounts;
use vigie::domain::model::DeviceRow;
use vigie::settings::theme::{Depth, Theme};

pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

/// A deterministic fleet: the simulator's inventory with a spread of states.
pub fn rows(n: usize) -> Vec<DeviceRow> {
    let plan = vigie::sim::plan(7, n);
    let sites: std::collections::HashMap<_, _> = plan
        .inventory
        .sites
        .iter()
        .map(|s| (s.id.clone(), s.name.clone()))
        .collect();
    plan.inventory
        .devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let status = match i % 17 {
                0 => DeviceStatus::Offline,
                1 | 2 => DeviceStatus::Stale,
                3 => DeviceStatus::Pending,
                _ => DeviceStatus::Online,
            };
            let seen = (status != DeviceStatus::Pending)
                .then(|| t0() - Duration::seconds((i as i64 * 37) % 4_000));
            DeviceRow {
                tenant: d.tenant.clone(),
                id: d.id.clone(),
                name: d.name.clone(),
                kind: d.kind,
                site: d.site.clone(),
                site_name: sites.get(&d.site).cloned().unwrap_or_default(),
                firmware: d.firmware.clone(),
                status,
                status_since: seen,
                last_seen: seen,
                cpu_pct: seen.map(|_| ((i * 7) % 100) as f32),
                mem_pct: seen.map(|_| 40.0 + (i % 30) as f32),
                signal_dbm: (d.kind == vigie::domain::model::DeviceKind::Cpe)
                    .then(|| -50.0 - (i % 40) as f32),
                uptime_s: seen.map(|_| 3_600),
            }
        })
        .collect()
}

pub fn snapshot(rows: Vec<DeviceRow>) -> Snapshot {
    let mut counts = StatusCounts::default();
    for r in &rows {
        counts.add(r.status, 1);
    }
    Snapshot {
        events_seq: 10,
        counts,
        devices: rows,
        incidents: vec![],
    }
}

pub fn app_with(rows: Vec<DeviceRow>, height: u16) -> (App, KeyMap) {
    let keymap = KeyMap::builtin();
    let mut app = App::new("all tenants", "ana", t0());
    update(&mut app, &keymap, Msg::Term(TermEvent::Resize(80, height)));
    update(&mut app, &keymap, Msg::Snapshot(Box::new(snapshot(rows))));
    update(&mut app, &keymap, Msg::Tick(t0()));
    (app, keymap)
}

pub fn render(app: &App, keymap: &KeyMap, w: u16, h: u16, depth: Depth) -> Terminal<TestBackend> {
    let theme = Theme::builtin(depth);
    let ui = Ui {
        theme: &theme,
        keymap,
    };
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| views::draw(app, &ui, f)).unwrap();
    terminal
}

pub fn screen(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

pub fn key(code: KeyCode) -> Msg {
    Msg::Term(TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub fn press(app: &mut App, keymap: &KeyMap, keys: &str) -> Vec<Effect> {
    let mut effects = Vec::new();
    for c in keys.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            '\u{1b}' => KeyCode::Esc,
            c => KeyCode::Char(c),
        };
        effects.extend(update(app, keymap, key(code)));
    }
    effects
}

pub fn calls(effects: &[Effect]) -> Vec<(&'static str, serde_json::Value)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Call { verb, body, .. } => Some((*verb, body.clone())),
            _ => None,
        })
        .collect()
}

/// The screen at 80×24 and 160×48, in colour and mono, each checked by
/// `check` first, named `{w}x{h}_{colour|mono}` for a snapshot.
pub fn screens(app: &mut App, keymap: &KeyMap, check: impl Fn(&str)) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        update(app, keymap, Msg::Term(TermEvent::Resize(w, h)));
        for (depth, label) in [(Depth::Ansi16, "colour"), (Depth::None, "mono")] {
            let s = screen(&render(app, keymap, w, h, depth));
            check(&s);
            out.push((format!("{w}x{h}_{label}"), s));
        }
    }
    out
}
