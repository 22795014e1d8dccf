//! The worker pipeline end to end on the in-process bus and a real SQLite
//! file: N in → N rows, duplicates absorbed, malformed input dead-lettered
//! with its reason, state machines and alerts correct, ack only after commit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use vigie::api::{self, Snapshot};
use vigie::bus::envelope::{Envelope, MsgId, encode};
use vigie::bus::event::{Event, EventBody};
use vigie::bus::memory::MemoryBus;
use vigie::bus::{Bus, Stream};
use vigie::clock::Clock;
use vigie::clock::ManualClock;
use vigie::domain::Id;
use vigie::domain::alert::AlertState;
use vigie::domain::device::{DeviceStatus, StatusThresholds};
use vigie::domain::fleet::{FleetPage, FleetQuery, StatusCounts};
use vigie::domain::model::{DataMode, Device, DeviceKind, Inventory, Link, Site, Tenant, Tier};
use vigie::domain::site::SiteSummary;
use vigie::domain::telemetry::{Heartbeat, Metrics, Telemetry};
use vigie::store::sqlite::SqliteStore;
use vigie::store::*;
use vigie::worker::{Worker, WorkerConfig};

fn id(s: &str) -> Id {
    Id::parse(s).unwrap()
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn inventory(workstations: usize) -> Inventory {
    let tenant = id("acme");
    let device = |d: &str, kind| Device {
        tenant: tenant.clone(),
        id: id(d),
        name: d.into(),
        kind,
        site: id("hq"),
        sector: None,
        model: "m".into(),
        firmware: "1.0".into(),
        heartbeat_interval_s: 60,
    };
    let mut devices = vec![
        device("rtr-1", DeviceKind::Router),
        device("ap-1", DeviceKind::AccessPoint),
        device("cpe-1", DeviceKind::Cpe),
    ];
    for i in 0..workstations {
        devices.push(device(&format!("ws-{i}"), DeviceKind::Workstation));
    }
    Inventory {
        tenants: vec![Tenant {
            id: tenant.clone(),
            name: "Acme".into(),
            tier: Tier::Professional,
            data_mode: DataMode::Full,
            retention_days: 30,
            thresholds: StatusThresholds::default(),
        }],
        sites: vec![Site {
            tenant: tenant.clone(),
            id: id("hq"),
            name: "HQ".into(),
            region: "Here".into(),
            lat: 47.0,
            lon: 8.0,
        }],
        sectors: vec![],
        devices,
        links: vec![Link {
            tenant,
            id: id("cpe-1-l"),
            ap: id("ap-1"),
            cpe: id("cpe-1"),
        }],
    }
}

struct Rig {
    bus: Arc<dyn Bus>,
    store: Arc<dyn Store>,
    worker: Worker,
    clock: ManualClock,
    _dir: tempfile::TempDir,
    seq: u64,
}

impl Rig {
    async fn new(workstations: usize) -> Self {
        Self::with_store(workstations, |s| s).await
    }

    async fn with_store(
        workstations: usize,
        wrap: impl FnOnce(Arc<dyn Store>) -> Arc<dyn Store>,
    ) -> Self {
        Self::with_inventory(inventory(workstations), wrap).await
    }

    async fn with_inventory(
        inv: Inventory,
        wrap: impl FnOnce(Arc<dyn Store>) -> Arc<dyn Store>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(dir.path().join("v.db").to_str().unwrap())
            .await
            .unwrap();
        sqlite.migrate().await.unwrap();
        sqlite.import_inventory(&inv).await.unwrap();
        let store = wrap(Arc::new(sqlite));
        let bus: Arc<dyn Bus> = Arc::new(MemoryBus::default());
        let (clock, handle) = Clock::manual(t0());
        let cfg = WorkerConfig {
            batch_size: 500,
            fetch_wait: StdDuration::from_millis(20),
            ack_wait: StdDuration::from_millis(300),
            retry_delay: StdDuration::from_millis(50),
            ..WorkerConfig::default()
        };
        let worker = Worker::start(Arc::clone(&bus), Arc::clone(&store), clock, cfg)
            .await
            .unwrap();
        Self {
            bus,
            store,
            worker,
            clock: handle,
            _dir: dir,
            seq: 0,
        }
    }

    async fn send(&mut self, device: &str, ts: DateTime<Utc>, body: Telemetry) -> String {
        self.seq += 1;
        let env = Envelope {
            id: MsgId::parse(&format!("m-{}", self.seq)).unwrap(),
            ts,
            tenant: id("acme"),
            device: id(device),
            body,
        };
        self.bus
            .publish(&env.subject(), env.id.as_str(), Bytes::from(encode(&env)))
            .await
            .unwrap();
        env.id.as_str().to_string()
    }

    async fn raw(&self, subject: &str, msg_id: &str, payload: &[u8]) {
        self.bus
            .publish(subject, msg_id, Bytes::copy_from_slice(payload))
            .await
            .unwrap();
    }

    /// The stored alert of a rule, if any (the newest).
    async fn alert(&self, rule: &str) -> Option<vigie::domain::model::Alert> {
        self.store
            .alert_history(&Scope::All, None, 1_000)
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.rule.as_str() == rule)
    }

    /// The worker's status of one of acme's devices.
    fn status(&self, device: &str) -> Option<DeviceStatus> {
        self.worker.state().status(&id("acme"), &id(device))
    }

    /// Steps until a fetch comes back empty.
    async fn drain(&mut self) {
        for _ in 0..1_000 {
            if self.worker.step().await.unwrap().fetched == 0 {
                return;
            }
        }
        panic!("the worker never ran dry");
    }

    /// Everything a stream holds, decoded.
    async fn read_all<T: serde::de::DeserializeOwned>(
        &self,
        stream: Stream,
        filter: &str,
    ) -> Vec<T> {
        let last = self.bus.last_seq(stream).await.unwrap();
        let mut f = self.bus.follow(stream, filter, 1).await.unwrap();
        let mut out = Vec::new();
        while out.len() < last as usize {
            let m = tokio::time::timeout(StdDuration::from_secs(2), f.next())
                .await
                .unwrap()
                .unwrap();
            out.push(serde_json::from_slice(&m.payload).unwrap());
        }
        out
    }

    async fn events(&self) -> Vec<Event> {
        self.read_all(Stream::Events, "vigie.evt.>").await
    }

    async fn dead_letters(&self) -> Vec<serde_json::Value> {
        self.read_all(Stream::Dlq, "vigie.dlq.>").await
    }
}

fn hb(uptime: u64) -> Telemetry {
    Telemetry::Heartbeat(Heartbeat {
        uptime_s: uptime,
        name: None,
        firmware: Some("1.1".into()),
        interval_s: Some(60),
    })
}

fn metrics(cpu: f32) -> Telemetry {
    Telemetry::Metrics(Metrics {
        cpu_pct: cpu,
        mem_pct: 30.0,
        rx_bps: 10,
        tx_bps: 20,
        temp_c: None,
    })
}

