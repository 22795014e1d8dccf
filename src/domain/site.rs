//! Sites as the map, the site view and the periodic rules read them: a
//! site's health, its access points' links, its sectors, and a radio's
//! signal over the trend windows.

use serde::{Deserialize, Serialize};

use crate::domain::fleet::StatusCounts;
use crate::domain::model::Alert;
use crate::domain::{Id, SafeText};

/// A site with its device health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteSummary {
    pub tenant: Id,
    pub id: Id,
    pub name: SafeText,
    pub region: SafeText,
    pub lat: f64,
    pub lon: f64,
    pub counts: StatusCounts,
}

/// One access point's links, for the map: where it stands, which way its
/// sector faces, and how many of its links are in each state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApLinks {
    pub tenant: Id,
    pub site: Id,
    pub ap: Id,
    /// The sector's azimuth, when the access point has a sector.
    pub azimuth_deg: Option<u16>,
    /// Links active or just discovered.
    pub up: u32,
    pub degraded: u32,
    /// Links down or stale.
    pub down: u32,
}

/// A sector of a site with the devices in it, for the site view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectorDevices {
    pub tenant: Id,
    pub site: Id,
    pub id: Id,
    pub name: SafeText,
    pub azimuth_deg: u16,
    /// The sector's devices, by id.
    pub devices: Vec<Id>,
}

/// What the site view shows beyond the live fleet: the site's sectors and
/// their devices, the links of its access points, its recent alerts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SiteDetail {
    pub sectors: Vec<SectorDevices>,
    /// The site's devices in no sector (routers, appliances, …).
    pub unsectored: Vec<Id>,
    pub links: Vec<crate::domain::model::LinkRow>,
    /// Newest first.
    pub alerts: Vec<Alert>,
}

/// One sector's health, as the store reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectorHealth {
    pub tenant: Id,
    pub site: Id,
    pub sector: Id,
    /// Client devices (CPEs) of the sector online now.
    pub clients_online: u64,
    /// Their average signal, when any reports one.
    pub avg_signal_dbm: Option<f32>,
}

/// One device's signal over the two trend windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalTrend {
    pub tenant: Id,
    pub device: Id,
    pub site: Id,
    pub recent_dbm: Option<f32>,
    pub recent_n: u64,
    pub baseline_dbm: Option<f32>,
    pub baseline_n: u64,
}
