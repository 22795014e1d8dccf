//! Writes on PostgreSQL.
//!
//! A small batch is one statement: each table's rows are bound as column
//! arrays and `UNNEST`ed, and the inserts and updates are data-modifying
//! CTEs of that statement. One statement is one implicit transaction and
//! one round trip, so such a batch is atomic and costs the same over TCP as
//! over a unix socket, whatever the socket's Nagle setting.
//!
//! A large batch goes in as three transactions on three connections at
//! once, so that PostgreSQL uses more than one core: the state (devices,
//! links, alerts, incidents, logs, configs) in one such statement, and each
//! half of the samples by `COPY` (see `copy.rs`). They are not one
//! transaction, and need not be: the batch is acknowledged only when all
//! committed, and whatever a failed attempt did commit is absorbed when the
//! batch comes again.
//!
//! Redelivered telemetry is absorbed by `ON CONFLICT DO NOTHING` on the
//! sample's key. An incident opened by two workers at once (two devices of one
//! site on different partitions) merges into the one already open.

use std::collections::HashMap;
use std::hash::Hash;

use sqlx::{AssertSqlSafe, PgPool};

use crate::domain::model::Inventory;
use crate::store::{BatchOutcome, StoreError, WriteBatch, to_ms};

type Pool = PgPool;

/// PostgreSQL numbers its placeholders.
fn dialect(sql: &str) -> String {
    crate::store::dialect::numbered(sql)
}

include!("../shared/write.rs");

const BATCH_SQL: &str = "
WITH
m AS (
    INSERT INTO metric_samples (tenant_id, msg_id, device_id, ts, cpu_pct, mem_pct, rx_bps, tx_bps)
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::float8[], $6::float8[],
        $7::int8[], $8::int8[])
    ON CONFLICT DO NOTHING RETURNING 1),
s AS (
    INSERT INTO signal_samples (tenant_id, msg_id, device_id, peer_id, ts, rssi_dbm, snr_db)
    SELECT * FROM UNNEST($9::text[], $10::text[], $11::text[], $12::text[], $13::int8[], $14::float8[],
        $15::float8[])
    ON CONFLICT DO NOTHING RETURNING 1),
l AS (
    INSERT INTO log_lines (tenant_id, msg_id, device_id, ts, level, message)
    SELECT * FROM UNNEST($16::text[], $17::text[], $18::text[], $19::int8[], $20::text[], $21::text[])
    ON CONFLICT DO NOTHING RETURNING 1),
c AS (
    INSERT INTO config_snapshots (tenant_id, msg_id, device_id, ts, format, body)
    SELECT * FROM UNNEST($22::text[], $23::text[], $24::text[], $25::int8[], $26::text[], $27::text[])
    ON CONFLICT DO NOTHING RETURNING 1),
i AS (
    INSERT INTO device_interfaces (tenant_id, device_id, ts, body)
    SELECT * FROM UNNEST($28::text[], $29::text[], $30::int8[], $31::text[])
    ON CONFLICT (tenant_id, device_id) DO UPDATE SET ts = excluded.ts, body = excluded.body
    WHERE excluded.ts >= device_interfaces.ts),
d AS (
    UPDATE devices SET status = v.status, status_since = v.status_since, last_seen = v.last_seen,
        cpu_pct = v.cpu_pct, mem_pct = v.mem_pct, signal_dbm = v.signal_dbm, uptime_s = v.uptime_s,
        firmware = COALESCE(v.firmware, devices.firmware)
    FROM UNNEST($32::text[], $33::text[], $34::text[], $35::int8[], $36::int8[], $37::float8[],
        $38::float8[], $39::float8[], $40::int8[], $41::text[])
        AS v (tenant_id, id, status, status_since, last_seen, cpu_pct, mem_pct, signal_dbm, uptime_s,
            firmware)
    WHERE devices.tenant_id = v.tenant_id AND devices.id = v.id),
