//! The fleet's detail pane: the selected device's live state, sparklines
//! of its CPU, memory, traffic and signal over the chosen range, its
//! links, its newest alerts and its configuration history.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::State;
use crate::console::fetch::device_key;
use crate::console::state::Shared;
use crate::console::widgets::age;
use crate::console::widgets::chart::{bits, dbm, spark};
use crate::console::widgets::{link_meaning, status_meaning};
use crate::domain::model::DeviceRow;
use crate::domain::series::last;
use crate::settings::theme::{Meaning, Theme};

/// `9.0 MB`
fn bytes(b: u64) -> String {
    let b = b as f64;
    match b {
        b if b >= 1e9 => format!("{:.1} GB", b / 1e9),
        b if b >= 1e6 => format!("{:.1} MB", b / 1e6),
        b if b >= 1e3 => format!("{:.1} kB", b / 1e3),
        b => format!("{b:.0} B"),
    }
}

fn uptime(s: u64) -> String {
    match s {
        0..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h {}m", s / 3_600, s % 3_600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3_600),
    }
}

fn head(sh: &Shared, r: &DeviceRow, t: &Theme) -> Vec<Line<'static>> {
    let muted = t.style(Meaning::Muted);
    let mut status = vec![
        Span::styled(
            format!("{} {}", r.status.as_str(), age(sh.now, r.status_since)),
            t.style(status_meaning(r.status)),
        ),
        Span::styled(format!(" · seen {}", age(sh.now, r.last_seen)), muted),
    ];
    if let Some(up) = r.uptime_s {
        status.push(Span::styled(format!(" · up {}", uptime(up)), muted));
    }
    vec![
        Line::from(vec![
            Span::styled(r.name.to_string(), t.style(Meaning::Title)),
            Span::styled(format!("  {}", r.kind.as_str()), muted),
        ]),
        Line::from(Span::styled(
            format!("{} · {} · fw {}", r.tenant, r.site_name, r.firmware),
            muted,
        )),
        Line::from(status),
    ]
}

/// A sparkline: its label, its series, its scale (the series' own when
/// `None`) and the latest value as text.
/// Sparklines of the window: a label, the line, the latest value.
fn sparklines<'a>(
    me: &State,
    d: &'a crate::api::views::DeviceDetail,
    t: &Theme,
    width: u16,
    lines: &mut Vec<Line<'a>>,
) {
    let muted = t.style(Meaning::Muted);
    // Sparklines: a label, the line, the latest value.
    let w = usize::from(width).saturating_sub(4 + 1 + 11).max(4);
    lines.push(Line::from(Span::styled(
        format!("last {}  ([ ] change)", me.range().1),
        muted,
    )));
    let m = &d.metrics;
    let mut sparks: Vec<Spark<'_>> = vec![
        (
            "CPU ",
            &m.cpu_pct,
            Some((0.0, 100.0)),
            last(&m.cpu_pct).map_or("—".into(), |v| format!("{v:.0}%")),
        ),
        (
            "MEM ",
            &m.mem_pct,
            Some((0.0, 100.0)),
            last(&m.mem_pct).map_or("—".into(), |v| format!("{v:.0}%")),
        ),
        (
            "NET ",
            &m.traffic_bps,
            None,
            last(&m.traffic_bps).map_or("—".into(), bits),
        ),
    ];
    if d.signal.iter().any(Option::is_some) {
        sparks.push((
            "SIG ",
            &d.signal,
            Some((-95.0, -40.0)),
            dbm(last(&d.signal)),
        ));
    }
    for (label, series, scale, now) in sparks {
        lines.push(Line::from(vec![
            Span::styled(label, t.style(Meaning::ColumnHeader)),
            Span::styled(spark(series, w, scale), t.style(Meaning::Accent)),
            Span::raw(format!(" {now:>10}")),
        ]));
    }
}

