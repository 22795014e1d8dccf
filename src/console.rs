//! The console: a full-screen TUI that reads a snapshot from the worker,
//! then follows the live event stream, and never blocks on IO.
//!
//! Shape: one `tokio::select!` over messages (terminal input from a reader
//! thread, snapshot and events from a data task) and a frame tick. Messages
//! go through the pure [`update::update`]; the screen is drawn at most once
//! per tick and only when something changed.

pub mod actions;
pub mod answers;
pub mod app;
pub mod command;
pub mod fetch;
pub mod geo;
pub mod layout;
pub mod model;
pub mod msg;
pub mod nav;
pub mod palette;
pub mod screens;
pub mod state;
pub mod terminal;
pub mod update;
pub mod views;
pub mod widgets;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::api;
use crate::bus::event::Event;
use crate::bus::{Bus, Stream, subject};
use crate::clock::Clock;
use crate::settings::theme::Theme;
use app::App;
use update::{Msg, update};

/// The console's keymap: keys bound to the commands of its registry.
pub type KeyMap = crate::settings::keymap::KeyMap<command::Invocation>;

impl KeyMap {
    /// The first key of the normal mode bound to the command written as
    /// `written` (`"quit"`, `"range +1"`), for the hints on screen.
    pub fn key_named(&self, written: &str) -> Option<&str> {
        let inv =
            command::Invocation::read(crate::settings::keymap::Section::Normal, written).ok()?;
        self.key_for(&inv)
    }
}

/// How the console runs.
pub struct ConsoleOptions {
    pub theme: Theme,
    pub keymap: KeyMap,
    /// Problems found while loading settings, shown at start.
    pub problems: Vec<String>,
    pub fps: u32,
    /// A tenant id, or `_all`.
    pub scope: String,
    /// The session every api request carries (`vigie login`).
    pub token: String,
    /// The session user's role.
    pub role: crate::domain::access::Role,
    /// Wallboard mode: read-only, views rotate every this many seconds.
    pub wallboard: Option<u32>,
    pub user: String,
    pub clock: Clock,
    /// Revert window of pushes made here, in seconds.
    pub push_window_s: u32,
    /// Take the mouse.
    pub mouse: bool,
    /// Hide and refuse every command that changes something.
    pub read_only: bool,
}

