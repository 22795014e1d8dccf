//! A secure deployment as `vigie nats init` writes it, run by nats-server
//! with exactly that configuration file: the worker's credentials manage
//! the streams; an agent's, a tenant console's and the simulator's
//! (`vigie nats creds …`) reach only their own subjects; and
//! `vigie device revoke` disconnects the agent without restarting the
//! server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use vigie::bus::nats::{NatsAuth, NatsBus};
use vigie::bus::{Bus, ConsumerOptions, Stream, StreamLimits};

use support::cluster::{NatsServer, free_port};
use support::nats_client::{raw, told};

fn vigie(dir: &Path, args: &[&str]) -> String {
    let (ok, out, err) = support::cli::vigie_env(dir, args, &[]);
    assert!(ok, "vigie {args:?}: {out}{err}");
    out
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_party_reaches_only_its_own_subjects_and_a_revoked_agent_is_dropped() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let dir = h.join("nats");
    let port = free_port();
    let d = dir.to_str().unwrap();
    vigie(
        h,
        &[
            "nats",
            "init",
            "--dir",
            d,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ],
    );
    for secret in [
        "keys/operator.nk",
        "keys/VIGIE-signing.nk",
        "creds/worker.creds",
        "creds/system.creds",
    ] {
        assert_eq!(mode(&dir.join(secret)), 0o600, "{secret}");
    }
    let again = support::cli::vigie_env(h, &["nats", "init", "--dir", d], &[]);
    assert!(
        !again.0 && again.2.contains("holds a deployment already"),
        "{again:?}"
    );

    let Some(nats) = NatsServer::start_with_file(&dir.join("nats-server.conf"), port) else {
        return;
    };
    let url = nats.url();
    // Without credentials: refused.
    assert!(
        NatsBus::connect_with(&url, &NatsAuth::default())
            .await
            .is_err()
    );
    // The worker's credentials manage the streams.
    let worker = NatsBus::connect_with(
        &url,
        &NatsAuth {
            creds: Some(dir.join("creds/worker.creds")),
            ..NatsAuth::default()
        },
    )
    .await
    .unwrap();
    worker
        .configure_streams(&StreamLimits::default())
        .await
        .unwrap();

    // An agent's credentials: its telemetry is stored, its orders reach it.
    let out = vigie(
        h,
        &[
            "nats", "creds", "agent", "--dir", d, "--tenant", "acme", "--device", "rtr-1",
        ],
    );
    assert!(
        out.contains("nats_inbox_prefix = \"_INBOX.agent-acme-rtr-1\""),
        "{out}"
    );
    let creds = dir.join("creds/agent-acme-rtr-1.creds");
    assert_eq!(mode(&creds), 0o600);
    let agent = NatsBus::connect_with(
        &url,
        &NatsAuth {
            creds: Some(creds.clone()),
            inbox_prefix: Some("_INBOX.agent-acme-rtr-1".into()),
            ..NatsAuth::default()
        },
    )
    .await
    .unwrap();
    agent
        .publish(
            "vigie.tel.acme.rtr-1.metrics",
            "m-1",
            Bytes::from_static(b"{}"),
        )
        .await
        .unwrap();
    let mut orders = agent
        .consumer(
            Stream::Orders,
            "agent-acme-rtr-1",
            "vigie.ord.acme.rtr-1",
            ConsumerOptions::default(),
        )
        .await
        .unwrap();
    worker
        .publish("vigie.ord.acme.rtr-1", "o-1", Bytes::from_static(b"order"))
        .await
        .unwrap();
    assert_eq!(
        orders.fetch(1, Duration::from_secs(5)).await.unwrap().len(),
        1
    );

    // Everything else, from a raw client with the same credentials, is
    // refused by the server.
    let (client, mut events) = raw(&url, &creds, "_INBOX.agent-acme-rtr-1").await;
    for subject in [
        "vigie.tel.acme.rtr-2.metrics",
        "vigie.tel.globex.sw-1.metrics",
        "vigie.api.acme.fleet",
        "$JS.API.STREAM.INFO.VIGIE_TELEMETRY",
        "$JS.API.STREAM.DELETE.VIGIE_TELEMETRY",
        "$JS.API.CONSUMER.CREATE.VIGIE_ORDERS.agent-acme-rtr-2.vigie.ord.acme.rtr-2",
    ] {
        client
            .publish(subject, Bytes::from_static(b"{}"))
            .await
            .unwrap();
        client.flush().await.unwrap();
        told(
            &mut events,
            &format!("Permissions Violation for Publish to \"{subject}\""),
        )
        .await;
    }
    for subject in ["vigie.tel.>", "vigie.ord.acme.rtr-2", "_INBOX.>"] {
        let _sub = client.subscribe(subject).await.unwrap();
        client.flush().await.unwrap();
        told(
            &mut events,
            &format!("Permissions Violation for Subscription to \"{subject}\""),
        )
        .await;
    }
    // Nothing it sent is in the stream but its own message.
    let mut tel = worker
        .follow(Stream::Telemetry, "vigie.tel.>", 1)
        .await
        .unwrap();
    let first = tel.next().await.unwrap();
    assert_eq!(first.subject, "vigie.tel.acme.rtr-1.metrics");
    assert!(
        tokio::time::timeout(Duration::from_millis(500), tel.next())
            .await
            .is_err()
    );

    // A console of acme: acme's events and api, nobody else's.
    let out = vigie(
        h,
        &["nats", "creds", "console", "--dir", d, "--tenant", "acme"],
    );
    assert!(
        out.contains("--nats-inbox-prefix _INBOX.console-acme"),
        "{out}"
    );
    let console_creds = dir.join("creds/console-acme.creds");
    let console = NatsBus::connect_with(
        &url,
        &NatsAuth {
            creds: Some(console_creds.clone()),
            inbox_prefix: Some("_INBOX.console-acme".into()),
            ..NatsAuth::default()
        },
    )
    .await
    .unwrap();
    worker
        .publish(
            "vigie.evt.globex.device",
            "e-1",
            Bytes::from_static(b"theirs"),
        )
        .await
        .unwrap();
    worker
        .publish("vigie.evt.acme.device", "e-2", Bytes::from_static(b"ours"))
        .await
        .unwrap();
    let mut acme = console
        .follow(Stream::Events, "vigie.evt.acme.>", 1)
        .await
        .unwrap();
    assert_eq!(acme.next().await.unwrap().subject, "vigie.evt.acme.device");
    let (c, mut c_events) = raw(&url, &console_creds, "_INBOX.console-acme").await;
    for subject in [
        "vigie.api.globex.fleet",
        "vigie.api._all.fleet",
        "vigie.tel.acme.rtr-1.metrics",
        "$JS.API.CONSUMER.CREATE.VIGIE_EVENTS.x.vigie.evt.globex.>",
        "$JS.API.CONSUMER.CREATE.VIGIE_EVENTS.x.vigie.evt.>",
        "$JS.API.STREAM.INFO.VIGIE_EVENTS",
    ] {
        c.publish(subject, Bytes::from_static(b"{}")).await.unwrap();
        c.flush().await.unwrap();
        told(
            &mut c_events,
            &format!("Permissions Violation for Publish to \"{subject}\""),
        )
        .await;
    }
    for subject in ["_INBOX.>", "_INBOX.console-globex.>", "vigie.evt.>"] {
        let _sub = c.subscribe(subject).await.unwrap();
        c.flush().await.unwrap();
        told(
            &mut c_events,
            &format!("Permissions Violation for Subscription to \"{subject}\""),
        )
        .await;
    }
    // A provider console follows every tenant.
    vigie(
        h,
        &["nats", "creds", "console", "--dir", d, "--tenant", "_all"],
    );
    let provider = NatsBus::connect_with(
        &url,
        &NatsAuth {
            creds: Some(dir.join("creds/console-_all.creds")),
            inbox_prefix: Some("_INBOX.console-_all".into()),
            ..NatsAuth::default()
        },
    )
    .await
    .unwrap();
    let mut all = provider
        .follow(Stream::Events, "vigie.evt.>", 1)
        .await
        .unwrap();
    assert_eq!(all.next().await.unwrap().subject, "vigie.evt.globex.device");

    // `vigie sim` with its credentials publishes the fleet's telemetry.
    vigie(h, &["nats", "creds", "sim", "--dir", d]);
    let mut sim = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args([
            "sim",
            "--nats",
            &url,
            "--devices",
            "20",
            "--nats-inbox-prefix",
            "_INBOX.sim",
        ])
        .arg("--nats-creds")
        .arg(dir.join("creds/sim.creds"))
        .env("VIGIE_CONFIG_DIR", h)
        .env("VIGIE_DATA_DIR", h)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut simulated = worker
        .follow(Stream::Telemetry, "vigie.tel.>", 2)
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(20), simulated.next()).await;
    let _ = sim.kill();
    let _ = sim.wait();
    assert!(
        matches!(got, Ok(Some(_))),
        "the simulator's telemetry never arrived"
    );

    // Revoked: the connection is dropped within 10 s, and refused after.
    let revoke_started = std::time::Instant::now();
    let out = vigie(
        h,
        &[
            "device",
            "revoke",
            "--nats-dir",
            d,
            "--nats",
            &url,
            "--tenant",
            "acme",
            "--device",
            "rtr-1",
        ],
    );
    assert!(out.contains("revoked 1 credential"), "{out}");
    told(&mut events, "disconnected").await;
    assert!(revoke_started.elapsed() < Duration::from_secs(10));
    let again = async_nats::ConnectOptions::with_credentials_file(&creds)
        .await
        .unwrap()
        .connect(&url)
        .await;
    assert!(again.is_err(), "a revoked agent connected again");
    // The worker is not affected.
    worker
        .publish(
            "vigie.tel.acme.rtr-3.metrics",
            "w-1",
            Bytes::from_static(b"{}"),
        )
        .await
        .unwrap();
}
