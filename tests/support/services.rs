//! Reaching the services integration tests need. Under CI (`CI=true`) a
//! missing service fails the test; elsewhere the test is skipped, so
//! `cargo test` works on a laptop without NATS or PostgreSQL, and says so
//! in its output: a `SKIPPED` line per test, with the count so far.

/// The NATS URL for tests: `VIGIE_TEST_NATS`, else the local server.
pub fn nats_url() -> String {
    std::env::var("VIGIE_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// True when running under CI, where every service must be there.
pub fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Tests of this test binary skipped so far.
static SKIPPED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Handles a service that could not be reached: panics under CI, otherwise
/// reports the skip and returns `None`.
pub fn unavailable<T>(service: &str, why: impl std::fmt::Display) -> Option<T> {
    if required() {
        panic!(
            "{service} is required under CI and is not reachable: {why} (run scripts/services.sh)"
        );
    }
    let n = SKIPPED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    // Straight to the terminal: the test harness captures eprintln! and
    // shows it only for a failure, which would pass a skip off as a pass.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {service} not reachable ({why}); run scripts/services.sh \
         ({n} skipped in this test binary so far; CI=true makes this a failure)"
    );
    None
}

/// The PostgreSQL URL for tests: `VIGIE_TEST_DATABASE_URL`, else the local
/// server's `vigie_test` database (created by scripts/services.sh).
pub fn database_url() -> String {
    std::env::var("VIGIE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/vigie_test".into())
}

/// A schema of its own for one test, dropped when this is dropped, so that
/// tests run in parallel on one database without seeing each other.
pub struct PgSchema {
    pub name: String,
    pub options: sqlx::postgres::PgConnectOptions,
}

impl PgSchema {
    /// A URL that connects into this schema (for child processes).
    pub fn url(&self) -> String {
        let base = database_url();
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}options=-csearch_path%3D{}", self.name)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop is synchronous and may run inside a runtime: use a thread.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut c) = sqlx::PgConnection::connect(&database_url()).await {
                    // The installation's roles belong to the cluster: they
                    // go with the schema.
                    let roles: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(
                        format!("SELECT app_role, provider_role FROM {name}.vigie_installation"),
                    ))
                    .fetch_all(&mut c)
                    .await
                    .unwrap_or_default();
                    let sql = format!("DROP SCHEMA IF EXISTS {name} CASCADE");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await;
                    for (app, provider) in roles {
                        for role in [app, provider] {
                            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                                "DROP ROLE IF EXISTS {role}"
                            )))
                            .execute(&mut c)
                            .await;
                        }
                    }
                }
            });
        })
        .join();
    }
}

/// A fresh schema on the test database, or `None` (skipped) when
/// PostgreSQL is not reachable outside CI.
pub async fn pg_schema() -> Option<PgSchema> {
    use sqlx::Connection;
    use std::str::FromStr;
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let url = database_url();
    let mut conn = match sqlx::PgConnection::connect(&url).await {
        Ok(c) => c,
        Err(e) => return unavailable("PostgreSQL", format!("{url}: {e}")),
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "vt_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
        .execute(&mut conn)
        .await
        .expect("create a test schema");
    let options = sqlx::postgres::PgConnectOptions::from_str(&url)
        .expect("test database URL")
        .options([("search_path", name.as_str())]);
    Some(PgSchema { name, options })
}
