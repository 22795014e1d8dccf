//! Drives the real binary in a pseudo-terminal: `vigie demo` shows a live
//! fleet, `q` quits, and the terminal is left as it was found (main screen,
//! cursor visible, echo and line editing on).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::termios::LocalFlags;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// Feeds output to the screen model. Queries are not answered: the console
/// must work on terminals (and SSH links) that never reply.
fn pump(
    rx: &mpsc::Receiver<Vec<u8>>,
    parser: &mut vt100::Parser,
    all: &mut Vec<u8>,
    wait: Duration,
) {
    let deadline = Instant::now() + wait;
    while let Ok(chunk) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        parser.process(&chunk);
        all.extend_from_slice(&chunk);
        if Instant::now() >= deadline {
            break;
        }
    }
}

#[test]
fn demo_shows_a_live_fleet_and_quits_cleanly() {
    let mut demo = Demo::start(&["--devices", "300"]);
    assert!(demo.before.local_flags.contains(LocalFlags::ECHO));

    // The fleet appears and is live.
    demo.wait_for("a live fleet", Duration::from_secs(60), |s| {
        s.contains("● live") && s.matches("▲ online").count() >= 5
    });
    assert!(
        demo.parser.screen().alternate_screen(),
        "the console uses the alternate screen"
    );
    let during = demo.master.get_termios().unwrap();
    assert!(
        !during.local_flags.contains(LocalFlags::ECHO),
        "raw mode while running"
    );

    // Filter the fleet from the keyboard.
    demo.send(b"/bldr");
    demo.wait_for("the filter", Duration::from_secs(10), |s| {
        s.contains("/bldr") && s.contains("Boulder") && !s.contains("Zürich")
    });
    demo.send(b"\x1b");

    // Every view from the keyboard: the incident queue, the alert tail,
    // and back to the fleet through the palette.
    demo.send(b"2");
    demo.wait_for("the incident queue", Duration::from_secs(10), |s| {
        s.contains("SEV") && s.contains("SLA") && s.contains("open incidents")
    });
    // Acknowledge the first incident, then resolve it (asked twice).
    demo.wait_for("an open incident", Duration::from_secs(60), |s| {
        s.lines().nth(2).is_some_and(|l| l.contains(" new "))
    });
    demo.send(b"a");
    demo.wait_for("the acknowledgement", Duration::from_secs(10), |s| {
        s.contains("ack'd")
    });
    demo.send(b"r");
    demo.send(b"r");
    demo.wait_for("the incident resolved", Duration::from_secs(10), |s| {
        s.contains(": resolved")
    });
    demo.send(b"3");
    demo.wait_for("the alert tail", Duration::from_secs(10), |s| {
        s.contains("SUMMARY") && s.contains(" alerts")
    });
    demo.send(b"4");
    demo.wait_for("the tenants", Duration::from_secs(10), |s| {
        s.contains("HEALTH") && s.contains("alpenfracht")
    });
    // The map: the worker's sites on the coastlines, zoomed and fitted.
    demo.send(b"5");
    demo.wait_for("the map", Duration::from_secs(10), |s| {
        s.contains("Map · ") && s.contains("(fit)") && s.contains("online")
    });
    demo.send(b"+");
    demo.wait_for("the map zoomed", Duration::from_secs(10), |s| {
        s.contains("Map · ") && !s.contains("(fit)")
    });
    demo.send(b"0");
    // Enter on the map's first site: the site view.
    demo.send(b"\r");
    demo.wait_for("the site view", Duration::from_secs(10), |s| {
        s.contains("SECTOR") && s.contains("LINKS") && s.contains("alerts firing")
    });
    demo.send(b"7");
    demo.wait_for("the trends", Duration::from_secs(10), |s| {
        s.contains("Signal") && s.contains("last 24h") && s.contains("dBm degraded")
    });
    demo.send(b"8");
    demo.wait_for("the audit log", Duration::from_secs(10), |s| {
        s.contains("ACTOR") && s.contains("incident.")
    });
    demo.send(b":fl\t");
    demo.send(b"\r");
    demo.wait_for("the fleet again", Duration::from_secs(10), |s| {
        s.contains("STATUS") && s.contains("▲ online")
    });
    // The selected device's detail, with its sparklines.
    demo.send(b"\r");
    demo.wait_for("the detail pane", Duration::from_secs(10), |s| {
        s.contains("Device") && s.contains("CPU ") && s.contains("MEM ")
    });
    demo.send(b"\x1b");
    // y copies the selected device's id through the terminal (OSC 52).
    demo.send(b"y");
    demo.wait_for("the copy said", Duration::from_secs(10), |s| {
        s.contains("copied")
    });
    // :export writes the view's rows to a file, read back below.
    let exported = tempfile::tempdir().unwrap();
    let csv = exported.path().join("fleet.csv");
    demo.send(format!(":export csv {}\r", csv.display()).as_bytes());
    demo.wait_for("the export said", Duration::from_secs(10), |s| {
        s.contains("exported to")
    });
    // A bracketed paste into the filter: its line break fires nothing.
    demo.send(b"/");
    demo.send(b"\x1b[200~zzz-no-such\nthing\x1b[201~");
    demo.wait_for("the pasted filter", Duration::from_secs(10), |s| {
        s.contains("zzz-no-such thing")
    });
    demo.send(b"\x1b");
    demo.send(b"\x1b");
    demo.send(b"q");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = demo.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "vigie did not exit after q");
        pump(
            &demo.rx,
            &mut demo.parser,
            &mut demo.all,
            Duration::from_millis(100),
        );
    };
    pump(
        &demo.rx,
        &mut demo.parser,
        &mut demo.all,
        Duration::from_millis(300),
    );
    assert!(status.success(), "exit status {status:?}");

    let screen = demo.parser.screen();
    assert!(!screen.alternate_screen(), "back on the main screen");
    assert!(!screen.hide_cursor(), "cursor visible");
    let after = demo.master.get_termios().unwrap();
    assert!(
        after.local_flags.contains(LocalFlags::ECHO),
        "echo restored"
    );
    assert!(
        after.local_flags.contains(LocalFlags::ICANON),
        "line editing restored"
    );
    let text = String::from_utf8_lossy(&demo.all);
    assert!(text.contains("\u{1b}[?1049l"), "left the alternate screen");
    assert!(text.contains("\u{1b}[?2004h"), "bracketed paste on");
    let rows = std::fs::read_to_string(&csv).unwrap();
    assert!(
        rows.starts_with("counts") || rows.contains("name"),
        "{rows}"
    );
    assert!(rows.lines().count() > 10, "{rows}");
    let osc52 = text.find("\u{1b}]52;c;").expect("an OSC 52 copy");
    let b64: String = text[osc52 + 7..]
        .chars()
        .take_while(|c| *c != '\u{7}')
        .collect();
    let copied = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap();
    assert!(!copied.is_empty() && copied.is_ascii(), "{copied:?}");
    assert!(
        text.contains("\u{1b}[?2004l"),
        "bracketed paste off at exit"
    );
    assert!(text.contains("\u{1b}[?25h"), "showed the cursor");
    assert!(
        !text.contains("\u{1b}[6n"),
        "never waits on a cursor-position query"
    );
}

