//! The settings file format and its merge.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::line_of;

/// The built-in defaults.
pub const DEFAULTS: &str = include_str!("../../config/vigie.toml");

/// How many colours to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ColorMode {
    Auto,
    Truecolor,
    #[serde(rename = "256")]
    #[value(name = "256")]
    Ansi256,
    #[serde(rename = "16")]
    #[value(name = "16")]
    Ansi16,
    Never,
}

/// A settings error, naming where the bad value came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    pub source_name: String,
    pub line: Option<usize>,
    pub message: String,
}

/// Console settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleSettings {
    pub theme: String,
    pub keymap: String,
    pub fps: u32,
    pub color: ColorMode,
    pub tenant: String,
    /// Seconds a pushed device waits for a confirm before reverting.
    pub push_window_s: u32,
    /// Take the mouse (wheel scrolls, a click selects, a second click
    /// opens); off by default, so that the terminal's own selection works.
    pub mouse: bool,
    /// Hide and refuse every command that changes something.
    pub read_only: bool,
}

/// Demo settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoSettings {
    pub devices: usize,
    pub seed: u64,
    pub speed: f64,
    pub rate: u32,
    pub db: Option<PathBuf>,
}

/// Worker settings.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerSettings {
    /// The secret that signs session tokens (`env:VAR`, `file:PATH`, or
    /// inline in a settings file only its owner can read).
    pub session_key: Option<super::secret::SecretSpec>,
    pub batch_size: usize,
    pub sweep_every_s: u32,
    pub live_event_interval_s: u32,
}

/// Log settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSettings {
    pub level: String,
    pub file: Option<PathBuf>,
}

/// All settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub console: ConsoleSettings,
    pub demo: DemoSettings,
    pub worker: WorkerSettings,
    /// The periodic site, sector and trend rules of the worker.
    pub rules: crate::rules::site::SiteRuleConfig,
    /// What each NATS stream may hold (applied by the worker).
    pub streams: crate::bus::StreamLimits,
    pub log: LogSettings,
    /// Where NATS is and how to authenticate to it: the `--nats*` flags'
    /// defaults.
    pub nats: super::nats::NatsSettings,
    /// Where the values came from, lowest precedence first.
    pub sources: Vec<String>,
}

