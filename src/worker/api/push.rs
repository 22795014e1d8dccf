//! The verbs of config pushes and the audit log.

use super::{Call, capped};
use crate::api::args::{AuditArgs, CreatePush, CreateRollout, DeviceRef, PushRef, RolloutRef};
use crate::api::wire::RolloutStatus;
use crate::api::{ApiError, MAX_FILTER, MAX_LIST};
use crate::domain::Id;
use crate::domain::audit::AuditEntry;
use crate::domain::push::{Push, PushQuery, Rollout, StoredConfig};
use crate::store::Scope;

fn tenant<'a>(scope: &'a Scope, verb: &str) -> Result<&'a Id, ApiError> {
    scope.tenant().ok_or_else(|| {
        ApiError::bad_request(format!(
            "{verb} acts on one tenant: call vigie.api.{{tenant}}.{verb}"
        ))
    })
}

/// The audit log names the session's user, whatever a client says.
fn actor<'a>(c: &'a Call<'_>) -> Option<&'a str> {
    Some(c.who.user.as_str())
}

pub(super) async fn create(c: &Call<'_>, mut req: CreatePush) -> Result<Push, ApiError> {
    req.actor = actor(c).map(str::to_string);
    Ok(c.ctx
        .pushes
        .create(tenant(c.scope, "push_create")?, req)
        .await?)
}

pub(super) async fn confirm(c: &Call<'_>, r: PushRef) -> Result<Push, ApiError> {
    let t = tenant(c.scope, "push_confirm")?;
    Ok(c.ctx.pushes.confirm(t, &r.push, actor(c)).await?)
}

pub(super) async fn revert(c: &Call<'_>, r: PushRef) -> Result<Push, ApiError> {
    let t = tenant(c.scope, "push_revert")?;
    Ok(c.ctx
        .pushes
        .revert(t, &r.push, actor(c), r.reason.as_deref())
        .await?)
}

pub(super) async fn status(c: &Call<'_>, r: PushRef) -> Result<Push, ApiError> {
    let t = tenant(c.scope, "push_status")?;
    Ok(c.ctx.pushes.status(t, &r.push).await?)
}

pub(super) async fn list(c: &Call<'_>, q: PushQuery) -> Result<Vec<Push>, ApiError> {
    let limit = (q.limit != 0).then_some(q.limit);
    let q = PushQuery {
        limit: capped("limit", limit, 100, MAX_LIST)?,
        ..q
    };
    Ok(c.ctx.pushes.list(c.scope, &q).await?)
}

pub(super) async fn create_rollout(
    c: &Call<'_>,
    mut req: CreateRollout,
) -> Result<Rollout, ApiError> {
    req.actor = actor(c).map(str::to_string);
    let t = tenant(c.scope, "rollout_create")?;
    Ok(c.ctx.pushes.create_rollout(t, req).await?)
}

pub(super) async fn confirm_rollout(c: &Call<'_>, r: RolloutRef) -> Result<Vec<Push>, ApiError> {
    let t = tenant(c.scope, "rollout_confirm")?;
    Ok(c.ctx
        .pushes
        .confirm_rollout(t, &r.rollout, actor(c))
        .await?)
}

pub(super) async fn rollout_status(c: &Call<'_>, r: RolloutRef) -> Result<RolloutStatus, ApiError> {
    let t = tenant(c.scope, "rollout_status")?;
    let rollout = c.ctx.pushes.rollout(t, &r.rollout).await?;
    let pushes = c
        .ctx
        .pushes
        .list(
            c.scope,
            &PushQuery {
                rollout: Some(r.rollout.clone()),
                limit: 10_000,
                ..PushQuery::default()
            },
        )
        .await?;
    Ok(RolloutStatus { rollout, pushes })
}

pub(super) async fn config_latest(
    c: &Call<'_>,
    r: DeviceRef,
) -> Result<Option<StoredConfig>, ApiError> {
    Ok(c.store().latest_config(c.scope, &r.device).await?)
}

pub(super) async fn audit(c: &Call<'_>, a: AuditArgs) -> Result<Vec<AuditEntry>, ApiError> {
    let limit = capped("limit", a.limit, 200, MAX_LIST)?;
    if a.target
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_FILTER)
    {
        return Err(ApiError::bad_request(format!(
            "target: at most {MAX_FILTER} characters"
        )));
    }
    Ok(c.store().audit(c.scope, a.target.as_deref(), limit).await?)
}
