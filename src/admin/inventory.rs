//! `vigie inventory import|export`: a fleet file checked against the
//! database and written in one transaction, or nothing written at all.

use chrono::{DateTime, Utc};

use super::users::AdminError;
use crate::domain::audit::AuditEntry;
use crate::inventory::plan::{self, Plan};
use crate::inventory::{self, Format};
use crate::store::{Scope, Store};

/// What an import did (or, in a dry run, would do).
pub struct Imported {
    pub plan: Plan,
    pub written: bool,
}

/// Reads `text` (from `file`, for the errors) and, unless `dry_run`,
/// writes what it adds or changes in one transaction, with one audit
/// entry per tenant touched. Nothing is written when any item is wrong.
pub async fn import(
    store: &dyn Store,
    file: &str,
    text: &str,
    format: Format,
    dry_run: bool,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Imported, AdminError> {
    let parsed = inventory::read(text, format).map_err(|e| AdminError::Invalid(e.show(file)))?;
    let stored = store.inventory(&Scope::All).await?;
    let tenants: Vec<_> = store.tenants().await?.into_iter().map(|t| t.id).collect();
    let plan =
        plan::plan(&stored, &tenants, &parsed).map_err(|e| AdminError::Invalid(e.show(file)))?;
    if dry_run || plan.changes.is_empty() {
        return Ok(Imported {
            plan,
            written: false,
        });
    }
    store.import_inventory(&plan.write).await?;
    for tenant in plan.tenants() {
        let mine: Vec<_> = plan.changes.iter().filter(|c| c.tenant == tenant).collect();
        let added = mine.iter().filter(|c| c.added()).count();
        let entry = AuditEntry::new(
            &tenant,
            now,
            actor,
            "inventory.import",
            "inventory".to_string(),
        )
        .change(
            "none",
            &format!(
                "{added} added, {} changed (from {file})",
                mine.len() - added
            ),
        );
        store.append_audit(&entry).await?;
    }
    Ok(Imported {
        plan,
        written: true,
    })
}

/// The stored inventory of `scope` in `format`.
pub async fn export(
    store: &dyn Store,
    scope: &Scope,
    format: Format,
) -> Result<String, AdminError> {
    let inv = store.inventory(scope).await?;
    inventory::write(&inv, format).map_err(AdminError::Invalid)
}
