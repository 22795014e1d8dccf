//! A secure NATS deployment on disk, as `vigie nats init` makes it: the
//! operator and account keys (0600), their JWTs, the nats-server
//! configuration (JetStream, vigie's account, a system account, the full
//! resolver), and credentials files for the worker, for pushing account
//! updates (the system user) and for each agent. Revoking an agent signs
//! the account again with the agent's key in its revocations and pushes it
//! to the running server, which drops the agent's connection.

use std::path::{Path, PathBuf};

use nkeys::KeyPair;
use serde::{Deserialize, Serialize};

use super::jwt::{self, JwtError, Permissions};

/// The name of vigie's account.
pub const ACCOUNT: &str = "VIGIE";
/// The name of the system account.
pub const SYSTEM: &str = "SYS";

/// The files of a deployment directory.
pub struct Deployment {
    pub dir: PathBuf,
}

/// One user a deployment issued: whom it is for and its public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issued {
    /// `worker`, `system` or `agent:<tenant>/<device>`.
    pub holder: String,
    pub key: String,
    pub at: i64,
    #[serde(default)]
    pub revoked: Option<i64>,
}

fn io(path: &Path, e: impl std::fmt::Display) -> JwtError {
    JwtError(format!("{}: {e}", path.display()))
}

/// Writes `text` to `path`, readable by its owner only.
pub fn write_secret(path: &Path, text: &str) -> Result<(), JwtError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io(path, e))?;
    f.write_all(text.as_bytes()).map_err(|e| io(path, e))
}

fn write_public(path: &Path, text: &str) -> Result<(), JwtError> {
    std::fs::write(path, text).map_err(|e| io(path, e))
}

fn read(path: &Path) -> Result<String, JwtError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| io(path, e))
}

fn seed(kp: &KeyPair) -> Result<String, JwtError> {
    kp.seed().map_err(|e| JwtError(e.to_string()))
}

impl Deployment {
    pub fn at(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.join("nats-server.conf")
    }

    pub fn creds(&self, name: &str) -> PathBuf {
        self.dir.join("creds").join(format!("{name}.creds"))
    }

    fn key(&self, name: &str) -> PathBuf {
        self.dir.join("keys").join(format!("{name}.nk"))
    }

    fn jwt(&self, name: &str) -> PathBuf {
        self.dir.join("jwt-preload").join(format!("{name}.jwt"))
    }

    fn issued_path(&self) -> PathBuf {
        self.dir.join("issued.json")
    }

    fn load_key(&self, name: &str) -> Result<KeyPair, JwtError> {
        let path = self.key(name);
        KeyPair::from_seed(&read(&path)?).map_err(|e| io(&path, e))
    }

