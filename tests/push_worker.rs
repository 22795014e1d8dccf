//! The worker's side of config pushes on the in-process bus, a real SQLite
//! file and a clock the test holds: agents' reports followed, deadlines
//! acted on once, devices offline inside their window, rollouts wave by
//! wave. (`tests/push_agent.rs` runs the real processes.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration as StdDuration;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use vigie::bus::envelope::{Envelope, MsgId, encode};
use vigie::bus::memory::MemoryBus;
use vigie::bus::{Bus, Consumer, ConsumerOptions, Stream};
use vigie::clock::Clock;
use vigie::clock::ManualClock;
use vigie::domain::Id;
use vigie::domain::alert::AlertState;
use vigie::domain::model::Severity;
use vigie::domain::push::PushQuery;
use vigie::domain::push::{Push, PushState, RevertReason, RolloutState};
use vigie::domain::telemetry::{Heartbeat, PushOutcome, PushReport, Telemetry};
use vigie::orders::{OrderKind, SignedOrder, SigningKey, TrustedKeys, verify};
use vigie::store::sqlite::SqliteStore;
use vigie::store::{Scope, Store};
use vigie::worker::push::{CreatePush, CreateRollout, PUSH_UNCONFIRMED};
use vigie::worker::{Worker, WorkerConfig};

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

struct Rig {
    bus: Arc<dyn Bus>,
    store: Arc<dyn Store>,
    worker: Worker,
    clock: ManualClock,
    time: Clock,
    orders: Box<dyn Consumer>,
    trusted: TrustedKeys,
    tenant: Id,
    devices: Vec<Id>,
    seq: u64,
    _dir: tempfile::TempDir,
}

impl Rig {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(dir.path().join("v.db").to_str().unwrap())
            .await
            .unwrap();
        sqlite.migrate().await.unwrap();
        let inv = vigie::sim::plan(4, 60).inventory;
        sqlite.import_inventory(&inv).await.unwrap();
        let tenant = inv.devices[0].tenant.clone();
        let devices = inv
            .devices
            .iter()
            .filter(|d| d.tenant == tenant)
            .take(5)
            .map(|d| d.id.clone())
            .collect();
        // The tenant's SOC webhook (paused: its events only queue).
        let soc = vigie::domain::outbound::destination::Destination {
            tenant: Some(tenant.clone()),
            id: Id::parse("soc").unwrap(),
            settings: vigie::domain::outbound::destination::Settings {
                secrets: vec!["env:SOC".into()],
                ..vigie::domain::outbound::destination::Settings::new(
                    vigie::domain::outbound::destination::Kind::Webhook,
                    vigie::domain::outbound::destination::Target::Url(
                        "https://soc.example/h".into(),
                    ),
                )
            },
            paused: true,
        };
        let audit = vigie::domain::audit::AuditEntry::new(
            &tenant,
            t0(),
            "os:noc",
            "outbound.add",
            "soc".into(),
        );
        vigie::store::outbound::OutboundStore::put_destination(&sqlite, &soc, t0(), &audit)
            .await
            .unwrap();
        let store: Arc<dyn Store> = Arc::new(sqlite);
        let bus: Arc<dyn Bus> = Arc::new(MemoryBus::default());
        let key = SigningKey::generate().unwrap();
        let mut trusted = TrustedKeys::default();
        trusted.add_base64(&key.public_base64()).unwrap();
        let (clock, handle) = Clock::manual(t0());
        let time = clock.clone();
        let cfg = WorkerConfig {
            batch_size: 500,
            fetch_wait: StdDuration::from_millis(20),
            signing_key: Some(Arc::new(key)),
            ..WorkerConfig::default()
        };
        let worker = Worker::start(Arc::clone(&bus), Arc::clone(&store), clock, cfg)
            .await
            .unwrap();
        let orders = bus
            .consumer(
                Stream::Orders,
                "test-agents",
                "vigie.ord.>",
                ConsumerOptions::default(),
            )
            .await
            .unwrap();
        Self {
            bus,
            store,
            worker,
            clock: handle,
            time,
            orders,
            trusted,
            tenant,
            devices,
            seq: 0,
            _dir: dir,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.time.now()
    }

