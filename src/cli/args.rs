//! The command line: every flag and subcommand of `vigie` (the admin and
//! push subcommands' own flags live beside their code).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::settings::ColorMode;

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
    /// Look, never change: every command that would change something is
    /// hidden and refused before any call (also `console.read_only`).
    #[arg(long)]
    pub read_only: bool,
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

/// Where and how to reach NATS (`worker` and `sim`).
#[derive(Debug, Clone, clap::Args)]
pub struct NatsArgs {
    /// NATS server URL (default: `[nats] url` of the settings, else
    /// nats://127.0.0.1:4222).
    #[arg(long = "nats", value_name = "URL", env = "VIGIE_NATS_URL")]
    pub url: Option<String>,
    #[command(flatten)]
    pub auth: NatsAuthArgs,
}

/// What `vigie agent` does besides running.
#[derive(Debug, Clone, Subcommand)]
pub enum AgentCommand {
    /// Enrols this host with a one-time code: makes its key pair here,
    /// gets its credentials from the worker over the bootstrap credential,
    /// and writes agent.toml and agent.creds (mode 600) to --state-dir.
    Enrol(super::enrol::AgentEnrolArgs),
}

/// The URL when neither a flag, its variable nor the settings give one.
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

impl NatsArgs {
    /// The URL to dial and how to authenticate: flags (and their
    /// variables) first, then the settings' `[nats]`, then the defaults.
    pub fn resolve(
        &self,
        s: &crate::settings::nats::NatsSettings,
    ) -> anyhow::Result<(String, crate::bus::nats::NatsAuth)> {
        let url = self
            .url
            .clone()
            .or_else(|| s.url.clone())
            .unwrap_or_else(|| DEFAULT_NATS_URL.to_string());
        Ok((url, self.auth.auth(s)?))
    }

