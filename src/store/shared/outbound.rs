// Destinations and the outbox (see `store/outbound.rs`). Included by each
// backend's `read.rs` after `shared/push.rs` (whose `insert_audit` it uses).

use crate::domain::outbound::breaker::Breaker;
use crate::domain::outbound::destination::{Destination, Settings};
use crate::domain::outbound::event::OutEvent;
use crate::store::outbound::{
    Ack, Delivery, DestinationRow, OutboxItem, PROVIDER_OWNER, Settle, owner_key,
};

fn json_of<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(format!("not encodable: {e}")))
}

fn json_from<T: serde::de::DeserializeOwned>(what: &'static str, s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt {
        what,
        value: format!("{e}"),
    })
}

/// A destination's key and a row limit, as its queries take them.
fn destination_args(owner: Option<&Id>, dest: &Id, limit: u32) -> Vec<Arg> {
    vec![
        Arg::Text(owner_key(owner)),
        Arg::Text(dest.to_string()),
        Arg::Int(i64::from(limit)),
    ]
}

pub(super) async fn put_destination(
    pool: &Pool,
    d: &Destination,
    now: DateTime<Utc>,
    audit: &AuditEntry,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    query(
        "INSERT INTO destinations (tenant_id, id, kind, settings, paused, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant_id, id) DO UPDATE SET kind = excluded.kind,
             settings = excluded.settings, paused = excluded.paused, updated_at = excluded.updated_at"
            .to_string(),
        vec![
            Arg::Text(owner_key(d.tenant.as_ref())),
            Arg::Text(d.id.to_string()),
            Arg::Text(d.settings.kind.as_str().to_string()),
            Arg::Text(json_of(&d.settings)?),
            Arg::Bool(d.paused),
            Arg::Int(now.timestamp_millis()),
            Arg::Int(now.timestamp_millis()),
        ],
    )
    .execute(&mut *tx)
    .await?;
    insert_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn destinations(
    conn: &mut Conn,
    scope: &Scope,
) -> Result<Vec<DestinationRow>, StoreError> {
    let sql = format!(
        "SELECT tenant_id, id, settings, paused, breaker, created_at, updated_at
         FROM destinations WHERE 1 = 1{} ORDER BY tenant_id, id",
        tenant_filter(scope, "tenant_id")
    );
    let rows = query(sql, scope_args(scope)).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            let owner: String = r.try_get("tenant_id")?;
            let tenant = if owner == PROVIDER_OWNER {
                None
            } else {
                Some(id(r, "tenant_id")?)
            };
            let settings: String = r.try_get("settings")?;
            let breaker: String = r.try_get("breaker")?;
            Ok(DestinationRow {
                destination: Destination {
                    tenant,
                    id: id(r, "id")?,
                    settings: json_from::<Settings>("destination settings", &settings)?,
                    paused: r.try_get("paused")?,
                },
                breaker: json_from::<Breaker>("destination breaker", &breaker)?,
                created: from_ms(r.try_get("created_at")?),
                updated: from_ms(r.try_get("updated_at")?),
            })
        })
        .collect()
}

