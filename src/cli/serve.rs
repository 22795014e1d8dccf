//! The headless roles: `vigie worker`, `vigie sim` and `vigie agent`.

use std::path::PathBuf;
use std::sync::Arc;

use super::args::{NatsArgs, SimArgs, WorkerArgs};
use super::{database_url, ensure_sqlite_dir, worker_config};
use crate::settings::{Paths, Settings};
use crate::worker::WorkerConfig;

/// `vigie worker`: NATS in, the database out, the api, the timers.
pub(super) async fn worker(s: &Settings, paths: &Paths, f: WorkerArgs) -> anyhow::Result<()> {
    crate::logging::json_to_stderr(&s.log.level);
    if !crate::bus::subject::is_valid(f.api_reply_prefix.trim_end_matches('.')) {
        anyhow::bail!(
            "--api-reply-prefix {:?}: dot-separated tokens with no wildcards or spaces",
            f.api_reply_prefix
        );
    }
    let database = database_url(paths, f.database);
    ensure_sqlite_dir(&database)?;
    let (consumer, filter) = match f.partition {
        Some(k) => (
            format!("{}-p{k}", f.consumer),
            crate::bus::subject::partition_filter(k),
        ),
        None => (f.consumer, WorkerConfig::default().filter),
    };
    let default_key = paths.config_dir.join("signing.key");
    let key_file = f
        .signing_key
        .or_else(|| default_key.exists().then_some(default_key));
    let signing_key = match key_file {
        Some(file) => Some(Arc::new(crate::orders::SigningKey::load(&file)?)),
        None => {
            tracing::warn!("no signing key: config pushes are refused (vigie keys generate)");
            None
        }
    };
    let (enroller, grants) = match &f.nats_dir {
        Some(dir) => {
            let deployment = crate::bus::nats::deployment::Deployment::at(dir);
            let (account, signer) = deployment.signer()?;
            let grants = crate::worker::grant::Granter {
                account: account.clone(),
                signer: deployment.signer()?.1,
                ttl: chrono::Duration::seconds(i64::from(f.nats_grant_ttl)),
            };
            (
                Some(Arc::new(crate::worker::enrol::Enroller {
                    account,
                    signer,
                    trusted_keys: signing_key.iter().map(|k| k.public_base64()).collect(),
                })),
                Some(Arc::new(grants)),
            )
        }
        None => (None, None),
    };
    let mut cfg = WorkerConfig {
        consumer,
        filter,
        max_deliver: f.max_deliver,
        signing_key,
        ..worker_config(s)
    };
    if let (Some(k), Some(n)) = (f.partition, f.partitions) {
        if k >= n {
            anyhow::bail!("--partition {k} is not below --partitions {n}");
        }
        cfg.policy.partition = Some((k, n));
    }
    let secret = match (f.session_key, &s.worker.session_key) {
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
        listen: f.listen,
        ready_lag: f.ready_lag,
        sessions,
        api_reply_prefix: f.api_reply_prefix,
        streams: s.streams,
        enroller,
        grants,
    };
    let (url, auth) = f.nats.resolve(&s.nats)?;
    crate::headless::run_worker(&url, &auth, &database, ops, cfg).await
}

/// `vigie sim`: the simulated fleet's telemetry, published to NATS.
pub(super) async fn sim(
    s: &Settings,
    nats: &NatsArgs,
    database: Option<String>,
    fleet: &SimArgs,
    trust: Option<String>,
) -> anyhow::Result<()> {
    crate::logging::json_to_stderr(&s.log.level);
    if let Some(db) = &database {
        ensure_sqlite_dir(db)?;
    }
    let cfg = super::console::sim_config(s, fleet)?;
    let (url, auth) = nats.resolve(&s.nats)?;
    crate::headless::run_sim(&url, &auth, database.as_deref(), cfg, trust.as_deref()).await
}

/// `vigie agent --config agent.toml`: a device's agent.
pub(super) async fn agent(config: Option<PathBuf>) -> anyhow::Result<()> {
    crate::logging::json_to_stderr("info");
    let file = config
        .ok_or_else(|| anyhow::anyhow!("vigie agent needs --config FILE (its agent.toml)"))?;
    let cfg = crate::agent::AgentConfig::load(&file)?;
    let shutdown = crate::headless::shutdown_on_signals();
    crate::agent::run(cfg, shutdown)
        .await
        .map_err(|e| anyhow::anyhow!(e))
}
