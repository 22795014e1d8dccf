//! The fleet as the console reads it: the table's query and pages, and the
//! devices counted by status. Shared by the store that answers, the api
//! that carries and the console that shows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::device::DeviceStatus;
use crate::domain::model::DeviceRow;

/// Columns the fleet table sorts by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FleetSort {
    #[default]
    Status,
    Name,
    Tenant,
    Site,
    Kind,
    LastSeen,
    Cpu,
    Signal,
}

/// A fleet page request. Every field may be left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FleetQuery {
    /// Case-insensitive substring of name, id or site name.
    pub text: Option<String>,
    pub status: Option<DeviceStatus>,
    pub sort: FleetSort,
    pub descending: bool,
    pub offset: u32,
    /// 0 means no limit.
    pub limit: u32,
}

/// A fleet page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetPage {
    pub rows: Vec<DeviceRow>,
    /// Rows matching the query, before offset/limit.
    pub total: u64,
}

/// Devices per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    pub online: u64,
    pub stale: u64,
    pub offline: u64,
    pub pending: u64,
}

impl StatusCounts {
    /// All devices.
    pub fn total(&self) -> u64 {
        self.online + self.stale + self.offline + self.pending
    }

    /// Adds one device of `status`.
    pub fn add(&mut self, status: DeviceStatus, n: i64) {
        let slot = match status {
            DeviceStatus::Online => &mut self.online,
            DeviceStatus::Stale => &mut self.stale,
            DeviceStatus::Offline => &mut self.offline,
            DeviceStatus::Pending => &mut self.pending,
        };
        *slot = slot.saturating_add_signed(n);
    }
}

/// A device's interfaces as it last reported them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceInterfaces {
    pub ts: DateTime<Utc>,
    pub interfaces: Vec<crate::domain::telemetry::Interface>,
}
