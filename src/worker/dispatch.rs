//! The dispatcher: sends each destination's queued events, in order, at
//! least once. One worker at a time serves a destination (a lease in the
//! database, renewed each round), so several workers share the work
//! without sending a row twice at once; a row in flight when a worker
//! dies is sent again by the next holder, with the same event id.
//!
//! Per destination and round: the breaker says whether to send (a probe
//! of one row when it is half-open); due rows go oldest first; a failure
//! that will be retried stops the round (later rows wait their turn) and
//! schedules the row with backoff and full jitter, no sooner than the
//! receiver's `Retry-After`; a permanent refusal is dead-lettered with
//! the reply kept; a row older than the destination's `give_up_h` is
//! expired. Kinds without a sender here yet keep their rows pending.

pub mod stats;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::domain::Id;
use crate::domain::outbound::breaker::{Breaker, Permit, Policy};
use crate::domain::outbound::destination::{Destination, Kind};
use crate::domain::outbound::event::{EventType, delivery_event};
use crate::domain::outbound::retry::{Backoff, Verdict};
use crate::store::outbound::{DestinationRow, OutboxItem, OutboxRow, Settle, owner_key};
use crate::store::{Scope, Store, StoreError, WriteBatch};

/// How long a destination's lease lasts; renewed every round.
const LEASE: Duration = Duration::from_secs(30);
/// The pause between rounds.
pub const ROUND: Duration = Duration::from_secs(1);
/// How often a destination's finished rows past retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// How often its backlog is counted (for `/metrics`).
const COUNT_EVERY: Duration = Duration::from_secs(10);

/// Sends queued events.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    clock: Clock,
    /// This worker's name in the leases.
    holder: String,
    backoff: Backoff,
    breaker: Policy,
    /// Kinds already logged as not sent yet.
    unsent_kinds: std::collections::HashSet<Kind>,
    /// When each destination's old rows were last deleted, and its
    /// backlog last counted.
    last_prune: std::collections::HashMap<String, std::time::Instant>,
    last_count: std::collections::HashMap<String, std::time::Instant>,
    /// The heartbeat period last queued, per destination.
    last_beat: std::collections::HashMap<String, i64>,
    stats: Arc<stats::OutboundStats>,
}

/// What a round did, for tests and logs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub delivered: u64,
    pub retried: u64,
    pub dead: u64,
    pub expired: u64,
}

impl Dispatcher {
    pub fn new(store: Arc<dyn Store>, clock: Clock, holder: String) -> Self {
        Self {
            store,
            clock,
            holder,
            backoff: Backoff::default(),
            breaker: Policy::default(),
            unsent_kinds: Default::default(),
            last_prune: Default::default(),
            last_count: Default::default(),
            last_beat: Default::default(),
            stats: Arc::default(),
        }
    }

    /// Its figures, for `/metrics`.
    pub fn stats(&self) -> Arc<stats::OutboundStats> {
        Arc::clone(&self.stats)
    }

    /// The same with other retry and breaker settings (tests).
    pub fn with_policies(mut self, backoff: Backoff, breaker: Policy) -> Self {
        self.backoff = backoff;
        self.breaker = breaker;
        self
    }

    /// Runs rounds until `stop` turns true.
    pub async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.round().await {
                tracing::warn!(error = %e, "outbound round failed; trying again");
            }
            tokio::select! {
                _ = tokio::time::sleep(ROUND) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
    }

    /// One round over every destination.
    pub async fn round(&mut self) -> Result<Round, StoreError> {
        let mut total = Round::default();
        let rows = self.store.destinations(&Scope::All).await?;
        let present: Vec<(String, String)> = rows
            .iter()
            .map(|r| {
                (
                    owner_key(r.destination.tenant.as_ref()),
                    r.destination.id.to_string(),
                )
            })
            .collect();
        self.stats.keep_only(&present);
        for row in rows {
            if row.destination.paused {
                continue;
            }
            let r = self.serve(row).await?;
            total.delivered += r.delivered;
            total.retried += r.retried;
            total.dead += r.dead;
            total.expired += r.expired;
        }
        Ok(total)
    }

