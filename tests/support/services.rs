//! Reaching the services integration tests need. Under CI (`CI=true`) a
//! missing service fails the test; elsewhere the test is skipped with a
//! note, so `cargo test` works on a laptop without NATS or PostgreSQL.

/// The NATS URL for tests: `VIGIE_TEST_NATS`, else the local server.
pub fn nats_url() -> String {
    std::env::var("VIGIE_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// True when running under CI, where every service must be there.
pub fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Handles a service that could not be reached: panics under CI, otherwise
/// notes the skip and returns `None`.
pub fn unavailable<T>(service: &str, why: impl std::fmt::Display) -> Option<T> {
    if required() {
        panic!(
            "{service} is required under CI and is not reachable: {why} (run scripts/services.sh)"
        );
    }
    eprintln!(
        "skipped: {service} not reachable ({why}); run scripts/services.sh to test against it"
    );
    None
}
