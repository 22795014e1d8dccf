//! A destination: where a tenant's (or, provider-wide, every tenant's)
//! events go, in which format, which of them, and how much of each.
//! Secrets are never held here, only where to read them (`env:VAR`,
//! `file:PATH`), two during a rotation.

use serde::{Deserialize, Serialize};

use super::event::{DataMode, EventType, OutEvent};
use super::options::{AzureOptions, CefProfile, HecOptions, SyslogOptions};
use crate::domain::Id;
use crate::domain::model::Severity;

/// The formats and transports a destination speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Webhook,
    SplunkHec,
    LogscaleHec,
    AzureLogs,
    CefSyslog,
    JsonSyslog,
    CefHttp,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[
        Kind::Webhook,
        Kind::SplunkHec,
        Kind::LogscaleHec,
        Kind::AzureLogs,
        Kind::CefSyslog,
        Kind::JsonSyslog,
        Kind::CefHttp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Webhook => "webhook",
            Kind::SplunkHec => "splunk-hec",
            Kind::LogscaleHec => "logscale-hec",
            Kind::AzureLogs => "azure-logs",
            Kind::CefSyslog => "cef-syslog",
            Kind::JsonSyslog => "json-syslog",
            Kind::CefHttp => "cef-http",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// Whether it speaks syslog (host, port, transport) rather than HTTP.
    pub fn is_syslog(self) -> bool {
        matches!(self, Kind::CefSyslog | Kind::JsonSyslog)
    }
}

/// How syslog travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

/// Where a destination sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Url(String),
    Syslog {
        host: String,
        port: u16,
        transport: Transport,
    },
}

/// Which events a destination takes: of these types (none: all), at
/// least this severe (events without a severity always pass).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    #[serde(default)]
    pub types: Vec<EventType>,
    #[serde(default)]
    pub min_severity: Option<Severity>,
}

/// How severe: 0 the most.
fn rank(s: Severity) -> u8 {
    match s {
        Severity::Critical => 0,
        Severity::Major => 1,
        Severity::Minor => 2,
        Severity::Warning => 3,
        Severity::Info => 4,
    }
}

impl Routing {
    /// Whether `e` goes. Heartbeats and tests always go.
    pub fn takes(&self, e: &OutEvent) -> bool {
        if matches!(
            e.kind,
            EventType::DeliveryHeartbeat | EventType::DeliveryTest
        ) {
            return true;
        }
        let typed = self.types.is_empty() || self.types.contains(&e.kind);
        let severe = match (self.min_severity, e.severity) {
            (Some(min), Some(s)) => rank(s) <= rank(min),
            _ => true,
        };
        typed && severe
    }
}

/// A destination's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub kind: Kind,
    pub target: Target,
    /// Where the secrets are: `env:VAR` or `file:PATH`; the second is
    /// the one being rotated in.
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub routing: Routing,
    #[serde(default)]
    pub data_mode: DataMode,
    /// Field names sent (empty: all).
    #[serde(default)]
    pub data_fields: Vec<String>,
    /// Days delivered rows are kept (0–90).
    #[serde(default = "default_retention")]
    pub retention_days: u16,
    #[serde(default = "default_batch")]
    pub batch_size: u32,
    /// Deliveries per second at most (0: no limit).
    #[serde(default)]
    pub rate_per_s: u32,
    #[serde(default = "default_timeout")]
    pub timeout_s: u32,
    /// Give up on a row this many hours after it was queued (`expired`).
    #[serde(default = "default_give_up")]
    pub give_up_h: u32,
    /// Seconds between `delivery.heartbeat` events, the receiver's proof
    /// that the pipe is alive (0: none).
    #[serde(default = "default_heartbeat")]
    pub heartbeat_s: u32,
    /// Private, loopback and link-local addresses allowed (a super_admin's
    /// decision: an MSSP's SIEM often sits on 10.x).
    #[serde(default)]
    pub allow_private: bool,
    /// `http://` allowed (otherwise `https://` only).
    #[serde(default)]
    pub allow_http: bool,
    /// Syslog's format, facility, hostname and TLS files (syslog kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syslog: Option<SyslogOptions>,
    /// HEC's index, sourcetype and acknowledgement (HEC kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hec: Option<HecOptions>,
    /// The Azure identity and stream (`azure-logs`, required there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureOptions>,
    /// The CEF header's vendor and product (CEF kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cef: Option<CefProfile>,
}

fn default_retention() -> u16 {
    7
}
fn default_batch() -> u32 {
    100
}
fn default_timeout() -> u32 {
    15
}
fn default_give_up() -> u32 {
    72
}
fn default_heartbeat() -> u32 {
    300
}

/// A destination: its owner (`None`: provider-wide), id and settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub tenant: Option<Id>,
    pub id: Id,
    pub settings: Settings,
    pub paused: bool,
}

/// The most secrets a destination holds at once.
pub const MAX_SECRETS: usize = 2;
/// The largest batch.
pub const MAX_BATCH: u32 = 500;
/// The longest URL or host, in bytes.
pub const MAX_TARGET: usize = 2_048;