    async fn send(&mut self, device: &Id, body: Telemetry) {
        self.seq += 1;
        let env = Envelope {
            id: MsgId::parse(&format!("m-{}", self.seq)).unwrap(),
            ts: self.now(),
            tenant: self.tenant.clone(),
            device: device.clone(),
            body,
        };
        self.bus
            .publish(&env.subject(), env.id.as_str(), Bytes::from(encode(&env)))
            .await
            .unwrap();
    }

    async fn report(&mut self, p: &Push, seq: u64, outcome: PushOutcome, reason: Option<&str>) {
        let r = PushReport {
            push: Some(p.id.clone()),
            seq: Some(seq),
            outcome,
            reason: reason.map(Into::into),
            deadline: (outcome == PushOutcome::Applied)
                .then(|| self.now() + Duration::seconds(i64::from(p.window_s))),
            detail: None,
        };
        let device = p.device.clone();
        self.send(&device, Telemetry::Push(r)).await;
        self.drain().await;
    }

    async fn drain(&mut self) {
        for _ in 0..100 {
            if self.worker.step().await.unwrap().fetched == 0 {
                return;
            }
        }
        panic!("the worker never caught up");
    }

    /// The next order, checked as an agent would.
    async fn order(&mut self) -> vigie::orders::Order {
        let got = self
            .orders
            .fetch(1, StdDuration::from_millis(200))
            .await
            .unwrap();
        let d = got.first().expect("an order was published");
        self.orders
            .ack(std::slice::from_ref(&d.token))
            .await
            .unwrap();
        let signed: SignedOrder = serde_json::from_slice(&d.payload).unwrap();
        let o = signed.order.clone();
        verify(
            &signed,
            &self.trusted,
            &o.tenant,
            &o.device,
            None,
            self.now(),
        )
        .unwrap();
        o
    }

    /// The types of the push events queued for the tenant's SOC.
    async fn queued(&self) -> Vec<String> {
        self.store
            .outbox_due(
                Some(&self.tenant),
                &Id::parse("soc").unwrap(),
                t0() + Duration::days(9),
                100,
            )
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.event.kind.as_str().to_string())
            .filter(|k| k.starts_with("push."))
            .collect()
    }

    async fn push(&self, id: &Id) -> Push {
        self.store.push(&Scope::All, id).await.unwrap().unwrap()
    }

    async fn create(&mut self, i: usize, window_s: u32) -> Push {
        let p = self
            .worker
            .pushes()
            .create(
                &self.tenant,
                CreatePush {
                    device: self.devices[i].clone(),
                    body: "mtu 9000\n".into(),
                    reason: "test".into(),
                    window_s: Some(window_s),
                    previous: None,
                    actor: Some("ana".into()),
                },
            )
            .await
            .unwrap();
        let o = self.order().await;
        assert_eq!(
            (o.kind, o.push.clone(), o.seq),
            (OrderKind::Apply, p.id.clone(), p.seq)
        );
        p
    }

    async fn actions(&self, p: &Push) -> Vec<String> {
        self.store
            .audit(&Scope::All, Some(&format!("push/{}", p.id)), 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect()
    }
}

#[tokio::test]
async fn a_device_offline_inside_its_window_is_unreachable_with_a_critical_alert() {
    let mut rig = Rig::new().await;
    let d = rig.devices[0].clone();
    let hb = Telemetry::Heartbeat(Heartbeat {
        uptime_s: 10,
        name: None,
        firmware: None,
        interval_s: Some(60),
    });
    rig.send(&d, hb).await;
    rig.drain().await;
    let p = rig.create(0, 3_600).await;
    rig.report(&p, p.seq, PushOutcome::Applied, None).await;
    assert!(matches!(
        rig.push(&p.id).await.state,
        PushState::Applied { .. }
    ));
    // No word from the device for 20 minutes: offline, inside the window.
    rig.clock.advance(Duration::minutes(20));
    rig.worker.sweep().await.unwrap();
    rig.worker.sweep_pushes().await.unwrap();
    let done = rig.push(&p.id).await;
    assert_eq!(
        done.state,
        PushState::Reverted {
            reason: RevertReason::Unreachable
        }
    );
    let alerts = rig
        .store
        .alert_history(&Scope::All, Some(&d), 100)
        .await
        .unwrap();
    let a = alerts
        .iter()
        .find(|a| a.rule.as_str() == PUSH_UNCONFIRMED)
        .expect("the push alert");
    assert_eq!(
        (a.severity, a.state),
        (Severity::Critical, AlertState::Firing)
    );
    assert_eq!(
        rig.actions(&p).await,
        ["push.create", "push.applied", "push.reverted"]
    );
}

