//! Ingest throughput of the in-process pipeline into SQLite, against a plain
//! rusqlite prepared-insert baseline measured in the same run.
//!
//! `cargo bench --bench pipeline` (env `EVENTS`, default 400000).
//!
//! Pipeline: simulated telemetry (encoded JSON) already on the in-process
//! bus → worker: fetch, decode, validate, state machines and rules, one
//! multi-row transaction per batch, derived events, ack. Timed from the
//! first fetch to the last ack.
//! Baseline: the same number of metric rows inserted into the same schema
//! with one prepared INSERT per row, one transaction per 2,000 rows — the
//! raw storage cost without any of the pipeline's work.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use vigie::bus::Bus;
use vigie::bus::envelope::{Envelope, encode};
use vigie::bus::memory::{MemoryBus, MemoryLimits};
use vigie::bus::telemetry::{Metrics, Telemetry};
use vigie::sim::{SimConfig, Simulator};
use vigie::store::Store;
use vigie::store::sqlite::SqliteStore;
use vigie::worker::{Clock, Worker, WorkerConfig};

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

/// `n` messages of the simulated fleet's real mix.
fn sim_mix(n: usize) -> (vigie::domain::model::Inventory, Vec<Envelope>) {
    let cfg = SimConfig::default();
    let mut sim = Simulator::new(&cfg, vigie::sim::plan(cfg.seed, 2_000), start());
    let inv = sim.inventory().clone();
    let mut out = Vec::with_capacity(n);
    let mut t = start();
    while out.len() < n {
        t += chrono::Duration::seconds(30);
        out.extend(sim.due(t, n - out.len()));
    }
    out.truncate(n);
    (inv, out)
}

/// `n` metrics messages spread over the same fleet.
fn metrics_only(inv: &vigie::domain::model::Inventory, n: usize) -> Vec<Envelope> {
    (0..n)
        .map(|i| {
            let d = &inv.devices[i % inv.devices.len()];
            Envelope {
                id: vigie::bus::envelope::MsgId::parse(&format!("bench-m-{i}")).unwrap(),
                ts: start() + chrono::Duration::milliseconds(i as i64),
                tenant: d.tenant.clone(),
                device: d.id.clone(),
                body: Telemetry::Metrics(Metrics {
                    cpu_pct: (i % 80) as f32,
                    mem_pct: 40.0,
                    rx_bps: 1_000_000,
                    tx_bps: 200_000,
                    temp_c: None,
                }),
            }
        })
        .collect()
}

async fn pipeline(label: &str, inv: &vigie::domain::model::Inventory, msgs: &[Envelope]) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("bench.db").to_str().unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    store.import_inventory(inv).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::new(MemoryLimits {
        max_msgs: msgs.len() + 10,
        dedupe_window: Duration::from_secs(600),
    }));
    for m in msgs {
        bus.publish(&m.subject(), m.id.as_str(), Bytes::from(encode(m))).await.unwrap();
    }
    let (clock, _) = Clock::manual(start());
    let cfg = WorkerConfig {
        batch_size: 4_000,
        fetch_wait: Duration::from_millis(1),
        ..WorkerConfig::default()
    };
    let mut worker = Worker::start(Arc::clone(&bus), Arc::clone(&store), clock, cfg).await.unwrap();
    let stats = worker.stats();
    let t = Instant::now();
    let mut done = 0;
    while done < msgs.len() {
        done += worker.step().await.unwrap().fetched;
    }
    let secs = t.elapsed().as_secs_f64();
    let rate = msgs.len() as f64 / secs;
    let rows = store.ingest_counts(&vigie::store::Scope::All).await.unwrap().total();
    println!(
        "pipeline  {label:<14} {:>8} events in {secs:>6.3} s = {:>9.0} events/s ({rows} telemetry rows, {} dead-lettered, {} batches)",
        msgs.len(),
        rate,
        stats.dead_lettered.load(std::sync::atomic::Ordering::Relaxed),
        stats.batches.load(std::sync::atomic::Ordering::Relaxed),
    );
    rate
}

fn baseline(inv: &vigie::domain::model::Inventory, msgs: &[Envelope]) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = rusqlite::Connection::open(dir.path().join("baseline.db")).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;")
        .unwrap();
    for m in vigie::store::migrate::SQLITE {
        conn.execute_batch(m.sql).unwrap();
    }
    let rows: Vec<_> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| (m.tenant.to_string(), m.id.to_string(), inv.devices[i % inv.devices.len()].id.to_string(), m.ts.timestamp_millis()))
        .collect();
    let t = Instant::now();
    for chunk in rows.chunks(2_000) {
        let tx = conn.transaction().unwrap();
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO metric_samples (tenant_id, msg_id, device_id, ts, cpu_pct, mem_pct, rx_bps, tx_bps)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .unwrap();
            for (tenant, id, device, ts) in chunk {
                stmt.execute(rusqlite::params![tenant, id, device, ts, 12.5, 40.0, 1_000_000i64, 200_000i64])
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    let rate = rows.len() as f64 / secs;
    println!(
        "baseline  rusqlite prepared {:>8} rows   in {secs:>6.3} s = {:>9.0} rows/s",
        rows.len(),
        rate
    );
    rate
}

fn main() {
    let n: usize = std::env::var("EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(400_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (inv, mix) = sim_mix(n);
    let metrics = metrics_only(&inv, n);
    println!("machine: {} cores; {n} events per run", std::thread::available_parallelism().map_or(0, |p| p.get()));
    let base = baseline(&inv, &metrics);
    let mix_rate = rt.block_on(pipeline("simulated mix", &inv, &mix));
    let metrics_rate = rt.block_on(pipeline("metrics only", &inv, &metrics));
    println!(
        "ratio     simulated mix {:.0}% of baseline; metrics only {:.0}% of baseline",
        100.0 * mix_rate / base,
        100.0 * metrics_rate / base
    );
}
