//! The target of the adversary suite: the real `vigie worker` on a
//! nats-server of its own and a PostgreSQL schema of its own, with two
//! tenants' fleets, a signing key, and a raw NATS client that speaks the
//! wire protocol as a hostile party would, without vigie's client code.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};
use vigie::domain::Id;
use vigie::domain::access::Role;
use vigie::domain::model::Inventory;
use vigie::store::Store;
use vigie::store::postgres::PgStore;

use super::cluster::{NatsServer, WorkerProc};
use super::services::{PgSchema, pg_schema};

/// Secrets every target's logs are searched for.
pub const PASSWORD: &str = "correct-horse-battery-staple";

pub struct Target {
    pub nats: NatsServer,
    pub schema: PgSchema,
    pub store: Arc<dyn Store>,
    pub inv: Inventory,
    pub worker: WorkerProc,
    /// A plain NATS connection: no vigie code between the test and the wire.
    pub raw: async_nats::Client,
    pub tenant_a: Id,
    pub tenant_b: Id,
    _keys: tempfile::TempDir,
}

impl Target {
    /// Starts everything, or `None` (skipped) when a service is missing
    /// outside CI.
    pub async fn start(extra: &[&str]) -> Option<Self> {
        Self::start_on(NatsServer::start()?, None, extra).await
    }

    /// The same on a given server, dialled at `nats_url` when given.
    pub async fn start_on(
        nats: NatsServer,
        nats_url: Option<String>,
        extra: &[&str],
    ) -> Option<Self> {
        Self::start_with(nats, nats_url, 120, extra).await
    }

    /// With a fleet of about `devices` devices.
    pub async fn start_sized(devices: usize, extra: &[&str]) -> Option<Self> {
        Self::start_with(NatsServer::start()?, None, devices, extra).await
    }

    async fn start_with(
        nats: NatsServer,
        nats_url: Option<String>,
        devices: usize,
        extra: &[&str],
    ) -> Option<Self> {
        let schema = pg_schema().await?;
        let pg = PgStore::connect_with(schema.options.clone()).await.unwrap();
        pg.migrate().await.unwrap();
        let inv = vigie::sim::plan(21, devices).inventory;
        pg.import_inventory(&inv).await.unwrap();
        let store: Arc<dyn Store> = Arc::new(pg);
        let tenant_a = inv.tenants[0].id.clone();
        let tenant_b = inv.tenants[1].id.clone();
        let keys = tempfile::tempdir().unwrap();
        let key = keys.path().join("signing.key");
        vigie::orders::SigningKey::generate_into(&key).unwrap();
        let url = nats_url.unwrap_or_else(|| nats.url());
        let mut args: Vec<String> = vec!["--signing-key".into(), key.display().to_string()];
        args.extend(extra.iter().map(|s| (*s).to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let worker = WorkerProc::spawn_with(&url, &schema.url(), "adversary", &args);
        // On a server with authentication the raw client logs in as the
        // user the URL names.
        let raw = if url.contains('@') {
            connect_raw(&url).await
        } else {
            async_nats::connect(nats.url()).await.unwrap()
        };
        let t = Self {
            nats,
            schema,
            store,
            inv,
            worker,
            raw,
            tenant_a,
            tenant_b,
            _keys: keys,
        };
        t.wait_ready().await;
        Some(t)
    }

    /// Waits until the worker answers api requests.
    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let answer = self
                .ask_raw(
                    &format!("vigie.api.{}.whoami", self.tenant_a),
                    json!({ "args": null }),
                    Duration::from_millis(500),
                )
                .await;
            if answer.is_some() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the worker never answered; its log:\n{}",
                self.worker.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A raw request on `subject` answered in the default inbox; `None`
    /// when nothing answered in time.
    pub async fn ask_raw(&self, subject: &str, body: Value, within: Duration) -> Option<Value> {
        let bytes = Bytes::from(serde_json::to_vec(&body).unwrap());
        let req = async_nats::Request::new()
            .payload(bytes)
            .timeout(Some(within));
        let m = self.raw.send_request(subject.to_string(), req).await.ok()?;
        serde_json::from_slice(&m.payload).ok()
    }

    /// A verb with a token: the answer (`{"ok": …}` or `{"error": …}`).
    pub async fn ask(&self, token: &str, scope: &str, verb: &str, args: Value) -> Value {
        let subject = format!("vigie.api.{scope}.{verb}");
        self.ask_raw(
            &subject,
            json!({ "token": token, "args": args }),
            Duration::from_secs(20),
        )
        .await
        .unwrap_or_else(|| panic!("{subject}: no answer; worker log:\n{}", self.worker.log()))
    }

    /// A new user with `role` (in `tenant`, or provider-wide) and a token.
    pub async fn user(&self, name: &str, role: Role, tenant: Option<&Id>) -> String {
        super::auth::token_for(self.store.as_ref(), name, role, tenant).await
    }

    /// Devices of `tenant`.
    pub fn devices_of(&self, tenant: &Id) -> Vec<Id> {
        self.inv
            .devices
            .iter()
            .filter(|d| d.tenant == *tenant)
            .map(|d| d.id.clone())
            .collect()
    }

    /// Publishes raw bytes to JetStream with a message id.
    pub async fn publish(&self, subject: &str, msg_id: &str, payload: Vec<u8>) {
        self.try_publish(subject, msg_id, payload)
            .await
            .unwrap_or_else(|e| panic!("{subject}: {e}"));
    }

    /// The same, saying why the server refused it.
    pub async fn try_publish(
        &self,
        subject: &str,
        msg_id: &str,
        payload: Vec<u8>,
    ) -> Result<(), String> {
        let js = async_nats::jetstream::new(self.raw.clone());
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", msg_id);
        js.publish_with_headers(subject.to_string(), headers, Bytes::from(payload))
            .await
            .map_err(|e| e.to_string())?
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Messages in a stream now.
    pub async fn stream_messages(&self, stream: &str) -> Option<u64> {
        let js = async_nats::jetstream::new(self.raw.clone());
        let mut s = js.get_stream(stream).await.ok()?;
        Some(s.info().await.ok()?.state.messages)
    }

    /// Fails when a secret the suite used appears in the worker's log.
    pub fn assert_log_keeps_secrets(&self, more: &[&str]) {
        let log = self.worker.log();
        for secret in [PASSWORD, super::auth::SECRET].iter().chain(more) {
            assert!(
                !log.contains(secret),
                "the worker's log holds a secret ({secret}):\n{log}"
            );
        }
    }
}

async fn connect_raw(url: &str) -> async_nats::Client {
    let (user, pass, addr) = url
        .strip_prefix("nats://")
        .and_then(|r| r.split_once('@'))
        .and_then(|(info, host)| {
            let (u, p) = info.split_once(':')?;
            Some((u.to_string(), p.to_string(), format!("nats://{host}")))
        })
        .expect("a URL with user:password");
    async_nats::ConnectOptions::with_user_and_password(user, pass)
        .connect(addr)
        .await
        .unwrap()
}

/// The `error.code` of an answer, if it is an error.
pub fn code(answer: &Value) -> Option<&str> {
    answer["error"]["code"].as_str()
}

/// Writes an executable shell script and returns its path.
pub fn script(dir: &std::path::Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}
