//! The map: coastlines, country and state borders in braille, each site a
//! marker coloured by the health of its devices, each access point a spoke
//! in its sector's direction coloured by its links; the site list beside
//! it on a wide terminal. Its state: the sites and access points the
//! worker sent, the camera, and the keys that move it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use serde_json::Value;

use crate::api::ApiError;
use crate::api::args::NoArgs;
use crate::api::verbs;
use crate::api::wire::MapView;
use crate::console::geo::{Atlas, Braille, Layer, Viewport};
use crate::console::layout::{MAP_LIST as LIST, MAP_WIDE as WIDE};
use crate::console::msg::{Effect, Reply};
use crate::console::nav::matches;
use crate::console::state::Shared;
use crate::domain::fleet::StatusCounts;
use crate::domain::site::{ApLinks, SiteSummary};
use crate::settings::theme::{Meaning, Theme};

/// Where the map looks when the analyst has moved it; `None` in
/// [`MapState::camera`] fits the sites in view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    pub lon: f64,
    pub lat: f64,
    pub span: f64,
}

/// What the map holds.
#[derive(Debug, Default)]
pub struct State {
    /// Sites in scope, by tenant then name.
    pub sites: Vec<SiteSummary>,
    /// Access points with their links by state.
    pub aps: Vec<ApLinks>,
    /// True once the worker answered.
    pub loaded: bool,
    pub camera: Option<Camera>,
    /// When the map was last asked for.
    pub asked: Option<DateTime<Utc>>,
}

/// How often the map's links are asked for again while it is on screen
/// (site markers follow the live fleet at once).
pub const REFRESH_S: i64 = 15;

impl State {
    /// Takes the worker's answer.
    pub fn load(&mut self, mut sites: Vec<SiteSummary>, aps: Vec<ApLinks>) {
        sites.sort_by(|a, b| a.tenant.cmp(&b.tenant).then(a.name.cmp(&b.name)));
        self.sites = sites;
        self.aps = aps;
        self.loaded = true;
    }

    /// True when the map should be asked for (again).
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        self.asked
            .is_none_or(|t| (now - t).num_seconds() >= REFRESH_S)
    }

    /// Sites matching `filter` (name, tenant, region), in list order.
    pub fn shown<'a>(&'a self, filter: &'a str) -> impl Iterator<Item = &'a SiteSummary> + 'a {
        self.sites.iter().filter(move |s| {
            matches(
                filter,
                &[s.name.as_str(), s.tenant.as_str(), s.region.as_str()],
            )
        })
    }

    /// The viewport for a raster of `dots`: the camera, else the fit of
    /// the sites shown.
    pub fn viewport(&self, filter: &str, dots: (u16, u16)) -> Viewport {
        match self.camera {
            Some(c) => Viewport {
                lon: c.lon,
                lat: c.lat,
                span: c.span,
                dots,
            },
            None => Viewport::fit(self.shown(filter).map(|s| (s.lon, s.lat)), dots),
        }
    }

    /// Zooms (`factor` < 1 is in), pans (fractions of the view), or fits
    /// again (`None`), from the view as it is on a raster of `dots`.
    pub fn move_camera(&mut self, filter: &str, dots: (u16, u16), how: Option<(f64, f64, f64)>) {
        let Some((zoom, right, up)) = how else {
            self.camera = None;
            return;
        };
        let mut v = self.viewport(filter, dots);
        v.zoom(zoom);
        v.pan(right, up);
        self.camera = Some(Camera {
            lon: v.lon,
            lat: v.lat,
            span: v.span,
        });
    }

    /// Centres a moved camera on the selected site, so that walking the
    /// sites keeps the selection in sight.
    pub fn follow(&mut self, filter: &str, selected: usize) {
        let Some(site) = self.shown(filter).nth(selected) else {
            return;
        };
        let (lon, lat) = (site.lon, site.lat);
        if let Some(c) = self.camera.as_mut() {
            c.lon = lon;
            c.lat = lat;
        }
    }
}

/// The call the screen needs now: the sites and links, when stale.
pub fn plan(sh: &Shared, me: &mut State) -> Vec<Effect> {
    if !me.due(sh.now) {
        return Vec::new();
    }
    me.asked = Some(sh.now);
    vec![Effect::call::<verbs::Map>(
        &sh.api_scope,
        &NoArgs {},
        Reply::Map,
    )]
}

