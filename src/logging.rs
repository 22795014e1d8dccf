//! Logs go to a file, never to the screen while the TUI is up. The
//! level is `log.level` (or `VIGIE_LOG_LEVEL`); `RUST_LOG`, when set to a
//! valid filter, takes its place, as in any Rust program.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::EnvFilter;

/// How many daily log files are kept.
pub const KEEP_DAYS: usize = 14;

/// The filter: `RUST_LOG` when it is a valid one, else `level`, else
/// `info`.
pub fn filter(level: &str, rust_log: Option<&str>) -> EnvFilter {
    rust_log
        .filter(|r| !r.trim().is_empty())
        .and_then(|r| EnvFilter::try_new(r).ok())
        .or_else(|| EnvFilter::try_new(level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"))
}

fn env_filter(level: &str) -> EnvFilter {
    filter(level, std::env::var("RUST_LOG").ok().as_deref())
}

/// Sends logs to `file`'s directory (created), one file a day named after
/// it (`vigie.log` → `vigie.2026-12-08.log`), the last [`KEEP_DAYS`] kept.
/// Keep the guard alive: dropping it flushes the log.
pub fn to_file(file: &Path, level: &str) -> anyhow::Result<WorkerGuard> {
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| anyhow::anyhow!("log file {} has no file name", file.display()))?;
    let mut builder = Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix(stem)
        .max_log_files(KEEP_DAYS);
    if let Some(ext) = file.extension().and_then(|e| e.to_str()) {
        builder = builder.filename_suffix(ext);
    }
    let appender = builder
        .build(dir)
        .map_err(|e| anyhow::anyhow!("log file in {}: {e}", dir.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    // A second init (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(env_filter(level))
        .with_writer(writer)
        .with_ansi(false)
        .try_init();
    Ok(guard)
}

/// Sends logs to standard error, for short headless commands.
pub fn to_stderr(level: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(env_filter(level))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Structured JSON logs on standard error, for headless services: one
/// object a line with the event's fields at the top level (`message`,
/// `error`, …), as Loki, ECS and journald pipelines expect.
pub fn json_to_stderr(level: &str) {
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_env_filter(env_filter(level))
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_takes_the_place_of_the_level_when_valid() {
        let shown = |level: &str, rust_log: Option<&str>| filter(level, rust_log).to_string();
        assert_eq!(shown("warn", None), "warn");
        assert_eq!(shown("warn", Some("vigie=debug")), "vigie=debug");
        assert_eq!(shown("warn", Some("")), "warn");
        assert_eq!(shown("warn", Some("vigie=[")), "warn");
        assert_eq!(shown("vigie=[", None), "info");
    }
}
