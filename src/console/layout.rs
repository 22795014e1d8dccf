//! The screen's geometry: where the body, the tables and the panes fall
//! at a terminal size. The views draw into it, and the model and `update`
//! read it (paging, mouse clicks) without calling a view. A leaf: it knows
//! sizes, not the console's state.

use ratatui::layout::{Constraint, Layout, Rect};

/// Smallest usable terminal.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 10;

/// Wide enough for the detail pane beside the fleet; else it goes below.
const DETAIL_BESIDE: u16 = 140;
/// The detail pane's size: its width beside, its height below.
const DETAIL_WIDTH: u16 = 60;
const DETAIL_HEIGHT: u16 = 13;

/// The site view: its side panel's width, shown from `SITE_WIDE` columns
/// on, and the sector lines above the devices on a narrower terminal.
pub const SITE_SIDE: u16 = 52;
pub const SITE_WIDE: u16 = 140;
pub const NARROW_SECTORS: usize = 4;

/// The map: the site list's width, shown from `MAP_WIDE` columns on.
pub const MAP_LIST: u16 = 34;
pub const MAP_WIDE: u16 = 100;

/// What the view on screen puts in its body, as far as its table's
/// place is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// A table over the whole body.
    Table,
    /// A table with the detail pane beside or below it.
    TableAndPane,
    /// The site view: a summary (and, when narrow, its sectors) above.
    Site { sectors: usize },
    /// The trends view: a chart above.
    Trends,
}

/// The body of a terminal of `size` cells: all but the header and the
/// status bar.
pub fn body_of(size: (u16, u16)) -> Rect {
    Rect::new(0, 1, size.0, size.1.saturating_sub(2))
}

/// The help's lines that fit on a screen of `size`: the body less its
/// frame.
pub fn help_rows(size: (u16, u16)) -> usize {
    usize::from(body_of(size).height.saturating_sub(2))
}

/// The table and the detail pane, side by side or one above the other.
pub fn detail_split(body: Rect) -> (Rect, Rect) {
    if body.width >= DETAIL_BESIDE {
        let [a, b] =
            Layout::horizontal([Constraint::Min(60), Constraint::Length(DETAIL_WIDTH)]).areas(body);
        (a, b)
    } else {
        let below = DETAIL_HEIGHT.min(body.height.saturating_sub(4));
        let [a, b] = Layout::vertical([Constraint::Min(3), Constraint::Length(below)]).areas(body);
        (a, b)
    }
}

/// The trends chart's height in a body of `height` rows.
pub fn chart_height(height: u16) -> u16 {
    (height * 9 / 20).max(7).min(height.saturating_sub(4))
}

/// Lines above the site view's device titles: the summary, and on a
/// narrow terminal its sectors.
pub fn site_above_table(sectors: usize, body: Rect) -> u16 {
    let n = if body.width >= SITE_WIDE {
        1
    } else {
        2 + sectors.min(NARROW_SECTORS)
    };
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// Lines above the table's titles.
fn above(kind: Body, body: Rect) -> u16 {
    match kind {
        Body::Site { sectors } => site_above_table(sectors, body),
        Body::Trends => chart_height(body.height),
        Body::Table | Body::TableAndPane => 0,
    }
}

/// The columns the table spans (a pane or a side panel may take the
/// rest), for mouse clicks.
pub fn table_width(size: (u16, u16), kind: Body) -> u16 {
    let body = body_of(size);
    match kind {
        Body::TableAndPane => detail_split(body).0.width,
        _ => body.width,
    }
}

/// The screen line of the table's first row (below its column titles),
/// for mouse clicks.
pub fn first_row_y(size: (u16, u16), kind: Body) -> u16 {
    let body = body_of(size);
    body.y + above(kind, body) + 1
}

/// How many rows the table shows (its column titles take a line), for
/// scrolling and paging.
pub fn table_rows(size: (u16, u16), kind: Body) -> usize {
    let body = body_of(size);
    let table = match kind {
        Body::TableAndPane => detail_split(body).0,
        _ => body,
    };
    usize::from(table.height.saturating_sub(above(kind, body) + 1)).max(1)
}

/// The map's raster, in braille dots, at a terminal of `size` cells.
pub fn map_dots(size: (u16, u16)) -> (u16, u16) {
    let (w, h) = size;
    let w = if w >= MAP_WIDE { w - MAP_LIST } else { w };
    // Header and status bar, the block's borders, the site line.
    (w.saturating_sub(2) * 2, h.saturating_sub(5) * 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pane_below_leaves_the_table_its_rows_and_one_beside_its_columns() {
        assert_eq!(table_rows((80, 24), Body::Table), 21);
        assert!(table_rows((80, 24), Body::TableAndPane) < 21);
        assert_eq!(table_width((80, 24), Body::TableAndPane), 80);
        assert_eq!(table_width((160, 48), Body::TableAndPane), 100);
        assert_eq!(first_row_y((80, 24), Body::Table), 2);
        assert_eq!(
            first_row_y((80, 24), Body::Site { sectors: 9 }),
            2 + 2 + NARROW_SECTORS as u16
        );
    }
}
