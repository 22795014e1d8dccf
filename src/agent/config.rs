//! `agent.toml`: who the agent is, where NATS is, which keys it trusts and
//! how it applies a configuration. A bad file is refused with its line.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::domain::Id;
use crate::orders::TrustedKeys;
use crate::settings::ConfigError;

/// How configurations are applied on this host.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DriverConfig {
    /// The configuration is one file, replaced atomically.
    File {
        path: PathBuf,
        /// Run on the candidate before it replaces the file; `{path}` is
        /// the candidate's path. A non-zero exit refuses the apply.
        #[serde(default)]
        validate: Option<Vec<String>>,
        /// Run after the file was replaced (and after a restore).
        #[serde(default)]
        reload: Option<Vec<String>>,
    },
    /// Commands do the work: `read` prints the running configuration,
    /// `apply` and `revert` get a configuration on standard input.
    Command {
        read: Vec<String>,
        apply: Vec<String>,
        revert: Vec<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tenant: String,
    device: String,
    #[serde(default = "default_nats")]
    nats: String,
    #[serde(default)]
    nats_creds: Option<PathBuf>,
    #[serde(default)]
    nats_tls_ca: Option<PathBuf>,
    #[serde(default)]
    nats_tls_cert: Option<PathBuf>,
    #[serde(default)]
    nats_tls_key: Option<PathBuf>,
    #[serde(default)]
    nats_user: Option<String>,
    /// `env:VAR` or `file:PATH`.
    #[serde(default)]
    nats_password: Option<String>,
    /// `env:VAR` or `file:PATH`.
    #[serde(default)]
    nats_token: Option<String>,
    #[serde(default)]
    nats_inbox_prefix: Option<String>,
    state_dir: PathBuf,
    #[serde(default = "default_heartbeat")]
    heartbeat_s: u32,
    #[serde(default = "default_metrics")]
    metrics_s: u32,
    /// Public keys (base64) whose orders are accepted: the current one
    /// and, during a rotation, the next.
    trusted_keys: Vec<String>,
    #[serde(default = "default_format")]
    config_format: String,
    #[serde(default = "default_timeout")]
    command_timeout_s: u32,
    driver: DriverConfig,
}

fn default_nats() -> String {
    "nats://127.0.0.1:4222".into()
}
fn default_heartbeat() -> u32 {
    30
}
fn default_metrics() -> u32 {
    60
}
fn default_format() -> String {
    "text".into()
}
fn default_timeout() -> u32 {
    60
}

/// The agent's settings.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub tenant: Id,
    pub device: Id,
    pub nats: String,
    pub auth: crate::bus::nats::NatsAuth,
    pub state_dir: PathBuf,
    pub heartbeat_s: u32,
    pub metrics_s: u32,
    pub trusted: TrustedKeys,
    pub config_format: String,
    pub command_timeout_s: u32,
    pub driver: DriverConfig,
}

