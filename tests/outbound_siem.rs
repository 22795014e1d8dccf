//! SIEM targets against collectors on the loopback: a Splunk-HEC-
//! compatible collector with indexer acknowledgement and faults (429
//! with Retry-After, 503, a code 6 partial batch, an ack never
//! reported), LogScale's HEC, Azure's Logs Ingestion API with its Entra
//! token endpoint, and CEF over HTTP read back by a strict parser.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use vigie::store::Store;

use serde_json::Value;
use vigie::domain::outbound::breaker::Policy;
use vigie::domain::outbound::cef;
use vigie::domain::outbound::destination::{Kind, Settings, Target};
use vigie::domain::outbound::hec::channel;
use vigie::domain::outbound::options::{AzureOptions, HecOptions};

use support::hec::{Fault, Hec};
use support::outbox::{dispatcher, drain, id, incident, queue, secret_file, store_for};
use support::receiver::{Received, Receiver};

const TOKEN: &str = "0b1c2d3e-hec-token";

fn hec_settings(dir: &tempfile::TempDir, kind: Kind, url: String, ack: bool) -> Settings {
    Settings {
        secrets: vec![secret_file(dir, "hec.token", TOKEN)],
        allow_private: true,
        allow_http: true,
        heartbeat_s: 0,
        timeout_s: 1,
        batch_size: 5,
        hec: Some(HecOptions {
            ack,
            ack_timeout_s: Some(1),
            ..HecOptions::default()
        }),
        ..Settings::new(kind, Target::Url(url))
    }
}

/// A collector accepting `auth` at `path` with `faults`, and a store
/// whose destination `dest` of `kind` sends `n` events to it.
async fn hec_store(
    dir: &tempfile::TempDir,
    kind: Kind,
    (auth, path): (&'static str, &'static str),
    ack: bool,
    faults: Vec<Fault>,
    n: usize,
) -> (Hec, Arc<dyn Store>) {
    let hec = Hec::start(auth, path, ack, faults).await;
    let settings = hec_settings(dir, kind, hec.url(path), ack);
    let store = store_for(dir, "siem", settings, n).await;
    (hec, store)
}

/// A Splunk collector with indexer acknowledgement and `faults`, and a
/// store sending it `n` events.
async fn splunk_acking(
    dir: &tempfile::TempDir,
    faults: Vec<Fault>,
    n: usize,
) -> (Hec, Arc<dyn Store>) {
    let at = ("Splunk 0b1c2d3e-hec-token", "/services/collector/event");
    hec_store(dir, Kind::SplunkHec, at, true, faults, n).await
}

#[tokio::test]
async fn splunk_hec_loses_nothing_through_faults_and_forgotten_acks() {
    let dir = tempfile::tempdir().unwrap();
    let faults = vec![
        Fault::TooMany,
        Fault::Busy,
        Fault::BadEvent(2),
        Fault::ForgetAck,
    ];
    let (hec, store) = splunk_acking(&dir, faults, 12).await;
    let mut d = dispatcher(&store, Policy::default());
    drain(&mut d, &store, "siem", 30).await;
    assert_eq!(hec.faults_left(), 0);

    let all: Vec<String> = (0..12).map(|i| incident(i, "").id).collect();
    let indexed = hec.indexed();
    let distinct: HashSet<&String> = indexed.iter().collect();
    // The first batch (0–4) met 429, 503, then code 6 at its third
    // event: 0 and 1 indexed, 2 dead, 3 and 4 sent again.
    for (i, e) in all.iter().enumerate() {
        assert_eq!(distinct.contains(e), i != 2, "event {i}");
    }
    // The batch whose ack was never reported went again: its five
    // events twice, nothing else duplicated.
    assert_eq!(indexed.len(), 11 + 5, "{indexed:?}");
    let log = store
        .deliveries(Some(&id("acme")), &id("siem"), 20)
        .await
        .unwrap();
    let dead: Vec<_> = log.iter().filter(|l| l.state == "dead").collect();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event_id, all[2]);
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("HEC code 6"),
        "{dead:?}"
    );
    assert!(log.iter().filter(|l| l.state == "delivered").count() == 11);
    // One channel, derived from the destination, on every request.
    let channels: HashSet<String> = hec.channels().into_iter().collect();
    assert_eq!(channels, HashSet::from([channel("acme", "siem")]));
}

