//! The fleet: provider → tenant → site → sector → device, and links.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::device::{DeviceStatus, StatusThresholds};
use super::link::LinkState;
use super::{Id, SafeText};

/// Commercial tier of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Starter,
    Professional,
    Enterprise,
}

/// Whether a tenant's raw data (client MACs, log text) may be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataMode {
    Full,
    PrivacySafe,
}

/// The MSP or MSSP that runs vigie.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    pub id: Id,
    pub name: SafeText,
}

/// A customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: Id,
    pub name: SafeText,
    pub tier: Tier,
    pub data_mode: DataMode,
    pub retention_days: u32,
    pub thresholds: StatusThresholds,
}

/// A physical location of a tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub tenant: Id,
    pub id: Id,
    pub name: SafeText,
    pub region: SafeText,
    pub lat: f64,
    pub lon: f64,
}

/// A sector of a site (the coverage of one or more access points).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sector {
    pub tenant: Id,
    pub site: Id,
    pub id: Id,
    pub name: SafeText,
    pub azimuth_deg: u16,
}

/// What a device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Router,
    AccessPoint,
    Cpe,
    Appliance,
    EdgeSensor,
    Workstation,
}

impl DeviceKind {
    /// Every kind, in display order.
    pub const ALL: [DeviceKind; 6] = [
        DeviceKind::Router,
        DeviceKind::AccessPoint,
        DeviceKind::Cpe,
        DeviceKind::Appliance,
        DeviceKind::EdgeSensor,
        DeviceKind::Workstation,
    ];

    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Router => "router",
            DeviceKind::AccessPoint => "access_point",
            DeviceKind::Cpe => "cpe",
            DeviceKind::Appliance => "appliance",
            DeviceKind::EdgeSensor => "edge_sensor",
            DeviceKind::Workstation => "workstation",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            DeviceKind::Router => "router",
            DeviceKind::AccessPoint => "ap",
            DeviceKind::Cpe => "cpe",
            DeviceKind::Appliance => "appliance",
            DeviceKind::EdgeSensor => "sensor",
            DeviceKind::Workstation => "agent",
        }
    }
}

/// A managed device as the inventory knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub tenant: Id,
    pub id: Id,
    pub name: SafeText,
    pub kind: DeviceKind,
    pub site: Id,
    pub sector: Option<Id>,
    pub model: SafeText,
    pub firmware: SafeText,
    pub heartbeat_interval_s: u32,
}

/// An AP ↔ CPE wireless link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub tenant: Id,
    pub id: Id,
    pub ap: Id,
    pub cpe: Id,
}

/// Everything a tenant's fleet is made of, as imported into the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub tenants: Vec<Tenant>,
    pub sites: Vec<Site>,
    pub sectors: Vec<Sector>,
    pub devices: Vec<Device>,
    pub links: Vec<Link>,
}

/// One row of the fleet table: a device with its live state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceRow {
    pub tenant: Id,
    pub id: Id,
    pub name: SafeText,
    pub kind: DeviceKind,
    pub site: Id,
    pub site_name: SafeText,
    pub firmware: SafeText,
    pub status: DeviceStatus,
    pub status_since: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub cpu_pct: Option<f32>,
    pub mem_pct: Option<f32>,
    pub signal_dbm: Option<f32>,
    pub uptime_s: Option<u64>,
}

/// A live link row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkRow {
    pub tenant: Id,
    pub id: Id,
    pub ap: Id,
    pub cpe: Id,
    pub state: LinkState,
    pub signal_dbm: Option<f32>,
    pub updated: Option<DateTime<Utc>>,
}

/// Severity of an alert or incident, most severe first when sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    Major,
    Minor,
    Warning,
    Info,
}

impl Severity {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Major => "major",
            Severity::Minor => "minor",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Severity::Critical,
            Severity::Major,
            Severity::Minor,
            Severity::Warning,
            Severity::Info,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// A metrics sample of one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSample {
    pub ts: DateTime<Utc>,
    pub cpu_pct: f32,
    pub mem_pct: f32,
    pub rx_bps: u64,
    pub tx_bps: u64,
}

/// A signal sample of one radio link end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalSample {
    pub ts: DateTime<Utc>,
    pub peer: Id,
    pub rssi_dbm: f32,
    pub snr_db: Option<f32>,
}

/// One entry of the append-only audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub ts: DateTime<Utc>,
    pub tenant: Id,
    pub actor: SafeText,
    pub action: SafeText,
    pub target: SafeText,
    pub reason: SafeText,
}

/// An alert instance as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub tenant: Id,
    pub id: Id,
    /// The rule that raised it (`device-offline`, `cpu-high`, …).
    pub rule: SafeText,
    pub device: Option<Id>,
    pub site: Option<Id>,
    pub severity: Severity,
    pub state: super::alert::AlertState,
    pub summary: SafeText,
    pub flapping: bool,
    pub started: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub incident: Option<Id>,
}
