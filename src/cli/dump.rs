//! `vigie dump VIEW`: a view's rows as JSON or CSV on standard output,
//! from the database or from a worker's api.

use std::io::Write as _;
use std::sync::Arc;

use super::args::DumpArgs;
use super::{database_url, session};
use crate::settings::Paths;

pub(super) async fn run(
    paths: &Paths,
    nats: &crate::settings::nats::NatsSettings,
    f: DumpArgs,
) -> anyhow::Result<()> {
    // Standard output is the data; only problems go to standard error.
    crate::logging::to_stderr("warn");
    let scope = match f.tenant {
        Some(t) => crate::store::Scope::Tenant(
            crate::domain::Id::parse(&t).map_err(|e| anyhow::anyhow!("--tenant {t:?}: {e}"))?,
        ),
        None => crate::store::Scope::All,
    };
    let source = match f.nats {
        Some(url) => crate::dump::Source::Api(
            Arc::new(
                crate::bus::nats::NatsBus::connect_with(&url, &f.nats_auth.auth(nats)?).await?,
            ),
            session::token(paths, chrono::Utc::now())?.0,
        ),
        None => {
            let store = crate::store::open(&database_url(paths, f.database)).await?;
            store.migrate().await?;
            crate::dump::Source::Store(store)
        }
    };
    let site = f
        .site
        .map(|s| crate::domain::Id::parse(&s).map_err(|e| anyhow::anyhow!("--site {s:?}: {e}")))
        .transpose()?;
    let rows = crate::dump::rows(&source, f.view, &scope, site.as_ref()).await?;
    let text = match f.format {
        crate::dump::Format::Json => crate::dump::to_json(&rows) + "\n",
        crate::dump::Format::Csv => crate::dump::to_csv(&rows),
    };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(())
}
