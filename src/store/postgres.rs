//! The PostgreSQL backend: for fleets and teams that outgrow one file, and
//! for several workers sharing one database.
//!
//! URLs: `postgres://user@host:5432/db` over TCP, or a unix socket with
//! `postgres:///db?host=/var/run/postgresql`. A batch costs a handful of
//! round trips whatever its size (see `write.rs`), so TCP is as fast as the
//! socket although sqlx 0.9.0 leaves Nagle's algorithm on.

mod copy;
mod partitions;
mod read;
mod write;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor, PgPool, Row};

use super::migrate;
use super::{BatchOutcome, DeviceState, IngestCounts, Maintenance, Scope, StoreError, WriteBatch};
use crate::domain::Id;
use crate::domain::fleet::{FleetPage, FleetQuery, StatusCounts};
use crate::domain::incident::Incident;
use crate::domain::model::{
    Alert, DeviceRow, Inventory, LinkRow, MetricSample, SignalSample, Tenant,
};
use crate::domain::site::SiteSummary;

/// Connections per worker: one batch being written, one being prepared,
/// the api's reads and the periodic jobs.
const POOL_SIZE: u32 = 8;

/// The advisory lock that serialises migrations and partition changes when
/// several workers start at once.
const SCHEMA_LOCK: i64 = 0x7669_6769_6500_0001;

/// A vigie database on a PostgreSQL server, reached three ways (see
/// migrations/postgres/0004_security.sql and 0008_installation_roles.sql):
/// - `pool`, as the URL's user (the schema's owner): migrations and
///   partition DDL only;
/// - `work`, as the installation's provider role: ingest, sweeps,
///   deadlines, provider-wide reads;
/// - `tenant`, as the installation's app role, which owns nothing and
///   lacks BYPASSRLS:
///   every one-tenant read and write, in a transaction that names the
///   tenant with `set_config('app.tenant_id', …, true)`, so that
///   row-level security holds even if a query forgot its tenant filter.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    work: PgPool,
    tenant: PgPool,
}

/// Which of the installation's two roles a pool works as.
#[derive(Debug, Clone, Copy)]
enum Role {
    App,
    Provider,
}

/// Connections whose session takes the installation's `role`, named in
/// `vigie_installation` (migration 8; roles are per database and schema,
/// never shared across installations of one cluster). The pools connect
/// lazily, so a database not yet migrated can be opened.
fn role_pool(opts: &PgConnectOptions, role: Role, size: u32) -> PgPool {
    let sql = match role {
        Role::App => "SELECT set_config('role', app_role, false) FROM vigie_installation",
        Role::Provider => "SELECT set_config('role', provider_role, false) FROM vigie_installation",
    };
    PgPoolOptions::new()
        .max_connections(size)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                let set = conn.execute(sql).await?;
                if set.rows_affected() != 1 {
                    return Err(sqlx::Error::Protocol(
                        "vigie_installation names no roles: run vigie migrate".into(),
                    ));
                }
                Ok(())
            })
        })
        .connect_lazy_with(opts.clone())
}

impl PgStore {
    /// Connects to the database named by `url`. Migrations are not run:
    /// call [`Store::migrate`].
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let opts = PgConnectOptions::from_str(url)?;
        Self::connect_with(opts).await
    }

    /// Connects with explicit options (tests use a schema of their own).
    pub async fn connect_with(opts: PgConnectOptions) -> Result<Self, StoreError> {
        let opts = opts.application_name("vigie");
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts.clone())
            .await?;
        Ok(Self {
            pool,
            work: role_pool(&opts, Role::Provider, POOL_SIZE),
            tenant: role_pool(&opts, Role::App, POOL_SIZE / 2),
        })
    }

    fn work(&self) -> &PgPool {
        &self.work
    }

    /// A transaction for `scope`: one tenant's as the app role with the
    /// tenant set for the transaction, every tenant's as the provider role.
    async fn scoped(
        &self,
        scope: &Scope,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        match scope {
            Scope::Tenant(t) => {
                let mut tx = self.tenant.begin().await?;
                sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
                    .bind(t.as_str())
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
            Scope::All => Ok(self.work.begin().await?),
        }
    }

    /// A read-only transaction for `scope` whose view is fixed now:
    /// repeatable read takes its snapshot at the first query, which runs
    /// before this returns.
    async fn snapshot_tx(
        &self,
        scope: &Scope,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        let pool = match scope {
            Scope::Tenant(_) => &self.tenant,
            Scope::All => &self.work,
        };
        let mut tx = pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
            .bind(scope.tenant().map_or("", |t| t.as_str()))
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// The connection pool, for tests and benchmarks.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The installation's (app, provider) roles, once migrated: what a DBA
    /// grants to the installation's database user, and nothing else.
    pub async fn roles(&self) -> Result<(String, String), StoreError> {
        let row = sqlx::query("SELECT app_role, provider_role FROM vigie_installation")
            .fetch_one(&self.pool)
            .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }
}

crate::store::outbound::impl_outbound!(PgStore);

crate::store::impl_store!(PgStore, {
    async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(SCHEMA_LOCK)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS vigie_migrations (
                version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        let current: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM vigie_migrations")
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let known = migrate::POSTGRES.last().map_or(0, |m| m.version);
        if current > known {
            return Err(StoreError::TooNew {
                found: current,
                known,
            });
        }
        let mut applied = Vec::new();
        for m in migrate::POSTGRES.iter().filter(|m| m.version > current) {
            let fail = |source| StoreError::Migration {
                version: m.version,
                name: m.name,
                source,
            };
            for stmt in migrate::statements(m.sql) {
                tx.execute(sqlx::query(AssertSqlSafe(stmt)))
                    .await
                    .map_err(fail)?;
            }
            sqlx::query(
                "INSERT INTO vigie_migrations (version, name, applied_ms) VALUES ($1, $2, $3)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(Utc::now().timestamp_millis())
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
            applied.push(m.version);
        }
        tx.commit().await?;
        partitions::ensure(&self.pool, Utc::now()).await?;
        Ok(applied)
    }

    async fn maintain(&self, now: DateTime<Utc>) -> Result<Maintenance, StoreError> {
        let created = partitions::ensure(&self.pool, now).await?;
        let mut report = partitions::retention(&self.pool, &self.work, now).await?;
        report.partitions_created = created;
        Ok(report)
    }
});