impl AgentConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            source_name: path.display().to_string(),
            line: None,
            message: e.to_string(),
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Checks the text of an agent file named `name`.
    pub fn parse(name: &str, text: &str) -> Result<Self, ConfigError> {
        let err = |span: Option<std::ops::Range<usize>>, message: String| ConfigError {
            source_name: name.to_string(),
            line: span.map(|s| crate::settings::line_of(text, s.start)),
            message,
        };
        let f: File = toml::from_str(text).map_err(|e| err(e.span(), e.message().to_string()))?;
        // Where a key sits, for errors found after parsing.
        let line_of = |key: &str| {
            text.lines()
                .position(|l| l.trim_start().starts_with(key))
                .map(|i| i + 1)
        };
        let at = |key: &str, message: String| ConfigError {
            source_name: name.to_string(),
            line: line_of(key),
            message,
        };
        let tenant = Id::parse(&f.tenant).map_err(|e| at("tenant", format!("tenant: {e}")))?;
        let device = Id::parse(&f.device).map_err(|e| at("device", format!("device: {e}")))?;
        let mut trusted = TrustedKeys::default();
        if f.trusted_keys.is_empty() {
            return Err(at(
                "trusted_keys",
                "trusted_keys: list at least one public key (vigie keys show prints it)".into(),
            ));
        }
        for k in &f.trusted_keys {
            trusted
                .add_base64(k)
                .map_err(|e| at("trusted_keys", format!("trusted_keys: {e}")))?;
        }
        if f.heartbeat_s == 0 || f.metrics_s == 0 {
            return Err(at(
                if f.heartbeat_s == 0 {
                    "heartbeat_s"
                } else {
                    "metrics_s"
                },
                "intervals must be at least 1 second".into(),
            ));
        }
        match &f.driver {
            DriverConfig::Command {
                read,
                apply,
                revert,
            } if read.is_empty() || apply.is_empty() || revert.is_empty() => {
                return Err(at(
                    "kind",
                    "driver: read, apply and revert each need a command".into(),
                ));
            }
            DriverConfig::File {
                validate, reload, ..
            } if validate.as_ref().is_some_and(Vec::is_empty)
                || reload.as_ref().is_some_and(Vec::is_empty) =>
            {
                return Err(at("kind", "driver: an empty command".into()));
            }
            _ => {}
        }
        let secret = |key: &str, spec: &Option<String>| {
            spec.as_deref()
                .map(|s| crate::settings::secret::resolve_short(s, key))
                .transpose()
                .map_err(|e| at(key, e.to_string()))
        };
        let password = secret("nats_password", &f.nats_password)?;
        let token = secret("nats_token", &f.nats_token)?;
        Ok(Self {
            tenant,
            device,
            nats: f.nats,
            auth: crate::bus::nats::NatsAuth {
                creds: f.nats_creds,
                tls_ca: f.nats_tls_ca,
                tls_cert: f.nats_tls_cert,
                tls_key: f.nats_tls_key,
                user: f.nats_user,
                password,
                token,
                inbox_prefix: f.nats_inbox_prefix,
            },
            state_dir: f.state_dir,
            heartbeat_s: f.heartbeat_s,
            metrics_s: f.metrics_s,
            trusted,
            config_format: f.config_format,
            command_timeout_s: f.command_timeout_s.max(1),
            driver: f.driver,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> String {
        crate::orders::SigningKey::generate()
            .unwrap_or_else(|e| panic!("{e}"))
            .public_base64()
    }

    #[test]
    fn a_good_file_and_its_defaults() {
        let text = format!(
            "tenant = \"acme\"\ndevice = \"rtr-1\"\nstate_dir = \"/tmp/a\"\ntrusted_keys = [\"{}\"]\n\
             [driver]\nkind = \"file\"\npath = \"/etc/app.conf\"\nreload = [\"true\"]\n",
            key()
        );
        let c = AgentConfig::parse("agent.toml", &text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.device.as_str(), "rtr-1");
        assert_eq!(c.heartbeat_s, 30);
        assert!(matches!(c.driver, DriverConfig::File { ref reload, .. } if reload.is_some()));
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            (
                "tenant = \"acme\"\ndevice = \"bad device\"\nstate_dir = \"/x\"\ntrusted_keys = []\n[driver]\nkind = \"file\"\npath = \"/x\"\n",
                "agent.toml:2: device: identifier may only hold",
            ),
            (
                "tenant = \"acme\"\ndevice = \"d\"\nstate_dir = \"/x\"\ntrusted_keys = []\n[driver]\nkind = \"file\"\npath = \"/x\"\n",
                "agent.toml:4: trusted_keys: list at least one",
            ),
            (
                "tenant = \"acme\"\ndevice = \"d\"\nstate_dir = \"/x\"\ntrusted_keys = [\"!!\"]\n[driver]\nkind = \"file\"\npath = \"/x\"\n",
                "agent.toml:4: trusted_keys:",
            ),
            (
                "tenant = \"acme\"\ndevice = \"d\"\nstate_dir = \"/x\"\ntrusted_keys = []\nsurprise = 1\n",
                "agent.toml:5: unknown field `surprise`",
            ),
            (
                "tenant = \"acme\"\ndevice = \"d\"\nstate_dir = \"/x\"\ntrusted_keys = []\n[driver]\nkind = \"ftp\"\n",
                "agent.toml:6: unknown variant `ftp`",
            ),
        ];
        for (text, want) in cases {
            let e = AgentConfig::parse("agent.toml", text)
                .err()
                .unwrap_or_else(|| panic!("accepted: {text}"));
            assert!(e.to_string().starts_with(want), "{e} (wanted {want})");
        }
    }
}
