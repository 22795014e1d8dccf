//! The worker pipeline on a real NATS JetStream (and an SQLite file): what
//! is published is stored once, retries are absorbed, bad input reaches the
//! dead-letter stream with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use bytes::Bytes;
use chrono::{Duration, Utc};
use vigie::bus::envelope::{Envelope, MsgId, encode};
use vigie::bus::nats::NatsBus;
use vigie::bus::{Bus, Stream};
use vigie::clock::Clock;
use vigie::domain::Id;
use vigie::domain::device::DeviceStatus;
use vigie::domain::telemetry::{Heartbeat, Metrics, Telemetry};
use vigie::store::sqlite::SqliteStore;
use vigie::store::{Scope, Store};
use vigie::worker::{Worker, WorkerConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_over_nats_is_stored_once_and_bad_input_dead_lettered() {
    let bus = match NatsBus::connect_and_setup(&support::services::nats_url()).await {
        Ok(b) => Arc::new(b) as Arc<dyn Bus>,
        Err(e) => {
            let _: Option<()> = support::services::unavailable("NATS JetStream", e);
            return;
        }
    };
    // A tenant of its own, so the run shares the server with anything else.
    let tenant = Id::parse(&support::bus_contract::unique("t")).unwrap();
    let mut inv = vigie::sim::plan(11, 60).inventory;
    inv.tenants.truncate(1);
    let t0 = inv.tenants[0].id.clone();
    inv.tenants[0].id = tenant.clone();
    inv.sites.retain(|s| s.tenant == t0);
    inv.sectors.retain(|s| s.tenant == t0);
    inv.devices.retain(|d| d.tenant == t0);
    inv.links.retain(|l| l.tenant == t0);
    for s in &mut inv.sites {
        s.tenant = tenant.clone();
    }
    for s in &mut inv.sectors {
        s.tenant = tenant.clone();
    }
    for d in &mut inv.devices {
        d.tenant = tenant.clone();
    }
    for l in &mut inv.links {
        l.tenant = tenant.clone();
    }
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("v.db").to_str().unwrap())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.import_inventory(&inv).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let cfg = WorkerConfig {
        consumer: support::bus_contract::unique("w"),
        filter: format!("vigie.tel.{tenant}.>"),
        fetch_wait: StdDuration::from_millis(50),
        ..WorkerConfig::default()
    };
    let dlq_from = bus.last_seq(Stream::Dlq).await.unwrap() + 1;
    let mut worker = Worker::start(Arc::clone(&bus), Arc::clone(&store), Clock::system(), cfg)
        .await
        .unwrap();

    let now = Utc::now();
    let mut sent = Vec::new();
    for (i, d) in inv.devices.iter().cycle().take(1_500).enumerate() {
        let body = if i < inv.devices.len() {
            Telemetry::Heartbeat(Heartbeat {
                uptime_s: 10,
                name: None,
                firmware: None,
                interval_s: Some(60),
            })
        } else {
            Telemetry::Metrics(Metrics {
                cpu_pct: 5.0,
                mem_pct: 10.0,
                rx_bps: 1,
                tx_bps: 2,
                temp_c: None,
            })
        };
        let env = Envelope {
            id: MsgId::parse(&format!("{tenant}-{i}")).unwrap(),
            ts: now - Duration::milliseconds(1_500 - i as i64),
            tenant: tenant.clone(),
            device: d.id.clone(),
            body,
        };
        bus.publish(&env.subject(), env.id.as_str(), Bytes::from(encode(&env)))
            .await
            .unwrap();
        sent.push(env);
    }
    let metrics = (1_500 - inv.devices.len()) as u64;
    // A producer retry: the same messages under new bus ids.
    for env in sent.iter().skip(inv.devices.len()).take(100) {
        bus.publish(
            &env.subject(),
            &format!("retry-{}", env.id),
            Bytes::from(encode(env)),
        )
        .await
        .unwrap();
    }
    let bad_subject = format!("vigie.tel.{tenant}.{}.metrics", inv.devices[0].id);
    bus.publish(
        &bad_subject,
        &format!("{tenant}-bad"),
        Bytes::from_static(b"{\"v\":1,"),
    )
    .await
    .unwrap();

    let deadline = std::time::Instant::now() + StdDuration::from_secs(60);
    loop {
        worker.step().await.unwrap();
        worker.flush().await.unwrap();
        if store
            .ingest_counts(&Scope::Tenant(tenant.clone()))
            .await
            .unwrap()
            .metrics
            >= metrics
            && worker
                .stats()
                .dead_lettered
                .load(std::sync::atomic::Ordering::Relaxed)
                >= 1
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not ingested within 60 s"
        );
    }
    // Whatever is still queued is drained; nothing more gets stored.
    while worker.step().await.unwrap().fetched > 0 {}
    worker.flush().await.unwrap();
    let counts = store
        .ingest_counts(&Scope::Tenant(tenant.clone()))
        .await
        .unwrap();
    assert_eq!(counts.metrics, metrics, "stored exactly once");
    assert_eq!(
        worker
            .stats()
            .duplicates
            .load(std::sync::atomic::Ordering::Relaxed),
        100
    );
    let online = store
        .status_counts(&Scope::Tenant(tenant.clone()))
        .await
        .unwrap()
        .online;
    assert_eq!(online as usize, inv.devices.len());
    assert_eq!(
        worker.state().status(&tenant, &inv.devices[0].id),
        Some(DeviceStatus::Online)
    );

    let mut dlq = bus
        .follow(Stream::Dlq, "vigie.dlq.>", dlq_from)
        .await
        .unwrap();
    let found = tokio::time::timeout(StdDuration::from_secs(10), async {
        loop {
            let m = dlq.next().await.expect("the DLQ stream is open");
            let letter: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
            if letter["subject"] == bad_subject.as_str() {
                return (m.subject, letter);
            }
        }
    })
    .await
    .expect("the bad message reaches the DLQ");
    assert_eq!(found.0, "vigie.dlq.malformed-json");
    assert_eq!(found.1["payload"], "{\"v\":1,");
}
