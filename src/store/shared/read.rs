// The reads both backends share, written once in SQL that SQLite and
// PostgreSQL both accept (`?` placeholders, numbered by `dialect` for
// PostgreSQL). Included by `sqlite/read.rs` and `postgres/read.rs`, which
// define `Db`, `DbRow`, `Args`, `Pool` and `dialect` first. Every query takes
// a `Scope` and filters on `tenant_id` in SQL.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use crate::domain::alert::AlertState;
use crate::domain::device::{DeviceStatus, StatusThresholds};
use crate::domain::incident::{Incident, IncidentState};
use crate::domain::link::LinkState;
use crate::domain::model::{
    Alert, DeviceKind, DeviceRow, LinkRow, MetricSample, Severity, SignalSample, Tenant,
};
use crate::domain::{Id, SafeText};
use crate::store::{DeviceState, IngestCounts, Scope, StoreError, from_ms};
use crate::domain::fleet::{FleetPage, FleetQuery, FleetSort, StatusCounts};
use crate::domain::site::SiteSummary;
use crate::domain::enum_parse;

type Query = sqlx::query::Query<'static, Db, Args>;

/// `AND <col> = ?` for a one-tenant scope, nothing for all tenants.
pub(crate) fn tenant_filter(scope: &Scope, col: &str) -> String {
    match scope {
        Scope::Tenant(_) => format!(" AND {col} = ?"),
        Scope::All => String::new(),
    }
}

#[derive(Clone)]
enum Arg {
    Text(String),
    Int(i64),
    OptText(Option<String>),
    OptInt(Option<i64>),
    Bool(bool),
}

fn query(sql: String, args: Vec<Arg>) -> Query {
    let mut q: Query = sqlx::query(AssertSqlSafe(dialect(sql)));
    for a in args {
        q = match a {
            Arg::Text(s) => q.bind(s),
            Arg::Int(i) => q.bind(i),
            Arg::OptText(s) => q.bind(s),
            Arg::OptInt(i) => q.bind(i),
            Arg::Bool(b) => q.bind(b),
        };
    }
    q
}

fn scope_args(scope: &Scope) -> Vec<Arg> {
    scope
        .tenant()
        .map(|t| Arg::Text(t.to_string()))
        .into_iter()
        .collect()
}

fn id(row: &DbRow, col: &str) -> Result<Id, StoreError> {
    let s: String = row.try_get(col)?;
    Id::parse(&s).map_err(|_| StoreError::Corrupt {
        what: "id",
        value: s,
    })
}

fn opt_id(row: &DbRow, col: &str) -> Result<Option<Id>, StoreError> {
    let s: Option<String> = row.try_get(col)?;
    s.map(|s| {
        Id::parse(&s).map_err(|_| StoreError::Corrupt {
            what: "id",
            value: s,
        })
    })
    .transpose()
}

fn text(row: &DbRow, col: &str) -> Result<SafeText, StoreError> {
    let s: String = row.try_get(col)?;
    Ok(SafeText::from(s))
}

fn ts(row: &DbRow, col: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    let v: Option<i64> = row.try_get(col)?;
    Ok(v.map(from_ms))
}

fn f32_opt(row: &DbRow, col: &str) -> Result<Option<f32>, StoreError> {
    let v: Option<f64> = row.try_get(col)?;
    #[allow(clippy::cast_possible_truncation)]
    Ok(v.map(|x| x as f32))
}

fn parse<T>(what: &'static str, s: String, f: impl Fn(&str) -> Option<T>) -> Result<T, StoreError> {
    f(&s).ok_or(StoreError::Corrupt { what, value: s })
}

fn status(row: &DbRow) -> Result<DeviceStatus, StoreError> {
    parse("status", row.try_get("status")?, DeviceStatus::parse)
}

const DEVICE_COLUMNS: &str =
    "d.tenant_id, d.id, d.name, d.kind, d.site_id, s.name AS site_name, d.firmware,
    d.status, d.status_since, d.last_seen, d.cpu_pct, d.mem_pct, d.signal_dbm, d.uptime_s";

