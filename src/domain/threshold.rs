//! Per-device threshold rules as data: what they look at, where they fire,
//! and the ones every device gets. The worker evaluates them; the console
//! draws their lines on charts.

use serde::{Deserialize, Serialize};

use crate::domain::alert::AlertPolicy;
use crate::domain::model::Severity;
use crate::domain::telemetry::Metrics;

/// What a threshold rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    CpuPct,
    MemPct,
    TempC,
}

/// Direction of a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Above,
    Below,
}

/// A per-device threshold rule with hysteresis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdRule {
    pub name: String,
    pub measure: Measure,
    pub op: Op,
    pub threshold: f32,
    pub severity: Severity,
    pub policy: AlertPolicy,
}
impl ThresholdRule {
    /// The condition in words: `cpu_pct above 90`.
    pub fn describe(&self) -> String {
        let measure = match self.measure {
            Measure::CpuPct => "cpu_pct",
            Measure::MemPct => "mem_pct",
            Measure::TempC => "temp_c",
        };
        let op = match self.op {
            Op::Above => "above",
            Op::Below => "below",
        };
        format!("{measure} {op} {}", self.threshold)
    }

    /// Whether a metrics sample meets the rule's condition; `None` when the
    /// sample does not carry the measure.
    pub fn hit(&self, m: &Metrics) -> Option<bool> {
        let v = match self.measure {
            Measure::CpuPct => m.cpu_pct,
            Measure::MemPct => m.mem_pct,
            Measure::TempC => m.temp_c?,
        };
        Some(match self.op {
            Op::Above => v > self.threshold,
            Op::Below => v < self.threshold,
        })
    }

    /// The alert's one-line summary.
    pub fn summary(&self, device_name: &str) -> String {
        let (what, unit) = match self.measure {
            Measure::CpuPct => ("CPU", "%"),
            Measure::MemPct => ("memory", "%"),
            Measure::TempC => ("temperature", "°C"),
        };
        let op = match self.op {
            Op::Above => "above",
            Op::Below => "below",
        };
        format!("{device_name}: {what} {op} {}{unit}", self.threshold)
    }
}

/// The rules every device gets unless configured otherwise.
pub fn default_threshold_rules() -> Vec<ThresholdRule> {
    vec![
        ThresholdRule {
            name: "cpu-high".into(),
            measure: Measure::CpuPct,
            op: Op::Above,
            threshold: 90.0,
            severity: Severity::Major,
            policy: AlertPolicy::default(),
        },
        ThresholdRule {
            name: "mem-high".into(),
            measure: Measure::MemPct,
            op: Op::Above,
            threshold: 95.0,
            severity: Severity::Minor,
            policy: AlertPolicy::default(),
        },
        ThresholdRule {
            name: "temp-high".into(),
            measure: Measure::TempC,
            op: Op::Above,
            threshold: 75.0,
            severity: Severity::Major,
            policy: AlertPolicy::default(),
        },
    ]
}
