//! Config push end to end: the real `vigie worker` and the real
//! `vigie agent` (file driver) on a nats-server of the test's own.
//!
//! Under `CI=true` a missing nats-server fails these tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use serde_json::{Value, json};
use vigie::api::{ApiError, call_value};
use vigie::bus::Bus;
use vigie::bus::nats::NatsBus;
use vigie::domain::Id;
use vigie::orders::{Order, OrderKind, SigningKey};

use support::cluster::{AgentProc, NatsServer, WorkerProc};

/// A worker with a signing key over an SQLite file holding a small fleet,
/// and the ids of a few devices of one tenant.
struct Rig {
    nats: NatsServer,
    dir: tempfile::TempDir,
    db: String,
    key_file: PathBuf,
    key: SigningKey,
    worker: Option<WorkerProc>,
    bus: Arc<dyn Bus>,
    tenant: Id,
    devices: Vec<Id>,
    /// The session of operator `ana` of the tenant.
    token: String,
}

impl Rig {
    async fn start() -> Option<Self> {
        let nats = NatsServer::start()?;
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite:{}", dir.path().join("vigie.db").display());
        let store = vigie::store::open(&db).await.unwrap();
        store.migrate().await.unwrap();
        let inv = vigie::sim::plan(11, 60).inventory;
        store.import_inventory(&inv).await.unwrap();
        let tenant = inv.devices[0].tenant.clone();
        let token = support::auth::token_for(
            store.as_ref(),
            "ana",
            vigie::domain::access::Role::Operator,
            Some(&tenant),
        )
        .await;
        drop(store);
        let devices = inv
            .devices
            .iter()
            .filter(|d| d.tenant == tenant)
            .take(4)
            .map(|d| d.id.clone())
            .collect();
        let key_file = dir.path().join("signing.key");
        let key = SigningKey::generate_into(&key_file).unwrap();
        let bus: Arc<dyn Bus> = Arc::new(NatsBus::connect_and_setup(&nats.url()).await.unwrap());
        let mut rig = Self {
            nats,
            dir,
            db,
            key_file,
            key,
            worker: None,
            bus,
            tenant,
            devices,
            token,
        };
        rig.start_worker();
        rig.wait_api().await;
        Some(rig)
    }

    fn start_worker(&mut self) {
        let key = self.key_file.display().to_string();
        self.worker = Some(WorkerProc::spawn_with(
            &self.nats.url(),
            &self.db,
            "vigie-worker",
            &["--signing-key", &key],
        ));
    }

