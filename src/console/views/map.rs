//! The map: coastlines, country and state borders in braille, each site a
//! marker coloured by the health of its devices, each access point a spoke
//! in its sector's direction coloured by its links; the site list beside
//! it on a wide terminal.

use std::collections::HashMap;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::Ui;
use crate::console::app::App;
use crate::console::geo::{Atlas, Braille, Layer, Viewport};
use crate::domain::fleet::StatusCounts;
use crate::domain::site::{ApLinks, SiteSummary};
use crate::settings::theme::{Meaning, Theme};

use crate::console::layout::{MAP_LIST as LIST, MAP_WIDE as WIDE};

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

pub(super) fn map(app: &App, ui: &Ui<'_>, f: &mut Frame<'_>, area: Rect) {
    let t = ui.theme;
    let (main, side) = if area.width >= WIDE {
        let [m, s] = Layout::horizontal([Constraint::Min(1), Constraint::Length(LIST)]).areas(area);
        (m, Some(s))
    } else {
        (area, None)
    };
    let filter = app.filter_input.as_str();
    let shown: Vec<&SiteSummary> = app.screens.map.shown(filter).collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style(Meaning::Border))
        .style(t.style(Meaning::Base));
    let inner = block.inner(main);
    let [canvas, info] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let dots = (canvas.width * 2, canvas.height * 4);
    let view = app.screens.map.viewport(filter, dots);
    let title = format!(
        " Map · {} sites · {} across{} ",
        shown.len(),
        span_text(view.span),
        if app.screens.map.camera.is_some() {
            ""
        } else {
            " (fit)"
        }
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
    draw_spokes(&app.screens.map.aps, &place, &mut raster);
    paint(&raster, t, f.buffer_mut(), canvas);
    markers(app, &shown, &view, t, f.buffer_mut(), canvas);
    let line = match (&atlas, app.screens.map.loaded) {
        (Err(e), _) => Line::from(Span::styled(
            format!("map unavailable: {e}"),
            t.style(Meaning::Error),
        )),
        (_, false) => Line::from(Span::styled(
            "asking the worker for the sites…",
            t.style(Meaning::Muted),
        )),
        _ => site_line(app, shown.get(app.selected).copied(), t),
    };
    f.render_widget(Paragraph::new(line), info);
    if let Some(side) = side {
        site_list(app, &shown, ui, f, side);
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
    app: &App,
    shown: &[&SiteSummary],
    view: &Viewport,
    t: &Theme,
    buf: &mut Buffer,
    area: Rect,
) {
    let width = usize::from(area.width);
    let mut taken = vec![false; width * usize::from(area.height)];
    let selected = shown.get(app.selected).copied();
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
        let m = health(&app.fleet.site_counts(&s.tenant, &s.id));
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
fn site_line(app: &App, site: Option<&SiteSummary>, t: &Theme) -> Line<'static> {
    let Some(s) = site else {
        return Line::from(Span::styled("no site", t.style(Meaning::Muted)));
    };
    let c = app.fleet.site_counts(&s.tenant, &s.id);
    let (mut up, mut degraded, mut down) = (0, 0, 0);
    for ap in app
        .screens
        .map
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

fn site_list(app: &App, shown: &[&SiteSummary], ui: &Ui<'_>, f: &mut Frame<'_>, area: Rect) {
    let t = ui.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style(Meaning::Border))
        .style(t.style(Meaning::Base))
        .title(Span::styled(" Sites ", t.style(Meaning::Title)));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let rows = usize::from(inner.height);
    let first = app.selected.saturating_sub(rows.saturating_sub(1));
    let width = usize::from(inner.width);
    let lines: Vec<Line<'_>> = shown
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, s)| {
            let c = app.fleet.site_counts(&s.tenant, &s.id);
            let count = format!("{}/{}", c.online, c.total());
            let room = width.saturating_sub(count.len() + 3);
            let name: String = s.name.as_str().chars().take(room).collect();
            let pad = room.saturating_sub(name.chars().count());
            let base = if i == app.selected {
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
