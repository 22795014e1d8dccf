//! Header and status bar.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Ui;
use crate::console::app::App;
use crate::console::nav::View;
use crate::console::screens;
use crate::console::state::{Connection, Mode};
use crate::console::widgets::thousands;
use crate::domain::push::PushState;
use crate::settings::theme::Meaning;
use ratatui::style::Modifier;

/// The header: vigie, the connection state and the clock always; the rest
/// (the view's name, incidents, the fleet's counts, the scope, the lag,
/// the user) in their places as far as they fit, the least useful dropped
/// first, each part whole or not at all.
pub(super) fn header(app: &App, ui: &Ui<'_>, f: &mut Frame<'_>, area: Rect) {
    let t = ui.theme;
    let bar = t.style(Meaning::Header);
    let c = app.fleet.counts();
    let (conn, conn_style) = match &app.connection {
        Connection::Connecting => ("◌ connecting", bar),
        Connection::Live => ("● live", bar),
        Connection::Lost(_) => ("✕ lost", t.style(Meaning::Error)),
    };
    let width = usize::from(area.width);
    let clock = if width >= 100 {
        format!(" {} UTC ", app.now.format("%H:%M:%S"))
    } else {
        format!(" {} ", app.now.format("%H:%M:%S"))
    };
    // (priority: lower stays longer, span), in display order.
    let mut parts: Vec<(u8, Span<'static>)> = vec![
        (0, Span::styled(" vigie ", t.style(Meaning::HeaderTitle))),
        (0, Span::styled(format!(" {conn} "), conn_style)),
        (6, Span::styled(format!("│ {} ", app.scope), bar)),
    ];
    if app.read_only {
        parts.push((0, Span::styled("│ read-only ", t.style(Meaning::Warning))));
    }
    if app.view != View::Fleet {
        parts.push((
            1,
            Span::styled(
                format!("│ {} ", app.view.name()),
                t.style(Meaning::HeaderTitle),
            ),
        ));
    }
    parts.extend([
        (
            3,
            Span::styled(format!("│ {} devices ", thousands(c.total())), bar),
        ),
        (5, Span::styled(format!("▲{} ", thousands(c.online)), bar)),
        (5, Span::styled(format!("◆{} ", thousands(c.stale)), bar)),
        (4, Span::styled(format!("▼{} ", thousands(c.offline)), bar)),
        (5, Span::styled(format!("○{} ", thousands(c.pending)), bar)),
        (
            2,
            Span::styled(format!("│ incidents {} ", app.open_incidents()), bar),
        ),
    ]);
    if let Some(lag) = app.lag_ms {
        parts.push((8, Span::styled(format!("│ lag {lag}ms "), bar)));
    }
    parts.push((
        7,
        Span::styled(format!("│ {} ({}) ", app.user, app.role), bar),
    ));
    let mut spans = fit(parts, width.saturating_sub(clock.chars().count()));
    let used: usize = spans.iter().map(Span::width).sum();
    let room = width.saturating_sub(used + clock.chars().count());
    spans.push(Span::styled(" ".repeat(room), bar));
    spans.push(Span::styled(clock, bar));
    f.render_widget(Paragraph::new(Line::from(spans)).style(bar), area);
}

