//! What the console costs an analyst on a thin link and a small machine,
//! with 100,000 devices:
//!
//! - bytes written to the terminal at 120×40: the first frame, an
//!   unchanged frame, a frame with one device changed, and every second
//!   under 1,000 device events a second drawn at 20 frames a second;
//! - the time to open the fleet (decode the snapshot, build the model,
//!   draw the first frame) and from a filter keystroke to the redrawn frame;
//! - the resident memory of the process holding the fleet.
//!
//! `cargo bench --bench console`
//!
//! With `VIGIE_CALLGRIND_FRAMES=N` it only draws N fleet frames at 200×60,
//! for `valgrind --tool=callgrind --collect-atstart=no
//! --toggle-collect='*views::draw*'` to count instructions per frame.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use chrono::{DateTime, Duration, Utc};
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use vigie::api::Snapshot;
use vigie::bus::event::{Event, EventBody};
use vigie::console::KeyMap;
use vigie::console::app::App;
use vigie::console::update::{Msg, update};
use vigie::console::views::{self, Ui};
use vigie::domain::device::DeviceStatus;
use vigie::domain::fleet::StatusCounts;
use vigie::domain::model::DeviceRow;
use vigie::settings::theme::{Depth, Theme};

mod common;
use common::{now, rows};

/// A writer that only counts.
#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(buf.len(), Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Counter {
    fn take(&self) -> usize {
        self.0.swap(0, Ordering::Relaxed)
    }
}

fn key(c: char) -> Msg {
    Msg::Term(TermEvent::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )))
}

fn loaded(rows: Vec<DeviceRow>, keymap: &KeyMap, size: (u16, u16)) -> App {
    let mut app = App::new("all tenants", "bench", now());
    update(
        &mut app,
        keymap,
        Msg::Term(TermEvent::Resize(size.0, size.1)),
    );
    update(
        &mut app,
        keymap,
        Msg::Snapshot(Box::new(Snapshot {
            events_seq: 0,
            counts: StatusCounts::default(),
            devices: rows,
            incidents: vec![],
        })),
    );
    update(&mut app, keymap, Msg::Tick(now()));
    app
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A device event for row `i`, as the worker announces it.
fn event(seq: u64, mut row: DeviceRow, at: DateTime<Utc>) -> Msg {
    row.last_seen = Some(at);
    row.cpu_pct = Some((seq % 100) as f32);
    Msg::Event(
        seq,
        Box::new(Event {
            v: 1,
            id: format!("bench-{seq}"),
            ts: at,
            tenant: row.tenant.clone(),
            body: EventBody::Device(row),
        }),
    )
}

/// Bytes written for one frame, and the cells that changed since the
/// frame before.
struct Meter {
    term: Terminal<CrosstermBackend<Counter>>,
    counter: Counter,
    last: ratatui::buffer::Buffer,
}

impl Meter {
    fn new() -> Self {
        let counter = Counter::default();
        let term = Terminal::with_options(
            CrosstermBackend::new(counter.clone()),
            TerminalOptions {
                viewport: Viewport::Fixed(Rect::new(0, 0, 120, 40)),
            },
        )
        .unwrap();
        Self {
            term,
            counter,
            last: ratatui::buffer::Buffer::empty(Rect::new(0, 0, 120, 40)),
        }
    }

    fn frame(&mut self, app: &App, ui: &Ui<'_>) -> (usize, usize) {
        let done = self.term.draw(|f| views::draw(app, ui, f)).unwrap();
        let cells = self.last.diff(done.buffer).len();
        self.last = done.buffer.clone();
        (self.counter.take(), cells)
    }
}

fn bytes(keymap: &KeyMap, ui: &Ui<'_>, fleet: &[DeviceRow]) {
    let mut m = Meter::new();
    let mut app = loaded(fleet.to_vec(), keymap, (120, 40));
    let (b, c) = m.frame(&app, ui);
    println!("  first frame:                 {b:>7} B ({c} cells)");
    let (b, _) = m.frame(&app, ui);
    println!("  unchanged frame:             {b:>7} B  (goal ≤ 32 B)");
    // A visible device reports: its load and last-seen change.
    let row = app.selected_row().unwrap().clone();
    update(&mut app, keymap, event(1, row, now()));
    let (b, c) = m.frame(&app, ui);
    println!("  one device changed:          {b:>7} B ({c} cells; goal ≤ 1 KB for ≤ 60 cells)");
    // A visible device goes stale: it moves in the status sort, the rows
    // below it shift and the counts in the header change.
    let mut row = app.selected_row().unwrap().clone();
    row.status = DeviceStatus::Stale;
    update(&mut app, keymap, event(2, row, now()));
    update(&mut app, keymap, Msg::Tick(now()));
    let (b, c) = m.frame(&app, ui);
    println!("  one device went stale:       {b:>7} B ({c} cells)");
    // 1,000 events a second over 10 s, 20 frames a second; the clock ticks
    // every second, so the ages move too. Sorted by status (the default),
    // then by last seen, where every event moves its row.
    let mut seq = 10;
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    for (label, presses) in [("sorted by status", 0), ("sorted by last seen", 5)] {
        for _ in 0..presses {
            update(&mut app, keymap, key('s'));
        }
        m.frame(&app, ui);
        let mut total = 0;
        for frame in 0..200u32 {
            let at = now() + Duration::milliseconds(i64::from(frame) * 50);
            for _ in 0..50 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let row = fleet[(rng % fleet.len() as u64) as usize].clone();
                seq += 1;
                update(&mut app, keymap, event(seq, row, at));
            }
            if frame % 20 == 0 {
                update(&mut app, keymap, Msg::Tick(at));
            }
            total += m.frame(&app, ui).0;
        }
        println!(
            "  1,000 events/s, 20 fps, {label}: {:>7} B/s (goal ≤ 30 KB/s)",
            total / 10
        );
    }
}

