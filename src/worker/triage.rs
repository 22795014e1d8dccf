//! Incident triage: acknowledge, take, assign, escalate, resolve, snooze,
//! wake, reopen, and notes. The worker owns its open incidents in memory
//! (alerts join them as they fire), so a triage request travels to the
//! worker's loop, which applies it to its state and writes and announces
//! the incident like any other change, with an audit entry. A note changes
//! nothing but the audit log: the incident's timeline is its audit trail.

use tokio::sync::{mpsc, oneshot};

use super::Worker;
use super::state::Changes;
use crate::api::args::{IncidentAct, TriageAction};
use crate::api::{ApiError, ErrorCode, MAX_MERGE, MAX_NOTE, MAX_SNOOZE_S};
use crate::domain::access::Principal;
use crate::domain::audit::AuditEntry;
use crate::domain::incident::{Incident, IncidentAction};
use crate::domain::{Id, SafeText};
use crate::store::Scope;

/// Requests waiting for the worker's loop.
pub const QUEUE: usize = 256;

/// What a triage request asks.
#[derive(Debug, Clone, PartialEq)]
pub enum Triage {
    Act(IncidentAction),
    /// Snooze for this long, from the worker's clock.
    SnoozeFor(chrono::Duration),
    /// A note (the request's reason): no state changes.
    Note,
    /// These incidents' alerts, or these alerts, join this one; an
    /// incident left with no alert is closed.
    Merge {
        incidents: Vec<Id>,
        alerts: Vec<Id>,
    },
    /// Why these alerts (of the incident) are in their state: read only.
    Explain(Vec<Id>),
}

impl Triage {
    fn name(&self) -> &'static str {
        match self {
            Triage::Act(a) => a.name(),
            Triage::SnoozeFor(_) => "snooze",
            Triage::Note => "note",
            Triage::Merge { .. } => "merge",
            Triage::Explain(_) => "explain",
        }
    }
}

/// One triage request and where to answer it.
#[derive(Debug)]
pub struct TriageRequest {
    pub tenant: Id,
    pub incident: Id,
    pub action: Triage,
    pub actor: String,
    pub reason: Option<String>,
    pub reply: oneshot::Sender<Result<TriageReply, ApiError>>,
}

/// What the worker's loop answers a triage request.
#[derive(Debug)]
pub enum TriageReply {
    /// The incident after the action.
    Incident(Box<Incident>),
    /// For `Explain`: why each alert is in its state.
    Why(Vec<crate::domain::alert::Why>),
}

/// The api verb `incident_act`.
pub(super) async fn act(
    tx: Option<&mpsc::Sender<TriageRequest>>,
    who: &Principal,
    scope: &Scope,
    a: IncidentAct,
) -> Result<Incident, ApiError> {
    let tenant = scope.tenant().cloned().ok_or_else(|| {
        ApiError::new(
            ErrorCode::BadRequest,
            "incident_act acts on one tenant: call vigie.api.{tenant}.incident_act",
        )
    })?;
    let by = SafeText::from(who.user.clone());
    let action = match (a.action, a.to) {
        (TriageAction::Acknowledge, _) => Triage::Act(IncidentAction::Acknowledge { by }),
        (TriageAction::Take, _) => Triage::Act(IncidentAction::Start { by }),
        (TriageAction::Assign, Some(to)) if !to.trim().is_empty() => {
            Triage::Act(IncidentAction::Assign {
                to: SafeText::from(to.trim().to_string()),
            })
        }
        (TriageAction::Assign, _) => {
            return Err(ApiError::new(ErrorCode::BadRequest, "assign needs \"to\""));
        }
        (TriageAction::Escalate, _) => Triage::Act(IncidentAction::Escalate),
        (TriageAction::Resolve, _) => Triage::Act(IncidentAction::Resolve { by }),
        (TriageAction::Reopen, _) => Triage::Act(IncidentAction::Reopen),
        (TriageAction::Wake, _) => Triage::Act(IncidentAction::Wake),
        (TriageAction::Snooze, _) => {
            let secs = a
                .for_s
                .filter(|s| (60..=MAX_SNOOZE_S).contains(s))
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::BadRequest,
                        format!("snooze needs \"for_s\" from 60 to {MAX_SNOOZE_S} seconds"),
                    )
                })?;
            Triage::SnoozeFor(chrono::Duration::seconds(i64::from(secs)))
        }
        (TriageAction::Merge, _) => {
            let n = a.from.len() + a.alerts.len();
            if (a.from.is_empty() == a.alerts.is_empty()) || n > MAX_MERGE {
                return Err(ApiError::new(
                    ErrorCode::BadRequest,
                    format!(
                        "merge needs \"from\" (incident ids) or \"alerts\" (alert ids), 1 to {MAX_MERGE}, not both"
                    ),
                ));
            }
            Triage::Merge {
                incidents: a.from,
                alerts: a.alerts,
            }
        }
        (TriageAction::Note, _) => {
            let text = a.reason.as_deref().map(str::trim).unwrap_or("");
            if text.is_empty() || text.chars().count() > MAX_NOTE {
                return Err(ApiError::new(
                    ErrorCode::BadRequest,
                    format!("a note needs its text in \"reason\", at most {MAX_NOTE} characters"),
                ));
            }
            Triage::Note
        }
    };
    let tx = tx.ok_or_else(|| {
        ApiError::new(ErrorCode::Unavailable, "this api has no worker for triage")
    })?;
    let (reply, answer) = oneshot::channel();
    let req = TriageRequest {
        tenant,
        incident: a.incident,
        action,
        actor: who.user.clone(),
        reason: a.reason,
        reply,
    };
    match ask(tx, req, answer).await? {
        TriageReply::Incident(i) => Ok(*i),
        TriageReply::Why(_) => Err(ApiError::new(
            ErrorCode::Internal,
            "the worker answered an action with reasons",
        )),
    }
}

