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
use crate::domain::outbound::options::{
    AzureOptions, CefProfile, HecOptions, SyslogFormat, SyslogOptions,
};
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
    /// Events per request (HEC, Azure, CEF over HTTP) or per round (1–500).
    #[arg(long, default_value_t = 100)]
    pub batch_size: u32,
    #[command(flatten)]
    pub kinds: KindArgs,
}

/// Options of some kinds only.
#[derive(Debug, Clone, Default, Args)]
pub struct KindArgs {
    /// HEC: the index (default: the token's).
    #[arg(long)]
    pub hec_index: Option<String>,
    /// HEC: the sourcetype (default: vigie:event).
    #[arg(long)]
    pub hec_sourcetype: Option<String>,
    /// Splunk HEC: indexer acknowledgement (delivered once indexed).
    #[arg(long)]
    pub hec_ack: bool,
    /// Splunk HEC: seconds an ack is awaited before the batch is sent
    /// again (default 120).
    #[arg(long, value_name = "SECS")]
    pub hec_ack_timeout: Option<u32>,
    /// Syslog: rfc5424 (default) or rfc3164 for legacy collectors.
    #[arg(long)]
    pub syslog_format: Option<String>,
    /// Syslog: the facility, 0–23 (default 16, local0).
    #[arg(long)]
    pub syslog_facility: Option<u8>,
    /// Syslog: the HOSTNAME field (default vigie).
    #[arg(long)]
    pub syslog_hostname: Option<String>,
    /// Syslog: a UTF-8 BOM before MSG (off; CEF parsers break on it).
    #[arg(long)]
    pub syslog_bom: bool,
    /// Syslog over TLS: the CA that signed the collector's certificate (PEM).
    #[arg(long, value_name = "PEM")]
    pub tls_ca: Option<String>,
    /// Syslog over TLS: a client certificate and its key (PEM; mutual TLS).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<String>,
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<String>,
    /// Azure: the Entra tenant id.
    #[arg(long)]
    pub azure_tenant_id: Option<String>,
    /// Azure: the application (client) id; --secret reads its client secret.
    #[arg(long)]
    pub azure_client_id: Option<String>,
    /// Azure: the data collection rule's immutable id (dcr-…).
    #[arg(long)]
    pub azure_dcr: Option<String>,
    /// Azure: the stream (Custom-…_CL).
    #[arg(long)]
    pub azure_stream: Option<String>,
    /// Azure: where tokens come from (default https://login.microsoftonline.com).
    #[arg(long)]
    pub azure_authority: Option<String>,
    /// CEF: the header's device vendor (an ArcSight profile names it).
    #[arg(long)]
    pub cef_vendor: Option<String>,
    /// CEF: the header's device product.
    #[arg(long)]
    pub cef_product: Option<String>,
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
        batch_size: a.batch_size,
        syslog: syslog_options(kind, &a.kinds)?,
        hec: hec_options(kind, &a.kinds),
        azure: azure_options(&a.kinds)?,
        cef: cef_profile(&a.kinds),
        ..Settings::new(kind, target)
    })
}

fn syslog_options(kind: Kind, k: &KindArgs) -> anyhow::Result<Option<SyslogOptions>> {
    let given = k.syslog_format.is_some()
        || k.syslog_facility.is_some()
        || k.syslog_hostname.is_some()
        || k.syslog_bom
        || k.tls_ca.is_some()
        || k.tls_cert.is_some();
    if !given && !kind.is_syslog() {
        return Ok(None);
    }
    let d = SyslogOptions::default();
    Ok(Some(SyslogOptions {
        format: match k.syslog_format.as_deref() {
            None | Some("rfc5424") => SyslogFormat::Rfc5424,
            Some("rfc3164") => SyslogFormat::Rfc3164,
            Some(f) => anyhow::bail!("--syslog-format {f:?}: rfc5424 or rfc3164"),
        },
        facility: k.syslog_facility.unwrap_or(d.facility),
        hostname: k.syslog_hostname.clone().unwrap_or(d.hostname),
        bom: k.syslog_bom,
        ca_file: k.tls_ca.clone(),
        client_cert: k.tls_cert.clone(),
        client_key: k.tls_key.clone(),
    }))
}

fn hec_options(kind: Kind, k: &KindArgs) -> Option<HecOptions> {
    let given = k.hec_index.is_some()
        || k.hec_sourcetype.is_some()
        || k.hec_ack
        || k.hec_ack_timeout.is_some();
    (given || matches!(kind, Kind::SplunkHec | Kind::LogscaleHec)).then(|| HecOptions {
        index: k.hec_index.clone(),
        sourcetype: k.hec_sourcetype.clone(),
        ack: k.hec_ack,
        ack_timeout_s: k.hec_ack_timeout,
    })
}

fn azure_options(k: &KindArgs) -> anyhow::Result<Option<AzureOptions>> {
    match (
        &k.azure_tenant_id,
        &k.azure_client_id,
        &k.azure_dcr,
        &k.azure_stream,
    ) {
        (None, None, None, None) if k.azure_authority.is_none() => Ok(None),
        (Some(t), Some(c), Some(d), Some(s)) => Ok(Some(AzureOptions {
            tenant_id: t.clone(),
            client_id: c.clone(),
            dcr_id: d.clone(),
            stream: s.clone(),
            authority: k.azure_authority.clone(),
        })),
        _ => anyhow::bail!(
            "--azure-tenant-id, --azure-client-id, --azure-dcr and --azure-stream go together"
        ),
    }
}

fn cef_profile(k: &KindArgs) -> Option<CefProfile> {
    if k.cef_vendor.is_none() && k.cef_product.is_none() {
        return None;
    }
    let d = CefProfile::default();
    Some(CefProfile {
        vendor: k.cef_vendor.clone().unwrap_or(d.vendor),
        product: k.cef_product.clone().unwrap_or(d.product),
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
        "batch_size": s.batch_size,
        "syslog": s.syslog,
        "hec": s.hec,
        "azure": s.azure,
        "cef": s.cef,
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
