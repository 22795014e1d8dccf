//! CEF and JSON over syslog to a real rsyslog (Debian's), started by the
//! test on loopback ports with its own configuration: UDP (RFC 5426),
//! TCP with octet counting (RFC 6587), TLS (RFC 5425) and mutual TLS,
//! RFC 5424 and RFC 3164. rsyslog writes what it parsed as JSON lines;
//! the test reads them back (CEF with the strict parser).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;
use vigie::domain::outbound::breaker::Policy;
use vigie::domain::outbound::cef;
use vigie::domain::outbound::destination::{Kind, Settings, Target, Transport};
use vigie::domain::outbound::options::{SyslogFormat, SyslogOptions};

use support::certs::certificates;
use support::cluster::free_port;
use support::outbox::{dispatcher, drain, id, incident, queue, store_for};
use support::services::unavailable;

/// rsyslogd on four loopback ports, writing JSON lines to `out.jsonl`.
struct Rsyslog {
    child: Child,
    dir: tempfile::TempDir,
    udp: u16,
    tcp: u16,
    tls: u16,
    mtls: u16,
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rsyslogd() -> Option<PathBuf> {
    ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

impl Rsyslog {
    fn start() -> Option<Self> {
        let Some(bin) = rsyslogd() else {
            return unavailable("rsyslog", "rsyslogd is not installed");
        };
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        certificates(dir.path());
        let (udp, tcp, tls, mtls) = (free_port(), free_port(), free_port(), free_port());
        let tls_files = format!(
            "streamDriver.CAFile=\"{d}/ca.pem\" streamDriver.CertFile=\"{d}/server.pem\" streamDriver.KeyFile=\"{d}/server.key\""
        );
        let conf = format!(
            r#"global(workDirectory="{d}")
module(load="imudp")
module(load="imtcp" maxSessions="50")
input(type="imudp" port="{udp}" address="127.0.0.1" name="udp")
input(type="imtcp" port="{tcp}" address="127.0.0.1" name="tcp")
input(type="imtcp" port="{tls}" address="127.0.0.1" name="tls"
  streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon" {tls_files})
input(type="imtcp" port="{mtls}" address="127.0.0.1" name="mtls"
  streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="x509/name"
  streamDriver.permittedPeer=["client"] {tls_files})
template(name="j" type="list" option.jsonf="on") {{
  property(outname="input" name="inputname" format="jsonf")
  property(outname="pri" name="pri" format="jsonf")
  property(outname="ts" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="host" name="hostname" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
}}
action(type="omfile" file="{d}/out.jsonl" template="j")
"#
        );
        std::fs::write(dir.path().join("rsyslog.conf"), conf).unwrap();
        let child = Command::new(bin)
            .args(["-n", "-f"])
            .arg(dir.path().join("rsyslog.conf"))
            .arg("-i")
            .arg(dir.path().join("rsyslog.pid"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("rsyslog.log")).unwrap())
            .spawn()
            .unwrap();
        let r = Self {
            child,
            dir,
            udp,
            tcp,
            tls,
            mtls,
        };
        let until = Instant::now() + Duration::from_secs(15);
        while [r.tcp, r.tls, r.mtls]
            .iter()
            .any(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_err())
        {
            assert!(
                Instant::now() < until,
                "rsyslogd did not listen: {}",
                std::fs::read_to_string(r.dir.path().join("rsyslog.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(r)
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// What rsyslog has written from `host` (a test case's HOSTNAME).
    fn lines_now(&self, host: &str) -> Vec<Value> {
        let text = std::fs::read_to_string(self.path().join("out.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["host"] == host)
            .collect()
    }

    /// The same once `n` lines are there (or 10 s passed).
    fn lines_from(&self, host: &str, n: usize) -> Vec<Value> {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let lines = self.lines_now(host);
            if lines.len() >= n || Instant::now() > until {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A syslog destination of `kind` to rsyslog's `port` over `transport`.
fn syslog(kind: Kind, port: u16, transport: Transport, o: SyslogOptions) -> Settings {
    Settings {
        allow_private: true,
        heartbeat_s: 0,
        timeout_s: 5,
        syslog: Some(o),
        ..Settings::new(
            kind,
            Target::Syslog {
                host: "127.0.0.1".into(),
                port,
                transport,
            },
        )
    }
}

/// Sends events 0..n with `summary` through a destination with
/// `settings`; what is left pending after.
async fn send(settings: Settings, n: usize, summary: &str) -> (u64, Vec<Option<String>>) {
    send_for(settings, n, summary, 20).await
}

/// The same, draining for at most `secs` seconds.
async fn send_for(
    settings: Settings,
    n: usize,
    summary: &str,
    secs: u64,
) -> (u64, Vec<Option<String>>) {
    let dir = tempfile::tempdir().unwrap();
    let store = store_for(&dir, "siem", settings, 0).await;
    queue(store.as_ref(), "siem", (0..n).map(|i| incident(i, summary))).await;
    // A collector that drops a connection (rsyslog on a loaded machine
    // can) is retried, as in service; the breaker reopens within a
    // second here so that a few such drops do not outlast the test.
    let quick = Policy {
        threshold: 5,
        open_for: chrono::Duration::milliseconds(200),
        max_open_for: chrono::Duration::seconds(1),
    };
    let mut d = dispatcher(&store, quick);
    drain(&mut d, &store, "siem", secs).await;
    let (left, _) = store.backlog(Some(&id("acme")), &id("siem")).await.unwrap();
    let errors = store
        .deliveries(Some(&id("acme")), &id("siem"), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.last_error)
        .collect();
    (left, errors)
}

fn opts(host: &str) -> SyslogOptions {
    SyslogOptions {
        hostname: host.into(),
        ..SyslogOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsyslog_reads_what_vigie_sends_over_udp_tcp_and_tls() {
    let Some(rs) = Rsyslog::start() else {
        return;
    };
    let ca = rs.path().join("ca.pem").display().to_string();
    let two_lines = "rtr-1 down\nsecond line: a|b=c\\d";

    // CEF over UDP, RFC 5424.
    let (left, _) = send(
        syslog(Kind::CefSyslog, rs.udp, Transport::Udp, opts("case-udp")),
        3,
        two_lines,
    )
    .await;
    assert_eq!(left, 0);
    let got = rs.lines_from("case-udp", 3);
    assert_eq!(got.len(), 3, "{got:?}");
    for (i, l) in got.iter().enumerate() {
        assert_eq!(l["input"], "udp");
        assert_eq!(l["pri"], "131", "local0.err for a major event");
        assert_eq!(l["app"], "vigie");
        assert_eq!(l["msgid"], "incident.opened");
        let c = cef::parse(l["msg"].as_str().unwrap()).unwrap();
        assert_eq!(c.get("msg"), Some(two_lines));
        assert_eq!(c.get("externalId"), Some(incident(i, "").id.as_str()));
    }

    // JSON over TCP: a line break in the text stays inside one message.
    let (left, _) = send(
        syslog(Kind::JsonSyslog, rs.tcp, Transport::Tcp, opts("case-tcp")),
        4,
        two_lines,
    )
    .await;
    assert_eq!(left, 0);
    let got = rs.lines_from("case-tcp", 4);
    assert_eq!(got.len(), 4, "{got:?}");
    for l in &got {
        assert_eq!(l["input"], "tcp");
        let env: Value = serde_json::from_str(l["msg"].as_str().unwrap()).unwrap();
        assert_eq!(env["summary"], two_lines);
        assert_eq!(env["type"], "incident.opened");
    }

    // CEF over TLS, the collector's certificate checked against its CA.
    let tls = SyslogOptions {
        ca_file: Some(ca.clone()),
        ..opts("case-tls")
    };
    let (left, _) = send(
        syslog(Kind::CefSyslog, rs.tls, Transport::Tls, tls),
        2,
        "over tls",
    )
    .await;
    assert_eq!(left, 0);
    let got = rs.lines_from("case-tls", 2);
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|l| l["input"] == "tls"));

    // Mutual TLS with a client certificate.
    let d = rs.path().display();
    let mtls = SyslogOptions {
        ca_file: Some(ca.clone()),
        client_cert: Some(format!("{d}/client.pem")),
        client_key: Some(format!("{d}/client.key")),
        ..opts("case-mtls")
    };
    let (left, errors) = send(
        syslog(Kind::CefSyslog, rs.mtls, Transport::Tls, mtls),
        2,
        "mutual",
    )
    .await;
    assert_eq!(left, 0, "{errors:?}");
    assert_eq!(rs.lines_from("case-mtls", 2).len(), 2);

    // RFC 3164 for a legacy collector.
    let legacy = SyslogOptions {
        format: SyslogFormat::Rfc3164,
        ..opts("case-3164")
    };
    let (left, _) = send(
        syslog(Kind::JsonSyslog, rs.tcp, Transport::Tcp, legacy),
        1,
        "old",
    )
    .await;
    assert_eq!(left, 0);
    let got = rs.lines_from("case-3164", 1);
    assert_eq!(got.len(), 1);
    let env: Value = serde_json::from_str(got[0]["msg"].as_str().unwrap().trim_start()).unwrap();
    assert_eq!(env["summary"], "old");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_an_unknown_certificate_or_without_a_client_one_sends_nothing() {
    let Some(rs) = Rsyslog::start() else {
        return;
    };
    // No CA named: the system's roots do not know the test CA.
    // Nothing is ever delivered here: three seconds of retries show it.
    let (left, errors) = send_for(
        syslog(
            Kind::CefSyslog,
            rs.tls,
            Transport::Tls,
            opts("case-untrusted"),
        ),
        2,
        "x",
        3,
    )
    .await;
    assert_eq!(left, 2, "kept, to be sent once the CA is set");
    let e = errors.iter().flatten().next().unwrap();
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    // The mutual-TLS port without a client certificate.
    let ca = rs.path().join("ca.pem").display().to_string();
    let no_client = SyslogOptions {
        ca_file: Some(ca),
        ..opts("case-noclient")
    };
    let (left, errors) = send_for(
        syslog(Kind::CefSyslog, rs.mtls, Transport::Tls, no_client),
        1,
        "y",
        3,
    )
    .await;
    // TLS 1.3 tells a refused client only after the handshake: vigie
    // reads the alert as the connection closes and keeps the event. The
    // error names the alert when it could be read, or the connection
    // broken under the write when the collector hung up first.
    assert_eq!(left, 1, "{errors:?}");
    let e = errors.iter().flatten().next().unwrap();
    assert!(e.contains("refused") || e.contains("writing"), "{e}");
    assert!(rs.lines_now("case-noclient").is_empty());
    assert!(rs.lines_now("case-untrusted").is_empty());
}
