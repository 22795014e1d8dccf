//! The fleet table. Only the rows on screen are built.

use std::fmt::Write as _;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Ui;
use crate::console::app::App;
use crate::console::model::Grouping;
use crate::console::state::Connection;
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

fn visible_columns(width: u16, group: Grouping) -> Vec<(Col, &'static str, u16)> {
    let mut cols: Vec<_> = COLUMNS.to_vec();
    // The column the rows are grouped by leads and stays.
    let lead = match group {
        Grouping::None => None,
        Grouping::Tenant => Some(Col::Tenant),
        Grouping::Site => Some(Col::Site),
    };
    if let Some(at) = lead.and_then(|l| cols.iter().position(|c| c.0 == l)) {
        let mut c = cols.remove(at);
        c.3 = 0;
        c.2 = c.2.max(22);
        cols.insert(0, c);
    }
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

fn status_text(s: DeviceStatus) -> (&'static str, Meaning) {
    match s {
        DeviceStatus::Online => ("▲ online", Meaning::Ok),
        DeviceStatus::Stale => ("◆ stale", Meaning::Stale),
        DeviceStatus::Offline => ("▼ offline", Meaning::Offline),
        DeviceStatus::Pending => ("○ pending", Meaning::Pending),
    }
}

/// Writes `age` into `out` (no allocation once `out` has room).
fn write_age(
    out: &mut String,
    now: chrono::DateTime<chrono::Utc>,
    then: Option<chrono::DateTime<chrono::Utc>>,
) {
    let Some(t) = then else {
        out.push('—');
        return;
    };
    let s = (now - t).num_seconds().max(0);
    let _ = match s {
        0..60 => write!(out, "{s}s"),
        60..3_600 => write!(out, "{}m", s / 60),
        3_600..86_400 => write!(out, "{}h", s / 3_600),
        _ => write!(out, "{}d", s / 86_400),
    };
}

/// The text and style of one cell. Borrowed text where the row has it;
/// numbers are formatted into `scratch`.
/// The group's label on the first row of a group on screen, with its
/// device count and how many are down; nothing on the rows after it.
fn group_cell<'a>(
    app: &App,
    i: usize,
    r: &DeviceRow,
    t: &Theme,
    scratch: &'a mut String,
) -> (&'a str, Style) {
    scratch.clear();
    let group = app.fleet.group();
    let first = i == app.offset || app.fleet.get(i - 1).is_none_or(|p| !group.same(p, r));
    if !first {
        return ("", Style::default());
    }
    let (name, c) = match group {
        Grouping::Site => (
            r.site_name.as_str(),
            app.fleet.site_counts(&r.tenant, &r.site),
        ),
        _ => (r.tenant.as_str(), app.fleet.tenant_counts(&r.tenant)),
    };
    let down = c.offline + c.stale;
    let _ = write!(scratch, "▸ {name} ({}", c.total());
    if down > 0 {
        let _ = write!(scratch, " ▼{down}");
    }
    scratch.push(')');
    let m = if c.offline > 0 {
        Meaning::Offline
    } else {
        Meaning::Title
    };
    (scratch.as_str(), t.style(m))
}

fn cell<'a>(
    app: &App,
    r: &'a DeviceRow,
    col: Col,
    t: &Theme,
    scratch: &'a mut String,
) -> (&'a str, Style) {
    scratch.clear();
    let muted = t.style(Meaning::Muted);
    match col {
        Col::Status => {
            let (text, m) = status_text(r.status);
            if app
                .screens
                .fleet
                .marks
                .contains(&(r.tenant.clone(), r.id.clone()))
            {
                // The status glyph gives way to the mark.
                let word = text.split_once(' ').map_or(text, |(_, w)| w);
                let _ = write!(scratch, "✓ {word}");
                return (scratch.as_str(), t.style(Meaning::Accent));
            }
            (text, t.style(m))
        }
        Col::Name => (r.name.as_str(), Style::default()),
        Col::Tenant => (r.tenant.as_str(), muted),
        Col::Site => (r.site_name.as_str(), Style::default()),
        Col::Kind => (r.kind.label(), Style::default()),
        Col::Firmware => (r.firmware.as_str(), muted),
        Col::Cpu | Col::Mem => {
            let (v, warn) = if col == Col::Cpu {
                (r.cpu_pct, 90.0)
            } else {
                (r.mem_pct, 95.0)
            };
            match v {
                Some(v) => {
                    let _ = write!(scratch, "{v:>3.0}%");
                    let style = if v >= warn {
                        t.style(Meaning::Major)
                    } else {
                        Style::default()
                    };
                    (scratch.as_str(), style)
                }
                None => ("   —", muted),
            }
        }
        Col::Signal => match r.signal_dbm {
            Some(v) => {
                let _ = write!(scratch, "{v:>4.0}dBm");
                let style = if v < -80.0 {
                    t.style(Meaning::Minor)
                } else {
                    Style::default()
                };
                (scratch.as_str(), style)
            }
            None => ("      —", muted),
        },
        Col::Seen => {
            write_age(scratch, app.now, r.last_seen);
            (scratch.as_str(), Style::default())
        }
        Col::Since => {
            write_age(scratch, app.now, r.status_since);
            (scratch.as_str(), muted)
        }
    }
}