    /// The same for a user's command: after the flags and the settings,
    /// the server of the saved session (reached the same way), then the
    /// default.
    pub fn resolve_for_user(
        &self,
        s: &crate::settings::nats::NatsSettings,
        paths: &crate::settings::Paths,
    ) -> anyhow::Result<(String, crate::bus::nats::NatsAuth)> {
        if self.url.is_none()
            && s.url.is_none()
            && let Some((url, auth)) = super::session::remembered_server(paths, &self.auth)
        {
            return Ok((url, auth.auth(s)?));
        }
        self.resolve(s)
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
    #[arg(
        long = "nats-tls-cert",
        value_name = "FILE",
        env = "VIGIE_NATS_TLS_CERT"
    )]
    pub tls_cert: Option<PathBuf>,
    /// Client key (PEM) for mutual TLS.
    #[arg(long = "nats-tls-key", value_name = "FILE", env = "VIGIE_NATS_TLS_KEY")]
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
    /// The credentials and TLS settings, each from its flag (or
    /// variable), else from the settings' `[nats]`; secrets are read from
    /// where they point. A user, password or token given on the command
    /// line replaces the settings' way of authenticating whole.
    pub fn auth(
        &self,
        s: &crate::settings::nats::NatsSettings,
    ) -> anyhow::Result<crate::bus::nats::NatsAuth> {
        let secret = |spec: Option<&str>, what: &str| {
            spec.map(|v| crate::settings::secret::resolve_short(v, what))
                .transpose()
        };
        let given_here = self.nats_user.is_some()
            || self.nats_password.is_some()
            || self.nats_token.is_some()
            || self.creds.is_some();
        let pick = |flag: &Option<String>, setting: &Option<String>| {
            if given_here {
                flag.clone()
            } else {
                flag.clone().or_else(|| setting.clone())
            }
        };
        let (user, password, token) = (
            pick(&self.nats_user, &s.user),
            pick(&self.nats_password, &s.password),
            pick(&self.nats_token, &s.token),
        );
        let creds = if given_here {
            self.creds.clone()
        } else {
            s.creds.clone()
        };
        let (tls_cert, tls_key) = match (&self.tls_cert, &self.tls_key) {
            (None, None) => (s.tls_cert.clone(), s.tls_key.clone()),
            (c, k) => (c.clone(), k.clone()),
        };
        Ok(crate::bus::nats::NatsAuth {
            creds,
            tls_ca: self.tls_ca.clone().or_else(|| s.tls_ca.clone()),
            tls_cert,
            tls_key,
            user,
            password: secret(password.as_deref(), "--nats-password (or nats.password)")?,
            token: secret(token.as_deref(), "--nats-token (or nats.token)")?,
            inbox_prefix: self
                .nats_inbox_prefix
                .clone()
                .or_else(|| s.inbox_prefix.clone()),
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
    Worker(WorkerArgs),
    /// Log in to a worker; the session (mode 600) serves console, push and
    /// dump, which reach its server the same way unless told otherwise.
    Login {
        #[command(flatten)]
        nats: NatsArgs,
        #[arg(long, env = "VIGIE_USER", required_unless_present = "list")]
        user: Option<String>,
        /// Show the saved session (who, on which server, until when).
        #[arg(long, conflicts_with = "user")]
        list: bool,
    },
    /// Forget the saved session.
    Logout,
    /// Tenants of the provider (on the worker's database).
    Tenant {
        /// Database URL (default: the embedded database).
        #[arg(long, global = true, value_name = "URL", env = "VIGIE_DATABASE_URL")]
        database: Option<String>,
        #[command(subcommand)]
        what: super::admin::TenantCommand,
    },
    /// The fleet's sites, sectors, devices and links: import a CSV, TOML or
    /// JSON file, or export them (on the worker's database).
    Inventory {
        /// Database URL (default: the embedded database).
        #[arg(long, global = true, value_name = "URL", env = "VIGIE_DATABASE_URL")]
        database: Option<String>,
        #[command(subcommand)]
        what: super::inventory::InventoryCommand,
    },
    /// Users and roles (on the worker's database).
    User {
        /// Database URL (default: the embedded database).
        #[arg(long, global = true, value_name = "URL", env = "VIGIE_DATABASE_URL")]
        database: Option<String>,
        #[command(subcommand)]
        what: super::admin::UserCommand,
    },
    /// The provider's name and tier (on the worker's database).
    Provider {
        /// Database URL (default: the embedded database).
        #[arg(long, global = true, value_name = "URL", env = "VIGIE_DATABASE_URL")]
        database: Option<String>,
        #[command(subcommand)]
        what: super::admin::ProviderCommand,
    },
    /// Check the audit log's hash chains; export signed evidence bundles.
    Audit {
        /// Database URL (default: the embedded database).
        #[arg(long, global = true, value_name = "URL", env = "VIGIE_DATABASE_URL")]
        database: Option<String>,
        #[command(subcommand)]
        what: super::admin::AuditCommand,
    },
    /// A secure NATS deployment: operator and account keys, the server's
    /// configuration, credentials for the worker and each agent.
    Nats {
        #[command(subcommand)]
        what: super::nats::NatsCommand,
    },
    /// Managed devices: revoke an agent's credentials.
    Device {
        #[command(subcommand)]
        what: super::nats::DeviceCommand,
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
        args: super::push::PushArgs,
        #[command(subcommand)]
        what: super::push::PushCommand,
    },
    /// The agent of a managed host: outbound only; its settings file is
    /// given with --config (see docs/OPERATIONS.md).
    Agent {
        #[command(subcommand)]
        what: Option<AgentCommand>,
    },
    /// Delivery to the SOC: destinations (webhooks, SIEMs), their tests,
    /// replays and deliveries (on the worker's database).
    Outbound {
        /// Database URL (default: the embedded database).
        #[arg(long, global = true, value_name = "URL", env = "VIGIE_DATABASE_URL")]
        database: Option<String>,
        #[command(subcommand)]
        what: super::outbound::OutboundCommand,
    },
    /// One-time enrolment codes for agents (on the worker's database).
    Enrol {
        /// Database URL (default: the embedded database).
        #[arg(long, global = true, value_name = "URL", env = "VIGIE_DATABASE_URL")]
        database: Option<String>,
        #[command(subcommand)]
        what: super::enrol::EnrolCommand,
    },
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
    Dump(DumpArgs),
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

// `vigie worker`'s flags (its help is the variant's).
#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub nats: NatsArgs,
    /// Database URL: sqlite:PATH or postgres://USER@HOST/DB (default: the embedded database).
    #[arg(long, value_name = "URL", env = "VIGIE_DATABASE_URL")]
    pub database: Option<String>,
    /// Durable consumer name: one worker per consumer (several workers
    /// take a partition each, see --partition).
    #[arg(long, default_value = "vigie-worker")]
    pub consumer: String,
    /// Serve /metrics, /healthz and /readyz on this address (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// /readyz fails while the consumer's lag is above this many messages.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub ready_lag: u64,
    /// Take only partition K of the telemetry (scale-out: one worker per
    /// partition; the NATS server maps subjects to partitions, see
    /// docs/OPERATIONS.md). The durable consumer becomes CONSUMER-pK.
    #[arg(long, value_name = "K", requires = "partitions")]
    pub partition: Option<u32>,
    /// How many partitions the server's mapping makes (the N of
    /// `{{partition(N,1,2)}}`): the worker tracks the devices of its
    /// partition only.
    #[arg(long, value_name = "N", requires = "partition",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub partitions: Option<u32>,
    /// Deliveries after which a message is dead-lettered as max-deliveries.
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(2..))]
    pub max_deliver: u32,
    /// The key that signs configuration orders (default: signing.key in
    /// the config directory, when it exists). Without one, pushes are
    /// refused.
    #[arg(long, value_name = "FILE", env = "VIGIE_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
    /// The secret that signs session tokens: `file:PATH` or `env:VAR`
    /// (default: session.key in the config directory, made at first
    /// start). Workers that serve one api must share it.
    #[arg(long, value_name = "SECRET", env = "VIGIE_SESSION_KEY")]
    pub session_key: Option<String>,
    /// Answer api requests only at reply subjects under this prefix;
    /// others are dropped and counted (vigie_api_replies_refused_total).
    /// Clients' --nats-inbox-prefix must lie under it.
    #[arg(long, value_name = "PREFIX", env = "VIGIE_API_REPLY_PREFIX",
          default_value = crate::bus::DEFAULT_INBOX_PREFIX)]
    pub api_reply_prefix: String,
    /// The NATS deployment `vigie nats init` made: with it, the worker
    /// serves enrolments (`vigie agent enrol`), signing each agent's
    /// credentials with the account's signing key.
    #[arg(long, value_name = "DIR", env = "VIGIE_NATS_DIR")]
    pub nats_dir: Option<PathBuf>,
    /// With --nats-dir: how long the NATS credentials `vigie login` gives
    /// a user last (a running console renews them at half their life),
    /// e.g. 30m, 1h; never past the session.
    #[arg(long, value_name = "LENGTH", env = "VIGIE_NATS_GRANT_TTL", default_value = "1h",
          value_parser = grant_ttl)]
    pub nats_grant_ttl: u32,
}

