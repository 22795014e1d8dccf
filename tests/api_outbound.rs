//! The outbound verbs through the real api server on SQLite: a tenant's
//! viewer sees its destinations (never a secret or where it is read) and
//! their deliveries, its operator queues a test and a replay, its admin
//! pauses; another tenant sees none of it; on `_all` the provider sees
//! every tenant's with its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use vigie::api;
use vigie::bus::Bus;
use vigie::bus::memory::MemoryBus;
use vigie::domain::Id;
use vigie::domain::access::Role;
use vigie::domain::outbound::destination::{Destination, Kind, Settings, Target};
use vigie::store::Store;
use vigie::store::sqlite::SqliteStore;

fn id(s: &str) -> Id {
    Id::parse(s).unwrap()
}

#[tokio::test]
async fn a_tenants_destinations_are_its_own_by_role() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(dir.path().join("v.db").to_str().unwrap())
            .await
            .unwrap(),
    );
    store.migrate().await.unwrap();
    let inv = vigie::sim::plan(3, 120).inventory;
    store.import_inventory(&inv).await.unwrap();
    let (acme, other) = (inv.tenants[0].id.clone(), inv.tenants[1].id.clone());
    let a = acme.as_str();
    let now = chrono::Utc::now();
    for owner in [Some(acme.clone()), None] {
        let d = Destination {
            tenant: owner,
            id: id("soc"),
            settings: Settings {
                secrets: vec!["env:VIGIE_SOC_SECRET_OF_ACME".into()],
                heartbeat_s: 0,
                ..Settings::new(
                    Kind::Webhook,
                    Target::Url("https://soc.example/h?k=v".into()),
                )
            },
            paused: false,
        };
        vigie::admin::outbound::put(store.as_ref(), &d, "os:noc", now)
            .await
            .unwrap();
    }
    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::default());
    support::auth::serve_api(Arc::clone(&store), Arc::clone(&bus)).await;
    let token = |name: &'static str, role: Role, tenant: Option<&Id>| {
        let store = Arc::clone(&store);
        let tenant = tenant.cloned();
        async move { support::auth::token_for(store.as_ref(), name, role, tenant.as_ref()).await }
    };
    let viewer = token("ov-viewer", Role::Viewer, Some(&acme)).await;
    let operator = token("ov-operator", Role::Operator, Some(&acme)).await;
    let admin = token("ov-admin", Role::Admin, Some(&acme)).await;
    let stranger = token("ov-other", Role::Admin, Some(&other)).await;
    let root = token("ov-root", Role::SuperAdmin, None).await;
    let ask = |token: &str, scope: &str, verb: &str, args: Value| {
        let (bus, token, scope, verb) = (
            Arc::clone(&bus),
            token.to_string(),
            scope.to_string(),
            verb.to_string(),
        );
        async move {
            api::call_value::<Value>(
                bus.as_ref(),
                &token,
                &scope,
                &verb,
                args,
                Duration::from_secs(5),
            )
            .await
        }
    };
    let soc = json!({ "destination": "soc" });

    let list = ask(&viewer, a, "outbound_list", json!({})).await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["tenant"], a);
    assert_eq!(list[0]["target"], "https://soc.example/h", "no query");
    assert!(!list.to_string().contains("VIGIE_SOC_SECRET"), "{list}");
    let e = ask(&viewer, a, "outbound_test", soc.clone())
        .await
        .unwrap_err();
    assert_eq!(e.code.as_str(), "forbidden", "{e}");

    let queued = ask(&operator, a, "outbound_test", soc.clone())
        .await
        .unwrap();
    let event = queued["queued"].as_str().unwrap();
    let log = ask(&viewer, a, "outbound_deliveries", soc.clone())
        .await
        .unwrap();
    // The list says how each destination is doing.
    let list = ask(&viewer, a, "outbound_list", json!({})).await.unwrap();
    let health = &list[0]["health"];
    assert!(health["backlog"].as_u64().unwrap() >= 1, "{list}");
    assert!(health["oldest_pending"].is_string(), "{list}");
    assert_eq!(
        (log[0]["event"].as_str(), log[0]["state"].as_str()),
        (Some(event), Some("pending"))
    );
    let e = ask(
        &viewer,
        a,
        "outbound_deliveries",
        json!({"destination": "soc", "limit": 0}),
    )
    .await
    .unwrap_err();
    assert!(e.message.contains("limit"), "{e}");
    assert_eq!(
        ask(&operator, a, "outbound_replay", soc.clone())
            .await
            .unwrap()["queued_again"],
        0
    );
    let e = ask(&operator, a, "outbound_pause", soc.clone())
        .await
        .unwrap_err();
    assert_eq!(e.code.as_str(), "forbidden", "{e}");
    let paused = ask(&admin, a, "outbound_pause", soc.clone()).await.unwrap();
    assert_eq!(paused["paused"], true);

    // Another tenant: none of acme's, and no reach into them.
    let theirs = ask(&stranger, other.as_str(), "outbound_list", json!({}))
        .await
        .unwrap();
    assert_eq!(theirs, json!([]));
    let e = ask(&stranger, other.as_str(), "outbound_test", soc.clone())
        .await
        .unwrap_err();
    assert!(e.message.contains("no destination soc"), "{e}");
    let e = ask(&stranger, a, "outbound_list", json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_str(), "other-tenant", "{e}");
    // On `_all`, a provider-wide user sees every destination, the
    // provider's first, each with its tenant, and acts on a customer's in
    // that customer's scope (audited in its chain).
    let all = ask(&root, "_all", "outbound_list", json!({}))
        .await
        .unwrap();
    let owners: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(owners, ["_all", a], "{all}");
    assert!(all[1]["health"]["backlog"].as_u64().unwrap() >= 1, "{all}");
    ask(&root, a, "outbound_test", soc.clone()).await.unwrap();
    // A tenant's user still sees only its own, whatever it asks.
    let e = ask(&admin, "_all", "outbound_list", json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_str(), "other-tenant", "{e}");
}