    /// Every user issued so far.
    pub fn issued(&self) -> Result<Vec<Issued>, JwtError> {
        let path = self.issued_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| io(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io(&path, e)),
        }
    }

    fn record(&self, issued: &[Issued]) -> Result<(), JwtError> {
        let text = serde_json::to_string_pretty(issued).map_err(|e| JwtError(e.to_string()))?;
        write_secret(&self.issued_path(), &text)
    }

    /// Creates the keys, JWTs, server configuration and the worker's and
    /// system user's credentials. Refuses a directory that holds a
    /// deployment already. `listen` is the server's `host:port`.
    pub fn init(&self, listen: &str, now: i64) -> Result<(), JwtError> {
        if self.key("operator").exists() {
            return Err(JwtError(format!(
                "{} holds a deployment already (keys/operator.nk): keep it, or choose another directory",
                self.dir.display()
            )));
        }
        for sub in ["keys", "jwt-preload", "creds", "resolver", "jetstream"] {
            let d = self.dir.join(sub);
            std::fs::create_dir_all(&d).map_err(|e| io(&d, e))?;
        }
        let operator = KeyPair::new_operator();
        let system = KeyPair::new_account();
        let account = KeyPair::new_account();
        let signer = KeyPair::new_account();
        for (name, kp) in [
            ("operator", &operator),
            ("SYS", &system),
            (ACCOUNT, &account),
            ("VIGIE-signing", &signer),
        ] {
            write_secret(&self.key(name), &seed(kp)?)?;
        }
        let op_jwt = jwt::operator(&operator, "vigie", &system.public_key(), now)?;
        let sys_jwt = jwt::account(
            &operator,
            &system.public_key(),
            SYSTEM,
            false,
            &[],
            &[],
            now,
        )?;
        write_public(&self.jwt("operator"), &op_jwt)?;
        write_public(&self.jwt(SYSTEM), &sys_jwt)?;
        self.sign_account(&[], now)?;
        let acc_jwt = read(&self.jwt(ACCOUNT))?;
        write_public(
            &self.config(),
            &self.server_config(
                listen,
                &op_jwt,
                &system.public_key(),
                &sys_jwt,
                &account.public_key(),
                &acc_jwt,
            ),
        )?;
        let mut issued = Vec::new();
        issued.push(self.issue("worker", &worker_permissions(), None, now)?);
        issued.push(self.issue("bootstrap", &bootstrap_permissions(), None, now)?);
        issued.push(self.issue("login", &login_permissions(), None, now)?);
        // The system user, signed by the system account itself.
        let sys_user = KeyPair::new_user();
        let perms = Permissions {
            publish: vec!["$SYS.REQ.>".into()],
            subscribe: vec!["_INBOX.>".into()],
        };
        let sys_user_jwt = jwt::user(
            &system,
            &system.public_key(),
            &sys_user.public_key(),
            "system",
            &perms,
            now,
            None,
        )?;
        write_secret(
            &self.creds("system"),
            &jwt::creds_file(&sys_user_jwt, &seed(&sys_user)?),
        )?;
        issued.push(Issued {
            holder: "system".into(),
            key: sys_user.public_key(),
            at: now,
            revoked: None,
        });
        self.record(&issued)
    }

    fn server_config(
        &self,
        listen: &str,
        op: &str,
        sys: &str,
        sys_jwt: &str,
        acc: &str,
        acc_jwt: &str,
    ) -> String {
        let path = |p: &str| self.dir.join(p).display().to_string();
        format!(
            "# nats-server configuration written by `vigie nats init`.\n\
             # Accounts and users are JWTs: the operator signs the accounts, vigie's\n\
             # account signing key signs each user (worker, agents, consoles).\n\
             listen: \"{listen}\"\n\
             operator: \"{op}\"\n\
             system_account: {sys}\n\
             resolver: {{\n  type: full\n  dir: \"{resolver}\"\n  allow_delete: false\n  interval: \"2m\"\n}}\n\
             resolver_preload: {{\n  {sys}: \"{sys_jwt}\"\n  {acc}: \"{acc_jwt}\"\n}}\n\
             # The store's ceiling: at least the sum of the worker's stream limits\n\
             # ([streams] in vigie.toml, 11 GiB by default), which it reserves.\n\
             jetstream: {{\n  store_dir: \"{js}\"\n  max_file_store: 16GB\n}}\n",
            resolver = path("resolver"),
            js = path("jetstream"),
        )
    }

    /// Signs vigie's account again (with `revoked` user keys) into its
    /// JWT file; returns the JWT.
    fn sign_account(&self, revoked: &[(String, i64)], now: i64) -> Result<String, JwtError> {
        let operator = self.load_key("operator")?;
        let account = self.load_key(ACCOUNT)?;
        let signer = self.load_key("VIGIE-signing")?;
        let jwt = jwt::account(
            &operator,
            &account.public_key(),
            ACCOUNT,
            true,
            &[signer.public_key()],
            revoked,
            now,
        )?;
        write_public(&self.jwt(ACCOUNT), &jwt)?;
        Ok(jwt)
    }

    /// A new user of vigie's account for `holder` with `perms`, its
    /// credentials written to `creds/<file>.creds`.
    fn issue(
        &self,
        holder: &str,
        perms: &Permissions,
        expires: Option<i64>,
        now: i64,
    ) -> Result<Issued, JwtError> {
        let account = self.load_key(ACCOUNT)?;
        let signer = self.load_key("VIGIE-signing")?;
        let user = KeyPair::new_user();
        let jwt = jwt::user(
            &signer,
            &account.public_key(),
            &user.public_key(),
            holder,
            perms,
            now,
            expires,
        )?;
        let file = holder.replace([':', '/'], "-");
        write_secret(&self.creds(&file), &jwt::creds_file(&jwt, &seed(&user)?))?;
        Ok(Issued {
            holder: holder.to_string(),
            key: user.public_key(),
            at: now,
            revoked: None,
        })
    }

    /// vigie's account public key and the key that signs its users (what
    /// the worker's enrolment service needs).
    pub fn signer(&self) -> Result<(String, KeyPair), JwtError> {
        Ok((
            self.load_key(ACCOUNT)?.public_key(),
            self.load_key("VIGIE-signing")?,
        ))
    }

    /// Credentials for the agent of `device` of `tenant`: allowed only its
    /// own telemetry, its own orders consumer and its own inbox. Returns
    /// the credentials file's path.
    pub fn issue_agent(&self, tenant: &str, device: &str, now: i64) -> Result<PathBuf, JwtError> {
        let holder = format!("agent:{tenant}/{device}");
        self.issue_to(&holder, &agent_permissions(tenant, device), now)
    }

    /// Credentials for a party that is not an agent (a console of one
    /// tenant or of all, the simulator): `holder` names it, `perms` are
    /// what it may do. Returns the credentials file's path.
    pub fn issue_to(
        &self,
        holder: &str,
        perms: &Permissions,
        now: i64,
    ) -> Result<PathBuf, JwtError> {
        let issued = self.issue(holder, perms, None, now)?;
        let mut all = self.issued()?;
        all.push(issued);
        self.record(&all)?;
        Ok(self.creds(&holder.replace([':', '/'], "-")))
    }

    /// Revokes every user issued to `holder`: signs the account again and
    /// returns its JWT, for [`push_account`] to send to the server.
    pub fn revoke(
        &self,
        holder: &str,
        extra: &[String],
        now: i64,
    ) -> Result<(String, usize), JwtError> {
        let mut all = self.issued()?;
        // Keys issued elsewhere (by the worker, at enrolment) join the list.
        for key in extra {
            if !all.iter().any(|i| &i.key == key) {
                all.push(Issued {
                    holder: holder.to_string(),
                    key: key.clone(),
                    at: now,
                    revoked: None,
                });
            }
        }
        let mut n = 0;
        for i in all
            .iter_mut()
            .filter(|i| i.holder == holder && i.revoked.is_none())
        {
            i.revoked = Some(now);
            n += 1;
        }
        if n == 0 {
            return Err(JwtError(format!(
                "nothing was issued to {holder} that is not revoked already"
            )));
        }
        let revoked: Vec<(String, i64)> = all
            .iter()
            .filter_map(|i| i.revoked.map(|at| (i.key.clone(), at)))
            .collect();
        let jwt = self.sign_account(&revoked, now)?;
        self.record(&all)?;
        Ok((jwt, n))
    }
}

