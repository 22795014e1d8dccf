//! The site view: a health summary, each sector's tally, the site's
//! devices sector by sector with their links, and the site's alerts (beside
//! the devices when the terminal is wide, else counted in the summary).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::Ui;
use crate::console::app::App;
use crate::console::layout::{NARROW_SECTORS, SITE_SIDE, SITE_WIDE};
use crate::console::site::{SectorTally, SiteRow, detail, rows, sectors, short_sector};
use crate::console::widgets::age;
use crate::console::widgets::chart::dbm;
use crate::console::widgets::list::{self, Column};
use crate::console::widgets::{link_meaning, status_meaning};
use crate::domain::alert::AlertState;
use crate::settings::theme::{Meaning, Theme};

const COLUMNS: [Column; 7] = [
    Column {
        title: "SECTOR",
        width: 12,
        drop: 1,
    },
    Column {
        title: "STATUS",
        width: 9,
        drop: 0,
    },
    Column {
        title: "DEVICE",
        width: 0,
        drop: 0,
    },
    Column {
        title: "KIND",
        width: 12,
        drop: 4,
    },
    Column {
        title: "SIGNAL",
        width: 8,
        drop: 0,
    },
    Column {
        title: "LINKS",
        width: 15,
        drop: 2,
    },
    Column {
        title: "SEEN",
        width: 4,
        drop: 3,
    },
];

fn cells(app: &App, r: &SiteRow<'_>, t: &Theme) -> Vec<(String, Style)> {
    let muted = t.style(Meaning::Muted);
    let d = r.device;
    let site = app
        .screens
        .site
        .site_ref
        .as_ref()
        .map_or("", |s| s.name.as_str());
    let sector = r.sector.map_or("—".to_string(), |(name, az)| {
        format!("{} {az}°", short_sector(site, name))
    });
    let links = match r.links {
        None => ("—".to_string(), muted),
        Some((1, state, _)) => (state.as_str().to_string(), t.style(link_meaning(state))),
        Some((n, state, _)) => (
            format!("{n} · worst {}", state.as_str()),
            t.style(link_meaning(state)),
        ),
    };
    vec![
        (sector, muted),
        (
            d.status.as_str().to_string(),
            t.style(status_meaning(d.status)),
        ),
        (d.name.to_string(), Style::default()),
        (d.kind.as_str().to_string(), muted),
        (
            d.signal_dbm.map_or("—".to_string(), |v| format!("{v:.0}")),
            muted,
        ),
        links,
        (age(app.now, d.last_seen), muted),
    ]
}

fn summary(app: &App, t: &Theme) -> Line<'static> {
    let Some(s) = app.screens.site.site_ref.as_ref() else {
        return Line::default();
    };
    let c = app.fleet.site_counts(&s.tenant, &s.id);
    let firing = detail(app).map_or(0, |d| {
        d.alerts
            .iter()
            .filter(|a| a.state == AlertState::Firing)
            .count()
    });
    let muted = t.style(Meaning::Muted);
    Line::from(vec![
        Span::styled(s.name.clone(), t.style(Meaning::Title)),
        Span::styled(format!(" · {} · ", s.tenant), muted),
        Span::styled(format!("▲{}", c.online), t.style(Meaning::Ok)),
        Span::styled(format!(" ◆{}", c.stale), t.style(Meaning::Stale)),
        Span::styled(format!(" ▼{}", c.offline), t.style(Meaning::Offline)),
        Span::styled(format!(" ○{}", c.pending), t.style(Meaning::Pending)),
        Span::styled(
            format!(" · {firing} alerts firing"),
            if firing > 0 {
                t.style(Meaning::Major)
            } else {
                muted
            },
        ),
    ])
}

