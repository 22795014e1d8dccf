//! `vigie demo`: simulator + worker + console in one process, on an SQLite
//! file and the in-process bus. No services needed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;

use crate::bus::envelope::encode;
use crate::bus::memory::MemoryBus;
use crate::bus::{Bus, Consumer};
use crate::clock::Clock;
use crate::console::{self, ConsoleOptions};
use crate::sim::agents::SimAgents;
use crate::sim::{self, SimConfig, Simulator};
use crate::store::Store;
use crate::store::sqlite::SqliteStore;
use crate::worker::{Worker, WorkerConfig, api};

/// How the demo runs.
pub struct DemoOptions {
    pub db: PathBuf,
    pub fresh: bool,
    /// `None` runs the embedded console alone: worker and console on the
    /// database, no simulated fleet.
    pub sim: Option<SimConfig>,
    pub worker: WorkerConfig,
    pub console: ConsoleOptions,
}

/// Removes an SQLite database and its WAL files.
pub fn remove_db(db: &std::path::Path) -> std::io::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(PathBuf::from(p)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Publishes the simulator's telemetry as it falls due, within the rate cap,
/// until `stop` turns true. Logs the rate every ten seconds.
pub async fn drive(
    mut sim: Simulator,
    bus: Arc<dyn Bus>,
    clock: Clock,
    rate: Option<f64>,
    mut agents: Option<(SimAgents, Box<dyn Consumer>)>,
    mut stop: watch::Receiver<bool>,
) {
    let step = Duration::from_millis(100);
    let mut tick = tokio::time::interval(step);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut published, mut since) = (0u64, std::time::Instant::now());
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        let budget = rate.map_or(usize::MAX, |r| {
            (r * step.as_secs_f64()).ceil().max(1.0) as usize
        });
        let mut due = sim.due(clock.now(), budget);
        if let Some((a, orders)) = agents.as_mut() {
            due.extend(answer_orders(a, orders.as_mut(), &mut sim, clock.now()).await);
        }
        for env in due {
            let payload = Bytes::from(encode(&env));
            match bus.publish(&env.subject(), env.id.as_str(), payload).await {
                Ok(_) => published += 1,
                Err(e) => tracing::error!(error = %e, "simulated telemetry not published"),
            }
        }
        if since.elapsed() >= Duration::from_secs(10) {
            let per_s = published as f64 / since.elapsed().as_secs_f64();
            tracing::info!(published, per_s = per_s.round(), "simulated telemetry");
            (published, since) = (0, std::time::Instant::now());
        }
    }
}

/// The simulated agents' turn: orders in, reports out.
async fn answer_orders(
    agents: &mut SimAgents,
    orders: &mut dyn Consumer,
    sim: &mut Simulator,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<crate::bus::envelope::Envelope> {
    let mut out = agents.tick(sim, now);
    match orders.fetch(64, Duration::from_millis(1)).await {
        Ok(batch) => {
            for d in batch {
                out.extend(agents.on_order(sim, &d.subject, &d.payload, now));
                let _ = orders.ack(&[d.token]).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "simulated agents: orders not fetched"),
    }
    out
}

/// The simulated agents and their orders consumer, trusting `key`.
pub async fn sim_agents(
    bus: &dyn Bus,
    public_key: &str,
) -> anyhow::Result<(SimAgents, Box<dyn Consumer>)> {
    let mut trusted = crate::orders::TrustedKeys::default();
    trusted.add_base64(public_key)?;
    let orders = bus
        .consumer(
            crate::bus::Stream::Orders,
            "vigie-sim-agents",
            "vigie.ord.>",
            crate::bus::ConsumerOptions::default(),
        )
        .await?;
    Ok((SimAgents::new(trusted), orders))
}

/// Runs the demo until the console quits.
/// Writes the simulated past in batches the size the worker writes.
async fn write_past(store: Arc<dyn Store>, past: crate::store::WriteBatch) {
    const ROWS: usize = 10_000;
    let batches = past
        .metrics
        .chunks(ROWS)
        .map(|m| crate::store::WriteBatch {
            metrics: m.to_vec(),
            ..Default::default()
        })
        .chain(past.signals.chunks(ROWS).map(|s| crate::store::WriteBatch {
            signals: s.to_vec(),
            ..Default::default()
        }));
    for b in batches {
        if let Err(e) = store.write_batch(&b).await {
            tracing::warn!(error = %e, "the demo's past was not all written");
            return;
        }
    }
    tracing::info!("the demo's past is written");
}

pub async fn run(opts: DemoOptions) -> anyhow::Result<()> {
    if opts.fresh {
        remove_db(&opts.db)?;
    }
    if let Some(dir) = opts.db.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let path = opts.db.to_string_lossy().to_string();
    let new_db = !opts.db.exists();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await?);
    store.migrate().await?;
    let clock = opts.console.clock.clone();
    let simulator = match &opts.sim {
        Some(cfg) => {
            let mut simulator = Simulator::new(cfg, sim::plan(cfg.seed, cfg.devices), clock.now());
            store.import_inventory(simulator.inventory()).await?;
            if new_db {
                // A new demo opens on a past, written beside the live fleet
                // so that the console does not wait for it: charts and
                // trends have something to show within seconds.
                let past = simulator.history(sim::history::HistorySpan::default());
                tokio::spawn(write_past(Arc::clone(&store), past));
            }
            tracing::info!(db = %path, devices = simulator.inventory().devices.len(), "demo started");
            Some((simulator, cfg.rate))
        }
        None => None,
    };
    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::default());
    // The demo's worker signs with a key of its own, made for this run; the
    // simulated agents trust it.
    let key = Arc::new(crate::orders::SigningKey::generate().map_err(|e| anyhow::anyhow!(e))?);
    let agents = match simulator {
        Some(_) => Some(sim_agents(bus.as_ref(), &key.public_base64()).await?),
        None => None,
    };
    let mut worker_cfg = opts.worker;
    worker_cfg.signing_key = Some(key);
    let worker = Worker::start(
        Arc::clone(&bus),
        Arc::clone(&store),
        clock.clone(),
        worker_cfg,
    )
    .await?;
    // The console's user is a local provider-wide administrator: whoever
    // reads this database file sees all of it anyway.
    let sessions = Arc::new(crate::auth::Sessions::ephemeral());
    let mut console_opts = opts.console;
    // Sessions run on the wall clock, whatever the simulation's speed.
    crate::admin::users::ensure_local_admin(store.as_ref(), &console_opts.user, chrono::Utc::now())
        .await?;
    console_opts.token = sessions.issue(&console_opts.user, chrono::Utc::now()).0;
    let api_task = tokio::spawn(api::serve(api::ApiContext::of(
        &worker,
        Arc::clone(&bus),
        Arc::clone(&store),
        sessions,
    )));
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker_task = tokio::spawn(worker.run(stop_rx.clone()));
    let sim_task = simulator
        .map(|(s, rate)| tokio::spawn(drive(s, Arc::clone(&bus), clock, rate, agents, stop_rx)));
    let result = console::run(bus, console_opts).await;
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), worker_task).await;
    if let Some(t) = sim_task {
        t.abort();
    }
    api_task.abort();
    result
}
