//! The verbs of tenant administrators: their tenant's users. Provider
//! administration (tenants, the tier, provider-wide users) stays on the
//! worker's host (`vigie tenant`, `vigie user`).

use super::Call;
use crate::admin::users::{self, AdminError};
use crate::api::args::{AddUser, NoArgs, UserName};
use crate::api::wire::UserState;
use crate::api::{ApiError, ErrorCode};
use crate::domain::access::{Principal, Role};
use crate::domain::user::UserRecord;
use crate::store::{Scope, Store, StoreError};

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(m) => ApiError::bad_request(m),
            AdminError::Store(StoreError::Conflict(m)) => ApiError::new(ErrorCode::Conflict, m),
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
            ErrorCode::NotFound,
            format!("no user {name} in this scope"),
        ));
    }
    if name == who.user {
        return Err(ApiError::bad_request(
            "an administrator may not disable or enable themselves",
        ));
    }
    Ok(())
}

pub(super) async fn list(c: &Call<'_>, _: NoArgs) -> Result<Vec<UserRecord>, ApiError> {
    Ok(c.store().users(c.scope).await?)
}

pub(super) async fn add(c: &Call<'_>, a: AddUser) -> Result<UserRecord, ApiError> {
    let who = c.who;
    if a.role > who.role.min(Role::Admin)
        || (c.scope.tenant().is_none() && who.role != Role::SuperAdmin)
    {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("{} may not create a {} here", who.user, a.role),
        ));
    }
    Ok(users::add(
        c.store(),
        &a.name,
        c.scope.tenant(),
        a.role,
        &a.password,
        &who.user,
        chrono::Utc::now(),
    )
    .await?)
}

/// `user_disable` (`disabled`) and `user_enable`.
pub(super) async fn set_disabled(
    c: &Call<'_>,
    a: UserName,
    disabled: bool,
) -> Result<UserState, ApiError> {
    managed(c.store(), c.who, c.scope, &a.name).await?;
    users::set_disabled(
        c.store(),
        &a.name,
        disabled,
        &c.who.user,
        chrono::Utc::now(),
    )
    .await?;
    Ok(UserState {
        name: a.name,
        disabled,
    })
}
