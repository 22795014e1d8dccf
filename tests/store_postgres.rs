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

/// Appends five entries to a tenant's chain.
async fn five_entries(store: &dyn Store, tenant: &vigie::domain::Id) {
    for i in 1..=5 {
        let e = vigie::domain::audit::AuditEntry::new(
            tenant,
            Utc::now(),
            "ana",
            "push.create",
            format!("push/{i}"),
        )
        .because("maintenance window");
        store.append_audit(&e).await.unwrap();
    }
}

async fn owner(schema: &PgSchema) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect_with(&schema.options)
        .await
        .unwrap()
}

/// Works as the installation's app role, as the store's tenant pool does.
async fn as_app(c: &mut sqlx::PgConnection) {
    let n = exec(
        c,
        "SELECT set_config('role', app_role, false) FROM vigie_installation",
    )
    .await
    .unwrap();
    assert_eq!(n, 1);
}

async fn exec(c: &mut sqlx::PgConnection, sql: &str) -> Result<u64, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(c)
        .await
        .map(|r| r.rows_affected())
}

#[tokio::test]
async fn every_tenant_table_forces_row_level_security() {
    let Some((store, schema)) = make().await else {
        return;
    };
    store.migrate().await.unwrap();
    store.maintain(Utc::now()).await.unwrap();
    let mut c = owner(&schema).await;
    // Every table with a tenant_id (tenants itself, and every partition).
    let rows: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
           AND (c.relname = 'tenants' OR EXISTS (
                SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                  AND a.attname = 'tenant_id' AND NOT a.attisdropped))
         ORDER BY 1",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    assert!(rows.len() >= 17, "{rows:?}");
    let lacking: Vec<&str> = rows
        .iter()
        .filter(|(_, on, forced)| !(*on && *forced))
        .map(|(n, _, _)| n.as_str())
        .collect();
    assert!(lacking.is_empty(), "tables without forced RLS: {lacking:?}");
    // Every unique key of a tenant table starts with tenant_id; `tenants`
    // is keyed by its own id, and user names are unique provider-wide
    // because a login names only the user.
    let stray: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, pg_get_indexdef(ix.indexrelid)
         FROM pg_index ix
         JOIN pg_class c ON c.oid = ix.indrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ix.indkey[0]
         WHERE n.nspname = current_schema() AND ix.indisunique
           AND c.relname NOT IN ('tenants', 'users')
           AND EXISTS (SELECT 1 FROM pg_attribute t WHERE t.attrelid = c.oid
                 AND t.attname = 'tenant_id' AND NOT t.attisdropped)
           AND a.attname <> 'tenant_id'
         ORDER BY 1",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    assert!(
        stray.is_empty(),
        "unique keys not led by tenant_id: {stray:?}"
    );
    // The roles the store works as are this installation's own, own
    // nothing, and the tenant role cannot bypass row-level security.
    let (app, provider) = PgStore::connect_with(schema.options.clone())
        .await
        .unwrap()
        .roles()
        .await
        .unwrap();
    assert!(app.starts_with("vigie_") && app.ends_with("_app"), "{app}");
    assert_ne!(app, "vigie_app");
    let owned: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema()
           AND pg_get_userbyid(c.relowner) IN ($1, $2, 'vigie_app', 'vigie_provider')",
    )
    .bind(&app)
    .bind(&provider)
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(owned, 0);
    let (bypass, superuser): (bool, bool) =
        sqlx::query_as("SELECT rolbypassrls, rolsuper FROM pg_roles WHERE rolname = $1")
            .bind(&app)
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert!(!bypass && !superuser);
    // The roles shared by every installation of the cluster hold nothing
    // here.
    let shared: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.role_table_grants
         WHERE grantee IN ('vigie_app', 'vigie_provider') AND table_schema = current_schema()",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(shared, 0);
    // The audit log is append-only for both roles.
    for role in [app.as_str(), provider.as_str()] {
        let granted: Vec<String> = sqlx::query_scalar(
            "SELECT privilege_type::text FROM information_schema.role_table_grants
             WHERE grantee = $1 AND table_name = 'audit_log' AND table_schema = current_schema()
             ORDER BY 1",
        )
        .bind(role)
        .fetch_all(&mut c)
        .await
        .unwrap();
        assert_eq!(granted, ["INSERT", "SELECT"], "{role}");
    }
}

