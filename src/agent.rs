//! `vigie agent`: runs on a managed host and only ever connects out. It
//! sends heartbeats, metrics and its configuration up; it pulls signed
//! orders from its own durable consumer, checks them strictly, applies a
//! configuration with a backup and a local revert timer, and reports every
//! outcome, rejections included.
//!
//! The revert does not depend on the MSP: the deadline is kept on disk and
//! the timer runs whether NATS is reachable or not. An agent that restarts
//! while a push awaits confirmation restores the backup at once (the
//! restart may well be the new configuration's doing).

pub mod config;
pub mod driver;
pub mod host;
pub mod state;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::bus::envelope::{Envelope, MsgId, encode};
use crate::bus::{Bus, Consumer, ConsumerOptions, Stream, subject};
use crate::domain::telemetry::{ConfigSnapshot, Heartbeat, PushOutcome, PushReport, Telemetry};
use crate::domain::{Id, SafeBlock, SafeText};
use crate::orders::{Order, OrderKind, SignedOrder, verify};
pub use config::{AgentConfig, DriverConfig};
use state::{AgentState, Outgoing, Pending, StateDir};

/// The agent.
pub struct Agent {
    cfg: AgentConfig,
    dir: StateDir,
    state: AgentState,
    driver: driver::Driver,
    host: host::Sampler,
    ids: crate::bus::envelope::RandomIds,
}

/// The agent's link to NATS, once connected.
struct Link {
    bus: Arc<dyn Bus>,
    orders: Box<dyn Consumer>,
}

fn report(
    push: Option<&Id>,
    seq: Option<u64>,
    outcome: PushOutcome,
    reason: Option<&str>,
) -> PushReport {
    PushReport {
        push: push.cloned(),
        seq,
        outcome,
        reason: reason.map(SafeText::from),
        deadline: None,
        detail: None,
    }
}

impl Agent {
    /// Opens the state directory and loads what it holds.
    pub fn open(cfg: AgentConfig) -> Result<Self, String> {
        let dir = StateDir::open(&cfg.state_dir)?;
        let state = dir.load()?;
        let driver = driver::Driver::new(
            cfg.driver.clone(),
            Duration::from_secs(u64::from(cfg.command_timeout_s)),
        );
        Ok(Self {
            cfg,
            dir,
            state,
            driver,
            host: host::Sampler::default(),
            ids: crate::bus::envelope::RandomIds::default(),
        })
    }

    /// The persisted state (for tests and status output).
    pub fn state(&self) -> &AgentState {
        &self.state
    }

    fn save(&self) {
        if let Err(e) = self.dir.save(&self.state) {
            tracing::error!(error = %e, "agent state not saved");
        }
    }

    fn queue(&mut self, r: PushReport, now: DateTime<Utc>) {
        // Random, and kept in the outbox: a resend carries the same id, and
        // nobody can publish it first to make the report vanish.
        let id = self
            .ids
            .next(&format!("push-{}", r.outcome.as_str()))
            .to_string();
        tracing::info!(outcome = r.outcome.as_str(), push = ?r.push.as_ref().map(Id::as_str), reason = ?r.reason.as_ref().map(SafeText::as_str), "report");
        self.state.outbox.push(Outgoing {
            id,
            ts: now,
            report: r,
        });
    }

    /// At start: a push left pending means the agent stopped inside the
    /// window. Restore the backup now.
    pub async fn recover(&mut self, now: DateTime<Utc>) {
        if self.state.pending.is_some() {
            tracing::warn!("restarted inside a revert window: restoring the backup");
            self.revert(now, "restart").await;
        }
    }

    /// Reverts when the pending push's deadline has passed.
    pub async fn check_deadline(&mut self, now: DateTime<Utc>) {
        if self
            .state
            .pending
            .as_ref()
            .is_some_and(|p| now >= p.deadline)
        {
            tracing::warn!("no confirm before the deadline: restoring the backup");
            self.revert(now, "timeout").await;
        }
    }

