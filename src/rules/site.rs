//! The periodic rules: site and sector health and signal degradation,
//! evaluated every few minutes on what the database holds, and confirmed
//! only after consecutive hits (the alert tracker's hysteresis).
//!
//! Pure: the worker reads the inputs, passes the time in, and stores what
//! comes out.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::alert_id;
use crate::domain::Id;
use crate::domain::SafeText;
use crate::domain::alert::{AlertChange, AlertPolicy, AlertState, AlertTracker};
use crate::domain::model::{Alert, Severity};
use crate::domain::site::{SectorHealth, SignalTrend, SiteSummary};

/// Too many devices of a site offline.
pub const SITE_OFFLINE: &str = "site-devices-offline";
/// A sector's average client signal below the floor.
pub const SECTOR_SIGNAL_LOW: &str = "sector-signal-low";
/// Many of a sector's clients gone since the last evaluation.
pub const SECTOR_CLIENT_DROP: &str = "sector-client-drop";
/// A link's recent signal well below its baseline.
pub const SIGNAL_DEGRADING: &str = "signal-degrading";

/// Thresholds and windows of the periodic rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteRuleConfig {
    /// Seconds between evaluations.
    pub every_s: u32,
    /// Consecutive hits before an alert opens (and clears before it
    /// resolves).
    pub confirm_hits: u16,
    /// A site alerts with at least this many devices offline…
    pub offline_count: u64,
    /// …and at least this share of them (percent).
    pub offline_pct: f32,
    /// A sector alerts when its clients' average signal is below this.
    pub sector_min_signal_dbm: f32,
    /// A sector alerts when this share of its online clients (percent)…
    pub client_drop_pct: f32,
    /// …and at least this many of them dropped since the last evaluation.
    pub client_drop_min: u64,
    /// The recent window of the degradation trend (seconds).
    pub trend_recent_s: u64,
    /// The baseline window, just before the recent one (seconds).
    pub trend_baseline_s: u64,
    /// The drop (dB) of the recent average below the baseline that alerts.
    pub trend_drop_db: f32,
    /// Samples each window needs before the trend counts.
    pub trend_min_samples: u64,
}

impl Default for SiteRuleConfig {
    fn default() -> Self {
        Self {
            every_s: 300,
            confirm_hits: 2,
            offline_count: 3,
            offline_pct: 30.0,
            sector_min_signal_dbm: -75.0,
            client_drop_pct: 30.0,
            client_drop_min: 3,
            trend_recent_s: 7 * 86_400,
            trend_baseline_s: 14 * 86_400,
            trend_drop_db: 5.0,
            trend_min_samples: 10,
        }
    }
}

impl SiteRuleConfig {
    fn policy(&self) -> AlertPolicy {
        AlertPolicy {
            fire_after: self.confirm_hits.max(1),
            resolve_after: self.confirm_hits.max(1),
            ..AlertPolicy::default()
        }
    }
}

/// What one rule says of one thing at one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub tenant: Id,
    pub site: Id,
    pub device: Option<Id>,
    /// What the alert is about: a site, a sector or a device id.
    pub subject: Id,
    pub rule: &'static str,
    pub severity: Severity,
    pub hit: bool,
    pub summary: String,
}

