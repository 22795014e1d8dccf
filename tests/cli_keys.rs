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

#[test]
fn keymap_print_writes_every_mode_and_a_bad_user_patch_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = vigie(dir.path(), &["keymap", "print", "--keymap", "emacs"]);
    assert!(ok && err.is_empty(), "{err}");
    for section in [
        "[[normal]]",
        "[[filter]]",
        "[[palette]]",
        "[[note]]",
        "[[editor]]",
    ] {
        assert!(out.contains(section), "{section} missing:\n{out}");
    }
    assert!(out.contains("run = \"triage acknowledge\""), "{out}");
    assert!(out.starts_with("replace = true"), "{out}");
    std::fs::write(
        dir.path().join("keymap.toml"),
        "[[normal]]\nkeys = [\"x\"]\nrun = \"pan up\"\n",
    )
    .unwrap();
    let (ok, _, err) = vigie(dir.path(), &["keymap", "print"]);
    assert!(ok);
    assert!(
        err.contains("keymap.toml:3: [normal] pan: \"up\" is not a direction"),
        "{err}"
    );
}
