//! Signal trends: the worker's ranking of the radios whose signal fell
//! the most over a range, joined with the live fleet for names and
//! filtered by the screen's filter, and a chart of the selected one's
//! device (signal, CPU or memory).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph};
use serde_json::Value;

use crate::api::ApiError;
use crate::api::args::TrendArgs;
use crate::api::verbs;
use crate::api::views::{DeviceDetail, Trends};
use crate::console::fetch::{CHART_BUCKETS, Fetch, RANGES, ask_device, device_key};
use crate::console::layout::chart_height;
use crate::console::msg::{Effect, Reply};
use crate::console::nav::matches;
use crate::console::state::Shared;
use crate::console::widgets::list::{self, Column};
use crate::console::widgets::thousands;
use crate::domain::link::LinkPolicy;
use crate::domain::model::DeviceRow;
use crate::domain::site::SignalTrend;
use crate::settings::theme::{Meaning, Theme};

/// Real seconds before the trends and the chart are asked for again.
const EVERY_S: f64 = 60.0;

/// The trends screen's state.
#[derive(Debug)]
pub struct State {
    pub trends: Fetch<Trends>,
    /// The chart of the selected trend's device.
    pub chart: Fetch<DeviceDetail>,
    /// What that chart shows.
    pub measure: ChartMeasure,
    /// The range: an index into `RANGES` (a day at first).
    pub range_index: usize,
}

impl Default for State {
    fn default() -> Self {
        Self {
            trends: Fetch::default(),
            chart: Fetch::default(),
            measure: ChartMeasure::Signal,
            range_index: 2,
        }
    }
}

impl State {
    /// The range in seconds and its name.
    pub fn range(&self) -> (u32, &'static str) {
        RANGES[self.range_index.min(RANGES.len() - 1)]
    }
}

/// What the trends view charts for the selected device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ChartMeasure {
    #[default]
    Signal,
    Cpu,
    Memory,
}

impl ChartMeasure {
    pub fn next(self) -> Self {
        match self {
            ChartMeasure::Signal => ChartMeasure::Cpu,
            ChartMeasure::Cpu => ChartMeasure::Memory,
            ChartMeasure::Memory => ChartMeasure::Signal,
        }
    }
}

/// The calls the screen needs now: the ranking of the range, and the
/// chart of the selected device.
pub fn plan(sh: &Shared, me: &mut State) -> Vec<Effect> {
    let (now, speed) = (sh.now, sh.clock_speed);
    let range_s = me.range().0;
    let key = range_s.to_string();
    let mut out = Vec::new();
    if me.trends.due(&key, now, EVERY_S, speed) {
        let args = TrendArgs {
            until: Some(now),
            range_s: Some(range_s),
            limit: None,
        };
        out.push(Effect::call::<verbs::TrendsOf>(
            &sh.api_scope,
            &args,
            Reply::Trends(key.clone()),
        ));
        me.trends.ask(key, now);
    }
    let selected = rows(sh, me)
        .get(sh.selected)
        .map(|t| (t.trend.tenant.clone(), t.trend.device.clone()));
    if let Some((tenant, id)) = selected {
        let ask = (&tenant, &id, range_s, CHART_BUCKETS);
        out.extend(ask_device(
            &mut me.chart,
            ask,
            (now, speed),
            EVERY_S,
            Reply::Chart,
        ));
    }
    out
}

/// The worker's answers: the ranking, or the chart.
pub fn on_answer(me: &mut State, reply: Reply, answer: Result<Value, ApiError>) {
    match reply {
        Reply::Trends(key) => me.trends.take(&key, answer),
        Reply::Chart(key) => me.chart.take(&key, answer),
        _ => {}
    }
}

/// The footer's words on the rows.
pub fn info(me: &State, n: usize) -> String {
    format!("{n} devices · last {}", me.range().1)
}

/// One line of the ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendRow<'a> {
    pub trend: &'a SignalTrend,
    /// The device's live row, when the fleet has it.
    pub device: Option<&'a DeviceRow>,
    /// Recent minus baseline, in dB.
    pub change_db: Option<f32>,
}

/// The trends, when they answer the range on screen.
pub fn current(me: &State) -> Option<&Trends> {
    me.trends.current(&me.range().0.to_string())
}

