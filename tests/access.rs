//! Every role × every api verb × own tenant / other tenant / every tenant,
//! through the real api server, on SQLite and on PostgreSQL: allowed
//! exactly where the role and tenant allow it, refused everywhere else with
//! an error that says why. Sessions expire, and a disabled user or a
//! changed password ends a session at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use vigie::api::verbs::need;
use vigie::api::{self, ApiError};
use vigie::bus::Bus;
use vigie::bus::memory::MemoryBus;
use vigie::domain::Id;
use vigie::domain::access::Role;
use vigie::store::Store;

/// Every verb of the table that needs a session.
fn session_verbs() -> Vec<&'static str> {
    vigie::api::verbs::VERBS
        .iter()
        .filter(|v| v.need.is_some())
        .map(|v| v.name)
        .collect()
}

const REFUSALS: [&str; 3] = ["forbidden", "other-tenant", "unauthenticated"];

async fn serve(store: Arc<dyn Store>) -> Arc<dyn Bus> {
    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::default());
    support::auth::serve_api(store, Arc::clone(&bus)).await;
    bus
}

async fn ask(bus: &dyn Bus, token: &str, scope: &str, verb: &str) -> Result<Value, ApiError> {
    api::call_value(bus, token, scope, verb, json!({}), Duration::from_secs(5)).await
}

