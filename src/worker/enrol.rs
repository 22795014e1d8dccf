//! The worker's enrolment service: a one-time code and an agent's public
//! key in, that agent's user JWT out (signed with the account's signing
//! key, allowed only its own device's subjects). Every outcome is audited
//! in the tenant's log when the code is known.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::api::enrol::{EnrolReply, EnrolRequest, Enrolled, MAX_REQUEST_BYTES, SUBJECT};
use crate::bus::nats::deployment::{agent_inbox, agent_permissions};
use crate::bus::nats::jwt;
use crate::bus::{Bus, reply_allowed};
use crate::domain::audit::AuditEntry;
use crate::domain::enrolment::{self, Refusal};
use crate::domain::model::{Device, Inventory};
use crate::domain::{Id, SafeText};
use crate::store::{Scope, Store};

/// What the service signs with, and the order keys agents are told.
pub struct Enroller {
    /// vigie's account public key.
    pub account: String,
    /// The account's signing key.
    pub signer: nkeys::KeyPair,
    /// Public keys (base64) whose orders enrolled agents obey.
    pub trusted_keys: Vec<String>,
}

impl std::fmt::Debug for Enroller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the signing key.
        f.debug_struct("Enroller")
            .field("account", &self.account)
            .field("trusted_keys", &self.trusted_keys)
            .finish_non_exhaustive()
    }
}

fn refused(r: &Refusal) -> EnrolReply {
    let reason = serde_json::to_value(r)
        .ok()
        .and_then(|v| v.get("reason").and_then(|x| x.as_str()).map(str::to_string))
        .unwrap_or_else(|| "refused".into());
    EnrolReply::Refused {
        reason,
        message: r.to_string(),
    }
}

/// Answers one request.
pub async fn answer(
    store: &dyn Store,
    e: &Enroller,
    payload: &[u8],
    now: DateTime<Utc>,
) -> EnrolReply {
    if payload.len() > MAX_REQUEST_BYTES {
        return EnrolReply::Refused {
            reason: "too_large".into(),
            message: format!("an enrolment request is at most {MAX_REQUEST_BYTES} bytes"),
        };
    }
    let req: EnrolRequest = match serde_json::from_slice(payload) {
        Ok(r) => r,
        Err(err) => {
            return EnrolReply::Refused {
                reason: "malformed".into(),
                message: format!("not an enrolment request: {err}"),
            };
        }
    };
    if !enrolment::is_user_key(&req.public_key) {
        return refused(&Refusal::BadKey);
    }
    let Some(normal) = enrolment::normalize(&req.code) else {
        return refused(&Refusal::Unknown);
    };
    let outcome = match store
        .redeem_enrolment(&enrolment::code_hash(&normal), &req.public_key, now)
        .await
    {
        Ok(o) => o,
        Err(err) => {
            tracing::error!(error = %err, "enrolment not checked");
            return EnrolReply::Refused {
                reason: "unavailable".into(),
                message: "the enrolment could not be checked now: try again".into(),
            };
        }
    };
    let result = match outcome {
        Ok(en) => issue(store, e, &en, &req.public_key, now).await,
        Err(r) => Err(r),
    };
    audit(store, &result, &req.public_key, now).await;
    match result {
        Ok(done) => EnrolReply::Enrolled(done),
        Err(r) => {
            tracing::warn!(reason = %r, "enrolment refused");
            refused(&r)
        }
    }
}

/// The device made when the code says where, and the agent's JWT.
async fn issue(
    store: &dyn Store,
    e: &Enroller,
    en: &enrolment::Enrolment,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Enrolled, Refusal> {
    let no_device = || Refusal::NoDevice {
        tenant: en.tenant.clone(),
        device: en.device.clone(),
    };
    let inv = store
        .inventory(&Scope::Tenant(en.tenant.clone()))
        .await
        .map_err(|_| no_device())?;
    if !inv.devices.iter().any(|d| d.id == en.device) {
        let (Some(site), Some(kind)) = (&en.site, en.kind) else {
            return Err(no_device());
        };
        let device = Device {
            tenant: en.tenant.clone(),
            id: en.device.clone(),
            name: SafeText::new(en.device.as_str()),
            kind,
            site: site.clone(),
            sector: None,
            model: SafeText::default(),
            firmware: SafeText::default(),
            heartbeat_interval_s: 60,
        };
        let one = Inventory {
            devices: vec![device],
            ..Inventory::default()
        };
        store
            .import_inventory(&one)
            .await
            .map_err(|_| no_device())?;
    }
    let (tenant, device) = (en.tenant.as_str(), en.device.as_str());
    let perms = agent_permissions(tenant, device);
    let holder = format!("agent:{tenant}/{device}");
    let jwt = jwt::user(
        &e.signer,
        &e.account,
        key,
        &holder,
        &perms,
        now.timestamp(),
        None,
    )
    .map_err(|_| no_device())?;
    Ok(Enrolled {
        tenant: tenant.to_string(),
        device: device.to_string(),
        jwt,
        inbox_prefix: agent_inbox(tenant, device),
        trusted_keys: e.trusted_keys.clone(),
    })
}

async fn audit(
    store: &dyn Store,
    result: &Result<Enrolled, Refusal>,
    key: &str,
    now: DateTime<Utc>,
) {
    let entry = match result {
        Ok(done) => {
            let Ok(tenant) = Id::parse(&done.tenant) else {
                return;
            };
            AuditEntry::new(
                &tenant,
                now,
                "worker",
                "enrol.redeem",
                format!("device/{}", done.device),
            )
            .change("none", &format!("agent key {key}"))
        }
        Err(r) => {
            let Some(tenant) = r.tenant() else { return };
            AuditEntry::new(
                tenant,
                now,
                "worker",
                "enrol.refused",
                "enrolment".to_string(),
            )
            .change("none", &format!("{r} (agent key {key})"))
        }
    };
    if let Err(e) = store.append_audit(&entry).await {
        tracing::error!(error = %e, "enrolment not audited");
    }
}

/// Serves enrolments until the bus closes, answering only at reply
/// subjects under `inbox_prefix`.
pub async fn serve(
    bus: Arc<dyn Bus>,
    store: Arc<dyn Store>,
    e: Arc<Enroller>,
    inbox_prefix: String,
) {
    let mut svc = match bus.serve(SUBJECT, "vigie-enrol").await {
        Ok(s) => s,
        Err(err) => {
            tracing::error!(error = %err, "enrolment service not started");
            return;
        }
    };
    tracing::info!(subject = SUBJECT, "serving enrolments");
    while let Some(req) = svc.next().await {
        if !reply_allowed(&req.reply_to, &inbox_prefix) {
            tracing::warn!(reply_to = ?req.reply_to, "enrolment answer refused outside the inbox prefix");
            continue;
        }
        let reply = answer(store.as_ref(), &e, &req.payload, Utc::now()).await;
        let bytes = serde_json::to_vec(&reply).unwrap_or_default();
        if let Err(err) = req.reply.send(Bytes::from(bytes)).await {
            tracing::warn!(error = %err, "enrolment answer not sent");
        }
    }
}
