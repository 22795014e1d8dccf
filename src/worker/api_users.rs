//! The api verbs of tenant administrators: their tenant's users. Provider
//! administration (tenants, the tier, provider-wide users) stays on the
//! worker's host (`vigie tenant`, `vigie user`).

use serde::Deserialize;

use super::api::{ApiError, strict, to_json};
use crate::admin::users::{self, AdminError};
use crate::domain::access::{Principal, Role};
use crate::store::{Scope, Store, StoreError};

pub(super) const VERBS: [&str; 4] = ["users", "user_add", "user_disable", "user_enable"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddArgs {
    name: String,
    role: Role,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameArgs {
    name: String,
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(m) => ApiError::new("bad-request", m),
            AdminError::Store(StoreError::Conflict(m)) => ApiError::new("conflict", m),
            AdminError::Store(s) => s.into(),
        }
    }
}

/// A user this caller may manage: in the scope's tenant (provider-wide
/// users only for a super_admin on `_all`).
async fn managed(
    store: &dyn Store,
    who: &Principal,
    scope: &Scope,
    name: &str,
) -> Result<(), ApiError> {
    let u = store.user(name).await?;
    let mine = u.as_ref().is_some_and(|u| match scope {
        Scope::Tenant(t) => u.tenant.as_ref() == Some(t),
        Scope::All => who.role == Role::SuperAdmin,
    });
    if !mine {
        return Err(ApiError::new(
            "not-found",
            format!("no user {name} in this scope"),
        ));
    }
    if name == who.user {
        return Err(ApiError::new(
            "bad-request",
            "an administrator may not disable or enable themselves",
        ));
    }
    Ok(())
}

pub(super) async fn answer(
    store: &dyn Store,
    who: &Principal,
    scope: &Scope,
    verb: &str,
    payload: &[u8],
) -> Result<serde_json::Value, ApiError> {
    let now = chrono::Utc::now();
    let actor = who.user.as_str();
    match verb {
        "users" => to_json(store.users(scope).await?),
        "user_add" => {
            let a: AddArgs = strict(payload)?;
            if a.role > who.role.min(Role::Admin)
                || (scope.tenant().is_none() && who.role != Role::SuperAdmin)
            {
                return Err(ApiError::new(
                    "forbidden",
                    format!("{} may not create a {} here", who.user, a.role),
                ));
            }
            let u = users::add(
                store,
                &a.name,
                scope.tenant(),
                a.role,
                &a.password,
                actor,
                now,
            )
            .await?;
            to_json(u)
        }
        _ => {
            let a: NameArgs = strict(payload)?;
            managed(store, who, scope, &a.name).await?;
            users::set_disabled(store, &a.name, verb == "user_disable", actor, now).await?;
            to_json(serde_json::json!({ "name": a.name, "disabled": verb == "user_disable" }))
        }
    }
}