/// The findings of the site and sector rules. `previous` holds each
/// sector's online clients at the last evaluation; it is updated.
pub fn site_findings(
    cfg: &SiteRuleConfig,
    sites: &[SiteSummary],
    sectors: &[SectorHealth],
    previous: &mut HashMap<(Id, Id), u64>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in sites {
        let total = s.counts.total();
        let offline = s.counts.offline;
        #[allow(clippy::cast_precision_loss)]
        let pct = if total == 0 {
            0.0
        } else {
            100.0 * offline as f32 / total as f32
        };
        out.push(Finding {
            tenant: s.tenant.clone(),
            site: s.id.clone(),
            device: None,
            subject: s.id.clone(),
            rule: SITE_OFFLINE,
            severity: Severity::Major,
            hit: offline >= cfg.offline_count && pct >= cfg.offline_pct,
            summary: format!(
                "{offline} of {total} devices offline at {}",
                s.name.as_str()
            ),
        });
    }
    for sec in sectors {
        if let Some(avg) = sec.avg_signal_dbm {
            out.push(Finding {
                tenant: sec.tenant.clone(),
                site: sec.site.clone(),
                device: None,
                subject: sec.sector.clone(),
                rule: SECTOR_SIGNAL_LOW,
                severity: Severity::Minor,
                hit: avg < cfg.sector_min_signal_dbm,
                summary: format!(
                    "sector {} clients average {avg:.1} dBm (floor {:.0})",
                    sec.sector, cfg.sector_min_signal_dbm
                ),
            });
        }
        let key = (sec.tenant.clone(), sec.sector.clone());
        let before = previous.insert(key, sec.clients_online);
        if let Some(before) = before {
            let dropped = before.saturating_sub(sec.clients_online);
            #[allow(clippy::cast_precision_loss)]
            let pct = if before == 0 {
                0.0
            } else {
                100.0 * dropped as f32 / before as f32
            };
            out.push(Finding {
                tenant: sec.tenant.clone(),
                site: sec.site.clone(),
                device: None,
                subject: sec.sector.clone(),
                rule: SECTOR_CLIENT_DROP,
                severity: Severity::Major,
                hit: dropped >= cfg.client_drop_min && pct >= cfg.client_drop_pct,
                summary: format!(
                    "sector {}: {dropped} of {before} clients dropped",
                    sec.sector
                ),
            });
        }
    }
    out
}

/// The findings of the degradation trend.
pub fn trend_findings(cfg: &SiteRuleConfig, trends: &[SignalTrend]) -> Vec<Finding> {
    trends
        .iter()
        .filter(|t| t.recent_n >= cfg.trend_min_samples && t.baseline_n >= cfg.trend_min_samples)
        .filter_map(|t| {
            let (recent, baseline) = (t.recent_dbm?, t.baseline_dbm?);
            let drop = baseline - recent;
            Some(Finding {
                tenant: t.tenant.clone(),
                site: t.site.clone(),
                device: Some(t.device.clone()),
                subject: t.device.clone(),
                rule: SIGNAL_DEGRADING,
                severity: Severity::Warning,
                hit: drop >= cfg.trend_drop_db,
                summary: format!(
                    "signal of {} down {drop:.1} dB: {recent:.1} dBm against {baseline:.1} dBm before",
                    t.device
                ),
            })
        })
        .collect()
}

/// The alerts the periodic rules keep, with their hysteresis.
#[derive(Debug, Default)]
pub struct SiteRules {
    trackers: HashMap<(Id, Id), (AlertTracker, Alert)>,
    /// Online clients per sector at the last evaluation.
    pub previous_clients: HashMap<(Id, Id), u64>,
}

/// An alert that changed, and whether to tell anyone.
#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    pub alert: Alert,
    pub fired: bool,
    pub notify: bool,
}

impl SiteRules {
    /// Feeds one evaluation's findings; what is tracked but not found this
    /// time (a sector that lost its last client, a link without samples)
    /// counts as clear. Returns the alerts that fired or resolved.
    pub fn evaluate(
        &mut self,
        cfg: &SiteRuleConfig,
        findings: Vec<Finding>,
        now: DateTime<Utc>,
    ) -> Vec<Changed> {
        let policy = cfg.policy();
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for f in findings {
            let id = alert_id(f.rule, &f.subject);
            let key = (f.tenant.clone(), id.clone());
            seen.insert(key.clone());
            if !f.hit && !self.trackers.contains_key(&key) {
                continue;
            }
            let (tracker, alert) = self.trackers.entry(key).or_insert_with(|| {
                (
                    AlertTracker::default(),
                    Alert {
                        tenant: f.tenant.clone(),
                        id,
                        rule: SafeText::new(f.rule),
                        device: f.device.clone(),
                        site: Some(f.site.clone()),
                        severity: f.severity,
                        state: AlertState::Ok,
                        summary: SafeText::from(f.summary.clone()),
                        flapping: false,
                        started: now,
                        updated: now,
                        incident: None,
                    },
                )
            });
            if f.hit {
                alert.summary = SafeText::from(f.summary);
            }
            push_change(&mut out, tracker, alert, f.hit, now, &policy);
        }
        let unseen: Vec<_> = self
            .trackers
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        for key in unseen {
            if let Some((tracker, alert)) = self.trackers.get_mut(&key) {
                push_change(&mut out, tracker, alert, false, now, &policy);
            }
        }
        // Forget what is quiet again.
        self.trackers
            .retain(|_, (t, _)| !matches!(t.state, AlertState::Ok | AlertState::Resolved));
        out
    }

