//! Nothing is lost: the real `vigie worker` against a nats-server of the
//! test's own and PostgreSQL, while the worker is killed, NATS is killed,
//! PostgreSQL is stopped, and a tenth of the input is malformed.
//!
//! Under `CI=true` a missing nats-server or PostgreSQL fails these tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use vigie::bus::OutMessage;
use vigie::bus::envelope::{Envelope, MsgId, encode};
use vigie::bus::nats::NatsBus;
use vigie::bus::{Bus, Stream};
use vigie::domain::model::Inventory;
use vigie::domain::telemetry::{Heartbeat, Metrics, Telemetry};
use vigie::store::postgres::PgStore;
use vigie::store::{Scope, Store};

use support::cluster::{NatsServer, TempPg, WorkerProc};
use support::services::{PgSchema, pg_schema};

/// `n` metrics envelopes over the fleet, stamped over the last minute.
fn metrics(inv: &Inventory, n: usize, tag: &str) -> Vec<Envelope> {
    vigie::sim::workload::metrics(inv, n, tag, Utc::now())
}

/// Publishes raw messages with their bus ids, many acks in flight.
async fn publish_raw(url: &str, messages: Vec<(String, String, Bytes)>) {
    let bus = NatsBus::connect_and_setup(url).await.unwrap();
    let out = messages
        .into_iter()
        .map(|(subject, msg_id, payload)| OutMessage {
            subject,
            msg_id,
            payload,
        })
        .collect();
    bus.publish_all(out).await.unwrap();
}

async fn publish(url: &str, envelopes: &[Envelope]) {
    let raw = envelopes
        .iter()
        .map(|e| (e.subject(), e.id.to_string(), Bytes::from(encode(e))))
        .collect();
    publish_raw(url, raw).await;
}

/// Streams on the test's server, a schema with the fleet on PostgreSQL.
async fn setup(nats: &NatsServer, db: Option<&str>) -> Option<(Arc<dyn Store>, Inventory, Setup)> {
    NatsBus::connect_and_setup(&nats.url()).await.unwrap();
    let inv = vigie::sim::plan(7, 150).inventory;
    let (store, keep): (PgStore, Setup) = match db {
        Some(url) => (
            PgStore::open(url).await.unwrap(),
            Setup::Own(url.to_string()),
        ),
        None => {
            let schema = pg_schema().await?;
            let store = PgStore::connect_with(schema.options.clone()).await.unwrap();
            (store, Setup::Schema(Box::new(schema)))
        }
    };
    store.migrate().await.unwrap();
    store.import_inventory(&inv).await.unwrap();
    Some((Arc::new(store), inv, keep))
}

enum Setup {
    Schema(Box<PgSchema>),
    Own(String),
}

impl Setup {
    fn url(&self) -> String {
        match self {
            Setup::Schema(s) => s.url(),
            Setup::Own(u) => u.clone(),
        }
    }
}

async fn stored(store: &Arc<dyn Store>) -> u64 {
    store
        .ingest_counts(&Scope::All)
        .await
        .map(|c| c.metrics)
        .unwrap_or(0)
}

