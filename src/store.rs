//! The storage API: one trait, two backends (SQLite embedded by default,
//! PostgreSQL at scale). Only the worker writes. Every query is scoped to a
//! tenant (or, for provider-wide roles, to all tenants) in the query itself.
//!
//! Both backends pass the same suite (`tests/support/storage_suite.rs`).

pub mod migrate;
pub mod sqlite;
pub mod types;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::Id;
use crate::domain::incident::Incident;
use crate::domain::model::{
    Alert, DeviceRow, Inventory, LinkRow, MetricSample, SignalSample, Tenant,
};
pub use types::*;

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
}

/// The storage API.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies pending migrations; returns the versions applied now.
    async fn migrate(&self) -> Result<Vec<i64>, StoreError>;

    /// Creates or updates tenants, sites, sectors, devices and links. Live
    /// state (status, last seen, samples) is kept.
    async fn import_inventory(&self, inv: &Inventory) -> Result<(), StoreError>;

    /// Writes one worker batch in one transaction. Idempotent: samples whose
    /// message id is already stored are skipped and counted as duplicates.
    async fn write_batch(&self, batch: &WriteBatch) -> Result<BatchOutcome, StoreError>;

    /// Every tenant, with its thresholds.
    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError>;

    /// Live state of every device in scope, for the worker to start from.
    async fn device_states(&self, scope: &Scope) -> Result<Vec<DeviceState>, StoreError>;

    /// A page of the fleet table.
    async fn fleet_page(&self, scope: &Scope, q: &FleetQuery) -> Result<FleetPage, StoreError>;

    /// Devices per status.
    async fn status_counts(&self, scope: &Scope) -> Result<StatusCounts, StoreError>;

    /// Sites with their device health.
    async fn sites(&self, scope: &Scope) -> Result<Vec<SiteSummary>, StoreError>;

    /// Open incidents, most severe first, then nearest SLA deadline.
    async fn incident_queue(&self, scope: &Scope, limit: u32) -> Result<Vec<Incident>, StoreError>;

    /// Alerts, newest first; optionally of one device.
    async fn alert_history(
        &self,
        scope: &Scope,
        device: Option<&Id>,
        limit: u32,
    ) -> Result<Vec<Alert>, StoreError>;

    /// Signal samples of one device in `[since, until)`, oldest first.
    async fn signal_series(
        &self,
        scope: &Scope,
        device: &Id,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<SignalSample>, StoreError>;

    /// Metric samples of one device in `[since, until)`, oldest first.
    async fn metric_series(
        &self,
        scope: &Scope,
        device: &Id,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<MetricSample>, StoreError>;

    /// How many rows each telemetry table holds in scope.
    async fn ingest_counts(&self, scope: &Scope) -> Result<IngestCounts, StoreError>;

    /// Links in scope with their live state.
    async fn links(&self, scope: &Scope) -> Result<Vec<LinkRow>, StoreError>;

    /// One device row.
    async fn device(&self, scope: &Scope, device: &Id) -> Result<Option<DeviceRow>, StoreError>;

    /// Answers when the database is reachable (readiness checks).
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Opens the store named by a URL: `sqlite:PATH` or `sqlite::memory:`.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let store = sqlite::SqliteStore::open(path).await?;
        return Ok(std::sync::Arc::new(store));
    }
    Err(StoreError::Invalid(format!(
        "unsupported database URL {url:?}: this build supports sqlite:PATH"
    )))
}
