//! Writes: inventory import and the batched ingest path.
//!
//! Telemetry rows go in as multi-row `INSERT OR IGNORE … VALUES (…),(…)`
//! statements, up to [`ROWS_PER_STATEMENT`] rows each: one statement per
//! thousand rows instead of one per row. The primary key `(tenant_id,
//! msg_id)` makes a redelivered message a no-op, counted as a duplicate.
//! Device and link state goes in as one `UPDATE … FROM (VALUES …)` per chunk.

use sqlx::sqlite::SqliteArguments;
use sqlx::{AssertSqlSafe, Sqlite, SqlitePool, Transaction};

use crate::domain::model::Inventory;
use crate::store::{BatchOutcome, StoreError, WriteBatch, to_ms};

type Pool = SqlitePool;

/// SQLite takes the shared SQL as written.
fn dialect(sql: &str) -> String {
    sql.to_owned()
}

/// Rows per multi-row statement (SQLite allows 32,766 parameters).
pub const ROWS_PER_STATEMENT: usize = 1000;

type Query = sqlx::query::Query<'static, Sqlite, SqliteArguments>;

/// `(?,?,?),(?,?,?)` for `rows` rows of `cols` columns.
pub fn placeholders(rows: usize, cols: usize) -> String {
    let one = format!("({})", vec!["?"; cols].join(","));
    let mut s = String::with_capacity(rows * (one.len() + 1));
    for i in 0..rows {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&one);
    }
    s
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

async fn insert_rows<T>(
    tx: &mut Transaction<'static, Sqlite>,
    head: &str,
    cols: usize,
    rows: &[T],
    bind: impl Fn(Query, &T) -> Query,
) -> Result<u64, StoreError> {
    let mut inserted = 0;
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = format!("{head} VALUES {}", placeholders(chunk.len(), cols));
        let mut q: Query = sqlx::query(AssertSqlSafe(sql));
        for r in chunk {
            q = bind(q, r);
        }
        inserted += q.execute(&mut **tx).await?.rows_affected();
    }
    Ok(inserted)
}

pub(super) async fn write_batch(
    pool: &SqlitePool,
    b: &WriteBatch,
) -> Result<BatchOutcome, StoreError> {
    let mut tx = pool.begin().await?;
    let inserted = write_samples(&mut tx, b).await?;
    write_state(&mut tx, b).await?;
    write_alerts(&mut tx, b).await?;
    write_outbox(&mut tx, b).await?;
    tx.commit().await?;
    let rows = b.sample_rows() as u64;
    Ok(BatchOutcome {
        inserted,
        duplicates: rows.saturating_sub(inserted),
    })
}

