//! Links between access points and CPEs: their state machines fed by
//! signal reports and by silence.

use super::*;

pub(super) struct LinkEntry {
    pub(super) row: LinkRow,
    pub(super) machine: LinkMachine,
    pub(super) interval_s: u32,
    pub(super) last_report: Option<DateTime<Utc>>,
    /// When its row is written and its changes announced.
    pub(super) live: LiveMarks,
}

impl FleetState {
    /// The state of the link between an access point and a CPE.
    pub fn link_state(&self, tenant: &Id, ap: &Id, cpe: &Id) -> Option<LinkState> {
        self.link_index
            .get(&(tenant.clone(), ap.clone(), cpe.clone()))
            .map(|&i| self.links[i].machine.state)
    }

    /// The link between a device and its peer, whichever end reports.
    pub(super) fn link_between(&self, tenant: &Id, device: &Id, peer: &Id) -> Option<usize> {
        self.link_index
            .get(&(tenant.clone(), peer.clone(), device.clone()))
            .or_else(|| {
                self.link_index
                    .get(&(tenant.clone(), device.clone(), peer.clone()))
            })
            .copied()
    }

    /// An access point's registration table: a report for each of its
    /// links whose CPE is known.
    pub(super) fn registrations(
        &mut self,
        tenant: &Id,
        ap: &Id,
        r: &crate::domain::telemetry::Registrations,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
        out: &mut Changes,
    ) {
        for c in &r.clients {
            let Some(cpe) = &c.device else { continue };
            if let Some(&i) = self
                .link_index
                .get(&(tenant.clone(), ap.clone(), cpe.clone()))
            {
                self.link_report(i, at, c.rssi_dbm, now, out);
            }
        }
    }

    pub(super) fn link_report(
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
        l.live.values_dirty = true;
        l.live.unannounced = true;
        if let Some(state) = l
            .machine
            .apply(LinkInput::Report { at, rssi_dbm: rssi }, &policy)
        {
            self.on_link_state(i, state, now, out);
        }
    }

    pub(super) fn on_link_state(
        &mut self,
        i: usize,
        state: LinkState,
        now: DateTime<Utc>,
        out: &mut Changes,
    ) {
        let Some(l) = self.links.get_mut(i) else {
            return;
        };
        l.row.state = state;
        l.live.dirty = true;
        l.live.unannounced = false;
        l.live.last_event = Some(now);
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
}
