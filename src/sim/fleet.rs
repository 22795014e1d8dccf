//! The simulated inventory: a provider with three customers of different
//! tiers, sites clustered around real towns, sectors, devices and links.

use super::rng::Rng;
use crate::domain::device::StatusThresholds;
use crate::domain::model::{
    DataMode, Device, DeviceKind, Inventory, Link, Sector, Site, Tenant, Tier,
};
use crate::domain::{Id, SafeText};

/// A town sites cluster around.
struct Town {
    name: &'static str,
    code: &'static str,
    lat: f64,
    lon: f64,
}

const COLORADO: &[Town] = &[
    Town {
        name: "Boulder",
        code: "bldr",
        lat: 40.015,
        lon: -105.270,
    },
    Town {
        name: "Longmont",
        code: "lgmt",
        lat: 40.167,
        lon: -105.102,
    },
    Town {
        name: "Fort Collins",
        code: "ftcl",
        lat: 40.585,
        lon: -105.084,
    },
    Town {
        name: "Loveland",
        code: "lvld",
        lat: 40.398,
        lon: -105.075,
    },
    Town {
        name: "Greeley",
        code: "grly",
        lat: 40.423,
        lon: -104.709,
    },
    Town {
        name: "Estes Park",
        code: "estp",
        lat: 40.377,
        lon: -105.522,
    },
    Town {
        name: "Lyons",
        code: "lyns",
        lat: 40.225,
        lon: -105.271,
    },
    Town {
        name: "Berthoud",
        code: "brth",
        lat: 40.308,
        lon: -105.081,
    },
];

const FLORIDA: &[Town] = &[
    Town {
        name: "Tampa",
        code: "tpa",
        lat: 27.951,
        lon: -82.457,
    },
    Town {
        name: "St. Petersburg",
        code: "stp",
        lat: 27.767,
        lon: -82.640,
    },
    Town {
        name: "Clearwater",
        code: "clw",
        lat: 27.966,
        lon: -82.800,
    },
    Town {
        name: "Sarasota",
        code: "srq",
        lat: 27.336,
        lon: -82.531,
    },
    Town {
        name: "Lakeland",
        code: "lkl",
        lat: 28.039,
        lon: -81.950,
    },
];

const ALPS: &[Town] = &[
    Town {
        name: "Zürich",
        code: "zrh",
        lat: 47.377,
        lon: 8.540,
    },
    Town {
        name: "Basel",
        code: "bsl",
        lat: 47.560,
        lon: 7.589,
    },
    Town {
        name: "Innsbruck",
        code: "inn",
        lat: 47.269,
        lon: 11.404,
    },
    Town {
        name: "Salzburg",
        code: "szg",
        lat: 47.809,
        lon: 13.055,
    },
    Town {
        name: "Graz",
        code: "grz",
        lat: 47.071,
        lon: 15.439,
    },
];

const SURNAMES: &[&str] = &[
    "alvarez", "bauer", "chen", "dubois", "ekstrom", "fischer", "garcia", "hansen", "ito",
    "jensen", "kowalski", "larsen", "moreau", "nakamura", "olsen", "patel", "quinn", "rossi",
    "schmidt", "tanaka", "ueda", "vogel", "weber", "xu", "yilmaz", "zimmer", "brooks", "carter",
    "dawson", "ellis",
];

/// What the simulator knows about a device beyond the inventory.
#[derive(Debug, Clone)]
pub struct DevicePlan {
    pub device: Device,
    /// For a CPE: its AP. For an AP: none.
    pub ap: Option<Id>,
    /// Base signal of a CPE's link, dBm.
    pub base_rssi: f32,
    /// dB per simulated day the link loses (a growing tree, a tilting dish).
    pub decay_db_per_day: f32,
    pub base_cpu: f32,
}

/// The generated fleet.
#[derive(Debug, Clone)]
pub struct FleetPlan {
    pub inventory: Inventory,
    pub devices: Vec<DevicePlan>,
}

fn id(s: &str) -> Id {
    // Every id built here is made of ASCII letters, digits and '-'.
    Id::parse(s).unwrap_or_else(|_| Id::from_static("invalid"))
}

/// Where a device stands.
#[derive(Clone, Copy)]
struct Place<'a> {
    tenant: &'a Id,
    site: &'a Id,
    sector: Option<&'a Id>,
}

