//! How `vigie console`, `vigie wallboard`, `vigie dump` and `vigie push`
//! reach a worker over NATS: as the logged-in user. When the session
//! holds NATS credentials of the user's own (`vigie login` against a
//! worker with `--nats-dir`), the connection uses them, renewing them at
//! half their life while the command runs; otherwise it uses the
//! configured credentials.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::session::{self, Current, Saved, SavedGrant};
use crate::api::ErrorCode;
use crate::bus::nats::{NatsAuth, NatsBus, UserCreds};
use crate::domain::access::Principal;
use crate::settings::Paths;

/// How long to wait for the worker's answer to a renewal.
const RENEW_TIMEOUT: Duration = Duration::from_secs(10);
/// Credentials this close to their end are renewed before connecting.
const RENEW_MARGIN_S: i64 = 30;

/// A connection as the session's user.
pub struct Connected {
    pub bus: Arc<NatsBus>,
    pub token: String,
    /// Who the session file says it is for (`None` for `VIGIE_TOKEN`).
    pub principal: Option<Principal>,
    renewal: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Connected {
    fn drop(&mut self) {
        if let Some(r) = &self.renewal {
            r.abort();
        }
    }
}

/// Connects to `url` as the current session's user.
pub async fn as_user(paths: &Paths, url: &str, auth: &NatsAuth) -> anyhow::Result<Connected> {
    let now = Utc::now();
    let saved = match session::current(paths, now)? {
        Current::Env(token) => {
            return Ok(Connected {
                bus: Arc::new(NatsBus::connect_with(url, auth).await?),
                token,
                principal: None,
                renewal: None,
            });
        }
        Current::Saved(s) => *s,
    };
    let Some(grant) = saved.grant.clone() else {
        return Ok(Connected {
            bus: Arc::new(NatsBus::connect_with(url, auth).await?),
            token: saved.token,
            principal: Some(saved.principal),
            renewal: None,
        });
    };
    let key = nkeys::KeyPair::from_seed(&grant.seed).map_err(|e| {
        anyhow::anyhow!(
            "{}: the NATS key is damaged ({e}): vigie login",
            session::file(paths).display()
        )
    })?;
    let grant = if grant.expires <= now + chrono::Duration::seconds(RENEW_MARGIN_S) {
        renew_before_connecting(paths, url, auth, &saved, &key).await?
    } else {
        grant
    };
    let creds = UserCreds::new(key, grant.jwt.clone(), grant.inbox_prefix.clone());
    let bus = Arc::new(NatsBus::connect_as(url, auth, &creds).await.map_err(|e| {
        anyhow::anyhow!(
            "{e} (as {}; vigie login if the deployment changed)",
            saved.principal.user
        )
    })?);
    let scope = scope_of(&saved.principal);
    let renewal = tokio::spawn(keep_renewed(
        Arc::clone(&bus),
        creds,
        saved.token.clone(),
        scope,
        grant.expires,
        session::file(paths),
    ));
    Ok(Connected {
        bus,
        token: saved.token,
        principal: Some(saved.principal),
        renewal: Some(renewal),
    })
}

/// The api scope of a user's own credentials.
fn scope_of(p: &Principal) -> String {
    p.tenant
        .as_ref()
        .map_or(crate::bus::subject::ALL_TENANTS, |t| t.as_str())
        .to_string()
}

/// Credentials that ended (the last command ran long ago): renewed over
/// the configured connection (the login credential may renew), and saved.
async fn renew_before_connecting(
    paths: &Paths,
    url: &str,
    auth: &NatsAuth,
    saved: &Saved,
    key: &nkeys::KeyPair,
) -> anyhow::Result<SavedGrant> {
    let bus = NatsBus::connect_with(url, auth).await?;
    let g = crate::api::client::renew(
        &bus,
        &saved.token,
        crate::bus::subject::ALL_TENANTS,
        &key.public_key(),
        RENEW_TIMEOUT,
    )
    .await
    .map_err(|e| {
        anyhow::anyhow!(
            "renewing the NATS credentials of {}: {e}",
            saved.principal.user
        )
    })?;
    let file = session::file(paths);
    keep_in_file(&file, &key.public_key(), &g);
    Ok(SavedGrant {
        jwt: g.jwt,
        seed: saved
            .grant
            .as_ref()
            .map(|x| x.seed.clone())
            .unwrap_or_default(),
        expires: g.expires,
        inbox_prefix: g.inbox_prefix,
    })
}

/// Renews the credentials at half their remaining life, then reconnects
/// with the new JWT; stops when the session ends.
async fn keep_renewed(
    bus: Arc<NatsBus>,
    creds: UserCreds,
    token: String,
    scope: String,
    mut expires: DateTime<Utc>,
    file: PathBuf,
) {
    let nkey = creds.key.public_key();
    let mut wait = half_life(expires, Utc::now());
    loop {
        tokio::time::sleep(wait).await;
        match crate::api::client::renew(bus.as_ref(), &token, &scope, &nkey, RENEW_TIMEOUT).await {
            Ok(g) => {
                creds.replace_jwt(g.jwt.clone());
                keep_in_file(&file, &nkey, &g);
                expires = g.expires;
                if let Err(e) = bus.reconnect().await {
                    tracing::warn!(error = %e, "NATS credentials renewed; reconnecting failed");
                }
                tracing::info!(until = %expires, "NATS credentials renewed");
                wait = half_life(expires, Utc::now());
            }
            Err(e) if e.code == ErrorCode::Unauthenticated => {
                tracing::warn!(error = %e, "the session is over: NATS credentials not renewed (vigie login)");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, until = %expires, "NATS credentials not renewed; trying again");
                wait = Duration::from_secs(5).min(half_life(expires, Utc::now()));
            }
        }
    }
}

/// Half the time left, at least a second.
fn half_life(expires: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    ((expires - now) / 2)
        .to_std()
        .unwrap_or_default()
        .max(Duration::from_secs(1))
}

/// The renewed JWT in the session file, when the file still holds this
/// key (a new login in the meantime is left alone).
fn keep_in_file(file: &std::path::Path, nkey: &str, g: &crate::api::grant::NatsGrant) {
    let Ok(bytes) = std::fs::read(file) else {
        return;
    };
    let Ok(mut saved) = serde_json::from_slice::<Saved>(&bytes) else {
        return;
    };
    let Some(kept) = saved.grant.as_mut() else {
        return;
    };
    let same = nkeys::KeyPair::from_seed(&kept.seed).is_ok_and(|k| k.public_key() == nkey);
    if !same {
        return;
    }
    kept.jwt = g.jwt.clone();
    kept.expires = g.expires;
    if let Err(e) = session::save(file, &saved) {
        tracing::warn!(error = %e, "renewed NATS credentials not saved");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_waits_half_the_time_left_and_never_spins() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(
            half_life(now + chrono::Duration::minutes(60), now),
            Duration::from_secs(1_800)
        );
        assert_eq!(half_life(now, now), Duration::from_secs(1));
        assert_eq!(
            half_life(now - chrono::Duration::hours(1), now),
            Duration::from_secs(1)
        );
    }
}
