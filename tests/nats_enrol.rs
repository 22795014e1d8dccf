//! Enrolment with one-time codes, as an MSP and a managed host would do
//! it: `vigie enrol create` on the worker's host, `vigie agent enrol` on
//! the device with only the bootstrap credential, the real worker (with
//! `--nats-dir`) answering, nats-server with the configuration of
//! `vigie nats init`. A used, expired or unknown code is refused with its
//! reason and audited; the bootstrap credential can do nothing else; the
//! enrolled agent reaches only its own subjects until it is revoked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;

use support::cluster::{NatsServer, free_port};
use support::nats_client::{raw, told};

const ENVS: &[(&str, &str)] = &[("USER", "noc")];

fn vigie(dir: &Path, args: &[&str]) -> (bool, String, String) {
    support::cli::vigie_env(dir, args, ENVS)
}

fn ok(dir: &Path, args: &[&str]) -> String {
    support::cli::ok_env(dir, args, ENVS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_enrols_with_a_one_time_code_and_gets_only_its_own_rights() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let nats_dir = h.join("nats");
    let nd = nats_dir.to_str().unwrap();
    let port = free_port();
    ok(
        h,
        &[
            "nats",
            "init",
            "--dir",
            nd,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ],
    );
    let Some(nats) = NatsServer::start_with_file(&nats_dir.join("nats-server.conf"), port) else {
        return;
    };
    let url = nats.url();
    let db = format!("sqlite:{}", h.join("v.db").display());
    support::cli::keys_and_tenant(h, &db, "acme", ENVS);
    let fleet = h.join("fleet.csv");
    std::fs::write(
        &fleet,
        "tenant,site,site_name,lat,lon,device,device_name,kind\nacme,hq,HQ,39.7,-105.2,rtr-1,Core,router\n",
    )
    .unwrap();
    ok(
        h,
        &[
            "inventory",
            "import",
            fleet.to_str().unwrap(),
            "--database",
            &db,
        ],
    );

    // A code for a device that is not in the inventory is refused unless
    // it says where to create it.
    let (good, _, err) = vigie(
        h,
        &[
            "enrol",
            "create",
            "--tenant",
            "acme",
            "--device",
            "ghost",
            "--database",
            &db,
        ],
    );
    assert!(!good && err.contains("no device ghost of acme"), "{err}");
    let code = ok(
        h,
        &[
            "enrol",
            "create",
            "--tenant",
            "acme",
            "--device",
            "rtr-1",
            "--database",
            &db,
        ],
    );
    let code = code.trim().to_string();
    assert_eq!(code.len(), 32, "{code}");

    let _worker = support::cli::secure_worker(h, &url, &db, &nats_dir, &[]);
    let bootstrap = nats_dir.join("creds/bootstrap.creds");
    let agent_dir = h.join("agent");
    let enrol = |code: &str, dir: &Path| {
        vigie(
            h,
            &[
                "agent",
                "enrol",
                "--nats",
                &url,
                "--nats-creds",
                bootstrap.to_str().unwrap(),
                "--code",
                code,
                "--state-dir",
                dir.to_str().unwrap(),
            ],
        )
    };
    // The worker may still be starting: nobody answers yet.
    let started = Instant::now();
    let out = loop {
        let (good, out, err) = enrol(&code, &agent_dir);
        if good {
            break out;
        }
        assert!(
            err.contains("nobody serves") || err.contains("no responders"),
            "{err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the worker never served enrolments"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(out.contains("enrolled as device rtr-1 of acme"), "{out}");
    let creds = agent_dir.join("agent.creds");
    for f in [&creds, &agent_dir.join("agent.toml")] {
        assert_eq!(
            std::fs::metadata(f).unwrap().permissions().mode() & 0o777,
            0o600,
            "{}",
            f.display()
        );
    }
    let cfg = vigie::agent::config::AgentConfig::load(&agent_dir.join("agent.toml")).unwrap();
    assert_eq!(
        (cfg.tenant.as_str(), cfg.device.as_str()),
        ("acme", "rtr-1")
    );
    assert_eq!(cfg.auth.creds.as_deref(), Some(creds.as_path()));

    // The code is spent; an expired one and an unknown one are refused.
    let (good, _, err) = enrol(&code, &h.join("again"));
    assert!(!good && err.contains("was used already"), "{err}");
    let store = vigie::store::open(&db).await.unwrap();
    let now = chrono::Utc::now();
    let stale = vigie::domain::enrolment::code_from(&[7; 16]);
    let e = vigie::domain::enrolment::Enrolment {
        tenant: vigie::domain::Id::parse("acme").unwrap(),
        device: vigie::domain::Id::parse("rtr-1").unwrap(),
        site: None,
        kind: None,
        created_by: "test".into(),
        created_at: now - chrono::Duration::hours(2),
        expires_at: now - chrono::Duration::hours(1),
    };
    let audit = vigie::domain::audit::AuditEntry::new(
        &e.tenant,
        now,
        "test",
        "enrol.create",
        "device/rtr-1".into(),
    );
    let hash =
        vigie::domain::enrolment::code_hash(&vigie::domain::enrolment::normalize(&stale).unwrap());
    store.create_enrolment(&hash, &e, &audit).await.unwrap();
    let (good, _, err) = enrol(&stale, &h.join("stale"));
    assert!(!good && err.contains("expired"), "{err}");
    let unknown = vigie::domain::enrolment::code_from(&[9; 16]);
    let (good, _, err) = enrol(&unknown, &h.join("unknown"));
    assert!(!good && err.contains("no such enrolment code"), "{err}");
    let (good, _, err) = enrol("not a code", &h.join("bad"));
    assert!(!good && err.contains("no such enrolment code"), "{err}");

    // The bootstrap credential can only ask.
    let (b, mut b_events) = raw(&url, &bootstrap, "_INBOX.enrol").await;
    for subject in [
        "vigie.tel.acme.rtr-1.metrics",
        "vigie.api._all.login",
        "$JS.API.STREAM.INFO.VIGIE_TELEMETRY",
    ] {
        b.publish(subject, Bytes::from_static(b"{}")).await.unwrap();
        b.flush().await.unwrap();
        told(
            &mut b_events,
            &format!("Permissions Violation for Publish to \"{subject}\""),
        )
        .await;
    }

    // The enrolled agent: its own telemetry, nothing of another device.
    let (agent, mut events) = raw(&url, &creds, "_INBOX.agent-acme-rtr-1").await;
    let ack = agent
        .request("vigie.tel.acme.rtr-1.heartbeat", Bytes::from_static(b"{}"))
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&ack.payload).contains("VIGIE_TELEMETRY"));
    agent
        .publish("vigie.tel.acme.rtr-2.heartbeat", Bytes::from_static(b"{}"))
        .await
        .unwrap();
    agent.flush().await.unwrap();
    told(
        &mut events,
        "Permissions Violation for Publish to \"vigie.tel.acme.rtr-2.heartbeat\"",
    )
    .await;

    // Revoked: dropped now, refused after, and audited.
    let out = ok(
        h,
        &[
            "device",
            "revoke",
            "--nats-dir",
            nd,
            "--nats",
            &url,
            "--tenant",
            "acme",
            "--device",
            "rtr-1",
            "--database",
            &db,
        ],
    );
    assert!(out.contains("revoked 1 credential"), "{out}");
    told(&mut events, "disconnected").await;
    let again = async_nats::ConnectOptions::with_credentials_file(&creds)
        .await
        .unwrap()
        .connect(&url)
        .await;
    assert!(again.is_err(), "a revoked agent connected again");

    ok(h, &["keys", "show"]);
    let trail = ok(
        h,
        &["audit", "export", "--tenant", "acme", "--database", &db],
    );
    for action in [
        "enrol.create",
        "enrol.redeem",
        "enrol.refused",
        "device.revoke",
    ] {
        assert!(trail.contains(action), "{action} not in the audit log");
    }
    assert!(
        trail.contains("used already") && trail.contains("expired"),
        "the refusals' reasons are not audited"
    );
    assert!(
        !trail.contains(&code),
        "the code itself reached the audit log"
    );
}
