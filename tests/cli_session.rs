//! A session remembers its server, as a kubectl context does: after
//! `vigie login`, `dump`, `push` and `console` reach the same server the
//! same way without `--nats`; `vigie login --list` says who is logged in
//! where; `vigie logout` forgets it, and the embedded database is used
//! again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::cli::vigie_env;
use vigie::cli::session::{Saved, SavedReach, file, save};
use vigie::domain::access::{Principal, Role};

#[test]
fn the_session_remembers_its_server_until_logout() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| vigie_env(d, args, &[]);
    let (ok, out, _) = run(&["login", "--list"]);
    assert!(ok && out.contains("not logged in"), "{out}");
    // A session on a server that does not answer (port 1), reached with
    // a CA file: what login would have saved.
    let paths = vigie::settings::Paths {
        config_dir: d.to_path_buf(),
        data_dir: d.to_path_buf(),
        state_dir: d.to_path_buf(),
    };
    let saved = Saved {
        nats: "nats://127.0.0.1:1".into(),
        principal: Principal {
            user: "ana".into(),
            role: Role::Operator,
            tenant: Some(vigie::domain::Id::parse("acme").unwrap()),
        },
        token: "t".into(),
        expires: chrono::Utc::now() + chrono::Duration::hours(1),
        grant: None,
        reach: SavedReach {
            inbox_prefix: Some("_INBOX_ana".into()),
            ..SavedReach::default()
        },
    };
    save(&file(&paths), &saved).unwrap();
    let (ok, out, _) = run(&["login", "--list"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("ana (operator of acme) on nats://127.0.0.1:1 until"),
        "{out}"
    );
    // dump without --nats or --database goes to the session's server.
    let (ok, _, err) = run(&["dump", "fleet"]);
    assert!(!ok && err.contains("127.0.0.1:1"), "{err}");
    // So does push.
    let (ok, _, err) = run(&["push", "--tenant", "acme", "status", "p-1"]);
    assert!(!ok && err.contains("127.0.0.1:1"), "{err}");
    // --database still reads a database.
    let db = format!("sqlite:{}", d.join("v.db").display());
    let (ok, out, err) = run(&["dump", "fleet", "--database", &db]);
    assert!(ok && out.trim() == "[]", "{out}{err}");
    // Logged out: forgotten, and the embedded database is read again.
    let (ok, out, _) = run(&["logout"]);
    assert!(ok && out.contains("logged out"), "{out}");
    assert!(!file(&paths).exists());
    let (ok, out, err) = run(&["dump", "fleet"]);
    assert!(ok && out.trim() == "[]", "{out}{err}");
    let (ok, out, _) = run(&["logout"]);
    assert!(ok && out.contains("not logged in"), "{out}");
}
