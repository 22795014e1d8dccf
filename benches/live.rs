//! Publish → on screen: how long a device's heartbeat takes from the
//! moment it is published to the frame that shows it, at a steady rate,
//! through the embedded product: the in-process bus, the worker (decode,
//! state, batched SQLite write, events) and the console's own loop (follow
//! the events, `update`, draw at most 20 times a second into a 200×60
//! screen).
//!
//! A heartbeat's envelope is stamped when it is published, and the device
//! row the worker announces carries that time as its last-seen, so each
//! row drawn tells its own latency. Every heartbeat is its device's first
//! (pending → online), a change the worker announces at once; later
//! heartbeats of a device only move its last-seen, which consoles age by
//! themselves and the worker does not announce. So the fleet has as many
//! devices as the run publishes heartbeats, and every publish is an event
//! on screen. The console here draws on a 50 ms
//! tick as the real one does, so about 25 ms of every figure is waiting
//! for the next frame.
//!
//! `cargo bench --bench live` (`RATE` and `SECS` override the defaults of
//! 10,000 heartbeats a second for 20 s).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use bytes::Bytes;
use chrono::Utc;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::Event as TermEvent;
use vigie::bus::envelope::{Envelope, MsgId, encode};
use vigie::bus::event::{Event, EventBody};
use vigie::bus::memory::MemoryBus;
use vigie::bus::{Bus, OutMessage, Stream};
use vigie::clock::Clock;
use vigie::console::KeyMap;
use vigie::console::app::App;
use vigie::console::update::{Msg, update};
use vigie::console::views::{self, Ui};
use vigie::domain::telemetry::{Heartbeat, Telemetry};
use vigie::settings::theme::{Depth, Theme};
use vigie::store::Store;
use vigie::store::sqlite::SqliteStore;
use vigie::worker::{Worker, WorkerConfig};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn quantile(sorted: &[i64], q: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// Publishes `rate` heartbeats a second for `secs` seconds, round-robin
/// over the fleet, each stamped when it is sent.
async fn publish(
    bus: Arc<dyn Bus>,
    inv: Arc<vigie::domain::model::Inventory>,
    rate: u64,
    secs: u64,
) -> u64 {
    let per_tick = (rate / 100).max(1) as usize;
    let ticks = secs * 100;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sent = 0u64;
    for _ in 0..ticks {
        tick.tick().await;
        let now = Utc::now();
        let out: Vec<OutMessage> = (0..per_tick)
            .map(|k| {
                let i = sent as usize + k;
                let d = &inv.devices[i % inv.devices.len()];
                let m = Envelope {
                    id: MsgId::parse(&format!("live-{i}")).unwrap(),
                    ts: now,
                    tenant: d.tenant.clone(),
                    device: d.id.clone(),
                    body: Telemetry::Heartbeat(Heartbeat {
                        uptime_s: i as u64,
                        name: None,
                        firmware: None,
                        interval_s: None,
                    }),
                };
                OutMessage {
                    subject: m.subject(),
                    msg_id: m.id.to_string(),
                    payload: Bytes::from(encode(&m)),
                }
            })
            .collect();
        sent += out.len() as u64;
        bus.publish_all(out).await.unwrap();
    }
    sent
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rate = env("RATE", 10_000);
    let secs = env("SECS", 20);
    let devices = (rate * secs) as usize;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("live.db").to_str().unwrap())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let inv = Arc::new(vigie::sim::plan(1, devices).inventory);
    store.import_inventory(&inv).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::default());
    let worker = Worker::start(
        Arc::clone(&bus),
        Arc::clone(&store),
        Clock::system(),
        WorkerConfig::default(),
    )
    .await
    .unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker_task = tokio::spawn(worker.run(stop_rx));

    // The console: follows every event from the start, as after a snapshot
    // of an empty fleet; the rows arrive with the events.
    let mut follower = bus.follow(Stream::Events, "vigie.evt.>", 1).await.unwrap();
    let keymap = KeyMap::builtin();
    let theme = Theme::builtin(Depth::TrueColor);
    let ui = Ui {
        theme: &theme,
        keymap: &keymap,
    };
    let mut app = App::new("all tenants", "bench", Utc::now());
    update(&mut app, &keymap, Msg::Term(TermEvent::Resize(200, 60)));
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();

    println!(
        "publish → on screen: {rate} heartbeats/s for {secs} s over {} devices, embedded (in-process bus, SQLite)",
        inv.devices.len()
    );
    let publisher = tokio::spawn(publish(Arc::clone(&bus), Arc::clone(&inv), rate, secs));
    let mut latencies: Vec<i64> = Vec::with_capacity((rate * secs) as usize);
    let mut waiting: Vec<chrono::DateTime<Utc>> = Vec::new();
    let mut frame = tokio::time::interval(Duration::from_millis(50));
    let started = Instant::now();
    let mut frames = 0u64;
    let mut draw_ms = 0f64;
    let (mut event_ms, mut tick_ms) = (0f64, 0f64);
    let deadline = Duration::from_secs(secs + 10);
    loop {
        tokio::select! {
            m = follower.next() => {
                let Some(m) = m else { break };
                let Ok(e) = serde_json::from_slice::<Event>(&m.payload) else { continue };
                if let EventBody::Device(row) = &e.body
                    && let Some(seen) = row.last_seen
                {
                    waiting.push(seen);
                }
                let t = Instant::now();
                update(&mut app, &keymap, Msg::Event(m.seq, Box::new(e)));
                event_ms += t.elapsed().as_secs_f64() * 1e3;
            }
            _ = frame.tick() => {
                let t = Instant::now();
                update(&mut app, &keymap, Msg::Tick(Utc::now()));
                tick_ms += t.elapsed().as_secs_f64() * 1e3;
                let t = Instant::now();
                terminal.draw(|f| views::draw(&app, &ui, f)).unwrap();
                draw_ms += t.elapsed().as_secs_f64() * 1e3;
                frames += 1;
                let on_screen = Utc::now();
                latencies.extend(waiting.drain(..).map(|seen| (on_screen - seen).num_milliseconds()));
                if publisher.is_finished() && started.elapsed() > Duration::from_secs(secs + 2) {
                    break;
                }
                if started.elapsed() > deadline {
                    break;
                }
            }
        }
    }
    let sent = publisher.await.unwrap();
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), worker_task).await;
    latencies.sort_unstable();
    let shown = latencies.len();
    println!(
        "  published              {sent:>9} heartbeats ({:.0}/s)",
        sent as f64 / secs as f64
    );
    println!("  device events drawn    {shown:>9}");
    println!(
        "  frames                 {frames:>9} (draw {:.2} ms mean)",
        draw_ms / frames.max(1) as f64
    );
    println!(
        "  console loop           {event_ms:.0} ms in events, {tick_ms:.0} ms in ticks, {draw_ms:.0} ms drawing, over {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "  publish → on screen    p50 {} ms · p95 {} ms · p99 {} ms · max {} ms (goal p99 ≤ 200 ms)",
        quantile(&latencies, 0.50),
        quantile(&latencies, 0.95),
        quantile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0)
    );
}
