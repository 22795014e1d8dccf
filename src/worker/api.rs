//! The worker's side of the api (`crate::api` is the contract): checks
//! every request's session and role against the verb table, then runs the
//! verb's handler, typed `(call, Args) -> Result<Answer, ApiError>`.

mod fleet;
mod outbound;
mod push;
mod users;
mod views;

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::api::verbs::{self as v, Verb};
use crate::api::wire::Answer;
use crate::api::{ApiError, ErrorCode};
use crate::auth::Sessions;
use crate::bus::{Bus, BusError, Request, subject};
use crate::domain::Id;
use crate::domain::access::Principal;
use crate::store::{Scope, Store, StoreError};
use crate::worker::push::{PushError, Pushes};
use crate::worker::snapshots::Snapshots;

/// The queue group of api servers.
pub const QUEUE: &str = "vigie-api";

/// Api requests handled at once; more wait, unread, on the bus (whose
/// own limits then drop a flood) instead of piling up as tasks.
pub const MAX_IN_FLIGHT: usize = 256;

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            // vigie's own words about a refused write: safe to answer.
            StoreError::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
            // Anything else is the database's: its text (constraint and
            // table names, driver messages) stays in the log.
            other => ApiError::new(ErrorCode::Storage, other.to_string()),
        }
    }
}

impl From<PushError> for ApiError {
    fn from(e: PushError) -> Self {
        ApiError::new(e.code(), e.to_string())
    }
}

impl From<BusError> for ApiError {
    fn from(e: BusError) -> Self {
        ApiError::new(ErrorCode::Bus, e.to_string())
    }
}

/// A short random id that ties an answer to its log line.
fn request_id() -> String {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 8];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

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
        Some(v) => Err(ApiError::bad_request(format!(
            "{field}: {v} is outside 1..={max}"
        ))),
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
        Err(ApiError::bad_request(format!(
            "{field}: {} is outside 2000-01-01..2200-01-01",
            t.to_rfc3339()
        )))
    }
}

/// A verb's arguments: an absent or empty body reads as `{}`, so a verb
/// whose fields may all be left out takes it, and one that needs a field
/// says which.
fn decode_args<V: Verb>(payload: &[u8]) -> Result<V::Args, ApiError> {
    let payload = if payload.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        payload
    };
    serde_json::from_slice(payload).map_err(|e| ApiError::bad_request(e.to_string()))
}

pub(super) fn to_json<T: serde::Serialize>(v: T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))
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
    /// Signs users' NATS credentials at `login` and `renew` (`None`: the
    /// deployment hands out credentials some other way).
    pub grants: Option<Arc<super::grant::Granter>>,
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
            grants: None,
        }
    }

    /// The same, signing users' NATS credentials with `grants`.
    pub fn with_grants(mut self, grants: Option<Arc<super::grant::Granter>>) -> Self {
        self.grants = grants;
        self
    }

    /// The same, answering only under `prefix`.
    pub fn with_inbox_prefix(mut self, prefix: &str) -> Self {
        self.inbox_prefix = prefix.to_string();
        self
    }
}

/// One authorized request, as its handler sees it.
pub(super) struct Call<'a> {
    pub ctx: &'a ApiContext,
    pub snapshots: &'a Snapshots,
    pub who: &'a Principal,
    pub scope: &'a Scope,
}

impl Call<'_> {
    pub fn store(&self) -> &dyn Store {
        self.ctx.store.as_ref()
    }
}

/// Serves the api until the bus closes.
pub async fn serve(ctx: ApiContext) -> Result<(), BusError> {
    let mut service = ctx.bus.serve("vigie.api.*.*", QUEUE).await?;
    let snapshots: Arc<Snapshots> = Arc::default();
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
        let (ctx, snapshots) = (ctx.clone(), Arc::clone(&snapshots));
        tokio::spawn(async move {
            handle(ctx, snapshots, req).await;
            drop(permit);
        });
    }
    Ok(())
}

/// Every request: a session token (none for `login`) and the verb's
/// arguments, kept raw until the verb is known.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(default)]
    token: Option<String>,
    #[serde(borrow, default)]
    args: Option<&'a serde_json::value::RawValue>,
}

