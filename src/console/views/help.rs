//! The help overlay, generated from the keymap, scrolled by the motion
//! keys (`app.help_scroll`).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::Ui;
use crate::settings::theme::Meaning;

pub(super) fn overlay(app: &crate::console::app::App, ui: &Ui<'_>, f: &mut Frame<'_>, area: Rect) {
    let t = ui.theme;
    let help = ui.keymap.help_for(app.acting_role());
    let key_w = help
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(4)
        .min(24);
    let lines: Vec<Line<'_>> = help
        .iter()
        .map(|(k, d)| {
            Line::from(vec![
                Span::styled(format!(" {k:<key_w$} "), t.style(Meaning::KeyHint)),
                Span::styled(d.clone(), t.style(Meaning::Base)),
            ])
        })
        .collect();
    let width = (area.width.saturating_sub(4)).min(96);
    let height = (u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2))
    .min(area.height);
    // Scrolled by the motion keys; the title says where.
    let rows = usize::from(height.saturating_sub(2)).max(1);
    let total = lines.len();
    let first = app.help_scroll.min(total.saturating_sub(rows));
    let last = (first + rows).min(total);
    let lines: Vec<Line<'_>> = lines.into_iter().skip(first).take(rows).collect();
    let title = if total > rows {
        format!(
            " keys {}–{last} of {total} — j/k, pages, g/G scroll; ? or esc closes ",
            first + 1
        )
    } else {
        " keys — ? or esc closes ".to_string()
    };
    let rect = Rect {
        x: area.x + (area.width.saturating_sub(width)) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width,
        height,
    };
    f.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style(Meaning::Border))
        .title(Span::styled(title, t.style(Meaning::Title)));
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .style(t.style(Meaning::Base)),
        rect,
    );
}