/// Column x offsets and widths for `width`: fixed columns keep their width,
/// NAME and SITE share what is left.
fn layout(cols: &[(Col, &'static str, u16)], width: u16) -> Vec<(Col, &'static str, u16, u16)> {
    let fixed: u16 = cols.iter().map(|c| c.2 + 1).sum();
    let spare = width.saturating_sub(fixed);
    let flex = cols
        .iter()
        .filter(|c| matches!(c.0, Col::Name | Col::Site))
        .count()
        .max(1) as u16;
    let mut x = 0u16;
    let mut out = Vec::with_capacity(cols.len());
    for (i, &(col, title, w)) in cols.iter().enumerate() {
        let extra = if matches!(col, Col::Name | Col::Site) {
            spare / flex + if i == 1 { spare % flex } else { 0 }
        } else {
            0
        };
        let w = w + extra;
        out.push((col, title, x, w));
        x = x.saturating_add(w + 1);
    }
    out
}

pub(super) fn table(app: &App, ui: &Ui<'_>, f: &mut Frame<'_>, area: Rect) {
    let t = ui.theme;
    if app.fleet.is_empty() {
        let msg = match (&app.connection, app.fleet.total()) {
            (Connection::Connecting, _) => "Loading the fleet…".to_string(),
            (Connection::Lost(why), 0) => format!("No connection to the worker: {why}"),
            (_, 0) => "No devices yet. `vigie demo` fills this database with a simulated fleet."
                .to_string(),
            _ => "No device matches the filter. esc clears it.".to_string(),
        };
        f.render_widget(
            Paragraph::new(Line::from(Span::styled(msg, t.style(Meaning::Muted))))
                .style(t.style(Meaning::Base)),
            area,
        );
        return;
    }
    let group = app.fleet.group();
    let cols = layout(&visible_columns(area.width, group), area.width);
    let buf = f.buffer_mut();
    buf.set_style(area, t.style(Meaning::Base));
    let head = t.style(Meaning::ColumnHeader);
    for &(_, title, x, w) in &cols {
        if x < area.width {
            buf.set_stringn(
                area.x + x,
                area.y,
                title,
                usize::from(w.min(area.width - x)),
                head,
            );
        }
    }
    let rows_on_screen = usize::from(area.height.saturating_sub(1));
    let end = (app.offset + rows_on_screen).min(app.fleet.len());
    let selection = t.style(Meaning::Selection);
    let mut scratch = String::with_capacity(32);
    for (line, i) in (app.offset..end).enumerate() {
        let Some(r) = app.fleet.get(i) else { break };
        let y = area.y + 1 + u16::try_from(line).unwrap_or(u16::MAX);
        let selected = i == app.selected;
        if selected {
            buf.set_style(Rect::new(area.x, y, area.width, 1), selection);
        }
        for &(col, _, x, w) in &cols {
            if x >= area.width {
                break;
            }
            let grouped = matches!(
                (group, col),
                (Grouping::Tenant, Col::Tenant) | (Grouping::Site, Col::Site)
            );
            let (text, style) = if grouped {
                group_cell(app, i, r, t, &mut scratch)
            } else {
                cell(app, r, col, t, &mut scratch)
            };
            let style = if selected {
                style.patch(selection)
            } else {
                style
            };
            buf.set_stringn(
                area.x + x,
                y,
                text,
                usize::from(w.min(area.width - x)),
                style,
            );
        }
    }
}
