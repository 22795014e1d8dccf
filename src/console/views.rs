//! Drawing. Every function here only reads the state.

mod alerts;
mod audit;
mod board;
mod chart;
mod detail;
mod fleet;
mod frame;
mod help;
mod incident;
mod incidents;
mod list;
mod map;
mod push;
mod site;
mod tenants;
mod trends;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::KeyMap;
use super::app::App;
use super::lists::View;
use crate::settings::theme::{Meaning, Theme};

/// What drawing needs besides the state.
pub struct Ui<'a> {
    pub theme: &'a Theme,
    pub keymap: &'a KeyMap,
}

use super::layout::detail_split;
pub use super::layout::{MIN_HEIGHT, MIN_WIDTH};

/// A side or bottom pane's border and title; the area inside it.
fn pane_frame(t: &Theme, title: &str, f: &mut Frame<'_>, area: Rect) -> Rect {
    let block = ratatui::widgets::Block::default()
        .borders(ratatui::widgets::Borders::ALL)
        .border_style(t.style(Meaning::Border))
        .title(Span::styled(title.to_string(), t.style(Meaning::Title)))
        .style(t.style(Meaning::Base));
    let inner = block.inner(area);
    f.render_widget(block, area);
    inner
}

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
    match app.view {
        View::Fleet if app.screens.fleet.detail_open => {
            let (table, pane) = detail_split(body);
            fleet::table(app, ui, f, table);
            detail::pane(app, ui, f, pane);
        }
        View::Fleet => fleet::table(app, ui, f, body),
        View::Incidents if app.screens.incidents.open => {
            let (table, pane) = detail_split(body);
            incidents::table(app, ui, f, table);
            incident::pane(app, ui, f, pane);
        }
        View::Site => site::view(app, ui, f, body),
        View::Trends => trends::view(app, ui, f, body),
        View::Audit => audit::table(app, ui, f, body),
        View::Incidents => incidents::table(app, ui, f, body),
        View::Alerts => alerts::table(app, ui, f, body),
        View::Board => board::board(app, ui, f, body),
        View::Tenants => tenants::table(app, ui, f, body),
        View::Map => map::map(app, ui, f, body),
    }
    frame::footer(app, ui, f, footer);
    if let Some(h) = &app.screens.pushes.history {
        push::history(app, h, ui, f, body);
    }
    if let Some(d) = &app.screens.pushes.editor {
        push::editor(d, ui, f, body);
    }
    if let Some(d) = &app.screens.incidents.note {
        incident::note(d, ui, f, body);
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

/// A compact age: `12s`, `4m`, `3h`, `2d`; `—` when unknown.
pub fn age(now: DateTime<Utc>, then: Option<DateTime<Utc>>) -> String {
    let Some(t) = then else {
        return "—".into();
    };
    let s = (now - t).num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h", s / 3_600),
        _ => format!("{}d", s / 86_400),
    }
}

/// `12,345`
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_numbers() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let ago = |s| Some(now - chrono::Duration::seconds(s));
        assert_eq!(age(now, ago(5)), "5s");
        assert_eq!(age(now, ago(125)), "2m");
        assert_eq!(age(now, ago(7_300)), "2h");
        assert_eq!(age(now, ago(200_000)), "2d");
        assert_eq!(age(now, None), "—");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }
}
