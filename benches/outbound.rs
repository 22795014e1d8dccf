//! Delivery throughput to the SOC on loopback: events queued in a SQLite
//! outbox, sent by the dispatcher (lease, breaker, settle of every row)
//! to a receiver of the benchmark's own that keeps its connections alive
//! and answers at once:
//!
//! - webhook: one signed POST per event;
//! - Splunk HEC: batches of stacked objects (`batch_size` events);
//! - Splunk HEC with indexer acknowledgement: each batch's rows wait for
//!   their ack in the outbox and are settled by the next round's poll
//!   (rounds back to back here; the worker pauses a second between
//!   rounds that leave rows waiting);
//! - JSON over syslog TCP: octet-counted frames, a connection per round.
//!
//! Timed from the first round to the last row settled. `cargo bench
//! --bench outbound` (env `EVENTS`, default 20000; `ROUNDS`, default 3;
//! `BATCH`, default 500).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt as _;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vigie::clock::Clock;
use vigie::domain::Id;
use vigie::domain::audit::AuditEntry;
use vigie::domain::model::Severity;
use vigie::domain::outbound::destination::{Destination, Kind, Settings, Target, Transport};
use vigie::domain::outbound::event::{EventType, OutEvent, event_id};
use vigie::store::outbound::{OutboundStore as _, OutboxRow};
use vigie::store::sqlite::SqliteStore;
use vigie::store::{Store, WriteBatch};
use vigie::worker::dispatch::Dispatcher;

fn env_or<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An HTTP receiver that keeps connections alive and answers `reply`;
/// counts requests.
async fn http_receiver(reply: &'static str, count: Arc<AtomicU64>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let count = Arc::clone(&count);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = vec![0u8; 1 << 16];
                loop {
                    // Read one request: head, then content-length bytes.
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..head_end + len);
                    count.fetch_add(1, Ordering::Relaxed);
                    let out = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\ncontent-type: application/json\r\n\r\n{reply}",
                        reply.len()
                    );
                    if sock.write_all(out.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// A syslog TCP receiver that reads and drops what it is sent.
async fn tcp_sink() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut chunk = vec![0u8; 1 << 16];
                while matches!(sock.read(&mut chunk).await, Ok(n) if n > 0) {}
            });
        }
    });
    port
}

fn event(i: usize) -> OutEvent {
    let acme = Id::parse("acme").unwrap();
    let subject = format!("inc-{i}");
    OutEvent {
        id: event_id(EventType::IncidentOpened, &acme, &subject, "0"),
        kind: EventType::IncidentOpened,
        time: chrono::Utc::now(),
        tenant: acme,
        site: Some(Id::parse("hq").unwrap()),
        device: Some(Id::parse("rtr-1").unwrap()),
        severity: Some(Severity::Major),
        subject,
        summary: "rtr-1 down: no heartbeat for 300 s".into(),
        fields: Default::default(),
    }
}

/// Sends `n` events through a destination with `settings`; events/s.
async fn run(settings: Settings, n: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("v.db").to_str().unwrap())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "a-benchmark-secret-of-some-length").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let needs = !matches!(settings.kind, Kind::JsonSyslog | Kind::CefSyslog);
    let settings = Settings {
        secrets: if needs {
            vec![format!("file:{}", secret.display())]
        } else {
            vec![]
        },
        ..settings
    };
    let acme = Id::parse("acme").unwrap();
    let dest = Id::parse("bench").unwrap();
    let now = chrono::Utc::now();
    let d = Destination {
        tenant: Some(acme.clone()),
        id: dest.clone(),
        settings,
        paused: false,
    };
    let audit = AuditEntry::new(&acme, now, "bench", "outbound.add", "bench".into());
    store.put_destination(&d, now, &audit).await.unwrap();
    for chunk in (0..n).collect::<Vec<_>>().chunks(5_000) {
        let outbox = chunk
            .iter()
            .map(|&i| OutboxRow {
                owner: Some(acme.clone()),
                destination: dest.clone(),
                event: event(i),
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
    let store: Arc<dyn Store> = Arc::new(store);
    let mut dispatcher = Dispatcher::new(Arc::clone(&store), Clock::system(), "bench".into());
    let started = Instant::now();
    let mut delivered = 0u64;
    while delivered < n as u64 {
        let r = dispatcher.round().await.unwrap();
        assert_eq!(r.retried + r.dead, 0, "{r:?}");
        delivered += r.delivered;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = env_or("EVENTS", 20_000);
    let rounds: usize = env_or("ROUNDS", 3);
    let batch: u32 = env_or("BATCH", 500);
    let requests = Arc::new(AtomicU64::new(0));
    let hook = http_receiver("", Arc::clone(&requests)).await;
    let hec = http_receiver(r#"{"text":"Success","code":0}"#, Arc::clone(&requests)).await;
    // One reply for both paths: events get ack 1, polls hear it indexed.
    let hec_ack = http_receiver(
        r#"{"text":"Success","code":0,"ackId":1,"acks":{"1":true}}"#,
        Arc::clone(&requests),
    )
    .await;
    let syslog = tcp_sink().await;
    let url = |port: u16, path: &str| Target::Url(format!("http://127.0.0.1:{port}{path}"));
    let base = |kind, target| Settings {
        allow_private: true,
        allow_http: true,
        heartbeat_s: 0,
        batch_size: batch,
        ..Settings::new(kind, target)
    };
    let acked = Settings {
        hec: Some(vigie::domain::outbound::options::HecOptions {
            ack: true,
            ..Default::default()
        }),
        ..base(Kind::SplunkHec, url(hec_ack, "/services/collector/event"))
    };
    let cases: [(&str, Settings); 4] = [
        ("webhook", base(Kind::Webhook, url(hook, "/hook"))),
        (
            "splunk-hec",
            base(Kind::SplunkHec, url(hec, "/services/collector/event")),
        ),
        ("splunk-hec ack", acked),
        (
            "json-syslog tcp",
            base(
                Kind::JsonSyslog,
                Target::Syslog {
                    host: "127.0.0.1".into(),
                    port: syslog,
                    transport: Transport::Tcp,
                },
            ),
        ),
    ];
    println!("outbound: {n} events, batch {batch}, {rounds} rounds, median (min–max)");
    for (name, settings) in cases {
        let mut rates = Vec::new();
        for _ in 0..rounds {
            rates.push(run(settings.clone(), n).await);
        }
        let (mid, lo, hi) = median(rates);
        println!("  {name:<16} {mid:>9.0} events/s ({lo:.0}–{hi:.0})");
    }
}
