//! Webhooks, against a receiver on the loopback that checks every
//! signature as a SOC's would (the reference system's logic: HMAC-SHA256
//! over "<ts>." + body, ±300 s): a 503 with Retry-After is retried no
//! sooner than asked, re-signed, with the same delivery id; a 400 is
//! dead-lettered with the reply kept (cut); a private address is refused
//! unless allowed, and nothing reaches it; a failing receiver opens the
//! breaker, which then holds the rows back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use vigie::domain::outbound::breaker::{Breaker, Policy};
use vigie::domain::outbound::destination::{Kind, Settings, Target};
use vigie::domain::outbound::sign;
use vigie::store::{Scope, Store};

use support::outbox::{dispatcher, id, secret_file, store_for};
use support::receiver::Receiver;
use vigie::worker::dispatch::Dispatcher;

const SECRET: &str = "whsec_dmlnaWUtdGVzdC1zZWNyZXQtMDEyMzQ1Njc4OQ==";

/// A store with destination `soc` of acme at `url` and `n` queued events.
async fn store_with(
    dir: &tempfile::TempDir,
    url: &str,
    allow_private: bool,
    n: usize,
) -> Arc<dyn Store> {
    store_beating(dir, url, allow_private, n, 0, 0).await
}

/// The same with a heartbeat every `heartbeat` seconds and at most
/// `rate` deliveries a second.
async fn store_beating(
    dir: &tempfile::TempDir,
    url: &str,
    allow_private: bool,
    n: usize,
    heartbeat: u32,
    rate: u32,
) -> Arc<dyn Store> {
    let settings = Settings {
        secrets: vec![secret_file(dir, "soc.secret", SECRET)],
        allow_private,
        allow_http: true,
        timeout_s: 5,
        heartbeat_s: heartbeat,
        rate_per_s: rate,
        ..Settings::new(Kind::Webhook, Target::Url(url.into()))
    };
    store_for(dir, "soc", settings, n).await
}

