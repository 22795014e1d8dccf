//! Open incidents: triage actions, merges and reopening.

use super::*;

/// Why incidents were not merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeRefusal {
    #[error("incident {0} is not open here")]
    NotOpen(Id),
    #[error("an incident cannot be merged into itself")]
    Itself,
    #[error("alert {0} is not known here")]
    UnknownAlert(Id),
}

impl FleetState {
    /// Applies a triage action to an open incident. `Err(None)`: no such
    /// open incident; `Err(Some(_))`: the action does not apply to its
    /// state. A resolved incident leaves the open set, so that the next
    /// alert of its kind opens a new one.
    pub fn triage(
        &mut self,
        tenant: &Id,
        id: &Id,
        action: IncidentAction,
        now: DateTime<Utc>,
        out: &mut Changes,
    ) -> Result<Incident, Option<crate::domain::incident::IncidentError>> {
        let key = self
            .incidents
            .iter()
            .find(|(_, i)| i.tenant == *tenant && i.id == *id)
            .map(|(k, _)| k.clone())
            .ok_or(None)?;
        let incident = self.incidents.get_mut(&key).ok_or(None)?;
        incident.apply(action, now).map_err(Some)?;
        let changed = incident.clone();
        if !changed.state.is_open() {
            self.incidents.remove(&key);
        }
        out.batch.incidents.push(changed.clone());
        out.events
            .push((tenant.clone(), EventBody::Incident(changed.clone())));
        Ok(changed)
    }

    /// Merges the open incidents `sources` into the open incident
    /// `target` of the same tenant: all their alerts move to it (see
    /// [`FleetState::take_alerts`]), which closes them. Nothing changes
    /// unless every incident is open here.
    pub fn merge(
        &mut self,
        tenant: &Id,
        target: &Id,
        sources: &[Id],
        now: DateTime<Utc>,
        out: &mut Changes,
    ) -> Result<(Incident, Vec<Incident>), MergeRefusal> {
        let mut alerts = Vec::new();
        for s in sources {
            if s == target {
                return Err(MergeRefusal::Itself);
            }
            let src = self
                .open_incident(tenant, s)
                .ok_or_else(|| MergeRefusal::NotOpen(s.clone()))?;
            alerts.extend(src.alerts.iter().cloned());
        }
        self.take_alerts(tenant, target, &alerts, now, out)
    }

    pub(super) fn open_incident(&self, tenant: &Id, id: &Id) -> Option<&Incident> {
        self.incidents
            .values()
            .find(|i| i.tenant == *tenant && i.id == *id)
    }

    /// Takes back a reopened incident, unless another incident is open for
    /// the same alerts (its id is the error).
    pub fn reopen(&mut self, incident: Incident, out: &mut Changes) -> Result<(), Id> {
        if let Some(other) = self.incidents.get(&incident.dedup_key) {
            return Err(other.id.clone());
        }
        out.batch.incidents.push(incident.clone());
        out.events.push((
            incident.tenant.clone(),
            EventBody::Incident(incident.clone()),
        ));
        self.incidents.insert(incident.dedup_key.clone(), incident);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn attach_incident(
        &mut self,
        tenant: &Id,
        site: &Id,
        rule: &str,
        severity: Severity,
        alert: Id,
        title: SafeText,
        now: DateTime<Utc>,
    ) -> Incident {
        let key = dedup_key(tenant, site.as_str(), rule);
        if let Some(open) = self.incidents.get_mut(&key)
            && open.state.is_open()
        {
            // Merging is always allowed while open; ignore the impossible error.
            let _ = open.apply(IncidentAction::MergeAlert { alert }, now);
            open.severity = open.severity.min(severity);
            return open.clone();
        }
        self.incident_seq += 1;
        let id = Id::parse(&format!(
            "inc-{:x}-{}",
            now.timestamp_millis(),
            self.incident_seq
        ))
        .unwrap_or_else(|_| alert.clone());
        let incident = Incident::open(tenant.clone(), id, key.clone(), title, severity, alert, now);
        self.incidents.insert(key, incident.clone());
        incident
    }
}
