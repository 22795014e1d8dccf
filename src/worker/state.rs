//! The worker's in-memory view of the fleet: status machines, link
//! machines, alert trackers and open incidents. Applying telemetry here is
//! pure (time is a parameter); what changed is collected in [`Changes`] for
//! the pipeline to write and announce.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::bus::envelope::Envelope;
use crate::bus::event::EventBody;
use crate::domain::alert::{AlertChange, AlertPolicy, AlertState, AlertTracker};
use crate::domain::device::{DeviceStatus, StatusInput, StatusMachine, StatusThresholds};
use crate::domain::incident::{Incident, IncidentAction, dedup_key};
use crate::domain::link::{LinkInput, LinkMachine, LinkPolicy, LinkState};
use crate::domain::model::{Alert, DeviceRow, LinkRow, Severity};
use crate::domain::telemetry::Telemetry;
use crate::domain::{Id, SafeText};
use crate::rules::{self, ThresholdRule};
use crate::store::{
    ConfigRow, DeviceState, InterfacesRow, LinkUpdate, LogRow, MetricRow, SignalRow, WriteBatch,
};

/// Why a well-formed message is still refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("device {device} of tenant {tenant} is not in the inventory")]
    UnknownDevice { tenant: Id, device: Id },
    #[error(
        "timestamp {ts} is {ahead_s} s ahead of the worker's clock (at most {MAX_CLOCK_SKEW_S} s allowed)"
    )]
    ClockSkew { ts: DateTime<Utc>, ahead_s: i64 },
}

/// How far in the future a message's timestamp may be. A device whose clock
/// runs ahead would otherwise stay "online" until its clock is reached.
pub const MAX_CLOCK_SKEW_S: i64 = 300;

impl Refusal {
    /// The dead-letter reason token.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::UnknownDevice { .. } => "unknown-device",
            Refusal::ClockSkew { .. } => "clock-skew",
        }
    }
}

/// What one batch changed: rows to write and events to publish after the
/// write commits.
#[derive(Debug, Default)]
pub struct Changes {
    pub batch: WriteBatch,
    /// Agents' reports on config pushes, followed after the batch commits.
    pub push_reports: Vec<super::push::ReportIn>,
    pub events: Vec<(Id, EventBody)>,
    /// Alert rules evaluated while making these changes.
    pub evaluations: u64,
}

struct DeviceEntry {
    row: DeviceRow,
    machine: StatusMachine,
    thresholds: StatusThresholds,
    interval_s: u32,
    trackers: HashMap<String, AlertTracker>,
    /// Status changed: write with this batch.
    dirty: bool,
    /// Values (CPU, last seen…) changed: written at most every live
    /// interval, with the next status change, or at the sweep.
    values_dirty: bool,
    last_write: Option<DateTime<Utc>>,
    /// Has unannounced value changes.
    unannounced: bool,
    last_event: Option<DateTime<Utc>>,
    /// When the status last changed, inside the flapping window.
    changes: Vec<DateTime<Utc>>,
}

struct LinkEntry {
    row: LinkRow,
    machine: LinkMachine,
    interval_s: u32,
    last_report: Option<DateTime<Utc>>,
    /// State changed: write with this batch.
    dirty: bool,
    /// Signal changed: written at most every live interval.
    values_dirty: bool,
    last_write: Option<DateTime<Utc>>,
    unannounced: bool,
    last_event: Option<DateTime<Utc>>,
}

type Key = (Id, Id);

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

/// Settings of the state machines and rules.
#[derive(Debug, Clone)]
pub struct StatePolicy {
    pub rules: Arc<[ThresholdRule]>,
    pub link: LinkPolicy,
    /// Value-only changes (CPU, signal…) of one device are announced at most
    /// this often; status changes always at once.
    pub live_event_interval: Duration,
    /// With scale-out, the partition this worker owns, as (k, n): it tracks
    /// only the devices (and the links of the CPEs) in it, so that no other
    /// worker's sweep overwrites their state.
    pub partition: Option<(u32, u32)>,
}

