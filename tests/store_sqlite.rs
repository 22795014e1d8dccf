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

/// A migrated store with the fleet and `n` audit entries of its first
/// tenant, that tenant.
async fn with_chain(n: u32) -> (Arc<dyn Store>, tempfile::TempDir, vigie::domain::Id) {
    let (store, dir) = make().await;
    store.migrate().await.unwrap();
    let inv = support::storage_suite::inventory();
    store.import_inventory(&inv).await.unwrap();
    let t = inv.tenants[0].id.clone();
    for i in 1..=n {
        let e = vigie::domain::audit::AuditEntry::new(
            &t,
            chrono::Utc::now(),
            "ana",
            "push.create",
            format!("push/{i}"),
        )
        .because("maintenance window");
        store.append_audit(&e).await.unwrap();
    }
    (store, dir, t)
}

#[tokio::test]
async fn audit_verify_finds_a_changed_a_deleted_and_a_truncated_entry() {
    let (store, dir, t) = with_chain(5).await;
    let verify = || async {
        vigie::admin::audit::verify(store.as_ref(), Some(&t))
            .await
            .unwrap()
            .broken
    };
    assert_eq!(verify().await, None);
    let raw = SqliteStore::open(dir.path().join("vigie.db").to_str().unwrap())
        .await
        .unwrap();
    let exec = |sql: &'static str| sqlx::query(sql).execute(raw.pool());
    // Append-only: the database itself refuses a change or a removal.
    let e = exec("UPDATE audit_log SET actor = 'mallory' WHERE seq = 4")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = exec("DELETE FROM audit_log WHERE seq = 5")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    // Whoever can write the file can drop the guard: verify still finds
    // what they did next.
    exec("DROP TRIGGER audit_log_no_update").await.unwrap();
    exec("DROP TRIGGER audit_log_no_delete").await.unwrap();
    exec("UPDATE audit_log SET actor = 'mallory' WHERE seq = 4")
        .await
        .unwrap();
    let b = verify().await.unwrap();
    assert!(b.contains("audit entry 4: changed"), "{b}");
    exec("UPDATE audit_log SET actor = 'ana' WHERE seq = 4")
        .await
        .unwrap();
    assert_eq!(verify().await, None);
    exec("DELETE FROM audit_log WHERE seq = 5").await.unwrap();
    let b = verify().await.unwrap();
    assert!(b.contains("audit entry 5: missing"), "{b}");
    exec("DELETE FROM audit_log WHERE seq = 1").await.unwrap();
    let b = verify().await.unwrap();
    assert!(b.contains("audit entry 1: missing"), "{b}");
}

#[tokio::test]
async fn an_audit_head_cannot_be_deleted_set_back_or_restarted() {
    let (store, dir, t) = with_chain(3).await;
    let raw = SqliteStore::open(dir.path().join("vigie.db").to_str().unwrap())
        .await
        .unwrap();
    let pool = raw.pool().clone();
    let exec = |sql: String| {
        let pool = pool.clone();
        async move { sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await }
    };
    for sql in [
        format!("DELETE FROM audit_head WHERE tenant_id = '{t}'"),
        format!("UPDATE audit_head SET seq = 1 WHERE tenant_id = '{t}'"),
        format!("UPDATE audit_head SET seq = 4, hash = 'x' WHERE tenant_id = '{t}'"),
    ] {
        let e = exec(sql.clone()).await.unwrap_err();
        assert!(e.to_string().contains("audit head"), "{sql}: {e}");
    }
    // Appends still move it.
    let e =
        vigie::domain::audit::AuditEntry::new(&t, chrono::Utc::now(), "ana", "x", "y".to_string());
    store.append_audit(&e).await.unwrap();
    let verified = vigie::admin::audit::verify(store.as_ref(), None)
        .await
        .unwrap();
    assert_eq!(verified.broken, None);
    // An intruder who drops the guard and deletes the head does not hide
    // the tenant's chain from verify.
    exec("DROP TRIGGER audit_head_no_delete".into())
        .await
        .unwrap();
    exec(format!("DELETE FROM audit_head WHERE tenant_id = '{t}'"))
        .await
        .unwrap();
    let b = vigie::admin::audit::verify(store.as_ref(), None)
        .await
        .unwrap()
        .broken
        .unwrap();
    assert!(b.contains("no head"), "{b}");
    // Nor can the head start again from the genesis.
    let e = exec(format!(
        "INSERT INTO audit_head (tenant_id, seq, hash) VALUES ('{t}', 0, '{}')",
        vigie::domain::audit::GENESIS
    ))
    .await
    .unwrap_err();
    assert!(e.to_string().contains("audit head"), "{e}");
}

#[tokio::test]
async fn the_database_and_its_wal_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let (store, dir) = make().await;
    store.migrate().await.unwrap();
    store
        .import_inventory(&support::storage_suite::inventory())
        .await
        .unwrap();
    for name in ["vigie.db", "vigie.db-wal", "vigie.db-shm"] {
        let mode = std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{name}: {mode:o}");
    }
    // An existing file left readable by others is closed up at open.
    let loose = dir.path().join("loose.db");
    std::fs::write(&loose, b"").unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    SqliteStore::open(loose.to_str().unwrap()).await.unwrap();
    let mode = std::fs::metadata(&loose).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "{mode:o}");
}
