//! Config pushes, the worker's side: create a push and send its signed
//! apply order, send confirm and revert orders, follow the agents' reports,
//! act on deadlines, and run rollouts (canary, then waves, stopping at the
//! first failure).
//!
//! Every change is a compare-and-set on the push's version with its audit
//! entry in the same transaction, so a deadline is acted on exactly once
//! even with several workers, and across restarts (the deadline is in the
//! database, not in a timer).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::api::ErrorCode;
pub use crate::api::args::{CreatePush, CreateRollout};
use crate::bus::event::{Event, EventBody};
use crate::bus::{Bus, BusError, subject};
use crate::clock::Clock;
use crate::domain::audit::AuditEntry;
use crate::domain::push::PushQuery;
use crate::domain::push::{Push, PushEvent, PushState, RevertReason};
use crate::domain::telemetry::{PushOutcome, PushReport};
use crate::domain::{Id, SafeText};
use crate::orders::{Order, OrderKind, SigningKey};
use crate::store::{Scope, Store, StoreError};

mod reports;
mod rollout;
mod sweep;

/// Limits and timings of pushes.
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// An apply order not acted on by then is refused by the agent.
    pub order_ttl: Duration,
    /// How long after a deadline (or an order's expiry) the worker waits
    /// for the device's own report before it records the outcome itself.
    pub grace: Duration,
    pub default_window_s: u32,
    pub min_window_s: u32,
    pub max_window_s: u32,
    /// Largest configuration, in bytes.
    pub max_body: usize,
    /// Devices per wave after the canary, unless the request says.
    pub default_wave_size: u32,
}

impl Default for PushSettings {
    fn default() -> Self {
        Self {
            order_ttl: Duration::seconds(120),
            grace: Duration::seconds(5),
            default_window_s: 300,
            min_window_s: 5,
            max_window_s: 3600,
            max_body: 256 * 1024,
            default_wave_size: 5,
        }
    }
}

/// Why a push request was refused; `code` is what the api answers.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    WrongState(String),
    #[error(
        "pushes are off: this worker has no signing key (run `vigie keys generate`, then start the worker with --signing-key FILE)"
    )]
    NoKey,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
}

impl PushError {
    /// The api error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            PushError::Invalid(_) => ErrorCode::BadRequest,
            PushError::NotFound(_) => ErrorCode::NotFound,
            PushError::Conflict(_) => ErrorCode::Conflict,
            PushError::WrongState(_) => ErrorCode::WrongState,
            PushError::NoKey => ErrorCode::PushDisabled,
            PushError::Store(StoreError::Conflict(_)) => ErrorCode::Conflict,
            PushError::Store(_) => ErrorCode::Storage,
            PushError::Bus(_) => ErrorCode::Bus,
        }
    }
}

/// A push report as the worker received it.
#[derive(Debug, Clone)]
pub struct ReportIn {
    pub tenant: Id,
    pub device: Id,
    pub msg_id: Arc<str>,
    pub ts: DateTime<Utc>,
    pub report: PushReport,
}

/// A critical alert the push sweep wants raised on a device.
#[derive(Debug, Clone, PartialEq)]
pub struct PushAlert {
    pub tenant: Id,
    pub device: Id,
    pub summary: String,
}

/// The name of the alert rule raised when a push ends without the device
/// saying so (offline inside the window, or silent past its deadline).
pub const PUSH_UNCONFIRMED: &str = "push-unconfirmed";

/// The pushes desk: shared by the api tasks and the worker loop.
pub struct Pushes {
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    key: Option<Arc<SigningKey>>,
    settings: PushSettings,
    clock: Clock,
    /// Alerts raised while following reports, handed out by the next sweep.
    raised: std::sync::Mutex<Vec<PushAlert>>,
    /// The destinations of delivery to the SOC (a push that fails or
    /// reverts is an event for them).
    routes: tokio::sync::Mutex<super::outbound::Routes>,
}

fn target(p: &Push) -> String {
    format!("push/{}", p.id)
}

/// A fresh id: a prefix, the time and random bits.
fn new_id(prefix: &str, now: DateTime<Utc>) -> Id {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 4];
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    let raw = format!(
        "{prefix}-{}-{:08x}",
        now.format("%Y%m%d%H%M%S"),
        u32::from_be_bytes(bytes)
    );
    Id::parse(&raw).unwrap_or_else(|_| unreachable!("made of safe characters"))
}