k AS (
    UPDATE links SET state = v.state, signal_dbm = COALESCE(v.signal_dbm, links.signal_dbm),
        updated = v.updated
    FROM UNNEST($42::text[], $43::text[], $44::text[], $45::float8[], $46::int8[])
        AS v (tenant_id, id, state, signal_dbm, updated)
    WHERE links.tenant_id = v.tenant_id AND links.id = v.id),
a AS (
    INSERT INTO alerts (tenant_id, id, rule, device_id, site_id, severity, state, summary, flapping,
        started, updated, incident_id)
    SELECT * FROM UNNEST($47::text[], $48::text[], $49::text[], $50::text[], $51::text[], $52::text[],
        $53::text[], $54::text[], $55::bool[], $56::int8[], $57::int8[], $58::text[])
    ON CONFLICT (tenant_id, id) DO UPDATE SET state = excluded.state, severity = excluded.severity,
        summary = excluded.summary, flapping = excluded.flapping, updated = excluded.updated,
        incident_id = excluded.incident_id),
n AS (
    SELECT * FROM UNNEST($59::text[], $60::text[], $61::text[], $62::text[], $63::text[], $64::text[],
        $65::text[], $66::text[], $67::int8[], $68::int8[], $69::int8[], $70::int8[], $71::text[],
        $72::int8[])
        AS v (tenant_id, id, dedup_key, title, severity, state, tier, assignee, opened, acknowledged,
            sla_due, reopen_count, alert_ids, snoozed_until)),
nu AS (
    UPDATE incidents SET title = n.title, severity = n.severity, state = n.state, tier = n.tier,
        assignee = n.assignee, acknowledged = n.acknowledged, sla_due = n.sla_due,
        reopen_count = n.reopen_count, alert_ids = n.alert_ids, snoozed_until = n.snoozed_until
    FROM n WHERE incidents.tenant_id = n.tenant_id AND incidents.id = n.id),
ni AS (
    INSERT INTO incidents (tenant_id, id, dedup_key, title, severity, state, tier, assignee, opened,
        acknowledged, sla_due, reopen_count, alert_ids, snoozed_until)
    SELECT * FROM n WHERE NOT EXISTS (
        SELECT 1 FROM incidents x WHERE x.tenant_id = n.tenant_id AND x.id = n.id)
    ON CONFLICT (tenant_id, dedup_key) WHERE state IN ('new', 'acknowledged', 'in_progress')
    DO UPDATE SET
        severity = CASE WHEN array_position(ARRAY['critical', 'major', 'minor', 'warning', 'info'],
                excluded.severity) < array_position(ARRAY['critical', 'major', 'minor', 'warning', 'info'],
                incidents.severity)
            THEN excluded.severity ELSE incidents.severity END,
        alert_ids = (SELECT COALESCE(jsonb_agg(DISTINCT e), '[]'::jsonb)::text
            FROM jsonb_array_elements(incidents.alert_ids::jsonb || excluded.alert_ids::jsonb) AS e))
,
o AS (
    INSERT INTO outbox (tenant_id, destination, event_tenant, event_id, event, queued_at, next_at)
    SELECT d, n, t, e, b, q, q FROM UNNEST($73::text[], $74::text[], $75::text[], $76::text[],
        $77::text[], $78::int8[]) AS x(d, n, t, e, b, q)
    ON CONFLICT DO NOTHING)
SELECT (SELECT count(*) FROM m) + (SELECT count(*) FROM s) + (SELECT count(*) FROM l)
    + (SELECT count(*) FROM c)";

/// The last row of each key: a batch may carry one alert, incident or
/// device twice, and one statement may change a row only once.
fn last_by_key<'a, T, K: Eq + Hash>(rows: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut at: HashMap<K, usize> = HashMap::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        at.insert(key(r), i);
    }
    let mut keep: Vec<usize> = at.into_values().collect();
    keep.sort_unstable();
    keep.into_iter().map(|i| &rows[i]).collect()
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Column arrays, filled row by row.
macro_rules! columns {
    ($rows:expr, |$r:ident| $($col:expr),+ $(,)?) => {{
        let rows = $rows;
        ($({
            let c: Vec<_> = rows.iter().map(|$r| $col).collect();
            c
        }),+)
    }};
}

