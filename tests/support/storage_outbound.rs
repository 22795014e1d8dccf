//! The storage suite's case for delivery to the SOC: destinations by
//! owner, the outbox written with a batch (each event once per
//! destination), due rows in order, settling, an awaited ack kept with
//! its row, the breaker kept, and a removed destination taking its rows
//! along.

use std::sync::Arc;

use chrono::Duration;
use vigie::domain::audit::AuditEntry;
use vigie::domain::outbound::breaker::Breaker;
use vigie::domain::outbound::destination::{Destination, Kind, Settings, Target};
use vigie::domain::outbound::event::{DataMode, EventType, OutEvent, event_id};
use vigie::store::outbound::{Ack, OutboxRow, Settle};
use vigie::store::{Scope, Store, WriteBatch};

use super::storage_suite::{id, inventory, t0};

fn settings() -> Settings {
    Settings {
        secrets: vec!["env:SOC".into()],
        data_mode: DataMode::PrivacySafe,
        ..Settings::new(
            Kind::Webhook,
            Target::Url("https://soc.example/hook".into()),
        )
    }
}

fn event(tenant: &vigie::domain::Id, subject: &str) -> OutEvent {
    OutEvent {
        id: event_id(EventType::IncidentOpened, tenant, subject, "0"),
        kind: EventType::IncidentOpened,
        time: t0(),
        tenant: tenant.clone(),
        site: None,
        device: None,
        severity: None,
        subject: subject.into(),
        summary: "rtr-1 down".into(),
        fields: Default::default(),
    }
}

/// A migrated store with the suite's inventory: acme and another tenant.
async fn two_tenants(store: &Arc<dyn Store>) -> (vigie::domain::Id, vigie::domain::Id) {
    store.migrate().await.unwrap();
    let inv = inventory();
    store.import_inventory(&inv).await.unwrap();
    let acme = id("acme");
    let other = inv
        .tenants
        .iter()
        .find(|t| t.id != acme)
        .unwrap()
        .id
        .clone();
    (acme, other)
}

/// Settles acme's row `seq` delivered at `at`.
async fn delivered(
    store: &Arc<dyn Store>,
    acme: &vigie::domain::Id,
    seq: i64,
    at: chrono::DateTime<chrono::Utc>,
) {
    let how = Settle::Delivered {
        status: Some(200),
        ms: 1,
    };
    store.settle(Some(acme), seq, &how, at).await.unwrap();
}