impl Default for StatePolicy {
    fn default() -> Self {
        Self {
            rules: rules::default_threshold_rules().into(),
            link: LinkPolicy::default(),
            live_event_interval: Duration::seconds(2),
            partition: None,
        }
    }
}

/// The fleet as the worker tracks it.
pub struct FleetState {
    policy: StatePolicy,
    devices: HashMap<Key, DeviceEntry>,
    links: Vec<LinkEntry>,
    /// (tenant, ap, cpe) → index in `links`.
    link_index: HashMap<(Id, Id, Id), usize>,
    alerts: HashMap<Key, Alert>,
    /// Open incidents by dedup key.
    incidents: HashMap<String, Incident>,
    incident_seq: u64,
    /// Devices of other partitions, taken over if their messages come here
    /// all the same (a mapping that does not match `--partitions`).
    others: HashMap<Key, DeviceEntry>,
}

fn alert_id(device: &Id, rule: &str) -> Id {
    crate::rules::alert_id(rule, device)
}

impl FleetState {
    /// A state that tracks nothing.
    pub fn empty(policy: StatePolicy) -> Self {
        Self::new(
            policy,
            &HashMap::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        )
    }

    /// Builds the state from what the store holds.
    pub fn new(
        policy: StatePolicy,
        thresholds: &HashMap<Id, StatusThresholds>,
        rows: Vec<DeviceRow>,
        states: Vec<DeviceState>,
        links: Vec<LinkRow>,
        open_incidents: Vec<Incident>,
        alerts: Vec<Alert>,
    ) -> Self {
        let intervals: HashMap<Key, u32> = states
            .into_iter()
            .map(|s| ((s.tenant, s.device), s.heartbeat_interval_s))
            .collect();
        let mut devices = HashMap::with_capacity(rows.len());
        for row in rows {
            let key = (row.tenant.clone(), row.id.clone());
            let mut trackers = HashMap::new();
            if row.status == DeviceStatus::Offline {
                trackers.insert(rules::DEVICE_OFFLINE.to_string(), AlertTracker::firing());
            }
            let entry = DeviceEntry {
                machine: StatusMachine {
                    status: row.status,
                    last_seen: row.last_seen,
                },
                thresholds: thresholds.get(&row.tenant).copied().unwrap_or_default(),
                interval_s: intervals.get(&key).copied().unwrap_or(60).max(1),
                trackers,
                dirty: false,
                values_dirty: false,
                last_write: None,
                unannounced: false,
                last_event: None,
                changes: Vec::new(),
                row,
            };
            devices.insert(key, entry);
        }
        let owns = |tenant: &Id, device: &Id| {
            policy
                .partition
                .is_none_or(|(k, n)| crate::bus::subject::partition_of(tenant, device, n) == k)
        };
        let (devices, others): (HashMap<_, _>, HashMap<_, _>) =
            devices.into_iter().partition(|((t, d), _)| owns(t, d));
        let links: Vec<LinkRow> = links
            .into_iter()
            .filter(|l| owns(&l.tenant, &l.cpe))
            .collect();
        let mut state = Self {
            policy,
            devices,
            links: Vec::new(),
            link_index: HashMap::new(),
            alerts: HashMap::new(),
            incidents: HashMap::new(),
            incident_seq: 0,
            others,
        };
        for l in links {
            let interval_s = state
                .devices
                .get(&(l.tenant.clone(), l.cpe.clone()))
                .map_or(60, |d| d.interval_s);
            let since = l.updated.unwrap_or_default();
            state.link_index.insert(
                (l.tenant.clone(), l.ap.clone(), l.cpe.clone()),
                state.links.len(),
            );
            state.links.push(LinkEntry {
                machine: LinkMachine {
                    state: l.state,
                    missed: 0,
                    since,
                },
                interval_s,
                last_report: l.updated,
                dirty: false,
                values_dirty: false,
                last_write: None,
                unannounced: false,
                last_event: None,
                row: l,
            });
        }
        for a in alerts {
            if a.state == AlertState::Firing
                && let Some(d) = a.device.clone()
            {
                if let Some(entry) = state.devices.get_mut(&(a.tenant.clone(), d.clone())) {
                    entry
                        .trackers
                        .insert(a.rule.as_str().to_string(), AlertTracker::firing());
                }
                state.alerts.insert((a.tenant.clone(), a.id.clone()), a);
            }
        }
        for i in open_incidents {
            state.incidents.insert(i.dedup_key.clone(), i);
        }
        state
    }