fn device_row(row: &DbRow) -> Result<DeviceRow, StoreError> {
    let uptime: Option<i64> = row.try_get("uptime_s")?;
    Ok(DeviceRow {
        tenant: id(row, "tenant_id")?,
        id: id(row, "id")?,
        name: text(row, "name")?,
        kind: parse("device kind", row.try_get("kind")?, DeviceKind::parse)?,
        site: id(row, "site_id")?,
        site_name: text(row, "site_name")?,
        firmware: text(row, "firmware")?,
        status: status(row)?,
        status_since: ts(row, "status_since")?,
        last_seen: ts(row, "last_seen")?,
        cpu_pct: f32_opt(row, "cpu_pct")?,
        mem_pct: f32_opt(row, "mem_pct")?,
        signal_dbm: f32_opt(row, "signal_dbm")?,
        uptime_s: uptime.and_then(|u| u64::try_from(u).ok()),
    })
}

pub(super) async fn tenants(pool: &Pool) -> Result<Vec<Tenant>, StoreError> {
    let rows = sqlx::query(AssertSqlSafe(dialect(
        "SELECT id, name, tier, data_mode, retention_days, stale_after_s, offline_after_s FROM tenants ORDER BY id".into(),
    )))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let n = |c: &str| -> Result<u32, StoreError> {
                let v: i64 = r.try_get(c)?;
                Ok(u32::try_from(v).unwrap_or(u32::MAX))
            };
            Ok(Tenant {
                id: id(r, "id")?,
                name: text(r, "name")?,
                tier: parse("tier", r.try_get("tier")?, enum_parse)?,
                data_mode: parse("data mode", r.try_get("data_mode")?, enum_parse)?,
                retention_days: n("retention_days")?,
                thresholds: StatusThresholds {
                    stale_after_s: n("stale_after_s")?,
                    offline_after_s: n("offline_after_s")?,
                },
            })
        })
        .collect()
}

pub(super) async fn device_states(
    pool: &mut Conn,
    scope: &Scope,
) -> Result<Vec<DeviceState>, StoreError> {
    let sql = format!(
        "SELECT tenant_id, id, status, status_since, last_seen, cpu_pct, mem_pct, signal_dbm, uptime_s,
             heartbeat_interval_s
         FROM devices WHERE 1 = 1{}",
        tenant_filter(scope, "tenant_id")
    );
    let rows = query(sql, scope_args(scope)).fetch_all(&mut *pool).await?;
    rows.iter()
        .map(|r| {
            let uptime: Option<i64> = r.try_get("uptime_s")?;
            Ok(DeviceState {
                tenant: id(r, "tenant_id")?,
                device: id(r, "id")?,
                status: status(r)?,
                status_since: ts(r, "status_since")?,
                last_seen: ts(r, "last_seen")?,
                cpu_pct: f32_opt(r, "cpu_pct")?,
                mem_pct: f32_opt(r, "mem_pct")?,
                signal_dbm: f32_opt(r, "signal_dbm")?,
                uptime_s: uptime.and_then(|u| u64::try_from(u).ok()),
                firmware: None,
                heartbeat_interval_s: u32::try_from(r.try_get::<i64, _>("heartbeat_interval_s")?)
                    .unwrap_or(60),
            })
        })
        .collect()
}

fn like_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

