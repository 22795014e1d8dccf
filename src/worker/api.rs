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
use crate::domain::access::{self, Principal};
use crate::domain::fleet::{FleetQuery, StatusCounts};
use crate::domain::incident::Incident;
use crate::domain::model::DeviceRow;
use crate::store::{Scope, Store, StoreError};
use crate::worker::auth::Sessions;
use crate::worker::push::{PushError, Pushes};
use crate::worker::snapshots::Snapshots;

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

/// Devices per snapshot page: keeps every answer well under NATS's default
/// 1 MiB message limit.
pub const SNAPSHOT_PAGE: u32 = 1_000;

/// One page of a snapshot. The first page (from `snapshot`) carries
/// everything but the devices beyond the first page; the rest come from
/// `snapshot_page` with the snapshot's `id`, by the same user in the same
/// scope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotPage {
    /// 128 random bits as hex; empty when the snapshot fit in this page.
    pub id: String,
    pub events_seq: u64,
    pub counts: StatusCounts,
    pub incidents: Vec<Incident>,
    /// Devices in the whole snapshot.
    pub total: u64,
    pub offset: u64,
    pub devices: Vec<DeviceRow>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PageArgs {
    #[serde(default)]
    id: String,
    #[serde(default)]
    offset: u64,
    #[serde(default)]
    limit: Option<u32>,
}

fn page_of(id: String, snap: &Snapshot, offset: u64, limit: u32, with_head: bool) -> SnapshotPage {
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(snap.devices.len());
    let end = start
        .saturating_add(limit.clamp(1, 10 * SNAPSHOT_PAGE) as usize)
        .min(snap.devices.len());
    SnapshotPage {
        id,
        events_seq: snap.events_seq,
        counts: snap.counts,
        incidents: if with_head {
            snap.incidents.clone()
        } else {
            Vec::new()
        },
        total: snap.devices.len() as u64,
        offset: start as u64,
        devices: snap.devices[start..end].to_vec(),
    }
}

/// An api failure, as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            // vigie's own words about a refused write: safe to answer.
            StoreError::Conflict(m) => ApiError::new("conflict", m),
            // Anything else is the database's: its text (constraint and
            // table names, driver messages) stays in the log.
            other => ApiError::new("storage", other.to_string()),
        }
    }
}

/// Error codes whose message is the worker's internals: the client gets
/// the code and a request id, the log gets the detail.
const INTERNAL: [&str; 3] = ["storage", "internal", "bus"];

/// A short random id that ties an answer to its log line.
fn request_id() -> String {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 8];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl From<PushError> for ApiError {
    fn from(e: PushError) -> Self {
        ApiError::new(e.code(), e.to_string())
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

/// The most rows a `fleet` page holds (0 asks for the default page).
pub const MAX_FLEET_PAGE: u32 = 10_000;
/// The default `fleet` page.
pub const FLEET_PAGE: u32 = 1_000;
/// The most rows a list verb (`incidents`, `alerts`, `audit`,
/// `push_list`, `trends`) answers.
pub const MAX_LIST: u32 = 2_000;
/// The longest `fleet` filter text and `audit` target, in characters.
pub const MAX_FILTER: usize = 256;
/// Api requests handled at once; more wait, unread, on the bus (whose
/// own limits then drop a flood) instead of piling up as tasks.
pub const MAX_IN_FLIGHT: usize = 256;
/// The longest window of raw samples `signal` answers: 31 days.
pub const MAX_SIGNAL_RANGE: chrono::Duration = chrono::Duration::days(31);

/// `value` (or `default` when absent) when it is 1..=`max`; otherwise a
/// `bad-request` naming the field.
pub(super) fn capped(
    field: &str,
    value: Option<u32>,
    default: u32,
    max: u32,
) -> Result<u32, ApiError> {
    match value {
        None => Ok(default),
        Some(v) if (1..=max).contains(&v) => Ok(v),
        Some(v) => Err(ApiError::new(
            "bad-request",
            format!("{field}: {v} is outside 1..={max}"),
        )),
    }
}

/// A time an api request names, when it lies in the sane window (the
/// same as telemetry's, 2000 to 2200); a `bad-request` naming the field
/// otherwise. Arithmetic on the time can then never overflow.
pub(super) fn sane_time(field: &str, t: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    use crate::bus::envelope::{EARLIEST_TS_MS, LATEST_TS_MS};
    if (EARLIEST_TS_MS..LATEST_TS_MS).contains(&t.timestamp_millis()) {
        Ok(t)
    } else {
        Err(ApiError::new(
            "bad-request",
            format!(
                "{field}: {} is outside 2000-01-01..2200-01-01",
                t.to_rfc3339()
            ),
        ))
    }
}

pub(super) fn args<T: for<'de> Deserialize<'de> + Default>(payload: &[u8]) -> Result<T, ApiError> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(payload).map_err(|e| ApiError::new("bad-request", e.to_string()))
}

/// Arguments a verb requires: an empty body is an error.
pub(super) fn strict<T: for<'de> Deserialize<'de>>(payload: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(payload).map_err(|e| ApiError::new("bad-request", e.to_string()))
}

pub(super) fn to_json<T: Serialize>(v: T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::new("internal", e.to_string()))
}

