//! The api verbs of config pushes and the audit log.

use serde::Deserialize;

use super::api::{ApiError, args, strict, to_json};
use super::push::{CreatePush, CreateRollout, Pushes};
use crate::domain::Id;
use crate::domain::access::Principal;
use crate::domain::push::PushQuery;
use crate::store::{Scope, Store};

const VERBS: [&str; 10] = [
    "push_create",
    "push_confirm",
    "push_revert",
    "push_status",
    "push_list",
    "rollout_create",
    "rollout_confirm",
    "rollout_status",
    "config_latest",
    "audit",
];

/// True for the verbs answered here.
pub(super) fn is_push_verb(verb: &str) -> bool {
    VERBS.contains(&verb)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PushRef {
    push: Id,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RolloutRef {
    rollout: Id,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceRef {
    device: Id,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AuditArgs {
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
}

fn tenant<'a>(scope: &'a Scope, verb: &str) -> Result<&'a Id, ApiError> {
    scope.tenant().ok_or_else(|| {
        ApiError::new(
            "bad-request",
            format!("{verb} acts on one tenant: call vigie.api.{{tenant}}.{verb}"),
        )
    })
}

pub(super) async fn answer(
    pushes: &Pushes,
    store: &dyn Store,
    who: &Principal,
    scope: &Scope,
    verb: &str,
    payload: &[u8],
) -> Result<serde_json::Value, ApiError> {
    // The audit log names the session's user, whatever a client says.
    let actor = Some(who.user.as_str());
    match verb {
        "push_create" => {
            let mut req: CreatePush = strict(payload)?;
            req.actor = actor.map(str::to_string);
            to_json(pushes.create(tenant(scope, verb)?, req).await?)
        }
        "push_confirm" => {
            let r: PushRef = strict(payload)?;
            to_json(pushes.confirm(tenant(scope, verb)?, &r.push, actor).await?)
        }
        "push_revert" => {
            let r: PushRef = strict(payload)?;
            to_json(
                pushes
                    .revert(tenant(scope, verb)?, &r.push, actor, r.reason.as_deref())
                    .await?,
            )
        }
        "push_status" => {
            let r: PushRef = strict(payload)?;
            to_json(pushes.status(tenant(scope, verb)?, &r.push).await?)
        }
        "push_list" => {
            let q: PushQuery = args(payload)?;
            let limit = (q.limit != 0).then_some(q.limit);
            let q = PushQuery {
                limit: super::api::capped("limit", limit, 100, super::api::MAX_LIST)?,
                ..q
            };
            to_json(pushes.list(scope, &q).await?)
        }
        "rollout_create" => {
            let mut req: CreateRollout = strict(payload)?;
            req.actor = actor.map(str::to_string);
            to_json(pushes.create_rollout(tenant(scope, verb)?, req).await?)
        }
        "rollout_confirm" => {
            let r: RolloutRef = strict(payload)?;
            to_json(
                pushes
                    .confirm_rollout(tenant(scope, verb)?, &r.rollout, actor)
                    .await?,
            )
        }
        "rollout_status" => {
            let r: RolloutRef = strict(payload)?;
            let t = tenant(scope, verb)?;
            let rollout = pushes.rollout(t, &r.rollout).await?;
            let list = pushes
                .list(
                    scope,
                    &PushQuery {
                        rollout: Some(r.rollout.clone()),
                        limit: 10_000,
                        ..PushQuery::default()
                    },
                )
                .await?;
            to_json(serde_json::json!({ "rollout": rollout, "pushes": list }))
        }
        "config_latest" => {
            let r: DeviceRef = strict(payload)?;
            to_json(store.latest_config(scope, &r.device).await?)
        }
        "audit" => {
            let a: AuditArgs = args(payload)?;
            let limit = super::api::capped("limit", a.limit, 200, super::api::MAX_LIST)?;
            if a.target
                .as_ref()
                .is_some_and(|t| t.chars().count() > super::api::MAX_FILTER)
            {
                return Err(ApiError::new(
                    "bad-request",
                    format!("target: at most {} characters", super::api::MAX_FILTER),
                ));
            }
            to_json(store.audit(scope, a.target.as_deref(), limit).await?)
        }
        other => Err(ApiError::new(
            "unknown-verb",
            format!("no api verb {other:?}"),
        )),
    }
}
