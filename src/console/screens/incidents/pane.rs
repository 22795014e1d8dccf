//! The incident pane beside the queue: the incident's state, its alerts,
//! and its timeline of actions and notes (newest first); and the note
//! editor drawn over the screen while a note is written.

use super::{NoteDraft, State, key, selected};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::console::state::Shared;
use crate::console::widgets::age;
use crate::domain::alert::AlertState;
use crate::settings::theme::{Meaning, Theme};

pub fn pane(sh: &Shared, me: &State, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let muted = t.style(Meaning::Muted);
    let inner = crate::console::widgets::pane_frame(t, " Incident ", f, area);
    let Some(i) = selected(sh, me) else {
        f.render_widget(
            Paragraph::new(Span::styled("No incident selected.", muted)),
            inner,
        );
        return;
    };
    let state = state_line(sh, i, t);
    let mut lines = vec![
        Line::from(Span::styled(i.title.to_string(), t.style(Meaning::Title))),
        Line::from(state),
    ];
    let Some(d) = me.detail.current(&key(i)) else {
        let why = match &me.detail.error {
            Some(e) if me.detail.key == key(i) => format!("Not read: {e}"),
            _ => "Asking the worker for its alerts and timeline…".to_string(),
        };
        lines.push(Line::from(Span::styled(why, muted)));
        f.render_widget(Paragraph::new(lines), inner);
        return;
    };
    alerts_and_timeline(sh, d, t, &mut lines);
    why(d, t, &mut lines);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The incident's severity, state, tier, assignee and age.
fn state_line<'a>(sh: &Shared, i: &crate::domain::incident::Incident, t: &Theme) -> Vec<Span<'a>> {
    let muted = t.style(Meaning::Muted);
    let (sev, sev_style) = crate::console::widgets::severity_cell(i.severity, t);
    let mut state = vec![
        Span::styled(format!("{sev} "), sev_style),
        Span::raw(i.state.as_str().replace('_', " ")),
        Span::styled(
            format!(
                " · {:?} · {} · opened {} ago",
                i.tier,
                i.assignee.as_ref().map_or("unassigned", |a| a.as_str()),
                age(sh.now, Some(i.opened))
            ),
            muted,
        ),
    ];
    if i.reopen_count > 0 {
        state.push(Span::styled(
            format!(" · reopened {}×", i.reopen_count),
            t.style(Meaning::Warning),
        ));
    }
    if i.is_snoozed(sh.now) {
        state.push(Span::styled(" · snoozed", muted));
    }
    state
}

/// Its alerts, newest first, and what was done about it.
fn alerts_and_timeline<'a>(
    sh: &Shared,
    d: &'a crate::api::views::IncidentDetail,
    t: &Theme,
    lines: &mut Vec<Line<'a>>,
) {
    let muted = t.style(Meaning::Muted);
    let head = t.style(Meaning::ColumnHeader);
    lines.push(Line::from(Span::styled(
        format!("ALERTS ({})", d.alerts.len()),
        head,
    )));
    for a in d.alerts.iter().rev().take(4) {
        let style = if a.state == AlertState::Firing {
            t.style(Meaning::Major)
        } else {
            muted
        };
        let flap = if a.flapping { " · flapping" } else { "" };
        lines.push(Line::from(vec![
            Span::styled(format!("{:>4} ", age(sh.now, Some(a.started))), muted),
            Span::styled(format!("{:<9}", a.state.as_str()), style),
            Span::raw(format!("{}{flap}", a.summary)),
        ]));
    }
    lines.push(Line::from(Span::styled(
        format!("TIMELINE ({})", d.timeline.len()),
        head,
    )));
    if d.timeline.is_empty() {
        lines.push(Line::from(Span::styled("nothing done yet", muted)));
    }
    for e in d.timeline.iter().rev() {
        let what = e.action.strip_prefix("incident.").unwrap_or(&e.action);
        let mut spans = vec![
            Span::styled(format!("{:>4} ", age(sh.now, Some(e.at))), muted),
            Span::styled(format!("{} ", e.actor), t.style(Meaning::Accent)),
            Span::raw(what.to_string()),
        ];
        if let Some(after) = &e.after {
            spans.push(Span::styled(format!(" → {after}"), muted));
        }
        lines.push(Line::from(spans));
        if let Some(r) = &e.reason {
            lines.push(Line::from(Span::raw(format!("      “{r}”"))));
        }
    }
}

/// Why each alert is in its state: the rule, the counters against its
/// hysteresis, the last evaluations and its flapping.
fn why<'a>(d: &'a crate::api::views::IncidentDetail, t: &Theme, lines: &mut Vec<Line<'a>>) {
    let muted = t.style(Meaning::Muted);
    let head = t.style(Meaning::ColumnHeader);
    if !d.why.is_empty() {
        lines.push(Line::from(Span::styled("WHY", head)));
    }
    for w in &d.why {
        let marks: String = w
            .evaluations
            .iter()
            .map(|(_, hit)| if *hit { '✓' } else { '·' })
            .collect();
        let counters = match w.state {
            AlertState::Firing if w.clears > 0 => {
                format!("{}/{} clears to resolve", w.clears, w.resolve_after)
            }
            AlertState::Firing if w.evaluations.is_empty() => {
                "firing since before the worker started; not evaluated since".to_string()
            }
            AlertState::Firing => {
                format!(
                    "fired: {} hits in a row (fires at {})",
                    w.hits, w.fire_after
                )
            }
            AlertState::Pending => format!("{}/{} hits to fire", w.hits, w.fire_after),
            AlertState::Ok | AlertState::Resolved => format!("{} clears in a row", w.clears),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", w.rule), t.style(Meaning::Accent)),
            Span::raw(w.condition.clone()),
        ]));
        let mut spans = vec![
            Span::styled(format!("  {counters} "), muted),
            Span::styled(marks, t.style(Meaning::Warning)),
            Span::styled(
                format!(
                    " · {}/{} changes in {} s",
                    w.flap_changes, w.flap_limit, w.flap_window_s
                ),
                muted,
            ),
        ];
        if w.flapping {
            spans.push(Span::styled(" · flapping", t.style(Meaning::Major)));
        }
        lines.push(Line::from(spans));
    }
}

/// The note editor, over the body.
pub fn note(d: &NoteDraft, t: &Theme, f: &mut Frame<'_>, body: Rect) {
    let w = body.width.min(72);
    let h = body.height.min(12);
    let area = Rect::new(
        body.x + (body.width - w) / 2,
        body.y + (body.height - h) / 2,
        w,
        h,
    );
    f.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style(Meaning::Border))
        .title(Span::styled(
            format!(" note on {} ", d.title),
            t.style(Meaning::Title),
        ))
        .style(t.style(Meaning::Base));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [text, hint] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    f.render_widget(&d.editor, text);
    let mut spans = vec![
        Span::styled(" ctrl-s", t.style(Meaning::KeyHint)),
        Span::styled(" save ", t.style(Meaning::StatusBar)),
        Span::styled(" esc", t.style(Meaning::KeyHint)),
        Span::styled(" drop ", t.style(Meaning::StatusBar)),
    ];
    if let Some(e) = &d.error {
        spans.push(Span::styled(format!("  {e}"), t.style(Meaning::Error)));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), hint);
}
