//! Processes the reliability tests start, stop and kill: a nats-server of
//! their own (free port, temporary store), a temporary PostgreSQL cluster,
//! and the real `vigie worker` binary.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::services::unavailable;

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for_port(port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn find_binary(name: &str, extra: &[&str]) -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    from_path.or_else(|| {
        extra
            .iter()
            .flat_map(|pattern| glob_dirs(pattern))
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// The oldest nats-server vigie supports (docs/OPERATIONS.md says why).
pub const NATS_MIN: (u32, u32) = (2, 10);

/// A nats-server of at least [`NATS_MIN`]: `VIGIE_NATS_SERVER`, else the
/// first on PATH, in /usr/local/bin or in /usr/sbin that is recent enough.
pub fn nats_server_binary() -> Result<PathBuf, String> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("VIGIE_NATS_SERVER") {
        candidates.push(PathBuf::from(p));
    }
    candidates.extend(find_binary("nats-server", &[]));
    candidates.extend(
        ["/usr/local/bin", "/usr/sbin"]
            .iter()
            .map(|d| Path::new(d).join("nats-server")),
    );
    let mut seen = Vec::new();
    for bin in candidates.into_iter().filter(|b| b.is_file()) {
        let out = Command::new(&bin).arg("--version").output();
        let text = out
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        // "nats-server: v2.15.1"
        let version = text
            .rsplit_once(" v")
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default();
        let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        if (major, minor) >= NATS_MIN {
            return Ok(bin);
        }
        seen.push(format!("{} is {version:?}", bin.display()));
    }
    Err(format!(
        "no nats-server {}.{} or later ({})",
        NATS_MIN.0,
        NATS_MIN.1,
        if seen.is_empty() {
            "none installed".to_string()
        } else {
            seen.join(", ")
        }
    ))
}

/// `/usr/lib/postgresql/*/bin`: the directories matching one `*`.
fn glob_dirs(pattern: &str) -> Vec<PathBuf> {
    let Some((head, tail)) = pattern.split_once('*') else {
        return vec![PathBuf::from(pattern)];
    };
    let mut out: Vec<PathBuf> = std::fs::read_dir(head)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path().join(tail.trim_start_matches('/')))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out.reverse();
    out
}

/// JetStream's store, sized so that vigie's stream limits (11 GiB by
/// default) fit whatever the disk has free: the limits reserve, they do
/// not allocate, and nats-server would otherwise take 75% of the free
/// disk as its ceiling.
pub const JETSTREAM_STORE: &str = "\njetstream { max_file_store: 64GB }\n";

/// A nats-server with JetStream, owned by one test.
pub struct NatsServer {
    pub port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts one, or `None` (skipped) when nats-server is not installed
    /// outside CI.
    pub fn start() -> Option<Self> {
        let bin = match nats_server_binary() {
            Ok(bin) => bin,
            Err(why) => return unavailable("nats-server", why),
        };
        let s = Self {
            port: free_port(),
            dir: tempfile::tempdir().expect("temp dir"),
            bin,
            child: None,
        };
        Some(s.with_config(String::new()))
    }

    /// Starts one with the configuration `make` writes into the server's
    /// directory (it may put certificates there first), or `None`
    /// (skipped) when nats-server is not installed outside CI.
    pub fn start_with_config(make: impl FnOnce(&Path) -> String) -> Option<Self> {
        let mut s = Self::start()?;
        s.kill();
        let config = make(s.dir.path());
        Some(s.with_config(config))
    }

    /// Starts one with exactly the configuration file `conf` (which says
    /// where to listen: on `port`), or `None` (skipped) when nats-server is
    /// not installed outside CI.
    pub fn start_with_file(conf: &Path, port: u16) -> Option<Self> {
        let bin = match nats_server_binary() {
            Ok(bin) => bin,
            Err(why) => return unavailable("nats-server", why),
        };
        let child = Command::new(&bin)
            .arg("-c")
            .arg(conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        assert!(
            wait_for_port(port, Duration::from_secs(10)),
            "nats-server did not listen on {port}"
        );
        Some(Self {
            port,
            dir: tempfile::tempdir().expect("temp dir"),
            bin,
            child: Some(child),
        })
    }

    /// The directory the server's files live in (for certificates).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Starts one whose telemetry subjects are mapped to `partitions`
    /// partitions, as docs/OPERATIONS.md configures it for scale-out.
    pub fn start_partitioned(partitions: u32) -> Option<Self> {
        let mut s = Self::start()?;
        s.kill();
        let conf = format!(
            "mappings = {{\n  \"vigie.tel.*.*.*\": \"vigie.tel.{{{{wildcard(1)}}}}.{{{{wildcard(2)}}}}.{{{{wildcard(3)}}}}.{{{{partition({partitions},1,2)}}}}\"\n}}\n"
        );
        Some(s.with_config(conf))
    }

    /// Starts it with `config` and the JetStream store of [`JETSTREAM_STORE`].
    fn with_config(mut self, config: String) -> Self {
        std::fs::write(self.dir.path().join("nats.conf"), config + JETSTREAM_STORE)
            .expect("write nats.conf");
        self.spawn();
        self
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let conf = self.dir.path().join("nats.conf");
        let mut cmd = Command::new(&self.bin);
        if conf.is_file() {
            cmd.arg("-c").arg(&conf);
        }
        let child = cmd
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.dir.path().join("js"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        assert!(
            wait_for_port(self.port, Duration::from_secs(10)),
            "nats-server did not listen"
        );
    }

    /// Kills the server (SIGKILL): no goodbye to its clients.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and store.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A PostgreSQL cluster of one test's own, so that the test can stop it.
pub struct TempPg {
    pub port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
    running: bool,
}

fn as_postgres(cmd: &Path) -> Command {
    // PostgreSQL refuses to run as root: run it as the postgres user then.
    let root = std::env::var("USER").is_ok_and(|u| u == "root")
        || Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(cmd);
        c
    } else {
        Command::new(cmd)
    }
}

impl TempPg {
    /// Makes and starts a cluster, or `None` (skipped) when PostgreSQL's
    /// server binaries are not installed outside CI.
    pub fn start() -> Option<Self> {
        let Some(initdb) = find_binary("initdb", &["/usr/lib/postgresql/*/bin"]) else {
            return unavailable("PostgreSQL (initdb)", "not installed");
        };
        let bin = initdb.parent().expect("bin dir").to_path_buf();
        let dir = tempfile::tempdir().expect("temp dir");
        // The postgres user must own the cluster's directory.
        let _ = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status();
        let data = dir.path().join("data");
        let out = as_postgres(&initdb)
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut pg = Self {
            port: free_port(),
            dir,
            bin,
            running: false,
        };
        pg.start_again();
        Some(pg)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl(&self, args: &[&str]) {
        let out = as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(args)
            .stdout(Stdio::null())
            .output()
            .expect("run pg_ctl");
        assert!(
            out.status.success(),
            "pg_ctl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the stopped cluster.
    pub fn start_again(&mut self) {
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log");
        self.pg_ctl(&["-w", "-o", &opts, "-l", &log.to_string_lossy(), "start"]);
        self.running = true;
    }

    /// Stops it at once: clients are cut off mid-transaction.
    pub fn stop(&mut self) {
        self.pg_ctl(&["-w", "-m", "immediate", "stop"]);
        self.running = false;
    }
}

impl Drop for TempPg {
    fn drop(&mut self) {
        if self.running {
            let _ = as_postgres(&self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(self.dir.path().join("data"))
                .args(["-m", "immediate", "stop"])
                .output();
        }
    }
}

/// The real `vigie worker`, as a child process.
pub struct WorkerProc {
    child: Child,
    pub listen: u16,
    _config: tempfile::TempDir,
}

impl WorkerProc {
    pub fn spawn(nats: &str, database: &str, consumer: &str) -> Self {
        Self::spawn_with(nats, database, consumer, &[])
    }

    /// With more arguments to `vigie worker`.
    pub fn spawn_with(nats: &str, database: &str, consumer: &str, extra: &[&str]) -> Self {
        let config = tempfile::tempdir().expect("temp dir");
        let listen = free_port();
        let log = std::fs::File::create(config.path().join("worker.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_vigie"))
            .args(["worker", "--nats", nats, "--database", database])
            .args(["--consumer", consumer, "--listen"])
            .arg(format!("127.0.0.1:{listen}"))
            .args(extra)
            .envs(super::auth::worker_env())
            .env("VIGIE_CONFIG_DIR", config.path())
            .env("VIGIE_DATA_DIR", config.path())
            .env("VIGIE_LOG_LEVEL", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start vigie worker");
        Self {
            child,
            listen,
            _config: config,
        }
    }

    /// The process id (for its memory in /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// (resident now, peak resident) in KiB, from /proc.
    pub fn rss_kib(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// SIGKILL: no drain, no goodbye.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A counter or gauge from the worker's /metrics.
    pub fn metric(&self, name: &str) -> Option<u64> {
        let (_, body) = self.get("/metrics")?;
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    }

    /// The worker's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._config.path().join("worker.log")).unwrap_or_default()
    }

    /// GET `path` on the worker's --listen address: (status code, body).
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.listen)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(s, "GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        let code = text.get(9..12)?.parse().ok()?;
        let body = text
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_string();
        Some((code, body))
    }
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real `vigie agent`, as a child process.
pub struct AgentProc {
    child: Child,
    config: PathBuf,
    log: PathBuf,
}

impl AgentProc {
    /// Starts `vigie agent --config FILE`; its log goes beside the file.
    pub fn spawn(config: &Path) -> Self {
        let log = config.with_extension("log");
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("agent log");
        let child = Command::new(env!("CARGO_BIN_EXE_vigie"))
            .arg("agent")
            .arg("--config")
            .arg(config)
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .expect("start vigie agent");
        Self {
            child,
            config: config.to_path_buf(),
            log,
        }
    }

    /// SIGKILL, then the same agent again.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        *self = Self::spawn(&self.config.clone());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then how long the agent took to exit (`None`: it did not
    /// within `within`, and was killed).
    pub fn terminate(&mut self, within: Duration) -> Option<Duration> {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).ok()?);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let start = Instant::now();
        while start.elapsed() < within {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