pub(super) async fn remove_destination(
    pool: &Pool,
    owner: Option<&Id>,
    dest: &Id,
    audit: &AuditEntry,
) -> Result<bool, StoreError> {
    let key = || vec![Arg::Text(owner_key(owner)), Arg::Text(dest.to_string())];
    let mut tx = pool.begin().await?;
    query(
        "DELETE FROM outbox WHERE tenant_id = ? AND destination = ?".to_string(),
        key(),
    )
    .execute(&mut *tx)
    .await?;
    let gone = query(
        "DELETE FROM destinations WHERE tenant_id = ? AND id = ?".to_string(),
        key(),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if gone == 0 {
        return Ok(false);
    }
    insert_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn set_breaker(
    pool: &Pool,
    owner: Option<&Id>,
    dest: &Id,
    b: &Breaker,
) -> Result<(), StoreError> {
    query(
        "UPDATE destinations SET breaker = ? WHERE tenant_id = ? AND id = ?".to_string(),
        vec![
            Arg::Text(json_of(b)?),
            Arg::Text(owner_key(owner)),
            Arg::Text(dest.to_string()),
        ],
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn outbox_due(
    pool: &Pool,
    owner: Option<&Id>,
    dest: &Id,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<OutboxItem>, StoreError> {
    // In order: the oldest pending rows, up to the first that is not due
    // (a row waiting for its retry holds back those after it).
    let rows = query(
        "SELECT seq, event, attempts, queued_at, next_at, ack_id, ack_since FROM outbox
         WHERE tenant_id = ? AND destination = ? AND state = 'pending'
         ORDER BY seq LIMIT ?"
            .to_string(),
        destination_args(owner, dest, limit),
    )
    .fetch_all(pool)
    .await?;
    let now = now.timestamp_millis();
    rows.iter()
        .take_while(|r| r.try_get::<i64, _>("next_at").is_ok_and(|n| n <= now))
        .map(|r| {
            let event: String = r.try_get("event")?;
            let attempts: i32 = r.try_get("attempts")?;
            let ack_id: Option<i64> = r.try_get("ack_id")?;
            let ack_since: Option<i64> = r.try_get("ack_since")?;
            Ok(OutboxItem {
                seq: r.try_get("seq")?,
                event: json_from::<OutEvent>("queued event", &event)?,
                attempts: u32::try_from(attempts).unwrap_or(0),
                queued_at: from_ms(r.try_get("queued_at")?),
                ack: match (ack_id.and_then(|i| u64::try_from(i).ok()), ack_since) {
                    (Some(id), Some(since)) => Some(Ack {
                        id,
                        since: from_ms(since),
                    }),
                    _ => None,
                },
            })
        })
        .collect()
}

pub(super) async fn settle(
    pool: &Pool,
    owner: Option<&Id>,
    seq: i64,
    how: &Settle,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    settle_one(&mut tx, owner, seq, how, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Several attempts' ends, in one transaction.
pub(super) async fn settle_all(
    pool: &Pool,
    owner: Option<&Id>,
    settled: &[(i64, Settle)],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for (seq, how) in settled {
        settle_one(&mut tx, owner, *seq, how, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn settle_one(
    tx: &mut Conn,
    owner: Option<&Id>,
    seq: i64,
    how: &Settle,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let ms = now.timestamp_millis();
    let (ack_id, ack_since) = match how {
        Settle::Acking { ack, .. } => (
            Some(i64::try_from(ack.id).unwrap_or(i64::MAX)),
            Some(ack.since.timestamp_millis()),
        ),
        _ => (None, None),
    };
    let counted = match how {
        Settle::Expired => false,
        Settle::Acking { sent, .. } => *sent,
        _ => true,
    };
    let (next_at, done_at, status, error, latency) = match how {
        Settle::Delivered { status, ms: l } => (None, Some(ms), *status, None, Some(*l)),
        Settle::Retry { next_at, status, error, ms: l } => {
            (Some(next_at.timestamp_millis()), None, *status, Some(error.clone()), Some(*l))
        }
        Settle::Dead { status, error } => (None, Some(ms), *status, Some(error.clone()), None),
        Settle::Expired => (None, Some(ms), None, Some("given up: queued too long".into()), None),
        Settle::Acking { ack, status, ms: l, note, .. } => (
            Some(ms),
            None,
            *status,
            Some(format!(
                "{}accepted; waiting for the indexer's acknowledgement (ack {})",
                note.as_ref().map_or(String::new(), |n| format!("{n}; ")),
                ack.id
            )),
            Some(*l),
        ),
    };
    // A receiver's words are kept, but only a few KiB of them.
    let error = error.map(|e| crate::domain::text::sanitize(&e, 4_096, true));
    query(
        "UPDATE outbox SET state = ?, attempts = attempts + ?, next_at = COALESCE(?, next_at),
             done_at = ?, last_status = ?, last_error = ?, last_ms = ?, ack_id = ?, ack_since = ?
         WHERE tenant_id = ? AND seq = ?"
            .to_string(),
        vec![
            Arg::Text(how.state().to_string()),
            Arg::Int(i64::from(counted)),
            Arg::OptInt(next_at),
            Arg::OptInt(done_at),
            Arg::OptInt(status.map(i64::from)),
            Arg::OptText(error),
            Arg::OptInt(latency.map(i64::from)),
            Arg::OptInt(ack_id),
            Arg::OptInt(ack_since),
            Arg::Text(owner_key(owner)),
            Arg::Int(seq),
        ],
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub(super) async fn deliveries(
    pool: &Pool,
    owner: Option<&Id>,
    dest: &Id,
    limit: u32,
) -> Result<Vec<Delivery>, StoreError> {
    let rows = query(
        "SELECT seq, event_id, state, attempts, queued_at, next_at, done_at, last_status,
             last_error, last_ms
         FROM outbox WHERE tenant_id = ? AND destination = ? ORDER BY seq DESC LIMIT ?"
            .to_string(),
        destination_args(owner, dest, limit),
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let attempts: i32 = r.try_get("attempts")?;
            let status: Option<i32> = r.try_get("last_status")?;
            let ms: Option<i32> = r.try_get("last_ms")?;
            let done: Option<i64> = r.try_get("done_at")?;
            Ok(Delivery {
                seq: r.try_get("seq")?,
                event_id: r.try_get("event_id")?,
                state: r.try_get("state")?,
                attempts: u32::try_from(attempts).unwrap_or(0),
                queued_at: from_ms(r.try_get("queued_at")?),
                next_at: from_ms(r.try_get("next_at")?),
                done_at: done.map(from_ms),
                last_status: status.and_then(|s| u16::try_from(s).ok()),
                last_error: r.try_get("last_error")?,
                last_ms: ms.and_then(|m| u32::try_from(m).ok()),
            })
        })
        .collect()
}

pub(super) async fn requeue(
    pool: &Pool,
    owner: Option<&Id>,
    dest: &Id,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let done = query(
        "UPDATE outbox SET state = 'pending', next_at = ?, done_at = NULL
         WHERE tenant_id = ? AND destination = ? AND state IN ('dead', 'expired')"
            .to_string(),
        vec![
            Arg::Int(now.timestamp_millis()),
            Arg::Text(owner_key(owner)),
            Arg::Text(dest.to_string()),
        ],
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn prune(
    pool: &Pool,
    owner: Option<&Id>,
    dest: &Id,
    before: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let done = query(
        "DELETE FROM outbox WHERE tenant_id = ? AND destination = ?
         AND state IN ('delivered', 'dead', 'expired') AND done_at < ?"
            .to_string(),
        vec![
            Arg::Text(owner_key(owner)),
            Arg::Text(dest.to_string()),
            Arg::Int(before.timestamp_millis()),
        ],
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn backlog(
    pool: &Pool,
    owner: Option<&Id>,
    dest: &Id,
) -> Result<(u64, Option<DateTime<Utc>>), StoreError> {
    let r = query(
        "SELECT COUNT(*) AS n, MIN(queued_at) AS oldest FROM outbox
         WHERE tenant_id = ? AND destination = ? AND state = 'pending'"
            .to_string(),
        vec![Arg::Text(owner_key(owner)), Arg::Text(dest.to_string())],
    )
    .fetch_one(pool)
    .await?;
    let oldest: Option<i64> = r.try_get("oldest")?;
    Ok((uint(&r, "n")?, oldest.map(from_ms)))
}
