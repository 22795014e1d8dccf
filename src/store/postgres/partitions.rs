//! Daily range partitions of the sample tables: created ahead, dropped whole
//! once every tenant's retention has passed them.
//!
//! A partition is named `{table}_d{YYYYMMDD}` and holds `[day, day + 1)` in
//! epoch milliseconds. Rows outside every partition land in the table's
//! DEFAULT partition, which per-tenant retention trims by `DELETE`.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, PgPool, Row};

use super::SCHEMA_LOCK;
use crate::store::{Maintenance, StoreError};

/// The partitioned tables.
pub const TABLES: [&str; 2] = ["metric_samples", "signal_samples"];

/// Days of partitions kept ready ahead of today.
pub const DAYS_AHEAD: i64 = 3;

/// Days behind today covered when partitions are first made (late data).
pub const DAYS_BEHIND: i64 = 1;

fn day_start_ms(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp_millis())
}

/// The partition of `table` for `day`.
pub fn partition_name(table: &str, day: NaiveDate) -> String {
    format!("{table}_d{}", day.format("%Y%m%d"))
}

/// The day a partition name stands for.
pub fn partition_day(table: &str, name: &str) -> Option<NaiveDate> {
    let digits = name.strip_prefix(table)?.strip_prefix("_d")?;
    NaiveDate::parse_from_str(digits, "%Y%m%d").ok()
}

/// Creates the missing partitions from `DAYS_BEHIND` before `now` to
/// `DAYS_AHEAD` after; returns how many were created.
pub async fn ensure(pool: &PgPool, now: DateTime<Utc>) -> Result<u32, StoreError> {
    let today = now.date_naive();
    let mut created = 0;
    for table in TABLES {
        for offset in -DAYS_BEHIND..=DAYS_AHEAD {
            let day = today + Duration::days(offset);
            let name = partition_name(table, day);
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(SCHEMA_LOCK)
                .execute(&mut *tx)
                .await?;
            let exists: bool = sqlx::query("SELECT to_regclass($1) IS NOT NULL")
                .bind(&name)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            if exists {
                continue;
            }
            let next = day + Duration::days(1);
            let sql = format!(
                "CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM ({}) TO ({})",
                day_start_ms(day),
                day_start_ms(next)
            );
            // A partition reached directly shows nothing: RLS on, no
            // policy, no grant (rows are read through the parent).
            let made = async {
                sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await?;
                let rls = format!(
                    "ALTER TABLE {name} ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY"
                );
                sqlx::query(AssertSqlSafe(rls)).execute(&mut *tx).await
            };
            match made.await {
                Ok(_) => {
                    tx.commit().await?;
                    created += 1;
                }
                // Rows for that day already sit in the DEFAULT partition
                // (data from before partitions existed): they stay there,
                // readable and trimmed by retention.
                Err(e) => tracing::warn!(partition = %name, error = %e, "partition not created"),
            }
        }
    }
    Ok(created)
}

/// Drops partitions older than the longest tenant retention, then trims
/// each tenant's rows past its own retention.
/// `owner` drops partitions; `work` (the provider role) reads the tenants
/// and deletes rows, as row-level security lets it.
pub async fn retention(
    pool: &PgPool,
    work: &PgPool,
    now: DateTime<Utc>,
) -> Result<Maintenance, StoreError> {
    let longest: Option<i64> = sqlx::query("SELECT MAX(retention_days) FROM tenants")
        .fetch_one(work)
        .await?
        .try_get(0)?;
    let mut report = Maintenance::default();
    if let Some(days) = longest {
        let cutoff = (now - Duration::days(days.max(1))).date_naive();
        for table in TABLES {
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = to_regclass($1)",
            )
            .bind(table)
            .fetch_all(pool)
            .await?;
            for name in names {
                // The partition's rows all end before `cutoff`.
                if partition_day(table, &name).is_some_and(|d| d + Duration::days(1) <= cutoff) {
                    let mut tx = pool.begin().await?;
                    sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(SCHEMA_LOCK)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(AssertSqlSafe(format!("DROP TABLE IF EXISTS {name}")))
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    report.partitions_dropped += 1;
                }
            }
        }
    }
    report.rows_deleted = super::write::delete_expired(work, now).await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_to_days() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
        let name = partition_name("metric_samples", day);
        assert_eq!(name, "metric_samples_d20261123");
        assert_eq!(partition_day("metric_samples", &name), Some(day));
        assert_eq!(
            partition_day("metric_samples", "metric_samples_default"),
            None
        );
        assert_eq!(partition_day("signal_samples", &name), None);
        assert_eq!(day_start_ms(day) % 86_400_000, 0);
    }
}
