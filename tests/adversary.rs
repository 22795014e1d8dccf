//! The adversary suite: a hostile party attacks the real `vigie worker`
//! (on a nats-server and a PostgreSQL schema of the test's own) with raw
//! NATS requests and raw SQL, with the lowest roles and the credentials
//! docs/OPERATIONS.md hands out. One test per hole the security review
//! found; each failed before its fix. Under `CI=true` none may skip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};
use vigie::bus::envelope::{Envelope, MsgId, encode};
use vigie::domain::access::Role;
use vigie::domain::telemetry::{Metrics, PushOutcome, PushReport, Telemetry};
use vigie::store::{Scope, Store as _};

use support::adversary::{Target, code, script};

async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Critical 1: a wallboard of tenant B walks snapshot ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallboard_cannot_walk_snapshot_ids_into_another_principals_snapshot() {
    let Some(t) = Target::start(&[]).await else {
        return;
    };
    let provider = t.user("noc-lead", Role::SuperAdmin, None).await;
    let wall_b = t.user("wall-b", Role::Wallboard, Some(&t.tenant_b)).await;
    // The provider takes an all-tenant snapshot, paged so that it is kept.
    let first = t
        .ask(&provider, "_all", "snapshot", json!({ "limit": 1 }))
        .await;
    let id = first["ok"]["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32, "128 random bits: {id}");
    let total = first["ok"]["total"].as_u64().unwrap();
    assert!(total > 1);
    let own = t
        .ask(
            &provider,
            "_all",
            "snapshot_page",
            json!({ "id": id, "offset": 1 }),
        )
        .await;
    assert!(own["ok"]["devices"].is_array(), "{own}");
    // Tenant B's wallboard tries the provider's id, small ids, and its own
    // snapshot's neighbours, in its scope and in the provider's.
    let b = t.tenant_b.to_string();
    let mut guesses: Vec<String> = (0..64).map(|i| i.to_string()).collect();
    guesses.push(id.clone());
    for guess in &guesses {
        let a = t
            .ask(
                &wall_b,
                &b,
                "snapshot_page",
                json!({ "id": guess, "offset": 0 }),
            )
            .await;
        assert_eq!(code(&a), Some("not-found"), "id {guess}: {a}");
        let a = t
            .ask(&wall_b, "_all", "snapshot_page", json!({ "id": guess }))
            .await;
        assert!(a.get("ok").is_none(), "id {guess} in _all: {a}");
    }
    t.assert_log_keeps_secrets(&[]);
}

/// Critical 2: a request without a token whose reply subject is a
/// JetStream api subject, so that the worker's answer would purge the
/// telemetry stream with the worker's rights.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_subject_outside_the_inbox_prefix_is_never_answered() {
    let Some(t) = Target::start(&[]).await else {
        return;
    };
    let a = t.tenant_a.clone();
    let device = t.devices_of(&a)[0].clone();
    for i in 0..5 {
        let env = metrics(&a, &device, &format!("keep-{i}"), 10.0);
        t.publish(&env.subject(), env.id.as_str(), encode(&env))
            .await;
    }
    let before = t.stream_messages("VIGIE_TELEMETRY").await.unwrap();
    assert!(before >= 5);
    let hostile = [
        "$JS.API.STREAM.PURGE.VIGIE_TELEMETRY",
        "$JS.API.STREAM.DELETE.VIGIE_EVENTS",
        "$JS.API.CONSUMER.DELETE.VIGIE_TELEMETRY.adversary",
        "vigie.tel.x.y.metrics",
        "vigie.ord.x.y",
        "_INBOX",
        "_INBOXES.steal",
        "_INBOX.*",
    ];
    for reply in hostile {
        for verb in ["whoami", "login", "snapshot"] {
            t.raw
                .publish_with_reply(
                    format!("vigie.api.{a}.{verb}"),
                    reply.to_string(),
                    br#"{"args":{"user":"x","password":"y"}}"#.to_vec().into(),
                )
                .await
                .unwrap();
        }
    }
    t.raw.flush().await.unwrap();
    let refused = hostile.len() as u64 * 3;
    eventually(
        "every hostile request counted",
        Duration::from_secs(10),
        || async { t.worker.metric("vigie_api_replies_refused_total") == Some(refused) },
    )
    .await;
    assert_eq!(t.stream_messages("VIGIE_TELEMETRY").await, Some(before));
    assert!(t.stream_messages("VIGIE_EVENTS").await.is_some());
    // An honest request is still answered.
    let honest = t
        .ask_raw(
            &format!("vigie.api.{a}.whoami"),
            json!({ "args": null }),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(code(&honest), Some("unauthenticated"));
    t.assert_log_keeps_secrets(&[]);
}

/// High 3: 200 concurrent wrong passwords, and names of a megabyte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_is_throttled_and_costs_bounded_memory() {
    let Some(t) = Target::start(&[]).await else {
        return;
    };
    vigie::admin::users::add(
        t.store.as_ref(),
        "ana",
        Some(&t.tenant_a),
        Role::Operator,
        support::adversary::PASSWORD,
        "test",
        Utc::now(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (idle, _) = t.worker.rss_kib();
    let subject = "vigie.api._all.login".to_string();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let raw = t.raw.clone();
        let subject = subject.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({ "args": { "user": "ana", "password": format!("guess-{i}") } });
            let req = async_nats::Request::new()
                .payload(serde_json::to_vec(&body).unwrap().into())
                .timeout(Some(Duration::from_secs(60)));
            let m = raw.send_request(subject, req).await.ok()?;
            let v: Value = serde_json::from_slice(&m.payload).ok()?;
            code(&v).map(str::to_string)
        }));
    }
    let mut codes = Vec::new();
    for task in tasks {
        codes.push(task.await.unwrap().unwrap_or_else(|| "no answer".into()));
    }
    let throttled = codes.iter().filter(|c| *c == "throttled").count();
    let (_, peak) = t.worker.rss_kib();
    assert!(
        throttled >= 150,
        "{throttled} of 200 throttled: {:?}",
        codes.iter().collect::<std::collections::BTreeSet<_>>()
    );
    assert!(
        codes
            .iter()
            .all(|c| c == "throttled" || c == "unauthenticated"),
        "{codes:?}"
    );
    assert!(
        peak.saturating_sub(idle) < 256 * 1024,
        "peak {peak} KiB against {idle} KiB idle"
    );
    // A name of a megabyte is refused before anything is kept or hashed.
    let big = "n".repeat(1 << 20);
    let a = t
        .ask_raw(
            &subject,
            json!({ "args": { "user": big, "password": "x" } }),
            Duration::from_secs(10),
        )
        .await;
    // Over the server's max payload it never arrives; under it, refused.
    if let Some(a) = a {
        assert_eq!(code(&a), Some("bad-request"), "{a}");
    }
    let a = t
        .ask_raw(
            &subject,
            json!({ "args": { "user": "n".repeat(65), "password": "x" } }),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(code(&a), Some("bad-request"), "{a}");
    assert!(t.worker.metric("vigie_logins_throttled_total").unwrap_or(0) >= 150);
    t.assert_log_keeps_secrets(&[]);
}