/// A device model the simulated customers buy.
#[derive(Clone, Copy)]
struct Model {
    kind: DeviceKind,
    model: &'static str,
    firmware: &'static str,
    /// Seconds between heartbeats.
    interval: u32,
}

impl<'a> Place<'a> {
    fn new(tenant: &'a Id, site: &'a Id) -> Self {
        Self {
            tenant,
            site,
            sector: None,
        }
    }

    fn in_sector(self, sector: &'a Id) -> Self {
        Self {
            sector: Some(sector),
            ..self
        }
    }
}

const fn model(
    kind: DeviceKind,
    model: &'static str,
    firmware: &'static str,
    interval: u32,
) -> Model {
    Model {
        kind,
        model,
        firmware,
        interval,
    }
}

const TOWER_ROUTER: Model = model(DeviceKind::Router, "CCR2004-16G-2S+", "7.16.2", 60);
const SECTOR_AP: Model = model(DeviceKind::AccessPoint, "ePMP 4500", "5.8.1", 60);
const SUBSCRIBER_CPE: Model = model(DeviceKind::Cpe, "Force 300-25", "5.7.3", 120);
const CLINIC_ROUTER: Model = model(DeviceKind::Router, "ISR 1111", "17.9.4", 60);
const CLINIC_FIREWALL: Model = model(DeviceKind::Appliance, "FortiGate 60F", "7.4.3", 60);
const CLINIC_AP: Model = model(DeviceKind::AccessPoint, "MR36", "30.6", 60);
const CLINIC_WORKSTATION: Model =
    model(DeviceKind::Workstation, "OptiPlex 7010", "agent 1.4.0", 120);
const DEPOT_ROUTER: Model = model(DeviceKind::Router, "RB5009", "7.15.3", 60);
const DEPOT_FIREWALL: Model = model(DeviceKind::Appliance, "OPNsense DEC740", "24.7", 60);
const DEPOT_AP: Model = model(DeviceKind::AccessPoint, "U6 Pro", "6.6.77", 60);
const DEPOT_SENSOR: Model = model(DeviceKind::EdgeSensor, "RUT241", "7.9", 120);

struct Builder<'a> {
    rng: &'a mut Rng,
    plan: FleetPlan,
}

