//! Consoles with least privilege: `vigie login` with only the login
//! credential of `vigie nats init` gets the user's own NATS credentials
//! (a key made on the user's host, a short-lived JWT the worker signs),
//! allowed only the user's tenant; the login answers, which every holder
//! of the login credential can read, are sealed; a running connection
//! renews its credentials and outlives several of their lifetimes. The
//! real worker (`--nats-dir`), the real nats-server with the deployment's
//! configuration, raw NATS clients for what the server refuses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt as _;
use vigie::bus::nats::{NatsAuth, NatsBus, UserCreds, jwt};
use vigie::bus::{Bus, Stream};
use vigie::cli::session::Saved;

use support::cluster::{NatsServer, free_port};
use support::nats_client::{raw, told};

const PASSWORD: &str = "a long test password";
/// The credentials lifetime of the renewal test.
const GRANT_TTL_S: u64 = 10;

const ENVS: &[(&str, &str)] = &[("USER", "noc"), ("VIGIE_PASSWORD", PASSWORD)];

fn vigie(dir: &Path, args: &[&str]) -> (bool, String, String) {
    support::cli::vigie_env(dir, args, ENVS)
}

fn ok(dir: &Path, args: &[&str]) -> String {
    support::cli::ok_env(dir, args, ENVS)
}

/// A deployment with tenants acme and globex and their users, its worker
/// running.
struct Deployment {
    home: tempfile::TempDir,
    nats: NatsServer,
    _worker: support::cli::KillOnDrop,
}

impl Deployment {
    fn start(grant_ttl_s: u64) -> Option<Self> {
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        let nd = h.join("nats");
        let port = free_port();
        ok(
            h,
            &[
                "nats",
                "init",
                "--dir",
                nd.to_str().unwrap(),
                "--listen",
                &format!("127.0.0.1:{port}"),
            ],
        );
        let nats = NatsServer::start_with_file(&nd.join("nats-server.conf"), port)?;
        let db = format!("sqlite:{}", h.join("v.db").display());
        for t in ["acme", "globex"] {
            ok(h, &["tenant", "create", t, "--name", t, "--database", &db]);
        }
        for (user, role, tenant) in [
            ("ana", "operator", Some("acme")),
            ("ben", "viewer", Some("acme")),
            ("gil", "operator", Some("globex")),
            ("noc", "admin", None),
        ] {
            let mut args = vec!["user", "add", user, "--role", role, "--database", &db];
            if let Some(t) = tenant {
                args.extend(["--tenant", t]);
            }
            ok(h, &args);
        }
        let ttl = format!("{grant_ttl_s}s");
        let worker =
            support::cli::secure_worker(h, &nats.url(), &db, &nd, &["--nats-grant-ttl", &ttl]);
        Some(Self {
            home,
            nats,
            _worker: worker,
        })
    }

    fn creds(&self, name: &str) -> PathBuf {
        self.home.path().join(format!("nats/creds/{name}.creds"))
    }