/// A vigie console in a pseudo-terminal, with its screen model.
struct Demo {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    rx: mpsc::Receiver<Vec<u8>>,
    parser: vt100::Parser,
    all: Vec<u8>,
    master: Box<dyn portable_pty::MasterPty + Send>,
    /// The terminal's modes before vigie started.
    before: nix::sys::termios::Termios,
    _dir: tempfile::TempDir,
}

impl Demo {
    /// `vigie demo` on a fresh database of its own, with `args`.
    fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("demo.db").display().to_string();
        let mut all = vec!["demo", "--fresh", "--db", db.as_str()];
        all.extend_from_slice(args);
        Self::run(&all, dir)
    }

    /// `vigie ARGS` with its settings and data in `dir`.
    fn run(args: &[&str], dir: tempfile::TempDir) -> Self {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 40,
                cols: 120,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let before = pair.master.get_termios().expect("termios of the pty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_vigie"));
        cmd.args(args);
        // SSH rarely forwards these: the console must not depend on them.
        cmd.env_remove("COLORTERM");
        cmd.env_remove("NO_COLOR");
        cmd.env("VIGIE_CONFIG_DIR", dir.path());
        cmd.env("VIGIE_DATA_DIR", dir.path());
        cmd.env("TERM", "xterm-256color");
        cmd.env("USER", "pty-analyst");
        cmd.cwd(dir.path());
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let writer = pair.master.take_writer().unwrap();
        Self {
            child,
            writer,
            rx,
            parser: vt100::Parser::new(40, 120, 0),
            all: Vec::new(),
            master: pair.master,
            before,
            _dir: dir,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
        pump(
            &self.rx,
            &mut self.parser,
            &mut self.all,
            Duration::from_millis(150),
        );
    }

    /// Waits until `ok` holds for the screen's text.
    fn wait_for(&mut self, what: &str, within: Duration, ok: impl Fn(&str) -> bool) -> String {
        self.wait_for_or(what, within, ok, String::new)
    }

    /// As `wait_for`; a failure also prints `more()` (the logs of the
    /// processes behind the console).
    fn wait_for_or(
        &mut self,
        what: &str,
        within: Duration,
        ok: impl Fn(&str) -> bool,
        more: impl Fn() -> String,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            pump(
                &self.rx,
                &mut self.parser,
                &mut self.all,
                Duration::from_millis(150),
            );
            let screen = self.parser.screen().contents();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not seen within {within:?}:\n{screen}\n{}",
                more()
            );
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// The push flow end to end from the keyboard: the simulated agent of a
/// device that accepts its first configuration applies it, the countdown
/// shows, `C` confirms, `H` shows the history.
#[test]
fn demo_push_edit_send_confirm_from_the_keyboard() {
    let plan = vigie::sim::plan(5, 300);
    let device = plan
        .inventory
        .devices
        .iter()
        .filter(|d| d.kind == vigie::domain::model::DeviceKind::Router)
        .find(|d| vigie::sim::agents::behaviour(&d.id, 0) == vigie::sim::agents::Behaviour::Accept)
        .expect("a router that accepts its first push");
    let name = device.name.to_string();
    let mut demo = Demo::start(&["--devices", "300", "--seed", "5"]);
    demo.wait_for("live fleet", Duration::from_secs(60), |s| {
        s.contains("● live") && s.matches("▲ online").count() >= 5
    });
    demo.send(format!("/{name}\r").as_bytes());
    demo.wait_for("the device alone", Duration::from_secs(10), |s| {
        s.contains("1 of 300")
    });
    demo.send(b"p");
    demo.wait_for("the editor", Duration::from_secs(10), |s| {
        s.contains(&format!("push to {name}")) && s.contains("ctrl-s")
    });
    demo.send(b"# changed from the pty test\r");
    demo.send(b"\x13");
    demo.wait_for("the review", Duration::from_secs(5), |s| {
        s.contains("+# changed from the pty test") && s.contains("reason:")
    });
    demo.send(b"pty test change\r");
    demo.send(name.as_bytes());
    demo.send(b"\r");
    let s = demo.wait_for("the countdown", Duration::from_secs(20), |s| {
        s.contains(&format!("{name} reverts in"))
    });
    assert!(s.contains("C confirm"), "{s}");
    demo.send(b"C");
    demo.wait_for("the confirmation", Duration::from_secs(20), |s| {
        s.contains("push confirmed") && !s.contains("reverts in")
    });
    demo.send(b"H");
    demo.wait_for("the history", Duration::from_secs(10), |s| {
        s.contains(&format!("pushes to {name}"))
            && s.contains("confirmed")
            && s.contains("pty-analyst")
            && s.contains("pty test change")
    });
    // Esc and q apart: together they read as alt-q.
    demo.send(b"\x1b");

    demo.send(b"q");
    let deadline = Instant::now() + Duration::from_secs(15);
    while demo.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "vigie did not exit after q");
        pump(
            &demo.rx,
            &mut demo.parser,
            &mut demo.all,
            Duration::from_millis(100),
        );
    }
}

