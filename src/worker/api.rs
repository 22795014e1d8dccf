//! The request/reply api the console (and scripts) use:
//! `vigie.api.{scope}.{verb}` where scope is a tenant id or `_all`.
//! Every answer is `{"ok": …}` or `{"error": {"code", "message"}}`.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::bus::{Bus, BusError, Request, Stream, subject};
use crate::domain::Id;
use crate::domain::incident::Incident;
use crate::domain::model::DeviceRow;
use crate::store::{FleetQuery, Scope, StatusCounts, Store, StoreError};

/// The queue group of api servers.
pub const QUEUE: &str = "vigie-api";

/// A consistent starting point for a console: the rows and the events
/// sequence they include. Follow the events stream from `events_seq + 1`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub events_seq: u64,
    pub counts: StatusCounts,
    pub devices: Vec<DeviceRow>,
    pub incidents: Vec<Incident>,
}

/// An api failure, as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

impl ApiError {
    fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::new("storage", e.to_string())
    }
}

impl From<BusError> for ApiError {
    fn from(e: BusError) -> Self {
        ApiError::new("bus", e.to_string())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Answer<T> {
    Ok(T),
    Error(ApiError),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LimitArgs {
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    device: Option<Id>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesArgs {
    device: Id,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
}

fn args<T: for<'de> Deserialize<'de> + Default>(payload: &[u8]) -> Result<T, ApiError> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(payload).map_err(|e| ApiError::new("bad-request", e.to_string()))
}

fn to_json<T: Serialize>(v: T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::new("internal", e.to_string()))
}

/// Serves the api until the bus closes.
pub async fn serve(
    bus: Arc<dyn Bus>,
    store: Arc<dyn Store>,
    publish_lock: Arc<Mutex<()>>,
) -> Result<(), BusError> {
    let mut service = bus.serve("vigie.api.*.*", QUEUE).await?;
    while let Some(req) = service.next().await {
        let (bus, store, lock) = (
            Arc::clone(&bus),
            Arc::clone(&store),
            Arc::clone(&publish_lock),
        );
        tokio::spawn(async move {
            handle(bus, store, lock, req).await;
        });
    }
    Ok(())
}

async fn handle(bus: Arc<dyn Bus>, store: Arc<dyn Store>, lock: Arc<Mutex<()>>, req: Request) {
    let answer = match answer(
        bus.as_ref(),
        store.as_ref(),
        &lock,
        &req.subject,
        &req.payload,
    )
    .await
    {
        Ok(v) => Answer::Ok(v),
        Err(e) => Answer::Error(e),
    };
    let body = serde_json::to_vec(&answer).unwrap_or_default();
    if let Err(e) = req.reply.send(Bytes::from(body)).await {
        tracing::warn!(error = %e, subject = %req.subject, "api reply not sent");
    }
}

async fn answer(
    bus: &dyn Bus,
    store: &dyn Store,
    lock: &Mutex<()>,
    subj: &str,
    payload: &[u8],
) -> Result<serde_json::Value, ApiError> {
    let (scope, verb) = subject::parse_api(subj)
        .ok_or_else(|| ApiError::new("bad-request", format!("bad api subject {subj:?}")))?;
    let scope = if scope == subject::ALL_TENANTS {
        Scope::All
    } else {
        Scope::Tenant(Id::parse(scope).map_err(|e| ApiError::new("bad-request", e.to_string()))?)
    };
    match verb {
        "snapshot" => {
            let _consistent = lock.lock().await;
            let events_seq = bus.last_seq(Stream::Events).await?;
            let page = store.fleet_page(&scope, &FleetQuery::default()).await?;
            let counts = store.status_counts(&scope).await?;
            let incidents = store.incident_queue(&scope, 500).await?;
            to_json(Snapshot {
                events_seq,
                counts,
                devices: page.rows,
                incidents,
            })
        }
        "fleet" => {
            let q: FleetQuery = args(payload)?;
            to_json(store.fleet_page(&scope, &q).await?)
        }
        "counts" => to_json(store.status_counts(&scope).await?),
        "sites" => to_json(store.sites(&scope).await?),
        "incidents" => {
            let a: LimitArgs = args(payload)?;
            to_json(store.incident_queue(&scope, a.limit.unwrap_or(200)).await?)
        }
        "alerts" => {
            let a: LimitArgs = args(payload)?;
            to_json(
                store
                    .alert_history(&scope, a.device.as_ref(), a.limit.unwrap_or(200))
                    .await?,
            )
        }
        "signal" => {
            let a: SeriesArgs = serde_json::from_slice(payload)
                .map_err(|e| ApiError::new("bad-request", e.to_string()))?;
            to_json(
                store
                    .signal_series(&scope, &a.device, a.since, a.until)
                    .await?,
            )
        }
        other => Err(ApiError::new(
            "unknown-verb",
            format!("no api verb {other:?}"),
        )),
    }
}

/// Calls an api verb and decodes its answer.
pub async fn call<T: for<'de> Deserialize<'de>>(
    bus: &dyn Bus,
    scope: &str,
    verb: &str,
    payload: serde_json::Value,
    timeout: std::time::Duration,
) -> Result<T, ApiError> {
    let body = serde_json::to_vec(&payload).unwrap_or_default();
    let reply = bus
        .request(&subject::api(scope, verb), Bytes::from(body), timeout)
        .await?;
    match serde_json::from_slice::<Answer<T>>(&reply) {
        Ok(Answer::Ok(v)) => Ok(v),
        Ok(Answer::Error(e)) => Err(e),
        Err(e) => Err(ApiError::new("bad-answer", e.to_string())),
    }
}
