//! The worker's fleet state (`worker::state`), driven directly by scenario
//! files: `tests/resources/state/*.toml`, each a small fleet, a list of
//! steps (telemetry in, sweeps) at times relative to the start, and what
//! must hold after each step (statuses, firing alerts, link states, the
//! kinds of events announced). The state is the worker's, without the
//! pipeline: no bus, no batches, the time given to each call.
//!
//! A scenario:
//!
//! ```toml
//! stale_after_s = 30          # optional: the tenant's thresholds
//! offline_after_s = 60
//! devices = [["rtr-1", "router"], ["ap-1", "access_point"], ["cpe-1", "cpe"]]
//! links = [["ap-1", "cpe-1"]]
//!
//! [[step]]
//! at_s = 0
//! heartbeat = "rtr-1"         # or metrics = ["rtr-1", 95.0]
//!                             # or signal = ["cpe-1", "ap-1", -65.0]
//!                             # or sweep = true
//! status = { rtr-1 = "online" }
//! firing = ["cpu-high"]       # rules that must be firing
//! not_firing = ["mem-high"]   # rules that must not
//! last_seen_s = { rtr-1 = 0 }
//! link = { cpe-1 = "active" }
//! events = ["device"]         # the kinds of events this step announced
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use vigie::bus::envelope::{Envelope, MsgId};
use vigie::bus::event::EventBody;
use vigie::domain::Id;
use vigie::domain::device::StatusThresholds;
use vigie::domain::model::{DataMode, Device, DeviceKind, Inventory, Link, Site, Tenant, Tier};
use vigie::domain::telemetry::{Heartbeat, Metrics, Signal, Telemetry};
use vigie::store::Store as _;
use vigie::store::sqlite::SqliteStore;
use vigie::worker::state::{Changes, FleetState, StatePolicy};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    #[serde(default)]
    stale_after_s: Option<u32>,
    #[serde(default)]
    offline_after_s: Option<u32>,
    devices: Vec<(String, DeviceKind)>,
    #[serde(default)]
    links: Vec<(String, String)>,
    step: Vec<Step>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    at_s: i64,
    #[serde(default)]
    heartbeat: Option<String>,
    /// The heartbeat's own time, when it is not the step's (a late one).
    #[serde(default)]
    sent_at_s: Option<i64>,
    #[serde(default)]
    metrics: Option<(String, f32)>,
    #[serde(default)]
    signal: Option<(String, String, f32)>,
    #[serde(default)]
    sweep: bool,
    #[serde(default)]
    status: BTreeMap<String, String>,
    #[serde(default)]
    firing: Vec<String>,
    #[serde(default)]
    not_firing: Vec<String>,
    #[serde(default)]
    link: BTreeMap<String, String>,
    #[serde(default)]
    events: Option<Vec<String>>,
    #[serde(default)]
    last_seen_s: BTreeMap<String, i64>,
}

