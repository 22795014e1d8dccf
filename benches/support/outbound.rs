//! Destinations attached for the benchmarks that measure what the outbox
//! costs on the write path.

use vigie::domain::Id;
use vigie::domain::audit::AuditEntry;
use vigie::domain::outbound::destination::{Destination, Kind, Settings, Target};
use vigie::store::outbound::OutboundStore;

/// `n` provider-wide webhooks, paused (rows queue, nothing is sent: the
/// benchmark measures the write path only); their ids.
pub async fn attach(
    store: &dyn OutboundStore,
    n: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Id> {
    let tenant = Id::parse("bench").unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let id = Id::parse(&format!("soc-{i}")).unwrap();
        let d = Destination {
            tenant: None,
            id: id.clone(),
            settings: Settings {
                secrets: vec!["env:SOC".into()],
                ..Settings::new(Kind::Webhook, Target::Url("https://soc.example/".into()))
            },
            paused: true,
        };
        let audit = AuditEntry::new(&tenant, now, "bench", "outbound.add", id.to_string());
        store.put_destination(&d, now, &audit).await.unwrap();
        ids.push(id);
    }
    ids
}

/// Rows pending for the provider's destinations `ids`.
pub async fn queued(store: &dyn OutboundStore, ids: &[Id]) -> usize {
    let mut n = 0;
    for id in ids {
        n += store
            .outbox_due(None, id, chrono::DateTime::<chrono::Utc>::MAX_UTC, u32::MAX)
            .await
            .unwrap()
            .len();
    }
    n
}
