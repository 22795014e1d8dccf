//! The headless roles on NATS: `vigie worker` and `vigie sim`.

use crate::settings::secret::redact_url;
use std::sync::Arc;

use tokio::sync::watch;

use crate::bus::Bus;
use crate::bus::nats::{NatsAuth, NatsBus};
use crate::clock::Clock;
use crate::sim::{self, SimConfig, Simulator};
use crate::store::Store;
use crate::worker::{Worker, WorkerConfig, api};

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
#[derive(Debug, Clone)]
pub struct WorkerOps {
    /// Where to serve /metrics, /healthz and /readyz.
    pub listen: Option<std::net::SocketAddr>,
    /// Consumer lag above which /readyz fails.
    pub ready_lag: u64,
    /// Checks the sessions of api requests.
    pub sessions: Arc<crate::auth::Sessions>,
    /// Api answers go only under this reply prefix.
    pub api_reply_prefix: String,
    /// What each stream may hold; applied at start.
    pub streams: crate::bus::StreamLimits,
    /// Serves enrolments when set (the deployment's signing key).
    pub enroller: Option<Arc<crate::worker::enrol::Enroller>>,
    /// Signs users' NATS credentials at login when set.
    pub grants: Option<Arc<crate::worker::grant::Granter>>,
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
    nats_bus.configure_streams(&ops.streams).await?;
    let client = nats_bus.client().clone();
    let bus: Arc<dyn Bus> = Arc::new(nats_bus);
    let consumer = cfg.consumer.clone();
    let dispatch_store = Arc::clone(&store);
    let worker = Worker::start(Arc::clone(&bus), Arc::clone(&store), Clock::system(), cfg).await?;
    let stats = worker.stats();
    // Delivery to the SOC: this worker serves the destinations whose lease
    // it holds.
    let dispatcher = crate::worker::dispatch::Dispatcher::new(
        Arc::clone(&dispatch_store),
        Clock::system(),
        lease_holder(),
    )
    .announcing(Arc::clone(&bus));
    let outbound = dispatcher.stats();
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
                outbound: Some(outbound),
            });
            Some(tokio::spawn(crate::worker::http::serve(listener, probe)))
        }
        None => None,
    };
    let enrol_task = ops.enroller.clone().map(|e| {
        tokio::spawn(crate::worker::enrol::serve(
            Arc::clone(&bus),
            Arc::clone(&store),
            e,
            ops.api_reply_prefix.clone(),
        ))
    });
    let api_task = tokio::spawn(api::serve(
        api::ApiContext::of(&worker, Arc::clone(&bus), store, ops.sessions)
            .with_inbox_prefix(&ops.api_reply_prefix)
            .with_grants(ops.grants.clone()),
    ));
    tracing::info!(
        nats = %redact_url(nats),
        database = %redact_url(database),
        consumer,
        devices = worker.state().device_count(),
        "worker started"
    );
    let shutdown = shutdown_on_signals();
    let dispatch_task = tokio::spawn(dispatcher.run(shutdown.clone()));
    let watchdog = service_manager_ready(Arc::clone(&stats));
    let result = worker.run(shutdown).await;
    dispatch_task.abort();
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    if let Some(w) = watchdog {
        w.abort();
    }
    api_task.abort();
    if let Some(t) = enrol_task {
        t.abort();
    }
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

/// This process's name in leases: unique among the workers sharing a
/// database (two hosts may run the same pid).
fn lease_holder() -> String {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 6];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    format!("worker-{}-{}", std::process::id(), crate::domain::hex(&b))
}

/// Tells systemd (`Type=notify`) the worker is ready, and when it asks
/// for a watchdog (`WatchdogSec=`), pings it at half the interval for as
/// long as the worker's loop keeps turning: a worker stuck in a call is
/// restarted, one waiting for its database is not. Nothing when not run
/// by systemd.
fn service_manager_ready(
    stats: Arc<crate::worker::WorkerStats>,
) -> Option<tokio::task::JoinHandle<()>> {
    use std::sync::atomic::Ordering::Relaxed;
    if let Err(e) = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]) {
        tracing::warn!(error = %e, "could not tell systemd the worker is ready");
    }
    let mut usec = 0u64;
    if !sd_notify::watchdog_enabled(false, &mut usec) || usec == 0 {
        return None;
    }
    let every = std::time::Duration::from_micros(usec / 2);
    tracing::info!(every_ms = every.as_millis(), "systemd watchdog on");
    Some(tokio::spawn(async move {
        let mut seen = stats.turns.load(Relaxed);
        loop {
            tokio::time::sleep(every).await;
            let now = stats.turns.load(Relaxed);
            if now != seen {
                seen = now;
                let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
            } else {
                tracing::warn!("the worker's loop has not turned since the last watchdog ping");
            }
        }
    }))
}

