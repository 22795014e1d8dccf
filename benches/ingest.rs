//! The worker on NATS JetStream and PostgreSQL, with its anchors measured
//! side by side in one run on the same machine:
//!
//! - raw consume: the same messages pulled from JetStream in batches with
//!   one ack per batch (AckAll): the bus's limit;
//! - raw COPY: the same rows copied into the same PostgreSQL table;
//! - worker → PostgreSQL over TCP, and over the unix socket;
//! - worker → SQLite (file, WAL);
//! - worker → SQLite on a secure deployment (`vigie nats init`'s JWT
//!   users: the simulator's credentials publish, the worker's consume);
//! - the outbox's cost: the simulated mix into PostgreSQL with three
//!   destinations attached against none;
//! - latency (event time → committed) at half the measured worker rate;
//! - the real `vigie worker` binary's peak RSS with 100k devices live.
//!
//! `cargo bench --bench ingest` (env `EVENTS`, default 400000; `PG_URL`,
//! default postgres://postgres@127.0.0.1:5432/vigie_bench; `PG_SOCKET`,
//! default /var/run/postgresql; `RSS_DEVICES`, default 100000, 0 skips;
//! `DESTINATIONS`, default 3, 0 skips: the simulated mix into PostgreSQL
//! with that many destinations attached against none, two pairs).
//! It starts a nats-server of its own on a free port, and works in a
//! PostgreSQL schema `bench_*` that it drops afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::AckPolicy, consumer::pull};
use bytes::Bytes;
use chrono::Utc;
use futures_util::StreamExt;
use sqlx::Connection;
use sqlx::postgres::PgConnectOptions;
use vigie::bus::envelope::{Envelope, MsgId, encode};
use vigie::bus::nats::{NatsAuth, NatsBus};
use vigie::bus::{Bus, OutMessage, Stream, StreamLimits};
use vigie::clock::Clock;
use vigie::domain::model::Inventory;
use vigie::domain::telemetry::{Heartbeat, Metrics, Telemetry};
use vigie::store::postgres::PgStore;
use vigie::store::sqlite::SqliteStore;
use vigie::store::{Scope, Store};
use vigie::worker::{Worker, WorkerConfig};

#[path = "support/nats.rs"]
mod nats;
#[path = "support/outbound.rs"]
mod outbound;
use nats::Nats;

fn env_or<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A schema of the benchmark's own; dropped by [`drop_schema`].
async fn schema(base: &str, name: &str) -> PgConnectOptions {
    let mut c = sqlx::PgConnection::connect(base).await.unwrap();
    for sql in [
        format!("DROP SCHEMA IF EXISTS {name} CASCADE"),
        format!("CREATE SCHEMA {name}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut c)
            .await
            .unwrap();
    }
    PgConnectOptions::from_str(base)
        .unwrap()
        .options([("search_path", name)])
}

async fn drop_schema(base: &str, name: &str) {
    let mut c = sqlx::PgConnection::connect(base).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {name} CASCADE"
    )))
    .execute(&mut c)
    .await
    .unwrap();
}

async fn ensure_database(url: &str) {
    if sqlx::PgConnection::connect(url).await.is_ok() {
        return;
    }
    let (server, db) = url.rsplit_once('/').unwrap();
    let db = db.split('?').next().unwrap();
    let mut c = sqlx::PgConnection::connect(&format!("{server}/postgres"))
        .await
        .expect("PostgreSQL reachable (scripts/services.sh starts it)");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut c)
        .await
        .unwrap();
}

/// `n` metrics messages over the fleet, stamped over the last minute.
fn metrics(inv: &Inventory, n: usize, tag: &str) -> Vec<Envelope> {
    vigie::sim::workload::metrics(inv, n, tag, Utc::now())
}

/// Publishes as the product does (`Bus::publish_all`); returns messages
/// per second.
async fn publish(bus: &NatsBus, msgs: &[Envelope]) -> f64 {
    let out = msgs
        .iter()
        .map(|m| OutMessage {
            subject: m.subject(),
            msg_id: m.id.to_string(),
            payload: Bytes::from(encode(m)),
        })
        .collect();
    let t = Instant::now();
    bus.publish_all(out).await.unwrap();
    msgs.len() as f64 / t.elapsed().as_secs_f64()
}