/// High 4: a provider wallboard floods the worker with parallel
/// snapshots of the whole fleet while telemetry flows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_flood_costs_bounded_memory_and_loses_no_telemetry() {
    let Some(t) = Target::start_sized(4_000, &[]).await else {
        return;
    };
    let wall = t.user("noc-wall", Role::Wallboard, None).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (idle, _) = t.worker.rss_kib();
    let until = Instant::now() + Duration::from_secs(10);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let raw = t.raw.clone();
        let wall = wall.clone();
        tasks.push(tokio::spawn(async move {
            let (mut taken, mut busy) = (0u32, 0u32);
            while Instant::now() < until {
                let body = json!({ "token": wall, "args": { "limit": 500 } });
                let req = async_nats::Request::new()
                    .payload(serde_json::to_vec(&body).unwrap().into())
                    .timeout(Some(Duration::from_secs(30)));
                let Ok(m) = raw
                    .send_request("vigie.api._all.snapshot".to_string(), req)
                    .await
                else {
                    continue;
                };
                let v: Value = serde_json::from_slice(&m.payload).unwrap_or_default();
                match code(&v) {
                    None => taken += 1,
                    Some("busy") => busy += 1,
                    Some(other) => panic!("{other}: {v}"),
                }
            }
            (taken, busy)
        }));
    }
    // Telemetry goes on meanwhile, and all of it is stored.
    let a = t.tenant_a.clone();
    let device = t.devices_of(&a)[0].clone();
    let mut sent = 0;
    while Instant::now() < until {
        let env = metrics(&a, &device, &format!("flood-{sent}"), 15.0);
        t.publish(&env.subject(), env.id.as_str(), encode(&env))
            .await;
        sent += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut taken = 0;
    for task in tasks {
        taken += task.await.unwrap().0;
    }
    assert!(taken > 0, "no snapshot was ever answered");
    let (_, peak) = t.worker.rss_kib();
    assert!(
        peak.saturating_sub(idle) < 128 * 1024,
        "peak {peak} KiB against {idle} KiB idle after {taken} snapshots"
    );
    let scope = Scope::Tenant(a.clone());
    eventually("all telemetry stored", Duration::from_secs(20), || async {
        t.store
            .ingest_counts(&scope)
            .await
            .is_ok_and(|c| c.metrics >= sent)
    })
    .await;
    t.assert_log_keeps_secrets(&[]);
}