#[tokio::test]
async fn webhooks_are_signed_on_every_attempt_and_retried_no_sooner_than_asked() {
    let rx = Receiver::start(vec![(503, Some(("retry-after", "1")), "busy".into())]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(&dir, &rx.url(), true, 2).await;
    let mut d = dispatcher(&store, Policy::default());
    let first = d.round().await.unwrap();
    assert_eq!(
        (first.delivered, first.retried),
        (0, 1),
        "the 503 stops the round"
    );
    // Retry-After: 1 s, though the backoff alone would allow 200 ms.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(d.round().await.unwrap().delivered, 0, "too soon");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(d.round().await.unwrap().delivered, 2);

    let got = rx.received();
    assert_eq!(got.len(), 3);
    let now = chrono::Utc::now().timestamp();
    for r in &got {
        let ts: i64 = r.header("x-vigie-timestamp").parse().unwrap();
        assert!(
            sign::verify_vigie(
                SECRET.as_bytes(),
                ts,
                &r.body,
                r.header("x-vigie-signature"),
                now
            ),
            "{r:?}"
        );
        // The Standard Webhooks signature too (the secret is whsec_…).
        let key = sign::standard_key(SECRET).unwrap();
        assert_eq!(
            r.header("webhook-signature"),
            sign::standard(&key, r.header("webhook-id"), ts, &r.body)
        );
        assert_eq!(r.header("x-vigie-event"), "incident.opened");
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            (v["v"].as_u64(), v["id"].as_str()),
            (Some(1), Some(r.header("x-vigie-delivery")))
        );
    }
    // The figures /metrics shows.
    let f = d.stats().get("acme", "soc").unwrap();
    assert_eq!(
        (f.delivered, f.retried, f.attempts, f.breaker),
        (2, 1, 3, 0)
    );
    assert!(
        d.stats()
            .prometheus()
            .contains("vigie_outbound_delivered_total{tenant=\"acme\",destination=\"soc\"} 2")
    );
    // The retry is the same delivery, signed anew.
    assert_eq!(
        got[0].header("x-vigie-delivery"),
        got[1].header("x-vigie-delivery")
    );
    assert_ne!(
        got[1].header("x-vigie-delivery"),
        got[2].header("x-vigie-delivery")
    );
    assert!(
        store
            .outbox_due(Some(&id("acme")), &id("soc"), chrono::Utc::now(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let log = store
        .deliveries(Some(&id("acme")), &id("soc"), 10)
        .await
        .unwrap();
    assert_eq!(
        log.iter()
            .map(|l| (l.state.as_str(), l.attempts, l.last_status))
            .collect::<Vec<_>>(),
        [("delivered", 1, Some(200)), ("delivered", 2, Some(200))]
    );
}

#[tokio::test]
async fn a_refusal_is_dead_lettered_with_its_reply_cut() {
    let rx = Receiver::start(vec![(400, None, "no such index ".repeat(10_000))]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(&dir, &rx.url(), true, 2).await;
    let r = dispatcher(&store, Policy::default()).round().await.unwrap();
    assert_eq!(
        (r.dead, r.delivered),
        (1, 1),
        "a refusal does not hold back the next"
    );
    let log = store
        .deliveries(Some(&id("acme")), &id("soc"), 10)
        .await
        .unwrap();
    let dead = log.iter().find(|l| l.state == "dead").unwrap();
    assert_eq!(dead.last_status, Some(400));
    let error = dead.last_error.as_deref().unwrap();
    assert!(error.starts_with("HTTP 400: no such index"), "{error}");
    assert!(error.len() < 5_000, "kept: {} bytes", error.len());
}

#[tokio::test]
async fn a_private_address_is_refused_unless_allowed_and_nothing_reaches_it() {
    let rx = Receiver::start(vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(&dir, &rx.url(), false, 1).await;
    let r = dispatcher(&store, Policy::default()).round().await.unwrap();
    assert_eq!(r.retried, 1, "kept, not lost");
    assert!(rx.received().is_empty(), "nothing was sent to the loopback");
    let log = store
        .deliveries(Some(&id("acme")), &id("soc"), 10)
        .await
        .unwrap();
    let error = log[0].last_error.as_deref().unwrap();
    assert!(
        error.contains("loopback") && error.contains("allow_private"),
        "{error}"
    );
    assert_eq!(log[0].state, "pending");
}

#[tokio::test]
async fn a_failing_receiver_opens_the_breaker_which_holds_the_rows_back() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(&dir, &format!("http://127.0.0.1:{port}/hook"), true, 3).await;
    let policy = Policy {
        threshold: 1,
        open_for: chrono::Duration::seconds(60),
        max_open_for: chrono::Duration::seconds(60),
    };
    let mut d = dispatcher(&store, policy);
    assert_eq!(d.round().await.unwrap().retried, 1);
    assert_eq!(d.stats().get("acme", "soc").unwrap().breaker, 2, "open");
    let row = &store.destinations(&Scope::All).await.unwrap()[0];
    assert!(
        matches!(row.breaker, Breaker::Open { trips: 1, .. }),
        "{:?}",
        row.breaker
    );
    // Open: the next round sends nothing, and every row is still queued.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(d.round().await.unwrap(), Default::default());
    let log = store
        .deliveries(Some(&id("acme")), &id("soc"), 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|l| l.state == "pending"));
    assert_eq!(log.iter().map(|l| l.attempts).sum::<u32>(), 1);
}

#[tokio::test]
async fn a_heartbeat_goes_once_per_period() {
    let rx = Receiver::start(vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_beating(&dir, &rx.url(), true, 0, 3_600, 0).await;
    let mut d = dispatcher(&store, Policy::default());
    assert_eq!(d.round().await.unwrap().delivered, 1);
    assert_eq!(d.round().await.unwrap().delivered, 0, "one per period");
    let got = rx.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].header("x-vigie-event"), "delivery.heartbeat");
    let v: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(
        (v["tenant"].as_str(), v["subject"].as_str()),
        (Some("acme"), Some("soc"))
    );
}

#[tokio::test]
async fn a_rate_limit_spreads_the_backlog_over_rounds() {
    let rx = Receiver::start(vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_beating(&dir, &rx.url(), true, 5, 0, 2).await;
    let mut d = dispatcher(&store, Policy::default());
    assert_eq!(d.round().await.unwrap().delivered, 2);
    assert_eq!(d.round().await.unwrap().delivered, 2);
    assert_eq!(d.round().await.unwrap().delivered, 1);
    assert_eq!(rx.received().len(), 5);
}

#[tokio::test]
async fn a_destination_left_behind_raises_delivery_failing_until_it_catches_up() {
    let busy = || (503, None, "busy".to_string());
    let rx = Receiver::start(vec![busy(), busy()]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(&dir, &rx.url(), true, 0).await;
    // An event waiting for two hours: more than two heartbeat periods.
    let mut old = support::outbox::incident(0, "rtr-1 down");
    old.time = chrono::Utc::now() - chrono::Duration::hours(2);
    store
        .write_batch(&vigie::store::WriteBatch {
            outbox: vec![vigie::store::outbound::OutboxRow {
                owner: Some(id("acme")),
                destination: id("soc"),
                event: old,
                queued_at: chrono::Utc::now() - chrono::Duration::hours(2),
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    // A console following acme's events.
    let bus: Arc<dyn vigie::bus::Bus> = Arc::new(vigie::bus::memory::MemoryBus::new(
        vigie::bus::memory::MemoryLimits::default(),
    ));
    let mut console = bus
        .follow(vigie::bus::Stream::Events, "vigie.evt.acme.>", 1)
        .await
        .unwrap();
    let mut d = dispatcher(&store, Policy::default())
        .counting_every(Duration::ZERO)
        .announcing(Arc::clone(&bus));
    let alert = |store: Arc<dyn Store>| async move {
        store
            .alert_history(&Scope::Tenant(id("acme")), None, 50)
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.rule.as_str() == "delivery-failing")
    };
    d.round().await.unwrap();
    let raised = alert(Arc::clone(&store)).await.expect("raised");
    assert_eq!(raised.state.as_str(), "firing");
    assert!(
        raised.summary.as_str().contains("the oldest for 120 min"),
        "{raised:?}"
    );
    // Consoles see it at once, not at their next read.
    let seen = |m: Option<vigie::bus::StreamMessage>| {
        let m = m.expect("announced");
        let e: vigie::bus::event::Event = serde_json::from_slice(&m.payload).unwrap();
        match e.body {
            vigie::bus::event::EventBody::Alert(a) => (a.rule.to_string(), a.state),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        seen(next_of(&mut console).await),
        ("delivery-failing".to_string(), raised.state)
    );
    support::outbox::drain(&mut d, &store, "soc", 10).await;
    d.round().await.unwrap();
    let cleared = alert(Arc::clone(&store)).await.unwrap();
    assert_eq!(cleared.state.as_str(), "resolved");
    assert_eq!(
        seen(next_of(&mut console).await),
        ("delivery-failing".to_string(), cleared.state)
    );
    assert_eq!(cleared.started, raised.started);
    // The alert went out too, to the tenant's destinations (this one
    // included, once it was back).
    let types: Vec<String> = rx
        .received()
        .iter()
        .map(|r| r.header("x-vigie-event").to_string())
        .collect();
    assert!(types.contains(&"alert.fired".to_string()), "{types:?}");
    // A new dispatcher (a restart) leaves a resolved alert alone.
    let mut again = dispatcher(&store, Policy::default()).counting_every(Duration::ZERO);
    again.round().await.unwrap();
    assert_eq!(
        alert(Arc::clone(&store)).await.unwrap().updated,
        cleared.updated
    );
}

/// The next message `f` gets within two seconds.
async fn next_of(f: &mut Box<dyn vigie::bus::Follower>) -> Option<vigie::bus::StreamMessage> {
    tokio::time::timeout(Duration::from_secs(2), f.next())
        .await
        .ok()
        .flatten()
}

#[tokio::test]
async fn a_receiver_back_is_probed_when_the_breaker_says_not_when_the_row_would_retry() {
    // Down for four attempts, then up.
    let busy = || (503, None, "down".to_string());
    let rx = Receiver::start(vec![busy(), busy(), busy(), busy()]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(&dir, &rx.url(), true, 3).await;
    // The row's own backoff is long (a minute); the breaker's open
    // period short: once it is up, the receiver is back within the
    // breaker's period, not the row's.
    let policy = Policy {
        threshold: 1,
        open_for: chrono::Duration::milliseconds(200),
        max_open_for: chrono::Duration::milliseconds(400),
    };
    let mut d = Dispatcher::new(
        Arc::clone(&store),
        vigie::clock::Clock::system(),
        "w".into(),
    )
    .with_policies(
        vigie::domain::outbound::retry::Backoff {
            base: Duration::from_secs(60),
            cap: Duration::from_secs(60),
        },
        policy,
    );
    let until = std::time::Instant::now() + Duration::from_secs(10);
    let mut delivered = 0;
    while delivered < 3 && std::time::Instant::now() < until {
        delivered += d.round().await.unwrap().delivered;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        delivered,
        3,
        "{:?}",
        store.deliveries(Some(&id("acme")), &id("soc"), 5).await
    );
}
