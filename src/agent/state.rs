//! What the agent keeps on disk, in its state directory: the last order
//! sequence it accepted, the push awaiting confirmation with its deadline,
//! the backup (byte for byte), and the reports not yet delivered. Written
//! atomically before anything is acted on, so a crash or a reboot never
//! loses a pending revert.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Id;
use crate::domain::telemetry::PushReport;

/// A push applied and not yet confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub push: Id,
    pub seq: u64,
    pub deadline: DateTime<Utc>,
    /// False when there was no configuration before: reverting removes it.
    pub had_config: bool,
}

/// A report waiting to be published, with its message id (stable, so a
/// report published twice is stored once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outgoing {
    pub id: String,
    pub ts: DateTime<Utc>,
    pub report: PushReport,
}

/// The persisted state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentState {
    pub last_seq: Option<u64>,
    pub pending: Option<Pending>,
    #[serde(default)]
    pub outbox: Vec<Outgoing>,
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        d.sync_all()?;
    }
    Ok(())
}

impl StateDir {
    /// Opens (creating, mode 700) the directory.
    pub fn open(dir: &Path) -> Result<Self, String> {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)
            .map_err(|e| format!("state directory {}: {e}", dir.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    fn backup_path(&self) -> PathBuf {
        self.dir.join("backup")
    }

    /// The state; empty when the agent never ran here. A damaged file is an
    /// error, not a fresh start: it may hold a pending revert.
    pub fn load(&self) -> Result<AgentState, String> {
        let path = self.state_path();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| format!("{}: {e} (fix or move it away)", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AgentState::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    pub fn save(&self, s: &AgentState) -> Result<(), String> {
        let bytes = serde_json::to_vec_pretty(s).map_err(|e| e.to_string())?;
        write_synced(&self.state_path(), &bytes)
            .map_err(|e| format!("{}: {e}", self.state_path().display()))
    }

    pub fn save_backup(&self, bytes: &[u8]) -> Result<(), String> {
        write_synced(&self.backup_path(), bytes)
            .map_err(|e| format!("{}: {e}", self.backup_path().display()))
    }

    pub fn load_backup(&self) -> Result<Vec<u8>, String> {
        std::fs::read(self.backup_path())
            .map_err(|e| format!("{}: {e}", self.backup_path().display()))
    }

    pub fn drop_backup(&self) {
        let _ = std::fs::remove_file(self.backup_path());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_damage_is_an_error() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let sd = StateDir::open(&dir.path().join("s")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sd.load(), Ok(AgentState::default()));
        let s = AgentState {
            last_seq: Some(9),
            pending: Some(Pending {
                push: Id::parse("p-1").unwrap_or_else(|e| panic!("{e}")),
                seq: 9,
                deadline: Utc::now(),
                had_config: true,
            }),
            outbox: Vec::new(),
        };
        sd.save(&s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sd.load(), Ok(s));
        sd.save_backup(b"\x00\xffraw")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sd.load_backup().unwrap_or_default(), b"\x00\xffraw");
        std::fs::write(dir.path().join("s/state.json"), "{").unwrap_or_else(|e| panic!("{e}"));
        assert!(sd.load().is_err());
    }
}
