//! The `[nats]` section: where NATS is and how to authenticate to it, the
//! defaults of every command's `--nats*` flags (which, and their
//! `VIGIE_NATS_*` variables, override it).

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

/// NATS settings; unset keys leave the flags' own defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NatsSettings {
    pub url: Option<String>,
    pub creds: Option<PathBuf>,
    pub tls_ca: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub user: Option<String>,
    /// `env:VAR` or `file:PATH`, as the flag.
    pub password: Option<String>,
    /// `env:VAR` or `file:PATH`, as the flag.
    pub token: Option<String>,
    pub inbox_prefix: Option<String>,
}

type S<T> = Option<Spanned<T>>;

/// The section as a file writes it.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct NatsPatch {
    url: S<String>,
    creds: S<String>,
    tls_ca: S<String>,
    tls_cert: S<String>,
    tls_key: S<String>,
    user: S<String>,
    password: S<String>,
    token: S<String>,
    inbox_prefix: S<String>,
}

impl NatsSettings {
    /// Applies `patch`; `Err((span, message))` names a bad key.
    pub(super) fn apply(
        &mut self,
        patch: &NatsPatch,
    ) -> Result<(), (std::ops::Range<usize>, String)> {
        let text = |v: &S<String>| {
            v.as_ref()
                .map(|s| s.get_ref().trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let path = |v: &S<String>| text(v).map(PathBuf::from);
        for (key, secret) in [
            ("nats.password", &patch.password),
            ("nats.token", &patch.token),
        ] {
            if let Some(v) = secret
                && !(v.get_ref().starts_with("env:") || v.get_ref().starts_with("file:"))
            {
                return Err((
                    v.span(),
                    format!("{key}: give the secret as env:VAR or file:PATH"),
                ));
            }
        }
        if let Some(u) = &patch.url
            && !u.get_ref().contains("://")
        {
            return Err((
                u.span(),
                format!(
                    "nats.url: {:?} is not a URL (nats://host:4222, tls://host:4222)",
                    u.get_ref()
                ),
            ));
        }
        if let Some(v) = text(&patch.url) {
            self.url = Some(v);
        }
        for (slot, v) in [
            (&mut self.creds, &patch.creds),
            (&mut self.tls_ca, &patch.tls_ca),
            (&mut self.tls_cert, &patch.tls_cert),
            (&mut self.tls_key, &patch.tls_key),
        ] {
            if let Some(p) = path(v) {
                *slot = Some(p);
            }
        }
        for (slot, v) in [
            (&mut self.user, &patch.user),
            (&mut self.password, &patch.password),
            (&mut self.token, &patch.token),
            (&mut self.inbox_prefix, &patch.inbox_prefix),
        ] {
            if let Some(t) = text(v) {
                *slot = Some(t);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::settings::Settings;

    fn load(text: &str) -> Result<Settings, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("vigie.toml");
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        Settings::load(&path, true, std::iter::empty()).map_err(|e| e.to_string())
    }

    #[test]
    fn the_nats_section_sets_the_flags_defaults_and_refuses_secrets_in_clear() {
        let s = load(
            "[nats]\nurl = \"tls://nats.example:4222\"\ncreds = \"/etc/vigie/c.creds\"\ninbox_prefix = \"_INBOX.console-acme\"\npassword = \"file:/etc/vigie/p\"\n",
        )
        .unwrap();
        assert_eq!(s.nats.url.as_deref(), Some("tls://nats.example:4222"));
        assert_eq!(
            s.nats.creds.as_deref(),
            Some(std::path::Path::new("/etc/vigie/c.creds"))
        );
        assert_eq!(s.nats.inbox_prefix.as_deref(), Some("_INBOX.console-acme"));
        let e = load("[nats]\n\npassword = \"hunter2hunter2\"\n").unwrap_err();
        assert!(
            e.ends_with(":3: nats.password: give the secret as env:VAR or file:PATH"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
        let e = load("[nats]\nurl = \"nats.example\"\n").unwrap_err();
        assert!(
            e.contains(":2: nats.url: \"nats.example\" is not a URL"),
            "{e}"
        );
        let e = load("[nats]\ncolour = 1\n").unwrap_err();
        assert!(e.contains("unknown field `colour`"), "{e}");
        assert_eq!(Settings::defaults().nats, super::NatsSettings::default());
    }
}
