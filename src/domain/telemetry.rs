//! Telemetry bodies, one per kind. Field by field they are specified in
//! `docs/PROTOCOL.md`; unknown fields are refused so that a typo never passes
//! silently.

use serde::{Deserialize, Serialize};

use crate::domain::{Id, SafeBlock, SafeText};

/// The kind of a telemetry message (last token of its subject).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Heartbeat,
    Metrics,
    Signal,
    Interfaces,
    Registrations,
    Config,
    Log,
    Push,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 8] = [
        Kind::Heartbeat,
        Kind::Metrics,
        Kind::Signal,
        Kind::Interfaces,
        Kind::Registrations,
        Kind::Config,
        Kind::Log,
        Kind::Push,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Heartbeat => "heartbeat",
            Kind::Metrics => "metrics",
            Kind::Signal => "signal",
            Kind::Interfaces => "interfaces",
            Kind::Registrations => "registrations",
            Kind::Config => "config",
            Kind::Log => "log",
            Kind::Push => "push",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Most interfaces one message may list.
pub const MAX_INTERFACES: usize = 256;
/// Most registered clients one message may list.
pub const MAX_CLIENTS: usize = 1024;
/// The longest heartbeat interval a device may announce: a day. A larger
/// one would keep its links and status up long after it went silent.
pub const MAX_INTERVAL_S: u32 = 86_400;
/// The highest link rate taken, in Mbit/s.
pub const MAX_RATE_MBPS: f32 = 100_000.0;

/// "I am alive."
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    pub uptime_s: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<SafeText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<SafeText>,
    /// Seconds until the next heartbeat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_s: Option<u32>,
}

/// System metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    pub cpu_pct: f32,
    pub mem_pct: f32,
    pub rx_bps: u64,
    pub tx_bps: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_c: Option<f32>,
}

/// One radio link end's view of its peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signal {
    /// The device at the other end of the link.
    pub peer: Id,
    pub rssi_dbm: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snr_db: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_rate_mbps: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx_rate_mbps: Option<f32>,
}

/// One network interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interface {
    pub name: SafeText,
    pub up: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_mbps: Option<u32>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<u64>,
}

/// The device's interfaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interfaces {
    pub interfaces: Vec<Interface>,
}

/// One client registered to an access point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// The client's device id when it is a managed CPE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<SafeText>,
    pub rssi_dbm: f32,
    pub uptime_s: u64,
}

/// An access point's registration table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registrations {
    pub clients: Vec<Registration>,
}

/// The device's running configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigSnapshot {
    /// A free label for the dialect (`routeros`, `openwrt-uci`, `text`…).
    pub format: SafeText,
    pub body: SafeBlock,
}

/// Log severity, syslog names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    Critical,
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogLine {
    pub level: LogLevel,
    pub message: SafeText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<SafeText>,
}

/// What an agent did with an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushOutcome {
    /// Applied, backup kept, revert timer armed until `deadline`.
    Applied,
    /// Could not apply; the previous configuration is in place.
    Failed,
    /// A confirm disarmed the timer: the new configuration stays.
    Confirmed,
    /// The backup was restored (`reason`: timeout, manual, restart).
    Reverted,
    /// The order failed a check (`reason`: the rejection reason).
    Rejected,
}

impl PushOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            PushOutcome::Applied => "applied",
            PushOutcome::Failed => "failed",
            PushOutcome::Confirmed => "confirmed",
            PushOutcome::Reverted => "reverted",
            PushOutcome::Rejected => "rejected",
        }
    }
}

/// An agent's report on one order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushReport {
    /// The push the order belonged to; absent when the order could not
    /// even be read. For a rejected order it is what the order claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<Id>,
    /// The order's sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub outcome: PushOutcome,
    /// A short machine reason: the rejection (`replay`, `bad-signature`…)
    /// or why a revert happened (`timeout`, `manual`, `restart`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<SafeText>,
    /// The local revert deadline (applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<chrono::DateTime<chrono::Utc>>,
    /// Human detail: the driver's error, the command's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<SafeText>,
}

/// A decoded telemetry body.
#[derive(Debug, Clone, PartialEq)]
pub enum Telemetry {
    Heartbeat(Heartbeat),
    Metrics(Metrics),
    Signal(Signal),
    Interfaces(Interfaces),
    Registrations(Registrations),
    Config(ConfigSnapshot),
    Log(LogLine),
    Push(PushReport),
}

impl Telemetry {
    /// The body's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Telemetry::Heartbeat(_) => Kind::Heartbeat,
            Telemetry::Metrics(_) => Kind::Metrics,
            Telemetry::Signal(_) => Kind::Signal,
            Telemetry::Interfaces(_) => Kind::Interfaces,
            Telemetry::Registrations(_) => Kind::Registrations,
            Telemetry::Config(_) => Kind::Config,
            Telemetry::Log(_) => Kind::Log,
            Telemetry::Push(_) => Kind::Push,
        }
    }

    /// Checks value ranges; returns the offending field and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        fn range(
            field: &'static str,
            v: f32,
            lo: f32,
            hi: f32,
        ) -> Result<(), (&'static str, String)> {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err((field, format!("{v} is outside {lo}..={hi}")))
            }
        }
        match self {
            Telemetry::Heartbeat(h) => match h.interval_s {
                Some(0) => Err(("body.interval_s", "must be at least 1".into())),
                Some(v) if v > MAX_INTERVAL_S => Err((
                    "body.interval_s",
                    format!("{v} is over {MAX_INTERVAL_S} (a day)"),
                )),
                _ => Ok(()),
            },
            Telemetry::Metrics(m) => {
                range("body.cpu_pct", m.cpu_pct, 0.0, 100.0)?;
                range("body.mem_pct", m.mem_pct, 0.0, 100.0)?;
                if let Some(t) = m.temp_c {
                    range("body.temp_c", t, -60.0, 200.0)?;
                }
                Ok(())
            }
            Telemetry::Signal(s) => {
                range("body.rssi_dbm", s.rssi_dbm, -150.0, 0.0)?;
                if let Some(v) = s.snr_db {
                    range("body.snr_db", v, -20.0, 120.0)?;
                }
                if let Some(v) = s.tx_rate_mbps {
                    range("body.tx_rate_mbps", v, 0.0, MAX_RATE_MBPS)?;
                }
                if let Some(v) = s.rx_rate_mbps {
                    range("body.rx_rate_mbps", v, 0.0, MAX_RATE_MBPS)?;
                }
                Ok(())
            }
            Telemetry::Interfaces(i) if i.interfaces.len() > MAX_INTERFACES => Err((
                "body.interfaces",
                format!("{} entries, at most {MAX_INTERFACES}", i.interfaces.len()),
            )),
            Telemetry::Registrations(r) => {
                if r.clients.len() > MAX_CLIENTS {
                    return Err((
                        "body.clients",
                        format!("{} entries, at most {MAX_CLIENTS}", r.clients.len()),
                    ));
                }
                for c in &r.clients {
                    range("body.clients[].rssi_dbm", c.rssi_dbm, -150.0, 0.0)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

impl Serialize for Telemetry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Telemetry::Heartbeat(b) => b.serialize(s),
            Telemetry::Metrics(b) => b.serialize(s),
            Telemetry::Signal(b) => b.serialize(s),
            Telemetry::Interfaces(b) => b.serialize(s),
            Telemetry::Registrations(b) => b.serialize(s),
            Telemetry::Config(b) => b.serialize(s),
            Telemetry::Log(b) => b.serialize(s),
            Telemetry::Push(b) => b.serialize(s),
        }
    }
}