#[tokio::test]
async fn direct_sql_as_the_app_role_never_reaches_another_tenant() {
    let Some((store, schema)) = make().await else {
        return;
    };
    store.migrate().await.unwrap();
    let inv = inventory();
    store.import_inventory(&inv).await.unwrap();
    let mine = inv.tenants[0].id.to_string();
    let theirs = inv.tenants[1].id.to_string();
    let theirs_n = inv
        .devices
        .iter()
        .filter(|d| d.tenant.as_str() == theirs)
        .count();
    assert!(theirs_n > 0);
    let mut c = owner(&schema).await;
    as_app(&mut c).await;
    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
    // No tenant named: nothing at all.
    assert_eq!(
        count("SELECT COUNT(*) FROM devices")
            .fetch_one(&mut c)
            .await
            .unwrap(),
        0
    );
    exec(&mut c, "BEGIN").await.unwrap();
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(&mine)
        .execute(&mut c)
        .await
        .unwrap();
    let seen: Vec<String> = sqlx::query_scalar("SELECT DISTINCT tenant_id FROM devices")
        .fetch_all(&mut c)
        .await
        .unwrap();
    assert_eq!(seen, std::slice::from_ref(&mine));
    // Another tenant's rows: invisible, untouchable, and not writable.
    let sql = format!("SELECT COUNT(*) FROM devices WHERE tenant_id = '{theirs}'");
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let changed = exec(
        &mut c,
        &format!("UPDATE devices SET name = 'owned' WHERE tenant_id = '{theirs}'"),
    )
    .await
    .unwrap();
    assert_eq!(changed, 0);
    let deleted = exec(
        &mut c,
        &format!("DELETE FROM alerts WHERE tenant_id = '{theirs}'"),
    )
    .await
    .unwrap();
    assert_eq!(deleted, 0);
    let e = exec(
        &mut c,
        &format!(
            "INSERT INTO audit_head (tenant_id, seq, hash) VALUES ('{theirs}', 0, '{}')",
            vigie::domain::audit::GENESIS
        ),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("row-level security"), "{e}");
    exec(&mut c, "ROLLBACK").await.unwrap();
    // Partitions read directly: refused outright.
    let e = exec(&mut c, "SELECT * FROM metric_samples_default")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("permission denied"), "{e}");
    // The store itself, through the same role, still serves the tenant.
    let scope = Scope::Tenant(inv.tenants[1].id.clone());
    let page = store.fleet_page(&scope, &Default::default()).await.unwrap();
    assert_eq!(page.rows.len(), theirs_n);
}

