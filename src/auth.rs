//! Login and sessions: passwords hashed with Argon2id, sessions as signed,
//! expiring tokens (HMAC-SHA256 over the user and the times), and the user
//! behind every api request looked up in the store each time, so that a
//! disabled user or a changed password or role takes effect at once.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod password;
pub mod throttle;

pub use password::{MAX_PASSWORD, hash_password, password_matches};

use crate::api::wire::Session;
use crate::api::{ApiError, ErrorCode};
use crate::domain::access::Principal;
use crate::store::Store;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
const PREFIX: &str = "vgs1";

/// How long a session lasts unless configured.
pub const DEFAULT_TTL: chrono::Duration = chrono::Duration::hours(12);

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Claims {
    user: String,
    /// Issued and expires, ms since the epoch.
    iat: i64,
    exp: i64,
}

/// Issues and checks session tokens with one secret key. Workers that
/// serve one api share the key (`worker.session_key`).
pub struct Sessions {
    key: ring::hmac::Key,
    ttl: chrono::Duration,
    throttle: std::sync::Mutex<throttle::Throttle>,
    /// Password checks running at once: each takes 19 MiB and a core for
    /// tens of milliseconds, so an unauthenticated flood must queue here.
    hashing: tokio::sync::Semaphore,
}

/// The longest user name a login takes, in bytes.
pub const MAX_USER_NAME: usize = 64;
/// How long a login waits for a free password check before `throttled`.
pub const HASH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Password checks at once: the machine's cores.
fn hash_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8))
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("key", &"<secret>")
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl Sessions {
    pub fn new(secret: &[u8], ttl: chrono::Duration) -> Self {
        Self {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret),
            ttl,
            throttle: Default::default(),
            hashing: tokio::sync::Semaphore::new(hash_slots()),
        }
    }

    /// Sessions under a random key, for a worker no other process shares
    /// (demo, the embedded console).
    pub fn ephemeral() -> Self {
        let rng = ring::rand::SystemRandom::new();
        let key = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &rng)
            .unwrap_or_else(|_| ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &rand_bytes()));
        Self {
            key,
            ttl: DEFAULT_TTL,
            throttle: Default::default(),
            hashing: tokio::sync::Semaphore::new(hash_slots()),
        }
    }

    /// A token for `user`, valid from `now` for the session length.
    pub fn issue(&self, user: &str, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let exp = now + self.ttl;
        let claims = Claims {
            user: user.to_string(),
            iat: now.timestamp_millis(),
            exp: exp.timestamp_millis(),
        };
        let body = B64.encode(serde_json::to_vec(&claims).unwrap_or_default());
        let signed = format!("{PREFIX}.{body}");
        let tag = ring::hmac::sign(&self.key, signed.as_bytes());
        (format!("{signed}.{}", B64.encode(tag.as_ref())), exp)
    }

    /// The claims of a genuine, unexpired token.
    fn check(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, ApiError> {
        let bad = || {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "the session token is not valid: vigie login",
            )
        };
        let (signed, tag) = token.rsplit_once('.').ok_or_else(bad)?;
        let (prefix, body) = signed.split_once('.').ok_or_else(bad)?;
        if prefix != PREFIX {
            return Err(bad());
        }
        let tag = B64.decode(tag).map_err(|_| bad())?;
        ring::hmac::verify(&self.key, signed.as_bytes(), &tag).map_err(|_| bad())?;
        let claims: Claims = B64
            .decode(body)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(bad)?;
        if claims.exp <= now.timestamp_millis() {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "the session has expired: vigie login",
            ));
        }
        Ok(claims)
    }

    /// When a genuine, unexpired `token` expires.
    pub fn expires(&self, token: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
        let claims = self.check(token, now)?;
        DateTime::from_timestamp_millis(claims.exp).ok_or_else(|| {
            ApiError::new(ErrorCode::Unauthenticated, "the session token is not valid")
        })
    }

    /// The user behind `token`, as the store has them now.
    pub async fn principal(
        &self,
        store: &dyn Store,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Principal, ApiError> {
        let claims = self.check(token, now)?;
        let user = store.user(&claims.user).await?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                format!("user {} no longer exists", claims.user),
            )
        })?;
        if user.disabled {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                format!("user {} is disabled", user.name),
            ));
        }
        if claims.iat < user.changed.timestamp_millis() {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                format!(
                    "the session of {} ended when the account changed: vigie login",
                    user.name
                ),
            ));
        }
        Ok(Principal {
            user: user.name,
            role: user.role,
            tenant: user.tenant,
        })
    }

    /// Checks a user's password and opens a session. Wrong names and wrong
    /// passwords get the same answer.
    ///
    /// Every attempt is counted as a failure before its password is
    /// checked (and forgiven if it succeeds), so concurrent attempts cannot
    /// all slip under the throttle; and checks wait for one of a few slots,
    /// so a flood of logins costs bounded memory and CPU.
    pub async fn login(
        &self,
        store: &dyn Store,
        name: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<Session, ApiError> {
        let denied = || ApiError::new(ErrorCode::Unauthenticated, "wrong user name or password");
        if name.is_empty() || name.len() > MAX_USER_NAME {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!("user: 1 to {MAX_USER_NAME} bytes"),
            ));
        }
        if password.len() > MAX_PASSWORD {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!("password: at most {MAX_PASSWORD} bytes"),
            ));
        }
        let throttle = || self.throttle.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(wait) = throttle().reserve(name, now) {
            return Err(ApiError::new(
                ErrorCode::Throttled,
                format!(
                    "too many failed logins for {}: try again in {wait} s",
                    crate::domain::SafeText::new(name)
                ),
            ));
        }
        let busy = || {
            ApiError::new(
                ErrorCode::Throttled,
                "too many logins at once: try again in a few seconds",
            )
        };
        let _slot = tokio::time::timeout(HASH_WAIT, self.hashing.acquire())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        let user = store.user(name).await?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let password = password.to_string();
        // Argon2 takes tens of milliseconds of CPU: off the async threads.
        // Unknown users are checked against a fixed hash so that both take
        // the same time.
        let ok = tokio::task::spawn_blocking(move || match hash {
            Some(h) => password_matches(&h, &password),
            None => {
                let _ = password_matches(dummy_hash(), &password);
                false
            }
        })
        .await
        .unwrap_or(false);
        let user = user.filter(|_| ok).ok_or_else(denied)?;
        throttle().succeeded(name);
        if user.disabled {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                format!("user {} is disabled", user.name),
            ));
        }
        let (token, expires) = self.issue(&user.name, now);
        Ok(Session {
            token,
            principal: Principal {
                user: user.name,
                role: user.role,
                tenant: user.tenant,
            },
            expires,
            nats: None,
        })
    }
}

