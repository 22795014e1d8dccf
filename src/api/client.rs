//! Calling the api over the bus: typed (`call::<Verb>`) for programs that
//! know the verb, raw (`call_value`) for the console's effects, which
//! carry a verb's arguments already encoded.

use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::args::PageArgs;
use super::verbs::{self, Verb};
use super::wire::{Answer, RequestBody, Snapshot, SnapshotPage};
use super::{ApiError, ErrorCode};
use crate::bus::{Bus, subject};

/// The arguments of `V`, encoded as the body of an effect or a request.
pub fn encode_args<V: Verb>(args: &V::Args) -> serde_json::Value {
    serde_json::to_value(args).unwrap_or_else(|e| {
        // Args are plain data; this would be a bug in a type of this module.
        tracing::error!(verb = V::NAME, error = %e, "api arguments not encodable");
        serde_json::Value::Null
    })
}

/// Calls `V` and decodes its answer.
pub async fn call<V: Verb>(
    bus: &dyn Bus,
    token: &str,
    scope: &str,
    args: &V::Args,
    timeout: Duration,
) -> Result<V::Answer, ApiError> {
    let reply = request(bus, Some(token), scope, V::NAME, args, timeout).await?;
    decode_answer(&reply)
}

/// Logs in: the one verb without a session. With `key` (the private
/// half of `args.keys.xkey`), the answer must come sealed to it: an
/// unsealed session is refused, whoever sent it.
pub async fn login(
    bus: &dyn Bus,
    scope: &str,
    args: &super::args::LoginArgs,
    key: Option<&nkeys::XKey>,
    timeout: Duration,
) -> Result<super::wire::Session, ApiError> {
    let reply = request(bus, None, scope, verbs::Login::NAME, args, timeout).await?;
    let Some(key) = key else {
        return decode_answer(&reply);
    };
    if let Some(opened) = super::grant::open(&reply, key)? {
        return decode_answer(&opened);
    }
    match decode_answer::<super::wire::Session>(&reply) {
        Ok(_) => Err(ApiError::new(
            ErrorCode::BadAnswer,
            "the login answer was not sealed to this client's key",
        )),
        Err(e) => Err(e),
    }
}

/// A fresh JWT for the caller's NATS key `nkey`.
pub async fn renew(
    bus: &dyn Bus,
    token: &str,
    scope: &str,
    nkey: &str,
    timeout: Duration,
) -> Result<super::grant::NatsGrant, ApiError> {
    let args = super::grant::RenewArgs {
        nkey: nkey.to_string(),
    };
    call::<verbs::Renew>(bus, token, scope, &args, timeout).await
}

/// Calls a verb by name with arguments already encoded, and decodes its
/// answer as `T`.
pub async fn call_value<T: DeserializeOwned>(
    bus: &dyn Bus,
    token: &str,
    scope: &str,
    verb: &str,
    args: serde_json::Value,
    timeout: Duration,
) -> Result<T, ApiError> {
    let reply = request(bus, Some(token), scope, verb, &args, timeout).await?;
    decode_answer(&reply)
}

async fn request<A: Serialize>(
    bus: &dyn Bus,
    token: Option<&str>,
    scope: &str,
    verb: &str,
    args: &A,
    timeout: Duration,
) -> Result<Bytes, ApiError> {
    let body = RequestBody {
        token: token.map(str::to_string),
        args,
    };
    let body = serde_json::to_vec(&body)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("request not encodable: {e}")))?;
    bus.request(&subject::api(scope, verb), Bytes::from(body), timeout)
        .await
        .map_err(|e| ApiError::new(ErrorCode::Bus, e.to_string()))
}

/// Decodes an api answer. An answer that is neither `ok` of the expected
/// shape nor an `error` is a `bad-answer`, never a default.
pub fn decode_answer<T: DeserializeOwned>(reply: &[u8]) -> Result<T, ApiError> {
    match serde_json::from_slice::<Answer<T>>(reply) {
        Ok(Answer::Ok(v)) => Ok(v),
        Ok(Answer::Error(e)) => Err(e),
        Err(e) => Err(ApiError::new(ErrorCode::BadAnswer, e.to_string())),
    }
}

/// Takes a snapshot page by page and puts it back together.
pub async fn fetch_snapshot(
    bus: &dyn Bus,
    token: &str,
    scope: &str,
    page: u32,
    timeout: Duration,
) -> Result<Snapshot, ApiError> {
    let first: SnapshotPage = call::<verbs::Snapshot>(
        bus,
        token,
        scope,
        &PageArgs {
            limit: Some(page),
            ..PageArgs::default()
        },
        timeout,
    )
    .await?;
    let total = usize::try_from(first.total).unwrap_or(usize::MAX);
    let mut devices = first.devices;
    while devices.len() < total {
        let next = call::<verbs::SnapshotPageOf>(
            bus,
            token,
            scope,
            &PageArgs {
                id: first.id.clone(),
                offset: devices.len() as u64,
                limit: Some(page),
            },
            timeout,
        )
        .await?;
        if next.devices.is_empty() {
            return Err(ApiError::new(
                ErrorCode::BadAnswer,
                "snapshot page came back empty",
            ));
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