/// The agent's inbox prefix, which its credentials allow it to read.
pub fn agent_inbox(tenant: &str, device: &str) -> String {
    format!("_INBOX.agent-{tenant}-{device}")
}

/// What an agent may do: its telemetry up, its orders consumer down, its
/// own inbox.
pub fn agent_permissions(tenant: &str, device: &str) -> Permissions {
    let durable = format!("agent-{tenant}-{device}");
    Permissions {
        publish: vec![
            format!("vigie.tel.{tenant}.{device}.>"),
            format!("$JS.API.CONSUMER.CREATE.VIGIE_ORDERS.{durable}.vigie.ord.{tenant}.{device}"),
            format!("$JS.API.CONSUMER.INFO.VIGIE_ORDERS.{durable}"),
            format!("$JS.API.CONSUMER.MSG.NEXT.VIGIE_ORDERS.{durable}"),
            format!("$JS.ACK.VIGIE_ORDERS.{durable}.>"),
        ],
        subscribe: vec![format!("{}.>", agent_inbox(tenant, device))],
    }
}

/// What a bootstrap credential may do: ask for an enrolment and read the
/// answer, nothing else. Hosts share it; an answer is of no use without
/// the seed that stays on the host that asked.
pub fn bootstrap_permissions() -> Permissions {
    Permissions {
        publish: vec![crate::bus::subject::ENROL.into()],
        subscribe: vec![format!("{}.>", crate::bus::subject::ENROL_INBOX)],
    }
}

/// A console's inbox prefix (`scope` is a tenant or `_all`).
pub fn console_inbox(scope: &str) -> String {
    format!("_INBOX.console-{scope}")
}

/// The inbox prefix of the user whose NATS key is `nkey`: theirs alone.
pub fn user_inbox(nkey: &str) -> String {
    format!("_INBOX.{nkey}")
}