/// High 5: any agent credential of a tenant forges another device's push
/// outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_confirm_is_refused_and_a_revert_after_it_raises_the_alert() {
    let Some(t) = Target::start(&[]).await else {
        return;
    };
    let a = t.tenant_a.clone();
    let device = t.devices_of(&a)[1].clone();
    let op = t.user("op-a", Role::Operator, Some(&a)).await;
    let created = t
        .ask(
            &op,
            a.as_str(),
            "push_create",
            json!({ "device": device, "body": "hostname x\n", "reason": "test", "window_s": 300 }),
        )
        .await;
    let push = created["ok"]["id"].as_str().unwrap().to_string();
    let seq = created["ok"]["seq"].as_u64().unwrap();
    let status = || async {
        t.ask(&op, a.as_str(), "push_status", json!({ "push": push }))
            .await["ok"]
            .clone()
    };
    let report = |outcome, seq: u64, tag: &str| {
        let mut r = PushReport {
            push: Some(vigie::domain::Id::parse(&push).unwrap()),
            seq: Some(seq),
            outcome,
            reason: None,
            deadline: None,
            detail: None,
        };
        if outcome == PushOutcome::Applied {
            // A deadline years away: the worker keeps its own window.
            r.deadline = Some(Utc::now() + chrono::Duration::days(3_650));
        }
        Envelope {
            id: MsgId::parse(&format!("forged-{tag}")).unwrap(),
            ts: Utc::now() - chrono::Duration::days(365),
            tenant: a.clone(),
            device: device.clone(),
            body: Telemetry::Push(r),
        }
    };
    let t = &t;
    let send = |env: Envelope| async move {
        t.publish(&env.subject(), env.id.as_str(), encode(&env))
            .await;
    };
    send(report(PushOutcome::Applied, seq, "applied")).await;
    eventually("applied", Duration::from_secs(10), || async {
        status().await["state"] == "applied"
    })
    .await;
    let s = status().await;
    let deadline: chrono::DateTime<Utc> = serde_json::from_value(s["deadline"].clone()).unwrap();
    assert!(
        deadline <= Utc::now() + chrono::Duration::seconds(300),
        "the deadline the agent claimed was kept: {deadline}"
    );
    // A confirm nobody ordered, for the apply's sequence and the next one.
    send(report(PushOutcome::Confirmed, seq, "c1")).await;
    send(report(PushOutcome::Confirmed, seq + 1, "c2")).await;
    // Both were read, and refused in the audit log.
    let target = format!("push/{push}");
    eventually(
        "both forged confirms refused",
        Duration::from_secs(10),
        || async {
            t.store
                .audit(&Scope::Tenant(a.clone()), Some(&target), 50)
                .await
                .unwrap()
                .iter()
                .filter(|e| {
                    e.action == "push.confirmed"
                        && e.reason
                            .as_ref()
                            .is_some_and(|r| r.as_str().starts_with("refused"))
                })
                .count()
                == 2
        },
    )
    .await;
    assert_eq!(
        status().await["state"],
        "applied",
        "a forged confirm was taken"
    );
    // The operator confirms for real; the device answers that order.
    let c = t
        .ask(&op, a.as_str(), "push_confirm", json!({ "push": push }))
        .await;
    let confirm_seq = c["ok"]["confirm_seq"].as_u64().unwrap();
    send(report(PushOutcome::Confirmed, confirm_seq, "c3")).await;
    eventually("confirmed", Duration::from_secs(10), || async {
        status().await["state"] == "confirmed"
    })
    .await;
    // The device says it reverted after all: recorded, and alerted.
    send(report(PushOutcome::Reverted, seq, "r1")).await;
    eventually("reverted", Duration::from_secs(10), || async {
        status().await["state"] == "reverted"
    })
    .await;
    eventually(
        "push-unconfirmed alert",
        Duration::from_secs(10),
        || async {
            let alerts = t
                .ask(&op, a.as_str(), "alerts", json!({ "device": device }))
                .await;
            alerts["ok"]
                .as_array()
                .is_some_and(|l| l.iter().any(|x| x["rule"] == "push-unconfirmed"))
        },
    )
    .await;
    // Audit entries carry the worker's time, not the device's claim.
    let audit = t
        .store
        .audit(&Scope::Tenant(a.clone()), None, 50)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .filter(|e| e.actor.as_str().starts_with("agent:"))
            .all(|e| e.at > Utc::now() - chrono::Duration::hours(1)),
        "an audit entry took the device's clock"
    );
    t.assert_log_keeps_secrets(&[]);
}

