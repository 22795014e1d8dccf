//! `vigie push …`: config pushes for scripts, through the same api as the
//! console. Answers are JSON on standard output; the exit code says how it
//! went (0 done, 1 refused by the worker, 3 worker unreachable).

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;

use super::NatsArgs;
use crate::api::args::{CreatePush, CreateRollout, PushRef, RolloutRef};
use crate::api::{ApiError, ErrorCode, Verb, call, verbs};
use crate::domain::Id;
use crate::domain::push::PushQuery;

/// `vigie push …`
#[derive(Debug, Subcommand)]
pub enum PushCommand {
    /// Push a configuration to one device, or roll it out to several
    /// (canary first, then waves, stopping at the first failure).
    Create {
        /// The device; repeat for a rollout, in rollout order.
        #[arg(long = "device", value_name = "ID", required = true)]
        devices: Vec<String>,
        /// The configuration file to push ("-": standard input).
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// Why (required; kept in the audit log).
        #[arg(long)]
        reason: String,
        /// Seconds the device waits for a confirm before reverting.
        #[arg(long, value_name = "S")]
        window: Option<u32>,
        /// Devices per wave after the canary (rollouts).
        #[arg(long, value_name = "N")]
        wave_size: Option<u32>,
        /// Wait until the device answered (applied, failed or rejected).
        #[arg(long)]
        wait: bool,
    },
    /// Keep the configuration: confirm a push, or a rollout's current wave.
    Confirm { id: String },
    /// Restore the previous configuration now.
    Revert {
        id: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// A push (with its configuration) or a rollout (with its pushes).
    Status { id: String },
    /// Pushes, newest first.
    List {
        #[arg(long, value_name = "ID")]
        device: Option<String>,
        /// Only pushes still in progress.
        #[arg(long)]
        open: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// Where the worker is and whose data.
#[derive(Debug, Clone, clap::Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub nats: NatsArgs,
    /// The tenant the pushes belong to.
    #[arg(long, env = "VIGIE_TENANT")]
    pub tenant: String,
    /// Seconds to wait for the worker's answer.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
}

fn is_rollout(id: &str) -> bool {
    id.starts_with("rollout-")
}

/// Runs a push command; returns the process exit code.
pub async fn run(
    args: PushArgs,
    cmd: PushCommand,
    paths: &crate::settings::Paths,
    nats: &crate::settings::nats::NatsSettings,
) -> anyhow::Result<u8> {
    let _ = crate::domain::Id::parse(&args.tenant)
        .map_err(|e| anyhow::anyhow!("--tenant {:?}: {e}", args.tenant))?;
    let (url, auth) = args.nats.resolve_for_user(nats, paths)?;
    // Not logged in is the user's mistake, not the bus's.
    super::session::current(paths, chrono::Utc::now())?;
    // Kept to the end: it renews the user's NATS credentials.
    let conn = match super::connect::as_user(paths, &url, &auth).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "vigie push: {}: {e}",
                crate::domain::redact::redact_url(&url)
            );
            return Ok(3);
        }
    };
    let api = Client {
        bus: conn.bus.as_ref(),
        token: conn.token.as_str(),
        tenant: args.tenant.as_str(),
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    let answer = answer(&api, cmd).await?;
    Ok(match answer {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            0
        }
        Err(e) => {
            println!(
                "{}",
                serde_json::json!({ "error": { "code": e.code, "message": e.message } })
            );
            eprintln!("vigie push: {}", crate::domain::SafeText::new(&e.message));
            if matches!(e.code.as_str(), "bus") {
                3
            } else {
                1
            }
        }
    })
}

/// The worker's api, for one tenant, with the saved session.
struct Client<'a> {
    bus: &'a crate::bus::nats::NatsBus,
    token: &'a str,
    tenant: &'a str,
    timeout: Duration,
}

impl Client<'_> {
    /// Calls `V` and gives its answer back as JSON, to print.
    async fn call<V: Verb>(&self, args: &V::Args) -> Result<serde_json::Value, ApiError> {
        let answer = call::<V>(self.bus, self.token, self.tenant, args, self.timeout).await?;
        serde_json::to_value(answer).map_err(|e| ApiError::new(ErrorCode::BadAnswer, e.to_string()))
    }
}

fn id(what: &str, s: &str) -> anyhow::Result<Id> {
    Id::parse(s).map_err(|e| anyhow::anyhow!("{what} {s:?}: {e}"))
}

/// What the command asks the worker, and its answer. The outer error is
/// the command line's (a file not read, an id not valid).
async fn answer(
    api: &Client<'_>,
    cmd: PushCommand,
) -> anyhow::Result<Result<serde_json::Value, ApiError>> {
    Ok(match cmd {
        PushCommand::Create {
            devices,
            file,
            reason,
            window,
            wave_size,
            wait,
        } => {
            let body = if file.as_os_str() == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
                s
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
            };
            let devices = devices
                .iter()
                .map(|d| id("device", d))
                .collect::<anyhow::Result<Vec<_>>>()?;
            if let [device] = devices.as_slice() {
                let args = CreatePush {
                    device: device.clone(),
                    body,
                    reason,
                    window_s: window,
                    previous: None,
                    actor: None,
                };
                let created = api.call::<verbs::PushCreate>(&args).await;
                match (created, wait) {
                    (Ok(p), true) => wait_answer(api, p).await,
                    (other, _) => other,
                }
            } else {
                let args = CreateRollout {
                    devices,
                    body,
                    reason,
                    window_s: window,
                    wave_size,
                    actor: None,
                };
                api.call::<verbs::RolloutCreate>(&args).await
            }
        }
        PushCommand::Confirm { id: r } if is_rollout(&r) => {
            let args = RolloutRef {
                rollout: id("rollout", &r)?,
            };
            api.call::<verbs::RolloutConfirm>(&args).await
        }
        PushCommand::Confirm { id: p } => {
            let args = PushRef {
                push: id("push", &p)?,
                reason: None,
            };
            api.call::<verbs::PushConfirm>(&args).await
        }
        PushCommand::Revert { id: p, reason } => {
            let args = PushRef {
                push: id("push", &p)?,
                reason,
            };
            api.call::<verbs::PushRevert>(&args).await
        }
        PushCommand::Status { id: r } if is_rollout(&r) => {
            let args = RolloutRef {
                rollout: id("rollout", &r)?,
            };
            api.call::<verbs::RolloutStatusOf>(&args).await
        }
        PushCommand::Status { id: p } => {
            let args = PushRef {
                push: id("push", &p)?,
                reason: None,
            };
            api.call::<verbs::PushStatus>(&args).await
        }
        PushCommand::List {
            device,
            open,
            limit,
        } => {
            let args = PushQuery {
                device: device.as_deref().map(|d| id("device", d)).transpose()?,
                rollout: None,
                open_only: open,
                limit,
            };
            api.call::<verbs::PushList>(&args).await
        }
    })
}

/// Polls a new push until the device answered or the order expired.
async fn wait_answer(
    api: &Client<'_>,
    push: serde_json::Value,
) -> Result<serde_json::Value, ApiError> {
    let Some(push_id) = push["id"].as_str().and_then(|s| Id::parse(s).ok()) else {
        return Ok(push);
    };
    let mut last = push;
    for _ in 0..1_500 {
        if last["state"] != "sent" {
            return Ok(last);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let args = PushRef {
            push: push_id.clone(),
            reason: None,
        };
        last = api.call::<verbs::PushStatus>(&args).await?;
    }
    Ok(last)
}