fn id(s: &str) -> Id {
    Id::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn inventory(s: &Scenario) -> Inventory {
    let tenant = id("acme");
    let defaults = StatusThresholds::default();
    Inventory {
        tenants: vec![Tenant {
            id: tenant.clone(),
            name: "Acme".into(),
            tier: Tier::Professional,
            data_mode: DataMode::Full,
            retention_days: 30,
            thresholds: StatusThresholds {
                stale_after_s: s.stale_after_s.unwrap_or(defaults.stale_after_s),
                offline_after_s: s.offline_after_s.unwrap_or(defaults.offline_after_s),
            },
        }],
        sites: vec![Site {
            tenant: tenant.clone(),
            id: id("hq"),
            name: "HQ".into(),
            region: "Here".into(),
            lat: 47.0,
            lon: 8.0,
        }],
        sectors: vec![],
        devices: s
            .devices
            .iter()
            .map(|(d, kind)| Device {
                tenant: tenant.clone(),
                id: id(d),
                name: d.as_str().into(),
                kind: *kind,
                site: id("hq"),
                sector: None,
                model: "m".into(),
                firmware: "1.0".into(),
                heartbeat_interval_s: 60,
            })
            .collect(),
        links: s
            .links
            .iter()
            .map(|(ap, cpe)| Link {
                tenant: tenant.clone(),
                id: id(&format!("{cpe}-l")),
                ap: id(ap),
                cpe: id(cpe),
            })
            .collect(),
    }
}

/// The state as the worker loads it from a store holding the inventory.
async fn state_of(inv: &Inventory, dir: &Path) -> FleetState {
    let store = SqliteStore::open(dir.join("v.db").to_str().unwrap())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.import_inventory(inv).await.unwrap();
    vigie::worker::load_state(&store, StatePolicy::default())
        .await
        .unwrap()
}

fn envelope(n: usize, device: &str, ts: DateTime<Utc>, body: Telemetry) -> Envelope {
    Envelope {
        id: MsgId::parse(&format!("m{n}")).unwrap(),
        ts,
        tenant: id("acme"),
        device: id(device),
        body,
    }
}

fn event_kind(e: &EventBody) -> String {
    e.entity().to_string()
}

async fn run(path: &Path) {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let text = std::fs::read_to_string(path).unwrap();
    let scenario: Scenario = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(&scenario);
    let mut state = state_of(&inv, dir.path()).await;
    let tenant = id("acme");
    for (n, step) in scenario.step.iter().enumerate() {
        let at = t0() + Duration::seconds(step.at_s);
        let here = format!("{name}, step {} (at {} s)", n + 1, step.at_s);
        let mut out = Changes::default();
        let sent = step.sent_at_s.map_or(at, |s| t0() + Duration::seconds(s));
        let message = if let Some(d) = &step.heartbeat {
            Some((
                d.clone(),
                Telemetry::Heartbeat(Heartbeat {
                    uptime_s: u64::try_from((sent - t0()).num_seconds()).unwrap_or(0) + 1,
                    name: None,
                    firmware: None,
                    interval_s: Some(60),
                }),
            ))
        } else if let Some((d, cpu)) = &step.metrics {
            Some((
                d.clone(),
                Telemetry::Metrics(Metrics {
                    cpu_pct: *cpu,
                    mem_pct: 30.0,
                    rx_bps: 10,
                    tx_bps: 20,
                    temp_c: None,
                }),
            ))
        } else if let Some((d, peer, dbm)) = &step.signal {
            Some((
                d.clone(),
                Telemetry::Signal(Signal {
                    peer: id(peer),
                    rssi_dbm: *dbm,
                    snr_db: None,
                    tx_rate_mbps: None,
                    rx_rate_mbps: None,
                }),
            ))
        } else {
            None
        };
        if let Some((device, body)) = message {
            state
                .apply(&envelope(n, &device, sent, body), at, &mut out)
                .unwrap_or_else(|e| panic!("{here}: refused: {e}"));
            state.flush_events(at, &mut out, false);
        }
        if step.sweep {
            state.sweep(at, &mut out);
        }
        for (device, want) in &step.status {
            let got = state.status(&tenant, &id(device)).map(|s| s.as_str());
            assert_eq!(got, Some(want.as_str()), "{here}: status of {device}");
        }
        let firing: Vec<String> = state
            .firing_alerts()
            .iter()
            .map(|a| a.rule.as_str().to_string())
            .collect();
        for rule in &step.firing {
            assert!(
                firing.contains(rule),
                "{here}: {rule} not firing ({firing:?})"
            );
        }
        for rule in &step.not_firing {
            assert!(!firing.contains(rule), "{here}: {rule} firing");
        }
        for (cpe, want) in &step.link {
            let ap = &scenario
                .links
                .iter()
                .find(|(_, c)| c == cpe)
                .unwrap_or_else(|| panic!("{here}: no link of {cpe}"))
                .0;
            let got = state
                .link_state(&tenant, &id(ap), &id(cpe))
                .map(|s| s.as_str());
            assert_eq!(got, Some(want.as_str()), "{here}: link of {cpe}");
        }
        if let Some(want) = &step.events {
            let got: Vec<String> = out.events.iter().map(|(_, e)| event_kind(e)).collect();
            assert_eq!(&got, want, "{here}: events announced");
        }
        for (device, want) in &step.last_seen_s {
            let seen = state
                .device_row(&tenant, &id(device))
                .and_then(|r| r.last_seen);
            assert_eq!(
                seen,
                Some(t0() + Duration::seconds(*want)),
                "{here}: last seen of {device}"
            );
        }
    }
}

#[tokio::test]
async fn every_scenario_holds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/resources/state");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "scenarios in {}", dir.display());
    for f in files {
        run(&f).await;
    }
}
