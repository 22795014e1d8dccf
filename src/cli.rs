//! Command-line interface: parsing and dispatch only; the work is in the
//! library modules.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{CommandFactory, Parser, Subcommand};

use crate::clock::Clock;
use crate::console::ConsoleOptions;
use crate::demo::{self, DemoOptions};
use crate::settings::theme::{self, Theme};
use crate::settings::{ColorMode, KeyMap, Paths, Settings};
use crate::sim::SimConfig;
use crate::store::Store;
use crate::worker::WorkerConfig;

mod admin;
mod push;
pub mod session;

/// vigie: the terminal console for managed-service operations.
#[derive(Debug, Parser)]
#[command(name = "vigie", version, about, long_about = None)]
pub struct Cli {
    /// Settings file (default: vigie.toml in the config directory; see `vigie config path`).
    #[arg(long, global = true, env = "VIGIE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options shared by the commands that open the console.
#[derive(Debug, Clone, clap::Args, Default)]
pub struct ConsoleArgs {
    /// Theme name (default, dark, light, high-contrast, mono) or path to a theme file.
    #[arg(long)]
    pub theme: Option<String>,
    /// Keymap name (default, emacs) or path to a keymap file.
    #[arg(long)]
    pub keymap: Option<String>,
    /// Colour depth: auto, truecolor, 256, 16 or never.
    #[arg(long, value_enum)]
    pub color: Option<ColorMode>,
    /// Most redraws per second.
    #[arg(long)]
    pub fps: Option<u32>,
    /// Tenant to open on ("_all" for every tenant).
    #[arg(long)]
    pub tenant: Option<String>,
}

/// What a console or wallboard watches: the embedded database, or a
/// worker over NATS.
#[derive(Debug, Clone, clap::Args)]
pub struct ConsoleSource {
    /// SQLite database file (default: vigie.db in the data directory).
    #[arg(long, value_name = "PATH", conflicts_with = "nats")]
    pub db: Option<PathBuf>,
    /// Follow a `vigie worker` over NATS instead of running one in-process.
    #[arg(long, value_name = "URL", env = "VIGIE_NATS_URL")]
    pub nats: Option<String>,
    #[command(flatten)]
    pub nats_auth: NatsAuthArgs,
}

impl ConsoleSource {
    async fn run(
        self,
        s: &Settings,
        paths: &Paths,
        ui: &ConsoleArgs,
        wallboard: Option<u32>,
    ) -> anyhow::Result<()> {
        match self.nats {
            Some(url) => console_over_nats(s, paths, url, self.nats_auth, ui, wallboard).await,
            None => run_console(s, paths, self.db, ui, wallboard).await,
        }
    }
}

/// Where and how to reach NATS (`worker` and `sim`).
#[derive(Debug, Clone, clap::Args)]
pub struct NatsArgs {
    /// NATS server URL.
    #[arg(
        long = "nats",
        value_name = "URL",
        env = "VIGIE_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub url: String,
    #[command(flatten)]
    pub auth: NatsAuthArgs,
}

impl NatsArgs {
    /// The credentials and TLS settings.
    pub fn auth(&self) -> anyhow::Result<crate::bus::nats::NatsAuth> {
        self.auth.auth()
    }
}

/// How to authenticate to NATS (every command that connects to it).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NatsAuthArgs {
    /// NATS credentials file (JWT and NKey seed).
    #[arg(long = "nats-creds", value_name = "FILE", env = "VIGIE_NATS_CREDS")]
    pub creds: Option<PathBuf>,
    /// CA certificate (PEM) that signed the NATS server's; turns TLS on.
    #[arg(long = "nats-tls-ca", value_name = "FILE", env = "VIGIE_NATS_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS.
    #[arg(long = "nats-tls-cert", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Client key (PEM) for mutual TLS.
    #[arg(long = "nats-tls-key", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// NATS user name (with --nats-password).
    #[arg(long = "nats-user", value_name = "NAME", env = "VIGIE_NATS_USER")]
    pub nats_user: Option<String>,
    /// NATS password, as env:VAR or file:PATH.
    #[arg(
        long = "nats-password",
        value_name = "SECRET",
        env = "VIGIE_NATS_PASSWORD"
    )]
    pub nats_password: Option<String>,
    /// NATS token, as env:VAR or file:PATH.
    #[arg(long = "nats-token", value_name = "SECRET", env = "VIGIE_NATS_TOKEN")]
    pub nats_token: Option<String>,
    /// Prefix of this client's request inboxes (default _INBOX): give
    /// each NATS user its own, so that only it can read its answers.
    #[arg(
        long = "nats-inbox-prefix",
        value_name = "PREFIX",
        env = "VIGIE_NATS_INBOX_PREFIX"
    )]
    pub nats_inbox_prefix: Option<String>,
}

