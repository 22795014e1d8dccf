//! The handlers of the command registry (`command.rs`): what each command
//! does to the console's state, and the effects it asks for. The role
//! gate has passed before any of them runs.

use super::app::App;
use super::command::{Arg, Direction, Motion, Zoom};
use super::msg::Effect;
use super::nav::View;
use super::screens::fleet;
use super::state::Mode;
use crate::api::args::TriageAction;
use crate::domain::Id;

/// Quits; while a push awaits confirmation, only at the second `q`, after
/// saying what leaving means for it.
pub fn quit(app: &mut App, _: &Arg) -> Vec<Effect> {
    if !app.quit_armed
        && let Some(p) = app.urgent_push()
    {
        let left = p.remaining_s(app.now).unwrap_or(0);
        let name = super::screens::pushes::device_name(&app.shared, p);
        let text = format!(
            "{name}'s push awaits confirmation: leaving does not confirm it, and it reverts by itself in {}:{:02}. q again quits",
            left / 60,
            left % 60
        );
        app.quit_armed = true;
        app.notify(text, true, 10);
        return Vec::new();
    }
    app.quit = true;
    vec![Effect::Quit]
}

/// Moves the selection.
pub fn motion(app: &mut App, arg: &Arg) -> Vec<Effect> {
    let page = app.page.max(1);
    let Arg::Motion(m) = arg else {
        return Vec::new();
    };
    if app.help {
        scroll_help(app, *m);
        return Vec::new();
    }
    match m {
        Motion::Down => {
            app.selected = app.selected.saturating_add(1);
            follow(app);
        }
        Motion::Up => {
            app.selected = app.selected.saturating_sub(1);
            follow(app);
        }
        Motion::PageDown => {
            app.selected = app.selected.saturating_add(page);
            app.offset = app.offset.saturating_add(page);
        }
        Motion::PageUp => {
            app.selected = app.selected.saturating_sub(page);
            app.offset = app.offset.saturating_sub(page);
        }
        Motion::Top => app.selected = 0,
        Motion::Bottom => app.selected = app.view_len().saturating_sub(1),
    }
    Vec::new()
}

pub fn back(app: &mut App, _: &Arg) -> Vec<Effect> {
    app.go_back();
    Vec::new()
}

pub fn forward(app: &mut App, _: &Arg) -> Vec<Effect> {
    app.go_forward();
    Vec::new()
}

/// With text: the view filtered by it. Without: the filter line takes the
/// keys.
pub fn filter(app: &mut App, arg: &Arg) -> Vec<Effect> {
    match arg {
        Arg::Text(t) => {
            app.filter_input = t.clone();
            app.apply_filter();
        }
        _ => {
            app.help = false;
            app.mode = Mode::Filter;
        }
    }
    Vec::new()
}

/// `esc`: closes what is open, innermost first, else clears the filter.
pub fn clear(app: &mut App, _: &Arg) -> Vec<Effect> {
    if app.help {
        app.help = false;
    } else if app.view == View::Fleet && app.screens.fleet.detail_open {
        app.screens.fleet.detail_open = false;
        app.clamp();
    } else if app.view == View::Incidents && app.screens.incidents.open {
        app.screens.incidents.open = false;
        app.clamp();
    } else if app.screens.pushes.history.is_some() {
        app.screens.pushes.history = None;
    } else if app.view == View::Incidents && !app.screens.incidents.marks.is_empty() {
        app.screens.incidents.marks.clear();
    } else if app.view == View::Alerts && !app.screens.alerts.marks.is_empty() {
        app.screens.alerts.marks.clear();
    } else if !app.screens.fleet.marks.is_empty() {
        app.screens.fleet.marks.clear();
    } else {
        app.filter_input.clear();
        if app.view == View::Fleet {
            app.fleet.set_status(None);
        }
        app.apply_filter();
    }
    Vec::new()
}

pub fn sort_next(app: &mut App, _: &Arg) -> Vec<Effect> {
    fleet::sort_next(&mut app.shared);
    Vec::new()
}

pub fn sort_reverse(app: &mut App, _: &Arg) -> Vec<Effect> {
    fleet::sort_reverse(&mut app.shared);
    Vec::new()
}

pub fn status_next(app: &mut App, _: &Arg) -> Vec<Effect> {
    fleet::status_next(&mut app.shared);
    Vec::new()
}

pub fn group_next(app: &mut App, _: &Arg) -> Vec<Effect> {
    fleet::group_next(&mut app.shared);
    Vec::new()
}

