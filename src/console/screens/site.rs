//! One site: a health summary, each sector's tally, the site's devices
//! sector by sector with their links (live state from the fleet,
//! membership from the worker's `site` answer), and the site's alerts
//! (beside the devices when the terminal is wide, else counted in the
//! summary).

use std::collections::HashMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use serde_json::Value;

use crate::api::ApiError;
use crate::api::args::SiteArgs;
use crate::api::verbs;
use crate::console::fetch::Fetch;
use crate::console::layout::{NARROW_SECTORS, SITE_SIDE, SITE_WIDE};
use crate::console::msg::{Effect, Reply};
use crate::console::nav::SiteRef;
use crate::console::nav::matches;
use crate::console::state::Shared;
use crate::console::widgets::age;
use crate::console::widgets::chart::dbm;
use crate::console::widgets::list::{self, Column};
use crate::console::widgets::{link_meaning, status_meaning};
use crate::domain::Id;
use crate::domain::alert::AlertState;
use crate::domain::device::DeviceStatus;
use crate::domain::link::LinkState;
use crate::domain::model::{DeviceRow, LinkRow};
use crate::domain::site::{SectorDevices, SiteDetail};
use crate::settings::theme::{Meaning, Theme};

/// Real seconds before the site is asked for again while on screen.
const EVERY_S: f64 = 15.0;

/// The site screen's state.
#[derive(Debug, Default)]
pub struct State {
    /// The site on screen.
    pub site_ref: Option<SiteRef>,
    pub detail: Fetch<SiteDetail>,
}

/// The call the screen needs now: the site's sectors and links, when
/// they are stale or another site is on screen.
pub fn plan(sh: &Shared, me: &mut State) -> Vec<Effect> {
    let Some(s) = me.site_ref.as_ref() else {
        return Vec::new();
    };
    let key = format!("{}/{}", s.tenant, s.id);
    if !me.detail.due(&key, sh.now, EVERY_S, sh.clock_speed) {
        return Vec::new();
    }
    let args = SiteArgs { site: s.id.clone() };
    let call = Effect::call::<verbs::Site>(&s.tenant, &args, Reply::Site(key.clone()));
    me.detail.ask(key, sh.now);
    vec![call]
}

/// The worker's answer to the question `key`.
pub fn on_answer(me: &mut State, key: &str, answer: Result<Value, ApiError>) {
    me.detail.take(key, answer);
}

/// The footer's words on the rows.
pub fn info(n: usize) -> String {
    format!("{n} devices")
}

/// One device line of the site view.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteRow<'a> {
    /// The sector's name and azimuth; `None` for devices in no sector.
    pub sector: Option<(&'a str, u16)>,
    pub device: &'a DeviceRow,
    /// A client's link, or an access point's links: (count, the worst
    /// state among them, the weakest signal).
    pub links: Option<(usize, LinkState, Option<f32>)>,
}

/// One sector's tally.
#[derive(Debug, Clone, PartialEq)]
pub struct SectorTally<'a> {
    pub sector: &'a SectorDevices,
    pub devices: usize,
    pub online: usize,
    /// Average signal of its clients that report one.
    pub avg_signal: Option<f32>,
    pub degraded: usize,
    pub down: usize,
}

/// The site detail, when it answers the site on screen.
pub fn detail(me: &State) -> Option<&SiteDetail> {
    let s = me.site_ref.as_ref()?;
    me.detail.current(&format!("{}/{}", s.tenant, s.id))
}

/// A sector's name without the site's first word when it repeats it
/// ("Boulder sector N" at "Boulder Tower 1" is "sector N").
pub fn short_sector<'a>(site: &str, sector: &'a str) -> &'a str {
    let first = site.split_whitespace().next().unwrap_or("");
    match sector.strip_prefix(first) {
        Some(rest) if !first.is_empty() && rest.starts_with(' ') => rest.trim_start(),
        _ => sector,
    }
}