impl NatsAuthArgs {
    /// The credentials and TLS settings; secrets are read from where
    /// their flags point.
    pub fn auth(&self) -> anyhow::Result<crate::bus::nats::NatsAuth> {
        let secret = |spec: &Option<String>, what: &str| {
            spec.as_deref()
                .map(|s| crate::settings::secret::resolve_short(s, what))
                .transpose()
        };
        Ok(crate::bus::nats::NatsAuth {
            creds: self.creds.clone(),
            tls_ca: self.tls_ca.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            user: self.nats_user.clone(),
            password: secret(&self.nats_password, "--nats-password")?,
            token: secret(&self.nats_token, "--nats-token")?,
            inbox_prefix: self.nats_inbox_prefix.clone(),
        })
    }
}

/// Options shaping the simulated fleet (`demo` and `sim`).
#[derive(Debug, Clone, clap::Args, Default)]
pub struct SimArgs {
    /// Seed of the simulated fleet (same seed, same fleet).
    #[arg(long)]
    pub seed: Option<u64>,
    /// About how many devices to simulate.
    #[arg(long)]
    pub devices: Option<usize>,
    /// Most telemetry messages per second (0: no cap).
    #[arg(long)]
    pub rate: Option<u32>,
    /// Simulated seconds per real second.
    #[arg(long)]
    pub speed: Option<f64>,
}

