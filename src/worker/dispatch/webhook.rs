//! Sending one event to a webhook: the envelope as the destination
//! selects it, signed again for this attempt (vigie's scheme with every
//! secret, and Standard Webhooks' when the secrets are `whsec_…`), to the
//! address resolved and checked here and pinned for the connection (no
//! DNS rebinding), no redirects followed, bounded in time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::domain::outbound::address;
use crate::domain::outbound::destination::{Destination, Target};
use crate::domain::outbound::event::{OutEvent, Selection, envelope};
use crate::domain::outbound::retry::{self, Verdict};
use crate::domain::outbound::sign;

/// How an attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub verdict: Verdict,
    pub status: Option<u16>,
    pub retry_after: Option<Duration>,
    /// What went wrong, or the receiver's reply to a refusal (cut).
    pub error: Option<String>,
    pub ms: u32,
}

impl Attempt {
    fn failed(verdict: Verdict, error: String, started: Instant) -> Self {
        Self {
            verdict,
            status: None,
            retry_after: None,
            error: Some(error),
            ms: elapsed_ms(started),
        }
    }
}

fn elapsed_ms(t: Instant) -> u32 {
    u32::try_from(t.elapsed().as_millis()).unwrap_or(u32::MAX)
}

/// How long to wait for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of a refusal's reply kept.
const KEEP_REPLY: usize = 4_096;

/// Where `url` may be reached: its host's addresses, checked against
/// the private ranges unless `allow_private`; the first allowed one.
pub async fn resolve(url: &reqwest::Url, allow_private: bool) -> Result<SocketAddr, String> {
    let host = url.host_str().ok_or("the URL has no host")?;
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
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

/// Makes ring the process's TLS provider (reqwest is built without one,
/// so that vigie has a single provider); a provider already installed
/// stays.
fn install_ring() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client for one attempt: pinned to `addr` for the URL's host.
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

/// The headers that sign `body` at `ts` for `e` with `secrets`.
pub fn signature_headers(
    e: &OutEvent,
    body: &[u8],
    ts: i64,
    secrets: &[Vec<u8>],
) -> Vec<(&'static str, String)> {
    let vigie: Vec<String> = secrets.iter().map(|s| sign::vigie(s, ts, body)).collect();
    let mut h = vec![
        ("content-type", "application/json".to_string()),
        ("x-vigie-timestamp", ts.to_string()),
        ("x-vigie-signature", vigie.join(" ")),
        ("x-vigie-delivery", e.id.clone()),
        ("x-vigie-event", e.kind.as_str().to_string()),
    ];
    let standard: Vec<String> = secrets
        .iter()
        .filter_map(|s| std::str::from_utf8(s).ok())
        .filter_map(|s| sign::standard_key(s).ok())
        .map(|k| sign::standard(&k, &e.id, ts, body))
        .collect();
    if !standard.is_empty() {
        h.push(("webhook-id", e.id.clone()));
        h.push(("webhook-timestamp", ts.to_string()));
        h.push(("webhook-signature", standard.join(" ")));
    }
    h
}

/// A round's connection to one webhook: its URL, the address resolved,
/// checked and pinned once for the round, and a client that keeps its
/// connection alive from one event to the next.
pub struct Session {
    url: reqwest::Url,
    addr: SocketAddr,
    http: reqwest::Client,
}

impl Session {
    /// Resolves and checks `d`'s address and makes the client; the failed
    /// attempt when it cannot (a bad URL is permanent, an address refused
    /// or not resolved is retried: nothing is lost while someone corrects
    /// the destination or its DNS).
    pub async fn open(d: &Destination) -> Result<Self, Attempt> {
        let started = Instant::now();
        let Target::Url(url) = &d.settings.target else {
            return Err(Attempt::failed(
                Verdict::Permanent,
                "a webhook needs a URL".into(),
                started,
            ));
        };
        let url = reqwest::Url::parse(url)
            .map_err(|e| Attempt::failed(Verdict::Permanent, format!("URL: {e}"), started))?;
        let addr = resolve(&url, d.settings.allow_private)
            .await
            .map_err(|e| Attempt::failed(Verdict::Retry, e, started))?;
        let timeout = Duration::from_secs(u64::from(d.settings.timeout_s));
        let http =
            client(&url, addr, timeout).map_err(|e| Attempt::failed(Verdict::Retry, e, started))?;
        Ok(Self { url, addr, http })
    }

    /// Sends `e` once, at `now`, signed with `secrets`.
    pub async fn send(
        &self,
        d: &Destination,
        e: &OutEvent,
        secrets: &[Vec<u8>],
        now: DateTime<Utc>,
    ) -> Attempt {
        send(self, d, e, secrets, now).await
    }
}

async fn send(
    session: &Session,
    d: &Destination,
    e: &OutEvent,
    secrets: &[Vec<u8>],
    now: DateTime<Utc>,
) -> Attempt {
    let started = Instant::now();
    let (url, addr, http) = (session.url.clone(), session.addr, &session.http);
    let selection = Selection {
        mode: d.settings.data_mode,
        fields: d.settings.data_fields.clone(),
    };
    let body = envelope(e, &selection).to_string().into_bytes();
    let mut req = http.post(url);
    for (k, v) in signature_headers(e, &body, now.timestamp(), secrets) {
        req = req.header(k, v);
    }
    let reply = match req.body(body).send().await {
        Ok(r) => r,
        Err(err) => {
            let what = if err.is_timeout() {
                format!("no answer within {} s", d.settings.timeout_s)
            } else if err.is_connect() {
                format!("cannot connect to {addr}")
            } else {
                format!("sending: {err}")
            };
            return Attempt::failed(Verdict::Retry, what, started);
        }
    };
    let status = reply.status().as_u16();
    let retry_after = reply
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry::retry_after(v, now));
    let verdict = retry::http_status(status);
    let error = match verdict {
        Verdict::Delivered => None,
        _ => Some(format!("HTTP {status}: {}", head_of(reply).await)),
    };
    Attempt {
        verdict,
        status: Some(status),
        retry_after,
        error,
        ms: elapsed_ms(started),
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