/// High 6: an apply tool that echoes a 217 KB configuration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_that_echoes_a_large_configuration_never_hangs() {
    use vigie::agent::config::DriverConfig;
    use vigie::agent::driver::Driver;
    let dir = tempfile::tempdir().unwrap();
    let echo = script(dir.path(), "apply", "cat; cat /dev/null >&2");
    let driver = Driver::new(
        DriverConfig::Command {
            read: vec!["true".into()],
            apply: vec![echo.display().to_string()],
            revert: vec!["true".into()],
        },
        Duration::from_secs(20),
    );
    let body: Vec<u8> = (0..217 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    let started = Instant::now();
    let done = tokio::time::timeout(Duration::from_secs(30), driver.apply(&body)).await;
    assert!(matches!(done, Ok(Ok(()))), "{done:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
    // A tool that never ends, with a helper holding its pipes: killed
    // whole at the timeout.
    let pid_file = dir.path().join("helper.pid");
    let stuck = script(
        dir.path(),
        "stuck",
        &format!(
            "(sleep 300) & echo $! > {}; cat > /dev/null; wait",
            pid_file.display()
        ),
    );
    let driver = Driver::new(
        DriverConfig::Command {
            read: vec!["true".into()],
            apply: vec![stuck.display().to_string()],
            revert: vec!["true".into()],
        },
        Duration::from_secs(2),
    );
    let started = Instant::now();
    let e = driver.apply(&body).await.unwrap_err();
    assert!(e.contains("did not finish"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let helper = std::fs::read_to_string(&pid_file).unwrap();
    // Gone, or dead and waiting to be reaped by whoever adopted it.
    let state =
        std::fs::read_to_string(format!("/proc/{}/stat", helper.trim())).unwrap_or_default();
    let running = state
        .rsplit_once(") ")
        .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X'));
    assert!(!running, "the helper outlived its command: {state}");
}

/// Medium 8: an 800 KB non-UTF-8 message, a 120 KB one, and subjects of
/// the wrong shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_dead_lettered_and_its_batch_goes_on() {
    let Some(t) = Target::start(&[]).await else {
        return;
    };
    let a = t.tenant_a.clone();
    let device = t.devices_of(&a)[2].clone();
    let mut good = 0;
    for i in 0..30 {
        let env = metrics(&a, &device, &format!("before-{i}"), 20.0);
        t.publish(&env.subject(), env.id.as_str(), encode(&env))
            .await;
        good += 1;
    }
    // 800 KB: refused to its publisher by the stream itself.
    let huge: Vec<u8> = (0..800_000u32).map(|i| (i % 251) as u8 | 0x80).collect();
    let e = t
        .try_publish(&format!("vigie.tel.{a}.{device}.metrics"), "poison-0", huge)
        .await
        .unwrap_err();
    assert!(e.contains("maximum") || e.contains("size"), "{e}");
    // 120 KB of non-UTF-8: stored, then dead-lettered with its size and
    // digest, cut to fit.
    let poison: Vec<u8> = (0..120_000u32).map(|i| (i % 251) as u8 | 0x80).collect();
    let digest = ring::digest::digest(&ring::digest::SHA256, &poison);
    let sha: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    t.publish(
        &format!("vigie.tel.{a}.{device}.metrics"),
        "poison-1",
        poison,
    )
    .await;
    let stray = metrics(&a, &device, "stray", 30.0);
    t.publish(
        &format!("{}.extra", stray.subject()),
        stray.id.as_str(),
        encode(&stray),
    )
    .await;
    for i in 0..30 {
        let env = metrics(&a, &device, &format!("after-{i}"), 20.0);
        t.publish(&env.subject(), env.id.as_str(), encode(&env))
            .await;
        good += 1;
    }
    eventually("both dead letters", Duration::from_secs(20), || async {
        t.stream_messages("VIGIE_DLQ").await.unwrap_or(0) >= 2
    })
    .await;
    let js = async_nats::jetstream::new(t.raw.clone());
    let dlq = js.get_stream("VIGIE_DLQ").await.unwrap();
    let mut letters = Vec::new();
    for seq in 1..=2 {
        let m = dlq.get_raw_message(seq).await.unwrap();
        letters.push(serde_json::from_slice::<Value>(&m.payload).unwrap());
    }
    let big = letters
        .iter()
        .find(|l| l["payload_bytes"] == 120_000)
        .unwrap_or_else(|| panic!("{letters:?}"));
    assert_eq!(big["payload_sha256"], sha);
    assert_eq!(big["payload_truncated"], true);
    assert!(
        letters
            .iter()
            .any(|l| l["subject"].as_str().is_some_and(|s| s.ends_with(".extra"))),
        "{letters:?}"
    );
    eventually(
        "the good messages stored",
        Duration::from_secs(20),
        || async {
            t.store
                .ingest_counts(&Scope::All)
                .await
                .is_ok_and(|c| c.metrics >= good)
        },
    )
    .await;
    assert_eq!(t.worker.metric("vigie_batches_failed_total"), Some(0));
    t.assert_log_keeps_secrets(&[]);
}

/// Medium 10: secrets in URLs never reach a log line or an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_or_token_reaches_a_log_line() {
    let nats_password = "n4ts-pa55word-adversary";
    let Some(nats) = support::cluster::NatsServer::start_with_config(|_| {
        format!("authorization {{ user: vigie, password: \"{nats_password}\" }}\n")
    }) else {
        return;
    };
    let url = format!("nats://vigie:{nats_password}@127.0.0.1:{}", nats.port);
    let port = nats.port;
    let Some(t) = Target::start_on(nats, Some(url), &[]).await else {
        return;
    };
    let ok = t.user("ops", Role::Viewer, Some(&t.tenant_a)).await;
    assert!(!ok.is_empty());
    // A client with a wrong password, and one with a token.
    let dir = tempfile::tempdir().unwrap();
    for bad in [
        format!("nats://vigie:wrong-{nats_password}@127.0.0.1:{port}"),
        format!("nats://tok-{nats_password}@127.0.0.1:{port}"),
        format!("nats://127.0.0.1:{port}?token=q-{nats_password}"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
            .args([
                "dump",
                "fleet",
                "--tenant",
                t.tenant_a.as_str(),
                "--nats",
                &bad,
            ])
            .env("VIGIE_CONFIG_DIR", dir.path())
            .env("VIGIE_DATA_DIR", dir.path())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{text}");
        assert!(!text.contains(nats_password), "{bad}: {text}");
    }
    t.assert_log_keeps_secrets(&[nats_password]);
}

fn metrics(
    tenant: &vigie::domain::Id,
    device: &vigie::domain::Id,
    tag: &str,
    cpu: f32,
) -> Envelope {
    Envelope {
        id: MsgId::parse(&format!("adv-{tag}-{}", Utc::now().timestamp_micros())).unwrap(),
        ts: Utc::now(),
        tenant: tenant.clone(),
        device: device.clone(),
        body: Telemetry::Metrics(Metrics {
            cpu_pct: cpu,
            mem_pct: 40.0,
            rx_bps: 1_000,
            tx_bps: 1_000,
            temp_c: None,
        }),
    }
}

/// Medium 11: arguments and telemetry out of every bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_arguments_are_refused_naming_the_field() {
    let Some(t) = Target::start(&[]).await else {
        return;
    };
    let a = t.tenant_a.clone();
    let device = t.devices_of(&a)[3].clone();
    let op = t.user("op-bounds", Role::Operator, Some(&a)).await;
    let refused = |answer: &Value, field: &str| {
        assert_eq!(code(answer), Some("bad-request"), "{answer}");
        let m = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(m.contains(field), "{field}: {answer}");
    };
    // An unbounded page is the default page.
    let page = t.ask(&op, a.as_str(), "fleet", json!({ "limit": 0 })).await;
    assert!(page["ok"]["rows"].as_array().unwrap().len() <= 1_000);
    let big = t
        .ask(
            &op,
            a.as_str(),
            "fleet",
            json!({ "limit": 4_000_000_000u32 }),
        )
        .await;
    refused(&big, "limit");
    let long = "x".repeat(10_000);
    let x = t
        .ask(&op, a.as_str(), "fleet", json!({ "text": long }))
        .await;
    refused(&x, "text");
    let x = t
        .ask(&op, a.as_str(), "audit", json!({ "target": long }))
        .await;
    refused(&x, "target");
    for verb in ["incidents", "alerts", "audit", "push_list", "trends"] {
        let a = t
            .ask(&op, a.as_str(), verb, json!({ "limit": 4_294_967_295u32 }))
            .await;
        refused(&a, "limit");
    }
    for until in ["0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"] {
        let x = t
            .ask(&op, a.as_str(), "trends", json!({ "until": until }))
            .await;
        refused(&x, "until");
        let x = t
            .ask(
                &op,
                a.as_str(),
                "device",
                json!({ "device": device, "until": until }),
            )
            .await;
        refused(&x, "until");
        let x = t
            .ask(
                &op,
                a.as_str(),
                "signal",
                json!({ "device": device, "since": "2026-01-01T00:00:00Z", "until": until }),
            )
            .await;
        refused(&x, "until");
    }
    let year = t
        .ask(
            &op,
            a.as_str(),
            "signal",
            json!({ "device": device, "since": "2025-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z" }),
        )
        .await;
    refused(&year, "since..until");
    // The diff's "previous" text follows the configuration's rules.
    let p = t
        .ask(
            &op,
            a.as_str(),
            "push_create",
            json!({ "device": device, "body": "ok\n", "reason": "x", "previous": "a\u{1b}[2Jb" }),
        )
        .await;
    refused(&p, "previous");
    // A note is stored whole up to its limit.
    let note = "n".repeat(4_000);
    let entry = vigie::domain::audit::AuditEntry::new(
        &a,
        Utc::now(),
        "ana",
        "incident.note",
        "incident/x".into(),
    )
    .because(note.as_str());
    t.store.append_audit(&entry).await.unwrap();
    let back = t
        .store
        .audit(&Scope::Tenant(a.clone()), Some("incident/x"), 1)
        .await
        .unwrap();
    assert_eq!(
        back[0].reason.as_ref().map(|r| r.as_str().len()),
        Some(4_000)
    );
    // Telemetry out of bounds: dead-lettered, naming the field.
    let ts = Utc::now().to_rfc3339();
    let bad = [
        (
            "body.interval_s",
            format!(
                r#"{{"v":1,"id":"b1","ts":"{ts}","tenant":"{a}","device":"{device}","kind":"heartbeat","body":{{"uptime_s":1,"interval_s":4000000000}}}}"#
            ),
            "heartbeat",
        ),
        (
            "ts",
            format!(
                r#"{{"v":1,"id":"b2","ts":"0000-01-01T00:00:00Z","tenant":"{a}","device":"{device}","kind":"heartbeat","body":{{"uptime_s":1}}}}"#
            ),
            "heartbeat",
        ),
        (
            "body.tx_rate_mbps",
            format!(
                r#"{{"v":1,"id":"b3","ts":"{ts}","tenant":"{a}","device":"{device}","kind":"signal","body":{{"peer":"{device}","rssi_dbm":-60,"tx_rate_mbps":1e39}}}}"#
            ),
            "signal",
        ),
    ];
    for (_, body, kind) in &bad {
        let subject = format!("vigie.tel.{a}.{device}.{kind}");
        t.publish(
            &subject,
            &format!("bad-{}", body.len()),
            body.clone().into_bytes(),
        )
        .await;
    }
    eventually("three dead letters", Duration::from_secs(20), || async {
        t.stream_messages("VIGIE_DLQ").await.unwrap_or(0) >= 3
    })
    .await;
    let js = async_nats::jetstream::new(t.raw.clone());
    let dlq = js.get_stream("VIGIE_DLQ").await.unwrap();
    let mut errors = Vec::new();
    for seq in 1..=3 {
        let m = dlq.get_raw_message(seq).await.unwrap();
        let v: Value = serde_json::from_slice(&m.payload).unwrap();
        errors.push(v["error"].as_str().unwrap_or_default().to_string());
    }
    for (field, _, _) in &bad {
        assert!(
            errors.iter().any(|e| e.contains(field)),
            "{field}: {errors:?}"
        );
    }
    t.assert_log_keeps_secrets(&[]);
}

/// Medium 13: a deleted tenant's telemetry keeps coming, and its id is
/// taken again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_tenant_stays_deleted_and_its_id_is_never_reused() {
    let Some(t) = Target::start(&[]).await else {
        return;
    };
    let b = t.tenant_b.clone();
    let device = t.devices_of(&b)[0].clone();
    let scope = Scope::Tenant(b.clone());
    for i in 0..5 {
        let env = metrics(&b, &device, &format!("pre-{i}"), 10.0);
        t.publish(&env.subject(), env.id.as_str(), encode(&env))
            .await;
    }
    eventually("stored", Duration::from_secs(20), || async {
        t.store
            .ingest_counts(&scope)
            .await
            .is_ok_and(|c| c.metrics >= 5)
    })
    .await;
    let tenant = t
        .store
        .tenants()
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.id == b)
        .unwrap();
    vigie::admin::tenants::delete(t.store.as_ref(), &b, true, "test", Utc::now())
        .await
        .unwrap();
    // The device goes on reporting while the worker runs.
    let deadline = Instant::now() + Duration::from_secs(12);
    let mut i = 0;
    while Instant::now() < deadline {
        let env = metrics(&b, &device, &format!("post-{i}"), 10.0);
        t.publish(&env.subject(), env.id.as_str(), encode(&env))
            .await;
        i += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // One sweep later nothing of the tenant is stored any more.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let left = t.store.ingest_counts(&scope).await.unwrap();
    assert_eq!(left.metrics, 0, "samples of a deleted tenant: {left:?}");
    assert!(
        t.store
            .fleet_page(&scope, &Default::default())
            .await
            .unwrap()
            .rows
            .is_empty()
    );
    // A new tenant with the same id would continue the old audit chain.
    let again = vigie::admin::tenants::create(t.store.as_ref(), &tenant, "test", Utc::now()).await;
    let e = again.unwrap_err().to_string();
    assert!(e.contains("deleted tenant"), "{e}");
    let mut inv = vigie::domain::model::Inventory::default();
    inv.tenants.push(tenant);
    let e = t
        .store
        .import_inventory(&inv)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("deleted tenant"), "{e}");
    t.assert_log_keeps_secrets(&[]);
}