pub(super) async fn fleet_page(
    pool: &mut Conn,
    scope: &Scope,
    q: &FleetQuery,
) -> Result<FleetPage, StoreError> {
    let mut filter = tenant_filter(scope, "d.tenant_id");
    let mut args = scope_args(scope);
    if let Some(s) = q.status {
        filter.push_str(" AND d.status = ?");
        args.push(Arg::Text(s.as_str().into()));
    }
    if let Some(t) = q.text.as_deref().filter(|t| !t.is_empty()) {
        filter.push_str(
            " AND (lower(d.name) LIKE lower(?) ESCAPE '\\' OR lower(d.id) LIKE lower(?) ESCAPE '\\'
                 OR lower(s.name) LIKE lower(?) ESCAPE '\\')",
        );
        for _ in 0..3 {
            args.push(Arg::Text(like_pattern(t)));
        }
    }
    let from = "FROM devices d JOIN sites s ON s.tenant_id = d.tenant_id AND s.id = d.site_id";
    let count_args = args.clone();
    let total: i64 = query(
        format!("SELECT COUNT(*) {from} WHERE 1 = 1{filter}"),
        count_args,
    )
    .fetch_one(&mut *pool)
    .await?
    .try_get(0)?;
    let order = match q.sort {
        FleetSort::Status => {
            "CASE d.status WHEN 'offline' THEN 0 WHEN 'stale' THEN 1 WHEN 'pending' THEN 2 ELSE 3 END"
        }
        FleetSort::Name => "d.name",
        FleetSort::Tenant => "d.tenant_id",
        FleetSort::Site => "s.name",
        FleetSort::Kind => "d.kind",
        FleetSort::LastSeen => "d.last_seen",
        FleetSort::Cpu => "d.cpu_pct",
        FleetSort::Signal => "d.signal_dbm",
    };
    // NULLs sort as smallest on both backends.
    let dir = if q.descending {
        "DESC NULLS LAST"
    } else {
        "ASC NULLS FIRST"
    };
    let limit = if q.limit == 0 {
        i64::MAX
    } else {
        i64::from(q.limit)
    };
    args.push(Arg::Int(limit));
    args.push(Arg::Int(i64::from(q.offset)));
    let sql = format!(
        "SELECT {DEVICE_COLUMNS} {from} WHERE 1 = 1{filter}
         ORDER BY {order} {dir}, d.tenant_id, d.name, d.id LIMIT ? OFFSET ?"
    );
    let rows = query(sql, args).fetch_all(&mut *pool).await?;
    Ok(FleetPage {
        rows: rows.iter().map(device_row).collect::<Result<_, _>>()?,
        total: u64::try_from(total).unwrap_or(0),
    })
}

pub(super) async fn device(
    pool: &mut Conn,
    scope: &Scope,
    device: &Id,
) -> Result<Option<DeviceRow>, StoreError> {
    let sql = format!(
        "SELECT {DEVICE_COLUMNS} FROM devices d JOIN sites s ON s.tenant_id = d.tenant_id AND s.id = d.site_id
         WHERE d.id = ?{}",
        tenant_filter(scope, "d.tenant_id")
    );
    let mut args = vec![Arg::Text(device.to_string())];
    args.extend(scope_args(scope));
    let row = query(sql, args).fetch_optional(&mut *pool).await?;
    row.as_ref().map(device_row).transpose()
}

pub(super) async fn status_counts(
    pool: &mut Conn,
    scope: &Scope,
) -> Result<StatusCounts, StoreError> {
    let sql = format!(
        "SELECT status, COUNT(*) AS n FROM devices WHERE 1 = 1{} GROUP BY status",
        tenant_filter(scope, "tenant_id")
    );
    let rows = query(sql, scope_args(scope)).fetch_all(&mut *pool).await?;
    let mut c = StatusCounts::default();
    for r in &rows {
        c.add(status(r)?, r.try_get("n")?);
    }
    Ok(c)
}

