//! Config push latencies on loopback, with the real `vigie worker` and real
//! `vigie agent` processes (file driver) on a nats-server of the
//! benchmark's own:
//!
//! - push → applied: from the `push_create` request to the `applied` push
//!   event reaching a follower of the events stream, which is how the
//!   console learns it (it then redraws within one frame, 50 ms at 20 fps);
//! - revert after the deadline: from the agent's deadline to the file
//!   holding its old bytes again, and to the `reverted` event.
//!
//! `cargo bench --bench push` (env `ROUNDS`, default 30; `AGENTS`,
//! default 5).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use vigie::api::call_value;
use vigie::bus::event::{Event, EventBody};
use vigie::bus::nats::NatsBus;
use vigie::bus::{Bus, Follower, Stream};
use vigie::domain::Id;
use vigie::domain::push::{Push, PushState};
use vigie::orders::SigningKey;

#[path = "support/nats.rs"]
mod nats;
use nats::Nats;

fn env_or<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The secret the bench's worker signs sessions with.
const SESSION_KEY: &str = "vigie-bench-session-secret-0123456789";

fn spawn(args: &[&str], log: &Path) -> Killed {
    let err = std::fs::File::create(log).unwrap();
    Killed(
        Command::new(env!("CARGO_BIN_EXE_vigie"))
            .args(args)
            .env("VIGIE_SESSION_KEY", "env:VIGIE_BENCH_SESSION_KEY")
            .env("VIGIE_BENCH_SESSION_KEY", SESSION_KEY)
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap(),
    )
}

/// Reads push events until every push of `ids` reached `state`; returns
/// when each did (events of other pushes are skipped).
async fn events(
    follower: &mut Box<dyn Follower>,
    ids: &[Id],
    state: &str,
) -> std::collections::HashMap<Id, (Instant, DateTime<Utc>, Push)> {
    let mut seen = std::collections::HashMap::new();
    while seen.len() < ids.len() {
        let m = tokio::time::timeout(Duration::from_secs(30), follower.next())
            .await
            .expect("push event within 30 s")
            .expect("events stream open");
        let Ok(e) = serde_json::from_slice::<Event>(&m.payload) else {
            continue;
        };
        if let EventBody::Push(p) = e.body
            && ids.contains(&p.id)
            && p.state.name() == state
        {
            seen.insert(p.id.clone(), (Instant::now(), Utc::now(), p));
        }
    }
    seen
}

async fn event(follower: &mut Box<dyn Follower>, id: &Id, state: &str) -> (Instant, Push) {
    let mut all = events(follower, std::slice::from_ref(id), state).await;
    let (at, _, p) = all.remove(id).expect("the event");
    (at, p)
}

fn quantiles(mut v: Vec<f64>) -> String {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let q = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    format!(
        "n={} p50 {:.1} ms · p95 {:.1} ms · max {:.1} ms",
        v.len(),
        q(0.5),
        q(0.95),
        q(1.0)
    )
}

