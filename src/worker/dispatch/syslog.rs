//! Sending syslog (CEF or JSON in MSG): one datagram per message over UDP
//! (RFC 5426: at most once, nothing tells it arrived), octet-counted
//! frames over TCP (RFC 6587) and TLS (RFC 5425: TLS 1.2 or 1.3, the
//! collector's certificate checked against the destination's CA or the
//! system's roots, an optional client certificate, close_notify sent at
//! the end). A TCP or TLS batch counts as delivered once written, flushed
//! and closed cleanly; a failure on the way sends the whole batch again
//! (at least once). The address is checked like an HTTP target's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::Sent;
use super::http::{Attempt, CONNECT_TIMEOUT, elapsed_ms, install_ring, resolve_host};
use crate::domain::outbound::destination::{Destination, Target, Transport};
use crate::domain::outbound::options::SyslogOptions;
use crate::domain::outbound::retry::Verdict;
use crate::domain::outbound::syslog;
use crate::store::outbound::OutboxItem;

/// Sends `items` (in order) to `d`'s collector.
pub async fn send(d: &Destination, items: &[OutboxItem]) -> Sent {
    let started = Instant::now();
    let fail = |verdict, e: String| Sent {
        attempts: vec![Attempt::failed(verdict, e, started)],
        requests: 1,
        ms: u64::from(elapsed_ms(started)),
    };
    let Target::Syslog {
        host,
        port,
        transport,
    } = &d.settings.target
    else {
        return fail(Verdict::Permanent, "syslog needs a host and port".into());
    };
    let addr = match resolve_host(host, *port, d.settings.allow_private).await {
        Ok(a) => a,
        Err(e) => return fail(Verdict::Retry, e),
    };
    let msgs: Vec<Vec<u8>> = items
        .iter()
        .map(|i| syslog::message(&i.event, &d.settings))
        .collect();
    let budget = Duration::from_secs(u64::from(d.settings.timeout_s));
    let written = match transport {
        Transport::Udp => return udp(addr, &msgs, started).await,
        Transport::Tcp => match connect(addr).await {
            Ok(s) => write_frames(s, &msgs, budget).await,
            Err(e) => Err(e),
        },
        Transport::Tls => match tls(d, host, addr).await {
            Ok(s) => write_frames(s, &msgs, budget).await,
            Err(e) => Err(e),
        },
    };
    match written {
        Ok(()) => {
            let ms = elapsed_ms(started);
            Sent {
                attempts: vec![Attempt::delivered(None, ms); msgs.len()],
                requests: 1,
                ms: u64::from(ms),
            }
        }
        Err(e) => fail(Verdict::Retry, e),
    }
}

async fn udp(addr: std::net::SocketAddr, msgs: &[Vec<u8>], started: Instant) -> Sent {
    let mut sent = Sent::default();
    let local = if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = match tokio::net::UdpSocket::bind(local).await {
        Ok(s) => s,
        Err(e) => {
            sent.attempts.push(Attempt::failed(
                Verdict::Retry,
                format!("UDP socket: {e}"),
                started,
            ));
            return sent;
        }
    };
    for m in msgs {
        let one = Instant::now();
        sent.requests += 1;
        if m.len() > syslog::MAX_UDP {
            sent.attempts.push(Attempt::failed(
                Verdict::Permanent,
                format!(
                    "{} bytes is too large for one UDP datagram: use tcp or tls",
                    m.len()
                ),
                one,
            ));
            continue;
        }
        match socket.send_to(m, addr).await {
            Ok(_) => sent
                .attempts
                .push(Attempt::delivered(None, elapsed_ms(one))),
            Err(e) => {
                sent.attempts.push(Attempt::failed(
                    Verdict::Retry,
                    format!("sending to {addr}: {e}"),
                    one,
                ));
                break;
            }
        }
        sent.ms += u64::from(elapsed_ms(one));
    }
    sent
}

async fn connect(addr: std::net::SocketAddr) -> Result<tokio::net::TcpStream, String> {
    tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| format!("cannot connect to {addr} within 5 s"))?
        .map_err(|e| format!("cannot connect to {addr}: {e}"))
}

/// How long to wait for the collector to close its side after ours.
const LINGER: Duration = Duration::from_secs(2);

/// Writes every message octet-counted, flushes and closes (TLS's
/// close_notify), within `budget`; then reads what the collector says
/// as it closes: a TLS alert there (a client certificate refused after
/// a TLS 1.3 handshake) means nothing was taken.
async fn write_frames<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    msgs: &[Vec<u8>],
    budget: Duration,
) -> Result<(), String> {
    let mut all = Vec::with_capacity(msgs.iter().map(|m| m.len() + 8).sum());
    for m in msgs {
        all.extend_from_slice(&syslog::octet_counted(m));
    }
    let work = async {
        s.write_all(&all).await?;
        s.flush().await?;
        s.shutdown().await
    };
    let written = tokio::time::timeout(budget, work)
        .await
        .map_err(|_| format!("not written within {} s", budget.as_secs()))?;
    // What the collector said as it closed: a TLS alert names why it
    // refused, whether it came before the write failed or after it.
    let mut sink = [0u8; 512];
    let refused = match tokio::time::timeout(LINGER, s.read(&mut sink)).await {
        Ok(Err(e)) if e.kind() != std::io::ErrorKind::UnexpectedEof => Some(e),
        _ => None,
    };
    match (written, refused) {
        (_, Some(e)) => Err(format!("the collector refused the connection: {e}")),
        (Err(e), None) => Err(format!("writing: {e}")),
        (Ok(()), None) => Ok(()),
    }
}

/// A TLS connection to the collector, its certificate checked.
async fn tls(
    d: &Destination,
    host: &str,
    addr: std::net::SocketAddr,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
    let config = tls_config(&d.settings.syslog_options())?;
    let name = rustls::pki_types::ServerName::try_from(
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
    )
    .map_err(|e| format!("{host} as a TLS name: {e}"))?;
    let tcp = connect(addr).await?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp))
        .await
        .map_err(|_| format!("TLS with {addr}: no handshake within 5 s"))?
        .map_err(|e| format!("TLS with {addr}: {e}"))
}

fn tls_config(o: &SyslogOptions) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    install_ring();
    let mut roots = rustls::RootCertStore::empty();
    match &o.ca_file {
        Some(path) => {
            for c in CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("syslog.ca_file {path}: {e}"))?
            {
                let c = c.map_err(|e| format!("syslog.ca_file {path}: {e}"))?;
                roots
                    .add(c)
                    .map_err(|e| format!("syslog.ca_file {path}: {e}"))?;
            }
        }
        None => {
            for c in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(c);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots);
    match (&o.client_cert, &o.client_key) {
        (Some(cert), Some(key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .map_err(|e| format!("syslog.client_cert {cert}: {e}"))?
                .collect::<Result<_, _>>()
                .map_err(|e| format!("syslog.client_cert {cert}: {e}"))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("syslog.client_key {key}: {e}"))?;
            b.with_client_auth_cert(chain, key)
                .map_err(|e| format!("syslog client certificate: {e}"))
        }
        _ => Ok(b.with_no_client_auth()),
    }
}
