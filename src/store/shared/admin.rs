// Tenants, users, the provider's tier and the audit chain's reads, in SQL
// both backends accept. Included by `sqlite/read.rs` and `postgres/read.rs`
// after `shared/push.rs`, whose helpers it uses. Every change carries its
// audit entry in the same transaction.

use crate::domain::access::Role;
use crate::domain::model::Tier;
use crate::store::{AuditHead, TenantUsage};
use crate::domain::user::UserRecord;

fn tenant_args(t: &Tenant) -> Vec<Arg> {
    vec![
        Arg::Text(t.name.as_str().to_owned()),
        Arg::Text(crate::domain::enum_name(&t.tier)),
        Arg::Text(crate::domain::enum_name(&t.data_mode)),
        Arg::Int(i64::from(t.retention_days)),
        Arg::Int(i64::from(t.thresholds.stale_after_s)),
        Arg::Int(i64::from(t.thresholds.offline_after_s)),
        Arg::Text(t.id.to_string()),
    ]
}

/// Refuses an id that belonged to a deleted tenant: its audit log is kept
/// (it outlives the tenant), and a new tenant of the same id would
/// continue that chain and read that history.
async fn refuse_reused_id(conn: &mut Conn, tenant: &Id) -> Result<(), StoreError> {
    let used = query(
        "SELECT 1 AS used FROM audit_log WHERE tenant_id = ?
         AND NOT EXISTS (SELECT 1 FROM tenants WHERE id = ?) LIMIT 1"
            .to_string(),
        vec![Arg::Text(tenant.to_string()), Arg::Text(tenant.to_string())],
    )
    .fetch_optional(&mut *conn)
    .await?;
    match used {
        Some(_) => Err(StoreError::Conflict(format!(
            "tenant id {tenant} belonged to a deleted tenant whose audit log is kept: choose another id"
        ))),
        None => Ok(()),
    }
}

pub(super) async fn create_tenant(pool: &Pool, t: &Tenant, audit: &AuditEntry) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await?;
    refuse_reused_id(&mut conn, &t.id).await?;
    let sql = "INSERT INTO tenants (name, tier, data_mode, retention_days, stale_after_s, offline_after_s, id)
         VALUES (?, ?, ?, ?, ?, ?, ?)"
        .to_string();
    insert_audited(&mut conn, sql, tenant_args(t), audit, || format!("tenant {} exists", t.id)).await
}

