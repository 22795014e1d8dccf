//! The api verbs behind the console's deeper views, through the real api
//! server on SQLite and PostgreSQL: a device's bucketed series, links and
//! alerts (`device`), a site (`site`), and the ranking of falling signal
//! (`trends`), each asked of one tenant and refused the provider-wide scope
//! where it needs one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use vigie::api::views::{DeviceDetail, Trends};
use vigie::api::{self, ApiError};
use vigie::bus::Bus;
use vigie::bus::memory::MemoryBus;
use vigie::domain::access::Role;
use vigie::domain::model::DeviceKind;
use vigie::store::{MetricRow, SignalRow, Store, WriteBatch};

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

async fn views(store: Arc<dyn Store>) {
    store.migrate().await.unwrap();
    let inv = vigie::sim::plan(3, 120).inventory;
    store.import_inventory(&inv).await.unwrap();
    let link = &inv.links[0];
    let cpe = inv.devices.iter().find(|d| d.id == link.cpe).unwrap();
    assert_eq!(cpe.kind, DeviceKind::Cpe);
    let tenant = cpe.tenant.clone();
    // An hour of metrics each minute; the signal fell 12 dB this last day
    // against the two before.
    let mut batch = WriteBatch::default();
    for i in 0..60 {
        batch.metrics.push(MetricRow {
            tenant: tenant.clone(),
            msg_id: format!("m-{i}").into(),
            device: cpe.id.clone(),
            ts: t0() - Duration::minutes(60 - i),
            cpu_pct: i as f32,
            mem_pct: 50.0,
            rx_bps: 1_000,
            tx_bps: 1_000,
        });
    }
    for (i, (hours_ago, dbm)) in [(2, -72.0), (5, -72.0), (30, -60.0), (50, -60.0)]
        .into_iter()
        .enumerate()
    {
        batch.signals.push(SignalRow {
            tenant: tenant.clone(),
            msg_id: format!("s-{i}").into(),
            device: cpe.id.clone(),
            peer: link.ap.clone(),
            ts: t0() - Duration::hours(hours_ago),
            rssi_dbm: dbm,
            snr_db: None,
        });
    }
    store.write_batch(&batch).await.unwrap();

    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::default());
    support::auth::serve_api(Arc::clone(&store), Arc::clone(&bus)).await;
    let token =
        support::auth::token_for(store.as_ref(), "viewer-v", Role::Viewer, Some(&tenant)).await;
    let ask = |verb: &'static str, scope: String, body: Value| {
        let (bus, token) = (Arc::clone(&bus), token.clone());
        async move {
            api::call_value::<Value>(
                bus.as_ref(),
                &token,
                &scope,
                verb,
                body,
                StdDuration::from_secs(5),
            )
            .await
        }
    };

    let d: DeviceDetail = serde_json::from_value(
        ask(
            "device",
            tenant.to_string(),
            json!({ "device": cpe.id, "until": t0(), "range_s": 3_600, "buckets": 6 }),
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(d.row.id, cpe.id);
    assert_eq!(d.metrics.cpu_pct.len(), 6);
    // Ten samples a bucket: cpu 0..9 averages 4.5, 50..59 averages 54.5.
    assert_eq!(d.metrics.cpu_pct[0], Some(4.5));
    assert_eq!(d.metrics.cpu_pct[5], Some(54.5));
    assert_eq!(d.metrics.traffic_bps[3], Some(2_000.0));
    assert!(d.signal.iter().all(Option::is_none), "no signal this hour");
    assert_eq!(d.links.len(), 1);
    assert_eq!(d.links[0].ap, link.ap);

    let t: Trends = serde_json::from_value(
        ask(
            "trends",
            tenant.to_string(),
            json!({ "until": t0(), "range_s": 86_400 }),
        )
        .await
        .unwrap(),
    )
    .unwrap();
    let row = t.rows.iter().find(|r| r.device == cpe.id).unwrap();
    assert_eq!((row.recent_n, row.baseline_n), (2, 2));
    assert_eq!(Trends::drop_db(row), Some(-12.0));
    assert_eq!(t.rows[0].device, cpe.id, "the most fallen first");

    let site = ask("site", tenant.to_string(), json!({ "site": cpe.site }))
        .await
        .unwrap();
    assert!(site["links"].as_array().is_some_and(|l| !l.is_empty()));

    // Bad asks get a clear error, not an empty answer.
    let e: ApiError = ask("device", tenant.to_string(), json!({ "device": "no-such" }))
        .await
        .unwrap_err();
    assert_eq!(e.code, "not-found", "{e}");
    let e = ask(
        "device",
        tenant.to_string(),
        json!({ "device": cpe.id, "range": 5 }),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, "bad-request", "{e}");
    let admin = support::auth::token_for(store.as_ref(), "root-v", Role::SuperAdmin, None).await;
    let e = api::call_value::<Value>(
        bus.as_ref(),
        &admin,
        "_all",
        "site",
        json!({ "site": cpe.site }),
        StdDuration::from_secs(5),
    )
    .await
    .unwrap_err();
    assert!(e.message.contains("one tenant"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn view_verbs_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    let store = vigie::store::sqlite::SqliteStore::open(path.to_str().unwrap())
        .await
        .unwrap();
    views(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn view_verbs_on_postgres() {
    let Some(schema) = support::services::pg_schema().await else {
        return;
    };
    let store = vigie::store::postgres::PgStore::connect_with(schema.options.clone())
        .await
        .unwrap();
    views(Arc::new(store)).await;
}