/// The ranking as the worker sent it (the most fallen first), with names.
pub fn rows<'a>(sh: &'a Shared, me: &'a State) -> Vec<TrendRow<'a>> {
    let Some(t) = current(me) else {
        return Vec::new();
    };
    t.rows
        .iter()
        .map(|trend| TrendRow {
            trend,
            device: sh.fleet.find(&trend.tenant, &trend.device),
            change_db: Trends::drop_db(trend),
        })
        .filter(|r| {
            let name = r
                .device
                .map_or(r.trend.device.as_str(), |d| d.name.as_str());
            let site = r
                .device
                .map_or(r.trend.site.as_str(), |d| d.site_name.as_str());
            matches(&sh.filter_input, &[name, site, r.trend.tenant.as_str()])
        })
        .collect()
}

const COLUMNS: [Column; 7] = [
    Column {
        title: "DEVICE",
        width: 0,
        drop: 0,
    },
    Column {
        title: "SITE",
        width: 20,
        drop: 3,
    },
    Column {
        title: "TENANT",
        width: 12,
        drop: 4,
    },
    Column {
        title: "NOW dBm",
        width: 8,
        drop: 0,
    },
    Column {
        title: "BEFORE",
        width: 7,
        drop: 2,
    },
    Column {
        title: "CHANGE",
        width: 7,
        drop: 0,
    },
    Column {
        title: "SAMPLES",
        width: 9,
        drop: 5,
    },
];

/// The threshold of one of the built-in device rules.
fn rule_threshold(name: &str) -> f64 {
    crate::domain::threshold::default_threshold_rules()
        .iter()
        .find(|r| r.name == name)
        .map_or(0.0, |r| f64::from(r.threshold))
}

/// A signal change at least this large (down) is marked.
const MARK_DB: f32 = 5.0;

fn cells(r: &TrendRow<'_>, t: &Theme) -> Vec<(String, Style)> {
    let muted = t.style(Meaning::Muted);
    let f = |v: Option<f32>| v.map_or("—".to_string(), |v| format!("{v:.1}"));
    let change = match r.change_db {
        Some(c) if c <= -2.0 * MARK_DB => (format!("{c:+.1}"), t.style(Meaning::Critical)),
        Some(c) if c <= -MARK_DB => (format!("{c:+.1}"), t.style(Meaning::Major)),
        Some(c) => (format!("{c:+.1}"), muted),
        None => ("—".to_string(), muted),
    };
    let now = match r.trend.recent_dbm {
        Some(v) if v < LinkPolicy::default().degraded_below_dbm => {
            (format!("{v:.1}"), t.style(Meaning::Warning))
        }
        v => (f(v), Style::default()),
    };
    vec![
        (
            r.device
                .map_or(r.trend.device.to_string(), |d| d.name.to_string()),
            Style::default(),
        ),
        (
            r.device
                .map_or(r.trend.site.to_string(), |d| d.site_name.to_string()),
            muted,
        ),
        (r.trend.tenant.to_string(), muted),
        now,
        (f(r.trend.baseline_dbm), muted),
        change,
        (
            format!(
                "{}/{}",
                thousands(r.trend.recent_n),
                thousands(r.trend.baseline_n)
            ),
            muted,
        ),
    ]
}

