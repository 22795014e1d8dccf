//! The worker core: decode → validate → dead-letter → state → rules →
//! batched store write → derived events → ack.
//!
//! The worker is the only writer of the database. It acknowledges a batch
//! only after the batch's transaction committed and its events were
//! published, so a crash at any point redelivers, and the store's
//! idempotency on message ids absorbs the repeats.

pub mod api;
mod dead_letters;
pub mod dispatch;
pub mod enrol;
pub mod grant;
pub mod http;
pub mod latency;
pub mod outbound;
pub mod push;
pub mod snapshots;
pub mod state;
mod timers;
pub mod triage;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, watch};

use crate::bus::envelope;
use crate::bus::event::Event;
use crate::bus::{AckToken, Bus, BusError, Consumer, ConsumerOptions, Delivery, Stream, subject};
use crate::clock::Clock;
use crate::store::{BatchOutcome, Scope, Store, StoreError};
use state::{Changes, FleetState, StatePolicy};

/// Worker errors.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Durable consumer name (one worker per consumer).
    pub consumer: String,
    /// Telemetry subjects this worker takes (all tenants by default).
    pub filter: String,
    /// Most messages per batch.
    pub batch_size: usize,
    /// How long a fetch waits for a first message.
    pub fetch_wait: Duration,
    /// Wall time between sweeps.
    pub sweep_every: Duration,
    /// Redelivery delay after a failed batch.
    pub retry_delay: Duration,
    pub ack_wait: Duration,
    /// Deliveries after which a message is given up and dead-lettered
    /// (`max-deliveries`).
    pub max_deliver: u32,
    /// Wall time between housekeeping passes (partitions, retention).
    pub maintain_every: Duration,
    /// The periodic site, sector and trend rules.
    pub site_rules: crate::rules::site::SiteRuleConfig,
    pub policy: StatePolicy,
    /// The key that signs configuration orders; without it pushes are
    /// refused.
    pub signing_key: Option<Arc<crate::orders::SigningKey>>,
    pub push: push::PushSettings,
    /// Wall time between two looks at push deadlines and rollouts.
    pub push_every: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            consumer: "vigie-worker".into(),
            filter: "vigie.tel.>".into(),
            batch_size: 10_000,
            fetch_wait: Duration::from_millis(100),
            sweep_every: Duration::from_secs(5),
            retry_delay: Duration::from_secs(1),
            ack_wait: Duration::from_secs(30),
            max_deliver: 10,
            maintain_every: Duration::from_secs(3600),
            site_rules: crate::rules::site::SiteRuleConfig::default(),
            policy: StatePolicy::default(),
            signing_key: None,
            push: push::PushSettings::default(),
            push_every: Duration::from_millis(500),
        }
    }
}

/// Counters, shared with whoever wants to read them.
#[derive(Debug, Default)]
pub struct WorkerStats {
    /// Turns of the worker's loop (and of its wait for the database): the
    /// sign of life the service manager's watchdog is given.
    pub turns: AtomicU64,
    /// Messages decoded and applied.
    pub accepted: AtomicU64,
    /// Messages sent to the dead-letter stream.
    pub dead_lettered: AtomicU64,
    /// Telemetry rows that were already stored.
    pub duplicates: AtomicU64,
    pub batches: AtomicU64,
    pub events: AtomicU64,
    /// Batches whose write failed (and were redelivered).
    pub failed_batches: AtomicU64,
    /// Messages in the last batch finished.
    pub last_batch_size: AtomicU64,
    /// Microseconds from the last batch's fetch to its acknowledgement.
    pub last_batch_us: AtomicU64,
    /// Microseconds the slowest batch commit took.
    pub max_commit_us: AtomicU64,
    /// Microseconds all batch commits took.
    pub commit_us_total: AtomicU64,
    /// Database errors (failed writes and failed reconnection checks).
    pub db_errors: AtomicU64,
    /// True from a failed write until the database answers again.
    pub db_down: AtomicBool,
    /// Messages of the durable consumer not yet acknowledged (its lag), as
    /// of the last sweep.
    pub consumer_lag: AtomicU64,
    /// Alert rule evaluations.
    pub rule_evaluations: AtomicU64,
    /// Messages given up at max_deliver and dead-lettered.
    pub exhausted: AtomicU64,
    /// Dead letters that could not be published (their message comes
    /// again).
    pub dlq_failures: AtomicU64,
    /// Event time → committed, per accepted message.
    pub latency: latency::Latency,
    /// Api requests dropped unanswered because their reply subject was not
    /// under the inbox prefix.
    pub api_replies_refused: AtomicU64,
    /// Logins refused before any password was checked: throttled names,
    /// and callers who waited too long for a password check.
    pub logins_throttled: AtomicU64,
}