pub(super) async fn sites(
    pool: &mut Conn,
    scope: &Scope,
) -> Result<Vec<SiteSummary>, StoreError> {
    let sql = format!(
        "SELECT s.tenant_id, s.id, s.name, s.region, s.lat, s.lon,
             SUM(CASE WHEN d.status = 'online' THEN 1 ELSE 0 END) AS online,
             SUM(CASE WHEN d.status = 'stale' THEN 1 ELSE 0 END) AS stale,
             SUM(CASE WHEN d.status = 'offline' THEN 1 ELSE 0 END) AS offline,
             SUM(CASE WHEN d.status = 'pending' THEN 1 ELSE 0 END) AS pending
         FROM sites s LEFT JOIN devices d ON d.tenant_id = s.tenant_id AND d.site_id = s.id
         WHERE 1 = 1{} GROUP BY s.tenant_id, s.id ORDER BY s.tenant_id, s.name",
        tenant_filter(scope, "s.tenant_id")
    );
    let rows = query(sql, scope_args(scope)).fetch_all(&mut *pool).await?;
    rows.iter()
        .map(|r| {
            let n = |c: &str| -> Result<u64, StoreError> {
                let v: Option<i64> = r.try_get(c)?;
                Ok(v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
            };
            Ok(SiteSummary {
                tenant: id(r, "tenant_id")?,
                id: id(r, "id")?,
                name: text(r, "name")?,
                region: text(r, "region")?,
                lat: r.try_get("lat")?,
                lon: r.try_get("lon")?,
                counts: StatusCounts {
                    online: n("online")?,
                    stale: n("stale")?,
                    offline: n("offline")?,
                    pending: n("pending")?,
                },
            })
        })
        .collect()
}

fn severity(r: &DbRow) -> Result<Severity, StoreError> {
    parse("severity", r.try_get("severity")?, Severity::parse)
}

/// What [`incident_row`] reads.
const INCIDENT_COLUMNS: &str = "tenant_id, id, dedup_key, title, severity, state, tier, assignee, \
    opened, acknowledged, sla_due, reopen_count, alert_ids, snoozed_until";

/// The columns `INCIDENT_COLUMNS` names, as an incident.
fn incident_row(r: &DbRow) -> Result<Incident, StoreError> {
    let alerts: String = r.try_get("alert_ids")?;
    let reopen: i64 = r.try_get("reopen_count")?;
    let assignee: Option<String> = r.try_get("assignee")?;
    Ok(Incident {
        tenant: id(r, "tenant_id")?,
        id: id(r, "id")?,
        dedup_key: r.try_get("dedup_key")?,
        title: text(r, "title")?,
        severity: severity(r)?,
        state: parse("incident state", r.try_get("state")?, IncidentState::parse)?,
        tier: parse("tier", r.try_get("tier")?, enum_parse)?,
        assignee: assignee.map(SafeText::from),
        opened: ts(r, "opened")?.unwrap_or_default(),
        acknowledged: ts(r, "acknowledged")?,
        sla_due: ts(r, "sla_due")?.unwrap_or_default(),
        reopen_count: u32::try_from(reopen).unwrap_or(0),
        alerts: serde_json::from_str(&alerts).map_err(|_| StoreError::Corrupt {
            what: "incident alert list",
            value: alerts.clone(),
        })?,
        snoozed_until: ts(r, "snoozed_until")?,
    })
}

pub(super) async fn incident_queue(
    pool: &mut Conn,
    scope: &Scope,
    limit: u32,
) -> Result<Vec<Incident>, StoreError> {
    let sql = format!(
        "SELECT {INCIDENT_COLUMNS}
         FROM incidents WHERE state IN ('new', 'acknowledged', 'in_progress'){}
         ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'major' THEN 1 WHEN 'minor' THEN 2
             WHEN 'warning' THEN 3 ELSE 4 END, sla_due, id
         LIMIT ?",
        tenant_filter(scope, "tenant_id")
    );
    let mut args = scope_args(scope);
    args.push(Arg::Int(i64::from(limit)));
    let rows = query(sql, args).fetch_all(&mut *pool).await?;
    rows.iter().map(incident_row).collect()
}

pub(super) async fn alert_history(
    pool: &mut Conn,
    scope: &Scope,
    device: Option<&Id>,
    limit: u32,
) -> Result<Vec<Alert>, StoreError> {
    let mut filter = tenant_filter(scope, "tenant_id");
    let mut args = scope_args(scope);
    if let Some(d) = device {
        filter.push_str(" AND device_id = ?");
        args.push(Arg::Text(d.to_string()));
    }
    args.push(Arg::Int(i64::from(limit)));
    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM alerts WHERE 1 = 1{filter} ORDER BY updated DESC, id LIMIT ?"
    );
    let rows = query(sql, args).fetch_all(&mut *pool).await?;
    rows.iter().map(alert_row).collect()
}

