//! A nats-server of the benchmark's own, on a free port with a temporary
//! store. Shared by the benchmarks that need one.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A nats-server of the benchmark's own.
pub struct Nats {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Nats {
    pub fn start() -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        // The streams' limits (11 GiB by default) reserve store: give the
        // server more than the disk may have free (nothing is allocated).
        let conf = dir.path().join("nats.conf");
        std::fs::write(&conf, "jetstream { max_file_store: 64GB }\n").unwrap();
        let child = Command::new("nats-server")
            .arg("-c")
            .arg(&conf)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server on PATH (scripts/services.sh installs it)");
        wait_for(port);
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    /// A server of a secure deployment (`vigie nats init`'s keys, JWTs
    /// and configuration), with the simulator's credentials issued too;
    /// the deployment's directory (its `creds/`) is returned. (Not every
    /// benchmark that shares this file uses it.)
    #[allow(dead_code)]
    pub fn start_secure() -> (Self, std::path::PathBuf) {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let deployment = vigie::bus::nats::deployment::Deployment::at(dir.path());
        let now = chrono::Utc::now().timestamp();
        deployment.init(&format!("127.0.0.1:{port}"), now).unwrap();
        deployment
            .issue_to("sim", &vigie::bus::nats::deployment::sim_permissions(), now)
            .unwrap();
        let child = Command::new("nats-server")
            .arg("-c")
            .arg(deployment.config())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server on PATH (scripts/services.sh installs it)");
        wait_for(port);
        let path = dir.path().to_path_buf();
        (
            Self {
                child,
                port,
                _dir: dir,
            },
            path,
        )
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Until the server listens (10 s at most).
fn wait_for(port: u16) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