#[tokio::test]
async fn audit_verify_finds_a_changed_a_deleted_and_a_truncated_entry() {
    let Some((store, schema)) = make().await else {
        return;
    };
    store.migrate().await.unwrap();
    let inv = inventory();
    store.import_inventory(&inv).await.unwrap();
    let t = inv.tenants[0].id.clone();
    five_entries(store.as_ref(), &t).await;
    let verify = || async {
        vigie::admin::audit::verify(store.as_ref(), None)
            .await
            .unwrap()
            .broken
    };
    assert_eq!(verify().await, None);
    // The roles vigie works as cannot change or remove an entry of their
    // own tenant's log.
    let mut app = owner(&schema).await;
    as_app(&mut app).await;
    exec(&mut app, "BEGIN").await.unwrap();
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(t.as_str())
        .execute(&mut app)
        .await
        .unwrap();
    for sql in [
        "UPDATE audit_log SET reason = 'nothing' WHERE seq = 3",
        "DELETE FROM audit_log WHERE seq = 3",
    ] {
        let e = exec(&mut app, sql).await.unwrap_err();
        assert!(e.to_string().contains("permission denied"), "{sql}: {e}");
        exec(&mut app, "ROLLBACK").await.unwrap();
        exec(&mut app, "BEGIN").await.unwrap();
    }
    exec(&mut app, "ROLLBACK").await.unwrap();
    // The test's user is a superuser, as an intruder with the database
    // would be: row-level security does not stop it; the chain does.
    let mut c = owner(&schema).await;
    exec(
        &mut c,
        "UPDATE audit_log SET reason = 'nothing' WHERE seq = 3",
    )
    .await
    .unwrap();
    let b = verify().await.unwrap();
    assert!(b.contains("audit entry 3: changed"), "{b}");
    exec(
        &mut c,
        "UPDATE audit_log SET reason = 'maintenance window' WHERE seq = 3",
    )
    .await
    .unwrap();
    exec(&mut c, "DELETE FROM audit_log WHERE seq = 2")
        .await
        .unwrap();
    let b = verify().await.unwrap();
    assert!(b.contains("audit entry 2: missing"), "{b}");
    // A deleted tail: the head still points past it.
    exec(&mut c, "DELETE FROM audit_log WHERE seq >= 2")
        .await
        .unwrap();
    let b = verify().await.unwrap();
    assert!(b.contains("audit entry 2: missing"), "{b}");
}

#[tokio::test]
async fn an_audit_head_cannot_be_deleted_or_set_back_by_the_roles_vigie_works_as() {
    let Some((store, schema)) = make().await else {
        return;
    };
    store.migrate().await.unwrap();
    let inv = inventory();
    store.import_inventory(&inv).await.unwrap();
    let t = inv.tenants[0].id.clone();
    five_entries(store.as_ref(), &t).await;
    for provider in [false, true] {
        let mut c = owner(&schema).await;
        let role = if provider {
            "provider_role"
        } else {
            "app_role"
        };
        exec(
            &mut c,
            &format!("SELECT set_config('role', {role}, false) FROM vigie_installation"),
        )
        .await
        .unwrap();
        for sql in [
            format!("DELETE FROM audit_head WHERE tenant_id = '{t}'"),
            format!("UPDATE audit_head SET seq = 2 WHERE tenant_id = '{t}'"),
            "TRUNCATE audit_head".to_string(),
        ] {
            exec(&mut c, "BEGIN").await.unwrap();
            sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
                .bind(t.as_str())
                .execute(&mut c)
                .await
                .unwrap();
            let e = exec(&mut c, &sql).await.unwrap_err();
            let e = e.to_string();
            assert!(
                e.contains("permission denied") || e.contains("audit head"),
                "{role}: {sql}: {e}"
            );
            exec(&mut c, "ROLLBACK").await.unwrap();
        }
    }
    // Appends still move it, and verify is content.
    five_entries(store.as_ref(), &t).await;
    let v = vigie::admin::audit::verify(store.as_ref(), None)
        .await
        .unwrap();
    assert_eq!(v.broken, None);
    // The owner (an intruder with the database) may drop the guard; verify
    // still sees the chain whose head went missing.
    let mut c = owner(&schema).await;
    exec(
        &mut c,
        "ALTER TABLE audit_head DISABLE TRIGGER audit_head_guard",
    )
    .await
    .unwrap();
    exec(
        &mut c,
        &format!("DELETE FROM audit_head WHERE tenant_id = '{t}'"),
    )
    .await
    .unwrap();
    let b = vigie::admin::audit::verify(store.as_ref(), None)
        .await
        .unwrap()
        .broken
        .unwrap();
    assert!(b.contains("no head"), "{b}");
}
