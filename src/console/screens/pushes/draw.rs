//! The push editor (edit, then review: diff, reason, typed confirmation)
//! and the push history overlay.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::History;
use super::editor::{DiffLine, Draft, Field, Step, diff};
use crate::console::state::Shared;
use crate::console::widgets::age;
use crate::domain::push::PushState;
use crate::domain::text::sanitize;
use crate::settings::theme::{Meaning, Theme};

fn block<'a>(t: &Theme, title: String) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(t.style(Meaning::Border))
        .title(Span::styled(title, t.style(Meaning::Title)))
}

/// The editor, over the body.
pub fn editor(d: &Draft, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    f.render_widget(Clear, area);
    let title = format!(" push to {} ({}/{}) ", d.name, d.tenant, d.device);
    let outer = block(t, title);
    let inner = outer.inner(area);
    f.render_widget(outer.style(t.style(Meaning::Base)), area);
    match d.step {
        Step::Loading => {
            let msg = Paragraph::new(Line::from(Span::styled(
                " reading the device's configuration… (esc cancels)",
                t.style(Meaning::Muted),
            )));
            f.render_widget(msg, inner);
        }
        Step::Edit => {
            let [text, hint] =
                Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
            f.render_widget(&d.editor, text);
            let mut spans = vec![
                Span::styled(" ctrl-s", t.style(Meaning::KeyHint)),
                Span::styled(" review the diff ", t.style(Meaning::StatusBar)),
                Span::styled(" esc", t.style(Meaning::KeyHint)),
                Span::styled(" cancel ", t.style(Meaning::StatusBar)),
            ];
            if let Some(e) = &d.error {
                spans.push(Span::styled(format!("  {e}"), t.style(Meaning::Error)));
            }
            f.render_widget(Paragraph::new(Line::from(spans)), hint);
        }
        Step::Review | Step::Sending => review(d, t, f, inner),
    }
}

fn review(d: &Draft, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let [diff_area, reason, window, confirm, status] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let lines = diff(&d.previous, &d.body());
    let room = usize::from(diff_area.height);
    let mut shown: Vec<Line<'_>> = lines
        .iter()
        .take(if lines.len() > room {
            room.saturating_sub(1)
        } else {
            room
        })
        .map(|l| {
            let (prefix, text, m) = match l {
                DiffLine::Hunk(h) => ("", h, Meaning::Accent),
                DiffLine::Same(s) => (" ", s, Meaning::Base),
                DiffLine::Added(s) => ("+", s, Meaning::Ok),
                DiffLine::Removed(s) => ("-", s, Meaning::Critical),
            };
            Line::from(Span::styled(
                format!("{prefix}{}", sanitize(text, 400, false)),
                t.style(m),
            ))
        })
        .collect();
    if lines.len() > room {
        shown.push(Line::from(Span::styled(
            format!("… {} more diff lines", lines.len() + 1 - room),
            t.style(Meaning::Muted),
        )));
    }
    f.render_widget(Paragraph::new(shown), diff_area);
    let field = |label: &str, value: &str, on: bool| {
        let cursor = if on && d.step == Step::Review {
            "▏"
        } else {
            ""
        };
        Line::from(vec![
            Span::styled(format!(" {label} "), t.style(Meaning::ColumnHeader)),
            Span::styled(
                format!("{value}{cursor}"),
                t.style(if on { Meaning::Filter } else { Meaning::Base }),
            ),
        ])
    };
    f.render_widget(
        Paragraph::new(field("reason:", &d.reason, d.focus == Field::Reason)),
        reason,
    );
    f.render_widget(
        Paragraph::new(Line::from(Span::styled(
            format!(
                " reverts by itself {}s after it is applied unless confirmed (C)",
                d.window_s
            ),
            t.style(Meaning::Muted),
        ))),
        window,
    );
    let label = if d.is_bulk() {
        format!(
            "rollout to {} devices, {} first; type {} to confirm:",
            d.devices.len(),
            d.device,
            d.expected()
        )
    } else {
        format!("type {} to confirm:", d.name)
    };
    f.render_widget(
        Paragraph::new(field(&label, &d.typed, d.focus == Field::Confirm)),
        confirm,
    );
    let line = match (&d.error, d.step) {
        (_, Step::Sending) => Line::from(Span::styled(
            " sending… waiting for the worker",
            t.style(Meaning::Accent),
        )),
        (Some(e), _) => Line::from(Span::styled(format!(" {e}"), t.style(Meaning::Error))),
        (None, _) => Line::from(vec![
            Span::styled(" tab", t.style(Meaning::KeyHint)),
            Span::styled(" next field ", t.style(Meaning::StatusBar)),
            Span::styled(" enter", t.style(Meaning::KeyHint)),
            Span::styled(" send ", t.style(Meaning::StatusBar)),
            Span::styled(" esc", t.style(Meaning::KeyHint)),
            Span::styled(" back to the editor ", t.style(Meaning::StatusBar)),
        ]),
    };
    f.render_widget(Paragraph::new(line), status);
}

fn outcome(s: &PushState) -> (String, Meaning) {
    match s {
        PushState::Confirmed => ("confirmed".into(), Meaning::Ok),
        PushState::Applied { .. } => ("applied".into(), Meaning::Warning),
        PushState::Sent | PushState::Draft => (s.name().into(), Meaning::Pending),
        PushState::Reverted { reason } => (
            format!("reverted ({})", crate::domain::enum_name(reason)),
            Meaning::Major,
        ),
        PushState::Failed | PushState::Rejected => (s.name().into(), Meaning::Critical),
    }
}

/// The push history of one device, over the body.
pub fn history(sh: &Shared, h: &History, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let rect = Rect {
        x: area.x + 1,
        y: area.y,
        width: area.width.saturating_sub(2),
        height: area.height,
    };
    f.render_widget(Clear, rect);
    let b = block(t, format!(" pushes to {} — esc closes ", h.name));
    let inner = b.inner(rect);
    f.render_widget(b.style(t.style(Meaning::Base)), rect);
    let mut lines = vec![Line::from(Span::styled(
        format!(
            " {:<16} {:<5} {:<20} {:<12} {}",
            "when (UTC)", "age", "outcome", "who", "why / detail"
        ),
        t.style(Meaning::ColumnHeader),
    ))];
    if h.pushes.is_empty() {
        lines.push(Line::from(Span::styled(
            " no push yet",
            t.style(Meaning::Muted),
        )));
    }
    for p in &h.pushes {
        let (what, m) = outcome(&p.state);
        let why = match &p.detail {
            Some(d) if p.state != PushState::Confirmed => format!("{} — {d}", p.reason),
            _ => p.reason.to_string(),
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!(
                    " {:<16} {:<5} ",
                    p.created.format("%Y-%m-%d %H:%M"),
                    age(sh.now, Some(p.created))
                ),
                t.style(Meaning::Base),
            ),
            Span::styled(format!("{what:<20} "), t.style(m)),
            Span::styled(format!("{:<12} ", p.actor.as_str()), t.style(Meaning::Base)),
            Span::styled(why, t.style(Meaning::Muted)),
        ]));
    }
    f.render_widget(Paragraph::new(lines), inner);
}