/// The analyst's console dies mid-push (an SSH session dropping): the
/// device reverts on time all the same. The real worker, agent and
/// `vigie console --nats`.
#[test]
fn a_console_killed_mid_push_changes_nothing_the_device_reverts_on_time() {
    use support::cluster::{AgentProc, NatsServer, WorkerProc};
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("w.db").display());
    let inv = vigie::sim::plan(9, 60).inventory;
    let device = inv
        .devices
        .iter()
        .find(|d| d.kind == vigie::domain::model::DeviceKind::Router)
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // An operator of the device's tenant, logged in.
    let token = rt.block_on(async {
        let store = vigie::store::open(&db).await.unwrap();
        store.migrate().await.unwrap();
        store.import_inventory(&inv).await.unwrap();
        support::auth::token_for(
            store.as_ref(),
            "pty-analyst",
            vigie::domain::access::Role::Operator,
            Some(&device.tenant),
        )
        .await
    });
    let key_file = dir.path().join("signing.key");
    let key = vigie::orders::SigningKey::generate_into(&key_file).unwrap();
    let worker = WorkerProc::spawn_with(
        &nats.url(),
        &db,
        "vigie-worker",
        &["--signing-key", key_file.to_str().unwrap()],
    );
    let file = dir.path().join("edge.conf");
    let old = b"hostname edge\r\nmtu 1500".to_vec();
    std::fs::write(&file, &old).unwrap();
    let agent_cfg = dir.path().join("agent.toml");
    std::fs::write(
        &agent_cfg,
        format!(
            "tenant = \"{}\"\ndevice = \"{}\"\nnats = \"{}\"\nstate_dir = \"{}\"\n\
             heartbeat_s = 1\ntrusted_keys = [\"{}\"]\n[driver]\nkind = \"file\"\npath = \"{}\"\n",
            device.tenant,
            device.id,
            nats.url(),
            dir.path().join("agent-state").display(),
            key.public_base64(),
            file.display()
        ),
    )
    .unwrap();
    let agent = AgentProc::spawn(&agent_cfg);
    let home = tempfile::tempdir().unwrap();
    // A short window, so that the test sees the revert; long enough that
    // on a loaded machine the applied report reaches the console well
    // before the reverted one (the countdown shows only in between).
    std::fs::write(
        home.path().join("vigie.toml"),
        "[console]\npush_window_s = 10\n",
    )
    .unwrap();
    vigie::cli::session::save(
        &home.path().join("session.json"),
        &vigie::cli::session::Saved {
            nats: nats.url(),
            principal: vigie::domain::access::Principal {
                user: "pty-analyst".into(),
                role: vigie::domain::access::Role::Operator,
                tenant: Some(device.tenant.clone()),
            },
            token: token.clone(),
            expires: chrono::Utc::now() + chrono::Duration::hours(1),
            grant: None,
            reach: Default::default(),
        },
    )
    .unwrap();
    let url = nats.url();
    let mut console = Demo::run(
        &[
            "console",
            "--nats",
            &url,
            "--tenant",
            device.tenant.as_str(),
        ],
        home,
    );
    let name = device.name.to_string();
    let logs = || format!("worker log:\n{}\nagent log:\n{}", worker.log(), agent.log());
    // Live, and the agent's device online (its heartbeats arrive).
    console.wait_for_or(
        "the fleet over NATS",
        Duration::from_secs(30),
        |s| s.contains("● live") && s.contains("▲1 "),
        logs,
    );
    console.send(format!("/{name}\r").as_bytes());
    console.wait_for_or(
        "the device alone",
        Duration::from_secs(10),
        |s| s.contains("1 of "),
        logs,
    );
    console.send(b"p");
    // The agent reported the configuration: the editor opens on it.
    console.wait_for_or(
        "the editor on the device's config",
        Duration::from_secs(20),
        |s| s.contains("hostname edge"),
        logs,
    );
    console.send(b"# from the console\r");
    console.send(b"\x13");
    console.send(b"dropped session test\r");
    console.send(name.as_bytes());
    console.send(b"\r");
    console.wait_for_or(
        "the countdown",
        Duration::from_secs(20),
        |s| s.contains(&format!("{name} reverts in")),
        logs,
    );
    assert!(
        std::fs::read(&file)
            .unwrap()
            .starts_with(b"# from the console")
    );
    // The session drops: nobody will confirm.
    let _ = console.child.kill();
    let _ = console.child.wait();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read(&file).unwrap() != old {
        assert!(
            Instant::now() < deadline,
            "the file was never restored\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The worker recorded it, and says so to scripts.
    let push = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
            .args(["push", "--nats", &url, "--tenant", device.tenant.as_str()])
            .args(args)
            .env("VIGIE_TOKEN", &token)
            .output()
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let out = push(&["list", "--device", device.id.as_str()]);
        assert!(out.status.success());
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if list[0]["state"] == "reverted" {
            assert_eq!(list[0]["revert_reason"], "timeout");
            assert_eq!(list[0]["reason"], "dropped session test");
            assert_eq!(list[0]["actor"], "pty-analyst");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not recorded as reverted: {list}\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let wrong = push(&["confirm", "push-that-does-not-exist"]);
    assert_eq!(wrong.status.code(), Some(1), "refused: exit 1");
    let answer: serde_json::Value = serde_json::from_slice(&wrong.stdout).unwrap();
    assert_eq!(answer["error"]["code"], "not-found");
}

/// An SQLite file at `path` holding `inv`.
async fn db_with(
    path: &std::path::Path,
    inv: &vigie::domain::model::Inventory,
) -> vigie::store::sqlite::SqliteStore {
    use vigie::store::Store as _;
    let store = vigie::store::sqlite::SqliteStore::open(path.to_str().unwrap())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.import_inventory(inv).await.unwrap();
    store
}

/// A device name and an alert text full of escape sequences, C1 controls
/// and bidi overrides, planted straight in the database (as a tampered or
/// foreign row would be): the real console's output to the terminal, and
/// `vigie dump`'s JSON, carry none of them.
#[test]
fn hostile_text_in_the_database_never_reaches_the_terminal_raw() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let inv = vigie::sim::plan(4, 60).inventory;
    let victim = inv.devices[0].id.to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = db_with(&db, &inv).await;
        let evil = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31mzz-evil\u{202e}exe.txt\u{1b}P+q\u{1b}\\";
        sqlx::query("UPDATE devices SET name = ?, status = 'offline' WHERE id = ?")
            .bind(evil)
            .bind(&victim)
            .execute(store.pool())
            .await
            .unwrap();
    });
    let url = format!("sqlite:{}", db.display());
    let dump = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["dump", "fleet", "--format", "json", "--database", &url])
        .env("VIGIE_CONFIG_DIR", dir.path())
        .env("VIGIE_DATA_DIR", dir.path())
        .output()
        .unwrap();
    let json = String::from_utf8(dump.stdout).unwrap();
    assert!(json.contains("zz-evil"), "{json}");
    for bad in [
        "\\u001b",
        "\\u0007",
        "\u{9b}",
        "\\u009b",
        "\u{202e}",
        "pwned\\u0007",
    ] {
        assert!(!json.contains(bad), "dump carries {bad:?}");
    }
    let home = tempfile::tempdir().unwrap();
    let mut console = Demo::run(&["console", "--db", db.to_str().unwrap()], home);
    console.wait_for("the planted device", Duration::from_secs(30), |s| {
        s.contains("zz-evil")
    });
    console.send(b"q");
    let raw = console.all.clone();
    let find = |needle: &[u8]| raw.windows(needle.len()).any(|w| w == needle);
    assert!(!find(b"\x1b]0;pwned"), "an OSC title reached the terminal");
    assert!(!find(b"\x1bP+q"), "a DCS reached the terminal");
    assert!(
        !find("\u{202e}".as_bytes()),
        "a bidi override reached the terminal"
    );
    assert!(!find("\u{9b}".as_bytes()), "a C1 CSI reached the terminal");
}

