//! `vigie console`, `vigie wallboard` and `vigie demo`: the console on the
//! embedded database (with a worker in-process) or on a worker over NATS.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

use super::args::{ConsoleArgs, ConsoleSource, NatsAuthArgs, SimArgs};
use super::worker_config;
use crate::clock::Clock;
use crate::console::ConsoleOptions;
use crate::console::KeyMap;
use crate::demo::{self, DemoOptions};
use crate::settings::theme::{self, Theme};
use crate::settings::{Paths, Settings};
use crate::sim::SimConfig;

impl ConsoleSource {
    pub(super) async fn run(
        self,
        s: &Settings,
        paths: &Paths,
        ui: &ConsoleArgs,
        wallboard: Option<u32>,
    ) -> anyhow::Result<()> {
        // Without --nats or --db, the saved session's server, if any.
        let remembered = match (&self.nats, &self.db) {
            (None, None) => super::session::remembered_server(paths, &self.nats_auth),
            _ => None,
        };
        match (self.nats, remembered) {
            (Some(url), _) => console_over_nats(s, paths, url, self.nats_auth, ui, wallboard).await,
            (None, Some((url, auth))) => {
                console_over_nats(s, paths, url, auth, ui, wallboard).await
            }
            (None, None) => run_console(s, paths, self.db, ui, wallboard).await,
        }
    }
}

/// `vigie demo`: a simulated fleet, a worker and the console in one
/// process.
pub(super) async fn demo(
    s: &Settings,
    paths: &Paths,
    db: Option<PathBuf>,
    fresh: bool,
    fleet: &SimArgs,
    ui: &ConsoleArgs,
) -> anyhow::Result<()> {
    let log = s.log.file.clone().unwrap_or_else(|| paths.default_log());
    let _guard = crate::logging::to_file(&log, &s.log.level)?;
    let sim = sim_config(s, fleet)?;
    let clock = Clock::scaled(chrono::Utc::now(), sim.speed);
    demo::run(DemoOptions {
        db: db
            .or(s.demo.db.clone())
            .unwrap_or_else(|| paths.default_db()),
        fresh,
        sim: Some(sim),
        worker: worker_config(s),
        console: console_options(s, ui, paths, clock)?,
    })
    .await
}

/// The simulator's settings: flags over the settings file.
pub(super) fn sim_config(s: &Settings, a: &SimArgs) -> anyhow::Result<SimConfig> {
    let speed = a.speed.unwrap_or(s.demo.speed);
    if !(speed.is_finite() && speed > 0.0) {
        anyhow::bail!("--speed must be a positive number");
    }
    let rate = a.rate.unwrap_or(s.demo.rate);
    Ok(SimConfig {
        seed: a.seed.unwrap_or(s.demo.seed),
        devices: a.devices.unwrap_or(s.demo.devices).max(1),
        speed,
        rate: (rate > 0).then_some(f64::from(rate)),
    })
}

fn console_options(
    s: &Settings,
    ui: &ConsoleArgs,
    paths: &Paths,
    clock: Clock,
) -> anyhow::Result<ConsoleOptions> {
    let mut problems = Vec::new();
    let mode = ui.color.unwrap_or(s.console.color);
    let depth = theme::detect_depth(mode, &|k| std::env::var(k).ok());
    let requested = ui.theme.clone().unwrap_or_else(|| s.console.theme.clone());
    // No colour means the mono theme unless one was asked for by name.
    let name = if depth == theme::Depth::None && ui.theme.is_none() && requested == "default" {
        "mono".to_string()
    } else {
        requested
    };
    let theme = Theme::load(&name, &paths.config_dir, depth).unwrap_or_else(|e| {
        problems.push(format!("{e} (using the built-in theme)"));
        Theme::builtin(depth)
    });
    let (keymap, kp) = KeyMap::load(
        ui.keymap.as_deref().unwrap_or(&s.console.keymap),
        &paths.config_dir,
    );
    problems.extend(kp);
    let scope = ui
        .tenant
        .clone()
        .unwrap_or_else(|| s.console.tenant.clone());
    if scope != crate::bus::subject::ALL_TENANTS {
        crate::domain::Id::parse(&scope).with_context(|| format!("--tenant {scope:?}"))?;
    }
    Ok(ConsoleOptions {
        theme,
        keymap,
        problems,
        fps: ui.fps.unwrap_or(s.console.fps).clamp(1, 120),
        scope,
        user: std::env::var("USER")
            .ok()
            .filter(|u| crate::admin::users::check_name(u).is_ok())
            .unwrap_or_else(|| "local".into()),
        token: String::new(),
        role: crate::domain::access::Role::SuperAdmin,
        wallboard: None,
        clock,
        push_window_s: s.console.push_window_s,
        mouse: s.console.mouse,
        read_only: ui.read_only || s.console.read_only,
    })
}

