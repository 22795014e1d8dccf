//! The wallboard's board: fleet health in big numbers, then the top of the
//! incident queue. Read from across a room.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use tui_big_text::{BigText, PixelSize};

use crate::console::nav::incident_queue;
use crate::console::state::Shared;
use crate::console::widgets::thousands;
use crate::settings::theme::{Meaning, Theme};

/// One big number with its label, in a box.
fn tile(f: &mut Frame<'_>, area: Rect, t: &Theme, label: &str, value: u64, m: Meaning) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style(Meaning::Border))
        .title(Span::styled(format!(" {label} "), t.style(Meaning::Title)));
    let inner = block.inner(area);
    f.render_widget(block.style(t.style(Meaning::Base)), area);
    let text = thousands(value);
    // Quadrant pixels: four columns and four rows a character.
    if inner.height >= 4 && inner.width as usize >= text.chars().count() * 4 {
        let big = BigText::builder()
            .pixel_size(PixelSize::Quadrant)
            .style(t.style(m))
            .lines(vec![Line::from(text)])
            .centered()
            .build();
        let top = inner.y + (inner.height - 4) / 2;
        f.render_widget(big, Rect::new(inner.x, top, inner.width, 4));
    } else {
        f.render_widget(
            Paragraph::new(Line::from(Span::styled(text, t.style(m))))
                .centered()
                .style(t.style(Meaning::Base)),
            inner,
        );
    }
}

pub fn draw(sh: &Shared, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    let c = sh.fleet.counts();
    let queue = incident_queue(sh.incidents.values(), "");
    let [tiles, list] = Layout::vertical([
        Constraint::Length(8.min(area.height / 2)),
        Constraint::Min(1),
    ])
    .areas(area);
    let [a, b, d] = Layout::horizontal([Constraint::Ratio(1, 3); 3]).areas(tiles);
    tile(f, a, t, "online", c.online, Meaning::Ok);
    tile(f, b, t, "offline", c.offline + c.stale, Meaning::Offline);
    tile(
        f,
        d,
        t,
        "open incidents",
        queue.len() as u64,
        Meaning::Critical,
    );
    let mut lines = vec![Line::from(Span::styled(
        " Top incidents",
        t.style(Meaning::Title),
    ))];
    for i in queue
        .iter()
        .take(usize::from(list.height.saturating_sub(1)))
    {
        let (sev, m) = match i.severity {
            crate::domain::model::Severity::Critical => ("CRIT", Meaning::Critical),
            crate::domain::model::Severity::Major => ("MAJ ", Meaning::Major),
            crate::domain::model::Severity::Minor => ("MIN ", Meaning::Minor),
            crate::domain::model::Severity::Warning => ("WARN", Meaning::Warning),
            crate::domain::model::Severity::Info => ("INFO", Meaning::Info),
        };
        let sla = if i.sla_breached(sh.now) {
            "  SLA BREACHED"
        } else {
            ""
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {sev} "), t.style(m)),
            Span::styled(format!("{} ", i.title), t.style(Meaning::Base)),
            Span::styled(format!("· {}", i.tenant), t.style(Meaning::Muted)),
            Span::styled(sla, t.style(Meaning::Critical)),
        ]));
    }
    if queue.is_empty() {
        lines.push(Line::from(Span::styled(
            " No open incidents.",
            t.style(Meaning::Muted),
        )));
    }
    f.render_widget(Paragraph::new(lines).style(t.style(Meaning::Base)), list);
}
