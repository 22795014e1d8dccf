//! The commands that only read or write local files: `vigie config`,
//! `vigie keys`, `vigie keymap`, `vigie completions` and `vigie man`.

use clap::CommandFactory as _;

use super::args::{Cli, KeysCommand};
use crate::console::KeyMap;
use crate::settings::{Paths, Settings};

/// `vigie config path`: where vigie looks for everything.
pub(super) fn config_path(cli: &Cli, paths: &Paths) {
    println!(
        "settings file: {}",
        cli.config
            .clone()
            .unwrap_or_else(|| paths.config_file())
            .display()
    );
    println!("config dir:    {}", paths.config_dir.display());
    println!("data dir:      {}", paths.data_dir.display());
    println!("database:      {}", paths.default_db().display());
    println!("log file:      {}", paths.default_log().display());
}

/// `vigie config show`: the settings in effect.
pub(super) fn config_show(s: &Settings) {
    println!("{s:#?}");
}

/// `vigie keys generate|show`: the worker's signing key.
pub(super) fn keys(paths: &Paths, what: &KeysCommand) -> anyhow::Result<()> {
    let default = || paths.config_dir.join("signing.key");
    let (key, path) = match what {
        KeysCommand::Generate { out } => {
            let path = out.clone().unwrap_or_else(default);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            (crate::orders::SigningKey::generate_into(&path)?, path)
        }
        KeysCommand::Show { key } => {
            let path = key.clone().unwrap_or_else(default);
            (crate::orders::SigningKey::load(&path)?, path)
        }
    };
    println!("key file:   {}", path.display());
    println!("key id:     {}", key.id());
    println!("public key: {}", key.public_base64());
    Ok(())
}

/// `vigie keymap print`: a keymap as a file to start one's own from.
pub(super) fn keymap_print(s: &Settings, paths: &Paths, keymap: Option<String>) {
    let name = keymap.unwrap_or_else(|| s.console.keymap.clone());
    let (map, problems) = KeyMap::load(&name, &paths.config_dir);
    for p in &problems {
        eprintln!("vigie: {p}");
    }
    print!("{}", map.print());
}

/// `vigie completions SHELL`.
pub(super) fn completions(shell: clap_complete::Shell) {
    clap_complete::generate(shell, &mut Cli::command(), "vigie", &mut std::io::stdout());
}

/// `vigie man`.
pub(super) fn man() -> anyhow::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
    Ok(())
}
