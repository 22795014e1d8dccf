//! The fleet: every device, filtered, sorted and grouped (only the rows
//! on screen are drawn, so a frame costs the same with 100 or 1,000,000
//! devices), marks for a bulk push, and a detail pane on the selected
//! device (`detail.rs`).

pub mod detail;

use std::fmt::Write as _;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use serde_json::Value;

use crate::api::ApiError;
use crate::api::views::DeviceDetail;
use crate::console::fetch::{DETAIL_BUCKETS, Fetch, RANGES, ask_device};
use crate::console::model::Grouping;
use crate::console::model::SORTS;
use crate::console::msg::{Effect, Reply};
use crate::console::nav::{View, toggle};
use crate::console::state::Connection;
use crate::console::state::Shared;
use crate::domain::Id;
use crate::domain::device::DeviceStatus;
use crate::domain::model::DeviceRow;
use crate::settings::theme::{Meaning, Theme};

/// Real seconds before the detail pane's device is asked for again.
const EVERY_S: f64 = 10.0;

/// The fleet screen's own state (the fleet itself is shared).
#[derive(Debug, Default)]
pub struct State {
    /// The detail pane is open.
    pub detail_open: bool,
    pub detail: Fetch<DeviceDetail>,
    /// The detail pane's range: an index into `RANGES` (an hour at first).
    pub range_index: usize,
    /// Devices marked for a bulk action, as (tenant, device), in the order
    /// they were marked (a rollout's order: the first is the canary).
    pub marks: Vec<(Id, Id)>,
}

impl State {
    /// The detail pane's range in seconds and its name.
    pub fn range(&self) -> (u32, &'static str) {
        RANGES[self.range_index.min(RANGES.len() - 1)]
    }
}

/// The call the screen needs now: the selected device's detail, while
/// its pane is open.
pub fn plan(sh: &Shared, me: &mut State) -> Vec<Effect> {
    if !me.detail_open {
        return Vec::new();
    }
    let Some(r) = sh.fleet.get(sh.selected) else {
        return Vec::new();
    };
    let ask = (&r.tenant, &r.id, me.range().0, DETAIL_BUCKETS);
    let now = (sh.now, sh.clock_speed);
    ask_device(&mut me.detail, ask, now, EVERY_S, Reply::Device)
        .into_iter()
        .collect()
}

/// The worker's answer to the pane's question `key`.
pub fn on_answer(me: &mut State, key: &str, answer: Result<Value, ApiError>) {
    me.detail.take(key, answer);
}

/// `enter`: opens or closes the detail pane.
pub fn open(me: &mut State) {
    me.detail_open = !me.detail_open;
}

/// `space`: marks or unmarks the selected device, then moves down.
pub fn mark(sh: &mut Shared, me: &mut State) {
    if let Some(r) = sh.selected_row() {
        let key = (r.tenant.clone(), r.id.clone());
        toggle(&mut me.marks, key);
        sh.selected = sh.selected.saturating_add(1);
    }
}

pub fn sort_next(sh: &mut Shared) {
    let (sort, desc) = sh.fleet.sort();
    let i = SORTS.iter().position(|s| *s == sort).unwrap_or(0);
    sh.fleet.set_sort(SORTS[(i + 1) % SORTS.len()], desc);
    sh.fleet.refresh();
}

pub fn sort_reverse(sh: &mut Shared) {
    let (sort, desc) = sh.fleet.sort();
    sh.fleet.set_sort(sort, !desc);
    sh.fleet.refresh();
}

pub fn status_next(sh: &mut Shared) {
    let next = match sh.fleet.status_filter() {
        None => Some(DeviceStatus::Online),
        Some(DeviceStatus::Online) => Some(DeviceStatus::Stale),
        Some(DeviceStatus::Stale) => Some(DeviceStatus::Offline),
        Some(DeviceStatus::Offline) => Some(DeviceStatus::Pending),
        Some(DeviceStatus::Pending) => None,
    };
    sh.fleet.set_status(next);
    sh.fleet.refresh();
    sh.selected = 0;
}

pub fn group_next(sh: &mut Shared) {
    if sh.view == View::Fleet {
        let next = sh.fleet.group().next();
        sh.fleet.set_group(next);
        sh.fleet.refresh();
        sh.selected = 0;
    }
}

/// `x`: marks every device from the last marked one to the selection.
pub fn mark_to_here(sh: &Shared, me: &mut State) {
    let from = me
        .marks
        .last()
        .and_then(|(t, d)| {
            (0..sh.fleet.len()).find(|&i| {
                sh.fleet
                    .get(i)
                    .is_some_and(|r| r.tenant == *t && r.id == *d)
            })
        })
        .unwrap_or(sh.selected);
    let (lo, hi) = (from.min(sh.selected), from.max(sh.selected));
    for i in lo..=hi {
        if let Some(r) = sh.fleet.get(i) {
            let key = (r.tenant.clone(), r.id.clone());
            if !me.marks.contains(&key) {
                me.marks.push(key);
            }
        }
    }
}

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
    sh: &Shared,
    i: usize,
    r: &DeviceRow,
    t: &Theme,
    scratch: &'a mut String,
) -> (&'a str, Style) {
    scratch.clear();
    let group = sh.fleet.group();
    let first = i == sh.offset || sh.fleet.get(i - 1).is_none_or(|p| !group.same(p, r));
    if !first {
        return ("", Style::default());
    }
    let (name, c) = match group {
        Grouping::Site => (
            r.site_name.as_str(),
            sh.fleet.site_counts(&r.tenant, &r.site),
        ),
        _ => (r.tenant.as_str(), sh.fleet.tenant_counts(&r.tenant)),
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
    sh: &Shared,
    me: &State,
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
            if me.marks.contains(&(r.tenant.clone(), r.id.clone())) {
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
            write_age(scratch, sh.now, r.last_seen);
            (scratch.as_str(), Style::default())
        }
        Col::Since => {
            write_age(scratch, sh.now, r.status_since);
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

fn table(sh: &Shared, me: &State, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    if sh.fleet.is_empty() {
        let msg = match (&sh.connection, sh.fleet.total()) {
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
    let group = sh.fleet.group();
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
    let end = (sh.offset + rows_on_screen).min(sh.fleet.len());
    let selection = t.style(Meaning::Selection);
    let mut scratch = String::with_capacity(32);
    for (line, i) in (sh.offset..end).enumerate() {
        let Some(r) = sh.fleet.get(i) else { break };
        let y = area.y + 1 + u16::try_from(line).unwrap_or(u16::MAX);
        let selected = i == sh.selected;
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
                group_cell(sh, i, r, t, &mut scratch)
            } else {
                cell(sh, me, r, col, t, &mut scratch)
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

/// The screen: the table, and the pane beside or below it when open.
pub fn draw(sh: &Shared, me: &State, t: &Theme, f: &mut Frame<'_>, area: Rect) {
    if me.detail_open {
        let (rows, side) = crate::console::layout::detail_split(area);
        table(sh, me, t, f, rows);
        detail::pane(sh, me, t, f, side);
    } else {
        table(sh, me, t, f, area);
    }
}
