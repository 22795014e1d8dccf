//! `vigie keys generate` and `vigie keys show`, run as a user would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

fn vigie(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    support::cli::vigie_env(dir, args, &[])
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
