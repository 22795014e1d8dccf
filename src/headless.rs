//! The headless roles on NATS: `vigie worker` and `vigie sim`.

use std::sync::Arc;

use tokio::sync::watch;

use crate::bus::Bus;
use crate::bus::nats::{NatsAuth, NatsBus};
use crate::sim::{self, SimConfig, Simulator};
use crate::store::Store;
use crate::worker::{Clock, Worker, WorkerConfig, api};

/// Turns SIGINT or SIGTERM into a shutdown signal.
pub fn shutdown_on_signals() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutdown requested; finishing the batch in hand");
        let _ = tx.send(true);
    });
    rx
}

/// The worker's operations settings.
#[derive(Debug, Clone, Copy)]
pub struct WorkerOps {
    /// Where to serve /metrics, /healthz and /readyz.
    pub listen: Option<std::net::SocketAddr>,
    /// Consumer lag above which /readyz fails.
    pub ready_lag: u64,
}

/// Runs the worker on NATS until SIGINT/SIGTERM, then drains and returns.
pub async fn run_worker(
    nats: &str,
    auth: &NatsAuth,
    database: &str,
    ops: WorkerOps,
    cfg: WorkerConfig,
) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = crate::store::open(database).await?;
    let applied = store.migrate().await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "database migrated");
    }
    let nats_bus = NatsBus::connect_with(nats, auth).await?;
    let client = nats_bus.client().clone();
    let bus: Arc<dyn Bus> = Arc::new(nats_bus);
    let consumer = cfg.consumer.clone();
    let worker = Worker::start(Arc::clone(&bus), Arc::clone(&store), Clock::system(), cfg).await?;
    let stats = worker.stats();
    let http_task = match ops.listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("--listen {addr}: {e}"))?;
            tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
            let probe = Arc::new(crate::worker::http::Probe {
                stats: worker.stats(),
                store: Arc::clone(&store),
                bus_up: Box::new(move || {
                    client.connection_state() == async_nats::connection::State::Connected
                }),
                ready_lag: ops.ready_lag,
            });
            Some(tokio::spawn(crate::worker::http::serve(listener, probe)))
        }
        None => None,
    };
    let api_task = tokio::spawn(api::serve(Arc::clone(&bus), store, worker.publish_lock()));
    tracing::info!(
        nats,
        database,
        consumer,
        devices = worker.state().device_count(),
        "worker started"
    );
    let shutdown = shutdown_on_signals();
    let result = worker.run(shutdown).await;
    api_task.abort();
    if let Some(t) = http_task {
        t.abort();
    }
    use std::sync::atomic::Ordering::Relaxed;
    tracing::info!(
        accepted = stats.accepted.load(Relaxed),
        dead_lettered = stats.dead_lettered.load(Relaxed),
        duplicates = stats.duplicates.load(Relaxed),
        batches = stats.batches.load(Relaxed),
        "worker stopped"
    );
    Ok(result?)
}

/// Publishes the simulated fleet's telemetry to NATS until SIGINT/SIGTERM.
/// With `database`, the fleet's inventory is written there first, so that a
/// worker on that database knows the devices.
pub async fn run_sim(
    nats: &str,
    auth: &NatsAuth,
    database: Option<&str>,
    cfg: SimConfig,
) -> anyhow::Result<()> {
    let clock = Clock::scaled(chrono::Utc::now(), cfg.speed);
    let simulator = Simulator::new(&cfg, sim::plan(cfg.seed, cfg.devices), clock.now());
    if let Some(url) = database {
        let store = crate::store::open(url).await?;
        store.migrate().await?;
        store.import_inventory(simulator.inventory()).await?;
        tracing::info!(
            database = url,
            devices = simulator.inventory().devices.len(),
            "inventory imported"
        );
    }
    let bus: Arc<dyn Bus> = Arc::new(NatsBus::connect_with(nats, auth).await?);
    tracing::info!(
        nats,
        devices = simulator.inventory().devices.len(),
        speed = cfg.speed,
        "simulator started"
    );
    let stop = shutdown_on_signals();
    crate::demo::drive(simulator, bus, clock, cfg.rate, stop).await;
    Ok(())
}