impl Settings {
    /// `kind` to `target` with the defaults: no secret, every event,
    /// `full` data, every field, a week's retention, batches of 100,
    /// no rate limit, 15 s timeouts, given up after 72 hours, a heartbeat
    /// every 5 minutes, public `https://` addresses only.
    pub fn new(kind: Kind, target: Target) -> Self {
        Self {
            kind,
            target,
            secrets: Vec::new(),
            routing: Routing::default(),
            data_mode: DataMode::Full,
            data_fields: Vec::new(),
            retention_days: default_retention(),
            batch_size: default_batch(),
            rate_per_s: 0,
            timeout_s: default_timeout(),
            give_up_h: default_give_up(),
            heartbeat_s: default_heartbeat(),
            allow_private: false,
            allow_http: false,
            syslog: None,
            hec: None,
            azure: None,
            cef: None,
        }
    }

    /// The settings when sane; otherwise what is wrong, by field.
    pub fn check(&self) -> Result<(), String> {
        match (&self.target, self.kind.is_syslog()) {
            (Target::Url(_), true) => {
                return Err(format!(
                    "target: {} sends syslog: give host, port and transport",
                    self.kind.as_str()
                ));
            }
            (Target::Syslog { .. }, false) => {
                return Err(format!("target: {} needs a URL", self.kind.as_str()));
            }
            (Target::Url(u), false) => check_url(u, self.allow_http)?,
            (Target::Syslog { host, port, .. }, true) => {
                if host.is_empty()
                    || host.len() > 255
                    || host.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err("target.host: 1 to 255 characters, no spaces".into());
                }
                if *port == 0 {
                    return Err("target.port: 1 to 65535".into());
                }
            }
        }
        if self.secrets.len() > MAX_SECRETS {
            return Err(format!(
                "secrets: at most {MAX_SECRETS} (the current and the next)"
            ));
        }
        for s in &self.secrets {
            if !(s.starts_with("env:") || s.starts_with("file:")) || s.len() < 5 || s.len() > 1_024
            {
                return Err(format!(
                    "secrets: {:?} is not env:VAR or file:PATH (a secret is never stored itself)",
                    crate::domain::SafeText::new(s.get(..s.len().min(16)).unwrap_or(""))
                ));
            }
        }
        let needs_secret = matches!(
            self.kind,
            Kind::Webhook | Kind::SplunkHec | Kind::LogscaleHec | Kind::AzureLogs
        );
        if needs_secret && self.secrets.is_empty() {
            return Err(format!("secrets: {} needs one", self.kind.as_str()));
        }
        if self.retention_days > 90 {
            return Err("retention_days: 0 to 90".into());
        }
        if !(1..=MAX_BATCH).contains(&self.batch_size) {
            return Err(format!("batch_size: 1 to {MAX_BATCH}"));
        }
        if !(1..=120).contains(&self.timeout_s) {
            return Err("timeout_s: 1 to 120".into());
        }
        if !(1..=24 * 90).contains(&self.give_up_h) {
            return Err("give_up_h: 1 to 2160 (90 days)".into());
        }
        if self.heartbeat_s != 0 && !(60..=86_400).contains(&self.heartbeat_s) {
            return Err("heartbeat_s: 0 (none) or 60 to 86400".into());
        }
        if self.data_fields.len() > 64
            || self
                .data_fields
                .iter()
                .any(|f| f.is_empty() || f.len() > 64)
        {
            return Err("data_fields: at most 64 names of 1 to 64 bytes".into());
        }
        self.check_options()
    }

    /// The kind's own options: present only where they mean something,
    /// and sane.
    fn check_options(&self) -> Result<(), String> {
        let kind = self.kind;
        let is_hec = matches!(kind, Kind::SplunkHec | Kind::LogscaleHec);
        let is_cef = matches!(kind, Kind::CefSyslog | Kind::CefHttp);
        for (name, present, fits) in [
            ("syslog", self.syslog.is_some(), kind.is_syslog()),
            ("hec", self.hec.is_some(), is_hec),
            ("azure", self.azure.is_some(), kind == Kind::AzureLogs),
            ("cef", self.cef.is_some(), is_cef),
        ] {
            if present && !fits {
                return Err(format!("{name}: not an option of {}", kind.as_str()));
            }
        }
        if let Some(o) = &self.syslog {
            o.check()?;
        }
        if let Some(o) = &self.hec {
            o.check()?;
            if o.ack && kind == Kind::LogscaleHec {
                return Err("hec.ack: LogScale has no indexer acknowledgement".into());
            }
        }
        match &self.azure {
            Some(o) => o.check(self.allow_http)?,
            None if kind == Kind::AzureLogs => {
                return Err("azure: tenant_id, client_id, dcr_id and stream are needed".into());
            }
            None => {}
        }
        if let Some(o) = &self.cef {
            o.check()?;
        }
        Ok(())
    }

    /// The syslog options in force.
    pub fn syslog_options(&self) -> SyslogOptions {
        self.syslog.clone().unwrap_or_default()
    }

    /// The CEF profile in force.
    pub fn cef_profile(&self) -> CefProfile {
        self.cef.clone().unwrap_or_default()
    }
}