    async fn serve(&mut self, row: DestinationRow) -> Result<Round, StoreError> {
        let d = &row.destination;
        if d.settings.kind != Kind::Webhook {
            if self.unsent_kinds.insert(d.settings.kind) {
                tracing::warn!(
                    kind = d.settings.kind.as_str(),
                    "no sender for this kind yet: its rows stay queued"
                );
            }
            return Ok(Round::default());
        }
        let now = self.clock.now();
        let lease = format!("outbound:{}/{}", owner_key(d.tenant.as_ref()), d.id);
        let until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
        if !self
            .store
            .try_lease(&lease, &self.holder, now, until)
            .await?
        {
            return Ok(Round::default());
        }
        self.housekeep(d, &lease, now).await?;
        let (done, breaker, spent) = self.send_due(&row, now).await?;
        if breaker != row.breaker {
            if breaker.name() != row.breaker.name() {
                tracing::info!(destination = %d.id, from = row.breaker.name(), to = breaker.name(), "breaker");
            }
            self.store
                .set_breaker(d.tenant.as_ref(), &d.id, &breaker)
                .await?;
        }
        let (owner, id) = (owner_key(d.tenant.as_ref()), d.id.to_string());
        self.stats.with(&owner, &id, |f| {
            f.delivered += done.delivered;
            f.retried += done.retried;
            f.dead += done.dead;
            f.expired += done.expired;
            f.attempts += spent.0;
            f.attempt_ms_total += spent.1;
            f.breaker = match breaker {
                Breaker::Closed { .. } => 0,
                Breaker::HalfOpen { .. } => 1,
                Breaker::Open { .. } => 2,
            };
        });
        Ok(done)
    }

    /// Every ten minutes, the finished rows past retention deleted (kept
    /// `retention_days` for `deliveries`); every ten seconds, the backlog
    /// counted.
    async fn housekeep(
        &mut self,
        d: &Destination,
        lease: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let since = |m: &std::collections::HashMap<String, std::time::Instant>| {
            m.get(lease).map(std::time::Instant::elapsed)
        };
        if since(&self.last_prune).is_none_or(|e| e >= PRUNE_EVERY) {
            self.last_prune
                .insert(lease.to_string(), std::time::Instant::now());
            let kept = chrono::Duration::days(i64::from(d.settings.retention_days));
            self.store
                .prune(d.tenant.as_ref(), &d.id, now - kept)
                .await?;
        }
        self.heartbeat(d, lease, now).await?;
        if since(&self.last_count).is_some_and(|e| e < COUNT_EVERY) {
            return Ok(());
        }
        self.last_count
            .insert(lease.to_string(), std::time::Instant::now());
        let (n, oldest) = self.store.backlog(d.tenant.as_ref(), &d.id).await?;
        let age = oldest.map_or(0, |t| u64::try_from((now - t).num_seconds()).unwrap_or(0));
        self.stats
            .with(&owner_key(d.tenant.as_ref()), d.id.as_str(), |f| {
                f.backlog = n;
                f.oldest_pending_s = age;
            });
        Ok(())
    }

    /// Queues a `delivery.heartbeat` every `heartbeat_s`: one per period
    /// (its id is the period's), whichever worker holds the destination.
    async fn heartbeat(
        &mut self,
        d: &Destination,
        lease: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let every = i64::from(d.settings.heartbeat_s) * 1_000;
        if every == 0 {
            return Ok(());
        }
        let period = now.timestamp_millis() / every;
        if self.last_beat.get(lease) == Some(&period) {
            return Ok(());
        }
        self.last_beat.insert(lease.to_string(), period);
        let tenant = d
            .tenant
            .clone()
            .unwrap_or_else(|| Id::from_static(crate::admin::users::PROVIDER_CHAIN));
        let event = delivery_event(
            EventType::DeliveryHeartbeat,
            &tenant,
            &d.id,
            "vigie is delivering to this destination".into(),
            now,
            &period.to_string(),
        );
        let batch = WriteBatch {
            outbox: vec![OutboxRow {
                owner: d.tenant.clone(),
                destination: d.id.clone(),
                event,
                queued_at: now,
            }],
            ..WriteBatch::default()
        };
        self.store.write_batch(&batch).await?;
        Ok(())
    }