/// The worker's answer: the sites and the access points' links.
pub fn on_answer(sh: &mut Shared, me: &mut State, answer: Result<Value, ApiError>) {
    match answer {
        Ok(v) => {
            if let Some(m) = sh.decoded::<MapView>("map", v) {
                me.load(m.sites, m.aps);
            }
        }
        Err(e) => sh.notify(format!("map not read: {}", e.message), true, 6),
    }
}

/// The footer's words on the rows.
pub fn info(n: usize) -> String {
    format!("{n} sites")
}

/// Ink classes in the raster, strongest last.
const INK_WORLD: u8 = 1;
const INK_STATES: u8 = 2;
const INK_UP: u8 = 3;
const INK_DEGRADED: u8 = 4;
const INK_DOWN: u8 = 5;

/// Length of an access point's spoke, in dots.
const SPOKE: f64 = 6.0;

fn meaning(ink: u8) -> Meaning {
    match ink {
        INK_WORLD => Meaning::Muted,
        INK_STATES => Meaning::Border,
        INK_UP => Meaning::Ok,
        INK_DEGRADED => Meaning::Warning,
        _ => Meaning::Critical,
    }
}

/// A site's health as a meaning: all online is ok; a fifth or more down is
/// critical; anything less, a warning.
pub fn health(c: &StatusCounts) -> Meaning {
    let down = c.offline + c.stale;
    if c.total() == 0 || c.pending == c.total() {
        Meaning::Pending
    } else if down == 0 {
        Meaning::Ok
    } else if down * 5 >= c.total() {
        Meaning::Critical
    } else {
        Meaning::Warning
    }
}

pub fn draw(sh: &Shared, me: &State, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let (main, side) = if area.width >= WIDE {
        let [m, s] = Layout::horizontal([Constraint::Min(1), Constraint::Length(LIST)]).areas(area);
        (m, Some(s))
    } else {
        (area, None)
    };
    let filter = sh.filter_input.as_str();
    let shown: Vec<&SiteSummary> = me.shown(filter).collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style(Meaning::Border))
        .style(t.style(Meaning::Base));
    let inner = block.inner(main);
    let [canvas, info] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let dots = (canvas.width * 2, canvas.height * 4);
    let view = me.viewport(filter, dots);
    let title = format!(
        " Map · {} sites · {} across{} ",
        shown.len(),
        span_text(view.span),
        if me.camera.is_some() { "" } else { " (fit)" }
    );
    f.render_widget(
        block.title(Span::styled(title, t.style(Meaning::Title))),
        main,
    );
    let mut raster = Braille::new(canvas.width, canvas.height);
    let atlas = Atlas::embedded();
    if let Ok(atlas) = atlas {
        draw_atlas(atlas, &view, &mut raster);
    }
    let place: HashMap<(&str, &str), (f64, f64)> = shown
        .iter()
        .map(|s| {
            (
                (s.tenant.as_str(), s.id.as_str()),
                view.project(s.lon, s.lat),
            )
        })
        .collect();
    draw_spokes(&me.aps, &place, &mut raster);
    paint(&raster, t, f.buffer_mut(), canvas);
    markers(sh, &shown, &view, t, f.buffer_mut(), canvas);
    let line = match (&atlas, me.loaded) {
        (Err(e), _) => Line::from(Span::styled(
            format!("map unavailable: {e}"),
            t.style(Meaning::Error),
        )),
        (_, false) => Line::from(Span::styled(
            "asking the worker for the sites…",
            t.style(Meaning::Muted),
        )),
        _ => site_line(sh, me, shown.get(sh.selected).copied(), t),
    };
    f.render_widget(Paragraph::new(line), info);
    if let Some(side) = side {
        site_list(sh, &shown, t, f, side);
    }
}

fn span_text(span: f64) -> String {
    if span >= 10.0 {
        format!("{span:.0}°")
    } else {
        format!("{span:.2}°")
    }
}

fn draw_atlas(atlas: &Atlas, view: &Viewport, raster: &mut Braille) {
    for (layer, points) in atlas.visible(view) {
        let ink = match layer {
            Layer::World => INK_WORLD,
            Layer::States => INK_STATES,
        };
        let mut last: Option<(f64, f64)> = None;
        for &(lon, lat) in points {
            let p = view.project(f64::from(lon), f64::from(lat));
            if let Some(a) = last {
                raster.line(a, p, ink);
            }
            last = Some(p);
        }
    }
}

