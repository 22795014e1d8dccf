//! Alerts: the trackers' verdicts become alerts, alerts join incidents,
//! and the reasons an alert is in its state.

use super::*;

impl FleetState {
    /// Raises the critical alert of a push that ended without the device
    /// saying so. It stays firing until the analyst deals with it.
    pub fn raise_push_alert(
        &mut self,
        tenant: &Id,
        device: &Id,
        summary: String,
        now: DateTime<Utc>,
        out: &mut Changes,
    ) {
        self.evaluate(
            tenant,
            device,
            crate::worker::push::PUSH_UNCONFIRMED,
            Severity::Critical,
            &rules::offline_policy(),
            true,
            now,
            out,
            move |_| summary.clone(),
        );
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn evaluate(
        &mut self,
        tenant: &Id,
        device: &Id,
        rule: &str,
        severity: Severity,
        policy: &AlertPolicy,
        hit: bool,
        now: DateTime<Utc>,
        out: &mut Changes,
        summary: impl Fn(&str) -> String,
    ) {
        out.evaluations += 1;
        let Some(dev) = self.devices.get_mut(&(tenant.clone(), device.clone())) else {
            return;
        };
        if !dev.trackers.contains_key(rule) {
            if !hit {
                return;
            }
            dev.trackers
                .insert(rule.to_string(), AlertTracker::default());
        }
        let Some(tracker) = dev.trackers.get_mut(rule) else {
            return;
        };
        if !hit && tracker.state == AlertState::Ok {
            return;
        }
        let eval = tracker.evaluate(hit, now, policy);
        if eval.changes.is_empty() {
            return;
        }
        let flapping = tracker.flapping;
        let state = tracker.state;
        let (name, site) = (dev.row.name.clone(), dev.row.site.clone());
        let id = rules::alert_id(rule, device);
        let key = (tenant.clone(), id.clone());
        let alert = self.alerts.entry(key).or_insert_with(|| Alert {
            tenant: tenant.clone(),
            id,
            rule: SafeText::new(rule),
            device: Some(device.clone()),
            site: Some(site.clone()),
            severity,
            state,
            summary: SafeText::from(summary(name.as_str())),
            flapping,
            started: now,
            updated: now,
            incident: None,
        });
        if eval.changes.contains(&AlertChange::Fired) {
            alert.started = now;
            alert.summary = SafeText::from(summary(name.as_str()));
        }
        alert.state = state;
        alert.flapping = flapping;
        alert.updated = now;
        if eval.changes.contains(&AlertChange::Fired) && eval.notify {
            let alert_id = alert.id.clone();
            let title = SafeText::from(format!("{rule} at site {site}"));
            let incident =
                self.attach_incident(tenant, &site, rule, severity, alert_id, title, now);
            if let Some(a) = self
                .alerts
                .get_mut(&(tenant.clone(), rules::alert_id(rule, device)))
            {
                a.incident = Some(incident.id.clone());
            }
            out.batch.incidents.push(incident.clone());
            out.events
                .push((tenant.clone(), EventBody::Incident(incident)));
        }
        if let Some(a) = self
            .alerts
            .get(&(tenant.clone(), rules::alert_id(rule, device)))
        {
            out.batch.alerts.push(a.clone());
            if eval.notify {
                out.events
                    .push((tenant.clone(), EventBody::Alert(a.clone())));
            }
        }
    }

    /// Moves `alerts` (a tenant's alert ids) into the open incident
    /// `target`: each leaves the open incident it was in, points to the
    /// target, and an incident left with no alert is closed as merged.
    /// Returns the target and the incidents closed. Nothing changes unless
    /// the target is open and every alert is known here.
    pub fn take_alerts(
        &mut self,
        tenant: &Id,
        target: &Id,
        alerts: &[Id],
        now: DateTime<Utc>,
        out: &mut Changes,
    ) -> Result<(Incident, Vec<Incident>), MergeRefusal> {
        let target_key = self
            .open_incident(tenant, target)
            .map(|i| i.dedup_key.clone())
            .ok_or_else(|| MergeRefusal::NotOpen(target.clone()))?;
        // Where each alert is now: the incident its row names, else the
        // open incident that lists it (an alert resolved before a restart
        // is no longer in memory).
        let holder = |state: &Self, a: &Id| -> Option<Option<Id>> {
            match state.alerts.get(&(tenant.clone(), a.clone())) {
                Some(alert) => Some(alert.incident.clone()),
                None => state
                    .incidents
                    .values()
                    .find(|i| i.tenant == *tenant && i.alerts.contains(a))
                    .map(|i| Some(i.id.clone())),
            }
        };
        let mut from_of = Vec::with_capacity(alerts.len());
        for a in alerts {
            from_of.push(holder(self, a).ok_or_else(|| MergeRefusal::UnknownAlert(a.clone()))?);
        }
        let mut touched: Vec<String> = Vec::new();
        for (a, from) in alerts.iter().zip(from_of) {
            let mut severity = None;
            if let Some(alert) = self.alerts.get_mut(&(tenant.clone(), a.clone())) {
                alert.incident = Some(target.clone());
                out.batch.alerts.push(alert.clone());
                severity = Some(alert.severity);
            }
            if let Some(src) = from.filter(|f| f != target) {
                let key = self
                    .incidents
                    .iter()
                    .find(|(_, i)| i.tenant == *tenant && i.id == src)
                    .map(|(k, _)| k.clone());
                if let Some(key) = key {
                    if let Some(i) = self.incidents.get_mut(&key) {
                        // Open incidents accept it; only open ones are here.
                        let _ = i.apply(IncidentAction::DetachAlert { alert: a.clone() }, now);
                    }
                    if !touched.contains(&key) {
                        touched.push(key);
                    }
                }
            }
            if let Some(t) = self.incidents.get_mut(&target_key) {
                let _ = t.apply(IncidentAction::MergeAlert { alert: a.clone() }, now);
                if let Some(sev) = severity {
                    t.severity = t.severity.min(sev);
                }
            }
        }
        let mut closed = Vec::new();
        for key in touched {
            let Some(src) = self.incidents.get_mut(&key) else {
                continue;
            };
            if src.alerts.is_empty() {
                let into = target.clone();
                if src.apply(IncidentAction::MergedInto { into }, now).is_ok() {
                    out.outbound
                        .push(crate::domain::outbound::derive::merged(src, target, now));
                }
            }
            let src = src.clone();
            if !src.state.is_open() {
                self.incidents.remove(&key);
                closed.push(src.clone());
            }
            out.batch.incidents.push(src.clone());
            out.events.push((tenant.clone(), EventBody::Incident(src)));
        }
        let merged = self
            .incidents
            .get(&target_key)
            .cloned()
            .ok_or_else(|| MergeRefusal::NotOpen(target.clone()))?;
        out.batch.incidents.push(merged.clone());
        out.events
            .push((tenant.clone(), EventBody::Incident(merged.clone())));
        Ok((merged, closed))
    }

    /// Why each of `alerts` (a tenant's alert ids) is in its state, for the
    /// device alerts this worker tracks; the others are left out.
    pub fn explain(&self, tenant: &Id, alerts: &[Id]) -> Vec<crate::domain::alert::Why> {
        alerts
            .iter()
            .filter_map(|id| {
                let alert = self.alerts.get(&(tenant.clone(), id.clone()))?;
                let device = alert.device.as_ref()?;
                let dev = self.devices.get(&(tenant.clone(), device.clone()))?;
                let rule = alert.rule.as_str();
                let tracker = dev.trackers.get(rule)?;
                let (policy, condition) = match self.policy.rules.iter().find(|r| r.name == rule) {
                    Some(r) => (r.policy, r.describe()),
                    None => (
                        rules::offline_policy(),
                        rules::describe(rule, dev.thresholds),
                    ),
                };
                Some(tracker.why(id, rule, condition, &policy))
            })
            .collect()
    }

    /// Takes the alerts the periodic site rules fired or resolved: stores
    /// them, opens (or joins) the site's incident when one fires, and
    /// announces them.
    pub fn apply_site_alerts(
        &mut self,
        changed: Vec<crate::rules::site::Changed>,
        now: DateTime<Utc>,
        out: &mut Changes,
    ) {
        for c in changed {
            let mut alert = c.alert;
            let key = (alert.tenant.clone(), alert.id.clone());
            if let Some(known) = self.alerts.get(&key) {
                alert.incident = alert.incident.or_else(|| known.incident.clone());
            }
            if c.fired
                && c.notify
                && let Some(site) = alert.site.clone()
            {
                let title = SafeText::from(format!("{} at site {site}", alert.rule.as_str()));
                let incident = self.attach_incident(
                    &alert.tenant,
                    &site,
                    alert.rule.as_str(),
                    alert.severity,
                    alert.id.clone(),
                    title,
                    now,
                );
                alert.incident = Some(incident.id.clone());
                out.batch.incidents.push(incident.clone());
                out.events
                    .push((alert.tenant.clone(), EventBody::Incident(incident)));
            }
            out.batch.alerts.push(alert.clone());
            if c.notify {
                out.events
                    .push((alert.tenant.clone(), EventBody::Alert(alert.clone())));
            }
            self.alerts.insert(key, alert);
        }
    }
}
