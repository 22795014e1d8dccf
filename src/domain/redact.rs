//! Secrets kept out of sight: a value type that never prints, and the one
//! redaction of URLs (and of text quoting them) used for every log line,
//! error and output. Pure: no IO.

use std::fmt;

/// A secret value. `Debug` and `Display` show `<secret>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The value, for the one place that uses it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

/// Query parameters whose values are secrets.
const SECRET_PARAMS: [&str; 7] = [
    "password",
    "sslpassword",
    "token",
    "pass",
    "passwd",
    "secret",
    "auth_token",
];

/// A database or NATS URL with every secret in it replaced by `***`: the
/// password of `user:password@`, a token given alone as `token@`, and the
/// values of `password`, `sslpassword`, `token` (and the like) query
/// parameters. The one redaction for URLs in logs, errors and output.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((info, host)) => match info.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("***@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((q, f)) => (q, Some(f)),
                None => (query, None),
            };
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _))
                        if SECRET_PARAMS
                            .iter()
                            .any(|p| p.eq_ignore_ascii_case(k.trim())) =>
                    {
                        format!("{k}=***")
                    }
                    _ => kv.to_string(),
                })
                .collect();
            let mut t = format!("{path}?{}", query.join("&"));
            if let Some(f) = fragment {
                t.push('#');
                t.push_str(f);
            }
            t
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// `text` with every URL in it redacted as [`redact_url`] does: for error
/// messages of libraries that quote the address they were given.
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        // The URL starts after the last separator before its `://`.
        let start = rest[..at]
            .rfind(|c: char| c.is_whitespace() || "\"'`<>([{,;=".contains(c))
            .map_or(0, |i| i + 1);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || "\"'`<>)]},;".contains(c))
            .map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..start]);
        out.push_str(&redact_url(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_secret_in_a_url_is_redacted() {
        let cases = [
            ("nats://alice:pw0@h:4222", "nats://alice:***@h:4222"),
            ("nats://s3cr3tt0ken@h:4222", "nats://***@h:4222"),
            (
                "postgres://db/v?user=a&password=pw1&sslmode=require",
                "postgres://db/v?user=a&password=***&sslmode=require",
            ),
            (
                "postgres://db/v?sslpassword=pw2#x",
                "postgres://db/v?sslpassword=***#x",
            ),
            ("nats://h:4222?token=tk3", "nats://h:4222?token=***"),
            ("sqlite:///var/lib/vigie.db", "sqlite:///var/lib/vigie.db"),
            ("not a url", "not a url"),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url(url), want, "{url}");
        }
        let text = "cannot connect to \"nats://bob:hunter2@10.0.0.1:4222\": refused (postgres://x?password=pw4)";
        let got = redact_text(text);
        assert!(!got.contains("hunter2") && !got.contains("pw4"), "{got}");
        assert!(got.contains("nats://bob:***@10.0.0.1:4222"), "{got}");
    }
}