/// Deletes every row of a tenant already deleted (but its audit log), for
/// rows a worker wrote before it learnt of the deletion. Audited by the
/// delete itself.
pub(super) async fn purge_tenant(pool: &Pool, tenant: &Id) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    delete_rows(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes the tenant's rows of every table but the audit log, in `tx`.
async fn delete_rows(tx: &mut Conn, tenant: &Id) -> Result<(), StoreError> {
    // Its events queued for the provider's destinations go too.
    query(
        "DELETE FROM outbox WHERE event_tenant = ?".to_string(),
        vec![Arg::Text(tenant.to_string())],
    )
    .execute(&mut *tx)
    .await?;
    for table in TENANT_TABLES {
        let col = if table == "tenants" { "id" } else { "tenant_id" };
        let sql = format!("DELETE FROM {table} WHERE {col} = ?");
        query(sql, vec![Arg::Text(tenant.to_string())])
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

pub(super) async fn update_tenant(pool: &Pool, t: &Tenant, audit: &AuditEntry) -> Result<bool, StoreError> {
    let sql = "UPDATE tenants SET name = ?, tier = ?, data_mode = ?, retention_days = ?,
             stale_after_s = ?, offline_after_s = ? WHERE id = ?"
        .to_string();
    update_audited(&mut *pool.acquire().await?, sql, tenant_args(t), std::slice::from_ref(audit), &[]).await
}

/// The tables that hold a tenant's rows, children first (the order a
/// delete takes). The audit log is not among them: it outlives the tenant.
const TENANT_TABLES: [&str; 19] = [
    "outbox",
    "destinations",
    "enrolments",
    "users",
    "pushes",
    "rollouts",
    "order_seq",
    "device_interfaces",
    "config_snapshots",
    "log_lines",
    "signal_samples",
    "metric_samples",
    "alerts",
    "incidents",
    "links",
    "devices",
    "sectors",
    "sites",
    "tenants",
];

pub(super) async fn tenant_usage(pool: &Pool, tenant: &Id) -> Result<TenantUsage, StoreError> {
    let mut rows = Vec::new();
    for table in TENANT_TABLES {
        let col = if table == "tenants" { "id" } else { "tenant_id" };
        let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {col} = ?");
        let row = query(sql, vec![Arg::Text(tenant.to_string())])
            .fetch_one(pool)
            .await?;
        rows.push((table.to_string(), uint(&row, "n")?));
    }
    Ok(TenantUsage { rows })
}

/// Deletes every row of the tenant but its audit log, and records why.
pub(super) async fn delete_tenant(pool: &Pool, tenant: &Id, audit: &AuditEntry) -> Result<TenantUsage, StoreError> {
    let usage = tenant_usage(pool, tenant).await?;
    let mut tx = pool.begin().await?;
    delete_rows(&mut tx, tenant).await?;
    insert_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(usage)
}

pub(super) async fn provider_tier(pool: &Pool) -> Result<(String, Tier), StoreError> {
    let row = query("SELECT name, tier FROM provider WHERE id = 1".to_string(), vec![])
        .fetch_one(pool)
        .await?;
    let tier: String = row.try_get("tier")?;
    let tier = parse("tier", tier, crate::domain::enum_parse)?;
    Ok((row.try_get("name")?, tier))
}

pub(super) async fn set_provider(pool: &Pool, name: &str, tier: Tier, audit: &AuditEntry) -> Result<(), StoreError> {
    let sql = "UPDATE provider SET name = ?, tier = ? WHERE id = 1".to_string();
    let args = vec![
        Arg::Text(name.to_string()),
        Arg::Text(crate::domain::enum_name(&tier)),
    ];
    update_audited(&mut *pool.acquire().await?, sql, args, std::slice::from_ref(audit), &[]).await?;
    Ok(())
}

fn user_args(u: &UserRecord) -> Vec<Arg> {
    vec![
        Arg::OptText(u.tenant.as_ref().map(Id::to_string)),
        Arg::Text(u.role.as_str().to_string()),
        Arg::Text(u.password_hash.clone()),
        Arg::Bool(u.disabled),
        Arg::Int(u.created.timestamp_millis()),
        Arg::Int(u.changed.timestamp_millis()),
        Arg::Text(u.name.clone()),
    ]
}

pub(super) async fn insert_user(pool: &Pool, u: &UserRecord, audit: &AuditEntry) -> Result<(), StoreError> {
    let sql = "INSERT INTO users (tenant_id, role, password_hash, disabled, created, changed, name)
         VALUES (?, ?, ?, ?, ?, ?, ?)"
        .to_string();
    insert_audited(&mut *pool.acquire().await?, sql, user_args(u), audit, || format!("user {} exists", u.name)).await
}

pub(super) async fn update_user(pool: &Pool, u: &UserRecord, audit: &AuditEntry) -> Result<bool, StoreError> {
    let sql = "UPDATE users SET tenant_id = ?, role = ?, password_hash = ?, disabled = ?,
             created = ?, changed = ? WHERE name = ?"
        .to_string();
    update_audited(&mut *pool.acquire().await?, sql, user_args(u), std::slice::from_ref(audit), &[]).await
}

const USER_COLS: &str = "name, tenant_id, role, password_hash, disabled, created, changed";

fn user_row(r: &DbRow) -> Result<UserRecord, StoreError> {
    let role: String = r.try_get("role")?;
    Ok(UserRecord {
        name: r.try_get("name")?,
        tenant: opt_id(r, "tenant_id")?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Invalid(format!("unknown role {role:?} in users")))?,
        password_hash: r.try_get("password_hash")?,
        disabled: r.try_get("disabled")?,
        created: ts(r, "created")?.unwrap_or_default(),
        changed: ts(r, "changed")?.unwrap_or_default(),
    })
}

pub(super) async fn user(pool: &Pool, name: &str) -> Result<Option<UserRecord>, StoreError> {
    let sql = format!("SELECT {USER_COLS} FROM users WHERE name = ?");
    let row = query(sql, vec![Arg::Text(name.to_string())])
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(user_row).transpose()
}

pub(super) async fn users(pool: &mut Conn, scope: &Scope) -> Result<Vec<UserRecord>, StoreError> {
    let sql = format!(
        "SELECT {USER_COLS} FROM users WHERE 1 = 1{} ORDER BY name",
        tenant_filter(scope, "tenant_id")
    );
    let rows = query(sql, scope_args(scope)).fetch_all(&mut *pool).await?;
    rows.iter().map(user_row).collect()
}

const AUDIT_COLS: &str =
    "id, tenant_id, at, actor, action, target, before, after, reason, dedup, seq, prev_hash, hash";

fn audit_row(r: &DbRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: uint(r, "id")?,
        tenant: id(r, "tenant_id")?,
        at: ts(r, "at")?.unwrap_or_default(),
        actor: text(r, "actor")?,
        action: r.try_get("action")?,
        target: r.try_get("target")?,
        before: r.try_get("before")?,
        after: r.try_get("after")?,
        reason: r
            .try_get::<Option<String>, _>("reason")?
            .map(crate::domain::LongText::from),
        dedup: r.try_get("dedup")?,
        seq: opt_uint(r, "seq")?,
        prev_hash: r.try_get::<Option<String>, _>("prev_hash")?.unwrap_or_default(),
        hash: r.try_get::<Option<String>, _>("hash")?.unwrap_or_default(),
    })
}

