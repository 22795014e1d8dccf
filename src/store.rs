//! The storage API: one trait, two backends (SQLite embedded by default,
//! PostgreSQL at scale). Only the worker writes. Every query is scoped to a
//! tenant (or, for provider-wide roles, to all tenants) in the query itself.
//!
//! Both backends pass the same suite (`tests/support/storage_suite.rs`).

pub mod dialect;
pub mod migrate;
pub mod outbound;
pub mod postgres;
pub mod sqlite;
pub mod types;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::Id;
use crate::domain::audit::AuditEntry;
use crate::domain::fleet::{DeviceInterfaces, FleetPage, FleetQuery, StatusCounts};
use crate::domain::incident::Incident;
use crate::domain::model::{
    Alert, DeviceRow, Inventory, LinkRow, MetricSample, SignalSample, Tenant,
};
use crate::domain::push::{Push, PushQuery, Rollout, StoredConfig};
use crate::domain::site::{ApLinks, SectorHealth, SignalTrend, SiteDetail, SiteSummary};
use crate::domain::user::UserRecord;
pub use types::*;

/// Runs a read or write in one transaction opened by the backend for
/// `scope` (on PostgreSQL: as the tenant role with `app.tenant_id` set
/// for the transaction, so that row-level security applies).
macro_rules! scoped {
    ($self:ident, $scope:expr, $f:path, $($arg:expr),*) => {{
        let mut tx = $self.scoped($scope).await?;
        let out = $f(&mut *tx, $($arg),*).await?;
        tx.commit().await?;
        Ok(out)
    }};
}