/// Sample rows under which a batch is written as one statement.
const SPLIT_ABOVE: usize = 2_000;

/// The rows one statement writes.
#[derive(Default, Clone, Copy)]
struct Part<'a> {
    metrics: &'a [crate::store::MetricRow],
    signals: &'a [crate::store::SignalRow],
    logs: &'a [crate::store::LogRow],
    configs: &'a [crate::store::ConfigRow],
    interfaces: &'a [crate::store::InterfacesRow],
    devices: &'a [crate::store::DeviceState],
    links: &'a [crate::store::LinkUpdate],
    alerts: &'a [crate::domain::model::Alert],
    incidents: &'a [crate::domain::incident::Incident],
    outbox: &'a [crate::store::outbound::OutboxRow],
}

pub(super) async fn write_batch(pool: &PgPool, b: &WriteBatch) -> Result<BatchOutcome, StoreError> {
    let whole = Part {
        metrics: &b.metrics,
        signals: &b.signals,
        logs: &b.logs,
        configs: &b.configs,
        interfaces: &b.interfaces,
        devices: &b.devices,
        links: &b.links,
        alerts: &b.alerts,
        incidents: &b.incidents,
        outbox: &b.outbox,
    };
    let inserted = if b.metrics.len() + b.signals.len() < SPLIT_ABOVE {
        write_part(pool, whole).await?
    } else {
        let (m_a, m_b) = b.metrics.split_at(b.metrics.len() / 2);
        let (s_a, s_b) = b.signals.split_at(b.signals.len() / 2);
        let rest = Part {
            metrics: &[],
            signals: &[],
            ..whole
        };
        let (x, y, z) = tokio::try_join!(
            write_part(pool, rest),
            samples(pool, m_a, s_a),
            samples(pool, m_b, s_b)
        )?;
        x + y + z
    };
    let rows = b.sample_rows() as u64;
    Ok(BatchOutcome {
        inserted,
        duplicates: rows.saturating_sub(inserted),
    })
}

/// The outbox's six arrays of `BATCH_SQL` ($73…$78).
type OutboxColumns<'a> = (
    Vec<String>,
    Vec<&'a str>,
    Vec<&'a str>,
    Vec<&'a str>,
    Vec<String>,
    Vec<i64>,
);

fn outbox_columns(rows: &[crate::store::outbound::OutboxRow]) -> OutboxColumns<'_> {
    columns!(
        rows,
        |r| crate::store::outbound::owner_key(r.owner.as_ref()),
        r.destination.as_str(),
        r.event.tenant.as_str(),
        r.event.id.as_str(),
        serde_json::to_string(&r.event).unwrap_or_default(),
        to_ms(r.queued_at)
    )
}

/// Samples by COPY, or by the statement when some are already stored.
async fn samples(
    pool: &PgPool,
    metrics: &[crate::store::MetricRow],
    signals: &[crate::store::SignalRow],
) -> Result<u64, StoreError> {
    if let Some(n) = super::copy::copy_samples(pool, metrics, signals).await? {
        return Ok(n);
    }
    let part = Part {
        metrics,
        signals,
        ..Part::default()
    };
    write_part(pool, part).await
}

/// `$query.bind($a).bind($b)…`: the batch statement's 72 parameters,
/// in the order of `BATCH_SQL`'s `$1, $2, …`.
macro_rules! bind_all {
    ($query:expr, $($value:expr),+ $(,)?) => {
        $query$(.bind($value))+
    };
}