impl Builder<'_> {
    /// Ridgeline: ~24 towers, each a router and three sector APs with CPEs.
    fn towers(&mut self, tw: &Id, wisp_n: usize) {
        let towers = (wisp_n / 60).clamp(1, 24);
        let per_tower = wisp_n / towers;
        for t in 0..towers {
            let town = &COLORADO[t % COLORADO.len()];
            let n = t / COLORADO.len() + 1;
            let site = self.site(tw, town, n, "Tower");
            let code = site.as_str().to_string();
            self.device(
                Place::new(tw, &site),
                TOWER_ROUTER,
                format!("{code}-rtr"),
                format!("{code}-rtr"),
                None,
            );
            let cpes = per_tower.saturating_sub(4);
            for (s, (dir, az)) in [("n", 0u16), ("se", 120), ("sw", 240)]
                .into_iter()
                .enumerate()
            {
                let sector = id(&format!("{code}-{dir}"));
                self.plan.inventory.sectors.push(Sector {
                    tenant: tw.clone(),
                    site: site.clone(),
                    id: sector.clone(),
                    name: SafeText::from(format!("{} sector {}", town.name, dir.to_uppercase())),
                    azimuth_deg: az,
                });
                let ap = self.device(
                    Place::new(tw, &site).in_sector(&sector),
                    SECTOR_AP,
                    format!("{code}-ap-{dir}"),
                    format!("{code}-ap-{dir}"),
                    None,
                );
                let share = cpes / 3 + usize::from(s < cpes % 3);
                for c in 0..share {
                    let who = *self.rng.pick(SURNAMES);
                    let cid = format!("{code}-{dir}-cpe{c:03}");
                    let name = format!(
                        "cpe-{who}-{}{:03}",
                        town.code,
                        (t * 131 + s * 37 + c) % 1000
                    );
                    let cpe = self.device(
                        Place::new(tw, &site).in_sector(&sector),
                        SUBSCRIBER_CPE,
                        cid,
                        name,
                        Some(ap.clone()),
                    );
                    self.plan.inventory.links.push(Link {
                        tenant: tw.clone(),
                        id: id(&format!("{}-l", cpe.as_str())),
                        ap: ap.clone(),
                        cpe,
                    });
                }
            }
        }
    }

    /// Harbor Health: clinics with a router, a firewall, APs and workstations.
    fn clinics(&mut self, tc: &Id, clinic_n: usize) {
        let clinics = (clinic_n / 25).clamp(1, 10);
        for c in 0..clinics {
            let town = &FLORIDA[c % FLORIDA.len()];
            let site = self.site(tc, town, c / FLORIDA.len() + 1, "Clinic");
            let code = site.as_str().to_string();
            self.device(
                Place::new(tc, &site),
                CLINIC_ROUTER,
                format!("{code}-rtr"),
                format!("{code}-edge"),
                None,
            );
            self.device(
                Place::new(tc, &site),
                CLINIC_FIREWALL,
                format!("{code}-fw"),
                format!("{code}-fw"),
                None,
            );
            for a in 0..2 {
                self.device(
                    Place::new(tc, &site),
                    CLINIC_AP,
                    format!("{code}-ap{a}"),
                    format!("{code}-wifi-{a}"),
                    None,
                );
            }
            for w in 0..(clinic_n / clinics).saturating_sub(4) {
                self.device(
                    Place::new(tc, &site),
                    CLINIC_WORKSTATION,
                    format!("{code}-ws{w:02}"),
                    format!("{code}-exam-{w:02}"),
                    None,
                );
            }
        }
    }

    /// Alpenfracht: depots with a router, a firewall, an AP and sensors.
    fn depots(&mut self, tl: &Id, logi_n: usize) {
        let depots = (logi_n / 25).clamp(1, 8);
        for d in 0..depots {
            let town = &ALPS[d % ALPS.len()];
            let site = self.site(tl, town, d / ALPS.len() + 1, "Depot");
            let code = site.as_str().to_string();
            self.device(
                Place::new(tl, &site),
                DEPOT_ROUTER,
                format!("{code}-rtr"),
                format!("{code}-rtr"),
                None,
            );
            self.device(
                Place::new(tl, &site),
                DEPOT_FIREWALL,
                format!("{code}-fw"),
                format!("{code}-fw"),
                None,
            );
            self.device(
                Place::new(tl, &site),
                DEPOT_AP,
                format!("{code}-ap"),
                format!("{code}-ap"),
                None,
            );
            for s in 0..(logi_n / depots).saturating_sub(3) {
                self.device(
                    Place::new(tl, &site),
                    DEPOT_SENSOR,
                    format!("{code}-s{s:02}"),
                    format!("{code}-cold-{s:02}"),
                    None,
                );
            }
        }
    }

    fn device(
        &mut self,
        at: Place<'_>,
        m: Model,
        dev_id: String,
        name: String,
        ap: Option<Id>,
    ) -> Id {
        let did = id(&dev_id);
        let weak = self.rng.chance(0.12);
        let base_rssi = if weak {
            self.rng.range(-80.0, -74.0)
        } else {
            self.rng.range(-72.0, -52.0)
        };
        let decay = if self.rng.chance(0.06) {
            self.rng.range(1.0, 4.0)
        } else {
            0.0
        };
        #[allow(clippy::cast_possible_truncation)]
        self.plan.devices.push(DevicePlan {
            device: Device {
                tenant: at.tenant.clone(),
                id: did.clone(),
                name: SafeText::from(name),
                kind: m.kind,
                site: at.site.clone(),
                sector: at.sector.cloned(),
                model: SafeText::new(m.model),
                firmware: SafeText::new(m.firmware),
                heartbeat_interval_s: m.interval,
            },
            ap,
            base_rssi: base_rssi as f32,
            decay_db_per_day: decay as f32,
            base_cpu: self.rng.range(4.0, 35.0) as f32,
        });
        did
    }

    fn site(&mut self, tenant: &Id, town: &Town, n: usize, label: &str) -> Id {
        let sid = id(&format!(
            "{}-{}-{:02}",
            tenant.as_str().split('-').next().unwrap_or("t"),
            town.code,
            n
        ));
        let (lat, lon) = (
            town.lat + self.rng.range(-0.08, 0.08),
            town.lon + self.rng.range(-0.10, 0.10),
        );
        self.plan.inventory.sites.push(Site {
            tenant: tenant.clone(),
            id: sid.clone(),
            name: SafeText::from(format!("{} {label} {n}", town.name)),
            region: SafeText::new(town.name),
            lat,
            lon,
        });
        sid
    }
}

