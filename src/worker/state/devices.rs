//! Devices: their status machines, threshold trackers and flapping.

use super::*;

pub(super) struct DeviceEntry {
    pub(super) row: DeviceRow,
    pub(super) machine: StatusMachine,
    pub(super) thresholds: StatusThresholds,
    pub(super) interval_s: u32,
    pub(super) trackers: HashMap<String, AlertTracker>,
    /// When its row is written and its changes announced.
    pub(super) live: LiveMarks,
    /// When the status last changed, inside the flapping window.
    pub(super) changes: Vec<DateTime<Utc>>,
}

impl DeviceEntry {
    /// A heartbeat sent at `at`: the status machine's verdict, and the
    /// row's values when it is the newest heard.
    pub(super) fn heartbeat(
        &mut self,
        h: &crate::domain::telemetry::Heartbeat,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DeviceStatus> {
        let change = self
            .machine
            .apply(StatusInput::Heartbeat { at, now }, self.thresholds);
        if self.row.last_seen.is_none_or(|seen| at > seen) {
            self.row.last_seen = Some(at);
            self.row.uptime_s = Some(h.uptime_s);
            if let Some(fw) = &h.firmware {
                self.row.firmware = fw.clone();
            }
            if let Some(i) = h.interval_s {
                self.interval_s = i.max(1);
            }
            self.live.values_dirty = true;
        }
        change
    }

    /// A metrics sample: the row's values, and the rules (by index) it
    /// hits or clears. A clear on a rule that is not tracked changes
    /// nothing, so it is left out.
    pub(super) fn metrics(
        &mut self,
        m: &crate::domain::telemetry::Metrics,
        rules: &[ThresholdRule],
    ) -> Vec<(usize, bool)> {
        self.row.cpu_pct = Some(m.cpu_pct);
        self.row.mem_pct = Some(m.mem_pct);
        self.live.values_dirty = true;
        self.live.unannounced = true;
        rules
            .iter()
            .enumerate()
            .filter_map(|(i, rule)| {
                let hit = rule.hit(m)?;
                (hit || self.trackers.contains_key(&rule.name)).then_some((i, hit))
            })
            .collect()
    }

    /// A signal sample's value.
    pub(super) fn signal(&mut self, rssi_dbm: f32) {
        self.row.signal_dbm = Some(rssi_dbm);
        self.live.values_dirty = true;
        self.live.unannounced = true;
    }
}

/// The rows of the kinds that only record what the device said (its
/// interfaces, configuration, push reports and logs).
pub(super) fn record(
    body: &Telemetry,
    tenant: &Id,
    device: &Id,
    msg_id: Arc<str>,
    ts: DateTime<Utc>,
    out: &mut Changes,
) {
    match body {
        Telemetry::Interfaces(i) => out.batch.interfaces.push(InterfacesRow {
            tenant: tenant.clone(),
            device: device.clone(),
            ts,
            json: serde_json::to_string(&i.interfaces).unwrap_or_else(|_| "[]".into()),
        }),
        Telemetry::Config(c) => out.batch.configs.push(ConfigRow {
            tenant: tenant.clone(),
            msg_id,
            device: device.clone(),
            ts,
            format: c.format.clone(),
            body: c.body.clone(),
        }),
        Telemetry::Push(r) => out.push_reports.push(crate::worker::push::ReportIn {
            tenant: tenant.clone(),
            device: device.clone(),
            msg_id,
            ts,
            report: r.clone(),
        }),
        Telemetry::Log(l) => out.batch.logs.push(LogRow {
            tenant: tenant.clone(),
            msg_id,
            device: device.clone(),
            ts,
            level: crate::domain::enum_name(&l.level),
            message: l.message.clone(),
        }),
        Telemetry::Heartbeat(_)
        | Telemetry::Metrics(_)
        | Telemetry::Signal(_)
        | Telemetry::Registrations(_) => {}
    }
}

impl FleetState {
    pub(super) fn on_status(
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
        dev.live.dirty = true;
        dev.live.unannounced = false;
        dev.live.last_event = Some(now);
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

    pub(super) fn evaluate_flapping(
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
}
