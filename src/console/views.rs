//! Drawing. Every function here only reads the state.

mod frame;
mod help;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::KeyMap;
use super::app::App;
use super::screens;
use crate::settings::theme::{Meaning, Theme};

/// What drawing needs besides the state.
pub struct Ui<'a> {
    pub theme: &'a Theme,
    pub keymap: &'a KeyMap,
}

pub use super::layout::{MIN_HEIGHT, MIN_WIDTH};
pub use super::widgets::{age, thousands};

/// Draws the whole screen.
pub fn draw(app: &App, ui: &Ui<'_>, f: &mut Frame<'_>) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(ui, f, area);
        return;
    }
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame::header(app, ui, f, header);
    (screens::of(app.view).draw)(app, ui.theme, f, body);
    frame::footer(app, ui, f, footer);
    if let Some(h) = &app.screens.pushes.history {
        screens::pushes::draw::history(&app.shared, h, ui.theme, f, body);
    }
    if let Some(d) = &app.screens.pushes.editor {
        screens::pushes::draw::editor(d, ui.theme, f, body);
    }
    if let Some(d) = &app.screens.incidents.note {
        screens::incidents::pane::note(d, ui.theme, f, body);
    }
    if app.help {
        help::overlay(app, ui, f, body);
    }
}

fn too_small(ui: &Ui<'_>, f: &mut Frame<'_>, area: Rect) {
    let lines = vec![
        Line::from(Span::styled(
            "Terminal too small",
            ui.theme.style(Meaning::Error),
        )),
        Line::from(format!(
            "{}×{} — vigie needs at least {MIN_WIDTH}×{MIN_HEIGHT}",
            area.width, area.height
        )),
        Line::from(Span::styled("q quits", ui.theme.style(Meaning::Muted))),
    ];
    f.render_widget(
        Paragraph::new(lines).style(ui.theme.style(Meaning::Base)),
        area,
    );
}