pub fn help(app: &mut App, _: &Arg) -> Vec<Effect> {
    app.help = !app.help;
    app.help_scroll = 0;
    Vec::new()
}

/// The motion keys scroll the help while it is open.
fn scroll_help(app: &mut App, m: Motion) {
    let page = super::layout::help_rows(app.size).max(1);
    let most = app.help_len.saturating_sub(page);
    let at = app.help_scroll.min(most);
    app.help_scroll = match m {
        Motion::Down => at.saturating_add(1),
        Motion::Up => at.saturating_sub(1),
        Motion::PageDown => at.saturating_add(page),
        Motion::PageUp => at.saturating_sub(page),
        Motion::Top => 0,
        Motion::Bottom => most,
    }
    .min(most);
}

pub fn palette(app: &mut App, _: &Arg) -> Vec<Effect> {
    app.mode = Mode::Palette;
    app.palette.clear();
    Vec::new()
}

pub fn pause_tail(app: &mut App, _: &Arg) -> Vec<Effect> {
    app.screens.alerts.tail.toggle();
    Vec::new()
}

pub fn queue_resolved(app: &mut App, _: &Arg) -> Vec<Effect> {
    app.screens.incidents.resolved = !app.screens.incidents.resolved;
    let shown = if app.screens.incidents.resolved {
        "shown"
    } else {
        "hidden"
    };
    app.notify(format!("resolved incidents {shown}"), false, 3);
    Vec::new()
}

/// Marks the row (a device, an incident, an alert) for a bulk action.
pub fn mark(app: &mut App, _: &Arg) -> Vec<Effect> {
    if app.view == View::Alerts {
        super::screens::alerts::mark(&mut app.shared, &mut app.screens.alerts);
    } else if app.view == View::Incidents {
        super::screens::incidents::mark(&mut app.shared, &mut app.screens.incidents);
    } else {
        fleet::mark(&mut app.shared, &mut app.screens.fleet);
    }
    Vec::new()
}

/// Marks every row from the last marked one to the selection.
pub fn mark_range(app: &mut App, _: &Arg) -> Vec<Effect> {
    if app.view == View::Alerts {
        super::screens::alerts::mark_to_here(&app.shared, &mut app.screens.alerts);
    } else if app.view == View::Incidents {
        super::screens::incidents::mark_to_here(&app.shared, &mut app.screens.incidents);
    } else if app.view == View::Fleet {
        fleet::mark_to_here(&app.shared, &mut app.screens.fleet);
    }
    Vec::new()
}

/// Triage of the selected incident (or the marked ones); a merge of the
/// marked incidents or alerts; a note.
pub fn triage(app: &mut App, arg: &Arg) -> Vec<Effect> {
    let Arg::Triage(action, text) = arg else {
        return Vec::new();
    };
    match action {
        TriageAction::Merge if app.view == View::Alerts => {
            super::screens::alerts::merge(&mut app.shared, &mut app.screens.alerts)
        }
        TriageAction::Merge => {
            super::screens::incidents::triage::merge(&mut app.shared, &mut app.screens.incidents)
        }
        TriageAction::Note => {
            super::screens::incidents::triage::open_note(
                &mut app.shared,
                &mut app.screens.incidents,
            );
            Vec::new()
        }
        TriageAction::Snooze if text.is_none() => {
            let len = format!("{}s", super::screens::incidents::SNOOZE_S);
            super::screens::incidents::triage::act(
                &mut app.shared,
                &mut app.screens.incidents,
                *action,
                Some(&len),
            )
        }
        _ => super::screens::incidents::triage::act(
            &mut app.shared,
            &mut app.screens.incidents,
            *action,
            text.as_deref(),
        ),
    }
}

/// A delivery action on the selected destination, on the deliveries view.
fn delivery(app: &mut App, action: &'static str) -> Vec<Effect> {
    if app.view != View::Deliveries {
        app.notify("on the deliveries view (9)", true, 4);
        return Vec::new();
    }
    let (sh, s) = (&mut app.shared, &mut app.screens);
    super::screens::deliveries::act(sh, &mut s.deliveries, action)
}

pub fn delivery_test(app: &mut App, _: &Arg) -> Vec<Effect> {
    delivery(app, "test")
}

pub fn delivery_replay(app: &mut App, _: &Arg) -> Vec<Effect> {
    delivery(app, "replay")
}

pub fn delivery_pause(app: &mut App, _: &Arg) -> Vec<Effect> {
    delivery(app, "pause")
}

