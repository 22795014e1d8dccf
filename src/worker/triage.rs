//! Incident triage: acknowledge, take, assign, escalate, resolve, snooze,
//! wake, reopen, and notes. The worker owns its open incidents in memory
//! (alerts join them as they fire), so a triage request travels to the
//! worker's loop, which applies it to its state and writes and announces
//! the incident like any other change, with an audit entry. A note changes
//! nothing but the audit log: the incident's timeline is its audit trail.

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
    /// The incident after the action (for `Explain`, the reasons).
    pub reply: oneshot::Sender<Result<serde_json::Value, ApiError>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActArgs {
    incident: Id,
    /// acknowledge, take, assign, escalate, resolve, snooze, wake, reopen
    /// or note.
    action: String,
    /// For assign: who.
    #[serde(default)]
    to: Option<String>,
    /// For snooze: how long, in seconds.
    #[serde(default)]
    for_s: Option<u32>,
    /// For merge: the incidents whose alerts join this one…
    #[serde(default)]
    from: Vec<Id>,
    /// …or the alerts that join it.
    #[serde(default)]
    alerts: Vec<Id>,
    /// Why; for note, the note itself.
    #[serde(default)]
    reason: Option<String>,
}

/// The longest snooze: a week.
pub const MAX_SNOOZE_S: u32 = 7 * 86_400;
/// The longest note, in characters.
pub const MAX_NOTE: usize = 4_000;
/// The most incidents merged at once.
pub const MAX_MERGE: usize = 100;

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
        ("acknowledge", _) => Triage::Act(IncidentAction::Acknowledge { by }),
        ("take", _) => Triage::Act(IncidentAction::Start { by }),
        ("assign", Some(to)) if !to.trim().is_empty() => Triage::Act(IncidentAction::Assign {
            to: SafeText::from(to.trim().to_string()),
        }),
        ("assign", _) => return Err(ApiError::new("bad-request", "assign needs \"to\"")),
        ("escalate", _) => Triage::Act(IncidentAction::Escalate),
        ("resolve", _) => Triage::Act(IncidentAction::Resolve { by }),
        ("reopen", _) => Triage::Act(IncidentAction::Reopen),
        ("wake", _) => Triage::Act(IncidentAction::Wake),
        ("snooze", _) => {
            let secs = a
                .for_s
                .filter(|s| (60..=MAX_SNOOZE_S).contains(s))
                .ok_or_else(|| {
                    ApiError::new(
                        "bad-request",
                        format!("snooze needs \"for_s\" from 60 to {MAX_SNOOZE_S} seconds"),
                    )
                })?;
            Triage::SnoozeFor(chrono::Duration::seconds(i64::from(secs)))
        }
        ("merge", _) => {
            let n = a.from.len() + a.alerts.len();
            if (a.from.is_empty() == a.alerts.is_empty()) || n > MAX_MERGE {
                return Err(ApiError::new(
                    "bad-request",
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
        ("note", _) => {
            let text = a.reason.as_deref().map(str::trim).unwrap_or("");
            if text.is_empty() || text.chars().count() > MAX_NOTE {
                return Err(ApiError::new(
                    "bad-request",
                    format!("a note needs its text in \"reason\", at most {MAX_NOTE} characters"),
                ));
            }
            Triage::Note
        }
        (other, _) => {
            return Err(ApiError::new(
                "bad-request",
                format!(
                    "no incident action {other:?}: acknowledge, take, assign, escalate, resolve, snooze, wake, reopen, merge, note"
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
    ask(tx, req, answer).await
}

async fn ask(
    tx: &mpsc::Sender<TriageRequest>,
    req: TriageRequest,
    answer: oneshot::Receiver<Result<serde_json::Value, ApiError>>,
) -> Result<serde_json::Value, ApiError> {
    tx.send(req)
        .await
        .map_err(|_| ApiError::new("unavailable", "the worker is stopping"))?;
    answer
        .await
        .map_err(|_| ApiError::new("unavailable", "the worker dropped the request"))?
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
    let v = ask(tx, req, answer).await?;
    serde_json::from_value(v).map_err(|e| ApiError::new("internal", e.to_string()))
}

impl Worker {
    /// Applies the triage requests waiting, each written, announced and
    /// audited before it is answered.
    pub async fn triage_pending(&mut self) {
        while let Ok(req) = self.triage_rx.try_recv() {
            let answer = match &req.action {
                Triage::Explain(alerts) => to_json(self.explain(&req.tenant, alerts)),
                _ => self.triage(&req).await.and_then(to_json),
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
        let not_found = || {
            ApiError::new(
                "not-found",
                format!("no incident {} in tenant {}", req.incident, req.tenant),
            )
        };
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
            (Triage::Act(IncidentAction::Reopen), None) => {
                let (mut i, _) = self
                    .store
                    .incident(&scope, &req.incident)
                    .await?
                    .ok_or_else(not_found)?;
                let before = i.state.as_str().to_string();
                i.apply(IncidentAction::Reopen, now)
                    .map_err(|e| ApiError::new("wrong-state", e.to_string()))?;
                let mut changes = Changes::default();
                self.state.reopen(i.clone(), &mut changes).map_err(|other| {
                    ApiError::new(
                        "conflict",
                        format!(
                            "incident {other} is open for the same alerts: triage that one instead"
                        ),
                    )
                })?;
                self.commit_triage(changes).await?;
                (i, Some(before))
            }
            (Triage::Merge { incidents, alerts }, _) => {
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
                    merged.map_err(|e| ApiError::new("wrong-state", e.to_string()))?;
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
                (merged, Some(format!("{before} alerts")))
            }
            (Triage::SnoozeFor(d), _) => {
                let until = now + *d;
                self.act(req, IncidentAction::Snooze { until }, now).await?
            }
            (Triage::Act(a), _) => self.act(req, a.clone(), now).await?,
            (Triage::Explain(_), _) => {
                return Err(ApiError::new("internal", "explain is not a triage action"));
            }
        };
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
        if let Err(e) = self.store.append_audit(&audit).await {
            tracing::error!(error = %e, incident = %req.incident, "triage not audited");
            if req.action == Triage::Note {
                return Err(e.into());
            }
        }
        Ok(incident)
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
                    "not-found",
                    format!("no open incident {} in tenant {}", req.incident, req.tenant),
                ),
                Some(e) => ApiError::new("wrong-state", e.to_string()),
            })?;
        self.commit_triage(changes).await?;
        Ok((incident, before))
    }

    /// Writes and announces a triage's changes before it is answered.
    async fn commit_triage(&mut self, changes: Changes) -> Result<(), ApiError> {
        self.begin_write(super::Prepared::local(changes)).await;
        self.flush()
            .await
            .map_err(|e| ApiError::new("storage", e.to_string()))
    }
}
