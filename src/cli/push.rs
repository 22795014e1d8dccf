//! `vigie push …`: config pushes for scripts, through the same api as the
//! console. Answers are JSON on standard output; the exit code says how it
//! went (0 done, 1 refused by the worker, 3 worker unreachable).

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;

use super::NatsArgs;
use crate::api::{ApiError, call_value};

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
pub async fn run(args: PushArgs, cmd: PushCommand, token: String) -> anyhow::Result<u8> {
    let _ = crate::domain::Id::parse(&args.tenant)
        .map_err(|e| anyhow::anyhow!("--tenant {:?}: {e}", args.tenant))?;
    let bus =
        match crate::bus::nats::NatsBus::connect_with(&args.nats.url, &args.nats.auth()?).await {
            Ok(b) => b,
            Err(e) => {
                eprintln!(
                    "vigie push: {}: {e}",
                    crate::domain::redact::redact_url(&args.nats.url)
                );
                return Ok(3);
            }
        };
    let timeout = Duration::from_secs(args.timeout.max(1));
    let t = args.tenant.as_str();
    let token = token.as_str();
    let ask = |verb: &'static str, body: serde_json::Value| {
        let bus = &bus;
        async move {
            call_value::<serde_json::Value>(
                bus as &dyn crate::bus::Bus,
                token,
                t,
                verb,
                body,
                timeout,
            )
            .await
        }
    };
    let answer = match cmd {
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
            if devices.len() == 1 {
                let created = ask(
                    "push_create",
                    serde_json::json!({
                        "device": devices[0], "body": body, "reason": reason,
                        "window_s": window,
                    }),
                )
                .await;
                match (created, wait) {
                    (Ok(p), true) => wait_answer(&ask, p).await,
                    (other, _) => other,
                }
            } else {
                ask(
                    "rollout_create",
                    serde_json::json!({
                        "devices": devices, "body": body, "reason": reason,
                        "window_s": window, "wave_size": wave_size,
                    }),
                )
                .await
            }
        }
        PushCommand::Confirm { id } if is_rollout(&id) => {
            ask("rollout_confirm", serde_json::json!({ "rollout": id })).await
        }
        PushCommand::Confirm { id } => ask("push_confirm", serde_json::json!({ "push": id })).await,
        PushCommand::Revert { id, reason } => {
            ask(
                "push_revert",
                serde_json::json!({ "push": id, "reason": reason }),
            )
            .await
        }
        PushCommand::Status { id } if is_rollout(&id) => {
            ask("rollout_status", serde_json::json!({ "rollout": id })).await
        }
        PushCommand::Status { id } => ask("push_status", serde_json::json!({ "push": id })).await,
        PushCommand::List {
            device,
            open,
            limit,
        } => {
            ask(
                "push_list",
                serde_json::json!({ "device": device, "open_only": open, "limit": limit }),
            )
            .await
        }
    };
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

/// Polls a new push until the device answered or the order expired.
async fn wait_answer<F, Fut>(
    ask: &F,
    push: serde_json::Value,
) -> Result<serde_json::Value, ApiError>
where
    F: Fn(&'static str, serde_json::Value) -> Fut,
    Fut: std::future::Future<Output = Result<serde_json::Value, ApiError>>,
{
    let id = push["id"].clone();
    let mut last = push;
    for _ in 0..1_500 {
        if last["state"] != "sent" {
            return Ok(last);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = ask("push_status", serde_json::json!({ "push": id })).await?;
    }
    Ok(last)
}