/// Raw consume: batch fetch, then one AckAll per batch, or an ack per
/// message (published back to back, one flush per batch).
async fn raw_consume(
    js: &jetstream::Context,
    client: &async_nats::Client,
    n: usize,
    ack_all: bool,
) -> f64 {
    let stream = js.get_stream(Stream::Telemetry.name()).await.unwrap();
    let consumer = stream
        .create_consumer(pull::Config {
            durable_name: Some(
                if ack_all {
                    "bench-raw-all"
                } else {
                    "bench-raw-each"
                }
                .into(),
            ),
            ack_policy: if ack_all {
                AckPolicy::All
            } else {
                AckPolicy::Explicit
            },
            max_ack_pending: 100_000,
            ..Default::default()
        })
        .await
        .unwrap();
    let t = Instant::now();
    let mut got = 0;
    while got < n {
        let mut batch = consumer
            .fetch()
            .max_messages(10_000)
            .messages()
            .await
            .unwrap();
        let mut last = None;
        while let Some(m) = batch.next().await {
            got += 1;
            let m = m.unwrap();
            if !ack_all && let Some(reply) = m.reply.clone() {
                client
                    .publish(reply, Bytes::from_static(b"+ACK"))
                    .await
                    .unwrap();
            }
            last = Some(m);
        }
        if ack_all {
            if let Some(m) = last {
                m.ack().await.unwrap();
            }
        } else {
            client.flush().await.unwrap();
        }
    }
    n as f64 / t.elapsed().as_secs_f64()
}

/// Raw COPY of the same rows into the same partitioned table.
async fn raw_copy(opts: &PgConnectOptions, msgs: &[Envelope]) -> f64 {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(msgs.len() * 96);
    for m in msgs {
        if let Telemetry::Metrics(x) = &m.body {
            let _ = writeln!(
                text,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                m.tenant,
                m.id,
                m.device,
                m.ts.timestamp_millis(),
                x.cpu_pct,
                x.mem_pct,
                x.rx_bps,
                x.tx_bps
            );
        }
    }
    let mut c = sqlx::PgConnection::connect_with(opts).await.unwrap();
    let t = Instant::now();
    let mut copy = c
        .copy_in_raw(
            "COPY metric_samples (tenant_id, msg_id, device_id, ts, cpu_pct, mem_pct, rx_bps, tx_bps) FROM STDIN",
        )
        .await
        .unwrap();
    for chunk in text.as_bytes().chunks(1 << 20) {
        copy.send(chunk).await.unwrap();
    }
    copy.finish().await.unwrap();
    msgs.len() as f64 / t.elapsed().as_secs_f64()
}

struct Run {
    rate: f64,
    max_commit_ms: f64,
    mean_commit_ms: f64,
    batches: u64,
}

/// The worker from the first fetch until every message is stored and acked.
async fn worker_run(nats: &str, store: Arc<dyn Store>, consumer: &str, n: usize) -> Run {
    let bus: Arc<dyn Bus> = Arc::new(NatsBus::connect_and_setup(nats).await.unwrap());
    worker_run_on(bus, store, consumer, n).await
}

/// The same on `bus`.
async fn worker_run_on(bus: Arc<dyn Bus>, store: Arc<dyn Store>, consumer: &str, n: usize) -> Run {
    worker_run_at(bus, store, consumer, n, Clock::system()).await
}

/// The same with the worker's clock `clock`.
async fn worker_run_at(
    bus: Arc<dyn Bus>,
    store: Arc<dyn Store>,
    consumer: &str,
    n: usize,
    clock: Clock,
) -> Run {
    let cfg = WorkerConfig {
        consumer: consumer.into(),
        fetch_wait: Duration::from_millis(5),
        batch_size: env_or("BATCH", 10_000),
        ..WorkerConfig::default()
    };
    let mut worker = Worker::start(bus, store, clock, cfg).await.unwrap();
    let stats = worker.stats();
    let t = Instant::now();
    let mut done = 0;
    while done < n {
        done += worker.step().await.unwrap().fetched;
    }
    worker.flush().await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    let batches = stats.batches.load(Ordering::Relaxed).max(1);
    Run {
        rate: n as f64 / secs,
        max_commit_ms: stats.max_commit_us.load(Ordering::Relaxed) as f64 / 1000.0,
        mean_commit_ms: stats.commit_us_total.load(Ordering::Relaxed) as f64
            / 1000.0
            / batches as f64,
        batches,
    }
}