fn draw_spokes(aps: &[ApLinks], place: &HashMap<(&str, &str), (f64, f64)>, raster: &mut Braille) {
    for ap in aps {
        let (Some(az), Some(&(x, y))) = (
            ap.azimuth_deg,
            place.get(&(ap.tenant.as_str(), ap.site.as_str())),
        ) else {
            continue;
        };
        let ink = if ap.down > 0 {
            INK_DOWN
        } else if ap.degraded > 0 {
            INK_DEGRADED
        } else if ap.up > 0 {
            INK_UP
        } else {
            continue;
        };
        // Azimuth: clockwise from north; the raster's y grows downwards.
        let a = f64::from(az).to_radians();
        let (dx, dy) = (a.sin() * SPOKE, -a.cos() * SPOKE);
        raster.line((x + dx / 3.0, y + dy / 3.0), (x + dx, y + dy), ink);
    }
}

fn paint(raster: &Braille, t: &Theme, buf: &mut Buffer, area: Rect) {
    let styles: [Style; 6] = [
        t.style(Meaning::Base),
        t.style(meaning(INK_WORLD)),
        t.style(meaning(INK_STATES)),
        t.style(meaning(INK_UP)),
        t.style(meaning(INK_DEGRADED)),
        t.style(meaning(INK_DOWN)),
    ];
    for row in 0..area.height {
        for col in 0..area.width {
            if let Some((ch, ink)) = raster.glyph(col, row)
                && let Some(cell) = buf.cell_mut((area.x + col, area.y + row))
            {
                cell.set_char(ch);
                cell.set_style(styles[usize::from(ink.min(5))]);
            }
        }
    }
}

/// Site markers, then the names of those with room for one; the selected
/// site's always.
fn markers(
    sh: &Shared,
    shown: &[&SiteSummary],
    view: &Viewport,
    t: &Theme,
    buf: &mut Buffer,
    area: Rect,
) {
    let width = usize::from(area.width);
    let mut taken = vec![false; width * usize::from(area.height)];
    let selected = shown.get(sh.selected).copied();
    let is_sel = |s: &SiteSummary| selected.is_some_and(|x| std::ptr::eq(x, s));
    let mut placed: Vec<(&SiteSummary, u16, u16)> = Vec::new();
    for &s in shown {
        let (x, y) = view.project(s.lon, s.lat);
        let (cx, cy) = ((x / 2.0).floor(), (y / 4.0).floor());
        if cx < 0.0 || cy < 0.0 || cx >= f64::from(area.width) || cy >= f64::from(area.height) {
            continue;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let (cx, cy) = (cx as u16, cy as u16);
        placed.push((s, cx, cy));
        taken[usize::from(cy) * width + usize::from(cx)] = true;
    }
    // The selected site last, so that its marker is on top.
    placed.sort_by_key(|(s, _, _)| is_sel(s));
    for &(s, cx, cy) in &placed {
        let m = health(&sh.fleet.site_counts(&s.tenant, &s.id));
        let (symbol, style) = if is_sel(s) {
            (
                "◉",
                t.style(m).add_modifier(Modifier::BOLD | Modifier::REVERSED),
            )
        } else {
            ("●", t.style(m))
        };
        buf.set_string(area.x + cx, area.y + cy, symbol, style);
    }
    // Names: the selected site's first, then the others where they fit
    // and cover no marker or other name.
    placed.reverse();
    for &(s, cx, cy) in &placed {
        let name: String = s.name.as_str().chars().take(24).collect();
        let from = usize::from(cx) + 1;
        let end = (from + name.chars().count()).min(width);
        let row = usize::from(cy) * width;
        let sel = is_sel(s);
        let free = from + name.chars().count() < width
            && (from..=(end.min(width - 1))).all(|c| !taken[row + c]);
        if !(sel || free) || from >= width {
            continue;
        }
        let style = if sel {
            t.style(Meaning::Selection)
        } else {
            t.style(Meaning::Muted)
        };
        #[allow(clippy::cast_possible_truncation)]
        buf.set_stringn(area.x + from as u16, area.y + cy, &name, end - from, style);
        for c in &mut taken[row + from..row + end] {
            *c = true;
        }
    }
}

/// The selected site in one line: name, tenant, health and links.
fn site_line(sh: &Shared, me: &State, site: Option<&SiteSummary>, t: &Theme) -> Line<'static> {
    let Some(s) = site else {
        return Line::from(Span::styled("no site", t.style(Meaning::Muted)));
    };
    let c = sh.fleet.site_counts(&s.tenant, &s.id);
    let (mut up, mut degraded, mut down) = (0, 0, 0);
    for ap in me
        .aps
        .iter()
        .filter(|a| a.tenant == s.tenant && a.site == s.id)
    {
        up += ap.up;
        degraded += ap.degraded;
        down += ap.down;
    }
    let mut spans = vec![
        Span::styled(format!(" {} ", s.name), t.style(Meaning::Selection)),
        Span::styled(
            format!(" {} · {} ", s.tenant, s.region),
            t.style(Meaning::Muted),
        ),
        Span::styled(
            format!("{}/{} online", c.online, c.total()),
            t.style(health(&c)),
        ),
    ];
    if up + degraded + down > 0 {
        spans.push(Span::styled(" · links ", t.style(Meaning::Muted)));
        spans.push(Span::styled(format!("{up} up"), t.style(Meaning::Ok)));
        if degraded > 0 {
            spans.push(Span::styled(
                format!(" {degraded} degraded"),
                t.style(Meaning::Warning),
            ));
        }
        if down > 0 {
            spans.push(Span::styled(
                format!(" {down} down"),
                t.style(Meaning::Critical),
            ));
        }
    }
    Line::from(spans)
}

