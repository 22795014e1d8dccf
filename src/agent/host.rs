//! Host metrics from /proc (Linux): CPU and memory use, bytes per second
//! in and out. Elsewhere the agent sends heartbeats only.

use std::time::Instant;

use crate::domain::telemetry::Metrics;

#[derive(Debug, Clone, Copy)]
struct Counters {
    at: Instant,
    cpu_busy: u64,
    cpu_total: u64,
    rx: u64,
    tx: u64,
}

/// Turns counter readings into rates between two samples.
#[derive(Debug, Default)]
pub struct Sampler {
    last: Option<Counters>,
}

fn cpu() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

fn memory_pct() -> Option<f32> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let (total, avail) = (field("MemTotal:")?, field("MemAvailable:")?);
    #[allow(clippy::cast_possible_truncation)]
    Some(((1.0 - avail / total.max(1.0)) * 100.0).clamp(0.0, 100.0) as f32)
}

fn network() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/net/dev").ok()?;
    let (mut rx, mut tx) = (0u64, 0u64);
    for line in text.lines().skip(2) {
        let (name, rest) = line.split_once(':')?;
        if name.trim() == "lo" {
            continue;
        }
        let v: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        rx += v.first().copied().unwrap_or(0);
        tx += v.get(8).copied().unwrap_or(0);
    }
    Some((rx, tx))
}

impl Sampler {
    /// Metrics since the last call; `None` on the first call or where
    /// /proc is not there.
    pub fn sample(&mut self) -> Option<Metrics> {
        let (cpu_busy, cpu_total) = cpu()?;
        let (rx, tx) = network().unwrap_or((0, 0));
        let now = Counters {
            at: Instant::now(),
            cpu_busy,
            cpu_total,
            rx,
            tx,
        };
        let last = self.last.replace(now)?;
        let secs = now.at.duration_since(last.at).as_secs_f64().max(0.001);
        let busy = now.cpu_busy.saturating_sub(last.cpu_busy) as f64;
        let total = now.cpu_total.saturating_sub(last.cpu_total).max(1) as f64;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(Metrics {
            cpu_pct: ((busy / total) * 100.0).clamp(0.0, 100.0) as f32,
            mem_pct: memory_pct().unwrap_or(0.0),
            rx_bps: ((now.rx.saturating_sub(last.rx) as f64 * 8.0) / secs) as u64,
            tx_bps: ((now.tx.saturating_sub(last.tx) as f64 * 8.0) / secs) as u64,
            temp_c: None,
        })
    }
}

/// Seconds since the host booted.
pub fn uptime_s() -> u64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0, |s| s as u64)
}
