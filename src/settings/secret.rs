//! Secrets in settings and flags: given as `env:VAR` or `file:PATH` (or,
//! in a settings file only its owner can read, inline), held in a type
//! that never prints its value, and kept out of logs by [`redact_url`].

use std::fmt;
use std::path::Path;

pub use crate::domain::redact::{Secret, redact_text, redact_url};

/// How a secret setting was given; `Debug` never shows an inline value.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSpec {
    Env(String),
    File(std::path::PathBuf),
    Inline(Secret),
}

impl fmt::Debug for SecretSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSpec::Env(v) => write!(f, "env:{v}"),
            SecretSpec::File(p) => write!(f, "file:{}", p.display()),
            SecretSpec::Inline(_) => f.write_str("<inline secret>"),
        }
    }
}

impl SecretSpec {
    pub fn parse(s: &str) -> Self {
        if let Some(v) = s.strip_prefix("env:") {
            SecretSpec::Env(v.to_string())
        } else if let Some(p) = s.strip_prefix("file:") {
            SecretSpec::File(p.into())
        } else {
            SecretSpec::Inline(Secret::new(s.as_bytes().to_vec()))
        }
    }

    /// The value. `what` names the setting in errors, which never hold
    /// the value itself.
    pub fn resolve(&self, what: &str) -> Result<Secret, String> {
        let value = match self {
            SecretSpec::Env(var) => std::env::var(var)
                .map_err(|_| format!("{what}: environment variable {var} is not set"))?
                .into_bytes(),
            SecretSpec::File(path) => {
                refuse_exposed(path).map_err(|e| format!("{what}: {e}"))?;
                let mut b =
                    std::fs::read(path).map_err(|e| format!("{what}: {}: {e}", path.display()))?;
                while b.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
                    b.pop();
                }
                b
            }
            SecretSpec::Inline(s) => s.expose().to_vec(),
        };
        if value.len() < 16 {
            return Err(format!("{what}: the secret is shorter than 16 bytes"));
        }
        Ok(Secret::new(value))
    }
}

/// Refuses a file that group or others may read.
pub fn refuse_exposed(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "{} holds a secret and is readable by group or others (mode {mode:o}): chmod 600 {}",
            path.display(),
            path.display()
        ));
    }
    Ok(())
}

/// A flag's secret: `env:VAR` or `file:PATH` only (a value on a command
/// line is visible to every user of the host).
pub fn resolve(spec: &str, what: &str) -> anyhow::Result<Secret> {
    match SecretSpec::parse(spec) {
        SecretSpec::Inline(_) => anyhow::bail!("{what}: give the secret as env:VAR or file:PATH"),
        s => s.resolve(what).map_err(anyhow::Error::msg),
    }
}

/// A flag's secret that may be short (a password or token of another
/// system): `env:VAR` or `file:PATH` only, and not empty.
pub fn resolve_short(spec: &str, what: &str) -> anyhow::Result<Secret> {
    let value = match SecretSpec::parse(spec) {
        SecretSpec::Inline(_) => anyhow::bail!("{what}: give the secret as env:VAR or file:PATH"),
        SecretSpec::Env(var) => std::env::var(&var)
            .map_err(|_| anyhow::anyhow!("{what}: environment variable {var} is not set"))?
            .into_bytes(),
        SecretSpec::File(path) => {
            refuse_exposed(&path).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
            let mut b = std::fs::read(&path)
                .map_err(|e| anyhow::anyhow!("{what}: {}: {e}", path.display()))?;
            while b.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
                b.pop();
            }
            b
        }
    };
    if value.is_empty() {
        anyhow::bail!("{what}: the secret is empty");
    }
    Ok(Secret::new(value))
}

/// Reads a secret key file, or makes one (32 random bytes, hex, mode 600)
/// when there is none.
pub fn load_or_create(path: &Path) -> anyhow::Result<Secret> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if !path.exists() {
        let mut b = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
            .map_err(|_| anyhow::anyhow!("no random numbers"))?;
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        f.write_all(hex.as_bytes())?;
        tracing::info!(file = %path.display(), "made a session key");
    }
    SecretSpec::File(path.to_path_buf())
        .resolve("session key")
        .map_err(anyhow::Error::msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = SecretSpec::parse("hunter2hunter2hunter2");
        assert_eq!(format!("{s:?}"), "<inline secret>");
        let v = s.resolve("x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(format!("{v:?} {v}"), "<secret> <secret>");
        assert_eq!(
            redact_url("postgres://vigie:s3cret@db:5432/vigie"),
            "postgres://vigie:***@db:5432/vigie"
        );
        assert_eq!(
            redact_url("postgres://vigie@db/vigie"),
            "postgres://***@db/vigie",
            "a user alone may be a token (nats://TOKEN@host): hidden too"
        );
    }

    #[test]
    fn a_secret_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let f = dir.path().join("k");
        std::fs::write(&f, "0123456789abcdef0123\n").unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("{e}"));
        let e = SecretSpec::parse(&format!("file:{}", f.display())).resolve("worker.session_key");
        assert!(e.is_err_and(|e| e.contains("chmod 600")));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600))
            .unwrap_or_else(|e| panic!("{e}"));
        let ok = SecretSpec::parse(&format!("file:{}", f.display())).resolve("k");
        assert_eq!(ok.map(|s| s.expose().len()), Ok(20));
        let e = resolve("inline-value-that-is-long", "--session-key");
        assert!(e.is_err());
    }
}