/// The columns `ALERT_COLUMNS` names, as an alert.
fn alert_row(r: &DbRow) -> Result<Alert, StoreError> {
    Ok(Alert {
        tenant: id(r, "tenant_id")?,
        id: id(r, "id")?,
        rule: text(r, "rule")?,
        device: opt_id(r, "device_id")?,
        site: opt_id(r, "site_id")?,
        severity: severity(r)?,
        state: parse("alert state", r.try_get("state")?, AlertState::parse)?,
        summary: text(r, "summary")?,
        flapping: r.try_get("flapping")?,
        started: ts(r, "started")?.unwrap_or_default(),
        updated: ts(r, "updated")?.unwrap_or_default(),
        incident: opt_id(r, "incident_id")?,
    })
}

/// What [`alert_row`] reads.
const ALERT_COLUMNS: &str = "tenant_id, id, rule, device_id, site_id, severity, state, summary, \
    flapping, started, updated, incident_id";

fn series_args(scope: &Scope, device: &Id, since: DateTime<Utc>, until: DateTime<Utc>) -> Vec<Arg> {
    let mut args = vec![
        Arg::Text(device.to_string()),
        Arg::Int(since.timestamp_millis()),
        Arg::Int(until.timestamp_millis()),
    ];
    args.extend(scope_args(scope));
    args
}

pub(super) async fn signal_series(
    pool: &mut Conn,
    scope: &Scope,
    device: &Id,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<SignalSample>, StoreError> {
    let sql = format!(
        "SELECT ts, peer_id, rssi_dbm, snr_db FROM signal_samples
         WHERE device_id = ? AND ts >= ? AND ts < ?{} ORDER BY ts",
        tenant_filter(scope, "tenant_id")
    );
    let rows = query(sql, series_args(scope, device, since, until))
        .fetch_all(&mut *pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(SignalSample {
                ts: ts(r, "ts")?.unwrap_or_default(),
                peer: id(r, "peer_id")?,
                rssi_dbm: f32_opt(r, "rssi_dbm")?.unwrap_or_default(),
                snr_db: f32_opt(r, "snr_db")?,
            })
        })
        .collect()
}