fn open_and_filter(keymap: &KeyMap, ui: &Ui<'_>, fleet: Vec<DeviceRow>) {
    let len = fleet.len();
    let snapshot = Snapshot {
        events_seq: 0,
        counts: StatusCounts::default(),
        devices: fleet,
        incidents: vec![],
    };
    let json = serde_json::to_vec(&snapshot).unwrap();
    drop(snapshot);
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let t = Instant::now();
    let snap: Snapshot = serde_json::from_slice(&json).unwrap();
    let decoded = t.elapsed();
    let app = loaded(snap.devices, keymap, (120, 40));
    term.draw(|f| views::draw(&app, ui, f)).unwrap();
    println!(
        "  open {len} devices:        {:>7.1} ms (decode {:.1} ms; goal ≤ 1 s)",
        t.elapsed().as_secs_f64() * 1e3,
        decoded.as_secs_f64() * 1e3
    );
    drop(json);
    let mut app = app;
    update(&mut app, keymap, key('/'));
    let mut worst = 0.0_f64;
    let mut sum = 0.0;
    let typed = "ridge-07";
    for c in typed.chars() {
        let t = Instant::now();
        update(&mut app, keymap, key(c));
        term.draw(|f| views::draw(&app, ui, f)).unwrap();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        worst = worst.max(ms);
        sum += ms;
    }
    println!(
        "  filter keystroke → frame:    {:>7.1} ms mean, {worst:.1} ms worst over {:?} (goal ≤ 50 ms)",
        sum / typed.len() as f64,
        typed
    );
}

/// Resident memory of a process that only reads a snapshot of `fleet`
/// from a file and opens the console's model on it, as the console does
/// from the worker's answer.
fn memory(fleet: Vec<DeviceRow>) {
    let len = fleet.len();
    let dir = std::env::temp_dir().join(format!("vigie-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("snapshot.json");
    let snapshot = Snapshot {
        events_seq: 0,
        counts: StatusCounts::default(),
        devices: fleet,
        incidents: vec![],
    };
    std::fs::write(&file, serde_json::to_vec(&snapshot).unwrap()).unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("VIGIE_RSS_FROM", &file)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    println!(
        "  resident memory, {len} devices open: {} (goal ≤ 150 MB)",
        text.trim()
    );
}

/// The child of [`memory`].
fn memory_child(path: &str, keymap: &KeyMap, ui: &Ui<'_>) {
    let before = rss_kib();
    let snap: Snapshot = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let app = loaded(snap.devices, keymap, (120, 40));
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    term.draw(|f| views::draw(&app, ui, f)).unwrap();
    let peak = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_default();
    println!(
        "{:.0} MiB ({:.0} MiB before opening; peak {peak} while decoding)",
        rss_kib() as f64 / 1024.0,
        before as f64 / 1024.0
    );
}

fn main() {
    let keymap = KeyMap::builtin();
    let theme = Theme::builtin(Depth::TrueColor);
    let ui = Ui {
        theme: &theme,
        keymap: &keymap,
    };
    if let Ok(path) = std::env::var("VIGIE_RSS_FROM") {
        memory_child(&path, &keymap, &ui);
        return;
    }
    if let Some(frames) = std::env::var("VIGIE_CALLGRIND_FRAMES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
    {
        let mut app = loaded(rows(100_000), &keymap, (200, 60));
        let mut term = Terminal::new(TestBackend::new(200, 60)).unwrap();
        for _ in 0..frames {
            update(&mut app, &keymap, key('j'));
            term.draw(|f| views::draw(&app, &ui, f)).unwrap();
        }
        return;
    }
    let fleet = rows(100_000);
    println!("console, {} devices, truecolor theme", fleet.len());
    println!("bytes written to the terminal at 120×40:");
    bytes(&keymap, &ui, &fleet);
    println!("opening and filtering at 120×40:");
    open_and_filter(&keymap, &ui, fleet.clone());
    memory(fleet);
}
