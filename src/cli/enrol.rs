//! `vigie enrol create` (on the worker's host) and `vigie agent enrol`
//! (on the managed host): a one-time code turned into the agent's own
//! NATS credentials, its secret made and kept on the host.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use clap::Subcommand;

use super::args::NatsArgs;
use crate::api::enrol::{EnrolReply, EnrolRequest, Enrolled};
use crate::bus::Bus as _;
use crate::bus::nats::deployment::write_secret;
use crate::bus::nats::{NatsBus, jwt};
use crate::domain::Id;
use crate::domain::model::DeviceKind;
use crate::store::Store;

#[derive(Debug, Clone, Subcommand)]
pub enum EnrolCommand {
    /// Prints a one-time code that lets one device's agent enrol
    /// (`vigie agent enrol --code …`); audited, expires, single use.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        device: String,
        /// How long the code is good for: 30m, 24h, 7d (1 minute to 30 days).
        #[arg(long, default_value = "24h")]
        ttl: String,
        /// Create the device at this site when it is not in the inventory.
        #[arg(long, requires = "kind")]
        site: Option<String>,
        /// Its kind (router, access_point, cpe, appliance, edge_sensor, workstation).
        #[arg(long, requires = "site")]
        kind: Option<String>,
    },
}

/// `vigie agent enrol`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct AgentEnrolArgs {
    /// The server, and the bootstrap credential (--nats-creds) that may
    /// only ask for an enrolment.
    #[command(flatten)]
    pub nats: NatsArgs,
    /// The one-time code `vigie enrol create` printed.
    #[arg(long, env = "VIGIE_ENROL_CODE")]
    pub code: String,
    /// Where agent.toml, agent.creds and the agent's state go.
    #[arg(long, value_name = "DIR")]
    pub state_dir: PathBuf,
    /// The configuration file the agent applies pushes to (default:
    /// managed.conf in the state directory; change it in agent.toml).
    #[arg(long, value_name = "FILE")]
    pub driver_file: Option<PathBuf>,
}

/// `30m`, `24h`, `7d`, `1h30m`.
fn length(s: &str) -> anyhow::Result<chrono::Duration> {
    let secs = crate::domain::length::seconds(s).map_err(|e| anyhow::anyhow!("--ttl {e}"))?;
    Ok(chrono::Duration::seconds(i64::try_from(secs)?))
}

fn id(flag: &str, s: &str) -> anyhow::Result<Id> {
    Id::parse(s).map_err(|e| anyhow::anyhow!("{flag} {s:?}: {e}"))
}

pub async fn create(store: &dyn Store, what: EnrolCommand, actor: &str) -> anyhow::Result<()> {
    let EnrolCommand::Create {
        tenant,
        device,
        ttl,
        site,
        kind,
    } = what;
    let kind = kind
        .map(|k| {
            DeviceKind::parse(&k)
                .ok_or_else(|| anyhow::anyhow!("--kind {k:?} is not a device kind"))
        })
        .transpose()?;
    let request = crate::admin::enrolment::Request {
        tenant: id("--tenant", &tenant)?,
        device: id("--device", &device)?,
        site: site.map(|s| id("--site", &s)).transpose()?,
        kind,
        ttl: length(&ttl)?,
    };
    let code = crate::admin::enrolment::create(store, &request, actor, chrono::Utc::now()).await?;
    println!("{code}");
    eprintln!(
        "one-time code for {device} of {tenant}, good for {ttl}: on the host, vigie agent enrol --code {code} --state-dir /etc/vigie/agent --nats URL --nats-creds bootstrap.creds"
    );
    Ok(())
}

/// A TOML string literal.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn agent_toml(a: &AgentEnrolArgs, url: &str, e: &Enrolled, creds: &Path) -> String {
    let dir = &a.state_dir;
    let driver = a
        .driver_file
        .clone()
        .unwrap_or_else(|| dir.join("managed.conf"));
    let keys: Vec<String> = e.trusted_keys.iter().map(|k| quoted(k)).collect();
    let mut t = format!(
        "# Written by `vigie agent enrol`: this host is device {device} of tenant {tenant}.\n\
         tenant = {tq}\ndevice = {dq}\nnats = {u}\nnats_creds = {c}\nnats_inbox_prefix = {i}\n\
         state_dir = {s}\n# The keys whose configuration orders this agent obeys (vigie keys show).\n\
         trusted_keys = [{k}]\n",
        device = e.device,
        tenant = e.tenant,
        tq = quoted(&e.tenant),
        dq = quoted(&e.device),
        u = quoted(url),
        c = quoted(&creds.display().to_string()),
        i = quoted(&e.inbox_prefix),
        s = quoted(&dir.join("state").display().to_string()),
        k = keys.join(", "),
    );
    if let Some(ca) = &a.nats.auth.tls_ca {
        t.push_str(&format!(
            "nats_tls_ca = {}\n",
            quoted(&ca.display().to_string())
        ));
    }
    t.push_str(&format!(
        "\n# What pushes replace; see docs/OPERATIONS.md for the command driver.\n[driver]\nkind = \"file\"\npath = {}\n",
        quoted(&driver.display().to_string())
    ));
    t
}

pub async fn agent_enrol(
    a: AgentEnrolArgs,
    nats: &crate::settings::nats::NatsSettings,
) -> anyhow::Result<()> {
    let (url, mut auth) = a.nats.resolve(nats)?;
    if auth.inbox_prefix.is_none() {
        auth.inbox_prefix = Some(crate::api::enrol::INBOX_PREFIX.to_string());
    }
    std::fs::create_dir_all(a.state_dir.join("state"))
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.state_dir.display()))?;
    // The key pair is made here; only its public half leaves the host.
    let key = nkeys::KeyPair::new_user();
    let request = EnrolRequest {
        code: a.code.clone(),
        public_key: key.public_key(),
    };
    let bus = NatsBus::connect_with(&url, &auth).await?;
    let answer = bus
        .request(
            crate::api::enrol::SUBJECT,
            Bytes::from(serde_json::to_vec(&request)?),
            Duration::from_secs(15),
        )
        .await
        .map_err(|e| anyhow::anyhow!("enrolment: {e} (is a worker with --nats-dir running?)"))?;
    let enrolled = match serde_json::from_slice::<EnrolReply>(&answer)? {
        EnrolReply::Enrolled(e) => e,
        EnrolReply::Refused { message, .. } => anyhow::bail!("enrolment refused: {message}"),
    };
    jwt::claims(&enrolled.jwt)?;
    let creds = a.state_dir.join("agent.creds");
    let seed = key.seed().map_err(|e| anyhow::anyhow!("{e}"))?;
    write_secret(&creds, &jwt::creds_file(&enrolled.jwt, &seed))?;
    let toml_path = a.state_dir.join("agent.toml");
    write_secret(&toml_path, &agent_toml(&a, &url, &enrolled, &creds))?;
    println!(
        "enrolled as device {} of {}: vigie agent --config {}",
        enrolled.device,
        enrolled.tenant,
        toml_path.display()
    );
    if enrolled.trusted_keys.is_empty() {
        eprintln!(
            "the worker has no order key: add it to trusted_keys (vigie keys show on its host)"
        );
    }
    Ok(())
}