pub use crate::bus::dead_letter::{DLQ_PAYLOAD_MAX, DeadLetter};

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepOutcome {
    pub fetched: usize,
    pub accepted: usize,
    pub dead_lettered: usize,
    pub events: usize,
}

/// Given-up messages kept at most while the dead-letter stream refuses
/// their letters.
const MAX_UNSENT_LETTERS: usize = 10_000;

/// Least time between two inventory reloads caused by unknown devices.
pub const INVENTORY_RELOAD: Duration = Duration::from_secs(10);

/// A batch decoded and applied, not yet written.
struct Prepared {
    changes: Changes,
    tokens: Vec<AckToken>,
    /// Event times (ms) of the accepted messages, for the latency.
    stamps: Vec<i64>,
    outcome: StepOutcome,
    fetched_at: Instant,
}

impl Prepared {
    /// Changes the worker made itself (sweeps, periodic rules): nothing to
    /// acknowledge.
    fn local(changes: Changes) -> Self {
        Self {
            changes,
            tokens: Vec::new(),
            stamps: Vec::new(),
            outcome: StepOutcome::default(),
            fetched_at: Instant::now(),
        }
    }
}

/// A batch being written.
struct InFlight {
    fetched_at: Instant,
    stamps: Vec<i64>,
    write: tokio::task::JoinHandle<Result<BatchOutcome, StoreError>>,
    events: Vec<(crate::domain::Id, crate::bus::event::EventBody)>,
    push_reports: Vec<push::ReportIn>,
    tokens: Vec<AckToken>,
    outcome: StepOutcome,
    /// The snapshot lock, held until the events are published.
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

/// The worker.
pub struct Worker {
    bus: Arc<dyn Bus>,
    store: Arc<dyn Store>,
    clock: Clock,
    cfg: WorkerConfig,
    state: FleetState,
    consumer: Box<dyn Consumer>,
    /// Held from a batch's write until its events are published; the api's
    /// snapshot takes it to read a store and a sequence that agree.
    publish_lock: Arc<Mutex<()>>,
    stats: Arc<WorkerStats>,
    run_id: String,
    event_seq: u64,
    last_sweep: Instant,
    last_maintain: Option<Instant>,
    site_rules: crate::rules::site::SiteRules,
    last_site_rules: Instant,
    in_flight: Option<InFlight>,
    last_inventory_reload: Option<Instant>,
    /// Messages given up at max_deliver whose dead letter is not out yet.
    exhausted: std::collections::VecDeque<Delivery>,
    pushes: Arc<push::Pushes>,
    last_push_sweep: Instant,
    triage_tx: tokio::sync::mpsc::Sender<triage::TriageRequest>,
    triage_rx: tokio::sync::mpsc::Receiver<triage::TriageRequest>,
    /// The destinations events are queued for.
    routes: outbound::Routes,
}

/// Loads the fleet state from the store.
pub async fn load_state(store: &dyn Store, policy: StatePolicy) -> Result<FleetState, StoreError> {
    let thresholds: HashMap<_, _> = store
        .tenants()
        .await?
        .into_iter()
        .map(|t| (t.id, t.thresholds))
        .collect();
    let rows = store
        .fleet_page(&Scope::All, &Default::default())
        .await?
        .rows;
    let states = store.device_states(&Scope::All).await?;
    let links = store.links(&Scope::All).await?;
    let incidents = store.incident_queue(&Scope::All, u32::MAX).await?;
    let alerts = store.alert_history(&Scope::All, None, u32::MAX).await?;
    Ok(FleetState::new(
        policy,
        &thresholds,
        rows,
        states,
        links,
        incidents,
        alerts,
    ))
}

impl Worker {
    /// Loads the state and opens the durable consumer.
    pub async fn start(
        bus: Arc<dyn Bus>,
        store: Arc<dyn Store>,
        clock: Clock,
        cfg: WorkerConfig,
    ) -> Result<Self, WorkerError> {
        let state = load_state(store.as_ref(), cfg.policy.clone()).await?;
        let consumer = bus
            .consumer(
                Stream::Telemetry,
                &cfg.consumer,
                &cfg.filter,
                ConsumerOptions {
                    ack_wait: cfg.ack_wait,
                    max_deliver: Some(cfg.max_deliver.max(2)),
                },
            )
            .await?;
        let run_id = format!("w{:x}", clock.now().timestamp_micros());
        let (triage_tx, triage_rx) = tokio::sync::mpsc::channel(triage::QUEUE);
        let pushes = Arc::new(push::Pushes::new(
            Arc::clone(&store),
            Arc::clone(&bus),
            cfg.signing_key.clone(),
            cfg.push.clone(),
            clock.clone(),
        ));
        Ok(Self {
            bus,
            store,
            clock,
            cfg,
            state,
            consumer,
            publish_lock: Arc::new(Mutex::new(())),
            stats: Arc::new(WorkerStats::default()),
            run_id,
            event_seq: 0,
            last_sweep: Instant::now(),
            last_maintain: None,
            site_rules: crate::rules::site::SiteRules::default(),
            last_site_rules: Instant::now(),
            in_flight: None,
            last_inventory_reload: None,
            exhausted: std::collections::VecDeque::new(),
            pushes,
            last_push_sweep: Instant::now(),
            triage_tx,
            triage_rx,
            routes: outbound::Routes::default(),
        })
    }