    /// When the pending push reverts by itself.
    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        self.state.pending.as_ref().map(|p| p.deadline)
    }

    async fn revert(&mut self, now: DateTime<Utc>, why: &str) {
        let Some(p) = self.state.pending.clone() else {
            return;
        };
        let backup = if p.had_config {
            match self.dir.load_backup() {
                Ok(b) => Some(b),
                Err(e) => {
                    self.restore_failed(&p, now, e);
                    return;
                }
            }
        } else {
            None
        };
        match self.driver.restore(backup.as_deref()).await {
            Ok(()) => {
                self.state.pending = None;
                self.queue(
                    report(Some(&p.push), Some(p.seq), PushOutcome::Reverted, Some(why)),
                    now,
                );
                self.save();
                self.dir.drop_backup();
            }
            Err(e) => self.restore_failed(&p, now, e),
        }
    }

    fn restore_failed(&mut self, p: &Pending, now: DateTime<Utc>, e: String) {
        tracing::error!(error = %e, push = %p.push, "the backup could not be restored");
        let mut r = report(
            Some(&p.push),
            Some(p.seq),
            PushOutcome::Failed,
            Some("restore-failed"),
        );
        r.detail = Some(SafeText::from(e));
        // Not retried in a loop: the backup stays in the state directory
        // for a person to restore.
        self.state.pending = None;
        self.queue(r, now);
        self.save();
    }

    /// Handles one order's bytes. The outcome is queued and saved before
    /// the caller acknowledges the order.
    pub async fn handle(&mut self, payload: &[u8], now: DateTime<Utc>) {
        let signed: SignedOrder = match serde_json::from_slice(payload) {
            Ok(s) => s,
            Err(e) => {
                let mut r = report(None, None, PushOutcome::Rejected, Some("malformed"));
                r.detail = Some(SafeText::from(e.to_string()));
                self.queue(r, now);
                self.save();
                return;
            }
        };
        let checked = verify(
            &signed,
            &self.cfg.trusted,
            &self.cfg.tenant,
            &self.cfg.device,
            self.state.last_seq,
            now,
        );
        let order = match checked {
            Ok(o) => o.clone(),
            Err(rej) => {
                // Only a genuine order's claims are repeated as facts: a
                // forged one must not move a real push.
                let genuine = !matches!(
                    rej,
                    crate::orders::Rejection::Version(_)
                        | crate::orders::Rejection::UnknownKey(_)
                        | crate::orders::Rejection::BadSignature
                );
                let o = &signed.order;
                let mut r = if genuine {
                    report(
                        Some(&o.push),
                        Some(o.seq),
                        PushOutcome::Rejected,
                        Some(rej.reason()),
                    )
                } else {
                    report(None, None, PushOutcome::Rejected, Some(rej.reason()))
                };
                r.detail = Some(SafeText::from(format!(
                    "{rej} (the order claimed push {} seq {})",
                    o.push, o.seq
                )));
                tracing::warn!(reason = rej.reason(), "order refused: {rej}");
                self.queue(r, now);
                self.save();
                return;
            }
        };
        self.state.last_seq = Some(order.seq);
        match order.kind {
            OrderKind::Apply => self.apply(&order, now).await,
            OrderKind::Confirm | OrderKind::Revert => {
                let mine = self
                    .state
                    .pending
                    .as_ref()
                    .is_some_and(|p| p.push == order.push);
                if !mine {
                    let mut r = report(
                        Some(&order.push),
                        Some(order.seq),
                        PushOutcome::Rejected,
                        Some("not-pending"),
                    );
                    r.detail = Some(SafeText::from(format!(
                        "{} for push {}, which is not awaiting confirmation here",
                        order.kind.as_str(),
                        order.push
                    )));
                    self.queue(r, now);
                } else if order.kind == OrderKind::Confirm {
                    self.state.pending = None;
                    self.queue(
                        report(
                            Some(&order.push),
                            Some(order.seq),
                            PushOutcome::Confirmed,
                            None,
                        ),
                        now,
                    );
                    self.save();
                    self.dir.drop_backup();
                } else {
                    self.revert(now, "manual").await;
                }
                self.save();
            }
        }
    }

    async fn apply(&mut self, order: &Order, now: DateTime<Utc>) {
        let fail = |this: &mut Self, reason: &str, detail: String| {
            let mut r = report(
                Some(&order.push),
                Some(order.seq),
                PushOutcome::Failed,
                Some(reason),
            );
            r.detail = Some(SafeText::from(detail));
            this.queue(r, now);
            this.save();
        };
        if let Some(p) = &self.state.pending {
            let busy = format!("push {} awaits confirmation until {}", p.push, p.deadline);
            let mut r = report(
                Some(&order.push),
                Some(order.seq),
                PushOutcome::Rejected,
                Some("busy"),
            );
            r.detail = Some(SafeText::from(busy));
            self.queue(r, now);
            self.save();
            return;
        }
        let backup = match self.driver.read().await {
            Ok(b) => b,
            Err(e) => return fail(self, "backup-failed", e),
        };
        if let Some(b) = &backup
            && let Err(e) = self.dir.save_backup(b)
        {
            return fail(self, "backup-failed", e);
        }
        let deadline = now + chrono::Duration::seconds(i64::from(order.window_s));
        // Pending is on disk before the configuration changes: a crash from
        // here on reverts at restart.
        self.state.pending = Some(Pending {
            push: order.push.clone(),
            seq: order.seq,
            deadline,
            had_config: backup.is_some(),
        });
        self.save();
        let within = (deadline - now).to_std().unwrap_or_default();
        if let Err(e) = self
            .driver
            .within(within)
            .apply(order.body.as_bytes())
            .await
        {
            // Put back whatever a half-done apply (a failed reload) left.
            let _ = self.driver.restore(backup.as_deref()).await;
            self.state.pending = None;
            self.dir.drop_backup();
            return fail(self, "apply-failed", e);
        }
        let mut r = report(
            Some(&order.push),
            Some(order.seq),
            PushOutcome::Applied,
            None,
        );
        r.deadline = Some(deadline);
        self.queue(r, now);
        self.save();
    }

    fn envelope(&mut self, kind: &str, body: Telemetry, id: Option<String>) -> Option<Envelope> {
        let id = match id {
            Some(id) => MsgId::parse(&id).ok()?,
            None => self.ids.next(kind),
        };
        Some(Envelope {
            id,
            ts: Utc::now(),
            tenant: self.cfg.tenant.clone(),
            device: self.cfg.device.clone(),
            body,
        })
    }

    async fn publish(bus: &dyn Bus, env: &Envelope) -> bool {
        match bus
            .publish(&env.subject(), env.id.as_str(), Bytes::from(encode(env)))
            .await
        {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "telemetry not sent");
                false
            }
        }
    }

    /// Publishes the queued reports, oldest first; stops at the first that
    /// does not go (kept for the next try).
    async fn flush(&mut self, bus: &dyn Bus) {
        let mut sent = 0;
        for o in self.state.outbox.clone() {
            let Ok(id) = MsgId::parse(&o.id) else {
                sent += 1;
                continue;
            };
            let env = Envelope {
                id,
                ts: o.ts,
                tenant: self.cfg.tenant.clone(),
                device: self.cfg.device.clone(),
                body: Telemetry::Push(o.report.clone()),
            };
            if !Self::publish(bus, &env).await {
                break;
            }
            sent += 1;
        }
        if sent > 0 {
            self.state.outbox.drain(..sent);
            self.save();
        }
    }

    async fn heartbeat(&mut self, bus: &dyn Bus) {
        let body = Telemetry::Heartbeat(Heartbeat {
            uptime_s: host::uptime_s(),
            name: None,
            firmware: Some(SafeText::from(concat!(
                "vigie-agent ",
                env!("CARGO_PKG_VERSION")
            ))),
            interval_s: Some(self.cfg.heartbeat_s),
        });
        if let Some(env) = self.envelope("hb", body, None) {
            Self::publish(bus, &env).await;
        }
    }

    async fn metrics(&mut self, bus: &dyn Bus) {
        if let Some(m) = self.host.sample()
            && let Some(env) = self.envelope("m", Telemetry::Metrics(m), None)
        {
            Self::publish(bus, &env).await;
        }
    }

    async fn snapshot(&mut self, bus: &dyn Bus) {
        let body = match self.driver.read().await {
            Ok(Some(b)) => String::from_utf8_lossy(&b).into_owned(),
            Ok(None) => String::new(),
            Err(e) => {
                tracing::warn!(error = %e, "configuration not read");
                return;
            }
        };
        let snap = Telemetry::Config(ConfigSnapshot {
            format: SafeText::from(self.cfg.config_format.as_str()),
            body: SafeBlock::from(body),
        });
        if let Some(env) = self.envelope("cfg", snap, None) {
            Self::publish(bus, &env).await;
        }
    }
}

