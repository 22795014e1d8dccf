// Config pushes, rollouts, order sequences and the audit log, in SQL both
// backends accept. Included by `sqlite/read.rs` and `postgres/read.rs` after
// `shared/read.rs`, whose helpers (`query`, `Arg`, `id`, `text`, `ts`) it
// uses. Changes are compare-and-set on `version`, each with its audit entry
// in the same transaction, so that two workers (or a worker and an api call)
// never both act on one push.

use crate::domain::audit::AuditEntry;
use crate::domain::push::{Push, PushState, RevertReason, Rollout, RolloutState};
use crate::domain::push::{PushQuery, StoredConfig};

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn int(v: u64) -> Arg {
    Arg::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

fn opt_ms(t: Option<DateTime<Utc>>) -> Arg {
    Arg::OptInt(t.map(|t| t.timestamp_millis()))
}

fn uint(row: &DbRow, col: &str) -> Result<u64, StoreError> {
    let v: i64 = row.try_get(col)?;
    Ok(u64::try_from(v).unwrap_or(0))
}

fn opt_uint(row: &DbRow, col: &str) -> Result<u64, StoreError> {
    let v: Option<i64> = row.try_get(col)?;
    Ok(v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
}

fn u32_col(row: &DbRow, col: &str) -> Result<u32, StoreError> {
    Ok(u32::try_from(uint(row, col)?).unwrap_or(u32::MAX))
}

fn opt_text(row: &DbRow, col: &str) -> Result<Option<SafeText>, StoreError> {
    let v: Option<String> = row.try_get(col)?;
    Ok(v.map(SafeText::from))
}

/// The state columns of a push state: (state, deadline, revert_reason).
fn state_args(s: &PushState) -> [Arg; 3] {
    let (deadline, reason) = match s {
        PushState::Applied { deadline } => (Some(deadline.timestamp_millis()), None),
        PushState::Reverted { reason } => (None, Some(crate::domain::enum_name(reason))),
        _ => (None, None),
    };
    [
        Arg::Text(s.name().to_string()),
        Arg::OptInt(deadline),
        Arg::OptText(reason),
    ]
}

fn push_state(row: &DbRow) -> Result<PushState, StoreError> {
    let name: String = row.try_get("state")?;
    Ok(match name.as_str() {
        "draft" => PushState::Draft,
        "sent" => PushState::Sent,
        "applied" => PushState::Applied {
            deadline: ts(row, "deadline")?.unwrap_or_default(),
        },
        "confirmed" => PushState::Confirmed,
        "reverted" => {
            let r: Option<String> = row.try_get("revert_reason")?;
            PushState::Reverted {
                reason: r
                    .as_deref()
                    .and_then(enum_parse::<RevertReason>)
                    .unwrap_or(RevertReason::Timeout),
            }
        }
        "failed" => PushState::Failed,
        "rejected" => PushState::Rejected,
        _ => {
            return Err(StoreError::Corrupt {
                what: "push state",
                value: name,
            });
        }
    })
}

const PUSH_COLUMNS: &str = "tenant_id, id, device_id, rollout_id, wave, state, revert_reason,
    deadline, version, seq, body, previous, reason, actor, window_s, created, order_expires,
    confirm_sent, revert_sent, reported, detail, updated, confirm_seq, revert_seq";

fn push_row(row: &DbRow) -> Result<Push, StoreError> {
    Ok(Push {
        tenant: id(row, "tenant_id")?,
        id: id(row, "id")?,
        device: id(row, "device_id")?,
        rollout: opt_id(row, "rollout_id")?,
        wave: u32_col(row, "wave")?,
        state: push_state(row)?,
        version: uint(row, "version")?,
        seq: uint(row, "seq")?,
        body: row.try_get("body")?,
        previous: row.try_get("previous")?,
        reason: text(row, "reason")?,
        actor: text(row, "actor")?,
        window_s: u32_col(row, "window_s")?,
        created: ts(row, "created")?.unwrap_or_default(),
        order_expires: ts(row, "order_expires")?.unwrap_or_default(),
        confirm_sent: ts(row, "confirm_sent")?,
        revert_sent: ts(row, "revert_sent")?,
        reported: ts(row, "reported")?,
        detail: opt_text(row, "detail")?,
        updated: ts(row, "updated")?.unwrap_or_default(),
        confirm_seq: nullable_uint(row, "confirm_seq")?,
        revert_seq: nullable_uint(row, "revert_seq")?,
    })
}

fn nullable_uint(row: &DbRow, col: &str) -> Result<Option<u64>, StoreError> {
    let v: Option<i64> = row.try_get(col)?;
    v.map(|v| {
        u64::try_from(v).map_err(|_| StoreError::Invalid(format!("{col}: negative ({v})")))
    })
    .transpose()
}

/// The columns a push change writes, in `PUSH_COLUMNS` order from `state`.
fn push_mutable_args(p: &Push) -> Vec<Arg> {
    let mut a: Vec<Arg> = state_args(&p.state).into_iter().collect();
    a.extend([
        opt_ms(p.confirm_sent),
        opt_ms(p.revert_sent),
        opt_ms(p.reported),
        Arg::OptText(p.detail.as_ref().map(|d| d.to_string())),
        Arg::Int(p.updated.timestamp_millis()),
        opt_seq(p.confirm_seq),
        opt_seq(p.revert_seq),
    ]);
    a
}

fn opt_seq(v: Option<u64>) -> Arg {
    match v {
        Some(v) => int(v),
        None => Arg::OptInt(None),
    }
}

/// Appends `e` to its tenant's hash chain inside `tx`. Locking the chain's
/// head row first serialises appends per tenant (PostgreSQL's row lock;
/// SQLite's one writer); an entry whose dedup key is already stored
/// appends nothing.
async fn insert_audit(
    tx: &mut Conn,
    e: &AuditEntry,
) -> Result<(), StoreError> {
    let head = query(
        "INSERT INTO audit_head (tenant_id, seq, hash) VALUES (?, 0, ?)
         ON CONFLICT (tenant_id) DO UPDATE SET seq = audit_head.seq
         RETURNING seq, hash"
            .to_string(),
        vec![
            Arg::Text(e.tenant.to_string()),
            Arg::Text(crate::domain::audit::GENESIS.to_string()),
        ],
    )
    .fetch_one(&mut *tx)
    .await?;
    let seq = uint(&head, "seq")? + 1;
    let prev: String = head.try_get("hash")?;
    let e = e.clone().chained(&prev, seq);
    let sql = "INSERT INTO audit_log (tenant_id, at, actor, action, target, before, after, reason,
                                      dedup, seq, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, dedup) DO NOTHING"
        .to_string();
    let args = vec![
        Arg::Text(e.tenant.to_string()),
        Arg::Int(e.at.timestamp_millis()),
        Arg::Text(e.actor.to_string()),
        Arg::Text(e.action.clone()),
        Arg::Text(e.target.clone()),
        Arg::OptText(e.before.clone()),
        Arg::OptText(e.after.clone()),
        Arg::OptText(e.reason.as_ref().map(|r| r.to_string())),
        Arg::OptText(e.dedup.clone()),
        int(seq),
        Arg::Text(e.prev_hash.clone()),
        Arg::Text(e.hash.clone()),
    ];
    if query(sql, args).execute(&mut *tx).await?.rows_affected() == 1 {
        query(
            "UPDATE audit_head SET seq = ?, hash = ? WHERE tenant_id = ?".to_string(),
            vec![int(seq), Arg::Text(e.hash), Arg::Text(e.tenant.to_string())],
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Inserts one row and its audit entry in one transaction; a uniqueness
/// refusal becomes [`StoreError::Conflict`] with `conflict`'s text.
async fn insert_audited(
    pool: &mut Conn,
    sql: String,
    args: Vec<Arg>,
    audit: &AuditEntry,
    conflict: impl FnOnce() -> String,
) -> Result<(), StoreError> {
    let mut tx = sqlx::Connection::begin(&mut *pool).await?;
    if let Err(e) = query(sql, args).execute(&mut *tx).await {
        return Err(if is_unique_violation(&e) {
            StoreError::Conflict(conflict())
        } else {
            e.into()
        });
    }
    insert_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

/// Runs a compare-and-set update (its last argument the expected version)
/// and, when it took, the audit entries, in one transaction. False when
/// someone else changed the row first.
async fn update_audited(
    pool: &mut Conn,
    sql: String,
    args: Vec<Arg>,
    audit: &[AuditEntry],
    outbox: &[crate::store::outbound::OutboxRow],
) -> Result<bool, StoreError> {
    let mut tx = sqlx::Connection::begin(&mut *pool).await?;
    if query(sql, args).execute(&mut *tx).await?.rows_affected() != 1 {
        return Ok(false);
    }
    for a in audit {
        insert_audit(&mut tx, a).await?;
    }
    for r in outbox {
        let event = serde_json::to_string(&r.event)
            .map_err(|e| StoreError::Invalid(format!("event not encodable: {e}")))?;
        let at = Arg::Int(r.queued_at.timestamp_millis());
        query(
            "INSERT INTO outbox (tenant_id, destination, event_tenant, event_id, event, queued_at, next_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                .to_string(),
            vec![
                Arg::Text(crate::store::outbound::owner_key(r.owner.as_ref())),
                Arg::Text(r.destination.to_string()),
                Arg::Text(r.event.tenant.to_string()),
                Arg::Text(r.event.id.clone()),
                Arg::Text(event),
                at.clone(),
                at,
            ],
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn append_audit(pool: &Pool, e: &AuditEntry) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    insert_audit(&mut tx, e).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn audit(
    pool: &mut Conn,
    scope: &Scope,
    target: Option<&str>,
    limit: u32,
) -> Result<Vec<AuditEntry>, StoreError> {
    let mut args = scope_args(scope);
    let by_target = match target {
        Some(t) => {
            args.push(Arg::Text(t.to_string()));
            " AND target = ?"
        }
        None => "",
    };
    let sql = format!(
        "SELECT {AUDIT_COLS} FROM audit_log WHERE 1 = 1{}{by_target} ORDER BY id DESC LIMIT {}",
        tenant_filter(scope, "tenant_id"),
        limit.clamp(1, 10_000)
    );
    let rows = query(sql, args).fetch_all(&mut *pool).await?;
    let mut out: Vec<AuditEntry> = rows.iter().map(audit_row).collect::<Result<_, StoreError>>()?;
    out.reverse();
    Ok(out)
}

pub(super) async fn next_order_seq(
    pool: &mut Conn,
    tenant: &Id,
    device: &Id,
    floor: u64,
) -> Result<u64, StoreError> {
    let sql = "INSERT INTO order_seq (tenant_id, device_id, seq) VALUES (?, ?, ?)
         ON CONFLICT (tenant_id, device_id) DO UPDATE SET seq =
           CASE WHEN order_seq.seq + 1 > excluded.seq THEN order_seq.seq + 1 ELSE excluded.seq END
         RETURNING seq"
        .to_string();
    let args = vec![
        Arg::Text(tenant.to_string()),
        Arg::Text(device.to_string()),
        int(floor),
    ];
    let row = query(sql, args).fetch_one(&mut *pool).await?;
    uint(&row, "seq")
}

pub(super) async fn insert_push(pool: &mut Conn, p: &Push, audit: &AuditEntry) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO pushes ({PUSH_COLUMNS}) VALUES ({})",
        vec!["?"; 24].join(", ")
    );
    let [state, deadline, revert_reason] = state_args(&p.state);
    let args = vec![
        Arg::Text(p.tenant.to_string()),
        Arg::Text(p.id.to_string()),
        Arg::Text(p.device.to_string()),
        Arg::OptText(p.rollout.as_ref().map(|r| r.to_string())),
        Arg::Int(i64::from(p.wave)),
        state,
        revert_reason,
        deadline,
        int(p.version),
        int(p.seq),
        Arg::Text(p.body.clone()),
        Arg::OptText(p.previous.clone()),
        Arg::Text(p.reason.to_string()),
        Arg::Text(p.actor.to_string()),
        Arg::Int(i64::from(p.window_s)),
        Arg::Int(p.created.timestamp_millis()),
        Arg::Int(p.order_expires.timestamp_millis()),
        opt_ms(p.confirm_sent),
        opt_ms(p.revert_sent),
        opt_ms(p.reported),
        Arg::OptText(p.detail.as_ref().map(|d| d.to_string())),
        Arg::Int(p.updated.timestamp_millis()),
        opt_seq(p.confirm_seq),
        opt_seq(p.revert_seq),
    ];
    insert_audited(&mut *pool, sql, args, audit, || {
        format!(
            "{} already has a push in progress, or push {} exists",
            p.device, p.id
        )
    })
    .await
}

pub(super) async fn update_push(
    pool: &mut Conn,
    p: &Push,
    expected_version: u64,
    audit: &[AuditEntry],
    outbox: &[crate::store::outbound::OutboxRow],
) -> Result<bool, StoreError> {
    let sql = "UPDATE pushes SET state = ?, deadline = ?, revert_reason = ?, confirm_sent = ?,
           revert_sent = ?, reported = ?, detail = ?, updated = ?, confirm_seq = ?,
           revert_seq = ?, version = version + 1
         WHERE tenant_id = ? AND id = ? AND version = ?"
        .to_string();
    let mut args = push_mutable_args(p);
    args.extend([
        Arg::Text(p.tenant.to_string()),
        Arg::Text(p.id.to_string()),
        int(expected_version),
    ]);
    update_audited(&mut *pool, sql, args, audit, outbox).await
}

pub(super) async fn push(pool: &mut Conn, scope: &Scope, push: &Id) -> Result<Option<Push>, StoreError> {
    let sql = format!(
        "SELECT {PUSH_COLUMNS} FROM pushes WHERE id = ?{}",
        tenant_filter(scope, "tenant_id")
    );
    let mut args = vec![Arg::Text(push.to_string())];
    args.extend(scope_args(scope));
    let row = query(sql, args).fetch_optional(&mut *pool).await?;
    row.as_ref().map(push_row).transpose()
}

pub(super) async fn pushes(pool: &mut Conn, scope: &Scope, q: &PushQuery) -> Result<Vec<Push>, StoreError> {
    let mut sql = format!(
        "SELECT {PUSH_COLUMNS} FROM pushes WHERE 1 = 1{}",
        tenant_filter(scope, "tenant_id")
    );
    let mut args = scope_args(scope);
    if let Some(d) = &q.device {
        sql.push_str(" AND device_id = ?");
        args.push(Arg::Text(d.to_string()));
    }
    if let Some(r) = &q.rollout {
        sql.push_str(" AND rollout_id = ?");
        args.push(Arg::Text(r.to_string()));
    }
    if q.open_only {
        sql.push_str(" AND state IN ('draft', 'sent', 'applied')");
    }
    sql.push_str(&format!(
        " ORDER BY created DESC, id DESC LIMIT {}",
        q.limit.clamp(1, 10_000)
    ));
    let rows = query(sql, args).fetch_all(&mut *pool).await?;
    rows.iter().map(push_row).collect()
}

const ROLLOUT_COLUMNS: &str = "tenant_id, id, state, devices, wave_size, next_index, wave, body,
    reason, actor, window_s, created, updated, detail, version";

fn rollout_row(row: &DbRow) -> Result<Rollout, StoreError> {
    let devices: String = row.try_get("devices")?;
    let state: String = row.try_get("state")?;
    Ok(Rollout {
        tenant: id(row, "tenant_id")?,
        id: id(row, "id")?,
        state: parse("rollout state", state, enum_parse::<RolloutState>)?,
        devices: serde_json::from_str(&devices).map_err(|_| StoreError::Corrupt {
            what: "rollout devices",
            value: devices.clone(),
        })?,
        wave_size: u32_col(row, "wave_size")?,
        next_index: u32_col(row, "next_index")?,
        wave: u32_col(row, "wave")?,
        body: row.try_get("body")?,
        reason: text(row, "reason")?,
        actor: text(row, "actor")?,
        window_s: u32_col(row, "window_s")?,
        created: ts(row, "created")?.unwrap_or_default(),
        updated: ts(row, "updated")?.unwrap_or_default(),
        detail: opt_text(row, "detail")?,
        version: uint(row, "version")?,
    })
}

pub(super) async fn insert_rollout(
    pool: &mut Conn,
    r: &Rollout,
    audit: &AuditEntry,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO rollouts ({ROLLOUT_COLUMNS}) VALUES ({})",
        vec!["?"; 15].join(", ")
    );
    let args = vec![
        Arg::Text(r.tenant.to_string()),
        Arg::Text(r.id.to_string()),
        Arg::Text(crate::domain::enum_name(&r.state)),
        Arg::Text(serde_json::to_string(&r.devices).unwrap_or_else(|_| "[]".into())),
        Arg::Int(i64::from(r.wave_size)),
        Arg::Int(i64::from(r.next_index)),
        Arg::Int(i64::from(r.wave)),
        Arg::Text(r.body.clone()),
        Arg::Text(r.reason.to_string()),
        Arg::Text(r.actor.to_string()),
        Arg::Int(i64::from(r.window_s)),
        Arg::Int(r.created.timestamp_millis()),
        Arg::Int(r.updated.timestamp_millis()),
        Arg::OptText(r.detail.as_ref().map(|d| d.to_string())),
        int(r.version),
    ];
    insert_audited(&mut *pool, sql, args, audit, || format!("rollout {} exists", r.id)).await
}

pub(super) async fn update_rollout(
    pool: &mut Conn,
    r: &Rollout,
    expected_version: u64,
    audit: &[AuditEntry],
) -> Result<bool, StoreError> {
    let sql = "UPDATE rollouts SET state = ?, next_index = ?, wave = ?, detail = ?, updated = ?,
           version = version + 1
         WHERE tenant_id = ? AND id = ? AND version = ?"
        .to_string();
    let args = vec![
        Arg::Text(crate::domain::enum_name(&r.state)),
        Arg::Int(i64::from(r.next_index)),
        Arg::Int(i64::from(r.wave)),
        Arg::OptText(r.detail.as_ref().map(|d| d.to_string())),
        Arg::Int(r.updated.timestamp_millis()),
        Arg::Text(r.tenant.to_string()),
        Arg::Text(r.id.to_string()),
        int(expected_version),
    ];
    update_audited(&mut *pool, sql, args, audit, &[]).await
}

pub(super) async fn rollouts(
    pool: &mut Conn,
    scope: &Scope,
    id_filter: Option<&Id>,
    running_only: bool,
) -> Result<Vec<Rollout>, StoreError> {
    let mut sql = format!(
        "SELECT {ROLLOUT_COLUMNS} FROM rollouts WHERE 1 = 1{}",
        tenant_filter(scope, "tenant_id")
    );
    let mut args = scope_args(scope);
    if let Some(r) = id_filter {
        sql.push_str(" AND id = ?");
        args.push(Arg::Text(r.to_string()));
    }
    if running_only {
        sql.push_str(" AND state = 'running'");
    }
    sql.push_str(" ORDER BY created DESC LIMIT 500");
    let rows = query(sql, args).fetch_all(&mut *pool).await?;
    rows.iter().map(rollout_row).collect()
}

pub(super) async fn latest_config(
    pool: &mut Conn,
    scope: &Scope,
    device: &Id,
) -> Result<Option<StoredConfig>, StoreError> {
    let sql = format!(
        "SELECT ts, format, body FROM config_snapshots WHERE device_id = ?{}
         ORDER BY ts DESC LIMIT 1",
        tenant_filter(scope, "tenant_id")
    );
    let mut args = vec![Arg::Text(device.to_string())];
    args.extend(scope_args(scope));
    let row = query(sql, args).fetch_optional(&mut *pool).await?;
    row.map(|r| {
        Ok(StoredConfig {
            ts: ts(&r, "ts")?.unwrap_or_default(),
            format: text(&r, "format")?,
            body: r.try_get("body")?,
        })
    })
    .transpose()
}
