//! `vigie dump VIEW` as a user runs it: from a database file, and from a
//! worker over NATS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use std::sync::Arc;

use vigie::bus::Bus;
use vigie::bus::nats::NatsBus;
use vigie::store::Store;
use vigie::store::sqlite::SqliteStore;

fn vigie(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(args)
        .env("VIGIE_PASSWORD", "a viewer's long password")
        .env("VIGIE_CONFIG_DIR", dir)
        .env("VIGIE_DATA_DIR", dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "vigie {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn fleet_db(dir: &std::path::Path) -> (Arc<dyn Store>, vigie::domain::model::Inventory) {
    let store = SqliteStore::open(dir.join("v.db").to_str().unwrap())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let inv = vigie::sim::plan(3, 120).inventory;
    store.import_inventory(&inv).await.unwrap();
    (Arc::new(store), inv)
}

#[tokio::test]
async fn dumps_views_from_a_database_as_json_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, inv) = fleet_db(dir.path()).await;
    let db = format!("sqlite:{}", dir.path().join("v.db").display());
    let json = vigie(dir.path(), &["dump", "fleet", "--database", &db]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(rows.len(), inv.devices.len());
    let csv = vigie(
        dir.path(),
        &["dump", "sites", "--format", "csv", "--database", &db],
    );
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(
        lines.len(),
        inv.sites.len() + 1,
        "a header and a line per site"
    );
    assert!(lines[0].contains("counts.offline"), "{}", lines[0]);
    let tenant = inv.tenants[0].id.to_string();
    let one = vigie(
        dir.path(),
        &["dump", "fleet", "--database", &db, "--tenant", &tenant],
    );
    let rows: Vec<serde_json::Value> = serde_json::from_str(&one).unwrap();
    let mine = inv
        .devices
        .iter()
        .filter(|d| d.tenant.as_str() == tenant)
        .count();
    assert_eq!(rows.len(), mine);
    assert!(rows.iter().all(|r| r["tenant"] == tenant.as_str()));
    // Tenants, with their settings flattened into columns.
    let csv = vigie(
        dir.path(),
        &["dump", "tenants", "--format", "csv", "--database", &db],
    );
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), inv.tenants.len() + 1);
    assert!(
        lines[0].contains("thresholds.offline_after_s"),
        "{}",
        lines[0]
    );
    let one = vigie(
        dir.path(),
        &["dump", "tenants", "--database", &db, "--tenant", &tenant],
    );
    let rows: Vec<serde_json::Value> = serde_json::from_str(&one).unwrap();
    assert_eq!(rows.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dumps_through_a_worker_over_nats() {
    let Some(nats) = support::cluster::NatsServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (store, inv) = fleet_db(dir.path()).await;
    let bus: Arc<dyn Bus> = Arc::new(NatsBus::connect(&nats.url()).await.unwrap());
    let serve = support::auth::serve_api(store, Arc::clone(&bus)).await;
    let url = nats.url();
    let db = format!("sqlite:{}", dir.path().join("v.db").display());
    let out = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || {
            // A provider-wide viewer logs in; the dump rides on the session.
            vigie(
                &dir,
                &["user", "add", "noc", "--role", "viewer", "--database", &db],
            );
            let said = vigie(&dir, &["login", "--nats", &url, "--user", "noc"]);
            assert!(said.contains("logged in as noc (viewer)"), "{said}");
            let mode = std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(dir.join("session.json"))
                    .unwrap()
                    .permissions(),
            );
            assert_eq!(mode & 0o777, 0o600);
            vigie(&dir, &["dump", "fleet", "--format", "csv", "--nats", &url])
        }
    })
    .await
    .unwrap();
    assert_eq!(out.trim_end().split("\r\n").count(), inv.devices.len() + 1);
    serve.abort();
}
