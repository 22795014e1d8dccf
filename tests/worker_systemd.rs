//! `vigie worker` under systemd (`Type=notify`, `WatchdogSec=`): it says
//! READY=1 once it serves, pings the watchdog while its loop turns, and
//! says STOPPING=1 on SIGTERM. The notify socket is the test's own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::cluster::NatsServer;

/// The datagrams received within `within`, until one contains `want`.
fn wait_for(sock: &UnixDatagram, want: &str, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        sock.set_read_timeout(Some(
            deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1)),
        ))
        .unwrap();
        if let Ok(n) = sock.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let done = text.contains(want);
            seen.push(text);
            if done {
                return seen;
            }
        }
    }
    panic!("no {want:?} within {within:?}; got {seen:?}");
}

#[test]
fn the_worker_tells_systemd_it_is_ready_alive_and_stopping() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&socket).unwrap();
    let db = format!("sqlite:{}", dir.path().join("v.db").display());
    // systemd names the process the watchdog is for: the shell's pid is
    // the worker's once it execs.
    let mut child = Command::new("sh")
        .args(["-c", "WATCHDOG_PID=$$ exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_vigie"))
        .args(["worker", "--nats", &nats.url(), "--database", &db])
        .envs(support::auth::worker_env())
        .env("VIGIE_CONFIG_DIR", dir.path())
        .env("VIGIE_DATA_DIR", dir.path())
        .env("NOTIFY_SOCKET", &socket)
        .env("WATCHDOG_USEC", "400000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ready = wait_for(&sock, "READY=1", Duration::from_secs(30));
    assert!(
        ready.iter().all(|m| !m.contains("WATCHDOG=1")),
        "a ping before ready: {ready:?}"
    );
    // Two pings: the loop keeps turning with nothing to do.
    wait_for(&sock, "WATCHDOG=1", Duration::from_secs(5));
    wait_for(&sock, "WATCHDOG=1", Duration::from_secs(5));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    wait_for(&sock, "STOPPING=1", Duration::from_secs(30));
    assert!(child.wait().unwrap().success());
}