    /// Alerts tracked now (pending or firing).
    pub fn tracked(&self) -> usize {
        self.trackers.len()
    }

    /// Why the site alert `alert` of `tenant` is in its state, while it is
    /// tracked (pending or firing).
    pub fn why(
        &self,
        cfg: &SiteRuleConfig,
        tenant: &Id,
        alert: &Id,
    ) -> Option<crate::domain::alert::Why> {
        let (tracker, a) = self.trackers.get(&(tenant.clone(), alert.clone()))?;
        let rule = a.rule.as_str();
        let condition = match rule {
            SITE_OFFLINE => format!(
                "at least {} devices and {:.0}% of the site offline",
                cfg.offline_count, cfg.offline_pct
            ),
            SECTOR_SIGNAL_LOW => format!(
                "the sector's online clients average below {:.0} dBm",
                cfg.sector_min_signal_dbm
            ),
            SECTOR_CLIENT_DROP => format!(
                "at least {} and {:.0}% of the sector's clients dropped since the last evaluation",
                cfg.client_drop_min, cfg.client_drop_pct
            ),
            SIGNAL_DEGRADING => format!(
                "the last {} s average {:.0} dB under the {} s before",
                cfg.trend_recent_s, cfg.trend_drop_db, cfg.trend_baseline_s
            ),
            other => other.to_string(),
        };
        Some(tracker.why(alert, rule, condition, &cfg.policy()))
    }
}