    /// The counters.
    pub fn stats(&self) -> Arc<WorkerStats> {
        Arc::clone(&self.stats)
    }

    /// The pushes desk, for the api.
    pub fn pushes(&self) -> Arc<push::Pushes> {
        Arc::clone(&self.pushes)
    }

    /// Where the api sends incident triage.
    pub fn triage_sender(&self) -> tokio::sync::mpsc::Sender<triage::TriageRequest> {
        self.triage_tx.clone()
    }

    /// The lock the api takes for consistent snapshots.
    pub fn publish_lock(&self) -> Arc<Mutex<()>> {
        Arc::clone(&self.publish_lock)
    }

    /// The in-memory state (for tests and the api).
    pub fn state(&self) -> &FleetState {
        &self.state
    }

    /// Runs until `shutdown` turns true, finishing the batch in hand.
    pub async fn run(mut self, shutdown: watch::Receiver<bool>) -> Result<(), WorkerError> {
        // Shutdown is checked between steps, never by cancelling one: a step
        // is bounded by the fetch wait and one batch, and finishing it keeps
        // the state, the database and the acks in step.
        loop {
            self.stats.turns.fetch_add(1, Ordering::Relaxed);
            if *shutdown.borrow() {
                return self.flush().await;
            }
            self.triage_pending().await;
            if self.last_sweep.elapsed() >= self.cfg.sweep_every
                && let Err(e) = self.sweep().await
            {
                tracing::error!(error = %e, "sweep failed; retrying at the next one");
            }
            if self
                .last_maintain
                .is_none_or(|t| t.elapsed() >= self.cfg.maintain_every)
            {
                self.maintain().await;
            }
            if self.last_push_sweep.elapsed() >= self.cfg.push_every
                && let Err(e) = self.sweep_pushes().await
            {
                tracing::error!(error = %e, "push sweep failed; retrying at the next one");
            }
            let every = Duration::from_secs(u64::from(self.cfg.site_rules.every_s.max(1)));
            if self.last_site_rules.elapsed() >= every
                && let Err(e) = self.run_site_rules().await
            {
                tracing::error!(error = %e, "site rules failed; retrying at the next evaluation");
            }
            if let Err(e) = self.step().await {
                match e {
                    WorkerError::Store(_) => {
                        tracing::error!(error = %e, "batch not stored; it will be redelivered");
                        self.wait_for_database(&shutdown).await;
                    }
                    WorkerError::Bus(_) => {
                        tracing::error!(error = %e, "bus error; retrying");
                        tokio::time::sleep(self.cfg.retry_delay).await;
                    }
                }
            }
        }
    }

    /// After a failed write: fetches nothing more (so that nothing is
    /// delivered again and again towards max_deliver) until the database
    /// answers, then reloads the state from it.
    async fn wait_for_database(&mut self, shutdown: &watch::Receiver<bool>) {
        self.stats.db_down.store(true, Ordering::Relaxed);
        let mut delay = self.cfg.retry_delay;
        loop {
            tokio::time::sleep(delay).await;
            self.stats.turns.fetch_add(1, Ordering::Relaxed);
            match self.store.ping().await {
                Ok(()) => break,
                Err(e) => {
                    self.stats.db_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "database unreachable; waiting");
                }
            }
            if *shutdown.borrow() {
                return;
            }
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        match load_state(self.store.as_ref(), self.cfg.policy.clone()).await {
            Ok(state) => {
                self.state = state;
                self.stats.db_down.store(false, Ordering::Relaxed);
                tracing::info!("database back; resuming");
            }
            Err(e) => {
                self.stats.db_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "state not reloaded; trying again");
            }
        }
    }