/// The interfaces as the device last reported them.
fn interfaces<'a>(
    sh: &Shared,
    d: &'a crate::api::views::DeviceDetail,
    t: &Theme,
    lines: &mut Vec<Line<'a>>,
) {
    let muted = t.style(Meaning::Muted);
    if let Some(ifs) = &d.interfaces {
        lines.push(Line::from(Span::styled(
            format!(
                "Interfaces ({}) · {} ago",
                ifs.interfaces.len(),
                age(sh.now, Some(ifs.ts))
            ),
            t.style(Meaning::ColumnHeader),
        )));
        for i in ifs.interfaces.iter().take(4) {
            let (mark, m) = if i.up {
                ("▲", Meaning::Ok)
            } else {
                ("▼", Meaning::Offline)
            };
            let speed = i.speed_mbps.map_or(String::new(), |s| format!(" {s}M"));
            let errors = match i.errors {
                Some(e) if e > 0 => format!(" · {e} errors"),
                _ => String::new(),
            };
            lines.push(Line::from(vec![
                Span::styled(format!(" {mark} "), t.style(m)),
                Span::raw(format!("{}{speed}", i.name)),
                Span::styled(
                    format!(
                        " · rx {} tx {}{errors}",
                        bytes(i.rx_bytes),
                        bytes(i.tx_bytes)
                    ),
                    muted,
                ),
            ]));
        }
    }
}

/// The device's links and the peer at their other end.
fn links<'a>(
    sh: &Shared,
    r: &DeviceRow,
    d: &'a crate::api::views::DeviceDetail,
    t: &Theme,
    lines: &mut Vec<Line<'a>>,
) {
    let muted = t.style(Meaning::Muted);
    if !d.links.is_empty() {
        lines.push(Line::from(Span::styled(
            format!("Links ({})", d.links.len()),
            t.style(Meaning::ColumnHeader),
        )));
        for l in d.links.iter().take(3) {
            let peer = if l.ap == r.id { &l.cpe } else { &l.ap };
            let name = sh
                .fleet
                .find(&l.tenant, peer)
                .map_or(peer.to_string(), |p| p.name.to_string());
            lines.push(Line::from(vec![
                Span::raw(format!(" ↔ {name} ")),
                Span::styled(l.state.as_str(), t.style(link_meaning(l.state))),
                Span::styled(format!(" {}", dbm(l.signal_dbm)), muted),
            ]));
        }
    }
}

/// The newest alerts and config pushes.
fn history<'a>(
    sh: &Shared,
    d: &'a crate::api::views::DeviceDetail,
    t: &Theme,
    lines: &mut Vec<Line<'a>>,
) {
    let muted = t.style(Meaning::Muted);
    lines.push(Line::from(Span::styled(
        format!("Alerts ({})", d.alerts.len()),
        t.style(Meaning::ColumnHeader),
    )));
    if d.alerts.is_empty() {
        lines.push(Line::from(Span::styled(" none", muted)));
    }
    for a in d.alerts.iter().take(3) {
        let (sev, style) = crate::console::widgets::severity_cell(a.severity, t);
        lines.push(Line::from(vec![
            Span::styled(format!(" {:>3} ", age(sh.now, Some(a.updated))), muted),
            Span::styled(format!("{sev:<8} "), style),
            Span::raw(format!("{} · {}", a.rule, a.state.as_str())),
        ]));
    }
    lines.push(Line::from(Span::styled(
        format!("Config pushes ({})", d.pushes.len()),
        t.style(Meaning::ColumnHeader),
    )));
    if d.pushes.is_empty() {
        lines.push(Line::from(Span::styled(" none", muted)));
    }
    for p in d.pushes.iter().take(3) {
        lines.push(Line::from(vec![
            Span::styled(format!(" {:>3} ", age(sh.now, Some(p.created))), muted),
            Span::styled(format!("{:<9} ", p.state.name()), t.style(Meaning::Accent)),
            Span::raw(format!("{}: {}", p.actor, p.reason)),
        ]));
    }
}

type Spark<'a> = (&'a str, &'a [Option<f32>], Option<(f32, f32)>, String);

pub fn pane(sh: &Shared, me: &State, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let muted = t.style(Meaning::Muted);
    let inner = crate::console::widgets::pane_frame(t, " Device ", f, area);
    let Some(r) = sh.fleet.get(sh.selected) else {
        f.render_widget(
            Paragraph::new(Span::styled("No device selected.", muted)),
            inner,
        );
        return;
    };
    let mut lines = head(sh, r, t);
    let range = me.range().0;
    let key = device_key(&r.tenant, &r.id, range);
    let Some(d) = me.detail.current(&key) else {
        let why = match &me.detail.error {
            Some(e) if me.detail.key == key => format!("Not read: {e}"),
            _ => "Asking the worker for its history…".to_string(),
        };
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(why, muted)));
        f.render_widget(Paragraph::new(lines), inner);
        return;
    };
    sparklines(me, d, t, inner.width, &mut lines);
    interfaces(sh, d, t, &mut lines);
    links(sh, r, d, t, &mut lines);
    history(sh, d, t, &mut lines);
    f.render_widget(Paragraph::new(lines), inner);
}
