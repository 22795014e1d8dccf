//! `vigie dump VIEW`: a view's rows as JSON or CSV on standard output,
//! from the database or from a worker's api.

use std::io::Write as _;
use std::sync::Arc;

use super::args::DumpArgs;
use super::database_url;
use crate::settings::Paths;

pub(super) async fn run(
    paths: &Paths,
    nats: &crate::settings::nats::NatsSettings,
    f: DumpArgs,
) -> anyhow::Result<()> {
    // Standard output is the data; only problems go to standard error.
    crate::logging::to_stderr("warn");
    let mut scope = match f.tenant {
        Some(t) => crate::store::Scope::Tenant(
            crate::domain::Id::parse(&t).map_err(|e| anyhow::anyhow!("--tenant {t:?}: {e}"))?,
        ),
        None => crate::store::Scope::All,
    };
    // Kept to the end: it renews the user's NATS credentials.
    let mut conn = None;
    // Without --nats or --database, the saved session's server, if any.
    let over = match (f.nats, &f.database) {
        (Some(url), _) => Some((url, f.nats_auth.clone())),
        (None, None) => super::session::remembered_server(paths, &f.nats_auth),
        (None, Some(_)) => None,
    };
    let source = match over {
        Some((url, auth)) => {
            let c = super::connect::as_user(paths, &url, &auth.auth(nats)?).await?;
            // A tenant's user asks in their tenant: nothing else is theirs.
            if let (crate::store::Scope::All, Some(own)) =
                (&scope, c.principal.as_ref().and_then(|p| p.tenant.clone()))
            {
                scope = crate::store::Scope::Tenant(own);
            }
            let source = crate::dump::Source::Api(
                Arc::clone(&c.bus) as Arc<dyn crate::bus::Bus>,
                c.token.clone(),
            );
            conn = Some(c);
            source
        }
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
    let text = f.format.write(&rows);
    std::io::stdout().write_all(text.as_bytes())?;
    drop(conn);
    Ok(())
}