type S<T> = Option<Spanned<T>>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Patch {
    console: Option<ConsolePatch>,
    demo: Option<DemoPatch>,
    worker: Option<WorkerPatch>,
    rules: Option<RulesPatch>,
    streams: Option<StreamsPatch>,
    log: Option<LogPatch>,
    nats: Option<super::nats::NatsPatch>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StreamsPatch {
    telemetry_max_bytes: S<u64>,
    telemetry_max_msgs_per_subject: S<u64>,
    events_max_bytes: S<u64>,
    orders_max_bytes: S<u64>,
    dlq_max_bytes: S<u64>,
    dlq_max_age_s: S<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RulesPatch {
    site_every_s: S<u32>,
    confirm_hits: S<u16>,
    site_offline_count: S<u64>,
    site_offline_pct: S<f32>,
    sector_min_signal_dbm: S<f32>,
    client_drop_pct: S<f32>,
    client_drop_min: S<u64>,
    trend_recent_s: S<u64>,
    trend_baseline_s: S<u64>,
    trend_drop_db: S<f32>,
    trend_min_samples: S<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConsolePatch {
    theme: S<String>,
    keymap: S<String>,
    fps: S<u32>,
    color: S<ColorMode>,
    tenant: S<String>,
    push_window_s: S<u32>,
    mouse: S<bool>,
    read_only: S<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DemoPatch {
    devices: S<usize>,
    seed: S<u64>,
    speed: S<f64>,
    rate: S<u32>,
    db: S<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WorkerPatch {
    session_key: S<String>,
    batch_size: S<usize>,
    sweep_every_s: S<u32>,
    live_event_interval_s: S<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LogPatch {
    level: S<String>,
    file: S<String>,
}

/// One layer of settings text and where it came from.
struct Layer<'a> {
    name: String,
    text: &'a str,
}

impl Layer<'_> {
    fn error(
        &self,
        span: Option<std::ops::Range<usize>>,
        message: impl fmt::Display,
    ) -> ConfigError {
        ConfigError {
            source_name: self.name.clone(),
            line: span.map(|s| line_of(self.text, s.start)),
            message: message.to_string(),
        }
    }
}

fn set<T: Clone>(
    layer: &Layer<'_>,
    slot: &mut T,
    v: &S<T>,
    key: &str,
    ok: impl Fn(&T) -> Result<(), String>,
) -> Result<(), ConfigError> {
    if let Some(v) = v {
        ok(v.get_ref()).map_err(|why| layer.error(Some(v.span()), format!("{key}: {why}")))?;
        *slot = v.get_ref().clone();
    }
    Ok(())
}

fn any<T>(_: &T) -> Result<(), String> {
    Ok(())
}

fn between<T: PartialOrd + fmt::Display + Copy>(lo: T, hi: T) -> impl Fn(&T) -> Result<(), String> {
    move |v| {
        if *v >= lo && *v <= hi {
            Ok(())
        } else {
            Err(format!("{v} is out of range {lo}..={hi}"))
        }
    }
}

fn path_opt(s: &str) -> Option<PathBuf> {
    (!s.trim().is_empty()).then(|| PathBuf::from(s))
}

impl Settings {
    fn empty() -> Self {
        Self {
            console: ConsoleSettings {
                theme: String::new(),
                keymap: String::new(),
                fps: 20,
                color: ColorMode::Auto,
                tenant: String::new(),
                push_window_s: 300,
                mouse: false,
                read_only: false,
            },
            demo: DemoSettings {
                devices: 0,
                seed: 0,
                speed: 1.0,
                rate: 0,
                db: None,
            },
            worker: WorkerSettings {
                session_key: None,
                batch_size: 0,
                sweep_every_s: 0,
                live_event_interval_s: 0,
            },
            rules: crate::rules::site::SiteRuleConfig::default(),
            streams: crate::bus::StreamLimits::default(),
            log: LogSettings {
                level: String::new(),
                file: None,
            },
            nats: super::nats::NatsSettings::default(),
            sources: Vec::new(),
        }
    }

    fn apply(&mut self, layer: &Layer<'_>) -> Result<(), ConfigError> {
        let patch: Patch =
            toml::from_str(layer.text).map_err(|e| layer.error(e.span(), e.message()))?;
        if let Some(n) = &patch.nats {
            self.nats
                .apply(n)
                .map_err(|(span, why)| layer.error(Some(span), why))?;
        }
        if let Some(c) = &patch.console {
            let s = &mut self.console;
            set(layer, &mut s.theme, &c.theme, "console.theme", any)?;
            set(layer, &mut s.keymap, &c.keymap, "console.keymap", any)?;
            set(layer, &mut s.fps, &c.fps, "console.fps", between(1, 120))?;
            set(layer, &mut s.color, &c.color, "console.color", any)?;
            set(layer, &mut s.mouse, &c.mouse, "console.mouse", any)?;
            set(
                layer,
                &mut s.read_only,
                &c.read_only,
                "console.read_only",
                any,
            )?;
            set(
                layer,
                &mut s.push_window_s,
                &c.push_window_s,
                "console.push_window_s",
                between(5, 3600),
            )?;
            set(
                layer,
                &mut s.tenant,
                &c.tenant,
                "console.tenant",
                |t: &String| {
                    if t == "_all" {
                        return Ok(());
                    }
                    crate::domain::Id::parse(t)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                },
            )?;
        }
        if let Some(d) = &patch.demo {
            let s = &mut self.demo;
            set(
                layer,
                &mut s.devices,
                &d.devices,
                "demo.devices",
                between(1, 2_000_000),
            )?;
            set(layer, &mut s.seed, &d.seed, "demo.seed", any)?;
            set(
                layer,
                &mut s.speed,
                &d.speed,
                "demo.speed",
                between(0.01, 100_000.0),
            )?;
            set(layer, &mut s.rate, &d.rate, "demo.rate", any)?;
            if let Some(db) = &d.db {
                s.db = path_opt(db.get_ref());
            }
        }
        if let Some(w) = &patch.worker {
            let s = &mut self.worker;
            if let Some(k) = &w.session_key {
                let spec = super::secret::SecretSpec::parse(k.get_ref());
                // An inline secret is only kept in a file nobody else reads
                // (a variable's layer is not a file and is not checked).
                if matches!(spec, super::secret::SecretSpec::Inline(_))
                    && std::path::Path::new(&layer.name).is_file()
                {
                    super::secret::refuse_exposed(std::path::Path::new(&layer.name)).map_err(
                        |why| layer.error(Some(k.span()), format!("worker.session_key: {why}")),
                    )?;
                }
                s.session_key = Some(spec);
            }
            set(
                layer,
                &mut s.batch_size,
                &w.batch_size,
                "worker.batch_size",
                between(1, 20_000),
            )?;
            set(
                layer,
                &mut s.sweep_every_s,
                &w.sweep_every_s,
                "worker.sweep_every_s",
                between(1, 3_600),
            )?;
            set(
                layer,
                &mut s.live_event_interval_s,
                &w.live_event_interval_s,
                "worker.live_event_interval_s",
                between(0, 3_600),
            )?;
        }
        if let Some(r) = &patch.rules {
            let s = &mut self.rules;
            let year = 366 * 86_400;
            set(
                layer,
                &mut s.every_s,
                &r.site_every_s,
                "rules.site_every_s",
                between(1, 86_400),
            )?;
            set(
                layer,
                &mut s.confirm_hits,
                &r.confirm_hits,
                "rules.confirm_hits",
                between(1, 100),
            )?;
            set(
                layer,
                &mut s.offline_count,
                &r.site_offline_count,
                "rules.site_offline_count",
                between(1, 1_000_000),
            )?;
            set(
                layer,
                &mut s.offline_pct,
                &r.site_offline_pct,
                "rules.site_offline_pct",
                between(0.0, 100.0),
            )?;
            set(
                layer,
                &mut s.sector_min_signal_dbm,
                &r.sector_min_signal_dbm,
                "rules.sector_min_signal_dbm",
                between(-130.0, 0.0),
            )?;
            set(
                layer,
                &mut s.client_drop_pct,
                &r.client_drop_pct,
                "rules.client_drop_pct",
                between(0.0, 100.0),
            )?;
            set(
                layer,
                &mut s.client_drop_min,
                &r.client_drop_min,
                "rules.client_drop_min",
                between(1, 1_000_000),
            )?;
            set(
                layer,
                &mut s.trend_recent_s,
                &r.trend_recent_s,
                "rules.trend_recent_s",
                between(60, year),
            )?;
            set(
                layer,
                &mut s.trend_baseline_s,
                &r.trend_baseline_s,
                "rules.trend_baseline_s",
                between(60, year),
            )?;
            set(
                layer,
                &mut s.trend_drop_db,
                &r.trend_drop_db,
                "rules.trend_drop_db",
                between(0.1, 100.0),
            )?;
            set(
                layer,
                &mut s.trend_min_samples,
                &r.trend_min_samples,
                "rules.trend_min_samples",
                between(1, 1_000_000),
            )?;
        }
        if let Some(st) = &patch.streams {
            let s = &mut self.streams;
            let mib = 1 << 20;
            let bytes = between(16 * mib, 1 << 50);
            set(
                layer,
                &mut s.telemetry_max_bytes,
                &st.telemetry_max_bytes,
                "streams.telemetry_max_bytes",
                &bytes,
            )?;
            set(
                layer,
                &mut s.telemetry_max_msgs_per_subject,
                &st.telemetry_max_msgs_per_subject,
                "streams.telemetry_max_msgs_per_subject",
                between(100, 100_000_000),
            )?;
            set(
                layer,
                &mut s.events_max_bytes,
                &st.events_max_bytes,
                "streams.events_max_bytes",
                &bytes,
            )?;
            set(
                layer,
                &mut s.orders_max_bytes,
                &st.orders_max_bytes,
                "streams.orders_max_bytes",
                &bytes,
            )?;
            set(
                layer,
                &mut s.dlq_max_bytes,
                &st.dlq_max_bytes,
                "streams.dlq_max_bytes",
                &bytes,
            )?;
            set(
                layer,
                &mut s.dlq_max_age_s,
                &st.dlq_max_age_s,
                "streams.dlq_max_age_s",
                between(3_600, 90 * 86_400),
            )?;
        }
        if let Some(l) = &patch.log {
            set(
                layer,
                &mut self.log.level,
                &l.level,
                "log.level",
                |v: &String| {
                    tracing_subscriber::EnvFilter::try_new(v)
                        .map(|_| ())
                        .map_err(|e| format!("not a log level or filter: {e}"))
                },
            )?;
            if let Some(f) = &l.file {
                self.log.file = path_opt(f.get_ref());
            }
        }
        self.sources.push(layer.name.clone());
        Ok(())
    }

    /// The built-in defaults alone.
    pub fn defaults() -> Self {
        let mut s = Self::empty();
        // The embedded file is checked by a test; should it ever fail, the
        // hard-coded values of `empty` still make a working setup.
        let _ = s.apply(&Layer {
            name: "built-in defaults".into(),
            text: DEFAULTS,
        });
        s
    }

    /// Defaults, then the file at `path` if it exists (`required`: it must),
    /// then `VIGIE_*` variables from `env`.
    pub fn load(
        path: &Path,
        required: bool,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut s = Self::defaults();
        match std::fs::read_to_string(path) {
            Ok(text) => s.apply(&Layer {
                name: path.display().to_string(),
                text: &text,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {}
            Err(e) => {
                return Err(ConfigError {
                    source_name: path.display().to_string(),
                    line: None,
                    message: format!("cannot read: {e}"),
                });
            }
        }
        s.apply_env(env)?;
        Ok(s)
    }

    /// Applies `VIGIE_<SECTION>_<KEY>` variables.
    pub fn apply_env(
        &mut self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        let mut vars: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("VIGIE_"))
            .collect();
        vars.sort();
        for (name, value) in vars {
            let rest = &name["VIGIE_".len()..];
            let Some((section, key)) = rest.split_once('_') else {
                continue;
            };
            let section = section.to_ascii_lowercase();
            if !matches!(
                section.as_str(),
                "console" | "demo" | "worker" | "rules" | "log"
            ) {
                continue;
            }
            let key = key.to_ascii_lowercase();
            // A value that is not valid TOML on its own is taken as a string.
            let literal = if toml::from_str::<toml::Table>(&format!("v = {value}")).is_ok() {
                value.clone()
            } else {
                toml::Value::String(value.clone()).to_string()
            };
            let text = format!("[{section}]\n{key} = {literal}\n");
            self.apply(&Layer {
                name: format!("environment variable {name}"),
                text: &text,
            })
            .map_err(|mut e| {
                e.line = None;
                e
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(text: &str) -> Result<Settings, ConfigError> {
        let mut s = Settings::defaults();
        s.apply(&Layer {
            name: "user.toml".into(),
            text,
        })?;
        Ok(s)
    }

    #[test]
    fn embedded_defaults_are_complete_and_valid() {
        let mut s = Settings::empty();
        s.apply(&Layer {
            name: "defaults".into(),
            text: DEFAULTS,
        })
        .unwrap();
        assert_eq!(s.console.theme, "default");
        assert_eq!(s.console.fps, 20);
        assert_eq!(s.demo.devices, 2000);
        assert_eq!(s.worker.batch_size, 10000);
        assert_eq!(s.log.level, "info");
    }

    #[test]
    fn user_values_patch_defaults() {
        let s = layer("[console]\nfps = 30\n").unwrap();
        assert_eq!(s.console.fps, 30);
        assert_eq!(s.console.theme, "default");
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let e = layer("[console]\nfps = 30\nfsp = 3\n").unwrap_err();
        assert_eq!(e.source_name, "user.toml");
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("fsp"), "{e}");
        assert!(e.to_string().starts_with("user.toml:3: "), "{e}");
    }

    #[test]
    fn bad_values_name_the_line() {
        let e = layer("\n[console]\nfps = 0\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("console.fps"), "{e}");
        let e = layer("[console]\nfps = \"fast\"\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        let e = layer("[console]\ncolor = \"sepia\"\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        let e = layer("[nope]\nx = 1\n").unwrap_err();
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = layer("[console]\nfps = = 3\n").unwrap_err();
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn environment_overrides_and_errors_name_the_variable() {
        let mut s = Settings::defaults();
        s.apply_env([
            ("VIGIE_CONSOLE_FPS".to_string(), "45".to_string()),
            ("VIGIE_CONSOLE_THEME".to_string(), "mono".to_string()),
            ("VIGIE_CONFIG_DIR".to_string(), "/tmp/x".to_string()),
        ])
        .unwrap();
        assert_eq!(s.console.fps, 45);
        assert_eq!(s.console.theme, "mono");
        let e = s
            .apply_env([("VIGIE_CONSOLE_FRAMES".to_string(), "1".to_string())])
            .unwrap_err();
        assert_eq!(e.source_name, "environment variable VIGIE_CONSOLE_FRAMES");
    }

    #[test]
    fn missing_optional_file_is_fine_required_is_not() {
        let p = Path::new("/nonexistent/vigie.toml");
        assert!(Settings::load(p, false, []).is_ok());
        assert!(Settings::load(p, true, []).is_err());
    }
}
