//! Sessions for tests: workers started by the tests sign sessions with
//! [`SECRET`], so a test makes its own token for a user it creates.

use vigie::auth::Sessions;
use vigie::domain::Id;
use vigie::domain::access::Role;
use vigie::store::Store;

/// The session key of every worker the tests start (`VIGIE_SESSION_KEY`).
pub const SECRET: &str = "vigie-test-session-secret-0123456789";

pub fn sessions() -> Sessions {
    Sessions::new(SECRET.as_bytes(), chrono::Duration::hours(1))
}

/// The environment that makes a `vigie worker` use [`SECRET`].
pub fn worker_env() -> [(&'static str, String); 2] {
    [
        ("VIGIE_SESSION_KEY", "env:VIGIE_TEST_SESSION_SECRET".into()),
        ("VIGIE_TEST_SESSION_SECRET", SECRET.into()),
    ]
}

/// A token for a provider-wide administrator, created when missing.
pub async fn admin_token(store: &dyn Store) -> String {
    let now = chrono::Utc::now();
    vigie::admin::users::ensure_local_admin(store, "test-admin", now)
        .await
        .expect("test admin");
    sessions().issue("test-admin", now).0
}

/// Same, on the database at `url`.
pub async fn admin_token_at(url: &str) -> String {
    let store = vigie::store::open(url).await.expect("open store");
    store.migrate().await.expect("migrate");
    admin_token(store.as_ref()).await
}

/// A token for a new user with `role` in `tenant` (provider-wide: `None`).
pub async fn token_for(store: &dyn Store, name: &str, role: Role, tenant: Option<&Id>) -> String {
    let now = chrono::Utc::now();
    vigie::admin::users::add(
        store,
        name,
        tenant,
        role,
        "a long test password",
        "test",
        now,
    )
    .await
    .expect("add user");
    sessions().issue(name, now).0
}

/// The worker's api on `bus` over `store`, with no signing key (pushes
/// refused) and sessions under [`SECRET`].
pub async fn serve_api(
    store: std::sync::Arc<dyn Store>,
    bus: std::sync::Arc<dyn vigie::bus::Bus>,
) -> tokio::task::JoinHandle<Result<(), vigie::bus::BusError>> {
    use std::sync::Arc;
    let pushes = Arc::new(vigie::worker::push::Pushes::new(
        Arc::clone(&store),
        Arc::clone(&bus),
        None,
        vigie::worker::push::PushSettings::default(),
        vigie::clock::Clock::system(),
    ));
    let task = tokio::spawn(vigie::worker::api::serve(vigie::worker::api::ApiContext {
        bus,
        store,
        publish_lock: Arc::new(tokio::sync::Mutex::new(())),
        pushes,
        sessions: Arc::new(sessions()),
        triage: None,
        inbox_prefix: vigie::bus::DEFAULT_INBOX_PREFIX.to_string(),
        stats: Arc::default(),
        grants: None,
    }));
    // The service subscribes as it starts; give it a moment.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    task
}