/// What a console of `scope` (a tenant, or `_all` for the provider) may
/// do: that scope's api verbs (login among them), following that scope's
/// events, and its own inbox. Never telemetry, orders or stream rights.
pub fn console_permissions(scope: &str) -> Permissions {
    let mut p = user_permissions(scope, &console_inbox(scope));
    // `vigie login` asks at the provider-wide subject; the worker answers
    // only with the user's own session.
    p.publish.push(format!(
        "vigie.api.{}.login",
        crate::bus::subject::ALL_TENANTS
    ));
    p
}

/// What a user logged in at `scope` may do (the JWT `login` gives): the
/// scope's api verbs, following the scope's events, answers under
/// `inbox` only. The provider-wide scope (`_all`) is every tenant's too.
pub fn user_permissions(scope: &str, inbox: &str) -> Permissions {
    let (api, events) = if scope == crate::bus::subject::ALL_TENANTS {
        ("vigie.api.>".to_string(), "vigie.evt.>".to_string())
    } else {
        (
            format!("vigie.api.{scope}.>"),
            format!("vigie.evt.{scope}.>"),
        )
    };
    Permissions {
        publish: vec![
            api,
            format!("$JS.API.CONSUMER.CREATE.VIGIE_EVENTS.*.{events}"),
            "$JS.API.CONSUMER.MSG.NEXT.VIGIE_EVENTS.*".into(),
            "$JS.API.CONSUMER.DELETE.VIGIE_EVENTS.*".into(),
        ],
        subscribe: vec![format!("{inbox}.>")],
    }
}

/// The inbox prefix of the login credential.
pub const LOGIN_INBOX: &str = "_INBOX.login";

/// What the login credential (shared by everyone before they log in)
/// may do: `login`, and `renew` (which needs a live session), at the
/// provider-wide subject, and read answers under [`LOGIN_INBOX`]. Its
/// holders can read each other's answers there, which is why those are
/// sealed to a key each client makes (`api::grant`).
pub fn login_permissions() -> Permissions {
    let all = crate::bus::subject::ALL_TENANTS;
    Permissions {
        publish: vec![
            format!("vigie.api.{all}.login"),
            format!("vigie.api.{all}.renew"),
        ],
        subscribe: vec![format!("{LOGIN_INBOX}.>")],
    }
}

/// What the simulator may do: publish every device's telemetry, and (for
/// its agents, which answer pushes) pull and acknowledge orders.
pub fn sim_permissions() -> Permissions {
    Permissions {
        publish: vec![
            "vigie.tel.>".into(),
            "$JS.API.CONSUMER.CREATE.VIGIE_ORDERS.>".into(),
            "$JS.API.CONSUMER.INFO.VIGIE_ORDERS.>".into(),
            "$JS.API.CONSUMER.MSG.NEXT.VIGIE_ORDERS.>".into(),
            "$JS.ACK.VIGIE_ORDERS.>".into(),
        ],
        subscribe: vec!["_INBOX.sim.>".into()],
    }
}

/// What the worker may do: all of vigie's subjects and JetStream's API.
pub fn worker_permissions() -> Permissions {
    Permissions {
        publish: vec![
            "vigie.>".into(),
            "$JS.API.>".into(),
            "$JS.ACK.>".into(),
            "_INBOX.>".into(),
        ],
        subscribe: vec![
            "vigie.>".into(),
            "$JS.EVENT.ADVISORY.>".into(),
            "_INBOX.>".into(),
        ],
    }
}

/// Sends an account JWT to the running server through the system user's
/// connection; the server stores it and applies it at once (revoked users
/// are disconnected).
pub async fn push_account(
    url: &str,
    system_creds: &Path,
    account_jwt: &str,
) -> Result<(), JwtError> {
    let client = async_nats::ConnectOptions::new()
        .credentials_file(system_creds)
        .await
        .map_err(|e| io(system_creds, e))?
        .name("vigie-nats-admin")
        .connect(url)
        .await
        .map_err(|e| JwtError(format!("cannot connect to NATS as the system user: {e}")))?;
    let reply = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        client.request("$SYS.REQ.CLAIMS.UPDATE", account_jwt.to_string().into()),
    )
    .await
    .map_err(|_| JwtError("the server did not answer the account update within 10 s".into()))?
    .map_err(|e| JwtError(format!("account update: {e}")))?;
    let answer: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap_or_default();
    if let Some(e) = answer.get("error") {
        return Err(JwtError(format!(
            "the server refused the account update: {e}"
        )));
    }
    Ok(())
}
