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
