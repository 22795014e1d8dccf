//! How vigie authenticates to NATS: credentials files, a user and
//! password or a token (from flags or the URL, taken out of the URL before
//! dialling), TLS, and the client's inbox prefix.

use crate::bus::BusError;
use crate::domain::redact::Secret;

/// How to authenticate to NATS: a credentials file (JWT + NKey seed), a
/// user and password, or a token; TLS with a private CA and/or a client
/// certificate; and the prefix of this client's request inboxes. All
/// optional. A user and password (`nats://user:pass@host`) or a token
/// (`nats://token@host`) in the URL count as if given here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NatsAuth {
    pub creds: Option<std::path::PathBuf>,
    pub tls_ca: Option<std::path::PathBuf>,
    pub tls_cert: Option<std::path::PathBuf>,
    pub tls_key: Option<std::path::PathBuf>,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub token: Option<Secret>,
    /// Where answers to this client's requests come back
    /// (`_INBOX` by default). Give each NATS user its own prefix and
    /// allow it to subscribe only there, and nobody reads its answers.
    pub inbox_prefix: Option<String>,
}

/// A URL's user and password, or token, taken out of it: the URL to dial
/// (with no secret left in it, so that no error can quote one) and what
/// was taken.
fn split_userinfo(url: &str) -> (String, Option<(String, Option<String>)>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), None);
    };
    let decode = |s: &str| percent_decode(s).unwrap_or_else(|| s.to_string());
    // NATS URLs take no query: a `?token=` is taken as the token, and the
    // query never reaches the dialler (nor an error that quotes the URL).
    let (rest, query_token) = match rest.split_once('?') {
        Some((before, query)) => (
            before,
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix("token="))
                .map(|t| t.split('#').next().unwrap_or(t))
                .map(decode),
        ),
        None => (rest, None),
    };
    let end = rest.find(['/', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((info, host)) => {
            let taken = match info.split_once(':') {
                Some((u, p)) => (decode(u), Some(decode(p))),
                None => (decode(info), None),
            };
            (format!("{scheme}://{host}{tail}"), Some(taken))
        }
        None => (
            format!("{scheme}://{authority}{tail}"),
            query_token.map(|t| (t, None)),
        ),
    }
}

/// `%XX` escapes decoded; `None` when they do not make UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl NatsAuth {
    pub(super) async fn apply(
        &self,
        url: &str,
        mut opts: async_nats::ConnectOptions,
    ) -> Result<(String, async_nats::ConnectOptions), BusError> {
        let (url, from_url) = split_userinfo(url);
        let secret = |s: &Secret| String::from_utf8_lossy(s.expose()).into_owned();
        let user_pass = match (&self.user, &self.password, &from_url) {
            (Some(u), Some(p), _) => Some((u.clone(), secret(p))),
            (Some(_), None, _) | (None, Some(_), _) => {
                return Err(BusError::Backend(
                    "NATS user and password go together: give both --nats-user and --nats-password"
                        .into(),
                ));
            }
            (None, None, Some((u, Some(p)))) => Some((u.clone(), p.clone())),
            _ => None,
        };
        let token = match (&self.token, &from_url) {
            (Some(t), _) => Some(secret(t)),
            (None, Some((t, None))) => Some(t.clone()),
            _ => None,
        };
        if user_pass.is_some() && token.is_some() {
            return Err(BusError::Backend(
                "NATS takes a user and password or a token, not both".into(),
            ));
        }
        if let Some((u, p)) = user_pass {
            opts = opts.user_and_password(u, p);
        }
        if let Some(t) = token {
            opts = opts.token(t);
        }
        // A credentials file that may read one inbox only gets its answers
        // there without being told.
        let derived = match (&self.inbox_prefix, &self.creds) {
            (None, Some(path)) => std::fs::read_to_string(path)
                .ok()
                .and_then(|t| super::jwt::jwt_of_creds(&t).and_then(super::jwt::inbox_of)),
            _ => None,
        };
        if let Some(prefix) = self.inbox_prefix.as_ref().or(derived.as_ref()) {
            let prefix = prefix.trim_end_matches('.');
            if !crate::bus::subject::is_valid(prefix) {
                return Err(BusError::Backend(format!(
                    "NATS inbox prefix {prefix:?}: dot-separated tokens with no wildcards or spaces"
                )));
            }
            opts = opts.custom_inbox_prefix(prefix);
        }
        if let Some(path) = &self.creds {
            opts = opts.credentials_file(path).await.map_err(|e| {
                BusError::Backend(format!("NATS credentials {}: {e}", path.display()))
            })?;
        }
        if let Some(ca) = &self.tls_ca {
            opts = opts.add_root_certificates(ca.clone()).require_tls(true);
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => {
                opts = opts
                    .add_client_certificate(cert.clone(), key.clone())
                    .require_tls(true);
            }
            (None, None) => {}
            _ => {
                return Err(BusError::Backend(
                    "a NATS client certificate needs both --nats-tls-cert and --nats-tls-key"
                        .into(),
                ));
            }
        }
        Ok((url, opts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_taken_out_of_the_url_before_dialling() {
        let cases = [
            ("nats://h:4222", "nats://h:4222", None),
            (
                "nats://u:p%40ss@h:4222",
                "nats://h:4222",
                Some(("u", Some("p@ss"))),
            ),
            (
                "nats://t0ken@h:4222",
                "nats://h:4222",
                Some(("t0ken", None)),
            ),
            ("tls://h:4222?token=q1", "tls://h:4222", Some(("q1", None))),
            ("nats://h:4222/?x=1", "nats://h:4222/", None),
        ];
        for (url, dial, taken) in cases {
            let (d, t) = split_userinfo(url);
            assert_eq!(d, dial, "{url}");
            assert_eq!(
                t.as_ref().map(|(u, p)| (u.as_str(), p.as_deref())),
                taken,
                "{url}"
            );
        }
    }
}