    async fn wait_api(&self) {
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if self.api("push_list", json!({})).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the worker's api never answered:\n{}",
            self.worker
                .as_ref()
                .map(WorkerProc::log)
                .unwrap_or_default()
        );
    }

    async fn api(&self, verb: &str, body: Value) -> Result<Value, ApiError> {
        call_value(
            self.bus.as_ref(),
            &self.token,
            self.tenant.as_str(),
            verb,
            body,
            Duration::from_secs(5),
        )
        .await
    }

    /// An agent for device `i` managing `file`, with extra driver lines.
    fn agent(&self, i: usize, file: &Path, driver_extra: &str) -> AgentProc {
        let name = format!("agent-{i}");
        let config = self.dir.path().join(format!("{name}.toml"));
        let text = format!(
            "tenant = \"{}\"\ndevice = \"{}\"\nnats = \"{}\"\nstate_dir = \"{}\"\n\
             heartbeat_s = 1\nmetrics_s = 5\ntrusted_keys = [\"{}\"]\n\
             [driver]\nkind = \"file\"\npath = \"{}\"\n{driver_extra}",
            self.tenant,
            self.devices[i],
            self.nats.url(),
            self.dir.path().join(&name).display(),
            self.key.public_base64(),
            file.display(),
        );
        std::fs::write(&config, text).unwrap();
        AgentProc::spawn(&config)
    }

    async fn create(&self, i: usize, body: &str, window_s: u32) -> Value {
        self.api(
            "push_create",
            json!({ "device": self.devices[i], "body": body, "reason": "test change",
                    "window_s": window_s }),
        )
        .await
        .unwrap()
    }

    /// Polls the push until its state is `state`.
    async fn wait_state(&self, push: &Value, state: &str, within: Duration) -> Value {
        let until = Instant::now() + within;
        let mut last = Value::Null;
        while Instant::now() < until {
            last = self
                .api("push_status", json!({ "push": push["id"] }))
                .await
                .unwrap();
            if last["state"] == state {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("push never reached {state}: {last}");
    }

    async fn audit(&self, target: &str) -> Vec<Value> {
        let v = self
            .api("audit", json!({ "target": target }))
            .await
            .unwrap();
        v.as_array().cloned().unwrap_or_default()
    }

    /// Publishes a raw order on a device's subject.
    async fn publish_order(&self, device: &Id, msg_id: &str, body: Vec<u8>) {
        self.bus
            .publish(
                &vigie::bus::subject::order(&self.tenant, device),
                msg_id,
                Bytes::from(body),
            )
            .await
            .unwrap();
    }
}

fn actions(log: &[Value]) -> Vec<String> {
    log.iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn wait_file(path: &Path, want: &[u8], within: Duration) -> Duration {
    let start = Instant::now();
    while start.elapsed() < within {
        if std::fs::read(path).is_ok_and(|b| b == want) {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "{} never held {:?}; it holds {:?}",
        path.display(),
        String::from_utf8_lossy(want),
        std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned())
    );
}

const OLD: &[u8] = b"# router\r\nhostname edge-1\r\nmtu 1500"; // CRLF, no final newline

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_then_confirm_keeps_the_new_configuration() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let file = rig.dir.path().join("edge.conf");
    std::fs::write(&file, OLD).unwrap();
    let agent = rig.agent(0, &file, "");
    let push = rig.create(0, "hostname edge-1\nmtu 9000\n", 60).await;
    assert_eq!(push["state"], "sent");
    let applied = rig
        .wait_state(&push, "applied", Duration::from_secs(20))
        .await;
    assert!(applied["deadline"].is_string(), "{applied}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        b"hostname edge-1\nmtu 9000\n"
    );
    rig.api("push_confirm", json!({ "push": push["id"] }))
        .await
        .unwrap();
    rig.wait_state(&push, "confirmed", Duration::from_secs(10))
        .await;
    assert_eq!(
        std::fs::read(&file).unwrap(),
        b"hostname edge-1\nmtu 9000\n"
    );
    let log = rig
        .audit(&format!("push/{}", push["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        actions(&log),
        [
            "push.create",
            "push.applied",
            "push.confirm",
            "push.confirmed"
        ],
        "{log:?}\n{}",
        agent.log()
    );
    assert_eq!(log[0]["reason"], "test change");
    assert_eq!(log[0]["actor"], "ana");
    // The device reported its new configuration.
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let c = rig
            .api("config_latest", json!({ "device": rig.devices[0] }))
            .await
            .unwrap();
        if c["body"] == "hostname edge-1\nmtu 9000\n" {
            break;
        }
        assert!(Instant::now() < until, "no new config snapshot: {c}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Confirming again is refused with the reason.
    let e = rig
        .api("push_confirm", json!({ "push": push["id"] }))
        .await
        .unwrap_err();
    assert_eq!(e.code, "wrong-state", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_confirm_restores_the_file_byte_for_byte_even_when_the_console_is_gone() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let file = rig.dir.path().join("edge.conf");
    std::fs::write(&file, OLD).unwrap();
    let _agent = rig.agent(0, &file, "");
    // The analyst's client: `vigie push create --wait`, killed once the push
    // is applied, as when an SSH session drops.
    let body = rig.dir.path().join("new.conf");
    std::fs::write(&body, "hostname edge-1\nmtu 9000\n").unwrap();
    let mut client = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args([
            "push",
            "--nats",
            &rig.nats.url(),
            "--tenant",
            rig.tenant.as_str(),
        ])
        .args([
            "create",
            "--device",
            rig.devices[0].as_str(),
            "--reason",
            "mtu",
        ])
        .args(["--window", "5", "--file"])
        .arg(&body)
        .env("VIGIE_TOKEN", &rig.token)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_file(
        &file,
        b"hostname edge-1\nmtu 9000\n",
        Duration::from_secs(20),
    );
    let _ = client.kill();
    let _ = client.wait();
    let list = rig.api("push_list", json!({})).await.unwrap();
    let push = list[0].clone();
    let applied = rig
        .wait_state(&push, "applied", Duration::from_secs(10))
        .await;
    let deadline: chrono::DateTime<Utc> = applied["deadline"].as_str().unwrap().parse().unwrap();
    wait_file(&file, OLD, Duration::from_secs(15));
    let late = Utc::now() - deadline;
    assert!(
        late > chrono::Duration::zero(),
        "restored before the deadline"
    );
    let done = rig
        .wait_state(&push, "reverted", Duration::from_secs(10))
        .await;
    assert_eq!(done["revert_reason"], "timeout", "{done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_inside_the_window_changes_nothing() {
    let Some(mut rig) = Rig::start().await else {
        return;
    };
    let file = rig.dir.path().join("edge.conf");
    std::fs::write(&file, OLD).unwrap();
    let _agent = rig.agent(0, &file, "");
    // A window wide enough that a loaded machine still sees the push
    // applied before it reverts.
    let push = rig.create(0, "mtu 9000\n", 12).await;
    rig.wait_state(&push, "applied", Duration::from_secs(20))
        .await;
    rig.worker.take().unwrap().kill9();
    // The device reverts on its own while no worker runs.
    wait_file(&file, OLD, Duration::from_secs(30));
    rig.start_worker();
    rig.wait_api().await;
    let done = rig
        .wait_state(&push, "reverted", Duration::from_secs(15))
        .await;
    assert_eq!(done["revert_reason"], "timeout");
    // Let a few sweeps pass: the revert is recorded once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = rig
        .audit(&format!("push/{}", push["id"].as_str().unwrap()))
        .await;
    let reverts = actions(&log)
        .iter()
        .filter(|a| a.as_str() == "push.reverted")
        .count();
    assert_eq!(reverts, 1, "{log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_restarted_inside_the_window_reverts_at_once() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let file = rig.dir.path().join("edge.conf");
    std::fs::write(&file, OLD).unwrap();
    let mut agent = rig.agent(0, &file, "");
    let push = rig.create(0, "mtu 9000\n", 300).await;
    rig.wait_state(&push, "applied", Duration::from_secs(20))
        .await;
    agent.restart();
    wait_file(&file, OLD, Duration::from_secs(10));
    let done = rig
        .wait_state(&push, "reverted", Duration::from_secs(10))
        .await;
    assert_eq!(done["revert_reason"], "restart", "{done}");
    // Manual revert of something already reverted is refused.
    let e = rig
        .api("push_revert", json!({ "push": push["id"] }))
        .await
        .unwrap_err();
    assert_eq!(e.code, "wrong-state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_replayed_expired_and_misaddressed_orders_are_refused_and_reported() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let file = rig.dir.path().join("edge.conf");
    std::fs::write(&file, OLD).unwrap();
    let agent = rig.agent(0, &file, "");
    // A genuine push first, so that the agent has a sequence.
    let push = rig.create(0, "mtu 9000\n", 60).await;
    rig.wait_state(&push, "applied", Duration::from_secs(20))
        .await;
    rig.api("push_confirm", json!({ "push": push["id"] }))
        .await
        .unwrap();
    rig.wait_state(&push, "confirmed", Duration::from_secs(10))
        .await;
    let me = rig.devices[0].clone();
    let seq = push["seq"].as_u64().unwrap();
    let order = |seq: u64, device: &Id, expires_in: i64| Order {
        tenant: rig.tenant.clone(),
        device: device.clone(),
        push: Id::parse("push-forged").unwrap(),
        seq,
        expires: Utc::now() + chrono::Duration::seconds(expires_in),
        kind: OrderKind::Apply,
        window_s: 60,
        body: "evil\n".into(),
    };
    let far = seq + 1_000_000;
    let mut tampered = order(far, &me, 60).sign(&rig.key);
    tampered.order.body = "more evil\n".into();
    let cases = [
        (
            "tampered",
            serde_json::to_vec(&tampered).unwrap(),
            "bad-signature",
        ),
        (
            "replayed",
            serde_json::to_vec(&order(seq, &me, 60).sign(&rig.key)).unwrap(),
            "replay",
        ),
        (
            "expired",
            serde_json::to_vec(&order(far + 1, &me, -5).sign(&rig.key)).unwrap(),
            "expired",
        ),
        (
            "misaddressed",
            serde_json::to_vec(&order(far + 2, &rig.devices[1], 60).sign(&rig.key)).unwrap(),
            "wrong-target",
        ),
        (
            "unknown-key",
            serde_json::to_vec(&order(far + 3, &me, 60).sign(&SigningKey::generate().unwrap()))
                .unwrap(),
            "unknown-key",
        ),
        ("garbage", b"{not json".to_vec(), "malformed"),
    ];
    for (tag, body, _) in &cases {
        rig.publish_order(&me, &format!("test-{tag}"), body.clone())
            .await;
    }
    let until = Instant::now() + Duration::from_secs(20);
    let want: Vec<&str> = cases.iter().map(|c| c.2).collect();
    loop {
        let mut log = rig.audit(&format!("device/{me}")).await;
        log.extend(rig.audit("push/push-forged").await);
        let reasons: Vec<String> = log
            .iter()
            .filter(|e| e["action"] == "order.rejected")
            .map(|e| e["reason"].as_str().unwrap_or_default().to_string())
            .collect();
        if want.iter().all(|w| reasons.iter().any(|r| r == w)) {
            break;
        }
        assert!(
            Instant::now() < until,
            "reported: {reasons:?}, wanted {want:?}\n{}",
            agent.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Nothing was applied.
    assert_eq!(std::fs::read(&file).unwrap(), b"mtu 9000\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_canary_stops_the_rollout() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let file = rig.dir.path().join("canary.conf");
    std::fs::write(&file, OLD).unwrap();
    // The canary's validator refuses everything.
    let agent = rig.agent(
        0,
        &file,
        "validate = [\"sh\", \"-c\", \"echo syntax error >&2; exit 1\"]\n",
    );
    let rollout = rig
        .api(
            "rollout_create",
            json!({ "devices": rig.devices, "body": "mtu 9000\n", "reason": "fleet mtu",
                    "window_s": 60, "wave_size": 2 }),
        )
        .await
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let s = rig
            .api("rollout_status", json!({ "rollout": rollout["id"] }))
            .await
            .unwrap();
        if s["rollout"]["state"] != "running" {
            break s;
        }
        assert!(
            Instant::now() < until,
            "still running: {s}\n{}",
            agent.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status["rollout"]["state"], "stopped", "{status}");
    let pushes = status["pushes"].as_array().unwrap();
    assert_eq!(pushes.len(), 1, "only the canary was pushed: {status}");
    assert_eq!(pushes[0]["state"], "failed");
    assert!(
        pushes[0]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("syntax error"),
        "{status}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), OLD);
}

/// High 6: an agent inside a driver that never ends still answers SIGTERM
/// at once, and the pending push is reverted at its next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_stuck_in_its_driver_answers_sigterm_and_reverts_at_restart() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let file = rig.dir.path().join("router.conf");
    std::fs::write(&file, OLD).unwrap();
    let sh = |script: String| format!("[\"sh\", \"-c\", {script:?}]");
    let config = rig.dir.path().join("stuck.toml");
    let text = format!(
        "tenant = \"{}\"\ndevice = \"{}\"\nnats = \"{}\"\nstate_dir = \"{}\"\n\
         heartbeat_s = 1\nmetrics_s = 5\ntrusted_keys = [\"{}\"]\ncommand_timeout_s = 600\n\
         [driver]\nkind = \"command\"\nread = {}\napply = {}\nrevert = {}\n",
        rig.tenant,
        rig.devices[1],
        rig.nats.url(),
        rig.dir.path().join("stuck-state").display(),
        rig.key.public_base64(),
        sh(format!("cat {}", file.display())),
        // Echoes its input, then never ends (a helper holds the pipe).
        sh("cat; (sleep 300) & sleep 300".into()),
        sh(format!("cat > {}", file.display())),
    );
    std::fs::write(&config, text).unwrap();
    let mut agent = AgentProc::spawn(&config);
    let body: String = (0..217 * 1024 / 16).map(|_| "set mtu 9000 ok\n").collect();
    rig.create(1, &body, 60).await;
    // Wait until the apply is under way: the pending push is on disk
    // before the command starts, and the command then hangs.
    let state = rig.dir.path().join("stuck-state").join("state.json");
    let until = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&state)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .is_some_and(|v| v["pending"].is_object())
    {
        assert!(
            Instant::now() < until,
            "the apply never started: {}",
            agent.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let took = agent.terminate(Duration::from_secs(10));
    assert!(
        took.is_some_and(|t| t < Duration::from_secs(5)),
        "SIGTERM waited on the driver ({took:?}); agent log:\n{}",
        agent.log()
    );
    // At its next start the pending push is reverted from the backup.
    std::fs::write(&file, b"half-applied").unwrap();
    let _again = AgentProc::spawn(&config);
    wait_file(&file, OLD, Duration::from_secs(20));
}