/// Runs of buckets with a value, as chart points (x: seconds before the
/// end of the window, negative).
fn runs(series: &[Option<f32>], range_s: u32) -> Vec<Vec<(f64, f64)>> {
    // Samples sparser than the buckets leave a few empty ones between
    // them: a line bridges those. A longer gap (a twentieth of the range)
    // is a silence, and breaks the line.
    let max_gap = (series.len() / 20).max(1);
    let n = series.len().max(1) as f64;
    let step = f64::from(range_s) / n;
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut run = Vec::new();
    let mut empty = 0usize;
    for (i, v) in series.iter().enumerate() {
        match v {
            Some(v) => {
                if empty > max_gap && !run.is_empty() {
                    out.push(std::mem::take(&mut run));
                }
                empty = 0;
                run.push(((i as f64 + 0.5) * step - f64::from(range_s), f64::from(*v)));
            }
            None => empty += 1,
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

fn chart(sh: &Shared, me: &State, rows: &[TrendRow<'_>], t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let muted = t.style(Meaning::Muted);
    let range_s = me.range().0;
    let selected = rows.get(sh.selected);
    let name = selected.map_or(String::new(), |r| {
        r.device
            .map_or(r.trend.device.to_string(), |d| d.name.to_string())
    });
    let measure = me.measure;
    let (title, threshold, unit) = match measure {
        ChartMeasure::Signal => (
            " Signal ",
            f64::from(LinkPolicy::default().degraded_below_dbm),
            "dBm degraded",
        ),
        ChartMeasure::Cpu => (" CPU ", rule_threshold("cpu-high"), "% cpu-high"),
        ChartMeasure::Memory => (" Memory ", rule_threshold("mem-high"), "% mem-high"),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style(Meaning::Border))
        .title(Line::from(vec![
            Span::styled(title, t.style(Meaning::Title)),
            Span::styled(format!("{name} · last {} ", me.range().1), muted),
            Span::styled(
                format!("── {threshold:.0} {unit} "),
                t.style(Meaning::Warning),
            ),
            Span::styled("(m: signal, cpu, memory) ", muted),
        ]))
        .style(t.style(Meaning::Base));
    let key = selected.map(|r| device_key(&r.trend.tenant, &r.trend.device, range_s));
    let data = key.as_deref().and_then(|k| me.chart.current(k));
    let Some(d) = data else {
        let why = if selected.is_none() {
            "No device to chart."
        } else if me.chart.error.is_some() {
            "The chart could not be read."
        } else {
            "Asking the worker for the device's history…"
        };
        f.render_widget(Paragraph::new(Span::styled(why, muted)).block(block), area);
        return;
    };
    let series = match measure {
        ChartMeasure::Signal => &d.signal,
        ChartMeasure::Cpu => &d.metrics.cpu_pct,
        ChartMeasure::Memory => &d.metrics.mem_pct,
    };
    let runs = runs(series, range_s);
    let (lo, hi) = match measure {
        ChartMeasure::Signal => {
            let (lo, hi) = runs
                .iter()
                .flatten()
                .fold((threshold, threshold), |(a, b), p| (a.min(p.1), b.max(p.1)));
            ((lo - 3.0).floor(), (hi + 3.0).ceil())
        }
        ChartMeasure::Cpu | ChartMeasure::Memory => (0.0, 100.0),
    };
    let span = -f64::from(range_s);
    let line = [(span, threshold), (0.0, threshold)];
    let mut sets = vec![
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.style(Meaning::Warning))
            .data(&line),
    ];
    let style = t.style(Meaning::Accent);
    sets.extend(runs.iter().map(|r| {
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(style)
            .data(r)
    }));
    let label = |s: f64| Span::styled(format!("{s:.0}"), muted);
    let range = me.range().1;
    let chart = Chart::new(sets)
        .block(block)
        .x_axis(
            Axis::default()
                .bounds([span, 0.0])
                .labels([
                    Span::styled(format!("-{range}"), muted),
                    Span::styled("now", muted),
                ])
                .style(muted),
        )
        .y_axis(
            Axis::default()
                .bounds([lo, hi])
                .labels([label(lo), label((lo + hi) / 2.0), label(hi)])
                .style(muted),
        );
    f.render_widget(chart, area);
}

pub fn draw(sh: &Shared, me: &State, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let all = rows(sh, me);
    let [top, table] = Layout::vertical([
        Constraint::Length(chart_height(area.height)),
        Constraint::Min(1),
    ])
    .areas(area);
    chart(sh, me, &all, t, f, top);
    let lines = all.iter().skip(sh.offset).map(|r| cells(r, t));
    let waiting = match &me.trends.error {
        Some(e) => format!("Trends not read: {e}"),
        None if current(me).is_none() => "Asking the worker for the signal trends…".to_string(),
        None => "No device reported signal in this range. ] tries a longer one.".to_string(),
    };
    let why = (
        waiting.as_str(),
        "No device matches the filter. esc clears it.",
    );
    list::view(sh, f, table, t, &COLUMNS, all.len(), why, lines);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_gaps_split_the_chart_short_ones_are_bridged() {
        // 40 buckets: a gap of up to two empty buckets is bridged.
        let mut series = vec![None; 40];
        for i in [0, 3, 5, 30, 31] {
            series[i] = Some(-60.0 - i as f32);
        }
        let r = runs(&series, 400);
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(r[0].len(), 3, "0, 3 and 5: gaps of two and one bridged");
        assert_eq!(r[0][0], (-395.0, -60.0));
        assert_eq!(r[1].len(), 2, "after a silence of 24, 30 and 31");
        assert!(runs(&[None], 60).is_empty());
    }
}
