//! Where vigie keeps its files.

use std::path::PathBuf;

/// The directories vigie uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// User settings, themes and keymaps.
    pub config_dir: PathBuf,
    /// The embedded database and the log file.
    pub data_dir: PathBuf,
}

impl Paths {
    /// The directories, from the environment: `VIGIE_CONFIG_DIR` and
    /// `VIGIE_DATA_DIR` first; then those systemd gives a service
    /// (`CONFIGURATION_DIRECTORY=`, `STATE_DIRECTORY=`); then the user's
    /// platform directories; and for a user without a home directory (a
    /// system user), /etc/vigie and /var/lib/vigie.
    pub fn discover() -> Self {
        let dirs = directories::ProjectDirs::from("", "", "vigie");
        let home = dirs.as_ref().map(|d| {
            (
                d.config_dir().to_path_buf(),
                d.data_local_dir().to_path_buf(),
            )
        });
        Self::from_env(|name| std::env::var_os(name), home)
    }

    /// [`Paths::discover`] with the environment and the user's platform
    /// directories (config, data) given.
    pub fn from_env(
        var: impl Fn(&str) -> Option<std::ffi::OsString>,
        home: Option<(PathBuf, PathBuf)>,
    ) -> Self {
        // systemd lists one directory per `ConfigurationDirectory=` entry,
        // separated by ':'; the first is vigie's.
        let first = |name: &str| {
            var(name)
                .filter(|v| !v.is_empty())
                .and_then(|v| std::env::split_paths(&v).next())
        };
        let config_dir = first("VIGIE_CONFIG_DIR")
            .or_else(|| first("CONFIGURATION_DIRECTORY"))
            .or_else(|| home.as_ref().map(|h| h.0.clone()))
            .unwrap_or_else(|| PathBuf::from("/etc/vigie"));
        let data_dir = first("VIGIE_DATA_DIR")
            .or_else(|| first("STATE_DIRECTORY"))
            .or_else(|| home.as_ref().map(|h| h.1.clone()))
            .unwrap_or_else(|| PathBuf::from("/var/lib/vigie"));
        Self {
            config_dir,
            data_dir,
        }
    }

    /// The user settings file.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("vigie.toml")
    }

    /// The embedded database.
    pub fn default_db(&self) -> PathBuf {
        self.data_dir.join("vigie.db")
    }

    /// The log file.
    pub fn default_log(&self) -> PathBuf {
        self.data_dir.join("vigie.log")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(env: &[(&str, &str)], home: bool) -> (String, String) {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        let home = home.then(|| {
            (
                PathBuf::from("/home/ana/.config/vigie"),
                PathBuf::from("/home/ana/.local/share/vigie"),
            )
        });
        let p = Paths::from_env(
            |name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.into()),
            home,
        );
        (
            p.config_dir.display().to_string(),
            p.data_dir.display().to_string(),
        )
    }

    #[test]
    fn a_service_without_a_home_uses_what_systemd_gives_or_etc_and_var_lib() {
        assert_eq!(
            paths(&[], false),
            ("/etc/vigie".into(), "/var/lib/vigie".into())
        );
        assert_eq!(
            paths(
                &[
                    ("CONFIGURATION_DIRECTORY", "/etc/vigie-a:/etc/other"),
                    ("STATE_DIRECTORY", "/var/lib/vigie-a")
                ],
                true
            ),
            ("/etc/vigie-a".into(), "/var/lib/vigie-a".into())
        );
        assert_eq!(
            paths(
                &[
                    ("VIGIE_CONFIG_DIR", "/c"),
                    ("STATE_DIRECTORY", "/var/lib/vigie-a")
                ],
                true
            ),
            ("/c".into(), "/var/lib/vigie-a".into())
        );
        assert_eq!(
            paths(&[("VIGIE_DATA_DIR", "")], true),
            (
                "/home/ana/.config/vigie".into(),
                "/home/ana/.local/share/vigie".into()
            )
        );
    }
}
