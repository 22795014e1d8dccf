//! `vigie tenant`, `vigie user`, `vigie provider`, `vigie audit` and
//! `vigie config show`, run as an operator of the worker's host would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::PermissionsExt as _;

fn vigie(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    support::cli::vigie_env(
        dir,
        args,
        &[
            ("VIGIE_PASSWORD", "a long enough password"),
            ("USER", "root"),
        ],
    )
}

fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let (ok, out, err) = vigie(dir, args);
    assert!(ok, "vigie {args:?}: {out}{err}");
    out
}

#[test]
fn tenants_users_and_an_audit_trail_that_verifies_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "provider",
            "configure",
            "--name",
            "Acme MSSP",
            "--tier",
            "starter",
        ],
    );
    assert!(ok(d, &["provider", "show"]).contains("tenants:  0 (limit: 10)"));
    ok(
        d,
        &[
            "tenant",
            "create",
            "acme",
            "--name",
            "Acme Corp",
            "--retention-days",
            "90",
        ],
    );
    let (good, _, err) = vigie(d, &["tenant", "create", "_all"]);
    assert!(!good && err.contains("reserved"), "{err}");
    let (good, _, err) = vigie(
        d,
        &[
            "tenant",
            "configure",
            "acme",
            "--stale-after-s",
            "900",
            "--offline-after-s",
            "60",
        ],
    );
    assert!(!good && err.contains("must be below"), "{err}");
    ok(
        d,
        &["tenant", "configure", "acme", "--data-mode", "privacy_safe"],
    );
    assert!(ok(d, &["tenant", "show", "acme"]).contains("privacy_safe"));

    ok(
        d,
        &[
            "user", "add", "ana", "--role", "operator", "--tenant", "acme",
        ],
    );
    let (good, _, err) = vigie(d, &["user", "add", "eve", "--role", "boss"]);
    assert!(!good && err.contains("unknown role"), "{err}");
    let (good, _, err) = vigie(d, &["user", "add", "ana", "--role", "viewer"]);
    assert!(!good && err.contains("exists"), "{err}");
    let users = ok(d, &["user", "list", "--tenant", "acme"]);
    assert!(users.contains("\"ana\"") && users.contains("operator"));
    assert!(!users.contains("argon2"), "hashes never leave the database");
    ok(d, &["user", "disable", "ana"]);

    let (good, out, _) = vigie(d, &["tenant", "delete", "acme"]);
    assert!(!good, "delete without --force only says what would go");
    assert!(
        out.contains("would delete tenant acme") && out.contains("users: 1"),
        "{out}"
    );

    // The trail: intact, exported, checked offline, and caught when changed.
    assert!(ok(d, &["audit", "verify"]).contains("acme: 4 entries intact"));
    ok(d, &["keys", "generate"]);
    let public = ok(d, &["keys", "show"])
        .lines()
        .find_map(|l| l.strip_prefix("public key:"))
        .unwrap()
        .trim()
        .to_string();
    let bundle = d.join("acme.bundle");
    ok(
        d,
        &[
            "audit",
            "export",
            "--tenant",
            "acme",
            "--out",
            bundle.to_str().unwrap(),
        ],
    );
    let said = ok(
        d,
        &[
            "audit",
            "verify",
            "--bundle",
            bundle.to_str().unwrap(),
            "--trust",
            &public,
        ],
    );
    assert!(said.contains("intact: 4 entries of tenant acme"), "{said}");
    // Ranges as people type them: the last week has all four, what is
    // older than an hour and a half none; a wrong one is named.
    let ranged = d.join("ranged.bundle");
    for (range, entries) in [(["--since", "7d"], 4), (["--until", "1h30m"], 0)] {
        let mut args = vec!["audit", "export", "--tenant", "acme", "--out"];
        args.push(ranged.to_str().unwrap());
        args.extend(range);
        ok(d, &args);
        let said = ok(
            d,
            &[
                "audit",
                "verify",
                "--bundle",
                ranged.to_str().unwrap(),
                "--trust",
                &public,
            ],
        );
        assert!(
            said.contains(&format!("intact: {entries} entries")),
            "{range:?}: {said}"
        );
    }
    let (good, _, err) = vigie(
        d,
        &["audit", "export", "--tenant", "acme", "--since", "lately"],
    );
    assert!(
        !good && err.contains("\"lately\"") && err.contains("7d"),
        "{err}"
    );
    let text = std::fs::read_to_string(&bundle).unwrap();
    assert!(text.contains("user/ana"));
    // Any byte changed, anywhere, and the bundle no longer verifies.
    let bytes = text.as_bytes().to_vec();
    assert!(vigie::admin::audit::check_bundle(&bytes, std::slice::from_ref(&public)).is_ok());
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x20] {
            let mut changed = bytes.clone();
            changed[i] ^= flip;
            assert!(
                vigie::admin::audit::check_bundle(&changed, std::slice::from_ref(&public)).is_err(),
                "byte {i} of {} changed (^{flip:#x}) and the bundle still verified",
                bytes.len()
            );
        }
    }
    // Without a key to trust, a valid signature is not "intact".
    let (good, out, _) = vigie(
        d,
        &["audit", "verify", "--bundle", bundle.to_str().unwrap()],
    );
    assert!(
        !good && out.contains("signer not trusted") && !out.contains("intact"),
        "{out}"
    );
    // A validly signed bundle whose JSON key carries escape sequences: the
    // error quoting it is shown, never executed.
    let (body, _) = text.trim_end().rsplit_once('\n').unwrap();
    let body = format!(
        "{}\n",
        body.replacen(
            "\"format\"",
            "\"\\u001b[2J\\u001b]0;pwned\\u0007format\"",
            1
        )
    );
    let signer = vigie::orders::SigningKey::generate().unwrap();
    let sig = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        signer.sign(body.as_bytes()),
    );
    let hostile = format!("{body}ed25519 {} {sig}\n", signer.public_base64());
    std::fs::write(&bundle, &hostile).unwrap();
    let (good, out, err) = vigie(
        d,
        &["audit", "verify", "--bundle", bundle.to_str().unwrap()],
    );
    assert!(!good && out.contains("BROKEN"), "{out}");
    assert!(
        !out.contains('\u{1b}') && !err.contains('\u{1b}'),
        "{out:?}"
    );
    assert!(out.contains("␛[2J"), "the key is shown: {out:?}");
    std::fs::write(&bundle, text.replacen("user/ana", "user/bob", 1)).unwrap();
    let (good, out, _) = vigie(
        d,
        &["audit", "verify", "--bundle", bundle.to_str().unwrap()],
    );
    assert!(!good && out.contains("BROKEN"), "{out}");

    ok(d, &["tenant", "delete", "acme", "--force"]);
    let (good, _, err) = vigie(d, &["tenant", "show", "acme"]);
    assert!(!good && err.contains("no tenant acme"), "{err}");
    assert!(ok(d, &["audit", "verify"]).contains("acme: 5 entries intact"));
}

#[test]
fn a_settings_file_with_a_secret_must_be_private_and_the_secret_never_shows() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vigie.toml");
    std::fs::write(
        &file,
        "[worker]\n\nsession_key = \"hunter2-hunter2-hunter2\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (good, _, err) = vigie(dir.path(), &["config", "show"]);
    assert!(!good);
    assert!(
        err.contains("vigie.toml:3: worker.session_key") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(!err.contains("hunter2"));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (good, out, err) = vigie(dir.path(), &["config", "show"]);
    assert!(good, "{err}");
    assert!(
        out.contains("<inline secret>") && !out.contains("hunter2"),
        "{out}"
    );
    // By reference, any mode will do: the file named holds the secret.
    std::fs::write(&file, "[worker]\nsession_key = \"env:VIGIE_SK\"\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(ok(dir.path(), &["config", "show"]).contains("env:VIGIE_SK"));
}