#[tokio::test]
async fn an_awaited_ack_holds_no_round_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    // The batch's ack is reported only the third time it is asked for.
    let (hec, store) = splunk_acking(&dir, vec![Fault::SlowAck(3)], 5).await;
    let mut d = dispatcher(&store, Policy::default());
    // The round sends the batch and returns: the rows wait for their ack
    // in the database, not in the round (other destinations go on).
    let first = d.round().await.unwrap();
    assert_eq!((first.delivered, first.retried), (0, 0), "{first:?}");
    assert_eq!(hec.indexed().len(), 5);
    let log = store
        .deliveries(Some(&id("acme")), &id("siem"), 10)
        .await
        .unwrap();
    assert!(
        log.iter().all(|l| l.state == "pending"
            && l.last_error.as_deref().is_some_and(|e| e.contains("ack 0"))),
        "{log:?}"
    );
    // One more round asks once, and still waits.
    d.round().await.unwrap();
    assert_eq!(hec.polls(), 1);
    // A restart: the new dispatcher asks for the ack it finds stored and
    // settles the batch without sending it again.
    drop(d);
    let mut again = dispatcher(&store, Policy::default());
    drain(&mut again, &store, "siem", 10).await;
    let (left, _) = store.backlog(Some(&id("acme")), &id("siem")).await.unwrap();
    assert_eq!(left, 0);
    assert_eq!(hec.indexed().len(), 5, "sent once: {:?}", hec.indexed());
    assert_eq!(hec.polls(), 3);
}

#[tokio::test]
async fn a_wrong_hec_token_keeps_everything_queued_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (_hec, store) = hec_store(
        &dir,
        Kind::SplunkHec,
        ("Splunk right-token", "/services/collector/event"),
        false,
        vec![],
        3,
    )
    .await;
    let mut d = dispatcher(&store, Policy::default());
    let r = d.round().await.unwrap();
    assert_eq!((r.delivered, r.dead, r.retried), (0, 0, 1));
    let (left, _) = store.backlog(Some(&id("acme")), &id("siem")).await.unwrap();
    assert_eq!(left, 3, "nothing dropped while the token is wrong");
    let log = store
        .deliveries(Some(&id("acme")), &id("siem"), 5)
        .await
        .unwrap();
    let err = log.iter().find_map(|l| l.last_error.clone()).unwrap();
    assert!(
        err.contains("code 4") && err.contains("need fixing"),
        "{err}"
    );
    assert!(!err.contains(TOKEN));
}

#[tokio::test]
async fn logscale_gets_stacked_objects_with_seconds_and_a_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let (hec, store) = hec_store(
        &dir,
        Kind::LogscaleHec,
        ("Bearer 0b1c2d3e-hec-token", "/api/v1/ingest/hec"),
        false,
        vec![],
        7,
    )
    .await;
    let mut d = dispatcher(&store, Policy::default());
    drain(&mut d, &store, "siem", 10).await;
    // The collector refuses arrays and times in milliseconds.
    assert_eq!(hec.indexed().len(), 7);
    assert_eq!(hec.rx.received().len(), 2, "batches of 5");
}

/// An Entra token endpoint and a Logs Ingestion endpoint in one: the
/// token for the right client secret, 413 for a batch of more than
/// two rows, 204 otherwise.
async fn azure() -> (Receiver, Arc<Mutex<Vec<Value>>>) {
    let rows = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&rows);
    let rx = Receiver::answering(Arc::new(move |r: &Received| {
        let body = String::from_utf8_lossy(&r.body).to_string();
        if r.path == "/entra-tenant/oauth2/v2.0/token" {
            let good = body.contains("grant_type=client_credentials")
                && body.contains("client_id=app-1")
                && body.contains("client_secret=s3cr%26t-0123456789abcdef")
                && body.contains("scope=https%3A%2F%2Fmonitor.azure.com%2F%2F.default");
            return if good {
                (
                    200,
                    None,
                    r#"{"token_type":"Bearer","expires_in":3599,"access_token":"tok-1"}"#.into(),
                )
            } else {
                (401, None, r#"{"error":"invalid_client"}"#.into())
            };
        }
        if r.path != "/dataCollectionRules/dcr-0a1b/streams/Custom-Vigie_CL?api-version=2023-01-01"
        {
            return (404, None, String::new());
        }
        if r.header("authorization") != "Bearer tok-1" {
            return (401, None, String::new());
        }
        let Ok(Value::Array(batch)) = serde_json::from_slice::<Value>(&r.body) else {
            return (400, None, "not an array".into());
        };
        if batch.len() > 2 {
            return (413, None, "too large".into());
        }
        kept.lock().unwrap().extend(batch);
        (204, None, String::new())
    }))
    .await;
    (rx, rows)
}

