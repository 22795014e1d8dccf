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
mod alerts;
mod devices;
mod incidents;
mod links;
mod live;

use devices::DeviceEntry;
pub use incidents::MergeRefusal;
use links::LinkEntry;
use live::LiveMarks;

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
    /// Outbound events the announcements do not tell (an incident merged
    /// into another).
    pub outbound: Vec<crate::domain::outbound::event::OutEvent>,
    /// Alert rules evaluated while making these changes.
    pub evaluations: u64,
}

type Key = (Id, Id);

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
                live: LiveMarks::default(),
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
                live: LiveMarks::default(),
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

    /// One device's row as tracked (its values may be written later).
    pub fn device_row(&self, tenant: &Id, device: &Id) -> Option<&DeviceRow> {
        self.devices
            .get(&(tenant.clone(), device.clone()))
            .map(|d| &d.row)
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
            Telemetry::Heartbeat(h) => status_change = dev.heartbeat(h, env.ts, now),
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
                threshold_hits = dev.metrics(m, &self.policy.rules);
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
                dev.signal(s.rssi_dbm);
                if let Some(i) = self.link_between(&tenant, &device, &s.peer) {
                    self.link_report(i, env.ts, s.rssi_dbm, now, out);
                }
            }
            Telemetry::Registrations(r) => {
                self.registrations(&tenant, &device, r, env.ts, now, out)
            }
            other => devices::record(other, &tenant, &device, msg_id, env.ts, out),
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