async fn ask(
    tx: &mpsc::Sender<TriageRequest>,
    req: TriageRequest,
    answer: oneshot::Receiver<Result<TriageReply, ApiError>>,
) -> Result<TriageReply, ApiError> {
    tx.send(req)
        .await
        .map_err(|_| ApiError::new(ErrorCode::Unavailable, "the worker is stopping"))?;
    answer
        .await
        .map_err(|_| ApiError::new(ErrorCode::Unavailable, "the worker dropped the request"))?
}

/// Why each of an incident's alerts is in its state, as the worker's loop
/// knows it (alerts it does not track are left out); nothing without a
/// worker.
pub(super) async fn explain(
    tx: Option<&mpsc::Sender<TriageRequest>>,
    who: &Principal,
    incident: &Incident,
) -> Result<Vec<crate::domain::alert::Why>, ApiError> {
    let Some(tx) = tx else {
        return Ok(Vec::new());
    };
    let (reply, answer) = oneshot::channel();
    let req = TriageRequest {
        tenant: incident.tenant.clone(),
        incident: incident.id.clone(),
        action: Triage::Explain(incident.alerts.clone()),
        actor: who.user.clone(),
        reason: None,
        reply,
    };
    match ask(tx, req, answer).await? {
        TriageReply::Why(why) => Ok(why),
        TriageReply::Incident(_) => Err(ApiError::new(
            ErrorCode::Internal,
            "the worker answered a question with an incident",
        )),
    }
}

impl Worker {
    /// Applies the triage requests waiting, each written, announced and
    /// audited before it is answered.
    pub async fn triage_pending(&mut self) {
        while let Ok(req) = self.triage_rx.try_recv() {
            let answer = match &req.action {
                Triage::Explain(alerts) => Ok(TriageReply::Why(self.explain(&req.tenant, alerts))),
                _ => self
                    .triage(&req)
                    .await
                    .map(|i| TriageReply::Incident(Box::new(i))),
            };
            let _ = req.reply.send(answer);
        }
    }

    /// Why each alert is in its state: the device rules' trackers, then the
    /// site rules'.
    fn explain(&self, tenant: &Id, alerts: &[Id]) -> Vec<crate::domain::alert::Why> {
        let mut out = self.state.explain(tenant, alerts);
        for a in alerts {
            if !out.iter().any(|w| w.alert == *a)
                && let Some(w) = self.site_rules.why(&self.cfg.site_rules, tenant, a)
            {
                out.push(w);
            }
        }
        out
    }

    async fn triage(&mut self, req: &TriageRequest) -> Result<Incident, ApiError> {
        let now = self.clock.now();
        let scope = Scope::Tenant(req.tenant.clone());
        let open = self
            .state
            .open_incidents()
            .find(|i| i.tenant == req.tenant && i.id == req.incident)
            .cloned();
        let not_found = || not_found(req);
        let (incident, before) = match (&req.action, open) {
            // A note: the incident as it is, open or not.
            (Triage::Note, Some(i)) => (i, None),
            (Triage::Note, None) => {
                let (i, _) = self
                    .store
                    .incident(&scope, &req.incident)
                    .await?
                    .ok_or_else(not_found)?;
                (i, None)
            }
            // Reopening: the incident is no longer in the worker's state.
            (Triage::Act(IncidentAction::Reopen), None) => self.reopen(req, &scope, now).await?,
            (Triage::Merge { incidents, alerts }, _) => {
                self.merge_into(req, incidents, alerts, now).await?
            }
            (Triage::SnoozeFor(d), _) => {
                let until = now + *d;
                self.act(req, IncidentAction::Snooze { until }, now).await?
            }
            (Triage::Act(a), _) => self.act(req, a.clone(), now).await?,
            (Triage::Explain(_), _) => {
                return Err(ApiError::new(
                    ErrorCode::Internal,
                    "explain is not a triage action",
                ));
            }
        };
        let audit = triage_audit(req, &incident, before, now);
        if let Err(e) = self.store.append_audit(&audit).await {
            tracing::error!(error = %e, incident = %req.incident, "triage not audited");
            if req.action == Triage::Note {
                return Err(e.into());
            }
        }
        Ok(incident)
    }

