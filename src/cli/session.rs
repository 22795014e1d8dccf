//! `vigie login`: trades a user name and password for a session token
//! and, where the worker issues them, NATS credentials of the user's own
//! (a key made here, a short-lived JWT for it); keeps both in
//! `session.json` in the config directory (mode 600), where
//! `vigie console --nats`, `vigie wallboard --nats`, `vigie push` and
//! `vigie dump --nats` find them. `VIGIE_TOKEN` overrides the file (for
//! scripts).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::wire::Session;
use crate::domain::access::Principal;
use crate::settings::paths::Paths;

/// What `session.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    pub nats: String,
    pub principal: Principal,
    pub token: String,
    pub expires: DateTime<Utc>,
    /// The user's own NATS credentials, when the worker issued them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<SavedGrant>,
    /// How the server was reached at login (files and references, never
    /// a secret), for the commands after it.
    #[serde(default)]
    pub reach: SavedReach,
}

/// The NATS options given at login, kept so that later commands reach the
/// same server the same way, as a kubectl context does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedReach {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creds: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbox_prefix: Option<String>,
}

impl SavedReach {
    fn of(a: &super::args::NatsAuthArgs) -> Self {
        Self {
            creds: a.creds.clone(),
            tls_ca: a.tls_ca.clone(),
            tls_cert: a.tls_cert.clone(),
            tls_key: a.tls_key.clone(),
            inbox_prefix: a.nats_inbox_prefix.clone(),
        }
    }

    /// `a` with what it leaves unsaid taken from here.
    pub fn fill(&self, a: &super::args::NatsAuthArgs) -> super::args::NatsAuthArgs {
        let mut out = a.clone();
        let given_here = a.creds.is_some() || a.nats_user.is_some() || a.nats_token.is_some();
        if !given_here {
            out.creds = out.creds.or_else(|| self.creds.clone());
        }
        out.tls_ca = out.tls_ca.or_else(|| self.tls_ca.clone());
        out.tls_cert = out.tls_cert.or_else(|| self.tls_cert.clone());
        out.tls_key = out.tls_key.or_else(|| self.tls_key.clone());
        out.nats_inbox_prefix = out.nats_inbox_prefix.or_else(|| self.inbox_prefix.clone());
        out
    }
}

/// The saved session, expired or not (what server it was on), unless
/// there is none or it does not read.
pub fn remembered(paths: &Paths) -> Option<Saved> {
    let bytes = std::fs::read(file(paths)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The server to reach when no `--nats` is given: the saved session's,
/// with the options it was reached with.
pub fn remembered_server(
    paths: &Paths,
    auth: &super::args::NatsAuthArgs,
) -> Option<(String, super::args::NatsAuthArgs)> {
    remembered(paths).map(|s| (s.nats.clone(), s.reach.fill(auth)))
}

/// `vigie logout`: forgets the saved session (and its NATS key).
pub fn logout(paths: &Paths) -> anyhow::Result<()> {
    let path = file(paths);
    match std::fs::remove_file(&path) {
        Ok(()) => {
            println!("logged out: {} removed", path.display());
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("not logged in");
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
    }
}

/// `vigie login --list`: the saved session, as whom, where, until when.
pub fn list(paths: &Paths, now: DateTime<Utc>) {
    match remembered(paths) {
        None => println!("not logged in"),
        Some(s) => {
            let state = if s.expires <= now { "expired" } else { "until" };
            println!(
                "{} ({}{}) on {} {state} {}",
                s.principal.user,
                s.principal.role,
                s.principal
                    .tenant
                    .as_ref()
                    .map_or(String::new(), |t| format!(" of {t}")),
                crate::domain::redact::redact_url(&s.nats),
                s.expires.format("%Y-%m-%d %H:%M UTC"),
            );
        }
    }
}

/// NATS credentials kept with the session: the key made at login and
/// the JWT last given for it.
#[derive(Clone, Serialize, Deserialize)]
pub struct SavedGrant {
    pub jwt: String,
    pub seed: String,
    pub expires: DateTime<Utc>,
    pub inbox_prefix: String,
}

impl std::fmt::Debug for SavedGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the seed.
        f.debug_struct("SavedGrant")
            .field("expires", &self.expires)
            .field("inbox_prefix", &self.inbox_prefix)
            .finish_non_exhaustive()
    }
}

pub fn file(paths: &Paths) -> PathBuf {
    paths.config_dir.join("session.json")
}

/// Writes the session where only its owner can read it.
pub fn save(path: &Path, s: &Saved) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| anyhow::anyhow!("{}: {e}", tmp.display()))?;
    f.write_all(&serde_json::to_vec_pretty(s)?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(())
}

/// The token to send: `VIGIE_TOKEN`, else the saved session's; with who
/// the session file says it is for (`None` for `VIGIE_TOKEN`).
pub fn token(paths: &Paths, now: DateTime<Utc>) -> anyhow::Result<(String, Option<Principal>)> {
    Ok(match current(paths, now)? {
        Current::Env(t) => (t, None),
        Current::Saved(s) => (s.token, Some(s.principal)),
    })
}

