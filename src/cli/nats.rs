//! `vigie nats init|creds` and `vigie device revoke`: a NATS deployment
//! whose accounts and users are JWTs (see `bus::nats::deployment`).

use std::path::PathBuf;

use clap::Subcommand;

use crate::bus::nats::deployment::{self, Deployment};

#[derive(Debug, Clone, Subcommand)]
pub enum NatsCommand {
    /// Creates the operator and account keys (mode 600), the nats-server
    /// configuration for a secure deployment (JetStream, vigie's account,
    /// a system account, the full resolver) and the worker's credentials.
    Init {
        /// Where (default: nats/ in the config directory).
        #[arg(long, value_name = "DIR", env = "VIGIE_NATS_DIR")]
        dir: Option<PathBuf>,
        /// The address the server listens on.
        #[arg(long, value_name = "HOST:PORT", default_value = "0.0.0.0:4222")]
        listen: String,
    },
    /// Issues credentials.
    #[command(subcommand)]
    Creds(CredsCommand),
}

#[derive(Debug, Clone, Subcommand)]
pub enum CredsCommand {
    /// Credentials for one device's agent: its own telemetry, its own
    /// orders and its own inbox, nothing else.
    Agent {
        #[arg(long, value_name = "DIR", env = "VIGIE_NATS_DIR")]
        dir: Option<PathBuf>,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        device: String,
    },
    /// Credentials for consoles, dumps and pushes of one tenant (or, with
    /// `--tenant _all`, of the provider): that tenant's api verbs and
    /// events, nothing of another's, no telemetry, no stream rights.
    Console {
        #[arg(long, value_name = "DIR", env = "VIGIE_NATS_DIR")]
        dir: Option<PathBuf>,
        #[arg(long)]
        tenant: String,
    },
    /// Credentials for `vigie sim`: every device's telemetry, and its
    /// simulated agents' orders.
    Sim {
        #[arg(long, value_name = "DIR", env = "VIGIE_NATS_DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum DeviceCommand {
    /// Revokes every NATS credential issued to a device's agent; the
    /// running server drops its connection and refuses it from then on.
    Revoke {
        #[arg(long, value_name = "DIR", env = "VIGIE_NATS_DIR")]
        nats_dir: Option<PathBuf>,
        /// The server to tell (as the system user).
        #[arg(
            long = "nats",
            value_name = "URL",
            env = "VIGIE_NATS_URL",
            default_value = "nats://127.0.0.1:4222"
        )]
        url: String,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        device: String,
        /// The worker's database, for the keys of enrolled agents and the
        /// audit log (default: the embedded database).
        #[arg(long, value_name = "URL", env = "VIGIE_DATABASE_URL")]
        database: Option<String>,
    },
}

fn dir_or_default(dir: Option<PathBuf>, paths: &crate::settings::Paths) -> PathBuf {
    dir.unwrap_or_else(|| paths.config_dir.join("nats"))
}

fn check_ids(tenant: &str, device: &str) -> anyhow::Result<()> {
    crate::domain::Id::parse(tenant).map_err(|e| anyhow::anyhow!("tenant {tenant:?}: {e}"))?;
    crate::domain::Id::parse(device).map_err(|e| anyhow::anyhow!("device {device:?}: {e}"))?;
    Ok(())
}

pub fn run(what: NatsCommand, paths: &crate::settings::Paths) -> anyhow::Result<()> {
    let now = chrono::Utc::now().timestamp();
    match what {
        NatsCommand::Init { dir, listen } => {
            let d = Deployment::at(&dir_or_default(dir, paths));
            d.init(&listen, now)?;
            println!("nats-server configuration: {}", d.config().display());
            println!("worker credentials:        {}", d.creds("worker").display());
            println!(
                "start the server:          nats-server -c {}",
                d.config().display()
            );
        }
        NatsCommand::Creds(CredsCommand::Agent {
            dir,
            tenant,
            device,
        }) => {
            check_ids(&tenant, &device)?;
            let d = Deployment::at(&dir_or_default(dir, paths));
            let creds = d.issue_agent(&tenant, &device, now)?;
            println!("# agent.toml for {tenant}/{device}");
            println!("tenant = \"{tenant}\"");
            println!("device = \"{device}\"");
            println!("nats_creds = \"{}\"", creds.display());
            println!(
                "nats_inbox_prefix = \"{}\"",
                deployment::agent_inbox(&tenant, &device)
            );
        }
        NatsCommand::Creds(CredsCommand::Console { dir, tenant }) => {
            if tenant != crate::bus::subject::ALL_TENANTS {
                check_ids(&tenant, "console")?;
            }
            let d = Deployment::at(&dir_or_default(dir, paths));
            let perms = deployment::console_permissions(&tenant);
            let creds = d.issue_to(&format!("console:{tenant}"), &perms, now)?;
            println!(
                "--nats-creds {} --nats-inbox-prefix {}",
                creds.display(),
                deployment::console_inbox(&tenant)
            );
        }
        NatsCommand::Creds(CredsCommand::Sim { dir }) => {
            let d = Deployment::at(&dir_or_default(dir, paths));
            let creds = d.issue_to("sim", &deployment::sim_permissions(), now)?;
            println!(
                "--nats-creds {} --nats-inbox-prefix _INBOX.sim",
                creds.display()
            );
        }
    }
    Ok(())
}

pub async fn device(
    what: DeviceCommand,
    paths: &crate::settings::Paths,
    store: &dyn crate::store::Store,
    actor: &str,
) -> anyhow::Result<()> {
    let DeviceCommand::Revoke {
        nats_dir,
        url,
        tenant,
        device,
        database: _,
    } = what;
    check_ids(&tenant, &device)?;
    let (t, dv) = (
        crate::domain::Id::parse(&tenant)?,
        crate::domain::Id::parse(&device)?,
    );
    let enrolled = store.enrolled_keys(&t, &dv).await?;
    let d = Deployment::at(&dir_or_default(nats_dir, paths));
    let now = chrono::Utc::now();
    let (jwt, n) = d.revoke(
        &format!("agent:{tenant}/{device}"),
        &enrolled,
        now.timestamp(),
    )?;
    deployment::push_account(&url, &d.creds("system"), &jwt).await?;
    let audit = crate::domain::audit::AuditEntry::new(
        &t,
        now,
        actor,
        "device.revoke",
        format!("device/{device}"),
    )
    .change("none", &format!("{n} NATS credential(s) revoked"));
    store.append_audit(&audit).await?;
    println!("revoked {n} credential(s) of {tenant}/{device}; the server refuses them from now on");
    Ok(())
}