/// How bad a link state is, for "the worst of an access point's links".
fn badness(s: LinkState) -> u8 {
    match s {
        LinkState::Discovered => 0,
        LinkState::Active => 1,
        LinkState::Degraded => 2,
        LinkState::Down => 3,
        LinkState::Stale => 4,
    }
}

/// Each device's links: count, worst state, weakest signal.
pub fn link_summary(links: &[LinkRow]) -> HashMap<&Id, (usize, LinkState, Option<f32>)> {
    let mut out: HashMap<&Id, (usize, LinkState, Option<f32>)> = HashMap::new();
    for l in links {
        for end in [&l.ap, &l.cpe] {
            let e = out.entry(end).or_insert((0, LinkState::Discovered, None));
            e.0 += 1;
            if badness(l.state) > badness(e.1) {
                e.1 = l.state;
            }
            e.2 = match (e.2, l.signal_dbm) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    out
}

/// The site's devices, sector by sector (by azimuth), then those in no
/// sector; access points first within a sector. Only those matching the
/// view's filter (name, kind, status).
pub fn rows<'a>(sh: &'a Shared, me: &'a State) -> Vec<SiteRow<'a>> {
    let (Some(site), Some(d)) = (me.site_ref.as_ref(), detail(me)) else {
        return Vec::new();
    };
    let links = link_summary(&d.links);
    let mut out = Vec::new();
    let groups = d
        .sectors
        .iter()
        .map(|s| (Some((s.name.as_str(), s.azimuth_deg)), &s.devices))
        .chain(std::iter::once((None, &d.unsectored)));
    for (sector, ids) in groups {
        let mut devices: Vec<&DeviceRow> = ids
            .iter()
            .filter_map(|id| sh.fleet.find(&site.tenant, id))
            .filter(|r| {
                matches(
                    &sh.filter_input,
                    &[r.name.as_str(), r.kind.as_str(), r.status.as_str()],
                )
            })
            .collect();
        devices.sort_by(|a, b| a.kind.cmp(&b.kind).then(a.name.cmp(&b.name)));
        out.extend(devices.into_iter().map(|device| SiteRow {
            sector,
            device,
            links: links.get(&device.id).copied(),
        }));
    }
    out
}

/// Each sector's tally, in azimuth order.
pub fn sectors<'a>(sh: &'a Shared, me: &'a State) -> Vec<SectorTally<'a>> {
    let Some(d) = detail(me) else {
        return Vec::new();
    };
    let Some(site) = me.site_ref.as_ref() else {
        return Vec::new();
    };
    d.sectors
        .iter()
        .map(|sector| {
            let rows: Vec<&DeviceRow> = sector
                .devices
                .iter()
                .filter_map(|id| sh.fleet.find(&site.tenant, id))
                .collect();
            let signals: Vec<f32> = rows
                .iter()
                .filter(|r| r.status == DeviceStatus::Online)
                .filter_map(|r| r.signal_dbm)
                .collect();
            let of = |st: LinkState| {
                d.links
                    .iter()
                    .filter(|l| l.state == st && sector.devices.contains(&l.ap))
                    .count()
            };
            SectorTally {
                sector,
                devices: rows.len(),
                online: rows
                    .iter()
                    .filter(|r| r.status == DeviceStatus::Online)
                    .count(),
                avg_signal: (!signals.is_empty())
                    .then(|| signals.iter().sum::<f32>() / signals.len() as f32),
                degraded: of(LinkState::Degraded),
                down: of(LinkState::Down) + of(LinkState::Stale),
            }
        })
        .collect()
}

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

fn cells(sh: &Shared, me: &State, r: &SiteRow<'_>, t: &Theme) -> Vec<(String, Style)> {
    let muted = t.style(Meaning::Muted);
    let d = r.device;
    let site = me.site_ref.as_ref().map_or("", |s| s.name.as_str());
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
        (age(sh.now, d.last_seen), muted),
    ]
}

fn summary(sh: &Shared, me: &State, t: &Theme) -> Line<'static> {
    let Some(s) = me.site_ref.as_ref() else {
        return Line::default();
    };
    let c = sh.fleet.site_counts(&s.tenant, &s.id);
    let firing = detail(me).map_or(0, |d| {
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

fn side(sh: &Shared, me: &State, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let block = Block::default()
        .borders(Borders::LEFT)
        .border_style(t.style(Meaning::Border))
        .style(t.style(Meaning::Base));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let head = t.style(Meaning::ColumnHeader);
    let muted = t.style(Meaning::Muted);
    let mut lines = vec![Line::from(Span::styled("SECTORS", head))];
    let site = me.site_ref.as_ref().map_or("", |s| s.name.as_str());
    lines.extend(sectors(sh, me).iter().map(|s| sector_line(site, s, t)));
    lines.push(Line::default());
    lines.push(Line::from(Span::styled("ALERTS", head)));
    let alerts = detail(me).map_or(&[][..], |d| d.alerts.as_slice());
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
            Span::styled(format!("{:>3} ", age(sh.now, Some(a.updated))), muted),
            state,
            Span::raw(format!(" {}", a.summary)),
        ]));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

pub fn draw(sh: &Shared, me: &State, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let muted = t.style(Meaning::Muted);
    f.buffer_mut().set_style(area, t.style(Meaning::Base));
    if me.site_ref.is_none() {
        let msg = "No site chosen: enter on the map, 6 on a device, or :site NAME.";
        f.render_widget(Paragraph::new(Span::styled(msg, muted)), area);
        return;
    }
    let [top, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    f.render_widget(Paragraph::new(summary(sh, me, t)), top);
    if detail(me).is_none() {
        let why = match &me.detail.error {
            Some(e) => format!("Not read: {e}"),
            None => "Asking the worker for the site's sectors and links…".to_string(),
        };
        f.render_widget(Paragraph::new(Span::styled(why, muted)), rest);
        return;
    }
    let table = if rest.width >= SITE_WIDE {
        let [table, panel] =
            Layout::horizontal([Constraint::Min(40), Constraint::Length(SITE_SIDE)]).areas(rest);
        side(sh, me, t, f, panel);
        table
    } else {
        let tallies = sectors(sh, me);
        let n = tallies.len().min(NARROW_SECTORS);
        let [head, table] = Layout::vertical([
            Constraint::Length(u16::try_from(n + 1).unwrap_or(1)),
            Constraint::Min(1),
        ])
        .areas(rest);
        let site = me.site_ref.as_ref().map_or("", |s| s.name.as_str());
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
    let all = rows(sh, me);
    let lines = all.iter().skip(sh.offset).map(|r| cells(sh, me, r, t));
    let why = (
        "The site has no devices.",
        "No device of the site matches the filter. esc clears it.",
    );
    list::view(sh, f, table, t, &COLUMNS, all.len(), why, lines);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        Id::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn sector_names_drop_the_site_they_repeat() {
        assert_eq!(
            short_sector("Boulder Tower 1", "Boulder sector N"),
            "sector N"
        );
        assert_eq!(
            short_sector("Boulder Tower 1", "Boulderish N"),
            "Boulderish N"
        );
        assert_eq!(short_sector("", "north"), "north");
    }

    #[test]
    fn an_access_point_shows_its_worst_link_and_weakest_signal() {
        let link = |n: &str, cpe: &str, state, dbm| LinkRow {
            tenant: id("acme"),
            id: id(n),
            ap: id("ap1"),
            cpe: id(cpe),
            state,
            signal_dbm: dbm,
            updated: None,
        };
        let links = [
            link("l1", "c1", LinkState::Active, Some(-60.0)),
            link("l2", "c2", LinkState::Degraded, Some(-82.0)),
            link("l3", "c3", LinkState::Active, None),
        ];
        let s = link_summary(&links);
        assert_eq!(s[&id("ap1")], (3, LinkState::Degraded, Some(-82.0)));
        assert_eq!(s[&id("c2")], (1, LinkState::Degraded, Some(-82.0)));
        assert_eq!(s[&id("c3")], (1, LinkState::Active, None));
    }
}
