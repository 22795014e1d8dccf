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
    /// The platform directories, with `VIGIE_CONFIG_DIR` overriding the
    /// config directory and `VIGIE_DATA_DIR` the data directory.
    pub fn discover() -> Self {
        let dirs = directories::ProjectDirs::from("", "", "vigie");
        let config_dir = std::env::var_os("VIGIE_CONFIG_DIR")
            .map(PathBuf::from)
            .or_else(|| dirs.as_ref().map(|d| d.config_dir().to_path_buf()))
            .unwrap_or_else(|| PathBuf::from(".vigie"));
        let data_dir = std::env::var_os("VIGIE_DATA_DIR")
            .map(PathBuf::from)
            .or_else(|| dirs.as_ref().map(|d| d.data_local_dir().to_path_buf()))
            .unwrap_or_else(|| PathBuf::from(".vigie"));
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
