//! `vigie tenant`, `vigie user`, `vigie provider` and `vigie audit`: run on
//! the worker's host against its database, as the provider. Each change
//! is recorded in the audit log with the operating-system user as actor.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Subcommand;

use crate::admin::{audit, tenants, users};
use crate::domain::Id;
use crate::domain::access::Role;
use crate::domain::device::StatusThresholds;
use crate::domain::model::{DataMode, Tenant, Tier};
use crate::store::Store;

#[derive(Debug, Clone, Subcommand)]
pub enum TenantCommand {
    /// Adds a tenant (within the provider's tier).
    Create {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        settings: TenantSettings,
    },
    /// Lists tenants.
    List,
    /// Shows one tenant and how many rows it holds.
    Show { id: String },
    /// Changes a tenant's settings.
    Configure {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        settings: TenantSettings,
    },
    /// Deletes a tenant and all its data but its audit log; without
    /// --force, only says what would go.
    Delete {
        id: String,
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct TenantSettings {
    #[arg(long, value_parser = parse_enum::<Tier>)]
    tier: Option<Tier>,
    /// full or privacy_safe.
    #[arg(long, value_parser = parse_enum::<DataMode>)]
    data_mode: Option<DataMode>,
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
    retention_days: Option<u32>,
    /// Seconds without a heartbeat before a device is stale.
    #[arg(long)]
    stale_after_s: Option<u32>,
    /// Seconds without a heartbeat before a device is offline.
    #[arg(long)]
    offline_after_s: Option<u32>,
}

impl TenantSettings {
    fn apply(&self, mut t: Tenant) -> anyhow::Result<Tenant> {
        t.tier = self.tier.unwrap_or(t.tier);
        t.data_mode = self.data_mode.unwrap_or(t.data_mode);
        t.retention_days = self.retention_days.unwrap_or(t.retention_days);
        t.thresholds.stale_after_s = self.stale_after_s.unwrap_or(t.thresholds.stale_after_s);
        t.thresholds.offline_after_s = self.offline_after_s.unwrap_or(t.thresholds.offline_after_s);
        if t.thresholds.stale_after_s >= t.thresholds.offline_after_s {
            anyhow::bail!(
                "--stale-after-s ({}) must be below --offline-after-s ({})",
                t.thresholds.stale_after_s,
                t.thresholds.offline_after_s
            );
        }
        Ok(t)
    }
}

fn parse_enum<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, String> {
    crate::domain::enum_parse(s).ok_or_else(|| format!("unknown value {s:?}"))
}

#[derive(Debug, Clone, Subcommand)]
pub enum UserCommand {
    /// Adds a user; the password comes from VIGIE_PASSWORD, standard input
    /// or a prompt.
    Add {
        name: String,
        /// wallboard, viewer, operator, admin or super_admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The user's tenant; leave out for a provider-wide user.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Sets a new password; the user's sessions end.
    Passwd { name: String },
    /// Lists users (of one tenant with --tenant).
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Disables a user; their sessions are refused at once.
    Disable { name: String },
    /// Enables a disabled user.
    Enable { name: String },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        format!("unknown role {s:?}: wallboard, viewer, operator, admin or super_admin")
    })
}

#[derive(Debug, Clone, Subcommand)]
pub enum ProviderCommand {
    /// Shows the provider's name, tier and tenant count.
    Show,
    /// Sets the provider's name or tier (starter: 10 tenants,
    /// professional: 50, enterprise: no limit).
    Configure {
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_parser = parse_enum::<Tier>)]
        tier: Option<Tier>,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum AuditCommand {
    /// Checks every tenant's hash chain (or one's) and reports the first
    /// broken link; exit status 1 when one is broken.
    Verify {
        #[arg(long)]
        tenant: Option<String>,
        /// Check an exported bundle instead of the database, offline.
        #[arg(long, value_name = "FILE", conflicts_with = "tenant")]
        bundle: Option<PathBuf>,
        /// Public key (base64) the bundle must be signed by; repeatable.
        #[arg(long, value_name = "KEY", requires = "bundle")]
        trust: Vec<String>,
    },
    /// Writes a signed evidence bundle of a tenant's entries in a time range.
    Export {
        #[arg(long)]
        tenant: String,
        /// Start: an RFC 3339 time, or a length ago (7d, 1h30m; default:
        /// the beginning).
        #[arg(long, value_name = "WHEN", value_parser = when)]
        since: Option<DateTime<Utc>>,
        /// End, exclusive: an RFC 3339 time, or a length ago (default: now).
        #[arg(long, value_name = "WHEN", value_parser = when)]
        until: Option<DateTime<Utc>>,
        /// The Ed25519 key that signs (default: signing.key in the config directory).
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// Where to write the bundle (default: standard output).
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// The actor admin commands are recorded under.
pub(super) fn actor() -> String {
    format!(
        "os:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

fn tenant_id(s: &str) -> anyhow::Result<Id> {
    Id::parse(s).map_err(|e| anyhow::anyhow!("tenant {s:?}: {e}"))
}

/// The tenant commands; exit code 1 when a delete without `--force`
/// only said what it would delete.
pub async fn tenant(store: &dyn Store, cmd: TenantCommand) -> anyhow::Result<u8> {
    let now = Utc::now();
    match cmd {
        TenantCommand::Create { id, name, settings } => {
            let id = tenants::check_tenant_id(&id)?;
            let t = settings.apply(Tenant {
                name: name.unwrap_or_else(|| id.to_string()).as_str().into(),
                id,
                tier: Tier::Starter,
                data_mode: DataMode::Full,
                retention_days: 30,
                thresholds: StatusThresholds::default(),
            })?;
            tenants::create(store, &t, &actor(), now).await?;
            println!("created tenant {}", t.id);
        }
        TenantCommand::List => {
            println!("{}", serde_json::to_string_pretty(&store.tenants().await?)?);
        }
        TenantCommand::Show { id } => {
            let id = tenant_id(&id)?;
            let t = tenants::get(store, &id).await?;
            let usage = store.tenant_usage(&id).await?;
            let out = serde_json::json!({ "tenant": t, "rows": usage.rows.into_iter().map(|(k, n)| (k, n.into())).collect::<serde_json::Map<_, _>>() });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        TenantCommand::Configure { id, name, settings } => {
            let before = tenants::get(store, &tenant_id(&id)?).await?;
            let mut after = settings.apply(before.clone())?;
            if let Some(n) = name {
                after.name = n.as_str().into();
            }
            tenants::configure(store, &before, &after, &actor(), now).await?;
            println!("configured tenant {}", after.id);
        }
        TenantCommand::Delete { id, force } => {
            let (usage, deleted) =
                tenants::delete(store, &tenant_id(&id)?, force, &actor(), now).await?;
            let lines: Vec<String> = usage
                .rows
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(t, n)| format!("  {t}: {n}"))
                .collect();
            if deleted {
                println!(
                    "deleted tenant {id} ({} rows); its audit log stays",
                    usage.total()
                );
            } else {
                println!(
                    "would delete tenant {id} and {} rows:\n{}\nits audit log stays. Run again with --force to delete.",
                    usage.total(),
                    lines.join("\n")
                );
                return Ok(1);
            }
        }
    }
    Ok(0)
}

pub async fn user(store: &dyn Store, cmd: UserCommand) -> anyhow::Result<()> {
    let now = Utc::now();
    match cmd {
        UserCommand::Add { name, role, tenant } => {
            let tenant = tenant.as_deref().map(tenant_id).transpose()?;
            let password = super::session::read_password(&format!("password for {name}: "))?;
            users::add(
                store,
                &name,
                tenant.as_ref(),
                role,
                &password,
                &actor(),
                now,
            )
            .await?;
            println!("added user {name} ({role})");
        }
        UserCommand::Passwd { name } => {
            let password = super::session::read_password(&format!("new password for {name}: "))?;
            users::set_password(store, &name, &password, &actor(), now).await?;
            println!("password of {name} changed; their sessions have ended");
        }
        UserCommand::List { tenant } => {
            let tenant = tenant.as_deref().map(tenant_id).transpose()?;
            let list = users::list(store, tenant.as_ref()).await?;
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        UserCommand::Disable { name } => {
            users::set_disabled(store, &name, true, &actor(), now).await?;
            println!("disabled {name}; their sessions are refused from now on");
        }
        UserCommand::Enable { name } => {
            users::set_disabled(store, &name, false, &actor(), now).await?;
            println!("enabled {name}");
        }
    }
    Ok(())
}

pub async fn provider(store: &dyn Store, cmd: ProviderCommand) -> anyhow::Result<()> {
    let (name, tier) = match cmd {
        ProviderCommand::Show => store.provider().await?,
        ProviderCommand::Configure { name, tier } => {
            tenants::set_provider(store, name.as_deref(), tier, &actor(), Utc::now()).await?
        }
    };
    let count = store.tenants().await?.len();
    let limit =
        crate::domain::access::tenant_limit(tier).map_or("no limit".to_string(), |n| n.to_string());
    println!(
        "provider: {name}\ntier:     {}\ntenants:  {count} (limit: {limit})",
        crate::domain::enum_name(&tier)
    );
    Ok(())
}

/// Runs an audit command; returns the exit code.
pub async fn audit_cmd(
    store: Option<&dyn Store>,
    default_key: PathBuf,
    cmd: AuditCommand,
) -> anyhow::Result<u8> {
    match cmd {
        AuditCommand::Verify {
            bundle: Some(file),
            trust,
            ..
        } => {
            let bytes =
                std::fs::read(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let shown = crate::domain::SafeText::new(&file.display().to_string());
            match audit::check_bundle(&bytes, &trust) {
                Ok(c) if c.trusted == Some(true) => {
                    println!(
                        "{shown}: intact: {} entries of tenant {}, signed by a trusted key ({})",
                        c.entries, c.tenant, c.key
                    );
                    Ok(0)
                }
                Ok(c) if c.trusted == Some(false) => {
                    println!(
                        "{shown}: signed by key {}, which is not one of --trust",
                        c.key
                    );
                    Ok(1)
                }
                // Anyone can sign a bundle: without a key to trust, a valid
                // signature proves nothing about who made it.
                Ok(c) => {
                    println!(
                        "{shown}: signature valid, signer not trusted: {} entries of tenant {} signed by key {}; \
                         pass --trust KEY (vigie keys show on the provider's side) to check who signed it",
                        c.entries, c.tenant, c.key
                    );
                    Ok(2)
                }
                Err(why) => {
                    println!("{shown}: BROKEN: {}", crate::domain::SafeText::new(&why));
                    Ok(1)
                }
            }
        }
        AuditCommand::Verify { tenant, .. } => {
            let store = store.ok_or_else(|| anyhow::anyhow!("no database"))?;
            let tenant = tenant
                .as_deref()
                .map(Id::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--tenant: {e}"))?;
            let v = audit::verify(store, tenant.as_ref()).await?;
            for (t, n) in &v.tenants {
                println!("{t}: {n} entries intact");
            }
            match v.broken {
                Some(b) => {
                    println!("BROKEN: {b}");
                    Ok(1)
                }
                None => Ok(0),
            }
        }
        AuditCommand::Export {
            tenant,
            since,
            until,
            key,
            out,
        } => {
            let store = store.ok_or_else(|| anyhow::anyhow!("no database"))?;
            let key = crate::orders::SigningKey::load(&key.unwrap_or(default_key))?;
            let now = Utc::now();
            let bytes = audit::export(
                store,
                &key,
                &Id::parse(&tenant).map_err(|e| anyhow::anyhow!("--tenant: {e}"))?,
                since.unwrap_or(DateTime::UNIX_EPOCH),
                until.unwrap_or(now),
                now,
            )
            .await?;
            match out {
                Some(path) => {
                    std::fs::write(&path, &bytes)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                    eprintln!("wrote {} (key {})", path.display(), key.id());
                }
                None => {
                    use std::io::Write as _;
                    std::io::stdout().write_all(&bytes)?;
                }
            }
            Ok(0)
        }
    }
}

/// `vigie migrate`: applies the schema's migrations to the database.
pub async fn migrate(url: &str) -> anyhow::Result<()> {
    super::ensure_sqlite_dir(url)?;
    let store: std::sync::Arc<dyn Store> = crate::store::open(url).await?;
    let applied = store.migrate().await?;
    let shown = crate::domain::redact::redact_url(url);
    if applied.is_empty() {
        println!("{shown}: schema is up to date");
    } else {
        println!("{shown}: applied migrations {applied:?}");
    }
    Ok(())
}

/// A moment on the command line: RFC 3339, or a length before now.
fn when(s: &str) -> Result<DateTime<Utc>, String> {
    crate::domain::length::parse_when(s, Utc::now())
}