/// Checks a configuration body: its size, and no control characters but
/// tab, line feed and carriage return (an ESC in a config is a mistake or
/// an attack, and it would reach analysts' terminals in diffs).
pub fn check_body(body: &str, max: usize) -> Result<(), PushError> {
    if body.is_empty() {
        return Err(PushError::Invalid("the configuration is empty".into()));
    }
    if body.len() > max {
        return Err(PushError::Invalid(format!(
            "the configuration is {} bytes, at most {max}",
            body.len()
        )));
    }
    for (n, line) in body.split('\n').enumerate() {
        if let Some(c) = line
            .chars()
            .find(|c| c.is_control() && *c != '\t' && *c != '\r')
        {
            return Err(PushError::Invalid(format!(
                "line {}: control character U+{:04X} in the configuration",
                n + 1,
                c as u32
            )));
        }
    }
    Ok(())
}

fn revert_reason(r: Option<&SafeText>) -> RevertReason {
    match r.map(SafeText::as_str) {
        Some("manual") => RevertReason::Manual,
        Some("restart") => RevertReason::Restart,
        Some("unreachable") => RevertReason::Unreachable,
        _ => RevertReason::Timeout,
    }
}

impl Pushes {
    pub fn new(
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        key: Option<Arc<SigningKey>>,
        settings: PushSettings,
        clock: Clock,
    ) -> Self {
        Self {
            store,
            bus,
            key,
            settings,
            clock,
            raised: std::sync::Mutex::default(),
            routes: tokio::sync::Mutex::default(),
        }
    }

    /// The outbox rows of `push`'s new state, written with it.
    async fn outbox_of(&self, push: &Push) -> Vec<crate::store::outbound::OutboxRow> {
        let mut routes = self.routes.lock().await;
        routes.refresh(self.store.as_ref()).await;
        let told = [(push.id.clone(), EventBody::Push(push.clone()))];
        routes.rows(&told, &[], self.clock.now())
    }

    fn key(&self) -> Result<&SigningKey, PushError> {
        self.key.as_deref().ok_or(PushError::NoKey)
    }

    fn window(&self, w: Option<u32>) -> Result<u32, PushError> {
        let w = w.unwrap_or(self.settings.default_window_s);
        let (lo, hi) = (self.settings.min_window_s, self.settings.max_window_s);
        if !(lo..=hi).contains(&w) {
            return Err(PushError::Invalid(format!(
                "window_s {w} is outside {lo}..={hi}"
            )));
        }
        Ok(w)
    }

    fn reason(r: &str) -> Result<SafeText, PushError> {
        let r = r.trim();
        if r.is_empty() {
            return Err(PushError::Invalid(
                "a reason is required: say why this change is made".into(),
            ));
        }
        Ok(SafeText::from(r))
    }

    fn actor(a: Option<&str>) -> SafeText {
        SafeText::from(
            a.map(str::trim)
                .filter(|a| !a.is_empty())
                .unwrap_or("unknown"),
        )
    }

