//! `vigie user add|passwd|list|disable|enable`: accounts, each recorded in the
//! audit log of its tenant (or of the provider, for provider-wide users).

use chrono::{DateTime, Utc};

use crate::auth::hash_password;
use crate::domain::Id;
use crate::domain::access::Role;
use crate::domain::audit::AuditEntry;
use crate::domain::user::UserRecord;
use crate::store::{Scope, Store, StoreError};

/// The audit chain of provider-wide changes (tenant ids cannot start with
/// `_`, see [`check_tenant_id`]).
pub const PROVIDER_CHAIN: &str = "_provider";

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(s: impl Into<String>) -> AdminError {
    AdminError::Invalid(s.into())
}

/// The chain an account's changes go to.
pub fn chain_of(tenant: Option<&Id>) -> Id {
    tenant
        .cloned()
        .unwrap_or_else(|| Id::from_static(PROVIDER_CHAIN))
}

/// User names: 1–64 of letters, digits, `.`, `_`, `-`, `@`.
pub fn check_name(name: &str) -> Result<(), AdminError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "user name {name:?}: use 1 to 64 letters, digits, '.', '_', '-' or '@'"
        )))
    }
}

pub fn check_password(password: &str) -> Result<(), AdminError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(invalid(format!(
            "the password is too short: at least {MIN_PASSWORD} characters"
        )));
    }
    // A login takes no longer password: a longer one could never be used.
    let max = crate::auth::MAX_PASSWORD;
    if password.len() > max {
        return Err(invalid(format!(
            "the password is too long: at most {max} bytes"
        )));
    }
    Ok(())
}

/// Adds an account. `super_admin` is provider-wide; every other role may
/// be bound to a tenant (which must exist) or provider-wide.
pub async fn add(
    store: &dyn Store,
    name: &str,
    tenant: Option<&Id>,
    role: Role,
    password: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<UserRecord, AdminError> {
    check_name(name)?;
    check_password(password)?;
    if role == Role::SuperAdmin && tenant.is_some() {
        return Err(invalid("super_admin is provider-wide: leave out --tenant"));
    }
    if let Some(t) = tenant
        && !store.tenants().await?.iter().any(|x| x.id == *t)
    {
        return Err(invalid(format!("no tenant {t} (vigie tenant list)")));
    }
    let hash = hash_password(password).map_err(AdminError::Invalid)?;
    let user = UserRecord {
        name: name.to_string(),
        tenant: tenant.cloned(),
        role,
        password_hash: hash,
        disabled: false,
        created: now,
        changed: now,
    };
    let audit = AuditEntry::new(
        &chain_of(tenant),
        now,
        actor,
        "user.add",
        format!("user/{name}"),
    )
    .change("none", role.as_str());
    store.insert_user(&user, &audit).await?;
    Ok(user)
}

async fn existing(store: &dyn Store, name: &str) -> Result<UserRecord, AdminError> {
    store
        .user(name)
        .await?
        .ok_or_else(|| invalid(format!("no user {name} (vigie user list)")))
}

/// Sets a new password; the user's sessions end.
pub async fn set_password(
    store: &dyn Store,
    name: &str,
    password: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    check_password(password)?;
    let mut u = existing(store, name).await?;
    u.password_hash = hash_password(password).map_err(AdminError::Invalid)?;
    u.changed = now;
    let audit = AuditEntry::new(
        &chain_of(u.tenant.as_ref()),
        now,
        actor,
        "user.passwd",
        format!("user/{name}"),
    );
    store.update_user(&u, &audit).await?;
    Ok(())
}

/// Disables or enables an account; disabling ends its sessions at once.
pub async fn set_disabled(
    store: &dyn Store,
    name: &str,
    disabled: bool,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    let mut u = existing(store, name).await?;
    let (before, after) = if disabled {
        ("enabled", "disabled")
    } else {
        ("disabled", "enabled")
    };
    u.disabled = disabled;
    u.changed = now;
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    let audit = AuditEntry::new(
        &chain_of(u.tenant.as_ref()),
        now,
        actor,
        action,
        format!("user/{name}"),
    )
    .change(before, after);
    store.update_user(&u, &audit).await?;
    Ok(())
}

/// The accounts of one tenant, or all of them.
pub async fn list(store: &dyn Store, tenant: Option<&Id>) -> Result<Vec<UserRecord>, AdminError> {
    let scope = tenant.map_or(Scope::All, |t| Scope::Tenant(t.clone()));
    Ok(store.users(&scope).await?)
}

/// The provider-wide administrator a local console runs as (demo and the
/// embedded console, where whoever reads the database file sees all of
/// it anyway). Created with a random password nobody knows.
pub async fn ensure_local_admin(
    store: &dyn Store,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    if store.user(name).await?.is_some() {
        return Ok(());
    }
    let mut secret = [0u8; 24];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
        .map_err(|_| invalid("no random numbers"))?;
    let password: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    match add(store, name, None, Role::SuperAdmin, &password, "vigie", now).await {
        Err(AdminError::Store(StoreError::Conflict(_))) => Ok(()),
        other => other.map(|_| ()),
    }
}
