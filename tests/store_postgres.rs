//! The storage suite on PostgreSQL, each test in a schema of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use chrono::{Duration, Utc};
use vigie::store::postgres::PgStore;
use vigie::store::{Scope, Store, WriteBatch};

use support::services::{PgSchema, pg_schema};
use support::storage_suite::{id, inventory};

async fn make() -> Option<(Arc<dyn Store>, PgSchema)> {
    let schema = pg_schema().await?;
    let store = PgStore::connect_with(schema.options.clone()).await.unwrap();
    Some((Arc::new(store), schema))
}

storage_suite!(make());

#[tokio::test]
async fn samples_are_partitioned_by_day_and_retention_drops_whole_days() {
    let Some((store, _schema)) = make().await else {
        return;
    };
    store.migrate().await.unwrap();
    let inv = inventory();
    store.import_inventory(&inv).await.unwrap();
    let device = &inv.devices[0];
    let now = Utc::now();
    // The migration made today's partition and the next days'.
    let report = store.maintain(now).await.unwrap();
    assert_eq!(report.partitions_created, 0, "already made at migrate");
    // A partition far back, as if the worker had run then.
    let old = now - Duration::days(400);
    let made = store.maintain(old).await.unwrap();
    assert!(made.partitions_created > 0);
    let row = |ts, msg: &str| vigie::store::MetricRow {
        tenant: device.tenant.clone(),
        msg_id: msg.into(),
        device: device.id.clone(),
        ts,
        cpu_pct: 1.0,
        mem_pct: 2.0,
        rx_bps: 3,
        tx_bps: 4,
    };
    let batch = WriteBatch {
        metrics: vec![row(old, "old"), row(now, "new")],
        ..WriteBatch::default()
    };
    assert_eq!(store.write_batch(&batch).await.unwrap().inserted, 2);
    let report = store.maintain(now).await.unwrap();
    assert!(report.partitions_dropped >= 1, "{report:?}");
    let scope = Scope::Tenant(device.tenant.clone());
    assert_eq!(store.ingest_counts(&scope).await.unwrap().metrics, 1);
    let left = store
        .metric_series(
            &scope,
            &device.id,
            now - Duration::days(1),
            now + Duration::days(1),
        )
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    let _ = id("x");
}

#[tokio::test]
async fn large_batches_copy_and_fall_back_when_rows_are_already_stored() {
    let Some((store, _schema)) = make().await else {
        return;
    };
    store.migrate().await.unwrap();
    let inv = inventory();
    store.import_inventory(&inv).await.unwrap();
    let now = Utc::now();
    let rows = |from: usize, to: usize| -> Vec<vigie::store::MetricRow> {
        (from..to)
            .map(|i| {
                let d = &inv.devices[i % inv.devices.len()];
                vigie::store::MetricRow {
                    tenant: d.tenant.clone(),
                    msg_id: format!("big-{i}").into(),
                    device: d.id.clone(),
                    ts: now + Duration::milliseconds(i as i64),
                    cpu_pct: 1.5,
                    mem_pct: 2.5,
                    rx_bps: u64::MAX,
                    tx_bps: 4,
                }
            })
            .collect()
    };
    let signal = |i: usize| vigie::store::SignalRow {
        tenant: inv.devices[0].tenant.clone(),
        msg_id: format!("sig-{i}").into(),
        device: inv.devices[0].id.clone(),
        peer: id("peer"),
        ts: now + Duration::milliseconds(i as i64),
        rssi_dbm: -61.5,
        snr_db: i.is_multiple_of(2).then_some(20.0),
    };
    let first = WriteBatch {
        metrics: rows(0, 6_000),
        signals: (0..100).map(signal).collect(),
        ..WriteBatch::default()
    };
    let out = store.write_batch(&first).await.unwrap();
    assert_eq!((out.inserted, out.duplicates), (6_100, 0));
    // The same again: COPY refuses, the statement absorbs them.
    let out = store.write_batch(&first).await.unwrap();
    assert_eq!((out.inserted, out.duplicates), (0, 6_100));
    // Half old, half new.
    let mixed = WriteBatch {
        metrics: rows(3_000, 9_000),
        ..WriteBatch::default()
    };
    let out = store.write_batch(&mixed).await.unwrap();
    assert_eq!((out.inserted, out.duplicates), (3_000, 3_000));
    assert_eq!(
        store.ingest_counts(&Scope::All).await.unwrap().metrics,
        9_000
    );
    assert_eq!(store.ingest_counts(&Scope::All).await.unwrap().signals, 100);
    let series = store
        .metric_series(
            &Scope::All,
            &inv.devices[0].id,
            now - Duration::days(1),
            now + Duration::days(1),
        )
        .await
        .unwrap();
    assert_eq!(series[0].rx_bps, i64::MAX as u64, "clamped to BIGINT");
    let sig = store
        .signal_series(
            &Scope::All,
            &inv.devices[0].id,
            now - Duration::days(1),
            now + Duration::days(1),
        )
        .await
        .unwrap();
    assert_eq!(sig.len(), 100);
    assert_eq!(sig[0].snr_db, Some(20.0));
    assert_eq!(sig[1].snr_db, None);
}