/// `impl Store for $backend`: the methods both backends answer with the
/// shared queries (`shared/read.rs`, `shared/write.rs`) and their own
/// `write::write_batch`, on `self.pool`, plus the backend's own items.
macro_rules! impl_store {
    ($backend:ty, { $($own:item)* }) => {
#[async_trait::async_trait]
impl crate::store::Store for $backend {
    $($own)*

    async fn import_inventory(&self, inv: &Inventory) -> Result<(), StoreError> {
        write::import_inventory(self.work(), inv).await
    }

    async fn write_batch(&self, batch: &WriteBatch) -> Result<BatchOutcome, StoreError> {
        write::write_batch(self.work(), batch).await
    }

    async fn inventory(&self, scope: &Scope) -> Result<Inventory, StoreError> {
        crate::store::scoped!(self, scope, read::inventory, scope)
    }

    async fn create_enrolment(
        &self,
        code_hash: &str,
        e: &crate::domain::enrolment::Enrolment,
        audit: &crate::domain::audit::AuditEntry,
    ) -> Result<(), StoreError> {
        read::create_enrolment(self.work(), code_hash, e, audit).await
    }

    async fn redeem_enrolment(
        &self,
        code_hash: &str,
        agent_key: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<crate::domain::enrolment::Enrolment, crate::domain::enrolment::Refusal>, StoreError> {
        read::redeem_enrolment(self.work(), code_hash, agent_key, now).await
    }

    async fn enrolled_keys(&self, tenant: &Id, device: &Id) -> Result<Vec<String>, StoreError> {
        read::enrolled_keys(self.work(), tenant, device).await
    }

    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        read::tenants(self.work()).await
    }

    async fn device_states(&self, scope: &Scope) -> Result<Vec<DeviceState>, StoreError> {
        crate::store::scoped!(self, scope, read::device_states, scope)
    }

    async fn fleet_page(&self, scope: &Scope, q: &FleetQuery) -> Result<FleetPage, StoreError> {
        crate::store::scoped!(self, scope, read::fleet_page, scope, q)
    }

    async fn status_counts(&self, scope: &Scope) -> Result<StatusCounts, StoreError> {
        crate::store::scoped!(self, scope, read::status_counts, scope)
    }

    async fn fleet_snapshot(
        &self,
        scope: &Scope,
        incidents: u32,
        pinned: crate::store::Pinned,
    ) -> Result<crate::store::FleetSnapshot, StoreError> {
        // One transaction whose view is fixed by its first read, taken
        // before `pinned`: the reads after it see that point only, however
        // many batches commit meanwhile.
        let mut tx = self.snapshot_tx(scope).await?;
        pinned();
        let page = read::fleet_page(&mut *tx, scope, &FleetQuery::default()).await?;
        let counts = read::status_counts(&mut *tx, scope).await?;
        let incidents = read::incident_queue(&mut *tx, scope, incidents).await?;
        tx.commit().await?;
        Ok(crate::store::FleetSnapshot {
            devices: page.rows,
            counts,
            incidents,
        })
    }

    async fn sites(&self, scope: &Scope) -> Result<Vec<SiteSummary>, StoreError> {
        crate::store::scoped!(self, scope, read::sites, scope)
    }

    async fn incident_queue(&self, scope: &Scope, limit: u32) -> Result<Vec<Incident>, StoreError> {
        crate::store::scoped!(self, scope, read::incident_queue, scope, limit)
    }

    async fn alert_history(
        &self,
        scope: &Scope,
        device: Option<&Id>,
        limit: u32,
    ) -> Result<Vec<Alert>, StoreError> {
        crate::store::scoped!(self, scope, read::alert_history, scope, device, limit)
    }

    async fn signal_series(
        &self,
        scope: &Scope,
        device: &Id,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<SignalSample>, StoreError> {
        crate::store::scoped!(self, scope, read::signal_series, scope, device, since, until)
    }

    async fn metric_series(
        &self,
        scope: &Scope,
        device: &Id,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<MetricSample>, StoreError> {
        crate::store::scoped!(self, scope, read::metric_series, scope, device, since, until)
    }

    async fn ingest_counts(&self, scope: &Scope) -> Result<IngestCounts, StoreError> {
        crate::store::scoped!(self, scope, read::ingest_counts, scope)
    }

    async fn links(&self, scope: &Scope) -> Result<Vec<LinkRow>, StoreError> {
        crate::store::scoped!(self, scope, read::links, scope)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(self.work()).await?;
        Ok(())
    }

    async fn ap_links(&self, scope: &crate::store::Scope) -> Result<Vec<crate::domain::site::ApLinks>, StoreError> {
        crate::store::scoped!(self, scope, read::ap_links, scope)
    }

    async fn site_detail(&self, scope: &Scope, site: &Id, alerts: u32) -> Result<crate::domain::site::SiteDetail, StoreError> {
        crate::store::scoped!(self, scope, read::site_detail, scope, site, alerts)
    }

    async fn device_links(&self, scope: &Scope, device: &Id) -> Result<Vec<LinkRow>, StoreError> {
        crate::store::scoped!(self, scope, read::device_links, scope, device)
    }

    async fn device_interfaces(&self, scope: &Scope, device: &Id) -> Result<Option<crate::domain::fleet::DeviceInterfaces>, StoreError> {
        crate::store::scoped!(self, scope, read::device_interfaces, scope, device)
    }

    async fn incident(&self, scope: &Scope, incident: &Id) -> Result<Option<(Incident, Vec<Alert>)>, StoreError> {
        crate::store::scoped!(self, scope, read::incident, scope, incident)
    }

    async fn sector_health(
        &self,
        scope: &crate::store::Scope,
    ) -> Result<Vec<crate::domain::site::SectorHealth>, StoreError> {
        crate::store::scoped!(self, scope, read::sector_health, scope)
    }

    async fn signal_trends(
        &self,
        scope: &crate::store::Scope,
        baseline_since: DateTime<Utc>,
        recent_since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<crate::domain::site::SignalTrend>, StoreError> {
        crate::store::scoped!(self, scope, read::signal_trends, scope, baseline_since, recent_since, until)
    }

    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        read::try_lease(self.work(), name, holder, now, until).await
    }

    async fn device(&self, scope: &Scope, device: &Id) -> Result<Option<DeviceRow>, StoreError> {
        crate::store::scoped!(self, scope, read::device, scope, device)
    }

    async fn next_order_seq(&self, tenant: &Id, device: &Id, floor: u64) -> Result<u64, StoreError> {
        crate::store::scoped!(self, &crate::store::Scope::Tenant(tenant.clone()), read::next_order_seq, tenant, device, floor)
    }

    async fn insert_push(
        &self,
        push: &crate::domain::push::Push,
        audit: &crate::domain::audit::AuditEntry,
    ) -> Result<(), StoreError> {
        crate::store::scoped!(self, &crate::store::Scope::Tenant(push.tenant.clone()), read::insert_push, push, audit)
    }

    async fn update_push(
        &self,
        push: &crate::domain::push::Push,
        expected_version: u64,
        audit: &[crate::domain::audit::AuditEntry],
        outbox: &[crate::store::outbound::OutboxRow],
    ) -> Result<bool, StoreError> {
        let scope = crate::store::outbound::writer_scope(&push.tenant, outbox);
        crate::store::scoped!(self, &scope, read::update_push, push, expected_version, audit, outbox)
    }

    async fn push(&self, scope: &Scope, id: &Id) -> Result<Option<crate::domain::push::Push>, StoreError> {
        crate::store::scoped!(self, scope, read::push, scope, id)
    }

    async fn pushes(
        &self,
        scope: &Scope,
        q: &crate::domain::push::PushQuery,
    ) -> Result<Vec<crate::domain::push::Push>, StoreError> {
        crate::store::scoped!(self, scope, read::pushes, scope, q)
    }

    async fn insert_rollout(
        &self,
        rollout: &crate::domain::push::Rollout,
        audit: &crate::domain::audit::AuditEntry,
    ) -> Result<(), StoreError> {
        crate::store::scoped!(self, &crate::store::Scope::Tenant(rollout.tenant.clone()), read::insert_rollout, rollout, audit)
    }

    async fn update_rollout(
        &self,
        rollout: &crate::domain::push::Rollout,
        expected_version: u64,
        audit: &[crate::domain::audit::AuditEntry],
    ) -> Result<bool, StoreError> {
        crate::store::scoped!(self, &crate::store::Scope::Tenant(rollout.tenant.clone()), read::update_rollout, rollout, expected_version, audit)
    }

    async fn rollouts(
        &self,
        scope: &Scope,
        id: Option<&Id>,
        running_only: bool,
    ) -> Result<Vec<crate::domain::push::Rollout>, StoreError> {
        crate::store::scoped!(self, scope, read::rollouts, scope, id, running_only)
    }

    async fn create_tenant(&self, t: &crate::domain::model::Tenant, audit: &crate::domain::audit::AuditEntry) -> Result<(), StoreError> {
        read::create_tenant(self.work(), t, audit).await
    }

    async fn update_tenant(&self, t: &crate::domain::model::Tenant, audit: &crate::domain::audit::AuditEntry) -> Result<bool, StoreError> {
        read::update_tenant(self.work(), t, audit).await
    }

    async fn tenant_usage(&self, tenant: &Id) -> Result<crate::store::TenantUsage, StoreError> {
        read::tenant_usage(self.work(), tenant).await
    }

    async fn delete_tenant(&self, tenant: &Id, audit: &crate::domain::audit::AuditEntry) -> Result<crate::store::TenantUsage, StoreError> {
        read::delete_tenant(self.work(), tenant, audit).await
    }

    async fn purge_tenant(&self, tenant: &Id) -> Result<(), StoreError> {
        read::purge_tenant(self.work(), tenant).await
    }

    async fn provider(&self) -> Result<(String, crate::domain::model::Tier), StoreError> {
        read::provider_tier(self.work()).await
    }

    async fn set_provider(&self, name: &str, tier: crate::domain::model::Tier, audit: &crate::domain::audit::AuditEntry) -> Result<(), StoreError> {
        read::set_provider(self.work(), name, tier, audit).await
    }

    async fn insert_user(&self, u: &crate::domain::user::UserRecord, audit: &crate::domain::audit::AuditEntry) -> Result<(), StoreError> {
        read::insert_user(self.work(), u, audit).await
    }

    async fn update_user(&self, u: &crate::domain::user::UserRecord, audit: &crate::domain::audit::AuditEntry) -> Result<bool, StoreError> {
        read::update_user(self.work(), u, audit).await
    }

    async fn user(&self, name: &str) -> Result<Option<crate::domain::user::UserRecord>, StoreError> {
        read::user(self.work(), name).await
    }

    async fn users(&self, scope: &Scope) -> Result<Vec<crate::domain::user::UserRecord>, StoreError> {
        crate::store::scoped!(self, scope, read::users, scope)
    }

    async fn audit_chain(&self, tenant: &Id, after_seq: u64, limit: u32) -> Result<Vec<crate::domain::audit::AuditEntry>, StoreError> {
        read::audit_chain(self.work(), tenant, after_seq, limit).await
    }

    async fn audit_range(
        &self,
        tenant: &Id,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<crate::domain::audit::AuditEntry>, StoreError> {
        read::audit_range(self.work(), tenant, since, until).await
    }

    async fn audit_heads(&self) -> Result<Vec<crate::store::AuditHead>, StoreError> {
        read::audit_heads(self.work()).await
    }

    async fn audit_tenants(&self) -> Result<Vec<crate::domain::Id>, StoreError> {
        read::audit_tenants(self.work()).await
    }

    async fn append_audit(&self, entry: &crate::domain::audit::AuditEntry) -> Result<(), StoreError> {
        read::append_audit(self.work(), entry).await
    }

    async fn audit(
        &self,
        scope: &Scope,
        target: Option<&str>,
        limit: u32,
    ) -> Result<Vec<crate::domain::audit::AuditEntry>, StoreError> {
        crate::store::scoped!(self, scope, read::audit, scope, target, limit)
    }

    async fn latest_config(
        &self,
        scope: &Scope,
        device: &Id,
    ) -> Result<Option<crate::domain::push::StoredConfig>, StoreError> {
        crate::store::scoped!(self, scope, read::latest_config, scope, device)
    }
}
    };
}
pub(crate) use impl_store;
pub(crate) use scoped;

/// The storage API.
#[async_trait]
pub trait Store: outbound::OutboundStore + Send + Sync + 'static {
    /// Applies pending migrations; returns the versions applied now.
    async fn migrate(&self) -> Result<Vec<i64>, StoreError>;

    /// Creates or updates tenants, sites, sectors, devices and links. Live
    /// state (status, last seen, samples) is kept.
    async fn import_inventory(&self, inv: &Inventory) -> Result<(), StoreError>;

    /// Stores an enrolment code (only `code_hash`, its SHA-256) with its
    /// audit entry.
    async fn create_enrolment(
        &self,
        code_hash: &str,
        e: &crate::domain::enrolment::Enrolment,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Marks a code used by `agent_key`, once: its enrolment, or why it is
    /// refused (unknown, used, expired).
    async fn redeem_enrolment(
        &self,
        code_hash: &str,
        agent_key: &str,
        now: DateTime<Utc>,
    ) -> Result<
        Result<crate::domain::enrolment::Enrolment, crate::domain::enrolment::Refusal>,
        StoreError,
    >;

    /// The public keys of the agents enrolled for a device (to revoke).
    async fn enrolled_keys(&self, tenant: &Id, device: &Id) -> Result<Vec<String>, StoreError>;

    /// Every site, sector, device and link of the scope (no tenants, no
    /// live state), ordered by tenant and id: what an import would write.
    async fn inventory(&self, scope: &Scope) -> Result<Inventory, StoreError>;

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

    /// Every device of the scope, the counts and the newest `incidents`
    /// open incidents, read in one transaction. `pinned` is called as soon
    /// as the transaction's view is fixed (before the reads themselves),
    /// so that a caller holding writes back can let them go early. This
    /// default reads first and calls `pinned` at the end.
    async fn fleet_snapshot(
        &self,
        scope: &Scope,
        incidents: u32,
        pinned: Pinned,
    ) -> Result<FleetSnapshot, StoreError> {
        let page = self.fleet_page(scope, &FleetQuery::default()).await?;
        let counts = self.status_counts(scope).await?;
        let incidents = self.incident_queue(scope, incidents).await?;
        pinned();
        Ok(FleetSnapshot {
            devices: page.rows,
            counts,
            incidents,
        })
    }

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

    /// Housekeeping at `now`: partitions made ahead (PostgreSQL) and each
    /// tenant's telemetry past its retention removed.
    async fn maintain(&self, now: DateTime<Utc>) -> Result<Maintenance, StoreError>;

    /// Each sector's online clients and their average signal.
    async fn sector_health(&self, scope: &Scope) -> Result<Vec<SectorHealth>, StoreError>;

    /// Each access point's links by state, with its site and azimuth.
    async fn ap_links(&self, scope: &Scope) -> Result<Vec<ApLinks>, StoreError>;

    /// One site's sectors with their devices, the links of its access
    /// points, and its newest `alerts` alerts.
    async fn site_detail(
        &self,
        scope: &Scope,
        site: &Id,
        alerts: u32,
    ) -> Result<SiteDetail, StoreError>;

    /// The links one device is an end of (access point or client).
    async fn device_links(&self, scope: &Scope, device: &Id) -> Result<Vec<LinkRow>, StoreError>;

    /// A device's interfaces as last reported, if ever.
    async fn device_interfaces(
        &self,
        scope: &Scope,
        device: &Id,
    ) -> Result<Option<DeviceInterfaces>, StoreError>;

    /// One incident in any state, with its alerts (oldest first).
    async fn incident(
        &self,
        scope: &Scope,
        incident: &Id,
    ) -> Result<Option<(Incident, Vec<Alert>)>, StoreError>;

    /// Each device's average signal in `[recent_since, until)` and in
    /// `[baseline_since, recent_since)`, with the sample counts.
    async fn signal_trends(
        &self,
        scope: &Scope,
        baseline_since: DateTime<Utc>,
        recent_since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<SignalTrend>, StoreError>;

    /// Takes or renews the lease `name` for `holder` until `until`; true
    /// while `holder` has it. Jobs that must run once for the whole fleet
    /// run where the lease is.
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// The next order sequence of a device: above every one given before,
    /// and at least `floor` (the caller passes the time in milliseconds, so
    /// that a database restored from backup never reuses a sequence).
    async fn next_order_seq(&self, tenant: &Id, device: &Id, floor: u64)
    -> Result<u64, StoreError>;

    /// Records a new push with its audit entry. A second push in progress
    /// on the same device is refused with [`StoreError::Conflict`].
    async fn insert_push(&self, push: &Push, audit: &AuditEntry) -> Result<(), StoreError>;

    /// Writes `push`'s new state if its stored version is still
    /// `expected_version` (the version becomes one more), with `audit` and
    /// the events it queues for delivery (`outbox`), in one transaction.
    /// False when someone else changed it first.
    async fn update_push(
        &self,
        push: &Push,
        expected_version: u64,
        audit: &[AuditEntry],
        outbox: &[crate::store::outbound::OutboxRow],
    ) -> Result<bool, StoreError>;

    /// One push.
    async fn push(&self, scope: &Scope, id: &Id) -> Result<Option<Push>, StoreError>;

    /// Pushes, newest first.
    async fn pushes(&self, scope: &Scope, q: &PushQuery) -> Result<Vec<Push>, StoreError>;

    /// Records a new rollout with its audit entry.
    async fn insert_rollout(&self, rollout: &Rollout, audit: &AuditEntry)
    -> Result<(), StoreError>;

    /// Compare-and-set of a rollout, as [`Store::update_push`].
    async fn update_rollout(
        &self,
        rollout: &Rollout,
        expected_version: u64,
        audit: &[AuditEntry],
    ) -> Result<bool, StoreError>;

    /// Rollouts, newest first: one by id, or the running ones, or all.
    async fn rollouts(
        &self,
        scope: &Scope,
        id: Option<&Id>,
        running_only: bool,
    ) -> Result<Vec<Rollout>, StoreError>;

    /// Appends to the audit log (once per `dedup` key when it has one).
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// Creates a tenant; [`StoreError::Conflict`] when the id is taken.
    async fn create_tenant(&self, t: &Tenant, audit: &AuditEntry) -> Result<(), StoreError>;

    /// Changes a tenant's settings; false when there is no such tenant.
    async fn update_tenant(&self, t: &Tenant, audit: &AuditEntry) -> Result<bool, StoreError>;

    /// How many rows the tenant holds, table by table.
    async fn tenant_usage(&self, tenant: &Id) -> Result<TenantUsage, StoreError>;

    /// Deletes every row of the tenant but its audit log; returns what went.
    async fn delete_tenant(
        &self,
        tenant: &Id,
        audit: &AuditEntry,
    ) -> Result<TenantUsage, StoreError>;

    /// Deletes rows of a tenant that no longer exists (written by a worker
    /// that had not yet learnt of the deletion); the audit log stays.
    async fn purge_tenant(&self, tenant: &Id) -> Result<(), StoreError>;

    /// The provider's name and tier.
    async fn provider(&self) -> Result<(String, crate::domain::model::Tier), StoreError>;

    async fn set_provider(
        &self,
        name: &str,
        tier: crate::domain::model::Tier,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Adds a user; [`StoreError::Conflict`] when the name is taken.
    async fn insert_user(&self, u: &UserRecord, audit: &AuditEntry) -> Result<(), StoreError>;

    /// Replaces a user's record; false when there is no such user.
    async fn update_user(&self, u: &UserRecord, audit: &AuditEntry) -> Result<bool, StoreError>;

    async fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError>;

    /// The users of a tenant (and, for all tenants, provider-wide users too).
    async fn users(&self, scope: &Scope) -> Result<Vec<UserRecord>, StoreError>;

    /// A tenant's audit chain after `after_seq`, in order.
    async fn audit_chain(
        &self,
        tenant: &Id,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// A tenant's entries written in `[since, until)`, in chain order.
    async fn audit_range(
        &self,
        tenant: &Id,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// Every audit chain's head.
    async fn audit_heads(&self) -> Result<Vec<AuditHead>, StoreError>;

    /// Every tenant with entries in the audit log, read from the log
    /// itself (a chain whose head was removed is still found).
    async fn audit_tenants(&self) -> Result<Vec<Id>, StoreError>;

    /// Audit entries in log order, the newest `limit`; optionally of one
    /// target.
    async fn audit(
        &self,
        scope: &Scope,
        target: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// The device's configuration as it last reported it.
    async fn latest_config(
        &self,
        scope: &Scope,
        device: &Id,
    ) -> Result<Option<StoredConfig>, StoreError>;
}

/// Opens the store named by a URL: `sqlite:PATH`, `sqlite::memory:`,
/// `postgres://…` or `postgresql://…` (TCP, or a unix socket with
/// `?host=/run/postgresql`).
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let store = sqlite::SqliteStore::open(path).await?;
        return Ok(std::sync::Arc::new(store));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = postgres::PgStore::open(url).await?;
        return Ok(std::sync::Arc::new(store));
    }
    Err(StoreError::Invalid(format!(
        "unsupported database URL {url:?}: use sqlite:PATH or postgres://USER@HOST/DB"
    )))
}
