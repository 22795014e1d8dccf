// Writes both backends share, in SQL both accept: the inventory import (one
// upsert per row in one transaction: inventory changes are rare and small
// next to telemetry) and per-tenant retention. Included by each backend's
// `write.rs`, which defines `Pool` and `dialect`.

pub(super) async fn import_inventory(pool: &Pool, inv: &Inventory) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for t in &inv.tenants {
        // An id of a deleted tenant is never reused (its audit log stays).
        let reused = sqlx::query(AssertSqlSafe(dialect(
            "SELECT 1 FROM audit_log WHERE tenant_id = ?
             AND NOT EXISTS (SELECT 1 FROM tenants WHERE id = ?) LIMIT 1",
        )))
        .bind(t.id.arc())
        .bind(t.id.arc())
        .fetch_optional(&mut *tx)
        .await?;
        if reused.is_some() {
            return Err(StoreError::Conflict(format!(
                "tenant id {} belonged to a deleted tenant whose audit log is kept: choose another id",
                t.id
            )));
        }
        sqlx::query(AssertSqlSafe(dialect(
            "INSERT INTO tenants (id, name, tier, data_mode, retention_days, stale_after_s, offline_after_s)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, tier = excluded.tier,
                 data_mode = excluded.data_mode, retention_days = excluded.retention_days,
                 stale_after_s = excluded.stale_after_s, offline_after_s = excluded.offline_after_s",
        )))
        .bind(t.id.arc())
        .bind(t.name.as_str().to_owned())
        .bind(crate::domain::enum_name(&t.tier))
        .bind(crate::domain::enum_name(&t.data_mode))
        .bind(i64::from(t.retention_days))
        .bind(i64::from(t.thresholds.stale_after_s))
        .bind(i64::from(t.thresholds.offline_after_s))
        .execute(&mut *tx)
        .await?;
    }
    for s in &inv.sites {
        sqlx::query(AssertSqlSafe(dialect(
            "INSERT INTO sites (tenant_id, id, name, region, lat, lon) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, region = excluded.region,
                 lat = excluded.lat, lon = excluded.lon",
        )))
        .bind(s.tenant.arc())
        .bind(s.id.arc())
        .bind(s.name.as_str().to_owned())
        .bind(s.region.as_str().to_owned())
        .bind(s.lat)
        .bind(s.lon)
        .execute(&mut *tx)
        .await?;
    }
    for s in &inv.sectors {
        sqlx::query(AssertSqlSafe(dialect(
            "INSERT INTO sectors (tenant_id, site_id, id, name, azimuth_deg) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (tenant_id, id) DO UPDATE SET site_id = excluded.site_id, name = excluded.name,
                 azimuth_deg = excluded.azimuth_deg",
        )))
        .bind(s.tenant.arc())
        .bind(s.site.arc())
        .bind(s.id.arc())
        .bind(s.name.as_str().to_owned())
        .bind(i64::from(s.azimuth_deg))
        .execute(&mut *tx)
        .await?;
    }
    for d in &inv.devices {
        sqlx::query(AssertSqlSafe(dialect(
            "INSERT INTO devices (tenant_id, id, name, kind, site_id, sector_id, model, firmware,
                 heartbeat_interval_s)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
                 site_id = excluded.site_id, sector_id = excluded.sector_id, model = excluded.model,
                 firmware = excluded.firmware, heartbeat_interval_s = excluded.heartbeat_interval_s",
        )))
        .bind(d.tenant.arc())
        .bind(d.id.arc())
        .bind(d.name.as_str().to_owned())
        .bind(d.kind.as_str())
        .bind(d.site.arc())
        .bind(d.sector.as_ref().map(|s| s.arc()))
        .bind(d.model.as_str().to_owned())
        .bind(d.firmware.as_str().to_owned())
        .bind(i64::from(d.heartbeat_interval_s))
        .execute(&mut *tx)
        .await?;
    }
    for l in &inv.links {
        sqlx::query(AssertSqlSafe(dialect(
            "INSERT INTO links (tenant_id, id, ap_id, cpe_id) VALUES (?, ?, ?, ?)
             ON CONFLICT (tenant_id, id) DO UPDATE SET ap_id = excluded.ap_id, cpe_id = excluded.cpe_id",
        )))
        .bind(l.tenant.arc())
        .bind(l.id.arc())
        .bind(l.ap.arc())
        .bind(l.cpe.arc())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Tables of timestamped telemetry that retention trims.
pub(super) const TELEMETRY_TABLES: [&str; 4] = [
    "metric_samples",
    "signal_samples",
    "log_lines",
    "config_snapshots",
];

/// Deletes each tenant's telemetry older than its retention; returns the
/// rows deleted.
pub(super) async fn delete_expired(
    pool: &Pool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<u64, StoreError> {
    let tenants: Vec<(String, i64)> =
        sqlx::query_as(AssertSqlSafe(dialect("SELECT id, retention_days FROM tenants")))
            .fetch_all(pool)
            .await?;
    let mut deleted = 0;
    for (tenant, days) in tenants {
        let cutoff = crate::store::to_ms(now - chrono::Duration::days(days.max(1)));
        for table in TELEMETRY_TABLES {
            let sql = format!("DELETE FROM {table} WHERE tenant_id = ? AND ts < ?");
            deleted += sqlx::query(AssertSqlSafe(dialect(&sql)))
                .bind(tenant.clone())
                .bind(cutoff)
                .execute(pool)
                .await?
                .rows_affected();
        }
    }
    Ok(deleted)
}
