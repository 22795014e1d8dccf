//! The simulated fleet's behaviour: what each device reports, and when.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use chrono::{DateTime, Duration, Utc};

use super::fleet::{DevicePlan, FleetPlan};
use super::rng::Rng;
use crate::bus::envelope::{Envelope, MsgId};
use crate::domain::model::{DeviceKind, Inventory};
use crate::domain::telemetry::{
    ConfigSnapshot, Heartbeat, Interface, Interfaces, LogLevel, LogLine, Metrics, Registration,
    Registrations, Signal, Telemetry,
};
use crate::domain::{SafeBlock, SafeText};

/// How the simulator runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimConfig {
    pub seed: u64,
    /// About how many devices.
    pub devices: usize,
    /// Simulated seconds per wall second.
    pub speed: f64,
    /// Most messages per wall second (`None`: as the fleet produces them).
    pub rate: Option<f64>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            devices: 2_000,
            speed: 1.0,
            rate: None,
        }
    }
}

pub(super) struct SimDevice {
    pub(super) plan: DevicePlan,
    boot: DateTime<Utc>,
    pub(super) down_until: Option<DateTime<Utc>>,
    spike_reports: u32,
    flap_until: Option<DateTime<Utc>>,
    pub(super) silent: bool,
    reports: u64,
    rx_total: u64,
    tx_total: u64,
    /// The configuration pushed to it, when one was (else the generated).
    config: Option<String>,
}

/// The simulated fleet.
pub struct Simulator {
    pub(super) rng: Rng,
    inventory: Inventory,
    pub(super) devices: Vec<SimDevice>,
    /// (due time in ms, device index)
    queue: BinaryHeap<Reverse<(i64, usize)>>,
    clients: HashMap<usize, Vec<usize>>,
    site_members: HashMap<String, Vec<usize>>,
    pub(super) start: DateTime<Utc>,
    pub(super) prefix: String,
    ids: crate::bus::envelope::RandomIds,
}

const LOG_LINES: &[(LogLevel, &str)] = &[
    (LogLevel::Info, "dhcp lease renewed"),
    (LogLevel::Notice, "ntp: clock synchronised"),
    (
        LogLevel::Warning,
        "interface ether1: link speed renegotiated to 100M",
    ),
    (LogLevel::Warning, "radio: DFS event, channel changed"),
    (
        LogLevel::Error,
        "ssh: authentication failure for user admin",
    ),
    (LogLevel::Info, "config saved by system"),
];

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