/// Events queued for delivery (each once per destination).
async fn write_outbox(
    tx: &mut Transaction<'static, Sqlite>,
    b: &WriteBatch,
) -> Result<(), StoreError> {
    for r in &b.outbox {
        let event = serde_json::to_string(&r.event)
            .map_err(|e| StoreError::Invalid(format!("event not encodable: {e}")))?;
        sqlx::query(
            "INSERT INTO outbox (tenant_id, destination, event_tenant, event_id, event, queued_at, next_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(crate::store::outbound::owner_key(r.owner.as_ref()))
        .bind(r.destination.arc())
        .bind(r.event.tenant.arc())
        .bind(r.event.id.clone())
        .bind(event)
        .bind(to_ms(r.queued_at))
        .bind(to_ms(r.queued_at))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The telemetry rows; how many were new.
async fn write_samples(
    tx: &mut Transaction<'static, Sqlite>,
    b: &WriteBatch,
) -> Result<u64, StoreError> {
    let mut inserted = 0u64;
    inserted += insert_rows(
        tx,
        "INSERT OR IGNORE INTO metric_samples (tenant_id, msg_id, device_id, ts, cpu_pct, mem_pct, rx_bps, tx_bps)",
        8,
        &b.metrics,
        |q, r| {
            q.bind(r.tenant.arc())
                .bind(std::sync::Arc::clone(&r.msg_id))
                .bind(r.device.arc())
                .bind(to_ms(r.ts))
                .bind(f64::from(r.cpu_pct))
                .bind(f64::from(r.mem_pct))
                .bind(int(r.rx_bps))
                .bind(int(r.tx_bps))
        },
    )
    .await?;
    inserted += insert_rows(
        tx,
        "INSERT OR IGNORE INTO signal_samples (tenant_id, msg_id, device_id, peer_id, ts, rssi_dbm, snr_db)",
        7,
        &b.signals,
        |q, r| {
            q.bind(r.tenant.arc())
                .bind(std::sync::Arc::clone(&r.msg_id))
                .bind(r.device.arc())
                .bind(r.peer.arc())
                .bind(to_ms(r.ts))
                .bind(f64::from(r.rssi_dbm))
                .bind(r.snr_db.map(f64::from))
        },
    )
    .await?;
    inserted += insert_rows(
        tx,
        "INSERT OR IGNORE INTO log_lines (tenant_id, msg_id, device_id, ts, level, message)",
        6,
        &b.logs,
        |q, r| {
            q.bind(r.tenant.arc())
                .bind(std::sync::Arc::clone(&r.msg_id))
                .bind(r.device.arc())
                .bind(to_ms(r.ts))
                .bind(r.level.clone())
                .bind(r.message.as_str().to_owned())
        },
    )
    .await?;
    inserted += insert_rows(
        tx,
        "INSERT OR IGNORE INTO config_snapshots (tenant_id, msg_id, device_id, ts, format, body)",
        6,
        &b.configs,
        |q, r| {
            q.bind(r.tenant.arc())
                .bind(std::sync::Arc::clone(&r.msg_id))
                .bind(r.device.arc())
                .bind(to_ms(r.ts))
                .bind(r.format.as_str().to_owned())
                .bind(r.body.as_str().to_owned())
        },
    )
    .await?;
    Ok(inserted)
}

/// Devices' and links' state, and devices' interfaces.
async fn write_state(
    tx: &mut Transaction<'static, Sqlite>,
    b: &WriteBatch,
) -> Result<(), StoreError> {
    for i in &b.interfaces {
        sqlx::query(
            "INSERT INTO device_interfaces (tenant_id, device_id, ts, body) VALUES (?, ?, ?, ?)
             ON CONFLICT (tenant_id, device_id) DO UPDATE SET ts = excluded.ts, body = excluded.body
             WHERE excluded.ts >= device_interfaces.ts",
        )
        .bind(i.tenant.arc())
        .bind(i.device.arc())
        .bind(to_ms(i.ts))
        .bind(i.json.clone())
        .execute(&mut **tx)
        .await?;
    }
    for chunk in b.devices.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "WITH v (tenant_id, id, status, status_since, last_seen, cpu_pct, mem_pct, signal_dbm, uptime_s, firmware)
             AS (VALUES {})
             UPDATE devices SET status = v.status, status_since = v.status_since, last_seen = v.last_seen,
                 cpu_pct = v.cpu_pct, mem_pct = v.mem_pct, signal_dbm = v.signal_dbm, uptime_s = v.uptime_s,
                 firmware = COALESCE(v.firmware, devices.firmware)
             FROM v WHERE devices.tenant_id = v.tenant_id AND devices.id = v.id",
            placeholders(chunk.len(), 10)
        );
        let mut q: Query = sqlx::query(AssertSqlSafe(sql));
        for d in chunk {
            q = q
                .bind(d.tenant.arc())
                .bind(d.device.arc())
                .bind(d.status.as_str())
                .bind(d.status_since.map(to_ms))
                .bind(d.last_seen.map(to_ms))
                .bind(d.cpu_pct.map(f64::from))
                .bind(d.mem_pct.map(f64::from))
                .bind(d.signal_dbm.map(f64::from))
                .bind(d.uptime_s.map(int))
                .bind(d.firmware.as_ref().map(|f| f.as_str().to_owned()));
        }
        q.execute(&mut **tx).await?;
    }
    for chunk in b.links.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "WITH v (tenant_id, id, state, signal_dbm, updated) AS (VALUES {})
             UPDATE links SET state = v.state, signal_dbm = COALESCE(v.signal_dbm, links.signal_dbm),
                 updated = v.updated
             FROM v WHERE links.tenant_id = v.tenant_id AND links.id = v.id",
            placeholders(chunk.len(), 5)
        );
        let mut q: Query = sqlx::query(AssertSqlSafe(sql));
        for l in chunk {
            q = q
                .bind(l.tenant.arc())
                .bind(l.link.arc())
                .bind(l.state.as_str())
                .bind(l.signal_dbm.map(f64::from))
                .bind(to_ms(l.updated));
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Alerts and incidents.
async fn write_alerts(
    tx: &mut Transaction<'static, Sqlite>,
    b: &WriteBatch,
) -> Result<(), StoreError> {
    for a in &b.alerts {
        sqlx::query(
            "INSERT INTO alerts (tenant_id, id, rule, device_id, site_id, severity, state, summary, flapping,
                 started, updated, incident_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (tenant_id, id) DO UPDATE SET state = excluded.state, severity = excluded.severity,
                 summary = excluded.summary, flapping = excluded.flapping, updated = excluded.updated,
                 incident_id = excluded.incident_id",
        )
        .bind(a.tenant.arc())
        .bind(a.id.arc())
        .bind(a.rule.as_str().to_owned())
        .bind(a.device.as_ref().map(|d| d.arc()))
        .bind(a.site.as_ref().map(|s| s.arc()))
        .bind(a.severity.as_str())
        .bind(a.state.as_str())
        .bind(a.summary.as_str().to_owned())
        .bind(a.flapping)
        .bind(to_ms(a.started))
        .bind(to_ms(a.updated))
        .bind(a.incident.as_ref().map(|i| i.arc()))
        .execute(&mut **tx)
        .await?;
    }
    for i in &b.incidents {
        let alerts = serde_json::to_string(&i.alerts).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO incidents (tenant_id, id, dedup_key, title, severity, state, tier, assignee, opened,
                 acknowledged, sla_due, reopen_count, alert_ids, snoozed_until)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (tenant_id, id) DO UPDATE SET title = excluded.title, severity = excluded.severity,
                 state = excluded.state, tier = excluded.tier, assignee = excluded.assignee,
                 acknowledged = excluded.acknowledged, sla_due = excluded.sla_due,
                 reopen_count = excluded.reopen_count, alert_ids = excluded.alert_ids,
                 snoozed_until = excluded.snoozed_until",
        )
        .bind(i.tenant.arc())
        .bind(i.id.arc())
        .bind(i.dedup_key.clone())
        .bind(i.title.as_str().to_owned())
        .bind(i.severity.as_str())
        .bind(i.state.as_str())
        .bind(crate::domain::enum_name(&i.tier))
        .bind(i.assignee.as_ref().map(|a| a.as_str().to_owned()))
        .bind(to_ms(i.opened))
        .bind(i.acknowledged.map(to_ms))
        .bind(to_ms(i.sla_due))
        .bind(i64::from(i.reopen_count))
        .bind(alerts)
        .bind(i.snoozed_until.map(to_ms))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

include!("../shared/write.rs");
