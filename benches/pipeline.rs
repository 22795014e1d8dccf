//! Ingest throughput of the in-process pipeline into SQLite, against a plain
//! rusqlite prepared-insert baseline measured in the same run.
//!
//! `cargo bench --bench pipeline` (env `EVENTS`, default 400000;
//! `DESTINATIONS`, default 0: provider-wide destinations attached, for
//! which every outbound event is queued in the batch's transaction).
//!
//! Pipeline: simulated telemetry (encoded JSON) already on the in-process
//! bus → worker: fetch, decode, validate, state machines and rules, one
//! multi-row transaction per batch, derived events, ack. Timed from the
//! first fetch to the last ack.
//! Baseline: the same number of metric rows inserted into the same schema
//! with one prepared INSERT per row, one transaction per 2,000 rows — the
//! raw storage cost without any of the pipeline's work.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The allocator the vigie binary uses.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use vigie::bus::Bus;
use vigie::bus::envelope::{Envelope, encode};
use vigie::bus::memory::{MemoryBus, MemoryLimits};
use vigie::clock::Clock;
use vigie::domain::telemetry::{Metrics, Telemetry};
use vigie::store::Store;
use vigie::store::sqlite::SqliteStore;
use vigie::worker::{Worker, WorkerConfig};

#[path = "support/outbound.rs"]
mod outbound;

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

/// `n` messages of the simulated fleet's real mix.
fn sim_mix(n: usize) -> (vigie::domain::model::Inventory, Vec<Envelope>) {
    vigie::sim::workload::mix(2_000, n, start() + chrono::Duration::hours(1))
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
    let store = SqliteStore::open(dir.path().join("bench.db").to_str().unwrap())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.import_inventory(inv).await.unwrap();
    let destinations = attach_destinations(&store).await;
    let store: Arc<dyn Store> = Arc::new(store);
    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::new(MemoryLimits {
        max_msgs: msgs.len() + 10,
        dedupe_window: Duration::from_secs(600),
    }));
    for m in msgs {
        bus.publish(&m.subject(), m.id.as_str(), Bytes::from(encode(m)))
            .await
            .unwrap();
    }
    // The worker's clock stands at the newest message: nothing is from the
    // future (that would be dead-lettered as clock skew).
    let newest = msgs.iter().map(|m| m.ts).max().unwrap_or_else(start);
    let (clock, _) = Clock::manual(newest);
    let batch: usize = std::env::var("BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let cfg = WorkerConfig {
        batch_size: batch,
        fetch_wait: Duration::from_millis(1),
        ..WorkerConfig::default()
    };
    let mut worker = Worker::start(Arc::clone(&bus), Arc::clone(&store), clock, cfg)
        .await
        .unwrap();
    let stats = worker.stats();
    let t = Instant::now();
    let mut done = 0;
    while done < msgs.len() {
        done += worker.step().await.unwrap().fetched;
    }
    worker.flush().await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    let rate = msgs.len() as f64 / secs;
    let rows = store
        .ingest_counts(&vigie::store::Scope::All)
        .await
        .unwrap()
        .total();
    let queued = outbound::queued(&*store, &destinations).await;
    println!(
        "pipeline  {label:<14} {:>8} events in {secs:>6.3} s = {:>9.0} events/s ({rows} telemetry rows, {queued} queued for {} destinations, {} dead-lettered, {} batches)",
        msgs.len(),
        rate,
        destinations.len(),
        stats
            .dead_lettered
            .load(std::sync::atomic::Ordering::Relaxed),
        stats.batches.load(std::sync::atomic::Ordering::Relaxed),
    );
    rate
}

fn baseline(inv: &vigie::domain::model::Inventory, msgs: &[Envelope]) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = rusqlite::Connection::open(dir.path().join("baseline.db")).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;",
    )
    .unwrap();
    for m in vigie::store::migrate::SQLITE {
        conn.execute_batch(m.sql).unwrap();
    }
    let rows: Vec<_> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| {
            (
                m.tenant.to_string(),
                m.id.to_string(),
                inv.devices[i % inv.devices.len()].id.to_string(),
                m.ts.timestamp_millis(),
            )
        })
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
                stmt.execute(rusqlite::params![
                    tenant,
                    id,
                    device,
                    ts,
                    12.5,
                    40.0,
                    1_000_000i64,
                    200_000i64
                ])
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

/// Decoding alone, for the breakdown.
fn decode_only(msgs: &[Envelope]) -> f64 {
    let encoded: Vec<(String, Vec<u8>)> = msgs.iter().map(|m| (m.subject(), encode(m))).collect();
    let t = Instant::now();
    let mut ok = 0usize;
    for (subject, bytes) in &encoded {
        ok += usize::from(vigie::bus::envelope::decode_on(subject, bytes).is_ok());
    }
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(ok, msgs.len());
    let rate = msgs.len() as f64 / secs;
    println!(
        "decode    alone         {:>8} events in {secs:>6.3} s = {rate:>9.0} events/s",
        msgs.len()
    );
    rate
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// `DESTINATIONS` provider-wide webhooks; their ids.
async fn attach_destinations(store: &SqliteStore) -> Vec<vigie::domain::Id> {
    let n: usize = std::env::var("DESTINATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    outbound::attach(store, n, start()).await
}

fn main() {
    let n: usize = std::env::var("EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400_000);
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (inv, mix) = sim_mix(n);
    let metrics = metrics_only(&inv, n);
    println!(
        "machine: {} cores; {n} events per run; {rounds} rounds; batch {}",
        std::thread::available_parallelism().map_or(0, |p| p.get()),
        std::env::var("BATCH").unwrap_or_else(|_| "10000".into())
    );
    decode_only(&mix);
    let (mut base, mut mixed, mut only) = (Vec::new(), Vec::new(), Vec::new());
    let only_mix = std::env::var("WORKLOAD").is_ok_and(|w| w == "mix");
    for _ in 0..rounds {
        if !only_mix {
            base.push(baseline(&inv, &metrics));
            only.push(rt.block_on(pipeline("metrics only", &inv, &metrics)));
        }
        mixed.push(rt.block_on(pipeline("simulated mix", &inv, &mix)));
    }
    if only_mix {
        let (m, lo, hi) = median(mixed);
        println!("median    simulated mix {m:>9.0} events/s (min {lo:.0}, max {hi:.0})");
        return;
    }
    let (b, b_lo, b_hi) = median(base);
    let (m, m_lo, m_hi) = median(mixed);
    let (o, o_lo, o_hi) = median(only);
    println!("median    baseline      {b:>9.0} rows/s   (min {b_lo:.0}, max {b_hi:.0})");
    println!(
        "median    simulated mix {m:>9.0} events/s (min {m_lo:.0}, max {m_hi:.0}) = {:.0}% of baseline",
        100.0 * m / b
    );
    println!(
        "median    metrics only  {o:>9.0} events/s (min {o_lo:.0}, max {o_hi:.0}) = {:.0}% of baseline",
        100.0 * o / b
    );
}