/// The console (or wallboard) on a worker over NATS, with the saved session.
async fn console_over_nats(
    s: &Settings,
    paths: &Paths,
    url: String,
    nats_auth: NatsAuthArgs,
    ui: &ConsoleArgs,
    wallboard: Option<u32>,
) -> anyhow::Result<()> {
    let log = s.log.file.clone().unwrap_or_else(|| paths.default_log());
    let _guard = crate::logging::to_file(&log, &s.log.level)?;
    let conn = super::connect::as_user(paths, &url, &nats_auth.auth(&s.nats)?).await?;
    let mut opts = console_options(s, ui, paths, Clock::system())?;
    let me = whoami(conn.bus.as_ref(), &conn.token, conn.principal.clone()).await?;
    if let Some(own) = &me.tenant {
        if opts.scope == crate::bus::subject::ALL_TENANTS {
            opts.scope = own.to_string();
        } else if opts.scope != own.as_str() {
            anyhow::bail!(
                "{} belongs to tenant {own} and may not watch tenant {}",
                me.user,
                opts.scope
            );
        }
    }
    opts.user = me.user;
    opts.role = me.role;
    opts.token = conn.token.clone();
    opts.wallboard = wallboard;
    // `conn` lives as long as the console: it renews the credentials.
    crate::console::run(Arc::clone(&conn.bus) as Arc<dyn crate::bus::Bus>, opts).await
}

/// Who the worker says the session is for: the status bar shows it, and
/// the console hides what the role may not do. A refused session stops
/// here; a worker not up yet is waited for by the console itself, which
/// meanwhile trusts the saved session (or, for `VIGIE_TOKEN`, assumes
/// the least role that may watch).
async fn whoami(
    bus: &crate::bus::nats::NatsBus,
    token: &str,
    saved: Option<crate::domain::access::Principal>,
) -> anyhow::Result<crate::domain::access::Principal> {
    // Asked in the user's own scope: credentials of one tenant's user
    // allow no other.
    let scope = saved
        .as_ref()
        .and_then(|p| p.tenant.as_ref())
        .map_or(crate::bus::subject::ALL_TENANTS, |t| t.as_str());
    let asked = crate::api::call::<crate::api::verbs::Whoami>(
        bus,
        token,
        scope,
        &crate::api::args::NoArgs {},
        std::time::Duration::from_secs(5),
    )
    .await;
    match asked {
        Ok(me) => Ok(me),
        Err(e) if e.code == crate::api::ErrorCode::Bus => {
            tracing::warn!(error = %e, "the worker does not answer yet");
            Ok(saved.unwrap_or(crate::domain::access::Principal {
                user: "VIGIE_TOKEN".into(),
                role: crate::domain::access::Role::Wallboard,
                tenant: None,
            }))
        }
        Err(e) => anyhow::bail!("{e}"),
    }
}

pub(super) async fn run_console(
    s: &Settings,
    paths: &Paths,
    db: Option<PathBuf>,
    ui: &ConsoleArgs,
    wallboard: Option<u32>,
) -> anyhow::Result<()> {
    let log = s.log.file.clone().unwrap_or_else(|| paths.default_log());
    let _guard = crate::logging::to_file(&log, &s.log.level)?;
    demo::run(DemoOptions {
        db: db.unwrap_or_else(|| paths.default_db()),
        fresh: false,
        sim: None,
        worker: worker_config(s),
        console: ConsoleOptions {
            wallboard,
            ..console_options(s, ui, paths, Clock::system())?
        },
    })
    .await
}