/// Follows the worker: snapshot, then events from the snapshot's sequence.
/// Reconnects (with a fresh snapshot) when either fails.
async fn data_task(bus: Arc<dyn Bus>, token: String, scope: String, tx: mpsc::Sender<Msg>) {
    let filter = if scope == subject::ALL_TENANTS {
        "vigie.evt.>".to_string()
    } else {
        format!("vigie.evt.{scope}.>")
    };
    loop {
        let snap = api::fetch_snapshot(
            bus.as_ref(),
            &token,
            &scope,
            api::SNAPSHOT_PAGE,
            Duration::from_secs(10),
        )
        .await;
        let why = match snap {
            Ok(s) => {
                let from = s.events_seq + 1;
                if tx.send(Msg::Snapshot(Box::new(s))).await.is_err() {
                    return;
                }
                match bus.follow(Stream::Events, &filter, from).await {
                    Ok(mut follower) => loop {
                        let Some(m) = follower.next().await else {
                            break "event stream closed".to_string();
                        };
                        match serde_json::from_slice::<Event>(&m.payload) {
                            Ok(e) => {
                                if tx.send(Msg::Event(m.seq, Box::new(e))).await.is_err() {
                                    return;
                                }
                            }
                            Err(e) => {
                                tracing::warn!(seq = m.seq, error = %e, "undecodable event skipped")
                            }
                        }
                    },
                    Err(e) => e.to_string(),
                }
            }
            Err(e) => e.to_string(),
        };
        if tx.send(Msg::Disconnected(why)).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Performs the effects `update` asked for, off the draw loop: each api
/// call runs in a task of its own and its answer comes back as a message.
fn perform(effects: Vec<update::Effect>, bus: &Arc<dyn Bus>, token: &str, tx: &mpsc::Sender<Msg>) {
    for e in effects {
        if let update::Effect::Copy(text) = &e {
            terminal::copy(text);
            continue;
        }
        if let update::Effect::Write { path, text } = e {
            let tx = tx.clone();
            tokio::spawn(async move {
                let said = match write_new(&path, &text).await {
                    Ok(()) => Msg::Notice(format!("exported to {}", path.display()), false),
                    Err(e) => Msg::Notice(format!("export to {}: {e}", path.display()), true),
                };
                let _ = tx.send(said).await;
            });
            continue;
        }
        if let update::Effect::Call {
            scope,
            verb,
            body,
            reply,
        } = e
        {
            let (bus, tx, token) = (Arc::clone(bus), tx.clone(), token.to_string());
            tokio::spawn(async move {
                let answer = api::call_value::<serde_json::Value>(
                    bus.as_ref(),
                    &token,
                    &scope,
                    verb,
                    body,
                    API_TIMEOUT,
                )
                .await;
                let _ = tx.send(Msg::Answer(reply, answer)).await;
            });
        }
    }
}

/// Writes a new file; an existing one is never replaced.
async fn write_new(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt as _;
    let mut f = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .await?;
    f.write_all(text.as_bytes()).await?;
    f.sync_all().await
}

/// How long the console waits for the worker to answer a request.
const API_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads terminal events on a thread of its own (crossterm's reads block).
fn input_thread(tx: mpsc::Sender<Msg>, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        use ratatui::crossterm::event;
        while !stop.load(Ordering::Relaxed) {
            match event::poll(Duration::from_millis(50)) {
                Ok(true) => match event::read() {
                    Ok(ev) => {
                        if tx.blocking_send(Msg::Term(ev)).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                },
                Ok(false) => {}
                Err(_) => return,
            }
        }
    });
}

/// Runs the console until the user quits.
pub async fn run(bus: Arc<dyn Bus>, opts: ConsoleOptions) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::channel::<Msg>(4_096);
    let mut app = App::new(
        if opts.scope == subject::ALL_TENANTS {
            "all tenants"
        } else {
            &opts.scope
        },
        &opts.user,
        opts.clock.now(),
    );
    app.clock_speed = opts.clock.speed();
    app.api_scope = opts.scope.clone();
    app.role = opts.role;
    app.read_only = opts.read_only;
    app.screens.pushes.window_s = opts.push_window_s;
    if opts.wallboard.is_some() {
        app.wallboard = opts.wallboard;
        app.view = nav::View::Board;
    }
    for p in &opts.problems {
        app.notify(p.clone(), true, 15);
    }
    let ui = views::Ui {
        theme: &opts.theme,
        keymap: &opts.keymap,
    };
    let mut guard = terminal::TerminalGuard::enter(opts.mouse && opts.wallboard.is_none())?;
    let size = guard.terminal().size()?;
    update(
        &mut app,
        &opts.keymap,
        Msg::Term(ratatui::crossterm::event::Event::Resize(
            size.width,
            size.height,
        )),
    );
    let stop = Arc::new(AtomicBool::new(false));
    input_thread(tx.clone(), Arc::clone(&stop));
    let data = tokio::spawn(data_task(
        Arc::clone(&bus),
        opts.token.clone(),
        opts.scope.clone(),
        tx.clone(),
    ));
    // A wallboard changes slowly: at most 10 frames a second.
    let fps = if opts.wallboard.is_some() {
        opts.fps.clamp(1, 10)
    } else {
        opts.fps.clamp(1, 120)
    };
    let frame = Duration::from_secs_f64(1.0 / f64::from(fps));
    let mut tick = tokio::time::interval(frame);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut shown_second = 0;
    let result = loop {
        tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else { break Ok(()) };
                perform(update(&mut app, &opts.keymap, msg), &bus, &opts.token, &tx);
                // Take everything already queued before drawing again.
                for _ in 0..4_096 {
                    match rx.try_recv() {
                        Ok(m) => perform(update(&mut app, &opts.keymap, m), &bus, &opts.token, &tx),
                        Err(_) => break,
                    }
                }
                dirty = true;
            }
            _ = tick.tick() => {
                let now = opts.clock.now();
                if now.timestamp() != shown_second {
                    shown_second = now.timestamp();
                    dirty = true;
                }
                if dirty {
                    // A tick can make a view's data due again: ask for it.
                    perform(update(&mut app, &opts.keymap, Msg::Tick(now)), &bus, &opts.token, &tx);
                    if let Err(e) = guard.terminal().draw(|f| views::draw(&app, &ui, f)) {
                        break Err(e.into());
                    }
                    dirty = false;
                }
            }
        }
        if app.quit {
            break Ok(());
        }
    };
    stop.store(true, Ordering::Relaxed);
    data.abort();
    drop(guard);
    result
}
