//! The trends view: a braille chart of the selected device's signal over
//! the range, with the line under which a link counts as degraded, above
//! the ranking of devices whose signal fell the most against the two
//! ranges before.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph};

use super::Ui;
use crate::console::app::App;
use crate::console::fetch::{ChartMeasure, device_key};
use crate::console::layout::chart_height;
use crate::console::trends::{TrendRow, rows};
use crate::console::widgets::list::{self, Column};
use crate::console::widgets::thousands;
use crate::domain::link::LinkPolicy;
use crate::settings::theme::{Meaning, Theme};

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

fn chart(app: &App, rows: &[TrendRow<'_>], t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let muted = t.style(Meaning::Muted);
    let range_s = app.screens.trends.range().0;
    let selected = rows.get(app.selected);
    let name = selected.map_or(String::new(), |r| {
        r.device
            .map_or(r.trend.device.to_string(), |d| d.name.to_string())
    });
    let measure = app.screens.trends.measure;
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
            Span::styled(
                format!("{name} · last {} ", app.screens.trends.range().1),
                muted,
            ),
            Span::styled(
                format!("── {threshold:.0} {unit} "),
                t.style(Meaning::Warning),
            ),
            Span::styled("(m: signal, cpu, memory) ", muted),
        ]))
        .style(t.style(Meaning::Base));
    let key = selected.map(|r| device_key(&r.trend.tenant, &r.trend.device, range_s));
    let data = key
        .as_deref()
        .and_then(|k| app.screens.trends.chart.current(k));
    let Some(d) = data else {
        let why = if selected.is_none() {
            "No device to chart."
        } else if app.screens.trends.chart.error.is_some() {
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
    let range = app.screens.trends.range().1;
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

pub(super) fn view(app: &App, ui: &Ui<'_>, f: &mut Frame<'_>, area: Rect) {
    let t = ui.theme;
    let all = rows(app);
    let [top, table] = Layout::vertical([
        Constraint::Length(chart_height(area.height)),
        Constraint::Min(1),
    ])
    .areas(area);
    chart(app, &all, t, f, top);
    let lines = all.iter().skip(app.offset).map(|r| cells(r, t));
    let waiting = match &app.screens.trends.trends.error {
        Some(e) => format!("Trends not read: {e}"),
        None if crate::console::trends::current(app).is_none() => {
            "Asking the worker for the signal trends…".to_string()
        }
        None => "No device reported signal in this range. ] tries a longer one.".to_string(),
    };
    let why = (
        waiting.as_str(),
        "No device matches the filter. esc clears it.",
    );
    list::view(app, f, table, t, &COLUMNS, all.len(), why, lines);
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
