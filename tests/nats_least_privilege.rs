//! Only the worker manages streams: agents and consoles bind to them with
//! credentials that hold no `$JS.API.STREAM.*` right, and the server keeps
//! each of them to its own subjects. A nats-server of the test's own with
//! the users of docs/OPERATIONS.md ("NATS security").
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use vigie::bus::nats::{NatsAuth, NatsBus};
use vigie::bus::{Bus, ConsumerOptions, Stream, StreamLimits};
use vigie::domain::redact::Secret;

use support::cluster::NatsServer;

/// The users of docs/OPERATIONS.md: the worker, one agent (tenant acme,
/// device rtr-1) and one console of tenant acme.
pub const STATIC_USERS: &str = r#"
accounts {
  VIGIE {
    jetstream: enabled
    users = [
      { user: worker, password: worker-pass,
        permissions: { publish: ["vigie.>", "$JS.API.>", "$JS.ACK.>", "_INBOX.>"],
                       subscribe: ["vigie.>", "$JS.EVENT.ADVISORY.>", "_INBOX.>"] } }
      { user: agent-acme-rtr-1, password: agent-pass,
        permissions: { publish: ["vigie.tel.acme.rtr-1.>",
                                 "$JS.API.CONSUMER.CREATE.VIGIE_ORDERS.agent-acme-rtr-1.vigie.ord.acme.rtr-1",
                                 "$JS.API.CONSUMER.INFO.VIGIE_ORDERS.agent-acme-rtr-1",
                                 "$JS.API.CONSUMER.MSG.NEXT.VIGIE_ORDERS.agent-acme-rtr-1",
                                 "$JS.ACK.VIGIE_ORDERS.agent-acme-rtr-1.>"],
                       subscribe: ["_INBOX.agent-acme-rtr-1.>"] } }
      { user: console-acme, password: console-pass,
        permissions: { publish: ["vigie.api.acme.>",
                                 "$JS.API.CONSUMER.CREATE.VIGIE_EVENTS.*.vigie.evt.acme.>",
                                 "$JS.API.CONSUMER.MSG.NEXT.VIGIE_EVENTS.*",
                                 "$JS.API.CONSUMER.DELETE.VIGIE_EVENTS.*"],
                       subscribe: ["_INBOX.console-acme.>"] } }
    ]
  }
}
"#;

fn user(name: &str, password: &str, inbox: Option<&str>) -> NatsAuth {
    NatsAuth {
        user: Some(name.to_string()),
        password: Some(Secret::new(password.as_bytes().to_vec())),
        inbox_prefix: inbox.map(str::to_string),
        ..NatsAuth::default()
    }
}

async fn connect(nats: &NatsServer, auth: &NatsAuth) -> NatsBus {
    tokio::time::timeout(
        Duration::from_secs(20),
        NatsBus::connect_with(&nats.url(), auth),
    )
    .await
    .expect("connects in time")
    .expect("connects")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_and_consoles_work_without_stream_rights_and_only_on_their_subjects() {
    let Some(nats) = NatsServer::start_with_config(|_| STATIC_USERS.to_string()) else {
        return;
    };
    // A client that is not the worker finds no stream to bind to before
    // the worker made them, and is told so.
    let agent_auth = user(
        "agent-acme-rtr-1",
        "agent-pass",
        Some("_INBOX.agent-acme-rtr-1"),
    );
    let early = connect(&nats, &agent_auth).await;
    let orders = |bus: &NatsBus| {
        let bus = bus.clone();
        async move {
            bus.consumer(
                Stream::Orders,
                "agent-acme-rtr-1",
                "vigie.ord.acme.rtr-1",
                ConsumerOptions::default(),
            )
            .await
        }
    };
    let e = orders(&early).await.err().expect("no stream yet");
    assert!(e.to_string().contains("VIGIE_ORDERS does not exist"), "{e}");

    // The worker creates the streams.
    let worker = connect(&nats, &user("worker", "worker-pass", None)).await;
    worker
        .configure_streams(&StreamLimits::default())
        .await
        .unwrap();

    // The agent: its own telemetry is stored, its orders reach it.
    let agent = connect(&nats, &agent_auth).await;
    let ack = agent
        .publish(
            "vigie.tel.acme.rtr-1.metrics",
            "a-1",
            Bytes::from_static(b"{}"),
        )
        .await
        .unwrap();
    assert_eq!(ack.stream, Stream::Telemetry);
    let mut mine = orders(&agent).await.expect("binds to its orders consumer");
    worker
        .publish("vigie.ord.acme.rtr-1", "o-1", Bytes::from_static(b"order"))
        .await
        .unwrap();
    let got = mine.fetch(1, Duration::from_secs(5)).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(&got[0].payload[..], b"order");
    mine.ack(&[got[0].token.clone()]).await.unwrap();
    // Another device's telemetry and another device's orders are refused
    // (the server drops what a user may not send, so each waits out its
    // timeout: all at once).
    let forged = tokio::time::timeout(
        Duration::from_secs(6),
        agent.publish(
            "vigie.tel.acme.rtr-2.metrics",
            "a-2",
            Bytes::from_static(b"{}"),
        ),
    );
    let theirs = agent.consumer(
        Stream::Orders,
        "agent-acme-rtr-2",
        "vigie.ord.acme.rtr-2",
        ConsumerOptions::default(),
    );
    let (forged, theirs) = tokio::join!(forged, theirs);
    assert!(
        !matches!(forged, Ok(Ok(_))),
        "another device's telemetry was stored"
    );
    assert!(theirs.is_err(), "another device's orders consumer was made");

    // The console: acme's events, nobody else's.
    let console = connect(
        &nats,
        &user("console-acme", "console-pass", Some("_INBOX.console-acme")),
    )
    .await;
    let mut acme = console
        .follow(Stream::Events, "vigie.evt.acme.>", 1)
        .await
        .expect("follows its tenant's events");
    worker
        .publish(
            "vigie.evt.other.device",
            "e-1",
            Bytes::from_static(b"theirs"),
        )
        .await
        .unwrap();
    worker
        .publish("vigie.evt.acme.device", "e-2", Bytes::from_static(b"ours"))
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), acme.next())
        .await
        .expect("an event in time")
        .expect("an event");
    assert_eq!(first.subject, "vigie.evt.acme.device");
    let (all, other) = tokio::join!(
        console.follow(Stream::Events, "vigie.evt.>", 1),
        console.follow(Stream::Events, "vigie.evt.other.>", 1),
    );
    assert!(
        all.is_err(),
        "a tenant console followed every tenant's events"
    );
    assert!(
        other.is_err(),
        "a tenant console followed another tenant's events"
    );
    // Nothing forged reached the stream.
    let mut tel = worker
        .follow(Stream::Telemetry, "vigie.tel.acme.rtr-2.>", 1)
        .await
        .unwrap();
    let none = tokio::time::timeout(Duration::from_millis(500), tel.next()).await;
    assert!(none.is_err(), "another device's telemetry is in the stream");
}
