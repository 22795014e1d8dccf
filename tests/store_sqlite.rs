//! The storage suite on SQLite: a real file in a temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use vigie::store::Store;
use vigie::store::sqlite::SqliteStore;

async fn make() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigie.db");
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    (Arc::new(store), dir)
}

async fn suite_store() -> Option<(Arc<dyn Store>, tempfile::TempDir)> {
    Some(make().await)
}

storage_suite!(suite_store());

#[tokio::test]
async fn the_file_uses_wal_and_survives_reopening() {
    let (store, dir) = make().await;
    store.migrate().await.unwrap();
    store
        .import_inventory(&support::storage_suite::inventory())
        .await
        .unwrap();
    drop(store);
    let path = dir.path().join("vigie.db");
    let again = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    assert!(again.migrate().await.unwrap().is_empty());
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(again.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    assert!(!again.tenants().await.unwrap().is_empty());
}
