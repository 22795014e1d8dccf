//! The pieces screens draw with: a list table, sparklines and units, a
//! pane's frame, ages and counts, the colours of severities, statuses and
//! links. Only reads what it is given.

pub mod chart;
pub mod list;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;

use crate::domain::device::DeviceStatus;
use crate::domain::link::LinkState;
use crate::domain::model::Severity;
use crate::settings::theme::{Meaning, Theme};

/// A side or bottom pane's border and title; the area inside it.
pub fn pane_frame(t: &Theme, title: &str, f: &mut Frame<'_>, area: Rect) -> Rect {
    let block = ratatui::widgets::Block::default()
        .borders(ratatui::widgets::Borders::ALL)
        .border_style(t.style(Meaning::Border))
        .title(Span::styled(title.to_string(), t.style(Meaning::Title)))
        .style(t.style(Meaning::Base));
    let inner = block.inner(area);
    f.render_widget(block, area);
    inner
}

/// A severity as a cell: its name in its colour.
pub fn severity_cell(s: Severity, t: &Theme) -> (String, Style) {
    let (text, m) = match s {
        Severity::Critical => ("critical", Meaning::Critical),
        Severity::Major => ("major", Meaning::Major),
        Severity::Minor => ("minor", Meaning::Minor),
        Severity::Warning => ("warning", Meaning::Warning),
        Severity::Info => ("info", Meaning::Info),
    };
    (text.to_string(), t.style(m))
}

/// A severity as a cell, with a dot before it when the row is marked.
pub fn severity_cell_marked(s: Severity, marked: bool, t: &Theme) -> (String, Style) {
    let mut cell = severity_cell(s, t);
    if marked {
        cell.0.insert(0, '●');
    }
    cell
}

pub fn status_meaning(s: DeviceStatus) -> Meaning {
    match s {
        DeviceStatus::Online => Meaning::Ok,
        DeviceStatus::Stale => Meaning::Stale,
        DeviceStatus::Offline => Meaning::Offline,
        DeviceStatus::Pending => Meaning::Pending,
    }
}

pub fn link_meaning(s: LinkState) -> Meaning {
    match s {
        LinkState::Active => Meaning::Ok,
        LinkState::Discovered => Meaning::Info,
        LinkState::Degraded => Meaning::Warning,
        LinkState::Down => Meaning::Offline,
        LinkState::Stale => Meaning::Stale,
    }
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
