//! The fleet table. Only the rows on screen are built.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::{Ui, age};
use crate::console::state::{App, Connection};
use crate::domain::device::DeviceStatus;
use crate::domain::model::DeviceRow;
use crate::settings::theme::{Meaning, Theme};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Status,
    Name,
    Tenant,
    Site,
    Kind,
    Firmware,
    Cpu,
    Mem,
    Signal,
    Seen,
    Since,
}

/// (column, title, width, drop order: higher goes first when narrow)
const COLUMNS: [(Col, &str, u16, u8); 11] = [
    (Col::Status, "STATUS", 9, 0),
    (Col::Name, "NAME", 26, 0),
    (Col::Tenant, "TENANT", 13, 4),
    (Col::Site, "SITE", 20, 3),
    (Col::Kind, "KIND", 9, 5),
    (Col::Firmware, "FIRMWARE", 11, 8),
    (Col::Cpu, "CPU", 4, 6),
    (Col::Mem, "MEM", 4, 9),
    (Col::Signal, "SIGNAL", 7, 7),
    (Col::Seen, "SEEN", 5, 1),
    (Col::Since, "FOR", 5, 10),
];

fn visible_columns(width: u16) -> Vec<(Col, &'static str, u16)> {
    let mut cols: Vec<_> = COLUMNS.to_vec();
    let need = |cols: &[(Col, &str, u16, u8)]| -> u16 { cols.iter().map(|c| c.2 + 1).sum() };
    while need(&cols) > width {
        let Some((i, _)) = cols
            .iter()
            .enumerate()
            .filter(|(_, c)| c.3 > 0)
            .max_by_key(|(_, c)| c.3)
        else {
            break;
        };
        cols.remove(i);
    }
    cols.into_iter().map(|(c, t, w, _)| (c, t, w)).collect()
}

fn status_cell(s: DeviceStatus, t: &Theme) -> Cell<'static> {
    let (text, m) = match s {
        DeviceStatus::Online => ("▲ online", Meaning::Ok),
        DeviceStatus::Stale => ("◆ stale", Meaning::Stale),
        DeviceStatus::Offline => ("▼ offline", Meaning::Offline),
        DeviceStatus::Pending => ("○ pending", Meaning::Pending),
    };
    Cell::from(Span::styled(text, t.style(m)))
}

fn pct(v: Option<f32>, warn: f32, t: &Theme) -> Cell<'static> {
    match v {
        Some(v) => {
            let style = if v >= warn {
                t.style(Meaning::Major)
            } else {
                Style::default()
            };
            Cell::from(Span::styled(format!("{v:>3.0}%"), style))
        }
        None => Cell::from(Span::styled("   —", t.style(Meaning::Muted))),
    }
}

fn cell(app: &App, r: &DeviceRow, col: Col, t: &Theme) -> Cell<'static> {
    match col {
        Col::Status => status_cell(r.status, t),
        Col::Name => Cell::from(r.name.as_str().to_owned()),
        Col::Tenant => Cell::from(Span::styled(
            r.tenant.as_str().to_owned(),
            t.style(Meaning::Muted),
        )),
        Col::Site => Cell::from(r.site_name.as_str().to_owned()),
        Col::Kind => Cell::from(r.kind.label()),
        Col::Firmware => Cell::from(Span::styled(
            r.firmware.as_str().to_owned(),
            t.style(Meaning::Muted),
        )),
        Col::Cpu => pct(r.cpu_pct, 90.0, t),
        Col::Mem => pct(r.mem_pct, 95.0, t),
        Col::Signal => match r.signal_dbm {
            Some(s) => {
                let style = if s < -80.0 {
                    t.style(Meaning::Minor)
                } else {
                    Style::default()
                };
                Cell::from(Span::styled(format!("{s:>4.0}dBm"), style))
            }
            None => Cell::from(Span::styled("      —", t.style(Meaning::Muted))),
        },
        Col::Seen => Cell::from(age(app.now, r.last_seen)),
        Col::Since => Cell::from(Span::styled(
            age(app.now, r.status_since),
            t.style(Meaning::Muted),
        )),
    }
}

pub(super) fn table(app: &App, ui: &Ui<'_>, f: &mut Frame<'_>, area: Rect) {
    let t = ui.theme;
    if app.fleet.is_empty() {
        let msg = match (&app.connection, app.fleet.total()) {
            (Connection::Connecting, _) => "Loading the fleet…".to_string(),
            (Connection::Lost(why), 0) => format!("No connection to the worker: {why}"),
            (_, 0) => "No devices yet.".to_string(),
            _ => "No device matches the filter. esc clears it.".to_string(),
        };
        f.render_widget(
            Paragraph::new(Line::from(Span::styled(msg, t.style(Meaning::Muted))))
                .style(t.style(Meaning::Base)),
            area,
        );
        return;
    }
    let cols = visible_columns(area.width);
    let rows_on_screen = usize::from(area.height.saturating_sub(1));
    let end = (app.offset + rows_on_screen).min(app.fleet.len());
    let mut rows = Vec::with_capacity(end.saturating_sub(app.offset));
    for i in app.offset..end {
        let Some(r) = app.fleet.get(i) else { break };
        let mut row = Row::new(cols.iter().map(|(c, _, _)| cell(app, r, *c, t)));
        if i == app.selected {
            row = row.style(t.style(Meaning::Selection));
        }
        rows.push(row);
    }
    let widths: Vec<Constraint> = cols
        .iter()
        .map(|(c, _, w)| match c {
            Col::Name | Col::Site => Constraint::Min(*w),
            _ => Constraint::Length(*w),
        })
        .collect();
    let header = Row::new(cols.iter().map(|(_, title, _)| Cell::from(*title)))
        .style(t.style(Meaning::ColumnHeader));
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .style(t.style(Meaning::Base));
    f.render_widget(table, area);
}
