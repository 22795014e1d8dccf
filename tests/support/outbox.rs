//! A SQLite store holding one destination of tenant acme and a queue of
//! incident events for it, and a dispatcher with short waits: what the
//! delivery tests start from.

use std::os::unix::fs::PermissionsExt as _;
use std::sync::Arc;
use std::time::Duration;

use vigie::clock::Clock;
use vigie::domain::Id;
use vigie::domain::audit::AuditEntry;
use vigie::domain::model::Severity;
use vigie::domain::outbound::breaker::Policy;
use vigie::domain::outbound::destination::{Destination, Settings};
use vigie::domain::outbound::event::{EventType, OutEvent, event_id};
use vigie::domain::outbound::retry::Backoff;
use vigie::store::outbound::{OutboundStore as _, OutboxRow};
use vigie::store::sqlite::SqliteStore;
use vigie::store::{Store, WriteBatch};
use vigie::worker::dispatch::Dispatcher;

pub fn id(s: &str) -> Id {
    Id::parse(s).unwrap()
}

/// A secret file in `dir` holding `value` (mode 600); its `file:` spec.
pub fn secret_file(dir: &tempfile::TempDir, name: &str, value: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, value).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    format!("file:{}", path.display())
}

/// Incident event `i` of acme (`summary` as its free text).
pub fn incident(i: usize, summary: &str) -> OutEvent {
    let acme = id("acme");
    let subject = format!("inc-{i}");
    OutEvent {
        id: event_id(EventType::IncidentOpened, &acme, &subject, "0"),
        kind: EventType::IncidentOpened,
        time: chrono::Utc::now(),
        tenant: acme,
        site: Some(id("hq")),
        device: None,
        severity: Some(Severity::Major),
        subject,
        summary: summary.into(),
        fields: Default::default(),
    }
}

/// A store with destination `dest` of acme with `settings`, and events
/// `0..n` queued for it.
pub async fn store_for(
    dir: &tempfile::TempDir,
    dest: &str,
    settings: Settings,
    n: usize,
) -> Arc<dyn Store> {
    let store = SqliteStore::open(dir.path().join("v.db").to_str().unwrap())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let acme = id("acme");
    let now = chrono::Utc::now();
    settings.check().unwrap();
    let d = Destination {
        tenant: Some(acme.clone()),
        id: id(dest),
        settings,
        paused: false,
    };
    let audit = AuditEntry::new(
        &acme,
        now,
        "os:noc",
        "outbound.add",
        format!("destination/{dest}"),
    );
    store.put_destination(&d, now, &audit).await.unwrap();
    queue(&store, dest, (0..n).map(|i| incident(i, "rtr-1 down"))).await;
    Arc::new(store)
}

/// Queues `events` for destination `dest` of acme.
pub async fn queue(store: &dyn Store, dest: &str, events: impl Iterator<Item = OutEvent>) {
    let now = chrono::Utc::now();
    let outbox = events
        .map(|event| OutboxRow {
            owner: Some(id("acme")),
            destination: id(dest),
            event,
            queued_at: now,
        })
        .collect();
    store
        .write_batch(&WriteBatch {
            outbox,
            ..WriteBatch::default()
        })
        .await
        .unwrap();
}

/// A dispatcher with waits of 50 to 200 ms between attempts.
pub fn dispatcher(store: &Arc<dyn Store>, breaker: Policy) -> Dispatcher {
    Dispatcher::new(Arc::clone(store), Clock::system(), "w-test".into()).with_policies(
        Backoff {
            base: Duration::from_millis(50),
            cap: Duration::from_millis(200),
        },
        breaker,
    )
}

/// Runs rounds until nothing of acme's `dest` is pending, or `secs` pass.
pub async fn drain(d: &mut Dispatcher, store: &Arc<dyn Store>, dest: &str, secs: u64) {
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        d.round().await.unwrap();
        let (left, _) = store.backlog(Some(&id("acme")), &id(dest)).await.unwrap();
        if left == 0 || std::time::Instant::now() > until {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