fn tenant(id_: &str, name: &str, tier: Tier, mode: DataMode, stale: u32, offline: u32) -> Tenant {
    Tenant {
        id: id(id_),
        name: SafeText::new(name),
        tier,
        data_mode: mode,
        retention_days: 30,
        thresholds: StatusThresholds {
            stale_after_s: stale,
            offline_after_s: offline,
        },
    }
}

/// Builds a fleet of about `devices` devices (at least one site per tenant).
pub fn plan(seed: u64, devices: usize) -> FleetPlan {
    let mut rng = Rng::new(seed ^ 0x0056_4947_4945);
    let mut b = Builder {
        rng: &mut rng,
        plan: FleetPlan {
            inventory: Inventory::default(),
            devices: Vec::new(),
        },
    };
    let wisp = tenant(
        "ridgeline",
        "Ridgeline Wireless",
        Tier::Enterprise,
        DataMode::Full,
        180,
        420,
    );
    let clinic = tenant(
        "harbor-health",
        "Harbor Health Clinics",
        Tier::Professional,
        DataMode::PrivacySafe,
        300,
        900,
    );
    let logi = tenant(
        "alpenfracht",
        "Alpenfracht Logistik",
        Tier::Starter,
        DataMode::Full,
        300,
        900,
    );
    let (tw, tc, tl) = (wisp.id.clone(), clinic.id.clone(), logi.id.clone());
    b.plan.inventory.tenants = vec![wisp, clinic, logi];
    let total = devices.max(30);
    let wisp_n = total * 70 / 100;
    let clinic_n = total * 18 / 100;
    let logi_n = total - wisp_n - clinic_n;

    b.towers(&tw, wisp_n);
    b.clinics(&tc, clinic_n);
    b.depots(&tl, logi_n);
    let mut plan = b.plan;
    plan.inventory.devices = plan.devices.iter().map(|d| d.device.clone()).collect();
    plan
}

/// What the worker's `map` verb answers for `inv` before any telemetry:
/// its sites, and each access point facing its sector, with the link
/// counts (up, degraded, down) that `links` gives the n-th access point.
pub fn map_of(
    inv: &Inventory,
    links: impl Fn(usize) -> (u32, u32, u32),
) -> (
    Vec<crate::domain::site::SiteSummary>,
    Vec<crate::domain::site::ApLinks>,
) {
    let sites = inv
        .sites
        .iter()
        .map(|s| crate::domain::site::SiteSummary {
            tenant: s.tenant.clone(),
            id: s.id.clone(),
            name: s.name.clone(),
            region: s.region.clone(),
            lat: s.lat,
            lon: s.lon,
            counts: crate::domain::fleet::StatusCounts::default(),
        })
        .collect();
    let aps = inv
        .devices
        .iter()
        .filter(|d| d.kind == DeviceKind::AccessPoint)
        .enumerate()
        .map(|(i, d)| {
            let (up, degraded, down) = links(i);
            crate::domain::site::ApLinks {
                tenant: d.tenant.clone(),
                site: d.site.clone(),
                ap: d.id.clone(),
                azimuth_deg: d
                    .sector
                    .as_ref()
                    .and_then(|s| inv.sectors.iter().find(|x| &x.id == s))
                    .map(|s| s.azimuth_deg),
                up,
                degraded,
                down,
            }
        })
        .collect();
    (sites, aps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_fleet_is_believable() {
        let p = plan(1, 2000);
        let inv = &p.inventory;
        assert_eq!(inv.tenants.len(), 3);
        assert!(
            (30..=50).contains(&inv.sites.len()),
            "{} sites",
            inv.sites.len()
        );
        assert!(
            (1800..=2100).contains(&inv.devices.len()),
            "{} devices",
            inv.devices.len()
        );
        assert!(!inv.links.is_empty());
        for k in DeviceKind::ALL {
            assert!(inv.devices.iter().any(|d| d.kind == k), "no {k:?}");
        }
        let mut ids: Vec<_> = inv.devices.iter().map(|d| (&d.tenant, &d.id)).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), inv.devices.len(), "device ids are unique");
    }

    #[test]
    fn same_seed_same_fleet() {
        assert_eq!(plan(5, 500).inventory, plan(5, 500).inventory);
        assert_ne!(plan(5, 500).inventory, plan(6, 500).inventory);
    }

    #[test]
    fn scales_down_and_up() {
        assert!(plan(1, 30).inventory.devices.len() >= 20);
        let big = plan(1, 10_000).inventory.devices.len();
        assert!((9_000..=10_500).contains(&big), "{big}");
    }
}