/// What the api serves from: the worker's store, bus and pushes desk.
#[derive(Clone)]
pub struct ApiContext {
    pub bus: Arc<dyn Bus>,
    pub store: Arc<dyn Store>,
    /// The worker's snapshot lock (see `Worker::publish_lock`).
    pub publish_lock: Arc<Mutex<()>>,
    pub pushes: Arc<Pushes>,
    /// Checks every request's session.
    pub sessions: Arc<Sessions>,
    /// The worker's loop, for incident triage (`None`: triage refused).
    pub triage: Option<tokio::sync::mpsc::Sender<super::triage::TriageRequest>>,
    /// Answers go only to reply subjects under this prefix
    /// (`bus::reply_allowed`); others are dropped and counted.
    pub inbox_prefix: String,
    /// Where refusals are counted.
    pub stats: Arc<super::WorkerStats>,
}

impl ApiContext {
    /// The context of a running worker.
    pub fn of(
        worker: &crate::worker::Worker,
        bus: Arc<dyn Bus>,
        store: Arc<dyn Store>,
        sessions: Arc<Sessions>,
    ) -> Self {
        Self {
            bus,
            store,
            publish_lock: worker.publish_lock(),
            pushes: worker.pushes(),
            sessions,
            triage: Some(worker.triage_sender()),
            inbox_prefix: crate::bus::DEFAULT_INBOX_PREFIX.to_string(),
            stats: worker.stats(),
        }
    }

    /// The same, answering only under `prefix`.
    pub fn with_inbox_prefix(mut self, prefix: &str) -> Self {
        self.inbox_prefix = prefix.to_string();
        self
    }
}

/// Serves the api until the bus closes.
pub async fn serve(ctx: ApiContext) -> Result<(), BusError> {
    let mut service = ctx.bus.serve("vigie.api.*.*", QUEUE).await?;
    let cache: Cache = Arc::default();
    let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    while let Some(req) = service.next().await {
        if !crate::bus::reply_allowed(&req.reply_to, &ctx.inbox_prefix) {
            let n = ctx
                .stats
                .api_replies_refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // The first, then every power of two: a flood cannot flood the log.
            if n.is_power_of_two() || n == 0 {
                tracing::warn!(
                    subject = %req.subject,
                    reply_to = ?req.reply_to,
                    inbox_prefix = %ctx.inbox_prefix,
                    refused = n + 1,
                    "api request dropped: its reply subject is not under the inbox prefix"
                );
            }
            continue;
        }
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            break;
        };
        let (ctx, cache) = (ctx.clone(), Arc::clone(&cache));
        tokio::spawn(async move {
            handle(ctx, cache, req).await;
            drop(permit);
        });
    }
    Ok(())
}

type Cache = Arc<Snapshots>;

/// Every request: a session token (none for `login`) and the verb's
/// arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(default)]
    token: Option<String>,
    #[serde(borrow, default)]
    args: Option<&'a serde_json::value::RawValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginArgs {
    user: String,
    password: String,
}