fn push_change(
    out: &mut Vec<Changed>,
    tracker: &mut AlertTracker,
    alert: &mut Alert,
    hit: bool,
    now: DateTime<Utc>,
    policy: &AlertPolicy,
) {
    let eval = tracker.evaluate(hit, now, policy);
    let fired = eval.changes.contains(&AlertChange::Fired);
    let resolved = eval.changes.contains(&AlertChange::Resolved);
    if fired {
        alert.started = now;
    }
    alert.state = tracker.state;
    alert.flapping = tracker.flapping;
    alert.updated = now;
    if fired || resolved {
        out.push(Changed {
            alert: alert.clone(),
            fired,
            notify: eval.notify,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fleet::StatusCounts;

    fn id(s: &str) -> Id {
        Id::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn site(offline: u64, online: u64) -> SiteSummary {
        SiteSummary {
            tenant: id("acme"),
            id: id("lyon"),
            name: SafeText::new("Lyon"),
            region: SafeText::new("FR"),
            lat: 45.7,
            lon: 4.8,
            counts: StatusCounts {
                online,
                offline,
                ..StatusCounts::default()
            },
        }
    }

    fn sector(clients: u64, signal: f32) -> SectorHealth {
        SectorHealth {
            tenant: id("acme"),
            site: id("lyon"),
            sector: id("lyon-n"),
            clients_online: clients,
            avg_signal_dbm: Some(signal),
        }
    }

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + min * 60, 0).unwrap_or_default()
    }

    #[test]
    fn site_offline_needs_count_and_share_and_two_hits() {
        let cfg = SiteRuleConfig::default();
        let mut prev = HashMap::new();
        let hit = |s| site_findings(&cfg, &[s], &[], &mut HashMap::new())[0].hit;
        assert!(!hit(site(2, 2)), "2 offline is under the count");
        assert!(!hit(site(3, 20)), "3 of 23 is under 30%");
        assert!(hit(site(3, 5)));
        let mut rules = SiteRules::default();
        let f = || site_findings(&cfg, &[site(5, 5)], &[], &mut prev.clone());
        assert!(
            rules.evaluate(&cfg, f(), at(0)).is_empty(),
            "one hit is not enough"
        );
        let fired = rules.evaluate(&cfg, f(), at(5));
        assert_eq!(fired.len(), 1);
        assert!(fired[0].fired && fired[0].notify);
        assert_eq!(fired[0].alert.state, AlertState::Firing);
        assert_eq!(fired[0].alert.rule.as_str(), SITE_OFFLINE);
        assert_eq!(
            fired[0].alert.summary.as_str(),
            "5 of 10 devices offline at Lyon"
        );
        assert!(
            rules.evaluate(&cfg, f(), at(10)).is_empty(),
            "still firing: no change"
        );
        let mut ok = || site_findings(&cfg, &[site(0, 10)], &[], &mut prev);
        assert!(rules.evaluate(&cfg, ok(), at(15)).is_empty());
        let resolved = rules.evaluate(&cfg, ok(), at(20));
        assert_eq!(resolved.len(), 1);
        assert!(!resolved[0].fired);
        assert_eq!(resolved[0].alert.state, AlertState::Resolved);
        assert_eq!(rules.tracked(), 0);
    }

    #[test]
    fn sector_signal_and_client_drop() {
        let cfg = SiteRuleConfig::default();
        let mut prev = HashMap::new();
        let first = site_findings(&cfg, &[], &[sector(10, -70.0)], &mut prev);
        assert_eq!(first.len(), 1, "no drop finding without a previous count");
        assert!(!first[0].hit);
        let second = site_findings(&cfg, &[], &[sector(6, -80.0)], &mut prev);
        let by_rule = |rule| second.iter().find(|f| f.rule == rule).map(|f| f.hit);
        assert_eq!(by_rule(SECTOR_SIGNAL_LOW), Some(true));
        assert_eq!(by_rule(SECTOR_CLIENT_DROP), Some(true), "4 of 10 dropped");
        let third = site_findings(&cfg, &[], &[sector(5, -70.0)], &mut prev);
        assert!(third.iter().all(|f| !f.hit), "1 of 6 is a small drop");
    }

    #[test]
    fn degradation_compares_windows_with_enough_samples() {
        let cfg = SiteRuleConfig::default();
        let t = |recent, n| SignalTrend {
            tenant: id("acme"),
            device: id("cpe-1"),
            site: id("lyon"),
            recent_dbm: Some(recent),
            recent_n: n,
            baseline_dbm: Some(-60.0),
            baseline_n: 50,
        };
        assert!(trend_findings(&cfg, &[t(-66.0, 50)])[0].hit);
        assert!(!trend_findings(&cfg, &[t(-63.0, 50)])[0].hit);
        assert!(
            trend_findings(&cfg, &[t(-70.0, 3)]).is_empty(),
            "too few samples"
        );
    }

    #[test]
    fn what_disappears_counts_as_clear() {
        let cfg = SiteRuleConfig::default();
        let mut rules = SiteRules::default();
        let mut prev = HashMap::new();
        let low = || site_findings(&cfg, &[], &[sector(5, -90.0)], &mut HashMap::new());
        rules.evaluate(&cfg, low(), at(0));
        assert_eq!(rules.evaluate(&cfg, low(), at(5)).len(), 1);
        assert!(rules.evaluate(&cfg, Vec::new(), at(10)).is_empty());
        let gone = rules.evaluate(&cfg, site_findings(&cfg, &[], &[], &mut prev), at(15));
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].alert.state, AlertState::Resolved);
    }

    #[test]
    fn long_subjects_get_stable_ids() {
        let long = id(&"s".repeat(64));
        let a = alert_id(SECTOR_CLIENT_DROP, &long);
        assert_eq!(a, alert_id(SECTOR_CLIENT_DROP, &long));
        assert!(a.as_str().starts_with("sector-client-drop-"));
    }
}
