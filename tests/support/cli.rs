//! The real `vigie` binary, run as a user would, with its settings and data
//! in a directory of the test's.

/// `vigie ARGS` with `envs`: (success, stdout, stderr).
pub fn vigie_env(
    dir: &std::path::Path,
    args: &[&str],
    envs: &[(&str, &str)],
) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(args)
        .env("VIGIE_CONFIG_DIR", dir)
        .env("VIGIE_DATA_DIR", dir)
        .envs(envs.iter().copied())
        .output()
        .expect("run vigie");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `vigie ARGS` with `envs`, which must succeed: its standard output.
pub fn ok_env(dir: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> String {
    let (ok, out, err) = vigie_env(dir, args, envs);
    assert!(ok, "vigie {args:?}: {out}{err}");
    out
}

/// A process of the test's, killed when the test ends however it ends.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `vigie worker` on `url` and `database`, its settings in `home`;
/// `extra` flags after.
pub fn worker(
    home: &std::path::Path,
    url: &str,
    database: &str,
    extra: &[&std::ffi::OsStr],
) -> KillOnDrop {
    use std::process::{Command, Stdio};
    KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_vigie"))
            .args(["worker", "--nats", url, "--database", database])
            .args(extra)
            .envs(super::auth::worker_env())
            .env("VIGIE_CONFIG_DIR", home)
            .env("VIGIE_DATA_DIR", home)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start vigie worker"),
    )
}

/// `vigie worker` of a secure deployment: on `url` with the worker's
/// credentials of `nats_dir` (made by `vigie nats init`), serving
/// enrolments and users' credentials from it, on `database`, with its
/// settings in `home`; `extra` flags after.
pub fn secure_worker(
    home: &std::path::Path,
    url: &str,
    database: &str,
    nats_dir: &std::path::Path,
    extra: &[&str],
) -> KillOnDrop {
    let creds = nats_dir.join("creds/worker.creds");
    let mut flags: Vec<&std::ffi::OsStr> = vec![
        "--nats-dir".as_ref(),
        nats_dir.as_os_str(),
        "--nats-creds".as_ref(),
        creds.as_os_str(),
    ];
    flags.extend(extra.iter().map(std::ffi::OsStr::new));
    worker(home, url, database, &flags)
}

/// What an admin does first on a worker's host: a signing key, and the
/// tenant `tenant` (named after itself) in the database `db`.
pub fn keys_and_tenant(dir: &std::path::Path, db: &str, tenant: &str, envs: &[(&str, &str)]) {
    ok_env(dir, &["keys", "generate"], envs);
    ok_env(
        dir,
        &[
            "tenant",
            "create",
            tenant,
            "--name",
            tenant,
            "--database",
            db,
        ],
        envs,
    );
}