    /// The configuration directory of `user`.
    fn dir(&self, user: &str) -> PathBuf {
        let d = self.home.path().join(user);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// `vigie login` as `user` with the login credential (waiting for
    /// the worker to start); the saved session.
    fn login(&self, user: &str) -> Saved {
        let dir = self.dir(user);
        let login = self.creds("login");
        let args = [
            "login",
            "--nats",
            &self.nats.url(),
            "--nats-creds",
            login.to_str().unwrap(),
            "--user",
            user,
        ];
        let started = Instant::now();
        loop {
            let (good, out, err) = vigie(&dir, &args);
            if good {
                assert!(out.contains("NATS credentials of your own"), "{out}");
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "login of {user} never answered: {err}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        saved(&dir)
    }

    /// A raw client with `user`'s own credentials.
    async fn raw_as(
        &self,
        s: &Saved,
    ) -> (
        async_nats::Client,
        tokio::sync::mpsc::UnboundedReceiver<String>,
    ) {
        let g = s.grant.as_ref().expect("NATS credentials in the session");
        let file = self.home.path().join(format!("{}.creds", s.principal.user));
        std::fs::write(&file, jwt::creds_file(&g.jwt, &g.seed)).unwrap();
        raw(&self.nats.url(), &file, &g.inbox_prefix).await
    }

    /// vigie's bus as `user`, with their own credentials.
    async fn bus_as(&self, s: &Saved) -> NatsBus {
        let g = s.grant.as_ref().unwrap();
        let creds = UserCreds::new(
            nkeys::KeyPair::from_seed(&g.seed).unwrap(),
            g.jwt.clone(),
            g.inbox_prefix.clone(),
        );
        NatsBus::connect_as(&self.nats.url(), &NatsAuth::default(), &creds)
            .await
            .unwrap()
    }

    async fn worker_bus(&self) -> NatsBus {
        let auth = NatsAuth {
            creds: Some(self.creds("worker")),
            ..NatsAuth::default()
        };
        NatsBus::connect_with(&self.nats.url(), &auth)
            .await
            .unwrap()
    }
}

fn saved(dir: &Path) -> Saved {
    serde_json::from_slice(&std::fs::read(dir.join("session.json")).unwrap()).unwrap()
}

async fn api(client: &async_nats::Client, subject: &str, token: &str) -> serde_json::Value {
    let body = serde_json::json!({ "token": token, "args": {} });
    let reply = tokio::time::timeout(
        Duration::from_secs(10),
        client.request(subject.to_string(), body.to_string().into()),
    )
    .await
    .expect("an answer within 10 s")
    .expect("an answer");
    serde_json::from_slice(&reply.payload).unwrap()
}

/// Whether `follow` of `filter` by `bus` delivers, within 3 s, exactly
/// the events of `want` among those published.
async fn next_event(f: &mut Box<dyn vigie::bus::Follower>) -> Option<String> {
    tokio::time::timeout(Duration::from_secs(3), f.next())
        .await
        .ok()
        .flatten()
        .map(|m| m.subject)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_own_credentials_reach_only_their_tenant_and_login_answers_are_sealed() {
    let Some(d) = Deployment::start(120) else {
        return;
    };
    let url = d.nats.url();

    // Someone holding the login credential listens to every login answer.
    let (eavesdropper, _) = raw(&url, &d.creds("login"), "_INBOX.login").await;
    let mut heard = eavesdropper.subscribe("_INBOX.login.>").await.unwrap();
    eavesdropper.flush().await.unwrap();

    let ana = d.login("ana");
    let ben = d.login("ben");
    let noc = d.login("noc");
    assert_eq!(ana.principal.tenant.as_ref().unwrap().as_str(), "acme");
    let (ag, bg) = (ana.grant.as_ref().unwrap(), ben.grant.as_ref().unwrap());
    assert_ne!(
        ag.inbox_prefix, bg.inbox_prefix,
        "each user has an inbox of their own"
    );
    let lasts = (ag.expires - chrono::Utc::now()).num_seconds();
    assert!(lasts <= 120, "short-lived: {lasts} s");

    // What the eavesdropper heard of ben's login: sealed, nothing usable.
    let mut answers = Vec::new();
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(1), heard.next()).await {
        answers.push(String::from_utf8_lossy(&m.payload).into_owned());
    }
    assert!(answers.len() >= 3, "{answers:?}");
    for a in &answers {
        for secret in [&ben.token, &bg.jwt, &ana.token, &ag.jwt] {
            assert!(!a.contains(secret.as_str()), "a login answer leaked: {a}");
        }
        if !a.contains("\"error\"") {
            assert!(a.starts_with("{\"sealed\""), "{a}");
            assert!(!a.contains("ben") && !a.contains("acme"), "{a}");
        }
    }

    // A login that brings no keys is refused: its answer would be heard.
    let bare = serde_json::json!({ "args": { "user": "ana", "password": PASSWORD } });
    let reply = eavesdropper
        .request("vigie.api._all.login", bare.to_string().into())
        .await
        .unwrap();
    let reply: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
    assert_eq!(reply["error"]["code"], "bad-request", "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap().contains("keys"));

    // The login credential can do nothing but log in.
    let (login_only, mut told_login) = raw(&url, &d.creds("login"), "_INBOX.login").await;
    login_only
        .publish("vigie.api._all.snapshot", Bytes::new())
        .await
        .unwrap();
    told(&mut told_login, "vigie.api._all.snapshot").await;
    login_only
        .publish("vigie.api.acme.whoami", Bytes::new())
        .await
        .unwrap();
    told(&mut told_login, "vigie.api.acme.whoami").await;
    let _s = login_only.subscribe("vigie.>").await.unwrap();
    told(&mut told_login, "vigie.>").await;

    // Ana's own credentials: her tenant's api, nothing of anyone else's.
    let (mine, mut told_ana) = d.raw_as(&ana).await;
    let me = api(&mine, "vigie.api.acme.whoami", &ana.token).await;
    assert_eq!(me["ok"]["user"], "ana", "{me}");
    for subject in [
        "vigie.api.globex.whoami",
        "vigie.api._all.snapshot",
        "vigie.tel.acme.rtr-1.metrics",
        "$JS.API.STREAM.INFO.VIGIE_EVENTS",
        "$JS.API.STREAM.PURGE.VIGIE_TELEMETRY",
    ] {
        mine.publish(subject, Bytes::new()).await.unwrap();
        told(&mut told_ana, subject).await;
    }
    let bens_inbox = format!("{}.>", bg.inbox_prefix);
    for subject in [
        "vigie.evt.>",
        "_INBOX.login.>",
        "_INBOX.>",
        bens_inbox.as_str(),
    ] {
        let _s = mine.subscribe(subject.to_string()).await.unwrap();
        told(&mut told_ana, subject).await;
    }

    // Events: ana follows acme's and is refused globex's; noc sees both.
    let worker = d.worker_bus().await;
    for (i, t) in ["acme", "globex", "acme"].iter().enumerate() {
        worker
            .publish(
                &format!("vigie.evt.{t}.device"),
                &format!("e-{i}"),
                Bytes::from_static(b"{}"),
            )
            .await
            .unwrap();
    }
    let ana_bus = d.bus_as(&ana).await;
    let mut acme = ana_bus
        .follow(Stream::Events, "vigie.evt.acme.>", 1)
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut acme).await.as_deref(),
        Some("vigie.evt.acme.device")
    );
    assert_eq!(
        next_event(&mut acme).await.as_deref(),
        Some("vigie.evt.acme.device")
    );
    assert_eq!(next_event(&mut acme).await, None, "only acme's events");
    assert!(
        ana_bus
            .follow(Stream::Events, "vigie.evt.globex.>", 1)
            .await
            .is_err(),
        "ana followed globex's events"
    );
    assert!(
        ana_bus
            .follow(Stream::Events, "vigie.evt.>", 1)
            .await
            .is_err(),
        "ana followed every tenant's events"
    );
    let noc_bus = d.bus_as(&noc).await;
    let mut all = noc_bus
        .follow(Stream::Events, "vigie.evt.>", 1)
        .await
        .unwrap();
    let mut seen = Vec::new();
    while let Some(s) = next_event(&mut all).await {
        seen.push(s);
    }
    assert!(
        seen.contains(&"vigie.evt.globex.device".to_string()),
        "{seen:?}"
    );
    // A provider-wide user asks at any tenant's subject.
    let (noc_raw, _) = d.raw_as(&noc).await;
    let globex = api(&noc_raw, "vigie.api.globex.whoami", &noc.token).await;
    assert_eq!(globex["ok"]["user"], "noc", "{globex}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_connection_renews_its_credentials_and_outlives_them() {
    let Some(d) = Deployment::start(GRANT_TTL_S) else {
        return;
    };
    let first = d.login("ana");
    let dir = d.dir("ana");

    // The credentials ran out while nothing ran: the next command renews
    // them through the login credential before it connects.
    tokio::time::sleep(Duration::from_secs(GRANT_TTL_S + 1)).await;
    let login = d.creds("login");
    let out = ok(
        &dir,
        &[
            "dump",
            "fleet",
            "--nats",
            &d.nats.url(),
            "--nats-creds",
            login.to_str().unwrap(),
        ],
    );
    assert!(out.trim_start().starts_with('['), "{out}");
    let renewed = saved(&dir);
    assert_ne!(
        renewed.grant.as_ref().unwrap().jwt,
        first.grant.as_ref().unwrap().jwt
    );

    // A connection as ana lasts three lifetimes of her credentials and
    // keeps answering and following her tenant's events throughout.
    let paths = vigie::settings::Paths {
        config_dir: dir.clone(),
        data_dir: dir.clone(),
        state_dir: dir.clone(),
    };
    let auth = NatsAuth {
        creds: Some(login),
        ..NatsAuth::default()
    };
    let conn = vigie::cli::connect::as_user(&paths, &d.nats.url(), &auth)
        .await
        .unwrap();
    let worker = d.worker_bus().await;
    let mut events = conn
        .bus
        .follow(Stream::Events, "vigie.evt.acme.>", 1)
        .await
        .unwrap();
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < Duration::from_secs(3 * GRANT_TTL_S) {
        n += 1;
        worker
            .publish(
                "vigie.evt.acme.device",
                &format!("r-{n}"),
                Bytes::from_static(b"{}"),
            )
            .await
            .unwrap();
        // A request caught by the reconnection after a renewal is asked again.
        let mut answered = None;
        for _ in 0..3 {
            match vigie::api::call::<vigie::api::verbs::Whoami>(
                conn.bus.as_ref(),
                &conn.token,
                "acme",
                &vigie::api::args::NoArgs {},
                Duration::from_secs(2),
            )
            .await
            {
                Ok(me) => {
                    answered = Some(me);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
        assert_eq!(
            answered.map(|p| p.user),
            Some("ana".to_string()),
            "no answer {} s in",
            started.elapsed().as_secs()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Every event published throughout reached the follower, in order.
    let mut got = 0;
    while got < n {
        let m = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("events kept coming across renewals")
            .expect("the follower stays open");
        assert_eq!(m.subject, "vigie.evt.acme.device");
        got += 1;
    }
    let later = saved(&dir);
    assert_ne!(
        later.grant.as_ref().unwrap().jwt,
        renewed.grant.as_ref().unwrap().jwt,
        "the running connection saved what it renewed"
    );
}
