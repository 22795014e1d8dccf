//! NATS credentials for users: at `login` and `renew` the worker signs a
//! short-lived user JWT for the key the client made, allowed only the
//! user's scope (`bus::nats::deployment::user_permissions`) and answers
//! under an inbox prefix of that key alone.

use chrono::{DateTime, Utc};

use crate::api::grant::{NatsGrant, check_nkey};
use crate::api::{ApiError, ErrorCode};
use crate::bus::nats::deployment::{user_inbox, user_permissions};
use crate::bus::nats::jwt;
use crate::bus::subject::ALL_TENANTS;
use crate::domain::access::Principal;

/// How long a user's NATS credentials last unless configured; a running
/// console renews them at half their life.
pub const DEFAULT_GRANT_TTL: chrono::Duration = chrono::Duration::hours(1);

/// What user JWTs are signed with, and for how long.
pub struct Granter {
    /// vigie's account public key.
    pub account: String,
    /// The account's signing key.
    pub signer: nkeys::KeyPair,
    pub ttl: chrono::Duration,
}

impl std::fmt::Debug for Granter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the signing key.
        f.debug_struct("Granter")
            .field("account", &self.account)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Granter {
    /// A JWT for `nkey` with `who`'s scope, until `now + ttl` or the end
    /// of the session, whichever comes first.
    pub fn grant(
        &self,
        who: &Principal,
        nkey: &str,
        session_ends: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<NatsGrant, ApiError> {
        check_nkey(nkey)?;
        let scope = who.tenant.as_ref().map_or(ALL_TENANTS, |t| t.as_str());
        let inbox_prefix = user_inbox(nkey);
        // Whole seconds, as the JWT carries it.
        let ends = (now + self.ttl).min(session_ends).timestamp();
        let jwt = jwt::user(
            &self.signer,
            &self.account,
            nkey,
            &format!("user:{}", who.user),
            &user_permissions(scope, &inbox_prefix),
            now.timestamp(),
            Some(ends),
        )
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        Ok(NatsGrant {
            jwt,
            expires: DateTime::from_timestamp(ends, 0).unwrap_or(session_ends),
            inbox_prefix,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Id;
    use crate::domain::access::Role;

    #[test]
    fn a_grant_is_the_users_scope_for_the_users_key_until_the_session_ends() {
        let account = nkeys::KeyPair::new_account();
        let g = Granter {
            account: account.public_key(),
            signer: nkeys::KeyPair::new_account(),
            ttl: chrono::Duration::hours(1),
        };
        let key = nkeys::KeyPair::new_user().public_key();
        let ana = Principal {
            user: "ana".into(),
            role: Role::Operator,
            tenant: Some(Id::parse("acme").unwrap()),
        };
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let grant = g
            .grant(&ana, &key, now + chrono::Duration::hours(12), now)
            .unwrap();
        assert_eq!(grant.expires, now + chrono::Duration::hours(1));
        assert_eq!(grant.inbox_prefix, format!("_INBOX.{key}"));
        let c = jwt::claims(&grant.jwt).unwrap();
        assert_eq!(c["sub"], serde_json::json!(key));
        assert_eq!(c["name"], serde_json::json!("user:ana"));
        let publish = c["nats"]["pub"]["allow"].to_string();
        assert!(publish.contains("vigie.api.acme.>"), "{publish}");
        assert!(!publish.contains("_all"), "{publish}");
        assert_eq!(
            c["nats"]["sub"]["allow"],
            serde_json::json!([format!("_INBOX.{key}.>")])
        );
        // Never past the session.
        let short = g
            .grant(&ana, &key, now + chrono::Duration::minutes(5), now)
            .unwrap();
        assert_eq!(short.expires, now + chrono::Duration::minutes(5));
        // A provider-wide user follows every tenant.
        let noc = Principal {
            tenant: None,
            ..ana.clone()
        };
        let all = g
            .grant(&noc, &key, now + chrono::Duration::hours(1), now)
            .unwrap();
        assert!(
            jwt::claims(&all.jwt).unwrap()["nats"]["pub"]["allow"]
                .to_string()
                .contains("vigie.evt.>")
        );
        // Only user keys.
        assert!(g.grant(&ana, &account.public_key(), now, now).is_err());
    }
}