#[tokio::test]
async fn a_closed_window_is_recorded_once_and_a_late_report_is_kept() {
    let mut rig = Rig::new().await;
    let p = rig.create(1, 60).await;
    rig.report(&p, p.seq, PushOutcome::Applied, None).await;
    rig.clock.advance(Duration::seconds(62));
    rig.worker.sweep_pushes().await.unwrap();
    assert!(
        matches!(rig.push(&p.id).await.state, PushState::Applied { .. }),
        "grace first"
    );
    rig.clock.advance(Duration::seconds(5));
    for _ in 0..3 {
        rig.worker.sweep_pushes().await.unwrap();
    }
    let done = rig.push(&p.id).await;
    assert_eq!(
        done.state,
        PushState::Reverted {
            reason: RevertReason::Timeout
        }
    );
    assert!(done.detail.unwrap().as_str().contains("did not report"));
    // The device's own word, late: kept in the log, the state stands.
    rig.report(&p, p.seq, PushOutcome::Reverted, Some("timeout"))
        .await;
    rig.report(&p, p.seq, PushOutcome::Reverted, Some("timeout"))
        .await;
    assert_eq!(rig.push(&p.id).await.version, done.version);
    // The SOC hears of the revert once, however often the device says it.
    assert_eq!(rig.queued().await, ["push.reverted"]);
    assert_eq!(
        rig.actions(&p).await,
        [
            "push.create",
            "push.applied",
            "push.reverted",
            "push.reverted",
            "push.reverted"
        ],
        "one by the worker, once per report message"
    );
}

#[tokio::test]
async fn an_apply_nobody_answers_fails_when_it_expires() {
    let mut rig = Rig::new().await;
    let p = rig.create(2, 60).await;
    rig.clock.advance(Duration::seconds(126));
    rig.worker.sweep_pushes().await.unwrap();
    let done = rig.push(&p.id).await;
    assert_eq!(done.state, PushState::Failed);
    assert!(done.detail.unwrap().as_str().contains("no answer"));
    assert_eq!(rig.queued().await, ["push.failed"]);
    // The device is free for the next push.
    rig.create(2, 60).await;
}

#[tokio::test]
async fn a_rollout_goes_wave_by_wave_as_waves_are_confirmed() {
    let mut rig = Rig::new().await;
    let pushes = rig.worker.pushes();
    let r = pushes
        .create_rollout(
            &rig.tenant,
            CreateRollout {
                devices: rig.devices[..4].to_vec(),
                body: "ntp 10.0.0.1\n".into(),
                reason: "ntp".into(),
                window_s: Some(300),
                wave_size: Some(2),
                actor: Some("ana".into()),
            },
        )
        .await
        .unwrap();
    let mut waves = Vec::new();
    for wave in 0..3u32 {
        let list = rig
            .store
            .pushes(
                &Scope::All,
                &PushQuery {
                    rollout: Some(r.id.clone()),
                    limit: 100,
                    ..PushQuery::default()
                },
            )
            .await
            .unwrap();
        let current: Vec<Push> = list.into_iter().filter(|p| p.wave == wave).collect();
        waves.push(current.len());
        for p in &current {
            rig.order().await;
            rig.report(p, p.seq, PushOutcome::Applied, None).await;
        }
        let confirmed = pushes
            .confirm_rollout(&rig.tenant, &r.id, Some("ana"))
            .await
            .unwrap();
        assert_eq!(confirmed.len(), current.len());
        for p in &current {
            let o = rig.order().await;
            assert_eq!(o.kind, OrderKind::Confirm);
            rig.report(p, o.seq, PushOutcome::Confirmed, None).await;
        }
        rig.worker.sweep_pushes().await.unwrap();
    }
    assert_eq!(waves, [1, 2, 1], "the canary, then waves of two");
    let done = pushes.rollout(&rig.tenant, &r.id).await.unwrap();
    assert_eq!(done.state, RolloutState::Done);
}