    /// The due rows, in order, as the breaker allows: what was done, the
    /// breaker after, and the attempts made with their total time (ms).
    async fn send_due(
        &self,
        row: &DestinationRow,
        now: DateTime<Utc>,
    ) -> Result<(Round, Breaker, (u64, u64)), StoreError> {
        let d = &row.destination;
        let mut done = Round::default();
        let mut spent = (0u64, 0u64);
        let (permit, mut breaker) = row.breaker.permit(now);
        let limit = match permit {
            Permit::Wait(_) => return Ok((done, row.breaker, spent)),
            Permit::Probe => 1,
            // A round takes at least a second: `rate_per_s` rows a round
            // keeps to the receiver's rate.
            Permit::Send if d.settings.rate_per_s > 0 => {
                d.settings.batch_size.min(d.settings.rate_per_s)
            }
            Permit::Send => d.settings.batch_size,
        };
        let due = self
            .store
            .outbox_due(d.tenant.as_ref(), &d.id, now, limit)
            .await?;
        let secrets = secrets(d);
        // Opened at the first row that is sent, then kept for the round.
        let mut session: Option<Result<webhook::Session, webhook::Attempt>> = None;
        for item in due {
            let now = self.clock.now();
            if expired(d, &item, now) {
                self.settle(d, &item, &Settle::Expired, now).await?;
                done.expired += 1;
                continue;
            }
            let secrets = match &secrets {
                Ok(s) => s,
                Err(e) => {
                    // The secret is missing: nothing is sent unsigned.
                    let how = Settle::Retry {
                        next_at: now + chrono::Duration::seconds(60),
                        status: None,
                        error: e.clone(),
                        ms: 0,
                    };
                    self.settle(d, &item, &how, now).await?;
                    done.retried += 1;
                    break;
                }
            };
            if session.is_none() {
                session = Some(webhook::Session::open(d).await);
            }
            let Some(opened) = &session else { break };
            let a = match opened {
                Ok(s) => s.send(d, &item.event, secrets, now).await,
                Err(failed) => failed.clone(),
            };
            spent = (spent.0 + 1, spent.1 + u64::from(a.ms));
            self.settle(d, &item, &self.outcome(&a, &item, now), now)
                .await?;
            match a.verdict {
                Verdict::Retry => {
                    breaker = breaker.failed(now, &self.breaker);
                    done.retried += 1;
                    break;
                }
                // A refusal is an answer: the receiver is up.
                Verdict::Permanent => {
                    breaker = breaker.succeeded();
                    done.dead += 1;
                }
                Verdict::Delivered => {
                    breaker = breaker.succeeded();
                    done.delivered += 1;
                }
            }
        }
        Ok((done, breaker, spent))
    }

    /// How an attempt settles its row.
    fn outcome(&self, a: &webhook::Attempt, item: &OutboxItem, now: DateTime<Utc>) -> Settle {
        match a.verdict {
            Verdict::Delivered => Settle::Delivered {
                status: a.status,
                ms: a.ms,
            },
            Verdict::Permanent => Settle::Dead {
                status: a.status,
                error: a.error.clone().unwrap_or_default(),
            },
            Verdict::Retry => {
                let wait = self.backoff.wait(item.attempts + 1, unit(), a.retry_after);
                Settle::Retry {
                    next_at: now + chrono::Duration::from_std(wait).unwrap_or_default(),
                    status: a.status,
                    error: a.error.clone().unwrap_or_default(),
                    ms: a.ms,
                }
            }
        }
    }

    async fn settle(
        &self,
        d: &Destination,
        item: &OutboxItem,
        how: &Settle,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.store
            .settle(d.tenant.as_ref(), item.seq, how, now)
            .await
    }
}

fn expired(d: &Destination, item: &OutboxItem, now: DateTime<Utc>) -> bool {
    now - item.queued_at > chrono::Duration::hours(i64::from(d.settings.give_up_h))
}

/// The destination's secrets, read now (a rotation takes effect at once).
fn secrets(d: &Destination) -> Result<Vec<Vec<u8>>, String> {
    d.settings
        .secrets
        .iter()
        .map(|spec| {
            crate::settings::secret::SecretSpec::parse(spec)
                .resolve(&format!("the secret of destination {}", d.id))
                .map(|s| s.expose().to_vec())
        })
        .collect()
}

/// A uniform draw in 0..1 for the jitter.
fn unit() -> f64 {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 8];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}