/// `vigie wallboard`: big numbers, the views in turn, no input but quit,
/// a resize redrawn at the new size, the terminal restored.
#[test]
fn the_wallboard_rotates_ignores_keys_survives_a_resize_and_quits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(db_with(&db, &vigie::sim::plan(2, 80).inventory));
    let home = tempfile::tempdir().unwrap();
    let db = db.display().to_string();
    let mut board = Demo::run(&["wallboard", "--db", &db, "--rotate-s", "2"], home);
    board.wait_for("the board", Duration::from_secs(30), |s| {
        s.contains("open incidents") && s.contains("wallboard · board")
    });
    board.send(b"j/p:");
    board.wait_for("the next view", Duration::from_secs(10), |s| {
        s.contains("wallboard · incidents")
    });
    board
        .master
        .resize(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    board.parser.screen_mut().set_size(24, 80);
    board.wait_for("a redraw at 80×24", Duration::from_secs(10), |s| {
        s.lines().count() <= 24 && s.contains("wallboard ·")
    });
    board.send(b"q");
    let deadline = Instant::now() + Duration::from_secs(15);
    while board.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the wallboard did not quit");
        std::thread::sleep(Duration::from_millis(50));
    }
    let after = board.master.get_termios().unwrap();
    assert_eq!(
        after.local_flags.contains(LocalFlags::ECHO),
        board.before.local_flags.contains(LocalFlags::ECHO),
        "the terminal is restored"
    );
}