async fn connect(cfg: &AgentConfig) -> Result<Link, String> {
    let bus = crate::bus::nats::NatsBus::connect_with(&cfg.nats, &cfg.auth)
        .await
        .map_err(|e| e.to_string())?;
    let bus: Arc<dyn Bus> = Arc::new(bus);
    let orders = bus
        .consumer(
            Stream::Orders,
            &format!("agent-{}-{}", cfg.tenant, cfg.device),
            &subject::order(&cfg.tenant, &cfg.device),
            ConsumerOptions {
                ack_wait: Duration::from_secs(60),
                max_deliver: None,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(Link { bus, orders })
}

/// Runs the agent until `shutdown` turns true.
pub async fn run(cfg: AgentConfig, shutdown: watch::Receiver<bool>) -> Result<(), String> {
    let mut agent = Agent::open(cfg.clone())?;
    agent.recover(Utc::now()).await;
    let mut link: Option<Link> = None;
    let mut retry_at = Instant::now();
    let beat = Duration::from_secs(u64::from(cfg.heartbeat_s));
    let sample = Duration::from_secs(u64::from(cfg.metrics_s));
    let (mut next_beat, mut next_sample) = (Instant::now(), Instant::now());
    let mut changed = true;
    tracing::info!(tenant = %cfg.tenant, device = %cfg.device, nats = %crate::domain::redact::redact_url(&cfg.nats), "agent started");
    while !*shutdown.borrow() {
        let had = agent.deadline();
        agent.check_deadline(Utc::now()).await;
        changed |= had.is_some() && agent.deadline().is_none();
        if link.is_none() && Instant::now() >= retry_at {
            match connect(&cfg).await {
                Ok(l) => {
                    tracing::info!("connected");
                    link = Some(l);
                    changed = true;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "NATS unreachable; retrying");
                    retry_at = Instant::now() + Duration::from_secs(2);
                }
            }
        }
        // Never wait past the revert deadline.
        let wait = agent
            .deadline()
            .map(|d| (d - Utc::now()).to_std().unwrap_or_default())
            .unwrap_or(Duration::from_millis(500))
            .clamp(Duration::from_millis(20), Duration::from_millis(500));
        let Some(l) = link.as_mut() else {
            tokio::time::sleep(wait).await;
            continue;
        };
        let bus = Arc::clone(&l.bus);
        agent.flush(bus.as_ref()).await;
        if Instant::now() >= next_beat {
            agent.heartbeat(bus.as_ref()).await;
            next_beat = Instant::now() + beat;
        }
        if Instant::now() >= next_sample {
            agent.metrics(bus.as_ref()).await;
            next_sample = Instant::now() + sample;
        }
        if changed {
            agent.snapshot(bus.as_ref()).await;
            changed = false;
        }
        match l.orders.fetch(4, wait).await {
            Ok(batch) => {
                for d in batch {
                    // A driver never holds up shutdown: dropping the order's
                    // future kills its command's process group, and the
                    // pending push (on disk before the apply began) is
                    // reverted at the next start.
                    let mut stop = shutdown.clone();
                    tokio::select! {
                        () = agent.handle(&d.payload, Utc::now()) => {}
                        _ = stop.wait_for(|s| *s) => {
                            tracing::warn!("stopping inside an order: its command was killed");
                            break;
                        }
                    }
                    changed = true;
                    agent.flush(bus.as_ref()).await;
                    if let Err(e) = l.orders.ack(&[d.token]).await {
                        // Delivered again later; the sequence check refuses
                        // it as a replay and says so.
                        tracing::warn!(error = %e, "order not acknowledged");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "orders not fetched");
                tokio::time::sleep(wait).await;
            }
        }
    }
    if let Some(l) = &link {
        agent.flush(l.bus.as_ref()).await;
    }
    tracing::info!("agent stopped");
    Ok(())
}
