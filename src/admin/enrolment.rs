//! `vigie enrol create`: a one-time code that lets one device's agent
//! obtain its own NATS credentials (see `worker::enrol`).

use chrono::{DateTime, Duration, Utc};

use super::users::AdminError;
use crate::domain::Id;
use crate::domain::audit::AuditEntry;
use crate::domain::enrolment::{self, Enrolment};
use crate::domain::model::DeviceKind;
use crate::store::{Scope, Store};

/// Shortest and longest life of a code.
pub const TTL: (Duration, Duration) = (Duration::minutes(1), Duration::days(30));

/// What a code is for.
pub struct Request {
    pub tenant: Id,
    pub device: Id,
    /// With `kind`: where to create the device when it is not in the
    /// inventory at enrolment.
    pub site: Option<Id>,
    pub kind: Option<DeviceKind>,
    pub ttl: Duration,
}

/// Creates a code (stored as its hash, audited) and returns it: the only
/// time it is shown.
pub async fn create(
    store: &dyn Store,
    r: &Request,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<String, AdminError> {
    let invalid = |m: String| AdminError::Invalid(m);
    if r.ttl < TTL.0 || r.ttl > TTL.1 {
        return Err(invalid(format!(
            "--ttl: a code lives from {} minute to {} days",
            TTL.0.num_minutes(),
            TTL.1.num_days()
        )));
    }
    if !store.tenants().await?.iter().any(|t| t.id == r.tenant) {
        return Err(invalid(format!("no tenant {}", r.tenant)));
    }
    let inv = store.inventory(&Scope::Tenant(r.tenant.clone())).await?;
    let known = inv.devices.iter().any(|d| d.id == r.device);
    match (&r.site, r.kind) {
        (None, None) if !known => {
            return Err(invalid(format!(
                "no device {} of {} in the inventory: import it first, or give --site and --kind to create it at enrolment",
                r.device, r.tenant
            )));
        }
        (Some(site), Some(_)) if !inv.sites.iter().any(|s| &s.id == site) => {
            return Err(invalid(format!("no site {site} of {}", r.tenant)));
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(invalid("--site and --kind go together".into()));
        }
        _ => {}
    }
    let mut random = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random)
        .map_err(|_| invalid("the system random generator failed".into()))?;
    let code = enrolment::code_from(&random);
    let normal =
        enrolment::normalize(&code).ok_or_else(|| invalid("a code could not be made".into()))?;
    let e = Enrolment {
        tenant: r.tenant.clone(),
        device: r.device.clone(),
        site: r.site.clone(),
        kind: r.kind,
        created_by: actor.to_string(),
        created_at: now,
        expires_at: now + r.ttl,
    };
    let audit = AuditEntry::new(
        &r.tenant,
        now,
        actor,
        "enrol.create",
        format!("device/{}", r.device),
    )
    .change(
        "none",
        &format!("one-time code, expires {}", e.expires_at.to_rfc3339()),
    );
    store
        .create_enrolment(&enrolment::code_hash(&normal), &e, &audit)
        .await?;
    Ok(code)
}