impl Simulator {
    /// A simulator for `plan` whose clock starts at `start`.
    pub fn new(cfg: &SimConfig, plan: FleetPlan, start: DateTime<Utc>) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let index: HashMap<_, _> = plan
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| (d.device.id.clone(), i))
            .collect();
        let mut clients: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut site_members: HashMap<String, Vec<usize>> = HashMap::new();
        let mut devices = Vec::with_capacity(plan.devices.len());
        let mut queue = BinaryHeap::with_capacity(plan.devices.len());
        for (i, p) in plan.devices.into_iter().enumerate() {
            if let Some(ap) = p.ap.as_ref().and_then(|a| index.get(a)) {
                clients.entry(*ap).or_default().push(i);
            }
            site_members
                .entry(format!("{}/{}", p.device.tenant, p.device.site))
                .or_default()
                .push(i);
            let interval = i64::from(p.device.heartbeat_interval_s);
            let boot = start - Duration::seconds(rng.range(3_600.0, 40.0 * 86_400.0) as i64);
            // A few devices are already down when the demo starts, a few
            // have never reported: the console opens on a realistic mix.
            let roll = rng.unit();
            let down_until =
                (roll < 0.02).then(|| start + Duration::seconds(rng.range(120.0, 1_800.0) as i64));
            let silent = (0.02..0.025).contains(&roll);
            // First reports arrive within the first three seconds.
            let first =
                ms(start) + (rng.unit() * 3_000.0_f64.min(interval as f64 * 1_000.0)) as i64;
            queue.push(Reverse((first, i)));
            devices.push(SimDevice {
                plan: p,
                boot,
                down_until,
                spike_reports: 0,
                flap_until: None,
                silent,
                reports: 0,
                rx_total: rng.below(1 << 40),
                tx_total: rng.below(1 << 38),
                config: None,
            });
        }
        Self {
            rng,
            inventory: plan.inventory,
            devices,
            queue,
            clients,
            site_members,
            start,
            prefix: format!("s{:x}-{:x}", cfg.seed, ms(start)),
            ids: crate::bus::envelope::RandomIds::default(),
        }
    }

    /// The fleet's inventory, to import into the store.
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    /// Unguessable, as every published id must be (docs/PROTOCOL.md): the
    /// fleet is deterministic, its message ids are not.
    fn next_id(&mut self) -> MsgId {
        self.ids.next(&self.prefix)
    }

    fn envelope(&mut self, i: usize, ts: DateTime<Utc>, body: Telemetry) -> Envelope {
        let d = &self.devices[i].plan.device;
        let (tenant, device) = (d.tenant.clone(), d.id.clone());
        Envelope {
            id: self.next_id(),
            ts,
            tenant,
            device,
            body,
        }
    }

    /// Every message due up to `now`, at most `max` (the rest stay due).
    pub fn due(&mut self, now: DateTime<Utc>, max: usize) -> Vec<Envelope> {
        let mut out = Vec::new();
        while out.len() < max {
            let Some(Reverse((due, i))) = self.queue.peek().copied() else {
                break;
            };
            if due > ms(now) {
                break;
            }
            self.queue.pop();
            let at = DateTime::from_timestamp_millis(due).unwrap_or(now);
            self.report(i, at, &mut out);
            let interval = i64::from(self.devices[i].plan.device.heartbeat_interval_s) * 1_000;
            let jitter = (self.rng.noise(0.03) * interval as f64) as i64;
            self.queue.push(Reverse((due + interval + jitter, i)));
        }
        out
    }

    fn events(&mut self, i: usize, at: DateTime<Utc>, out: &mut Vec<Envelope>) {
        let r = self.rng.unit();
        let d = &mut self.devices[i];
        if r < 0.0015 {
            d.down_until = Some(at + Duration::seconds(self.rng.range(300.0, 2_400.0) as i64));
        } else if r < 0.0025 {
            d.boot = at;
            let body = Telemetry::Log(LogLine {
                level: LogLevel::Warning,
                message: SafeText::new("system rebooted (watchdog)"),
                facility: Some(SafeText::new("system")),
            });
            let e = self.envelope(i, at, body);
            out.push(e);
            self.push_config(i, at, out);
        } else if r < 0.0045 {
            d.spike_reports = 3 + self.rng.below(6) as u32;
        } else if r < 0.005 {
            d.flap_until = Some(at + Duration::minutes(15));
        } else if r < 0.0054 && d.plan.device.kind == DeviceKind::Router {
            // Power cut at the site: everything there goes dark together.
            let until = at + Duration::seconds(self.rng.range(600.0, 1_800.0) as i64);
            let key = format!("{}/{}", d.plan.device.tenant, d.plan.device.site);
            for &m in self
                .site_members
                .get(&key)
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                self.devices[m].down_until = Some(until);
            }
        }
    }

    /// Device `i`'s running configuration.
    pub fn config(&self, i: usize) -> String {
        if let Some(c) = &self.devices[i].config {
            return c.clone();
        }
        let d = &self.devices[i].plan.device;
        format!(
            "# {} ({})\n/system identity set name={}\n/interface bridge add name=bridge1\n/ip address add address=10.{}.{}.1/24 interface=bridge1\n/snmp set enabled=yes\n",
            d.model,
            d.firmware,
            d.name,
            i % 250,
            (i / 250) % 250
        )
    }

    /// Replaces device `i`'s running configuration.
    pub fn set_config(&mut self, i: usize, body: String) {
        self.devices[i].config = Some(body);
    }

    /// The index of a device, by tenant and id.
    pub fn index_of(
        &self,
        tenant: &crate::domain::Id,
        device: &crate::domain::Id,
    ) -> Option<usize> {
        self.devices
            .iter()
            .position(|d| &d.plan.device.tenant == tenant && &d.plan.device.id == device)
    }

    /// Takes device `i` off the network until `until`.
    pub fn take_down(&mut self, i: usize, until: DateTime<Utc>) {
        self.devices[i].down_until = Some(until);
    }

    /// True while device `i` cannot be reached.
    pub fn is_down(&self, i: usize, at: DateTime<Utc>) -> bool {
        self.devices[i].down_until.is_some_and(|u| u > at)
    }

    /// A message of device `i`'s, stamped `at`.
    pub fn message(&mut self, i: usize, at: DateTime<Utc>, body: Telemetry) -> Envelope {
        self.envelope(i, at, body)
    }

    /// Device `i`'s configuration snapshot.
    pub fn config_snapshot(&mut self, i: usize, at: DateTime<Utc>) -> Envelope {
        let body = self.config(i);
        self.envelope(
            i,
            at,
            Telemetry::Config(ConfigSnapshot {
                format: SafeText::new("routeros"),
                body: SafeBlock::from(body),
            }),
        )
    }

    fn push_config(&mut self, i: usize, at: DateTime<Utc>, out: &mut Vec<Envelope>) {
        let e = self.config_snapshot(i, at);
        out.push(e);
    }

    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn report(&mut self, i: usize, at: DateTime<Utc>, out: &mut Vec<Envelope>) {
        if self.devices[i].silent {
            return;
        }
        let interval = i64::from(self.devices[i].plan.device.heartbeat_interval_s);
        // Devices down at the start were last heard from long ago.
        if self.devices[i].reports == 0 && self.devices[i].down_until.is_some_and(|u| u > at) {
            self.devices[i].reports = 1;
            let ts = self.start - Duration::minutes(40);
            let hb = self.heartbeat(i, ts);
            out.push(hb);
            return;
        }
        if let Some(until) = self.devices[i].down_until {
            if until > at {
                return;
            }
            self.devices[i].down_until = None;
            self.devices[i].boot = at;
        }
        if let Some(until) = self.devices[i].flap_until {
            if until <= at {
                self.devices[i].flap_until = None;
            } else if !self.devices[i].reports.is_multiple_of(3) {
                // Flapping: every few reports the device drops out for a while.
                self.devices[i].reports += 1;
                self.devices[i].down_until = Some(at + Duration::seconds(interval * 4));
                return;
            }
        }
        let first = self.devices[i].reports == 0;
        self.devices[i].reports += 1;
        self.events(i, at, out);
        if self.devices[i].down_until.is_some_and(|u| u > at) {
            return;
        }
        let hb = self.heartbeat(i, at);
        out.push(hb);
        let metrics = self.metrics(i, at);
        out.push(metrics);
        let kind = self.devices[i].plan.device.kind;
        if kind == DeviceKind::Cpe
            && let Some(e) = self.signal(i, at)
        {
            out.push(e);
        }
        if kind == DeviceKind::AccessPoint && self.devices[i].reports.is_multiple_of(2) {
            let e = self.registrations(i, at);
            out.push(e);
        }
        if matches!(kind, DeviceKind::Router | DeviceKind::Appliance)
            && self.devices[i].reports % 5 == 1
        {
            let e = self.interfaces(i, at);
            out.push(e);
        }
        if first {
            self.push_config(i, at, out);
        }
        if self.rng.chance(0.01) {
            let (level, msg) = *self.rng.pick(LOG_LINES);
            let e = self.envelope(
                i,
                at,
                Telemetry::Log(LogLine {
                    level,
                    message: SafeText::new(msg),
                    facility: None,
                }),
            );
            out.push(e);
        }
    }

    /// A CPE's signal towards its access point.
    fn signal(&mut self, i: usize, at: DateTime<Utc>) -> Option<Envelope> {
        let ap = self.devices[i].plan.ap.clone()?;
        let rssi = self.rssi(i, at);
        let snr = f64::from(rssi) + 95.0 + self.rng.noise(1.0);
        Some(self.envelope(
            i,
            at,
            Telemetry::Signal(Signal {
                peer: ap,
                rssi_dbm: rssi,
                snr_db: Some(snr.clamp(0.0, 60.0) as f32),
                tx_rate_mbps: Some((f64::from(rssi) + 130.0).max(6.0) as f32),
                rx_rate_mbps: None,
            }),
        ))
    }

    /// An access point's registration table: its clients that are up.
    fn registrations(&mut self, i: usize, at: DateTime<Utc>) -> Envelope {
        let clients = self.clients.get(&i).cloned().unwrap_or_default();
        let mut regs = Vec::new();
        for c in clients {
            if self.devices[c].down_until.is_some_and(|u| u > at) || self.devices[c].silent {
                continue;
            }
            let rssi =
                (f64::from(self.rssi(c, at)) + self.rng.noise(1.5)).clamp(-120.0, -1.0) as f32;
            regs.push(Registration {
                device: Some(self.devices[c].plan.device.id.clone()),
                mac: None,
                rssi_dbm: rssi,
                uptime_s: (at - self.devices[c].boot).num_seconds().max(0) as u64,
            });
        }
        self.envelope(
            i,
            at,
            Telemetry::Registrations(Registrations { clients: regs }),
        )
    }

    /// A router's or an appliance's interfaces and their counters.
    fn interfaces(&mut self, i: usize, at: DateTime<Utc>) -> Envelope {
        let d = &self.devices[i];
        let body = Telemetry::Interfaces(Interfaces {
            interfaces: vec![
                Interface {
                    name: SafeText::new("ether1-wan"),
                    up: true,
                    speed_mbps: Some(1000),
                    rx_bytes: d.rx_total,
                    tx_bytes: d.tx_total,
                    errors: Some(0),
                },
                Interface {
                    name: SafeText::new("bridge1"),
                    up: true,
                    speed_mbps: None,
                    rx_bytes: d.tx_total / 2,
                    tx_bytes: d.rx_total / 2,
                    errors: None,
                },
            ],
        });
        self.envelope(i, at, body)
    }

    fn heartbeat(&mut self, i: usize, at: DateTime<Utc>) -> Envelope {
        let d = &self.devices[i];
        let body = Telemetry::Heartbeat(Heartbeat {
            uptime_s: u64::try_from((at - d.boot).num_seconds()).unwrap_or(0),
            name: None,
            firmware: Some(d.plan.device.firmware.clone()),
            interval_s: Some(d.plan.device.heartbeat_interval_s),
        });
        self.envelope(i, at, body)
    }

    /// One metrics sample of device `i` at `at`: its CPU over a daily
    /// curve with noise, its memory, its traffic by kind, and the daily
    /// curve's value (0 at night to 1 at mid-afternoon).
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub(super) fn sample_metrics(&mut self, i: usize, at: DateTime<Utc>, spikes: bool) -> Metrics {
        let hour = (at.timestamp() / 3_600 % 24) as f64;
        let daily = (std::f64::consts::PI * (hour - 4.0) / 12.0).sin().max(0.0);
        let d = &mut self.devices[i];
        let base = f64::from(d.plan.base_cpu);
        let cpu = if spikes && d.spike_reports > 0 {
            d.spike_reports -= 1;
            self.rng.range(91.0, 99.5)
        } else {
            (base + 15.0 * daily + self.rng.noise(4.0)).clamp(0.5, 88.0)
        };
        let mem = (35.0 + base * 0.8 + self.rng.noise(2.0)).clamp(5.0, 94.0);
        let scale = match d.plan.device.kind {
            DeviceKind::Router | DeviceKind::Appliance => 80e6,
            DeviceKind::AccessPoint => 40e6,
            DeviceKind::Cpe => 6e6,
            DeviceKind::Workstation => 2e6,
            DeviceKind::EdgeSensor => 20e3,
        };
        let rx = (scale * (0.2 + daily) * self.rng.range(0.6, 1.4)) as u64;
        let tx = (rx as f64 * self.rng.range(0.1, 0.4)) as u64;
        let temp = matches!(
            d.plan.device.kind,
            DeviceKind::Router | DeviceKind::Appliance
        )
        .then(|| (42.0 + cpu * 0.3 + self.rng.noise(1.5)) as f32);
        Metrics {
            cpu_pct: cpu as f32,
            mem_pct: mem as f32,
            rx_bps: rx,
            tx_bps: tx,
            temp_c: temp,
        }
    }

    fn metrics(&mut self, i: usize, at: DateTime<Utc>) -> Envelope {
        let m = self.sample_metrics(i, at, true);
        let d = &mut self.devices[i];
        let interval = u64::from(d.plan.device.heartbeat_interval_s);
        d.rx_total = d.rx_total.wrapping_add(m.rx_bps / 8 * interval);
        d.tx_total = d.tx_total.wrapping_add(m.tx_bps / 8 * interval);
        let body = Telemetry::Metrics(m);
        self.envelope(i, at, body)
    }

    #[allow(clippy::cast_possible_truncation)]
    pub(super) fn rssi(&mut self, i: usize, at: DateTime<Utc>) -> f32 {
        let p = &self.devices[i].plan;
        let days = (at - self.start).num_seconds() as f64 / 86_400.0;
        let drift = (at.timestamp() as f64 / 5_400.0 + i as f64).sin() * 2.0;
        let v = f64::from(p.base_rssi) - f64::from(p.decay_db_per_day) * days
            + drift
            + self.rng.noise(1.2);
        v.clamp(-110.0, -30.0) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::envelope::{decode, encode};
    use crate::sim::plan;

    #[test]
    fn produces_valid_telemetry_deterministically() {
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let cfg = SimConfig::default();
        let mut a = Simulator::new(&cfg, plan(cfg.seed, 300), start);
        let mut b = Simulator::new(&cfg, plan(cfg.seed, 300), start);
        let until = start + Duration::minutes(10);
        let ma = a.due(until, usize::MAX);
        let mb = b.due(until, usize::MAX);
        let ids: std::collections::HashSet<_> =
            ma.iter().chain(&mb).map(|m| m.id.clone()).collect();
        assert_eq!(ids.len(), ma.len() + mb.len(), "ids are never repeated");
        let same_id = |mut m: Envelope| {
            m.id = MsgId::parse("x").unwrap_or_else(|e| panic!("{e}"));
            m
        };
        assert_eq!(
            ma.iter().cloned().map(same_id).collect::<Vec<_>>(),
            mb.iter().cloned().map(same_id).collect::<Vec<_>>()
        );
        assert!(ma.len() > 1_000, "{} messages", ma.len());
        for m in &ma {
            let bytes = encode(m);
            assert_eq!(&decode(&bytes).unwrap(), m);
        }
        let kinds: std::collections::HashSet<_> = ma.iter().map(|m| m.body.kind()).collect();
        assert!(kinds.len() >= 6, "{kinds:?}");
    }

    #[test]
    fn max_leaves_the_rest_due() {
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let cfg = SimConfig::default();
        let mut s = Simulator::new(&cfg, plan(1, 100), start);
        let first = s.due(start + Duration::seconds(5), 10);
        assert!(first.len() >= 10);
        let rest = s.due(start + Duration::seconds(5), usize::MAX);
        assert!(!rest.is_empty());
    }
}