pub(super) async fn metric_series(
    pool: &mut Conn,
    scope: &Scope,
    device: &Id,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<MetricSample>, StoreError> {
    let sql = format!(
        "SELECT ts, cpu_pct, mem_pct, rx_bps, tx_bps FROM metric_samples
         WHERE device_id = ? AND ts >= ? AND ts < ?{} ORDER BY ts",
        tenant_filter(scope, "tenant_id")
    );
    let rows = query(sql, series_args(scope, device, since, until))
        .fetch_all(&mut *pool)
        .await?;
    rows.iter()
        .map(|r| {
            let rx: i64 = r.try_get("rx_bps")?;
            let tx: i64 = r.try_get("tx_bps")?;
            Ok(MetricSample {
                ts: ts(r, "ts")?.unwrap_or_default(),
                cpu_pct: f32_opt(r, "cpu_pct")?.unwrap_or_default(),
                mem_pct: f32_opt(r, "mem_pct")?.unwrap_or_default(),
                rx_bps: u64::try_from(rx).unwrap_or(0),
                tx_bps: u64::try_from(tx).unwrap_or(0),
            })
        })
        .collect()
}

pub(super) async fn ingest_counts(
    pool: &mut Conn,
    scope: &Scope,
) -> Result<IngestCounts, StoreError> {
    let mut counts = [0u64; 4];
    for (slot, table) in counts.iter_mut().zip([
        "metric_samples",
        "signal_samples",
        "log_lines",
        "config_snapshots",
    ]) {
        let sql = format!(
            "SELECT COUNT(*) FROM {table} WHERE 1 = 1{}",
            tenant_filter(scope, "tenant_id")
        );
        let n: i64 = query(sql, scope_args(scope))
            .fetch_one(&mut *pool)
            .await?
            .try_get(0)?;
        *slot = u64::try_from(n).unwrap_or(0);
    }
    Ok(IngestCounts {
        metrics: counts[0],
        signals: counts[1],
        logs: counts[2],
        configs: counts[3],
    })
}

pub(super) async fn links(pool: &mut Conn, scope: &Scope) -> Result<Vec<LinkRow>, StoreError> {
    let sql = format!(
        "SELECT tenant_id, id, ap_id, cpe_id, state, signal_dbm, updated FROM links WHERE 1 = 1{} ORDER BY tenant_id, id",
        tenant_filter(scope, "tenant_id")
    );
    let rows = query(sql, scope_args(scope)).fetch_all(&mut *pool).await?;
    rows.iter().map(link_row).collect()
}

/// A row of `links` (tenant_id, id, ap_id, cpe_id, state, signal_dbm,
/// updated) as a link.
fn link_row(r: &DbRow) -> Result<LinkRow, StoreError> {
    Ok(LinkRow {
        tenant: id(r, "tenant_id")?,
        id: id(r, "id")?,
        ap: id(r, "ap_id")?,
        cpe: id(r, "cpe_id")?,
        state: parse("link state", r.try_get("state")?, LinkState::parse)?,
        signal_dbm: f32_opt(r, "signal_dbm")?,
        updated: ts(r, "updated")?,
    })
}

pub(super) async fn ap_links(
    pool: &mut Conn,
    scope: &Scope,
) -> Result<Vec<crate::domain::site::ApLinks>, StoreError> {
    let sql = format!(
        "SELECT l.tenant_id, d.site_id, l.ap_id, s.azimuth_deg,
             SUM(CASE WHEN l.state IN ('active', 'discovered') THEN 1 ELSE 0 END) AS up,
             SUM(CASE WHEN l.state = 'degraded' THEN 1 ELSE 0 END) AS degraded,
             SUM(CASE WHEN l.state IN ('down', 'stale') THEN 1 ELSE 0 END) AS down
         FROM links l
         JOIN devices d ON d.tenant_id = l.tenant_id AND d.id = l.ap_id
         LEFT JOIN sectors s ON s.tenant_id = d.tenant_id AND s.id = d.sector_id
         WHERE 1 = 1{}
         GROUP BY l.tenant_id, d.site_id, l.ap_id, s.azimuth_deg
         ORDER BY l.tenant_id, l.ap_id",
        tenant_filter(scope, "l.tenant_id")
    );
    let rows = query(sql, scope_args(scope)).fetch_all(&mut *pool).await?;
    let count = |r: &DbRow, col: &str| -> Result<u32, StoreError> {
        let n: Option<i64> = r.try_get(col)?;
        Ok(n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0))
    };
    rows.iter()
        .map(|r| {
            let az: Option<i64> = r.try_get("azimuth_deg")?;
            Ok(crate::domain::site::ApLinks {
                tenant: id(r, "tenant_id")?,
                site: id(r, "site_id")?,
                ap: id(r, "ap_id")?,
                azimuth_deg: az.and_then(|a| u16::try_from(a).ok()),
                up: count(r, "up")?,
                degraded: count(r, "degraded")?,
                down: count(r, "down")?,
            })
        })
        .collect()
}