#[tokio::test]
async fn azure_logs_ingestion_with_one_token_and_split_on_413() {
    let (rx, rows) = azure().await;
    let dir = tempfile::tempdir().unwrap();
    let base = format!("http://127.0.0.1:{}", rx.port);
    let settings = Settings {
        secrets: vec![secret_file(
            &dir,
            "client.secret",
            "s3cr&t-0123456789abcdef",
        )],
        allow_private: true,
        allow_http: true,
        heartbeat_s: 0,
        azure: Some(AzureOptions {
            tenant_id: "entra-tenant".into(),
            client_id: "app-1".into(),
            dcr_id: "dcr-0a1b".into(),
            stream: "Custom-Vigie_CL".into(),
            authority: Some(base.clone()),
        }),
        ..Settings::new(Kind::AzureLogs, Target::Url(base))
    };
    let store = store_for(&dir, "sentinel", settings, 0).await;
    // Non-ASCII text: the byte count, not the character count, matters.
    let events: Vec<_> = (0..4)
        .map(|i| incident(i, "caf\u{e9} \u{2014} r\u{e9}seau down"))
        .collect();
    queue(store.as_ref(), "sentinel", events.clone().into_iter()).await;
    let mut d = dispatcher(&store, Policy::default());
    drain(&mut d, &store, "sentinel", 10).await;
    queue(
        store.as_ref(),
        "sentinel",
        std::iter::once(incident(9, "later")),
    )
    .await;
    drain(&mut d, &store, "sentinel", 10).await;

    let got = rows.lock().unwrap().clone();
    let log = store
        .deliveries(Some(&id("acme")), &id("sentinel"), 10)
        .await
        .unwrap();
    let paths: Vec<String> = rx.received().iter().map(|r| r.path.clone()).collect();
    assert!(
        log.iter().all(|l| l.state == "delivered"),
        "{log:?} {paths:?}"
    );
    let ids: Vec<&str> = got.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut want: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    want.push(incident(9, "").id);
    assert_eq!(ids, want, "in order, each once, after the 413 split");
    assert_eq!(got[0]["summary"], "caf\u{e9} \u{2014} r\u{e9}seau down");
    assert!(got[0]["TimeGenerated"].as_str().unwrap().ends_with('Z'));
    let tokens = rx
        .received()
        .iter()
        .filter(|r| r.path.contains("oauth2"))
        .count();
    assert_eq!(tokens, 1, "the token is kept between rounds");
}

#[tokio::test]
async fn cef_over_http_reads_back_with_a_strict_parser() {
    let rx = Receiver::start(vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        allow_private: true,
        allow_http: true,
        heartbeat_s: 0,
        ..Settings::new(Kind::CefHttp, Target::Url(rx.url()))
    };
    let store = store_for(&dir, "cef", settings, 0).await;
    let tricky = "a|b=c\\d\nsecond line";
    queue(store.as_ref(), "cef", (0..3).map(|i| incident(i, tricky))).await;
    let mut d = dispatcher(&store, Policy::default());
    drain(&mut d, &store, "cef", 10).await;
    let got = rx.received();
    assert_eq!(got.len(), 1, "one batch");
    let text = String::from_utf8(got[0].body.clone()).unwrap();
    let lines: Vec<cef::Parsed> = text.lines().map(|l| cef::parse(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0].get("msg"), Some(tricky));
    assert_eq!(lines[0].header[6], "7", "major is 7");
    assert_eq!(
        lines[2].get("externalId"),
        Some(incident(2, "").id.as_str())
    );
}