#[tokio::test]
async fn n_events_in_n_rows_out_and_duplicates_absorbed() {
    let mut rig = Rig::new(50).await;
    let n = 3_000;
    let mut payloads = Vec::new();
    for i in 0..n {
        let dev = format!("ws-{}", i % 50);
        let ts = t0() + Duration::milliseconds(i as i64);
        let msg = rig.send(&dev, ts, metrics(10.0)).await;
        payloads.push((dev, msg, ts));
    }
    rig.drain().await;
    assert_eq!(
        rig.store.ingest_counts(&Scope::All).await.unwrap().metrics,
        n as u64
    );
    // The same messages again under new bus ids (a producer retry after the
    // bus's dedupe window): the store absorbs them.
    for (dev, msg, ts) in payloads.iter().take(500) {
        let env = Envelope {
            id: MsgId::parse(msg).unwrap(),
            ts: *ts,
            tenant: id("acme"),
            device: id(dev),
            body: metrics(10.0),
        };
        rig.raw(&env.subject(), &format!("retry-{msg}"), &encode(&env))
            .await;
    }
    rig.drain().await;
    let stats = rig.worker.stats();
    assert_eq!(
        rig.store.ingest_counts(&Scope::All).await.unwrap().metrics,
        n as u64
    );
    assert_eq!(stats.duplicates.load(Ordering::Relaxed), 500);
    assert_eq!(stats.accepted.load(Ordering::Relaxed), n as u64 + 500);
    assert_eq!(stats.dead_lettered.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn malformed_input_is_dead_lettered_with_its_reason_and_good_input_kept() {
    let mut rig = Rig::new(0).await;
    let good = rig.send("rtr-1", t0(), metrics(5.0)).await;
    let subject = "vigie.tel.acme.rtr-1.metrics";
    rig.raw(subject, "bad-json", b"{not json").await;
    rig.raw(subject, "bad-utf8", b"{\"v\":1,\xff}").await;
    rig.raw(subject, "bad-version", br#"{"v":9}"#).await;
    let oversized = vec![b'x'; 70_000];
    rig.raw(subject, "bad-size", &oversized).await;
    let wrong_kind = r#"{"v":1,"id":"k1","ts":"2026-11-23T10:00:00Z","tenant":"acme","device":"rtr-1","kind":"heartbeat","body":{"uptime_s":1}}"#;
    rig.raw(subject, "bad-subject", wrong_kind.as_bytes()).await;
    let unknown = r#"{"v":1,"id":"u1","ts":"2026-11-23T10:00:00Z","tenant":"acme","device":"ghost","kind":"heartbeat","body":{"uptime_s":1}}"#;
    rig.raw(
        "vigie.tel.acme.ghost.heartbeat",
        "bad-device",
        unknown.as_bytes(),
    )
    .await;
    let range = r#"{"v":1,"id":"r1","ts":"2026-11-23T10:00:00Z","tenant":"acme","device":"rtr-1","kind":"metrics","body":{"cpu_pct":300,"mem_pct":1,"rx_bps":1,"tx_bps":1}}"#;
    rig.raw(subject, "bad-range", range.as_bytes()).await;
    rig.drain().await;
    let letters = rig.dead_letters().await;
    let mut reasons: Vec<&str> = letters
        .iter()
        .map(|l| l["reason"].as_str().unwrap())
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "malformed-json",
            "not-utf8",
            "oversized",
            "schema",
            "subject-mismatch",
            "unknown-device",
            "unsupported-version"
        ]
    );
    let utf8 = letters.iter().find(|l| l["reason"] == "not-utf8").unwrap();
    assert!(
        utf8["payload_b64"].is_string(),
        "non-UTF-8 input kept as base64"
    );
    let range = letters.iter().find(|l| l["reason"] == "schema").unwrap();
    assert!(range["error"].as_str().unwrap().contains("body.cpu_pct"));
    assert!(
        range["payload"]
            .as_str()
            .unwrap()
            .contains("\"cpu_pct\":300")
    );
    assert_eq!(
        rig.store.ingest_counts(&Scope::All).await.unwrap().metrics,
        1,
        "{good} stored"
    );
    // Dead-lettered messages are acknowledged: nothing comes back.
    tokio::time::sleep(StdDuration::from_millis(400)).await;
    assert_eq!(rig.worker.step().await.unwrap().fetched, 0);
}

/// The kinds queued for a destination, in queue order.
async fn queued(
    store: &dyn Store,
    owner: Option<&Id>,
    dest: &str,
) -> Vec<vigie::domain::outbound::event::EventType> {
    store
        .outbox_due(owner, &id(dest), t0() + Duration::days(30), 500)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.event.kind)
        .collect()
}

#[tokio::test]
async fn an_outage_queues_its_events_once_for_each_destination_that_takes_them() {
    use vigie::domain::model::Severity;
    use vigie::domain::outbound::destination::{Destination, Kind, Routing, Settings, Target};
    use vigie::domain::outbound::event::EventType::*;
    let mut rig = Rig::new(0).await;
    let acme = id("acme");
    let hook = Settings {
        secrets: vec!["env:SOC".into()],
        ..Settings::new(
            Kind::Webhook,
            Target::Url("https://soc.example/hook".into()),
        )
    };
    let pager = Settings {
        routing: Routing {
            types: vec![IncidentOpened],
            min_severity: Some(Severity::Major),
        },
        ..hook.clone()
    };
    for (owner, name, settings) in [
        (Some(acme.clone()), "soc", hook.clone()),
        (Some(acme.clone()), "pager", pager),
        (None, "noc", hook),
    ] {
        let d = Destination {
            tenant: owner,
            id: id(name),
            settings,
            paused: name == "noc",
        };
        let audit = AuditEntry::new(&acme, t0(), "os:noc", "outbound.add", name.into());
        rig.store.put_destination(&d, t0(), &audit).await.unwrap();
    }
    rig.send("rtr-1", t0(), hb(100)).await;
    rig.drain().await;
    assert!(
        queued(rig.store.as_ref(), Some(&acme), "soc")
            .await
            .is_empty(),
        "online at first contact is no event"
    );
    rig.clock.set(t0() + Duration::minutes(16));
    rig.worker.sweep().await.unwrap();
    // Swept again: the same state announced again queues nothing twice.
    rig.clock.set(t0() + Duration::minutes(17));
    rig.worker.sweep().await.unwrap();
    rig.clock.set(t0() + Duration::minutes(41));
    rig.send("rtr-1", t0() + Duration::minutes(41), hb(10))
        .await;
    rig.drain().await;
    let soc = queued(rig.store.as_ref(), Some(&acme), "soc").await;
    for kind in [
        AlertFired,
        DeviceOffline,
        IncidentOpened,
        AlertCleared,
        DeviceOnline,
    ] {
        assert_eq!(
            soc.iter().filter(|k| **k == kind).count(),
            1,
            "{kind:?} in {soc:?}"
        );
    }
    let down = soc.iter().position(|k| *k == DeviceOffline).unwrap();
    let up = soc.iter().position(|k| *k == DeviceOnline).unwrap();
    assert!(down < up, "in the order they happened: {soc:?}");
    // A paused destination keeps queuing; the provider's takes every tenant.
    assert_eq!(queued(rig.store.as_ref(), None, "noc").await, soc);
    // The pager takes incident openings only (severity filtering is the
    // routing's own test's).
    assert_eq!(
        queued(rig.store.as_ref(), Some(&acme), "pager").await,
        [IncidentOpened]
    );
}