/// Medium 14: streams without limits let any publisher fill the disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stream_is_bounded_and_clients_cannot_unbound_it() {
    let Some(t) = Target::start(&[]).await else {
        return;
    };
    let js = async_nats::jetstream::new(t.raw.clone());
    let limits = vigie::bus::StreamLimits::default();
    for stream in vigie::bus::Stream::ALL {
        let mut s = js.get_stream(stream.name()).await.unwrap();
        let c = s.info().await.unwrap().config.clone();
        assert_eq!(
            c.max_bytes as u64,
            limits.max_bytes(stream),
            "{}",
            stream.name()
        );
        assert!(c.max_message_size > 0, "{}", stream.name());
        assert!(c.max_age > Duration::ZERO, "{}", stream.name());
    }
    let mut tel = js.get_stream("VIGIE_TELEMETRY").await.unwrap();
    assert_eq!(
        tel.info().await.unwrap().config.max_messages_per_subject,
        100_000
    );
    // A client that connects (a console, an agent) leaves the worker's
    // settings as they are, even when they differ from its defaults.
    let mut cfg = tel.info().await.unwrap().config.clone();
    cfg.max_bytes = 123 << 20;
    js.update_stream(cfg).await.unwrap();
    vigie::bus::nats::NatsBus::connect_and_setup(&t.nats.url())
        .await
        .unwrap();
    let mut tel = js.get_stream("VIGIE_TELEMETRY").await.unwrap();
    assert_eq!(tel.info().await.unwrap().config.max_bytes, 123 << 20);
    t.assert_log_keeps_secrets(&[]);
}