    /// Takes over everything `old` tracked: this state was freshly loaded
    /// to pick up devices and links added to the inventory since `old` was;
    /// what `old` already knew (machines, trackers, unwritten changes) wins.
    pub fn adopt(&mut self, old: FleetState) {
        // Only what the store still holds: a deleted tenant's devices,
        // alerts and incidents are not brought back.
        let tenants = self.tenants();
        for (key, entry) in old.devices {
            if self.devices.contains_key(&key) || self.others.contains_key(&key) {
                self.devices.insert(key, entry);
            }
        }
        self.others.retain(|k, _| !self.devices.contains_key(k));
        let mut old_links: HashMap<(Id, Id, Id), LinkEntry> = HashMap::new();
        let mut slots: Vec<Option<LinkEntry>> = old.links.into_iter().map(Some).collect();
        for (key, i) in old.link_index {
            if let Some(entry) = slots.get_mut(i).and_then(Option::take) {
                old_links.insert(key, entry);
            }
        }
        for (key, &i) in &self.link_index {
            if let Some(entry) = old_links.remove(key) {
                self.links[i] = entry;
            }
        }
        self.alerts.extend(
            old.alerts
                .into_iter()
                .filter(|((t, _), _)| tenants.contains(t)),
        );
        self.incidents.extend(
            old.incidents
                .into_iter()
                .filter(|(_, i)| tenants.contains(&i.tenant)),
        );
        self.incident_seq = old.incident_seq;
    }