/// The parts that fit in `room` columns: the highest-numbered priority
/// dropped first, whole.
fn fit(mut parts: Vec<(u8, Span<'static>)>, room: usize) -> Vec<Span<'static>> {
    let width = |p: &[(u8, Span<'static>)]| p.iter().map(|(_, s)| s.width()).sum::<usize>();
    while width(&parts) > room {
        let Some(worst) = parts.iter().map(|(p, _)| *p).filter(|p| *p > 0).max() else {
            break;
        };
        if let Some(i) = parts.iter().rposition(|(p, _)| *p == worst) {
            parts.remove(i);
        }
    }
    parts.into_iter().map(|(_, s)| s).collect()
}

/// The countdown of the push whose window closes first: on every view,
/// for as long as any push awaits confirmation.
fn countdown(app: &App, ui: &Ui<'_>) -> Vec<Span<'static>> {
    let t = ui.theme;
    let applied = app
        .screens
        .pushes
        .pushes
        .values()
        .filter(|p| matches!(p.state, PushState::Applied { .. }))
        .count();
    let Some(p) = app.urgent_push() else {
        return Vec::new();
    };
    let left = p.remaining_s(app.now).unwrap_or(0);
    let name = screens::pushes::device_name(&app.shared, p);
    let more = if applied > 1 {
        format!(" +{}", applied - 1)
    } else {
        String::new()
    };
    let mut spans = vec![Span::styled(
        format!(
            " ⏳ {name} reverts in {}:{:02}{more} ",
            left / 60,
            left % 60
        ),
        t.style(Meaning::Warning).add_modifier(Modifier::REVERSED),
    )];
    for (action, label) in [("push-confirm", "confirm"), ("push-revert", "revert")] {
        if let Some(k) = ui.keymap.key_named(action) {
            spans.push(Span::styled(format!(" {k}"), t.style(Meaning::KeyHint)));
            spans.push(Span::styled(
                format!(" {label} "),
                t.style(Meaning::StatusBar),
            ));
        }
    }
    spans
}

pub(super) fn footer(app: &App, ui: &Ui<'_>, f: &mut Frame<'_>, area: Rect) {
    let t = ui.theme;
    let mut line = rest(app, ui);
    let pending = countdown(app, ui);
    if !pending.is_empty() {
        let mut spans = pending;
        spans.extend(line.spans);
        line = Line::from(spans);
    }
    f.render_widget(
        Paragraph::new(line).style(t.style(Meaning::StatusBar)),
        area,
    );
}

/// The footer's summary of the incident queue or the alert tail.
fn list_info(app: &App) -> String {
    let filtered = if app.filter_input.is_empty() {
        String::new()
    } else {
        format!(" · /{}", app.filter_input)
    };
    match (screens::of(app.view).info)(app, app.view_len()) {
        words if words.is_empty() => String::new(),
        words => format!("  {words}{filtered}"),
    }
}

fn rest(app: &App, ui: &Ui<'_>) -> Line<'static> {
    let t = ui.theme;
    if let Some(every) = app.wallboard {
        let quit = ui.keymap.key_named("quit").unwrap_or("q").to_string();
        return Line::from(vec![
            Span::styled(
                format!(
                    " wallboard · {} · next view every {every} s · ",
                    app.view.name()
                ),
                t.style(Meaning::Muted),
            ),
            Span::styled(quit, t.style(Meaning::KeyHint)),
            Span::styled(" quits", t.style(Meaning::Muted)),
        ]);
    }
    if app.mode == Mode::Palette {
        return Line::from(vec![
            Span::styled(":", t.style(Meaning::Filter)),
            Span::styled(app.palette.clone(), t.style(Meaning::Filter)),
            Span::styled("▏", t.style(Meaning::Accent)),
            Span::styled(
                "  tab completes · enter runs · esc closes",
                t.style(Meaning::Muted),
            ),
        ]);
    }
    if app.mode == Mode::Filter {
        Line::from(vec![
            Span::styled("/", t.style(Meaning::Filter)),
            Span::styled(app.filter_input.clone(), t.style(Meaning::Filter)),
            Span::styled("▏", t.style(Meaning::Accent)),
            Span::styled("  enter keep · esc clear", t.style(Meaning::Muted)),
        ])
    } else if let Some(toast) = app.toast() {
        let style = if toast.error {
            t.style(Meaning::Error)
        } else {
            t.style(Meaning::Accent)
        };
        Line::from(Span::styled(format!(" {} ", toast.text), style))
    } else {
        let mut spans = Vec::new();
        let hints: &[(&str, &str)] = match app.view {
            View::Fleet => &[
                ("quit", "quit"),
                ("filter", "filter"),
                ("status-next", "status"),
                ("sort-next", "sort"),
                ("palette", "cmd"),
                ("help", "help"),
            ],
            View::Map => &[
                ("quit", "quit"),
                ("zoom in", "zoom"),
                ("zoom out", "out"),
                ("zoom fit", "fit"),
                ("open", "open"),
                ("help", "help"),
            ],
            View::Site => &[
                ("quit", "quit"),
                ("open", "device"),
                ("filter", "filter"),
                ("back", "back"),
                ("help", "help"),
            ],
            View::Trends => &[
                ("quit", "quit"),
                ("range -1", "shorter"),
                ("range +1", "longer"),
                ("open", "device"),
                ("help", "help"),
            ],
            _ => &[
                ("quit", "quit"),
                ("filter", "filter"),
                ("palette", "cmd"),
                ("help", "help"),
            ],
        };
        for &(action, label) in hints {
            if let Some(k) = ui.keymap.key_named(action) {
                spans.push(Span::styled(format!(" {k}"), t.style(Meaning::KeyHint)));
                spans.push(Span::styled(
                    format!(" {label} "),
                    t.style(Meaning::StatusBar),
                ));
            }
        }
        if app.view != View::Fleet {
            spans.push(Span::styled(list_info(app), t.style(Meaning::Muted)));
            return Line::from(spans);
        }
        let (sort, desc) = app.fleet.sort();
        let mut info = format!(
            "  {} of {} · sort {:?}{}",
            thousands(app.fleet.len() as u64),
            thousands(app.fleet.total() as u64),
            sort,
            if desc { " ↓" } else { "" }
        );
        if !app.screens.fleet.marks.is_empty() {
            info.push_str(&format!(" · {} marked", app.screens.fleet.marks.len()));
        }
        match app.fleet.group() {
            crate::console::model::Grouping::Tenant => info.push_str(" · by customer"),
            crate::console::model::Grouping::Site => info.push_str(" · by site"),
            crate::console::model::Grouping::None => {}
        }
        if let Some(s) = app.fleet.status_filter() {
            info.push_str(&format!(" · only {}", s.as_str()));
        }
        if !app.fleet.filter().is_empty() {
            info.push_str(&format!(" · /{}", app.filter_input));
        }
        spans.push(Span::styled(info, t.style(Meaning::Muted)));
        Line::from(spans)
    }
}