pub(super) fn check_url(u: &str, allow_http: bool) -> Result<(), String> {
    if u.len() > MAX_TARGET {
        return Err(format!("target: a URL of at most {MAX_TARGET} bytes"));
    }
    let rest = if let Some(r) = u.strip_prefix("https://") {
        r
    } else if let Some(r) = u.strip_prefix("http://") {
        if !allow_http {
            return Err("target: https:// only (allow_http to send in clear)".into());
        }
        r
    } else {
        return Err("target: an https:// URL".into());
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains('@') {
        return Err("target: a URL with a host and no user or password in it".into());
    }
    if u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("target: no spaces or control characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::outbound::event::Field;

    fn webhook(url: &str) -> Settings {
        Settings {
            secrets: vec!["env:SOC_SECRET".into()],
            ..Settings::new(Kind::Webhook, Target::Url(url.into()))
        }
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        assert_eq!(webhook("https://soc.example/hook").check(), Ok(()));
        for (s, field) in [
            (webhook("http://soc.example/hook"), "https:// only"),
            (webhook("ftp://soc.example"), "https://"),
            (webhook("https://user:pw@soc.example"), "no user"),
            (webhook("https:///x"), "host"),
            (
                Settings {
                    secrets: vec![],
                    ..webhook("https://a")
                },
                "secrets: webhook needs one",
            ),
            (
                Settings {
                    secrets: vec!["hunter2-the-secret".into()],
                    ..webhook("https://a")
                },
                "env:VAR",
            ),
            (
                Settings {
                    secrets: vec!["env:A".into(); 3],
                    ..webhook("https://a")
                },
                "at most 2",
            ),
            (
                Settings {
                    retention_days: 91,
                    ..webhook("https://a")
                },
                "retention_days",
            ),
            (
                Settings {
                    batch_size: 0,
                    ..webhook("https://a")
                },
                "batch_size",
            ),
            (
                Settings {
                    kind: Kind::CefSyslog,
                    ..webhook("https://a")
                },
                "host, port",
            ),
        ] {
            let e = s.check().unwrap_err();
            assert!(e.contains(field), "{e}");
            assert!(
                !e.contains("hunter2-the-secret"),
                "a secret is never echoed: {e}"
            );
        }
        let syslog = Settings {
            kind: Kind::CefSyslog,
            target: Target::Syslog {
                host: "siem.example".into(),
                port: 6514,
                transport: Transport::Tls,
            },
            secrets: vec![],
            ..webhook("https://a")
        };
        assert_eq!(syslog.check(), Ok(()));
        // An ack awaited for no time, or for hours, is refused.
        for (wait, ok) in [
            (Some(0), false),
            (Some(3_601), false),
            (Some(60), true),
            (None, true),
        ] {
            let hec = Settings {
                kind: Kind::SplunkHec,
                hec: Some(super::super::options::HecOptions {
                    ack: true,
                    ack_timeout_s: wait,
                    ..Default::default()
                }),
                ..webhook("https://splunk.example/services/collector/event")
            };
            let checked = hec.check();
            assert_eq!(checked.is_ok(), ok, "{wait:?}: {checked:?}");
            if let Err(e) = checked {
                assert!(e.contains("hec.ack_timeout_s"), "{e}");
            }
        }
        let json = serde_json::to_string(&syslog).unwrap();
        assert_eq!(serde_json::from_str::<Settings>(&json).unwrap(), syslog);
        assert!(
            serde_json::from_str::<Settings>(
                r#"{"kind":"webhook","target":{"url":"https://a"},"sneaky":1}"#
            )
            .is_err()
        );
    }

    #[test]
    fn routing_by_type_and_severity() {
        let tenant = Id::parse("acme").unwrap();
        let e = |kind, severity| OutEvent {
            id: "evt-1".into(),
            kind,
            time: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            tenant: tenant.clone(),
            site: None,
            device: None,
            severity,
            subject: "x".into(),
            summary: String::new(),
            fields: [("k".to_string(), Field::Data(serde_json::json!(1)))].into(),
        };
        let r = Routing {
            types: vec![EventType::IncidentOpened],
            min_severity: Some(Severity::Major),
        };
        assert!(r.takes(&e(EventType::IncidentOpened, Some(Severity::Critical))));
        assert!(r.takes(&e(EventType::IncidentOpened, Some(Severity::Major))));
        assert!(!r.takes(&e(EventType::IncidentOpened, Some(Severity::Minor))));
        assert!(!r.takes(&e(EventType::AlertFired, Some(Severity::Critical))));
        assert!(r.takes(&e(EventType::DeliveryTest, None)));
        assert!(Routing::default().takes(&e(EventType::DeviceOffline, None)));
    }
}