async fn handle(ctx: ApiContext, cache: Cache, req: Request) {
    let answer = match authorized(&ctx, &cache, &req.subject, &req.payload).await {
        Ok(v) => Answer::Ok(v),
        Err(e) if INTERNAL.contains(&e.code.as_str()) => {
            let request = request_id();
            tracing::warn!(subject = %req.subject, request, code = %e.code, error = %e.message, "api request failed");
            Answer::Error(ApiError::new(
                &e.code,
                format!("the worker could not answer (request {request}; its log has the detail)"),
            ))
        }
        Err(e) => {
            // The code and message only: arguments may hold secrets.
            tracing::info!(subject = %req.subject, code = %e.code, error = %e.message, "api request refused");
            Answer::Error(e)
        }
    };
    let body = serde_json::to_vec(&answer).unwrap_or_default();
    if let Err(e) = req.reply.send(Bytes::from(body)).await {
        tracing::warn!(error = %e, subject = %req.subject, "api reply not sent");
    }
}

/// Checks the session and the role before the verb does anything.
async fn authorized(
    ctx: &ApiContext,
    cache: &Cache,
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
    let env: Envelope = serde_json::from_slice(payload).map_err(|e| {
        ApiError::new(
            "bad-request",
            format!("a request is {{\"token\": …, \"args\": …}}: {e}"),
        )
    })?;
    let args = env
        .args
        .map(|a| a.get().as_bytes())
        .filter(|a| *a != b"null")
        .unwrap_or(b"");
    let now = chrono::Utc::now();
    if verb == "login" {
        let a: LoginArgs = serde_json::from_slice(args)
            .map_err(|e| ApiError::new("bad-request", e.to_string()))?;
        let session = ctx
            .sessions
            .login(ctx.store.as_ref(), &a.user, &a.password, now)
            .await;
        if let Err(e) = &session
            && e.code == "throttled"
        {
            ctx.stats
                .logins_throttled
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        return to_json(session?);
    }
    if access::need(verb).is_none() {
        return Err(ApiError::new(
            "unknown-verb",
            format!("no api verb {verb:?}"),
        ));
    }
    let token = env.token.ok_or_else(|| {
        ApiError::new(
            "unauthenticated",
            format!("{verb} needs a session: vigie login"),
        )
    })?;
    let who = ctx
        .sessions
        .principal(ctx.store.as_ref(), &token, now)
        .await?;
    who.may(scope.tenant(), verb)
        .map_err(|r| ApiError::new(r.code(), r.to_string()))?;
    answer(ctx, cache, &who, &scope, verb, args).await
}

async fn answer(
    ctx: &ApiContext,
    cache: &Cache,
    who: &Principal,
    scope: &Scope,
    verb: &str,
    payload: &[u8],
) -> Result<serde_json::Value, ApiError> {
    let (bus, store, lock) = (ctx.bus.as_ref(), ctx.store.as_ref(), &ctx.publish_lock);
    let scope = scope.clone();
    match verb {
        "whoami" => to_json(who),
        "snapshot" => {
            let a: PageArgs = args(payload)?;
            let _in_flight = cache.begin(&who.user)?;
            let snap = cache
                .take(&scope, || async {
                    // Writes (and their events) wait only until the store's
                    // read view is fixed: the view and the sequence then
                    // agree, and the reads run while ingest goes on.
                    let consistent = Arc::clone(lock).lock_owned().await;
                    let events_seq = bus.last_seq(Stream::Events).await?;
                    let read = store
                        .fleet_snapshot(&scope, 500, Box::new(move || drop(consistent)))
                        .await?;
                    Ok(Snapshot {
                        events_seq,
                        counts: read.counts,
                        devices: read.devices,
                        incidents: read.incidents,
                    })
                })
                .await?;
            let limit = a
                .limit
                .unwrap_or(SNAPSHOT_PAGE)
                .clamp(1, 10 * SNAPSHOT_PAGE);
            let id = if snap.devices.len() > limit as usize {
                cache.keep(&who.user, &scope, Arc::clone(&snap))
            } else {
                String::new()
            };
            to_json(page_of(id, &snap, 0, limit, true))
        }
        "snapshot_page" => {
            let a: PageArgs = args(payload)?;
            let snap = cache.get(&who.user, &scope, &a.id)?;
            to_json(page_of(
                a.id,
                &snap,
                a.offset,
                a.limit.unwrap_or(SNAPSHOT_PAGE),
                false,
            ))
        }
        "fleet" => {
            let mut q: FleetQuery = args(payload)?;
            if q.text
                .as_ref()
                .is_some_and(|t| t.chars().count() > MAX_FILTER)
            {
                return Err(ApiError::new(
                    "bad-request",
                    format!("text: at most {MAX_FILTER} characters"),
                ));
            }
            q.limit = capped(
                "limit",
                (q.limit != 0).then_some(q.limit),
                FLEET_PAGE,
                MAX_FLEET_PAGE,
            )?;
            to_json(store.fleet_page(&scope, &q).await?)
        }
        "counts" => to_json(store.status_counts(&scope).await?),
        "tenants" => {
            let mut all = store.tenants().await?;
            all.retain(|t| scope.tenant().is_none_or(|s| *s == t.id));
            to_json(all)
        }
        "sites" => to_json(store.sites(&scope).await?),
        "map" => to_json(serde_json::json!({
            "sites": store.sites(&scope).await?,
            "aps": store.ap_links(&scope).await?,
        })),
        "incidents" => {
            let a: LimitArgs = args(payload)?;
            let limit = capped("limit", a.limit, 200, MAX_LIST)?;
            to_json(store.incident_queue(&scope, limit).await?)
        }
        "alerts" => {
            let a: LimitArgs = args(payload)?;
            let limit = capped("limit", a.limit, 200, MAX_LIST)?;
            to_json(
                store
                    .alert_history(&scope, a.device.as_ref(), limit)
                    .await?,
            )
        }
        "signal" => {
            let a: SeriesArgs = serde_json::from_slice(payload)
                .map_err(|e| ApiError::new("bad-request", e.to_string()))?;
            sane_time("since", a.since)?;
            sane_time("until", a.until)?;
            if a.since >= a.until || a.until - a.since > MAX_SIGNAL_RANGE {
                return Err(ApiError::new(
                    "bad-request",
                    "since..until: since before until, at most 31 days apart",
                ));
            }
            to_json(
                store
                    .signal_series(&scope, &a.device, a.since, a.until)
                    .await?,
            )
        }
        "incident_act" => super::triage::answer(ctx.triage.as_ref(), who, &scope, payload).await,
        verb if super::api_views::VERBS.contains(&verb) => {
            super::api_views::answer(store, ctx.triage.as_ref(), who, &scope, verb, payload).await
        }
        verb if super::api_users::VERBS.contains(&verb) => {
            super::api_users::answer(store, who, &scope, verb, payload).await
        }
        verb if super::api_push::is_push_verb(verb) => {
            super::api_push::answer(&ctx.pushes, store, who, &scope, verb, payload).await
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
    token: &str,
    scope: &str,
    verb: &str,
    payload: serde_json::Value,
    timeout: std::time::Duration,
) -> Result<T, ApiError> {
    let body = serde_json::json!({ "token": token, "args": payload });
    let body = serde_json::to_vec(&body).unwrap_or_default();
    let reply = bus
        .request(&subject::api(scope, verb), Bytes::from(body), timeout)
        .await?;
    decode_answer(&reply)
}

/// Decodes an api answer.
pub fn decode_answer<T: for<'de> Deserialize<'de>>(reply: &[u8]) -> Result<T, ApiError> {
    match serde_json::from_slice::<Answer<T>>(reply) {
        Ok(Answer::Ok(v)) => Ok(v),
        Ok(Answer::Error(e)) => Err(e),
        Err(e) => Err(ApiError::new("bad-answer", e.to_string())),
    }
}

/// Takes a snapshot page by page and puts it back together.
pub async fn fetch_snapshot(
    bus: &dyn Bus,
    token: &str,
    scope: &str,
    page: u32,
    timeout: std::time::Duration,
) -> Result<Snapshot, ApiError> {
    let first: SnapshotPage = call(
        bus,
        token,
        scope,
        "snapshot",
        serde_json::json!({ "limit": page }),
        timeout,
    )
    .await?;
    let total = usize::try_from(first.total).unwrap_or(usize::MAX);
    let mut devices = first.devices;
    while devices.len() < total {
        let next: SnapshotPage = call(
            bus,
            token,
            scope,
            "snapshot_page",
            serde_json::json!({ "id": &first.id, "offset": devices.len(), "limit": page }),
            timeout,
        )
        .await?;
        if next.devices.is_empty() {
            return Err(ApiError::new("bad-answer", "snapshot page came back empty"));
        }
        devices.extend(next.devices);
    }
    Ok(Snapshot {
        events_seq: first.events_seq,
        counts: first.counts,
        devices,
        incidents: first.incidents,
    })
}