async fn matrix(store: Arc<dyn Store>) {
    store.migrate().await.unwrap();
    let inv = vigie::sim::plan(3, 60).inventory;
    store.import_inventory(&inv).await.unwrap();
    let (own, other) = (inv.tenants[0].id.clone(), inv.tenants[1].id.clone());
    let bus = serve(Arc::clone(&store)).await;

    // One user per role in the own tenant, and each role provider-wide.
    let mut users: Vec<(Role, Option<Id>, String)> = Vec::new();
    for role in Role::ALL {
        if role != Role::SuperAdmin {
            let name = format!("{role}-own");
            let t = support::auth::token_for(store.as_ref(), &name, role, Some(&own)).await;
            users.push((role, Some(own.clone()), t));
        }
        let name = format!("{role}-provider");
        let t = support::auth::token_for(store.as_ref(), &name, role, None).await;
        users.push((role, None, t));
    }
    let scopes = [own.to_string(), other.to_string(), "_all".to_string()];
    let mut cells = 0;
    for (role, home, token) in &users {
        for verb in session_verbs() {
            for scope in &scopes {
                // `whoami` only ever tells users about themselves, and
                // `renew` only ever gives them their own scope.
                let tenant_ok = match home {
                    None => true,
                    Some(h) => scope == h.as_str() || verb == "whoami" || verb == "renew",
                };
                let allowed = tenant_ok && *role >= need(verb).unwrap();
                let answer = ask(bus.as_ref(), token, scope, verb).await;
                let who = format!("{role} of {home:?} → {verb} on {scope}");
                match (&answer, allowed) {
                    (Ok(_), true) => {}
                    (Err(e), true) => assert!(
                        !REFUSALS.contains(&e.code.as_str()),
                        "{who}: refused but should be allowed: {e}"
                    ),
                    (Ok(v), false) => panic!("{who}: allowed but should be refused: {v}"),
                    (Err(e), false) => {
                        assert!(
                            ["forbidden", "other-tenant"].contains(&e.code.as_str()),
                            "{who}: {e}"
                        );
                        if tenant_ok {
                            let want = format!("needs the {} role", need(verb).unwrap());
                            assert!(e.message.contains(&want), "{who}: {e}");
                        }
                    }
                }
                cells += 1;
            }
        }
    }
    assert_eq!(cells, 9 * session_verbs().len() * 3);

    // A tenant's admin manages that tenant's users, and no one else's.
    let (_, _, admin) = users
        .iter()
        .find(|(r, h, _)| *r == Role::Admin && h.is_some())
        .unwrap();
    let with = |verb: &'static str, scope: String, body: Value| {
        let (bus, admin) = (Arc::clone(&bus), admin.clone());
        async move {
            api::call_value::<Value>(
                bus.as_ref(),
                &admin,
                &scope,
                verb,
                body,
                Duration::from_secs(5),
            )
            .await
        }
    };
    let added = with(
        "user_add",
        own.to_string(),
        json!({ "name": "night-shift", "role": "operator", "password": "night shift password" }),
    )
    .await
    .unwrap();
    assert_eq!(added["tenant"], own.as_str());
    let up = with(
        "user_add",
        own.to_string(),
        json!({ "name": "boss", "role": "super_admin", "password": "a password for boss" }),
    )
    .await
    .unwrap_err();
    assert_eq!(up.code, "forbidden", "{up}");
    let listed = with("users", own.to_string(), json!({})).await.unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["tenant"] == own.as_str())
    );
    assert!(!listed.to_string().contains("argon2"));
    let their =
        support::auth::token_for(store.as_ref(), "their-op", Role::Operator, Some(&other)).await;
    let e = with(
        "user_disable",
        own.to_string(),
        json!({ "name": "their-op" }),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, "not-found", "{e}");
    assert!(
        ask(bus.as_ref(), &their, other.as_str(), "fleet")
            .await
            .is_ok()
    );
    let e = with(
        "user_disable",
        own.to_string(),
        json!({ "name": "admin-own" }),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, "bad-request", "{e}");
    let night = support::auth::sessions()
        .issue(
            "night-shift",
            chrono::Utc::now() + chrono::Duration::seconds(1),
        )
        .0;
    assert!(
        ask(bus.as_ref(), &night, own.as_str(), "fleet")
            .await
            .is_ok()
    );
    with(
        "user_disable",
        own.to_string(),
        json!({ "name": "night-shift" }),
    )
    .await
    .unwrap();
    let e = ask(bus.as_ref(), &night, own.as_str(), "fleet")
        .await
        .unwrap_err();
    assert!(e.message.contains("disabled"), "{e}");

    // No token, a forged one, an expired one.
    let e = api::call_value::<Value>(
        bus.as_ref(),
        "",
        own.as_str(),
        "counts",
        json!({}),
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, "unauthenticated");
    let (_, _, viewer) = users
        .iter()
        .find(|(r, h, _)| *r == Role::Viewer && h.is_some())
        .unwrap();
    let forged = format!("{}x", &viewer[..viewer.len() - 1]);
    assert_eq!(
        ask(bus.as_ref(), &forged, own.as_str(), "counts")
            .await
            .unwrap_err()
            .code,
        "unauthenticated"
    );
    let old = support::auth::sessions()
        .issue(
            "viewer-own",
            chrono::Utc::now() - chrono::Duration::hours(2),
        )
        .0;
    let e = ask(bus.as_ref(), &old, own.as_str(), "counts")
        .await
        .unwrap_err();
    assert!(e.message.contains("expired"), "{e}");

    // Login: the right password opens a session; a wrong one, or an
    // unknown user, get the same answer.
    let login = |user: &str, password: &str| {
        let body = json!({ "args": { "user": user, "password": password } });
        let bus = Arc::clone(&bus);
        async move {
            let reply = bus
                .request(
                    &vigie::bus::subject::api("_all", "login"),
                    bytes::Bytes::from(serde_json::to_vec(&body).unwrap()),
                    Duration::from_secs(5),
                )
                .await
                .unwrap();
            api::decode_answer::<vigie::api::wire::Session>(&reply)
        }
    };
    let s = login("operator-own", "a long test password").await.unwrap();
    assert_eq!(s.principal.role, Role::Operator);
    assert!(
        ask(bus.as_ref(), &s.token, own.as_str(), "fleet")
            .await
            .is_ok()
    );
    let wrong = login("operator-own", "not it").await.unwrap_err();
    let nobody = login("nobody", "not it").await.unwrap_err();
    assert_eq!(wrong, nobody);
    // Guessing slows down, for names that exist or not, even with the
    // right password.
    for _ in 0..vigie::auth::throttle::FREE {
        let _ = login("viewer-own", "guess").await;
    }
    let held = login("viewer-own", "a long test password")
        .await
        .unwrap_err();
    assert_eq!(held.code, "throttled", "{held}");
    for _ in 0..vigie::auth::throttle::FREE {
        let _ = login("nobody", "guess").await;
    }
    assert_eq!(
        login("nobody", "guess").await.unwrap_err().code,
        "throttled"
    );
    assert!(
        login("operator-own", "a long test password").await.is_ok(),
        "others are not held"
    );

    // A disabled user is refused at once, session or not.
    let now = chrono::Utc::now();
    vigie::admin::users::set_disabled(store.as_ref(), "operator-own", true, "test", now)
        .await
        .unwrap();
    let e = ask(bus.as_ref(), &s.token, own.as_str(), "fleet")
        .await
        .unwrap_err();
    assert!(e.message.contains("disabled"), "{e}");
    assert!(login("operator-own", "a long test password").await.is_err());
    // A new password ends the sessions opened before it.
    let before = support::auth::sessions()
        .issue("admin-own", now - chrono::Duration::seconds(5))
        .0;
    vigie::admin::users::set_password(
        store.as_ref(),
        "admin-own",
        "a brand new password",
        "test",
        now,
    )
    .await
    .unwrap();
    let e = ask(bus.as_ref(), &before, own.as_str(), "fleet")
        .await
        .unwrap_err();
    assert!(e.message.contains("ended"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_and_verb_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = vigie::store::sqlite::SqliteStore::open(dir.path().join("v.db").to_str().unwrap())
        .await
        .unwrap();
    matrix(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_and_verb_on_postgres() {
    let Some(schema) = support::services::pg_schema().await else {
        return;
    };
    let store = vigie::store::postgres::PgStore::connect_with(schema.options.clone())
        .await
        .unwrap();
    matrix(Arc::new(store)).await;
}