/// The simulator's settings: flags over the settings file.
fn sim_config(s: &Settings, a: &SimArgs) -> anyhow::Result<SimConfig> {
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

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The console: on the embedded database (default), or on a worker over NATS.
    Console {
        #[command(flatten)]
        source: ConsoleSource,
        #[command(flatten)]
        ui: ConsoleArgs,
    },
    /// A read-only wall screen: fleet health in big numbers, the incident
    /// queue and the alert tail in turn; no input but quit; survives
    /// resizes. On the embedded database, or a worker over NATS (log in
    /// with a wallboard account).
    Wallboard {
        #[command(flatten)]
        source: ConsoleSource,
        /// Seconds each view stays on screen.
        #[arg(long, value_name = "S", default_value_t = 15,
              value_parser = clap::value_parser!(u32).range(2..=3600))]
        rotate_s: u32,
        #[command(flatten)]
        ui: ConsoleArgs,
    },
    /// A live simulated MSP fleet: simulator, worker and console in one process.
    Demo {
        /// SQLite database file (default: vigie.db in the data directory).
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
        /// Start from an empty database.
        #[arg(long)]
        fresh: bool,
        #[command(flatten)]
        fleet: SimArgs,
        #[command(flatten)]
        ui: ConsoleArgs,
    },
    /// The headless worker: ingest telemetry from NATS JetStream into the database, serve consoles.
    Worker {
        #[command(flatten)]
        nats: NatsArgs,
        /// Database URL: sqlite:PATH or postgres://USER@HOST/DB (default: the embedded database).
        #[arg(long, value_name = "URL", env = "VIGIE_DATABASE_URL")]
        database: Option<String>,
        /// Durable consumer name: one worker per consumer (several workers
        /// take a partition each, see --partition).
        #[arg(long, default_value = "vigie-worker")]
        consumer: String,
        /// Serve /metrics, /healthz and /readyz on this address (e.g. 127.0.0.1:9464).
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// /readyz fails while the consumer's lag is above this many messages.
        #[arg(long, value_name = "N", default_value_t = 100_000)]
        ready_lag: u64,
        /// Take only partition K of the telemetry (scale-out: one worker per
        /// partition; the NATS server maps subjects to partitions, see
        /// docs/OPERATIONS.md). The durable consumer becomes CONSUMER-pK.
        #[arg(long, value_name = "K", requires = "partitions")]
        partition: Option<u32>,
        /// How many partitions the server's mapping makes (the N of
        /// `{{partition(N,1,2)}}`): the worker tracks the devices of its
        /// partition only.
        #[arg(long, value_name = "N", requires = "partition",
              value_parser = clap::value_parser!(u32).range(1..))]
        partitions: Option<u32>,
        /// Deliveries after which a message is dead-lettered as max-deliveries.
        #[arg(long, value_name = "N", default_value_t = 10,
              value_parser = clap::value_parser!(u32).range(2..))]
        max_deliver: u32,
        /// The key that signs configuration orders (default: signing.key in
        /// the config directory, when it exists). Without one, pushes are
        /// refused.
        #[arg(long, value_name = "FILE", env = "VIGIE_SIGNING_KEY")]
        signing_key: Option<PathBuf>,
        /// The secret that signs session tokens: `file:PATH` or `env:VAR`
        /// (default: session.key in the config directory, made at first
        /// start). Workers that serve one api must share it.
        #[arg(long, value_name = "SECRET", env = "VIGIE_SESSION_KEY")]
        session_key: Option<String>,
        /// Answer api requests only at reply subjects under this prefix;
        /// others are dropped and counted (vigie_api_replies_refused_total).
        /// Clients' --nats-inbox-prefix must lie under it.
        #[arg(long, value_name = "PREFIX", env = "VIGIE_API_REPLY_PREFIX",
              default_value = crate::bus::DEFAULT_INBOX_PREFIX)]
        api_reply_prefix: String,
    },
    /// Log in to a worker; the session (mode 600) serves console, push and dump.
    Login {
        #[command(flatten)]
        nats: NatsArgs,
        #[arg(long, env = "VIGIE_USER")]
        user: String,
    },
    /// Tenants of the provider (on the worker's database).
    Tenant {
        /// Database URL (default: the embedded database).
        #[arg(long, global = true, value_name = "URL", env = "VIGIE_DATABASE_URL")]
        database: Option<String>,
        #[command(subcommand)]
        what: admin::TenantCommand,
    },
    /// Users and roles (on the worker's database).
    User {
        /// Database URL (default: the embedded database).
        #[arg(long, global = true, value_name = "URL", env = "VIGIE_DATABASE_URL")]
        database: Option<String>,
        #[command(subcommand)]
        what: admin::UserCommand,
    },
    /// The provider's name and tier (on the worker's database).
    Provider {
        /// Database URL (default: the embedded database).
        #[arg(long, global = true, value_name = "URL", env = "VIGIE_DATABASE_URL")]
        database: Option<String>,
        #[command(subcommand)]
        what: admin::ProviderCommand,
    },
    /// Check the audit log's hash chains; export signed evidence bundles.
    Audit {
        /// Database URL (default: the embedded database).
        #[arg(long, global = true, value_name = "URL", env = "VIGIE_DATABASE_URL")]
        database: Option<String>,
        #[command(subcommand)]
        what: admin::AuditCommand,
    },
    /// Keymaps: print the one in effect (a shipped one patched by your
    /// keymap.toml) in the file format, problems on standard error.
    Keymap {
        #[command(subcommand)]
        what: KeymapCommand,
    },
    /// Config pushes with confirm and automatic revert, for scripts (JSON out).
    Push {
        #[command(flatten)]
        args: push::PushArgs,
        #[command(subcommand)]
        what: push::PushCommand,
    },
    /// The agent of a managed host: outbound only; its settings file is
    /// given with --config (see docs/OPERATIONS.md).
    Agent,
    /// Publish a simulated fleet's telemetry to NATS JetStream.
    Sim {
        #[command(flatten)]
        nats: NatsArgs,
        /// Write the fleet's inventory into this database first (the worker's), e.g. sqlite:PATH.
        #[arg(long, value_name = "URL")]
        database: Option<String>,
        #[command(flatten)]
        fleet: SimArgs,
        /// The worker's public key (`vigie keys show`): the simulated agents
        /// then answer its config pushes.
        #[arg(long, value_name = "BASE64")]
        trust: Option<String>,
    },
    /// Create or upgrade the database schema.
    Migrate {
        /// Database URL: sqlite:PATH (default: the embedded database).
        #[arg(long, value_name = "URL")]
        database: Option<String>,
    },
    /// Print a view's rows as JSON or CSV (fleet, sites, incidents, alerts,
    /// tenants, map, trends, audit, site).
    Dump {
        view: crate::dump::View,
        #[arg(long, value_enum, default_value_t)]
        format: crate::dump::Format,
        /// Ask a worker over NATS (its api) instead of reading a database.
        #[arg(long, value_name = "URL", conflicts_with = "database")]
        nats: Option<String>,
        #[command(flatten)]
        nats_auth: NatsAuthArgs,
        /// Read this database (default: the embedded one).
        #[arg(long, value_name = "URL")]
        database: Option<String>,
        /// One tenant's rows only (default: every tenant).
        #[arg(long, value_name = "TENANT")]
        tenant: Option<String>,
        /// The site of the `site` view.
        #[arg(long, value_name = "SITE")]
        site: Option<String>,
    },
    /// The worker's Ed25519 key that signs configuration orders.
    Keys {
        #[command(subcommand)]
        what: KeysCommand,
    },
    /// Settings helpers.
    Config {
        #[command(subcommand)]
        what: ConfigCommand,
    },
    /// Print shell completions.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    Man,
}