/// A verb's answer, and the key it is sealed to when the caller asked.
struct Reply {
    value: serde_json::Value,
    seal_to: Option<nkeys::XKey>,
}

impl From<serde_json::Value> for Reply {
    fn from(value: serde_json::Value) -> Self {
        Self {
            value,
            seal_to: None,
        }
    }
}

async fn handle(ctx: ApiContext, snapshots: Arc<Snapshots>, req: Request) {
    let mut seal_to = None;
    let answer = match authorized(&ctx, &snapshots, &req.subject, &req.payload).await {
        Ok(r) => {
            seal_to = r.seal_to;
            Answer::Ok(r.value)
        }
        Err(e) if e.code.is_internal() => {
            let request = request_id();
            tracing::warn!(subject = %req.subject, request, code = %e.code, error = %e.message, "api request failed");
            Answer::Error(ApiError::new(
                e.code,
                format!("the worker could not answer (request {request}; its log has the detail)"),
            ))
        }
        Err(e) => {
            // The code and message only: arguments may hold secrets.
            tracing::info!(subject = %req.subject, code = %e.code, error = %e.message, "api request refused");
            Answer::Error(e)
        }
    };
    let body = match serde_json::to_vec(&answer) {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(subject = %req.subject, error = %e, "api answer not encodable");
            return;
        }
    };
    let body = match seal_to.map(|k| crate::api::grant::seal(&body, &k)) {
        None => body,
        Some(Ok(sealed)) => sealed,
        Some(Err(e)) => {
            tracing::error!(subject = %req.subject, error = %e.message, "api answer not sealed");
            return;
        }
    };
    if let Err(e) = req.reply.send(Bytes::from(body)).await {
        tracing::warn!(error = %e, subject = %req.subject, "api reply not sent");
    }
}

/// Checks the session and the role before the verb does anything.
async fn authorized(
    ctx: &ApiContext,
    snapshots: &Snapshots,
    subj: &str,
    payload: &[u8],
) -> Result<Reply, ApiError> {
    let (scope, verb) = subject::parse_api(subj)
        .ok_or_else(|| ApiError::bad_request(format!("bad api subject {subj:?}")))?;
    let scope = if scope == subject::ALL_TENANTS {
        Scope::All
    } else {
        Scope::Tenant(Id::parse(scope).map_err(|e| ApiError::bad_request(e.to_string()))?)
    };
    let env: Envelope = serde_json::from_slice(payload).map_err(|e| {
        ApiError::bad_request(format!("a request is {{\"token\": …, \"args\": …}}: {e}"))
    })?;
    let args = env
        .args
        .map(|a| a.get().as_bytes())
        .filter(|a| *a != b"null")
        .unwrap_or(b"");
    let now = chrono::Utc::now();
    if verb == v::Login::NAME {
        return login(ctx, args, now).await;
    }
    let Some(need) = crate::api::verbs::need(verb) else {
        return Err(ApiError::new(
            ErrorCode::UnknownVerb,
            format!("no api verb {verb:?}"),
        ));
    };
    let token = env.token.ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unauthenticated,
            format!("{verb} needs a session: vigie login"),
        )
    })?;
    let who = ctx
        .sessions
        .principal(ctx.store.as_ref(), &token, now)
        .await?;
    who.may(scope.tenant(), verb, need)?;
    if verb == v::Renew::NAME {
        let a = decode_args::<v::Renew>(args)?;
        let g = ctx.grants.as_ref().ok_or_else(no_grants)?;
        let ends = ctx.sessions.expires(&token, now)?;
        return Ok(to_json(g.grant(&who, &a.nkey, ends, now)?)?.into());
    }
    let call = Call {
        ctx,
        snapshots,
        who: &who,
        scope: &scope,
    };
    Ok(dispatch(&call, verb, args).await?.into())
}

fn no_grants() -> ApiError {
    ApiError::new(
        ErrorCode::Unavailable,
        "this worker does not issue NATS credentials (it runs without --nats-dir)",
    )
}

