//! The sweep (silence, calm flapping, missed link reports) and the
//! batching of live values: status changes are written and announced at
//! once, value changes at most every live interval.

use super::*;

impl FleetState {
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
            if dev.live.take_write(now, every, force) {
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
            if dev.live.take_announce(now, every, force) {
                out.events
                    .push((dev.row.tenant.clone(), EventBody::Device(dev.row.clone())));
            }
        }
        for l in &mut self.links {
            if l.live.take_write(now, every, force) {
                out.batch.links.push(LinkUpdate {
                    tenant: l.row.tenant.clone(),
                    link: l.row.id.clone(),
                    state: l.row.state,
                    signal_dbm: l.row.signal_dbm,
                    updated: l.row.updated.unwrap_or(now),
                });
            }
            if l.live.take_announce(now, every, force) {
                out.events
                    .push((l.row.tenant.clone(), EventBody::Link(l.row.clone())));
            }
        }
    }
}

/// When a device's or a link's row is written and its changes announced:
/// a state change at once, value changes at most every live interval.
#[derive(Debug, Default)]
pub(super) struct LiveMarks {
    /// The state changed: write with this batch.
    pub dirty: bool,
    /// Values (CPU, signal, last seen…) changed: written at most every
    /// live interval, with the next state change, or at the sweep.
    pub values_dirty: bool,
    pub last_write: Option<DateTime<Utc>>,
    /// Has unannounced changes.
    pub unannounced: bool,
    pub last_event: Option<DateTime<Utc>>,
}

impl LiveMarks {
    /// Whether the row is due to be written at `now` (a state change, or
    /// values unwritten for `every`, or `force`); if so, it counts as
    /// written.
    pub fn take_write(&mut self, now: DateTime<Utc>, every: Duration, force: bool) -> bool {
        let values_due =
            self.values_dirty && (force || self.last_write.is_none_or(|t| now - t >= every));
        if !(self.dirty || values_due) {
            return false;
        }
        self.dirty = false;
        self.values_dirty = false;
        self.last_write = Some(now);
        true
    }

    /// Whether its changes are due to be announced at `now`; if so, they
    /// count as announced.
    pub fn take_announce(&mut self, now: DateTime<Utc>, every: Duration, force: bool) -> bool {
        if !(self.unannounced && (force || self.last_event.is_none_or(|t| now - t >= every))) {
            return false;
        }
        self.unannounced = false;
        self.last_event = Some(now);
        true
    }
}