/// A credentials lifetime: a length of at least 10 s.
fn grant_ttl(s: &str) -> Result<u32, String> {
    match crate::domain::length::parse_length(s) {
        Some(n) if n >= 10 => Ok(n),
        Some(_) => Err("at least 10s".into()),
        None => Err(format!("{s:?} is not a length such as 90s, 30m or 1h")),
    }
}

// `vigie dump`'s flags (its help is the variant's).
#[derive(Debug, clap::Args)]
pub struct DumpArgs {
    pub view: crate::dump::View,
    #[arg(long, value_enum, default_value_t)]
    pub format: crate::dump::Format,
    /// Ask a worker over NATS (its api) instead of reading a database.
    #[arg(long, value_name = "URL", conflicts_with = "database")]
    pub nats: Option<String>,
    #[command(flatten)]
    pub nats_auth: NatsAuthArgs,
    /// Read this database (default: the embedded one).
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// One tenant's rows only (default: every tenant).
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// The site of the `site` view.
    #[arg(long, value_name = "SITE")]
    pub site: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::nats::NatsSettings;

    fn args(flags: &[&str]) -> NatsArgs {
        #[derive(clap::Parser)]
        struct T {
            #[command(flatten)]
            nats: NatsArgs,
        }
        let mut all = vec!["t"];
        all.extend_from_slice(flags);
        <T as clap::Parser>::parse_from(all).nats
    }

    #[test]
    fn flags_win_over_the_settings_which_win_over_the_defaults() {
        let settings = NatsSettings {
            url: Some("tls://nats.example:4222".into()),
            creds: Some("/etc/vigie/console.creds".into()),
            inbox_prefix: Some("_INBOX.console-acme".into()),
            ..NatsSettings::default()
        };
        let (url, auth) = args(&[]).resolve(&settings).unwrap();
        assert_eq!(url, "tls://nats.example:4222");
        assert_eq!(auth.creds, settings.creds);
        assert_eq!(auth.inbox_prefix.as_deref(), Some("_INBOX.console-acme"));
        let (url, auth) = args(&["--nats", "nats://other:4222", "--nats-creds", "/x.creds"])
            .resolve(&settings)
            .unwrap();
        assert_eq!(url, "nats://other:4222");
        assert_eq!(
            auth.creds.as_deref(),
            Some(std::path::Path::new("/x.creds"))
        );
        // A user given here replaces the settings' credentials whole.
        let (_, auth) = args(&["--nats-user", "ana", "--nats-password", "env:PATH"])
            .resolve(&settings)
            .unwrap();
        assert_eq!((auth.user.as_deref(), auth.creds), (Some("ana"), None));
        let (url, _) = args(&[]).resolve(&NatsSettings::default()).unwrap();
        assert_eq!(url, DEFAULT_NATS_URL);
    }
}