pub fn push_edit(app: &mut App, _: &Arg) -> Vec<Effect> {
    let (sh, s) = (&mut app.shared, &mut app.screens);
    super::screens::pushes::open_editor(sh, &mut s.pushes, &s.fleet.marks)
}

pub fn push_confirm(app: &mut App, _: &Arg) -> Vec<Effect> {
    super::screens::pushes::act_on_urgent(&mut app.shared, &mut app.screens.pushes, "confirm")
}

pub fn push_revert(app: &mut App, _: &Arg) -> Vec<Effect> {
    super::screens::pushes::act_on_urgent(&mut app.shared, &mut app.screens.pushes, "revert")
}

pub fn push_history(app: &mut App, _: &Arg) -> Vec<Effect> {
    super::screens::pushes::open_history(&mut app.shared, &mut app.screens.pushes)
}

/// Puts a view on screen; the site view opens on the selected site.
pub fn view(app: &mut App, arg: &Arg) -> Vec<Effect> {
    match arg {
        Arg::View(View::Site) => match selected_site(app) {
            Some(site) => open_site(app, site),
            None if app.screens.site.site_ref.is_some() => app.show(View::Site),
            None => app.notify("select a device or a site first", true, 4),
        },
        Arg::View(v) => app.show(*v),
        _ => {}
    }
    Vec::new()
}

/// A longer (positive) or shorter time range, one step a unit.
pub fn range(app: &mut App, arg: &Arg) -> Vec<Effect> {
    if let Arg::Step(n) = arg {
        let at = if app.view == View::Trends {
            &mut app.screens.trends.range_index
        } else {
            &mut app.screens.fleet.range_index
        };
        *at = step_range(*at, *n);
    }
    Vec::new()
}

/// `at`, `by` ranges longer (or shorter), within the ranges there are.
fn step_range(at: usize, by: i8) -> usize {
    let last = super::fetch::RANGES.len() - 1;
    at.saturating_add_signed(isize::from(by)).min(last)
}

pub fn chart_next(app: &mut App, _: &Arg) -> Vec<Effect> {
    app.screens.trends.measure = app.screens.trends.measure.next();
    Vec::new()
}

pub fn zoom(app: &mut App, arg: &Arg) -> Vec<Effect> {
    match arg {
        Arg::Zoom(Zoom::In) => camera(app, Some((0.5, 0.0, 0.0))),
        Arg::Zoom(Zoom::Out) => camera(app, Some((2.0, 0.0, 0.0))),
        Arg::Zoom(Zoom::Fit) => camera(app, None),
        _ => {}
    }
    Vec::new()
}

pub fn pan(app: &mut App, arg: &Arg) -> Vec<Effect> {
    let by = match arg {
        Arg::Direction(Direction::West) => (-0.25, 0.0),
        Arg::Direction(Direction::East) => (0.25, 0.0),
        Arg::Direction(Direction::North) => (0.0, 0.25),
        Arg::Direction(Direction::South) => (0.0, -0.25),
        _ => return Vec::new(),
    };
    camera(app, Some((1.0, by.0, by.1)));
    Vec::new()
}

/// Moves the map's camera (`None`: fit the sites again).
fn camera(app: &mut App, how: Option<(f64, f64, f64)>) {
    if app.view != View::Map {
        return;
    }
    let dots = super::layout::map_dots(app.size);
    app.screens
        .map
        .move_camera(&app.shared.filter_input, dots, how);
}

/// Keeps the map's selected site in sight.
fn follow(app: &mut App) {
    if app.view == View::Map {
        app.clamp();
        app.screens
            .map
            .follow(&app.shared.filter_input, app.shared.selected);
    }
}

/// The fleet filtered by `text`.
fn filter_fleet(app: &mut App, text: &str) {
    app.show(View::Fleet);
    app.filter_input = text.to_string();
    app.apply_filter();
}

/// The fleet, on the named device (its exact name first).
pub fn device(app: &mut App, arg: &Arg) -> Vec<Effect> {
    let Arg::Text(name) = arg else {
        return Vec::new();
    };
    filter_fleet(app, name);
    if app.fleet.is_empty() {
        app.notify(format!("no device matches {name:?}"), true, 4);
    } else {
        let exact = (0..app.fleet.len())
            .find(|&i| app.fleet.get(i).is_some_and(|r| r.name.as_str() == name));
        app.selected = exact.unwrap_or(0);
        app.clamp();
    }
    Vec::new()
}

/// The fleet of the named tenant.
pub fn tenant(app: &mut App, arg: &Arg) -> Vec<Effect> {
    let Arg::Text(name) = arg else {
        return Vec::new();
    };
    filter_fleet(app, name);
    if app.fleet.is_empty() {
        app.notify(format!("no tenant matches {name:?}"), true, 4);
    }
    Vec::new()
}

