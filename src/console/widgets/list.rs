//! A plain table for the incident queue and the alert tail: fixed columns
//! and one that takes the rest; only the rows on screen are built.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::settings::theme::{Meaning, Theme};

/// A column: title, width (0: takes what is left), drop order when the
/// terminal is narrow (0: never dropped; higher goes first).
pub struct Column {
    pub title: &'static str,
    pub width: u16,
    pub drop: u8,
}

/// Which columns fit `width`, and where each starts and how wide it is.
fn fit(cols: &[Column], width: u16) -> Vec<(usize, u16, u16)> {
    let mut keep: Vec<usize> = (0..cols.len()).collect();
    let need = |keep: &[usize]| -> u16 {
        keep.iter()
            .map(|&i| if cols[i].width == 0 { 30 } else { cols[i].width } + 1)
            .sum()
    };
    while need(&keep) > width {
        let Some(pos) = keep
            .iter()
            .enumerate()
            .filter(|(_, i)| cols[**i].drop > 0)
            .max_by_key(|(_, i)| cols[**i].drop)
            .map(|(p, _)| p)
        else {
            break;
        };
        keep.remove(pos);
    }
    let fixed: u16 = keep.iter().map(|&i| cols[i].width + 1).sum();
    let spare = width.saturating_sub(fixed);
    let mut x = 0u16;
    keep.into_iter()
        .map(|i| {
            let w = if cols[i].width == 0 {
                spare
            } else {
                cols[i].width
            };
            let at = (i, x, w);
            x = x.saturating_add(w + 1);
            at
        })
        .collect()
}

/// A list view: its rows, or when there are none a line that says why
/// (`why.0` with no filter, `why.1` with one).
#[allow(clippy::too_many_arguments)]
pub fn view(
    app: &crate::console::state::Shared,
    f: &mut ratatui::Frame<'_>,
    area: Rect,
    t: &Theme,
    cols: &[Column],
    n: usize,
    why: (&str, &str),
    rows: impl Iterator<Item = Vec<(String, Style)>>,
) {
    if n == 0 {
        let msg = if app.filter_input.is_empty() {
            why.0
        } else {
            why.1
        };
        empty(f, area, t, msg);
        return;
    }
    draw(
        f.buffer_mut(),
        area,
        t,
        cols,
        app.offset,
        app.selected,
        rows,
    );
}

/// A table that is read, not navigated (a pane's): no selection, from
/// its first row; `why` when it has none.
pub fn plain(
    f: &mut ratatui::Frame<'_>,
    area: Rect,
    t: &Theme,
    cols: &[Column],
    n: usize,
    why: &str,
    rows: impl Iterator<Item = Vec<(String, Style)>>,
) {
    if n == 0 {
        empty(f, area, t, why);
        return;
    }
    draw(f.buffer_mut(), area, t, cols, 0, usize::MAX, rows);
}

/// A view with no rows: a quiet line that says why.
fn empty(f: &mut ratatui::Frame<'_>, area: Rect, t: &Theme, msg: &str) {
    use ratatui::text::{Line, Span};
    f.render_widget(
        ratatui::widgets::Paragraph::new(Line::from(Span::styled(msg, t.style(Meaning::Muted))))
            .style(t.style(Meaning::Base)),
        area,
    );
}

/// Draws the header and `rows` (the cells of rows `offset..`, as many as
/// fit), highlighting `selected`.
fn draw(
    buf: &mut Buffer,
    area: Rect,
    t: &Theme,
    cols: &[Column],
    offset: usize,
    selected: usize,
    rows: impl Iterator<Item = Vec<(String, Style)>>,
) {
    buf.set_style(area, t.style(Meaning::Base));
    let layout = fit(cols, area.width);
    let head = t.style(Meaning::ColumnHeader);
    for &(i, x, w) in &layout {
        if x < area.width {
            let w = usize::from(w.min(area.width - x));
            buf.set_stringn(area.x + x, area.y, cols[i].title, w, head);
        }
    }
    let selection = t.style(Meaning::Selection);
    let fits = usize::from(area.height.saturating_sub(1));
    for (line, cells) in rows.take(fits).enumerate() {
        let y = area.y + 1 + u16::try_from(line).unwrap_or(u16::MAX);
        let is_selected = offset + line == selected;
        if is_selected {
            buf.set_style(Rect::new(area.x, y, area.width, 1), selection);
        }
        for &(i, x, w) in &layout {
            let (Some((text, style)), true) = (cells.get(i), x < area.width) else {
                continue;
            };
            let style = if is_selected {
                style.patch(selection)
            } else {
                *style
            };
            let w = usize::from(w.min(area.width - x));
            buf.set_stringn(area.x + x, y, text, w, style);
        }
    }
}