/// The session to use: `VIGIE_TOKEN`'s, or the saved one.
pub enum Current {
    Env(String),
    Saved(Box<Saved>),
}

/// `VIGIE_TOKEN`, else the saved session while it lasts.
pub fn current(paths: &Paths, now: DateTime<Utc>) -> anyhow::Result<Current> {
    if let Ok(t) = std::env::var("VIGIE_TOKEN")
        && !t.trim().is_empty()
    {
        return Ok(Current::Env(t.trim().to_string()));
    }
    let path = file(paths);
    let bytes = std::fs::read(&path).map_err(|_| {
        anyhow::anyhow!(
            "not logged in (no {}): vigie login --nats URL --user NAME",
            path.display()
        )
    })?;
    let s: Saved = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}: vigie login again", path.display()))?;
    if s.expires <= now {
        anyhow::bail!(
            "the session of {} expired at {}: vigie login",
            s.principal.user,
            s.expires.format("%Y-%m-%d %H:%M UTC")
        );
    }
    Ok(Current::Saved(Box::new(s)))
}

/// Reads a password: `VIGIE_PASSWORD`, one line of standard input when it
/// is not a terminal, else a prompt that does not echo.
pub fn read_password(prompt: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal as _;
    if let Ok(p) = std::env::var("VIGIE_PASSWORD") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
    ratatui::crossterm::terminal::enable_raw_mode()?;
    let mut out = String::new();
    let read = loop {
        match event::read() {
            Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => match k.code {
                KeyCode::Enter => break Ok(()),
                KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                    break Err(anyhow::anyhow!("cancelled"));
                }
                KeyCode::Char(c) => out.push(c),
                KeyCode::Backspace => {
                    out.pop();
                }
                _ => {}
            },
            Ok(_) => {}
            Err(e) => break Err(e.into()),
        }
    };
    let _ = ratatui::crossterm::terminal::disable_raw_mode();
    eprintln!();
    read.map(|()| out)
}

/// Logs in over NATS and saves the session. The keys of the user's NATS
/// credentials are made here and never leave this host; the worker's
/// answer comes sealed to them.
pub async fn login(
    paths: &Paths,
    nats: &crate::cli::NatsArgs,
    settings: &crate::settings::nats::NatsSettings,
    user: &str,
    timeout: Duration,
) -> anyhow::Result<Saved> {
    let password = read_password(&format!("password for {user}: "))?;
    let (url, auth) = nats.resolve_for_user(settings, paths)?;
    let bus = crate::bus::nats::NatsBus::connect_with(&url, &auth).await?;
    let nkey = nkeys::KeyPair::new_user();
    let xkey = nkeys::XKey::new();
    let args = crate::api::args::LoginArgs {
        user: user.to_string(),
        password,
        keys: Some(crate::api::grant::ClientKeys {
            nkey: nkey.public_key(),
            xkey: xkey.public_key(),
        }),
    };
    let session: Session = crate::api::client::login(
        &bus,
        crate::bus::subject::ALL_TENANTS,
        &args,
        Some(&xkey),
        timeout,
    )
    .await
    .map_err(|e| match e.code {
        crate::api::ErrorCode::Bus => {
            anyhow::anyhow!("{}: {}", crate::domain::redact::redact_url(&url), e.message)
        }
        _ => anyhow::anyhow!("login refused: {e}"),
    })?;
    let grant = match session.nats {
        Some(g) => Some(SavedGrant {
            jwt: g.jwt,
            seed: nkey
                .seed()
                .map_err(|e| anyhow::anyhow!("the NATS key made here: {e}"))?,
            expires: g.expires,
            inbox_prefix: g.inbox_prefix,
        }),
        None => None,
    };
    let saved = Saved {
        nats: url.clone(),
        principal: session.principal,
        token: session.token,
        expires: session.expires,
        grant,
        reach: SavedReach::of(&nats.auth),
    };
    save(&file(paths), &saved)?;
    Ok(saved)
}

/// `vigie login`: logs in and says as whom, until when.
pub async fn login_command(
    paths: &Paths,
    nats: super::args::NatsArgs,
    settings: &crate::settings::nats::NatsSettings,
    user: String,
) -> anyhow::Result<()> {
    crate::logging::to_stderr("warn");
    let saved = login(
        paths,
        &nats,
        settings,
        &user,
        std::time::Duration::from_secs(10),
    )
    .await?;
    println!(
        "logged in as {} ({}{}) until {}; session in {}",
        saved.principal.user,
        saved.principal.role,
        saved
            .principal
            .tenant
            .as_ref()
            .map_or(String::new(), |t| format!(" of {t}")),
        saved.expires.format("%Y-%m-%d %H:%M UTC"),
        file(paths).display()
    );
    if let Some(g) = &saved.grant {
        println!(
            "NATS credentials of your own until {} (consoles renew them while they run)",
            g.expires.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    Ok(())
}
