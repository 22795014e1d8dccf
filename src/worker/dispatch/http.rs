//! What every HTTP target shares: the address resolved and checked
//! against the private ranges, then pinned for the round's connection
//! (no DNS rebinding); no redirects; bounded time; a refusal's reply
//! kept to a few KiB; `Retry-After` read.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::domain::outbound::address;
use crate::domain::outbound::destination::Destination;
use crate::domain::outbound::retry::{self, Verdict};

/// How an attempt at one event went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub verdict: Verdict,
    pub status: Option<u16>,
    pub retry_after: Option<Duration>,
    /// What went wrong, or the receiver's reply to a refusal (cut).
    pub error: Option<String>,
    pub ms: u32,
    /// Accepted, and not delivered until this acknowledgement is
    /// reported (Splunk HEC's indexer acknowledgement).
    pub ack: Option<u64>,
}

impl Attempt {
    pub fn failed(verdict: Verdict, error: String, started: Instant) -> Self {
        Self {
            verdict,
            status: None,
            retry_after: None,
            error: Some(error),
            ms: elapsed_ms(started),
            ack: None,
        }
    }

    pub fn delivered(status: Option<u16>, ms: u32) -> Self {
        Self {
            verdict: Verdict::Delivered,
            status,
            retry_after: None,
            error: None,
            ms,
            ack: None,
        }
    }

    /// Accepted with acknowledgement `id` to wait for.
    pub fn acking(id: u64, status: Option<u16>, ms: u32) -> Self {
        Self {
            ack: Some(id),
            ..Self::delivered(status, ms)
        }
    }
}

pub fn elapsed_ms(t: Instant) -> u32 {
    u32::try_from(t.elapsed().as_millis()).unwrap_or(u32::MAX)
}

/// How long to wait for a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of a reply kept.
pub const KEEP_REPLY: usize = 4_096;

/// Where `host`:`port` may be reached: its addresses, checked against the
/// private ranges unless `allow_private`; the first allowed one.
pub async fn resolve_host(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<SocketAddr, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let found: Vec<SocketAddr> = match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::lookup_host((bare, port)))
            .await
            .map_err(|_| format!("resolving {bare}: no answer within 5 s"))?
            .map_err(|e| format!("resolving {bare}: {e}"))?
            .collect(),
    };
    let mut refusals = Vec::new();
    for a in &found {
        match address::refused(a.ip()) {
            Some(why) if !allow_private => refusals.push(format!("{} ({why})", a.ip())),
            _ => return Ok(*a),
        }
    }
    Err(if refusals.is_empty() {
        format!("{bare} has no address")
    } else {
        format!(
            "refused: {bare} resolves only to {}; a super_admin may set allow_private",
            refusals.join(", ")
        )
    })
}

/// Where `url` may be reached (see [`resolve_host`]).
pub async fn resolve(url: &reqwest::Url, allow_private: bool) -> Result<SocketAddr, String> {
    let host = url.host_str().ok_or("the URL has no host")?;
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    resolve_host(host, port, allow_private).await
}

/// Makes ring the process's TLS provider (reqwest is built without one,
/// so that vigie has a single provider); a provider already installed
/// stays.
pub fn install_ring() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client pinned to `addr` for the URL's host.
fn client(
    url: &reqwest::Url,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<reqwest::Client, String> {
    install_ring();
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(timeout)
        .user_agent(concat!("vigie/", env!("CARGO_PKG_VERSION")));
    if let Some(host) = url.host_str() {
        b = b.resolve(host, addr);
    }
    b.build().map_err(|e| format!("HTTP client: {e}"))
}

/// A reply: its status, `Retry-After`, the head of its body, and the
/// time it took.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: String,
    pub ms: u32,
}

impl Reply {
    /// The attempt this reply makes, judged by its status alone.
    pub fn attempt(&self) -> Attempt {
        let verdict = retry::http_status(self.status);
        Attempt {
            verdict,
            status: Some(self.status),
            retry_after: self.retry_after,
            error: match verdict {
                Verdict::Delivered => None,
                _ => Some(format!("HTTP {}: {}", self.status, self.body)),
            },
            ms: self.ms,
            ack: None,
        }
    }
}

/// A round's connection to one host: the URL, the address resolved,
/// checked and pinned once, and a client that keeps its connection
/// alive from one request to the next.
pub struct Session {
    pub url: reqwest::Url,
    addr: SocketAddr,
    http: reqwest::Client,
    timeout_s: u32,
}

impl Session {
    /// Resolves and checks `url`'s address for `d` and makes the client;
    /// the failed attempt when it cannot (a bad URL is permanent, an
    /// address refused or not resolved is retried: nothing is lost while
    /// someone corrects the destination or its DNS).
    pub async fn open(d: &Destination, url: &str) -> Result<Self, Attempt> {
        let started = Instant::now();
        let url = reqwest::Url::parse(url)
            .map_err(|e| Attempt::failed(Verdict::Permanent, format!("URL: {e}"), started))?;
        let addr = resolve(&url, d.settings.allow_private)
            .await
            .map_err(|e| Attempt::failed(Verdict::Retry, e, started))?;
        let timeout = Duration::from_secs(u64::from(d.settings.timeout_s));
        let http =
            client(&url, addr, timeout).map_err(|e| Attempt::failed(Verdict::Retry, e, started))?;
        Ok(Self {
            url,
            addr,
            http,
            timeout_s: d.settings.timeout_s,
        })
    }

    /// POSTs `body` with `headers` to `url` (this session's host), at
    /// `now` (for an HTTP-date `Retry-After`); the reply, or the failed
    /// attempt when none came.
    pub async fn post(
        &self,
        url: reqwest::Url,
        headers: &[(&str, String)],
        body: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<Reply, Attempt> {
        let started = Instant::now();
        let mut req = self.http.post(url);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let reply = match req.body(body).send().await {
            Ok(r) => r,
            Err(err) => {
                let what = if err.is_timeout() {
                    format!("no answer within {} s", self.timeout_s)
                } else if err.is_connect() {
                    format!("cannot connect to {}", self.addr)
                } else {
                    format!("sending: {err}")
                };
                return Err(Attempt::failed(Verdict::Retry, what, started));
            }
        };
        let status = reply.status().as_u16();
        let retry_after = reply
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry::retry_after(v, now));
        let body = head_of(reply).await;
        Ok(Reply {
            status,
            retry_after,
            body,
            ms: elapsed_ms(started),
        })
    }
}

/// The first few KiB of a reply's body, read no further.
async fn head_of(mut reply: reqwest::Response) -> String {
    let mut kept = Vec::new();
    while kept.len() < KEEP_REPLY {
        match reply.chunk().await {
            Ok(Some(c)) => kept.extend_from_slice(&c[..c.len().min(KEEP_REPLY - kept.len())]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}