#[tokio::test]
async fn heartbeats_and_silence_drive_status_alerts_and_incidents() {
    let mut rig = Rig::new(0).await;
    rig.send("rtr-1", t0(), hb(100)).await;
    rig.drain().await;
    assert_eq!(rig.status("rtr-1"), Some(DeviceStatus::Online));
    let row = rig
        .store
        .device(&Scope::All, &id("rtr-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.status, row.last_seen, row.firmware.as_str()),
        (DeviceStatus::Online, Some(t0()), "1.1")
    );

    rig.clock.set(t0() + Duration::minutes(6));
    rig.worker.sweep().await.unwrap();
    assert_eq!(rig.status("rtr-1"), Some(DeviceStatus::Stale));
    assert!(
        rig.store
            .alert_history(&Scope::All, None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    rig.clock.set(t0() + Duration::minutes(16));
    rig.worker.sweep().await.unwrap();
    let row = rig
        .store
        .device(&Scope::All, &id("rtr-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, DeviceStatus::Offline);
    assert_eq!(
        row.status_since,
        Some(t0() + Duration::minutes(15)),
        "offline since the threshold passed"
    );
    let alerts = rig
        .store
        .alert_history(&Scope::All, Some(&id("rtr-1")), 10)
        .await
        .unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (alerts[0].rule.as_str(), alerts[0].state),
        ("device-offline", AlertState::Firing)
    );
    let queue = rig.store.incident_queue(&Scope::All, 10).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(alerts[0].incident.as_ref(), Some(&queue[0].id));

    // A second device offline at the same site merges into the incident.
    rig.send("ap-1", t0() + Duration::minutes(16), hb(5)).await;
    rig.drain().await;
    rig.clock.set(t0() + Duration::minutes(40));
    rig.worker.sweep().await.unwrap();
    let queue = rig.store.incident_queue(&Scope::All, 10).await.unwrap();
    assert_eq!(queue.len(), 1, "one incident per site and rule");
    assert_eq!(queue[0].alerts.len(), 2);

    // Back online: the alert resolves; the incident stays for an analyst.
    rig.send("rtr-1", t0() + Duration::minutes(41), hb(10))
        .await;
    rig.drain().await;
    let alerts = rig
        .store
        .alert_history(&Scope::All, Some(&id("rtr-1")), 10)
        .await
        .unwrap();
    assert_eq!(alerts[0].state, AlertState::Resolved);
    assert_eq!(
        rig.store
            .incident_queue(&Scope::All, 10)
            .await
            .unwrap()
            .len(),
        1
    );

    let events = rig.events().await;
    let statuses: Vec<DeviceStatus> = events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Device(d) if d.id == id("rtr-1") => Some(d.status),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [
            DeviceStatus::Online,
            DeviceStatus::Stale,
            DeviceStatus::Offline,
            DeviceStatus::Online
        ]
    );
}

#[tokio::test]
async fn a_site_going_dark_opens_one_site_alert_after_two_evaluations_then_resolves() {
    let mut rig = Rig::new(4).await;
    let all = ["rtr-1", "ap-1", "cpe-1", "ws-0", "ws-1", "ws-2", "ws-3"];
    for d in all {
        rig.send(d, t0(), hb(100)).await;
    }
    rig.drain().await;
    assert!(
        rig.worker.run_site_rules().await.unwrap(),
        "the only worker holds the lease"
    );
    // Silence: every device goes offline.
    rig.clock.set(t0() + Duration::minutes(16));
    rig.worker.sweep().await.unwrap();
    rig.worker.run_site_rules().await.unwrap();
    let site = vigie::rules::site::SITE_OFFLINE;
    assert!(rig.alert(site).await.is_none(), "one hit does not confirm");
    rig.clock.set(t0() + Duration::minutes(21));
    rig.worker.run_site_rules().await.unwrap();
    let a = rig.alert(site).await.expect("confirmed after two hits");
    assert_eq!(a.state, AlertState::Firing);
    assert_eq!(a.site, Some(id("hq")));
    assert_eq!(a.summary.as_str(), "7 of 7 devices offline at HQ");
    let incidents = rig.store.incident_queue(&Scope::All, 100).await.unwrap();
    let inc = incidents
        .iter()
        .find(|i| i.alerts.contains(&a.id))
        .expect("the site alert joins an incident");
    assert_eq!(Some(&inc.id), a.incident.as_ref());
    assert!(rig.events().await.iter().any(|e| matches!(
        &e.body,
        EventBody::Alert(x) if x.id == a.id && x.state == AlertState::Firing
    )));
    // Back online: two clean evaluations resolve it.
    for d in all {
        rig.send(d, t0() + Duration::minutes(22), hb(200)).await;
    }
    rig.drain().await;
    for m in [26, 31] {
        rig.clock.set(t0() + Duration::minutes(m));
        rig.worker.run_site_rules().await.unwrap();
    }
    assert_eq!(rig.alert(site).await.unwrap().state, AlertState::Resolved);
    // Another worker does not evaluate while this one holds the lease.
    assert!(
        !rig.store
            .try_lease(
                "site-rules",
                "someone-else",
                t0() + Duration::minutes(31),
                t0() + Duration::hours(1)
            )
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn snapshot_and_events_meet_without_gap_or_double() {
    let mut rig = Rig::new(5).await;
    let store = Arc::clone(&rig.store);
    let bus = Arc::clone(&rig.bus);
    let token = support::auth::admin_token(store.as_ref()).await;
    tokio::spawn(vigie::worker::api::serve(
        vigie::worker::api::ApiContext::of(
            &rig.worker,
            Arc::clone(&bus),
            store,
            Arc::new(support::auth::sessions()),
        ),
    ));
    rig.send("ws-0", t0(), hb(1)).await;
    rig.drain().await;
    let snap: Snapshot = snapshot(bus.as_ref(), &token, "_all").await;
    let online: Vec<_> = snap
        .devices
        .iter()
        .filter(|d| d.status == DeviceStatus::Online)
        .collect();
    assert_eq!(online.len(), 1);
    assert_eq!(snap.counts.online, 1);
    assert_eq!(snap.events_seq, bus.last_seq(Stream::Events).await.unwrap());
    rig.send("ws-1", t0(), hb(1)).await;
    rig.drain().await;
    let mut f = bus
        .follow(Stream::Events, "vigie.evt.>", snap.events_seq + 1)
        .await
        .unwrap();
    let m = tokio::time::timeout(StdDuration::from_secs(2), f.next())
        .await
        .unwrap()
        .unwrap();
    let e: Event = serde_json::from_slice(&m.payload).unwrap();
    match e.body {
        EventBody::Device(d) => assert_eq!((d.id, d.status), (id("ws-1"), DeviceStatus::Online)),
        other => panic!("{other:?}"),
    }
    // A tenant scope sees only its tenant; a bad scope is a clear error.
    let other: Snapshot = snapshot(bus.as_ref(), &token, "nobody").await;
    assert!(other.devices.is_empty());
    let e = api::call_value::<serde_json::Value>(
        bus.as_ref(),
        &token,
        "acme",
        "explode",
        serde_json::json!({}),
        StdDuration::from_secs(2),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, "unknown-verb");
}

async fn snapshot(bus: &dyn Bus, token: &str, scope: &str) -> Snapshot {
    api::call_value(
        bus,
        token,
        scope,
        "snapshot",
        serde_json::json!({}),
        StdDuration::from_secs(2),
    )
    .await
    .unwrap()
}

use vigie::domain::audit::AuditEntry;
use vigie::domain::push::PushQuery;
use vigie::domain::push::{Push, Rollout};

/// A store whose writes fail while a switch is on.
struct Flaky {
    inner: Arc<dyn Store>,
    fail: Arc<AtomicBool>,
}

#[async_trait]
impl vigie::store::outbound::OutboundStore for Flaky {
    async fn put_destination(
        &self,
        d: &vigie::domain::outbound::destination::Destination,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.inner.put_destination(d, now, audit).await
    }
    async fn destinations(
        &self,
        scope: &Scope,
    ) -> Result<Vec<vigie::store::outbound::DestinationRow>, StoreError> {
        self.inner.destinations(scope).await
    }
    async fn remove_destination(
        &self,
        owner: Option<&Id>,
        dest: &Id,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        self.inner.remove_destination(owner, dest, audit).await
    }
    async fn set_breaker(
        &self,
        owner: Option<&Id>,
        dest: &Id,
        b: &vigie::domain::outbound::breaker::Breaker,
    ) -> Result<(), StoreError> {
        self.inner.set_breaker(owner, dest, b).await
    }
    async fn outbox_due(
        &self,
        owner: Option<&Id>,
        dest: &Id,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<vigie::store::outbound::OutboxItem>, StoreError> {
        self.inner.outbox_due(owner, dest, now, limit).await
    }
    async fn backlog(
        &self,
        owner: Option<&Id>,
        dest: &Id,
    ) -> Result<(u64, Option<DateTime<Utc>>), StoreError> {
        self.inner.backlog(owner, dest).await
    }
    async fn prune(
        &self,
        owner: Option<&Id>,
        dest: &Id,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.inner.prune(owner, dest, before).await
    }
    async fn requeue(
        &self,
        owner: Option<&Id>,
        dest: &Id,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.inner.requeue(owner, dest, now).await
    }
    async fn deliveries(
        &self,
        owner: Option<&Id>,
        dest: &Id,
        limit: u32,
    ) -> Result<Vec<vigie::store::outbound::Delivery>, StoreError> {
        self.inner.deliveries(owner, dest, limit).await
    }
    async fn settle(
        &self,
        owner: Option<&Id>,
        seq: i64,
        how: &vigie::store::outbound::Settle,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.settle(owner, seq, how, now).await
    }
    async fn settle_all(
        &self,
        owner: Option<&Id>,
        settled: &[(i64, vigie::store::outbound::Settle)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.settle_all(owner, settled, now).await
    }
}

#[async_trait]
impl Store for Flaky {
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    async fn maintain(
        &self,
        now: chrono::DateTime<Utc>,
    ) -> Result<vigie::store::Maintenance, StoreError> {
        self.inner.maintain(now).await
    }
    async fn sector_health(
        &self,
        scope: &Scope,
    ) -> Result<Vec<vigie::domain::site::SectorHealth>, StoreError> {
        self.inner.sector_health(scope).await
    }
    async fn signal_trends(
        &self,
        scope: &Scope,
        baseline_since: DateTime<Utc>,
        recent_since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<vigie::domain::site::SignalTrend>, StoreError> {
        self.inner
            .signal_trends(scope, baseline_since, recent_since, until)
            .await
    }
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.inner.try_lease(name, holder, now, until).await
    }
    async fn write_batch(&self, batch: &WriteBatch) -> Result<BatchOutcome, StoreError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(StoreError::Invalid("disk on fire".into()));
        }
        self.inner.write_batch(batch).await
    }
    async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        self.inner.migrate().await
    }
    async fn import_inventory(
        &self,
        inv: &vigie::domain::model::Inventory,
    ) -> Result<(), StoreError> {
        self.inner.import_inventory(inv).await
    }
    async fn inventory(
        &self,
        scope: &Scope,
    ) -> Result<vigie::domain::model::Inventory, StoreError> {
        self.inner.inventory(scope).await
    }
    async fn create_enrolment(
        &self,
        code_hash: &str,
        e: &vigie::domain::enrolment::Enrolment,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.inner.create_enrolment(code_hash, e, audit).await
    }
    async fn redeem_enrolment(
        &self,
        code_hash: &str,
        agent_key: &str,
        now: DateTime<Utc>,
    ) -> Result<
        Result<vigie::domain::enrolment::Enrolment, vigie::domain::enrolment::Refusal>,
        StoreError,
    > {
        self.inner.redeem_enrolment(code_hash, agent_key, now).await
    }
    async fn enrolled_keys(
        &self,
        tenant: &vigie::domain::Id,
        device: &vigie::domain::Id,
    ) -> Result<Vec<String>, StoreError> {
        self.inner.enrolled_keys(tenant, device).await
    }
    async fn tenants(&self) -> Result<Vec<vigie::domain::model::Tenant>, StoreError> {
        self.inner.tenants().await
    }
    async fn device_states(&self, scope: &Scope) -> Result<Vec<DeviceState>, StoreError> {
        self.inner.device_states(scope).await
    }
    async fn fleet_page(&self, scope: &Scope, q: &FleetQuery) -> Result<FleetPage, StoreError> {
        self.inner.fleet_page(scope, q).await
    }
    async fn status_counts(&self, scope: &Scope) -> Result<StatusCounts, StoreError> {
        self.inner.status_counts(scope).await
    }
    async fn sites(&self, scope: &Scope) -> Result<Vec<SiteSummary>, StoreError> {
        self.inner.sites(scope).await
    }
    async fn incident_queue(
        &self,
        scope: &Scope,
        limit: u32,
    ) -> Result<Vec<vigie::domain::incident::Incident>, StoreError> {
        self.inner.incident_queue(scope, limit).await
    }
    async fn alert_history(
        &self,
        scope: &Scope,
        device: Option<&Id>,
        limit: u32,
    ) -> Result<Vec<vigie::domain::model::Alert>, StoreError> {
        self.inner.alert_history(scope, device, limit).await
    }
    async fn ap_links(
        &self,
        scope: &Scope,
    ) -> Result<Vec<vigie::domain::site::ApLinks>, StoreError> {
        self.inner.ap_links(scope).await
    }
    async fn site_detail(
        &self,
        scope: &Scope,
        site: &Id,
        alerts: u32,
    ) -> Result<vigie::domain::site::SiteDetail, StoreError> {
        self.inner.site_detail(scope, site, alerts).await
    }
    async fn device_links(
        &self,
        scope: &Scope,
        device: &Id,
    ) -> Result<Vec<vigie::domain::model::LinkRow>, StoreError> {
        self.inner.device_links(scope, device).await
    }
    async fn device_interfaces(
        &self,
        scope: &Scope,
        device: &Id,
    ) -> Result<Option<vigie::domain::fleet::DeviceInterfaces>, StoreError> {
        self.inner.device_interfaces(scope, device).await
    }
    async fn incident(
        &self,
        scope: &Scope,
        incident: &Id,
    ) -> Result<
        Option<(
            vigie::domain::incident::Incident,
            Vec<vigie::domain::model::Alert>,
        )>,
        StoreError,
    > {
        self.inner.incident(scope, incident).await
    }
    async fn signal_series(
        &self,
        scope: &Scope,
        device: &Id,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<vigie::domain::model::SignalSample>, StoreError> {
        self.inner.signal_series(scope, device, since, until).await
    }
    async fn metric_series(
        &self,
        scope: &Scope,
        device: &Id,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<vigie::domain::model::MetricSample>, StoreError> {
        self.inner.metric_series(scope, device, since, until).await
    }
    async fn ingest_counts(&self, scope: &Scope) -> Result<IngestCounts, StoreError> {
        self.inner.ingest_counts(scope).await
    }
    async fn links(&self, scope: &Scope) -> Result<Vec<vigie::domain::model::LinkRow>, StoreError> {
        self.inner.links(scope).await
    }
    async fn next_order_seq(&self, t: &Id, d: &Id, floor: u64) -> Result<u64, StoreError> {
        self.inner.next_order_seq(t, d, floor).await
    }
    async fn insert_push(&self, p: &Push, a: &AuditEntry) -> Result<(), StoreError> {
        self.inner.insert_push(p, a).await
    }
    async fn update_push(
        &self,
        p: &Push,
        v: u64,
        a: &[AuditEntry],
        o: &[vigie::store::outbound::OutboxRow],
    ) -> Result<bool, StoreError> {
        self.inner.update_push(p, v, a, o).await
    }
    async fn push(&self, scope: &Scope, id: &Id) -> Result<Option<Push>, StoreError> {
        self.inner.push(scope, id).await
    }
    async fn pushes(&self, scope: &Scope, q: &PushQuery) -> Result<Vec<Push>, StoreError> {
        self.inner.pushes(scope, q).await
    }
    async fn insert_rollout(&self, r: &Rollout, a: &AuditEntry) -> Result<(), StoreError> {
        self.inner.insert_rollout(r, a).await
    }
    async fn update_rollout(
        &self,
        r: &Rollout,
        v: u64,
        a: &[AuditEntry],
    ) -> Result<bool, StoreError> {
        self.inner.update_rollout(r, v, a).await
    }
    async fn rollouts(
        &self,
        scope: &Scope,
        id: Option<&Id>,
        running: bool,
    ) -> Result<Vec<Rollout>, StoreError> {
        self.inner.rollouts(scope, id, running).await
    }
    async fn append_audit(&self, a: &AuditEntry) -> Result<(), StoreError> {
        self.inner.append_audit(a).await
    }
    async fn create_tenant(
        &self,
        t: &vigie::domain::model::Tenant,
        a: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.inner.create_tenant(t, a).await
    }
    async fn update_tenant(
        &self,
        t: &vigie::domain::model::Tenant,
        a: &AuditEntry,
    ) -> Result<bool, StoreError> {
        self.inner.update_tenant(t, a).await
    }
    async fn tenant_usage(&self, t: &Id) -> Result<vigie::store::TenantUsage, StoreError> {
        self.inner.tenant_usage(t).await
    }
    async fn delete_tenant(
        &self,
        t: &Id,
        a: &AuditEntry,
    ) -> Result<vigie::store::TenantUsage, StoreError> {
        self.inner.delete_tenant(t, a).await
    }
    async fn provider(&self) -> Result<(String, vigie::domain::model::Tier), StoreError> {
        self.inner.provider().await
    }
    async fn set_provider(
        &self,
        name: &str,
        tier: vigie::domain::model::Tier,
        a: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.inner.set_provider(name, tier, a).await
    }
    async fn insert_user(
        &self,
        u: &vigie::domain::user::UserRecord,
        a: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.inner.insert_user(u, a).await
    }
    async fn update_user(
        &self,
        u: &vigie::domain::user::UserRecord,
        a: &AuditEntry,
    ) -> Result<bool, StoreError> {
        self.inner.update_user(u, a).await
    }
    async fn user(
        &self,
        name: &str,
    ) -> Result<Option<vigie::domain::user::UserRecord>, StoreError> {
        self.inner.user(name).await
    }
    async fn users(
        &self,
        scope: &Scope,
    ) -> Result<Vec<vigie::domain::user::UserRecord>, StoreError> {
        self.inner.users(scope).await
    }
    async fn audit_chain(
        &self,
        t: &Id,
        after: u64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.audit_chain(t, after, limit).await
    }
    async fn audit_range(
        &self,
        t: &Id,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.audit_range(t, since, until).await
    }
    async fn audit_heads(&self) -> Result<Vec<vigie::store::AuditHead>, StoreError> {
        self.inner.audit_heads().await
    }
    async fn audit_tenants(&self) -> Result<Vec<Id>, StoreError> {
        self.inner.audit_tenants().await
    }
    async fn purge_tenant(&self, tenant: &Id) -> Result<(), StoreError> {
        self.inner.purge_tenant(tenant).await
    }
    async fn audit(
        &self,
        scope: &Scope,
        target: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.audit(scope, target, limit).await
    }
    async fn latest_config(
        &self,
        scope: &Scope,
        device: &Id,
    ) -> Result<Option<vigie::domain::push::StoredConfig>, StoreError> {
        self.inner.latest_config(scope, device).await
    }
    async fn device(
        &self,
        scope: &Scope,
        device: &Id,
    ) -> Result<Option<vigie::domain::model::DeviceRow>, StoreError> {
        self.inner.device(scope, device).await
    }
}

#[tokio::test]
async fn nothing_is_acked_before_it_is_committed() {
    let fail = Arc::new(AtomicBool::new(true));
    let switch = Arc::clone(&fail);
    let mut rig = Rig::with_store(10, move |inner| {
        Arc::new(Flaky {
            inner,
            fail: switch,
        })
    })
    .await;
    for i in 0..10 {
        rig.send(&format!("ws-{i}"), t0(), metrics(1.0)).await;
    }
    // The batch is applied and its write begins; finishing it fails.
    assert_eq!(rig.worker.step().await.unwrap().fetched, 10);
    assert!(rig.worker.flush().await.is_err(), "the write fails");
    assert_eq!(
        rig.store.ingest_counts(&Scope::All).await.unwrap().metrics,
        0
    );
    fail.store(false, Ordering::SeqCst);
    // The failed batch comes back (nak'd) and is stored exactly once.
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    rig.drain().await;
    assert_eq!(
        rig.store.ingest_counts(&Scope::All).await.unwrap().metrics,
        10
    );
    assert_eq!(rig.worker.stats().failed_batches.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn run_processes_until_shutdown_then_finishes_what_it_holds() {
    let mut rig = Rig::new(20).await;
    for i in 0..200 {
        rig.send(
            &format!("ws-{}", i % 20),
            t0() + Duration::seconds(i),
            metrics(3.0),
        )
        .await;
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let Rig { worker, store, .. } = rig;
    let task = tokio::spawn(worker.run(stopped));
    let deadline = std::time::Instant::now() + StdDuration::from_secs(10);
    while store.ingest_counts(&Scope::All).await.unwrap().metrics < 200 {
        assert!(std::time::Instant::now() < deadline, "not stored in time");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    let finished = tokio::time::timeout(StdDuration::from_secs(5), task).await;
    assert!(matches!(finished, Ok(Ok(Ok(())))), "{finished:?}");
}

#[tokio::test]
async fn devices_added_to_the_inventory_later_are_picked_up() {
    let mut rig = Rig::new(0).await;
    rig.send("rtr-1", t0(), hb(1)).await;
    rig.drain().await;
    let mut more = inventory(0);
    more.devices[0].id = id("rtr-2");
    more.devices.truncate(1);
    more.links.clear();
    rig.store.import_inventory(&more).await.unwrap();
    rig.send("rtr-2", t0(), hb(1)).await;
    rig.drain().await;
    assert_eq!(rig.status("rtr-2"), Some(DeviceStatus::Online));
    assert_eq!(rig.status("rtr-1"), Some(DeviceStatus::Online), "kept");
    assert!(rig.dead_letters().await.is_empty());
}

#[tokio::test]
async fn telemetry_from_the_future_is_dead_lettered() {
    let mut rig = Rig::new(0).await;
    rig.send("rtr-1", t0() + Duration::minutes(4), hb(1)).await;
    rig.send("ap-1", t0() + Duration::minutes(6), hb(1)).await;
    rig.drain().await;
    assert_eq!(rig.status("rtr-1"), Some(DeviceStatus::Online));
    assert_eq!(rig.status("ap-1"), Some(DeviceStatus::Pending));
    let letters = rig.dead_letters().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["reason"], "clock-skew");
    assert!(
        letters[0]["error"]
            .as_str()
            .unwrap()
            .contains("360 s ahead")
    );
}

/// Asks the api for `verb` while the worker's loop (stepped by the test)
/// takes what the api hands it.
async fn ask(
    rig: &mut Rig,
    token: &str,
    tenant: &str,
    verb: &'static str,
    body: serde_json::Value,
) -> Result<serde_json::Value, api::ApiError> {
    let (bus, token, tenant) = (Arc::clone(&rig.bus), token.to_string(), tenant.to_string());
    let call = tokio::spawn(async move {
        api::call_value::<serde_json::Value>(
            bus.as_ref(),
            &token,
            &tenant,
            verb,
            body,
            StdDuration::from_secs(5),
        )
        .await
    });
    while !call.is_finished() {
        rig.worker.triage_pending().await;
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    call.await.unwrap()
}

/// Asks for `incident_act`.
async fn act(
    rig: &mut Rig,
    token: &str,
    tenant: &str,
    body: serde_json::Value,
) -> Result<serde_json::Value, api::ApiError> {
    ask(rig, token, tenant, "incident_act", body).await
}

/// A worker with one open incident (a device offline) and its api served:
/// the rig, the incident, an operator's and a viewer's sessions.
async fn triage_rig() -> (Rig, vigie::domain::incident::Incident, String, String) {
    use vigie::domain::outbound::destination::{Destination, Kind, Settings, Target};
    let mut rig = Rig::new(0).await;
    // A SOC's webhook, before the first write reads the destinations.
    let soc = Destination {
        tenant: Some(id("acme")),
        id: id("soc"),
        settings: Settings {
            secrets: vec!["env:SOC".into()],
            ..Settings::new(
                Kind::Webhook,
                Target::Url("https://soc.example/hook".into()),
            )
        },
        paused: true,
    };
    let audit = AuditEntry::new(&id("acme"), t0(), "os:noc", "outbound.add", "soc".into());
    rig.store.put_destination(&soc, t0(), &audit).await.unwrap();
    rig.send("rtr-1", t0(), hb(100)).await;
    rig.drain().await;
    rig.clock.set(t0() + Duration::minutes(16));
    rig.worker.sweep().await.unwrap();
    let inc = rig
        .store
        .incident_queue(&Scope::All, 10)
        .await
        .unwrap()
        .remove(0);
    let store = Arc::clone(&rig.store);
    let operator = support::auth::token_for(
        store.as_ref(),
        "ana",
        vigie::domain::access::Role::Operator,
        Some(&inc.tenant),
    )
    .await;
    let viewer = support::auth::token_for(
        store.as_ref(),
        "vic",
        vigie::domain::access::Role::Viewer,
        Some(&inc.tenant),
    )
    .await;
    tokio::spawn(vigie::worker::api::serve(
        vigie::worker::api::ApiContext::of(
            &rig.worker,
            Arc::clone(&rig.bus),
            store,
            Arc::new(support::auth::sessions()),
        ),
    ));
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    (rig, inc, operator, viewer)
}

#[tokio::test]
async fn analysts_triage_incidents_through_the_worker() {
    let (mut rig, inc, operator, viewer) = triage_rig().await;
    let tenant = inc.tenant.to_string();
    let from = rig.bus.last_seq(Stream::Events).await.unwrap() + 1;
    let body = |action: &str| serde_json::json!({ "incident": inc.id, "action": action });

    let e = act(&mut rig, &viewer, &tenant, body("acknowledge"))
        .await
        .unwrap_err();
    assert_eq!(e.code, "forbidden");
    let acked = act(&mut rig, &operator, &tenant, body("acknowledge"))
        .await
        .unwrap();
    assert_eq!(
        (acked["state"].as_str(), acked["assignee"].as_str()),
        (Some("acknowledged"), Some("ana"))
    );
    let up = act(&mut rig, &operator, &tenant, body("escalate"))
        .await
        .unwrap();
    assert_eq!(up["tier"], "L2");
    let mut assign = body("assign");
    assign["to"] = "bob".into();
    assert_eq!(
        act(&mut rig, &operator, &tenant, assign).await.unwrap()["assignee"],
        "bob"
    );
    let e = act(&mut rig, &operator, &tenant, body("snooze"))
        .await
        .unwrap_err();
    assert_eq!(e.code, "bad-request");
    let mut done = body("resolve");
    done["reason"] = "power restored at the site".into();
    let resolved = act(&mut rig, &operator, &tenant, done).await.unwrap();
    assert_eq!(resolved["state"], "resolved");
    // Resolved: no longer open, so nothing more to do to it.
    let e = act(&mut rig, &operator, &tenant, body("acknowledge"))
        .await
        .unwrap_err();
    assert_eq!(e.code, "not-found");

    // Stored, announced to consoles, and audited under the analyst's name.
    let stored = rig.store.incident_queue(&Scope::All, 10).await.unwrap();
    assert!(
        stored.iter().all(|i| i.id != inc.id),
        "resolved leaves the queue"
    );
    let mut f = rig
        .bus
        .follow(Stream::Events, "vigie.evt.>", from)
        .await
        .unwrap();
    let mut states = Vec::new();
    while let Ok(Some(m)) = tokio::time::timeout(StdDuration::from_millis(300), f.next()).await {
        if let Ok(Event {
            body: EventBody::Incident(i),
            ..
        }) = serde_json::from_slice(&m.payload)
        {
            states.push(i.state.as_str().to_string());
        }
    }
    assert_eq!(
        states,
        ["acknowledged", "acknowledged", "acknowledged", "resolved"]
    );
    let log = rig
        .store
        .audit(
            &Scope::Tenant(inc.tenant.clone()),
            Some(&format!("incident/{}", inc.id)),
            10,
        )
        .await
        .unwrap();
    let actions: Vec<(&str, &str)> = log
        .iter()
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("incident.acknowledge", "ana"),
            ("incident.escalate", "ana"),
            ("incident.assign", "ana"),
            ("incident.resolve", "ana")
        ]
    );
    assert_eq!(
        log[3].reason.as_ref().map(|r| r.as_str()),
        Some("power restored at the site")
    );
}

#[tokio::test]
async fn snooze_wake_notes_reopen_and_the_incident_timeline() {
    let (mut rig, inc, operator, viewer) = triage_rig().await;
    let tenant = inc.tenant.to_string();
    let body = |action: &str| serde_json::json!({ "incident": inc.id, "action": action });
    // The rig's clock, as `triage_rig` left it.
    let now = t0() + Duration::minutes(16);

    let mut snooze = body("snooze");
    snooze["for_s"] = 1_800.into();
    let snoozed = act(&mut rig, &operator, &tenant, snooze).await.unwrap();
    let until: chrono::DateTime<Utc> =
        serde_json::from_value(snoozed["snoozed_until"].clone()).unwrap();
    assert_eq!(until, now + Duration::minutes(30), "on the worker's clock");
    let stored = rig.store.incident_queue(&Scope::All, 10).await.unwrap();
    assert_eq!(stored[0].snoozed_until, Some(until), "stored");
    let woken = act(&mut rig, &operator, &tenant, body("wake"))
        .await
        .unwrap();
    assert!(woken.get("snoozed_until").is_none());

    let mut note = body("note");
    note["reason"] = "called the site: the landlord cut the power".into();
    let noted = act(&mut rig, &operator, &tenant, note.clone())
        .await
        .unwrap();
    assert_eq!(noted["state"], "new", "a note changes no state");
    assert_eq!(
        act(&mut rig, &viewer, &tenant, note)
            .await
            .unwrap_err()
            .code,
        "forbidden"
    );
    let e = act(&mut rig, &operator, &tenant, body("note"))
        .await
        .unwrap_err();
    assert!(e.code == "bad-request" && e.message.contains("note"), "{e}");

    act(&mut rig, &operator, &tenant, body("resolve"))
        .await
        .unwrap();
    let reopened = act(&mut rig, &operator, &tenant, body("reopen"))
        .await
        .unwrap();
    assert_eq!(
        (
            reopened["state"].as_str(),
            reopened["reopen_count"].as_u64()
        ),
        (Some("new"), Some(1))
    );
    let e = act(&mut rig, &operator, &tenant, body("reopen"))
        .await
        .unwrap_err();
    assert_eq!(e.code, "wrong-state", "{e}");
    let queue = rig.store.incident_queue(&Scope::All, 10).await.unwrap();
    assert!(queue.iter().any(|i| i.id == inc.id), "back in the queue");
    // The worker holds it again: triage goes on.
    act(&mut rig, &operator, &tenant, body("acknowledge"))
        .await
        .unwrap();

    // The timeline, read by a viewer: every action and the note, in order.
    let body = serde_json::json!({ "incident": inc.id });
    let detail: vigie::api::views::IncidentDetail = serde_json::from_value(
        ask(&mut rig, &viewer, &tenant, "incident", body)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(detail.incident.id, inc.id);
    assert!(!detail.alerts.is_empty());
    // Why it fired: the rule, its condition and counters, the evaluations.
    let why = &detail.why[0];
    assert_eq!(why.rule, "device-offline");
    assert!(why.condition.contains("no heartbeat for"), "{why:?}");
    assert_eq!((why.hits, why.fire_after), (1, 1));
    assert_eq!(why.evaluations.last().map(|e| e.1), Some(true));
    let actions: Vec<&str> = detail.timeline.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "incident.snooze",
            "incident.wake",
            "incident.note",
            "incident.resolve",
            "incident.reopen",
            "incident.acknowledge"
        ]
    );
    let note = &detail.timeline[2];
    assert_eq!(
        note.reason.as_ref().map(|r| r.as_str()),
        Some("called the site: the landlord cut the power")
    );
    assert_eq!(detail.timeline[4].before.as_deref(), Some("resolved"));
}

#[tokio::test]
async fn merging_incidents_moves_their_alerts_and_closes_them() {
    let (mut rig, first, operator, viewer) = triage_rig().await;
    // A second rule fires at the site (CPU, three hits): a second incident.
    for m in 13..16 {
        rig.send("rtr-1", t0() + Duration::minutes(m), metrics(97.0))
            .await;
        rig.drain().await;
    }
    let open = rig.store.incident_queue(&Scope::All, 10).await.unwrap();
    assert_eq!(open.len(), 2);
    let second = open.iter().find(|i| i.id != first.id).unwrap().clone();
    let tenant = first.tenant.to_string();
    let merge = |from: serde_json::Value| serde_json::json!({ "incident": first.id, "action": "merge", "from": from });

    let e = act(&mut rig, &operator, &tenant, merge(serde_json::json!([])))
        .await
        .unwrap_err();
    assert_eq!(e.code, "bad-request", "{e}");
    let e = act(
        &mut rig,
        &operator,
        &tenant,
        merge(serde_json::json!([first.id])),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, "wrong-state", "{e}");
    let e = act(
        &mut rig,
        &operator,
        &tenant,
        merge(serde_json::json!(["inc-nope"])),
    )
    .await
    .unwrap_err();
    assert!(e.message.contains("inc-nope"), "{e}");

    // Why the CPU incident fired: three hits in a row of the CPU rule.
    let body = serde_json::json!({ "incident": second.id });
    let detail: vigie::api::views::IncidentDetail = serde_json::from_value(
        ask(&mut rig, &viewer, &tenant, "incident", body)
            .await
            .unwrap(),
    )
    .unwrap();
    let why = detail.why.iter().find(|w| w.rule == "cpu-high").unwrap();
    assert!(why.condition.starts_with("cpu_pct above"), "{why:?}");
    assert_eq!((why.hits, why.fire_after), (3, 3));
    assert_eq!(why.evaluations.len(), 3);
    assert!(why.evaluations.iter().all(|e| e.1));

    let merged = act(
        &mut rig,
        &operator,
        &tenant,
        merge(serde_json::json!([second.id])),
    )
    .await
    .unwrap();
    let alerts: Vec<String> = serde_json::from_value(merged["alerts"].clone()).unwrap();
    assert_eq!(alerts.len(), first.alerts.len() + second.alerts.len());
    // One incident open; the other closed; its alert points to the first.
    let open = rig.store.incident_queue(&Scope::All, 10).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, first.id);
    let scope = Scope::Tenant(first.tenant.clone());
    let (closed, moved) = rig
        .store
        .incident(&scope, &second.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(closed.state, vigie::domain::incident::IncidentState::Closed);
    assert!(moved.is_empty(), "its alerts now belong to the first");
    // The SOC hears of the merge, once, and of the closing.
    let soc = queued(rig.store.as_ref(), Some(&id("acme")), "soc").await;
    use vigie::domain::outbound::event::EventType::{IncidentClosed, IncidentMerged};
    assert_eq!(
        soc.iter().filter(|k| **k == IncidentMerged).count(),
        1,
        "{soc:?}"
    );
    assert_eq!(
        soc.iter().filter(|k| **k == IncidentClosed).count(),
        1,
        "{soc:?}"
    );
    let (_, now_with) = rig
        .store
        .incident(&scope, &first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now_with.len(), 2);
    // Both ends audited.
    let log = rig
        .store
        .audit(&scope, Some(&format!("incident/{}", first.id)), 10)
        .await
        .unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.action, "incident.merge");
    assert_eq!(
        (last.before.as_deref(), last.after.as_deref()),
        (Some("1 alerts"), Some("2 alerts"))
    );
    assert_eq!(
        last.reason.as_ref().map(|r| r.to_string()),
        Some(format!("merged {}", second.id))
    );
    let log = rig
        .store
        .audit(&scope, Some(&format!("incident/{}", second.id)), 10)
        .await
        .unwrap();
    assert_eq!(log.last().unwrap().action, "incident.merged");
}

#[tokio::test]
async fn marked_alerts_move_into_one_incident() {
    let (mut rig, first, operator, _viewer) = triage_rig().await;
    for m in 13..16 {
        rig.send("rtr-1", t0() + Duration::minutes(m), metrics(97.0))
            .await;
        rig.drain().await;
    }
    let open = rig.store.incident_queue(&Scope::All, 10).await.unwrap();
    let second = open.iter().find(|i| i.id != first.id).unwrap().clone();
    let tenant = first.tenant.to_string();
    let body = |extra: serde_json::Value| {
        let mut b = serde_json::json!({ "incident": first.id, "action": "merge" });
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let both = serde_json::json!({ "from": [second.id], "alerts": [second.alerts[0]] });
    let e = act(&mut rig, &operator, &tenant, body(both))
        .await
        .unwrap_err();
    assert_eq!(e.code, "bad-request", "{e}");
    let e = act(
        &mut rig,
        &operator,
        &tenant,
        body(serde_json::json!({ "alerts": ["al-nope"] })),
    )
    .await
    .unwrap_err();
    assert!(e.message.contains("al-nope"), "{e}");

    // The CPU alert joins the offline incident; its own incident, empty,
    // closes.
    let moved = second.alerts[0].clone();
    let merged = act(
        &mut rig,
        &operator,
        &tenant,
        body(serde_json::json!({ "alerts": [moved] })),
    )
    .await
    .unwrap();
    let alerts: Vec<String> = serde_json::from_value(merged["alerts"].clone()).unwrap();
    assert!(alerts.contains(&moved.to_string()));
    let open = rig.store.incident_queue(&Scope::All, 10).await.unwrap();
    assert_eq!(open.len(), 1);
    let scope = Scope::Tenant(first.tenant.clone());
    let (closed, _) = rig
        .store
        .incident(&scope, &second.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(closed.state, vigie::domain::incident::IncidentState::Closed);
    let log = rig
        .store
        .audit(&scope, Some(&format!("incident/{}", first.id)), 10)
        .await
        .unwrap();
    let last = log.last().unwrap();
    assert_eq!(
        last.reason.as_ref().map(|r| r.to_string()),
        Some(format!("took alerts {moved}"))
    );
}

/// A device onboarded with `vigie inventory import` while the worker runs
/// is known to it by the device's first message: stored, not dead-lettered.
#[tokio::test]
async fn a_device_imported_while_the_worker_runs_is_taken_at_its_first_message() {
    let mut rig = Rig::new(2).await;
    let csv = "tenant,site,site_name,lat,lon,device,device_name,kind\n\
               acme,hq,HQ,39.7,-105.2,rtr-new,New router,router\n";
    // The site is described as stored, so only the device is new.
    let stored = rig.store.inventory(&Scope::All).await.unwrap();
    let hq = &stored.sites[0];
    let csv = csv.replace(
        "HQ,39.7,-105.2",
        &format!("{},{},{}", hq.name, hq.lat, hq.lon),
    );
    let done = vigie::admin::inventory::import(
        rig.store.as_ref(),
        "new.csv",
        &csv,
        vigie::inventory::Format::Csv,
        false,
        "os:test",
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(done.plan.summary(), "1 device to add; 1 unchanged");
    assert_eq!(rig.status("rtr-new"), None, "not known before its message");
    rig.send("rtr-new", t0(), metrics(12.0)).await;
    rig.drain().await;
    assert!(rig.status("rtr-new").is_some());
    assert!(rig.dead_letters().await.is_empty());
    assert_eq!(
        rig.store.ingest_counts(&Scope::All).await.unwrap().metrics,
        1
    );
}
