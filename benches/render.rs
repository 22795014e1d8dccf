//! Frame time of the fleet view, the map, the fleet with a device's detail
//! pane (four sparklines) and the trends view (a braille chart of 160
//! buckets over its ranking) at 200×60 with 100,000 and 1,000,000 devices
//! in the model: only the visible rows are built, and the map draws sites
//! and access points, not devices, so each should cost the same at both
//! sizes.
//!
//! `cargo bench --bench render`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use vigie::api::Snapshot;
use vigie::console::KeyMap;
use vigie::console::app::App;
use vigie::console::update::{Msg, update};
use vigie::console::views::{self, Ui};
use vigie::domain::fleet::StatusCounts;
use vigie::settings::theme::{Depth, Theme};

mod common;
use common::{now, rows};

/// The worker's `map` answer for the simulated fleet of `n` devices.
fn map_answer(n: usize) -> serde_json::Value {
    let inv = vigie::sim::plan(1, n).inventory;
    let (sites, aps) = vigie::sim::fleet::map_of(&inv, |_| (40, 1, 0));
    serde_json::json!({ "sites": sites, "aps": aps })
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Fleet,
    Map,
    Detail,
    Trends,
}

/// The worker's `device` answer for the selected device: every series
/// full.
fn device_answer(app: &App, buckets: u16) -> serde_json::Value {
    use vigie::domain::series::{MetricSeries, Window};
    let row = match app.view {
        vigie::console::nav::View::Trends => {
            let t = &vigie::console::screens::trends::rows(&app.shared, &app.screens.trends)
                [app.selected];
            app.fleet
                .find(&t.trend.tenant, &t.trend.device)
                .unwrap()
                .clone()
        }
        _ => app.fleet.get(app.selected).unwrap().clone(),
    };
    let n = usize::from(buckets);
    let s = |f: &dyn Fn(usize) -> f32| (0..n).map(|i| Some(f(i))).collect::<Vec<_>>();
    serde_json::to_value(vigie::api::views::DeviceDetail {
        window: Window::ending(now(), 3_600, buckets),
        metrics: MetricSeries {
            cpu_pct: s(&|i| (i * 7 % 100) as f32),
            mem_pct: s(&|i| 40.0 + (i % 20) as f32),
            traffic_bps: s(&|i| 1e6 * (1 + i % 9) as f32),
        },
        signal: s(&|i| -60.0 - (i % 30) as f32),
        links: vec![],
        alerts: vec![],
        pushes: vec![],
        interfaces: None,
        row,
    })
    .unwrap()
}

/// The worker's `trends` answer: 200 radios, the most fallen first.
fn trends_answer(app: &App) -> serde_json::Value {
    let rows: Vec<vigie::domain::site::SignalTrend> = app
        .fleet
        .all()
        .take(200)
        .enumerate()
        .map(|(i, r)| vigie::domain::site::SignalTrend {
            tenant: r.tenant.clone(),
            device: r.id.clone(),
            site: r.site.clone(),
            recent_dbm: Some(-80.0 + (i as f32) / 10.0),
            recent_n: 8_640,
            baseline_dbm: Some(-62.0),
            baseline_n: 17_280,
        })
        .collect();
    serde_json::json!({ "until": now(), "range_s": 86_400, "rows": rows })
}

/// Feeds the answer the view on screen asks for after a move.
fn answer(app: &mut App, keymap: &KeyMap, effects: Vec<vigie::console::update::Effect>) {
    for e in effects {
        if let vigie::console::update::Effect::Call { reply, verb, .. } = e {
            let body = match verb {
                "device" if app.view == vigie::console::nav::View::Trends => {
                    device_answer(app, 160)
                }
                "device" => device_answer(app, 60),
                "trends" => trends_answer(app),
                _ => continue,
            };
            update(app, keymap, Msg::Answer(reply, Ok(body)));
        }
    }
}

fn measure(n: usize, mode: Mode) -> (usize, f64, f64, f64) {
    let rows = rows(n);
    let len = rows.len();
    let keymap = KeyMap::builtin();
    let theme = Theme::builtin(Depth::TrueColor);
    let ui = Ui {
        theme: &theme,
        keymap: &keymap,
    };
    let mut app = App::new("all tenants", "bench", now());
    update(&mut app, &keymap, Msg::Term(TermEvent::Resize(200, 60)));
    update(
        &mut app,
        &keymap,
        Msg::Snapshot(Box::new(Snapshot {
            events_seq: 0,
            counts: StatusCounts::default(),
            devices: rows,
            incidents: vec![],
        })),
    );
    let key = |c| {
        Msg::Term(TermEvent::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )))
    };
    match mode {
        Mode::Fleet => {}
        Mode::Map => {
            update(&mut app, &keymap, key('5'));
            update(
                &mut app,
                &keymap,
                Msg::Answer(vigie::console::update::Reply::Map, Ok(map_answer(n))),
            );
        }
        Mode::Detail => {
            let enter = Msg::Term(TermEvent::Key(KeyEvent::new(
                KeyCode::Enter,
                KeyModifiers::NONE,
            )));
            let e = update(&mut app, &keymap, enter);
            answer(&mut app, &keymap, e);
        }
        Mode::Trends => {
            let e = update(&mut app, &keymap, key('7'));
            answer(&mut app, &keymap, e);
            let e = update(&mut app, &keymap, Msg::Tick(now()));
            answer(&mut app, &keymap, e);
        }
    }
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
    let frames = 3_000;
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames + 100 {
        // Scroll one row per frame so every frame has new content to draw
        // (on the map: the next site; with a pane or a chart: the next
        // device's, answered before the frame is timed). The trends
        // ranking has 200 rows: back to the top at its end.
        if mode == Mode::Trends && app.selected >= 198 {
            app.selected = 0;
        }
        let e = update(&mut app, &keymap, key('j'));
        answer(&mut app, &keymap, e);
        // What is timed is the view with its data, not a "loading" line.
        assert!(match mode {
            Mode::Detail => app.screens.fleet.detail.data.is_some(),
            Mode::Trends => app.screens.trends.chart.data.is_some(),
            Mode::Fleet | Mode::Map => true,
        });
        let t = Instant::now();
        terminal.draw(|f| views::draw(&app, &ui, f)).unwrap();
        if i >= 100 {
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    (
        len,
        mean,
        times[times.len() / 2],
        times[times.len() * 99 / 100],
    )
}

fn main() {
    for (mode, what) in [
        (Mode::Fleet, "fleet view"),
        (Mode::Map, "map"),
        (Mode::Detail, "fleet with the detail pane"),
        (Mode::Trends, "trends view"),
    ] {
        println!(
            "{what}, 200×60, TestBackend, 3,000 frames after 100 warm-up, one row scrolled per frame"
        );
        let mut got = Vec::new();
        for n in [100_000, 1_000_000] {
            let (len, mean, p50, p99) = measure(n, mode);
            println!(
                "{len:>9} devices: mean {mean:.3} ms, p50 {p50:.3} ms, p99 {p99:.3} ms per frame"
            );
            got.push((mean, p50));
        }
        println!(
            "1M vs 100k: mean {:+.1}%, p50 {:+.1}%",
            100.0 * (got[1].0 / got[0].0 - 1.0),
            100.0 * (got[1].1 / got[0].1 - 1.0)
        );
    }
}
