//! Connecting as a user whose credentials live in memory and change: the
//! key the client made and the JWT the worker gave it, which renewal
//! replaces. The connection signs the server's nonce with the key and
//! presents whichever JWT is current each time it (re)connects.

use std::sync::{Arc, RwLock};

use nkeys::KeyPair;

use super::{NatsAuth, NatsBus};
use crate::bus::BusError;

/// A user's key, current JWT and inbox prefix.
#[derive(Clone)]
pub struct UserCreds {
    pub key: Arc<KeyPair>,
    pub jwt: Arc<RwLock<String>>,
    pub inbox_prefix: String,
}

impl std::fmt::Debug for UserCreds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the seed.
        f.debug_struct("UserCreds")
            .field("key", &self.key.public_key())
            .field("inbox_prefix", &self.inbox_prefix)
            .finish_non_exhaustive()
    }
}

impl UserCreds {
    pub fn new(key: KeyPair, jwt: String, inbox_prefix: String) -> Self {
        Self {
            key: Arc::new(key),
            jwt: Arc::new(RwLock::new(jwt)),
            inbox_prefix,
        }
    }

    /// The JWT presented from the next (re)connection on.
    pub fn replace_jwt(&self, jwt: String) {
        *self.jwt.write().unwrap_or_else(|p| p.into_inner()) = jwt;
    }

    fn current_jwt(&self) -> String {
        self.jwt.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl NatsBus {
    /// Connects as `user`; `auth` gives TLS only (its credentials, if
    /// any, are not used).
    pub async fn connect_as(
        url: &str,
        auth: &NatsAuth,
        user: &UserCreds,
    ) -> Result<Self, BusError> {
        let creds = user.clone();
        let opts = async_nats::ConnectOptions::with_auth_callback(move |nonce| {
            let creds = creds.clone();
            async move {
                let signature = creds
                    .key
                    .sign(&nonce)
                    .map_err(|e| async_nats::AuthError::new(e.to_string()))?;
                let mut a = async_nats::Auth::new();
                a.jwt = Some(creds.current_jwt());
                a.signature = Some(signature);
                Ok(a)
            }
        })
        .name("vigie");
        let tls_only = NatsAuth {
            creds: None,
            user: None,
            password: None,
            token: None,
            inbox_prefix: Some(user.inbox_prefix.clone()),
            ..auth.clone()
        };
        let (dial, opts) = tls_only.apply(url, opts).await?;
        Self::dial(url, &dial, opts).await
    }

    /// Drops the connection and makes a new one at once (with the
    /// current credentials); subscriptions and followers carry on.
    pub async fn reconnect(&self) -> Result<(), BusError> {
        self.client
            .force_reconnect()
            .await
            .map_err(|e| BusError::Backend(format!("NATS reconnect: {e}")))
    }
}