/// High 7: two vigie installations in one PostgreSQL cluster. The
/// database user of one (granted its installation's roles, as
/// docs/OPERATIONS.md tells a DBA) tries to read the other's users and
/// password hashes and to disable its super_admin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_installations_database_user_cannot_reach_another_installation() {
    use sqlx::Connection as _;
    use vigie::store::postgres::PgStore;
    let Some(mine) = support::services::pg_schema().await else {
        return;
    };
    let Some(theirs) = support::services::pg_schema().await else {
        return;
    };
    let a = PgStore::connect_with(mine.options.clone()).await.unwrap();
    let b = PgStore::connect_with(theirs.options.clone()).await.unwrap();
    a.migrate().await.unwrap();
    b.migrate().await.unwrap();
    vigie::admin::users::ensure_local_admin(&b, "their-admin", Utc::now())
        .await
        .unwrap();
    let (a_app, a_provider) = a.roles().await.unwrap();
    let (b_app, b_provider) = b.roles().await.unwrap();
    assert_ne!(a_app, b_app);
    assert_ne!(a_provider, b_provider);
    // Installation A's login user: its roles and nothing else.
    let login = format!("inst_{}", mine.name);
    let mut dba = sqlx::PgConnection::connect(&support::services::database_url())
        .await
        .unwrap();
    let exec = |sql: String| sqlx::query(sqlx::AssertSqlSafe(sql));
    exec(format!("CREATE ROLE {login} LOGIN"))
        .execute(&mut dba)
        .await
        .unwrap();
    exec(format!("GRANT {a_app}, {a_provider} TO {login}"))
        .execute(&mut dba)
        .await
        .unwrap();
    let url = support::services::database_url()
        .replace("postgres://postgres@", &format!("postgres://{login}@"));
    let mut attacker = sqlx::PgConnection::connect(&url).await.unwrap();
    let try_sql = |sql: String| sqlx::query(sqlx::AssertSqlSafe(sql));
    // As each role it has, and as the roles every installation once shared.
    for role in [
        a_app.as_str(),
        a_provider.as_str(),
        "vigie_app",
        "vigie_provider",
        b_provider.as_str(),
    ] {
        let became = try_sql(format!("SET ROLE {role}"))
            .execute(&mut attacker)
            .await;
        if role.starts_with(&a_app[..18]) {
            became.unwrap();
        } else {
            assert!(became.is_err(), "{login} became {role}");
            continue;
        }
        for sql in [
            format!("SELECT name, password_hash FROM {}.users", theirs.name),
            format!("UPDATE {}.users SET disabled = true", theirs.name),
            format!("SELECT * FROM {}.audit_log", theirs.name),
        ] {
            let e = try_sql(sql.clone())
                .execute(&mut attacker)
                .await
                .unwrap_err();
            assert!(
                e.to_string().contains("permission denied"),
                "{role}: {sql}: {e}"
            );
        }
        try_sql("RESET ROLE".into())
            .execute(&mut attacker)
            .await
            .unwrap();
    }
    drop(attacker);
    exec(format!("DROP OWNED BY {login}"))
        .execute(&mut dba)
        .await
        .unwrap();
    exec(format!("DROP ROLE {login}"))
        .execute(&mut dba)
        .await
        .unwrap();
}