/// The named site's view (the exact name first, else the first that
/// contains it).
pub fn site(app: &mut App, arg: &Arg) -> Vec<Effect> {
    let Arg::Text(name) = arg else {
        return Vec::new();
    };
    let named = app
        .fleet
        .all()
        .find(|r| r.site_name.as_str().eq_ignore_ascii_case(name));
    let site = named.or_else(|| {
        let lower = name.to_lowercase();
        app.fleet
            .all()
            .find(|r| r.site_name.as_str().to_lowercase().contains(&lower))
    });
    match site.map(|r| super::nav::SiteRef {
        tenant: r.tenant.clone(),
        id: r.site.clone(),
        name: r.site_name.to_string(),
    }) {
        Some(s) => open_site(app, s),
        None => app.notify(format!("no site matches {name:?}"), true, 4),
    }
    Vec::new()
}

/// `enter`: the fleet's device opens (or closes) its detail pane; the
/// map's site opens the site view; a site's or a trend's device opens in
/// the fleet with its detail.
pub fn open(app: &mut App, _: &Arg) -> Vec<Effect> {
    let device = match app.view {
        View::Fleet => {
            fleet::open(&mut app.screens.fleet);
            app.clamp();
            return Vec::new();
        }
        View::Incidents => {
            app.screens.incidents.open = !app.screens.incidents.open;
            app.clamp();
            return Vec::new();
        }
        View::Deliveries => {
            app.screens.deliveries.open = !app.screens.deliveries.open;
            app.clamp();
            return Vec::new();
        }
        View::Map => {
            if let Some(site) = selected_site(app) {
                open_site(app, site);
            }
            return Vec::new();
        }
        View::Site => super::screens::site::rows(&app.shared, &app.screens.site)
            .get(app.selected)
            .map(|r| (r.device.tenant.clone(), r.device.id.clone())),
        View::Trends => super::screens::trends::rows(&app.shared, &app.screens.trends)
            .get(app.selected)
            .map(|r| (r.trend.tenant.clone(), r.trend.device.clone())),
        _ => None,
    };
    if let Some((tenant, id)) = device {
        open_device(app, &tenant, &id);
        app.clamp();
    }
    Vec::new()
}

/// Puts the fleet on screen on one device, with its detail pane open.
pub fn open_device(app: &mut App, tenant: &Id, device: &Id) {
    let Some(name) = app.fleet.find(tenant, device).map(|r| r.name.to_string()) else {
        app.notify(format!("device {device} is not in the fleet"), true, 4);
        return;
    };
    app.show(View::Fleet);
    app.filter_input = name;
    app.apply_filter();
    let at = (0..app.fleet.len()).find(|&i| {
        app.fleet
            .get(i)
            .is_some_and(|r| r.id == *device && r.tenant == *tenant)
    });
    app.selected = at.unwrap_or(0);
    app.screens.fleet.detail_open = true;
    app.clamp();
}

/// Opens the site view on `site`.
pub fn open_site(app: &mut App, site: super::nav::SiteRef) {
    if app.screens.site.site_ref.as_ref() != Some(&site) {
        app.screens.site.detail = super::fetch::Fetch::default();
        app.positions.set(View::Site, super::nav::Place::default());
        if app.view == View::Site {
            app.selected = 0;
            app.offset = 0;
        }
    }
    app.screens.site.site_ref = Some(site);
    app.show(View::Site);
}

/// The site of the selection in the fleet or on the map, if any.
pub fn selected_site(app: &App) -> Option<super::nav::SiteRef> {
    match app.view {
        View::Map => app
            .screens
            .map
            .shown(&app.filter_input)
            .nth(app.selected)
            .map(|s| super::nav::SiteRef {
                tenant: s.tenant.clone(),
                id: s.id.clone(),
                name: s.name.to_string(),
            }),
        View::Fleet => app.fleet.get(app.selected).map(|r| super::nav::SiteRef {
            tenant: r.tenant.clone(),
            id: r.site.clone(),
            name: r.site_name.to_string(),
        }),
        View::Site => app.screens.site.site_ref.clone(),
        _ => None,
    }
}

