//! `vigie worker --nats-tls-ca/--nats-tls-cert/--nats-tls-key` against a
//! nats-server that requires mutual TLS: certificates made by openssl for
//! the test, a server of the test's own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use vigie::bus::nats::{NatsAuth, NatsBus};
use vigie::bus::{Bus, ConsumerOptions, Stream};

use support::certs::certificates;
use support::cluster::NatsServer;
use support::services::unavailable;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_connects_with_mutual_tls_and_refuses_without_it() {
    if Command::new("openssl").arg("version").output().is_err() {
        let _: Option<()> = unavailable("openssl", "not installed");
        return;
    }
    let Some(nats) = NatsServer::start_with_config(|dir| {
        certificates(dir);
        let d = dir.display();
        format!(
            "tls {{\n  cert_file: \"{d}/server.pem\"\n  key_file: \"{d}/server.key\"\n  ca_file: \"{d}/ca.pem\"\n  verify: true\n}}\n"
        )
    }) else {
        return;
    };
    let d = nats.dir();
    let auth = NatsAuth {
        creds: None,
        tls_ca: Some(d.join("ca.pem")),
        tls_cert: Some(d.join("client.pem")),
        tls_key: Some(d.join("client.key")),
        ..NatsAuth::default()
    };
    let bus = tokio::time::timeout(
        Duration::from_secs(20),
        NatsBus::connect_with(&nats.url(), &auth),
    )
    .await
    .expect("connects in time")
    .expect("mutual TLS accepted");
    bus.ensure_streams().await.unwrap();
    let ack = bus
        .publish(
            "vigie.tel.acme.rtr-1.metrics",
            "tls-1",
            Bytes::from_static(b"{}"),
        )
        .await
        .unwrap();
    assert_eq!(ack.stream, Stream::Telemetry);
    let mut c = bus
        .consumer(
            Stream::Telemetry,
            "tls",
            "vigie.tel.>",
            ConsumerOptions::default(),
        )
        .await
        .unwrap();
    let got = c.fetch(1, Duration::from_secs(5)).await.unwrap();
    assert_eq!(got.len(), 1);

    // Without a client certificate the server refuses the connection.
    let no_cert = NatsAuth {
        tls_ca: Some(d.join("ca.pem")),
        ..NatsAuth::default()
    };
    let refused = tokio::time::timeout(
        Duration::from_secs(20),
        NatsBus::connect_with(&nats.url(), &no_cert),
    )
    .await
    .expect("answers in time");
    assert!(refused.is_err(), "a client without a certificate got in");
    // A certificate without its key is refused before connecting.
    let half = NatsAuth {
        tls_cert: Some(d.join("client.pem")),
        ..NatsAuth::default()
    };
    let e = NatsBus::connect_with(&nats.url(), &half)
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("--nats-tls-key"), "{e}");
}