/// Medium 9: the app role deletes its tenant's audit head; verify used to
/// skip the tenant and pass a tampered entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_head_cannot_be_deleted_and_verify_finds_a_missing_one() {
    use sqlx::Connection as _;
    let Some(t) = Target::start(&[]).await else {
        return;
    };
    let a = t.tenant_a.clone();
    for i in 0..3 {
        let e = vigie::domain::audit::AuditEntry::new(
            &a,
            Utc::now(),
            "ana",
            "push.create",
            format!("push/{i}"),
        );
        t.store.append_audit(&e).await.unwrap();
    }
    let mut c = sqlx::PgConnection::connect_with(&t.schema.options)
        .await
        .unwrap();
    for role in ["app_role", "provider_role"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT set_config('role', {role}, false) FROM vigie_installation"
        )))
        .execute(&mut c)
        .await
        .unwrap();
        sqlx::query("BEGIN").execute(&mut c).await.unwrap();
        sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
            .bind(a.as_str())
            .execute(&mut c)
            .await
            .unwrap();
        let e = sqlx::query("DELETE FROM audit_head WHERE tenant_id = $1")
            .bind(a.as_str())
            .execute(&mut c)
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("permission denied") || e.to_string().contains("audit head"),
            "{role}: {e}"
        );
        sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
        sqlx::query("RESET ROLE").execute(&mut c).await.unwrap();
    }
    // The owner (an intruder with the database) deletes it anyway and
    // changes an entry: vigie audit verify says so and fails.
    for sql in [
        "ALTER TABLE audit_head DISABLE TRIGGER audit_head_guard",
        "DELETE FROM audit_head",
        "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut c)
            .await
            .unwrap();
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["audit", "verify", "--database", &t.schema.url()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("BROKEN") && text.contains(a.as_str()),
        "{text}"
    );
    t.assert_log_keeps_secrets(&[]);
}
