//! What only some kinds of destination need: syslog's framing and TLS
//! files, the HEC fields, the Azure Logs Ingestion identity and stream,
//! and the CEF header's vendor and product (the ArcSight profile).

use serde::{Deserialize, Serialize};

/// The syslog header flavour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyslogFormat {
    /// RFC 5424 (the default).
    #[default]
    Rfc5424,
    /// RFC 3164, for legacy collectors.
    Rfc3164,
}

/// Syslog options (`cef-syslog`, `json-syslog`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogOptions {
    #[serde(default)]
    pub format: SyslogFormat,
    /// The facility (0–23; 16 is local0).
    #[serde(default = "default_facility")]
    pub facility: u8,
    /// The HOSTNAME field (printable ASCII, 255 at most).
    #[serde(default = "default_name")]
    pub hostname: String,
    /// A UTF-8 byte order mark before MSG (RFC 5424 allows it; CEF
    /// parsers that expect `CEF:` first break on it).
    #[serde(default)]
    pub bom: bool,
    /// PEM file of the CA that signed the collector's certificate (TLS;
    /// none: the system's roots).
    #[serde(default)]
    pub ca_file: Option<String>,
    /// PEM files of a client certificate and its key (mutual TLS).
    #[serde(default)]
    pub client_cert: Option<String>,
    #[serde(default)]
    pub client_key: Option<String>,
}

impl Default for SyslogOptions {
    fn default() -> Self {
        Self {
            format: SyslogFormat::default(),
            facility: default_facility(),
            hostname: default_name(),
            bom: false,
            ca_file: None,
            client_cert: None,
            client_key: None,
        }
    }
}

fn default_facility() -> u8 {
    16
}
fn default_name() -> String {
    "vigie".into()
}

/// HEC options (`splunk-hec`, `logscale-hec`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HecOptions {
    /// The index (none: the token's default).
    #[serde(default)]
    pub index: Option<String>,
    /// The sourcetype (none: `vigie:event`).
    #[serde(default)]
    pub sourcetype: Option<String>,
    /// Indexer acknowledgement: a batch counts as delivered only once
    /// Splunk says it is indexed.
    #[serde(default)]
    pub ack: bool,
    /// How long an ack is awaited before the batch is sent again, in
    /// seconds (default [`HecOptions::ACK_TIMEOUT_S`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_timeout_s: Option<u32>,
}

/// The Azure Monitor Logs Ingestion API's identity and stream
/// (`azure-logs`; the URL is the data collection endpoint, the secret
/// the application's client secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureOptions {
    /// The Entra (directory) tenant id.
    pub tenant_id: String,
    /// The application (client) id.
    pub client_id: String,
    /// The data collection rule's immutable id (`dcr-…`).
    pub dcr_id: String,
    /// The stream (`Custom-VigieEvents_CL`).
    pub stream: String,
    /// Where tokens come from (none: `https://login.microsoftonline.com`).
    #[serde(default)]
    pub authority: Option<String>,
}

/// The Entra authority used when none is set.
pub const AZURE_AUTHORITY: &str = "https://login.microsoftonline.com";

/// The CEF header's device vendor and product (ArcSight's profile names
/// what its parsers expect here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CefProfile {
    #[serde(default = "default_vendor")]
    pub vendor: String,
    #[serde(default = "default_vendor")]
    pub product: String,
}

impl Default for CefProfile {
    fn default() -> Self {
        Self {
            vendor: default_vendor(),
            product: default_vendor(),
        }
    }
}

fn default_vendor() -> String {
    "vigie".into()
}

/// A short name: 1 to `max` printable ASCII characters.
fn name_ok(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| (33..=126).contains(&b))
}

/// A path to a file: 1 to 1,024 bytes, no control characters.
fn path_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= 1_024 && !s.chars().any(char::is_control)
}

impl SyslogOptions {
    pub fn check(&self) -> Result<(), String> {
        if self.facility > 23 {
            return Err("syslog.facility: 0 to 23".into());
        }
        if !name_ok(&self.hostname, 255) {
            return Err("syslog.hostname: 1 to 255 printable ASCII characters".into());
        }
        for (k, v) in [
            ("ca_file", &self.ca_file),
            ("client_cert", &self.client_cert),
            ("client_key", &self.client_key),
        ] {
            if v.as_deref().is_some_and(|p| !path_ok(p)) {
                return Err(format!("syslog.{k}: a path of 1 to 1024 bytes"));
            }
        }
        if self.client_cert.is_some() != self.client_key.is_some() {
            return Err("syslog.client_cert and client_key: both or neither".into());
        }
        Ok(())
    }
}

impl HecOptions {
    /// The default wait for an ack: Splunk reports most within seconds,
    /// a busy indexer within a minute or two.
    pub const ACK_TIMEOUT_S: u32 = 120;
    /// The longest allowed.
    pub const MAX_ACK_TIMEOUT_S: u32 = 3_600;

    /// The wait for an ack.
    pub fn ack_timeout(&self) -> chrono::Duration {
        chrono::Duration::seconds(i64::from(self.ack_timeout_s.unwrap_or(Self::ACK_TIMEOUT_S)))
    }

    pub fn check(&self) -> Result<(), String> {
        if self
            .ack_timeout_s
            .is_some_and(|s| s == 0 || s > Self::MAX_ACK_TIMEOUT_S)
        {
            return Err(format!(
                "hec.ack_timeout_s: 1 to {} seconds",
                Self::MAX_ACK_TIMEOUT_S
            ));
        }
        for (k, v) in [("index", &self.index), ("sourcetype", &self.sourcetype)] {
            if v.as_deref().is_some_and(|s| !name_ok(s, 128)) {
                return Err(format!("hec.{k}: 1 to 128 printable ASCII characters"));
            }
        }
        Ok(())
    }
}

impl AzureOptions {
    pub fn check(&self, allow_http: bool) -> Result<(), String> {
        for (k, v) in [
            ("tenant_id", &self.tenant_id),
            ("client_id", &self.client_id),
            ("dcr_id", &self.dcr_id),
            ("stream", &self.stream),
        ] {
            let ok = !v.is_empty()
                && v.len() <= 128
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !ok {
                return Err(format!(
                    "azure.{k}: 1 to 128 letters, digits, '-', '_' or '.'"
                ));
            }
        }
        if let Some(a) = &self.authority {
            super::destination::check_url(a, allow_http)
                .map_err(|e| format!("azure.authority: {}", e.trim_start_matches("target: ")))?;
        }
        Ok(())
    }
}

impl CefProfile {
    pub fn check(&self) -> Result<(), String> {
        for (k, v) in [("vendor", &self.vendor), ("product", &self.product)] {
            if v.is_empty() || v.len() > 63 || v.chars().any(char::is_control) {
                return Err(format!("cef.{k}: 1 to 63 characters"));
            }
        }
        Ok(())
    }
}
