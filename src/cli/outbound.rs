//! `vigie outbound add|list|show|pause|resume|remove|test|replay|deliveries`:
//! destinations of delivery to the SOC, on the worker's database. Output
//! is JSON, for scripts; secrets appear only as where they are read from
//! and a fingerprint.

use clap::{Args, Subcommand};
use serde_json::json;

use crate::admin::outbound as admin;
use crate::domain::Id;
use crate::domain::model::Severity;
use crate::domain::outbound::destination::{
    Destination, Kind, Routing, Settings, Target, Transport,
};
use crate::domain::outbound::event::{DataMode, EventType};
use crate::store::outbound::DestinationRow;
use crate::store::{Scope, Store};

/// Which destination: its owner (a tenant, or `_all` for the provider's)
/// and its id.
#[derive(Debug, Clone, Args)]
pub struct Which {
    /// The tenant it belongs to, or _all for the provider's (every tenant's events).
    #[arg(long)]
    pub tenant: String,
    /// Its id (letters, digits, `-`, `_`).
    pub id: String,
}

/// A destination's settings as flags.
#[derive(Debug, Clone, Args)]
pub struct AddArgs {
    #[command(flatten)]
    pub which: Which,
    /// webhook, splunk-hec, logscale-hec, azure-logs, cef-syslog, json-syslog, cef-http.
    #[arg(long)]
    pub kind: String,
    /// Where HTTP kinds send (https:// unless --allow-http).
    #[arg(long, conflicts_with = "host")]
    pub url: Option<String>,
    /// Where syslog kinds send, with --port and --transport.
    #[arg(long, requires = "port")]
    pub host: Option<String>,
    #[arg(long)]
    pub port: Option<u16>,
    /// udp, tcp or tls.
    #[arg(long, default_value = "tls")]
    pub transport: String,
    /// Where the secret is read: env:VAR or file:PATH (twice during a rotation).
    #[arg(long = "secret", value_name = "SPEC")]
    pub secrets: Vec<String>,
    /// Only these event types (repeat; default: all).
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Only events at least this severe (critical, major, minor, warning, info).
    #[arg(long)]
    pub min_severity: Option<String>,
    /// full, or privacy_safe (free text sent as its SHA-256 and length).
    #[arg(long, default_value = "full")]
    pub data_mode: String,
    /// Only these fields (repeat; default: all).
    #[arg(long = "field", value_name = "NAME")]
    pub fields: Vec<String>,
    #[arg(long, default_value_t = 7)]
    pub retention_days: u16,
    #[arg(long, default_value_t = 15)]
    pub timeout_s: u32,
    /// Give up on an event this many hours after it was queued.
    #[arg(long, default_value_t = 72)]
    pub give_up_h: u32,
    /// At most this many deliveries a second (0: no limit).
    #[arg(long, default_value_t = 0)]
    pub rate_per_s: u32,
    /// Seconds between delivery.heartbeat events (0: none).
    #[arg(long, default_value_t = 300)]
    pub heartbeat_s: u32,
    /// Private, loopback and link-local addresses allowed (an MSSP's SIEM on 10.x).
    #[arg(long)]
    pub allow_private: bool,
    /// http:// allowed.
    #[arg(long)]
    pub allow_http: bool,
    /// Added paused: events queue, nothing is sent until resumed.
    #[arg(long)]
    pub paused: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum OutboundCommand {
    /// Adds a destination, or replaces the settings of one with the same id.
    Add(Box<AddArgs>),
    /// Destinations (one tenant's with --tenant; every one otherwise).
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// One destination.
    Show(Which),
    /// Stops sending (events keep queuing).
    Pause(Which),
    Resume(Which),
    /// Removes a destination and what it has queued.
    Remove(Which),
    /// Queues a delivery.test event; the running worker sends it.
    Test(Which),
    /// Queues the dead and expired deliveries again.
    Replay(Which),
    /// The newest deliveries, with their state, attempts and last answer.
    Deliveries {
        #[command(flatten)]
        which: Which,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

fn id(flag: &str, s: &str) -> anyhow::Result<Id> {
    Id::parse(s).map_err(|e| anyhow::anyhow!("{flag} {s:?}: {e}"))
}

/// The owner a `--tenant` names (`None`: the provider's).
fn owner(tenant: &str) -> anyhow::Result<Option<Id>> {
    if tenant == crate::store::outbound::PROVIDER_OWNER {
        Ok(None)
    } else {
        id("--tenant", tenant).map(Some)
    }
}

fn which(w: &Which) -> anyhow::Result<(Option<Id>, Id)> {
    Ok((owner(&w.tenant)?, id("destination id", &w.id)?))
}

fn settings(a: &AddArgs) -> anyhow::Result<Settings> {
    let kind = Kind::parse(&a.kind).ok_or_else(|| {
        let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        anyhow::anyhow!("--kind {:?}: one of {}", a.kind, all.join(", "))
    })?;
    let target = match (&a.url, &a.host, a.port) {
        (Some(u), None, _) => Target::Url(u.clone()),
        (None, Some(h), Some(p)) => Target::Syslog {
            host: h.clone(),
            port: p,
            transport: match a.transport.as_str() {
                "udp" => Transport::Udp,
                "tcp" => Transport::Tcp,
                "tls" => Transport::Tls,
                t => anyhow::bail!("--transport {t:?}: udp, tcp or tls"),
            },
        },
        _ => anyhow::bail!("give --url, or --host and --port"),
    };
    let types = a
        .types
        .iter()
        .map(|t| {
            EventType::parse(t).ok_or_else(|| anyhow::anyhow!("--type {t:?} is not an event type"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let min_severity = a
        .min_severity
        .as_deref()
        .map(|s| Severity::parse(s).ok_or_else(|| anyhow::anyhow!("--min-severity {s:?}")))
        .transpose()?;
    let data_mode = match a.data_mode.as_str() {
        "full" => DataMode::Full,
        "privacy_safe" => DataMode::PrivacySafe,
        m => anyhow::bail!("--data-mode {m:?}: full or privacy_safe"),
    };
    Ok(Settings {
        secrets: a.secrets.clone(),
        routing: Routing {
            types,
            min_severity,
        },
        data_mode,
        data_fields: a.fields.clone(),
        retention_days: a.retention_days,
        timeout_s: a.timeout_s,
        give_up_h: a.give_up_h,
        heartbeat_s: a.heartbeat_s,
        rate_per_s: a.rate_per_s,
        allow_private: a.allow_private,
        allow_http: a.allow_http,
        ..Settings::new(kind, target)
    })
}

/// A secret's fingerprint as this host reads it: the first 16 hex of its
/// SHA-256, or why it cannot be read here.
fn fingerprint(spec: &str) -> String {
    match crate::settings::secret::SecretSpec::parse(spec).resolve("secret") {
        Ok(s) => {
            let d = ring::digest::digest(&ring::digest::SHA256, s.expose());
            crate::domain::hex(&d.as_ref()[..8])
        }
        Err(e) => format!("not readable here ({e})"),
    }
}

fn row_json(r: &DestinationRow) -> serde_json::Value {
    let d = &r.destination;
    let s = &d.settings;
    json!({
        "tenant": d.tenant.as_ref().map_or(crate::store::outbound::PROVIDER_OWNER, |t| t.as_str()),
        "id": d.id.as_str(),
        "kind": s.kind.as_str(),
        "target": admin::target_text(&s.target),
        "secrets": s.secrets.iter().map(|x| json!({"from": x, "fingerprint": fingerprint(x)})).collect::<Vec<_>>(),
        "routing": {
            "types": s.routing.types.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            "min_severity": s.routing.min_severity.map(|x| x.as_str()),
        },
        "data_mode": s.data_mode.as_str(),
        "data_fields": s.data_fields,
        "retention_days": s.retention_days,
        "timeout_s": s.timeout_s,
        "give_up_h": s.give_up_h,
        "heartbeat_s": s.heartbeat_s,
        "rate_per_s": s.rate_per_s,
        "allow_private": s.allow_private,
        "allow_http": s.allow_http,
        "paused": d.paused,
        "breaker": r.breaker,
        "created": r.created,
        "updated": r.updated,
    })
}

fn print(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

pub async fn run(store: &dyn Store, what: OutboundCommand, actor: &str) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    match what {
        OutboundCommand::Add(a) => {
            let (tenant, dest) = which(&a.which)?;
            let d = Destination {
                tenant: tenant.clone(),
                id: dest.clone(),
                settings: settings(&a)?,
                paused: a.paused,
            };
            admin::put(store, &d, actor, now).await?;
            print(&row_json(&admin::get(store, tenant.as_ref(), &dest).await?));
        }
        OutboundCommand::List { tenant } => {
            let scope = match tenant.as_deref().map(owner).transpose()? {
                Some(Some(t)) => Scope::Tenant(t),
                _ => Scope::All,
            };
            let rows = store.destinations(&scope).await?;
            print(&json!(rows.iter().map(row_json).collect::<Vec<_>>()));
        }
        OutboundCommand::Show(w) => {
            let (t, d) = which(&w)?;
            print(&row_json(&admin::get(store, t.as_ref(), &d).await?));
        }
        OutboundCommand::Pause(w) => {
            let (t, d) = which(&w)?;
            admin::set_paused(store, t.as_ref(), &d, true, actor, now).await?;
            eprintln!("destination {d} paused: events keep queuing");
        }
        OutboundCommand::Resume(w) => {
            let (t, d) = which(&w)?;
            admin::set_paused(store, t.as_ref(), &d, false, actor, now).await?;
            eprintln!("destination {d} resumed");
        }
        OutboundCommand::Remove(w) => {
            let (t, d) = which(&w)?;
            admin::remove(store, t.as_ref(), &d, actor, now).await?;
            eprintln!("destination {d} removed with what it had queued");
        }
        OutboundCommand::Test(w) => {
            let (t, d) = which(&w)?;
            let event = admin::test(store, t.as_ref(), &d, actor, now).await?;
            print(&json!({"queued": event, "type": "delivery.test"}));
            eprintln!(
                "queued: a running worker sends it; vigie outbound deliveries --tenant {} {d}",
                w.tenant
            );
        }
        OutboundCommand::Replay(w) => {
            let (t, d) = which(&w)?;
            let n = admin::replay(store, t.as_ref(), &d, actor, now).await?;
            print(&json!({"queued_again": n}));
        }
        OutboundCommand::Deliveries { which: w, limit } => {
            let (t, d) = which(&w)?;
            admin::get(store, t.as_ref(), &d).await?;
            let rows = store
                .deliveries(t.as_ref(), &d, limit.clamp(1, 10_000))
                .await?;
            print(&json!(rows));
        }
    }
    Ok(())
}