pub async fn destinations_and_their_outbox(store: Arc<dyn Store>) {
    let (acme, other) = two_tenants(&store).await;
    let soc = Destination {
        tenant: Some(acme.clone()),
        id: id("soc"),
        settings: settings(),
        paused: false,
    };
    let noc = Destination {
        tenant: None,
        id: id("noc"),
        ..soc.clone()
    };
    let audit = |t: &vigie::domain::Id| {
        AuditEntry::new(t, t0(), "os:noc", "outbound.add", "destination/soc".into())
    };
    store
        .put_destination(&soc, t0(), &audit(&acme))
        .await
        .unwrap();
    store
        .put_destination(&noc, t0(), &audit(&acme))
        .await
        .unwrap();
    // Replacing keeps one row.
    let paused = Destination {
        paused: true,
        ..soc.clone()
    };
    store
        .put_destination(&paused, t0(), &audit(&acme))
        .await
        .unwrap();
    let mine = store
        .destinations(&Scope::Tenant(acme.clone()))
        .await
        .unwrap();
    assert_eq!(mine.len(), 1, "a tenant sees its own, not the provider's");
    assert_eq!(mine[0].destination, paused);
    assert_eq!(mine[0].breaker, Breaker::default());
    assert!(
        store
            .destinations(&Scope::Tenant(other.clone()))
            .await
            .unwrap()
            .is_empty()
    );
    let all = store.destinations(&Scope::All).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().any(|d| d.destination.tenant.is_none()));

    // Queued with a batch; a redelivered batch queues nothing twice.
    let row = |owner: Option<&vigie::domain::Id>, dest: &str, subject: &str| OutboxRow {
        owner: owner.cloned(),
        destination: id(dest),
        event: event(&acme, subject),
        queued_at: t0(),
    };
    let batch = WriteBatch {
        outbox: vec![
            row(Some(&acme), "soc", "inc-1"),
            row(Some(&acme), "soc", "inc-2"),
            row(None, "noc", "inc-1"),
        ],
        ..WriteBatch::default()
    };
    assert!(!batch.is_empty());
    store.write_batch(&batch).await.unwrap();
    store.write_batch(&batch).await.unwrap();
    let due = store
        .outbox_due(Some(&acme), &id("soc"), t0(), 10)
        .await
        .unwrap();
    assert_eq!(
        due.iter()
            .map(|d| d.event.subject.as_str())
            .collect::<Vec<_>>(),
        ["inc-1", "inc-2"]
    );
    assert_eq!(due[0].event, event(&acme, "inc-1"));
    assert_eq!(due[0].attempts, 0);
    let backlog = store.backlog(Some(&acme), &id("soc")).await.unwrap();
    assert_eq!(backlog, (2, Some(t0())));
    assert_eq!(store.backlog(None, &id("none")).await.unwrap(), (0, None));
    assert_eq!(
        store
            .outbox_due(None, &id("noc"), t0(), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .outbox_due(Some(&acme), &id("soc"), t0(), 1)
            .await
            .unwrap()
            .len(),
        1
    );

    // Settled (a batch's outcomes in one transaction): delivered leaves,
    // a retry waits, dead and expired leave.
    let later = t0() + Duration::seconds(60);
    let outcomes = [
        (
            due[0].seq,
            Settle::Delivered {
                status: Some(200),
                ms: 12,
            },
        ),
        (
            due[1].seq,
            Settle::Retry {
                next_at: later,
                status: Some(503),
                error: "busy".into(),
                ms: 40,
            },
        ),
    ];
    store
        .settle_all(Some(&acme), &outcomes, t0())
        .await
        .unwrap();
    assert!(
        store
            .outbox_due(Some(&acme), &id("soc"), t0(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .outbox_due(Some(&acme), &id("soc"), later, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    store
        .settle(
            Some(&acme),
            again[0].seq,
            &Settle::Dead {
                status: Some(400),
                error: "x".repeat(100_000),
            },
            later,
        )
        .await
        .unwrap();
    assert!(
        store
            .outbox_due(Some(&acme), &id("soc"), later, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // The deliveries, newest first, with what the receiver said (cut).
    let log = store.deliveries(Some(&acme), &id("soc"), 10).await.unwrap();
    assert_eq!(
        log.iter().map(|d| d.state.as_str()).collect::<Vec<_>>(),
        ["dead", "delivered"]
    );
    assert_eq!((log[0].attempts, log[0].last_status), (2, Some(400)));
    assert!(log[0].last_error.as_ref().unwrap().chars().count() <= 4_097);
    assert_eq!((log[1].last_ms, log[1].done_at), (Some(12), Some(t0())));

    // A replay queues the dead row again, due now.
    assert_eq!(
        store.requeue(Some(&acme), &id("soc"), later).await.unwrap(),
        1
    );
    let replayed = store
        .outbox_due(Some(&acme), &id("soc"), later, 10)
        .await
        .unwrap();
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].event.subject, "inc-2");
    delivered(&store, &acme, replayed[0].seq, later).await;

    // Finished rows go after the retention; pending ones never.
    let pending = store
        .outbox_due(None, &id("noc"), t0(), 10)
        .await
        .unwrap()
        .len();
    assert_eq!(
        store.prune(Some(&acme), &id("soc"), later).await.unwrap(),
        1,
        "finished before `later`"
    );
    assert_eq!(
        store
            .prune(Some(&acme), &id("soc"), later + Duration::days(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .prune(None, &id("noc"), later + Duration::days(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .outbox_due(None, &id("noc"), t0(), 10)
            .await
            .unwrap()
            .len(),
        pending
    );

    // The breaker's state is kept.
    let open = Breaker::Open {
        until: later,
        trips: 2,
    };
    store
        .set_breaker(Some(&acme), &id("soc"), &open)
        .await
        .unwrap();
    let mine = store
        .destinations(&Scope::Tenant(acme.clone()))
        .await
        .unwrap();
    assert_eq!(mine[0].breaker, open);

    // Removed with its rows; a second removal finds nothing.
    let noc_rows = store.outbox_due(None, &id("noc"), t0(), 10).await.unwrap();
    store
        .settle(None, noc_rows[0].seq, &Settle::Expired, later)
        .await
        .unwrap();
    assert!(
        store
            .remove_destination(None, &id("noc"), &audit(&acme))
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_destination(None, &id("noc"), &audit(&acme))
            .await
            .unwrap()
    );
    assert_eq!(store.destinations(&Scope::All).await.unwrap().len(), 1);
}

pub async fn a_deleted_tenant_takes_its_destinations_and_queued_events_along(
    store: Arc<dyn Store>,
) {
    let (acme, other) = two_tenants(&store).await;
    let audit = AuditEntry::new(&acme, t0(), "os:noc", "outbound.add", "x".into());
    for (owner, name) in [(Some(&acme), "soc"), (None, "noc"), (Some(&other), "soc")] {
        let d = Destination {
            tenant: owner.cloned(),
            id: id(name),
            settings: settings(),
            paused: false,
        };
        store.put_destination(&d, t0(), &audit).await.unwrap();
    }
    let row =
        |owner: Option<&vigie::domain::Id>, tenant: &vigie::domain::Id, subject: &str| OutboxRow {
            owner: owner.cloned(),
            destination: id(if owner.is_none() { "noc" } else { "soc" }),
            event: event(tenant, subject),
            queued_at: t0(),
        };
    let batch = WriteBatch {
        outbox: vec![
            row(Some(&acme), &acme, "inc-1"),
            row(None, &acme, "inc-1"),
            row(None, &other, "inc-9"),
            row(Some(&other), &other, "inc-9"),
        ],
        ..WriteBatch::default()
    };
    store.write_batch(&batch).await.unwrap();
    let gone = AuditEntry::new(&acme, t0(), "os:noc", "tenant.delete", "tenant/acme".into());
    store.delete_tenant(&acme, &gone).await.unwrap();
    // acme's destination and acme's events queued for the provider's: gone.
    let left = store.destinations(&Scope::All).await.unwrap();
    assert_eq!(left.len(), 2);
    assert!(
        left.iter()
            .all(|d| d.destination.tenant.as_ref() != Some(&acme))
    );
    let noc = store.outbox_due(None, &id("noc"), t0(), 10).await.unwrap();
    assert_eq!(
        noc.iter()
            .map(|i| i.event.tenant.clone())
            .collect::<Vec<_>>(),
        std::slice::from_ref(&other),
        "only the other tenant's event is left for the provider"
    );
    assert!(
        store
            .outbox_due(Some(&acme), &id("soc"), t0(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .outbox_due(Some(&other), &id("soc"), t0(), 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// A row accepted and waiting for its indexer's ack stays pending and
/// due, with its ack id and since when it waits, across reads (another
/// worker, a restart); asking again counts no attempt; delivered clears
/// the ack.
pub async fn an_awaited_ack_is_kept_with_its_row(store: Arc<dyn Store>) {
    let (acme, _) = two_tenants(&store).await;
    let siem = Destination {
        tenant: Some(acme.clone()),
        id: id("siem"),
        settings: settings(),
        paused: false,
    };
    let audit = AuditEntry::new(&acme, t0(), "os:noc", "outbound.add", "siem".into());
    store.put_destination(&siem, t0(), &audit).await.unwrap();
    let batch = WriteBatch {
        outbox: vec![OutboxRow {
            owner: Some(acme.clone()),
            destination: id("siem"),
            event: event(&acme, "inc-1"),
            queued_at: t0(),
        }],
        ..WriteBatch::default()
    };
    store.write_batch(&batch).await.unwrap();
    let due = |at| {
        let (store, acme) = (Arc::clone(&store), acme.clone());
        async move {
            store
                .outbox_due(Some(&acme), &id("siem"), at, 10)
                .await
                .unwrap()
        }
    };
    let first = due(t0()).await;
    assert_eq!(first[0].ack, None);
    let ack = Ack {
        id: 9_007_199_254_740_993,
        since: t0(),
    };
    let later = t0() + Duration::seconds(5);
    for (sent, at) in [(true, t0()), (false, later)] {
        let how = Settle::Acking {
            ack,
            sent,
            status: Some(200),
            ms: 3,
            note: None,
        };
        store
            .settle_all(Some(&acme), &[(first[0].seq, how)], at)
            .await
            .unwrap();
        let waiting = due(at).await;
        assert_eq!(waiting.len(), 1, "still pending and due");
        assert_eq!(waiting[0].ack, Some(ack));
        assert_eq!(waiting[0].attempts, 1, "one send, however often asked");
    }
    let log = store.deliveries(Some(&acme), &id("siem"), 1).await.unwrap();
    assert_eq!(log[0].state, "pending");
    assert!(
        log[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("ack 9007199254740993")),
        "{log:?}"
    );
    delivered(&store, &acme, first[0].seq, later).await;
    assert!(due(later).await.is_empty());
    let log = store.deliveries(Some(&acme), &id("siem"), 1).await.unwrap();
    assert_eq!(
        (log[0].state.as_str(), log[0].last_error.as_deref()),
        ("delivered", None)
    );
}
