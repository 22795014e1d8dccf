//! The worker's operations endpoints over real HTTP on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vigie::store::Store;
use vigie::store::sqlite::SqliteStore;
use vigie::worker::WorkerStats;
use vigie::worker::http::{Probe, serve};

async fn get(addr: std::net::SocketAddr, request: &str) -> (String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

#[tokio::test]
async fn metrics_health_and_readiness() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("v.db").to_str().unwrap())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let stats = Arc::new(WorkerStats::default());
    let shared = Arc::clone(&stats);
    stats.accepted.store(42, Ordering::Relaxed);
    stats.dead_lettered.store(3, Ordering::Relaxed);
    let up = Arc::new(AtomicBool::new(true));
    let flag = Arc::clone(&up);
    let probe = Arc::new(Probe {
        stats,
        store: Arc::new(store) as Arc<dyn Store>,
        bus_up: Box::new(move || flag.load(Ordering::Relaxed)),
        ready_lag: 1_000,
        outbound: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, probe));

    let (status, body) = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        body.contains(
            "# TYPE vigie_messages_accepted_total counter\nvigie_messages_accepted_total 42\n"
        ),
        "{body}"
    );
    assert!(body.contains("vigie_messages_dead_lettered_total 3\n"));
    assert_eq!(
        get(addr, "GET /healthz HTTP/1.1\r\n\r\n").await,
        ("HTTP/1.1 200 OK".into(), "ok\n".into())
    );
    assert_eq!(
        get(addr, "GET /readyz HTTP/1.1\r\n\r\n").await.0,
        "HTTP/1.1 200 OK"
    );
    shared.consumer_lag.store(5_000, Ordering::Relaxed);
    let (status, body) = get(addr, "GET /readyz HTTP/1.1\r\n\r\n").await;
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
    assert!(
        body.contains("consumer lag 5000 messages is over 1000"),
        "{body}"
    );
    shared.consumer_lag.store(10, Ordering::Relaxed);
    shared.db_down.store(true, Ordering::Relaxed);
    let (status, body) = get(addr, "GET /readyz HTTP/1.1\r\n\r\n").await;
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
    assert!(body.contains("the last write failed"), "{body}");
    shared.db_down.store(false, Ordering::Relaxed);
    up.store(false, Ordering::Relaxed);
    let (status, body) = get(addr, "GET /readyz HTTP/1.1\r\n\r\n").await;
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
    assert!(body.contains("bus disconnected"));
    assert_eq!(
        get(addr, "GET /nope HTTP/1.1\r\n\r\n").await.0,
        "HTTP/1.1 404 Not Found"
    );
    assert_eq!(
        get(addr, "POST /metrics HTTP/1.1\r\n\r\n").await.0,
        "HTTP/1.1 405 Method Not Allowed"
    );
}

/// Whole response: the head's lines and the body.
async fn exchange(addr: std::net::SocketAddr, request: &str) -> (Vec<String>, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    (head.lines().map(str::to_string).collect(), body.to_string())
}

#[tokio::test]
async fn scrapers_may_add_a_query_string_and_ask_head() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("v.db").to_str().unwrap())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let probe = Arc::new(Probe {
        stats: Arc::new(WorkerStats::default()),
        store: Arc::new(store) as Arc<dyn Store>,
        bus_up: Box::new(|| true),
        ready_lag: 1_000,
        outbound: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, probe));

    // Prometheus' `params`, a cache buster: the same metrics.
    let (head, body) = exchange(addr, "GET /metrics?format=prometheus&t=1 HTTP/1.1\r\n\r\n").await;
    assert_eq!(head[0], "HTTP/1.1 200 OK");
    assert!(body.contains("vigie_messages_accepted_total 0\n"), "{body}");
    let length = |head: &[String]| -> usize {
        head.iter()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(str::to_string)
            })
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    // HEAD: the GET's head, no body.
    let (head, empty) = exchange(addr, "HEAD /metrics HTTP/1.1\r\n\r\n").await;
    assert_eq!(head[0], "HTTP/1.1 200 OK");
    assert!(empty.is_empty(), "{empty:?}");
    assert!(length(&head).abs_diff(body.len()) < 64, "{head:?}");
    let (head, empty) = exchange(addr, "HEAD /healthz?probe=lb HTTP/1.1\r\n\r\n").await;
    assert_eq!((head[0].as_str(), empty.as_str()), ("HTTP/1.1 200 OK", ""));
    // Anything else says what is allowed.
    let (head, _) = exchange(addr, "DELETE /metrics HTTP/1.1\r\n\r\n").await;
    assert_eq!(head[0], "HTTP/1.1 405 Method Not Allowed");
    assert!(head.iter().any(|l| l == "Allow: GET, HEAD"), "{head:?}");
    assert_eq!(
        exchange(addr, "GET /metricsx?a HTTP/1.1\r\n\r\n").await.0[0],
        "HTTP/1.1 404 Not Found"
    );
}
