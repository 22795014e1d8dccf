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

    // The map's access points, each with its links by state.
    let map: Vec<serde_json::Value> =
        serde_json::from_str(&vigie(dir.path(), &["dump", "map", "--database", &db])).unwrap();
    let aps: std::collections::HashSet<&str> = inv.links.iter().map(|l| l.ap.as_str()).collect();
    assert_eq!(map.len(), aps.len());
    assert!(
        map.iter()
            .all(|r| r["up"].is_u64() && r["site"].is_string())
    );

    // Trends: the radio whose signal fell the most first, with its change.
    let link = &inv.links[0];
    let cpe = inv.devices.iter().find(|d| d.id == link.cpe).unwrap();
    let now = chrono::Utc::now();
    let signals = [(2, -80.0), (30, -60.0), (40, -60.0)]
        .into_iter()
        .enumerate()
        .map(|(i, (hours, dbm))| vigie::store::SignalRow {
            tenant: cpe.tenant.clone(),
            msg_id: format!("sig-{i}").into(),
            device: cpe.id.clone(),
            peer: link.ap.clone(),
            ts: now - chrono::Duration::hours(hours),
            rssi_dbm: dbm,
            snr_db: None,
        })
        .collect();
    _store
        .write_batch(&vigie::store::WriteBatch {
            signals,
            ..Default::default()
        })
        .await
        .unwrap();
    let trends: Vec<serde_json::Value> =
        serde_json::from_str(&vigie(dir.path(), &["dump", "trends", "--database", &db])).unwrap();
    assert_eq!(trends[0]["device"], cpe.id.as_str());
    assert_eq!(trends[0]["change_db"], -20.0);

    // One site: its devices sector by sector, each with its links.
    let ap = inv.devices.iter().find(|d| d.id == link.ap).unwrap();
    let site_rows: Vec<serde_json::Value> = serde_json::from_str(&vigie(
        dir.path(),
        &[
            "dump",
            "site",
            "--database",
            &db,
            "--tenant",
            ap.tenant.as_str(),
            "--site",
            ap.site.as_str(),
        ],
    ))
    .unwrap();
    let here = inv
        .devices
        .iter()
        .filter(|d| d.site == ap.site && d.tenant == ap.tenant)
        .count();
    assert_eq!(site_rows.len(), here);
    let row = site_rows
        .iter()
        .find(|r| r["id"] == ap.id.as_str())
        .unwrap();
    assert!(
        row["sector"].is_string() && row["links"].as_u64().unwrap() > 0,
        "{row}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["dump", "site", "--database", &db])
        .env("VIGIE_CONFIG_DIR", dir.path())
        .env("VIGIE_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --tenant and --site"));

    // The audit log: what was done, by whom.
    vigie(
        dir.path(),
        &[
            "user",
            "add",
            "ops",
            "--role",
            "operator",
            "--tenant",
            &tenant,
            "--database",
            &db,
        ],
    );
    let csv = vigie(
        dir.path(),
        &[
            "dump",
            "audit",
            "--format",
            "csv",
            "--database",
            &db,
            "--tenant",
            &tenant,
        ],
    );
    assert!(csv.contains("user.add"), "{csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dumps_through_a_worker_over_nats() {
    let Some(nats) = support::cluster::NatsServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (store, inv) = fleet_db(dir.path()).await;
    let bus: Arc<dyn Bus> = Arc::new(NatsBus::connect_and_setup(&nats.url()).await.unwrap());
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