pub(super) async fn sector_health(
    pool: &mut Conn,
    scope: &Scope,
) -> Result<Vec<crate::domain::site::SectorHealth>, StoreError> {
    let sql = format!(
        "SELECT tenant_id, site_id, sector_id,
             SUM(CASE WHEN kind = 'cpe' AND status = 'online' THEN 1 ELSE 0 END) AS clients,
             AVG(CASE WHEN kind = 'cpe' AND status = 'online' THEN signal_dbm END) AS signal
         FROM devices WHERE sector_id IS NOT NULL{}
         GROUP BY tenant_id, site_id, sector_id ORDER BY tenant_id, sector_id",
        tenant_filter(scope, "tenant_id")
    );
    let rows = query(sql, scope_args(scope)).fetch_all(&mut *pool).await?;
    rows.iter()
        .map(|r| {
            let clients: Option<i64> = r.try_get("clients")?;
            Ok(crate::domain::site::SectorHealth {
                tenant: id(r, "tenant_id")?,
                site: id(r, "site_id")?,
                sector: id(r, "sector_id")?,
                clients_online: clients.and_then(|c| u64::try_from(c).ok()).unwrap_or(0),
                avg_signal_dbm: f32_opt(r, "signal")?,
            })
        })
        .collect()
}

pub(super) async fn signal_trends(
    pool: &mut Conn,
    scope: &Scope,
    baseline_since: DateTime<Utc>,
    recent_since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<crate::domain::site::SignalTrend>, StoreError> {
    let sql = format!(
        "SELECT g.tenant_id, g.device_id, d.site_id, g.recent, g.recent_n, g.baseline, g.baseline_n
         FROM (SELECT tenant_id, device_id,
                 AVG(CASE WHEN ts >= ? THEN rssi_dbm END) AS recent,
                 SUM(CASE WHEN ts >= ? THEN 1 ELSE 0 END) AS recent_n,
                 AVG(CASE WHEN ts < ? THEN rssi_dbm END) AS baseline,
                 SUM(CASE WHEN ts < ? THEN 1 ELSE 0 END) AS baseline_n
             FROM signal_samples WHERE ts >= ? AND ts < ?{}
             GROUP BY tenant_id, device_id) g
         JOIN devices d ON d.tenant_id = g.tenant_id AND d.id = g.device_id
         ORDER BY g.tenant_id, g.device_id",
        tenant_filter(scope, "tenant_id")
    );
    let recent = recent_since.timestamp_millis();
    let mut args = vec![
        Arg::Int(recent),
        Arg::Int(recent),
        Arg::Int(recent),
        Arg::Int(recent),
        Arg::Int(baseline_since.timestamp_millis()),
        Arg::Int(until.timestamp_millis()),
    ];
    args.extend(scope_args(scope));
    let rows = query(sql, args).fetch_all(&mut *pool).await?;
    rows.iter()
        .map(|r| {
            let n = |c: &str| -> Result<u64, StoreError> {
                let v: Option<i64> = r.try_get(c)?;
                Ok(v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
            };
            Ok(crate::domain::site::SignalTrend {
                tenant: id(r, "tenant_id")?,
                device: id(r, "device_id")?,
                site: id(r, "site_id")?,
                recent_dbm: f32_opt(r, "recent")?,
                recent_n: n("recent_n")?,
                baseline_dbm: f32_opt(r, "baseline")?,
                baseline_n: n("baseline_n")?,
            })
        })
        .collect()
}

/// Takes or renews the lease `name` for `holder` until `until`; true when
/// `holder` has it (it was free, expired, or already its own).
pub(super) async fn try_lease(
    pool: &Pool,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let sql = "INSERT INTO vigie_leases (name, holder, expires) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
         WHERE vigie_leases.expires < ? OR vigie_leases.holder = excluded.holder"
        .to_string();
    let args = vec![
        Arg::Text(name.to_string()),
        Arg::Text(holder.to_string()),
        Arg::Int(until.timestamp_millis()),
        Arg::Int(now.timestamp_millis()),
    ];
    Ok(query(sql, args).execute(pool).await?.rows_affected() == 1)
}