    /// Starts a push to one device.
    pub async fn create(&self, tenant: &Id, req: CreatePush) -> Result<Push, PushError> {
        self.key()?;
        let window_s = self.window(req.window_s)?;
        let reason = Self::reason(&req.reason)?;
        check_body(&req.body, self.settings.max_body)?;
        // The text the reviewer's diff is drawn from: the same rules.
        if let Some(previous) = req.previous.as_deref().filter(|p| !p.is_empty()) {
            check_body(previous, self.settings.max_body)
                .map_err(|e| PushError::Invalid(format!("previous: {e}")))?;
        }
        let actor = Self::actor(req.actor.as_deref());
        self.start(
            tenant,
            &req.device,
            req.body,
            req.previous,
            reason,
            actor,
            window_s,
            None,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn start(
        &self,
        tenant: &Id,
        device: &Id,
        body: String,
        previous: Option<String>,
        reason: SafeText,
        actor: SafeText,
        window_s: u32,
        rollout: Option<(Id, u32)>,
    ) -> Result<Push, PushError> {
        let scope = Scope::Tenant(tenant.clone());
        if self.store.device(&scope, device).await?.is_none() {
            return Err(PushError::NotFound(format!(
                "no device {device} in tenant {tenant}"
            )));
        }
        let now = self.clock.now();
        let seq = self.next_seq(tenant, device, now).await?;
        let previous = match previous {
            Some(p) => Some(p),
            None => self
                .store
                .latest_config(&scope, device)
                .await?
                .map(|c| c.body),
        };
        let (rollout, wave) = match rollout {
            Some((r, w)) => (Some(r), w),
            None => (None, 0),
        };
        let mut push = Push {
            tenant: tenant.clone(),
            id: new_id("push", now),
            device: device.clone(),
            rollout,
            wave,
            state: PushState::Sent,
            version: 1,
            seq,
            body,
            previous,
            reason: reason.clone(),
            actor: actor.clone(),
            window_s,
            created: now,
            order_expires: now + self.settings.order_ttl,
            confirm_sent: None,
            revert_sent: None,
            confirm_seq: None,
            revert_seq: None,
            reported: None,
            detail: None,
            updated: now,
        };
        let audit = AuditEntry::new(tenant, now, actor, "push.create", target(&push))
            .change("draft", "sent")
            .because(reason);
        self.store.insert_push(&push, &audit).await?;
        let order = Order {
            tenant: tenant.clone(),
            device: device.clone(),
            push: push.id.clone(),
            seq,
            expires: push.order_expires,
            kind: OrderKind::Apply,
            window_s,
            body: push.body.clone(),
        };
        if let Err(e) = self.send(order).await {
            // The order never left: nothing can happen on the device.
            let before = push.clone();
            push.state = PushState::Failed;
            push.detail = Some(SafeText::from(format!("order not sent: {e}")));
            push.updated = self.clock.now();
            let audit =
                AuditEntry::new(tenant, push.updated, "worker", "push.failed", target(&push))
                    .change("sent", "failed")
                    .because(format!("order not sent: {e}"));
            self.store
                .update_push(
                    &push,
                    before.version,
                    &[audit],
                    &self.outbox_of(&push).await,
                )
                .await?;
            push.version += 1;
            self.announce(&push).await;
            return Err(e);
        }
        tracing::info!(push = %push.id, tenant = %tenant, device = %device, actor = %push.actor,
            window_s, seq, "push sent");
        self.announce(&push).await;
        Ok(push)
    }

    async fn next_seq(
        &self,
        tenant: &Id,
        device: &Id,
        now: DateTime<Utc>,
    ) -> Result<u64, PushError> {
        let floor = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        Ok(self.store.next_order_seq(tenant, device, floor).await?)
    }

    async fn send(&self, order: Order) -> Result<(), PushError> {
        let key = self.key()?;
        let subject = subject::order(&order.tenant, &order.device);
        let msg_id = format!("ord-{}-{}-{}", order.push, order.kind.as_str(), order.seq);
        let signed = order.sign(key);
        let body = crate::bus::json_payload(&signed)?;
        self.bus.publish(&subject, &msg_id, body).await?;
        Ok(())
    }

    /// Publishes the push's new state to consoles (without the
    /// configuration texts, which `push_status` returns). Best effort: a
    /// console that misses it reads the push list again.
    async fn announce(&self, push: &Push) {
        let mut light = push.clone();
        light.body = String::new();
        light.previous = None;
        let event = Event::new(
            format!("push-{}-v{}", push.id, push.version),
            push.tenant.clone(),
            self.clock.now(),
            EventBody::Push(light),
        );
        let published = match crate::bus::json_payload(&event) {
            Ok(payload) => self.bus.publish(&event.subject(), &event.id, payload).await,
            Err(e) => Err(e),
        };
        if let Err(e) = published {
            tracing::warn!(error = %e, push = %push.id, "push event not published");
        }
    }

    async fn load(&self, tenant: &Id, id: &Id) -> Result<Push, PushError> {
        self.store
            .push(&Scope::Tenant(tenant.clone()), id)
            .await?
            .ok_or_else(|| PushError::NotFound(format!("no push {id} in tenant {tenant}")))
    }

    /// One push.
    pub async fn status(&self, tenant: &Id, id: &Id) -> Result<Push, PushError> {
        self.load(tenant, id).await
    }

    /// Pushes, newest first.
    pub async fn list(&self, scope: &Scope, q: &PushQuery) -> Result<Vec<Push>, PushError> {
        Ok(self.store.pushes(scope, q).await?)
    }

    /// Writes `next` over `before` if nobody changed it meanwhile; returns
    /// the stored push, or None when someone else did first.
    async fn commit(
        &self,
        before: &Push,
        mut next: Push,
        audit: Vec<AuditEntry>,
    ) -> Result<Option<Push>, PushError> {
        next.updated = self.clock.now();
        if !self
            .store
            .update_push(&next, before.version, &audit, &self.outbox_of(&next).await)
            .await?
        {
            return Ok(None);
        }
        next.version = before.version + 1;
        self.announce(&next).await;
        Ok(Some(next))
    }

    /// Asks the device to keep the configuration: sends a confirm order.
    /// The push becomes `confirmed` when the device reports it.
    pub async fn confirm(
        &self,
        tenant: &Id,
        id: &Id,
        actor: Option<&str>,
    ) -> Result<Push, PushError> {
        self.key()?;
        let push = self.load(tenant, id).await?;
        let now = self.clock.now();
        let PushState::Applied { deadline } = push.state else {
            return Err(PushError::WrongState(format!(
                "push {id} is {}: only an applied push can be confirmed",
                push.state.name()
            )));
        };
        if now >= deadline {
            return Err(PushError::WrongState(format!(
                "push {id}'s window closed at {}: the device has reverted",
                deadline.to_rfc3339()
            )));
        }
        let actor = Self::actor(actor);
        self.order_followup(push, OrderKind::Confirm, deadline, actor, None)
            .await
    }

    /// Asks the device to restore its backup now.
    pub async fn revert(
        &self,
        tenant: &Id,
        id: &Id,
        actor: Option<&str>,
        why: Option<&str>,
    ) -> Result<Push, PushError> {
        self.key()?;
        let push = self.load(tenant, id).await?;
        let now = self.clock.now();
        let expires = match push.state {
            PushState::Applied { deadline } => deadline.max(now + Duration::seconds(1)),
            // The apply may still be on its way: the revert follows it.
            PushState::Sent => push.order_expires + Duration::seconds(i64::from(push.window_s)),
            other => {
                return Err(PushError::WrongState(format!(
                    "push {id} is {}: there is nothing to revert",
                    other.name()
                )));
            }
        };
        let actor = Self::actor(actor);
        let why = why
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(SafeText::from);
        self.order_followup(push, OrderKind::Revert, expires, actor, why)
            .await
    }

    async fn order_followup(
        &self,
        push: Push,
        kind: OrderKind,
        expires: DateTime<Utc>,
        actor: SafeText,
        why: Option<SafeText>,
    ) -> Result<Push, PushError> {
        let now = self.clock.now();
        let seq = self.next_seq(&push.tenant, &push.device, now).await?;
        self.send(Order {
            tenant: push.tenant.clone(),
            device: push.device.clone(),
            push: push.id.clone(),
            seq,
            expires: expires
                .min(now + self.settings.order_ttl)
                .max(now + Duration::seconds(1)),
            kind,
            window_s: 0,
            body: String::new(),
        })
        .await?;
        let mut next = push.clone();
        let action = match kind {
            OrderKind::Confirm => {
                next.confirm_sent = Some(now);
                next.confirm_seq = Some(seq);
                "push.confirm"
            }
            _ => {
                next.revert_sent = Some(now);
                next.revert_seq = Some(seq);
                "push.revert"
            }
        };
        let mut audit = AuditEntry::new(&push.tenant, now, actor, action, target(&push));
        if let Some(w) = why {
            audit = audit.because(w);
        }
        // The order is out whatever happens here; on a lost race the other
        // writer's state stands and the device's report settles it.
        match self.commit(&push, next, vec![audit]).await? {
            Some(p) => Ok(p),
            None => self.load(&push.tenant, &push.id).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_checked() {
        assert!(check_body("hostname a\n\tip 1\r\n", 100).is_ok());
        let e = check_body("ok\nbad \u{1b}[31m\n", 100).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: control character U+001B in the configuration"
        );
        assert!(check_body("", 100).is_err());
        assert!(check_body(&"x".repeat(101), 100).is_err());
    }

    #[test]
    fn ids_are_valid_and_distinct() {
        let now = Utc::now();
        let a = new_id("push", now);
        let b = new_id("push", now);
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("push-"));
    }
}