fn site_list(sh: &Shared, shown: &[&SiteSummary], t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style(Meaning::Border))
        .style(t.style(Meaning::Base))
        .title(Span::styled(" Sites ", t.style(Meaning::Title)));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let rows = usize::from(inner.height);
    let first = sh.selected.saturating_sub(rows.saturating_sub(1));
    let width = usize::from(inner.width);
    let lines: Vec<Line<'_>> = shown
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, s)| {
            let c = sh.fleet.site_counts(&s.tenant, &s.id);
            let count = format!("{}/{}", c.online, c.total());
            let room = width.saturating_sub(count.len() + 3);
            let name: String = s.name.as_str().chars().take(room).collect();
            let pad = room.saturating_sub(name.chars().count());
            let base = if i == sh.selected {
                t.style(Meaning::Selection)
            } else {
                t.style(Meaning::Base)
            };
            Line::from(vec![
                Span::styled("● ", base.patch(t.style(health(&c)))),
                Span::styled(format!("{name}{} ", " ".repeat(pad)), base),
                Span::styled(count, base.patch(t.style(Meaning::Muted))),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fleet::StatusCounts;
    use crate::domain::{Id, SafeText};

    fn site(tenant: &str, name: &str, lon: f64, lat: f64) -> SiteSummary {
        SiteSummary {
            tenant: Id::parse(tenant).unwrap_or_else(|e| panic!("{e}")),
            id: Id::parse(name).unwrap_or_else(|e| panic!("{e}")),
            name: SafeText::new(name),
            region: SafeText::new("CO"),
            lat,
            lon,
            counts: StatusCounts::default(),
        }
    }

    #[test]
    fn the_camera_fits_zooms_pans_follows_and_fits_again() {
        let mut m = State::default();
        m.load(
            vec![
                site("b", "lyons", -105.27, 40.22),
                site("a", "boulder", -105.27, 40.01),
            ],
            Vec::new(),
        );
        assert_eq!(m.shown("").next().map(|s| s.name.as_str()), Some("boulder"));
        let fit = m.viewport("", (200, 100));
        m.move_camera("", (200, 100), Some((0.5, 0.0, 0.0)));
        let zoomed = m.viewport("", (200, 100));
        assert!((zoomed.span - fit.span / 2.0).abs() < 1e-9);
        m.move_camera("", (200, 100), Some((1.0, 0.25, 0.0)));
        assert!(m.viewport("", (200, 100)).lon > zoomed.lon);
        m.follow("", 1);
        let c = m.camera.unwrap_or_else(|| panic!("a camera"));
        assert!((c.lat - 40.22).abs() < 1e-9);
        m.move_camera("", (200, 100), None);
        assert_eq!(m.viewport("", (200, 100)), fit);
        // The filter narrows the fit.
        assert_eq!(m.shown("lyons").count(), 1);
    }

    #[test]
    fn asked_again_every_refresh_period() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let mut m = State::default();
        assert!(m.due(now));
        m.asked = Some(now);
        assert!(!m.due(now + chrono::Duration::seconds(5)));
        assert!(m.due(now + chrono::Duration::seconds(REFRESH_S)));
    }
}