/// The selected row of the view on screen: its id, and a one-line summary
/// (display-safe, no line break).
fn selected_text(app: &App) -> Option<(String, String)> {
    use super::screens::{alerts, deliveries, incidents};
    let line = |parts: Vec<String>| {
        let joined = parts
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("  ");
        crate::domain::text::sanitize(&joined, 1_000, false)
    };
    match app.view {
        View::Fleet => app.selected_row().map(|r| {
            let id = format!("{}/{}", r.tenant, r.id);
            let summary = line(vec![
                id.clone(),
                r.name.to_string(),
                r.kind.as_str().to_string(),
                r.site_name.to_string(),
                r.status.as_str().to_string(),
                r.firmware.to_string(),
            ]);
            (r.id.to_string(), summary)
        }),
        View::Incidents => incidents::selected(&app.shared, &app.screens.incidents).map(|i| {
            let summary = line(vec![
                format!("{}/{}", i.tenant, i.id),
                i.severity.as_str().to_string(),
                i.state.as_str().to_string(),
                i.title.to_string(),
            ]);
            (i.id.to_string(), summary)
        }),
        View::Alerts => alerts::selected(&app.shared, &app.screens.alerts).map(|a| {
            let summary = line(vec![
                format!("{}/{}", a.tenant, a.id),
                a.severity.as_str().to_string(),
                a.rule.to_string(),
                a.summary.to_string(),
            ]);
            (a.id.to_string(), summary)
        }),
        View::Deliveries => deliveries::selected(&app.shared, &app.screens.deliveries).map(|d| {
            let summary = line(vec![
                format!("{}/{}", d.tenant, d.id),
                d.kind.clone(),
                d.target.clone(),
                d.breaker.clone(),
            ]);
            (d.id.clone(), summary)
        }),
        _ => None,
    }
}

fn copy(app: &mut App, summary: bool) -> Vec<Effect> {
    let Some((id, line)) = selected_text(app) else {
        app.notify("nothing selected to copy here", true, 4);
        return Vec::new();
    };
    let text = if summary { line } else { id };
    let shown: String = text.chars().take(40).collect();
    app.notify(format!("copied {shown}"), false, 3);
    vec![Effect::Copy(text)]
}

/// `y`: the selected row's id to the terminal's clipboard.
pub fn copy_id(app: &mut App, _: &Arg) -> Vec<Effect> {
    copy(app, false)
}

/// `Y`: a one-line summary of the selected row.
pub fn copy_line(app: &mut App, _: &Arg) -> Vec<Effect> {
    copy(app, true)
}

/// `:export [csv|json|jsonl] [PATH]`: the view's rows, as filtered, to a
/// new file (default: JSON, `vigie-VIEW-YYYYMMDD-HHMMSS.EXT` here), with
/// the writers of `vigie dump`.
pub fn export(app: &mut App, arg: &Arg) -> Vec<Effect> {
    use crate::domain::table::Format;
    let text = match arg {
        Arg::Text(t) => t.trim().to_string(),
        _ => String::new(),
    };
    let mut words = text.splitn(2, ' ');
    let first = words.next().unwrap_or("");
    let (format, path) = match Format::parse(first) {
        Some(f) => (f, words.next().unwrap_or("").trim().to_string()),
        None => (Format::Json, text.clone()),
    };
    let Some(rows) = view_rows(app) else {
        let text = format!("the {} view has no rows to export", app.view.name());
        app.notify(text, true, 5);
        return Vec::new();
    };
    let path = if path.is_empty() {
        format!(
            "vigie-{}-{}.{}",
            app.view.name(),
            app.now.format("%Y%m%d-%H%M%S"),
            format.extension()
        )
    } else {
        path
    };
    vec![Effect::Write {
        path: std::path::PathBuf::from(path),
        text: format.write(&rows),
    }]
}

/// The rows of the view on screen, as filtered, as JSON values.
fn view_rows(app: &App) -> Option<Vec<serde_json::Value>> {
    use super::screens::{alerts, audit, deliveries, incidents};
    fn values<T: serde::Serialize>(rows: impl Iterator<Item = T>) -> Vec<serde_json::Value> {
        rows.filter_map(|r| serde_json::to_value(r).ok()).collect()
    }
    Some(match app.view {
        View::Fleet => values((0..app.fleet.len()).filter_map(|i| app.fleet.get(i))),
        View::Incidents => {
            values(incidents::queue(&app.shared, &app.screens.incidents).into_iter())
        }
        View::Alerts => values(alerts::rows(&app.shared, &app.screens.alerts).into_iter()),
        View::Audit => values(audit::rows(&app.shared, &app.screens.audit).into_iter()),
        View::Deliveries => {
            values(deliveries::rows(&app.shared, &app.screens.deliveries).into_iter())
        }
        _ => return None,
    })
}