    /// Reopens a resolved incident: read back from the store and put back
    /// in the open set, unless another is open for the same alerts.
    async fn reopen(
        &mut self,
        req: &TriageRequest,
        scope: &Scope,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(Incident, Option<String>), ApiError> {
        let (mut i, _) = self
            .store
            .incident(scope, &req.incident)
            .await?
            .ok_or_else(|| not_found(req))?;
        let before = i.state.as_str().to_string();
        i.apply(IncidentAction::Reopen, now)
            .map_err(|e| ApiError::new(ErrorCode::WrongState, e.to_string()))?;
        let mut changes = Changes::default();
        self.state
            .reopen(i.clone(), &mut changes)
            .map_err(|other| {
                ApiError::new(
                    ErrorCode::Conflict,
                    format!(
                        "incident {other} is open for the same alerts: triage that one instead"
                    ),
                )
            })?;
        self.commit_triage(changes).await?;
        Ok((i, Some(before)))
    }

    /// Moves the alerts of other incidents (closed when left empty), or
    /// some alerts, into this one; each closed incident is audited.
    async fn merge_into(
        &mut self,
        req: &TriageRequest,
        incidents: &[Id],
        alerts: &[Id],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(Incident, Option<String>), ApiError> {
        let before = self
            .state
            .open_incidents()
            .find(|i| i.tenant == req.tenant && i.id == req.incident)
            .map_or(0, |i| i.alerts.len());
        let mut changes = Changes::default();
        let merged = if alerts.is_empty() {
            self.state
                .merge(&req.tenant, &req.incident, incidents, now, &mut changes)
        } else {
            self.state
                .take_alerts(&req.tenant, &req.incident, alerts, now, &mut changes)
        };
        let (merged, closed) =
            merged.map_err(|e| ApiError::new(ErrorCode::WrongState, e.to_string()))?;
        self.commit_triage(changes).await?;
        for c in &closed {
            let entry = AuditEntry::new(
                &req.tenant,
                now,
                req.actor.as_str(),
                "incident.merged",
                format!("incident/{}", c.id),
            )
            .change("open", "closed")
            .because(format!("merged into {}", req.incident).as_str());
            if let Err(e) = self.store.append_audit(&entry).await {
                tracing::error!(error = %e, incident = %c.id, "merge not audited");
            }
        }
        Ok((merged, Some(format!("{before} alerts"))))
    }

    /// Applies `action` to an open incident, written and announced; the
    /// incident after it and its state before.
    async fn act(
        &mut self,
        req: &TriageRequest,
        action: IncidentAction,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(Incident, Option<String>), ApiError> {
        let before = self
            .state
            .open_incidents()
            .find(|i| i.tenant == req.tenant && i.id == req.incident)
            .map(|i| i.state.as_str().to_string());
        let mut changes = Changes::default();
        let incident = self
            .state
            .triage(&req.tenant, &req.incident, action, now, &mut changes)
            .map_err(|e| match e {
                None => ApiError::new(
                    ErrorCode::NotFound,
                    format!("no open incident {} in tenant {}", req.incident, req.tenant),
                ),
                Some(e) => ApiError::new(ErrorCode::WrongState, e.to_string()),
            })?;
        self.commit_triage(changes).await?;
        Ok((incident, before))
    }

    /// Writes and announces a triage's changes before it is answered.
    async fn commit_triage(&mut self, changes: Changes) -> Result<(), ApiError> {
        self.begin_write(super::Prepared::local(changes)).await;
        self.flush()
            .await
            .map_err(|e| ApiError::new(ErrorCode::Storage, e.to_string()))
    }
}

/// No such incident in the request's tenant.
fn not_found(req: &TriageRequest) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("no incident {} in tenant {}", req.incident, req.tenant),
    )
}

/// The audit entry of a triage action: what changed (`before` → the
/// incident now) and why.
fn triage_audit(
    req: &TriageRequest,
    incident: &Incident,
    before: Option<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> AuditEntry {
    let name = req.action.name();
    let mut audit = AuditEntry::new(
        &req.tenant,
        now,
        req.actor.as_str(),
        &format!("incident.{name}"),
        format!("incident/{}", req.incident),
    );
    if let Some(before) = before {
        let after = match (&req.action, incident.snoozed_until) {
            (Triage::Merge { .. }, _) => format!("{} alerts", incident.alerts.len()),
            (_, Some(u)) if incident.is_snoozed(now) => {
                format!(
                    "{} snoozed until {}",
                    incident.state.as_str(),
                    u.to_rfc3339()
                )
            }
            _ => incident.state.as_str().to_string(),
        };
        audit = audit.change(&before, &after);
    }
    match (&req.reason, &req.action) {
        (Some(r), _) => audit = audit.because(r.as_str()),
        (None, Triage::Merge { incidents, alerts }) => {
            let (what, ids) = if alerts.is_empty() {
                ("merged", incidents)
            } else {
                ("took alerts", alerts)
            };
            let ids: Vec<&str> = ids.iter().map(Id::as_str).collect();
            audit = audit.because(format!("{what} {}", ids.join(", ")).as_str());
        }
        (None, _) => {}
    }
    audit
}