async fn write_part(pool: &PgPool, b: Part<'_>) -> Result<u64, StoreError> {
    let (m1, m2, m3, m4, m5, m6, m7, m8) = columns!(
        b.metrics,
        |r| r.tenant.as_str(),
        &*r.msg_id,
        r.device.as_str(),
        to_ms(r.ts),
        f64::from(r.cpu_pct),
        f64::from(r.mem_pct),
        int(r.rx_bps),
        int(r.tx_bps)
    );
    let (s1, s2, s3, s4, s5, s6, s7) = columns!(
        b.signals,
        |r| r.tenant.as_str(),
        &*r.msg_id,
        r.device.as_str(),
        r.peer.as_str(),
        to_ms(r.ts),
        f64::from(r.rssi_dbm),
        r.snr_db.map(f64::from)
    );
    let (l1, l2, l3, l4, l5, l6) = columns!(
        b.logs,
        |r| r.tenant.as_str(),
        &*r.msg_id,
        r.device.as_str(),
        to_ms(r.ts),
        r.level.as_str(),
        r.message.as_str()
    );
    let (c1, c2, c3, c4, c5, c6) = columns!(
        b.configs,
        |r| r.tenant.as_str(),
        &*r.msg_id,
        r.device.as_str(),
        to_ms(r.ts),
        r.format.as_str(),
        r.body.as_str()
    );
    let interfaces = last_by_key(b.interfaces, |r| (&r.tenant, &r.device));
    let (i1, i2, i3, i4) = columns!(
        &interfaces,
        |r| r.tenant.as_str(),
        r.device.as_str(),
        to_ms(r.ts),
        r.json.as_str()
    );
    let devices = last_by_key(b.devices, |r| (&r.tenant, &r.device));
    let (d1, d2, d3, d4, d5, d6, d7, d8, d9, d10) = columns!(
        &devices,
        |r| r.tenant.as_str(),
        r.device.as_str(),
        r.status.as_str(),
        r.status_since.map(to_ms),
        r.last_seen.map(to_ms),
        r.cpu_pct.map(f64::from),
        r.mem_pct.map(f64::from),
        r.signal_dbm.map(f64::from),
        r.uptime_s.map(int),
        r.firmware.as_ref().map(|f| f.as_str())
    );
    let links = last_by_key(b.links, |r| (&r.tenant, &r.link));
    let (k1, k2, k3, k4, k5) = columns!(
        &links,
        |r| r.tenant.as_str(),
        r.link.as_str(),
        r.state.as_str(),
        r.signal_dbm.map(f64::from),
        to_ms(r.updated)
    );
    let alerts = last_by_key(b.alerts, |r| (&r.tenant, &r.id));
    let (a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12) = columns!(
        &alerts,
        |r| r.tenant.as_str(),
        r.id.as_str(),
        r.rule.as_str(),
        r.device.as_ref().map(|d| d.as_str()),
        r.site.as_ref().map(|s| s.as_str()),
        r.severity.as_str(),
        r.state.as_str(),
        r.summary.as_str(),
        r.flapping,
        to_ms(r.started),
        to_ms(r.updated),
        r.incident.as_ref().map(|i| i.as_str())
    );
    let incidents = last_by_key(b.incidents, |r| (&r.tenant, &r.id));
    let (n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12, n13, n14) = columns!(
        &incidents,
        |r| r.tenant.as_str(),
        r.id.as_str(),
        r.dedup_key.as_str(),
        r.title.as_str(),
        r.severity.as_str(),
        r.state.as_str(),
        crate::domain::enum_name(&r.tier),
        r.assignee.as_ref().map(|a| a.as_str()),
        to_ms(r.opened),
        r.acknowledged.map(to_ms),
        to_ms(r.sla_due),
        i64::from(r.reopen_count),
        serde_json::to_string(&r.alerts).unwrap_or_else(|_| "[]".into()),
        r.snoozed_until.map(to_ms)
    );
    let (o1, o2, o3, o4, o5, o6) = outbox_columns(b.outbox);
    let query = sqlx::query_scalar(BATCH_SQL);
    let inserted: i64 = bind_all![
        query, m1, m2, m3, m4, m5, m6, m7, m8, s1, s2, s3, s4, s5, s6, s7, l1, l2, l3, l4, l5, l6,
        c1, c2, c3, c4, c5, c6, i1, i2, i3, i4, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, k1, k2,
        k3, k4, k5, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, n1, n2, n3, n4, n5, n6, n7,
        n8, n9, n10, n11, n12, n13, n14, o1, o2, o3, o4, o5, o6
    ]
    .fetch_one(pool)
    .await?;
    Ok(u64::try_from(inserted).unwrap_or(0))
}
