//! Apply drivers: how a configuration reaches the host, and how the backup
//! comes back. `file` replaces one file atomically (write beside it, sync,
//! rename), with optional validate and reload commands; `command` hands
//! the configuration to the host's own tools on standard input.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;

use super::config::DriverConfig;

/// A configured driver.
#[derive(Debug, Clone)]
pub struct Driver {
    cfg: DriverConfig,
    timeout: Duration,
}

/// Most bytes kept of a command's standard output (a configuration read
/// back); more is an error, not unbounded memory.
pub const MAX_OUTPUT: usize = 64 << 20;
/// Most bytes kept of a command's standard error (its end is what counts).
const MAX_STDERR: usize = 64 << 10;

/// Kills a command's whole process group when dropped: on a timeout, and
/// when the agent drops the command's future (at shutdown), no helper the
/// command started is left running or holding its pipes.
struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Reads all of `r`, keeping at most `max` bytes: the first ones, or (with
/// `tail`) the last ones. Returns the bytes and whether any were dropped.
async fn drain<R: tokio::io::AsyncRead + Unpin>(
    mut r: R,
    max: usize,
    tail: bool,
) -> std::io::Result<(Vec<u8>, bool)> {
    use tokio::io::AsyncReadExt as _;
    let mut kept = Vec::new();
    let mut cut = false;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return Ok((kept, cut));
        }
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > max {
            cut = true;
            if tail {
                let extra = kept.len() - max;
                kept.drain(..extra);
            } else {
                kept.truncate(max);
            }
        }
    }
}

/// Runs `argv` with `input` on standard input; the error says which
/// command failed and the end of what it wrote on standard error.
///
/// The input is written while standard output and error are read, so a
/// command that echoes a large input cannot fill a pipe and stall both
/// sides; all of it runs under `timeout`, after which the command's whole
/// process group is killed.
async fn run(argv: &[String], input: Option<&[u8]>, timeout: Duration) -> Result<Vec<u8>, String> {
    let Some((program, args)) = argv.split_first() else {
        return Err("empty command".into());
    };
    let shown = argv.join(" ");
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("`{shown}` did not start: {e}"))?;
    let group = GroupGuard(child.id().and_then(|p| i32::try_from(p).ok()));
    let stdin = child.stdin.take();
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(format!("`{shown}`: its output pipes did not open"));
    };
    let write = async {
        if let (Some(bytes), Some(mut stdin)) = (input, stdin) {
            // A command that exits without reading all its input is judged
            // by its exit status, not by the broken pipe.
            match stdin.write_all(bytes).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(format!("`{shown}`: writing its input: {e}")),
            }
            drop(stdin);
        }
        Ok(())
    };
    let all = async {
        let (written, out, err) = tokio::join!(
            write,
            drain(stdout, MAX_OUTPUT, false),
            drain(stderr, MAX_STDERR, true)
        );
        let status = child.wait().await;
        (written, out, err, status)
    };
    let (written, out, err, status) = tokio::time::timeout(timeout, all).await.map_err(|_| {
        format!(
            "`{shown}` did not finish within {}s: killed",
            timeout.as_secs()
        )
    })?;
    drop(group);
    written?;
    let status = status.map_err(|e| format!("`{shown}`: {e}"))?;
    let (stdout, cut) = out.map_err(|e| format!("`{shown}`: reading its output: {e}"))?;
    let (stderr, _) = err.map_err(|e| format!("`{shown}`: reading its errors: {e}"))?;
    if status.success() {
        if cut {
            return Err(format!(
                "`{shown}` wrote more than {} MiB",
                MAX_OUTPUT >> 20
            ));
        }
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&stderr);
    let tail: String = stderr
        .trim()
        .chars()
        .rev()
        .take(400)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Err(format!("`{shown}` failed ({status}): {tail}"))
}