    /// Fetches and processes one batch.
    ///
    /// Batches are pipelined: this batch is decoded and applied while the
    /// previous one is being written on the database's own thread; then
    /// the previous one is finished (events published, messages acked) and
    /// this one's write begins. An empty fetch finishes the batch in flight,
    /// so stepping until nothing is fetched leaves everything stored.
    pub async fn step(&mut self) -> Result<StepOutcome, WorkerError> {
        let batch = self
            .consumer
            .fetch(self.cfg.batch_size, self.cfg.fetch_wait)
            .await?;
        if batch.is_empty() {
            self.flush().await?;
            return Ok(StepOutcome::default());
        }
        let prepared = match self.prepare(batch).await {
            Ok(p) => p,
            Err(e) => {
                self.reload_state().await;
                return Err(e);
            }
        };
        let outcome = prepared.outcome;
        if let Err(e) = self.flush().await {
            // The state already holds this batch too: hand it back.
            self.give_back(&prepared.tokens).await;
            return Err(e);
        }
        self.begin_write(prepared).await;
        Ok(outcome)
    }

    /// Decodes and applies a batch to the in-memory state; dead-letters
    /// what cannot be accepted.
    async fn prepare(&mut self, batch: Vec<Delivery>) -> Result<Prepared, WorkerError> {
        let fetched_at = Instant::now();
        let now = self.clock.now();
        let mut outcome = StepOutcome {
            fetched: batch.len(),
            ..StepOutcome::default()
        };
        let mut changes = Changes::default();
        let mut tokens = Vec::with_capacity(batch.len());
        let mut stamps = Vec::with_capacity(batch.len());
        let mut rejected: Vec<(usize, &'static str, String)> = Vec::new();
        for (i, d) in batch.iter().enumerate() {
            match envelope::decode_on(&d.subject, &d.payload) {
                Ok(env) => {
                    let mut applied = self.state.apply(&env, now, &mut changes);
                    // A device added to the inventory since the state was
                    // loaded: look again (at most every INVENTORY_RELOAD).
                    if matches!(applied, Err(state::Refusal::UnknownDevice { .. }))
                        && self.reload_inventory().await
                    {
                        applied = self.state.apply(&env, now, &mut changes);
                    }
                    match applied {
                        Ok(()) => {
                            outcome.accepted += 1;
                            stamps.push(env.ts.timestamp_millis());
                        }
                        Err(refusal) => rejected.push((i, refusal.reason(), refusal.to_string())),
                    }
                }
                Err(e) => rejected.push((i, e.reason(), e.to_string())),
            }
            tokens.push(d.token.clone());
        }
        self.state.flush_events(now, &mut changes, false);
        // A letter that cannot be published fails only its own message:
        // it is handed back (and given up at max_deliver), the batch goes on.
        let mut unsent = std::collections::HashSet::new();
        for (i, reason, error) in &rejected {
            let d = &batch[*i];
            if let Err(e) = self.dead_letter(d, reason, error.clone()).await {
                tracing::warn!(error = %e, reason, stream_seq = d.token.stream_seq,
                    "dead letter not published; the message comes again");
                self.stats.dlq_failures.fetch_add(1, Ordering::Relaxed);
                let _ = self.consumer.nak(&d.token, self.cfg.retry_delay).await;
                unsent.insert(d.token.stream_seq);
            }
        }
        if !unsent.is_empty() {
            tokens.retain(|t| !unsent.contains(&t.stream_seq));
        }
        outcome.dead_lettered = rejected.len() - unsent.len();
        outcome.events = changes.events.len();
        Ok(Prepared {
            changes,
            tokens,
            stamps,
            outcome,
            fetched_at,
        })
    }

    /// Starts writing a prepared batch on the database thread.
    async fn begin_write(&mut self, p: Prepared) {
        let store = Arc::clone(&self.store);
        // Before the snapshot lock: a read of the destinations every few
        // seconds must not hold up the api's snapshots.
        self.routes.refresh(store.as_ref()).await;
        let guard = Arc::clone(&self.publish_lock).lock_owned().await;
        let mut batch = p.changes.batch;
        batch.outbox = self
            .routes
            .rows(&p.changes.events, &p.changes.outbound, self.clock.now());
        let stats = Arc::clone(&self.stats);
        stats
            .rule_evaluations
            .fetch_add(p.changes.evaluations, Ordering::Relaxed);
        let write = tokio::spawn(async move {
            if batch.is_empty() {
                return Ok(BatchOutcome::default());
            }
            let started = Instant::now();
            let written = store.write_batch(&batch).await;
            let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            stats.commit_us_total.fetch_add(us, Ordering::Relaxed);
            stats.max_commit_us.fetch_max(us, Ordering::Relaxed);
            written
        });
        self.in_flight = Some(InFlight {
            fetched_at: p.fetched_at,
            stamps: p.stamps,
            write,
            events: p.changes.events,
            push_reports: p.changes.push_reports,
            tokens: p.tokens,
            outcome: p.outcome,
            _guard: guard,
        });
    }

    /// Finishes the batch in flight: waits for its commit, publishes its
    /// events, then acknowledges its messages. On a failed write nothing is
    /// acknowledged, the messages are handed back for redelivery and the
    /// state is reloaded from the database.
    pub async fn flush(&mut self) -> Result<(), WorkerError> {
        let finished = self.finish_in_flight().await;
        if finished.is_err() {
            // Whatever failed (the write, a push report, the events or the
            // acks), the batch's messages come again: the state must not
            // hold them twice. The database is the source of truth.
            self.reload_state().await;
        }
        finished
    }

    /// Rebuilds the in-memory state from the database.
    async fn reload_state(&mut self) {
        match load_state(self.store.as_ref(), self.cfg.policy.clone()).await {
            Ok(state) => self.state = state,
            Err(e) => {
                tracing::error!(error = %e, "state not reloaded; it is reloaded again after the next failure");
            }
        }
    }

    async fn finish_in_flight(&mut self) -> Result<(), WorkerError> {
        let Some(f) = self.in_flight.take() else {
            return Ok(());
        };
        let written = match f.write.await {
            Ok(r) => r,
            Err(join) => Err(StoreError::Invalid(format!("database task failed: {join}"))),
        };
        let outcome = match written {
            Ok(o) => o,
            Err(e) => {
                self.stats.failed_batches.fetch_add(1, Ordering::Relaxed);
                self.stats.db_errors.fetch_add(1, Ordering::Relaxed);
                self.give_back(&f.tokens).await;
                drop(f._guard);
                return Err(e.into());
            }
        };
        // Push reports are followed after the batch committed and before
        // anything is acknowledged; following one again changes nothing.
        for r in &f.push_reports {
            match self.pushes.report(r).await {
                Ok(_) => {}
                Err(push::PushError::Store(e)) => {
                    self.stats.db_errors.fetch_add(1, Ordering::Relaxed);
                    self.give_back(&f.tokens).await;
                    return Err(e.into());
                }
                Err(e) => {
                    tracing::warn!(error = %e, push = ?r.report.push, "push report not followed");
                }
            }
        }
        self.stats
            .duplicates
            .fetch_add(outcome.duplicates, Ordering::Relaxed);
        let committed = chrono::Utc::now().timestamp_millis();
        for ts in &f.stamps {
            self.stats.latency.record(committed - ts);
        }
        let now = self.clock.now();
        let n = f.events.len() as u64;
        let mut out = Vec::with_capacity(f.events.len());
        for (tenant, body) in f.events {
            self.event_seq += 1;
            let event = Event::new(
                format!("{}-{}", self.run_id, self.event_seq),
                tenant,
                now,
                body,
            );
            let payload = match crate::bus::json_payload(&event) {
                Ok(p) => p,
                Err(e) => {
                    self.give_back(&f.tokens).await;
                    return Err(e.into());
                }
            };
            out.push(crate::bus::OutMessage {
                subject: event.subject(),
                payload,
                msg_id: event.id,
            });
        }
        // In order, without waiting for each acknowledgement in turn.
        if let Err(e) = self.bus.publish_all(out).await {
            self.give_back(&f.tokens).await;
            return Err(e.into());
        }
        drop(f._guard);
        if !f.tokens.is_empty() {
            self.consumer.ack(&f.tokens).await?;
        }
        self.stats
            .accepted
            .fetch_add(f.outcome.accepted as u64, Ordering::Relaxed);
        self.stats
            .dead_lettered
            .fetch_add(f.outcome.dead_lettered as u64, Ordering::Relaxed);
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        self.stats.events.fetch_add(n, Ordering::Relaxed);
        if !f.tokens.is_empty() {
            self.stats
                .last_batch_size
                .store(f.tokens.len() as u64, Ordering::Relaxed);
            let us = u64::try_from(f.fetched_at.elapsed().as_micros()).unwrap_or(u64::MAX);
            self.stats.last_batch_us.store(us, Ordering::Relaxed);
        }
        Ok(())
    }
}
