//! Delivery that loses nothing, as an MSSP runs it: 10,000 incident
//! events queued for three webhook receivers, sent by two real `vigie
//! worker` processes sharing the destinations, one of them `kill -9`-ed
//! twice (and started again) while sending, and one receiver down for the
//! first minute. Every event reaches every receiver at least once;
//! duplicates are counted and bounded; nothing is expired or dead; and
//! each receiver sees its events in order but for the resends after a
//! kill (one sender at a time per destination: the lease).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vigie::domain::outbound::destination::{Kind, Settings, Target};
use vigie::store::Store;

use support::cli::KillOnDrop;
use support::cluster::{NatsServer, free_port};
use support::outbox::{id, incident, queue, secret_file};
use support::receiver::{Received, Receiver};

const EVENTS: usize = 10_000;
const ENVS: &[(&str, &str)] = &[("USER", "noc")];
const SECRET: &str = "a-soc-webhook-secret-of-the-test";

/// Delivery ids in the order they arrived.
type Log = Arc<Mutex<Vec<String>>>;

async fn receiver_on(port: u16, log: &Log) -> Receiver {
    let log = Arc::clone(log);
    Receiver::answering_on(
        port,
        Arc::new(move |r: &Received| {
            log.lock()
                .unwrap()
                .push(r.header("x-vigie-delivery").to_string());
            (200, None, String::new())
        }),
    )
    .await
}

fn worker(home: &Path, nats: &str, db: &str) -> KillOnDrop {
    support::cli::worker(home, nats, db, &[])
}

fn distinct(log: &Log) -> usize {
    log.lock().unwrap().iter().collect::<HashSet<_>>().len()
}

/// How often the order went back (a resend from an earlier event).
fn backsteps(log: &Log, position: &std::collections::HashMap<String, usize>) -> usize {
    let got = log.lock().unwrap();
    let mut last = 0usize;
    let mut back = 0;
    for (i, id) in got.iter().enumerate() {
        let p = position[id];
        if i > 0 && p < last {
            back += 1;
        }
        last = p;
    }
    back
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_reach_three_receivers_through_kills_and_an_outage() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let db = format!("sqlite:{}", h.join("v.db").display());
    support::cli::keys_and_tenant(h, &db, "acme", ENVS);
    let logs: Vec<Log> = (0..3).map(|_| Log::default()).collect();
    let ports = [free_port(), free_port(), free_port()];
    let _up = [
        receiver_on(ports[0], &logs[0]).await,
        receiver_on(ports[1], &logs[1]).await,
    ];
    let store = vigie::store::sqlite::SqliteStore::open(h.join("v.db").to_str().unwrap())
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let spec = secret_file(&home, "soc.secret", SECRET);
    let names = ["soc-a", "soc-b", "soc-down"];
    for (name, port) in names.iter().zip(ports) {
        let settings = Settings {
            secrets: vec![spec.clone()],
            allow_private: true,
            allow_http: true,
            heartbeat_s: 0,
            batch_size: 500,
            timeout_s: 5,
            ..Settings::new(
                Kind::Webhook,
                Target::Url(format!("http://127.0.0.1:{port}/hook")),
            )
        };
        let d = vigie::domain::outbound::destination::Destination {
            tenant: Some(id("acme")),
            id: id(name),
            settings,
            paused: false,
        };
        let audit = vigie::domain::audit::AuditEntry::new(
            &id("acme"),
            chrono::Utc::now(),
            "os:noc",
            "outbound.add",
            format!("destination/{name}"),
        );
        store
            .put_destination(&d, chrono::Utc::now(), &audit)
            .await
            .unwrap();
        for chunk in (0..EVENTS).collect::<Vec<_>>().chunks(1_000) {
            queue(
                store.as_ref(),
                name,
                chunk.iter().map(|&i| incident(i, "rtr-1 down")),
            )
            .await;
        }
    }
    let position: std::collections::HashMap<String, usize> =
        (0..EVENTS).map(|i| (incident(i, "").id, i)).collect();

    let started = Instant::now();
    let mut a = worker(h, &nats.url(), &db);
    let _b = worker(h, &nats.url(), &db);
    let mut kills = 0;
    let mut down = None;
    let deadline = Duration::from_secs(420);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let done: Vec<usize> = logs.iter().map(distinct).collect();
        let sent_up = done[0] + done[1];
        // kill -9 at a third and at two thirds of the way, while sending.
        if (kills == 0 && sent_up > 2 * EVENTS / 3) || (kills == 1 && sent_up > 4 * EVENTS / 3) {
            drop(a);
            a = worker(h, &nats.url(), &db);
            kills += 1;
        }
        if down.is_none() && started.elapsed() > Duration::from_secs(60) {
            down = Some(receiver_on(ports[2], &logs[2]).await);
        }
        if done.iter().all(|&n| n == EVENTS) {
            break;
        }
        assert!(
            started.elapsed() < deadline,
            "not all delivered in {deadline:?}: {done:?} after {kills} kills"
        );
    }
    eprintln!("all delivered in {:?}", started.elapsed());
    assert_eq!(kills, 2, "both kills happened while sending");
    for (name, log) in names.iter().zip(&logs) {
        let total = log.lock().unwrap().len();
        let dups = total - EVENTS;
        let back = backsteps(log, &position);
        eprintln!(
            "{name}: {EVENTS} events, {total} requests, {dups} duplicates, {back} resends from earlier"
        );
        // A kill resends at most the batch in flight.
        assert!(dups <= 2 * 500, "{name}: {dups} duplicates");
        // In order, but for the resends after each kill.
        assert!(back <= kills, "{name}: went back {back} times");
    }
    // The workers settle what they sent: nothing dead, nothing expired.
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let mut left = 0;
        for name in names {
            left += store.backlog(Some(&id("acme")), &id(name)).await.unwrap().0;
        }
        if left == 0 {
            break;
        }
        assert!(Instant::now() < until, "{left} rows still pending");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for name in names {
        let newest = store
            .deliveries(Some(&id("acme")), &id(name), 2_000)
            .await
            .unwrap();
        assert!(newest.iter().all(|d| d.state == "delivered"), "{name}");
    }
    let conn = rusqlite::Connection::open(h.join("v.db")).unwrap();
    let bad: i64 = conn
        .query_row(
            "SELECT count(*) FROM outbox WHERE state IN ('dead', 'expired')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(bad, 0);
    drop(a);
}
