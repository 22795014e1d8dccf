//! `vigie outbound` as an MSSP's admin uses it, and the real `vigie
//! worker` delivering: a destination added from the command line (bad
//! settings named, secrets never echoed, shown as a fingerprint), a test
//! event queued by `vigie outbound test` and delivered by the running
//! worker to a receiver on the loopback that checks its signature, the
//! delivery log, pause, resume, removal, and the audit trail intact.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::cli::KillOnDrop;
use support::cluster::NatsServer;
use support::receiver::Receiver;

const SECRET: &str = "a-soc-webhook-secret-of-the-test";

const ENVS: &[(&str, &str)] = &[("USER", "noc")];

/// `vigie outbound ARGS --database DB` in `dir`.
fn outbound(dir: &Path, db: &str, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["outbound"];
    all.extend_from_slice(args);
    all.extend(["--database", db]);
    support::cli::vigie_env(dir, &all, ENVS)
}

/// The same, which must succeed: its output.
fn ok(dir: &Path, db: &str, args: &[&str]) -> String {
    let (good, out, err) = outbound(dir, db, args);
    assert!(good, "vigie outbound {args:?}: {out}{err}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_added_from_the_command_line_gets_its_test_event_from_the_worker() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let rx = Receiver::start(vec![]).await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let db = format!("sqlite:{}", h.join("v.db").display());
    support::cli::keys_and_tenant(h, &db, "acme", ENVS);
    let secret = h.join("soc.secret");
    std::fs::write(&secret, SECRET).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let secret_spec = format!("file:{}", secret.display());
    let add = |tenant: &str, kind: &str, extra: &[&str]| {
        let mut args = vec!["add", "--tenant", tenant, "soc", "--kind", kind];
        args.extend_from_slice(extra);
        outbound(h, &db, &args)
    };
    let refused = |tenant: &str, kind: &str, extra: &[&str], want: &str| {
        let (good, _, err) = add(tenant, kind, extra);
        assert!(!good && err.contains(want), "{extra:?}: {err}");
        err
    };

    // Refusals name what is wrong, and never echo a secret.
    let url = rx.url();
    refused(
        "acme",
        "webhook",
        &["--url", &url, "--secret", &secret_spec],
        "https:// only",
    );
    let hook = "https://soc.example/hook";
    let err = refused(
        "acme",
        "webhook",
        &["--url", hook, "--secret", "hunter2-hunter2-hunter2"],
        "env:VAR or file:PATH",
    );
    assert!(!err.contains("hunter2-hunter2-hunter2"), "{err}");
    refused("acme", "webhook", &["--url", hook], "webhook needs one");
    refused("acme", "smoke", &["--url", hook], "splunk-hec");
    refused(
        "nobody",
        "webhook",
        &["--url", hook, "--secret", "env:X"],
        "no tenant nobody",
    );

    // Options of one kind are refused on another; a SIEM's are kept.
    refused(
        "acme",
        "webhook",
        &["--url", hook, "--secret", "env:X", "--hec-ack"],
        "hec: not an option of webhook",
    );
    refused(
        "acme",
        "azure-logs",
        &["--url", hook, "--secret", "env:X", "--azure-tenant-id", "t"],
        "go together",
    );
    let (good, out, err) = outbound(
        h,
        &db,
        &[
            "add",
            "--tenant",
            "acme",
            "splunk",
            "--kind",
            "splunk-hec",
            "--url",
            "https://splunk.example:8088/services/collector/event",
            "--secret",
            "env:HEC_TOKEN",
            "--hec-ack",
            "--hec-index",
            "soc",
            "--batch-size",
            "250",
            "--paused",
        ],
    );
    assert!(good, "{out}{err}");
    let shown: serde_json::Value =
        serde_json::from_str(&ok(h, &db, &["show", "--tenant", "acme", "splunk"])).unwrap();
    assert_eq!(shown["hec"]["ack"], true);
    assert_eq!(shown["hec"]["index"], "soc");
    assert_eq!(shown["batch_size"], 250);
    let (good, out, err) = outbound(
        h,
        &db,
        &[
            "add",
            "--tenant",
            "acme",
            "arcsight",
            "--kind",
            "cef-syslog",
            "--host",
            "siem.example",
            "--port",
            "6514",
            "--tls-ca",
            "/etc/ssl/siem-ca.pem",
            "--cef-vendor",
            "Acme",
            "--cef-product",
            "Vigie",
            "--syslog-format",
            "rfc3164",
            "--paused",
        ],
    );
    assert!(good, "{out}{err}");
    let shown: serde_json::Value =
        serde_json::from_str(&ok(h, &db, &["show", "--tenant", "acme", "arcsight"])).unwrap();
    assert_eq!(shown["syslog"]["format"], "rfc3164");
    assert_eq!(shown["syslog"]["ca_file"], "/etc/ssl/siem-ca.pem");
    assert_eq!(shown["cef"]["vendor"], "Acme");
    for gone in ["splunk", "arcsight"] {
        ok(h, &db, &["remove", "--tenant", "acme", gone]);
    }

    // Added; listed with where its secret is read and a fingerprint.
    let allowed = [
        "--url",
        &url,
        "--secret",
        &secret_spec,
        "--allow-http",
        "--allow-private",
    ];
    let (good, out, err) = add("acme", "webhook", &allowed);
    assert!(good, "{out}{err}");
    let list = ok(h, &db, &["list"]);
    assert!(!list.contains(SECRET), "{list}");
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(v[0]["target"], url.as_str());
    assert_eq!(v[0]["secrets"][0]["from"], secret_spec.as_str());
    assert_eq!(
        v[0]["secrets"][0]["fingerprint"].as_str().unwrap().len(),
        16
    );
    assert_eq!(v[0]["breaker"]["state"], "closed");

    // The worker sends what `vigie outbound test` queued.
    let _worker = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_vigie"))
            .args(["worker", "--nats", &nats.url(), "--database", &db])
            .envs(support::auth::worker_env())
            .env("VIGIE_CONFIG_DIR", h)
            .env("VIGIE_DATA_DIR", h)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let soc = ["--tenant", "acme", "soc"];
    let with = |verb: &'static str| -> Vec<&str> {
        let mut a = vec![verb];
        a.extend_from_slice(&soc);
        a
    };
    let queued: serde_json::Value = serde_json::from_str(&ok(h, &db, &with("test"))).unwrap();
    let event = queued["queued"].as_str().unwrap().to_string();
    // Tests among what arrives (a heartbeat comes too, at the first round).
    let tests = || {
        rx.received()
            .into_iter()
            .filter(|r| r.header("x-vigie-event") == "delivery.test")
            .collect::<Vec<_>>()
    };
    let started = Instant::now();
    let got = loop {
        if let Some(r) = tests().into_iter().next() {
            break r;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the worker never sent the test event"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(got.header("x-vigie-event"), "delivery.test");
    assert_eq!(got.header("x-vigie-delivery"), event);
    let ts: i64 = got.header("x-vigie-timestamp").parse().unwrap();
    assert!(vigie::domain::outbound::sign::verify_vigie(
        SECRET.as_bytes(),
        ts,
        &got.body,
        got.header("x-vigie-signature"),
        chrono::Utc::now().timestamp()
    ));
    let started = Instant::now();
    loop {
        let log: serde_json::Value =
            serde_json::from_str(&ok(h, &db, &with("deliveries"))).unwrap();
        let ours = log
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["event"] == event.as_str());
        if let Some(l) = ours.filter(|l| l["state"] == "delivered") {
            assert_eq!(l["event"].as_str(), Some(event.as_str()));
            assert_eq!(l["last_status"].as_u64(), Some(200));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{log}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Paused: queued, not sent; resumed: sent.
    ok(h, &db, &with("pause"));
    ok(h, &db, &with("test"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(tests().len(), 1, "a paused destination sent");
    assert!(
        rx.received()
            .iter()
            .any(|r| r.header("x-vigie-event") == "delivery.heartbeat"),
        "no heartbeat"
    );
    ok(h, &db, &with("resume"));
    let started = Instant::now();
    while tests().len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "nothing sent after resuming"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ok(h, &db, &with("remove"));
    assert_eq!(ok(h, &db, &["list"]).trim(), "[]");
    let (good, _, err) = outbound(h, &db, &with("show"));
    assert!(!good && err.contains("no destination soc"), "{err}");
    // Every change is in acme's audit trail, which is intact.
    let admin = |args: &[&str]| support::cli::ok_env(h, args, ENVS);
    let trail = admin(&["audit", "export", "--tenant", "acme", "--database", &db]);
    for action in [
        "outbound.add",
        "outbound.pause",
        "outbound.resume",
        "outbound.remove",
    ] {
        assert!(trail.contains(action), "{action} not audited");
    }
    assert!(admin(&["audit", "verify", "--database", &db]).contains("intact"));
}