/// A tenant's chain from `after_seq + 1`, in order, at most `limit` entries.
pub(super) async fn audit_chain(pool: &Pool, tenant: &Id, after_seq: u64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
    let sql = format!(
        "SELECT {AUDIT_COLS} FROM audit_log WHERE tenant_id = ? AND seq > ?
         ORDER BY seq LIMIT {}",
        limit.clamp(1, 100_000)
    );
    let rows = query(sql, vec![Arg::Text(tenant.to_string()), int(after_seq)])
        .fetch_all(pool)
        .await?;
    rows.iter().map(audit_row).collect()
}

/// A tenant's entries written in `[since, until)`, in chain order.
pub(super) async fn audit_range(
    pool: &Pool,
    tenant: &Id,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<AuditEntry>, StoreError> {
    let sql = format!(
        "SELECT {AUDIT_COLS} FROM audit_log WHERE tenant_id = ? AND seq IS NOT NULL
           AND at >= ? AND at < ? ORDER BY seq"
    );
    let args = vec![
        Arg::Text(tenant.to_string()),
        Arg::Int(since.timestamp_millis()),
        Arg::Int(until.timestamp_millis()),
    ];
    let rows = query(sql, args).fetch_all(pool).await?;
    rows.iter().map(audit_row).collect()
}

/// Every tenant with entries in the audit log, from the log itself.
pub(super) async fn audit_tenants(pool: &Pool) -> Result<Vec<Id>, StoreError> {
    let rows = query(
        "SELECT DISTINCT tenant_id FROM audit_log ORDER BY tenant_id".to_string(),
        vec![],
    )
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| id(r, "tenant_id")).collect()
}

/// Every chain's head, by tenant.
pub(super) async fn audit_heads(pool: &Pool) -> Result<Vec<AuditHead>, StoreError> {
    let rows = query(
        "SELECT tenant_id, seq, hash FROM audit_head ORDER BY tenant_id".to_string(),
        vec![],
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditHead {
                tenant: id(r, "tenant_id")?,
                seq: uint(r, "seq")?,
                hash: r.try_get("hash")?,
            })
        })
        .collect()
}