/// Waits until `stored` reaches `n`, failing with the worker's log.
async fn wait_stored(store: &Arc<dyn Store>, n: u64, within: Duration, worker: &WorkerProc) {
    let deadline = Instant::now() + within;
    loop {
        let have = stored(store).await;
        if have >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{have} of {n} stored after {within:?}; worker log:\n{}",
            worker.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn no_duplicate_open_incidents(store: &Arc<dyn Store>) {
    let open = store.incident_queue(&Scope::All, u32::MAX).await.unwrap();
    let mut keys: HashMap<(String, String), u32> = HashMap::new();
    for i in &open {
        *keys
            .entry((i.tenant.to_string(), i.dedup_key.clone()))
            .or_default() += 1;
    }
    assert!(
        keys.values().all(|&n| n == 1),
        "duplicate open incidents: {keys:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_worker_three_times_loses_nothing() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let Some((store, inv, db)) = setup(&nats, None).await else {
        return;
    };
    const N: usize = 200_000;
    publish(&nats.url(), &metrics(&inv, N, "k")).await;
    let mut worker = WorkerProc::spawn(&nats.url(), &db.url(), "vigie-worker");
    for k in 1..=3u64 {
        // Kill it mid-ingest, each time further along.
        wait_stored(&store, k * 40_000, Duration::from_secs(180), &worker).await;
        worker.kill9();
        worker = WorkerProc::spawn(&nats.url(), &db.url(), "vigie-worker");
    }
    wait_stored(&store, N as u64, Duration::from_secs(300), &worker).await;
    // Give redeliveries of the last batches time to arrive: still N.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        stored(&store).await,
        N as u64,
        "stored unique rows == published"
    );
    no_duplicate_open_incidents(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_nats_mid_ingest_loses_nothing() {
    let Some(mut nats) = NatsServer::start() else {
        return;
    };
    let Some((store, inv, db)) = setup(&nats, None).await else {
        return;
    };
    let all = metrics(&inv, 60_000, "n");
    publish(&nats.url(), &all[..30_000]).await;
    let worker = WorkerProc::spawn(&nats.url(), &db.url(), "vigie-worker");
    wait_stored(&store, 5_000, Duration::from_secs(120), &worker).await;
    nats.kill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    nats.restart();
    publish(&nats.url(), &all[30_000..]).await;
    wait_stored(&store, 60_000, Duration::from_secs(180), &worker).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(stored(&store).await, 60_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_postgres_mid_ingest_stops_acks_and_loses_nothing() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let Some(mut pg) = TempPg::start() else {
        return;
    };
    let Some((store, inv, db)) = setup(&nats, Some(&pg.url())).await else {
        return;
    };
    let all = metrics(&inv, 60_000, "p");
    publish(&nats.url(), &all[..30_000]).await;
    let worker = WorkerProc::spawn(&nats.url(), &db.url(), "vigie-worker");
    wait_stored(&store, 5_000, Duration::from_secs(120), &worker).await;
    pg.stop();
    publish(&nats.url(), &all[30_000..]).await;
    // The worker notices and says it is not ready.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((503, body)) = worker.get("/readyz") {
            assert!(body.contains("database"), "{body}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz stayed ready; log:\n{}",
            worker.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    pg.start_again();
    wait_stored(&store, 60_000, Duration::from_secs(180), &worker).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while worker.get("/readyz").map(|r| r.0) != Some(200) {
        assert!(Instant::now() < deadline, "/readyz never ready again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(stored(&store).await, 60_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenth_malformed_all_dead_lettered_with_reasons_the_rest_stored() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let Some((store, inv, db)) = setup(&nats, None).await else {
        return;
    };
    const N: usize = 10_000;
    let good = metrics(&inv, N, "m");
    let mut raw = Vec::with_capacity(N);
    let mut expected: HashMap<&str, usize> = HashMap::new();
    let mut good_count = 0u64;
    for (i, e) in good.iter().enumerate() {
        let subject = e.subject();
        let id = e.id.to_string();
        let payload = match (i % 10, (i / 10) % 4) {
            (0, 0) => {
                *expected.entry("malformed-json").or_default() += 1;
                Bytes::from_static(b"{\"v\":1,\"id\":")
            }
            (0, 1) => {
                *expected.entry("schema").or_default() += 1;
                let text = String::from_utf8(encode(e)).unwrap();
                Bytes::from(text.replace("\"cpu_pct\":", "\"cpu_pct\":\"high\",\"x\":"))
            }
            (0, 2) => {
                *expected.entry("oversized").or_default() += 1;
                Bytes::from(vec![b' '; vigie::bus::envelope::MAX_BYTES + 1])
            }
            (0, 3) => {
                *expected.entry("not-utf8").or_default() += 1;
                let mut bytes = encode(e);
                bytes.insert(10, 0xff);
                Bytes::from(bytes)
            }
            _ => {
                good_count += 1;
                Bytes::from(encode(e))
            }
        };
        raw.push((subject, id, payload));
    }
    publish_raw(&nats.url(), raw).await;
    let worker = WorkerProc::spawn(&nats.url(), &db.url(), "vigie-worker");
    wait_stored(&store, good_count, Duration::from_secs(180), &worker).await;
    let bus = NatsBus::connect_and_setup(&nats.url()).await.unwrap();
    let bad: usize = expected.values().sum();
    assert_eq!(bad, N / 10);
    let mut dlq = bus.follow(Stream::Dlq, "vigie.dlq.>", 1).await.unwrap();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let got = tokio::time::timeout(Duration::from_secs(60), async {
        for _ in 0..bad {
            let m = dlq.next().await.expect("DLQ open");
            let letter: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
            let reason = letter["reason"].as_str().unwrap().to_string();
            assert_eq!(m.subject, format!("vigie.dlq.{reason}"));
            assert!(letter["error"].as_str().is_some_and(|e| !e.is_empty()));
            *seen.entry(reason).or_default() += 1;
        }
    })
    .await;
    assert!(got.is_ok(), "only {seen:?} of {expected:?} reached the DLQ");
    let expected: HashMap<String, usize> = expected
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(seen, expected);
    assert_eq!(
        stored(&store).await,
        good_count,
        "every good message stored"
    );
    assert_eq!(
        bus.last_seq(Stream::Dlq).await.unwrap(),
        bad as u64,
        "nothing else dead-lettered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_partitioned_workers_share_the_load_and_keep_device_order() {
    let Some(nats) = NatsServer::start_partitioned(2) else {
        return;
    };
    let Some((store, inv, db)) = setup(&nats, None).await else {
        return;
    };
    // Per device: heartbeats in time order, and metrics (some over the CPU
    // threshold, so that alerts and incidents open on both workers).
    // Stored with millisecond precision.
    let start = chrono::DateTime::from_timestamp_millis(
        (Utc::now() - chrono::Duration::seconds(120)).timestamp_millis(),
    )
    .unwrap();
    let mut msgs = metrics(&inv, 20_000, "s");
    for round in 0..10i64 {
        for (i, d) in inv.devices.iter().enumerate() {
            msgs.push(Envelope {
                id: MsgId::parse(&format!("hb-{round}-{i}")).unwrap(),
                ts: start + chrono::Duration::seconds(10 * round),
                tenant: d.tenant.clone(),
                device: d.id.clone(),
                body: Telemetry::Heartbeat(Heartbeat {
                    uptime_s: 100 + 10 * round as u64,
                    name: None,
                    firmware: None,
                    interval_s: Some(60),
                }),
            });
        }
    }
    // Thirty devices (on both partitions, several sites) run hot.
    for (i, d) in inv.devices.iter().take(30).enumerate() {
        for k in 0..5i64 {
            msgs.push(Envelope {
                id: MsgId::parse(&format!("hot-{i}-{k}")).unwrap(),
                ts: start + chrono::Duration::seconds(95 + k),
                tenant: d.tenant.clone(),
                device: d.id.clone(),
                body: Telemetry::Metrics(Metrics {
                    cpu_pct: 99.0,
                    mem_pct: 40.0,
                    rx_bps: 1,
                    tx_bps: 1,
                    temp_c: None,
                }),
            });
        }
    }
    let samples = 20_000 + 30 * 5;
    publish(&nats.url(), &msgs).await;
    let w0 = WorkerProc::spawn_with(
        &nats.url(),
        &db.url(),
        "vigie-worker",
        &["--partition", "0", "--partitions", "2"],
    );
    let w1 = WorkerProc::spawn_with(
        &nats.url(),
        &db.url(),
        "vigie-worker",
        &["--partition", "1", "--partitions", "2"],
    );
    wait_stored(&store, samples, Duration::from_secs(180), &w0).await;
    let total = msgs.len() as u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut a, mut b) = (0, 0);
    while a + b < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        a = w0.metric("vigie_messages_accepted_total").unwrap_or(0);
        b = w1.metric("vigie_messages_accepted_total").unwrap_or(0);
    }
    assert_eq!(a + b, total, "every message taken once between the two");
    assert!(
        a > total / 5 && b > total / 5,
        "both share the load: {a} and {b}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(stored(&store).await, samples);
    // Each device's last heartbeat is the newest one: its messages were
    // applied in order by the one worker that owns its partition. Value
    // changes (last seen, uptime) are written at most every live interval,
    // and at idle by the next sweep: wait for that, then compare.
    let last = start + chrono::Duration::seconds(90);
    let deadline = Instant::now() + Duration::from_secs(15);
    let states = loop {
        let states = store.device_states(&Scope::All).await.unwrap();
        let settled = states
            .iter()
            .all(|s| s.last_seen == Some(last) && s.uptime_s == Some(190));
        if settled || Instant::now() >= deadline {
            break states;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(states.len(), inv.devices.len());
    for s in &states {
        assert_eq!(s.last_seen, Some(last), "{} out of order", s.device);
        assert_eq!(s.uptime_s, Some(190));
    }
    no_duplicate_open_incidents(&store).await;
    assert!(
        !store
            .incident_queue(&Scope::All, 10)
            .await
            .unwrap()
            .is_empty(),
        "the CPU alerts opened incidents"
    );
}

/// The worker's own idea of a device's partition is the server's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_of_agrees_with_the_server_mapping() {
    use vigie::bus::{ConsumerOptions, subject};
    let Some(nats) = NatsServer::start_partitioned(7) else {
        return;
    };
    let bus = NatsBus::connect_and_setup(&nats.url()).await.unwrap();
    let mut c = bus
        .consumer(
            Stream::Telemetry,
            "probe",
            "vigie.tel.*.*.*.*",
            ConsumerOptions::default(),
        )
        .await
        .unwrap();
    let inv = vigie::sim::plan(3, 200).inventory;
    for d in &inv.devices {
        let s = format!("vigie.tel.{}.{}.log", d.tenant, d.id);
        bus.publish(&s, &format!("p-{}", d.id), Bytes::from_static(b"x"))
            .await
            .unwrap();
    }
    let mut seen = 0;
    while seen < inv.devices.len() {
        let got = c.fetch(1_000, Duration::from_secs(2)).await.unwrap();
        assert!(!got.is_empty(), "{seen} of {} delivered", inv.devices.len());
        for m in got {
            let t = subject::parse_telemetry(&m.subject).unwrap();
            let k: u32 = m.subject.rsplit('.').next().unwrap().parse().unwrap();
            let (tenant, device) = (
                vigie::domain::Id::parse(t.tenant).unwrap(),
                vigie::domain::Id::parse(t.device).unwrap(),
            );
            assert_eq!(
                subject::partition_of(&tenant, &device, 7),
                k,
                "{}",
                m.subject
            );
            seen += 1;
        }
    }
}