/// Publishes the simulated fleet's telemetry to NATS until SIGINT/SIGTERM.
/// With `database`, the fleet's inventory is written there first, so that a
/// worker on that database knows the devices.
pub async fn run_sim(
    nats: &str,
    auth: &NatsAuth,
    database: Option<&str>,
    cfg: SimConfig,
    trust: Option<&str>,
) -> anyhow::Result<()> {
    let clock = Clock::scaled(chrono::Utc::now(), cfg.speed);
    let simulator = Simulator::new(&cfg, sim::plan(cfg.seed, cfg.devices), clock.now());
    if let Some(url) = database {
        let store = crate::store::open(url).await?;
        store.migrate().await?;
        store.import_inventory(simulator.inventory()).await?;
        tracing::info!(
            database = %redact_url(url),
            devices = simulator.inventory().devices.len(),
            "inventory imported"
        );
    }
    let bus: Arc<dyn Bus> = Arc::new(NatsBus::connect_with(nats, auth).await?);
    tracing::info!(
        nats = %redact_url(nats),
        devices = simulator.inventory().devices.len(),
        speed = cfg.speed,
        "simulator started"
    );
    let stop = shutdown_on_signals();
    match cfg.rate {
        Some(rate) => drive_load(simulator, bus, rate, stop).await,
        None => {
            let agents = match trust {
                Some(key) => Some(crate::demo::sim_agents(bus.as_ref(), key).await?),
                None => {
                    tracing::info!("no --trust key: the simulated agents ignore orders");
                    None
                }
            };
            crate::demo::drive(simulator, bus, clock, None, agents, stop).await;
        }
    }
    Ok(())
}

/// Load generation: the fleet's own mix of messages, as many per second as
/// asked, each stamped with the wall clock when it is sent. The fleet's
/// simulated time runs as fast as needed to produce them, so outages and
/// flaps come faster too. Ids carry the run's start, so that a second run
/// is not taken for a replay of the first. When the server cannot
/// acknowledge that many, the rate achieved is what it can take, and the
/// log says so every ten seconds.
pub async fn drive_load(
    mut sim: Simulator,
    bus: Arc<dyn Bus>,
    rate: f64,
    mut stop: watch::Receiver<bool>,
) {
    use crate::bus::OutMessage;
    use crate::bus::envelope::{MsgId, encode};
    let step = std::time::Duration::from_millis(100);
    let per_tick = (rate * step.as_secs_f64()).ceil().max(1.0) as usize;
    let mut tick = tokio::time::interval(step);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let run = format!("r{:x}", chrono::Utc::now().timestamp_millis());
    let mut sim_time = chrono::Utc::now();
    let (mut published, mut since) = (0u64, std::time::Instant::now());
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        let mut batch = Vec::with_capacity(per_tick);
        while batch.len() < per_tick {
            sim_time += chrono::Duration::seconds(1);
            batch.extend(sim.due(sim_time, per_tick - batch.len()));
        }
        let now = chrono::Utc::now();
        let out: Vec<OutMessage> = batch
            .into_iter()
            .filter_map(|mut env| {
                env.ts = now;
                env.id = MsgId::parse(&format!("{run}-{}", env.id.as_str())).ok()?;
                Some(OutMessage {
                    subject: env.subject(),
                    msg_id: env.id.to_string(),
                    payload: bytes::Bytes::from(encode(&env)),
                })
            })
            .collect();
        // Four publishers at once: one stream of acks is not enough to
        // keep the server busy.
        let mut rest = out;
        let share = rest.len().div_ceil(4).max(1);
        let mut jobs = Vec::new();
        while !rest.is_empty() {
            let tail = rest.split_off(share.min(rest.len()));
            let chunk = std::mem::replace(&mut rest, tail);
            let bus = Arc::clone(&bus);
            jobs.push(tokio::spawn(async move {
                let n = chunk.len() as u64;
                bus.publish_all(chunk).await.map(|_| n)
            }));
        }
        for job in jobs {
            match job.await {
                Ok(Ok(n)) => published += n,
                Ok(Err(e)) => tracing::error!(error = %e, "simulated telemetry not published"),
                Err(e) => tracing::error!(error = %e, "publisher failed"),
            }
        }
        if since.elapsed() >= std::time::Duration::from_secs(10) {
            let per_s = published as f64 / since.elapsed().as_secs_f64();
            tracing::info!(published, per_s = per_s.round(), asked = rate, "load");
            (published, since) = (0, std::time::Instant::now());
        }
    }
}