    /// Tenants with devices tracked here.
    pub fn tenants(&self) -> std::collections::HashSet<Id> {
        self.devices
            .keys()
            .chain(self.others.keys())
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Forgets everything of a tenant that was deleted: its messages are
    /// refused as of now (unknown device), nothing of it is written again.
    pub fn forget_tenant(&mut self, tenant: &Id) {
        self.devices.retain(|(t, _), _| t != tenant);
        self.others.retain(|(t, _), _| t != tenant);
        self.alerts.retain(|(t, _), _| t != tenant);
        self.incidents.retain(|_, i| i.tenant != *tenant);
        let links = std::mem::take(&mut self.links);
        self.link_index.clear();
        for l in links {
            if l.row.tenant != *tenant {
                self.link_index.insert(
                    (l.row.tenant.clone(), l.row.ap.clone(), l.row.cpe.clone()),
                    self.links.len(),
                );
                self.links.push(l);
            }
        }
    }

    /// Devices tracked.
    pub fn device_count(&self) -> usize {
        self.devices.len()
    }

    /// Status of one device.
    pub fn status(&self, tenant: &Id, device: &Id) -> Option<DeviceStatus> {
        self.devices
            .get(&(tenant.clone(), device.clone()))
            .map(|d| d.machine.status)
    }

    /// Alerts currently firing.
    pub fn firing_alerts(&self) -> Vec<&Alert> {
        self.alerts
            .values()
            .filter(|a| a.state == AlertState::Firing)
            .collect()
    }

    /// The devices that are offline now.
    pub fn offline_devices(&self) -> impl Iterator<Item = (Id, Id)> + '_ {
        self.devices
            .iter()
            .filter(|(_, d)| d.row.status == DeviceStatus::Offline)
            .map(|(k, _)| k.clone())
    }

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
            super::push::PUSH_UNCONFIRMED,
            Severity::Critical,
            &rules::offline_policy(),
            true,
            now,
            out,
            move |_| summary.clone(),
        );
    }

    /// Open incidents.
    pub fn open_incidents(&self) -> impl Iterator<Item = &Incident> {
        self.incidents.values()
    }

    /// Applies one decoded message received at `now`.
    pub fn apply(
        &mut self,
        env: &Envelope,
        now: DateTime<Utc>,
        out: &mut Changes,
    ) -> Result<(), Refusal> {
        let ahead = (env.ts - now).num_seconds();
        if ahead > MAX_CLOCK_SKEW_S {
            return Err(Refusal::ClockSkew {
                ts: env.ts,
                ahead_s: ahead,
            });
        }
        let key = (env.tenant.clone(), env.device.clone());
        if let Some(entry) = self.others.remove(&key) {
            tracing::warn!(
                tenant = %env.tenant,
                device = %env.device,
                "a device of another partition reached this worker: taking it over (do --partitions and the server's mapping agree?)"
            );
            self.devices.insert(key.clone(), entry);
        }
        let Some(dev) = self.devices.get_mut(&key) else {
            return Err(Refusal::UnknownDevice {
                tenant: env.tenant.clone(),
                device: env.device.clone(),
            });
        };
        let (tenant, device) = key;
        let msg_id: Arc<str> = Arc::from(env.id.as_str());
        let mut threshold_hits: Vec<(usize, bool)> = Vec::new();
        let mut status_change = None;
        match &env.body {
            Telemetry::Heartbeat(h) => {
                status_change = dev
                    .machine
                    .apply(StatusInput::Heartbeat { at: env.ts, now }, dev.thresholds);
                if dev.row.last_seen.is_none_or(|seen| env.ts > seen) {
                    dev.row.last_seen = Some(env.ts);
                    dev.row.uptime_s = Some(h.uptime_s);
                    if let Some(fw) = &h.firmware {
                        dev.row.firmware = fw.clone();
                    }
                    if let Some(i) = h.interval_s {
                        dev.interval_s = i.max(1);
                    }
                    dev.values_dirty = true;
                }
            }
            Telemetry::Metrics(m) => {
                out.batch.metrics.push(MetricRow {
                    tenant: tenant.clone(),
                    msg_id,
                    device: device.clone(),
                    ts: env.ts,
                    cpu_pct: m.cpu_pct,
                    mem_pct: m.mem_pct,
                    rx_bps: m.rx_bps,
                    tx_bps: m.tx_bps,
                });
                dev.row.cpu_pct = Some(m.cpu_pct);
                dev.row.mem_pct = Some(m.mem_pct);
                dev.values_dirty = true;
                dev.unannounced = true;
                for (i, rule) in self.policy.rules.iter().enumerate() {
                    // A clear on a rule that is not tracked changes nothing.
                    if let Some(hit) = rule.hit(m)
                        && (hit || dev.trackers.contains_key(&rule.name))
                    {
                        threshold_hits.push((i, hit));
                    }
                }
            }
            Telemetry::Signal(s) => {
                out.batch.signals.push(SignalRow {
                    tenant: tenant.clone(),
                    msg_id,
                    device: device.clone(),
                    peer: s.peer.clone(),
                    ts: env.ts,
                    rssi_dbm: s.rssi_dbm,
                    snr_db: s.snr_db,
                });
                dev.row.signal_dbm = Some(s.rssi_dbm);
                dev.values_dirty = true;
                dev.unannounced = true;
                let link = self
                    .link_index
                    .get(&(tenant.clone(), s.peer.clone(), device.clone()))
                    .or_else(|| {
                        self.link_index
                            .get(&(tenant.clone(), device.clone(), s.peer.clone()))
                    })
                    .copied();
                if let Some(i) = link {
                    self.link_report(i, env.ts, s.rssi_dbm, now, out);
                }
            }
            Telemetry::Registrations(r) => {
                for c in &r.clients {
                    let Some(cpe) = &c.device else { continue };
                    if let Some(&i) =
                        self.link_index
                            .get(&(tenant.clone(), device.clone(), cpe.clone()))
                    {
                        self.link_report(i, env.ts, c.rssi_dbm, now, out);
                    }
                }
            }
            Telemetry::Interfaces(i) => {
                out.batch.interfaces.push(InterfacesRow {
                    tenant: tenant.clone(),
                    device: device.clone(),
                    ts: env.ts,
                    json: serde_json::to_string(&i.interfaces).unwrap_or_else(|_| "[]".into()),
                });
            }
            Telemetry::Config(c) => out.batch.configs.push(ConfigRow {
                tenant: tenant.clone(),
                msg_id,
                device: device.clone(),
                ts: env.ts,
                format: c.format.clone(),
                body: c.body.clone(),
            }),
            Telemetry::Push(r) => out.push_reports.push(super::push::ReportIn {
                tenant: tenant.clone(),
                device: device.clone(),
                msg_id,
                ts: env.ts,
                report: r.clone(),
            }),
            Telemetry::Log(l) => out.batch.logs.push(LogRow {
                tenant: tenant.clone(),
                msg_id,
                device: device.clone(),
                ts: env.ts,
                level: crate::domain::enum_name(&l.level),
                message: l.message.clone(),
            }),
        }
        if let Some(status) = status_change {
            let since = self
                .devices
                .get(&(tenant.clone(), device.clone()))
                .map_or(env.ts, |d| crossed_at(status, env.ts, d.thresholds, now));
            self.on_status(&tenant, &device, status, since, now, out);
        }
        for (i, hit) in threshold_hits {
            let rules = Arc::clone(&self.policy.rules);
            let rule = &rules[i];
            self.evaluate(
                &tenant,
                &device,
                &rule.name,
                rule.severity,
                &rule.policy,
                hit,
                now,
                out,
                |name| rule.summary(name),
            );
        }
        Ok(())
    }

    fn link_report(
        &mut self,
        i: usize,
        at: DateTime<Utc>,
        rssi: f32,
        now: DateTime<Utc>,
        out: &mut Changes,
    ) {
        let policy = self.policy.link;
        let Some(l) = self.links.get_mut(i) else {
            return;
        };
        if l.last_report.is_some_and(|t| at < t) {
            return;
        }
        l.last_report = Some(at);
        l.row.signal_dbm = Some(rssi);
        l.row.updated = Some(at);
        l.values_dirty = true;
        l.unannounced = true;
        if let Some(state) = l
            .machine
            .apply(LinkInput::Report { at, rssi_dbm: rssi }, &policy)
        {
            self.on_link_state(i, state, now, out);
        }
    }

    fn on_link_state(&mut self, i: usize, state: LinkState, now: DateTime<Utc>, out: &mut Changes) {
        let Some(l) = self.links.get_mut(i) else {
            return;
        };
        l.row.state = state;
        l.dirty = true;
        l.unannounced = false;
        l.last_event = Some(now);
        out.events
            .push((l.row.tenant.clone(), EventBody::Link(l.row.clone())));
        let hit = matches!(state, LinkState::Degraded | LinkState::Down);
        let (tenant, cpe) = (l.row.tenant.clone(), l.row.cpe.clone());
        let summary_state = state.as_str();
        let policy = AlertPolicy {
            fire_after: 1,
            resolve_after: 1,
            ..AlertPolicy::default()
        };
        self.evaluate(
            &tenant,
            &cpe,
            rules::LINK_DEGRADED,
            Severity::Minor,
            &policy,
            hit,
            now,
            out,
            |name| format!("{name}: radio link {summary_state}"),
        );
    }

    fn on_status(
        &mut self,
        tenant: &Id,
        device: &Id,
        status: DeviceStatus,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
        out: &mut Changes,
    ) {
        let Some(dev) = self.devices.get_mut(&(tenant.clone(), device.clone())) else {
            return;
        };
        dev.row.status = status;
        dev.row.status_since = Some(at);
        dev.changes
            .retain(|t| now - *t <= Duration::seconds(rules::FLAP_WINDOW_S));
        dev.changes.push(now);
        let flapping = rules::flapping(&dev.changes, now);
        dev.dirty = true;
        dev.unannounced = false;
        dev.last_event = Some(now);
        out.events
            .push((tenant.clone(), EventBody::Device(dev.row.clone())));
        let severity = rules::offline_severity(dev.row.kind);
        if let Some(hit) = rules::offline_hit(status) {
            self.evaluate(
                tenant,
                device,
                rules::DEVICE_OFFLINE,
                severity,
                &rules::offline_policy(),
                hit,
                now,
                out,
                |name| format!("{name} is offline"),
            );
        }
        self.evaluate_flapping(tenant, device, flapping, now, out);
    }

    fn evaluate_flapping(
        &mut self,
        tenant: &Id,
        device: &Id,
        hit: bool,
        now: DateTime<Utc>,
        out: &mut Changes,
    ) {
        self.evaluate(
            tenant,
            device,
            rules::DEVICE_FLAPPING,
            Severity::Warning,
            &rules::flapping_policy(),
            hit,
            now,
            out,
            |name| {
                format!(
                    "{name} changed status {} times in {} minutes",
                    rules::FLAP_CHANGES,
                    rules::FLAP_WINDOW_S / 60
                )
            },
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn evaluate(
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
        let id = alert_id(device, rule);
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
                .get_mut(&(tenant.clone(), alert_id_of(device, rule)))
            {
                a.incident = Some(incident.id.clone());
            }
            out.batch.incidents.push(incident.clone());
            out.events
                .push((tenant.clone(), EventBody::Incident(incident)));
        }
        if let Some(a) = self
            .alerts
            .get(&(tenant.clone(), alert_id_of(device, rule)))
        {
            out.batch.alerts.push(a.clone());
            if eval.notify {
                out.events
                    .push((tenant.clone(), EventBody::Alert(a.clone())));
            }
        }
    }

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
                let _ = src.apply(IncidentAction::MergedInto { into }, now);
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

    fn open_incident(&self, tenant: &Id, id: &Id) -> Option<&Incident> {
        self.incidents
            .values()
            .find(|i| i.tenant == *tenant && i.id == *id)
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

    #[allow(clippy::too_many_arguments)]
    fn attach_incident(
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

    /// The periodic sweep at `now`: silence makes devices stale and offline,
    /// missed reports take links down, long-down links go stale, and delayed
    /// value updates are announced.
    pub fn sweep(&mut self, now: DateTime<Utc>, out: &mut Changes) {
        let mut changed = Vec::new();
        for (key, dev) in &mut self.devices {
            if let Some(status) = dev.machine.apply(StatusInput::Tick { now }, dev.thresholds) {
                // The device became stale or offline when its threshold was
                // crossed, not when this sweep noticed.
                let crossed = dev
                    .machine
                    .last_seen
                    .map(|seen| crossed_at(status, seen, dev.thresholds, now));
                changed.push((key.clone(), status, crossed.unwrap_or(now)));
            }
        }
        for ((tenant, device), status, at) in changed {
            self.on_status(&tenant, &device, status, at, now, out);
        }
        // Flapping devices that calmed down.
        let calm: Vec<(Id, Id)> = self
            .devices
            .iter()
            .filter(|(_, d)| {
                d.trackers.get(rules::DEVICE_FLAPPING).is_some_and(|t| {
                    t.state == AlertState::Firing && !rules::flapping(&d.changes, now)
                })
            })
            .map(|(k, _)| k.clone())
            .collect();
        for (tenant, device) in calm {
            self.evaluate_flapping(&tenant, &device, false, now, out);
        }
        let policy = self.policy.link;
        let mut link_changes = Vec::new();
        for (i, l) in self.links.iter_mut().enumerate() {
            let Some(last) = l.last_report else { continue };
            let interval = Duration::seconds(i64::from(l.interval_s));
            let silent = now - last;
            // One miss per whole interval without a report, after a grace of
            // one interval.
            // (Seconds are signed: less than one interval is no miss, not
            // minus one.)
            let due = u8::try_from(
                (silent.num_seconds() / interval.num_seconds().max(1))
                    .saturating_sub(1)
                    .max(0),
            )
            .unwrap_or(u8::MAX);
            while l.machine.missed < due
                && !matches!(l.machine.state, LinkState::Down | LinkState::Stale)
            {
                if let Some(s) = l.machine.apply(LinkInput::Missed { at: now }, &policy) {
                    link_changes.push((i, s));
                }
            }
            if let Some(s) = l.machine.apply(LinkInput::Tick { now }, &policy) {
                link_changes.push((i, s));
            }
        }
        for (i, s) in link_changes {
            self.on_link_state(i, s, now, out);
        }
        self.flush_events(now, out, true);
    }

    /// Collects dirty rows into the batch and announces value changes whose
    /// interval has passed (or all of them with `force`).
    pub fn flush_events(&mut self, now: DateTime<Utc>, out: &mut Changes, force: bool) {
        let every = self.policy.live_event_interval;
        for dev in self.devices.values_mut() {
            let values_due =
                dev.values_dirty && (force || dev.last_write.is_none_or(|t| now - t >= every));
            if dev.dirty || values_due {
                dev.dirty = false;
                dev.values_dirty = false;
                dev.last_write = Some(now);
                out.batch.devices.push(DeviceState {
                    tenant: dev.row.tenant.clone(),
                    device: dev.row.id.clone(),
                    status: dev.row.status,
                    status_since: dev.row.status_since,
                    last_seen: dev.row.last_seen,
                    cpu_pct: dev.row.cpu_pct,
                    mem_pct: dev.row.mem_pct,
                    signal_dbm: dev.row.signal_dbm,
                    uptime_s: dev.row.uptime_s,
                    firmware: Some(dev.row.firmware.clone()),
                    heartbeat_interval_s: dev.interval_s,
                });
            }
            if dev.unannounced && (force || dev.last_event.is_none_or(|t| now - t >= every)) {
                dev.unannounced = false;
                dev.last_event = Some(now);
                out.events
                    .push((dev.row.tenant.clone(), EventBody::Device(dev.row.clone())));
            }
        }
        for l in &mut self.links {
            let values_due =
                l.values_dirty && (force || l.last_write.is_none_or(|t| now - t >= every));
            if l.dirty || values_due {
                l.dirty = false;
                l.values_dirty = false;
                l.last_write = Some(now);
                out.batch.links.push(LinkUpdate {
                    tenant: l.row.tenant.clone(),
                    link: l.row.id.clone(),
                    state: l.row.state,
                    signal_dbm: l.row.signal_dbm,
                    updated: l.row.updated.unwrap_or(now),
                });
            }
            if l.unannounced && (force || l.last_event.is_none_or(|t| now - t >= every)) {
                l.unannounced = false;
                l.last_event = Some(now);
                out.events
                    .push((l.row.tenant.clone(), EventBody::Link(l.row.clone())));
            }
        }
    }
}

/// When a device last seen at `seen` entered `status`: at `seen` for
/// online, when the threshold passed for stale and offline (never after
/// `now`).
fn crossed_at(
    status: DeviceStatus,
    seen: DateTime<Utc>,
    t: StatusThresholds,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let after = match status {
        DeviceStatus::Stale => t.stale_after_s,
        DeviceStatus::Offline => t.offline_after_s,
        DeviceStatus::Online | DeviceStatus::Pending => return seen,
    };
    (seen + Duration::seconds(i64::from(after))).min(now)
}

fn alert_id_of(device: &Id, rule: &str) -> Id {
    alert_id(device, rule)
}
