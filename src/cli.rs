//! `vigie`'s command line: the flags (`args.rs`), a short dispatch here,
//! and one file per command or family of commands.

use std::sync::Arc;

use crate::settings::{Paths, Settings};
use crate::store::Store;
use crate::worker::WorkerConfig;

mod admin;
mod args;
pub mod connect;
mod console;
mod dump;
mod enrol;
mod inventory;
mod local;
mod nats;
mod outbound;
mod push;
mod serve;
pub mod session;

pub use args::{
    Cli, Command, ConfigCommand, ConsoleArgs, ConsoleSource, KeymapCommand, KeysCommand, NatsArgs,
    NatsAuthArgs, SimArgs,
};

/// Runs the parsed command line; the exit code on success (0, or what a
/// command says about what it found, as `vigie push wait` and
/// `vigie audit verify` do).
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    let paths = Paths::discover();
    let config = cli.config.clone();
    // The commands that work without (or before) the settings file.
    match cli.command {
        Some(Command::Config {
            what: ConfigCommand::Path,
        }) => {
            local::config_path(&cli, &paths);
            return Ok(0);
        }
        Some(Command::Keys { ref what }) => return local::keys(&paths, what).map(|()| 0),
        Some(Command::Agent { what: None }) => return serve::agent(cli.config).await.map(|()| 0),
        Some(Command::Agent {
            what: Some(args::AgentCommand::Enrol(a)),
        }) => {
            crate::logging::to_stderr("warn");
            let nats = nats_settings(config.as_deref(), &paths)?;
            return enrol::agent_enrol(a, &nats).await.map(|()| 0);
        }
        Some(Command::Push { args, what }) => {
            crate::logging::to_stderr("warn");
            let nats = nats_settings(config.as_deref(), &paths)?;
            return push::run(args, what, &paths, &nats).await;
        }
        Some(Command::Login { list: true, .. }) => {
            session::list(&paths, chrono::Utc::now());
            return Ok(0);
        }
        Some(Command::Login { nats, user, .. }) => {
            let settings = nats_settings(config.as_deref(), &paths)?;
            let user = user.ok_or_else(|| anyhow::anyhow!("--user NAME"))?;
            return session::login_command(&paths, nats, &settings, user)
                .await
                .map(|()| 0);
        }
        Some(Command::Logout) => {
            session::logout(&paths)?;
            return Ok(0);
        }
        Some(Command::Completions { shell }) => {
            local::completions(shell);
            return Ok(0);
        }
        Some(Command::Man) => return local::man().map(|()| 0),
        Some(Command::Nats { what }) => return nats::run(what, &paths).map(|()| 0),
        Some(Command::Device { what }) => {
            crate::logging::to_stderr("warn");
            let nats::DeviceCommand::Revoke { database, .. } = &what;
            let store = admin_store(&paths, database.clone()).await?;
            return nats::device(what, &paths, store.as_ref(), &admin::actor())
                .await
                .map(|()| 0);
        }
        _ => {}
    }
    let s = settings(&cli, &paths)?;
    let Some(command) = cli.command else {
        console::run_console(&s, &paths, None, &ConsoleArgs::default(), None).await?;
        return Ok(0);
    };
    with_settings(command, &s, &paths).await
}

