//! Frame time of the fleet view and of the map at 200×60 with 100,000 and
//! 1,000,000 devices in the model: only the visible rows are built, and the
//! map draws sites and access points, not devices, so the two should cost
//! the same.
//!
//! `cargo bench --bench render`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use vigie::console::state::App;
use vigie::console::update::{Msg, update};
use vigie::console::views::{self, Ui};
use vigie::settings::keymap::KeyMap;
use vigie::settings::theme::{Depth, Theme};
use vigie::store::StatusCounts;
use vigie::worker::api::Snapshot;

mod common;
use common::{now, rows};

/// The worker's `map` answer for the simulated fleet of `n` devices.
fn map_answer(n: usize) -> serde_json::Value {
    let inv = vigie::sim::plan(1, n).inventory;
    let (sites, aps) = vigie::sim::fleet::map_of(&inv, |_| (40, 1, 0));
    serde_json::json!({ "sites": sites, "aps": aps })
}

fn measure(n: usize, map: bool) -> (usize, f64, f64, f64) {
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
    if map {
        let key = |c| {
            Msg::Term(TermEvent::Key(KeyEvent::new(
                KeyCode::Char(c),
                KeyModifiers::NONE,
            )))
        };
        update(&mut app, &keymap, key('5'));
        update(
            &mut app,
            &keymap,
            Msg::Answer(vigie::console::update::Reply::Map, Ok(map_answer(n))),
        );
    }
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
    let frames = 3_000;
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames + 100 {
        // Scroll one row per frame so every frame has new content to draw
        // (on the map: the next site).
        update(
            &mut app,
            &keymap,
            Msg::Term(TermEvent::Key(KeyEvent::new(
                KeyCode::Char('j'),
                KeyModifiers::NONE,
            ))),
        );
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
    for (map, what) in [(false, "fleet view"), (true, "map")] {
        println!(
            "{what}, 200×60, TestBackend, 3,000 frames after 100 warm-up, one row scrolled per frame"
        );
        let mut got = Vec::new();
        for n in [100_000, 1_000_000] {
            let (len, mean, p50, p99) = measure(n, map);
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