/// `vigie keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write a new signing key (mode 600; never over an existing file) and
    /// print its id and public key for the agents' configuration.
    Generate {
        /// Where to write it (default: signing.key in the config directory).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print the id and public key of a signing key.
    Show {
        /// The key file (default: signing.key in the config directory).
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
    },
}

/// `vigie keymap …`
#[derive(Debug, Subcommand)]
pub enum KeymapCommand {
    /// Print the keymap in effect.
    Print {
        /// A shipped keymap (default, emacs) or a file (default: the
        /// settings' console.keymap).
        #[arg(long)]
        keymap: Option<String>,
    },
}

/// `vigie config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print where vigie reads settings and keeps data.
    Path,
    /// Print the settings in effect (file, variables and defaults merged);
    /// secrets show as how they are given, never their value.
    Show,
}

fn settings(cli: &Cli, paths: &Paths) -> anyhow::Result<Settings> {
    let (file, required) = match &cli.config {
        Some(f) => (f.clone(), true),
        None => (paths.config_file(), false),
    };
    Ok(Settings::load(&file, required, std::env::vars())?)
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
    })
}

fn worker_config(s: &Settings) -> WorkerConfig {
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

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let paths = Paths::discover();
    match &cli.command {
        Some(Command::Config {
            what: ConfigCommand::Path,
        }) => {
            println!(
                "settings file: {}",
                cli.config
                    .clone()
                    .unwrap_or_else(|| paths.config_file())
                    .display()
            );
            println!("config dir:    {}", paths.config_dir.display());
            println!("data dir:      {}", paths.data_dir.display());
            println!("database:      {}", paths.default_db().display());
            println!("log file:      {}", paths.default_log().display());
            return Ok(());
        }
        Some(Command::Keys { what }) => {
            let default = || paths.config_dir.join("signing.key");
            let (key, path) = match what {
                KeysCommand::Generate { out } => {
                    let path = out.clone().unwrap_or_else(default);
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::create_dir_all(dir)?;
                    }
                    (crate::orders::SigningKey::generate_into(&path)?, path)
                }
                KeysCommand::Show { key } => {
                    let path = key.clone().unwrap_or_else(default);
                    (crate::orders::SigningKey::load(&path)?, path)
                }
            };
            println!("key file:   {}", path.display());
            println!("key id:     {}", key.id());
            println!("public key: {}", key.public_base64());
            return Ok(());
        }
        Some(Command::Agent) => {
            crate::logging::json_to_stderr("info");
            let file = cli.config.clone().ok_or_else(|| {
                anyhow::anyhow!("vigie agent needs --config FILE (its agent.toml)")
            })?;
            let cfg = crate::agent::AgentConfig::load(&file)?;
            let shutdown = crate::headless::shutdown_on_signals();
            return crate::agent::run(cfg, shutdown)
                .await
                .map_err(|e| anyhow::anyhow!(e));
        }
        Some(Command::Push { .. }) => {
            crate::logging::to_stderr("warn");
            let Some(Command::Push { args, what }) = cli.command else {
                return Ok(());
            };
            let (token, _) = session::token(&paths, chrono::Utc::now())?;
            let code = push::run(args, what, token).await?;
            if code != 0 {
                std::process::exit(i32::from(code));
            }
            return Ok(());
        }
        Some(Command::Login { nats, user }) => {
            crate::logging::to_stderr("warn");
            let saved =
                session::login(&paths, nats, user, std::time::Duration::from_secs(10)).await?;
            println!(
                "logged in as {} ({}{}) until {}; session in {}",
                saved.principal.user,
                saved.principal.role,
                saved
                    .principal
                    .tenant
                    .as_ref()
                    .map_or(String::new(), |t| format!(" of {t}")),
                saved.expires.format("%Y-%m-%d %H:%M UTC"),
                session::file(&paths).display()
            );
            return Ok(());
        }
        Some(Command::Completions { shell }) => {
            clap_complete::generate(*shell, &mut Cli::command(), "vigie", &mut std::io::stdout());
            return Ok(());
        }
        Some(Command::Man) => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            return Ok(());
        }
        _ => {}
    }
    let s = settings(&cli, &paths)?;
    match cli.command {
        Some(Command::Keymap {
            what: KeymapCommand::Print { keymap },
        }) => {
            let name = keymap.unwrap_or_else(|| s.console.keymap.clone());
            let (map, problems) = KeyMap::load(&name, &paths.config_dir);
            for p in &problems {
                eprintln!("vigie: {p}");
            }
            print!("{}", map.print());
            Ok(())
        }
        Some(Command::Config {
            what: ConfigCommand::Show,
        }) => {
            println!("{s:#?}");
            Ok(())
        }
        Some(Command::Dump {
            view,
            format,
            nats,
            nats_auth,
            database,
            tenant,
            site,
        }) => {
            // Standard output is the data; only problems go to standard error.
            crate::logging::to_stderr("warn");
            let scope = match tenant {
                Some(t) => crate::store::Scope::Tenant(
                    crate::domain::Id::parse(&t)
                        .map_err(|e| anyhow::anyhow!("--tenant {t:?}: {e}"))?,
                ),
                None => crate::store::Scope::All,
            };
            let source = match nats {
                Some(url) => crate::dump::Source::Api(
                    Arc::new(
                        crate::bus::nats::NatsBus::connect_with(&url, &nats_auth.auth()?).await?,
                    ),
                    session::token(&paths, chrono::Utc::now())?.0,
                ),
                None => {
                    let url = database
                        .unwrap_or_else(|| format!("sqlite:{}", paths.default_db().display()));
                    let store = crate::store::open(&url).await?;
                    store.migrate().await?;
                    crate::dump::Source::Store(store)
                }
            };
            let site = site
                .map(|s| {
                    crate::domain::Id::parse(&s).map_err(|e| anyhow::anyhow!("--site {s:?}: {e}"))
                })
                .transpose()?;
            let rows = crate::dump::rows(&source, view, &scope, site.as_ref()).await?;
            let text = match format {
                crate::dump::Format::Json => crate::dump::to_json(&rows) + "\n",
                crate::dump::Format::Csv => crate::dump::to_csv(&rows),
            };
            use std::io::Write as _;
            std::io::stdout().write_all(text.as_bytes())?;
            Ok(())
        }
        Some(Command::Tenant { database, what }) => {
            crate::logging::to_stderr("warn");
            admin::tenant(admin_store(&paths, database).await?.as_ref(), what).await
        }
        Some(Command::User { database, what }) => {
            crate::logging::to_stderr("warn");
            admin::user(admin_store(&paths, database).await?.as_ref(), what).await
        }
        Some(Command::Provider { database, what }) => {
            crate::logging::to_stderr("warn");
            admin::provider(admin_store(&paths, database).await?.as_ref(), what).await
        }
        Some(Command::Audit { database, what }) => {
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
                Some(admin_store(&paths, database).await?)
            };
            let code =
                admin::audit_cmd(store.as_deref(), paths.config_dir.join("signing.key"), what)
                    .await?;
            if code != 0 {
                std::process::exit(i32::from(code));
            }
            Ok(())
        }
        Some(Command::Migrate { database }) => {
            crate::logging::to_stderr(&s.log.level);
            let url =
                database.unwrap_or_else(|| format!("sqlite:{}", paths.default_db().display()));
            if let Some(p) = url.strip_prefix("sqlite:").map(std::path::Path::new)
                && let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir)?;
            }
            let store: Arc<dyn Store> = crate::store::open(&url).await?;
            let applied = store.migrate().await?;
            let shown = crate::domain::redact::redact_url(&url);
            if applied.is_empty() {
                println!("{shown}: schema is up to date");
            } else {
                println!("{shown}: applied migrations {applied:?}");
            }
            Ok(())
        }
        Some(Command::Demo {
            db,
            fresh,
            fleet,
            ui,
        }) => {
            let log = s.log.file.clone().unwrap_or_else(|| paths.default_log());
            let _guard = crate::logging::to_file(&log, &s.log.level)?;
            let sim = sim_config(&s, &fleet)?;
            let clock = Clock::scaled(chrono::Utc::now(), sim.speed);
            demo::run(DemoOptions {
                db: db
                    .or(s.demo.db.clone())
                    .unwrap_or_else(|| paths.default_db()),
                fresh,
                sim: Some(sim),
                worker: worker_config(&s),
                console: console_options(&s, &ui, &paths, clock)?,
            })
            .await
        }
        Some(Command::Wallboard {
            source,
            rotate_s,
            ui,
        }) => source.run(&s, &paths, &ui, Some(rotate_s)).await,
        Some(Command::Console { source, ui }) => source.run(&s, &paths, &ui, None).await,
        None => run_console(&s, &paths, None, &ConsoleArgs::default(), None).await,
        Some(Command::Worker {
            nats,
            database,
            consumer,
            listen,
            ready_lag,
            max_deliver,
            partition,
            partitions,
            signing_key,
            session_key,
            api_reply_prefix,
        }) => {
            crate::logging::json_to_stderr(&s.log.level);
            if !crate::bus::subject::is_valid(api_reply_prefix.trim_end_matches('.')) {
                anyhow::bail!(
                    "--api-reply-prefix {api_reply_prefix:?}: dot-separated tokens with no wildcards or spaces"
                );
            }
            let database =
                database.unwrap_or_else(|| format!("sqlite:{}", paths.default_db().display()));
            ensure_sqlite_dir(&database)?;
            let (consumer, filter) = match partition {
                Some(k) => (
                    format!("{consumer}-p{k}"),
                    crate::bus::subject::partition_filter(k),
                ),
                None => (consumer, WorkerConfig::default().filter),
            };
            let default_key = paths.config_dir.join("signing.key");
            let key_file = signing_key.or_else(|| default_key.exists().then_some(default_key));
            let signing_key = match key_file {
                Some(f) => Some(Arc::new(crate::orders::SigningKey::load(&f)?)),
                None => {
                    tracing::warn!(
                        "no signing key: config pushes are refused (vigie keys generate)"
                    );
                    None
                }
            };
            let mut cfg = WorkerConfig {
                consumer,
                filter,
                max_deliver,
                signing_key,
                ..worker_config(&s)
            };
            if let (Some(k), Some(n)) = (partition, partitions) {
                if k >= n {
                    anyhow::bail!("--partition {k} is not below --partitions {n}");
                }
                cfg.policy.partition = Some((k, n));
            }
            let secret = match (session_key, &s.worker.session_key) {
                (Some(spec), _) => crate::settings::secret::resolve(&spec, "--session-key")?,
                (None, Some(spec)) => spec
                    .resolve("worker.session_key")
                    .map_err(anyhow::Error::msg)?,
                (None, None) => {
                    crate::settings::secret::load_or_create(&paths.config_dir.join("session.key"))?
                }
            };
            let sessions = Arc::new(crate::auth::Sessions::new(
                secret.expose(),
                crate::auth::DEFAULT_TTL,
            ));
            let ops = crate::headless::WorkerOps {
                listen,
                ready_lag,
                sessions,
                api_reply_prefix,
                streams: s.streams,
            };
            crate::headless::run_worker(&nats.url, &nats.auth()?, &database, ops, cfg).await
        }
        Some(Command::Sim {
            nats,
            database,
            fleet,
            trust,
        }) => {
            crate::logging::json_to_stderr(&s.log.level);
            if let Some(db) = &database {
                ensure_sqlite_dir(db)?;
            }
            let cfg = sim_config(&s, &fleet)?;
            crate::headless::run_sim(
                &nats.url,
                &nats.auth()?,
                database.as_deref(),
                cfg,
                trust.as_deref(),
            )
            .await
        }
        Some(
            Command::Config { .. }
            | Command::Keys { .. }
            | Command::Agent
            | Command::Push { .. }
            | Command::Login { .. }
            | Command::Completions { .. }
            | Command::Man,
        ) => Ok(()),
    }
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
    let (token, saved) = session::token(paths, chrono::Utc::now())?;
    let bus = crate::bus::nats::NatsBus::connect_with(&url, &nats_auth.auth()?).await?;
    let mut opts = console_options(s, ui, paths, Clock::system())?;
    let me = whoami(&bus, &token, saved).await?;
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
    opts.token = token;
    opts.wallboard = wallboard;
    crate::console::run(Arc::new(bus), opts).await
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
    let asked = crate::api::call_value(
        bus,
        token,
        crate::bus::subject::ALL_TENANTS,
        "whoami",
        serde_json::json!({}),
        std::time::Duration::from_secs(5),
    )
    .await;
    match asked {
        Ok(me) => Ok(me),
        Err(e) if e.code == "bus" => {
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

/// The database an admin command works on, migrated.
async fn admin_store(paths: &Paths, database: Option<String>) -> anyhow::Result<Arc<dyn Store>> {
    let url = database.unwrap_or_else(|| format!("sqlite:{}", paths.default_db().display()));
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

async fn run_console(
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