fn sector_line(site: &str, s: &SectorTally<'_>, t: &Theme) -> Line<'static> {
    let muted = t.style(Meaning::Muted);
    let mut spans = vec![
        Span::raw(format!(
            "{:<12.12} ",
            short_sector(site, s.sector.name.as_str())
        )),
        Span::styled(format!("{:>3}° ", s.sector.azimuth_deg), muted),
        Span::styled(format!("{:>3}/{:<3}up ", s.online, s.devices), muted),
        Span::raw(format!("{:>8}", dbm(s.avg_signal))),
    ];
    if s.degraded > 0 {
        spans.push(Span::styled(
            format!(" {} degraded", s.degraded),
            t.style(Meaning::Warning),
        ));
    }
    if s.down > 0 {
        spans.push(Span::styled(
            format!(" {} down", s.down),
            t.style(Meaning::Offline),
        ));
    }
    Line::from(spans)
}

fn side(app: &App, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let block = Block::default()
        .borders(Borders::LEFT)
        .border_style(t.style(Meaning::Border))
        .style(t.style(Meaning::Base));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let head = t.style(Meaning::ColumnHeader);
    let muted = t.style(Meaning::Muted);
    let mut lines = vec![Line::from(Span::styled("SECTORS", head))];
    let site = app
        .screens
        .site
        .site_ref
        .as_ref()
        .map_or("", |s| s.name.as_str());
    lines.extend(sectors(app).iter().map(|s| sector_line(site, s, t)));
    lines.push(Line::default());
    lines.push(Line::from(Span::styled("ALERTS", head)));
    let alerts = detail(app).map_or(&[][..], |d| d.alerts.as_slice());
    if alerts.is_empty() {
        lines.push(Line::from(Span::styled("none", muted)));
    }
    for a in alerts {
        let (sev, style) = crate::console::widgets::severity_cell(a.severity, t);
        let state = if a.state == AlertState::Firing {
            Span::styled(format!("{sev:<8}"), style)
        } else {
            Span::styled(format!("{:<8}", a.state.as_str()), muted)
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{:>3} ", age(app.now, Some(a.updated))), muted),
            state,
            Span::raw(format!(" {}", a.summary)),
        ]));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

pub(super) fn view(app: &App, ui: &Ui<'_>, f: &mut Frame<'_>, area: Rect) {
    let t = ui.theme;
    let muted = t.style(Meaning::Muted);
    f.buffer_mut().set_style(area, t.style(Meaning::Base));
    if app.screens.site.site_ref.is_none() {
        let msg = "No site chosen: enter on the map, 6 on a device, or :site NAME.";
        f.render_widget(Paragraph::new(Span::styled(msg, muted)), area);
        return;
    }
    let [top, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    f.render_widget(Paragraph::new(summary(app, t)), top);
    if detail(app).is_none() {
        let why = match &app.screens.site.detail.error {
            Some(e) => format!("Not read: {e}"),
            None => "Asking the worker for the site's sectors and links…".to_string(),
        };
        f.render_widget(Paragraph::new(Span::styled(why, muted)), rest);
        return;
    }
    let table = if rest.width >= SITE_WIDE {
        let [table, panel] =
            Layout::horizontal([Constraint::Min(40), Constraint::Length(SITE_SIDE)]).areas(rest);
        side(app, t, f, panel);
        table
    } else {
        let tallies = sectors(app);
        let n = tallies.len().min(NARROW_SECTORS);
        let [head, table] = Layout::vertical([
            Constraint::Length(u16::try_from(n + 1).unwrap_or(1)),
            Constraint::Min(1),
        ])
        .areas(rest);
        let site = app
            .screens
            .site
            .site_ref
            .as_ref()
            .map_or("", |s| s.name.as_str());
        let mut lines: Vec<Line<'static>> = tallies
            .iter()
            .take(n)
            .map(|s| sector_line(site, s, t))
            .collect();
        if tallies.len() > n {
            lines.push(Line::from(Span::styled(
                format!(
                    "… {} more sectors (wider terminal shows all)",
                    tallies.len() - n
                ),
                muted,
            )));
        } else {
            lines.push(Line::default());
        }
        f.render_widget(Paragraph::new(lines), head);
        table
    };
    let all = rows(app);
    let lines = all.iter().skip(app.offset).map(|r| cells(app, r, t));
    let why = (
        "The site has no devices.",
        "No device of the site matches the filter. esc clears it.",
    );
    list::view(app, f, table, t, &COLUMNS, all.len(), why, lines);
}