/// `login`: the session, with the user's NATS credentials when the
/// worker issues them, sealed to the client's key when it brought one.
/// A worker that issues credentials takes only logins that bring keys:
/// an unsealed session would be read by every holder of the login
/// credential.
async fn login(ctx: &ApiContext, args: &[u8], now: DateTime<Utc>) -> Result<Reply, ApiError> {
    let a = decode_args::<v::Login>(args)?;
    let seal_to = a
        .keys
        .as_ref()
        .map(crate::api::grant::check_keys)
        .transpose()?;
    if ctx.grants.is_some() && seal_to.is_none() {
        return Err(ApiError::bad_request(
            "keys: this worker issues NATS credentials at login, so a login must bring its own keys (see docs/PROTOCOL.md, Login)",
        ));
    }
    let session = ctx
        .sessions
        .login(ctx.store.as_ref(), &a.user, &a.password, now)
        .await;
    if let Err(e) = &session
        && e.code == ErrorCode::Throttled
    {
        ctx.stats
            .logins_throttled
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let mut session = session?;
    if let (Some(g), Some(keys)) = (&ctx.grants, &a.keys) {
        session.nats = Some(g.grant(&session.principal, &keys.nkey, session.expires, now)?);
    }
    Ok(Reply {
        value: to_json(session)?,
        seal_to,
    })
}

/// Runs the verb's handler on its decoded arguments. Each row is the
/// verb's type and its handler; the compiler checks that the handler
/// takes the verb's arguments and returns its answer.
macro_rules! route {
    ($verb:expr, $payload:expr, |$a:ident| { $($V:ty => $handler:expr,)* }) => {
        match $verb {
            $(<$V as Verb>::NAME => {
                let $a: <$V as Verb>::Args = decode_args::<$V>($payload)?;
                let answer: <$V as Verb>::Answer = $handler?;
                to_json(answer)
            })*
            other => Err(ApiError::new(
                ErrorCode::UnknownVerb,
                format!("no api verb {other:?}"),
            )),
        }
    };
}

async fn dispatch(c: &Call<'_>, verb: &str, payload: &[u8]) -> Result<serde_json::Value, ApiError> {
    route!(verb, payload, |a| {
        v::Whoami => fleet::whoami(c, a),
        v::Snapshot => fleet::snapshot(c, a).await,
        v::SnapshotPageOf => fleet::snapshot_page(c, a),
        v::Counts => fleet::counts(c, a).await,
        v::Sites => fleet::sites(c, a).await,
        v::Map => fleet::map(c, a).await,
        v::Incidents => fleet::incidents(c, a).await,
        v::Fleet => fleet::fleet(c, a).await,
        v::Tenants => fleet::tenants(c, a).await,
        v::Alerts => fleet::alerts(c, a).await,
        v::Signal => fleet::signal(c, a).await,
        v::PushStatus => push::status(c, a).await,
        v::PushList => push::list(c, a).await,
        v::RolloutStatusOf => push::rollout_status(c, a).await,
        v::ConfigLatest => push::config_latest(c, a).await,
        v::Audit => push::audit(c, a).await,
        v::Device => views::device(c, a).await,
        v::Site => views::site(c, a).await,
        v::TrendsOf => views::trends(c, a).await,
        v::IncidentOf => views::incident(c, a).await,
        v::PushCreate => push::create(c, a).await,
        v::PushConfirm => push::confirm(c, a).await,
        v::PushRevert => push::revert(c, a).await,
        v::RolloutCreate => push::create_rollout(c, a).await,
        v::RolloutConfirm => push::confirm_rollout(c, a).await,
        v::IncidentActOn => super::triage::act(c.ctx.triage.as_ref(), c.who, c.scope, a).await,
        v::Users => users::list(c, a).await,
        v::UserAdd => users::add(c, a).await,
        v::UserDisable => users::set_disabled(c, a, true).await,
        v::UserEnable => users::set_disabled(c, a, false).await,
        v::OutboundList => outbound::list(c, a).await,
        v::OutboundDeliveries => outbound::deliveries(c, a).await,
        v::OutboundTest => outbound::test(c, a).await,
        v::OutboundReplay => outbound::replay(c, a).await,
        v::OutboundPause => outbound::set_paused(c, a, true).await,
        v::OutboundResume => outbound::set_paused(c, a, false).await,
    })
}
