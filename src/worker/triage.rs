//! Incident triage: acknowledge, take, assign, escalate, resolve. The
//! worker owns its open incidents in memory (alerts join them as they
//! fire), so a triage request travels to the worker's loop, which applies
//! it to its state and writes and announces the incident like any other
//! change, with an audit entry.

use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

use super::Worker;
use super::api::{ApiError, strict, to_json};
use super::state::Changes;
use crate::domain::access::Principal;
use crate::domain::audit::AuditEntry;
use crate::domain::incident::{Incident, IncidentAction};
use crate::domain::{Id, SafeText};
use crate::store::Scope;

/// Requests waiting for the worker's loop.
pub const QUEUE: usize = 256;

/// One triage request and where to answer it.
#[derive(Debug)]
pub struct TriageRequest {
    pub tenant: Id,
    pub incident: Id,
    pub action: IncidentAction,
    pub actor: String,
    pub reason: Option<String>,
    pub reply: oneshot::Sender<Result<Incident, ApiError>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActArgs {
    incident: Id,
    /// acknowledge, take, assign, escalate or resolve.
    action: String,
    /// For assign: who.
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// The api verb `incident_act`.
pub(super) async fn answer(
    tx: Option<&mpsc::Sender<TriageRequest>>,
    who: &Principal,
    scope: &Scope,
    payload: &[u8],
) -> Result<serde_json::Value, ApiError> {
    let a: ActArgs = strict(payload)?;
    let tenant = scope.tenant().cloned().ok_or_else(|| {
        ApiError::new(
            "bad-request",
            "incident_act acts on one tenant: call vigie.api.{tenant}.incident_act",
        )
    })?;
    let by = SafeText::from(who.user.clone());
    let action = match (a.action.as_str(), a.to) {
        ("acknowledge", _) => IncidentAction::Acknowledge { by },
        ("take", _) => IncidentAction::Start { by },
        ("assign", Some(to)) if !to.trim().is_empty() => IncidentAction::Assign {
            to: SafeText::from(to.trim().to_string()),
        },
        ("assign", _) => return Err(ApiError::new("bad-request", "assign needs \"to\"")),
        ("escalate", _) => IncidentAction::Escalate,
        ("resolve", _) => IncidentAction::Resolve { by },
        (other, _) => {
            return Err(ApiError::new(
                "bad-request",
                format!(
                    "no incident action {other:?}: acknowledge, take, assign, escalate, resolve"
                ),
            ));
        }
    };
    let tx = tx.ok_or_else(|| ApiError::new("unavailable", "this api has no worker for triage"))?;
    let (reply, answer) = oneshot::channel();
    let req = TriageRequest {
        tenant,
        incident: a.incident,
        action,
        actor: who.user.clone(),
        reason: a.reason,
        reply,
    };
    tx.send(req)
        .await
        .map_err(|_| ApiError::new("unavailable", "the worker is stopping"))?;
    let incident = answer
        .await
        .map_err(|_| ApiError::new("unavailable", "the worker dropped the request"))??;
    to_json(incident)
}

impl Worker {
    /// Applies the triage requests waiting, each written, announced and
    /// audited before it is answered.
    pub async fn triage_pending(&mut self) {
        while let Ok(req) = self.triage_rx.try_recv() {
            let answer = self.triage(&req).await;
            let _ = req.reply.send(answer);
        }
    }

    async fn triage(&mut self, req: &TriageRequest) -> Result<Incident, ApiError> {
        let now = self.clock.now();
        let mut changes = Changes::default();
        let before = self
            .state
            .open_incidents()
            .find(|i| i.tenant == req.tenant && i.id == req.incident)
            .map(|i| i.state.as_str().to_string());
        let incident = self
            .state
            .triage(
                &req.tenant,
                &req.incident,
                req.action.clone(),
                now,
                &mut changes,
            )
            .map_err(|e| match e {
                None => ApiError::new(
                    "not-found",
                    format!("no open incident {} in tenant {}", req.incident, req.tenant),
                ),
                Some(e) => ApiError::new("wrong-state", e.to_string()),
            })?;
        self.begin_write(super::Prepared::local(changes)).await;
        self.flush()
            .await
            .map_err(|e| ApiError::new("storage", e.to_string()))?;
        let mut audit = AuditEntry::new(
            &req.tenant,
            now,
            req.actor.as_str(),
            &format!("incident.{}", req.action.name()),
            format!("incident/{}", req.incident),
        )
        .change(before.as_deref().unwrap_or("?"), incident.state.as_str());
        if let Some(r) = &req.reason {
            audit = audit.because(r.as_str());
        }
        if let Err(e) = self.store.append_audit(&audit).await {
            tracing::error!(error = %e, incident = %req.incident, "triage not audited");
        }
        Ok(incident)
    }
}