/// Writes `bytes` to `path` atomically: a file beside it, synced, renamed
/// over it, and the directory synced. The new file keeps the old one's
/// permissions.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = candidate(path);
    let fail = |what: &str, e: std::io::Error| format!("{what} {}: {e}", tmp.display());
    let mut f = std::fs::File::create(&tmp).map_err(|e| fail("creating", e))?;
    f.write_all(bytes).map_err(|e| fail("writing", e))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = f.set_permissions(meta.permissions());
    }
    f.sync_all().map_err(|e| fail("syncing", e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| format!("replacing {}: {e}", path.display()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn candidate(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".vigie-new");
    path.with_file_name(name)
}

impl Driver {
    pub fn new(cfg: DriverConfig, timeout: Duration) -> Self {
        Self { cfg, timeout }
    }

    /// The same driver, whose commands get at most `limit` each (at
    /// least a second): an apply must not outlast the revert deadline.
    pub fn within(&self, limit: Duration) -> Self {
        Self {
            cfg: self.cfg.clone(),
            timeout: self.timeout.min(limit.max(Duration::from_secs(1))),
        }
    }

    /// The running configuration; `None` when the file does not exist.
    pub async fn read(&self) -> Result<Option<Vec<u8>>, String> {
        match &self.cfg {
            DriverConfig::File { path, .. } => match std::fs::read(path) {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(format!("reading {}: {e}", path.display())),
            },
            DriverConfig::Command { read, .. } => run(read, None, self.timeout).await.map(Some),
        }
    }

    /// Applies `body`. On error nothing changed, except after a failed
    /// reload, which the caller answers by restoring the backup.
    pub async fn apply(&self, body: &[u8]) -> Result<(), String> {
        match &self.cfg {
            DriverConfig::File {
                path,
                validate,
                reload,
            } => {
                if let Some(v) = validate {
                    let tmp = candidate(path);
                    std::fs::write(&tmp, body)
                        .map_err(|e| format!("writing {}: {e}", tmp.display()))?;
                    let shown = tmp.display().to_string();
                    let argv: Vec<String> = v.iter().map(|a| a.replace("{path}", &shown)).collect();
                    let checked = run(&argv, None, self.timeout).await;
                    let _ = std::fs::remove_file(&tmp);
                    checked.map_err(|e| format!("validation refused it: {e}"))?;
                }
                write_atomic(path, body)?;
                if let Some(r) = reload {
                    run(r, None, self.timeout).await?;
                }
                Ok(())
            }
            DriverConfig::Command { apply, .. } => {
                run(apply, Some(body), self.timeout).await.map(|_| ())
            }
        }
    }

    /// Puts the backup back byte for byte (`None`: there was no file, so
    /// it is removed), then reloads.
    pub async fn restore(&self, backup: Option<&[u8]>) -> Result<(), String> {
        match &self.cfg {
            DriverConfig::File { path, reload, .. } => {
                match backup {
                    Some(b) => write_atomic(path, b)?,
                    None => match std::fs::remove_file(path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(format!("removing {}: {e}", path.display())),
                    },
                }
                if let Some(r) = reload {
                    run(r, None, self.timeout).await?;
                }
                Ok(())
            }
            DriverConfig::Command { revert, .. } => {
                run(revert, Some(backup.unwrap_or_default()), self.timeout)
                    .await
                    .map(|_| ())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_driver(path: &Path, validate: Option<&str>, reload: Option<&str>) -> Driver {
        let sh = |s: &str| vec!["sh".to_string(), "-c".to_string(), s.to_string()];
        Driver::new(
            DriverConfig::File {
                path: path.to_path_buf(),
                validate: validate.map(|v| {
                    let mut a = sh(v);
                    a.push("check".into());
                    a.push("{path}".into());
                    a
                }),
                reload: reload.map(sh),
            },
            Duration::from_secs(10),
        )
    }

    #[tokio::test]
    async fn file_apply_validate_and_restore() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("app.conf");
        let old = b"port 80\r\n\x00binary tail\n".to_vec();
        std::fs::write(&path, &old).unwrap_or_else(|e| panic!("{e}"));
        let d = file_driver(&path, Some("grep -q port \"$1\""), Some("true"));
        let backup = d.read().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(backup.as_deref(), Some(&old[..]));
        d.apply(b"port 8080\n")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(std::fs::read(&path).unwrap_or_default(), b"port 8080\n");
        // The validator refuses: nothing changes, no candidate left behind.
        let e = d.apply(b"nonsense\n").await.unwrap_err();
        assert!(e.starts_with("validation refused it"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap_or_default(), b"port 8080\n");
        assert!(!candidate(&path).exists());
        d.restore(backup.as_deref())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            std::fs::read(&path).unwrap_or_default(),
            old,
            "byte for byte"
        );
        // No file before: restoring removes it.
        d.restore(None).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn a_failing_reload_and_commands() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("app.conf");
        let d = file_driver(&path, None, Some("echo reload broke >&2; exit 3"));
        let e = d.apply(b"x\n").await.unwrap_err();
        assert!(e.contains("reload broke"), "{e}");
        let store = dir.path().join("store");
        let shown = store.display().to_string();
        let c = Driver::new(
            DriverConfig::Command {
                read: vec!["cat".into(), shown.clone()],
                apply: vec!["sh".into(), "-c".into(), format!("cat > {shown}")],
                revert: vec!["sh".into(), "-c".into(), format!("cat > {shown}")],
            },
            Duration::from_secs(10),
        );
        c.apply(b"v2\n").await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.read().await.ok().flatten().unwrap_or_default(), b"v2\n");
        c.restore(Some(b"v1\n"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.read().await.ok().flatten().unwrap_or_default(), b"v1\n");
        let slow = Driver::new(
            DriverConfig::Command {
                read: vec!["sleep".into(), "5".into()],
                apply: vec!["true".into()],
                revert: vec!["true".into()],
            },
            Duration::from_secs(1),
        );
        let e = slow.read().await.unwrap_err();
        assert!(e.contains("did not finish within 1s"), "{e}");
    }
}
