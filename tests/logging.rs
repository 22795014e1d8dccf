//! Logs as operators expect them: the worker's JSON lines flat (fields at
//! the top level) with `RUST_LOG` honoured, and the console's log file
//! rotated daily under a dated name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The first `n` lines the worker writes to standard error (it cannot
/// reach NATS; it logs its start first).
fn worker_lines(rust_log: Option<&str>, n: usize) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigie"));
    cmd.args(["worker", "--nats", "nats://127.0.0.1:1", "--database"])
        .arg(format!("sqlite://{}/v.db", dir.path().display()))
        .env("VIGIE_CONFIG_DIR", dir.path())
        .env("VIGIE_DATA_DIR", dir.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(r) = rust_log {
        cmd.env("RUST_LOG", r);
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let until = Instant::now() + Duration::from_secs(20);
    let mut out = Vec::new();
    while out.len() < n && Instant::now() < until {
        match rx.recv_timeout(Duration::from_millis(200)) {
            // Its last words, once it gives up, are plain text.
            Ok(line) if line.starts_with("vigie: ") => break,
            Ok(line) => {
                out.push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(_) => {}
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    out
}

#[test]
fn worker_json_lines_are_flat_and_rust_log_is_honoured() {
    let lines = worker_lines(None, 3);
    assert!(lines.len() >= 3, "{lines:?}");
    for l in &lines {
        assert!(l["message"].is_string(), "message at the top level: {l}");
        assert!(l.get("fields").is_none(), "no nested fields: {l}");
        assert!(l["level"].is_string() && l["timestamp"].is_string(), "{l}");
    }
    // RUST_LOG narrows it: warnings only.
    let quiet = worker_lines(Some("warn"), 2);
    assert!(!quiet.is_empty(), "the missing signing key is warned about");
    assert!(quiet.iter().all(|l| l["level"] != "INFO"), "{quiet:?}");
}

#[test]
fn the_log_file_rotates_daily_under_a_dated_name() {
    let dir = tempfile::tempdir().unwrap();
    let guard = vigie::logging::to_file(&dir.path().join("logs/vigie.log"), "info").unwrap();
    tracing::info!("a line for the dated file");
    drop(guard);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let files: Vec<String> = std::fs::read_dir(dir.path().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, [format!("vigie.{today}.log")]);
    let text = std::fs::read_to_string(dir.path().join("logs").join(&files[0])).unwrap();
    assert!(text.contains("a line for the dated file"), "{text}");
}
