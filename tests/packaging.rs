//! The systemd units shipped in packaging/systemd/ are ones systemd takes:
//! `systemd-analyze verify` on each, with the real binaries in place.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;

#[test]
fn the_systemd_units_verify() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("systemd-analyze is not installed: the units are not checked");
        return;
    }
    let nats = support::cluster::nats_server_binary().unwrap_or_else(|_| "/bin/true".into());
    let dir = tempfile::tempdir().unwrap();
    let units = std::fs::read_dir("packaging/systemd").unwrap();
    let mut checked = 0;
    for unit in units {
        let path = unit.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("/usr/local/bin/vigie", env!("CARGO_BIN_EXE_vigie"))
            .replace("/usr/local/bin/nats-server", nats.to_str().unwrap());
        let copy = dir.path().join(&name);
        std::fs::write(&copy, text).unwrap();
        let out = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&copy)
            .env("SYSTEMD_LOG_LEVEL", "warning")
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        // Users and directories of the target host do not exist here.
        let problems: Vec<&str> = said
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter(|l| {
                !l.contains("Failed to resolve user") && !l.contains("Failed to resolve group")
            })
            .collect();
        assert!(problems.is_empty(), "{name}:\n{}", problems.join("\n"));
        checked += 1;
    }
    assert_eq!(checked, 4, "the units in packaging/systemd");
}