/// The commands that read the settings file.
async fn with_settings(command: Command, s: &Settings, paths: &Paths) -> anyhow::Result<u8> {
    match command {
        Command::Keymap {
            what: KeymapCommand::Print { keymap },
        } => local::keymap_print(s, paths, keymap),
        Command::Config {
            what: ConfigCommand::Show,
        } => local::config_show(s),
        Command::Dump(flags) => dump::run(paths, &s.nats, flags).await?,
        Command::Tenant { database, what } => {
            crate::logging::to_stderr("warn");
            return admin::tenant(admin_store(paths, database).await?.as_ref(), what).await;
        }
        Command::Enrol { database, what } => {
            crate::logging::to_stderr("warn");
            let store = admin_store(paths, database).await?;
            enrol::create(store.as_ref(), what, &admin::actor()).await?;
        }
        Command::Outbound { database, what } => {
            crate::logging::to_stderr("warn");
            let store = admin_store(paths, database).await?;
            outbound::run(store.as_ref(), what, &admin::actor()).await?;
        }
        Command::Inventory { database, what } => {
            crate::logging::to_stderr("warn");
            let store = admin_store(paths, database).await?;
            inventory::run(store.as_ref(), what, &admin::actor()).await?;
        }
        Command::User { database, what } => {
            crate::logging::to_stderr("warn");
            admin::user(admin_store(paths, database).await?.as_ref(), what).await?;
        }
        Command::Provider { database, what } => {
            crate::logging::to_stderr("warn");
            admin::provider(admin_store(paths, database).await?.as_ref(), what).await?;
        }
        Command::Audit { database, what } => {
            crate::logging::to_stderr("warn");
            let offline = matches!(
                &what,
                admin::AuditCommand::Verify {
                    bundle: Some(_),
                    ..
                }
            );
            let store = if offline {
                None
            } else {
                Some(admin_store(paths, database).await?)
            };
            let key = paths.config_dir.join("signing.key");
            return admin::audit_cmd(store.as_deref(), key, what).await;
        }
        Command::Migrate { database } => {
            crate::logging::to_stderr(&s.log.level);
            admin::migrate(&database_url(paths, database)).await?;
        }
        Command::Demo {
            db,
            fresh,
            fleet,
            ui,
        } => console::demo(s, paths, db, fresh, &fleet, &ui).await?,
        Command::Wallboard {
            source,
            rotate_s,
            ui,
        } => source.run(s, paths, &ui, Some(rotate_s)).await?,
        Command::Console { source, ui } => source.run(s, paths, &ui, None).await?,
        Command::Worker(flags) => serve::worker(s, paths, flags).await?,
        Command::Sim {
            nats,
            database,
            fleet,
            trust,
        } => serve::sim(s, &nats, database, &fleet, trust).await?,
        // Run before the settings are read (see `run`).
        Command::Config {
            what: ConfigCommand::Path,
        }
        | Command::Keys { .. }
        | Command::Agent { .. }
        | Command::Push { .. }
        | Command::Login { .. }
        | Command::Logout
        | Command::Completions { .. }
        | Command::Man
        | Command::Nats { .. }
        | Command::Device { .. } => {}
    }
    Ok(0)
}

fn settings(cli: &Cli, paths: &Paths) -> anyhow::Result<Settings> {
    load_settings(cli.config.as_deref(), paths)
}

fn load_settings(config: Option<&std::path::Path>, paths: &Paths) -> anyhow::Result<Settings> {
    let (file, required) = match config {
        Some(f) => (f.to_path_buf(), true),
        None => (paths.config_file(), false),
    };
    Ok(Settings::load(&file, required, std::env::vars())?)
}

/// The settings' `[nats]`, for the commands that run before the rest of
/// the settings are needed.
fn nats_settings(
    config: Option<&std::path::Path>,
    paths: &Paths,
) -> anyhow::Result<crate::settings::nats::NatsSettings> {
    Ok(load_settings(config, paths)?.nats)
}

/// The database a command works on: `--database URL`, or the embedded
/// SQLite file in the data directory.
fn database_url(paths: &Paths, database: Option<String>) -> String {
    database.unwrap_or_else(|| format!("sqlite:{}", paths.default_db().display()))
}

pub(crate) fn worker_config(s: &Settings) -> WorkerConfig {
    let mut w = WorkerConfig {
        site_rules: s.rules.clone(),
        batch_size: s.worker.batch_size,
        sweep_every: std::time::Duration::from_secs(u64::from(s.worker.sweep_every_s)),
        ..WorkerConfig::default()
    };
    w.policy.live_event_interval =
        chrono::Duration::seconds(i64::from(s.worker.live_event_interval_s));
    w
}

/// The database an admin command works on, migrated.
async fn admin_store(paths: &Paths, database: Option<String>) -> anyhow::Result<Arc<dyn Store>> {
    let url = database_url(paths, database);
    ensure_sqlite_dir(&url)?;
    let store = crate::store::open(&url).await?;
    store.migrate().await?;
    Ok(store)
}

/// Creates the directory of an `sqlite:PATH` database.
fn ensure_sqlite_dir(url: &str) -> anyhow::Result<()> {
    if let Some(p) = url.strip_prefix("sqlite:").map(std::path::Path::new)
        && let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)?;
    }
    Ok(())
}