#[tokio::main]
async fn main() {
    let rounds: usize = env_or("ROUNDS", 30);
    let agents: usize = env_or("AGENTS", 5);
    let nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("vigie.db").display());
    let inv = vigie::sim::plan(3, 200).inventory;
    // The worker signs sessions with SESSION_KEY; the bench logs in as a
    // provider-wide administrator it creates.
    let token = {
        let store = vigie::store::open(&db).await.unwrap();
        store.migrate().await.unwrap();
        store.import_inventory(&inv).await.unwrap();
        let now = chrono::Utc::now();
        vigie::admin::users::ensure_local_admin(store.as_ref(), "bench", now)
            .await
            .unwrap();
        vigie::auth::Sessions::new(SESSION_KEY.as_bytes(), chrono::Duration::hours(1))
            .issue("bench", now)
            .0
    };

    let tenant = inv.devices[0].tenant.clone();
    let devices: Vec<Id> = inv
        .devices
        .iter()
        .filter(|d| d.tenant == tenant)
        .take(agents)
        .map(|d| d.id.clone())
        .collect();
    let key_file = dir.path().join("signing.key");
    let key = SigningKey::generate_into(&key_file).unwrap();
    let url = nats.url();
    let _worker = spawn(
        &[
            "worker",
            "--nats",
            &url,
            "--database",
            &db,
            "--signing-key",
            key_file.to_str().unwrap(),
        ],
        &dir.path().join("worker.log"),
    );
    let mut files: Vec<PathBuf> = Vec::new();
    let mut _agents = Vec::new();
    for (i, d) in devices.iter().enumerate() {
        let file = dir.path().join(format!("dev{i}.conf"));
        std::fs::write(&file, format!("hostname {d}\r\nmtu 1500")).unwrap();
        let cfg = dir.path().join(format!("agent{i}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "tenant = \"{tenant}\"\ndevice = \"{d}\"\nnats = \"{url}\"\nstate_dir = \"{}\"\n\
                 heartbeat_s = 5\nmetrics_s = 30\ntrusted_keys = [\"{}\"]\n\
                 [driver]\nkind = \"file\"\npath = \"{}\"\n",
                dir.path().join(format!("state{i}")).display(),
                key.public_base64(),
                file.display()
            ),
        )
        .unwrap();
        _agents.push(spawn(
            &["agent", "--config", cfg.to_str().unwrap()],
            &dir.path().join(format!("agent{i}.log")),
        ));
        files.push(file);
    }
    let bus = NatsBus::connect_and_setup(&url).await.unwrap();
    let token = token.as_str();
    let api = |verb: &'static str, body: Value| {
        let bus = &bus;
        let t = tenant.to_string();
        async move {
            call_value::<Value>(
                bus as &dyn Bus,
                token,
                &t,
                verb,
                body,
                Duration::from_secs(10),
            )
            .await
            .unwrap()
        }
    };
    // The worker is up when its api answers.
    let until = Instant::now() + Duration::from_secs(30);
    while call_value::<Value>(
        &bus,
        token,
        tenant.as_str(),
        "push_list",
        json!({}),
        Duration::from_secs(1),
    )
    .await
    .is_err()
    {
        assert!(Instant::now() < until, "worker api not up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let from = bus.last_seq(Stream::Events).await.unwrap() + 1;
    let mut follower = bus
        .follow(Stream::Events, &format!("vigie.evt.{tenant}.push"), from)
        .await
        .unwrap();

    // push → applied, one push at a time, each confirmed before the next.
    let mut applied_ms = Vec::new();
    for r in 0..rounds {
        let d = &devices[r % devices.len()];
        let started = Instant::now();
        let p: Push = serde_json::from_value(
            api(
                "push_create",
                json!({ "device": d, "body": format!("hostname {d}\nmtu {}\n", 1500 + r),
                        "reason": "bench", "window_s": 60 }),
            )
            .await,
        )
        .unwrap();
        let (at, _) = event(&mut follower, &p.id, "applied").await;
        applied_ms.push(at.duration_since(started).as_secs_f64() * 1e3);
        api("push_confirm", json!({ "push": p.id })).await;
        event(&mut follower, &p.id, "confirmed").await;
    }
    println!("push → applied event: {}", quantiles(applied_ms));

    // Revert after the deadline: every agent at once, window 5 s.
    let mut restored_ms = Vec::new();
    let mut reverted_ms = Vec::new();
    let rounds_revert: usize = env_or("REVERT_ROUNDS", 2);
    for _ in 0..rounds_revert {
        let mut pending = Vec::new();
        for (i, d) in devices.iter().enumerate() {
            let old = std::fs::read(&files[i]).unwrap();
            let p: Push = serde_json::from_value(
                api(
                    "push_create",
                    json!({ "device": d, "body": "mtu 9000\n", "reason": "bench revert",
                            "window_s": 5 }),
                )
                .await,
            )
            .unwrap();
            pending.push((i, p.id, old));
        }
        let ids: Vec<Id> = pending.iter().map(|(_, id, _)| id.clone()).collect();
        let applied = events(&mut follower, &ids, "applied").await;
        let deadline = |id: &Id| match applied[id].2.state {
            PushState::Applied { deadline } => deadline,
            _ => unreachable!(),
        };
        // Poll every file; each is stamped when first seen restored.
        let mut restored = std::collections::HashMap::new();
        while restored.len() < pending.len() {
            for (i, id, old) in &pending {
                if !restored.contains_key(id) && std::fs::read(&files[*i]).is_ok_and(|b| &b == old)
                {
                    restored.insert(id.clone(), Utc::now());
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        for (id, at) in &restored {
            restored_ms.push((*at - deadline(id)).num_microseconds().unwrap_or(0) as f64 / 1e3);
        }
        for (id, (_, at, _)) in events(&mut follower, &ids, "reverted").await {
            reverted_ms.push((at - deadline(&id)).num_microseconds().unwrap_or(0) as f64 / 1e3);
        }
    }
    println!(
        "deadline → file restored (upper bound): {}",
        quantiles(restored_ms)
    );
    println!("deadline → reverted event: {}", quantiles(reverted_ms));
}
