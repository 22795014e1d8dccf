//! Drives the real binary in a pseudo-terminal: `vigie demo` shows a live
//! fleet, `q` quits, and the terminal is left as it was found (main screen,
//! cursor visible, echo and line editing on).
#![allow(clippy::unwrap_used, clippy::expect_used)]

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
    let dir = tempfile::tempdir().unwrap();
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let before = pair.master.get_termios().expect("termios of the pty");
    assert!(before.local_flags.contains(LocalFlags::ECHO));

    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_vigie"));
    cmd.args(["demo", "--fresh", "--devices", "300", "--db"]);
    cmd.arg(dir.path().join("demo.db"));
    cmd.env("VIGIE_CONFIG_DIR", dir.path());
    cmd.env("VIGIE_DATA_DIR", dir.path());
    cmd.env("TERM", "xterm-256color");
    cmd.env_remove("COLORTERM");
    cmd.env_remove("NO_COLOR");
    cmd.cwd(dir.path());
    let mut child = pair.slave.spawn_command(cmd).unwrap();
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
    let mut writer = pair.master.take_writer().unwrap();
    let mut parser = vt100::Parser::new(40, 120, 0);
    let mut all = Vec::new();

    // The fleet appears and is live.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        pump(&rx, &mut parser, &mut all, Duration::from_millis(200));
        let screen = parser.screen().contents();
        if screen.contains("● live") && screen.matches("▲ online").count() >= 5 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no live fleet within 60 s:\n{screen}"
        );
    }
    assert!(
        parser.screen().alternate_screen(),
        "the console uses the alternate screen"
    );
    let during = pair.master.get_termios().unwrap();
    assert!(
        !during.local_flags.contains(LocalFlags::ECHO),
        "raw mode while running"
    );

    // Filter the fleet from the keyboard.
    writer.write_all(b"/bldr").unwrap();
    writer.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        pump(&rx, &mut parser, &mut all, Duration::from_millis(200));
        let screen = parser.screen().contents();
        if screen.contains("/bldr") && screen.contains("Boulder") && !screen.contains("Zürich") {
            break;
        }
        assert!(Instant::now() < deadline, "filter did not apply:\n{screen}");
    }
    writer.write_all(b"\x1b").unwrap();
    writer.flush().unwrap();
    pump(&rx, &mut parser, &mut all, Duration::from_millis(300));

    writer.write_all(b"q").unwrap();
    writer.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "vigie did not exit after q");
        pump(&rx, &mut parser, &mut all, Duration::from_millis(100));
    };
    pump(&rx, &mut parser, &mut all, Duration::from_millis(300));
    assert!(status.success(), "exit status {status:?}");

    let screen = parser.screen();
    assert!(!screen.alternate_screen(), "back on the main screen");
    assert!(!screen.hide_cursor(), "cursor visible");
    let after = pair.master.get_termios().unwrap();
    assert!(
        after.local_flags.contains(LocalFlags::ECHO),
        "echo restored"
    );
    assert!(
        after.local_flags.contains(LocalFlags::ICANON),
        "line editing restored"
    );
    let text = String::from_utf8_lossy(&all);
    assert!(text.contains("\u{1b}[?1049l"), "left the alternate screen");
    assert!(text.contains("\u{1b}[?25h"), "showed the cursor");
    assert!(
        !text.contains("\u{1b}[6n"),
        "never waits on a cursor-position query"
    );
}

/// `vigie demo` in a pseudo-terminal, with its screen model.
struct Demo {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    rx: mpsc::Receiver<Vec<u8>>,
    parser: vt100::Parser,
    all: Vec<u8>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
    _dir: tempfile::TempDir,
}

impl Demo {
    fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 40,
                cols: 120,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_vigie"));
        cmd.args(["demo", "--fresh", "--db"]);
        cmd.arg(dir.path().join("demo.db"));
        cmd.args(args);
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
            _master: pair.master,
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
                "{what}: not seen within {within:?}:\n{screen}"
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
