//! `vigie keys generate` and `vigie keys show`, run as a user would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn vigie(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(args)
        .env("VIGIE_CONFIG_DIR", dir)
        .env("VIGIE_DATA_DIR", dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn generate_then_show_and_refuse_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = vigie(dir.path(), &["keys", "generate"]);
    assert!(ok, "{err}");
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("key id:"))
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(id.len(), 16);
    let (ok, shown, _) = vigie(dir.path(), &["keys", "show"]);
    assert!(ok);
    assert!(shown.contains(&id));
    let (ok, _, err) = vigie(dir.path(), &["keys", "generate"]);
    assert!(!ok);
    assert!(err.contains("refusing to overwrite"), "{err}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let key = dir.path().join("signing.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (ok, _, err) = vigie(dir.path(), &["keys", "show"]);
        assert!(!ok);
        assert!(err.contains("chmod 600"), "{err}");
    }
}
