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