async fn pg_store(opts: PgConnectOptions, inv: &Inventory) -> Arc<dyn Store> {
    let store = PgStore::connect_with(opts).await.unwrap();
    store.migrate().await.unwrap();
    store.import_inventory(inv).await.unwrap();
    Arc::new(store)
}

/// Publishes at `rate` for `secs` while a worker ingests; returns the
/// event-time → committed p50 and p99 bucket bounds (ms) and the count.
async fn latency(
    nats: &str,
    js: &jetstream::Context,
    store: Arc<dyn Store>,
    inv: &Inventory,
    rate: f64,
    secs: u64,
) -> (u64, u64, u64) {
    let bus: Arc<dyn Bus> = Arc::new(NatsBus::connect_and_setup(nats).await.unwrap());
    let cfg = WorkerConfig {
        consumer: "bench-latency".into(),
        ..WorkerConfig::default()
    };
    let worker = Worker::start(bus, store, Clock::system(), cfg)
        .await
        .unwrap();
    let stats = worker.stats();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let run = tokio::spawn(worker.run(stop_rx));
    let total = (rate * secs as f64) as usize;
    let per_tick = (rate / 100.0).max(1.0) as usize;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let mut sent = 0;
    let mut acks = Vec::new();
    while sent < total {
        tick.tick().await;
        let now = Utc::now();
        for i in sent..(sent + per_tick).min(total) {
            let d = &inv.devices[i % inv.devices.len()];
            let m = Envelope {
                id: MsgId::parse(&format!("lat-{i}")).unwrap(),
                ts: now,
                tenant: d.tenant.clone(),
                device: d.id.clone(),
                body: Telemetry::Metrics(Metrics {
                    cpu_pct: 10.0,
                    mem_pct: 40.0,
                    rx_bps: 1,
                    tx_bps: 1,
                    temp_c: None,
                }),
            };
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", m.id.as_str());
            acks.push(
                js.publish_with_headers(m.subject(), headers, Bytes::from(encode(&m)))
                    .await
                    .unwrap(),
            );
        }
        sent = (sent + per_tick).min(total);
        if acks.len() > 2_000 {
            for a in acks.drain(..) {
                a.await.unwrap();
            }
        }
    }
    for a in acks {
        a.await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while stats.latency.total() < total as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop_tx.send(true);
    let _ = run.await;
    (
        stats.latency.quantile_bound_ms(0.5).unwrap_or(0),
        stats.latency.quantile_bound_ms(0.99).unwrap_or(0),
        stats.latency.total(),
    )
}

/// Empties the telemetry stream.
async fn purge(js: &jetstream::Context) {
    js.get_stream(Stream::Telemetry.name())
        .await
        .unwrap()
        .purge()
        .await
        .unwrap();
}

/// What the outbox costs on PostgreSQL: the simulated fleet's mix (whose
/// incidents, alerts and status changes become outbound events) through
/// the worker into PostgreSQL over TCP, without destinations and with
/// `destinations` provider-wide ones attached, in alternating pairs.
/// Replaces the telemetry stream's content.
async fn outbox_cost(
    nats: &str,
    js: &jetstream::Context,
    base: &str,
    n: usize,
    destinations: usize,
) {
    purge(js).await;
    let (inv, mix) = vigie::sim::workload::mix(2_000, n, Utc::now());
    let newest = mix.iter().map(|m| m.ts).max().unwrap_or_else(Utc::now);
    publish(&NatsBus::connect_and_setup(nats).await.unwrap(), &mix).await;
    let mut rates = [Vec::new(), Vec::new()];
    for pair in 0..2 {
        for (with, count) in [(0, 0), (1, destinations)] {
            let name = format!("bench_outbox_{pair}_{count}");
            let opts = schema(base, &name).await;
            let store = pg_store(opts, &inv).await;
            let ids = outbound::attach(&*store, count, newest).await;
            let bus: Arc<dyn Bus> = Arc::new(NatsBus::connect_and_setup(nats).await.unwrap());
            let (clock, _) = Clock::manual(newest);
            let run = worker_run_at(
                bus,
                Arc::clone(&store),
                &name.replace('_', "-"),
                mix.len(),
                clock,
            )
            .await;
            let queued = outbound::queued(&*store, &ids).await;
            println!(
                "worker -> PostgreSQL, TCP, simulated mix, {count} destinations: {:>9.0} events/s ({queued} outbox rows; commit mean {:.1} ms, slowest {:.1} ms)",
                run.rate, run.mean_commit_ms, run.max_commit_ms
            );
            rates[with].push(run.rate);
            drop(store);
            drop_schema(base, &name).await;
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "{destinations} destinations attached: {:.0}% of the rate without (mean of two pairs)",
        100.0 * mean(&rates[1]) / mean(&rates[0])
    );
}

/// Peak RSS (kB) of the real `vigie worker` with `devices` devices live.
async fn worker_rss(nats: &Nats, base: &str, devices: usize) -> (u64, usize) {
    let name = "bench_rss";
    let opts = schema(base, name).await;
    let inv = vigie::sim::plan(11, devices).inventory;
    let n = inv.devices.len();
    let store = pg_store(opts, &inv).await;
    // Every device heard from, then a metrics message from each.
    let now = Utc::now();
    let mut msgs: Vec<Envelope> = inv
        .devices
        .iter()
        .enumerate()
        .map(|(i, d)| Envelope {
            id: MsgId::parse(&format!("rss-hb-{i}")).unwrap(),
            ts: now,
            tenant: d.tenant.clone(),
            device: d.id.clone(),
            body: Telemetry::Heartbeat(Heartbeat {
                uptime_s: 100,
                name: None,
                firmware: None,
                interval_s: Some(60),
            }),
        })
        .collect();
    msgs.extend(metrics(&inv, n, "rss-m"));
    publish(
        &NatsBus::connect_and_setup(&nats.url()).await.unwrap(),
        &msgs,
    )
    .await;
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-csearch_path%3D{name}");
    let config = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["worker", "--nats", &nats.url(), "--database", &url])
        .args(["--consumer", "bench-rss"])
        .env("VIGIE_CONFIG_DIR", config.path())
        .env("VIGIE_DATA_DIR", config.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while store.ingest_counts(&Scope::All).await.unwrap().metrics < n as u64
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A couple of sweeps with the whole fleet live.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    drop(store);
    drop_schema(base, name).await;
    (hwm, n)
}

fn main() {
    let n: usize = env_or("EVENTS", 400_000);
    let base: String = env_or(
        "PG_URL",
        "postgres://postgres@127.0.0.1:5432/vigie_bench".to_string(),
    );
    let socket: String = env_or("PG_SOCKET", "/var/run/postgresql".to_string());
    let rss_devices: usize = env_or("RSS_DEVICES", 100_000);
    let destinations: usize = env_or("DESTINATIONS", 3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        ensure_database(&base).await;
        let nats = Nats::start();
        let client = async_nats::connect(nats.url()).await.unwrap();
        let js = jetstream::new(client.clone());
        let bus = NatsBus::connect_and_setup(&nats.url()).await.unwrap();
        let inv = vigie::sim::plan(7, 2_000).inventory;
        let msgs = metrics(&inv, n, "b");
        println!(
            "machine: {} cores; {n} metrics messages; fleet of {} devices",
            std::thread::available_parallelism().map_or(0, |p| p.get()),
            inv.devices.len()
        );
        let pub_rate = publish(&bus, &msgs).await;
        println!("publish (Bus::publish_all)    {pub_rate:>9.0} msg/s");
        let consume = raw_consume(&js, &client, n, true).await;
        println!("raw consume (AckAll/batch)    {consume:>9.0} msg/s   <- the bus's limit");
        let each = raw_consume(&js, &client, n, false).await;
        println!("raw consume (ack each)        {each:>9.0} msg/s   (what the worker does: safe with pipelined batches and shared consumers)");

        let copy_opts = schema(&base, "bench_copy").await;
        pg_store(copy_opts.clone(), &inv).await;
        let copy = raw_copy(&copy_opts, &msgs).await;
        println!("raw COPY into PostgreSQL      {copy:>9.0} rows/s  <- the database's limit");
        drop_schema(&base, "bench_copy").await;

        let tcp_opts = schema(&base, "bench_tcp").await;
        let tcp = worker_run(&nats.url(), pg_store(tcp_opts, &inv).await, "bench-tcp", n).await;
        println!(
            "worker -> PostgreSQL, TCP     {:>9.0} events/s = {:.0}% of raw consume, {:.0}% of COPY; commit mean {:.1} ms, slowest {:.1} ms ({} batches)",
            tcp.rate,
            100.0 * tcp.rate / consume,
            100.0 * tcp.rate / copy,
            tcp.mean_commit_ms,
            tcp.max_commit_ms,
            tcp.batches
        );
        drop_schema(&base, "bench_tcp").await;

        let db = base.rsplit('/').next().unwrap_or("vigie_bench");
        let unix_url = format!("postgres:///{db}?host={socket}&user=postgres");
        let unix_opts = PgConnectOptions::from_str(&unix_url).unwrap();
        {
            let mut c = sqlx::PgConnection::connect_with(&unix_opts).await.unwrap();
            for sql in ["DROP SCHEMA IF EXISTS bench_unix CASCADE", "CREATE SCHEMA bench_unix"] {
                sqlx::query(sql).execute(&mut c).await.unwrap();
            }
        }
        let unix_opts = unix_opts.options([("search_path", "bench_unix")]);
        let unix = worker_run(&nats.url(), pg_store(unix_opts, &inv).await, "bench-unix", n).await;
        println!(
            "worker -> PostgreSQL, socket  {:>9.0} events/s; commit mean {:.1} ms, slowest {:.1} ms; TCP = {:.0}% of socket",
            unix.rate,
            unix.mean_commit_ms,
            unix.max_commit_ms,
            100.0 * tcp.rate / unix.rate
        );
        drop_schema(&base, "bench_unix").await;

        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(dir.path().join("bench.db").to_str().unwrap())
            .await
            .unwrap();
        sqlite.migrate().await.unwrap();
        sqlite.import_inventory(&inv).await.unwrap();
        let lite = worker_run(&nats.url(), Arc::new(sqlite), "bench-sqlite", n).await;
        println!(
            "worker -> SQLite              {:>9.0} events/s = {:.0}% of raw consume; slowest commit {:.1} ms",
            lite.rate,
            100.0 * lite.rate / consume,
            lite.max_commit_ms
        );

        // A secure deployment: JWT users, the simulator's credentials
        // publishing, the worker's consuming, as `vigie nats init` sets up.
        {
            let (secure, dir) = Nats::start_secure();
            let as_user = |file: &str| NatsAuth {
                creds: Some(dir.join("creds").join(file)),
                ..NatsAuth::default()
            };
            let worker_bus = NatsBus::connect_with(&secure.url(), &as_user("worker.creds"))
                .await
                .unwrap();
            worker_bus
                .configure_streams(&StreamLimits::default())
                .await
                .unwrap();
            let sim_bus = NatsBus::connect_with(&secure.url(), &as_user("sim.creds"))
                .await
                .unwrap();
            let secure_pub = publish(&sim_bus, &msgs).await;
            let sdir = tempfile::tempdir().unwrap();
            let sqlite = SqliteStore::open(sdir.path().join("bench.db").to_str().unwrap())
                .await
                .unwrap();
            sqlite.migrate().await.unwrap();
            sqlite.import_inventory(&inv).await.unwrap();
            let run = worker_run_on(Arc::new(worker_bus), Arc::new(sqlite), "bench-secure", n).await;
            println!(
                "secure deployment (JWT users): publish as the simulator {secure_pub:>9.0} msg/s = {:.0}% of open; worker -> SQLite {:>9.0} events/s = {:.0}% of open",
                100.0 * secure_pub / pub_rate,
                run.rate,
                100.0 * run.rate / lite.rate
            );
        }

        if destinations > 0 {
            outbox_cost(&nats.url(), &js, &base, n, destinations).await;
        }

        // The latency run starts from an empty stream.
        purge(&js).await;
        let lat_opts = schema(&base, "bench_latency").await;
        let half = tcp.rate / 2.0;
        let (p50, p99, count) =
            latency(&nats.url(), &js, pg_store(lat_opts, &inv).await, &inv, half, 20).await;
        println!(
            "latency at {half:.0} msg/s (half of the worker's rate) for 20 s: {count} messages, p50 <= {p50} ms, p99 <= {p99} ms (event time -> committed)"
        );
        drop_schema(&base, "bench_latency").await;

        if rss_devices > 0 {
            let (kb, devices) = worker_rss(&nats, &base, rss_devices).await;
            println!(
                "vigie worker peak RSS with {devices} devices live: {} MB",
                kb / 1024
            );
        }
    });
}