/// The hash of a password nobody has, checked for unknown users.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&String::from_utf8_lossy(&rand_bytes())).unwrap_or_default())
}

fn rand_bytes() -> [u8; 32] {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 32];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_refused_once_changed_expired_or_signed_by_another_key() {
        let s = Sessions::new(
            b"0123456789abcdef0123456789abcdef",
            chrono::Duration::hours(1),
        );
        let now = DateTime::UNIX_EPOCH + chrono::Duration::days(10_000);
        let (t, exp) = s.issue("ana", now);
        assert_eq!(exp, now + chrono::Duration::hours(1));
        assert_eq!(s.check(&t, now).map(|c| c.user), Ok("ana".to_string()));
        assert!(s.check(&t, exp).is_err(), "expired");
        let other = Sessions::new(
            b"another key, just as long as it..",
            chrono::Duration::hours(1),
        );
        assert!(other.check(&t, now).is_err());
        let mut forged = t.clone();
        forged.replace_range(6..8, "xx");
        assert!(s.check(&forged, now).is_err());
        assert!(s.check("garbage", now).is_err());
    }

    #[test]
    fn passwords_hash_and_match() {
        let h = hash_password("correct horse").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(password_matches(&h, "correct horse"));
        assert!(!password_matches(&h, "Correct horse"));
        assert!(!password_matches("not a hash", "x"));
    }
}
