// One-time enrolment codes, by the SHA-256 of the code. Included by each
// backend's `read.rs` after `shared/push.rs` (whose `insert_audited` it
// uses). Provider-wide: the worker redeems codes of every tenant.

use crate::domain::enrolment::{Enrolment, Refusal};

/// Stores a new code (only its hash) with its audit entry.
pub(super) async fn create_enrolment(
    pool: &Pool,
    code_hash: &str,
    e: &Enrolment,
    audit: &AuditEntry,
) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await?;
    let sql = "INSERT INTO enrolments (code_hash, tenant_id, device_id, site_id, kind, created_by,
             created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        .to_string();
    let args = vec![
        Arg::Text(code_hash.to_string()),
        Arg::Text(e.tenant.to_string()),
        Arg::Text(e.device.to_string()),
        Arg::OptText(e.site.as_ref().map(ToString::to_string)),
        Arg::OptText(e.kind.map(|k| k.as_str().to_string())),
        Arg::Text(e.created_by.clone()),
        Arg::Int(e.created_at.timestamp_millis()),
        Arg::Int(e.expires_at.timestamp_millis()),
    ];
    insert_audited(&mut conn, sql, args, audit, || {
        "an enrolment code with this hash exists already".to_string()
    })
    .await
}

/// Marks the code used by `agent_key` at `now`, once: the code's
/// enrolment, or why it is refused.
pub(super) async fn redeem_enrolment(
    pool: &Pool,
    code_hash: &str,
    agent_key: &str,
    now: DateTime<Utc>,
) -> Result<Result<Enrolment, Refusal>, StoreError> {
    let mut tx = pool.begin().await?;
    let row = query(
        "SELECT tenant_id, device_id, site_id, kind, created_by, created_at, expires_at, used_at
         FROM enrolments WHERE code_hash = ? LIMIT 1"
            .to_string(),
        vec![Arg::Text(code_hash.to_string())],
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(r) = row else {
        return Ok(Err(Refusal::Unknown));
    };
    let kind: Option<String> = r.try_get("kind")?;
    let e = Enrolment {
        tenant: id(&r, "tenant_id")?,
        device: id(&r, "device_id")?,
        site: opt_id(&r, "site_id")?,
        kind: kind
            .map(|k| parse("device kind", k, DeviceKind::parse))
            .transpose()?,
        created_by: r.try_get("created_by")?,
        created_at: from_ms(r.try_get("created_at")?),
        expires_at: from_ms(r.try_get("expires_at")?),
    };
    let used: Option<i64> = r.try_get("used_at")?;
    let (tenant, device) = (e.tenant.clone(), e.device.clone());
    if let Some(at) = used {
        let at = from_ms(at);
        return Ok(Err(Refusal::Used { tenant, device, at }));
    }
    if e.expires_at <= now {
        let at = e.expires_at;
        return Ok(Err(Refusal::Expired { tenant, device, at }));
    }
    let taken = query(
        "UPDATE enrolments SET used_at = ?, agent_key = ? WHERE code_hash = ? AND used_at IS NULL"
            .to_string(),
        vec![
            Arg::Int(now.timestamp_millis()),
            Arg::Text(agent_key.to_string()),
            Arg::Text(code_hash.to_string()),
        ],
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    if taken != 1 {
        // Redeemed by someone else between the read and the write.
        return Ok(Err(Refusal::Used { tenant, device, at: now }));
    }
    Ok(Ok(e))
}

/// The public keys of every agent enrolled for `device` of `tenant`.
pub(super) async fn enrolled_keys(pool: &Pool, tenant: &Id, device: &Id) -> Result<Vec<String>, StoreError> {
    let rows = query(
        "SELECT agent_key FROM enrolments WHERE tenant_id = ? AND device_id = ?
             AND agent_key IS NOT NULL ORDER BY used_at"
            .to_string(),
        vec![Arg::Text(tenant.to_string()), Arg::Text(device.to_string())],
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>("agent_key").map_err(StoreError::from))
        .collect()
}
