//! Values that cross the storage API.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::device::DeviceStatus;
use crate::domain::fleet::StatusCounts;
use crate::domain::incident::Incident;
use crate::domain::link::LinkState;
use crate::domain::model::{Alert, DeviceRow};
use crate::domain::{Id, SafeBlock, SafeText};

/// Errors of any storage backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        source: sqlx::Error,
    },
    #[error(
        "the database was migrated by a newer vigie (schema version {found}, this build knows {known})"
    )]
    TooNew { found: i64, known: i64 },
    #[error("unknown {what} {value:?} in the database")]
    Corrupt { what: &'static str, value: String },
    #[error("{0}")]
    Invalid(String),
    /// A uniqueness rule refused the write (a second open push on a device).
    #[error("{0}")]
    Conflict(String),
}

/// Whose data a query may touch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// One tenant's rows only.
    Tenant(Id),
    /// Every tenant (provider-wide roles and the worker itself).
    All,
}

impl Scope {
    /// The tenant, when the scope is one tenant.
    pub fn tenant(&self) -> Option<&Id> {
        match self {
            Scope::Tenant(t) => Some(t),
            Scope::All => None,
        }
    }

    /// True when `tenant` is inside the scope.
    pub fn admits(&self, tenant: &Id) -> bool {
        match self {
            Scope::Tenant(t) => t == tenant,
            Scope::All => true,
        }
    }
}

/// One metrics row.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    pub tenant: Id,
    pub msg_id: std::sync::Arc<str>,
    pub device: Id,
    pub ts: DateTime<Utc>,
    pub cpu_pct: f32,
    pub mem_pct: f32,
    pub rx_bps: u64,
    pub tx_bps: u64,
}

/// One signal row.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalRow {
    pub tenant: Id,
    pub msg_id: std::sync::Arc<str>,
    pub device: Id,
    pub peer: Id,
    pub ts: DateTime<Utc>,
    pub rssi_dbm: f32,
    pub snr_db: Option<f32>,
}

/// One log row.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRow {
    pub tenant: Id,
    pub msg_id: std::sync::Arc<str>,
    pub device: Id,
    pub ts: DateTime<Utc>,
    pub level: String,
    pub message: SafeText,
}

/// One config snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigRow {
    pub tenant: Id,
    pub msg_id: std::sync::Arc<str>,
    pub device: Id,
    pub ts: DateTime<Utc>,
    pub format: SafeText,
    pub body: SafeBlock,
}

/// The live state of a device, as the worker keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceState {
    pub tenant: Id,
    pub device: Id,
    pub status: DeviceStatus,
    pub status_since: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub cpu_pct: Option<f32>,
    pub mem_pct: Option<f32>,
    pub signal_dbm: Option<f32>,
    pub uptime_s: Option<u64>,
    pub firmware: Option<SafeText>,
    /// Expected seconds between heartbeats (read only: comes from inventory).
    pub heartbeat_interval_s: u32,
}

/// The live state of a link.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkUpdate {
    pub tenant: Id,
    pub link: Id,
    pub state: LinkState,
    pub signal_dbm: Option<f32>,
    pub updated: DateTime<Utc>,
}

/// The latest interface table of a device.
#[derive(Debug, Clone, PartialEq)]
pub struct InterfacesRow {
    pub tenant: Id,
    pub device: Id,
    pub ts: DateTime<Utc>,
    /// The interfaces as JSON (already display-safe).
    pub json: String,
}

/// Everything one worker batch writes, in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteBatch {
    pub metrics: Vec<MetricRow>,
    pub signals: Vec<SignalRow>,
    pub logs: Vec<LogRow>,
    pub configs: Vec<ConfigRow>,
    pub interfaces: Vec<InterfacesRow>,
    pub devices: Vec<DeviceState>,
    pub links: Vec<LinkUpdate>,
    pub alerts: Vec<Alert>,
    pub incidents: Vec<Incident>,
    /// Events queued for delivery, written with the changes above.
    pub outbox: Vec<crate::store::outbound::OutboxRow>,
}

impl WriteBatch {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
            && self.signals.is_empty()
            && self.logs.is_empty()
            && self.configs.is_empty()
            && self.interfaces.is_empty()
            && self.devices.is_empty()
            && self.links.is_empty()
            && self.alerts.is_empty()
            && self.incidents.is_empty()
            && self.outbox.is_empty()
    }

    /// Telemetry rows (samples, logs, configs) in the batch.
    pub fn sample_rows(&self) -> usize {
        self.metrics.len() + self.signals.len() + self.logs.len() + self.configs.len()
    }
}

/// What a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// New telemetry rows.
    pub inserted: u64,
    /// Telemetry rows already stored (redelivered messages).
    pub duplicates: u64,
}

/// Rows per telemetry table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestCounts {
    pub metrics: u64,
    pub signals: u64,
    pub logs: u64,
    pub configs: u64,
}

impl IngestCounts {
    /// All telemetry rows.
    pub fn total(&self) -> u64 {
        self.metrics + self.signals + self.logs + self.configs
    }
}

/// What a housekeeping pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maintenance {
    pub partitions_created: u32,
    pub partitions_dropped: u32,
    /// Telemetry rows past their tenant's retention, deleted.
    pub rows_deleted: u64,
}

/// Milliseconds since the epoch, as stored.
pub fn to_ms(ts: DateTime<Utc>) -> i64 {
    ts.timestamp_millis()
}

/// Back from milliseconds.
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// How many rows a tenant holds, table by table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantUsage {
    pub rows: Vec<(String, u64)>,
}

impl TenantUsage {
    /// Rows in all tables.
    pub fn total(&self) -> u64 {
        self.rows.iter().map(|(_, n)| n).sum()
    }
}

/// The last entry of a tenant's audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    pub tenant: Id,
    pub seq: u64,
    pub hash: String,
}

/// What a console starts from: every device of the scope, the counts and
/// the open incidents, all read at one point of the database's history.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSnapshot {
    pub devices: Vec<DeviceRow>,
    pub counts: StatusCounts,
    pub incidents: Vec<crate::domain::incident::Incident>,
}

/// Called once the read view of a [`FleetSnapshot`] is fixed: from then on
/// writes no longer change what it reads (the caller releases the lock
/// that kept writes out).
pub type Pinned = Box<dyn FnOnce() + Send>;
