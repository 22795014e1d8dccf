//! The `:` command palette: commands with completion, run on enter.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::lists::View;
use super::state::{App, Mode};
use super::update::Effect;
use crate::settings::keymap::Action;

/// Commands: the name, the key action whose role gate the command
/// passes (the same as the key's), and what it does.
pub const COMMANDS: [(&str, Action, &str); 16] = [
    ("fleet", Action::ViewFleet, "the fleet"),
    ("incidents", Action::ViewIncidents, "the incident queue"),
    ("alerts", Action::ViewAlerts, "the live alert tail"),
    (
        "tenants",
        Action::ViewTenants,
        "per-tenant health, tier and data mode",
    ),
    ("map", Action::ViewMap, "the sites on a map"),
    ("device", Action::Filter, "NAME: the fleet, on that device"),
    ("tenant", Action::Filter, "NAME: the fleet of one tenant"),
    (
        "site",
        Action::ViewSite,
        "NAME: one site's sectors, devices, links and alerts",
    ),
    (
        "trends",
        Action::ViewTrends,
        "signal trends: a chart and the most degraded links",
    ),
    ("audit", Action::ViewAudit, "the audit log"),
    ("filter", Action::Filter, "TEXT: filter the view"),
    (
        "assign",
        Action::IncidentTake,
        "NAME: assign the selected incident",
    ),
    (
        "snooze",
        Action::IncidentSnooze,
        "LENGTH: snooze the selected incident (30m, 2h, 1d)",
    ),
    ("back", Action::Back, "the view before"),
    ("help", Action::Help, "every key"),
    ("quit", Action::Quit, "leave vigie"),
];

pub fn on_key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    match k.code {
        KeyCode::Esc => {
            app.mode = Mode::Normal;
            app.palette.clear();
        }
        KeyCode::Enter => {
            app.mode = Mode::Normal;
            let line = std::mem::take(&mut app.palette);
            return run(app, line.trim());
        }
        KeyCode::Tab => app.palette = complete(app, &app.palette),
        KeyCode::Backspace if app.palette.pop().is_none() => app.mode = Mode::Normal,
        KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
            return vec![Effect::Quit];
        }
        KeyCode::Char('u') if k.modifiers.contains(KeyModifiers::CONTROL) => app.palette.clear(),
        KeyCode::Char(c)
            if !k.modifiers.contains(KeyModifiers::CONTROL)
                && app.palette.chars().count() < 128 =>
        {
            app.palette.push(c);
        }
        _ => {}
    }
    Vec::new()
}

/// The longest common prefix of `words` that start with `typed`.
fn extend<'a>(typed: &str, words: impl Iterator<Item = &'a str>) -> Option<String> {
    let lower = typed.to_lowercase();
    let hits: Vec<&str> = words
        .filter(|w| w.to_lowercase().starts_with(&lower))
        .collect();
    let first = *hits.first()?;
    let mut end = first.len();
    for h in &hits[1..] {
        end = first
            .char_indices()
            .zip(h.chars())
            .take_while(|((_, a), b)| a.eq_ignore_ascii_case(b))
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(end);
    }
    Some(first[..end].to_string())
}

/// `line` completed as far as it is unambiguous: a command name, or the
/// device, tenant or site name after one.
pub fn complete(app: &App, line: &str) -> String {
    let Some((cmd, arg)) = line.split_once(' ') else {
        let names = COMMANDS.iter().map(|(c, _, _)| *c);
        return match extend(line, names) {
            Some(c) if COMMANDS.iter().any(|(n, _, _)| *n == c) => format!("{c} "),
            Some(c) => c,
            None => line.to_string(),
        };
    };
    let mut words: Vec<String> = match cmd {
        "device" => app.fleet.all().map(|r| r.name.to_string()).collect(),
        "tenant" => app.fleet.all().map(|r| r.tenant.to_string()).collect(),
        "site" => app.fleet.all().map(|r| r.site_name.to_string()).collect(),
        _ => return line.to_string(),
    };
    words.sort_unstable();
    words.dedup();
    match extend(arg, words.iter().map(String::as_str)) {
        Some(w) => format!("{cmd} {w}"),
        None => line.to_string(),
    }
}

