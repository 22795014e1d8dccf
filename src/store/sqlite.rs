//! The SQLite backend: one file (WAL), the embedded default.

mod read;
mod write;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Executor, Row, SqlitePool};

use super::migrate::{self, Migration};
use super::{BatchOutcome, DeviceState, IngestCounts, Maintenance, Scope, StoreError, WriteBatch};
use crate::domain::Id;
use crate::domain::fleet::{FleetPage, FleetQuery, StatusCounts};
use crate::domain::incident::Incident;
use crate::domain::model::{
    Alert, DeviceRow, Inventory, LinkRow, MetricSample, SignalSample, Tenant,
};
use crate::domain::site::SiteSummary;

/// A vigie database in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`; `:memory:` gives a
    /// private in-memory database. Migrations are not run: call
    /// [`Store::migrate`].
    pub async fn open(path: &str) -> Result<Self, StoreError> {
        let memory = path == ":memory:" || path.is_empty();
        let opts = if memory {
            SqliteConnectOptions::from_str("sqlite::memory:")?
        } else {
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
        };
        let opts = opts
            .journal_mode(if memory {
                SqliteJournalMode::Memory
            } else {
                SqliteJournalMode::Wal
            })
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-65536");
        if !memory {
            owner_only(std::path::Path::new(path))?;
            // Turning a new file to WAL takes an exclusive lock, and the
            // pool opens connections concurrently: a second one racing the
            // first was refused with "database is locked". One connection
            // makes the switch first (it persists in the file); then the
            // pool's connections find WAL already on.
            use sqlx::Connection as _;
            sqlx::SqliteConnection::connect_with(&opts)
                .await?
                .close()
                .await?;
        }
        // An in-memory database lives in one connection.
        let pool = SqlitePoolOptions::new()
            .max_connections(if memory { 1 } else { 4 })
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await?;
        Ok(Self { pool })
    }

    /// The connection pool, for tests and benchmarks.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The pool of provider-wide work (SQLite has one).
    fn work(&self) -> &SqlitePool {
        &self.pool
    }

    /// A transaction whose view is fixed now: in WAL mode a read
    /// transaction keeps the database as it was at its first read, which
    /// runs before this returns, while writers go on.
    async fn snapshot_tx(
        &self,
        _scope: &Scope,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT COUNT(*) FROM tenants")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// A transaction for `scope`: SQLite enforces the tenant in the
    /// queries themselves.
    async fn scoped(
        &self,
        _scope: &Scope,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.pool.begin().await?)
    }
}

/// Makes the database file (created empty when missing), and its `-wal`
/// and `-shm` files when present, readable and writable by their owner
/// only. SQLite gives the `-wal` and `-shm` files it creates the database
/// file's mode, so a new database never exists with looser permissions.
fn owner_only(path: &std::path::Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let fail = |p: &std::path::Path, e: std::io::Error| {
        StoreError::Invalid(format!("{}: {e}", p.display()))
    };
    if !path.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .or_else(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    std::fs::File::open(path)
                } else {
                    Err(e)
                }
            })
            .map_err(|e| fail(path, e))?;
    }
    let mut name = path.as_os_str().to_owned();
    for suffix in ["", "-wal", "-shm"] {
        name.push(suffix);
        let p = std::path::PathBuf::from(&name);
        if let Ok(meta) = std::fs::metadata(&p)
            && meta.permissions().mode() & 0o077 != 0
        {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| fail(&p, e))?;
        }
        name = path.as_os_str().to_owned();
    }
    Ok(())
}

async fn run_migration(pool: &SqlitePool, m: &Migration) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for stmt in migrate::statements(m.sql) {
        tx.execute(sqlx::query(AssertSqlSafe(stmt))).await?;
    }
    sqlx::query("INSERT INTO vigie_migrations (version, name, applied_ms) VALUES (?, ?, ?)")
        .bind(m.version)
        .bind(m.name)
        .bind(Utc::now().timestamp_millis())
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

crate::store::outbound::impl_outbound!(SqliteStore);

crate::store::impl_store!(SqliteStore, {
    async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS vigie_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        let current: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM vigie_migrations")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let known = migrate::SQLITE.last().map_or(0, |m| m.version);
        if current > known {
            return Err(StoreError::TooNew {
                found: current,
                known,
            });
        }
        let mut applied = Vec::new();
        for m in migrate::SQLITE.iter().filter(|m| m.version > current) {
            run_migration(&self.pool, m)
                .await
                .map_err(|source| StoreError::Migration {
                    version: m.version,
                    name: m.name,
                    source,
                })?;
            applied.push(m.version);
        }
        Ok(applied)
    }

    async fn maintain(&self, now: DateTime<Utc>) -> Result<Maintenance, StoreError> {
        Ok(Maintenance {
            rows_deleted: write::delete_expired(&self.pool, now).await?,
            ..Maintenance::default()
        })
    }
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store as _;

    /// A database made before migration 9 keeps its telemetry rows, and a
    /// redelivered row is still absorbed afterwards.
    #[tokio::test]
    async fn samples_keyed_by_time_keep_the_rows_of_an_older_database() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("v.db");
        let store = SqliteStore::open(path.to_str().unwrap_or_default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        sqlx::query(
            "CREATE TABLE vigie_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)",
        )
        .execute(&store.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        for m in migrate::SQLITE.iter().filter(|m| m.version < 9) {
            run_migration(&store.pool, m)
                .await
                .unwrap_or_else(|e| panic!("migration {}: {e}", m.version));
        }
        let insert = "INSERT OR IGNORE INTO metric_samples
            (tenant_id, msg_id, device_id, ts, cpu_pct, mem_pct, rx_bps, tx_bps)
            VALUES ('acme', 'm-1', 'rtr-1', 1000, 5.0, 6.0, 7, 8)";
        sqlx::query(insert)
            .execute(&store.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let applied = store.migrate().await.unwrap_or_else(|e| panic!("{e}"));
        // Migration 9 and every one after it, in order.
        let after: Vec<i64> = migrate::SQLITE
            .iter()
            .map(|m| m.version)
            .filter(|v| *v >= 9)
            .collect();
        assert_eq!(applied, after);
        let again = sqlx::query(insert)
            .execute(&store.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.rows_affected(), 0, "a redelivered row is absorbed");
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM metric_samples WHERE cpu_pct = 5.0")
            .fetch_one(&store.pool)
            .await
            .and_then(|r| r.try_get(0))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n, 1);
    }
}
