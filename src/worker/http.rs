//! The worker's operations endpoints on `--listen ADDR`: `/metrics`
//! (Prometheus text), `/healthz` (the process answers) and `/readyz` (the
//! bus is connected, the database answers and takes writes, and the
//! consumer's lag is under the threshold). A deliberately small
//! HTTP/1.1 responder: GET and HEAD (a query string ignored), one request
//! per connection.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::WorkerStats;
use crate::store::Store;

/// What the endpoints report on.
pub struct Probe {
    pub stats: Arc<WorkerStats>,
    pub store: Arc<dyn Store>,
    /// True while the bus connection is up.
    pub bus_up: Box<dyn Fn() -> bool + Send + Sync>,
    /// Consumer lag above which the worker is not ready.
    pub ready_lag: u64,
    /// Delivery to the SOC, per destination.
    pub outbound: Option<Arc<super::dispatch::stats::OutboundStats>>,
}

/// Why the worker is not ready, if it is not.
async fn readiness(probe: &Probe) -> Result<(), String> {
    if !(probe.bus_up)() {
        return Err("bus disconnected".into());
    }
    if let Err(e) = probe.store.ping().await {
        return Err(format!("database: {e}"));
    }
    if probe.stats.db_down.load(Ordering::Relaxed) {
        return Err("database: the last write failed; waiting for it to recover".into());
    }
    let lag = probe.stats.consumer_lag.load(Ordering::Relaxed);
    if lag > probe.ready_lag {
        return Err(format!(
            "consumer lag {lag} messages is over {}",
            probe.ready_lag
        ));
    }
    Ok(())
}

/// Serves the endpoints until the task is dropped.
pub async fn serve(listener: TcpListener, probe: Arc<Probe>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let probe = Arc::clone(&probe);
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(10), handle(stream, &probe)).await;
        });
    }
}

/// The Prometheus text exposition of the worker's counters.
pub fn metrics_text(stats: &WorkerStats) -> String {
    let rows: [(&str, &str, &str, u64); 18] = [
        (
            "vigie_messages_accepted_total",
            "counter",
            "Telemetry messages decoded and applied.",
            stats.accepted.load(Ordering::Relaxed),
        ),
        (
            "vigie_messages_dead_lettered_total",
            "counter",
            "Messages sent to the dead-letter stream.",
            stats.dead_lettered.load(Ordering::Relaxed),
        ),
        (
            "vigie_rows_duplicate_total",
            "counter",
            "Telemetry rows already stored (redeliveries absorbed).",
            stats.duplicates.load(Ordering::Relaxed),
        ),
        (
            "vigie_batches_total",
            "counter",
            "Batches committed.",
            stats.batches.load(Ordering::Relaxed),
        ),
        (
            "vigie_batches_failed_total",
            "counter",
            "Batches whose database write failed (redelivered).",
            stats.failed_batches.load(Ordering::Relaxed),
        ),
        (
            "vigie_events_published_total",
            "counter",
            "Derived events published to consoles.",
            stats.events.load(Ordering::Relaxed),
        ),
        (
            "vigie_last_batch_messages",
            "gauge",
            "Messages in the last batch.",
            stats.last_batch_size.load(Ordering::Relaxed),
        ),
        (
            "vigie_last_batch_microseconds",
            "gauge",
            "Fetch-to-ack time of the last batch.",
            stats.last_batch_us.load(Ordering::Relaxed),
        ),
        (
            "vigie_batch_commit_microseconds_max",
            "gauge",
            "Slowest batch commit since start.",
            stats.max_commit_us.load(Ordering::Relaxed),
        ),
        (
            "vigie_batch_commit_microseconds_total",
            "counter",
            "Time spent committing batches (divide by vigie_batches_total for the mean).",
            stats.commit_us_total.load(Ordering::Relaxed),
        ),
        (
            "vigie_consumer_lag_messages",
            "gauge",
            "Messages of the durable consumer not yet acknowledged, as of the last sweep.",
            stats.consumer_lag.load(Ordering::Relaxed),
        ),
        (
            "vigie_db_errors_total",
            "counter",
            "Database errors: failed writes, housekeeping and reconnection checks.",
            stats.db_errors.load(Ordering::Relaxed),
        ),
        (
            "vigie_db_up",
            "gauge",
            "1 while the database takes writes, 0 after a failed write until it answers.",
            u64::from(!stats.db_down.load(Ordering::Relaxed)),
        ),
        (
            "vigie_rule_evaluations_total",
            "counter",
            "Alert rule evaluations.",
            stats.rule_evaluations.load(Ordering::Relaxed),
        ),
        (
            "vigie_messages_exhausted_total",
            "counter",
            "Messages given up at max_deliver (also counted as dead-lettered).",
            stats.exhausted.load(Ordering::Relaxed),
        ),
        (
            "vigie_dead_letters_failed_total",
            "counter",
            "Dead letters the dead-letter stream refused (their message comes again).",
            stats.dlq_failures.load(Ordering::Relaxed),
        ),
        (
            "vigie_api_replies_refused_total",
            "counter",
            "Api requests dropped unanswered: their reply subject was not under the inbox prefix.",
            stats.api_replies_refused.load(Ordering::Relaxed),
        ),
        (
            "vigie_logins_throttled_total",
            "counter",
            "Logins refused before any password check (throttled, or no password check free in time).",
            stats.logins_throttled.load(Ordering::Relaxed),
        ),
    ];
    let mut out = stats.latency.prometheus(
        "vigie_ingest_latency_seconds",
        "Event time to commit, per accepted message (publish to stored when producers stamp at send).",
    );
    for (name, kind, help, value) in rows {
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        );
    }
    out
}

async fn handle(mut stream: TcpStream, probe: &Probe) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() > 8 * 1024 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or_default().split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    // A scraper's query string (Prometheus `params`, a cache buster)
    // changes nothing.
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let (status, body) = if !matches!(method, "GET" | "HEAD") {
        ("405 Method Not Allowed", "only GET and HEAD\n".to_string())
    } else {
        match path {
            "/metrics" => {
                let mut text = metrics_text(&probe.stats);
                if let Some(o) = &probe.outbound {
                    text.push_str(&o.prometheus());
                }
                ("200 OK", text)
            }
            "/healthz" => ("200 OK", "ok\n".to_string()),
            "/readyz" => match readiness(probe).await {
                Ok(()) => ("200 OK", "ready\n".to_string()),
                Err(why) => ("503 Service Unavailable", format!("not ready: {why}\n")),
            },
            _ => ("404 Not Found", "not found\n".to_string()),
        }
    };
    let kind = if path == "/metrics" {
        "text/plain; version=0.0.4"
    } else {
        "text/plain; charset=utf-8"
    };
    let allow = if status.starts_with("405") {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    // HEAD: the same head, without the body.
    let shown = if method == "HEAD" { "" } else { body.as_str() };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n{allow}Connection: close\r\n\r\n{shown}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