fn filter_fleet(app: &mut App, text: &str) {
    app.show(View::Fleet);
    app.filter_input = text.to_string();
    app.apply_filter();
}

/// Runs one command line.
pub fn run(app: &mut App, line: &str) -> Vec<Effect> {
    let (cmd, arg) = line.split_once(' ').unwrap_or((line, ""));
    let arg = arg.trim();
    // The same gate as the keys: the worker refuses anyway, but the
    // console does not ask.
    if let Some((_, action, _)) = COMMANDS.iter().find(|(c, _, _)| *c == cmd)
        && action.need() > app.role
    {
        let text = format!(
            ":{cmd} needs the {} role; you are {}",
            action.need(),
            app.role
        );
        app.notify(text, true, 5);
        return Vec::new();
    }
    match (cmd, arg.is_empty()) {
        ("", _) => {}
        ("fleet", _) => app.show(View::Fleet),
        ("incidents", _) => app.show(View::Incidents),
        ("alerts", _) => app.show(View::Alerts),
        ("tenants", _) => app.show(View::Tenants),
        ("map", _) => app.show(View::Map),
        ("trends", _) => app.show(View::Trends),
        ("audit", _) => app.show(View::Audit),
        ("site", false) => {
            let named = app
                .fleet
                .all()
                .find(|r| r.site_name.as_str().eq_ignore_ascii_case(arg));
            let site = named.or_else(|| {
                let lower = arg.to_lowercase();
                app.fleet
                    .all()
                    .find(|r| r.site_name.as_str().to_lowercase().contains(&lower))
            });
            match site.map(|r| super::fetch::SiteRef {
                tenant: r.tenant.clone(),
                id: r.site.clone(),
                name: r.site_name.to_string(),
            }) {
                Some(s) => super::fetch::open_site(app, s),
                None => app.notify(format!("no site matches {arg:?}"), true, 4),
            }
        }
        ("back", _) => app.go_back(),
        ("help", _) => app.help = true,
        ("quit" | "q", _) => {
            app.quit = true;
            return vec![Effect::Quit];
        }
        ("device" | "tenant", false) => {
            filter_fleet(app, arg);
            if app.fleet.is_empty() {
                app.notify(format!("no {cmd} matches {arg:?}"), true, 4);
            } else if cmd == "device" {
                // The exact name first, if there is one.
                let exact = (0..app.fleet.len())
                    .find(|&i| app.fleet.get(i).is_some_and(|r| r.name.as_str() == arg));
                app.selected = exact.unwrap_or(0);
                app.clamp();
            }
        }
        ("assign", false) => return super::triage::act(app, "assign", Some(arg)),
        ("assign", true) => app.notify(":assign needs a name", true, 4),
        ("snooze", false) => return super::triage::act(app, "snooze", Some(arg)),
        ("snooze", true) => app.notify(":snooze needs a length: 30m, 2h, 1d", true, 4),
        ("filter", _) => {
            app.filter_input = arg.to_string();
            app.apply_filter();
        }
        ("device" | "tenant" | "site", true) => {
            app.notify(format!(":{cmd} needs a name (tab completes)"), true, 4);
        }
        _ => app.notify(
            format!(
                "unknown command :{cmd} — {} (tab completes)",
                COMMANDS.map(|(c, _, _)| c).join(", ")
            ),
            true,
            6,
        ),
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_extends_to_the_longest_unambiguous_prefix() {
        let w = ["alpha-1", "alpha-2", "beta"];
        assert_eq!(extend("al", w.iter().copied()), Some("alpha-".into()));
        assert_eq!(extend("B", w.iter().copied()), Some("beta".into()));
        assert_eq!(extend("z", w.iter().copied()), None);
        let app = App::new("_all", "ana", chrono::DateTime::UNIX_EPOCH);
        assert_eq!(complete(&app, "inc"), "incidents ");
        assert_eq!(complete(&app, "f"), "f");
        assert_eq!(complete(&app, "fl"), "fleet ");
    }
}
