//! Where vigie keeps its files.

use std::path::PathBuf;

/// The directories vigie uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// User settings, themes and keymaps.
    pub config_dir: PathBuf,
    /// The embedded database.
    pub data_dir: PathBuf,
    /// The console's log files and other state that may be lost.
    pub state_dir: PathBuf,
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
        // An explicit data directory (tests, a service) keeps the logs
        // beside it; a user's go to the XDG state directory.
        let state_dir = first("VIGIE_STATE_DIR")
            .or_else(|| first("VIGIE_DATA_DIR"))
            .or_else(|| first("LOGS_DIRECTORY"))
            .or_else(|| first("STATE_DIRECTORY"))
            .or_else(|| {
                home.as_ref()?;
                first("XDG_STATE_HOME")
                    .map(|d| d.join("vigie"))
                    .or_else(|| first("HOME").map(|h| h.join(".local/state/vigie")))
            })
            .unwrap_or_else(|| data_dir.clone());
        Self {
            config_dir,
            data_dir,
            state_dir,
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

    /// The log file (rotated daily: `vigie.YYYY-MM-DD.log` beside it).
    pub fn default_log(&self) -> PathBuf {
        self.state_dir.join("vigie.log")
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

    fn state(env: &[(&str, &str)], home: bool) -> String {
        let home = home.then(|| {
            (
                PathBuf::from("/h/.config/vigie"),
                PathBuf::from("/h/.local/share/vigie"),
            )
        });
        Paths::from_env(
            |name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.into()),
            home,
        )
        .state_dir
        .display()
        .to_string()
    }

    #[test]
    fn logs_go_to_the_state_directory() {
        let home = [("HOME", "/h")];
        assert_eq!(state(&home, true), "/h/.local/state/vigie");
        assert_eq!(
            state(&[("HOME", "/h"), ("XDG_STATE_HOME", "/s")], true),
            "/s/vigie"
        );
        assert_eq!(
            state(&[("HOME", "/h"), ("VIGIE_STATE_DIR", "/v")], true),
            "/v"
        );
        // An explicit data directory keeps its logs beside it.
        assert_eq!(
            state(&[("HOME", "/h"), ("VIGIE_DATA_DIR", "/d")], true),
            "/d"
        );
        // A service: systemd's logs directory, else its state directory.
        assert_eq!(
            state(
                &[
                    ("LOGS_DIRECTORY", "/var/log/vigie"),
                    ("STATE_DIRECTORY", "/var/lib/v")
                ],
                false
            ),
            "/var/log/vigie"
        );
        assert_eq!(
            state(&[("STATE_DIRECTORY", "/var/lib/v")], false),
            "/var/lib/v"
        );
        assert_eq!(state(&[], false), "/var/lib/vigie");
    }
}
