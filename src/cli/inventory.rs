//! `vigie inventory import|export`.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Subcommand;

use crate::admin::inventory;
use crate::inventory::Format;
use crate::store::{Scope, Store};

#[derive(Debug, Clone, Subcommand)]
pub enum InventoryCommand {
    /// Adds or updates sites, sectors, devices and links from a CSV, TOML
    /// or JSON file (by id: importing again changes nothing). Every error
    /// names the file, line and field, and nothing is written if any item
    /// is wrong. Tenants must exist (vigie tenant create).
    Import {
        file: PathBuf,
        /// Only print what would change.
        #[arg(long)]
        dry_run: bool,
        /// The file's format (default: from its extension).
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Print every item added or changed, not only the counts.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Writes the stored inventory (CSV: devices with their sites and
    /// sectors; TOML and JSON: everything, links too).
    Export {
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// One tenant only.
        #[arg(long)]
        tenant: Option<String>,
        /// Where to write it (default: standard output).
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

pub async fn run(store: &dyn Store, what: InventoryCommand, actor: &str) -> anyhow::Result<()> {
    match what {
        InventoryCommand::Import {
            file,
            dry_run,
            format,
            verbose,
        } => {
            let name = file.display().to_string();
            let Some(format) = format.or_else(|| Format::of_path(&file)) else {
                anyhow::bail!("{name}: say --format csv|toml|json (the extension does not tell)");
            };
            let meta = std::fs::metadata(&file).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            if meta.len() > crate::inventory::MAX_FILE_BYTES as u64 {
                anyhow::bail!(
                    "{name}: {} bytes, more than the {} an inventory file may have: split it",
                    meta.len(),
                    crate::inventory::MAX_FILE_BYTES
                );
            }
            let text =
                std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            let done = inventory::import(
                store,
                &name,
                &text,
                format,
                dry_run,
                actor,
                chrono::Utc::now(),
            )
            .await?;
            let mut out = std::io::stdout().lock();
            if dry_run || verbose {
                for c in &done.plan.changes {
                    writeln!(out, "{}", c.show())?;
                }
            }
            let verb = match (done.written, dry_run) {
                (true, _) => "imported",
                (false, true) => "dry run, nothing written",
                (false, false) => "nothing to change",
            };
            writeln!(out, "{name}: {} ({verb})", done.plan.summary())?;
        }
        InventoryCommand::Export {
            format,
            tenant,
            out,
        } => {
            let scope = match tenant {
                Some(t) => Scope::Tenant(
                    crate::domain::Id::parse(&t)
                        .map_err(|e| anyhow::anyhow!("tenant {t:?}: {e}"))?,
                ),
                None => Scope::All,
            };
            let text = inventory::export(store, &scope, format).await?;
            match out {
                Some(path) => std::fs::write(&path, text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
                None => std::io::stdout().lock().write_all(text.as_bytes())?,
            }
        }
    }
    Ok(())
}
