//! `vigie tenant create|list|show|configure|delete` and the provider's tier,
//! each change recorded in the audit log.

use chrono::{DateTime, Utc};

use super::users::{AdminError, PROVIDER_CHAIN, chain_of};
use crate::domain::Id;
use crate::domain::access::tenant_limit;
use crate::domain::audit::AuditEntry;
use crate::domain::model::{Tenant, Tier};
use crate::store::{Store, TenantUsage};

/// Tenant ids may not start with `_`: `_all` names every tenant in api
/// subjects and `_provider` is the provider's own audit chain.
pub fn check_tenant_id(id: &str) -> Result<Id, AdminError> {
    if id.starts_with('_') {
        return Err(AdminError::Invalid(format!(
            "tenant id {id:?}: ids starting with '_' are reserved"
        )));
    }
    Id::parse(id).map_err(|e| AdminError::Invalid(format!("tenant id {id:?}: {e}")))
}

fn describe(t: &Tenant) -> String {
    format!(
        "tier={} data_mode={} retention_days={} stale_after_s={} offline_after_s={}",
        crate::domain::enum_name(&t.tier),
        crate::domain::enum_name(&t.data_mode),
        t.retention_days,
        t.thresholds.stale_after_s,
        t.thresholds.offline_after_s
    )
}

/// Creates a tenant, within the provider's tier.
pub async fn create(
    store: &dyn Store,
    t: &Tenant,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    check_tenant_id(t.id.as_str())?;
    let (_, tier) = store.provider().await?;
    let count = store.tenants().await?.len();
    if let Some(limit) = tenant_limit(tier)
        && count >= limit
    {
        return Err(AdminError::Invalid(format!(
            "the {} tier allows {limit} tenants and there are {count}: \
             vigie provider configure --tier professional|enterprise",
            crate::domain::enum_name(&tier)
        )));
    }
    let audit = AuditEntry::new(
        &t.id,
        now,
        actor,
        "tenant.create",
        format!("tenant/{}", t.id),
    )
    .change("none", &describe(t));
    store.create_tenant(t, &audit).await?;
    Ok(())
}

/// Changes a tenant's settings.
pub async fn configure(
    store: &dyn Store,
    before: &Tenant,
    after: &Tenant,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    let audit = AuditEntry::new(
        &after.id,
        now,
        actor,
        "tenant.configure",
        format!("tenant/{}", after.id),
    )
    .change(&describe(before), &describe(after));
    if !store.update_tenant(after, &audit).await? {
        return Err(AdminError::Invalid(format!("no tenant {}", after.id)));
    }
    Ok(())
}

/// One tenant, or an error naming it.
pub async fn get(store: &dyn Store, id: &Id) -> Result<Tenant, AdminError> {
    store
        .tenants()
        .await?
        .into_iter()
        .find(|t| t.id == *id)
        .ok_or_else(|| AdminError::Invalid(format!("no tenant {id} (vigie tenant list)")))
}

/// Deletes a tenant and all its rows but its audit log. Without `force`,
/// only says what would go.
pub async fn delete(
    store: &dyn Store,
    id: &Id,
    force: bool,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(TenantUsage, bool), AdminError> {
    get(store, id).await?;
    if !force {
        return Ok((store.tenant_usage(id).await?, false));
    }
    let audit = AuditEntry::new(id, now, actor, "tenant.delete", format!("tenant/{id}"))
        .change("present", "deleted");
    Ok((store.delete_tenant(id, &audit).await?, true))
}

/// Sets the provider's name and tier.
pub async fn set_provider(
    store: &dyn Store,
    name: Option<&str>,
    tier: Option<Tier>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(String, Tier), AdminError> {
    let (old_name, old_tier) = store.provider().await?;
    let name = name.map_or(old_name.clone(), str::to_string);
    let tier = tier.unwrap_or(old_tier);
    let count = store.tenants().await?.len();
    if let Some(limit) = tenant_limit(tier)
        && count > limit
    {
        return Err(AdminError::Invalid(format!(
            "there are {count} tenants; the {} tier allows {limit}",
            crate::domain::enum_name(&tier)
        )));
    }
    let audit = AuditEntry::new(
        &chain_of(None),
        now,
        actor,
        "provider.configure",
        PROVIDER_CHAIN.to_string(),
    )
    .change(
        &format!(
            "name={old_name} tier={}",
            crate::domain::enum_name(&old_tier)
        ),
        &format!("name={name} tier={}", crate::domain::enum_name(&tier)),
    );
    store.set_provider(&name, tier, &audit).await?;
    Ok((name, tier))
}
